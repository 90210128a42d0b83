// 16-bit storage (src/ops/half.rs): f16 / bf16 packed two per word, integer conversions only.
#ifndef MECRL_OPS_HALF_CU
#define MECRL_OPS_HALF_CU

#include "common/index.cuh"

// Mirrors `HalfParams` in src/ops/half.rs (#[repr(C)], 16 bytes).
struct HalfParams {
    u32 n;
    u32 format;
    u32 _pad0;
    u32 _pad1;
};

static __device__ __forceinline__ u32 half_from_f32(float x) {
    u32 b = __float_as_uint(x);
    u32 sign = (b >> 16) & 0x8000u;
    u32 a = b & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;
    i32 e = (i32)(a >> 23) - 112;
    if (e >= 31) return sign | 0x7c00u;
    if (e <= 0) {
        if (e < -10) return sign;
        u32 m = (a & 0x7fffffu) | 0x800000u;
        u32 shift = (u32)(14 - e);
        u32 r = m >> shift;
        u32 rem = m & ((1u << shift) - 1u);
        u32 half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u) == 1u)) r += 1u;
        return sign | r;
    }
    u32 m = a & 0x7fffffu;
    u32 r = ((u32)e << 10) | (m >> 13);
    u32 rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u) == 1u)) r += 1u;
    return sign | r;
}

static __device__ __forceinline__ u32 bf16_from_f32(float x) {
    u32 b = __float_as_uint(x);
    if ((b & 0x7fffffffu) > 0x7f800000u) return ((b >> 16) | 0x40u) & 0xffffu;
    return ((b + 0x7fffu + ((b >> 16) & 1u)) >> 16) & 0xffffu;
}

static __device__ __forceinline__ float half_to_f32(u32 h) {
    u32 sign = (h & 0x8000u) << 16;
    u32 e = (h >> 10) & 0x1fu;
    u32 m = h & 0x3ffu;
    if (e == 0u) return __uint_as_float(sign | __float_as_uint((float)m * 5.9604645e-8f));
    if (e == 31u) return __uint_as_float(sign | 0x7f800000u | (m << 13));
    return __uint_as_float(sign | ((e + 112u) << 23) | (m << 13));
}

// One thread per word.
extern "C" __global__ void half_pack(const HalfParams p, const float* __restrict__ x, u32* __restrict__ h) {
    u32 w = global_id();
    if (2u * w >= p.n) return;
    u32 lo, hi = 0u;
    if (p.format == 0u) {
        lo = half_from_f32(x[2u * w]);
        if (2u * w + 1u < p.n) hi = half_from_f32(x[2u * w + 1u]);
    } else {
        lo = bf16_from_f32(x[2u * w]);
        if (2u * w + 1u < p.n) hi = bf16_from_f32(x[2u * w + 1u]);
    }
    h[w] = lo | (hi << 16);
}

extern "C" __global__ void half_unpack(const HalfParams p, const u32* __restrict__ h, float* __restrict__ x) {
    u32 i = global_id();
    if (i >= p.n) return;
    u32 v = (h[i / 2u] >> (16u * (i % 2u))) & 0xffffu;
    x[i] = p.format == 0u ? half_to_f32(v) : __uint_as_float(v << 16);
}

#endif
