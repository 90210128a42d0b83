//! The hyper-parameters of O2O-DRL (a TOML table `[o2o]`): the paper's §V-A where it gives them —
//! 2 × 64 ReLU, lr 3·10⁻⁴, γ 0.99, τ 5·10⁻⁴, buffer 10⁶, batch 128, α 0.05, λ_c 0.1, λ 0.95,
//! ε 0.2, K = 4 — and mecrl's choices otherwise (docs/o2o.md lists each).

use serde::{Deserialize, Serialize};

use crate::algo::gae::Returns;
use crate::algo::ppo::PpoConfig;
use crate::error::{Error, Result};

/// The learners of the paper's comparison (§V-B) that learn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Offline training (Alg. 1) then online fine-tuning (Alg. 2).
    #[default]
    O2o,
    /// Offline training only: the Alg. 1 actor, deployed as it is.
    OfflineOnly,
    /// Online training only: Alg. 2 from a random initialization.
    OnlineOnly,
}

impl Variant {
    /// Every variant, in table order.
    pub const ALL: [Variant; 3] = [Variant::O2o, Variant::OfflineOnly, Variant::OnlineOnly];

    /// Column label.
    pub fn name(self) -> &'static str {
        match self {
            Variant::O2o => "o2o",
            Variant::OfflineOnly => "offline_only",
            Variant::OnlineOnly => "online_only",
        }
    }

    /// Whether the offline phase runs.
    pub fn offline(self) -> bool {
        self != Variant::OnlineOnly
    }

    /// Whether the online phase runs.
    pub fn online(self) -> bool {
        self != Variant::OfflineOnly
    }
}

/// Where the offline actor is trained (eq. 11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorState {
    /// As printed: ascend V(o_{t+1}) with the target Qs (the pass that gives the targets y).
    #[default]
    Next,
    /// Standard discrete SAC: ascend Σ_a π(a|o_t)(min_k Q_φk(o_t, a) − α log π(a|o_t)).
    Current,
}

/// The offline phase (Alg. 1, discrete SAC + CQL).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfflineConfig {
    /// Gradient steps (the paper gives none).
    pub steps: u64,
    /// |B|, transitions per step (§V-A: 128).
    pub batch: usize,
    /// Replay capacity in transitions (§V-A: 10⁶); a longer log keeps its last `capacity` rows.
    pub capacity: usize,
    /// Adam learning rate of the Qs, the actor and V_ω (§V-A: 3·10⁻⁴).
    pub lr: f32,
    /// α, the entropy weight (§V-A: 0.05).
    pub alpha: f32,
    /// γ (§V-A: 0.99).
    pub gamma: f32,
    /// τ of the target Qs' soft update (§V-A: 0.0005).
    pub tau: f32,
    /// λ_c, the weight of the CQL regularizer (eq. 10; §V-A: 0.1).
    pub lambda_c: f32,
    /// Evaluate the actor every this many steps (the offline part of Fig. 3; 0 = only at the end).
    pub eval_every: u64,
    /// Where the actor is trained: `next` (eq. 11 as printed) or `current` (standard SAC).
    pub actor_state: ActorState,
}

impl Default for OfflineConfig {
    fn default() -> Self {
        OfflineConfig {
            steps: 20_000,
            batch: 128,
            capacity: 1_000_000,
            lr: 3e-4,
            alpha: 0.05,
            gamma: 0.99,
            tau: 5e-4,
            lambda_c: 0.1,
            eval_every: 2_000,
            actor_state: ActorState::Next,
        }
    }
}

/// The online phase (Alg. 2, PPO with GAE).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineConfig {
    /// Updates; each collects one episode of every one of `o2o.instances` instances (the
    /// paper's "set of trajectories D_k").
    pub updates: u64,
    /// Adam learning rate of actor and critic (§V-A: 3·10⁻⁴).
    pub lr: f32,
    /// The PPO update: ε 0.2, K = 4 epochs, λ 0.95, γ 0.99 (§V-A), value targets A + V (eq. 15).
    pub ppo: PpoConfig,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig {
            updates: 60,
            lr: 3e-4,
            ppo: PpoConfig {
                clip_eps: 0.2,
                value_coef: 0.5,
                entropy_coef: 0.0,
                value_clip: 0.0,
                gamma: 0.99,
                lambda: 0.95,
                returns: Returns::Lambda,
                norm_adv: true,
                epochs: 4,
                minibatches: 4,
                max_grad_norm: 0.0,
            },
        }
    }
}

/// O2O-DRL's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct O2oConfig {
    /// Seed of the networks, the minibatch draws, the actions and the episodes.
    pub seed: u64,
    /// Which learner.
    pub variant: Variant,
    /// Units of the two ReLU layers of every network (§V-A: 64, 64).
    pub hidden: [usize; 2],
    /// Standardize the rewards, (r − μ)/σ (Alg. 1 "normalize the rewards", Alg. 2 line 3): μ
    /// and σ of the offline data set, kept for the online phase; online-only takes its first
    /// online batch's. Fixed once so V_ω's units never change.
    pub normalize_rewards: bool,
    /// Instances stepped together online and in evaluations (each one episode per update).
    pub instances: usize,
    /// Episodes per curve evaluation (every instance runs each).
    pub eval_episodes: u32,
    /// Evaluations and tests take the actor's most likely allowed action (training always
    /// samples).
    pub greedy_eval: bool,
    /// The offline phase.
    pub offline: OfflineConfig,
    /// The online phase.
    pub online: OnlineConfig,
}

impl Default for O2oConfig {
    fn default() -> Self {
        O2oConfig {
            seed: 1,
            variant: Variant::O2o,
            hidden: [64, 64],
            normalize_rewards: true,
            instances: 8,
            eval_episodes: 2,
            greedy_eval: false,
            offline: OfflineConfig::default(),
            online: OnlineConfig::default(),
        }
    }
}

fn positive(field: &str, v: f32) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::config(field, v, "must be finite and > 0"));
    }
    Ok(())
}

impl O2oConfig {
    /// Check every field (names as in the TOML: `o2o.offline.batch`, …).
    pub fn validate(&self) -> Result<()> {
        let o = &self.offline;
        for (name, v) in [("o2o.hidden[0]", self.hidden[0]), ("o2o.hidden[1]", self.hidden[1])] {
            if v == 0 || v > 4096 {
                return Err(Error::config(name, v, "must be in 1..=4096"));
            }
        }
        if self.instances == 0 || self.instances > 1 << 16 {
            return Err(Error::config("o2o.instances", self.instances, "must be in 1..=65536"));
        }
        if self.eval_episodes == 0 || self.eval_episodes > 1 << 12 {
            return Err(Error::config("o2o.eval_episodes", self.eval_episodes, "must be in 1..=4096"));
        }
        if o.batch == 0 || o.batch > 1 << 16 {
            return Err(Error::config("o2o.offline.batch", o.batch, "must be in 1..=65536"));
        }
        if o.capacity == 0 || o.capacity > 1 << 26 {
            return Err(Error::config("o2o.offline.capacity", o.capacity, "must be in 1..=67108864"));
        }
        if o.steps > 1 << 31 {
            return Err(Error::config("o2o.offline.steps", o.steps, "must be <= 2^31"));
        }
        positive("o2o.offline.lr", o.lr)?;
        positive("o2o.online.lr", self.online.lr)?;
        if !(o.alpha.is_finite() && o.alpha >= 0.0) {
            return Err(Error::config("o2o.offline.alpha", o.alpha, "must be finite and >= 0"));
        }
        if !(o.lambda_c.is_finite() && o.lambda_c >= 0.0) {
            return Err(Error::config("o2o.offline.lambda_c", o.lambda_c, "must be finite and >= 0"));
        }
        if !(0.0..=1.0).contains(&o.gamma) {
            return Err(Error::config("o2o.offline.gamma", o.gamma, "must be in [0, 1]"));
        }
        if !(o.tau > 0.0 && o.tau <= 1.0) {
            return Err(Error::config("o2o.offline.tau", o.tau, "must be in (0, 1]"));
        }
        if self.online.updates > 60_000 {
            return Err(Error::config("o2o.online.updates", self.online.updates, "must be <= 60000"));
        }
        self.online.ppo.validate("o2o.online.ppo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers_and_bad_fields_are_named() {
        let c = O2oConfig::default();
        c.validate().unwrap();
        let o = &c.offline;
        assert_eq!((o.batch, o.capacity, o.alpha, o.gamma, o.tau, o.lambda_c), (128, 1_000_000, 0.05, 0.99, 5e-4, 0.1));
        let p = &c.online.ppo;
        assert_eq!((p.clip_eps, p.epochs, p.lambda, p.gamma), (0.2, 4, 0.95, 0.99));
        let bad = O2oConfig { offline: OfflineConfig { batch: 0, ..Default::default() }, ..Default::default() };
        assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "o2o.offline.batch"));
        let bad = O2oConfig { offline: OfflineConfig { tau: 0.0, ..Default::default() }, ..Default::default() };
        assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "o2o.offline.tau"));
        let mut bad = O2oConfig::default();
        bad.online.ppo.clip_eps = 2.0;
        assert!(matches!(bad.validate(), Err(Error::Config { field, .. }) if field == "o2o.online.ppo.clip_eps"));
        let t: O2oConfig = toml::from_str("variant = \"offline_only\"\n[offline]\nsteps = 5").unwrap();
        assert_eq!((t.variant, t.offline.steps, t.offline.batch), (Variant::OfflineOnly, 5, 128));
        assert!(toml::from_str::<O2oConfig>("[offline]\nstep = 5").is_err(), "unknown fields are refused");
    }
}
