//! What every metric checks of its inputs, and how it adds a batch to its state.
//!
//! Conventions shared by all metrics: axis 0 of `y_true` and `y_pred` is the sample axis (a
//! scalar is one sample), `sample_weight` gives one weight per sample, and sums are added to the
//! stored `f32` state in `f64`.

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// The number of samples in a tensor of `shape`: its first axis, or 1 for a scalar.
pub(super) fn num_samples(shape: &[usize]) -> usize {
    shape.first().copied().unwrap_or(1)
}

/// One weight per sample, in `f64` (all 1 without `sample_weight`).
pub(super) fn sample_weights(
    op: &'static str,
    sample_weight: Option<&Tensor>,
    n: usize,
) -> Result<Vec<f64>> {
    match sample_weight {
        None => Ok(vec![1.0; n]),
        Some(w) if w.len() == n => Ok(w.view().iter().map(|&v| v as f64).collect()),
        Some(w) => Err(Error::shape(
            op,
            format!(
                "sample_weight of shape {:?} does not give one weight per sample; expected [{n}]",
                w.shape()
            ),
        )),
    }
}

/// `y_true` and `y_pred` as tensors of one shape. Their shapes must be equal, except that one may
/// have an extra trailing axis of size 1 (`[n]` against `[n, 1]`), which is dropped, as Keras
/// squeezes it.
pub(super) fn matched(
    op: &'static str,
    y_true: &Tensor,
    y_pred: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    let squeezes_to = |long: &[usize], short: &[usize]| {
        long.len() == short.len() + 1 && long.last() == Some(&1) && long[..short.len()] == *short
    };
    let as_shape = |x: &Tensor, shape: &[usize]| {
        x.reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
    };
    if t == p {
        Ok((y_true.clone(), y_pred.clone()))
    } else if squeezes_to(t, p) {
        Ok((as_shape(y_true, p)?, y_pred.clone()))
    } else if squeezes_to(p, t) {
        Ok((y_true.clone(), as_shape(y_pred, t)?))
    } else {
        Err(Error::shape(
            op,
            format!(
                "y_true of shape {t:?} and y_pred of shape {p:?} differ; give them one shape \
                 (only a trailing axis of size 1 may differ, as in [n] and [n, 1])"
            ),
        ))
    }
}

/// The number of classes of `y_pred`, its last axis, which must exist beside the sample axis.
pub(super) fn num_classes(op: &'static str, y_pred: &Tensor) -> Result<usize> {
    match y_pred.shape() {
        [_, .., classes] if *classes > 0 => Ok(*classes),
        shape => Err(Error::shape(
            op,
            format!(
                "y_pred of shape {shape:?} has no class axis; expected [n, classes] \
                 (or [n, ..., classes]) with at least one class"
            ),
        )),
    }
}

/// The integer labels of `y_true` for the predictions `y_pred` (`[n, ..., classes]`): `y_true`
/// has `y_pred`'s shape without the class axis, or with a class axis of size 1. Each label is
/// checked to be a class index below the number of classes.
pub(super) fn sparse_labels(
    op: &'static str,
    y_true: &Tensor,
    y_pred: &Tensor,
) -> Result<Vec<usize>> {
    let classes = num_classes(op, y_pred)?;
    let (t, p) = (y_true.shape(), y_pred.shape());
    let outer = &p[..p.len() - 1];
    if t != outer && !(t.len() == p.len() && t.last() == Some(&1) && t[..outer.len()] == *outer) {
        return Err(Error::shape(
            op,
            format!(
                "y_true of shape {t:?} does not give one label per prediction of y_pred {p:?}; \
                 expected {outer:?} (or with a trailing axis of size 1)"
            ),
        ));
    }
    let labels = y_true.to_indices(op)?;
    if let Some((i, &label)) = labels.iter().enumerate().find(|&(_, &c)| c >= classes) {
        return Err(Error::sample(
            op,
            format!("label {label}"),
            i,
            t,
            format!("is not below the {classes} classes of y_pred {p:?}"),
        ));
    }
    Ok(labels)
}

/// `num / den`, or 0 when `den` is 0: a metric over no samples is 0, as in Keras.
pub(super) fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

/// The value of the scalar state `name`, in `f64`.
pub(super) fn scalar(state: &TensorMap, name: &str) -> Result<f64> {
    Ok(state.require(name)?.item()? as f64)
}

/// The scalar state `name` with `delta` added (in `f64`, stored as `f32`).
pub(super) fn add_scalar(state: &TensorMap, name: &str, delta: f64) -> Result<Tensor> {
    Ok(Tensor::scalar((scalar(state, name)? + delta) as f32))
}

/// The values of the vector state `name`, which must hold `len` entries, in `f64`.
pub(super) fn vector(
    op: &'static str,
    state: &TensorMap,
    name: &str,
    len: usize,
) -> Result<Vec<f64>> {
    let t = state.require(name)?;
    if t.len() != len {
        return Err(Error::shape(
            op,
            format!(
                "state `{name}` of shape {:?} does not hold {len} values; it was made for other \
                 options: start again from `init()`",
                t.shape()
            ),
        ));
    }
    Ok(t.view().iter().map(|&v| v as f64).collect())
}
