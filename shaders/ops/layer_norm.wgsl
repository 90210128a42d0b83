// Layer normalization over the last dimension (src/ops/layer_norm.rs): x [N, D], gain and bias
// [G, D] (row r uses group r / per_group), stats [N, 2] = (mean, 1 / sqrt(var + eps)). Every sum
// runs over its index from 0 in order, as the CPU.

struct LayerNormParams {
    n: u32,
    d: u32,
    per_group: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> params: LayerNormParams;

//!entry layer_norm_fwd
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gain: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;

// One thread per row: mu = (sum x) / D, rho = 1 / sqrt((sum (x - mu)²) / D + eps),
// y = ((x - mu) rho) gain + bias.
//!main r
    let d = params.d;
    if (r >= params.n) {
        return;
    }
    let base = r * d;
    let gb = (r / max(params.per_group, 1u)) * d;
    let dn = f32(d);
    var s = 0.0;
    for (var j = 0u; j < d; j = j + 1u) {
        s = pm_keep(s + x[base + j]);
    }
    let mean = pm_keep(s / dn);
    var q = 0.0;
    for (var j = 0u; j < d; j = j + 1u) {
        let c = pm_keep(x[base + j] - mean);
        q = pm_mad(c, c, q);
    }
    let rho = pm_keep(1.0 / pm_keep(sqrt(pm_keep(pm_keep(q / dn) + params.eps))));
    stats[2u * r] = mean;
    stats[2u * r + 1u] = rho;
    for (var j = 0u; j < d; j = j + 1u) {
        let xh = pm_keep(pm_keep(x[base + j] - mean) * rho);
        y[base + j] = pm_mad(xh, gain[gb + j], bias[gb + j]);
    }
}

//!entry layer_norm_bwd_x
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gain: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

// One thread per row: with d_j = dy_j gain_j, a = (sum d) / D, b = (sum d xhat) / D:
// dx_j += rho ((d_j - a) - xhat_j b).
//!main r
    let d = params.d;
    if (r >= params.n) {
        return;
    }
    let base = r * d;
    let gb = (r / max(params.per_group, 1u)) * d;
    let dn = f32(d);
    let mean = stats[2u * r];
    let rho = stats[2u * r + 1u];
    var sa = 0.0;
    var sb = 0.0;
    for (var j = 0u; j < d; j = j + 1u) {
        let dj = pm_keep(dy[base + j] * gain[gb + j]);
        sa = pm_keep(sa + dj);
        sb = pm_mad(dj, pm_keep(pm_keep(x[base + j] - mean) * rho), sb);
    }
    let a = pm_keep(sa / dn);
    let b = pm_keep(sb / dn);
    for (var j = 0u; j < d; j = j + 1u) {
        let xh = pm_keep(pm_keep(x[base + j] - mean) * rho);
        let dj = pm_keep(dy[base + j] * gain[gb + j]);
        let g = pm_keep(rho * pm_keep(pm_keep(dj - a) - pm_keep(xh * b)));
        dx[base + j] = pm_keep(dx[base + j] + g);
    }
}

//!entry layer_norm_bwd_w
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgain: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbias: array<f32>;

// t = g D + j: dgain += sum_rows dy xhat, dbias += sum_rows dy over the rows of group g in order.
//!main t
    let d = params.d;
    let pg = max(params.per_group, 1u);
    let groups = (params.n + pg - 1u) / pg;
    if (d == 0u || t >= groups * d) {
        return;
    }
    let g = t / d;
    let j = t % d;
    let r1 = min((g + 1u) * pg, params.n);
    var sg = 0.0;
    var sb = 0.0;
    for (var r = g * pg; r < r1; r = r + 1u) {
        let xh = pm_keep(pm_keep(x[r * d + j] - stats[2u * r]) * stats[2u * r + 1u]);
        sg = pm_mad(dy[r * d + j], xh, sg);
        sb = pm_keep(sb + dy[r * d + j]);
    }
    dgain[t] = pm_keep(dgain[t] + sg);
    dbias[t] = pm_keep(dbias[t] + sb);
}
