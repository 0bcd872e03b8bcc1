//! The texts of the kubelet's events about a container's image that `image_manager.rs` does not
//! already hold: the `Pulled` message of a successful pull (`pullImage` in
//! `pkg/kubelet/images/image_manager.go`), the `Failed` event `startContainer` records when
//! `EnsureImageExists` returns an error (`pkg/kubelet/kuberuntime/kuberuntime_container.go`),
//! the involved object's `fieldPath` (`pkg/kubelet/container/ref.go`), and Go's
//! `time.Duration.String`, which prints the durations in those messages.
//!
//! The writers append to a caller's buffer and take the image string already quoted
//! (`image_ref::go_quote`): the simulator keeps each quoted string once and reuses one buffer.

use super::image_manager::{event_reason, EventType, KubeletReason};

/// Mirrors Go's `time.Duration.String` for a non-negative duration of `ns` nanoseconds: `0s`;
/// below one second the largest of `ns`, `µs`, `ms` that keeps an integer part, with the
/// fraction's trailing zeros dropped (`850ms`, `1.5ms`, `1.1µs`); from one second on
/// `[<h>h][<m>m]<s>[.<frac>]s`, minutes shown once there are hours (`2.193s`, `1m18.5s`,
/// `1h0m0s`).
pub fn write_go_duration(out: &mut String, ns: u64) {
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    if ns == 0 {
        out.push_str("0s");
    } else if ns < US {
        crate::units::push_u64(out, ns);
        out.push_str("ns");
    } else if ns < MS {
        push_with_fraction(out, ns, 3);
        out.push_str("µs");
    } else if ns < S {
        push_with_fraction(out, ns, 6);
        out.push_str("ms");
    } else {
        let secs = ns / S;
        let (h, m) = (secs / 3600, secs / 60 % 60);
        if h > 0 {
            crate::units::push_u64(out, h);
            out.push('h');
        }
        if secs >= 60 {
            crate::units::push_u64(out, m);
            out.push('m');
        }
        push_with_fraction(out, secs % 60 * S + ns % S, 9);
        out.push('s');
    }
}

/// `write_go_duration` into a new string.
pub fn go_duration(ns: u64) -> String {
    let mut s = String::new();
    write_go_duration(&mut s, ns);
    s
}

/// Go's `Duration.Truncate(time.Millisecond)` for a non-negative duration, as the kubelet
/// applies to both durations of a `Pulled` message.
pub fn truncate_to_ms(ns: u64) -> u64 {
    ns - ns % 1_000_000
}

/// Appends `v / 10^prec` with its fraction, trailing zeros and a bare point dropped (Go's
/// `fmtFrac` then `fmtInt`).
fn push_with_fraction(out: &mut String, v: u64, prec: u32) {
    let unit = 10u64.pow(prec);
    crate::units::push_u64(out, v / unit);
    let mut frac = v % unit;
    if frac == 0 {
        return;
    }
    let mut digits = prec;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    out.push('.');
    let shown = frac.checked_ilog10().map_or(1, |l| l + 1);
    for _ in shown..digits {
        out.push('0');
    }
    crate::units::push_u64(out, frac);
}

/// The `Pulling` message (`Pulling image %q`).
pub fn write_pulling_message(out: &mut String, quoted_image: &str) {
    out.push_str("Pulling image ");
    out.push_str(quoted_image);
}

/// The `Pulled` message of a successful pull: `pull_ns` from when the puller started it,
/// `total_ns` from the `Pulling` event (the wait for a puller slot included), each truncated to
/// the millisecond, and the image's size in bytes:
/// `Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.`
pub fn write_pulled_message(
    out: &mut String,
    quoted_image: &str,
    pull_ns: u64,
    total_ns: u64,
    size_bytes: u64,
) {
    out.push_str("Successfully pulled image ");
    out.push_str(quoted_image);
    out.push_str(" in ");
    write_go_duration(out, truncate_to_ms(pull_ns));
    out.push_str(" (");
    write_go_duration(out, truncate_to_ms(total_ns));
    out.push_str(" including waiting). Image size: ");
    crate::units::push_u64(out, size_bytes);
    out.push_str(" bytes.");
}

/// The `Pulled` message when the image is used as present: `access_checked` when the
/// KubeletEnsureSecretPulledImages gate is on and `MustAttemptImagePull` allowed it.
pub fn write_present_message(out: &mut String, quoted_image: &str, access_checked: bool) {
    out.push_str("Container image ");
    out.push_str(quoted_image);
    out.push_str(if access_checked {
        " already present on machine and can be accessed by the pod"
    } else {
        " already present on machine"
    });
}

/// The `Failed` message of a failed pull (`Failed to pull image %q: %v`) for the puller's
/// error text.
pub fn write_failed_message(out: &mut String, quoted_image: &str, err: &str) {
    out.push_str("Failed to pull image ");
    out.push_str(quoted_image);
    out.push_str(": ");
    out.push_str(err);
}

/// The event `startContainer` records when `EnsureImageExists` fails: `Failed`, Warning,
/// `Error: <the error's text>`, which for the image manager's errors is the waiting reason
/// (`Error: ErrImagePull`, `Error: ImagePullBackOff`).
pub fn start_container_error(reason: KubeletReason) -> (EventType, &'static str, &'static str) {
    let message = match reason {
        KubeletReason::ImagePullBackOff => "Error: ImagePullBackOff",
        KubeletReason::ImageInspectError => "Error: ImageInspectError",
        KubeletReason::ErrImagePull => "Error: ErrImagePull",
        KubeletReason::ErrImageNeverPull => "Error: ErrImageNeverPull",
        KubeletReason::InvalidImageName => "Error: InvalidImageName",
        KubeletReason::RegistryUnavailable => "Error: RegistryUnavailable",
        KubeletReason::SignatureValidationFailed => "Error: SignatureValidationFailed",
    };
    (EventType::Warning, event_reason::FAILED, message)
}

/// Appends the `fieldPath` of a container's object reference (`fieldPath` in `ref.go`):
/// `spec.initContainers{<name>}` or `spec.containers{<name>}`.
pub fn write_field_path(out: &mut String, init: bool, container_name: &str) {
    out.push_str(if init { "spec.initContainers{" } else { "spec.containers{" });
    out.push_str(container_name);
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's own cases (`durationTests` in `time/time_test.go`, non-negative ones) and the shapes
    /// the kubelet's messages show.
    #[test]
    fn durations_print_as_go_does() {
        const MS: u64 = 1_000_000;
        const S: u64 = 1_000 * MS;
        const M: u64 = 60 * S;
        const H: u64 = 60 * M;
        let cases: [(u64, &str); 25] = [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_100, "1.1µs"),
            (1_000, "1µs"),
            (2_200 * 1_000, "2.2ms"),
            (3_300 * MS, "3.3s"),
            (4 * M + 5 * S, "4m5s"),
            (4 * M + 5_001 * MS, "4m5.001s"),
            (5 * H + 6 * M + 7_001 * MS, "5h6m7.001s"),
            (8 * M + 1, "8m0.000000001s"),
            ((1 << 63) - 1, "2562047h47m16.854775807s"),
            (2_193 * MS, "2.193s"),
            (850 * MS, "850ms"),
            (MS, "1ms"),
            (1_500_000, "1.5ms"),
            (1_050_000, "1.05ms"),
            (78_500 * MS, "1m18.5s"),
            (H + 2 * M + 3_004 * MS, "1h2m3.004s"),
            (H, "1h0m0s"),
            (M, "1m0s"),
            (S, "1s"),
            (100 * H + 5 * S, "100h0m5s"),
            (5_638_046_961, "5.638046961s"),
            (10 * S + 20 * MS, "10.02s"),
        ];
        for (ns, want) in cases {
            assert_eq!(go_duration(ns), want, "{ns} ns");
        }
    }

    #[test]
    fn truncation_drops_below_the_millisecond() {
        assert_eq!(go_duration(truncate_to_ms(999_999)), "0s");
        assert_eq!(go_duration(truncate_to_ms(998_123_456)), "998ms");
        assert_eq!(go_duration(truncate_to_ms(5_638_046_961)), "5.638s");
        assert_eq!(go_duration(truncate_to_ms(60_000_999_999)), "1m0s");
    }

    #[test]
    fn messages_are_upstreams() {
        let q = "\"registry.example/a:v1\"";
        let mut s = String::new();
        write_pulled_message(&mut s, q, 998_700_000, 1_673_100_000, 12_923_526);
        assert_eq!(
            s,
            "Successfully pulled image \"registry.example/a:v1\" in 998ms (1.673s including waiting). \
             Image size: 12923526 bytes."
        );
        s.clear();
        write_present_message(&mut s, q, false);
        assert_eq!(s, "Container image \"registry.example/a:v1\" already present on machine");
        s.clear();
        write_present_message(&mut s, q, true);
        assert_eq!(
            s,
            "Container image \"registry.example/a:v1\" already present on machine and can be accessed by the pod"
        );
        s.clear();
        write_pulling_message(&mut s, q);
        assert_eq!(s, "Pulling image \"registry.example/a:v1\"");
        s.clear();
        write_failed_message(&mut s, q, "pull QPS exceeded");
        assert_eq!(s, "Failed to pull image \"registry.example/a:v1\": pull QPS exceeded");
        s.clear();
        write_field_path(&mut s, true, "init-0");
        assert_eq!(s, "spec.initContainers{init-0}");
        s.clear();
        write_field_path(&mut s, false, "container-1");
        assert_eq!(s, "spec.containers{container-1}");
        assert_eq!(
            start_container_error(KubeletReason::ImagePullBackOff),
            (EventType::Warning, "Failed", "Error: ImagePullBackOff")
        );
        assert_eq!(start_container_error(KubeletReason::ErrImagePull).2, "Error: ErrImagePull");
    }

    #[test]
    fn every_waiting_reason_has_its_error_event() {
        let all = [
            KubeletReason::ImagePullBackOff,
            KubeletReason::ImageInspectError,
            KubeletReason::ErrImagePull,
            KubeletReason::ErrImageNeverPull,
            KubeletReason::InvalidImageName,
            KubeletReason::RegistryUnavailable,
            KubeletReason::SignatureValidationFailed,
        ];
        for r in all {
            assert_eq!(start_container_error(r).2, format!("Error: {}", r.as_str()));
        }
    }
}
