"""Reference values for tests/conv1d.rs: Keras 3's Conv1D (JAX backend, float32) with given
weights, for valid, same and causal padding, strides and dilation.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_conv1d.py > tests/reference/keras_conv1d.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.RandomState(13)


def dump(a):
    a = np.asarray(a, dtype="float32")
    return {"shape": list(a.shape), "values": a.ravel().tolist()}


def case(filters, kernel_size, padding, strides=1, dilation_rate=1):
    layer = keras.layers.Conv1D(filters, kernel_size, strides=strides, padding=padding,
                                dilation_rate=dilation_rate)
    x = rng.normal(size=(2, 9, 3)).astype("float32")
    layer(x)
    kernel = rng.normal(scale=0.5, size=layer.kernel.shape).astype("float32")
    bias = rng.normal(scale=0.5, size=layer.bias.shape).astype("float32")
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    return {"filters": filters, "kernel_size": kernel_size, "padding": padding,
            "strides": strides, "dilation_rate": dilation_rate, "x": dump(x),
            "kernel": dump(kernel), "bias": dump(bias), "output": dump(layer(x))}


cases = [
    case(4, 3, "valid"),
    case(4, 3, "same", strides=2),
    case(2, 3, "causal", dilation_rate=2),
    case(3, 2, "causal"),
]
print(json.dumps({"keras": keras.__version__, "cases": cases}))
