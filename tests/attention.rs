//! MultiHeadAttention: Keras 3's outputs for Keras' weights (tests/reference/keras_attention.py),
//! gradients against finite differences, masks, and a checkpoint round trip.

use elegy::losses::MeanSquaredError;
use elegy::module::layers::{Flatten, Linear, MultiHeadAttention};
use elegy::module::{ModuleContext, Sequential};
use elegy::optimizers::Adam;
use elegy::testing::{GradCheck, check_gradients};
use elegy::{Data, FitOptions, RngKey, Runner, Tensor, TensorMap};
use serde_json::Value;

const KERAS: &str = include_str!("reference/keras_attention.json");

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

/// The layer's output on `x` over `params` (inference), or its parameters when `params` is
/// `None` (initializing).
fn run(layer: &MultiHeadAttention, x: &Data, params: Option<&TensorMap>) -> (Data, TensorMap) {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(
        params.unwrap_or(&empty),
        &empty,
        params.is_none(),
        false,
        RngKey::new(0),
    );
    let y = ctx.call_data(layer, x).expect("the layer runs");
    (y, ctx.finish().0)
}

#[test]
fn multi_head_attention_matches_keras_for_keras_weights() {
    let reference: Value = serde_json::from_str(KERAS).unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut layer = MultiHeadAttention::new(
            case["num_heads"].as_u64().unwrap() as usize,
            case["key_dim"].as_u64().unwrap() as usize,
        );
        if let Some(out) = case["output_shape"].as_u64() {
            layer = layer.output_dim(out as usize);
        }
        if case["causal"].as_bool().unwrap() {
            layer = layer.causal();
        }
        let query = tensor(&case["query"]);
        let x: Data = match (case.get("value"), case.get("attention_mask")) {
            (None, _) => query.clone().into(),
            (Some(value), None) => (query.clone(), tensor(value)).into(),
            (Some(value), Some(mask)) => [
                ("query", query.clone()),
                ("value", tensor(value)),
                ("attention_mask", tensor(mask)),
            ]
            .into_iter()
            .collect(),
        };
        let weights: TensorMap = case["weights"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (format!("multi_head_attention/{k}"), tensor(v)))
            .collect();
        let (_, made) = run(&layer, &x, None);
        let made_names: Vec<&str> = made.names().collect();
        let keras_names: Vec<&str> = weights.names().collect();
        assert_eq!(made_names, keras_names, "{name}: Keras' parameter names");
        for (k, v) in weights.iter() {
            assert_eq!(made.require(k).unwrap().shape(), v.shape(), "{name}: {k}");
        }
        let (y, _) = run(&layer, &x, Some(&weights));
        let expected = tensor(&case["output"]);
        let y = y.as_tensor("y").unwrap();
        assert_eq!(y.shape(), expected.shape(), "{name}");
        for (a, b) in y.to_vec().iter().zip(expected.to_vec()) {
            // Keras computes in float32 too, in another order: 1e-5 absolute.
            assert!((a - b).abs() < 1e-5, "{name}: {a} against Keras' {b}");
        }
    }
}

#[test]
fn multi_head_attention_gradients_match_finite_differences() {
    let layer = MultiHeadAttention::new(2, 3).value_dim(2).output_dim(4);
    let (q, v) = (randn(&[2, 3, 5], 1), randn(&[2, 4, 3], 2));
    let mask = Tensor::from_vec(
        (0..24)
            .map(|i| if i % 5 == 3 { 0.0 } else { 1.0 })
            .collect(),
        &[2, 3, 4],
    )
    .unwrap();
    let x: Data = [
        ("query", q.clone()),
        ("value", v.clone()),
        ("attention_mask", mask.clone()),
    ]
    .into_iter()
    .collect();
    let (_, params) = run(&layer, &x, None);
    let names: Vec<String> = params.names().map(String::from).collect();
    let mut inputs = vec![q, v];
    inputs.extend(params.iter().map(|(_, t)| t.clone()));
    let f = |t: &[Tensor]| {
        let p: TensorMap = names.iter().cloned().zip(t[2..].iter().cloned()).collect();
        let x: Data = [
            ("query", t[0].clone()),
            ("value", t[1].clone()),
            ("attention_mask", mask.clone()),
        ]
        .into_iter()
        .collect();
        let (y, _) = run(&layer, &x, Some(&p));
        Ok(y.as_tensor("y")?.clone())
    };
    check_gradients(f, &inputs, &GradCheck::default())
        .unwrap()
        .assert_ok();
}

#[test]
fn a_causal_layer_never_looks_ahead() {
    let layer = MultiHeadAttention::new(2, 4).causal();
    let x = randn(&[1, 6, 8], 3);
    let (_, params) = run(&layer, &x.clone().into(), None);
    let (y, _) = run(&layer, &x.clone().into(), Some(&params));
    // Change the last two positions: the first four outputs stay exactly as they were.
    let changed = Tensor::concat(&[x.slice(1, 0, 4).unwrap(), randn(&[1, 2, 8], 4)], 1).unwrap();
    let (y2, _) = run(&layer, &changed.into(), Some(&params));
    let first = |d: &Data| d.as_tensor("y").unwrap().slice(1, 0, 4).unwrap().to_vec();
    assert_eq!(first(&y), first(&y2));
}

#[test]
fn a_query_masked_whole_gets_the_output_bias_not_nan() {
    let layer = MultiHeadAttention::new(2, 3);
    let (q, v) = (randn(&[1, 2, 4], 5), randn(&[1, 3, 4], 6));
    let mask = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[1, 2, 3]).unwrap();
    let x: Data = [("query", q), ("value", v), ("attention_mask", mask)]
        .into_iter()
        .collect();
    let (_, mut params) = run(&layer, &x, None);
    let bias = Tensor::from(vec![0.5f32, -1.0, 2.0, 0.25]);
    params.insert("multi_head_attention/attention_output/bias", bias.clone());
    let (y, _) = run(&layer, &x, Some(&params));
    let y = y.as_tensor("y").unwrap().to_vec();
    assert_eq!(&y[..4], &bias.to_vec()[..]);
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn inputs_of_the_wrong_structure_or_rank_are_errors_naming_the_layer() {
    let layer = MultiHeadAttention::new(2, 3);
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    let err = ctx
        .call(&layer, &Tensor::ones(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("multi_head_attention") && err.contains("[2, 3]"),
        "{err}"
    );
    let three: Data = (
        Tensor::ones(&[1, 2, 3]),
        Tensor::ones(&[1, 2, 3]),
        Tensor::ones(&[1, 2, 3]),
    )
        .into();
    assert!(ctx.call_data(&layer, &three).is_ok());
    let unknown: Data = [
        ("query", Tensor::ones(&[1, 2, 3])),
        ("values", Tensor::ones(&[1, 2, 3])),
    ]
    .into_iter()
    .collect();
    let err = ctx.call_data(&layer, &unknown).unwrap_err().to_string();
    assert!(err.contains("`query`, `value`"), "{err}");
}

#[test]
fn an_attention_model_trains_saves_and_loads_exactly() {
    // Predict each sequence's reversed first feature from the whole sequence.
    let x = randn(&[32, 6, 4], 7);
    let y = x
        .slice(2, 0, 1)
        .unwrap()
        .reshape(&[32, 6])
        .unwrap()
        .mul_scalar(-1.0);
    let model = || {
        Sequential::new()
            .layer(MultiHeadAttention::new(2, 4))
            .layer(Flatten)
            .layer(Linear::new(6))
    };
    let mut runner = Runner::for_module(model())
        .loss(MeanSquaredError)
        .optimizer(Adam::new(1e-2))
        .seed(1)
        .build()
        .unwrap();
    let history = runner
        .fit(
            x.clone(),
            y.clone(),
            FitOptions {
                epochs: 30,
                batch_size: 8,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
    let loss = history.get("loss").unwrap();
    assert!(loss[29] < 0.5 * loss[0], "{loss:?}");
    let rows = runner.summary_rows(x.slice(0, 0, 2).unwrap()).unwrap();
    assert!(
        rows.iter().any(|r| r.kind == "MultiHeadAttention"),
        "{rows:?}"
    );
    let dir = std::env::temp_dir().join(format!("elegy-attention-{}", std::process::id()));
    runner.save(&dir).unwrap();
    let mut loaded = Runner::for_module(model())
        .loss(MeanSquaredError)
        .optimizer(Adam::new(1e-2))
        .seed(1)
        .build()
        .unwrap();
    loaded.load(&dir).unwrap();
    assert_eq!(loaded.states(), runner.states());
    let a = runner.predict(x.clone(), Default::default()).unwrap();
    let b = loaded.predict(x, Default::default()).unwrap();
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&dir);
}
