// Dueling combine (src/ops/dueling.rs): Q = V + A - mean A; one thread per row.

struct IndexParams {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: IndexParams;

//!entry dueling_fwd
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;

//!main r
    if (r >= params.rows) {
        return;
    }
    let c = params.cols;
    let base = r * c;
    var s = 0.0;
    for (var j = 0u; j < c; j = j + 1u) {
        s = pm_keep(s + a[base + j]);
    }
    let mean = pm_keep(s / f32(c));
    for (var j = 0u; j < c; j = j + 1u) {
        q[base + j] = pm_keep(pm_keep(v[r] + a[base + j]) - mean);
    }
}

//!entry dueling_bwd
@group(0) @binding(1) var<storage, read> dq: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(3) var<storage, read_write> da: array<f32>;

//!main r
    if (r >= params.rows) {
        return;
    }
    let c = params.cols;
    let base = r * c;
    var s = 0.0;
    for (var j = 0u; j < c; j = j + 1u) {
        s = pm_keep(s + dq[base + j]);
    }
    dv[r] = pm_keep(dv[r] + s);
    let mean = pm_keep(s / f32(c));
    for (var j = 0u; j < c; j = j + 1u) {
        da[base + j] = pm_keep(da[base + j] + pm_keep(dq[base + j] - mean));
    }
}
