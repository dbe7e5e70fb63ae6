#!/usr/bin/env python3
"""The MLP benchmark workload (see ../shared/bench/mlp_numpy.py) in PyTorch eager on CPU,
torch.set_num_threads(2), nn.Sequential of Linear/ReLU, CrossEntropyLoss, Adam(lr 1e-3, eps 1e-7)."""
import argparse, time
import numpy as np
import torch

SIZES = (784, 256, 256, 10)

def make_data(n, seed=7):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((SIZES[0], SIZES[-1])).astype(np.float32)
    x = rng.random((n, SIZES[0]), dtype=np.float32)
    return x, np.argmax((x - 0.5) @ w, axis=1)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    xn, yn = make_data(a.samples)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn).long()
    flops = 6 * a.samples * sum(i * o for i, o in zip(SIZES[:-1], SIZES[1:]))
    for bs in a.batch:
        layers = []
        for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            lin = torch.nn.Linear(n_in, n_out)
            torch.nn.init.xavier_uniform_(lin.weight); torch.nn.init.zeros_(lin.bias)
            layers.append(lin)
            if i < 2:
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        lossf = torch.nn.CrossEntropyLoss()
        g = torch.Generator().manual_seed(42)
        secs = []
        for epoch in range(a.epochs + 1):
            perm = torch.randperm(a.samples, generator=g)
            t = time.perf_counter()
            for s in range(0, a.samples, bs):
                idx = perm[s:s + bs]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
            last = float(loss)
            if epoch > 0:
                secs.append(time.perf_counter() - t)
        med = float(np.median(secs))
        print(f"torch batch={bs}: epoch {med:.3f} s (min {min(secs):.3f}, max {max(secs):.3f}), "
              f"{a.samples / med:,.0f} samples/s, {flops / med / 1e9:.1f} GFLOP/s, last loss {last:.4f}", flush=True)

if __name__ == "__main__":
    main()
