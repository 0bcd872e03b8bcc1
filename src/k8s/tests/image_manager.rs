//! `vectors/image_manager.json`: a small harness (fake runtime, fake clock, back-off, throttle,
//! puller slots, mock pull manager) around the module's `EnsureImageExists` decision functions
//! reproduces every upstream row, once with the serial puller and once with the parallel one.

use super::{load, s, Failures};
use crate::k8s::backoff::Backoff;
use crate::k8s::credentials::{lookup_union, Keyring};
use crate::k8s::image_manager::{
    backoff_event, backoff_key, backoff_message, failed_event, map_pull_error, metric_bool, precheck_full,
    pulling_event, PrecheckDecision, Presence, PullBackoffState, PullGate, PullSlots,
};
use crate::k8s::image_ref::{apply_default_image_tag, parse_image_name};
use crate::k8s::pull_policy::PullPolicy;
use crate::k8s::throttle::{TokenBucket, PULL_QPS_EXCEEDED};
use crate::time::{SimDuration, SimTime};
use serde_json::Value;

/// pullerTestEnv constants (also asserted against the `test_environment` row).
const BACKOFF_INITIAL_S: u64 = 1;
const BACKOFF_MAX_S: u64 = 60;
const CLOCK_STEP_S: u64 = 1;
const POD_UID: &str = "bar";
const RUNTIME_IMAGES: [&str; 1] = ["present_image:latest"];

/// A keyring credential as the harness needs it: a pod secret or a service-account-sourced one.
#[derive(Clone, Debug)]
enum Cred {
    Secret { ns: String, name: String, uid: String },
    ServiceAccount { ns: String, name: String, uid: String },
}

fn coords(v: &Value) -> (String, String, String) {
    (s(v, "namespace").to_string(), s(v, "name").to_string(), s(v, "uid").to_string())
}

/// The mock pull manager of image_manager_test.go: `null` = allow all (`MustAttemptImagePull`
/// false); otherwise false only if one of the pod's credentials (pod secrets, then the node /
/// provider credentials, looked up by the image's repo) is allowed for the requested image.
fn mock_must_attempt(row: &Value, image: &str) -> bool {
    let m = &row["mock_pull_manager"];
    if m.is_null() || m["allow_all"].as_bool() == Some(true) {
        return false;
    }
    let mut pod = Keyring::new();
    for sec in row["pull_secrets"].as_array().unwrap() {
        let (ns, name, uid) = coords(sec);
        pod.add(s(sec, "registry_key"), Cred::Secret { ns, name, uid });
    }
    let mut node = Keyring::new();
    if let Some(creds) = row["registry_credentials"].as_object() {
        for (key, list) in creds {
            for c in list.as_array().unwrap() {
                let (ns, name, uid) = coords(&c["source"]["service_account"]);
                node.add(key, Cred::ServiceAccount { ns, name, uid });
            }
        }
    }
    let repo = parse_image_name(image).expect("valid image").repo;
    let found = lookup_union(&[&pod, &node], &repo);
    let allowed = |field: &str| -> Vec<(String, String, String)> {
        m.get(field)
            .and_then(|a| a.get(image))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(coords).collect())
            .unwrap_or_default()
    };
    let (ok_secrets, ok_sas) = (allowed("allowed_secrets"), allowed("allowed_service_accounts"));
    let mut sa_seen = false;
    for c in &found {
        match c {
            Cred::Secret { ns, name, uid } => {
                if ok_secrets.contains(&(ns.clone(), name.clone(), uid.clone())) {
                    return false;
                }
            }
            // Only the first service-account credential counts (reference §7.2 step 6).
            Cred::ServiceAccount { ns, name, uid } if !sa_seen => {
                sa_seen = true;
                if ok_sas.contains(&(ns.clone(), name.clone(), uid.clone())) {
                    return false;
                }
            }
            Cred::ServiceAccount { .. } => {}
        }
    }
    true
}

/// What one EnsureImageExists call did.
#[derive(Debug, PartialEq)]
struct CallResult {
    runtime_calls: Vec<&'static str>,
    error: Option<String>,
    started: bool,
    finished: bool,
    events: Vec<&'static str>,
    message: String,
}

fn run_sequence(row: &Value, serialized: bool) -> (Vec<CallResult>, (String, String, String)) {
    let image = s(row, "image");
    let policy = PullPolicy::parse(s(row, "pull_policy")).unwrap();
    let gate = row["feature_gates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g.as_str() == Some("KubeletEnsureSecretPulledImages"));
    let inspect_error = row["inspect_error"].as_str();
    let puller_error = row["puller_error"].as_str();
    let qps = row["qps"].as_f64().unwrap();
    let burst = row["burst"].as_u64().unwrap() as u32;
    let mut throttle = (qps > 0.0).then(|| TokenBucket::new(qps as u32, burst));
    let mut state: PullBackoffState<_> = PullBackoffState::new(Backoff::new(
        SimDuration::from_secs(BACKOFF_INITIAL_S),
        SimDuration::from_secs(BACKOFF_MAX_S),
    ));
    let mut slots: PullSlots<()> = if serialized { PullSlots::serial() } else { PullSlots::parallel(None) };
    let mut runtime_images: Vec<String> = RUNTIME_IMAGES.iter().map(|s| s.to_string()).collect();
    let mut now = SimTime(1_700_000_000 * 1_000_000_000);
    let mut labels = (String::new(), String::new(), String::new());
    let mut results = Vec::new();
    for _ in row["calls"].as_array().unwrap() {
        now = now.plus(SimDuration::from_secs(CLOCK_STEP_S));
        let mut r = CallResult {
            runtime_calls: Vec::new(),
            error: None,
            started: false,
            finished: false,
            events: Vec::new(),
            message: String::new(),
        };
        let images_snapshot = runtime_images.clone();
        let out = precheck_full(
            image,
            policy,
            gate,
            |img| match inspect_error {
                Some(e) => Presence::InspectError(e.to_string()),
                None if images_snapshot.iter().any(|i| i == img) => Presence::Present(img.to_string()),
                None => Presence::Absent,
            },
            |_image_ref| mock_must_attempt(row, image),
        );
        if out.called_get_image_ref {
            r.runtime_calls.push("GetImageRef");
        }
        r.events.extend(out.events.iter().map(|e| e.reason));
        labels = (
            policy.metric_label().to_string(),
            metric_bool(out.present_locally).to_string(),
            metric_bool(out.pull_required).to_string(),
        );
        if let Some(reason) = out.decision.reason() {
            r.error = Some(reason.as_str().to_string());
        }
        if let PrecheckDecision::Pull { image: spec_image } = &out.decision {
            let key = backoff_key(POD_UID, image);
            match state.gate(&key, now) {
                PullGate::BackOff => {
                    r.events.push(backoff_event(image).reason);
                    r.error = Some("ImagePullBackOff".to_string());
                    r.message = backoff_message(image, state.previous_failure(&key).map(|s| &**s));
                }
                PullGate::Pull => {
                    r.started = true;
                    r.events.push(pulling_event(image).reason);
                    // The puller: admission, then the throttle, then the CRI.
                    assert!(slots.submit(()).is_some(), "a lone request is admitted at once");
                    let result: Result<(), String> = if throttle.as_mut().is_some_and(|t| !t.try_accept(now))
                    {
                        Err(PULL_QPS_EXCEEDED.to_string())
                    } else {
                        r.runtime_calls.push("PullImage");
                        match puller_error {
                            Some(e) => Err(e.to_string()),
                            None => {
                                r.runtime_calls.push("GetImageSize");
                                if !runtime_images.contains(spec_image) {
                                    runtime_images.push(spec_image.clone());
                                }
                                Ok(())
                            }
                        }
                    };
                    slots.release();
                    match result {
                        Ok(()) => {
                            r.finished = true;
                            r.events.push("Pulled");
                            state.record_success(now);
                        }
                        Err(e) => {
                            let (reason, message) = state.record_failure(&key, image, &e, now);
                            r.events.push(failed_event(image, &e).reason);
                            r.error = Some(reason.as_str().to_string());
                            r.message = message;
                        }
                    }
                }
            }
        }
        results.push(r);
    }
    (results, labels)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

#[test]
fn image_manager_vectors() {
    let rows = load("image_manager.json");
    let mut f = Failures::new("image_manager.json");
    for row in &rows {
        f.checked += 1;
        let kind = s(row, "kind");
        let test = format!("{kind}/{}", s(row, "test"));
        match kind {
            "test_environment" => {
                f.eq(
                    &test,
                    "",
                    "backoff_initial_s",
                    row["backoff_initial_s"].as_u64(),
                    Some(BACKOFF_INITIAL_S),
                );
                f.eq(&test, "", "backoff_max_s", row["backoff_max_s"].as_u64(), Some(BACKOFF_MAX_S));
                f.eq(
                    &test,
                    "",
                    "clock step",
                    row["clock_step_s_before_each_call"].as_u64(),
                    Some(CLOCK_STEP_S),
                );
            }
            "ensure_image_exists_sequence" => {
                let image = s(row, "image");
                for serialized in [true, false] {
                    let mode = if serialized { "serial" } else { "parallel" };
                    let (got, labels) = run_sequence(row, serialized);
                    for (i, (want, got)) in row["calls"].as_array().unwrap().iter().zip(&got).enumerate() {
                        let input = format!("{image} ({mode}, call {})", i + 1);
                        let calls: Vec<String> = got.runtime_calls.iter().map(|c| c.to_string()).collect();
                        f.eq(&test, &input, "runtime_calls", calls, strings(&want["runtime_calls"]));
                        f.eq(&test, &input, "error", got.error.as_deref(), want["error"].as_str());
                        f.eq(
                            &test,
                            &input,
                            "records_started_pulling",
                            got.started,
                            want["records_started_pulling"].as_bool().unwrap(),
                        );
                        f.eq(
                            &test,
                            &input,
                            "records_finished_pulling",
                            got.finished,
                            want["records_finished_pulling"].as_bool().unwrap(),
                        );
                        let events: Vec<String> = got.events.iter().map(|e| e.to_string()).collect();
                        f.eq(&test, &input, "events", events, strings(&want["events"]));
                        let needle = s(want, "message_contains");
                        if !got.message.contains(needle) {
                            f.fail(&test, &input, format!("message {:?} lacks {needle:?}", got.message));
                        }
                    }
                    f.eq(&test, image, "number of calls", got.len(), row["calls"].as_array().unwrap().len());
                    let m = &row["expected_metric_labels"];
                    let want = (
                        s(m, "pull_policy").to_string(),
                        s(m, "present_locally").to_string(),
                        s(m, "pull_required").to_string(),
                    );
                    f.eq(&test, &format!("{image} ({mode})"), "metric labels", labels, want);
                }
            }
            "apply_default_image_tag" => {
                let input = s(row, "input");
                f.eq(
                    &test,
                    input,
                    "output",
                    apply_default_image_tag(input),
                    Ok(s(row, "expected").to_string()),
                );
            }
            "eval_cri_pull_err" => {
                let err = s(row, "cri_error_text");
                let (reason, msg) = map_pull_error(s(row, "image"), err);
                f.eq(&test, err, "error", reason.as_str(), s(row, "expected_error"));
                f.eq(&test, err, "message", msg.as_str(), s(row, "expected_message"));
            }
            "parallel_limit" => {
                let limit = row["max_parallel_image_pulls"].as_i64().unwrap();
                assert!(!row["serialized"].as_bool().unwrap());
                let mut slots: PullSlots<usize> = PullSlots::parallel(Some(limit));
                let mut pull_calls = 0;
                let mut running = Vec::new();
                for i in 0..5 {
                    if let Some(r) = slots.submit(i) {
                        pull_calls += 1;
                        running.push(r);
                    }
                }
                f.eq(&test, "start 5", "PullImage calls", pull_calls, 5);
                for i in 5..7 {
                    if let Some(r) = slots.submit(i) {
                        pull_calls += 1;
                        running.push(r);
                    }
                }
                f.eq(&test, "start 2 more", "PullImage calls", pull_calls, 5);
                for _ in 0..2 {
                    running.remove(0);
                    if let Some(r) = slots.release() {
                        pull_calls += 1;
                        running.push(r);
                    }
                }
                f.eq(&test, "release 2", "PullImage calls", pull_calls, 7);
                for _ in 0..running.len() {
                    assert!(slots.release().is_none());
                }
                f.eq(&test, "release 5", "in flight", slots.in_flight(), 0);
                f.eq(&test, "release 5", "total PullImage calls", pull_calls, 7);
            }
            other => f.fail(other, "", "unknown row kind".to_string()),
        }
    }
    let n = rows.len();
    f.finish(n);
    assert_eq!(n, 30, "image_manager.json row count changed");
}
