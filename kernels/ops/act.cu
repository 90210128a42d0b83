// Elementwise activations (src/ops/act.rs): 0 ReLU, 1 tanh, 2 sigmoid, with the portable exp.
#ifndef MECRL_OPS_ACT_CU
#define MECRL_OPS_ACT_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `ActParams` in src/ops/act.rs (#[repr(C)], 16 bytes).
struct ActParams {
    u32 n;
    u32 kind;
    u32 fresh;
    u32 _pad1;
};

static __device__ __forceinline__ float act_apply(u32 kind, float x) {
    if (kind == 0u) return x > 0.0f ? x : 0.0f;
    if (kind == 1u) {
        float a = x < 0.0f ? -x : x;
        float e = pm_exp(-2.0f * a);
        float t = (1.0f - e) / (1.0f + e);
        return x < 0.0f ? -t : t;
    }
    if (x < 0.0f) {
        float e = pm_exp(x);
        return e / (1.0f + e);
    }
    return 1.0f / (1.0f + pm_exp(-x));
}

static __device__ __forceinline__ float act_derivative(u32 kind, float y) {
    if (kind == 0u) return y > 0.0f ? 1.0f : 0.0f;
    if (kind == 1u) return 1.0f - y * y;
    return y * (1.0f - y);
}

extern "C" __global__ void act_fwd(const ActParams p, const float* __restrict__ x, float* __restrict__ y) {
    u32 t = global_id();
    if (t >= p.n) return;
    y[t] = act_apply(p.kind, x[t]);
}

// dx += dy f'(y).
extern "C" __global__ void act_bwd(const ActParams p, const float* __restrict__ y, const float* __restrict__ dy,
                                   float* __restrict__ dx) {
    u32 t = global_id();
    if (t >= p.n) return;
    float g = dy[t] * act_derivative(p.kind, y[t]);
    dx[t] = p.fresh ? g : dx[t] + g;  // fresh: a new gradient buffer, not read
}

#endif
