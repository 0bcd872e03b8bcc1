//! Image garbage collection, mirroring `pkg/kubelet/images/image_gc_manager.go`:
//! `imagesInEvictionOrder`, `freeOldImages`, `freeSpace`, `GarbageCollect` and
//! `DeleteUnusedImages`, over image records the caller has brought up to date (what
//! `detectImages` does first in each of them). The runtime's `RemoveImage` and the stats
//! provider's `ImageFsStats` are the caller's (`ImageService`): upstream reads the image
//! filesystem again after the age pass, and what a removal frees depends on the layers other
//! images share, which only the caller knows.

use crate::time::{SimDuration, SimTime};

/// `ImageGCPeriod` in pkg/kubelet/kubelet.go: how often the kubelet runs `GarbageCollect`.
pub const IMAGE_GC_PERIOD: SimDuration = SimDuration::from_secs(300);

/// How often the image GC manager's own loop runs `detectImages` (`Start`: `wait.Until(..., 5 *
/// time.Minute)`), besides the detection each `GarbageCollect` and `DeleteUnusedImages` makes.
pub const DETECT_IMAGES_PERIOD: SimDuration = SimDuration::from_secs(300);

/// `ImageGCPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcPolicy {
    pub high_threshold_percent: u8,
    pub low_threshold_percent: u8,
    pub min_age: SimDuration,
    /// Zero = disabled.
    pub max_age: SimDuration,
}

impl GcPolicy {
    /// Whether `StartGarbageCollection` (pkg/kubelet/kubelet.go) starts the periodic
    /// `GarbageCollect` loop: not when the high threshold is 100 and `imageMaximumGCAge` is 0
    /// ("Disable image GC"). The detection loop and the eviction manager run either way.
    pub fn gc_loop_starts(&self) -> bool {
        !(self.high_threshold_percent == 100 && self.max_age == SimDuration::ZERO)
    }
}

/// One `imageRecord` as `detectImages` left it at the current run, plus whether a container
/// uses the image (`isImageUsed`) and whether the runtime pins it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord<Id> {
    pub id: Id,
    pub size_bytes: u64,
    pub first_detected: SimTime,
    /// `None` = never seen in use (upstream's zero time: older than anything).
    pub last_used: Option<SimTime>,
    pub in_use: bool,
    pub pinned: bool,
}

/// The runtime and stats provider the image GC manager talks to.
pub trait ImageService<Id> {
    /// `ImageFsStats`: (capacity, available) bytes of the image filesystem.
    fn image_fs_stats(&mut self) -> (u64, u64);
    /// `RemoveImage` (the simulated runtime never fails it).
    fn remove_image(&mut self, id: &Id);
}

/// What one `GarbageCollect` run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcOutcome {
    /// Images `freeOldImages` removed (`image_garbage_collected_total{reason="age"}`).
    pub removed_by_age: usize,
    /// Images `freeSpace` removed (`reason="space"`).
    pub removed_by_space: usize,
    /// Whether usage was at or above the high threshold after the age pass.
    pub threshold_pass_ran: bool,
    /// `amountToFree` of the threshold pass (0 when it did not run).
    pub bytes_to_free: u64,
    /// Image sizes `freeSpace` removed (what the runtime reports, shared layers included).
    pub bytes_freed: u64,
    /// `FreeDiskSpaceFailed`: fewer eligible bytes than `amountToFree`.
    pub free_space_failed: bool,
    /// Capacity was 0: `InvalidDiskCapacity`, and nothing after the age pass.
    pub invalid_capacity: bool,
}

/// `usage% = 100 - floor(available*100/capacity)` with available clamped to capacity (upstream
/// integer arithmetic). Capacity 0 is invalid upstream; here it reads as 100 %.
pub fn usage_percent(capacity_bytes: u64, available_bytes: u64) -> u64 {
    if capacity_bytes == 0 {
        return 100;
    }
    let available = available_bytes.min(capacity_bytes);
    100 - (u128::from(available) * 100 / u128::from(capacity_bytes)) as u64
}

/// The available bytes below which usage is at or above `high_threshold_percent`, so that
/// `available < below` ⇔ `usage_percent(capacity, available) >= high` for every `available`
/// up to the capacity: usage ≥ High ⇔ ⌊available·100/capacity⌋ ≤ 100 − High ⇔ available·100 <
/// (101 − High)·capacity ⇔ available < ⌈(101 − High)·capacity / 100⌉. Lets a caller that
/// checks often compare instead of divide.
pub fn high_threshold_available_below(capacity_bytes: u64, high_threshold_percent: u8) -> u64 {
    if capacity_bytes == 0 {
        return u64::MAX;
    }
    let x = u128::from(101 - u64::from(high_threshold_percent.min(100))) * u128::from(capacity_bytes);
    u64::try_from(x.div_ceil(100)).unwrap_or(u64::MAX)
}

/// `amountToFree = capacity*(100-Low)/100 - available` (integer arithmetic; may be ≤ 0, then 0).
pub fn bytes_to_free(capacity_bytes: u64, available_bytes: u64, low_threshold_percent: u8) -> u64 {
    let available = available_bytes.min(capacity_bytes);
    let target = u128::from(capacity_bytes) * u128::from(100 - low_threshold_percent.min(100)) / 100;
    target.saturating_sub(u128::from(available)) as u64
}

/// Mirrors `imagesInEvictionOrder` after its `detectImages`: images neither in use nor pinned,
/// by `lastUsed` ascending (never-used first), ties by `firstDetected` ascending; remaining ties
/// keep input order (a stable sort; upstream's map order is random there).
pub fn eviction_order<Id>(records: &[ImageRecord<Id>]) -> Vec<&ImageRecord<Id>> {
    let mut c: Vec<&ImageRecord<Id>> = records.iter().filter(|r| !r.in_use && !r.pinned).collect();
    c.sort_by_key(|r| (r.last_used, r.first_detected));
    c
}

/// Mirrors `freeOldImages`: with `MaxAge > 0` and the GC loop running for longer than MaxAge
/// (`freeTime - beganGC > MaxAge`; upstream waits so that it does not delete images it has not
/// yet seen used), removes every candidate with `freeTime - lastUsed > MaxAge` (never-used
/// images qualify; MinAge is not checked). Returns the candidates left and how many went.
pub fn free_old_images<'r, Id>(
    images: Vec<&'r ImageRecord<Id>>,
    policy: &GcPolicy,
    free_time: SimTime,
    began_gc: SimTime,
    svc: &mut impl ImageService<Id>,
) -> (Vec<&'r ImageRecord<Id>>, usize) {
    if policy.max_age == SimDuration::ZERO || free_time.since(began_gc) <= policy.max_age {
        return (images, 0);
    }
    let mut removed = 0;
    let mut remaining = Vec::with_capacity(images.len());
    for image in images {
        // A zero lastUsed (never used) is older than any max age.
        if image.last_used.is_none_or(|t| free_time.since(t) > policy.max_age) {
            svc.remove_image(&image.id);
            removed += 1;
        } else {
            remaining.push(image);
        }
    }
    (remaining, removed)
}

/// Mirrors `freeSpace`: walks `images` (in eviction order), skipping images used at or after
/// `freeTime` and images first detected less than MinAge ago; removes each other one and adds
/// its size; stops as soon as the sum reaches `bytes_to_free` (checked after each removal).
/// Returns (bytes freed, images removed).
pub fn free_space<Id>(
    images: &[&ImageRecord<Id>],
    bytes_to_free: u64,
    policy: &GcPolicy,
    free_time: SimTime,
    svc: &mut impl ImageService<Id>,
) -> (u64, usize) {
    let mut freed = 0u64;
    let mut removed = 0;
    for image in images {
        // "Images that are currently in used were given a newer lastUsed."
        if image.last_used.is_some_and(|t| t >= free_time) {
            continue;
        }
        // "the image may have just been pulled down, and will be used by a container right away"
        if free_time.since(image.first_detected) < policy.min_age {
            continue;
        }
        svc.remove_image(&image.id);
        removed += 1;
        freed = freed.saturating_add(image.size_bytes);
        if freed >= bytes_to_free {
            break;
        }
    }
    (freed, removed)
}

/// Mirrors `GarbageCollect(ctx, beganGC)` at `free_time`, `records` being what `detectImages`
/// found at `free_time`:
///
/// 1. candidates in eviction order (`imagesInEvictionOrder`);
/// 2. the age pass (`freeOldImages`);
/// 3. the image filesystem's stats, read after the age pass; capacity 0 → `InvalidDiskCapacity`;
/// 4. if `usage% >= High`: `freeSpace(amountToFree)` over the candidates the age pass left,
///    and `FreeDiskSpaceFailed` when it freed less than `amountToFree`.
pub fn garbage_collect<Id>(
    records: &[ImageRecord<Id>],
    policy: &GcPolicy,
    free_time: SimTime,
    began_gc: SimTime,
    svc: &mut impl ImageService<Id>,
) -> GcOutcome {
    let mut out = GcOutcome::default();
    let (candidates, by_age) = free_old_images(eviction_order(records), policy, free_time, began_gc, svc);
    out.removed_by_age = by_age;
    let (capacity, available) = svc.image_fs_stats();
    let available = available.min(capacity);
    if capacity == 0 {
        out.invalid_capacity = true;
        return out;
    }
    if usage_percent(capacity, available) < u64::from(policy.high_threshold_percent) {
        return out;
    }
    out.threshold_pass_ran = true;
    out.bytes_to_free = bytes_to_free(capacity, available, policy.low_threshold_percent);
    let (freed, removed) = free_space(&candidates, out.bytes_to_free, policy, free_time, svc);
    out.bytes_freed = freed;
    out.removed_by_space = removed;
    out.free_space_failed = freed < out.bytes_to_free;
    out
}

/// Mirrors `DeleteUnusedImages` (what the eviction manager's `reclaimNodeLevelResources` calls
/// under disk pressure): `freeSpace(math.MaxInt64)` over every candidate, so every image not in
/// use, not pinned and past MinAge goes. Returns how many were removed.
pub fn delete_unused_images<Id>(
    records: &[ImageRecord<Id>],
    policy: &GcPolicy,
    free_time: SimTime,
    svc: &mut impl ImageService<Id>,
) -> usize {
    free_space(&eviction_order(records), u64::MAX, policy, free_time, svc).1
}
