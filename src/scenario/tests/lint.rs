//! `lint`: the warnings for valid scenarios, and none for the examples.

use super::*;

/// The warnings of a valid scenario, as `key: message` lines.
fn warnings(text: &str) -> Vec<String> {
    lint(&ok(text)).iter().map(|w| w.to_string()).collect()
}

fn one_warning(text: &str) -> String {
    let ws = warnings(text);
    assert_eq!(ws.len(), 1, "{ws:#?}");
    ws[0].clone()
}

#[test]
fn the_examples_have_no_warnings() {
    assert_eq!(warnings(BASE), Vec::<String>::new());
    assert_eq!(warnings(&contract_big_example()), Vec::<String>::new());
    let scenarios = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    for dir in [EXAMPLES_DIR, scenarios] {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "toml") {
                let w = warnings(&std::fs::read_to_string(&path).unwrap());
                assert!(w.is_empty(), "{}: {w:#?}", path.display());
            }
        }
    }
}

#[test]
fn an_image_larger_than_the_disk() {
    let text = BASE.replacen("{ size = \"5MB\" }", "{ size = \"2GB\" }", 1).replacen(
        "disk = \"100GiB\"",
        "disk = \"1GB\"",
        1,
    );
    assert_eq!(
        one_warning(&text),
        "key `image.registry.example/app:v1`: image \"registry.example/app:v1\" is 2.10 GB, more than the \
         1.00 GB disk of node pool \"pool\" (`node_pool.pool.disk`), where workload \"web\" runs it: it \
         cannot be stored there"
    );
    // The largest draw of a bounded size; a typical one of an unbounded size.
    let set = |size: &str| {
        BASE.replacen("size = \"10MB\"", &format!("size = {size}"), 1)
            .replacen("disk = \"100GiB\"", "disk = \"1GB\"", 1)
            .replacen("{ image = \"registry.example/app:v1\" }", "{ image_set = \"fns\" }", 1)
    };
    let w = one_warning(&set("{ dist = \"uniform\", min = \"10MB\", max = \"3GB\" }"));
    assert!(w.starts_with("key `image_set.fns`: image \"registry.example/fn-0:v1\" is 3.00 GB"), "{w}");
    let w = one_warning(&set("{ dist = \"lognormal\", median = \"2GB\", sigma = 1 }"));
    assert!(w.contains("is typically 2.00 GB"), "{w}");
    assert!(warnings(&set("{ dist = \"exponential\", mean = \"100MB\" }")).is_empty());
    // Only where the workload runs.
    let text = text.replacen(
        "[[registry]]",
        "[[node_pool]]\nname = \"big\"\ncount = 2\ndisk = \"1TB\"\n\n[[registry]]",
        1,
    );
    assert_eq!(warnings(&text).len(), 1);
    let w = warnings(&text.replacen("replicas = 2", "replicas = 2\nnode_pools = [\"big\"]", 1));
    assert!(w.is_empty(), "{w:#?}");
}

#[test]
fn replicas_that_cannot_spread_or_fit() {
    assert_eq!(
        one_warning(&BASE.replacen("count = 2", "count = 1", 1)),
        "key `workload.web.replicas`: all 2 replicas run on one node, the only node of node pool \"pool\""
    );
    assert_eq!(
        one_warning(&BASE.replacen("count = 2", "count = 0", 1)),
        "key `workload.web.replicas`: no node to run on: node pool \"pool\" has count = 0"
    );
    let w = one_warning(&BASE.replacen("replicas = 2", "replicas = 5", 1).replacen(
        "count = 2",
        "count = 2\nmax_pods = 2",
        1,
    ));
    assert!(w.starts_with("key `workload.web.replicas`: only 4 of the 5 replicas fit on the 2 nodes"), "{w}");
    // A daemonset takes a pod of every node.
    let daemons = BASE.replacen("count = 2", "count = 2\nmax_pods = 2", 1).replacen(
        "[[workload]]",
        "[[workload]]\nname = \"agent\"\nkind = \"daemonset\"\n[workload.pod]\ncontainers = [ { image = \"registry.example/app:v1\" } ]\n\n[[workload]]",
        1,
    );
    assert!(warnings(&daemons).is_empty());
    let w = one_warning(&daemons.replacen("replicas = 2", "replicas = 3", 1));
    assert!(w.contains("only 2 of the 3 replicas fit"), "{w}");
}

#[test]
fn what_happens_after_the_end_of_the_run() {
    let text = BASE
        .replacen("seed = 1", "seed = 1\nuntil = \"1h\"", 1)
        .replacen(
            "replicas = 2",
            "replicas = 2\nupdate = { at = \"1h\", image = \"registry.example/app:v1\" }",
            1,
        )
        .replacen("count = 2", "count = 2\njoin = { at = \"30m\", every = \"1h\" }", 1)
        .replacen(
            "latency = \"10ms\"",
            "latency = \"10ms\"\noutages = [ { from = \"2h\", to = \"3h\" } ]",
            1,
        );
    assert_eq!(
        warnings(&text),
        [
            "key `workload.web.update.at`: the update is at 1.00h, at or after the end of the run (1.00h, \
             `simulation.until`): it never happens",
            "key `node_pool.pool.join.every`: the last of the 2 nodes would join at 1.50h, at or after the end \
             of the run (1.00h, `simulation.until`): only 1 join before it",
            "key `registry.registry.example.outages[0].from`: the outage starts at 2.00h, at or after the end of \
             the run (1.00h, `simulation.until`): it never happens",
        ]
    );
    let late = BASE.replacen("seed = 1", "seed = 1\nuntil = \"1h\"", 1).replacen(
        "replicas = 2",
        "replicas = 2\nstart = \"90m\"",
        1,
    );
    assert!(one_warning(&late).starts_with("key `workload.web.start`: starts at 1.50h"));
}

#[test]
fn an_image_for_no_architecture_that_runs_it() {
    let text = BASE.replacen("layers = [", "platforms = [\"arm64\"]\nlayers = [", 1);
    assert_eq!(
        one_warning(&text),
        "key `image.registry.example/app:v1.platforms`: image \"registry.example/app:v1\" has no manifest for \
         amd64 (the architecture of every node pool workload \"web\" may run on): every pull of it fails"
    );
    assert!(warnings(&BASE.replacen("layers = [", "platforms = [\"arm64\", \"amd64\"]\nlayers = [", 1))
        .is_empty());
}

#[test]
fn what_validation_noted_comes_first() {
    let text = BASE
        .replacen("replicas = 2", "replicas = 2\nrollout = { max_surge = 1, max_unavailable = \"0\" }", 1)
        .replacen("count = 2", "count = 1", 1);
    let ws = warnings(&text);
    assert_eq!(ws.len(), 2, "{ws:#?}");
    assert!(
        ws[0].starts_with("key `workload.web.rollout.max_unavailable`: \"0\" is a string without `%`"),
        "{ws:#?}"
    );
}
