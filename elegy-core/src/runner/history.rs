//! [`History`]: the logs of every epoch of `fit`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Per-epoch logs, as Keras' `History`: `logs["loss"][i]` is the loss of the `i`-th recorded
/// epoch, whose number is `epochs[i]`. Validation logs are prefixed `val_`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The epoch numbers recorded (counting from 0).
    pub epochs: Vec<usize>,
    /// Each log's value per recorded epoch.
    pub logs: BTreeMap<String, Vec<f32>>,
}

impl History {
    /// Appends one epoch's logs. A log first seen late is padded with NaN for earlier epochs
    /// (e.g. validation logs with `validation_freq > 1` are NaN on epochs without validation).
    pub fn record(&mut self, epoch: usize, logs: &BTreeMap<String, f32>) {
        let before = self.epochs.len();
        self.epochs.push(epoch);
        for (name, &value) in logs {
            let series = self
                .logs
                .entry(name.clone())
                .or_insert_with(|| vec![f32::NAN; before]);
            series.push(value);
        }
        for series in self.logs.values_mut() {
            series.resize(before + 1, f32::NAN);
        }
    }

    /// Makes the last record's logs `logs`: what callbacks added to (or removed from) an epoch's
    /// logs after it was recorded. A log new here is padded with NaN for earlier epochs; a log
    /// left with no value at all is dropped.
    pub(crate) fn amend_last(&mut self, logs: &BTreeMap<String, f32>) {
        let Some(last) = self.epochs.len().checked_sub(1) else {
            return;
        };
        for series in self.logs.values_mut() {
            series[last] = f32::NAN;
        }
        for (name, &value) in logs {
            let series = self
                .logs
                .entry(name.clone())
                .or_insert_with(|| vec![f32::NAN; last + 1]);
            series[last] = value;
        }
        self.logs
            .retain(|_, series| series.iter().any(|v| !v.is_nan()));
    }

    /// Drops the records of epoch `epoch` and later (and logs left with no value).
    pub(crate) fn forget_from(&mut self, epoch: usize) {
        let keep = self.epochs.iter().take_while(|&&e| e < epoch).count();
        self.epochs.truncate(keep);
        for series in self.logs.values_mut() {
            series.truncate(keep);
        }
        self.logs
            .retain(|_, series| series.iter().any(|v| !v.is_nan()));
    }

    /// The values of `name`, one per recorded epoch.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.logs.get(name).map(Vec::as_slice)
    }

    /// The last recorded value of `name`.
    pub fn last(&self, name: &str) -> Option<f32> {
        self.get(name).and_then(|s| s.last().copied())
    }
}
