//! Losses between distributions or counts: Kullback-Leibler divergence and Poisson deviance.

use super::SampleLoss;
use super::shapes::{EPSILON, match_shapes, mean_last_axis, mean_per_sample, sum_last_axis};
use crate::error::Result;
use crate::tensor::Tensor;

/// Kullback-Leibler divergence of the predicted distribution from the target one, as Keras:
/// `sum(y * ln(y / p))` over the last axis, with `y` and `p` clipped to `[1e-7, 1]` first.
///
/// The clipping keeps a zero prediction finite (a huge loss, not infinity) and makes a zero
/// target count as 1e-7 (a contribution of about -1.6e-6 times its `ln(1 / p)`). Targets and
/// predictions have one shape (`[n]` and `[n, 1]` may be mixed); rows along the last axis are the
/// distributions, and a `[n]` tensor holds one term per sample.
#[derive(Clone, Copy, Debug, Default)]
pub struct KLDivergence;

impl SampleLoss for KLDivergence {
    fn name(&self) -> String {
        "kl_divergence".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let y = match_shapes("kl_divergence", y_true, y_pred)?.clamp(EPSILON, 1.0)?;
        let p = y_pred.clamp(EPSILON, 1.0)?;
        sum_last_axis(&y.mul(&y.div(&p)?.log())?)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// The Poisson loss, as Keras: `mean(p - y * ln(p + 1e-7))` over the last axis, for counts `y`
/// predicted with rates `p` (the negative log-likelihood of `y` under Poisson(`p`), less the
/// `ln(y!)` that does not depend on `p`).
///
/// Predictions should be positive (an exponential or softplus output); the `1e-7` keeps a zero
/// rate finite. A negative prediction above `-1e-7` is allowed; below it the logarithm is NaN,
/// as in Keras.
#[derive(Clone, Copy, Debug, Default)]
pub struct Poisson;

impl SampleLoss for Poisson {
    fn name(&self) -> String {
        "poisson".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let y = match_shapes("poisson", y_true, y_pred)?;
        let log_rate = y_pred.add_scalar(EPSILON).log();
        mean_last_axis(&y_pred.sub(&y.mul(&log_rate)?)?)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}
