// endedge: the CRB-DRQN queueing system (src/env/endedge/{mod,model}.rs), one invocation per
// (instance, terminal) — or per (instance, server) for endedge_load. The queue rules mirror
// model.rs operation for operation; WGSL cannot pass storage buffers to functions, so the ring
// helpers read the bindings at the terminal's offset `o` (parts `ee_ring` and `ee_queued`).

struct EndedgeParams {
    b: u32,
    d: u32,
    e: u32,
    w: u32,
    tau: u32,
    c: u32,
    ew: u32,
    t: u32,
    key0: u32,
    key1: u32,
    semantics: u32,
    policy: u32,
    size_levels: u32,
    arrive_until: u32,
    _pad0: u32,
    _pad1: u32,
    local_cap: f32,
    edge_cap: f32,
    tran_cap: f32,
    p_arrive: f32,
    size_min: f32,
    size_step: f32,
    drop_reward: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> params: EndedgeParams;

const EE_KIND_LOCAL: u32 = 1u;
const EE_KIND_TRAN: u32 = 2u;
const EE_KIND_EDGE: u32 = 3u;
const EE_STARTED: u32 = 0x80000000u;
const EE_RES_DONE: u32 = 0x40000000u;
const EE_RES_DROP: u32 = 0x80000000u;
const EE_RES_INVALID: u32 = 0xc0000000u;
const EE_STREAM_ARRIVAL: u32 = 20u;
const EE_STREAM_POLICY: u32 = 21u;
const EE_NONE: u32 = 0xffffffffu;

fn ee_kind(a: u32) -> u32 {
    return a & 3u;
}

fn ee_server(a: u32) -> u32 {
    return (a & ~EE_STARTED) >> 2u;
}

fn ee_ring(t: u32, w: u32, i: u32) -> u32 {
    return (t + 1u + i) % w;
}

// model::slots_for: ceil(x / cap) capped at tau.
fn ee_slots_for(x: f32, cap: f32, tau: u32) -> u32 {
    let q = pm_keep(x / cap);
    if (q >= f32(tau)) {
        return tau;
    }
    return u32(ceil(q));
}

// model::predict
fn ee_predict(prev: u32, t: u32, eta: f32, cap: f32, tau: u32) -> u32 {
    return min(max(prev, t) + ee_slots_for(eta, cap, tau), t + tau);
}

//!part ee_queued
// model::queued_at for the terminal whose ring starts at o.
fn ee_queued_at(o: u32, t: u32, w: u32, e: u32) -> f32 {
    var q = 0.0;
    for (var i = 0u; i < w; i = i + 1u) {
        let k = o + ee_ring(t, w, i);
        if (ee_kind(at[k]) == EE_KIND_EDGE && ee_server(at[k]) == e) {
            q = pm_keep(q + rem[k]);
        }
    }
    return q;
}

//!part ee_ring
var<private> ee_o: u32;
var<private> ee_i: u32;

fn ee_resolve(k: u32, word: u32) {
    at[ee_o + k] = 0u;
    result[ee_o + k] = word;
    let a = 4u * ee_i;
    if ((word & 0xc0000000u) == EE_RES_DONE) {
        acc[a + 1u] = acc[a + 1u] + 1u;
        acc[a + 3u] = acc[a + 3u] + (word & 0x3fffffffu);
    } else {
        acc[a + 2u] = acc[a + 2u] + 1u;
    }
}

// model::serve with is_key = (kind == want) (want 0: the given entry only).
fn ee_serve(cur_in: u32, cap: f32, computes: bool, want: u32) -> u32 {
    let t = params.t;
    let w = params.w;
    let o = ee_o;
    var cur = cur_in;
    if (cur == EE_NONE) {
        for (var i = 0u; i < w; i = i + 1u) {
            let k = ee_ring(t, w, i);
            if (at[o + k] != 0u && ee_kind(at[o + k]) == want) {
                if (t - arr[o + k] < params.tau) {
                    at[o + k] = at[o + k] | EE_STARTED;
                    cur = k;
                    break;
                }
                ee_resolve(k, EE_RES_DROP | params.tau);
            }
        }
    }
    if (cur == EE_NONE) {
        return EE_NONE;
    }
    let k = cur;
    let r = pm_keep(rem[o + k] - cap);
    rem[o + k] = r;
    let age = t - arr[o + k] + 1u;
    if (r <= 0.0) {
        if (computes) {
            ee_resolve(k, EE_RES_DONE | age);
        }
        return k;
    }
    if (age == params.tau) {
        ee_resolve(k, EE_RES_DROP | params.tau);
    }
    return EE_NONE;
}

fn ee_started(want: u32) -> u32 {
    for (var k = 0u; k < params.w; k = k + 1u) {
        let a = at[ee_o + k];
        if ((a & EE_STARTED) != 0u && ee_kind(a) == want) {
            return k;
        }
    }
    return EE_NONE;
}

// model::slot after model::admit; m of this instance starts at mo.
fn ee_slot(mo: u32) {
    let t = params.t;
    let w = params.w;
    let o = ee_o;
    ee_serve(ee_started(EE_KIND_LOCAL), params.local_cap, true, EE_KIND_LOCAL);
    var heads = 0u;
    for (var i = 0u; i < w; i = i + 1u) {
        let k = ee_ring(t, w, i);
        let a = at[o + k];
        if (ee_kind(a) != EE_KIND_EDGE) {
            continue;
        }
        let e = ee_server(a);
        var taken = false;
        for (var j = 0u; j < w; j = j + 1u) {
            if (((heads >> j) & 1u) != 0u && ee_server(at[o + j]) == e) {
                taken = true;
            }
        }
        if (taken) {
            continue;
        }
        if ((a & EE_STARTED) == 0u) {
            if (t - arr[o + k] >= params.tau) {
                ee_resolve(k, EE_RES_DROP | params.tau);
                continue;
            }
            at[o + k] = a | EE_STARTED;
        }
        heads = heads | (1u << k);
    }
    for (var k = 0u; k < w; k = k + 1u) {
        if (((heads >> k) & 1u) == 0u) {
            continue;
        }
        let me = m[mo + ee_server(at[o + k])];
        let share = pm_keep(params.edge_cap / f32(max(me, 1u)));
        ee_serve(k, share, true, 0u);
    }
    let k = ee_serve(ee_started(EE_KIND_TRAN), params.tran_cap, false, EE_KIND_TRAN);
    if (k != EE_NONE) {
        if (params.semantics != 0u && t - arr[o + k] + 1u >= params.tau) {
            ee_resolve(k, EE_RES_DROP | params.tau);
        } else {
            at[o + k] = EE_KIND_EDGE | (ee_server(at[o + k]) << 2u);
            rem[o + k] = size[o + k];
        }
    }
}

//!entry endedge_arrive
@group(0) @binding(1) var<storage, read_write> eta: array<f32>;

//!main i
    if (i >= params.b * params.d) {
        return;
    }
    var v = 0.0;
    if (params.t < params.arrive_until) {
        let ctr = philox_counter(i % params.d, i / params.d, params.t, EE_STREAM_ARRIVAL, 0u);
        let x = philox4x32_10(ctr, vec2<u32>(params.key0, params.key1));
        if (rng_uniform(x.x) < params.p_arrive) {
            v = pm_mad(params.size_step, f32(rng_uniform_index(x.y, params.size_levels)), params.size_min);
        }
    }
    eta[i] = v;
}

//!entry endedge_policy
@group(0) @binding(1) var<storage, read> eta: array<f32>;
@group(0) @binding(2) var<storage, read> pred: array<u32>;
@group(0) @binding(3) var<storage, read> rem: array<f32>;
@group(0) @binding(4) var<storage, read> at: array<u32>;
@group(0) @binding(5) var<storage, read> m: array<u32>;
@group(0) @binding(6) var<storage, read_write> action: array<u32>;

//!use ee_queued

//!main i
    if (i >= params.b * params.d) {
        return;
    }
    let b = i / params.d;
    let d = i % params.d;
    let t = params.t;
    let x = eta[i];
    var out = 0u;
    if (x > 0.0 && params.policy == 1u) {
        let r = philox4x32_10(philox_counter(d, b, t, EE_STREAM_POLICY, 0u), vec2<u32>(params.key0, params.key1));
        out = rng_uniform_index(r.x, params.e + 1u);
    } else if (x > 0.0 && params.policy == 2u) {
        let o = i * params.w;
        let pc = pred[2u * i];
        let pt = pred[2u * i + 1u];
        var best = select(0u, pc - t, pc > t) + ee_slots_for(x, params.local_cap, params.tau);
        let up = select(0u, pt - t, pt > t) + ee_slots_for(x, params.tran_cap, params.tau);
        for (var e = 0u; e < params.e; e = e + 1u) {
            let q = ee_queued_at(o, t, params.w, e);
            let n = max(m[b * params.e + e] + select(0u, 1u, q <= 0.0), 1u);
            let share = pm_keep(params.edge_cap / f32(n));
            let est = up + ee_slots_for(pm_keep(q + x), share, params.tau);
            if (est < best) {
                best = est;
                out = e + 1u;
            }
        }
    }
    action[i] = out;
}

//!entry endedge_step
@group(0) @binding(1) var<storage, read> eta: array<f32>;
@group(0) @binding(2) var<storage, read> action: array<u32>;
@group(0) @binding(3) var<storage, read> m: array<u32>;
@group(0) @binding(4) var<storage, read_write> size: array<f32>;
@group(0) @binding(5) var<storage, read_write> rem: array<f32>;
@group(0) @binding(6) var<storage, read_write> arr: array<u32>;
@group(0) @binding(7) var<storage, read_write> at: array<u32>;
@group(0) @binding(8) var<storage, read_write> result: array<u32>;
@group(0) @binding(9) var<storage, read_write> pred: array<u32>;
@group(0) @binding(10) var<storage, read_write> acc: array<u32>;
@group(0) @binding(11) var<storage, read_write> nonempty: array<u32>;

//!use ee_ring

//!main i
    if (i >= params.b * params.d) {
        return;
    }
    ee_i = i;
    ee_o = i * params.w;
    let o = ee_o;
    let x = eta[i];
    let a = action[i];
    let t = params.t;
    let k = t % params.w;
    if (!(x >= 0.0) || (x > 0.0 && a > params.e)) {
        // refused by the host API; never read out of bounds: count it as dropped
        at[o + k] = 0u;
        arr[o + k] = t;
        acc[4u * i] = acc[4u * i] + 1u;
        ee_resolve(k, EE_RES_INVALID);
    } else if (x > 0.0) {
        size[o + k] = x;
        rem[o + k] = x;
        arr[o + k] = t;
        result[o + k] = 0u;
        acc[4u * i] = acc[4u * i] + 1u;
        if (a == 0u) {
            at[o + k] = EE_KIND_LOCAL;
            pred[2u * i] = ee_predict(pred[2u * i], t, x, params.local_cap, params.tau);
        } else {
            at[o + k] = EE_KIND_TRAN | ((a - 1u) << 2u);
            pred[2u * i + 1u] = ee_predict(pred[2u * i + 1u], t, x, params.tran_cap, params.tau);
        }
    }
    ee_slot((i / params.d) * params.e);
    let ao = i * params.ew;
    for (var j = 0u; j < params.ew; j = j + 1u) {
        nonempty[ao + j] = 0u;
    }
    for (var kk = 0u; kk < params.w; kk = kk + 1u) {
        let v = at[o + kk];
        if (ee_kind(v) == EE_KIND_EDGE) {
            let e = ee_server(v);
            nonempty[ao + (e >> 5u)] = nonempty[ao + (e >> 5u)] | (1u << (e & 31u));
        }
    }
}

//!entry endedge_load
@group(0) @binding(1) var<storage, read> nonempty: array<u32>;
@group(0) @binding(2) var<storage, read_write> m: array<u32>;
@group(0) @binding(3) var<storage, read_write> load: array<u32>;

//!main i
    if (i >= params.b * params.e) {
        return;
    }
    let b = i / params.e;
    let e = i % params.e;
    var n = 0u;
    for (var d = 0u; d < params.d; d = d + 1u) {
        n = n + ((nonempty[(b * params.d + d) * params.ew + (e >> 5u)] >> (e & 31u)) & 1u);
    }
    m[i] = n;
    let l = b * params.c * params.e;
    for (var r = 0u; r + 1u < params.c; r = r + 1u) {
        load[l + r * params.e + e] = load[l + (r + 1u) * params.e + e];
    }
    load[l + (params.c - 1u) * params.e + e] = n;
}

//!entry endedge_observe
@group(0) @binding(1) var<storage, read> eta: array<f32>;
@group(0) @binding(2) var<storage, read> pred: array<u32>;
@group(0) @binding(3) var<storage, read> rem: array<f32>;
@group(0) @binding(4) var<storage, read> at: array<u32>;
@group(0) @binding(5) var<storage, read_write> obs: array<f32>;
@group(0) @binding(6) var<storage, read_write> mask: array<u32>;

//!main i
    if (i >= params.b * params.d) {
        return;
    }
    let t = params.t;
    let w = params.w;
    let oo = i * (3u + params.e);
    let mo = i * (1u + params.e);
    let pc = pred[2u * i];
    let pt = pred[2u * i + 1u];
    obs[oo] = eta[i];
    obs[oo + 1u] = f32(select(0u, pc - t, pc > t));
    obs[oo + 2u] = f32(select(0u, pt - t, pt > t));
    for (var e = 0u; e < params.e; e = e + 1u) {
        obs[oo + 3u + e] = 0.0;
    }
    let o = i * w;
    for (var j = 0u; j < w; j = j + 1u) {
        let k = o + ee_ring(t, w, j);
        if (ee_kind(at[k]) == EE_KIND_EDGE) {
            let s = oo + 3u + ee_server(at[k]);
            obs[s] = pm_keep(obs[s] + rem[k]);
        }
    }
    let any = select(0u, 1u, eta[i] > 0.0);
    mask[mo] = 1u;
    for (var e = 0u; e < params.e; e = e + 1u) {
        mask[mo + 1u + e] = any;
    }
}

//!entry endedge_reward
@group(0) @binding(1) var<storage, read> acc: array<u32>;
@group(0) @binding(2) var<storage, read_write> prev: array<u32>;
@group(0) @binding(3) var<storage, read_write> reward: array<f32>;

// One thread per (instance, terminal) (cpu.rs `cpu_reward`): -(delay slots finished in the slot)
// + Const x (tasks dropped in the slot), then prev takes the counters.
//!main i
    if (i >= params.b * params.d) {
        return;
    }
    let delay = acc[4u * i + 3u] - prev[2u * i];
    let dropped = acc[4u * i + 2u] - prev[2u * i + 1u];
    reward[i] = pm_keep(-f32(delay) + pm_keep(params.drop_reward * f32(dropped)));
    prev[2u * i] = acc[4u * i + 3u];
    prev[2u * i + 1u] = acc[4u * i + 2u];
}

//!entry endedge_state
@group(0) @binding(1) var<storage, read> load: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;

// One thread per word of Load(t) [B, C, E] (cpu.rs `cpu_state`).
//!main i
    if (i >= params.b * params.c * params.e) {
        return;
    }
    state[i] = f32(load[i]);
}

//!entry endedge_credit
@group(0) @binding(1) var<storage, read> result: array<u32>;
@group(0) @binding(2) var<storage, read> arrived: array<f32>;
@group(0) @binding(3) var<storage, read_write> reward: array<f32>;

// One thread per (instance, terminal) (cpu.rs `cpu_credit`), params.t = the arrival slot a: the
// reward of the task that arrived at a (-delay when done, Const otherwise; 0 without a task).
//!main i
    let n = params.b * params.d;
    if (i >= n) {
        return;
    }
    let row = params.t * n + i;
    var r = 0.0;
    if (arrived[row] > 0.0) {
        let res = result[i * params.w + params.t % params.w];
        if ((res & EE_RES_INVALID) == EE_RES_DONE) {
            r = -f32(res & 0x3fffffffu);
        } else {
            r = params.drop_reward;
        }
    }
    reward[row] = r;
}
