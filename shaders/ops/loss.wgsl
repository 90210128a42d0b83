// Losses (src/ops/loss.rs). MSE: one thread sums (y - t)² in index order; the backward is one
// thread per element.

struct LossParams {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: LossParams;

//!entry mse_fwd
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(64)
fn mse_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let id = global_index(wg, nwg, lid);
    pm_init(nwg);
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

// dy += ((y - t) (2 / n)) dL.
@compute @workgroup_size(64)
fn mse_bwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let j = global_index(wg, nwg, lid);
    pm_init(nwg);
    if (j >= params.n) {
        return;
    }
    let c = pm_keep(2.0 / f32(params.n));
    let g = pm_keep(pm_keep(pm_keep(y[j] - t[j]) * c) * dl[0]);
    dy[j] = pm_keep(dy[j] + g);
}
