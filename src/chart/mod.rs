//! Charts (PNG and SVG) of a run, sweep or calibration folder, drawn from the folder's CSV files
//! alone, so `pullsim chart DIR` redraws exactly what `run`/`sweep` drew. The only module that
//! uses plotters.
//!
//! - `run`: startup-latency CDF per workload, pulls in flight, pods and registry egress over
//!   time (steps), and a Gantt
//!   chart of the pulls on the nodes that finished last (queued, pulling, failed, back-off);
//! - `sweep`: startup CDF per variant, p99 per variant with its 95% CI, and a heatmap of mean
//!   p99 when the grid has two axes;
//! - `calibration`: a calibration's predicted pull durations against the observed ones.
//!
//! Text uses DejaVu Sans, bundled (`assets/fonts`, Bitstream Vera licence) and registered
//! with plotters' `ab_glyph` renderer, so charts look the same on any machine and need no
//! system fonts. Colours are the Okabe–Ito palette (distinguishable with colour blindness).

pub mod calibration;
mod data;
mod run;
mod sweep;

pub use calibration::calibration_charts;
pub use run::run_charts;
pub use sweep::{p99_charts, startup_cdf_chart, sweep_charts};

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family name charts ask for; bound to the bundled font.
pub(crate) const FAMILY: &str = "sans-serif";

static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The bundled file is a valid TrueType font; a failure here is a build defect.
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font(FAMILY, style, FONT).is_err() {
                panic!("the bundled font assets/fonts/DejaVuSans.ttf does not parse");
            }
        }
    });
}

/// Okabe–Ito: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow-brown,
/// black; then repeats.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(170, 130, 0),
    RGBColor(0, 0, 0),
];

pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A drawing, rendered once per backend.
pub(crate) trait Chart {
    /// Pixel size of the PNG (the SVG has the same size in user units).
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static;
}

/// Any plotters error as text.
pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Writes `<stem>.png` and `<stem>.svg` into `dir`.
pub(crate) fn save(dir: &Path, stem: &str, chart: &(impl Chart + Sync)) -> Result<Vec<PathBuf>, String> {
    register_font();
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    // The two files are drawn at once on the current rayon pool (the command's `--jobs`):
    // rendering is a serial tail after a sweep's parallel runs.
    let (png_done, svg_done) = rayon::join(
        || -> Result<(), String> {
            let root = BitMapBackend::new(&png, chart.size()).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            chart.draw(&root)?;
            root.present().map_err(|e| format!("{}: {e}", png.display()))
        },
        || -> Result<(), String> {
            let root = SVGBackend::new(&svg, chart.size()).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            chart.draw(&root)?;
            root.present().map_err(|e| format!("{}: {e}", svg.display()))
        },
    );
    png_done?;
    svg_done?;
    Ok(vec![png, svg])
}

/// A chart of labelled rows over a numeric x axis (the Gantt's lanes, the p99 bars):
/// `labels[i]` names row i, row 0 at the bottom. The caller sets the caption, margin and label
/// areas on `builder`; this builds the axes and draws the mesh.
pub(crate) fn lane_chart<'a, DB: DrawingBackend>(
    builder: &mut ChartBuilder<'a, '_, DB>,
    x_max: f64,
    x_desc: &str,
    labels: &[String],
    label_size: u32,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordusize>>>, String>
where
    DB::ErrorType: 'static,
{
    let n = labels.len().max(1);
    let mut chart =
        builder.build_cartesian_2d(0.0..x_max, (0..(n - 1).max(1)).into_segmented()).map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|v| tick(*v, x_max))
        .axis_desc_style(font(15))
        .label_style(font(label_size))
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// A tick of a logarithmic seconds axis at log10 value `v`: `0.01`, `0.1`, `1`, `10`, ...
pub(crate) fn log_tick(v: f64) -> String {
    let x = 10f64.powf(v);
    if x >= 1.0 {
        format!("{x:.0}")
    } else {
        let decimals = (-v.floor()) as usize;
        format!("{x:.decimals$}")
    }
}

/// Draws the legend of `chart`'s labelled series at `position`, in the charts' one style.
pub(crate) fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(font(font_size))
        .draw()
        .map_err(err)
}

/// Text style of titles, labels and legends.
pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// A header strip: the title, then a row of legend swatches, so a legend never hides data.
pub(crate) fn header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    items: &[(&str, RGBColor)],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (w, _) = area.dim_in_pixel();
    let centre = font(20).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(title.to_string(), (w as i32 / 2, 8), centre)).map_err(err)?;
    let mut x = 60;
    for (label, c) in items {
        area.draw(&Rectangle::new([(x, 42), (x + 18, 56)], c.filled())).map_err(err)?;
        let style = font(14).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(label.to_string(), (x + 24, 49), style)).map_err(err)?;
        x += 40 + 7 * label.chars().count() as i32;
    }
    Ok(())
}

/// Tick label: whole numbers on wide axes, one or two decimals on narrow ones.
pub(crate) fn tick(v: f64, axis_max: f64) -> String {
    match axis_max {
        m if m >= 20.0 => format!("{v:.0}"),
        m if m >= 2.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// Upper end of an axis that starts at 0: a little headroom, never an empty range.
pub(crate) fn upper(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max * 1.05
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_font_registers() {
        register_font();
        register_font();
    }

    #[test]
    fn upper_never_gives_an_empty_range() {
        assert_eq!(upper(0.0), 1.0);
        assert_eq!(upper(f64::NAN), 1.0);
        assert!((upper(100.0) - 105.0).abs() < 1e-9);
    }
}
