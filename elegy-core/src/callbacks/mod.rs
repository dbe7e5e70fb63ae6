//! Built-in callbacks for `fit` (`FitOptions::callbacks`), in Keras' terms: early stopping,
//! checkpoints, learning-rate schedules, CSV logs, TensorBoard event files, stopping on NaN or
//! Ctrl-C, evaluating with the moving average of the weights, closures, the progress display; and the [`Callback`] trait they implement, for callbacks of your own. The
//! training curves of a [`History`](crate::History) are drawn by
//! [`History::plot_svg`](crate::History::plot_svg).
//!
//! ```no_run
//! # use elegy_core::{Defaults, FitOptions, Runner, Tensor};
//! # use elegy_core::losses::SparseCategoricalCrossentropy;
//! # use elegy_core::module::layers::Mlp;
//! # use elegy_core::optimizers::Adam;
//! # fn build_runner() -> elegy_core::Result<Runner<Defaults>> {
//! #     Runner::for_module(Mlp::new(&[8, 3]))
//! #         .loss(SparseCategoricalCrossentropy::from_logits())
//! #         .optimizer(Adam::default())
//! #         .build()
//! # }
//! # let (x, y) = (Tensor::zeros(&[6, 4]), Tensor::zeros(&[6]));
//! # let mut runner = build_runner()?;
//! use elegy_core::callbacks::{CsvLogger, EarlyStopping, StopOnInterrupt};
//! let history = runner.fit(x, y, FitOptions {
//!     epochs: 100,
//!     validation_split: 0.2,
//!     callbacks: vec![
//!         Box::new(EarlyStopping::new("val_loss").patience(5).restore_best_weights(true)),
//!         Box::new(CsvLogger::new("training.csv")),
//!         Box::new(StopOnInterrupt::new()),
//!     ],
//!     ..Default::default()
//! })?;
//! history.plot_svg("training.svg")?;
//! # Ok::<(), elegy_core::Error>(())
//! ```
//!
//! Callbacks run in the order given, each seeing what the previous ones did to the states, to
//! `stop_training` and to the epoch's logs (a callback may add logs in `on_epoch_end`: put a
//! logger such as `CsvLogger` after the callbacks whose logs it should write); `fit`'s own
//! progress display runs first.

mod callback;
mod csv_logger;
mod early_stopping;
mod event_file;
mod lambda;
mod learning_rate;
mod learning_rate_scheduler;
mod live_line;
mod model_checkpoint;
mod monitor;
pub(crate) mod progress;
mod reduce_lr_on_plateau;
mod stop_on_interrupt;
mod swap_ema_weights;
mod tensorboard;
mod terminate_on_nan;

pub use callback::{Callback, CallbackContext, LogValues};
pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use event_file::{ScalarEvent, read_event_scalars};
pub use lambda::LambdaCallback;
pub use learning_rate_scheduler::LearningRateScheduler;
pub use model_checkpoint::{ModelCheckpoint, SaveFreq};
pub use monitor::Mode;
pub use progress::Progress;
pub use reduce_lr_on_plateau::ReduceLrOnPlateau;
pub use stop_on_interrupt::StopOnInterrupt;
pub use swap_ema_weights::SwapEmaWeights;
pub use tensorboard::TensorBoard;
pub use terminate_on_nan::TerminateOnNaN;

/// Replaces `path` with `bytes` crash-safely (temporary file, fsync, rename), creating its folder
/// if needed.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> crate::error::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::checkpoint::atomic::create_dir(dir)?;
    }
    crate::checkpoint::atomic::write(path, bytes)
}
