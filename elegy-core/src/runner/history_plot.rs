//! Training curves: a [`History`] drawn as an SVG or a PNG file, one panel per log with its
//! validation twin (`loss` with `val_loss`, ...), against epochs.
//!
//! Panels are laid out in rows of at most [`MAX_COLUMNS`], as even as the count allows, each
//! row's panels sharing its width, so that no grid cell is left empty.
//!
//! Drawn with plotters alone: text is laid out (and, in a PNG, drawn) with a bundled subset of
//! DejaVu Sans through `ab_glyph`, pure Rust, so no font library or system font is needed
//! (`elegy-core/data/fonts/`). An SVG names its font family and lets the viewer render it.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::runner::History;

const PANEL: (u32, u32) = (560, 360);
/// The most panels side by side.
const MAX_COLUMNS: usize = 3;
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOR: RGBColor = RGBColor(255, 127, 14);
const FONT: &str = "sans-serif";
/// Units of the x axis per epoch.
const TENTHS: i64 = 10;
/// The subset of DejaVu Sans that lays out and draws the text (see `data/fonts/README.md`).
const FONT_FILE: &[u8] = include_bytes!("../../data/fonts/DejaVuSans-Latin1.ttf");

impl History {
    /// Writes the training curves as an SVG file at `path`: one panel per log, its validation
    /// log (`val_` prefix) drawn in the same panel with a legend, against 1-based epoch numbers
    /// as the progress lines count them. Epochs where a log is missing (NaN) leave a gap. The
    /// file is written atomically (a temporary file renamed over it), so a viewer never sees
    /// half a plot.
    ///
    /// ```no_run
    /// # fn main() -> elegy_core::Result<()> {
    /// # let history = elegy_core::History::default();
    /// history.plot_svg("training_curves.svg")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn plot_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        let svg = self.to_svg()?;
        crate::callbacks::write_atomically(path.as_ref(), svg.as_bytes())
    }

    /// The SVG document [`History::plot_svg`] writes.
    pub fn to_svg(&self) -> Result<String> {
        const OP: &str = "History::plot_svg";
        let layout = Layout::of(self, OP)?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, layout.size).into_drawing_area();
            layout.draw(&root, &self.epochs, OP)?;
        }
        Ok(svg)
    }

    /// Writes the training curves as a PNG image at `path`, drawn as [`History::plot_svg`]
    /// draws them, atomically too.
    ///
    /// ```no_run
    /// # fn main() -> elegy_core::Result<()> {
    /// # let history = elegy_core::History::default();
    /// history.plot_png("training_curves.png")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn plot_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let png = self.to_png()?;
        crate::callbacks::write_atomically(path.as_ref(), &png)
    }

    /// The PNG file [`History::plot_png`] writes (8-bit RGB).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        const OP: &str = "History::plot_png";
        let layout = Layout::of(self, OP)?;
        let (width, height) = layout.size;
        let mut pixels = vec![0u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, layout.size).into_drawing_area();
            layout.draw(&root, &self.epochs, OP)?;
        }
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| {
                writer.write_image_data(&pixels)?;
                writer.finish()
            })
            .map_err(|e| Error::invalid(OP, format!("encoding the PNG failed: {e}")))?;
        Ok(png)
    }
}

/// The panels of a history and where they go.
struct Layout<'a> {
    panels: Vec<Panel<'a>>,
    /// The number of panels in each row, top to bottom.
    rows: Vec<usize>,
    size: (u32, u32),
}

impl<'a> Layout<'a> {
    fn of(history: &'a History, op: &'static str) -> Result<Layout<'a>> {
        if history.epochs.is_empty() {
            return Err(Error::invalid(
                op,
                "the history has no epochs to plot; fit the model first",
            ));
        }
        let panels = panels(history);
        let rows = rows(panels.len());
        let columns = rows.iter().copied().max().unwrap_or(1);
        let size = (PANEL.0 * columns as u32, PANEL.1 * rows.len() as u32);
        Ok(Layout { panels, rows, size })
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        epochs: &[usize],
        op: &'static str,
    ) -> Result<()> {
        register_font(op)?;
        root.fill(&WHITE).map_err(|e| draw_error(op, e))?;
        let mut panels = self.panels.iter();
        for (row, &count) in root
            .split_evenly((self.rows.len(), 1))
            .iter()
            .zip(&self.rows)
        {
            for (area, panel) in row.split_evenly((1, count)).iter().zip(panels.by_ref()) {
                draw_panel(area, panel, epochs).map_err(|e| draw_error(op, e))?;
            }
        }
        root.present().map_err(|e| draw_error(op, e))
    }
}

/// How many panels go in each row: as few rows as [`MAX_COLUMNS`] allows, the counts as even as
/// they can be, fuller rows first.
fn rows(panels: usize) -> Vec<usize> {
    let rows = panels.div_ceil(MAX_COLUMNS).max(1);
    (0..rows)
        .map(|r| panels / rows + usize::from(r < panels % rows))
        .collect()
}

/// One panel: a log and, when there is one, its validation twin.
struct Panel<'a> {
    title: &'a str,
    series: Vec<(&'a str, &'a [f32], RGBColor)>,
}

/// Panels in the order of the progress line: the loss first, then the others by name; none for
/// a loss that repeats `loss`.
fn panels(history: &History) -> Vec<Panel<'_>> {
    let mut panels: Vec<Panel<'_>> = Vec::new();
    for (name, values) in &history.logs {
        let (title, color) = match name.strip_prefix("val_") {
            Some(base) => (base, VAL_COLOR),
            None => (name.as_str(), TRAIN_COLOR),
        };
        let entry = (name.as_str(), values.as_slice(), color);
        match panels.iter_mut().find(|p| p.title == title) {
            Some(panel) => panel.series.push(entry),
            None => panels.push(Panel {
                title,
                series: vec![entry],
            }),
        }
    }
    for panel in &mut panels {
        // Training before validation within a panel.
        panel
            .series
            .sort_by_key(|(name, _, _)| name.starts_with("val_"));
    }
    panels.sort_by_key(|p| (p.title != "loss", p.title));
    panels
}

/// Makes the bundled font the one plotters lays text out with, once per process.
fn register_font(op: &'static str) -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_FILE).is_ok());
    match registered {
        true => Ok(()),
        false => Err(Error::invalid(
            op,
            "the bundled font cannot be read; this build of elegy is damaged, build it again",
        )),
    }
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel<'_>,
    epochs: &[usize],
) -> DrawResult<DB> {
    // The x axis counts tenths of an epoch, so that the frame can leave part of an epoch free
    // on each side (curves end inside it, not on it) while the ticks stay on whole epochs.
    let xs: Vec<i64> = epochs.iter().map(|&e| (e as i64 + 1) * TENTHS).collect();
    let (first, last) = (
        xs.iter().copied().min().unwrap_or(TENTHS),
        xs.iter().copied().max().unwrap_or(TENTHS),
    );
    let pad = if last > first {
        ((last - first) / 25).max(TENTHS / 4)
    } else {
        TENTHS
    };
    let x_range = (first - pad..last + pad).with_key_points(epoch_ticks(first, last));
    let (y0, y1) = value_range(panel);

    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, (FONT, 20))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|x| (x / TENTHS).to_string())
        .light_line_style(TRANSPARENT)
        .y_label_formatter(&|y| format_tick(*y, y1 - y0))
        .draw()?;

    for &(name, values, color) in &panel.series {
        let points: Vec<(i64, f64)> = xs
            .iter()
            .zip(values)
            .map(|(&x, &v)| (x, f64::from(v)))
            .collect();
        let style = color.stroke_width(2);
        let mut labelled = false;
        // NaN (a missing value) splits the curve into segments.
        for segment in points.split(|(_, v)| !v.is_finite()) {
            if segment.is_empty() {
                continue;
            }
            let drawn = chart.draw_series(LineSeries::new(segment.iter().copied(), style))?;
            if !labelled {
                drawn
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                labelled = true;
            }
            if segment.len() == 1 {
                // A lone point draws no line: mark it.
                chart.draw_series(segment.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
        }
    }
    // The legend goes where the first curve does not end.
    let ends_high = panel
        .series
        .first()
        .and_then(|(_, v, _)| v.iter().rev().find(|v| v.is_finite()))
        .is_some_and(|&v| f64::from(v) > (y0 + y1) / 2.0);
    chart
        .configure_series_labels()
        .position(if ends_high {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        })
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
}

/// The value axis: the finite values of the panel's curves with 5% of their span above and
/// below.
fn value_range(panel: &Panel<'_>) -> (f64, f64) {
    let finite = panel
        .series
        .iter()
        .flat_map(|(_, v, _)| v.iter().copied())
        .filter(|v| v.is_finite())
        .map(f64::from);
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return (0.0, 1.0);
    }
    let margin = if hi > lo {
        (hi - lo) * 0.05
    } else if lo != 0.0 {
        lo.abs() * 0.1
    } else {
        1.0
    };
    (lo - margin, hi + margin)
}

/// Whole epochs from `first` to `last` (in tenths), every 1, 2 or 5 times a power of ten
/// epochs, at most 10 ticks.
fn epoch_ticks(first: i64, last: i64) -> Vec<i64> {
    let span = (last - first).max(TENTHS);
    let step = [1, 2, 5]
        .iter()
        .flat_map(|&m| (0..12).map(move |p| m * 10i64.pow(p) * TENTHS))
        .filter(|&step| span / step < 10)
        .min()
        .unwrap_or(TENTHS);
    let start = (first + step - 1) / step * step;
    (start..=last).step_by(step as usize).collect()
}

/// Tick labels with as many decimals as the axis' span needs, small learning rates included;
/// values too large for the label area (a diverging loss) in scientific notation.
fn format_tick(y: f64, span: f64) -> String {
    let decimals = (2.0 - span.log10().floor()).clamp(0.0, 12.0) as usize;
    if decimals > 6 || y.abs() >= 1e6 {
        format!("{y:.2e}")
    } else {
        format!("{y:.decimals$}")
    }
}

fn draw_error(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::invalid(op, format!("drawing the plot failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{TENTHS, epoch_ticks, format_tick, rows};

    #[test]
    fn ticks_fit_the_label_area_from_learning_rates_to_diverging_losses() {
        assert_eq!(format_tick(0.25, 1.0), "0.25");
        assert_eq!(format_tick(12.0, 400.0), "12");
        assert_eq!(format_tick(1e-8, 1e-8), "1.00e-8");
        assert_eq!(format_tick(2.5e30, 1e30), "2.50e30");
    }

    #[test]
    fn rows_hold_at_most_three_panels_as_evenly_as_the_count_allows() {
        let layouts: Vec<Vec<usize>> = (1..=7).map(rows).collect();
        assert_eq!(
            layouts,
            [
                vec![1],
                vec![2],
                vec![3],
                vec![2, 2],
                vec![3, 2],
                vec![3, 3],
                vec![3, 2, 2]
            ]
        );
    }

    #[test]
    fn epoch_ticks_are_whole_epochs_at_a_round_step() {
        let ticks = |first: i64, last: i64| -> Vec<i64> {
            epoch_ticks(first * TENTHS, last * TENTHS)
                .into_iter()
                .map(|t| t / TENTHS)
                .collect()
        };
        assert_eq!(ticks(1, 1), [1]);
        assert_eq!(ticks(1, 5), [1, 2, 3, 4, 5]);
        assert_eq!(ticks(1, 37), [5, 10, 15, 20, 25, 30, 35]);
        assert_eq!(
            ticks(1, 200),
            [20, 40, 60, 80, 100, 120, 140, 160, 180, 200]
        );
    }
}
