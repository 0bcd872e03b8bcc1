//! Every contract example (`tests/data/examples/`) and every scenario in `scenarios/` validates
//! and runs with invariant checks.

use super::run_toml;

fn toml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn contract_examples_run() {
    let files = toml_files(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples"));
    assert!(files.len() >= 3);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let (out, _) = run_toml(&text);
        assert!(out.summary.pods > 0, "{}", f.display());
    }
}

#[test]
fn poisson_example_runs_every_pod() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/examples/poisson-image-set.toml"
    ))
    .unwrap();
    let (out, _) = run_toml(&text);
    assert_eq!(out.summary.pods, 500);
    assert_eq!(out.summary.pods_running, 500);
}

/// Every scenario loads, with its `# ci-set:` shrink and with each `# table-variant:` of
/// `scripts/scenario-table.sh` (the sweep grid is checked by the loader itself), and opens with
/// the comments the library promises: question, what it demonstrates, where numbers come from.
#[test]
fn scenarios_validate_with_their_ci_sets_and_table_variants() {
    let files = toml_files(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"));
    assert!(files.len() >= 10, "the library has at least ten scenarios");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.display().to_string();
        for header in ["# Question:", "# Demonstrates:", "# Numbers:", "# table:"] {
            assert!(text.contains(header), "{name}: no `{header}` comment");
        }
        assert!(text.contains("\n[sweep]"), "{name}: no [sweep] table");
        let lines = |prefix: &str| -> Vec<String> {
            text.lines().filter_map(|l| l.strip_prefix(prefix)).map(|s| s.trim().to_string()).collect()
        };
        let mut sets: Vec<Vec<String>> = vec![vec![], lines("# ci-set:")];
        sets.extend(
            lines("# table-variant:").iter().map(|v| v.split_whitespace().map(String::from).collect()),
        );
        for set in sets {
            let ov: Vec<pullsim::scenario::Override> = set
                .iter()
                .map(|kv| {
                    pullsim::scenario::Override::parse(kv).unwrap_or_else(|e| panic!("{name}: {kv}: {e}"))
                })
                .collect();
            if let Err(e) = pullsim::scenario::load(&text, &name, &ov) {
                panic!("{name} with {set:?}:\n{e}");
            }
        }
    }
}
