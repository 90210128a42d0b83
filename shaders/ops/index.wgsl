// Gather and scatter-add along the last dimension (src/ops/index.rs): one thread per row.

struct IndexParams {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: IndexParams;

//!entry gather
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

//!main r
    if (r >= params.rows) {
        return;
    }
    let j = idx[r];
    var v = pm_nan();
    if (j < params.cols) {
        v = x[r * params.cols + j];
    }
    y[r] = v;
}

//!entry scatter_add
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

//!main r
    if (r >= params.rows) {
        return;
    }
    let j = idx[r];
    if (j < params.cols) {
        let o = r * params.cols + j;
        x[o] = pm_keep(x[o] + y[r]);
    }
}
