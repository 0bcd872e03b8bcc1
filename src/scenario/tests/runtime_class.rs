//! `workload.runtime_class` and `node_pool.runtime_classes`: a class restricts the pools a
//! workload's pods may run on, as the RuntimeClass admission controller merges the class's node
//! selector into the pod's.

use super::*;

/// BASE with a second pool, `sandboxed`, and `runtime_classes` lines filled in.
fn two_pools(pool: &str, sandboxed: &str, workload: &str) -> String {
    BASE.replacen("disk = \"100GiB\"\n", &format!("disk = \"100GiB\"\n{pool}\n"), 1)
        .replacen(
            "[[registry]]",
            &format!("[[node_pool]]\nname = \"sandboxed\"\ncount = 3\n{sandboxed}\n\n[[registry]]"),
            1,
        )
        .replacen("kind = \"deployment\"\n", &format!("kind = \"deployment\"\n{workload}\n"), 1)
}

fn web(s: &Scenario) -> &WorkloadSpec {
    s.workloads.iter().find(|w| w.name == "web").unwrap()
}

fn error_of(text: &str) -> String {
    match load(text, "t.toml", &[]) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_class_no_pool_lists_runs_anywhere() {
    // The contract's example names runc with no pool listing classes: every pool accepts it.
    let s = ok(&two_pools("", "", "runtime_class = \"runc\""));
    assert_eq!(web(&s).runtime_class.as_deref(), Some("runc"));
    assert_eq!(web(&s).node_pools, None);
    assert_eq!(s.node_pools[0].runtime_classes, None);
}

#[test]
fn a_class_narrows_the_pools() {
    let text = two_pools(
        "runtime_classes = [\"runc\"]",
        "runtime_classes = [\"runc\", \"gvisor\"]",
        "runtime_class = \"gvisor\"",
    );
    let s = ok(&text);
    assert_eq!(web(&s).node_pools, Some(vec![PoolId::from_idx(1)]));
    assert_eq!(
        s.node_pools[1].runtime_classes.as_deref(),
        Some(&["runc".to_string(), "gvisor".to_string()][..])
    );
    // A class every eligible pool offers leaves the workload as written.
    let s = ok(&two_pools("runtime_classes = [\"runc\"]", "", "runtime_class = \"runc\""));
    assert_eq!(web(&s).node_pools, None);
    // Within the workload's own node_pools.
    let s = ok(&two_pools(
        "",
        "runtime_classes = [\"kata\"]",
        "runtime_class = \"runc\"\nnode_pools = [\"pool\", \"sandboxed\"]",
    ));
    assert_eq!(web(&s).node_pools, Some(vec![PoolId::from_idx(0)]));
}

#[test]
fn a_class_nobody_offers_is_an_error() {
    let e = error_of(&two_pools(
        "runtime_classes = [\"runc\"]",
        "runtime_classes = [\"gvisor\"]",
        "runtime_class = \"kata\"",
    ));
    assert!(e.contains("key `workload.web.runtime_class`"), "{e}");
    assert!(e.contains("no node pool offers RuntimeClass \"kata\" (offered: gvisor, runc)"), "{e}");
    let e = error_of(&two_pools(
        "runtime_classes = [\"runc\"]",
        "runtime_classes = [\"gvisor\"]",
        "runtime_class = \"gvisor\"\nnode_pools = [\"pool\"]",
    ));
    assert!(e.contains("none of the workload's node_pools offers RuntimeClass \"gvisor\""), "{e}");
}

#[test]
fn names_are_checked() {
    let e = error_of(&two_pools("", "", "runtime_class = \"GVisor\""));
    assert!(e.contains("\"GVisor\" is not a RuntimeClass name"), "{e}");
    let e = error_of(&two_pools("runtime_classes = []", "", ""));
    assert!(e.contains("must list at least one RuntimeClass"), "{e}");
    let e = error_of(&two_pools("runtime_classes = [\"runc\", \"runc\"]", "", ""));
    assert!(e.contains("\"runc\" is listed twice"), "{e}");
}
