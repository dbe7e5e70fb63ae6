//! SimpleRnn, Lstm and Gru: Keras 3's outputs for Keras' weights (tests/reference/
//! keras_recurrent.py: sequences, states, backwards, masks, initial states), gradients against
//! finite differences, Keras' initial values, and training on the digits read row by row.

use elegy::module::layers::{Bidirectional, Gru, Linear, Lstm, SimpleRnn};
use elegy::module::{Module, ModuleContext, Sequential};
use elegy::testing::{GradCheck, check_gradients};
use elegy::{Data, Initializer, RngKey, Tensor, TensorMap};
use serde_json::Value;

const KERAS: &str = include_str!("reference/keras_recurrent.json");

fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let values: Vec<f32> = v["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_vec(values, &shape).unwrap()
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::normal(shape, 0.0, 1.0, RngKey::new(seed))
}

/// The layer's output on `x` over `params`, or the parameters it makes when `params` is None.
fn run(
    layer: &dyn Module,
    x: &Data,
    params: Option<&TensorMap>,
) -> elegy::Result<(Data, TensorMap)> {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(
        params.unwrap_or(&empty),
        &empty,
        params.is_none(),
        false,
        RngKey::new(0),
    );
    let y = ctx.call_data(layer, x)?;
    Ok((y, ctx.finish().0))
}

fn keras_layer(case: &Value) -> (Box<dyn Module>, &'static str) {
    let config = &case["config"];
    let units = config["units"].as_u64().unwrap() as usize;
    let flag = |name: &str| config[name].as_bool().unwrap_or(false);
    macro_rules! configured {
        ($layer:expr) => {{
            let mut layer = $layer;
            if flag("return_sequences") {
                layer = layer.return_sequences();
            }
            if flag("return_state") {
                layer = layer.return_state();
            }
            if flag("go_backwards") {
                layer = layer.go_backwards();
            }
            Box::new(layer) as Box<dyn Module>
        }};
    }
    let name = case["name"].as_str().unwrap();
    if name.starts_with("simple_rnn") {
        (configured!(SimpleRnn::new(units)), "simple_rnn")
    } else if name.starts_with("lstm") {
        (configured!(Lstm::new(units)), "lstm")
    } else {
        (configured!(Gru::new(units)), "gru")
    }
}

#[test]
fn recurrent_layers_match_keras_for_keras_weights() {
    let reference: Value = serde_json::from_str(KERAS).unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (layer, path) = keras_layer(case);
        let x = tensor(&case["x"]);
        let mut parts = vec![("sequence", x.clone())];
        if let Some(mask) = case.get("mask") {
            parts.push(("mask", tensor(mask)));
        }
        if let Some(states) = case.get("initial_state") {
            let states = states.as_array().unwrap();
            parts.push(("initial_state", tensor(&states[0])));
            if let Some(c) = states.get(1) {
                parts.push(("initial_carry", tensor(c)));
            }
        }
        let input: Data = parts.into_iter().collect();
        let weights: TensorMap = case["weights"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let field = k.rsplit('/').next().unwrap();
                (format!("{path}/{field}"), tensor(v))
            })
            .collect();
        let (_, made) = run(layer.as_ref(), &input, None).unwrap();
        assert_eq!(
            made.names().collect::<Vec<_>>(),
            weights.names().collect::<Vec<_>>(),
            "{name}"
        );
        for (k, v) in weights.iter() {
            assert_eq!(made.require(k).unwrap().shape(), v.shape(), "{name}: {k}");
        }
        let (y, _) = run(layer.as_ref(), &input, Some(&weights)).unwrap();
        let expected: Vec<Tensor> = case["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(tensor)
            .collect();
        let got: Vec<Tensor> = y.leaves().into_iter().cloned().collect();
        assert_eq!(got.len(), expected.len(), "{name}: outputs");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.shape(), e.shape(), "{name}");
            for (a, b) in g.to_vec().iter().zip(e.to_vec()) {
                // float32 both, another order of summation: 1e-5 absolute.
                assert!((a - b).abs() < 1e-5, "{name}: {a} against Keras' {b}");
            }
        }
    }
}

#[test]
fn recurrent_gradients_match_finite_differences_through_time_and_masks() {
    let layers: Vec<Box<dyn Module>> = vec![
        Box::new(SimpleRnn::new(3).return_sequences()),
        Box::new(Lstm::new(3).return_sequences()),
        Box::new(Gru::new(3).go_backwards()),
    ];
    let x = randn(&[2, 4, 2], 1);
    let mask = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], &[2, 4]).unwrap();
    for layer in &layers {
        let input = |x: &Tensor| -> Data {
            [("sequence", x.clone()), ("mask", mask.clone())]
                .into_iter()
                .collect()
        };
        let (_, params) = run(layer.as_ref(), &input(&x), None).unwrap();
        let names: Vec<String> = params.names().map(String::from).collect();
        let mut inputs = vec![x.clone()];
        inputs.extend(params.iter().map(|(_, t)| t.clone()));
        let f = |t: &[Tensor]| {
            let p: TensorMap = names.iter().cloned().zip(t[1..].iter().cloned()).collect();
            let (y, _) = run(layer.as_ref(), &input(&t[0]), Some(&p))?;
            Ok(y.as_tensor("y")?.clone())
        };
        check_gradients(f, &inputs, &GradCheck::default())
            .unwrap()
            .assert_ok();
    }
}

#[test]
fn kernels_start_as_keras_orthogonal_and_the_forget_gate_at_one() {
    let (_, params) = run(&Lstm::new(4), &randn(&[1, 2, 3], 2).into(), None).unwrap();
    let bias = params.require("lstm/bias").unwrap().to_vec();
    let forget: Vec<f32> = (0..16)
        .map(|i| if (4..8).contains(&i) { 1.0 } else { 0.0 })
        .collect();
    assert_eq!(bias, forget);
    // The recurrent kernel [4, 16]: fewer rows than columns, so its rows are orthonormal.
    let u = params.require("lstm/recurrent_kernel").unwrap();
    let gram = u.matmul(&u.transpose().unwrap()).unwrap().to_vec();
    for r in 0..4 {
        for c in 0..4 {
            let want = if r == c { 1.0 } else { 0.0 };
            assert!((gram[r * 4 + c] - want).abs() < 1e-5, "{gram:?}");
        }
    }
    let tall = Initializer::Orthogonal { gain: 2.0 }
        .init(&[6, 3], RngKey::new(3))
        .unwrap();
    let gram = tall.transpose().unwrap().matmul(&tall).unwrap().to_vec();
    for r in 0..3 {
        for c in 0..3 {
            let want = if r == c { 4.0 } else { 0.0 };
            assert!((gram[r * 3 + c] - want).abs() < 1e-4, "{gram:?}");
        }
    }
}

#[test]
fn bad_inputs_are_errors_naming_the_layer_and_the_shapes() {
    let err = run(&Lstm::new(2), &Tensor::ones(&[2, 3]).into(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lstm") && err.contains("[2, 3]"), "{err}");
    let masked: Data = [
        ("sequence", Tensor::ones(&[2, 3, 1])),
        ("mask", Tensor::ones(&[2, 2])),
    ]
    .into_iter()
    .collect();
    let err = run(&Gru::new(2), &masked, None).unwrap_err().to_string();
    assert!(err.contains("[2, 2]") && err.contains("[2, 3]"), "{err}");
    let err = run(
        &Sequential::new()
            .layer(Lstm::new(2).return_state())
            .layer(Linear::new(1)),
        &Tensor::ones(&[2, 3, 1]).into(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("return_state"), "{err}");
}

#[test]
fn bidirectional_concatenates_both_directions_in_time_order() {
    let layer = Bidirectional::new(Lstm::new(3).return_sequences());
    let x = randn(&[2, 4, 2], 5);
    let (y, params) = run(&layer, &x.clone().into(), None).unwrap();
    let y = y.as_tensor("y").unwrap().clone();
    assert_eq!(y.shape(), [2, 4, 6]);
    let direction = |name: &str| -> TensorMap {
        params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&format!("bidirectional/{name}/"))
                    .map(|field| (format!("lstm/{field}"), v.clone()))
            })
            .collect()
    };
    let forward = Lstm::new(3).return_sequences();
    let (f, _) = run(&forward, &x.clone().into(), Some(&direction("forward"))).unwrap();
    let (b, _) = run(
        &forward.go_backwards(),
        &x.into(),
        Some(&direction("backward")),
    )
    .unwrap();
    let (f, b) = (f.as_tensor("f").unwrap(), b.as_tensor("b").unwrap());
    for t in 0..4 {
        let at = |z: &Tensor, t: usize, from: usize, to: usize| {
            z.slice(1, t, t + 1)
                .unwrap()
                .slice(2, from, to)
                .unwrap()
                .to_vec()
        };
        assert_eq!(at(&y, t, 0, 3), at(f, t, 0, 3));
        assert_eq!(at(&y, t, 3, 6), at(b, 3 - t, 0, 3), "step {t}");
    }
}
