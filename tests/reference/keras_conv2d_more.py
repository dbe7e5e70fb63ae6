"""Reference values for tests/conv2d_more.rs: Keras 3's Conv2DTranspose, DepthwiseConv2D and
SeparableConv2D (JAX backend, float32) with given weights.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_conv2d_more.py > tests/reference/keras_conv2d_more.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.RandomState(17)
L = keras.layers


def dump(a):
    a = np.asarray(a, dtype="float32")
    return {"shape": list(a.shape), "values": a.ravel().tolist()}


def case(name, layer, x_shape, **options):
    x = rng.normal(size=x_shape).astype("float32")
    layer(x)
    weights = {}
    for w in layer.weights:
        value = rng.normal(scale=0.5, size=w.shape).astype("float32")
        w.assign(value)
        weights[w.path.split("/", 1)[1]] = dump(value)
    return {"name": name, "options": options, "x": dump(x), "weights": weights,
            "output": dump(layer(x))}


cases = [
    case("transpose_valid", L.Conv2DTranspose(3, (3, 3), strides=(2, 2), padding="valid"),
         (2, 3, 4, 2), filters=3, kernel=[3, 3], strides=[2, 2], padding="valid"),
    case("transpose_same", L.Conv2DTranspose(2, (3, 3), strides=(2, 2), padding="same"),
         (1, 3, 3, 2), filters=2, kernel=[3, 3], strides=[2, 2], padding="same"),
    case("transpose_same_even", L.Conv2DTranspose(2, (4, 4), strides=(2, 2), padding="same"),
         (1, 3, 2, 1), filters=2, kernel=[4, 4], strides=[2, 2], padding="same"),
    case("depthwise", L.DepthwiseConv2D((3, 3), depth_multiplier=2, padding="same"),
         (2, 4, 4, 3), kernel=[3, 3], depth_multiplier=2, padding="same"),
    case("separable", L.SeparableConv2D(4, (3, 3), padding="valid"),
         (2, 5, 5, 3), filters=4, kernel=[3, 3], padding="valid"),
]
print(json.dumps({"keras": keras.__version__, "cases": cases}))
