//! Gradient checks: element-wise ops of one tensor.

use elegy::{Result, Tensor};

use crate::common::{assert_grads, away_from_zero, randn, uniform};

type Op = fn(&Tensor) -> Result<Tensor>;

/// Each op with inputs where it is smooth.
fn smooth_everywhere() -> Vec<(&'static str, Op)> {
    vec![
        ("neg", |t| Ok(t.neg())),
        ("add_scalar", |t| Ok(t.add_scalar(1.5))),
        ("sub_scalar", |t| Ok(t.sub_scalar(1.5))),
        ("rsub_scalar", |t| Ok(t.rsub_scalar(1.5))),
        ("mul_scalar", |t| Ok(t.mul_scalar(-2.5))),
        ("div_scalar", |t| Ok(t.div_scalar(4.0))),
        ("square", |t| Ok(t.square())),
        ("exp", |t| Ok(t.exp())),
        ("gelu", |t| Ok(t.gelu())),
        ("gelu_tanh", |t| Ok(t.gelu_tanh())),
        ("sigmoid", |t| Ok(t.sigmoid())),
        ("tanh", |t| Ok(t.tanh())),
        ("softplus", |t| Ok(t.softplus())),
        ("log_sigmoid", |t| Ok(t.log_sigmoid())),
        ("elu", |t| Ok(t.elu(1.0))),
    ]
}

#[test]
fn smooth_ops_match_finite_differences_on_several_shapes() {
    for (name, op) in smooth_everywhere() {
        for (i, shape) in [vec![], vec![5], vec![2, 3], vec![2, 1, 3]]
            .iter()
            .enumerate()
        {
            let x = randn(shape, i as u64);
            eprintln!("{name} on {shape:?}");
            assert_grads(|t| op(&t[0]), &[x]);
        }
    }
}

#[test]
fn ops_with_a_kink_match_finite_differences_away_from_it() {
    let kinked: Vec<(&str, Op)> = vec![
        ("abs", |t| Ok(t.abs())),
        ("relu", |t| Ok(t.relu())),
        ("leaky_relu", |t| Ok(t.leaky_relu(0.1))),
        ("elu", |t| Ok(t.elu(0.7))),
        ("clamp", |t| t.clamp(-0.5, 0.5)),
    ];
    for (name, op) in kinked {
        eprintln!("{name}");
        let x = away_from_zero(&[3, 4], 0.05, 7);
        // clamp also kinks at its bounds: keep away from +-0.5 as well.
        let x = if name == "clamp" {
            x.view()
                .mapv(|v| {
                    if (v.abs() - 0.5).abs() < 0.05 {
                        v * 1.3
                    } else {
                        v
                    }
                })
                .into()
        } else {
            x
        };
        assert_grads(|t| op(&t[0]), &[x]);
    }
}

#[test]
fn ops_on_positive_inputs_match_finite_differences() {
    let positive: Vec<(&str, Op)> = vec![
        ("log", |t| Ok(t.log())),
        ("log1p", |t| Ok(t.log1p())),
        ("sqrt", |t| Ok(t.sqrt())),
        ("powf", |t| Ok(t.powf(2.5))),
        ("powf_negative", |t| Ok(t.powf(-1.5))),
        ("recip", |t| Ok(t.recip())),
        ("rdiv_scalar", |t| Ok(t.rdiv_scalar(3.0))),
    ];
    for (name, op) in positive {
        eprintln!("{name}");
        assert_grads(|t| op(&t[0]), &[uniform(&[2, 5], 0.5, 2.0, 3)]);
    }
}

#[test]
fn activations_have_their_published_values() {
    let x = Tensor::from(vec![-2.0, 0.0, 1.0]);
    let close = |a: Vec<f32>, b: &[f32]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-5);
    assert!(close(x.relu().to_vec(), &[0.0, 0.0, 1.0]));
    assert!(close(
        x.sigmoid().to_vec(),
        &[0.119_202_92, 0.5, 0.731_058_6]
    ));
    assert!(close(
        x.softplus().to_vec(),
        &[0.126_928, std::f32::consts::LN_2, 1.313_261_7]
    ));
    // gelu(1) = Phi(1) = 0.841344746; gelu(-2) = -2 * Phi(-2) = -0.045500264
    assert!(close(x.gelu().to_vec(), &[-0.045_500_26, 0.0, 0.841_344_7]));
    assert!(close(x.elu(1.0).to_vec(), &[-0.864_664_7, 0.0, 1.0]));
    assert!(close(x.leaky_relu(0.2).to_vec(), &[-0.4, 0.0, 1.0]));
}

#[test]
fn stable_forms_do_not_overflow() {
    let x = Tensor::from(vec![-100.0, 100.0]);
    let s = x.sigmoid().to_vec();
    assert!(s[0] < 1e-40 && s[1] == 1.0, "{s:?}");
    let sp = x.softplus().to_vec();
    assert!(sp[0] < 1e-40 && sp[1] == 100.0, "{sp:?}");
    let ls = x.log_sigmoid().to_vec();
    assert!(ls[0] == -100.0 && ls[1].abs() < 1e-40, "{ls:?}");
}

#[test]
fn clamp_with_empty_bounds_is_an_error() {
    let err = Tensor::zeros(&[2]).clamp(1.0, 0.0).unwrap_err().to_string();
    assert!(err.starts_with("clamp: bounds [1, 0] are empty"), "{err}");
}

#[test]
fn nan_passes_through_relu_maximum_minimum_and_a_relu_layer() {
    let x = Tensor::from_vec(vec![f32::NAN, 1.0, -1.0, 0.0], &[4]).unwrap();
    let relu = x.relu().to_vec();
    assert!(relu[0].is_nan());
    assert_eq!(&relu[1..], &[1.0, 0.0, 0.0]);
    let zeros = Tensor::zeros(&[4]);
    for (name, y) in [
        ("maximum", x.maximum(&zeros).unwrap()),
        ("minimum", x.minimum(&zeros).unwrap()),
        ("maximum, NaN second", zeros.maximum(&x).unwrap()),
    ] {
        assert!(y.to_vec()[0].is_nan(), "{name}: {:?}", y.to_vec());
    }
    // The dense op's own ReLU, as a diverged layer would meet it.
    let w = Tensor::from_vec(vec![1.0, -1.0], &[1, 2]).unwrap();
    let y = Tensor::from_vec(vec![f32::NAN, 2.0], &[2, 1])
        .unwrap()
        .linear_activated(&w, None, elegy::Activation::Relu)
        .unwrap()
        .to_vec();
    assert!(y[0].is_nan() && y[1].is_nan(), "{y:?}");
    assert_eq!(&y[2..], &[2.0, 0.0]);
}
