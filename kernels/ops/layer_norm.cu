// Layer normalization over the last dimension (src/ops/layer_norm.rs): x [N, D], gain and bias
// [G, D] (row r uses group r / per_group), stats [N, 2] = (mean, 1 / sqrt(var + eps)). Every sum
// runs over its index from 0 in order, as the CPU.
#ifndef MECRL_OPS_LAYER_NORM_CU
#define MECRL_OPS_LAYER_NORM_CU

#include "common/index.cuh"

// Mirrors `LayerNormParams` in src/ops/layer_norm.rs (#[repr(C)], 16 bytes).
struct LayerNormParams {
    u32 n;
    u32 d;
    u32 per_group;
    float eps;
};

static __device__ __forceinline__ u32 ln_group_base(const LayerNormParams& p, u32 r) {
    return (r / (p.per_group > 1u ? p.per_group : 1u)) * p.d;
}

// One thread per row: mu = (sum x) / D, rho = 1 / sqrt((sum (x - mu)²) / D + eps),
// y = ((x - mu) rho) gain + bias.
extern "C" __global__ void layer_norm_fwd(const LayerNormParams p, const float* __restrict__ x,
                                          const float* __restrict__ gain, const float* __restrict__ bias,
                                          float* __restrict__ y, float* __restrict__ stats) {
    u32 r = global_id();
    if (r >= p.n) return;
    u64 base = (u64)r * p.d;
    u32 gb = ln_group_base(p, r);
    float dn = (float)p.d;
    float s = 0.0f;
    for (u32 j = 0; j < p.d; ++j) s = s + x[base + j];
    float mean = s / dn;
    float q = 0.0f;
    for (u32 j = 0; j < p.d; ++j) {
        float c = x[base + j] - mean;
        q = q + c * c;
    }
    float rho = 1.0f / sqrtf(q / dn + p.eps);
    stats[2u * (u64)r] = mean;
    stats[2u * (u64)r + 1u] = rho;
    for (u32 j = 0; j < p.d; ++j) y[base + j] = ((x[base + j] - mean) * rho) * gain[gb + j] + bias[gb + j];
}

// One thread per row: with d_j = dy_j gain_j, a = (sum d) / D, b = (sum d xhat) / D:
// dx_j += rho ((d_j - a) - xhat_j b).
extern "C" __global__ void layer_norm_bwd_x(const LayerNormParams p, const float* __restrict__ x,
                                            const float* __restrict__ gain, const float* __restrict__ stats,
                                            const float* __restrict__ dy, float* __restrict__ dx) {
    u32 r = global_id();
    if (r >= p.n) return;
    u64 base = (u64)r * p.d;
    u32 gb = ln_group_base(p, r);
    float dn = (float)p.d;
    float mean = stats[2u * (u64)r], rho = stats[2u * (u64)r + 1u];
    float sa = 0.0f, sb = 0.0f;
    for (u32 j = 0; j < p.d; ++j) {
        float dj = dy[base + j] * gain[gb + j];
        sa = sa + dj;
        sb = sb + dj * ((x[base + j] - mean) * rho);
    }
    float a = sa / dn, b = sb / dn;
    for (u32 j = 0; j < p.d; ++j) {
        float xh = (x[base + j] - mean) * rho;
        dx[base + j] = dx[base + j] + rho * ((dy[base + j] * gain[gb + j] - a) - xh * b);
    }
}

// t = g D + j: dgain += sum_rows dy xhat, dbias += sum_rows dy over the rows of group g in order.
extern "C" __global__ void layer_norm_bwd_w(const LayerNormParams p, const float* __restrict__ x,
                                            const float* __restrict__ stats, const float* __restrict__ dy,
                                            float* __restrict__ dgain, float* __restrict__ dbias) {
    u32 t = global_id();
    u32 pg = p.per_group > 1u ? p.per_group : 1u;
    u32 groups = (p.n + pg - 1u) / pg;
    if (p.d == 0u || t >= groups * p.d) return;
    u32 g = t / p.d, j = t % p.d;
    u32 r1 = (g + 1u) * pg < p.n ? (g + 1u) * pg : p.n;
    float sg = 0.0f, sb = 0.0f;
    for (u32 r = g * pg; r < r1; ++r) {
        u64 k = (u64)r * p.d + j;
        float xh = (x[k] - stats[2u * (u64)r]) * stats[2u * (u64)r + 1u];
        sg = sg + dy[k] * xh;
        sb = sb + dy[k];
    }
    dgain[t] = dgain[t] + sg;
    dbias[t] = dbias[t] + sb;
}

#endif
