//! Softmax cross-entropy of logits against class labels: one op, checked against finite
//! differences and against the same loss composed from log-softmax.

use elegy::Tensor;

use crate::common::{assert_grads, randn};

/// `-ln softmax(z)[label]` per row, composed from ops that are checked on their own.
fn composed(logits: &Tensor, labels: &[usize]) -> Vec<f32> {
    let classes = logits.shape()[logits.ndim() - 1];
    let log_p = logits.log_softmax(-1).unwrap().to_vec();
    log_p
        .chunks(classes)
        .zip(labels)
        .map(|(row, &label)| -row[label])
        .collect()
}

#[test]
fn sparse_softmax_cross_entropy_matches_finite_differences() {
    let labels = [2, 0, 4, 4, 1, 3];
    assert_grads(
        |t| t[0].sparse_softmax_cross_entropy(&labels),
        &[randn(&[6, 5], 60)],
    );
    // Rows along every axis but the last: [2, 3, 5] has 6 rows.
    assert_grads(
        |t| t[0].sparse_softmax_cross_entropy(&labels),
        &[randn(&[2, 3, 5], 61)],
    );
}

#[test]
fn sparse_softmax_cross_entropy_equals_the_composed_loss() {
    let logits = randn(&[40, 7], 62).mul_scalar(3.0);
    let labels: Vec<usize> = (0..40).map(|i| (i * 5) % 7).collect();
    let fused = logits.sparse_softmax_cross_entropy(&labels).unwrap();
    assert_eq!(fused.shape(), &[40]);
    for (a, b) in fused.to_vec().iter().zip(composed(&logits, &labels)) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn sparse_softmax_cross_entropy_survives_large_logits() {
    let logits = Tensor::from_vec(vec![1000.0, 1001.0, -1000.0, 0.0], &[2, 2]).unwrap();
    let losses = logits
        .sparse_softmax_cross_entropy(&[0, 0])
        .unwrap()
        .to_vec();
    // ln(1 + e) for the first row; the second is e^-1000 against 1, so 1000.
    assert!(
        (losses[0] - (1.0 + 1f32.exp()).ln()).abs() < 1e-5,
        "{losses:?}"
    );
    assert!((losses[1] - 1000.0).abs() < 1e-3, "{losses:?}");
}

#[test]
fn sparse_softmax_cross_entropy_rejects_labels_that_do_not_fit() {
    let logits = randn(&[3, 4], 63);
    let err = logits
        .sparse_softmax_cross_entropy(&[0, 4, 1])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label 4 of sample 1") && err.contains("4 classes"),
        "{err}"
    );
    let err = logits
        .sparse_softmax_cross_entropy(&[0, 1])
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 labels") && err.contains("3 rows"), "{err}");
    let err = Tensor::scalar(1.0)
        .sparse_softmax_cross_entropy(&[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no class axis"), "{err}");
    let err = Tensor::zeros(&[0, 0])
        .sparse_softmax_cross_entropy(&[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no classes"), "{err}");
}
