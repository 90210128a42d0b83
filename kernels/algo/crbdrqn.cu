// CRB-DRQN (src/algo/crbdrqn/kernels.rs): the central trajectory pool (eq. 21), its familiarity
// sampling (eq. 22) and the double-DQN target (eq. 23-24). Sums run over slots in order from 0.
#ifndef MECRL_ALGO_CRBDRQN_CU
#define MECRL_ALGO_CRBDRQN_CU

#include "common/index.cuh"
#include "common/pmath.cuh"
#include "common/philox.cuh"

#define STREAM_CRBDRQN_POOL 69u
#define CRBDRQN_FAMILIARITY_START 3u

// Mirrors `PoolParams` in src/algo/crbdrqn/kernels.rs (#[repr(C)], 64 bytes).
struct PoolParams {
    u32 cols;
    u32 steps;
    u32 f;
    u32 l;
    u32 agents;
    u32 n;
    u32 cap;
    u32 k;
    u32 shift;
    float alpha;
    u32 key0;
    u32 key1;
    u32 step;
    float gamma;
    u32 actions;
    u32 rows;
};

// Eq. (22), unnormalized: exp(alpha/2 (ln ln N - ln N)), N = 3 + times.
static __device__ __forceinline__ float crbdrqn_weight(float alpha, u32 times) {
    u32 nn = times > 0xffffffffu - CRBDRQN_FAMILIARITY_START ? 0xffffffffu : times + CRBDRQN_FAMILIARITY_START;
    float ln_n = pm_ln((float)nn);
    return pm_exp(0.5f * alpha * (pm_ln(ln_n) - ln_n));
}

extern "C" __global__ void crbdrqn_count(const PoolParams p, const float* __restrict__ weight,
                                         u32* __restrict__ count) {
    u32 c = global_id();
    if (c >= p.cols) return;
    u32 m = 0u;
    for (u32 t = 0; t < p.steps; ++t) m += weight[(u64)t * p.cols + c] > 0.0f ? 1u : 0u;
    count[c] = m / (p.n > 0u ? p.n : 1u);
}

extern "C" __global__ void crbdrqn_scan(const PoolParams p, const u32* __restrict__ count,
                                        u32* __restrict__ offset, u32* __restrict__ ring) {
    if (global_id() != 0u || p.cap == 0u) return;
    u32 total = 0u;
    for (u32 c = 0; c < p.cols; ++c) {
        offset[c] = total;
        u32 x = count[c];
        total = total > 0xffffffffu - x ? 0xffffffffu : total + x;
    }
    u32 cap = p.cap > 0u ? p.cap : 1u;
    u32 kept = total < p.cap ? total : p.cap;
    u32 head = ring[0] % cap;
    ring[2] = head;
    ring[0] = (head + kept) % cap;
    u32 filled = ring[1] + kept;
    ring[1] = filled < p.cap ? filled : p.cap;
    ring[3] = total;
}

extern "C" __global__ void crbdrqn_write(const PoolParams p, const float* __restrict__ obs,
                                         const float* __restrict__ load, const u32* __restrict__ action,
                                         const float* __restrict__ reward, const float* __restrict__ weight,
                                         const u32* __restrict__ count, const u32* __restrict__ offset,
                                         const u32* __restrict__ ring, float* __restrict__ p_obs,
                                         float* __restrict__ p_load, u32* __restrict__ p_action,
                                         float* __restrict__ p_reward, u32* __restrict__ p_next,
                                         u32* __restrict__ p_fam) {
    u32 c = global_id();
    if (c >= p.cols) return;
    u32 agents = p.agents > 0u ? p.agents : 1u;
    u32 inst = c / agents, b = p.cols / agents;
    u32 n = p.n, f = p.f, l = p.l;
    u32 j = 0u;
    for (u32 s = 0; s < p.steps; ++s) {
        if (!(weight[(u64)s * p.cols + c] > 0.0f)) continue;
        u32 traj = j / n, step = j % n;
        const float* so = obs + ((u64)s * p.cols + c) * f;
        const float* sl = load + ((u64)s * b + inst) * l;
        u32 g = offset[c] + traj;
        if (traj < count[c] && g < p.cap) {
            u32 slot = (ring[2] + g) % p.cap;
            float* d = p_obs + ((u64)slot * (n + 1u) + step) * f;
            for (u32 i = 0; i < f; ++i) d[i] = so[i];
            float* dl = p_load + ((u64)slot * (n + 1u) + step) * l;
            for (u32 i = 0; i < l; ++i) dl[i] = sl[i];
            p_action[(u64)slot * n + step] = action[(u64)s * p.cols + c];
            p_reward[(u64)slot * n + step] = reward[(u64)s * p.cols + c];
            if (step == 0u) {
                p_next[slot] = 0u;
                p_fam[slot] = 0u;
                float* z = p_obs + ((u64)slot * (n + 1u) + n) * f;
                for (u32 i = 0; i < f; ++i) z[i] = 0.0f;
                float* zl = p_load + ((u64)slot * (n + 1u) + n) * l;
                for (u32 i = 0; i < l; ++i) zl[i] = 0.0f;
            }
        }
        if (step == 0u && traj >= 1u) {
            u32 g1 = offset[c] + traj - 1u;
            if (traj - 1u < count[c] && g1 < p.cap) {
                u32 slot = (ring[2] + g1) % p.cap;
                float* d = p_obs + ((u64)slot * (n + 1u) + n) * f;
                for (u32 i = 0; i < f; ++i) d[i] = so[i];
                float* dl = p_load + ((u64)slot * (n + 1u) + n) * l;
                for (u32 i = 0; i < l; ++i) dl[i] = sl[i];
                p_next[slot] = 1u;
            }
        }
        j += 1u;
    }
}

extern "C" __global__ void crbdrqn_sample(const PoolParams p, const u32* __restrict__ p_fam,
                                          const u32* __restrict__ ring, u32* __restrict__ idx) {
    u32 k = global_id();
    if (k >= p.k) return;
    u32 size = p.cap == 0u ? 0u : (ring[1] < p.cap ? ring[1] : p.cap);
    float total = 0.0f;
    for (u32 s = 0; s < size; ++s) total = total + crbdrqn_weight(p.alpha, p_fam[s]);
    pblock w = philox4x32_10(philox_counter(k, 0u, p.step, STREAM_CRBDRQN_POOL, 0u), p.key0, p.key1);
    float target = rng_uniform(w.x) * total;
    float cum = 0.0f;
    u32 pick = size > 0u ? size - 1u : 0u;
    for (u32 s = 0; s < size; ++s) {
        cum = cum + crbdrqn_weight(p.alpha, p_fam[s]);
        if (target < cum) {
            pick = s;
            break;
        }
    }
    idx[k] = pick;
}

extern "C" __global__ void crbdrqn_touch(const PoolParams p, const u32* __restrict__ idx,
                                         u32* __restrict__ p_fam) {
    if (global_id() != 0u) return;
    for (u32 kk = 0; kk < p.k; ++kk) {
        u32 i = idx[kk];
        if (i < p.cap && p_fam[i] != 0xffffffffu) p_fam[i] += 1u;
    }
}

extern "C" __global__ void crbdrqn_gather(const PoolParams p, const u32* __restrict__ idx,
                                          const float* __restrict__ p_obs, const float* __restrict__ p_load,
                                          const u32* __restrict__ p_action, const float* __restrict__ p_reward,
                                          const u32* __restrict__ p_next, float* __restrict__ obs_out,
                                          float* __restrict__ load_out, u32* __restrict__ action_out,
                                          float* __restrict__ reward_out, float* __restrict__ term_out) {
    u32 r = global_id();
    u32 n = p.n, k = p.k, f = p.f, l = p.l;
    if (r >= n * k || p.cap == 0u) return;
    u32 s = r / k, kk = r % k;
    u32 slot = idx[kk] < p.cap ? idx[kk] : p.cap - 1u;
    u32 pos = s + (p.shift > 0u ? 1u : 0u);
    const float* so = p_obs + ((u64)slot * (n + 1u) + pos) * f;
    for (u32 i = 0; i < f; ++i) obs_out[(u64)r * f + i] = so[i];
    const float* sl = p_load + ((u64)slot * (n + 1u) + pos) * l;
    for (u32 i = 0; i < l; ++i) load_out[(u64)r * l + i] = sl[i];
    action_out[r] = p_action[(u64)slot * n + s];
    reward_out[r] = p_reward[(u64)slot * n + s];
    term_out[r] = (s + 1u == n && p_next[slot] == 0u) ? 1.0f : 0.0f;
}

extern "C" __global__ void crbdrqn_target(const PoolParams p, const float* __restrict__ q_next,
                                          const float* __restrict__ q_target, const float* __restrict__ reward,
                                          const float* __restrict__ term, float* __restrict__ y,
                                          u32* __restrict__ a_next) {
    u32 i = global_id();
    if (i >= p.rows) return;
    u32 a = p.actions;
    const float* qn = q_next + (u64)i * a;
    u32 best = 0u;
    for (u32 j = 1; j < a; ++j)
        if (qn[j] > qn[best]) best = j;
    float keep = 1.0f - term[i];
    y[i] = reward[i] + p.gamma * keep * q_target[(u64)i * a + best];
    a_next[i] = best;
}

#endif
