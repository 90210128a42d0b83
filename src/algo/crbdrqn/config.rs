//! The hyper-parameters of CRB-DRQN (a TOML table `[crbdrqn]`; the paper's §4–5.1 where it gives
//! them — n = 4, γ = 0.9, RMSProp 10⁻³, batch 4, ε 1 → 0.01 — mecrl's choices otherwise, listed
//! in docs/crbdrqn.md).

use serde::{Deserialize, Serialize};

use crate::algo::gae::Returns;
use crate::algo::ppo::PpoConfig;
use crate::error::{Error, Result};
use crate::nn::optim::OptimConfig;

/// The learners of the paper's comparison (§5.2) that mecrl implements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// CRB-DRQN (§4).
    #[default]
    CrbDrqn,
    /// QMIX (§5.2 (3)): a shared agent Q-network and a monotonic hypernetwork mixer over the
    /// global state, trained from a replay of whole episodes.
    Qmix,
    /// The decentralized actor-critic (§5.2 (1)): every terminal its own actor and critic over
    /// its own observation (η, μ, q, Load(t)), trained on its own decisions only (no sharing);
    /// one advantage actor-critic step per episode.
    Decentralized,
    /// MAPPO (§5.2 (4)): one actor shared by the terminals, a critic that also reads the
    /// instance's mean observation (centralized training), PPO per episode.
    Mappo,
}

impl Method {
    /// Every learner, in table order.
    pub const ALL: [Method; 4] = [Method::CrbDrqn, Method::Decentralized, Method::Qmix, Method::Mappo];

    /// Column label.
    pub fn name(self) -> &'static str {
        match self {
            Method::CrbDrqn => "crb_drqn",
            Method::Decentralized => "decentralized",
            Method::Qmix => "qmix",
            Method::Mappo => "mappo",
        }
    }
}

/// The on-policy baselines' settings (Decentralized, MAPPO; the paper gives none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineConfig {
    /// Units of the actors' and critics' two ReLU layers.
    pub hidden: [usize; 2],
    /// Adam learning rate of actor and critic (one optimizer; the value loss weighted by
    /// `ppo.value_coef`).
    pub lr: f32,
    /// MAPPO's update (Yu et al.'s defaults); Decentralized takes its γ, λ, coefficients and
    /// clip with one epoch of one minibatch (the policy gradient of A2C: the ratio is 1).
    pub ppo: PpoConfig,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            hidden: [64, 64],
            lr: 5e-4,
            ppo: PpoConfig {
                clip_eps: 0.2,
                value_coef: 0.5,
                entropy_coef: 0.01,
                value_clip: 0.0,
                gamma: 0.9,
                lambda: 0.95,
                returns: Returns::Lambda,
                norm_adv: true,
                epochs: 5,
                minibatches: 1,
                max_grad_norm: 10.0,
            },
        }
    }
}

/// QMIX's settings (pymarl's defaults where the CRB-DRQN paper gives none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QmixConfig {
    /// Units of the agent network's two ReLU layers.
    pub agent_hidden: [usize; 2],
    /// Units of the mixing network's hidden layer (pymarl: 32).
    pub embed: usize,
    /// Units of the hypernetworks' hidden layer (pymarl: 64).
    pub hyper_hidden: usize,
    /// RMSProp learning rate (pymarl: 5e-4).
    pub lr: f32,
    /// Episodes (of one instance) per update (pymarl: 32).
    pub batch: usize,
    /// Updates per training episode.
    pub updates: usize,
    /// Episodes of B instances the replay holds.
    pub replay_episodes: usize,
    /// Target networks ← online every this many updates.
    pub target_update: usize,
    /// Gradient-norm clip (pymarl: 10).
    pub max_grad_norm: f32,
    /// The team reward of a slot: the mean over the instance's terminals (true) or the sum.
    pub team_reward_mean: bool,
    /// The hypernetworks' input: the global state times this (its Load counts reach D and its
    /// backlogs tens of Mbit; unscaled, the unbounded |W| blow up Q_tot — docs/crbdrqn.md).
    pub state_scale: f32,
}

impl Default for QmixConfig {
    fn default() -> Self {
        QmixConfig {
            agent_hidden: [64, 64],
            embed: 32,
            hyper_hidden: 64,
            lr: 5e-4,
            batch: 8,
            updates: 4,
            replay_episodes: 200,
            target_update: 50,
            max_grad_norm: 10.0,
            team_reward_mean: true,
            state_scale: 0.05,
        }
    }
}

impl QmixConfig {
    /// Check every field (names prefixed `crbdrqn.qmix.`).
    pub fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("agent_hidden[0]", self.agent_hidden[0]),
            ("agent_hidden[1]", self.agent_hidden[1]),
            ("embed", self.embed),
            ("hyper_hidden", self.hyper_hidden),
            ("batch", self.batch),
            ("updates", self.updates),
            ("replay_episodes", self.replay_episodes),
            ("target_update", self.target_update),
        ] {
            if v == 0 || v > 1 << 20 {
                return Err(Error::config(format!("crbdrqn.qmix.{f}"), v, "must be in 1..=1048576"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::config("crbdrqn.qmix.lr", self.lr, "must be finite and > 0"));
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            return Err(Error::config("crbdrqn.qmix.max_grad_norm", self.max_grad_norm, "must be finite and >= 0"));
        }
        if !(self.state_scale.is_finite() && self.state_scale > 0.0) {
            return Err(Error::config("crbdrqn.qmix.state_scale", self.state_scale, "must be finite and > 0"));
        }
        Ok(())
    }
}

/// CRB-DRQN hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrbDrqnConfig {
    /// Seed of the initialization, the sampling, the exploration and the episodes.
    pub seed: u64,
    /// B, system instances stepped together (every terminal of every instance is an agent of
    /// the one shared network). 1 = the paper's single system.
    pub instances: usize,
    /// n, decisions per trajectory (Table 1: 4).
    pub trajectory_steps: usize,
    /// |𝒯| at most, trajectories in the central pool (a ring: the oldest are overwritten).
    pub pool_capacity: usize,
    /// α of the familiarity sampling (22) (not given by the paper).
    pub alpha: f32,
    /// |I|, trajectories per training step (§5.1 "batch size = 4").
    pub batch: usize,
    /// γ (§4.5, §5.1: 0.9).
    pub gamma: f32,
    /// The optimizer (§5.1: RMSProp, learning rate 10⁻³).
    pub optim: OptimConfig,
    /// Gradient-norm clip of a training step (0 = none; the paper clips nothing).
    pub max_grad_norm: f32,
    /// Training steps of the edge server per slot once the pool holds `warmup` trajectories.
    pub updates_per_slot: usize,
    /// Trajectories the pool must hold before training starts.
    pub warmup: usize,
    /// `update` (Alg. 2): θ⁻ ← θ every this many training steps.
    pub target_update: usize,
    /// `tag` (Alg. 1): the terminals download θ every this many slots.
    pub tag: usize,
    /// ε of the first training episode (§5.1: 1).
    pub epsilon_start: f32,
    /// ε at and after `epsilon_episodes` (§5.1: 0.01).
    pub epsilon_end: f32,
    /// Episodes over which ε falls linearly from `epsilon_start` to `epsilon_end`.
    pub epsilon_episodes: usize,
    /// Units of the fully connected layer over (η, μ^comp, μ^tran, q) (§4.2).
    pub obs_hidden: usize,
    /// Units of the LSTM over the rows of Load(t) (§4.2).
    pub lstm_hidden: usize,
    /// Units of the two ReLU layers after the concatenation (§4.2).
    pub hidden: [usize; 2],
    /// The baselines' settings.
    pub baseline: BaselineConfig,
    /// QMIX's settings.
    pub qmix: QmixConfig,
}

impl Default for CrbDrqnConfig {
    fn default() -> Self {
        CrbDrqnConfig {
            seed: 1,
            instances: 1,
            trajectory_steps: 4,
            pool_capacity: 20_000,
            alpha: 1.0,
            batch: 4,
            gamma: 0.9,
            optim: OptimConfig::RmsProp { lr: 1e-3, alpha: 0.9, eps: 1e-8, weight_decay: 0.0 },
            max_grad_norm: 0.0,
            updates_per_slot: 1,
            warmup: 64,
            target_update: 200,
            tag: 10,
            epsilon_start: 1.0,
            epsilon_end: 0.01,
            epsilon_episodes: 100,
            obs_hidden: 32,
            lstm_hidden: 20,
            hidden: [64, 64],
            baseline: BaselineConfig::default(),
            qmix: QmixConfig::default(),
        }
    }
}

impl CrbDrqnConfig {
    /// ε of training episode `episode`: linear from `epsilon_start` to `epsilon_end`.
    pub fn epsilon(&self, episode: u64) -> f32 {
        if self.epsilon_episodes == 0 || episode >= self.epsilon_episodes as u64 {
            return self.epsilon_end;
        }
        let f = episode as f32 / self.epsilon_episodes as f32;
        self.epsilon_start + (self.epsilon_end - self.epsilon_start) * f
    }

    /// Check every field (names prefixed `crbdrqn.`).
    pub fn validate(&self) -> Result<()> {
        let positive = |f: &str, v: usize| {
            if v == 0 {
                Err(Error::config(format!("crbdrqn.{f}"), v, "must be >= 1"))
            } else {
                Ok(())
            }
        };
        positive("instances", self.instances)?;
        positive("pool_capacity", self.pool_capacity)?;
        positive("batch", self.batch)?;
        positive("target_update", self.target_update)?;
        positive("tag", self.tag)?;
        positive("obs_hidden", self.obs_hidden)?;
        positive("lstm_hidden", self.lstm_hidden)?;
        positive("hidden[0]", self.hidden[0])?;
        positive("hidden[1]", self.hidden[1])?;
        if !(1..=16).contains(&self.trajectory_steps) {
            return Err(Error::config("crbdrqn.trajectory_steps", self.trajectory_steps, "must be in 1..=16"));
        }
        if self.pool_capacity > u32::MAX as usize / 2 {
            return Err(Error::config("crbdrqn.pool_capacity", self.pool_capacity, "must be below 2^31"));
        }
        if self.warmup < self.batch.min(self.pool_capacity) || self.warmup > self.pool_capacity {
            return Err(Error::config(
                "crbdrqn.warmup",
                self.warmup,
                format!("must be in batch..=pool_capacity ({}..={})", self.batch, self.pool_capacity),
            ));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(Error::config("crbdrqn.alpha", self.alpha, "must be finite and >= 0"));
        }
        if !(self.gamma.is_finite() && (0.0..1.0).contains(&self.gamma)) {
            return Err(Error::config("crbdrqn.gamma", self.gamma, "must be in [0, 1)"));
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            return Err(Error::config("crbdrqn.max_grad_norm", self.max_grad_norm, "must be finite and >= 0"));
        }
        for (f, v) in [("epsilon_start", self.epsilon_start), ("epsilon_end", self.epsilon_end)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::config(format!("crbdrqn.{f}"), v, "must be in [0, 1]"));
            }
        }
        let b = &self.baseline;
        if b.hidden.contains(&0) {
            return Err(Error::config("crbdrqn.baseline.hidden", format!("{:?}", b.hidden), "must be >= 1"));
        }
        if !(b.lr.is_finite() && b.lr > 0.0) {
            return Err(Error::config("crbdrqn.baseline.lr", b.lr, "must be finite and > 0"));
        }
        b.ppo.validate("crbdrqn.baseline.ppo")?;
        self.qmix.validate()?;
        self.optim.validate().map_err(|e| match e {
            Error::Config { field, value, why } => Error::Config { field: format!("crbdrqn.{field}"), value, why },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_falls_linearly_and_bad_fields_are_named() {
        let c = CrbDrqnConfig { epsilon_episodes: 10, ..Default::default() };
        assert_eq!(c.epsilon(0), 1.0);
        assert!((c.epsilon(5) - 0.505).abs() < 1e-6);
        assert_eq!(c.epsilon(10), 0.01);
        assert_eq!(c.epsilon(1000), 0.01);
        c.validate().unwrap();
        for (bad, field) in [
            (CrbDrqnConfig { trajectory_steps: 0, ..c.clone() }, "crbdrqn.trajectory_steps"),
            (CrbDrqnConfig { gamma: 1.0, ..c.clone() }, "crbdrqn.gamma"),
            (CrbDrqnConfig { alpha: f32::NAN, ..c.clone() }, "crbdrqn.alpha"),
            (CrbDrqnConfig { warmup: 1, ..c.clone() }, "crbdrqn.warmup"),
            (CrbDrqnConfig { batch: 0, ..c.clone() }, "crbdrqn.batch"),
            (
                CrbDrqnConfig {
                    optim: OptimConfig::RmsProp { lr: -1.0, alpha: 0.9, eps: 0.0, weight_decay: 0.0 },
                    ..c
                },
                "crbdrqn.optim.lr",
            ),
        ] {
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
