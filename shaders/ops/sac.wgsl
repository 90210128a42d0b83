// The discrete SAC losses of the O2O offline phase (src/ops/sac.rs): the soft value of o' with
// the target and the actor's loss (eq. 11), the twin Q loss with the CQL regularizer (eq. 10).
// The forwards are one thread summing rows in index order; the backwards a thread per row (per
// twin and row), accumulating. Every product and sum is fenced with pm_keep.

struct SacParams {
    rows: u32,
    actions: u32,
    alpha: f32,
    gamma: f32,
    lambda_c: f32,
    reward_scale: f32,
    reward_bias: f32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: SacParams;

fn sac_min2(a: f32, b: f32) -> f32 {
    return select(b, a, a <= b);
}

//!entry sac_value_fwd
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> qbar: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read> reward: array<f32>;
@group(0) @binding(5) var<storage, read> done: array<u32>;
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;
@group(0) @binding(7) var<storage, read_write> value: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;

// The soft value of row i (as `soft_value_row`).
fn soft_value(i: u32) -> f32 {
    let a = params.actions;
    let o = i * a;
    let o2 = params.rows * a + o;
    var any = false;
    var mx = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[o + j] != 0u && (!any || z[o + j] > mx)) {
            mx = z[o + j];
            any = true;
        }
    }
    if (!any) {
        return pm_nan();
    }
    var s = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[o + j] != 0u) {
            s = pm_keep(s + pm_exp(pm_keep(z[o + j] - mx)));
        }
    }
    let ls = pm_ln(s);
    var v = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[o + j] == 0u) {
            continue;
        }
        let lp = pm_keep(pm_keep(z[o + j] - mx) - ls);
        let h = pm_keep(sac_min2(qbar[o + j], qbar[o2 + j]) - pm_keep(params.alpha * lp));
        v = pm_keep(v + pm_keep(pm_exp(lp) * h));
    }
    return v;
}

//!main id
    if (id != 0u || params.rows == 0u || params.actions == 0u) {
        return;
    }
    let r = params.rows;
    var total = 0.0;
    for (var i = 0u; i < r; i = i + 1u) {
        let v = soft_value(i);
        value[i] = v;
        let keep = select(1.0, 0.0, done[i] != 0u);
        y[i] = pm_keep(pm_keep(pm_keep(params.reward_scale * reward[i]) + params.reward_bias) + pm_keep(params.gamma * pm_keep(keep * v)));
        total = pm_keep(total + v);
    }
    loss[0] = -pm_keep(total / f32(r));
}

//!entry sac_value_bwd
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> qbar: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read> value: array<f32>;
@group(0) @binding(5) var<storage, read> dl: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;

//!main i
    if (i >= params.rows || params.actions == 0u) {
        return;
    }
    let a = params.actions;
    let o = i * a;
    let o2 = params.rows * a + o;
    let g = -pm_keep(dl[0] / f32(params.rows));
    var any = false;
    var mx = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[o + j] != 0u && (!any || z[o + j] > mx)) {
            mx = z[o + j];
            any = true;
        }
    }
    var s = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[o + j] != 0u) {
            s = pm_keep(s + pm_exp(pm_keep(z[o + j] - mx)));
        }
    }
    if (!any) {
        s = pm_nan();
    }
    let ls = pm_ln(s);
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[o + j] == 0u) {
            continue;
        }
        let lp = pm_keep(pm_keep(z[o + j] - mx) - ls);
        let h = pm_keep(sac_min2(qbar[o + j], qbar[o2 + j]) - pm_keep(params.alpha * lp));
        dz[o + j] = pm_keep(dz[o + j] + pm_keep(g * pm_keep(pm_exp(lp) * pm_keep(h - value[i]))));
    }
}

//!entry cql_fwd
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> action: array<u32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

// log sum_allowed exp q of twin row t (= k*R + i), mask row i.
fn lse(t: u32, i: u32) -> f32 {
    let a = params.actions;
    let o = t * a;
    let om = i * a;
    var any = false;
    var mx = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[om + j] != 0u && (!any || q[o + j] > mx)) {
            mx = q[o + j];
            any = true;
        }
    }
    if (!any) {
        return pm_nan();
    }
    var s = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[om + j] != 0u) {
            s = pm_keep(s + pm_exp(pm_keep(q[o + j] - mx)));
        }
    }
    return pm_keep(mx + pm_ln(s));
}

//!main id
    if (id != 0u || params.rows == 0u || params.actions == 0u) {
        return;
    }
    let r = params.rows;
    let a = params.actions;
    var td = 0.0;
    var reg = 0.0;
    var qa = 0.0;
    var ym = 0.0;
    for (var k = 0u; k < 2u; k = k + 1u) {
        for (var i = 0u; i < r; i = i + 1u) {
            let t = k * r + i;
            let ai = min(action[i], a - 1u);
            let qv = q[t * a + ai];
            let d = pm_keep(qv - y[i]);
            td = pm_keep(td + pm_keep(d * d));
            reg = pm_keep(reg + pm_keep(lse(t, i) - qv));
            qa = pm_keep(qa + qv);
            ym = pm_keep(ym + y[i]);
        }
    }
    let n = f32(2u * r);
    let tdm = pm_keep(td / n);
    let regm = pm_keep(reg / n);
    stats[0] = tdm;
    stats[1] = regm;
    stats[2] = pm_keep(qa / n);
    stats[3] = pm_keep(ym / n);
    loss[0] = pm_keep(2.0 * pm_keep(tdm + pm_keep(params.lambda_c * regm)));
}

//!entry cql_bwd
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> action: array<u32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read> dl: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;

//!main t
    if (t >= 2u * params.rows || params.actions == 0u) {
        return;
    }
    let r = params.rows;
    let a = params.actions;
    let i = t % r;
    let o = t * a;
    let om = i * a;
    let ai = min(action[i], a - 1u);
    let g = pm_keep(dl[0] / f32(r));
    var any = false;
    var mx = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[om + j] != 0u && (!any || q[o + j] > mx)) {
            mx = q[o + j];
            any = true;
        }
    }
    var s = 0.0;
    for (var j = 0u; j < a; j = j + 1u) {
        if (mask[om + j] != 0u) {
            s = pm_keep(s + pm_exp(pm_keep(q[o + j] - mx)));
        }
    }
    if (!any) {
        s = pm_nan();
    }
    let d2 = pm_keep(2.0 * pm_keep(q[o + ai] - y[i]));
    for (var j = 0u; j < a; j = j + 1u) {
        let hit = select(0.0, 1.0, j == ai);
        var sig = 0.0;
        if (mask[om + j] != 0u) {
            sig = pm_keep(pm_exp(pm_keep(q[o + j] - mx)) / s);
        }
        let term = pm_keep(pm_keep(d2 * hit) + pm_keep(params.lambda_c * pm_keep(sig - hit)));
        dq[o + j] = pm_keep(dq[o + j] + pm_keep(g * term));
    }
}
