// O2O-DRL (src/algo/o2o/kernels.rs): the offline phase's uniform minibatch draw and the online
// phase's per-node team reward.

struct O2oParams {
    rows: u32,
    f: u32,
    a: u32,
    k: u32,
    key0: u32,
    key1: u32,
    step: u32,
    n: u32,
    scale: f32,
    bias: f32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: O2oParams;

const STREAM_O2O_SAMPLE: u32 = 72u;

//!entry o2o_gather
@group(0) @binding(1) var<storage, read> obs: array<f32>;
@group(0) @binding(2) var<storage, read> next: array<f32>;
@group(0) @binding(3) var<storage, read> action: array<u32>;
@group(0) @binding(4) var<storage, read> reward: array<f32>;
@group(0) @binding(5) var<storage, read> done: array<u32>;
@group(0) @binding(6) var<storage, read> mask: array<u32>;
@group(0) @binding(7) var<storage, read> next_mask: array<u32>;
@group(0) @binding(8) var<storage, read_write> x: array<f32>;
@group(0) @binding(9) var<storage, read_write> x2: array<f32>;
@group(0) @binding(10) var<storage, read_write> xn: array<f32>;
@group(0) @binding(11) var<storage, read_write> xn2: array<f32>;
@group(0) @binding(12) var<storage, read_write> a_out: array<u32>;
@group(0) @binding(13) var<storage, read_write> r_out: array<f32>;
@group(0) @binding(14) var<storage, read_write> d_out: array<u32>;
@group(0) @binding(15) var<storage, read_write> m: array<u32>;
@group(0) @binding(16) var<storage, read_write> mn: array<u32>;

//!main kk
    if (kk >= params.k || params.rows == 0u) {
        return;
    }
    let w = philox4x32_10(philox_counter(kk, 0u, params.step, STREAM_O2O_SAMPLE, 0u),
                          vec2<u32>(params.key0, params.key1));
    let i = rng_uniform_index(w.x, params.rows);
    let f = params.f;
    let k = params.k;
    for (var c = 0u; c < f; c = c + 1u) {
        let o = obs[i * f + c];
        let nx = next[i * f + c];
        x[kk * f + c] = o;
        xn[kk * f + c] = nx;
        x2[kk * f + c] = o;
        x2[(k + kk) * f + c] = o;
        xn2[kk * f + c] = nx;
        xn2[(k + kk) * f + c] = nx;
    }
    a_out[kk] = action[i];
    r_out[kk] = reward[i];
    d_out[kk] = done[i];
    let a = params.a;
    for (var j = 0u; j < a; j = j + 1u) {
        m[kk * a + j] = mask[i * a + j];
        mn[kk * a + j] = next_mask[i * a + j];
    }
}

//!entry o2o_team
@group(0) @binding(1) var<storage, read> reward: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

//!main e
    if (e >= params.k) {
        return;
    }
    let n = max(params.n, 1u);
    out[e] = pm_keep(params.scale * reward[e / n]) + params.bias;
}
