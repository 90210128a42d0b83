// dag: makespan of offloading plans and the exhaustive optimum over padded DAG batches
// (src/env/dag/batch.rs). Everything is indexed by rank position; the operation order (max, then
// one addition per finish time) mirrors `makespan` there. Every addition is fenced with pm_keep
// (Mesa may otherwise reassociate the chains of additions through the finish-time registers).
//
// The reduce entry binds different buffers at 1.., so the graph bindings and `dag_eval` live in
// the dag_makespan and dag_optimal sections: the two copies of `dag_eval` are identical; only
// `dag_bit` (where the decision of position k comes from) differs.

struct DagParams {
    b: u32,
    n_max: u32,
    e_max: u32,
    p: u32,
    semantics: u32,
    chunks: u32,
    scaled: u32,
    emb: u32,
}

@group(0) @binding(0) var<uniform> params: DagParams;

// The largest task count of the exhaustive kernel (plan indices are 32-bit).
const DAG_MAX_EXHAUSTIVE: u32 = 30u;

// Set when llvmpipe's loop limit cut a loop short (see dag_eval): the result is then NaN.
var<private> dag_cut: bool;

// `chunk_range`: plan indices [lo, hi) of chunk c of `chunks` (>= 1) for n <= 30 tasks, without
// 32-bit overflow for any c < chunks.
fn dag_chunk_range(n: u32, c: u32, chunks: u32) -> vec2<u32> {
    let total = 1u << n;
    var per = total / chunks;
    if (total % chunks != 0u) {
        per = per + 1u;
    }
    var lo = total;
    if (c < total) {
        lo = min(c * per, total);
    }
    var hi = total;
    if (c + 1u < total) {
        hi = min((c + 1u) * per, total);
    }
    return vec2<u32>(lo, hi);
}

//!part dag_position
// Resource availabilities and running spans after a prefix of decisions (batch.rs `F32State`).
struct DagState {
    a_ue: f32,
    a_up: f32,
    a_mec: f32,
    a_down: f32,
    current: f32,
    t: f32,
}

// `position` of batch.rs: decide rank position k of graph g (`off` = offload), writing its four
// finish times at ft[fb + 4k ..]. Parent offsets are clamped to E and parent positions to N - 1
// (never out of bounds). One fused pass over the parents (each of the three maxima in its own
// order: bit-identical, max is exact): llvmpipe (lavapipe) ends every loop of an invocation once
// 65,535 iterations of all its loops together have run, so loops are kept few; a loop cut short
// sets `dag_cut`. Every addition is fenced with pm_keep.
fn dag_position(g: u32, k: u32, fb: u32, off: bool, s0: DagState) -> DagState {
    let n_max = params.n_max;
    let e_max = params.e_max;
    let sem = params.semantics;
    let c = g * n_max * 4u + 4u * k;
    let fk = fb + 4u * k;
    let lo = g * e_max + min(par_off[g * (n_max + 1u) + k], e_max);
    let hi = g * e_max + min(par_off[g * (n_max + 1u) + k + 1u], e_max);
    var s = s0;
    var ready = 0.0; // max over parents of (local finish, download finish)
    var ready_up = 0.0; // max over parents of (local finish, upload finish)
    var ready_mec = 0.0; // max over parents of MEC finish
    var e = lo;
    for (; e < hi; e = e + 1u) {
        let j = fb + 4u * min(par_idx[e], n_max - 1u);
        let lf = ft[j];
        ready = max(ready, max(lf, ft[j + 3u]));
        ready_up = max(ready_up, max(lf, ft[j + 1u]));
        ready_mec = max(ready_mec, ft[j + 2u]);
    }
    if (e < hi) {
        dag_cut = true;
    }
    var fin = 0.0;
    if (!off) {
        let f = pm_keep(max(s.a_ue, ready) + cost[c]);
        ft[fk] = f;
        ft[fk + 1u] = 0.0;
        ft[fk + 2u] = 0.0;
        ft[fk + 3u] = 0.0;
        if (sem == 0u) {
            s.a_ue = f;
        } else {
            s.a_ue = max(s.a_ue, f);
        }
        fin = f;
    } else {
        var up_start = max(s.a_up, ready);
        if (sem == 0u) {
            up_start = max(s.a_up, ready_up);
        }
        let up = pm_keep(up_start + cost[c + 1u]);
        if (sem != 0u) {
            s.a_up = max(s.a_up, up);
        } else if (hi > lo) {
            s.a_up = up; // entry tasks leave the uplink free (published code)
        }
        let mec = pm_keep(max(s.a_mec, max(up, ready_mec)) + cost[c + 2u]);
        var down_start = mec;
        if (sem == 0u) {
            s.a_mec = mec;
        } else {
            s.a_mec = max(s.a_mec, mec);
            down_start = max(s.a_down, mec);
        }
        let down = pm_keep(down_start + cost[c + 3u]);
        if (sem != 0u) {
            s.a_down = max(s.a_down, down);
        }
        ft[fk] = 0.0;
        ft[fk + 1u] = up;
        ft[fk + 2u] = mec;
        ft[fk + 3u] = down;
        fin = down;
    }
    s.current = max(s.current, fin);
    if (exit[g * n_max + k] != 0u) {
        s.t = max(s.t, fin);
    }
    return s;
}

//!part dag_eval
// `makespan` of batch.rs for graph g with n (<= n_max) tasks; ft at fb (4 n_max words).
fn dag_eval(g: u32, n: u32, fb: u32, plan: u32) -> f32 {
    var s = DagState(0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    var k = 0u;
    for (; k < n; k = k + 1u) {
        s = dag_position(g, k, fb, dag_bit(plan, n, k), s);
    }
    if (k < n) {
        dag_cut = true;
    }
    if (params.semantics == 0u) {
        return s.current;
    }
    return s.t;
}

// One thread per (graph, plan): t = g P + q.
//!part dag_reward
// The running span the reward follows (reference: the running makespan; paper: the exit tasks'
// maximum) and the reward of one decision, -ΔT_c (§4.2), min-max scaled when params.scaled
// (step.rs `reward_of`). Uses the entry's `scale` binding.
fn dag_span(s: DagState) -> f32 {
    if (params.semantics != 0u) {
        return s.t;
    }
    return s.current;
}

fn dag_reward(g: u32, before: f32, after: f32) -> f32 {
    let delta = pm_keep(after - before);
    if (params.scaled != 0u) {
        let hi = scale[2u * g];
        let lo = scale[2u * g + 1u];
        return -(pm_keep(delta - lo) / pm_keep(hi - lo));
    }
    return -delta;
}

//!entry dag_makespan
@group(0) @binding(1) var<storage, read> n_tasks: array<u32>;
@group(0) @binding(2) var<storage, read> cost: array<f32>;
@group(0) @binding(3) var<storage, read> par_off: array<u32>;
@group(0) @binding(4) var<storage, read> par_idx: array<u32>;
@group(0) @binding(5) var<storage, read> exit: array<u32>;
@group(0) @binding(6) var<storage, read> plans: array<u32>;
@group(0) @binding(7) var<storage, read_write> ft: array<f32>;
@group(0) @binding(8) var<storage, read_write> makespan: array<f32>;

// Decision of position k: the plan row starting at `plan`.
fn dag_bit(plan: u32, n: u32, k: u32) -> bool {
    return plans[plan + k] != 0u;
}

//!use dag_position
//!use dag_eval

//!main t
    let pp = params.p;
    if (t >= params.b * pp) {
        return;
    }
    let g = t / pp;
    let n = min(n_tasks[g], params.n_max);
    var m = dag_eval(g, n, t * params.n_max * 4u, t * params.n_max);
    if (dag_cut) {
        m = pm_nan();
    }
    makespan[t] = m;
}

//!entry dag_optimal
@group(0) @binding(1) var<storage, read> n_tasks: array<u32>;
@group(0) @binding(2) var<storage, read> cost: array<f32>;
@group(0) @binding(3) var<storage, read> par_off: array<u32>;
@group(0) @binding(4) var<storage, read> par_idx: array<u32>;
@group(0) @binding(5) var<storage, read> exit: array<u32>;
@group(0) @binding(6) var<storage, read_write> ft: array<f32>;
@group(0) @binding(7) var<storage, read_write> partial: array<u32>;

// Decision of position k: bit n-1-k of the plan index (n <= 30).
fn dag_bit(plan: u32, n: u32, k: u32) -> bool {
    return ((plan >> (n - 1u - k)) & 1u) != 0u;
}

//!use dag_position
//!use dag_eval

//!main t
    let chunks = max(params.chunks, 1u);
    if (t >= params.b * chunks) {
        return;
    }
    let g = t / chunks;
    let raw = n_tasks[g];
    var best = pm_inf();
    var best_idx = 0xffffffffu;
    if (raw <= DAG_MAX_EXHAUSTIVE) {
        let n = min(raw, params.n_max);
        let r = dag_chunk_range(n, t % chunks, chunks);
        let fb = t * params.n_max * 4u;
        var idx = r.x;
        for (; idx < r.y; idx = idx + 1u) {
            let m = dag_eval(g, n, fb, idx);
            if (m < best) {
                best = m;
                best_idx = idx;
            }
        }
        if (idx < r.y || dag_cut) {
            best = pm_nan(); // llvmpipe's loop limit: launch more chunks
        }
    }
    partial[2u * t] = bitcast<u32>(best);
    partial[2u * t + 1u] = best_idx;
}

//!entry dag_optimal_reduce
@group(0) @binding(1) var<storage, read> partial: array<u32>;
@group(0) @binding(2) var<storage, read_write> best: array<u32>;

// One thread per graph: the smallest makespan over the chunks, ties to the smaller plan index.
//!main g
    if (g >= params.b) {
        return;
    }
    let chunks = max(params.chunks, 1u);
    var m = pm_inf();
    var mi = 0xffffffffu;
    for (var c = 0u; c < chunks; c = c + 1u) {
        let o = 2u * (g * chunks + c);
        let v = bitcast<f32>(partial[o]);
        let i = partial[o + 1u];
        if (v < m || (v == m && i < mi)) {
            m = v;
            mi = i;
        }
    }
    best[2u * g] = bitcast<u32>(m);
    best[2u * g + 1u] = mi;
}

//!entry dag_reset
@group(0) @binding(1) var<storage, read> n_tasks: array<u32>;
@group(0) @binding(2) var<storage, read_write> ctl: array<u32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> plan: array<u32>;

// One thread per graph (mdp.rs `cpu_reset`): position 0, running (done for an empty graph), zero
// state, every decision undecided (0xffffffff).
//!main g
    if (g >= params.b) {
        return;
    }
    ctl[2u * g] = 0u;
    ctl[2u * g + 1u] = select(0u, 1u, n_tasks[g] == 0u);
    for (var i = 0u; i < 8u; i = i + 1u) {
        state[8u * g + i] = 0.0;
    }
    let n = params.n_max;
    for (var k = 0u; k < n; k = k + 1u) {
        plan[g * n + k] = 0xffffffffu;
    }
}

//!entry dag_step
@group(0) @binding(1) var<storage, read> n_tasks: array<u32>;
@group(0) @binding(2) var<storage, read> cost: array<f32>;
@group(0) @binding(3) var<storage, read> par_off: array<u32>;
@group(0) @binding(4) var<storage, read> par_idx: array<u32>;
@group(0) @binding(5) var<storage, read> exit: array<u32>;
@group(0) @binding(6) var<storage, read> scale: array<f32>;
@group(0) @binding(7) var<storage, read> action: array<u32>;
@group(0) @binding(8) var<storage, read_write> ft: array<f32>;
@group(0) @binding(9) var<storage, read_write> state: array<f32>;
@group(0) @binding(10) var<storage, read_write> ctl: array<u32>;
@group(0) @binding(11) var<storage, read_write> plan: array<u32>;
@group(0) @binding(12) var<storage, read_write> reward: array<f32>;

//!use dag_position
//!use dag_reward

// One thread per graph (mdp.rs `cpu_step`): decide the current position, reward -ΔT_c (§4.2),
// min-max scaled when params.scaled. Status 0 running, 1 done, 2 bad action.
//!main g
    if (g >= params.b) {
        return;
    }
    if (ctl[2u * g + 1u] != 0u) {
        reward[g] = 0.0;
        return;
    }
    let a = action[g];
    if (a > 1u) {
        ctl[2u * g + 1u] = 2u;
        reward[g] = pm_nan();
        return;
    }
    let k = ctl[2u * g];
    let n = min(n_tasks[g], params.n_max);
    if (k >= n) {
        ctl[2u * g + 1u] = 1u; // unreachable through reset/step; a hand-made ctl must not index past N
        reward[g] = 0.0;
        return;
    }
    let sb = 8u * g;
    let s0 = DagState(state[sb], state[sb + 1u], state[sb + 2u], state[sb + 3u], state[sb + 4u], state[sb + 5u]);
    let s = dag_position(g, k, g * params.n_max * 4u, a == 1u, s0);
    reward[g] = dag_reward(g, dag_span(s0), dag_span(s));
    state[sb] = s.a_ue;
    state[sb + 1u] = s.a_up;
    state[sb + 2u] = s.a_mec;
    state[sb + 3u] = s.a_down;
    state[sb + 4u] = s.current;
    state[sb + 5u] = s.t;
    plan[g * params.n_max + k] = a;
    ctl[2u * g] = k + 1u;
    if (k + 1u >= n) {
        ctl[2u * g + 1u] = 1u;
    }
}

//!entry dag_episode
@group(0) @binding(1) var<storage, read> n_tasks: array<u32>;
@group(0) @binding(2) var<storage, read> cost: array<f32>;
@group(0) @binding(3) var<storage, read> par_off: array<u32>;
@group(0) @binding(4) var<storage, read> par_idx: array<u32>;
@group(0) @binding(5) var<storage, read> exit: array<u32>;
@group(0) @binding(6) var<storage, read> scale: array<f32>;
@group(0) @binding(7) var<storage, read> graph: array<u32>;
@group(0) @binding(8) var<storage, read> actions: array<u32>;
@group(0) @binding(9) var<storage, read_write> ft: array<f32>;
@group(0) @binding(10) var<storage, read_write> reward: array<f32>;
@group(0) @binding(11) var<storage, read_write> done: array<u32>;
@group(0) @binding(12) var<storage, read_write> weight: array<f32>;
@group(0) @binding(13) var<storage, read_write> makespan: array<f32>;

//!use dag_position
//!use dag_reward

// One thread per sequence (episode.rs `cpu_episode`; params.p = S sequences): the whole episode
// of graph[seq] under the actions [N, S] (time-major), each position decided and rewarded
// exactly as dag_step does (the same before/after/delta/scale expressions). A graph index >= B:
// reward 0, done 1, weight 0 everywhere and makespan NaN; an action > 1: reward NaN from there
// on (real steps), done 1, makespan NaN; padding k >= n: reward 0, done 1, weight 0. A loop cut
// short by llvmpipe's limit (see dag_position) gives makespan NaN.
//!main seq
    let ns = params.p;
    if (seq >= ns) {
        return;
    }
    let n_max = params.n_max;
    let g = graph[seq];
    if (g >= params.b) {
        for (var k = 0u; k < n_max; k = k + 1u) {
            let o = k * ns + seq;
            reward[o] = 0.0;
            done[o] = 1u;
            weight[o] = 0.0;
        }
        makespan[seq] = pm_nan();
        return;
    }
    let n = min(n_tasks[g], n_max);
    let fb = seq * n_max * 4u;
    var st = DagState(0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    var bad = false;
    var k = 0u;
    for (; k < n_max; k = k + 1u) {
        let o = k * ns + seq;
        if (k >= n) {
            reward[o] = 0.0;
            done[o] = 1u;
            weight[o] = 0.0;
            continue;
        }
        weight[o] = 1.0;
        let a = actions[o];
        if (bad || a > 1u) {
            bad = true;
            reward[o] = pm_nan();
            done[o] = 1u;
            continue;
        }
        let before = dag_span(st);
        st = dag_position(g, k, fb, a == 1u, st);
        reward[o] = dag_reward(g, before, dag_span(st));
        done[o] = select(0u, 1u, k + 1u == n);
    }
    if (k < n_max) {
        dag_cut = true;
    }
    var m = dag_span(st);
    if (bad || dag_cut) {
        m = pm_nan();
    }
    makespan[seq] = m;
}

//!entry dag_observe
@group(0) @binding(1) var<storage, read> embeddings: array<f32>;
@group(0) @binding(2) var<storage, read> plan: array<u32>;
@group(0) @binding(3) var<storage, read> ctl: array<u32>;
@group(0) @binding(4) var<storage, read_write> obs: array<f32>;
@group(0) @binding(5) var<storage, read_write> terminated: array<u32>;

// One thread per graph (step.rs `cpu_observe`): rows [embedding, decision so far (-1 undecided),
// 1 at the current position], and whether the graph has ended.
//!main g
    if (g >= params.b) {
        return;
    }
    let n = params.n_max;
    let e = params.emb;
    let w = e + 2u;
    for (var k = 0u; k < n; k = k + 1u) {
        let o = (g * n + k) * w;
        for (var j = 0u; j < e; j = j + 1u) {
            obs[o + j] = embeddings[(g * n + k) * e + j];
        }
        let a = plan[g * n + k];
        var d = -1.0;
        if (a != 0xffffffffu) {
            d = f32(a);
        }
        obs[o + e] = d;
        obs[o + e + 1u] = select(0.0, 1.0, k == ctl[2u * g]);
    }
    terminated[g] = select(0u, 1u, ctl[2u * g + 1u] != 0u);
}

