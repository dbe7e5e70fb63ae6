//! Losses: what `test_step` minimizes. Each loss computes its values (one per sample, or per
//! position of a sequence); weighting by `sample_weight` and `class_weight` and the reduction to
//! a scalar are shared (see [`reduce_with`]).
//!
//! The set is Keras': regression ([`MeanSquaredError`], [`MeanAbsoluteError`],
//! [`MeanAbsolutePercentageError`], [`MeanSquaredLogarithmicError`], [`Huber`], [`LogCosh`]),
//! classification ([`BinaryCrossentropy`], [`CategoricalCrossentropy`],
//! [`SparseCategoricalCrossentropy`], [`BinaryFocalCrossentropy`],
//! [`CategoricalFocalCrossentropy`]), margins ([`Hinge`], [`SquaredHinge`],
//! [`CategoricalHinge`]), distributions and counts ([`KLDivergence`], [`Poisson`]),
//! [`CosineSimilarity`], and regularization of the parameters ([`L1Regularization`],
//! [`L2Regularization`]). [`Reconstruction`] turns any of the per-sample losses into one that
//! compares the predictions with the inputs `x`, for models trained without targets. Each is
//! named as in Keras (`"mean_squared_error"`), logged with a `_loss` suffix beside the total
//! `loss` when a runner has several (its one loss is logged as `loss` alone), and computed with
//! differentiable tensor ops.
//!
//! Every [`SampleLoss`] takes Keras' `reduction` through [`SampleLoss::with_reduction`]
//! ([`Reduction::SumOverBatchSize`] by default, [`Reduction::Sum`], [`Reduction::None`]).

mod cosine;
mod crossentropy;
mod focal;
mod hinge;
mod probabilistic;
mod reconstruction;
mod reduction;
mod regression;
mod regularization;
mod shapes;

pub use cosine::CosineSimilarity;
pub use crossentropy::{
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
};
pub use focal::{BinaryFocalCrossentropy, CategoricalFocalCrossentropy};
pub use hinge::{CategoricalHinge, Hinge, SquaredHinge};
pub use probabilistic::{KLDivergence, Poisson};
pub use reconstruction::Reconstruction;
pub use reduction::{Reduced, Reduction, reduce_with};
pub use regression::{
    Huber, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
    MeanSquaredLogarithmicError,
};
pub use regularization::{L1Regularization, L2Regularization};

use crate::data::Data;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// What a loss sees of a batch.
#[derive(Clone, Copy, Debug)]
pub struct LossInputs<'a> {
    /// The inputs of the batch, for losses computed from them (an autoencoder's
    /// [`Reconstruction`]).
    pub x: &'a Data,
    /// The targets, when given.
    pub y_true: Option<&'a Data>,
    /// The predictions.
    pub y_pred: &'a Data,
    /// A weight per sample, when given.
    pub sample_weight: Option<&'a Tensor>,
    /// A weight per class, when given.
    pub class_weight: Option<&'a Tensor>,
    /// The trainable parameters (for regularization losses).
    pub params: &'a TensorMap,
}

/// A loss: a scalar to minimize, computed from a batch.
///
/// Most losses compare targets and predictions sample by sample: implement [`SampleLoss`] and
/// this trait comes with it, with `sample_weight`, `class_weight` and the reduction handled.
pub trait Loss: Send + Sync {
    /// The name it is logged under beside a runner's other losses, before the `_loss` suffix
    /// (`"crossentropy"`).
    fn name(&self) -> String;

    /// The loss of a batch: a scalar tensor.
    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor>;
}

/// A loss computed from one target tensor and one prediction tensor, value by value.
///
/// Implement [`per_sample`](SampleLoss::per_sample) and [`Loss`] comes with it: `sample_weight`,
/// `class_weight` and the [`Reduction`] are handled. A loss whose values are finer than one per
/// sample (one per time step of a sequence) also implements [`values`](SampleLoss::values), so
/// that weights per position and [`Reduction::None`] see them.
pub trait SampleLoss: Send + Sync {
    /// The name it is logged under beside a runner's other losses, before the `_loss` suffix.
    fn name(&self) -> String;

    /// One loss value per sample: shape `[n]` for `n` samples.
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor>;

    /// The loss's values before any reduction, as Keras' losses return them: the predictions'
    /// shape without its last (features or classes) axis, so `[n]` for `[n, features]`
    /// predictions and `[n, steps]` for `[n, steps, classes]`; `[n]` for `[n]` (one value per
    /// sample). [`per_sample`](SampleLoss::per_sample) is their mean over each sample's
    /// positions (those of [`mask`](SampleLoss::mask) when it masks any). By default, the
    /// per-sample values themselves.
    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        self.per_sample(y_true, y_pred)
    }

    /// Which of [`values`](SampleLoss::values) (of shape `values_shape`) count: 1 where a
    /// position counts, 0 where it is ignored, or `None` when every position counts (the
    /// default). A masked position adds nothing to the loss and is left out of
    /// [`Reduction::SumOverBatchSize`]'s count.
    fn mask(&self, _y_true: &Tensor, _values_shape: &[usize]) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// The class of each sample, for `class_weight`: sparse labels as they are, one-hot or
    /// probability targets by their largest entry.
    fn classes(&self, y_true: &Tensor) -> Result<Tensor> {
        class_indices(y_true)
    }

    /// This loss reduced by `reduction` instead of the default [`Reduction::SumOverBatchSize`].
    ///
    /// ```
    /// use elegy_core::{Tensor, TensorMap};
    /// use elegy_core::losses::{Loss, LossInputs, MeanSquaredError, Reduction, SampleLoss};
    /// let y_true = Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0], &[2, 2])?.into();
    /// let y_pred = Tensor::from_vec(vec![1.0, 1.0, 2.0, 0.0], &[2, 2])?.into();
    /// let params = TensorMap::new();
    /// let inputs = LossInputs {
    ///     x: &y_pred, y_true: Some(&y_true), y_pred: &y_pred, sample_weight: None, class_weight: None,
    ///     params: &params,
    /// };
    /// // Per sample: mean(1, 1) = 1 and mean(4, 0) = 2.
    /// let none = MeanSquaredError.with_reduction(Reduction::None).compute(&inputs)?;
    /// assert_eq!(none.to_vec(), vec![1.0, 2.0]);
    /// let sum = MeanSquaredError.with_reduction(Reduction::Sum).compute(&inputs)?;
    /// assert_eq!(sum.item()?, 3.0);
    /// assert_eq!(MeanSquaredError.compute(&inputs)?.item()?, 1.5);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    fn with_reduction(self, reduction: Reduction) -> Reduced<Self>
    where
        Self: Sized,
    {
        Reduced::new(self, reduction)
    }
}

impl<L: SampleLoss> Loss for L {
    fn name(&self) -> String {
        SampleLoss::name(self)
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor> {
        let (y_true, y_pred) = targets_and_predictions(self, inputs)?;
        reduce(
            self,
            y_true,
            y_pred,
            inputs.sample_weight,
            inputs.class_weight,
        )
    }
}

/// The targets and predictions of `inputs` as tensors, or an error naming `loss` that says what
/// is missing.
fn targets_and_predictions<'a>(
    loss: &(impl SampleLoss + ?Sized),
    inputs: &LossInputs<'a>,
) -> Result<(&'a Tensor, &'a Tensor)> {
    let name = loss.name();
    let y_true = inputs.y_true.ok_or_else(|| Error::MissingInput {
        input: "y_true",
        message: format!(
            "loss `{name}` compares targets with predictions, but this call has no targets \
             (y); pass y to the loop, or compare the predictions with the inputs x through \
             `losses::Reconstruction::new(loss)`"
        ),
    })?;
    let fix = "compare one part with `Runner::output_loss(key, loss, weight)`, once per part";
    Ok((
        y_true.as_tensor_or(&format!("loss `{name}`: y_true"), fix)?,
        inputs
            .y_pred
            .as_tensor_or(&format!("loss `{name}`: y_pred"), fix)?,
    ))
}

/// Keras' `sum_over_batch_size` reduction: `sum(w_i * loss_i) / n` over the loss's values, with
/// `w_i` the product of the sample's weight and its class's weight (each 1 when not given);
/// [`reduce_with`] under [`Reduction::SumOverBatchSize`].
pub fn reduce(
    loss: &(impl SampleLoss + ?Sized),
    y_true: &Tensor,
    y_pred: &Tensor,
    sample_weight: Option<&Tensor>,
    class_weight: Option<&Tensor>,
) -> Result<Tensor> {
    reduce_with(
        loss,
        y_true,
        y_pred,
        sample_weight,
        class_weight,
        Reduction::SumOverBatchSize,
    )
}

/// Class indices from sparse labels (`[n]` or `[n, 1]`) or one-hot / probability rows (`[n, c]`).
pub fn class_indices(y_true: &Tensor) -> Result<Tensor> {
    match y_true.shape() {
        [_] => Ok(y_true.detach()),
        [n, 1] => y_true.detach().reshape(&[*n as isize]),
        [_, _] => y_true.argmax(-1),
        shape => Err(Error::shape(
            "class_weight",
            format!("targets of shape {shape:?} do not name one class per sample"),
        )),
    }
}
