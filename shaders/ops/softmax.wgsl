// Row-wise (masked) softmax and log-softmax (src/ops/softmax.rs): one thread per row, every sum
// over the row in index order.

struct SoftmaxParams {
    rows: u32,
    cols: u32,
    log: u32,
    masked: u32,
}

@group(0) @binding(0) var<uniform> params: SoftmaxParams;

const MASKED_LOGP: f32 = -1e30;

//!entry softmax_fwd
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn allowed(i: u32) -> bool {
    return params.masked == 0u || mask[i] != 0u;
}

//!main r
    if (r >= params.rows) {
        return;
    }
    let c = params.cols;
    let base = r * c;
    var any = false;
    var m = 0.0;
    for (var j = 0u; j < c; j = j + 1u) {
        if (allowed(base + j)) {
            let v = x[base + j];
            if (!any || v > m) {
                m = v;
            }
            any = true;
        }
    }
    if (!any) {
        for (var j = 0u; j < c; j = j + 1u) {
            y[base + j] = pm_nan();
        }
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < c; j = j + 1u) {
        if (allowed(base + j)) {
            s = pm_keep(s + pm_exp(pm_keep(x[base + j] - m)));
        }
    }
    let ls = pm_ln(s);
    for (var j = 0u; j < c; j = j + 1u) {
        let d = pm_keep(x[base + j] - m);
        var out = 0.0;
        if (!allowed(base + j)) {
            out = select(0.0, MASKED_LOGP, params.log != 0u);
        } else if (params.log != 0u) {
            out = pm_keep(d - ls);
        } else {
            out = pm_keep(pm_exp(d) / s);
        }
        y[base + j] = out;
    }
}

//!entry softmax_bwd
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

fn allowed(i: u32) -> bool {
    return params.masked == 0u || mask[i] != 0u;
}

//!main r
    if (r >= params.rows) {
        return;
    }
    let c = params.cols;
    let base = r * c;
    var s = 0.0;
    if (params.log != 0u) {
        for (var j = 0u; j < c; j = j + 1u) {
            if (allowed(base + j)) {
                s = pm_keep(s + dy[base + j]);
            }
        }
        for (var j = 0u; j < c; j = j + 1u) {
            if (allowed(base + j)) {
                let g = pm_keep(dy[base + j] - pm_keep(pm_exp(y[base + j]) * s));
                dx[base + j] = pm_keep(dx[base + j] + g);
            }
        }
    } else {
        for (var j = 0u; j < c; j = j + 1u) {
            s = pm_mad(dy[base + j], y[base + j], s);
        }
        for (var j = 0u; j < c; j = j + 1u) {
            dx[base + j] = pm_mad(y[base + j], pm_keep(dy[base + j] - s), dx[base + j]);
        }
    }
}
