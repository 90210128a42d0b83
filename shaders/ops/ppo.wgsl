// The PPO objective (src/ops/ppo.rs): the forward is one thread summing in index order and
// writing the statistics; the backward is one thread per sample, accumulating. The operation
// order mirrors `objective` / `objective_grad` there; every product and sum is fenced with
// pm_keep so no backend fuses or reassociates them.

struct PpoLossParams {
    n: u32,
    norm_adv: u32,
    clip_eps: f32,
    value_coef: f32,
    entropy_coef: f32,
    clip_value: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: PpoLossParams;

// (min term, gradient factor) of the clipped surrogate, as `surrogate`.
fn ppo_surrogate(lp: f32, old: f32, adv: f32, eps: f32) -> vec2<f32> {
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

// (value loss, its derivative in v), as `value_terms`.
fn ppo_value(v: f32, v_old: f32, ret: f32, clip: f32) -> vec2<f32> {
    let d = pm_keep(v - ret);
    let l1 = pm_keep(d * d);
    if (clip <= 0.0) {
        return vec2<f32>(l1, pm_keep(2.0 * d));
    }
    let dv = pm_keep(v - v_old);
    let inside = -clip < dv && dv < clip;
    var cd = dv;
    if (dv < -clip) {
        cd = -clip;
    } else if (dv > clip) {
        cd = clip;
    }
    let vc = pm_keep(v_old + cd);
    let dc = pm_keep(vc - ret);
    let l2 = pm_keep(dc * dc);
    if (l1 >= l2) {
        return vec2<f32>(l1, pm_keep(2.0 * d));
    } else if (inside) {
        return vec2<f32>(l2, pm_keep(2.0 * dc));
    }
    return vec2<f32>(l2, 0.0);
}

//!entry ppo_objective_fwd
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> entropy: array<f32>;
@group(0) @binding(3) var<storage, read> value: array<f32>;
@group(0) @binding(4) var<storage, read> old_logp: array<f32>;
@group(0) @binding(5) var<storage, read> old_value: array<f32>;
@group(0) @binding(6) var<storage, read> adv: array<f32>;
@group(0) @binding(7) var<storage, read> ret: array<f32>;
@group(0) @binding(8) var<storage, read> weight: array<f32>;
@group(0) @binding(9) var<storage, read_write> loss: array<f32>;
@group(0) @binding(10) var<storage, read_write> stats: array<f32>;

//!main id
    if (id != 0u || params.n == 0u) {
        return;
    }
    let n = params.n;
    for (var k = 0u; k < 12u; k = k + 1u) {
        stats[k] = 0.0;
    }
    stats[9] = 1.0;
    loss[0] = 0.0;
    var w_sum = 0.0;
    for (var i = 0u; i < n; i = i + 1u) {
        w_sum = pm_keep(w_sum + weight[i]);
    }
    if (!(w_sum > 0.0)) {
        return;
    }
    var mu = 0.0;
    var inv = 1.0;
    if (params.norm_adv != 0u) {
        var m = 0.0;
        for (var i = 0u; i < n; i = i + 1u) {
            m = pm_keep(m + pm_keep(weight[i] * adv[i]));
        }
        mu = pm_keep(m / w_sum);
        var var_a = 0.0;
        for (var i = 0u; i < n; i = i + 1u) {
            let d = pm_keep(adv[i] - mu);
            var_a = pm_keep(var_a + pm_keep(weight[i] * pm_keep(d * d)));
        }
        inv = pm_keep(1.0 / pm_keep(sqrt(pm_keep(var_a / w_sum)) + 1e-8));
    }
    let eps = params.clip_eps;
    var pg = 0.0;
    var vl = 0.0;
    var ent = 0.0;
    var kl = 0.0;
    var cf = 0.0;
    var r1 = 0.0;
    var r2 = 0.0;
    var e1 = 0.0;
    var e2 = 0.0;
    for (var i = 0u; i < n; i = i + 1u) {
        let w = weight[i];
        let a = pm_keep(pm_keep(adv[i] - mu) * inv);
        let term = ppo_surrogate(logp[i], old_logp[i], a, eps).x;
        let lv = ppo_value(value[i], old_value[i], ret[i], params.clip_value).x;
        let lr = pm_keep(logp[i] - old_logp[i]);
        let rho = pm_exp(lr);
        pg = pm_keep(pg + pm_keep(w * -term));
        vl = pm_keep(vl + pm_keep(w * lv));
        ent = pm_keep(ent + pm_keep(w * entropy[i]));
        kl = pm_keep(kl + pm_keep(w * pm_keep(pm_keep(rho - 1.0) - lr)));
        if (abs(pm_keep(rho - 1.0)) > eps) {
            cf = pm_keep(cf + w);
        }
        let r = ret[i];
        let e = pm_keep(ret[i] - old_value[i]);
        r1 = pm_keep(r1 + pm_keep(w * r));
        r2 = pm_keep(r2 + pm_keep(w * pm_keep(r * r)));
        e1 = pm_keep(e1 + pm_keep(w * e));
        e2 = pm_keep(e2 + pm_keep(w * pm_keep(e * e)));
    }
    let mpg = pm_keep(pg / w_sum);
    let mvl = pm_keep(vl / w_sum);
    let ment = pm_keep(ent / w_sum);
    let mr1 = pm_keep(r1 / w_sum);
    let me1 = pm_keep(e1 / w_sum);
    let var_r = pm_keep(pm_keep(r2 / w_sum) - pm_keep(mr1 * mr1));
    let var_e = pm_keep(pm_keep(e2 / w_sum) - pm_keep(me1 * me1));
    stats[1] = mpg;
    stats[2] = mvl;
    stats[3] = ment;
    stats[0] = pm_keep(pm_keep(mpg + pm_keep(params.value_coef * mvl)) - pm_keep(params.entropy_coef * ment));
    loss[0] = stats[0];
    stats[4] = pm_keep(kl / w_sum);
    stats[5] = pm_keep(cf / w_sum);
    if (var_r > 0.0) {
        stats[6] = pm_keep(1.0 - pm_keep(var_e / var_r));
    }
    stats[7] = w_sum;
    stats[8] = mu;
    stats[9] = inv;
}

//!entry ppo_objective_bwd
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> value: array<f32>;
@group(0) @binding(3) var<storage, read> old_logp: array<f32>;
@group(0) @binding(4) var<storage, read> old_value: array<f32>;
@group(0) @binding(5) var<storage, read> adv: array<f32>;
@group(0) @binding(6) var<storage, read> ret: array<f32>;
@group(0) @binding(7) var<storage, read> weight: array<f32>;
@group(0) @binding(8) var<storage, read> stats: array<f32>;
@group(0) @binding(9) var<storage, read> dl: array<f32>;
@group(0) @binding(10) var<storage, read_write> dlogp: array<f32>;
@group(0) @binding(11) var<storage, read_write> dentropy: array<f32>;
@group(0) @binding(12) var<storage, read_write> dvalue: array<f32>;

//!main i
    if (i >= params.n) {
        return;
    }
    let w_sum = stats[7];
    if (!(w_sum > 0.0)) {
        return;
    }
    let s = pm_keep(pm_keep(dl[0] * weight[i]) / w_sum);
    let a = pm_keep(pm_keep(adv[i] - stats[8]) * stats[9]);
    let g = ppo_surrogate(logp[i], old_logp[i], a, params.clip_eps).y;
    let dv = ppo_value(value[i], old_value[i], ret[i], params.clip_value).y;
    dlogp[i] = pm_keep(dlogp[i] + pm_keep(s * -g));
    dentropy[i] = pm_keep(dentropy[i] + pm_keep(s * -params.entropy_coef));
    dvalue[i] = pm_keep(dvalue[i] + pm_keep(s * pm_keep(params.value_coef * dv)));
}
