#!/usr/bin/env python3
"""The MLP benchmark workload (see ../shared/bench/mlp_numpy.py) in JAX + optax, two ways:
`step`: a jit-compiled train step called per batch; `epoch`: a whole epoch in one jit (lax.scan over
the full batches, then one jitted step for the partial last batch). Data gathering (the shuffled
batch) happens inside the jit in both, as a take on the device-resident data set."""
import argparse, time
import numpy as np
import jax, jax.numpy as jnp, optax

SIZES = (784, 256, 256, 10)

def make_data(n, seed=7):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((SIZES[0], SIZES[-1])).astype(np.float32)
    x = rng.random((n, SIZES[0]), dtype=np.float32)
    return x, np.argmax((x - 0.5) @ w, axis=1).astype(np.int32)

def init_params(seed=1234):
    rng = np.random.default_rng(seed)
    ps = []
    for i, o in zip(SIZES[:-1], SIZES[1:]):
        lim = np.sqrt(6.0 / (i + o))
        ps.append((jnp.asarray(rng.uniform(-lim, lim, (i, o)).astype(np.float32)), jnp.zeros(o, jnp.float32)))
    return ps

def loss_fn(params, xb, yb):
    h = xb
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < 2:
            h = jax.nn.relu(h)
    return optax.softmax_cross_entropy_with_integer_labels(h, yb).mean()

opt = optax.adam(1e-3, eps=1e-7)

def step(carry, idx, x, y):
    params, state = carry
    loss, g = jax.value_and_grad(loss_fn)(params, x[idx], y[idx])
    upd, state = opt.update(g, state, params)
    return (optax.apply_updates(params, upd), state), loss

@jax.jit
def jit_step(params, state, idx, x, y):
    return step((params, state), idx, x, y)

@jax.jit
def jit_full(params, state, idxs, x, y):
    return jax.lax.scan(lambda c, i: step(c, i, x, y), (params, state), idxs)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--mode", nargs="+", default=["epoch", "step"])
    a = ap.parse_args()
    xn, yn = make_data(a.samples)
    x, y = jnp.asarray(xn), jnp.asarray(yn)
    flops = 6 * a.samples * sum(i * o for i, o in zip(SIZES[:-1], SIZES[1:]))
    for mode in a.mode:
        for bs in a.batch:
            params = init_params(); state = opt.init(params)
            rng = np.random.default_rng(42)
            secs, loss = [], None
            nfull = a.samples // bs
            for epoch in range(a.epochs + 1):
                perm = rng.permutation(a.samples).astype(np.int32)
                t = time.perf_counter()
                if mode == "epoch":
                    idxs = jnp.asarray(perm[: nfull * bs].reshape(nfull, bs))
                    (params, state), losses = jit_full(params, state, idxs, x, y)
                    if nfull * bs < a.samples:
                        (params, state), l = jit_step(params, state, jnp.asarray(perm[nfull * bs:]), x, y)
                    loss = float(losses[-1])
                else:
                    for s in range(0, a.samples, bs):
                        (params, state), l = jit_step(params, state, jnp.asarray(perm[s:s + bs]), x, y)
                    loss = float(l)
                jax.block_until_ready(params)
                if epoch > 0:
                    secs.append(time.perf_counter() - t)
            med = float(np.median(secs))
            print(f"jax-{mode} batch={bs}: epoch {med:.3f} s (min {min(secs):.3f}, max {max(secs):.3f}), "
                  f"{a.samples / med:,.0f} samples/s, {flops / med / 1e9:.1f} GFLOP/s, last loss {loss:.4f}", flush=True)

if __name__ == "__main__":
    main()
