#!/usr/bin/env python3
"""Plain-Python reference of mecrl's `endedge` slot (reference semantics, docs/endedge.md).

The straightforward implementation a researcher would write: per terminal a local FIFO and a
transmit FIFO (collections.deque of [arrival, size, remaining]), per (terminal, server) an edge
FIFO, the published simulator's order per slot (local, edge with the previous slot's non-empty
queue counts, transmit, recount), Bernoulli arrivals and uniformly random actions. Prints JSON
{"devices", "servers", "slots", "seconds", "device_slots_per_s", "finished", "dropped"}.
Run by `mecrl bench endedge` in the same invocation.
"""
import argparse
import json
import random
import time
from collections import deque


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--servers", type=int, default=5)
    ap.add_argument("--slots", type=int, default=110)
    ap.add_argument("--deadline", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    D, E, T, tau = a.devices, a.servers, a.slots, a.deadline
    rnd = random.Random(a.seed)
    local_cap = (2.5 * 0.1) / 0.297
    edge_cap = (41.8 * 0.1) / 0.297
    tran_cap = 14 * 0.1
    sizes = [2.0 + 0.1 * k for k in range(30)]
    qloc = [deque() for _ in range(D)]
    qtran = [deque() for _ in range(D)]
    qedge = [[deque() for _ in range(E)] for _ in range(D)]
    cur_loc = [None] * D
    cur_tran = [None] * D
    cur_edge = [[None] * E for _ in range(D)]
    m = [0] * E
    finished = dropped = 0

    def pop(q, t):
        nonlocal dropped
        while q:
            task = q.popleft()
            if t - task[0] + 1 <= tau:
                return task
            dropped += 1
        return None

    t0 = time.perf_counter()
    for t in range(T):
        arrive = t < T - tau
        for d in range(D):
            if arrive and rnd.random() < 0.3:
                size = sizes[rnd.randrange(30)]
                act = rnd.randrange(E + 1)
                if act == 0:
                    qloc[d].append([t, size, size])
                else:
                    qtran[d].append([t, size, size, act - 1])
            # (1) local
            if cur_loc[d] is None:
                cur_loc[d] = pop(qloc[d], t)
            c = cur_loc[d]
            if c is not None:
                c[2] -= local_cap
                if c[2] <= 0:
                    finished += 1
                    cur_loc[d] = None
                elif t - c[0] + 1 == tau:
                    dropped += 1
                    cur_loc[d] = None
        # (2) edge
        for d in range(D):
            for e in range(E):
                if cur_edge[d][e] is None and qedge[d][e]:
                    cur_edge[d][e] = pop(qedge[d][e], t)
                c = cur_edge[d][e]
                if c is not None:
                    c[2] -= edge_cap / m[e]
                    if c[2] <= 0:
                        finished += 1
                        cur_edge[d][e] = None
                    elif t - c[0] + 1 == tau:
                        dropped += 1
                        cur_edge[d][e] = None
        # (3) transmit
        for d in range(D):
            if cur_tran[d] is None:
                cur_tran[d] = pop(qtran[d], t)
            c = cur_tran[d]
            if c is not None:
                c[2] -= tran_cap
                if c[2] <= 0:
                    qedge[d][c[3]].append([c[0], c[1], c[1]])
                    cur_tran[d] = None
                elif t - c[0] + 1 == tau:
                    dropped += 1
                    cur_tran[d] = None
        # (4) recount
        for e in range(E):
            m[e] = sum(1 for d in range(D) if qedge[d][e] or cur_edge[d][e] is not None)
    dt = time.perf_counter() - t0
    print(json.dumps({"devices": D, "servers": E, "slots": T, "seconds": dt,
                      "device_slots_per_s": D * T / dt, "finished": finished, "dropped": dropped}))


if __name__ == "__main__":
    main()
