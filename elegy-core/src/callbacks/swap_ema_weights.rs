//! [`SwapEmaWeights`]: evaluate and predict with the moving average of the weights.

use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::Result;
use crate::optimizers::swap_ema_weights;

/// Swaps the parameters with the moving averages an [`Ema`](crate::optimizers::Ema) optimizer
/// keeps, for the length of every evaluation (`fit`'s validation, `evaluate`) and prediction,
/// and back after it: Keras' `SwapEMAWeights`. Training goes on from the trained parameters;
/// the validation logs measure the averages.
///
/// ```no_run
/// # use elegy_core::{Defaults, EvaluateOptions, FitOptions, Runner, Tensor};
/// # use elegy_core::losses::SparseCategoricalCrossentropy;
/// # use elegy_core::module::layers::Mlp;
/// use elegy_core::callbacks::SwapEmaWeights;
/// use elegy_core::optimizers::{Adam, Ema};
/// # let (x, y) = (Tensor::zeros(&[6, 4]), Tensor::zeros(&[6]));
/// let mut runner = Runner::for_module(Mlp::new(&[8, 3]))
///     .loss(SparseCategoricalCrossentropy::from_logits())
///     .optimizer(Ema::new(Adam::default(), 0.99))
///     .build()?;
/// let callbacks: Vec<Box<dyn elegy_core::callbacks::Callback>> =
///     vec![Box::new(SwapEmaWeights::new())];
/// runner.fit(x.clone(), y.clone(), FitOptions { validation_split: 0.2, callbacks, ..Default::default() })?;
/// let callbacks: Vec<Box<dyn elegy_core::callbacks::Callback>> =
///     vec![Box::new(SwapEmaWeights::new())];
/// let averaged = runner.evaluate(x, y, EvaluateOptions { callbacks, ..Default::default() })?;
/// # Ok::<(), elegy_core::Error>(())
/// ```
///
/// The swap exchanges the tensors in place (nothing is copied) and is its own inverse. Keras'
/// `swap_on_epoch` (averages in the model between epochs, for a checkpoint of them) is left
/// out: a checkpoint written then would hold the averages as parameters, and a run resumed from
/// it would train from them. To save or export the averages, take them with
/// [`ema_weights`](crate::optimizers::ema_weights) or swap a copy of the states with
/// [`swap_ema_weights`]. An evaluation or prediction that fails midway returns before the swap
/// back: the runner's states then hold the averages, and [`swap_ema_weights`] on them
/// restores the trained parameters. A runner whose optimizer keeps no averages is an error when
/// the first swap is due.
#[derive(Clone, Debug, Default)]
pub struct SwapEmaWeights {
    /// Whether the averages are in the states now.
    swapped: bool,
}

impl SwapEmaWeights {
    /// Swaps around every evaluation and prediction.
    pub fn new() -> SwapEmaWeights {
        SwapEmaWeights::default()
    }

    fn swap_in(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        if !self.swapped {
            swap_ema_weights(ctx.states)?;
            self.swapped = true;
        }
        Ok(())
    }

    fn swap_back(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        if self.swapped {
            swap_ema_weights(ctx.states)?;
            self.swapped = false;
        }
        Ok(())
    }
}

impl Callback for SwapEmaWeights {
    fn on_test_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.swap_in(ctx)
    }

    fn on_test_end(&mut self, ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        self.swap_back(ctx)
    }

    fn on_predict_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.swap_in(ctx)
    }

    // Keras 3.15's `on_predict_end` tests the flag the wrong way round and never swaps back.
    fn on_predict_end(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.swap_back(ctx)
    }
}
