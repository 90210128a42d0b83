//! DIRS as an [`Agent`] of the algorithm backbone: training is Alg. 1 (pre-training, Alg. 2,
//! when it is on and has not run yet, then the online steps up to T_DRL), acting is the
//! decentralized vote, and the checkpoint is the complete training state (`checkpoint.rs`).

use std::ops::ControlFlow;
use std::path::Path;

use super::{Dirs, DirsConfig, StepMetrics};
use crate::algo::agent::{Agent, Decisions, OnStep};
use crate::env::mec::MecEnv;
use crate::error::Result;

impl Agent for Dirs {
    type Config = DirsConfig;
    type Metrics = StepMetrics;

    fn config(&self) -> &DirsConfig {
        &self.cfg
    }

    /// Pre-training runs first unless the replay memory already holds data (a caller that ran
    /// it itself, or a restored checkpoint); it calls no `on_step`. Online step t is logged when
    /// t is a multiple of `log_every`, with the last training loss and its per-agent parts.
    fn train(&mut self, log_every: usize, on_step: &mut OnStep<'_, Self>) -> Result<()> {
        if self.cfg.use_imitation && self.replay.is_empty() {
            self.pretrain(&mut |_| {})?;
        }
        while self.t < self.cfg.t_drl {
            let want = log_every > 0 && self.t.is_multiple_of(log_every);
            let metrics = match self.online_step(want)? {
                Some(mut s) => {
                    s.loss = self.last_loss()?.unwrap_or(f64::NAN);
                    s.agent_loss = self.last_agent_losses()?.unwrap_or_default();
                    Some(s)
                }
                None => None,
            };
            if let ControlFlow::Break(()) = on_step(self, metrics)? {
                break;
            }
        }
        Ok(())
    }

    fn act(&self, env: &MecEnv) -> Result<Decisions> {
        Ok(Decisions::Buffer(self.decide(env)?))
    }

    fn save(&self, path: &Path, run: &serde_json::Value) -> Result<()> {
        self.save_state(path, run)
    }

    fn load(&mut self, path: &Path, run_config: &serde_json::Value) -> Result<serde_json::Value> {
        self.load_state(path, run_config)
    }
}
