// Elementwise activations (src/ops/act.rs): 0 ReLU, 1 tanh, 2 sigmoid, with the portable exp.

struct ActParams {
    n: u32,
    kind: u32,
    fresh: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: ActParams;

fn act_apply(kind: u32, x: f32) -> f32 {
    if (kind == 0u) {
        return select(0.0, x, x > 0.0);
    }
    if (kind == 1u) {
        let a = abs(x);
        let e = pm_exp(pm_keep(-2.0 * a));
        let t = pm_keep(pm_keep(1.0 - e) / pm_keep(1.0 + e));
        return select(t, -t, x < 0.0);
    }
    if (x < 0.0) {
        let e = pm_exp(x);
        return pm_keep(e / pm_keep(1.0 + e));
    }
    return pm_keep(1.0 / pm_keep(1.0 + pm_exp(-x)));
}

fn act_derivative(kind: u32, y: f32) -> f32 {
    if (kind == 0u) {
        return select(0.0, 1.0, y > 0.0);
    }
    if (kind == 1u) {
        return pm_keep(1.0 - pm_keep(y * y));
    }
    return pm_keep(y * pm_keep(1.0 - y));
}

//!entry act_fwd
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

//!main t
    if (t >= params.n) {
        return;
    }
    y[t] = act_apply(params.kind, x[t]);
}

//!entry act_bwd
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// dx += dy f'(y).
//!main t
    if (t >= params.n) {
        return;
    }
    // fresh: a new gradient buffer, written without reading it
    if (params.fresh != 0u) {
        dx[t] = pm_keep(dy[t] * act_derivative(params.kind, y[t]));
    } else {
        dx[t] = pm_mad(dy[t], act_derivative(params.kind, y[t]), dx[t]);
    }
}
