//! Gradient checks: softmax and log-softmax.

use elegy::Tensor;

use crate::common::{assert_grads, randn};

#[test]
fn softmax_matches_finite_differences_on_each_axis() {
    for axis in [0, 1, -1] {
        assert_grads(|t| t[0].softmax(axis), &[randn(&[3, 4], (axis + 5) as u64)]);
    }
}

#[test]
fn log_softmax_matches_finite_differences_on_each_axis() {
    for axis in [0, -1] {
        assert_grads(
            |t| t[0].log_softmax(axis),
            &[randn(&[2, 3, 4], (axis + 9) as u64)],
        );
    }
}

#[test]
fn softmax_rows_sum_to_one_and_survive_large_logits() {
    let x = Tensor::from_vec(vec![1000.0, 1001.0, -1000.0, 0.0], &[2, 2]).unwrap();
    let p = x.softmax(-1).unwrap();
    let sums = p.sum(&[-1], false).unwrap().to_vec();
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-6), "{sums:?}");
    // log_softmax([1000, 1001])[0] = -ln(1 + e)
    let logp = x.log_softmax(-1).unwrap().to_vec();
    assert!(
        (logp[0] + (1.0f32 + std::f32::consts::E).ln()).abs() < 1e-4,
        "{logp:?}"
    );
    assert!(logp.iter().all(|v| v.is_finite()), "{logp:?}");
}

#[test]
fn log_softmax_equals_log_of_softmax() {
    let x = randn(&[3, 5], 2);
    let a = x.log_softmax(-1).unwrap().to_vec();
    let b = x.softmax(-1).unwrap().log().to_vec();
    assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-5));
}
