//! Regression metrics: the mean absolute, squared, root-mean-squared and absolute percentage
//! errors between targets and predictions.
//!
//! Each compares `y_true` and `y_pred` of one shape (`[n]` and `[n, 1]` may be mixed) element by
//! element; a sample's error is the mean over its elements, and the metric is the
//! sample-weighted mean of those over the epoch.

use ndarray::Zip;

use super::Metric;
use super::inputs::matched;
use super::mean::{MeanOf, mean_init, mean_result, mean_update};
use crate::error::Result;
use crate::tensor::{Tensor, TensorMap};

/// `f(t, p)` for each pair of elements of `y_true` and `y_pred`, after checking their shapes.
fn elementwise(
    op: &'static str,
    y_true: &Tensor,
    y_pred: &Tensor,
    f: impl Fn(f32, f32) -> f32,
) -> Result<Tensor> {
    let (t, p) = matched(op, y_true, y_pred)?;
    Ok(Tensor::new(
        Zip::from(&t.view())
            .and(&p.view())
            .map_collect(|&t, &p| f(t, p)),
    ))
}

/// The sample-weighted mean of each sample's mean absolute error:
/// `e_i = mean_j |y_true[i, j] - y_pred[i, j]|`, `mae = sum_i w_i e_i / sum_i w_i` (0 over no
/// samples).
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanAbsoluteError;

impl MeanOf for MeanAbsoluteError {
    const NAME: &'static str = "mean_absolute_error";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        elementwise(Self::NAME, y_true, y_pred, |t, p| (t - p).abs())
    }
}

/// The sample-weighted mean of each sample's mean squared error:
/// `e_i = mean_j (y_true[i, j] - y_pred[i, j])^2`, `mse = sum_i w_i e_i / sum_i w_i` (0 over no
/// samples).
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanSquaredError;

impl MeanOf for MeanSquaredError {
    const NAME: &'static str = "mean_squared_error";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        squared_errors(Self::NAME, y_true, y_pred)
    }
}

fn squared_errors(op: &'static str, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    elementwise(op, y_true, y_pred, |t, p| (t - p) * (t - p))
}

/// The square root of the epoch's [`MeanSquaredError`]: `sqrt(sum_i w_i e_i / sum_i w_i)` with
/// `e_i` each sample's mean squared error.
///
/// The root is taken once, of the mean squared error accumulated over all of the epoch's samples;
/// it is not a mean of each batch's root (which would underestimate it: the root is concave).
#[derive(Clone, Copy, Debug, Default)]
pub struct RootMeanSquaredError;

impl RootMeanSquaredError {
    const NAME: &'static str = "root_mean_squared_error";
}

impl Metric for RootMeanSquaredError {
    fn name(&self) -> String {
        Self::NAME.into()
    }

    fn init(&self) -> TensorMap {
        mean_init("total")
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let values = squared_errors(Self::NAME, y_true, y_pred)?;
        mean_update(Self::NAME, "total", state, &values, sample_weight)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        Ok(mean_result("total", state)?.sqrt() as f32)
    }
}

/// Keras' `MeanAbsolutePercentageError`:
/// `e_i = 100 * mean_j |y_true[i, j] - y_pred[i, j]| / max(|y_true[i, j]|, 1e-7)`,
/// `mape = sum_i w_i e_i / sum_i w_i` (0 over no samples).
///
/// The floor of `1e-7` on the denominator (Keras' epsilon) keeps a zero target from dividing by
/// zero: a prediction off a zero target is then a very large percentage, not NaN.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanAbsolutePercentageError;

impl MeanOf for MeanAbsolutePercentageError {
    const NAME: &'static str = "mean_absolute_percentage_error";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        elementwise(Self::NAME, y_true, y_pred, |t, p| {
            100.0 * (t - p).abs() / t.abs().max(1e-7)
        })
    }
}
