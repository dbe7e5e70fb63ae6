"""Reference values for tests/metrics_more.rs: Keras 3's FBetaScore, IoU, MeanIoU, BinaryIoU,
OneHotIoU and AUC (PR curve, multi_label) (JAX backend, float32), each over two streamed batches.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_metrics_more.py > tests/reference/keras_metrics_more.json

The tests never run Python; they read the committed numbers.
"""

import json, os
os.environ.setdefault("KERAS_BACKEND", "jax")
import keras, numpy as np

rng = np.random.RandomState(31)
cases = []


def run(kind, options, metric, make):
    batches = []
    for _ in range(2):
        yt, yp, w = make()
        metric.update_state(yt, yp, sample_weight=w)
        batches.append({"y_true": np.asarray(yt, "float32").ravel().tolist(), "true_shape": list(np.shape(yt)),
                        "y_pred": np.asarray(yp, "float32").ravel().tolist(), "pred_shape": list(np.shape(yp)),
                        "sample_weight": None if w is None else np.asarray(w, "float32").ravel().tolist(),
                        "weight_shape": None if w is None else list(np.shape(w))})
    result = np.asarray(metric.result())
    cases.append({"kind": kind, "options": options, "batches": batches,
                  "result": float(result) if result.ndim == 0 else result.tolist()})


def one_hot_scores(n, c, weighted):
    labels = rng.randint(0, c, size=n)
    yt = np.eye(c, dtype="float32")[labels]
    yp = rng.dirichlet(np.ones(c), size=n).astype("float32")
    w = rng.uniform(0.1, 2.0, size=(n,)).astype("float32") if weighted else None
    return yt, yp, w


for average, beta, threshold, weighted in [("macro", 1.0, None, False), ("micro", 1.0, None, True),
                                             ("weighted", 2.0, None, True), ("macro", 0.5, 0.3, False),
                                             (None, 1.0, None, True)]:
    m = keras.metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    run("fbeta", {"average": average, "beta": beta, "threshold": threshold}, m, lambda: one_hot_scores(9, 4, weighted))
    if average is None:  # one case per class, as the Rust metric reports one class
        case = cases.pop()
        for c, v in enumerate(case["result"]):
            cases.append({**case, "options": {**case["options"], "class": c}, "result": float(v)})


def segmentation(c, weighted, void=None):
    yt = rng.randint(0, c, size=(3, 4, 4)).astype("float32")
    if void is not None:
        yt[rng.uniform(size=yt.shape) < 0.2] = void
    yp = rng.randint(0, c, size=(3, 4, 4)).astype("float32")
    # Keras keeps IoU's matrix in integers and truncates weights: give whole ones.
    w = rng.randint(0, 4, size=(3, 4, 4)).astype("float32") if weighted else None
    return yt, yp, w


run("mean_iou", {"num_classes": 3}, keras.metrics.MeanIoU(num_classes=3), lambda: segmentation(3, False))
run("mean_iou", {"num_classes": 4, "ignore_class": 255}, keras.metrics.MeanIoU(num_classes=4, ignore_class=255),
    lambda: segmentation(4, True, void=255))
run("iou", {"num_classes": 3, "target_class_ids": [0, 2]}, keras.metrics.IoU(num_classes=3, target_class_ids=[0, 2]),
    lambda: segmentation(3, True))
run("one_hot_iou", {"num_classes": 4, "target_class_ids": [1, 3]},
    keras.metrics.OneHotIoU(num_classes=4, target_class_ids=[1, 3]), lambda: one_hot_scores(10, 4, False))


def binary(n, weighted, labels=None):
    shape = (n,) if labels is None else (n, labels)
    yt = (rng.uniform(size=shape) < 0.4).astype("float32")
    yp = np.clip(0.35 * yt + rng.uniform(size=shape) * 0.7, 0, 1).astype("float32")
    w = rng.uniform(0.1, 2.0, size=(n,)).astype("float32") if weighted else None
    return yt, yp, w


def whole_weights(batch):
    yt, yp, _ = batch
    return yt, yp, rng.randint(0, 4, size=yt.shape[:1]).astype("float32")


run("binary_iou", {"target_class_ids": [0, 1], "threshold": 0.5}, keras.metrics.BinaryIoU(),
    lambda: whole_weights(binary(12, False)))
run("binary_iou", {"target_class_ids": [1], "threshold": 0.3},
    keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.3), lambda: binary(12, False))

for curve, multi, thresholds, weighted in [("PR", False, 200, False), ("PR", False, 50, True),
                                           ("ROC", True, 200, True), ("PR", True, 100, False)]:
    m = keras.metrics.AUC(curve=curve, multi_label=multi, num_thresholds=thresholds)
    run("auc", {"curve": curve, "multi_label": multi, "num_thresholds": thresholds}, m,
        lambda: binary(16, weighted, 3 if multi else None))

print(json.dumps({"keras": keras.__version__, "cases": cases}))
