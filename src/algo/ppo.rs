//! The PPO update shared by every on-policy learner (MRLCO eq. 16–20; mixed MAPPO and O2O's
//! online phase reuse it): epochs × minibatches of environments drawn from a [`Rollout`],
//! each minibatch one forward of the policy on the tape, the fused objective
//! ([`Tape::ppo_objective`]: clipped surrogate, value loss with c1, entropy bonus, advantages
//! normalized per minibatch), backward, optional global gradient-norm clipping and one
//! optimizer step. Everything stays on the device; the statistics of every minibatch are read
//! back once, at the end of the update.

use serde::{Deserialize, Serialize};

use super::gae::Returns;
use super::rollout::Rollout;
use crate::autograd::{Param, PpoTargets, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::optim::Optimizer;
use crate::ops::ppo::{PpoLossParams, Stat, STATS};
use crate::rng;

/// PPO hyper-parameters (a TOML table `[ppo]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpoConfig {
    /// ε of the clipped surrogate (eq. 16; MRLCO 0.2).
    pub clip_eps: f32,
    /// c1, the weight of the value loss (eq. 20; MRLCO 0.5).
    pub value_coef: f32,
    /// c2, the weight of the entropy bonus (MRLCO: none, 0).
    pub entropy_coef: f32,
    /// Clip the value around the rollout's value by this much (PPO2); 0 = plain squared error.
    pub value_clip: f32,
    /// γ of GAE and the returns (MRLCO 0.99).
    pub gamma: f32,
    /// λ of GAE (MRLCO 0.95).
    pub lambda: f32,
    /// Value targets: `lambda` (A + V) or `discounted` (MRLCO eq. 19).
    pub returns: Returns,
    /// Normalize the advantages over each minibatch (weighted mean 0, std 1).
    pub norm_adv: bool,
    /// Passes over the rollout per update.
    pub epochs: usize,
    /// Minibatches per epoch (environments split evenly after a shuffle; 1 = the whole rollout).
    pub minibatches: usize,
    /// Global gradient-norm clip; 0 = none.
    pub max_grad_norm: f32,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            clip_eps: 0.2,
            value_coef: 0.5,
            entropy_coef: 0.0,
            value_clip: 0.0,
            gamma: 0.99,
            lambda: 0.95,
            returns: Returns::Discounted,
            norm_adv: true,
            epochs: 1,
            minibatches: 1,
            max_grad_norm: 0.0,
        }
    }
}

impl PpoConfig {
    /// Check every field (names prefixed `prefix.`, e.g. `ppo`).
    pub fn validate(&self, prefix: &str) -> Result<()> {
        let f = |x: &str| format!("{prefix}.{x}");
        if !(self.clip_eps > 0.0 && self.clip_eps < 1.0) {
            return Err(Error::config(f("clip_eps"), self.clip_eps, "must be in (0, 1)"));
        }
        for (name, v) in [
            ("value_coef", self.value_coef),
            ("entropy_coef", self.entropy_coef),
            ("value_clip", self.value_clip),
            ("max_grad_norm", self.max_grad_norm),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(f(name), v, "must be finite and >= 0"));
            }
        }
        for (name, v) in [("gamma", self.gamma), ("lambda", self.lambda)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::config(f(name), v, "must be in [0, 1]"));
            }
        }
        for (name, v) in [("epochs", self.epochs), ("minibatches", self.minibatches)] {
            if v == 0 || v > 1 << 16 {
                return Err(Error::config(f(name), v, "must be in 1..=65536"));
            }
        }
        Ok(())
    }

    fn loss_params(&self, n: usize) -> PpoLossParams {
        PpoLossParams {
            n: n as u32,
            norm_adv: self.norm_adv as u32,
            clip_eps: self.clip_eps,
            value_coef: self.value_coef,
            entropy_coef: self.entropy_coef,
            clip_value: self.value_clip,
            ..Default::default()
        }
    }
}

/// What a policy gives the update for the samples of a rollout (N = T·E each, in the
/// rollout's [T, E] order).
pub struct Evaluated {
    /// log π(a|s) of the stored actions.
    pub logp: Var,
    /// Entropy of π(·|s).
    pub entropy: Var,
    /// V(s).
    pub value: Var,
}

/// A policy the PPO update can train: it re-evaluates a rollout's stored actions on a tape.
pub trait PpoPolicy {
    /// The trainable parameters.
    fn params(&self) -> Vec<Param>;
    /// log-probabilities, entropies and values of `r`'s samples, recorded on `tape`.
    fn evaluate(&self, tape: &Tape, r: &Rollout) -> Result<Evaluated>;
}

/// The statistics of one update: means over its minibatches (explained variance over the
/// first epoch's, before the policy moved).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PpoStats {
    /// The loss.
    pub loss: f32,
    /// The surrogate's part.
    pub policy_loss: f32,
    /// The value loss.
    pub value_loss: f32,
    /// The mean entropy.
    pub entropy: f32,
    /// Approximate KL(π_old ‖ π).
    pub approx_kl: f32,
    /// Share of clipped samples.
    pub clip_frac: f32,
    /// Explained variance of the returns by the rollout's values.
    pub explained_var: f32,
    /// Optimizer steps taken.
    pub steps: u32,
}

/// The environments of each minibatch of one epoch: a Philox shuffle of 0..E under
/// (`seed`, `round`, `epoch`) cut into `k` nearly equal parts (one part, in order, when k = 1).
pub fn minibatches(envs: usize, k: usize, seed: u64, round: u32, epoch: u32) -> Vec<Vec<u32>> {
    let mut idx: Vec<u32> = (0..envs as u32).collect();
    if k <= 1 {
        return vec![idx];
    }
    let key = rng::key_of(seed);
    for i in (1..envs).rev() {
        let w = rng::philox4x32_10([i as u32, round, epoch, rng::stream::PPO], key)[0];
        idx.swap(i, rng::uniform_index(w, i as u32 + 1) as usize);
    }
    let k = k.min(envs);
    (0..k).map(|j| idx[j * envs / k..(j + 1) * envs / k].to_vec()).collect()
}

/// One PPO update of `policy` with `opt` from rollout `r` (its advantages already computed):
/// `cfg.epochs` × `cfg.minibatches` optimizer steps. `seed` and `round` key the shuffles.
pub fn update(
    cfg: &PpoConfig,
    policy: &dyn PpoPolicy,
    opt: &mut Optimizer,
    r: &Rollout,
    seed: u64,
    round: u32,
) -> Result<PpoStats> {
    cfg.validate("ppo")?;
    let mut stats = Vec::with_capacity(cfg.epochs * cfg.minibatches);
    for epoch in 0..cfg.epochs {
        for cols in minibatches(r.shape.envs, cfg.minibatches, seed, round, epoch as u32) {
            let sub;
            let mb = if cols.len() == r.shape.envs && cfg.minibatches == 1 {
                r
            } else {
                sub = r.columns(&cols)?;
                &sub
            };
            let tape = Tape::new(r.backend());
            let ev = policy.evaluate(&tape, mb)?;
            let n = mb.shape.steps * mb.shape.envs;
            let t =
                PpoTargets { old_logp: &mb.logp, old_value: &mb.value, adv: &mb.adv, ret: &mb.ret, weight: &mb.weight };
            let flat = |v: &Var| tape.reshape(v, &[n]);
            let (loss, st) =
                tape.ppo_objective(&flat(&ev.logp)?, &flat(&ev.entropy)?, &flat(&ev.value)?, &t, &cfg.loss_params(n))?;
            opt.zero_grad()?;
            tape.backward(&loss)?;
            if cfg.max_grad_norm > 0.0 {
                opt.clip_grad_norm(cfg.max_grad_norm)?;
            }
            opt.step()?;
            stats.push((epoch, st));
        }
    }
    let mut out = PpoStats { steps: stats.len() as u32, ..Default::default() };
    let (mut ev_sum, mut ev_n) = (0.0f32, 0u32);
    for (epoch, st) in &stats {
        let s = st.to_vec()?;
        debug_assert_eq!(s.len(), STATS);
        let g = |k: Stat| s[k as usize];
        out.loss += g(Stat::Loss);
        out.policy_loss += g(Stat::Policy);
        out.value_loss += g(Stat::Value);
        out.entropy += g(Stat::Entropy);
        out.approx_kl += g(Stat::ApproxKl);
        out.clip_frac += g(Stat::ClipFrac);
        if *epoch == 0 {
            ev_sum += g(Stat::ExplainedVar);
            ev_n += 1;
        }
    }
    let k = stats.len().max(1) as f32;
    for v in [
        &mut out.loss,
        &mut out.policy_loss,
        &mut out.value_loss,
        &mut out.entropy,
        &mut out.approx_kl,
        &mut out.clip_frac,
    ] {
        *v /= k;
    }
    out.explained_var = ev_sum / ev_n.max(1) as f32;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minibatches_cover_every_environment_once() {
        let parts = minibatches(10, 3, 7, 1, 0);
        assert_eq!(parts.len(), 3);
        let mut all: Vec<u32> = parts.concat();
        assert_ne!(all, (0..10).collect::<Vec<_>>(), "shuffled");
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(minibatches(4, 1, 7, 1, 0), vec![vec![0, 1, 2, 3]]);
        assert_ne!(minibatches(10, 2, 7, 1, 0), minibatches(10, 2, 7, 1, 1), "each epoch its own shuffle");
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = PpoConfig { clip_eps: 1.5, ..Default::default() };
        assert!(matches!(bad.validate("ppo"), Err(Error::Config { field, .. }) if field == "ppo.clip_eps"));
        let bad = PpoConfig { epochs: 0, ..Default::default() };
        assert!(
            matches!(bad.validate("mrlco.inner"), Err(Error::Config { field, .. }) if field == "mrlco.inner.epochs")
        );
        let bad = PpoConfig { value_coef: f32::NAN, ..Default::default() };
        assert!(matches!(bad.validate("ppo"), Err(Error::Config { field, .. }) if field == "ppo.value_coef"));
    }
}
