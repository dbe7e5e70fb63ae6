//! The losses: values against hand-worked arithmetic, the published formulas or Keras 3's own
//! numbers (`tests/reference/keras_losses.py` made them; the test reads the committed JSON),
//! weighting by `sample_weight` and `class_weight`, the reductions, edge cases, gradients and
//! errors.

mod common;

use elegy::data::Data;
use elegy::losses::{
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence,
    L1Regularization, L2Regularization, LogCosh, Loss, LossInputs, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson, Reduction,
    SampleLoss, SparseCategoricalCrossentropy, SquaredHinge,
};
use elegy::testing::{GradCheck, check_gradients};
use elegy::{Result, RngKey, Tensor, TensorMap};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A tensor of `shape` from row-major `values`.
fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).expect("values fill the shape")
}

/// The loss of a batch through the `Loss` trait, with optional weights.
fn loss_with(
    loss: &dyn Loss,
    y_true: &Tensor,
    y_pred: &Tensor,
    sample_weight: Option<&Tensor>,
    class_weight: Option<&Tensor>,
) -> Result<f32> {
    let (y_true, y_pred) = (Data::from(y_true), Data::from(y_pred));
    let params = TensorMap::new();
    let inputs = LossInputs {
        x: &y_pred, // these losses do not read the inputs
        y_true: Some(&y_true),
        y_pred: &y_pred,
        sample_weight,
        class_weight,
        params: &params,
    };
    loss.compute(&inputs)?.item()
}

/// The unweighted loss of a batch.
fn loss_of(loss: &dyn Loss, y_true: &Tensor, y_pred: &Tensor) -> f32 {
    loss_with(loss, y_true, y_pred, None, None).expect("the loss accepts these shapes")
}

/// The loss of regularization `loss` on `params`.
fn regularization(loss: &dyn Loss, params: &TensorMap) -> Result<Tensor> {
    let y_pred = Data::from(Tensor::zeros(&[1]));
    loss.compute(&LossInputs {
        x: &y_pred, // these losses do not read the inputs
        y_true: None,
        y_pred: &y_pred,
        sample_weight: None,
        class_weight: None,
        params,
    })
}

#[track_caller]
fn assert_close(actual: f32, expected: f64, tolerance: f64) {
    assert!(
        (actual as f64 - expected).abs() <= tolerance,
        "got {actual}, expected {expected} (tolerance {tolerance})"
    );
}

#[track_caller]
fn assert_all_close(actual: &[f32], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (*a as f64 - e).abs() <= tolerance,
            "got {actual:?}, expected {expected:?} (tolerance {tolerance})"
        );
    }
}

/// Asserts that the gradient of `loss.per_sample(y_true, .)` at `y_pred` matches finite
/// differences.
#[track_caller]
fn assert_grads(loss: &impl SampleLoss, y_true: &Tensor, y_pred: Tensor) {
    check_gradients(
        |p| loss.per_sample(y_true, &p[0]),
        &[y_pred],
        &GradCheck::default(),
    )
    .expect("the loss runs")
    .assert_ok();
}

fn uniform(shape: &[usize], low: f32, high: f32, seed: u64) -> Tensor {
    Tensor::uniform(shape, low, high, RngKey::new(seed))
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::normal(shape, 0.0, 1.0, RngKey::new(seed))
}

/// One-hot rows of `labels` for `classes` classes.
fn one_hot(labels: &[usize], classes: usize) -> Tensor {
    let mut values = vec![0.0; labels.len() * classes];
    for (i, &c) in labels.iter().enumerate() {
        values[i * classes + c] = 1.0;
    }
    t(&values, &[labels.len(), classes])
}

// ---------------------------------------------------------------------------------------------
// Names

#[test]
fn every_loss_is_named_as_in_keras() {
    let names: Vec<String> = [
        &MeanSquaredError as &dyn Loss,
        &MeanAbsoluteError,
        &MeanAbsolutePercentageError,
        &MeanSquaredLogarithmicError,
        &Huber::default(),
        &CosineSimilarity::default(),
        &BinaryCrossentropy::default(),
        &CategoricalCrossentropy::default(),
        &SparseCategoricalCrossentropy::default(),
        &L1Regularization::default(),
        &L2Regularization::default(),
    ]
    .iter()
    .map(|l| l.name())
    .collect();
    assert_eq!(
        names,
        [
            "mean_squared_error",
            "mean_absolute_error",
            "mean_absolute_percentage_error",
            "mean_squared_logarithmic_error",
            "huber",
            "cosine_similarity",
            "binary_crossentropy",
            "categorical_crossentropy",
            "sparse_categorical_crossentropy",
            "l1_regularization",
            "l2_regularization",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Regression losses

#[test]
fn mean_squared_error_averages_squared_differences_per_sample_then_over_the_batch() {
    // Sample 0: ((1 - 0)^2 + (1 - 1)^2) / 2 = 0.5; sample 1: ((1 - 0)^2 + 0) / 2 = 0.5.
    let y = t(&[0.0, 1.0, 0.0, 0.0], &[2, 2]);
    let p = t(&[1.0, 1.0, 1.0, 0.0], &[2, 2]);
    assert_all_close(
        &MeanSquaredError.per_sample(&y, &p).unwrap().to_vec(),
        &[0.5, 0.5],
        1e-7,
    );
    assert_close(loss_of(&MeanSquaredError, &y, &p), 0.5, 1e-7);
}

#[test]
fn mean_squared_error_scales_each_sample_by_its_sample_weight() {
    // Keras' example: (0.7 * 0.5 + 0.3 * 0.5) / 2 samples = 0.25.
    let y = t(&[0.0, 1.0, 0.0, 0.0], &[2, 2]);
    let p = t(&[1.0, 1.0, 1.0, 0.0], &[2, 2]);
    let w = Tensor::from(vec![0.7f32, 0.3]);
    let loss = loss_with(&MeanSquaredError, &y, &p, Some(&w), None).unwrap();
    assert_close(loss, 0.25, 1e-7);
}

#[test]
fn all_zero_sample_weights_give_a_loss_of_zero_as_in_keras() {
    // sum(w * loss) / n is not renormalized by the weights: documented at FitOptions::sample_weight.
    let y = t(&[0.0, 1.0, 0.0, 0.0], &[2, 2]);
    let p = t(&[1.0, 1.0, 1.0, 0.0], &[2, 2]);
    let w = Tensor::zeros(&[2]);
    let loss = loss_with(&MeanSquaredError, &y, &p, Some(&w), None).unwrap();
    assert_eq!(loss, 0.0);
}

#[test]
fn mean_squared_error_accepts_targets_without_the_trailing_unit_axis() {
    // Targets [3] against predictions [3, 1]: (1 + 4 + 0) / 3, not a [3, 3] broadcast.
    let y = Tensor::from(vec![1.0f32, 2.0, 3.0]);
    let p = t(&[2.0, 0.0, 3.0], &[3, 1]);
    assert_close(loss_of(&MeanSquaredError, &y, &p), 5.0 / 3.0, 1e-6);
    assert_close(loss_of(&MeanSquaredError, &p, &y), 5.0 / 3.0, 1e-6);
}

#[test]
fn mean_squared_error_averages_every_feature_axis_of_higher_rank_inputs() {
    // One sample of [2, 2] features: (1 + 0 + 4 + 1) / 4 = 1.5.
    let y = Tensor::zeros(&[1, 2, 2]);
    let p = t(&[1.0, 0.0, -2.0, 1.0], &[1, 2, 2]);
    assert_all_close(
        &MeanSquaredError.per_sample(&y, &p).unwrap().to_vec(),
        &[1.5],
        1e-7,
    );
}

#[test]
fn mean_absolute_error_averages_absolute_differences() {
    // Sample 0: (0.5 + 1) / 2 = 0.75; sample 1: (0 + 2) / 2 = 1; batch: 0.875.
    let y = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let p = t(&[1.5, 1.0, 3.0, 6.0], &[2, 2]);
    assert_close(loss_of(&MeanAbsoluteError, &y, &p), 0.875, 1e-7);
}

#[test]
fn mean_absolute_percentage_error_is_relative_to_the_target_in_percent() {
    // Sample 0: 100 * (1/2 + 1/4) / 2 = 37.5; sample 1: 100 * (1/5 + 0) / 2 = 10; batch 23.75.
    let y = t(&[2.0, 4.0, -5.0, 10.0], &[2, 2]);
    let p = t(&[1.0, 5.0, -4.0, 10.0], &[2, 2]);
    assert_close(loss_of(&MeanAbsolutePercentageError, &y, &p), 23.75, 1e-4);
}

#[test]
fn mean_absolute_percentage_error_of_a_zero_target_divides_by_epsilon() {
    // 100 * |0.5 - 0| / max(0, 1e-7) = 5e8: huge but finite.
    let loss = loss_of(
        &MeanAbsolutePercentageError,
        &t(&[0.0], &[1, 1]),
        &t(&[0.5], &[1, 1]),
    );
    assert!(loss.is_finite());
    assert_close(loss, 5e8, 5e8 * 1e-6);
}

#[test]
fn mean_squared_logarithmic_error_compares_log1p_of_values() {
    // (ln(1 + 1) - ln(1 + 0))^2 = (ln 2)^2 and (ln(1 + 7) - ln(1 + 3))^2 = (ln 2)^2;
    // the mean is (ln 2)^2 = 0.480453 (the 0 target counts as 1e-7, off by ~1e-7).
    let y = t(&[0.0, 3.0], &[1, 2]);
    let p = t(&[1.0, 7.0], &[1, 2]);
    assert_close(
        loss_of(&MeanSquaredLogarithmicError, &y, &p),
        2f64.ln().powi(2),
        1e-6,
    );
}

#[test]
fn mean_squared_logarithmic_error_counts_negative_values_as_epsilon() {
    // -5 and 0 both floor to 1e-7: no difference, and no log of a negative number.
    let y = t(&[0.0], &[1, 1]);
    let p = t(&[-5.0], &[1, 1]);
    assert_close(loss_of(&MeanSquaredLogarithmicError, &y, &p), 0.0, 1e-12);
}

#[test]
fn huber_is_quadratic_within_delta_and_linear_beyond() {
    // Errors 0.5, 2, -3 with delta 1: 0.5 * 0.25 = 0.125, 1 * 2 - 0.5 = 1.5, 1 * 3 - 0.5 = 2.5;
    // mean 4.125 / 3 = 1.375.
    let y = Tensor::zeros(&[1, 3]);
    let p = t(&[0.5, 2.0, -3.0], &[1, 3]);
    assert_close(loss_of(&Huber::default(), &y, &p), 1.375, 1e-6);
    // With delta 2: 0.125, 0.5 * 4 = 2 (|e| = delta is still quadratic), 2 * 3 - 2 = 4;
    // mean 6.125 / 3.
    assert_close(loss_of(&Huber { delta: 2.0 }, &y, &p), 6.125 / 3.0, 1e-6);
}

#[test]
fn huber_rejects_a_delta_that_is_not_positive() {
    let err = Huber { delta: 0.0 }
        .per_sample(&Tensor::zeros(&[1, 1]), &Tensor::zeros(&[1, 1]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("huber") && err.contains("delta 0"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Cosine similarity

#[test]
fn cosine_similarity_is_the_negative_cosine_of_each_pair_of_rows() {
    // Keras' example: orthogonal rows give 0, equal directions -1, opposite directions 1.
    let y = t(&[0.0, 1.0, 1.0, 1.0, 1.0, 1.0], &[3, 2]);
    let p = t(&[1.0, 0.0, 1.0, 1.0, -1.0, -1.0], &[3, 2]);
    let per_sample = CosineSimilarity::default().per_sample(&y, &p).unwrap();
    assert_all_close(&per_sample.to_vec(), &[0.0, -1.0, 1.0], 1e-6);
}

#[test]
fn cosine_similarity_ignores_the_scale_of_the_vectors() {
    // cos([3, 4], [6, 8] * 10) = 1.
    let loss = loss_of(
        &CosineSimilarity::default(),
        &t(&[3.0, 4.0], &[1, 2]),
        &t(&[60.0, 80.0], &[1, 2]),
    );
    assert_close(loss, -1.0, 1e-6);
}

#[test]
fn cosine_similarity_of_all_zero_predictions_is_zero() {
    let loss = loss_of(
        &CosineSimilarity::default(),
        &t(&[1.0, 2.0], &[1, 2]),
        &Tensor::zeros(&[1, 2]),
    );
    assert_eq!(loss, 0.0);
}

#[test]
fn cosine_similarity_along_axis_one_compares_columns() {
    // One sample [2, 2]; along axis 1 the vectors are the columns: ([1, 0], [1, 0]) -> -1 and
    // ([0, 1], [1, 0]) -> 0; the sample's value is their mean, -0.5.
    let y = t(&[1.0, 0.0, 0.0, 1.0], &[1, 2, 2]);
    let p = t(&[1.0, 1.0, 0.0, 0.0], &[1, 2, 2]);
    let loss = CosineSimilarity { axis: 1 }.per_sample(&y, &p).unwrap();
    assert_all_close(&loss.to_vec(), &[-0.5], 1e-6);
}

#[test]
fn cosine_similarity_refuses_the_samples_axis() {
    let err = CosineSimilarity { axis: 0 }
        .per_sample(&Tensor::ones(&[2, 2]), &Tensor::ones(&[2, 2]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cosine_similarity") && err.contains("samples axis"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Binary cross-entropy

#[test]
fn binary_crossentropy_of_probabilities_follows_the_formula() {
    // Keras' example. Sample 0 (targets 0, 1; p 0.6, 0.4): -(ln 0.4 + ln 0.4) / 2 = 0.916291;
    // sample 1 (0, 0; 0.4, 0.6): -(ln 0.6 + ln 0.4) / 2 = 0.713558; batch 0.814924.
    let y = t(&[0.0, 1.0, 0.0, 0.0], &[2, 2]);
    let p = t(&[0.6, 0.4, 0.4, 0.6], &[2, 2]);
    assert_close(
        loss_of(&BinaryCrossentropy::default(), &y, &p),
        0.814924,
        1e-5,
    );
}

#[test]
fn binary_crossentropy_of_logits_follows_the_softplus_formula() {
    // softplus(z) - z y: (y 1, z 2) ln(1 + e^-2) = 0.126928, (0, -1) ln(1 + e^-1) = 0.313262,
    // (1, 0) ln 2 = 0.693147, (0, 3) ln(1 + e^3) = 3.048587. Sample means 0.220095 and 1.870867;
    // batch 1.045481.
    let y = t(&[1.0, 0.0, 1.0, 0.0], &[2, 2]);
    let z = t(&[2.0, -1.0, 0.0, 3.0], &[2, 2]);
    assert_close(
        loss_of(&BinaryCrossentropy::from_logits(), &y, &z),
        1.045481,
        1e-5,
    );
}

#[test]
fn binary_crossentropy_of_logits_equals_that_of_their_sigmoid() {
    let y = uniform(&[3, 2], 0.0, 1.0, 1);
    let z = randn(&[3, 2], 2);
    let from_logits = loss_of(&BinaryCrossentropy::from_logits(), &y, &z);
    let from_probs = loss_of(&BinaryCrossentropy::default(), &y, &z.sigmoid());
    assert_close(from_logits, from_probs as f64, 1e-5);
}

#[test]
fn binary_crossentropy_smooths_labels_towards_one_half() {
    // s = 0.2: target 1 becomes 0.9; -(0.9 ln 0.8 + 0.1 ln 0.2) = 0.361773.
    let loss = BinaryCrossentropy {
        label_smoothing: 0.2,
        ..BinaryCrossentropy::default()
    };
    assert_close(
        loss_of(&loss, &t(&[1.0], &[1, 1]), &t(&[0.8], &[1, 1])),
        0.361773,
        1e-5,
    );
}

#[test]
fn binary_crossentropy_of_probabilities_exactly_zero_or_one_is_finite() {
    // Wrong and certain. p = 0 clips to 1e-7: -ln(1e-7) = 16.118096. p = 1 clips to 1 - 1e-7,
    // which is 1 - 2^-23 in f32, so 1 - p = 2^-23: -ln(2^-23) = 23 ln 2 = 15.942385. Mean 16.030240.
    let loss = BinaryCrossentropy::default();
    let wrong = loss_of(&loss, &t(&[1.0, 0.0], &[1, 2]), &t(&[0.0, 1.0], &[1, 2]));
    assert_close(wrong, 16.030240, 1e-4);
    // Right and certain: -ln(1 - 2^-23) ~ 1.2e-7.
    let right = loss_of(&loss, &t(&[1.0, 0.0], &[1, 2]), &t(&[1.0, 0.0], &[1, 2]));
    assert!(right.is_finite() && right.abs() < 1e-6, "{right}");
}

#[test]
fn binary_crossentropy_of_large_logits_does_not_overflow() {
    // softplus(1000) - 1000 * 1 = 0; softplus(1000) - 0 = 1000; softplus(-1000) + 0 = 0;
    // softplus(-1000) - (-1000) * 1 = 1000. Mean of four: 500.
    let y = t(&[1.0, 0.0, 0.0, 1.0], &[1, 4]);
    let z = t(&[1000.0, 1000.0, -1000.0, -1000.0], &[1, 4]);
    assert_close(
        loss_of(&BinaryCrossentropy::from_logits(), &y, &z),
        500.0,
        1e-3,
    );
}

#[test]
fn binary_crossentropy_of_all_zero_logits_is_ln_two_with_gradient_one_half_minus_target() {
    let y = t(&[1.0, 0.0], &[2, 1]);
    let z = Tensor::zeros(&[2, 1]).tracked();
    let loss = BinaryCrossentropy::from_logits();
    let value = elegy::losses::reduce(&loss, &y, &z, None, None).unwrap();
    assert_close(value.item().unwrap(), 2f64.ln(), 1e-6);
    // d/dz mean(softplus(z) - z y) = (sigmoid(0) - y) / 2 = [-0.25, 0.25].
    let grads = elegy::grad(&value, &TensorMap::new().with("z", z)).unwrap();
    assert_all_close(&grads.require("z").unwrap().to_vec(), &[-0.25, 0.25], 1e-7);
}

#[test]
fn binary_crossentropy_rejects_label_smoothing_outside_zero_to_one() {
    let loss = BinaryCrossentropy {
        label_smoothing: 1.5,
        ..BinaryCrossentropy::default()
    };
    let err = loss
        .per_sample(&Tensor::zeros(&[1, 1]), &Tensor::zeros(&[1, 1]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("binary_crossentropy") && err.contains("1.5"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Categorical cross-entropy

#[test]
fn categorical_crossentropy_of_probabilities_follows_the_formula() {
    // Keras' example: -ln 0.95 = 0.051293 and -ln 0.1 = 2.302585; batch 1.176939.
    let y = one_hot(&[1, 2], 3);
    let p = t(&[0.05, 0.95, 0.0, 0.1, 0.8, 0.1], &[2, 3]);
    assert_close(
        loss_of(&CategoricalCrossentropy::default(), &y, &p),
        1.176939,
        1e-5,
    );
}

#[test]
fn categorical_crossentropy_normalizes_probabilities_that_do_not_sum_to_one() {
    // [1, 3] / 4 = [0.25, 0.75]: -ln 0.75 = 0.287682.
    let loss = loss_of(
        &CategoricalCrossentropy::default(),
        &one_hot(&[1], 2),
        &t(&[1.0, 3.0], &[1, 2]),
    );
    assert_close(loss, 0.287682, 1e-5);
}

#[test]
fn categorical_crossentropy_of_logits_applies_log_softmax() {
    // softmax([0, ln 3]) = [0.25, 0.75]: -ln 0.75 = 0.287682.
    let loss = loss_of(
        &CategoricalCrossentropy::from_logits(),
        &one_hot(&[1], 2),
        &t(&[0.0, 3f32.ln()], &[1, 2]),
    );
    assert_close(loss, 0.287682, 1e-5);
}

#[test]
fn categorical_crossentropy_smooths_labels_towards_uniform() {
    // s = 0.1, 3 classes: [0, 1, 0] -> [1/30, 28/30, 1/30];
    // -(ln 0.2 + 28 ln 0.5 + ln 0.3) / 30 = 0.740718.
    let loss = CategoricalCrossentropy {
        label_smoothing: 0.1,
        ..CategoricalCrossentropy::default()
    };
    let value = loss_of(&loss, &one_hot(&[1], 3), &t(&[0.2, 0.5, 0.3], &[1, 3]));
    assert_close(value, 0.740718, 1e-5);
}

#[test]
fn categorical_crossentropy_takes_classes_along_the_chosen_axis() {
    // One sample [classes 2, steps 2] with axis 1. Step 0: target [0, 1], p [0.25, 0.75] gives
    // -ln 0.75; step 1: target [1, 0], p [0.5, 0.5] gives ln 2. Mean 0.490415.
    let y = t(&[0.0, 1.0, 1.0, 0.0], &[1, 2, 2]);
    let p = t(&[0.25, 0.5, 0.75, 0.5], &[1, 2, 2]);
    let loss = CategoricalCrossentropy {
        axis: 1,
        ..CategoricalCrossentropy::default()
    };
    assert_all_close(
        &loss.per_sample(&y, &p).unwrap().to_vec(),
        &[0.490415],
        1e-5,
    );
}

#[test]
fn categorical_crossentropy_of_all_zero_predictions_is_finite() {
    // Probabilities: every class clipped to 1e-7, -ln(1e-7) = 16.118096.
    let probs = loss_of(
        &CategoricalCrossentropy::default(),
        &one_hot(&[0], 3),
        &Tensor::zeros(&[1, 3]),
    );
    assert_close(probs, 16.118096, 1e-3);
    // Logits: uniform over 3 classes, ln 3.
    let logits = loss_of(
        &CategoricalCrossentropy::from_logits(),
        &one_hot(&[0], 3),
        &Tensor::zeros(&[1, 3]),
    );
    assert_close(logits, 3f64.ln(), 1e-6);
}

#[test]
fn categorical_crossentropy_of_large_logits_does_not_overflow() {
    // log_softmax([1000, -1000]) = [0, -2000].
    let z = t(&[1000.0, -1000.0], &[1, 2]);
    let loss = CategoricalCrossentropy::from_logits();
    assert_close(loss_of(&loss, &one_hot(&[0], 2), &z), 0.0, 1e-6);
    assert_close(loss_of(&loss, &one_hot(&[1], 2), &z), 2000.0, 1e-3);
}

#[test]
fn categorical_crossentropy_with_integer_labels_points_to_the_sparse_loss() {
    let err = CategoricalCrossentropy::default()
        .per_sample(&Tensor::zeros(&[2]), &Tensor::ones(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sparse_categorical_crossentropy"), "{err}");
}

#[test]
fn categorical_crossentropy_refuses_a_single_class() {
    let err = CategoricalCrossentropy::default()
        .per_sample(&Tensor::ones(&[2, 1]), &Tensor::ones(&[2, 1]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("binary_crossentropy"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Sparse categorical cross-entropy

#[test]
fn sparse_categorical_crossentropy_equals_categorical_of_one_hot_labels() {
    // The same batch as Keras' categorical example: 1.176939.
    let p = t(&[0.05, 0.95, 0.0, 0.1, 0.8, 0.1], &[2, 3]);
    let loss = SparseCategoricalCrossentropy::default();
    assert_close(
        loss_of(&loss, &Tensor::from(vec![1u8, 2]), &p),
        1.176939,
        1e-5,
    );
    assert_close(loss_of(&loss, &t(&[1.0, 2.0], &[2, 1]), &p), 1.176939, 1e-5);
}

#[test]
fn sparse_categorical_crossentropy_of_logits_matches_the_categorical_loss() {
    let z = randn(&[4, 3], 3);
    let labels = [0, 2, 1, 2];
    let sparse = loss_of(
        &SparseCategoricalCrossentropy::from_logits(),
        &Tensor::from(labels.to_vec()),
        &z,
    );
    let dense = loss_of(
        &CategoricalCrossentropy::from_logits(),
        &one_hot(&labels, 3),
        &z,
    );
    assert_close(sparse, dense as f64, 1e-6);
}

#[test]
fn sparse_categorical_crossentropy_accepts_labels_per_time_step() {
    // One sample, two steps: labels [1, 0]; p rows [0.25, 0.75] and [0.5, 0.5]:
    // (-ln 0.75 + ln 2) / 2 = 0.490415.
    let p = t(&[0.25, 0.75, 0.5, 0.5], &[1, 2, 2]);
    let loss = SparseCategoricalCrossentropy::default()
        .per_sample(&t(&[1.0, 0.0], &[1, 2]), &p)
        .unwrap();
    assert_all_close(&loss.to_vec(), &[0.490415], 1e-5);
}

#[test]
fn sparse_categorical_crossentropy_rejects_a_label_beyond_the_classes() {
    let err = SparseCategoricalCrossentropy::default()
        .per_sample(&Tensor::from(vec![3u8]), &Tensor::ones(&[1, 3]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label 3") && err.contains("3 classes"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// class_weight

/// Three samples of classes 0, 1, 1 with their own losses (logits against sparse labels).
fn three_samples() -> (Tensor, Tensor, Vec<f32>) {
    let labels = Tensor::from(vec![0u8, 1, 1]);
    let logits = t(&[2.0, 0.0, 0.0, 1.0, 1.0, -1.0], &[3, 2]);
    let per_sample = SparseCategoricalCrossentropy::from_logits()
        .per_sample(&labels, &logits)
        .unwrap()
        .to_vec();
    (labels, logits, per_sample)
}

#[test]
fn class_weight_of_zero_drops_that_class_out() {
    // (0 * l0 + 1 * l1 + 1 * l2) / 3 samples.
    let (labels, logits, l) = three_samples();
    let cw = Tensor::from(vec![0.0f32, 1.0]);
    let loss = loss_with(
        &SparseCategoricalCrossentropy::from_logits(),
        &labels,
        &logits,
        None,
        Some(&cw),
    )
    .unwrap();
    assert_close(loss, ((l[1] + l[2]) / 3.0) as f64, 1e-6);
}

#[test]
fn class_weight_of_two_doubles_that_class() {
    // (1 * l0 + 2 * l1 + 2 * l2) / 3 samples.
    let (labels, logits, l) = three_samples();
    let cw = Tensor::from(vec![1.0f32, 2.0]);
    let loss = loss_with(
        &SparseCategoricalCrossentropy::from_logits(),
        &labels,
        &logits,
        None,
        Some(&cw),
    )
    .unwrap();
    assert_close(loss, ((l[0] + 2.0 * l[1] + 2.0 * l[2]) / 3.0) as f64, 1e-6);
}

#[test]
fn class_weight_multiplies_sample_weight() {
    // Weights: sample [0.5, 1, 3] times class [2, 1, 1] = [1, 1, 3].
    let (labels, logits, l) = three_samples();
    let sw = Tensor::from(vec![0.5f32, 1.0, 3.0]);
    let cw = Tensor::from(vec![2.0f32, 1.0]);
    let loss = loss_with(
        &SparseCategoricalCrossentropy::from_logits(),
        &labels,
        &logits,
        Some(&sw),
        Some(&cw),
    )
    .unwrap();
    assert_close(loss, ((l[0] + l[1] + 3.0 * l[2]) / 3.0) as f64, 1e-6);
}

#[test]
fn class_weight_for_a_class_absent_from_the_batch_changes_nothing() {
    // Three classes, samples of classes 0 and 1 only: class 2's weight 7 never applies.
    let labels = Tensor::from(vec![0u8, 1, 1]);
    let logits = t(&[2.0, 0.0, 0.5, 0.0, 1.0, 0.5, 1.0, -1.0, 0.5], &[3, 3]);
    let loss = SparseCategoricalCrossentropy::from_logits();
    let cw = Tensor::from(vec![1.0f32, 1.0, 7.0]);
    let weighted = loss_with(&loss, &labels, &logits, None, Some(&cw)).unwrap();
    assert_close(weighted, loss_of(&loss, &labels, &logits) as f64, 1e-7);
}

#[test]
fn class_weight_reads_the_class_of_one_hot_targets() {
    // Categorical targets: classes 0, 1, 1 by their largest entry.
    let (_, logits, l) = three_samples();
    let cw = Tensor::from(vec![0.0f32, 2.0]);
    let loss = loss_with(
        &CategoricalCrossentropy::from_logits(),
        &one_hot(&[0, 1, 1], 2),
        &logits,
        None,
        Some(&cw),
    )
    .unwrap();
    assert_close(loss, ((2.0 * l[1] + 2.0 * l[2]) / 3.0) as f64, 1e-6);
}

#[test]
fn class_weight_of_binary_targets_counts_targets_above_one_half_as_class_one() {
    // Targets 0.9 (class 1) and 0.1 (class 0), smoothed labels included; p = 0.5 gives ln 2 for
    // each sample. Weights [0, 3]: (0 + 3 ln 2) / 2.
    let y = t(&[0.9, 0.1], &[2, 1]);
    let p = t(&[0.5, 0.5], &[2, 1]);
    let cw = Tensor::from(vec![0.0f32, 3.0]);
    let loss = loss_with(&BinaryCrossentropy::default(), &y, &p, None, Some(&cw)).unwrap();
    assert_close(loss, 3.0 * 2f64.ln() / 2.0, 1e-6);
}

#[test]
fn class_weight_without_a_weight_for_a_present_class_is_an_error() {
    let (labels, logits, _) = three_samples();
    let cw = Tensor::from(vec![1.0f32]);
    let err = loss_with(
        &SparseCategoricalCrossentropy::from_logits(),
        &labels,
        &logits,
        None,
        Some(&cw),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("class 1 has no weight"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// All-zero predictions

#[test]
fn every_loss_of_all_zero_predictions_is_finite() {
    let y = one_hot(&[0, 1], 2);
    let p = Tensor::zeros(&[2, 2]);
    let losses: [&dyn Loss; 11] = [
        &MeanSquaredError,
        &MeanAbsoluteError,
        &MeanAbsolutePercentageError,
        &MeanSquaredLogarithmicError,
        &Huber::default(),
        &CosineSimilarity::default(),
        &BinaryCrossentropy::default(),
        &BinaryCrossentropy::from_logits(),
        &CategoricalCrossentropy::default(),
        &CategoricalCrossentropy::from_logits(),
        &SparseCategoricalCrossentropy::default(),
    ];
    for loss in losses {
        let labels = Tensor::from(vec![0u8, 1]);
        let y = if loss.name().starts_with("sparse") {
            &labels
        } else {
            &y
        };
        let value = loss_of(loss, y, &p);
        assert!(value.is_finite(), "{}: {value}", loss.name());
    }
}

#[test]
fn mean_absolute_percentage_error_of_all_zero_predictions_is_one_hundred_where_targets_are_not_zero()
 {
    // |y - 0| / |y| = 1 for each element: 100.
    let y = t(&[2.0, -3.0], &[1, 2]);
    let loss = loss_of(&MeanAbsolutePercentageError, &y, &Tensor::zeros(&[1, 2]));
    assert_close(loss, 100.0, 1e-4);
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[test]
fn mismatched_shapes_are_errors_naming_the_loss_and_both_shapes() {
    let y = Tensor::zeros(&[2, 3]);
    let p = Tensor::ones(&[2, 4]);
    let losses: [&dyn Loss; 9] = [
        &MeanSquaredError,
        &MeanAbsoluteError,
        &MeanAbsolutePercentageError,
        &MeanSquaredLogarithmicError,
        &Huber::default(),
        &CosineSimilarity::default(),
        &BinaryCrossentropy::default(),
        &CategoricalCrossentropy::default(),
        &SparseCategoricalCrossentropy::default(),
    ];
    for loss in losses {
        let err = loss_with(loss, &y, &p, None, None).unwrap_err().to_string();
        assert!(
            err.starts_with(&loss.name()) && err.contains("[2, 3]") && err.contains("[2, 4]"),
            "{}: {err}",
            loss.name()
        );
    }
}

#[test]
fn targets_that_would_broadcast_are_rejected_rather_than_broadcast() {
    // [2] against [2, 3] would broadcast to [2, 3] if allowed; it is an error.
    let err = loss_with(
        &MeanSquaredError,
        &Tensor::zeros(&[2]),
        &Tensor::zeros(&[2, 3]),
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("mean_squared_error"), "{err}");
}

#[test]
fn sample_weight_of_the_wrong_length_is_an_error() {
    let w = Tensor::from(vec![1.0f32, 1.0, 1.0]);
    let err = loss_with(
        &MeanSquaredError,
        &Tensor::zeros(&[2, 1]),
        &Tensor::zeros(&[2, 1]),
        Some(&w),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("sample_weight of shape [3]"), "{err}");
}

#[test]
fn a_loss_without_targets_says_to_pass_them() {
    let y_pred = Data::from(Tensor::zeros(&[2, 1]));
    let params = TensorMap::new();
    let err = MeanSquaredError
        .compute(&LossInputs {
            x: &y_pred,
            y_true: None,
            y_pred: &y_pred,
            sample_weight: None,
            class_weight: None,
            params: &params,
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mean_squared_error") && err.contains("no targets"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Gradients with respect to the predictions

#[test]
fn regression_losses_match_finite_differences() {
    let y = randn(&[3, 2], 10);
    // Predictions at least 0.1 from the targets (|e| has a kink at 0), and Huber's errors away
    // from delta = 1.
    let offset = uniform(&[3, 2], 0.1, 0.8, 11);
    let p = y.add(&offset).unwrap();
    assert_grads(&MeanSquaredError, &y, p.clone());
    assert_grads(&MeanAbsoluteError, &y, p.clone());
    assert_grads(&Huber::default(), &y, p.clone());
    assert_grads(&Huber { delta: 0.5 }, &y, p);
    let y = uniform(&[3, 2], 1.0, 2.0, 12);
    let p = y.add(&offset).unwrap();
    assert_grads(&MeanAbsolutePercentageError, &y, p.clone());
    assert_grads(&MeanSquaredLogarithmicError, &y, p);
}

#[test]
fn cosine_similarity_matches_finite_differences() {
    assert_grads(
        &CosineSimilarity::default(),
        &randn(&[3, 4], 20),
        randn(&[3, 4], 21),
    );
}

#[test]
fn binary_crossentropy_matches_finite_differences() {
    let y = uniform(&[3, 2], 0.0, 1.0, 30);
    assert_grads(&BinaryCrossentropy::from_logits(), &y, randn(&[3, 2], 31));
    let smoothing = BinaryCrossentropy {
        from_logits: false,
        label_smoothing: 0.1,
    };
    assert_grads(&smoothing, &y, uniform(&[3, 2], 0.05, 0.95, 32));
}

#[test]
fn categorical_crossentropies_match_finite_differences() {
    let labels = [2, 0, 1];
    let smoothed_logits = CategoricalCrossentropy {
        from_logits: true,
        label_smoothing: 0.1,
        axis: -1,
    };
    assert_grads(&smoothed_logits, &one_hot(&labels, 3), randn(&[3, 3], 40));
    assert_grads(
        &CategoricalCrossentropy::default(),
        &one_hot(&labels, 3),
        uniform(&[3, 3], 0.2, 1.0, 41),
    );
    let sparse_labels = Tensor::from(labels.to_vec());
    assert_grads(
        &SparseCategoricalCrossentropy::from_logits(),
        &sparse_labels,
        randn(&[3, 3], 42),
    );
    assert_grads(
        &SparseCategoricalCrossentropy::default(),
        &sparse_labels,
        uniform(&[3, 3], 0.2, 1.0, 43),
    );
}

#[test]
fn weighted_reduction_matches_finite_differences() {
    let labels = Tensor::from(vec![0u8, 1, 1]);
    let sw = Tensor::from(vec![0.5f32, 1.0, 2.0]);
    let cw = Tensor::from(vec![3.0f32, 1.0]);
    check_gradients(
        |p| {
            elegy::losses::reduce(
                &SparseCategoricalCrossentropy::from_logits(),
                &labels,
                &p[0],
                Some(&sw),
                Some(&cw),
            )
        },
        &[randn(&[3, 2], 50)],
        &GradCheck::default(),
    )
    .unwrap()
    .assert_ok();
}

// ---------------------------------------------------------------------------------------------
// Regularization

fn dense_params() -> TensorMap {
    TensorMap::new()
        .with("dense/kernel", t(&[1.0, -2.0, 3.0, 0.5], &[2, 2]))
        .with("dense/bias", Tensor::from(vec![4.0f32, -4.0]))
}

#[test]
fn l2_regularization_sums_squares_of_kernels_times_the_coefficient() {
    // 0.1 * (1 + 4 + 9 + 0.25) = 1.425; the bias is left out.
    let loss = L2Regularization {
        coefficient: 0.1,
        ..L2Regularization::default()
    };
    let value = regularization(&loss, &dense_params()).unwrap();
    assert_close(value.item().unwrap(), 1.425, 1e-6);
}

#[test]
fn l1_regularization_sums_absolute_values_of_kernels_times_the_coefficient() {
    // 0.1 * (1 + 2 + 3 + 0.5) = 0.65.
    let loss = L1Regularization {
        coefficient: 0.1,
        ..L1Regularization::default()
    };
    let value = regularization(&loss, &dense_params()).unwrap();
    assert_close(value.item().unwrap(), 0.65, 1e-6);
}

#[test]
fn regularization_of_every_parameter_includes_biases() {
    // 0.01 * (14.25 + 16 + 16) = 0.4625 and 0.01 * (6.5 + 8) = 0.145.
    let l2 = L2Regularization {
        kernels_only: false,
        ..L2Regularization::default()
    };
    let l1 = L1Regularization {
        kernels_only: false,
        ..L1Regularization::default()
    };
    let params = dense_params();
    assert_close(
        regularization(&l2, &params).unwrap().item().unwrap(),
        0.4625,
        1e-6,
    );
    assert_close(
        regularization(&l1, &params).unwrap().item().unwrap(),
        0.145,
        1e-6,
    );
}

#[test]
fn regularization_gradients_flow_to_tracked_kernels() {
    // d/dk 0.1 * sum(k^2) = 0.2 k.
    let params = dense_params().tracked();
    let loss = L2Regularization {
        coefficient: 0.1,
        ..L2Regularization::default()
    };
    let value = regularization(&loss, &params).unwrap();
    let grads = elegy::grad(&value, &params).unwrap();
    assert_all_close(
        &grads.require("dense/kernel").unwrap().to_vec(),
        &[0.2, -0.4, 0.6, 0.1],
        1e-6,
    );
    assert_all_close(
        &grads.require("dense/bias").unwrap().to_vec(),
        &[0.0, 0.0],
        0.0,
    );
}

#[test]
fn regularization_matches_finite_differences() {
    for loss in [
        &L1Regularization::default() as &dyn Loss,
        &L2Regularization::default(),
    ] {
        check_gradients(
            |k| regularization(loss, &TensorMap::new().with("a/kernel", k[0].clone())),
            // Away from 0, where |k| has a kink.
            &[uniform(&[2, 3], 0.1, 1.0, 60)],
            &GradCheck::default(),
        )
        .unwrap()
        .assert_ok();
    }
}

#[test]
fn regularization_of_no_parameters_is_zero() {
    let value = regularization(&L2Regularization::default(), &TensorMap::new()).unwrap();
    assert_eq!(value.item().unwrap(), 0.0);
}

#[test]
fn kernels_only_regularization_without_any_kernel_is_an_error() {
    let params = TensorMap::new().with("w", Tensor::ones(&[2]));
    let err = regularization(&L2Regularization::default(), &params)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("l2_regularization") && err.contains("kernels_only: false"),
        "{err}"
    );
}

#[test]
fn negative_regularization_coefficient_is_an_error() {
    let loss = L1Regularization {
        coefficient: -0.1,
        ..L1Regularization::default()
    };
    let err = regularization(&loss, &dense_params())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("l1_regularization") && err.contains("-0.1"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Keras 3's values, under each reduction

/// Keras 3.15 (JAX backend, float32): each case's inputs and its loss under
/// `sum_over_batch_size`, `sum` and `none`.
const KERAS: &str = include_str!("reference/keras_losses.json");

/// Relative tolerance against Keras' values, with an absolute floor for values near 0: both
/// sides compute in `f32`, in different orders.
const KERAS_RELATIVE: f64 = 1e-6;
const KERAS_ABSOLUTE: f64 = 1e-6;

/// Our loss for each of Keras' cases, configured as the generating script configures it.
fn keras_case_loss(case: &str) -> Box<dyn Fn(Reduction) -> Box<dyn Loss>> {
    fn boxed<L: SampleLoss + Copy + 'static>(loss: L) -> Box<dyn Fn(Reduction) -> Box<dyn Loss>> {
        Box::new(move |r| Box::new(loss.with_reduction(r)))
    }
    let sparse_logits_ignoring = SparseCategoricalCrossentropy {
        from_logits: true,
        ignore_class: Some(-1),
    };
    match case {
        "kl_divergence" => boxed(KLDivergence),
        "poisson" => boxed(Poisson),
        "log_cosh" => boxed(LogCosh),
        "hinge_binary_labels" | "hinge_signed_labels" => boxed(Hinge),
        "squared_hinge_binary_labels" => boxed(SquaredHinge),
        "categorical_hinge" => boxed(CategoricalHinge),
        "binary_focal_defaults" => boxed(BinaryFocalCrossentropy::default()),
        "binary_focal_logits" => boxed(BinaryFocalCrossentropy {
            from_logits: true,
            gamma: 1.5,
            ..Default::default()
        }),
        "binary_focal_balanced_smoothed" => boxed(BinaryFocalCrossentropy {
            apply_class_balancing: true,
            alpha: 0.3,
            label_smoothing: 0.1,
            ..Default::default()
        }),
        "categorical_focal_defaults" => boxed(CategoricalFocalCrossentropy::default()),
        "categorical_focal_logits_smoothed" => boxed(CategoricalFocalCrossentropy {
            from_logits: true,
            alpha: 0.5,
            gamma: 1.0,
            label_smoothing: 0.2,
            ..Default::default()
        }),
        "sparse_ignore_minus_one_sequences" | "sparse_ignore_per_position_weights" => {
            boxed(sparse_logits_ignoring)
        }
        "sparse_ignore_a_class_index" => boxed(SparseCategoricalCrossentropy {
            ignore_class: Some(2),
            ..Default::default()
        }),
        "sparse_ignore_everything" => boxed(SparseCategoricalCrossentropy {
            ignore_class: Some(1),
            ..Default::default()
        }),
        "sparse_sequences_per_position_weights" => {
            boxed(SparseCategoricalCrossentropy::from_logits())
        }
        "mean_squared_error" => boxed(MeanSquaredError),
        other => panic!("no loss for Keras case {other}"),
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

#[track_caller]
fn assert_keras_close(case: &str, what: &str, actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{case} {what}");
    for (a, e) in actual.iter().zip(expected) {
        let err = (*a as f64 - e).abs();
        assert!(
            err <= KERAS_ABSOLUTE.max(KERAS_RELATIVE * e.abs()),
            "{case} {what}: {actual:?} != Keras' {expected:?}"
        );
    }
}

#[test]
fn every_new_loss_and_reduction_matches_keras() {
    let keras: serde_json::Value = serde_json::from_str(KERAS).unwrap();
    let cases = keras["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 18);
    for (case, c) in cases {
        let y_true = json_tensor(&c["y_true"], &c["y_true_shape"]);
        let y_pred = json_tensor(&c["y_pred"], &c["y_pred_shape"]);
        // Keras needs [n, 1] per-sample weights beside an ignore mask; ours are [n].
        let sample_weight = (!c["sample_weight"].is_null()).then(|| {
            let w = json_tensor(&c["sample_weight"], &c["sample_weight_shape"]);
            if w.len() == y_true.shape()[0] {
                w.reshape(&[-1]).unwrap()
            } else {
                w
            }
        });
        let make = keras_case_loss(case);
        let (yt, yp) = (Data::from(&y_true), Data::from(&y_pred));
        let params = TensorMap::new();
        let inputs = LossInputs {
            x: &yp,
            y_true: Some(&yt),
            y_pred: &yp,
            sample_weight: sample_weight.as_ref(),
            class_weight: None,
            params: &params,
        };
        for (reduction, key) in [
            (Reduction::SumOverBatchSize, "sum_over_batch_size"),
            (Reduction::Sum, "sum"),
        ] {
            let value = make(reduction).compute(&inputs).unwrap().item().unwrap();
            let expected = c[key].as_f64().unwrap();
            assert_keras_close(case, key, &[value], &[expected]);
        }
        let none = make(Reduction::None).compute(&inputs).unwrap();
        let shape: Vec<usize> = c["none_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(none.shape(), shape.as_slice(), "{case}");
        let expected: Vec<f64> = c["none"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_keras_close(case, "none", &none.to_vec(), &expected);
    }
}

#[test]
fn the_new_losses_are_named_as_in_keras() {
    let names: Vec<String> = [
        &KLDivergence as &dyn Loss,
        &Poisson,
        &LogCosh,
        &Hinge,
        &SquaredHinge,
        &CategoricalHinge,
        &BinaryFocalCrossentropy::default(),
        &CategoricalFocalCrossentropy::default(),
    ]
    .iter()
    .map(|l| l.name())
    .collect();
    assert_eq!(
        names,
        [
            "kl_divergence",
            "poisson",
            "log_cosh",
            "hinge",
            "squared_hinge",
            "categorical_hinge",
            "binary_focal_crossentropy",
            "categorical_focal_crossentropy",
        ]
    );
}

#[test]
fn the_new_losses_match_finite_differences() {
    let y = randn(&[3, 4], 70);
    let p = y.add(&uniform(&[3, 4], 0.1, 0.8, 71)).unwrap();
    assert_grads(&LogCosh, &y, p);
    let probabilities = |seed| uniform(&[3, 4], 0.1, 1.0, seed).softmax(-1).unwrap();
    assert_grads(&KLDivergence, &probabilities(72), probabilities(73));
    let counts = uniform(&[3, 4], 0.0, 4.0, 74);
    assert_grads(&Poisson, &counts, uniform(&[3, 4], 0.5, 3.0, 75));
    // Binary targets and scores kept away from the margin's kink at y * p = 1.
    let signs = t(&[1., 0., 0., 1., 1., 1., 0., 0., 1., 0., 1., 0.], &[3, 4]);
    let scores = t(
        &[
            0.3, -0.2, 0.5, 1.6, -0.7, 0.1, -1.4, 0.4, 0.2, 0.6, -0.5, -1.3,
        ],
        &[3, 4],
    );
    assert_grads(&Hinge, &signs, scores.clone());
    assert_grads(&SquaredHinge, &signs, scores.clone());
    assert_grads(&CategoricalHinge, &one_hot(&[1, 3, 0], 4), scores);
    let binary = uniform(&[3, 2], 0.0, 1.0, 76)
        .mul_scalar(2.0)
        .sub_scalar(0.5)
        .relu();
    let binary = Tensor::new(binary.view().mapv(|v| (v > 0.5) as u8 as f32));
    assert_grads(
        &BinaryFocalCrossentropy::default(),
        &binary,
        uniform(&[3, 2], 0.05, 0.95, 77),
    );
    assert_grads(
        &BinaryFocalCrossentropy {
            from_logits: true,
            apply_class_balancing: true,
            label_smoothing: 0.1,
            ..Default::default()
        },
        &binary,
        randn(&[3, 2], 78),
    );
    assert_grads(
        &CategoricalFocalCrossentropy::default(),
        &one_hot(&[2, 0, 1], 3),
        uniform(&[3, 3], 0.2, 1.0, 79),
    );
    assert_grads(
        &CategoricalFocalCrossentropy {
            from_logits: true,
            label_smoothing: 0.1,
            ..Default::default()
        },
        &one_hot(&[2, 0, 1], 3),
        randn(&[3, 3], 80),
    );
}

/// Labels [[0, -1, 2], [-1, 1, 1]] (two positions ignored) against logits [2, 3, 3].
fn padded_sequences() -> (Tensor, Tensor) {
    (
        t(&[0.0, -1.0, 2.0, -1.0, 1.0, 1.0], &[2, 3]),
        randn(&[2, 3, 3], 90),
    )
}

#[test]
fn ignore_class_positions_get_no_gradient_and_the_others_match_finite_differences() {
    let (labels, logits) = padded_sequences();
    let loss = SparseCategoricalCrossentropy {
        from_logits: true,
        ignore_class: Some(-1),
    };
    check_gradients(
        |p| elegy::losses::reduce(&loss, &labels, &p[0], None, None),
        std::slice::from_ref(&logits),
        &GradCheck::default(),
    )
    .unwrap()
    .assert_ok();
    let tracked = logits.tracked();
    let value = elegy::losses::reduce(&loss, &labels, &tracked, None, None).unwrap();
    let grads = elegy::grad(&value, &TensorMap::new().with("z", tracked))
        .unwrap()
        .require("z")
        .unwrap()
        .to_vec();
    // Positions (0, 1) and (1, 0) are ignored: their three logits each get 0.
    for position in [1, 3] {
        assert_eq!(&grads[position * 3..position * 3 + 3], &[0.0; 3]);
    }
}

#[test]
fn ignore_class_divides_by_the_positions_that_count_and_per_sample_by_each_samples_own() {
    let (labels, logits) = padded_sequences();
    let loss = SparseCategoricalCrossentropy {
        from_logits: true,
        ignore_class: Some(-1),
    };
    let values = loss.with_reduction(Reduction::None);
    let inputs_values = loss.values(&labels, &logits).unwrap().to_vec();
    assert_eq!(inputs_values[1], 0.0);
    assert_eq!(inputs_values[3], 0.0);
    let total: f32 = inputs_values.iter().sum();
    assert_close(loss_of(&loss, &labels, &logits), (total / 4.0) as f64, 1e-6);
    let per_sample = loss.per_sample(&labels, &logits).unwrap().to_vec();
    let expected = [
        (inputs_values[0] + inputs_values[2]) / 2.0,
        (inputs_values[4] + inputs_values[5]) / 2.0,
    ];
    assert_all_close(&per_sample, &expected.map(|v| v as f64), 1e-6);
    assert_eq!(values.reduction(), Reduction::None);
}

#[test]
fn ignore_class_still_rejects_a_label_that_is_neither_ignored_nor_a_class() {
    let loss = SparseCategoricalCrossentropy {
        from_logits: false,
        ignore_class: Some(-1),
    };
    let err = loss
        .per_sample(&Tensor::from(vec![-1.0f32, 5.0]), &Tensor::ones(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label 5") && err.contains("3 classes"),
        "{err}"
    );
    let err = loss
        .per_sample(&Tensor::from(vec![-2.0f32, 1.0]), &Tensor::ones(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("-2"), "{err}");
}

#[test]
fn reductions_of_a_loss_without_a_mask_are_keras_sum_over_batch_size_sum_and_none() {
    // MSE per sample: 0.5, 0.5 (weighted 0.7, 0.3): sum 0.5, over batch size 0.25, none
    // [0.35, 0.15].
    let y = t(&[0.0, 1.0, 0.0, 0.0], &[2, 2]);
    let p = t(&[1.0, 1.0, 1.0, 0.0], &[2, 2]);
    let w = Tensor::from(vec![0.7f32, 0.3]);
    let with = |r| loss_with(&MeanSquaredError.with_reduction(r), &y, &p, Some(&w), None);
    assert_close(with(Reduction::SumOverBatchSize).unwrap(), 0.25, 1e-7);
    assert_close(with(Reduction::Sum).unwrap(), 0.5, 1e-7);
    let none = MeanSquaredError.with_reduction(Reduction::None);
    let (yt, yp) = (Data::from(&y), Data::from(&p));
    let params = TensorMap::new();
    let value = none
        .compute(&LossInputs {
            x: &yp,
            y_true: Some(&yt),
            y_pred: &yp,
            sample_weight: Some(&w),
            class_weight: None,
            params: &params,
        })
        .unwrap();
    assert_all_close(&value.to_vec(), &[0.35, 0.15], 1e-7);
    assert_eq!(Reduction::default(), Reduction::SumOverBatchSize);
    assert_eq!(Reduction::None.keras_name(), "none");
}

#[test]
fn a_sample_weight_of_neither_samples_nor_positions_names_both_shapes() {
    let loss = SparseCategoricalCrossentropy::from_logits();
    let labels = t(&[0.0, 1.0, 2.0, 0.0, 1.0, 2.0], &[2, 3]);
    let w = Tensor::ones(&[3]);
    let err = loss_with(&loss, &labels, &randn(&[2, 3, 3], 91), Some(&w), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[3]") && err.contains("[2, 3]"), "{err}");
}

#[test]
fn a_runner_whose_loss_keeps_one_value_per_sample_says_which_reduction_to_use() {
    let mut runner = elegy::Runner::new(common::Linear { classes: 3 })
        .loss(SparseCategoricalCrossentropy::from_logits().with_reduction(Reduction::None))
        .build()
        .unwrap();
    let x = randn(&[4, 5], 92);
    let y = Tensor::from(vec![0u8, 1, 2, 1]);
    let options = elegy::FitOptions {
        epochs: 1,
        verbose: 0,
        ..Default::default()
    };
    let err = runner.fit(x, y, options).unwrap_err().to_string();
    assert!(
        err.contains("sparse_categorical_crossentropy")
            && err.contains("4 values")
            && err.contains("Reduction::SumOverBatchSize"),
        "{err}"
    );
}
