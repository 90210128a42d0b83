//! DDPG, the second DRL baseline of DIRS (DIRS paper §VI, Table III): "the same state and a
//! continuous relaxation rounded to the nearest action". The paper gives no details; every choice
//! is a field of [`DdpgConfig`] (docs/ac_ddpg.md).
//!
//! Deterministic actor μ(s) = tanh(MLP(s)) ∈ [−1, 1]^{N(M+1)} (M+1 scores per IoTD), Gaussian
//! exploration x = μ(s) + σ·ε, the decision a_i = argmax_j x_ij (the nearest one-hot vertex,
//! [`super::mec_drl`]); a critic Q(s, x) whose first layer is W_s s + W_x x + b; target networks
//! μ', Q' with soft updates θ' ← τθ + (1 − τ)θ'; a uniform replay memory on the device.
//!   critic: min mean (Q(s, x) − y)², y = r + γ·Q'(s', μ'(s'));  actor: max mean Q(s, μ(s)).
//! A decision does not change the next state (i.i.d. fading, fixed layout), so γ = 0 is the
//! default (y = r): the targets then only matter with `gamma` > 0.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::agent::{check_env, Agent, Decisions, OnStep};
use super::mec_drl::{self as drl, Baseline, Learner, StepMetrics};
use super::state;
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::env::mec::{MecConfig, MecEnv};
use crate::error::{Error, Result};
use crate::nn::checkpoint::Checkpoint;
use crate::nn::{init, Mlp, OptimConfig, Optimizer};
use crate::ops::act::Act;
use crate::ops::elementwise::AxpbyParams;
use crate::ops::elementwise::AXPBY;
use crate::rng;
use crate::tensor::{DType, Tensor};

/// DDPG settings (the paper gives none; defaults documented in docs/ac_ddpg.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DdpgConfig {
    /// Master seed (environment, networks, noise and replay sampling derive theirs from it).
    pub seed: u64,
    /// B, environment instances stepped together (B transitions per step).
    pub train_envs: usize,
    /// Training steps (one environment step each).
    pub steps: usize,
    /// New layouts every `episode_steps` steps; 0 keeps one layout per instance (as DIRS).
    pub episode_steps: usize,
    /// Hidden widths of the actor (input M·N, output N·(M+1), tanh).
    pub actor_hidden: Vec<usize>,
    /// Hidden widths of the critic (input M·N + N·(M+1), output 1).
    pub critic_hidden: Vec<usize>,
    /// Hidden activation of both networks.
    pub activation: drl::Hidden,
    /// Adam learning rate of the actor.
    pub actor_lr: f64,
    /// Adam learning rate of the critic.
    pub critic_lr: f64,
    /// γ, discount of the bootstrap Q'(s', μ'(s')).
    pub gamma: f64,
    /// τ, soft update rate of the target networks.
    pub tau: f64,
    /// σ of the Gaussian exploration noise at the first step.
    pub noise_std: f64,
    /// σ at the last step (linear decay from `noise_std`).
    pub noise_std_final: f64,
    /// Replay memory capacity (transitions; the oldest are overwritten).
    pub replay_capacity: usize,
    /// Minibatch size K.
    pub minibatch: usize,
    /// Transitions stored before the first update.
    pub learn_start: usize,
    /// Updates (critic, actor, targets) per environment step.
    pub updates_per_step: usize,
    /// Scale of the reward signal r = −scale·ΣΦ/N.
    pub reward_scale: f64,
    /// Global gradient-norm clip of each network (0: none).
    pub max_grad_norm: f64,
}

impl Default for DdpgConfig {
    fn default() -> Self {
        DdpgConfig {
            seed: 1,
            train_envs: 16,
            steps: 2000,
            episode_steps: 0,
            actor_hidden: vec![128, 128],
            critic_hidden: vec![128, 128],
            activation: drl::Hidden::Relu,
            actor_lr: 1e-4,
            critic_lr: 3e-4,
            gamma: 0.0,
            tau: 0.005,
            noise_std: 0.3,
            noise_std_final: 0.05,
            replay_capacity: 20_000,
            minibatch: 64,
            learn_start: 256,
            updates_per_step: 4,
            reward_scale: 1.0,
            max_grad_norm: 1.0,
        }
    }
}

impl DdpgConfig {
    /// Check every field; errors name the field (prefixed `ddpg.`) and the value.
    pub fn validate(&self) -> Result<()> {
        drl::check_count("ddpg.train_envs", self.train_envs)?;
        drl::check_count("ddpg.steps", self.steps)?;
        drl::check_hidden("ddpg.actor_hidden", &self.actor_hidden)?;
        drl::check_hidden("ddpg.critic_hidden", &self.critic_hidden)?;
        drl::check_range("ddpg.actor_lr", self.actor_lr, 1e-12, 1.0)?;
        drl::check_range("ddpg.critic_lr", self.critic_lr, 1e-12, 1.0)?;
        drl::check_range("ddpg.gamma", self.gamma, 0.0, 0.999)?;
        drl::check_range("ddpg.tau", self.tau, 1e-9, 1.0)?;
        drl::check_range("ddpg.noise_std", self.noise_std, 0.0, 1e3)?;
        drl::check_range("ddpg.noise_std_final", self.noise_std_final, 0.0, 1e3)?;
        drl::check_count("ddpg.minibatch", self.minibatch)?;
        drl::check_count("ddpg.updates_per_step", self.updates_per_step)?;
        drl::check_positive("ddpg.reward_scale", self.reward_scale)?;
        drl::check_range("ddpg.max_grad_norm", self.max_grad_norm, 0.0, 1e12)?;
        if self.replay_capacity < self.train_envs.max(self.minibatch) {
            return Err(Error::config(
                "ddpg.replay_capacity",
                self.replay_capacity,
                format!("must hold at least one step ({}) and one minibatch ({})", self.train_envs, self.minibatch),
            ));
        }
        if self.learn_start < self.minibatch || self.learn_start > self.replay_capacity {
            return Err(Error::config(
                "ddpg.learn_start",
                self.learn_start,
                format!("must be in [minibatch = {}, replay_capacity = {}]", self.minibatch, self.replay_capacity),
            ));
        }
        Ok(())
    }
}

const TAG_ACTOR: u64 = 0xDD01;
const TAG_CRITIC: u64 = 0xDD02;
const TAG_NOISE: u64 = 0xDD03;
const TAG_REPLAY: u64 = 0xDD04;
/// Philox stream word of the exploration noise and of the replay indices (own derived keys).
const STREAM_NOISE: u32 = 0xDD;
const STREAM_REPLAY: u32 = 0xDE;

/// Q(s, x): first layer W_s·s + W_x·x + b, then an MLP to one value.
struct Critic {
    ws: Param,
    wx: Param,
    b: Param,
    rest: Mlp,
    act: Act,
}

impl Critic {
    fn new(be: &Arc<dyn Backend>, s: usize, x: usize, hidden: &[usize], act: Act, seed: u64) -> Result<Self> {
        let h = hidden[0];
        // Xavier over the concatenated input (fan-in s + x), as one layer on [s; x] would be.
        let w = init::xavier_uniform(seed, 100, s + x, h, (s + x) * h);
        let ws = Param::new("critic.in.ws", Tensor::from_f32(be, &[s, h], &w[..s * h])?)?;
        let wx = Param::new("critic.in.wx", Tensor::from_f32(be, &[x, h], &w[s * h..])?)?;
        let b = Param::new("critic.in.bias", Tensor::zeros(be, &[h])?)?;
        let sizes = [hidden, &[1]].concat();
        let rest = Mlp::new(be, &sizes, 1, act, None, seed)?.with_prefix("critic");
        Ok(Critic { ws, wx, b, rest, act })
    }

    fn params(&self) -> Vec<Param> {
        [vec![self.ws.clone(), self.wx.clone(), self.b.clone()], self.rest.params()].concat()
    }

    /// s [K, S], x [K, X] → Q [K].
    fn forward(&self, tape: &Tape, s: &Var, x: &Var) -> Result<Var> {
        let k = s.shape()[0];
        let hs = tape.linear(s, &tape.param(&self.ws), None)?;
        let hx = tape.linear(x, &tape.param(&self.wx), Some(&tape.param(&self.b)))?;
        let h = tape.act(&tape.add_scaled(&hs, 1.0, &hx, 1.0)?, self.act)?;
        let h = tape.reshape(&h, &[1, k, h.value.numel() / k])?;
        let q = self.rest.forward(tape, &h)?;
        tape.reshape(&q, &[k])
    }
}

/// The uniform replay memory: device rings of (s, x, r, s').
struct Ring {
    s: Tensor,
    x: Tensor,
    r: Tensor,
    s2: Tensor,
    cap: usize,
    len: usize,
    pos: usize,
}

impl Ring {
    fn push(&mut self, be: &dyn Backend, s: &Tensor, x: &Tensor, r: &Tensor, s2: &Tensor, rows: usize) -> Result<()> {
        let (ds, dx) = (s.numel() / rows, x.numel() / rows);
        let mut done = 0;
        while done < rows {
            let n = (rows - done).min(self.cap - self.pos);
            for (src, dst, w) in [(s, &self.s, ds), (x, &self.x, dx), (r, &self.r, 1), (s2, &self.s2, ds)] {
                drl::copy_words(be, src.buffer(), done * w, dst.buffer(), self.pos * w, n * w)?;
            }
            self.pos = (self.pos + n) % self.cap;
            done += n;
        }
        self.len = (self.len + rows).min(self.cap);
        Ok(())
    }
}

/// The `format` of a DDPG training checkpoint.
const FORMAT: &str = "mecrl-ddpg-training-state-1";

/// The host counters of a DDPG checkpoint (metadata `state`): the steps (the exploration
/// noise's counter; the replay memory's fill follows from it) and the updates (the minibatch
/// draws' counter and both optimizers' step count).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counters {
    step: usize,
    updates: usize,
}

/// The DDPG learner and its training environment.
pub struct Ddpg {
    core: Learner,
    cfg: DdpgConfig,
    actor: Mlp,
    critic: Critic,
    actor_t: Mlp,
    critic_t: Critic,
    actor_opt: Optimizer,
    critic_opt: Optimizer,
    ring: Ring,
    neg_one: Tensor,
    updates: usize,
}

impl Ddpg {
    /// Networks (targets start as copies), optimizers, replay memory and B training instances.
    pub fn new(be: Arc<dyn Backend>, mec: &MecConfig, cfg: &DdpgConfig) -> Result<Self> {
        cfg.validate()?;
        mec.validate()?;
        let (n, m) = (mec.n_iotd, mec.n_mec);
        let (sd, xd) = (m * n, n * (m + 1));
        let core = Learner::new(be.clone(), mec, cfg.train_envs, cfg.seed, cfg.episode_steps)?;
        let act = cfg.activation.act();
        let asizes = [&[sd][..], &cfg.actor_hidden, &[xd]].concat();
        let (aseed, cseed) = (rng::derive_seed(cfg.seed, TAG_ACTOR), rng::derive_seed(cfg.seed, TAG_CRITIC));
        // The same seeds give the targets the same initial weights.
        let actor = Mlp::new(&be, &asizes, 1, act, Some(Act::Tanh), aseed)?.with_prefix("actor");
        let actor_t = Mlp::new(&be, &asizes, 1, act, Some(Act::Tanh), aseed)?.with_prefix("actor_target");
        let critic = Critic::new(&be, sd, xd, &cfg.critic_hidden, act, cseed)?;
        let critic_t = Critic::new(&be, sd, xd, &cfg.critic_hidden, act, cseed)?;
        let actor_opt = Optimizer::new(OptimConfig::adam(cfg.actor_lr as f32), &actor.params())?;
        let critic_opt = Optimizer::new(OptimConfig::adam(cfg.critic_lr as f32), &critic.params())?;
        let c = cfg.replay_capacity;
        let ring = Ring {
            s: Tensor::zeros(&be, &[c, sd])?,
            x: Tensor::zeros(&be, &[c, xd])?,
            r: Tensor::zeros(&be, &[c])?,
            s2: Tensor::zeros(&be, &[c, sd])?,
            cap: c,
            len: 0,
            pos: 0,
        };
        let neg_one = Tensor::from_f32(&be, &[1, 1], &[-1.0])?;
        Ok(Ddpg {
            core,
            cfg: cfg.clone(),
            actor,
            critic,
            actor_t,
            critic_t,
            actor_opt,
            critic_opt,
            ring,
            neg_one,
            updates: 0,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.core.be
    }

    /// Every trained parameter (actor, then critic; targets not included).
    pub fn params(&self) -> Vec<Param> {
        [self.actor.params(), self.critic.params()].concat()
    }

    /// Every target-network parameter (actor', then critic').
    pub fn target_params(&self) -> Vec<Param> {
        [self.actor_t.params(), self.critic_t.params()].concat()
    }

    /// Updates taken (critic + actor + targets).
    pub fn updates_done(&self) -> usize {
        self.updates
    }

    /// Transitions in the replay memory.
    pub fn replay_len(&self) -> usize {
        self.ring.len
    }

    fn mu(&self, net: &Mlp, tape: &Tape, s: &Tensor) -> Result<Var> {
        let b = s.shape()[0];
        let y = net.forward(tape, &tape.constant(&s.reshape(&[1, b, s.numel() / b])?))?;
        tape.reshape(&y, &[b, y.value.numel() / b])
    }

    /// σ at step t: linear from `noise_std` to `noise_std_final` over the run.
    fn sigma(&self) -> f32 {
        let f = if self.cfg.steps > 1 { (self.core.step as f64 / (self.cfg.steps - 1) as f64).min(1.0) } else { 1.0 };
        (self.cfg.noise_std + (self.cfg.noise_std_final - self.cfg.noise_std) * f) as f32
    }

    /// Minibatch indices, uniform over the stored transitions (host Philox, uploaded).
    fn indices(&self) -> Result<Tensor> {
        let key = rng::key_of(rng::derive_seed(self.cfg.seed, TAG_REPLAY));
        let len = self.ring.len as u64;
        let idx: Vec<u32> = (0..self.cfg.minibatch as u32)
            .map(|k| {
                let w = rng::philox4x32_10([k, self.updates as u32, 0, STREAM_REPLAY], key);
                (((w[0] as u64) << 32 | w[1] as u64) % len) as u32
            })
            .collect();
        Tensor::from_u32(&self.core.be, &[idx.len()], &idx)
    }

    /// One update: critic regression to y, actor ascent on Q(s, μ(s)), soft target update.
    fn update(&mut self) -> Result<()> {
        let k = self.cfg.minibatch;
        let nt = Tape::no_grad(&self.core.be);
        // Rows of the ring by one-hot products: onehot [K, C] · ring [C, D].
        let oh = nt.constant(&nt.one_hot(&self.indices()?, self.ring.cap)?);
        let rows = |t: &Tensor, d: usize| -> Result<Tensor> {
            Ok(nt.linear(&oh, &nt.constant(&t.reshape(&[self.ring.cap, d])?), None)?.value)
        };
        let sd = self.ring.s.shape()[1];
        let xd = self.ring.x.shape()[1];
        let (s, x, r) = (rows(&self.ring.s, sd)?, rows(&self.ring.x, xd)?, rows(&self.ring.r, 1)?);
        let y = if self.cfg.gamma > 0.0 {
            let s2 = rows(&self.ring.s2, sd)?;
            let mu2 = self.mu(&self.actor_t, &nt, &s2)?;
            let q2 = self.critic_t.forward(&nt, &nt.constant(&s2), &mu2)?;
            nt.add_scaled(&nt.constant(&r.reshape(&[k])?), 1.0, &q2, self.cfg.gamma as f32)?.value
        } else {
            r.reshape(&[k])?
        };
        // Critic.
        let tape = Tape::new(&self.core.be);
        let q = self.critic.forward(&tape, &tape.constant(&s), &tape.constant(&x))?;
        let closs = tape.mse(&q, &tape.constant(&y))?;
        self.critic_opt.zero_grad()?;
        tape.backward(&closs)?;
        if self.cfg.max_grad_norm > 0.0 {
            self.critic_opt.clip_grad_norm(self.cfg.max_grad_norm as f32)?;
        }
        self.critic_opt.step()?;
        // Actor: minimize −mean Q(s, μ(s)); the critic's gradients from this pass are discarded
        // (zeroed before its next update).
        let tape = Tape::new(&self.core.be);
        let mu = self.mu(&self.actor, &tape, &s)?;
        let q = self.critic.forward(&tape, &tape.constant(&s), &mu)?;
        let negq = tape.linear(&tape.reshape(&q, &[k, 1])?, &tape.constant(&self.neg_one), None)?;
        let aloss = tape.mean(&negq)?;
        self.actor_opt.zero_grad()?;
        tape.backward(&aloss)?;
        if self.cfg.max_grad_norm > 0.0 {
            self.actor_opt.clip_grad_norm(self.cfg.max_grad_norm as f32)?;
        }
        self.actor_opt.step()?;
        // Targets: θ' += τ(θ − θ').
        let tau = self.cfg.tau as f32;
        for (p, pt) in self.params().iter().zip(self.target_params()) {
            let nel = p.value.numel();
            let d = Tensor::output(&self.core.be, p.value.shape())?;
            let q = AxpbyParams { n: nel as u32, a: 1.0, b: -1.0, ..Default::default() };
            self.core.be.launch(
                &AXPBY,
                bytemuck::bytes_of(&q),
                nel as u32,
                &[p.value.buffer(), pt.value.buffer(), d.buffer()],
            )?;
            drl::scale_acc(&*self.core.be, d.buffer(), pt.value.buffer(), tau, nel)?;
        }
        self.updates += 1;
        Ok(())
    }

    /// The replay memory's filled rows in a checkpoint: name, tensor, row width.
    fn ring_tensors(&self) -> [(&'static str, &Tensor, usize); 4] {
        let (sd, xd) = (self.ring.s.shape()[1], self.ring.x.shape()[1]);
        [
            ("replay.s", &self.ring.s, sd),
            ("replay.x", &self.ring.x, xd),
            ("replay.r", &self.ring.r, 1),
            ("replay.s2", &self.ring.s2, sd),
        ]
    }
}

impl Agent for Ddpg {
    type Config = DdpgConfig;
    type Metrics = StepMetrics;

    fn config(&self) -> &DdpgConfig {
        &self.cfg
    }

    fn train(&mut self, log_every: usize, on_step: &mut OnStep<'_, Self>) -> Result<()> {
        drl::train(self, log_every, on_step)
    }

    /// Deterministic decisions: μ(s) rounded to the nearest action.
    fn act(&self, env: &MecEnv) -> Result<Decisions> {
        check_env("ddpg", &self.core.mec, &self.core.be, env)?;
        let tape = Tape::no_grad(&self.core.be);
        let mu = self.mu(&self.actor, &tape, &drl::state(env)?)?;
        let (n, m) = (self.core.mec.n_iotd, self.core.mec.n_mec);
        Ok(Decisions::Tensor(drl::round_scores(&tape, &mu, env.batch() * n, m + 1)?))
    }

    /// The networks with their optimizers' moments, the targets (`target.<name>`), the replay
    /// memory's filled rows (`replay.s`, `replay.x`, `replay.r`, `replay.s2`) and the counters.
    fn save(&self, path: &Path, run: &serde_json::Value) -> Result<()> {
        let mut c = Checkpoint::default();
        state::insert_trained(&mut c, &self.actor.params(), &self.actor_opt)?;
        state::insert_trained(&mut c, &self.critic.params(), &self.critic_opt)?;
        for p in self.target_params() {
            c.insert(&format!("target.{}", p.name), &p.value)?;
        }
        for (name, t, w) in self.ring_tensors() {
            c.tensors
                .insert(name.into(), state::prefix(&*self.core.be, t.buffer(), DType::F32, vec![self.ring.len, w])?);
        }
        let k = Counters { step: self.core.step, updates: self.updates };
        state::save(path, c, FORMAT, &k, &self.core.fingerprint("ddpg", &self.cfg), run)
    }

    fn load(&mut self, path: &Path, run_config: &serde_json::Value) -> Result<serde_json::Value> {
        let fingerprint = self.core.fingerprint("ddpg", &self.cfg);
        let state::Loaded { c, state: k, data } =
            state::load::<Counters>(path, FORMAT, "DDPG", &fingerprint, run_config)?;
        if k.step > self.cfg.steps || k.updates > k.step * self.cfg.updates_per_step {
            return Err(state::bad(
                path,
                format!(
                    "{} updates in {} steps (at most ddpg.steps = {}, ddpg.updates_per_step each)",
                    k.updates, k.step, self.cfg.steps
                ),
            ));
        }
        state::restore_trained(&c, path, &self.actor.params(), &self.actor_opt)?;
        state::restore_trained(&c, path, &self.critic.params(), &self.critic_opt)?;
        for p in self.target_params() {
            c.restore(path, &format!("target.{}", p.name), &p.value)?;
        }
        // B transitions per step into the ring, the oldest overwritten.
        let pushed = k.step * self.cfg.train_envs;
        let len = pushed.min(self.ring.cap);
        for (name, t, w) in self.ring_tensors() {
            state::write_prefix(&*self.core.be, t.buffer(), state::stored(&c, path, name, DType::F32, &[len, w])?)?;
        }
        (self.ring.len, self.ring.pos) = (len, pushed % self.ring.cap);
        self.actor_opt.set_steps(k.updates as u32);
        self.critic_opt.set_steps(k.updates as u32);
        self.updates = k.updates;
        self.core.seek(k.step)?;
        Ok(data)
    }
}

impl Baseline for Ddpg {
    /// Act with exploration noise on the B instances, store the B transitions, then
    /// `updates_per_step` updates once `learn_start` transitions are stored. Launches kernels
    /// and uploads the minibatch indices.
    fn train_step(&mut self, log: bool) -> Result<Option<StepMetrics>> {
        let (b, n, m) = (self.cfg.train_envs, self.core.mec.n_iotd, self.core.mec.n_mec);
        let xd = n * (m + 1);
        let be = self.core.be.clone();
        let s = drl::state(&self.core.env)?;
        let tape = Tape::no_grad(&be);
        let mu = self.mu(&self.actor, &tape, &s)?;
        let eps =
            drl::normals(&be, b * xd, rng::derive_seed(self.cfg.seed, TAG_NOISE), self.core.step as u32, STREAM_NOISE)?;
        let x = tape.add_scaled(&mu, 1.0, &tape.constant(&eps), self.sigma())?;
        let a = drl::round_scores(&tape, &x, b * n, m + 1)?;
        let r = drl::reward_signal(&self.core.env, a.buffer(), self.cfg.reward_scale as f32)?;
        let met = if log { Some(drl::metrics_of(&self.core.env, a.buffer(), self.core.step)?) } else { None };
        self.core.advance()?;
        let s2 = drl::state(&self.core.env)?;
        self.ring.push(&*be, &s, &x.value, &r, &s2, b)?;
        if self.ring.len >= self.cfg.learn_start {
            for _ in 0..self.cfg.updates_per_step {
                self.update()?;
            }
        }
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
