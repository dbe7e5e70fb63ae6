//! Checking gradients against central finite differences, for our ops and for users' own.

use ndarray::ArrayD;

use crate::error::Result;
use crate::tensor::{RngKey, Tensor, TensorMap};

/// Tolerances of [`check_gradients`]. An element passes when
/// `|analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)`.
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    /// The step of the central difference, relative to `max(1, |x|)`.
    pub eps: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Seed of the random output weights (see [`check_gradients`]).
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> GradCheck {
        // f32 forwards: a step near the cube root of f32's epsilon balances rounding against
        // truncation, and leaves about 1e-3 relative accuracy.
        GradCheck {
            eps: 3e-3,
            rtol: 1e-2,
            atol: 1e-3,
            seed: 0,
        }
    }
}

/// The worst element of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// The element's flat index in that input.
    pub index: usize,
    /// The gradient autodiff computed.
    pub analytic: f64,
    /// The central finite difference.
    pub numeric: f64,
}

/// What [`check_gradients`] found.
#[derive(Clone, Debug)]
pub struct GradCheckReport {
    /// Elements compared.
    pub checked: usize,
    /// Elements outside the tolerance, worst first (at most 10 kept).
    pub failures: Vec<Mismatch>,
}

impl GradCheckReport {
    /// Panics with the worst mismatches when any element failed: for use in tests.
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(
            self.failures.is_empty(),
            "gradient check failed on {} of {} elements; worst: {:#?}",
            self.failures.len(),
            self.checked,
            self.failures
        );
    }
}

/// Compares the gradients autodiff computes for `f` at `inputs` with central finite differences.
///
/// `f` may return a tensor of any shape: it is reduced to the scalar `sum(w * f(inputs))` with
/// fixed random weights `w` in `[-1, 1)`, so that every output element and every mix of them is
/// checked. The differences are taken from `f32` forwards and accumulated in `f64`.
///
/// ```
/// use elegy_core::testing::{check_gradients, GradCheck};
/// use elegy_core::{RngKey, Tensor};
/// let x = Tensor::normal(&[3, 4], 0.0, 1.0, RngKey::new(0));
/// check_gradients(|t| Ok(t[0].tanh()), &[x], &GradCheck::default())?.assert_ok();
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn check_gradients(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    options: &GradCheck,
) -> Result<GradCheckReport> {
    let tracked: Vec<Tensor> = inputs.iter().map(Tensor::tracked).collect();
    let out = f(&tracked)?;
    let weights = Tensor::uniform(out.shape(), -1.0, 1.0, RngKey::new(options.seed));
    let loss = out.mul(&weights)?.sum_all();
    let named: TensorMap = tracked
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:04}"), t.clone()))
        .collect();
    let analytic = crate::grad(&loss, &named)?;

    let weighted_sum = |values: &[Tensor]| -> Result<f64> {
        let out = f(values)?;
        Ok(out
            .view()
            .iter()
            .zip(weights.view().iter())
            .map(|(&o, &w)| o as f64 * w as f64)
            .sum())
    };

    let mut failures = Vec::new();
    let mut checked = 0;
    for (which, (name, grad)) in analytic.iter().enumerate() {
        debug_assert_eq!(name, format!("{which:04}"));
        // Row-major, so that flat indices mean the same as in `grad.view().iter()`.
        let base = inputs[which].view().as_standard_layout().into_owned();
        for (index, &g) in grad.view().iter().enumerate() {
            let x = base.as_slice().expect("standard layout")[index];
            let step = options.eps * (x.abs() as f64).max(1.0);
            let (up, down) = ((x as f64 + step) as f32, (x as f64 - step) as f32);
            let with = |value: f32| -> Result<f64> {
                let mut values = inputs.to_vec();
                values[which] = Tensor::new(set_flat(&base, index, value));
                weighted_sum(&values)
            };
            let numeric = (with(up)? - with(down)?) / (up as f64 - down as f64);
            let analytic = g as f64;
            checked += 1;
            let tolerance = options.atol + options.rtol * analytic.abs().max(numeric.abs());
            if (analytic - numeric).abs() > tolerance || analytic.is_nan() != numeric.is_nan() {
                failures.push(Mismatch {
                    input: which,
                    index,
                    analytic,
                    numeric,
                });
            }
        }
    }
    failures.sort_by(|a, b| {
        let gap = |m: &Mismatch| (m.analytic - m.numeric).abs();
        gap(b).total_cmp(&gap(a))
    });
    failures.truncate(10);
    Ok(GradCheckReport { checked, failures })
}

/// A copy of `base` (row-major) with its `index`-th element set to `value`.
fn set_flat(base: &ArrayD<f32>, index: usize, value: f32) -> ArrayD<f32> {
    let mut copy = base.clone();
    copy.as_slice_mut().expect("standard layout")[index] = value;
    copy
}
