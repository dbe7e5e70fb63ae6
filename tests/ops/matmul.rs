//! Gradient checks: matrix products, 2-D and batched.

use elegy::Tensor;

use crate::common::{assert_grads, randn};

#[test]
fn matmul_2d_matches_finite_differences() {
    assert_grads(
        |t| t[0].matmul(&t[1]),
        &[randn(&[3, 4], 1), randn(&[4, 2], 2)],
    );
}

#[test]
fn batched_matmul_matches_finite_differences() {
    assert_grads(
        |t| t[0].matmul(&t[1]),
        &[randn(&[2, 3, 4], 1), randn(&[2, 4, 2], 2)],
    );
}

#[test]
fn batched_matmul_broadcasts_leading_axes() {
    // [2, 1, 3, 4] @ [3, 4, 2] -> [2, 3, 3, 2]
    let (a, b) = (randn(&[2, 1, 3, 4], 3), randn(&[3, 4, 2], 4));
    assert_eq!(a.matmul(&b).unwrap().shape(), &[2, 3, 3, 2]);
    assert_grads(|t| t[0].matmul(&t[1]), &[a, b]);
}

#[test]
fn matmul_values_are_the_matrix_product() {
    let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]).unwrap();
    assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![4.0, 5.0, 10.0, 11.0]);
}

#[test]
fn misaligned_shapes_are_an_error_naming_them() {
    let err = Tensor::zeros(&[64, 784])
        .matmul(&Tensor::zeros(&[128, 10]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("matmul: shapes [64, 784] and [128, 10] do not align (784 != 128)"));
    let err = Tensor::zeros(&[3])
        .matmul(&Tensor::zeros(&[3, 2]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 2 axes"), "{err}");
}
