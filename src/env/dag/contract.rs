//! `dag` under the environment contract ([`BatchEnv`]): one decision per graph per step, in rank
//! order, 0 (local) or 1 (offload) for the task at the current position (MRLCO paper §4.2); the observation
//! is every task's row [embedding (5 + 2p), decision so far (−1 undecided), 1 at the current
//! position]; the reward is −ΔT_c (§4.2), min-max scaled per graph when the env was built
//! scaled; a graph terminates when every task is decided. The graphs are the data: `reset`
//! ignores its seed.

use std::sync::Arc;

use super::mdp::DagEnv;
use super::model::DagSystem;
use super::step::OBS_EXTRA;
use super::Dag;
use crate::backend::{Backend, Buffer};
use crate::env::contract::{check_step, clear_flags, ActionSpace, BatchEnv, EnvBuffers, EnvSpec};
use crate::error::Result;

/// A batch of task graphs behind [`BatchEnv`].
pub struct DagBatchEnv {
    env: DagEnv,
    spec: EnvSpec,
}

impl DagBatchEnv {
    /// `dags` under `sys`, embeddings with `p` parent and child slots, rewards min-max scaled
    /// when `scaled` (the published score).
    pub fn new(backend: Arc<dyn Backend>, dags: &[Dag], sys: &DagSystem, p: usize, scaled: bool) -> Result<Self> {
        let env = DagEnv::new(backend, dags, sys, p, scaled)?;
        let spec = EnvSpec {
            system: "dag",
            batch: env.batch(),
            agents: 1,
            obs_shape: vec![env.n_max(), env.emb_dim() + OBS_EXTRA],
            state_shape: vec![],
            action: ActionSpace::Discrete { n: 2 },
            masked: false,
            reward_per_agent: false,
            reward: if scaled {
                "−(ΔT_c − min) / (max − min) per graph (MRLCO paper §4.2, the published score)"
            } else {
                "−ΔT_c, the growth of the makespan of the decided prefix (MRLCO paper §4.2)"
            },
            horizon: None,
            stochastic: false,
            info: vec![],
            invalid_action: "an action other than 0 or 1 ends the graph with status bad action and reward NaN",
        };
        Ok(DagBatchEnv { env, spec })
    }

    /// The wrapped environment (makespans, status).
    pub fn inner(&self) -> &DagEnv {
        &self.env
    }
}

impl BatchEnv for DagBatchEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }
    fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }
    fn reset(&mut self, _seed: u64, out: &EnvBuffers) -> Result<()> {
        out.check(&self.spec)?;
        clear_flags(&**self.env.backend(), &self.spec, out)?;
        self.env.reset()?;
        self.env.observe_into(&out.obs, &out.terminated)
    }
    fn step(&mut self, actions: &Buffer, out: &EnvBuffers) -> Result<()> {
        check_step(&self.spec, actions, out)?;
        self.env.step_into(actions, &out.reward)?;
        self.env.observe_into(&out.obs, &out.terminated)
    }
}
