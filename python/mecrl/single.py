"""`mecrl.make`: one instance of a mecrl system as a `gymnasium.Env`."""

from __future__ import annotations

import gymnasium
import numpy as np

from .vector import MecrlVectorEnv


class MecrlEnv(gymnasium.Env):
    """One instance (a `MecrlVectorEnv` of one). The returned arrays are copies; the reward is a
    float (the sum over agents where mecrl's are per agent, those in `info["agent_rewards"]`)."""

    metadata = {"render_modes": []}

    def __init__(self, system: str, backend: str = "cpu", masked_action: str = "raise", **config):
        self._vec = MecrlVectorEnv(system, 1, backend=backend, masked_action=masked_action, **config)
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self.render_mode = None
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self._vec.reset(seed=seed)
        self._done = False
        return obs[0].copy(), self._one(info)

    def step(self, action):
        if self._done:
            raise gymnasium.error.ResetNeeded("call reset() before step(): the episode has ended")
        obs, reward, terminated, truncated, info = self._vec.step(np.asarray(action)[None])
        self._done = bool(terminated[0] or truncated[0])
        return obs[0].copy(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._one(info)

    @staticmethod
    def _one(info: dict) -> dict:
        return {k: np.array(v[0]) for k, v in info.items()}


def make(system: str, backend: str = "cpu", **config) -> MecrlEnv:
    """One instance of `system` as a gymnasium.Env (config as in `make_vec`)."""
    return MecrlEnv(system, backend=backend, **config)
