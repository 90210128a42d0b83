// dag: makespan of offloading plans and the exhaustive optimum over padded DAG batches
// (src/env/dag/batch.rs). Everything is indexed by rank position; `dag_eval` mirrors `makespan`
// there operation for operation (f32 max, then one addition per finish time).
#ifndef MECRL_ENV_DAG_CU
#define MECRL_ENV_DAG_CU

#include "common/index.cuh"

// Mirrors `DagParams` in src/env/dag/batch.rs (#[repr(C)], 32 bytes).
struct DagParams {
    u32 b;
    u32 n_max;
    u32 e_max;
    u32 p;
    u32 semantics;
    u32 chunks;
    u32 scaled;
    u32 emb;
};

// The largest task count of the exhaustive kernel (plan indices are 32-bit).
#define DAG_MAX_EXHAUSTIVE 30u

// One graph's slices (batch.rs `Graph`).
struct DagGraph {
    u32 n;
    u32 n_max;
    u32 e_max;
    const float* cost;
    const u32* par_off;
    const u32* par_idx;
    const u32* exit;
};

static __device__ __forceinline__ DagGraph dag_graph(const DagParams& p, u32 g, const u32* n_tasks,
                                                     const float* cost, const u32* par_off, const u32* par_idx,
                                                     const u32* exit) {
    DagGraph r;
    u32 n = n_tasks[g];
    r.n = n < p.n_max ? n : p.n_max;
    r.n_max = p.n_max;
    r.e_max = p.e_max;
    r.cost = cost + (u64)g * p.n_max * 4u;
    r.par_off = par_off + (u64)g * (p.n_max + 1u);
    r.par_idx = par_idx + (u64)g * p.e_max;
    r.exit = exit + (u64)g * p.n_max;
    return r;
}

// Resource availabilities and running spans after a prefix of decisions (batch.rs `F32State`).
struct DagState {
    float a_ue, a_up, a_mec, a_down, current, t;
};

// `position` of batch.rs: decide rank position k (`off` = offload), writing its four finish times
// at ft[4k ..]. Parent offsets are clamped to E and parent positions to N - 1. Same structure as
// dag_position in shaders/env/dag.wgsl: one fused pass over the parents (each maximum in its own
// order; max is exact, so the result is bit-identical), the four finish times written in the
// branch instead of a zero fill (only parents j < k are read).
static __device__ __forceinline__ void dag_position(const DagGraph& g, u32 sem, u32 k, bool off, float* ft,
                                                    DagState& s) {
    u32 last = g.n_max - 1u;
    const float* c = g.cost + 4u * k;
    float* fk = ft + 4u * k;
    u32 lo = g.par_off[k];
    u32 hi = g.par_off[k + 1u];
    lo = lo < g.e_max ? lo : g.e_max;
    hi = hi < g.e_max ? hi : g.e_max;
    float ready = 0.0f;      // max over parents of (local finish, download finish)
    float ready_up = 0.0f;   // max over parents of (local finish, upload finish)
    float ready_mec = 0.0f;  // max over parents of MEC finish
    for (u32 e = lo; e < hi; ++e) {
        u32 j = g.par_idx[e];
        const float* fj = ft + 4u * (j < last ? j : last);
        float lf = fj[0];
        ready = fmaxf(ready, fmaxf(lf, fj[3]));
        ready_up = fmaxf(ready_up, fmaxf(lf, fj[1]));
        ready_mec = fmaxf(ready_mec, fj[2]);
    }
    float done;
    if (!off) {
        float f = fmaxf(s.a_ue, ready) + c[0];
        fk[0] = f;
        fk[1] = 0.0f;
        fk[2] = 0.0f;
        fk[3] = 0.0f;
        s.a_ue = sem == 0u ? f : fmaxf(s.a_ue, f);
        done = f;
    } else {
        float up_start = sem == 0u ? fmaxf(s.a_up, ready_up) : fmaxf(s.a_up, ready);
        float up = up_start + c[1];
        if (sem != 0u) {
            s.a_up = fmaxf(s.a_up, up);
        } else if (hi > lo) {
            s.a_up = up;  // entry tasks leave the uplink free (published code)
        }
        float mec = fmaxf(s.a_mec, fmaxf(up, ready_mec)) + c[2];
        s.a_mec = sem == 0u ? mec : fmaxf(s.a_mec, mec);
        float down_start = sem == 0u ? mec : fmaxf(s.a_down, mec);
        float down = down_start + c[3];
        if (sem != 0u) s.a_down = fmaxf(s.a_down, down);
        fk[0] = 0.0f;
        fk[1] = up;
        fk[2] = mec;
        fk[3] = down;
        done = down;
    }
    s.current = fmaxf(s.current, done);
    if (g.exit[k] != 0u) s.t = fmaxf(s.t, done);
}

// `makespan` of batch.rs. The decision of position k is plan[k] != 0 when `plan` is given, else
// bit n-1-k of `idx` (n <= 30).
// The running span the reward follows (reference: the running makespan; paper: the exit tasks'
// maximum) and the reward of one decision, -ΔT_c (§4.2), min-max scaled when p.scaled
// (step.rs `reward_of`).
static __device__ __forceinline__ float dag_span(const DagParams& p, const DagState& s) {
    return p.semantics == 0u ? s.current : s.t;
}

static __device__ __forceinline__ float dag_reward(const DagParams& p, const float* scale, u32 g, float before,
                                                   float after) {
    float delta = after - before;
    return p.scaled != 0u ? -((delta - scale[2u * g + 1u]) / (scale[2u * g] - scale[2u * g + 1u])) : -delta;
}

static __device__ float dag_eval(const DagGraph& g, u32 sem, const u32* plan, u32 idx, float* ft) {
    u32 n = g.n;
    DagState s = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (u32 k = 0; k < n; ++k) {
        bool off = plan ? plan[k] != 0u : ((idx >> (n - 1u - k)) & 1u) != 0u;
        dag_position(g, sem, k, off, ft, s);
    }
    return sem == 0u ? s.current : s.t;
}

// `chunk_range`: plan indices [lo, hi) of chunk c of `chunks` (>= 1) for n <= 30 tasks.
static __device__ __forceinline__ void dag_chunk_range(u32 n, u32 c, u32 chunks, u32* lo, u32* hi) {
    u32 total = 1u << n;
    u32 per = total / chunks + (total % chunks != 0u ? 1u : 0u);
    u64 l = (u64)c * per;
    u64 h = ((u64)c + 1u) * per;
    *lo = l < total ? (u32)l : total;
    *hi = h < total ? (u32)h : total;
}

// One thread per (graph, plan): t = g P + q; ft at t N 4.
extern "C" __global__ void dag_makespan(const DagParams p, const u32* __restrict__ n_tasks,
                                        const float* __restrict__ cost, const u32* __restrict__ par_off,
                                        const u32* __restrict__ par_idx, const u32* __restrict__ exit,
                                        const u32* __restrict__ plans, float* __restrict__ ft,
                                        float* __restrict__ makespan) {
    u32 t = global_id();
    if (t >= p.b * p.p) return;
    u32 g = t / p.p;
    DagGraph gr = dag_graph(p, g, n_tasks, cost, par_off, par_idx, exit);
    makespan[t] = dag_eval(gr, p.semantics, plans + (u64)t * p.n_max, 0u, ft + (u64)t * p.n_max * 4u);
}

// One thread per (graph, chunk): t = g C + c; the first minimum of the chunk wins. A graph of
// more than 30 tasks gives (+inf, 0xffffffff), like an empty chunk.
extern "C" __global__ void dag_optimal(const DagParams p, const u32* __restrict__ n_tasks,
                                       const float* __restrict__ cost, const u32* __restrict__ par_off,
                                       const u32* __restrict__ par_idx, const u32* __restrict__ exit,
                                       float* __restrict__ ft, u32* __restrict__ partial) {
    u32 t = global_id();
    u32 chunks = p.chunks > 1u ? p.chunks : 1u;
    if (t >= p.b * chunks) return;
    u32 g = t / chunks;
    float best = f32_inf();
    u32 best_idx = 0xffffffffu;
    if (n_tasks[g] <= DAG_MAX_EXHAUSTIVE) {
        DagGraph gr = dag_graph(p, g, n_tasks, cost, par_off, par_idx, exit);
        u32 lo, hi;
        dag_chunk_range(gr.n, t % chunks, chunks, &lo, &hi);
        float* f = ft + (u64)t * p.n_max * 4u;
        for (u32 idx = lo; idx < hi; ++idx) {
            float m = dag_eval(gr, p.semantics, 0, idx, f);
            if (m < best) {
                best = m;
                best_idx = idx;
            }
        }
    }
    partial[2u * t] = __float_as_uint(best);
    partial[2u * t + 1u] = best_idx;
}

// One thread per graph: the smallest makespan over the chunks, ties to the smaller plan index.
extern "C" __global__ void dag_optimal_reduce(const DagParams p, const u32* __restrict__ partial,
                                              u32* __restrict__ best) {
    u32 g = global_id();
    if (g >= p.b) return;
    u32 chunks = p.chunks > 1u ? p.chunks : 1u;
    float m = f32_inf();
    u32 mi = 0xffffffffu;
    for (u32 c = 0; c < chunks; ++c) {
        u64 o = ((u64)g * chunks + c) * 2u;
        float v = __uint_as_float(partial[o]);
        u32 i = partial[o + 1u];
        if (v < m || (v == m && i < mi)) {
            m = v;
            mi = i;
        }
    }
    best[2u * g] = __float_as_uint(m);
    best[2u * g + 1u] = mi;
}

// One thread per graph (mdp.rs `cpu_reset`): position 0, running (done for an empty graph), zero
// state, every decision undecided (0xffffffff).
extern "C" __global__ void dag_reset(const DagParams p, const u32* __restrict__ n_tasks, u32* __restrict__ ctl,
                                     float* __restrict__ state, u32* __restrict__ plan) {
    u32 g = global_id();
    if (g >= p.b) return;
    ctl[2u * g] = 0u;
    ctl[2u * g + 1u] = n_tasks[g] == 0u ? 1u : 0u;
    for (u32 i = 0; i < 8u; ++i) state[8u * (u64)g + i] = 0.0f;
    for (u32 k = 0; k < p.n_max; ++k) plan[(u64)g * p.n_max + k] = 0xffffffffu;
}

// One thread per graph (mdp.rs `cpu_step`): decide the current position, reward -ΔT_c (§4.2),
// min-max scaled when p.scaled. Status 0 running, 1 done, 2 bad action.
extern "C" __global__ void dag_step(const DagParams p, const u32* __restrict__ n_tasks,
                                    const float* __restrict__ cost, const u32* __restrict__ par_off,
                                    const u32* __restrict__ par_idx, const u32* __restrict__ exit,
                                    const float* __restrict__ scale, const u32* __restrict__ action,
                                    float* __restrict__ ft, float* __restrict__ state, u32* __restrict__ ctl,
                                    u32* __restrict__ plan, float* __restrict__ reward) {
    u32 g = global_id();
    if (g >= p.b) return;
    if (ctl[2u * g + 1u] != 0u) {
        reward[g] = 0.0f;
        return;
    }
    u32 a = action[g];
    if (a > 1u) {
        ctl[2u * g + 1u] = 2u;
        reward[g] = f32_nan();
        return;
    }
    DagGraph gr = dag_graph(p, g, n_tasks, cost, par_off, par_idx, exit);
    u32 k = ctl[2u * g];
    if (k >= gr.n) {
        ctl[2u * g + 1u] = 1u;  // unreachable through reset/step; a hand-made ctl must not index past N
        reward[g] = 0.0f;
        return;
    }
    float* sr = state + 8u * (u64)g;
    DagState s = {sr[0], sr[1], sr[2], sr[3], sr[4], sr[5]};
    float before = dag_span(p, s);
    dag_position(gr, p.semantics, k, a == 1u, ft + (u64)g * p.n_max * 4u, s);
    reward[g] = dag_reward(p, scale, g, before, dag_span(p, s));
    sr[0] = s.a_ue;
    sr[1] = s.a_up;
    sr[2] = s.a_mec;
    sr[3] = s.a_down;
    sr[4] = s.current;
    sr[5] = s.t;
    plan[(u64)g * p.n_max + k] = a;
    ctl[2u * g] = k + 1u;
    if (k + 1u >= gr.n) ctl[2u * g + 1u] = 1u;
}

// One thread per sequence (episode.rs `cpu_episode`; p.p = S sequences): the whole episode of
// graph[s] under the actions [N, S] (time-major), each position decided and rewarded exactly as
// dag_step does. A graph index >= B: reward 0, done 1, weight 0 everywhere and makespan NaN; an
// action > 1: reward NaN from there on (real steps), done 1, makespan NaN; padding k >= n:
// reward 0, done 1, weight 0.
extern "C" __global__ void dag_episode(const DagParams p, const u32* __restrict__ n_tasks,
                                       const float* __restrict__ cost, const u32* __restrict__ par_off,
                                       const u32* __restrict__ par_idx, const u32* __restrict__ exit,
                                       const float* __restrict__ scale, const u32* __restrict__ graph,
                                       const u32* __restrict__ actions, float* __restrict__ ft,
                                       float* __restrict__ reward, u32* __restrict__ done,
                                       float* __restrict__ weight, float* __restrict__ makespan) {
    u32 s = global_id();
    u32 ns = p.p;
    if (s >= ns) return;
    u32 g = graph[s];
    if (g >= p.b) {
        for (u32 k = 0; k < p.n_max; ++k) {
            u64 o = (u64)k * ns + s;
            reward[o] = 0.0f;
            done[o] = 1u;
            weight[o] = 0.0f;
        }
        makespan[s] = f32_nan();
        return;
    }
    DagGraph gr = dag_graph(p, g, n_tasks, cost, par_off, par_idx, exit);
    float* f = ft + (u64)s * p.n_max * 4u;
    DagState st = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    bool bad = false;
    for (u32 k = 0; k < p.n_max; ++k) {
        u64 o = (u64)k * ns + s;
        if (k >= gr.n) {
            reward[o] = 0.0f;
            done[o] = 1u;
            weight[o] = 0.0f;
            continue;
        }
        weight[o] = 1.0f;
        u32 a = actions[o];
        if (bad || a > 1u) {
            bad = true;
            reward[o] = f32_nan();
            done[o] = 1u;
            continue;
        }
        float before = dag_span(p, st);
        dag_position(gr, p.semantics, k, a == 1u, f, st);
        reward[o] = dag_reward(p, scale, g, before, dag_span(p, st));
        done[o] = k + 1u == gr.n ? 1u : 0u;
    }
    makespan[s] = bad ? f32_nan() : dag_span(p, st);
}

// One thread per graph (step.rs `cpu_observe`): rows [embedding, decision so far (-1 undecided),
// 1 at the current position], and whether the graph has ended.
extern "C" __global__ void dag_observe(const DagParams p, const float* __restrict__ embeddings,
                                       const u32* __restrict__ plan, const u32* __restrict__ ctl,
                                       float* __restrict__ obs, u32* __restrict__ terminated) {
    u32 g = global_id();
    if (g >= p.b) return;
    u32 n = p.n_max, e = p.emb, w = e + 2u;
    for (u32 k = 0; k < n; ++k) {
        u64 o = ((u64)g * n + k) * w;
        for (u32 j = 0; j < e; ++j) obs[o + j] = embeddings[((u64)g * n + k) * e + j];
        u32 a = plan[(u64)g * n + k];
        obs[o + e] = a == 0xffffffffu ? -1.0f : (float)a;
        obs[o + e + 1u] = k == ctl[2u * g] ? 1.0f : 0.0f;
    }
    terminated[g] = ctl[2u * g + 1u] != 0u ? 1u : 0u;
}

#endif
