// The PPO objective (src/ops/ppo.rs): the forward is one thread summing in index order and
// writing the statistics; the backward is one thread per sample, accumulating. The operation
// order mirrors `objective` / `objective_grad` there.
#ifndef MECRL_OPS_PPO_CU
#define MECRL_OPS_PPO_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `PpoLossParams` in src/ops/ppo.rs (#[repr(C)], 32 bytes).
struct PpoLossParams {
    u32 n;
    u32 norm_adv;
    float clip_eps;
    float value_coef;
    float entropy_coef;
    float clip_value;
    u32 _pad0;
    u32 _pad1;
};

// (min term, gradient factor) of the clipped surrogate, as `surrogate`.
static __device__ __forceinline__ void ppo_surrogate(float lp, float old, float adv, float eps, float* term,
                                                     float* g) {
    float rho = pm_exp(lp - old);
    float lo = 1.0f - eps, hi = 1.0f + eps;
    float c = rho < lo ? lo : (rho > hi ? hi : rho);
    float s1 = rho * adv, s2 = c * adv;
    if (s1 <= s2) {
        *term = s1;
        *g = s1;
    } else {
        *term = s2;
        *g = 0.0f;
    }
}

// (value loss, its derivative in v), as `value_terms`.
static __device__ __forceinline__ void ppo_value(float v, float v_old, float ret, float clip, float* l, float* dv_out) {
    float d = v - ret;
    float l1 = d * d;
    if (clip <= 0.0f) {
        *l = l1;
        *dv_out = 2.0f * d;
        return;
    }
    float dv = v - v_old;
    bool inside = -clip < dv && dv < clip;
    float cd = dv < -clip ? -clip : (dv > clip ? clip : dv);
    float vc = v_old + cd;
    float dc = vc - ret;
    float l2 = dc * dc;
    if (l1 >= l2) {
        *l = l1;
        *dv_out = 2.0f * d;
    } else if (inside) {
        *l = l2;
        *dv_out = 2.0f * dc;
    } else {
        *l = l2;
        *dv_out = 0.0f;
    }
}

extern "C" __global__ void ppo_objective_fwd(const PpoLossParams p, const float* __restrict__ logp,
                                             const float* __restrict__ entropy, const float* __restrict__ value,
                                             const float* __restrict__ old_logp,
                                             const float* __restrict__ old_value, const float* __restrict__ adv,
                                             const float* __restrict__ ret, const float* __restrict__ weight,
                                             float* __restrict__ loss, float* __restrict__ stats) {
    if (global_id() != 0u || p.n == 0u) return;
    u32 n = p.n;
    for (u32 k = 0; k < 12u; ++k) stats[k] = 0.0f;
    stats[9] = 1.0f;
    loss[0] = 0.0f;
    float w_sum = 0.0f;
    for (u32 i = 0; i < n; ++i) w_sum = w_sum + weight[i];
    if (!(w_sum > 0.0f)) return;
    float mu = 0.0f, inv = 1.0f;
    if (p.norm_adv != 0u) {
        float m = 0.0f;
        for (u32 i = 0; i < n; ++i) m = m + weight[i] * adv[i];
        mu = m / w_sum;
        float var_a = 0.0f;
        for (u32 i = 0; i < n; ++i) {
            float d = adv[i] - mu;
            var_a = var_a + weight[i] * (d * d);
        }
        inv = 1.0f / (sqrtf(var_a / w_sum) + 1e-8f);
    }
    float eps = p.clip_eps;
    float pg = 0.0f, vl = 0.0f, ent = 0.0f, kl = 0.0f, cf = 0.0f, r1 = 0.0f, r2 = 0.0f, e1 = 0.0f, e2 = 0.0f;
    for (u32 i = 0; i < n; ++i) {
        float w = weight[i];
        float a = (adv[i] - mu) * inv;
        float term, g, lv, dv;
        ppo_surrogate(logp[i], old_logp[i], a, eps, &term, &g);
        ppo_value(value[i], old_value[i], ret[i], p.clip_value, &lv, &dv);
        float lr = logp[i] - old_logp[i];
        float rho = pm_exp(lr);
        pg = pg + w * -term;
        vl = vl + w * lv;
        ent = ent + w * entropy[i];
        kl = kl + w * ((rho - 1.0f) - lr);
        if (fabsf(rho - 1.0f) > eps) cf = cf + w;
        float r = ret[i], e = ret[i] - old_value[i];
        r1 = r1 + w * r;
        r2 = r2 + w * (r * r);
        e1 = e1 + w * e;
        e2 = e2 + w * (e * e);
    }
    float mpg = pg / w_sum, mvl = vl / w_sum, ment = ent / w_sum;
    float mr1 = r1 / w_sum, me1 = e1 / w_sum;
    float var_r = r2 / w_sum - mr1 * mr1;
    float var_e = e2 / w_sum - me1 * me1;
    stats[1] = mpg;
    stats[2] = mvl;
    stats[3] = ment;
    stats[0] = (mpg + p.value_coef * mvl) - p.entropy_coef * ment;
    loss[0] = stats[0];
    stats[4] = kl / w_sum;
    stats[5] = cf / w_sum;
    if (var_r > 0.0f) stats[6] = 1.0f - var_e / var_r;
    stats[7] = w_sum;
    stats[8] = mu;
    stats[9] = inv;
}

extern "C" __global__ void ppo_objective_bwd(const PpoLossParams p, const float* __restrict__ logp,
                                             const float* __restrict__ value,
                                             const float* __restrict__ old_logp,
                                             const float* __restrict__ old_value, const float* __restrict__ adv,
                                             const float* __restrict__ ret, const float* __restrict__ weight,
                                             const float* __restrict__ stats, const float* __restrict__ dl,
                                             float* __restrict__ dlogp, float* __restrict__ dentropy,
                                             float* __restrict__ dvalue) {
    u32 i = global_id();
    if (i >= p.n) return;
    float w_sum = stats[7];
    if (!(w_sum > 0.0f)) return;
    float s = (dl[0] * weight[i]) / w_sum;
    float a = (adv[i] - stats[8]) * stats[9];
    float term, g, lv, dv;
    ppo_surrogate(logp[i], old_logp[i], a, p.clip_eps, &term, &g);
    ppo_value(value[i], old_value[i], ret[i], p.clip_value, &lv, &dv);
    dlogp[i] = dlogp[i] + s * -g;
    dentropy[i] = dentropy[i] + s * -p.entropy_coef;
    dvalue[i] = dvalue[i] + s * (p.value_coef * dv);
}

#endif
