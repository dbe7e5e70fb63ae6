//! The streaming metrics, each against values worked out by hand (the arithmetic is in the
//! comments), with sample weights, edge cases, and batches streamed into one epoch value.

use elegy::Tensor;
use elegy::metrics::{
    Accuracy, Auc, BinaryAccuracy, CategoricalAccuracy, F1Score, Mean, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredError, Metric, Precision, Recall, RootMeanSquaredError,
    SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy,
};

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn v(values: &[f32]) -> Tensor {
    Tensor::from(values.to_vec())
}

/// One batch: targets, predictions and optional sample weights.
type Batch<'a> = (&'a Tensor, &'a Tensor, Option<&'a Tensor>);

/// The metric's value after `batches`, in order, from a fresh state.
fn stream(metric: &dyn Metric, batches: &[Batch<'_>]) -> f32 {
    let mut state = metric.init();
    for &(y_true, y_pred, w) in batches {
        state = metric.update(&state, y_true, y_pred, w).unwrap();
    }
    metric.result(&state).unwrap()
}

/// The metric's value over one batch.
fn once(metric: &dyn Metric, y_true: &Tensor, y_pred: &Tensor, w: Option<&Tensor>) -> f32 {
    stream(metric, &[(y_true, y_pred, w)])
}

fn assert_close(actual: f32, expected: f64) {
    assert!(
        (actual as f64 - expected).abs() <= 1e-6,
        "{actual} != {expected}"
    );
}

/// The error of updating `metric` with these inputs.
fn error(metric: &dyn Metric, y_true: &Tensor, y_pred: &Tensor, w: Option<&Tensor>) -> String {
    metric
        .update(&metric.init(), y_true, y_pred, w)
        .unwrap_err()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Every metric

/// Each metric with inputs it accepts: `[4, ...]` targets and predictions and 4 sample weights,
/// made of dyadic values so that every partial sum is exact in `f32`.
fn every_metric_with_inputs() -> Vec<(Box<dyn Metric>, Tensor, Tensor, Tensor)> {
    let w = v(&[1.0, 2.0, 3.0, 1.0]);
    let reg_true = t(&[1.0, 1.0, 2.0, 4.0, 1.0, 1.0, 4.0, 2.0], &[4, 2]);
    let reg_pred = t(&[0.5, 1.0, 2.0, 3.0, 0.0, 1.5, 4.0, 4.0], &[4, 2]);
    let one_hot = t(&[0., 1., 0., 1., 0., 0., 0., 0., 1., 0., 1., 0.], &[4, 3]);
    let labels = v(&[1.0, 0.0, 2.0, 1.0]);
    let scores = t(
        &[
            0.25, 0.5, 0.25, 0.25, 0.5, 0.25, 0.5, 0.25, 0.25, 0.0, 0.75, 0.25,
        ],
        &[4, 3],
    );
    let binary_true = v(&[1.0, 0.0, 1.0, 1.0]);
    let binary_pred = v(&[0.75, 0.75, 0.25, 1.0]);
    let reg = |m: Box<dyn Metric>| (m, reg_true.clone(), reg_pred.clone(), w.clone());
    let cat = |m: Box<dyn Metric>| (m, one_hot.clone(), scores.clone(), w.clone());
    let sparse = |m: Box<dyn Metric>| (m, labels.clone(), scores.clone(), w.clone());
    let bin = |m: Box<dyn Metric>| (m, binary_true.clone(), binary_pred.clone(), w.clone());
    vec![
        reg(Box::new(Mean)),
        reg(Box::new(MeanAbsoluteError)),
        reg(Box::new(MeanSquaredError)),
        reg(Box::new(RootMeanSquaredError)),
        reg(Box::new(MeanAbsolutePercentageError)),
        reg(Box::new(Accuracy)),
        bin(Box::<BinaryAccuracy>::default()),
        cat(Box::new(CategoricalAccuracy)),
        sparse(Box::new(SparseCategoricalAccuracy)),
        cat(Box::new(TopKCategoricalAccuracy { k: 2 })),
        sparse(Box::new(SparseTopKCategoricalAccuracy { k: 2 })),
        bin(Box::<Precision>::default()),
        bin(Box::<Recall>::default()),
        bin(Box::<F1Score>::default()),
        bin(Box::<Auc>::default()),
    ]
}

#[test]
fn every_metric_is_logged_under_its_keras_name() {
    let names: Vec<String> = every_metric_with_inputs()
        .iter()
        .map(|(m, ..)| m.name())
        .collect();
    assert_eq!(
        names,
        [
            "mean",
            "mean_absolute_error",
            "mean_squared_error",
            "root_mean_squared_error",
            "mean_absolute_percentage_error",
            "accuracy",
            "binary_accuracy",
            "categorical_accuracy",
            "sparse_categorical_accuracy",
            "top_k_categorical_accuracy",
            "sparse_top_k_categorical_accuracy",
            "precision",
            "recall",
            "f1_score",
            "auc",
        ]
    );
}

#[test]
fn every_metric_is_zero_over_no_samples() {
    for (metric, y_true, y_pred, _) in every_metric_with_inputs() {
        let name = metric.name();
        assert_eq!(metric.result(&metric.init()).unwrap(), 0.0, "{name}");
        let (none_true, none_pred) = (
            y_true.slice(0, 0, 0).unwrap(),
            y_pred.slice(0, 0, 0).unwrap(),
        );
        assert_eq!(once(&*metric, &none_true, &none_pred, None), 0.0, "{name}");
    }
}

#[test]
fn every_metric_streams_two_batches_to_exactly_the_one_batch_value() {
    for (metric, y_true, y_pred, w) in every_metric_with_inputs() {
        let whole = once(&*metric, &y_true, &y_pred, Some(&w));
        let half = |x: &Tensor, a, b| x.slice(0, a, b).unwrap();
        let (t1, p1, w1) = (half(&y_true, 0, 2), half(&y_pred, 0, 2), half(&w, 0, 2));
        let (t2, p2, w2) = (half(&y_true, 2, 4), half(&y_pred, 2, 4), half(&w, 2, 4));
        let streamed = stream(&*metric, &[(&t1, &p1, Some(&w1)), (&t2, &p2, Some(&w2))]);
        assert_eq!(streamed, whole, "{}", metric.name());
    }
}

#[test]
fn every_metric_rejects_a_sample_weight_of_the_wrong_length_naming_itself() {
    for (metric, y_true, y_pred, _) in every_metric_with_inputs() {
        let name = metric.name();
        let err = error(&*metric, &y_true, &y_pred, Some(&v(&[1.0, 2.0, 3.0])));
        assert!(
            err.starts_with(&format!("{name}: sample_weight of shape [3]")),
            "{err}"
        );
        assert!(err.contains("expected [4]"), "{err}");
    }
}

#[test]
fn a_named_metric_is_logged_under_its_new_name_and_computes_the_same() {
    let y_true = v(&[1.0, 0.0, 1.0]);
    let y_pred = v(&[0.9, 0.8, 0.2]);
    let named = Precision::default().named("precision_at_half");
    assert_eq!(named.name(), "precision_at_half");
    assert_eq!(
        once(&named, &y_true, &y_pred, None),
        once(&Precision::default(), &y_true, &y_pred, None)
    );
}

// ---------------------------------------------------------------------------------------------
// Mean and regression

#[test]
fn mean_is_the_weighted_mean_of_each_samples_mean_prediction() {
    // Sample means 2, 6, 2 with weights 1, 2, 0: (2 + 12 + 0) / 3 = 14/3.
    let y_pred = t(&[1.0, 3.0, 5.0, 7.0, 2.0, 2.0], &[3, 2]);
    let w = v(&[1.0, 2.0, 0.0]);
    assert_close(once(&Mean, &y_pred, &y_pred, Some(&w)), 14.0 / 3.0);
    // Unweighted: (2 + 6 + 2) / 3.
    assert_close(once(&Mean, &y_pred, &y_pred, None), 10.0 / 3.0);
}

#[test]
fn mean_absolute_error_averages_each_samples_errors_then_weights_samples() {
    // Errors |0 - 0.5|, |1 - 1| -> 0.25; |1 - 0|, |1 - 0.5| -> 0.75.
    let y_true = t(&[0.0, 1.0, 1.0, 1.0], &[2, 2]);
    let y_pred = t(&[0.5, 1.0, 0.0, 0.5], &[2, 2]);
    assert_close(once(&MeanAbsoluteError, &y_true, &y_pred, None), 0.5);
    // Weights 3, 1: (3 * 0.25 + 0.75) / 4 = 0.375.
    let w = v(&[3.0, 1.0]);
    assert_close(once(&MeanAbsoluteError, &y_true, &y_pred, Some(&w)), 0.375);
}

#[test]
fn mean_squared_error_averages_each_samples_squares_then_weights_samples() {
    // Squares 0.25, 0 -> 0.125; 1, 0.25 -> 0.625; mean 0.375.
    let y_true = t(&[0.0, 1.0, 1.0, 1.0], &[2, 2]);
    let y_pred = t(&[0.5, 1.0, 0.0, 0.5], &[2, 2]);
    assert_close(once(&MeanSquaredError, &y_true, &y_pred, None), 0.375);
    // Weights 3, 1: (3 * 0.125 + 0.625) / 4 = 0.25.
    let w = v(&[3.0, 1.0]);
    assert_close(once(&MeanSquaredError, &y_true, &y_pred, Some(&w)), 0.25);
}

#[test]
fn root_mean_squared_error_is_the_root_of_the_epochs_mse_not_a_mean_of_batch_roots() {
    // Batch 1: errors 0, 0 (RMSE 0); batch 2: error 2 (RMSE 2). Mean of batch roots: 1.
    // Over the epoch: sqrt((0 + 0 + 4) / 3) = sqrt(4/3) = 1.1547.
    let (t1, p1) = (v(&[0.0, 0.0]), v(&[0.0, 0.0]));
    let (t2, p2) = (v(&[0.0]), v(&[2.0]));
    let rmse = RootMeanSquaredError;
    let epoch = stream(&rmse, &[(&t1, &p1, None), (&t2, &p2, None)]);
    assert_close(epoch, (4.0f64 / 3.0).sqrt());
    let batch_mean = (once(&rmse, &t1, &p1, None) + once(&rmse, &t2, &p2, None)) / 2.0;
    assert_eq!(batch_mean, 1.0);
    // The same data in one batch gives the same value.
    assert_eq!(
        epoch,
        once(&rmse, &v(&[0.0, 0.0, 0.0]), &v(&[0.0, 0.0, 2.0]), None)
    );
}

#[test]
fn root_mean_squared_error_weights_the_squares_before_the_root() {
    // Squares 0, 4 with weights 3, 1: sqrt((0 + 4) / 4) = 1.
    let w = v(&[3.0, 1.0]);
    let rmse = once(
        &RootMeanSquaredError,
        &v(&[0.0, 0.0]),
        &v(&[0.0, 2.0]),
        Some(&w),
    );
    assert_close(rmse, 1.0);
}

#[test]
fn mean_absolute_percentage_error_is_relative_to_each_target() {
    // 100 * |2 - 1| / 2 = 50 and 100 * |4 - 5| / 4 = 25: mean 37.5.
    let mape = MeanAbsolutePercentageError;
    assert_close(
        once(
            &mape,
            &t(&[2.0, 4.0], &[2, 1]),
            &t(&[1.0, 5.0], &[2, 1]),
            None,
        ),
        37.5,
    );
    // Weights 1, 3: (50 + 75) / 4 = 31.25.
    let w = v(&[1.0, 3.0]);
    assert_close(
        once(&mape, &v(&[2.0, 4.0]), &v(&[1.0, 5.0]), Some(&w)),
        31.25,
    );
}

#[test]
fn mean_absolute_percentage_error_of_a_zero_target_divides_by_epsilon_not_zero() {
    let mape = MeanAbsolutePercentageError;
    assert_eq!(once(&mape, &v(&[0.0]), &v(&[0.0]), None), 0.0);
    // 100 * |0 - 1e-7| / 1e-7 = 100.
    assert_close(once(&mape, &v(&[0.0]), &v(&[1e-7]), None), 100.0);
}

#[test]
fn targets_of_shape_n_match_predictions_of_shape_n_by_1() {
    let (flat, column) = (v(&[1.0, 2.0]), t(&[1.0, 4.0], &[2, 1]));
    // Errors 0 and 2: MAE 1, either way round.
    assert_close(once(&MeanAbsoluteError, &flat, &column, None), 1.0);
    assert_close(once(&MeanAbsoluteError, &column, &flat, None), 1.0);
}

#[test]
fn targets_and_predictions_of_different_shapes_are_an_error_naming_both() {
    let err = error(
        &MeanAbsoluteError,
        &Tensor::zeros(&[4, 2]),
        &Tensor::zeros(&[4, 3]),
        None,
    );
    assert!(
        err.starts_with("mean_absolute_error: y_true of shape [4, 2] and y_pred of shape [4, 3]"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Accuracy

#[test]
fn accuracy_is_the_fraction_of_elements_equal_to_the_target() {
    // Sample 1 matches 1 of 2 elements (0.5), sample 2 both (1): mean 0.75.
    let y_true = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let y_pred = t(&[1.0, 0.0, 3.0, 4.0], &[2, 2]);
    assert_close(once(&Accuracy, &y_true, &y_pred, None), 0.75);
    // Weights 3, 1: (1.5 + 1) / 4 = 0.625.
    assert_close(
        once(&Accuracy, &y_true, &y_pred, Some(&v(&[3.0, 1.0]))),
        0.625,
    );
}

#[test]
fn binary_accuracy_counts_a_prediction_positive_only_strictly_above_the_threshold() {
    let y_true = v(&[1.0, 0.0, 1.0, 0.0]);
    let y_pred = v(&[0.7, 0.5, 0.4, 0.2]);
    // At 0.5: predicted 1, 0, 0, 0 (0.5 is not above 0.5); correct 1, 1, 0, 1: 3/4.
    assert_close(
        once(&BinaryAccuracy::default(), &y_true, &y_pred, None),
        0.75,
    );
    // At 0.45: predicted 1, 1, 0, 0; correct 1, 0, 0, 1: 2/4.
    let low = BinaryAccuracy { threshold: 0.45 };
    assert_close(once(&low, &y_true, &y_pred, None), 0.5);
    // Weights 1, 1, 2, 4 at 0.5: (1 + 1 + 0 + 4) / 8 = 0.75; at 0.45: (1 + 4) / 8.
    let w = v(&[1.0, 1.0, 2.0, 4.0]);
    assert_close(once(&low, &y_true, &y_pred, Some(&w)), 5.0 / 8.0);
}

#[test]
fn binary_accuracy_of_all_zero_predictions_is_the_weight_of_the_negatives() {
    // Everything is predicted 0: the negatives (weights 2 and 3) are right, of 1 + 2 + 3 + 2.
    let y_true = v(&[1.0, 0.0, 0.0, 1.0]);
    let w = v(&[1.0, 2.0, 3.0, 2.0]);
    let acc = once(
        &BinaryAccuracy::default(),
        &y_true,
        &Tensor::zeros(&[4]),
        Some(&w),
    );
    assert_close(acc, 5.0 / 8.0);
}

#[test]
fn categorical_accuracy_compares_the_argmax_of_scores_and_one_hot_targets() {
    // Targets 1, 0, 2; argmax of the scores 1, 1, 2: correct 1, 0, 1.
    let y_true = t(&[0., 1., 0., 1., 0., 0., 0., 0., 1.], &[3, 3]);
    let y_pred = t(&[0.1, 0.8, 0.1, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4], &[3, 3]);
    assert_close(
        once(&CategoricalAccuracy, &y_true, &y_pred, None),
        2.0 / 3.0,
    );
    // Weights 1, 1, 2: (1 + 0 + 2) / 4.
    let w = v(&[1.0, 1.0, 2.0]);
    assert_close(once(&CategoricalAccuracy, &y_true, &y_pred, Some(&w)), 0.75);
}

#[test]
fn categorical_accuracy_of_all_zero_predictions_predicts_the_first_class() {
    // Every argmax is class 0 (the first of ties): right for the target of class 0 only.
    let y_true = t(&[1., 0., 0., 0., 0., 1.], &[2, 3]);
    let acc = once(&CategoricalAccuracy, &y_true, &Tensor::zeros(&[2, 3]), None);
    assert_close(acc, 0.5);
}

#[test]
fn sparse_categorical_accuracy_compares_the_argmax_with_integer_labels() {
    // Labels 1, 0, 2; argmax 1, 1, 2: correct 1, 0, 1; weights 1, 1, 2 give 3/4.
    let y_pred = t(&[0.1, 0.8, 0.1, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4], &[3, 3]);
    let acc = SparseCategoricalAccuracy;
    assert_close(once(&acc, &v(&[1.0, 0.0, 2.0]), &y_pred, None), 2.0 / 3.0);
    let column = t(&[1.0, 0.0, 2.0], &[3, 1]);
    let w = v(&[1.0, 1.0, 2.0]);
    assert_close(once(&acc, &column, &y_pred, Some(&w)), 0.75);
}

#[test]
fn a_class_absent_from_a_batch_does_not_disturb_the_accuracies() {
    // Batch 1 has only class 0 (correct); batch 2 only class 2 (wrong): 1 of 2 over the epoch.
    let acc = SparseCategoricalAccuracy;
    let (l1, p1) = (v(&[0.0]), t(&[0.9, 0.05, 0.05], &[1, 3]));
    let (l2, p2) = (v(&[2.0]), t(&[0.9, 0.05, 0.05], &[1, 3]));
    assert_close(stream(&acc, &[(&l1, &p1, None), (&l2, &p2, None)]), 0.5);
}

#[test]
fn sparse_labels_outside_the_classes_are_an_error() {
    let y_pred = Tensor::zeros(&[2, 3]);
    let err = error(&SparseCategoricalAccuracy, &v(&[0.0, 3.0]), &y_pred, None);
    assert!(
        err.starts_with(
            "sparse_categorical_accuracy: label 3 of sample 1 is not below the 3 classes"
        ),
        "{err}"
    );
    let err = error(
        &SparseTopKCategoricalAccuracy::default(),
        &v(&[0.5, 1.0]),
        &y_pred,
        None,
    );
    assert!(err.contains("0.5"), "{err}");
    let err = error(
        &SparseCategoricalAccuracy,
        &v(&[0.0, 1.0, 2.0]),
        &y_pred,
        None,
    );
    assert!(err.contains("y_true of shape [3]"), "{err}");
    assert!(err.contains("y_pred [2, 3]"), "{err}");
}

#[test]
fn top_k_accuracy_asks_whether_fewer_than_k_classes_score_above_the_target() {
    // Targets 2, 2, 0 with k = 2:
    // row 1: target scores 0.4, only 0.5 above -> in the top 2;
    // row 2: target scores 0.2, 0.5 and 0.3 above -> not;
    // row 3: target scores 0.2, 0.3 and 0.5 above -> not. Accuracy 1/3.
    let y_pred = t(&[0.1, 0.5, 0.4, 0.5, 0.3, 0.2, 0.2, 0.3, 0.5], &[3, 3]);
    let labels = v(&[2.0, 2.0, 0.0]);
    let one_hot = t(&[0., 0., 1., 0., 0., 1., 1., 0., 0.], &[3, 3]);
    let top2 = TopKCategoricalAccuracy { k: 2 };
    assert_close(once(&top2, &one_hot, &y_pred, None), 1.0 / 3.0);
    let sparse_top2 = SparseTopKCategoricalAccuracy { k: 2 };
    assert_close(once(&sparse_top2, &labels, &y_pred, None), 1.0 / 3.0);
    // Weights 3, 1, 1: 3 / 5.
    let w = v(&[3.0, 1.0, 1.0]);
    assert_close(once(&top2, &one_hot, &y_pred, Some(&w)), 0.6);
    // With k = 3 (or the default 5) every one of 3 classes is in the top k.
    assert_close(
        once(&TopKCategoricalAccuracy::default(), &one_hot, &y_pred, None),
        1.0,
    );
}

#[test]
fn top_k_accuracy_counts_ties_for_the_target_so_all_zero_predictions_are_right() {
    // Nothing scores strictly above the target: Keras' in_top_k counts it in, even for k = 1.
    let one_hot = t(&[0., 0., 1., 1., 0., 0.], &[2, 3]);
    let acc = once(
        &TopKCategoricalAccuracy { k: 1 },
        &one_hot,
        &Tensor::zeros(&[2, 3]),
        None,
    );
    assert_eq!(acc, 1.0);
}

#[test]
fn top_k_accuracy_with_k_zero_is_an_error() {
    let err = error(
        &TopKCategoricalAccuracy { k: 0 },
        &Tensor::zeros(&[2, 3]),
        &Tensor::zeros(&[2, 3]),
        None,
    );
    assert_eq!(
        err,
        "top_k_categorical_accuracy: k must be at least 1 (got 0)"
    );
}

#[test]
fn categorical_metrics_need_a_class_axis() {
    let err = error(&CategoricalAccuracy, &v(&[1.0, 0.0]), &v(&[0.3, 0.7]), None);
    assert!(
        err.starts_with("categorical_accuracy: y_pred of shape [2] has no class axis"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Precision, recall, F1

#[test]
fn precision_recall_and_f1_weight_each_confusion_count_by_sample() {
    // Labels 1, 0, 1; predicted (> 0.5) 1, 1, 0; weights 2, 3, 1:
    // TP = 2, FP = 3, FN = 1. Precision 2/5, recall 2/3, F1 = 2*2 / (2*2 + 3 + 1) = 1/2.
    let (y_true, y_pred, w) = (
        v(&[1.0, 0.0, 1.0]),
        v(&[0.9, 0.8, 0.2]),
        v(&[2.0, 3.0, 1.0]),
    );
    assert_close(once(&Precision::default(), &y_true, &y_pred, Some(&w)), 0.4);
    assert_close(
        once(&Recall::default(), &y_true, &y_pred, Some(&w)),
        2.0 / 3.0,
    );
    assert_close(once(&F1Score::default(), &y_true, &y_pred, Some(&w)), 0.5);
}

#[test]
fn epoch_precision_recall_and_f1_are_exact_over_all_samples_not_means_of_batches() {
    // Batch A: labels 1 1 0 0, scores .9 .8 .7 .1 -> TP 2, FP 1, FN 0:
    //   precision 2/3, recall 1, F1 4/5.
    // Batch B: labels 1 1 1 0, scores .2 .3 .6 .4 -> TP 1, FP 0, FN 2:
    //   precision 1, recall 1/3, F1 2/4.
    // Epoch: TP 3, FP 1, FN 2 -> precision 3/4, recall 3/5, F1 6/9 = 2/3,
    // where the means of batch values are 5/6, 2/3 and 13/20.
    let (ta, pa) = (v(&[1., 1., 0., 0.]), v(&[0.9, 0.8, 0.7, 0.1]));
    let (tb, pb) = (v(&[1., 1., 1., 0.]), v(&[0.2, 0.3, 0.6, 0.4]));
    let all_true = v(&[1., 1., 0., 0., 1., 1., 1., 0.]);
    let all_pred = v(&[0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.6, 0.4]);
    let cases: [(Box<dyn Metric>, f64, f64); 3] = [
        (Box::<Precision>::default(), 3.0 / 4.0, 5.0 / 6.0),
        (Box::<Recall>::default(), 3.0 / 5.0, 2.0 / 3.0),
        (Box::<F1Score>::default(), 2.0 / 3.0, 13.0 / 20.0),
    ];
    for (metric, exact, mean_of_batches) in cases {
        let epoch = stream(&*metric, &[(&ta, &pa, None), (&tb, &pb, None)]);
        assert_close(epoch, exact);
        assert_eq!(epoch, once(&*metric, &all_true, &all_pred, None));
        let batches = (once(&*metric, &ta, &pa, None) + once(&*metric, &tb, &pb, None)) / 2.0;
        assert_close(batches, mean_of_batches);
    }
}

#[test]
fn every_element_of_a_sample_carries_the_samples_weight() {
    // Sample 1 (weight 1): (1, .9) TP, (0, .9) FP. Sample 2 (weight 2): (1, .1) FN, (1, .9) TP.
    // TP = 1 + 2 = 3, FP = 1, FN = 2: precision 3/4, recall 3/5.
    let y_true = t(&[1.0, 0.0, 1.0, 1.0], &[2, 2]);
    let y_pred = t(&[0.9, 0.9, 0.1, 0.9], &[2, 2]);
    let w = v(&[1.0, 2.0]);
    assert_close(
        once(&Precision::default(), &y_true, &y_pred, Some(&w)),
        0.75,
    );
    assert_close(once(&Recall::default(), &y_true, &y_pred, Some(&w)), 0.6);
}

#[test]
fn class_id_measures_one_class_against_the_rest() {
    // Class 1 column: labels 0, 1, 1; scores .4, .7, .2 -> TP 1, FP 0, FN 1:
    // precision 1, recall 1/2, F1 2 / (2 + 0 + 1) = 2/3.
    let y_true = t(&[1., 0., 0., 1., 0., 1.], &[3, 2]);
    let y_pred = t(&[0.6, 0.4, 0.3, 0.7, 0.8, 0.2], &[3, 2]);
    let class_1 = Some(1);
    let precision = Precision {
        class_id: class_1,
        ..Default::default()
    };
    let recall = Recall {
        class_id: class_1,
        ..Default::default()
    };
    let f1 = F1Score {
        class_id: class_1,
        ..Default::default()
    };
    assert_close(once(&precision, &y_true, &y_pred, None), 1.0);
    assert_close(once(&recall, &y_true, &y_pred, None), 0.5);
    assert_close(once(&f1, &y_true, &y_pred, None), 2.0 / 3.0);
}

#[test]
fn a_class_absent_from_a_batch_counts_nothing_and_scores_zero_not_nan() {
    let class_2 = Some(2);
    let precision = Precision {
        class_id: class_2,
        ..Default::default()
    };
    let recall = Recall {
        class_id: class_2,
        ..Default::default()
    };
    let f1 = F1Score {
        class_id: class_2,
        ..Default::default()
    };
    // Batch 1: class 2 is neither a label nor predicted.
    let t1 = t(&[1., 0., 0., 0., 1., 0.], &[2, 3]);
    let p1 = t(&[0.8, 0.1, 0.1, 0.2, 0.7, 0.1], &[2, 3]);
    // Batch 2: class 2 labels 1, 0, 1 with scores .9, .6, .3 -> TP 1, FP 1, FN 1.
    let t2 = t(&[0., 0., 1., 1., 0., 0., 0., 0., 1.], &[3, 3]);
    let p2 = t(&[0.05, 0.05, 0.9, 0.2, 0.2, 0.6, 0.3, 0.4, 0.3], &[3, 3]);
    for metric in [&precision as &dyn Metric, &recall, &f1] {
        assert_eq!(once(metric, &t1, &p1, None), 0.0, "{}", metric.name());
        // The empty batch adds nothing: the epoch is batch 2's 1/2 (F1: 2 / (2 + 1 + 1)).
        let epoch = stream(metric, &[(&t1, &p1, None), (&t2, &p2, None)]);
        assert_close(epoch, 0.5);
    }
}

#[test]
fn all_zero_predictions_give_zero_precision_recall_and_f1() {
    let y_true = v(&[1.0, 0.0, 1.0]);
    let zeros = Tensor::zeros(&[3]);
    for metric in [
        &Precision::default() as &dyn Metric,
        &Recall::default(),
        &F1Score::default(),
    ] {
        assert_eq!(
            once(metric, &y_true, &zeros, None),
            0.0,
            "{}",
            metric.name()
        );
    }
}

#[test]
fn a_class_id_outside_the_classes_is_an_error() {
    let recall = Recall {
        class_id: Some(2),
        ..Default::default()
    };
    let err = error(
        &recall,
        &Tensor::zeros(&[3, 2]),
        &Tensor::zeros(&[3, 2]),
        None,
    );
    assert_eq!(
        err,
        "recall: class_id 2 is not below the 2 classes of y_pred [3, 2]"
    );
}

// ---------------------------------------------------------------------------------------------
// AUC

/// The exact ROC AUC by pair counting (Mann-Whitney): the weighted fraction of (positive,
/// negative) pairs where the positive scores higher, ties counting 1/2.
fn mann_whitney(labels: &[f32], scores: &[f32], weights: &[f32]) -> f64 {
    let (mut right, mut pairs) = (0.0f64, 0.0f64);
    for i in (0..labels.len()).filter(|&i| labels[i] == 1.0) {
        for j in (0..labels.len()).filter(|&j| labels[j] == 0.0) {
            let w = weights[i] as f64 * weights[j] as f64;
            pairs += w;
            right += w * match scores[i].partial_cmp(&scores[j]).unwrap() {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    right / pairs
}

#[test]
fn auc_of_a_small_case_worked_by_hand() {
    // Positives .35 and .8, negatives .1 and .4: of the 4 pairs, .35 > .1, .8 > .1, .8 > .4
    // are ranked right and .35 < .4 wrong: 3/4.
    let auc = once(
        &Auc::default(),
        &v(&[0., 0., 1., 1.]),
        &v(&[0.1, 0.4, 0.35, 0.8]),
        None,
    );
    assert_close(auc, 0.75);
}

#[test]
fn auc_equals_the_exact_pair_counting_auc_when_no_two_scores_share_a_grid_cell() {
    // 200 thresholds cut [0, 1] into cells of width 1/199 ~ 0.005; these scores are at least
    // 0.01 apart, so each sits in its own cell, and the trapezoid over the grid equals the
    // Mann-Whitney statistic exactly. What is left is f32 rounding of the state: 1e-6.
    let labels = [1., 0., 1., 1., 0., 0., 1., 0., 1., 0.];
    let scores = [0.93, 0.81, 0.77, 0.52, 0.64, 0.31, 0.29, 0.12, 0.48, 0.05];
    let weights = [1., 2., 0.5, 1., 3., 1., 2., 1., 1., 0.25];
    let (y_true, y_pred, w) = (v(&labels), v(&scores), v(&weights));
    let exact = mann_whitney(&labels, &scores, &weights);
    assert_close(once(&Auc::default(), &y_true, &y_pred, Some(&w)), exact);
    let unweighted = mann_whitney(&labels, &scores, &[1.0; 10]);
    assert_close(once(&Auc::default(), &y_true, &y_pred, None), unweighted);
}

#[test]
fn auc_treats_scores_in_one_grid_cell_as_ties_within_the_documented_bound() {
    // 3 thresholds: -1e-7, 0.5, 1 + 1e-7. Positives .7 and .8, negatives .1 and .6: every pair
    // is ranked right (exact AUC 1), but .6, .7, .8 share the cell (0.5, 1]:
    // TPR = 1, 1, 0 and FPR = 1, 1/2, 0 at the thresholds, and the trapezoid gives
    // (1 - 1/2)(1 + 1)/2 + (1/2 - 0)(1 + 0)/2 = 3/4: the two pairs in one cell count 1/2 each.
    let (labels, scores) = ([1., 1., 0., 0.], [0.7, 0.8, 0.1, 0.6]);
    let coarse = Auc {
        num_thresholds: 3,
        ..Default::default()
    };
    assert_close(once(&coarse, &v(&labels), &v(&scores), None), 0.75);
    assert_eq!(mann_whitney(&labels, &scores, &[1.0; 4]), 1.0);
}

#[test]
fn auc_on_the_default_grid_is_within_half_the_fraction_of_close_pairs_of_the_exact_auc() {
    // 200 scores spread over [0, 1] by the golden ratio, some pairs closer than a cell (1/199).
    // Pairs farther apart than a cell are ranked as exactly; each closer pair can move the AUC
    // by at most half its share of the pair weight.
    let n = 200;
    let scores: Vec<f32> = (0..n).map(|i| (i as f32 * 0.618_034).fract()).collect();
    let labels: Vec<f32> = (0..n)
        .map(|i| ((i as f32 * 0.414_214).fract() < scores[i]) as u8 as f32)
        .collect();
    let weights: Vec<f32> = (0..n).map(|i| 1.0 + (i % 3) as f32).collect();
    let auc = once(
        &Auc::default(),
        &v(&labels),
        &v(&scores),
        Some(&v(&weights)),
    );
    let exact = mann_whitney(&labels, &scores, &weights);
    let (mut close, mut pairs) = (0.0f64, 0.0f64);
    for i in (0..n).filter(|&i| labels[i] == 1.0) {
        for j in (0..n).filter(|&j| labels[j] == 0.0) {
            let w = weights[i] as f64 * weights[j] as f64;
            pairs += w;
            if ((scores[i] - scores[j]).abs() as f64) < 1.0 / 199.0 {
                close += w;
            }
        }
    }
    let bound = 0.5 * close / pairs;
    assert!(bound > 0.0, "the case should have close pairs");
    assert!(
        (auc as f64 - exact).abs() <= bound + 1e-6,
        "auc {auc}, exact {exact}, bound {bound}"
    );
}

#[test]
fn epoch_auc_is_exact_over_all_samples_not_a_mean_of_batches() {
    // Batch A: negative .5, positive .6 -> AUC 1. Batch B: negative .1, positive .2 -> AUC 1.
    // Over both: positives .6, .2 against negatives .5, .1: .2 < .5 is wrong, 3 of 4 pairs.
    let (ta, pa) = (v(&[0., 1.]), v(&[0.5, 0.6]));
    let (tb, pb) = (v(&[0., 1.]), v(&[0.1, 0.2]));
    let auc = Auc::default();
    assert_close(once(&auc, &ta, &pa, None), 1.0);
    assert_close(once(&auc, &tb, &pb, None), 1.0);
    let epoch = stream(&auc, &[(&ta, &pa, None), (&tb, &pb, None)]);
    assert_close(epoch, 0.75);
    assert_eq!(
        epoch,
        once(&auc, &v(&[0., 1., 0., 1.]), &v(&[0.5, 0.6, 0.1, 0.2]), None)
    );
}

#[test]
fn auc_of_all_zero_predictions_is_one_half() {
    // Every pair is a tie: the curve is the diagonal.
    let auc = once(
        &Auc::default(),
        &v(&[1., 0., 1., 0.]),
        &Tensor::zeros(&[4]),
        None,
    );
    assert_close(auc, 0.5);
}

#[test]
fn auc_with_one_class_absent_is_zero() {
    // No negatives: the false-positive rate is undefined everywhere, so there is no area.
    let auc = once(&Auc::default(), &v(&[1., 1.]), &v(&[0.2, 0.9]), None);
    assert_eq!(auc, 0.0);
}

#[test]
fn auc_from_logits_equals_auc_of_the_sigmoid_probabilities() {
    let labels = v(&[1., 0., 1., 0., 0.]);
    let logits = v(&[2.0, -1.0, 0.3, 0.5, -3.0]);
    let from_logits = Auc {
        from_logits: true,
        ..Default::default()
    };
    let probabilities = logits.sigmoid();
    assert_close(
        once(&from_logits, &labels, &logits, None),
        once(&Auc::default(), &labels, &probabilities, None) as f64,
    );
    // Positives 2.0, 0.3 against negatives -1, 0.5, -3: 5 of 6 pairs right.
    assert_close(once(&from_logits, &labels, &logits, None), 5.0 / 6.0);
}

#[test]
fn auc_with_fewer_than_two_thresholds_is_an_error() {
    let auc = Auc {
        num_thresholds: 1,
        ..Default::default()
    };
    let err = error(&auc, &v(&[1.0]), &v(&[0.5]), None);
    assert_eq!(err, "auc: num_thresholds must be at least 2 (got 1)");
}

// ---------------------------------------------------------------------------------------------
// Losses as metrics, against Keras 3

/// Keras 3.15 (JAX backend, float32): each metric's result after each of two batches
/// (`tests/reference/keras_metrics.py` made them).
const KERAS: &str = include_str!("reference/keras_metrics.json");

fn keras_loss_metric(case: &str) -> Box<dyn Metric> {
    use elegy::losses;
    use elegy::metrics::{Hinge, KLDivergence, LogCoshError, LossMetric, Poisson};
    match case {
        "kl_divergence" => Box::new(KLDivergence),
        "poisson" => Box::new(Poisson),
        "logcosh" => Box::new(LogCoshError),
        "hinge" => Box::new(Hinge),
        "binary_crossentropy" => Box::new(LossMetric::new(losses::BinaryCrossentropy::default())),
        "sparse_categorical_crossentropy_per_position" => Box::new(LossMetric::new(
            losses::SparseCategoricalCrossentropy::from_logits(),
        )),
        other => panic!("no metric for Keras case {other}"),
    }
}

fn json_tensor(values: &serde_json::Value, shape: &serde_json::Value) -> Tensor {
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
    t(&values, &shape)
}

#[test]
fn losses_streamed_as_metrics_match_keras_batch_after_batch() {
    // Relative 1e-6 (absolute floor 1e-6): both sides sum in a different order, Keras in f32.
    let keras: serde_json::Value = serde_json::from_str(KERAS).unwrap();
    let cases = keras["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 6);
    for (case, c) in cases {
        let metric = keras_loss_metric(case);
        assert_eq!(metric.name(), c["name"].as_str().unwrap());
        let mut state = metric.init();
        for (i, b) in c["batches"].as_array().unwrap().iter().enumerate() {
            let y_true = json_tensor(&b["y_true"], &b["y_true_shape"]);
            let y_pred = json_tensor(&b["y_pred"], &b["y_pred_shape"]);
            let w = (!b["sample_weight"].is_null())
                .then(|| json_tensor(&b["sample_weight"], &b["sample_weight_shape"]));
            state = metric.update(&state, &y_true, &y_pred, w.as_ref()).unwrap();
            let got = metric.result(&state).unwrap() as f64;
            let want = b["result"].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-6f64.max(1e-6 * want.abs()),
                "{case} after batch {}: {got} != Keras' {want}",
                i + 1
            );
        }
    }
}

#[test]
fn a_loss_metric_leaves_ignored_positions_out_of_its_mean() {
    use elegy::losses::{SampleLoss, SparseCategoricalCrossentropy};
    use elegy::metrics::LossMetric;
    let loss = SparseCategoricalCrossentropy {
        from_logits: true,
        ignore_class: Some(-1),
    };
    let labels = t(&[0.0, -1.0, 2.0, 1.0], &[2, 2]);
    let logits = t(
        &[1.0, 0.0, -1.0, 0.5, 0.5, 0.5, 0.0, 2.0, 1.0, -1.0, 1.0, 0.0],
        &[2, 2, 3],
    );
    let v = loss.values(&labels, &logits).unwrap().to_vec();
    // Sample 0 has one position that counts, sample 1 two: (v0 / 2 + (v2 + v3) / 2) / (1/2 + 1).
    let expected = (v[0] / 2.0 + (v[2] + v[3]) / 2.0) / 1.5;
    let got = once(&LossMetric::new(loss), &labels, &logits, None);
    assert_close(got, expected as f64);
}

#[test]
fn a_loss_metric_rejects_weights_of_neither_samples_nor_positions() {
    use elegy::losses::MeanSquaredError;
    use elegy::metrics::LossMetric;
    let err = error(
        &LossMetric::new(MeanSquaredError),
        &Tensor::zeros(&[2, 3]),
        &Tensor::zeros(&[2, 3]),
        Some(&v(&[1.0, 1.0, 1.0])),
    );
    assert!(
        err.contains("[3]") && err.contains("mean_squared_error"),
        "{err}"
    );
}
