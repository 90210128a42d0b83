// The discrete SAC losses of the O2O offline phase (src/ops/sac.rs): the soft value of o' with
// the target and the actor's loss (eq. 11), the twin Q loss with the CQL regularizer (eq. 10).
// The forwards are one thread summing rows in index order; the backwards a thread per row
// (per twin and row), accumulating. The operation order mirrors the Rust reference.
#ifndef MECRL_OPS_SAC_CU
#define MECRL_OPS_SAC_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `SacParams` in src/ops/sac.rs (#[repr(C)], 32 bytes).
struct SacParams {
    u32 rows;
    u32 actions;
    float alpha;
    float gamma;
    float lambda_c;
    float reward_scale;
    float reward_bias;
    u32 _pad1;
};

static __device__ __forceinline__ float sac_min2(float a, float b) { return a <= b ? a : b; }

// (max, sum exp(x - max)) over the allowed entries of a row, index order.
static __device__ __forceinline__ void sac_lse_parts(const float* x, const u32* m, u32 a, float* mx_out,
                                                     float* s_out) {
    bool any = false;
    float mx = 0.0f;
    for (u32 j = 0; j < a; ++j)
        if (m[j] != 0u && (!any || x[j] > mx)) {
            mx = x[j];
            any = true;
        }
    if (!any) {
        *mx_out = f32_nan();
        *s_out = f32_nan();
        return;
    }
    float s = 0.0f;
    for (u32 j = 0; j < a; ++j)
        if (m[j] != 0u) s = s + pm_exp(x[j] - mx);
    *mx_out = mx;
    *s_out = s;
}

// The soft value of one row (as `soft_value_row`).
static __device__ float sac_soft_value(const float* z, const float* q1, const float* q2, const u32* m, u32 a,
                                       float alpha) {
    float mx, s;
    sac_lse_parts(z, m, a, &mx, &s);
    float ls = pm_ln(s);
    float v = 0.0f;
    for (u32 j = 0; j < a; ++j) {
        if (m[j] == 0u) continue;
        float lp = (z[j] - mx) - ls;
        float h = sac_min2(q1[j], q2[j]) - alpha * lp;
        v = v + pm_exp(lp) * h;
    }
    return v;
}

extern "C" __global__ void sac_value_fwd(const SacParams p, const float* __restrict__ z,
                                         const float* __restrict__ qbar, const u32* __restrict__ mask,
                                         const float* __restrict__ reward, const u32* __restrict__ done,
                                         float* __restrict__ loss, float* __restrict__ value,
                                         float* __restrict__ y) {
    if (global_id() != 0u || p.rows == 0u || p.actions == 0u) return;
    u32 r = p.rows, a = p.actions;
    float total = 0.0f;
    for (u32 i = 0; i < r; ++i) {
        u64 o = (u64)i * a;
        float v = sac_soft_value(z + o, qbar + o, qbar + (u64)r * a + o, mask + o, a, p.alpha);
        value[i] = v;
        float keep = done[i] != 0u ? 0.0f : 1.0f;
        y[i] = (p.reward_scale * reward[i] + p.reward_bias) + p.gamma * (keep * v);
        total = total + v;
    }
    loss[0] = -(total / (float)r);
}

extern "C" __global__ void sac_value_bwd(const SacParams p, const float* __restrict__ z,
                                         const float* __restrict__ qbar, const u32* __restrict__ mask,
                                         const float* __restrict__ value, const float* __restrict__ dl,
                                         float* __restrict__ dz) {
    u32 i = global_id();
    if (i >= p.rows || p.actions == 0u) return;
    u32 r = p.rows, a = p.actions;
    u64 o = (u64)i * a;
    const float* zr = z + o;
    const float* q1 = qbar + o;
    const float* q2 = qbar + (u64)r * a + o;
    const u32* m = mask + o;
    float g = -(dl[0] / (float)r);
    float mx, s;
    sac_lse_parts(zr, m, a, &mx, &s);
    float ls = pm_ln(s);
    for (u32 j = 0; j < a; ++j) {
        if (m[j] == 0u) continue;
        float lp = (zr[j] - mx) - ls;
        float h = sac_min2(q1[j], q2[j]) - p.alpha * lp;
        dz[o + j] = dz[o + j] + g * (pm_exp(lp) * (h - value[i]));
    }
}

extern "C" __global__ void cql_fwd(const SacParams p, const float* __restrict__ q, const u32* __restrict__ action,
                                   const float* __restrict__ y, const u32* __restrict__ mask,
                                   float* __restrict__ loss, float* __restrict__ stats) {
    if (global_id() != 0u || p.rows == 0u || p.actions == 0u) return;
    u32 r = p.rows, a = p.actions;
    float td = 0.0f, reg = 0.0f, qa = 0.0f, ym = 0.0f;
    for (u32 k = 0; k < 2u; ++k)
        for (u32 i = 0; i < r; ++i) {
            const float* row = q + ((u64)k * r + i) * a;
            u32 ai = action[i] < a - 1u ? action[i] : a - 1u;
            float d = row[ai] - y[i];
            td = td + d * d;
            float mx, s;
            sac_lse_parts(row, mask + (u64)i * a, a, &mx, &s);
            reg = reg + ((mx + pm_ln(s)) - row[ai]);
            qa = qa + row[ai];
            ym = ym + y[i];
        }
    float n = (float)(2u * r);
    td = td / n;
    reg = reg / n;
    stats[0] = td;
    stats[1] = reg;
    stats[2] = qa / n;
    stats[3] = ym / n;
    loss[0] = 2.0f * (td + p.lambda_c * reg);
}

extern "C" __global__ void cql_bwd(const SacParams p, const float* __restrict__ q, const u32* __restrict__ action,
                                   const float* __restrict__ y, const u32* __restrict__ mask,
                                   const float* __restrict__ dl, float* __restrict__ dq) {
    u32 t = global_id();
    if (t >= 2u * p.rows || p.actions == 0u) return;
    u32 r = p.rows, a = p.actions;
    u32 i = t % r;
    u64 o = (u64)t * a;
    const float* row = q + o;
    const u32* m = mask + (u64)i * a;
    u32 ai = action[i] < a - 1u ? action[i] : a - 1u;
    float g = dl[0] / (float)r;
    float mx, s;
    sac_lse_parts(row, m, a, &mx, &s);
    float d2 = 2.0f * (row[ai] - y[i]);
    for (u32 j = 0; j < a; ++j) {
        float hit = j == ai ? 1.0f : 0.0f;
        float sig = m[j] != 0u ? pm_exp(row[j] - mx) / s : 0.0f;
        dq[o + j] = dq[o + j] + g * (d2 * hit + p.lambda_c * (sig - hit));
    }
}

#endif
