// Fused optimizer steps and fill (src/ops/optim.rs): one thread per element.

struct OptimParams {
    n: u32,
    rule: u32,
    decoupled: u32,
    _pad0: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    wd: f32,
    step_size: f32,
    rsqrt_bc2: f32,
    _pad1: u32,
}

struct ClipParams {
    n: u32,
    max_norm: f32,
    eps: f32,
    _pad0: u32,
}

struct FillParams {
    n: u32,
    value: u32,
    _pad0: u32,
    _pad1: u32,
}

//!entry optim_step
@group(0) @binding(0) var<uniform> params: OptimParams;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

//!main t
    if (t >= params.n) {
        return;
    }
    let q = params;
    var pv = p[t];
    var gv = g[t];
    if (q.wd != 0.0) {
        if (q.decoupled != 0u) {
            pv = pm_keep(pv - pm_keep(pm_keep(q.lr * q.wd) * pv));
        } else {
            gv = pm_mad(q.wd, pv, gv);
        }
    }
    if (q.rule == 0u) {
        if (q.beta1 != 0.0) {
            let mv = pm_mad(q.beta1, m[t], gv);
            m[t] = mv;
            p[t] = pm_keep(pv - pm_keep(q.lr * mv));
        } else {
            p[t] = pm_keep(pv - pm_keep(q.lr * gv));
        }
    } else if (q.rule == 1u) {
        let mv = pm_keep(pm_keep(q.beta1 * m[t]) + pm_keep(pm_keep(1.0 - q.beta1) * gv));
        let vv = pm_keep(pm_keep(q.beta2 * v[t]) + pm_keep(pm_keep(1.0 - q.beta2) * pm_keep(gv * gv)));
        m[t] = mv;
        v[t] = vv;
        let denom = pm_keep(pm_keep(sqrt(vv) * q.rsqrt_bc2) + q.eps);
        p[t] = pm_keep(pv - pm_keep(pm_keep(q.step_size * mv) / denom));
    } else {
        let vv = pm_keep(pm_keep(q.beta2 * v[t]) + pm_keep(pm_keep(1.0 - q.beta2) * pm_keep(gv * gv)));
        v[t] = vv;
        p[t] = pm_keep(pv - pm_keep(pm_keep(q.lr * gv) / pm_keep(sqrt(vv) + q.eps)));
    }
}

//!entry fill
@group(0) @binding(0) var<uniform> params: FillParams;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

//!main t
    if (t >= params.n) {
        return;
    }
    out[t] = params.value;
}

//!entry sumsq_acc
@group(0) @binding(0) var<uniform> params: ClipParams;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;

// One thread: acc += Σ g² (in index order, added once).
//!main t
    if (t != 0u) {
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < params.n; j = j + 1u) {
        s = pm_mad(g[j], g[j], s);
    }
    acc[0] = pm_keep(acc[0] + s);
}

//!entry clip_scale
@group(0) @binding(0) var<uniform> params: ClipParams;
@group(0) @binding(1) var<storage, read> acc: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;

// g *= min(1, max_norm / (sqrt(total) + eps)).
//!main t
    if (t >= params.n) {
        return;
    }
    let f = pm_keep(params.max_norm / pm_keep(sqrt(acc[0]) + params.eps));
    if (f < 1.0) {
        g[t] = pm_keep(g[t] * f);
    }
}
