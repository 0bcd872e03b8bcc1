//! `vectors/backoff.json`: client-go `flowcontrol.Backoff` tables and the kubelet ladder.

use super::{load, s, Failures};
use crate::k8s::backoff::Backoff;
use crate::time::{SimDuration, SimTime};

fn secs(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key}"))
}

#[test]
fn backoff_vectors() {
    let rows = load("backoff.json");
    let mut f = Failures::new("backoff.json");
    let sec = SimDuration::from_secs;
    for row in &rows {
        f.checked += 1;
        let test = s(row, "test");
        let mut b: Backoff<&str> = Backoff::new(sec(secs(row, "initial")), sec(secs(row, "max")));
        let id = "id";
        let mut now = SimTime(1_000 * 1_000_000_000); // arbitrary non-zero start, like time.Now()
        match test {
            "TestSlowBackoff" => {
                let want: Vec<u64> = row["expected_get_sequence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect();
                let mut got = Vec::new();
                for _ in 0..10 {
                    now = now.plus(sec(1));
                    got.push(b.get(&id).0 / 1_000_000_000);
                    b.next(&id, now);
                }
                f.eq(test, "", "Get sequence", got, want);
                b.next(&id, now);
                b.reset(&id);
                f.eq(test, "", "Get after Reset", b.get(&id), SimDuration::ZERO);
            }
            "TestIsInBackOffSinceUpdate" => {
                let start = now;
                for r in row["rows"].as_array().unwrap() {
                    let tick = secs(r, "tick");
                    now = start.plus(sec(tick));
                    let want_in = r["in_backoff"].as_bool().unwrap();
                    let got_in = b.is_in_backoff_since_update(&id, now);
                    f.eq(test, &format!("tick={tick}"), "in_backoff", got_in, want_in);
                    if want_in {
                        f.eq(
                            test,
                            &format!("tick={tick}"),
                            "Get",
                            b.get(&id),
                            sec(secs(r, "backoff_value_if_in_backoff")),
                        );
                    } else {
                        b.next(&id, now);
                    }
                }
            }
            "TestBackoffHighWaterMark" => {
                for _ in 0..6 {
                    now = now.plus(sec(1));
                    b.next(&id, now);
                }
                now = now.plus(sec(6));
                b.next(&id, now);
                f.eq(test, "", "Get", b.get(&id), sec(secs(row, "expected_get")));
            }
            "TestBackoffGC" => {
                for _ in 0..6 {
                    now = now.plus(sec(1));
                    b.next(&id, now);
                }
                now = now.plus(sec(6));
                b.gc(now);
                f.eq(test, "+6s", "entry kept", b.len(), 1);
                now = now.plus(sec(6));
                b.gc(now);
                f.eq(test, "+12s", "entry removed", b.len(), 0);
            }
            "TestAlternateHasExpiredFunc/default expiration" => {
                b.next(&id, now);
                f.eq(test, "t0", "Get", b.get(&id), sec(1));
                now = now.plus(sec(5));
                b.next(&id, now);
                if b.get(&id) < sec(2) {
                    f.fail(test, "+5s", format!("Get {:?} < 2s", b.get(&id)));
                }
                now = now.plus(sec(101));
                b.next(&id, now);
                f.eq(test, "+101s", "Get (reset to initial)", b.get(&id), sec(1));
            }
            "derived:kubelet-image-pull-ladder" => {
                let start = SimTime::ZERO;
                let mut t = start;
                for step in row["sequence"].as_array().unwrap() {
                    let at = secs(step, "failure_at");
                    // The retry is allowed exactly at the previous next_allowed_attempt_at.
                    let input = format!("failure_at={at}");
                    f.eq(test, &input, "failure time", t, start.plus(sec(at)));
                    f.eq(test, &input, "allowed", b.is_in_backoff_since_update(&id, t), false);
                    b.next(&id, t);
                    f.eq(test, &input, "backoff_after", b.get(&id), sec(secs(step, "backoff_after")));
                    let next = t.plus(b.get(&id));
                    f.eq(
                        test,
                        &input,
                        "next_allowed_attempt_at",
                        next,
                        start.plus(sec(secs(step, "next_allowed_attempt_at"))),
                    );
                    // One nanosecond earlier is still in back-off.
                    f.eq(
                        test,
                        &input,
                        "in back-off just before",
                        b.is_in_backoff_since_update(&id, SimTime(next.0 - 1)),
                        true,
                    );
                    t = next;
                }
            }
            other => f.fail(other, "", "unknown backoff vector (no harness for it)".to_string()),
        }
    }
    let n = rows.len();
    f.finish(n);
    assert_eq!(n, 6, "backoff.json row count changed");
}
