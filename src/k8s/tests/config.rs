//! `vectors/kubelet_config_validation.json`: v1beta1 defaults, `ValidateKubeletConfiguration`
//! messages, and allowlist pattern validation.

use super::{load, s, Failures};
use crate::k8s::config::{
    set_defaults, validate, KubeletConfigInput, KubeletConfiguration, DEFAULT_RUNTIME_REQUEST_TIMEOUT,
    DEFAULT_SYNC_FREQUENCY,
};
use crate::k8s::verification::validate_allowlist_pattern;
use crate::time::SimDuration;
use serde_json::Value;

/// Go duration literals used by the vectors ("1ns", "-1ns", "2m", "1m").
fn go_duration_ns(v: &str) -> i64 {
    let (neg, body) = match v.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, v),
    };
    let (num, mul) = if let Some(n) = body.strip_suffix("ns") {
        (n, 1)
    } else if let Some(n) = body.strip_suffix('m') {
        (n, 60_000_000_000)
    } else if let Some(n) = body.strip_suffix('s') {
        (n, 1_000_000_000)
    } else {
        panic!("duration {v}")
    };
    let x: i64 = num.parse::<i64>().unwrap() * mul;
    if neg {
        -x
    } else {
        x
    }
}

/// upstream `successConfig`-like base: everything valid.
fn base(row: &Value) -> KubeletConfiguration {
    let mut kc = set_defaults(&KubeletConfigInput::default());
    kc.serialize_image_pulls = false;
    if let Some(b) = row.get("base_config") {
        apply(&mut kc, b);
    }
    kc
}

fn apply(kc: &mut KubeletConfiguration, o: &Value) {
    for (k, v) in o.as_object().unwrap() {
        match k.as_str() {
            "registryBurst" => kc.registry_burst = v.as_i64().unwrap(),
            "registryPullQPS" => kc.registry_pull_qps = v.as_i64().unwrap(),
            "maxParallelImagePulls" => kc.max_parallel_image_pulls = v.as_i64(),
            "serializeImagePulls" => kc.serialize_image_pulls = v.as_bool().unwrap(),
            "imageGCHighThresholdPercent" => kc.image_gc_high_threshold_percent = v.as_i64().unwrap(),
            "imageGCLowThresholdPercent" => kc.image_gc_low_threshold_percent = v.as_i64().unwrap(),
            "imageMaximumGCAge" => kc.image_maximum_gc_age_ns = go_duration_ns(v.as_str().unwrap()),
            "featureGates" => {
                for (g, on) in v.as_object().unwrap() {
                    match g.as_str() {
                        "ImageMaximumGCAge" => kc.image_maximum_gc_age_gate = on.as_bool().unwrap(),
                        other => panic!("gate {other}"),
                    }
                }
            }
            other => panic!("override {other}"),
        }
    }
}

#[test]
fn kubelet_config_validation_vectors() {
    let rows = load("kubelet_config_validation.json");
    let mut f = Failures::new("kubelet_config_validation.json");
    let defaults = set_defaults(&KubeletConfigInput::default());
    for row in &rows {
        f.checked += 1;
        match s(row, "kind") {
            "default" => {
                let field = s(row, "field");
                let v = &row["value"];
                let t = format!("default/{field}");
                match field {
                    "registryPullQPS" => {
                        f.eq(&t, field, "value", defaults.registry_pull_qps, v.as_i64().unwrap())
                    }
                    "registryBurst" => {
                        f.eq(&t, field, "value", defaults.registry_burst, v.as_i64().unwrap());
                        // The note: 0 → 10.
                        let zero = set_defaults(&KubeletConfigInput {
                            registry_burst: Some(0),
                            ..Default::default()
                        });
                        f.eq(&t, "registryBurst=0", "value", zero.registry_burst, v.as_i64().unwrap());
                    }
                    "maxParallelImagePulls" => {
                        f.eq(&t, field, "value", defaults.max_parallel_image_pulls, v.as_i64())
                    }
                    "imageMinimumGCAge" => f.eq(
                        &t,
                        field,
                        "ns",
                        defaults.image_minimum_gc_age_ns,
                        go_duration_ns(v.as_str().unwrap()),
                    ),
                    "imageGCHighThresholdPercent" => f.eq(
                        &t,
                        field,
                        "value",
                        defaults.image_gc_high_threshold_percent,
                        v.as_i64().unwrap(),
                    ),
                    "imageGCLowThresholdPercent" => {
                        f.eq(&t, field, "value", defaults.image_gc_low_threshold_percent, v.as_i64().unwrap())
                    }
                    "runtimeRequestTimeout" => f.eq(
                        &t,
                        field,
                        "ns",
                        DEFAULT_RUNTIME_REQUEST_TIMEOUT.0 as i64,
                        go_duration_ns(v.as_str().unwrap()),
                    ),
                    "syncFrequency" => f.eq(
                        &t,
                        field,
                        "ns",
                        DEFAULT_SYNC_FREQUENCY.0 as i64,
                        go_duration_ns(v.as_str().unwrap()),
                    ),
                    other => f.fail(&t, other, "no default modelled for this field".to_string()),
                }
            }
            "validation" => {
                let test = s(row, "test");
                let mut kc = base(row);
                apply(&mut kc, &row["config_overrides"]);
                let errs = validate(&kc);
                let input = row["config_overrides"].to_string();
                let valid = row["valid"].as_bool().unwrap();
                f.eq(test, &input, "valid", errs.is_empty(), valid);
                if let Some(want) = row["error_contains"].as_str() {
                    // The gate message's capitalisation differs between upstream versions (see
                    // the validation_note row): compare case-insensitively.
                    let joined = errs.join("; ");
                    if !joined.to_lowercase().contains(&want.to_lowercase()) {
                        f.fail(test, &input, format!("errors {errs:?} do not contain {want:?}"));
                    }
                }
            }
            "validation_note" => {
                // A note, not a case: assert what it states about the base config and the gate.
                let kc = base(row);
                f.eq("validation_note", "", "successConfig serialize", kc.serialize_image_pulls, false);
                f.eq("validation_note", "", "successConfig maxParallel", kc.max_parallel_image_pulls, None);
                f.eq(
                    "validation_note",
                    "",
                    "ImageMaximumGCAge gate default",
                    defaults.image_maximum_gc_age_gate,
                    true,
                );
            }
            "allowlist_pattern_validation" => {
                let p = s(row, "pattern");
                let got = validate_allowlist_pattern(p);
                f.eq(
                    "allowlist_pattern_validation",
                    p,
                    "valid",
                    got.is_ok(),
                    row["valid"].as_bool().unwrap(),
                );
            }
            other => f.fail(other, "", "unknown row kind".to_string()),
        }
    }
    // resolve() end to end: defaults are valid and burst 0 is defaulted.
    let r = crate::k8s::config::resolve(&KubeletConfigInput::default()).expect("defaults valid");
    assert_eq!((r.registry_pull_qps, r.registry_burst, r.serialize_image_pulls), (5, 10, true));
    assert_eq!(r.image_minimum_gc_age, SimDuration::from_secs(120));
    let n = rows.len();
    f.finish(n);
    assert_eq!(n, 30, "kubelet_config_validation.json row count changed");
}
