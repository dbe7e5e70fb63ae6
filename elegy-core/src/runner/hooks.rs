//! Calling the callbacks: every hook of `fit`, `evaluate` and `predict` goes through one
//! dispatch, with a context over the runner.

use super::Runner;
use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::Result;
use crate::model::Model;

/// Where a loop is, for callbacks.
#[derive(Clone, Copy)]
pub(super) struct LoopPosition {
    pub epoch: usize,
    pub epochs: usize,
    pub steps_per_epoch: usize,
}

impl LoopPosition {
    /// An evaluation or prediction of its own (not `fit`'s validation): no epochs, and the
    /// batches it will run when known.
    pub fn outside_fit(batches: Option<usize>) -> LoopPosition {
        LoopPosition {
            epoch: 0,
            epochs: 0,
            steps_per_epoch: batches.unwrap_or(0),
        }
    }
}

impl<M: Model> Runner<M> {
    /// Calls `hook` on every callback, in order, with a context over the runner's states;
    /// `stop` is what the hooks make of `stop_training`.
    pub(super) fn with_callbacks(
        &mut self,
        callbacks: &mut [Box<dyn Callback>],
        position: LoopPosition,
        stop: &mut bool,
        mut hook: impl FnMut(&mut dyn Callback, &mut CallbackContext<'_>) -> Result<()>,
    ) -> Result<()> {
        if callbacks.is_empty() {
            return Ok(());
        }
        let mut ctx = CallbackContext {
            states: &mut self.states,
            components: &self.components,
            history: &self.history,
            stop_training: *stop,
            epoch: position.epoch,
            epochs: position.epochs,
            steps_per_epoch: position.steps_per_epoch,
            step: self.step,
            seed: self.seed,
        };
        let chief = ctx.is_chief();
        for cb in callbacks.iter_mut() {
            if chief || !cb.chief_only() {
                hook(cb.as_mut(), &mut ctx)?;
            }
        }
        *stop = ctx.stop_training;
        Ok(())
    }

    /// `on_epoch_end` of every callback, in order, over the epoch's `logs`, which each may add
    /// to: after each, the runner's history (whose last record is this epoch) takes the logs as
    /// they are, so that the next callback's context and any checkpoint it writes have them.
    pub(super) fn epoch_end_callbacks(
        &mut self,
        callbacks: &mut [Box<dyn Callback>],
        position: LoopPosition,
        stop: &mut bool,
        logs: &mut LogValues,
    ) -> Result<()> {
        for cb in callbacks.iter_mut() {
            let one = std::slice::from_mut(cb);
            self.with_callbacks(one, position, stop, |cb, ctx| {
                cb.on_epoch_end(position.epoch, ctx, logs)
            })?;
            self.history.amend_last(logs);
        }
        Ok(())
    }
}
