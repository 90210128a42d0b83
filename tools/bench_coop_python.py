#!/usr/bin/env python3
"""Plain-Python reference of mecrl's `coop` slot (src/env/coop/kernel.rs `step_instance`).

One instance of N cooperative edge nodes with the rules of docs/coop.md: Bernoulli arrivals, a
FIFO execution queue per node and FIFO send queues per link served with F_j*dt cycles and
r_ij*dt bits per slot, failures drawn once per task (eq. 4-5), drops at the deadline (eq. 8),
the Random heuristic over the allowed targets (mask of §IV-B2), team reward per slot. Written
the way a researcher's simulator is: task objects in Python lists, the `random` module.
Runs `--episodes` episodes and prints JSON {"node_slots", "seconds", "node_slots_per_s",
"success_rate"}. Run by `mecrl bench coop` in the same invocation.
"""
import argparse
import json
import math
import random
import time


class Task:
    __slots__ = ("origin", "target", "t_arr", "size", "cycles", "rem", "link_fail", "node_fail")


def episode(rng, n, horizon, w, dt, max_queue):
    cores = [4, 8, 16, 20, 24, 28, 32]
    lam = [rng.uniform(0.0, 1.0) for _ in range(n)]
    cap = [rng.choice(cores) * 3e9 for _ in range(n)]
    alpha = [rng.uniform(0.0, 0.1) for _ in range(n)]
    rate = [[0.0] * n for _ in range(n)]
    beta = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            rate[i][j] = rate[j][i] = rng.uniform(8e7, 3.2e8)
            beta[i][j] = beta[j][i] = rng.uniform(0.0, 0.03)
    execq = [[] for _ in range(n)]
    sendq = [[[] for _ in range(n)] for _ in range(n)]
    ok = drop = fail = 0
    for t in range(horizon + w - 1):
        reward = 0
        lens = [len(q) for q in execq]
        # arrivals and decisions (Random over the allowed targets)
        for i in range(n):
            if t >= horizon or rng.random() >= lam[i]:
                continue
            k = Task()
            k.origin, k.t_arr = i, t
            k.size = rng.uniform(8e6, 6.4e7)
            k.cycles = rng.uniform(800.0, 2400.0) * k.size
            allowed = [j for j in range(n) if j == i or lens[j] < max_queue]
            j = rng.choice(allowed)
            k.target = j
            r_link = 1.0 if j == i else math.exp(-beta[i][j] * (k.size / rate[i][j]))
            r_node = math.exp(-alpha[j] * (k.cycles / cap[j]))
            k.link_fail = j != i and rng.random() >= r_link
            k.node_fail = rng.random() >= r_node
            if j == i:
                k.rem = k.cycles
                execq[i].append(k)
            else:
                k.rem = k.size
                sendq[i][j].append(k)
        # execution
        for j in range(n):
            budget = cap[j] * dt
            q = execq[j]
            while q and budget > 0.0:
                k = q[0]
                if k.rem <= budget:
                    budget -= k.rem
                    q.pop(0)
                    if k.node_fail:
                        fail += 1
                        reward -= 1
                    else:
                        ok += 1
                        reward += 1
                else:
                    k.rem -= budget
                    budget = 0.0
        # transmission
        for i in range(n):
            for j in range(n):
                q = sendq[i][j]
                budget = rate[i][j] * dt
                while q and budget > 0.0:
                    k = q[0]
                    if k.rem <= budget:
                        budget -= k.rem
                        q.pop(0)
                        if k.link_fail:
                            fail += 1
                            reward -= 1
                        else:
                            k.rem = k.cycles
                            execq[j].append(k)
                    else:
                        k.rem -= budget
                        budget = 0.0
        # deadline
        for i in range(n):
            for j in range(n):
                q = sendq[i][j]
                keep = [k for k in q if k.t_arr + w - 1 > t]
                drop += len(q) - len(keep)
                reward -= len(q) - len(keep)
                sendq[i][j] = keep
        for j in range(n):
            keep = [k for k in execq[j] if k.t_arr + w - 1 > t]
            drop += len(execq[j]) - len(keep)
            reward -= len(execq[j]) - len(keep)
            execq[j] = keep
    return ok, drop, fail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--horizon", type=int, default=100)
    ap.add_argument("--deadline-slots", type=int, default=8)
    ap.add_argument("--slot", type=float, default=0.5)
    ap.add_argument("--max-queue", type=int, default=4)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t0 = time.perf_counter()
    ok = drop = fail = 0
    for _ in range(a.episodes):
        o, d, f = episode(rng, a.nodes, a.horizon, a.deadline_slots, a.slot, a.max_queue)
        ok, drop, fail = ok + o, drop + d, fail + f
    secs = time.perf_counter() - t0
    slots = a.episodes * (a.horizon + a.deadline_slots - 1)
    node_slots = slots * a.nodes
    print(json.dumps({
        "node_slots": node_slots,
        "seconds": secs,
        "node_slots_per_s": node_slots / secs,
        "success_rate": ok / max(ok + drop + fail, 1),
    }))


if __name__ == "__main__":
    main()
