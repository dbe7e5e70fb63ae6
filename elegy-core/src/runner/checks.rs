//! Checks of what a loop is given, before anything runs: a mistake is an error naming the call,
//! not a silent slip.

use crate::data::{Data, select_weights};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Inputs, targets and their sample weights.
pub(super) type Samples = (Data, Data, Option<Tensor>);

pub(super) fn check_batch_size(op: &'static str, batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::invalid(op, "batch_size must be at least 1"));
    }
    Ok(())
}

pub(super) fn check_validation_split(op: &'static str, validation_split: f32) -> Result<()> {
    if !(0.0..1.0).contains(&validation_split) {
        return Err(Error::invalid(
            op,
            format!("validation_split {validation_split} must be in [0, 1)"),
        ));
    }
    Ok(())
}

pub(super) fn check_sample_weight(
    op: &'static str,
    weights: Option<&Tensor>,
    n: usize,
) -> Result<()> {
    match weights {
        Some(w) if w.shape() != [n] => Err(Error::shape(
            op,
            format!(
                "sample_weight has shape {:?}; it needs one weight per sample: [{n}]",
                w.shape()
            ),
        )),
        Some(w) => check_weights(op, "sample_weight", "sample", w, 0),
        None => Ok(()),
    }
}

/// An error unless every weight is finite and not negative: a NaN would spread to every
/// parameter, and a negative weight turns descent into ascent, both without a word otherwise.
/// `first` is the index of the first weight in its stream; `each` names what a weight is for.
pub(super) fn check_weights(
    op: &'static str,
    what: &str,
    each: &str,
    weights: &Tensor,
    first: usize,
) -> Result<()> {
    let view = weights.view();
    match view
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        Some((i, w)) => Err(Error::invalid(
            op,
            format!(
                "{what} holds {w} for {each} {}; weights must be finite and not negative",
                first + i
            ),
        )),
        None => Ok(()),
    }
}

/// The training part and, when `validation_split` is above 0, the validation part (`x`, `y`)
/// of `fit`'s samples. Keras takes the validation split from the end, before shuffling.
pub(super) fn split_for_validation(
    x: Data,
    y: Data,
    sample_weight: Option<Tensor>,
    validation_split: f32,
) -> Result<(Samples, Option<(Data, Data)>)> {
    if validation_split <= 0.0 {
        return Ok(((x, y, sample_weight), None));
    }
    let n = x.num_samples()?;
    let split = ((n as f64) * (1.0 - validation_split as f64)) as usize;
    if split == 0 || split == n {
        return Err(Error::Data(format!(
            "fit: validation_split {validation_split} of {n} samples leaves \
             {split} for training and {} for validation; both need at least one",
            n - split
        )));
    }
    let (head, tail): (Vec<usize>, Vec<usize>) = ((0..split).collect(), (split..n).collect());
    let weights = select_weights(sample_weight.as_ref(), &head);
    let validation = (x.select(&tail)?, y.select(&tail)?);
    Ok((
        (x.select(&head)?, y.select(&head)?, weights),
        Some(validation),
    ))
}
