//! The hyper-parameters of MAPPO and mixed MAPPO (a TOML table `[mappo]`; defaults: the paper's
//! §V-B and §VI-B where it gives them, the MAPPO reference implementation (Yu et al., 2022)
//! where it does not — docs/mappo.md lists which is which).

use serde::{Deserialize, Serialize};

use crate::algo::gae::Returns;
use crate::algo::ppo::PpoConfig;
use crate::error::{Error, Result};

/// Which learner of the paper.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Mixed MAPPO (M2PPO): `critics` averaged critics and the drift-plus-penalty comparison.
    #[default]
    MixedMappo,
    /// Vanilla MAPPO, the paper's ablation: one critic, the actor's own actions.
    Mappo,
    /// Multi-agent A3C (§VI-B baseline) made synchronous: the batched environments replace
    /// A3C's asynchronous workers; one advantage actor-critic step per rollout; LSTM networks
    /// [in → 32, 32 → 96, LSTM 96 → 64, 64 → out]; each agent's critic reads its own
    /// observation (independent actor-critic learners sharing parameters).
    Maa3c,
    /// MADQN (§VI-B baseline): independent recurrent Q-learners sharing parameters, LSTM
    /// networks as MAA3C's, a target network and a replay of sequences.
    Madqn,
}

impl Method {
    /// Column label.
    pub fn name(self) -> &'static str {
        match self {
            Method::MixedMappo => "mixed_mappo",
            Method::Mappo => "mappo",
            Method::Maa3c => "maa3c",
            Method::Madqn => "madqn",
        }
    }

    /// The recurrent cell of its networks.
    pub fn cell(self) -> Cell {
        match self {
            Method::MixedMappo | Method::Mappo => Cell::Gru,
            Method::Maa3c | Method::Madqn => Cell::Lstm,
        }
    }
}

/// The recurrent cell of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// GRU: the state is h.
    Gru,
    /// LSTM: the state is (h, c).
    Lstm,
}

impl Cell {
    /// Tensors of its state (h; or h and c).
    pub fn parts(self) -> usize {
        match self {
            Cell::Gru => 1,
            Cell::Lstm => 2,
        }
    }
}

/// How the action taken is chosen from the actor's sample (Algorithm 1, line 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mix {
    /// The actor's sample (MAPPO).
    None,
    /// The likelier under the actor of its sample and the drift-plus-penalty action (mixed
    /// MAPPO; the paper compares the two by "β_t(s_t, ·)", which its state-value critics cannot
    /// give — docs/mappo.md).
    #[default]
    Likelihood,
}

/// MAPPO / mixed MAPPO hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MappoConfig {
    /// Which learner; sets `critics` and `mix` when they are left at 0 / unset.
    pub method: Method,
    /// Units of the actor's and critics' layers and GRUs (paper §VI-B: 64; MAPPO, mixed MAPPO).
    pub hidden: usize,
    /// MAA3C's [first layer, second layer, LSTM] units (paper §VI-B: 32, 96, 64).
    pub lstm_sizes: [usize; 3],
    /// Critics (mixed MAPPO: 5; MAPPO: 1). 0 = the method's.
    pub critics: usize,
    /// ς_n, the critics' weights (§V-B: 0.2 each, Σ = 1). Empty = 1/critics each.
    pub critic_weights: Vec<f32>,
    /// The mixing rule (None = the method's: `likelihood` for mixed MAPPO, `none` for MAPPO).
    pub mix: Option<Mix>,
    /// Slots per rollout T between updates (every environment steps T slots).
    pub rollout_slots: usize,
    /// Slots per chunk of truncated BPTT; the rollout stores each chunk's starting hidden states.
    pub chunk: usize,
    /// The PPO update of the actors (ε3 = 0.1, eq. 26) and GAE's γ, λ.
    pub ppo: PpoConfig,
    /// Adam learning rate of the actor.
    pub actor_lr: f32,
    /// Adam learning rate of the critics.
    pub critic_lr: f32,
    /// Normalize the critics' targets by running statistics of the returns (MAPPO's value
    /// normalization); the critics then predict normalized values.
    pub value_norm: bool,
    /// Decay β of the running statistics (MAPPO: 0.99999).
    pub value_norm_beta: f64,
    /// MADQN's own hyper-parameters.
    pub madqn: MadqnConfig,
    /// Seed of the initialization, the sampling and the environments' episodes.
    pub seed: u64,
}

impl Default for MappoConfig {
    fn default() -> Self {
        MappoConfig {
            method: Method::MixedMappo,
            hidden: 64,
            lstm_sizes: [32, 96, 64],
            critics: 0,
            critic_weights: vec![],
            mix: None,
            rollout_slots: 50,
            chunk: 10,
            ppo: PpoConfig {
                clip_eps: 0.1,
                value_coef: 0.0,
                entropy_coef: 0.01,
                value_clip: 0.0,
                gamma: 0.99,
                lambda: 0.95,
                returns: Returns::Lambda,
                norm_adv: true,
                epochs: 5,
                minibatches: 1,
                max_grad_norm: 10.0,
            },
            actor_lr: 5e-4,
            critic_lr: 5e-4,
            value_norm: true,
            value_norm_beta: 0.99999,
            madqn: MadqnConfig::default(),
            seed: 1,
        }
    }
}

impl MappoConfig {
    /// The default of `method`.
    pub fn of(method: Method) -> Self {
        MappoConfig { method, ..Default::default() }
    }

    /// K, the critics.
    pub fn n_critics(&self) -> usize {
        match (self.critics, self.method) {
            (0, Method::MixedMappo) => 5,
            (0, _) => 1,
            (k, _) => k,
        }
    }

    /// ς_n of every critic.
    pub fn weights(&self) -> Vec<f32> {
        if self.critic_weights.is_empty() {
            let k = self.n_critics();
            vec![1.0 / k as f32; k]
        } else {
            self.critic_weights.clone()
        }
    }

    /// The mixing rule.
    pub fn mixing(&self) -> Mix {
        self.mix.unwrap_or(match self.method {
            Method::MixedMappo => Mix::Likelihood,
            Method::Mappo | Method::Maa3c | Method::Madqn => Mix::None,
        })
    }

    /// ([first, second layer], recurrent units) of the networks.
    pub fn sizes(&self) -> ([usize; 2], usize) {
        match self.method.cell() {
            Cell::Gru => ([self.hidden, self.hidden], self.hidden),
            Cell::Lstm => ([self.lstm_sizes[0], self.lstm_sizes[1]], self.lstm_sizes[2]),
        }
    }

    /// Whether the critics read the instance's global state (centralized: MAPPO, mixed
    /// MAPPO) or each agent's own observation (MAA3C).
    pub fn central_critic(&self) -> bool {
        self.method != Method::Maa3c
    }

    /// The update of the actor: PPO as configured, or for MAA3C one advantage actor-critic step
    /// per rollout (one epoch, one minibatch: at the only step the ratio is 1 and the clipped
    /// surrogate's gradient is the policy gradient).
    pub fn actor_update(&self) -> PpoConfig {
        let base = PpoConfig { value_coef: 0.0, ..self.ppo.clone() };
        match self.method {
            Method::Maa3c => PpoConfig { epochs: 1, minibatches: 1, ..base },
            _ => base,
        }
    }

    /// Check every field (errors name it, `mappo.` prefixed).
    pub fn validate(&self) -> Result<()> {
        self.ppo.validate("mappo.ppo")?;
        let [l1, l2, l3] = self.lstm_sizes;
        for (name, v) in [
            ("hidden", self.hidden),
            ("lstm_sizes[0]", l1),
            ("lstm_sizes[1]", l2),
            ("lstm_sizes[2]", l3),
            ("rollout_slots", self.rollout_slots),
            ("chunk", self.chunk),
        ] {
            if v == 0 || v > 1 << 16 {
                return Err(Error::config(format!("mappo.{name}"), v, "must be in 1..=65536"));
            }
        }
        if !self.rollout_slots.is_multiple_of(self.chunk) {
            return Err(Error::config(
                "mappo.chunk",
                self.chunk,
                format!("must divide rollout_slots = {}", self.rollout_slots),
            ));
        }
        let k = self.n_critics();
        if k > 64 {
            return Err(Error::config("mappo.critics", k, "must be in 1..=64"));
        }
        let w = self.weights();
        if w.len() != k {
            return Err(Error::config(
                "mappo.critic_weights",
                format!("{w:?}"),
                format!("needs one weight per critic ({k})"),
            ));
        }
        let sum: f64 = w.iter().map(|&x| x as f64).sum();
        if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || (sum - 1.0).abs() > 1e-4 {
            return Err(Error::config("mappo.critic_weights", format!("{w:?}"), "must be >= 0 and sum to 1 (§V-B)"));
        }
        for (name, v) in [("actor_lr", self.actor_lr), ("critic_lr", self.critic_lr)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(format!("mappo.{name}"), v, "must be finite and > 0"));
            }
        }
        self.madqn.validate()?;
        if !(self.value_norm_beta > 0.0 && self.value_norm_beta < 1.0) {
            return Err(Error::config("mappo.value_norm_beta", self.value_norm_beta, "must be in (0, 1)"));
        }
        Ok(())
    }
}

/// MADQN's hyper-parameters (a TOML table `[mappo.madqn]`; the paper gives none of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MadqnConfig {
    /// Adam learning rate.
    pub lr: f32,
    /// Rounds of sequences the replay keeps (each round's B·N sequences of T slots).
    pub replay_rounds: usize,
    /// Sequences per minibatch.
    pub batch: usize,
    /// Adam steps per round.
    pub updates: usize,
    /// Rounds between copies of the online network into the target network.
    pub target_every: usize,
    /// ε at the first round.
    pub epsilon_start: f32,
    /// ε after `epsilon_rounds` rounds (and on).
    pub epsilon_end: f32,
    /// Rounds of the linear decay of ε.
    pub epsilon_rounds: usize,
    /// κ, the reward's scale in the target (the team reward (13) is O(100) per slot).
    pub reward_scale: f32,
    /// δ of the Huber loss.
    pub huber_delta: f32,
}

impl Default for MadqnConfig {
    fn default() -> Self {
        MadqnConfig {
            lr: 5e-4,
            replay_rounds: 8,
            batch: 64,
            updates: 4,
            target_every: 5,
            epsilon_start: 1.0,
            epsilon_end: 0.05,
            epsilon_rounds: 50,
            reward_scale: 0.01,
            huber_delta: 1.0,
        }
    }
}

impl MadqnConfig {
    /// Check every field (`mappo.madqn.` prefixed).
    pub fn validate(&self) -> Result<()> {
        let f = |x: &str| format!("mappo.madqn.{x}");
        for (name, v) in [
            ("replay_rounds", self.replay_rounds),
            ("batch", self.batch),
            ("updates", self.updates),
            ("target_every", self.target_every),
            ("epsilon_rounds", self.epsilon_rounds),
        ] {
            if v == 0 || v > 1 << 20 {
                return Err(Error::config(f(name), v, "must be in 1..=1048576"));
            }
        }
        for (name, v) in [("epsilon_start", self.epsilon_start), ("epsilon_end", self.epsilon_end)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::config(f(name), v, "must be in [0, 1]"));
            }
        }
        for (name, v) in [("lr", self.lr), ("reward_scale", self.reward_scale), ("huber_delta", self.huber_delta)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(f(name), v, "must be finite and > 0"));
            }
        }
        Ok(())
    }

    /// ε at round `r` (linear from `epsilon_start` to `epsilon_end` over `epsilon_rounds`).
    pub fn epsilon(&self, r: u64) -> f32 {
        let x = (r as f64 / self.epsilon_rounds as f64).min(1.0);
        (self.epsilon_start as f64 + (self.epsilon_end as f64 - self.epsilon_start as f64) * x) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_bad_fields() {
        let m = MappoConfig::default();
        assert_eq!((m.n_critics(), m.weights(), m.mixing()), (5, vec![0.2; 5], Mix::Likelihood));
        let v = MappoConfig::of(Method::Mappo);
        assert_eq!((v.n_critics(), v.mixing()), (1, Mix::None));
        m.validate().unwrap();
        let field = |c: MappoConfig| match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(MappoConfig { critic_weights: vec![0.5, 0.6, 0.0, 0.0, 0.0], ..m.clone() }),
            "mappo.critic_weights"
        );
        assert_eq!(field(MappoConfig { critic_weights: vec![1.0], ..m.clone() }), "mappo.critic_weights");
        assert_eq!(field(MappoConfig { chunk: 7, ..m.clone() }), "mappo.chunk");
        assert_eq!(field(MappoConfig { actor_lr: f32::NAN, ..m.clone() }), "mappo.actor_lr");
        let bad_ppo = PpoConfig { clip_eps: 0.0, ..m.ppo.clone() };
        assert_eq!(field(MappoConfig { ppo: bad_ppo, ..m }), "mappo.ppo.clip_eps");
    }
}
