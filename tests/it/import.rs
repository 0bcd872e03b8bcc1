//! `pullsim import` on the project's own documents (`tests/data/import/`, one per format): each
//! imports, and the result validates and runs; the pools, pull policies, folding and shared
//! layers are checked by hand; `--assume`, the output file rules and determinism; every kind
//! of bad input is exit 2 with the file and the JSON path, and nothing written; a generated
//! 256-node NodeList; and a fuzz target (`fuzz_` names: run with the other fuzz targets).

use super::pullsim;
use proptest::prelude::*;
use pullsim::import::{import, Input, Options};
use std::path::{Path, PathBuf};
use std::process::Output;

fn data(name: &str) -> String {
    format!("{}/tests/data/import/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder for one test.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-import-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Imports `args` (documents, `REF=FILE`s, flags) into `dir/out.toml`; the output and the text.
fn import_to(dir: &Path, args: &[&str]) -> (Output, Option<String>) {
    let out = dir.join("out.toml");
    let _ = std::fs::remove_file(&out);
    let mut all: Vec<&str> = vec!["import"];
    all.extend_from_slice(args);
    let out_s = out.to_str().unwrap().to_string();
    all.extend_from_slice(&["--out", &out_s]);
    let o = pullsim(&all);
    let text = std::fs::read_to_string(&out).ok();
    (o, text)
}

/// Every document of the fixtures, with the manifests that do not name their image named.
fn all_documents() -> Vec<String> {
    let mut v: Vec<String> = [
        "nodes.json",
        "workloads.yaml",
        "configz.json",
        "containerd-v2.toml",
        "containerd-v3.toml",
        "certs.d/docker.io/hosts.toml",
        "events.jsonl",
        "eventlist.json",
        "docker-manifest-inspect-v.json",
        "oci-manifest-amd64.json",
    ]
    .iter()
    .map(|f| data(f))
    .collect();
    v.push(format!("registry.example.com/shop/api:2.4.1={}", data("oci-index.json")));
    v.push(format!("nginx:1.27={}", data("docker-manifest-list.json")));
    v
}

#[test]
fn each_document_imports_alone_and_the_result_runs() {
    let dir = scratch("alone");
    let ok: Vec<String> = vec![
        data("nodes.json"),
        data("workloads.yaml"),
        data("configz.json"),
        data("containerd-v2.toml"),
        data("containerd-v3.toml"),
        data("events.jsonl"),
        data("eventlist.json"),
        data("docker-manifest-inspect-v.json"),
        format!("registry.example.com/shop/api:2.4.1={}", data("oci-index.json")),
        format!("registry.example.com/shop/api:2.4.1={}", data("oci-manifest-amd64.json")),
        format!("nginx:1.27={}", data("docker-manifest-list.json")),
    ];
    for doc in &ok {
        let (o, text) = import_to(&dir, &[doc]);
        assert_eq!(o.status.code(), Some(0), "{doc}: {}", stderr(&o));
        let text = text.unwrap();
        assert!(text.starts_with("# Imported with `pullsim import`"), "{doc}");
        // Validates and runs with every invariant checked.
        super::run_toml(&text);
    }
    // A document that gives nothing to use alone is exit 2, saying why.
    for (doc, why) in [
        (data("certs.d/docker.io/hosts.toml"), "no imported image comes from docker.io"),
        (data("oci-manifest-amd64.json"), "a manifest that names no image"),
    ] {
        let (o, text) = import_to(&dir, &[&doc]);
        assert_eq!(o.status.code(), Some(2), "{doc}");
        assert!(stderr(&o).contains("nothing to import") && stderr(&o).contains(why), "{}", stderr(&o));
        assert!(text.is_none());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_document_together_hand_checked() {
    let dir = scratch("together");
    let docs = all_documents();
    let args: Vec<&str> = docs.iter().map(String::as_str).collect();
    let (o, text) = import_to(&dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = text.unwrap();
    let has = |s: &str| assert!(t.contains(s), "missing {s:?} in:\n{t}");
    // Pools: by instance type and arch; counts; provenance.
    has("name = \"m5-large\"                    # from nodes.json: 2 x m5.large (amd64, containerd://1.7.22, kubelet v1.30.4-eks-a737599)");
    has("count = 2 ");
    has("name = \"m6g-large\"                   # from nodes.json: 1 x m6g.large (arm64,");
    has("arch = \"arm64\"");
    has("max_pods = 29                        # status.allocatable.pods");
    // 1930m CPU and 7220184Ki memory allocatable; web's pod requests 250m and 256 MiB (its
    // init container requests nothing).
    has("allocatable = { cpu = \"1930m\", memory = 7393468416 } # status.allocatable");
    has("requests = { cpu = \"250m\", memory = 268435456 } # the containers' resources.requests");
    has("bandwidth = \"10Gbps\"                 # assumed: a node's network bandwidth");
    // nginx is on one of the two m5.large nodes, and the events saw it pulled: not preloaded
    // there (the node list was taken after the pulls, which the replay makes again).
    has("(1 more image the events saw pulled: not preloaded)");
    // Kubelet and runtime from their files; the second containerd config's values conflict.
    has("serialize_image_pulls = false        # from configz.json: serializeImagePulls");
    has("eviction_hard_imagefs_available = \"15%\"");
    has("ensure_secret_pulled_images = false  # from the nodes' kubelet versions");
    has("max_concurrent_downloads = 3         # from containerd-v2.toml");
    has("containerd max_concurrent_downloads: 3 in containerd-v2.toml");
    // Workloads: the Pod owned by web's ReplicaSet is folded into web, not a workload.
    has("1 Pod folded into shop/Deployment web");
    assert_eq!(t.matches("[[workload]]").count(), 5, "{t}");
    // The observed pulls replayed: 6 pulls of 4 pods, each on the node the NodeList names,
    // created at its first Pulling (web-x2x9k at 10 min, pulling its init container's image,
    // nginx, then api again for its Always app container), images in the order pulled.
    has("# from eventlist.json, events.jsonl: the 6 observed pulls of 4 pods in namespace shop, replayed:");
    has("name = \"observed-shop\"");
    has("  { node = \"m5-large-1\", at = \"0s\", image = \"registry.example.com/shop/report:1.0\" }, # shop/report-7xk2p on ip-10-0-2-33.eu-west-1.compute.internal");
    has("  { node = \"m5-large-0\", at = \"10m\", images = [\"registry.example.com/shop/api:2.4.1\", \"nginx:1.27\", \"registry.example.com/shop/api:2.4.1\"] }, # shop/web-5d8f7c9b6-x2x9k on ip-10-0-1-17.eu-west-1.compute.internal");
    has("  { node = \"m5-large-1\", at = \"10m1s\", image = \"nginx:1.27\" },");
    has("replicas = 4                         # spec.replicas of the Deployment");
    has("rollout = { max_surge = 1, max_unavailable = 0 } # spec.strategy.rollingUpdate");
    has("node_pools = [\"m5-large\"]            # from nodeSelector node.kubernetes.io/instance-type=m5.large");
    has("image_pull_secrets = [\"regcred\"]");
    // Pull policies: defaulted from the tag, or as written.
    has("{ image = \"registry.example.com/shop/api:2.4.1\", pull_policy = \"IfNotPresent\" }, # init migrate: imagePullPolicy defaulted");
    has("{ image = \"registry.example.com/shop/api:2.4.1\", pull_policy = \"Always\" }, # api: imagePullPolicy as written");
    has("{ image = \"prom/node-exporter\", pull_policy = \"Always\" }, # node-exporter: imagePullPolicy defaulted as the API server does: the tag is latest or missing");
    // The StatefulSet and the Job become the closest kinds, said so.
    has("# approximation: a StatefulSet (OrderedReady) creates its pods one at a time");
    has("count = 2                            # the Job's first wave");
    // The arm64 node's taint keeps the Job off it; the DaemonSet tolerates everything.
    has("node_pools = [\"m5-large\"]            # from taints it does not tolerate");
    // Images: layers from the manifests, the base layer shared by digest; platforms from indexes.
    let base = "{ id = \"sha256:bb01dd4f8fb553acb46195b18aa64044c93f80d4dad11cc1810625e61bbe25f2\", size = 29124156 }";
    assert_eq!(t.matches(base).count(), 2, "the shared base layer in both images");
    has("platforms = [\"amd64\", \"arm64\"]       # from the index in oci-index.json");
    has("platforms = [\"amd64\", \"arm\", \"arm64\", \"386\", \"s390x\"] # from the index in docker-manifest-list.json");
    has("size = 2166802                       # from eventlist.json: the Pulled event's Image size");
    has("size = \"100MB\"                       # assumed: no input gives this image's size");
    // Registries: one per host, assumed speeds, the secret accepted.
    has("host = \"docker.io\"");
    has("accepts = [\"regcred\"]");
    // Not used, with why; observed pulls as a comment block.
    // The hosts.toml's mirror: on docker.io, with its provenance, and a registry of its own.
    has("mirrors = [{ host = \"mirror.example.internal\", capabilities = [\"pull\", \"resolve\"] }] # from hosts.toml: its [host] tables, in order");
    has("host = \"mirror.example.internal\"     # hosts.toml lists it as a mirror of docker.io");
    has("workloads.yaml: 1 Service: not used");
    has("# Observed pulls: 6 from kubelet Pulled events (18 events read; repeats of a uid dropped: 1;");
    has("0.000        1.200          -           - ip-10-0-2-33.eu-west-1.compute.internal (m5-large) shop/report-7xk2p");
    // On stderr too.
    assert!(!stderr(&o).contains("note: not used: hosts.toml"), "{}", stderr(&o));
    assert!(stderr(&o).contains("note: conflict: containerd max_concurrent_downloads"), "{}", stderr(&o));
    // The file validates and runs through the binary, unchanged.
    let file = dir.join("out.toml");
    let v = pullsim(&["validate", file.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    let r = pullsim(&["run", file.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap(), "--quiet"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_observed_pulls_are_read_for_the_calibrator() {
    let inputs: Vec<Input> = ["events.jsonl", "eventlist.json"]
        .iter()
        .map(|f| Input {
            label: (*f).into(),
            text: std::fs::read_to_string(data(f)).unwrap(),
            image_ref: None,
            dir_name: None,
        })
        .collect();
    let obs = pullsim::import::read_events(&inputs).unwrap().observed;
    assert_eq!(obs.pulls.len(), 6);
    assert_eq!(obs.duplicates, 1);
    let waited: Vec<Option<u64>> = obs.pulls.iter().map(|p| p.including_waiting_ns).collect();
    assert!(waited.contains(&Some(62_500_000_000)), "1m2.5s including waiting: {waited:?}");
    // The old form (1.19 to 1.25) has no waiting time and no size; its node comes from the
    // Scheduled event.
    let old = obs.pulls.iter().find(|p| p.pod == "report-7xk2p").unwrap();
    assert_eq!((old.in_ns, old.including_waiting_ns, old.size_bytes), (1_200_000_000, None, None));
    assert_eq!(old.node.as_deref(), Some("ip-10-0-2-33.eu-west-1.compute.internal"));
    assert_eq!(old.pulling_at.unwrap().rfc3339_secs(), "2024-11-10T09:50:01Z");
}

#[test]
fn assume_sets_values_and_a_bad_one_is_refused() {
    let dir = scratch("assume");
    let nodes = data("nodes.json");
    let (o, text) = import_to(
        &dir,
        &[
            &nodes,
            "--assume",
            "registry.docker.io.bandwidth=1Gbps",
            "--assume",
            "node_pool.m5-large.count=40",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = text.unwrap();
    assert!(t.contains("bandwidth = \"1Gbps\" # from --assume registry.docker.io.bandwidth=1Gbps"), "{t}");
    assert!(
        t.contains(
            "registry.docker.io.bandwidth = \"10Gbps\": the registry's total egress (set by --assume)"
        ),
        "{t}"
    );
    assert!(t.contains("count = 40 # from --assume node_pool.m5-large.count=40"), "{t}");
    let scn = pullsim::scenario::load(&t, "out.toml", &[]).unwrap();
    assert_eq!(scn.node_pools.iter().map(|p| p.count).sum::<u32>(), 41);
    for bad in ["registry.docker.io.bandwidth=fast", "node_pool.nope.count=3", "no-equals-sign"] {
        let (o, text) = import_to(&dir, &[&nodes, "--assume", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--assume"), "{bad}: {}", stderr(&o));
        assert!(text.is_none(), "{bad}: nothing written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_documents_in_any_order_give_the_same_bytes() {
    let dir = scratch("order");
    let docs = all_documents();
    let forward: Vec<&str> = docs.iter().map(String::as_str).collect();
    let backward: Vec<&str> = docs.iter().rev().map(String::as_str).collect();
    let (_, a) = import_to(&dir, &forward);
    let (_, b) = import_to(&dir, &backward);
    let (_, c) = import_to(&dir, &forward);
    assert_eq!(a, b);
    assert_eq!(a, c);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    let dir = scratch("force");
    let out = dir.join("mine.toml");
    std::fs::write(&out, "# my notes\n").unwrap();
    let nodes = data("nodes.json");
    let o = pullsim(&["import", &nodes, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists") && stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# my notes\n");
    let o = pullsim(&["import", &nodes, "--out", out.to_str().unwrap(), "--force", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("# Imported with"));
    for bad_out in [dir.join("scenario.json"), dir.clone()] {
        let o = pullsim(&["import", &nodes, "--out", bad_out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", bad_out.display());
    }
    // Only the file itself: no temporary file left beside it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["mine.toml"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_exit_2_naming_the_file_and_path_and_write_nothing() {
    let dir = scratch("bad");
    let node = |images: &str| {
        format!(
            r#"{{"metadata": {{"name": "n1"}}, "status": {{"nodeInfo": {{"architecture": "amd64"}}{images}}}}}"#
        )
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("nodes.json", "{\"kind\": \"NodeList\", \"items\": [{\"metadata\": {\"name\": \"a\"}".into(), "nodes.json: line 1: truncated JSON"),
        (
            "nodes.json",
            format!(r#"{{"kind": "NodeList", "items": [{}, {{"kind": "Pod"}}]}}"#, node(", \"images\": []")),
            "nodes.json: items[1].kind: a Pod in a NodeList: expected Node",
        ),
        (
            "nodes.json",
            format!(r#"{{"kind": "NodeList", "items": [{}, {}]}}"#, node(""), node("")),
            "nodes.json: items[0].status.images: missing: no node here lists its images",
        ),
        (
            "nodes.json",
            format!(
                r#"{{"kind": "NodeList", "items": [{}]}}"#,
                node(r#", "images": [{"names": ["nginx:1.27"], "sizeBytes": "abc"}]"#)
            ),
            "nodes.json: items[0].status.images[0].sizeBytes: expected an integer, got \"abc\"",
        ),
        (
            "events.json",
            r#"{"kind": "EventList", "items": [{"reason": "Pulled", "message": "Successfully pulled image \"x:1\"", "involvedObject": {"kind": "Pod", "name": "p"}}]}"#.into(),
            "events.json: items[0].message: a Pulled event without a duration",
        ),
        (
            "events.jsonl",
            "{\"reason\": \"Pulled\", \"message\": \"Successfully pulled image \\\"x:1\\\" in soon\", \"involvedObject\": {\"kind\": \"Pod\", \"name\": \"p\"}}\n".into(),
            "events.jsonl: message: the duration \"soon\" does not read",
        ),
        ("empty.json", "   \n".into(), "empty.json: the file is empty"),
        ("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: [unclosed\n".into(), "deploy.yaml: line 4: not valid YAML"),
        (
            "deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  replicas: three\n  template:\n    spec:\n      containers: [{image: a}]\n".into(),
            "deploy.yaml: spec.replicas: expected an integer, got \"three\"",
        ),
        ("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n".into(), "svc.yaml: nothing to import"),
        ("notes.txt", "just some words\nand more\n".into(), "notes.txt: no JSON, YAML or TOML document"),
    ];
    for (name, content, want) in &cases {
        let case_dir = dir.join(format!("case-{}", cases.iter().position(|c| c.2 == *want).unwrap()));
        std::fs::create_dir_all(&case_dir).unwrap();
        let f = case_dir.join(name);
        std::fs::write(&f, content).unwrap();
        let out = case_dir.join("out.toml");
        let o = pullsim(&["import", f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{want}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "want {want:?}, got:\n{}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!out.exists(), "{want}: nothing written");
        assert_eq!(std::fs::read_dir(&case_dir).unwrap().count(), 1, "{want}: no temporary file left");
    }
    // Not text at all.
    let f = dir.join("image.bin");
    std::fs::write(&f, [0xff, 0xfe, 0x00, 0x81]).unwrap();
    let o = pullsim(&["import", f.to_str().unwrap(), "--out", dir.join("o.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("image.bin: not a text file"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A NodeList of `n` nodes of two instance types, 50 images each (the kubelet's cap), as
/// `kubectl get nodes -o json` prints it.
pub fn generated_node_list(n: usize) -> String {
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let (it, arch) = if i % 4 == 3 { ("m6g.2xlarge", "arm64") } else { ("c5a.4xlarge", "amd64") };
        let images: Vec<String> = (0..50)
            .map(|k| {
                // Half the images on every node, the rest varying with the node.
                let id = if k < 25 { k } else { 25 + (i * 7 + k) % 60 };
                format!(
                    r#"{{"names": ["registry.example.com/team-{t}/app-{id}@sha256:{d:064x}", "registry.example.com/team-{t}/app-{id}:v{id}"], "sizeBytes": {s}}}"#,
                    t = id % 5,
                    d = id,
                    s = 300_000_000 - id * 1_000_000
                )
            })
            .collect();
        items.push(format!(
            r#"{{"apiVersion": "v1", "kind": "Node", "metadata": {{"name": "node-{i}", "labels": {{"node.kubernetes.io/instance-type": "{it}", "kubernetes.io/arch": "{arch}"}}}},
 "status": {{"capacity": {{"ephemeral-storage": "104845292Ki", "pods": "110"}}, "allocatable": {{"pods": "110"}},
 "nodeInfo": {{"architecture": "{arch}", "containerRuntimeVersion": "containerd://1.7.22", "kubeletVersion": "v1.30.4"}},
 "images": [{}]}}}}"#,
            images.join(", ")
        ));
    }
    format!(r#"{{"apiVersion": "v1", "kind": "List", "items": [{}]}}"#, items.join(",\n"))
}

#[test]
fn a_256_node_list_imports() {
    let text = generated_node_list(256);
    let inputs = vec![Input { label: "nodes.json".into(), text, image_ref: None, dir_name: None }];
    let opts = Options { name: "big".into(), out_label: "big.toml".into(), assumes: vec![] };
    let started = std::time::Instant::now();
    let outcome = import(&inputs, &opts).unwrap();
    // Measured, not asserted (the machine may be busy): see docs/import.md for the figure.
    eprintln!("256-node NodeList imported in {:.3}s", started.elapsed().as_secs_f64());
    let scn = pullsim::scenario::load(&outcome.toml, "big.toml", &[]).unwrap();
    let counts: Vec<(String, u32)> = scn.node_pools.iter().map(|p| (p.name.clone(), p.count)).collect();
    assert_eq!(counts, [("c5a-4xlarge".to_string(), 192), ("m6g-2xlarge".to_string(), 64)]);
    // The 25 images every node reports are preloaded everywhere.
    assert!(scn.node_pools.iter().all(|p| p.preloaded.len() >= 25));
}

// ---------------------------------------------------------------------------------------------
// Fuzzing: no input makes the importer panic. Mutations of the fixtures (JSON-, YAML- and
// TOML-aware: values swapped for odd ones, lines dropped, duplicated or cut) and token soup.

/// Values that stress the readers: wrong types, huge numbers, odd strings.
const ODD: &[&str] = &[
    "null",
    "-1",
    "0",
    "1e400",
    "18446744073709551616",
    "\"\"",
    "\"abc\"",
    "[]",
    "{}",
    "true",
    "\"sha256:\"",
    "\"98831908Zi\"",
    "\"1.2.3\"",
    "\"x86_64\"",
    "\"\\u0000\"",
    "\"in 1m2.5s (\"",
    "[[[[",
    "\"{{ size }}\"",
];

fn mutate(text: &str, kind: u8, at: usize, odd: usize) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return ODD[odd].to_string();
    }
    let n = lines.len();
    let i = at % n;
    match kind % 5 {
        0 => {
            lines.remove(i);
        }
        1 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        2 => {
            // The value after the first `:` or `=` of the line.
            let l = &mut lines[i];
            if let Some(p) = l.find([':', '=']) {
                let tail = if l.trim_end().ends_with(',') { "," } else { "" };
                *l = format!("{} {}{tail}", &l[..=p], ODD[odd]);
            }
        }
        3 => {
            let t = lines.join("\n");
            let mut cut = at % (t.len() + 1);
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            return t[..cut].to_string();
        }
        _ => lines.swap(i, (at / 7) % n),
    }
    lines.join("\n") + "\n"
}

/// Imports `text` as one document named `name`; never panics, errors carry a message.
fn import_no_panic(name: &str, text: String) -> Result<(), TestCaseError> {
    let inputs = vec![Input { label: name.into(), text: text.clone(), image_ref: None, dir_name: None }];
    let opts = Options { name: "fuzz".into(), out_label: "fuzz.toml".into(), assumes: vec![] };
    let r = std::panic::catch_unwind(|| import(&inputs, &opts));
    let Ok(r) = r else { return Err(TestCaseError::fail(format!("import panicked on {name}:\n{text}"))) };
    match r {
        Ok(outcome) => super::fuzz::load_and_maybe_run(&outcome.toml, &[]),
        Err(errs) => {
            prop_assert!(!errs.is_empty());
            prop_assert!(errs.iter().all(|e| !e.message.trim().is_empty()));
            Ok(())
        }
    }
}

#[test]
fn fuzz_importer_with_mutated_documents() {
    let docs: Vec<(&str, String)> = [
        "nodes.json",
        "workloads.yaml",
        "configz.json",
        "containerd-v2.toml",
        "containerd-v3.toml",
        "events.jsonl",
        "eventlist.json",
        "docker-manifest-inspect-v.json",
        "docker-manifest-list.json",
    ]
    .iter()
    .map(|f| (*f, std::fs::read_to_string(data(f)).unwrap()))
    .collect();
    let strategy =
        (0..docs.len(), proptest::collection::vec((any::<u8>(), any::<usize>(), 0..ODD.len()), 1..4));
    super::fuzz::fuzz("importer (mutated documents)", super::fuzz::cases(), strategy, |(d, muts)| {
        let (name, text) = &docs[d];
        let mut t = text.clone();
        for (k, at, odd) in muts {
            t = mutate(&t, k, at, odd);
        }
        import_no_panic(name, t)
    });
}

#[test]
fn fuzz_importer_with_token_soup() {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("\"kind\": \"NodeList\", ".to_string()),
        Just("\"kind\": \"Event\", ".to_string()),
        Just("\"items\": [".to_string()),
        Just("\"status\": {\"images\": [{\"names\": [\"a:1\"], \"sizeBytes\": 5}]}".to_string()),
        Just("\"message\": \"Successfully pulled image \\\"a:1\\\" in 1s\", \"reason\": \"Pulled\", \"involvedObject\": {}".to_string()),
        Just("\"schemaVersion\": 2, \"layers\": [".to_string()),
        Just("apiVersion: v1\nkind: Pod\n".to_string()),
        Just("---\n".to_string()),
        Just("user@host:~$ kubectl get events\n".to_string()),
        Just("LAST SEEN   TYPE   REASON   OBJECT   MESSAGE\n".to_string()),
        Just("version = 2\n".to_string()),
        Just("\n".to_string()),
        (0..ODD.len()).prop_map(|i| ODD[i].to_string()),
        "\\PC{0,8}",
    ];
    let strategy = proptest::collection::vec(token, 0..30).prop_map(|v| v.concat());
    super::fuzz::fuzz("importer (token soup)", super::fuzz::cases(), strategy, |text| {
        import_no_panic("soup", text)
    });
}

/// A `certs.d/_default/hosts.toml` gives every registry without a file of its own its mirrors,
/// in file order with the capabilities and dial timeout written, and each mirror host becomes
/// a registry; the result runs (through the mirrors) with every invariant checked.
#[test]
fn default_hosts_toml_gives_every_registry_its_mirrors() {
    let dir = scratch("default-hosts");
    let certs = dir.join("certs.d").join("_default");
    std::fs::create_dir_all(&certs).unwrap();
    let hosts = certs.join("hosts.toml");
    std::fs::write(
        &hosts,
        "server = \"https://example\"\n[host.\"https://spegel.local:5000\"]\ncapabilities = [\"pull\", \"resolve\"]\n\
         dial_timeout = \"200ms\"\n[host.\"https://harbor.internal/v2/proxy\"]\n",
    )
    .unwrap();
    let (o, text) = import_to(&dir, &[&data("workloads.yaml"), hosts.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = text.unwrap();
    let line = "mirrors = [{ host = \"spegel.local:5000\", capabilities = [\"pull\", \"resolve\"], dial_timeout = \"200ms\" }, { host = \"harbor.internal\" }] # from hosts.toml: its [host] tables, in order";
    assert_eq!(text.matches(line).count(), 3, "docker.io, public.ecr.aws, registry.example.com:\n{text}");
    assert!(
        text.contains(
            "host = \"harbor.internal\"             # hosts.toml lists it as a mirror of docker.io"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "host = \"spegel.local:5000\"           # hosts.toml lists it as a mirror of docker.io"
        ),
        "{text}"
    );
    assert!(!stderr(&o).contains("not used: hosts.toml"), "{}", stderr(&o));
    let (_, sink) = super::run_toml(&text);
    assert!(sink.pulls.iter().any(|p| p.registry == "spegel.local:5000"), "the first mirror serves");
    let _ = std::fs::remove_dir_all(&dir);
}
