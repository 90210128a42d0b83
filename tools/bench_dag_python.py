#!/usr/bin/env python3
"""Plain-Python reference of mecrl's `dag` exhaustive optimum (reference semantics).

Reads one DAGGEN DOT file, orders tasks by rank (eq. 10), and evaluates plans by the same
scheduling rules as src/env/dag/model.rs (`reference`), one plan at a time with Python lists —
the straightforward implementation a researcher would write. Evaluates the first `--plans`
plan indices (all 2^n when 0) and prints JSON {"plans", "seconds", "plans_per_s", "best"}.

With `--numpy-plans P` it instead evaluates P plans at once with numpy, vectorized over the plans
(the batched evaluation a researcher would write with numpy): plan q is the plan index
(q * 2654435761) mod 2^n (bit n-1-k = decision of rank position k), the same plans
`mecrl bench dag` evaluates, and prints {"np_plans", "np_seconds", "np_plan_tasks_per_s",
"np_sum"} (np_sum, the sum of the makespans, is checked against mecrl's).
Run by `mecrl bench dag` in the same invocation.
"""
import argparse
import json
import re
import time

MB = 1024.0 * 1024.0


def parse(path):
    nodes, edges = {}, []
    for line in open(path):
        line = line.strip()
        if line.startswith("//"):
            continue
        m = re.match(r'^(\d+)\s*->\s*(\d+)', line)
        if m:
            edges.append((int(m.group(1)) - 1, int(m.group(2)) - 1))
            continue
        m = re.match(r'^(\d+)\s*\[(.*)\]', line)
        if m:
            attrs = dict(re.findall(r'(\w+)\s*=\s*"?([0-9.eE+-]+)"?', m.group(2)))
            nodes[int(m.group(1)) - 1] = (float(attrs["size"]), float(attrs["expect_size"]))
    n = len(nodes)
    size = [nodes[i][0] for i in range(n)]
    down = [nodes[i][1] for i in range(n)]
    parents = [sorted({a for a, b in edges if b == i}) for i in range(n)]
    children = [sorted({b for a, b in edges if a == i}) for i in range(n)]
    return size, down, parents, children


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dot")
    ap.add_argument("--rate", type=float, default=7.0)
    ap.add_argument("--plans", type=int, default=0)
    ap.add_argument("--numpy-plans", type=int, default=0)
    a = ap.parse_args()
    size, down, parents, children = parse(a.dot)
    n = len(size)
    rate = a.rate * MB / 8.0
    loc = [s / MB for s in size]
    up = [s / rate for s in size]
    mec = [s / (10.0 * MB) for s in size]
    dl = [d / rate for d in down]
    w = [min(loc[i], up[i] + mec[i] + dl[i]) for i in range(n)]
    rank = {}

    def r(i):
        if i not in rank:
            rank[i] = w[i] + (max(r(j) for j in children[i]) if children[i] else 0.0)
        return rank[i]

    order = sorted(range(n), key=r)[::-1]

    def makespan(plan):
        fl, fu, fm, fd = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
        lf = uf = mf = cur = 0.0
        for k, i in enumerate(order):
            ps = parents[i]
            if plan[k] == 0:
                st = lf
                for j in ps:
                    st = max(st, fl[j], fd[j])
                fl[i] = st + loc[i]
                lf = fl[i]
                f = fl[i]
            else:
                if ps:
                    st = uf
                    for j in ps:
                        st = max(st, fl[j], fu[j])
                    fu[i] = st + up[i]
                    uf = fu[i]
                    ms = mf
                    for j in ps:
                        ms = max(ms, fu[i], fm[j])
                    fm[i] = ms + mec[i]
                else:
                    fu[i] = uf + up[i]
                    fm[i] = max(mf, fu[i]) + mec[i]
                mf = fm[i]
                fd[i] = fm[i] + dl[i]
                f = fd[i]
            cur = max(cur, f)
        return cur

    if a.numpy_plans > 0:
        import numpy as np

        P = a.numpy_plans
        idx = (np.arange(P, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(1 << n)
        plans = [((idx >> np.uint64(n - 1 - k)) & np.uint64(1)).astype(bool) for k in range(n)]
        reps = []
        for _ in range(3):
            t0 = time.perf_counter()
            fl, fu, fm, fd = ([None] * n for _ in range(4))
            zero = np.zeros(P)
            lf, uf, mf, cur = zero, zero, zero, zero
            for k, i in enumerate(order):
                off, ps = plans[k], parents[i]
                st = lf
                for j in ps:
                    st = np.maximum(st, np.maximum(fl[j], fd[j]))
                f_loc = st + loc[i]
                if ps:
                    us = uf
                    for j in ps:
                        us = np.maximum(us, np.maximum(fl[j], fu[j]))
                    f_up = us + up[i]
                    uf = np.where(off, f_up, uf)
                else:
                    f_up = uf + up[i]  # entry tasks leave the uplink free (published code)
                ms = np.maximum(mf, f_up)
                for j in ps:
                    ms = np.maximum(ms, fm[j])
                f_mec = ms + mec[i]
                mf = np.where(off, f_mec, mf)
                f_dl = f_mec + dl[i]
                lf = np.where(off, lf, f_loc)
                fl[i] = np.where(off, 0.0, f_loc)
                fu[i] = np.where(off, f_up, 0.0)
                fm[i] = np.where(off, f_mec, 0.0)
                fd[i] = np.where(off, f_dl, 0.0)
                cur = np.maximum(cur, np.where(off, f_dl, f_loc))
            reps.append(time.perf_counter() - t0)
        dt = sorted(reps)[1]
        print(json.dumps({"np_plans": P, "np_seconds": dt, "np_plan_tasks_per_s": P * n / dt,
                          "np_sum": float(cur.sum()), "n": n}))
        return

    total = 1 << n
    count = total if a.plans <= 0 else min(a.plans, total)
    t0 = time.perf_counter()
    best = float("inf")
    for idx in range(count):
        plan = [(idx >> (n - 1 - k)) & 1 for k in range(n)]
        best = min(best, makespan(plan))
    dt = time.perf_counter() - t0
    print(json.dumps({"plans": count, "seconds": dt, "plans_per_s": count / dt, "best": best, "n": n}))


if __name__ == "__main__":
    main()
