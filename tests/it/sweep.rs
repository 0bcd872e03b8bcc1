//! `sweep`, `compare`, `merge` and `chart` through the binary: files, byte-identical output
//! across `--jobs` and shards, skipped variants, exit codes.

use super::{pullsim, pullsim_ok as ok};
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-sweep-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/rollout-basics.toml");

/// rollout-basics with a `[sweep]` grid like the contract's: serialize × max, where
/// serialize=true with max=2 is invalid. Each test writes its own copy: tests run in parallel,
/// and `tmp` empties the folder it names.
fn grid_scenario(test: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(EX).unwrap();
    text.push_str(
        "\n[sweep]\nseeds = 3\ngrid = { \"kubelet.serialize_image_pulls\" = [true, false], \
         \"kubelet.max_parallel_image_pulls\" = [1, 2] }\nbaseline = { \"kubelet.serialize_image_pulls\" = true }\n",
    );
    let p = tmp(&format!("scenario-{test}")).join("grid.toml");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn read(dir: &Path, f: &str) -> Vec<u8> {
    std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn compare_prints_the_table_and_writes_files_identically_for_any_jobs() {
    let (a, b) = (tmp("cmp-j1"), tmp("cmp-j2"));
    let out = ok(&["compare", EX, "--seeds", "3", "--jobs", "1", "--out", s(&a)]);
    ok(&["compare", EX, "--seeds", "3", "--jobs", "2", "--out", s(&b), "--quiet"]);
    for want in
        ["serial", "parallel-2", "parallel-4", "parallel-8", "unlimited", "startup p99", "paired difference"]
    {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
    for f in ["runs.csv", "variants.csv", "startups.csv", "sweep.json"] {
        assert!(read(&a, f) == read(&b, f), "{f} differs between --jobs 1 and --jobs 2");
    }
    for f in ["startup-cdf.png", "startup-cdf.svg", "p99.png", "p99.svg", "scenario.toml", "command.txt"] {
        assert!(a.join(f).exists(), "{f}");
    }
    let runs = String::from_utf8(read(&a, "runs.csv")).unwrap();
    let mut lines = runs.lines();
    assert!(lines.next().unwrap().starts_with(
        "variant,kubelet.serialize_image_pulls,kubelet.max_parallel_image_pulls,seed,pods,pods_running,"
    ));
    // 5 variants × 3 seeds, variant-major, seeds = scenario seed (1) + k.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 15);
    assert!(rows[0].starts_with("serial,true,unset,1,"), "{}", rows[0]);
    assert!(rows[2].starts_with("serial,true,unset,3,"), "{}", rows[2]);
    assert!(rows[14].starts_with("unlimited,false,unset,3,"), "{}", rows[14]);
    let variants = String::from_utf8(read(&a, "variants.csv")).unwrap();
    assert_eq!(variants.lines().count(), 6);
    assert!(variants.lines().nth(1).unwrap().starts_with("serial,true,unset,true,3,"));
    let m: serde_json::Value = serde_json::from_slice(&read(&a, "sweep.json")).unwrap();
    assert_eq!(m["seeds"], serde_json::json!([1, 2, 3]));
    assert_eq!(m["kind"], "compare");
    assert_eq!(m["shard"], serde_json::Value::Null);
    assert_eq!(m["scenario_fnv1a64"].as_str().unwrap().len(), 16);
}

#[test]
fn sweep_skips_invalid_combinations_and_draws_a_heatmap() {
    let f = grid_scenario("sweep_skips_invalid_combinations_and_draws_a_heatmap");
    let out_dir = tmp("grid");
    let o = pullsim(&["sweep", s(&f), "--out", s(&out_dir), "--jobs", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("skipping variant serialize_image_pulls=true max_parallel_image_pulls=2"),
        "{stderr}"
    );
    let m: serde_json::Value = serde_json::from_slice(&read(&out_dir, "sweep.json")).unwrap();
    assert_eq!(m["variants"].as_array().unwrap().len(), 3);
    assert_eq!(m["skipped"].as_array().unwrap().len(), 1);
    assert!(
        m["skipped"][0]["reason"].as_str().unwrap().contains("maxParallelImagePulls"),
        "{}",
        m["skipped"]
    );
    assert_eq!(m["runs"], 9);
    for f in ["heatmap-p99.png", "heatmap-p99.svg"] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    // `chart DIR` redraws the same charts from the CSVs alone.
    let before = read(&out_dir, "p99.svg");
    std::fs::remove_file(out_dir.join("p99.svg")).unwrap();
    ok(&["chart", s(&out_dir)]);
    assert!(read(&out_dir, "p99.svg") == before);
}

#[test]
fn sweep_set_axes_replace_and_add_to_the_file_grid() {
    let f = grid_scenario("sweep_set_axes_replace_and_add_to_the_file_grid");
    let out_dir = tmp("set-axes");
    ok(&[
        "sweep",
        s(&f),
        "--set",
        "kubelet.serialize_image_pulls=false",
        "--set",
        "runtime.max_concurrent_downloads=1,3",
        "--seeds",
        "2",
        "--out",
        s(&out_dir),
        "--quiet",
    ]);
    let runs = String::from_utf8(read(&out_dir, "runs.csv")).unwrap();
    assert!(runs.starts_with(
        "variant,kubelet.serialize_image_pulls,kubelet.max_parallel_image_pulls,runtime.max_concurrent_downloads,seed,"
    ));
    // 1 × 2 × 2 variants × 2 seeds.
    assert_eq!(runs.lines().count(), 1 + 8);
}

#[test]
fn sharded_then_merged_equals_unsharded() {
    let f = grid_scenario("sharded_then_merged_equals_unsharded");
    let (whole, s0, s1, merged) = (tmp("whole"), tmp("shard0"), tmp("shard1"), tmp("merged"));
    ok(&["sweep", s(&f), "--out", s(&whole), "--quiet"]);
    ok(&["sweep", s(&f), "--shard", "0/2", "--out", s(&s0), "--quiet"]);
    ok(&["sweep", s(&f), "--shard", "1/2", "--out", s(&s1), "--quiet"]);
    assert!(!s0.join("variants.csv").exists(), "a shard has no statistics");
    // Shards in either order.
    ok(&["merge", s(&s1), s(&s0), "--out", s(&merged)]);
    for file in [
        "runs.csv",
        "variants.csv",
        "startups.csv",
        "sweep.json",
        "scenario.toml",
        "p99.png",
        "startup-cdf.svg",
    ] {
        assert!(read(&whole, file) == read(&merged, file), "{file} differs after merge");
    }
    // A missing shard or a shard given twice is bad input.
    let o = pullsim(&["merge", s(&s0), "--out", s(&tmp("partial"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = pullsim(&["merge", s(&s0), s(&s0), s(&s1), "--out", s(&tmp("twice"))]);
    assert_eq!(o.status.code(), Some(2));
    // Folders of different sweeps do not merge.
    let other = tmp("other-shard");
    ok(&["sweep", s(&f), "--shard", "1/2", "--seeds", "2", "--out", s(&other), "--quiet"]);
    let o = pullsim(&["merge", s(&s0), s(&other), "--out", s(&tmp("mixed"))]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_sweep_input_exits_2() {
    let f = grid_scenario("bad_sweep_input_exits_2");
    let cases: Vec<Vec<&str>> = vec![
        vec!["sweep", s(&f), "--shard", "2/2"],
        vec!["sweep", s(&f), "--jobs", "0"],
        vec!["sweep", s(&f), "--seeds", "0"],
        // Every variant invalid: serialize=true with max 2 and 4.
        vec![
            "sweep",
            EX,
            "--set",
            "kubelet.max_parallel_image_pulls=2,4",
            "--set",
            "kubelet.serialize_image_pulls=true",
        ],
        vec!["sweep", EX, "--set", "kubelet.no_such_key=1,2"],
        vec!["compare", EX, "--max-parallel", "1,x"],
        vec!["chart", "/nonexistent-pullsim-dir"],
    ];
    for args in cases {
        let o = pullsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!o.stderr.is_empty());
    }
}

#[test]
fn run_writes_its_charts() {
    let out = tmp("run-charts");
    ok(&["run", EX, "--out", s(&out), "--quiet"]);
    for f in ["startup-cdf", "timeseries", "pulls-gantt"] {
        for ext in ["png", "svg"] {
            let p = out.join(format!("{f}.{ext}"));
            assert!(std::fs::metadata(&p).map(|m| m.len() > 1000).unwrap_or(false), "{}", p.display());
        }
    }
    let png = read(&out, "pulls-gantt.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn compare_overrides_pool_kubelet_settings_too() {
    // The pool's own kubelet table says parallel with max 4; `serial` must still be serial on
    // it (one pull in flight per node), `unlimited` must lift the pool's max.
    let mut text = std::fs::read_to_string(EX).unwrap();
    text = text.replace(
        "disk = \"100GiB\"\n",
        "disk = \"100GiB\"\nkubelet = { serialize_image_pulls = false, max_parallel_image_pulls = 4 }\n",
    );
    assert!(text.contains("max_parallel_image_pulls = 4"));
    let f = tmp("pool-override").join("pool.toml");
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(&f, text).unwrap();
    let out = tmp("pool-override-out");
    ok(&["compare", s(&f), "--seeds", "2", "--max-parallel", "2", "--out", s(&out), "--quiet"]);
    let m: serde_json::Value = serde_json::from_slice(&read(&out, "sweep.json")).unwrap();
    let serial = m["variants"][0]["settings"].to_string();
    assert!(serial.contains("node_pool.workers.kubelet.serialize_image_pulls"), "{serial}");
    let runs = String::from_utf8(read(&out, "runs.csv")).unwrap();
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let peak = header.iter().position(|h| *h == "peak_pulls_in_flight").unwrap();
    let peaks = |variant: &str| -> Vec<u64> {
        runs.lines()
            .filter(|l| l.starts_with(&format!("{variant},")))
            .map(|l| l.split(',').nth(peak).unwrap().parse().unwrap())
            .collect()
    };
    // 3 nodes, 5 pods of one image: serial holds at most one pull per node.
    assert!(peaks("serial").iter().all(|&p| p <= 3), "{:?}", peaks("serial"));
    assert!(peaks("unlimited").iter().all(|&p| p == 5), "{:?}", peaks("unlimited"));
}

/// `runs.csv`'s peaks are exact: the same runs sampled every 100 ms or every 5 s report the
/// same peaks (they used to be maxima over samples, and moved with `sample_every`).
#[test]
fn peaks_in_runs_csv_do_not_depend_on_sample_every() {
    let peaks = |every: &str| -> Vec<String> {
        let out = tmp(&format!("peaks-{every}"));
        ok(&[
            "compare",
            EX,
            "--seeds",
            "3",
            "--quiet",
            "--set",
            &format!("simulation.sample_every={every}"),
            "--out",
            s(&out),
        ]);
        let text = String::from_utf8(read(&out, "runs.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let cols: Vec<usize> =
            header.iter().enumerate().filter(|(_, h)| h.starts_with("peak_")).map(|(i, _)| i).collect();
        assert_eq!(cols.len(), 2);
        lines
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                cols.iter().map(|&c| cells[c]).collect::<Vec<_>>().join(",")
            })
            .collect()
    };
    let fine = peaks("100ms");
    assert_eq!(fine.len(), 15, "5 variants x 3 seeds");
    assert_eq!(fine, peaks("5s"));
    assert!(fine.iter().all(|p| !p.ends_with(",0")), "every run moves bytes: {fine:?}");
}

/// `variants.csv` as (header, rows).
fn variants_table(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rd = csv::Reader::from_path(dir.join("variants.csv")).unwrap();
    let header = rd.headers().unwrap().iter().map(str::to_string).collect();
    (header, rd.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect())
}

/// The contract example without its failure rate is deterministic: every seed gives the same
/// run. The table says so instead of printing `± 0.0`, and the exact 40 ms by which a parallel
/// puller starts the slowest pods sooner is not marked significant: it is below the default
/// threshold, max(1 % of 1.627 s, 0.1 s) = 0.1 s.
#[test]
fn a_deterministic_compare_says_identical_and_marks_only_practical_differences() {
    let run = |name: &str, extra: &[&str]| -> (String, Vec<String>, Vec<Vec<String>>) {
        let out = tmp(name);
        let mut args = vec![
            "compare",
            EX,
            "--seeds",
            "3",
            "--max-parallel",
            "2",
            "--set",
            "registry.docker.io.failure_rate=0",
        ];
        args.extend(extra);
        args.extend(["--out", s(&out)]);
        let stdout = ok(&args);
        let (h, rows) = variants_table(&out);
        (stdout, h, rows)
    };
    let (stdout, h, rows) = run("det-default", &[]);
    assert!(!stdout.contains("± 0.0"), "{stdout}");
    assert!(stdout.contains("(identical): the same value in all 3 seeds, no interval"), "{stdout}");
    assert!(stdout.contains("* = 95% CI excludes 0 and |difference| >= max(1% of the baseline mean, 0.1 s for times, 1 for counts)"), "{stdout}");
    let at = |name: &str| h.iter().position(|x| x == name).unwrap_or_else(|| panic!("{name}"));
    let p90 = |row: &Vec<String>, suffix: &str| row[at(&format!("startup_p90_s_{suffix}"))].clone();
    for row in &rows {
        assert_eq!(
            (p90(row, "identical"), p90(row, "ci95_low"), p90(row, "ci95_high")),
            ("true".into(), "".into(), "".into())
        );
    }
    // parallel-2 against serial: an exact, non-zero difference under the threshold.
    let p2 = &rows[1];
    let diff: f64 = p90(p2, "diff_mean").parse().unwrap();
    let threshold: f64 = p90(p2, "diff_min_effect").parse().unwrap();
    assert_eq!(p90(p2, "diff_identical"), "true");
    assert!(diff < 0.0 && diff.abs() < threshold, "{diff} vs {threshold}");
    assert_eq!(threshold, 0.1);
    assert_eq!(p90(p2, "diff_significant"), "false");
    // Two more pulls in flight at the peak is at least the 1 for counts: marked.
    assert_eq!(p2[at("peak_pulls_in_flight_diff_significant")], "true");
    // With no practical threshold, the exact difference is marked, as before.
    let (_, h, rows) = run("det-zero", &["--min-effect", "0%,0s,0"]);
    assert_eq!(rows[1][h.iter().position(|x| x == "startup_p90_s_diff_significant").unwrap()], "true");
    assert_eq!(rows[1][h.iter().position(|x| x == "startup_p90_s_diff_min_effect").unwrap()], "0.000");
    // A malformed threshold is bad input.
    let o = pullsim(&["compare", EX, "--min-effect", "5%,x", "--out", s(&tmp("det-bad"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--min-effect"));
}

/// With a 10 % failure rate, pull failures per run are 0, 1 or 2: mean ± t·s/√n reaches below
/// 0 and is cut there. No interval of a count goes below 0 or above its bound.
#[test]
fn intervals_of_counts_stay_within_what_is_possible() {
    let out = tmp("counts");
    let stdout = ok(&[
        "compare",
        EX,
        "--seeds",
        "5",
        "--max-parallel",
        "2",
        "--set",
        "registry.docker.io.failure_rate=0.1",
        "--out",
        s(&out),
    ]);
    assert!(stdout.contains("[low, high]: the interval cut at what is possible"), "{stdout}");
    let (h, rows) = variants_table(&out);
    let num = |row: &Vec<String>, col: &str| -> Option<f64> {
        row[h.iter().position(|x| x == col).unwrap()].parse().ok()
    };
    let mut cut = 0;
    for row in &rows {
        for m in ["pull_failures", "pods_failed", "peak_pulls_in_flight", "startup_p50_s", "makespan_s"] {
            let Some(low) = num(row, &format!("{m}_ci95_low")) else { continue };
            let (mean, high) =
                (num(row, &format!("{m}_mean")).unwrap(), num(row, &format!("{m}_ci95_high")).unwrap());
            assert!(low >= 0.0, "{m} {low}");
            // Cut: the interval is no longer symmetric about the mean.
            if (mean - low - (high - mean)).abs() > 0.0015 {
                cut += 1;
            }
        }
        if let Some(high) = num(row, "pods_failed_ci95_high") {
            assert!(high <= 5.0, "5 pods: {high}");
        }
    }
    assert!(cut > 0, "some interval is cut at 0: {stdout}");
}
