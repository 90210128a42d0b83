// Philox4x32-10 and the distributions of src/rng.rs, bit for bit.
// Counter = (element, instance, step, stream | draw << 16), key = (seed lo, seed hi).
#ifndef MECRL_COMMON_PHILOX_CUH
#define MECRL_COMMON_PHILOX_CUH

#include "common/index.cuh"
#include "common/pmath.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// Stream ids (src/rng.rs `stream`).
#define STREAM_MEC_IOTD_POS 1u
#define STREAM_MEC_MEC_POS 2u
#define STREAM_MEC_TASK 3u
#define STREAM_MEC_FADING 4u
#define STREAM_MEC_RANDOM_POLICY 5u
#define STREAM_LEVY_INIT 6u
#define STREAM_LEVY_STEP_A 7u
#define STREAM_LEVY_STEP_FP 8u

// One 128-bit block (counter or output).
struct pblock {
    u32 x, y, z, w;
};

__device__ __forceinline__ pblock make_pblock(u32 x, u32 y, u32 z, u32 w) {
    pblock b;
    b.x = x;
    b.y = y;
    b.z = z;
    b.w = w;
    return b;
}

// Word k (0..3) of a block without dynamic indexing (keeps blocks in registers).
__device__ __forceinline__ u32 pblock_word(pblock b, u32 k) {
    u32 v = b.x;
    v = k == 1u ? b.y : v;
    v = k == 2u ? b.z : v;
    v = k == 3u ? b.w : v;
    return v;
}

// Philox4x32-10: the block for counter `c` under key (k0, k1).
__device__ __forceinline__ pblock philox4x32_10(pblock c, u32 k0, u32 k1) {
    for (int r = 0; r < 10; ++r) {
        u32 hi0 = __umulhi(PHILOX_M0, c.x);
        u32 lo0 = PHILOX_M0 * c.x;
        u32 hi1 = __umulhi(PHILOX_M1, c.z);
        u32 lo1 = PHILOX_M1 * c.z;
        c = make_pblock(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return c;
}

// The counter for (element, instance, step, stream, draw).
__device__ __forceinline__ pblock philox_counter(u32 element, u32 instance, u32 step, u32 stream, u32 draw) {
    return make_pblock(element, instance, step, stream | (draw << 16));
}

// Uniform in [0, 1): top 24 bits / 2^24.
__device__ __forceinline__ float rng_uniform(u32 x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

// Uniform integer in 0..n (n >= 1).
__device__ __forceinline__ u32 rng_uniform_index(u32 x, u32 n) {
    return (u32)(((u64)(x >> 8) * (u64)n) >> 24);
}

// Two standard normals by Box-Muller from two raw words.
__device__ __forceinline__ void rng_normal2(u32 x0, u32 x1, float* z0, float* z1) {
    float u1 = rng_uniform(x0);
    float u2 = rng_uniform(x1);
    float r = sqrtf(-2.0f * pm_ln(1.0f - u1));
    float s, c;
    pm_sincos_2pi(u2, &s, &c);
    *z0 = r * c;
    *z1 = r * s;
}

// Exp(1): -ln(1 - u).
__device__ __forceinline__ float rng_exponential(u32 x) { return -pm_ln(1.0f - rng_uniform(x)); }

// Levy step (Mantegna, eq. 20-22): sigma_u * z0 / max(|z1|, 1e-30)^(1/beta).
__device__ __forceinline__ float rng_levy_step(float z0, float z1, float sigma_u, float inv_beta) {
    float v = fmaxf(fabsf(z1), 1e-30f);
    return sigma_u * z0 * pm_exp(-inv_beta * pm_ln(v));
}

__device__ const float RNG_LN_FACTORIAL[16] = {
    0.0f,        0.0f,       0.6931472f,  1.7917595f,  3.178054f,   4.787492f,   6.579251f,   8.525161f,
    10.604603f, 12.801827f, 15.104413f, 17.502308f, 19.987214f, 22.552164f, 25.191221f, 27.899271f,
};

// ln k! (table below 16, Stirling series above).
__device__ __forceinline__ float rng_ln_factorial(float k) {
    if (k < 16.0f) return RNG_LN_FACTORIAL[(u32)k];
    float r = 1.0f / k;
    return (k + 0.5f) * pm_ln(k) - k + 0.9189385f + r * ((1.0f / 12.0f) - r * r * (1.0f / 360.0f));
}

// Poisson(mean): inversion below 30, PTRS above; blocks (c.x, c.y, c.z, c.w + draw << 16).
__device__ __forceinline__ u32 rng_poisson(u32 k0, u32 k1, pblock c, float mean) {
    if (mean <= 0.0f) return 0u;
    if (mean < 30.0f) {
        float u = rng_uniform(philox4x32_10(c, k0, k1).x);
        float p = pm_exp(-mean);
        float f = p;
        u32 k = 0u;
        while (u > f) {
            k += 1u;
            p *= mean / (float)k;
            if (p < 1e-30f) break;
            f += p;
        }
        return k;
    }
    float slam = sqrtf(mean);
    float loglam = pm_ln(mean);
    float b = 0.931f + 2.53f * slam;
    float a = -0.059f + 0.02483f * b;
    float inv_alpha = 1.1239f + 1.1328f / (b - 3.4f);
    float vr = 0.9277f - 3.6224f / (b - 2.0f);
    u32 draw = 0u;
    for (;;) {
        pblock w = philox4x32_10(make_pblock(c.x, c.y, c.z, c.w + (draw << 16)), k0, k1);
        draw += 1u;
        for (int half = 0; half < 2; ++half) {
            u32 wu = half == 0 ? w.x : w.z;
            u32 wv = half == 0 ? w.y : w.w;
            float u = rng_uniform(wu) - 0.5f;
            float v = rng_uniform(wv);
            float us = 0.5f - fabsf(u);
            float k = floorf((2.0f * a / us + b) * u + mean + 0.43f);
            if (us >= 0.07f && v <= vr) return f32_to_u32(k);
            if (k < 0.0f || (us < 0.013f && v > us)) continue;
            if (pm_ln(fmaxf(v, 1e-30f)) + pm_ln(inv_alpha) - pm_ln(a / (us * us) + b) <=
                -mean + k * loglam - rng_ln_factorial(k)) {
                return f32_to_u32(k);
            }
        }
        if (draw >= 0x1000u) return f32_to_u32(mean);
    }
}

#endif
