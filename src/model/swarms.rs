//! Pieces-mode swarms (`[p2p] mode = "pieces"`): which nodes are members of which active
//! swarm, and what each swarm's members and origins can upload, kept up to date change by
//! change so that a change costs the swarms it touches, not every member of every swarm.
//!
//! A swarm's capacity (runtime rules §17) is
//! `origins / active swarms of its registry + Σ holders' shares + (L−1)/L × Σ downloaders'
//! shares`, where a member's share is its `upload` split evenly over the active swarms it is
//! in and L is the number of downloaders. The sums of shares are kept in fixed point
//! (`SHARE_UNIT`): a share is a pure function of (upload, swarms), so adding it and later
//! taking it away leaves the sum exactly where it was, and the capacity never depends on the
//! order of the changes before it. An unlimited share is counted apart (`i128` cannot hold it).

use crate::ids::{LayerId, RegistryId};
use std::collections::BTreeSet;

/// Fixed-point unit of a share: 2^-24 byte/s.
const SHARE_UNIT: f64 = 16_777_216.0;

/// A member's role in a swarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Holder,
    Downloader,
}

/// Sum of shares, in `SHARE_UNIT`s, and how many of them are unlimited.
#[derive(Clone, Copy, Debug, Default)]
struct ShareSum {
    finite: i128,
    unlimited: u32,
}

impl ShareSum {
    fn add(&mut self, share: Share) {
        match share {
            Share::Finite(s) => self.finite += s,
            Share::Unlimited => self.unlimited += 1,
        }
    }

    fn remove(&mut self, share: Share) {
        match share {
            Share::Finite(s) => self.finite -= s,
            Share::Unlimited => self.unlimited -= 1,
        }
    }

    fn bytes_per_s(&self) -> f64 {
        if self.unlimited > 0 {
            f64::INFINITY
        } else {
            self.finite as f64 / SHARE_UNIT
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Share {
    Finite(i128),
    Unlimited,
}

/// One blob's swarm.
#[derive(Clone, Debug)]
struct Swarm {
    link: usize,
    registry: RegistryId,
    /// Nodes downloading the blob from the swarm.
    downloaders: Vec<u32>,
    /// Nodes that hold the blob (downloaded through the swarm), sorted.
    holders: Vec<u32>,
    /// The shares of the members while the swarm is active, by role.
    holder_shares: ShareSum,
    downloader_shares: ShareSum,
    /// The last `Swarms::epoch` this swarm was marked changed in.
    dirty_epoch: u64,
}

impl Swarm {
    fn shares_of(&mut self, role: Role) -> &mut ShareSum {
        match role {
            Role::Holder => &mut self.holder_shares,
            Role::Downloader => &mut self.downloader_shares,
        }
    }

    /// Marks the swarm changed in `epoch`: `true` the first time.
    fn mark(&mut self, epoch: u64) -> bool {
        let first = self.dirty_epoch != epoch;
        self.dirty_epoch = epoch;
        first
    }
}

/// Every swarm of a run, and per node the active swarms (those with a downloader) it is in.
pub(super) struct Swarms {
    /// By layer index.
    swarms: Vec<Option<Swarm>>,
    /// Per node: its memberships of active swarms (a node that holds a blob and downloads it
    /// again is in its swarm twice, once per role).
    active_in: Vec<Vec<(LayerId, Role)>>,
    /// Per registry: its active swarms.
    active: Vec<BTreeSet<LayerId>>,
    /// Per node: its upload, bytes/s.
    upload_bytes_per_s: Vec<f64>,
    /// Per registry: its origins' bandwidth, bytes/s.
    origin_bytes_per_s: Vec<f64>,
    /// The swarms whose capacity changed since the last `take_capacity_changes`.
    dirty: Vec<LayerId>,
    epoch: u64,
}

impl Swarms {
    pub(super) fn new(upload_bytes_per_s: Vec<f64>, origin_bytes_per_s: Vec<f64>) -> Swarms {
        Swarms {
            swarms: Vec::new(),
            active_in: vec![Vec::new(); upload_bytes_per_s.len()],
            active: vec![BTreeSet::new(); origin_bytes_per_s.len()],
            upload_bytes_per_s,
            origin_bytes_per_s,
            dirty: Vec::new(),
            epoch: 1,
        }
    }

    /// The link of `layer`'s swarm, if it has one.
    pub(super) fn link(&self, layer: LayerId) -> Option<usize> {
        self.swarms.get(layer.idx()).and_then(Option::as_ref).map(|s| s.link)
    }

    /// Makes `layer`'s swarm, served by `link` (a network link of the caller's).
    pub(super) fn create(&mut self, layer: LayerId, registry: RegistryId, link: usize) {
        if self.swarms.len() <= layer.idx() {
            self.swarms.resize(layer.idx() + 1, None);
        }
        self.swarms[layer.idx()] = Some(Swarm {
            link,
            registry,
            downloaders: Vec::new(),
            holders: Vec::new(),
            holder_shares: ShareSum::default(),
            downloader_shares: ShareSum::default(),
            dirty_epoch: 0,
        });
    }

    /// `node` starts downloading `layer` from its swarm (made by `create`).
    pub(super) fn join(&mut self, node: u32, layer: LayerId) {
        let swarm = self.swarm_mut(layer);
        swarm.downloaders.push(node);
        if swarm.downloaders.len() == 1 {
            self.set_active(layer, true);
        } else {
            self.enter(node, layer, Role::Downloader);
        }
        self.mark(layer);
    }

    /// `node`'s download from `layer`'s swarm ended: it holds the blob if `completed`, else
    /// it leaves the swarm.
    pub(super) fn leave(&mut self, node: u32, layer: LayerId, completed: bool) {
        let swarm = self.swarm_mut(layer);
        let i = swarm.downloaders.iter().position(|n| *n == node).expect("a downloader");
        swarm.downloaders.remove(i);
        let newly_held = completed && swarm.holders.binary_search(&node).is_err();
        if newly_held {
            let at = swarm.holders.binary_search(&node).unwrap_err();
            swarm.holders.insert(at, node);
        }
        let inactive = swarm.downloaders.is_empty();
        self.mark(layer);
        if newly_held {
            // The same share, counted as a holder's from now on.
            let share = self.share(node, self.active_in[node as usize].len());
            let swarm = self.swarm_mut(layer);
            swarm.downloader_shares.remove(share);
            swarm.holder_shares.add(share);
            let entry = self.active_in[node as usize]
                .iter_mut()
                .find(|e| **e == (layer, Role::Downloader))
                .expect("a downloader's membership");
            entry.1 = Role::Holder;
        } else {
            self.exit(node, layer, Role::Downloader);
        }
        if inactive {
            // Its members' uploads now split over one swarm fewer.
            self.set_active(layer, false);
        }
    }

    /// The new capacities, bytes/s, of the active swarms whose capacity may have changed since
    /// the last call, as (link, capacity) in layer order.
    pub(super) fn take_capacity_changes(&mut self) -> Vec<(usize, f64)> {
        let mut dirty = std::mem::take(&mut self.dirty);
        self.epoch += 1;
        dirty.sort_unstable();
        let changes = dirty
            .iter()
            .filter_map(|layer| {
                let s = self.swarm(*layer);
                (!s.downloaders.is_empty()).then(|| (s.link, self.capacity(s)))
            })
            .collect();
        dirty.clear();
        self.dirty = dirty;
        changes
    }

    fn swarm(&self, layer: LayerId) -> &Swarm {
        self.swarms[layer.idx()].as_ref().expect("a created swarm")
    }

    fn swarm_mut(&mut self, layer: LayerId) -> &mut Swarm {
        self.swarms[layer.idx()].as_mut().expect("a created swarm")
    }

    fn capacity(&self, s: &Swarm) -> f64 {
        let n_active = self.active[s.registry.idx()].len().max(1);
        let origins = self.origin_bytes_per_s[s.registry.idx()] / n_active as f64;
        let l = s.downloaders.len() as f64;
        let from_downloaders = match s.downloader_shares.bytes_per_s() {
            // A lone downloader uploads to nobody.
            _ if l <= 1.0 => 0.0,
            d => d * (l - 1.0) / l,
        };
        let capacity = origins + s.holder_shares.bytes_per_s() + from_downloaders;
        // An origin-less swarm whose only member is its one downloader has nothing to give
        // yet; a tiny capacity (not 0, which links may not have) holds it.
        if capacity > 0.0 {
            capacity
        } else {
            1e-9
        }
    }

    /// `node`'s share when it is in `k` active swarms.
    fn share(&self, node: u32, k: usize) -> Share {
        let upload = self.upload_bytes_per_s[node as usize];
        if upload.is_infinite() {
            Share::Unlimited
        } else {
            Share::Finite((upload / k.max(1) as f64 * SHARE_UNIT).round() as i128)
        }
    }

    fn mark(&mut self, layer: LayerId) {
        let epoch = self.epoch;
        if self.swarm_mut(layer).mark(epoch) {
            self.dirty.push(layer);
        }
    }

    fn sum_of(&mut self, layer: LayerId, role: Role) -> &mut ShareSum {
        self.swarm_mut(layer).shares_of(role)
    }

    /// `node`'s share moves from `old` to `new` in every active swarm it is in.
    fn reshare(&mut self, node: u32, old: Share, new: Share) {
        if old == new {
            return;
        }
        for i in 0..self.active_in[node as usize].len() {
            let (layer, role) = self.active_in[node as usize][i];
            let epoch = self.epoch;
            // `self.swarms` and `self.dirty` borrowed apart (`mark` and `sum_of` take all of
            // `self`): this loop runs once per active swarm of every member whose share moves.
            let s = self.swarms[layer.idx()].as_mut().expect("a created swarm");
            let sum = s.shares_of(role);
            sum.remove(old);
            sum.add(new);
            if s.mark(epoch) {
                self.dirty.push(layer);
            }
        }
    }

    /// `node` becomes a member of active swarm `layer` in `role`.
    fn enter(&mut self, node: u32, layer: LayerId, role: Role) {
        let k = self.active_in[node as usize].len();
        let (old, new) = (self.share(node, k), self.share(node, k + 1));
        self.reshare(node, old, new);
        self.active_in[node as usize].push((layer, role));
        self.sum_of(layer, role).add(new);
    }

    /// `node` stops being a member of active swarm `layer` in `role`.
    fn exit(&mut self, node: u32, layer: LayerId, role: Role) {
        let list = &mut self.active_in[node as usize];
        let i = list.iter().position(|e| *e == (layer, role)).expect("a membership");
        list.remove(i);
        let k = list.len();
        let (old, new) = (self.share(node, k + 1), self.share(node, k));
        self.sum_of(layer, role).remove(old);
        self.reshare(node, old, new);
    }

    /// Swarm `layer` gained its first downloader (`active`) or lost its last: its members
    /// enter or leave it, and its registry's origins split over one swarm more or fewer.
    fn set_active(&mut self, layer: LayerId, active: bool) {
        let s = self.swarm(layer);
        let registry = s.registry;
        let members: Vec<(u32, Role)> = s
            .holders
            .iter()
            .map(|m| (*m, Role::Holder))
            .chain(s.downloaders.iter().map(|m| (*m, Role::Downloader)))
            .collect();
        if active {
            self.active[registry.idx()].insert(layer);
            for (m, role) in members {
                self.enter(m, layer, role);
            }
        } else {
            self.active[registry.idx()].remove(&layer);
            // Only holders are left (the last download has left).
            for (m, role) in members {
                self.exit(m, layer, role);
            }
            let s = self.swarm(layer);
            debug_assert!(s.holder_shares.finite == 0 && s.holder_shares.unlimited == 0);
            debug_assert!(s.downloader_shares.finite == 0 && s.downloader_shares.unlimited == 0);
        }
        let others: Vec<LayerId> = self.active[registry.idx()].iter().copied().collect();
        for l in others {
            self.mark(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: f64 = 1e6;

    fn layer(i: u32) -> LayerId {
        LayerId::from_idx(i as usize)
    }

    /// Three nodes uploading 40 MB/s each, one registry whose origins give 10 MB/s; swarms
    /// for layers 0 and 1 on links 100 and 101.
    fn swarms(upload: f64) -> Swarms {
        let mut s = Swarms::new(vec![upload; 3], vec![10.0 * MB]);
        s.create(layer(0), RegistryId::from_idx(0), 100);
        s.create(layer(1), RegistryId::from_idx(0), 101);
        s
    }

    #[test]
    fn a_swarm_gives_its_origins_its_holders_and_its_other_downloaders() {
        let mut s = swarms(40.0 * MB);
        s.join(0, layer(0));
        // A lone downloader uploads to nobody: the origins only.
        assert_eq!(s.take_capacity_changes(), vec![(100, 10.0 * MB)]);
        s.join(1, layer(0));
        // 10 + (40 + 40) × 1/2.
        assert_eq!(s.take_capacity_changes(), vec![(100, 50.0 * MB)]);
        s.leave(0, layer(0), true);
        // Node 0 now holds it: 10 + 40, node 1 alone downloading.
        assert_eq!(s.take_capacity_changes(), vec![(100, 50.0 * MB)]);
        // Node 1 joins a second swarm: its upload splits over two, the origins too. Layer 0:
        // 5 + 40 (holder) + 0; layer 1: 5 + 0.
        s.join(1, layer(1));
        assert_eq!(s.take_capacity_changes(), vec![(100, 45.0 * MB), (101, 5.0 * MB)]);
        // Node 0 joins layer 1 too: it holds layer 0, so its 40 splits over both swarms.
        // Layer 0: 5 + 20; layer 1: 5 + (20 + 20) × 1/2.
        s.join(0, layer(1));
        assert_eq!(s.take_capacity_changes(), vec![(100, 25.0 * MB), (101, 25.0 * MB)]);
        // Node 0 gives up on layer 1 (an abort): it leaves that swarm, its 40 back to layer 0.
        s.leave(0, layer(1), false);
        assert_eq!(s.take_capacity_changes(), vec![(100, 45.0 * MB), (101, 5.0 * MB)]);
        // Node 1's download of layer 0 ends: that swarm is inactive (no change reported) and
        // layer 1 gets every origin and node 1's upload, but node 1 is its lone downloader.
        s.leave(1, layer(0), true);
        assert_eq!(s.take_capacity_changes(), vec![(101, 10.0 * MB)]);
        // Layer 0 active again with node 2: holders 0 (in one swarm) and 1 (in two).
        s.join(2, layer(0));
        assert_eq!(s.take_capacity_changes(), vec![(100, 5.0 * MB + 40.0 * MB + 20.0 * MB), (101, 5.0 * MB)]);
    }

    #[test]
    fn unlimited_uploads_make_a_swarm_unlimited_but_not_for_a_lone_downloader() {
        let mut s = swarms(f64::INFINITY);
        s.join(0, layer(0));
        assert_eq!(s.take_capacity_changes(), vec![(100, 10.0 * MB)]);
        s.join(1, layer(0));
        assert_eq!(s.take_capacity_changes(), vec![(100, f64::INFINITY)]);
        s.leave(1, layer(0), false);
        assert_eq!(s.take_capacity_changes(), vec![(100, 10.0 * MB)]);
    }

    #[test]
    fn shares_cancel_exactly_whatever_the_order() {
        // Uploads that do not divide evenly: every share rounds, and taking them away again
        // leaves the sums at zero (checked by `set_active` in debug builds) and the capacity
        // where it started.
        let mut s = Swarms::new(vec![1e9 / 3.0, 7e8 / 7.0 + 0.1, 1.0], vec![1.0]);
        for l in 0..3 {
            s.create(layer(l), RegistryId::from_idx(0), 100 + l as usize);
        }
        s.join(0, layer(0));
        let first = s.take_capacity_changes();
        for (n, l) in [(1, 0), (2, 0), (1, 1), (2, 2), (0, 1), (0, 2)] {
            s.join(n, layer(l));
        }
        for (n, l, done) in
            [(2, 2, false), (0, 1, false), (1, 0, false), (0, 2, false), (2, 0, false), (1, 1, false)]
        {
            s.leave(n, layer(l), done);
        }
        let _ = s.take_capacity_changes();
        s.join(1, layer(1));
        s.leave(1, layer(1), false);
        let _ = s.take_capacity_changes();
        // Only node 0's first download is left, in its one swarm.
        s.join(2, layer(2));
        s.leave(2, layer(2), false);
        let again = s.take_capacity_changes();
        // Layer 2's coming and going split the origins two ways and back: layer 0 changed.
        assert_eq!(again, first);
        assert_eq!(s.capacity(s.swarm(layer(0))), first[0].1);
    }
}
