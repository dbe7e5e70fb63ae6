//! Regression losses: squared, absolute, percentage, logarithmic, Huber and log-cosh errors.
//!
//! Each compares targets and predictions of the same shape `[samples, ...]` element by element
//! and averages the last axis, as Keras does (the loss's [`values`](super::SampleLoss::values));
//! the mean over the axes left gives one value per sample. Targets `[n]` against predictions
//! `[n, 1]` (or the reverse) are accepted.

use super::SampleLoss;
use super::shapes::{EPSILON, match_shapes, mean_last_axis, mean_per_sample};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Mean squared error: `mean((y_true - y_pred)^2)` over each sample's features.
///
/// ```
/// use elegy_core::Tensor;
/// use elegy_core::losses::{MeanSquaredError, SampleLoss};
/// let y = Tensor::from_vec(vec![0.0, 1.0], &[1, 2])?;
/// let p = Tensor::from_vec(vec![1.0, 1.0], &[1, 2])?;
/// assert_eq!(MeanSquaredError.per_sample(&y, &p)?.to_vec(), vec![0.5]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanSquaredError;

impl SampleLoss for MeanSquaredError {
    fn name(&self) -> String {
        "mean_squared_error".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let y_true = match_shapes("mean_squared_error", y_true, y_pred)?;
        mean_last_axis(&y_pred.sub(&y_true)?.square())
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// Mean absolute error: `mean(|y_true - y_pred|)` over each sample's features.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanAbsoluteError;

impl SampleLoss for MeanAbsoluteError {
    fn name(&self) -> String {
        "mean_absolute_error".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let y_true = match_shapes("mean_absolute_error", y_true, y_pred)?;
        mean_last_axis(&y_pred.sub(&y_true)?.abs())
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// Mean absolute percentage error, as Keras computes it:
/// `100 * mean(|y_true - y_pred| / max(|y_true|, eps))` with `eps = 1e-7`.
///
/// A target of 0 makes the divisor `eps`: the loss is then huge, not infinite.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanAbsolutePercentageError;

impl SampleLoss for MeanAbsolutePercentageError {
    fn name(&self) -> String {
        "mean_absolute_percentage_error".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let y_true = match_shapes("mean_absolute_percentage_error", y_true, y_pred)?;
        let scale = y_true.abs().clamp(EPSILON, f32::INFINITY)?;
        let ratio = y_pred.sub(&y_true)?.abs().div(&scale)?;
        Ok(mean_last_axis(&ratio)?.mul_scalar(100.0))
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// Mean squared logarithmic error, as Keras computes it:
/// `mean((ln(1 + max(y_pred, eps)) - ln(1 + max(y_true, eps)))^2)` with `eps = 1e-7`.
///
/// Values below `eps` (negative ones included) count as `eps`, so the logarithm is always
/// defined; the gradient is 0 for predictions below `eps`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanSquaredLogarithmicError;

impl SampleLoss for MeanSquaredLogarithmicError {
    fn name(&self) -> String {
        "mean_squared_logarithmic_error".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let y_true = match_shapes("mean_squared_logarithmic_error", y_true, y_pred)?;
        let log1p_floor =
            |t: &Tensor| -> Result<Tensor> { Ok(t.clamp(EPSILON, f32::INFINITY)?.log1p()) };
        let diff = log1p_floor(y_pred)?.sub(&log1p_floor(&y_true)?)?;
        mean_last_axis(&diff.square())
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// The Huber loss: quadratic for small errors, linear for large ones.
///
/// With `e = y_pred - y_true`, each element is `0.5 * e^2` when `|e| <= delta` and
/// `delta * |e| - 0.5 * delta^2` otherwise; the loss is their mean over each sample's features.
#[derive(Clone, Copy, Debug)]
pub struct Huber {
    /// Where the loss turns from quadratic to linear; positive.
    pub delta: f32,
}

impl Default for Huber {
    /// `delta = 1`, Keras' default.
    fn default() -> Huber {
        Huber { delta: 1.0 }
    }
}

impl SampleLoss for Huber {
    fn name(&self) -> String {
        "huber".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let delta = self.delta;
        if !(delta > 0.0 && delta.is_finite()) {
            return Err(Error::invalid(
                "huber",
                format!("delta {delta} must be positive and finite"),
            ));
        }
        let y_true = match_shapes("huber", y_true, y_pred)?;
        let abs_error = y_pred.sub(&y_true)?.abs();
        // |e| split into the part up to delta (quadratic) and the rest (linear): the same
        // piecewise function without a select op, and the same gradient on both sides.
        let quadratic = abs_error.clamp(0.0, delta)?;
        let linear = abs_error.sub(&quadratic)?;
        let per_element = quadratic
            .square()
            .mul_scalar(0.5)
            .add(&linear.mul_scalar(delta))?;
        mean_last_axis(&per_element)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// The logarithm of the hyperbolic cosine of the error, as Keras' `LogCosh`:
/// `mean(ln(cosh(e)))` over the last axis with `e = y_pred - y_true`.
///
/// About `e^2 / 2` for small errors and `|e| - ln 2` for large ones: like the squared error, but
/// an occasional wild prediction weighs linearly. Computed as `e + softplus(-2e) - ln 2`, which
/// does not overflow where `cosh(e)` would (`|e|` above about 89 in `f32`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogCosh;

impl SampleLoss for LogCosh {
    fn name(&self) -> String {
        "log_cosh".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let y_true = match_shapes("log_cosh", y_true, y_pred)?;
        let e = y_pred.sub(&y_true)?;
        let log_cosh = e
            .add(&e.mul_scalar(-2.0).softplus())?
            .sub_scalar(std::f32::consts::LN_2);
        mean_last_axis(&log_cosh)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}
