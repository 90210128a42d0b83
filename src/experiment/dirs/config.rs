//! The DIRS run configuration and what a run measured (shared by the runner and the resumable
//! training loop).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::algo::dirs::{DirsConfig, LossPoint, StepMetrics};
use crate::env::mec::MecConfig;
use crate::error::{Error, Result};

/// Channel step where the held-out states start (training uses steps from 0 and never gets near).
pub(super) const HELD_OUT_STEP: u32 = 1 << 31;

/// `mecrl run` configuration of DIRS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirsRunConfig {
    /// Must be `"dirs"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (replaces `dirs.seed`).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`.
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// Online metrics every `log_every` steps (0: none; each costs a host read).
    pub log_every: usize,
    /// Held-out channel states of the training scenario evaluated (per training instance).
    pub eval_steps: usize,
    /// Instances with new layouts for batched decentralized inference (0: skip).
    pub inference_batch: usize,
    /// Write the complete training state every `checkpoint_every` online steps (and after
    /// pre-training, and at the end of training) into the work directory
    /// `<out_dir>/<name>.partial/`; a rerun of the same config continues from it. 0: off.
    pub checkpoint_every: usize,
    /// The system.
    pub mec: MecConfig,
    /// The algorithm.
    pub dirs: DirsConfig,
}

impl Default for DirsRunConfig {
    fn default() -> Self {
        DirsRunConfig {
            system: "dirs".into(),
            name: "dirs".into(),
            seed: 1,
            backend: "auto".into(),
            out_dir: PathBuf::from("runs"),
            log_every: 10,
            eval_steps: 100,
            inference_batch: 4096,
            checkpoint_every: 500,
            mec: MecConfig::default(),
            dirs: DirsConfig::default(),
        }
    }
}

impl DirsRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: DirsRunConfig = crate::experiment::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        crate::experiment::common::check_common("dirs", &self.system, &self.name, &self.backend)?;
        if self.eval_steps == 0 {
            return Err(Error::config("eval_steps", 0, "must be >= 1"));
        }
        if self.inference_batch > 1 << 20 {
            return Err(Error::config("inference_batch", self.inference_batch, "must be <= 1048576"));
        }
        self.mec.validate()?;
        self.dirs.validate()
    }

    /// Units of progress: pre-training iterations, online steps, evaluated states.
    pub fn work_units(&self) -> u64 {
        let pre = if self.dirs.use_imitation { self.dirs.t_d } else { 0 };
        (pre + self.dirs.t_drl + self.eval_steps) as u64
    }

    /// Where `mecrl run` keeps the in-progress training checkpoint: `<out_dir>/<name>.partial/`
    /// (removed when the run completes; the run directory itself appears only when complete).
    pub fn work_dir(&self) -> PathBuf {
        self.out_dir.join(format!("{}.partial", self.name))
    }

    pub(super) fn algo(&self) -> DirsConfig {
        DirsConfig { seed: self.seed, ..self.dirs.clone() }
    }
}

/// What one DIRS run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Imitation accuracy (train, held-out) when pre-training ran.
    pub imitation: Option<(f64, f64)>,
    /// The set accuracies (train, held-out): a decision within `dirs.accuracy_tolerance` of the
    /// label counts as right (docs/dirs.md, Table II).
    #[serde(default)]
    pub imitation_set: Option<(f64, f64)>,
    /// Online metrics every `log_every` steps.
    pub log: Vec<StepMetrics>,
    /// (Σ Φ, mean T, mean E) of dirs, greedy, random, local on held-out channel states.
    pub held_out: [[f64; 3]; 4],
    /// The same on new layouts, and the inference time per batch (s), when run.
    pub fresh: Option<([[f64; 3]; 4], f64)>,
    /// Wall time of pre-training (s).
    pub pretrain_s: f64,
    /// Wall time of pre-training and online training (s).
    pub train_s: f64,
    /// Wall time of each phase (s).
    #[serde(default)]
    pub phase_s: PhaseTimes,
    /// The online step training resumed from (a checkpoint), if it did.
    #[serde(default)]
    pub resumed_at: Option<usize>,
    /// The imitation loss every `log_every` iterations (Fig. 5).
    #[serde(default)]
    pub pretrain_loss: Vec<LossPoint>,
}

/// Wall time of each phase of a DIRS run (s). Resumed from a checkpoint, the training phases
/// add the time spent before the checkpoint (recorded in it) to the time after the restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseTimes {
    /// The demonstrations of the training scenario (Alg. 2 line 1).
    pub demonstrations: f64,
    /// T_D imitation iterations (Alg. 2).
    pub imitation: f64,
    /// Table II accuracy: the held-out demonstrations (a second search) and both accuracies.
    pub accuracy: f64,
    /// T_DRL online steps (Alg. 1), checkpoints included.
    pub online: f64,
    /// Writing training checkpoints: those during online training are also part of `online`;
    /// the one after pre-training is counted only here.
    pub checkpoints: f64,
    /// The comparison on held-out channel states.
    pub evaluation: f64,
    /// New layouts: inference timing and the comparison.
    pub inference: f64,
}
