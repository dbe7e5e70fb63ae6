//! Cross-entropy losses: binary, categorical (one-hot or probability targets) and sparse
//! categorical (integer labels).
//!
//! Predictions are probabilities by default, as in Keras; with `from_logits` they are
//! unnormalized scores, and the loss is computed from them directly (softplus, log-softmax),
//! which is exact for logits of any size.

use super::shapes::{
    EPSILON, check_label_smoothing, feature_axis, match_shapes, mean_last_axis, mean_per_sample,
};
use super::{SampleLoss, class_indices};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Cross-entropy of independent yes/no targets (each element its own binary problem).
///
/// With targets `y` in `[0, 1]` (after label smoothing: `y * (1 - s) + 0.5 * s`), each element is
/// - from probabilities `p`: `-(y ln(p) + (1 - y) ln(1 - p))`, with `p` clipped to
///   `[1e-7, 1 - 1e-7]` as Keras does, so probabilities of exactly 0 or 1 give finite values;
/// - from logits `z`: `max(z, 0) - z y + ln(1 + e^-|z|)` (that is `softplus(z) - z y`), which
///   never overflows.
///
/// The loss is the mean over each sample's elements. Targets `[n]` against predictions `[n, 1]`
/// are accepted. For `class_weight`, a sample with one target is of class 1 when its target
/// exceeds 0.5 and of class 0 otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct BinaryCrossentropy {
    /// Whether predictions are logits rather than probabilities (default false).
    pub from_logits: bool,
    /// `s` in `[0, 1]`: targets move towards 0.5 by this fraction (default 0).
    pub label_smoothing: f32,
}

impl BinaryCrossentropy {
    /// For predictions that are logits.
    pub fn from_logits() -> BinaryCrossentropy {
        BinaryCrossentropy {
            from_logits: true,
            label_smoothing: 0.0,
        }
    }
}

impl SampleLoss for BinaryCrossentropy {
    fn name(&self) -> String {
        "binary_crossentropy".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        const NAME: &str = "binary_crossentropy";
        check_label_smoothing(NAME, self.label_smoothing)?;
        let mut y = match_shapes(NAME, y_true, y_pred)?;
        let s = self.label_smoothing;
        if s > 0.0 {
            y = y.mul_scalar(1.0 - s).add_scalar(0.5 * s);
        }
        let per_element = if self.from_logits {
            y_pred.softplus().sub(&y_pred.mul(&y)?)?
        } else {
            let p = y_pred.clamp(EPSILON, 1.0 - EPSILON)?;
            let positive = y.mul(&p.log())?;
            let negative = y.rsub_scalar(1.0).mul(&p.rsub_scalar(1.0).log())?;
            positive.add(&negative)?.neg()
        };
        mean_last_axis(&per_element)
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }

    fn classes(&self, y_true: &Tensor) -> Result<Tensor> {
        match y_true.shape() {
            // Keras rounds a single target to its class; soft targets are allowed here.
            [_] | [_, 1] => {
                class_indices(&Tensor::new(y_true.view().mapv(|v| (v > 0.5) as u8 as f32)))
            }
            _ => class_indices(y_true),
        }
    }
}

/// Cross-entropy of one-hot (or probability) targets against predicted class scores.
///
/// Along `axis` (the classes, `c` of them), with targets `y` after label smoothing
/// (`y * (1 - s) + s / c`), the loss of a sample is `-sum(y * ln(q))` where
/// - from logits: `ln(q) = log_softmax(y_pred)`, computed stably (log-sum-exp);
/// - from probabilities: `q = clip(p / sum(p), 1e-7, 1 - 1e-7)`, as Keras does (the sum is
///   floored at 1e-7 so that all-zero predictions stay finite).
///
/// Targets and predictions have the same shape; other axes than the samples axis and `axis`
/// are averaged. Integer labels need [`SparseCategoricalCrossentropy`] instead.
#[derive(Clone, Copy, Debug)]
pub struct CategoricalCrossentropy {
    /// Whether predictions are logits rather than probabilities (default false).
    pub from_logits: bool,
    /// `s` in `[0, 1]`: targets move towards the uniform `1 / c` by this fraction (default 0).
    pub label_smoothing: f32,
    /// The classes axis (default -1, the last; not 0, the samples axis).
    pub axis: isize,
}

impl CategoricalCrossentropy {
    /// For predictions that are logits.
    pub fn from_logits() -> CategoricalCrossentropy {
        CategoricalCrossentropy {
            from_logits: true,
            ..CategoricalCrossentropy::default()
        }
    }
}

impl Default for CategoricalCrossentropy {
    /// Probabilities, no smoothing, classes on the last axis: Keras' defaults.
    fn default() -> CategoricalCrossentropy {
        CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
            axis: -1,
        }
    }
}

impl SampleLoss for CategoricalCrossentropy {
    fn name(&self) -> String {
        "categorical_crossentropy".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        const NAME: &str = "categorical_crossentropy";
        check_label_smoothing(NAME, self.label_smoothing)?;
        let axis = feature_axis(NAME, y_pred, self.axis)?;
        if y_true.shape() != y_pred.shape() {
            let hint = if y_true.ndim() + 1 == y_pred.ndim()
                || (y_true.ndim() == y_pred.ndim() && y_true.shape().last() == Some(&1))
            {
                "; for integer labels use sparse_categorical_crossentropy"
            } else {
                ""
            };
            return Err(Error::shape(
                NAME,
                format!(
                    "targets of shape {:?} do not match predictions of shape {:?}; one-hot \
                     targets must have the predictions' shape{hint}",
                    y_true.shape(),
                    y_pred.shape()
                ),
            ));
        }
        let classes = check_classes(NAME, y_pred, axis)?;
        let s = self.label_smoothing;
        let y = if s > 0.0 {
            y_true.mul_scalar(1.0 - s).add_scalar(s / classes as f32)
        } else {
            y_true.clone()
        };
        let log_q = log_probabilities(y_pred, axis as isize, self.from_logits)?;
        Ok(y.mul(&log_q)?.sum(&[axis as isize], false)?.neg())
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        mean_per_sample(&self.values(y_true, y_pred)?)
    }
}

/// Cross-entropy of integer class labels against predicted class scores.
///
/// `y_pred` is `[n, ..., classes]`; `y_true` holds class indices of shape `[n, ...]` (or with a
/// trailing axis of 1: `[n, 1]` labels for `[n, classes]` predictions). The loss at each label
/// is `-ln(q[label])`, with `q` as in [`CategoricalCrossentropy`]: log-softmax of logits, or
/// probabilities normalized and clipped to `[1e-7, 1 - 1e-7]` as Keras does. Its
/// [`values`](SampleLoss::values) have the labels' shape (`[n]`, or `[n, steps]` for sequences).
///
/// A label that is not a class index (negative, fractional, or not below the number of
/// classes) is an error naming the label and its sample, never a silent 0 or a clamp; only
/// `ignore_class` may hold another value.
///
/// With `ignore_class`, as in Keras 3, the positions whose label equals it contribute nothing
/// (their values are 0 and carry no gradient) and are left out of the count that
/// [`Reduction::SumOverBatchSize`](super::Reduction::SumOverBatchSize) divides by: the loss is
/// `sum(w * loss) / (number of positions not ignored)`, 0 when every position is ignored, and
/// sample weights do not change that count. A sample's [`per_sample`](SampleLoss::per_sample)
/// value is the mean over its positions not ignored (0 when it has none).
#[derive(Clone, Copy, Debug, Default)]
pub struct SparseCategoricalCrossentropy {
    /// Whether predictions are logits rather than probabilities (default false, as Keras).
    pub from_logits: bool,
    /// A label value whose positions are ignored (default none), such as `-1` for padding or
    /// the index of a "void" class; any integer, a class index or not.
    pub ignore_class: Option<i64>,
}

impl SparseCategoricalCrossentropy {
    /// For predictions that are logits.
    pub fn from_logits() -> SparseCategoricalCrossentropy {
        SparseCategoricalCrossentropy {
            from_logits: true,
            ignore_class: None,
        }
    }

    /// 1 where the label counts, 0 where it is `ignore_class`, in the labels' shape.
    fn valid(&self, y_true: &Tensor) -> Option<Tensor> {
        let ignored = self.ignore_class? as f64;
        Some(Tensor::new(
            y_true
                .view()
                .mapv(|label| (label as f64 != ignored) as u8 as f32),
        ))
    }
}

impl SampleLoss for SparseCategoricalCrossentropy {
    fn name(&self) -> String {
        "sparse_categorical_crossentropy".into()
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        const NAME: &str = "sparse_categorical_crossentropy";
        let axis = feature_axis(NAME, y_pred, -1)?;
        let classes = check_classes(NAME, y_pred, axis)?;
        let label_shape = &y_pred.shape()[..axis];
        let fits = y_true.shape() == label_shape
            || (y_true.shape().split_last() == Some((&1, label_shape)));
        if !fits {
            return Err(Error::shape(
                NAME,
                format!(
                    "targets of shape {:?} do not give one label per row of predictions {:?}; \
                     labels must have shape {label_shape:?} (or with a trailing 1)",
                    y_true.shape(),
                    y_pred.shape()
                ),
            ));
        }
        let label_dims: Vec<isize> = label_shape.iter().map(|&d| d as isize).collect();
        // Ignored labels become class 0 for the computation, and their values 0 after it.
        let valid = self.valid(y_true);
        let labels = match &valid {
            Some(v) => y_true
                .detach()
                .reshape(&label_dims)?
                .mul(&v.reshape(&label_dims)?)?,
            None => y_true.detach(),
        };
        let values = if self.from_logits {
            let indices = labels.to_indices(NAME)?;
            // Checked here too, so that the error names this loss rather than the op under it.
            check_labels(NAME, &indices, labels.shape(), classes)?;
            y_pred
                .sparse_softmax_cross_entropy(&indices)?
                .reshape(&label_dims)?
        } else {
            let shape: Vec<isize> = y_pred.shape().iter().map(|&d| d as isize).collect();
            let one_hot = Tensor::one_hot_rows(&labels, classes)?.reshape(&shape)?;
            let log_q = log_probabilities(y_pred, -1, false)?;
            one_hot.mul(&log_q)?.sum(&[-1], false)?.neg()
        };
        match valid {
            Some(v) => values.mul(&v.reshape(&label_dims)?),
            None => Ok(values),
        }
    }

    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let values = self.values(y_true, y_pred)?;
        let Some(valid) = self.valid(y_true) else {
            return mean_per_sample(&values);
        };
        if values.ndim() <= 1 {
            return Ok(values);
        }
        let axes: Vec<isize> = (1..values.ndim() as isize).collect();
        let valid = valid.reshape(
            &values
                .shape()
                .iter()
                .map(|&d| d as isize)
                .collect::<Vec<_>>(),
        )?;
        let counts = valid.sum(&axes, false)?.clamp(1.0, f32::INFINITY)?;
        values.sum(&axes, false)?.div(&counts)
    }

    fn mask(&self, y_true: &Tensor, values_shape: &[usize]) -> Result<Option<Tensor>> {
        let shape: Vec<isize> = values_shape.iter().map(|&d| d as isize).collect();
        self.valid(y_true).map(|v| v.reshape(&shape)).transpose()
    }

    fn classes(&self, y_true: &Tensor) -> Result<Tensor> {
        match y_true.shape() {
            [_] | [_, 1] => class_indices(y_true),
            shape => Err(Error::shape(
                "class_weight",
                format!(
                    "labels of shape {shape:?} give several classes per sample; class_weight \
                     needs one label per sample ([n] or [n, 1]); use sample_weight instead"
                ),
            )),
        }
    }
}

/// The number of classes along `axis`, rejecting a single class (the loss would always be 0).
pub(super) fn check_classes(loss: &'static str, y_pred: &Tensor, axis: usize) -> Result<usize> {
    let classes = y_pred.shape()[axis];
    if classes < 2 {
        return Err(Error::shape(
            loss,
            format!(
                "predictions of shape {:?} have {classes} class along axis {axis}, so the loss \
                 is always 0; for one yes/no output use binary_crossentropy",
                y_pred.shape()
            ),
        ));
    }
    Ok(classes)
}

/// `ln(q)` along `axis`: log-softmax of logits, or Keras' normalized and clipped probabilities.
pub(super) fn log_probabilities(y_pred: &Tensor, axis: isize, from_logits: bool) -> Result<Tensor> {
    if from_logits {
        return y_pred.log_softmax(axis);
    }
    let total = y_pred.sum(&[axis], true)?.clamp(EPSILON, f32::INFINITY)?;
    Ok(y_pred.div(&total)?.clamp(EPSILON, 1.0 - EPSILON)?.log())
}

impl Tensor {
    /// One-hot rows `[n, classes]` of `n` integer labels, checking each label.
    pub(crate) fn one_hot_rows(labels: &Tensor, classes: usize) -> Result<Tensor> {
        const NAME: &str = "sparse_categorical_crossentropy";
        let indices = labels.to_indices(NAME)?;
        check_labels(NAME, &indices, labels.shape(), classes)?;
        let mut rows = ndarray::Array2::<f32>::zeros((indices.len(), classes));
        for (i, &c) in indices.iter().enumerate() {
            rows[[i, c]] = 1.0;
        }
        Ok(Tensor::new(rows))
    }
}

/// An error naming the first of `labels` (of a tensor of `shape`, flattened) that is not below
/// `classes`, and its sample.
fn check_labels(op: &'static str, labels: &[usize], shape: &[usize], classes: usize) -> Result<()> {
    match labels.iter().enumerate().find(|&(_, &c)| c >= classes) {
        Some((i, c)) => Err(Error::sample(
            op,
            format!("label {c}"),
            i,
            shape,
            format!("is not below the {classes} classes the predictions have"),
        )),
        None => Ok(()),
    }
}
