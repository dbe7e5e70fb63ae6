//! The runner's side of data-parallel training (see [`crate::distributed`]): sharding batches,
//! taking rank 0's states, averaging model states, global logs, and aborting the group when
//! this rank fails.

use super::Runner;
use super::accumulate::LogAccumulator;
use crate::callbacks::LogValues;
use crate::data::Batch;
use crate::distributed::{DataParallel, Shard, shard_batch};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tensor::{RngKey, TensorMap};

/// Keys of a rank's training steps are folded from this stream with the rank.
const RANK_STREAM: u64 = 4;

impl<M: Model> Runner<M> {
    /// The data-parallel setting, when there is more than one rank.
    pub(super) fn parallel(&self) -> Option<DataParallel> {
        self.components
            .data_parallel
            .as_ref()
            .filter(|dp| dp.is_parallel())
            .cloned()
    }

    /// Whether this runner is rank 0 (or alone): the one that writes files and prints.
    pub(super) fn is_chief(&self) -> bool {
        self.components.rank() == 0
    }

    /// This rank's shard of `batch` (the whole batch without data parallelism).
    pub(super) fn shard(&self, batch: Batch) -> Result<Shard> {
        match self.parallel() {
            Some(dp) => shard_batch(batch, dp.rank(), dp.world_size()),
            None => shard_batch(batch, 0, 1),
        }
    }

    /// `key` made this rank's own, so that ranks do not share dropout masks (unchanged alone).
    pub(super) fn rank_key(&self, key: RngKey) -> RngKey {
        match self.parallel() {
            Some(dp) => key.fold_in(RANK_STREAM).fold_in(dp.rank() as u64),
            None => key,
        }
    }

    /// Every rank takes rank 0's parameters, model states and optimizer state, after checking
    /// that every rank's have the same names and shapes.
    pub(super) fn take_root_states(&mut self) -> Result<()> {
        let Some(dp) = self.parallel() else {
            return Ok(());
        };
        let states = &mut self.states;
        for (what, map) in [
            ("parameters", &mut states.net_params),
            ("model states", &mut states.net_states),
            ("optimizer states", &mut states.optimizer_states),
        ] {
            dp.check_same_structure(map, what)?;
            *map = dp.broadcast_map(map, 0)?;
        }
        Ok(())
    }

    /// After a training step: the model states (moving statistics) averaged over the ranks.
    pub(super) fn average_net_states(&mut self) -> Result<()> {
        if let Some(dp) = self.parallel()
            && !self.states.net_states.is_empty()
        {
            self.states.net_states = dp.average_map(&self.states.net_states)?;
        }
        Ok(())
    }

    /// Whether any rank asks to stop.
    pub(super) fn agree_to_stop(&self, stop: bool) -> Result<bool> {
        match self.parallel() {
            Some(dp) => dp.any(stop),
            None => Ok(stop),
        }
    }

    /// The logs of `accumulator` over every rank's samples: batch means summed with their
    /// sample counts across ranks, each of the runner's metrics computed from its state summed
    /// across ranks (each rank keeps its own state, to stream on from), and then rank 0's logs on every
    /// rank, so that callbacks decide alike. Alone: the accumulator's values.
    pub(super) fn global_logs(&mut self, accumulator: &LogAccumulator) -> Result<LogValues> {
        let Some(dp) = self.parallel() else {
            return Ok(accumulator.values());
        };
        let group = dp.group();
        let mut sums = accumulator.batch_sums();
        let mut count = [sums.len() as f64];
        group.all_reduce_sum_f64(&mut count)?;
        if count[0] != (sums.len() * dp.world_size()) as f64 {
            return Err(Error::Distributed {
                rank: dp.rank(),
                message: "the ranks' steps logged different names; every rank must run the same \
                          steps"
                    .into(),
            });
        }
        group.all_reduce_sum_f64(&mut sums)?;
        let mut logs = accumulator.values_with_batch_sums(&sums);
        let metric_states = dp.sum_map(&self.states.metrics_states)?;
        for entry in &self.components.metrics {
            if !logs.contains_key(&entry.log_name) {
                continue;
            }
            let prefix = entry.state_prefix();
            let state: TensorMap = metric_states
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v.clone())))
                .collect();
            logs.insert(entry.log_name.clone(), entry.metric.result(&state)?);
        }
        let mut values: Vec<f32> = logs.values().copied().collect();
        group.broadcast(&mut values, 0)?;
        for (slot, value) in logs.values_mut().zip(values) {
            *slot = value;
        }
        Ok(logs)
    }

    /// `result`, after aborting the group if it is this rank's own failure.
    pub(super) fn abort_on_failure<T>(&self, result: Result<T>) -> Result<T> {
        if let (Err(e), Some(dp)) = (&result, self.parallel()) {
            dp.abort_on(e);
        }
        result
    }

    /// A guard that aborts the group if this thread unwinds (a panicking step) while held.
    pub(super) fn abort_on_panic(&self) -> AbortOnPanic {
        AbortOnPanic(self.parallel())
    }
}

/// Aborts its group when dropped by a panic; see [`Runner::abort_on_panic`].
pub(super) struct AbortOnPanic(Option<DataParallel>);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if let Some(dp) = &self.0
            && std::thread::panicking()
        {
            dp.group().abort(&format!("rank {} panicked", dp.rank()));
        }
    }
}
