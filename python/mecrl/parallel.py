"""PettingZoo parallel environments of the multi-agent systems (crowd, coop, endedge), and a
batched form that steps many such environments at once with arrays per agent group."""

from __future__ import annotations

import functools
import json

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from . import _native
from .vector import info_columns

# the agents of each multi-agent system: one per user, edge node or terminal
AGENT_GROUPS = {"crowd": "user", "coop": "node", "endedge": "terminal"}


def _check_system(system: str):
    if system not in AGENT_GROUPS:
        raise _native.Error(
            f"config error: system = {system!r}: parallel environments are {', '.join(AGENT_GROUPS)}")


class MecrlParallelVecEnv:
    """`num_envs` instances of a multi-agent system, stepped at once, with one array per
    quantity for the agent group (no per-agent dicts: at 10,000 agents those would dominate).

    - `reset(seed)` -> (obs [num_envs, agents, *obs_shape], info)
    - `step(actions [num_envs, agents])` -> (obs, rewards [num_envs, agents], terminated
      [num_envs], truncated [num_envs], info)

    Team rewards (crowd, coop) are repeated for every agent. `info["action_mask"]`
    [num_envs, agents, n] where the system has masks, `state()` [num_envs, *state_shape] for
    centralized critics (the observations of all agents where the system has no own state).
    Arrays are the environment's own and overwritten by the next call. No autoreset: after
    the episode ends, call `reset`.
    """

    def __init__(self, system: str, num_envs: int, backend: str = "cpu", masked_action: str = "raise", **config):
        _check_system(system)
        if masked_action not in ("raise", "kernel"):
            raise _native.Error(f"config error: masked_action = {masked_action!r}: expected 'raise' or 'kernel'")
        self.system, self.group, self.num_envs = system, AGENT_GROUPS[system], int(num_envs)
        self._native = _native.Env(system, self.num_envs, backend, json.dumps(config))
        self.spec_dict = spec = self._native.spec()
        self._check_mask = masked_action == "raise"
        n, a = self.num_envs, spec["agents"]
        self.num_agents = a
        self.obs_shape = tuple(spec["obs_shape"])
        self.n_actions = spec["action"]["n"]
        self._obs = np.zeros((n, a, *self.obs_shape), dtype=np.float32)
        self._reward = np.zeros((n, a) if spec["reward_per_agent"] else (n,), dtype=np.float32)
        self._rewards = np.zeros((n, a), dtype=np.float32)
        self._terminated = np.zeros(n, dtype=bool)
        self._truncated = np.zeros(n, dtype=bool)
        self._mask = np.zeros((n, a, self.n_actions), dtype=bool) if spec["masked"] else None
        self._info = np.zeros((n, len(spec["info"])), dtype=np.float32) if spec["info"] else None
        self._state = np.zeros((n, *spec["state_shape"]), dtype=np.float32) if spec["state_shape"] else None
        self._ended = True

    @property
    def state_shape(self) -> tuple:
        if self._state is not None:
            return tuple(self.spec_dict["state_shape"])
        return (self.num_agents * int(np.prod(self.obs_shape)),)

    def reset(self, seed: int = 0):
        self._native.reset(int(seed))
        self._read()
        self._ended = False
        return self._obs, self._infos()

    def step(self, actions):
        if self._ended:
            raise _native.Error("config error: step = after the end: reset() first")
        a = np.asarray(actions)
        if a.dtype.kind not in "iub":
            raise _native.Error(f"config error: actions dtype = {a.dtype}: discrete actions must be integers")
        if a.shape != (self.num_envs, self.num_agents):
            raise _native.Error(
                f"config error: actions shape = {a.shape}: expected {(self.num_envs, self.num_agents)}")
        self._native.step_discrete(np.ascontiguousarray(a, dtype=np.int64).reshape(-1), self._check_mask)
        self._read()
        self._ended = bool((self._terminated | self._truncated).all())
        return self._obs, self._rewards, self._terminated, self._truncated, self._infos()

    def state(self) -> np.ndarray:
        if self._state is not None:
            return self._state
        return self._obs.reshape(self.num_envs, -1)

    def _read(self):
        self._native.read(self._obs, self._reward, self._terminated, self._truncated, self._mask, self._info,
                          self._state)
        if self._reward.ndim == 2:
            np.copyto(self._rewards, self._reward)
        else:
            self._rewards[...] = self._reward[:, None]

    def _infos(self) -> dict:
        return info_columns(self._mask, self._info, self.spec_dict["info"])


class MecrlParallelEnv(ParallelEnv):
    """One instance of a multi-agent system as a `pettingzoo.ParallelEnv`: agents
    `user_i` / `node_i` / `terminal_i`. Where the system has masks an observation is
    {"observation": ..., "action_mask": int8 [n]} (PettingZoo's convention); rewards are the
    team's (crowd, coop) or the agent's own (endedge); `state()` is the system's state or all
    observations concatenated. All agents end together; afterwards `agents` is empty until
    `reset`. Returned arrays are copies."""

    metadata = {"name": "mecrl_parallel_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, system: str, backend: str = "cpu", masked_action: str = "raise", **config):
        self._vec = MecrlParallelVecEnv(system, 1, backend=backend, masked_action=masked_action, **config)
        self.render_mode = None
        self.possible_agents = [f"{self._vec.group}_{i}" for i in range(self._vec.num_agents)]
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self.agents = []
        box = spaces.Box(-np.inf, np.inf, shape=self._vec.obs_shape, dtype=np.float32)
        if self._vec._mask is not None:
            mask = spaces.Box(0, 1, shape=(self._vec.n_actions,), dtype=np.int8)
            self._obs_space = spaces.Dict({"observation": box, "action_mask": mask})
        else:
            self._obs_space = box
        self._act_space = spaces.Discrete(self._vec.n_actions)
        self.state_space = spaces.Box(-np.inf, np.inf, shape=self._vec.state_shape, dtype=np.float32)
        self._seed = 0

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent):
        return self._obs_space

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._seed = int(seed)
        else:
            self._seed += 1
        obs, info = self._vec.reset(self._seed)
        self.agents = list(self.possible_agents)
        return self._observations(obs, info), {a: {} for a in self.agents}

    def step(self, actions: dict):
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise _native.Error(f"config error: actions = missing {missing[:3]}: every live agent acts")
        a = np.zeros((1, self._vec.num_agents), dtype=np.int64)
        for agent, act in actions.items():
            if agent not in self._index:
                raise _native.Error(f"config error: actions[{agent!r}]: not an agent of this environment")
            a[0, self._index[agent]] = int(act)
        obs, rew, te, tr, info = self._vec.step(a)
        agents = self.agents
        out = self._observations(obs, info)
        rewards = {ag: float(rew[0, self._index[ag]]) for ag in agents}
        term = {ag: bool(te[0]) for ag in agents}
        trunc = {ag: bool(tr[0]) for ag in agents}
        infos = {ag: {} for ag in agents}
        if te[0] or tr[0]:
            self.agents = []
        return out, rewards, term, trunc, infos

    def state(self) -> np.ndarray:
        return self._vec.state()[0].copy()

    def _observations(self, obs, info) -> dict:
        if "action_mask" in info:
            m = info["action_mask"][0].astype(np.int8)
            return {a: {"observation": obs[0, i].copy(), "action_mask": m[i].copy()}
                    for a, i in self._index.items()}
        return {a: obs[0, i].copy() for a, i in self._index.items()}

    def close(self):
        self._vec = None


def parallel_env(system: str, backend: str = "cpu", **config) -> MecrlParallelEnv:
    """One instance of crowd, coop or endedge as a pettingzoo.ParallelEnv (config as in
    `make_vec`)."""
    return MecrlParallelEnv(system, backend=backend, **config)


def parallel_vec(system: str, num_envs: int, backend: str = "cpu", **config) -> MecrlParallelVecEnv:
    """`num_envs` instances of crowd, coop or endedge stepped at once, arrays per agent group."""
    return MecrlParallelVecEnv(system, num_envs, backend=backend, **config)
