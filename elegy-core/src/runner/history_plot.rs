//! Training curves: a [`History`] drawn as an SVG file, one panel per log with its validation
//! twin (`loss` with `val_loss`, ...), against epochs.
//!
//! Drawn with plotters' SVG backend alone: text is written as SVG `<text>` elements that the
//! viewer renders with its own fonts, so no font library or font file is needed here (layout
//! uses plotters' built-in estimate of text widths).

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::runner::History;

const OP: &str = "History::plot_svg";
const PANEL: (u32, u32) = (560, 360);
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOR: RGBColor = RGBColor(255, 127, 14);

impl History {
    /// Writes the training curves as an SVG file at `path`: one panel per log, its validation
    /// log (`val_` prefix) drawn in the same panel, against 1-based epoch numbers as the
    /// progress lines count them. Epochs where a log is missing (NaN) leave a gap. The file is
    /// written atomically (a temporary file renamed over it), so a viewer never sees half a plot.
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
        if self.epochs.is_empty() {
            return Err(Error::invalid(
                OP,
                "the history has no epochs to plot; fit the model first",
            ));
        }
        let panels = panels(self);
        let cols = if panels.len() > 1 { 2 } else { 1 };
        let rows = panels.len().div_ceil(cols);
        let size = (PANEL.0 * cols as u32, PANEL.1 * rows as u32);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(draw_error)?;
            let areas = root.split_evenly((rows, cols));
            for (area, panel) in areas.iter().zip(&panels) {
                draw_panel(area, panel, &self.epochs)?;
            }
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }
}

/// One panel: a log and, when there is one, its validation twin.
struct Panel<'a> {
    title: &'a str,
    series: Vec<(&'a str, &'a [f32], RGBColor)>,
}

/// Panels in the order of the progress line: the loss first, then the others by name.
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

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel<'_>,
    epochs: &[usize],
) -> Result<()> {
    let xs: Vec<i64> = epochs.iter().map(|&e| e as i64 + 1).collect();
    let (mut x0, mut x1) = (
        xs.iter().copied().min().unwrap_or(1),
        xs.iter().copied().max().unwrap_or(1),
    );
    if x0 == x1 {
        x0 -= 1;
        x1 += 1;
    }
    let finite = panel
        .series
        .iter()
        .flat_map(|(_, v, _)| v.iter().copied())
        .filter(|v| v.is_finite())
        .map(f64::from);
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (y0, y1) = if lo > hi {
        (0.0, 1.0)
    } else {
        let margin = if hi > lo {
            (hi - lo) * 0.05
        } else if lo != 0.0 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        (lo - margin, hi + margin)
    };

    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(10)
        .light_line_style(TRANSPARENT)
        .y_label_formatter(&|y| format_tick(*y, y1 - y0))
        .draw()
        .map_err(draw_error)?;

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
            let drawn = chart
                .draw_series(LineSeries::new(segment.iter().copied(), style))
                .map_err(draw_error)?;
            if !labelled {
                drawn
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                labelled = true;
            }
            if segment.len() == 1 {
                // A lone point draws no line: mark it.
                chart
                    .draw_series(segment.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(draw_error)?;
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
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(draw_error)?;
    Ok(())
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

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::invalid(OP, format!("drawing the plot failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::format_tick;

    #[test]
    fn ticks_fit_the_label_area_from_learning_rates_to_diverging_losses() {
        assert_eq!(format_tick(0.25, 1.0), "0.25");
        assert_eq!(format_tick(12.0, 400.0), "12");
        assert_eq!(format_tick(1e-8, 1e-8), "1.00e-8");
        assert_eq!(format_tick(2.5e30, 1e30), "2.50e30");
    }
}
