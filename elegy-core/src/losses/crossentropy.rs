//! Cross-entropy losses.

use super::SampleLoss;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Cross-entropy between integer class labels and predicted class scores.
///
/// `y_true` holds class indices (`[n]` or `[n, 1]`); `y_pred` is `[n, classes]`, logits when
/// `from_logits` (computed stably with log-softmax), probabilities otherwise.
#[derive(Clone, Debug)]
pub struct SparseCategoricalCrossentropy {
    /// Whether predictions are unnormalized logits.
    pub from_logits: bool,
}

impl SparseCategoricalCrossentropy {
    /// For predictions that are logits.
    pub fn from_logits() -> SparseCategoricalCrossentropy {
        SparseCategoricalCrossentropy { from_logits: true }
    }
}

impl Default for SparseCategoricalCrossentropy {
    /// For predictions that are probabilities, as Keras' default.
    fn default() -> Self {
        SparseCategoricalCrossentropy { from_logits: false }
    }
}

impl SampleLoss for SparseCategoricalCrossentropy {
    fn name(&self) -> String {
        "sparse_categorical_crossentropy".into()
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let [n, classes] = *y_pred.shape() else {
            return Err(Error::shape(
                "sparse_categorical_crossentropy",
                format!(
                    "predictions must be [samples, classes], got {:?}",
                    y_pred.shape()
                ),
            ));
        };
        if y_true.len() != n {
            return Err(Error::shape(
                "sparse_categorical_crossentropy",
                format!(
                    "targets of shape {:?} do not give one label per sample of predictions {:?}",
                    y_true.shape(),
                    y_pred.shape()
                ),
            ));
        }
        let labels = Tensor::one_hot_rows(y_true, classes)?;
        let log_probs = if self.from_logits {
            y_pred.log_softmax(-1)?
        } else {
            // Keras clips probabilities away from 0 and 1 before the log.
            y_pred.clamp(1e-7, 1.0 - 1e-7)?.log()
        };
        Ok(log_probs.mul(&labels)?.sum(&[-1], false)?.neg())
    }
}

impl Tensor {
    /// One-hot rows `[n, classes]` of `n` integer labels, checking each label.
    pub(crate) fn one_hot_rows(labels: &Tensor, classes: usize) -> Result<Tensor> {
        let indices = labels.to_indices("sparse_categorical_crossentropy")?;
        let mut rows = ndarray::Array2::<f32>::zeros((indices.len(), classes));
        for (i, &c) in indices.iter().enumerate() {
            if c >= classes {
                return Err(Error::invalid(
                    "sparse_categorical_crossentropy",
                    format!(
                        "label {c} of sample {i} is not below the {classes} classes the predictions have"
                    ),
                ));
            }
            rows[[i, c]] = 1.0;
        }
        Ok(Tensor::new(rows))
    }
}
