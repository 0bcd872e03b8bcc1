//! The tick skipping of `ticks` against a kubelet that runs every tick.
//!
//! The reference (`Naive`) does what the kubelet does: at every 10-second tick from the node's
//! start, and only then, it detects images (every 5 minutes, and whenever the eviction manager
//! reclaims), keeps `firstDetected` and `lastUsed` in its own records, runs `GarbageCollect` at
//! each 5-minute tick and `DeleteUnusedImages` at each tick where `imagefs.available` is below
//! the threshold. It shares with the code under test only the kubelet's rules (`k8s::gc`,
//! `k8s::eviction`) and a toy node: layers (shared between images), pulls that reserve them,
//! containers that start and stop. Random nodes, images, pulls, container lifetimes,
//! thresholds and ages must give the same removals at the same times, and the same count of
//! `FreeDiskSpaceFailed`.

use super::ticks::{after, next_tick, note_disk, run_tick, GcNode, GcNodeMut, GcRecord, NodeGc};
use crate::k8s::eviction::{threshold_met, threshold_quantity, ThresholdValue, EVICTION_MONITORING_PERIOD};
use crate::k8s::gc::{
    delete_unused_images, garbage_collect, GcPolicy, ImageRecord, ImageService, IMAGE_GC_PERIOD,
};
use crate::time::{SimDuration, SimTime};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::collections::{BTreeMap, BTreeSet};

fn s(secs: u64) -> SimTime {
    SimTime::ZERO.plus(SimDuration::from_secs(secs))
}

/// A node's image filesystem: layers shared between images, pulls reserving the layers they
/// download (and keeping every layer of their image while they run, as containerd's leases do).
#[derive(Clone, Debug)]
struct Disk {
    capacity: u64,
    layer_sizes: Vec<u64>,
    image_layers: Vec<Vec<usize>>,
    present: BTreeSet<usize>,
    /// Layer → the pull downloading it.
    reserved: BTreeMap<usize, usize>,
    /// Pull → its image, while it runs.
    active: BTreeMap<usize, usize>,
    images: BTreeSet<usize>,
}

impl Disk {
    fn available(&self) -> u64 {
        let used: u64 = self.present.iter().chain(self.reserved.keys()).map(|l| self.layer_sizes[*l]).sum();
        self.capacity.saturating_sub(used)
    }

    fn size(&self, image: usize) -> u64 {
        self.image_layers[image].iter().map(|l| self.layer_sizes[*l]).sum()
    }

    fn preload(&mut self, image: usize) {
        self.present.extend(self.image_layers[image].iter().copied());
        self.images.insert(image);
    }

    fn reserve(&mut self, pull: usize, image: usize) {
        self.active.insert(pull, image);
        for &l in &self.image_layers[image] {
            if !self.present.contains(&l) && !self.reserved.contains_key(&l) {
                self.reserved.insert(l, pull);
            }
        }
    }

    /// A pull ends; true when it put a new image on the node.
    fn finish(&mut self, pull: usize, ok: bool) -> bool {
        let Some(image) = self.active.remove(&pull) else { return false };
        if !ok {
            self.reserved.retain(|_, p| *p != pull);
            return false;
        }
        for &l in &self.image_layers[image] {
            self.reserved.remove(&l);
            self.present.insert(l);
        }
        self.images.insert(image)
    }

    fn remove(&mut self, image: usize) {
        assert!(self.images.remove(&image), "removed an image that is not there");
        for &l in &self.image_layers[image] {
            let needed =
                self.images.iter().chain(self.active.values()).any(|i| self.image_layers[*i].contains(&l));
            if !needed {
                self.present.remove(&l);
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Reserve { pull: usize, image: usize },
    Finish { pull: usize, ok: bool },
    Start { container: usize, image: usize },
    Stop { container: usize },
}

#[derive(Clone, Debug)]
struct Case {
    started: SimTime,
    horizon: SimTime,
    policy: GcPolicy,
    eviction: Option<ThresholdValue>,
    disk: Disk,
    preloaded: Vec<usize>,
    /// In the order applied (time, then the order generated).
    events: Vec<(SimTime, Ev)>,
}

/// What a kubelet did: every removal (time, image) in order, and `FreeDiskSpaceFailed` count.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    removed: Vec<(SimTime, usize)>,
    free_space_failed: u64,
}

/// The kubelet that runs every tick and keeps its records eagerly.
struct Naive {
    disk: Disk,
    /// `imageRecord`s: first detected, last used.
    records: BTreeMap<usize, (SimTime, Option<SimTime>)>,
    in_use: BTreeMap<usize, u32>,
    containers: BTreeMap<usize, usize>,
    now: SimTime,
    out: Outcome,
}

impl ImageService<usize> for Naive {
    fn image_fs_stats(&mut self) -> (u64, u64) {
        (self.disk.capacity, self.disk.available())
    }
    fn remove_image(&mut self, id: &usize) {
        self.disk.remove(*id);
        self.records.remove(id);
        self.out.removed.push((self.now, *id));
    }
}

impl Naive {
    fn apply(&mut self, ev: Ev) {
        match ev {
            Ev::Reserve { pull, image } => self.disk.reserve(pull, image),
            Ev::Finish { pull, ok } => {
                self.disk.finish(pull, ok);
            }
            Ev::Start { container, image } => {
                if self.disk.images.contains(&image) {
                    self.containers.insert(container, image);
                    *self.in_use.entry(image).or_default() += 1;
                }
            }
            Ev::Stop { container } => {
                if let Some(image) = self.containers.remove(&container) {
                    *self.in_use.get_mut(&image).expect("in use") -= 1;
                }
            }
        }
    }

    fn used(&self, image: usize) -> bool {
        self.in_use.get(&image).is_some_and(|k| *k > 0)
    }

    /// `detectImages` at `now`: records for new images, `lastUsed` for images in use.
    fn detect(&mut self) {
        for &image in &self.disk.images {
            let r = self.records.entry(image).or_insert((self.now, None));
            if self.in_use.get(&image).is_some_and(|k| *k > 0) {
                r.1 = Some(self.now);
            }
        }
    }

    fn image_records(&self) -> Vec<ImageRecord<usize>> {
        self.disk
            .images
            .iter()
            .map(|&image| {
                let (first_detected, last_used) = self.records[&image];
                ImageRecord {
                    id: image,
                    size_bytes: self.disk.size(image),
                    first_detected,
                    last_used,
                    in_use: self.used(image),
                    pinned: false,
                }
            })
            .collect()
    }

    fn new(case: &Case) -> Naive {
        let mut k = Naive {
            disk: case.disk.clone(),
            records: BTreeMap::new(),
            in_use: BTreeMap::new(),
            containers: BTreeMap::new(),
            now: case.started,
            out: Outcome { removed: Vec::new(), free_space_failed: 0 },
        };
        for &image in &case.preloaded {
            k.disk.preload(image);
        }
        k
    }

    /// The kubelet's runs at `tick`, the events before it applied. True when it detected.
    fn tick(&mut self, case: &Case, tick: SimTime) -> bool {
        self.now = tick;
        let mut detected = false;
        if tick.since(case.started).0 % IMAGE_GC_PERIOD.0 == 0 {
            // The detection loop, and `GarbageCollect` (which detects first).
            self.detect();
            detected = true;
            if case.policy.gc_loop_starts() {
                let records = self.image_records();
                let out = garbage_collect(&records, &case.policy, tick, case.started, self);
                self.out.free_space_failed += u64::from(out.free_space_failed);
            }
        }
        let evict_below = case.eviction.map_or(0, |v| threshold_quantity(v, case.disk.capacity));
        if threshold_met(evict_below, self.disk.available()) {
            self.detect();
            detected = true;
            let records = self.image_records();
            delete_unused_images(&records, &case.policy, tick, self);
        }
        detected
    }
}

/// The kubelet under test: `ticks`, driven as `World` drives it.
struct Lazy {
    disk: Disk,
    gc: NodeGc,
    /// The generation of the timer set last.
    timer_gen: u32,
    records: BTreeMap<usize, GcRecord>,
    containers: BTreeMap<usize, usize>,
    now: SimTime,
    out: Outcome,
}

impl GcNode for Lazy {
    type Key = usize;
    fn gc(&self) -> &NodeGc {
        &self.gc
    }
    fn for_each_image(&self, f: &mut dyn FnMut(usize, u64, &GcRecord)) {
        for (&image, r) in &self.records {
            f(image, self.disk.size(image), r);
        }
    }
    fn capacity(&self) -> u64 {
        self.disk.capacity
    }
    fn available(&self) -> u64 {
        self.disk.available()
    }
}

impl GcNodeMut for Lazy {
    fn gc_mut(&mut self) -> &mut NodeGc {
        &mut self.gc
    }
    fn remove_image(&mut self, key: usize) {
        self.disk.remove(key);
        self.records.remove(&key);
        self.out.removed.push((self.now, key));
    }
}

impl Lazy {
    fn reschedule(&mut self, first_tick: SimTime) {
        if let Some(t) = next_tick(self, first_tick) {
            if let Some(generation) = self.gc.set_timer_if_sooner(t) {
                self.timer_gen = generation;
            }
        }
    }

    fn disk_changed(&mut self) {
        if self.gc.crosses(self.disk.available()) && note_disk(self, after(self.now)) {
            self.reschedule(after(self.now));
        }
    }

    fn apply(&mut self, ev: Ev) {
        match ev {
            Ev::Reserve { pull, image } => {
                self.disk.reserve(pull, image);
                self.disk_changed();
            }
            Ev::Finish { pull, ok } => {
                let image = self.disk.active.get(&pull).copied();
                let new = self.disk.finish(pull, ok);
                self.disk_changed();
                if let Some(image) = image.filter(|_| new) {
                    self.records.insert(image, GcRecord::appeared(self.now));
                    if self.gc.watches_unused_images() {
                        self.reschedule(after(self.now));
                    }
                }
            }
            Ev::Start { container, image } => {
                if let Some(r) = self.records.get_mut(&image) {
                    self.containers.insert(container, image);
                    r.use_started(self.now);
                }
            }
            Ev::Stop { container } => {
                if let Some(image) = self.containers.remove(&container) {
                    let r = self.records.get_mut(&image).expect("an image in use stays");
                    if self.gc.use_ended(r, self.now) {
                        self.reschedule(after(self.now));
                    }
                }
            }
        }
    }

    fn fire(&mut self, at: SimTime) {
        assert!(self.gc.timer_fired(self.timer_gen));
        self.now = at;
        let report = run_tick(self, at);
        self.out.free_space_failed += u64::from(report.free_space_failed);
        self.reschedule(after(at));
    }

    fn new(case: &Case) -> Lazy {
        let mut k = Lazy {
            disk: case.disk.clone(),
            gc: NodeGc::new(case.policy, case.started, case.disk.capacity, case.eviction),
            timer_gen: 0,
            records: BTreeMap::new(),
            containers: BTreeMap::new(),
            now: case.started,
            out: Outcome { removed: Vec::new(), free_space_failed: 0 },
        };
        for &image in &case.preloaded {
            k.disk.preload(image);
            k.records.insert(image, GcRecord::preloaded(case.started));
        }
        note_disk(&mut k, case.started);
        k.reschedule(case.started);
        k
    }

    /// Handles the events before `tick` (from `events[*next]` on) and the timers up to
    /// `tick`, in the world's order: a timer before the events of its instant.
    fn advance_to(&mut self, tick: SimTime, events: &[(SimTime, Ev)], next: &mut usize) {
        loop {
            let event = events.get(*next).filter(|(t, _)| *t < tick);
            match (self.gc.timer().filter(|at| *at <= tick), event) {
                (Some(at), Some(&(t, _))) if at <= t => self.fire(at),
                (Some(at), None) => self.fire(at),
                (_, Some(&(t, ev))) => {
                    self.now = t;
                    self.apply(ev);
                    *next += 1;
                }
                (None, None) => return,
            }
        }
    }
}

/// Runs both kubelets in step, tick by tick, up to the horizon: after each tick they have
/// removed the same images and recorded as many shortfalls, and after each tick at which the
/// reference detected images, the records the lazy one derives are the reference's.
fn compare(case: &Case) -> Result<Outcome, TestCaseError> {
    let mut naive = Naive::new(case);
    let mut lazy = Lazy::new(case);
    let (mut next_naive, mut next_lazy) = (0, 0);
    let mut tick = case.started;
    while tick <= case.horizon {
        while let Some(&(_, ev)) = case.events.get(next_naive).filter(|(t, _)| *t < tick) {
            naive.apply(ev);
            next_naive += 1;
        }
        lazy.advance_to(tick, &case.events, &mut next_lazy);
        let detected = naive.tick(case, tick);
        prop_assert_eq!(&lazy.out, &naive.out, "at {}", tick);
        if detected {
            for (image, r) in &lazy.records {
                let got = lazy.gc.image_record_for_test(r, tick);
                let want = naive.records[image];
                prop_assert_eq!((got.first_detected, got.last_used), want, "image {} at {}", image, tick);
            }
        }
        tick = tick.plus(EVICTION_MONITORING_PERIOD);
    }
    Ok(naive.out)
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let layers = prop::collection::vec(1u64..400, 6);
    let images = prop::collection::vec(prop::collection::btree_set(0usize..6, 1..=3), 5);
    let started = prop::sample::select(vec![0u64, 7, 300, 1234]);
    let policy = (1u8..=100, 0u8..100, prop::sample::select(vec![1u64, 10, 60, 120, 300, 600]))
        .prop_flat_map(|(high, low, min_age)| {
            let max_ages = vec![0u64, 0, min_age + 1, 600, 900, 1800, 3600];
            (Just(high), Just(low % high), Just(min_age), prop::sample::select(max_ages))
        })
        .prop_filter("max age above min age", |(_, _, min, max)| *max == 0 || max > min)
        .prop_map(|(high, low, min_age, max_age)| GcPolicy {
            high_threshold_percent: high,
            low_threshold_percent: low,
            min_age: SimDuration::from_secs(min_age),
            max_age: SimDuration::from_secs(max_age),
        });
    let eviction = prop_oneof![
        Just(None),
        (1u32..100).prop_map(|p| Some(ThresholdValue::Percentage(p as f32 / 100.0))),
        (1u64..1500).prop_map(|b| Some(ThresholdValue::Quantity(b))),
    ];
    // Times on a 5-second grid (an hour long), many on the kubelet's ticks, some a nanosecond
    // either side of one.
    let at = (0u64..720, prop::sample::select(vec![0i8, 0, 0, 1, -1]));
    let pulls = prop::collection::vec(
        (0usize..5, at.clone(), prop::sample::select(vec![0u64, 1, 5, 10, 60]), prop::bool::weighted(0.8)),
        0..8,
    );
    let containers = prop::collection::vec((0usize..5, at, prop::option::weighted(0.8, 0u64..360)), 0..10);
    let preloaded = prop::collection::btree_set(0usize..5, 0..=2);
    (started, 100u64..2500, layers, images, preloaded, policy, eviction, pulls, containers).prop_map(
        |(started, capacity, layer_sizes, images, preloaded, policy, eviction, pulls, containers)| {
            let started = s(started);
            let at = |(k, jitter): (u64, i8)| {
                let t = started.plus(SimDuration::from_secs(5 * k));
                match jitter {
                    1 => t.plus(SimDuration(1)),
                    -1 if t > started => SimTime(t.0 - 1),
                    _ => t,
                }
            };
            let mut events: Vec<(SimTime, usize, Ev)> = Vec::new();
            let mut seq = 0;
            let mut push = |events: &mut Vec<(SimTime, usize, Ev)>, t: SimTime, ev: Ev| {
                events.push((t, seq, ev));
                seq += 1;
            };
            for (pull, &(image, r, d, ok)) in pulls.iter().enumerate() {
                push(&mut events, at(r), Ev::Reserve { pull, image });
                push(&mut events, at(r).plus(SimDuration::from_secs(d)), Ev::Finish { pull, ok });
            }
            for (container, &(image, start, run)) in containers.iter().enumerate() {
                push(&mut events, at(start), Ev::Start { container, image });
                if let Some(run) = run {
                    push(&mut events, at((start.0 + run, start.1)), Ev::Stop { container });
                }
            }
            events.sort_by_key(|(t, seq, _)| (*t, *seq));
            Case {
                started,
                horizon: started.plus(SimDuration::from_secs(2 * 3600)),
                policy,
                eviction,
                disk: Disk {
                    capacity,
                    layer_sizes,
                    image_layers: images.into_iter().map(|l| l.into_iter().collect()).collect(),
                    present: BTreeSet::new(),
                    reserved: BTreeMap::new(),
                    active: BTreeMap::new(),
                    images: BTreeSet::new(),
                },
                preloaded: preloaded.into_iter().collect(),
                events: events.into_iter().map(|(t, _, ev)| (t, ev)).collect(),
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn skipping_ticks_removes_what_running_every_tick_removes(case in case_strategy()) {
        compare(&case)?;
    }
}

/// The generator reaches the cases that matter: removals by each path, shortfalls, pressure.
#[test]
fn the_generated_cases_exercise_every_path() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = case_strategy();
    let (mut removing, mut failing, mut evicting, mut aging) = (0, 0, 0, 0);
    for _ in 0..400 {
        let case = strategy.new_tree(&mut runner).expect("case").current();
        let out = compare(&case).expect("the same");
        removing += usize::from(!out.removed.is_empty());
        failing += usize::from(out.free_space_failed > 0);
        evicting += usize::from(case.eviction.is_some() && !out.removed.is_empty());
        aging += usize::from(case.policy.max_age > SimDuration::ZERO && !out.removed.is_empty());
    }
    assert!(
        removing > 100 && failing > 20 && evicting > 40 && aging > 20,
        "{removing} {failing} {evicting} {aging}"
    );
}

/// A node with one image, for the hand-computed cases below.
fn one_image_node(policy: GcPolicy, eviction: Option<ThresholdValue>) -> Lazy {
    Lazy {
        disk: Disk {
            capacity: 1000,
            layer_sizes: vec![100],
            image_layers: vec![vec![0]],
            present: BTreeSet::new(),
            reserved: BTreeMap::new(),
            active: BTreeMap::new(),
            images: BTreeSet::new(),
        },
        gc: NodeGc::new(policy, s(0), 1000, eviction),
        timer_gen: 0,
        records: BTreeMap::new(),
        containers: BTreeMap::new(),
        now: s(0),
        out: Outcome { removed: Vec::new(), free_space_failed: 0 },
    }
}

fn policy(max_age_s: u64) -> GcPolicy {
    GcPolicy {
        high_threshold_percent: 85,
        low_threshold_percent: 80,
        min_age: SimDuration::from_secs(120),
        max_age: SimDuration::from_secs(max_age_s),
    }
}

#[test]
fn an_image_in_use_for_an_hour_was_last_used_at_the_last_detection() {
    // Pulled at 10 s and used from 10 s to 3610 s. Detections every 300 s: the last one in
    // (10, 3610] is 3600. No pressure, so no other detection.
    let k = one_image_node(policy(0), None);
    let mut r = GcRecord::appeared(s(10));
    r.use_started(s(10));
    assert!(k.gc.use_ended(&mut r, s(3610)));
    let rec = k.gc.image_record_for_test(&r, s(3900));
    assert_eq!((rec.first_detected, rec.last_used), (s(300), Some(s(3600))));
    // A stretch that no detection saw leaves lastUsed as it was.
    let mut r2 = r;
    r2.use_started(s(3700));
    assert!(k.gc.use_ended(&mut r2, s(3890)));
    assert_eq!(k.gc.image_record_for_test(&r2, s(3900)).last_used, Some(s(3600)));
    // Ending exactly at a detection counts it (the tick at 3900 ran before the container went).
    let mut r3 = r;
    r3.use_started(s(3700));
    assert!(k.gc.use_ended(&mut r3, s(3900)));
    assert_eq!(k.gc.image_record_for_test(&r3, s(4200)).last_used, Some(s(3900)));
}

#[test]
fn a_stretch_of_use_ending_in_the_first_pressure_tick_counts_it() {
    // Threshold 500 of 1000 bytes; 600 reserved at 42 s: pressure ticks from 50 s. An image
    // in use from 20 s to 50 s (the tick at 50 s ran before the container went) or to 55 s
    // was last used at 50 s; to 49 s, never (no detection in (20, 49]).
    let mut k = one_image_node(policy(0), Some(ThresholdValue::Quantity(500)));
    k.disk.layer_sizes = vec![600];
    note_disk(&mut k, s(0));
    k.now = s(42);
    k.apply(Ev::Reserve { pull: 0, image: 0 });
    for (end, last_used) in [(49, None), (50, Some(s(50))), (55, Some(s(50)))] {
        let mut r = GcRecord::appeared(s(20));
        r.use_started(s(20));
        assert!(k.gc.use_ended(&mut r, s(end)));
        assert_eq!(k.gc.image_record_for_test(&r, s(300)).last_used, last_used, "in use until {end} s");
    }
    // Once the run has ended (a failed pull releases the 600 bytes at 72 s: last pressure
    // tick 70 s), the same from the closed run; and an image appearing at 65 s was first
    // detected at 70 s, one appearing at 75 s at the 5-minute tick.
    k.now = s(72);
    k.apply(Ev::Finish { pull: 0, ok: false });
    let mut r = GcRecord::appeared(s(20));
    r.use_started(s(20));
    assert!(k.gc.use_ended(&mut r, s(80)));
    assert_eq!(k.gc.image_record_for_test(&r, s(300)).last_used, Some(s(70)));
    for (appeared, first) in [(65, s(70)), (75, s(300))] {
        let r = GcRecord::appeared(s(appeared));
        assert_eq!(k.gc.image_record_for_test(&r, s(300)).first_detected, first);
    }
}

#[test]
fn pressure_ticks_are_detections_too() {
    // Threshold 500 bytes of 1000: met once more than 500 are used. A pull reserves 600 at
    // 42 s: pressure from the tick at 50 s. The image appears at 45 s: first detected at 50 s
    // (not 300 s), past MinAge (120 s) at 170 s: `DeleteUnusedImages` removes it at 170 s.
    let mut k = one_image_node(policy(0), Some(ThresholdValue::Quantity(500)));
    k.disk.layer_sizes = vec![600];
    note_disk(&mut k, s(0));
    k.now = s(42);
    k.apply(Ev::Reserve { pull: 0, image: 0 });
    k.now = s(45);
    k.apply(Ev::Finish { pull: 0, ok: true });
    assert_eq!(k.gc.timer(), Some(s(170)));
    k.fire(s(170));
    assert_eq!(k.out.removed, vec![(s(170), 0)]);
    assert_eq!(k.gc.timer(), None, "no pressure any more, nothing left to do");
}
