//! [`R2Score`]: the coefficient of determination, as Keras' `R2Score`.

use super::Metric;
use super::inputs::{matched, num_samples, sample_weights};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// How [`R2Score`] combines the scores of several outputs (columns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum R2Aggregation {
    /// Their mean (Keras' default, `"uniform_average"`).
    #[default]
    UniformAverage,
    /// Their mean weighted by each output's variance (`"variance_weighted_average"`).
    VarianceWeightedAverage,
}

/// The coefficient of determination over every sample of the epoch, as Keras' `R2Score`:
/// per output column, `1 - sum w (y - p)^2 / sum w (y - mean_w(y))^2` (an output whose targets do
/// not vary scores 0), combined by `class_aggregation`; with `num_regressors = k > 0`, the
/// adjusted score `1 - (1 - r2) (n - 1) / (n - k - 1)` over the `n` samples seen (left
/// unadjusted while `n <= k + 1`, as Keras does with a warning).
///
/// Targets and predictions are `[n]` or `[n, outputs]`; `sample_weight` gives one weight per
/// sample. The state is sums per output, made at the first batch (its width fixes the outputs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct R2Score {
    /// How the outputs' scores combine.
    pub class_aggregation: R2Aggregation,
    /// The number of independent variables, for the adjusted score (0: not adjusted).
    pub num_regressors: usize,
}

const SUMS: [&str; 4] = ["y_sum", "squared_sum", "residual_sum", "weight_sum"];

impl Metric for R2Score {
    fn name(&self) -> String {
        "r2_score".into()
    }

    fn init(&self) -> TensorMap {
        TensorMap::new().with("num_samples", Tensor::scalar(0.0))
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let (t, p) = matched("r2_score", y_true, y_pred)?;
        let n = num_samples(t.shape());
        let outputs = t.len().checked_div(n).unwrap_or(1);
        if t.ndim() > 2 {
            return Err(Error::shape(
                "r2_score",
                format!(
                    "targets of shape {:?}: R2Score takes [samples] or [samples, outputs]",
                    t.shape()
                ),
            ));
        }
        let w = sample_weights("r2_score", sample_weight, n)?;
        let mut sums: Vec<Vec<f64>> = match state.get("y_sum") {
            Some(existing) if existing.len() != outputs => {
                return Err(Error::shape(
                    "r2_score",
                    format!(
                        "this batch has {outputs} outputs but earlier ones had {}; every batch \
                         needs the same",
                        existing.len()
                    ),
                ));
            }
            Some(_) => SUMS
                .iter()
                .map(|k| {
                    state
                        .require(k)
                        .map(|s| s.to_vec().iter().map(|&v| v as f64).collect())
                })
                .collect::<Result<_>>()?,
            None => vec![vec![0.0; outputs]; 4],
        };
        let (tv, pv) = (t.to_vec(), p.to_vec());
        for i in 0..n {
            for j in 0..outputs {
                let (y, q, wi) = (tv[i * outputs + j] as f64, pv[i * outputs + j] as f64, w[i]);
                sums[0][j] += wi * y;
                sums[1][j] += wi * y * y;
                sums[2][j] += wi * (y - q) * (y - q);
                sums[3][j] += wi;
            }
        }
        let seen = state.get("num_samples").map_or(Ok(0.0), |s| s.item())? as f64 + n as f64;
        let mut out = TensorMap::new().with("num_samples", Tensor::scalar(seen as f32));
        for (k, values) in SUMS.iter().zip(sums) {
            out.insert(
                *k,
                Tensor::from(values.into_iter().map(|v| v as f32).collect::<Vec<_>>()),
            );
        }
        Ok(out)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        let Some(y_sum) = state.get("y_sum") else {
            return Ok(0.0);
        };
        let get = |k: &str| -> Result<Vec<f64>> {
            Ok(state
                .require(k)?
                .to_vec()
                .iter()
                .map(|&v| v as f64)
                .collect())
        };
        let (y_sum, squared, residual, weight) = (
            y_sum.to_vec().iter().map(|&v| v as f64).collect::<Vec<_>>(),
            get("squared_sum")?,
            get("residual_sum")?,
            get("weight_sum")?,
        );
        let totals: Vec<f64> = (0..y_sum.len())
            .map(|j| squared[j] - y_sum[j] * y_sum[j] / weight[j])
            .collect();
        let scores: Vec<f64> = (0..y_sum.len())
            .map(|j| {
                let score = 1.0 - residual[j] / totals[j];
                if score.is_finite() { score } else { 0.0 }
            })
            .collect();
        let r2 = match self.class_aggregation {
            R2Aggregation::UniformAverage => scores.iter().sum::<f64>() / scores.len() as f64,
            R2Aggregation::VarianceWeightedAverage => {
                let total: f64 = totals.iter().sum();
                scores.iter().zip(&totals).map(|(s, t)| s * t).sum::<f64>() / total
            }
        };
        let n = state.require("num_samples")?.item()? as f64;
        let k = self.num_regressors as f64;
        // As Keras: too few samples to adjust for that many regressors leaves the score as it is.
        if self.num_regressors == 0 || n - k - 1.0 <= 0.0 {
            return Ok(r2 as f32);
        }
        Ok((1.0 - (1.0 - r2) * (n - 1.0) / (n - k - 1.0)) as f32)
    }
}
