//! Splitting samples into training and test sets.

use rand::seq::SliceRandom;

use crate::data::Data;
use crate::error::{Error, Result};
use crate::tensor::RngKey;

/// Splits `x` and `y` into `(x_train, y_train, x_test, y_test)` with a seeded shuffle, putting
/// `round(test_fraction * n)` samples in the test set.
pub fn train_test_split(
    x: impl Into<Data>,
    y: impl Into<Data>,
    test_fraction: f32,
    seed: u64,
) -> Result<(Data, Data, Data, Data)> {
    let (x, y) = (x.into(), y.into());
    let n = x.num_samples()?;
    if y.num_samples()? != n {
        return Err(Error::Data(format!(
            "train_test_split: x has {n} samples but y has {}",
            y.num_samples()?
        )));
    }
    let test = (test_fraction as f64 * n as f64).round() as usize;
    if !(0.0..1.0).contains(&test_fraction) || test == 0 || test == n {
        return Err(Error::invalid(
            "train_test_split",
            format!(
                "test_fraction {test_fraction} of {n} samples leaves {test} for testing; \
                 both sets need at least one sample"
            ),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut RngKey::new(seed).rng());
    let (test_idx, train_idx) = order.split_at(test);
    Ok((
        x.select(train_idx)?,
        y.select(train_idx)?,
        x.select(test_idx)?,
        y.select(test_idx)?,
    ))
}
