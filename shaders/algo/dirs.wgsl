// DIRS kernels (src/algo/dirs.rs): the maximum vote over the agents' logits z [M, R, N] and
// loss (17) with its gradient. Sums run in index order from 0.0, as on the CPU.

struct DirsParams {
    m: u32,
    rows: u32,
    n: u32,
    _pad0: u32,
    lambda2: f32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<uniform> params: DirsParams;

fn dirs_sigmoid(x: f32) -> f32 {
    if (x < 0.0) {
        let e = pm_exp(x);
        return pm_keep(e / pm_keep(1.0 + e));
    }
    return pm_keep(1.0 / pm_keep(1.0 + pm_exp(-x)));
}

// BCE with logits of one element, as ops/loss bce.
fn dirs_bce(z: f32, t: f32) -> f32 {
    let pos = select(0.0, z, z > 0.0);
    return pm_keep(pm_keep(pos - pm_keep(z * t)) + pm_ln1p(pm_exp(-abs(z))));
}

//!entry dirs_vote
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> a: array<u32>;

//!main t
    let stride = params.rows * params.n;
    if (t >= stride) {
        return;
    }
    var best = 0u;
    var bz = -pm_inf();
    for (var j = 0u; j < params.m; j = j + 1u) {
        let v = z[j * stride + t];
        if (v > bz) {
            bz = v;
            best = j + 1u;
        }
    }
    a[t] = select(0u, best, bz >= 0.0);
}

//!entry dirs_loss_rows
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> label: array<u32>;
@group(0) @binding(3) var<storage, read_write> ls: array<f32>;

//!main k
    let r = params.rows;
    let n = params.n;
    if (k >= r) {
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < params.m; j = j + 1u) {
        for (var i = 0u; i < n; i = i + 1u) {
            let t = select(0.0, 1.0, label[k * n + i] == j + 1u);
            s = pm_keep(s + dirs_bce(z[(j * r + k) * n + i], t));
        }
    }
    ls[k] = s;
}

//!entry dirs_loss_total
@group(0) @binding(1) var<storage, read> demo: array<u32>;
@group(0) @binding(2) var<storage, read> ls: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;

//!main t
    if (t != 0u) {
        return;
    }
    let r = params.rows;
    var nd = 0u;
    for (var k = 0u; k < r; k = k + 1u) {
        nd = nd + select(0u, 1u, demo[k] != 0u);
    }
    let na = r - nd;
    let cd = select(0.0, pm_keep(1.0 / f32(nd)), nd > 0u);
    let ca = select(0.0, pm_keep(params.lambda2 / f32(na)), na > 0u);
    var s = 0.0;
    for (var k = 0u; k < r; k = k + 1u) {
        let ck = select(ca, cd, demo[k] != 0u);
        c[k] = ck;
        s = pm_keep(s + pm_keep(ck * ls[k]));
        v[k] = pm_keep(ls[k] / f32(params.m));
    }
    loss[0] = s;
}

//!entry dirs_loss_grad
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> label: array<u32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> g: array<f32>;

//!main e
    let r = params.rows;
    let n = params.n;
    if (e >= params.m * r * n) {
        return;
    }
    let i = e % n;
    let k = (e / n) % r;
    let j = e / (n * r);
    let t = select(0.0, 1.0, label[k * n + i] == j + 1u);
    g[e] = pm_keep(c[k] * pm_keep(dirs_sigmoid(z[e]) - t));
}
