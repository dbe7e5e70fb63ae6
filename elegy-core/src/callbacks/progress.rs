//! [`Progress`]: what `fit` shows while it trains. A live bar on a terminal; one Keras-style line
//! per epoch elsewhere (a log file, CI), so that output stays readable when it is not a screen.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::live_line::{LiveStatus, live_line};
use super::{Callback, CallbackContext, LogValues};
use crate::error::Result;

/// The progress display of `fit`, as a callback. `fit` adds one itself when `verbose > 0`
/// (`verbose: 1` is [`Progress::new`], `verbose: 2` is [`Progress::lines`]); to show progress
/// elsewhere, set `verbose: 0` and pass your own in `callbacks`.
///
/// Each finished epoch leaves one line:
///
/// ```text
/// Epoch 3/10 - 938/938 - 1.2s - loss: 0.2103 - accuracy: 0.9412 - val_loss: 0.2544
/// ```
///
/// where `938/938` counts the batches run of the epoch's batches (fewer when training stopped
/// mid-epoch) and the time includes validation. On a terminal a live line is drawn while the
/// epoch runs: the counters, a bar, the ETA, the running logs and the elapsed time, as many of
/// them as fit the terminal's width, in that order of preference (the finished epoch's line is
/// written whole).
///
/// Failing to write the display (a closed pipe) never stops training: output errors are ignored.
pub struct Progress {
    output: Output,
    bar: Option<ProgressBar>,
    started: Instant,
    batches: usize,
    /// The epoch being shown live, the number of epochs, and the batches per epoch.
    epoch: (usize, usize, usize),
}

enum Output {
    /// Standard output, with a live bar when it is a terminal.
    Stdout { live: bool },
    /// Lines only, into a writer.
    Writer(Box<dyn Write + Send>),
}

impl Progress {
    /// A live bar when standard output is a terminal, one line per epoch otherwise.
    pub fn new() -> Progress {
        Progress::with_output(Output::Stdout {
            live: std::io::stdout().is_terminal(),
        })
    }

    /// One line per epoch on standard output, even on a terminal (Keras' `verbose=2`).
    pub fn lines() -> Progress {
        Progress::with_output(Output::Stdout { live: false })
    }

    /// One line per epoch into `writer` (a file, or a buffer in a test).
    pub fn to_writer(writer: impl Write + Send + 'static) -> Progress {
        Progress::with_output(Output::Writer(Box::new(writer)))
    }

    /// The display `fit` adds for `verbose` (none at 0).
    pub(crate) fn for_verbosity(verbose: u8) -> Option<Progress> {
        match verbose {
            0 => None,
            1 => Some(Progress::new()),
            _ => Some(Progress::lines()),
        }
    }

    fn with_output(output: Output) -> Progress {
        Progress {
            output,
            bar: None,
            started: Instant::now(),
            batches: 0,
            epoch: (0, 0, 0),
        }
    }

    fn write_line(&mut self, line: &str) {
        // Ignored on purpose: a display that cannot be written must not end a training run.
        let _ = match &mut self.output {
            Output::Stdout { .. } => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}").and_then(|()| out.flush())
            }
            Output::Writer(w) => writeln!(w, "{line}").and_then(|()| w.flush()),
        };
    }
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let output = match self.output {
            Output::Stdout { live: true } => "stdout (live bar)",
            Output::Stdout { live: false } => "stdout (lines)",
            Output::Writer(_) => "writer (lines)",
        };
        f.debug_struct("Progress").field("output", &output).finish()
    }
}

impl Callback for Progress {
    fn chief_only(&self) -> bool {
        true
    }

    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.started = Instant::now();
        self.batches = 0;
        if let Output::Stdout { live: true } = self.output {
            // The line is composed here to fit the terminal (see `live_line`); the bar only
            // draws it, at a limited rate, and keeps the count and the ETA.
            let length = (ctx.steps_per_epoch > 0).then_some(ctx.steps_per_epoch as u64);
            let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stdout());
            // The template is fixed, so it always parses; the fallback is only for form's sake.
            let style = ProgressStyle::with_template("{msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            self.bar = Some(bar);
            self.epoch = (epoch, ctx.epochs, ctx.steps_per_epoch);
        }
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        _ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        self.batches = batch + 1;
        if let Some(bar) = &self.bar {
            bar.set_position(self.batches as u64);
            let (epoch, epochs, steps) = self.epoch;
            let status = LiveStatus {
                epoch,
                epochs,
                batches: self.batches,
                steps,
                elapsed: bar.elapsed(),
                eta: (steps > 0).then(|| bar.eta()),
                logs,
            };
            bar.set_message(live_line(&status, terminal_width()));
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &mut LogValues,
    ) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        // At its end, an epoch of unknown length has as many batches as it ran.
        let steps = match ctx.steps_per_epoch {
            0 => self.batches,
            steps => steps,
        };
        let line = epoch_line(
            epoch,
            ctx.epochs,
            self.batches,
            steps,
            self.started.elapsed().as_secs_f64(),
            logs,
        );
        self.write_line(&line);
        Ok(())
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        Ok(())
    }
}

/// `loss: 0.2103 - accuracy: 0.9412 - val_loss: ...`: the loss first, validation logs last.
pub(crate) fn format_logs(logs: &BTreeMap<String, f32>) -> String {
    ordered_logs(logs)
        .into_iter()
        .map(|(name, value)| format_log(name, value))
        .collect::<Vec<_>>()
        .join(" - ")
}

/// The logs in the order the progress lines show them: the loss, the other training logs by
/// name, `val_loss`, the other validation logs by name.
pub(crate) fn ordered_logs(logs: &BTreeMap<String, f32>) -> Vec<(&str, f32)> {
    let rank = |k: &str| match k {
        "loss" => 0,
        k if k.starts_with("val_") && k != "val_loss" => 3,
        "val_loss" => 2,
        _ => 1,
    };
    let mut ordered: Vec<(&str, f32)> = logs.iter().map(|(k, &v)| (k.as_str(), v)).collect();
    ordered.sort_by_key(|&(k, _)| (rank(k), k));
    ordered
}

/// `loss: 0.2103`; a value of magnitude 1e-3 or below in scientific notation (`learning_rate:
/// 1.0000e-5`), as Keras' progress bar writes it, so that a small rate does not show as 0.
pub(crate) fn format_log(name: &str, value: f32) -> String {
    if value.abs() > 1e-3 || value == 0.0 || !value.is_finite() {
        format!("{name}: {value:.4}")
    } else {
        format!("{name}: {value:.4e}")
    }
}

/// The width of the terminal on standard output, read at every update so that a resized
/// window is followed; 80 columns when it cannot be read.
fn terminal_width() -> usize {
    console::Term::stdout()
        .size_checked()
        .map_or(80, |(_rows, columns)| usize::from(columns))
}

/// Keras' one line per epoch.
fn epoch_line(
    epoch: usize,
    epochs: usize,
    batches: usize,
    steps: usize,
    seconds: f64,
    logs: &BTreeMap<String, f32>,
) -> String {
    let mut line = format!(
        "Epoch {}/{epochs} - {batches}/{steps} - {seconds:.1}s",
        epoch + 1
    );
    if !logs.is_empty() {
        line.push_str(" - ");
        line.push_str(&format_logs(logs));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::format_log;

    #[test]
    fn a_small_value_is_written_in_scientific_notation_as_keras_does() {
        assert_eq!(format_log("loss", 0.21034), "loss: 0.2103");
        assert_eq!(
            format_log("learning_rate", 1e-5),
            "learning_rate: 1.0000e-5"
        );
        assert_eq!(format_log("loss", 0.0), "loss: 0.0000");
        assert_eq!(format_log("loss", f32::NAN), "loss: NaN");
    }
}
