//! Charts of one run, from `pods.csv`, `timeseries.csv` and `pulls.csv`: `startup-cdf` (one
//! curve per workload), `timeseries` (pulls in flight / queued, pods Running / waiting,
//! registry egress, as steps) and `pulls-gantt` (the nodes that finished pulling last).

use super::data::{ecdf, for_each_row};
use super::{colour, draw_legend, err, font, log_tick, save, tick, upper, Chart};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Draws every run chart that the folder's files allow; returns the files written.
pub fn run_charts(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    // Streamed: only the workload and startup columns are kept (a large run has 10^5 pod
    // rows). One curve per workload, in the order workloads first appear: percentiles that
    // pool a DaemonSet with an application describe neither.
    let mut per_workload: Vec<(String, usize, Vec<f64>)> = Vec::new();
    let mut n_pods = 0usize;
    for_each_row(&dir.join("pods.csv"), &["workload", "startup_s"], |r, c| {
        n_pods += 1;
        let w = r.get(c[0]).unwrap_or("");
        let i = match per_workload.iter().position(|(name, _, _)| name == w) {
            Some(i) => i,
            None => {
                per_workload.push((w.to_string(), 0, Vec::new()));
                per_workload.len() - 1
            }
        };
        per_workload[i].1 += 1;
        per_workload[i].2.extend(r.get(c[1]).and_then(|x| x.parse::<f64>().ok()));
    })?;
    let ran: usize = per_workload.iter().map(|(_, _, v)| v.len()).sum();
    let series = per_workload
        .into_iter()
        .map(|(name, pods, mut v)| {
            v.sort_by(f64::total_cmp);
            (format!("{name}: {} of {pods} ran", v.len()), v)
        })
        .collect();
    let cdf =
        StartupCdf { title: format!("Pod startup latency per workload: {ran} of {n_pods} pods ran"), series };
    written.extend(save(dir, "startup-cdf", &cdf)?);
    if dir.join("timeseries.csv").exists() {
        written.extend(save(dir, "timeseries", &TimeSeries::read(&dir.join("timeseries.csv"))?)?);
    }
    if dir.join("pulls.csv").exists() {
        written.extend(save(dir, "pulls-gantt", &Gantt::read(&dir.join("pulls.csv"))?)?);
    }
    Ok(written)
}

/// Empirical CDFs of startup latency on one axis (one series per run or variant).
pub(crate) struct StartupCdf {
    pub title: String,
    /// (legend, sorted startups in seconds).
    pub series: Vec<(String, Vec<f64>)>,
}

/// The decades (log10 of seconds, whole numbers) of a logarithmic startup axis, when the
/// curves span more than a factor of 30 (the smallest positive startup to the largest);
/// `None` for a linear axis.
fn log_range(series: &[(String, Vec<f64>)]) -> Option<(f64, f64)> {
    let all = || series.iter().flat_map(|(_, v)| v.iter().copied());
    let lo = all().filter(|x| *x > 0.0).fold(f64::INFINITY, f64::min);
    let hi = all().fold(0.0, f64::max);
    (lo.is_finite() && hi / lo > 30.0)
        .then(|| (lo.log10().floor(), hi.log10().ceil().max(lo.log10().floor() + 1.0)))
}

/// A CDF drawn as steps: at each value the curve jumps to its fraction.
fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    let mut prev = 0.0;
    for &(x, y) in points {
        out.push((x, prev * 100.0));
        out.push((x, y * 100.0));
        prev = y;
    }
    out
}

impl Chart for StartupCdf {
    fn size(&self) -> (u32, u32) {
        (1000, 620)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let x_max = upper(self.series.iter().filter_map(|(_, v)| v.last().copied()).fold(0.0, f64::max));
        // Workloads seconds apart and minutes apart share the axis: a logarithmic one then,
        // or the fast curve is a vertical line at 0. `scale` maps seconds to the axis.
        let log = log_range(&self.series);
        let (x_lo, x_hi) = log.unwrap_or((0.0, x_max));
        let scale = |s: f64| match log {
            Some((lo, _)) => s.max(10f64.powf(lo)).log10(),
            None => s,
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, 0.0..100.0)
            .map_err(err)?;
        let x_desc = if log.is_some() {
            "startup latency: pod created → all containers started (s, logarithmic)"
        } else {
            "startup latency: pod created → all containers started (s)"
        };
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .x_labels(if log.is_some() { (x_hi - x_lo) as usize + 1 } else { 10 })
            .x_label_formatter(&|v| if log.is_some() { log_tick(*v) } else { tick(*v, x_max) })
            .y_label_formatter(&|v| format!("{v:.0}%"))
            .y_desc("pods started (% of pods that ran)")
            .axis_desc_style(font(16))
            .label_style(font(14))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        for (i, (name, values)) in self.series.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(
                    steps(&ecdf(values, 2000)).into_iter().map(|(x, y)| (scale(x), y)),
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 14)?;
        Ok(())
    }
}

/// `timeseries.csv`: pulls in flight and queued (top), pods Running and waiting (middle),
/// registry egress (bottom). Each sample holds until the next: drawn as steps.
struct TimeSeries {
    t_s: Vec<f64>,
    in_flight: Vec<f64>,
    queued: Vec<f64>,
    running: Vec<f64>,
    waiting: Vec<f64>,
    egress_gbit_per_s: Vec<f64>,
}

/// Samples as a step line: each value holds until the next sample's time.
fn step_line(t: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(t.len() * 2);
    for (i, (&ti, &yi)) in t.iter().zip(y).enumerate() {
        if i > 0 {
            out.push((ti, y[i - 1]));
        }
        out.push((ti, yi));
    }
    out
}

impl TimeSeries {
    /// Streams timeseries.csv, keeping the four plotted numbers per sample only.
    fn read(path: &Path) -> Result<TimeSeries, String> {
        let cols = [
            "t_s",
            "pulls_in_flight",
            "pulls_queued",
            "pods_running",
            "pods_waiting",
            "registry_egress_bytes_per_s",
        ];
        let mut ts = TimeSeries {
            t_s: Vec::new(),
            in_flight: Vec::new(),
            queued: Vec::new(),
            running: Vec::new(),
            waiting: Vec::new(),
            egress_gbit_per_s: Vec::new(),
        };
        for_each_row(path, &cols, |r, c| {
            let get =
                |i: usize, scale: f64| r.get(c[i]).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0) * scale;
            ts.t_s.push(get(0, 1.0));
            ts.in_flight.push(get(1, 1.0));
            ts.queued.push(get(2, 1.0));
            ts.running.push(get(3, 1.0));
            ts.waiting.push(get(4, 1.0));
            ts.egress_gbit_per_s.push(get(5, 8e-9));
        })?;
        Ok(ts)
    }
}

impl Chart for TimeSeries {
    fn size(&self) -> (u32, u32) {
        (1000, 1020)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let t_max = upper(self.t_s.last().copied().unwrap_or(0.0));
        let (top, rest) = root.split_vertically(340);
        let (middle, bottom) = rest.split_vertically(340);
        self.panel(
            &top,
            "Pull attempts over time (cluster total)",
            "pulls",
            t_max,
            &[
                ("in flight (puller slot held)", &self.in_flight),
                ("queued (waiting for a slot)", &self.queued),
            ],
            false,
        )?;
        self.panel(
            &middle,
            "Pods over time",
            "pods",
            t_max,
            &[("Running", &self.running), ("waiting (pulling, back-off, pending)", &self.waiting)],
            false,
        )?;
        self.panel(
            &bottom,
            "Registry egress (all registries)",
            "egress (Gbit/s)",
            t_max,
            &[("egress", &self.egress_gbit_per_s)],
            true,
        )
    }
}

impl TimeSeries {
    /// One panel of step lines over simulated time; `area` fills under the first line.
    fn panel<DB: DrawingBackend>(
        &self,
        on: &DrawingArea<DB, Shift>,
        title: &str,
        y_desc: &str,
        t_max: f64,
        lines: &[(&str, &Vec<f64>)],
        area: bool,
    ) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let y_max = upper(lines.iter().flat_map(|(_, ys)| ys.iter().copied()).fold(0.0, f64::max));
        let mut chart = ChartBuilder::on(on)
            .caption(title, font(20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..t_max, 0.0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc(y_desc)
            .x_label_formatter(&|v| tick(*v, t_max))
            .y_label_formatter(&|v| tick(*v, y_max))
            .axis_desc_style(font(15))
            .label_style(font(13))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        for (i, (name, ys)) in lines.iter().enumerate() {
            let c = colour(if area { 2 } else { i });
            let points = step_line(&self.t_s, ys);
            if area {
                chart.draw_series(AreaSeries::new(points.iter().copied(), 0.0, c.mix(0.25))).map_err(err)?;
            }
            let drawn = chart.draw_series(LineSeries::new(points, c.stroke_width(2))).map_err(err)?;
            if lines.len() > 1 {
                drawn
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
            }
        }
        if lines.len() > 1 {
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
        }
        Ok(())
    }
}

/// How many nodes and lanes (one lane per pull attempt) the Gantt chart shows at most.
const GANTT_MAX_NODES: usize = 12;
const GANTT_MAX_LANES: usize = 40;

/// One pull attempt in the Gantt chart.
struct Bar {
    requested_s: f64,
    started_s: Option<f64>,
    /// `None` = still in flight at the end: drawn to the end of the axis.
    finished_s: Option<f64>,
    failed: bool,
    label: String,
    /// When the same pod's previous attempt at this image failed: the kubelet's back-off wait
    /// ran from then until this attempt was requested.
    backoff_from_s: Option<f64>,
}

/// Pulls on the nodes that finished pulling last (those that held the run's end back): queued
/// (requested → started), pulling (started → finished), failed attempts, and the back-off
/// waits between a failed attempt and the next.
struct Gantt {
    /// (node, its pulls in request order), the node whose last pull ended last first.
    nodes: Vec<(String, Vec<Bar>)>,
    /// Nodes with pulls, in total.
    total_nodes: usize,
    t_max: f64,
}

/// A node's pulls in the Gantt chart's ranking.
#[derive(Clone, Copy, Default)]
struct NodeLoad {
    /// When its last pull ended (an unfinished pull: the end of the axis).
    last_end_s: f64,
    /// Time from request to result, summed over its pulls.
    busy_s: f64,
    pulls: usize,
}

/// Adds one pull to its node's load (allocating the name only for a new node).
fn add_busy(per_node: &mut BTreeMap<String, NodeLoad>, node: &str, requested_s: f64, end_s: f64) {
    let e = match per_node.get_mut(node) {
        Some(e) => e,
        None => per_node.entry(node.to_string()).or_default(),
    };
    e.busy_s += end_s - requested_s;
    e.last_end_s = e.last_end_s.max(end_s);
    e.pulls += 1;
}

impl Gantt {
    /// Reads pulls.csv in two streaming passes (three when a pull is unfinished), holding
    /// per-node totals and the bars of the nodes drawn only (a long run has millions of pull
    /// rows): the latest time with the busy time per node (summed in file order), then the kept
    /// nodes' bars.
    fn read(path: &Path) -> Result<Gantt, String> {
        let cols = ["node", "pod", "image", "requested_s", "started_s", "finished_s", "result"];
        let num = |r: &csv::StringRecord, c: usize| r.get(c).and_then(|x| x.parse::<f64>().ok());
        // Pass 1: the end of the time axis, and the busy time per node (most time from request
        // to result, summed over the node's pulls in file order) as long as every pull has a
        // result; an unfinished pull counts up to the end of the axis, known only after this
        // pass, and then pass 2 sums again.
        let mut t_max: f64 = 0.0;
        let mut per_node: BTreeMap<String, NodeLoad> = BTreeMap::new();
        let mut all_finished = true;
        for_each_row(path, &cols, |r, c| {
            if let Some(requested_s) = num(r, c[3]) {
                let finished_s = num(r, c[5]);
                t_max = t_max.max(finished_s.or(num(r, c[4])).unwrap_or(requested_s));
                match finished_s {
                    Some(f) if all_finished => {
                        add_busy(&mut per_node, r.get(c[0]).unwrap_or(""), requested_s, f)
                    }
                    Some(_) => {}
                    None => all_finished = false,
                }
            }
        })?;
        // Pass 2, only with unfinished pulls: the busy times again, now that `t_max` is known.
        if !all_finished {
            per_node.clear();
            for_each_row(path, &cols, |r, c| {
                if let Some(requested_s) = num(r, c[3]) {
                    add_busy(
                        &mut per_node,
                        r.get(c[0]).unwrap_or(""),
                        requested_s,
                        num(r, c[5]).unwrap_or(t_max),
                    );
                }
            })?;
        }
        let total_nodes = per_node.len();
        // The nodes whose pulls ended last first (they decide when the run's pods are up), the
        // busier first among those ending together.
        let mut order: Vec<(String, NodeLoad, usize)> =
            per_node.into_iter().map(|(n, l)| (n, l, l.pulls)).collect();
        order.sort_by(|a, b| {
            b.1.last_end_s
                .total_cmp(&a.1.last_end_s)
                .then_with(|| b.1.busy_s.total_cmp(&a.1.busy_s))
                .then_with(|| a.0.cmp(&b.0))
        });
        let mut lanes = 0;
        let mut keep = 0;
        for (_, _, n_bars) in &order {
            if keep >= GANTT_MAX_NODES || (keep > 0 && lanes + n_bars > GANTT_MAX_LANES) {
                break;
            }
            lanes += n_bars;
            keep += 1;
        }
        order.truncate(keep);
        // Pass 3: the bars of the kept nodes.
        let slot: BTreeMap<String, usize> =
            order.iter().enumerate().map(|(i, (n, _, _))| (n.clone(), i)).collect();
        let mut nodes: Vec<(String, Vec<Bar>)> = order.into_iter().map(|(n, _, _)| (n, Vec::new())).collect();
        for_each_row(path, &cols, |r, c| {
            let Some(&i) = slot.get(r.get(c[0]).unwrap_or("")) else { return };
            let Some(requested_s) = num(r, c[3]) else { return };
            let image = r.get(c[2]).unwrap_or("");
            let short = image.rsplit('/').next().unwrap_or(image);
            nodes[i].1.push(Bar {
                requested_s,
                started_s: num(r, c[4]),
                finished_s: num(r, c[5]),
                failed: r.get(c[6]).unwrap_or("").starts_with("failed"),
                label: format!("{} {short}", r.get(c[1]).unwrap_or("")),
                backoff_from_s: None,
            });
        })?;
        for (_, bars) in &mut nodes {
            bars.sort_by(|a, b| a.requested_s.total_cmp(&b.requested_s));
            // The back-off before each attempt that follows a failed one of the same pod and
            // image (attempts of one pod and image are one after the other).
            let mut last_failure: BTreeMap<&str, f64> = BTreeMap::new();
            let mut waits = Vec::with_capacity(bars.len());
            for b in bars.iter() {
                waits.push(last_failure.remove(b.label.as_str()).filter(|&f| f < b.requested_s));
                if let (true, Some(f)) = (b.failed, b.finished_s) {
                    last_failure.insert(&b.label, f);
                }
            }
            for (b, w) in bars.iter_mut().zip(waits) {
                b.backoff_from_s = w;
            }
            bars.truncate(GANTT_MAX_LANES);
        }
        Ok(Gantt { nodes, total_nodes, t_max })
    }

    fn lanes(&self) -> usize {
        self.nodes.iter().map(|(_, b)| b.len()).sum::<usize>().max(1)
    }
}

impl Chart for Gantt {
    fn size(&self) -> (u32, u32) {
        (1100, 170 + 22 * self.lanes() as u32)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let lanes = self.lanes();
        // Lane labels: the node name on its first lane, the pod and image on every lane.
        let mut labels = vec![String::new(); lanes];
        let mut lane = 0;
        let mut rows: Vec<(usize, &Bar)> = Vec::new();
        let mut separators = Vec::new();
        for (node, bars) in &self.nodes {
            for (i, b) in bars.iter().enumerate() {
                // Top to bottom: lane 0 is drawn at the top.
                let y = lanes - 1 - lane;
                labels[y] = if i == 0 { format!("{node}: {}", b.label) } else { b.label.clone() };
                rows.push((y, b));
                lane += 1;
            }
            separators.push(lanes - lane);
        }
        let label_chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(10) as u32;
        let t_max = upper(self.t_max);
        let title = format!(
            "Pulls on the {} of {} nodes that finished pulling last (latest first)",
            self.nodes.len(),
            self.total_nodes
        );
        let queued = RGBColor(240, 190, 90);
        let pulling = colour(0);
        let failed = colour(3);
        let backoff = RGBColor(190, 190, 190);
        let (top, body) = root.split_vertically(66);
        super::header(
            &top,
            &title,
            &[
                ("queued for a puller slot", queued),
                ("pulling: requests, download, unpack", pulling),
                ("failed attempt", failed),
                ("back-off wait after a failure", backoff),
            ],
        )?;
        let mut chart = super::lane_chart(
            ChartBuilder::on(&body)
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size((label_chars * 7 + 20).min(520)),
            t_max,
            "simulated time (s)",
            &labels,
            12,
        )?;
        let rect = |y: usize, a: f64, b: f64, c: RGBColor| {
            Rectangle::new([(a, SegmentValue::Exact(y)), (b, SegmentValue::Exact(y + 1))], c.filled())
        };
        let end = |b: &Bar| b.finished_s.unwrap_or(t_max);
        // A failed attempt can end within milliseconds: at least 0.4 % of the axis wide, so it
        // shows at any zoom.
        let visible_end = |s: f64, b: &Bar| end(b).max(s + t_max * 0.004).min(t_max);
        chart
            .draw_series(
                rows.iter()
                    .filter_map(|(y, b)| b.backoff_from_s.map(|f| rect(*y, f, b.requested_s, backoff))),
            )
            .map_err(err)?;
        chart
            .draw_series(
                rows.iter().map(|(y, b)| rect(*y, b.requested_s, b.started_s.unwrap_or(end(b)), queued)),
            )
            .map_err(err)?;
        chart
            .draw_series(
                rows.iter()
                    .filter(|(_, b)| !b.failed)
                    .filter_map(|(y, b)| b.started_s.map(|s| rect(*y, s, end(b), pulling))),
            )
            .map_err(err)?;
        chart
            .draw_series(
                rows.iter()
                    .filter(|(_, b)| b.failed)
                    .filter_map(|(y, b)| b.started_s.map(|s| rect(*y, s, visible_end(s, b), failed))),
            )
            .map_err(err)?;
        // Thin white gaps between lanes and a rule between nodes keep bars readable.
        chart
            .draw_series(separators.iter().filter(|&&y| y > 0).map(|&y| {
                PathElement::new(
                    vec![(0.0, SegmentValue::Exact(y)), (t_max, SegmentValue::Exact(y))],
                    BLACK.mix(0.35).stroke_width(1),
                )
            }))
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unique scratch directory, removed on drop.
    struct ScratchDir(std::path::PathBuf);

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `rows` under a pulls.csv header in a fresh directory.
    fn write_pulls(rows: &[&str]) -> (std::path::PathBuf, ScratchDir) {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pullsim-gantt-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text =
            String::from("node,pod,image,registry,requested_s,started_s,finished_s,bytes,attempt,result\n");
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        let path = dir.join("pulls.csv");
        std::fs::write(&path, text).unwrap();
        (path, ScratchDir(dir))
    }

    fn order(g: &Gantt) -> Vec<&str> {
        g.nodes.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn the_nodes_that_finished_last_come_first() {
        let (path, _dir) = write_pulls(&[
            "a,p-0,x/img:1,r,0.000,0.000,10.000,1,1,ok",
            "b,p-1,x/img:1,r,1.000,1.000,4.000,1,1,ok",
            "b,p-2,x/img:1,r,2.000,2.000,12.000,1,1,ok",
            "c,p-3,x/img:1,r,15.000,15.000,20.000,1,1,failed:outage",
        ]);
        let g = Gantt::read(&path).unwrap();
        // c ended at 20 s, b at 12 s, a at 10 s.
        assert_eq!((order(&g), g.total_nodes, g.t_max), (vec!["c", "b", "a"], 3, 20.0));
    }

    /// An unfinished pull counts up to the end of the axis, which is known only once every row
    /// was read: the busy times are summed again in a second pass.
    #[test]
    fn unfinished_pulls_count_to_the_end_of_the_axis() {
        let (path, _dir) = write_pulls(&[
            "a,p-0,x/img:1,r,0.000,0.000,10.000,1,1,ok",
            "b,p-1,x/img:1,r,1.000,1.000,,1,1,in_progress",
            "c,p-3,x/img:1,r,15.000,15.000,20.000,1,1,ok",
        ]);
        let g = Gantt::read(&path).unwrap();
        // b (unfinished) and c end at 20 s, b the busier (19 s against 5 s); a at 10 s.
        assert_eq!((order(&g), g.t_max), (vec!["b", "c", "a"], 20.0));
        assert_eq!(g.nodes[0].1[0].finished_s, None);
    }

    /// The back-off wait is drawn from a failed attempt's end to the same pod's next request
    /// for the same image, and only after a failure.
    #[test]
    fn back_off_waits_follow_failed_attempts() {
        let (path, _dir) = write_pulls(&[
            "a,p-0,x/img:1,r,0.000,0.000,1.000,0,1,failed:outage",
            "a,p-1,x/img:1,r,0.500,1.000,3.000,1,1,ok",
            "a,p-0,x/img:1,r,11.000,11.000,12.000,1,2,ok",
            "a,p-0,x/other:1,r,12.000,12.000,13.000,1,1,ok",
        ]);
        let g = Gantt::read(&path).unwrap();
        let waits: Vec<Option<f64>> = g.nodes[0].1.iter().map(|b| b.backoff_from_s).collect();
        assert_eq!(waits, vec![None, None, Some(1.0), None]);
    }

    #[test]
    fn a_logarithmic_axis_only_for_curves_far_apart() {
        let s = |v: Vec<f64>| vec![("w".to_string(), v)];
        assert_eq!(log_range(&s(vec![2.0, 50.0])), None, "25x apart: linear");
        assert_eq!(log_range(&s(vec![0.0, 0.5, 200.0])), Some((-1.0, 3.0)), "0.5 to 200 s: 0.1 to 1000");
        assert_eq!((log_tick(-2.0), log_tick(0.0), log_tick(2.0)), ("0.01".into(), "1".into(), "100".into()));
    }
}
