// coop: cooperative edge nodes with FIFO queues, deadlines and failures
// (src/env/coop/kernel.rs). Every function mirrors the Rust function named in its comment with the
// same operation order; float results are fenced with pm_keep (see pmath.wgsl). coop_reset and
// coop_step run one invocation per instance, coop_observe and coop_policy one per (instance, node).

struct CoopParams {
    b: u32,
    n: u32,
    w: u32,
    horizon: u32,
    slot: u32,
    episode: u32,
    key0: u32,
    key1: u32,
    max_queue: u32,
    variant: u32,
    n_cores: u32,
    cores0: u32,
    cores1: u32,
    cores2: u32,
    cores3: u32,
    cores4: u32,
    cores5: u32,
    cores6: u32,
    cores7: u32,
    fixed_network: u32,
    dt: f32,
    deadline: f32,
    lambda_lo: f32,
    lambda_hi: f32,
    s_lo: f32,
    s_hi: f32,
    delta_lo: f32,
    delta_hi: f32,
    core_hz: f32,
    alpha_lo: f32,
    alpha_hi: f32,
    beta_lo: f32,
    beta_hi: f32,
    r_lo: f32,
    r_hi: f32,
    lambda_norm: f32,
    alpha_norm: f32,
    f_norm: f32,
    r_norm: f32,
    s_norm: f32,
    c_norm: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
}

@group(0) @binding(0) var<uniform> params: CoopParams;

const STREAM_COOP_NODE: u32 = 32u;
const STREAM_COOP_LINK: u32 = 33u;
const STREAM_COOP_ARRIVAL: u32 = 34u;
const STREAM_COOP_FAIL: u32 = 35u;
const STREAM_COOP_POLICY: u32 = 36u;

const COOP_SENDING: u32 = 1u;
const COOP_QUEUED: u32 = 2u;
const COOP_SUCCESS: u32 = 3u;
const COOP_DROPPED: u32 = 4u;
const COOP_FAILED: u32 = 5u;
const COOP_FLAG_LINK_FAIL: u32 = 0x100u;
const COOP_FLAG_NODE_FAIL: u32 = 0x200u;
const COOP_STATS_U: u32 = 8u;
const COOP_STATS_F: u32 = 4u;

// `step_word`.
fn coop_step_word(episode: u32, t: u32) -> u32 {
    return (episode << 16u) | (t & 0xffffu);
}

// `span`: uniform in [lo, hi).
fn coop_span(lo: f32, hi: f32, x: u32) -> f32 {
    return pm_keep(lo + pm_keep(pm_keep(hi - lo) * rng_uniform(x)));
}

// `reliability`, eq. (4)/(5).
fn coop_reliability(rate: f32, time: f32) -> f32 {
    return pm_exp(-pm_keep(rate * time));
}

// `CoopParams::core`.
fn coop_core(k: u32) -> u32 {
    var c = params.cores0;
    if (k == 1u) { c = params.cores1; }
    if (k == 2u) { c = params.cores2; }
    if (k == 3u) { c = params.cores3; }
    if (k == 4u) { c = params.cores4; }
    if (k == 5u) { c = params.cores5; }
    if (k == 6u) { c = params.cores6; }
    if (k >= 7u) { c = params.cores7; }
    return c;
}

// Parameters the kernels can run with (the CPU refuses others with an error).
fn coop_params_ok() -> bool {
    return params.n >= 1u && params.w >= 1u && params.w <= 32u && params.n_cores >= 1u && params.n_cores <= 8u;
}

// Per-instance words (`instance_words`): node, link, arr_u, arr_f, pool (u and f), xq.
fn coop_w_node() -> u32 { return 3u * params.n; }
fn coop_w_link() -> u32 { return 2u * params.n * params.n; }
fn coop_w_pool() -> u32 { return 4u * params.n * params.w; }
fn coop_w_xq() -> u32 { return params.n * (1u + params.n * params.w); }

//!part coop_arrivals
// `arrivals`: the tasks of slot t of instance b (none from the horizon on).
fn coop_arrivals(b: u32, t: u32) {
    let n = params.n;
    let sw = coop_step_word(params.episode, t);
    let key = vec2<u32>(params.key0, params.key1);
    for (var i = 0u; i < n; i = i + 1u) {
        let w = philox4x32_10(philox_counter(i, b, sw, STREAM_COOP_ARRIVAL, 0u), key);
        let v = philox4x32_10(philox_counter(i, b, sw, STREAM_COOP_FAIL, 0u), key);
        let a = rng_uniform(w.x) < node[b * 3u * n + 3u * i] && t < params.horizon;
        let s = coop_span(params.s_lo, params.s_hi, w.y);
        let c = pm_keep(coop_span(params.delta_lo, params.delta_hi, w.z) * s);
        let o = b * 4u * n + 4u * i;
        arr_u[b * n + i] = select(0u, 1u, a);
        arr_f[o] = select(0.0, s, a);
        arr_f[o + 1u] = select(0.0, c, a);
        arr_f[o + 2u] = select(0.0, rng_uniform(v.x), a);
        arr_f[o + 3u] = select(0.0, rng_uniform(v.y), a);
    }
}

//!entry coop_reset
@group(0) @binding(1) var<storage, read_write> node: array<f32>;
@group(0) @binding(2) var<storage, read_write> link: array<f32>;
@group(0) @binding(3) var<storage, read_write> arr_u: array<u32>;
@group(0) @binding(4) var<storage, read_write> arr_f: array<f32>;
@group(0) @binding(5) var<storage, read_write> pool_u: array<u32>;
@group(0) @binding(6) var<storage, read_write> pool_f: array<f32>;
@group(0) @binding(7) var<storage, read_write> xq: array<u32>;
@group(0) @binding(8) var<storage, read_write> stats_u: array<u32>;
@group(0) @binding(9) var<storage, read_write> stats_f: array<f32>;
@group(0) @binding(10) var<storage, read_write> reward: array<f32>;

//!use coop_arrivals

//!main b
    if (b >= params.b || !coop_params_ok()) {
        return;
    }
    let n = params.n;
    let key = vec2<u32>(params.key0, params.key1);
    let nd = b * coop_w_node();
    let lk = b * coop_w_link();
    // one network for every instance and episode (fixed_network), else the instance's own
    let nb = select(b, 0u, params.fixed_network != 0u);
    let ne = select(params.episode, 0u, params.fixed_network != 0u);
    for (var i = 0u; i < n; i = i + 1u) {
        let w = philox4x32_10(philox_counter(i, nb, ne, STREAM_COOP_NODE, 0u), key);
        node[nd + 3u * i] = coop_span(params.lambda_lo, params.lambda_hi, w.x);
        node[nd + 3u * i + 1u] = pm_keep(f32(coop_core(rng_uniform_index(w.y, params.n_cores))) * params.core_hz);
        node[nd + 3u * i + 2u] = coop_span(params.alpha_lo, params.alpha_hi, w.z);
    }
    for (var i = 0u; i < n; i = i + 1u) {
        link[lk + 2u * (i * n + i)] = 0.0;
        link[lk + 2u * (i * n + i) + 1u] = 0.0;
        for (var j = i + 1u; j < n; j = j + 1u) {
            let w = philox4x32_10(philox_counter(i * n + j, nb, ne, STREAM_COOP_LINK, 0u), key);
            let r = coop_span(params.r_lo, params.r_hi, w.x);
            let be = coop_span(params.beta_lo, params.beta_hi, w.y);
            link[lk + 2u * (i * n + j)] = r;
            link[lk + 2u * (i * n + j) + 1u] = be;
            link[lk + 2u * (j * n + i)] = r;
            link[lk + 2u * (j * n + i) + 1u] = be;
        }
    }
    let pw = coop_w_pool();
    for (var k = 0u; k < pw; k = k + 1u) {
        pool_u[b * pw + k] = 0u;
        pool_f[b * pw + k] = 0.0;
    }
    let xs = 1u + n * params.w;
    for (var j = 0u; j < n; j = j + 1u) {
        xq[b * coop_w_xq() + j * xs] = 0u;
    }
    for (var k = 0u; k < COOP_STATS_U; k = k + 1u) {
        stats_u[b * COOP_STATS_U + k] = 0u;
    }
    for (var k = 0u; k < COOP_STATS_F; k = k + 1u) {
        stats_f[b * COOP_STATS_F + k] = 0.0;
    }
    coop_arrivals(b, 0u);
    reward[b] = 0.0;
}

//!entry coop_step
@group(0) @binding(1) var<storage, read> node: array<f32>;
@group(0) @binding(2) var<storage, read> link: array<f32>;
@group(0) @binding(3) var<storage, read> act: array<u32>;
@group(0) @binding(4) var<storage, read_write> arr_u: array<u32>;
@group(0) @binding(5) var<storage, read_write> arr_f: array<f32>;
@group(0) @binding(6) var<storage, read_write> pool_u: array<u32>;
@group(0) @binding(7) var<storage, read_write> pool_f: array<f32>;
@group(0) @binding(8) var<storage, read_write> xq: array<u32>;
@group(0) @binding(9) var<storage, read_write> stats_u: array<u32>;
@group(0) @binding(10) var<storage, read_write> stats_f: array<f32>;
@group(0) @binding(11) var<storage, read_write> reward: array<f32>;

//!use coop_arrivals

var<private> coop_rw: f32;

// `resolve`: the outcome of pool entry k (instance-relative) of instance b at slot t.
fn coop_resolve(b: u32, k: u32, outcome: u32, t: u32) {
    let pb = b * coop_w_pool() + 4u * k;
    let su = b * COOP_STATS_U;
    let sf = b * COOP_STATS_F;
    let s = pool_f[pb];
    pool_u[pb] = outcome | (pool_u[pb] & ~0xffu);
    pool_u[pb + 3u] = t;
    pool_f[pb + 2u] = 0.0;
    if (outcome == COOP_SUCCESS) {
        stats_u[su + 1u] = stats_u[su + 1u] + 1u;
        stats_f[sf + 1u] = pm_keep(stats_f[sf + 1u] + s);
        coop_rw = pm_keep(coop_rw + 1.0);
    } else if (outcome == COOP_DROPPED) {
        stats_u[su + 2u] = stats_u[su + 2u] + 1u;
        stats_f[sf + 2u] = pm_keep(stats_f[sf + 2u] + s);
        coop_rw = pm_keep(coop_rw - 1.0);
    } else {
        stats_u[su + 3u] = stats_u[su + 3u] + 1u;
        stats_f[sf + 3u] = pm_keep(stats_f[sf + 3u] + s);
        coop_rw = pm_keep(coop_rw - 1.0);
    }
}

// Append pool entry k to node j's execution queue (instance b).
fn coop_push(b: u32, j: u32, k: u32) {
    let xb = b * coop_w_xq() + j * (1u + params.n * params.w);
    let len = min(xq[xb], params.n * params.w - 1u);
    xq[xb + 1u + len] = k;
    xq[xb] = len + 1u;
}

//!main b
    if (b >= params.b || !coop_params_ok()) {
        return;
    }
    let n = params.n;
    let w = params.w;
    let t = params.slot;
    let xs = 1u + n * w;
    let cur = t % w;
    let nd = b * coop_w_node();
    let lk = b * coop_w_link();
    let pb = b * coop_w_pool();
    let xb = b * coop_w_xq();
    let su = b * COOP_STATS_U;
    let sf = b * COOP_STATS_F;
    coop_rw = 0.0;
    // 1. decisions
    for (var i = 0u; i < n; i = i + 1u) {
        let a = act[b * n + i];
        if (arr_u[b * n + i] == 0u) {
            if (a != n) {
                stats_u[su + 4u] = stats_u[su + 4u] + 1u;
            }
            continue;
        }
        let k = i * w + cur;
        let ao = b * 4u * n + 4u * i;
        let s = arr_f[ao];
        let c = arr_f[ao + 1u];
        let ul = arr_f[ao + 2u];
        let un = arr_f[ao + 3u];
        stats_u[su] = stats_u[su] + 1u;
        stats_f[sf] = pm_keep(stats_f[sf] + s);
        pool_u[pb + 4u * k] = COOP_SENDING;
        pool_u[pb + 4u * k + 1u] = a;
        pool_u[pb + 4u * k + 2u] = t;
        pool_u[pb + 4u * k + 3u] = 0u;
        pool_f[pb + 4u * k] = s;
        pool_f[pb + 4u * k + 1u] = c;
        pool_f[pb + 4u * k + 2u] = s;
        pool_f[pb + 4u * k + 3u] = 0.0;
        var refused = a >= n;
        if (!refused && a != i) {
            refused = xq[xb + a * xs] >= params.max_queue;
        }
        if (refused) {
            stats_u[su + 4u] = stats_u[su + 4u] + 1u;
            coop_resolve(b, k, COOP_DROPPED, t);
            continue;
        }
        let local = a == i;
        var r_link = 1.0;
        if (!local) {
            r_link = coop_reliability(link[lk + 2u * (i * n + a) + 1u], pm_keep(s / link[lk + 2u * (i * n + a)]));
        }
        let r_node = coop_reliability(node[nd + 3u * a + 2u], pm_keep(c / node[nd + 3u * a + 1u]));
        var flags = 0u;
        if (!local && ul >= r_link) {
            flags = flags | COOP_FLAG_LINK_FAIL;
        }
        if (un >= r_node) {
            flags = flags | COOP_FLAG_NODE_FAIL;
        }
        pool_u[pb + 4u * k] = select(COOP_SENDING, COOP_QUEUED, local) | flags;
        pool_f[pb + 4u * k + 2u] = select(s, c, local);
        pool_f[pb + 4u * k + 3u] = pm_keep(r_link * r_node);
        if (!local) {
            stats_u[su + 7u] = stats_u[su + 7u] + 1u;
        }
    }
    for (var i = 0u; i < n; i = i + 1u) {
        let k = i * w + cur;
        if (arr_u[b * n + i] != 0u && (pool_u[pb + 4u * k] & 0xffu) == COOP_QUEUED) {
            coop_push(b, i, k);
        }
    }
    // 2. execution
    for (var j = 0u; j < n; j = j + 1u) {
        var budget = pm_keep(node[nd + 3u * j + 1u] * params.dt);
        let len = min(xq[xb + j * xs], n * w);
        var h = 0u;
        loop {
            if (h >= len || !(budget > 0.0)) {
                break;
            }
            let k = min(xq[xb + j * xs + 1u + h], n * w - 1u);
            let rem = pool_f[pb + 4u * k + 2u];
            if (rem <= budget) {
                budget = pm_keep(budget - rem);
                let failed = (pool_u[pb + 4u * k] & COOP_FLAG_NODE_FAIL) != 0u;
                if (failed) {
                    stats_u[su + 6u] = stats_u[su + 6u] + 1u;
                }
                coop_resolve(b, k, select(COOP_SUCCESS, COOP_FAILED, failed), t);
                h = h + 1u;
            } else {
                pool_f[pb + 4u * k + 2u] = pm_keep(rem - budget);
                budget = 0.0;
            }
        }
    }
    // 3. transmission
    for (var i = 0u; i < n; i = i + 1u) {
        let base = i * w;
        var heads = 0u;
        for (var q1 = 0u; q1 < w; q1 = q1 + 1u) {
            let k = base + (t + 1u + q1) % w;
            if ((pool_u[pb + 4u * k] & 0xffu) != COOP_SENDING) {
                continue;
            }
            let tgt = pool_u[pb + 4u * k + 1u];
            var first = true;
            for (var q2 = 0u; q2 < q1; q2 = q2 + 1u) {
                let k2 = base + (t + 1u + q2) % w;
                if ((pool_u[pb + 4u * k2] & 0xffu) == COOP_SENDING && pool_u[pb + 4u * k2 + 1u] == tgt) {
                    first = false;
                }
            }
            if (first) {
                heads = heads | (1u << q1);
            }
        }
        for (var q1 = 0u; q1 < w; q1 = q1 + 1u) {
            if ((heads & (1u << q1)) == 0u) {
                continue;
            }
            let j = min(pool_u[pb + 4u * (base + (t + 1u + q1) % w) + 1u], n - 1u);
            var budget = pm_keep(link[lk + 2u * (i * n + j)] * params.dt);
            for (var q2 = q1; q2 < w; q2 = q2 + 1u) {
                if (budget <= 0.0) {
                    break;
                }
                let k = base + (t + 1u + q2) % w;
                if ((pool_u[pb + 4u * k] & 0xffu) != COOP_SENDING || pool_u[pb + 4u * k + 1u] != j) {
                    continue;
                }
                let rem = pool_f[pb + 4u * k + 2u];
                if (rem <= budget) {
                    budget = pm_keep(budget - rem);
                    if ((pool_u[pb + 4u * k] & COOP_FLAG_LINK_FAIL) != 0u) {
                        stats_u[su + 5u] = stats_u[su + 5u] + 1u;
                        coop_resolve(b, k, COOP_FAILED, t);
                    } else {
                        pool_u[pb + 4u * k] = (pool_u[pb + 4u * k] & ~0xffu) | COOP_QUEUED;
                        pool_f[pb + 4u * k + 2u] = pool_f[pb + 4u * k + 1u];
                        coop_push(b, j, k);
                    }
                } else {
                    pool_f[pb + 4u * k + 2u] = pm_keep(rem - budget);
                    budget = 0.0;
                }
            }
        }
    }
    // 4. deadline (eq. 8)
    if (t + 1u >= w) {
        for (var i = 0u; i < n; i = i + 1u) {
            let k = i * w + (t + 1u) % w;
            if ((pool_u[pb + 4u * k] & 0xffu) == COOP_SENDING && pool_u[pb + 4u * k + 2u] + w - 1u == t) {
                coop_resolve(b, k, COOP_DROPPED, t);
            }
        }
    }
    for (var j = 0u; j < n; j = j + 1u) {
        let len = min(xq[xb + j * xs], n * w);
        var kept = 0u;
        for (var h = 0u; h < len; h = h + 1u) {
            let k = min(xq[xb + j * xs + 1u + h], n * w - 1u);
            if ((pool_u[pb + 4u * k] & 0xffu) != COOP_QUEUED) {
                continue;
            }
            if (pool_u[pb + 4u * k + 2u] + w - 1u <= t) {
                coop_resolve(b, k, COOP_DROPPED, t);
                continue;
            }
            xq[xb + j * xs + 1u + kept] = k;
            kept = kept + 1u;
        }
        xq[xb + j * xs] = kept;
    }
    // 5. arrivals of the next slot
    coop_arrivals(b, t + 1u);
    reward[b] = coop_rw;
}

//!entry coop_observe
@group(0) @binding(1) var<storage, read> node: array<f32>;
@group(0) @binding(2) var<storage, read> link: array<f32>;
@group(0) @binding(3) var<storage, read> arr_u: array<u32>;
@group(0) @binding(4) var<storage, read> arr_f: array<f32>;
@group(0) @binding(5) var<storage, read> pool_u: array<u32>;
@group(0) @binding(6) var<storage, read> xq: array<u32>;
@group(0) @binding(7) var<storage, read_write> obs: array<f32>;
@group(0) @binding(8) var<storage, read_write> mask: array<u32>;

//!main g
    let n = params.n;
    let w = params.w;
    if (g >= params.b * n || !coop_params_ok()) {
        return;
    }
    let b = g / n;
    let i = g % n;
    let nd = b * coop_w_node();
    let lk = b * coop_w_link();
    let pb = b * coop_w_pool();
    let xb = b * coop_w_xq();
    let xs = 1u + n * w;
    let o = g * (3u * n + 5u);
    let m = g * (n + 1u);
    obs[o] = pm_keep(node[nd + 3u * i] / params.lambda_norm);
    obs[o + 1u] = pm_keep(node[nd + 3u * i + 2u] / params.alpha_norm);
    obs[o + 2u] = pm_keep(node[nd + 3u * i + 1u] / params.f_norm);
    obs[o + 3u] = pm_keep(f32(xq[xb + i * xs]) / f32(n * w));
    var at = o + 4u;
    for (var j = 0u; j < n; j = j + 1u) {
        if (j == i) {
            continue;
        }
        var cnt = 0u;
        for (var q1 = 0u; q1 < w; q1 = q1 + 1u) {
            let k = j * w + q1;
            if ((pool_u[pb + 4u * k] & 0xffu) == COOP_SENDING && pool_u[pb + 4u * k + 1u] == i) {
                cnt = cnt + 1u;
            }
        }
        obs[at] = pm_keep(f32(cnt) / f32(w));
        obs[at + n - 1u] = pm_keep(link[lk + 2u * (i * n + j)] / params.r_norm);
        at = at + 1u;
    }
    at = at + n - 1u;
    let has = arr_u[b * n + i] != 0u;
    let ao = b * 4u * n + 4u * i;
    obs[at] = select(0.0, pm_keep(arr_f[ao] / params.s_norm), has);
    obs[at + 1u] = select(0.0, pm_keep(arr_f[ao + 1u] / params.c_norm), has);
    obs[at + 2u] = select(0.0, 1.0, has);
    at = at + 3u;
    for (var j = 0u; j < n; j = j + 1u) {
        obs[at + j] = select(0.0, 1.0, j == i);
        mask[m + j] = select(0u, 1u, has && (j == i || xq[xb + j * xs] < params.max_queue));
    }
    mask[m + n] = select(1u, 0u, has);
}

//!entry coop_policy
@group(0) @binding(1) var<storage, read> node: array<f32>;
@group(0) @binding(2) var<storage, read> link: array<f32>;
@group(0) @binding(3) var<storage, read> arr_u: array<u32>;
@group(0) @binding(4) var<storage, read> arr_f: array<f32>;
@group(0) @binding(5) var<storage, read> pool_u: array<u32>;
@group(0) @binding(6) var<storage, read> pool_f: array<f32>;
@group(0) @binding(7) var<storage, read> xq: array<u32>;
@group(0) @binding(8) var<storage, read_write> act: array<u32>;

// `allowed` (instance b).
fn coop_allowed(b: u32, i: u32, j: u32) -> bool {
    return j == i || xq[b * coop_w_xq() + j * (1u + params.n * params.w)] < params.max_queue;
}

// `kth_allowed`.
fn coop_kth_allowed(b: u32, i: u32, k: u32, others_only: bool) -> u32 {
    var seen = 0u;
    for (var j = 0u; j < params.n; j = j + 1u) {
        if (coop_allowed(b, i, j) && !(others_only && j == i)) {
            if (seen == k) {
                return j;
            }
            seen = seen + 1u;
        }
    }
    return i;
}

// `estimate`: (eq. 7 latency, eq. 4·5 reliability) of sending (s, c) from i to j.
fn coop_estimate(b: u32, i: u32, j: u32, s: f32, c: f32) -> vec2<f32> {
    let n = params.n;
    let w = params.w;
    let xs = 1u + n * w;
    let nd = b * coop_w_node();
    let lk = b * coop_w_link();
    let pb = b * coop_w_pool();
    let xb = b * coop_w_xq();
    var bits = 0.0;
    if (i != j) {
        for (var q1 = 0u; q1 < w; q1 = q1 + 1u) {
            let k = i * w + (params.slot + 1u + q1) % w;
            if ((pool_u[pb + 4u * k] & 0xffu) == COOP_SENDING && pool_u[pb + 4u * k + 1u] == j) {
                bits = pm_keep(bits + pool_f[pb + 4u * k + 2u]);
            }
        }
    }
    var cycles = 0.0;
    let len = min(xq[xb + j * xs], n * w);
    for (var h = 0u; h < len; h = h + 1u) {
        cycles = pm_keep(cycles + pool_f[pb + 4u * min(xq[xb + j * xs + 1u + h], n * w - 1u) + 2u]);
    }
    let f = node[nd + 3u * j + 1u];
    let tc = pm_keep(c / f);
    let tcw = pm_keep(cycles / f);
    let r_node = coop_reliability(node[nd + 3u * j + 2u], tc);
    if (i == j) {
        return vec2<f32>(pm_keep(tcw + tc), r_node);
    }
    let r = link[lk + 2u * (i * n + j)];
    let tt = pm_keep(s / r);
    let ttw = pm_keep(bits / r);
    let lat = pm_keep(pm_keep(pm_keep(ttw + tt) + tcw) + tc);
    return vec2<f32>(lat, pm_keep(r_node * coop_reliability(link[lk + 2u * (i * n + j) + 1u], tt)));
}

// `two_picks`.
fn coop_two_picks(w0: u32, w1: u32, m: u32) -> vec2<u32> {
    let a = rng_uniform_index(w0, m);
    var x = rng_uniform_index(w1, m - 1u);
    if (x >= a) {
        x = x + 1u;
    }
    return vec2<u32>(a, x);
}

//!main g
    let n = params.n;
    if (g >= params.b * n || !coop_params_ok()) {
        return;
    }
    let b = g / n;
    let i = g % n;
    if (arr_u[b * n + i] == 0u) {
        act[g] = n;
        return;
    }
    let w = philox4x32_10(philox_counter(i, b, coop_step_word(params.episode, params.slot), STREAM_COOP_POLICY, 0u),
                          vec2<u32>(params.key0, params.key1));
    let ao = b * 4u * n + 4u * i;
    let s = arr_f[ao];
    let c = arr_f[ao + 1u];
    let xs = 1u + n * params.w;
    var out = i;
    if (params.variant == 0u) {
        var m = 0u;
        for (var j = 0u; j < n; j = j + 1u) {
            m = m + select(0u, 1u, coop_allowed(b, i, j));
        }
        out = coop_kth_allowed(b, i, rng_uniform_index(w.x, m), false);
    } else if (params.variant == 1u) {
        var m = 0u;
        for (var j = 0u; j < n; j = j + 1u) {
            m = m + select(0u, 1u, coop_allowed(b, i, j));
        }
        if (m >= 2u) {
            let ab = coop_two_picks(w.x, w.y, m);
            let x = coop_kth_allowed(b, i, ab.x, false);
            let y = coop_kth_allowed(b, i, ab.y, false);
            let ja = min(x, y);
            let jb = max(x, y);
            let ea = coop_estimate(b, i, ja, s, c);
            let eb = coop_estimate(b, i, jb, s, c);
            let both = ea.x <= params.deadline && eb.x <= params.deadline;
            var pick_b = eb.x < ea.x;
            if (both) {
                pick_b = eb.y > ea.y || (eb.y == ea.y && eb.x < ea.x);
            }
            out = select(ja, jb, pick_b);
        }
    } else {
        if (xq[b * coop_w_xq() + i * xs] >= params.max_queue) {
            var m = 0u;
            for (var j = 0u; j < n; j = j + 1u) {
                m = m + select(0u, 1u, j != i && coop_allowed(b, i, j));
            }
            if (m == 1u) {
                out = coop_kth_allowed(b, i, 0u, true);
            } else if (m >= 2u) {
                let ab = coop_two_picks(w.x, w.y, m);
                let x = coop_kth_allowed(b, i, ab.x, true);
                let y = coop_kth_allowed(b, i, ab.y, true);
                let ja = min(x, y);
                let jb = max(x, y);
                out = select(ja, jb, coop_estimate(b, i, jb, s, c).x < coop_estimate(b, i, ja, s, c).x);
            }
        }
    }
    act[g] = out;
}
