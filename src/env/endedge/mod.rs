//! `endedge` — the CRB-DRQN system (seed 004 §3, §5; SPEC section `endedge`; docs/endedge.md).
//!
//! B instances × D terminals × E edge servers, slotted. Each terminal has a local compute FIFO, a
//! transmit FIFO and, on every server, its own edge FIFO; a server shares f_e equally among its
//! non-empty queues (eq. 7–8). Tasks have a deadline of τ slots and are dropped past it.
//!
//! Buffers (batch outermost; W = τ + 1 ring entries per terminal, see [`model`]):
//! `eta` [B,D] f32 Mbit of the task arriving this slot (0: none), `action` [B,D] u32 (0 local,
//! k server k − 1), `m` [B,E] u32 Q_e at the end of the previous slot, `load` [B,C,E] u32 the
//! Load(t) history (eq. 15, oldest row first), `size`/`rem` [B,D,W] f32, `arr`/`at`/`result`
//! [B,D,W] u32, `pred` [B,D,2] u32, `acc` [B,D,4] u32, `active` [B,D,⌈E/32⌉] u32,
//! `obs` [B,D,3+E] f32 (eq. 16 without Load), `mask` [B,D,1+E] u32.

pub mod bench;
pub mod kernels;
pub mod model;
pub mod trace;

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use self::kernels::{ENDEDGE_ARRIVE, ENDEDGE_LOAD, ENDEDGE_OBSERVE, ENDEDGE_POLICY, ENDEDGE_STEP};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::{params as decode, Backend, Buffer, KernelSpec};
use crate::error::{Error, Result};
use crate::rng::{self, stream};
use model::{Flow, Rates, Terminal};

/// Which of the two documented rule sets (docs/endedge.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Semantics {
    /// The simulator published with Tang & Wong (IEEE TMC 2022), which the paper adopts.
    #[default]
    Reference,
    /// Eq. (2)–(13) as printed: a task is discarded at the end of slot t + τ − 1 wherever it is.
    Paper,
}

impl std::str::FromStr for Semantics {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "reference" => Ok(Semantics::Reference),
            "paper" => Ok(Semantics::Paper),
            _ => Err(Error::config("endedge.semantics", s, "must be `reference` or `paper`")),
        }
    }
}

/// The heuristic baselines (§5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heuristic {
    /// Every task local.
    Local,
    /// Uniform over the 1 + E actions (Philox).
    Random,
    /// The action with the least estimated delay (docs/endedge.md).
    Greedy,
}

impl Heuristic {
    /// All, in table order.
    pub const ALL: [Heuristic; 3] = [Heuristic::Local, Heuristic::Random, Heuristic::Greedy];
    /// Name in configs and tables.
    pub fn name(self) -> &'static str {
        match self {
            Heuristic::Local => "local",
            Heuristic::Random => "random",
            Heuristic::Greedy => "greedy",
        }
    }
}

/// Parameters of the `endedge` system. Defaults: the paper (§5.1, Table 1) and SPEC; the
/// published simulator's values are [`EndedgeConfig::reference`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndedgeConfig {
    /// D, terminals.
    pub devices: usize,
    /// E, edge servers.
    pub servers: usize,
    /// T, slots per episode.
    pub slots: usize,
    /// No arrivals in the last this many slots (the reference: τ), so tasks can finish.
    pub tail_slots: usize,
    /// τ, deadline in slots (1..=31).
    pub deadline_slots: u32,
    /// δ, slot length (s).
    pub slot_s: f64,
    /// f_d, terminal CPU (Hz).
    pub f_device_hz: f64,
    /// f_e, edge server CPU (Hz).
    pub f_edge_hz: f64,
    /// O^tran, uplink rate (bit/s), the same to every server.
    pub rate_bps: f64,
    /// ρ, processing density (cycles/bit).
    pub density_cycles_per_bit: f64,
    /// Bernoulli arrival probability per terminal per slot.
    pub arrival_prob: f64,
    /// Smallest task size (Mbit).
    pub size_min_mbit: f64,
    /// Largest task size (Mbit); sizes are size_min + k·size_step up to this.
    pub size_max_mbit: f64,
    /// Size grid step (Mbit).
    pub size_step_mbit: f64,
    /// Offered load per terminal (Mbit/s, the paper's "task arrival rate"): when set, the size
    /// grid is scaled so that arrival_prob · mean size / δ equals it.
    pub arrival_rate_mbps: Option<f64>,
    /// Const of eq. (19), the reward of a dropped task; default −3τ.
    pub drop_reward: Option<f64>,
    /// C, rows of the Load(t) history (eq. 15).
    pub load_history: usize,
    /// Rule set.
    pub semantics: Semantics,
}

impl Default for EndedgeConfig {
    fn default() -> Self {
        EndedgeConfig {
            devices: 50,
            servers: 4,
            slots: 110,
            tail_slots: 12,
            deadline_slots: 12,
            slot_s: 0.1,
            f_device_hz: 2.5e9,
            f_edge_hz: 41.8e9,
            rate_bps: 14e6,
            density_cycles_per_bit: 500.0,
            arrival_prob: 0.3,
            size_min_mbit: 2.0,
            size_max_mbit: 4.9,
            size_step_mbit: 0.1,
            arrival_rate_mbps: None,
            drop_reward: None,
            load_history: 10,
            semantics: Semantics::Reference,
        }
    }
}

fn positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 && v <= f32::MAX as f64 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be a finite number > 0"))
    }
}

impl EndedgeConfig {
    /// The published simulator's defaults (SPEC): D = 50, E = 5, T = 110 with no arrivals in the
    /// last 10, τ = 10, density 0.297 Gcycles/Mbit.
    pub fn reference() -> Self {
        EndedgeConfig {
            servers: 5,
            tail_slots: 10,
            deadline_slots: 10,
            density_cycles_per_bit: 297.0,
            ..Default::default()
        }
    }

    /// Check every field; errors name the field (prefixed `endedge.`) and the value.
    pub fn validate(&self) -> Result<()> {
        if self.devices == 0 || self.devices > 16_000_000 {
            return Err(Error::config("endedge.devices", self.devices, "must be in 1..=16000000"));
        }
        if self.servers == 0 || self.servers > 4096 {
            return Err(Error::config("endedge.servers", self.servers, "must be in 1..=4096"));
        }
        if self.slots == 0 || self.slots > 1 << 24 {
            return Err(Error::config("endedge.slots", self.slots, "must be in 1..=16777216"));
        }
        if self.tail_slots > self.slots {
            return Err(Error::config("endedge.tail_slots", self.tail_slots, "must be <= slots"));
        }
        if !(1..=31).contains(&self.deadline_slots) {
            return Err(Error::config("endedge.deadline_slots", self.deadline_slots, "must be in 1..=31"));
        }
        for (f, v) in [
            ("endedge.slot_s", self.slot_s),
            ("endedge.f_device_hz", self.f_device_hz),
            ("endedge.f_edge_hz", self.f_edge_hz),
            ("endedge.rate_bps", self.rate_bps),
            ("endedge.density_cycles_per_bit", self.density_cycles_per_bit),
            ("endedge.size_min_mbit", self.size_min_mbit),
            ("endedge.size_max_mbit", self.size_max_mbit),
            ("endedge.size_step_mbit", self.size_step_mbit),
        ] {
            positive(f, v)?;
        }
        if !(self.arrival_prob.is_finite() && (0.0..=1.0).contains(&self.arrival_prob)) {
            return Err(Error::config("endedge.arrival_prob", self.arrival_prob, "must be in [0, 1]"));
        }
        if self.size_max_mbit < self.size_min_mbit {
            return Err(Error::config("endedge.size_max_mbit", self.size_max_mbit, "must be >= size_min_mbit"));
        }
        if self.size_levels() > 1 << 20 {
            return Err(Error::config("endedge.size_step_mbit", self.size_step_mbit, "more than 2^20 sizes"));
        }
        if let Some(r) = self.arrival_rate_mbps {
            positive("endedge.arrival_rate_mbps", r)?;
            if self.arrival_prob == 0.0 {
                return Err(Error::config("endedge.arrival_prob", 0, "must be > 0 when arrival_rate_mbps is set"));
            }
        }
        if let Some(c) = self.drop_reward {
            if !(c.is_finite() && c < 0.0) {
                return Err(Error::config("endedge.drop_reward", c, "Const of eq. (19) must be < 0"));
            }
        }
        if self.load_history == 0 || self.load_history > 4096 {
            return Err(Error::config("endedge.load_history", self.load_history, "must be in 1..=4096"));
        }
        let r = self.rates_f64();
        for (f, v) in [("endedge.f_device_hz", r.local), ("endedge.f_edge_hz", r.edge), ("endedge.rate_bps", r.tran)] {
            if !(v as f32 > 0.0 && (v as f32).is_finite()) {
                return Err(Error::config(f, v, "per-slot capacity out of f32 range"));
            }
        }
        Ok(())
    }

    /// Number of sizes on the grid size_min + k·step ≤ size_max (a 1e-9 tolerance on the end).
    pub fn size_levels(&self) -> usize {
        ((self.size_max_mbit - self.size_min_mbit) / self.size_step_mbit + 1e-9).floor() as usize + 1
    }

    /// (size_min, size_step) after the offered-load scaling of `arrival_rate_mbps`.
    pub fn size_grid(&self) -> (f64, f64) {
        let mean = self.size_min_mbit + self.size_step_mbit * (self.size_levels() - 1) as f64 / 2.0;
        let s = match self.arrival_rate_mbps {
            Some(r) => r * self.slot_s / (self.arrival_prob * mean),
            None => 1.0,
        };
        (self.size_min_mbit * s, self.size_step_mbit * s)
    }

    /// Const of eq. (19).
    pub fn drop_reward(&self) -> f64 {
        self.drop_reward.unwrap_or(-3.0 * self.deadline_slots as f64)
    }

    /// Per-slot capacities in Mbit, computed in the published simulator's order and units
    /// (Gcycles, Mbit): local = (f_d·δ)/ρ, edge = (f_e·δ)/ρ, transmit = O·δ.
    pub fn rates_f64(&self) -> Rates<f64> {
        let rho = self.density_cycles_per_bit / 1000.0; // Gcycles per Mbit
        Rates {
            local: (self.f_device_hz / 1e9 * self.slot_s) / rho,
            edge: (self.f_edge_hz / 1e9 * self.slot_s) / rho,
            tran: self.rate_bps / 1e6 * self.slot_s,
            tau: self.deadline_slots,
            paper: self.semantics == Semantics::Paper,
        }
    }

    /// [`Self::rates_f64`] rounded to f32 (the kernels).
    pub fn rates_f32(&self) -> Rates<f32> {
        let r = self.rates_f64();
        Rates { local: r.local as f32, edge: r.edge as f32, tran: r.tran as f32, tau: r.tau, paper: r.paper }
    }
}

/// Parameters of the `endedge_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EndedgeParams {
    /// B, instances.
    pub b: u32,
    /// D, terminals.
    pub d: u32,
    /// E, servers.
    pub e: u32,
    /// W = τ + 1, ring entries per terminal.
    pub w: u32,
    /// τ, deadline (slots).
    pub tau: u32,
    /// C, Load history rows.
    pub c: u32,
    /// ⌈E/32⌉, words of `active` per terminal.
    pub ew: u32,
    /// The slot t.
    pub t: u32,
    /// Philox key, low word.
    pub key0: u32,
    /// Philox key, high word.
    pub key1: u32,
    /// 0 reference, 1 paper.
    pub semantics: u32,
    /// `endedge_policy`: 0 local, 1 random, 2 greedy.
    pub policy: u32,
    /// Number of task sizes.
    pub size_levels: u32,
    /// No arrivals from this slot on.
    pub arrive_until: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// f_d·δ/ρ (Mbit per slot).
    pub local_cap: f32,
    /// f_e·δ/ρ (Mbit per slot, before sharing).
    pub edge_cap: f32,
    /// O·δ (Mbit per slot).
    pub tran_cap: f32,
    /// Bernoulli arrival probability.
    pub p_arrive: f32,
    /// Smallest size (Mbit).
    pub size_min: f32,
    /// Size step (Mbit).
    pub size_step: f32,
    /// Const of eq. (19).
    pub drop_reward: f32,
    /// Padding.
    pub _pad2: f32,
}

impl EndedgeParams {
    /// The parameter block of `cfg` for `batch` instances, seed and slot t.
    pub fn new(cfg: &EndedgeConfig, batch: usize, seed: u64, t: u32, policy: Heuristic) -> Self {
        let r = cfg.rates_f32();
        let key = rng::key_of(seed);
        let (smin, sstep) = cfg.size_grid();
        EndedgeParams {
            b: batch as u32,
            d: cfg.devices as u32,
            e: cfg.servers as u32,
            w: cfg.deadline_slots + 1,
            tau: cfg.deadline_slots,
            c: cfg.load_history as u32,
            ew: cfg.servers.div_ceil(32) as u32,
            t,
            key0: key[0],
            key1: key[1],
            semantics: (cfg.semantics == Semantics::Paper) as u32,
            policy: policy as u32,
            size_levels: cfg.size_levels() as u32,
            arrive_until: (cfg.slots - cfg.tail_slots) as u32,
            _pad0: 0,
            _pad1: 0,
            local_cap: r.local,
            edge_cap: r.edge,
            tran_cap: r.tran,
            p_arrive: cfg.arrival_prob as f32,
            size_min: smin as f32,
            size_step: sstep as f32,
            drop_reward: cfg.drop_reward() as f32,
            _pad2: 0.0,
        }
    }

    fn rates(&self) -> Rates<f32> {
        Rates {
            local: self.local_cap,
            edge: self.edge_cap,
            tran: self.tran_cap,
            tau: self.tau,
            paper: self.semantics != 0,
        }
    }

    fn dims(&self) -> (usize, usize, usize, usize, usize) {
        (self.b as usize, self.d as usize, self.e as usize, self.w as usize, self.ew as usize)
    }
}

fn check(op: &str, spec: &KernelSpec, params: &[u8], bufs: &[&mut [u32]], names: &[&str]) -> Result<()> {
    for ((n, want), have) in names.iter().zip((spec.sizes)(params)).zip(bufs) {
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

/// `endedge_arrive`: bufs eta [B,D].
pub fn cpu_arrive(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    check("endedge_arrive", &ENDEDGE_ARRIVE, params, bufs, &["eta"])?;
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
    let mut best = wait(pred[0]) + model::slots_for(eta, p.local_cap, tau);
    let mut arg = 0;
    let up = wait(pred[1]) + model::slots_for(eta, p.tran_cap, tau);
    for e in 0..p.e {
        let q = model::queued_at(rem, at, t, e);
        let n = (m[e as usize] + (q <= 0.0) as u32).max(1); // queues sharing the server once this one joins
        let est = up + model::slots_for(q + eta, p.edge_cap / n as f32, tau);
        if est < best {
            best = est;
            arg = e + 1;
        }
    }
    arg
}

/// `endedge_policy`: bufs eta, pred, rem, at, m, action [B,D].
pub fn cpu_policy(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    let names = ["eta", "pred", "rem", "at", "m", "action"];
    check("endedge_policy", &ENDEDGE_POLICY, params, bufs, &names)?;
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
/// every terminal ([`model::admit`] then [`model::slot`]), then its `active` bits.
pub fn cpu_step(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    let names = ["eta", "action", "m", "size", "rem", "arr", "at", "result", "pred", "acc", "nonempty"];
    check("endedge_step", &ENDEDGE_STEP, params, bufs, &names)?;
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
                model::admit(&mut tm, p.t, eta[i], action[i], &r);
            }
            let bi = i / d;
            model::slot(&mut tm, p.t, s, &m[bi * e..(bi + 1) * e], &r, &mut Flow::default());
            model::mark_active(tm.at, active);
        });
    Ok(())
}

/// `endedge_load`: bufs active, m [B,E], load [B,C,E]: Q_e at the end of the slot (eq. 7) and
/// the Load history shifted by one row (eq. 15).
pub fn cpu_load(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: EndedgeParams = decode(params);
    check("endedge_load", &ENDEDGE_LOAD, params, bufs, &["nonempty", "m", "load"])?;
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
    check("endedge_observe", &ENDEDGE_OBSERVE, params, bufs, &names)?;
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
                let k = model::ring_index(p.t, w as u32, j);
                if model::kind(ring_at[k]) == model::KIND_EDGE {
                    let s = 3 + model::server(ring_at[k]) as usize;
                    o[s] += ring_rem[k]; // q_{d,e}(t − 1), oldest first (eq. 8)
                }
            }
            let any = (eta[i] > 0.0) as u32;
            mk[0] = 1;
            mk[1..].fill(any);
        });
    Ok(())
}

/// Totals of an episode over all instances and terminals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tasks that arrived.
    pub arrivals: u64,
    /// Finished by their deadline.
    pub finished: u64,
    /// Dropped (deadline passed).
    pub dropped: u64,
    /// Still in the system at the end of the horizon (counted as failures).
    pub unfinished: u64,
    /// Σ delay (slots) of finished tasks.
    pub delay_sum: u64,
    /// Σ (T − arrival) of unfinished tasks (the reference's delay of an unfinished task).
    pub unfinished_delay_sum: u64,
}

impl Stats {
    /// Average delay (slots) of finished tasks.
    pub fn avg_delay(&self) -> f64 {
        self.delay_sum as f64 / self.finished.max(1) as f64
    }
    /// Failed (dropped or unfinished) / arrivals.
    pub fn drop_rate(&self) -> f64 {
        (self.dropped + self.unfinished) as f64 / self.arrivals.max(1) as f64
    }
    /// Mean reward per task (eq. 18–19; unfinished tasks get Const, as in the reference).
    pub fn avg_reward(&self, drop_reward: f64) -> f64 {
        (-(self.delay_sum as f64) + drop_reward * (self.dropped + self.unfinished) as f64) / self.arrivals.max(1) as f64
    }
}

/// A batch of `endedge` instances on a backend.
pub struct EndedgeEnv {
    /// The system.
    pub cfg: EndedgeConfig,
    /// B.
    pub batch: usize,
    /// Seed of the arrivals and the Random baseline.
    pub seed: u64,
    backend: Arc<dyn Backend>,
    /// Current slot t.
    pub t: u32,
    /// Arrivals of the current slot [B,D] f32.
    pub eta: Buffer,
    /// Actions of the current slot [B,D] u32.
    pub action: Buffer,
    m: Buffer,
    /// Load(t) [B,C,E] u32 (eq. 15).
    pub load: Buffer,
    size: Buffer,
    rem: Buffer,
    arr: Buffer,
    at: Buffer,
    /// Result ring [B,D,W] u32 (see [`model`]).
    pub result: Buffer,
    pred: Buffer,
    acc: Buffer,
    active: Buffer,
    obs: Buffer,
    mask: Buffer,
}

impl EndedgeEnv {
    /// Allocate `batch` instances (all queues empty, t = 0).
    pub fn new(cfg: &EndedgeConfig, batch: usize, seed: u64, backend: Arc<dyn Backend>) -> Result<Self> {
        cfg.validate()?;
        if batch == 0 || (batch as u64) * (cfg.devices as u64) * (cfg.deadline_slots as u64 + 1) > u32::MAX as u64 {
            return Err(Error::config("endedge.batch", batch, "batch × devices × (τ+1) must be in 1..2^32"));
        }
        if let Some(limit) = backend.max_loop_iterations() {
            // `endedge_load` loops over D terminals per (instance, server) thread
            if cfg.devices as u64 * 2 > limit {
                return Err(Error::config(
                    "endedge.devices",
                    cfg.devices,
                    format!("this backend's loop budget ({limit}) allows at most {} terminals", limit / 2),
                ));
            }
        }
        let (b, d, e, w) = (batch, cfg.devices, cfg.servers, cfg.deadline_slots as usize + 1);
        let (c, ew) = (cfg.load_history, e.div_ceil(32));
        let be = &backend;
        Ok(EndedgeEnv {
            eta: be.alloc(b * d)?,
            action: be.alloc(b * d)?,
            m: be.alloc(b * e)?,
            load: be.alloc(b * c * e)?,
            size: be.alloc(b * d * w)?,
            rem: be.alloc(b * d * w)?,
            arr: be.alloc(b * d * w)?,
            at: be.alloc(b * d * w)?,
            result: be.alloc(b * d * w)?,
            pred: be.alloc(b * d * 2)?,
            acc: be.alloc(b * d * 4)?,
            active: be.alloc(b * d * ew)?,
            obs: be.alloc(b * d * (3 + e))?,
            mask: be.alloc(b * d * (1 + e))?,
            cfg: cfg.clone(),
            batch,
            seed,
            backend,
            t: 0,
        })
    }

    /// The parameter block of the current slot.
    pub fn params(&self, policy: Heuristic) -> EndedgeParams {
        EndedgeParams::new(&self.cfg, self.batch, self.seed, self.t, policy)
    }

    fn launch(&self, id: &'static KernelSpec, p: &EndedgeParams, threads: usize, bufs: &[&Buffer]) -> Result<()> {
        self.backend.launch(id, bytemuck::bytes_of(p), threads as u32, bufs)
    }

    /// Empty every queue and counter; t = 0.
    pub fn reset(&mut self) -> Result<()> {
        for buf in [&self.m, &self.load, &self.size, &self.rem, &self.arr, &self.at, &self.result] {
            self.backend.write(buf, &vec![0; buf.words()])?;
        }
        for buf in [&self.pred, &self.acc, &self.active] {
            self.backend.write(buf, &vec![0; buf.words()])?;
        }
        self.t = 0;
        Ok(())
    }

    /// Draw this slot's arrivals into `eta` (Bernoulli and the size grid, Philox).
    pub fn arrive(&self) -> Result<()> {
        let p = self.params(Heuristic::Local);
        self.launch(&ENDEDGE_ARRIVE, &p, self.batch * self.cfg.devices, &[&self.eta])
    }

    /// Set this slot's arrivals from the host (Mbit; 0 = none), validated.
    pub fn set_arrivals(&self, eta: &[f32]) -> Result<()> {
        if eta.len() != self.batch * self.cfg.devices {
            return Err(Error::shape("endedge arrivals", self.batch * self.cfg.devices, eta.len()));
        }
        if let Some(i) = eta.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(Error::input("eta", i, eta[i], "task size must be finite and >= 0"));
        }
        self.backend.write(&self.eta, bytemuck::cast_slice(eta))
    }

    /// Choose this slot's actions with a heuristic.
    pub fn policy(&self, h: Heuristic) -> Result<()> {
        let p = self.params(h);
        let bufs = [&self.eta, &self.pred, &self.rem, &self.at, &self.m, &self.action];
        self.launch(&ENDEDGE_POLICY, &p, self.batch * self.cfg.devices, &bufs)
    }

    /// Set this slot's actions from the host (0 local, k server k − 1), validated.
    pub fn set_actions(&self, action: &[u32]) -> Result<()> {
        if action.len() != self.batch * self.cfg.devices {
            return Err(Error::shape("endedge actions", self.batch * self.cfg.devices, action.len()));
        }
        if let Some(i) = action.iter().position(|&a| a as usize > self.cfg.servers) {
            return Err(Error::input("action", i, action[i], format!("must be in 0..={}", self.cfg.servers)));
        }
        self.backend.write(&self.action, action)
    }

    /// Advance one slot with the current `eta` and `action`: the queues, then Q_e and Load.
    pub fn step(&mut self) -> Result<()> {
        let p = self.params(Heuristic::Local);
        let n = self.batch * self.cfg.devices;
        let bufs = [
            &self.eta,
            &self.action,
            &self.m,
            &self.size,
            &self.rem,
            &self.arr,
            &self.at,
            &self.result,
            &self.pred,
            &self.acc,
            &self.active,
        ];
        self.launch(&ENDEDGE_STEP, &p, n, &bufs)?;
        self.launch(&ENDEDGE_LOAD, &p, self.batch * self.cfg.servers, &[&self.active, &self.m, &self.load])?;
        self.t += 1;
        Ok(())
    }

    /// The state (16) of every terminal at the current slot (call after setting `eta`):
    /// (obs [B,D,3+E] f32, mask [B,D,1+E] u32, Load [B,C,E] u32).
    pub fn observe(&self) -> Result<(Vec<f32>, Vec<u32>, Vec<u32>)> {
        let p = self.params(Heuristic::Local);
        let bufs = [&self.eta, &self.pred, &self.rem, &self.at, &self.obs, &self.mask];
        self.launch(&ENDEDGE_OBSERVE, &p, self.batch * self.cfg.devices, &bufs)?;
        let obs = bytemuck::cast_slice(&self.backend.download(&self.obs)?).to_vec();
        Ok((obs, self.backend.download(&self.mask)?, self.backend.download(&self.load)?))
    }

    /// Totals so far; tasks still pending count as unfinished with delay T − arrival, T = the
    /// current slot (the reference's end-of-horizon rule).
    pub fn stats(&self) -> Result<Stats> {
        let acc = self.backend.download(&self.acc)?;
        let at = self.backend.download(&self.at)?;
        let arr = self.backend.download(&self.arr)?;
        let mut s = Stats::default();
        for a in acc.chunks_exact(4) {
            s.arrivals += a[0] as u64;
            s.finished += a[1] as u64;
            s.dropped += a[2] as u64;
            s.delay_sum += a[3] as u64;
        }
        for (k, &a) in at.iter().enumerate() {
            if a != model::AT_NONE {
                s.unfinished += 1;
                s.unfinished_delay_sum += (self.t - arr[k]) as u64;
            }
        }
        Ok(s)
    }

    /// The state buffers' words, in the order m, load, size, rem, arr, at, result, pred, acc,
    /// nonempty (tests and checkpoints).
    pub fn state_words(&self) -> Result<Vec<Vec<u32>>> {
        [
            &self.m,
            &self.load,
            &self.size,
            &self.rem,
            &self.arr,
            &self.at,
            &self.result,
            &self.pred,
            &self.acc,
            &self.active,
        ]
        .iter()
        .map(|b| self.backend.download(b))
        .collect()
    }

    /// One episode of T slots from a reset with generated arrivals and a heuristic; `tick` is
    /// called once per slot.
    pub fn run_episode(&mut self, h: Heuristic, tick: &mut dyn FnMut(u64)) -> Result<Stats> {
        self.reset()?;
        for _ in 0..self.cfg.slots {
            self.arrive()?;
            self.policy(h)?;
            self.step()?;
            tick(1);
        }
        self.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 16-lane arrival path equals the scalar `arrival` (which WGSL and CUDA mirror) for
    /// every terminal, including a remainder of D mod 16 and the no-arrival tail.
    #[test]
    fn vectorized_arrivals_equal_the_scalar_draw() {
        let cfg = EndedgeConfig { devices: 37, slots: 20, tail_slots: 5, ..EndedgeConfig::default() };
        for t in [0u32, 3, 14, 15, 19] {
            let p = EndedgeParams::new(&cfg, 3, 42, t, Heuristic::Local);
            let mut eta = vec![7u32; 3 * 37];
            cpu_arrive(bytemuck::bytes_of(&p), &mut [&mut eta]).unwrap();
            let want: Vec<u32> = (0..3 * 37).map(|i| arrival(&p, i / 37, i % 37).to_bits()).collect();
            assert_eq!(eta, want, "slot {t}");
            assert_eq!(eta.iter().any(|&x| x != 0), t < 15, "slot {t}");
        }
    }

    /// A NaN size or an action past E is an `Error::Input` naming the buffer and index, and
    /// nothing is changed; the env's host API refuses both before any launch.
    #[test]
    fn step_refuses_bad_input_without_touching_state() {
        let cfg = EndedgeConfig { devices: 5, servers: 2, ..EndedgeConfig::reference() };
        let cpu = crate::backend::create(crate::BackendKind::Cpu).unwrap();
        let mut env = EndedgeEnv::new(&cfg, 2, 1, cpu.clone()).unwrap();
        env.reset().unwrap();
        assert!(matches!(env.set_actions(&[0, 1, 2, 3, 0, 0, 0, 0, 0, 0]), Err(Error::Input { index: 3, .. })));
        assert!(matches!(env.set_arrivals(&[0.0; 9]), Err(Error::Shape { .. })));
        let mut eta = vec![1.0f32; 10];
        eta[7] = f32::NAN;
        assert!(matches!(env.set_arrivals(&eta), Err(Error::Input { index: 7, .. })));
        // the kernel itself, given bad buffers directly
        let before = env.state_words().unwrap();
        let p = env.params(Heuristic::Local);
        for (eta, act, field, index) in [(f32::NAN, 0u32, "eta", 4usize), (2.0, 3, "action", 4)] {
            let mut e: Vec<u32> = vec![1.0f32.to_bits(); 10];
            e[4] = eta.to_bits();
            let mut a = vec![0u32; 10];
            a[4] = act;
            let mut st = before.clone();
            let [m, _, size, rem, arr, at, result, pred, acc, ne] = &mut st[..] else { unreachable!() };
            let err =
                cpu_step(bytemuck::bytes_of(&p), &mut [&mut e, &mut a, m, size, rem, arr, at, result, pred, acc, ne]);
            match err {
                Err(Error::Input { field: f, index: i, .. }) => assert_eq!((f.as_str(), i), (field, index)),
                other => panic!("expected an input error, got {other:?}"),
            }
            assert_eq!(st, before);
        }
    }

    /// The 16-lane Random policy equals the scalar `heuristic_action`.
    #[test]
    fn vectorized_random_policy_equals_the_scalar_rule() {
        let cfg = EndedgeConfig { devices: 37, servers: 6, ..EndedgeConfig::default() };
        let (b, d, w) = (3usize, 37usize, 13usize);
        let p = EndedgeParams::new(&cfg, b, 9, 4, Heuristic::Random);
        let eta: Vec<u32> = (0..b * d).map(|i| if i % 3 == 0 { 0 } else { 2.5f32.to_bits() }).collect();
        let (pred, rem, at, m) =
            (vec![0u32; b * d * 2], vec![0u32; b * d * w], vec![0u32; b * d * w], vec![0u32; b * 6]);
        let mut act = vec![99u32; b * d];
        let mut bufs = [eta.clone(), pred, rem, at, m];
        let [e0, e1, e2, e3, e4] = &mut bufs;
        cpu_policy(bytemuck::bytes_of(&p), &mut [e0, e1, e2, e3, e4, &mut act]).unwrap();
        let want: Vec<u32> = (0..b * d)
            .map(|i| {
                let x = f32::from_bits(eta[i]);
                heuristic_action(&p, (i / d) as u32, (i % d) as u32, x, &[0, 0], &[0.0; 13], &[0; 13], &[0; 6])
            })
            .collect();
        assert_eq!(act, want);
        assert!(want.iter().any(|&a| a > 1) && want.iter().step_by(3).all(|&a| a == 0));
    }
}
