#!/usr/bin/env python3
"""JAX-CPU reference for `mecrl bench crbdrqn`: one CRB-DRQN training step (src/algo/crbdrqn/)
jitted by XLA on the CPU, with the same networks, sizes and steps as mecrl's `CrbDrqn::update`:

- familiarity sampling (eq. 22) of K trajectories from a pool of P: weights (ln N / N)^(alpha/2)
  with N = 3 + times sampled, K categorical draws, the drawn counts += 1;
- the drawn trajectories' n steps and next steps gathered from the pool (states, Load(t)
  windows, actions, rewards, terminal flags);
- the Q-network: (eta, mu, q) [F] -> ReLU 32; Load(t) [C, E] -> LSTM 20 (torch gates i, f, g,
  o; forget bias 1) over the C rows, its last h; ReLU(W_o f + W_l h + b) 64 -> ReLU 64 -> dueling
  head V (64 -> 1) and A (64 -> 1 + E), Q = V + A - mean A (eq. 20);
- the double-DQN target (eq. 23-24) with the online and target networks on the next states;
  the loss (25), mean squared error over the n*K rows; RMSProp (lr 1e-3, alpha 0.9, eps 1e-8,
  torch semantics).

--serve answers lines "step STEPS" with the seconds per step (first line: JSON {"jax_version",
"device"}), as tools/bench_nn_jax.py does for `mecrl bench nn`.

    pip install jax      # then: mecrl bench crbdrqn (or --python PATH to this interpreter)
"""
import time

import jax
import jax.numpy as jnp
import jax_serve

GAMMA, LR, ALPHA_RMS, EPS, FAM_ALPHA = 0.9, 1e-3, 0.9, 1e-8, 1.0


def xavier(key, i, o):
    lim = (6.0 / (i + o)) ** 0.5
    return jax.random.uniform(key, (i, o), minval=-lim, maxval=lim)


def net(key, f, e, c, oh=32, lh=20, h1=64, h2=64):
    k = jax.random.split(key, 8)
    a = 1 + e
    bias = jnp.zeros(4 * lh).at[lh:2 * lh].set(1.0)
    return dict(wo=xavier(k[0], f, oh), bo=jnp.zeros(oh),
                wx=xavier(k[1], e, 4 * lh), wh=xavier(k[2], lh, 4 * lh), bl=bias,
                mo=xavier(k[3], oh, h1), ml=xavier(k[4], lh, h1), mb=jnp.zeros(h1),
                w2=xavier(k[5], h1, h2), b2=jnp.zeros(h2),
                wv=xavier(k[6], h2, 1), bv=jnp.zeros(1), wa=xavier(k[7], h2, a), ba=jnp.zeros(a))


def q_values(p, obs, load):
    """obs [R, F], load [R, C, E] -> Q [R, 1 + E]."""
    f = jax.nn.relu(obs @ p["wo"] + p["bo"])
    r = obs.shape[0]
    lh = p["wh"].shape[0]

    def step(carry, x):
        h, c = carry
        g = x @ p["wx"] + h @ p["wh"] + p["bl"]
        i, fg, gg, o = jnp.split(g, 4, axis=-1)
        c = jax.nn.sigmoid(fg) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), None

    (h, _), _ = jax.lax.scan(step, (jnp.zeros((r, lh)), jnp.zeros((r, lh))), jnp.swapaxes(load, 0, 1))
    z = jax.nn.relu(f @ p["mo"] + h @ p["ml"] + p["mb"])
    z = jax.nn.relu(z @ p["w2"] + p["b2"])
    v = z @ p["wv"] + p["bv"]
    a = z @ p["wa"] + p["ba"]
    return v + a - jnp.mean(a, axis=-1, keepdims=True)


def loss_fn(p, cur_obs, cur_load, act, y):
    q = q_values(p, cur_obs, cur_load)
    taken = jnp.take_along_axis(q, act[:, None], axis=-1)[:, 0]
    return jnp.mean((taken - y) ** 2)


@jax.jit
def train_step(p, p_target, v, fam, pool, key):
    obs, load, act, rew, nxt = pool
    k, n = KN
    nn = (fam + 3).astype(jnp.float32)
    w = jnp.exp(0.5 * FAM_ALPHA * (jnp.log(jnp.log(nn)) - jnp.log(nn)))
    idx = jax.random.choice(key, fam.shape[0], (k,), p=w / jnp.sum(w))
    fam = fam.at[idx].add(1)
    # step-major rows s*K + k: states (steps 0..n-1) and next states (1..n)
    so = jnp.swapaxes(obs[idx], 0, 1)
    sl = jnp.swapaxes(load[idx], 0, 1)
    cur_obs, nxt_obs = so[:n].reshape(n * k, -1), so[1:].reshape(n * k, -1)
    cur_load, nxt_load = sl[:n].reshape(n * k, *sl.shape[2:]), sl[1:].reshape(n * k, *sl.shape[2:])
    a = jnp.swapaxes(act[idx], 0, 1).reshape(-1)
    r = jnp.swapaxes(rew[idx], 0, 1).reshape(-1)
    term = jnp.zeros((n, k)).at[n - 1].set(1.0 - nxt[idx]).reshape(-1)
    q_on = q_values(p, nxt_obs, nxt_load)
    q_tg = q_values(p_target, nxt_obs, nxt_load)
    best = jnp.argmax(q_on, axis=-1)
    y = r + GAMMA * (1.0 - term) * jnp.take_along_axis(q_tg, best[:, None], axis=-1)[:, 0]
    g = jax.grad(loss_fn)(p, cur_obs, cur_load, a, jax.lax.stop_gradient(y))
    v = jax.tree_util.tree_map(lambda v, g: ALPHA_RMS * v + (1 - ALPHA_RMS) * g * g, v, g)
    p = jax.tree_util.tree_map(lambda p, g, v: p - LR * g / (jnp.sqrt(v) + EPS), p, g, v)
    return p, v, fam


KN = (4, 4)


def runners(k, n, pool_size, f, e, c):
    global KN
    KN = (k, n)
    key = jax.random.PRNGKey(1)
    p = net(key, f, e, c)
    pt = net(jax.random.PRNGKey(2), f, e, c)
    v = jax.tree_util.tree_map(jnp.zeros_like, p)
    kk = jax.random.split(key, 5)
    pool = (jax.random.uniform(kk[0], (pool_size, n + 1, f)),
            jax.random.uniform(kk[1], (pool_size, n + 1, c, e), maxval=9.0),
            jax.random.randint(kk[2], (pool_size, n), 0, 1 + e),
            -jax.random.uniform(kk[3], (pool_size, n), maxval=36.0),
            (jax.random.uniform(kk[4], (pool_size,)) < 0.9).astype(jnp.float32))
    fam = jnp.zeros(pool_size, dtype=jnp.int32)
    st = {"p": p, "v": v, "fam": fam, "i": 0}

    def run_step(steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            st["i"] += 1
            p, v, fam = train_step(st["p"], pt, st["v"], st["fam"], pool, jax.random.PRNGKey(st["i"]))
            jax.block_until_ready((p, fam))
            st.update(p=p, v=v, fam=fam)
        return (time.perf_counter() - t0) / steps

    return {"step": run_step}


def main():
    jax_serve.main([("k", 4), ("n", 4), ("pool", 20000), ("f", 7), ("e", 4), ("c", 10), ("steps", 100),
                    ("reps", 3)],
                   lambda x: runners(x.k, x.n, x.pool, x.f, x.e, x.c), "step", "seconds_per_step")


if __name__ == "__main__":
    main()
