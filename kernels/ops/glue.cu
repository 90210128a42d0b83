// Glue between ops (src/ops/glue.rs): a strided block copy (write or accumulate).
#ifndef MECRL_OPS_GLUE_CU
#define MECRL_OPS_GLUE_CU

#include "common/index.cuh"

// Mirrors `CopyParams` in src/ops/glue.rs (#[repr(C)], 64 bytes).
struct CopyParams {
    u32 d0;
    u32 d1;
    u32 d2;
    u32 n;
    u32 s0;
    u32 s1;
    u32 s2;
    u32 soff;
    u32 t0;
    u32 t1;
    u32 t2;
    u32 toff;
    u32 accumulate;
    u32 _pad0;
    u32 _pad1;
    u32 _pad2;
};

// t = ((i0 D1 + i1) D2 + i2) n + j: dst[toff + i0 t0 + i1 t1 + i2 t2 + j] (+)= src[soff + ...].
extern "C" __global__ void glue_copy(const CopyParams p, const float* __restrict__ src, float* __restrict__ dst) {
    u32 t = global_id();
    if (p.n == 0u || t >= p.d0 * p.d1 * p.d2 * p.n) return;
    u32 j = t % p.n, r = t / p.n;
    u32 i2 = r % p.d2;
    r /= p.d2;
    u32 i1 = r % p.d1, i0 = r / p.d1;
    u64 s = (u64)p.soff + (u64)i0 * p.s0 + (u64)i1 * p.s1 + (u64)i2 * p.s2 + j;
    u64 o = (u64)p.toff + (u64)i0 * p.t0 + (u64)i1 * p.t1 + (u64)i2 * p.t2 + j;
    dst[o] = p.accumulate != 0u ? dst[o] + src[s] : src[s];
}

#endif
