//! `[[slo]]`: a target one workload's metric must meet, `max` or `min`, in a share of the seeds.
//!
//! The bound is kept as an integer in the metric's base unit (nanoseconds for a time, bytes,
//! a count), so a verdict is an integer comparison: a run's value is read from its `runs.csv`
//! cell or `summary.json` figure (seconds with millisecond precision, bytes, a count) and
//! converted exactly. A missing value (no pod of the workload ran, a rollout that did not
//! finish) meets no bound: an SLO cannot be met by not running.
//!
//! Validation (`validate::slo`) builds these; `run`, `sweep`, `compare` and `plan` judge runs
//! with `meets` and share the wording of `describe` and `bound_text`.

use crate::metrics::workloads::{field_unit, FieldUnit};
use crate::time::NS_PER_S;
use serde::{Deserialize, Serialize};

/// Whether the bound is an upper (`max`) or a lower (`min`) one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SloOp {
    Max,
    Min,
}

/// One validated `[[slo]]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SloWire", try_from = "SloWire")]
pub struct SloSpec {
    /// A `[[workload]]` name.
    pub workload: String,
    /// A per-workload metric (`metrics::workloads::WORKLOAD_FIELDS` or `rollout_s`).
    pub metric: String,
    pub op: SloOp,
    /// In the metric's base unit: nanoseconds for a time, bytes, or a count.
    pub limit: u64,
    /// The share of seeds that must meet it, in percent (1 to 100; 100 = every seed).
    pub seeds_passing_pct: u32,
}

/// How `sweep.json` and `plan.json` write an SLO: the limit in the unit of the metric's
/// `runs.csv` column (seconds, bytes, a count), and the bound as `run` prints it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SloWire {
    workload: String,
    metric: String,
    op: SloOp,
    limit: f64,
    seeds_passing_pct: u32,
    /// For readers; rebuilt from the other fields when read.
    #[serde(default)]
    bound: String,
}

impl From<SloSpec> for SloWire {
    fn from(s: SloSpec) -> SloWire {
        let bound = s.bound_text();
        let limit = match s.unit() {
            FieldUnit::Seconds => s.limit as f64 / NS_PER_S as f64,
            FieldUnit::Bytes | FieldUnit::Count => s.limit as f64,
        };
        SloWire {
            workload: s.workload,
            metric: s.metric,
            op: s.op,
            limit,
            seeds_passing_pct: s.seeds_passing_pct,
            bound,
        }
    }
}

impl TryFrom<SloWire> for SloSpec {
    type Error = String;
    fn try_from(w: SloWire) -> Result<SloSpec, String> {
        let unit = field_unit(&w.metric).ok_or_else(|| format!("unknown SLO metric {:?}", w.metric))?;
        if !(w.limit.is_finite() && w.limit >= 0.0) {
            return Err(format!("SLO limit {} is not a non-negative number", w.limit));
        }
        let limit = match unit {
            FieldUnit::Seconds => (w.limit * NS_PER_S as f64).round() as u64,
            FieldUnit::Bytes | FieldUnit::Count => w.limit.round() as u64,
        };
        if !(1..=100).contains(&w.seeds_passing_pct) {
            return Err(format!("seeds_passing_pct {} is not within 1..=100", w.seeds_passing_pct));
        }
        Ok(SloSpec {
            workload: w.workload,
            metric: w.metric,
            op: w.op,
            limit,
            seeds_passing_pct: w.seeds_passing_pct,
        })
    }
}

impl SloSpec {
    /// The metric's unit (validation accepts only metrics that have one).
    pub fn unit(&self) -> FieldUnit {
        field_unit(&self.metric).unwrap_or(FieldUnit::Count)
    }

    /// A value as its `runs.csv` cell holds it, in the base unit of `limit`. Times are
    /// milliseconds in the files, so they are rounded to the millisecond before scaling.
    fn base_value(&self, value: f64) -> Option<u64> {
        if !(value.is_finite() && value >= 0.0) {
            return None;
        }
        Some(match self.unit() {
            FieldUnit::Seconds => ((value * 1_000.0).round() as u64).saturating_mul(1_000_000),
            FieldUnit::Bytes | FieldUnit::Count => value.round() as u64,
        })
    }

    /// Whether a run's value meets the bound; a missing value meets none.
    pub fn meets(&self, value: Option<f64>) -> bool {
        match value.and_then(|v| self.base_value(v)) {
            None => false,
            Some(v) => match self.op {
                SloOp::Max => v <= self.limit,
                SloOp::Min => v >= self.limit,
            },
        }
    }

    /// Seeds that must meet it out of `seeds`: ⌈share × seeds⌉ (at least 1).
    pub fn needed(&self, seeds: u32) -> u32 {
        let n = (u64::from(self.seeds_passing_pct) * u64::from(seeds)).div_ceil(100);
        (n as u32).clamp(1, seeds.max(1))
    }

    /// `<= 60 s`, `>= 20`, `<= 10 GB`.
    pub fn bound_text(&self) -> String {
        let op = match self.op {
            SloOp::Max => "<=",
            SloOp::Min => ">=",
        };
        format!("{op} {}", self.fmt_base(self.limit))
    }

    /// `web startup_p99_s <= 60 s`.
    pub fn describe(&self) -> String {
        format!("{} {} {}", self.workload, self.metric, self.bound_text())
    }

    /// `web startup_p99_s <= 60 s in 95% of seeds` (the share only when not every seed).
    pub fn describe_with_share(&self) -> String {
        if self.seeds_passing_pct == 100 {
            format!("{} in every seed", self.describe())
        } else {
            format!("{} in {}% of seeds", self.describe(), self.seeds_passing_pct)
        }
    }

    /// A run's value as the run summary prints it: `41.2 s`, `594.03 GB`, `3`; `no value`.
    pub fn value_text(&self, value: Option<f64>) -> String {
        match value {
            None => "no value".to_string(),
            Some(v) => match self.unit() {
                FieldUnit::Seconds => format!("{v} s"),
                FieldUnit::Bytes => crate::units::fmt_size_human(v),
                FieldUnit::Count => format!("{v}"),
            },
        }
    }

    /// A limit in its unit, exactly: seconds with as many decimals as it has (`60 s`,
    /// `0.25 s`), bytes in the largest decimal unit that shows them exactly (`10 GB`,
    /// `1.5 GB`), a count as an integer.
    fn fmt_base(&self, v: u64) -> String {
        match self.unit() {
            FieldUnit::Seconds => format!("{} s", exact_decimal(v, 9)),
            FieldUnit::Count => v.to_string(),
            FieldUnit::Bytes => {
                const STEPS: [(&str, u32); 4] = [("TB", 12), ("GB", 9), ("MB", 6), ("kB", 3)];
                // The largest unit not above the value, if it shows it with at most three
                // decimals (`1.5 GB`); otherwise bytes (`1000000001 B`, not `1000000.001 kB`).
                match STEPS.iter().find(|(_, exp)| v >= 10u64.pow(*exp)) {
                    Some(&(unit, exp)) if v % 10u64.pow(exp - 3) == 0 => {
                        format!("{} {unit}", exact_decimal(v, exp))
                    }
                    _ => format!("{v} B"),
                }
            }
        }
    }
}

/// `v / 10^decimals` written exactly, without trailing zeros (`60000000000, 9` → `60`).
fn exact_decimal(v: u64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let (whole, frac) = (v / scale, v % scale);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = decimals as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(metric: &str, op: SloOp, limit: u64, pct: u32) -> SloSpec {
        SloSpec { workload: "web".into(), metric: metric.into(), op, limit, seeds_passing_pct: pct }
    }

    #[test]
    fn bounds_are_integer_comparisons_and_a_missing_value_fails() {
        let s = slo("startup_p99_s", SloOp::Max, 60 * NS_PER_S, 100);
        assert!(s.meets(Some(60.0)) && s.meets(Some(59.999)) && !s.meets(Some(60.001)));
        assert!(!s.meets(None));
        // 0.1 + 0.2 is 0.30000000000000004 as f64: read to the millisecond, it is 0.3 s.
        let s = slo("startup_p99_s", SloOp::Max, 300_000_000, 100);
        assert!(s.meets(Some(0.1 + 0.2)));
        let s = slo("pods_running", SloOp::Min, 20, 100);
        assert!(s.meets(Some(20.0)) && !s.meets(Some(19.0)) && !s.meets(None));
        let s = slo("bytes_pulled", SloOp::Max, 10_000_000_000, 100);
        assert!(s.meets(Some(1e10)) && !s.meets(Some(1e10 + 1.0)));
    }

    #[test]
    fn seeds_needed_round_up() {
        let s = |pct| slo("pods", SloOp::Min, 1, pct);
        assert_eq!((s(100).needed(20), s(95).needed(20), s(90).needed(20)), (20, 19, 18));
        // ⌈0.95 × 10⌉ = 10, ⌈0.5 × 3⌉ = 2, one seed needs one.
        assert_eq!((s(95).needed(10), s(50).needed(3), s(1).needed(1)), (10, 2, 1));
        assert_eq!(s(1).needed(20), 1);
    }

    #[test]
    fn texts() {
        assert_eq!(
            slo("startup_p99_s", SloOp::Max, 60 * NS_PER_S, 100).describe(),
            "web startup_p99_s <= 60 s"
        );
        assert_eq!(slo("makespan_s", SloOp::Max, 1_250_000_000, 100).bound_text(), "<= 1.25 s");
        assert_eq!(
            slo("pods_running", SloOp::Min, 20, 95).describe_with_share(),
            "web pods_running >= 20 in 95% of seeds"
        );
        assert_eq!(slo("bytes_pulled", SloOp::Max, 1_500_000_000, 100).bound_text(), "<= 1.5 GB");
        assert_eq!(slo("bytes_pulled", SloOp::Max, 123, 100).bound_text(), "<= 123 B");
        assert_eq!(slo("bytes_pulled", SloOp::Max, 1_000_000_001, 100).bound_text(), "<= 1000000001 B");
        let s = slo("startup_p99_s", SloOp::Max, 1, 100);
        assert_eq!((s.value_text(Some(41.2)), s.value_text(None)), ("41.2 s".into(), "no value".into()));
    }

    #[test]
    fn json_writes_the_limit_in_the_column_unit_and_reads_it_back_exactly() {
        let s = slo("startup_p99_s", SloOp::Max, 60_500_000_000, 95);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"workload":"web","metric":"startup_p99_s","op":"max","limit":60.5,"seeds_passing_pct":95,"bound":"<= 60.5 s"}"#
        );
        assert_eq!(serde_json::from_str::<SloSpec>(&json).unwrap(), s);
        assert!(serde_json::from_str::<SloSpec>(&json.replace("startup_p99_s", "nope")).is_err());
    }
}
