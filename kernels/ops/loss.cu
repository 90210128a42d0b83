// Losses (src/ops/loss.rs): the forward is one thread summing in index order; the backward is
// one thread per element (per row for ce).
#ifndef MECRL_OPS_LOSS_CU
#define MECRL_OPS_LOSS_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `LossParams` in src/ops/loss.rs (#[repr(C)], 16 bytes).
struct LossParams {
    u32 n;
    u32 cols;
    float a;
    u32 fresh;
};

// σ(z), as act.cu.
static __device__ __forceinline__ float loss_sigmoid(float x) {
    if (x < 0.0f) {
        float e = pm_exp(x);
        return e / (1.0f + e);
    }
    return 1.0f / (1.0f + pm_exp(-x));
}

// (min term, gradient factor) of the PPO surrogate, as `ppo_terms`.
static __device__ __forceinline__ void ppo_terms(float lp, float old, float adv, float eps, float* term, float* g) {
    float rho = pm_exp(lp - old);
    float lo = 1.0f - eps, hi = 1.0f + eps;
    float c = rho < lo ? lo : (rho > hi ? hi : rho);
    float s1 = rho * adv, s2 = c * adv;
    if (s1 <= s2) {
        *term = s1;
        *g = s1;
    } else {
        *term = s2;
        *g = 0.0f;
    }
}

extern "C" __global__ void mse_fwd(const LossParams p, const float* __restrict__ y, const float* __restrict__ t,
                                   float* __restrict__ loss) {
    if (global_id() != 0u) return;
    float s = 0.0f;
    for (u32 j = 0; j < p.n; ++j) {
        float d = y[j] - t[j];
        s = s + d * d;
    }
    loss[0] = s / (float)p.n;
}

extern "C" __global__ void mse_bwd(const LossParams p, const float* __restrict__ y, const float* __restrict__ t,
                                   const float* __restrict__ dl, float* __restrict__ dy) {
    u32 j = global_id();
    if (j >= p.n) return;
    float c = 2.0f / (float)p.n;
    float g = (y[j] - t[j]) * c * dl[0];
    dy[j] = p.fresh ? g : dy[j] + g;
}

extern "C" __global__ void huber_fwd(const LossParams p, const float* __restrict__ y, const float* __restrict__ t,
                                     float* __restrict__ loss) {
    if (global_id() != 0u) return;
    float delta = p.a, s = 0.0f;
    for (u32 j = 0; j < p.n; ++j) {
        float d = y[j] - t[j];
        float ad = d < 0.0f ? -d : d;
        s = s + (ad <= delta ? 0.5f * d * d : delta * (ad - 0.5f * delta));
    }
    loss[0] = s / (float)p.n;
}

extern "C" __global__ void huber_bwd(const LossParams p, const float* __restrict__ y, const float* __restrict__ t,
                                     const float* __restrict__ dl, float* __restrict__ dy) {
    u32 j = global_id();
    if (j >= p.n) return;
    float delta = p.a, inv = 1.0f / (float)p.n;
    float d = y[j] - t[j];
    float c = d > delta ? delta : (d < -delta ? -delta : d);
    dy[j] = dy[j] + c * inv * dl[0];
}

extern "C" __global__ void bce_fwd(const LossParams p, const float* __restrict__ z, const float* __restrict__ t,
                                   float* __restrict__ loss) {
    if (global_id() != 0u) return;
    float s = 0.0f;
    for (u32 j = 0; j < p.n; ++j) {
        float a = z[j];
        float pos = a > 0.0f ? a : 0.0f;
        float ab = a < 0.0f ? -a : a;
        s = s + ((pos - a * t[j]) + pm_ln1p(pm_exp(-ab)));
    }
    loss[0] = s / (float)p.n;
}

extern "C" __global__ void bce_bwd(const LossParams p, const float* __restrict__ z, const float* __restrict__ t,
                                   const float* __restrict__ dl, float* __restrict__ dz) {
    u32 j = global_id();
    if (j >= p.n) return;
    float inv = 1.0f / (float)p.n;
    dz[j] = dz[j] + (loss_sigmoid(z[j]) - t[j]) * inv * dl[0];
}

extern "C" __global__ void ce_fwd(const LossParams p, const float* __restrict__ logp, const u32* __restrict__ labels,
                                  float* __restrict__ loss) {
    if (global_id() != 0u) return;
    float s = 0.0f;
    for (u32 r = 0; r < p.n; ++r) {
        u32 j = labels[r];
        s = s + (j < p.cols ? logp[(u64)r * p.cols + j] : f32_nan());
    }
    loss[0] = -(s / (float)p.n);
}

extern "C" __global__ void ce_bwd(const LossParams p, const u32* __restrict__ labels, const float* __restrict__ dl,
                                  float* __restrict__ dlogp) {
    u32 r = global_id();
    if (r >= p.n) return;
    u32 j = labels[r];
    if (j < p.cols) dlogp[(u64)r * p.cols + j] = dlogp[(u64)r * p.cols + j] + -(dl[0] / (float)p.n);
}

extern "C" __global__ void ppo_fwd(const LossParams p, const float* __restrict__ logp,
                                   const float* __restrict__ logp_old, const float* __restrict__ adv,
                                   float* __restrict__ loss) {
    if (global_id() != 0u) return;
    float s = 0.0f;
    for (u32 j = 0; j < p.n; ++j) {
        float term, g;
        ppo_terms(logp[j], logp_old[j], adv[j], p.a, &term, &g);
        s = s + term;
    }
    loss[0] = -(s / (float)p.n);
}

extern "C" __global__ void ppo_bwd(const LossParams p, const float* __restrict__ logp,
                                   const float* __restrict__ logp_old, const float* __restrict__ adv,
                                   const float* __restrict__ dl, float* __restrict__ dlogp) {
    u32 j = global_id();
    if (j >= p.n) return;
    float c = dl[0] / (float)p.n;
    float term, g;
    ppo_terms(logp[j], logp_old[j], adv[j], p.a, &term, &g);
    dlogp[j] = dlogp[j] + -(g * c);
}

#endif
