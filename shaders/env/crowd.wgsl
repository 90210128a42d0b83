// crowd: the crowd-edge system of mixed MAPPO (src/env/crowd/{model,cpu}.rs; docs/crowd.md).
// Every function mirrors its Rust namesake operation for operation; float sums run in ascending
// agent / unit / link order, every float operation chain is fenced with pm_keep. The shared part
// holds the parameter block and pure formulas; `crowd_topo` (reads `cell_off`, binding 1 in every
// entry that declares it) and `crowd_cap` (reads `cap`) are spliced in with `//!use`.

struct CrowdParams {
    b: u32,
    n: u32,
    s: u32,
    k: u32,
    r: u32,
    step: u32,
    key0: u32,
    key1: u32,
    policy: u32,
    gap_lo: u32,
    gap_hi: u32,
    _pad0: u32,
    lambda1: f32,
    lambda2: f32,
    lambda3: f32,
    f_md: f32,
    idle_lo: f32,
    idle_hi: f32,
    f_edge: f32,
    f_cloud: f32,
    c_wireless: f32,
    c_wired: f32,
    c_backbone: f32,
    dt: f32,
    alpha: f32,
    beta: f32,
    v_penalty: f32,
    fee_local: f32,
    fee_md: f32,
    fee_edge: f32,
    fee_cloud: f32,
    rate_unit: f32,
    cycles_unit: f32,
    bits_per_mb: f32,
    lv0: f32,
    lv1: f32,
    lv2: f32,
    lv3: f32,
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> params: CrowdParams;

const CROWD_RESET: u32 = 0x41u;
const CROWD_SLOT: u32 = 0x42u;
const CROWD_TASKS: u32 = 0x43u;
const CROWD_DEMAND: u32 = 0x44u;
const CROWD_DATA: u32 = 0x45u;
const CROWD_RANDOM: u32 = 0x46u;

const CROWD_LOCAL: u32 = 0u;
const CROWD_MD: u32 = 1u;
const CROWD_EDGE: u32 = 2u;
const CROWD_CLOUD: u32 = 3u;

struct CrowdTarget {
    unit: u32,
    kind: u32,
    l0: u32,
    l1: u32,
    nl: u32,
}

fn crowd_units() -> u32 {
    return params.n + params.s + 1u;
}

fn crowd_links() -> u32 {
    return params.n + params.s * (params.s - 1u) / 2u + params.s;
}

fn crowd_n_targets() -> u32 {
    return params.k + params.s + 2u;
}

fn crowd_obs_width() -> u32 {
    return 3u + 3u * crowd_n_targets();
}

fn crowd_wired_link(b1: u32, b2: u32) -> u32 {
    let lo = min(b1, b2);
    let hi = max(b1, b2);
    return params.n + lo * params.s - lo * (lo + 1u) / 2u + (hi - lo - 1u);
}

fn crowd_backbone_link(b: u32) -> u32 {
    return params.n + params.s * (params.s - 1u) / 2u + b;
}

fn crowd_link_capacity(l: u32) -> f32 {
    if (l < params.n) {
        return params.c_wireless;
    }
    if (l < params.n + params.s * (params.s - 1u) / 2u) {
        return params.c_wired;
    }
    return params.c_backbone;
}

fn crowd_unit_kind(u: u32) -> u32 {
    if (u < params.n) {
        return CROWD_MD;
    }
    if (u < params.n + params.s) {
        return CROWD_EDGE;
    }
    return CROWD_CLOUD;
}

fn crowd_bottleneck(t: CrowdTarget) -> f32 {
    var c = 0.0;
    if (t.nl > 0u) {
        c = crowd_link_capacity(t.l0);
    }
    if (t.nl > 1u) {
        c = min(c, crowd_link_capacity(t.l1));
    }
    return c;
}

fn crowd_level(r: u32) -> f32 {
    if (r == 0u) {
        return params.lv0;
    }
    if (r == 1u) {
        return params.lv1;
    }
    if (r == 2u) {
        return params.lv2;
    }
    return params.lv3;
}

fn crowd_fee(kind: u32) -> f32 {
    if (kind == CROWD_LOCAL) {
        return params.fee_local;
    }
    if (kind == CROWD_MD) {
        return params.fee_md;
    }
    if (kind == CROWD_EDGE) {
        return params.fee_edge;
    }
    return params.fee_cloud;
}

fn crowd_slot_kind(a: u32) -> u32 {
    if (a == 0u) {
        return CROWD_LOCAL;
    }
    if (a <= params.k) {
        return CROWD_MD;
    }
    if (a <= params.k + params.s) {
        return CROWD_EDGE;
    }
    return CROWD_CLOUD;
}

// (5)
fn crowd_processing_delay(q: f32, s_cycles: f32, f: f32) -> f32 {
    return pm_keep(pm_keep(q + s_cycles) / f);
}

fn crowd_transfer_time(o_bits: f32, x: f32) -> f32 {
    if (o_bits > 0.0 && x > 0.0) {
        return pm_keep(o_bits / x);
    }
    return 0.0;
}

// (7)
fn crowd_cost(e: f32, fee: f32, s_units: f32) -> f32 {
    return pm_keep(pm_keep(params.alpha * e) + pm_keep(pm_keep(params.beta * fee) * s_units));
}

// (22)
fn crowd_dpp_value(ph: f32, d: f32, cb: f32, lv: f32, fee: f32, s_units: f32, o_mb: f32) -> f32 {
    let xu = pm_keep(lv * cb);
    var t = 0.0;
    if (cb > 0.0) {
        t = crowd_transfer_time(pm_keep(o_mb * params.bits_per_mb), pm_keep(xu * params.rate_unit));
    }
    return pm_keep(crowd_cost(pm_keep(ph + t), fee, s_units) + pm_keep(d * xu));
}

fn crowd_delay_estimate(ph: f32, cb: f32, lv: f32, o_mb: f32) -> f32 {
    let xu = pm_keep(lv * cb);
    var t = 0.0;
    if (cb > 0.0) {
        t = crowd_transfer_time(pm_keep(o_mb * params.bits_per_mb), pm_keep(xu * params.rate_unit));
    }
    return pm_keep(ph + t);
}

//!part crowd_topo
fn crowd_cell_of(i: u32) -> u32 {
    var c = 0u;
    loop {
        if (!(c + 1u < params.s && i >= cell_off[c + 1u])) {
            break;
        }
        c = c + 1u;
    }
    return c;
}

fn crowd_neighbor(c: u32, i: u32, k: u32) -> u32 {
    let start = cell_off[c];
    let size = cell_off[c + 1u] - start;
    return start + (i - start + k) % size;
}

fn crowd_target(i: u32, c: u32, a: u32) -> CrowdTarget {
    if (a == 0u) {
        return CrowdTarget(i, CROWD_LOCAL, 0u, 0u, 0u);
    }
    if (a <= params.k) {
        let j = crowd_neighbor(c, i, a);
        return CrowdTarget(j, CROWD_MD, i, j, 2u);
    }
    if (a <= params.k + params.s) {
        let b = a - params.k - 1u;
        if (b == c) {
            return CrowdTarget(params.n + b, CROWD_EDGE, i, 0u, 1u);
        }
        return CrowdTarget(params.n + b, CROWD_EDGE, i, crowd_wired_link(c, b), 2u);
    }
    return CrowdTarget(params.n + params.s, CROWD_CLOUD, i, crowd_backbone_link(c), 2u);
}

// Decoded action of user i: ok = false for an action >= A·R.
struct CrowdDecoded {
    t: CrowdTarget,
    r: u32,
    ok: bool,
}

fn crowd_decode(i: u32, a: u32) -> CrowdDecoded {
    if (a >= crowd_n_targets() * params.r) {
        return CrowdDecoded(CrowdTarget(0u, 0u, 0u, 0u, 0u), 0u, false);
    }
    let c = crowd_cell_of(i);
    return CrowdDecoded(crowd_target(i, c, a / params.r), a % params.r, true);
}

//!part crowd_cap
fn crowd_unit_capacity(g: u32, u: u32) -> f32 {
    if (u < params.n) {
        return cap[g * params.n + u];
    }
    if (u < params.n + params.s) {
        return params.f_edge;
    }
    return params.f_cloud;
}

//!entry crowd_reset
@group(0) @binding(1) var<storage, read_write> ctl: array<u32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> counts: array<u32>;

// One thread per (instance, node j < U + L) (cpu.rs `cpu_reset`).
//!main id
    let un = crowd_units();
    let ln = crowd_links();
    let w = un + ln;
    if (id >= params.b * w) {
        return;
    }
    let g = id / w;
    let j = id % w;
    let key = vec2<u32>(params.key0, params.key1);
    if (j < params.n) {
        let b = philox4x32_10(philox_counter(j, g, params.step, CROWD_RESET, 0u), key);
        ctl[g * params.n + j] = 1u + rng_uniform_index(b.x, params.gap_hi);
    }
    if (j < un) {
        q[g * un + j] = 0.0;
    }
    if (j < ln) {
        v[g * ln + j] = 0.0;
    }
    if (j < 8u) {
        counts[g * 8u + j] = 0u;
    }
}

//!entry crowd_tasks
@group(0) @binding(1) var<storage, read_write> ctl: array<u32>;
@group(0) @binding(2) var<storage, read_write> task: array<u32>;
@group(0) @binding(3) var<storage, read_write> cap: array<f32>;

// One thread per (instance, user) (cpu.rs `user_tasks`).
//!main id
    if (id >= params.b * params.n) {
        return;
    }
    let g = id / params.n;
    let i = id % params.n;
    let key = vec2<u32>(params.key0, params.key1);
    let w = philox4x32_10(philox_counter(i, g, params.step, CROWD_SLOT, 0u), key);
    let span = pm_keep(params.idle_hi - params.idle_lo);
    cap[id] = pm_keep(params.f_md * pm_keep(params.idle_lo + pm_keep(span * rng_uniform(w.x))));
    var c = ctl[id];
    var k = 0u;
    var s = 0u;
    var o = 0u;
    if (c <= 1u) {
        k = rng_poisson(key, philox_counter(i, g, params.step, CROWD_TASKS, 0u), params.lambda1);
        let kf = f32(k);
        s = rng_poisson(key, philox_counter(i, g, params.step, CROWD_DEMAND, 0u), pm_keep(kf * params.lambda2));
        o = rng_poisson(key, philox_counter(i, g, params.step, CROWD_DATA, 0u), pm_keep(kf * params.lambda3));
        c = params.gap_lo + rng_uniform_index(w.y, params.gap_hi - params.gap_lo + 1u);
    } else {
        c = c - 1u;
    }
    ctl[id] = c;
    task[3u * id] = k;
    task[3u * id + 1u] = s;
    task[3u * id + 2u] = o;
}

//!entry crowd_observe
@group(0) @binding(1) var<storage, read> cell_off: array<u32>;
@group(0) @binding(2) var<storage, read> task: array<u32>;
@group(0) @binding(3) var<storage, read> cap: array<f32>;
@group(0) @binding(4) var<storage, read> q: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> obs: array<f32>;

//!use crowd_topo
//!use crowd_cap

// One thread per (instance, user) (cpu.rs `observe_user`).
//!main id
    if (id >= params.b * params.n) {
        return;
    }
    let g = id / params.n;
    let i = id % params.n;
    let un = crowd_units();
    let ln = crowd_links();
    let row = id * crowd_obs_width();
    let c = crowd_cell_of(i);
    let s_c = pm_keep(f32(task[3u * id + 1u]) * params.cycles_unit);
    obs[row] = f32(task[3u * id]);
    obs[row + 1u] = f32(task[3u * id + 1u]);
    obs[row + 2u] = f32(task[3u * id + 2u]);
    for (var a = 0u; a < crowd_n_targets(); a = a + 1u) {
        let t = crowd_target(i, c, a);
        let f = crowd_unit_capacity(g, t.unit);
        let k = row + 3u + 3u * a;
        obs[k] = crowd_processing_delay(q[g * un + t.unit], s_c, f);
        // (14)
        var d = 0.0;
        if (t.nl > 0u) {
            d = pm_keep(d + pm_keep(v[g * ln + t.l0] / crowd_link_capacity(t.l0)));
        }
        if (t.nl > 1u) {
            d = pm_keep(d + pm_keep(v[g * ln + t.l1] / crowd_link_capacity(t.l1)));
        }
        obs[k + 1u] = d;
        obs[k + 2u] = pm_keep(crowd_bottleneck(t) / params.rate_unit);
    }
}

//!entry crowd_state
@group(0) @binding(1) var<storage, read> cap: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;

//!use crowd_cap

// One thread per (instance, feature) (model.rs `state_feature`).
//!main id
    let un = crowd_units();
    let ln = crowd_links();
    let w = un + ln + params.n;
    if (id >= params.b * w) {
        return;
    }
    let g = id / w;
    let f = id % w;
    if (f < un) {
        let c = pm_keep(crowd_unit_capacity(g, f) * params.dt);
        state[id] = pm_ln1p(pm_keep(q[g * un + f] / c));
    } else if (f < un + ln) {
        let k = f - un;
        let c = pm_keep(crowd_link_capacity(k) * params.dt);
        state[id] = pm_ln1p(pm_keep(v[g * ln + k] / c));
    } else {
        state[id] = pm_keep(cap[g * params.n + (f - un - ln)] / params.f_md);
    }
}

//!entry crowd_policy
@group(0) @binding(1) var<storage, read> obs: array<f32>;
@group(0) @binding(2) var<storage, read_write> action: array<u32>;
@group(0) @binding(3) var<storage, read_write> est: array<f32>;

fn crowd_row_value(row: u32, a: u32, r: u32) -> f32 {
    let k = row + 3u + 3u * a;
    return crowd_dpp_value(obs[k], obs[k + 1u], obs[k + 2u], crowd_level(r), crowd_fee(crowd_slot_kind(a)),
                           obs[row + 1u], obs[row + 2u]);
}

// One thread per (instance, user) (cpu.rs `policy_user`).
//!main id
    if (id >= params.b * params.n) {
        return;
    }
    let g = id / params.n;
    let i = id % params.n;
    let row = id * crowd_obs_width();
    if (obs[row] == 0.0) {
        action[id] = 0u;
        est[id] = 0.0;
        return;
    }
    let an = crowd_n_targets();
    if (params.policy == 2u) {
        let w = philox4x32_10(philox_counter(i, g, params.step, CROWD_RANDOM, 0u),
                              vec2<u32>(params.key0, params.key1));
        let a = rng_uniform_index(w.x, an);
        var r = 0u;
        if (a != 0u) {
            r = rng_uniform_index(w.y, params.r);
        }
        action[id] = a * params.r + r;
        est[id] = crowd_row_value(row, a, r);
        return;
    }
    var best_a = 0u;
    var best_r = 0u;
    var best = bitcast<f32>(0x7f800000u);
    if (params.policy == 1u) {
        let top = params.r - 1u;
        for (var a = 0u; a < an; a = a + 1u) {
            let k = row + 3u + 3u * a;
            var r = top;
            if (a == 0u) {
                r = 0u;
            }
            let d = crowd_delay_estimate(obs[k], obs[k + 2u], crowd_level(r), obs[row + 2u]);
            if (d < best) {
                best_a = a;
                best_r = r;
                best = d;
            }
        }
        action[id] = best_a * params.r + best_r;
        est[id] = crowd_row_value(row, best_a, best_r);
        return;
    }
    for (var a = 0u; a < an; a = a + 1u) {
        var levels = params.r;
        if (a == 0u) {
            levels = 1u;
        }
        for (var r = 0u; r < levels; r = r + 1u) {
            let f = crowd_row_value(row, a, r);
            if (f < best) {
                best_a = a;
                best_r = r;
                best = f;
            }
        }
    }
    action[id] = best_a * params.r + best_r;
    est[id] = best;
}

//!entry crowd_load
@group(0) @binding(1) var<storage, read> cell_off: array<u32>;
@group(0) @binding(2) var<storage, read> task: array<u32>;
@group(0) @binding(3) var<storage, read> action: array<u32>;
@group(0) @binding(4) var<storage, read_write> load: array<f32>;

//!use crowd_topo

// One thread per (instance, node j < U + L) (cpu.rs `cpu_load`): the terms of node j in ascending
// agent order, scanning only the agents whose actions can reach it.
//!main id
    let un = crowd_units();
    let ln = crowd_links();
    let w = un + ln;
    if (id >= params.b * w) {
        return;
    }
    let g = id / w;
    let j = id % w;
    let is_unit = j < un;
    var node = j;
    if (!is_unit) {
        node = j - un;
    }
    var lo0 = 0u;
    var hi0 = params.n;
    var lo1 = 0u;
    var hi1 = 0u;
    let wired_end = params.n + params.s * (params.s - 1u) / 2u;
    if (node < params.n) {
        let c = crowd_cell_of(node);
        let start = cell_off[c];
        let size = cell_off[c + 1u] - start;
        let d = node - start;
        let back = min(d, params.k);
        lo0 = start + d - back;
        hi0 = node + 1u;
        if (params.k > back) {
            lo1 = start + size - (params.k - back);
            hi1 = start + size;
        }
    } else if (!is_unit && node < wired_end) {
        var b1 = 0u;
        loop {
            if (!(b1 + 2u < params.s && node >= crowd_wired_link(b1 + 1u, b1 + 2u))) {
                break;
            }
            b1 = b1 + 1u;
        }
        let b2 = b1 + 1u + (node - crowd_wired_link(b1, b1 + 1u));
        lo0 = cell_off[b1];
        hi0 = cell_off[b1 + 1u];
        lo1 = cell_off[b2];
        hi1 = cell_off[b2 + 1u];
    } else if (!is_unit) {
        let b = node - wired_end;
        lo0 = cell_off[b];
        hi0 = cell_off[b + 1u];
    }
    var sum = 0.0;
    for (var part = 0u; part < 2u; part = part + 1u) {
        var lo = lo0;
        var hi = hi0;
        if (part == 1u) {
            lo = lo1;
            hi = hi1;
        }
        for (var i = lo; i < hi; i = i + 1u) {
            let gi = g * params.n + i;
            if (task[3u * gi] == 0u) {
                continue;
            }
            let dec = crowd_decode(i, action[gi]);
            if (!dec.ok) {
                continue;
            }
            let t = dec.t;
            if (is_unit) {
                if (t.unit == node) {
                    sum = pm_keep(sum + pm_keep(f32(task[3u * gi + 1u]) * params.cycles_unit));
                }
            } else if ((t.nl > 0u && t.l0 == node) || (t.nl > 1u && t.l1 == node)) {
                sum = pm_keep(sum + pm_keep(crowd_level(dec.r) * crowd_bottleneck(t)));
            }
        }
    }
    load[id] = sum;
}

//!entry crowd_outcome
@group(0) @binding(1) var<storage, read> cell_off: array<u32>;
@group(0) @binding(2) var<storage, read> task: array<u32>;
@group(0) @binding(3) var<storage, read> cap: array<f32>;
@group(0) @binding(4) var<storage, read> q: array<f32>;
@group(0) @binding(5) var<storage, read> action: array<u32>;
@group(0) @binding(6) var<storage, read> load: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

//!use crowd_topo
//!use crowd_cap

// One thread per (instance, user) (cpu.rs `outcome_user`).
//!main id
    if (id >= params.b * params.n) {
        return;
    }
    let g = id / params.n;
    let i = id % params.n;
    let un = crowd_units();
    let ln = crowd_links();
    if (task[3u * id] == 0u) {
        out[2u * id] = 0.0;
        out[2u * id + 1u] = 0.0;
        return;
    }
    let dec = crowd_decode(i, action[id]);
    if (!dec.ok) {
        out[2u * id] = pm_nan();
        out[2u * id + 1u] = pm_nan();
        return;
    }
    let t = dec.t;
    let s_units = f32(task[3u * id + 1u]);
    let s_c = pm_keep(s_units * params.cycles_unit);
    let f = crowd_unit_capacity(g, t.unit);
    let ph = crowd_processing_delay(q[g * un + t.unit], s_c, f);
    var e = ph;
    if (t.nl > 0u) {
        let x = pm_keep(crowd_level(dec.r) * crowd_bottleneck(t));
        // (1)
        var share = 1.0;
        let base = g * (un + ln) + un;
        for (var k = 0u; k < t.nl; k = k + 1u) {
            var l = t.l0;
            if (k == 1u) {
                l = t.l1;
            }
            let xs = load[base + l];
            let c = crowd_link_capacity(l);
            if (xs > c) {
                share = min(share, pm_keep(c / xs));
            }
        }
        let xbar = pm_keep(x * share);
        e = pm_keep(ph + crowd_transfer_time(pm_keep(f32(task[3u * id + 2u]) * params.bits_per_mb), xbar));
    }
    out[2u * id] = e;
    out[2u * id + 1u] = crowd_cost(e, crowd_fee(t.kind), s_units);
}

//!entry crowd_finish
@group(0) @binding(1) var<storage, read> cell_off: array<u32>;
@group(0) @binding(2) var<storage, read> task: array<u32>;
@group(0) @binding(3) var<storage, read> cap: array<f32>;
@group(0) @binding(4) var<storage, read> action: array<u32>;
@group(0) @binding(5) var<storage, read> out: array<f32>;
@group(0) @binding(6) var<storage, read> load: array<f32>;
@group(0) @binding(7) var<storage, read_write> q: array<f32>;
@group(0) @binding(8) var<storage, read_write> v: array<f32>;
@group(0) @binding(9) var<storage, read_write> reward: array<f32>;
@group(0) @binding(10) var<storage, read_write> slot: array<f32>;
@group(0) @binding(11) var<storage, read_write> counts: array<u32>;

//!use crowd_topo
//!use crowd_cap

// One thread per instance (cpu.rs `finish_instance`).
//!main g
    if (g >= params.b) {
        return;
    }
    let n = params.n;
    let s = params.s;
    let un = crowd_units();
    let ln = crowd_links();
    let cb = 8u * g;
    var sum_cost = 0.0;
    var sum_e = 0.0;
    var sum_o = 0.0;
    var bundles = 0.0;
    var bad = false;
    for (var i = 0u; i < n; i = i + 1u) {
        let gi = g * n + i;
        let k = task[3u * gi];
        if (k == 0u) {
            continue;
        }
        counts[cb] = counts[cb] + k;
        let dec = crowd_decode(i, action[gi]);
        if (!dec.ok) {
            counts[cb + 5u] = counts[cb + 5u] + k;
            bad = true;
            continue;
        }
        counts[cb + 1u + dec.t.kind] = counts[cb + 1u + dec.t.kind] + k;
        counts[cb + 6u] = counts[cb + 6u] + 1u;
        sum_cost = pm_keep(sum_cost + out[2u * gi + 1u]);
        sum_e = pm_keep(sum_e + out[2u * gi]);
        sum_o = pm_keep(sum_o + f32(task[3u * gi + 2u]));
        bundles = pm_keep(bundles + 1.0);
    }
    counts[cb + 7u] = counts[cb + 7u] + 1u;
    var drift = 0.0;
    var in_bits = 0.0;
    var served_bits = 0.0;
    var lr0 = 0.0;
    var lr1 = 0.0;
    var lr2 = 0.0;
    let wired_end = n + s * (s - 1u) / 2u;
    let lbase = g * (un + ln) + un;
    for (var l = 0u; l < ln; l = l + 1u) {
        let c = crowd_link_capacity(l);
        let x = load[lbase + l];
        let vl = v[g * ln + l];
        drift = pm_keep(drift + pm_keep(pm_keep(vl / params.rate_unit) * pm_keep(pm_keep(x - c) / params.rate_unit)));
        let xdt = pm_keep(x * params.dt);
        let tot = pm_keep(vl + xdt);
        let svc = pm_keep(c * params.dt);
        let next = max(pm_keep(tot - svc), 0.0);
        v[g * ln + l] = next;
        in_bits = pm_keep(in_bits + xdt);
        served_bits = pm_keep(served_bits + min(tot, svc));
        let rate = pm_keep(next / svc);
        if (l < n) {
            lr0 = pm_keep(lr0 + rate);
        } else if (l < wired_end) {
            lr1 = pm_keep(lr1 + rate);
        } else {
            lr2 = pm_keep(lr2 + rate);
        }
    }
    var in_cycles = 0.0;
    var served_cycles = 0.0;
    var ur0 = 0.0;
    var ur1 = 0.0;
    var ur2 = 0.0;
    for (var u = 0u; u < un; u = u + 1u) {
        let f = crowd_unit_capacity(g, u);
        let a = load[g * (un + ln) + u];
        let tot = pm_keep(q[g * un + u] + a);
        let svc = pm_keep(f * params.dt);
        let next = max(pm_keep(tot - svc), 0.0);
        q[g * un + u] = next;
        in_cycles = pm_keep(in_cycles + a);
        served_cycles = pm_keep(served_cycles + min(tot, svc));
        let rate = pm_keep(next / svc);
        let kind = crowd_unit_kind(u);
        if (kind == CROWD_MD) {
            ur0 = pm_keep(ur0 + rate);
        } else if (kind == CROWD_EDGE) {
            ur1 = pm_keep(ur1 + rate);
        } else {
            ur2 = pm_keep(ur2 + rate);
        }
    }
    var rw = -pm_keep(pm_keep(params.v_penalty * sum_cost) + drift);
    if (bad) {
        rw = pm_nan();
    }
    reward[g] = rw;
    let wired = s * (s - 1u) / 2u;
    let m = 16u * g;
    slot[m] = rw;
    slot[m + 1u] = sum_cost;
    slot[m + 2u] = sum_e;
    slot[m + 3u] = sum_o;
    slot[m + 4u] = bundles;
    slot[m + 5u] = pm_keep(ur0 / f32(n));
    slot[m + 6u] = pm_keep(ur1 / f32(s));
    slot[m + 7u] = ur2;
    slot[m + 8u] = pm_keep(lr0 / f32(n));
    var e2e = 0.0;
    if (wired > 0u) {
        e2e = pm_keep(lr1 / f32(wired));
    }
    slot[m + 9u] = e2e;
    slot[m + 10u] = pm_keep(lr2 / f32(s));
    slot[m + 11u] = in_cycles;
    slot[m + 12u] = served_cycles;
    slot[m + 13u] = in_bits;
    slot[m + 14u] = served_bits;
    slot[m + 15u] = drift;
}
