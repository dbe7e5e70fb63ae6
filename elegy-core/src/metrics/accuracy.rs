//! Accuracy metrics: the sample-weighted fraction of correct predictions,
//! `sum_i w_i c_i / sum_i w_i` with `c_i` the fraction of sample `i`'s predictions that are
//! correct (1 or 0 when a sample has one prediction), over every sample since the last reset; 0
//! over no samples.
//!
//! Class predictions are read from the last axis of `y_pred` (`[n, classes]`, or
//! `[n, ..., classes]` for several predictions per sample). Their state is `correct` (the
//! weighted count of correct predictions) and `count` (the weight of the samples seen).

use ndarray::{Axis, Zip};

use super::inputs::{matched, num_classes, sparse_labels};
use super::mean::MeanOf;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// 1 where `a` and `b` are equal, 0 elsewhere (same shapes).
fn equal(a: &Tensor, b: &Tensor) -> Tensor {
    Tensor::new(
        Zip::from(&a.view())
            .and(&b.view())
            .map_collect(|&a, &b| (a == b) as u8 as f32),
    )
}

/// `y_true` as class indices: the position of each largest entry along the last axis (the
/// first of ties), after checking that `y_true` is one-hot (or scores) of `y_pred`'s shape.
fn dense_labels(op: &'static str, y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Tensor)> {
    let (t, p) = matched(op, y_true, y_pred)?;
    num_classes(op, &p)?;
    Ok((t.argmax(-1)?, p))
}

/// 1 where the label's score is among the `k` largest of its row of `y_pred` (last axis), 0
/// elsewhere; shape `y_pred.shape()[..-1]`.
///
/// As Keras' `in_top_k`: the label is in the top `k` when fewer than `k` classes score strictly
/// higher, so ties at the boundary count in the label's favour; a NaN score never does.
fn in_top_k(op: &'static str, y_pred: &Tensor, labels: &[usize], k: usize) -> Result<Tensor> {
    if k == 0 {
        return Err(Error::invalid(op, "k must be at least 1 (got 0)"));
    }
    let axis = Axis(y_pred.ndim() - 1);
    let view = y_pred.view();
    let hits: Vec<f32> = view
        .lanes(axis)
        .into_iter()
        .zip(labels)
        .map(|(scores, &label)| {
            let at = scores[label];
            let at = if at.is_nan() { f32::NEG_INFINITY } else { at };
            let above = scores.iter().filter(|&&s| s > at).count();
            (above < k) as u8 as f32
        })
        .collect();
    Tensor::from_vec(hits, &y_pred.shape()[..axis.index()])
}

/// Keras' `Accuracy`: the fraction of elements of `y_pred` exactly equal to `y_true`
/// (`c_i = mean_j [y_true[i, j] == y_pred[i, j]]`), for predictions that are already labels.
/// `y_true` and `y_pred` have one shape (`[n]` and `[n, 1]` may be mixed).
#[derive(Clone, Copy, Debug, Default)]
pub struct Accuracy;

impl MeanOf for Accuracy {
    const NAME: &'static str = "accuracy";
    const TOTAL: &'static str = "correct";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = matched(Self::NAME, y_true, y_pred)?;
        Ok(equal(&t, &p))
    }
}

/// Keras' `BinaryAccuracy`: a prediction is positive when strictly above `threshold`, and
/// correct when it equals the 0/1 target:
/// `c_i = mean_j [y_true[i, j] == (y_pred[i, j] > threshold)]`.
///
/// `y_true` holds 0 and 1 (compared exactly) in the shape of `y_pred` (`[n]` and `[n, 1]` may be
/// mixed). With probabilities the default threshold 0.5 applies; with logits use 0.
#[derive(Clone, Copy, Debug)]
pub struct BinaryAccuracy {
    /// A prediction above it is class 1, at or below it class 0.
    pub threshold: f32,
}

impl Default for BinaryAccuracy {
    fn default() -> Self {
        BinaryAccuracy { threshold: 0.5 }
    }
}

impl MeanOf for BinaryAccuracy {
    const NAME: &'static str = "binary_accuracy";
    const TOTAL: &'static str = "correct";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = matched(Self::NAME, y_true, y_pred)?;
        let threshold = self.threshold;
        Ok(Tensor::new(
            Zip::from(&t.view())
                .and(&p.view())
                .map_collect(|&t, &p| (t == (p > threshold) as u8 as f32) as u8 as f32),
        ))
    }
}

/// Keras' `CategoricalAccuracy`: a sample is correct when the largest score of `y_pred` is at
/// the largest entry of its one-hot target, `c_i = [argmax y_true[i] == argmax y_pred[i]]`.
///
/// `y_true` and `y_pred` are `[n, classes]` (or `[n, ..., classes]`). Of tied scores the first
/// wins, so all-zero predictions predict class 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct CategoricalAccuracy;

impl MeanOf for CategoricalAccuracy {
    const NAME: &'static str = "categorical_accuracy";
    const TOTAL: &'static str = "correct";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (labels, p) = dense_labels(Self::NAME, y_true, y_pred)?;
        Ok(equal(&labels, &p.argmax(-1)?))
    }
}

/// Keras' `SparseCategoricalAccuracy`: a sample is correct when the largest score of `y_pred`
/// is at its integer label, `c_i = [y_true[i] == argmax y_pred[i]]`.
///
/// `y_true` `[n]` (or `[n, 1]`) holds class indices below the number of classes (others are an
/// error), `y_pred` is `[n, classes]`. Of tied scores the first wins, so all-zero predictions
/// predict class 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct SparseCategoricalAccuracy;

impl MeanOf for SparseCategoricalAccuracy {
    const NAME: &'static str = "sparse_categorical_accuracy";
    const TOTAL: &'static str = "correct";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let labels = sparse_labels(Self::NAME, y_true, y_pred)?;
        let predicted = y_pred.argmax(-1)?;
        let hits: Vec<f32> = predicted
            .view()
            .iter()
            .zip(labels)
            .map(|(&p, label)| (p as usize == label) as u8 as f32)
            .collect();
        Tensor::from_vec(hits, predicted.shape())
    }
}

/// Keras' `TopKCategoricalAccuracy`: a sample is correct when the class of its one-hot target
/// scores among the `k` highest of `y_pred`: `c_i = [#{c : y_pred[i, c] > y_pred[i, t_i]} < k]`
/// with `t_i = argmax y_true[i]`.
///
/// Ties count in the target's favour (Keras' `in_top_k`), so all-zero predictions are always
/// correct; with `k` at least the number of classes every sample is.
#[derive(Clone, Copy, Debug)]
pub struct TopKCategoricalAccuracy {
    /// How many of the highest scores may hold the target.
    pub k: usize,
}

impl Default for TopKCategoricalAccuracy {
    fn default() -> Self {
        TopKCategoricalAccuracy { k: 5 }
    }
}

impl MeanOf for TopKCategoricalAccuracy {
    const NAME: &'static str = "top_k_categorical_accuracy";
    const TOTAL: &'static str = "correct";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (labels, p) = dense_labels(Self::NAME, y_true, y_pred)?;
        let labels: Vec<usize> = labels.view().iter().map(|&c| c as usize).collect();
        in_top_k(Self::NAME, &p, &labels, self.k)
    }
}

/// Keras' `SparseTopKCategoricalAccuracy`: [`TopKCategoricalAccuracy`] with integer labels,
/// `c_i = [#{c : y_pred[i, c] > y_pred[i, y_true[i]]} < k]`.
///
/// `y_true` `[n]` (or `[n, 1]`) holds class indices below the number of classes, `y_pred` is
/// `[n, classes]`.
#[derive(Clone, Copy, Debug)]
pub struct SparseTopKCategoricalAccuracy {
    /// How many of the highest scores may hold the label.
    pub k: usize,
}

impl Default for SparseTopKCategoricalAccuracy {
    fn default() -> Self {
        SparseTopKCategoricalAccuracy { k: 5 }
    }
}

impl MeanOf for SparseTopKCategoricalAccuracy {
    const NAME: &'static str = "sparse_top_k_categorical_accuracy";
    const TOTAL: &'static str = "correct";

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let labels = sparse_labels(Self::NAME, y_true, y_pred)?;
        in_top_k(Self::NAME, y_pred, &labels, self.k)
    }
}
