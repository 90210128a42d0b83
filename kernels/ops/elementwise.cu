// Elementwise linear combination (src/ops/elementwise.rs): one thread per element.
#ifndef MECRL_OPS_ELEMENTWISE_CU
#define MECRL_OPS_ELEMENTWISE_CU

#include "common/index.cuh"

// Mirrors `AxpbyParams` in src/ops/elementwise.rs (#[repr(C)], 16 bytes).
struct AxpbyParams {
    u32 n;
    float a;
    float b;
    u32 _pad0;
};

extern "C" __global__ void axpby(const AxpbyParams p, const float* __restrict__ x1, const float* __restrict__ x2,
                                 float* __restrict__ y) {
    u32 t = global_id();
    if (t >= p.n) return;
    y[t] = p.a * x1[t] + p.b * x2[t];
}

extern "C" __global__ void scale_acc(const AxpbyParams p, const float* __restrict__ dy, float* __restrict__ dx) {
    u32 t = global_id();
    if (t >= p.n) return;
    dx[t] = dx[t] + p.a * dy[t];
}

extern "C" __global__ void mean_fwd(const AxpbyParams p, const float* __restrict__ x, float* __restrict__ y) {
    if (global_id() != 0u) return;
    float s = 0.0f;
    for (u32 j = 0; j < p.n; ++j) s = s + x[j];
    y[0] = s / (float)p.n;
}

extern "C" __global__ void mean_bwd(const AxpbyParams p, const float* __restrict__ dy, float* __restrict__ dx) {
    u32 t = global_id();
    if (t >= p.n) return;
    dx[t] = dx[t] + dy[0] * (1.0f / (float)p.n);
}

#endif
