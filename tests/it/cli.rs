//! The binary as a user meets it: exit codes, messages, files.

use super::pullsim;

fn tmpfile(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pullsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The contract's `summary.json` fields, in contract order, written out independently of the
/// code (scenario-format.md) so the tests below check the code against the contract.
const CONTRACT_SUMMARY_FIELDS: [&str; 17] = [
    "seed",
    "pods",
    "pods_running",
    "pods_failed",
    "startup_p50_s",
    "startup_p90_s",
    "startup_p99_s",
    "startup_max_s",
    "startup_mean_s",
    "makespan_s",
    "bytes_pulled",
    "pulls",
    "cache_hits",
    "pull_failures",
    "backoffs",
    "events",
    "sim_end_s",
];

#[test]
fn runs_csv_uses_the_contract_summary_fields() {
    assert_eq!(pullsim::experiment::SUMMARY_FIELDS, CONTRACT_SUMMARY_FIELDS);
}

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/rollout-basics.toml");

#[test]
fn run_writes_the_five_contract_files_and_prints_a_summary() {
    let out = std::env::temp_dir().join(format!("pullsim-cli-run-{}", std::process::id()));
    let o = pullsim(&["run", EX, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("p50") && stdout.contains("events"), "{stdout}");
    for f in ["pods.csv", "pulls.csv", "registries.csv", "timeseries.csv", "summary.json", "scenario.toml"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let pods = std::fs::read_to_string(out.join("pods.csv")).unwrap();
    assert!(pods.starts_with(
        "pod,workload,node,created_s,started_s,startup_s,pull_s,images_pulled,cache_hits,backoffs,status,last_error\n"
    ));
    let pulls = std::fs::read_to_string(out.join("pulls.csv")).unwrap();
    assert!(
        pulls.starts_with("node,pod,image,registry,requested_s,started_s,finished_s,bytes,attempt,result\n")
    );
    let regs = std::fs::read_to_string(out.join("registries.csv")).unwrap();
    assert!(regs
        .starts_with("registry,requests,manifest_requests,blob_bytes,peak_concurrent,throttled,failures,"));
    let ts = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(ts.starts_with(
        "t_s,pulls_in_flight,pulls_queued,pods_running,pods_waiting,registry_egress_bytes_per_s\n"
    ));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for k in CONTRACT_SUMMARY_FIELDS {
        assert!(summary.get(k).is_some(), "summary.json lacks {k}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn seed_flag_and_set_override() {
    let out = std::env::temp_dir().join(format!("pullsim-cli-seed-{}", std::process::id()));
    let o = pullsim(&[
        "run",
        EX,
        "--seed",
        "7",
        "--set",
        "node_pool.workers.count=1",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 7);
    let pods = std::fs::read_to_string(out.join("pods.csv")).unwrap();
    assert!(pods.lines().skip(1).all(|l| l.contains(",workers-0,")), "{pods}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn validate_accepts_good_and_rejects_bad_with_line_and_exit_2() {
    let o = pullsim(&["validate", EX]);
    assert!(o.status.success());
    let bad = tmpfile("bad.toml", "[simulation]\nname = \"x\"\nbogus_key = 3\n");
    let o = pullsim(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml") && err.contains(":3") && err.contains("bogus_key"), "{err}");
}

/// A likely mistake in a valid file is a warning on stderr: `validate` and `run` go on, exit 0.
#[test]
fn validate_and_run_print_warnings_and_go_on() {
    let minimal = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/minimal.toml");
    let text = std::fs::read_to_string(minimal).unwrap().replace("replicas = 1", "replicas = 3");
    let f = tmpfile("one-node.toml", &text);
    let want =
        format!("warning: {}: key `workload.web.replicas`: all 3 replicas run on one node", f.display());
    let o = pullsim(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with(&want), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("valid"));
    let out = std::env::temp_dir().join(format!("pullsim-cli-warn-{}", std::process::id()));
    let o = pullsim(&["run", f.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with(&want), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("summary.json").exists());
    let _ = std::fs::remove_dir_all(&out);
    // The examples have none.
    assert!(pullsim(&["validate", minimal]).stderr.is_empty());
}

#[test]
fn bad_inputs_exit_2_without_panicking() {
    let garbage = tmpfile("garbage.toml", "\u{0}\u{1}\u{2}");
    std::fs::write(&garbage, [0xff, 0xfe, 0x00, 0x13]).unwrap();
    for args in [
        vec!["run", "/nonexistent/file.toml"],
        vec!["run", garbage.to_str().unwrap()],
        vec!["run", EX, "--set", "nokeyvalue"],
        vec!["run", EX, "--set", "kubelet.max_parallel_image_pulls=4"],
        vec!["validate"],
        vec!["frobnicate"],
    ] {
        let o = pullsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let o = pullsim(&["run", EX, "--set", "kubelet.max_parallel_image_pulls=4"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("maxParallelImagePulls cannot be larger than 1 unless SerializeImagePulls"),
        "{err}"
    );
}

#[test]
fn failed_run_leaves_previous_results_untouched() {
    let out = std::env::temp_dir().join(format!("pullsim-cli-keep-{}", std::process::id()));
    assert!(pullsim(&["run", EX, "--out", out.to_str().unwrap(), "-q"]).status.success());
    let before = std::fs::read(out.join("pods.csv")).unwrap();
    let bad = tmpfile("bad2.toml", "[simulation]\nname = 3\n");
    let o = pullsim(&["run", bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(out.join("pods.csv")).unwrap(), before);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn explain_image_json_and_human() {
    let o = pullsim(&["explain", "image", "nginx", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "input",
        "valid",
        "error",
        "name",
        "domain",
        "path",
        "tag",
        "digest",
        "normalized",
        "familiar",
        "runtime_image",
        "default_policy",
        "policy",
        "decision",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["normalized"], "docker.io/library/nginx:latest");
    assert_eq!(v["runtime_image"], "nginx:latest");
    assert_eq!(v["default_policy"], "Always");
    assert_eq!(v["decision"], "pull");
    let o = pullsim(&["explain", "image", "nginx:1.27", "--present"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("IfNotPresent") && text.contains("use-cached"), "{text}");
    let o = pullsim(&["explain", "image", "busybox", "--policy", "Never", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision"], "ErrImageNeverPull");
    let o = pullsim(&["explain", "image", "UPPER", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["decision"], "InvalidImageName");
    assert_eq!(pullsim(&["explain", "image", "x", "--policy", "Sometimes"]).status.code(), Some(2));
}

#[test]
fn explain_credentials_orders_matches_like_the_keyring() {
    let o = pullsim(&[
        "explain",
        "credentials",
        "--image",
        "my.registry.example/images/app",
        "--key",
        "*.registry.example",
        "--key",
        "my.registry.example/images",
        "--key",
        "other.example",
        "--json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["matches"], serde_json::json!(["my.registry.example/images", "*.registry.example"]));
    let o = pullsim(&["explain", "credentials", "--image", "nginx", "--key", "docker.io"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("docker.io"));
}

#[test]
fn explain_kubelet_shows_effective_pool_settings() {
    let o = pullsim(&["explain", "kubelet", EX, "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pool = &v["pools"][0];
    assert_eq!(pool["serialize_image_pulls"], true);
    assert_eq!(pool["registry_pull_qps"], 5);
    assert_eq!(pool["registry_burst"], 10);
    assert_eq!(pool["image_pull_backoff_max_s"], 300.0);
    // The kubelet's default hard eviction threshold for the image filesystem.
    assert_eq!(pool["eviction_hard_imagefs_available"], "15%");
    let o = pullsim(&["explain", "kubelet", EX]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("eviction_hard_imagefs_available              \"15%\"")
    );
}

#[test]
fn summary_json_fields_come_in_contract_order() {
    let out = std::env::temp_dir().join(format!("pullsim-cli-order-{}", std::process::id()));
    assert!(pullsim(&["run", EX, "--out", out.to_str().unwrap(), "-q"]).status.success());
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let contract = CONTRACT_SUMMARY_FIELDS;
    let positions: Vec<usize> = contract.iter().map(|k| text.find(&format!("\"{k}\":")).expect(k)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pullsim"))
        .args(["explain", "image", "nginx"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as with `| head -0`
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn init_writes_a_starter_that_validates_and_runs_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("pullsim-cli-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("mine.toml");
    let o = pullsim(&["init", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.starts_with("# Question:"), "the starter says what it asks");
    let o = pullsim(&["validate", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.join("out");
    let o = pullsim(&["run", f.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"pods_running\": 70"), "20 DaemonSet pods and 50 replicas run: {summary}");
    // A second init of the same file is refused and leaves the file as the user edited it.
    std::fs::write(&f, "# edited\n").unwrap();
    let o = pullsim(&["init", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "# edited\n");
    let o = pullsim(&["init", dir.join("no-extension").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let o = pullsim(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&o.stdout);
        for cmd in ["run", "validate", "sweep", "compare", "merge", "chart", "explain", "init", "import"] {
            assert!(script.contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    assert_eq!(pullsim(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn help_says_where_the_reference_is() {
    let o = pullsim(&["--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("docs/scenario-format.md"));
}
