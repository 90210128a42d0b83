"""Plain-Python/numpy versions of two systems as `gymnasium.Env`s, the references that
`python -m mecrl.bench` steps behind `gymnasium.vector.SyncVectorEnv`: what a researcher writes
without mecrl. Each does at most the work of mecrl's system (so a ratio against it is not
flattering to mecrl):

- `EndedgeRef`: the `endedge` slot of tools/bench_endedge_python.py (reference semantics, the
  published simulator's order: local, edge with the previous slot's queue counts, transmit,
  recount; deque FIFOs per terminal and per (terminal, server); Bernoulli arrivals), with the
  actions of the step deciding where the arrived tasks go, per-terminal rewards −delay / Const.
- `MecRef`: the `mec` objective in numpy for one instance per step: a fresh channel state, a
  cost table from it, ΣΦ of the decision with the exact allocation's closed form (the
  sqrt-weighted MEC term of tools/bench_mec_numpy.py), reward 1/ΣΦ. It skips the per-IoTD
  optimal transmit power of mecrl's model, so it is cheaper than the real system.
"""

from __future__ import annotations

import random
from collections import deque

import gymnasium
import numpy as np
from gymnasium import spaces


class EndedgeRef(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self, devices=50, servers=5, slots=110, deadline=10, p_arrival=0.3):
        self.D, self.E, self.T, self.tau, self.p = devices, servers, slots, deadline, p_arrival
        self.local_cap = (2.5 * 0.1) / 0.297
        self.edge_cap = (41.8 * 0.1) / 0.297
        self.tran_cap = 14 * 0.1
        self.sizes = [2.0 + 0.1 * k for k in range(30)]
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(devices, 3 + servers), dtype=np.float32)
        self.action_space = spaces.MultiDiscrete(np.full(devices, 1 + servers))
        self.rnd = random.Random(0)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.rnd = random.Random(seed)
        D, E = self.D, self.E
        self.t = 0
        self.qloc = [deque() for _ in range(D)]
        self.qtran = [deque() for _ in range(D)]
        self.qedge = [[deque() for _ in range(E)] for _ in range(D)]
        self.cur_loc = [None] * D
        self.cur_tran = [None] * D
        self.cur_edge = [[None] * E for _ in range(D)]
        self.m = [0] * E
        self._arrive()
        return self._obs(), {}

    def _arrive(self):
        arrive = self.t < self.T - self.tau
        self.arrived = [self.sizes[self.rnd.randrange(30)] if arrive and self.rnd.random() < self.p else 0.0
                        for _ in range(self.D)]

    def _obs(self):
        o = np.zeros((self.D, 3 + self.E), dtype=np.float32)
        for d in range(self.D):
            o[d, 0] = self.arrived[d]
            o[d, 1] = sum(x[2] for x in self.qloc[d])
            o[d, 2] = sum(x[2] for x in self.qtran[d])
            for e in range(self.E):
                o[d, 3 + e] = self.m[e]
        return o

    def step(self, action):
        D, E, t, tau = self.D, self.E, self.t, self.tau
        reward = [0.0] * D
        const = -3.0 * tau

        def pop(q, d):
            while q:
                task = q.popleft()
                if t - task[0] + 1 <= tau:
                    return task
                reward[d] += const
            return None

        for d in range(D):
            size = self.arrived[d]
            if size > 0:
                act = int(action[d])
                if act == 0:
                    self.qloc[d].append([t, size, size])
                else:
                    self.qtran[d].append([t, size, size, act - 1])
            if self.cur_loc[d] is None:
                self.cur_loc[d] = pop(self.qloc[d], d)
            c = self.cur_loc[d]
            if c is not None:
                c[2] -= self.local_cap
                if c[2] <= 0:
                    reward[d] -= t - c[0] + 1
                    self.cur_loc[d] = None
                elif t - c[0] + 1 == tau:
                    reward[d] += const
                    self.cur_loc[d] = None
        for d in range(D):
            for e in range(E):
                if self.cur_edge[d][e] is None and self.qedge[d][e]:
                    self.cur_edge[d][e] = pop(self.qedge[d][e], d)
                c = self.cur_edge[d][e]
                if c is not None:
                    c[2] -= self.edge_cap / max(self.m[e], 1)
                    if c[2] <= 0:
                        reward[d] -= t - c[0] + 1
                        self.cur_edge[d][e] = None
                    elif t - c[0] + 1 == tau:
                        reward[d] += const
                        self.cur_edge[d][e] = None
        for d in range(D):
            if self.cur_tran[d] is None:
                self.cur_tran[d] = pop(self.qtran[d], d)
            c = self.cur_tran[d]
            if c is not None:
                c[2] -= self.tran_cap
                if c[2] <= 0:
                    self.qedge[d][c[3]].append([c[0], c[1], c[1]])
                    self.cur_tran[d] = None
                elif t - c[0] + 1 == tau:
                    reward[d] += const
                    self.cur_tran[d] = None
        for e in range(E):
            self.m[e] = sum(1 for d in range(D) if self.qedge[d][e] or self.cur_edge[d][e] is not None)
        self.t += 1
        self._arrive()
        truncated = self.t >= self.T
        return self._obs(), float(sum(reward)), False, truncated, {"agent_rewards": np.array(reward, np.float32)}


class MecRef(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self, n_iotd=30, n_mec=2, horizon=100, phi_t=0.5, f_max=50e9):
        self.N, self.M, self.H, self.phi_t, self.f_max = n_iotd, n_mec, horizon, phi_t, f_max
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(n_mec, n_iotd), dtype=np.float32)
        self.action_space = spaces.MultiDiscrete(np.full(n_iotd, n_mec + 1))
        self.rng = np.random.default_rng(0)

    def _draw(self):
        self.gain = self.rng.standard_normal((self.M, self.N)).astype(np.float32)
        # local cost 1 per IoTD; an MEC link's cost falls with its gain
        self.cost = np.concatenate([np.ones((self.N, 1)), 0.5 / (1.0 + np.exp(self.gain.T))], axis=1)
        self.sqrt_f = np.full(self.N, np.sqrt(1e9))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self._draw()
        return self.gain, {}

    def step(self, action):
        a = np.asarray(action)
        tx = self.cost[np.arange(self.N), a].sum()
        s = np.bincount(a, weights=self.sqrt_f, minlength=self.M + 1)
        objective = tx + self.phi_t / self.f_max * (s[1:] ** 2).sum()
        self.t += 1
        self._draw()
        return self.gain, float(1.0 / objective), False, self.t >= self.H, {"objective": objective}
