//! Every contract example (`../shared/examples/`) and every scenario in `scenarios/` validates
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
    let files = toml_files(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/examples"));
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
        "/../shared/examples/poisson-image-set.toml"
    ))
    .unwrap();
    let (out, _) = run_toml(&text);
    assert_eq!(out.summary.pods, 500);
    assert_eq!(out.summary.pods_running, 500);
}
