// Prioritized replay memory (src/algo/replay.rs, eq. 16 of the DIRS paper). Priorities w^tau with
// w = |delta| + eps_D (demonstrations) or eps_A (agent data); sums over slots in order from 0.
#ifndef MECRL_ALGO_REPLAY_CU
#define MECRL_ALGO_REPLAY_CU

#include "common/index.cuh"
#include "common/pmath.cuh"
#include "common/philox.cuh"

#define STREAM_REPLAY_SAMPLE 10u

// Mirrors `ReplayParams` in src/algo/replay.rs (#[repr(C)], 64 bytes).
struct ReplayParams {
    u32 cap;
    u32 size;
    u32 n;
    u32 m;
    u32 rows;
    u32 head;
    u32 demo;
    u32 k;
    u32 key0;
    u32 key1;
    u32 step;
    float tau;
    float eps_a;
    float eps_d;
    u32 floor;
    u32 _pad1;
};

// Eq. (16): w^tau = exp(tau ln w).
static __device__ __forceinline__ float replay_priority(const ReplayParams& p, u32 flag, float d) {
    float w = d + (flag != 0u ? p.eps_d : p.eps_a);
    return pm_exp(p.tau * pm_ln(w));
}

extern "C" __global__ void replay_push(const ReplayParams p, const float* __restrict__ obs_in,
                                       const u32* __restrict__ label_in, float* __restrict__ obs,
                                       u32* __restrict__ label, u32* __restrict__ demo, float* __restrict__ delta,
                                       const float* __restrict__ maxd) {
    u32 t = global_id();
    u32 w = p.m * p.n;
    if (t >= p.rows * w) return;
    u32 r = t / w;
    u32 e = t % w;
    u32 s = p.floor + (p.head + r) % (p.cap - p.floor);
    obs[(u64)s * w + e] = obs_in[t];
    if (e < p.n) label[(u64)s * p.n + e] = label_in[(u64)r * p.n + e];
    if (e == 0u) {
        demo[s] = p.demo;
        delta[s] = maxd[0];
    }
}

extern "C" __global__ void replay_sample(const ReplayParams p, const u32* __restrict__ demo,
                                         const float* __restrict__ delta, u32* __restrict__ idx) {
    u32 k = global_id();
    if (k >= p.k) return;
    u32 size = p.size < p.cap ? p.size : p.cap;
    float total = 0.0f;
    for (u32 s = 0; s < size; ++s) total = total + replay_priority(p, demo[s], delta[s]);
    pblock w = philox4x32_10(philox_counter(k, 0u, p.step, STREAM_REPLAY_SAMPLE, 0u), p.key0, p.key1);
    float target = rng_uniform(w.x) * total;
    float cum = 0.0f;
    u32 pick = p.size > 0u ? p.size - 1u : 0u;
    for (u32 s = 0; s < size; ++s) {
        cum = cum + replay_priority(p, demo[s], delta[s]);
        if (target < cum) {
            pick = s;
            break;
        }
    }
    idx[k] = pick;
}

extern "C" __global__ void replay_update(const ReplayParams p, const u32* __restrict__ idx,
                                         const float* __restrict__ v, float* __restrict__ delta,
                                         float* __restrict__ maxd) {
    if (global_id() != 0u) return;
    float md = maxd[0];
    for (u32 kk = 0; kk < p.k; ++kk) {
        u32 s = idx[kk];
        if (s < p.cap) delta[s] = v[kk];
        if (v[kk] > md) md = v[kk];
    }
    maxd[0] = md;
}

extern "C" __global__ void replay_gather(const ReplayParams p, const u32* __restrict__ idx,
                                         const float* __restrict__ obs, const u32* __restrict__ label,
                                         const u32* __restrict__ demo, float* __restrict__ x,
                                         u32* __restrict__ label_out, u32* __restrict__ demo_out) {
    u32 t = global_id();
    u32 n = p.n;
    u32 rows = p.rows;
    if (t >= p.m * rows * n) return;
    u32 i = t % n;
    u32 r = (t / n) % rows;
    u32 j = t / (n * rows);
    u32 s = idx[r];
    if (s >= p.cap) s = 0u;
    x[t] = obs[((u64)s * p.m + j) * n + i];
    if (j == 0u) {
        label_out[(u64)r * n + i] = label[(u64)s * n + i];
        if (i == 0u) demo_out[r] = demo[s];
    }
}

#endif
