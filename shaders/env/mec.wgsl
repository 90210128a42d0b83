// mec: the DIRS environment kernels (src/env/mec/). One section per entry point; the shared
// part holds the parameter block and pure formulas, the parts the cost formulas (`mec_cost`)
// and the objectives (`mec_phi_exact`, `mec_phi_paper`), which search/levy uses too. Operation
// order mirrors the CPU reference.

struct MecParams {
    b: u32,
    n: u32,
    m: u32,
    p: u32,
    key0: u32,
    key1: u32,
    step: u32,
    variant: u32,
    area: f32,
    beta0: f32,
    bandwidth: f32,
    noise_psd: f32,
    d_lo: f32,
    d_hi: f32,
    f_lo: f32,
    f_hi: f32,
    f_local: f32,
    p_local: f32,
    f_max: f32,
    p_max: f32,
    phi_t: f32,
    phi_e: f32,
    d2_min: f32,
    capacity: f32,
}

@group(0) @binding(0) var<uniform> params: MecParams;

fn mec_key() -> vec2<u32> {
    return vec2<u32>(params.key0, params.key1);
}

// Eq. (3): h = beta0 l / max(d2, d2_min).
fn mec_channel_gain(beta0: f32, fading: f32, d2: f32, d2_min: f32) -> f32 {
    // FADING_MIN = 2^-25 (src/env/mec/model.rs)
    return pm_keep(pm_keep(beta0 * max(fading, bitcast<f32>(0x33000000u))) / max(pm_keep(d2), d2_min));
}

// The transmit power minimizing (phi_T + phi_E p) D / r(p) on (0, P_max] (eq. 13, power part).
fn mec_optimal_power(gain: f32, bandwidth: f32, noise_psd: f32, phi_t: f32, phi_e: f32, p_max: f32) -> f32 {
    let c = pm_keep(gain / pm_keep(noise_psd * bandwidth));
    if (phi_e <= 0.0 || c <= 0.0) {
        return p_max;
    }
    let s = pm_keep(pm_keep(phi_t * c) / phi_e);
    let t_max = pm_keep(c * p_max);
    let l_max = pm_ln1p(t_max);
    if (pm_keep(pm_keep(pm_keep(1.0 + t_max) * l_max) - t_max) <= s) {
        return p_max;
    }
    var t = t_max;
    for (var it = 0u; it < 64u; it = it + 1u) {
        let next = pm_keep(pm_keep(pm_keep(t + s) / pm_ln1p(t)) - 1.0);
        if (next >= t) {
            break;
        }
        t = next;
    }
    return min(pm_keep(t / c), p_max);
}

//!part mec_cost
// The cost formulas of src/env/mec/, every parameter passed explicitly (search/levy uses
// them with its own params struct).

// Eq. (2): r = B log2(1 + p h / (sigma2 B)).
fn mec_rate(bandwidth: f32, noise_psd: f32, pw: f32, gain: f32) -> f32 {
    let snr = pm_keep(pm_keep(pw * gain) / pm_keep(noise_psd * bandwidth));
    return pm_keep(pm_keep(bandwidth * pm_ln1p(snr)) * PM_LOG2_E);
}

// phi_T T + phi_E E of a local task (eq. 8-10): T = F / f_local, E = T p_local.
fn mec_local_cost(cycles: f32, f_local: f32, p_local: f32, phi_t: f32, phi_e: f32) -> f32 {
    let t = pm_keep(cycles / f_local);
    let e = pm_keep(t * p_local);
    return pm_keep(pm_keep(phi_t * t) + pm_keep(phi_e * e));
}

// (phi_T + phi_E p) D / r, the transmission part of an offloaded task (eq. 8-10).
fn mec_tx_cost(d_bits: f32, r: f32, pw: f32, phi_t: f32, phi_e: f32) -> f32 {
    return pm_keep(pm_keep(pm_keep(phi_t + pm_keep(phi_e * pw)) * d_bits) / r);
}

//!part mec_phi_exact
// The exact objective (`objective_exact_one`) of one candidate, for an entry that binds `cost`
// [B, N, M+1], `sqrt_f` [B, N] and `bins`, with params n, m, phi_t, f_max (MecParams and
// LevyParams). Four partial sums by i mod 4 (pm_add4, pm_sum4); `base` is the candidate's first
// bin, S_j (j = 1..M, local tasks need no bin) at base + j - 1.

// Zeroes the candidate's bins; returns the partial sums (zero).
fn mec_exact_start(base: u32) -> array<f32, 4> {
    for (var j = 0u; j < params.m; j = j + 1u) {
        bins[base + j] = 0.0;
    }
    return array<f32, 4>(0.0, 0.0, 0.0, 0.0);
}

// Adds the cost of IoTD i of instance bi with decision ai <= M to s, and sqrt(F_i) to S_ai.
fn mec_exact_add(s: ptr<function, array<f32, 4>>, base: u32, bi: u32, i: u32, ai: u32) {
    let row = bi * params.n + i;
    pm_add4(s, i, cost[row * (params.m + 1u) + ai]);
    if (ai > 0u) {
        bins[base + ai - 1u] = pm_keep(bins[base + ai - 1u] + sqrt_f[row]);
    }
}

// (s0 + s1) + (s2 + s3) + phi_T / f_max sum_j S_j^2.
fn mec_exact_finish(s: array<f32, 4>, base: u32) -> f32 {
    var cpu = 0.0;
    for (var j = 0u; j < params.m; j = j + 1u) {
        let sj = bins[base + j];
        cpu = pm_keep(cpu + pm_keep(sj * sj));
    }
    return pm_sum4(s) + pm_keep(pm_keep(params.phi_t / params.f_max) * cpu);
}

//!part mec_phi_paper
//!use mec_cost
// The paper's objective (`objective_paper_one`) of one candidate, for an entry that binds `h`
// [B, N, M], `task_d`, `task_f` [B, N] and `bins`, with params n, m, f_max, f_local, p_local,
// phi_t, phi_e, bandwidth, noise_psd (MecParams and LevyParams). Four partial sums by i mod 4
// (pm_add4, pm_sum4); `base` is the candidate's first bin, sum f of MEC j at base + j and sum F/f
// at base + M + j.

// Zeroes the candidate's bins; returns the partial sums (zero).
fn mec_paper_start(base: u32) -> array<f32, 4> {
    for (var j = 0u; j < 2u * params.m; j = j + 1u) {
        bins[base + j] = 0.0;
    }
    return array<f32, 4>(0.0, 0.0, 0.0, 0.0);
}

// Adds the cost of IoTD i of instance bi with decision ai <= M, CPU frequency fi and transmit
// power pwi to s, and (fi, F_i / fi) to the bins of its MEC.
fn mec_paper_add(s: ptr<function, array<f32, 4>>, base: u32, bi: u32, i: u32, ai: u32, fi: f32, pwi: f32) {
    let m = params.m;
    let row = bi * params.n + i;
    let fc = task_f[row];
    if (ai == 0u) {
        pm_add4(s, i, mec_local_cost(fc, params.f_local, params.p_local, params.phi_t, params.phi_e));
    } else {
        let j = ai - 1u;
        let r = mec_rate(params.bandwidth, params.noise_psd, pwi, h[row * m + j]);
        pm_add4(s, i, mec_tx_cost(task_d[row], r, pwi, params.phi_t, params.phi_e));
        bins[base + j] = pm_keep(bins[base + j] + fi);
        bins[base + m + j] = pm_keep(bins[base + m + j] + pm_keep(fc / fi));
    }
}

// (s0 + s1) + (s2 + s3) + phi_T sum_j (sum F/f)_j max((sum f)_j / f_max, 1).
fn mec_paper_finish(s: array<f32, 4>, base: u32) -> f32 {
    let m = params.m;
    var cpu = 0.0;
    for (var j = 0u; j < m; j = j + 1u) {
        cpu = pm_keep(cpu + pm_keep(bins[base + m + j] * max(pm_keep(bins[base + j] / params.f_max), 1.0)));
    }
    return pm_sum4(s) + pm_keep(params.phi_t * cpu);
}

//!entry mec_reset
@group(0) @binding(1) var<storage, read_write> iotd_pos: array<f32>;
@group(0) @binding(2) var<storage, read_write> mec_pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> task_d: array<f32>;
@group(0) @binding(4) var<storage, read_write> task_f: array<f32>;

// One thread per IoTD or MEC: t = b (N + M) + k.
//!main t
    let n = params.n;
    let m = params.m;
    let nm = n + m;
    if (t >= params.b * nm) {
        return;
    }
    let bi = t / nm;
    let k = t % nm;
    let key = mec_key();
    if (k < n) {
        let w = philox4x32_10(philox_counter(k, bi, params.step, STREAM_MEC_IOTD_POS, 0u), key);
        let tk = philox4x32_10(philox_counter(k, bi, params.step, STREAM_MEC_TASK, 0u), key);
        iotd_pos[bi * 2u * n + k] = params.area * rng_uniform(w.x);
        iotd_pos[bi * 2u * n + n + k] = params.area * rng_uniform(w.y);
        task_d[bi * n + k] = params.d_lo + pm_keep(pm_keep(params.d_hi - params.d_lo) * rng_uniform(tk.x));
        task_f[bi * n + k] = params.f_lo + pm_keep(pm_keep(params.f_hi - params.f_lo) * rng_uniform(tk.y));
    } else {
        let j = k - n;
        let w = philox4x32_10(philox_counter(j, bi, params.step, STREAM_MEC_MEC_POS, 0u), key);
        mec_pos[bi * 2u * m + j] = params.area * rng_uniform(w.x);
        mec_pos[bi * 2u * m + m + j] = params.area * rng_uniform(w.y);
    }
}

//!entry mec_channel
@group(0) @binding(1) var<storage, read> iotd_pos: array<f32>;
@group(0) @binding(2) var<storage, read> mec_pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;

// One thread per (b, i) row; fading l_ij ~ Exp(1) from block (i ceil(M/4) + j/4, b, step, FADING).
//!main row
    let n = params.n;
    let m = params.m;
    if (row >= params.b * n) {
        return;
    }
    let bi = row / n;
    let i = row % n;
    let xi = iotd_pos[bi * 2u * n + i];
    let yi = iotd_pos[bi * 2u * n + n + i];
    let mb = bi * 2u * m;
    let blocks = (m + 3u) / 4u;
    let key = mec_key();
    var w = vec4<u32>(0u);
    for (var j = 0u; j < m; j = j + 1u) {
        if ((j & 3u) == 0u) {
            w = philox4x32_10(philox_counter(i * blocks + j / 4u, bi, params.step, STREAM_MEC_FADING, 0u), key);
        }
        let l = rng_exponential(w[j & 3u]);
        let dx = mec_pos[mb + j] - xi;
        let dy = mec_pos[mb + m + j] - yi;
        h[row * m + j] = mec_channel_gain(params.beta0, l, pm_keep(dx * dx) + pm_keep(dy * dy), params.d2_min);
    }
}

//!entry mec_alloc
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> task_d: array<f32>;
@group(0) @binding(3) var<storage, read> task_f: array<f32>;
@group(0) @binding(4) var<storage, read_write> hn: array<f32>;
@group(0) @binding(5) var<storage, read_write> p_opt: array<f32>;
@group(0) @binding(6) var<storage, read_write> cost: array<f32>;
@group(0) @binding(7) var<storage, read_write> sqrt_f: array<f32>;

//!use mec_cost

// One thread per (b, i) row: hn, p*, the cost row [M+1] and sqrt(F).
//!main row
    let m = params.m;
    if (row >= params.b * params.n) {
        return;
    }
    let hb = row * m;
    let cb = row * (m + 1u);
    var sum = 0.0;
    for (var j = 0u; j < m; j = j + 1u) {
        sum = pm_keep(sum + h[hb + j]);
    }
    let d = task_d[row];
    let fc = task_f[row];
    cost[cb] = mec_local_cost(fc, params.f_local, params.p_local, params.phi_t, params.phi_e);
    for (var j = 0u; j < m; j = j + 1u) {
        let g = h[hb + j];
        var q = 0.0;
        if (sum > 0.0) {
            q = g / sum;
        }
        hn[hb + j] = q;
        let pw = mec_optimal_power(g, params.bandwidth, params.noise_psd, params.phi_t, params.phi_e, params.p_max);
        p_opt[hb + j] = pw;
        let r = mec_rate(params.bandwidth, params.noise_psd, pw, g);
        cost[cb + j + 1u] = mec_tx_cost(d, r, pw, params.phi_t, params.phi_e);
    }
    sqrt_f[row] = sqrt(fc);
}

//!entry mec_observe
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read_write> obs: array<f32>;

// One thread per (b, j) column: (ln h_ij - mean_i) / max(std_i, 1e-6).
//!main col
    let n = params.n;
    let m = params.m;
    if (col >= params.b * m) {
        return;
    }
    let bi = col / m;
    let j = col % m;
    let hb = bi * n * m;
    let ob = col * n;
    var mean = 0.0;
    for (var i = 0u; i < n; i = i + 1u) {
        let v = pm_ln(max(h[hb + i * m + j], 1e-30));
        obs[ob + i] = v;
        mean = pm_keep(mean + v);
    }
    mean = mean / f32(n);
    var var_sum = 0.0;
    for (var i = 0u; i < n; i = i + 1u) {
        let v = obs[ob + i];
        let dv = pm_keep(v - mean);
        var_sum = pm_keep(var_sum + pm_keep(dv * dv));
    }
    let sd = max(sqrt(pm_keep(var_sum / f32(n))), 1e-6);
    for (var i = 0u; i < n; i = i + 1u) {
        obs[ob + i] = pm_keep(obs[ob + i] - mean) / sd;
    }
}

//!entry mec_objective_exact
@group(0) @binding(1) var<storage, read> cost: array<f32>;
@group(0) @binding(2) var<storage, read> sqrt_f: array<f32>;
@group(0) @binding(3) var<storage, read> a: array<u32>;
@group(0) @binding(4) var<storage, read_write> bins: array<f32>;
@group(0) @binding(5) var<storage, read_write> phi: array<f32>;

//!use mec_phi_exact

// One thread per candidate c = b P + p. bins: S_j for j = 1..M at c M + j - 1 (local tasks
// need no bin), so this uses the first B P M words of the [B,P,M+1] scratch.
//!main c
    let n = params.n;
    let m = params.m;
    let pp = params.p;
    if (c >= params.b * pp) {
        return;
    }
    let bi = c / pp;
    let ab = c * n;
    let base = c * m;
    var s = mec_exact_start(base);
    for (var i = 0u; i < n; i = i + 1u) {
        let ai = a[ab + i];
        if (ai > m) {
            phi[c] = pm_nan();
            return;
        }
        mec_exact_add(&s, base, bi, i, ai);
    }
    phi[c] = mec_exact_finish(s, base);
}

//!entry mec_objective_paper
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> task_d: array<f32>;
@group(0) @binding(3) var<storage, read> task_f: array<f32>;
@group(0) @binding(4) var<storage, read> a: array<u32>;
@group(0) @binding(5) var<storage, read> f: array<f32>;
@group(0) @binding(6) var<storage, read> pw: array<f32>;
@group(0) @binding(7) var<storage, read_write> bins: array<f32>;
@group(0) @binding(8) var<storage, read_write> phi: array<f32>;

//!use mec_phi_paper

// One thread per candidate c = b P + p; bins (sum f, sum F/f per MEC) at c 2M.
//!main c
    let n = params.n;
    let m = params.m;
    let pp = params.p;
    if (c >= params.b * pp) {
        return;
    }
    let bi = c / pp;
    let ab = c * n;
    let base = c * 2u * m;
    var s = mec_paper_start(base);
    for (var i = 0u; i < n; i = i + 1u) {
        let ai = a[ab + i];
        if (ai > m) {
            phi[c] = pm_nan();
            return;
        }
        mec_paper_add(&s, base, bi, i, ai, f[ab + i], pw[ab + i]);
    }
    phi[c] = mec_paper_finish(s, base);
}

//!entry mec_heuristic
@group(0) @binding(1) var<storage, read> iotd_pos: array<f32>;
@group(0) @binding(2) var<storage, read> mec_pos: array<f32>;
@group(0) @binding(3) var<storage, read> task_f: array<f32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> load: array<f32>;
@group(0) @binding(6) var<storage, read_write> a: array<u32>;

// One thread per instance: Local (0), Greedy (1, nearest MEC in `order`), Random (2).
//!main bi
    let n = params.n;
    let m = params.m;
    if (bi >= params.b) {
        return;
    }
    let lb = bi * m;
    let pb = bi * 2u * n;
    let mb = bi * 2u * m;
    let sb = bi * n;
    for (var j = 0u; j < m; j = j + 1u) {
        load[lb + j] = 0.0;
    }
    if (params.variant == 0u) {
        for (var i = 0u; i < n; i = i + 1u) {
            a[sb + i] = 0u;
        }
    } else if (params.variant == 1u) {
        for (var k = 0u; k < n; k = k + 1u) {
            let i = order[sb + k];
            let x = iotd_pos[pb + i];
            let y = iotd_pos[pb + n + i];
            var best = 0u;
            var best_d2 = pm_inf();
            for (var j = 0u; j < m; j = j + 1u) {
                let dx = mec_pos[mb + j] - x;
                let dy = mec_pos[mb + m + j] - y;
                let d2 = pm_keep(pm_keep(dx * dx) + pm_keep(dy * dy));
                if (d2 < best_d2) {
                    best_d2 = d2;
                    best = j;
                }
            }
            let fi = task_f[sb + i];
            let nl = pm_keep(load[lb + best] + fi);
            if (nl <= params.capacity) {
                load[lb + best] = nl;
                a[sb + i] = best + 1u;
            } else {
                a[sb + i] = 0u;
            }
        }
    } else {
        let key = mec_key();
        for (var i = 0u; i < n; i = i + 1u) {
            let w = philox4x32_10(philox_counter(i, bi, params.step, STREAM_MEC_RANDOM_POLICY, 0u), key);
            let t = rng_uniform_index(w.x, m + 1u);
            var ai = 0u;
            if (t > 0u) {
                let fi = task_f[sb + i];
                let nl = pm_keep(load[lb + t - 1u] + fi);
                if (nl <= params.capacity) {
                    load[lb + t - 1u] = nl;
                    ai = t;
                }
            }
            a[sb + i] = ai;
        }
    }
}

//!entry mec_reward
@group(0) @binding(1) var<storage, read> phi: array<f32>;
@group(0) @binding(2) var<storage, read_write> reward: array<f32>;

// One thread per instance: 1 / ΣΦ (variant 0) or −ΣΦ / N (variant 1).
//!main b
    if (b >= params.b) {
        return;
    }
    let x = phi[b];
    if (params.variant == 0u) {
        reward[b] = pm_keep(1.0 / x);
    } else {
        reward[b] = pm_keep(-x / f32(params.n));
    }
}
