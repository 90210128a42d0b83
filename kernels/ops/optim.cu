// Fused optimizer steps and fill (src/ops/optim.rs): one thread per element.
#ifndef MECRL_OPS_OPTIM_CU
#define MECRL_OPS_OPTIM_CU

#include "common/index.cuh"

// Mirrors `OptimParams` in src/ops/optim.rs (#[repr(C)], 48 bytes); Adam's step_size is
// lr / (1 - beta1^t), rsqrt_bc2 is 1 / sqrt(1 - beta2^t).
struct OptimParams {
    u32 n;
    u32 rule;
    u32 decoupled;
    u32 _pad0;
    float lr;
    float beta1;
    float beta2;
    float eps;
    float wd;
    float step_size;
    float rsqrt_bc2;
    u32 _pad1;
};

// Mirrors `ClipParams` in src/ops/optim.rs (#[repr(C)], 16 bytes).
struct ClipParams {
    u32 n;
    float max_norm;
    float eps;
    u32 _pad0;
};

// Mirrors `FillParams` in src/ops/optim.rs (#[repr(C)], 16 bytes).
struct FillParams {
    u32 n;
    u32 value;
    u32 _pad0;
    u32 _pad1;
};

extern "C" __global__ void optim_step(const OptimParams q, float* __restrict__ p, const float* __restrict__ g,
                                      float* __restrict__ m, float* __restrict__ v) {
    u32 t = global_id();
    if (t >= q.n) return;
    float pv = p[t], gv = g[t];
    if (q.wd != 0.0f) {
        if (q.decoupled != 0u) pv = pv - q.lr * q.wd * pv;
        else gv = gv + q.wd * pv;
    }
    if (q.rule == 0u) {
        if (q.beta1 != 0.0f) {
            float mv = q.beta1 * m[t] + gv;
            m[t] = mv;
            p[t] = pv - q.lr * mv;
        } else {
            p[t] = pv - q.lr * gv;
        }
    } else if (q.rule == 1u) {
        float mv = q.beta1 * m[t] + (1.0f - q.beta1) * gv;
        float vv = q.beta2 * v[t] + (1.0f - q.beta2) * (gv * gv);
        m[t] = mv;
        v[t] = vv;
        p[t] = pv - q.step_size * mv / (sqrtf(vv) * q.rsqrt_bc2 + q.eps);
    } else {
        float vv = q.beta2 * v[t] + (1.0f - q.beta2) * (gv * gv);
        v[t] = vv;
        p[t] = pv - q.lr * gv / (sqrtf(vv) + q.eps);
    }
}

extern "C" __global__ void fill(const FillParams q, u32* __restrict__ out) {
    u32 t = global_id();
    if (t >= q.n) return;
    out[t] = q.value;
}

// One thread: acc += Σ g² (in index order, added once).
extern "C" __global__ void sumsq_acc(const ClipParams q, const float* __restrict__ g, float* __restrict__ acc) {
    if (global_id() != 0u) return;
    float s = 0.0f;
    for (u32 j = 0; j < q.n; ++j) s = s + g[j] * g[j];
    acc[0] = acc[0] + s;
}

// g *= min(1, max_norm / (sqrt(total) + eps)).
extern "C" __global__ void clip_scale(const ClipParams q, const float* __restrict__ acc, float* __restrict__ g) {
    u32 t = global_id();
    if (t >= q.n) return;
    float f = q.max_norm / (sqrtf(acc[0]) + q.eps);
    if (f < 1.0f) g[t] = g[t] * f;
}

#endif
