//! Gradient checks: the fused dense product `x @ kernel + bias`.

use elegy::{Activation, Tensor, TensorMap, grad};

use crate::common::{assert_grads, away_from_zero, randn};

#[test]
fn linear_matches_finite_differences() {
    assert_grads(
        |t| t[0].linear(&t[1], Some(&t[2])),
        &[randn(&[3, 4], 1), randn(&[4, 2], 2), randn(&[2], 3)],
    );
}

#[test]
fn linear_without_bias_matches_finite_differences() {
    assert_grads(
        |t| t[0].linear(&t[1], None),
        &[randn(&[3, 4], 1), randn(&[4, 2], 2)],
    );
}

#[test]
fn linear_over_leading_axes_matches_finite_differences() {
    // [2, 3, 4] @ [4, 5] + [5] -> [2, 3, 5]
    let (x, w, b) = (randn(&[2, 3, 4], 4), randn(&[4, 5], 5), randn(&[5], 6));
    assert_eq!(x.linear(&w, Some(&b)).unwrap().shape(), &[2, 3, 5]);
    assert_grads(|t| t[0].linear(&t[1], Some(&t[2])), &[x, w, b]);
}

#[test]
fn linear_of_a_transposed_input_matches_finite_differences() {
    // A view with non-contiguous rows, as a transpose gives.
    assert_grads(
        |t| t[0].transpose()?.linear(&t[1], Some(&t[2])),
        &[randn(&[4, 3], 7), randn(&[4, 2], 8), randn(&[2], 9)],
    );
}

#[test]
fn linear_is_matmul_then_add() {
    let (x, w, b) = (randn(&[5, 3], 10), randn(&[3, 4], 11), randn(&[4], 12));
    let fused = x.linear(&w, Some(&b)).unwrap().to_vec();
    let composed = x.matmul(&w).unwrap().add(&b).unwrap().to_vec();
    for (f, c) in fused.iter().zip(&composed) {
        assert!(
            (f - c).abs() <= 1e-6 * c.abs().max(1.0),
            "{fused:?} != {composed:?}"
        );
    }
}

#[test]
fn linear_of_a_vector_is_one_row() {
    let x = Tensor::from(vec![1.0, 2.0]);
    let w = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0], &[2, 3]).unwrap();
    let y = x.linear(&w, None).unwrap();
    assert_eq!(y.shape(), &[3]);
    assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0]);
}

#[test]
fn misfit_kernels_and_biases_are_errors_naming_the_shapes() {
    let x = Tensor::zeros(&[64, 784]);
    let err = x
        .linear(&Tensor::zeros(&[128, 10]), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("linear: input [64, 784] and kernel [128, 10] do not align (784 != 128)"),
        "{err}"
    );
    let bias = Tensor::zeros(&[5]);
    let err = x
        .linear(&Tensor::zeros(&[784, 10]), Some(&bias))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bias [5] does not fit kernel [784, 10]"),
        "{err}"
    );
    let err = x
        .linear(&Tensor::zeros(&[784]), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("the kernel exactly 2"), "{err}");
}

#[test]
fn linear_with_a_smooth_activation_matches_finite_differences() {
    for activation in [Activation::Sigmoid, Activation::Tanh] {
        assert_grads(
            |t| t[0].linear_activated(&t[1], Some(&t[2]), activation),
            &[randn(&[3, 4], 13), randn(&[4, 2], 14), randn(&[2], 15)],
        );
    }
}

#[test]
fn linear_with_relu_matches_finite_differences_away_from_the_kink() {
    // With an identity kernel and no bias the inputs to the relu are `x` itself, kept at least
    // 0.05 from 0, so that no finite difference straddles the kink.
    let identity = Tensor::from_vec(
        (0..16)
            .map(|i| if i % 5 == 0 { 1.0 } else { 0.0 })
            .collect(),
        &[4, 4],
    )
    .unwrap();
    assert_grads(
        |t| t[0].linear_activated(&t[1], Some(&t[2]), Activation::Relu),
        &[
            away_from_zero(&[3, 4], 0.05, 16),
            identity,
            Tensor::zeros(&[4]),
        ],
    );
}

#[test]
fn linear_activated_gives_the_values_and_gradients_of_linear_then_the_activation() {
    // Large enough for the in-place activation and its gradient to run on two threads.
    let (x, w, b) = (
        randn(&[64, 150], 17),
        randn(&[150, 200], 18),
        randn(&[200], 19),
    );
    type Standalone = fn(&Tensor) -> Tensor;
    let ops: [(Activation, Standalone); 4] = [
        (Activation::Identity, |t| t.clone()),
        (Activation::Relu, Tensor::relu),
        (Activation::Sigmoid, Tensor::sigmoid),
        (Activation::Tanh, Tensor::tanh),
    ];
    let params = TensorMap::from_iter([("x", x), ("w", w), ("b", b)]).tracked();
    let get = |name: &str| params.require(name).unwrap().clone();
    let (x, w, b) = (&get("x"), &get("w"), &get("b"));
    for (activation, op) in ops {
        let fused = x.linear_activated(w, Some(b), activation).unwrap();
        let composed = op(&x.linear(w, Some(b)).unwrap());
        assert_eq!(fused.to_vec(), composed.to_vec(), "{activation:?}");
        // A loss that weighs every output differently, so that each gradient entry counts.
        let weights = randn(fused.shape(), 20);
        let loss = |y: &Tensor| y.mul(&weights).unwrap().sum(&[], false).unwrap();
        let (gf, gc) = (
            grad(&loss(&fused), &params).unwrap(),
            grad(&loss(&composed), &params).unwrap(),
        );
        for name in ["x", "w", "b"] {
            let (f, c) = (
                gf.require(name).unwrap().to_vec(),
                gc.require(name).unwrap().to_vec(),
            );
            assert!(
                f.iter()
                    .zip(&c)
                    .all(|(f, c)| (f - c).abs() <= 1e-5 * c.abs().max(1.0)),
                "{activation:?}: the gradient of {name} differs"
            );
            if name == "b" {
                // Summed in the same order from the same values, fused or not.
                assert_eq!(f, c, "{activation:?}: the bias's gradient");
            }
        }
    }
}
