//! `events.json` (`pullsim run --events`): one hand-computed run checked item by item, the
//! texts of a failing pull and its back-off, and, over every scenario, that the events agree
//! with pulls.csv and pods.csv and leave the other files unchanged.

use pullsim::calendar::UnixTime;
use pullsim::metrics::{MemorySink, RunOutput};
use pullsim::model::RunOptions;
use pullsim::report::events::{EventLog, WithEvents};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Runs with invariant checks, keeping pull rows and the parsed `events.json`.
fn run_with_events(text: &str, overrides: &[(&str, &str)]) -> (RunOutput, MemorySink, Vec<Value>) {
    let ov: Vec<pullsim::scenario::Override> = overrides
        .iter()
        .map(|(k, v)| pullsim::scenario::Override { key: k.to_string(), value: v.to_string() })
        .collect();
    let scn = pullsim::scenario::load(text, "test.toml", &ov).unwrap_or_else(|e| panic!("{e}"));
    let mut sink = MemorySink::default();
    let mut with = WithEvents { inner: &mut sink, log: EventLog::new(scn.start_time) };
    let out = pullsim::sim::run(&scn, scn.seed, &mut with, RunOptions { check_invariants: true });
    let json: Value = serde_json::from_slice(&with.log.to_json()).expect("events.json is JSON");
    assert_eq!(json["apiVersion"], "v1");
    assert_eq!(json["kind"], "EventList");
    let items = json["items"].as_array().expect("items").clone();
    (out, sink, items)
}

/// One line per item: name, fieldPath, count, first and last timestamps, type, reason, message.
fn lines(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| {
            format!(
                "{} {} x{} {} {} {} {}: {}",
                e["metadata"]["name"].as_str().unwrap(),
                e["involvedObject"]["fieldPath"].as_str().unwrap(),
                e["count"],
                e["firstTimestamp"].as_str().unwrap(),
                e["lastTimestamp"].as_str().unwrap(),
                e["type"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
                e["message"].as_str().unwrap(),
            )
        })
        .collect()
}

/// One node, a serial puller, 100 MB/s per connection and no latency. At 0: pod a-0's init
/// container uses the preloaded base image; b-0 then a-0 hand their pulls to the puller (b's
/// 70 MB take 0.7 s, then a's 150 MB 1.5 s: a waits 0.7 s for the slot); bad-0's image string
/// is invalid. At 0.7 s b-0's first container is pulled and its second, `Never` on an absent
/// image, fails. The run stops at 5 s, before any retry (10 s at the earliest).
const EXACT: &str = r#"
[simulation]
name = "events"
seed = 1
until = "5s"
start_time = "2024-03-10T11:59:58.5Z"

[kubelet]
registry_pull_qps = 0
serialize_image_pulls = true

[runtime]
unpack_rate = "unlimited"
container_start = "0s"

[[node_pool]]
name = "pool"
count = 1
preloaded = ["registry.example/base:v1"]

[[registry]]
host = "registry.example"
per_connection = "100MB/s"
latency = "0s"

[[image]]
ref = "registry.example/base:v1"
layers = [ { size = "10MB" } ]

[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "150MB" } ]

[[image]]
ref = "registry.example/b:v1"
layers = [ { size = "70MB" } ]

[[image]]
ref = "registry.example/c:v1"
layers = [ { size = "10MB" } ]

[[workload]]
name = "a"
kind = "deployment"
replicas = 1
[workload.pod]
init_containers = [ { image = "registry.example/base:v1" } ]
containers = [ { image = "registry.example/a:v1" } ]

[[workload]]
name = "b"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/b:v1" }, { image = "registry.example/c:v1", pull_policy = "Never" } ]

[[workload]]
name = "bad"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/Bad" } ]
"#;

#[test]
fn hand_computed_run_gives_exactly_these_events() {
    let (_, _, items) = run_with_events(EXACT, &[]);
    // Time 0 is 2024-03-10T11:59:58.5Z: 19792 days and 43198.5 s after 1970, so names start at
    // 1710071998500000000 ns = 0x17bb656c1aef5100; events of one instant take the next
    // nanoseconds. Dates are truncated: 0 s and 0.7 s print 11:59:58 and 11:59:59, 2.2 s 12:00:00.
    let t0: u128 = 1_710_071_998_500_000_000;
    let name = |pod: &str, after_ns: u128| format!("{pod}.{:x}", t0 + after_ns);
    let (d0, d07, d22) = ("2024-03-10T11:59:58Z", "2024-03-10T11:59:59Z", "2024-03-10T12:00:00Z");
    let app = "spec.containers{container-0}";
    let want = [
        format!(
            "{} spec.initContainers{{init-0}} x1 {d0} {d0} Normal Pulled: Container image \
             \"registry.example/base:v1\" already present on machine and can be accessed by the pod",
            name("a-0", 0)
        ),
        format!(
            "{} {app} x1 {d0} {d0} Normal Pulling: Pulling image \"registry.example/b:v1\"",
            name("b-0", 1)
        ),
        format!(
            "{} {app} x1 {d0} {d0} Warning InspectFailed: Failed to apply default image tag \
             \"registry.example/Bad\": couldn't parse image name \"registry.example/Bad\": invalid reference \
             format: repository name (Bad) must be lowercase",
            name("bad-0", 2)
        ),
        format!("{} {app} x1 {d0} {d0} Warning Failed: Error: InvalidImageName", name("bad-0", 3)),
        format!(
            "{} {app} x1 {d0} {d0} Normal Pulling: Pulling image \"registry.example/a:v1\"",
            name("a-0", 4)
        ),
        format!(
            "{} {app} x1 {d07} {d07} Normal Pulled: Successfully pulled image \"registry.example/b:v1\" in \
             700ms (700ms including waiting). Image size: 70000000 bytes.",
            name("b-0", 700_000_000)
        ),
        format!(
            "{} spec.containers{{container-1}} x1 {d07} {d07} Warning ErrImageNeverPull: Container image \
             \"registry.example/c:v1\" is not present with pull policy of Never",
            name("b-0", 700_000_001)
        ),
        format!(
            "{} spec.containers{{container-1}} x1 {d07} {d07} Warning Failed: Error: ErrImageNeverPull",
            name("b-0", 700_000_002)
        ),
        format!(
            "{} {app} x1 {d22} {d22} Normal Pulled: Successfully pulled image \"registry.example/a:v1\" in \
             1.5s (2.2s including waiting). Image size: 150000000 bytes.",
            name("a-0", 2_200_000_000)
        ),
    ];
    assert_eq!(lines(&items), want);

    // One whole item, every field.
    let pulled_a = serde_json::json!({
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {
            "name": name("a-0", 2_200_000_000),
            "namespace": "default",
            "uid": "00000000-0000-8000-8001-000000000009",
            "creationTimestamp": d22
        },
        "involvedObject": {
            "kind": "Pod",
            "namespace": "default",
            "name": "a-0",
            "uid": "00000000-0000-8000-8000-000000000000",
            "apiVersion": "v1",
            "fieldPath": app
        },
        "reason": "Pulled",
        "message": "Successfully pulled image \"registry.example/a:v1\" in 1.5s (2.2s including waiting). Image size: 150000000 bytes.",
        "source": { "component": "kubelet", "host": "pool-0" },
        "firstTimestamp": d22,
        "lastTimestamp": d22,
        "count": 1,
        "type": "Normal",
        "eventTime": null,
        "reportingComponent": "kubelet",
        "reportingInstance": "pool-0"
    });
    assert_eq!(items[8], pulled_a);
    assert_eq!(items[1]["involvedObject"]["uid"], "00000000-0000-8000-8000-000000000001", "b-0 is pod 1");
}

#[test]
fn without_the_pulled_records_gate_a_present_image_is_only_present() {
    let (_, _, items) = run_with_events(EXACT, &[("kubelet.ensure_secret_pulled_images", "false")]);
    assert_eq!(
        items[0]["message"], "Container image \"registry.example/base:v1\" already present on machine",
        "the 1.35 text needs KubeletEnsureSecretPulledImages"
    );
}

/// The registry is down all along: every attempt fails at once; between attempts the kubelet
/// refuses to pull while the image-pull back-off lasts (10 s, then 20 s, ...), and the pod
/// worker retries 10–15 s after each failed sync.
const OUTAGE: &str = r#"
[simulation]
name = "events-outage"
seed = 1
until = "60s"

[kubelet]
registry_pull_qps = 0

[runtime]
unpack_rate = "unlimited"
container_start = "0s"

[[node_pool]]
name = "pool"
count = 1

[[registry]]
host = "registry.example"
per_connection = "100MB/s"
latency = "0s"
outages = [ { from = "0s", to = "1h" } ]

[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "10MB" } ]

[[workload]]
name = "a"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
"#;

#[test]
fn a_failing_pull_and_its_back_off_repeat_as_counts() {
    let (out, sink, items) = run_with_events(OUTAGE, &[]);
    let attempts = sink.pulls.len() as u64;
    let backoffs = u64::from(out.pods[0].backoffs);
    assert!(attempts >= 2 && backoffs >= 1, "{attempts} attempts, {backoffs} back-offs");
    let start = UnixTime::DEFAULT_START;
    let date = |t: pullsim::time::SimTime| start.plus(t).rfc3339_secs();
    let last_request = date(sink.pulls.last().unwrap().requested_s);
    let failed =
        "Failed to pull image \"registry.example/a:v1\": failed to pull image \"registry.example/a:v1\": \
                  dial tcp registry.example:443: connect: connection refused";
    let want: [(&str, &str, &str, u64); 5] = [
        ("Normal", "Pulling", "Pulling image \"registry.example/a:v1\"", attempts),
        ("Warning", "Failed", failed, attempts),
        ("Warning", "Failed", "Error: ErrImagePull", attempts),
        ("Normal", "BackOff", "Back-off pulling image \"registry.example/a:v1\"", backoffs),
        ("Warning", "Failed", "Error: ImagePullBackOff", backoffs),
    ];
    assert_eq!(items.len(), want.len());
    for (e, (ty, reason, message, count)) in items.iter().zip(want) {
        assert_eq!((e["type"].as_str(), e["reason"].as_str()), (Some(ty), Some(reason)), "{e}");
        assert_eq!(e["message"], message);
        assert_eq!(e["count"], count, "{e}");
    }
    // The first attempt fails at 0 s; the repeats keep the first item's name and first date.
    for e in &items[..3] {
        assert_eq!(e["firstTimestamp"], "2025-01-01T00:00:00Z");
        assert_eq!(e["lastTimestamp"], last_request.as_str());
    }
    assert!(items[3]["firstTimestamp"].as_str() > items[0]["firstTimestamp"].as_str());
}

fn scenario_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
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

fn csv_rows(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(String::from)).collect())
        .collect()
}

/// Sums `count` over the items of `pod` whose reason is `reason` and whose message starts with
/// `prefix`, by the image string the message quotes right after the prefix (or "" when none).
fn counts(items: &[Value], reason: &str, prefix: &str) -> BTreeMap<(String, String), u64> {
    let mut m = BTreeMap::new();
    for e in items {
        let msg = e["message"].as_str().unwrap();
        if e["reason"] != reason || !msg.starts_with(prefix) {
            continue;
        }
        let image = msg[prefix.len()..].strip_prefix('"').map_or("", |rest| &rest[..rest.find('"').unwrap()]);
        let pod = e["involvedObject"]["name"].as_str().unwrap().to_string();
        *m.entry((pod, image.to_string())).or_insert(0) += e["count"].as_u64().unwrap();
    }
    m
}

/// Every scenario and contract example (with its `# ci-set:` overrides, seed 1): events.json is
/// a valid EventList; every pull attempt of pulls.csv has its `Pulling` event, every `ok`
/// attempt its `Pulled`, every failed one its `Failed` and `Error: ErrImagePull`; back-offs and
/// cache hits add up to pods.csv's; items come in time order with unique names; and the other
/// files are byte for byte those of a run without events.
#[test]
fn events_agree_with_pulls_and_pods_in_every_scenario() {
    for f in scenario_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let overrides: Vec<pullsim::scenario::Override> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# ci-set:"))
            .map(|kv| pullsim::scenario::Override::parse(kv.trim()).unwrap())
            .collect();
        let scn = pullsim::scenario::load(&text, &f.display().to_string(), &overrides).unwrap();
        let shown = f.file_name().unwrap().to_string_lossy().to_string();
        let with = pullsim::report::render_in_memory_with(&scn, 1, true);
        let without = pullsim::report::render_in_memory(&scn, 1);
        assert_eq!(with[..without.len()], without[..], "{shown}: events changed another file");
        let file = |name: &str| &with.iter().find(|(n, _)| n == name).unwrap().1;
        let json: Value = serde_json::from_slice(file("events.json")).expect("JSON");
        assert_eq!((json["apiVersion"].as_str(), json["kind"].as_str()), (Some("v1"), Some("EventList")));
        let items = json["items"].as_array().unwrap();

        let mut attempts: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut ok = BTreeMap::new();
        let mut failed = BTreeMap::new();
        let mut failed_by_pod: BTreeMap<(String, String), u64> = BTreeMap::new();
        for p in csv_rows(file("pulls.csv")) {
            let key = (p["pod"].clone(), p["image"].clone());
            *attempts.entry(key.clone()).or_insert(0) += 1;
            if p["result"] == "ok" {
                *ok.entry(key).or_insert(0) += 1;
            } else if p["result"].starts_with("failed:") {
                *failed.entry(key).or_insert(0) += 1;
                *failed_by_pod.entry((p["pod"].clone(), String::new())).or_insert(0) += 1;
            }
        }
        assert_eq!(counts(items, "Pulling", "Pulling image "), attempts, "{shown}: Pulling");
        assert_eq!(counts(items, "Pulled", "Successfully pulled image "), ok, "{shown}: Pulled");
        assert_eq!(counts(items, "Failed", "Failed to pull image "), failed, "{shown}: Failed");
        assert_eq!(
            counts(items, "Failed", "Error: ErrImagePull"),
            failed_by_pod,
            "{shown}: Error: ErrImagePull"
        );

        let mut backoffs = BTreeMap::new();
        let mut cache_hits = BTreeMap::new();
        for p in csv_rows(file("pods.csv")) {
            for (col, m) in [("backoffs", &mut backoffs), ("cache_hits", &mut cache_hits)] {
                let n: u64 = p[col].parse().unwrap();
                if n > 0 {
                    *m.entry(p["pod"].clone()).or_insert(0) += n;
                }
            }
        }
        let by_pod = |m: BTreeMap<(String, String), u64>| {
            let mut out = BTreeMap::new();
            for ((pod, _), n) in m {
                *out.entry(pod).or_insert(0) += n;
            }
            out
        };
        assert_eq!(by_pod(counts(items, "BackOff", "Back-off pulling image ")), backoffs, "{shown}: BackOff");
        assert_eq!(by_pod(counts(items, "Pulled", "Container image ")), cache_hits, "{shown}: present");

        let mut names = std::collections::BTreeSet::new();
        let mut previous = "";
        for e in items {
            let first = e["firstTimestamp"].as_str().unwrap();
            assert!(first >= previous && e["lastTimestamp"].as_str().unwrap() >= first, "{shown}: {e}");
            previous = first;
            assert!(e["count"].as_u64().unwrap() >= 1);
            assert!(names.insert(e["metadata"]["name"].as_str().unwrap().to_string()), "{shown}: {e}");
            assert_eq!(e["source"]["component"], "kubelet");
            assert_eq!(e["involvedObject"]["kind"], "Pod");
        }
    }
}

#[test]
fn run_writes_events_json_only_when_asked() {
    let ex = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/minimal.toml");
    let base = std::env::temp_dir().join(format!("pullsim-events-{}", std::process::id()));
    let (with, without) = (base.join("with"), base.join("without"));
    for (dir, extra) in [(&with, Some("--events")), (&without, None)] {
        let mut args = vec!["run", ex, "-q", "--out", dir.to_str().unwrap()];
        args.extend(extra);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pullsim")).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(!without.join("events.json").exists());
    let text = std::fs::read_to_string(with.join("events.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "Pulling and Pulled");
    let marker = std::fs::read_to_string(with.join(pullsim::report::MARKER)).unwrap();
    assert!(marker.lines().any(|l| l == "events.json"), "the marker lists it: {marker}");
    for f in ["pods.csv", "pulls.csv", "registries.csv", "timeseries.csv"] {
        assert_eq!(std::fs::read(with.join(f)).unwrap(), std::fs::read(without.join(f)).unwrap(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&base);
}
