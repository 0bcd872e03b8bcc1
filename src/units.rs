//! Quantities with units, as written in scenario files: durations, sizes, bandwidths, rates.
//!
//! Parsing returns the quantity in its base unit (nanoseconds, bytes, bytes per second, events
//! per second). A string must carry its unit: `"700"` could mean bytes or megabytes, seconds or
//! minutes, and is refused with a message suggesting both spellings; a bare number in the base
//! unit is written as a TOML number, without quotes, and never reaches these parsers. Decimal prefixes are powers of 10 (`MB` = 10^6), binary ones powers of 2
//! (`MiB` = 2^20); bandwidths in bits (`Gbps`) are divided by 8. The arithmetic is done on the
//! decimal digits with integers where the result is an integer, so `"1Gbps"` is exactly
//! 125_000_000 B/s and `"1.5s"` exactly 1_500_000_000 ns.
//!
//! Formatting comes in two flavours: `fmt_*_exact` (round-trips through the parser bit for bit;
//! used by tests and by tools that write scenarios) and `fmt_*_human` (three significant figures,
//! for reports and messages).

use crate::time::NS_PER_S;

/// Duration units and their length in nanoseconds, longest spelling first so that `ms` is not
/// read as `m` followed by garbage.
const DURATION_UNITS_NS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", NS_PER_S),
    ("m", 60 * NS_PER_S),
    ("h", 3_600 * NS_PER_S),
    ("d", 86_400 * NS_PER_S),
];

/// Size units and their length in bytes.
const SIZE_UNITS_BYTES: &[(&str, u64)] = &[
    ("B", 1),
    ("kB", 1_000),
    ("KB", 1_000),
    ("KiB", 1 << 10),
    ("MB", 1_000_000),
    ("MiB", 1 << 20),
    ("GB", 1_000_000_000),
    ("GiB", 1 << 30),
    ("TB", 1_000_000_000_000),
    ("TiB", 1 << 40),
];

/// Bit-rate units and their value in bits per second (divided by 8 for bytes per second).
const BIT_RATE_UNITS_BITS_PER_S: &[(&str, u64)] = &[
    ("bps", 1),
    ("kbps", 1_000),
    ("Kbps", 1_000),
    ("Mbps", 1_000_000),
    ("Gbps", 1_000_000_000),
    ("Tbps", 1_000_000_000_000),
];

const DURATION_EXAMPLES: &str =
    "\"250ms\", \"10s\", \"5m\", \"1h30m\", \"2h\" (units ns, us, ms, s, m, h, d)";
const SIZE_EXAMPLES: &str =
    "\"512B\", \"30MB\", \"1.5GB\", \"30MiB\", \"2GiB\" (units B, kB/KB, KiB, MB, MiB, GB, GiB, TB, TiB)";
const BANDWIDTH_EXAMPLES: &str =
    "\"1Gbps\", \"800Mbps\", \"100Kbps\" (bits), \"100MB/s\", \"50MiB/s\" (bytes), or \"unlimited\"";
const RATE_EXAMPLES: &str = "\"2/s\", \"120/m\", \"100/6h\", \"0.5/s\"";

/// A non-negative decimal number as written: `digits` without the point, scaled by
/// 10^-`frac_digits`. Kept exact so that unit multiplication stays exact.
#[derive(Clone, Copy, Debug)]
struct Decimal {
    digits: u128,
    frac_digits: u32,
}

impl Decimal {
    /// `value * unit`, exact when the result is an integer, rounded to nearest otherwise.
    fn times_u64(self, unit: u64) -> Option<u128> {
        let scaled = self.digits.checked_mul(unit as u128)?;
        let div = 10u128.checked_pow(self.frac_digits)?;
        Some((scaled + div / 2) / div)
    }

    fn times_f64(self, unit: f64) -> f64 {
        // Multiply first and divide by the power of ten last: that keeps "1.5GB" etc. exact.
        (self.digits as f64 * unit) / 10f64.powi(self.frac_digits as i32)
    }
}

/// Splits a leading unsigned decimal number (`12`, `1.5`, `.5`, `2.`) from `s`.
fn split_number(s: &str) -> Option<(Decimal, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut digits: u128 = 0;
    let mut frac_digits = 0u32;
    let mut seen_digit = false;
    let mut seen_point = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            // More than 30 significant digits cannot be meant; refuse rather than overflow.
            digits = digits.checked_mul(10)?.checked_add((c - b'0') as u128)?;
            if seen_point {
                frac_digits += 1;
            }
            seen_digit = true;
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else if c == b'_' && seen_digit {
            // "1_000MB", as TOML numbers allow.
        } else {
            break;
        }
        i += 1;
    }
    if !seen_digit || frac_digits > 30 {
        return None;
    }
    Some((Decimal { digits, frac_digits }, &s[i..]))
}

fn negative_error(what: &str, s: &str) -> Option<String> {
    s.trim_start().starts_with('-').then(|| format!("{what} must not be negative, got {s:?}"))
}

/// The message for a number written as a string without its unit (`examples` show the number
/// as written with units).
fn unit_missing(what: &str, examples: String, bare: &str) -> String {
    format!("{what} needs a unit, e.g. {examples}; a bare TOML number (no quotes) is {bare}")
}

/// Parses a duration such as `"250ms"`, `"1h30m"` or `"1.5s"` into nanoseconds.
pub fn parse_duration_ns(s: &str) -> Result<u64, String> {
    if let Some(e) = negative_error("a duration", s) {
        return Err(e);
    }
    let t = s.trim();
    let err = || format!("expected a duration like {DURATION_EXAMPLES}, got {s:?}");
    if t.is_empty() {
        return Err(err());
    }
    if let Some((_, "")) = split_number(t) {
        return Err(unit_missing("a duration", format!("\"{t}s\" or \"{t}m\""), "seconds"));
    }
    let mut rest = t;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (d, after) = split_number(rest).ok_or_else(err)?;
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let unit = &after[..unit_len];
        let &(_, ns) = DURATION_UNITS_NS.iter().find(|(u, _)| *u == unit).ok_or_else(err)?;
        total = total.checked_add(d.times_u64(ns).ok_or_else(err)?).ok_or_else(err)?;
        rest = &after[unit_len..];
    }
    u64::try_from(total).map_err(|_| format!("duration {s:?} is too long"))
}

/// Parses a size such as `"512B"`, `"30MB"` or `"2GiB"` into bytes.
pub fn parse_size_bytes(s: &str) -> Result<f64, String> {
    if let Some(e) = negative_error("a size", s) {
        return Err(e);
    }
    let t = s.trim();
    let err = || format!("expected a size like {SIZE_EXAMPLES}, got {s:?}");
    let (d, unit) = split_number(t).ok_or_else(err)?;
    let unit = unit.trim_start();
    if unit.is_empty() {
        return Err(unit_missing("a size", format!("\"{t}MB\" or \"{t}MiB\""), "bytes"));
    }
    let &(_, bytes) = SIZE_UNITS_BYTES.iter().find(|(u, _)| *u == unit).ok_or_else(err)?;
    Ok(d.times_f64(bytes as f64))
}

/// Parses a bandwidth into bytes per second: bits (`"1Gbps"`), bytes (`"100MB/s"`), or
/// `"unlimited"` (infinity).
pub fn parse_bandwidth_bytes_per_s(s: &str) -> Result<f64, String> {
    if let Some(e) = negative_error("a bandwidth", s) {
        return Err(e);
    }
    let t = s.trim();
    if t == "unlimited" {
        return Ok(f64::INFINITY);
    }
    let err = || format!("expected a bandwidth like {BANDWIDTH_EXAMPLES}, got {s:?}");
    let (d, unit) = split_number(t).ok_or_else(err)?;
    let unit = unit.trim_start();
    if unit.is_empty() {
        let examples = format!("\"{t}Mbps\" (bits) or \"{t}MB/s\" (bytes), or \"unlimited\"");
        return Err(unit_missing("a bandwidth", examples, "bytes per second"));
    }
    if let Some(&(_, bits)) = BIT_RATE_UNITS_BITS_PER_S.iter().find(|(u, _)| *u == unit) {
        return Ok(d.times_f64(bits as f64) / 8.0);
    }
    let size_unit = unit.strip_suffix("/s").ok_or_else(err)?;
    let &(_, bytes) = SIZE_UNITS_BYTES.iter().find(|(u, _)| *u == size_unit).ok_or_else(err)?;
    Ok(d.times_f64(bytes as f64))
}

/// Parses a rate such as `"2/s"`, `"120/m"` or `"100/6h"` into events per second.
pub fn parse_rate_per_s(s: &str) -> Result<f64, String> {
    if let Some(e) = negative_error("a rate", s) {
        return Err(e);
    }
    let t = s.trim();
    let err = || format!("expected a rate like {RATE_EXAMPLES}, got {s:?}");
    let (count, window) = match t.split_once('/') {
        Some((c, w)) => (c.trim(), w.trim()),
        None if matches!(split_number(t), Some((_, ""))) => {
            return Err(unit_missing("a rate", format!("\"{t}/s\" or \"{t}/m\""), "per second"))
        }
        None => return Err(err()),
    };
    let (d, "") = split_number(count).ok_or_else(err)? else { return Err(err()) };
    // "/m" means one minute: put an implicit 1 in front of a bare unit.
    let window_ns = if window.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        parse_duration_ns(window).map_err(|_| err())?
    } else {
        parse_duration_ns(&format!("1{window}")).map_err(|_| err())?
    };
    if window_ns == 0 {
        return Err(format!("rate {s:?} has a zero-length window"));
    }
    Ok(d.times_f64(1.0) * NS_PER_S as f64 / window_ns as f64)
}

/// Exact duration text that parses back to `ns`, e.g. `"1h30m"`, `"1s500ms"`, `"0s"`.
pub fn fmt_duration_exact(ns: u64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let mut rest = ns;
    let mut out = String::new();
    for &(unit, len) in DURATION_UNITS_NS.iter().rev() {
        if unit == "µs" || unit == "d" {
            continue;
        }
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    out
}

/// Human duration with three significant figures: `"1.50s"`, `"250ms"`, `"2.00h"`.
pub fn fmt_duration_human(ns: u64) -> String {
    let s = ns as f64 / NS_PER_S as f64;
    if ns == 0 {
        "0s".to_string()
    } else if s >= 3_600.0 {
        format!("{}h", sig3(s / 3_600.0))
    } else if s >= 60.0 {
        format!("{}m", sig3(s / 60.0))
    } else if s >= 1.0 {
        format!("{}s", sig3(s))
    } else if ns >= 1_000_000 {
        format!("{}ms", sig3(ns as f64 / 1e6))
    } else if ns >= 1_000 {
        format!("{}us", sig3(ns as f64 / 1e3))
    } else {
        format!("{ns}ns")
    }
}

/// Exact size text: the largest unit that divides `bytes`, e.g. `"30MiB"`, `"1500kB"`, `"7B"`.
pub fn fmt_size_exact(bytes: u64) -> String {
    let best = SIZE_UNITS_BYTES
        .iter()
        .filter(|(u, len)| *u != "KB" && bytes != 0 && bytes % len == 0)
        .max_by_key(|(_, len)| *len);
    match best {
        Some(&(unit, len)) => format!("{}{unit}", bytes / len),
        None => "0B".to_string(),
    }
}

/// Human size in decimal units with two decimals: `"1.50 GB"`, `"512 B"`.
pub fn fmt_size_human(bytes: f64) -> String {
    if !bytes.is_finite() {
        return "unlimited".to_string();
    }
    const STEPS: &[(&str, f64)] = &[("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for &(unit, len) in STEPS {
        if bytes >= len {
            return format!("{:.2} {unit}", bytes / len);
        }
    }
    format!("{bytes:.0} B")
}

/// Human bandwidth in bits per second: `"1.00 Gbps"`, `"400 Mbps"`, `"unlimited"`.
pub fn fmt_bandwidth_human(bytes_per_s: f64) -> String {
    if !bytes_per_s.is_finite() {
        return "unlimited".to_string();
    }
    let bits = bytes_per_s * 8.0;
    const STEPS: &[(&str, f64)] = &[("Tbps", 1e12), ("Gbps", 1e9), ("Mbps", 1e6), ("kbps", 1e3)];
    for &(unit, len) in STEPS {
        if bits >= len {
            return format!("{} {unit}", sig3(bits / len));
        }
    }
    format!("{} bps", sig3(bits))
}

/// Exact bandwidth text for a whole number of bytes per second (`"125000000"` style units are
/// chosen like sizes: `"100MB/s"`, `"50MiB/s"`).
pub fn fmt_bandwidth_exact(bytes_per_s: u64) -> String {
    format!("{}/s", fmt_size_exact(bytes_per_s))
}

/// Human rate: `"2.00/s"`, `"120/m"` style is not reproduced; always per second.
pub fn fmt_rate_human(per_s: f64) -> String {
    format!("{}/s", sig3(per_s))
}

/// Three significant figures, trailing zeros kept for numbers below 100 (`1.50`, `12.0`, `250`).
fn sig3(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Appends `v` in decimal: what `write!(out, "{v}")` gives, without the formatting machinery
/// (pod names and the times of every CSV row are written this way).
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        let s = NS_PER_S;
        let cases: &[(&str, u64)] = &[
            ("250ms", 250_000_000),
            ("10s", 10 * s),
            ("5m", 300 * s),
            ("1h30m", 5_400 * s),
            ("2h", 7_200 * s),
            ("1.5s", 1_500_000_000),
            ("300s", 300 * s),
            ("0s", 0),
            ("7us", 7_000),
            ("3ns", 3),
            ("1d", 86_400 * s),
            ("1m0.5s", 60_500_000_000),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_duration_ns(text), Ok(want), "{text}");
        }
        for bad in ["", "10x", "s", "-1s", "1.2.3s", "10 s x", "ms10"] {
            let e = parse_duration_ns(bad).unwrap_err();
            assert!(e.contains("duration") || e.contains("negative"), "{bad}: {e}");
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(&str, f64)] = &[
            ("512B", 512.0),
            ("30MB", 30e6),
            ("1.5GB", 1.5e9),
            ("30MiB", 30.0 * 1_048_576.0),
            ("2GiB", 2.0 * 1_073_741_824.0),
            ("1kB", 1e3),
            ("1KB", 1e3),
            ("1KiB", 1024.0),
            ("1TB", 1e12),
            ("1TiB", 1_099_511_627_776.0),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_size_bytes(text), Ok(want), "{text}");
        }
        for bad in ["", "30mb", "MB", "-3MB", "3 MBs", "1Gbps"] {
            assert!(parse_size_bytes(bad).is_err(), "{bad}");
        }
        assert!(parse_size_bytes("30mb").unwrap_err().contains("\"30MiB\""));
    }

    #[test]
    fn bandwidths() {
        let cases: &[(&str, f64)] = &[
            ("1Gbps", 125_000_000.0),
            ("800Mbps", 100_000_000.0),
            ("100Kbps", 12_500.0),
            ("10Gbps", 1_250_000_000.0),
            ("400Mbps", 50_000_000.0),
            ("100MB/s", 1e8),
            ("50MiB/s", 50.0 * 1_048_576.0),
            ("150MB/s", 1.5e8),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_bandwidth_bytes_per_s(text), Ok(want), "{text}");
        }
        assert_eq!(parse_bandwidth_bytes_per_s("unlimited"), Ok(f64::INFINITY));
        for bad in ["", "1Gb", "fast", "-1Gbps", "10MB"] {
            assert!(parse_bandwidth_bytes_per_s(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates() {
        let cases: &[(&str, f64)] =
            &[("2/s", 2.0), ("120/m", 2.0), ("100/6h", 100.0 / 21_600.0), ("0.5/s", 0.5), ("60/1m", 1.0)];
        for &(text, want) in cases {
            let got = parse_rate_per_s(text).unwrap();
            assert!((got - want).abs() <= want * 1e-12, "{text}: {got} != {want}");
        }
        for bad in ["", "2/x", "/s", "2/0s", "-1/s", "a/s"] {
            assert!(parse_rate_per_s(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_number_in_a_string_needs_its_unit() {
        assert_eq!(
            parse_size_bytes("700"),
            Err("a size needs a unit, e.g. \"700MB\" or \"700MiB\"; a bare TOML number (no quotes) is bytes"
                .into())
        );
        assert_eq!(
            parse_duration_ns(" 10 "),
            Err(
                "a duration needs a unit, e.g. \"10s\" or \"10m\"; a bare TOML number (no quotes) is seconds"
                    .into()
            )
        );
        assert_eq!(
            parse_bandwidth_bytes_per_s("1.5"),
            Err("a bandwidth needs a unit, e.g. \"1.5Mbps\" (bits) or \"1.5MB/s\" (bytes), or \"unlimited\"; \
                 a bare TOML number (no quotes) is bytes per second"
                .into())
        );
        assert_eq!(
            parse_rate_per_s("3"),
            Err("a rate needs a unit, e.g. \"3/s\" or \"3/m\"; a bare TOML number (no quotes) is per second"
                .into())
        );
        assert!(parse_rate_per_s("2/10").is_err(), "a rate's window is a duration, with its unit");
        assert!(parse_duration_ns("0").unwrap_err().contains("needs a unit"));
    }

    #[test]
    fn human_formats() {
        assert_eq!(fmt_size_human(1.5e9), "1.50 GB");
        assert_eq!(fmt_size_human(512.0), "512 B");
        assert_eq!(fmt_bandwidth_human(125_000_000.0), "1.00 Gbps");
        assert_eq!(fmt_bandwidth_human(f64::INFINITY), "unlimited");
        assert_eq!(fmt_duration_human(1_500_000_000), "1.50s");
        assert_eq!(fmt_duration_human(250_000_000), "250ms");
        assert_eq!(fmt_duration_exact(5_400 * NS_PER_S), "1h30m");
        assert_eq!(fmt_size_exact(30 << 20), "30MiB");
        assert_eq!(fmt_rate_human(0.5), "0.50/s");
    }

    proptest! {
        #[test]
        fn duration_exact_round_trips(ns in 0u64..=u64::MAX / 2) {
            prop_assert_eq!(parse_duration_ns(&fmt_duration_exact(ns)), Ok(ns));
        }

        #[test]
        fn size_exact_round_trips(bytes in 0u64..(1u64 << 52)) {
            prop_assert_eq!(parse_size_bytes(&fmt_size_exact(bytes)), Ok(bytes as f64));
        }

        #[test]
        fn bandwidth_exact_round_trips(bytes in 0u64..(1u64 << 52)) {
            prop_assert_eq!(parse_bandwidth_bytes_per_s(&fmt_bandwidth_exact(bytes)), Ok(bytes as f64));
        }

        #[test]
        fn size_human_round_trips_within_rounding(bytes in 1u64..(1u64 << 50)) {
            let text = fmt_size_human(bytes as f64).replace(' ', "");
            let back = parse_size_bytes(&text).unwrap();
            prop_assert!((back - bytes as f64).abs() <= bytes as f64 * 0.005 + 0.5, "{} -> {} -> {}", bytes, text, back);
        }

        #[test]
        fn bandwidth_human_round_trips_within_rounding(bytes in 1u64..(1u64 << 50)) {
            let text = fmt_bandwidth_human(bytes as f64).replace(' ', "");
            let back = parse_bandwidth_bytes_per_s(&text).unwrap();
            prop_assert!((back - bytes as f64).abs() <= bytes as f64 * 0.005, "{} -> {} -> {}", bytes, text, back);
        }

        #[test]
        fn rate_round_trips(milli in 1u64..10_000_000) {
            let per_s = milli as f64 / 1000.0;
            let text = format!("{}/s", per_s);
            prop_assert_eq!(parse_rate_per_s(&text), Ok(per_s));
        }
    }
}
