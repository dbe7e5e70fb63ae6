//! Shared fixtures of the op tests.

use elegy::testing::{GradCheck, check_gradients};
use elegy::{Result, RngKey, Tensor};

/// Normal values of `shape`, seeded.
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::normal(shape, 0.0, 1.0, RngKey::new(seed))
}

/// Uniform values of `shape` in `[low, high)`, seeded.
pub fn uniform(shape: &[usize], low: f32, high: f32, seed: u64) -> Tensor {
    Tensor::uniform(shape, low, high, RngKey::new(seed))
}

/// Values of `shape` at least `gap` away from 0 (for ops with a kink there, like relu and abs).
pub fn away_from_zero(shape: &[usize], gap: f32, seed: u64) -> Tensor {
    let magnitude = uniform(shape, gap, 2.0, seed);
    let sign = Tensor::bernoulli(shape, 0.5, RngKey::new(seed).fold_in(1));
    // sign in {0, 1} -> {-1, 1}
    magnitude.mul(&(sign * 2.0 - 1.0)).expect("same shape")
}

/// Asserts that `f`'s gradients at `inputs` match finite differences with default tolerances.
#[track_caller]
pub fn assert_grads(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    check_gradients(f, inputs, &GradCheck::default())
        .expect("the function runs")
        .assert_ok();
}

/// Distinct values of `shape`, at least 0.1 apart in a seeded order: finite differences never
/// cross a tie (for max, min and sorting-like ops).
pub fn spread(shape: &[usize], seed: u64) -> Tensor {
    use rand::seq::SliceRandom;
    let n: usize = shape.iter().product();
    let mut values: Vec<f32> = (0..n).map(|i| (i as f32 - n as f32 / 2.0) * 0.1).collect();
    values.shuffle(&mut RngKey::new(seed).rng());
    Tensor::from_vec(values, shape).expect("shape holds n values")
}
