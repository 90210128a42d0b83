// Categorical sampling from log-probabilities and entropy (src/ops/categorical.rs): one thread
// per row, sums in index order.
#ifndef MECRL_OPS_CATEGORICAL_CU
#define MECRL_OPS_CATEGORICAL_CU

#include "common/index.cuh"
#include "common/pmath.cuh"
#include "common/philox.cuh"

// Mirrors `CategoricalParams` in src/ops/categorical.rs (#[repr(C)], 32 bytes).
struct CategoricalParams {
    u32 rows;
    u32 cols;
    u32 key0;
    u32 key1;
    u32 step;
    u32 _pad0;
    u32 _pad1;
    u32 _pad2;
};

#define MASKED_BELOW (-1e29f)
#define NN_CATEGORICAL 9u

extern "C" __global__ void categorical_sample(const CategoricalParams p, const float* __restrict__ logp,
                                              u32* __restrict__ action) {
    u32 r = global_id();
    if (r >= p.rows) return;
    pblock w = philox4x32_10(make_pblock(r, p.step, 0u, NN_CATEGORICAL), p.key0, p.key1);
    float u = rng_uniform(pblock_word(w, 0));
    u64 base = (u64)r * p.cols;
    float cum = 0.0f;
    u32 last = 0xffffffffu;
    for (u32 j = 0; j < p.cols; ++j) {
        float l = logp[base + j];
        if (!(l > MASKED_BELOW)) continue;
        cum = cum + pm_exp(l);
        last = j;
        if (u < cum) break;
    }
    action[r] = last;
}

// The first allowed j of the largest logp_j; u32::MAX when nothing is allowed.
extern "C" __global__ void categorical_argmax(const CategoricalParams p, const float* __restrict__ logp,
                                              u32* __restrict__ action) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u64 base = (u64)r * p.cols;
    u32 best = 0xffffffffu;
    float m = 0.0f;
    for (u32 j = 0; j < p.cols; ++j) {
        float l = logp[base + j];
        if (!(l > MASKED_BELOW)) continue;
        if (best == 0xffffffffu || l > m) {
            m = l;
            best = j;
        }
    }
    action[r] = best;
}

extern "C" __global__ void entropy_fwd(const CategoricalParams p, const float* __restrict__ logp,
                                       float* __restrict__ h) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u64 base = (u64)r * p.cols;
    float s = 0.0f;
    for (u32 j = 0; j < p.cols; ++j) {
        float l = logp[base + j];
        if (l > MASKED_BELOW) s = s - pm_exp(l) * l;
    }
    h[r] = s;
}

extern "C" __global__ void entropy_bwd(const CategoricalParams p, const float* __restrict__ logp,
                                       const float* __restrict__ dh, float* __restrict__ dlogp) {
    u32 r = global_id();
    if (r >= p.rows) return;
    u64 base = (u64)r * p.cols;
    for (u32 j = 0; j < p.cols; ++j) {
        float l = logp[base + j];
        if (l > MASKED_BELOW) dlogp[base + j] = dlogp[base + j] + dh[r] * -(pm_exp(l) * (l + 1.0f));
    }
}

#endif
