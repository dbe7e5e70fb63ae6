//! Conv2DTranspose, DepthwiseConv2D and SeparableConv2D: Keras 3's outputs for Keras' weights
//! (tests/reference/keras_conv2d_more.py), and gradients.

use elegy::module::layers::{Conv2DTranspose, DepthwiseConv2D, SeparableConv2D};
use elegy::module::{Module, ModuleContext};
use elegy::testing::{GradCheck, check_gradients};
use elegy::{Padding, RngKey, Tensor, TensorMap};
use serde_json::Value;

const KERAS: &str = include_str!("reference/keras_conv2d_more.json");

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

fn apply(layer: &dyn Module, x: &Tensor, params: Option<&TensorMap>) -> (Tensor, TensorMap) {
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

fn pair(v: &Value) -> (usize, usize) {
    let a = v.as_array().unwrap();
    (
        a[0].as_u64().unwrap() as usize,
        a[1].as_u64().unwrap() as usize,
    )
}

fn padding(v: &Value) -> Padding {
    if v.as_str() == Some("same") {
        Padding::Same
    } else {
        Padding::Valid
    }
}

#[test]
fn transposed_depthwise_and_separable_convolutions_match_keras() {
    let reference: Value = serde_json::from_str(KERAS).unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let o = &case["options"];
        let (layer, path): (Box<dyn Module>, &str) = if name.starts_with("transpose") {
            let layer =
                Conv2DTranspose::new(o["filters"].as_u64().unwrap() as usize, pair(&o["kernel"]))
                    .stride(pair(&o["strides"]))
                    .padding(padding(&o["padding"]));
            (Box::new(layer), "conv2dtranspose")
        } else if name == "depthwise" {
            let layer = DepthwiseConv2D::new(pair(&o["kernel"]))
                .depth_multiplier(o["depth_multiplier"].as_u64().unwrap() as usize)
                .padding(padding(&o["padding"]));
            (Box::new(layer), "depthwise_conv2d")
        } else {
            let layer =
                SeparableConv2D::new(o["filters"].as_u64().unwrap() as usize, pair(&o["kernel"]))
                    .padding(padding(&o["padding"]));
            (Box::new(layer), "separable_conv2d")
        };
        let x = tensor(&case["x"]);
        let weights: TensorMap = case["weights"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (format!("{path}/{k}"), tensor(v)))
            .collect();
        let (_, made) = apply(layer.as_ref(), &x, None);
        assert_eq!(
            made.names().collect::<Vec<_>>(),
            weights.names().collect::<Vec<_>>(),
            "{name}"
        );
        let (y, _) = apply(layer.as_ref(), &x, Some(&weights));
        let expected = tensor(&case["output"]);
        assert_eq!(y.shape(), expected.shape(), "{name}");
        for (a, b) in y.to_vec().iter().zip(expected.to_vec()) {
            assert!((a - b).abs() < 1e-5, "{name}: {a} against Keras' {b}");
        }
    }
}

#[test]
fn their_gradients_match_finite_differences() {
    let layers: Vec<Box<dyn Module>> = vec![
        Box::new(
            Conv2DTranspose::new(2, (3, 3))
                .stride((2, 2))
                .padding(Padding::Same),
        ),
        Box::new(DepthwiseConv2D::new((2, 2)).depth_multiplier(2)),
        Box::new(SeparableConv2D::new(2, (2, 2))),
    ];
    for layer in &layers {
        let x = Tensor::normal(&[1, 3, 3, 2], 0.0, 1.0, RngKey::new(2));
        let (_, params) = apply(layer.as_ref(), &x, None);
        let names: Vec<String> = params.names().map(String::from).collect();
        let mut inputs = vec![x];
        inputs.extend(params.iter().map(|(_, t)| t.clone()));
        let f = |t: &[Tensor]| {
            let p: TensorMap = names.iter().cloned().zip(t[1..].iter().cloned()).collect();
            Ok(apply(layer.as_ref(), &t[0], Some(&p)).0)
        };
        check_gradients(f, &inputs, &GradCheck::default())
            .unwrap()
            .assert_ok();
    }
}
