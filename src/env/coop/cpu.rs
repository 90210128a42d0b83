//! The `coop_*` kernels' CPU references (one instance per thread for reset and step, one
//! (instance, node) per thread for observe and policy). `kernels/env/coop.cu` and
//! `shaders/env/coop.wgsl` mirror these functions operation for operation; the buffer layout is
//! described in the module documentation of [`super`].

use rayon::prelude::*;

use super::config::{state, CoopParams, FLAG_LINK_FAIL, FLAG_NODE_FAIL, MAX_WINDOW, POOL_F, POOL_U, STATS_F, STATS_U};
use crate::backend::cpu::need;
use crate::backend::params as decode;
use crate::error::Result;
use crate::math;
use crate::rng::{self, stream};

/// The step word of the Philox counter for slot `t` of episode `e` (both < 2^16).
#[inline(always)]
pub fn step_word(episode: u32, t: u32) -> u32 {
    (episode << 16) | (t & 0xffff)
}

/// Uniform in [lo, hi) from a raw word.
#[inline(always)]
fn span(lo: f32, hi: f32, x: u32) -> f32 {
    lo + (hi - lo) * rng::uniform(x)
}

/// Eq. (1): T^c_ij = c / F_j (s).
#[inline(always)]
pub fn exec_time(cycles: f32, f_hz: f32) -> f32 {
    cycles / f_hz
}

/// Eq. (2): T^t_ij = s / r_ij (s).
#[inline(always)]
pub fn tx_time(bits: f32, rate_bps: f32) -> f32 {
    bits / rate_bps
}

/// Eq. (4) and (5): R = exp(−α·T) for a failure rate α (1/s) over a busy time T (s).
#[inline(always)]
pub fn reliability(rate: f32, time: f32) -> f32 {
    math::exp(-(rate * time))
}

/// The task's failure flags at its decision (eq. 3–5), from the two uniforms drawn at its
/// arrival: the link fails when u_link ≥ R^t (never for a local task), the node when
/// u_node ≥ R^c; overall the task survives with probability R^c·R^t.
#[inline(always)]
pub fn failure_flags(u_link: f32, u_node: f32, r_link: f32, r_node: f32, local: bool) -> u32 {
    let mut f = 0;
    if !local && u_link >= r_link {
        f |= FLAG_LINK_FAIL;
    }
    if u_node >= r_node {
        f |= FLAG_NODE_FAIL;
    }
    f
}

/// The (instance, episode) counter words of the network draws of instance `b`: its own, or
/// (0, 0) with a fixed network (one edge network setting for every instance and episode).
#[inline(always)]
pub fn network_words(p: &CoopParams, b: u32) -> (u32, u32) {
    if p.fixed_network != 0 {
        (0, 0)
    } else {
        (b, p.episode)
    }
}

/// Node parameters at reset: (λ_i, F_i, α_i) of node `i` of instance `b`.
#[inline(always)]
pub fn draw_node(p: &CoopParams, b: u32, i: u32) -> (f32, f32, f32) {
    let (nb, ne) = network_words(p, b);
    let w = rng::philox4x32_10(rng::counter(i, nb, ne, stream::COOP_NODE, 0), [p.key0, p.key1]);
    let lambda = span(p.lambda_lo, p.lambda_hi, w[0]);
    let k = rng::uniform_index(w[1], p.n_cores);
    let f = p.core(k) as f32 * p.core_hz;
    let alpha = span(p.alpha_lo, p.alpha_hi, w[2]);
    (lambda, f, alpha)
}

/// Link parameters at reset: (r_ij, β_ij) of the undirected link {i, j} (i < j).
#[inline(always)]
pub fn draw_link(p: &CoopParams, b: u32, i: u32, j: u32) -> (f32, f32) {
    let (nb, ne) = network_words(p, b);
    let w = rng::philox4x32_10(rng::counter(i * p.n + j, nb, ne, stream::COOP_LINK, 0), [p.key0, p.key1]);
    (span(p.r_lo, p.r_hi, w[0]), span(p.beta_lo, p.beta_hi, w[1]))
}

/// The task arriving at node `i` in slot `t` (if any): (arrived, s, c, u_link, u_node).
#[inline(always)]
pub fn draw_arrival(p: &CoopParams, b: u32, i: u32, t: u32, lambda: f32) -> (bool, f32, f32, f32, f32) {
    let key = [p.key0, p.key1];
    let sw = step_word(p.episode, t);
    let w = rng::philox4x32_10(rng::counter(i, b, sw, stream::COOP_ARRIVAL, 0), key);
    let v = rng::philox4x32_10(rng::counter(i, b, sw, stream::COOP_FAIL, 0), key);
    let arrived = rng::uniform(w[0]) < lambda; // Bernoulli(λ_i) (§III-A)
    let s = span(p.s_lo, p.s_hi, w[1]);
    let c = span(p.delta_lo, p.delta_hi, w[2]) * s; // c = δ·s (§III-A)
    (arrived, s, c, rng::uniform(v[0]), rng::uniform(v[1]))
}

/// One instance's buffers (slices of the batch buffers).
pub struct Inst<'a> {
    /// [N, 3] λ, F, α.
    pub node: &'a [f32],
    /// [N, N, 2] r, β.
    pub link: &'a [f32],
    /// \[N\] has a task.
    pub arr_u: &'a mut [u32],
    /// [N, 4] s, c, u_link, u_node.
    pub arr_f: &'a mut [f32],
    /// [N·W, 4].
    pub pool_u: &'a mut [u32],
    /// [N·W, 4].
    pub pool_f: &'a mut [f32],
    /// [N, 1 + N·W].
    pub xq: &'a mut [u32],
    /// [STATS_U].
    pub stats_u: &'a mut [u32],
    /// [STATS_F].
    pub stats_f: &'a mut [f32],
}

/// Reset one instance: node and link parameters, empty queues, zero statistics, the arrivals of
/// slot 0.
pub fn reset_instance(p: &CoopParams, b: u32, x: &mut Inst<'_>, node: &mut [f32], link: &mut [f32]) {
    let (n, w) = (p.n as usize, p.w as usize);
    for i in 0..n {
        let (l, f, a) = draw_node(p, b, i as u32);
        node[3 * i] = l;
        node[3 * i + 1] = f;
        node[3 * i + 2] = a;
    }
    for i in 0..n {
        link[2 * (i * n + i)] = 0.0;
        link[2 * (i * n + i) + 1] = 0.0;
        for j in i + 1..n {
            let (r, be) = draw_link(p, b, i as u32, j as u32);
            link[2 * (i * n + j)] = r;
            link[2 * (i * n + j) + 1] = be;
            link[2 * (j * n + i)] = r;
            link[2 * (j * n + i) + 1] = be;
        }
    }
    x.pool_u[..n * w * POOL_U].fill(0);
    x.pool_f[..n * w * POOL_F].fill(0.0);
    for j in 0..n {
        x.xq[j * (1 + n * w)] = 0;
    }
    x.stats_u[..STATS_U].fill(0);
    x.stats_f[..STATS_F].fill(0.0);
    arrivals(p, b, 0, node, x.arr_u, x.arr_f);
}

/// The arrivals of slot `t` (none from the horizon T on: the drain slots).
fn arrivals(p: &CoopParams, b: u32, t: u32, node: &[f32], arr_u: &mut [u32], arr_f: &mut [f32]) {
    let n = p.n as usize;
    let key = [p.key0, p.key1];
    let sw = step_word(p.episode, t);
    // 16 nodes per pass: their counters differ in word 0 only (the element), so the Philox
    // blocks come from the lane-vectorized generator, bit-identical to `draw_arrival`.
    for base in (0..n).step_by(16) {
        let c0: [u32; 16] = std::array::from_fn(|l| (base + l) as u32);
        let (w0, w1, w2) = rng::philox16(c0, b, sw, stream::COOP_ARRIVAL, key);
        let (v0, v1, _) = rng::philox16(c0, b, sw, stream::COOP_FAIL, key);
        for l in 0..16.min(n - base) {
            let i = base + l;
            let a = rng::uniform(w0[l]) < node[3 * i] && t < p.horizon; // Bernoulli(λ_i) (§III-A)
            let s = span(p.s_lo, p.s_hi, w1[l]);
            let c = span(p.delta_lo, p.delta_hi, w2[l]) * s; // c = δ·s (§III-A)
            arr_u[i] = a as u32;
            let v = [s, c, rng::uniform(v0[l]), rng::uniform(v1[l])];
            arr_f[4 * i..4 * i + 4].copy_from_slice(&if a { v } else { [0.0; 4] });
        }
    }
}

/// Record the outcome of pool entry `k` at slot `t`: +1 success, −1 drop or failure (§IV-B3).
#[inline(always)]
fn resolve(x: &mut Inst<'_>, k: usize, outcome: u32, t: u32, reward: &mut f32) {
    let s = x.pool_f[k * POOL_F];
    x.pool_u[k * POOL_U] = outcome | (x.pool_u[k * POOL_U] & !0xff);
    x.pool_u[k * POOL_U + 3] = t;
    x.pool_f[k * POOL_F + 2] = 0.0;
    match outcome {
        state::SUCCESS => {
            x.stats_u[1] = x.stats_u[1].wrapping_add(1);
            x.stats_f[1] += s;
            *reward += 1.0;
        }
        state::DROPPED => {
            x.stats_u[2] = x.stats_u[2].wrapping_add(1);
            x.stats_f[2] += s;
            *reward -= 1.0;
        }
        _ => {
            x.stats_u[3] = x.stats_u[3].wrapping_add(1);
            x.stats_f[3] += s;
            *reward -= 1.0;
        }
    }
}

/// One slot of one instance with the actions `act` \[N\] (target node, or N for "no task").
/// Returns the team reward of the slot (§IV-B3). Order within the slot:
/// 1. decisions: each arrived task enters the system (an invalid or masked action drops it),
///    local tasks join their node's execution queue in node order;
/// 2. execution: every node serves its execution queue FIFO with F_j·Δ cycles (eq. 1);
/// 3. transmission: every send queue (i, j) serves FIFO with r_ij·Δ bits (eq. 2); a sent task
///    fails if its link failed, else it joins j's execution queue (from the next slot);
/// 4. deadline (eq. 8): a task not finished by the end of slot t_a + D − 1 is dropped;
/// 5. the arrivals of slot t + 1.
pub fn step_instance(p: &CoopParams, b: u32, act: &[u32], x: &mut Inst<'_>) -> f32 {
    let (n, w) = (p.n as usize, p.w as usize);
    let t = p.slot;
    let xs = 1 + n * w; // stride of one execution queue
    let cur = (t as usize) % w;
    let mut reward = 0.0f32;
    // 1. decisions (validity against the queue lengths at the start of the slot)
    for (i, &a) in act.iter().enumerate().take(n) {
        if x.arr_u[i] == 0 {
            if a != p.n {
                x.stats_u[4] = x.stats_u[4].wrapping_add(1);
            }
            continue;
        }
        let k = i * w + cur;
        let (s, c, ul, un) = (x.arr_f[4 * i], x.arr_f[4 * i + 1], x.arr_f[4 * i + 2], x.arr_f[4 * i + 3]);
        x.stats_u[0] = x.stats_u[0].wrapping_add(1);
        x.stats_f[0] += s;
        x.pool_u[k * POOL_U..k * POOL_U + 4].copy_from_slice(&[state::SENDING, a, t, 0]);
        x.pool_f[k * POOL_F..k * POOL_F + 4].copy_from_slice(&[s, c, s, 0.0]);
        let j = a as usize;
        if a >= p.n || (j != i && x.xq[j * xs] >= p.max_queue) {
            x.stats_u[4] = x.stats_u[4].wrapping_add(1);
            resolve(x, k, state::DROPPED, t, &mut reward);
            continue;
        }
        let local = j == i;
        let r_link =
            if local { 1.0 } else { reliability(x.link[2 * (i * n + j) + 1], tx_time(s, x.link[2 * (i * n + j)])) };
        let r_node = reliability(x.node[3 * j + 2], exec_time(c, x.node[3 * j + 1]));
        let flags = failure_flags(ul, un, r_link, r_node, local);
        x.pool_u[k * POOL_U] = (if local { state::QUEUED } else { state::SENDING }) | flags;
        x.pool_f[k * POOL_F + 2] = if local { c } else { s };
        x.pool_f[k * POOL_F + 3] = r_link * r_node;
        if !local {
            x.stats_u[7] = x.stats_u[7].wrapping_add(1);
        }
    }
    for i in 0..n {
        let k = i * w + cur;
        if x.arr_u[i] != 0 && x.pool_u[k * POOL_U] & 0xff == state::QUEUED {
            push(x.xq, i * xs, n * w, k);
        }
    }
    // 2. execution, FIFO, F_j·Δ cycles per slot
    for j in 0..n {
        let mut budget = x.node[3 * j + 1] * p.dt;
        let len = (x.xq[j * xs] as usize).min(n * w);
        let mut h = 0;
        while h < len && budget > 0.0 {
            let k = (x.xq[j * xs + 1 + h] as usize).min(n * w - 1);
            let rem = x.pool_f[k * POOL_F + 2];
            if rem <= budget {
                budget -= rem;
                let failed = x.pool_u[k * POOL_U] & FLAG_NODE_FAIL != 0;
                if failed {
                    x.stats_u[6] = x.stats_u[6].wrapping_add(1);
                }
                resolve(x, k, if failed { state::FAILED } else { state::SUCCESS }, t, &mut reward);
                h += 1;
            } else {
                x.pool_f[k * POOL_F + 2] = rem - budget;
                budget = 0.0;
            }
        }
    }
    // 3. transmission, FIFO per link, r_ij·Δ bits per slot. Entries of origin i in arrival
    // order: q = 0 is the oldest (slot t − W + 1), q = W − 1 the newest (slot t).
    for i in 0..n {
        let base = i * w;
        let idx = |q: usize| base + (t.wrapping_add(1 + q as u32) % p.w) as usize;
        let mut heads = 0u32;
        for q in 0..w {
            let k = idx(q);
            if x.pool_u[k * POOL_U] & 0xff != state::SENDING {
                continue;
            }
            let tgt = x.pool_u[k * POOL_U + 1];
            let mut first = true;
            for q2 in 0..q {
                let k2 = idx(q2);
                if x.pool_u[k2 * POOL_U] & 0xff == state::SENDING && x.pool_u[k2 * POOL_U + 1] == tgt {
                    first = false;
                }
            }
            if first {
                heads |= 1 << q;
            }
        }
        for q in 0..w {
            if heads & (1 << q) == 0 {
                continue;
            }
            let j = (x.pool_u[idx(q) * POOL_U + 1] as usize).min(n - 1);
            let mut budget = x.link[2 * (i * n + j)] * p.dt;
            for q2 in q..w {
                if budget <= 0.0 {
                    break;
                }
                let k = idx(q2);
                if x.pool_u[k * POOL_U] & 0xff != state::SENDING || x.pool_u[k * POOL_U + 1] as usize != j {
                    continue;
                }
                let rem = x.pool_f[k * POOL_F + 2];
                if rem <= budget {
                    budget -= rem;
                    if x.pool_u[k * POOL_U] & FLAG_LINK_FAIL != 0 {
                        x.stats_u[5] = x.stats_u[5].wrapping_add(1);
                        resolve(x, k, state::FAILED, t, &mut reward);
                    } else {
                        x.pool_u[k * POOL_U] = (x.pool_u[k * POOL_U] & !0xff) | state::QUEUED;
                        x.pool_f[k * POOL_F + 2] = x.pool_f[k * POOL_F + 1];
                        push(x.xq, j * xs, n * w, k);
                    }
                } else {
                    x.pool_f[k * POOL_F + 2] = rem - budget;
                    budget = 0.0;
                }
            }
        }
    }
    // 4. deadline (eq. 8): the only entry of origin i that can expire now arrived in slot
    // t − W + 1 (pool index (t + 1) mod W); queued ones are removed from their queue below.
    if t.wrapping_add(1) >= p.w {
        for i in 0..n {
            let k = i * w + (t.wrapping_add(1) % p.w) as usize;
            if x.pool_u[k * POOL_U] & 0xff == state::SENDING && x.pool_u[k * POOL_U + 2].wrapping_add(p.w - 1) == t {
                resolve(x, k, state::DROPPED, t, &mut reward);
            }
        }
    }
    for j in 0..n {
        let len = (x.xq[j * xs] as usize).min(n * w);
        let mut kept = 0;
        for h in 0..len {
            let k = (x.xq[j * xs + 1 + h] as usize).min(n * w - 1);
            if x.pool_u[k * POOL_U] & 0xff != state::QUEUED {
                continue;
            }
            if x.pool_u[k * POOL_U + 2].wrapping_add(p.w - 1) <= t {
                resolve(x, k, state::DROPPED, t, &mut reward);
                continue;
            }
            x.xq[j * xs + 1 + kept] = k as u32;
            kept += 1;
        }
        x.xq[j * xs] = kept as u32;
    }
    // 5. the arrivals of the next slot
    arrivals(p, b, t.wrapping_add(1), x.node, x.arr_u, x.arr_f);
    reward
}

/// Append pool entry `k` to the execution queue at `at` (length word, then entries); a corrupt
/// length is clamped so the write stays inside the queue.
#[inline(always)]
fn push(xq: &mut [u32], at: usize, cap: usize, k: usize) {
    let len = (xq[at] as usize).min(cap - 1);
    xq[at + 1 + len] = k as u32;
    xq[at] = len as u32 + 1;
}

/// Words per instance of every buffer, in the order node, link, arr_u, arr_f, pool_u, pool_f,
/// xq, stats_u, stats_f.
pub fn instance_words(p: &CoopParams) -> [usize; 9] {
    let (n, w) = (p.n as usize, p.w as usize);
    [3 * n, 2 * n * n, n, 4 * n, POOL_U * n * w, POOL_F * n * w, n * (1 + n * w), STATS_U, STATS_F]
}

pub(crate) fn check(op: &str, p: &CoopParams, names: &[(&str, usize)], bufs: &[&mut [u32]]) -> Result<()> {
    if p.n == 0 || p.w == 0 || p.w > MAX_WINDOW || p.n_cores == 0 || p.n_cores > 8 {
        return Err(crate::error::Error::input(
            format!("{op} params"),
            0,
            format!("n = {}, w = {}, n_cores = {}", p.n, p.w, p.n_cores),
            format!("need n >= 1, 1 <= w <= {MAX_WINDOW}, 1 <= n_cores <= 8"),
        ));
    }
    for (k, (name, per)) in names.iter().enumerate() {
        need(op, name, bufs[k].len(), per * p.b as usize)?;
    }
    Ok(())
}

/// The first `b` chunks of `per` words of `v`.
fn split(v: &mut [u32], per: usize, b: usize) -> Vec<&mut [u32]> {
    v[..per * b].chunks_mut(per.max(1)).collect()
}

type InstChunks<'a> = (&'a mut [u32], &'a mut [u32]);

/// `coop_reset`: bufs node, link, arr_u, arr_f, pool_u, pool_f, xq, stats_u, stats_f, reward.
pub fn cpu_reset(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CoopParams = decode(params);
    let iw = instance_words(&p);
    let names: Vec<(&str, usize)> =
        ["node", "link", "arr_u", "arr_f", "pool_u", "pool_f", "xq", "stats_u", "stats_f", "reward"]
            .into_iter()
            .zip(iw.iter().copied().chain([1]))
            .collect();
    check("coop_reset", &p, &names, bufs)?;
    let b = p.b as usize;
    let [node, link, arr_u, arr_f, pool_u, pool_f, xq, su, sf, rw] = bufs else { unreachable!("10 buffers") };
    let it = split(node, iw[0], b)
        .into_iter()
        .zip(split(link, iw[1], b))
        .zip(split(arr_u, iw[2], b))
        .zip(split(arr_f, iw[3], b))
        .zip(split(pool_u, iw[4], b))
        .zip(split(pool_f, iw[5], b))
        .zip(split(xq, iw[6], b))
        .zip(split(su, iw[7], b))
        .zip(split(sf, iw[8], b))
        .zip(split(rw, 1, b))
        .enumerate()
        .collect::<Vec<_>>();
    it.into_par_iter().for_each(|(bi, (((((((((nd, lk), au), af), pu), pf), xq), su), sf), rw))| {
        let (nd, lk): InstChunks<'_> = (nd, lk);
        let ndf: &mut [f32] = bytemuck::cast_slice_mut(nd);
        let lkf: &mut [f32] = bytemuck::cast_slice_mut(lk);
        let mut x = Inst {
            node: &[],
            link: &[],
            arr_u: au,
            arr_f: bytemuck::cast_slice_mut(af),
            pool_u: pu,
            pool_f: bytemuck::cast_slice_mut(pf),
            xq,
            stats_u: su,
            stats_f: bytemuck::cast_slice_mut(sf),
        };
        reset_instance(&p, bi as u32, &mut x, ndf, lkf);
        rw[0] = 0f32.to_bits();
    });
    Ok(())
}

/// `coop_step`: bufs node, link, act, arr_u, arr_f, pool_u, pool_f, xq, stats_u, stats_f, reward.
pub fn cpu_step(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CoopParams = decode(params);
    let iw = instance_words(&p);
    let n = p.n as usize;
    let names = [
        ("node", iw[0]),
        ("link", iw[1]),
        ("act", n),
        ("arr_u", iw[2]),
        ("arr_f", iw[3]),
        ("pool_u", iw[4]),
        ("pool_f", iw[5]),
        ("xq", iw[6]),
        ("stats_u", iw[7]),
        ("stats_f", iw[8]),
        ("reward", 1),
    ];
    check("coop_step", &p, &names, bufs)?;
    let b = p.b as usize;
    let [node, link, act, arr_u, arr_f, pool_u, pool_f, xq, su, sf, rw] = bufs else { unreachable!("11 buffers") };
    let node: &[f32] = bytemuck::cast_slice(&node[..iw[0] * b]);
    let link: &[f32] = bytemuck::cast_slice(&link[..iw[1] * b]);
    let act: &[u32] = &act[..n * b];
    let it = split(arr_u, iw[2], b)
        .into_iter()
        .zip(split(arr_f, iw[3], b))
        .zip(split(pool_u, iw[4], b))
        .zip(split(pool_f, iw[5], b))
        .zip(split(xq, iw[6], b))
        .zip(split(su, iw[7], b))
        .zip(split(sf, iw[8], b))
        .zip(split(rw, 1, b))
        .enumerate()
        .collect::<Vec<_>>();
    it.into_par_iter().for_each(|(bi, (((((((au, af), pu), pf), xq), su), sf), rw))| {
        let mut x = Inst {
            node: &node[bi * iw[0]..(bi + 1) * iw[0]],
            link: &link[bi * iw[1]..(bi + 1) * iw[1]],
            arr_u: au,
            arr_f: bytemuck::cast_slice_mut(af),
            pool_u: pu,
            pool_f: bytemuck::cast_slice_mut(pf),
            xq,
            stats_u: su,
            stats_f: bytemuck::cast_slice_mut(sf),
        };
        let r = step_instance(&p, bi as u32, &act[bi * n..(bi + 1) * n], &mut x);
        rw[0] = r.to_bits();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::coop::CoopConfig;

    #[test]
    fn formulas_by_hand() {
        // Eq. (1): 5.76e10 cycles on 18 cores × 3 GHz = 5.4e10 Hz → 1.0667 s.
        assert!((exec_time(5.76e10, 5.4e10) - 1.066_666_7).abs() < 1e-6);
        // Eq. (2): 4 MB = 3.2e7 bits at 25 MB/s = 2e8 bit/s → 0.16 s.
        assert_eq!(tx_time(3.2e7, 2e8), 0.16);
        // Eq. (4)/(5): α = 0.05 /s over 2 s → e^{-0.1} = 0.904837.
        assert!((reliability(0.05, 2.0) - 0.904_837_4).abs() < 1e-6);
        assert_eq!(reliability(0.0, 3.0), 1.0);
        // Failure draws: R^t = 0.8, R^c = 0.9.
        assert_eq!(failure_flags(0.85, 0.5, 0.8, 0.9, false), FLAG_LINK_FAIL);
        assert_eq!(failure_flags(0.85, 0.95, 0.8, 0.9, true), FLAG_NODE_FAIL);
        assert_eq!(failure_flags(0.79, 0.89, 0.8, 0.9, false), 0);
    }

    #[test]
    fn vectorized_arrivals_equal_the_scalar_draws() {
        let cfg = CoopConfig { n_nodes: 37, horizon: 5, ..Default::default() };
        let mut p = cfg.params(2, 9);
        p.episode = 3;
        let node: Vec<f32> = (0..37).flat_map(|i| [0.02 * i as f32, 1.0, 0.0]).collect();
        let (mut au, mut af) = (vec![9u32; 37], vec![9f32; 4 * 37]);
        let mut seen = [0usize; 2];
        for t in [0u32, 4, 5] {
            arrivals(&p, 1, t, &node, &mut au, &mut af);
            au.iter().for_each(|&a| seen[a.min(1) as usize] += 1);
            for i in 0..37 {
                let (a, s, c, ul, un) = draw_arrival(&p, 1, i as u32, t, node[3 * i]);
                let a = a && t < p.horizon;
                assert_eq!(au[i], a as u32);
                let want = if a { [s, c, ul, un] } else { [0.0; 4] };
                assert_eq!(
                    af[4 * i..4 * i + 4].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    want.map(f32::to_bits)
                );
            }
        }
        assert!(seen[0] > 37 && seen[1] > 5, "{seen:?}");
    }

    #[test]
    fn arrivals_follow_the_config() {
        let cfg = CoopConfig::default();
        let p = cfg.params(1, 5);
        let (mut hits, trials) = (0, 4000u32);
        for t in 0..trials {
            let (a, s, c, ul, un) = draw_arrival(&p, 0, 3, t, 0.25);
            hits += a as u32;
            assert!((8e6..6.4e7).contains(&s) && (800.0 * s..=2400.0 * s).contains(&c));
            assert!((0.0..1.0).contains(&ul) && (0.0..1.0).contains(&un));
            assert!(!draw_arrival(&p, 0, 3, t, 0.0).0 && draw_arrival(&p, 0, 3, t, 1.0).0);
        }
        let rate = hits as f64 / trials as f64;
        assert!((rate - 0.25).abs() < 0.03, "Bernoulli(0.25) rate {rate}");
        // Node parameters in their ranges; F from the core list × 3 GHz.
        for i in 0..50 {
            let (l, f, a) = draw_node(&p, 0, i);
            assert!((0.0..1.0).contains(&l) && (0.0..0.1).contains(&a));
            assert!(cfg.cores.iter().any(|&c| c as f32 * 3e9 == f));
            let (r, b) = draw_link(&p, 0, 0, i + 1);
            assert!((8e7..3.2e8).contains(&r) && (0.0..0.03).contains(&b));
        }
    }
}
