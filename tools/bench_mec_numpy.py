#!/usr/bin/env python3
"""numpy-vectorized reference of mecrl's `mec` objective with the exact allocation.

For B instances, P candidate decision vectors a[b,p,:] in {0..M} and the per-IoTD cost table
cost[b,i,j] (column 0 local Phi_i, column j the transmission part at the optimal power), the
objective is  sum_i cost[b,i,a_i] + phi_T/F_max * sum_{j>=1} (sum_{i: a_i=j} sqrt(F_i))^2 .
Prints JSON {"median_s": ..., "evals_per_s": ...}; run by `mecrl bench mec` in the same invocation.
"""
import argparse
import json
import time

import numpy as np


def objective(cost, sqrt_f, a, phi_t, f_max):
    b, p, n = a.shape
    m1 = cost.shape[2]
    tx = np.take_along_axis(cost[:, None, :, :], a[..., None], axis=3)[..., 0].sum(-1)
    idx = (np.arange(b * p)[:, None] * m1 + a.reshape(b * p, n)).ravel()
    w = np.broadcast_to(sqrt_f[:, None, :], (b, p, n)).ravel()
    s = np.bincount(idx, weights=w, minlength=b * p * m1).reshape(b, p, m1)
    return tx + phi_t / f_max * (s[..., 1:] ** 2).sum(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--b", type=int, default=64)
    ap.add_argument("--p", type=int, default=32)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--m", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    b, p, n, m = args.b, args.p, args.n, args.m
    cost = rng.uniform(0.05, 1.0, size=(b, n, m + 1)).astype(np.float32)
    sqrt_f = np.full((b, n), np.sqrt(1e9), dtype=np.float32)
    a = rng.integers(0, m + 1, size=(b, p, n), dtype=np.int64)
    objective(cost, sqrt_f, a, 0.5, 50e9)
    ts = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        objective(cost, sqrt_f, a, 0.5, 50e9)
        ts.append(time.perf_counter() - t)
    med = float(np.median(ts))
    print(json.dumps({"median_s": med, "evals_per_s": b * p * n / med}))


if __name__ == "__main__":
    main()
