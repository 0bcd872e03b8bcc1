//! Fuzzing on stable Rust, with proptest driving the inputs: the scenario loader (structured
//! mutations of valid scenarios, random `--set` overrides), the unit parsers and the image
//! reference parser. Properties: nothing panics; an accepted mutated scenario that is small
//! runs with every invariant checked; parsers round-trip where the grammar says they should.
//!
//! Budget: `PULLSIM_FUZZ_CASES` sets the inputs per target (default 400; the cheap parser
//! targets take 2-4x that: 6,800 inputs in all, a few seconds). `PULLSIM_FUZZ_SEED` picks another deterministic input stream (default 0),
//! so a long run is e.g. `PULLSIM_FUZZ_CASES=200000 PULLSIM_FUZZ_SEED=7 cargo test --release
//! --test it fuzz -- --nocapture`. A failure prints the shrunk input and the seed.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use pullsim::k8s::image_ref;
use pullsim::units;
use std::sync::atomic::{AtomicU64, Ordering};

/// Inputs fuzzed in this process, over all targets (reported by each target).
static FUZZED: AtomicU64 = AtomicU64::new(0);

/// Mutated scenarios that were accepted and run with invariant checks.
static RAN: AtomicU64 = AtomicU64::new(0);

pub(super) fn cases() -> u32 {
    std::env::var("PULLSIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

fn seed() -> u64 {
    std::env::var("PULLSIM_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// A deterministic runner (same inputs every CI run unless `PULLSIM_FUZZ_SEED` changes).
fn runner(cases: u32) -> TestRunner {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed().to_le_bytes());
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 2000, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key))
}

/// Runs one target and reports how many inputs it tried.
pub(super) fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let count = AtomicU64::new(0);
    let result = runner(cases).run(&strategy, |v| {
        count.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    let n = count.load(Ordering::Relaxed);
    let total = FUZZED.fetch_add(n, Ordering::Relaxed) + n;
    if let Err(e) = result {
        panic!("fuzz {name} failed after {n} inputs (PULLSIM_FUZZ_SEED={}): {e}", seed());
    }
    println!(
        "fuzz {name}: {n} inputs, no failure (process total so far {total}; {} accepted scenarios run so far)",
        RAN.load(Ordering::Relaxed)
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario loader

/// Valid scenarios to mutate: the contract examples plus swarm-generated ones.
fn bases() -> Vec<String> {
    let mut v: Vec<String> = ["minimal", "poisson-image-set", "rollout-basics"]
        .iter()
        .filter_map(|n| {
            std::fs::read_to_string(format!("{}/tests/data/examples/{n}.toml", env!("CARGO_MANIFEST_DIR")))
                .ok()
        })
        .collect();
    for seed in 0..12 {
        v.push(super::swarm::generate(seed, super::swarm::SETTINGS[seed as usize % 3]).text);
    }
    v
}

/// Values that stress the loader: wrong types, bounds, units, huge and odd numbers.
const NASTY_VALUES: &[&str] = &[
    "-1",
    "0",
    "1",
    "-0.0",
    "1e308",
    "1e309",
    "1e-300",
    "6148914692",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "4294967296",
    "\"\"",
    "\" \"",
    "\"unlimited\"",
    "\"0s\"",
    "\"1ns\"",
    "\"10Q\"",
    "\"1.5.5GB\"",
    "\"-5MB\"",
    "\"99999999999999999999h\"",
    "\"1/0s\"",
    "\"0/s\"",
    "\"Always\"",
    "\"Never\"",
    "\"a/b:c@sha256:zz\"",
    "\"UPPER/Case\"",
    "true",
    "[]",
    "[1, \"a\"]",
    "{}",
    "{ dist = \"uniform\", min = \"2s\", max = \"1s\" }",
    "{ dist = \"lognormal\", median = \"1MB\", sigma = 1e300 }",
    "{ dist = \"empirical\", values = [], weights = [] }",
    "{ dist = \"empirical\", values = [\"1MB\"], weights = [0] }",
    "{ dist = \"exponential\", mean = \"unlimited\" }",
    "1979-05-27T07:32:00Z",
    "\"{n}\"",
    "\"\\u0000\"",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Replace the value after `=` on a line by one of `NASTY_VALUES`.
    NastyValue(usize, usize),
    /// Move the value of one line to another (right type, wrong key).
    SwapValues(usize, usize),
    /// Insert a character at a byte position (rounded to a char boundary).
    InsertChar(usize, char),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0..NASTY_VALUES.len()).prop_map(|(a, b)| Mutation::NastyValue(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapValues(a, b)),
        (
            any::<usize>(),
            prop_oneof![Just('['), Just(']'), Just('"'), Just('='), Just('\n'), Just('{'), any::<char>()]
        )
            .prop_map(|(a, c)| Mutation::InsertChar(a, c)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    let value_of = |l: &str| l.split_once('=').map(|(_, v)| v.trim().to_string());
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::NastyValue(i, v) => {
            let l = &mut lines[i % n];
            if let Some((k, _)) = l.split_once('=') {
                *l = format!("{k}= {}", NASTY_VALUES[*v]);
            }
        }
        Mutation::SwapValues(a, b) => {
            if let (Some(va), Some(vb)) = (value_of(&lines[a % n]), value_of(&lines[b % n])) {
                for (i, v) in [(a % n, vb), (b % n, va)] {
                    let k = lines[i].split_once('=').map(|(k, _)| k.to_string()).unwrap_or_default();
                    lines[i] = format!("{k}= {v}");
                }
            }
        }
        Mutation::InsertChar(at, c) => {
            let mut t = lines.join("\n");
            let mut at = at % (t.len() + 1);
            while !t.is_char_boundary(at) {
                at -= 1;
            }
            t.insert(at, *c);
            return t;
        }
        Mutation::Truncate(at) => {
            let t = lines.join("\n");
            let mut at = at % (t.len() + 1);
            while !t.is_char_boundary(at) {
                at -= 1;
            }
            return t[..at].to_string();
        }
    }
    lines.join("\n") + "\n"
}

/// Small enough to run in a test: few nodes, pods and images.
fn small(s: &pullsim::scenario::Scenario) -> bool {
    use pullsim::scenario::WorkloadKind;
    let nodes: u64 = s.node_pools.iter().map(|p| u64::from(p.count)).sum();
    let pods: u64 = s
        .workloads
        .iter()
        .map(|w| match &w.kind {
            WorkloadKind::Deployment { replicas, .. } => u64::from(*replicas) * 2,
            WorkloadKind::Batch { count, .. } => u64::from(*count),
            WorkloadKind::Poisson { count, .. } => count.unwrap_or(u64::MAX),
            WorkloadKind::DaemonSet { .. } => nodes,
            WorkloadKind::Replay { pods } => pods.len() as u64,
        })
        .fold(0u64, u64::saturating_add);
    nodes <= 30 && pods <= 200 && s.images.len() <= 100
}

/// Loads (never panics; errors carry a message), and runs what is accepted and small, with
/// every invariant checked, over at most two simulated hours.
pub(super) fn load_and_maybe_run(
    text: &str,
    overrides: &[pullsim::scenario::Override],
) -> Result<(), TestCaseError> {
    let loaded = std::panic::catch_unwind(|| pullsim::scenario::load(text, "fuzz.toml", overrides));
    let Ok(loaded) = loaded else {
        return Err(TestCaseError::fail(format!("loader panicked on:\n{text}\noverrides: {overrides:?}")));
    };
    match loaded {
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(!e.diagnostics.is_empty() && msg.starts_with("fuzz.toml"), "bad error: {msg}");
            prop_assert!(e.diagnostics.iter().all(|d| !d.message.trim().is_empty()), "empty message: {msg}");
        }
        Ok(mut scn) if small(&scn) => {
            // Bounded work: two simulated hours at most, samples at most once a second.
            scn.until = scn.until.min(pullsim::time::SimDuration::from_secs(7200));
            scn.sample_every = scn.sample_every.max(pullsim::time::SimDuration::from_secs(1));
            let seed = scn.seed;
            RAN.fetch_add(1, Ordering::Relaxed);
            let ran = std::panic::catch_unwind(move || {
                let mut sink = pullsim::metrics::NullSink;
                pullsim::sim::run(
                    &scn,
                    seed,
                    &mut sink,
                    pullsim::model::RunOptions { check_invariants: true },
                );
            });
            prop_assert!(
                ran.is_ok(),
                "an accepted scenario panicked when run:\n{text}\noverrides: {overrides:?}"
            );
        }
        Ok(_) => {}
    }
    Ok(())
}

#[test]
fn fuzz_scenario_loader_with_structured_mutations() {
    let bases = bases();
    let strategy = (0..bases.len(), proptest::collection::vec(mutation(), 1..4));
    fuzz("scenario loader (mutations)", cases(), strategy, |(b, muts)| {
        let mut text = bases[b].clone();
        for m in &muts {
            text = apply(&text, m);
        }
        load_and_maybe_run(&text, &[])
    });
}

/// Keys `--set` may address in the bases, plus nonsense.
const OVERRIDE_KEYS: &[&str] = &[
    "simulation.until",
    "simulation.sample_every",
    "simulation.seed",
    "kubelet.serialize_image_pulls",
    "kubelet.max_parallel_image_pulls",
    "kubelet.registry_pull_qps",
    "kubelet.image_pull_backoff.initial",
    "runtime.unpack_rate",
    "node_pool.pool.count",
    "node_pool.pool0.count",
    "node_pool.pool0.disk",
    "node_pool.workers.count",
    "registry.registry.example.bandwidth",
    "registry.reg0.example.latency",
    "registry.reg0.example.failure_rate",
    "workload.web.replicas",
    "workload.w0.pod.containers[0].pull_policy",
    "workload.w0.pod.containers[7].image",
    "image.registry.example/app:v1.platforms",
    "limits.pods",
    "sweep.grid.\"kubelet.registry_burst\"",
    "nosuch.key",
    "node_pool.nosuch.count",
    "workload[99].name",
    "",
    ".",
    "a..b",
    "\"unterminated",
];

#[test]
fn fuzz_scenario_loader_with_random_overrides() {
    let bases = bases();
    let value = prop_oneof![
        (0..NASTY_VALUES.len()).prop_map(|i| NASTY_VALUES[i].to_string()),
        "[ -~]{0,12}",
        any::<i64>().prop_map(|i| i.to_string()),
    ];
    let key = prop_oneof![
        (0..OVERRIDE_KEYS.len()).prop_map(|i| OVERRIDE_KEYS[i].to_string()),
        "[a-z_.\\[\\]0-9\"]{0,20}"
    ];
    let strategy = (0..bases.len(), proptest::collection::vec((key, value), 1..4));
    fuzz("scenario loader (--set)", cases(), strategy, |(b, sets)| {
        let overrides: Vec<pullsim::scenario::Override> =
            sets.into_iter().map(|(key, value)| pullsim::scenario::Override { key, value }).collect();
        load_and_maybe_run(&bases[b], &overrides)
    });
}

#[test]
fn fuzz_scenario_loader_with_arbitrary_text() {
    // Text made of TOML's own tokens, so that it gets past the tokenizer now and then.
    let token = prop_oneof![
        Just("[simulation]\n".to_string()),
        Just("[[node_pool]]\n".to_string()),
        Just("[[workload]]\n".to_string()),
        Just("[workload.pod]\n".to_string()),
        Just("name = \"x\"\n".to_string()),
        Just("count = ".to_string()),
        Just("containers = [ { image = \"a\" } ]\n".to_string()),
        Just("\n".to_string()),
        Just("= ".to_string()),
        (0..NASTY_VALUES.len()).prop_map(|i| format!("{}\n", NASTY_VALUES[i])),
        "\\PC{0,8}",
    ];
    let strategy = proptest::collection::vec(token, 0..30).prop_map(|v| v.concat());
    fuzz("scenario loader (token soup)", cases(), strategy, |text| load_and_maybe_run(&text, &[]));
}

// ---------------------------------------------------------------------------------------------
// Unit parsers

#[test]
fn fuzz_unit_parsers() {
    let unit_text = prop_oneof![
        "\\PC{0,16}",
        "-?[0-9]{0,25}(\\.[0-9]{0,35})?(_[0-9]{1,3})? ?(ns|us|ms|s|m|h|d|B|kB|KB|KiB|MB|MiB|GB|GiB|TB|TiB|bps|Kbps|Mbps|Gbps|Tbps|MB/s|GiB/s|/s|/m|/6h|/0s|x)?",
        "([0-9]{1,4}(h|m|s|ms|us|ns)){1,6}",
    ];
    fuzz("unit parsers", cases() * 4, unit_text, |s| {
        let r = std::panic::catch_unwind(|| {
            (
                units::parse_duration_ns(&s),
                units::parse_size_bytes(&s),
                units::parse_bandwidth_bytes_per_s(&s),
                units::parse_rate_per_s(&s),
            )
        });
        let Ok((d, size, bw, rate)) = r else {
            return Err(TestCaseError::fail(format!("panicked on {s:?}")));
        };
        // What parses is a non-negative number; infinite only for a bandwidth "unlimited".
        for (what, v) in [("size", size), ("bandwidth", bw), ("rate", rate)] {
            if let Ok(x) = v {
                prop_assert!(x >= 0.0 && !x.is_nan(), "{} {:?} parsed to {}", what, s, x);
                prop_assert!(
                    x.is_finite() || (what == "bandwidth" && s.trim() == "unlimited"),
                    "{} {:?} parsed to {}",
                    what,
                    s,
                    x
                );
            }
        }
        // A duration that parses prints back to text that parses to the same nanoseconds.
        if let Ok(ns) = d {
            prop_assert_eq!(units::parse_duration_ns(&units::fmt_duration_exact(ns)), Ok(ns));
        }
        Ok(())
    });
}

#[test]
fn fuzz_unit_round_trips() {
    fuzz("unit round trips", cases() * 4, (any::<u64>(), 0u64..(1 << 53)), |(ns, bytes)| {
        prop_assert_eq!(units::parse_duration_ns(&units::fmt_duration_exact(ns)), Ok(ns));
        prop_assert_eq!(units::parse_size_bytes(&units::fmt_size_exact(bytes)), Ok(bytes as f64));
        prop_assert_eq!(
            units::parse_bandwidth_bytes_per_s(&units::fmt_bandwidth_exact(bytes)),
            Ok(bytes as f64)
        );
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Image references

/// A reference generated from the distribution/reference grammar: optional domain (with
/// port), path components joined by separators, optional tag, optional sha256 digest.
fn valid_reference() -> impl Strategy<Value = String> {
    let component = "[a-z0-9]{1,6}((\\.|_|__|-{1,3})[a-z0-9]{1,6}){0,2}";
    let domain = prop_oneof![
        Just(String::new()),
        "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){1,2}(:[0-9]{1,5})?/".prop_map(|s| s),
        Just("localhost:5000/".to_string()),
    ];
    let path = proptest::collection::vec(component, 1..4).prop_map(|v| v.join("/"));
    let tag =
        prop_oneof![Just(String::new()), "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}".prop_map(|t| format!(":{t}"))];
    let digest = prop_oneof![Just(String::new()), "[0-9a-f]{64}".prop_map(|h| format!("@sha256:{h}"))];
    (domain, path, tag, digest).prop_map(|(d, p, t, g)| format!("{d}{p}{t}{g}"))
}

#[test]
fn fuzz_image_reference_parser() {
    let input = prop_oneof![
        valid_reference(),
        "\\PC{0,40}",
        "[a-zA-Z0-9./:@_-]{0,60}",
        valid_reference().prop_flat_map(|s| {
            let n = s.len();
            (Just(s), 0..=n, "[A-Z@:/. _-]").prop_map(|(s, i, c)| {
                let mut s = s;
                let mut i = i;
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                s.insert_str(i, &c);
                s
            })
        }),
    ];
    fuzz("image reference parser", cases() * 4, input, |s| {
        let r = std::panic::catch_unwind(|| {
            (
                image_ref::parse(&s),
                image_ref::parse_normalized_named(&s),
                image_ref::parse_docker_ref(&s),
                image_ref::parse_any_reference(&s),
                image_ref::parse_image_name(&s),
            )
        });
        let Ok((parsed, normalized, docker, _any, _name)) = r else {
            return Err(TestCaseError::fail(format!("panicked on {s:?}")));
        };
        // Parse then String() gives the input back.
        if let Ok(r) = &parsed {
            prop_assert_eq!(&r.string(), &s);
        }
        // Normalization is idempotent, and the familiar form normalizes back to the same.
        if let Ok(n) = &normalized {
            let again = image_ref::parse_normalized_named(&n.string());
            prop_assert_eq!(again.as_ref().map(|r| r.string()), Ok(n.string()), "normalizing {:?} twice", s);
            let familiar = image_ref::parse_normalized_named(&n.familiar_string());
            prop_assert_eq!(familiar.map(|r| r.string()), Ok(n.string()), "familiar form of {:?}", s);
            prop_assert!(docker.is_ok(), "{:?}: ParseNormalizedNamed accepts, ParseDockerRef refuses", s);
        }
        Ok(())
    });
}

#[test]
fn fuzz_grammar_references_are_accepted() {
    fuzz("image reference grammar", cases() * 2, valid_reference(), |s| {
        let r = image_ref::parse(&s);
        prop_assert!(r.is_ok(), "{s:?} follows the grammar but was refused: {r:?}");
        prop_assert_eq!(r.unwrap().string(), s);
        Ok(())
    });
}

/// Inputs that once failed, kept as plain tests.
#[test]
fn fuzz_regressions() {
    // A latency of 6148914692 s (195 years, accepted) overflowed the sum of a pull's request
    // round trips (u64 nanoseconds) in the model: `attempt to add with overflow`.
    let base = super::swarm::generate(1, super::swarm::SETTINGS[1]).text;
    let ov = [pullsim::scenario::Override {
        key: "registry.reg0.example.latency".into(),
        value: "6148914692".into(),
    }];
    if let Err(e) = load_and_maybe_run(&base, &ov) {
        panic!("{e}");
    }
    // Same in the runtime: pull_overhead + prelude duration.
    let ov = [pullsim::scenario::Override { key: "runtime.pull_overhead".into(), value: "1e300".into() }];
    if let Err(e) = load_and_maybe_run(&base, &ov) {
        panic!("{e}");
    }
}
