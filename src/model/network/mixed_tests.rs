//! Hand-computed cases of the mixed regime: registry downloads on the clocks with a binding
//! node in S, downloads from a peer whose nodes join S clocked and leave it again, and a
//! clocked node that binds its registry download and becomes exact.

use super::*;
use crate::ids::{LayerId, PullId};

const MB: u64 = 1_000_000;

fn owner(i: u32) -> FlowOwner {
    FlowOwner { pull: PullId(i), layer: LayerId(i) }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b
}

/// `t` within a nanosecond of `secs` seconds (completion times are rounded up).
fn at(t: SimTime, secs: f64) -> bool {
    t.0.abs_diff((secs * 1e9).round() as u64) <= 1
}

#[test]
fn mixed_regime_hand_computed() {
    // Registry 100 MB/s, cap 1 GB/s; node 0 has 10 MB/s, nodes 1..=5 1 GB/s.
    let mut n = Network::new(&[10e6, 1e9, 1e9, 1e9, 1e9, 1e9], &[100e6]);
    let fast: Vec<FlowId> =
        (1..=5).map(|i| n.add_flow(SimTime::ZERO, i, 0, 1e9, 100 * MB, owner(i as u32))).collect();
    assert!(n.is_closed_form());
    let slow: Vec<FlowId> =
        (0..3).map(|i| n.add_flow(SimTime::ZERO, 0, 0, 1e9, 10 * MB, owner(10 + i))).collect();
    // Node 0 binds (10/3 MB/s per flow), the registry too: the rest share 90 MB/s.
    assert!(n.is_mixed());
    for id in &slow {
        assert!(close(n.rate_of(*id).unwrap(), 10e6 / 3.0));
    }
    for id in &fast {
        assert!(close(n.rate_of(*id).unwrap(), 18e6));
    }
    assert!(close(n.registry_egress_bytes_per_s(0), 100e6));
    // Node 0's flows finish together at 3 s; then the closed form: 20 MB/s each.
    let t = n.next_completion().unwrap();
    assert!(t.0.abs_diff(3_000_000_000) <= 1);
    assert_eq!(n.take_completed(t).len(), 3);
    assert!(n.is_closed_form());
    assert_eq!(n.rate_of(fast[0]), Some(20e6));
}

#[test]
fn peer_downloads_join_s_and_leave_it() {
    // Four nodes of 100 MB/s, one registry of 100 MB/s (cap 100 MB/s), one registry download
    // per node: 25 MB/s each, nobody binds, the closed form.
    let mut n = Network::new(&[100e6; 4], &[100e6]);
    let sizes = [25 * MB, 100 * MB, 100 * MB, 100 * MB];
    let reg: Vec<FlowId> =
        (0..4).map(|i| n.add_flow(SimTime::ZERO, i, 0, 100e6, sizes[i], owner(i as u32))).collect();
    assert!(n.is_closed_form());
    // Nodes 0 and 1 also take a blob from a peer's egress (100 MB/s each, no cap): each gets
    // what its registry download leaves, 75 MB/s, and the registry's flows keep 25 MB/s, on
    // the clock (the two nodes are in S clocked: only their peer downloads are solved).
    let (egress_a, egress_b) = (n.add_link(100e6), n.add_link(100e6));
    let peer0 = n.add_routed_flow(SimTime::ZERO, 0, egress_a, &[], f64::INFINITY, 175 * MB, owner(10));
    let peer1 = n.add_routed_flow(SimTime::ZERO, 1, egress_b, &[], f64::INFINITY, 1000 * MB, owner(11));
    assert!(n.is_mixed());
    assert!(n.mixed.in_s[0] && n.mixed.in_s[1] && !n.mixed.exact[0] && !n.mixed.exact[1]);
    for id in &reg {
        assert!(close(n.rate_of(*id).unwrap(), 25e6));
    }
    assert!(close(n.rate_of(peer0).unwrap(), 75e6) && close(n.rate_of(peer1).unwrap(), 75e6));
    assert!(close(n.link_rate_bytes_per_s(egress_a), 75e6));
    assert!(close(n.registry_egress_bytes_per_s(0), 100e6));
    assert!(close(n.node_ingress_bytes_per_s(0), 100e6));
    // 1 s: node 0's 25 MB are in. The registry's three flows get 100/3 MB/s; node 1's peer
    // download what is left, 200/3; node 0's the whole node, 100 MB/s.
    let t = n.next_completion().unwrap();
    assert!(at(t, 1.0));
    assert_eq!(n.take_completed(t).len(), 1);
    assert!(close(n.rate_of(reg[1]).unwrap(), 100e6 / 3.0));
    assert!(close(n.rate_of(peer1).unwrap(), 200e6 / 3.0));
    assert!(close(n.rate_of(peer0).unwrap(), 100e6));
    // 2 s: node 0's blob (75 MB + 100 MB) is in; node 0 leaves S, node 1 stays.
    let t = n.next_completion().unwrap();
    assert!(at(t, 2.0));
    assert_eq!(n.take_completed(t)[0].owner, owner(10));
    assert!(n.is_mixed() && !n.mixed.in_s[0] && n.mixed.in_s[1]);
    // 3.25 s: the registry downloads (25 MB, then 75 MB at 100/3 MB/s) are in (node 1's from
    // S, the others' from the clock: each within a nanosecond).
    let mut done = 0;
    while done < 3 {
        let t = n.next_completion().unwrap();
        assert!(at(t, 3.25), "{t:?}");
        done += n.take_completed(t).len();
    }
    assert_eq!(done, 3);
    // Node 1's blob: 75 + 2.25 × 200/3 = 225 MB by then, the last 775 MB at 100 MB/s.
    assert!(close(n.rate_of(peer1).unwrap(), 100e6));
    let t = n.next_completion().unwrap();
    assert!(at(t, 11.0), "{t:?}");
    let done = n.take_completed(t);
    assert_eq!((done[0].owner, done[0].bytes), (owner(11), 1000 * MB));
    assert!(n.is_closed_form() && n.n_active() == 0);
    assert!(n.check_capacities().is_ok());
}

#[test]
fn a_clocked_node_that_binds_its_registry_download_becomes_exact() {
    // Node 0 of 80 MB/s, node 1 of 100 MB/s, a registry of 100 MB/s: one download each, 50 MB/s
    // each, the closed form.
    let mut n = Network::new(&[80e6, 100e6], &[100e6]);
    let reg0 = n.add_flow(SimTime::ZERO, 0, 0, 100e6, 1000 * MB, owner(0));
    let reg1 = n.add_flow(SimTime::ZERO, 1, 0, 100e6, 1000 * MB, owner(1));
    assert!(n.is_closed_form());
    // A peer download to node 0 (40 MB from a 100 MB/s egress): node 0 binds at 40 MB/s per
    // flow, below the registry's 50, so its registry download cannot stay on the clock. Max-min:
    // 40 and 40 at node 0, and node 1's download takes the registry's other 60 MB/s.
    let egress = n.add_link(100e6);
    let peer = n.add_routed_flow(SimTime::ZERO, 0, egress, &[], f64::INFINITY, 40 * MB, owner(2));
    assert!(n.is_mixed() && n.mixed.exact[0]);
    assert!(close(n.rate_of(reg0).unwrap(), 40e6) && close(n.rate_of(peer).unwrap(), 40e6));
    assert!(close(n.rate_of(reg1).unwrap(), 60e6));
    assert!(close(n.registry_egress_bytes_per_s(0), 100e6));
    assert!(close(n.node_ingress_bytes_per_s(0), 80e6));
    assert!(n.check_capacities().is_ok());
    // 1 s: the peer download is in; both registry downloads get 50 MB/s. Node 0 has no routed
    // flow left but was loaded at the last solve's rates (80 of 80 MB/s): it stays in S, exact,
    // until the next change finds it loaded to 50.
    let t = n.next_completion().unwrap();
    assert!(at(t, 1.0), "{t:?}");
    assert_eq!(n.take_completed(t)[0].owner, owner(2));
    assert!(n.is_mixed() && n.mixed.exact[0]);
    assert!(close(n.rate_of(reg0).unwrap(), 50e6) && close(n.rate_of(reg1).unwrap(), 50e6));
    // By 1 s node 0's download had 40 MB and node 1's 60 MB. Node 1's other 940 MB take 18.8 s
    // at 50 MB/s; then node 0's last 20 MB (960 - 18.8 × 50) come at its own 80 MB/s, 0.25 s.
    let t = n.next_completion().unwrap();
    assert!(at(t, 19.8), "{t:?}");
    assert_eq!(n.take_completed(t)[0].owner, owner(1));
    assert!(!n.is_mixed() && close(n.rate_of(reg0).unwrap(), 80e6));
    let t = n.next_completion().unwrap();
    assert!(at(t, 20.05), "{t:?}");
    assert_eq!(n.take_completed(t)[0].owner, owner(0));
    assert!(n.check_capacities().is_ok() && n.n_active() == 0);
}
