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

/// A fixed 0/1 mask of `shape` that keeps about two entries in three.
fn some_mask(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        (0..n).map(|i| if i % 3 == 2 { 0.0 } else { 1.0 }).collect(),
        shape,
    )
    .unwrap()
}

#[test]
fn masked_softmax_matches_finite_differences() {
    let mask = some_mask(&[3, 4]);
    assert_grads(|t| t[0].masked_softmax(-1, &mask), &[randn(&[3, 4], 21)]);
    // A mask broadcast over a leading axis.
    let mask = some_mask(&[1, 4]);
    assert_grads(|t| t[0].masked_softmax(-1, &mask), &[randn(&[2, 3, 4], 22)]);
}

#[test]
fn masked_softmax_is_softmax_over_the_kept_entries_and_zero_elsewhere() {
    let x = randn(&[2, 5], 23);
    let mask = Tensor::from_vec(
        vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        &[2, 5],
    )
    .unwrap();
    let p = x.masked_softmax(-1, &mask).unwrap().to_vec();
    let kept: Vec<f32> = [0, 2, 3].iter().map(|&i| x.to_vec()[i]).collect();
    let reference = Tensor::from(kept).softmax(-1).unwrap().to_vec();
    for (at, want) in [0, 2, 3].iter().zip(&reference) {
        assert!((p[*at] - want).abs() < 1e-6, "{p:?}");
    }
    assert_eq!((p[1], p[4]), (0.0, 0.0));
    // The fully masked row: zeros, and a gradient of zeros, never NaN.
    assert_eq!(&p[5..], &[0.0; 5]);
    let all_ones = Tensor::ones(&[2, 5]);
    let plain = x.softmax(-1).unwrap().to_vec();
    let masked = x.masked_softmax(-1, &all_ones).unwrap().to_vec();
    assert!(plain.iter().zip(&masked).all(|(a, b)| (a - b).abs() < 1e-7));
}

#[test]
fn a_fully_masked_row_has_a_zero_gradient() {
    let x = randn(&[1, 3], 24).tracked();
    let mask = Tensor::zeros(&[1, 3]);
    let loss = x.masked_softmax(-1, &mask).unwrap().sum_all();
    let params = elegy::TensorMap::new().with("x", x);
    let grads = elegy::grad(&loss, &params).unwrap();
    assert_eq!(grads.require("x").unwrap().to_vec(), vec![0.0; 3]);
}

#[test]
fn a_mask_that_does_not_broadcast_is_an_error_naming_both_shapes() {
    let err = randn(&[2, 3], 25)
        .masked_softmax(-1, &Tensor::ones(&[2, 2]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[2, 2]") && err.contains("[2, 3]"), "{err}");
}
