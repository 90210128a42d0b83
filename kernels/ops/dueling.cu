// Dueling combine (src/ops/dueling.rs): Q = V + A - mean A; one thread per row.
#ifndef MECRL_OPS_DUELING_CU
#define MECRL_OPS_DUELING_CU

#include "common/index.cuh"

// Mirrors `IndexParams` in src/ops/index.rs (#[repr(C)], 16 bytes).
struct IndexParams {
    u32 rows;
    u32 cols;
    u32 _pad0;
    u32 _pad1;
};

extern "C" __global__ void dueling_fwd(const IndexParams p, const float* __restrict__ v, const float* __restrict__ a,
                                       float* __restrict__ q) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u64 base = (u64)r * p.cols;
    float s = 0.0f;
    for (u32 j = 0; j < p.cols; ++j) s = s + a[base + j];
    float mean = s / (float)p.cols;
    for (u32 j = 0; j < p.cols; ++j) q[base + j] = (v[r] + a[base + j]) - mean;
}

extern "C" __global__ void dueling_bwd(const IndexParams p, const float* __restrict__ dq, float* __restrict__ dv,
                                       float* __restrict__ da) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u64 base = (u64)r * p.cols;
    float s = 0.0f;
    for (u32 j = 0; j < p.cols; ++j) s = s + dq[base + j];
    dv[r] = dv[r] + s;
    float mean = s / (float)p.cols;
    for (u32 j = 0; j < p.cols; ++j) da[base + j] = da[base + j] + (dq[base + j] - mean);
}

#endif
