//! DIRS settings ([`DirsConfig`]; defaults: the DIRS paper §VI-A and docs/mec.md, the rest ours,
//! docs/dirs.md) and where the demonstration search starts ([`DemoInit`]).

use serde::{Deserialize, Serialize};

use crate::algo::replay::ReplayConfig;
use crate::error::{Error, Result};
use crate::search::levy::LevyConfig;

/// DIRS settings. Defaults: the DIRS paper §VI-A and docs/mec.md; the rest are ours (docs/dirs.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirsConfig {
    /// Master seed (environment, networks, replay and searches derive theirs from it).
    pub seed: u64,
    /// Environment instances stepped together in online training (the paper: 1).
    pub train_envs: usize,
    /// Steps per episode: IoTD and MEC positions are redrawn every `episode_steps` online steps;
    /// 0 (default) keeps one layout per instance for the whole run, as the paper's single
    /// scenario (§VI-A); the fading is redrawn every step either way.
    pub episode_steps: usize,
    /// Demonstrations generated for imitation (§VI-B: 256), one per fresh instance.
    pub demonstrations: usize,
    /// T_D, imitation pre-training iterations (Alg. 2).
    pub t_d: usize,
    /// T_DRL, online steps (Alg. 1).
    pub t_drl: usize,
    /// Replay memory capacity (transitions).
    pub replay_capacity: usize,
    /// Minibatch size K.
    pub minibatch: usize,
    /// φ, one training iteration every φ online steps (Alg. 1 line 11).
    pub train_every: usize,
    /// λ1, weight of ‖θ‖² in loss (15) (0 gives L_D of Table II).
    pub lambda1: f64,
    /// λ2, weight of the agent-data loss in (17).
    pub lambda2: f64,
    /// ε_A, priority floor of agent data (16).
    pub eps_agent: f64,
    /// ε_D, priority floor of demonstrations (16).
    pub eps_demo: f64,
    /// τ, priority exponent (16).
    pub tau: f64,
    /// |Δδ| of transitions before their first training (new ones then enter with the largest
    /// |Δδ| seen, so every transition is drawn soon after it arrives).
    pub initial_delta: f64,
    /// Adam learning rate (not given in the paper).
    pub lr: f64,
    /// Hidden layer widths (§VI-A: 80, 60); the input and output widths are N.
    pub hidden: Vec<usize>,
    /// β of the Lévy search that generates demonstrations (the paper: a small value; 1.1 is mecrl's
    /// choice, docs/dirs.md).
    pub demo_beta: f64,
    /// Initial decisions of the demonstration search.
    pub demo_init: DemoInit,
    /// What labels the demonstrations (Alg. 2 line 1): the small-β Lévy search (the paper's
    /// choice) or the exact optimum (§V-B's "exhaustive search" category; equal task cycles only).
    pub demo_solver: DemoSolver,
    /// Table II's set accuracy: a voted decision d of IoTD i also counts as right when the label
    /// with a_i := d is within this fraction of the label's Σ Φ (docs/dirs.md).
    pub accuracy_tolerance: f64,
    /// The online refinement search (Alg. 4; its β is the paper's 1.5; `init` is unused: the
    /// population starts from the voted action).
    pub levy: LevyConfig,
    /// Refine the voted action by the Lévy search (false: the ablation "without Lévy", which
    /// stores the voted action itself).
    pub use_levy: bool,
    /// Pre-train on demonstrations and keep them in the replay (false: the ablation "without
    /// imitation").
    pub use_imitation: bool,
    /// Keep the demonstrations in the replay memory for the whole run (Alg. 1 line 4, as in
    /// DQfD, whose ε_D / ε_A and λ2 the paper adopts): agent data then cycles through the other
    /// `replay_capacity − demonstrations` slots. False: the ring overwrites them too.
    pub keep_demonstrations: bool,
}

impl Default for DirsConfig {
    fn default() -> Self {
        DirsConfig {
            seed: 1,
            train_envs: 1,
            episode_steps: 0,
            demonstrations: 256,
            t_d: 1000,
            t_drl: 3000,
            replay_capacity: 1024,
            minibatch: 256,
            train_every: 10,
            lambda1: 1e-4,
            lambda2: 0.5,
            eps_agent: 0.08,
            eps_demo: 0.02,
            tau: 0.6,
            initial_delta: 1.0,
            lr: 1e-3,
            hidden: vec![80, 60],
            demo_beta: 1.1,
            demo_init: DemoInit::Best,
            demo_solver: DemoSolver::Levy,
            accuracy_tolerance: 1e-3,
            levy: LevyConfig::default(),
            use_levy: true,
            use_imitation: true,
            keep_demonstrations: true,
        }
    }
}

impl DirsConfig {
    /// Check every field; errors name the field (prefixed `dirs.`) and the value.
    pub fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("dirs.train_envs", self.train_envs),
            ("dirs.minibatch", self.minibatch),
            ("dirs.train_every", self.train_every),
        ] {
            if v == 0 {
                return Err(Error::config(f, v, "must be >= 1"));
            }
        }
        if self.use_imitation && self.demonstrations == 0 {
            return Err(Error::config("dirs.demonstrations", 0, "must be >= 1 when use_imitation is on"));
        }
        for (f, v) in [("dirs.lambda1", self.lambda1), ("dirs.lambda2", self.lambda2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(f, v, "must be a finite number >= 0"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::config("dirs.lr", self.lr, "must be finite and > 0"));
        }
        if let Some(h) = self.hidden.iter().find(|&&h| h == 0) {
            return Err(Error::config("dirs.hidden", h, "every hidden width must be >= 1"));
        }
        if !(self.demo_beta > 0.0 && self.demo_beta < 2.0) {
            return Err(Error::config("dirs.demo_beta", self.demo_beta, "must be in (0, 2)"));
        }
        if !(self.accuracy_tolerance.is_finite() && self.accuracy_tolerance >= 0.0) {
            return Err(Error::config(
                "dirs.accuracy_tolerance",
                self.accuracy_tolerance,
                "must be a finite number >= 0",
            ));
        }
        if self.use_imitation && self.keep_demonstrations && self.replay_capacity <= self.demonstrations {
            return Err(Error::config(
                "dirs.replay_capacity",
                self.replay_capacity,
                format!("must exceed dirs.demonstrations = {} when they are kept", self.demonstrations),
            ));
        }
        self.levy.validate()?;
        self.replay().validate()
    }

    /// The replay memory's settings.
    pub(super) fn replay(&self) -> ReplayConfig {
        ReplayConfig {
            capacity: self.replay_capacity,
            tau: self.tau as f32,
            eps_agent: self.eps_agent as f32,
            eps_demo: self.eps_demo as f32,
            initial_delta: self.initial_delta as f32,
        }
    }
}

/// Where the demonstration search starts (every candidate of an instance starts there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DemoInit {
    /// Per instance, the better of the Local and Greedy baselines (default: Local wins with few
    /// MECs, Greedy with many).
    #[default]
    Best,
    /// All local.
    Local,
    /// The Greedy baseline.
    Greedy,
    /// The Random baseline.
    Random,
}

/// What labels the demonstrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DemoSolver {
    /// The Lévy search with β = `demo_beta` from `demo_init` (§V-B: the paper's demonstrations).
    #[default]
    Levy,
    /// The exact optimum of (11) with the exact allocation (`env::mec::optimum`): a canonical
    /// label, a function of the instance alone. Needs equal task cycles (no `task_cycles_max`).
    Optimal,
}
