//! Accuracy metrics.

use super::Metric;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// The (sample-weighted) fraction of samples whose largest predicted score is at the integer
/// label: `y_true` `[n]` or `[n, 1]`, `y_pred` `[n, classes]`.
#[derive(Clone, Debug, Default)]
pub struct SparseCategoricalAccuracy;

impl Metric for SparseCategoricalAccuracy {
    fn name(&self) -> String {
        "sparse_categorical_accuracy".into()
    }

    fn init(&self) -> TensorMap {
        TensorMap::new()
            .with("correct", Tensor::scalar(0.0))
            .with("count", Tensor::scalar(0.0))
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let predicted = y_pred.argmax(-1)?;
        if predicted.len() != y_true.len() {
            return Err(Error::shape(
                "sparse_categorical_accuracy",
                format!(
                    "targets of shape {:?} do not give one label per prediction (predictions {:?})",
                    y_true.shape(),
                    y_pred.shape()
                ),
            ));
        }
        let weights: Vec<f32> = match sample_weight {
            Some(w) if w.len() == predicted.len() => w.to_vec(),
            Some(w) => {
                return Err(Error::shape(
                    "sparse_categorical_accuracy",
                    format!(
                        "sample_weight of shape {:?} does not match {} samples",
                        w.shape(),
                        predicted.len()
                    ),
                ));
            }
            None => vec![1.0; predicted.len()],
        };
        let (mut correct, mut count) = (0.0f64, 0.0f64);
        for ((p, t), w) in predicted
            .view()
            .iter()
            .zip(y_true.view().iter())
            .zip(weights)
        {
            correct += (p == t) as u8 as f64 * w as f64;
            count += w as f64;
        }
        let add = |name: &str, v: f64| -> Result<Tensor> {
            Ok(Tensor::scalar(
                (state.require(name)?.item()? as f64 + v) as f32,
            ))
        };
        Ok(TensorMap::new()
            .with("correct", add("correct", correct)?)
            .with("count", add("count", count)?))
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        let count = state.require("count")?.item()?;
        let correct = state.require("correct")?.item()?;
        Ok(if count > 0.0 { correct / count } else { 0.0 })
    }
}
