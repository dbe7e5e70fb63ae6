//! [`TensorBoard`]: the logs of `fit` as TensorBoard event files.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::event_file::EventWriter;
use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::Result;

/// Files written by this process so far: a part of each file's name, so that two callbacks
/// started in the same second never write to one file.
static FILES: AtomicU64 = AtomicU64::new(0);

/// Writes the logs of `fit` as TensorBoard event files, in Keras' layout: under `log_dir`,
/// `train/` holds the training logs and `validation/` the validation logs (without their
/// `val_` prefix, so that TensorBoard draws `loss` and `val_loss` in one chart), each epoch's
/// log `name` as the scalar `epoch_{name}` at step `epoch`: the loss, the metrics and the
/// `learning_rate` (see [`Runner::fit`](crate::Runner::fit)), and any log a callback before
/// this one added. Watch them with `tensorboard --logdir LOG_DIR`.
///
/// With [`update_freq(n)`](TensorBoard::update_freq) (Keras' `update_freq=n`), the running logs
/// of every `n`-th batch are also written to `train/` as `batch_{name}`, at the step of the
/// batch counted over the whole training from 1. Every `fit` starts new files; what is
/// written is on disk at the end of each epoch.
///
/// ```no_run
/// # use elegy_core::FitOptions;
/// use elegy_core::callbacks::TensorBoard;
/// let options = FitOptions {
///     epochs: 20,
///     callbacks: vec![Box::new(TensorBoard::new("logs/run1").update_freq(10))],
///     ..Default::default()
/// };
/// ```
#[derive(Debug)]
pub struct TensorBoard {
    log_dir: PathBuf,
    update_freq: Option<usize>,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
    /// Training batches so far, over every epoch of this fit.
    batches: i64,
}

impl TensorBoard {
    /// Writes the epoch logs under `log_dir`.
    pub fn new(log_dir: impl Into<PathBuf>) -> TensorBoard {
        TensorBoard {
            log_dir: log_dir.into(),
            update_freq: None,
            train: None,
            validation: None,
            batches: 0,
        }
    }

    /// Also writes the running logs of every `batches`-th training batch (1: every batch;
    /// 0: none, the default).
    pub fn update_freq(mut self, batches: usize) -> TensorBoard {
        self.update_freq = (batches > 0).then_some(batches);
        self
    }

    /// The writer of `part` (`train` or `validation`), created when first needed so that a fit
    /// without validation makes no empty `validation/` file.
    fn writer<'a>(
        slot: &'a mut Option<EventWriter>,
        log_dir: &std::path::Path,
        part: &str,
    ) -> Result<&'a mut EventWriter> {
        if slot.is_none() {
            let name = format!(
                "elegy.{}.{}.v2",
                std::process::id(),
                FILES.fetch_add(1, Ordering::Relaxed)
            );
            *slot = Some(EventWriter::create(&log_dir.join(part), &name)?);
        }
        Ok(slot.as_mut().expect("just made"))
    }
}

impl Callback for TensorBoard {
    fn chief_only(&self) -> bool {
        true
    }

    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.train = None;
        self.validation = None;
        self.batches = 0;
        Self::writer(&mut self.train, &self.log_dir, "train").map(drop)
    }

    fn on_train_batch_end(
        &mut self,
        _batch: usize,
        _ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        self.batches += 1;
        let Some(every) = self.update_freq else {
            return Ok(());
        };
        if self.batches % every as i64 != 0 {
            return Ok(());
        }
        let train = Self::writer(&mut self.train, &self.log_dir, "train")?;
        for (name, &value) in logs {
            train.scalar(&format!("batch_{name}"), self.batches, value)?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _ctx: &mut CallbackContext<'_>,
        logs: &mut LogValues,
    ) -> Result<()> {
        let step = epoch as i64;
        let train = Self::writer(&mut self.train, &self.log_dir, "train")?;
        for (name, &value) in logs.iter().filter(|(k, _)| !k.starts_with("val_")) {
            train.scalar(&format!("epoch_{name}"), step, value)?;
        }
        train.flush()?;
        let mut validation = logs
            .iter()
            .filter_map(|(k, &v)| Some((k.strip_prefix("val_")?, v)))
            .peekable();
        if validation.peek().is_some() {
            let writer = Self::writer(&mut self.validation, &self.log_dir, "validation")?;
            for (name, value) in validation {
                writer.scalar(&format!("epoch_{name}"), step, value)?;
            }
            writer.flush()?;
        }
        Ok(())
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        for writer in [&mut self.train, &mut self.validation]
            .into_iter()
            .flatten()
        {
            writer.flush()?;
        }
        self.train = None;
        self.validation = None;
        Ok(())
    }
}
