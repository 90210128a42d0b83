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

pub mod config;
pub mod contract;
pub mod kernels;
pub mod model;

use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use self::kernels::{
    MEC_ALLOC, MEC_CHANNEL, MEC_HEURISTIC, MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER, MEC_OBSERVE, MEC_RESET, MEC_REWARD,
};
use crate::backend::{Backend, Buffer, KernelSpec};
use crate::error::{Error, Result};

pub use config::*;
pub use model::*;

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

    /// A new Philox key from `seed` (positions, tasks, fading and the Random baseline), then
    /// [`Self::reset`] of `episode`.
    pub fn reseed(&mut self, seed: u64, episode: u32) -> Result<()> {
        self.params = self.cfg.params(self.batch(), 1, seed);
        self.reset(episode)
    }

    /// The observations [B, M, N] of the current step written into `obs` (as [`Self::obs`]).
    pub fn observe_into(&self, obs: &Buffer) -> Result<()> {
        self.launch(&MEC_OBSERVE, &self.params, self.batch() * self.cfg.n_mec, &[&self.h, obs])
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
        let bins = self.backend.alloc(b * candidates * (m + 1))?;
        let phi = self.backend.alloc(b * candidates)?;
        self.objective_exact_into(a, candidates, &bins, &phi)?;
        Ok(phi)
    }

    /// [`Self::objective_exact_dev`] into `phi` [B,P], with scratch `bins` [B,P,M+1].
    pub fn objective_exact_into(&self, a: &Buffer, candidates: usize, bins: &Buffer, phi: &Buffer) -> Result<()> {
        let mut p = self.params;
        p.p = candidates as u32;
        self.launch(&MEC_OBJECTIVE_EXACT, &p, self.batch() * candidates, &[&self.cost, &self.sqrt_f, a, bins, phi])
    }

    /// The reward of each instance ([`RewardKind`]) from its Σ Φ `phi` [B] into `reward` [B].
    pub fn reward_into(&self, phi: &Buffer, reward: &Buffer) -> Result<()> {
        let mut p = self.params;
        p.variant = match self.cfg.reward {
            RewardKind::Inverse => 0,
            RewardKind::NegativeMean => 1,
        };
        self.launch(&MEC_REWARD, &p, self.batch(), &[phi, reward])
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

    #[test]
    fn reward_of_sigma_phi_hand_cases() {
        // §V-C: 1 / ΣΦ = 1 / 4 = 0.25; the alternative −ΣΦ / N = −6 / 3 = −2.
        assert_eq!(reward_of(4.0, 0, 30), 0.25);
        assert_eq!(reward_of(6.0, 1, 3), -2.0);
        assert!(reward_of(f32::NAN, 0, 3).is_nan());
    }

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
