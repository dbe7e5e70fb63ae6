"""Reference trajectories for tests/optimizers.rs: Keras 3's moving average of the weights
(`use_ema`, `ema_momentum`, `ema_overwrite_frequency`) and gradient accumulation
(`gradient_accumulation_steps`), JAX backend, float32, along twelve fixed gradients.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_ema_accumulation.py \
        > tests/reference/keras_ema_accumulation.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

STEPS = 12
SHAPES = {"b": (3,), "w": (2, 3)}

rng = np.random.RandomState(23)
initial = {n: rng.uniform(-1.0, 1.0, s).astype(np.float32) for n, s in SHAPES.items()}
grads = [
    {n: (0.5 * rng.standard_normal(s)).astype(np.float32) for n, s in SHAPES.items()}
    for _ in range(STEPS)
]

CASES = {
    # The average after every update, Keras' first-update rule included.
    "sgd_momentum_ema": lambda: keras.optimizers.SGD(
        learning_rate=0.1, momentum=0.9, use_ema=True, ema_momentum=0.8
    ),
    "nadam_ema": lambda: keras.optimizers.Nadam(
        learning_rate=0.05, use_ema=True, ema_momentum=0.9
    ),
    # The weights replaced by their average after updates 3, 6, 9 and 12.
    "sgd_ema_overwrite_every_3": lambda: keras.optimizers.SGD(
        learning_rate=0.1,
        momentum=0.9,
        use_ema=True,
        ema_momentum=0.8,
        ema_overwrite_frequency=3,
    ),
    # An update every third step, along the mean gradient, clipped once.
    "sgd_accumulate_3": lambda: keras.optimizers.SGD(
        learning_rate=0.1,
        momentum=0.9,
        global_clipnorm=0.5,
        gradient_accumulation_steps=3,
    ),
}


def trajectory(make):
    variables = {n: keras.Variable(v.copy(), name=n) for n, v in initial.items()}
    names = list(SHAPES)
    opt = make()
    out = []
    for g in grads:
        opt.apply_gradients([(g[n], variables[n]) for n in names])
        step = {"params": {n: np.asarray(variables[n].value).ravel().tolist() for n in names}}
        if opt.use_ema:
            averages = opt._model_variables_moving_average
            step["averages"] = {
                n: np.asarray(a.value).ravel().tolist() for n, a in zip(names, averages)
            }
        out.append(step)
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
