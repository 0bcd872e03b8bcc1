//! Nothing lost: a run killed at any moment (SIGKILL, via `Child::kill`) leaves the previous
//! results byte-identical and no folder that looks complete besides the destination; the next
//! run succeeds and removes the stale staging folder. A results folder records the exact
//! scenario text and the command.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const SCENARIO: &str = r#"# A scenario that is quick as written and slow with `--set node_pool.workers.count=20000
# --set workload.web.replicas=400000` (about 3 s in a release build, far longer in debug).
[simulation]
name = "kill"
seed = 3

[[node_pool]]
name = "workers"
count = 2
bandwidth = "1Gbps"

[[registry]]
host = "registry.example"
bandwidth = "10Gbps"
latency = "20ms"
failure_rate = 0.05

[[image]]
ref = "registry.example/app:v1"
layers = [ { id = "base", size = "30MB" }, { size = "200MB" } ]

[[workload]]
name = "web"
kind = "deployment"
replicas = 4
[workload.pod]
containers = [ { image = "registry.example/app:v1" } ]
"#;

/// Big enough that even a release build is still running when the last kill comes (900 ms):
/// the simulator got fast enough that 2,000 nodes finished within 400 ms.
const SLOW: [&str; 4] = ["--set", "node_pool.workers.count=20000", "--set", "workload.web.replicas=400000"];

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-kill-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pullsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pullsim"))
}

fn run_ok(file: &Path, out: &Path, extra: &[&str]) {
    let o = pullsim().arg("run").arg(file).arg("--out").arg(out).arg("--quiet").args(extra).output().unwrap();
    assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// Every file of a folder with its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

/// Names in `parent`, split into visible ones and dot-prefixed (staging) ones.
fn listing(parent: &Path) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names.into_iter().partition(|n| !n.starts_with('.'))
}

/// Starts the slow run into `out` and SIGKILLs it after `delay` (counted from the moment its
/// staging folder exists when `after_staging`).
fn start_and_kill(file: &Path, out: &Path, delay: Duration, after_staging: bool) {
    let mut child = pullsim()
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(SLOW)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if after_staging {
        let staging = out.parent().unwrap().join(format!(".kill.tmp-{}", child.id()));
        let t = std::time::Instant::now();
        while !staging.exists() {
            assert!(t.elapsed() < Duration::from_secs(60), "the run never created {}", staging.display());
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    std::thread::sleep(delay);
    let finished_early = child.try_wait().unwrap().is_some();
    assert!(!finished_early, "the slow run ended within {delay:?}: the kill test needs a slower scenario");
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no cleanup runs.
    child.wait().unwrap();
}

/// A scratch folder with the scenario file and the results of one completed run.
struct Setup {
    dir: PathBuf,
    file: PathBuf,
    parent: PathBuf,
    out: PathBuf,
    before: Vec<(String, Vec<u8>)>,
}

fn first_run(name: &str) -> Setup {
    let dir = scratch(name);
    let file = dir.join("kill.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let parent = dir.join("results");
    let out = parent.join("kill");
    run_ok(&file, &out, &[]);
    let before = snapshot(&out);
    Setup { dir, file, parent, out, before }
}

#[test]
fn killed_runs_leave_previous_results_intact_and_the_next_run_cleans_up() {
    let Setup { dir, file, parent, out, before } = first_run("main");

    // The folder records the exact scenario text and the command.
    let recorded: std::collections::BTreeMap<_, _> = before.iter().cloned().collect();
    assert_eq!(recorded["scenario.toml"], SCENARIO.as_bytes(), "scenario.toml is the input, byte for byte");
    let command = String::from_utf8(recorded["command.txt"].clone()).unwrap();
    assert!(
        command.contains(" run ") && command.contains("kill.toml") && command.contains("--out"),
        "{command}"
    );
    for f in ["pods.csv", "pulls.csv", "registries.csv", "timeseries.csv", "summary.json"] {
        assert!(recorded.contains_key(f), "{f} missing from {:?}", recorded.keys());
    }

    // Kill at several moments of the run: early (loading, staging created), mid-run (CSV rows
    // streaming into the staging folder).
    for (ms, after_staging) in [(5, false), (40, false), (0, true), (150, true), (400, true), (900, false)] {
        start_and_kill(&file, &out, Duration::from_millis(ms), after_staging);
        assert_eq!(snapshot(&out), before, "killed after {ms} ms: the previous results changed");
        let (visible, hidden) = listing(&parent);
        assert_eq!(
            visible,
            vec!["kill".to_string()],
            "killed after {ms} ms: only the destination is visible"
        );
        for h in &hidden {
            assert!(h.starts_with(".kill.tmp-"), "killed after {ms} ms: unexpected folder {h}");
        }
    }

    // A third run succeeds, replaces the results and removes the stale staging folders.
    run_ok(&file, &out, &["--seed", "4"]);
    let (visible, hidden) = listing(&parent);
    assert_eq!(visible, vec!["kill".to_string()]);
    assert!(hidden.is_empty(), "stale staging folders left: {hidden:?}");
    assert_ne!(snapshot(&out), before, "the new run (another seed) replaced the results");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_killed_inside_commit_gets_its_previous_results_back() {
    // The state a SIGKILL between commit's two renames leaves: no destination, the previous
    // results moved aside as `.NAME.old-PID` (of a dead process), a complete staging folder.
    let Setup { dir, file, parent, out, before } = first_run("commit");
    let dead_pid = 999_999_999u64; // above any Linux pid_max
    std::fs::rename(&out, parent.join(format!(".kill.old-{dead_pid}"))).unwrap();
    std::fs::create_dir(parent.join(format!(".kill.tmp-{dead_pid}"))).unwrap();

    // The next run puts the old results back when it starts; killed mid-run, it leaves them.
    start_and_kill(&file, &out, Duration::from_millis(50), true);
    assert_eq!(snapshot(&out), before, "the previous results were restored, not deleted");
    let (visible, hidden) = listing(&parent);
    assert_eq!(visible, vec!["kill".to_string()]);
    assert!(hidden.iter().all(|h| h.starts_with(".kill.tmp-")), "{hidden:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
