//! Shape checks and reductions shared by the losses.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Keras' `epsilon()`: how far probabilities are kept from 0 and 1, and the floor of divisors.
pub(crate) const EPSILON: f32 = 1e-7;

/// The targets in the predictions' shape.
///
/// Equal shapes pass as they are. Shapes that differ only by a trailing axis of size 1 (`[n]`
/// against `[n, 1]`, either way round) are reshaped, as Keras does; anything else is an error
/// naming the loss and both shapes. Broadcasting is never applied: `[n]` against `[n, 1]` would
/// otherwise silently compare every target with every prediction.
pub(crate) fn match_shapes(loss: &'static str, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    check_samples_axis(loss, y_pred)?;
    let (t, p) = (y_true.shape(), y_pred.shape());
    if t == p {
        return Ok(y_true.clone());
    }
    let trailing_one = |long: &[usize], short: &[usize]| {
        long.len() == short.len() + 1 && long.last() == Some(&1) && long[..short.len()] == *short
    };
    if trailing_one(t, p) || trailing_one(p, t) {
        let shape: Vec<isize> = p.iter().map(|&d| d as isize).collect();
        return y_true.reshape(&shape);
    }
    Err(Error::shape(
        loss,
        format!(
            "targets of shape {t:?} do not match predictions of shape {p:?}; they must have the \
             same shape (or differ only by a trailing axis of size 1)"
        ),
    ))
}

/// An error unless `y_pred` has a first axis of samples.
pub(crate) fn check_samples_axis(loss: &'static str, y_pred: &Tensor) -> Result<()> {
    if y_pred.ndim() == 0 {
        return Err(Error::shape(
            loss,
            "predictions of shape [] have no samples axis; give them shape [samples, ...]",
        ));
    }
    Ok(())
}

/// `axis` of `y_pred` normalized, rejecting axis 0 (the samples) and a tensor without a
/// features axis.
pub(crate) fn feature_axis(loss: &'static str, y_pred: &Tensor, axis: isize) -> Result<usize> {
    if y_pred.ndim() < 2 {
        return Err(Error::shape(
            loss,
            format!(
                "predictions of shape {:?} have no features axis; give them shape \
                 [samples, features]",
                y_pred.shape()
            ),
        ));
    }
    let resolved = crate::ops::normalize_axis(loss, axis, y_pred.ndim())?;
    if resolved == 0 {
        return Err(Error::invalid(
            loss,
            format!(
                "axis {axis} is the samples axis of predictions {:?}; pick a features axis (1 or \
                 more, or negative from the end)",
                y_pred.shape()
            ),
        ));
    }
    Ok(resolved)
}

/// One value per sample: the mean over every axis but the first.
///
/// Keras reduces only the last axis and then averages whatever is left over the batch; averaging
/// the remaining axes per sample first gives the same `sum_over_batch_size` value, and keeps one
/// weight per sample meaningful.
pub(crate) fn mean_per_sample(values: &Tensor) -> Result<Tensor> {
    if values.ndim() <= 1 {
        return Ok(values.clone());
    }
    let axes: Vec<isize> = (1..values.ndim() as isize).collect();
    values.mean(&axes, false)
}

/// Keras' unreduced values: the mean over the last axis (the features) of per-element values
/// `[n, ..., features]`, giving `[n, ...]`; values `[n]` are one per sample already.
pub(crate) fn mean_last_axis(values: &Tensor) -> Result<Tensor> {
    if values.ndim() <= 1 {
        return Ok(values.clone());
    }
    values.mean(&[-1], false)
}

/// Like [`mean_last_axis`], summing the last axis instead (a distribution's terms).
pub(crate) fn sum_last_axis(values: &Tensor) -> Result<Tensor> {
    if values.ndim() <= 1 {
        return Ok(values.clone());
    }
    values.sum(&[-1], false)
}

/// An error unless `label_smoothing` lies in `[0, 1]`.
pub(crate) fn check_label_smoothing(loss: &'static str, label_smoothing: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&label_smoothing) {
        return Err(Error::invalid(
            loss,
            format!("label_smoothing {label_smoothing} is outside [0, 1]"),
        ));
    }
    Ok(())
}
