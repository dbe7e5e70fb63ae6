//! FBetaScore, IoU, MeanIoU, BinaryIoU and AUC's PR curve and multi_label, against Keras 3's
//! numbers over two streamed batches (tests/reference/keras_metrics_more.py) within 2e-6, and
//! by hand.

use elegy::Tensor;
use elegy::metrics::{Auc, AucCurve, BinaryIoU, FBetaAverage, FBetaScore, IoU, MeanIoU, Metric};
use serde_json::Value;

const KERAS: &str = include_str!("reference/keras_metrics_more.json");

fn tensor(values: &Value, shape: &Value) -> Tensor {
    let values: Vec<f32> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let shape: Vec<usize> = shape
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    Tensor::from_vec(values, &shape).unwrap()
}

fn ids(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap() as usize)
        .collect()
}

/// The metric a case of the reference describes.
fn metric_of(kind: &str, o: &Value) -> Box<dyn Metric> {
    match kind {
        "fbeta" => Box::new(FBetaScore {
            beta: o["beta"].as_f64().unwrap() as f32,
            threshold: o["threshold"].as_f64().map(|t| t as f32),
            average: match (o["average"].as_str(), o["class"].as_u64()) {
                (Some("macro"), _) => FBetaAverage::Macro,
                (Some("micro"), _) => FBetaAverage::Micro,
                (Some("weighted"), _) => FBetaAverage::Weighted,
                (None, Some(c)) => FBetaAverage::Class(c as usize),
                other => panic!("unknown average {other:?}"),
            },
        }),
        "mean_iou" => {
            let m = MeanIoU::new(o["num_classes"].as_u64().unwrap() as usize);
            Box::new(match o["ignore_class"].as_i64() {
                Some(c) => m.ignore_class(c),
                None => m,
            })
        }
        "iou" => Box::new(IoU::new(
            o["num_classes"].as_u64().unwrap() as usize,
            ids(&o["target_class_ids"]),
        )),
        "one_hot_iou" => Box::new(IoU::one_hot(
            o["num_classes"].as_u64().unwrap() as usize,
            ids(&o["target_class_ids"]),
        )),
        "binary_iou" => Box::new(BinaryIoU {
            target_class_ids: ids(&o["target_class_ids"]),
            threshold: o["threshold"].as_f64().unwrap() as f32,
        }),
        "auc" => Box::new(Auc {
            num_thresholds: o["num_thresholds"].as_u64().unwrap() as usize,
            curve: match o["curve"].as_str().unwrap() {
                "PR" => AucCurve::Pr,
                _ => AucCurve::Roc,
            },
            multi_label: o["multi_label"].as_bool().unwrap(),
            ..Default::default()
        }),
        other => panic!("unknown metric {other}"),
    }
}

#[test]
fn the_new_metrics_match_keras_over_streamed_batches() {
    let reference: Value = serde_json::from_str(KERAS).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 18);
    for case in cases {
        let metric = metric_of(case["kind"].as_str().unwrap(), &case["options"]);
        let mut state = metric.init();
        for b in case["batches"].as_array().unwrap() {
            let y_true = tensor(&b["y_true"], &b["true_shape"]);
            let y_pred = tensor(&b["y_pred"], &b["pred_shape"]);
            let weight = (!b["sample_weight"].is_null())
                .then(|| tensor(&b["sample_weight"], &b["weight_shape"]));
            state = metric
                .update(&state, &y_true, &y_pred, weight.as_ref())
                .unwrap();
        }
        let ours = metric.result(&state).unwrap() as f64;
        let keras = case["result"].as_f64().unwrap();
        assert!(
            (ours - keras).abs() < 2e-6,
            "{} {}: ours {ours}, Keras {keras}",
            case["kind"],
            case["options"]
        );
    }
}

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn once(metric: &dyn Metric, y_true: &Tensor, y_pred: &Tensor, w: Option<&Tensor>) -> f32 {
    let state = metric.update(&metric.init(), y_true, y_pred, w).unwrap();
    metric.result(&state).unwrap()
}

#[test]
fn fbeta_by_hand() {
    // Argmax predictions [0, 1, 1] against classes [0, 1, 0]: class 0 TP 1 FN 1 (P 1, R 1/2),
    // class 1 TP 1 FP 1 (P 1/2, R 1).
    let y_true = t(&[1., 0., 0., 1., 1., 0.], &[3, 2]);
    let y_pred = t(&[0.9, 0.1, 0.3, 0.7, 0.2, 0.8], &[3, 2]);
    let f = |beta: f64, p: f64, r: f64| (1.0 + beta * beta) * p * r / (beta * beta * p + r);
    let beta2 = FBetaScore {
        beta: 2.0,
        average: FBetaAverage::Class(0),
        ..Default::default()
    };
    assert!((once(&beta2, &y_true, &y_pred, None) as f64 - f(2.0, 1.0, 0.5)).abs() < 1e-6);
    // Micro: TP 2, FP 1, FN 1 over the classes.
    let micro = FBetaScore {
        average: FBetaAverage::Micro,
        ..Default::default()
    };
    assert!((once(&micro, &y_true, &y_pred, None) as f64 - 2.0 / 3.0).abs() < 1e-6);
    // Weighted by the weight of positives: class 0 has 2 of 3.
    let w = t(&[1.0, 1.0, 0.0], &[3]);
    let weighted = FBetaScore {
        average: FBetaAverage::Weighted,
        ..Default::default()
    };
    // With the third sample weightless: both classes perfect.
    assert!((once(&weighted, &y_true, &y_pred, Some(&w)) - 1.0).abs() < 1e-6);
    // An all-zero row predicts nothing (Keras' rule), not every class.
    let zeros = t(&[0.0, 0.0], &[1, 2]);
    let state = micro
        .update(&micro.init(), &t(&[1.0, 0.0], &[1, 2]), &zeros, None)
        .unwrap();
    assert_eq!(
        state.require("false_negatives").unwrap().to_vec(),
        [1.0, 0.0]
    );
    assert_eq!(
        state.require("false_positives").unwrap().to_vec(),
        [0.0, 0.0]
    );
}

#[test]
fn fbeta_rejects_bad_options_and_shapes() {
    let f = FBetaScore::default();
    let err = f
        .update(
            &f.init(),
            &t(&[1.0, 0.0], &[2]),
            &t(&[0.5, 0.5], &[2]),
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("[samples, classes]"), "{err}");
    let bad = FBetaScore {
        beta: 0.0,
        ..Default::default()
    };
    let y = t(&[1.0, 0.0], &[1, 2]);
    assert!(
        bad.update(&bad.init(), &y, &y, None)
            .unwrap_err()
            .to_string()
            .contains("beta")
    );
    let state = f.update(&f.init(), &y, &y, None).unwrap();
    let three = t(&[1.0, 0.0, 0.0], &[1, 3]);
    let err = f
        .update(&state, &three, &three, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("earlier batches had 2"), "{err}");
    let class9 = FBetaScore {
        average: FBetaAverage::Class(9),
        ..Default::default()
    };
    assert!(
        class9
            .result(&state)
            .unwrap_err()
            .to_string()
            .contains("Class(9)")
    );
    assert_eq!(f.result(&f.init()).unwrap(), 0.0);
}

#[test]
fn iou_by_hand_with_weights_per_sample_and_per_position() {
    // Two samples of two positions: true [[0, 1], [1, 1]], predicted [[0, 0], [1, 1]].
    let y_true = t(&[0., 1., 1., 1.], &[2, 2]);
    let y_pred = t(&[0., 0., 1., 1.], &[2, 2]);
    let miou = MeanIoU::new(2);
    // Class 0: TP 1, FP 1 -> 1/2; class 1: TP 2, FN 1 -> 2/3.
    assert!((once(&miou, &y_true, &y_pred, None) - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-6);
    // Sample 0 weightless: only class 1, TP 2 -> 1 (class 0 never occurs and is left out).
    let per_sample = t(&[0.0, 1.0], &[2]);
    assert!((once(&miou, &y_true, &y_pred, Some(&per_sample)) - 1.0).abs() < 1e-6);
    // The miss weighted 0.5 per position: class 0 TP 1 / (1 + 0.5), class 1 TP 2 / 2.5.
    let per_position = t(&[1.0, 0.5, 1.0, 1.0], &[2, 2]);
    let expected = (1.0 / 1.5 + 2.0 / 2.5) / 2.0;
    assert!((once(&miou, &y_true, &y_pred, Some(&per_position)) - expected).abs() < 1e-6);
    // Scores instead of ids.
    let scores = t(&[0.9, 0.1, 0.6, 0.4, 0.2, 0.8, 0.3, 0.7], &[2, 2, 2]);
    assert!(
        (once(&MeanIoU::from_scores(2), &y_true, &scores, None) - (0.5 + 2.0 / 3.0) / 2.0).abs()
            < 1e-6
    );
}

#[test]
fn iou_names_a_label_out_of_range_and_skips_the_ignored_class() {
    let miou = MeanIoU::new(2);
    let err = miou
        .update(&miou.init(), &t(&[0., 2.], &[2]), &t(&[0., 1.], &[2]), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("true class 2") && err.contains("sample 1"),
        "{err}"
    );
    let ignoring = MeanIoU::new(2).ignore_class(-1);
    let v = once(
        &ignoring,
        &t(&[0., -1., 1.], &[3]),
        &t(&[0., 1., 1.], &[3]),
        None,
    );
    assert!((v - 1.0).abs() < 1e-6, "{v}");
    let bad = IoU::new(2, vec![3]);
    assert!(
        bad.update(&bad.init(), &t(&[0.], &[1]), &t(&[0.], &[1]), None)
            .unwrap_err()
            .to_string()
            .contains("target class 3")
    );
    assert_eq!(miou.result(&miou.init()).unwrap(), 0.0);
}

#[test]
fn pr_auc_of_a_perfect_ranking_is_one_and_multi_label_averages_the_labels() {
    let pr = Auc {
        curve: AucCurve::Pr,
        ..Default::default()
    };
    let labels = t(&[1., 0., 1., 0.], &[4]);
    let perfect = t(&[0.9, 0.1, 0.8, 0.3], &[4]);
    assert!((once(&pr, &labels, &perfect, None) - 1.0).abs() < 1e-5);
    // Two labels: the first ranked perfectly (ROC 1), the second inverted (ROC 0): mean 1/2.
    let multi = Auc {
        multi_label: true,
        ..Default::default()
    };
    let y_true = t(&[1., 1., 0., 0.], &[2, 2]);
    let y_pred = t(&[0.9, 0.1, 0.2, 0.8], &[2, 2]);
    assert!((once(&multi, &y_true, &y_pred, None) - 0.5).abs() < 1e-6);
    // The labels are fixed by the first batch.
    let state = multi.update(&multi.init(), &y_true, &y_pred, None).unwrap();
    let three = t(&[1., 0., 1.], &[1, 3]);
    let err = multi
        .update(&state, &three, &three, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("earlier batches had 2"), "{err}");
    assert_eq!(multi.result(&multi.init()).unwrap(), 0.0);
}
