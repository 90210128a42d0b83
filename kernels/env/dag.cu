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
    u32 _pad0;
    u32 _pad1;
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

// `makespan` of batch.rs. The decision of position k is plan[k] != 0 when `plan` is given, else
// bit n-1-k of `idx` (n <= 30). Parent offsets are clamped to E and parent positions to N - 1.
// Same structure as dag_eval in shaders/env/dag.wgsl: one fused pass over the parents (each
// maximum in its own order; max is exact, so the result is bit-identical), the four finish times
// of a position written in its branch instead of a zero fill (only parents j < k are read), the
// exit maximum taken in the position loop.
static __device__ float dag_eval(const DagGraph& g, u32 sem, const u32* plan, u32 idx, float* ft) {
    u32 n = g.n;
    float a_ue = 0.0f, a_up = 0.0f, a_mec = 0.0f, a_down = 0.0f;
    float current = 0.0f, t = 0.0f;
    u32 last = g.n_max - 1u;
    for (u32 k = 0; k < n; ++k) {
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
        bool off = plan ? plan[k] != 0u : ((idx >> (n - 1u - k)) & 1u) != 0u;
        float done;
        if (!off) {
            float f = fmaxf(a_ue, ready) + c[0];
            fk[0] = f;
            fk[1] = 0.0f;
            fk[2] = 0.0f;
            fk[3] = 0.0f;
            a_ue = sem == 0u ? f : fmaxf(a_ue, f);
            done = f;
        } else {
            float up_start = sem == 0u ? fmaxf(a_up, ready_up) : fmaxf(a_up, ready);
            float up = up_start + c[1];
            if (sem != 0u) {
                a_up = fmaxf(a_up, up);
            } else if (hi > lo) {
                a_up = up;  // entry tasks leave the uplink free (published code)
            }
            float mec = fmaxf(a_mec, fmaxf(up, ready_mec)) + c[2];
            a_mec = sem == 0u ? mec : fmaxf(a_mec, mec);
            float down_start = sem == 0u ? mec : fmaxf(a_down, mec);
            float down = down_start + c[3];
            if (sem != 0u) a_down = fmaxf(a_down, down);
            fk[0] = 0.0f;
            fk[1] = up;
            fk[2] = mec;
            fk[3] = down;
            done = down;
        }
        current = fmaxf(current, done);
        if (g.exit[k] != 0u) t = fmaxf(t, done);
    }
    return sem == 0u ? current : t;
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

#endif
