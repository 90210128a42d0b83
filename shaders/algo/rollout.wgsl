// Rollout storage (src/algo/rollout.rs): word moves between fields, one thread per word.

struct RolloutParams {
    outer: u32,
    envs_in: u32,
    envs_out: u32,
    width: u32,
    t: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: RolloutParams;

//!entry rollout_columns
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

// dst[o, j, :] = src[o, idx[j], :]; an index past E reads column E - 1 (the host checks).
//!main i
    let w = params.width;
    let eo = params.envs_out;
    if (w == 0u || eo == 0u || i >= params.outer * eo * w) {
        return;
    }
    let q = i % w;
    let r = i / w;
    let j = r % eo;
    let o = r / eo;
    let c = min(idx[j], params.envs_in - 1u);
    dst[i] = src[(o * params.envs_in + c) * w + q];
}

//!entry rollout_put
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

// Row t of a [T, w] field.
//!main i
    if (i >= params.width || params.t >= params.outer) {
        return;
    }
    dst[params.t * params.width + i] = src[i];
}

//!entry rollout_place
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

// dst[o, t + j, :] = src[o, j, :] (a block of columns; t + E_in <= E_out, else nothing).
//!main i
    let w = params.width;
    let ei = params.envs_in;
    if (w == 0u || ei == 0u || i >= params.outer * ei * w || params.t + ei > params.envs_out) {
        return;
    }
    let q = i % w;
    let r = i / w;
    let j = r % ei;
    let o = r / ei;
    dst[(o * params.envs_out + params.t + j) * w + q] = src[i];
}

//!entry rollout_index
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> done: array<u32>;
@group(0) @binding(4) var<storage, read_write> valid: array<u32>;

// Per column e (one thread): the rows of its weighted steps in order, T below them; done = 1
// on its last weighted row and below, valid = 1 on the weighted rows.
//!main c
    let t = params.outer;
    let e = params.envs_in;
    if (c >= e) {
        return;
    }
    var j = 0u;
    for (var s = 0u; s < t; s = s + 1u) {
        if (weight[s * e + c] > 0.0) {
            idx[j * e + c] = s;
            valid[j * e + c] = 1u;
            done[j * e + c] = 0u;
            j = j + 1u;
        }
    }
    if (j > 0u) {
        done[(j - 1u) * e + c] = 1u;
    }
    for (var r = j; r < t; r = r + 1u) {
        idx[r * e + c] = t;
        valid[r * e + c] = 0u;
        done[r * e + c] = 1u;
    }
}

//!entry rollout_rows
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

// dst[j, e, :] = src[idx[j, e], e, :], zeros where idx >= T; one thread per word.
//!main i
    let w = params.width;
    let e = params.envs_in;
    if (w == 0u || e == 0u || i >= params.outer * e * w) {
        return;
    }
    let q = i % w;
    let r = i / w;
    let c = r % e;
    let s = idx[r];
    if (s < params.outer) {
        dst[i] = src[(s * e + c) * w + q];
    } else {
        dst[i] = 0u;
    }
}
