//! The batched `coop` environment on any backend: the state buffers and the launches.

use std::sync::Arc;

use super::config::*;
use super::kernels::{COOP_OBSERVE, COOP_POLICY, COOP_RESET, COOP_STEP};
use crate::backend::{Backend, Buffer};
use crate::error::{Error, Result};

/// B instances of the `coop` system, state resident on a backend.
pub struct CoopEnv {
    backend: Arc<dyn Backend>,
    cfg: CoopConfig,
    params: CoopParams,
    /// [B, N, 3] λ, F, α.
    pub node: Buffer,
    /// [B, N, N, 2] r, β.
    pub link: Buffer,
    /// [B, N] arrival flags.
    pub arr_u: Buffer,
    /// [B, N, 4] s, c, u_link, u_node.
    pub arr_f: Buffer,
    /// [B, N·W, 4] task pool, integer part.
    pub pool_u: Buffer,
    /// [B, N·W, 4] task pool, float part.
    pub pool_f: Buffer,
    /// [B, N, 1 + N·W] execution queues.
    pub xq: Buffer,
    /// [B, 8] counts.
    pub stats_u: Buffer,
    /// [B, 4] bits.
    pub stats_f: Buffer,
    /// \[B\] team reward of the last slot.
    pub reward: Buffer,
    /// [B, N] actions (heuristics write here).
    pub act: Buffer,
    /// [B, N, 3N + 5] observations.
    pub obs: Buffer,
    /// [B, N, N + 1] action masks.
    pub mask: Buffer,
}

impl CoopEnv {
    /// Allocate B instances of `cfg` on `backend`, seeded by `seed`, and reset episode 0.
    pub fn new(backend: Arc<dyn Backend>, cfg: &CoopConfig, batch: usize, seed: u64) -> Result<Self> {
        cfg.validate()?;
        if batch == 0 {
            return Err(Error::config("batch", batch, "must be >= 1"));
        }
        let p = cfg.params(batch, seed);
        let iw = super::cpu::instance_words(&p);
        let (n, w) = (cfg.n_nodes, p.w as usize);
        let largest = iw.iter().copied().chain([n * (3 * n + 5)]).max().unwrap_or(1);
        if batch.checked_mul(largest).is_none_or(|x| x >= u32::MAX as usize) {
            return Err(Error::config("batch", batch, "the largest state buffer must fit in 32-bit indexing"));
        }
        if let Some(limit) = backend.max_loop_iterations() {
            // The longest loops of one invocation: the step's send-queue heads (N·W²), execution
            // queues (≤ N·W live tasks, twice) and arrivals (2 Philox blocks of 10 rounds per node);
            // the reset's link draws (N²/2 blocks). Observe and policy loop less.
            let step = n * w * w + 2 * n * w + 25 * n;
            let reset = 5 * n * n + 35 * n;
            let work = step.max(reset) as u64;
            if work > limit {
                return Err(Error::config(
                    "coop.n_nodes",
                    n,
                    format!(
                        "with {w} deadline slots one instance step loops ~{work} times, beyond this driver's \
                         silent limit of {limit} (lavapipe); use the cpu backend or a hardware GPU"
                    ),
                ));
            }
        }
        let be = &*backend;
        let mut env = CoopEnv {
            node: be.alloc(batch * iw[0])?,
            link: be.alloc(batch * iw[1])?,
            arr_u: be.alloc(batch * iw[2])?,
            arr_f: be.alloc(batch * iw[3])?,
            pool_u: be.alloc(batch * iw[4])?,
            pool_f: be.alloc(batch * iw[5])?,
            xq: be.alloc(batch * iw[6])?,
            stats_u: be.alloc(batch * iw[7])?,
            stats_f: be.alloc(batch * iw[8])?,
            reward: be.alloc(batch)?,
            act: be.alloc(batch * n)?,
            obs: be.alloc(batch * n * (3 * n + 5))?,
            mask: be.alloc(batch * n * (n + 1))?,
            cfg: cfg.clone(),
            params: p,
            backend,
        };
        env.reset(0)?;
        Ok(env)
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    /// The config.
    pub fn config(&self) -> &CoopConfig {
        &self.cfg
    }
    /// The current parameter block (slot and episode included).
    pub fn params(&self) -> CoopParams {
        self.params
    }
    /// B.
    pub fn batch(&self) -> usize {
        self.params.b as usize
    }
    /// The current slot t.
    pub fn slot(&self) -> u32 {
        self.params.slot
    }
    /// Whether the episode is over (every slot, drain included, has been stepped).
    pub fn done(&self) -> bool {
        self.params.slot >= self.cfg.episode_slots()
    }

    /// New node and link parameters and empty queues for `episode` (< 65536), slot 0.
    pub fn reset(&mut self, episode: u32) -> Result<()> {
        let reward = &self.reward;
        self.reset_launch(episode, reward)?;
        self.params.slot = 0;
        self.params.episode = episode;
        Ok(())
    }

    /// Back to the Philox stream of `seed`, then [`Self::reset`] of `episode` writing the zero
    /// team reward into `reward` \[B\].
    pub fn reseed_into(&mut self, seed: u64, episode: u32, reward: &Buffer) -> Result<()> {
        let variant = self.params.variant;
        let p = self.cfg.params(self.batch(), seed);
        self.reset_launch_with(p, episode, reward)?;
        self.params = p;
        self.params.variant = variant;
        self.params.episode = episode;
        self.params.slot = 0;
        Ok(())
    }

    fn reset_launch(&self, episode: u32, reward: &Buffer) -> Result<()> {
        self.reset_launch_with(self.params, episode, reward)
    }

    fn reset_launch_with(&self, mut p: CoopParams, episode: u32, reward: &Buffer) -> Result<()> {
        if episode > 0xffff {
            return Err(Error::config("episode", episode, "must be < 65536 (derive a new seed for more)"));
        }
        p.episode = episode;
        p.slot = 0;
        self.backend.launch(
            &COOP_RESET,
            bytemuck::bytes_of(&p),
            p.b,
            &[
                &self.node,
                &self.link,
                &self.arr_u,
                &self.arr_f,
                &self.pool_u,
                &self.pool_f,
                &self.xq,
                &self.stats_u,
                &self.stats_f,
                reward,
            ],
        )
    }

    /// Observations and masks of the current slot into `obs`, `mask`.
    pub fn observe(&self) -> Result<()> {
        self.observe_into(&self.obs, &self.mask)
    }

    /// Observations [B, N, 3N + 5] and masks [B, N, N + 1] of the current slot into `obs`, `mask`.
    pub fn observe_into(&self, obs: &Buffer, mask: &Buffer) -> Result<()> {
        let p = self.params;
        self.backend.launch(
            &COOP_OBSERVE,
            bytemuck::bytes_of(&p),
            p.b * p.n,
            &[&self.node, &self.link, &self.arr_u, &self.arr_f, &self.pool_u, &self.xq, obs, mask],
        )
    }

    /// The heuristic's actions of the current slot into `act`.
    pub fn policy(&self, h: Heuristic) -> Result<()> {
        self.policy_into(h, &self.act)
    }

    /// The heuristic's actions [B, N] of the current slot into `act`.
    pub fn policy_into(&self, h: Heuristic, act: &Buffer) -> Result<()> {
        let mut p = self.params;
        p.variant = h as u32;
        self.backend.launch(
            &COOP_POLICY,
            bytemuck::bytes_of(&p),
            p.b * p.n,
            &[&self.node, &self.link, &self.arr_u, &self.arr_f, &self.pool_u, &self.pool_f, &self.xq, act],
        )
    }

    /// Step the slot with the actions already in `act` (device-resident policies; an invalid or
    /// masked action drops its task and counts in `Stats::invalid`).
    pub fn step_device(&mut self) -> Result<()> {
        let (act, reward) = (&self.act, &self.reward);
        self.step_launch(act, reward)?;
        self.params.slot += 1;
        Ok(())
    }

    /// [`Self::step_device`] with the actions read from `act` [B, N] and the team reward
    /// written into `reward` \[B\].
    pub fn step_with(&mut self, act: &Buffer, reward: &Buffer) -> Result<()> {
        self.step_launch(act, reward)?;
        self.params.slot += 1;
        Ok(())
    }

    fn step_launch(&self, act: &Buffer, reward: &Buffer) -> Result<()> {
        if self.done() {
            return Err(Error::config("coop.slot", self.params.slot, "the episode is over: reset first"));
        }
        let p = self.params;
        self.backend.launch(
            &COOP_STEP,
            bytemuck::bytes_of(&p),
            p.b,
            &[
                &self.node,
                &self.link,
                act,
                &self.arr_u,
                &self.arr_f,
                &self.pool_u,
                &self.pool_f,
                &self.xq,
                &self.stats_u,
                &self.stats_f,
                reward,
            ],
        )
    }

    /// Step with host actions [B, N], checked against the current mask (computed here): a wrong
    /// length, an index > N or a masked action is a typed error naming the flat index.
    pub fn step(&mut self, actions: &[u32]) -> Result<()> {
        let (b, n) = (self.batch(), self.cfg.n_nodes);
        if actions.len() != b * n {
            return Err(Error::shape("coop actions", b * n, actions.len()));
        }
        self.observe()?;
        let mask = self.backend.download(&self.mask)?;
        for (k, &a) in actions.iter().enumerate() {
            if a as usize > n || mask[k * (n + 1) + a as usize] == 0 {
                return Err(Error::input(
                    "coop actions",
                    k,
                    a,
                    format!(
                        "instance {}, node {}: action not allowed by the mask (N = {n} is \"no task\")",
                        k / n,
                        k % n
                    ),
                ));
            }
        }
        self.backend.write(&self.act, actions)?;
        self.step_device()
    }

    /// The team reward of the last slot per instance.
    pub fn last_reward(&self) -> Result<Vec<f32>> {
        crate::backend::download_f32(&*self.backend, &self.reward)
    }

    /// Cumulative statistics per instance.
    pub fn stats(&self) -> Result<Vec<Stats>> {
        let u = self.backend.download(&self.stats_u)?;
        let f = self.backend.download(&self.stats_f)?;
        Ok(u.chunks(STATS_U).zip(f.chunks(STATS_F)).map(|(u, f)| Stats::from_words(u, f)).collect())
    }

    /// Run one whole episode with a heuristic on the device; returns the statistics.
    pub fn run_episode(&mut self, episode: u32, h: Heuristic) -> Result<Vec<Stats>> {
        self.reset(episode)?;
        while !self.done() {
            self.policy(h)?;
            self.step_device()?;
        }
        self.stats()
    }
}
