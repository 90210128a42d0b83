// Recurrent cells with fused gates (src/ops/rnn.rs), one thread per (row, unit) of N rows and
// H units. LSTM gates in the order i, f, g, o (z [N, 4H]); GRU gates r, z, n (gx, gh [N, 3H]).
// sigma and tanh as in act.cu (the portable exp on the non-positive side).
#ifndef MECRL_OPS_RNN_CU
#define MECRL_OPS_RNN_CU

#include "common/index.cuh"
#include "common/pmath.cuh"

// Mirrors `CellParams` in src/ops/rnn.rs (#[repr(C)], 16 bytes).
struct CellParams {
    u32 n;
    u32 h;
    u32 _pad0;
    u32 _pad1;
};

static __device__ __forceinline__ float rnn_sigmoid(float x) {
    if (x < 0.0f) {
        float e = pm_exp(x);
        return e / (1.0f + e);
    }
    return 1.0f / (1.0f + pm_exp(-x));
}

static __device__ __forceinline__ float rnn_tanh(float x) {
    float a = x < 0.0f ? -x : x;
    float e = pm_exp(-2.0f * a);
    float t = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -t : t;
}

// sigma'(x) = y (1 - y) from y = sigma(x).
static __device__ __forceinline__ float rnn_dsigmoid(float y) { return y * (1.0f - y); }

// tanh'(x) = 1 - y² from y = tanh(x).
static __device__ __forceinline__ float rnn_dtanh(float y) { return 1.0f - y * y; }

// t = r H + j: c' = f c + i g, h' = o tanh(c'); act[r] = (i, f, g, o, tanh c').
extern "C" __global__ void lstm_cell_fwd(const CellParams p, const float* __restrict__ z,
                                         const float* __restrict__ c, float* __restrict__ h_out,
                                         float* __restrict__ c_out, float* __restrict__ act) {
    u32 t = global_id();
    if (t >= p.n * p.h) return;
    u32 r = t / p.h, j = t % p.h;
    u64 zb = (u64)r * 4u * p.h + j, ab = (u64)r * 5u * p.h + j;
    float gi = rnn_sigmoid(z[zb]);
    float gf = rnn_sigmoid(z[zb + p.h]);
    float gg = rnn_tanh(z[zb + 2u * p.h]);
    float go = rnn_sigmoid(z[zb + 3u * p.h]);
    float cn = gf * c[t] + gi * gg;
    float tc = rnn_tanh(cn);
    h_out[t] = go * tc;
    c_out[t] = cn;
    act[ab] = gi;
    act[ab + p.h] = gf;
    act[ab + 2u * p.h] = gg;
    act[ab + 3u * p.h] = go;
    act[ab + 4u * p.h] = tc;
}

// dĉ = dc' + (dh' o)(1 - tanh² c'); dz += ((dĉ g) i', (dĉ c) f', (dĉ i) g', (dh' tanh c') o');
// dc += dĉ f.
extern "C" __global__ void lstm_cell_bwd(const CellParams p, const float* __restrict__ act,
                                         const float* __restrict__ c, const float* __restrict__ dh,
                                         const float* __restrict__ dc_out, float* __restrict__ dz,
                                         float* __restrict__ dc) {
    u32 t = global_id();
    if (t >= p.n * p.h) return;
    u32 r = t / p.h, j = t % p.h;
    u64 zb = (u64)r * 4u * p.h + j, ab = (u64)r * 5u * p.h + j;
    float gi = act[ab], gf = act[ab + p.h], gg = act[ab + 2u * p.h], go = act[ab + 3u * p.h];
    float tc = act[ab + 4u * p.h];
    float d = dh[t];
    float dct = dc_out[t] + (d * go) * rnn_dtanh(tc);
    dz[zb] = dz[zb] + (dct * gg) * rnn_dsigmoid(gi);
    dz[zb + p.h] = dz[zb + p.h] + (dct * c[t]) * rnn_dsigmoid(gf);
    dz[zb + 2u * p.h] = dz[zb + 2u * p.h] + (dct * gi) * rnn_dtanh(gg);
    dz[zb + 3u * p.h] = dz[zb + 3u * p.h] + (d * tc) * rnn_dsigmoid(go);
    dc[t] = dc[t] + dct * gf;
}

// t = r H + j: r = sigma(gx_r + gh_r), z = sigma(gx_z + gh_z), n = tanh(gx_n + r gh_n),
// h' = (1 - z) n + z h; act[r] = (r, z, n).
extern "C" __global__ void gru_cell_fwd(const CellParams p, const float* __restrict__ gx,
                                        const float* __restrict__ gh, const float* __restrict__ h,
                                        float* __restrict__ h_out, float* __restrict__ act) {
    u32 t = global_id();
    if (t >= p.n * p.h) return;
    u32 r = t / p.h, j = t % p.h;
    u64 b = (u64)r * 3u * p.h + j;
    float gr = rnn_sigmoid(gx[b] + gh[b]);
    float gz = rnn_sigmoid(gx[b + p.h] + gh[b + p.h]);
    float gn = rnn_tanh(gx[b + 2u * p.h] + gr * gh[b + 2u * p.h]);
    h_out[t] = (1.0f - gz) * gn + gz * h[t];
    act[b] = gr;
    act[b + p.h] = gz;
    act[b + 2u * p.h] = gn;
}

// dn̂ = (dh' (1 - z)) n', dẑ = (dh' (h - n)) z', dr̂ = (dn̂ gh_n) r';
// dgx += (dr̂, dẑ, dn̂), dgh += (dr̂, dẑ, dn̂ r), dh += dh' z.
extern "C" __global__ void gru_cell_bwd(const CellParams p, const float* __restrict__ act,
                                        const float* __restrict__ gh, const float* __restrict__ h,
                                        const float* __restrict__ dh_out, float* __restrict__ dgx,
                                        float* __restrict__ dgh, float* __restrict__ dh) {
    u32 t = global_id();
    if (t >= p.n * p.h) return;
    u32 r = t / p.h, j = t % p.h;
    u64 b = (u64)r * 3u * p.h + j;
    float gr = act[b], gz = act[b + p.h], gn = act[b + 2u * p.h];
    float d = dh_out[t];
    float dn = (d * (1.0f - gz)) * rnn_dtanh(gn);
    float dzp = (d * (h[t] - gn)) * rnn_dsigmoid(gz);
    float dr = (dn * gh[b + 2u * p.h]) * rnn_dsigmoid(gr);
    dgx[b] = dgx[b] + dr;
    dgh[b] = dgh[b] + dr;
    dgx[b + p.h] = dgx[b + p.h] + dzp;
    dgh[b + p.h] = dgh[b + p.h] + dzp;
    dgx[b + 2u * p.h] = dgx[b + 2u * p.h] + dn;
    dgh[b + 2u * p.h] = dgh[b + 2u * p.h] + dn * gr;
    dh[t] = dh[t] + d * gz;
}

#endif
