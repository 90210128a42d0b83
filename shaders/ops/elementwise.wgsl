// Elementwise linear combination (src/ops/elementwise.rs): one thread per element.

struct AxpbyParams {
    n: u32,
    a: f32,
    b: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> params: AxpbyParams;

//!entry axpby
@group(0) @binding(1) var<storage, read> x1: array<f32>;
@group(0) @binding(2) var<storage, read> x2: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

//!main t
    if (t >= params.n) {
        return;
    }
    y[t] = pm_keep(pm_keep(params.a * x1[t]) + pm_keep(params.b * x2[t]));
}

//!entry scale_acc
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

//!main t
    if (t >= params.n) {
        return;
    }
    dx[t] = pm_mad(params.a, dy[t], dx[t]);
}

//!entry mean_fwd
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

//!main t
    if (t != 0u) {
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < params.n; j = j + 1u) {
        s = pm_keep(s + x[j]);
    }
    y[0] = pm_keep(s / f32(params.n));
}

//!entry mean_bwd
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

//!main t
    if (t >= params.n) {
        return;
    }
    let g = pm_keep(dy[0] * pm_keep(1.0 / f32(params.n)));
    dx[t] = pm_keep(dx[t] + g);
}
