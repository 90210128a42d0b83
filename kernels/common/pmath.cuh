// Portable f32 math: src/math.rs, same polynomials and operation order (Cephes). Compile with
// --fmad=false so no multiply-add is contracted (the Rust code never fuses).
#ifndef MECRL_COMMON_PMATH_CUH
#define MECRL_COMMON_PMATH_CUH

#include "common/index.cuh"

#define PM_FRAC_1_SQRT_2 0.70710678118654752440f
#define PM_LOG2_E 1.44269504088896340736f
#define PM_FRAC_PI_2 1.57079632679489661923f

// ln(x) for finite x > 0 (normal range). Cephes logf.
__device__ __forceinline__ float pm_ln(float x) {
    u32 bits = __float_as_uint(x);
    i32 e = (i32)((bits >> 23) & 0xffu) - 126;
    float m = __uint_as_float((bits & 0x007fffffu) | 0x3f000000u);
    if (m < PM_FRAC_1_SQRT_2) {
        e -= 1;
        m = m + m - 1.0f;
    } else {
        m -= 1.0f;
    }
    float ef = (float)e;
    float z = m * m;
    float y = 7.0376836e-2f;
    y = y * m - 1.151461e-1f;
    y = y * m + 1.1676999e-1f;
    y = y * m - 1.2420141e-1f;
    y = y * m + 1.4249323e-1f;
    y = y * m - 1.6668058e-1f;
    y = y * m + 2.0000714e-1f;
    y = y * m - 2.4999994e-1f;
    y = y * m + 3.3333331e-1f;
    y = y * m * z;
    y += -2.1219444e-4f * ef;
    y += -0.5f * z;
    return m + y + 0.6933594f * ef;
}

// exp(x), x clamped to [-87, 88]. Cephes expf.
__device__ __forceinline__ float pm_exp(float x) {
    x = rclamp(x, -87.0f, 88.0f);
    float fx = floorf(x * PM_LOG2_E + 0.5f);
    float r = x - fx * 0.6933594f - fx * -2.1219444e-4f;
    float z = r * r;
    float y = 1.9875691e-4f;
    y = y * r + 1.3981999e-3f;
    y = y * r + 8.333452e-3f;
    y = y * r + 4.1665796e-2f;
    y = y * r + 1.6666665e-1f;
    y = y * r + 5.0000001e-1f;
    y = y * z + r + 1.0f;
    return y * __uint_as_float(((u32)((i32)fx + 127)) << 23);
}

// (sin 2πu, cos 2πu) for a 24-bit uniform u in [0, 1).
__device__ __forceinline__ void pm_sincos_2pi(float u, float* s_out, float* c_out) {
    float t = 4.0f * u;
    float q = floorf(t + 0.5f);
    float r = (t - q) * PM_FRAC_PI_2;
    float z = r * r;
    float s = ((-1.9515296e-4f * z + 8.332161e-3f) * z - 1.6666655e-1f) * z * r + r;
    float c = ((2.4433157e-5f * z - 1.3887316e-3f) * z + 4.1666646e-2f) * z * z - 0.5f * z + 1.0f;
    switch (((i32)q) & 3) {
    case 0: *s_out = s; *c_out = c; break;
    case 1: *s_out = c; *c_out = -s; break;
    case 2: *s_out = -s; *c_out = -c; break;
    default: *s_out = -c; *c_out = s; break;
    }
}

// ln(1 + x) for x > -1 (Goldberg).
__device__ __forceinline__ float pm_ln1p(float x) {
    float u = 1.0f + x;
    if (u == 1.0f) return x;
    return pm_ln(u) * x / (u - 1.0f);
}

#endif
