// CRB-DRQN (src/algo/crbdrqn/kernels.rs): the central trajectory pool (eq. 21), its familiarity
// sampling (eq. 22) and the double-DQN target (eq. 23-24). Sums run over slots in order from 0.

struct PoolParams {
    cols: u32,
    steps: u32,
    f: u32,
    l: u32,
    agents: u32,
    n: u32,
    cap: u32,
    k: u32,
    shift: u32,
    alpha: f32,
    key0: u32,
    key1: u32,
    step: u32,
    gamma: f32,
    actions: u32,
    rows: u32,
}

@group(0) @binding(0) var<uniform> params: PoolParams;

const STREAM_CRBDRQN_POOL: u32 = 69u;
const CRBDRQN_FAMILIARITY_START: u32 = 3u;

// Eq. (22), unnormalized: exp(alpha/2 (ln ln N - ln N)), N = 3 + times.
fn crbdrqn_weight(times: u32) -> f32 {
    var nn = 0xffffffffu;
    if (times <= 0xffffffffu - CRBDRQN_FAMILIARITY_START) {
        nn = times + CRBDRQN_FAMILIARITY_START;
    }
    let ln_n = pm_ln(f32(nn));
    let d = pm_keep(pm_ln(ln_n) - ln_n);
    return pm_exp(pm_keep(pm_keep(0.5 * params.alpha) * d));
}

//!entry crbdrqn_count
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> count: array<u32>;

//!main c
    if (c >= params.cols) {
        return;
    }
    var m = 0u;
    for (var t = 0u; t < params.steps; t = t + 1u) {
        if (weight[t * params.cols + c] > 0.0) {
            m = m + 1u;
        }
    }
    count[c] = m / max(params.n, 1u);
}

//!entry crbdrqn_scan
@group(0) @binding(1) var<storage, read> count: array<u32>;
@group(0) @binding(2) var<storage, read_write> offset: array<u32>;
@group(0) @binding(3) var<storage, read_write> ring: array<u32>;

//!main t
    if (t != 0u || params.cap == 0u) {
        return;
    }
    var total = 0u;
    for (var c = 0u; c < params.cols; c = c + 1u) {
        offset[c] = total;
        let x = count[c];
        if (total > 0xffffffffu - x) {
            total = 0xffffffffu;
        } else {
            total = total + x;
        }
    }
    let cap = max(params.cap, 1u);
    let kept = min(total, params.cap);
    let head = ring[0] % cap;
    ring[2] = head;
    ring[0] = (head + kept) % cap;
    ring[1] = min(ring[1] + kept, params.cap);
    ring[3] = total;
}

//!entry crbdrqn_write
@group(0) @binding(1) var<storage, read> obs: array<f32>;
@group(0) @binding(2) var<storage, read> load: array<f32>;
@group(0) @binding(3) var<storage, read> action: array<u32>;
@group(0) @binding(4) var<storage, read> reward: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read> count: array<u32>;
@group(0) @binding(7) var<storage, read> offset: array<u32>;
@group(0) @binding(8) var<storage, read> ring: array<u32>;
@group(0) @binding(9) var<storage, read_write> p_obs: array<f32>;
@group(0) @binding(10) var<storage, read_write> p_load: array<f32>;
@group(0) @binding(11) var<storage, read_write> p_action: array<u32>;
@group(0) @binding(12) var<storage, read_write> p_reward: array<f32>;
@group(0) @binding(13) var<storage, read_write> p_next: array<u32>;
@group(0) @binding(14) var<storage, read_write> p_fam: array<u32>;

//!main c
    if (c >= params.cols) {
        return;
    }
    let agents = max(params.agents, 1u);
    let inst = c / agents;
    let b = params.cols / agents;
    let n = params.n;
    let f = params.f;
    let l = params.l;
    var j = 0u;
    for (var s = 0u; s < params.steps; s = s + 1u) {
        if (!(weight[s * params.cols + c] > 0.0)) {
            continue;
        }
        let traj = j / n;
        let st = j % n;
        let so = (s * params.cols + c) * f;
        let sl = (s * b + inst) * l;
        let g = offset[c] + traj;
        if (traj < count[c] && g < params.cap) {
            let slot = (ring[2] + g) % params.cap;
            let d = (slot * (n + 1u) + st) * f;
            for (var i = 0u; i < f; i = i + 1u) {
                p_obs[d + i] = obs[so + i];
            }
            let dl = (slot * (n + 1u) + st) * l;
            for (var i = 0u; i < l; i = i + 1u) {
                p_load[dl + i] = load[sl + i];
            }
            p_action[slot * n + st] = action[s * params.cols + c];
            p_reward[slot * n + st] = reward[s * params.cols + c];
            if (st == 0u) {
                p_next[slot] = 0u;
                p_fam[slot] = 0u;
                let z = (slot * (n + 1u) + n) * f;
                for (var i = 0u; i < f; i = i + 1u) {
                    p_obs[z + i] = 0.0;
                }
                let zl = (slot * (n + 1u) + n) * l;
                for (var i = 0u; i < l; i = i + 1u) {
                    p_load[zl + i] = 0.0;
                }
            }
        }
        if (st == 0u && traj >= 1u) {
            let g1 = offset[c] + traj - 1u;
            if (traj - 1u < count[c] && g1 < params.cap) {
                let slot = (ring[2] + g1) % params.cap;
                let d = (slot * (n + 1u) + n) * f;
                for (var i = 0u; i < f; i = i + 1u) {
                    p_obs[d + i] = obs[so + i];
                }
                let dl = (slot * (n + 1u) + n) * l;
                for (var i = 0u; i < l; i = i + 1u) {
                    p_load[dl + i] = load[sl + i];
                }
                p_next[slot] = 1u;
            }
        }
        j = j + 1u;
    }
}

//!entry crbdrqn_sample
@group(0) @binding(1) var<storage, read> p_fam: array<u32>;
@group(0) @binding(2) var<storage, read> ring: array<u32>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;

//!main k
    if (k >= params.k) {
        return;
    }
    var size = 0u;
    if (params.cap > 0u) {
        size = min(ring[1], params.cap);
    }
    var total = 0.0;
    for (var s = 0u; s < size; s = s + 1u) {
        total = pm_keep(total + crbdrqn_weight(p_fam[s]));
    }
    let w = philox4x32_10(philox_counter(k, 0u, params.step, STREAM_CRBDRQN_POOL, 0u),
                          vec2<u32>(params.key0, params.key1));
    let target_v = pm_keep(rng_uniform(w.x) * total);
    var cum = 0.0;
    var pick = select(0u, size - 1u, size > 0u);
    for (var s = 0u; s < size; s = s + 1u) {
        cum = pm_keep(cum + crbdrqn_weight(p_fam[s]));
        if (target_v < cum) {
            pick = s;
            break;
        }
    }
    idx[k] = pick;
}

//!entry crbdrqn_touch
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read_write> p_fam: array<u32>;

//!main t
    if (t != 0u) {
        return;
    }
    for (var kk = 0u; kk < params.k; kk = kk + 1u) {
        let i = idx[kk];
        if (i < params.cap && p_fam[i] != 0xffffffffu) {
            p_fam[i] = p_fam[i] + 1u;
        }
    }
}

//!entry crbdrqn_gather
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> p_obs: array<f32>;
@group(0) @binding(3) var<storage, read> p_load: array<f32>;
@group(0) @binding(4) var<storage, read> p_action: array<u32>;
@group(0) @binding(5) var<storage, read> p_reward: array<f32>;
@group(0) @binding(6) var<storage, read> p_next: array<u32>;
@group(0) @binding(7) var<storage, read_write> obs_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> load_out: array<f32>;
@group(0) @binding(9) var<storage, read_write> action_out: array<u32>;
@group(0) @binding(10) var<storage, read_write> reward_out: array<f32>;
@group(0) @binding(11) var<storage, read_write> term_out: array<f32>;

//!main r
    let n = params.n;
    let k = params.k;
    let f = params.f;
    let l = params.l;
    if (r >= n * k || params.cap == 0u) {
        return;
    }
    let s = r / k;
    let kk = r % k;
    let slot = min(idx[kk], params.cap - 1u);
    let pos = s + select(0u, 1u, params.shift > 0u);
    let so = (slot * (n + 1u) + pos) * f;
    for (var i = 0u; i < f; i = i + 1u) {
        obs_out[r * f + i] = p_obs[so + i];
    }
    let sl = (slot * (n + 1u) + pos) * l;
    for (var i = 0u; i < l; i = i + 1u) {
        load_out[r * l + i] = p_load[sl + i];
    }
    action_out[r] = p_action[slot * n + s];
    reward_out[r] = p_reward[slot * n + s];
    term_out[r] = select(0.0, 1.0, s + 1u == n && p_next[slot] == 0u);
}

//!entry crbdrqn_target
@group(0) @binding(1) var<storage, read> q_next: array<f32>;
@group(0) @binding(2) var<storage, read> q_target: array<f32>;
@group(0) @binding(3) var<storage, read> reward: array<f32>;
@group(0) @binding(4) var<storage, read> term: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> a_next: array<u32>;

//!main i
    if (i >= params.rows) {
        return;
    }
    let a = params.actions;
    var best = 0u;
    for (var j = 1u; j < a; j = j + 1u) {
        if (q_next[i * a + j] > q_next[i * a + best]) {
            best = j;
        }
    }
    let keep = pm_keep(1.0 - term[i]);
    let scaled = pm_keep(pm_keep(params.gamma * keep) * q_target[i * a + best]);
    y[i] = pm_keep(reward[i] + scaled);
    a_next[i] = best;
}
