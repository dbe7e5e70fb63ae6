//! R2Score against Keras 3's numbers over two streamed batches (tests/reference/keras_r2.py),
//! and by hand.

use elegy::Tensor;
use elegy::metrics::{Metric, R2Aggregation, R2Score};
use serde_json::Value;

const KERAS: &str = include_str!("reference/keras_r2.json");

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn r2_score_matches_keras_over_streamed_batches() {
    let reference: Value = serde_json::from_str(KERAS).unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let metric = R2Score {
            class_aggregation: match case["class_aggregation"].as_str().unwrap() {
                "uniform_average" => R2Aggregation::UniformAverage,
                _ => R2Aggregation::VarianceWeightedAverage,
            },
            num_regressors: case["num_regressors"].as_u64().unwrap() as usize,
        };
        let mut state = metric.init();
        for batch in case["batches"].as_array().unwrap() {
            let shape: Vec<usize> = batch["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let y_true = Tensor::from_vec(floats(&batch["y_true"]), &shape).unwrap();
            let y_pred = Tensor::from_vec(floats(&batch["y_pred"]), &shape).unwrap();
            let weights = batch["sample_weight"]
                .as_array()
                .map(|_| Tensor::from(floats(&batch["sample_weight"])));
            state = metric
                .update(&state, &y_true, &y_pred, weights.as_ref())
                .unwrap();
        }
        let got = metric.result(&state).unwrap();
        let want = case["result"].as_f64().unwrap() as f32;
        // Keras sums in float32, we in f64: 1e-5.
        assert!(
            (got - want).abs() < 1e-5,
            "{got} against Keras' {want} ({metric:?})"
        );
    }
}

#[test]
fn r2_is_one_for_a_perfect_fit_zero_for_the_mean_and_zero_without_variance() {
    let metric = R2Score::default();
    let y = Tensor::from(vec![1.0f32, 2.0, 3.0, 4.0]);
    let perfect = metric.update(&metric.init(), &y, &y, None).unwrap();
    assert!((metric.result(&perfect).unwrap() - 1.0).abs() < 1e-7);
    let mean = Tensor::full(&[4], 2.5);
    let state = metric.update(&metric.init(), &y, &mean, None).unwrap();
    assert!(metric.result(&state).unwrap().abs() < 1e-7);
    let flat = Tensor::full(&[3], 1.0);
    let state = metric
        .update(&metric.init(), &flat, &y.slice(0, 0, 3).unwrap(), None)
        .unwrap();
    assert_eq!(metric.result(&state).unwrap(), 0.0);
    assert_eq!(metric.result(&metric.init()).unwrap(), 0.0);
    let two = Tensor::zeros(&[2, 2]);
    let err = metric
        .update(&state, &two, &two, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 outputs") && err.contains("1"), "{err}");
}
