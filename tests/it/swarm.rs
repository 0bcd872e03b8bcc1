//! Swarm tests: random small scenarios generated from a seed (pools joining over time,
//! registries with latency, failures, outages, rate limits and auth, images with shared layers
//! and platforms, image sets, every workload kind with policies, init containers, secrets and
//! node selectors, disks small enough to trigger GC and `disk_full`, containerd 1.7 or 2.1
//! download limits), each run under the three
//! pull settings (serial, parallel 2, parallel unlimited) with the world's invariants checked
//! after every event (`RunOptions::check_invariants`), then end-state invariants checked on the
//! outputs.
//!
//! `PULLSIM_SWARM_SEEDS=N` runs seeds 0..N (default 300: 900 runs, about 40 s in a debug build);
//! `PULLSIM_SWARM_SEEDS=A..B` runs a range, `PULLSIM_SWARM_SEEDS=17` with
//! `PULLSIM_SWARM_ONE=1` just seed 17. A failure prints the scenario and the command that
//! reproduces it.

use pullsim::metrics::{MemorySink, PullRow, RunOutput};
use pullsim::model::RunOptions;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// How the kubelet hands out pulls on every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Serial,
    Parallel2,
    Unlimited,
}

pub const SETTINGS: [Setting; 3] = [Setting::Serial, Setting::Parallel2, Setting::Unlimited];

impl Setting {
    fn kubelet_lines(self) -> &'static str {
        match self {
            Setting::Serial => "serialize_image_pulls = true\n",
            Setting::Parallel2 => "serialize_image_pulls = false\nmax_parallel_image_pulls = 2\n",
            Setting::Unlimited => "serialize_image_pulls = false\n",
        }
    }

    /// Pulls one node may run at once.
    fn limit(self) -> Option<usize> {
        match self {
            Setting::Serial => Some(1),
            Setting::Parallel2 => Some(2),
            Setting::Unlimited => None,
        }
    }
}

/// A generated scenario and what the generator knows about it (constant sizes, so the bytes a
/// node downloads can be predicted).
pub struct Generated {
    pub text: String,
    /// Image string as containers write it → its layers (layer key, bytes), bottom first.
    images: BTreeMap<String, Vec<(String, u64)>>,
    /// Pool name → images preloaded on its nodes.
    preloaded: BTreeMap<String, Vec<String>>,
    /// Node name prefix (pool name) of every node.
    pools: Vec<String>,
    /// Some image is pulled lazily (its attempt outlives the puller slot it held).
    lazy: bool,
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

/// Builds a random small scenario from `seed` for one pull setting. The same seed gives the
/// same cluster, images and workloads under every setting.
pub fn generate(seed: u64, setting: Setting) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = String::new();
    let until_min = rng.gen_range(10..=60);
    writeln!(t, "[simulation]\nname = \"swarm-{seed}\"\nseed = {seed}\nuntil = \"{until_min}m\"\nsample_every = \"5s\"\n").unwrap();

    // Kubelet: throttle, back-off and GC thresholds vary; the pull setting is the variant.
    t.push_str("[kubelet]\n");
    t.push_str(setting.kubelet_lines());
    let qps = *pick(&mut rng, &[0, 0, 1, 5]);
    writeln!(t, "registry_pull_qps = {qps}\nregistry_burst = {}", rng.gen_range(1..=10)).unwrap();
    if rng.gen_bool(0.5) {
        let initial = rng.gen_range(1..=10);
        writeln!(
            t,
            "image_pull_backoff = {{ initial = \"{initial}s\", max = \"{}s\" }}",
            initial * rng.gen_range(10..=30)
        )
        .unwrap();
    }
    if rng.gen_bool(0.4) {
        let high = rng.gen_range(50..=95);
        writeln!(
            t,
            "image_gc_high_threshold_percent = {high}\nimage_gc_low_threshold_percent = {}",
            rng.gen_range(10..high)
        )
        .unwrap();
        writeln!(t, "image_minimum_gc_age = \"{}s\"", rng.gen_range(0..=120)).unwrap();
    }
    if rng.gen_bool(0.2) {
        writeln!(
            t,
            "image_pull_credentials_verification_policy = \"{}\"",
            pick(
                &mut rng,
                &[
                    "NeverVerify",
                    "NeverVerifyPreloadedImages",
                    "NeverVerifyAllowlistedImages",
                    "AlwaysVerify"
                ]
            )
        )
        .unwrap();
    }
    if rng.gen_bool(0.2) {
        t.push_str("ensure_secret_pulled_images = false\n");
    }
    // The eviction threshold and the max-age pass, from a stream of their own so that every
    // draw above and below stays what it was for each seed.
    let mut gc_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0067_635f_6167_6573);
    if gc_rng.gen_bool(0.5) {
        let v = pick(&mut gc_rng, &["0", "\"5%\"", "\"30%\"", "\"60%\"", "\"200MB\""]);
        writeln!(t, "eviction_hard_imagefs_available = {v}").unwrap();
    }
    if gc_rng.gen_bool(0.3) {
        writeln!(t, "image_maximum_gc_age = \"{}s\"", gc_rng.gen_range(121..=900)).unwrap();
    }

    // The runtime profile comes from a stream of its own, so the rest of each seed's scenario
    // is what it was before profiles were drawn. containerd 2.1 mostly with 3 downloads (its
    // node-wide slots), otherwise with the value drawn (its fallback to the 1.7 path).
    let mut side = ChaCha8Rng::seed_from_u64(seed ^ 0x0072_756e_7469_6d65);
    let containerd_21 = side.gen_bool(0.5);
    let mut downloads = rng.gen_range(1..=4);
    if containerd_21 && side.gen_bool(0.75) {
        downloads = 3;
    }
    // Layer sizes on disk, CRI-O and parallel unpack from a third stream, for the same reason.
    let mut disk_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0064_6973_6b5f_7368);
    let crio = !containerd_21 && disk_rng.gen_bool(0.3);
    let discard = disk_rng.gen_bool(0.5);
    writeln!(
        t,
        "\n[runtime]\nprofile = \"{}\"\nmax_concurrent_downloads = {}\nunpack_rate = \"{}\"\ncontainer_start = \"{}ms\"",
        if containerd_21 {
            "containerd-2.1"
        } else if crio {
            "cri-o"
        } else {
            "containerd-1.7"
        },
        downloads,
        pick(&mut rng, &["unlimited", "50MB/s", "200MB/s", "1GB/s"]),
        rng.gen_range(0..=2000)
    )
    .unwrap();
    if rng.gen_bool(0.3) {
        writeln!(
            t,
            "pull_overhead = {{ dist = \"uniform\", min = \"0s\", max = \"{}ms\" }}",
            rng.gen_range(1..=500)
        )
        .unwrap();
    }
    writeln!(t, "discard_unpacked_layers = {discard}").unwrap();
    if disk_rng.gen_bool(0.3) {
        writeln!(t, "uncompressed_ratio = {}", disk_rng.gen_range(10..=40) as f64 / 10.0).unwrap();
    }
    if disk_rng.gen_bool(0.3) {
        writeln!(t, "unpack_layer_overhead = \"{}ms\"", disk_rng.gen_range(1..=100)).unwrap();
    }
    if containerd_21 && downloads == 3 && !discard && disk_rng.gen_bool(0.5) {
        writeln!(t, "max_concurrent_unpacks = {}", disk_rng.gen_range(2..=4)).unwrap();
    }

    // Registries.
    let n_reg = rng.gen_range(1..=2);
    let mut secrets: Vec<String> = Vec::new();
    for r in 0..n_reg {
        writeln!(t, "\n[[registry]]\nhost = \"reg{r}.example\"").unwrap();
        writeln!(t, "bandwidth = \"{}\"", pick(&mut rng, &["unlimited", "100Mbps", "1Gbps", "10Gbps"]))
            .unwrap();
        writeln!(t, "per_connection = \"{}\"", pick(&mut rng, &["unlimited", "50Mbps", "400Mbps"])).unwrap();
        // A CDN's cold rate, from a stream of its own (the other draws stay as they were).
        let mut cdn_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0063_646e ^ r as u64);
        if cdn_rng.gen_bool(0.3) {
            writeln!(
                t,
                "per_connection_cold = \"{}\"",
                pick(&mut cdn_rng, &["10Mbps", "100Mbps", "unlimited"])
            )
            .unwrap();
        }
        writeln!(t, "latency = \"{}ms\"", rng.gen_range(0..=200)).unwrap();
        writeln!(t, "failure_rate = {}", pick(&mut rng, &[0.0, 0.0, 0.05, 0.2, 0.5])).unwrap();
        if rng.gen_bool(0.3) {
            let from = rng.gen_range(0..until_min);
            writeln!(
                t,
                "outages = [ {{ from = \"{from}m\", to = \"{}m{}s\" }} ]",
                from,
                rng.gen_range(1..=600)
            )
            .unwrap();
        }
        if rng.gen_bool(0.3) {
            writeln!(
                t,
                "rate_limit = {{ pulls = {}, per = \"{}m\", scope = \"{}\" }}",
                rng.gen_range(1..=10),
                rng.gen_range(1..=30),
                pick(&mut rng, &["node", "registry"])
            )
            .unwrap();
        }
        if rng.gen_bool(0.3) {
            t.push_str("auth = \"required\"\n");
        }
        let s = format!("sec{r}");
        writeln!(t, "accepts = [\"{s}\"]").unwrap();
        secrets.push(s);
    }

    // Images: constant layer sizes from a small pool of shared ids, so nodes share blobs.
    let shared: Vec<(String, u64)> =
        (0..4).map(|i| (format!("shared-{i}"), rng.gen_range(1..=200) * 1_000_000)).collect();
    let mut images: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut image_refs: Vec<String> = Vec::new();
    let n_img = rng.gen_range(1..=6);
    let mut lazy = false;
    for i in 0..n_img {
        let reg = rng.gen_range(0..n_reg);
        let tag = pick(&mut rng, &[":v1", ":latest", ""]);
        let r = format!("reg{reg}.example/img{i}{tag}");
        let mut layers = Vec::new();
        let mut toml_layers = Vec::new();
        for k in 0..rng.gen_range(1..=4) {
            if rng.gen_bool(0.5) {
                let (id, size) = pick(&mut rng, &shared).clone();
                if layers.iter().any(|(l, _)| *l == id) {
                    continue;
                }
                toml_layers.push(format!("{{ id = \"{id}\", size = {size} }}"));
                layers.push((id, size));
            } else {
                let size = rng.gen_range(0..=300) * 1_000_000;
                toml_layers.push(format!("{{ size = {size} }}"));
                layers.push((format!("{r}#{k}"), size));
            }
        }
        if layers.is_empty() {
            toml_layers.push("{ size = 1000000 }".into());
            layers.push((format!("{r}#0"), 1_000_000));
        }
        writeln!(t, "\n[[image]]\nref = \"{r}\"\nlayers = [ {} ]", toml_layers.join(", ")).unwrap();
        if rng.gen_bool(0.2) {
            writeln!(t, "platforms = [\"{}\"]", pick(&mut rng, &["amd64", "arm64"])).unwrap();
        }
        // Now and then a lazy image, from a stream of its own (the other draws stay as they were).
        let mut lazy_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6c61_7a79 ^ ((i as u64) << 32));
        if lazy_rng.gen_bool(0.25) {
            writeln!(
                t,
                "lazy = {{ prefetch = \"{}%\", prefetch_timeout = \"{}ms\", read_penalty = \"{}s\" }}",
                lazy_rng.gen_range(0..=100),
                lazy_rng.gen_range(0..=20_000),
                lazy_rng.gen_range(0..=30)
            )
            .unwrap();
            lazy = true;
        }
        images.insert(r.clone(), layers);
        image_refs.push(r);
    }
    let mut set: Option<(String, u32)> = None;
    if rng.gen_bool(0.3) {
        let count = rng.gen_range(1..=8);
        let reg = rng.gen_range(0..n_reg);
        let layer_count = rng.gen_range(1..=3u64);
        let size = rng.gen_range(1..=100) * 1_000_000u64;
        writeln!(
            t,
            "\n[[image_set]]\nname = \"fns\"\ncount = {count}\nref = \"reg{reg}.example/fn-{{n}}:v1\"\nsize = {size}\nlayer_count = {layer_count}\nbase_layers = [ {{ id = \"fn-base\", size = 5000000 }} ]"
        )
        .unwrap();
        for n in 0..count {
            let r = format!("reg{reg}.example/fn-{n}:v1");
            let mut layers = vec![("fn-base".to_string(), 5_000_000)];
            // The size is split evenly; the remainder goes to the top layer.
            for k in 0..layer_count {
                let mut s = size / layer_count;
                if k == layer_count - 1 {
                    s += size % layer_count;
                }
                layers.push((format!("{r}#{k}"), s));
            }
            images.insert(r, layers);
        }
        set = Some(("fns".into(), count));
    }

    // Node pools.
    let n_pools = rng.gen_range(1..=3);
    let mut pools = Vec::new();
    let mut preloaded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in 0..n_pools {
        let name = format!("pool{p}");
        writeln!(t, "\n[[node_pool]]\nname = \"{name}\"\ncount = {}", rng.gen_range(1..=4)).unwrap();
        writeln!(t, "arch = \"{}\"", pick(&mut rng, &["amd64", "amd64", "arm64"])).unwrap();
        writeln!(t, "bandwidth = \"{}\"", pick(&mut rng, &["unlimited", "100Mbps", "1Gbps", "10Gbps"]))
            .unwrap();
        // Small disks trigger image GC and disk_full.
        writeln!(t, "disk = \"{}\"", pick(&mut rng, &["100GiB", "2GB", "600MB", "300MB"])).unwrap();
        if rng.gen_bool(0.5) {
            // A boot time from a stream of its own (the rest of the seed's scenario unchanged).
            let mut boot_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0062_6f6f_7400 ^ p as u64);
            let boot = if boot_rng.gen_bool(0.5) { boot_rng.gen_range(1..=180) } else { 0 };
            writeln!(
                t,
                "join = {{ at = \"{}s\", every = \"{}s\", boot = \"{boot}s\" }}",
                rng.gen_range(0..=300),
                rng.gen_range(0..=120)
            )
            .unwrap();
        }
        if rng.gen_bool(0.3) {
            let pre = pick(&mut rng, &image_refs).clone();
            writeln!(t, "preloaded = [\"{pre}\"]").unwrap();
            preloaded.entry(name.clone()).or_default().push(pre);
        }
        if rng.gen_bool(0.3) {
            writeln!(
                t,
                "credentials = [ {{ match = \"*.example\", secret = \"{}\" }} ]",
                pick(&mut rng, &secrets)
            )
            .unwrap();
        }
        if rng.gen_bool(0.2) {
            writeln!(t, "max_pods = {}", rng.gen_range(1..=5)).unwrap();
        }
        // Allocatable from a stream of its own (the rest of the seed's scenario unchanged).
        let mut alloc_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0061_6c6c_6f63 ^ p as u64);
        if alloc_rng.gen_bool(0.3) {
            let (cpu, mem) = (alloc_rng.gen_range(1..=8), alloc_rng.gen_range(1..=16));
            writeln!(t, "allocatable = {{ cpu = \"{cpu}\", memory = \"{mem}Gi\" }}").unwrap();
        }
        pools.push(name);
    }

    // Workloads of every kind. Latencies and readiness come from a stream of their own, so the
    // rest of each seed's scenario is what it was before they were drawn.
    let mut lat_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006c_6174_656e_6379);
    let n_wl = rng.gen_range(1..=4);
    for w in 0..n_wl {
        let kind = *pick(&mut rng, &["deployment", "daemonset", "poisson", "batch"]);
        writeln!(t, "\n[[workload]]\nname = \"w{w}\"\nkind = \"{kind}\"").unwrap();
        writeln!(t, "start = \"{}s\"", rng.gen_range(0..=600)).unwrap();
        if lat_rng.gen_bool(0.3) {
            let max = lat_rng.gen_range(1..=30);
            writeln!(t, "scheduling_latency = {{ dist = \"uniform\", min = \"0s\", max = \"{max}s\" }}")
                .unwrap();
        }
        if lat_rng.gen_bool(0.3) {
            writeln!(t, "ready_after = \"{}s\"", lat_rng.gen_range(0..=60)).unwrap();
        }
        if kind == "deployment" && lat_rng.gen_bool(0.3) {
            writeln!(t, "min_ready = \"{}s\"", lat_rng.gen_range(0..=60)).unwrap();
        }
        if lat_rng.gen_bool(0.3) {
            let (cpu, mem) = (lat_rng.gen_range(100..=3000), lat_rng.gen_range(128..=4096));
            writeln!(t, "requests = {{ cpu = \"{cpu}m\", memory = \"{mem}Mi\" }}").unwrap();
        }
        match kind {
            "deployment" => {
                writeln!(t, "replicas = {}", rng.gen_range(1..=6)).unwrap();
                if rng.gen_bool(0.3) {
                    writeln!(
                        t,
                        "rollout = {{ max_surge = \"{}%\", max_unavailable = \"{}\" }}",
                        rng.gen_range(1..=100),
                        rng.gen_range(0..=2)
                    )
                    .unwrap();
                    writeln!(
                        t,
                        "update = {{ at = \"{}s\", image = \"{}\" }}",
                        rng.gen_range(60..=1800),
                        pick(&mut rng, &image_refs)
                    )
                    .unwrap();
                }
            }
            "daemonset" => {
                // A rolling update, from a stream of its own (the other draws stay as they were).
                let mut ds_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0064_7375_7064 ^ w as u64);
                if ds_rng.gen_bool(0.3) {
                    let mu = if ds_rng.gen_bool(0.5) {
                        ds_rng.gen_range(0..=3).to_string()
                    } else {
                        format!("\"{}%\"", ds_rng.gen_range(0..=100))
                    };
                    writeln!(
                        t,
                        "rollout = {{ max_unavailable = {mu} }}\nupdate = {{ at = \"{}s\", image = \"{}\" }}",
                        ds_rng.gen_range(60..=1800),
                        pick(&mut ds_rng, &image_refs)
                    )
                    .unwrap();
                }
            }
            "poisson" => {
                writeln!(t, "rate = \"{}/m\"\ncount = {}", rng.gen_range(1..=30), rng.gen_range(1..=10))
                    .unwrap();
            }
            "batch" => {
                writeln!(t, "count = {}\nat = \"{}s\"", rng.gen_range(1..=6), rng.gen_range(0..=900))
                    .unwrap();
            }
            _ => {}
        }
        if rng.gen_bool(0.4) {
            writeln!(t, "image_pull_secrets = [\"{}\"]", pick(&mut rng, &secrets)).unwrap();
        }
        if rng.gen_bool(0.3) {
            writeln!(t, "node_pools = [\"{}\"]", pick(&mut rng, &pools)).unwrap();
        }
        t.push_str("[workload.pod]\n");
        let container = |rng: &mut ChaCha8Rng, init: bool| -> String {
            let mut c = match &set {
                Some((name, _)) if rng.gen_bool(0.25) => {
                    format!("image_set = \"{name}\", pick = \"{}\"", pick(rng, &["sequential", "uniform"]))
                }
                // Now and then an image string the kubelet refuses (InvalidImageName).
                _ if rng.gen_bool(0.03) => "image = \"Not A Valid Ref!\"".to_string(),
                _ => format!("image = \"{}\"", pick(rng, &image_refs)),
            };
            if rng.gen_bool(0.3) {
                write!(c, ", pull_policy = \"{}\"", pick(rng, &["Always", "IfNotPresent", "Never"])).unwrap();
            }
            if init {
                write!(c, ", run_for = \"{}s\"", rng.gen_range(0..=30)).unwrap();
            }
            format!("{{ {c} }}")
        };
        if rng.gen_bool(0.3) {
            let inits: Vec<String> = (0..rng.gen_range(1..=2)).map(|_| container(&mut rng, true)).collect();
            writeln!(t, "init_containers = [ {} ]", inits.join(", ")).unwrap();
        }
        let cs: Vec<String> = (0..rng.gen_range(1..=3)).map(|_| container(&mut rng, false)).collect();
        writeln!(t, "containers = [ {} ]", cs.join(", ")).unwrap();
    }
    // Now and then a prepull (an image-puller DaemonSet), from a stream of its own so the rest
    // of each seed's scenario is what it was before prepulls existed.
    let mut pp_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0070_7265_7075_6c6c);
    if pp_rng.gen_bool(0.3) {
        let imgs: Vec<String> =
            (0..pp_rng.gen_range(1..=3)).map(|_| format!("\"{}\"", pick(&mut pp_rng, &image_refs))).collect();
        writeln!(
            t,
            "\n[[prepull]]\nname = \"warm\"\nimages = [ {} ]\nat = \"{}s\"",
            imgs.join(", "),
            pp_rng.gen_range(0..=600)
        )
        .unwrap();
        if pp_rng.gen_bool(0.3) {
            writeln!(t, "node_pools = [\"{}\"]", pick(&mut pp_rng, &pools)).unwrap();
        }
    }
    // Now and then a shared link and peer-to-peer distribution, from a stream of their own.
    let mut dist_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0070_3270_6c6e_6b00);
    if dist_rng.gen_bool(0.3) {
        writeln!(
            t,
            "\n[[link]]\nname = \"nat\"\nbandwidth = \"{}\"\nshared_address = {}",
            pick(&mut dist_rng, &["5MB/s", "100MB/s", "2GB/s"]),
            dist_rng.gen_bool(0.5)
        )
        .unwrap();
        if dist_rng.gen_bool(0.4) {
            writeln!(t, "node_pools = [\"{}\"]", pick(&mut dist_rng, &pools)).unwrap();
        }
        if dist_rng.gen_bool(0.4) {
            writeln!(t, "registries = [\"reg0.example\"]").unwrap();
        }
    }
    if dist_rng.gen_bool(0.3) {
        let pieces = dist_rng.gen_bool(0.5);
        writeln!(
            t,
            "\n[p2p]\nmode = \"{}\"\nupload = \"{}\"",
            if pieces { "pieces" } else { "spegel" },
            pick(&mut dist_rng, &["10MB/s", "200MB/s", "5GB/s"])
        )
        .unwrap();
        if pieces && dist_rng.gen_bool(0.5) {
            writeln!(t, "tracker_latency = \"{}ms\"", dist_rng.gen_range(0..=5000)).unwrap();
        }
        if dist_rng.gen_bool(0.3) {
            writeln!(t, "per_connection = \"{}\"", pick(&mut dist_rng, &["10MB/s", "1GB/s"])).unwrap();
        }
        if dist_rng.gen_bool(0.3) {
            writeln!(t, "registries = [\"reg0.example\"]").unwrap();
        }
    }
    writeln!(t, "\n[scheduler]\npolicy = \"{}\"", pick(&mut rng, &["spread", "binpack", "image_locality"]))
        .unwrap();
    Generated { text: t, images, preloaded, pools, lazy }
}

/// Pod statuses the kubelet can show, plus the simulator's `Terminated` (deleted by a rollout).
const STATUSES: &[&str] = &[
    "Running",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "Pending",
    "Terminated",
];

/// Pull results the contract and README allow.
fn result_ok(r: &str) -> bool {
    r == "ok"
        || r == "in_progress"
        || r.strip_prefix("failed:").is_some_and(|x| {
            [
                "transient",
                "outage",
                "rate_limited",
                "unauthorized",
                "qps",
                "platform",
                "disk_full",
                "not_found",
            ]
            .contains(&x)
        })
}

/// End-state invariants on the outputs of one run; the first violation, if any.
fn check_outputs(g: &Generated, setting: Setting, out: &RunOutput, sink: &MemorySink) -> Result<(), String> {
    let s = &out.summary;
    for p in &out.pods {
        if !STATUSES.contains(&p.status) {
            return Err(format!("pod {} ends with status {:?}", p.pod_name(), p.status));
        }
        match (p.started_s, p.status) {
            (Some(st), _) if st < p.created_s => {
                return Err(format!("pod {} started before created", p.pod_name()))
            }
            (None, "Running") => return Err(format!("pod {} Running without a start time", p.pod_name())),
            _ => {}
        }
    }
    // The summary's `pods_running` counts pods Running at the end; `pods_failed` the pods
    // neither Running nor Terminated (deleted by a rollout).
    let running = out.pods.iter().filter(|p| p.status == "Running").count() as u64;
    let terminated = out.pods.iter().filter(|p| p.status == "Terminated").count() as u64;
    if running != s.pods_running
        || out.pods.len() as u64 != s.pods
        || s.pods_failed != s.pods - running - terminated
    {
        return Err(format!(
            "summary counts pods {}/{} running/{} failed, rows say {}/{running}/{}",
            s.pods,
            s.pods_running,
            s.pods_failed,
            out.pods.len(),
            s.pods - running - terminated
        ));
    }
    let pulled: u64 = sink.pulls.iter().map(|r| r.bytes).sum();
    if pulled != s.bytes_pulled {
        return Err(format!("pulls.csv bytes sum to {pulled}, summary bytes_pulled = {}", s.bytes_pulled));
    }
    // What peers sent (`[p2p]`) is not a registry's.
    let blob: u64 = out.registries.iter().map(|r| r.blob_bytes).sum::<u64>()
        + out.p2p.as_ref().map_or(0, |p| p.bytes_from_peers);
    if blob != s.bytes_pulled {
        return Err(format!(
            "registries.csv blob_bytes and p2p bytes_from_peers sum to {blob}, summary bytes_pulled = {}",
            s.bytes_pulled
        ));
    }
    if sink.pulls.len() as u64 != s.pulls {
        return Err(format!("pulls.csv has {} rows, summary pulls = {}", sink.pulls.len(), s.pulls));
    }
    // The workloads add up to the pooled figures.
    let sum = |f: fn(&pullsim::metrics::workloads::WorkloadSummary) -> u64| -> u64 {
        out.workloads.iter().map(f).sum()
    };
    let per_workload = [
        sum(|w| w.pods),
        sum(|w| w.pods_failed),
        sum(|w| w.bytes_pulled),
        sum(|w| w.pulls),
        sum(|w| w.pull_failures),
        sum(|w| w.backoffs),
    ];
    let pooled = [s.pods, s.pods_failed, s.bytes_pulled, s.pulls, s.pull_failures, s.backoffs];
    if per_workload != pooled {
        return Err(format!("workloads sum to {per_workload:?} (pods, failed, bytes, pulls, failures, backoffs), pooled {pooled:?}"));
    }
    let mut last_finished = None;
    for r in &sink.pulls {
        if !result_ok(&r.result) {
            return Err(format!("pull row with result {:?}", r.result));
        }
        if r.started_s.is_some_and(|st| st < r.requested_s) {
            return Err(format!("pull {r:?} started before it was requested"));
        }
        if let (Some(st), Some(f)) = (r.started_s, r.finished_s) {
            if f < st {
                return Err(format!("pull {r:?} finished before it started"));
            }
        }
        if r.finished_s.is_none() != (r.result == "in_progress") {
            return Err(format!("pull {r:?}: only a pull in progress at the end has no finish time"));
        }
        // Rows are written as attempts finish: in time order (in-progress ones at the end).
        if let Some(f) = r.finished_s {
            if last_finished.is_some_and(|l| f < l) {
                return Err(format!("pulls.csv out of order at {r:?}"));
            }
            last_finished = Some(f);
        } else {
            last_finished = Some(pullsim::time::SimTime(u64::MAX));
        }
        if let Some(layers) = g.images.get(&r.image) {
            let size: u64 = layers.iter().map(|(_, b)| b).sum();
            if r.bytes > size {
                return Err(format!("pull {r:?} downloaded {} bytes of a {size}-byte image", r.bytes));
            }
        }
    }
    for w in sink.samples.windows(2) {
        if w[1].t_s <= w[0].t_s {
            return Err(format!("timeseries not increasing at {:?}", w[1].t_s));
        }
    }
    // Pulls of one node overlap at most `limit` at a time (serial: never).
    let mut by_node: BTreeMap<&str, Vec<&PullRow>> = BTreeMap::new();
    for r in &sink.pulls {
        by_node.entry(r.node.as_str()).or_default().push(r);
    }
    // A lazy pull frees its puller slot when it is ready, before its row ends: not checked then.
    if let Some(limit) = setting.limit().filter(|_| !g.lazy) {
        for (node, rows) in &by_node {
            let mut edges: Vec<(u64, i32)> = Vec::new();
            for r in rows {
                let Some(st) = r.started_s else { continue };
                let end = r.finished_s.map_or(u64::MAX, |f| f.0);
                if end > st.0 {
                    edges.push((st.0, 1));
                    edges.push((end, -1));
                }
            }
            // Ends sort before starts at the same instant: a slot freed at t can be reused at t.
            edges.sort_by_key(|&(t, d)| (t, d));
            let mut live = 0;
            for (t, d) in edges {
                live += d;
                if live as usize > limit {
                    return Err(format!("node {node} runs {live} pulls at once at {t} ns (limit {limit})"));
                }
            }
        }
    }
    // Bytes downloaded = bytes of layers missing at pull time. Checked exactly where nothing
    // was discarded: no image GC in the run, and no failed attempt on the node moved bytes.
    if out.gc_images_removed == 0 {
        for (node, rows) in &by_node {
            if rows.iter().any(|r| r.result != "ok" && r.bytes > 0) {
                continue;
            }
            let pool = g.pools.iter().find(|p| node.starts_with(p.as_str()));
            let mut present: BTreeSet<&str> = BTreeSet::new();
            for img in pool.and_then(|p| g.preloaded.get(p)).into_iter().flatten() {
                present.extend(g.images[img].iter().map(|(l, _)| l.as_str()));
            }
            let mut expected = 0u64;
            for r in rows.iter().filter(|r| r.result == "ok") {
                let Some(layers) = g.images.get(&r.image) else { continue };
                for (l, b) in layers {
                    if present.insert(l.as_str()) {
                        expected += b;
                    }
                }
            }
            let got: u64 = rows.iter().map(|r| r.bytes).sum();
            if got != expected {
                return Err(format!(
                    "node {node} downloaded {got} bytes; the layers its successful pulls were missing total {expected}"
                ));
            }
        }
    }
    Ok(())
}

/// Runs one seed under one setting; the failure message includes how to reproduce it.
pub fn run_one(seed: u64, setting: Setting) -> Result<(), String> {
    let g = generate(seed, setting);
    let fail = |why: String| {
        format!(
            "swarm seed {seed} ({setting:?}) failed: {why}\nreproduce: PULLSIM_SWARM_SEEDS={seed} PULLSIM_SWARM_ONE=1 \
             cargo test --test it swarm -- --nocapture\nscenario:\n{}",
            g.text
        )
    };
    let scn = pullsim::scenario::load(&g.text, &format!("swarm-{seed}.toml"), &[])
        .map_err(|e| fail(format!("the generated scenario is invalid:\n{e}")))?;
    let res = std::panic::catch_unwind(|| {
        let mut sink = MemorySink::default();
        let out = pullsim::sim::run(&scn, seed, &mut sink, RunOptions { check_invariants: true });
        (out, sink)
    });
    let (out, sink) = res.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        fail(format!("panicked: {msg}"))
    })?;
    check_outputs(&g, setting, &out, &sink).map_err(fail)?;
    // Every fifth seed runs a second time: same scenario and seed, same outputs.
    if seed % 5 == 0 {
        let mut sink2 = MemorySink::default();
        let out2 = pullsim::sim::run(&scn, seed, &mut sink2, RunOptions::default());
        if out2.pods != out.pods
            || out2.summary != out.summary
            || sink2.pulls != sink.pulls
            || sink2.samples != sink.samples
        {
            return Err(fail("a second run of the same seed gave different outputs".into()));
        }
    }
    Ok(())
}

/// The seeds to run: `PULLSIM_SWARM_SEEDS` = N (0..N), A..B, or one seed with PULLSIM_SWARM_ONE.
fn seeds() -> std::ops::Range<u64> {
    let v = std::env::var("PULLSIM_SWARM_SEEDS").unwrap_or_default();
    if let Some((a, b)) = v.split_once("..") {
        return a.trim().parse().unwrap_or(0)..b.trim().parse().unwrap_or(0);
    }
    let n: u64 = v.trim().parse().unwrap_or(300);
    if std::env::var_os("PULLSIM_SWARM_ONE").is_some() {
        n..n + 1
    } else {
        0..n
    }
}

#[test]
fn swarm_random_scenarios_keep_every_invariant() {
    let seeds = seeds();
    let n = seeds.end.saturating_sub(seeds.start);
    let mut failures = Vec::new();
    for seed in seeds {
        for setting in SETTINGS {
            if let Err(e) = run_one(seed, setting) {
                failures.push(e);
            }
        }
    }
    println!("swarm: {n} seeds x {} settings, {} failures", SETTINGS.len(), failures.len());
    for f in &failures {
        println!("  {}", f.lines().next().unwrap_or(""));
    }
    assert!(failures.is_empty(), "{} swarm failures; the first:\n{}", failures.len(), failures[0]);
}

/// Seeds that once failed, run on every `cargo test` whatever `PULLSIM_SWARM_SEEDS` says.
/// 1454, 2321, 2615: a flow that got its (infinite) rate while a network wake-up was being
/// handled was never completed; the next wake-up was scheduled in the past (panic).
const REGRESSION_SEEDS: &[u64] = &[1454, 2321, 2615];

#[test]
fn swarm_regression_seeds() {
    for &seed in REGRESSION_SEEDS {
        for setting in SETTINGS {
            if let Err(e) = run_one(seed, setting) {
                panic!("{e}");
            }
        }
    }
}

#[test]
fn swarm_generator_is_deterministic_and_varied() {
    assert_eq!(generate(5, Setting::Serial).text, generate(5, Setting::Serial).text);
    let kinds: BTreeSet<&str> = (0..40)
        .flat_map(|s| {
            let t = generate(s, Setting::Serial).text;
            [
                "deployment",
                "daemonset",
                "poisson",
                "batch",
                "image_set",
                "outages",
                "rate_limit",
                "init_containers",
                "[[prepull]]",
            ]
            .into_iter()
            .filter(move |k| t.contains(k))
        })
        .collect();
    assert_eq!(kinds.len(), 9, "40 seeds should cover every feature: {kinds:?}");
}
