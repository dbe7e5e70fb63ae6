"""Reference values for tests/recurrent.rs: Keras 3's SimpleRNN, LSTM and GRU (JAX backend,
float32) with given weights, with return_sequences, return_state, go_backwards and a mask.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_recurrent.py > tests/reference/keras_recurrent.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.RandomState(11)
L = keras.layers


def dump(a):
    a = np.asarray(a, dtype="float32")
    return {"shape": list(a.shape), "values": a.ravel().tolist()}


def case(name, layer, x, mask=None, initial_state=None):
    layer(x, mask=mask, initial_state=initial_state)  # build
    weights = {}
    for w in layer.weights:
        value = rng.normal(scale=0.5, size=w.shape).astype("float32")
        w.assign(value)
        weights[w.path.split("/", 1)[1]] = dump(value)
    out = layer(x, mask=mask, initial_state=initial_state)
    outs = out if isinstance(out, (list, tuple)) else [out]
    result = {"name": name, "config": layer.get_config(), "x": dump(x), "weights": weights,
              "outputs": [dump(o) for o in outs]}
    if mask is not None:
        result["mask"] = dump(mask.astype("float32"))
    if initial_state is not None:
        result["initial_state"] = [dump(s) for s in initial_state]
    return result


x = rng.normal(size=(2, 5, 3)).astype("float32")
mask = np.ones((2, 5), dtype=bool)
mask[1, 3:] = False  # the second sequence is 3 steps long, padded
h0 = rng.normal(size=(2, 4)).astype("float32")
c0 = rng.normal(size=(2, 4)).astype("float32")
cases = [
    case("simple_rnn", L.SimpleRNN(4, return_sequences=True), x),
    case("lstm", L.LSTM(4, return_sequences=True, return_state=True), x),
    case("lstm_backwards_masked", L.LSTM(4, go_backwards=True, return_state=True), x, mask=mask),
    case("lstm_initial_state", L.LSTM(4), x, initial_state=[h0, c0]),
    case("gru", L.GRU(4, return_sequences=True, return_state=True), x),
    case("gru_masked", L.GRU(4, return_sequences=True), x, mask=mask),
]
print(json.dumps({"keras": keras.__version__, "cases": cases}))
