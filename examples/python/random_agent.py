#!/usr/bin/env python3
"""A random agent on any mecrl system through Gymnasium's vector API (masks respected where the
system has them). `python examples/python/random_agent.py --system coop --num-envs 256`"""

import argparse
import time

import numpy as np

import mecrl


def random_actions(envs, info, rng):
    """Uniform over the allowed choices: over the mask where there is one, else the space."""
    if "action_mask" in info:
        m = info["action_mask"]  # [num_envs, agents, n]
        return (rng.random(m.shape) + m).argmax(-1).reshape(envs.action_space.shape)
    n = envs.spec_dict["action"]["n"]
    return rng.integers(0, n, size=envs.action_space.shape)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--system", default="mec", choices=mecrl.SYSTEMS)
    ap.add_argument("--num-envs", type=int, default=256)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="cpu")
    a = ap.parse_args(argv)
    config = {"gen": {"n": 20}} if a.system == "dag" else {}
    envs = mecrl.make_vec(a.system, a.num_envs, backend=a.backend, seed=a.seed, **config)
    rng = np.random.default_rng(a.seed)
    obs, info = envs.reset(seed=a.seed)
    returns = np.zeros(a.num_envs)
    finished = []
    t0 = time.perf_counter()
    for _ in range(a.steps):
        obs, reward, terminated, truncated, info = envs.step(random_actions(envs, info, rng))
        returns += reward
        done = terminated | truncated
        if done.any():
            finished.extend(returns[done].tolist())
            returns[done] = 0.0
    dt = time.perf_counter() - t0
    print(f"{a.system}: {a.steps} steps x {a.num_envs} envs in {dt:.2f} s ({a.steps * a.num_envs / dt:.0f} env-steps/s);"
          f" episodes finished: {len(finished)}"
          + (f", mean return {np.mean(finished):.4g}" if finished else f", mean partial return {returns.mean():.4g}"))
    return finished, returns


if __name__ == "__main__":
    main()
