// Generalized advantage estimation and returns (src/algo/gae.rs): one thread per environment
// walks its column backwards. delta = (r + (gamma V') n) - V, A = delta + (gamma_lambda n) A',
// discounted return G = r + (gamma G') n.
#ifndef MECRL_ALGO_GAE_CU
#define MECRL_ALGO_GAE_CU

#include "common/index.cuh"

// Mirrors `GaeParams` in src/algo/gae.rs (#[repr(C)], 32 bytes).
struct GaeParams {
    u32 steps;
    u32 envs;
    float gamma;
    float gamma_lambda;
    u32 returns;
    u32 _pad0;
    u32 _pad1;
    u32 _pad2;
};

extern "C" __global__ void gae(const GaeParams p, const float* __restrict__ reward, const float* __restrict__ value,
                               const u32* __restrict__ done, const float* __restrict__ next_value,
                               float* __restrict__ adv, float* __restrict__ ret) {
    u32 e = global_id();
    if (e >= p.envs) return;
    float a_next = 0.0f, v_next = next_value[e], g_next = next_value[e];
    for (u32 k = 0; k < p.steps; ++k) {
        u64 i = (u64)(p.steps - 1u - k) * p.envs + e;
        float n = done[i] == 0u ? 1.0f : 0.0f;
        float delta = (reward[i] + (p.gamma * v_next) * n) - value[i];
        float a = delta + (p.gamma_lambda * n) * a_next;
        float g = reward[i] + (p.gamma * g_next) * n;
        adv[i] = a;
        ret[i] = p.returns == 1u ? g : a + value[i];
        a_next = a;
        v_next = value[i];
        g_next = g;
    }
}

#endif
