//! Gradient checks: element-wise ops of two tensors, with broadcasting.

use elegy::{Result, Tensor};
use proptest::prelude::*;

use crate::common::{assert_grads, randn, uniform};

type Op = fn(&Tensor, &Tensor) -> Result<Tensor>;

fn ops() -> Vec<(&'static str, Op)> {
    vec![
        ("add", |a, b| a.add(b)),
        ("sub", |a, b| a.sub(b)),
        ("mul", |a, b| a.mul(b)),
        ("div", |a, b| a.div(b)),
        ("pow", |a, b| a.pow(b)),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
    ]
}

/// Pairs of shapes that broadcast, including scalars and stretched axes on both sides.
const SHAPE_PAIRS: &[(&[usize], &[usize])] = &[
    (&[2, 3], &[2, 3]),
    (&[2, 3], &[3]),
    (&[2, 1], &[1, 3]),
    (&[4, 1, 3], &[2, 1]),
    (&[], &[2, 2]),
    (&[3], &[]),
];

#[test]
fn binary_ops_match_finite_differences_with_broadcasting() {
    for (name, op) in ops() {
        for (i, (sa, sb)) in SHAPE_PAIRS.iter().enumerate() {
            eprintln!("{name} {sa:?} {sb:?}");
            // Positive bases for pow; distinct values (no ties) for maximum and minimum.
            let a = uniform(sa, 0.5, 2.0, i as u64);
            let b = uniform(sb, 0.5, 2.0, 100 + i as u64);
            assert_grads(|t| op(&t[0], &t[1]), &[a, b]);
        }
    }
}

#[test]
fn a_tensor_used_twice_gets_both_gradients() {
    let x = randn(&[3], 1);
    assert_grads(|t| t[0].mul(&t[0])?.add(&t[0]), &[x]);
}

#[test]
fn ties_share_the_gradient_of_maximum() {
    let a = Tensor::from(vec![1.0]).tracked();
    let b = Tensor::from(vec![1.0]).tracked();
    let params = elegy::TensorMap::new()
        .with("a", a.clone())
        .with("b", b.clone());
    let grads = elegy::grad(&a.maximum(&b).unwrap().sum_all(), &params).unwrap();
    assert_eq!(grads.require("a").unwrap().to_vec(), vec![0.5]);
    assert_eq!(grads.require("b").unwrap().to_vec(), vec![0.5]);
}

#[test]
fn shapes_that_do_not_broadcast_are_an_error_naming_both() {
    let err = Tensor::zeros(&[2, 3])
        .add(&Tensor::zeros(&[4]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("add: shapes [2, 3] and [4] do not broadcast"),
        "{err}"
    );
}

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..4, 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any operand shape broadcast against any other by putting 1s in some axes.
    #[test]
    fn mul_gradients_hold_for_random_broadcast_shapes(
        shape in shape_strategy(),
        mask in prop::collection::vec(any::<bool>(), 4),
        seed in 0u64..1000,
    ) {
        let other: Vec<usize> = shape.iter().zip(&mask).map(|(&d, &one)| if one { 1 } else { d }).collect();
        let a = randn(&shape, seed);
        let b = randn(&other, seed + 1);
        assert_grads(|t| t[0].mul(&t[1])?.add(&t[1]), &[a, b]);
    }
}
