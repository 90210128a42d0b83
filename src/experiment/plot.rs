//! Figures with `plotters`: line charts (several named series, axis labels, a title, optional
//! log y) and grouped bar charts, each written as `<stem>.png` and `<stem>.svg`.
//!
//! Files are written atomically: drawn into a temporary file in the target directory, then
//! renamed over the target, so a failure leaves no partial figure (the temporary is removed).
//! Text needs a TrueType font: `MECRL_FONT` (a path) or the first of [`FONT_PATHS`] that exists;
//! none is a typed error ([`Error::Plot`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use plotters_backend::BackendCoord;
use plotters_backend::DrawingErrorKind;

use crate::error::{Error, Result};

/// Where a sans-serif TrueType font is looked for (Debian/Ubuntu, Arch/Fedora, macOS, Windows).
pub const FONT_PATHS: [&str; 7] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// The font family name figures use (registered from the font file found).
const FAMILY: &str = "sans-serif";

/// One named series of (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// The series (one line and one legend entry each).
    pub series: Vec<Series>,
    /// Logarithmic y axis (every y must then be > 0).
    pub log_y: bool,
}

/// A grouped bar chart: one group per category, one bar per series within each group.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// y-axis label.
    pub y_label: String,
    /// Category names (x axis).
    pub groups: Vec<String>,
    /// (series name, one value per group).
    pub series: Vec<(String, Vec<f64>)>,
    /// Logarithmic y axis (every value must then be > 0).
    pub log_y: bool,
}

/// Pixel size of the figures (the SVG uses the same units): the plot and, right of it, the
/// legend column.
pub const SIZE: (u32, u32) = (1000, 600);

fn font_registered() -> std::result::Result<(), String> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let env = std::env::var("MECRL_FONT").ok();
        let candidates: Vec<String> = env.iter().cloned().chain(FONT_PATHS.iter().map(|s| s.to_string())).collect();
        for c in &candidates {
            if let Ok(bytes) = std::fs::read(c) {
                // plotters keeps registered fonts for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                return register_font(FAMILY, FontStyle::Normal, bytes)
                    .map_err(|_| format!("{c} is not a usable TrueType font"));
            }
        }
        Err(format!("no TrueType font found; set MECRL_FONT to a .ttf file (looked in {candidates:?})"))
    })
    .clone()
}

fn plot_err(path: &Path, why: impl ToString) -> Error {
    Error::Plot { path: path.to_path_buf(), why: why.to_string() }
}

/// A temporary path beside `target` with the same extension (plotters picks the image format
/// from it), unique per process and call.
fn temp_beside(target: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let k = N.fetch_add(1, Ordering::Relaxed);
    let name = target.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = target.extension().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.tmp-{}-{k}.{ext}", std::process::id()))
}

/// Write through `draw` into a temporary beside `target`, then rename; remove it on failure.
fn atomically(target: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = temp_beside(target);
    let res = draw(&tmp).and_then(|()| std::fs::rename(&tmp, target).map_err(|e| Error::io(target, e)));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// (lo, hi) of finite values with a margin; a log axis needs lo > 0.
fn span(vals: impl Iterator<Item = f64>, log: bool, path: &Path, what: &str) -> Result<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals {
        if !v.is_finite() || (log && v <= 0.0) {
            let need = if log { "finite and > 0 (log axis)" } else { "finite" };
            return Err(plot_err(path, format!("{what} value {v} must be {need}")));
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return Err(plot_err(path, format!("no {what} values to draw")));
    }
    if log {
        Ok((lo / 1.5, hi * 1.5))
    } else {
        let pad = if hi > lo { 0.05 * (hi - lo) } else { lo.abs().max(1.0) * 0.05 };
        Ok((lo - pad, hi + pad))
    }
}

/// Okabe & Ito's colour-blind-safe palette (its yellow left out: too little contrast on white),
/// in the order series take them.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];

/// Marker shapes, so that series differ without colour (print, colour blindness).
const SHAPES: usize = 7;

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A series' point marker, drawn in pixels around its point (shape `i % SHAPES`, colour `i`).
struct Marker<C> {
    at: C,
    i: usize,
}

impl<'a, C: 'a> PointCollection<'a, C> for &'a Marker<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for Marker<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut pos: I,
        b: &mut DB,
        _: (u32, u32),
    ) -> std::result::Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else { return Ok(()) };
        let col = color(self.i);
        let (fill, line) = (col.filled(), col.stroke_width(2));
        let r = 5;
        match self.i % SHAPES {
            0 => b.draw_circle((x, y), r as u32, &fill, true),
            1 => b.fill_polygon([(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)], &fill),
            2 => b.draw_rect((x - r + 1, y - r + 1), (x + r - 1, y + r - 1), &fill, true),
            3 => b.fill_polygon([(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], &fill),
            4 => b.draw_circle((x, y), r as u32, &line, false),
            5 => {
                b.draw_line((x - r, y - r), (x + r, y + r), &line)?;
                b.draw_line((x - r, y + r), (x + r, y - r), &line)
            }
            _ => b.draw_rect((x - r + 1, y - r + 1), (x + r - 1, y + r - 1), &line, false),
        }
    }
}

/// A tick label without trailing zeros ("10", "0.25", "1e-4"), never "10.0".
fn tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    let trim = |t: String| {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    if !(1e-3..1e6).contains(&a) {
        let t = format!("{v:.2e}");
        let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
        return format!("{}e{e}", trim(m.to_string()));
    }
    trim(format!("{v:.4}"))
}

/// Labels of a linear axis: every tick, or with `integers` only the whole ones (an axis of
/// counts or generations never reads "2.5").
fn linear_label(v: f64, integers: bool) -> String {
    if integers && (v - v.round()).abs() > 1e-9 {
        String::new()
    } else {
        tick(v)
    }
}

/// Labels of a log axis: the powers of ten, and 2 and 5 times them when the axis spans fewer than
/// two decades; nothing in between (the overlapping "100.0" labels).
fn log_label(v: f64, decades: f64) -> String {
    let e = v.log10().floor();
    let m = v / 10f64.powf(e);
    let keep = |k: f64| (m - k).abs() < 1e-6 * k;
    if keep(1.0) || keep(10.0) || (decades < 2.0 && (keep(2.0) || keep(5.0))) {
        tick(v)
    } else {
        String::new()
    }
}

/// Width of the legend column (right of the plot) for these names, pixels.
fn legend_width(names: &[&str]) -> u32 {
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as u32;
    (60 + 8 * longest).clamp(140, 360)
}

/// The legend in its own column, so it never covers data: a short line and the marker (lines),
/// or a swatch (bars), and the name per series.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: &[&str],
    bars: bool,
) -> std::result::Result<(), String> {
    let font = (FAMILY, 14).into_font().color(&BLACK);
    for (i, name) in names.iter().enumerate() {
        let y = 60 + 26 * i as i32;
        let col = color(i);
        if bars {
            // bars: the legend's order is the bars' order within each group, left to right
            area.draw(&Rectangle::new([(10, y - 7), (38, y + 7)], col.filled())).map_err(|e| e.to_string())?;
        } else {
            area.draw(&PathElement::new(vec![(8, y), (40, y)], col.stroke_width(2))).map_err(|e| e.to_string())?;
            area.draw(&Marker { at: (24, y), i }).map_err(|e| e.to_string())?;
        }
        area.draw(&Text::new(name.to_string(), (48, y - 8), font.clone())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// At most this many markers per series (every k-th point of a long curve).
const MARKERS: usize = 12;

macro_rules! draw_lines {
    ($root:expr, $c:expr, $x:expr, $y:expr, $ylab:expr, $xint:expr) => {{
        let root = $root;
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let names: Vec<&str> = $c.series.iter().map(|s| s.name.as_str()).collect();
        let body = root.margin(8, 0, 0, 0).titled(&$c.title, (FAMILY, 24)).map_err(|e| e.to_string())?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w.saturating_sub(legend_width(&names)));
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d($x, $y)
            .map_err(|e| e.to_string())?;
        let xint = $xint;
        chart
            .configure_mesh()
            .x_desc($c.x_label.as_str())
            .y_desc($c.y_label.as_str())
            .x_label_formatter(&|v: &f64| linear_label(*v, xint))
            .y_label_formatter(&$ylab)
            .label_style((FAMILY, 14))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in $c.series.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), color(i).stroke_width(2)))
                .map_err(|e| e.to_string())?;
            let every = s.points.len().div_ceil(MARKERS).max(1);
            chart
                .draw_series(s.points.iter().step_by(every).map(|&p| Marker { at: p, i }))
                .map_err(|e| e.to_string())?;
        }
        legend(&side, &names, false)?;
        root.present().map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    }};
}

fn line_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    c: &LineChart,
    x: (f64, f64),
    y: (f64, f64),
) -> std::result::Result<(), String> {
    let xint = c.series.iter().all(|s| s.points.iter().all(|p| p.0 == p.0.round()));
    if c.log_y {
        let decades = (y.1 / y.0).log10();
        draw_lines!(root, c, x.0..x.1, (y.0..y.1).log_scale(), |v: &f64| log_label(*v, decades), xint)
    } else {
        draw_lines!(root, c, x.0..x.1, y.0..y.1, |v: &f64| tick(*v), xint)
    }
}

macro_rules! draw_bars {
    ($root:expr, $c:expr, $g:expr, $y:expr, $base:expr, $ylab:expr) => {{
        let root = $root;
        let groups = &$c.groups;
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let names: Vec<&str> = $c.series.iter().map(|s| s.0.as_str()).collect();
        let body = root.margin(8, 0, 0, 0).titled(&$c.title, (FAMILY, 24)).map_err(|e| e.to_string())?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w.saturating_sub(legend_width(&names)));
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..($g as f64 - 0.5), $y)
            .map_err(|e| e.to_string())?;
        let fmt = |x: &f64| {
            let k = x.round();
            if (x - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < groups.len() {
                groups[k as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(groups.len().max(2))
            .x_label_formatter(&fmt)
            .y_label_formatter(&$ylab)
            .y_desc($c.y_label.as_str())
            .label_style((FAMILY, 14))
            .draw()
            .map_err(|e| e.to_string())?;
        let w = 0.8 / $c.series.len() as f64;
        for (k, (_, vals)) in $c.series.iter().enumerate() {
            let col = color(k);
            let base = $base;
            chart
                .draw_series(vals.iter().enumerate().map(move |(g, &v)| {
                    let x0 = g as f64 - 0.4 + k as f64 * w;
                    Rectangle::new([(x0, base), (x0 + w, v)], col.filled())
                }))
                .map_err(|e| e.to_string())?;
        }
        legend(&side, &names, true)?;
        root.present().map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    }};
}

fn bars_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    c: &BarChart,
    y: (f64, f64),
) -> std::result::Result<(), String> {
    let g = c.groups.len();
    if c.log_y {
        let decades = (y.1 / y.0).log10();
        draw_bars!(root, c, g, (y.0..y.1).log_scale(), y.0, |v: &f64| log_label(*v, decades))
    } else {
        // Bars start at 0 (inside the axis range).
        let (lo, hi) = (y.0.min(0.0), y.1.max(0.0));
        draw_bars!(root, c, g, lo..hi, 0.0, |v: &f64| tick(*v))
    }
}

/// Draw into `<stem>.png` and `<stem>.svg` through `draw`; returns the two paths.
fn both(
    stem: &Path,
    png: &dyn Fn(&Path) -> std::result::Result<(), String>,
    svg: &dyn Fn(&mut String) -> std::result::Result<(), String>,
) -> Result<Vec<PathBuf>> {
    let (p_png, p_svg) = (stem.with_extension("png"), stem.with_extension("svg"));
    font_registered().map_err(|e| plot_err(&p_png, e))?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    atomically(&p_png, |tmp| png(tmp).map_err(|e| plot_err(&p_png, e)))?;
    atomically(&p_svg, |tmp| {
        let mut s = String::new();
        svg(&mut s).map_err(|e| plot_err(&p_svg, e))?;
        std::fs::write(tmp, s).map_err(|e| Error::io(tmp, e))
    })?;
    Ok(vec![p_png, p_svg])
}

/// Write a line chart as `<stem>.png` and `<stem>.svg` (atomically); returns the paths.
pub fn line_chart(stem: &Path, c: &LineChart) -> Result<Vec<PathBuf>> {
    let at = stem.with_extension("png");
    if c.series.is_empty() {
        return Err(plot_err(&at, "a line chart needs at least one series"));
    }
    let x = span(c.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)), false, &at, "x")?;
    let y = span(c.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)), c.log_y, &at, "y")?;
    both(stem, &|tmp| line_on(BitMapBackend::new(tmp, SIZE).into_drawing_area(), c, x, y), &|s| {
        line_on(SVGBackend::with_string(s, SIZE).into_drawing_area(), c, x, y)
    })
}

/// Write a grouped bar chart as `<stem>.png` and `<stem>.svg` (atomically); returns the paths.
pub fn bar_chart(stem: &Path, c: &BarChart) -> Result<Vec<PathBuf>> {
    let at = stem.with_extension("png");
    if c.series.is_empty() || c.groups.is_empty() {
        return Err(plot_err(&at, "a bar chart needs at least one group and one series"));
    }
    if let Some((name, v)) = c.series.iter().find(|(_, v)| v.len() != c.groups.len()) {
        return Err(plot_err(&at, format!("series `{name}` has {} values for {} groups", v.len(), c.groups.len())));
    }
    let y = span(c.series.iter().flat_map(|(_, v)| v.iter().copied()), c.log_y, &at, "y")?;
    both(stem, &|tmp| bars_on(BitMapBackend::new(tmp, SIZE).into_drawing_area(), c, y), &|s| {
        bars_on(SVGBackend::with_string(s, SIZE).into_drawing_area(), c, y)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique_dir(tag: &str) -> PathBuf {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let d = std::env::temp_dir().join(format!("mecrl-plot-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn check_files(paths: &[PathBuf], names: &[&str]) {
        let png = std::fs::read(&paths[0]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG magic");
        let svg = std::fs::read_to_string(&paths[1]).unwrap();
        assert!(svg.contains("<svg"), "SVG root element");
        assert!(svg.trim_end().ends_with("</svg>"), "complete SVG");
        for n in names {
            assert!(svg.contains(n), "series name {n} in the SVG");
        }
        // No temporary left beside the figures.
        let dir = paths[0].parent().unwrap();
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "temporaries left: {left:?}");
    }

    #[test]
    fn line_and_bar_charts_in_both_formats() {
        let d = unique_dir("both");
        let c = LineChart {
            title: "Training".into(),
            x_label: "step".into(),
            y_label: "objective".into(),
            series: vec![
                Series {
                    name: "DDPG-curve".into(),
                    points: (0..50).map(|i| (i as f64, 30.0 - 0.2 * i as f64)).collect(),
                },
                Series {
                    name: "ActorCritic-curve".into(),
                    points: (0..50).map(|i| (i as f64, 32.0 - 0.1 * i as f64)).collect(),
                },
            ],
            log_y: true,
        };
        let p = line_chart(&d.join("train"), &c).unwrap();
        check_files(&p, &["DDPG-curve", "ActorCritic-curve", "Training"]);
        let b = BarChart {
            title: "Table III".into(),
            y_label: "seconds".into(),
            groups: vec!["train".into(), "inference".into()],
            series: vec![("DIRS-bar".into(), vec![10.0, 0.01]), ("DDPG-bar".into(), vec![5.0, 0.002])],
            log_y: true,
        };
        let p = bar_chart(&d.join("sub/table3"), &b).unwrap();
        check_files(&p, &["DIRS-bar", "DDPG-bar"]);
        let lin = BarChart { log_y: false, series: vec![("neg".into(), vec![-1.0, 2.0])], ..b };
        check_files(&bar_chart(&d.join("lin"), &lin).unwrap(), &["neg"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn tick_labels_read_as_numbers_not_floats() {
        assert_eq!(tick(10.0), "10");
        assert_eq!(tick(100.0), "100");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(-1.5), "-1.5");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(1e-4), "1e-4");
        assert_eq!(tick(2.5e6), "2.5e6");
        // whole-number axes (N, M, iterations) label only whole ticks
        assert_eq!(linear_label(2.5, true), "");
        assert_eq!(linear_label(3.0, true), "3");
        assert_eq!(linear_label(2.5, false), "2.5");
        // log axes: powers of ten; 2 and 5 times them only when the axis spans < 2 decades
        assert_eq!(log_label(100.0, 3.0), "100");
        assert_eq!(log_label(200.0, 3.0), "");
        assert_eq!(log_label(300.0, 1.5), "");
        assert_eq!(log_label(200.0, 1.5), "200");
        assert_eq!(log_label(0.05, 1.5), "0.05");
        assert_eq!(log_label(1e-4, 6.0), "1e-4");
    }

    #[test]
    fn series_differ_by_shape_and_colour_and_the_legend_has_its_own_column() {
        // Seven series: seven colours (no yellow) and seven marker shapes before either repeats.
        let cols: std::collections::HashSet<_> = (0..7)
            .map(|i| {
                let c = color(i);
                (c.0, c.1, c.2)
            })
            .collect();
        assert_eq!(cols.len(), 7);
        assert!(!cols.contains(&(240, 228, 66)), "Okabe-Ito yellow has too little contrast on white");
        assert_eq!(SHAPES, 7);
        // The legend column grows with the names and leaves the plot at least 640 px of 1000.
        assert_eq!(legend_width(&["a"]), 140);
        assert!(legend_width(&["without Lévy and imitation"]) > 140);
        assert!(SIZE.0 - legend_width(&[&"x".repeat(200)]) >= 640);
    }

    #[test]
    fn bad_data_is_a_typed_error_and_leaves_no_file() {
        let d = unique_dir("bad");
        let c = LineChart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series { name: "s".into(), points: vec![(0.0, 1.0), (1.0, -1.0)] }],
            log_y: true,
        };
        let e = line_chart(&d.join("neg"), &c).unwrap_err();
        assert!(matches!(&e, Error::Plot { why, .. } if why.contains("> 0")), "{e}");
        let e = line_chart(&d.join("empty"), &LineChart { series: vec![], ..c.clone() }).unwrap_err();
        assert!(matches!(e, Error::Plot { .. }), "{e}");
        let b = BarChart {
            title: "t".into(),
            y_label: "y".into(),
            groups: vec!["a".into()],
            series: vec![("s".into(), vec![1.0, 2.0])],
            log_y: false,
        };
        let e = bar_chart(&d.join("bars"), &b).unwrap_err();
        assert!(matches!(&e, Error::Plot { why, .. } if why.contains("2 values for 1 groups")), "{e}");
        // A target that cannot be written: the stem's directory is a file.
        let blocker = d.join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let ok = LineChart { log_y: false, ..c };
        assert!(line_chart(&blocker.join("fig"), &ok).is_err());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "nothing but the blocker was written");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

/// A shaded band around a series: (x, low, high) per point, in x order.
pub type Band = Vec<(f64, f64, f64)>;

/// One panel of a [`PanelChart`]: its title and its lines, each (series index, the points'
/// (x, low, high); the line is drawn through the middle of the band).
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Above the panel.
    pub title: String,
    /// (index into [`PanelChart::names`], its band), in drawing order.
    pub lines: Vec<(usize, Band)>,
}

/// Small multiples: panels sharing their axes and one legend (a series keeps its colour and
/// marker in every panel), each line with its band (a confidence interval).
#[derive(Clone, Debug, PartialEq)]
pub struct PanelChart {
    /// Above all panels.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// The series' legend names.
    pub names: Vec<String>,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// A categorical x axis: x = k is `x_categories[k]` (empty: a numeric axis).
    pub x_categories: Vec<String>,
}

/// Write a panel chart as `<stem>.png` and `<stem>.svg` (atomically); returns the paths.
pub fn panel_chart(stem: &Path, c: &PanelChart) -> Result<Vec<PathBuf>> {
    let at = stem.with_extension("png");
    if c.panels.is_empty() || c.names.is_empty() {
        return Err(plot_err(&at, "a panel chart needs a panel and a series"));
    }
    if let Some(k) = c.panels.iter().flat_map(|p| &p.lines).map(|l| l.0).find(|&k| k >= c.names.len()) {
        return Err(plot_err(&at, format!("a line names series {k} of {}", c.names.len())));
    }
    let pts = || c.panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.1);
    let x = if c.x_categories.is_empty() {
        span(pts().map(|p| p.0), false, &at, "x")?
    } else {
        (-0.5, c.x_categories.len() as f64 - 0.5)
    };
    let y = span(pts().flat_map(|p| [p.1, p.2]), false, &at, "y")?;
    let cols = (c.panels.len() as f64).sqrt().ceil().clamp(1.0, 4.0) as usize;
    let rows = c.panels.len().div_ceil(cols);
    let size = (1200, (320 * rows as u32).max(SIZE.1));
    both(stem, &|tmp| panels_on(BitMapBackend::new(tmp, size).into_drawing_area(), c, (rows, cols), x, y), &|s| {
        panels_on(SVGBackend::with_string(s, size).into_drawing_area(), c, (rows, cols), x, y)
    })
}

fn panels_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    c: &PanelChart,
    grid: (usize, usize),
    x: (f64, f64),
    y: (f64, f64),
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let names: Vec<&str> = c.names.iter().map(String::as_str).collect();
    let body = root.margin(8, 0, 0, 0).titled(&c.title, (FAMILY, 24)).map_err(|e| e.to_string())?;
    let (w, _) = body.dim_in_pixel();
    let (plot, side) = body.split_horizontally(w.saturating_sub(legend_width(&names)));
    let xint = c.panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.1).all(|p| p.0 == p.0.round());
    let cats = &c.x_categories;
    let xlab = |v: &f64| {
        if cats.is_empty() {
            return linear_label(*v, xint);
        }
        let k = v.round();
        let at = (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < cats.len();
        if at {
            cats[k as usize].clone()
        } else {
            String::new()
        }
    };
    for (p, area) in c.panels.iter().zip(plot.split_evenly(grid).iter()) {
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, (FAMILY, 15))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(62)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(c.x_label.as_str())
            .y_desc(c.y_label.as_str())
            .x_labels(if cats.is_empty() { 6 } else { cats.len().max(2) })
            .y_labels(6)
            .x_label_formatter(&xlab)
            .y_label_formatter(&|v: &f64| tick(*v))
            .label_style((FAMILY, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        // Bands first, translucent, so that every line stays visible on top.
        for (i, b) in &p.lines {
            let mut outline: Vec<(f64, f64)> = b.iter().map(|q| (q.0, q.2)).collect();
            outline.extend(b.iter().rev().map(|q| (q.0, q.1)));
            chart
                .draw_series(std::iter::once(Polygon::new(outline, color(*i).mix(0.18).filled())))
                .map_err(|e| e.to_string())?;
        }
        for (i, b) in &p.lines {
            let mid: Vec<(f64, f64)> = b.iter().map(|q| (q.0, 0.5 * (q.1 + q.2))).collect();
            chart
                .draw_series(LineSeries::new(mid.iter().copied(), color(*i).stroke_width(2)))
                .map_err(|e| e.to_string())?;
            let every = mid.len().div_ceil(MARKERS).max(1);
            chart
                .draw_series(mid.iter().step_by(every).map(|&q| Marker { at: q, i: *i }))
                .map_err(|e| e.to_string())?;
        }
    }
    legend(&side, &names, false)?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
