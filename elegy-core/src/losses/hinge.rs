//! Hinge losses, for classifiers that output scores rather than probabilities (margin
//! classifiers, SVM-style): [`Hinge`], [`SquaredHinge`] and [`CategoricalHinge`].

use super::SampleLoss;
use super::shapes::{feature_axis, match_shapes, mean_last_axis, mean_per_sample};
use crate::error::Result;
use crate::tensor::Tensor;

/// Targets as -1 / 1, as Keras converts them: when every target of the batch is 0 or 1, each
/// becomes `2 y - 1`; otherwise they are left as given (expected to be -1 and 1 already).
fn signed_labels(y_true: &Tensor) -> Tensor {
    let binary = y_true.view().iter().all(|&y| y == 0.0 || y == 1.0);
    if binary {
        y_true.detach().mul_scalar(2.0).sub_scalar(1.0)
    } else {
        y_true.detach()
    }
}

/// `max(1 - y * p, 0)` for each element, `y` as [`signed_labels`] gives it.
fn margins(loss: &'static str, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let y = signed_labels(&match_shapes(loss, y_true, y_pred)?);
    Ok(y.mul(y_pred)?.rsub_scalar(1.0).relu())
}

/// The hinge loss, as Keras: `mean(max(1 - y * p, 0))` over the last axis.
///
/// Targets are -1 or 1; 0 / 1 targets are turned into -1 / 1 when every target of the batch is 0
/// or 1 (Keras' rule: the test is over the batch, so a batch of -1 / 1 targets that happens to
/// hold no -1 is still read as 0 / 1 — keep to one convention). Predictions are scores: a
/// sample is on the right side with margin when `y * p >= 1`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hinge;

impl SampleLoss for Hinge {
    fn name(&self) -> String {
        "hinge".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_last_axis(&margins("hinge", y_true, y_pred)?)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// The squared hinge loss, as Keras: `mean(max(1 - y * p, 0)^2)` over the last axis, with
/// targets as in [`Hinge`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SquaredHinge;

impl SampleLoss for SquaredHinge {
    fn name(&self) -> String {
        "squared_hinge".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_last_axis(&margins("squared_hinge", y_true, y_pred)?.square())
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// The categorical hinge loss, as Keras: `max(neg - pos + 1, 0)` for each row along the last
/// axis, with `pos = sum(y * p)` (the true class's score, for one-hot `y`) and
/// `neg = max((1 - y) * p)` (the best other class's score).
///
/// Targets are one-hot rows of the predictions' shape `[n, ..., classes]`. As in Keras, the
/// other classes' scores are multiplied by 1 and the true class's by 0 before the maximum, so
/// `neg` is never below 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct CategoricalHinge;

impl SampleLoss for CategoricalHinge {
    fn name(&self) -> String {
        "categorical_hinge".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        const NAME: &str = "categorical_hinge";
        feature_axis(NAME, y_pred, -1)?;
        let y = match_shapes(NAME, y_true, y_pred)?;
        let pos = y.mul(y_pred)?.sum(&[-1], false)?;
        let neg = y.rsub_scalar(1.0).mul(y_pred)?.max(&[-1], false)?;
        Ok(neg.sub(&pos)?.add_scalar(1.0).relu())
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}
