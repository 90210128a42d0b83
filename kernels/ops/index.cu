// Gather and scatter-add along the last dimension (src/ops/index.rs): one thread per row.
#ifndef MECRL_OPS_INDEX_CU
#define MECRL_OPS_INDEX_CU

#include "common/index.cuh"

// Mirrors `IndexParams` in src/ops/index.rs (#[repr(C)], 16 bytes).
struct IndexParams {
    u32 rows;
    u32 cols;
    u32 _pad0;
    u32 _pad1;
};

extern "C" __global__ void gather(const IndexParams p, const float* __restrict__ x, const u32* __restrict__ idx,
                                  float* __restrict__ y) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u32 j = idx[r];
    y[r] = j < p.cols ? x[(u64)r * p.cols + j] : f32_nan();
}

extern "C" __global__ void scatter_add(const IndexParams p, const float* __restrict__ y, const u32* __restrict__ idx,
                                       float* __restrict__ x) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u32 j = idx[r];
    if (j < p.cols) x[(u64)r * p.cols + j] = x[(u64)r * p.cols + j] + y[r];
}

#endif
