//! Which of the kubelet's periodic runs on a node can change anything, and the image records
//! the others would have kept, computed without running them.
//!
//! From its start (the node's join) the kubelet runs `detectImages` every 5 minutes (the image
//! GC manager's own loop), `GarbageCollect` every 5 minutes (`ImageGCPeriod`), and the eviction
//! manager's `synchronize` every 10 seconds, which calls `DeleteUnusedImages` while
//! `imagefs.available` is below its threshold. `GarbageCollect` and `DeleteUnusedImages` detect
//! images first. Running all of them would cost every node an event every 10 seconds for the
//! whole run. A run that removes nothing and records nothing only updates the image records,
//! and those follow from when each image appeared and was in use and from the set D of the
//! times a detection ran:
//!
//! - D = the 5-minute ticks (each one detects) ∪ the 10-second ticks at which the eviction
//!   threshold was met ("pressure ticks", kept as runs of consecutive ticks);
//! - `firstDetected` = the first time in D at or after the image appeared (`detect_from`);
//! - `lastUsed` = the last time in D within a stretch of use; a stretch (a, b] runs from the
//!   first container of the image starting at a to the last one going at b (a tick at T sees
//!   the image in use iff a < T ≤ b).
//!
//! So only the ticks at which a run can remove an image or record `FreeDiskSpaceFailed` are run
//! (`next_tick`):
//!
//! - every 5-minute tick while usage is at or above the high threshold (`freeSpace` frees
//!   space, or the shortfall is recorded);
//! - the first 5-minute tick at which the age pass removes an unused image (its `lastUsed`
//!   older than MaxAge, and the kubelet up for longer than MaxAge);
//! - the first pressure tick at which an unused image is past MinAge (`DeleteUnusedImages`).
//!
//! Whatever can make one of these earlier (usage reaching the threshold, pressure starting, an
//! image appearing or falling out of use) asks `next_tick` again. Running a tick that turns out
//! to do nothing is harmless: it does what the kubelet does then. `tests.rs` checks the
//! removals against a kubelet that runs every tick.
//!
//! Order within an instant: a tick at T sees every change before T and none at T (the kubelet
//! ran just before), except a node's join: the tick at the join sees the preloaded images and
//! their disk (the kubelet starts on a node that has them). At a tick that is both,
//! `GarbageCollect` runs before the eviction manager looks.

use crate::k8s::eviction::{threshold_met, threshold_quantity, ThresholdValue, EVICTION_MONITORING_PERIOD};
use crate::k8s::gc::{
    delete_unused_images, garbage_collect, high_threshold_available_below, GcPolicy, ImageRecord,
    ImageService, DETECT_IMAGES_PERIOD, IMAGE_GC_PERIOD,
};
use crate::time::{MaybeTime, SimDuration, SimTime};

/// The grids are nested: every detection and GC tick is also an eviction tick, and the
/// detection loop and the GC loop tick together (both start with the kubelet).
const _: () = assert!(
    IMAGE_GC_PERIOD.0 == DETECT_IMAGES_PERIOD.0 && IMAGE_GC_PERIOD.0 % EVICTION_MONITORING_PERIOD.0 == 0
);

/// A change at `now` is first seen by the tick after `now`: the tick at `now` ran before it.
pub(in crate::model) fn after(now: SimTime) -> SimTime {
    now.plus(SimDuration(1))
}

/// The kubelet's `imageRecord` of one image copy, kept lazily (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::model) struct GcRecord {
    /// The image is first detected by the first detection at or after this.
    detect_from: SimTime,
    /// When the current stretch of use began (meaningful while `in_use > 0`).
    used_from: SimTime,
    /// `lastUsed` from the stretches of use that have ended (`NOT_YET`: never seen in use).
    last_used: MaybeTime,
    /// Containers of this image the runtime has (being created, running or exited).
    in_use: u32,
}

impl GcRecord {
    /// An image that appeared at `now` (a pull finished).
    pub(in crate::model) fn appeared(now: SimTime) -> GcRecord {
        GcRecord { detect_from: after(now), used_from: now, last_used: MaybeTime::NOT_YET, in_use: 0 }
    }

    /// An image on a node as it joins at `now`: the kubelet's first detection sees it.
    pub(in crate::model) fn preloaded(now: SimTime) -> GcRecord {
        GcRecord { detect_from: now, used_from: now, last_used: MaybeTime::NOT_YET, in_use: 0 }
    }

    pub(in crate::model) fn in_use(&self) -> u32 {
        self.in_use
    }

    /// A container of the image was created at `now`.
    pub(in crate::model) fn use_started(&mut self, now: SimTime) {
        if self.in_use == 0 {
            self.used_from = now;
        }
        self.in_use += 1;
    }
}

/// The kubelet's image GC and eviction state on one node, and its timer.
#[derive(Clone, Debug)]
pub(in crate::model) struct NodeGc {
    policy: GcPolicy,
    /// `StartGarbageCollection` started the GC loop.
    gc_loop: bool,
    /// When the kubelet started (the node's join): the origin of every tick, and `beganGC`.
    started: SimTime,
    /// Usage is at or above the high threshold iff fewer bytes than this are available.
    high_below: u64,
    /// The eviction threshold in bytes (0: none): met iff fewer bytes are available.
    evict_below: u64,
    /// Usage at or above the high threshold after the last change.
    over_high: bool,
    /// Runs of pressure ticks that have ended, `(first, last)`, in time order.
    runs: Vec<(SimTime, SimTime)>,
    /// The first tick of the run under way: the threshold is met now.
    open_run: Option<SimTime>,
    /// The tick the node's timer is set for, and the timer's generation (a timer replaced by
    /// an earlier one still fires, and is then stale).
    timer_at: MaybeTime,
    timer_gen: u32,
}

impl NodeGc {
    pub(in crate::model) fn new(
        policy: GcPolicy,
        started: SimTime,
        capacity_bytes: u64,
        eviction: Option<ThresholdValue>,
    ) -> NodeGc {
        NodeGc {
            policy,
            gc_loop: policy.gc_loop_starts(),
            started,
            high_below: high_threshold_available_below(capacity_bytes, policy.high_threshold_percent),
            evict_below: eviction.map_or(0, |v| threshold_quantity(v, capacity_bytes)),
            over_high: false,
            runs: Vec::new(),
            open_run: None,
            timer_at: MaybeTime::NOT_YET,
            timer_gen: 0,
        }
    }

    /// Whether `available` bytes change what the last `note_disk` saw (cheap: the common case
    /// of a disk change is that nothing crosses a threshold).
    pub(in crate::model) fn crosses(&self, available: u64) -> bool {
        (available < self.high_below) != self.over_high
            || threshold_met(self.evict_below, available) != self.open_run.is_some()
    }

    /// Whether an unused image can be due for removal with usage below the high threshold:
    /// the age pass is on, or the eviction threshold is met.
    pub(in crate::model) fn watches_unused_images(&self) -> bool {
        (self.gc_loop && self.policy.max_age > SimDuration::ZERO) || self.open_run.is_some()
    }

    /// Sets the timer for `t` unless it is set for `t` or earlier; the new timer's generation.
    pub(in crate::model) fn set_timer_if_sooner(&mut self, t: SimTime) -> Option<u32> {
        if self.timer_at.get().is_some_and(|at| at <= t) {
            return None;
        }
        self.timer_gen = self.timer_gen.wrapping_add(1);
        self.timer_at.set(t);
        Some(self.timer_gen)
    }

    pub(in crate::model) fn is_current_timer(&self, generation: u32) -> bool {
        generation == self.timer_gen && self.timer_at.get().is_some()
    }

    /// The timer of `generation` fires: false when it is stale.
    pub(in crate::model) fn timer_fired(&mut self, generation: u32) -> bool {
        if !self.is_current_timer(generation) {
            return false;
        }
        self.timer_at = MaybeTime::NOT_YET;
        true
    }

    pub(in crate::model) fn timer(&self) -> Option<SimTime> {
        self.timer_at.get()
    }

    /// The state `note_disk` keeps agrees with `available` (invariant checks).
    pub(in crate::model) fn check(&self, available: u64) -> Result<(), String> {
        if self.crosses(available) {
            return Err(format!(
                "GC state (over high {}, pressure {}) is stale for {available} bytes available",
                self.over_high,
                self.open_run.is_some()
            ));
        }
        Ok(())
    }

    /// The first tick of `period` at or after `t` (ticks are `started + k·period`, k ≥ 0).
    fn tick_at_or_after(&self, period: SimDuration, t: SimTime) -> SimTime {
        let since = t.since(self.started).0;
        self.started.plus(SimDuration(since.div_ceil(period.0).saturating_mul(period.0)))
    }

    /// The last tick of `period` at or before `t`.
    fn tick_at_or_before(&self, period: SimDuration, t: SimTime) -> Option<SimTime> {
        (t >= self.started).then(|| {
            let since = t.since(self.started).0;
            self.started.plus(SimDuration(since / period.0 * period.0))
        })
    }

    fn is_tick(&self, period: SimDuration, t: SimTime) -> bool {
        t >= self.started && t.since(self.started).0 % period.0 == 0
    }

    /// `firstDetected` of an image with `detect_from`: the first detection at or after it,
    /// the run under way counted as if it went on.
    fn first_detection(&self, from: SimTime) -> SimTime {
        let on_grid = self.tick_at_or_after(DETECT_IMAGES_PERIOD, from);
        let ten = self.tick_at_or_after(EVICTION_MONITORING_PERIOD, from);
        // The first run that ends at or after `from` has the first pressure tick from there.
        let k = self.runs.partition_point(|&(_, last)| last < from);
        let pressure = match self.runs.get(k) {
            Some(&(first, _)) => Some(first.max(ten)),
            None => self.open_run.map(|first| first.max(ten)),
        };
        pressure.map_or(on_grid, |p| p.min(on_grid))
    }

    /// The last detection in (a, b], b not later than now.
    fn last_detection_in(&self, a: SimTime, b: SimTime) -> Option<SimTime> {
        let on_grid = self.tick_at_or_before(DETECT_IMAGES_PERIOD, b);
        let pressure =
            self.tick_at_or_before(EVICTION_MONITORING_PERIOD, b).and_then(|ten| match self.open_run {
                Some(first) if first <= ten => Some(ten),
                _ => {
                    let k = self.runs.partition_point(|&(first, _)| first <= ten);
                    k.checked_sub(1).map(|k| self.runs[k].1.min(ten))
                }
            });
        on_grid.max(pressure).filter(|t| *t > a)
    }

    /// The last container of an image in use went at `now`; true when it was the last one
    /// (the image is no longer in use).
    pub(in crate::model) fn use_ended(&self, r: &mut GcRecord, now: SimTime) -> bool {
        assert!(r.in_use > 0, "a container of an image not in use went");
        r.in_use -= 1;
        if r.in_use > 0 {
            return false;
        }
        if let Some(t) = self.last_detection_in(r.used_from, now) {
            if r.last_used.get().is_none_or(|u| u < t) {
                r.last_used.set(t);
            }
        }
        true
    }

    #[cfg(test)]
    pub(super) fn image_record_for_test(&self, r: &GcRecord, now: SimTime) -> ImageRecord<()> {
        self.image_record((), 0, r, now)
    }

    /// The record as `detectImages` at `now` (a detection time) leaves it.
    fn image_record<K>(&self, id: K, size_bytes: u64, r: &GcRecord, now: SimTime) -> ImageRecord<K> {
        let first_detected = self.first_detection(r.detect_from);
        debug_assert!(first_detected <= now, "a present image is detected by the time of a run");
        let in_use = r.in_use > 0;
        ImageRecord {
            id,
            size_bytes,
            first_detected,
            // `detectImages` sets lastUsed to its own time for an image in use.
            last_used: if in_use { Some(now) } else { r.last_used.get() },
            in_use,
            pinned: false,
        }
    }
}

/// A node as the GC logic reads it.
pub(in crate::model) trait GcNode {
    type Key: Copy;
    fn gc(&self) -> &NodeGc;
    /// Calls `f` with every image copy on the node: its key, its size as the runtime reports
    /// it (all its layers), its record. Always in the same order (ties of the eviction order
    /// keep it).
    fn for_each_image(&self, f: &mut dyn FnMut(Self::Key, u64, &GcRecord));
    fn capacity(&self) -> u64;
    fn available(&self) -> u64;
}

/// A node as the GC logic changes it.
pub(in crate::model) trait GcNodeMut: GcNode {
    fn gc_mut(&mut self) -> &mut NodeGc;
    /// Removes an image copy: its record, and its layers nothing else on the node holds.
    fn remove_image(&mut self, key: Self::Key);
}

/// After the image filesystem changed, `first_tick` being the first tick that sees the change
/// (`after(now)`, or the join itself): keeps the high-threshold flag and the pressure runs.
/// True when a run may now be due sooner (`next_tick` should be asked again).
pub(in crate::model) fn note_disk<N: GcNodeMut>(n: &mut N, first_tick: SimTime) -> bool {
    let available = n.available();
    let g = n.gc_mut();
    let mut sooner = false;
    let over_high = available < g.high_below;
    if over_high != g.over_high {
        g.over_high = over_high;
        sooner |= over_high;
    }
    match (threshold_met(g.evict_below, available), g.open_run) {
        (true, None) => {
            g.open_run = Some(g.tick_at_or_after(EVICTION_MONITORING_PERIOD, first_tick));
            sooner = true;
        }
        (false, Some(first)) => {
            // The ticks before `first_tick` still saw the threshold met.
            let last = first_tick
                .0
                .checked_sub(1)
                .and_then(|t| g.tick_at_or_before(EVICTION_MONITORING_PERIOD, SimTime(t)));
            if let Some(last) = last.filter(|l| *l >= first) {
                g.runs.push((first, last));
            }
            g.open_run = None;
        }
        _ => {}
    }
    sooner
}

/// The first tick at or after `first_tick` at which a run can remove an image or record
/// `FreeDiskSpaceFailed` if nothing else changes before it; `None` when none can.
pub(in crate::model) fn next_tick<N: GcNode>(n: &N, first_tick: SimTime) -> Option<SimTime> {
    let g = n.gc();
    let p = &g.policy;
    let mut best: Option<SimTime> = None;
    let mut consider = |t: SimTime| best = Some(best.map_or(t, |b: SimTime| b.min(t)));
    if g.gc_loop && g.over_high {
        // The threshold pass frees space, or records the shortfall.
        consider(g.tick_at_or_after(IMAGE_GC_PERIOD, first_tick));
    }
    let age_pass = g.gc_loop && p.max_age > SimDuration::ZERO;
    if age_pass || g.open_run.is_some() {
        n.for_each_image(&mut |_, _, r| {
            if r.in_use > 0 {
                return;
            }
            if age_pass {
                // `freeOldImages`: now - beganGC > MaxAge and now - lastUsed > MaxAge.
                let old_after = r.last_used.get().map_or(g.started, |u| u.max(g.started)).plus(p.max_age);
                consider(g.tick_at_or_after(IMAGE_GC_PERIOD, after(old_after).max(first_tick)));
            }
            if let Some(first) = g.open_run {
                // `DeleteUnusedImages`: past MinAge since it was first detected.
                let old_enough = g.first_detection(r.detect_from).plus(p.min_age);
                consider(
                    g.tick_at_or_after(EVICTION_MONITORING_PERIOD, old_enough.max(first).max(first_tick)),
                );
            }
        });
    }
    best
}

/// What one tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(in crate::model) struct TickReport {
    /// `GarbageCollect` ran, and how many images it removed (both passes).
    pub gc_ran: bool,
    pub removed_by_gc: usize,
    /// It recorded `FreeDiskSpaceFailed`.
    pub free_space_failed: bool,
    /// The eviction threshold was met, and how many images `DeleteUnusedImages` removed.
    pub eviction_ran: bool,
    pub removed_by_eviction: usize,
}

/// The runtime and stats provider of `k8s::gc`, on a node.
struct Runtime<'n, N>(&'n mut N);

impl<N: GcNodeMut> ImageService<N::Key> for Runtime<'_, N> {
    fn image_fs_stats(&mut self) -> (u64, u64) {
        (self.0.capacity(), self.0.available())
    }

    fn remove_image(&mut self, id: &N::Key) {
        self.0.remove_image(*id);
    }
}

/// The records as a detection at `now` leaves them.
fn records_at<N: GcNode>(n: &N, now: SimTime) -> Vec<ImageRecord<N::Key>> {
    let g = n.gc();
    let mut v = Vec::new();
    n.for_each_image(&mut |key, size, r| v.push(g.image_record(key, size, r, now)));
    v
}

/// The kubelet's runs at tick `now`: `GarbageCollect` at a 5-minute tick, then the eviction
/// manager's reclaim (`DeleteUnusedImages`) if the threshold is met.
pub(in crate::model) fn run_tick<N: GcNodeMut>(n: &mut N, now: SimTime) -> TickReport {
    let mut report = TickReport::default();
    let g = n.gc();
    if g.gc_loop && g.is_tick(IMAGE_GC_PERIOD, now) {
        let (policy, began_gc) = (g.policy, g.started);
        let records = records_at(n, now);
        let out = garbage_collect(&records, &policy, now, began_gc, &mut Runtime(n));
        report.gc_ran = true;
        report.removed_by_gc = out.removed_by_age + out.removed_by_space;
        report.free_space_failed = out.free_space_failed;
        note_disk(n, after(now));
    }
    let g = n.gc();
    if g.is_tick(EVICTION_MONITORING_PERIOD, now) && threshold_met(g.evict_below, n.available()) {
        debug_assert!(g.open_run.is_some_and(|first| first <= now), "a tick under pressure is in the run");
        let policy = g.policy;
        let records = records_at(n, now);
        report.eviction_ran = true;
        report.removed_by_eviction = delete_unused_images(&records, &policy, now, &mut Runtime(n));
        note_disk(n, after(now));
    }
    report
}
