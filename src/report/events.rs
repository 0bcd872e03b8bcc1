//! `events.json` (`pullsim run --events`): the kubelet's events about pods' containers as the
//! API server would list them, a `v1` `EventList` whose items look like what
//! `kubectl get events -o json` prints for kubelet events.
//!
//! What each item holds beyond the model's record (`metrics::KubeletEvent`):
//!
//! - Aggregation, as client-go's event correlator counts repeats (`eventLogger`): an event
//!   equal to an earlier one in pod, container, type, reason and message is not a new item; the
//!   earlier item's `count` goes up and its `lastTimestamp` moves. Items stay in the order of
//!   their first occurrence, which is time order. Not modelled: the correlator's rewrite of more
//!   than 10 similar events of an object in 10 minutes into one "(combined from similar events)"
//!   event, the per-object spam filter (a burst of 25 events, then one per 5 minutes) and the
//!   4096-key limit of its cache. So `count`s add up to every event the kubelet records, where
//!   a real cluster may drop some of a long back-off.
//! - Names `<pod>.<hex>` as the recorder makes them: the hexadecimal Unix time in nanoseconds
//!   of the first occurrence, plus one when an earlier item already took that number (the
//!   recorder's clock is never equal twice, a simulation's is), so names are unique.
//! - Synthetic uids in the UUID shape, version 8 ("custom", RFC 9562): pods
//!   `00000000-0000-8000-8000-<pod number>`, events `00000000-0000-8000-8001-<item number>`,
//!   12 hex digits each, pods numbered in creation order from 0, items from 1.
//! - Container names, which scenarios do not give: `container-<i>` for the i-th app container
//!   and `init-<i>` for the i-th init container (from 0, each list counted apart).
//! - Dates from `[simulation] start_time` plus simulated time, RFC 3339 in UTC truncated to the
//!   second (`metav1.Time`); `eventTime` is null as for every event the kubelet's recorder
//!   (core/v1) writes; namespace `default`.

use crate::calendar::UnixTime;
use crate::k8s::events::write_field_path;
use crate::k8s::image_manager::EventType;
use crate::metrics::{KubeletEvent, PullRecord, RunSink, SampleRow};
use crate::time::SimTime;
use std::io::{self, Write};

/// One item: an event and its repeats.
struct Item {
    /// The Unix time in nanoseconds in its name (unique over the run).
    name_ns: u128,
    first: SimTime,
    last: SimTime,
    count: u64,
    pod_seq: u32,
    init: bool,
    container: u32,
    event_type: EventType,
    reason: &'static str,
    message: Box<str>,
}

/// A pod's name and node, and its items (a pod has few: a repeat is looked for among them).
struct PodEvents {
    name: Box<str>,
    node: Box<str>,
    items: Vec<u32>,
}

/// The events of a run, aggregated, in order of first occurrence.
pub struct EventLog {
    start: UnixTime,
    items: Vec<Item>,
    /// By pod number (dense: pods are numbered in creation order).
    pods: Vec<Option<PodEvents>>,
    last_name_ns: Option<u128>,
}

impl EventLog {
    /// An empty log for a run whose time 0 is `start`.
    pub fn new(start: UnixTime) -> EventLog {
        EventLog { start, items: Vec::new(), pods: Vec::new(), last_name_ns: None }
    }

    /// Items so far (an event and its repeats count once).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds one event the kubelet records (events arrive in time order).
    pub fn record(&mut self, e: &KubeletEvent<'_>) {
        let seq = e.pod_seq as usize;
        if self.pods.len() <= seq {
            self.pods.resize_with(seq + 1, || None);
        }
        let pod = self.pods[seq].get_or_insert_with(|| PodEvents {
            name: e.pod.into(),
            node: e.node.into(),
            items: Vec::new(),
        });
        let items = &mut self.items;
        let same = pod.items.iter().map(|&i| i as usize).find(|&i| {
            let it = &items[i];
            it.init == e.init
                && it.container == e.container
                && it.event_type == e.event_type
                && it.reason == e.reason
                && *it.message == *e.message
        });
        if let Some(i) = same {
            let it = &mut items[i];
            it.count += 1;
            it.last = e.at;
            return;
        }
        let ns = self.start.plus(e.at).unix_nanos();
        let name_ns = match self.last_name_ns {
            Some(last) if ns <= last => last + 1,
            _ => ns,
        };
        self.last_name_ns = Some(name_ns);
        pod.items.push(u32::try_from(items.len()).expect("fewer than 2^32 events"));
        items.push(Item {
            name_ns,
            first: e.at,
            last: e.at,
            count: 1,
            pod_seq: e.pod_seq,
            init: e.init,
            container: e.container,
            event_type: e.event_type,
            reason: e.reason,
            message: e.message.into(),
        });
    }

    /// Writes the `EventList`: valid JSON with one item per line, so that `grep` and `head`
    /// see whole events and a large run's file stays compact.
    pub fn write_json<W: Write>(&self, w: W) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(1 << 16, w);
        w.write_all(br#"{"apiVersion":"v1","kind":"EventList","items":["#)?;
        for (i, it) in self.items.iter().enumerate() {
            w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut w, &self.item_json(i + 1, it)).map_err(io::Error::other)?;
        }
        w.write_all(if self.items.is_empty() { b"]}\n" } else { b"\n]}\n" })?;
        w.flush()
    }

    /// `write_json` into memory.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_json(&mut v).expect("writing to memory");
        v
    }

    fn date(&self, t: SimTime) -> String {
        self.start.plus(t).rfc3339_secs()
    }

    fn item_json<'s>(&'s self, number: usize, it: &'s Item) -> EventJson<'s> {
        let p = self.pods[it.pod_seq as usize].as_ref().expect("recorded with its first event");
        let (pod, node) = (&*p.name, &*p.node);
        let mut field_path = String::new();
        write_field_path(&mut field_path, it.init, &container_name(it.init, it.container));
        let first = self.date(it.first);
        EventJson {
            kind: "Event",
            api_version: "v1",
            metadata: MetadataJson {
                name: format!("{pod}.{:x}", it.name_ns),
                namespace: "default",
                uid: format!("00000000-0000-8000-8001-{number:012x}"),
                creation_timestamp: first.clone(),
            },
            involved_object: InvolvedObjectJson {
                kind: "Pod",
                namespace: "default",
                name: pod,
                uid: pod_uid(it.pod_seq),
                api_version: "v1",
                field_path,
            },
            reason: it.reason,
            message: &it.message,
            source: SourceJson { component: "kubelet", host: node },
            first_timestamp: first,
            last_timestamp: self.date(it.last),
            count: it.count,
            event_type: it.event_type.as_str(),
            event_time: None,
            reporting_component: "kubelet",
            reporting_instance: node,
        }
    }
}

/// The name `events.json` gives container `index` of a pod's init or app containers.
pub fn container_name(init: bool, index: u32) -> String {
    if init {
        format!("init-{index}")
    } else {
        format!("container-{index}")
    }
}

/// The uid `events.json` gives pod number `seq` (creation order over the run).
pub fn pod_uid(seq: u32) -> String {
    format!("00000000-0000-8000-8000-{seq:012x}")
}

/// A sink that keeps the kubelet's events in `log` and passes everything else to `inner`.
pub struct WithEvents<'s> {
    pub inner: &'s mut dyn RunSink,
    pub log: EventLog,
}

impl RunSink for WithEvents<'_> {
    fn pull(&mut self, row: &PullRecord<'_>) {
        self.inner.pull(row);
    }
    fn sample(&mut self, row: &SampleRow) {
        self.inner.sample(row);
    }
    fn wants_pull_rows(&self) -> bool {
        self.inner.wants_pull_rows()
    }
    fn event(&mut self, event: &KubeletEvent<'_>) {
        self.log.record(event);
    }
    fn wants_events(&self) -> bool {
        true
    }
}

/// Field order is `kubectl get events -o json`'s (the Go struct's).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    kind: &'static str,
    api_version: &'static str,
    metadata: MetadataJson,
    involved_object: InvolvedObjectJson<'a>,
    reason: &'a str,
    message: &'a str,
    source: SourceJson<'a>,
    first_timestamp: String,
    last_timestamp: String,
    count: u64,
    #[serde(rename = "type")]
    event_type: &'static str,
    /// Always null: the kubelet's recorder sets the two timestamps instead.
    event_time: Option<String>,
    reporting_component: &'static str,
    reporting_instance: &'a str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct MetadataJson {
    name: String,
    namespace: &'static str,
    uid: String,
    creation_timestamp: String,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct InvolvedObjectJson<'a> {
    kind: &'static str,
    namespace: &'static str,
    name: &'a str,
    uid: String,
    api_version: &'static str,
    field_path: String,
}

#[derive(serde::Serialize)]
struct SourceJson<'a> {
    component: &'static str,
    host: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(at: u64, pod_seq: u32, reason: &'static str, message: &'a str) -> KubeletEvent<'a> {
        KubeletEvent {
            at: SimTime(at),
            node: "pool-0",
            pod: "web-0",
            pod_seq,
            init: false,
            container: 0,
            event_type: if reason == "Failed" { EventType::Warning } else { EventType::Normal },
            reason,
            message,
        }
    }

    #[test]
    fn repeats_count_on_the_first_item_and_names_stay_unique() {
        let mut log = EventLog::new(UnixTime::DEFAULT_START);
        log.record(&ev(0, 0, "Pulling", "Pulling image \"a\""));
        log.record(&ev(0, 0, "Failed", "Failed to pull image \"a\": x"));
        log.record(&ev(0, 0, "Failed", "Error: ErrImagePull"));
        log.record(&ev(10_500_000_000, 0, "BackOff", "Back-off pulling image \"a\""));
        log.record(&ev(10_500_000_000, 0, "Failed", "Error: ImagePullBackOff"));
        log.record(&ev(21_000_000_000, 0, "Pulling", "Pulling image \"a\""));
        assert_eq!(log.len(), 5);
        let text = String::from_utf8(log.to_json()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7, "a first line, one line per item, a last line:\n{text}");
        assert_eq!(lines[0], r#"{"apiVersion":"v1","kind":"EventList","items":["#);
        assert!(lines[1..6]
            .iter()
            .all(|l| l.starts_with(r#"{"kind":"Event","apiVersion":"v1","metadata":"#)));
        assert_eq!(lines[6], "]}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!((v["apiVersion"].as_str(), v["kind"].as_str()), (Some("v1"), Some("EventList")));
        let items = v["items"].as_array().unwrap();
        let names: Vec<&str> = items.iter().map(|i| i["metadata"]["name"].as_str().unwrap()).collect();
        // 2025-01-01T00:00:00Z is 1735689600 s; the second event of the same instant takes the
        // next nanosecond.
        assert_eq!(names[0], format!("web-0.{:x}", 1_735_689_600_000_000_000u128));
        assert_eq!(names[1], format!("web-0.{:x}", 1_735_689_600_000_000_001u128));
        assert_eq!(names[3], format!("web-0.{:x}", 1_735_689_610_500_000_000u128));
        assert_eq!(items[0]["count"], 2);
        assert_eq!(items[0]["firstTimestamp"], "2025-01-01T00:00:00Z");
        assert_eq!(items[0]["lastTimestamp"], "2025-01-01T00:00:21Z");
        assert_eq!(items[3]["lastTimestamp"], "2025-01-01T00:00:10Z");
        assert_eq!(items[1]["type"], "Warning");
        assert_eq!(items[4]["message"], "Error: ImagePullBackOff");
        assert_eq!(items[4]["metadata"]["uid"], "00000000-0000-8000-8001-000000000005");
        assert_eq!(items[0]["involvedObject"]["uid"], "00000000-0000-8000-8000-000000000000");
        assert_eq!(items[0]["involvedObject"]["fieldPath"], "spec.containers{container-0}");
        assert!(items[0]["eventTime"].is_null());
    }

    #[test]
    fn the_same_message_for_another_container_or_pod_is_another_item() {
        let mut log = EventLog::new(UnixTime::DEFAULT_START);
        log.record(&ev(0, 0, "Pulling", "Pulling image \"a\""));
        log.record(&ev(0, 1, "Pulling", "Pulling image \"a\""));
        log.record(&KubeletEvent { init: true, ..ev(0, 0, "Pulling", "Pulling image \"a\"") });
        log.record(&KubeletEvent { container: 1, ..ev(0, 0, "Pulling", "Pulling image \"a\"") });
        assert_eq!(log.len(), 4);
        let v: serde_json::Value = serde_json::from_slice(&log.to_json()).unwrap();
        assert_eq!(v["items"][2]["involvedObject"]["fieldPath"], "spec.initContainers{init-0}");
        assert_eq!(v["items"][3]["involvedObject"]["fieldPath"], "spec.containers{container-1}");
    }

    #[test]
    fn an_empty_run_lists_no_items() {
        let text = String::from_utf8(EventLog::new(UnixTime::DEFAULT_START).to_json()).unwrap();
        assert_eq!(text, "{\"apiVersion\":\"v1\",\"kind\":\"EventList\",\"items\":[]}\n");
    }
}
