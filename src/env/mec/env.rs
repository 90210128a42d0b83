//! The batched `mec` environment on any backend: the state buffers and the launches.

use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::kernels::{
    MEC_ALLOC, MEC_CHANNEL, MEC_HEURISTIC, MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER, MEC_OBSERVE, MEC_RESET, MEC_REWARD,
};
use crate::backend::{Backend, Buffer, KernelSpec};
use crate::error::{Error, Result};

use super::config::*;
use super::cpu::*;

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
    /// IoTD positions \[B,2,N\].
    pub iotd_pos: Buffer,
    /// MEC positions \[B,2,M\].
    pub mec_pos: Buffer,
    /// D_i \[B,N\].
    pub task_d: Buffer,
    /// F_i \[B,N\].
    pub task_f: Buffer,
    /// h \[B,N,M\].
    pub h: Buffer,
    /// h normalized per IoTD \[B,N,M\].
    pub hn: Buffer,
    /// Optimal power \[B,N,M\].
    pub p_opt: Buffer,
    /// Cost table [B,N,M+1].
    pub cost: Buffer,
    /// √F_i \[B,N\].
    pub sqrt_f: Buffer,
    /// Observations \[B,M,N\].
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
        self.draw_channel(None)
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
        self.draw_channel(None)
    }

    /// [`Self::step`] with the observations written into `obs` \[B,M,N\] instead of
    /// [`Self::obs`] (which then keeps the previous step's).
    pub fn step_into(&mut self, obs: &Buffer) -> Result<()> {
        self.step += 1;
        self.draw_channel(Some(obs))
    }

    /// Current step within the episode.
    pub fn current_step(&self) -> u32 {
        self.step
    }

    /// Jump to step `step` of the current episode: the fading of that step (later steps of the
    /// same layouts, e.g. held-out channel states far from those used in training).
    pub fn seek(&mut self, step: u32) -> Result<()> {
        self.step = step;
        self.draw_channel(None)
    }

    fn draw_channel(&self, obs: Option<&Buffer>) -> Result<()> {
        let (b, n) = (self.batch(), self.cfg.n_iotd);
        let mut p = self.params;
        p.step = self.step;
        self.launch(&MEC_CHANNEL, &p, b * n, &[&self.iotd_pos, &self.mec_pos, &self.h])?;
        self.refresh(obs)
    }

    /// Replace the channel gains by user-provided ones (\[B,N,M\], finite and > 0).
    pub fn set_channel(&mut self, h: &[f32]) -> Result<()> {
        let want = self.batch() * self.cfg.n_iotd * self.cfg.n_mec;
        if h.len() != want {
            return Err(Error::shape("mec.set_channel h", want, h.len()));
        }
        if let Some((i, v)) = h.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::input("h", i, v, "channel gains must be finite and > 0"));
        }
        self.backend.write(&self.h, bytemuck::cast_slice(h))?;
        self.refresh(None)
    }

    fn refresh(&self, obs: Option<&Buffer>) -> Result<()> {
        let (b, n, m) = (self.batch(), self.cfg.n_iotd, self.cfg.n_mec);
        let p = self.params;
        self.launch(
            &MEC_ALLOC,
            &p,
            b * n,
            &[&self.h, &self.task_d, &self.task_f, &self.hn, &self.p_opt, &self.cost, &self.sqrt_f],
        )?;
        self.launch(&MEC_OBSERVE, &p, b * m, &[&self.h, obs.unwrap_or(&self.obs)])
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

    /// Σ Φ of `candidates` decision vectors per instance already on the device (\[B,P,N\] u32),
    /// with the exact allocation; result \[B,P\] on the device.
    pub fn objective_exact_dev(&self, a: &Buffer, candidates: usize) -> Result<Buffer> {
        let (b, m) = (self.batch(), self.cfg.n_mec);
        let bins = self.backend.alloc(b * candidates * (m + 1))?;
        let phi = self.backend.alloc(b * candidates)?;
        self.objective_exact_into(a, candidates, &bins, &phi)?;
        Ok(phi)
    }

    /// [`Self::objective_exact_dev`] into `phi` \[B,P\], with scratch `bins` [B,P,M+1].
    pub fn objective_exact_into(&self, a: &Buffer, candidates: usize, bins: &Buffer, phi: &Buffer) -> Result<()> {
        let mut p = self.params;
        p.p = candidates as u32;
        self.launch(&MEC_OBJECTIVE_EXACT, &p, self.batch() * candidates, &[&self.cost, &self.sqrt_f, a, bins, phi])
    }

    /// The reward of each instance ([`RewardKind`]) from its Σ Φ `phi` \[B\] into `reward` \[B\].
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

    /// Baseline decisions \[B,N\] on the device.
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

    /// Baseline decisions \[B,N\] on the host.
    pub fn heuristic(&self, which: Heuristic) -> Result<Vec<u32>> {
        self.backend.download(&self.heuristic_dev(which)?)
    }

    /// Reward of each instance for decisions a \[B,N\] with the exact allocation.
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

    /// Per-instance Σ Φ, mean T and mean E of decisions a \[B,N\] under the exact allocation,
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
