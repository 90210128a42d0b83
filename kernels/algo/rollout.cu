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

// Per column e (one thread): the rows of its weighted steps in order, T below them; done = 1
// on its last weighted row and below, valid = 1 on the weighted rows.
extern "C" __global__ void rollout_index(const RolloutParams p, const float* __restrict__ weight,
                                         u32* __restrict__ idx, u32* __restrict__ done, u32* __restrict__ valid) {
    u32 c = global_id();
    u32 t = p.outer, e = p.envs_in;
    if (c >= e) return;
    u32 j = 0u;
    for (u32 s = 0; s < t; ++s) {
        if (weight[(u64)s * e + c] > 0.0f) {
            idx[(u64)j * e + c] = s;
            valid[(u64)j * e + c] = 1u;
            done[(u64)j * e + c] = 0u;
            j += 1u;
        }
    }
    if (j > 0u) done[(u64)(j - 1u) * e + c] = 1u;
    for (u32 r = j; r < t; ++r) {
        idx[(u64)r * e + c] = t;
        valid[(u64)r * e + c] = 0u;
        done[(u64)r * e + c] = 1u;
    }
}

// dst[j, e, :] = src[idx[j, e], e, :], zeros where idx >= T; one thread per word.
extern "C" __global__ void rollout_rows(const RolloutParams p, const u32* __restrict__ src,
                                        const u32* __restrict__ idx, u32* __restrict__ dst) {
    u32 i = global_id();
    u32 w = p.width, e = p.envs_in;
    if (w == 0u || e == 0u || (u64)i >= (u64)p.outer * e * w) return;
    u32 q = i % w, r = i / w;
    u32 c = r % e, s = idx[r];
    dst[i] = s < p.outer ? src[((u64)s * e + c) * w + q] : 0u;
}

#endif
