//! [`Callback`]: the hook points of the loops, as in Keras.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::runner::History;
use crate::step::{Components, States};

/// What a hook sees of the loop, and how it steers it. Every hook gets one: those of `fit`, and
/// those of `evaluate` (also `fit`'s validation) and `predict`.
pub struct CallbackContext<'a> {
    /// The model's current states; a hook may replace them (restoring the best weights, or
    /// changing the optimizer's `learning_rate` state, say).
    pub states: &'a mut States,
    /// The runner's loss, metrics, optimizer and module (what its steps receive).
    pub components: &'a Components,
    /// The epochs recorded so far (over every `fit` of this runner).
    pub history: &'a History,
    /// Set to stop `fit` after the current batch (the end hooks still run).
    pub stop_training: bool,
    /// The epoch under way (counting from 0); at the end of training, the last one run. In an
    /// `evaluate` or `predict` of its own (not `fit`'s validation): 0.
    pub epoch: usize,
    /// The last epoch `fit` will run (exclusive), as given in its options; 0 in an `evaluate`
    /// or `predict` of its own.
    pub epochs: usize,
    /// Batches per epoch (of an `evaluate` or `predict` of its own: the batches it runs), or 0
    /// when not known before the pass ends (a dataset, with `FitOptions::steps_per_epoch`
    /// unset).
    pub steps_per_epoch: usize,
    /// Training steps taken so far by the runner (what each step's random key derives from).
    pub step: u64,
    /// The runner's seed.
    pub seed: u64,
}

impl CallbackContext<'_> {
    /// This process's rank in data-parallel training (0 without it).
    pub fn rank(&self) -> usize {
        self.components.rank()
    }

    /// Whether this is rank 0 (or the only process): the one that should write files and
    /// print, in a callback of your own that runs on every rank.
    pub fn is_chief(&self) -> bool {
        self.rank() == 0
    }
}

/// Logs by name, as hooks receive them.
pub type LogValues = BTreeMap<String, f32>;

/// Hooks called by `fit`, `evaluate` and `predict`. Every hook does nothing by default.
#[allow(unused_variables)]
pub trait Callback {
    /// Whether the callback only has side effects outside the model (files, printing): in
    /// data-parallel training it then runs on rank 0 alone ([`crate::distributed`]), where
    /// other callbacks run on every rank. `false` by default; the progress display,
    /// `ModelCheckpoint`, `CsvLogger` and `TensorBoard` say `true`.
    fn chief_only(&self) -> bool {
        false
    }
    /// Before the first epoch of `fit`.
    fn on_train_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After the last epoch of `fit` (also after a stop), with the last epoch's logs.
    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>, logs: &LogValues) -> Result<()> {
        Ok(())
    }
    /// Before each epoch.
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After each epoch (and its validation), with the epoch's logs, which the hook may add to
    /// (or change): `logs.insert("my_log".into(), value)`.
    ///
    /// The order rule: callbacks run in the order given, each seeing the entries the ones before
    /// it added; the runner's [`History`] (and so [`CallbackContext::history`] of the next
    /// callback, and checkpoints a later [`ModelCheckpoint`](super::ModelCheckpoint) writes)
    /// takes the logs after every hook, and `fit`'s returned history the logs after the last
    /// one. So a callback that writes logs somewhere ([`CsvLogger`](super::CsvLogger)) sees what
    /// another adds when it comes after it in the list. The progress display, which runs first,
    /// shows only what `fit` logged.
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &mut LogValues,
    ) -> Result<()> {
        Ok(())
    }
    /// Before each training batch.
    fn on_train_batch_begin(&mut self, batch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After each training batch, with the epoch's running logs and the `learning_rate` of the
    /// batch's step (see [`Runner::fit`](crate::Runner::fit)).
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        Ok(())
    }
    /// Before an evaluation (by `evaluate`, or `fit`'s validation).
    fn on_test_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After an evaluation, with its logs.
    fn on_test_end(&mut self, ctx: &mut CallbackContext<'_>, logs: &LogValues) -> Result<()> {
        Ok(())
    }
    /// Before each evaluation batch.
    fn on_test_batch_begin(&mut self, batch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After each evaluation batch, with the running logs.
    fn on_test_batch_end(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        Ok(())
    }
    /// Before `predict` runs its first batch.
    fn on_predict_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After `predict`'s last batch.
    fn on_predict_end(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// Before each prediction batch.
    fn on_predict_batch_begin(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        Ok(())
    }
    /// After each prediction batch.
    fn on_predict_batch_end(&mut self, batch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
}
