//! Kubelet image events (`Event`, `EventList`, `events.k8s.io/v1` events, an event exporter's
//! JSON lines, the rows of a `kubectl get events` or `kubectl describe` table): the pulls they
//! observed. Pure: no IO, no scenario; the calibrator reads the same observations.
//!
//! A pull is its `Pulled` event, `Successfully pulled image "X" in D1 (D2 including waiting).
//! Image size: N bytes.`, in every form since Kubernetes 1.19: `in D1` alone (1.19 to the
//! early 1.2x; nanosecond precision), with `(D2 including waiting)` (1.26, and late patches of
//! 1.23 to 1.25), with `Image size` (1.30 on; durations truncated to milliseconds). D1 runs from
//! when the puller starts the pull, D2 from the `Pulling` event (it includes the wait for a
//! puller slot). Durations are Go's (`1m17.973s`, `850ms`, `9.745953091s`). The pull started at
//! its `Pulling` event, matched by pod and image; without one, at the `Pulled` event's time
//! less D2 (or D1).
//!
//! Events repeat: an exporter writes an event again each time it is updated. They are
//! deduplicated by `metadata.uid`, keeping the last version.

use super::error::{child, opt_str, opt_u64, ImportError, Origin};
use crate::calendar::UnixTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// The parts of a `Pulled` message of a successful pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledMessage {
    pub image: String,
    /// "in D1": nanoseconds; `None` before Kubernetes 1.19, which gave no duration.
    pub in_ns: Option<u64>,
    /// "(D2 including waiting)".
    pub including_waiting_ns: Option<u64>,
    /// "Image size: N bytes."
    pub size_bytes: Option<u64>,
}

/// A Go-quoted string at the start of `s` (`"a\"b"`), unquoted, and the rest.
fn go_unquote(s: &str) -> Option<(String, &str)> {
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &rest[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
            c => out.push(c),
        }
    }
    None
}

/// Reads a `Pulled` message of a successful pull; `Err` with what is wrong when it starts like
/// one but its durations do not read; `Ok(None)` for any other message.
pub fn parse_pulled(message: &str) -> Result<Option<PulledMessage>, String> {
    let Some(rest) = message.trim().strip_prefix("Successfully pulled image ") else { return Ok(None) };
    let (image, rest) = go_unquote(rest).ok_or("the image name is not a quoted string")?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(Some(PulledMessage { image, in_ns: None, including_waiting_ns: None, size_bytes: None }));
    }
    let rest = rest
        .strip_prefix("in ")
        .ok_or_else(|| format!("expected `in DURATION` after the image, got {rest:?}"))?;
    let end = rest.find([' ', '(']).unwrap_or(rest.len());
    let (d1, mut rest) = rest.split_at(end);
    let d1 = d1.trim_end_matches('.');
    let in_ns =
        crate::units::parse_duration_ns(d1).map_err(|_| format!("the duration {d1:?} does not read"))?;
    rest = rest.trim_start();
    let mut including_waiting_ns = None;
    if let Some(r) = rest.strip_prefix('(') {
        let (d2, after) =
            r.split_once(" including waiting)").ok_or("expected `(DURATION including waiting)`")?;
        including_waiting_ns = Some(
            crate::units::parse_duration_ns(d2).map_err(|_| format!("the duration {d2:?} does not read"))?,
        );
        rest = after;
    }
    let mut size_bytes = None;
    if let Some(i) = rest.find("Image size: ") {
        let n = rest[i + "Image size: ".len()..].split_whitespace().next().unwrap_or("");
        let size: u64 = n.parse().map_err(|_| format!("the image size {n:?} is not a number of bytes"))?;
        if i64::try_from(size).is_err() {
            return Err(format!("the image size {n} is beyond 2^63-1 bytes"));
        }
        size_bytes = Some(size);
    }
    Ok(Some(PulledMessage { image, in_ns: Some(in_ns), including_waiting_ns, size_bytes }))
}

/// The image of a `Pulling image "X"` message.
pub fn parse_pulling(message: &str) -> Option<String> {
    go_unquote(message.trim().strip_prefix("Pulling image ")?).map(|(i, _)| i)
}

/// One observed pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedPull {
    pub namespace: String,
    pub pod: String,
    pub node: Option<String>,
    pub image: String,
    /// When it started (the `Pulling` event), if the events carry times.
    pub pulling_at: Option<UnixTime>,
    /// The age column of a table row (`41m`), when that is all there is.
    pub age: Option<String>,
    pub in_ns: u64,
    pub including_waiting_ns: Option<u64>,
    pub size_bytes: Option<u64>,
    pub origin: Origin,
}

/// One event, as read.
#[derive(Clone, Debug)]
struct Event {
    reason: String,
    message: String,
    namespace: String,
    pod: String,
    kind: String,
    node: Option<String>,
    first: Option<UnixTime>,
    last: Option<UnixTime>,
    age: Option<String>,
    origin: Origin,
    path: String,
}

/// Everything the events say.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub pulls: Vec<ObservedPull>,
    /// `Pulled` events of an image already present (no pull).
    pub present: usize,
    /// `Failed` pull events and `BackOff` events.
    pub failed: usize,
    pub backoff: usize,
    /// Events seen again under the same uid.
    pub duplicates: usize,
    /// `Pulled` events of a successful pull without durations (before Kubernetes 1.19).
    pub without_duration: Vec<(Origin, String)>,
    pub events: usize,
}

/// Collects events from any number of documents, then pairs them into pulls.
#[derive(Debug, Default)]
pub struct Collector {
    by_uid: BTreeMap<String, usize>,
    events: Vec<Event>,
    duplicates: usize,
}

/// Whether `v` is an event (v1 or events.k8s.io/v1, with or without `kind`, or a table row).
pub fn is_event(v: &Value) -> bool {
    match v.get("kind").and_then(Value::as_str) {
        Some(k) => k == "Event",
        None => {
            (v.get("involvedObject").is_some() || v.get("regarding").is_some()) && v.get("reason").is_some()
        }
    }
}

fn time(o: &Origin, v: &Value, path: &str, key: &str) -> Result<Option<UnixTime>, ImportError> {
    match opt_str(o, v, path, key)? {
        None | Some("") => Ok(None),
        Some(s) => UnixTime::parse_rfc3339(s)
            .map(Some)
            .map_err(|e| o.err(&child(path, key), format!("expected an RFC 3339 time, got {s:?}: {e}"))),
    }
}

impl Collector {
    /// Adds the event `v` at `path` of a document from `o`.
    pub fn add(&mut self, o: &Origin, v: &Value, path: &str) -> Result<(), ImportError> {
        let new_api = v.get("regarding").is_some();
        let (obj_key, msg_key) = if new_api { ("regarding", "note") } else { ("involvedObject", "message") };
        let obj = v.get(obj_key).unwrap_or(&Value::Null);
        let op = child(path, obj_key);
        let reason = opt_str(o, v, path, "reason")?.unwrap_or("").to_string();
        let message = opt_str(o, v, path, msg_key)?.unwrap_or("").to_string();
        let source = v.get(if new_api { "deprecatedSource" } else { "source" }).unwrap_or(&Value::Null);
        let node = opt_str(o, source, &child(path, "source"), "host")?
            .or(opt_str(o, v, path, "reportingInstance")?)
            .filter(|h| !h.is_empty())
            .map(str::to_string);
        let (first_key, last_key) = if new_api {
            ("deprecatedFirstTimestamp", "deprecatedLastTimestamp")
        } else {
            ("firstTimestamp", "lastTimestamp")
        };
        let event_time = time(o, v, path, "eventTime")?;
        let first = time(o, v, path, first_key)?.or(event_time);
        let series_last = match v.get("series") {
            Some(s) if s.is_object() => time(o, s, &child(path, "series"), "lastObservedTime")?,
            _ => None,
        };
        let last = time(o, v, path, last_key)?.or(series_last).or(first);
        let _ = opt_u64(o, v, path, "count")?;
        let ev = Event {
            reason,
            message,
            namespace: opt_str(o, obj, &op, "namespace")?.unwrap_or("default").to_string(),
            pod: opt_str(o, obj, &op, "name")?.unwrap_or("").to_string(),
            kind: opt_str(o, obj, &op, "kind")?.unwrap_or("").to_string(),
            node,
            first,
            last,
            age: opt_str(o, v, path, "x-age")?.map(str::to_string),
            origin: o.clone(),
            path: path.to_string(),
        };
        let uid =
            v.get("metadata").and_then(|m| m.get("uid")).and_then(Value::as_str).filter(|u| !u.is_empty());
        match uid.and_then(|u| self.by_uid.get(u).copied()) {
            Some(i) => {
                self.events[i] = ev;
                self.duplicates += 1;
            }
            None => {
                if let Some(u) = uid {
                    self.by_uid.insert(u.to_string(), self.events.len());
                }
                self.events.push(ev);
            }
        }
        Ok(())
    }

    /// How many distinct events were added.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The pulls the events observed, in start order (then node, pod, image).
    pub fn finish(&self) -> Result<Observed, ImportError> {
        let mut out =
            Observed { duplicates: self.duplicates, events: self.events.len(), ..Observed::default() };
        // Where each pod was scheduled ("Successfully assigned NS/POD to NODE").
        let mut scheduled: BTreeMap<(String, String), String> = BTreeMap::new();
        // When each (pod, image) started pulling: the first and last `Pulling` times.
        let mut pulling: BTreeMap<(String, String, String), Vec<UnixTime>> = BTreeMap::new();
        for e in &self.events {
            match e.reason.as_str() {
                "Scheduled" => {
                    if let Some(rest) = e.message.strip_prefix("Successfully assigned ") {
                        if let Some((who, node)) = rest.split_once(" to ") {
                            let (ns, pod) = who.split_once('/').unwrap_or(("default", who));
                            scheduled.insert((ns.to_string(), pod.to_string()), node.trim().to_string());
                        }
                    }
                }
                "Pulling" => {
                    if let Some(image) = parse_pulling(&e.message) {
                        let times = pulling.entry((e.namespace.clone(), e.pod.clone(), image)).or_default();
                        times.extend(e.first.iter().chain(e.last.iter()).copied());
                    }
                }
                "Failed" if e.message.starts_with("Failed to pull image") => out.failed += 1,
                "BackOff" if e.message.starts_with("Back-off pulling image") => out.backoff += 1,
                _ => {}
            }
        }
        for e in &self.events {
            // Only a pod's container pulls images (kind empty: a table row without it).
            if e.reason != "Pulled" || !(e.kind == "Pod" || e.kind.is_empty()) {
                continue;
            }
            if e.message.starts_with("Container image ") && e.message.contains("already present") {
                out.present += 1;
                continue;
            }
            let msg_path = child(&e.path, "message");
            let parsed = parse_pulled(&e.message)
                .map_err(|why| e.origin.err(&msg_path, format!("{why}: {:?}", e.message)))?;
            let Some(m) = parsed else { continue };
            let Some(in_ns) = m.in_ns else {
                out.without_duration.push((e.origin.clone(), msg_path));
                continue;
            };
            let key = (e.namespace.clone(), e.pod.clone(), m.image.clone());
            let waited = m.including_waiting_ns.unwrap_or(in_ns);
            let pulled_at = e.last.or(e.first);
            let pulling_at = match (pulling.get(&key), pulled_at) {
                // The latest Pulling no later than the Pulled event (a retried pull pulls again).
                (Some(times), Some(done)) => {
                    times.iter().filter(|t| **t <= done).max().copied().or(times.iter().min().copied())
                }
                (Some(times), None) => times.iter().max().copied(),
                (None, Some(done)) => Some(minus_ns(done, waited)),
                (None, None) => None,
            };
            out.pulls.push(ObservedPull {
                node: e
                    .node
                    .clone()
                    .or_else(|| scheduled.get(&(e.namespace.clone(), e.pod.clone())).cloned()),
                namespace: e.namespace.clone(),
                pod: e.pod.clone(),
                image: m.image,
                pulling_at,
                age: e.age.clone(),
                in_ns,
                including_waiting_ns: m.including_waiting_ns,
                size_bytes: m.size_bytes,
                origin: e.origin.clone(),
            });
        }
        out.pulls.sort_by(|a, b| {
            (a.pulling_at.is_none(), a.pulling_at, &a.node, &a.namespace, &a.pod, &a.image).cmp(&(
                b.pulling_at.is_none(),
                b.pulling_at,
                &b.node,
                &b.namespace,
                &b.pod,
                &b.image,
            ))
        });
        Ok(out)
    }
}

/// `t` less `ns` nanoseconds (no earlier than 1970).
fn minus_ns(t: UnixTime, ns: u64) -> UnixTime {
    let total = t.unix_nanos().saturating_sub(u128::from(ns));
    UnixTime { secs: (total / 1_000_000_000) as u64, nanos: (total % 1_000_000_000) as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pulled(m: &str) -> PulledMessage {
        parse_pulled(m).unwrap().unwrap()
    }

    #[test]
    fn every_pulled_format() {
        let ms = |ms: u64| Some(ms * 1_000_000);
        // 1.19 to 1.2x: "in" alone, nanoseconds.
        let m = pulled("Successfully pulled image \"us-central1-docker.pkg.dev/p/devel/memory-eater:1.0\" in 5.638046961s");
        assert_eq!((m.in_ns, m.including_waiting_ns, m.size_bytes), (Some(5_638_046_961), None, None));
        // 1.26 (and late 1.23-1.25 patches): with waiting.
        let m = pulled("Successfully pulled image \"602401143452.dkr.ecr.us-east-2.amazonaws.com/amazon/aws-network-policy-agent:v1.0.4-eksbuild.1\" in 9.745953091s (9.745969901s including waiting)");
        assert_eq!(m.including_waiting_ns, Some(9_745_969_901));
        // 1.30 on: milliseconds, minutes, image size.
        let m = pulled("Successfully pulled image \"docker.io/wdenniss/timeserver:3\" in 1m17.973s (1m17.973s including waiting). Image size: 375324301 bytes.");
        assert_eq!((m.in_ns, m.size_bytes), (ms(77_973), Some(375_324_301)));
        let m = pulled("Successfully pulled image \"busybox\" in 850ms (1m21.315s including waiting). Image size: 2166802 bytes.");
        assert_eq!((m.image.as_str(), m.in_ns, m.including_waiting_ns), ("busybox", ms(850), ms(81_315)));
        let m = pulled("Successfully pulled image \"x:1\" in 12.6s (12.6s including waiting). Image size: 309132487 bytes.");
        assert_eq!(m.in_ns, ms(12_600));
        // Before 1.19: no duration.
        assert_eq!(pulled("Successfully pulled image \"x:1\"").in_ns, None);
        assert!(parse_pulled("Successfully pulled image \"x:1\" in soon").is_err());
        assert_eq!(parse_pulled("Container image \"x\" already present on machine").unwrap(), None);
        assert_eq!(parse_pulling("Pulling image \"a/b:1\"").as_deref(), Some("a/b:1"));
    }

    #[test]
    fn pairs_pulling_and_dedups_by_uid() {
        let o = Origin::new("ev.jsonl", None);
        let ev = |uid: &str, reason: &str, msg: &str, t: &str| {
            json!({ "metadata": { "uid": uid }, "reason": reason, "message": msg,
                    "involvedObject": { "kind": "Pod", "name": "p", "namespace": "ns" },
                    "source": { "host": "node-1" }, "firstTimestamp": t, "lastTimestamp": t })
        };
        let mut c = Collector::default();
        c.add(&o, &ev("a", "Pulling", "Pulling image \"x:1\"", "2024-11-10T06:00:00Z"), "").unwrap();
        let done = ev(
            "b",
            "Pulled",
            "Successfully pulled image \"x:1\" in 2s (3s including waiting)",
            "2024-11-10T06:00:03Z",
        );
        c.add(&o, &done, "").unwrap();
        c.add(&o, &done, "").unwrap();
        let obs = c.finish().unwrap();
        assert_eq!(obs.duplicates, 1);
        assert_eq!(obs.pulls.len(), 1);
        let p = &obs.pulls[0];
        assert_eq!(p.pulling_at.unwrap().rfc3339_secs(), "2024-11-10T06:00:00Z");
        assert_eq!(p.node.as_deref(), Some("node-1"));
        assert_eq!(p.including_waiting_ns, Some(3_000_000_000));
    }
}
