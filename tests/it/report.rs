//! `report.html`: one self-contained page from a results folder, by `pullsim report DIR` and by
//! `run --report`.

use super::pullsim;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn scenario() -> String {
    format!("{}/scenarios/multi-arch.toml", env!("CARGO_MANIFEST_DIR"))
}

fn page(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("report.html")).expect("report.html")
}

/// Every SVG chart of the folder is inline, nothing is fetched, and the marker lists the page.
fn check_self_contained(dir: &Path, html: &str) {
    let svgs = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "svg"))
        .count();
    assert!(svgs > 0);
    assert_eq!(html.matches("<svg").count(), svgs, "one inline chart per SVG file");
    for external in ["src=\"http", "href=\"http", "<link", "<script", "@import", "url("] {
        assert!(!html.contains(external), "fetches nothing: found {external}");
    }
    let marker = std::fs::read_to_string(dir.join(".pullsim-results")).unwrap();
    assert!(marker.lines().any(|l| l == "report.html"), "{marker}");
}

#[test]
fn run_with_report_writes_a_self_contained_page_with_the_question_and_the_setup() {
    let out = tmp("run");
    let o = pullsim(&["run", &scenario(), "--out", out.to_str().unwrap(), "--quiet", "--report"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = page(&out);
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<p class=\"question\"><b>Question.</b> half of a cluster moves to arm64 nodes (cheaper per core); one internal image is still published"), "the scenario's question");
    // The answer: the summary's numbers as in summary.json.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let running = format!("<tr><th>pods_running</th><td class=\"n\">{}</td></tr>", summary["pods_running"]);
    assert!(html.contains(&running), "{running}");
    // The setup as the scenario states it, and the command.
    assert!(html.contains("<h3>Node pools</h3>") && html.contains("<h3>Registries</h3>"));
    assert!(html.contains("multi-arch.toml --out"));
    check_self_contained(&out, &html);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn report_redraws_the_page_of_a_compare_folder_and_refuses_other_folders() {
    let out = tmp("compare");
    let o = pullsim(&["compare", &scenario(), "--seeds", "2", "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = pullsim(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = page(&out);
    // Every variant of variants.csv is a row of the answer.
    let variants = std::fs::read_to_string(out.join("variants.csv")).unwrap();
    for line in variants.lines().skip(1) {
        let name = line.split(',').next().unwrap();
        assert!(html.contains(&format!("<tr><td>{name}</td>")), "{name}");
    }
    check_self_contained(&out, &html);
    // The same folder gives the same page.
    assert!(pullsim(&["report", out.to_str().unwrap()]).status.success());
    assert_eq!(page(&out), html);
    // Not a results folder: exit 2, nothing written.
    let empty = tmp("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = pullsim(&["report", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither a run folder"));
    assert!(!empty.join("report.html").exists());
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn compare_and_sweep_write_the_page_with_report_but_not_for_a_shard() {
    let out = tmp("compare-report");
    let o = pullsim(&[
        "compare",
        &scenario(),
        "--seeds",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--report",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = page(&out);
    assert!(html.contains("<h1>multi-arch <span class=\"kind\">comparison</span></h1>"));
    check_self_contained(&out, &html);
    let shard = tmp("shard-report");
    let o = pullsim(&[
        "sweep",
        &scenario(),
        "--set",
        "kubelet.serialize_image_pulls=true,false",
        "--shard",
        "1/2",
        "--out",
        shard.to_str().unwrap(),
        "--report",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--report needs the whole sweep"));
    assert!(!shard.exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&out);
}
