//! Replaying observed pulls (`kind = "replay"`) and `pullsim calibrate`.

use super::{base, run_toml, s};

fn replay(pods: &str) -> String {
    base("unlimited", "100MB/s", "").replace("count = 1", "count = 2")
        + &format!(
            r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ {{ size = "100MB" }} ]

[[image]]
ref = "registry.example/b:v1"
layers = [ {{ size = "200MB" }} ]

[[workload]]
name = "r"
kind = "replay"
pods = [
{pods}
]
"#
        )
}

fn load_err(text: &str) -> String {
    match pullsim::scenario::load(text, "test.toml", &[]) {
        Ok(_) => panic!("expected an invalid scenario"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn replay_pods_are_bound_to_their_node_at_their_time() {
    // Written out of order: sorted by `at`, r-0 is the 2 s pod. Each pull is one layer at
    // 100MB/s per connection with no latency: a (100MB) takes 1 s, b (200MB) 2 s.
    let (out, sink) = run_toml(&replay(
        r#"  { node = "pool-1", at = "5s", image = "registry.example/a:v1" },
  { node = "pool-0", at = "2s", image = "registry.example/b:v1" },"#,
    ));
    let mut rows = sink.pulls.clone();
    rows.sort_by_key(|r| r.started_s);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].node.as_str(), rows[0].pod.as_str(), rows[0].image.as_str()),
        ("pool-0", "r-0", "registry.example/b:v1")
    );
    assert_eq!((s(rows[0].started_s.unwrap()), s(rows[0].finished_s.unwrap())), (2.0, 4.0));
    assert_eq!(
        (rows[1].node.as_str(), rows[1].pod.as_str(), rows[1].image.as_str()),
        ("pool-1", "r-1", "registry.example/a:v1")
    );
    assert_eq!((s(rows[1].started_s.unwrap()), s(rows[1].finished_s.unwrap())), (5.0, 6.0));
    assert_eq!(out.pods.len(), 2);
}

#[test]
fn replay_on_one_node_shares_it_as_pods_would() {
    // Two pods on one node 0.5 s apart; the kubelet pulls one image at a time (its default):
    // a ends at 1 s, b is requested at 0.5 s, starts at 1 s (its "in X" excludes the wait)
    // and ends at 3 s.
    let (_, sink) = run_toml(&replay(
        r#"  { node = "pool-0", at = "0s", image = "registry.example/a:v1" },
  { node = "pool-0", at = "0.5s", image = "registry.example/b:v1" },"#,
    ));
    let mut rows = sink.pulls.clone();
    rows.sort_by_key(|r| r.started_s);
    assert_eq!(rows.iter().map(|r| r.node.as_str()).collect::<Vec<_>>(), ["pool-0", "pool-0"]);
    assert_eq!(s(rows[0].finished_s.unwrap()), 1.0);
    assert_eq!(s(rows[1].requested_s), 0.5);
    assert_eq!((s(rows[1].started_s.unwrap()), s(rows[1].finished_s.unwrap())), (1.0, 3.0));
}

#[test]
fn replay_errors_name_the_node_and_the_image() {
    let e = load_err(&replay(r#"  { node = "pool-2", at = "0s", image = "registry.example/a:v1" },"#));
    assert!(e.contains(r#"no node named "pool-2" (nodes: pool-0 to pool-1)"#), "{e}");
    let e = load_err(&replay(r#"  { node = "pool-0", at = "0s", image = "registry.example/zzz:v1" },"#));
    assert!(e.contains(r#"image "registry.example/zzz:v1""#) && e.contains("is not declared"), "{e}");
    let e = load_err(&replay(r#"  { node = "pool-0", image = "registry.example/a:v1" },"#));
    assert!(e.contains("missing required key `at`"), "{e}");
    let e = load_err(&replay("").replace("pods = [\n\n]", "replicas = 1"));
    assert!(e.contains("`replicas` is only valid for kind = \"deployment\""), "{e}");
    assert!(e.contains("missing required key `pods`"), "{e}");
    let e = load_err(
        &(replay(r#"  { node = "pool-0", at = "0s", image = "registry.example/a:v1" },"#)
            + "[workload.pod]\ncontainers = [ { image = \"registry.example/a:v1\" } ]\n"),
    );
    assert!(e.contains("`pod` is only valid for kind"), "{e}");
}
