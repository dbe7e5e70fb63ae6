//! Checks of what a loop is given, before anything runs: a mistake is an error naming the call,
//! not a silent slip.

use crate::data::{Data, select_weights};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Inputs, targets (when there are any) and their sample weights.
pub(super) type Samples = (Data, Option<Data>, Option<Tensor>);

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

/// The training part and, when `validation_split` is above 0, the validation part of `fit`'s
/// samples, each with its targets (when there are any: a model trained without labels splits
/// its inputs alone) and its sample weights. Inputs of any structure (a tuple, a named map) are
/// split part by part. As Keras, the validation part is taken from the end,
/// before shuffling; it has `ceil(n * validation_split)` samples, computed exactly with the
/// decimal the fraction is written as (0.2 of 100 is 20; 0.25 of 10 is 3, leaving 7 to train
/// on, as Keras' `floor(n * (1 - validation_split))`).
pub(super) fn split_for_validation(
    x: Data,
    y: Option<Data>,
    sample_weight: Option<Tensor>,
    validation_split: f32,
) -> Result<(Samples, Option<Samples>)> {
    if validation_split <= 0.0 {
        return Ok(((x, y, sample_weight), None));
    }
    let n = x.num_samples()?;
    let split = n - validation_count(n, validation_split);
    if split == 0 || split == n {
        return Err(Error::Data(format!(
            "fit: validation_split {validation_split} of {n} samples leaves \
             {split} for training and {} for validation; both need at least one",
            n - split
        )));
    }
    let (head, tail): (Vec<usize>, Vec<usize>) = ((0..split).collect(), (split..n).collect());
    let weights = select_weights(sample_weight.as_ref(), &head);
    let validation_weights = select_weights(sample_weight.as_ref(), &tail);
    let select_y = |rows: &[usize]| y.as_ref().map(|y| y.select(rows)).transpose();
    let validation = (x.select(&tail)?, select_y(&tail)?, validation_weights);
    Ok((
        (x.select(&head)?, select_y(&head)?, weights),
        Some(validation),
    ))
}

/// `ceil(n * fraction)` for a fraction in `[0, 1)`, exact for the decimal `fraction` prints as
/// (its shortest form: `0.2`, not the binary `0.200000003`).
pub(super) fn validation_count(n: usize, fraction: f32) -> usize {
    let written = format!("{fraction}");
    let digits = written.split_once('.').map_or("", |(_, d)| d);
    match (digits.parse::<u128>(), u32::try_from(digits.len())) {
        (Ok(numerator), Ok(places)) if places <= 30 => {
            let denominator = 10u128.pow(places);
            (n as u128 * numerator).div_ceil(denominator) as usize
        }
        // No decimals (0) or too many to hold exactly: a fraction that small of any count
        // that fits in memory is at most one sample.
        _ => ((n as f64) * f64::from(fraction)).ceil() as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::validation_count;

    #[test]
    fn validation_count_is_exact_for_decimal_fractions() {
        for n in 0..2000usize {
            for hundredths in 1..100usize {
                let fraction: f32 = format!("0.{hundredths:02}").parse().unwrap();
                let exact = (n * hundredths).div_ceil(100);
                assert_eq!(validation_count(n, fraction), exact, "{n} x {fraction}");
            }
        }
        assert_eq!(validation_count(100, 0.2), 20);
        assert_eq!(validation_count(10, 0.25), 3);
        assert_eq!(validation_count(7, 1e-7), 1);
        assert_eq!(validation_count(1_000_000_000, 1e-7), 100);
    }
}
