//! [`Mean`], and the weighted mean of one value per sample that the regression and accuracy
//! metrics are built on (Keras' `MeanMetricWrapper`).

use super::Metric;
use super::inputs::{add_scalar, num_samples, ratio, sample_weights, scalar};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// A metric whose value is the sample-weighted mean of one value per sample.
///
/// State: `<TOTAL>` = `sum_i w_i v_i` and `count` = `sum_i w_i` over every sample seen; the
/// result is `total / count` (0 when `count` is 0).
pub(super) trait MeanOf: Send + Sync {
    /// The name it is logged under, also naming it in errors.
    const NAME: &'static str;
    /// The name of the weighted sum's state.
    const TOTAL: &'static str = "total";

    /// Values of shape `[n, ...]` (a scalar is one sample): sample `i`'s value `v_i` is the mean
    /// of `values[i, ...]`.
    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor>;
}

impl<M: MeanOf> Metric for M {
    fn name(&self) -> String {
        M::NAME.into()
    }

    fn init(&self) -> TensorMap {
        mean_init(M::TOTAL)
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let values = self.values(y_true, y_pred)?;
        mean_update(M::NAME, M::TOTAL, state, &values, sample_weight)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        Ok(mean_result(M::TOTAL, state)? as f32)
    }
}

/// The state of a weighted mean before any sample.
pub(super) fn mean_init(total: &str) -> TensorMap {
    TensorMap::new()
        .with(total, Tensor::scalar(0.0))
        .with("count", Tensor::scalar(0.0))
}

/// The state of a weighted mean after the samples of `values` (`[n, ...]`), each the mean of its
/// elements and weighted by `sample_weight`.
pub(super) fn mean_update(
    op: &'static str,
    total: &str,
    state: &TensorMap,
    values: &Tensor,
    sample_weight: Option<&Tensor>,
) -> Result<TensorMap> {
    let n = num_samples(values.shape());
    let weights = sample_weights(op, sample_weight, n)?;
    let (mut sum, mut count) = (0.0f64, 0.0f64);
    if let Some(per_sample) = values.len().checked_div(n) {
        if per_sample == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "values of shape {:?} have no elements per sample",
                    values.shape()
                ),
            ));
        }
        // Row-major iteration visits each sample's elements together, whatever the layout.
        let mut it = values.view().into_iter();
        for w in weights {
            let s: f64 = it.by_ref().take(per_sample).map(|&v| v as f64).sum();
            sum += w * s / per_sample as f64;
            count += w;
        }
    }
    Ok(TensorMap::new()
        .with(total, add_scalar(state, total, sum)?)
        .with("count", add_scalar(state, "count", count)?))
}

/// `total / count` of a weighted mean's state, 0 over no samples.
pub(super) fn mean_result(total: &str, state: &TensorMap) -> Result<f64> {
    Ok(ratio(scalar(state, total)?, scalar(state, "count")?))
}

/// The sample-weighted mean of `y_pred`'s per-sample means; `y_true` is not used.
///
/// With `m_i` the mean of `y_pred[i, ...]` (a 1-D `y_pred` has one value per sample, a scalar is
/// one sample) and `w_i` the sample weights (1 when not given):
/// `mean = sum_i w_i m_i / sum_i w_i`, over every sample since the last reset; 0 over no samples.
/// This is Keras' `Mean` applied to the predictions: useful to track a model's average output,
/// or (with a `test_step` override) any per-sample quantity passed as `y_pred`.
///
/// ```
/// use elegy_core::Tensor;
/// use elegy_core::metrics::{Mean, Metric};
/// let y_pred = Tensor::from_vec(vec![1.0, 3.0, 5.0, 7.0], &[2, 2])?; // sample means 2 and 6
/// let state = Mean.update(&Mean.init(), &y_pred, &y_pred, None)?;
/// assert_eq!(Mean.result(&state)?, 4.0);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Mean;

impl MeanOf for Mean {
    const NAME: &'static str = "mean";

    fn values(&self, _y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        Ok(y_pred.clone())
    }
}
