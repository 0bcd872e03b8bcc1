//! Same scenario and seed ⇒ identical bytes; different seeds ⇒ different draws.

use std::path::Path;
use std::process::Command;

fn run_cli(file: &Path, out: &Path, extra: &[&str]) {
    let st = Command::new(env!("CARGO_BIN_EXE_pullsim"))
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .status()
        .unwrap();
    assert!(st.success());
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "command.txt")
        .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_twice_gives_identical_bytes() {
    let tmp = std::env::temp_dir().join(format!("pullsim-det-{}", std::process::id()));
    for name in ["minimal", "poisson-image-set", "rollout-basics"] {
        let f = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/examples/{name}.toml"));
        let (a, b) = (tmp.join(format!("{name}-a")), tmp.join(format!("{name}-b")));
        run_cli(&f, &a, &[]);
        run_cli(&f, &b, &[]);
        let (fa, fb) = (files_of(&a), files_of(&b));
        assert_eq!(
            fa.len(),
            12,
            "five contract files + scenario.toml + three charts as PNG and SVG: {:?}",
            fa.iter().map(|x| &x.0).collect::<Vec<_>>()
        );
        // Charts included: they are drawn from the CSVs with a bundled font.
        for ((n1, x), (_, y)) in fa.iter().zip(&fb) {
            assert!(x == y, "{name}: {n1} differs between two runs");
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn seeds_change_draws() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/examples/poisson-image-set.toml"
    ))
    .unwrap();
    let scn = pullsim::scenario::load(&text, "x", &[]).unwrap();
    let run = |seed| {
        let mut sink = pullsim::metrics::MemorySink::default();
        pullsim::sim::run(&scn, seed, &mut sink, Default::default()).summary
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).bytes_pulled, run(2).bytes_pulled);
}
