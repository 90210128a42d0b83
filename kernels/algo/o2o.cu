// O2O-DRL (src/algo/o2o/kernels.rs): the offline phase's uniform minibatch draw and the online
// phase's per-node team reward.
#ifndef MECRL_ALGO_O2O_CU
#define MECRL_ALGO_O2O_CU

#include "common/index.cuh"
#include "common/philox.cuh"

#define STREAM_O2O_SAMPLE 72u

// Mirrors `O2oParams` in src/algo/o2o/kernels.rs (#[repr(C)], 48 bytes).
struct O2oParams {
    u32 rows;
    u32 f;
    u32 a;
    u32 k;
    u32 key0;
    u32 key1;
    u32 step;
    u32 n;
    float scale;
    float bias;
    u32 _pad1;
    u32 _pad2;
};

extern "C" __global__ void o2o_gather(const O2oParams p, const float* __restrict__ obs,
                                      const float* __restrict__ next, const u32* __restrict__ action,
                                      const float* __restrict__ reward, const u32* __restrict__ done,
                                      const u32* __restrict__ mask, const u32* __restrict__ next_mask,
                                      float* __restrict__ x, float* __restrict__ x2,
                                      float* __restrict__ xn, float* __restrict__ xn2, u32* __restrict__ a_out,
                                      float* __restrict__ r_out, u32* __restrict__ d_out, u32* __restrict__ m,
                                      u32* __restrict__ mn) {
    u32 kk = global_id();
    if (kk >= p.k || p.rows == 0u) return;
    pblock w = philox4x32_10(philox_counter(kk, 0u, p.step, STREAM_O2O_SAMPLE, 0u), p.key0, p.key1);
    u32 i = rng_uniform_index(w.x, p.rows);
    u32 f = p.f, a = p.a, k = p.k;
    for (u32 c = 0; c < f; ++c) {
        float o = obs[(u64)i * f + c];
        float nx = next[(u64)i * f + c];
        x[(u64)kk * f + c] = o;
        xn[(u64)kk * f + c] = nx;
        x2[(u64)kk * f + c] = o;
        x2[((u64)k + kk) * f + c] = o;
        xn2[(u64)kk * f + c] = nx;
        xn2[((u64)k + kk) * f + c] = nx;
    }
    a_out[kk] = action[i];
    r_out[kk] = reward[i];
    d_out[kk] = done[i];
    for (u32 j = 0; j < a; ++j) {
        m[(u64)kk * a + j] = mask[(u64)i * a + j];
        mn[(u64)kk * a + j] = next_mask[(u64)i * a + j];
    }
}

extern "C" __global__ void o2o_team(const O2oParams p, const float* __restrict__ reward, float* __restrict__ out) {
    u32 e = global_id();
    if (e >= p.k) return;
    u32 n = p.n > 0u ? p.n : 1u;
    out[e] = p.scale * reward[e / n] + p.bias;
}

#endif
