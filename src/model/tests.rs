//! Unit tests of the world's types: sizes and layout, and the kubelet reasons of failures.

use super::*;
use crate::k8s::image_manager::map_pull_error;

#[test]
fn a_pod_is_two_cache_lines_and_an_unbound_pod_has_no_node() {
    // Pods are read on most events: a field more that crosses 128 bytes costs every run a
    // third cache line per pod (see `Pod::bound_node`).
    assert_eq!((std::mem::size_of::<Pod>(), std::mem::align_of::<Pod>()), (128, 64));
    assert_eq!((std::mem::size_of::<Pull>(), std::mem::align_of::<Pull>()), (128, 64));
    let mut p = Pod::new(0, WorkloadId(0), 0, SimTime::ZERO, PodContainers::Many(Vec::new()), 0);
    assert_eq!((p.node(), p.started.get()), (None, None));
    p.bind(NodeId(3));
    assert_eq!(p.node(), Some(NodeId(3)));
}

#[test]
fn pod_names_write_like_display() {
    for index in [0, 7, 10, 99_999, u64::MAX] {
        let n = PodName { workload: "apps-a", index };
        let mut s = String::from(">");
        n.write_into(&mut s);
        assert_eq!(s, format!(">{n}"));
    }
}

/// `kubelet_reason` stands for `map_pull_error` of the full error text, which the run no
/// longer formats: they must agree for every reason, host and image string.
#[test]
fn kubelet_reason_is_what_map_pull_error_gives() {
    let all = [
        FailReason::Transient,
        FailReason::Outage,
        FailReason::RateLimited,
        FailReason::Unauthorized,
        FailReason::Qps,
        FailReason::Platform,
        FailReason::DiskFull,
        FailReason::NotFound,
    ];
    for reason in all {
        for (image, host) in [("nginx", "registry-1.docker.io"), ("RegistryUnavailable", ""), ("a/b:1", "x")]
        {
            let (mapped, _) = map_pull_error(image, &reason.error_text(image, host));
            assert_eq!(mapped, reason.kubelet_reason(), "{reason:?} {image} {host}");
        }
    }
}

#[test]
fn a_node_image_table_entry_is_16_bytes() {
    // The node's image table is probed on every sync: its entries hold only what the sync
    // reads and slot numbers for the rest (`record_slots`, `gc::GcSlots`).
    assert_eq!(std::mem::size_of::<Option<(ImageId, NodeImage)>>(), 16);
}
