//! Image garbage collection, mirroring `GarbageCollect` in
//! `pkg/kubelet/images/image_gc_manager.go` (`imagesInEvictionOrder`, `freeOldImages`,
//! `freeSpace`) as a pure plan: which images to remove, and whether enough space was found.

use crate::time::{SimDuration, SimTime};

/// `ImageGCPeriod` in pkg/kubelet/kubelet.go: how often the kubelet runs `GarbageCollect`.
pub const IMAGE_GC_PERIOD: SimDuration = SimDuration::from_secs(300);

/// `ImageGCPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcPolicy {
    pub high_threshold_percent: u8,
    pub low_threshold_percent: u8,
    pub min_age: SimDuration,
    /// Zero = disabled.
    pub max_age: SimDuration,
}

/// One `imageRecord` (plus whether a container uses it and whether it is pinned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord<Id> {
    pub id: Id,
    pub size_bytes: u64,
    pub first_detected: SimTime,
    /// `None` = never used by a container (upstream's zero time: oldest of all).
    pub last_used: Option<SimTime>,
    pub in_use: bool,
    pub pinned: bool,
}

/// What one `GarbageCollect` run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcPlan<Id> {
    /// Images to remove, in removal order (age pass first, then threshold pass).
    pub remove: Vec<Id>,
    /// `amountToFree` of the threshold pass (0 when it did not run).
    pub bytes_to_free: u64,
    /// Bytes freed by the threshold pass.
    pub bytes_freed: u64,
    /// `FreeDiskSpaceFailed`: fewer eligible bytes than needed.
    pub insufficient: bool,
    /// How many of `remove` (a prefix) the MaxAge pass removed.
    pub removed_by_age: usize,
    /// Whether usage reached the high threshold (so the threshold pass ran).
    pub threshold_pass_ran: bool,
    /// Capacity was 0: upstream emits `InvalidDiskCapacity` and returns an error; nothing
    /// beyond the age pass happens.
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

/// `amountToFree = capacity*(100-Low)/100 - available` (integer arithmetic; may be ≤ 0, then 0).
pub fn bytes_to_free(capacity_bytes: u64, available_bytes: u64, low_threshold_percent: u8) -> u64 {
    let available = available_bytes.min(capacity_bytes);
    let target = u128::from(capacity_bytes) * u128::from(100 - low_threshold_percent.min(100)) / 100;
    target.saturating_sub(u128::from(available)) as u64
}

/// Mirrors `imagesInEvictionOrder`: images neither in use nor pinned, by `lastUsed` ascending
/// (never-used first), ties by `firstDetected` ascending; remaining ties keep input order (a
/// stable sort; upstream's map order is random there).
pub fn eviction_order<Id>(records: &[ImageRecord<Id>]) -> Vec<&ImageRecord<Id>> {
    let mut c: Vec<&ImageRecord<Id>> = records.iter().filter(|r| !r.in_use && !r.pinned).collect();
    c.sort_by_key(|r| (r.last_used, r.first_detected));
    c
}

/// Mirrors `GarbageCollect` with the GC loop considered started at time zero (kubelet start =
/// simulation start). See `plan_gc_with`.
pub fn plan_gc<Id: Clone>(
    records: &[ImageRecord<Id>],
    policy: &GcPolicy,
    capacity_bytes: u64,
    available_bytes: u64,
    now: SimTime,
) -> GcPlan<Id> {
    plan_gc_with(records, policy, capacity_bytes, available_bytes, now, SimTime::ZERO)
}

/// Mirrors `GarbageCollect(ctx, beganGC)` at `now` (`freeTime`).
///
/// 1. Candidates in eviction order.
/// 2. Age pass (`freeOldImages`), only when `max_age > 0` and `now - gc_loop_started > max_age`
///    (upstream waits MaxAge after the kubelet starts so it does not delete images it has not
///    yet seen used): remove every candidate with `now - lastUsed > max_age`; never-used images
///    qualify; MinAge is not checked.
/// 3. Threshold pass: upstream re-reads image-fs stats after the age pass; this plan assumes
///    the space of age-pass removals is available again (`available + removed`, capped). If
///    `usage% >= High`: walk the remaining candidates, skipping images used at or after `now`
///    (used during this run) and images with `now - firstDetected < MinAge`; remove and count
///    each; stop as soon as `freed >= toFree` (checked after each removal, as upstream).
pub fn plan_gc_with<Id: Clone>(
    records: &[ImageRecord<Id>],
    policy: &GcPolicy,
    capacity_bytes: u64,
    available_bytes: u64,
    now: SimTime,
    gc_loop_started: SimTime,
) -> GcPlan<Id> {
    let mut plan = GcPlan {
        remove: Vec::new(),
        bytes_to_free: 0,
        bytes_freed: 0,
        insufficient: false,
        removed_by_age: 0,
        threshold_pass_ran: false,
        invalid_capacity: false,
    };
    let mut candidates = eviction_order(records);
    let mut available = available_bytes.min(capacity_bytes);
    if policy.max_age > SimDuration::ZERO && now.since(gc_loop_started) > policy.max_age {
        candidates.retain(|r| {
            // A zero lastUsed (never used) is older than any max age.
            let old = r.last_used.is_none_or(|t| now.since(t) > policy.max_age);
            if old {
                plan.remove.push(r.id.clone());
                available = available.saturating_add(r.size_bytes);
            }
            !old
        });
        plan.removed_by_age = plan.remove.len();
    }
    if capacity_bytes == 0 {
        plan.invalid_capacity = true;
        return plan;
    }
    available = available.min(capacity_bytes);
    if usage_percent(capacity_bytes, available) < u64::from(policy.high_threshold_percent) {
        return plan;
    }
    plan.threshold_pass_ran = true;
    plan.bytes_to_free = bytes_to_free(capacity_bytes, available, policy.low_threshold_percent);
    for r in candidates {
        if r.last_used.is_some_and(|t| t >= now) {
            continue;
        }
        if now.since(r.first_detected) < policy.min_age {
            continue;
        }
        plan.remove.push(r.id.clone());
        plan.bytes_freed += r.size_bytes;
        if plan.bytes_freed >= plan.bytes_to_free {
            break;
        }
    }
    plan.insufficient = plan.bytes_freed < plan.bytes_to_free;
    plan
}
