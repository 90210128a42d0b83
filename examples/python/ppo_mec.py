#!/usr/bin/env python3
"""PPO in JAX on `mecrl.make_vec("mec", 1024)`: the `mec` system of DIRS (docs/mec.md) as a vector
environment, one offloading target per IoTD (local or one of the M MEC servers) from the
channel state, reward 1/ΣΦ (§V-C). A factorized categorical policy (one softmax per IoTD) and a
value network, both MLPs; GAE(γ, 0.95) with γ = 0 by default (each step's channel state is drawn
afresh: a decision does not change the next state), clipped surrogate, Adam written out (no optax).

    python examples/python/ppo_mec.py [--num-envs 1024 --iterations 50]

It prints the mean reward per iteration next to all-local processing (1/N): a policy that
offloads well is above it.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import mecrl


def init_mlp(key, sizes):
    params = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        key, k = jax.random.split(key)
        scale = np.sqrt(2.0 / a) if i < len(sizes) - 2 else 0.01
        params.append((jax.random.normal(k, (a, b)) * scale, jnp.zeros(b)))
    return params


def mlp(params, x):
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def policy(params, obs, n, c):
    """(logits [B, N, M+1], value [B]) of flattened observations [B, M·N]."""
    logits = mlp(params["pi"], obs).reshape(-1, n, c)
    return logits, mlp(params["v"], obs)[:, 0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num-envs", type=int, default=1024)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--steps", type=int, default=16, help="rollout steps per iteration")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--minibatches", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--gamma", type=float, default=0.0,
                    help="discount: 0 by default, since the next channel state does not depend on the decision")
    ap.add_argument("--clip", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="cpu")
    a = ap.parse_args(argv)

    envs = mecrl.make_vec("mec", a.num_envs, backend=a.backend, seed=a.seed)
    m, n = envs.single_observation_space.shape  # [M, N]: servers x IoTDs
    c = envs.spec_dict["action"]["n"]  # M + 1 targets
    key = jax.random.PRNGKey(a.seed)
    k1, k2, key = jax.random.split(key, 3)
    params = {"pi": init_mlp(k1, [m * n, 256, 256, n * c]), "v": init_mlp(k2, [m * n, 256, 256, 1])}
    adam_m = jax.tree_util.tree_map(jnp.zeros_like, params)
    adam_v = jax.tree_util.tree_map(jnp.zeros_like, params)

    @jax.jit
    def act(params, obs, key):
        logits, value = policy(params, obs, n, c)
        actions = jax.random.categorical(key, logits)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), actions[..., None], -1)[..., 0].sum(-1)
        return actions, logp, value

    def loss_fn(params, obs, actions, old_logp, adv, ret):
        logits, value = policy(params, obs, n, c)
        logp_all = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(logp_all, actions[..., None], -1)[..., 0].sum(-1)
        ratio = jnp.exp(logp - old_logp)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - a.clip, 1 + a.clip) * adv).mean()
        entropy = -(jnp.exp(logp_all) * logp_all).sum((-1, -2)).mean()
        return pg + 0.5 * ((value - ret) ** 2).mean() - 0.001 * entropy

    @jax.jit
    def update(params, adam_m, adam_v, t, batch):
        g = jax.grad(loss_fn)(params, *batch)
        adam_m = jax.tree_util.tree_map(lambda mm, gg: 0.9 * mm + 0.1 * gg, adam_m, g)
        adam_v = jax.tree_util.tree_map(lambda vv, gg: 0.999 * vv + 0.001 * gg * gg, adam_v, g)
        corr = jnp.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        params = jax.tree_util.tree_map(lambda p, mm, vv: p - a.lr * corr * mm / (jnp.sqrt(vv) + 1e-8),
                                        params, adam_m, adam_v)
        return params, adam_m, adam_v

    obs, _ = envs.reset(seed=a.seed)
    obs = obs.reshape(a.num_envs, -1).copy()
    t_adam, history = 0, []
    scale = float(n)  # rewards 1/ΣΦ are about 1/N: scaled to about 1 for the value network
    t0 = time.perf_counter()
    for it in range(a.iterations):
        buf_obs, buf_act, buf_logp, buf_val, buf_rew, buf_done = [], [], [], [], [], []
        for _ in range(a.steps):
            key, k = jax.random.split(key)
            actions, logp, value = act(params, obs, k)
            actions = np.asarray(actions)
            nxt, reward, terminated, truncated, _ = envs.step(actions)
            buf_obs.append(obs)
            buf_act.append(actions)
            buf_logp.append(np.asarray(logp))
            buf_val.append(np.asarray(value))
            buf_rew.append(reward * scale)
            buf_done.append((terminated | truncated).astype(np.float32))
            obs = nxt.reshape(a.num_envs, -1).copy()
        # GAE(gamma, 0.95); an ended instance's next step is its reset step (reward 0): the
        # done flag cuts the bootstrap there
        _, _, last_v = act(params, obs, key)
        last_v = np.asarray(last_v)
        adv = np.zeros((a.steps, a.num_envs), dtype=np.float32)
        gae = np.zeros(a.num_envs, dtype=np.float32)
        for t in reversed(range(a.steps)):
            nv = last_v if t == a.steps - 1 else buf_val[t + 1]
            live = 1.0 - buf_done[t]
            delta = buf_rew[t] + a.gamma * nv * live - buf_val[t]
            gae = delta + a.gamma * 0.95 * live * gae
            adv[t] = gae
        ret = adv + np.stack(buf_val)
        flat = [np.concatenate(buf_obs), np.concatenate(buf_act), np.concatenate(buf_logp),
                adv.reshape(-1), ret.reshape(-1)]
        total = flat[0].shape[0]
        rng = np.random.default_rng(it)
        for _ in range(a.epochs):
            perm = rng.permutation(total)
            for mb in np.array_split(perm, a.minibatches):
                t_adam += 1
                params, adam_m, adam_v = update(params, adam_m, adam_v, t_adam, [x[mb] for x in flat])
        mean_reward = float(np.mean(buf_rew)) / scale
        history.append(mean_reward)
        print(f"iteration {it + 1:3d}: mean reward {mean_reward:.5f} (all-local {1.0 / n:.5f}),"
              f" {(it + 1) * a.steps * a.num_envs / (time.perf_counter() - t0):.0f} env-steps/s")
    return history


if __name__ == "__main__":
    main()
