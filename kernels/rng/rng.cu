// rng_fill: Philox blocks and distributions into a buffer (src/rng.rs `rng_fill_element`).
#include "common/index.cuh"
#include "common/pmath.cuh"
#include "common/philox.cuh"

// Mirrors `RngFillParams` in src/rng.rs (#[repr(C)], 48 bytes).
struct RngFillParams {
    u32 key0;
    u32 key1;
    u32 c0;
    u32 c1;
    u32 c2;
    u32 c3;
    u32 dist;
    u32 n;
    f32 p0;
    f32 p1;
    u32 _pad0;
    u32 _pad1;
};

// One thread per element e < n; element e uses counter (c0 + e, c1, c2, c3) and writes
// 4 (raw), 2 (normal) or 1 word(s) at e * words.
extern "C" __global__ void rng_fill(const RngFillParams p, u32* __restrict__ out) {
    u32 e = global_id();
    if (e >= p.n) return;
    pblock ctr = make_pblock(p.c0 + e, p.c1, p.c2, p.c3);
    switch (p.dist) {
    case 0u: {
        pblock w = philox4x32_10(ctr, p.key0, p.key1);
        u64 o = (u64)e * 4u;
        out[o] = w.x;
        out[o + 1] = w.y;
        out[o + 2] = w.z;
        out[o + 3] = w.w;
        break;
    }
    case 1u:
        out[e] = __float_as_uint(rng_uniform(philox4x32_10(ctr, p.key0, p.key1).x));
        break;
    case 2u: {
        pblock w = philox4x32_10(ctr, p.key0, p.key1);
        float z0, z1;
        rng_normal2(w.x, w.y, &z0, &z1);
        u64 o = (u64)e * 2u;
        out[o] = __float_as_uint(z0);
        out[o + 1] = __float_as_uint(z1);
        break;
    }
    case 3u:
        out[e] = __float_as_uint(rng_exponential(philox4x32_10(ctr, p.key0, p.key1).x));
        break;
    case 4u:
        out[e] = rng_poisson(p.key0, p.key1, ctr, p.p0);
        break;
    default: {
        pblock w = philox4x32_10(ctr, p.key0, p.key1);
        float z0, z1;
        rng_normal2(w.x, w.y, &z0, &z1);
        out[e] = __float_as_uint(rng_levy_step(z0, z1, p.p0, p.p1));
        break;
    }
    }
}
