//! STUB: image garbage collection (pkg/kubelet/images/image_gc_manager.go).
use crate::time::{SimDuration, SimTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcPolicy {
    pub high_threshold_percent: u8,
    pub low_threshold_percent: u8,
    pub min_age: SimDuration,
    /// Zero = disabled.
    pub max_age: SimDuration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord<Id> {
    pub id: Id,
    pub size_bytes: u64,
    pub first_detected: SimTime,
    /// `None` = never used by a container.
    pub last_used: Option<SimTime>,
    pub in_use: bool,
    pub pinned: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcPlan<Id> {
    pub remove: Vec<Id>,
    pub bytes_to_free: u64,
    pub bytes_freed: u64,
    /// `FreeDiskSpaceFailed`: fewer eligible bytes than needed.
    pub insufficient: bool,
}

/// `usage% = 100 - floor(available*100/capacity)`.
pub fn usage_percent(capacity_bytes: u64, available_bytes: u64) -> u64 {
    let available = available_bytes.min(capacity_bytes);
    100 - (u128::from(available) * 100 / u128::from(capacity_bytes.max(1))) as u64
}

/// Mirrors `GarbageCollect` (the age pass and the threshold pass) as a plan.
pub fn plan_gc<Id: Clone>(
    records: &[ImageRecord<Id>],
    policy: &GcPolicy,
    capacity_bytes: u64,
    available_bytes: u64,
    now: SimTime,
) -> GcPlan<Id> {
    let mut plan = GcPlan { remove: Vec::new(), bytes_to_free: 0, bytes_freed: 0, insufficient: false };
    if usage_percent(capacity_bytes, available_bytes) < u64::from(policy.high_threshold_percent) {
        return plan;
    }
    let target = capacity_bytes as u128 * (100 - u128::from(policy.low_threshold_percent)) / 100;
    plan.bytes_to_free = target.saturating_sub(available_bytes as u128) as u64;
    let mut cands: Vec<&ImageRecord<Id>> = records.iter().filter(|r| !r.in_use && !r.pinned).collect();
    cands.sort_by_key(|r| (r.last_used, r.first_detected));
    for r in cands {
        if plan.bytes_freed >= plan.bytes_to_free {
            break;
        }
        if now.since(r.first_detected) < policy.min_age {
            continue;
        }
        plan.remove.push(r.id.clone());
        plan.bytes_freed += r.size_bytes;
    }
    plan.insufficient = plan.bytes_freed < plan.bytes_to_free;
    plan
}
