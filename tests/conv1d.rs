//! Conv1D: Keras 3's outputs for Keras' weights (tests/reference/keras_conv1d.py: valid, same
//! with a stride, causal with and without dilation), causality, and gradients.

use elegy::module::ModuleContext;
use elegy::module::layers::{Conv1D, Padding1d};
use elegy::testing::{GradCheck, check_gradients};
use elegy::{RngKey, Tensor, TensorMap};
use serde_json::Value;

const KERAS: &str = include_str!("reference/keras_conv1d.json");

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

fn apply(layer: &Conv1D, x: &Tensor, params: Option<&TensorMap>) -> (Tensor, TensorMap) {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(
        params.unwrap_or(&empty),
        &empty,
        params.is_none(),
        false,
        RngKey::new(0),
    );
    let y = ctx.call(layer, x).expect("the layer runs");
    (y, ctx.finish().0)
}

#[test]
fn conv1d_matches_keras_for_keras_weights() {
    let reference: Value = serde_json::from_str(KERAS).unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let padding = match case["padding"].as_str().unwrap() {
            "valid" => Padding1d::Valid,
            "same" => Padding1d::Same,
            _ => Padding1d::Causal,
        };
        let layer = Conv1D::new(
            case["filters"].as_u64().unwrap() as usize,
            case["kernel_size"].as_u64().unwrap() as usize,
        )
        .padding(padding)
        .stride(case["strides"].as_u64().unwrap() as usize)
        .dilation(case["dilation_rate"].as_u64().unwrap() as usize);
        let x = tensor(&case["x"]);
        let params = TensorMap::new()
            .with("conv1d/kernel", tensor(&case["kernel"]))
            .with("conv1d/bias", tensor(&case["bias"]));
        let (y, _) = apply(&layer, &x, Some(&params));
        let expected = tensor(&case["output"]);
        assert_eq!(y.shape(), expected.shape(), "{case:?}");
        for (a, b) in y.to_vec().iter().zip(expected.to_vec()) {
            assert!((a - b).abs() < 1e-5, "{a} against Keras' {b} ({padding:?})");
        }
    }
}

#[test]
fn a_causal_convolution_never_looks_ahead_and_has_gradients() {
    let layer = Conv1D::new(2, 3).padding(Padding1d::Causal).dilation(2);
    let x = Tensor::normal(&[1, 8, 2], 0.0, 1.0, RngKey::new(1));
    let (y, params) = apply(&layer, &x, None);
    let changed =
        Tensor::concat(&[x.slice(1, 0, 5).unwrap(), Tensor::ones(&[1, 3, 2])], 1).unwrap();
    let (y2, _) = apply(&layer, &changed, Some(&params));
    assert_eq!(
        y.slice(1, 0, 5).unwrap().to_vec(),
        y2.slice(1, 0, 5).unwrap().to_vec()
    );
    let names: Vec<String> = params.names().map(String::from).collect();
    let mut inputs = vec![x];
    inputs.extend(params.iter().map(|(_, t)| t.clone()));
    let f = |t: &[Tensor]| {
        let p: TensorMap = names.iter().cloned().zip(t[1..].iter().cloned()).collect();
        Ok(apply(&layer, &t[0], Some(&p)).0)
    };
    check_gradients(f, &inputs, &GradCheck::default())
        .unwrap()
        .assert_ok();
}
