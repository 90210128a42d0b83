#!/usr/bin/env python3
"""JAX-CPU reference for `mecrl bench mrlco`: MRLCO's Seq2Seq policy (src/nn/seq2seq.rs) and one
PPO update of it (src/algo/ppo.rs + src/ops/ppo.rs), jitted by XLA on the CPU, and the
rollout's sampling decode. Same sizes, same batch, same ops as mecrl's:

- embedding u = tanh(LN(x·W_emb + b_emb)); encoder: 2-layer LSTM (gates i, f, g, o, one bias)
  from zeros, `lax.scan` over time, the input projection of all T steps as one product;
  keys W2·e once;
- decoder step j (`lax.scan`): q = W1·d_{j-1}; additive attention
  α = softmax_t vᵀ tanh(q + key_t) over the real steps (mask); c = Σ_t α_t e_t;
  x_j = u_j + W_a·onehot(a_{j-1}) + W_c·c; 2-layer LSTM step from the encoder's final state
  (d_0 = its last top-layer output; a_{-1} the start token); y = tanh(LN(d));
  logits = y·W_π + b_π (2), value = y·w_v + b_v;
- update: teacher-forced forward, log_softmax, log π of the taken actions, entropy, the PPO
  objective (advantages normalized over the weighted batch, clipped surrogate ε 0.2,
  c1 0.5·(v - R)², c2 0), global-norm clip 0.5, Adam(5e-4) with bias correction, in one jit;
- decode: the same network, each action drawn (`jax.random.categorical`) and fed to the next
  step, returning actions, log π and values.

--serve answers lines "update STEPS" / "decode STEPS" with the seconds per step (first line:
JSON {"jax_version", "device"}), as tools/bench_nn_jax.py does for `mecrl bench nn`.

    pip install jax      # then: mecrl bench mrlco (or --python PATH to this interpreter)
"""
import argparse
import json
import sys
import time

import jax
import jax.numpy as jnp

T, E_SEQ, F, ACTIONS, LAYERS = 20, 200, 5 + 2 * 12, 2, 2
CLIP_EPS, C1, C2, MAX_NORM, LR, LN_EPS = 0.2, 0.5, 0.0, 0.5, 5e-4, 1e-5


def init(key, h, a):
    """Xavier-uniform matrices, zero biases (LSTM forget gate 1), unit layer-norm gains."""
    keys = iter(jax.random.split(key, 32))

    def xavier(i, o):
        lim = (6.0 / (i + o)) ** 0.5
        return jax.random.uniform(next(keys), (i, o), minval=-lim, maxval=lim)

    def lstm():
        bias = jnp.zeros(4 * h).at[h:2 * h].set(1.0)
        return [dict(wx=xavier(h, 4 * h), wh=xavier(h, 4 * h), b=bias) for _ in range(LAYERS)]

    return dict(
        emb_w=xavier(F, h), emb_b=jnp.zeros(h), emb_g=jnp.ones(h), emb_beta=jnp.zeros(h),
        enc=lstm(), dec=lstm(),
        w1=xavier(h, a), w2=xavier(h, a), v=xavier(a, 1)[:, 0],
        act_w=xavier(ACTIONS + 1, h), ctx_w=xavier(h, h),
        out_g=jnp.ones(h), out_beta=jnp.zeros(h),
        pi_w=xavier(h, ACTIONS), pi_b=jnp.zeros(ACTIONS), v_w=xavier(h, 1), v_b=jnp.zeros(1),
    )


def layer_norm(x, g, b):
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + LN_EPS) * g + b


def cell(z, c):
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


def encode(p, x, mask):
    """x [T, B, F] -> (u, e, keys, decoder state, d_0)."""
    u = jnp.tanh(layer_norm(x @ p["emb_w"] + p["emb_b"], p["emb_g"], p["emb_beta"]))
    b, h = x.shape[1], u.shape[-1]
    seq, state = u, []
    for lp in p["enc"]:
        zx = seq @ lp["wx"] + lp["b"]

        def step(carry, z, wh=lp["wh"]):
            hh, cc = cell(z + carry[0] @ wh, carry[1])
            return (hh, cc), hh

        zero = jnp.zeros((b, h))
        fin, seq = jax.lax.scan(step, (zero, zero), zx)
        state.append(fin)
    return u, seq, seq @ p["w2"], state, state[-1][0]


def onehot_emb(p, a):
    return jax.nn.one_hot(a, ACTIONS + 1) @ p["act_w"]


def dec_step(p, e, keys, mask, st, d, u_j, prev):
    """One decoder step -> (logits [B, 2], value [B], state, d)."""
    q = d @ p["w1"]
    s = jnp.tanh(q[None] + keys) @ p["v"]  # [T, B]
    s = jnp.where(mask, s, -jnp.inf)
    m = jnp.max(s, axis=0, keepdims=True)
    w = jnp.where(mask, jnp.exp(s - jnp.where(jnp.isfinite(m), m, 0.0)), 0.0)
    den = jnp.sum(w, axis=0, keepdims=True)
    alpha = jnp.where(den > 0, w / jnp.where(den > 0, den, 1.0), 0.0)
    ctx = jnp.einsum("tb,tbh->bh", alpha, e)
    x = u_j + prev + ctx @ p["ctx_w"]
    new = []
    for lp, (hh, cc) in zip(p["dec"], st):
        hh, cc = cell(x @ lp["wx"] + lp["b"] + hh @ lp["wh"], cc)
        new.append((hh, cc))
        x = hh
    y = jnp.tanh(layer_norm(x, p["out_g"], p["out_beta"]))
    return y @ p["pi_w"] + p["pi_b"], (y @ p["v_w"] + p["v_b"])[:, 0], new, x


def forward(p, x, actions, mask):
    """Teacher-forced: logits [T, B, 2], values [T, B]."""
    u, e, keys, st, d = encode(p, x, mask)
    start = onehot_emb(p, jnp.full((x.shape[1],), ACTIONS))
    prev = jnp.concatenate([start[None], onehot_emb(p, actions[:-1])], axis=0)

    def step(carry, xs):
        st, d = carry
        lg, v, st, d = dec_step(p, e, keys, mask, st, d, *xs)
        return (st, d), (lg, v)

    _, (logits, values) = jax.lax.scan(step, (st, d), (u, prev))
    return logits, values


def ppo_loss(p, batch):
    x, a, mask, old_logp, adv, ret, w = batch
    logits, v = forward(p, x, a, mask)
    lp_all = jax.nn.log_softmax(logits, axis=-1)
    logp = jnp.take_along_axis(lp_all, a[..., None], axis=-1)[..., 0]
    ent = -jnp.sum(jnp.exp(lp_all) * lp_all, axis=-1)
    wsum = jnp.sum(w)
    mu = jnp.sum(w * adv) / wsum
    sd = jnp.sqrt(jnp.sum(w * (adv - mu) ** 2) / wsum)
    a_hat = (adv - mu) / (sd + 1e-8)
    rho = jnp.exp(logp - old_logp)
    pg = -jnp.minimum(rho * a_hat, jnp.clip(rho, 1 - CLIP_EPS, 1 + CLIP_EPS) * a_hat)
    lv = (v - ret) ** 2
    loss = jnp.sum(w * (pg + C1 * lv - C2 * ent)) / wsum
    stats = jnp.stack([jnp.sum(w * pg) / wsum, jnp.sum(w * lv) / wsum, jnp.sum(w * ent) / wsum,
                       jnp.sum(w * ((rho - 1) - jnp.log(rho))) / wsum,
                       jnp.sum(w * (jnp.abs(rho - 1) > CLIP_EPS)) / wsum])
    return loss, stats


@jax.jit
def update(p, m, v, n, batch):
    b1, b2, eps = 0.9, 0.999, 1e-8
    (loss, stats), g = jax.value_and_grad(ppo_loss, has_aux=True)(p, batch)
    norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(g)))
    f = jnp.minimum(1.0, MAX_NORM / (norm + 1e-6))
    g = jax.tree_util.tree_map(lambda x: x * f, g)
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    bc1, bc2 = 1 - b1 ** n, 1 - b2 ** n
    p = jax.tree_util.tree_map(lambda p, m, v: p - (LR / bc1) * m / (jnp.sqrt(v) / jnp.sqrt(bc2) + eps), p, m, v)
    return p, m, v, jnp.concatenate([loss[None], stats])


@jax.jit
def decode(p, x, mask, key):
    """Sampling decode: actions [T, B], log π [T, B], values [T, B]."""
    u, e, keys, st, d = encode(p, x, mask)
    prev = onehot_emb(p, jnp.full((x.shape[1],), ACTIONS))

    def step(carry, xs):
        st, d, prev = carry
        u_j, k = xs
        lg, val, st, d = dec_step(p, e, keys, mask, st, d, u_j, prev)
        lp = jax.nn.log_softmax(lg, axis=-1)
        a = jax.random.categorical(k, lp, axis=-1)
        logp = jnp.take_along_axis(lp, a[:, None], axis=-1)[:, 0]
        return (st, d, onehot_emb(p, a)), (a, logp, val)

    _, out = jax.lax.scan(step, (st, d, prev), (u, jax.random.split(key, x.shape[0])))
    return out


def batch_arrays():
    """The synthetic rollout (the formulas of src/bench/mrlco.rs)."""
    n = T * E_SEQ
    j = jnp.arange(n * F, dtype=jnp.int32)
    x = ((j * 7919) % 1000).astype(jnp.float32).reshape(T, E_SEQ, F) / 1000.0
    i = jnp.arange(n, dtype=jnp.int32)
    a = (((i * 7919) % 13) % 2).reshape(T, E_SEQ)
    r = lambda mul: (((i * mul) % 1000).astype(jnp.float32) / 500.0 - 1.0).reshape(T, E_SEQ)
    old_logp = -0.69 + 0.1 * r(104729)
    adv, ret = r(7907), r(6007)
    mask = jnp.ones((T, E_SEQ), bool)
    return x, a, mask, old_logp, adv, ret, jnp.ones((T, E_SEQ))


def runners(hidden):
    p = init(jax.random.PRNGKey(1), hidden, hidden)
    batch = batch_arrays()
    st = {"p": p, "m": jax.tree_util.tree_map(jnp.zeros_like, p), "v": jax.tree_util.tree_map(jnp.zeros_like, p),
          "n": 1, "key": jax.random.PRNGKey(7)}

    def run_update(steps):
        p, m, v, n = st["p"], st["m"], st["v"], st["n"]
        t0 = time.perf_counter()
        for _ in range(steps):
            p, m, v, stats = update(p, m, v, jnp.float32(n), batch)
            stats.block_until_ready()  # mecrl reads its statistics back after each update
            n += 1
        jax.block_until_ready(p)
        dt = (time.perf_counter() - t0) / steps
        st.update(p=p, m=m, v=v, n=n)
        return dt

    def run_decode(steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            st["key"], k = jax.random.split(st["key"])
            out = decode(st["p"], batch[0], batch[2], k)
        jax.block_until_ready(out)
        return (time.perf_counter() - t0) / steps

    return {"update": run_update, "decode": run_decode}


def info():
    return {"jax_version": jax.__version__, "device": str(jax.devices()[0])}


def serve(hidden):
    rs = runners(hidden)
    print(json.dumps(info()), flush=True)
    for line in sys.stdin:
        name, steps = line.split()
        print(repr(rs[name](int(steps))), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--serve", action="store_true", help="answer timing requests on stdin")
    a = ap.parse_args()
    if a.serve:
        serve(a.hidden)
        return
    out = {}
    for name, run in runners(a.hidden).items():
        run(a.steps)  # warm-up (and compile)
        times = sorted(run(a.steps) for _ in range(a.reps))
        out[name] = times[len(times) // 2]
    print(json.dumps({"seconds_per_step": out, "hidden": a.hidden, **info()}))


if __name__ == "__main__":
    main()
