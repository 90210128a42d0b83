//! `endedge` under the environment contract ([`BatchEnv`]): the D terminals of an instance are
//! the agents; each chooses where its arrived task runs (0 local, k server k − 1), within the
//! mask (only "local", a no-op, when no task arrived); it observes its part of the state (16)
//! (η_d, μ^comp, μ^tran, q_{d,e}(t−1)); the instance-wide state is Load(t) [C, E] (eq. 15); the
//! reward of a terminal in a slot is eq. (18)–(19) of the tasks resolved in that slot (−delay
//! slots when done, Const when dropped) — the learner credits it to the arrival slot through the
//! result ring; episodes are truncated after `slots` slots.

use std::sync::Arc;

use super::{EndedgeConfig, EndedgeEnv, Heuristic};
use crate::backend::{Backend, Buffer};
use crate::env::contract::{check_step, clear_flags, fill, ActionSpace, BatchEnv, EnvBuffers, EnvSpec, Horizon};
use crate::error::Result;

/// B endedge instances behind [`BatchEnv`].
pub struct EndedgeBatchEnv {
    env: EndedgeEnv,
    spec: EnvSpec,
    clock: Horizon,
    /// The counters of the last slot [B, D, 2] (delay sum, dropped), for the slot's reward.
    prev: Buffer,
}

impl EndedgeBatchEnv {
    /// `batch` instances of `cfg` on `backend` (reset with seed 0).
    pub fn new(backend: Arc<dyn Backend>, cfg: &EndedgeConfig, batch: usize) -> Result<Self> {
        let env = EndedgeEnv::new(cfg, batch, 0, backend)?;
        let (d, e) = (cfg.devices, cfg.servers);
        let spec = EnvSpec {
            system: "endedge",
            batch,
            agents: d,
            obs_shape: vec![3 + e],
            state_shape: vec![cfg.load_history, e],
            action: ActionSpace::Discrete { n: e as u32 + 1 },
            masked: true,
            reward_per_agent: true,
            reward: "per terminal, of the tasks resolved in the slot: −delay slots when done, Const when dropped (eq. 18–19)",
            horizon: Some(cfg.slots as u32),
            stochastic: true,
            info: vec![],
            invalid_action: "an action > E for an arrived task: the cpu backend refuses the step with a typed error, the device kernels record the task as invalid (reward Const)",
        };
        let prev = env.backend().alloc(batch * d * 2)?;
        Ok(EndedgeBatchEnv { env, spec, clock: Horizon { t: 0, limit: Some(cfg.slots as u32) }, prev })
    }

    /// The wrapped environment (queues, statistics, the result ring).
    pub fn inner(&self) -> &EndedgeEnv {
        &self.env
    }

    /// A heuristic's actions [B, D] for the current slot into `actions`.
    pub fn heuristic(&self, h: Heuristic, actions: &Buffer) -> Result<()> {
        self.env.policy_into(h, actions)
    }

    fn begin_slot(&self, out: &EnvBuffers) -> Result<()> {
        self.env.arrive()?;
        self.env.observe_into(&out.obs, &out.mask)?;
        self.env.state_into(&out.state)
    }
}

impl BatchEnv for EndedgeBatchEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }
    fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }
    fn reset(&mut self, seed: u64, out: &EnvBuffers) -> Result<()> {
        out.check(&self.spec)?;
        self.env.seed = seed;
        self.env.reset()?;
        self.clock.t = 0;
        let be = &**self.env.backend();
        clear_flags(be, &self.spec, out)?;
        fill(be, &self.prev, self.prev.words(), 0)?;
        self.begin_slot(out)
    }
    fn step(&mut self, actions: &Buffer, out: &EnvBuffers) -> Result<()> {
        check_step(&self.spec, actions, out)?;
        self.clock.check("endedge")?;
        self.env.step_with(actions)?;
        self.env.reward_into(&self.prev, &out.reward)?;
        if self.clock.advance(&**self.env.backend(), out, self.spec.batch)? {
            self.begin_slot(out)?;
        }
        Ok(())
    }
}
