//! Prioritized replay memory on the device (DIRS paper §V-C (6), eq. 16; docs/dirs.md).
//!
//! A ring of `capacity` transitions (state, label) with, per slot, a demonstration flag and the
//! latest loss variation |Δδ|. Sampling probability (16): P_s = w_s^τ / Σ_k w_k^τ with
//! w_s = |Δδ_s| + ε_D for demonstrations and |Δδ_s| + ε_A for agent data. Buffers (batch outermost):
//! `obs` [cap, M, N] f32 (the agents' observations, §V-C "State"), `label` [cap, N] u32 (the
//! action a* ∈ {0..M}), `demo` \[cap\] u32 (1 = demonstration), `delta` \[cap\] f32 (|Δδ|),
//! `maxd` \[1\] f32 (the largest |Δδ| seen: new transitions enter with it, so each is sampled soon).
//!
//! Kernels (stem `replay`; `kernels/algo/replay.cu`, `shaders/algo/replay.wgsl`):
//! - `replay_push`: write `rows` transitions at slots (head + r) mod cap; one thread per obs word.
//! - `replay_sample`: K indices; thread k draws u from Philox block (k, 0, step, REPLAY_SAMPLE)
//!   and scans the cumulative w^τ in slot order for the first slot with u·Σ < cumulative
//!   (inverse-CDF; the same f32 sums in the same order on every backend, so the same indices).
//! - `replay_update`: one thread writes |Δδ| of the sampled slots in minibatch order (a slot
//!   drawn twice keeps its last value) and raises `maxd`.
//! - `replay_gather`: the minibatch as the ensemble's input x [M, K, N] plus labels [K, N] and
//!   flags \[K\]. With idx = 0..B it also transposes an environment's obs [B, M, N] to [M, B, N].
//!
//! Every sum runs over slots in order from 0.0; w^τ = exp(τ ln w) with the portable `math`.

use std::sync::Arc;

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::{params as decode, Backend, Buffer};
use crate::error::{Error, Result};
use crate::math;
use crate::rng::{self, stream};
use crate::tensor::Tensor;

/// Parameter block of every `replay_*` kernel (mirrored in the `.cu` and `.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ReplayParams {
    /// Capacity (slots).
    pub cap: u32,
    /// Filled slots (≤ cap).
    pub size: u32,
    /// N, IoTDs (label width).
    pub n: u32,
    /// M, agents (obs rows per transition).
    pub m: u32,
    /// Transitions written by `replay_push` / gathered by `replay_gather`.
    pub rows: u32,
    /// First slot written by `replay_push`.
    pub head: u32,
    /// Flag written with pushed transitions (1 = demonstration).
    pub demo: u32,
    /// Minibatch size K (`replay_sample`, `replay_update`).
    pub k: u32,
    /// Philox key word 0.
    pub key0: u32,
    /// Philox key word 1.
    pub key1: u32,
    /// Sampling call counter (Philox counter word 2).
    pub step: u32,
    /// τ, priority exponent.
    pub tau: f32,
    /// ε_A, added to |Δδ| of agent data.
    pub eps_a: f32,
    /// ε_D, added to |Δδ| of demonstrations.
    pub eps_d: f32,
    /// Slots [0, floor) are kept (demonstrations); `replay_push` writes the ring [floor, cap).
    pub floor: u32,
    /// Layout padding.
    pub _pad1: u32,
}

/// Eq. (16): the unnormalized priority w^τ with w = |Δδ| + ε (ε_D or ε_A by the flag).
#[inline]
pub fn priority(p: &ReplayParams, demo: u32, delta: f32) -> f32 {
    let w = delta + if demo != 0 { p.eps_d } else { p.eps_a };
    math::exp(p.tau * math::ln(w))
}

/// Eq. (16): P_s = w_s^τ / Σ_k w_k^τ over the first `size` slots (host, for reports and tests).
pub fn probabilities(p: &ReplayParams, demo: &[u32], delta: &[f32]) -> Vec<f64> {
    let size = p.size as usize;
    let w: Vec<f64> = (0..size).map(|s| priority(p, demo[s], delta[s]) as f64).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|x| x / total).collect()
}

/// One draw of `replay_sample` (thread k): the slot whose cumulative priority first exceeds u·Σ.
pub fn sample_one(p: &ReplayParams, k: u32, demo: &[u32], delta: &[f32]) -> u32 {
    let size = p.size as usize;
    let mut total = 0.0f32;
    for s in 0..size {
        total += priority(p, demo[s], delta[s]);
    }
    let w = rng::philox4x32_10(rng::counter(k, 0, p.step, stream::REPLAY_SAMPLE, 0), [p.key0, p.key1]);
    let target = rng::uniform(w[0]) * total;
    let mut cum = 0.0f32;
    for s in 0..size {
        cum += priority(p, demo[s], delta[s]);
        if target < cum {
            return s as u32;
        }
    }
    // u·Σ rounded up to Σ (or every priority zero): the last slot.
    p.size.saturating_sub(1)
}

/// `replay_push`: bufs obs_in [rows, M, N], label_in [rows, N], obs, label, demo, delta, maxd.
pub fn cpu_push(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ReplayParams = decode(params);
    let (cap, n, m, rows) = (p.cap as usize, p.n as usize, p.m as usize, p.rows as usize);
    let w = m * n;
    need_all(
        "replay_push",
        bufs,
        &[
            ("obs_in", rows * w),
            ("label_in", rows * n),
            ("obs", cap * w),
            ("label", cap * n),
            ("demo", cap),
            ("delta", cap),
            ("maxd", 1),
        ],
    )?;
    let [obs_in, label_in, obs, label, demo, delta, maxd] = bufs else { unreachable!("the spec has 7 buffers") };
    let md = f32s(maxd)[0];
    let (floor, ring) = (p.floor as usize, (cap - (p.floor as usize).min(cap)).max(1));
    for r in 0..rows {
        let s = floor + (p.head as usize + r) % ring;
        obs[s * w..(s + 1) * w].copy_from_slice(&obs_in[r * w..(r + 1) * w]);
        label[s * n..(s + 1) * n].copy_from_slice(&label_in[r * n..(r + 1) * n]);
        demo[s] = p.demo;
        f32s_mut(delta)[s] = md;
    }
    Ok(())
}

/// `replay_sample`: bufs demo, delta, idx \[K\].
pub fn cpu_sample(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ReplayParams = decode(params);
    let (cap, k) = (p.cap as usize, p.k as usize);
    need_all("replay_sample", bufs, &[("demo", cap), ("delta", cap), ("idx", k)])?;
    let [demo, delta, idx] = bufs else { unreachable!("the spec has 3 buffers") };
    let (demo, delta) = (&demo[..], f32s(delta));
    // The total is the same for every thread; the CPU forms it once, in the same order.
    let size = (p.size as usize).min(cap);
    let pr: Vec<f32> = (0..size).map(|s| priority(&p, demo[s], delta[s])).collect();
    let mut total = 0.0f32;
    for &x in &pr {
        total += x;
    }
    for (kk, out) in idx[..k].iter_mut().enumerate() {
        let w = rng::philox4x32_10(rng::counter(kk as u32, 0, p.step, stream::REPLAY_SAMPLE, 0), [p.key0, p.key1]);
        let target = rng::uniform(w[0]) * total;
        let mut cum = 0.0f32;
        let mut pick = p.size.saturating_sub(1);
        for (s, &x) in pr.iter().enumerate() {
            cum += x;
            if target < cum {
                pick = s as u32;
                break;
            }
        }
        *out = pick;
    }
    Ok(())
}

/// `replay_update`: bufs idx \[K\], v \[K\], delta, maxd (one thread, minibatch order).
pub fn cpu_update(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ReplayParams = decode(params);
    let (cap, k) = (p.cap as usize, p.k as usize);
    need_all("replay_update", bufs, &[("idx", k), ("v", k), ("delta", cap), ("maxd", 1)])?;
    let [idx, v, delta, maxd] = bufs else { unreachable!("the spec has 4 buffers") };
    let (v, delta) = (f32s(v), f32s_mut(delta));
    let md = &mut f32s_mut(maxd)[0];
    for kk in 0..k {
        let s = idx[kk] as usize;
        if s < cap {
            delta[s] = v[kk];
        }
        if v[kk] > *md {
            *md = v[kk];
        }
    }
    Ok(())
}

/// `replay_gather`: bufs idx \[rows\], obs [cap, M, N], label [cap, N], demo \[cap\], x [M, rows, N],
/// label_out [rows, N], demo_out \[rows\]. An index ≥ cap reads slot 0 (never produced here).
pub fn cpu_gather(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ReplayParams = decode(params);
    let (cap, n, m, rows) = (p.cap as usize, p.n as usize, p.m as usize, p.rows as usize);
    need_all(
        "replay_gather",
        bufs,
        &[
            ("idx", rows),
            ("obs", cap * m * n),
            ("label", cap * n),
            ("demo", cap),
            ("x", m * rows * n),
            ("label_out", rows * n),
            ("demo_out", rows),
        ],
    )?;
    let [idx, obs, label, demo, x, label_out, demo_out] = bufs else { unreachable!("the spec has 7 buffers") };
    for r in 0..rows {
        let s = idx[r] as usize;
        let s = if s < cap { s } else { 0 };
        for j in 0..m {
            let src = &obs[(s * m + j) * n..(s * m + j + 1) * n];
            x[(j * rows + r) * n..(j * rows + r + 1) * n].copy_from_slice(src);
        }
        label_out[r * n..(r + 1) * n].copy_from_slice(&label[s * n..(s + 1) * n]);
        demo_out[r] = demo[s];
    }
    Ok(())
}

/// Sizes of `replay_push`.
pub fn sizes_push(bytes: &[u8]) -> Vec<u64> {
    let p: ReplayParams = decode(bytes);
    let (cap, n, m, r) = (p.cap as u64, p.n as u64, p.m as u64, p.rows as u64);
    vec![r * m * n, r * n, cap * m * n, cap * n, cap, cap, 1]
}

/// Sizes of `replay_sample`.
pub fn sizes_sample(bytes: &[u8]) -> Vec<u64> {
    let p: ReplayParams = decode(bytes);
    vec![p.cap as u64, p.cap as u64, p.k as u64]
}

/// Sizes of `replay_update`.
pub fn sizes_update(bytes: &[u8]) -> Vec<u64> {
    let p: ReplayParams = decode(bytes);
    vec![p.k as u64, p.k as u64, p.cap as u64, 1]
}

/// Sizes of `replay_gather`.
pub fn sizes_gather(bytes: &[u8]) -> Vec<u64> {
    let p: ReplayParams = decode(bytes);
    let (cap, n, m, r) = (p.cap as u64, p.n as u64, p.m as u64, p.rows as u64);
    vec![r, cap * m * n, cap * n, cap, m * r * n, r * n, r]
}

/// Replay settings, taken from `DirsConfig` (defaults in docs/dirs.md: capacity, ε_A and ε_D
/// from the DIRS paper §VI-A; τ and the initial |Δδ| are mecrl's choices).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplayConfig {
    /// Capacity (transitions).
    pub capacity: usize,
    /// τ, priority exponent (0 = uniform).
    pub tau: f32,
    /// ε_A for agent data.
    pub eps_agent: f32,
    /// ε_D for demonstrations.
    pub eps_demo: f32,
    /// |Δδ| of the first transitions, before any was trained on.
    pub initial_delta: f32,
}

impl ReplayConfig {
    /// Check every field (names prefixed `dirs.`).
    pub fn validate(&self) -> Result<()> {
        if self.capacity == 0 || self.capacity > 1 << 20 {
            return Err(Error::config("dirs.replay_capacity", self.capacity, "must be in 1..=1048576"));
        }
        if !(self.tau.is_finite() && self.tau >= 0.0) {
            return Err(Error::config("dirs.tau", self.tau, "must be a finite number >= 0"));
        }
        for (f, v) in [("dirs.eps_agent", self.eps_agent), ("dirs.eps_demo", self.eps_demo)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(f, v, "must be finite and > 0 (every transition must be sampleable)"));
            }
        }
        if !(self.initial_delta.is_finite() && self.initial_delta >= 0.0) {
            return Err(Error::config("dirs.initial_delta", self.initial_delta, "must be a finite number >= 0"));
        }
        Ok(())
    }
}

/// The prioritized replay memory, resident on a backend.
pub struct Replay {
    be: Arc<dyn Backend>,
    cfg: ReplayConfig,
    n: usize,
    m: usize,
    key: [u32; 2],
    /// States [cap, M, N].
    pub obs: Buffer,
    /// Labels a* [cap, N].
    pub label: Buffer,
    /// Demonstration flags \[cap\].
    pub demo: Buffer,
    /// |Δδ| per slot \[cap\].
    pub delta: Buffer,
    /// Largest |Δδ| seen \[1\].
    pub maxd: Buffer,
    head: usize,
    size: usize,
    floor: usize,
    calls: u32,
}

/// The host-side state of a [`Replay`] (see [`Replay::cursor`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplayCursor {
    /// Next ring position (slot `floor + head`).
    pub head: usize,
    /// Filled slots.
    pub size: usize,
    /// Slots [0, floor) kept for good.
    pub floor: usize,
    /// Sampling calls so far (the Philox counter word of the next draw).
    pub calls: u32,
}

/// A sampled minibatch on the device.
pub struct Minibatch {
    /// Slots \[K\].
    pub idx: Buffer,
    /// Ensemble input [M, K, N].
    pub x: Tensor,
    /// Labels [K, N].
    pub label: Buffer,
    /// Demonstration flags \[K\].
    pub demo: Buffer,
}

impl Replay {
    /// An empty memory for N IoTDs and M agents; sampling draws from Philox under `seed`.
    pub fn new(be: Arc<dyn Backend>, cfg: ReplayConfig, n: usize, m: usize, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let cap = cfg.capacity;
        if cap.checked_mul(m * n).filter(|&w| w < u32::MAX as usize).is_none() {
            return Err(Error::config(
                "dirs.replay_capacity",
                cap,
                "capacity·n_mec·n_iotd must fit in 32-bit indexing",
            ));
        }
        let maxd = crate::backend::upload_f32(&*be, &[cfg.initial_delta])?;
        Ok(Replay {
            obs: be.alloc(cap * m * n)?,
            label: be.alloc(cap * n)?,
            demo: be.alloc(cap)?,
            delta: be.alloc(cap)?,
            maxd,
            key: rng::key_of(seed),
            be,
            cfg,
            n,
            m,
            head: 0,
            size: 0,
            floor: 0,
            calls: 0,
        })
    }

    /// Filled slots.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The settings.
    pub fn config(&self) -> &ReplayConfig {
        &self.cfg
    }

    /// The parameter block for the current state.
    pub fn params(&self) -> ReplayParams {
        ReplayParams {
            cap: self.cfg.capacity as u32,
            size: self.size as u32,
            n: self.n as u32,
            m: self.m as u32,
            head: self.head as u32,
            key0: self.key[0],
            key1: self.key[1],
            step: self.calls,
            tau: self.cfg.tau,
            eps_a: self.cfg.eps_agent,
            eps_d: self.cfg.eps_demo,
            floor: self.floor as u32,
            ..Default::default()
        }
    }

    /// Keep what is stored now (the demonstrations) for good: later pushes overwrite only the
    /// slots after it. An error if no slot would be left for new transitions.
    pub fn protect(&mut self) -> Result<()> {
        let cap = self.cfg.capacity;
        if self.size >= cap {
            return Err(Error::config(
                "dirs.replay_capacity",
                cap,
                format!("must exceed the {} kept demonstrations", self.size),
            ));
        }
        self.floor = self.size;
        self.head = 0;
        Ok(())
    }

    /// The host-side part of the memory's state (ring position, fill, kept floor, sampling
    /// calls): with the five device buffers it is the whole memory (checkpoints).
    pub fn cursor(&self) -> ReplayCursor {
        ReplayCursor { head: self.head, size: self.size, floor: self.floor, calls: self.calls }
    }

    /// Restore a [`Replay::cursor`] (a checkpoint); an inconsistent one is an error naming the
    /// field, never a later out-of-range slot.
    pub fn set_cursor(&mut self, c: ReplayCursor) -> Result<()> {
        let cap = self.cfg.capacity;
        if c.size > cap {
            return Err(Error::config("replay.size", c.size, format!("exceeds the capacity {cap}")));
        }
        if c.floor > c.size || (c.floor > 0 && c.floor >= cap) {
            return Err(Error::config(
                "replay.floor",
                c.floor,
                format!("must be at most the fill {} and below the capacity {cap}", c.size),
            ));
        }
        if c.head >= (cap - c.floor).max(1) {
            return Err(Error::config("replay.head", c.head, format!("must be below {}", cap - c.floor)));
        }
        (self.head, self.size, self.floor, self.calls) = (c.head, c.size, c.floor, c.calls);
        Ok(())
    }

    /// Slots kept for good (see [`Replay::protect`]).
    pub fn protected(&self) -> usize {
        self.floor
    }

    /// Append `rows` transitions: obs [rows, M, N] and labels [rows, N] on the device, all with
    /// the flag `demo`. Beyond capacity the oldest are overwritten (ring).
    pub fn push(&mut self, obs: &Buffer, label: &Buffer, rows: usize, demo: bool) -> Result<()> {
        let (n, m) = (self.n, self.m);
        if obs.words() < rows * m * n {
            return Err(Error::shape("replay push obs", rows * m * n, obs.words()));
        }
        if label.words() < rows * n {
            return Err(Error::shape("replay push labels", rows * n, label.words()));
        }
        if rows == 0 {
            return Ok(());
        }
        let p = ReplayParams { rows: rows as u32, demo: demo as u32, ..self.params() };
        self.be.launch(
            &REPLAY_PUSH,
            bytemuck::bytes_of(&p),
            (rows * m * n) as u32,
            &[obs, label, &self.obs, &self.label, &self.demo, &self.delta, &self.maxd],
        )?;
        let cap = self.cfg.capacity;
        self.head = (self.head + rows) % (cap - self.floor);
        self.size = (self.size + rows).min(cap);
        Ok(())
    }

    /// Draw K slots by eq. (16) and gather them (no host round trip).
    pub fn sample(&mut self, k: usize) -> Result<Minibatch> {
        if self.size == 0 {
            return Err(Error::config("dirs.replay", 0, "cannot sample from an empty replay memory"));
        }
        if k == 0 {
            return Err(Error::config("dirs.minibatch", k, "must be >= 1"));
        }
        let p = ReplayParams { k: k as u32, ..self.params() };
        self.calls = self.calls.wrapping_add(1);
        let idx = self.be.alloc(k)?;
        self.be.launch(&REPLAY_SAMPLE, bytemuck::bytes_of(&p), k as u32, &[&self.demo, &self.delta, &idx])?;
        let (x, label, demo) = self.gather(&idx, k)?;
        Ok(Minibatch { idx, x, label, demo })
    }

    /// Gather slots `idx` \[rows\] into (x [M, rows, N], labels [rows, N], flags \[rows\]).
    pub fn gather(&self, idx: &Buffer, rows: usize) -> Result<(Tensor, Buffer, Buffer)> {
        let (n, m) = (self.n, self.m);
        let x = Tensor::zeros(&self.be, &[m, rows, n])?;
        let label = self.be.alloc(rows * n)?;
        let demo = self.be.alloc(rows)?;
        let p = ReplayParams { rows: rows as u32, ..self.params() };
        self.be.launch(
            &REPLAY_GATHER,
            bytemuck::bytes_of(&p),
            (m * rows * n) as u32,
            &[idx, &self.obs, &self.label, &self.demo, x.buffer(), &label, &demo],
        )?;
        Ok((x, label, demo))
    }

    /// Record the new |Δδ| `v` \[K\] of the slots `idx` \[K\] (on the device).
    pub fn update(&self, idx: &Buffer, v: &Buffer, k: usize) -> Result<()> {
        let p = ReplayParams { k: k as u32, ..self.params() };
        self.be.launch(&REPLAY_UPDATE, bytemuck::bytes_of(&p), 1, &[idx, v, &self.delta, &self.maxd])
    }

    /// Sampling probabilities of eq. (16) for the filled slots (downloads: reports and tests).
    pub fn probabilities(&self) -> Result<Vec<f64>> {
        let demo = self.be.download(&self.demo)?;
        let delta = crate::backend::download_f32(&*self.be, &self.delta)?;
        Ok(probabilities(&self.params(), &demo, &delta))
    }
}

/// Transpose an environment's observations [B, M, N] to the ensemble layout [M, B, N] with the
/// `replay_gather` kernel (idx = 0..B; the label outputs go to scratch buffers).
pub struct Transposer {
    be: Arc<dyn Backend>,
    b: usize,
    n: usize,
    m: usize,
    idx: Buffer,
    label: Buffer,
    demo: Buffer,
    label_out: Buffer,
    demo_out: Buffer,
}

impl Transposer {
    /// For B instances of N IoTDs and M MECs.
    pub fn new(be: Arc<dyn Backend>, b: usize, n: usize, m: usize) -> Result<Self> {
        let idx: Vec<u32> = (0..b as u32).collect();
        Ok(Transposer {
            idx: be.upload(&idx)?,
            label: be.alloc(b * n)?,
            demo: be.alloc(b)?,
            label_out: be.alloc(b * n)?,
            demo_out: be.alloc(b)?,
            be,
            b,
            n,
            m,
        })
    }

    /// obs [B, M, N] → out [M, B, N].
    pub fn run(&self, obs: &Buffer, out: &Buffer) -> Result<()> {
        let (b, n, m) = (self.b, self.n, self.m);
        let p = ReplayParams {
            cap: b as u32,
            size: b as u32,
            n: n as u32,
            m: m as u32,
            rows: b as u32,
            ..Default::default()
        };
        self.be.launch(
            &REPLAY_GATHER,
            bytemuck::bytes_of(&p),
            (m * b * n) as u32,
            &[&self.idx, obs, &self.label, &self.demo, out, &self.label_out, &self.demo_out],
        )
    }
}

crate::kernel_params!(ReplayParams {
    cap,
    size,
    n,
    m,
    rows,
    head,
    demo,
    k,
    key0,
    key1,
    step,
    tau,
    eps_a,
    eps_d,
    floor,
    _pad1
});

crate::kernels! {
    stem "algo" / "replay";
    /// Prioritized replay: write transitions into the ring.
    REPLAY_PUSH = replay_push(ReplayParams;
        obs_in: R F32, label_in: R U32, obs: W F32, label: W U32, demo: W U32, delta: W F32,
        maxd: R F32
    )
        cpu cpu_push, sizes sizes_push;
    /// Prioritized replay: draw a minibatch by eq. (16).
    REPLAY_SAMPLE = replay_sample(ReplayParams; demo: R U32, delta: R F32, idx: W U32)
        cpu cpu_sample, sizes sizes_sample;
    /// Prioritized replay: new |Δδ| of the sampled slots.
    REPLAY_UPDATE = replay_update(ReplayParams; idx: R U32, v: R F32, delta: W F32, maxd: W F32)
        cpu cpu_update, sizes sizes_update;
    /// Prioritized replay: gather slots into the ensemble layout [M, K, N].
    REPLAY_GATHER = replay_gather(ReplayParams;
        idx: R U32, obs: R F32, label: R U32, demo: R U32, x: W F32, label_out: W U32,
        demo_out: W U32
    )
        cpu cpu_gather, sizes sizes_gather;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(size: u32) -> ReplayParams {
        ReplayParams { cap: 8, size, tau: 0.6, eps_a: 0.08, eps_d: 0.02, key0: 3, key1: 4, ..Default::default() }
    }

    /// Eq. (16) by hand: w = |Δδ| + ε, P = w^τ / Σ w^τ.
    #[test]
    fn eq16_probabilities_hand_case() {
        let q = p(3);
        let demo = [1u32, 0, 0];
        let delta = [0.0f32, 0.0, 0.92];
        // w = 0.02, 0.08, 1.0 → w^0.6 = 0.0956352, 0.2197121, 1.0.
        let w = [0.02f64.powf(0.6), 0.08f64.powf(0.6), 1.0];
        let s: f64 = w.iter().sum();
        let got = probabilities(&q, &demo, &delta);
        for i in 0..3 {
            assert!((got[i] - w[i] / s).abs() < 1e-6, "{i}: {} vs {}", got[i], w[i] / s);
        }
        assert!((w[0] - 0.0956352).abs() < 1e-6 && (w[1] - 0.2197121).abs() < 1e-6);
        // τ = 0: uniform.
        let u = probabilities(&ReplayParams { tau: 0.0, ..q }, &demo, &delta);
        assert!(u.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-6));
    }

    #[test]
    fn cpu_sample_matches_scalar_draw() {
        let q = ReplayParams { k: 64, step: 5, ..p(6) };
        let demo = [1u32, 0, 1, 0, 0, 0, 0, 0];
        let delta: Vec<f32> = [0.5f32, 0.0, 2.0, 0.1, 0.0, 0.3, 0.0, 0.0].to_vec();
        let mut d = demo.to_vec();
        let mut dl: Vec<u32> = delta.iter().map(|x| x.to_bits()).collect();
        let mut idx = vec![0u32; 64];
        cpu_sample(bytemuck::bytes_of(&q), &mut [&mut d, &mut dl, &mut idx]).unwrap();
        for k in 0..64u32 {
            assert_eq!(idx[k as usize], sample_one(&q, k, &demo, &delta));
            assert!(idx[k as usize] < 6);
        }
    }

    /// With 3 kept slots of 6, pushes cycle through slots 3, 4, 5 only.
    #[test]
    fn push_never_overwrites_kept_slots() {
        let (n, m, cap) = (1usize, 1usize, 6usize);
        let mut obs = vec![0u32; cap];
        let mut label = vec![0u32; cap];
        let (mut demo, mut delta, mut maxd) = (vec![1u32, 1, 1, 0, 0, 0], vec![0u32; cap], vec![0u32]);
        for (k, head) in [(10u32, 0u32), (20, 2)] {
            // two rows each: slots 3, 4 then 5, 3
            let q = ReplayParams { cap: 6, size: 6, n: 1, m: 1, rows: 2, head, floor: 3, ..Default::default() };
            let mut oi = vec![k, k + 1];
            let mut li = vec![k, k + 1];
            cpu_push(
                bytemuck::bytes_of(&q),
                &mut [&mut oi, &mut li, &mut obs, &mut label, &mut demo, &mut delta, &mut maxd],
            )
            .unwrap();
        }
        assert_eq!(label, vec![0, 0, 0, 21, 11, 20]);
        assert_eq!(demo, vec![1, 1, 1, 0, 0, 0]);
        let _ = (n, m);
    }

    #[test]
    fn update_keeps_last_write_and_raises_max() {
        let q = ReplayParams { k: 3, ..p(8) };
        let mut idx = vec![2u32, 5, 2];
        let mut v: Vec<u32> = [0.5f32, 3.0, 0.25].iter().map(|x| x.to_bits()).collect();
        let mut delta = vec![0u32; 8];
        let mut maxd = vec![1.0f32.to_bits()];
        cpu_update(bytemuck::bytes_of(&q), &mut [&mut idx, &mut v, &mut delta, &mut maxd]).unwrap();
        assert_eq!(f32::from_bits(delta[2]), 0.25);
        assert_eq!(f32::from_bits(delta[5]), 3.0);
        assert_eq!(f32::from_bits(maxd[0]), 3.0);
    }
}
