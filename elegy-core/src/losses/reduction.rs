//! How a loss's values become what it reports: weighting by `sample_weight`, `class_weight` and
//! the loss's own mask, then Keras' reductions.

use super::{Loss, LossInputs, SampleLoss};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How a [`SampleLoss`]'s weighted values (see [`SampleLoss::values`]) are reduced, as Keras'
/// `reduction` argument.
///
/// With `v` the values, `w` their weights (sample weight times class weight, broadcast over a
/// sample's positions) and `m` the loss's mask (1 where a position counts; everywhere 1 but for
/// [`SparseCategoricalCrossentropy::ignore_class`](super::SparseCategoricalCrossentropy)):
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// `sum(w * m * v) / count`, where `count` is the number of values (the samples, times the
    /// positions of each for sequence outputs), or `sum(m)` when the loss masks positions; 0
    /// when `count` is 0. Keras' `"sum_over_batch_size"`, the default.
    #[default]
    SumOverBatchSize,
    /// `sum(w * m * v)`: Keras' `"sum"`.
    Sum,
    /// `w * m * v` itself, one value per sample position (the shape of [`SampleLoss::values`]:
    /// `[n]` for `[n, features]` predictions, `[n, steps]` for `[n, steps, classes]`): Keras'
    /// `None`. Not a scalar, so not a training loss: the runner's `test_step` reports an error
    /// naming this option when a loss given to it reduces to more than one value. Use it to look
    /// at the loss of each sample, or reduce it yourself in a custom `test_step`.
    None,
}

impl Reduction {
    /// Keras' name for the reduction (`"sum_over_batch_size"`, `"sum"`, `"none"`).
    pub fn keras_name(self) -> &'static str {
        match self {
            Reduction::SumOverBatchSize => "sum_over_batch_size",
            Reduction::Sum => "sum",
            Reduction::None => "none",
        }
    }
}

/// A [`SampleLoss`] with another [`Reduction`] than the default; made by
/// [`SampleLoss::with_reduction`].
#[derive(Clone, Copy, Debug)]
pub struct Reduced<L> {
    loss: L,
    reduction: Reduction,
}

impl<L> Reduced<L> {
    pub(super) fn new(loss: L, reduction: Reduction) -> Reduced<L> {
        Reduced { loss, reduction }
    }

    /// The reduction applied.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// The loss reduced.
    pub fn loss(&self) -> &L {
        &self.loss
    }
}

impl<L: SampleLoss> Loss for Reduced<L> {
    fn name(&self) -> String {
        self.loss.name()
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<Tensor> {
        let (y_true, y_pred) = super::targets_and_predictions(&self.loss, inputs)?;
        reduce_with(
            &self.loss,
            y_true,
            y_pred,
            inputs.sample_weight,
            inputs.class_weight,
            self.reduction,
        )
    }
}

/// The loss of a batch under `reduction`: the loss's [`SampleLoss::values`] weighted by
/// `sample_weight` (one weight per sample, or one per value: the values' shape), by the weight
/// of each sample's class in `class_weight`, and by the loss's [`SampleLoss::mask`], then
/// reduced as [`Reduction`] says.
pub fn reduce_with(
    loss: &(impl SampleLoss + ?Sized),
    y_true: &Tensor,
    y_pred: &Tensor,
    sample_weight: Option<&Tensor>,
    class_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<Tensor> {
    let values = loss.values(y_true, y_pred)?;
    let shape = values.shape().to_vec();
    let n = shape.first().copied().unwrap_or(1);
    // A per-sample weight as [n, 1, ...]: it broadcasts over the sample's positions.
    let per_sample_shape: Vec<isize> = std::iter::once(n as isize)
        .chain(std::iter::repeat_n(1, shape.len().saturating_sub(1)))
        .collect();
    let mut weights: Option<Tensor> = None;
    if let Some(sw) = sample_weight {
        weights = Some(if sw.shape() == shape.as_slice() {
            sw.detach()
        } else if sw.len() == n {
            sw.detach().reshape(&per_sample_shape)?
        } else {
            return Err(Error::shape(
                "loss",
                format!(
                    "sample_weight of shape {:?} does not give one weight per sample ({n} \
                     samples), nor one per value of loss `{}` (shape {shape:?})",
                    sw.shape(),
                    loss.name()
                ),
            ));
        });
    }
    if let Some(cw) = class_weight {
        let per_class = class_weights(loss, y_true, cw)?.reshape(&per_sample_shape)?;
        weights = Some(match weights {
            Some(w) => w.mul(&per_class)?,
            None => per_class,
        });
    }
    let mask = loss.mask(y_true, &shape)?;
    if let Some(m) = &mask {
        weights = Some(match weights {
            Some(w) => w.mul(m)?,
            None => m.clone(),
        });
    }
    let weighted = match weights {
        Some(w) => values.mul(&w)?,
        None => values,
    };
    match reduction {
        Reduction::None => Ok(weighted),
        Reduction::Sum => Ok(weighted.sum_all()),
        Reduction::SumOverBatchSize => {
            let count = match &mask {
                Some(m) => m.view().iter().map(|&v| v as f64).sum::<f64>(),
                None => weighted.len() as f64,
            };
            // No value counts: the sum is 0 too, and so is the loss (Keras' divide_no_nan).
            Ok(weighted.sum_all().div_scalar(count.max(1.0) as f32))
        }
    }
}

/// The weight of each sample's class (the loss's [`SampleLoss::classes`]) in `class_weight`.
fn class_weights(
    loss: &(impl SampleLoss + ?Sized),
    y_true: &Tensor,
    class_weight: &Tensor,
) -> Result<Tensor> {
    let classes = loss.classes(y_true)?.to_indices("class_weight")?;
    let table = class_weight.view();
    let per_class = classes
        .iter()
        .map(|&c| {
            table.iter().nth(c).copied().ok_or_else(|| {
                Error::invalid(
                    "class_weight",
                    format!(
                        "class {c} has no weight; class_weight gives {} classes",
                        class_weight.len()
                    ),
                )
            })
        })
        .collect::<Result<Vec<f32>>>()?;
    Ok(Tensor::from(per_class))
}
