//! Wall-clock instants for outputs that print dates (`events.json`): the scenario's
//! `[simulation] start_time` is the date of simulated time 0.
//!
//! Written out rather than taken from a date crate: RFC 3339 in UTC needs only the conversion
//! between days since 1970-01-01 and a proleptic Gregorian (year, month, day), which is
//! Howard Hinnant's `days_from_civil` / `civil_from_days` (exact integer arithmetic, every
//! date tested against its neighbours). No time zones, no leap seconds (like Unix time and Go's
//! `time.Time`, which the Kubernetes API prints).

use crate::time::{SimTime, NS_PER_S};

/// The last instant a four-digit year can print: 9999-12-31T23:59:59Z.
pub const MAX_UNIX_SECS: u64 = 253_402_300_799;

/// An instant in UTC: seconds and nanoseconds since 1970-01-01T00:00:00Z (never earlier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime {
    pub secs: u64,
    /// Below one second.
    pub nanos: u32,
}

impl UnixTime {
    /// The default `start_time`, 2025-01-01T00:00:00Z: a fixed date, so that outputs do not
    /// depend on when a run was made.
    pub const DEFAULT_START: UnixTime = UnixTime { secs: 1_735_689_600, nanos: 0 };

    /// This instant plus simulated time `t` (a run's time 0 is `self`).
    pub fn plus(self, t: SimTime) -> UnixTime {
        let total = u128::from(self.nanos) + u128::from(t.0);
        let secs = self.secs.saturating_add(u64::try_from(total / u128::from(NS_PER_S)).unwrap_or(u64::MAX));
        UnixTime { secs, nanos: (total % u128::from(NS_PER_S)) as u32 }
    }

    /// Nanoseconds since 1970 (what Go's `UnixNano` gives, without its 2262 limit).
    pub fn unix_nanos(self) -> u128 {
        u128::from(self.secs) * u128::from(NS_PER_S) + u128::from(self.nanos)
    }

    /// Appends the instant as RFC 3339 in UTC, truncated to the second, as the Kubernetes API
    /// prints `metav1.Time` (`2025-01-01T00:00:07Z`). Years past 9999 are not representable;
    /// validation keeps a run's dates below `MAX_UNIX_SECS`.
    pub fn write_rfc3339_secs(self, out: &mut String) {
        let days = self.secs / 86_400;
        let rem = self.secs % 86_400;
        let (y, m, d) = civil_from_days(days as i64);
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        push_padded(out, y as u64, 4);
        out.push('-');
        push_padded(out, u64::from(m), 2);
        out.push('-');
        push_padded(out, u64::from(d), 2);
        out.push('T');
        push_padded(out, hh, 2);
        out.push(':');
        push_padded(out, mm, 2);
        out.push(':');
        push_padded(out, ss, 2);
        out.push('Z');
    }

    /// `write_rfc3339_secs` into a new string.
    pub fn rfc3339_secs(self) -> String {
        let mut s = String::with_capacity(20);
        self.write_rfc3339_secs(&mut s);
        s
    }

    /// Parses an RFC 3339 date-time (section 5.6): `YYYY-MM-DDTHH:MM:SS`, an optional fraction
    /// of a second (up to nanoseconds), then `Z` or a `+HH:MM`/`-HH:MM` offset. `t`, `z` and
    /// a space for `T` are accepted as the RFC allows. Leap seconds (`:60`) and instants before
    /// 1970-01-01T00:00:00Z are refused. The error says what is wrong, without the input.
    pub fn parse_rfc3339(s: &str) -> Result<UnixTime, String> {
        let b = s.as_bytes();
        let num = |from: usize, len: usize, what: &str| -> Result<u64, String> {
            let part = b.get(from..from + len).filter(|p| p.iter().all(u8::is_ascii_digit));
            part.map(|p| p.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0')))
                .ok_or_else(|| format!("expected {len} digits of the {what} at character {}", from + 1))
        };
        let sep = |at: usize, accepted: &[u8], what: &str| -> Result<(), String> {
            match b.get(at) {
                Some(c) if accepted.contains(c) => Ok(()),
                _ => Err(format!("expected {what} at character {}", at + 1)),
            }
        };
        let year = num(0, 4, "year")?;
        sep(4, b"-", "`-` after the year")?;
        let month = num(5, 2, "month")?;
        sep(7, b"-", "`-` after the month")?;
        let day = num(8, 2, "day")?;
        if b.len() == 10 {
            return Err("a date alone is not an instant: add a time and an offset, e.g. T00:00:00Z".into());
        }
        sep(10, b"Tt ", "`T` between the date and the time")?;
        let hour = num(11, 2, "hour")?;
        sep(13, b":", "`:` after the hour")?;
        let minute = num(14, 2, "minute")?;
        sep(16, b":", "`:` after the minutes")?;
        let second = num(17, 2, "seconds")?;
        let mut at = 19;
        let mut nanos = 0u32;
        if b.get(at) == Some(&b'.') {
            let digits = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(format!("expected digits after the `.` at character {}", at + 1));
            }
            if digits > 9 {
                return Err("more than 9 digits of a second (nanoseconds are the finest)".into());
            }
            let frac = num(at + 1, digits, "fraction")?;
            nanos = (frac * 10u64.pow(9 - digits as u32)) as u32;
            at += 1 + digits;
        }
        let offset_s: i64 = match b.get(at) {
            Some(b'Z' | b'z') => {
                at += 1;
                0
            }
            Some(&c @ (b'+' | b'-')) => {
                let oh = num(at + 1, 2, "offset hours")?;
                sep(at + 3, b":", "`:` in the offset")?;
                let om = num(at + 4, 2, "offset minutes")?;
                if oh > 23 || om > 59 {
                    return Err(format!("offset {}{oh:02}:{om:02} out of range", c as char));
                }
                at += 6;
                let o = (oh * 3600 + om * 60) as i64;
                if c == b'-' {
                    -o
                } else {
                    o
                }
            }
            None => return Err("missing the UTC offset: end with `Z` (UTC) or an offset like +02:00".into()),
            Some(_) => return Err(format!("expected `Z` or an offset like +02:00 at character {}", at + 1)),
        };
        if at != b.len() {
            return Err(format!("unexpected text after the offset at character {}", at + 1));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("month {month:02} out of range"));
        }
        let max_day = days_in_month(year as i64, month as u32);
        if day < 1 || day > u64::from(max_day) {
            return Err(format!("day {day:02} out of range for {year:04}-{month:02}"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(format!("time {hour:02}:{minute:02}:{second:02} out of range"));
        }
        let days = days_from_civil(year as i64, month as u32, day as u32);
        let local = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
        let utc = local - offset_s;
        if utc < 0 {
            return Err("before 1970-01-01T00:00:00Z".into());
        }
        if utc as u64 > MAX_UNIX_SECS {
            return Err("after 9999-12-31T23:59:59Z".into());
        }
        Ok(UnixTime { secs: utc as u64, nanos })
    }
}

/// Appends `v` with at least `width` digits, zero-padded.
fn push_padded(out: &mut String, v: u64, width: usize) {
    let digits = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    for _ in digits..width {
        out.push('0');
    }
    crate::units::push_u64(out, v);
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d` (negative before 1970).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = (y - era * 400) as u64; // [0, 399]
    let mp = u64::from(if m > 2 { m - 3 } else { m + 9 }); // March = 0
    let doy = (153 * mp + 2) / 5 + u64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe as i64 - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = (z - era * 146_097) as u64; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe as i64 + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> UnixTime {
        UnixTime::parse_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn known_days() {
        // Unix day numbers checked against `date -u -d @N` by hand.
        let cases = [
            ((1970, 1, 1), 0),
            ((1969, 12, 31), -1),
            ((2000, 1, 1), 10_957),
            ((2000, 2, 29), 11_016),
            ((2000, 3, 1), 11_017),
            ((1900, 3, 1), -25_508),
            ((2024, 2, 29), 19_782),
            ((2025, 1, 1), 20_089),
            ((2100, 3, 1), 47_541),
            ((9999, 12, 31), 2_932_896),
        ];
        for ((y, m, d), days) in cases {
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(days), (y, m, d), "{days}");
        }
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // From 1900-01-01 to 2500-12-31: each day number maps to the calendar's next date.
        let (mut y, mut m, mut d) = (1900, 1, 1);
        for days in days_from_civil(1900, 1, 1)..=days_from_civil(2500, 12, 31) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            assert_eq!(days_from_civil(y, m, d), days);
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn formats_utc_truncated_to_the_second() {
        let t = |secs, nanos| UnixTime { secs, nanos }.rfc3339_secs();
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(1_735_689_600, 0), "2025-01-01T00:00:00Z");
        assert_eq!(t(1_735_689_600 + 7, 999_999_999), "2025-01-01T00:00:07Z", "truncated, not rounded");
        assert_eq!(t(951_782_400 + 86_399, 0), "2000-02-29T23:59:59Z");
        assert_eq!(t(1_731_218_956, 0), "2024-11-10T06:09:16Z");
        assert_eq!(t(MAX_UNIX_SECS, 0), "9999-12-31T23:59:59Z");
        assert_eq!(UnixTime::DEFAULT_START.rfc3339_secs(), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn adds_simulated_time() {
        let start = UnixTime { secs: 100, nanos: 900_000_000 };
        assert_eq!(start.plus(SimTime(0)), start);
        assert_eq!(start.plus(SimTime(100_000_000)), UnixTime { secs: 101, nanos: 0 });
        assert_eq!(start.plus(SimTime(2_350_000_001)), UnixTime { secs: 103, nanos: 250_000_001 });
        assert_eq!(start.plus(SimTime(2_350_000_001)).unix_nanos(), 103_250_000_001);
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse("2025-01-01T00:00:00Z"), UnixTime::DEFAULT_START);
        assert_eq!(parse("1970-01-01T00:00:00Z"), UnixTime { secs: 0, nanos: 0 });
        assert_eq!(parse("2025-01-01t00:00:00z"), UnixTime::DEFAULT_START);
        assert_eq!(parse("2025-01-01 00:00:00Z"), UnixTime::DEFAULT_START);
        assert_eq!(parse("2025-01-01T02:30:00+02:30"), UnixTime::DEFAULT_START);
        assert_eq!(parse("2024-12-31T19:00:00-05:00"), UnixTime::DEFAULT_START);
        assert_eq!(parse("2025-01-01T00:00:00.5Z"), UnixTime { secs: 1_735_689_600, nanos: 500_000_000 });
        assert_eq!(parse("2025-01-01T00:00:00.000000001Z").nanos, 1);
        assert_eq!(parse("2024-02-29T12:00:00Z").rfc3339_secs(), "2024-02-29T12:00:00Z");
        assert_eq!(parse("9999-12-31T23:59:59Z").secs, MAX_UNIX_SECS);
    }

    #[test]
    fn refuses_what_is_not_an_rfc3339_instant() {
        let cases = [
            ("", "digits of the year"),
            ("yesterday", "digits of the year"),
            ("2025-01-01", "a date alone"),
            ("2025-01-01T00:00:00", "missing the UTC offset"),
            ("2025-01-01T00:00Z", "`:` after the minutes"),
            ("2025/01/01T00:00:00Z", "`-` after the year"),
            ("2025-13-01T00:00:00Z", "month 13 out of range"),
            ("2023-02-29T00:00:00Z", "day 29 out of range for 2023-02"),
            ("2025-04-31T00:00:00Z", "day 31 out of range"),
            ("2025-01-00T00:00:00Z", "day 00 out of range"),
            ("2025-01-01T24:00:00Z", "out of range"),
            ("2016-12-31T23:59:60Z", "out of range"),
            ("2025-01-01T00:00:00.Z", "digits after the `.`"),
            ("2025-01-01T00:00:00.0000000001Z", "more than 9 digits"),
            ("2025-01-01T00:00:00+0200", "`:` in the offset"),
            ("2025-01-01T00:00:00+24:00", "out of range"),
            ("2025-01-01T00:00:00ZZ", "unexpected text"),
            ("2025-01-01T00:00:00 UTC", "expected `Z`"),
            ("1969-12-31T23:59:59Z", "before 1970"),
            ("1970-01-01T00:00:00+00:01", "before 1970"),
        ];
        for (s, want) in cases {
            match UnixTime::parse_rfc3339(s) {
                Ok(t) => panic!("{s:?} parsed as {t:?}"),
                Err(e) => assert!(e.contains(want), "{s:?}: {e:?} lacks {want:?}"),
            }
        }
    }

    #[test]
    fn parse_and_format_round_trip() {
        for secs in [0, 59, 86_399, 86_400, 951_868_799, 1_735_689_600, 4_102_444_800, MAX_UNIX_SECS] {
            let t = UnixTime { secs, nanos: 0 };
            assert_eq!(parse(&t.rfc3339_secs()), t);
        }
    }
}
