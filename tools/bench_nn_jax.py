#!/usr/bin/env python3
"""JAX-CPU reference for `mecrl bench nn`: the same training step as mecrl's (an ensemble of K
MLPs with ReLU hidden layers, MSE to fixed targets, Adam with bias correction), vmapped over K
and jitted by XLA on the CPU. Prints JSON {"cases": [{"name", "seconds_per_step"}], ...}; with
--serve it times one block per request instead (what `mecrl bench nn` uses, alternating its
blocks with JAX's).

    pip install jax      # then: mecrl bench nn (or --python PATH to this interpreter)
"""
import argparse
import json
import sys
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


def lstm_runner():
    """(c): a 2-layer LSTM(256), T = 20, batch 20, input 256; forward + backward of the mean
    squared output (torch gate order i, f, g, o; one bias per layer). Returns run(steps) ->
    seconds per pass."""
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

    def run(steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            out = g(params)
        jax.block_until_ready(out)
        return (time.perf_counter() - t0) / steps

    return run


def mlp_runner(sizes, k, batch):
    """(a)/(b): training steps of K MLPs; the state carries over between calls. Returns
    run(steps) -> seconds per step."""
    key = jax.random.PRNGKey(0)
    state = {"params": init(key, sizes, k), "n": 1}
    state["m"] = jax.tree_util.tree_map(jnp.zeros_like, state["params"])
    state["v"] = jax.tree_util.tree_map(jnp.zeros_like, state["params"])
    x = jax.random.uniform(key, (k, batch, sizes[0]), minval=-1, maxval=1)
    t = jax.random.uniform(key, (k, batch, sizes[-1]), minval=-1, maxval=1)

    def run(steps):
        params, m, v, n = state["params"], state["m"], state["v"], state["n"]
        t0 = time.perf_counter()
        for _ in range(steps):
            params, m, v = step(params, m, v, jnp.float32(n), x, t)
            n += 1
        jax.block_until_ready(params)
        dt = (time.perf_counter() - t0) / steps
        state.update(params=params, m=m, v=v, n=n)
        return dt

    return run


def runners():
    out = {name: mlp_runner(sizes, k, batch) for name, sizes, k, batch in CASES}
    out["(c)"] = lstm_runner()
    return out


def info():
    return {"jax_version": jax.__version__, "device": str(jax.devices()[0])}


def serve():
    """One timed block per request, so the caller can alternate its own blocks with JAX's on
    the same machine state: reads lines `CASE STEPS` ("(b) 50"), answers each with a line
    holding the seconds per step; a first line holds the JSON info once every case is built."""
    rs = runners()
    print(json.dumps(info()), flush=True)
    for line in sys.stdin:
        name, steps = line.split()
        print(repr(rs[name](int(steps))), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--serve", action="store_true", help="answer timing requests on stdin (see serve)")
    a = ap.parse_args()
    if a.serve:
        serve()
        return
    rs = runners()
    out = {}
    for name, run in rs.items():
        steps = a.steps if name != "(c)" else max(a.steps // 10, 2)
        run(steps)  # warm-up (and compile)
        times = sorted(run(steps) for _ in range(a.reps))
        out[name] = times[len(times) // 2]
    cases = [{"name": n, "seconds_per_step": out[n]} for n, *_ in CASES]
    print(json.dumps({"cases": cases, "lstm": {"name": "(c)", "seconds_per_step": out["(c)"]}, **info()}))


if __name__ == "__main__":
    main()
