#!/usr/bin/env python3
"""JAX-CPU reference for `mecrl bench o2o`: one O2O-DRL offline gradient step (src/algo/o2o/)
jitted by XLA on the CPU, with the same networks, sizes and steps as mecrl's offline step:
- a uniform minibatch of B transitions (o, a, r, o', done, mask, mask') from a replay of R rows;
- the twin target Qs at o', the actor's masked softmax at o', the soft value
  V(o') = sum_a pi(a|o') (min_k Qbar_k(o', a) - alpha log pi(a|o')) (masked actions excluded),
  the target y = s r + gamma (1 - done) V(o');
- the twin Q loss with the CQL regularizer (eq. 10): sum_k mean[(Q_k(o, a) - y)^2 +
  lambda_c (logsumexp_{allowed} Q_k(o, .) - Q_k(o, a))], the actor's loss -mean V(o') (eq. 11)
  and the critic's mean (V_w(o) - y)^2 (eq. 12), one Adam step of all three (lr 3e-4, torch
  semantics), the targets moved by tau = 5e-4.
Networks: F -> 64 -> 64 -> A (actor, Q1, Q2, targets) and F -> 64 -> 64 -> 1 (critic), ReLU.
--serve answers lines "step STEPS" with the seconds per step (first line: JSON {"jax_version",
"device"}), as tools/bench_nn_jax.py does for `mecrl bench nn`.
    pip install jax      # then: mecrl bench o2o (or --python PATH to this interpreter)
"""
import time

import jax
import jax.numpy as jnp
import jax_serve

ALPHA, GAMMA, TAU, LAMBDA_C, LR, B1, B2, EPS = 0.05, 0.99, 5e-4, 0.1, 3e-4, 0.9, 0.999, 1e-8


def xavier(key, i, o):
    lim = (6.0 / (i + o)) ** 0.5
    return jax.random.uniform(key, (i, o), minval=-lim, maxval=lim)


def mlp(key, sizes):
    ks = jax.random.split(key, len(sizes) - 1)
    return [(xavier(k, i, o), jnp.zeros(o)) for k, i, o in zip(ks, sizes[:-1], sizes[1:])]


def forward(p, x):
    for w, b in p[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = p[-1]
    return x @ w + b


def masked_log_softmax(z, m):
    z = jnp.where(m > 0, z, -1e30)
    return jax.nn.log_softmax(z, axis=-1)


def losses(params, qbar, batch, scale):
    actor, critic, q1, q2 = params
    o, a, r, o2, d, m, m2 = batch
    logp = masked_log_softmax(forward(actor, o2), m2)
    pr = jnp.where(m2 > 0, jnp.exp(logp), 0.0)
    h = jnp.where(m2 > 0, jnp.minimum(qbar[0], qbar[1]) - ALPHA * logp, 0.0)
    v = jnp.sum(pr * h, axis=-1)
    y = jax.lax.stop_gradient(scale * r + GAMMA * (1.0 - d) * v)
    l_actor = -jnp.mean(v)
    l_q = 0.0
    for q in (q1, q2):
        qv = forward(q, o)
        qa = jnp.take_along_axis(qv, a[:, None], axis=-1)[:, 0]
        lse = jax.nn.logsumexp(jnp.where(m > 0, qv, -1e30), axis=-1)
        l_q = l_q + jnp.mean((qa - y) ** 2 + LAMBDA_C * (lse - qa))
    l_v = jnp.mean((forward(critic, o)[:, 0] - y) ** 2)
    return l_actor + l_q + l_v


@jax.jit
def train_step(params, targets, opt, t, data, key):
    obs, act, rew, nxt, done, mask, nmask = data
    idx = jax.random.randint(key, (BATCH[0],), 0, obs.shape[0])
    batch = (obs[idx], act[idx], rew[idx], nxt[idx], done[idx], mask[idx], nmask[idx])
    qbar = jnp.stack([forward(targets[0], batch[3]), forward(targets[1], batch[3])])
    g = jax.grad(losses)(params, qbar, batch, 1.0)
    m, v = opt
    m = jax.tree_util.tree_map(lambda m, g: B1 * m + (1 - B1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: B2 * v + (1 - B2) * g * g, v, g)
    c1, c2 = 1 - B1 ** t, 1 - B2 ** t
    params = jax.tree_util.tree_map(lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + EPS), params, m, v)
    targets = jax.tree_util.tree_map(lambda tq, q: (1 - TAU) * tq + TAU * q, targets, (params[2], params[3]))
    return params, targets, (m, v)


BATCH = [128]


def runners(batch, rows, f, a):
    BATCH[0] = batch
    key = jax.random.PRNGKey(1)
    ks = jax.random.split(key, 12)
    params = (mlp(ks[0], [f, 64, 64, a]), mlp(ks[1], [f, 64, 64, 1]), mlp(ks[2], [f, 64, 64, a]),
              mlp(ks[3], [f, 64, 64, a]))
    targets = (params[2], params[3])
    opt = (jax.tree_util.tree_map(jnp.zeros_like, params), jax.tree_util.tree_map(jnp.zeros_like, params))
    mask = (jax.random.uniform(ks[4], (rows, a)) < 0.7).astype(jnp.float32).at[:, a - 1].set(1.0)
    nmask = (jax.random.uniform(ks[5], (rows, a)) < 0.7).astype(jnp.float32).at[:, a - 1].set(1.0)
    data = (jax.random.uniform(ks[6], (rows, f)), jnp.full((rows,), a - 1, dtype=jnp.int32),
            jax.random.normal(ks[7], (rows,)), jax.random.uniform(ks[8], (rows, f)),
            (jax.random.uniform(ks[9], (rows,)) < 0.01).astype(jnp.float32), mask, nmask)
    st = {"params": params, "targets": targets, "opt": opt, "t": 0}

    def run_step(steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            st["t"] += 1
            p, tg, o = train_step(st["params"], st["targets"], st["opt"], float(st["t"]), data,
                                  jax.random.PRNGKey(st["t"]))
            jax.block_until_ready(p)
            st.update(params=p, targets=tg, opt=o)
        return (time.perf_counter() - t0) / steps

    return {"step": run_step}


def main():
    jax_serve.main([("batch", 128), ("rows", 100000), ("f", 65), ("a", 21), ("steps", 100), ("reps", 3)],
                   lambda x: runners(x.batch, x.rows, x.f, x.a), "step", "seconds_per_step")


if __name__ == "__main__":
    main()
