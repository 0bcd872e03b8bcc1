//! clap definitions, close to the flags of `scenario-format.md`'s command-line section.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Deterministic simulator of container image pulls across a Kubernetes cluster.
///
/// Describe a cluster, registries, images and workloads in a TOML scenario, then `run` it to
/// get per-pod startup times and per-pull timelines, or `compare` kubelet pull settings over
/// many seeds. Same file and seed give byte-identical results.
#[derive(Parser, Debug)]
#[command(
    name = "pullsim",
    version,
    propagate_version = true,
    after_help = "Start with `pullsim init my-cluster.toml`. The scenario file reference (every key, unit and \
                  default) is docs/scenario-format.md in pullsim's repository; docs/README.md lists the guides."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one scenario and write pods.csv, pulls.csv, registries.csv, timeseries.csv and
    /// summary.json (and events.json with --events) into results/<name>/ (or --out).
    Run(RunArgs),
    /// Check a scenario file and report every problem with its line (exit 2 if invalid).
    Validate(ValidateArgs),
    /// Run a grid of variants × seeds in parallel (from [sweep] and/or --set K=V1,V2).
    Sweep(SweepArgs),
    /// Compare serial vs parallel image pulls (max 2, 4, 8, unlimited) over many seeds.
    Compare(CompareArgs),
    /// Find the cheapest variant of a grid that meets every [[slo]] of the scenario, running
    /// as few (variant, seed) pairs as the answer needs.
    Plan(PlanArgs),
    /// Combine sharded sweep folders into one.
    Merge(MergeArgs),
    /// Draw charts (PNG and SVG) from a run or sweep folder.
    Chart(ChartArgs),
    /// Write DIR/report.html: one self-contained page (question, answer per workload, setup,
    /// charts, the command) from a run or sweep folder.
    Report(ReportArgs),
    /// Show what the kubelet would decide for an image, credentials or a node config.
    #[command(subcommand)]
    Explain(ExplainCommand),
    /// Write a commented starter scenario that validates and runs (never over an existing file).
    Init(InitArgs),
    /// Write a scenario from a cluster's documents: kubectl output (nodes, workloads, events),
    /// KubeletConfiguration, containerd config.toml and hosts.toml, image manifests.
    Import(ImportArgs),
    /// Replay the pulls kubelet events observed in a scenario's cluster and fit its registry
    /// and runtime parameters to the observed pull durations.
    Calibrate(CalibrateArgs),
    /// Print a shell completion script, e.g. `pullsim completions bash > ~/.local/share/bash-completion/completions/pullsim`.
    Completions(CompletionsArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The scenario file to create.
    #[arg(default_value = "scenario.toml")]
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Seed (overrides [simulation] seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a key by dotted path, e.g. --set kubelet.serialize_image_pulls=false,
    /// --set registry.docker.io.bandwidth=1Gbps, --set node_pool.workers.count=50.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output folder (default results/<name>/, relative to the current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the output folder even if it holds files pullsim did not write (they are
    /// deleted). Without it, such a folder is refused (exit 2).
    #[arg(long)]
    pub force: bool,
    /// Print engine statistics (events, events per second, peak flows, wall time).
    #[arg(long)]
    pub stats: bool,
    /// Run twice and fail (exit 1) unless both runs produce identical bytes.
    #[arg(long)]
    pub check_determinism: bool,
    /// Check whole-world invariants after every event (slow; for debugging).
    #[arg(long)]
    pub check_invariants: bool,
    /// Also write events.json: the kubelet's events (Pulling, Pulled, Failed, BackOff, ...)
    /// for every pod and container, as a v1 EventList dated from [simulation] start_time.
    #[arg(long)]
    pub events: bool,
    /// Also write report.html: one self-contained page with the question, the answer per
    /// workload, the setup, the charts and the command (as `pullsim report DIR`).
    #[arg(long)]
    pub report: bool,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Overrides to apply before validating.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    pub file: PathBuf,
    /// A grid axis: KEY=V1,V2,... (or a single override KEY=V).
    #[arg(long = "set", value_name = "KEY=V1,V2,...")]
    pub set: Vec<String>,
    /// Seeds per variant (overrides [sweep] seeds).
    #[arg(long)]
    pub seeds: Option<u32>,
    /// Parallel runs (default: number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only slice I of N of the plan (0-based), e.g. --shard 0/4.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// The workload whose startup, makespan and failures fill the table, variants.csv,
    /// startups.csv and the charts (default: [sweep] workload, else the only workload, else the
    /// first that is not a DaemonSet).
    #[arg(long, value_name = "NAME")]
    pub workload: Option<String>,
    /// The smallest paired difference marked significant (*): comma-separated parts, a
    /// percentage of the baseline's mean, a floor for times, a floor for counts (default
    /// 1%,0.1s,1; 0%,0s,0 marks any difference whose 95% CI excludes 0).
    #[arg(long, value_name = "P%,Ts,N")]
    pub min_effect: Option<String>,
    /// Output folder (default results/<name>-sweep/, relative to the current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the output folder even if it holds files pullsim did not write (they are
    /// deleted). Without it, such a folder is refused (exit 2).
    #[arg(long)]
    pub force: bool,
    /// Also write report.html: one self-contained page with the question, the variants'
    /// answers and SLO verdicts, the setup, the charts and the command (not with --shard).
    #[arg(long)]
    pub report: bool,
    /// No progress bar, no table.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    pub file: PathBuf,
    /// Seeds per variant (default: [sweep] seeds, else 10).
    #[arg(long)]
    pub seeds: Option<u32>,
    /// Parallel runs (default: number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder (default results/<name>-compare/, relative to the current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the output folder even if it holds files pullsim did not write (they are
    /// deleted). Without it, such a folder is refused (exit 2).
    #[arg(long)]
    pub force: bool,
    /// The maxParallelImagePulls limits to compare besides serial and unlimited.
    #[arg(long, value_name = "N1,N2,...")]
    pub max_parallel: Option<String>,
    /// Override a key for every variant (KEY=VALUE).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The workload whose startup, makespan and failures fill the table, variants.csv,
    /// startups.csv and the charts (default: [sweep] workload, else the only workload, else the
    /// first that is not a DaemonSet).
    #[arg(long, value_name = "NAME")]
    pub workload: Option<String>,
    /// The smallest paired difference marked significant (*): comma-separated parts, a
    /// percentage of the baseline's mean, a floor for times, a floor for counts (default
    /// 1%,0.1s,1; 0%,0s,0 marks any difference whose 95% CI excludes 0).
    #[arg(long, value_name = "P%,Ts,N")]
    pub min_effect: Option<String>,
    /// Also write report.html: one self-contained page with the question, the variants'
    /// answers and SLO verdicts, the setup, the charts and the command (not with --shard).
    #[arg(long)]
    pub report: bool,
    /// No progress bar, no table.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    pub file: PathBuf,
    /// An axis: KEY=V1,V2,... with its values cheapest first (repeatable, at least one), e.g.
    /// --axis kubelet.max_parallel_image_pulls=1,2,3,4.
    #[arg(long = "axis", value_name = "KEY=V1,V2,...", required = true)]
    pub axis: Vec<String>,
    /// Seeds per variant at most (default: [sweep] seeds, else 10); a variant stops as soon as
    /// its verdict is settled.
    #[arg(long)]
    pub seeds: Option<u32>,
    /// Parallel runs (default: number of cores); the answer and the files do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Override a key for every variant (KEY=VALUE).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output folder (default results/<name>-plan/, relative to the current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the output folder even if it holds files pullsim did not write (they are
    /// deleted). Without it, such a folder is refused (exit 2).
    #[arg(long)]
    pub force: bool,
    /// Also write report.html: the question, the answer with its evidence, the setup and the
    /// command.
    #[arg(long)]
    pub report: bool,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Sharded sweep folders.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output folder for the merged sweep.
    #[arg(long, required = true)]
    pub out: PathBuf,
    /// Replace the output folder even if it holds files pullsim did not write (they are
    /// deleted). Without it, such a folder is refused (exit 2).
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ChartArgs {
    /// A run or sweep results folder.
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run or sweep results folder.
    pub dir: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum ExplainCommand {
    /// Parse an image reference the way the kubelet does and say what it would do.
    Image {
        /// Image reference as written in a pod spec.
        reference: String,
        /// Explicit imagePullPolicy (Always, IfNotPresent, Never); default: from the tag.
        #[arg(long)]
        policy: Option<String>,
        /// The image is already present on the node.
        #[arg(long)]
        present: bool,
        /// The node's architecture (amd64, arm64, ...; uname's x86_64 and aarch64 accepted):
        /// shows the platform the runtime picks and, with --scenario, whether the image has it.
        #[arg(long)]
        arch: Option<String>,
        /// A scenario whose declared image (platforms, registry) to check the reference against.
        #[arg(long)]
        scenario: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Which credential keys match an image, in the order the kubelet tries them.
    Credentials {
        #[arg(long)]
        image: String,
        /// A docker-config key pattern (repeatable), e.g. --key '*.my-registry.example/images'.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Effective kubelet settings of each node pool after defaults, or the validation errors.
    Kubelet {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// `pullsim import`: documents in, one scenario out (docs/import.md).
#[derive(Args, Debug)]
#[command(after_help = "Documents are recognised by content: JSON or YAML (single objects, Lists, several \
documents, JSON lines with other lines between them, /configz output), TOML (containerd's config.toml, \
certs.d/HOST/hosts.toml), shell transcripts around any of these, and `kubectl get events` tables. Every \
value written says where it came from or that it is assumed; the file's header lists the assumptions, \
the documents not used and the conflicts. The result validates and runs as it is. Guide: docs/import.md.")]
pub struct ImportArgs {
    /// Documents to read (e.g. `kubectl get nodes -o json > nodes.json`). A manifest that does
    /// not name its image is given as REF=FILE (`nginx:1.27=nginx-manifest.json`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// The scenario file to write (.toml). Never over an existing file without --force.
    #[arg(long, required = true)]
    pub out: PathBuf,
    /// Set an assumed value instead of the default assumption, by the dotted key of --set:
    /// --assume registry.docker.io.bandwidth=10Gbps, --assume node_pool.nodes.count=50.
    #[arg(long = "assume", value_name = "KEY=VALUE")]
    pub assume: Vec<String>,
    /// Replace the --out file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print nothing on success (notes and warnings still go to stderr).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `pullsim calibrate`: observed pulls in, fitted parameters out (docs/calibrate.md).
#[derive(Args, Debug)]
#[command(
    after_help = "The observed pulls are replayed in the scenario's cluster (each pod on its node at its \
Pulling time, observed nodes matched to the scenario's nodes in sorted order) and each pull's predicted \
duration is compared with the kubelet's \"in X\" (which excludes waiting for the puller). Guide: docs/calibrate.md."
)]
pub struct CalibrateArgs {
    /// Kubelet events: `kubectl get events -o json`, an event exporter's JSON lines, ...
    #[arg(required = true, value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
    /// The scenario of the cluster (e.g. from `pullsim import`).
    #[arg(long, required = true)]
    pub scenario: PathBuf,
    /// A parameter to fit, by the dotted key of --set (repeatable): registry.HOST.per_connection,
    /// registry.HOST.latency, registry.HOST.bandwidth, runtime.unpack_rate,
    /// runtime.unpack_layer_overhead, node_pool.NAME.bandwidth. Default: the per_connection and
    /// latency of the registry whose pulls took the most time, runtime.unpack_rate, and the
    /// per-layer overhead where the images pulled have different layer counts.
    #[arg(long = "fit", value_name = "KEY")]
    pub fit: Vec<String>,
    /// Fit on a share 1-F of the pulls (by pod name) and report the error on the rest.
    #[arg(long, value_name = "F")]
    pub holdout: Option<f64>,
    /// Output folder (default results/<name>-calibration/, relative to the current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the output folder even if it holds files pullsim did not write (they are
    /// deleted). Without it, such a folder is refused (exit 2).
    #[arg(long)]
    pub force: bool,
    /// Print nothing on success (notes still go to stderr).
    #[arg(long, short)]
    pub quiet: bool,
    /// Also write report.html: the fitted values, the errors before and after, why a poor fit
    /// is poor, the fitted scenario's setup and the chart (as `pullsim report DIR`).
    #[arg(long)]
    pub report: bool,
}
