//! The algorithm backbone: what every decision rule of the `mec` system offers — DIRS, the DRL
//! baselines (Actor-Critic, DDPG) and the heuristics (Local, Greedy, Random) — so that the
//! experiments train, checkpoint, evaluate and time them through one interface ([`Agent`]).

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::state;
use crate::backend::{Backend, Buffer};
use crate::env::mec::{Heuristic, MecConfig, MecEnv};
use crate::error::{Error, Result};
use crate::nn::checkpoint::Checkpoint;
use crate::tensor::Tensor;

/// What [`Agent::train`] calls after every training step, with the agent (to checkpoint it by
/// [`Agent::save`]) and the step's metrics when the step was a logged one; `Break` stops training
/// after this step.
pub type OnStep<'a, A> = dyn FnMut(&A, Option<<A as Agent>::Metrics>) -> Result<ControlFlow<()>> + 'a;

/// A decision rule of the `mec` system: decisions [B, N] (0 local, j ≥ 1 MEC j) for a batch of
/// instances, trained (or not) and saved through the same calls.
pub trait Agent {
    /// The settings (serializable: checkpoints record them).
    type Config: Serialize;
    /// What a logged training step reports.
    type Metrics;

    /// The settings.
    fn config(&self) -> &Self::Config;

    /// Train from where training stands (the start, or a checkpoint [`Agent::load`]ed) to the end
    /// of the configured budget. Steps that are multiples of `log_every` (0: none) are logged:
    /// their metrics cost downloads. `on_step` runs after every step (progress, logs and
    /// checkpoints go there). Device work may still be queued on return.
    fn train(&mut self, log_every: usize, on_step: &mut OnStep<'_, Self>) -> Result<()>;

    /// Decisions [B, N] on the current state of every instance of `env`, on the device (the
    /// policy without exploration).
    fn act(&self, env: &MecEnv) -> Result<Decisions>;

    /// Write the complete training state to `path` (one file, atomic, [`crate::algo::state`]):
    /// an agent restored from it trains on exactly as this one would. `run` is the caller's JSON:
    /// `run.config` is compared on load, `run.data` handed back.
    fn save(&self, path: &Path, run: &serde_json::Value) -> Result<()>;

    /// Restore what [`Agent::save`] wrote into this freshly built agent (same configs and
    /// backend; `run_config` must equal the saved `run.config`) and return `run.data`. Another
    /// configuration is an `Error::Config` naming the field that differs, a damaged file an
    /// `Error::Parse` naming it.
    fn load(&mut self, path: &Path, run_config: &serde_json::Value) -> Result<serde_json::Value>;

    /// [`Agent::train`] to the end, returning the logged metrics; `tick` after every step (a
    /// progress bar).
    fn train_logged(&mut self, log_every: usize, tick: &mut dyn FnMut()) -> Result<Vec<Self::Metrics>>
    where
        Self: Sized,
    {
        let mut log = vec![];
        self.train(log_every, &mut |_, m| {
            log.extend(m);
            tick();
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(log)
    }
}

/// Decisions [B, N] (u32) on the device: a tensor of a policy or a buffer of a kernel.
pub enum Decisions {
    /// From a network.
    Tensor(Tensor),
    /// From a kernel (DIRS's vote, the environment's heuristics).
    Buffer(Buffer),
}

impl Decisions {
    /// The words.
    pub fn buffer(&self) -> &Buffer {
        match self {
            Decisions::Tensor(t) => t.buffer(),
            Decisions::Buffer(b) => b,
        }
    }
}

/// Refuse an environment of another size (N, M) or on another backend than the agent's; `what`
/// names the agent in the error.
pub(crate) fn check_env(what: &str, mec: &MecConfig, be: &Arc<dyn Backend>, env: &MecEnv) -> Result<()> {
    let c = env.config();
    if c.n_iotd != mec.n_iotd || c.n_mec != mec.n_mec {
        return Err(Error::shape(
            format!("{what} env"),
            format!("N = {}, M = {}", mec.n_iotd, mec.n_mec),
            format!("N = {}, M = {}", c.n_iotd, c.n_mec),
        ));
    }
    if env.backend().kind() != be.kind() {
        return Err(Error::device(be.kind().to_string(), format!("the environment lives on {}", env.backend().kind())));
    }
    Ok(())
}

/// The `format` of a heuristic's checkpoint.
const HEURISTIC_FORMAT: &str = "mecrl-heuristic-1";

/// The heuristics learn nothing: their training has no step, and their checkpoint records only
/// which rule it is (a checkpoint of another heuristic is refused).
impl Agent for Heuristic {
    type Config = Heuristic;
    type Metrics = ();

    fn config(&self) -> &Heuristic {
        self
    }

    fn train(&mut self, _log_every: usize, _on_step: &mut OnStep<'_, Self>) -> Result<()> {
        Ok(())
    }

    fn act(&self, env: &MecEnv) -> Result<Decisions> {
        Ok(Decisions::Buffer(env.heuristic_dev(*self)?))
    }

    fn save(&self, path: &Path, run: &serde_json::Value) -> Result<()> {
        let config = serde_json::json!({ "heuristic": self });
        state::save(path, Checkpoint::default(), HEURISTIC_FORMAT, &(), &config, run)
    }

    fn load(&mut self, path: &Path, run_config: &serde_json::Value) -> Result<serde_json::Value> {
        let config = serde_json::json!({ "heuristic": self });
        Ok(state::load::<()>(path, HEURISTIC_FORMAT, "heuristic", &config, run_config)?.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{create, BackendKind};

    fn env() -> MecEnv {
        let mec = MecConfig { n_iotd: 6, n_mec: 2, ..Default::default() };
        MecEnv::new(create(BackendKind::Cpu).unwrap(), &mec, 3, 5).unwrap()
    }

    #[test]
    fn a_heuristic_acts_as_the_environment_rule() {
        let env = env();
        for h in [Heuristic::Local, Heuristic::Greedy, Heuristic::Random] {
            let a = env.backend().download(h.act(&env).unwrap().buffer()).unwrap();
            assert_eq!(a, env.heuristic(h).unwrap(), "{h:?}");
        }
        let (mut h, mut steps) = (Heuristic::Greedy, 0);
        h.train(1, &mut |_, _| {
            steps += 1;
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
        assert_eq!(steps, 0, "nothing to train");
    }

    #[test]
    fn a_heuristic_checkpoint_names_its_rule() {
        let path = std::env::temp_dir().join(format!("mecrl-heuristic-{}.safetensors", std::process::id()));
        let run = serde_json::json!({"config": {"k": 1}, "data": [1, 2]});
        Heuristic::Greedy.save(&path, &run).unwrap();
        assert_eq!(Heuristic::Greedy.load(&path, &run["config"]).unwrap(), run["data"]);
        let e = Heuristic::Random.load(&path, &run["config"]).unwrap_err();
        assert!(matches!(&e, Error::Config { field, .. } if field == "heuristic"), "{e}");
        let e = Heuristic::Greedy.load(&path, &serde_json::json!({"k": 2})).unwrap_err();
        assert!(matches!(&e, Error::Config { field, .. } if field == "k"), "{e}");
        let _ = std::fs::remove_file(&path);
    }
}
