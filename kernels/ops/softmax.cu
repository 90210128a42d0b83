// Row-wise (masked) softmax and log-softmax (src/ops/softmax.rs): one thread per row, every sum
// over the row in index order.
#ifndef MECRL_OPS_SOFTMAX_CU
#define MECRL_OPS_SOFTMAX_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `SoftmaxParams` in src/ops/softmax.rs (#[repr(C)], 16 bytes).
struct SoftmaxParams {
    u32 rows;
    u32 cols;
    u32 log;
    u32 masked;
};

#define MASKED_LOGP (-1e30f)

extern "C" __global__ void softmax_fwd(const SoftmaxParams p, const float* __restrict__ x,
                                       const u32* __restrict__ mask, float* __restrict__ y) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u64 base = (u64)r * p.cols;
    bool any = false;
    float m = 0.0f;
    for (u32 j = 0; j < p.cols; ++j) {
        if (p.masked == 0u || mask[base + j] != 0u) {
            float v = x[base + j];
            if (!any || v > m) m = v;
            any = true;
        }
    }
    if (!any) {
        for (u32 j = 0; j < p.cols; ++j) y[base + j] = f32_nan();
        return;
    }
    float s = 0.0f;
    for (u32 j = 0; j < p.cols; ++j)
        if (p.masked == 0u || mask[base + j] != 0u) s = s + pm_exp(x[base + j] - m);
    float ls = pm_ln(s);
    for (u32 j = 0; j < p.cols; ++j) {
        float d = x[base + j] - m;
        if (!(p.masked == 0u || mask[base + j] != 0u)) y[base + j] = p.log != 0u ? MASKED_LOGP : 0.0f;
        else if (p.log != 0u) y[base + j] = d - ls;
        else y[base + j] = pm_exp(d) / s;
    }
}

extern "C" __global__ void softmax_bwd(const SoftmaxParams p, const float* __restrict__ y,
                                       const float* __restrict__ dy, const u32* __restrict__ mask,
                                       float* __restrict__ dx) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u64 base = (u64)r * p.cols;
    float s = 0.0f;
    if (p.log != 0u) {
        for (u32 j = 0; j < p.cols; ++j)
            if (p.masked == 0u || mask[base + j] != 0u) s = s + dy[base + j];
        for (u32 j = 0; j < p.cols; ++j)
            if (p.masked == 0u || mask[base + j] != 0u) dx[base + j] = dx[base + j] + (dy[base + j] - pm_exp(y[base + j]) * s);
    } else {
        for (u32 j = 0; j < p.cols; ++j) s = s + dy[base + j] * y[base + j];
        for (u32 j = 0; j < p.cols; ++j) dx[base + j] = dx[base + j] + y[base + j] * (dy[base + j] - s);
    }
}

#endif
