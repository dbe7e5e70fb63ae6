//! Gradient checks: reductions over axes.

use elegy::{Result, Tensor};

use crate::common::{assert_grads, spread};

type Op = fn(&Tensor, &[isize], bool) -> Result<Tensor>;

#[test]
fn reductions_match_finite_differences_over_any_axes() {
    let ops: Vec<(&str, Op)> = vec![
        ("sum", |t, a, k| t.sum(a, k)),
        ("mean", |t, a, k| t.mean(a, k)),
        ("max", |t, a, k| t.max(a, k)),
        ("min", |t, a, k| t.min(a, k)),
        ("var", |t, a, k| t.var(a, k)),
        ("logsumexp", |t, a, k| t.logsumexp(a, k)),
    ];
    let axes: &[&[isize]] = &[&[], &[0], &[-1], &[0, 2], &[1]];
    for (name, op) in ops {
        for (i, &ax) in axes.iter().enumerate() {
            for keepdims in [false, true] {
                eprintln!("{name} axes {ax:?} keepdims {keepdims}");
                let x = spread(&[2, 3, 4], i as u64);
                assert_grads(|t| op(&t[0], ax, keepdims), &[x]);
            }
        }
    }
}

#[test]
fn reductions_have_the_expected_values_and_shapes() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 9.0], &[2, 3]).unwrap();
    assert_eq!(x.sum(&[1], false).unwrap().to_vec(), vec![6.0, 18.0]);
    assert_eq!(x.sum(&[0], true).unwrap().shape(), &[1, 3]);
    assert_eq!(x.mean(&[], false).unwrap().shape(), &[] as &[usize]);
    assert_eq!(x.max(&[-1], false).unwrap().to_vec(), vec![3.0, 9.0]);
    assert_eq!(x.min(&[0], false).unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
    // population variance of [4, 5, 9]: mean 6, (4 + 1 + 9) / 3
    let var = x.var(&[1], false).unwrap().to_vec();
    assert!((var[1] - 14.0 / 3.0).abs() < 1e-5);
    assert_eq!(x.argmax(1).unwrap().to_vec(), vec![2.0, 2.0]);
    // The first NaN wins, as in numpy.
    let with_nan = Tensor::from(vec![1.0, f32::NAN, 0.5, f32::NAN]);
    assert_eq!(with_nan.argmax(0).unwrap().to_vec(), vec![1.0]);
    assert_eq!(x.sum_all().item().unwrap(), 24.0);
    assert_eq!(x.mean_all().item().unwrap(), 4.0);
}

#[test]
fn max_ties_share_the_gradient() {
    let x = Tensor::from(vec![2.0, 2.0, 1.0]).tracked();
    let params = elegy::TensorMap::new().with("x", x.clone());
    let grads = elegy::grad(&x.max(&[], false).unwrap(), &params).unwrap();
    assert_eq!(grads.require("x").unwrap().to_vec(), vec![0.5, 0.5, 0.0]);
}

#[test]
fn logsumexp_is_stable_for_large_values() {
    let x = Tensor::from(vec![1000.0, 1000.0]);
    let v = x.logsumexp(&[], false).unwrap().item().unwrap();
    assert!((v - (1000.0 + std::f32::consts::LN_2)).abs() < 1e-3, "{v}");
}

#[test]
fn bad_axes_are_errors() {
    let x = Tensor::zeros(&[2, 3]);
    let err = x.sum(&[2], false).unwrap_err().to_string();
    assert!(
        err.starts_with("sum: axis 2 is out of range for a tensor with 2 axes"),
        "{err}"
    );
    let err = x.mean(&[0, -2], false).unwrap_err().to_string();
    assert!(err.contains("name an axis twice"), "{err}");
    let err = Tensor::zeros(&[0, 2])
        .max(&[0], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty axis"), "{err}");
}
