//! The eviction manager's image-filesystem signal (pkg/kubelet/eviction): the hard threshold
//! `evictionHard["imagefs.available"]`, parsed as `parseThresholdStatement` (helpers.go),
//! turned into bytes as `GetThresholdQuantity` (api/types.go) and compared as `thresholdsMet`.
//! When it is met, `synchronize` (every `evictionMonitoringPeriod`) calls
//! `reclaimNodeLevelResources`, which for this signal runs the container GC's
//! `DeleteAllUnusedContainers` and the image GC manager's `DeleteUnusedImages`
//! (`k8s::gc::delete_unused_images`) before it evicts a pod.

use crate::time::SimDuration;
use std::fmt;

/// The signal this module covers (`evictionapi.SignalImageFsAvailable`).
pub const SIGNAL_IMAGEFS_AVAILABLE: &str = "imagefs.available";

/// `DefaultEvictionHard["imagefs.available"]` (pkg/kubelet/eviction/defaults_linux.go), which
/// the kubelet applies when its configuration sets no `evictionHard` at all.
pub const DEFAULT_EVICTION_HARD_IMAGEFS_AVAILABLE: &str = "15%";

/// `evictionMonitoringPeriod` in pkg/kubelet/kubelet.go: the eviction manager's `synchronize`
/// runs this often.
pub const EVICTION_MONITORING_PERIOD: SimDuration = SimDuration::from_secs(10);

/// The value of the threshold as a configuration gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThresholdInput {
    /// A string ending in `%`, exactly as written (`"15%"`).
    Percent(String),
    /// A quantity in bytes (Kubernetes writes `"10Gi"`; a scenario writes its own size units,
    /// read before they get here).
    Bytes(u64),
}

impl fmt::Display for ThresholdInput {
    /// As it would appear in a KubeletConfiguration's `evictionHard` (a byte count is a
    /// Kubernetes quantity too).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThresholdInput::Percent(s) => f.write_str(s),
            ThresholdInput::Bytes(b) => write!(f, "{b}"),
        }
    }
}

/// `evictionapi.ThresholdValue`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThresholdValue {
    Quantity(u64),
    /// A fraction of the capacity, in upstream's `float32`.
    Percentage(f32),
}

/// Mirrors `parsePercentage`: `strconv.ParseFloat(strings.TrimRight(input, "%"), 32)`, then
/// divided by 100 in `float32`. Rust's `f32` parser rounds to the nearest `float32` as
/// `ParseFloat(s, 32)` does; it refuses the infinities and NaN (which `ParseFloat` accepts and
/// no threshold can use) and Go's hexadecimal floats.
fn parse_percentage(input: &str) -> Result<f32, String> {
    let number = input.trim_end_matches('%');
    match number.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v / 100.0),
        _ => Err(format!("strconv.ParseFloat: parsing {number:?}: invalid syntax")),
    }
}

/// Mirrors `parseThresholdStatement(signal, val)` for one hard threshold: `None` when the
/// statement is ignored (`"0%"` and `"100%"`), else the threshold value, or upstream's error.
pub fn parse_threshold_statement(
    signal: &str,
    val: &ThresholdInput,
) -> Result<Option<ThresholdValue>, String> {
    match val {
        ThresholdInput::Percent(s) => {
            // "ignore 0% and 100%"
            if s == "0%" || s == "100%" {
                return Ok(None);
            }
            let percentage = parse_percentage(s)?;
            if percentage < 0.0 {
                return Err(format!("eviction percentage threshold {signal} must be >= 0%: {s}"));
            }
            // "percentage is a float and should not be greater than 1 (100%)"
            if percentage > 1.0 {
                return Err(format!("eviction percentage threshold {signal} must be <= 100%: {s}"));
            }
            Ok(Some(ThresholdValue::Percentage(percentage)))
        }
        ThresholdInput::Bytes(0) => Err(format!("eviction threshold {signal} must be positive: 0")),
        ThresholdInput::Bytes(b) => Ok(Some(ThresholdValue::Quantity(*b))),
    }
}

/// Mirrors `GetThresholdQuantity`: a quantity as is; a percentage as
/// `int64(float64(capacity) * float64(percentage))`, truncated (so `"15%"` is the `float32`
/// 0.15000000596… of the capacity).
pub fn threshold_quantity(value: ThresholdValue, capacity_bytes: u64) -> u64 {
    match value {
        ThresholdValue::Quantity(b) => b,
        // Capacities stay far below 2^53 bytes, where the conversion is exact; `as`
        // truncates toward zero like Go's conversion.
        ThresholdValue::Percentage(p) => (capacity_bytes as f64 * f64::from(p)) as u64,
    }
}

/// Mirrors `thresholdsMet` for this signal (no minimum reclaim: `evictionMinimumReclaim` is
/// unset by default): met when the threshold quantity is greater than what is available.
pub fn threshold_met(threshold_bytes: u64, available_bytes: u64) -> bool {
    threshold_bytes > available_bytes
}
