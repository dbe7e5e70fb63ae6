//! Losses: what `test_step` minimizes. Each loss computes one value per sample; weighting by
//! `sample_weight` and `class_weight` and the reduction to a scalar are shared (see [`reduce`]).
//!
//! The set is Keras': regression ([`MeanSquaredError`], [`MeanAbsoluteError`],
//! [`MeanAbsolutePercentageError`], [`MeanSquaredLogarithmicError`], [`Huber`]), classification
//! ([`BinaryCrossentropy`], [`CategoricalCrossentropy`], [`SparseCategoricalCrossentropy`]),
//! [`CosineSimilarity`], and regularization of the parameters ([`L1Regularization`],
//! [`L2Regularization`]). [`Reconstruction`] turns any of the per-sample losses into one that
//! compares the predictions with the inputs `x`, for models trained without targets. Each is named as in Keras (`"mean_squared_error"`), logged with a
//! `_loss` suffix, and computed with differentiable tensor ops.

mod cosine;
mod crossentropy;
mod reconstruction;
mod regression;
mod regularization;
mod shapes;

pub use cosine::CosineSimilarity;
pub use crossentropy::{
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
};
pub use reconstruction::Reconstruction;
pub use regression::{
    Huber, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
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
    /// The name it is logged under, before the `_loss` suffix (`"crossentropy"`).
    fn name(&self) -> String;

    /// The loss of a batch: a scalar tensor.
    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor>;
}

/// A loss computed per sample from one target tensor and one prediction tensor.
pub trait SampleLoss: Send + Sync {
    /// The name it is logged under, before the `_loss` suffix.
    fn name(&self) -> String;

    /// One loss value per sample: shape `[n]` for `n` samples.
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor>;

    /// The class of each sample, for `class_weight`: sparse labels as they are, one-hot or
    /// probability targets by their largest entry.
    fn classes(&self, y_true: &Tensor) -> Result<Tensor> {
        class_indices(y_true)
    }
}

impl<L: SampleLoss> Loss for L {
    fn name(&self) -> String {
        SampleLoss::name(self)
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor> {
        let name = SampleLoss::name(self);
        let y_true = inputs.y_true.ok_or_else(|| Error::MissingInput {
            input: "y_true",
            message: format!(
                "loss `{name}` compares targets with predictions, but this call has no targets \
                 (y); pass y to the loop, or compare the predictions with the inputs x through \
                 `losses::Reconstruction::new(loss)`"
            ),
        })?;
        let fix = "compare one part with `Runner::output_loss(key, loss, weight)`, once per part";
        reduce(
            self,
            y_true.as_tensor_or(&format!("loss `{name}`: y_true"), fix)?,
            inputs
                .y_pred
                .as_tensor_or(&format!("loss `{name}`: y_pred"), fix)?,
            inputs.sample_weight,
            inputs.class_weight,
        )
    }
}

/// Keras' `sum_over_batch_size` reduction: `sum(w_i * loss_i) / n`, with `w_i` the product of the
/// sample's weight and its class's weight (each 1 when not given).
pub fn reduce(
    loss: &(impl SampleLoss + ?Sized),
    y_true: &Tensor,
    y_pred: &Tensor,
    sample_weight: Option<&Tensor>,
    class_weight: Option<&Tensor>,
) -> Result<Tensor> {
    let per_sample = loss.per_sample(y_true, y_pred)?;
    let n = per_sample.len();
    let mut weights: Option<Tensor> = None;
    if let Some(sw) = sample_weight {
        if sw.len() != n {
            return Err(Error::shape(
                "loss",
                format!(
                    "sample_weight of shape {:?} does not give one weight per sample ({n} samples)",
                    sw.shape()
                ),
            ));
        }
        weights = Some(sw.reshape(&[n as isize])?);
    }
    if let Some(cw) = class_weight {
        let classes = loss.classes(y_true)?.to_indices("class_weight")?;
        let table = cw.view();
        let per_class = classes
            .iter()
            .map(|&c| {
                table.iter().nth(c).copied().ok_or_else(|| {
                    Error::invalid(
                        "class_weight",
                        format!(
                            "class {c} has no weight; class_weight gives {} classes",
                            cw.len()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<f32>>>()?;
        let per_class = Tensor::from(per_class);
        weights = Some(match weights {
            Some(w) => w.mul(&per_class)?,
            None => per_class,
        });
    }
    let weighted = match weights {
        Some(w) => per_sample.mul(&w)?,
        None => per_sample,
    };
    Ok(weighted.sum_all().div_scalar(n.max(1) as f32))
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
