//! Whole-model gradient checks: compositions of ops as models use them.

use elegy::{Tensor, TensorMap};

use crate::common::{assert_grads, randn};

/// A 2-layer MLP with softmax cross-entropy against one-hot targets; every parameter checked.
#[test]
fn two_layer_mlp_with_softmax_cross_entropy_matches_finite_differences() {
    let x = randn(&[4, 5], 1);
    let labels = [0usize, 2, 1, 2];
    let mut onehot = ndarray::Array2::<f32>::zeros((4, 3));
    for (i, &c) in labels.iter().enumerate() {
        onehot[[i, c]] = 1.0;
    }
    let onehot = Tensor::new(onehot);
    let params = [
        randn(&[5, 6], 2).mul_scalar(0.5),
        randn(&[6], 3).mul_scalar(0.1),
        randn(&[6, 3], 4).mul_scalar(0.5),
        randn(&[3], 5).mul_scalar(0.1),
    ];
    let model = |p: &[Tensor]| {
        let h = x.matmul(&p[0])?.add(&p[1])?.tanh();
        let logits = h.matmul(&p[2])?.add(&p[3])?;
        let nll = logits
            .log_softmax(-1)?
            .mul(&onehot)?
            .sum(&[-1], false)?
            .neg();
        Ok(nll.mean_all())
    };
    assert_grads(model, &params);
}

#[test]
fn grad_keys_match_the_parameters_and_unused_ones_get_zeros() {
    let params = TensorMap::new()
        .with("used", Tensor::from(vec![2.0]).tracked())
        .with("unused", Tensor::from(vec![1.0, 1.0]).tracked());
    let loss = params.require("used").unwrap().square().sum_all();
    let grads = elegy::grad(&loss, &params).unwrap();
    assert_eq!(grads.names().collect::<Vec<_>>(), vec!["unused", "used"]);
    assert_eq!(grads.require("used").unwrap().to_vec(), vec![4.0]);
    assert_eq!(grads.require("unused").unwrap().to_vec(), vec![0.0, 0.0]);
}

#[test]
fn untracked_computation_records_nothing() {
    let x = randn(&[3, 3], 0);
    let y = x.matmul(&x).unwrap().relu().sum_all();
    assert!(!y.is_tracked());
}

#[test]
fn grad_of_an_untracked_parameter_is_an_error() {
    let params = TensorMap::new().with("w", Tensor::from(vec![1.0]));
    let loss = params.require("w").unwrap().sum_all();
    let err = elegy::grad(&loss, &params).unwrap_err().to_string();
    assert!(err.contains("parameter `w` is not tracked"), "{err}");
}

#[test]
fn grad_of_a_non_scalar_is_an_error() {
    let params = TensorMap::new().with("w", Tensor::from(vec![1.0, 2.0]).tracked());
    let err = elegy::grad(params.require("w").unwrap(), &params)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the loss must be a scalar, got shape [2]"),
        "{err}"
    );
}

#[test]
fn detach_stops_the_gradient() {
    let params = TensorMap::new().with("w", Tensor::from(vec![3.0]).tracked());
    let w = params.require("w").unwrap();
    let loss = w.mul(&w.detach()).unwrap().sum_all();
    assert_eq!(
        elegy::grad(&loss, &params)
            .unwrap()
            .require("w")
            .unwrap()
            .to_vec(),
        vec![3.0]
    );
}
