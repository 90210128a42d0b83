// Prioritized replay memory (src/algo/replay.rs, eq. 16 of the DIRS paper). Priorities w^tau with
// w = |delta| + eps_D (demonstrations) or eps_A (agent data); sums over slots in order from 0.

struct ReplayParams {
    cap: u32,
    size: u32,
    n: u32,
    m: u32,
    rows: u32,
    head: u32,
    demo: u32,
    k: u32,
    key0: u32,
    key1: u32,
    step: u32,
    tau: f32,
    eps_a: f32,
    eps_d: f32,
    floor: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: ReplayParams;

const STREAM_REPLAY_SAMPLE: u32 = 10u;

// Eq. (16): w^tau = exp(tau ln w).
fn replay_priority(flag: u32, d: f32) -> f32 {
    let eps = select(params.eps_a, params.eps_d, flag != 0u);
    let w = pm_keep(d + eps);
    return pm_exp(pm_keep(params.tau * pm_ln(w)));
}

//!entry replay_push
@group(0) @binding(1) var<storage, read> obs_in: array<f32>;
@group(0) @binding(2) var<storage, read> label_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> obs: array<f32>;
@group(0) @binding(4) var<storage, read_write> label: array<u32>;
@group(0) @binding(5) var<storage, read_write> demo: array<u32>;
@group(0) @binding(6) var<storage, read_write> delta: array<f32>;
@group(0) @binding(7) var<storage, read> maxd: array<f32>;

//!main t
    let w = params.m * params.n;
    if (t >= params.rows * w) {
        return;
    }
    let r = t / w;
    let e = t % w;
    let s = params.floor + (params.head + r) % (params.cap - params.floor);
    obs[s * w + e] = obs_in[t];
    if (e < params.n) {
        label[s * params.n + e] = label_in[r * params.n + e];
    }
    if (e == 0u) {
        demo[s] = params.demo;
        delta[s] = maxd[0];
    }
}

//!entry replay_sample
@group(0) @binding(1) var<storage, read> demo: array<u32>;
@group(0) @binding(2) var<storage, read> delta: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;

//!main k
    if (k >= params.k) {
        return;
    }
    let size = min(params.size, params.cap);
    var total = 0.0;
    for (var s = 0u; s < size; s = s + 1u) {
        total = pm_keep(total + replay_priority(demo[s], delta[s]));
    }
    let w = philox4x32_10(philox_counter(k, 0u, params.step, STREAM_REPLAY_SAMPLE, 0u),
                          vec2<u32>(params.key0, params.key1));
    let target_v = pm_keep(rng_uniform(w.x) * total);
    var cum = 0.0;
    var pick = select(0u, params.size - 1u, params.size > 0u);
    for (var s = 0u; s < size; s = s + 1u) {
        cum = pm_keep(cum + replay_priority(demo[s], delta[s]));
        if (target_v < cum) {
            pick = s;
            break;
        }
    }
    idx[k] = pick;
}

//!entry replay_update
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> delta: array<f32>;
@group(0) @binding(4) var<storage, read_write> maxd: array<f32>;

//!main t
    if (t != 0u) {
        return;
    }
    var md = maxd[0];
    for (var kk = 0u; kk < params.k; kk = kk + 1u) {
        let s = idx[kk];
        if (s < params.cap) {
            delta[s] = v[kk];
        }
        if (v[kk] > md) {
            md = v[kk];
        }
    }
    maxd[0] = md;
}

//!entry replay_gather
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> obs: array<f32>;
@group(0) @binding(3) var<storage, read> label: array<u32>;
@group(0) @binding(4) var<storage, read> demo: array<u32>;
@group(0) @binding(5) var<storage, read_write> x: array<f32>;
@group(0) @binding(6) var<storage, read_write> label_out: array<u32>;
@group(0) @binding(7) var<storage, read_write> demo_out: array<u32>;

//!main t
    let n = params.n;
    let rows = params.rows;
    if (t >= params.m * rows * n) {
        return;
    }
    // t = (j rows + r) n + i
    let i = t % n;
    let r = (t / n) % rows;
    let j = t / (n * rows);
    var s = idx[r];
    if (s >= params.cap) {
        s = 0u;
    }
    x[t] = obs[(s * params.m + j) * n + i];
    if (j == 0u) {
        label_out[r * n + i] = label[s * n + i];
        if (i == 0u) {
            demo_out[r] = demo[s];
        }
    }
}
