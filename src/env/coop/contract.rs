//! `coop` under the environment contract ([`BatchEnv`]): the N edge nodes of an instance are
//! the agents; each chooses where its arrived task runs (node 0..N−1, or N: no task), within the
//! mask of reachable, live targets; the team reward of a slot is docs/coop.md's; episodes are
//! truncated after T slots with arrivals plus D − 1 draining slots.

use std::sync::Arc;

use super::{CoopConfig, CoopEnv, Heuristic};
use crate::backend::{Backend, Buffer};
use crate::env::contract::{check_step, clear_flags, ActionSpace, BatchEnv, EnvBuffers, EnvSpec, Horizon};
use crate::error::Result;

/// B coop instances behind [`BatchEnv`].
pub struct CoopBatchEnv {
    env: CoopEnv,
    spec: EnvSpec,
    clock: Horizon,
}

impl CoopBatchEnv {
    /// `batch` instances of `cfg` on `backend` (reset with seed 0).
    pub fn new(backend: Arc<dyn Backend>, cfg: &CoopConfig, batch: usize) -> Result<Self> {
        let env = CoopEnv::new(backend, cfg, batch, 0)?;
        let n = cfg.n_nodes;
        let slots = cfg.episode_slots();
        let spec = EnvSpec {
            system: "coop",
            batch,
            agents: n,
            obs_shape: vec![3 * n + 5],
            state_shape: vec![],
            action: ActionSpace::Discrete { n: n as u32 + 1 },
            masked: true,
            reward_per_agent: false,
            reward: "team reward of the slot (§IV-B3): Σ feedback, +1 per success, −1 per drop or failure",
            horizon: Some(slots),
            stochastic: true,
            info: vec![],
            invalid_action: "an action > N or outside the mask drops its task and counts in Stats::invalid",
        };
        Ok(CoopBatchEnv { env, spec, clock: Horizon { t: 0, limit: Some(slots) } })
    }

    /// The wrapped environment (statistics, task logs).
    pub fn inner(&self) -> &CoopEnv {
        &self.env
    }

    /// [`BatchEnv::reset`] to episode `episode` (< 65536) of the instances drawn from `seed`:
    /// the episode index is the counter of the draws, as the task logs number episodes.
    pub fn reset_episode(&mut self, seed: u64, episode: u32, out: &EnvBuffers) -> Result<()> {
        out.check(&self.spec)?;
        clear_flags(&**self.env.backend(), &self.spec, out)?;
        self.env.reseed_into(seed, episode, &out.reward)?;
        self.clock.t = 0;
        self.env.observe_into(&out.obs, &out.mask)
    }

    /// A heuristic's actions [B, N] for the current slot into `actions`.
    pub fn heuristic(&self, h: Heuristic, actions: &Buffer) -> Result<()> {
        self.env.policy_into(h, actions)
    }
}

impl BatchEnv for CoopBatchEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }
    fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }
    fn reset(&mut self, seed: u64, out: &EnvBuffers) -> Result<()> {
        self.reset_episode(seed, 0, out)
    }
    fn step(&mut self, actions: &Buffer, out: &EnvBuffers) -> Result<()> {
        check_step(&self.spec, actions, out)?;
        self.clock.check("coop")?;
        self.env.step_with(actions, &out.reward)?;
        if self.clock.advance(&**self.env.backend(), out, self.spec.batch)? {
            self.env.observe_into(&out.obs, &out.mask)?;
        }
        Ok(())
    }
}
