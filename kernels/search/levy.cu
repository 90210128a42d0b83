// Levy population search kernels (src/search/levy/): levy_init, levy_generation, levy_best.
#include "common/index.cuh"
#include "common/pmath.cuh"
#include "common/philox.cuh"
// The mec objective helpers (mec_objective_exact_row, mec_objective_paper_row, ...), not the
// mec_* kernels.
#define MECRL_MEC_HELPERS_ONLY
#include "env/mec.cu"
#undef MECRL_MEC_HELPERS_ONLY

// Mirrors `LevyParams` in src/search/levy/ (#[repr(C)], 112 bytes).
struct LevyParams {
    u32 b;
    u32 n;
    u32 m;
    u32 p;
    u32 key0;
    u32 key1;
    u32 call;
    u32 generation;
    u32 gmax;
    u32 variant;
    u32 mode;
    u32 _pad0;
    f32 sigma_u;
    f32 inv_beta;
    f32 th;
    f32 eta_a;
    f32 eta_f;
    f32 eta_p;
    f32 f_min;
    f32 p_min;
    f32 f_max;
    f32 p_max;
    f32 f_local;
    f32 p_local;
    f32 phi_t;
    f32 phi_e;
    f32 bandwidth;
    f32 noise_psd;
};

// Counter word 2: call << 16 | generation.
static __device__ __forceinline__ u32 levy_ctr2(const LevyParams lp, u32 g) { return (lp.call << 16) | (g & 0xffffu); }

// eq. (26) `gamma` for 0-based generation g.
static __device__ __forceinline__ float levy_gamma(u32 g, u32 gmax) { return 2.0f - 2.0f * (float)g / (float)gmax; }

// `init_fp`: initial (f, p) of candidate pi of instance bi, IoTD i (paper mode).
static __device__ __forceinline__ void levy_init_fp(const LevyParams lp, u32 bi, u32 pi, u32 i, float* f, float* pw) {
    pblock w = philox4x32_10(philox_counter(pi * lp.n + i, bi, levy_ctr2(lp, 0xffffu), STREAM_LEVY_INIT, 0u), lp.key0,
                             lp.key1);
    *f = lp.f_min + (lp.f_max - lp.f_min) * rng_uniform(w.x);
    *pw = lp.p_min + (lp.p_max - lp.p_min) * rng_uniform(w.y);
}

// `candidate`: the candidate (a^c, f^c, p^c) of IoTD i from its parent (a, f, pw); hn_row = hn_i.
// Counter-based, so it can be regenerated identically.
static __device__ __forceinline__ u32 levy_candidate(const LevyParams lp, u32 bi, u32 pi, u32 i, u32 a, float f,
                                                     float pw, const float* __restrict__ hn_row, float* fc,
                                                     float* pc) {
    u32 c2 = levy_ctr2(lp, lp.generation);
    pblock w = philox4x32_10(philox_counter(pi * lp.n + i, bi, c2, STREAM_LEVY_STEP_A, 0u), lp.key0, lp.key1);
    float z0, z1;
    rng_normal2(w.x, w.y, &z0, &z1);
    float d = rng_levy_step(z0, z1, lp.sigma_u, lp.inv_beta); // eq. (20)-(22)
    float fm = f;
    float pm = pw;
    if (lp.mode == 1u) {
        pblock v = philox4x32_10(philox_counter(pi * lp.n + i, bi, c2, STREAM_LEVY_STEP_FP, 0u), lp.key0, lp.key1);
        float y0, y1, y2, y3;
        rng_normal2(v.x, v.y, &y0, &y1);
        rng_normal2(v.z, v.w, &y2, &y3);
        float df = rng_levy_step(y0, y1, lp.sigma_u, lp.inv_beta);
        float dp = rng_levy_step(y2, y3, lp.sigma_u, lp.inv_beta);
        // eq. (23), clipped to the boxes
        fm = rclamp(f + lp.eta_f * df, lp.f_min, lp.f_max);
        pm = rclamp(pw + lp.eta_p * dp, lp.p_min, lp.p_max);
    }
    if (lp.variant == 1u) {
        // classic: eq. (23) with rounding on a
        float s = rclamp(lp.eta_a * d, -1048576.0f, 1048576.0f);
        i32 si = f32_to_i32(floorf(s + 0.5f));
        i32 k = (i32)lp.m + 1;
        i32 r = ((i32)a + si) % k;
        if (r < 0) r += k;
        *fc = fm;
        *pc = pm;
        return (u32)r;
    }
    float gd = levy_gamma(lp.generation, lp.gmax) * d;
    // stab = hn_{i,a_i}, 0 for a local task; an invalid a_i > M reads hn_{i,M} (levy.rs
    // generate_exact clamps the same way; the candidate's fitness is NaN anyway).
    u32 ja = a > lp.m ? lp.m : a;
    float stab = ja == 0u ? 0.0f : hn_row[ja - 1u];
    u32 am = gd > stab ? rng_uniform_index(w.z, lp.m + 1u) : a; // eq. (25)
    if (gd > lp.th) {                                            // eq. (27)
        *fc = fm;
        *pc = pm;
        return am;
    }
    *fc = f;
    *pc = pw;
    return a;
}

// levy_init: one thread per candidate c = b P + p, c < B P. Copies a0[b] into the candidate,
// draws (f, p) in paper mode and stores the fitness; bins scratch at c (2M + 1).
extern "C" __global__ void levy_init(const LevyParams lp, const float* __restrict__ cost,
                                     const float* __restrict__ sqrt_f, const float* __restrict__ h,
                                     const float* __restrict__ task_d, const float* __restrict__ task_f,
                                     const u32* __restrict__ a0, u32* __restrict__ pop_a, float* __restrict__ pop_f,
                                     float* __restrict__ pop_p, float* __restrict__ fit, float* __restrict__ bins) {
    u32 c = global_id();
    if (c >= lp.b * lp.p) return;
    u32 bi = c / lp.p;
    u32 pi = c % lp.p;
    u32 n = lp.n;
    u32 m = lp.m;
    u64 row = (u64)c * n;
    u32* pa = pop_a + row;
    float* pf = pop_f + row;
    float* pp = pop_p + row;
    const u32* src = a0 + (u64)bi * n;
    for (u32 i = 0; i < n; ++i) pa[i] = src[i];
    float* bn = bins + (u64)c * (2u * m + 1u);
    if (lp.mode == 1u) {
        for (u32 i = 0; i < n; ++i) {
            float f, pw;
            levy_init_fp(lp, bi, pi, i, &f, &pw);
            pf[i] = f;
            pp[i] = pw;
        }
        fit[c] = mec_objective_paper_row(lp.bandwidth, lp.noise_psd, lp.f_local, lp.p_local, lp.f_max, lp.phi_t,
                                         lp.phi_e, h + (u64)bi * n * m, task_d + (u64)bi * n, task_f + (u64)bi * n,
                                         pa, pf, pp, n, m, bn);
    } else {
        fit[c] = mec_objective_exact_row(cost + (u64)bi * n * (m + 1u), sqrt_f + (u64)bi * n, pa, n, m, lp.f_max,
                                         lp.phi_t, bn);
    }
}

// levy_generation: one thread per candidate c = b P + p, c < B P. Pass 1 generates every
// IoTD's candidate value and accumulates the candidate's fitness without storing it; if it is
// strictly smaller than fit[c] (eq. 28), pass 2 regenerates the values and writes them.
extern "C" __global__ void levy_generation(const LevyParams lp, const float* __restrict__ cost,
                                           const float* __restrict__ sqrt_f, const float* __restrict__ h,
                                           const float* __restrict__ hn, const float* __restrict__ task_d,
                                           const float* __restrict__ task_f, u32* __restrict__ pop_a,
                                           float* __restrict__ pop_f, float* __restrict__ pop_p,
                                           float* __restrict__ fit, float* __restrict__ bins) {
    u32 c = global_id();
    if (c >= lp.b * lp.p) return;
    u32 bi = c / lp.p;
    u32 pi = c % lp.p;
    u32 n = lp.n;
    u32 m = lp.m;
    bool paper = lp.mode == 1u;
    u64 row = (u64)c * n;
    u32* pa = pop_a + row;
    float* pf = pop_f + row;
    float* pp = pop_p + row;
    const float* hn_b = hn + (u64)bi * n * m;
    const float* h_b = h + (u64)bi * n * m;
    const float* cost_b = cost + (u64)bi * n * (m + 1u);
    const float* sf_b = sqrt_f + (u64)bi * n;
    const float* d_b = task_d + (u64)bi * n;
    const float* fc_b = task_f + (u64)bi * n;
    float* bn = bins + (u64)c * (2u * m + 1u);

    u32 nb = paper ? 2u * m : m + 1u;
    for (u32 j = 0; j < nb; ++j) bn[j] = 0.0f;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    bool bad = false;
    for (u32 i = 0; i < n; ++i) {
        float f = paper ? pf[i] : 0.0f;
        float pw = paper ? pp[i] : 0.0f;
        float fc, pc;
        u32 ac = levy_candidate(lp, bi, pi, i, pa[i], f, pw, hn_b + (u64)i * m, &fc, &pc);
        if (ac > m) {
            bad = true;
            continue;
        }
        float t;
        if (paper) {
            t = mec_paper_term(lp.bandwidth, lp.noise_psd, lp.f_local, lp.p_local, lp.phi_t, lp.phi_e, m, ac,
                               h_b + (u64)i * m, d_b[i], fc_b[i], fc, pc, bn);
        } else {
            t = cost_b[(u64)i * (m + 1u) + ac];
            bn[ac] += sf_b[i];
        }
        switch (i & 3u) {
        case 0u: s0 += t; break;
        case 1u: s1 += t; break;
        case 2u: s2 += t; break;
        default: s3 += t; break;
        }
    }
    float fnew;
    if (bad) {
        fnew = f32_nan();
    } else if (paper) {
        fnew = mec_paper_finish(s0, s1, s2, s3, m, lp.f_max, lp.phi_t, bn);
    } else {
        fnew = mec_exact_finish(s0, s1, s2, s3, m, lp.f_max, lp.phi_t, bn);
    }
    if (!(fnew < fit[c])) return;
    for (u32 i = 0; i < n; ++i) {
        float f = paper ? pf[i] : 0.0f;
        float pw = paper ? pp[i] : 0.0f;
        float fc, pc;
        u32 ac = levy_candidate(lp, bi, pi, i, pa[i], f, pw, hn_b + (u64)i * m, &fc, &pc);
        pa[i] = ac;
        if (paper) {
            pf[i] = fc;
            pp[i] = pc;
        }
    }
    fit[c] = fnew;
}

// levy_best: one thread per instance b < B: the first candidate with the smallest fitness (NaN
// never wins), copied to best_a/best_f/best_p [B, N] and best_fit [B].
extern "C" __global__ void levy_best(const LevyParams lp, const u32* __restrict__ pop_a,
                                     const float* __restrict__ pop_f, const float* __restrict__ pop_p,
                                     const float* __restrict__ fit, u32* __restrict__ best_a,
                                     float* __restrict__ best_f, float* __restrict__ best_p,
                                     float* __restrict__ best_fit) {
    u32 b = global_id();
    if (b >= lp.b) return;
    u32 n = lp.n;
    const float* fb = fit + (u64)b * lp.p;
    u32 k = 0u;
    float best = f32_inf();
    for (u32 q = 0; q < lp.p; ++q) {
        float v = fb[q];
        if (v < best) {
            best = v;
            k = q;
        }
    }
    u64 src = ((u64)b * lp.p + k) * n;
    u64 dst = (u64)b * n;
    for (u32 i = 0; i < n; ++i) {
        best_a[dst + i] = pop_a[src + i];
        best_f[dst + i] = pop_f[src + i];
        best_p[dst + i] = pop_p[src + i];
    }
    best_fit[b] = fb[k];
}
