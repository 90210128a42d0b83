#!/usr/bin/env python3
"""JAX-CPU reference for `mecrl bench nn`: the same training step as mecrl's (an ensemble of K
MLPs with ReLU hidden layers, MSE to fixed targets, Adam with bias correction), vmapped over K
and jitted by XLA on the CPU. Prints JSON {"cases": [{"name", "seconds_per_step"}], ...}.

    pip install jax      # then: mecrl bench nn (or --python PATH to this interpreter)
"""
import argparse
import json
import time

import jax
import jax.numpy as jnp

CASES = [("(a)", [30, 80, 60, 30], 2, 256), ("(b)", [100, 80, 60, 100], 10, 256)]


def init(key, sizes, k):
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        a = (6.0 / (i + o)) ** 0.5
        params.append((jax.random.uniform(sub, (k, i, o), minval=-a, maxval=a), jnp.zeros((k, o))))
    return params


def forward(params, x):
    h = x
    for n, (w, b) in enumerate(params):
        h = jnp.einsum("kbi,kio->kbo", h, w) + b[:, None, :]
        if n < len(params) - 1:
            h = jax.nn.relu(h)
    return h


def loss_fn(params, x, t):
    return jnp.mean((forward(params, x) - t) ** 2)


@jax.jit
def step(params, m, v, t_step, x, t):
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    g = jax.grad(loss_fn)(params, x, t)
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    bc1 = 1 - b1 ** t_step
    bc2 = 1 - b2 ** t_step
    params = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / bc1) / (jnp.sqrt(v / bc2) + eps), params, m, v)
    return params, m, v


def lstm_case(steps, reps):
    """(c): a 2-layer LSTM(256), T = 20, batch 20, input 256; forward + backward of the mean
    squared output (torch gate order i, f, g, o; one bias per layer)."""
    T, B, F, H = 20, 20, 256, 256
    key = jax.random.PRNGKey(1)
    params = []
    for i in (F, H):
        key, k1, k2 = jax.random.split(key, 3)
        a = (6.0 / (i + H)) ** 0.5
        params.append((jax.random.uniform(k1, (i, 4 * H), minval=-a, maxval=a),
                       jax.random.uniform(k2, (H, 4 * H), minval=-a, maxval=a), jnp.zeros(4 * H)))
    x = jax.random.uniform(key, (T, B, F), minval=-1, maxval=1)

    def layer(p, xs):
        wx, wh, b = p
        zx = jnp.einsum("tbi,ig->tbg", xs, wx) + b

        def cell(carry, z):
            h, c = carry
            z = z + h @ wh
            i, f, g, o = jnp.split(z, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        zero = jnp.zeros((B, H))
        _, hs = jax.lax.scan(cell, (zero, zero), zx)
        return hs

    def loss(params):
        h = x
        for p in params:
            h = layer(p, h)
        return jnp.mean(h ** 2)

    g = jax.jit(jax.grad(loss))
    times = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        for _ in range(steps):
            out = g(params)
        jax.block_until_ready(out)
        if r > 0:
            times.append((time.perf_counter() - t0) / steps)
    times.sort()
    return {"name": "(c)", "seconds_per_step": times[len(times) // 2]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    out = []
    for name, sizes, k, batch in CASES:
        key = jax.random.PRNGKey(0)
        params = init(key, sizes, k)
        m = jax.tree_util.tree_map(jnp.zeros_like, params)
        v = jax.tree_util.tree_map(jnp.zeros_like, params)
        x = jax.random.uniform(key, (k, batch, sizes[0]), minval=-1, maxval=1)
        t = jax.random.uniform(key, (k, batch, sizes[-1]), minval=-1, maxval=1)
        times = []
        n = 1
        for r in range(a.reps + 1):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                params, m, v = step(params, m, v, jnp.float32(n), x, t)
                n += 1
            jax.block_until_ready(params)
            if r > 0:
                times.append((time.perf_counter() - t0) / a.steps)
        times.sort()
        out.append({"name": name, "seconds_per_step": times[len(times) // 2]})
    lstm = lstm_case(max(a.steps // 10, 2), a.reps)
    print(json.dumps({"cases": out, "lstm": lstm, "jax_version": jax.__version__, "device": str(jax.devices()[0])}))


if __name__ == "__main__":
    main()
