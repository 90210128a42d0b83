// Additive attention (src/ops/attention.rs): scores s = vᵀ tanh(q + key_t), a masked softmax
// over the T encoder steps, the context Σ_t α_t e_t, and the backward. Every sum runs over its
// index from 0 in order; tanh as in act.cu. q [K, B, A], keys [K, T, B, A], v [K, A],
// values [K, T, B, H], mask [T, B] or [K, T, B] (nonzero = a real step), s, w [K, B, T].
#ifndef MECRL_OPS_ATTENTION_CU
#define MECRL_OPS_ATTENTION_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `AttentionParams` in src/ops/attention.rs (#[repr(C)], 32 bytes).
struct AttentionParams {
    u32 k;
    u32 b;
    u32 t;
    u32 a;
    u32 h;
    u32 masked;
    u32 _pad0;
    u32 _pad1;
};

static __device__ __forceinline__ float attn_tanh(float x) {
    float m = x < 0.0f ? -x : x;
    float e = pm_exp(-2.0f * m);
    float y = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -y : y;
}

static __device__ __forceinline__ bool attn_allowed(const AttentionParams& p, const u32* mask, u32 kk, u32 sb,
                                                    u32 st) {
    if (p.masked == 0u) return true;
    if (p.masked == 1u) return mask[(u64)st * p.b + sb] != 0u;
    return mask[((u64)kk * p.t + st) * p.b + sb] != 0u;
}

// i = (k B + b) T + t: s = Σ_a v_a tanh(q_a + key_{t,a}) (MRLCO eq. 15's score).
extern "C" __global__ void attention_score(const AttentionParams p, const float* __restrict__ q,
                                           const float* __restrict__ keys, const float* __restrict__ v,
                                           float* __restrict__ s) {
    u32 i = global_id();
    if (i >= p.k * p.b * p.t) return;
    u32 st = i % p.t, kb = i / p.t;
    u32 kk = kb / p.b, sb = kb % p.b;
    u64 qb = (u64)kb * p.a, kbase = (((u64)kk * p.t + st) * p.b + sb) * p.a;
    float acc = 0.0f;
    for (u32 j = 0; j < p.a; ++j) acc = acc + v[(u64)kk * p.a + j] * attn_tanh(q[qb + j] + keys[kbase + j]);
    s[i] = acc;
}

// r = k B + b: α_t = exp(s_t - m) / Σ_allowed exp(s_u - m); masked steps and rows with nothing
// allowed get 0.
extern "C" __global__ void attention_weights(const AttentionParams p, const float* __restrict__ s,
                                             const u32* __restrict__ mask, float* __restrict__ w) {
    u32 r = global_id();
    if (r >= p.k * p.b) return;
    u32 kk = r / p.b, sb = r % p.b;
    u64 base = (u64)r * p.t;
    bool any = false;
    float m = 0.0f;
    for (u32 st = 0; st < p.t; ++st) {
        if (attn_allowed(p, mask, kk, sb, st)) {
            float x = s[base + st];
            if (!any || x > m) m = x;
            any = true;
        }
    }
    float sum = 0.0f;
    for (u32 st = 0; st < p.t; ++st)
        if (attn_allowed(p, mask, kk, sb, st)) sum = sum + pm_exp(s[base + st] - m);
    for (u32 st = 0; st < p.t; ++st)
        w[base + st] = (any && attn_allowed(p, mask, kk, sb, st)) ? pm_exp(s[base + st] - m) / sum : 0.0f;
}

// i = (k B + b) H + h: c = Σ_t α_t e_{t,h} (eq. 14).
extern "C" __global__ void attention_context(const AttentionParams p, const float* __restrict__ w,
                                             const float* __restrict__ values, float* __restrict__ ctx) {
    u32 i = global_id();
    if (i >= p.k * p.b * p.h) return;
    u32 hh = i % p.h, kb = i / p.h;
    u32 kk = kb / p.b, sb = kb % p.b;
    float acc = 0.0f;
    for (u32 st = 0; st < p.t; ++st)
        acc = acc + w[(u64)kb * p.t + st] * values[(((u64)kk * p.t + st) * p.b + sb) * p.h + hh];
    ctx[i] = acc;
}

// i = (k B + b) T + t: g = dα + Σ_h dc_h e_{t,h}.
extern "C" __global__ void attention_bwd_gw(const AttentionParams p, const float* __restrict__ values,
                                            const float* __restrict__ dctx, const float* __restrict__ dw,
                                            float* __restrict__ gw) {
    u32 i = global_id();
    if (i >= p.k * p.b * p.t) return;
    u32 st = i % p.t, kb = i / p.t;
    u32 kk = kb / p.b, sb = kb % p.b;
    u64 ebase = (((u64)kk * p.t + st) * p.b + sb) * p.h;
    float acc = 0.0f;
    for (u32 hh = 0; hh < p.h; ++hh) acc = acc + dctx[(u64)kb * p.h + hh] * values[ebase + hh];
    gw[i] = dw[i] + acc;
}

// i = ((k T + t) B + b) H + h: de += α_t dc_h.
extern "C" __global__ void attention_bwd_values(const AttentionParams p, const float* __restrict__ w,
                                                const float* __restrict__ dctx, float* __restrict__ dvalues) {
    u32 i = global_id();
    if (i >= p.k * p.t * p.b * p.h) return;
    u32 hh = i % p.h, sb = (i / p.h) % p.b, st = (i / (p.h * p.b)) % p.t, kk = i / (p.h * p.b * p.t);
    u64 kb = (u64)kk * p.b + sb;
    dvalues[i] = dvalues[i] + w[kb * p.t + st] * dctx[kb * p.h + hh];
}

// r = k B + b: ds_t = α_t (g_t - Σ_u α_u g_u).
extern "C" __global__ void attention_bwd_score(const AttentionParams p, const float* __restrict__ w,
                                               const float* __restrict__ gw, float* __restrict__ ds) {
    u32 r = global_id();
    if (r >= p.k * p.b) return;
    u64 base = (u64)r * p.t;
    float dot = 0.0f;
    for (u32 st = 0; st < p.t; ++st) dot = dot + w[base + st] * gw[base + st];
    for (u32 st = 0; st < p.t; ++st) ds[base + st] = w[base + st] * (gw[base + st] - dot);
}

// i = (k B + b) A + a: δ_t = (ds_t v_a)(1 - u²), u = tanh(q_a + key_{t,a}); dkey += δ_t,
// dq += Σ_t δ_t.
extern "C" __global__ void attention_bwd_qk(const AttentionParams p, const float* __restrict__ q,
                                            const float* __restrict__ keys, const float* __restrict__ v,
                                            const float* __restrict__ ds, float* __restrict__ dq,
                                            float* __restrict__ dkeys) {
    u32 i = global_id();
    if (i >= p.k * p.b * p.a) return;
    u32 j = i % p.a, kb = i / p.a;
    u32 kk = kb / p.b, sb = kb % p.b;
    float qv = q[i], va = v[(u64)kk * p.a + j];
    float acc = 0.0f;
    for (u32 st = 0; st < p.t; ++st) {
        u64 ki = (((u64)kk * p.t + st) * p.b + sb) * p.a + j;
        float u = attn_tanh(qv + keys[ki]);
        float d = (ds[(u64)kb * p.t + st] * va) * (1.0f - u * u);
        dkeys[ki] = dkeys[ki] + d;
        acc = acc + d;
    }
    dq[i] = dq[i] + acc;
}

// i = k A + a: dv += Σ_b Σ_t ds_t tanh(q_a + key_{t,a}) (b outer, t inner).
extern "C" __global__ void attention_bwd_v(const AttentionParams p, const float* __restrict__ q,
                                           const float* __restrict__ keys, const float* __restrict__ ds,
                                           float* __restrict__ dv) {
    u32 i = global_id();
    if (i >= p.k * p.a) return;
    u32 j = i % p.a, kk = i / p.a;
    float acc = 0.0f;
    for (u32 sb = 0; sb < p.b; ++sb) {
        float qv = q[((u64)kk * p.b + sb) * p.a + j];
        for (u32 st = 0; st < p.t; ++st) {
            float u = attn_tanh(qv + keys[(((u64)kk * p.t + st) * p.b + sb) * p.a + j]);
            acc = acc + ds[((u64)kk * p.b + sb) * p.t + st] * u;
        }
    }
    dv[i] = dv[i] + acc;
}

#endif
