"""Reference values for tests/r2_score.rs: Keras 3's R2Score (JAX backend, float32) over two
streamed batches, for both aggregations, weights and num_regressors.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_r2.py > tests/reference/keras_r2.json

The tests never run Python; they read the committed numbers.
"""

import json, os
os.environ.setdefault("KERAS_BACKEND", "jax")
import keras, numpy as np
rng = np.random.RandomState(29)
cases = []
for agg, regressors, weighted, cols in [("uniform_average", 0, False, 2), ("variance_weighted_average", 0, True, 3), ("uniform_average", 2, True, 1)]:
    m = keras.metrics.R2Score(class_aggregation=agg, num_regressors=regressors)
    batches = []
    for b in range(2):
        yt = rng.normal(size=(6, cols)).astype("float32")
        yp = (yt + rng.normal(scale=0.5, size=(6, cols))).astype("float32")
        w = rng.uniform(0.1, 2.0, size=(6,)).astype("float32") if weighted else None
        m.update_state(yt, yp, sample_weight=w)
        batches.append({"y_true": yt.ravel().tolist(), "y_pred": yp.ravel().tolist(), "shape": [6, cols],
                        "sample_weight": None if w is None else w.tolist()})
    cases.append({"class_aggregation": agg, "num_regressors": regressors, "batches": batches, "result": float(m.result())})
print(json.dumps({"keras": keras.__version__, "cases": cases}))
