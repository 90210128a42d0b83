// Categorical sampling from log-probabilities and entropy (src/ops/categorical.rs): one thread
// per row, sums in index order.

struct CategoricalParams {
    rows: u32,
    cols: u32,
    key0: u32,
    key1: u32,
    step: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: CategoricalParams;

const MASKED_BELOW: f32 = -1e29;
const NN_CATEGORICAL: u32 = 9u;

//!entry categorical_sample
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read_write> action: array<u32>;

//!main r
    if (r >= params.rows) {
        return;
    }
    let w = philox4x32_10(vec4<u32>(r, params.step, 0u, NN_CATEGORICAL), vec2<u32>(params.key0, params.key1));
    let u = rng_uniform(w.x);
    let base = r * params.cols;
    var cum = 0.0;
    var last = 0xffffffffu;
    for (var j = 0u; j < params.cols; j = j + 1u) {
        let l = logp[base + j];
        if (!(l > MASKED_BELOW)) {
            continue;
        }
        cum = pm_keep(cum + pm_exp(l));
        last = j;
        if (u < cum) {
            break;
        }
    }
    action[r] = last;
}

//!entry categorical_argmax
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read_write> action: array<u32>;

// The first allowed j of the largest logp_j; u32::MAX when nothing is allowed.
//!main r
    if (r >= params.rows) {
        return;
    }
    let base = r * params.cols;
    var best = 0xffffffffu;
    var m = 0.0;
    for (var j = 0u; j < params.cols; j = j + 1u) {
        let l = logp[base + j];
        if (!(l > MASKED_BELOW)) {
            continue;
        }
        if (best == 0xffffffffu || l > m) {
            m = l;
            best = j;
        }
    }
    action[r] = best;
}

//!entry entropy_fwd
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

//!main r
    if (r >= params.rows) {
        return;
    }
    let base = r * params.cols;
    var s = 0.0;
    for (var j = 0u; j < params.cols; j = j + 1u) {
        let l = logp[base + j];
        if (l > MASKED_BELOW) {
            s = pm_keep(s - pm_keep(pm_exp(l) * l));
        }
    }
    h[r] = s;
}

//!entry entropy_bwd
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogp: array<f32>;

//!main r
    if (r >= params.rows) {
        return;
    }
    let base = r * params.cols;
    for (var j = 0u; j < params.cols; j = j + 1u) {
        let l = logp[base + j];
        if (l > MASKED_BELOW) {
            let g = pm_keep(dh[r] * -pm_keep(pm_exp(l) * pm_keep(l + 1.0)));
            dlogp[base + j] = pm_keep(dlogp[base + j] + g);
        }
    }
}
