//! The chart of a calibration folder, from `pulls-observed-vs-predicted.csv` alone: each
//! observed pull's predicted duration (with the fitted values) against its observed one, on
//! logarithmic axes (pulls range from a fraction of a second to minutes), with the line where
//! they agree and the lines of a factor of 2 either way. Pulls the model did not complete are
//! counted in the title, not drawn.

use super::data::Table;
use super::{colour, draw_legend, err, font, log_tick, save, Chart};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// The file stem of the chart.
pub const STEM: &str = "pulls-observed-vs-predicted";

/// Draws `pulls-observed-vs-predicted.{png,svg}` into `dir` from its CSV.
pub fn calibration_charts(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let t = Table::read(&dir.join(format!("{STEM}.csv")))?;
    let (co, cp) = (t.col("observed_s")?, t.col("predicted_s")?);
    let mut points = Vec::new();
    let mut missing = 0usize;
    for r in 0..t.rows.len() {
        match (t.num(r, co), t.num(r, cp)) {
            (Some(o), Some(p)) if o > 0.0 && p > 0.0 => points.push((o, p)),
            _ => missing += 1,
        }
    }
    save(dir, STEM, &Scatter { points, missing })
}

struct Scatter {
    /// (observed, predicted) seconds.
    points: Vec<(f64, f64)>,
    /// Rows without both durations.
    missing: usize,
}

/// The decades both axes span: [floor(log10 min), ceil(log10 max)], at least one decade.
fn decades(points: &[(f64, f64)]) -> (f64, f64) {
    let all = || points.iter().flat_map(|&(o, p)| [o, p]);
    let lo = all().fold(f64::INFINITY, f64::min);
    let hi = all().fold(0.0, f64::max);
    if !lo.is_finite() || hi <= 0.0 {
        return (-1.0, 1.0);
    }
    let lo = lo.log10().floor();
    (lo, hi.log10().ceil().max(lo + 1.0))
}

impl Chart for Scatter {
    fn size(&self) -> (u32, u32) {
        (760, 720)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let (lo, hi) = decades(&self.points);
        let title = match self.missing {
            0 => {
                format!("Pull durations: model (fitted) against kubelet events, {} pulls", self.points.len())
            }
            m => format!(
                "Pull durations: model (fitted) against events, {} pulls ({m} not predicted)",
                self.points.len()
            ),
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(18))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(err)?;
        let n = (hi - lo) as usize + 1;
        chart
            .configure_mesh()
            .x_desc("observed: the kubelet's \"in X\" (s, logarithmic)")
            .y_desc("predicted: pull started → finished (s, logarithmic)")
            .x_labels(n)
            .y_labels(n)
            .x_label_formatter(&|v| log_tick(*v))
            .y_label_formatter(&|v| log_tick(*v))
            .axis_desc_style(font(15))
            .label_style(font(13))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        let two = 2f64.log10();
        let grey = BLACK.mix(0.35);
        for (offset, label) in [(two, "2x slower / faster"), (-two, "")] {
            let s = chart
                .draw_series(DashedLineSeries::new(
                    [(lo, lo + offset), (hi, hi + offset)],
                    6,
                    4,
                    grey.stroke_width(1),
                ))
                .map_err(err)?;
            if !label.is_empty() {
                s.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
            }
        }
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))
            .map_err(err)?
            .label("predicted = observed")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        let c = colour(0);
        chart
            .draw_series(
                self.points.iter().map(|&(o, p)| Circle::new((o.log10(), p.log10()), 3, c.mix(0.7).filled())),
            )
            .map_err(err)?
            .label("one observed pull")
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, c.filled()));
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft, 13)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_cover_every_point_on_both_axes() {
        // 0.35 s to 42 s: 10^-1 to 10^2.
        assert_eq!(decades(&[(0.35, 1.2), (42.0, 3.0)]), (-1.0, 2.0));
        // Within one decade: still one decade wide.
        assert_eq!(decades(&[(2.0, 3.0)]), (0.0, 1.0));
        assert_eq!(decades(&[]), (-1.0, 1.0));
        assert_eq!(log_tick(-1.0), "0.1");
        assert_eq!(log_tick(2.0), "100");
    }
}
