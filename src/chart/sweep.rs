//! Charts of a sweep folder, from `startups.csv`, `variants.csv` and `sweep.json`:
//! `startup-cdf` (all seeds of each variant pooled), `p99` (mean p99 per variant with its 95%
//! CI) and, when the grid has two axes, `heatmap-p99`. Startups are the key workload's
//! (`experiment::key`), and every chart names it. With `[[slo]]` tables, an SLO on the key
//! workload's `startup_p99_s` is a dashed line on the p99 chart, and each heatmap cell has a
//! border saying whether the variant meets every SLO (`variants.csv` `slo_pass`).

use super::data::Table;
use super::run::StartupCdf;
use super::{colour, err, font, save, upper, Chart};
use crate::experiment::plan::Kind;
use crate::experiment::{Columns, Manifest};
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Draws the sweep charts into `dir` from its files; returns the files written.
pub fn sweep_charts(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sweep.json")).map_err(|e| format!("sweep.json: {e}"))?,
    )
    .map_err(|e| format!("sweep.json: {e}"))?;
    let (plan, columns) = (&manifest.plan, &manifest.columns);
    // The CDF (which reads the large startups.csv) and the p99 charts are drawn at once.
    let (cdf, p99) =
        rayon::join(|| startup_cdf_chart(dir, plan, columns, None), || p99_charts(dir, plan, columns));
    let mut written = cdf?;
    written.extend(p99?);
    Ok(written)
}

/// Startup CDF per variant, from `startups` (per variant, plan order) or else startups.csv.
/// A sweep that has just run passes its startups: reading a row per pod per run back was most
/// of a sweep's serial tail.
pub fn startup_cdf_chart(
    dir: &Path,
    plan: &crate::experiment::plan::Plan,
    columns: &Columns,
    startups: Option<Vec<Vec<f64>>>,
) -> Result<Vec<PathBuf>, String> {
    let names: Vec<String> = plan.variants.iter().map(|v| v.name.clone()).collect();
    let mut per_variant = match startups {
        Some(s) if s.len() == names.len() => s,
        _ => {
            let st = Table::read(&dir.join("startups.csv"))?;
            let (cv, cs) = (st.col("variant")?, st.col("startup_s")?);
            let mut per_variant: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
            for r in 0..st.rows.len() {
                if let (Some(v), Some(x)) = (names.iter().position(|n| n == st.text(r, cv)), st.num(r, cs)) {
                    per_variant[v].push(x);
                }
            }
            per_variant
        }
    };
    per_variant.par_iter_mut().for_each(|v| v.sort_by(f64::total_cmp));
    let cdf = StartupCdf {
        title: format!(
            "Pod startup latency of {} per variant ({} seeds pooled)",
            whose(columns),
            plan.seeds.len()
        ),
        series: names.iter().cloned().zip(per_variant).collect(),
    };
    save(dir, "startup-cdf", &cdf)
}

/// Whose pods the charts show: `workload web`, or `all pods` for a scenario without workloads.
fn whose(columns: &Columns) -> String {
    columns.workload.as_ref().map_or_else(|| "all pods".to_string(), |k| format!("workload {}", k.name))
}

/// Mean p99 per variant with its CI, and the heatmap of a two-axis sweep, from variants.csv.
pub fn p99_charts(
    dir: &Path,
    plan: &crate::experiment::plan::Plan,
    columns: &Columns,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let vt = Table::read(&dir.join("variants.csv"))?;
    let (cm, cl, ch) = (
        vt.col("startup_p99_s_mean")?,
        vt.col("startup_p99_s_ci95_low")?,
        vt.col("startup_p99_s_ci95_high")?,
    );
    let p99: Vec<Option<(f64, f64, f64)>> = (0..vt.rows.len())
        .map(|r| vt.num(r, cm).map(|m| (vt.num(r, cl).unwrap_or(m), m, vt.num(r, ch).unwrap_or(m))))
        .collect();
    // The SLOs on what the chart plots: the key workload's p99 startup.
    let key = columns.workload.as_ref().map(|k| k.name.as_str());
    let slo_lines = columns
        .slos
        .iter()
        .filter(|slo| Some(slo.workload.as_str()) == key && slo.metric == "startup_p99_s")
        .map(|slo| (slo.limit as f64 / 1e9, format!("SLO {} (judged per seed)", slo.bound_text())))
        .collect();
    let bars = P99Bars {
        names: (0..vt.rows.len()).map(|r| vt.text(r, 0).to_string()).collect(),
        p99,
        baseline: plan.baseline,
        seeds: plan.seeds.len(),
        whose: whose(columns),
        slo_lines,
    };
    // Each variant's verdict on every SLO, when there are SLOs.
    let slo_pass: Option<Vec<bool>> =
        vt.col("slo_pass").ok().map(|c| (0..vt.rows.len()).map(|r| vt.text(r, c) == "PASS").collect());
    written.extend(save(dir, "p99", &bars)?);

    if plan.kind == Kind::Sweep && plan.axes.len() == 2 {
        let (a, b) = (&plan.axes[0], &plan.axes[1]);
        let shown = |v: &str| crate::experiment::plan::display_value(v);
        let mut cells = vec![vec![None; b.values.len()]; a.values.len()];
        let mut verdicts = vec![vec![None; b.values.len()]; a.values.len()];
        for (vi, v) in plan.variants.iter().enumerate() {
            let i = a.values.iter().position(|x| shown(x) == v.values[0]);
            let j = b.values.iter().position(|x| shown(x) == v.values[1]);
            if let (Some(i), Some(j)) = (i, j) {
                if let Some(Some((_, m, _))) = bars.p99.get(vi) {
                    cells[i][j] = Some(*m);
                }
                verdicts[i][j] = slo_pass.as_ref().and_then(|p| p.get(vi).copied());
            }
        }
        let heat = Heatmap {
            x_key: b.key.clone(),
            y_key: a.key.clone(),
            x_values: b.values.iter().map(|v| shown(v)).collect(),
            y_values: a.values.iter().map(|v| shown(v)).collect(),
            cells,
            verdicts,
            slos: slo_pass.is_some(),
            whose: whose(columns),
        };
        written.extend(save(dir, "heatmap-p99", &heat)?);
    }
    Ok(written)
}

/// Mean p99 startup per variant with its 95% CI, horizontal so long names fit.
struct P99Bars {
    names: Vec<String>,
    /// (CI low, mean, CI high) per variant; `None` when no pod ran.
    p99: Vec<Option<(f64, f64, f64)>>,
    baseline: usize,
    seeds: usize,
    /// `whose` of the key workload.
    whose: String,
    /// Limits (seconds) of the SLOs on the key workload's p99 startup, with their labels.
    slo_lines: Vec<(f64, String)>,
}

impl Chart for P99Bars {
    fn size(&self) -> (u32, u32) {
        (1000, 150 + 48 * self.names.len().max(1) as u32)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let n = self.names.len().max(1);
        // Room on the right for the value labels.
        let highest = self.p99.iter().flatten().map(|p| p.2).chain(self.slo_lines.iter().map(|l| l.0));
        let x_max = upper(highest.fold(0.0, f64::max)) * 1.1;
        let label_chars = self.names.iter().map(|s| s.chars().count()).max().unwrap_or(8) as u32;
        // Row 0 at the top: variant i is drawn at segment n - 1 - i.
        let row = |i: usize| n - 1 - i;
        let labels: Vec<String> = (0..n)
            .map(|seg| {
                let i = n - 1 - seg;
                let name = self.names.get(i).cloned().unwrap_or_default();
                if i == self.baseline {
                    format!("{name} (baseline)")
                } else {
                    name
                }
            })
            .collect();
        let mut chart = super::lane_chart(
            ChartBuilder::on(root)
                .caption(
                    format!(
                        "p99 pod startup of {} per variant: mean and 95% CI over {} seeds",
                        self.whose, self.seeds
                    ),
                    font(20),
                )
                .margin(15)
                .x_label_area_size(50)
                .y_label_area_size(((label_chars + 11) * 8).min(560)),
            x_max,
            "p99 startup latency (s)",
            &labels,
            13,
        )?;
        let c = colour(0);
        let base = colour(3);
        let pick = |i: usize| if i == self.baseline { base } else { c };
        chart
            .draw_series(self.p99.iter().enumerate().filter_map(|(i, p)| {
                p.map(|(lo, m, hi)| {
                    ErrorBar::new_horizontal(
                        SegmentValue::CenterOf(row(i)),
                        lo,
                        m,
                        hi,
                        pick(i).stroke_width(2),
                        14,
                    )
                })
            }))
            .map_err(err)?;
        chart
            .draw_series(self.p99.iter().enumerate().filter_map(|(i, p)| {
                p.map(|(_, m, _)| Circle::new((m, SegmentValue::CenterOf(row(i))), 6, pick(i).filled()))
            }))
            .map_err(err)?;
        chart
            .draw_series(self.p99.iter().enumerate().filter_map(|(i, p)| {
                p.map(|(_, m, hi)| {
                    Text::new(
                        format!("{m:.1} s"),
                        (hi + x_max * 0.03, SegmentValue::CenterOf(row(i))),
                        font(13).pos(plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Left,
                            plotters::style::text_anchor::VPos::Center,
                        )),
                    )
                })
            }))
            .map_err(err)?;
        // SLO lines across the plotting area, in pixels (the rows are segments, not numbers).
        let (_, rows) = chart.plotting_area().get_pixel_range();
        for (k, (limit, label)) in self.slo_lines.iter().enumerate() {
            let (x, _) = chart.backend_coord(&(*limit, SegmentValue::CenterOf(0)));
            let x = x - root.get_base_pixel().0;
            let rows = rows.start - root.get_base_pixel().1..rows.end - root.get_base_pixel().1;
            let ink = colour(7);
            root.draw(&plotters::element::DashedPathElement::new(
                vec![(x, rows.start), (x, rows.end)],
                8,
                5,
                ink.stroke_width(2),
            ))
            .map_err(err)?;
            let at = (x + 5, rows.start + 4 + 16 * k as i32);
            root.draw(&Text::new(label.clone(), at, font(13).color(&ink))).map_err(err)?;
        }
        Ok(())
    }
}

/// Mean p99 startup over a two-axis grid; invalid (skipped) cells are grey.
struct Heatmap {
    x_key: String,
    y_key: String,
    x_values: Vec<String>,
    y_values: Vec<String>,
    /// [y][x] mean p99 in seconds.
    cells: Vec<Vec<Option<f64>>>,
    /// [y][x] whether the variant meets every SLO; `None` for a skipped cell or without SLOs.
    verdicts: Vec<Vec<Option<bool>>>,
    /// The scenario has SLOs: cells get a verdict border and the chart a legend.
    slos: bool,
    /// `whose` of the key workload.
    whose: String,
}

/// The border of a cell that meets every SLO (bluish green) or fails one (vermillion).
const PASS_INK: RGBColor = RGBColor(0, 158, 115);
const FAIL_INK: RGBColor = RGBColor(213, 94, 0);

/// Viridis, sampled at five stops and interpolated: perceptually even, readable in grey.
fn viridis(f: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] =
        [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];
    let f = if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.0 };
    let x = f * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let t = x - i as f64;
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

impl Chart for Heatmap {
    fn size(&self) -> (u32, u32) {
        // The header strip of a chart with SLOs sets its title in a larger font: room for it.
        let min_width = if self.slos { 920 } else { 700 };
        (
            (260 + 130 * self.x_values.len() as u32).max(min_width),
            (200 + 70 * self.y_values.len() as u32).max(400),
        )
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let (nx, ny) = (self.x_values.len().max(1), self.y_values.len().max(1));
        let all: Vec<f64> = self.cells.iter().flatten().flatten().copied().collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let title = if hi > lo {
            format!(
                "Mean p99 pod startup of {} (s); colour from {lo:.1} s (dark) to {hi:.1} s (light)",
                self.whose
            )
        } else {
            format!("Mean p99 pod startup of {} (s) over the grid", self.whose)
        };
        // With SLOs, a header strip holds the title and the legend of the cell borders.
        let (top, area) = if self.slos { root.split_vertically(70) } else { root.split_vertically(0) };
        let mut builder = ChartBuilder::on(&area);
        if self.slos {
            let legend = [("meets every SLO (slo_pass PASS)", PASS_INK), ("fails an SLO (FAIL)", FAIL_INK)];
            super::header(&top, &title, &legend)?;
        } else {
            builder.caption(title, font(18));
        }
        let mut chart = builder
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d((0..(nx - 1).max(1)).into_segmented(), (0..(ny - 1).max(1)).into_segmented())
            .map_err(err)?;
        let xs = &self.x_values;
        let ys = &self.y_values;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_key.clone())
            .y_desc(self.y_key.clone())
            .axis_desc_style(font(15))
            .label_style(font(14))
            .x_labels(nx)
            .y_labels(ny)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => xs.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => ys.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(err)?;
        let mut rects = Vec::new();
        let mut texts = Vec::new();
        for (j, row) in self.cells.iter().enumerate() {
            for (i, cell) in row.iter().enumerate() {
                let (fill, text) = match cell {
                    Some(v) => {
                        let f = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                        (viridis(f), format!("{v:.1}"))
                    }
                    None => (RGBColor(200, 200, 200), "invalid".to_string()),
                };
                rects.push(Rectangle::new(
                    [
                        (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                        (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                    ],
                    fill.filled(),
                ));
                // Dark text on the light (yellow/green) end, white on the dark end.
                let ink: &'static RGBColor = match cell {
                    Some(v) if hi > lo && (v - lo) / (hi - lo) > 0.6 => &BLACK,
                    Some(_) => &WHITE,
                    None => &BLACK,
                };
                texts.push(Text::new(
                    text,
                    (SegmentValue::CenterOf(i), SegmentValue::CenterOf(j)),
                    font(16).color(ink).pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    )),
                ));
            }
        }
        chart.draw_series(rects).map_err(err)?;
        chart.draw_series(texts).map_err(err)?;
        // Verdict borders, inset so that neighbouring cells' borders do not merge, and the
        // verdict in words under the value (colour is not the only cue).
        for (j, row) in self.verdicts.iter().enumerate() {
            for (i, verdict) in row.iter().enumerate() {
                let Some(pass) = *verdict else { continue };
                // Backend pixels, made relative to the area drawn on.
                let (ax, ay) = area.get_base_pixel();
                let at = |x: SegmentValue<usize>, y: SegmentValue<usize>| {
                    let (px, py) = chart.backend_coord(&(x, y));
                    (px - ax, py - ay)
                };
                let (x0, y0) = at(SegmentValue::Exact(i), SegmentValue::Exact(j + 1));
                let (x1, y1) = at(SegmentValue::Exact(i + 1), SegmentValue::Exact(j));
                let ink = if pass { PASS_INK } else { FAIL_INK };
                let inset = 4;
                area.draw(&Rectangle::new(
                    [(x0.min(x1) + inset, y0.min(y1) + inset), (x0.max(x1) - inset, y0.max(y1) - inset)],
                    ink.stroke_width(5),
                ))
                .map_err(err)?;
                let (cx, cy) = at(SegmentValue::CenterOf(i), SegmentValue::CenterOf(j));
                let word = crate::experiment::slo::word(pass);
                // As the value's text above it.
                let text_ink: &'static RGBColor = match self.cells[j][i] {
                    Some(v) if hi > lo && (v - lo) / (hi - lo) > 0.6 => &BLACK,
                    Some(_) => &WHITE,
                    None => &BLACK,
                };
                let style = font(13).color(text_ink).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                ));
                area.draw(&Text::new(word.to_string(), (cx, cy + 12), style)).map_err(err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }
}
