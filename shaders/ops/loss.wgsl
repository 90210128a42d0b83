// Losses (src/ops/loss.rs): the forward is one thread summing in index order; the backward is
// one thread per element (per row for ce).

struct LossParams {
    n: u32,
    cols: u32,
    a: f32,
    fresh: u32,
}

@group(0) @binding(0) var<uniform> params: LossParams;

// σ(z), as act.wgsl.
fn loss_sigmoid(x: f32) -> f32 {
    if (x < 0.0) {
        let e = pm_exp(x);
        return pm_keep(e / pm_keep(1.0 + e));
    }
    return pm_keep(1.0 / pm_keep(1.0 + pm_exp(-x)));
}

// (min term, gradient factor) of the PPO surrogate, as `ppo_terms`.
fn ppo_terms(lp: f32, old: f32, adv: f32, eps: f32) -> vec2<f32> {
    let rho = pm_exp(pm_keep(lp - old));
    let lo = pm_keep(1.0 - eps);
    let hi = pm_keep(1.0 + eps);
    var c = rho;
    if (rho < lo) {
        c = lo;
    } else if (rho > hi) {
        c = hi;
    }
    let s1 = pm_keep(rho * adv);
    let s2 = pm_keep(c * adv);
    if (s1 <= s2) {
        return vec2<f32>(s1, s1);
    }
    return vec2<f32>(s2, 0.0);
}

//!entry mse_fwd
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

//!main id
    if (id != 0u) {
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < params.n; j = j + 1u) {
        let d = pm_keep(y[j] - t[j]);
        s = pm_mad(d, d, s);
    }
    loss[0] = pm_keep(s / f32(params.n));
}

//!entry mse_bwd
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read> dl: array<f32>;
@group(0) @binding(4) var<storage, read_write> dy: array<f32>;

//!main j
    if (j >= params.n) {
        return;
    }
    let c = pm_keep(2.0 / f32(params.n));
    let g = pm_keep(pm_keep(pm_keep(y[j] - t[j]) * c) * dl[0]);
    if (params.fresh != 0u) {
        dy[j] = g;
    } else {
        dy[j] = pm_keep(dy[j] + g);
    }
}

//!entry huber_fwd
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

//!main id
    if (id != 0u) {
        return;
    }
    let delta = params.a;
    var s = 0.0;
    for (var j = 0u; j < params.n; j = j + 1u) {
        let d = pm_keep(y[j] - t[j]);
        let ad = abs(d);
        var l = 0.0;
        if (ad <= delta) {
            l = pm_keep(pm_keep(0.5 * d) * d);
        } else {
            l = pm_keep(delta * pm_keep(ad - pm_keep(0.5 * delta)));
        }
        s = pm_keep(s + l);
    }
    loss[0] = pm_keep(s / f32(params.n));
}

//!entry huber_bwd
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read> dl: array<f32>;
@group(0) @binding(4) var<storage, read_write> dy: array<f32>;

//!main j
    if (j >= params.n) {
        return;
    }
    let delta = params.a;
    let inv = pm_keep(1.0 / f32(params.n));
    let d = pm_keep(y[j] - t[j]);
    var c = d;
    if (d > delta) {
        c = delta;
    } else if (d < -delta) {
        c = -delta;
    }
    dy[j] = pm_keep(dy[j] + pm_keep(pm_keep(c * inv) * dl[0]));
}

//!entry bce_fwd
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

//!main id
    if (id != 0u) {
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < params.n; j = j + 1u) {
        let a = z[j];
        let pos = select(0.0, a, a > 0.0);
        let l = pm_keep(pm_keep(pos - pm_keep(a * t[j])) + pm_ln1p(pm_exp(-abs(a))));
        s = pm_keep(s + l);
    }
    loss[0] = pm_keep(s / f32(params.n));
}

//!entry bce_bwd
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read> dl: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;

//!main j
    if (j >= params.n) {
        return;
    }
    let inv = pm_keep(1.0 / f32(params.n));
    let g = pm_keep(pm_keep(pm_keep(loss_sigmoid(z[j]) - t[j]) * inv) * dl[0]);
    dz[j] = pm_keep(dz[j] + g);
}

//!entry ce_fwd
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

//!main id
    if (id != 0u) {
        return;
    }
    var s = 0.0;
    for (var r = 0u; r < params.n; r = r + 1u) {
        let j = labels[r];
        var v = pm_nan();
        if (j < params.cols) {
            v = logp[r * params.cols + j];
        }
        s = pm_keep(s + v);
    }
    loss[0] = -pm_keep(s / f32(params.n));
}

//!entry ce_bwd
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read> dl: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogp: array<f32>;

//!main r
    if (r >= params.n) {
        return;
    }
    let j = labels[r];
    if (j < params.cols) {
        let g = -pm_keep(dl[0] / f32(params.n));
        let o = r * params.cols + j;
        dlogp[o] = pm_keep(dlogp[o] + g);
    }
}

//!entry ppo_fwd
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> logp_old: array<f32>;
@group(0) @binding(3) var<storage, read> adv: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

//!main id
    if (id != 0u) {
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < params.n; j = j + 1u) {
        s = pm_keep(s + ppo_terms(logp[j], logp_old[j], adv[j], params.a).x);
    }
    loss[0] = -pm_keep(s / f32(params.n));
}

//!entry ppo_bwd
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> logp_old: array<f32>;
@group(0) @binding(3) var<storage, read> adv: array<f32>;
@group(0) @binding(4) var<storage, read> dl: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogp: array<f32>;

//!main j
    if (j >= params.n) {
        return;
    }
    let c = pm_keep(dl[0] / f32(params.n));
    let g = ppo_terms(logp[j], logp_old[j], adv[j], params.a).y;
    dlogp[j] = pm_keep(dlogp[j] + -pm_keep(g * c));
}
