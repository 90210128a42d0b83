"""`python -m mecrl.bench`: steps per second of each system through Python (a `MecrlVectorEnv`,
actions from numpy arrays, outputs into the env's arrays) next to the same steps in a Rust loop
(`mecrl._native.step_loop`: the contract's host step and the same reads) and, for `mec`, `coop`
and `endedge`, next to the plain-Python/numpy system of `mecrl.reference` behind Gymnasium's
`SyncVectorEnv` (`--ref-envs` copies: its cost is linear in them, so env-steps/s compare), in
one invocation, blocks alternating, medians and ranges.

    python -m mecrl.bench [--num-envs 4096] [--steps 20] [--blocks 5] [--systems mec,dag,...]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np

from gymnasium.vector import SyncVectorEnv

from . import _native
from .reference import CoopRef, EndedgeRef, MecRef
from .vector import SYSTEMS, MecrlVectorEnv


def _endedge_ref():
    return EndedgeRef(devices=50, servers=4, slots=110, deadline=12)


def _mec_ref():
    return MecRef(n_iotd=30, n_mec=2, horizon=100)


def _coop_ref():
    return CoopRef(n_nodes=20, horizon=100, deadline_slots=8, slot_s=0.5, max_queue=4)


# the plain-Python references, at the sizes of CONFIGS below (mecrl's defaults)
REFERENCES = {"mec": _mec_ref, "coop": _coop_ref, "endedge": _endedge_ref}

# the systems at their papers' default sizes, except dag's graphs (20 tasks, MRLCO's n)
CONFIGS = {"mec": {}, "dag": {"gen": {"n": 20}}, "crowd": {}, "coop": {}, "endedge": {}}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def actions_for(env: MecrlVectorEnv, steps: int, seed: int) -> np.ndarray:
    """[steps, *action_space.shape] int64: uniform choices (on the systems with masks both
    loops hand masked ones to the kernels, `masked_action="kernel"`)."""
    shape = (steps, *env.action_space.shape)
    n = env.spec_dict["action"]["n"]
    return np.random.default_rng(seed).integers(0, n, size=shape, dtype=np.int64)


def python_block(env: MecrlVectorEnv, acts: np.ndarray, seed: int) -> float:
    env.reset(seed=seed)
    t0 = time.perf_counter()
    for a in acts:
        env.step(a)
    return time.perf_counter() - t0


def ref_block(ref, acts: np.ndarray, seed: int) -> float:
    ref.reset(seed=seed)
    t0 = time.perf_counter()
    for a in acts:
        ref.step(a)
    return time.perf_counter() - t0


def run(systems, num_envs: int, steps: int, blocks: int, backend: str, ref_envs: int = 64) -> list[dict]:
    rows = []
    for system in systems:
        cfg = CONFIGS[system]
        probe = _native.Env(system, 1, backend, json.dumps(cfg)).spec()
        masked = probe["masked"]
        env = MecrlVectorEnv(system, num_envs, backend=backend, masked_action="kernel" if masked else "raise", **cfg)
        horizon = env.spec_dict["horizon"] or cfg.get("gen", {}).get("n", steps + 1)
        k = min(steps, horizon - 1)  # stay inside one episode: no autoreset step in the timing
        acts = actions_for(env, k, seed=1)
        flat = np.ascontiguousarray(acts.reshape(k, -1))
        ref = None
        if system in REFERENCES and ref_envs > 0:
            ref = SyncVectorEnv([REFERENCES[system]] * ref_envs)
            ref_acts = np.random.default_rng(2).integers(0, env.spec_dict["action"]["n"],
                                                         size=(k, *ref.action_space.shape))
        py, rs, pr = [], [], []
        # one untimed block each (allocations, caches), then alternating timed blocks
        for b in range(blocks + 1):
            t_rs = _native.step_loop(system, num_envs, 1, flat, backend=backend, config=json.dumps(cfg),
                                     check_mask=not masked)
            t_py = python_block(env, acts, seed=1)
            t_pr = ref_block(ref, ref_acts, seed=1) if ref is not None else None
            if b > 0:
                rs.append(t_rs / k)
                py.append(t_py / k)
                if t_pr is not None:
                    pr.append(t_pr / k)
        agents = env.spec_dict["agents"]
        rows.append({
            "system": system, "num_envs": num_envs, "agents": agents, "steps": k,
            "python_ms": statistics.median(py) * 1e3, "python_range_ms": [min(py) * 1e3, max(py) * 1e3],
            "rust_ms": statistics.median(rs) * 1e3, "rust_range_ms": [min(rs) * 1e3, max(rs) * 1e3],
            "python_env_steps_per_s": num_envs / statistics.median(py),
            "overhead": statistics.median(py) / statistics.median(rs) - 1.0,
            "reference_envs": ref_envs if pr else 0,
            "reference_env_steps_per_s": ref_envs / statistics.median(pr) if pr else None,
            "speedup_vs_reference": (num_envs / statistics.median(py)) / (ref_envs / statistics.median(pr))
            if pr else None,
        })
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m mecrl.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--num-envs", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=20, help="steps per timed block")
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--ref-envs", type=int, default=64, help="plain-Python envs in the SyncVectorEnv reference")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    a = ap.parse_args(argv)
    systems = [s for s in a.systems.split(",") if s]
    for s in systems:
        if s not in SYSTEMS:
            raise _native.Error(f"config error: systems = {s!r}: expected some of {', '.join(SYSTEMS)}")
    rows = run(systems, a.num_envs, a.steps, a.blocks, a.backend, a.ref_envs)
    if a.json:
        print(json.dumps(rows))
        return
    print(f"python -m mecrl.bench  (num_envs = {a.num_envs}, medians of {a.blocks} blocks, Python and Rust alternating;"
          f" backend {a.backend}; CPU: {cpu_model()})")
    print(f"{'system':<9} {'agents':>6} {'steps':>5} {'Python ms/step':>16} {'Rust ms/step':>14} "
          f"{'env-steps/s (Py)':>17} {'Python overhead':>16} {'plain-Python env-steps/s':>25} {'speedup':>8}")
    for r in rows:
        ref = (f"{r['reference_env_steps_per_s']:>25.0f} {r['speedup_vs_reference']:>7.0f}x"
               if r["reference_env_steps_per_s"] else f"{'-':>25} {'-':>8}")
        print(f"{r['system']:<9} {r['agents']:>6} {r['steps']:>5} {r['python_ms']:>16.2f} {r['rust_ms']:>14.2f} "
              f"{r['python_env_steps_per_s']:>17.0f} {r['overhead'] * 100:>15.1f}% {ref}")
    print("ranges (min-max ms/step): " + "; ".join(
        f"{r['system']} Python {r['python_range_ms'][0]:.2f}-{r['python_range_ms'][1]:.2f},"
        f" Rust {r['rust_range_ms'][0]:.2f}-{r['rust_range_ms'][1]:.2f}" for r in rows))


if __name__ == "__main__":
    main()
