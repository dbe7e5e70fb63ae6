"""Reference trajectories for tests/optimizers_keras.rs: Keras 3's Nadam, Adamax, Lion and
Adafactor (JAX backend, float32), ten updates each along fixed gradients.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_optimizers.py > tests/reference/keras_optimizers.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

STEPS = 10
SHAPES = {"b": (3,), "w": (2, 3), "k": (2, 2, 3)}

rng = np.random.RandomState(17)
initial = {n: rng.uniform(-1.0, 1.0, s).astype(np.float32) for n, s in SHAPES.items()}
grads = [
    {n: (0.5 * rng.standard_normal(s)).astype(np.float32) for n, s in SHAPES.items()}
    for _ in range(STEPS)
]
# An exact zero on the first step: Lion's sign(0) is 0.
grads[0]["b"][0] = 0.0

CASES = {
    "nadam_defaults": lambda: keras.optimizers.Nadam(learning_rate=0.05),
    "nadam_tuned": lambda: keras.optimizers.Nadam(
        learning_rate=0.05, beta_1=0.8, beta_2=0.9, epsilon=1e-2, weight_decay=0.05
    ),
    "nadam_global_clipnorm": lambda: keras.optimizers.Nadam(
        learning_rate=0.05, global_clipnorm=0.5
    ),
    "adamax_defaults": lambda: keras.optimizers.Adamax(learning_rate=0.05),
    "adamax_tuned": lambda: keras.optimizers.Adamax(
        learning_rate=0.05, beta_1=0.8, beta_2=0.9, epsilon=1e-2, weight_decay=0.05
    ),
    "lion_defaults": lambda: keras.optimizers.Lion(learning_rate=0.01),
    "lion_tuned": lambda: keras.optimizers.Lion(
        learning_rate=0.01, beta_1=0.8, beta_2=0.95, weight_decay=0.1, clipvalue=0.3
    ),
    "adafactor_defaults": lambda: keras.optimizers.Adafactor(learning_rate=0.5),
    "adafactor_tuned": lambda: keras.optimizers.Adafactor(
        learning_rate=0.05,
        beta_2_decay=-0.5,
        epsilon_1=1e-20,
        epsilon_2=0.1,
        clip_threshold=0.5,
    ),
}


def trajectory(make):
    variables = {n: keras.Variable(v.copy(), name=n) for n, v in initial.items()}
    names = list(SHAPES)
    opt = make()
    out = []
    for g in grads:
        opt.apply_gradients([(g[n], variables[n]) for n in names])
        out.append({n: np.asarray(variables[n].value).ravel().tolist() for n in names})
    return out


result = {
    "keras_version": keras.__version__,
    "backend": keras.backend.backend(),
    "shapes": {n: list(s) for n, s in SHAPES.items()},
    "initial": {n: v.ravel().tolist() for n, v in initial.items()},
    "grads": [{n: g[n].ravel().tolist() for n in SHAPES} for g in grads],
    "cases": {name: trajectory(make) for name, make in CASES.items()},
}
# One line per case keeps the file readable in a diff.
head = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in result.items() if k != "cases"]
cases = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in result["cases"].items()]
print("{\n" + ",\n".join(head) + ',\n "cases": {\n' + ",\n".join(cases) + "\n }\n}")
