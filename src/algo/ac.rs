//! Actor-Critic, the first DRL baseline of DIRS (seed 000 §VI, Table III): "the same state and a
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

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::mec_drl::{self as drl, EvalReport, StepMetrics, TrainReport};
use crate::autograd::{Param, Tape};
use crate::backend::Backend;
use crate::env::mec::{MecConfig, MecEnv};
use crate::error::{Error, Result};
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

/// The Actor-Critic learner and its training environment.
pub struct ActorCritic {
    be: Arc<dyn Backend>,
    cfg: AcConfig,
    mec: MecConfig,
    env: MecEnv,
    actor: Mlp,
    critic: Mlp,
    actor_opt: Optimizer,
    critic_opt: Optimizer,
    step: usize,
}

impl ActorCritic {
    /// Networks, optimizers and B training instances of `mec` on `be`.
    pub fn new(be: Arc<dyn Backend>, mec: &MecConfig, cfg: &AcConfig) -> Result<Self> {
        cfg.validate()?;
        mec.validate()?;
        let (n, m) = (mec.n_iotd, mec.n_mec);
        let env = MecEnv::new(be.clone(), mec, cfg.train_envs, rng::derive_seed(cfg.seed, drl::TAG_ENV))?;
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
        Ok(ActorCritic { be, cfg: cfg.clone(), mec: mec.clone(), env, actor, critic, actor_opt, critic_opt, step: 0 })
    }

    /// The config.
    pub fn config(&self) -> &AcConfig {
        &self.cfg
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.be
    }

    /// Every parameter (actor, then critic).
    pub fn params(&self) -> Vec<Param> {
        [self.actor.params(), self.critic.params()].concat()
    }

    /// Training steps taken.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The seed of the training environment (held-out states use the same layouts).
    pub fn env_seed(&self) -> u64 {
        rng::derive_seed(self.cfg.seed, drl::TAG_ENV)
    }

    /// Held-out states for evaluation: the training layouts, channel states after the ones
    /// trained on (or the next episode's layouts with `episode_steps` > 0); B ≤ `train_envs`
    /// shares the training instances' layouts.
    pub fn heldout_env(&self, batch: usize) -> Result<MecEnv> {
        drl::heldout_env(self.be.clone(), &self.mec, batch, self.env_seed(), self.step, self.cfg.episode_steps)
    }

    /// x [B, M·N] → per-IoTD scores, [B, N·(M+1)] (input as [1, B, M·N] for the grouped Mlp).
    fn actor_scores(&self, tape: &Tape, s: &Tensor) -> Result<crate::autograd::Var> {
        let b = s.shape()[0];
        let x = tape.constant(&s.reshape(&[1, b, s.numel() / b])?);
        let y = self.actor.forward(tape, &x)?;
        tape.reshape(&y, &[b, y.value.numel() / b])
    }

    /// Greedy decisions [B, N] on the current state of `env` (the relaxation rounded to the
    /// nearest action), on the device.
    pub fn decide(&self, env: &MecEnv) -> Result<drl::Decisions> {
        self.check_env(env)?;
        let tape = Tape::no_grad(&self.be);
        let s = drl::state(env)?;
        let z = self.actor_scores(&tape, &s)?;
        let a = drl::round_scores(&tape, &z, env.batch() * self.mec.n_iotd, self.mec.n_mec + 1)?;
        Ok(drl::Decisions::Tensor(a))
    }

    fn check_env(&self, env: &MecEnv) -> Result<()> {
        let c = env.config();
        if c.n_iotd != self.mec.n_iotd || c.n_mec != self.mec.n_mec {
            return Err(Error::shape(
                "ac env",
                format!("N = {}, M = {}", self.mec.n_iotd, self.mec.n_mec),
                format!("N = {}, M = {}", c.n_iotd, c.n_mec),
            ));
        }
        if env.backend().kind() != self.be.kind() {
            return Err(Error::device(
                self.be.kind().to_string(),
                format!("the environment lives on {}", env.backend().kind()),
            ));
        }
        Ok(())
    }

    /// One training step: act on the B training instances (sampled actions), update actor and
    /// critic, advance the environment. Launches kernels only; with `log` it then reads the
    /// step's metrics (downloads).
    pub fn train_step(&mut self, log: bool) -> Result<Option<StepMetrics>> {
        let (b, n, m) = (self.cfg.train_envs, self.mec.n_iotd, self.mec.n_mec);
        let s = drl::state(&self.env)?;
        let tape = Tape::new(&self.be);
        let z = self.actor_scores(&tape, &s)?;
        let zr = tape.reshape(&z, &[b * n, m + 1])?;
        let logp = tape.log_softmax(&zr, None)?;
        let a = tape.sample(&logp, rng::derive_seed(self.cfg.seed, TAG_SAMPLE), self.step as u32)?;
        let r = drl::reward_signal(&self.env, a.buffer(), self.cfg.reward_scale as f32)?;
        // Critic V(s) [B] and the advantage A = r − V(s) (constant for the actor).
        let v = self.critic.forward(&tape, &tape.constant(&s.reshape(&[1, b, m * n])?))?;
        let v = tape.reshape(&v, &[b])?;
        let adv = Tensor::zeros(&self.be, &[b])?;
        drl::scale_acc(&*self.be, r.buffer(), adv.buffer(), 1.0, b)?;
        drl::scale_acc(&*self.be, v.value.buffer(), adv.buffer(), -1.0, b)?;
        let adv_bn = drl::broadcast_rows(&self.be, &adv, n)?;
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
        let met = if log { Some(drl::metrics_of(&self.env, a.buffer(), self.step)?) } else { None };
        drl::advance(&mut self.env, self.step, self.cfg.episode_steps)?;
        self.step += 1;
        Ok(met)
    }

    /// `cfg.steps` training steps; metrics every `log_every` steps (0: none). `on_step` is called
    /// after every step (a progress bar).
    pub fn train(&mut self, log_every: usize, on_step: &mut dyn FnMut(usize)) -> Result<TrainReport> {
        let t0 = Instant::now();
        let mut rep = TrainReport::default();
        for k in 0..self.cfg.steps {
            let log = log_every > 0 && (k % log_every == 0 || k + 1 == self.cfg.steps);
            if let Some(mt) = self.train_step(log)? {
                rep.metrics.push(mt);
            }
            on_step(k);
        }
        self.be.sync()?;
        rep.wall_s = t0.elapsed().as_secs_f64();
        rep.steps = self.cfg.steps;
        Ok(rep)
    }

    /// Greedy decisions on `steps` consecutive states of `env` (advanced), with the inference time.
    pub fn evaluate(&self, env: &mut MecEnv, steps: usize) -> Result<EvalReport> {
        drl::evaluate_with(env, steps, true, &mut |e| self.decide(e))
    }
}
