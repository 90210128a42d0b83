//! The per-terminal queue rules of `endedge` (CRB-DRQN paper §3, docs/endedge.md), written once and
//! generic over the float type: the batched kernels run them in f32 (the CPU reference of every
//! backend), the trace-driven simulator in f64 (bit-for-bit the arithmetic of the published
//! Tang & Wong simulator, which works in Mbit and Gcycles with numpy float64).
//!
//! **Task ring.** Every task a terminal holds lives in a ring of W = τ + 1 entries indexed by
//! its arrival slot mod W (one arrival per terminal per slot). Each of the terminal's FIFO queues
//! (local compute, transmit, one per edge server) is the set of entries with that queue's key,
//! in arrival order — every queue receives tasks in arrival order, so FIFO order *is* arrival
//! order and no per-queue storage is needed. A task resolves by the end of slot arrival + τ
//! (an edge task transmitted in its deadline slot is dropped when popped one slot later), so an
//! entry is always free again when its index comes round.
//!
//! Units: bits in Mbit, capacities in Mbit per slot (see [`Rates`]).

use std::ops::{Add, Div, Mul, Sub};

/// Key of an empty ring entry.
pub const AT_NONE: u32 = 0;
/// Kind: waiting for or in local computation.
pub const KIND_LOCAL: u32 = 1;
/// Kind: in the transmit FIFO; the target server is `at >> 2`.
pub const KIND_TRAN: u32 = 2;
/// Kind: in the edge queue of server `at >> 2`.
pub const KIND_EDGE: u32 = 3;
/// Set on the entry a processor (CPU, radio, edge share) has popped and is serving.
pub const STARTED: u32 = 1 << 31;
/// Result word: the task finished; low bits = delay in slots (eq. 12–13).
pub const RES_DONE: u32 = 1 << 30;
/// Result word: the task was dropped; low bits = τ.
pub const RES_DROP: u32 = 2 << 30;
/// Result word: the action was out of range (kernels only; the host API refuses it first).
pub const RES_INVALID: u32 = 3 << 30;
/// Mask of the delay in a result word.
pub const RES_DELAY: u32 = (1 << 30) - 1;

/// Queue key of an entry (kind and server, without the started flag).
#[inline(always)]
pub fn key(at: u32) -> u32 {
    at & !STARTED
}

/// Kind of an entry.
#[inline(always)]
pub fn kind(at: u32) -> u32 {
    at & 3
}

/// Server of a transmit or edge entry.
#[inline(always)]
pub fn server(at: u32) -> u32 {
    (at & !STARTED) >> 2
}

/// The float operations the queue rules use.
pub trait Real:
    Copy + Default + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// 0.
    const ZERO: Self;
    /// Exact conversion of a small count.
    fn from_u32(x: u32) -> Self;
    /// ⌈x⌉ as a count, for 0 ≤ x < 2^24.
    fn ceil_u32(self) -> u32;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn from_u32(x: u32) -> Self {
        x as f32
    }
    #[inline(always)]
    fn ceil_u32(self) -> u32 {
        self.ceil() as u32
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn from_u32(x: u32) -> Self {
        x as f64
    }
    #[inline(always)]
    fn ceil_u32(self) -> u32 {
        self.ceil() as u32
    }
}

/// Per-slot capacities and the deadline.
#[derive(Clone, Copy, Debug)]
pub struct Rates<F> {
    /// f_d·δ/ρ, Mbit computed locally per slot (eq. 6).
    pub local: F,
    /// f_e·δ/ρ, Mbit an edge server computes per slot, shared equally by its non-empty queues (eq. 8).
    pub edge: F,
    /// O^tran·δ, Mbit transmitted per slot (eq. 3).
    pub tran: F,
    /// τ, deadline in slots.
    pub tau: u32,
    /// `paper` semantics: a task whose transmission ends in its deadline slot is dropped there
    /// (it cannot be processed by t + τ − 1); `reference` lets it join the edge queue, where it
    /// is dropped when popped.
    pub paper: bool,
}

impl<F: Real> Rates<F> {
    /// Ring length W = τ + 1.
    #[inline(always)]
    pub fn w(&self) -> u32 {
        self.tau + 1
    }
}

/// One terminal's state: ring entries (W each), predicted finish slots and counters.
pub struct Terminal<'a, F> {
    /// Task size η (Mbit).
    pub size: &'a mut [F],
    /// Remaining Mbit of the current stage (transmission, then computation).
    pub rem: &'a mut [F],
    /// Arrival slot.
    pub arr: &'a mut [u32],
    /// Queue key | [`STARTED`] (0: empty).
    pub at: &'a mut [u32],
    /// Result word ([`RES_DONE`] / [`RES_DROP`] | delay; 0 while pending).
    pub result: &'a mut [u32],
    /// [T^comp + 1, T^tran + 1]: the predicted end slots of the last local and offloaded task
    /// (eq. 3, 6), plus one so that 0 means "none yet" (the paper's T(0) = 0 ↔ slot −1).
    pub pred: &'a mut [u32],
    /// [arrivals, finished, dropped, Σ delay of finished tasks].
    pub acc: &'a mut [u32],
}

/// Mbit flows of one terminal in one slot (for the conservation invariant).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flow<F> {
    /// Computed (locally or on an edge server).
    pub computed: F,
    /// Left the system unfinished: the computation not yet done when dropped.
    pub dropped: F,
}

/// The state of the order of ring slot `i` (0 = oldest) at slot t.
#[inline(always)]
pub fn ring_index(t: u32, w: u32, i: u32) -> usize {
    ((t + 1 + i) % w) as usize
}

#[inline(always)]
fn resolve(tm: &mut Terminal<'_, impl Real>, k: usize, word: u32) {
    tm.at[k] = AT_NONE;
    tm.result[k] = word;
    if word & !RES_DELAY == RES_DONE {
        tm.acc[1] += 1;
        tm.acc[3] += word & RES_DELAY;
    } else {
        tm.acc[2] += 1;
    }
}

/// ⌈x / cap⌉ capped at τ (eq. 3, 6 with ⌈·⌉; the extracted text shows ⌊·⌋, which would end a
/// task before its work is done).
#[inline(always)]
pub fn slots_for<F: Real>(x: F, cap: F, tau: u32) -> u32 {
    let q = x / cap;
    if q >= F::from_u32(tau) {
        tau
    } else {
        q.ceil_u32()
    }
}

/// The predicted end slot + 1 of a task of `eta` Mbit entering a FIFO at slot t whose previous
/// task ends at `prev` − 1 (eq. 2–3, 5–6): min(max(prev, t) + ⌈η/cap⌉, t + τ).
#[inline(always)]
pub fn predict<F: Real>(prev: u32, t: u32, eta: F, cap: F, tau: u32) -> u32 {
    (prev.max(t) + slots_for(eta, cap, tau)).min(t + tau)
}

/// The reference pop rule for the FIFO whose entries satisfy `is_key`, when no entry of it is
/// started: pop in arrival order, dropping (delay τ) every task already older than τ slots, and
/// start the first other one.
#[inline(always)]
fn pop<F: Real>(
    tm: &mut Terminal<'_, F>,
    t: u32,
    r: &Rates<F>,
    computes: bool,
    flow: &mut Flow<F>,
    is_key: impl Fn(u32) -> bool,
) -> Option<usize> {
    let w = r.w();
    for i in 0..w {
        let k = ring_index(t, w, i);
        if tm.at[k] != AT_NONE && is_key(tm.at[k]) {
            if t - tm.arr[k] < r.tau {
                tm.at[k] |= STARTED;
                return Some(k);
            }
            flow.dropped = flow.dropped + if computes { tm.rem[k] } else { tm.size[k] };
            resolve(tm, k, RES_DROP | r.tau);
        }
    }
    None
}

/// Serve the started entry k for one slot with `cap` Mbit: finished when nothing remains
/// (delay t − arrival + 1, eq. 12–13; a transmission is only reported, the caller moves it),
/// dropped when its deadline slot ends (delay τ, eq. 19). Returns whether it finished.
#[inline(always)]
fn serve<F: Real>(
    tm: &mut Terminal<'_, F>,
    t: u32,
    r: &Rates<F>,
    k: usize,
    cap: F,
    computes: bool,
    flow: &mut Flow<F>,
) -> bool {
    let before = tm.rem[k];
    tm.rem[k] = before - cap;
    let age = t - tm.arr[k] + 1;
    if tm.rem[k] <= F::ZERO {
        if computes {
            flow.computed = flow.computed + before;
            resolve(tm, k, RES_DONE | age);
        }
        return true;
    }
    if computes {
        flow.computed = flow.computed + cap;
    }
    if age == r.tau {
        flow.dropped = flow.dropped + if computes { tm.rem[k] } else { tm.size[k] };
        resolve(tm, k, RES_DROP | r.tau);
    }
    false
}

/// The started entry of the FIFO `is_key`, if any.
#[inline(always)]
fn started(tm: &Terminal<'_, impl Real>, w: u32, is_key: impl Fn(u32) -> bool) -> Option<usize> {
    (0..w as usize).find(|&k| tm.at[k] & STARTED != 0 && is_key(tm.at[k]))
}

/// Admit the task that arrived at slot t (η > 0) with `action` (0 local, k server k − 1) into
/// ring entry t mod W, updating the predicted end slots (eq. 2–3, 5–6).
#[inline(always)]
pub fn admit<F: Real>(tm: &mut Terminal<'_, F>, t: u32, eta: F, action: u32, r: &Rates<F>) {
    let k = (t % r.w()) as usize;
    debug_assert_eq!(tm.at[k], AT_NONE, "ring entry still in use");
    tm.size[k] = eta;
    tm.rem[k] = eta;
    tm.arr[k] = t;
    tm.result[k] = 0;
    tm.acc[0] += 1;
    if action == 0 {
        tm.at[k] = KIND_LOCAL;
        tm.pred[0] = predict(tm.pred[0], t, eta, r.local, r.tau);
    } else {
        tm.at[k] = KIND_TRAN | ((action - 1) << 2);
        tm.pred[1] = predict(tm.pred[1], t, eta, r.tran, r.tau);
    }
}

/// One slot of one terminal, after [`admit`], written as plain loops over the ring — the form
/// the WGSL and CUDA kernels mirror: (1) local FIFO, (2) every edge queue of this terminal with
/// share `edge / m[e]`, where `m[e]` = Q_e of the previous slot's end (eq. 7–8), (3) transmit
/// FIFO; a transmitted task joins its edge queue with its arrival slot and is served from the
/// next slot. The order matches the published simulator, and the three phases only touch this
/// terminal, so terminals are independent within a slot. [`slot`] is the same rule set.
pub fn slot_scalar<F: Real>(tm: &mut Terminal<'_, F>, t: u32, m: &[u32], r: &Rates<F>, flow: &mut Flow<F>) {
    let w = r.w();
    // (1) local computation (eq. 5–6, 12)
    let is_local = |a| kind(a) == KIND_LOCAL;
    if let Some(k) = started(tm, w, is_local).or_else(|| pop(tm, t, r, true, flow, is_local)) {
        serve(tm, t, r, k, r.local, true, flow);
    }

    // (2) edge queues (eq. 7–11, 13): first the head of every queue, oldest first (a head that
    // is not started pops, skipping stale tasks), then serve the heads.
    let mut heads = 0u32;
    for i in 0..w {
        let k = ring_index(t, w, i);
        let a = tm.at[k];
        if kind(a) != KIND_EDGE {
            continue;
        }
        let e = server(a);
        let mut h = heads;
        let mut taken = false;
        while h != 0 {
            let j = h.trailing_zeros() as usize;
            h &= h - 1;
            taken |= server(tm.at[j]) == e;
        }
        if taken {
            continue;
        }
        if a & STARTED == 0 {
            if t - tm.arr[k] >= r.tau {
                flow.dropped = flow.dropped + tm.rem[k];
                resolve(tm, k, RES_DROP | r.tau);
                continue;
            }
            tm.at[k] |= STARTED;
        }
        heads |= 1 << k;
    }
    while heads != 0 {
        let k = heads.trailing_zeros() as usize;
        heads &= heads - 1;
        let e = server(tm.at[k]) as usize;
        // m[e] ≥ 1: this queue was non-empty at the end of the previous slot
        let share = r.edge / F::from_u32(m[e].max(1));
        serve(tm, t, r, k, share, true, flow);
    }

    // (3) transmission (eq. 2–3)
    let is_tran = |a| kind(a) == KIND_TRAN;
    let cur = started(tm, w, is_tran).or_else(|| pop(tm, t, r, false, flow, is_tran));
    if let Some(k) = cur.filter(|&k| serve(tm, t, r, k, r.tran, false, flow)) {
        if r.paper && t - tm.arr[k] + 1 >= r.tau {
            // transmitted in its deadline slot: no slot is left to compute it
            flow.dropped = flow.dropped + tm.size[k];
            resolve(tm, k, RES_DROP | r.tau);
        } else {
            tm.at[k] = KIND_EDGE | (server(tm.at[k]) << 2);
            tm.rem[k] = tm.size[k];
        }
    }
}

/// The ring indices of `mask`'s entries in arrival order: bit i of the result is ring index
/// (s + i) mod w, s = (t + 1) mod W the index of the oldest possible entry.
#[inline(always)]
fn by_age(mask: u32, s: u32, w: u32) -> u32 {
    let m = mask as u64;
    (((m >> s) | (m << (w - s))) & ((1u64 << w) - 1)) as u32
}

/// Ring index of age-order bit i.
#[inline(always)]
fn ring_of(i: u32, s: u32, w: u32) -> usize {
    let k = s + i;
    (if k >= w { k - w } else { k }) as usize
}

/// The started entry of a FIFO, or the next one popped (dropping stale tasks): the reference
/// pop rule of [`slot_scalar`] on the FIFO's entry mask.
#[inline(always)]
fn head<F: Real>(
    tm: &mut Terminal<'_, F>,
    t: u32,
    r: &Rates<F>,
    s: u32,
    mask: u32,
    computes: bool,
    flow: &mut Flow<F>,
) -> Option<usize> {
    let w = r.w();
    let mut aged = by_age(mask, s, w);
    while aged != 0 {
        let k = ring_of(aged.trailing_zeros(), s, w);
        aged &= aged - 1;
        if tm.at[k] & STARTED != 0 {
            return Some(k);
        }
        if t - tm.arr[k] < r.tau {
            tm.at[k] |= STARTED;
            return Some(k);
        }
        flow.dropped = flow.dropped + if computes { tm.rem[k] } else { tm.size[k] };
        resolve(tm, k, RES_DROP | r.tau);
    }
    None
}

/// [`slot_scalar`] on bit masks of the ring (one pass over the entries, then only the live
/// ones): the CPU kernels' path. Bit-identical to [`slot_scalar`] (tests/endedge.rs); `s` =
/// (t + 1) mod W.
#[inline(always)]
pub fn slot<F: Real>(tm: &mut Terminal<'_, F>, t: u32, s: u32, m: &[u32], r: &Rates<F>, flow: &mut Flow<F>) {
    let w = r.w();
    let (mut local, mut tran, mut edge) = (0u32, 0u32, 0u32);
    for k in 0..w as usize {
        let kd = kind(tm.at[k]);
        local |= ((kd == KIND_LOCAL) as u32) << k;
        tran |= ((kd == KIND_TRAN) as u32) << k;
        edge |= ((kd == KIND_EDGE) as u32) << k;
    }
    if local != 0 {
        // a started task is the oldest of its FIFO, so `head` finds it first
        if let Some(k) = head(tm, t, r, s, local, true, flow) {
            serve(tm, t, r, k, r.local, true, flow);
        }
    }
    if edge != 0 {
        // small element types: zeroing these runs for every terminal with an edge task
        let mut heads = [0u8; 32];
        let mut servers = [0u16; 32];
        let mut n = 0;
        let mut aged = by_age(edge, s, w);
        while aged != 0 {
            let k = ring_of(aged.trailing_zeros(), s, w);
            aged &= aged - 1;
            let a = tm.at[k];
            let e = server(a);
            if servers[..n].contains(&(e as u16)) {
                continue;
            }
            if a & STARTED == 0 {
                if t - tm.arr[k] >= r.tau {
                    flow.dropped = flow.dropped + tm.rem[k];
                    resolve(tm, k, RES_DROP | r.tau);
                    continue;
                }
                tm.at[k] |= STARTED;
            }
            heads[n] = k as u8;
            servers[n] = e as u16; // E ≤ 4096 (config)
            n += 1;
        }
        for j in 0..n {
            let share = r.edge / F::from_u32(m[servers[j] as usize].max(1));
            serve(tm, t, r, heads[j] as usize, share, true, flow);
        }
    }
    if tran != 0 {
        if let Some(k) = head(tm, t, r, s, tran, false, flow) {
            if serve(tm, t, r, k, r.tran, false, flow) {
                if r.paper && t - tm.arr[k] + 1 >= r.tau {
                    flow.dropped = flow.dropped + tm.size[k];
                    resolve(tm, k, RES_DROP | r.tau);
                } else {
                    tm.at[k] = KIND_EDGE | (server(tm.at[k]) << 2);
                    tm.rem[k] = tm.size[k];
                }
            }
        }
    }
}

/// Set bit e of `active` (⌈E/32⌉ words) for every edge queue of this terminal that is non-empty
/// or in service (the terminal's contribution to Q_e, eq. 7).
#[inline(always)]
pub fn mark_active(at: &[u32], active: &mut [u32]) {
    if active.len() <= 2 {
        // E ≤ 64: one register, no fill (the common case, and a hot loop)
        let mut bits = 0u64;
        for &a in at {
            if kind(a) == KIND_EDGE {
                bits |= 1u64 << (server(a) & 63);
            }
        }
        active[0] = bits as u32;
        if let Some(w1) = active.get_mut(1) {
            *w1 = (bits >> 32) as u32;
        }
        return;
    }
    active.fill(0);
    for &a in at {
        if kind(a) == KIND_EDGE {
            let e = server(a) as usize;
            active[e >> 5] |= 1 << (e & 31);
        }
    }
}

/// q_{d,e}: Mbit of computation queued for server e (eq. 8), summed oldest first.
pub fn queued_at<F: Real>(tm_rem: &[F], at: &[u32], t: u32, e: u32) -> F {
    let w = at.len() as u32;
    let mut q = F::ZERO;
    for i in 0..w {
        let k = ring_index(t, w, i);
        if kind(at[k]) == KIND_EDGE && server(at[k]) == e {
            q = q + tm_rem[k];
        }
    }
    q
}

/// The reward of a resolved task (eq. 18–19): −delay when done, `drop_reward` when dropped.
pub fn reward(result: u32, drop_reward: f64) -> Option<f64> {
    match result & !RES_DELAY {
        RES_DONE => Some(-((result & RES_DELAY) as f64)),
        RES_DROP | RES_INVALID => Some(drop_reward),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_predicted_end_follow_eq_3_and_6() {
        // eq. (6) with ⌈·⌉: 2.0 Mbit at 0.84175 Mbit/slot needs ⌈2.376⌉ = 3 slots
        let cap = (2.5 * 0.1) / 0.297;
        assert_eq!(slots_for(2.0f64, cap, 10), 3);
        assert_eq!(slots_for(1.0f64, 0.5, 10), 2); // exact multiple: no extra slot
        assert_eq!(slots_for(100.0f64, 1.0, 10), 10); // capped at τ
                                                      // eq. (5)–(6): idle FIFO at t = 5: T = 5 + 0 + 3 − 1 = 7 (stored + 1)
        assert_eq!(predict(0, 5, 2.0f64, cap, 10), 8);
        // busy until slot 8 (stored 9): μ = 9 − 5 = 4, T = 5 + 4 + 3 − 1 = 11
        assert_eq!(predict(9, 5, 2.0f64, cap, 10), 12);
        // deadline bound of eq. (3): T ≤ t + τ − 1 = 14
        assert_eq!(predict(13, 5, 2.0f64, cap, 10), 15);
    }

    #[test]
    fn edge_share_is_capacity_over_non_empty_queues_eq_8() {
        // one terminal, server 0 with Q_0 = 3 (two other terminals' queues): 6/3 = 2 per slot
        let r = Rates { local: 1.0f64, edge: 6.0, tran: 10.0, tau: 5, paper: false };
        let (mut size, mut rem, mut arr) = (vec![0.0; 6], vec![0.0; 6], vec![0; 6]);
        let (mut at, mut result, mut pred, mut acc) = (vec![0; 6], vec![0; 6], vec![0; 2], vec![0; 4]);
        let mut tm = Terminal {
            size: &mut size,
            rem: &mut rem,
            arr: &mut arr,
            at: &mut at,
            result: &mut result,
            pred: &mut pred,
            acc: &mut acc,
        };
        let mut f = Flow::default();
        admit(&mut tm, 0, 5.0, 1, &r);
        slot_scalar(&mut tm, 0, &[0], &r, &mut f); // sent in slot 0 (10 per slot)
        assert_eq!(tm.at[0], KIND_EDGE);
        slot(&mut tm, 1, 2, &[3], &r, &mut f); // s = (t + 1) mod W
        assert_eq!(tm.rem[0], 3.0);
        slot_scalar(&mut tm, 2, &[3], &r, &mut f);
        assert_eq!(tm.rem[0], 1.0);
        slot(&mut tm, 3, 4, &[1], &r, &mut f); // alone: 6 per slot
        assert_eq!(tm.result[0], RES_DONE | 4); // eq. (13): 3 − 0 + 1
        assert_eq!((f.computed, f.dropped), (5.0, 0.0));
    }
}
