#!/usr/bin/env python3
"""Plain-Python reference of mecrl's `dag` exhaustive optimum (reference semantics).

Reads one DAGGEN DOT file, orders tasks by rank (eq. 10), and evaluates plans by the same
scheduling rules as src/env/dag/model.rs (`reference`), one plan at a time with Python lists —
the straightforward implementation a researcher would write. Evaluates the first `--plans`
plan indices (all 2^n when 0) and prints JSON {"plans", "seconds", "plans_per_s", "best"}.
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
