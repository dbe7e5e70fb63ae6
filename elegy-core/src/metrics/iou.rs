//! Intersection over union from a confusion matrix: [`IoU`], [`MeanIoU`] and [`BinaryIoU`], as
//! Keras' metrics of those names (and its `OneHotIoU` / `OneHotMeanIoU` through
//! `sparse_y_true: false, sparse_y_pred: false`).

use super::Metric;
use super::inputs::{num_samples, vector};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// Keras' `backend.epsilon()`, added to the denominators as Keras adds it.
const EPSILON: f64 = 1e-7;

const CONFUSION: &str = "total_confusion_matrix";

/// Keras' `IoU`: per class `TP / (TP + FP + FN)` from the weighted confusion matrix of the epoch,
/// averaged over `target_class_ids` (a class that never occurs, in the targets or the
/// predictions, is left out of the mean; with none left the value is 0).
///
/// **Inputs.** With `sparse_y_true` (the default), `y_true` holds class ids; otherwise one-hot
/// vectors on its last axis, whose argmax is the class. Likewise `y_pred` with `sparse_y_pred`:
/// class ids by default, as in Keras, or per-class scores (`sparse_y_pred: false`, what a
/// softmax or logits output needs). After that, `y_true` and `y_pred` have one number of
/// elements, each a position (a pixel of a segmentation map, say) compared with the other.
///
/// **Weights.** `sample_weight` holds one weight per sample (applied to all of its positions) or
/// one per position. Weights may be fractional: Keras keeps the matrix in integers and truncates
/// them (with a warning), so the two agree for whole weights.
///
/// **Rules.** A position whose true class is `ignore_class` is skipped. Unlike Keras 3, which
/// silently drops class ids outside `0..num_classes`, such an id (or a fractional one) is an
/// error naming the sample: a label that counts for nothing is a bug worth seeing.
///
/// Logged as Keras' `"io_u"`. State: `total_confusion_matrix`, `[num_classes, num_classes]`,
/// rows the true class and columns the predicted one, as Keras keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct IoU {
    /// The number of classes; class ids are `0..num_classes`.
    pub num_classes: usize,
    /// The classes averaged over.
    pub target_class_ids: Vec<usize>,
    /// A true class id whose positions are skipped, such as 255 or -1 for "void".
    pub ignore_class: Option<i64>,
    /// Whether `y_true` holds class ids (otherwise one-hot vectors on the last axis).
    pub sparse_y_true: bool,
    /// Whether `y_pred` holds class ids (otherwise per-class scores on the last axis).
    pub sparse_y_pred: bool,
}

impl IoU {
    /// The IoU of `target_class_ids` among `num_classes`, with class ids in `y_true` and
    /// `y_pred`.
    pub fn new(num_classes: usize, target_class_ids: impl Into<Vec<usize>>) -> IoU {
        IoU {
            num_classes,
            target_class_ids: target_class_ids.into(),
            ignore_class: None,
            sparse_y_true: true,
            sparse_y_pred: true,
        }
    }

    /// Keras' `OneHotIoU`: one-hot `y_true` and per-class scores `y_pred`.
    pub fn one_hot(num_classes: usize, target_class_ids: impl Into<Vec<usize>>) -> IoU {
        IoU {
            sparse_y_true: false,
            sparse_y_pred: false,
            ..IoU::new(num_classes, target_class_ids)
        }
    }

    fn check(&self, op: &'static str) -> Result<()> {
        if self.num_classes == 0 {
            return Err(Error::invalid(op, "num_classes must be at least 1"));
        }
        if let Some(&c) = self
            .target_class_ids
            .iter()
            .find(|&&c| c >= self.num_classes)
        {
            return Err(Error::invalid(
                op,
                format!(
                    "target class {c} is not below num_classes {}",
                    self.num_classes
                ),
            ));
        }
        Ok(())
    }

    /// The class of each position of `x`: its values, or the argmax of its last axis.
    fn classes(op: &'static str, x: &Tensor, sparse: bool, what: &str) -> Result<Vec<f32>> {
        if sparse {
            return Ok(x.view().iter().copied().collect());
        }
        let classes = match x.shape().last() {
            Some(&c) if c > 0 && x.ndim() >= 2 => c,
            _ => {
                return Err(Error::shape(
                    op,
                    format!(
                        "{what} of shape {:?} has no class axis to take the argmax of; give \
                         [n, ..., classes], or class ids with sparse_{what}: true",
                        x.shape()
                    ),
                ));
            }
        };
        let values: Vec<f32> = x.view().iter().copied().collect();
        Ok(values
            .chunks(classes)
            .map(|row| {
                // The first maximum, as argmax takes it.
                let mut best = 0;
                for (c, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = c;
                    }
                }
                best as f32
            })
            .collect())
    }

    fn update_with(
        &self,
        op: &'static str,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &[f32],
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        self.check(op)?;
        let k = self.num_classes;
        let truth = Self::classes(op, y_true, self.sparse_y_true, "y_true")?;
        if truth.len() != y_pred.len() {
            return Err(Error::shape(
                op,
                format!(
                    "y_true of shape {:?} gives {} positions but y_pred gives {}; give one \
                     class per position in each",
                    y_true.shape(),
                    truth.len(),
                    y_pred.len()
                ),
            ));
        }
        let n = num_samples(y_true.shape());
        let positions = truth.len();
        let per_sample = positions.checked_div(n).unwrap_or(1).max(1);
        let weights: Vec<f64> = match sample_weight {
            None => vec![1.0; positions],
            Some(w) if w.len() == positions => w.view().iter().map(|&v| v as f64).collect(),
            Some(w) if w.len() == n => {
                let per: Vec<f64> = w.view().iter().map(|&v| v as f64).collect();
                (0..positions).map(|i| per[i / per_sample]).collect()
            }
            Some(w) => {
                return Err(Error::shape(
                    op,
                    format!(
                        "sample_weight of shape {:?} gives neither one weight per sample ({n}) \
                         nor one per position ({positions})",
                        w.shape()
                    ),
                ));
            }
        };
        let id = |v: f32, i: usize, what: &str| -> Result<usize> {
            if v >= 0.0 && v.fract() == 0.0 && (v as usize) < k {
                Ok(v as usize)
            } else {
                Err(Error::sample(
                    op,
                    format!("{what} class {v}"),
                    i / per_sample,
                    y_true.shape(),
                    format!("is not a class id below num_classes {k}"),
                ))
            }
        };
        let mut matrix = vector(op, state, CONFUSION, k * k)?;
        for (i, (&t, &p)) in truth.iter().zip(y_pred).enumerate() {
            if self.ignore_class.is_some_and(|c| t == c as f32) {
                continue;
            }
            let (t, p) = (id(t, i, "true")?, id(p, i, "predicted")?);
            matrix[t * k + p] += weights[i];
        }
        let matrix: Vec<f32> = matrix.into_iter().map(|v| v as f32).collect();
        Ok(TensorMap::new().with(CONFUSION, Tensor::from_vec(matrix, &[k, k])?))
    }

    fn result_of(&self, op: &'static str, state: &TensorMap) -> Result<f32> {
        self.check(op)?;
        let k = self.num_classes;
        let m = vector(op, state, CONFUSION, k * k)?;
        let (mut valid, mut sum) = (0.0f64, 0.0f64);
        for &c in &self.target_class_ids {
            let predicted: f64 = (0..k).map(|t| m[t * k + c]).sum();
            let actual: f64 = (0..k).map(|p| m[c * k + p]).sum();
            let tp = m[c * k + c];
            let denominator = predicted + actual - tp;
            if denominator > 1e-9 {
                valid += 1.0;
                sum += tp / (denominator + EPSILON);
            }
        }
        Ok((sum / (valid + EPSILON)) as f32)
    }
}

impl Metric for IoU {
    fn name(&self) -> String {
        "io_u".into()
    }

    fn init(&self) -> TensorMap {
        let k = self.num_classes;
        TensorMap::new().with(CONFUSION, Tensor::zeros(&[k, k]))
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let predicted = Self::classes("io_u", y_pred, self.sparse_y_pred, "y_pred")?;
        self.update_with("io_u", state, y_true, &predicted, sample_weight)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        self.result_of("io_u", state)
    }
}

/// Keras' `MeanIoU`: [`IoU`] averaged over every class, logged as `"mean_io_u"`.
///
/// ```
/// use elegy_core::Tensor;
/// use elegy_core::metrics::{MeanIoU, Metric};
/// let miou = MeanIoU::new(2);
/// let y_true = Tensor::from(vec![0., 0., 1., 1.]);
/// let y_pred = Tensor::from(vec![0., 1., 0., 1.]);
/// // Each class: TP 1, FP 1, FN 1, so IoU 1/3.
/// let state = miou.update(&miou.init(), &y_true, &y_pred, None)?;
/// assert!((miou.result(&state)? - 1.0 / 3.0).abs() < 1e-6);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MeanIoU {
    /// The options of the [`IoU`] it averages; `target_class_ids` is every class.
    pub iou: IoU,
}

impl MeanIoU {
    /// The mean IoU of `num_classes` classes, with class ids in `y_true` and `y_pred`.
    pub fn new(num_classes: usize) -> MeanIoU {
        MeanIoU {
            iou: IoU::new(num_classes, (0..num_classes).collect::<Vec<_>>()),
        }
    }

    /// Keras' `OneHotMeanIoU`: one-hot `y_true` and per-class scores `y_pred`.
    pub fn one_hot(num_classes: usize) -> MeanIoU {
        MeanIoU {
            iou: IoU::one_hot(num_classes, (0..num_classes).collect::<Vec<_>>()),
        }
    }

    /// The same, with per-class scores in `y_pred` (`sparse_y_pred: false`).
    pub fn from_scores(num_classes: usize) -> MeanIoU {
        let mut m = MeanIoU::new(num_classes);
        m.iou.sparse_y_pred = false;
        m
    }

    /// The same, skipping positions whose true class is `class`.
    pub fn ignore_class(mut self, class: i64) -> MeanIoU {
        self.iou.ignore_class = Some(class);
        self
    }
}

impl Metric for MeanIoU {
    fn name(&self) -> String {
        "mean_io_u".into()
    }

    fn init(&self) -> TensorMap {
        self.iou.init()
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        let predicted = IoU::classes("mean_io_u", y_pred, self.iou.sparse_y_pred, "y_pred")?;
        self.iou
            .update_with("mean_io_u", state, y_true, &predicted, sample_weight)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        self.iou.result_of("mean_io_u", state)
    }
}

/// Keras' `BinaryIoU`: [`IoU`] of two classes, a score at or above `threshold` predicting class
/// 1; `y_true` holds 0 and 1. Averaged over `target_class_ids` (both by default); logged as
/// `"binary_io_u"`.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryIoU {
    /// The classes averaged over, among 0 and 1.
    pub target_class_ids: Vec<usize>,
    /// A score at or above it predicts class 1.
    pub threshold: f32,
}

impl Default for BinaryIoU {
    fn default() -> Self {
        BinaryIoU {
            target_class_ids: vec![0, 1],
            threshold: 0.5,
        }
    }
}

impl BinaryIoU {
    fn iou(&self) -> IoU {
        IoU::new(2, self.target_class_ids.clone())
    }
}

impl Metric for BinaryIoU {
    fn name(&self) -> String {
        "binary_io_u".into()
    }

    fn init(&self) -> TensorMap {
        self.iou().init()
    }

    fn update(
        &self,
        state: &TensorMap,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<TensorMap> {
        if self.threshold.is_nan() {
            return Err(Error::invalid(
                "binary_io_u",
                "threshold is NaN; give a number such as 0.5",
            ));
        }
        let predicted: Vec<f32> = y_pred
            .view()
            .iter()
            .map(|&p| if p >= self.threshold { 1.0 } else { 0.0 })
            .collect();
        self.iou()
            .update_with("binary_io_u", state, y_true, &predicted, sample_weight)
    }

    fn result(&self, state: &TensorMap) -> Result<f32> {
        self.iou().result_of("binary_io_u", state)
    }
}
