//! Golden outputs: every scenario in `scenarios/` (shrunk by its `# ci-set:` lines) and every
//! contract example, at seeds 1 and 2, and a `compare` of one example, must produce exactly the
//! bytes recorded in `tests/golden/digests.txt` (size and FNV-1a 64 of each result file).
//!
//! A refactor must leave them all unchanged. A change that means to move results (a fidelity
//! fix) re-records them with `PULLSIM_BLESS=1 cargo test --test it golden`, and the diff of
//! `digests.txt` in its commit shows which scenarios and files moved.

use pullsim::experiment::fnv1a64;
use std::path::{Path, PathBuf};

const DIGESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/digests.txt");

fn scenario_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [root.join("scenarios"), root.join("tests/data/examples")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn line(what: &str, file: &str, bytes: &[u8]) -> String {
    format!("{what} {file} {} {:016x}", bytes.len(), fnv1a64(bytes))
}

/// One line per (scenario, seed, file), in a fixed order.
fn current_digests() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = Vec::new();
    for f in scenario_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let overrides: Vec<pullsim::scenario::Override> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# ci-set:"))
            .map(|kv| pullsim::scenario::Override::parse(kv.trim()).unwrap())
            .collect();
        let scn = pullsim::scenario::load(&text, &f.display().to_string(), &overrides)
            .unwrap_or_else(|e| panic!("{e}"));
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        for seed in [1, 2] {
            for (name, bytes) in pullsim::report::render_in_memory(&scn, seed) {
                lines.push(line(&format!("{rel} seed={seed}"), &name, &bytes));
            }
        }
    }
    // A compare, through the command line's entry point (its tables and statistics).
    let out = std::env::temp_dir().join(format!("pullsim-golden-{}", std::process::id()));
    let ex = root.join("tests/data/examples/rollout-basics.toml");
    let args =
        ["pullsim", "compare", ex.to_str().unwrap(), "--seeds", "3", "--jobs", "2", "--quiet", "--force"];
    let mut args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    args.extend(["--out".into(), out.clone().into_os_string()]);
    assert_eq!(pullsim::cli::main_with_args(args), std::process::ExitCode::SUCCESS);
    for file in ["runs.csv", "variants.csv", "startups.csv"] {
        let bytes = std::fs::read(out.join(file)).unwrap();
        lines.push(line("compare tests/data/examples/rollout-basics.toml seeds=3", file, &bytes));
    }
    let _ = std::fs::remove_dir_all(&out);
    lines
}

#[test]
fn golden_outputs_are_unchanged() {
    let now = current_digests();
    if std::env::var_os("PULLSIM_BLESS").is_some() {
        let mut text = String::from(
            "# what seed file bytes fnv1a64: re-recorded by PULLSIM_BLESS=1 cargo test --test it golden\n",
        );
        for l in &now {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(DIGESTS, text).unwrap();
        eprintln!("golden: recorded {} digests in {DIGESTS}", now.len());
        return;
    }
    let recorded: Vec<String> = std::fs::read_to_string(DIGESTS)
        .unwrap_or_else(|e| panic!("{DIGESTS}: {e}; record with PULLSIM_BLESS=1"))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let moved: Vec<String> = now
        .iter()
        .filter(|l| !recorded.contains(l))
        .map(|l| format!("  now   {l}"))
        .chain(recorded.iter().filter(|l| !now.contains(l)).map(|l| format!("  was   {l}")))
        .collect();
    assert!(
        moved.is_empty(),
        "{} of {} golden outputs differ:\n{}\nIf the change means to move results, re-record with \
         PULLSIM_BLESS=1 cargo test --test it golden and explain the moves in the commit message.",
        moved.len() / 2,
        now.len(),
        moved.join("\n")
    );
    assert!(now.len() >= 13 * 2 * 5, "every scenario and example at two seeds: {}", now.len());
}
