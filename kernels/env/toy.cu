// toy: the environment-contract fixture (src/env/toy.rs). One thread per instance.
#ifndef MECRL_ENV_TOY_CU
#define MECRL_ENV_TOY_CU

#include "common/index.cuh"
#include "common/philox.cuh"

// Mirrors `ToyParams` in src/env/toy.rs (#[repr(C)], 16 bytes).
struct ToyParams {
    u32 b;
    u32 a;
    u32 key0;
    u32 key1;
};

// rng::stream::TOY
#define STREAM_TOY 63u

// obs and mask of instance i from its state; true when every bit is on target.
static __device__ __forceinline__ bool toy_observe(u32 i, u32 a, const u32* __restrict__ state, float* __restrict__ obs,
                                                   u32* __restrict__ mask) {
    u32 t = state[(u64)i * (a + 1u) + a];
    bool all = true;
    for (u32 k = 0; k < a; ++k) {
        u32 s = state[(u64)i * (a + 1u) + k];
        u64 o = ((u64)i * a + k) * 2u;
        obs[o] = s == 0u ? 1.0f : 0.0f;
        obs[o + 1u] = s == 1u ? 1.0f : 0.0f;
        mask[o] = 1u;
        mask[o + 1u] = s != t ? 1u : 0u;
        all = all && s == t;
    }
    return all;
}

extern "C" __global__ void toy_reset(const ToyParams p, u32* __restrict__ state, float* __restrict__ obs,
                                     u32* __restrict__ mask, u32* __restrict__ terminated) {
    u32 i = global_id();
    if (i >= p.b) return;
    for (u32 k = 0; k <= p.a; ++k)
        state[(u64)i * (p.a + 1u) + k] = philox4x32_10(philox_counter(k, i, 0u, STREAM_TOY, 0u), p.key0, p.key1).x & 1u;
    terminated[i] = toy_observe(i, p.a, state, obs, mask) ? 1u : 0u;
}

extern "C" __global__ void toy_step(const ToyParams p, const u32* __restrict__ action, u32* __restrict__ state,
                                    float* __restrict__ obs, u32* __restrict__ mask, float* __restrict__ reward,
                                    u32* __restrict__ terminated) {
    u32 i = global_id();
    if (i >= p.b) return;
    u32 a = p.a;
    if (terminated[i] != 0u) {
        for (u32 k = 0; k < a; ++k) reward[(u64)i * a + k] = 0.0f;
        return;
    }
    u32 t = state[(u64)i * (a + 1u) + a];
    for (u32 k = 0; k < a; ++k) {
        u32 act = action[(u64)i * a + k];
        u32 s = state[(u64)i * (a + 1u) + k];
        if (act > 1u || (act == 1u && s == t)) {
            reward[(u64)i * a + k] = f32_nan();
            continue;
        }
        u32 s2 = s ^ act;
        state[(u64)i * (a + 1u) + k] = s2;
        reward[(u64)i * a + k] = s2 == t ? 1.0f : 0.0f;
    }
    terminated[i] = toy_observe(i, a, state, obs, mask) ? 1u : 0u;
}

#endif
