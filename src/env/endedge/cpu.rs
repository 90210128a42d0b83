//! The `endedge` CPU kernels, the reference of every backend (their specs are in `kernels.rs`),
//! and their buffer sizes.

use rayon::prelude::*;

use super::config::*;
use super::model::{Flow, Terminal};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::{params as decode, SizeFn};
use crate::error::{Error, Result};
use crate::rng::{self, stream};

fn check(op: &str, sizes: SizeFn, params: &[u8], bufs: &[&mut [u32]], names: &[&str]) -> Result<()> {
    for ((n, want), have) in names.iter().zip(sizes(params)).zip(bufs) {
        need(op, n, have.len(), want as usize)?;
    }
    Ok(())
}

/// The arrival of terminal `d` of instance `b` at slot t: Bernoulli(p) and a size on the grid
/// (one Philox block: word 0 the coin, word 1 the size).
#[inline(always)]
pub fn arrival(p: &EndedgeParams, b: u32, d: u32) -> f32 {
    if p.t >= p.arrive_until {
        return 0.0;
    }
    let x = rng::philox4x32_10(rng::counter(d, b, p.t, stream::ENDEDGE_ARRIVAL, 0), [p.key0, p.key1]);
    if rng::uniform(x[0]) >= p.p_arrive {
        return 0.0;
    }
    p.size_min + p.size_step * rng::uniform_index(x[1], p.size_levels) as f32
}

/// `endedge_arrive`: bufs eta \[B,D\].
pub fn cpu_arrive(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    check("endedge_arrive", sizes_arrive, params, bufs, &["eta"])?;
    let d = p.d as usize;
    let rows = f32s_mut(bufs[0])[..p.b as usize * d].par_chunks_mut(d).enumerate();
    rows.for_each(|(b, row)| {
        // 16 terminals per Philox call (vectorized, bit-identical to `arrival`)
        let mut chunks = row.chunks_exact_mut(16);
        let mut d0 = 0u32;
        for c in &mut chunks {
            if p.t >= p.arrive_until {
                c.fill(0.0);
            } else {
                let ctr: [u32; 16] = std::array::from_fn(|l| d0 + l as u32);
                let (x0, x1, _) = rng::philox16(ctr, b as u32, p.t, stream::ENDEDGE_ARRIVAL, [p.key0, p.key1]);
                for ((eta, &coin), &k) in c.iter_mut().zip(&x0).zip(&x1) {
                    let size = p.size_min + p.size_step * rng::uniform_index(k, p.size_levels) as f32;
                    *eta = if rng::uniform(coin) >= p.p_arrive { 0.0 } else { size };
                }
            }
            d0 += 16;
        }
        for (l, eta) in chunks.into_remainder().iter_mut().enumerate() {
            *eta = arrival(&p, b as u32, d0 + l as u32);
        }
    });
    Ok(())
}

/// The heuristic action of one terminal (docs/endedge.md "Heuristics"). `pred` = [T^comp+1,
/// T^tran+1]; `rem`/`at` its ring; `m` the servers' Q_e of the previous slot.
#[allow(clippy::too_many_arguments)] // the kernel's per-terminal slices, as in the WGSL/CUDA entry
#[inline(always)]
pub fn heuristic_action(
    p: &EndedgeParams,
    b: u32,
    d: u32,
    eta: f32,
    pred: &[u32],
    rem: &[f32],
    at: &[u32],
    m: &[u32],
) -> u32 {
    if eta <= 0.0 || p.policy == 0 {
        return 0;
    }
    if p.policy == 1 {
        let x = rng::philox4x32_10(rng::counter(d, b, p.t, stream::ENDEDGE_POLICY, 0), [p.key0, p.key1]);
        return rng::uniform_index(x[0], p.e + 1);
    }
    // greedy: least estimated delay in slots, ties to the smaller action
    let (t, tau) = (p.t, p.tau);
    let wait = |pr: u32| pr.saturating_sub(t); // μ (eq. 2, 5)
    let mut best = wait(pred[0]) + super::model::slots_for(eta, p.local_cap, tau);
    let mut arg = 0;
    let up = wait(pred[1]) + super::model::slots_for(eta, p.tran_cap, tau);
    for e in 0..p.e {
        let q = super::model::queued_at(rem, at, t, e);
        let n = (m[e as usize] + (q <= 0.0) as u32).max(1); // queues sharing the server once this one joins
        let est = up + super::model::slots_for(q + eta, p.edge_cap / n as f32, tau);
        if est < best {
            best = est;
            arg = e + 1;
        }
    }
    arg
}

/// `endedge_policy`: bufs eta, pred, rem, at, m, action \[B,D\].
pub fn cpu_policy(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    let names = ["eta", "pred", "rem", "at", "m", "action"];
    check("endedge_policy", sizes_policy, params, bufs, &names)?;
    let (b, d, e, w, _) = p.dims();
    let (ro, out) = bufs.split_at_mut(5);
    let (eta, pred, rem, at, m) = (f32s(ro[0]), &*ro[1], f32s(ro[2]), &*ro[3], &*ro[4]);
    if p.policy == 1 {
        // Random: 16 terminals per Philox call (vectorized, bit-identical to `heuristic_action`)
        out[0][..b * d].par_chunks_mut(d).enumerate().for_each(|(bi, row)| {
            let eta = &eta[bi * d..(bi + 1) * d];
            for (c, (acts, etas)) in row.chunks_mut(16).zip(eta.chunks(16)).enumerate() {
                let ctr: [u32; 16] = std::array::from_fn(|l| (16 * c + l) as u32);
                let (x0, _, _) = rng::philox16(ctr, bi as u32, p.t, stream::ENDEDGE_POLICY, [p.key0, p.key1]);
                for ((a, &x), &h) in acts.iter_mut().zip(&x0).zip(etas) {
                    *a = if h > 0.0 { rng::uniform_index(x, p.e + 1) } else { 0 };
                }
            }
        });
        return Ok(());
    }
    out[0][..b * d].par_iter_mut().with_min_len(256).enumerate().for_each(|(i, a)| {
        let bi = i / d;
        *a = heuristic_action(
            &p,
            bi as u32,
            (i % d) as u32,
            eta[i],
            &pred[2 * i..2 * i + 2],
            &rem[i * w..(i + 1) * w],
            &at[i * w..(i + 1) * w],
            &m[bi * e..(bi + 1) * e],
        );
    });
    Ok(())
}

/// `endedge_step`: bufs eta, action, m, size, rem, arr, at, result, pred, acc, active. One slot of
/// every terminal (`model::admit` then `model::slot`), then its `active` bits.
pub fn cpu_step(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    let names = ["eta", "action", "m", "size", "rem", "arr", "at", "result", "pred", "acc", "nonempty"];
    check("endedge_step", sizes_step, params, bufs, &names)?;
    let (b, d, e, w, ew) = p.dims();
    let (ro, rw) = bufs.split_at_mut(3);
    let (eta, action, m) = (f32s(ro[0]), &*ro[1], &*ro[2]);
    // refuse bad input before any state changes (one parallel pass)
    let bad = |i: usize| !(eta[i].is_finite() && eta[i] >= 0.0) || (eta[i] > 0.0 && action[i] > e as u32);
    if let Some(i) = (0..b * d).into_par_iter().with_min_len(4096).find_first(|&i| bad(i)) {
        if !(eta[i].is_finite() && eta[i] >= 0.0) {
            return Err(Error::input("eta", i, eta[i], "task size must be finite and >= 0"));
        }
        return Err(Error::input("action", i, action[i], format!("must be in 0..={e}")));
    }
    let r = p.rates();
    let s = (p.t + 1) % p.w;
    let [size, rem, arr, at, result, pred, acc, active] = rw else { unreachable!("the spec has 11 buffers") };
    let n = b * d;
    (
        f32s_mut(size)[..n * w].par_chunks_mut(w),
        f32s_mut(rem)[..n * w].par_chunks_mut(w),
        arr[..n * w].par_chunks_mut(w),
        at[..n * w].par_chunks_mut(w),
        result[..n * w].par_chunks_mut(w),
        pred[..n * 2].par_chunks_mut(2),
        acc[..n * 4].par_chunks_mut(4),
        active[..n * ew].par_chunks_mut(ew),
    )
        .into_par_iter()
        .with_min_len(256)
        .enumerate()
        .for_each(|(i, (size, rem, arr, at, result, pred, acc, active))| {
            let mut tm = Terminal { size, rem, arr, at, result, pred, acc };
            if eta[i] > 0.0 {
                super::model::admit(&mut tm, p.t, eta[i], action[i], &r);
            }
            let bi = i / d;
            super::model::slot(&mut tm, p.t, s, &m[bi * e..(bi + 1) * e], &r, &mut Flow::default());
            super::model::mark_active(tm.at, active);
        });
    Ok(())
}

/// `endedge_load`: bufs active, m \[B,E\], load \[B,C,E\]: Q_e at the end of the slot (eq. 7) and
/// the Load history shifted by one row (eq. 15).
pub fn cpu_load(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    check("endedge_load", sizes_load, params, bufs, &["nonempty", "m", "load"])?;
    let (b, d, e, _, ew) = p.dims();
    let c = p.c as usize;
    let [active, m, load] = bufs else { unreachable!("the spec has 3 buffers") };
    m[..b * e].par_chunks_mut(e).zip(load[..b * c * e].par_chunks_mut(c * e)).enumerate().for_each(
        |(bi, (m, load))| {
            // every bit of every word, branch-free (the compiler vectorizes the 32 lanes)
            let mut cnt = vec![0u32; ew * 32];
            for a in active[bi * d * ew..(bi + 1) * d * ew].chunks_exact(ew) {
                for (k, &x) in a.iter().enumerate() {
                    let c: &mut [u32; 32] = (&mut cnt[k * 32..k * 32 + 32]).try_into().expect("32 lanes");
                    for (j, cj) in c.iter_mut().enumerate() {
                        *cj += (x >> j) & 1;
                    }
                }
            }
            m.copy_from_slice(&cnt[..e]);
            load.copy_within(e.., 0);
            load[(c - 1) * e..].copy_from_slice(m);
        },
    );
    Ok(())
}

/// `endedge_observe`: bufs eta, pred, rem, at, obs [B,D,3+E], mask [B,D,1+E]: the state (16)
/// without Load(t) — η_d(t), μ^comp(t), μ^tran(t), q_{d,e}(t−1) — and the action mask (only
/// "local", a no-op, when no task arrived).
pub fn cpu_observe(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    let names = ["eta", "pred", "rem", "at", "obs", "mask"];
    check("endedge_observe", sizes_observe, params, bufs, &names)?;
    let (b, d, e, w, _) = p.dims();
    let (ro, out) = bufs.split_at_mut(4);
    let (eta, pred, rem, at) = (f32s(ro[0]), &*ro[1], f32s(ro[2]), &*ro[3]);
    let [obs, mask] = out else { unreachable!("the spec has 6 buffers") };
    f32s_mut(obs)[..b * d * (3 + e)]
        .par_chunks_mut(3 + e)
        .zip(mask[..b * d * (1 + e)].par_chunks_mut(1 + e))
        .with_min_len(64)
        .enumerate()
        .for_each(|(i, (o, mk))| {
            let (ring_rem, ring_at) = (&rem[i * w..(i + 1) * w], &at[i * w..(i + 1) * w]);
            o[0] = eta[i];
            o[1] = pred[2 * i].saturating_sub(p.t) as f32; // eq. (5)
            o[2] = pred[2 * i + 1].saturating_sub(p.t) as f32; // eq. (2)
            o[3..].fill(0.0);
            for j in 0..w as u32 {
                let k = super::model::ring_index(p.t, w as u32, j);
                if super::model::kind(ring_at[k]) == super::model::KIND_EDGE {
                    let s = 3 + super::model::server(ring_at[k]) as usize;
                    o[s] += ring_rem[k]; // q_{d,e}(t − 1), oldest first (eq. 8)
                }
            }
            let any = (eta[i] > 0.0) as u32;
            mk[0] = 1;
            mk[1..].fill(any);
        });
    Ok(())
}

/// The reward of one terminal in a slot (eq. 18–19): −(delay slots of the tasks finished in
/// the slot) + Const × (tasks dropped in the slot), from the growth of its counters `acc`
/// (arrivals, finished, dropped, delay sum) over `prev` (delay sum, dropped at the last slot).
#[inline]
pub fn slot_reward(acc: &[u32], prev: &[u32], drop_reward: f32) -> f32 {
    let delay = acc[3].wrapping_sub(prev[0]);
    let dropped = acc[2].wrapping_sub(prev[1]);
    -(delay as f32) + drop_reward * dropped as f32
}

/// `endedge_reward`: bufs acc \[B,D,4\], prev \[B,D,2\], reward \[B,D\]: each terminal's reward of the
/// slot ([`slot_reward`]), then `prev` takes the counters.
pub fn cpu_reward(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    check("endedge_reward", sizes_reward, params, bufs, &["acc", "prev", "reward"])?;
    let n = (p.b * p.d) as usize;
    let [acc, prev, reward] = bufs else { unreachable!("the spec has 3 buffers") };
    let reward = &mut f32s_mut(reward)[..n];
    for ((r, a), q) in reward.iter_mut().zip(acc.chunks_exact(4)).zip(prev[..2 * n].chunks_exact_mut(2)) {
        *r = slot_reward(a, q, p.drop_reward);
        q.copy_from_slice(&[a[3], a[2]]);
    }
    Ok(())
}

/// `endedge_state`: bufs load \[B,C,E\] u32, state \[B,C,E\] f32: Load(t) (eq. 15) as floats, the
/// instance-wide part of the state (16).
pub fn cpu_state(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    check("endedge_state", sizes_state, params, bufs, &["load", "state"])?;
    let n = (p.b * p.c * p.e) as usize;
    let [load, state] = bufs else { unreachable!("the spec has 2 buffers") };
    for (s, &l) in f32s_mut(state)[..n].iter_mut().zip(&load[..n]) {
        *s = l as f32;
    }
    Ok(())
}

/// The reward of terminal `i`'s task that arrived at slot a (eq. 18–19), from its result word:
/// −delay when done, Const when dropped, invalid or still pending (unfinished at the horizon).
#[inline(always)]
pub fn credit(result: u32, drop_reward: f32) -> f32 {
    if result & !super::model::RES_DELAY == super::model::RES_DONE {
        -((result & super::model::RES_DELAY) as f32)
    } else {
        drop_reward
    }
}

/// `endedge_credit` (`t` = the arrival slot a): bufs result \[B,D,W\], arrived \[≥ a + 1, B·D\]
/// (> 0 where a task arrived: a learner's decision weights), reward \[≥ a + 1, B·D\]: row a takes
/// each terminal's reward of the task that arrived at a (0 without one) — the credit of eq.
/// (18)–(19) to the arrival slot. Call it once the task has resolved (after slot a + τ, before ring entry
/// a mod W is reused at slot a + W) or at the horizon (pending → Const).
pub fn cpu_credit(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    check("endedge_credit", sizes_credit, params, bufs, &["result", "arrived", "reward"])?;
    let (n, w, a) = ((p.b * p.d) as usize, p.w as usize, p.t as usize);
    let [result, arrived, reward] = bufs else { unreachable!("the spec has 3 buffers") };
    let (arrived, reward) = (f32s(arrived), f32s_mut(reward));
    for i in 0..n {
        let arrived = arrived[a * n + i] > 0.0;
        reward[a * n + i] = if arrived { credit(result[i * w + a % w], p.drop_reward) } else { 0.0 };
    }
    Ok(())
}

/// The kernels whose buffer sizes [`sizes`] knows.
#[derive(Clone, Copy)]
enum Kernel {
    Arrive,
    Policy,
    Step,
    Load,
    Observe,
    Reward,
    State,
    Credit,
}

/// Minimum words of every buffer of kernel `k`.
fn sizes(k: Kernel, bytes: &[u8]) -> Vec<u64> {
    let p: EndedgeParams = decode(bytes);
    let (b, d, e, w, ew) = (p.b as u64, p.d as u64, p.e as u64, p.w as u64, p.ew as u64);
    let (bd, bdw, c) = (b * d, b * d * w, p.c as u64);
    match k {
        Kernel::Arrive => vec![bd],
        Kernel::Policy => vec![bd, bd * 2, bdw, bdw, b * e, bd],
        Kernel::Step => vec![bd, bd, b * e, bdw, bdw, bdw, bdw, bdw, bd * 2, bd * 4, bd * ew],
        Kernel::Load => vec![b * d * ew, b * e, b * c * e],
        Kernel::Observe => vec![bd, bd * 2, bdw, bdw, bd * (3 + e), bd * (1 + e)],
        Kernel::Reward => vec![bd * 4, bd * 2, bd],
        Kernel::State => vec![b * c * e, b * c * e],
        Kernel::Credit => {
            let rows = p.t as u64 + 1;
            vec![bdw, rows * bd, rows * bd]
        }
    }
}

/// Sizes of `endedge_arrive`.
pub fn sizes_arrive(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Arrive, bytes)
}

/// Sizes of `endedge_policy`.
pub fn sizes_policy(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Policy, bytes)
}

/// Sizes of `endedge_step`.
pub fn sizes_step(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Step, bytes)
}

/// Sizes of `endedge_load`.
pub fn sizes_load(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Load, bytes)
}

/// Sizes of `endedge_observe`.
pub fn sizes_observe(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Observe, bytes)
}

/// Sizes of `endedge_reward`.
pub fn sizes_reward(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Reward, bytes)
}

/// Sizes of `endedge_state`.
pub fn sizes_state(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::State, bytes)
}

/// Sizes of `endedge_credit`.
pub fn sizes_credit(bytes: &[u8]) -> Vec<u64> {
    sizes(Kernel::Credit, bytes)
}
