//! Adding up a step's logs over an epoch: sample-weighted means of batch values, the last value
//! of running ones.

use std::collections::BTreeMap;

use crate::step::{LogEntry, Logs};

/// The logs of the batches of one epoch so far.
#[derive(Default)]
pub(crate) struct LogAccumulator {
    /// name -> (weighted sum, total weight) for batch means; (last value, NaN) for running ones.
    sums: BTreeMap<String, (f64, f64)>,
}

impl LogAccumulator {
    /// Adds a batch of `samples` samples.
    pub(crate) fn add(&mut self, logs: &Logs, samples: usize) {
        for (name, entry) in logs.iter() {
            let slot = self.sums.entry(name.to_string()).or_insert((0.0, 0.0));
            match entry {
                LogEntry::Batch(v) => {
                    slot.0 += v as f64 * samples as f64;
                    slot.1 += samples as f64;
                }
                LogEntry::Running(v) => *slot = (v as f64, f64::NAN),
            }
        }
    }

    /// The epoch's value of each log so far.
    pub(crate) fn values(&self) -> BTreeMap<String, f32> {
        self.sums
            .iter()
            .map(|(name, &(sum, weight))| {
                let value = if weight.is_nan() { sum } else { sum / weight };
                (name.clone(), value as f32)
            })
            .collect()
    }

    /// The weighted sums and total weights of the batch means, in name order: what
    /// data-parallel training adds up across ranks.
    pub(crate) fn batch_sums(&self) -> Vec<f64> {
        self.sums
            .values()
            .filter(|(_, weight)| !weight.is_nan())
            .flat_map(|&(sum, weight)| [sum, weight])
            .collect()
    }

    /// [`LogAccumulator::values`] with the batch means' sums and weights replaced by `sums`
    /// (as [`LogAccumulator::batch_sums`] lays them out).
    pub(crate) fn values_with_batch_sums(&self, sums: &[f64]) -> BTreeMap<String, f32> {
        let mut replaced = self.sums.clone();
        let batch_means = replaced.values_mut().filter(|(_, weight)| !weight.is_nan());
        for (slot, pair) in batch_means.zip(sums.chunks(2)) {
            *slot = (pair[0], pair[1]);
        }
        LogAccumulator { sums: replaced }.values()
    }
}
