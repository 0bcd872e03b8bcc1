//! The Deployment controller's rolling update as pure decisions (pkg/controller/deployment):
//! percentage rounding, the surge/unavailable fenceposts, and one reconcile step of
//! `rolloutRolling`. The model owns the pods; this file only says what to do next.

/// A count or a percentage of the replicas (`intstr.IntOrString` in a `RollingUpdateDeployment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(u32),
    Percent(u32),
}

/// Mirrors `intstr.GetScaledValueFromIntOrPercent`: a percentage of `total`, rounded up or down.
pub fn scaled_value(v: IntOrPercent, total: u32, round_up: bool) -> u32 {
    match v {
        IntOrPercent::Int(n) => n,
        IntOrPercent::Percent(p) => {
            let x = u64::from(p) * u64::from(total);
            u32::try_from(if round_up { x.div_ceil(100) } else { x / 100 }).unwrap_or(u32::MAX)
        }
    }
}

/// Mirrors `deploymentutil.ResolveFenceposts`: (maxSurge rounded up, maxUnavailable rounded
/// down); when both are zero, maxUnavailable becomes 1 so the rollout can progress.
pub fn resolve_fenceposts(
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    replicas: u32,
) -> (u32, u32) {
    let surge = scaled_value(max_surge, replicas, true);
    let unavailable = scaled_value(max_unavailable, replicas, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// The pods of a Deployment during a rollout, as the controller counts them (available =
/// Running, `minReadySeconds` 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutCounts {
    pub replicas: u32,
    /// Pods of the new template.
    pub new: u32,
    /// Pods of older templates.
    pub old: u32,
    /// Running pods, old and new.
    pub available: u32,
    /// New pods not Running yet.
    pub new_unavailable: u32,
    /// Whether some old pod is not Running.
    pub old_unavailable_exists: bool,
}

/// What one reconcile step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolloutStep {
    /// Scale the new ReplicaSet up by one pod (`NewRSNewReplicas`).
    CreateNew,
    /// Scale an old ReplicaSet down by one pod; the ReplicaSet picks which (`getPodsToDelete`,
    /// ranked as `replicaset::deletion_order` says).
    DeleteOld,
    /// Nothing until a pod changes state.
    Wait,
}

/// One step of `rolloutRolling`: scale up the new ReplicaSet within `replicas + maxSurge`, else
/// scale down old pods: unhealthy ones while `all - minAvailable - newUnavailable > 0`
/// (`cleanupUnhealthyReplicas`), Running ones while more than `minAvailable` are available
/// (`scaleDownOldReplicaSetsForRollingUpdate`).
pub fn rolling_update_step(c: &RolloutCounts, max_surge: u32, max_unavailable: u32) -> RolloutStep {
    if c.new < c.replicas && c.new + c.old < c.replicas.saturating_add(max_surge) {
        return RolloutStep::CreateNew;
    }
    if c.old == 0 {
        return RolloutStep::Wait;
    }
    let min_available = c.replicas.saturating_sub(max_unavailable);
    let max_scaled_down = i64::from(c.new + c.old) - i64::from(min_available) - i64::from(c.new_unavailable);
    if (c.old_unavailable_exists && max_scaled_down > 0) || c.available > min_available {
        RolloutStep::DeleteOld
    } else {
        RolloutStep::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_fenceposts() {
        assert_eq!(scaled_value(IntOrPercent::Percent(25), 10, true), 3);
        assert_eq!(scaled_value(IntOrPercent::Percent(25), 10, false), 2);
        assert_eq!(scaled_value(IntOrPercent::Int(1), 10, false), 1);
        assert_eq!(resolve_fenceposts(IntOrPercent::Percent(25), IntOrPercent::Percent(25), 10), (3, 2));
        assert_eq!(resolve_fenceposts(IntOrPercent::Int(0), IntOrPercent::Percent(10), 5), (0, 1));
    }

    fn counts(
        new: u32,
        old: u32,
        available: u32,
        new_unavailable: u32,
        old_unavailable_exists: bool,
    ) -> RolloutCounts {
        RolloutCounts { replicas: 3, new, old, available, new_unavailable, old_unavailable_exists }
    }

    #[test]
    fn surge_one_unavailable_zero_over_three_replicas() {
        // Start: 3 old Running. Surge 1 → one new pod; no old pod may go until it runs.
        assert_eq!(rolling_update_step(&counts(0, 3, 3, 0, false), 1, 0), RolloutStep::CreateNew);
        assert_eq!(rolling_update_step(&counts(1, 3, 3, 1, false), 1, 0), RolloutStep::Wait);
        // The new pod runs: 4 available > 3 → one old pod goes, then a new one is created.
        assert_eq!(rolling_update_step(&counts(1, 3, 4, 0, false), 1, 0), RolloutStep::DeleteOld);
        assert_eq!(rolling_update_step(&counts(1, 2, 3, 0, false), 1, 0), RolloutStep::CreateNew);
    }

    #[test]
    fn unhealthy_old_pods_go_within_the_cleanup_budget() {
        // 3 old, 1 of them not Running, 1 new not Running, surge 1, unavailable 0:
        // all 4 - minAvailable 3 - newUnavailable 1 = 0 → nothing may be deleted yet.
        assert_eq!(rolling_update_step(&counts(1, 3, 2, 1, true), 1, 0), RolloutStep::Wait);
        // With maxUnavailable 1 the budget is 1.
        assert_eq!(rolling_update_step(&counts(1, 3, 2, 1, true), 1, 1), RolloutStep::DeleteOld);
    }
}
