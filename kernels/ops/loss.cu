// Losses (src/ops/loss.rs). MSE: one thread sums (y - t)² in index order; the backward is one
// thread per element.
#ifndef MECRL_OPS_LOSS_CU
#define MECRL_OPS_LOSS_CU

#include "common/index.cuh"

// Mirrors `LossParams` in src/ops/loss.rs (#[repr(C)], 16 bytes).
struct LossParams {
    u32 n;
    u32 _pad0;
    u32 _pad1;
    u32 _pad2;
};

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

// dy += ((y - t) (2 / n)) dL.
extern "C" __global__ void mse_bwd(const LossParams p, const float* __restrict__ y, const float* __restrict__ t,
                                   const float* __restrict__ dl, float* __restrict__ dy) {
    u32 j = global_id();
    if (j >= p.n) return;
    float c = 2.0f / (float)p.n;
    dy[j] = dy[j] + (y[j] - t[j]) * c * dl[0];
}

#endif
