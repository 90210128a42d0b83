"""`mecrl.make_vec`: a `gymnasium.vector.VectorEnv` over one mecrl batched environment."""

from __future__ import annotations

import json

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _native

SYSTEMS = ("mec", "dag", "crowd", "coop", "endedge")


def _spaces(spec: dict):
    """(single observation space, single action space) of one instance from mecrl's spec."""
    agents, a = spec["agents"], spec["action"]
    obs_shape = tuple(spec["obs_shape"]) if agents == 1 else (agents, *spec["obs_shape"])
    obs = spaces.Box(-np.inf, np.inf, shape=obs_shape, dtype=np.float32)
    comps = a["components"]
    if a["kind"] == "continuous":
        shape = (a["dim"],) if agents == 1 else (agents, a["dim"])
        act = spaces.Box(a["low"], a["high"], shape=shape, dtype=np.float32)
    elif agents == 1 and comps == 1:
        act = spaces.Discrete(a["n"])
    else:
        shape = (comps,) if agents == 1 else ((agents,) if comps == 1 else (agents, comps))
        act = spaces.MultiDiscrete(np.full(shape, a["n"], dtype=np.int64))
    return obs, act


def info_columns(mask, info, names) -> dict:
    """The info dict's columns shared by the vector and parallel forms: the action mask (when the
    system has masks) and one array per info column of the spec, views of the read buffers."""
    out = {}
    if mask is not None:
        out["action_mask"] = mask
    if info is not None:
        for k, name in enumerate(names):
            out[name] = info[:, k]
    return out


class MecrlVectorEnv(VectorEnv):
    """`num_envs` instances of a mecrl system stepped together (one call into Rust per step).

    Autoreset is Gymnasium's next-step mode: the step after an instance ends resets it and
    ignores its action. mecrl resets a batch as a whole, and every system's instances end
    together (a fixed horizon; `dag`'s graphs all have `gen["n"]` tasks), so such a step
    resets all of them. Rewards are one per instance; where mecrl's are per agent (endedge,
    eq. 18-19) the reward is their sum and `info["agent_rewards"]` [num_envs, agents] has them. Masks (coop, endedge) are `info["action_mask"]` [num_envs, agents, n];
    a masked action raises `mecrl.Error` unless `masked_action="kernel"`, which hands it to the
    system's kernels (`spec["invalid_action"]` says what they do).

    The arrays returned by `reset` and `step` are owned by the environment and overwritten by
    the next call: copy what you keep.
    """

    def __init__(self, system: str, num_envs: int, backend: str = "cpu", seed: int | None = None,
                 masked_action: str = "raise", **config):
        if system not in SYSTEMS:
            raise _native.Error(f"config error: system = {system!r}: expected one of {', '.join(SYSTEMS)}")
        if masked_action not in ("raise", "kernel"):
            raise _native.Error(f"config error: masked_action = {masked_action!r}: expected 'raise' or 'kernel'")
        self._native = _native.Env(system, int(num_envs), backend, json.dumps(config))
        self.spec_dict = spec = self._native.spec()
        self.system, self.num_envs = system, int(num_envs)
        self._check_mask = masked_action == "raise"
        self.metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}
        self.render_mode = None
        self.single_observation_space, self.single_action_space = _spaces(spec)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._obs = np.zeros((n, *self.single_observation_space.shape), dtype=np.float32)
        rshape = (n, spec["agents"]) if spec["reward_per_agent"] else (n,)
        self._reward = np.zeros(rshape, dtype=np.float32)
        # Gymnasium's vector rewards are one per instance: per-agent rewards (endedge) are
        # summed here and given whole in info["agent_rewards"]
        self._reward_out = np.zeros(n, dtype=np.float64)
        self._terminated = np.zeros(n, dtype=bool)
        self._truncated = np.zeros(n, dtype=bool)
        self._mask = (np.zeros((n, spec["agents"], spec["action"]["n"]), dtype=bool) if spec["masked"] else None)
        self._info = np.zeros((n, len(spec["info"])), dtype=np.float32) if spec["info"] else None
        self._state = np.zeros((n, *spec["state_shape"]), dtype=np.float32) if spec["state_shape"] else None
        self._autoreset = np.zeros(n, dtype=bool)
        self._next_seed = seed if seed is not None else 0
        self._episodes = 0

    # -- Gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset every instance; `seed` reseeds (else the next episode's seed: seed + episodes)."""
        if seed is not None:
            self._next_seed, self._episodes = int(seed), 0
        self._reset_all()
        return self._obs, self._infos()

    def step(self, actions):
        if self._autoreset.any():
            # next-step autoreset: every instance ended together, so all of them restart
            self._reset_all()
            self._reward[...] = 0.0
            self._reward_out[...] = 0.0
            return self._obs, self._reward_out, self._terminated, self._truncated, self._infos()
        if self.spec_dict["action"]["kind"] == "continuous":
            a = np.ascontiguousarray(actions, dtype=np.float32)
            self._check_shape(a)
            self._native.step_continuous(a.reshape(-1))
        else:
            a = np.asarray(actions)
            if a.dtype.kind not in "iub":
                raise _native.Error(f"config error: actions dtype = {a.dtype}: discrete actions must be integers")
            a = np.ascontiguousarray(a, dtype=np.int64)
            self._check_shape(a)
            self._native.step_discrete(a.reshape(-1), self._check_mask)
        self._read()
        self._autoreset = self._terminated | self._truncated
        if self._reward.ndim == 2:
            np.sum(self._reward, axis=1, dtype=np.float64, out=self._reward_out)
        else:
            np.copyto(self._reward_out, self._reward)
        return self._obs, self._reward_out, self._terminated, self._truncated, self._infos()

    def close_extras(self, **kwargs):
        self._native = None

    # -- helpers -------------------------------------------------------------------------
    def _check_shape(self, a: np.ndarray):
        want = self.action_space.shape
        if a.shape != want:
            raise _native.Error(f"config error: actions shape = {a.shape}: expected {want}")

    def _reset_all(self):
        self._native.reset(self._next_seed + self._episodes)
        self._episodes += 1
        self._read()
        self._terminated[...] = False
        self._truncated[...] = False
        self._autoreset[...] = False

    def _read(self):
        self._native.read(self._obs, self._reward, self._terminated, self._truncated, self._mask, self._info,
                          self._state)

    def _infos(self) -> dict:
        info = info_columns(self._mask, self._info, self.spec_dict["info"])
        if self._state is not None:
            info["state"] = self._state
        if self._reward.ndim == 2:
            info["agent_rewards"] = self._reward
        return info


def make_vec(system: str, num_envs: int, backend: str = "cpu", seed: int | None = None, **config) -> MecrlVectorEnv:
    """`num_envs` instances of `system` (mec, dag, crowd, coop, endedge) as one VectorEnv.

    `config` holds the fields of the system's Rust config (the TOML table of the same name);
    an unknown field raises `mecrl.Error` naming it. Extra options: mec `horizon` (steps per
    episode, default 100); dag `gen` (DagGenConfig fields, e.g. {"n": 20}), `system`
    (DagSystem fields), `graph_seed`, `parents` (12), `scaled_reward` (True).
    """
    return MecrlVectorEnv(system, num_envs, backend=backend, seed=seed, **config)
