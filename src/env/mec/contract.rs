//! `mec` under the environment contract ([`BatchEnv`]): one decision maker per instance (the
//! agents of DIRS vote into one decision vector) chooses, for every IoTD, local (0) or MEC
//! server j (1..=M); it observes the M agents' columns [M, N] (log-standardized channel gains,
//! §V-C); the reward is §V-C's of the decision's Σ Φ under the exact allocation; each step then
//! draws the next channel state (eq. 3) of the same layouts; `reset(seed)` draws new layouts.

use std::sync::Arc;

use super::{MecConfig, MecEnv, RewardKind};
use crate::backend::{Backend, Buffer};
use crate::env::contract::{check_step, clear_flags, fill, ActionSpace, BatchEnv, EnvBuffers, EnvSpec, Horizon};
use crate::error::{Error, Result};

/// B mec instances behind [`BatchEnv`].
pub struct MecBatchEnv {
    env: MecEnv,
    spec: EnvSpec,
    clock: Horizon,
    /// Scratch of the objective [B, M + 1].
    bins: Buffer,
}

impl MecBatchEnv {
    /// `batch` instances of `cfg` on `backend`, episodes of `horizon` channel states (reset
    /// with seed 0).
    pub fn new(backend: Arc<dyn Backend>, cfg: &MecConfig, batch: usize, horizon: u32) -> Result<Self> {
        if horizon == 0 {
            return Err(Error::config("mec.horizon", horizon, "an episode has at least one step"));
        }
        let env = MecEnv::new(backend, cfg, batch, 0)?;
        let (n, m) = (cfg.n_iotd, cfg.n_mec);
        let be = env.backend().clone();
        let reward = match cfg.reward {
            RewardKind::Inverse => "1 / Σ_i Φ_i of the decision (§V-C), exact allocation (eq. 13)",
            RewardKind::NegativeMean => "−Σ_i Φ_i / N of the decision, exact allocation (eq. 13)",
        };
        let spec = EnvSpec {
            system: "mec",
            batch,
            agents: 1,
            obs_shape: vec![m, n],
            state_shape: vec![],
            action: ActionSpace::MultiDiscrete { n: m as u32 + 1, components: n },
            masked: false,
            reward_per_agent: false,
            reward,
            horizon: Some(horizon),
            stochastic: true,
            info: vec!["objective"],
            invalid_action: "an offloading target > M makes the instance's Σ Φ and reward NaN",
        };
        Ok(MecBatchEnv { bins: be.alloc(batch * (m + 1))?, env, spec, clock: Horizon { t: 0, limit: Some(horizon) } })
    }

    /// The wrapped environment (tables, heuristics, objectives).
    pub fn inner(&self) -> &MecEnv {
        &self.env
    }
}

impl BatchEnv for MecBatchEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }
    fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }
    fn reset(&mut self, seed: u64, out: &EnvBuffers) -> Result<()> {
        out.check(&self.spec)?;
        self.env.reseed(seed, 0)?;
        self.clock.t = 0;
        let be = &**self.env.backend();
        clear_flags(be, &self.spec, out)?;
        fill(be, &out.info, self.spec.batch, 0)?;
        self.env.observe_into(&out.obs)
    }
    fn step(&mut self, actions: &Buffer, out: &EnvBuffers) -> Result<()> {
        check_step(&self.spec, actions, out)?;
        self.clock.check("mec")?;
        // The objective lands in `info` (column "objective") and the reward is made from it.
        self.env.objective_exact_into(actions, 1, &self.bins, &out.info)?;
        self.env.reward_into(&out.info, &out.reward)?;
        if self.clock.advance(&**self.env.backend(), out, self.spec.batch)? {
            self.env.step_into(&out.obs)?;
        }
        Ok(())
    }
}
