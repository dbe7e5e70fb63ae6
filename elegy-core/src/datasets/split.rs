//! Splitting samples into training and test sets.

use std::collections::BTreeMap;

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
    let n = sample_count("train_test_split", &x, &y)?;
    let test = test_count("train_test_split", test_fraction, n)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut RngKey::new(seed).rng());
    let (test_idx, train_idx) = order.split_at(test);
    split(&x, &y, train_idx, test_idx)
}

/// Like [`train_test_split`], but keeps the proportion of each class the same in both sets (as
/// nearly as whole samples allow), which a plain shuffle does not guarantee for small or
/// unbalanced datasets.
///
/// `y` must be one class label per sample (`[n]` or `[n, 1]`, integers as `f32`). Each class
/// gives `test_fraction` of its samples to the test set, rounded down; the samples still owed to
/// reach `round(test_fraction * n)` in total go to the classes with the largest remainders. Both
/// sets are shuffled (seeded), so classes are interleaved.
///
/// ```
/// use elegy_core::{Data, Tensor};
/// use elegy_core::datasets::stratified_train_test_split;
/// let x = Tensor::zeros(&[10, 2]);
/// let y = Tensor::from(vec![0.0f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
/// let (_, _, _, y_test) = stratified_train_test_split(x, y, 0.5, 0)?;
/// let ones = y_test.as_tensor("y_test")?.sum_all().item()?;
/// assert_eq!(ones, 1.0);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn stratified_train_test_split(
    x: impl Into<Data>,
    y: impl Into<Data>,
    test_fraction: f32,
    seed: u64,
) -> Result<(Data, Data, Data, Data)> {
    const OP: &str = "stratified_train_test_split";
    let (x, y) = (x.into(), y.into());
    let n = sample_count(OP, &x, &y)?;
    let test = test_count(OP, test_fraction, n)?;
    let labels = y.as_tensor(&format!("{OP}: y"))?;
    if labels.len() != n {
        return Err(Error::Data(format!(
            "{OP}: y of shape {:?} is not one class label per sample ([{n}] or [{n}, 1]); for \
             one-hot targets, split on their argmax",
            labels.shape()
        )));
    }
    let labels = labels.to_indices(OP)?;

    let mut rng = RngKey::new(seed).rng();
    let mut classes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &label) in labels.iter().enumerate() {
        classes.entry(label).or_default().push(i);
    }
    let fraction = f64::from(test_fraction);
    let mut quotas: Vec<(usize, f64)> = classes
        .values()
        .map(|members| {
            let exact = fraction * members.len() as f64;
            (exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    let owed = test.saturating_sub(quotas.iter().map(|(q, _)| q).sum());
    let mut by_remainder: Vec<usize> = (0..quotas.len()).collect();
    // Stable sort: equal remainders go to the smaller class label first.
    by_remainder.sort_by(|&a, &b| quotas[b].1.total_cmp(&quotas[a].1));
    for &c in by_remainder.iter().take(owed) {
        quotas[c].0 += 1;
    }

    let (mut train_idx, mut test_idx) = (Vec::new(), Vec::new());
    for (members, (quota, _)) in classes.values_mut().zip(quotas) {
        members.shuffle(&mut rng);
        let quota = quota.min(members.len());
        test_idx.extend_from_slice(&members[..quota]);
        train_idx.extend_from_slice(&members[quota..]);
    }
    train_idx.shuffle(&mut rng);
    test_idx.shuffle(&mut rng);
    split(&x, &y, &train_idx, &test_idx)
}

/// The common number of samples of `x` and `y`.
fn sample_count(op: &str, x: &Data, y: &Data) -> Result<usize> {
    let n = x.num_samples()?;
    let m = y.num_samples()?;
    if m != n {
        return Err(Error::Data(format!(
            "{op}: x has {n} samples but y has {m}"
        )));
    }
    Ok(n)
}

/// `round(test_fraction * n)`, when it leaves both sets non-empty.
fn test_count(op: &'static str, test_fraction: f32, n: usize) -> Result<usize> {
    let test = (f64::from(test_fraction) * n as f64).round() as usize;
    if !(0.0..1.0).contains(&test_fraction) || test == 0 || test == n {
        return Err(Error::invalid(
            op,
            format!(
                "test_fraction {test_fraction} of {n} samples leaves {test} for testing; \
                 both sets need at least one sample"
            ),
        ));
    }
    Ok(test)
}

fn split(x: &Data, y: &Data, train: &[usize], test: &[usize]) -> Result<(Data, Data, Data, Data)> {
    Ok((
        x.select(train)?,
        y.select(train)?,
        x.select(test)?,
        y.select(test)?,
    ))
}
