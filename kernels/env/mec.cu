// mec: the DIRS environment kernels (src/env/mec/). Every formula mirrors the scalar Rust
// function named in its comment, with the same operation order.
//
// With MECRL_MEC_HELPERS_ONLY defined before inclusion (search/levy.cu) only the parameter block
// and the device helpers are compiled, not the mec_* kernels.
#ifndef MECRL_ENV_MEC_CU
#define MECRL_ENV_MEC_CU

#include "common/index.cuh"
#include "common/pmath.cuh"
#include "common/philox.cuh"

// Mirrors `MecParams` in src/env/mec/ (#[repr(C)], 96 bytes).
struct MecParams {
    u32 b;
    u32 n;
    u32 m;
    u32 p;
    u32 key0;
    u32 key1;
    u32 step;
    u32 variant;
    f32 area;
    f32 beta0;
    f32 bandwidth;
    f32 noise_psd;
    f32 d_lo;
    f32 d_hi;
    f32 f_lo;
    f32 f_hi;
    f32 f_local;
    f32 p_local;
    f32 f_max;
    f32 p_max;
    f32 phi_t;
    f32 phi_e;
    f32 d2_min;
    f32 capacity;
};

// eq. (2) `rate`.
static __device__ __forceinline__ float mec_rate(float bandwidth, float noise_psd, float p, float h) {
    return bandwidth * pm_ln1p(p * h / (noise_psd * bandwidth)) * PM_LOG2_E;
}

// `tx_cost`: (phi_T + phi_E p) D / r.
static __device__ __forceinline__ float mec_tx_cost(float d_bits, float r, float p, float phi_t, float phi_e) {
    return (phi_t + phi_e * p) * d_bits / r;
}

// Local Phi of a task: phi_T T + phi_E E with (T, E) of `local_time_energy`.
static __device__ __forceinline__ float mec_local_phi(float f_cycles, float f_local, float p_local, float phi_t,
                                                      float phi_e) {
    float t = f_cycles / f_local;
    float e = t * p_local;
    return phi_t * t + phi_e * e;
}

// One term of `objective_paper_one` for IoTD i (a_i <= m checked by the caller): adds the
// transmission/local cost to the return value and the MEC bins (sum f, sum F/f).
static __device__ __forceinline__ float mec_paper_term(float bandwidth, float noise_psd, float f_local,
                                                       float p_local, float phi_t, float phi_e, u32 m, u32 ai,
                                                       const float* __restrict__ h_row, float d, float fc, float f,
                                                       float pw, float* __restrict__ bins) {
    if (ai == 0u) return mec_local_phi(fc, f_local, p_local, phi_t, phi_e);
    u32 j = ai - 1u;
    float r = mec_rate(bandwidth, noise_psd, pw, h_row[j]);
    bins[j] += f;
    bins[m + j] += fc / f;
    return mec_tx_cost(d, r, pw, phi_t, phi_e);
}

// Final combination of `objective_paper_one`.
static __device__ __forceinline__ float mec_paper_finish(float s0, float s1, float s2, float s3, u32 m, float f_max,
                                                         float phi_t, const float* __restrict__ bins) {
    float cpu = 0.0f;
    for (u32 j = 0; j < m; ++j) cpu += bins[m + j] * fmaxf(bins[j] / f_max, 1.0f);
    return (s0 + s1) + (s2 + s3) + phi_t * cpu;
}

// Final combination of `objective_exact_one` (bins[0] collects local tasks and is ignored).
static __device__ __forceinline__ float mec_exact_finish(float s0, float s1, float s2, float s3, u32 m, float f_max,
                                                         float phi_t, const float* __restrict__ bins) {
    float cpu = 0.0f;
    for (u32 j = 1; j <= m; ++j) cpu += bins[j] * bins[j];
    return (s0 + s1) + (s2 + s3) + phi_t / f_max * cpu;
}

// `objective_exact_one` for one decision row a (N entries) of an instance with cost table
// `cost` [N, M+1] and `sqrt_f` [N]; `bins` has M+1 entries. An out-of-range a_i > M is clamped
// for the (in-bounds) reads and flagged: the result is NaN.
static __device__ __forceinline__ u32 mec_exact_add(const float* __restrict__ cost, const float* __restrict__ sqrt_f,
                                                    u32 i, u32 ai, u32 m, float* s, float* __restrict__ bins) {
    u32 bad = ai > m ? 1u : 0u;
    ai = ai > m ? m : ai;
    *s += cost[(u64)i * (m + 1u) + ai];
    bins[ai] += sqrt_f[i];
    return bad;
}

static __device__ __forceinline__ float mec_objective_exact_row(const float* __restrict__ cost,
                                                                const float* __restrict__ sqrt_f,
                                                                const u32* __restrict__ a, u32 n, u32 m,
                                                                float f_max, float phi_t, float* __restrict__ bins) {
    for (u32 j = 0; j <= m; ++j) bins[j] = 0.0f;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    u32 bad = 0u;
    u32 i = 0;
    for (; i + 4u <= n; i += 4u) {
        bad |= mec_exact_add(cost, sqrt_f, i, a[i], m, &s0, bins);
        bad |= mec_exact_add(cost, sqrt_f, i + 1u, a[i + 1u], m, &s1, bins);
        bad |= mec_exact_add(cost, sqrt_f, i + 2u, a[i + 2u], m, &s2, bins);
        bad |= mec_exact_add(cost, sqrt_f, i + 3u, a[i + 3u], m, &s3, bins);
    }
    if (i < n) bad |= mec_exact_add(cost, sqrt_f, i, a[i], m, &s0, bins);
    if (i + 1u < n) bad |= mec_exact_add(cost, sqrt_f, i + 1u, a[i + 1u], m, &s1, bins);
    if (i + 2u < n) bad |= mec_exact_add(cost, sqrt_f, i + 2u, a[i + 2u], m, &s2, bins);
    if (bad) return f32_nan();
    return mec_exact_finish(s0, s1, s2, s3, m, f_max, phi_t, bins);
}

// `objective_paper_one` for one (a, f, p) row of an instance (h [N, M], d, fc [N]); `bins` has
// 2M entries. NaN if some a_i > M.
static __device__ __forceinline__ float mec_objective_paper_row(
    float bandwidth, float noise_psd, float f_local, float p_local, float f_max, float phi_t, float phi_e,
    const float* __restrict__ h, const float* __restrict__ d, const float* __restrict__ fc,
    const u32* __restrict__ a, const float* __restrict__ f, const float* __restrict__ pw, u32 n, u32 m,
    float* __restrict__ bins) {
    for (u32 j = 0; j < 2u * m; ++j) bins[j] = 0.0f;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (u32 i = 0; i < n; ++i) {
        u32 ai = a[i];
        if (ai > m) return f32_nan();
        float t = mec_paper_term(bandwidth, noise_psd, f_local, p_local, phi_t, phi_e, m, ai, h + (u64)i * m, d[i],
                                 fc[i], f[i], pw[i], bins);
        switch (i & 3u) {
        case 0u: s0 += t; break;
        case 1u: s1 += t; break;
        case 2u: s2 += t; break;
        default: s3 += t; break;
        }
    }
    return mec_paper_finish(s0, s1, s2, s3, m, f_max, phi_t, bins);
}

#ifndef MECRL_MEC_HELPERS_ONLY

// eq. (3) `channel_gain`.
static __device__ __forceinline__ float mec_channel_gain(float beta0, float fading, float d2, float d2_min) {
    return beta0 * fmaxf(fading, 2.98023223876953125e-8f) / fmaxf(d2, d2_min);  // FADING_MIN = 2^-25
}

// `optimal_power` (eq. 13, power part): Newton from above on (1+t) ln(1+t) - t = phi_T c / phi_E.
static __device__ __forceinline__ float mec_optimal_power(float h, float bandwidth, float noise_psd, float phi_t,
                                                          float phi_e, float p_max) {
    float c = h / (noise_psd * bandwidth);
    if (phi_e <= 0.0f || c <= 0.0f) return p_max;
    float s = phi_t * c / phi_e;
    float t_max = c * p_max;
    float l_max = pm_ln1p(t_max);
    if ((1.0f + t_max) * l_max - t_max <= s) return p_max;
    float t = t_max;
    for (int it = 0; it < 64; ++it) {
        float next = (t + s) / pm_ln1p(t) - 1.0f;
        if (next >= t) break;
        t = next;
    }
    return fminf(t / c, p_max);
}


// mec_reset: one thread per IoTD or MEC, t < B (N + M): b = t / (N + M), k = t % (N + M);
// k < N is IoTD k (`reset_iotd`), else MEC k - N (`reset_mec`).
extern "C" __global__ void mec_reset(const MecParams p, float* __restrict__ iotd_pos, float* __restrict__ mec_pos,
                                     float* __restrict__ task_d, float* __restrict__ task_f) {
    u32 t = global_id();
    u32 per = p.n + p.m;
    if (t >= p.b * per) return;
    u32 b = t / per;
    u32 k = t % per;
    if (k < p.n) {
        pblock w = philox4x32_10(philox_counter(k, b, p.step, STREAM_MEC_IOTD_POS, 0u), p.key0, p.key1);
        pblock tk = philox4x32_10(philox_counter(k, b, p.step, STREAM_MEC_TASK, 0u), p.key0, p.key1);
        u64 base = (u64)b * 2u * p.n;
        iotd_pos[base + k] = p.area * rng_uniform(w.x);
        iotd_pos[base + p.n + k] = p.area * rng_uniform(w.y);
        task_d[(u64)b * p.n + k] = p.d_lo + (p.d_hi - p.d_lo) * rng_uniform(tk.x);
        task_f[(u64)b * p.n + k] = p.f_lo + (p.f_hi - p.f_lo) * rng_uniform(tk.y);
    } else {
        u32 j = k - p.n;
        pblock w = philox4x32_10(philox_counter(j, b, p.step, STREAM_MEC_MEC_POS, 0u), p.key0, p.key1);
        u64 base = (u64)b * 2u * p.m;
        mec_pos[base + j] = p.area * rng_uniform(w.x);
        mec_pos[base + p.m + j] = p.area * rng_uniform(w.y);
    }
}

// mec_channel: one thread per (b, i), t < B N (`channel_row`): l_ij ~ Exp(1) from block
// (i ceil(M/4) + j/4, b, step, FADING), word j mod 4.
extern "C" __global__ void mec_channel(const MecParams p, const float* __restrict__ iotd_pos,
                                       const float* __restrict__ mec_pos, float* __restrict__ h) {
    u32 t = global_id();
    if (t >= p.b * p.n) return;
    u32 b = t / p.n;
    u32 i = t % p.n;
    u32 m = p.m;
    u32 blocks = (m + 3u) / 4u;
    const float* pos = iotd_pos + (u64)b * 2u * p.n;
    float xi = pos[i];
    float yi = pos[p.n + i];
    const float* mp = mec_pos + (u64)b * 2u * m;
    float* out = h + (u64)t * m;
    pblock w = make_pblock(0u, 0u, 0u, 0u);
    for (u32 j = 0; j < m; ++j) {
        if ((j & 3u) == 0u)
            w = philox4x32_10(philox_counter(i * blocks + j / 4u, b, p.step, STREAM_MEC_FADING, 0u), p.key0, p.key1);
        float l = rng_exponential(pblock_word(w, j & 3u));
        float dx = mp[j] - xi;
        float dy = mp[m + j] - yi;
        out[j] = mec_channel_gain(p.beta0, l, dx * dx + dy * dy, p.d2_min);
    }
}

// mec_alloc: one thread per (b, i), t < B N (`alloc_row`): hn, p*, cost row [M+1], sqrt F.
extern "C" __global__ void mec_alloc(const MecParams p, const float* __restrict__ h, const float* __restrict__ task_d,
                                     const float* __restrict__ task_f, float* __restrict__ hn,
                                     float* __restrict__ p_opt, float* __restrict__ cost,
                                     float* __restrict__ sqrt_f) {
    u32 t = global_id();
    if (t >= p.b * p.n) return;
    u32 m = p.m;
    const float* hr = h + (u64)t * m;
    float* hnr = hn + (u64)t * m;
    float* por = p_opt + (u64)t * m;
    float* cr = cost + (u64)t * (m + 1u);
    float d = task_d[t];
    float f = task_f[t];
    float sum = 0.0f;
    for (u32 j = 0; j < m; ++j) sum += hr[j];
    cr[0] = mec_local_phi(f, p.f_local, p.p_local, p.phi_t, p.phi_e);
    for (u32 j = 0; j < m; ++j) {
        float hj = hr[j];
        hnr[j] = sum > 0.0f ? hj / sum : 0.0f;
        float pw = mec_optimal_power(hj, p.bandwidth, p.noise_psd, p.phi_t, p.phi_e, p.p_max);
        por[j] = pw;
        float r = mec_rate(p.bandwidth, p.noise_psd, pw, hj);
        cr[j + 1] = mec_tx_cost(d, r, pw, p.phi_t, p.phi_e);
    }
    sqrt_f[t] = sqrtf(f);
}

// mec_observe: one thread per (b, j), t < B M (`observe_column`): obs[b, j, :] = the
// standardized log gains of column j.
extern "C" __global__ void mec_observe(const MecParams p, const float* __restrict__ h, float* __restrict__ obs) {
    u32 t = global_id();
    if (t >= p.b * p.m) return;
    u32 b = t / p.m;
    u32 j = t % p.m;
    u32 n = p.n;
    u32 m = p.m;
    const float* hb = h + (u64)b * n * m;
    float* out = obs + (u64)t * n;
    float mean = 0.0f;
    for (u32 i = 0; i < n; ++i) {
        float v = pm_ln(fmaxf(hb[(u64)i * m + j], 1e-30f));
        out[i] = v;
        mean += v;
    }
    mean /= (float)n;
    float var = 0.0f;
    for (u32 i = 0; i < n; ++i) {
        float v = out[i];
        var += (v - mean) * (v - mean);
    }
    float sd = fmaxf(sqrtf(var / (float)n), 1e-6f);
    for (u32 i = 0; i < n; ++i) out[i] = (out[i] - mean) / sd;
}

// mec_objective_exact: one thread per candidate c = b P + p, t < B P; bins at c (M+1).
extern "C" __global__ void mec_objective_exact(const MecParams p, const float* __restrict__ cost,
                                               const float* __restrict__ sqrt_f, const u32* __restrict__ a,
                                               float* __restrict__ bins, float* __restrict__ phi) {
    u32 c = global_id();
    if (c >= p.b * p.p) return;
    u32 b = c / p.p;
    u32 n = p.n;
    u32 m = p.m;
    phi[c] = mec_objective_exact_row(cost + (u64)b * n * (m + 1u), sqrt_f + (u64)b * n, a + (u64)c * n, n, m, p.f_max,
                                     p.phi_t, bins + (u64)c * (m + 1u));
}

// mec_objective_paper: one thread per candidate c = b P + p, t < B P; bins at c 2M.
extern "C" __global__ void mec_objective_paper(const MecParams p, const float* __restrict__ h,
                                               const float* __restrict__ task_d, const float* __restrict__ task_f,
                                               const u32* __restrict__ a, const float* __restrict__ f,
                                               const float* __restrict__ pw, float* __restrict__ bins,
                                               float* __restrict__ phi) {
    u32 c = global_id();
    if (c >= p.b * p.p) return;
    u32 b = c / p.p;
    u32 n = p.n;
    u32 m = p.m;
    u64 r = (u64)c * n;
    phi[c] = mec_objective_paper_row(p.bandwidth, p.noise_psd, p.f_local, p.p_local, p.f_max, p.phi_t, p.phi_e,
                                     h + (u64)b * n * m, task_d + (u64)b * n, task_f + (u64)b * n, a + r, f + r,
                                     pw + r, n, m, bins + (u64)c * 2u * m);
}

// mec_heuristic: one thread per instance b < B (`heuristic_instance`); load scratch at b M.
extern "C" __global__ void mec_heuristic(const MecParams p, const float* __restrict__ iotd_pos,
                                         const float* __restrict__ mec_pos, const float* __restrict__ task_f,
                                         const u32* __restrict__ order, float* __restrict__ load,
                                         u32* __restrict__ a) {
    u32 b = global_id();
    if (b >= p.b) return;
    u32 n = p.n;
    u32 m = p.m;
    const float* pos = iotd_pos + (u64)b * 2u * n;
    const float* mp = mec_pos + (u64)b * 2u * m;
    const float* tf = task_f + (u64)b * n;
    const u32* ord = order + (u64)b * n;
    float* ld = load + (u64)b * m;
    u32* ab = a + (u64)b * n;
    for (u32 j = 0; j < m; ++j) ld[j] = 0.0f;
    if (p.variant == 0u) {
        for (u32 i = 0; i < n; ++i) ab[i] = 0u;
    } else if (p.variant == 1u) {
        for (u32 k = 0; k < n; ++k) {
            u32 i = ord[k];
            if (i >= n) continue;
            float x = pos[i];
            float y = pos[n + i];
            u32 best = 0u;
            float best_d2 = f32_inf();
            for (u32 j = 0; j < m; ++j) {
                float dx = mp[j] - x;
                float dy = mp[m + j] - y;
                float d2 = dx * dx + dy * dy;
                if (d2 < best_d2) {
                    best_d2 = d2;
                    best = j;
                }
            }
            if (ld[best] + tf[i] <= p.capacity) {
                ld[best] += tf[i];
                ab[i] = best + 1u;
            } else {
                ab[i] = 0u;
            }
        }
    } else {
        for (u32 i = 0; i < n; ++i) {
            pblock w = philox4x32_10(philox_counter(i, b, p.step, STREAM_MEC_RANDOM_POLICY, 0u), p.key0, p.key1);
            u32 t = rng_uniform_index(w.x, m + 1u);
            if (t > 0u && ld[t - 1u] + tf[i] <= p.capacity) {
                ld[t - 1u] += tf[i];
                ab[i] = t;
            } else {
                ab[i] = 0u;
            }
        }
    }
}

// mec_reward: one thread per instance; 1 / ΣΦ (variant 0) or −ΣΦ / N (variant 1).
extern "C" __global__ void mec_reward(const MecParams p, const float* __restrict__ phi, float* __restrict__ reward) {
    u32 b = global_id();
    if (b >= p.b) return;
    float x = phi[b];
    reward[b] = p.variant == 0u ? 1.0f / x : -x / (float)p.n;
}

#endif // MECRL_MEC_HELPERS_ONLY
#endif // MECRL_ENV_MEC_CU
