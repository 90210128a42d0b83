// DIRS kernels (src/algo/dirs.rs): the maximum vote over the agents' logits z [M, R, N] and
// loss (17) with its gradient. Sums run in index order from 0.0, as on the CPU.
#ifndef MECRL_ALGO_DIRS_CU
#define MECRL_ALGO_DIRS_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `DirsParams` in src/algo/dirs.rs (#[repr(C)], 32 bytes).
struct DirsParams {
    u32 m;
    u32 rows;
    u32 n;
    u32 _pad0;
    float lambda2;
    u32 _pad1;
    u32 _pad2;
    u32 _pad3;
};

static __device__ __forceinline__ float dirs_sigmoid(float x) {
    if (x < 0.0f) {
        float e = pm_exp(x);
        return e / (1.0f + e);
    }
    return 1.0f / (1.0f + pm_exp(-x));
}

// BCE with logits of one element, as ops/loss bce.
static __device__ __forceinline__ float dirs_bce(float z, float t) {
    float pos = z > 0.0f ? z : 0.0f;
    float ab = z < 0.0f ? -z : z;
    return (pos - z * t) + pm_ln1p(pm_exp(-ab));
}

extern "C" __global__ void dirs_vote(const DirsParams p, const float* __restrict__ z, u32* __restrict__ a) {
    u32 t = global_id();
    u32 stride = p.rows * p.n;
    if (t >= stride) return;
    u32 best = 0u;
    float bz = -f32_inf();
    for (u32 j = 0; j < p.m; ++j) {
        float v = z[(u64)j * stride + t];
        if (v > bz) {
            bz = v;
            best = j + 1u;
        }
    }
    a[t] = bz >= 0.0f ? best : 0u;
}

extern "C" __global__ void dirs_loss_rows(const DirsParams p, const float* __restrict__ z,
                                          const u32* __restrict__ label, float* __restrict__ ls) {
    u32 k = global_id();
    u32 r = p.rows;
    u32 n = p.n;
    if (k >= r) return;
    float s = 0.0f;
    for (u32 j = 0; j < p.m; ++j) {
        for (u32 i = 0; i < n; ++i) {
            float t = label[(u64)k * n + i] == j + 1u ? 1.0f : 0.0f;
            s = s + dirs_bce(z[((u64)j * r + k) * n + i], t);
        }
    }
    ls[k] = s;
}

extern "C" __global__ void dirs_loss_total(const DirsParams p, const u32* __restrict__ demo,
                                           const float* __restrict__ ls, float* __restrict__ c,
                                           float* __restrict__ v, float* __restrict__ loss) {
    if (global_id() != 0u) return;
    u32 r = p.rows;
    u32 nd = 0u;
    for (u32 k = 0; k < r; ++k) nd += demo[k] != 0u ? 1u : 0u;
    u32 na = r - nd;
    float cd = nd > 0u ? 1.0f / (float)nd : 0.0f;
    float ca = na > 0u ? p.lambda2 / (float)na : 0.0f;
    float s = 0.0f;
    for (u32 k = 0; k < r; ++k) {
        float ck = demo[k] != 0u ? cd : ca;
        c[k] = ck;
        s = s + ck * ls[k];
        v[k] = ls[k] / (float)p.m;
    }
    loss[0] = s;
}

extern "C" __global__ void dirs_loss_grad(const DirsParams p, const float* __restrict__ z,
                                          const u32* __restrict__ label, const float* __restrict__ c,
                                          float* __restrict__ g) {
    u32 e = global_id();
    u32 r = p.rows;
    u32 n = p.n;
    if (e >= p.m * r * n) return;
    u32 i = e % n;
    u32 k = (e / n) % r;
    u32 t_ = e / (n * r);
    float t = label[(u64)k * n + i] == t_ + 1u ? 1.0f : 0.0f;
    g[e] = c[k] * (dirs_sigmoid(z[e]) - t);
}

#endif
