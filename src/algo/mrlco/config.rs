//! MRLCO's hyper-parameters (a TOML table `[mrlco]`).

use serde::{Deserialize, Serialize};

use super::task;
use crate::algo::ppo::PpoConfig;
use crate::error::{Error, Result};
use crate::nn::seq2seq::Seq2SeqConfig;

/// How the outer loop applies the first-order meta-gradient (eq. 22).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OuterRule {
    /// As printed: one Adam step on g = (1/n)Σ(θ′_i − θ)/α/m.
    Averaged,
    /// As the published code, which produced Table 3 (the default): one Adam step per task in
    /// turn, each on (θ′_i − θ)/α/m/n with θ the parameters as the previous step left them (n
    /// outer steps per meta-iteration; closer to the baseline at equal samples, docs/mrlco.md).
    #[default]
    PerTask,
}

/// Which Adam state the inner loop's m steps start from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InnerOptimizer {
    /// One inner Adam (α) for every task and meta-iteration: its moments carry on while θ_i is
    /// reset to θ for each task (the published code keeps one Adam for the task policies and
    /// never resets it; the default). Adam's steps then scale with the gradients' history.
    #[default]
    Shared,
    /// A fresh Adam per task: its first steps are ±α on every parameter whatever the gradient
    /// (m̂/√v̂ = g/|g| at step 1), so θ′_i − θ is a sign vector.
    Fresh,
}

/// MRLCO's hyper-parameters (a TOML table `[mrlco]`; defaults: the paper's Table 2 and §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MrlcoConfig {
    /// Units of every LSTM layer and of the task embedding (paper: 256).
    pub hidden: usize,
    /// LSTM layers of the encoder and the decoder (paper: 2).
    pub layers: usize,
    /// Units of the attention's score network.
    pub attention: usize,
    /// Parent and child slots p of a task's features (paper: 12; published code: 6).
    pub parents: usize,
    /// Rewards min-max scaled per graph as the published code (docs/dag.md).
    pub scaled_reward: bool,
    /// The PPO of the inner loop (ε, c1, γ, λ; `epochs` = m, the inner gradient steps).
    pub ppo: PpoConfig,
    /// α, the inner loop's Adam learning rate (paper: 5e-4).
    pub inner_lr: f32,
    /// β, the outer loop's Adam learning rate (paper: 5e-4).
    pub outer_lr: f32,
    /// How the outer step applies eq. 22 (`per_task` as published, `averaged` as printed).
    pub outer_rule: OuterRule,
    /// The inner loop's Adam state: `shared` across tasks and iterations (as published) or
    /// `fresh` per task.
    pub inner_optimizer: InnerOptimizer,
    /// Learning tasks per meta-iteration n (paper: 10; 5 in experiment 2).
    pub meta_batch: usize,
    /// Meta-iterations K (Algorithm 1, line 2); also the fine-tuning baseline's pretraining
    /// iterations (each the same n tasks' rollouts and updates).
    pub iterations: usize,
    /// DAGs of a task sampled per inner loop (or adaptation step).
    pub graphs_per_task: usize,
    /// Trajectories sampled per DAG (paper: 20).
    pub trajectories: usize,
    /// Adam learning rate when adapting to a test task.
    pub adapt_lr: f32,
    /// Optimizer steps per adaptation step (each step samples new trajectories first).
    pub adapt_epochs: usize,
    /// The adaptation steps after which the greedy latency is measured (paper: 0…20 and 100).
    pub eval_steps: Vec<usize>,
    /// Seed of the initialization, the task and graph draws and the sampling.
    pub seed: u64,
}

impl Default for MrlcoConfig {
    fn default() -> Self {
        MrlcoConfig {
            hidden: 256,
            layers: 2,
            attention: 256,
            parents: 12,
            scaled_reward: true,
            ppo: PpoConfig { epochs: 3, ..PpoConfig::default() },
            inner_lr: 5e-4,
            outer_lr: 5e-4,
            outer_rule: OuterRule::PerTask,
            inner_optimizer: InnerOptimizer::Shared,
            meta_batch: 10,
            iterations: 100,
            graphs_per_task: 10,
            trajectories: 20,
            adapt_lr: 5e-4,
            adapt_epochs: 1,
            eval_steps: (0..=20).chain([100]).collect(),
            seed: 1,
        }
    }
}

impl MrlcoConfig {
    /// Check every field (names prefixed `mrlco.`).
    pub fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("attention", self.attention),
            ("meta_batch", self.meta_batch),
            ("iterations", self.iterations),
            ("graphs_per_task", self.graphs_per_task),
            ("trajectories", self.trajectories),
            ("adapt_epochs", self.adapt_epochs),
        ] {
            if v == 0 || v > 1 << 20 {
                return Err(Error::config(format!("mrlco.{f}"), v, "must be in 1..=1048576"));
            }
        }
        if self.parents > 64 {
            return Err(Error::config("mrlco.parents", self.parents, "must be <= 64"));
        }
        for (f, v) in [("inner_lr", self.inner_lr), ("outer_lr", self.outer_lr), ("adapt_lr", self.adapt_lr)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(format!("mrlco.{f}"), v, "must be finite and > 0"));
            }
        }
        if self.eval_steps.is_empty() || self.eval_steps.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::config(
                "mrlco.eval_steps",
                format!("{:?}", self.eval_steps),
                "list at least one step, strictly increasing",
            ));
        }
        if *self.eval_steps.last().unwrap_or(&0) > 100_000 {
            return Err(Error::config("mrlco.eval_steps", format!("{:?}", self.eval_steps), "steps must be <= 100000"));
        }
        self.ppo.validate("mrlco.ppo")
    }

    /// The network's sizes (two actions: local or offload).
    pub fn seq2seq(&self) -> Seq2SeqConfig {
        Seq2SeqConfig {
            hidden: self.hidden,
            layers: self.layers,
            attention: self.attention,
            seed: self.seed,
            ..Seq2SeqConfig::mrlco(task::features(self.parents))
        }
    }

    /// The last adaptation step measured.
    pub fn adapt_steps(&self) -> usize {
        *self.eval_steps.last().unwrap_or(&0)
    }
}
