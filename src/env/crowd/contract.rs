//! `crowd` under the environment contract ([`BatchEnv`]): N users per instance are the agents,
//! each choosing a target slot and a rate level; the team reward is eq. (13); the info columns
//! are the slot metrics ([`super::metric`]); the state is the critics' global state
//! ([`super::model::state_feature`]); episodes are truncated after `horizon_slots`.

use std::sync::Arc;

use super::config::{CrowdConfig, Policy};
use super::env::CrowdEnv;
use crate::backend::{Backend, Buffer};
use crate::env::contract::{check_step, clear_flags, fill, ActionSpace, BatchEnv, EnvBuffers, EnvSpec, Horizon};
use crate::error::Result;

/// The names of the info columns, in [`super::metric`] order.
pub const INFO: [&str; 16] = [
    "reward",
    "cost",
    "delay",
    "data_mb",
    "bundles",
    "load_md",
    "load_edge",
    "load_cloud",
    "link_e2d",
    "link_e2e",
    "link_cloud",
    "in_cycles",
    "served_cycles",
    "in_bits",
    "served_bits",
    "drift",
];

/// B crowd instances behind [`BatchEnv`].
pub struct CrowdBatchEnv {
    env: CrowdEnv,
    spec: EnvSpec,
    clock: Horizon,
}

impl CrowdBatchEnv {
    /// `batch` instances of `cfg` on `backend` (reset with seed 0).
    pub fn new(backend: Arc<dyn Backend>, cfg: &CrowdConfig, batch: usize) -> Result<Self> {
        let env = CrowdEnv::new(backend, cfg, batch, 0)?;
        let spec = EnvSpec {
            system: "crowd",
            batch,
            agents: env.agents(),
            obs_shape: vec![super::cpu::dims(env.params()).5],
            state_shape: vec![env.state_width()],
            action: ActionSpace::Discrete { n: env.n_actions() as u32 },
            masked: false,
            reward_per_agent: false,
            reward: "team reward of the slot, eq. (13): −(V·Σ cost + Σ_l V_l·(Σ x − c_l))",
            horizon: Some(cfg.horizon_slots as u32),
            stochastic: true,
            info: INFO.to_vec(),
            invalid_action: "an action ≥ A·R refuses its agent's tasks and makes the instance's reward NaN",
        };
        Ok(CrowdBatchEnv { env, spec, clock: Horizon { t: 0, limit: Some(cfg.horizon_slots as u32) } })
    }

    /// The wrapped environment (queues, counts, heuristics).
    pub fn inner(&self) -> &CrowdEnv {
        &self.env
    }

    /// A heuristic's actions [B, N] from the observations in `out` into `actions`.
    pub fn heuristic(&mut self, policy: Policy, out: &EnvBuffers, actions: &Buffer) -> Result<()> {
        self.env.policy_into(policy, &out.obs, actions)
    }
}

impl BatchEnv for CrowdBatchEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }
    fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }
    fn reset(&mut self, seed: u64, out: &EnvBuffers) -> Result<()> {
        out.check(&self.spec)?;
        self.env.reseed(seed)?;
        self.clock.t = 0;
        let be = &**self.env.backend();
        clear_flags(be, &self.spec, out)?;
        fill(be, &out.info, self.spec.batch * INFO.len(), 0)?;
        self.env.begin_slot_into(&out.obs)?;
        self.env.state_into(&out.state)
    }
    fn step(&mut self, actions: &Buffer, out: &EnvBuffers) -> Result<()> {
        check_step(&self.spec, actions, out)?;
        self.clock.check("crowd")?;
        self.env.end_slot_with(actions, &out.reward, &out.info)?;
        if self.clock.advance(&**self.env.backend(), out, self.spec.batch)? {
            self.env.begin_slot_into(&out.obs)?;
            self.env.state_into(&out.state)?;
        }
        Ok(())
    }
}
