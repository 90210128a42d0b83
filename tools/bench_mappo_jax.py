#!/usr/bin/env python3
"""JAX-CPU reference for `mecrl bench mappo`: one update of mixed MAPPO (src/algo/mappo/) on a
rollout of the same size, jitted by XLA on the CPU. The same networks, sizes and steps as
mecrl's `Learner` update:

- actor (shared by the E agents): x -> ReLU(x W1 + b1) -> ReLU(. W2 + b2) -> GRU 64 (torch
  GRUCell: gates r, z, n; r applied to W_hn h + b_hn) -> h W3 + b3 (A logits); the T steps in
  chunks of 10, each chunk restarting from its stored state (truncated BPTT), `lax.scan`;
- its PPO objective: log_softmax, log pi of the taken actions, entropy; advantages normalized
  over the batch; clipped surrogate (eps 0.1) and entropy bonus 0.01; global-norm clip 10;
  Adam(5e-4) with bias correction -- `epochs` steps over the whole rollout;
- K = 5 critics of the same shape with one output over the global state [T, B, S], vmapped;
  mean squared error to the targets; global-norm clip 10; Adam(5e-4) -- `epochs` steps.

--serve answers lines "update STEPS" with the seconds per update (first line: JSON
{"jax_version", "device"}), as tools/bench_nn_jax.py does for `mecrl bench nn`.

    pip install jax      # then: mecrl bench mappo (or --python PATH to this interpreter)
"""
import time

import jax
import jax.numpy as jnp
import jax_serve

CLIP, ENT, MAX_NORM, LR, CHUNK = 0.1, 0.01, 10.0, 5e-4, 10


def xavier(key, i, o):
    lim = (6.0 / (i + o)) ** 0.5
    return jax.random.uniform(key, (i, o), minval=-lim, maxval=lim)


def net(key, i, h, o):
    k = jax.random.split(key, 6)
    return dict(w1=xavier(k[0], i, h), b1=jnp.zeros(h), w2=xavier(k[1], h, h), b2=jnp.zeros(h),
                wx=xavier(k[2], h, 3 * h), bx=jnp.zeros(3 * h), wh=xavier(k[3], h, 3 * h), bh=jnp.zeros(3 * h),
                w3=xavier(k[4], h, o), b3=jnp.zeros(o))


def forward(p, x, starts):
    """x [T, B, I], starts [C, B, H] -> out [T, B, O] (chunks of CHUNK steps)."""
    t, b, _ = x.shape
    z = jax.nn.relu(jax.nn.relu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"])
    gx = z @ p["wx"] + p["bx"]
    c = t // CHUNK
    gx = gx.reshape(c, CHUNK, b, -1)

    def chunk(_, args):
        g, h0 = args

        def step(h, gxt):
            gh = h @ p["wh"] + p["bh"]
            xr, xz, xn = jnp.split(gxt, 3, axis=-1)
            hr, hz, hn = jnp.split(gh, 3, axis=-1)
            r = jax.nn.sigmoid(xr + hr)
            zz = jax.nn.sigmoid(xz + hz)
            n = jnp.tanh(xn + r * hn)
            h = (1 - zz) * n + zz * h
            return h, h

        _, hs = jax.lax.scan(step, h0, g)
        return None, hs

    _, hs = jax.lax.scan(chunk, None, (gx, starts))
    return hs.reshape(t, b, -1) @ p["w3"] + p["b3"]


def adam(p, g, m, v, n):
    gn = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(g)))
    scale = jnp.minimum(1.0, MAX_NORM / (gn + 1e-6))
    g = jax.tree_util.tree_map(lambda x: x * scale, g)
    m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
    c1, c2 = 1 - 0.9 ** n, 1 - 0.999 ** n
    p = jax.tree_util.tree_map(lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), p, m, v)
    return p, m, v


def actor_loss(p, obs, starts, act, old_logp, adv, w):
    logits = forward(p, obs, starts)
    logp_all = jax.nn.log_softmax(logits, axis=-1)
    logp = jnp.take_along_axis(logp_all, act[..., None], axis=-1)[..., 0]
    ent = -jnp.sum(jnp.exp(logp_all) * logp_all, axis=-1)
    sw = jnp.sum(w)
    mu = jnp.sum(w * adv) / sw
    sd = jnp.sqrt(jnp.sum(w * (adv - mu) ** 2) / sw)
    a = (adv - mu) / (sd + 1e-8)
    ratio = jnp.exp(logp - old_logp)
    surr = jnp.minimum(ratio * a, jnp.clip(ratio, 1 - CLIP, 1 + CLIP) * a)
    return -jnp.sum(w * (surr + ENT * ent)) / sw


def critic_loss(pk, state, starts, target):
    v = jax.vmap(forward, in_axes=(0, None, 0))(pk, state, starts)[..., 0]
    return jnp.mean((v - target[None]) ** 2)


@jax.jit
def actor_step(p, m, v, n, batch):
    g = jax.grad(actor_loss)(p, *batch)
    return adam(p, g, m, v, n)


@jax.jit
def critic_step(p, m, v, n, batch):
    g = jax.grad(critic_loss)(p, *batch)
    return adam(p, g, m, v, n)


def arrays(t, e, b, f, s, a, h, k):
    """The synthetic rollout (the formulas of src/bench/mappo.rs)."""
    def spread(n, mul):
        j = jnp.arange(n, dtype=jnp.int64) if jax.config.read("jax_enable_x64") else jnp.arange(n, dtype=jnp.uint32)
        return ((j * mul) % 1000).astype(jnp.float32) / 500.0 - 1.0

    obs = (spread(t * e * f, 7919) + 1.0).reshape(t, e, f) / 2.0
    act = (jnp.arange(t * e, dtype=jnp.uint32) * 7919 % a).astype(jnp.int32).reshape(t, e)
    old_logp = (-3.7 + 0.1 * spread(t * e, 104729)).reshape(t, e)
    adv = spread(t * e, 7907).reshape(t, e)
    w = jnp.ones((t, e))
    starts = 0.1 * spread(t // CHUNK * e * h, 3571).reshape(t // CHUNK, e, h)
    state = (spread(t * b * s, 6007) + 1.0).reshape(t, b, s) / 2.0
    cstarts = 0.1 * spread(k * (t // CHUNK) * b * h, 2999).reshape(k, t // CHUNK, b, h)
    target = spread(t * b, 6007).reshape(t, b)
    return (obs, starts, act, old_logp, adv, w), (state, cstarts, target)


def runners(t, e, b, f, s, a, h, k, epochs):
    key = jax.random.PRNGKey(1)
    pa = net(key, f, h, a)
    pc = jax.vmap(lambda kk: net(kk, s, h, 1))(jax.random.split(key, k))
    ab, cb = arrays(t, e, b, f, s, a, h, k)
    zeros = lambda p: jax.tree_util.tree_map(jnp.zeros_like, p)
    st = {"a": (pa, zeros(pa), zeros(pa)), "c": (pc, zeros(pc), zeros(pc)), "n": 1}

    def run_update(steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            (pa, ma, va), (pc, mc, vc), n = st["a"], st["c"], st["n"]
            for _ in range(epochs):
                pa, ma, va = actor_step(pa, ma, va, jnp.float32(n), ab)
                n += 1
            for _ in range(epochs):
                pc, mc, vc = critic_step(pc, mc, vc, jnp.float32(n), cb)
            jax.block_until_ready((pa, pc))
            st.update(a=(pa, ma, va), c=(pc, mc, vc), n=n)
        return (time.perf_counter() - t0) / steps

    return {"update": run_update}


def main():
    jax_serve.main([("t", 50), ("e", 2160), ("b", 48), ("f", 45), ("s", 145), ("a", 42), ("hidden", 64),
                    ("critics", 5), ("epochs", 5), ("steps", 1), ("reps", 3)],
                   lambda x: runners(x.t, x.e, x.b, x.f, x.s, x.a, x.hidden, x.critics, x.epochs), "update", "seconds_per_update")


if __name__ == "__main__":
    main()
