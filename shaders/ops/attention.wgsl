// Additive attention (src/ops/attention.rs): scores s = vᵀ tanh(q + key_t), a masked softmax
// over the T encoder steps, the context Σ_t α_t e_t, and the backward. Every sum runs over its
// index from 0 in order; tanh as in act.wgsl. q [K, B, A], keys [K, T, B, A], v [K, A],
// values [K, T, B, H], mask [T, B] or [K, T, B] (nonzero = a real step), s, w [K, B, T].

struct AttentionParams {
    k: u32,
    b: u32,
    t: u32,
    a: u32,
    h: u32,
    masked: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: AttentionParams;

fn attn_tanh(x: f32) -> f32 {
    let m = abs(x);
    let e = pm_exp(pm_keep(-2.0 * m));
    let y = pm_keep(pm_keep(1.0 - e) / pm_keep(1.0 + e));
    return select(y, -y, x < 0.0);
}

//!entry attention_score
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> s: array<f32>;

// i = (k B + b) T + t: s = Σ_a v_a tanh(q_a + key_{t,a}) (MRLCO eq. 15's score).
//!main i
    let nb = params.b;
    let nt = params.t;
    let na = params.a;
    if (i >= params.k * nb * nt) {
        return;
    }
    let st = i % nt;
    let kb = i / nt;
    let kk = kb / nb;
    let sb = kb % nb;
    let qb = kb * na;
    let kbase = ((kk * nt + st) * nb + sb) * na;
    var acc = 0.0;
    for (var j = 0u; j < na; j = j + 1u) {
        acc = pm_mad(v[kk * na + j], attn_tanh(pm_keep(q[qb + j] + keys[kbase + j])), acc);
    }
    s[i] = acc;
}

//!entry attention_weights
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;

fn allowed(kk: u32, sb: u32, st: u32) -> bool {
    if (params.masked == 0u) {
        return true;
    }
    if (params.masked == 1u) {
        return mask[st * params.b + sb] != 0u;
    }
    return mask[(kk * params.t + st) * params.b + sb] != 0u;
}

// r = k B + b: α_t = exp(s_t - m) / Σ_allowed exp(s_u - m); masked steps and rows with nothing
// allowed get 0.
//!main r
    let nt = params.t;
    if (r >= params.k * params.b) {
        return;
    }
    let kk = r / params.b;
    let sb = r % params.b;
    let base = r * nt;
    var any = false;
    var m = 0.0;
    for (var st = 0u; st < nt; st = st + 1u) {
        if (allowed(kk, sb, st)) {
            let x = s[base + st];
            if (!any || x > m) {
                m = x;
            }
            any = true;
        }
    }
    var sum = 0.0;
    for (var st = 0u; st < nt; st = st + 1u) {
        if (allowed(kk, sb, st)) {
            sum = pm_keep(sum + pm_exp(pm_keep(s[base + st] - m)));
        }
    }
    for (var st = 0u; st < nt; st = st + 1u) {
        var out = 0.0;
        if (any && allowed(kk, sb, st)) {
            out = pm_keep(pm_exp(pm_keep(s[base + st] - m)) / sum);
        }
        w[base + st] = out;
    }
}

//!entry attention_context
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> ctx: array<f32>;

// i = (k B + b) H + h: c = Σ_t α_t e_{t,h} (eq. 14).
//!main i
    let nb = params.b;
    let nt = params.t;
    let nh = params.h;
    if (i >= params.k * nb * nh) {
        return;
    }
    let hh = i % nh;
    let kb = i / nh;
    let kk = kb / nb;
    let sb = kb % nb;
    var acc = 0.0;
    for (var st = 0u; st < nt; st = st + 1u) {
        acc = pm_mad(w[kb * nt + st], values[((kk * nt + st) * nb + sb) * nh + hh], acc);
    }
    ctx[i] = acc;
}

//!entry attention_bwd_gw
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> dctx: array<f32>;
@group(0) @binding(3) var<storage, read> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> gw: array<f32>;

// i = (k B + b) T + t: g = dα + Σ_h dc_h e_{t,h}.
//!main i
    let nb = params.b;
    let nt = params.t;
    let nh = params.h;
    if (i >= params.k * nb * nt) {
        return;
    }
    let st = i % nt;
    let kb = i / nt;
    let kk = kb / nb;
    let sb = kb % nb;
    let ebase = ((kk * nt + st) * nb + sb) * nh;
    var acc = 0.0;
    for (var hh = 0u; hh < nh; hh = hh + 1u) {
        acc = pm_mad(dctx[kb * nh + hh], values[ebase + hh], acc);
    }
    gw[i] = pm_keep(dw[i] + acc);
}

//!entry attention_bwd_values
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dctx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dvalues: array<f32>;

// i = ((k T + t) B + b) H + h: de += α_t dc_h.
//!main i
    let nb = params.b;
    let nt = params.t;
    let nh = params.h;
    if (i >= params.k * nt * nb * nh) {
        return;
    }
    let hh = i % nh;
    let sb = (i / nh) % nb;
    let st = (i / (nh * nb)) % nt;
    let kk = i / (nh * nb * nt);
    let kb = kk * nb + sb;
    dvalues[i] = pm_mad(w[kb * nt + st], dctx[kb * nh + hh], dvalues[i]);
}

//!entry attention_bwd_score
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> gw: array<f32>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;

// r = k B + b: ds_t = α_t (g_t - Σ_u α_u g_u).
//!main r
    let nt = params.t;
    if (r >= params.k * params.b) {
        return;
    }
    let base = r * nt;
    var dot = 0.0;
    for (var st = 0u; st < nt; st = st + 1u) {
        dot = pm_mad(w[base + st], gw[base + st], dot);
    }
    for (var st = 0u; st < nt; st = st + 1u) {
        ds[base + st] = pm_keep(w[base + st] * pm_keep(gw[base + st] - dot));
    }
}

//!entry attention_bwd_qk
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> ds: array<f32>;
@group(0) @binding(5) var<storage, read_write> dq: array<f32>;
@group(0) @binding(6) var<storage, read_write> dkeys: array<f32>;

// i = (k B + b) A + a: δ_t = (ds_t v_a)(1 - u²), u = tanh(q_a + key_{t,a}); dkey += δ_t,
// dq += Σ_t δ_t.
//!main i
    let nb = params.b;
    let nt = params.t;
    let na = params.a;
    if (i >= params.k * nb * na) {
        return;
    }
    let j = i % na;
    let kb = i / na;
    let kk = kb / nb;
    let sb = kb % nb;
    let qv = q[i];
    let va = v[kk * na + j];
    var acc = 0.0;
    for (var st = 0u; st < nt; st = st + 1u) {
        let ki = ((kk * nt + st) * nb + sb) * na + j;
        let u = attn_tanh(pm_keep(qv + keys[ki]));
        let d = pm_keep(pm_keep(ds[kb * nt + st] * va) * pm_keep(1.0 - pm_keep(u * u)));
        dkeys[ki] = pm_keep(dkeys[ki] + d);
        acc = pm_keep(acc + d);
    }
    dq[i] = pm_keep(dq[i] + acc);
}

//!entry attention_bwd_v
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> ds: array<f32>;
@group(0) @binding(4) var<storage, read_write> dv: array<f32>;

// i = k A + a: dv += Σ_b Σ_t ds_t tanh(q_a + key_{t,a}) (b outer, t inner).
//!main i
    let nb = params.b;
    let nt = params.t;
    let na = params.a;
    if (i >= params.k * na) {
        return;
    }
    let j = i % na;
    let kk = i / na;
    var acc = 0.0;
    for (var sb = 0u; sb < nb; sb = sb + 1u) {
        let qv = q[(kk * nb + sb) * na + j];
        for (var st = 0u; st < nt; st = st + 1u) {
            let u = attn_tanh(pm_keep(qv + keys[((kk * nt + st) * nb + sb) * na + j]));
            acc = pm_mad(ds[(kk * nb + sb) * nt + st], u, acc);
        }
    }
    dv[i] = pm_keep(dv[i] + acc);
}
