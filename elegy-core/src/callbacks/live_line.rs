//! The live progress line of an epoch, fitted to the terminal's width: the most useful fields
//! are kept, the rest left out, so that the line never wraps (a wrapped line is redrawn as a
//! new one on every update and floods the screen).
//!
//! Fields are kept in this order while they fit: the epoch and batch counters (always, cut at
//! the width if even they do not fit), the bar (at least [`MIN_BAR`] wide), the ETA, the loss,
//! the other logs in the order of the epoch line, and the elapsed time. They are shown in the
//! order of the epoch line, and the bar then widens into what is left, up to [`MAX_BAR`].

use std::collections::BTreeMap;
use std::time::Duration;

use super::progress::format_log;

/// The narrowest bar worth drawing.
const MIN_BAR: usize = 10;
/// The widest bar (Keras' width).
const MAX_BAR: usize = 30;
const SEPARATOR: &str = " - ";

/// Where an epoch is, as the live line shows it.
pub(crate) struct LiveStatus<'a> {
    /// The epoch, counting from 0.
    pub epoch: usize,
    pub epochs: usize,
    /// Batches run so far.
    pub batches: usize,
    /// Batches in the epoch, 0 when unknown (a stream).
    pub steps: usize,
    pub elapsed: Duration,
    /// The estimated time left, when the length is known.
    pub eta: Option<Duration>,
    /// The running logs.
    pub logs: &'a BTreeMap<String, f32>,
}

/// The live line for `status`, at most `width` columns wide.
pub(crate) fn live_line(status: &LiveStatus<'_>, width: usize) -> String {
    let head = format!("Epoch {}/{}", status.epoch + 1, status.epochs);
    let counter = match status.steps {
        0 => format!("{}/unknown", status.batches),
        steps => format!("{}/{steps}", status.batches),
    };
    let core = format!("{head} {counter}");
    if core.len() >= width {
        return console::truncate_str(&core, width, "").into_owned();
    }

    // The optional fields, in the order they are given room.
    let eta = status.eta.map(|eta| format!("ETA {}", short_duration(eta)));
    let logs = super::progress::ordered_logs(status.logs);
    let mut fields: Vec<(Slot, String)> = Vec::new();
    fields.extend(eta.map(|eta| (Slot::Eta, eta)));
    for (rank, (name, value)) in logs.iter().enumerate() {
        fields.push((Slot::Log(rank), format_log(name, *value)));
    }
    fields.push((Slot::Elapsed, short_duration(status.elapsed)));

    let mut used = core.len();
    // The bar goes first, when there is room for one: `[...] ` before the counter.
    let bar_room = status.steps > 0 && used + MIN_BAR + 3 <= width;
    if bar_room {
        used += MIN_BAR + 3;
    }
    let mut kept: Vec<&(Slot, String)> = Vec::new();
    for field in &fields {
        // A field that does not fit is left out, but a shorter one after it may still fit.
        if used + SEPARATOR.len() + field.1.len() <= width {
            used += SEPARATOR.len() + field.1.len();
            kept.push(field);
        }
    }
    kept.sort_by_key(|(slot, _)| *slot);

    let mut line = head;
    if bar_room {
        let bar_width = (MIN_BAR + width - used).min(MAX_BAR);
        line.push(' ');
        line.push_str(&bar(status.batches, status.steps, bar_width));
    }
    line.push(' ');
    line.push_str(&counter);
    for (_, text) in kept {
        line.push_str(SEPARATOR);
        line.push_str(text);
    }
    line
}

/// Where a field is shown: the elapsed time before the ETA, as on the epoch line, and the logs
/// after them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Elapsed,
    Eta,
    Log(usize),
}

/// `[=====>    ]`, `width` columns inside the brackets.
fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done.min(total) * width).checked_div(total).unwrap_or(0);
    let mut bar = String::with_capacity(width + 2);
    bar.push('[');
    bar.push_str(&"=".repeat(filled));
    if filled < width {
        bar.push('>');
        bar.push_str(&" ".repeat(width - filled - 1));
    }
    bar.push(']');
    bar
}

/// `42s`, `3m07s`, `1h02m`: short, as the line has little room.
fn short_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs() -> BTreeMap<String, f32> {
        [
            ("loss", 0.2103),
            ("accuracy", 0.9412),
            ("mean_absolute_error", 0.0871),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn status(logs: &BTreeMap<String, f32>) -> LiveStatus<'_> {
        LiveStatus {
            epoch: 2,
            epochs: 10,
            batches: 469,
            steps: 938,
            elapsed: Duration::from_secs(14),
            eta: Some(Duration::from_secs(75)),
            logs,
        }
    }

    #[test]
    fn at_80_columns_the_fields_that_do_not_fit_are_left_out_the_least_useful_first() {
        let logs = logs();
        let line = live_line(&status(&logs), 80);
        assert_eq!(
            line,
            "Epoch 3/10 [======>      ] 469/938 - ETA 1m15s - loss: 0.2103 - accuracy: 0.9412"
        );
        assert!(line.len() <= 80, "{} columns", line.len());
    }

    #[test]
    fn a_wide_terminal_shows_every_field_and_the_widest_bar() {
        let logs = logs();
        assert_eq!(
            live_line(&status(&logs), 200),
            "Epoch 3/10 [===============>              ] 469/938 - 14s - ETA 1m15s - loss: 0.2103 \
             - accuracy: 0.9412 - mean_absolute_error: 0.0871"
        );
    }

    #[test]
    fn a_narrow_terminal_keeps_the_counters_and_cuts_them_last() {
        let logs = logs();
        assert_eq!(live_line(&status(&logs), 24), "Epoch 3/10 469/938 - 14s");
        assert_eq!(live_line(&status(&logs), 12), "Epoch 3/10 4");
    }

    #[test]
    fn an_epoch_of_unknown_length_has_no_bar_and_no_eta() {
        let logs = logs();
        let line = live_line(
            &LiveStatus {
                steps: 0,
                eta: None,
                ..status(&logs)
            },
            60,
        );
        assert_eq!(
            line,
            "Epoch 3/10 469/unknown - loss: 0.2103 - accuracy: 0.9412"
        );
    }

    #[test]
    fn durations_are_written_short() {
        assert_eq!(short_duration(Duration::from_secs(42)), "42s");
        assert_eq!(short_duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(short_duration(Duration::from_secs(3720)), "1h02m");
    }
}
