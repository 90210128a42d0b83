//! `mec` — the DIRS environment (seed 000, §III; SPEC section `mec`).
//!
//! B instances × N IoTDs × M MEC servers. Buffers (f32 unless noted, batch outermost):
//! `iotd_pos` [B,2,N] (x row, y row), `mec_pos` [B,2,M], `task_d` [B,N] bits, `task_f` [B,N]
//! cycles, `h` [B,N,M] channel gains, `hn` [B,N,M] = h_ij / Σ_j h_ij, `p_opt` [B,N,M] optimal
//! transmit power, `cost` [B,N,M+1] (column 0: local Φ_i; column j: the transmission part
//! (φ_T + φ_E p*)·D_i / r_ij at p*), `sqrt_f` [B,N] = √F_i, `obs` [B,M,N].
//!
//! With the exact allocation (eq. 13 solved in closed form) the objective of a decision vector a
//! is Σ_i cost[i, a_i] + φ_T/F_max · Σ_j (Σ_{i: a_i = j} √F_i)², because the KKT CPU share
//! f_ij = F_max √F_i / S_j makes Σ_{i∈j} F_i / f_ij = S_j² / F_max.

pub mod kernels;

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use self::kernels::{
    MEC_ALLOC, MEC_CHANNEL, MEC_HEURISTIC, MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER, MEC_OBSERVE, MEC_RESET,
};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::{params as decode, Backend, Buffer, KernelSpec};
use crate::error::{Error, Result};
use crate::math;
use crate::rng::{self, stream};

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// How the scalar reward is formed from the objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// 1 / Σ_i Φ_i (the paper, §V-C "Reward").
    #[default]
    Inverse,
    /// −Σ_i Φ_i / N.
    NegativeMean,
}

/// Physical parameters of the `mec` system. Defaults: seed 000 Table I and SPEC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MecConfig {
    /// N, number of IoTDs.
    pub n_iotd: usize,
    /// M, number of MEC servers.
    pub n_mec: usize,
    /// Side of the square area (m).
    pub area_m: f64,
    /// β0, channel power gain at 1 m (eq. 3; −30 dB, not given in the paper).
    pub beta0: f64,
    /// B, bandwidth (Hz).
    pub bandwidth_hz: f64,
    /// σ², noise power spectral density (W/Hz); noise power is σ²·B.
    pub noise_psd: f64,
    /// D_i, task data size (bits); lower end when `task_bits_max` is set.
    pub task_bits: f64,
    /// Upper end of a uniform D_i range per IoTD (heterogeneous tasks), or none.
    pub task_bits_max: Option<f64>,
    /// F_i, task CPU cycles; lower end when `task_cycles_max` is set.
    pub task_cycles: f64,
    /// Upper end of a uniform F_i range, or none.
    pub task_cycles_max: Option<f64>,
    /// f_i0, local CPU frequency (Hz).
    pub f_local_hz: f64,
    /// F_max, CPU capacity of each MEC (Hz).
    pub f_mec_max_hz: f64,
    /// P_max, maximum transmit power (W).
    pub p_max_w: f64,
    /// κ, effective switched capacitance.
    pub kappa: f64,
    /// ν, exponent of the local power p^E = κ f^ν.
    pub nu: f64,
    /// φ_T, weight of time in Φ (eq. 10).
    pub phi_t: f64,
    /// φ_E, weight of energy in Φ (eq. 10).
    pub phi_e: f64,
    /// Floor on squared distance (m²) in eq. (3).
    pub d2_min_m2: f64,
    /// Horizon (s) that defines a MEC's capacity for the Random/Greedy baselines: a MEC accepts
    /// tasks while Σ F_i ≤ F_max · horizon (SPEC leaves "capacity" open; see docs/mec.md).
    pub capacity_horizon_s: f64,
    /// Reward form.
    pub reward: RewardKind,
}

impl Default for MecConfig {
    fn default() -> Self {
        MecConfig {
            n_iotd: 30,
            n_mec: 2,
            area_m: 50.0,
            beta0: 1e-3,
            bandwidth_hz: 1e6,
            noise_psd: 1e-12,
            task_bits: 8e5,
            task_bits_max: None,
            task_cycles: 1e9,
            task_cycles_max: None,
            f_local_hz: 1e9,
            f_mec_max_hz: 50e9,
            p_max_w: 1.5,
            kappa: 1e-27,
            nu: 3.0,
            phi_t: 0.5,
            phi_e: 0.5,
            d2_min_m2: 1.0,
            capacity_horizon_s: 1.0,
            reward: RewardKind::Inverse,
        }
    }
}

fn positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be a finite number > 0"))
    }
}

fn non_negative(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be a finite number >= 0"))
    }
}

/// f32 representable and positive.
fn f32_positive(field: &str, v: f64) -> Result<()> {
    positive(field, v)?;
    if v > f32::MAX as f64 || (v as f32) == 0.0 {
        return Err(Error::config(field, v, "out of f32 range"));
    }
    Ok(())
}

impl MecConfig {
    /// Check every field; errors name the field (prefixed `mec.`) and the value.
    pub fn validate(&self) -> Result<()> {
        if self.n_iotd == 0 || self.n_iotd > 10_000_000 {
            return Err(Error::config("mec.n_iotd", self.n_iotd, "must be in 1..=10000000"));
        }
        if self.n_mec == 0 || self.n_mec > 65_535 {
            return Err(Error::config("mec.n_mec", self.n_mec, "must be in 1..=65535"));
        }
        for (f, v) in [
            ("mec.area_m", self.area_m),
            ("mec.beta0", self.beta0),
            ("mec.bandwidth_hz", self.bandwidth_hz),
            ("mec.noise_psd", self.noise_psd),
            ("mec.task_bits", self.task_bits),
            ("mec.task_cycles", self.task_cycles),
            ("mec.f_local_hz", self.f_local_hz),
            ("mec.f_mec_max_hz", self.f_mec_max_hz),
            ("mec.p_max_w", self.p_max_w),
            ("mec.nu", self.nu),
            ("mec.d2_min_m2", self.d2_min_m2),
            ("mec.capacity_horizon_s", self.capacity_horizon_s),
        ] {
            f32_positive(f, v)?;
        }
        for (f, v) in [("mec.kappa", self.kappa), ("mec.phi_t", self.phi_t), ("mec.phi_e", self.phi_e)] {
            non_negative(f, v)?;
        }
        if self.phi_t + self.phi_e <= 0.0 {
            return Err(Error::config("mec.phi_t", self.phi_t, "phi_t + phi_e must be > 0"));
        }
        if let Some(hi) = self.task_bits_max {
            f32_positive("mec.task_bits_max", hi)?;
            if hi < self.task_bits {
                return Err(Error::config("mec.task_bits_max", hi, "must be >= mec.task_bits"));
            }
        }
        if let Some(hi) = self.task_cycles_max {
            f32_positive("mec.task_cycles_max", hi)?;
            if hi < self.task_cycles {
                return Err(Error::config("mec.task_cycles_max", hi, "must be >= mec.task_cycles"));
            }
        }
        let p_local = self.p_local();
        if !(p_local.is_finite() && p_local <= f32::MAX as f64) {
            return Err(Error::config("mec.kappa", self.kappa, "κ·f_local^ν overflows"));
        }
        Ok(())
    }

    /// p^E = κ f_i0^ν, the local execution power (W).
    pub fn p_local(&self) -> f64 {
        self.kappa * self.f_local_hz.powf(self.nu)
    }

    /// The kernel parameter block for `b` instances, `p` candidates, `seed`.
    pub fn params(&self, b: usize, p: usize, seed: u64) -> MecParams {
        let key = rng::key_of(seed);
        MecParams {
            b: b as u32,
            n: self.n_iotd as u32,
            m: self.n_mec as u32,
            p: p as u32,
            key0: key[0],
            key1: key[1],
            step: 0,
            variant: 0,
            area: self.area_m as f32,
            beta0: self.beta0 as f32,
            bandwidth: self.bandwidth_hz as f32,
            noise_psd: self.noise_psd as f32,
            d_lo: self.task_bits as f32,
            d_hi: self.task_bits_max.unwrap_or(self.task_bits) as f32,
            f_lo: self.task_cycles as f32,
            f_hi: self.task_cycles_max.unwrap_or(self.task_cycles) as f32,
            f_local: self.f_local_hz as f32,
            p_local: self.p_local() as f32,
            f_max: self.f_mec_max_hz as f32,
            p_max: self.p_max_w as f32,
            phi_t: self.phi_t as f32,
            phi_e: self.phi_e as f32,
            d2_min: self.d2_min_m2 as f32,
            capacity: (self.f_mec_max_hz * self.capacity_horizon_s) as f32,
        }
    }
}

/// Parameter block shared by every `mec_*` kernel (mirrored in `kernels/env/mec.cu` and
/// `shaders/env/mec.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MecParams {
    /// B, instances.
    pub b: u32,
    /// N, IoTDs.
    pub n: u32,
    /// M, MECs.
    pub m: u32,
    /// P, candidate decision vectors per instance (objective kernels).
    pub p: u32,
    /// Philox key word 0.
    pub key0: u32,
    /// Philox key word 1.
    pub key1: u32,
    /// Step (channel, heuristic) or episode (reset) counter.
    pub step: u32,
    /// Heuristic: 0 local, 1 greedy, 2 random.
    pub variant: u32,
    /// Area side (m).
    pub area: f32,
    /// β0.
    pub beta0: f32,
    /// B (Hz).
    pub bandwidth: f32,
    /// σ² (W/Hz).
    pub noise_psd: f32,
    /// D range low (bits).
    pub d_lo: f32,
    /// D range high (bits).
    pub d_hi: f32,
    /// F range low (cycles).
    pub f_lo: f32,
    /// F range high (cycles).
    pub f_hi: f32,
    /// f_i0 (Hz).
    pub f_local: f32,
    /// p^E = κ f_i0^ν (W).
    pub p_local: f32,
    /// F_max (Hz).
    pub f_max: f32,
    /// P_max (W).
    pub p_max: f32,
    /// φ_T.
    pub phi_t: f32,
    /// φ_E.
    pub phi_e: f32,
    /// Squared-distance floor (m²).
    pub d2_min: f32,
    /// Baseline capacity per MEC (cycles).
    pub capacity: f32,
}

// ---------------------------------------------------------------------------------------------
// Formulas (scalar, shared by the CPU kernels; hand-checked in the tests below)
// ---------------------------------------------------------------------------------------------

/// Eq. (3): h_ij = β0·l_ij / d_ij², with d² floored at `d2_min`.
#[inline(always)]
pub fn channel_gain(beta0: f32, fading: f32, d2: f32, d2_min: f32) -> f32 {
    beta0 * fading / d2.max(d2_min)
}

/// Eq. (2): r_ij = B·log2(1 + p·h / (σ²·B)).
#[inline(always)]
pub fn rate(bandwidth: f32, noise_psd: f32, p: f32, h: f32) -> f32 {
    bandwidth * math::ln1p(p * h / (noise_psd * bandwidth)) * core::f32::consts::LOG2_E
}

/// Eq. (8)–(10) for a local task: (T, E) = (F/f_i0, F/f_i0 · p^E).
#[inline(always)]
pub fn local_time_energy(f_cycles: f32, f_local: f32, p_local: f32) -> (f32, f32) {
    let t = f_cycles / f_local;
    (t, t * p_local)
}

/// Eq. (1), (8), (9) for an offloaded task: (T, E) = (D/r + F/f_ij, p·D/r).
#[inline(always)]
pub fn offload_time_energy(d_bits: f32, f_cycles: f32, r: f32, f_share: f32, p: f32) -> (f32, f32) {
    let ttr = d_bits / r;
    (ttr + f_cycles / f_share, p * ttr)
}

/// The transmit power minimizing (φ_T + φ_E p)·D / r(p) on (0, P_max] (eq. 13, power part).
///
/// With c = h/(σ²B) and t = p·c the stationarity condition is (1+t)·ln(1+t) − t = φ_T c / φ_E;
/// its left side is convex and increasing, so Newton from above, t ← (t + s)/ln(1+t) − 1,
/// converges monotonically. If the root lies beyond c·P_max the cost is decreasing on the whole
/// interval and P_max is optimal. φ_E = 0 also gives P_max.
#[inline(always)]
pub fn optimal_power(h: f32, bandwidth: f32, noise_psd: f32, phi_t: f32, phi_e: f32, p_max: f32) -> f32 {
    let c = h / (noise_psd * bandwidth);
    if phi_e <= 0.0 || c <= 0.0 {
        return p_max;
    }
    let s = phi_t * c / phi_e;
    let t_max = c * p_max;
    let l_max = math::ln1p(t_max);
    // F(t_max) <= 0: root beyond the box.
    if (1.0 + t_max) * l_max - t_max <= s {
        return p_max;
    }
    let mut t = t_max;
    for _ in 0..64 {
        let next = (t + s) / math::ln1p(t) - 1.0;
        if next >= t {
            break;
        }
        t = next;
    }
    (t / c).min(p_max)
}

/// [`optimal_power`] on `L` lanes at once (the CPU alloc kernel): the same Newton iterations
/// per lane, a lane freezing exactly where the scalar loop breaks, so the results are identical.
#[inline(always)]
// `!(a <= b)` on purpose: it is true for NaN exactly where the scalar loop's test is.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn optimal_power_lanes<const L: usize>(
    h: &[f32; L],
    bandwidth: f32,
    noise_psd: f32,
    phi_t: f32,
    phi_e: f32,
    p_max: f32,
) -> [f32; L] {
    let mut c = [0.0f32; L];
    let mut s = [0.0f32; L];
    let mut t = [0.0f32; L];
    let mut solve = [false; L];
    for l in 0..L {
        c[l] = h[l] / (noise_psd * bandwidth);
        s[l] = phi_t * c[l] / phi_e;
        let t_max = c[l] * p_max;
        let l_max = math::ln1p(t_max);
        solve[l] = (phi_e > 0.0) & (c[l] > 0.0) & !((1.0 + t_max) * l_max - t_max <= s[l]);
        t[l] = t_max;
    }
    let mut active = solve;
    for _ in 0..64 {
        let mut any = false;
        for l in 0..L {
            let next = (t[l] + s[l]) / math::ln1p(t[l]) - 1.0;
            let upd = active[l] & !(next >= t[l]);
            active[l] = upd;
            t[l] = if upd { next } else { t[l] };
            any |= upd;
        }
        if !any {
            break;
        }
    }
    let mut out = [p_max; L];
    for l in 0..L {
        if solve[l] {
            out[l] = (t[l] / c[l]).min(p_max);
        }
    }
    out
}

/// (φ_T + φ_E p)·D / r, the transmission part of Φ for an offloaded task.
#[inline(always)]
pub fn tx_cost(d_bits: f32, r: f32, p: f32, phi_t: f32, phi_e: f32) -> f32 {
    (phi_t + phi_e * p) * d_bits / r
}

/// KKT CPU shares of one MEC (eq. 13, CPU part): f_i = F_max √F_i / Σ_k √F_k over its tasks.
pub fn cpu_shares(f_max: f64, cycles: &[f64]) -> Vec<f64> {
    let s: f64 = cycles.iter().map(|f| f.sqrt()).sum();
    cycles.iter().map(|f| f_max * f.sqrt() / s).collect()
}

// ---------------------------------------------------------------------------------------------
// CPU kernels (the references of the specs in kernels.rs)
// ---------------------------------------------------------------------------------------------

/// One IoTD's position and task, element `k` < N of instance `b` (kernel `mec_reset`).
#[inline(always)]
pub fn reset_iotd(p: &MecParams, b: u32, k: u32) -> (f32, f32, f32, f32) {
    let key = [p.key0, p.key1];
    let w = rng::philox4x32_10(rng::counter(k, b, p.step, stream::MEC_IOTD_POS, 0), key);
    let t = rng::philox4x32_10(rng::counter(k, b, p.step, stream::MEC_TASK, 0), key);
    (
        p.area * rng::uniform(w[0]),
        p.area * rng::uniform(w[1]),
        p.d_lo + (p.d_hi - p.d_lo) * rng::uniform(t[0]),
        p.f_lo + (p.f_hi - p.f_lo) * rng::uniform(t[1]),
    )
}

/// A MEC's position, element `j` < M of instance `b` (kernel `mec_reset`).
#[inline(always)]
pub fn reset_mec(p: &MecParams, b: u32, j: u32) -> (f32, f32) {
    let w = rng::philox4x32_10(rng::counter(j, b, p.step, stream::MEC_MEC_POS, 0), [p.key0, p.key1]);
    (p.area * rng::uniform(w[0]), p.area * rng::uniform(w[1]))
}

/// `mec_reset`: bufs iotd_pos [B,2,N], mec_pos [B,2,M], task_d [B,N], task_f [B,N].
pub fn cpu_reset(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    need("mec_reset", "iotd_pos", bufs[0].len(), b * 2 * n)?;
    need("mec_reset", "mec_pos", bufs[1].len(), b * 2 * m)?;
    need("mec_reset", "task_d", bufs[2].len(), b * n)?;
    need("mec_reset", "task_f", bufs[3].len(), b * n)?;
    let [ip, mp, td, tf] = bufs else { unreachable!("the spec has 4 buffers") };
    f32s_mut(ip)[..b * 2 * n]
        .par_chunks_mut(2 * n)
        .zip(f32s_mut(td)[..b * n].par_chunks_mut(n))
        .zip(f32s_mut(tf)[..b * n].par_chunks_mut(n))
        .enumerate()
        .for_each(|(bi, ((pos, d), f))| {
            for k in 0..n {
                let (x, y, dd, ff) = reset_iotd(&p, bi as u32, k as u32);
                pos[k] = x;
                pos[n + k] = y;
                d[k] = dd;
                f[k] = ff;
            }
        });
    f32s_mut(mp)[..b * 2 * m].par_chunks_mut(2 * m).enumerate().for_each(|(bi, pos)| {
        for j in 0..m {
            let (x, y) = reset_mec(&p, bi as u32, j as u32);
            pos[j] = x;
            pos[m + j] = y;
        }
    });
    Ok(())
}

/// Channel row of IoTD i in instance b (kernel `mec_channel`): l_ij ~ Exp(1) from Philox block
/// (i·⌈M/4⌉ + j/4, b, step, FADING), word j mod 4.
#[inline(always)]
pub fn channel_row(p: &MecParams, b: u32, i: u32, xi: f32, yi: f32, mec_pos: &[f32], out: &mut [f32]) {
    let m = p.m as usize;
    let blocks = m.div_ceil(4) as u32;
    let key = [p.key0, p.key1];
    let mut w = [0u32; 4];
    for j in 0..m {
        if j % 4 == 0 {
            w = rng::philox4x32_10(rng::counter(i * blocks + (j / 4) as u32, b, p.step, stream::MEC_FADING, 0), key);
        }
        let l = rng::exponential(w[j % 4]);
        let dx = mec_pos[j] - xi;
        let dy = mec_pos[m + j] - yi;
        out[j] = channel_gain(p.beta0, l, dx * dx + dy * dy, p.d2_min);
    }
}

/// `mec_channel`: bufs iotd_pos, mec_pos, h [B,N,M].
pub fn cpu_channel(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    need("mec_channel", "iotd_pos", bufs[0].len(), b * 2 * n)?;
    need("mec_channel", "mec_pos", bufs[1].len(), b * 2 * m)?;
    need("mec_channel", "h", bufs[2].len(), b * n * m)?;
    let [ip, mp, h] = bufs else { unreachable!() };
    let (ip, mp) = (f32s(ip), f32s(mp));
    f32s_mut(h)[..b * n * m].par_chunks_mut(m).enumerate().for_each(|(row, out)| {
        let (bi, i) = (row / n, row % n);
        let pos = &ip[bi * 2 * n..];
        channel_row(&p, bi as u32, i as u32, pos[i], pos[n + i], &mp[bi * 2 * m..(bi + 1) * 2 * m], out);
    });
    Ok(())
}

/// Allocation row of one IoTD (kernel `mec_alloc`): hn, p*, the cost row and √F.
#[inline(always)]
pub fn alloc_row(p: &MecParams, h: &[f32], d: f32, f: f32, hn: &mut [f32], p_opt: &mut [f32], cost: &mut [f32]) -> f32 {
    let mut sum = 0.0f32;
    for &x in h {
        sum += x;
    }
    let (t_l, e_l) = local_time_energy(f, p.f_local, p.p_local);
    cost[0] = p.phi_t * t_l + p.phi_e * e_l;
    for j in 0..h.len() {
        hn[j] = if sum > 0.0 { h[j] / sum } else { 0.0 };
        let pw = optimal_power(h[j], p.bandwidth, p.noise_psd, p.phi_t, p.phi_e, p.p_max);
        p_opt[j] = pw;
        let r = rate(p.bandwidth, p.noise_psd, pw, h[j]);
        cost[j + 1] = tx_cost(d, r, pw, p.phi_t, p.phi_e);
    }
    f.sqrt()
}

/// `mec_alloc`: bufs h, task_d, task_f, hn, p_opt, cost [B,N,M+1], sqrt_f.
pub fn cpu_alloc(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    let rows = b * n;
    for (k, (name, want)) in [
        ("h", rows * m),
        ("task_d", rows),
        ("task_f", rows),
        ("hn", rows * m),
        ("p_opt", rows * m),
        ("cost", rows * (m + 1)),
        ("sqrt_f", rows),
    ]
    .into_iter()
    .enumerate()
    {
        need("mec_alloc", name, bufs[k].len(), want)?;
    }
    let [h, td, tf, hn, po, cost, sf] = bufs else { unreachable!() };
    let (h, td, tf) = (f32s(h), f32s(td), f32s(tf));
    // Rayon over blocks of rows; inside a block the power solve runs on 16 (i, j) entries at a
    // time across rows (M is often small), then the rates and costs.
    const ROWS: usize = 64;
    f32s_mut(hn)[..rows * m]
        .par_chunks_mut(ROWS * m)
        .zip(f32s_mut(po)[..rows * m].par_chunks_mut(ROWS * m))
        .zip(f32s_mut(cost)[..rows * (m + 1)].par_chunks_mut(ROWS * (m + 1)))
        .zip(f32s_mut(sf)[..rows].par_chunks_mut(ROWS))
        .enumerate()
        .for_each(|(blk, (((hn, po), c), s))| {
            let r0 = blk * ROWS;
            let nr = s.len();
            let hb = &h[r0 * m..(r0 + nr) * m];
            for r in 0..nr {
                let row = &hb[r * m..(r + 1) * m];
                let mut sum = 0.0f32;
                for &x in row {
                    sum += x;
                }
                for j in 0..m {
                    hn[r * m + j] = if sum > 0.0 { row[j] / sum } else { 0.0 };
                }
                let (t_l, e_l) = local_time_energy(tf[r0 + r], p.f_local, p.p_local);
                c[r * (m + 1)] = p.phi_t * t_l + p.phi_e * e_l;
                s[r] = tf[r0 + r].sqrt();
            }
            const L: usize = 16;
            for e0 in (0..nr * m).step_by(L) {
                let len = L.min(nr * m - e0);
                let mut hl = [1.0f32; L];
                hl[..len].copy_from_slice(&hb[e0..e0 + len]);
                let pw = optimal_power_lanes(&hl, p.bandwidth, p.noise_psd, p.phi_t, p.phi_e, p.p_max);
                for l in 0..len {
                    let e = e0 + l;
                    let (r, j) = (e / m, e % m);
                    po[e] = pw[l];
                    let rate = rate(p.bandwidth, p.noise_psd, pw[l], hl[l]);
                    c[r * (m + 1) + j + 1] = tx_cost(td[r0 + r], rate, pw[l], p.phi_t, p.phi_e);
                }
            }
        });
    Ok(())
}

/// ln of a gain for the observation (gains of 0 map to ln 1e-30).
#[inline(always)]
fn log_gain(h: f32) -> f32 {
    math::ln(h.max(1e-30))
}

/// `mec_observe`: bufs h, obs [B,M,N]; agent j sees (ln h_ij − mean_i) / std_i (population std,
/// floored at 1e-6) over its column (§V-C "State": log scale, then standardized).
pub fn cpu_observe(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    need("mec_observe", "h", bufs[0].len(), b * n * m)?;
    need("mec_observe", "obs", bufs[1].len(), b * m * n)?;
    let [h, obs] = bufs else { unreachable!() };
    let h = f32s(h);
    f32s_mut(obs)[..b * m * n].par_chunks_mut(n).enumerate().for_each(|(col, out)| {
        let (bi, j) = (col / m, col % m);
        observe_column(&h[bi * n * m..(bi + 1) * n * m], n, m, j, out);
    });
    Ok(())
}

/// Column j of one instance's observation.
#[inline(always)]
pub fn observe_column(h: &[f32], n: usize, m: usize, j: usize, out: &mut [f32]) {
    let mut mean = 0.0f32;
    for i in 0..n {
        let v = log_gain(h[i * m + j]);
        out[i] = v;
        mean += v;
    }
    mean /= n as f32;
    let mut var = 0.0f32;
    for v in out.iter() {
        var += (v - mean) * (v - mean);
    }
    let sd = (var / n as f32).sqrt().max(1e-6);
    for v in out.iter_mut() {
        *v = (*v - mean) / sd;
    }
}

/// Σ_i Φ_i of one decision vector with the exact allocation. `bins` has M+1 entries
/// (entry 0 collects local tasks and is ignored). Partial sums by i mod 4, combined as
/// (s0 + s1) + (s2 + s3), then φ_T/F_max · Σ_j S_j² in j order — the same on every backend.
/// Returns NaN if some a_i > M.
#[inline]
pub fn objective_exact_one(
    cost: &[f32],
    sqrt_f: &[f32],
    a: &[u32],
    m: usize,
    f_max: f32,
    phi_t: f32,
    bins: &mut [f32],
) -> f32 {
    let n = a.len();
    let bins = &mut bins[..m + 1];
    bins.fill(0.0);
    let w = m + 1;
    let mut s = [0.0f32; 4];
    let cost = &cost[..n * w];
    let sqrt_f = &sqrt_f[..n];
    // An out-of-range a_i is clamped for the (in-bounds) reads and flagged: the result is NaN.
    let mut bad = false;
    for (i, &ai) in a.iter().enumerate() {
        bad |= ai as usize > m;
        let ai = (ai as usize).min(m);
        // SAFETY: i < n and ai <= m < w, so i·w + ai < n·w = cost.len() and ai < bins.len().
        unsafe {
            s[i % 4] += *cost.get_unchecked(i * w + ai);
            *bins.get_unchecked_mut(ai) += *sqrt_f.get_unchecked(i);
        }
    }
    if bad {
        return f32::NAN;
    }
    let mut cpu = 0.0f32;
    for &sj in &bins[1..] {
        cpu += sj * sj;
    }
    (s[0] + s[1]) + (s[2] + s[3]) + phi_t / f_max * cpu
}

/// `mec_objective_exact`: bufs cost [B,N,M+1], sqrt_f [B,N], a [B,P,N] u32, bins (scratch),
/// phi [B,P].
pub fn cpu_objective_exact(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m, pp) = (p.b as usize, p.n as usize, p.m as usize, p.p as usize);
    need("mec_objective_exact", "cost", bufs[0].len(), b * n * (m + 1))?;
    need("mec_objective_exact", "sqrt_f", bufs[1].len(), b * n)?;
    need("mec_objective_exact", "a", bufs[2].len(), b * pp * n)?;
    need("mec_objective_exact", "phi", bufs[4].len(), b * pp)?;
    let [cost, sf, a, _bins, phi] = bufs else { unreachable!() };
    let (cost, sf, a) = (f32s(cost), f32s(sf), &a[..]);
    f32s_mut(phi)[..b * pp].par_chunks_mut(pp.max(1)).enumerate().for_each_init(
        || vec![0.0f32; m + 1],
        |bins, (bi, out)| {
            let c = &cost[bi * n * (m + 1)..(bi + 1) * n * (m + 1)];
            let s = &sf[bi * n..(bi + 1) * n];
            for (k, o) in out.iter_mut().enumerate() {
                let row = &a[(bi * pp + k) * n..(bi * pp + k + 1) * n];
                *o = objective_exact_one(c, s, row, m, p.f_max, p.phi_t, bins);
            }
        },
    );
    Ok(())
}

/// Σ_i Φ_i of one (a, f, p) as given (paper mode, eq. 8–11). A MEC whose assigned shares sum
/// above F_max (constraint 6) scales them down to fit: the time term becomes
/// Σ F_i/f_i · max(1, Σ f_i / F_max). `bins` has 2M entries (Σ f, Σ F/f per MEC).
/// Returns NaN if some a_i > M.
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn objective_paper_one(
    p: &MecParams,
    h: &[f32],
    d: &[f32],
    fc: &[f32],
    a: &[u32],
    f: &[f32],
    pw: &[f32],
    bins: &mut [f32],
) -> f32 {
    let m = p.m as usize;
    let n = a.len();
    assert!(h.len() >= n * m && d.len() >= n && fc.len() >= n && f.len() >= n && pw.len() >= n, "row lengths");
    let bins = &mut bins[..2 * m];
    bins.fill(0.0);
    let mut s = [0.0f32; 4];
    // Chunks of 16: every task's term (local Φ or transmission part, with its rate) is computed
    // lane-parallel, then added in task order exactly as a sequential loop would.
    const L: usize = 16;
    for i0 in (0..n).step_by(L) {
        let len = L.min(n - i0);
        let mut term = [0.0f32; L];
        let mut bad = false;
        let (ac, dc, fcc, pc) = (&a[i0..i0 + len], &d[i0..i0 + len], &fc[i0..i0 + len], &pw[i0..i0 + len]);
        for l in 0..len {
            let i = i0 + l;
            let ai = ac[l] as usize;
            bad |= ai > m;
            let j = ai.clamp(1, m) - 1;
            // SAFETY: i < n and j < m, and h.len() >= n·m was asserted.
            let hij = unsafe { *h.get_unchecked(i * m + j) };
            let (t, e) = local_time_energy(fcc[l], p.f_local, p.p_local);
            let local = p.phi_t * t + p.phi_e * e;
            let r = rate(p.bandwidth, p.noise_psd, pc[l], hij);
            let tx = tx_cost(dc[l], r, pc[l], p.phi_t, p.phi_e);
            term[l] = if ai == 0 { local } else { tx };
        }
        if bad {
            return f32::NAN;
        }
        for l in 0..len {
            let i = i0 + l;
            s[i % 4] += term[l];
            let ai = a[i] as usize;
            if ai != 0 {
                bins[ai - 1] += f[i];
                bins[m + ai - 1] += fc[i] / f[i];
            }
        }
    }
    let mut cpu = 0.0f32;
    for j in 0..m {
        cpu += bins[m + j] * (bins[j] / p.f_max).max(1.0);
    }
    (s[0] + s[1]) + (s[2] + s[3]) + p.phi_t * cpu
}

/// `mec_objective_paper`: bufs h, task_d, task_f, a, f, pw [B,P,N], bins (scratch), phi [B,P].
pub fn cpu_objective_paper(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m, pp) = (p.b as usize, p.n as usize, p.m as usize, p.p as usize);
    for (k, (name, want)) in [
        ("h", b * n * m),
        ("task_d", b * n),
        ("task_f", b * n),
        ("a", b * pp * n),
        ("f", b * pp * n),
        ("pw", b * pp * n),
    ]
    .into_iter()
    .enumerate()
    {
        need("mec_objective_paper", name, bufs[k].len(), want)?;
    }
    need("mec_objective_paper", "phi", bufs[7].len(), b * pp)?;
    let [h, td, tf, a, f, pw, _bins, phi] = bufs else { unreachable!() };
    let (h, td, tf, a, f, pw) = (f32s(h), f32s(td), f32s(tf), &a[..], f32s(f), f32s(pw));
    f32s_mut(phi)[..b * pp].par_iter_mut().enumerate().for_each_init(
        || vec![0.0f32; 2 * m],
        |bins, (c, out)| {
            let bi = c / pp;
            let r = c * n..(c + 1) * n;
            *out = objective_paper_one(
                &p,
                &h[bi * n * m..(bi + 1) * n * m],
                &td[bi * n..(bi + 1) * n],
                &tf[bi * n..(bi + 1) * n],
                &a[r.clone()],
                &f[r.clone()],
                &pw[r],
                bins,
            );
        },
    );
    Ok(())
}

/// Baseline decisions (SPEC §VI-C).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heuristic {
    /// Every task local.
    Local = 0,
    /// Nearest MEC, in ascending-F order; a task that does not fit the MEC's capacity goes
    /// local, so the largest-F tasks are the ones left local.
    Greedy = 1,
    /// A uniform target in {local, 1..M}; local if the chosen MEC has no capacity left.
    Random = 2,
}

/// One instance's heuristic decisions (kernel `mec_heuristic`, one thread per instance).
#[allow(clippy::too_many_arguments)]
pub fn heuristic_instance(
    p: &MecParams,
    bi: u32,
    iotd_pos: &[f32],
    mec_pos: &[f32],
    task_f: &[f32],
    order: &[u32],
    load: &mut [f32],
    a: &mut [u32],
) {
    let (n, m) = (p.n as usize, p.m as usize);
    load[..m].fill(0.0);
    match p.variant {
        0 => a[..n].fill(0),
        1 => {
            for &i in &order[..n] {
                let i = i as usize;
                let (x, y) = (iotd_pos[i], iotd_pos[n + i]);
                let mut best = 0usize;
                let mut best_d2 = f32::INFINITY;
                for j in 0..m {
                    let (dx, dy) = (mec_pos[j] - x, mec_pos[m + j] - y);
                    let d2 = dx * dx + dy * dy;
                    if d2 < best_d2 {
                        best_d2 = d2;
                        best = j;
                    }
                }
                if load[best] + task_f[i] <= p.capacity {
                    load[best] += task_f[i];
                    a[i] = best as u32 + 1;
                } else {
                    a[i] = 0;
                }
            }
        }
        _ => {
            let key = [p.key0, p.key1];
            for i in 0..n {
                let w = rng::philox4x32_10(rng::counter(i as u32, bi, p.step, stream::MEC_RANDOM_POLICY, 0), key);
                let t = rng::uniform_index(w[0], p.m + 1) as usize;
                a[i] = if t > 0 && load[t - 1] + task_f[i] <= p.capacity {
                    load[t - 1] += task_f[i];
                    t as u32
                } else {
                    0
                };
            }
        }
    }
}

/// `mec_heuristic`: bufs iotd_pos, mec_pos, task_f, order [B,N] u32, load (scratch [B,M]), a [B,N].
pub fn cpu_heuristic(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    for (k, (name, want)) in [
        ("iotd_pos", b * 2 * n),
        ("mec_pos", b * 2 * m),
        ("task_f", b * n),
        ("order", b * n),
        ("load", b * m),
        ("a", b * n),
    ]
    .into_iter()
    .enumerate()
    {
        need("mec_heuristic", name, bufs[k].len(), want)?;
    }
    let [ip, mp, tf, order, _load, a] = bufs else { unreachable!() };
    let (ip, mp, tf, order) = (f32s(ip), f32s(mp), f32s(tf), &order[..]);
    a[..b * n].par_chunks_mut(n).enumerate().for_each_init(
        || vec![0.0f32; m],
        |load, (bi, a)| {
            heuristic_instance(
                &p,
                bi as u32,
                &ip[bi * 2 * n..(bi + 1) * 2 * n],
                &mp[bi * 2 * m..(bi + 1) * 2 * m],
                &tf[bi * n..(bi + 1) * n],
                &order[bi * n..(bi + 1) * n],
                load,
                a,
            )
        },
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The batched environment on any backend
// ---------------------------------------------------------------------------------------------

/// Per-instance summary of a decision: Σ Φ, mean T, mean E.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Σ_i Φ_i (eq. 11).
    pub objective: f64,
    /// mean_i T_i (s).
    pub mean_time: f64,
    /// mean_i E_i (J).
    pub mean_energy: f64,
}

/// B instances of the `mec` system, state resident on a backend.
pub struct MecEnv {
    backend: Arc<dyn Backend>,
    cfg: MecConfig,
    params: MecParams,
    /// IoTD positions [B,2,N].
    pub iotd_pos: Buffer,
    /// MEC positions [B,2,M].
    pub mec_pos: Buffer,
    /// D_i [B,N].
    pub task_d: Buffer,
    /// F_i [B,N].
    pub task_f: Buffer,
    /// h [B,N,M].
    pub h: Buffer,
    /// h normalized per IoTD [B,N,M].
    pub hn: Buffer,
    /// Optimal power [B,N,M].
    pub p_opt: Buffer,
    /// Cost table [B,N,M+1].
    pub cost: Buffer,
    /// √F_i [B,N].
    pub sqrt_f: Buffer,
    /// Observations [B,M,N].
    pub obs: Buffer,
    order: Buffer,
    load: Buffer,
    step: u32,
}

impl MecEnv {
    /// Allocate B instances of `cfg` on `backend`, seeded by `seed`, and reset episode 0.
    pub fn new(backend: Arc<dyn Backend>, cfg: &MecConfig, batch: usize, seed: u64) -> Result<Self> {
        cfg.validate()?;
        if batch == 0 {
            return Err(Error::config("batch", batch, "must be >= 1"));
        }
        let (b, n, m) = (batch, cfg.n_iotd, cfg.n_mec);
        let words = b
            .checked_mul(n)
            .and_then(|x| x.checked_mul(m + 1))
            .filter(|&w| w < u32::MAX as usize)
            .ok_or_else(|| Error::config("batch", batch, "batch·n_iotd·(n_mec+1) must fit in 32-bit indexing"))?;
        let _ = words;
        if let Some(limit) = backend.max_loop_iterations() {
            // The longest per-invocation loops: observe (3 passes over N), the Greedy's nearest-MEC
            // search (N·M), the power solve (≤ 64 Newton steps per MEC), the objectives (N + M).
            let work = 3 * n as u64 + (n as u64) * (m as u64) + 64 * m as u64;
            if work > limit {
                return Err(Error::config(
                    "mec.n_iotd",
                    n,
                    format!(
                        "with n_mec = {m} the kernels would loop ~{work} times per invocation, beyond this \
                         driver's silent limit of {limit} (lavapipe); use the cpu backend or a hardware GPU"
                    ),
                ));
            }
        }
        let be = &*backend;
        let env = MecEnv {
            params: cfg.params(b, 1, seed),
            cfg: cfg.clone(),
            iotd_pos: be.alloc(b * 2 * n)?,
            mec_pos: be.alloc(b * 2 * m)?,
            task_d: be.alloc(b * n)?,
            task_f: be.alloc(b * n)?,
            h: be.alloc(b * n * m)?,
            hn: be.alloc(b * n * m)?,
            p_opt: be.alloc(b * n * m)?,
            cost: be.alloc(b * n * (m + 1))?,
            sqrt_f: be.alloc(b * n)?,
            obs: be.alloc(b * m * n)?,
            order: be.alloc(b * n)?,
            load: be.alloc(b * m)?,
            step: 0,
            backend,
        };
        let mut env = env;
        env.reset(0)?;
        Ok(env)
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    /// The config.
    pub fn config(&self) -> &MecConfig {
        &self.cfg
    }
    /// The kernel parameter block (B, N, M, key, physics).
    pub fn params(&self) -> MecParams {
        self.params
    }
    /// B.
    pub fn batch(&self) -> usize {
        self.params.b as usize
    }

    fn launch(&self, k: &'static KernelSpec, p: &MecParams, threads: usize, bufs: &[&Buffer]) -> Result<()> {
        self.backend.launch(k, bytemuck::bytes_of(p), threads as u32, bufs)
    }

    /// New positions and tasks for `episode`, then the first channel draw (step 0).
    pub fn reset(&mut self, episode: u32) -> Result<()> {
        let (b, n, m) = (self.batch(), self.cfg.n_iotd, self.cfg.n_mec);
        let mut p = self.params;
        p.step = episode;
        self.launch(&MEC_RESET, &p, b * (n + m), &[&self.iotd_pos, &self.mec_pos, &self.task_d, &self.task_f])?;
        // Greedy visits tasks in ascending F (ties by index). With homogeneous tasks this is the
        // identity and needs no round trip.
        let order: Vec<u32> = if self.params.f_lo == self.params.f_hi {
            (0..b).flat_map(|_| 0..n as u32).collect()
        } else {
            let f: Vec<f32> = crate::backend::download_f32(&*self.backend, &self.task_f)?;
            f.par_chunks(n)
                .flat_map_iter(|row| {
                    let mut idx: Vec<u32> = (0..n as u32).collect();
                    idx.sort_by(|&x, &y| row[x as usize].total_cmp(&row[y as usize]).then(x.cmp(&y)));
                    idx
                })
                .collect()
        };
        self.backend.write(&self.order, &order)?;
        self.step = 0;
        self.draw_channel()
    }

    /// Advance one step: redraw the fading (eq. 3) and recompute the allocation and observations.
    pub fn step(&mut self) -> Result<()> {
        self.step += 1;
        self.draw_channel()
    }

    /// Current step within the episode.
    pub fn current_step(&self) -> u32 {
        self.step
    }

    /// Jump to step `step` of the current episode: the fading of that step (later steps of the
    /// same layouts, e.g. held-out channel states far from those used in training).
    pub fn seek(&mut self, step: u32) -> Result<()> {
        self.step = step;
        self.draw_channel()
    }

    fn draw_channel(&mut self) -> Result<()> {
        let (b, n) = (self.batch(), self.cfg.n_iotd);
        let mut p = self.params;
        p.step = self.step;
        self.launch(&MEC_CHANNEL, &p, b * n, &[&self.iotd_pos, &self.mec_pos, &self.h])?;
        self.refresh()
    }

    /// Replace the channel gains by user-provided ones ([B,N,M], finite and > 0).
    pub fn set_channel(&mut self, h: &[f32]) -> Result<()> {
        let want = self.batch() * self.cfg.n_iotd * self.cfg.n_mec;
        if h.len() != want {
            return Err(Error::shape("mec.set_channel h", want, h.len()));
        }
        if let Some((i, v)) = h.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::input("h", i, v, "channel gains must be finite and > 0"));
        }
        self.backend.write(&self.h, bytemuck::cast_slice(h))?;
        self.refresh()
    }

    fn refresh(&mut self) -> Result<()> {
        let (b, n, m) = (self.batch(), self.cfg.n_iotd, self.cfg.n_mec);
        let p = self.params;
        self.launch(
            &MEC_ALLOC,
            &p,
            b * n,
            &[&self.h, &self.task_d, &self.task_f, &self.hn, &self.p_opt, &self.cost, &self.sqrt_f],
        )?;
        self.launch(&MEC_OBSERVE, &p, b * m, &[&self.h, &self.obs])
    }

    /// Check host decisions: length B·P·N, every a_i ≤ M.
    pub fn check_actions(&self, a: &[u32], candidates: usize) -> Result<()> {
        let want = self.batch() * candidates * self.cfg.n_iotd;
        if a.len() != want {
            return Err(Error::shape("mec actions", want, a.len()));
        }
        if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| **v as usize > self.cfg.n_mec) {
            return Err(Error::input(
                "a",
                i,
                v,
                format!("offloading target must be 0 (local) ..= {} (n_mec)", self.cfg.n_mec),
            ));
        }
        Ok(())
    }

    /// Σ Φ of `candidates` decision vectors per instance already on the device ([B,P,N] u32),
    /// with the exact allocation; result [B,P] on the device.
    pub fn objective_exact_dev(&self, a: &Buffer, candidates: usize) -> Result<Buffer> {
        let (b, m) = (self.batch(), self.cfg.n_mec);
        let mut p = self.params;
        p.p = candidates as u32;
        let bins = self.backend.alloc(b * candidates * (m + 1))?;
        let phi = self.backend.alloc(b * candidates)?;
        self.launch(&MEC_OBJECTIVE_EXACT, &p, b * candidates, &[&self.cost, &self.sqrt_f, a, &bins, &phi])?;
        Ok(phi)
    }

    /// Σ Φ per instance and candidate for host decisions (validated), exact allocation.
    pub fn objective_exact(&self, a: &[u32], candidates: usize) -> Result<Vec<f32>> {
        self.check_actions(a, candidates)?;
        let buf = self.backend.upload(a)?;
        crate::backend::download_f32(&*self.backend, &self.objective_exact_dev(&buf, candidates)?)
    }

    /// Σ Φ for host (a, f, p) as given (paper mode), validated: f > 0 and 0 < p ≤ P_max for
    /// offloaded tasks, all finite.
    pub fn objective_paper(&self, a: &[u32], f: &[f32], pw: &[f32], candidates: usize) -> Result<Vec<f32>> {
        self.check_actions(a, candidates)?;
        for (name, v) in [("f", f), ("p", pw)] {
            if v.len() != a.len() {
                return Err(Error::shape(format!("mec objective {name}"), a.len(), v.len()));
            }
        }
        for i in 0..a.len() {
            if a[i] == 0 {
                continue;
            }
            if !(f[i].is_finite() && f[i] > 0.0) {
                return Err(Error::input("f", i, f[i], "CPU share must be finite and > 0"));
            }
            if !(pw[i].is_finite() && pw[i] > 0.0 && pw[i] <= self.params.p_max) {
                return Err(Error::input(
                    "p",
                    i,
                    pw[i],
                    format!("transmit power must be in (0, {}]", self.params.p_max),
                ));
            }
        }
        let (b, m) = (self.batch(), self.cfg.n_mec);
        let mut p = self.params;
        p.p = candidates as u32;
        let be = &*self.backend;
        let (ab, fb, pb) = (be.upload(a)?, crate::backend::upload_f32(be, f)?, crate::backend::upload_f32(be, pw)?);
        let bins = be.alloc(b * candidates * 2 * m)?;
        let phi = be.alloc(b * candidates)?;
        self.launch(
            &MEC_OBJECTIVE_PAPER,
            &p,
            b * candidates,
            &[&self.h, &self.task_d, &self.task_f, &ab, &fb, &pb, &bins, &phi],
        )?;
        crate::backend::download_f32(be, &phi)
    }

    /// Baseline decisions [B,N] on the device.
    pub fn heuristic_dev(&self, which: Heuristic) -> Result<Buffer> {
        let (b, n) = (self.batch(), self.cfg.n_iotd);
        let mut p = self.params;
        p.variant = which as u32;
        p.step = self.step;
        let a = self.backend.alloc(b * n)?;
        self.launch(
            &MEC_HEURISTIC,
            &p,
            b,
            &[&self.iotd_pos, &self.mec_pos, &self.task_f, &self.order, &self.load, &a],
        )?;
        Ok(a)
    }

    /// Baseline decisions [B,N] on the host.
    pub fn heuristic(&self, which: Heuristic) -> Result<Vec<u32>> {
        self.backend.download(&self.heuristic_dev(which)?)
    }

    /// Reward of each instance for decisions a [B,N] with the exact allocation.
    pub fn reward(&self, a: &[u32]) -> Result<Vec<f32>> {
        let phi = self.objective_exact(a, 1)?;
        let n = self.cfg.n_iotd as f32;
        Ok(phi
            .into_iter()
            .map(|x| match self.cfg.reward {
                RewardKind::Inverse => 1.0 / x,
                RewardKind::NegativeMean => -x / n,
            })
            .collect())
    }

    /// Per-instance Σ Φ, mean T and mean E of decisions a [B,N] under the exact allocation,
    /// computed on the host in f64 from the device tables (reporting only).
    pub fn summarize_exact(&self, a: &[u32]) -> Result<Vec<Summary>> {
        self.check_actions(a, 1)?;
        let be = &*self.backend;
        let (b, n, m) = (self.batch(), self.cfg.n_iotd, self.cfg.n_mec);
        let h = crate::backend::download_f32(be, &self.h)?;
        let po = crate::backend::download_f32(be, &self.p_opt)?;
        let td = crate::backend::download_f32(be, &self.task_d)?;
        let tf = crate::backend::download_f32(be, &self.task_f)?;
        let c = &self.cfg;
        Ok((0..b)
            .into_par_iter()
            .map(|bi| {
                let a = &a[bi * n..(bi + 1) * n];
                let mut s = vec![0.0f64; m + 1];
                for i in 0..n {
                    s[a[i] as usize] += (tf[bi * n + i] as f64).sqrt();
                }
                let (mut tt, mut te) = (0.0, 0.0);
                for i in 0..n {
                    let (d, f) = (td[bi * n + i] as f64, tf[bi * n + i] as f64);
                    if a[i] == 0 {
                        let t = f / c.f_local_hz;
                        tt += t;
                        te += t * c.p_local();
                    } else {
                        let j = a[i] as usize - 1;
                        let k = (bi * n + i) * m + j;
                        let (pw, hh) = (po[k] as f64, h[k] as f64);
                        let r = c.bandwidth_hz * (1.0 + pw * hh / (c.noise_psd * c.bandwidth_hz)).log2();
                        let share = c.f_mec_max_hz * f.sqrt() / s[j + 1];
                        tt += d / r + f / share;
                        te += pw * d / r;
                    }
                }
                Summary { objective: c.phi_t * tt + c.phi_e * te, mean_time: tt / n as f64, mean_energy: te / n as f64 }
            })
            .collect())
    }
}

impl MecEnv {
    /// Per-instance Σ Φ, mean T and mean E of (a, f, p) as given (paper mode; a MEC whose
    /// shares exceed F_max scales them down, as in the objective), host f64 (reporting only).
    pub fn summarize_paper(&self, a: &[u32], f: &[f32], pw: &[f32]) -> Result<Vec<Summary>> {
        self.check_actions(a, 1)?;
        let be = &*self.backend;
        let (b, n, m) = (self.batch(), self.cfg.n_iotd, self.cfg.n_mec);
        let h = crate::backend::download_f32(be, &self.h)?;
        let td = crate::backend::download_f32(be, &self.task_d)?;
        let tf = crate::backend::download_f32(be, &self.task_f)?;
        let c = &self.cfg;
        Ok((0..b)
            .into_par_iter()
            .map(|bi| {
                let r0 = bi * n;
                let mut sumf = vec![0.0f64; m + 1];
                for i in 0..n {
                    if a[r0 + i] > 0 {
                        sumf[a[r0 + i] as usize] += f[r0 + i] as f64;
                    }
                }
                let (mut tt, mut te) = (0.0, 0.0);
                for i in 0..n {
                    let (d, fc) = (td[r0 + i] as f64, tf[r0 + i] as f64);
                    let j = a[r0 + i] as usize;
                    if j == 0 {
                        let t = fc / c.f_local_hz;
                        tt += t;
                        te += t * c.p_local();
                    } else {
                        let (pw, hh) = (pw[r0 + i] as f64, h[(r0 + i) * m + j - 1] as f64);
                        let r = c.bandwidth_hz * (1.0 + pw * hh / (c.noise_psd * c.bandwidth_hz)).log2();
                        let share = f[r0 + i] as f64 * (c.f_mec_max_hz / sumf[j]).min(1.0);
                        tt += d / r + fc / share;
                        te += pw * d / r;
                    }
                }
                Summary { objective: c.phi_t * tt + c.phi_e * te, mean_time: tt / n as f64, mean_energy: te / n as f64 }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-30)
    }

    #[test]
    fn eq3_channel_gain_hand_case() {
        // β0 = 1e-3, l = 0.8, d = (3, 4) m → d² = 25: h = 1e-3·0.8/25 = 3.2e-5.
        assert!(close(channel_gain(1e-3, 0.8, 25.0, 1.0) as f64, 3.2e-5, 1e-6));
        // Floor: d² = 0.25 → treated as 1 m².
        assert!(close(channel_gain(1e-3, 1.0, 0.25, 1.0) as f64, 1e-3, 1e-6));
    }

    #[test]
    fn eq2_rate_hand_case() {
        // B = 1 MHz, σ² = 1e-12 W/Hz → noise 1e-6 W; p·h = 1.5·1e-5 = 1.5e-5 → SNR 15:
        // r = 1e6·log2(16) = 4e6 bit/s.
        assert!(close(rate(1e6, 1e-12, 1.5, 1e-5) as f64, 4e6, 1e-6));
    }

    #[test]
    fn eq8_to_10_local_and_offload() {
        // Local: F = 1e9 at f0 = 1e9 → T = 1 s; p^E = κ f0³ = 1 W → E = 1 J; Φ = 0.5 + 0.5 = 1.
        let cfg = MecConfig::default();
        assert!(close(cfg.p_local(), 1.0, 1e-12));
        let (t, e) = local_time_energy(1e9, 1e9, 1.0);
        assert_eq!((t, e), (1.0, 1.0));
        // Offload: D = 8e5 bits at r = 4e6 → 0.2 s, F = 1e9 at 25e9 Hz → 0.04 s; E = 1.5·0.2.
        let (t, e) = offload_time_energy(8e5, 1e9, 4e6, 25e9, 1.5);
        assert!(close(t as f64, 0.24, 1e-6) && close(e as f64, 0.3, 1e-6));
    }

    #[test]
    fn kkt_cpu_shares_beat_a_grid() {
        // Two tasks F = 1e9 and 4e9 on F_max = 3e9: f ∝ √F → (1e9, 2e9); Σ F/f = 1 + 2 = 3 s.
        let s = cpu_shares(3e9, &[1e9, 4e9]);
        assert!(close(s[0], 1e9, 1e-12) && close(s[1], 2e9, 1e-12));
        let kkt = 1e9 / s[0] + 4e9 / s[1];
        for k in 1..1000 {
            let f0 = 3e9 * k as f64 / 1000.0;
            assert!(1e9 / f0 + 4e9 / (3e9 - f0) >= kkt - 1e-9);
        }
    }

    /// The 1-D power solve against a dense grid of the cost (φ_T + φ_E p)·D/r(p).
    #[test]
    fn optimal_power_matches_brute_force_grid() {
        let (bw, n0, pmax) = (1e6f64, 1e-12f64, 1.5f64);
        for &h in &[1e-7f64, 1e-6, 3e-6, 1e-5, 1e-4, 1e-3] {
            for &(pt, pe) in &[(0.5, 0.5), (0.9, 0.1), (0.1, 0.9), (1.0, 0.0)] {
                let cost = |p: f64| (pt + pe * p) / (bw * (1.0 + p * h / (n0 * bw)).log2());
                let mut best = (f64::INFINITY, 0.0);
                for k in 1..=200_000 {
                    let p = pmax * k as f64 / 200_000.0;
                    let c = cost(p);
                    if c < best.0 {
                        best = (c, p);
                    }
                }
                let p = optimal_power(h as f32, bw as f32, n0 as f32, pt as f32, pe as f32, pmax as f32) as f64;
                // The cost is flat at the optimum: compare costs (1e-6) and powers (grid step).
                assert!(cost(p) <= best.0 * (1.0 + 1e-6), "h={h} φ=({pt},{pe}): p={p} grid p={}", best.1);
                assert!((p - best.1).abs() <= 2e-3 * pmax + 1e-5 * best.1, "h={h}: p={p} grid {}", best.1);
            }
        }
    }

    #[test]
    fn alloc_kernel_equals_alloc_row_bit_for_bit() {
        // The lane-parallel CPU kernel against the scalar reference row by row, with gains that
        // exercise both branches of the power solve (P_max and interior optimum) and M = 3, 7.
        for m in [3u32, 7] {
            let mut p = MecConfig { n_iotd: 50, n_mec: m as usize, ..MecConfig::default() }.params(2, 1, 1);
            p.b = 2;
            let (rows, m) = (100usize, m as usize);
            let h: Vec<f32> =
                (0..rows * m).map(|k| 10f32.powf(-9.0 + 7.0 * ((k * 7919) % 1000) as f32 / 1000.0)).collect();
            let d: Vec<f32> = (0..rows).map(|k| 1e5 + 1e4 * k as f32).collect();
            let f: Vec<f32> = (0..rows).map(|k| 1e9 + 3e7 * k as f32).collect();
            let mut bufs: Vec<Vec<u32>> = vec![
                h.iter().map(|x| x.to_bits()).collect(),
                d.iter().map(|x| x.to_bits()).collect(),
                f.iter().map(|x| x.to_bits()).collect(),
                vec![0; rows * m],
                vec![0; rows * m],
                vec![0; rows * (m + 1)],
                vec![0; rows],
            ];
            let mut refs: Vec<&mut [u32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
            cpu_alloc(bytemuck::bytes_of(&p), &mut refs).unwrap();
            for r in 0..rows {
                let (mut hn, mut po, mut c) = (vec![0.0; m], vec![0.0; m], vec![0.0; m + 1]);
                let sf = alloc_row(&p, &h[r * m..(r + 1) * m], d[r], f[r], &mut hn, &mut po, &mut c);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&hn), bufs[3][r * m..(r + 1) * m], "hn row {r}");
                assert_eq!(bits(&po), bufs[4][r * m..(r + 1) * m], "p row {r}");
                assert_eq!(bits(&c), bufs[5][r * (m + 1)..(r + 1) * (m + 1)], "cost row {r}");
                assert_eq!(sf.to_bits(), bufs[6][r]);
            }
        }
    }

    #[test]
    fn optimal_power_stationarity_to_1e6() {
        // At an interior optimum, (1+t) ln(1+t) − t = φ_T c / φ_E to 1e-6 relative (in f64).
        let (h, bw, n0) = (1e-4f64, 1e6, 1e-12);
        let p = optimal_power(h as f32, bw as f32, n0 as f32, 0.5, 0.5, 1.5) as f64;
        let c = h / (n0 * bw);
        let t = p * c;
        let lhs = (1.0 + t) * (1.0 + t).ln() - t;
        assert!(p < 1.5 && close(lhs, c, 1e-5), "p={p} lhs={lhs} c={c}");
    }

    fn small_params(n: u32, m: u32) -> MecParams {
        let cfg = MecConfig { n_iotd: n as usize, n_mec: m as usize, ..MecConfig::default() };
        cfg.params(1, 1, 42)
    }

    #[test]
    fn objective_exact_hand_case() {
        // N = 3, M = 2. Costs: IoTD0 local 1.0; IoTD1 → MEC1 tx 0.2; IoTD2 → MEC1 tx 0.3.
        // √F = 2e4, 4e4: S_1 = 2e4+... CPU term φ_T/F_max·S² = 0.5/50e9·(3e4+4e4)² = 0.049.
        let m = 2;
        let cost = [1.0, 9.0, 9.0, 9.0, 0.2, 9.0, 9.0, 0.3, 9.0];
        let sf = [1e4, 3e4, 4e4];
        let mut bins = vec![0.0; m + 1];
        let phi = objective_exact_one(&cost, &sf, &[0, 1, 1], m, 50e9, 0.5, &mut bins);
        assert!(close(phi as f64, 1.0 + 0.2 + 0.3 + 0.5 / 50e9 * 4.9e9, 1e-6), "{phi}");
        assert!(objective_exact_one(&cost, &sf, &[0, 3, 1], m, 50e9, 0.5, &mut bins).is_nan());
    }

    #[test]
    fn objective_exact_equals_eq8_11_with_kkt_allocation() {
        // The closed form equals Σ Φ_i of eq. (8)–(11) evaluated with the KKT shares and p*.
        let p = small_params(7, 3);
        let mut h = [0.0f32; 21];
        for (k, v) in h.iter_mut().enumerate() {
            *v = 1e-6 * (1.0 + k as f32);
        }
        let d = [8e5f32; 7];
        let f = [1e9f32, 2e9, 3e9, 1e9, 5e9, 1e9, 2e9];
        let a = [0u32, 1, 1, 2, 3, 3, 3];
        let (mut hn, mut po, mut cost, mut sf) = (vec![0.0; 21], vec![0.0; 21], vec![0.0; 28], vec![0.0; 7]);
        for i in 0..7 {
            sf[i] = alloc_row(
                &p,
                &h[i * 3..i * 3 + 3],
                d[i],
                f[i],
                &mut hn[i * 3..i * 3 + 3],
                &mut po[i * 3..i * 3 + 3],
                &mut cost[i * 4..i * 4 + 4],
            );
        }
        let mut bins = vec![0.0; 4];
        let phi = objective_exact_one(&cost, &sf, &a, 3, p.f_max, p.phi_t, &mut bins) as f64;
        let mut want = 0.0f64;
        for j in 1..=3u32 {
            let members: Vec<usize> = (0..7).filter(|&i| a[i] == j).collect();
            let shares = cpu_shares(p.f_max as f64, &members.iter().map(|&i| f[i] as f64).collect::<Vec<_>>());
            for (k, &i) in members.iter().enumerate() {
                let pw = po[i * 3 + j as usize - 1] as f64;
                let r = 1e6 * (1.0 + pw * h[i * 3 + j as usize - 1] as f64 / 1e-6).log2();
                let t = 8e5 / r + f[i] as f64 / shares[k];
                want += 0.5 * t + 0.5 * pw * 8e5 / r;
            }
        }
        want += 1.0; // IoTD 0 local: Φ = 1
        assert!(close(phi, want, 2e-6), "{phi} vs {want}");
    }

    #[test]
    fn objective_paper_scales_overbooked_mec() {
        // Two tasks on MEC 1 asking 40 GHz each (80 > 50): times scale by 80/50.
        let p = small_params(2, 1);
        let h = [1e-5f32, 1e-5];
        let mut bins = vec![0.0; 2];
        let phi = objective_paper_one(&p, &h, &[8e5; 2], &[1e9; 2], &[1, 1], &[40e9; 2], &[1.5; 2], &mut bins) as f64;
        let tx = 2.0 * (0.5 + 0.5 * 1.5) * 8e5 / 4e6; // r = 4e6 (SNR 15)
        let cpu = 0.5 * 2.0 * (1e9 / 40e9) * (80.0 / 50.0);
        assert!(close(phi, tx + cpu, 1e-6), "{phi} vs {}", tx + cpu);
    }

    #[test]
    fn greedy_leaves_largest_tasks_local_when_full() {
        let mut p = small_params(3, 1);
        p.variant = 1;
        p.capacity = 3e9;
        let pos = [1.0f32, 2.0, 3.0, 0.0, 0.0, 0.0];
        let mec = [0.0f32, 0.0];
        let f = [2e9f32, 1e9, 1.5e9];
        let order = [1u32, 2, 0]; // ascending F
        let (mut load, mut a) = (vec![0.0; 1], vec![9u32; 3]);
        heuristic_instance(&p, 0, &pos, &mec, &f, &order, &mut load, &mut a);
        assert_eq!(a, vec![0, 1, 1]);
        p.variant = 0;
        heuristic_instance(&p, 0, &pos, &mec, &f, &order, &mut load, &mut a);
        assert_eq!(a, vec![0, 0, 0]);
    }

    #[test]
    fn config_errors_name_field_and_value() {
        let c = MecConfig { n_iotd: 0, ..MecConfig::default() };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("mec.n_iotd") && e.contains('0'), "{e}");
        let c = MecConfig { p_max_w: -1.5, ..MecConfig::default() };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("mec.p_max_w") && e.contains("-1.5"), "{e}");
        let c = MecConfig { beta0: f64::NAN, ..MecConfig::default() };
        assert!(c.validate().unwrap_err().to_string().contains("mec.beta0"));
    }
}
