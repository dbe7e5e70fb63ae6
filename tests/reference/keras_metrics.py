"""Reference values for the loss metrics in tests/metrics.rs: Keras 3 (JAX backend, float32),
each metric streamed over two batches.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_metrics.py > tests/reference/keras_metrics.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

M = keras.metrics
rng = np.random.RandomState(31)


def probs(*shape):
    p = rng.uniform(0.05, 1.0, shape).astype(np.float32)
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


normal = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
binary = lambda *s: rng.randint(0, 2, s).astype(np.float32)  # noqa: E731
weights = lambda *s: rng.uniform(0.0, 2.0, s).astype(np.float32)  # noqa: E731

# id: (metric, [(y_true, y_pred, sample_weight or None), ...])
CASES = {
    "kl_divergence": (M.KLDivergence(), [
        (probs(3, 4), probs(3, 4), weights(3)),
        (probs(2, 4), probs(2, 4), None),
    ]),
    "poisson": (M.Poisson(), [
        (rng.randint(0, 5, (3, 2)).astype(np.float32), rng.uniform(0.1, 4, (3, 2)).astype(np.float32), weights(3)),
        (rng.randint(0, 5, (2, 2)).astype(np.float32), rng.uniform(0.1, 4, (2, 2)).astype(np.float32), weights(2)),
    ]),
    "logcosh": (M.LogCoshError(), [
        (normal(3, 2), 3 * normal(3, 2), weights(3)),
        (normal(4, 2), normal(4, 2), None),
    ]),
    "hinge": (M.Hinge(), [
        (binary(3, 2), normal(3, 2), weights(3)),
        (binary(2, 2), normal(2, 2), weights(2)),
    ]),
    "binary_crossentropy": (M.BinaryCrossentropy(), [
        (binary(3, 2), rng.uniform(0.01, 0.99, (3, 2)).astype(np.float32), weights(3)),
        (binary(2, 2), rng.uniform(0.01, 0.99, (2, 2)).astype(np.float32), None),
    ]),
    # Weights per position of a sequence: the labels' shape.
    "sparse_categorical_crossentropy_per_position": (
        M.SparseCategoricalCrossentropy(from_logits=True), [
            (rng.randint(0, 3, (2, 4)).astype(np.float32), normal(2, 4, 3), weights(2, 4)),
            (rng.randint(0, 3, (3, 4)).astype(np.float32), normal(3, 4, 3), weights(3)),
        ]),
}


def case(metric, batches):
    out = {"batches": [], "name": metric.name}
    for y_true, y_pred, w in batches:
        metric.update_state(y_true, y_pred, sample_weight=w)
        out["batches"].append({
            "y_true": y_true.ravel().tolist(), "y_true_shape": list(y_true.shape),
            "y_pred": y_pred.ravel().tolist(), "y_pred_shape": list(y_pred.shape),
            "sample_weight": None if w is None else w.ravel().tolist(),
            "sample_weight_shape": None if w is None else list(w.shape),
            "result": float(np.asarray(metric.result())),
        })
    return out


result = {
    "keras_version": keras.__version__,
    "backend": keras.backend.backend(),
    "cases": {k: case(*v) for k, v in CASES.items()},
}
head = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in result.items() if k != "cases"]
cases = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in result["cases"].items()]
print("{\n" + ",\n".join(head) + ',\n "cases": {\n' + ",\n".join(cases) + "\n }\n}")
