"""Reference values for the losses in tests/losses_keras.rs: Keras 3 (JAX backend, float32),
each case under the three reductions.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_losses.py > tests/reference/keras_losses.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

L = keras.losses
rng = np.random.RandomState(23)


def probs(shape, zero=None):
    p = rng.uniform(0.05, 1.0, shape).astype(np.float32)
    if zero is not None:
        p[zero] = 0.0
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def one_hot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


normal = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
uniform = lambda lo, hi, *s: rng.uniform(lo, hi, s).astype(np.float32)  # noqa: E731
sw4 = np.array([0.5, 1.0, 2.0, 0.0], np.float32)

# id: (make(reduction), y_true, y_pred, sample_weight or None)
CASES = {
    "kl_divergence": (
        lambda r: L.KLDivergence(reduction=r),
        probs((4, 3), zero=(0, 1)),
        probs((4, 3), zero=(2, 0)),
        sw4,
    ),
    "poisson": (
        lambda r: L.Poisson(reduction=r),
        rng.randint(0, 5, (4, 3)).astype(np.float32),
        uniform(0.1, 4.0, 4, 3),
        sw4,
    ),
    "log_cosh": (
        lambda r: L.LogCosh(reduction=r),
        normal(4, 3),
        # One error of 40: log(cosh(x)) must not overflow.
        normal(4, 3) + np.array([[40.0, 0, 0], [0, 0, 0], [0, -40.0, 0], [0, 0, 0]], np.float32),
        sw4,
    ),
    "hinge_binary_labels": (
        lambda r: L.Hinge(reduction=r),
        rng.randint(0, 2, (4, 3)).astype(np.float32),
        normal(4, 3),
        sw4,
    ),
    "hinge_signed_labels": (
        lambda r: L.Hinge(reduction=r),
        (2 * rng.randint(0, 2, (4, 3)) - 1).astype(np.float32),
        normal(4, 3),
        None,
    ),
    "squared_hinge_binary_labels": (
        lambda r: L.SquaredHinge(reduction=r),
        rng.randint(0, 2, (4, 3)).astype(np.float32),
        normal(4, 3),
        sw4,
    ),
    "categorical_hinge": (
        lambda r: L.CategoricalHinge(reduction=r),
        one_hot([0, 2, 1, 1], 3),
        normal(4, 3),
        sw4,
    ),
    "binary_focal_defaults": (
        lambda r: L.BinaryFocalCrossentropy(reduction=r),
        rng.randint(0, 2, (4, 2)).astype(np.float32),
        uniform(0.0, 1.0, 4, 2),
        sw4,
    ),
    "binary_focal_logits": (
        lambda r: L.BinaryFocalCrossentropy(from_logits=True, gamma=1.5, reduction=r),
        rng.randint(0, 2, (4, 2)).astype(np.float32),
        3 * normal(4, 2),
        None,
    ),
    "binary_focal_balanced_smoothed": (
        lambda r: L.BinaryFocalCrossentropy(
            apply_class_balancing=True, alpha=0.3, label_smoothing=0.1, reduction=r
        ),
        rng.randint(0, 2, (4, 2)).astype(np.float32),
        uniform(0.0, 1.0, 4, 2),
        sw4,
    ),
    "categorical_focal_defaults": (
        lambda r: L.CategoricalFocalCrossentropy(reduction=r),
        one_hot([1, 0, 2, 2], 3),
        probs((4, 3)),
        sw4,
    ),
    "categorical_focal_logits_smoothed": (
        lambda r: L.CategoricalFocalCrossentropy(
            from_logits=True, alpha=0.5, gamma=1.0, label_smoothing=0.2, reduction=r
        ),
        one_hot([2, 1, 0, 1], 3),
        2 * normal(4, 3),
        None,
    ),
    "sparse_ignore_minus_one_sequences": (
        lambda r: L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=r),
        np.array([[0, -1, 2, 1], [-1, -1, 1, 0]], np.float32),
        normal(2, 4, 3),
        # [n, 1]: Keras 3.15 fails to broadcast [n] weights against its ignore mask.
        np.array([[2.0], [0.5]], np.float32),
    ),
    "sparse_ignore_per_position_weights": (
        lambda r: L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=r),
        np.array([[0, -1, 2, 1], [-1, -1, 1, 0]], np.float32),
        normal(2, 4, 3),
        np.array([[1.0, 3.0, 0.5, 2.0], [1.0, 1.0, 0.0, 4.0]], np.float32),
    ),
    "sparse_ignore_a_class_index": (
        lambda r: L.SparseCategoricalCrossentropy(ignore_class=2, reduction=r),
        np.array([0, 2, 1, 2, 1], np.float32),
        probs((5, 3)),
        None,
    ),
    "sparse_ignore_everything": (
        lambda r: L.SparseCategoricalCrossentropy(ignore_class=1, reduction=r),
        np.array([1, 1], np.float32),
        probs((2, 3)),
        None,
    ),
    "sparse_sequences_per_position_weights": (
        lambda r: L.SparseCategoricalCrossentropy(from_logits=True, reduction=r),
        np.array([[0, 1, 2], [2, 2, 0]], np.float32),
        normal(2, 3, 3),
        np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 1.0]], np.float32),
    ),
    "mean_squared_error": (
        lambda r: L.MeanSquaredError(reduction=r),
        normal(4, 3),
        normal(4, 3),
        sw4,
    ),
}

REDUCTIONS = ["sum_over_batch_size", "sum", None]


def case(make, y_true, y_pred, sample_weight):
    out = {
        "y_true": y_true.ravel().tolist(),
        "y_true_shape": list(y_true.shape),
        "y_pred": y_pred.ravel().tolist(),
        "y_pred_shape": list(y_pred.shape),
        "sample_weight": None if sample_weight is None else sample_weight.ravel().tolist(),
        "sample_weight_shape": None if sample_weight is None else list(sample_weight.shape),
    }
    for r in REDUCTIONS:
        value = np.asarray(make(r)(y_true, y_pred, sample_weight=sample_weight))
        key = r or "none"
        out[key] = value.ravel().tolist() if r is None else float(value)
        if r is None:
            out["none_shape"] = list(value.shape)
    return out


result = {
    "keras_version": keras.__version__,
    "backend": keras.backend.backend(),
    "cases": {k: case(*v) for k, v in CASES.items()},
}
# One line per case keeps the file readable in a diff.
head = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in result.items() if k != "cases"]
cases = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in result["cases"].items()]
print("{\n" + ",\n".join(head) + ',\n "cases": {\n' + ",\n".join(cases) + "\n }\n}")
