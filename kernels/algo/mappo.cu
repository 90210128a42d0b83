// Mixed MAPPO (src/algo/mappo/kernels.rs): the action per agent, the actor's sample or the
// drift-plus-penalty action when the policy rates it higher, and the agent's loss weight.
#ifndef MECRL_ALGO_MAPPO_CU
#define MECRL_ALGO_MAPPO_CU

#include "common/index.cuh"
#include "common/philox.cuh"

#define STREAM_MADQN_EXPLORE 67u

// Mirrors `ActParams` in src/algo/mappo/kernels.rs (#[repr(C)], 32 bytes).
struct ActParams {
    u32 rows;
    u32 cols;
    u32 obs_width;
    u32 mix;
    float epsilon;
    u32 key0;
    u32 key1;
    u32 step;
};

extern "C" __global__ void mappo_act(const ActParams p, const float* __restrict__ logp,
                                     const u32* __restrict__ sampled, const u32* __restrict__ dpp,
                                     const float* __restrict__ obs, u32* __restrict__ action,
                                     float* __restrict__ from_dpp, float* __restrict__ weight) {
    u32 e = global_id();
    if (e >= p.rows) return;
    u32 c = p.cols, a1 = sampled[e], a2 = dpp[e];
    const float* row = logp + (u64)e * c;
    bool take = p.mix == 1u && a2 < c && a1 < c && row[a2] > row[a1];
    if (p.mix == 2u) {
        pblock b = philox4x32_10(philox_counter(e, 0u, p.step, STREAM_MADQN_EXPLORE, 0u), p.key0, p.key1);
        take = rng_uniform(b.x) < p.epsilon;
    }
    float w = obs[(u64)e * p.obs_width] > 0.0f ? 1.0f : 0.0f;
    weight[e] = w;
    action[e] = take ? a2 : a1;
    from_dpp[e] = take ? w : 0.0f;
}

#endif
