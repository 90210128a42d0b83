//! The `coop` heuristics and observations as CPU kernels (`coop_observe`, `coop_policy`): the
//! estimates of eq. (7) that RATC and RDA compare, the masks, and the observation of §IV-B1.
//! `kernels/env/coop.cu` and `shaders/env/coop.wgsl` mirror these functions operation for
//! operation.

use rayon::prelude::*;

use super::config::{state, CoopParams, POOL_F, POOL_U};
use super::cpu::{check, exec_time, instance_words, reliability, step_word, tx_time};
use crate::backend::params as decode;
use crate::error::Result;
use crate::rng::{self, stream};

/// Remaining work ahead of a new task sent from `i` to `j`: (bits in the send queue (i, j),
/// cycles in j's execution queue).
pub fn backlog(p: &CoopParams, i: usize, j: usize, pool_u: &[u32], pool_f: &[f32], xq: &[u32]) -> (f32, f32) {
    let (n, w) = (p.n as usize, p.w as usize);
    let xs = 1 + n * w;
    let mut bits = 0.0f32;
    if i != j {
        for q in 0..w {
            let k = i * w + (p.slot.wrapping_add(1 + q as u32) % p.w) as usize;
            if pool_u[k * POOL_U] & 0xff == state::SENDING && pool_u[k * POOL_U + 1] as usize == j {
                bits += pool_f[k * POOL_F + 2];
            }
        }
    }
    let mut cycles = 0.0f32;
    let len = (xq[j * xs] as usize).min(n * w);
    for h in 0..len {
        cycles += pool_f[(xq[j * xs + 1 + h] as usize).min(n * w - 1) * POOL_F + 2];
    }
    (bits, cycles)
}

/// Eq. (7) estimated from the queues at the decision: T = T^tw + T^t + T^cw + T^c, and the
/// reliability R^c·R^t (eq. 4, 5) of sending a task (s, c) from `i` to `j`.
#[allow(clippy::too_many_arguments)]
pub fn estimate(
    p: &CoopParams,
    i: usize,
    j: usize,
    s: f32,
    c: f32,
    node: &[f32],
    link: &[f32],
    pool_u: &[u32],
    pool_f: &[f32],
    xq: &[u32],
) -> (f32, f32) {
    let n = p.n as usize;
    let (bits, cycles) = backlog(p, i, j, pool_u, pool_f, xq);
    let f = node[3 * j + 1];
    let tc = exec_time(c, f);
    let tcw = exec_time(cycles, f);
    let r_node = reliability(node[3 * j + 2], tc);
    if i == j {
        return (tcw + tc, r_node);
    }
    let r = link[2 * (i * n + j)];
    let tt = tx_time(s, r);
    let ttw = tx_time(bits, r);
    (((ttw + tt) + tcw) + tc, r_node * reliability(link[2 * (i * n + j) + 1], tt))
}

/// Whether target `j` is allowed for node `i` (which has a task): itself always, another node
/// while its execution queue is shorter than the maximum queue length (§IV-B2).
#[inline(always)]
pub fn allowed(p: &CoopParams, i: usize, j: usize, xq: &[u32]) -> bool {
    let xs = 1 + p.n as usize * p.w as usize;
    j == i || xq[j * xs] < p.max_queue
}

/// The `k`-th allowed target of node `i` (k < number allowed).
fn kth_allowed(p: &CoopParams, i: usize, k: u32, others_only: bool, xq: &[u32]) -> usize {
    let mut seen = 0;
    for j in 0..p.n as usize {
        if allowed(p, i, j, xq) && !(others_only && j == i) {
            if seen == k {
                return j;
            }
            seen += 1;
        }
    }
    i
}

/// Two distinct uniform picks among `m ≥ 2` items from two raw words.
#[inline(always)]
pub fn two_picks(w0: u32, w1: u32, m: u32) -> (u32, u32) {
    let a = rng::uniform_index(w0, m);
    let mut b = rng::uniform_index(w1, m - 1);
    if b >= a {
        b += 1;
    }
    (a, b)
}

/// The heuristic action of node `i` (variant 0 Random, 1 RATC, 2 RDA; §V-B).
#[allow(clippy::too_many_arguments)]
pub fn policy_one(
    p: &CoopParams,
    b: u32,
    i: usize,
    node: &[f32],
    link: &[f32],
    arr_u: &[u32],
    arr_f: &[f32],
    pool_u: &[u32],
    pool_f: &[f32],
    xq: &[u32],
) -> u32 {
    let n = p.n as usize;
    if arr_u[i] == 0 {
        return p.n;
    }
    let w = rng::philox4x32_10(
        rng::counter(i as u32, b, step_word(p.episode, p.slot), stream::COOP_POLICY, 0),
        [p.key0, p.key1],
    );
    let (s, c) = (arr_f[4 * i], arr_f[4 * i + 1]);
    let est = |j: usize| estimate(p, i, j, s, c, node, link, pool_u, pool_f, xq);
    let xs = 1 + n * p.w as usize;
    match p.variant {
        0 => {
            // Random: uniform among the allowed targets.
            let m = (0..n).filter(|&j| allowed(p, i, j, xq)).count() as u32;
            kth_allowed(p, i, rng::uniform_index(w[0], m), false, xq) as u32
        }
        1 => {
            // RATC: probe two random allowed nodes; both meet the deadline → the more reliable,
            // else the one with the lower latency (ties: lower latency, then lower index).
            let m = (0..n).filter(|&j| allowed(p, i, j, xq)).count() as u32;
            if m < 2 {
                return i as u32;
            }
            let (a, bb) = two_picks(w[0], w[1], m);
            let (ja, jb) = (kth_allowed(p, i, a, false, xq), kth_allowed(p, i, bb, false, xq));
            let (ja, jb) = (ja.min(jb), ja.max(jb));
            let ((la, ra), (lb, rb)) = (est(ja), est(jb));
            let both = la <= p.deadline && lb <= p.deadline;
            let pick_b = if both { rb > ra || (rb == ra && lb < la) } else { lb < la };
            (if pick_b { jb } else { ja }) as u32
        }
        _ => {
            // RDA: local while the own execution queue is below the maximum; else the lower
            // estimated delay of two random responders (nodes below the maximum).
            if xq[i * xs] < p.max_queue {
                return i as u32;
            }
            let m = (0..n).filter(|&j| j != i && allowed(p, i, j, xq)).count() as u32;
            if m == 0 {
                return i as u32;
            }
            if m == 1 {
                return kth_allowed(p, i, 0, true, xq) as u32;
            }
            let (a, bb) = two_picks(w[0], w[1], m);
            let (ja, jb) = (kth_allowed(p, i, a, true, xq), kth_allowed(p, i, bb, true, xq));
            let (ja, jb) = (ja.min(jb), ja.max(jb));
            (if est(jb).0 < est(ja).0 { jb } else { ja }) as u32
        }
    }
}

/// The observation (§IV-B1, each element divided by its maximum, then the one-hot node index,
/// §IV-C2) and the action mask (§IV-B2) of node `i`: `obs` [3N + 5], `mask` [N + 1].
#[allow(clippy::too_many_arguments)]
pub fn observe_one(
    p: &CoopParams,
    i: usize,
    node: &[f32],
    link: &[f32],
    arr_u: &[u32],
    arr_f: &[f32],
    pool_u: &[u32],
    xq: &[u32],
    obs: &mut [f32],
    mask: &mut [u32],
) {
    let (n, w) = (p.n as usize, p.w as usize);
    let xs = 1 + n * w;
    obs[0] = node[3 * i] / p.lambda_norm;
    obs[1] = node[3 * i + 2] / p.alpha_norm;
    obs[2] = node[3 * i + 1] / p.f_norm;
    obs[3] = xq[i * xs] as f32 / (n * w) as f32;
    let mut o = 4;
    for j in 0..n {
        if j == i {
            continue;
        }
        // receiving queue l^r_ij: tasks of node j being sent to i
        let mut cnt = 0u32;
        for q in 0..w {
            let k = j * w + q;
            if pool_u[k * POOL_U] & 0xff == state::SENDING && pool_u[k * POOL_U + 1] as usize == i {
                cnt += 1;
            }
        }
        obs[o] = cnt as f32 / w as f32;
        obs[o + n - 1] = link[2 * (i * n + j)] / p.r_norm;
        o += 1;
    }
    o += n - 1;
    let has = arr_u[i] != 0;
    obs[o] = if has { arr_f[4 * i] / p.s_norm } else { 0.0 };
    obs[o + 1] = if has { arr_f[4 * i + 1] / p.c_norm } else { 0.0 };
    obs[o + 2] = if has { 1.0 } else { 0.0 }; // d_i(t) / max d (one deadline for every task)
    o += 3;
    for j in 0..n {
        obs[o + j] = if j == i { 1.0 } else { 0.0 };
        mask[j] = (has && allowed(p, i, j, xq)) as u32;
    }
    mask[n] = (!has) as u32;
}

/// `coop_observe`: bufs node, link, arr_u, arr_f, pool_u, xq, obs [B,N,3N+5], mask [B,N,N+1].
pub fn cpu_observe(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CoopParams = decode(params);
    let iw = instance_words(&p);
    let n = p.n as usize;
    let od = 3 * n + 5;
    let names = [
        ("node", iw[0]),
        ("link", iw[1]),
        ("arr_u", iw[2]),
        ("arr_f", iw[3]),
        ("pool_u", iw[4]),
        ("xq", iw[6]),
        ("obs", n * od),
        ("mask", n * (n + 1)),
    ];
    check("coop_observe", &p, &names, bufs)?;
    let b = p.b as usize;
    let (ro, out) = bufs.split_at_mut(6);
    let [node, link, arr_u, arr_f, pool_u, xq] = ro else { unreachable!("6 inputs") };
    let [obs, mask] = out else { unreachable!("2 outputs") };
    let (node, link, arr_f): (&[f32], &[f32], &[f32]) =
        (bytemuck::cast_slice(node), bytemuck::cast_slice(link), bytemuck::cast_slice(arr_f));
    let obs: &mut [f32] = bytemuck::cast_slice_mut(&mut obs[..b * n * od]);
    obs.par_chunks_mut(od).zip(mask[..b * n * (n + 1)].par_chunks_mut(n + 1)).enumerate().for_each(|(t, (o, m))| {
        let (bi, i) = (t / n, t % n);
        let r = |k: usize| bi * iw[k]..(bi + 1) * iw[k];
        observe_one(&p, i, &node[r(0)], &link[r(1)], &arr_u[r(2)], &arr_f[r(3)], &pool_u[r(4)], &xq[r(6)], o, m);
    });
    Ok(())
}

/// `coop_policy`: bufs node, link, arr_u, arr_f, pool_u, pool_f, xq, act \[B,N\].
pub fn cpu_policy(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CoopParams = decode(params);
    let iw = instance_words(&p);
    let n = p.n as usize;
    let names = [
        ("node", iw[0]),
        ("link", iw[1]),
        ("arr_u", iw[2]),
        ("arr_f", iw[3]),
        ("pool_u", iw[4]),
        ("pool_f", iw[5]),
        ("xq", iw[6]),
        ("act", n),
    ];
    check("coop_policy", &p, &names, bufs)?;
    let b = p.b as usize;
    let (ro, out) = bufs.split_at_mut(7);
    let [node, link, arr_u, arr_f, pool_u, pool_f, xq] = ro else { unreachable!("7 inputs") };
    let (node, link, arr_f, pool_f): (&[f32], &[f32], &[f32], &[f32]) = (
        bytemuck::cast_slice(node),
        bytemuck::cast_slice(link),
        bytemuck::cast_slice(arr_f),
        bytemuck::cast_slice(pool_f),
    );
    out[0][..b * n].par_iter_mut().enumerate().for_each(|(t, a)| {
        let (bi, i) = (t / n, t % n);
        let r = |k: usize| bi * iw[k]..(bi + 1) * iw[k];
        *a = policy_one(
            &p,
            bi as u32,
            i,
            &node[r(0)],
            &link[r(1)],
            &arr_u[r(2)],
            &arr_f[r(3)],
            &pool_u[r(4)],
            &pool_f[r(5)],
            &xq[r(6)],
        );
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::coop::CoopConfig;

    #[test]
    fn two_picks_are_distinct_and_cover_every_pair() {
        let mut seen = std::collections::BTreeSet::new();
        for k in 0..2000u32 {
            let w = rng::philox4x32_10([k, 0, 0, 0], [1, 2]);
            let (a, b) = two_picks(w[0], w[1], 4);
            assert!(a != b && a < 4 && b < 4);
            seen.insert((a, b));
        }
        assert_eq!(seen.len(), 12);
    }

    #[test]
    fn estimate_adds_the_four_delays_of_eq7() {
        // 2 nodes, W = 2; node 1 F = 10 Hz, α = 0; link r = 5 bit/s, β = 0.1.
        let cfg = CoopConfig { n_nodes: 2, slot_s: 1.0, deadline_s: 2.0, ..Default::default() };
        let p = cfg.params(1, 1);
        let node = [0.0, 10.0, 0.0, 0.0, 10.0, 0.0];
        let link = [0.0, 0.0, 5.0, 0.1, 5.0, 0.1, 0.0, 0.0];
        // Node 0 has 10 bits in its send queue to node 1; node 1 has 30 cycles queued.
        let mut pool_u = vec![0u32; 4 * 4];
        let mut pool_f = vec![0f32; 4 * 4];
        pool_u[4..8].copy_from_slice(&[state::SENDING, 1, 1, 0]);
        pool_f[4 + 2] = 10.0;
        pool_u[4 * 2..4 * 2 + 4].copy_from_slice(&[state::QUEUED, 1, 1, 0]);
        pool_f[4 * 2 + 2] = 30.0;
        let xq = [0, 0, 0, 0, 0, 1, 2, 0, 0, 0];
        // Task: 5 bits, 20 cycles → T^tw = 2, T^t = 1, T^cw = 3, T^c = 2 → 8 s; R = e^{-0.1}.
        let (l, r) = estimate(&p, 0, 1, 5.0, 20.0, &node, &link, &pool_u, &pool_f, &xq);
        assert_eq!(l, 8.0);
        assert!((r - (-0.1f32).exp()).abs() < 1e-6);
        // Locally (node 0, empty queue): T^c = 2 s, R = 1.
        assert_eq!(estimate(&p, 0, 0, 5.0, 20.0, &node, &link, &pool_u, &pool_f, &xq), (2.0, 1.0));
    }
}
