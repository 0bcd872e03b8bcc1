//! `--out` never deletes a file pullsim did not write: every command that writes a results
//! folder (run, sweep, compare, merge) refuses a folder holding anything else, with exit 2 and
//! the user's files untouched, and replaces it only with `--force`.

use super::pullsim;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pullsim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pullsim")).current_dir(dir).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-outdir-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/minimal.toml");

/// A folder of the user's with one file in it.
fn users_folder(name: &str) -> PathBuf {
    let d = tmp(name).join("mine");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("notes.txt"), "my notes").unwrap();
    d
}

fn assert_refused(o: &Output, dir: &Path) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("not a pullsim results folder") && err.contains("notes.txt"), "{err}");
    assert!(err.contains("--force"), "the message says how to go on anyway: {err}");
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "my notes");
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1, "nothing was added to the user's folder");
    let parent = dir.parent().unwrap();
    assert_eq!(std::fs::read_dir(parent).unwrap().count(), 1, "no staging folder left beside it");
}

#[test]
fn run_refuses_a_users_folder_and_replaces_it_with_force() {
    let dir = users_folder("run");
    let o = pullsim(&["run", EX, "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_refused(&o, &dir);
    // Its own folder is replaced without --force, as often as the user likes.
    let own = dir.parent().unwrap().join("own");
    for _ in 0..2 {
        let o = pullsim(&["run", EX, "--out", own.to_str().unwrap(), "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(own.join(".pullsim-results").exists() && own.join("pods.csv").exists());
    // A file the user adds to a results folder is theirs: refused again.
    std::fs::write(own.join("analysis.txt"), "mine").unwrap();
    let o = pullsim(&["run", EX, "--out", own.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("files pullsim did not write (`analysis.txt`)"), "{}", stderr(&o));
    assert!(own.join("analysis.txt").exists());
    // --force is the user's explicit choice.
    let o = pullsim(&["run", EX, "--out", dir.to_str().unwrap(), "--quiet", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.join("notes.txt").exists() && dir.join("summary.json").exists());
}

#[test]
fn out_naming_the_scenarios_own_folder_keeps_the_scenario() {
    let dir = tmp("cwd").join("work");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(EX, dir.join("my.toml")).unwrap();
    let o = pullsim_in(&dir, &["run", "my.toml", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("`my.toml`"), "{}", stderr(&o));
    assert!(dir.join("my.toml").exists());
    let o = pullsim_in(&dir, &["run", "my.toml", "--out", ".", "--quiet", "--force"]);
    assert_eq!(o.status.code(), Some(2), "`.` has no folder name: {}", stderr(&o));
    assert!(dir.join("my.toml").exists());
}

#[test]
fn sweep_compare_and_merge_refuse_before_running() {
    let dir = users_folder("sweep");
    let d = dir.to_str().unwrap();
    let o =
        pullsim(&["sweep", EX, "--set", "kubelet.registry_pull_qps=0,5", "--seeds", "2", "--out", d, "-q"]);
    assert_refused(&o, &dir);
    let o = pullsim(&["compare", EX, "--seeds", "2", "--out", d, "--quiet"]);
    assert_refused(&o, &dir);
    // Two shards merged into the user's folder: refused; into a new one: fine.
    let base = dir.parent().unwrap().parent().unwrap().join("shards");
    std::fs::create_dir_all(&base).unwrap();
    let mut shards = Vec::new();
    for i in 0..2 {
        let sd = base.join(format!("s{i}"));
        let o = pullsim(&[
            "sweep",
            EX,
            "--set",
            "kubelet.registry_pull_qps=0,5",
            "--seeds",
            "2",
            "--shard",
            &format!("{i}/2"),
            "--out",
            sd.to_str().unwrap(),
            "-q",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        shards.push(sd.to_str().unwrap().to_string());
    }
    let o = pullsim(&["merge", &shards[0], &shards[1], "--out", d]);
    assert_refused(&o, &dir);
    let merged = base.join("merged");
    let o = pullsim(&["merge", &shards[0], &shards[1], "--out", merged.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The merged folder is pullsim's: a second merge replaces it; with --force the user's too.
    let o = pullsim(&["merge", &shards[0], &shards[1], "--out", merged.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = pullsim(&["compare", EX, "--seeds", "2", "--out", d, "--quiet", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("variants.csv").exists() && !dir.join("notes.txt").exists());
    // `chart` redraws into a results folder and keeps it replaceable.
    let o = pullsim(&["chart", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = pullsim(&["compare", EX, "--seeds", "2", "--out", d, "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
