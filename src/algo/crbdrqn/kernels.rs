//! The kernels of CRB-DRQN (stem `crbdrqn`): the central trajectory pool (eq. 21) filled from an
//! episode of decisions, its familiarity sampling (eq. 22) and the double-DQN target (eq. 23–24).
//!
//! The episode store is the rollout core's [T, E] layout (E = B·D terminals): `obs` [T, E, F],
//! `action`, `reward` (credited to the arrival slot), `weight` (1.0 where the terminal decided,
//! i.e. a task arrived) and the instance's Load(t) `load` [T, B, L]. The pool is a ring of `cap`
//! trajectories: `p_obs` [cap, n + 1, F], `p_load` [cap, n + 1, L] (the n states and the state of
//! the decision after them), `p_action`, `p_reward` [cap, n], `p_next` \[cap\] (1 when that
//! (n + 1)-th decision exists in the episode, else the last step is terminal), `p_fam` \[cap\]
//! (times sampled) and `ring` = [head, filled, base, produced].
//!
//! - `crbdrqn_count` (thread per terminal): ⌊decisions / n⌋ complete trajectories (Alg. 1: a
//!   trajectory is sent when n decisions are collected; a partial one at the episode's end is
//!   not sent).
//! - `crbdrqn_scan` (one thread): exclusive prefix of the counts in terminal order; advances the
//!   ring (`base` = the old head; at most `cap` of an episode's trajectories are kept, the first
//!   ones in terminal order).
//! - `crbdrqn_write` (thread per terminal): writes its trajectories at (base + offset + j) mod cap
//!   with familiarity 0.
//! - `crbdrqn_sample` (thread per draw k): inverse CDF of eq. (22) over the filled slots, the sum in
//!   slot order, u from Philox block (k, 0, step, CRBDRQN_POOL).
//! - `crbdrqn_touch` (one thread): N_i += 1 for every draw, in draw order.
//! - `crbdrqn_gather` (thread per row (s, k), s < n): the minibatch step-major — row s·K + k is
//!   step s (`shift` = 0: the state; 1: the next state) of draw k — with its action, reward and
//!   terminal flag.
//! - `crbdrqn_target` (thread per row): eq. (23)–(24), a* = argmax_a Q(s′, a; θ) (the first
//!   maximum), y = r + γ·(1 − terminal)·Q(s′, a*; θ⁻).

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::math;
use crate::rng;

/// Parameters of every `crbdrqn_*` kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PoolParams {
    /// E, terminals of the episode store (B·D).
    pub cols: u32,
    /// T, slots of the episode store.
    pub steps: u32,
    /// F, observation width.
    pub f: u32,
    /// L, Load(t) width (C·E_servers).
    pub l: u32,
    /// D, terminals per instance (the instance of column e is e / D).
    pub agents: u32,
    /// n, decisions per trajectory.
    pub n: u32,
    /// Pool capacity (trajectories).
    pub cap: u32,
    /// K, trajectories per minibatch.
    pub k: u32,
    /// `crbdrqn_gather`: 0 the states, 1 the next states.
    pub shift: u32,
    /// α of eq. (22).
    pub alpha: f32,
    /// Philox key word 0.
    pub key0: u32,
    /// Philox key word 1.
    pub key1: u32,
    /// Philox counter word 2: the training step.
    pub step: u32,
    /// γ (`crbdrqn_target`).
    pub gamma: f32,
    /// Actions (`crbdrqn_target`).
    pub actions: u32,
    /// Rows (`crbdrqn_target`).
    pub rows: u32,
}

/// Words of the `ring` buffer: [head, filled, base, produced] (none for an empty pool's
/// parameters, so a zero parameter block needs no buffer).
fn ring_words(p: &PoolParams) -> usize {
    if p.cap > 0 {
        4
    } else {
        0
    }
}

/// Familiarity N_i of a trajectory sampled `times` times: 3 + times (docs/crbdrqn.md: the
/// paper's count from 1 gives ln 1 = 0, probability 0 to every fresh trajectory).
pub const FAMILIARITY_START: u32 = 3;

/// Eq. (22), unnormalized: (ln N / N)^{α/2} = exp(α/2 · (ln ln N − ln N)), N = 3 + `times`.
#[inline]
pub fn familiarity_weight(alpha: f32, times: u32) -> f32 {
    let n = times.saturating_add(FAMILIARITY_START) as f32;
    let ln_n = math::ln(n);
    math::exp(0.5 * alpha * (math::ln(ln_n) - ln_n))
}

/// Eq. (22): P(i) over the first `filled` slots (host, for tests and reports).
pub fn probabilities(alpha: f32, fam: &[u32]) -> Vec<f64> {
    let w: Vec<f64> = fam.iter().map(|&n| familiarity_weight(alpha, n) as f64).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|x| x / total).collect()
}

/// Decisions of column `e`: the slots with weight > 0, in order.
fn decisions<'a>(p: &PoolParams, weight: &'a [f32], e: usize) -> impl Iterator<Item = usize> + 'a {
    let cols = p.cols as usize;
    (0..p.steps as usize).filter(move |&t| weight[t * cols + e] > 0.0)
}

/// `crbdrqn_count`: bufs weight [T, E], count \[E\].
pub fn cpu_count(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PoolParams = decode(params);
    let (e, t) = (p.cols as usize, p.steps as usize);
    need_all("crbdrqn_count", bufs, &[("weight", t * e), ("count", e)])?;
    let [weight, count] = bufs else { unreachable!("the spec has 2 buffers") };
    let weight = f32s(weight);
    for (c, out) in count[..e].iter_mut().enumerate() {
        *out = decisions(&p, weight, c).count() as u32 / p.n.max(1);
    }
    Ok(())
}

/// `crbdrqn_scan`: bufs count \[E\], offset \[E\], ring \[4\].
pub fn cpu_scan(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PoolParams = decode(params);
    let e = p.cols as usize;
    need_all("crbdrqn_scan", bufs, &[("count", e), ("offset", e), ("ring", ring_words(&p))])?;
    let [count, offset, ring] = bufs else { unreachable!("the spec has 3 buffers") };
    if p.cap == 0 {
        return Ok(());
    }
    let mut total = 0u32;
    for c in 0..e {
        offset[c] = total;
        total = total.saturating_add(count[c]);
    }
    let kept = total.min(p.cap);
    let head = ring[0] % p.cap.max(1);
    ring[2] = head;
    ring[0] = (head + kept) % p.cap.max(1);
    ring[1] = (ring[1] + kept).min(p.cap);
    ring[3] = total;
    Ok(())
}

/// `crbdrqn_write`: bufs obs, load, action, reward, weight, count, offset, ring, p_obs, p_load,
/// p_action, p_reward, p_next, p_fam.
pub fn cpu_write(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PoolParams = decode(params);
    let (e, t, f, l, n, cap) =
        (p.cols as usize, p.steps as usize, p.f as usize, p.l as usize, p.n as usize, p.cap as usize);
    let b = e / (p.agents.max(1) as usize);
    need_all(
        "crbdrqn_write",
        bufs,
        &[
            ("obs", t * e * f),
            ("load", t * b * l),
            ("action", t * e),
            ("reward", t * e),
            ("weight", t * e),
            ("count", e),
            ("offset", e),
            ("ring", ring_words(&p)),
            ("p_obs", cap * (n + 1) * f),
            ("p_load", cap * (n + 1) * l),
            ("p_action", cap * n),
            ("p_reward", cap * n),
            ("p_next", cap),
            ("p_fam", cap),
        ],
    )?;
    let [obs, load, action, reward, weight, count, offset, ring, p_obs, p_load, p_action, p_reward, p_next, p_fam] =
        bufs
    else {
        unreachable!("the spec has 14 buffers")
    };
    let weight = f32s(weight);
    for c in 0..e {
        for (j, s) in decisions(&p, weight, c).enumerate() {
            let src = [&**obs, &**load, &**action, &**reward, &**count, &**offset, &**ring];
            let dst = [&mut **p_obs, &mut **p_load, &mut **p_action, &mut **p_reward, &mut **p_next, &mut **p_fam];
            write_one(&p, c, j, s, src, dst);
        }
    }
    Ok(())
}

/// Decision `j` (at slot `s`) of column `c` into the pool: step j mod n of trajectory ⌊j / n⌋,
/// and the next state (step n) of trajectory ⌊j / n⌋ − 1 when j is a multiple of n.
fn write_one(p: &PoolParams, c: usize, j: usize, s: usize, src: [&[u32]; 7], dst: [&mut [u32]; 6]) {
    let [obs, load, action, reward, count, offset, ring] = src;
    let [p_obs, p_load, p_action, p_reward, p_next, p_fam] = dst;
    let (e, f, l, n, cap) = (p.cols as usize, p.f as usize, p.l as usize, p.n as usize, p.cap as usize);
    let inst = c / p.agents.max(1) as usize;
    let b = e / p.agents.max(1) as usize;
    let (traj, step) = (j / n, j % n);
    let slot_of = |tr: usize| -> Option<usize> {
        let g = offset[c] as usize + tr;
        (tr < count[c] as usize && g < cap).then(|| (ring[2] as usize + g) % cap)
    };
    let put_state = |p_obs: &mut [u32], p_load: &mut [u32], slot: usize, pos: usize| {
        let o = (slot * (n + 1) + pos) * f;
        p_obs[o..o + f].copy_from_slice(&obs[(s * e + c) * f..(s * e + c + 1) * f]);
        let o = (slot * (n + 1) + pos) * l;
        p_load[o..o + l].copy_from_slice(&load[(s * b + inst) * l..(s * b + inst + 1) * l]);
    };
    if let Some(slot) = slot_of(traj) {
        put_state(p_obs, p_load, slot, step);
        p_action[slot * n + step] = action[s * e + c];
        p_reward[slot * n + step] = reward[s * e + c];
        if step == 0 {
            p_next[slot] = 0;
            p_fam[slot] = 0;
            p_obs[(slot * (n + 1) + n) * f..(slot * (n + 1) + n + 1) * f].fill(0);
            p_load[(slot * (n + 1) + n) * l..(slot * (n + 1) + n + 1) * l].fill(0);
        }
    }
    if step == 0 && traj >= 1 {
        if let Some(slot) = slot_of(traj - 1) {
            put_state(p_obs, p_load, slot, n);
            p_next[slot] = 1;
        }
    }
}

/// One draw of `crbdrqn_sample` (thread k): the slot whose cumulative weight first exceeds u·Σ.
pub fn sample_one(p: &PoolParams, k: u32, fam: &[u32], filled: u32) -> u32 {
    let size = filled.min(p.cap) as usize;
    let mut total = 0.0f32;
    for &x in &fam[..size] {
        total += familiarity_weight(p.alpha, x);
    }
    let w = rng::philox4x32_10(rng::counter(k, 0, p.step, rng::stream::CRBDRQN_POOL, 0), [p.key0, p.key1]);
    let target = rng::uniform(w[0]) * total;
    let mut cum = 0.0f32;
    for (s, &x) in fam[..size].iter().enumerate() {
        cum += familiarity_weight(p.alpha, x);
        if target < cum {
            return s as u32;
        }
    }
    (size as u32).saturating_sub(1)
}

/// `crbdrqn_sample`: bufs p_fam \[cap\], ring \[4\], idx \[K\]. The CPU forms the running sums once
/// (the same f32 additions in the same order as every thread of the device kernels, so the
/// same cumulative values) and finds each draw by bisection: O(cap + K log cap), not O(K·cap).
pub fn cpu_sample(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PoolParams = decode(params);
    let (cap, k) = (p.cap as usize, p.k as usize);
    need_all("crbdrqn_sample", bufs, &[("p_fam", cap), ("ring", ring_words(&p)), ("idx", k)])?;
    let [fam, ring, idx] = bufs else { unreachable!("the spec has 3 buffers") };
    let size = if p.cap == 0 { 0 } else { ring[1].min(p.cap) as usize };
    // the weight of a familiarity, computed once per distinct small count
    let mut table = [f32::NAN; 64];
    let mut cum = Vec::with_capacity(size);
    let mut total = 0.0f32;
    for &x in &fam[..size] {
        let w = match table.get_mut(x as usize) {
            Some(t) if !t.is_nan() => *t,
            Some(t) => {
                *t = familiarity_weight(p.alpha, x);
                *t
            }
            None => familiarity_weight(p.alpha, x),
        };
        total += w;
        cum.push(total);
    }
    for (kk, out) in idx[..k].iter_mut().enumerate() {
        let w = rng::philox4x32_10(rng::counter(kk as u32, 0, p.step, rng::stream::CRBDRQN_POOL, 0), [p.key0, p.key1]);
        let target = rng::uniform(w[0]) * total;
        // the first slot whose running sum exceeds the target (the sums never decrease)
        let s = cum.partition_point(|&c| c <= target);
        *out = if s < size { s as u32 } else { (size as u32).saturating_sub(1) };
    }
    Ok(())
}

/// `crbdrqn_touch`: bufs idx \[K\], p_fam \[cap\].
pub fn cpu_touch(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PoolParams = decode(params);
    let (cap, k) = (p.cap as usize, p.k as usize);
    need_all("crbdrqn_touch", bufs, &[("idx", k), ("p_fam", cap)])?;
    let [idx, fam] = bufs else { unreachable!("the spec has 2 buffers") };
    for &i in &idx[..k] {
        if (i as usize) < cap {
            fam[i as usize] = fam[i as usize].saturating_add(1);
        }
    }
    Ok(())
}

/// `crbdrqn_gather`: bufs idx, p_obs, p_load, p_action, p_reward, p_next, obs_out [n·K, F],
/// load_out [n·K, L], action_out, reward_out, term_out [n·K].
pub fn cpu_gather(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PoolParams = decode(params);
    let (f, l, n, cap, k) = (p.f as usize, p.l as usize, p.n as usize, p.cap as usize, p.k as usize);
    let rows = n * k;
    need_all(
        "crbdrqn_gather",
        bufs,
        &[
            ("idx", k),
            ("p_obs", cap * (n + 1) * f),
            ("p_load", cap * (n + 1) * l),
            ("p_action", cap * n),
            ("p_reward", cap * n),
            ("p_next", cap),
            ("obs_out", rows * f),
            ("load_out", rows * l),
            ("action_out", rows),
            ("reward_out", rows),
            ("term_out", rows),
        ],
    )?;
    let [idx, p_obs, p_load, p_action, p_reward, p_next, obs_out, load_out, action_out, reward_out, term_out] = bufs
    else {
        unreachable!("the spec has 11 buffers")
    };
    if cap == 0 {
        return Ok(());
    }
    for r in 0..rows {
        let (s, kk) = (r / k, r % k);
        let slot = (idx[kk] as usize).min(cap - 1);
        let pos = s + p.shift.min(1) as usize;
        let o = (slot * (n + 1) + pos) * f;
        obs_out[r * f..(r + 1) * f].copy_from_slice(&p_obs[o..o + f]);
        let o = (slot * (n + 1) + pos) * l;
        load_out[r * l..(r + 1) * l].copy_from_slice(&p_load[o..o + l]);
        action_out[r] = p_action[slot * n + s];
        reward_out[r] = p_reward[slot * n + s];
        let term = s + 1 == n && p_next[slot] == 0;
        f32s_mut(term_out)[r] = if term { 1.0 } else { 0.0 };
    }
    Ok(())
}

/// Eq. (23)–(24) for one row: (y, a*).
pub fn target_row(gamma: f32, q_next: &[f32], q_target: &[f32], reward: f32, term: f32) -> (f32, u32) {
    let mut best = 0usize;
    for (a, &q) in q_next.iter().enumerate() {
        if q > q_next[best] {
            best = a;
        }
    }
    let keep = 1.0 - term;
    (reward + gamma * keep * q_target[best], best as u32)
}

/// `crbdrqn_target`: bufs q_next [R, A] (θ), q_target [R, A] (θ⁻), reward \[R\], term \[R\], y \[R\],
/// a_next \[R\].
pub fn cpu_target(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: PoolParams = decode(params);
    let (r, a) = (p.rows as usize, p.actions as usize);
    need_all(
        "crbdrqn_target",
        bufs,
        &[("q_next", r * a), ("q_target", r * a), ("reward", r), ("term", r), ("y", r), ("a_next", r)],
    )?;
    let [q_next, q_target, reward, term, y, a_next] = bufs else { unreachable!("the spec has 6 buffers") };
    let (qn, qt, rw, tm) = (f32s(q_next), f32s(q_target), f32s(reward), f32s(term));
    let mut ys = vec![0f32; r];
    for i in 0..r {
        let (v, best) = target_row(p.gamma, &qn[i * a..(i + 1) * a], &qt[i * a..(i + 1) * a], rw[i], tm[i]);
        ys[i] = v;
        a_next[i] = best;
    }
    f32s_mut(y)[..r].copy_from_slice(&ys);
    Ok(())
}

fn sizes_count(bytes: &[u8]) -> Vec<u64> {
    let p: PoolParams = decode(bytes);
    vec![p.steps as u64 * p.cols as u64, p.cols as u64]
}

fn sizes_scan(bytes: &[u8]) -> Vec<u64> {
    let p: PoolParams = decode(bytes);
    vec![p.cols as u64, p.cols as u64, ring_words(&p) as u64]
}

fn sizes_write(bytes: &[u8]) -> Vec<u64> {
    let p: PoolParams = decode(bytes);
    let (e, t, f, l, n, cap) = (p.cols as u64, p.steps as u64, p.f as u64, p.l as u64, p.n as u64, p.cap as u64);
    let b = e / p.agents.max(1) as u64;
    vec![
        t * e * f,
        t * b * l,
        t * e,
        t * e,
        t * e,
        e,
        e,
        ring_words(&p) as u64,
        cap * (n + 1) * f,
        cap * (n + 1) * l,
        cap * n,
        cap * n,
        cap,
        cap,
    ]
}

fn sizes_sample(bytes: &[u8]) -> Vec<u64> {
    let p: PoolParams = decode(bytes);
    vec![p.cap as u64, ring_words(&p) as u64, p.k as u64]
}

fn sizes_touch(bytes: &[u8]) -> Vec<u64> {
    let p: PoolParams = decode(bytes);
    vec![p.k as u64, p.cap as u64]
}

fn sizes_gather(bytes: &[u8]) -> Vec<u64> {
    let p: PoolParams = decode(bytes);
    let (f, l, n, cap, k) = (p.f as u64, p.l as u64, p.n as u64, p.cap as u64, p.k as u64);
    let r = n * k;
    vec![k, cap * (n + 1) * f, cap * (n + 1) * l, cap * n, cap * n, cap, r * f, r * l, r, r, r]
}

fn sizes_target(bytes: &[u8]) -> Vec<u64> {
    let p: PoolParams = decode(bytes);
    let (r, a) = (p.rows as u64, p.actions as u64);
    vec![r * a, r * a, r, r, r, r]
}

crate::kernel_params!(PoolParams {
    cols,
    steps,
    f,
    l,
    agents,
    n,
    cap,
    k,
    shift,
    alpha,
    key0,
    key1,
    step,
    gamma,
    actions,
    rows
});

crate::kernels! {
    stem "algo" / "crbdrqn";
    /// CRB-DRQN: complete trajectories per terminal of an episode.
    CRBDRQN_COUNT = crbdrqn_count(PoolParams; weight: R F32, count: W U32)
        cpu cpu_count, sizes sizes_count;
    /// CRB-DRQN: the trajectories' offsets and the pool ring's advance.
    CRBDRQN_SCAN = crbdrqn_scan(PoolParams; count: R U32, offset: W U32, ring: W U32)
        cpu cpu_scan, sizes sizes_scan;
    /// CRB-DRQN: an episode's trajectories into the central pool (eq. 21).
    CRBDRQN_WRITE = crbdrqn_write(PoolParams;
        obs: R F32, load: R F32, action: R U32, reward: R F32, weight: R F32, count: R U32, offset: R U32,
        ring: R U32, p_obs: W F32, p_load: W F32, p_action: W U32, p_reward: W F32, p_next: W U32, p_fam: W U32
    )
        cpu cpu_write, sizes sizes_write;
    /// CRB-DRQN: familiarity sampling (eq. 22).
    CRBDRQN_SAMPLE = crbdrqn_sample(PoolParams; p_fam: R U32, ring: R U32, idx: W U32)
        cpu cpu_sample, sizes sizes_sample;
    /// CRB-DRQN: the sampled trajectories' familiarity += 1.
    CRBDRQN_TOUCH = crbdrqn_touch(PoolParams; idx: R U32, p_fam: W U32)
        cpu cpu_touch, sizes sizes_touch;
    /// CRB-DRQN: a minibatch of trajectories, step-major.
    CRBDRQN_GATHER = crbdrqn_gather(PoolParams;
        idx: R U32, p_obs: R F32, p_load: R F32, p_action: R U32, p_reward: R F32, p_next: R U32,
        obs_out: W F32, load_out: W F32, action_out: W U32, reward_out: W F32, term_out: W F32
    )
        cpu cpu_gather, sizes sizes_gather;
    /// CRB-DRQN: the double-DQN target (eq. 23–24).
    CRBDRQN_TARGET = crbdrqn_target(PoolParams;
        q_next: R F32, q_target: R F32, reward: R F32, term: R F32, y: W F32, a_next: W U32
    )
        cpu cpu_target, sizes sizes_target;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{create, BackendKind};

    #[test]
    fn familiarity_probabilities_follow_eq_22_by_hand() {
        // α = 2: w = ln N / N; N = 3, 4, 5 (sampled 0, 1, 2 times)
        let w = [3f64.ln() / 3.0, 4f64.ln() / 4.0, 5f64.ln() / 5.0];
        let total: f64 = w.iter().sum();
        let p = probabilities(2.0, &[0, 1, 2]);
        for (got, want) in p.iter().zip(w.iter().map(|x| x / total)) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        // 0.3662 / 1.0347 = 0.3539 for the fresh one: less familiar, likelier
        assert!((p[0] - 0.353_94).abs() < 1e-4 && p[0] > p[1] && p[1] > p[2], "{p:?}");
        // α = 0: uniform; α = 4: the squares
        assert!(probabilities(0.0, &[0, 5, 9]).iter().all(|&x| (x - 1.0 / 3.0).abs() < 1e-6));
        let sq: Vec<f64> = w.iter().map(|x| x * x).collect();
        let s2: f64 = sq.iter().sum();
        for (got, want) in probabilities(4.0, &[0, 1, 2]).iter().zip(sq.iter().map(|x| x / s2)) {
            assert!((got - want).abs() < 1e-5);
        }
    }

    #[test]
    fn the_bisected_draws_are_the_scanned_ones() {
        let fam: Vec<u32> = (0..500u32).map(|i| (i * 7 + i / 3) % 70).collect();
        for (filled, alpha) in [(500u32, 1.0f32), (37, 2.5), (1, 1.0)] {
            let p = PoolParams { cap: 500, k: 300, alpha, key0: 4, key1: 9, step: 12, ..Default::default() };
            let mut idx = vec![0u32; 300];
            let mut f = fam.clone();
            let mut ring = vec![0, filled, 0, 0];
            cpu_sample(bytemuck::bytes_of(&p), &mut [&mut f, &mut ring, &mut idx]).unwrap();
            let want: Vec<u32> = (0..300).map(|k| sample_one(&p, k, &fam, filled)).collect();
            assert_eq!(idx, want);
        }
    }

    #[test]
    fn double_dqn_target_by_hand() {
        // a* by θ's Q (row 0: action 2), valued by θ⁻'s Q: y = −3 + 0.9 · (−10) = −12
        assert_eq!(target_row(0.9, &[-5.0, -4.0, -1.0], &[-2.0, -3.0, -10.0], -3.0, 0.0), (-12.0, 2));
        // terminal: y = r
        assert_eq!(target_row(0.9, &[-5.0, -4.0, -1.0], &[-2.0, -3.0, -10.0], -36.0, 1.0), (-36.0, 2));
        // ties go to the first maximum
        assert_eq!(target_row(0.5, &[1.0, 1.0], &[4.0, 8.0], 0.0, 0.0), (2.0, 0));
    }

    #[test]
    fn an_episode_is_cut_into_trajectories_with_their_next_states() {
        let be = create(BackendKind::Cpu).unwrap();
        // T = 7 slots, E = 2 terminals (D = 1 per instance), F = 1, L = 1, n = 2, cap = 3
        let (t, e, n, cap) = (7usize, 2usize, 2usize, 3usize);
        let p = PoolParams { cols: 2, steps: 7, f: 1, l: 1, agents: 1, n: 2, cap: 3, ..Default::default() };
        // terminal 0 decides at slots 0, 2, 3, 5, 6 (5 decisions: 2 trajectories, next of the
        // second = slot 6); terminal 1 at 1, 4 (1 trajectory, no next)
        let mut weight = vec![0f32; t * e];
        for s in [0, 2, 3, 5, 6] {
            weight[s * e] = 1.0;
        }
        for s in [1, 4] {
            weight[s * e + 1] = 1.0;
        }
        let obs: Vec<f32> = (0..t * e).map(|i| (10 * (i / e) + i % e) as f32).collect(); // 10·slot + terminal
        let load: Vec<f32> = (0..t * e).map(|i| 100.0 + i as f32).collect();
        let action: Vec<u32> = (0..t * e).map(|i| i as u32 % 3).collect();
        let reward: Vec<f32> = (0..t * e).map(|i| -(i as f32)).collect();
        let run = |k, words: Vec<Vec<u32>>| {
            let bufs: Vec<_> = words.iter().map(|w| be.upload(w).unwrap()).collect();
            let refs: Vec<_> = bufs.iter().collect();
            be.launch(k, bytemuck::bytes_of(&p), 1, &refs).unwrap();
            bufs.iter().map(|b| be.download(b).unwrap()).collect::<Vec<_>>()
        };
        let f = |v: &[f32]| bytemuck::cast_slice::<f32, u32>(v).to_vec();
        let count = run(&CRBDRQN_COUNT, vec![f(&weight), vec![9; e]])[1].clone();
        assert_eq!(count, vec![2, 1]);
        // the ring's head at 2: the three trajectories land in slots 2, 0, 1
        let r = run(&CRBDRQN_SCAN, vec![count.clone(), vec![9; e], vec![2, 1, 0, 0]]);
        let (offset, ring) = (r[1].clone(), r[2].clone());
        assert_eq!((offset.clone(), ring.clone()), (vec![0, 2], vec![2, 3, 2, 3]));
        let w = run(
            &CRBDRQN_WRITE,
            vec![
                f(&obs),
                f(&load),
                action.clone(),
                f(&reward),
                f(&weight),
                count,
                offset,
                ring,
                vec![7; cap * (n + 1)],
                vec![7; cap * (n + 1)],
                vec![7; cap * n],
                vec![7; cap * n],
                vec![7; cap],
                vec![7; cap],
            ],
        );
        let p_obs: Vec<f32> = bytemuck::cast_slice(&w[8]).to_vec();
        // slot 2: terminal 0's decisions at 0, 2 and next 3; slot 0: at 3, 5, next 6;
        // slot 1: terminal 1 at 1, 4, no next (zeros)
        assert_eq!(p_obs, vec![30.0, 50.0, 60.0, 11.0, 41.0, 0.0, 0.0, 20.0, 30.0]);
        assert_eq!(w[10], vec![action[6], action[10], action[3], action[9], action[0], action[4]]);
        let p_reward: Vec<f32> = bytemuck::cast_slice(&w[11]).to_vec();
        assert_eq!(p_reward, vec![-6.0, -10.0, -3.0, -9.0, -0.0, -4.0]);
        assert_eq!((w[12].clone(), w[13].clone()), (vec![1, 0, 1], vec![0, 0, 0]));
    }
}
