// Rollout storage (src/algo/rollout.rs): word moves between fields, one thread per word.
#ifndef MECRL_ALGO_ROLLOUT_CU
#define MECRL_ALGO_ROLLOUT_CU

#include "common/index.cuh"

// Mirrors `RolloutParams` in src/algo/rollout.rs (#[repr(C)], 32 bytes).
struct RolloutParams {
    u32 outer;
    u32 envs_in;
    u32 envs_out;
    u32 width;
    u32 t;
    u32 _pad0;
    u32 _pad1;
    u32 _pad2;
};

// dst[o, j, :] = src[o, idx[j], :]; an index past E reads column E - 1 (the host checks).
extern "C" __global__ void rollout_columns(const RolloutParams p, const u32* __restrict__ src,
                                           const u32* __restrict__ idx, u32* __restrict__ dst) {
    u32 i = global_id();
    u32 w = p.width, eo = p.envs_out;
    if (w == 0u || eo == 0u || (u64)i >= (u64)p.outer * eo * w) return;
    u32 q = i % w, r = i / w;
    u32 j = r % eo, o = r / eo;
    u32 c = idx[j] < p.envs_in - 1u ? idx[j] : p.envs_in - 1u;
    dst[i] = src[((u64)o * p.envs_in + c) * w + q];
}

// Row t of a [T, w] field.
extern "C" __global__ void rollout_put(const RolloutParams p, const u32* __restrict__ src, u32* __restrict__ dst) {
    u32 i = global_id();
    if (i >= p.width || p.t >= p.outer) return;
    dst[(u64)p.t * p.width + i] = src[i];
}

// dst[o, t + j, :] = src[o, j, :] (a block of columns; t + E_in <= E_out, else nothing).
extern "C" __global__ void rollout_place(const RolloutParams p, const u32* __restrict__ src, u32* __restrict__ dst) {
    u32 i = global_id();
    u32 w = p.width, ei = p.envs_in;
    if (w == 0u || ei == 0u || (u64)i >= (u64)p.outer * ei * w || p.t + ei > p.envs_out) return;
    u32 q = i % w, r = i / w;
    u32 j = r % ei, o = r / ei;
    dst[((u64)o * p.envs_out + p.t + j) * w + q] = src[i];
}

#endif
