"""Plain-Python/numpy versions of two systems as `gymnasium.Env`s, the references that
`python -m mecrl.bench` steps behind `gymnasium.vector.SyncVectorEnv`: what a researcher writes
without mecrl. Each does at most the work of mecrl's system (so a ratio against it is not
flattering to mecrl):

- `EndedgeRef`: the `endedge` slot of tools/bench_endedge_python.py (reference semantics, the
  published simulator's order: local, edge with the previous slot's queue counts, transmit,
  recount; deque FIFOs per terminal and per (terminal, server); Bernoulli arrivals), with the
  actions of the step deciding where the arrived tasks go, per-terminal rewards −delay / Const.
- `CoopRef`: the `coop` slot of tools/bench_coop_python.py (docs/coop.md: Bernoulli arrivals,
  FIFO execution and send queues served per slot, failures drawn once per task, drops at the
  deadline, team reward), with the actions of the step as the arrived tasks' targets (a
  target whose queue is full, or N, processes locally).
- `MecRef`: the `mec` step in numpy with mecrl's model: a fresh channel (eq. 3), the
  observation, every link's optimal power by Newton (eq. 13, vectorized over the links), rates
  (eq. 2), ΣΦ of the decision with the KKT CPU shares, reward 1/ΣΦ.
"""

from __future__ import annotations

import math
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
    """The `mec` step in numpy with mecrl's model (src/env/mec/model.rs, docs/mec.md): IoTDs
    and MEC servers placed uniformly in the area, a fresh Rayleigh channel per step (eq. 3),
    the observation (ln h − mean) / std per server, each offloaded task at its optimal transmit
    power (eq. 13, Newton on (1+t)ln(1+t) − t = φ_T c/φ_E, vectorized over all links), its rate
    (eq. 2), and ΣΦ of the decision with the KKT CPU shares (eq. 13); reward 1/ΣΦ."""

    metadata = {"render_modes": []}

    def __init__(self, n_iotd=30, n_mec=2, horizon=100, area_m=50.0, beta0=1e-3, bandwidth_hz=1e6,
                 noise_psd=1e-12, task_bits=8e5, task_cycles=1e9, f_local_hz=1e9, f_mec_max_hz=50e9,
                 p_max_w=1.5, kappa=1e-27, phi_t=0.5, phi_e=0.5, d2_min_m2=1.0):
        self.N, self.M, self.H = n_iotd, n_mec, horizon
        self.c = dict(area=area_m, beta0=beta0, B=bandwidth_hz, n0=noise_psd, D=task_bits, F=task_cycles,
                      f0=f_local_hz, fmax=f_mec_max_hz, pmax=p_max_w, kappa=kappa, phi_t=phi_t, phi_e=phi_e,
                      d2min=d2_min_m2)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(n_mec, n_iotd), dtype=np.float32)
        self.action_space = spaces.MultiDiscrete(np.full(n_iotd, n_mec + 1))
        self.rng = np.random.default_rng(0)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.rng = np.random.default_rng(seed)
        c = self.c
        self.iotd = self.rng.uniform(0, c["area"], size=(self.N, 2))
        self.mec = self.rng.uniform(0, c["area"], size=(self.M, 2))
        self.d2 = np.maximum(((self.mec[:, None, :] - self.iotd[None, :, :]) ** 2).sum(-1), c["d2min"])
        self.t = 0
        self._draw()
        return self.obs, {}

    def _draw(self):
        c = self.c
        self.h = c["beta0"] * self.rng.exponential(1.0, size=(self.M, self.N)) / self.d2  # eq. 3
        lh = np.log(self.h)
        self.obs = ((lh - lh.mean(1, keepdims=True)) / (lh.std(1, keepdims=True) + 1e-12)).astype(np.float32)
        # eq. 13, power part: Newton from above on every link at once
        cc = self.h / (c["n0"] * c["B"])
        s = c["phi_t"] * cc / c["phi_e"]
        t_max = cc * c["pmax"]
        t = t_max.copy()
        boxed = (1 + t_max) * np.log1p(t_max) - t_max > s
        live = boxed.copy()
        for _ in range(64):
            if not live.any():
                break
            nxt = (t + s) / np.log1p(t) - 1.0
            step = live & (nxt < t)
            t = np.where(step, nxt, t)
            live = step
        p = np.where(boxed, np.minimum(t / cc, c["pmax"]), c["pmax"])
        r = c["B"] * np.log2(1 + p * self.h / (c["n0"] * c["B"]))  # eq. 2
        self.tx = (c["phi_t"] + c["phi_e"] * p) * c["D"] / r  # transmission part of Φ
        t_loc = c["F"] / c["f0"]
        self.local = c["phi_t"] * t_loc + c["phi_e"] * c["kappa"] * c["f0"] ** 2 * c["F"]  # eq. 8-10

    def step(self, action):
        a = np.asarray(action)
        c = self.c
        off = a > 0
        phi = np.where(off, 0.0, self.local)
        phi[off] = self.tx[a[off] - 1, np.nonzero(off)[0]]
        # KKT shares f_i = F_max √F_i / Σ √F_k: the compute time sums to (Σ √F_k)² / F_max per MEC
        for j in range(1, self.M + 1):
            k = int((a == j).sum())
            if k:
                phi_comp = c["phi_t"] * (k * np.sqrt(c["F"])) ** 2 / c["fmax"]
                phi[a == j] += phi_comp / k
        objective = float(phi.sum())
        self.t += 1
        self._draw()
        return self.obs, 1.0 / objective, False, self.t >= self.H, {"objective": objective}


class _Task:
    __slots__ = ("origin", "target", "t_arr", "size", "cycles", "rem", "link_fail", "node_fail")


class CoopRef(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self, n_nodes=20, horizon=100, deadline_slots=8, slot_s=0.5, max_queue=4):
        self.n, self.H, self.w, self.dt, self.max_queue = n_nodes, horizon, deadline_slots, slot_s, max_queue
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(n_nodes, 3 * n_nodes + 5), dtype=np.float32)
        self.action_space = spaces.MultiDiscrete(np.full(n_nodes, n_nodes + 1))
        self.rng = random.Random(0)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        rng = self.rng = random.Random(seed)
        n = self.n
        cores = [4, 8, 16, 20, 24, 28, 32]
        self.lam = [rng.uniform(0.0, 1.0) for _ in range(n)]
        self.cap = [rng.choice(cores) * 3e9 for _ in range(n)]
        self.alpha = [rng.uniform(0.0, 0.1) for _ in range(n)]
        self.rate = [[0.0] * n for _ in range(n)]
        self.beta = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                self.rate[i][j] = self.rate[j][i] = rng.uniform(8e7, 3.2e8)
                self.beta[i][j] = self.beta[j][i] = rng.uniform(0.0, 0.03)
        self.execq = [[] for _ in range(n)]
        self.sendq = [[[] for _ in range(n)] for _ in range(n)]
        self.t = 0
        self._arrive()
        return self._obs(), {}

    def _arrive(self):
        rng, n = self.rng, self.n
        self.arrived = [None] * n
        for i in range(n):
            if self.t >= self.H or rng.random() >= self.lam[i]:
                continue
            k = _Task()
            k.origin, k.t_arr = i, self.t
            k.size = rng.uniform(8e6, 6.4e7)
            k.cycles = rng.uniform(800.0, 2400.0) * k.size
            self.arrived[i] = k

    def _obs(self):
        n = self.n
        o = np.zeros((n, 3 * n + 5), dtype=np.float32)
        lens = [len(q) for q in self.execq]
        for i in range(n):
            o[i, :n] = lens
            o[i, n:2 * n] = [r / 3.2e8 for r in self.rate[i]]
            o[i, 2 * n:3 * n] = self.beta[i]
            k = self.arrived[i]
            o[i, 3 * n:] = [self.lam[i], self.cap[i] / 1e11, self.alpha[i], self.t / self.H,
                            0.0 if k is None else k.size / 6.4e7]
        return o

    def step(self, action):
        n, t, w, dt, rng = self.n, self.t, self.w, self.dt, self.rng
        reward = 0
        lens = [len(q) for q in self.execq]
        for i in range(n):
            k = self.arrived[i]
            if k is None:
                continue
            j = int(action[i])
            if j >= n or (j != i and lens[j] >= self.max_queue):
                j = i
            k.target = j
            r_link = 1.0 if j == i else math.exp(-self.beta[i][j] * (k.size / self.rate[i][j]))
            r_node = math.exp(-self.alpha[j] * (k.cycles / self.cap[j]))
            k.link_fail = j != i and rng.random() >= r_link
            k.node_fail = rng.random() >= r_node
            if j == i:
                k.rem = k.cycles
                self.execq[i].append(k)
            else:
                k.rem = k.size
                self.sendq[i][j].append(k)
        for j in range(n):
            budget = self.cap[j] * dt
            q = self.execq[j]
            while q and budget > 0.0:
                k = q[0]
                if k.rem <= budget:
                    budget -= k.rem
                    q.pop(0)
                    reward += -1 if k.node_fail else 1
                else:
                    k.rem -= budget
                    budget = 0.0
        for i in range(n):
            for j in range(n):
                q = self.sendq[i][j]
                budget = self.rate[i][j] * dt
                while q and budget > 0.0:
                    k = q[0]
                    if k.rem <= budget:
                        budget -= k.rem
                        q.pop(0)
                        if k.link_fail:
                            reward -= 1
                        else:
                            k.rem = k.cycles
                            self.execq[j].append(k)
                    else:
                        k.rem -= budget
                        budget = 0.0
        for i in range(n):
            for j in range(n):
                q = self.sendq[i][j]
                keep = [k for k in q if k.t_arr + w - 1 > t]
                reward -= len(q) - len(keep)
                self.sendq[i][j] = keep
        for j in range(n):
            keep = [k for k in self.execq[j] if k.t_arr + w - 1 > t]
            reward -= len(self.execq[j]) - len(keep)
            self.execq[j] = keep
        self.t += 1
        self._arrive()
        return self._obs(), float(reward), False, self.t >= self.H + w - 1, {}
