//! Published measurements reproduced: the Spegel benchmark (spegel-org/benchmark: AKS, 50 x
//! Standard_D4ds_v5, a DaemonSet created then rolled, without Spegel in 2024-04 and with Spegel
//! v0.0.27 in 2024-10) and the Kraken README benchmark. docs/validation.md has the table these
//! tests check; its numbers are the medians of the result files in the benchmark repository
//! (the kubelet's `Pulled ... in X`, waiting excluded).

use super::run_toml;

/// (size, layers, observed medians without Spegel (create, update), with Spegel v0.0.27).
const SPEGEL_BENCHMARK: [(&str, u32, [f64; 2], [f64; 2]); 6] = [
    ("10MB", 1, [1.43, 1.20], [1.73, 0.11]),
    ("10MB", 4, [1.32, 1.30], [2.05, 0.14]),
    ("100MB", 1, [4.61, 1.61], [3.77, 0.80]),
    ("100MB", 4, [3.30, 1.53], [2.76, 0.66]),
    ("1GB", 1, [27.74, 7.69], [27.86, 9.92]),
    ("1GB", 4, [16.56, 6.23], [17.70, 9.69]),
];

/// The benchmark's cluster: 50 nodes with 12.5 Gbit/s NICs and a 250 MB/s ephemeral disk
/// (Standard_D4ds_v5; the disk bounds unpacking and what Spegel serves), ghcr.io behind its
/// CDN. Two parameters fitted on the four 1 GB medians without Spegel (docs/validation.md):
/// the cold (39 MB/s) and warm (300 MB/s) per-connection rates. Assumed: 200 ms per registry
/// request (a fresh TLS connection from West Europe to ghcr.io, token and CDN redirect folded
/// in). v1 is created on every node at once; at 2 min the DaemonSet rolls to v2 with the
/// default strategy (one node at a time): the benchmark's DaemonSet sets no `updateStrategy`
/// (spegel-org/benchmark `internal/measure/measure.go`), and the result files' start times are
/// one pull apart.
pub fn spegel_benchmark(size: &str, layers: u32, spegel: bool) -> String {
    let mb: f64 = match size {
        "10MB" => 10.0,
        "100MB" => 100.0,
        _ => 1000.0,
    };
    let layer = format!("{{ size = \"{}MB\" }}", mb / f64::from(layers));
    let layers_list = vec![layer; layers as usize].join(", ");
    let p2p = if spegel { "\n[p2p]\nmode = \"spegel\"\nupload = \"250MB/s\"\n" } else { "" };
    format!(
        r#"
[simulation]
name = "spegel-benchmark"
seed = 1
until = "1h"

[kubelet]
registry_pull_qps = 0

[runtime]
unpack_rate = "250MB/s"
container_start = "0.5s"

[[node_pool]]
name = "aks"
count = 50
bandwidth = "12.5Gbps"
disk = "150GiB"

[[registry]]
host = "ghcr.io"
per_connection = "300MB/s"
per_connection_cold = "39MB/s"
latency = "200ms"

[[image]]
ref = "ghcr.io/spegel-org/benchmark:v1-{size}-{layers}"
layers = [ {layers_list} ]

[[image]]
ref = "ghcr.io/spegel-org/benchmark:v2-{size}-{layers}"
layers = [ {layers_list} ]

[[workload]]
name = "benchmark"
kind = "daemonset"
update = {{ at = "2m", image = "ghcr.io/spegel-org/benchmark:v2-{size}-{layers}" }}
[workload.pod]
containers = [ {{ image = "ghcr.io/spegel-org/benchmark:v1-{size}-{layers}" }} ]
{p2p}"#
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The predicted medians (create, update) of one case: pull durations of v1 and of v2.
pub fn predicted_medians(size: &str, layers: u32, spegel: bool) -> [f64; 2] {
    let (_, sink) = run_toml(&spegel_benchmark(size, layers, spegel));
    let of = |v: &str| {
        median(
            sink.pulls
                .iter()
                .filter(|p| p.image.contains(&format!(":{v}-")) && p.result == "ok")
                .map(|p| (p.finished_s.unwrap().0 - p.started_s.unwrap().0) as f64 / 1e9)
                .collect(),
        )
    };
    [of("v1"), of("v2")]
}

/// Every case's relative error, as docs/validation.md states it (rounded to a percent): the
/// fitted 1 GB cases without Spegel within 15%; the rest within the bound the table gives.
#[test]
fn the_spegel_benchmark_medians_are_reproduced() {
    // Upper bounds of |predicted - observed| / observed, in percent, per case and phase, as
    // in docs/validation.md (the measured error rounded up to the next 5%).
    let bounds: [([u32; 2], [u32; 2]); 6] = [
        ([10, 15], [25, 10]),
        ([5, 10], [35, 40]),
        ([15, 10], [10, 10]),
        ([25, 5], [5, 20]),
        ([15, 10], [15, 20]),
        ([10, 10], [15, 50]),
    ];
    let mut report = String::new();
    for ((size, layers, base, spegel), (bb, bs)) in SPEGEL_BENCHMARK.iter().zip(bounds) {
        for (with, observed, bound) in [(false, base, bb), (true, spegel, bs)] {
            let p = predicted_medians(size, *layers, with);
            for i in 0..2 {
                let err = (p[i] - observed[i]).abs() / observed[i] * 100.0;
                report += &format!(
                    "{size}-{layers} {} {}: observed {:.2} predicted {:.2} error {err:.0}%\n",
                    if with { "spegel" } else { "baseline" },
                    ["create", "update"][i],
                    observed[i],
                    p[i]
                );
                assert!(err <= f64::from(bound[i]), "over {}%:\n{report}", bound[i]);
                if !with && *size == "1GB" {
                    assert!(err <= 15.0, "a fitted case over 15%:\n{report}");
                }
            }
        }
    }
    println!("{report}");
}

/// Kraken's README: 2,600 hosts pull a 3 GB image of 2 layers at once, 300 MB/s per agent:
/// p50 10 s, p99 18 s, p99.9 22 s. At 520 hosts (the full 2,600 runs in
/// `scripts/validate-distribution.sh`), the p50 and p99 within 20%.
#[test]
fn the_kraken_benchmark_percentiles_are_reproduced() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/kraken-2600-hosts.toml"))
            .unwrap()
            .replace("count = 2600", "count = 520");
    let (_, sink) = run_toml(&text);
    let mut d: Vec<f64> =
        sink.pulls.iter().map(|p| (p.finished_s.unwrap().0 - p.started_s.unwrap().0) as f64 / 1e9).collect();
    d.sort_by(f64::total_cmp);
    let q = |p: f64| d[((p * d.len() as f64).ceil() as usize).max(1) - 1];
    let (p50, p99) = (q(0.5), q(0.99));
    assert!((p50 - 10.0).abs() / 10.0 <= 0.20, "p50 {p50}");
    assert!((p99 - 18.0).abs() / 18.0 <= 0.20, "p99 {p99}");
}
