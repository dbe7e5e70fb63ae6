"""Reference values for tests/attention_keras.rs: Keras 3's MultiHeadAttention (JAX backend,
float32) with given weights, on self-attention, cross-attention with a mask, and a causal mask.

Run once, outside the repository's build, and commit the JSON it prints:

    KERAS_BACKEND=jax python tests/reference/keras_attention.py > tests/reference/keras_attention.json

The tests never run Python; they read the committed numbers.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

# Keras 3.15 on JAX fails to reshape when value_dim differs from key_dim (with or without its
# fused kernel), so every case keeps value_dim = key_dim; tests/attention_keras.rs covers
# value_dim by hand.
rng = np.random.RandomState(5)


def case(name, heads, key_dim, query_shape, value_shape=None, value_dim=None,
         output_shape=None, mask=False, causal=False):
    layer = keras.layers.MultiHeadAttention(
        num_heads=heads, key_dim=key_dim, value_dim=value_dim, output_shape=output_shape)
    query = rng.normal(size=query_shape).astype("float32")
    value = query if value_shape is None else rng.normal(size=value_shape).astype("float32")
    attention_mask = None
    if mask:
        attention_mask = (rng.uniform(size=(query.shape[0], query.shape[1], value.shape[1])) > 0.3)
        attention_mask[..., 0] = True  # no query without a key
    out = layer(query, value, attention_mask=attention_mask, use_causal_mask=causal)
    weights = {}
    for w in layer.weights:
        value_ = rng.normal(scale=0.5, size=w.shape).astype("float32")
        w.assign(value_)
        weights[w.path.split("/", 1)[1]] = {"shape": list(w.shape), "values": value_.ravel().tolist()}
    out = np.asarray(layer(query, value, attention_mask=attention_mask, use_causal_mask=causal))
    result = {
        "name": name,
        "num_heads": heads,
        "key_dim": key_dim,
        "value_dim": value_dim,
        "output_shape": output_shape,
        "causal": causal,
        "query": {"shape": list(query.shape), "values": query.ravel().tolist()},
        "weights": weights,
        "output": {"shape": list(out.shape), "values": out.ravel().tolist()},
    }
    if value_shape is not None:
        result["value"] = {"shape": list(value.shape), "values": value.ravel().tolist()}
    if attention_mask is not None:
        m = attention_mask.astype("float32")
        result["attention_mask"] = {"shape": list(m.shape), "values": m.ravel().tolist()}
    return result


cases = [
    case("self", heads=2, key_dim=3, query_shape=(2, 4, 6)),
    case("cross_masked", heads=2, key_dim=3, query_shape=(2, 3, 6), value_shape=(2, 5, 4),
         output_shape=5, mask=True),
    case("causal", heads=3, key_dim=2, query_shape=(2, 5, 4), causal=True),
]
print(json.dumps({"keras": keras.__version__, "cases": cases}))
