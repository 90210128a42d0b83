// Recurrent cells with fused gates (src/ops/rnn.rs), one thread per (row, unit) of N rows and
// H units. LSTM gates in the order i, f, g, o (z [N, 4H]); GRU gates r, z, n (gx, gh [N, 3H]).
// sigma and tanh as in act.wgsl (the portable exp on the non-positive side).

struct CellParams {
    n: u32,
    h: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: CellParams;

fn rnn_sigmoid(x: f32) -> f32 {
    if (x < 0.0) {
        let e = pm_exp(x);
        return pm_keep(e / pm_keep(1.0 + e));
    }
    return pm_keep(1.0 / pm_keep(1.0 + pm_exp(-x)));
}

fn rnn_tanh(x: f32) -> f32 {
    let a = abs(x);
    let e = pm_exp(pm_keep(-2.0 * a));
    let t = pm_keep(pm_keep(1.0 - e) / pm_keep(1.0 + e));
    return select(t, -t, x < 0.0);
}

// sigma'(x) = y (1 - y) from y = sigma(x).
fn rnn_dsigmoid(y: f32) -> f32 {
    return pm_keep(y * pm_keep(1.0 - y));
}

// tanh'(x) = 1 - y² from y = tanh(x).
fn rnn_dtanh(y: f32) -> f32 {
    return pm_keep(1.0 - pm_keep(y * y));
}

//!entry lstm_cell_fwd
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> h_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> c_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> act: array<f32>;

// t = r H + j: c' = f c + i g, h' = o tanh(c'); act[r] = (i, f, g, o, tanh c').
//!main t
    let h = params.h;
    if (t >= params.n * h) {
        return;
    }
    let r = t / h;
    let j = t % h;
    let zb = r * 4u * h + j;
    let gi = rnn_sigmoid(z[zb]);
    let gf = rnn_sigmoid(z[zb + h]);
    let gg = rnn_tanh(z[zb + 2u * h]);
    let go = rnn_sigmoid(z[zb + 3u * h]);
    let cn = pm_keep(pm_keep(gf * c[t]) + pm_keep(gi * gg));
    let tc = rnn_tanh(cn);
    h_out[t] = pm_keep(go * tc);
    c_out[t] = cn;
    let ab = r * 5u * h + j;
    act[ab] = gi;
    act[ab + h] = gf;
    act[ab + 2u * h] = gg;
    act[ab + 3u * h] = go;
    act[ab + 4u * h] = tc;
}

//!entry lstm_cell_bwd
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read> dh: array<f32>;
@group(0) @binding(4) var<storage, read> dc_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> dz: array<f32>;
@group(0) @binding(6) var<storage, read_write> dc: array<f32>;

// dĉ = dc' + (dh' o)(1 - tanh² c'); dz += ((dĉ g) i', (dĉ c) f', (dĉ i) g', (dh' tanh c') o');
// dc += dĉ f.
//!main t
    let h = params.h;
    if (t >= params.n * h) {
        return;
    }
    let r = t / h;
    let j = t % h;
    let ab = r * 5u * h + j;
    let gi = act[ab];
    let gf = act[ab + h];
    let gg = act[ab + 2u * h];
    let go = act[ab + 3u * h];
    let tc = act[ab + 4u * h];
    let d = dh[t];
    let dct = pm_keep(dc_out[t] + pm_keep(pm_keep(d * go) * rnn_dtanh(tc)));
    let zb = r * 4u * h + j;
    dz[zb] = pm_keep(dz[zb] + pm_keep(pm_keep(dct * gg) * rnn_dsigmoid(gi)));
    dz[zb + h] = pm_keep(dz[zb + h] + pm_keep(pm_keep(dct * c[t]) * rnn_dsigmoid(gf)));
    dz[zb + 2u * h] = pm_keep(dz[zb + 2u * h] + pm_keep(pm_keep(dct * gi) * rnn_dtanh(gg)));
    dz[zb + 3u * h] = pm_keep(dz[zb + 3u * h] + pm_keep(pm_keep(d * tc) * rnn_dsigmoid(go)));
    dc[t] = pm_keep(dc[t] + pm_keep(dct * gf));
}

//!entry gru_cell_fwd
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gh: array<f32>;
@group(0) @binding(3) var<storage, read> h: array<f32>;
@group(0) @binding(4) var<storage, read_write> h_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> act: array<f32>;

// t = r H + j: r = sigma(gx_r + gh_r), z = sigma(gx_z + gh_z), n = tanh(gx_n + r gh_n),
// h' = (1 - z) n + z h; act[r] = (r, z, n).
//!main t
    let nh = params.h;
    if (t >= params.n * nh) {
        return;
    }
    let row = t / nh;
    let j = t % nh;
    let b = row * 3u * nh + j;
    let gr = rnn_sigmoid(pm_keep(gx[b] + gh[b]));
    let gz = rnn_sigmoid(pm_keep(gx[b + nh] + gh[b + nh]));
    let gn = rnn_tanh(pm_keep(gx[b + 2u * nh] + pm_keep(gr * gh[b + 2u * nh])));
    h_out[t] = pm_keep(pm_keep(pm_keep(1.0 - gz) * gn) + pm_keep(gz * h[t]));
    act[b] = gr;
    act[b + nh] = gz;
    act[b + 2u * nh] = gn;
}

//!entry gru_cell_bwd
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read> gh: array<f32>;
@group(0) @binding(3) var<storage, read> h: array<f32>;
@group(0) @binding(4) var<storage, read> dh_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgh: array<f32>;
@group(0) @binding(7) var<storage, read_write> dh: array<f32>;

// dn̂ = (dh' (1 - z)) n', dẑ = (dh' (h - n)) z', dr̂ = (dn̂ gh_n) r';
// dgx += (dr̂, dẑ, dn̂), dgh += (dr̂, dẑ, dn̂ r), dh += dh' z.
//!main t
    let nh = params.h;
    if (t >= params.n * nh) {
        return;
    }
    let row = t / nh;
    let j = t % nh;
    let b = row * 3u * nh + j;
    let gr = act[b];
    let gz = act[b + nh];
    let gn = act[b + 2u * nh];
    let d = dh_out[t];
    let dn = pm_keep(pm_keep(d * pm_keep(1.0 - gz)) * rnn_dtanh(gn));
    let dzp = pm_keep(pm_keep(d * pm_keep(h[t] - gn)) * rnn_dsigmoid(gz));
    let dr = pm_keep(pm_keep(dn * gh[b + 2u * nh]) * rnn_dsigmoid(gr));
    dgx[b] = pm_keep(dgx[b] + dr);
    dgh[b] = pm_keep(dgh[b] + dr);
    dgx[b + nh] = pm_keep(dgx[b + nh] + dzp);
    dgh[b + nh] = pm_keep(dgh[b + nh] + dzp);
    dgx[b + 2u * nh] = pm_keep(dgx[b + 2u * nh] + dn);
    dgh[b + 2u * nh] = pm_keep(dgh[b + 2u * nh] + pm_keep(dn * gr));
    dh[t] = pm_keep(dh[t] + pm_keep(d * gz));
}
