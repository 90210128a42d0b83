// Grouped linear layer (src/ops/linear.rs): x [K, B, I], w [K, I, O], bias [K, O], y [K, B, O].
// One thread per output element; every sum runs over its index from 0 in order, as the CPU.
#ifndef MECRL_OPS_LINEAR_CU
#define MECRL_OPS_LINEAR_CU

#include "common/index.cuh"

// Mirrors `LinearParams` in src/ops/linear.rs (#[repr(C)], 32 bytes).
struct LinearParams {
    u32 k;
    u32 b;
    u32 i;
    u32 o;
    u32 has_bias;
    u32 fresh;
    u32 _pad1;
    u32 _pad2;
};

// t = (g B + b) O + o: y = (Σ_i x[g,b,i] w[g,i,o]) + bias[g,o].
extern "C" __global__ void linear_fwd(const LinearParams p, const float* __restrict__ x, const float* __restrict__ w,
                                      const float* __restrict__ bias, float* __restrict__ y) {
    u32 t = global_id();
    if (t >= p.k * p.b * p.o) return;
    u32 row = t / p.o, o = t % p.o, g = row / p.b;
    float s = 0.0f;
    for (u32 i = 0; i < p.i; ++i) s = s + x[(u64)row * p.i + i] * w[((u64)g * p.i + i) * p.o + o];
    if (p.has_bias != 0u) s = s + bias[(u64)g * p.o + o];
    y[t] = s;
}

// t = (g B + b) I + i: dx += Σ_o dy[g,b,o] w[g,i,o].
extern "C" __global__ void linear_bwd_x(const LinearParams p, const float* __restrict__ dy,
                                        const float* __restrict__ w, float* __restrict__ dx) {
    u32 t = global_id();
    if (t >= p.k * p.b * p.i) return;
    u32 row = t / p.i, i = t % p.i, g = row / p.b;
    float s = 0.0f;
    for (u32 o = 0; o < p.o; ++o) s = s + dy[(u64)row * p.o + o] * w[((u64)g * p.i + i) * p.o + o];
    dx[t] = p.fresh ? s : dx[t] + s;
}

// t = (g I + i) O + o: dw += Σ_b x[g,b,i] dy[g,b,o]; the threads of i = 0 also db += Σ_b dy.
extern "C" __global__ void linear_bwd_w(const LinearParams p, const float* __restrict__ x,
                                        const float* __restrict__ dy, float* __restrict__ dw,
                                        float* __restrict__ db) {
    u32 t = global_id();
    if (t >= p.k * p.i * p.o) return;
    u32 o = t % p.o, i = (t / p.o) % p.i, g = t / (p.o * p.i);
    float s = 0.0f;
    for (u32 b = 0; b < p.b; ++b) s = s + x[((u64)g * p.b + b) * p.i + i] * dy[((u64)g * p.b + b) * p.o + o];
    dw[t] = dw[t] + s;
    if (i == 0u && p.has_bias != 0u) {
        float sb = 0.0f;
        for (u32 b = 0; b < p.b; ++b) sb = sb + dy[((u64)g * p.b + b) * p.o + o];
        db[(u64)g * p.o + o] = db[(u64)g * p.o + o] + sb;
    }
}

#endif
