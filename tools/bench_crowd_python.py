#!/usr/bin/env python3
"""Plain-Python reference of one `crowd` slot (src/env/crowd/cpu.rs; docs/crowd.md).

Reads a JSON file written by `mecrl bench crowd`: the parameters, the topology (cell offsets),
the state (arrival countdowns ctl, backlogs q, virtual queues v) of B instances, the actions of
every agent, and one slot's tasks and MD capacities. The straightforward implementation a
researcher would write, with Python lists and the `random` module:

- default: runs `--slots` slots of the whole step — arrivals (gap countdown, Poisson K, s, o by
  inversion below mean 30, a rounded normal above — a speed reference, not a bit-exact one — and
  the sum rule), MD capacities, per-unit and per-link loads, outcomes (6)-(7) with
  shared capacity (1), reward (13), queue updates (2) and (4) — and prints
  {"slots", "seconds", "agent_slots_per_s"};
- `--check`: evaluates the given slot's tasks and capacities (no draws) and prints the rewards
  and the sums of the updated q and v per instance, which mecrl compares with its own (f64 here,
  f32 there).
"""
import argparse
import json
import math
import random
import time


def poisson(rng, mean):
    if mean <= 0.0:
        return 0
    if mean < 30.0:
        u, p = rng.random(), math.exp(-mean)
        f, k = p, 0
        while u > f:
            k += 1
            p *= mean / k
            if p < 1e-30:
                break
            f += p
        return k
    return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state")
    ap.add_argument("--slots", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    st = json.load(open(a.state))
    p = st["params"]
    cell_off = st["cell_off"]
    b, n, s, k, r = p["b"], p["n"], p["s"], p["k"], p["r"]
    levels = p["levels"]
    nu = n + s + 1
    wired = s * (s - 1) // 2
    nl = n + wired + s
    ntargets = k + s + 2
    cap_w, cap_wired, cap_bb = p["c_wireless"], p["c_wired"], p["c_backbone"]
    fees = [p["fee_local"], p["fee_md"], p["fee_edge"], p["fee_cloud"]]

    def link_cap(l):
        return cap_w if l < n else (cap_wired if l < n + wired else cap_bb)

    def wired_link(b1, b2):
        lo, hi = min(b1, b2), max(b1, b2)
        return n + lo * s - lo * (lo + 1) // 2 + (hi - lo - 1)

    cell = []
    for c in range(s):
        cell += [c] * (cell_off[c + 1] - cell_off[c])

    def target(i, slot):
        """(unit, kind, links) of target slot `slot` of user i."""
        c = cell[i]
        if slot == 0:
            return i, 0, ()
        if slot <= k:
            start, size = cell_off[c], cell_off[c + 1] - cell_off[c]
            j = start + (i - start + slot) % size
            return j, 1, (i, j)
        if slot <= k + s:
            bb = slot - k - 1
            return n + bb, 2, ((i,) if bb == c else (i, wired_link(c, bb)))
        return n + s, 3, (i, n + wired + c)

    # routes of every agent's fixed action, decoded once (as a policy's output would be)
    routes = []
    for g in range(b):
        row = []
        for i in range(n):
            act = st["action"][g * n + i]
            unit, kind, links = target(i, act // r)
            x = levels[act % r] * min((link_cap(l) for l in links), default=0.0)
            row.append((unit, kind, links, x))
        routes.append(row)

    ctl = list(st["ctl"])
    q = [list(st["q"][g * nu:(g + 1) * nu]) for g in range(b)]
    v = [list(st["v"][g * nl:(g + 1) * nl]) for g in range(b)]
    rng = random.Random(1)

    def slot(tasks, caps):
        out = []
        for g in range(b):
            qg, vg, cap = q[g], v[g], caps[g]
            load = [0.0] * nu
            xs = [0.0] * nl
            for i in range(n):
                kk, sd, o = tasks[g][i]
                if kk == 0:
                    continue
                unit, kind, links, x = routes[g][i]
                load[unit] += sd * p["cycles_unit"]
                for l in links:
                    xs[l] += x
            sum_cost = 0.0
            for i in range(n):
                kk, sd, o = tasks[g][i]
                if kk == 0:
                    continue
                unit, kind, links, x = routes[g][i]
                f = cap[unit] if unit < n else (p["f_edge"] if unit < n + s else p["f_cloud"])
                e = (qg[unit] + sd * p["cycles_unit"]) / f  # (5)
                if links:
                    share = 1.0
                    for l in links:
                        if xs[l] > link_cap(l):
                            share = min(share, link_cap(l) / xs[l])  # (1)
                    if o > 0:
                        e += o * p["bits_per_mb"] / (x * share)  # (6)
                sum_cost += p["alpha"] * e + p["beta"] * fees[kind] * sd  # (7)
            drift = 0.0
            for l in range(nl):
                c = link_cap(l)
                drift += (vg[l] / p["rate_unit"]) * ((xs[l] - c) / p["rate_unit"])
                vg[l] = max(vg[l] + xs[l] * p["dt"] - c * p["dt"], 0.0)  # (2)
            for u in range(nu):
                f = cap[u] if u < n else (p["f_edge"] if u < n + s else p["f_cloud"])
                qg[u] = max(qg[u] + load[u] - f * p["dt"], 0.0)  # (4)
            out.append(-(p["v_penalty"] * sum_cost + drift))  # (13)
        return out

    if a.check:
        tasks = [[st["task"][3 * (g * n + i):3 * (g * n + i) + 3] for i in range(n)] for g in range(b)]
        caps = [st["cap"][g * n:(g + 1) * n] for g in range(b)]
        rewards = slot(tasks, caps)
        print(json.dumps({"reward": rewards, "q_sum": [sum(x) for x in q], "v_sum": [sum(x) for x in v]}))
        return

    t0 = time.perf_counter()
    for _ in range(a.slots):
        tasks, caps = [], []
        for g in range(b):
            tg, cg = [], []
            for i in range(n):
                cg.append(p["f_md"] * (p["idle_lo"] + (p["idle_hi"] - p["idle_lo"]) * rng.random()))
                c = ctl[g * n + i]
                if c <= 1:
                    kk = poisson(rng, p["lambda1"])
                    tg.append((kk, poisson(rng, kk * p["lambda2"]), poisson(rng, kk * p["lambda3"])))
                    ctl[g * n + i] = rng.randint(p["gap_lo"], p["gap_hi"])
                else:
                    ctl[g * n + i] = c - 1
                    tg.append((0, 0, 0))
            tasks.append(tg)
            caps.append(cg)
        slot(tasks, caps)
    dt = time.perf_counter() - t0
    print(json.dumps({"slots": a.slots, "seconds": dt, "agent_slots_per_s": a.slots * b * n / dt}))


if __name__ == "__main__":
    main()
