#!/usr/bin/env python3
"""The sequence benchmark workloads of examples/bench_sequence.rs in PyTorch eager on CPU,
torch.set_num_threads(2), Adam(lr 1e-3, eps 1e-7), CrossEntropyLoss, batches of a fixed
permutation:

- lstm: nn.LSTM(32 -> 128) over sequences of 64 steps, the last state into Linear(128, 10);
  4,096 samples at batch 64.
- encoder: one pre-norm transformer encoder block (width 128, 4 heads, feed-forward 512, GELU)
  over sequences of 64 already-embedded steps, mean over time into Linear(128, 10); 2,048
  samples at batch 32.

Prints the median epoch seconds after a warm-up epoch and training steps per second."""
import argparse, time
import numpy as np
import torch


class Lstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(32, 128, batch_first=True)
        self.out = torch.nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.out(h[-1])


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(128, eps=1e-3)
        self.attn = torch.nn.MultiheadAttention(128, 4, batch_first=True)
        self.norm2 = torch.nn.LayerNorm(128, eps=1e-3)
        self.ff = torch.nn.Sequential(torch.nn.Linear(128, 512), torch.nn.GELU(), torch.nn.Linear(512, 128))
        self.out = torch.nn.Linear(128, 10)

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.ff(self.norm2(x))
        return self.out(x.mean(dim=1))


def bench(name, model, x, y, batch, epochs):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    lossf = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(42)
    n = x.shape[0]
    secs = []
    for epoch in range(epochs + 1):
        perm = torch.randperm(n, generator=g)
        t = time.perf_counter()
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        if epoch > 0:
            secs.append(time.perf_counter() - t)
    med = float(np.median(secs))
    steps = -(-n // batch)
    print(f"torch {name}: epoch {med:.3f} s (min {min(secs):.3f}, max {max(secs):.3f}), "
          f"{steps / med:.1f} steps/s, last loss {loss.item():.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["lstm", "encoder"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(7)
    if a.only in (None, "lstm"):
        x = torch.from_numpy(rng.standard_normal((4096, 64, 32), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, 4096)).long()
        bench("lstm", Lstm(), x, y, 64, a.epochs)
    if a.only in (None, "encoder"):
        x = torch.from_numpy(rng.standard_normal((2048, 64, 128), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, 2048)).long()
        bench("encoder", Encoder(), x, y, 32, a.epochs)


if __name__ == "__main__":
    main()
