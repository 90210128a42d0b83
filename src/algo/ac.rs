//! Actor-Critic, the first DRL baseline of DIRS (DIRS paper §VI, Table III): "the same state and a
//! continuous relaxation rounded to the nearest action". The paper gives no details; every choice
//! is a field of [`AcConfig`] (docs/ac_ddpg.md).
//!
//! Advantage actor-critic over B instances stepped together. The actor maps the state (the M
//! observation columns, [`super::mec_drl::state`]) to M+1 scores per IoTD; the scores are the
//! logits of a categorical policy per IoTD (the relaxation), sampled while training and rounded
//! to the nearest action (argmax) when evaluating. A decision does not change the next state
//! (the fading is redrawn i.i.d. and the layout is fixed), so the return is the immediate reward
//! and the critic V(s) is the value baseline of that reward:
//!   A_b = r_b − V(s_b),  L = −mean_{b,i} A_b·ln π(a_bi|s_b) − β_H·mean H(π(·|s_b)) + c_V·mean (V(s_b) − r_b)².
//! One Adam step per environment step (actor and critic, their own learning rates).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::agent::{check_env, Agent, Decisions, OnStep};
use super::mec_drl::{self as drl, Baseline, Learner, StepMetrics};
use super::state;
use crate::autograd::{Param, Tape};
use crate::backend::Backend;
use crate::env::mec::{MecConfig, MecEnv};
use crate::error::Result;
use crate::nn::checkpoint::Checkpoint;
use crate::nn::{Mlp, OptimConfig, Optimizer};
use crate::rng;
use crate::tensor::Tensor;

/// Actor-Critic settings (the paper gives none; defaults documented in docs/ac_ddpg.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcConfig {
    /// Master seed (environment, networks and sampling derive theirs from it).
    pub seed: u64,
    /// B, environment instances stepped together; each step is one on-policy batch of B.
    pub train_envs: usize,
    /// Training steps (one environment step and one update each).
    pub steps: usize,
    /// New layouts every `episode_steps` steps; 0 keeps one layout per instance (the paper's
    /// single scenario, as DIRS); the fading is redrawn every step either way.
    pub episode_steps: usize,
    /// Hidden widths of the actor (input M·N, output N·(M+1)).
    pub actor_hidden: Vec<usize>,
    /// Hidden widths of the critic (input M·N, output 1).
    pub critic_hidden: Vec<usize>,
    /// Hidden activation of both networks.
    pub activation: drl::Hidden,
    /// Adam learning rate of the actor.
    pub actor_lr: f64,
    /// Adam learning rate of the critic.
    pub critic_lr: f64,
    /// c_V, weight of the critic's squared error in the loss.
    pub value_coef: f64,
    /// β_H, weight of the policy entropy bonus (keeps exploring early).
    pub entropy_coef: f64,
    /// Scale of the reward signal r = −scale·ΣΦ/N.
    pub reward_scale: f64,
    /// Global gradient-norm clip of each network (0: none).
    pub max_grad_norm: f64,
}

impl Default for AcConfig {
    fn default() -> Self {
        AcConfig {
            seed: 1,
            train_envs: 32,
            steps: 2000,
            episode_steps: 0,
            actor_hidden: vec![128, 128],
            critic_hidden: vec![128, 128],
            activation: drl::Hidden::Relu,
            actor_lr: 1e-3,
            critic_lr: 1e-3,
            value_coef: 1.0,
            entropy_coef: 0.01,
            reward_scale: 1.0,
            max_grad_norm: 1.0,
        }
    }
}

impl AcConfig {
    /// Check every field; errors name the field (prefixed `ac.`) and the value.
    pub fn validate(&self) -> Result<()> {
        drl::check_count("ac.train_envs", self.train_envs)?;
        drl::check_count("ac.steps", self.steps)?;
        drl::check_hidden("ac.actor_hidden", &self.actor_hidden)?;
        drl::check_hidden("ac.critic_hidden", &self.critic_hidden)?;
        drl::check_range("ac.actor_lr", self.actor_lr, 1e-12, 1.0)?;
        drl::check_range("ac.critic_lr", self.critic_lr, 1e-12, 1.0)?;
        drl::check_range("ac.value_coef", self.value_coef, 0.0, 1e6)?;
        drl::check_range("ac.entropy_coef", self.entropy_coef, 0.0, 1e6)?;
        drl::check_positive("ac.reward_scale", self.reward_scale)?;
        drl::check_range("ac.max_grad_norm", self.max_grad_norm, 0.0, 1e12)
    }
}

/// Seed tags of the components.
const TAG_ACTOR: u64 = 0xAC01;
const TAG_CRITIC: u64 = 0xAC02;
const TAG_SAMPLE: u64 = 0xAC03;

/// The `format` of an Actor-Critic training checkpoint.
const FORMAT: &str = "mecrl-ac-training-state-1";

/// The host counters of an Actor-Critic checkpoint (metadata `state`; both optimizers step
/// once per training step, so the step count is all there is).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counters {
    step: usize,
}

/// The Actor-Critic learner and its training environment.
pub struct ActorCritic {
    core: Learner,
    cfg: AcConfig,
    actor: Mlp,
    critic: Mlp,
    actor_opt: Optimizer,
    critic_opt: Optimizer,
}

impl ActorCritic {
    /// Networks, optimizers and B training instances of `mec` on `be`.
    pub fn new(be: Arc<dyn Backend>, mec: &MecConfig, cfg: &AcConfig) -> Result<Self> {
        cfg.validate()?;
        mec.validate()?;
        let core = Learner::new(be.clone(), mec, cfg.train_envs, cfg.seed, cfg.episode_steps)?;
        let (n, m) = (mec.n_iotd, mec.n_mec);
        let sizes = |h: &[usize], out: usize| [&[m * n][..], h, &[out]].concat();
        let actor = Mlp::new(
            &be,
            &sizes(&cfg.actor_hidden, n * (m + 1)),
            1,
            cfg.activation.act(),
            None,
            rng::derive_seed(cfg.seed, TAG_ACTOR),
        )?
        .with_prefix("actor");
        let critic = Mlp::new(
            &be,
            &sizes(&cfg.critic_hidden, 1),
            1,
            cfg.activation.act(),
            None,
            rng::derive_seed(cfg.seed, TAG_CRITIC),
        )?
        .with_prefix("critic");
        let actor_opt = Optimizer::new(OptimConfig::adam(cfg.actor_lr as f32), &actor.params())?;
        let critic_opt = Optimizer::new(OptimConfig::adam(cfg.critic_lr as f32), &critic.params())?;
        Ok(ActorCritic { core, cfg: cfg.clone(), actor, critic, actor_opt, critic_opt })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.core.be
    }

    /// Every parameter (actor, then critic).
    pub fn params(&self) -> Vec<Param> {
        [self.actor.params(), self.critic.params()].concat()
    }

    /// x [B, M·N] → per-IoTD scores, [B, N·(M+1)] (input as [1, B, M·N] for the grouped Mlp).
    fn actor_scores(&self, tape: &Tape, s: &Tensor) -> Result<crate::autograd::Var> {
        let b = s.shape()[0];
        let x = tape.constant(&s.reshape(&[1, b, s.numel() / b])?);
        let y = self.actor.forward(tape, &x)?;
        tape.reshape(&y, &[b, y.value.numel() / b])
    }
}

impl Agent for ActorCritic {
    type Config = AcConfig;
    type Metrics = StepMetrics;

    fn config(&self) -> &AcConfig {
        &self.cfg
    }

    fn train(&mut self, log_every: usize, on_step: &mut OnStep<'_, Self>) -> Result<()> {
        drl::train(self, log_every, on_step)
    }

    /// Greedy decisions: the relaxation rounded to the nearest action.
    fn act(&self, env: &MecEnv) -> Result<Decisions> {
        check_env("ac", &self.core.mec, &self.core.be, env)?;
        let tape = Tape::no_grad(&self.core.be);
        let s = drl::state(env)?;
        let z = self.actor_scores(&tape, &s)?;
        let (n, m) = (self.core.mec.n_iotd, self.core.mec.n_mec);
        Ok(Decisions::Tensor(drl::round_scores(&tape, &z, env.batch() * n, m + 1)?))
    }

    /// Both networks with their optimizers' moments, and the step count.
    fn save(&self, path: &Path, run: &serde_json::Value) -> Result<()> {
        let mut c = Checkpoint::default();
        state::insert_trained(&mut c, &self.actor.params(), &self.actor_opt)?;
        state::insert_trained(&mut c, &self.critic.params(), &self.critic_opt)?;
        let k = Counters { step: self.core.step };
        state::save(path, c, FORMAT, &k, &self.core.fingerprint("ac", &self.cfg), run)
    }

    fn load(&mut self, path: &Path, run_config: &serde_json::Value) -> Result<serde_json::Value> {
        let fingerprint = self.core.fingerprint("ac", &self.cfg);
        let state::Loaded { c, state: k, data } =
            state::load::<Counters>(path, FORMAT, "Actor-Critic", &fingerprint, run_config)?;
        if k.step > self.cfg.steps {
            return Err(state::bad(path, format!("step {} beyond ac.steps = {}", k.step, self.cfg.steps)));
        }
        state::restore_trained(&c, path, &self.actor.params(), &self.actor_opt)?;
        state::restore_trained(&c, path, &self.critic.params(), &self.critic_opt)?;
        self.actor_opt.set_steps(k.step as u32);
        self.critic_opt.set_steps(k.step as u32);
        self.core.seek(k.step)?;
        Ok(data)
    }
}

impl Baseline for ActorCritic {
    /// Act on the B training instances (sampled actions), update actor and critic, advance the
    /// environment.
    fn train_step(&mut self, log: bool) -> Result<Option<StepMetrics>> {
        let (b, n, m) = (self.cfg.train_envs, self.core.mec.n_iotd, self.core.mec.n_mec);
        let be = self.core.be.clone();
        let s = drl::state(&self.core.env)?;
        let tape = Tape::new(&be);
        let z = self.actor_scores(&tape, &s)?;
        let zr = tape.reshape(&z, &[b * n, m + 1])?;
        let logp = tape.log_softmax(&zr, None)?;
        let a = tape.sample(&logp, rng::derive_seed(self.cfg.seed, TAG_SAMPLE), self.core.step as u32)?;
        let r = drl::reward_signal(&self.core.env, a.buffer(), self.cfg.reward_scale as f32)?;
        // Critic V(s) [B] and the advantage A = r − V(s) (constant for the actor).
        let v = self.critic.forward(&tape, &tape.constant(&s.reshape(&[1, b, m * n])?))?;
        let v = tape.reshape(&v, &[b])?;
        let adv = Tensor::zeros(&be, &[b])?;
        drl::scale_acc(&*be, r.buffer(), adv.buffer(), 1.0, b)?;
        drl::scale_acc(&*be, v.value.buffer(), adv.buffer(), -1.0, b)?;
        let adv_bn = drl::broadcast_rows(&be, &adv, n)?;
        // −mean A·ln π(a): the PPO surrogate at ρ = 1 (old = current) has exactly this gradient.
        let lp_a = tape.gather(&logp, &a)?;
        let old = drl::detach(&lp_a.value)?;
        let pg = tape.ppo_clip(&lp_a, &old, &adv_bn, 0.2)?;
        let ent = tape.mean(&tape.entropy(&logp)?)?;
        let actor_loss = tape.add_scaled(&pg, 1.0, &ent, -(self.cfg.entropy_coef as f32))?;
        let vloss = tape.mse(&v, &tape.constant(&r))?;
        let loss = tape.add_scaled(&actor_loss, 1.0, &vloss, self.cfg.value_coef as f32)?;
        self.actor_opt.zero_grad()?;
        self.critic_opt.zero_grad()?;
        tape.backward(&loss)?;
        if self.cfg.max_grad_norm > 0.0 {
            self.actor_opt.clip_grad_norm(self.cfg.max_grad_norm as f32)?;
            self.critic_opt.clip_grad_norm(self.cfg.max_grad_norm as f32)?;
        }
        self.actor_opt.step()?;
        self.critic_opt.step()?;
        let met = if log { Some(drl::metrics_of(&self.core.env, a.buffer(), self.core.step)?) } else { None };
        self.core.advance()?;
        self.core.step += 1;
        Ok(met)
    }

    fn steps_done(&self) -> usize {
        self.core.step
    }

    fn steps(&self) -> usize {
        self.cfg.steps
    }

    fn heldout_env(&self, batch: usize) -> Result<MecEnv> {
        self.core.heldout_env(batch)
    }
}
