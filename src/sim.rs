//! The dispatcher loop of one run: the only place simulated time advances.
//!
//! Samples are taken without events: before handling the first event later than a sample time
//! T, the state is exactly the state after every event at or before T, so the sample is
//! emitted then. The run ends at the horizon or as soon as the queue is empty (nothing can
//! change any more); `sim_end` is the time of the last event that did something. An event
//! past the horizon is popped only to end the run (nothing is handled after it).

use crate::metrics::summary::summarize;
use crate::metrics::workloads::{summarize_workloads, WorkloadFacts, WorkloadSummary};
use crate::metrics::{RunOutput, RunSink, RunStats};
use crate::model::{RunOptions, World};
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};

/// Runs `scn` with `seed`, streaming pull rows and samples to `sink`.
pub fn run(scn: &Scenario, seed: u64, sink: &mut dyn RunSink, opts: RunOptions) -> RunOutput {
    let mut world = World::new(scn, seed, sink, opts);
    let horizon = SimTime::ZERO.plus(scn.until);
    let every = scn.sample_every.0.max(1);
    let mut next_sample = SimTime::ZERO;
    let mut stats = RunStats::default();
    let mut last_effective = SimTime::ZERO;
    let mut hit_horizon = false;
    while let Some((at, ev)) = world.pop_event() {
        world.prefetch_next();
        // A prefetch timeout whose pull was ready before it is dropped before its time counts:
        // it neither moves the samples on past the run's last real event nor takes the run to
        // the horizon. (Other stale events keep their old part in the sampling.)
        if world.is_stale_prefetch_timeout(&ev) {
            stats.events_stale += 1;
            continue;
        }
        if at > horizon {
            hit_horizon = true;
            break;
        }
        while next_sample < at {
            world.emit_sample(next_sample);
            next_sample = SimTime(next_sample.0.saturating_add(every));
        }
        if world.is_stale(&ev) {
            stats.events_stale += 1;
            continue;
        }
        world.handle(at, ev);
        stats.events += 1;
        last_effective = at;
    }
    let end = if hit_horizon { horizon } else { last_effective };
    while next_sample <= end {
        world.emit_sample(next_sample);
        next_sample = SimTime(next_sample.0.saturating_add(every));
    }
    world.flush_unfinished_pulls(end);
    let (links, p2p) = world.distribution_results(end);
    stats.peak_flows = world.peak_flows();
    stats.flows_recomputed = world.flows_recomputed();
    let pods = world.pod_rows();
    let summary = summarize(seed, &pods, world.totals(), stats.events, end);
    let durations = world.rollout_durations();
    let workloads = workload_summaries(scn, &world, &durations, &pods);
    let rollouts =
        durations.into_iter().map(|(name, d)| (name, d.map(crate::metrics::summary::secs_ms))).collect();
    RunOutput {
        pods,
        registries: world.registry_rows(),
        summary,
        stats,
        gc_images_removed: world.gc_images_removed,
        gc_bytes_freed: world.gc_bytes_freed,
        gc_free_space_failed: world.gc_free_space_failed,
        rollouts,
        peaks: world.peaks(),
        pull_failures_by_reason: world.failures_by_reason(),
        workloads,
        prepulls: world.prepull_results(),
        links,
        p2p,
        lazy: world.lazy_summary(),
    }
}

/// The per-workload summaries: each Deployment `update` has a rollout entry, `None` when it did
/// not finish before the end, including one that never started (`update.at` after `until`).
fn workload_summaries(
    scn: &Scenario,
    world: &World<'_>,
    durations: &[(String, Option<SimDuration>)],
    pods: &[crate::metrics::PodRow],
) -> Vec<WorkloadSummary> {
    let facts: Vec<WorkloadFacts<'_>> = scn
        .workloads
        .iter()
        .zip(world.workload_totals())
        .map(|(w, totals)| {
            let has_update =
                matches!(w.kind, crate::scenario::WorkloadKind::Deployment { update: Some(_), .. });
            let finished = durations.iter().find(|(name, _)| *name == w.name).and_then(|(_, d)| *d);
            WorkloadFacts {
                name: &w.name,
                totals: totals.clone(),
                rollouts: if has_update { vec![finished] } else { Vec::new() },
            }
        })
        .collect();
    summarize_workloads(&facts, pods)
}
