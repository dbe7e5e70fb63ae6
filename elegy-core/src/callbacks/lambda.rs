//! [`LambdaCallback`]: a callback made of closures.

use std::fmt;

use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::Result;

type TrainHook = Box<dyn FnMut(&mut CallbackContext<'_>) -> Result<()>>;
type TrainEndHook = Box<dyn FnMut(&mut CallbackContext<'_>, &LogValues) -> Result<()>>;
type IndexHook = Box<dyn FnMut(usize, &mut CallbackContext<'_>) -> Result<()>>;
type IndexLogsHook = Box<dyn FnMut(usize, &mut CallbackContext<'_>, &LogValues) -> Result<()>>;
type EpochEndHook = Box<dyn FnMut(usize, &mut CallbackContext<'_>, &mut LogValues) -> Result<()>>;

/// A callback whose hooks are closures, for one-off needs (Keras' `LambdaCallback`). Each
/// builder method sets the closure of the [`Callback`] hook of the same name; hooks left unset
/// do nothing.
///
/// ```
/// use elegy_core::callbacks::LambdaCallback;
/// let print = LambdaCallback::new().on_epoch_end(|epoch, _ctx, logs| {
///     println!("epoch {epoch}: loss {:?}", logs.get("loss"));
///     Ok(())
/// });
/// ```
#[derive(Default)]
pub struct LambdaCallback {
    train_begin: Option<TrainHook>,
    train_end: Option<TrainEndHook>,
    epoch_begin: Option<IndexHook>,
    epoch_end: Option<EpochEndHook>,
    train_batch_begin: Option<IndexHook>,
    train_batch_end: Option<IndexLogsHook>,
    test_begin: Option<TrainHook>,
    test_end: Option<TrainEndHook>,
    test_batch_begin: Option<IndexHook>,
    test_batch_end: Option<IndexLogsHook>,
    predict_begin: Option<TrainHook>,
    predict_end: Option<TrainHook>,
    predict_batch_begin: Option<IndexHook>,
    predict_batch_end: Option<IndexHook>,
}

impl LambdaCallback {
    /// A callback that does nothing yet.
    pub fn new() -> LambdaCallback {
        LambdaCallback::default()
    }

    /// Runs `f` before the first epoch.
    pub fn on_train_begin(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.train_begin = Some(Box::new(f));
        self
    }

    /// Runs `f` after the last epoch, with its logs.
    pub fn on_train_end(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>, &LogValues) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.train_end = Some(Box::new(f));
        self
    }

    /// Runs `f(epoch, ctx)` before each epoch.
    pub fn on_epoch_begin(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.epoch_begin = Some(Box::new(f));
        self
    }

    /// Runs `f(epoch, ctx, logs)` after each epoch; it may add logs (see
    /// [`Callback::on_epoch_end`] for who sees them).
    pub fn on_epoch_end(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>, &mut LogValues) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.epoch_end = Some(Box::new(f));
        self
    }

    /// Runs `f(batch, ctx)` before each training batch.
    pub fn on_train_batch_begin(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.train_batch_begin = Some(Box::new(f));
        self
    }

    /// Runs `f(batch, ctx, running_logs)` after each training batch.
    pub fn on_train_batch_end(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>, &LogValues) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.train_batch_end = Some(Box::new(f));
        self
    }

    /// Runs `f(ctx)` before an evaluation.
    pub fn on_test_begin(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.test_begin = Some(Box::new(f));
        self
    }

    /// Runs `f(ctx, logs)` after an evaluation.
    pub fn on_test_end(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>, &LogValues) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.test_end = Some(Box::new(f));
        self
    }

    /// Runs `f(batch, ctx)` before each evaluation batch.
    pub fn on_test_batch_begin(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.test_batch_begin = Some(Box::new(f));
        self
    }

    /// Runs `f(batch, ctx, running_logs)` after each evaluation batch.
    pub fn on_test_batch_end(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>, &LogValues) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.test_batch_end = Some(Box::new(f));
        self
    }

    /// Runs `f(ctx)` before a prediction.
    pub fn on_predict_begin(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.predict_begin = Some(Box::new(f));
        self
    }

    /// Runs `f(ctx)` after a prediction.
    pub fn on_predict_end(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.predict_end = Some(Box::new(f));
        self
    }

    /// Runs `f(batch, ctx)` before each prediction batch.
    pub fn on_predict_batch_begin(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.predict_batch_begin = Some(Box::new(f));
        self
    }

    /// Runs `f(batch, ctx)` after each prediction batch.
    pub fn on_predict_batch_end(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + 'static,
    ) -> LambdaCallback {
        self.predict_batch_end = Some(Box::new(f));
        self
    }
}

impl fmt::Debug for LambdaCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = [
            ("on_train_begin", self.train_begin.is_some()),
            ("on_train_end", self.train_end.is_some()),
            ("on_epoch_begin", self.epoch_begin.is_some()),
            ("on_epoch_end", self.epoch_end.is_some()),
            ("on_train_batch_begin", self.train_batch_begin.is_some()),
            ("on_train_batch_end", self.train_batch_end.is_some()),
            ("on_test_begin", self.test_begin.is_some()),
            ("on_test_end", self.test_end.is_some()),
            ("on_test_batch_begin", self.test_batch_begin.is_some()),
            ("on_test_batch_end", self.test_batch_end.is_some()),
            ("on_predict_begin", self.predict_begin.is_some()),
            ("on_predict_end", self.predict_end.is_some()),
            ("on_predict_batch_begin", self.predict_batch_begin.is_some()),
            ("on_predict_batch_end", self.predict_batch_end.is_some()),
        ];
        let hooks: Vec<&str> = set.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect();
        f.debug_struct("LambdaCallback")
            .field("hooks", &hooks)
            .finish()
    }
}

impl Callback for LambdaCallback {
    fn on_train_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.train_begin.as_mut().map_or(Ok(()), |f| f(ctx))
    }
    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>, logs: &LogValues) -> Result<()> {
        self.train_end.as_mut().map_or(Ok(()), |f| f(ctx, logs))
    }
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.epoch_begin.as_mut().map_or(Ok(()), |f| f(epoch, ctx))
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &mut LogValues,
    ) -> Result<()> {
        self.epoch_end
            .as_mut()
            .map_or(Ok(()), |f| f(epoch, ctx, logs))
    }
    fn on_train_batch_begin(&mut self, batch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.train_batch_begin
            .as_mut()
            .map_or(Ok(()), |f| f(batch, ctx))
    }
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        self.train_batch_end
            .as_mut()
            .map_or(Ok(()), |f| f(batch, ctx, logs))
    }
    fn on_test_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.test_begin.as_mut().map_or(Ok(()), |f| f(ctx))
    }
    fn on_test_end(&mut self, ctx: &mut CallbackContext<'_>, logs: &LogValues) -> Result<()> {
        self.test_end.as_mut().map_or(Ok(()), |f| f(ctx, logs))
    }
    fn on_test_batch_begin(&mut self, batch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.test_batch_begin
            .as_mut()
            .map_or(Ok(()), |f| f(batch, ctx))
    }
    fn on_test_batch_end(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        self.test_batch_end
            .as_mut()
            .map_or(Ok(()), |f| f(batch, ctx, logs))
    }
    fn on_predict_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.predict_begin.as_mut().map_or(Ok(()), |f| f(ctx))
    }
    fn on_predict_end(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.predict_end.as_mut().map_or(Ok(()), |f| f(ctx))
    }
    fn on_predict_batch_begin(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        self.predict_batch_begin
            .as_mut()
            .map_or(Ok(()), |f| f(batch, ctx))
    }
    fn on_predict_batch_end(&mut self, batch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.predict_batch_end
            .as_mut()
            .map_or(Ok(()), |f| f(batch, ctx))
    }
}
