//! The MAPPO / mixed-MAPPO learner (Algorithm 2) on B `crowd` instances of N users each: every
//! user is an agent (E = B·N columns), the actors share their parameters, the critics read the
//! instance's global state. One round = T slots of every instance collected on the device, then
//! GAE on the team reward (the shared core), the actors' PPO update (the shared core) and the
//! critics' regression on the value targets. Nothing crosses to the host but the metrics and,
//! per round, the T·B returns for the value normalization's two running moments.
//!
//! Episodes (`horizon_slots` slots, a multiple of T) start from a reset with a seed drawn from
//! (`seed`, episode) and zero recurrent states; checkpoints are taken between episodes, so a
//! resumed run continues bit for bit.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::{MappoConfig, Method, Mix};
use super::kernels::{ActParams, MAPPO_ACT};
use super::nets::{combine, repeat, spread, Recurrent};
use crate::algo::ppo::{self, Evaluated, PpoPolicy, PpoStats};
use crate::algo::rollout::{Field, Rollout, RolloutShape};
use crate::autograd::{Param, Tape, Var};
use crate::backend::{Backend, Buffer};
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::crowd::contract::CrowdBatchEnv;
use crate::env::crowd::{metric, CrowdConfig, Policy};
use crate::error::{Error, Result};
use crate::nn::checkpoint::{restore_group, save_groups, Checkpoint};
use crate::nn::optim::{OptimConfig, Optimizer};
use crate::ops::elementwise::{AxpbyParams, AXPBY, SCALE_ACC};
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::rng;
use crate::tensor::Tensor;

/// MAPPO's value normalization: running, debiased first and second moments of the returns
/// (β-weighted per update), kept on the host in f64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueNorm {
    /// Running mean.
    pub mean: f64,
    /// Running mean of squares.
    pub mean_sq: f64,
    /// The debiasing term (1 − β^updates).
    pub debias: f64,
}

impl ValueNorm {
    /// Fold in a batch of returns with decay `beta`.
    pub fn update(&mut self, x: &[f32], beta: f64) {
        let n = x.len().max(1) as f64;
        let m = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let q = x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / n;
        self.mean = self.mean * beta + m * (1.0 - beta);
        self.mean_sq = self.mean_sq * beta + q * (1.0 - beta);
        self.debias = self.debias * beta + (1.0 - beta);
    }

    /// (μ, σ): the debiased mean and standard deviation (variance at least 0.01, as MAPPO's).
    pub fn stats(&self) -> (f32, f32) {
        let d = self.debias.max(1e-5);
        let mu = self.mean / d;
        let var = (self.mean_sq / d - mu * mu).max(1e-2);
        (mu as f32, var.sqrt() as f32)
    }
}

/// What one round (T slots and an update) measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RoundStats {
    /// Rounds done after this one.
    pub round: u64,
    /// The actors' PPO statistics (its value columns are unused: the critics train apart).
    pub ppo: PpoStats,
    /// The critics' mean squared error on the (normalized) targets, over the update.
    pub critic_loss: f32,
}

/// The Table III metrics of some slots, summed over instances and slots on the device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Instance-slots summed.
    pub slots: f64,
    /// Sums of the 16 slot metrics ([`metric`]).
    pub sums: Vec<f64>,
    /// Agent-slots with tasks.
    pub decisions: f64,
    /// … of which took the drift-plus-penalty action.
    pub from_dpp: f64,
}

impl Metrics {
    /// AD, seconds per MB of dispatched data.
    pub fn unit_delay(&self) -> f64 {
        let d = self.sums.get(metric::DATA_MB).copied().unwrap_or(0.0);
        if d > 0.0 {
            self.sums[metric::DELAY] / d
        } else {
            0.0
        }
    }
    /// Mean of slot metric `k` per instance-slot.
    pub fn mean(&self, k: usize) -> f64 {
        self.sums.get(k).copied().unwrap_or(0.0) / self.slots.max(1.0)
    }
    /// Share of decisions that took the drift-plus-penalty action.
    pub fn dpp_share(&self) -> f64 {
        self.from_dpp / self.decisions.max(1.0)
    }
}

/// The counters a checkpoint records beside the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Progress {
    config: MappoConfig,
    crowd: CrowdConfig,
    batch: usize,
    episode: u64,
    round: u64,
    sample_step: u32,
    norm: ValueNorm,
}

/// The actor as a [`PpoPolicy`]: re-evaluates a rollout's stored actions over chunked sequences.
struct ActorPolicy<'a> {
    net: &'a Recurrent,
    chunk: usize,
}

/// The stored states of every chunk of a rollout's `hidden` [C, parts·K, E, H]: per chunk,
/// `parts` constants of [K, E, H].
fn chunk_starts(tape: &Tape, hidden: &Tensor, k: usize, parts: usize) -> Result<Vec<Vec<Var>>> {
    let s = hidden.shape().to_vec();
    let (c, e, h) = (s[0], s[2], s[3]);
    let all = tape.constant(&hidden.reshape(&[c * parts, k * e, h])?);
    (0..c)
        .map(|i| (0..parts).map(|p| tape.reshape(&tape.time_step(&all, i * parts + p)?, &[k, e, h])).collect())
        .collect()
}

impl PpoPolicy for ActorPolicy<'_> {
    fn params(&self) -> Vec<Param> {
        self.net.params()
    }

    fn evaluate(&self, tape: &Tape, r: &Rollout) -> Result<Evaluated> {
        let (t, e, f) = (r.shape.steps, r.shape.envs, r.shape.obs);
        let hidden =
            r.hidden.as_ref().ok_or_else(|| Error::config("rollout.hidden", 0, "the actor needs stored states"))?;
        let x = tape.constant(&r.obs.reshape(&[1, t * e, f])?);
        let starts = chunk_starts(tape, hidden, 1, self.net.parts())?;
        let logits = self.net.sequence(tape, &x, t, self.chunk, &starts)?;
        let a = logits.shape()[2];
        let logp_all = tape.log_softmax(&tape.reshape(&logits, &[t * e, a])?, None)?;
        Ok(Evaluated {
            logp: tape.gather(&logp_all, &r.action.reshape(&[t * e])?)?,
            entropy: tape.entropy(&logp_all)?,
            // the critics train apart (`value_coef` = 0): a stand-in, never differentiated
            value: tape.constant(&Tensor::zeros(tape.backend(), &[t * e])?),
        })
    }
}

/// `src` (a buffer of at least `dst`'s words) copied into `dst`.
fn copy_into(src: &Buffer, dst: &Tensor) -> Result<()> {
    let n = dst.numel() as u32;
    let p = CopyParams { d0: 1, d1: 1, d2: 1, n, ..Default::default() };
    dst.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), n, &[src, dst.buffer()])
}

/// y = a·x + b·x2 on the device (`y` distinct from both).
fn axpby(x: &Tensor, a: f32, x2: &Tensor, b: f32, y: &Tensor) -> Result<()> {
    let n = y.numel();
    let p = AxpbyParams { n: n as u32, a, b, ..Default::default() };
    y.backend().launch(&AXPBY, bytemuck::bytes_of(&p), n as u32, &[x.buffer(), x2.buffer(), y.buffer()])
}

/// acc += x on the device.
fn accumulate(x: &Buffer, acc: &Tensor) -> Result<()> {
    let n = acc.numel();
    let p = AxpbyParams { n: n as u32, a: 1.0, ..Default::default() };
    acc.backend().launch(&SCALE_ACC, bytemuck::bytes_of(&p), n as u32, &[x, acc.buffer()])
}

/// The learner and its environments.
pub struct Learner {
    /// The configuration.
    pub cfg: MappoConfig,
    /// The system (its λ set by the case).
    pub crowd: CrowdConfig,
    /// The shared actor π_ω (K = 1).
    pub actor: Recurrent,
    /// The K critics φ^n_θ.
    pub critics: Recurrent,
    actor_opt: Optimizer,
    critic_opt: Optimizer,
    /// The value normalization's moments.
    pub norm: ValueNorm,
    env: CrowdBatchEnv,
    out: EnvBuffers,
    batch: usize,
    agents: usize,
    h_actor: Vec<Tensor>,
    h_critic: Vec<Tensor>,
    /// Columns of the critics: B (global state) or B·N (each agent's observation).
    critic_cols: usize,
    team_reward: Tensor,
    ra: Rollout,
    rc: Rollout,
    obs: Tensor,
    state: Tensor,
    dpp: Tensor,
    action: Tensor,
    from_dpp: Tensor,
    weight: Tensor,
    ones: Tensor,
    done_rows: [Buffer; 2],
    acc_info: Tensor,
    acc_dpp: Tensor,
    acc_weight: Tensor,
    /// Episodes done.
    pub episode: u64,
    /// Rounds (updates) done.
    pub round: u64,
    sample_step: u32,
}

/// The seed of training episode `k` (`test` = false) or test episode `k`.
pub fn episode_seed(seed: u64, k: u64, test: bool) -> u64 {
    let w =
        rng::philox4x32_10([k as u32, (k >> 32) as u32, test as u32, rng::stream::MAPPO_EPISODES], rng::key_of(seed));
    (w[0] as u64) << 32 | w[1] as u64
}

impl Learner {
    /// A fresh learner of `cfg` over `batch` instances of `crowd` on `be`.
    pub fn new(be: &Arc<dyn Backend>, cfg: &MappoConfig, crowd: &CrowdConfig, batch: usize) -> Result<Self> {
        cfg.validate()?;
        crowd.validate()?;
        if !crowd.horizon_slots.is_multiple_of(cfg.rollout_slots) {
            return Err(Error::config(
                "mappo.rollout_slots",
                cfg.rollout_slots,
                format!("must divide the episode (crowd.horizon_slots = {})", crowd.horizon_slots),
            ));
        }
        let env = CrowdBatchEnv::new(be.clone(), crowd, batch)?;
        let spec = env.spec().clone();
        let (n, f, s) = (spec.agents, spec.obs_shape[0], spec.state_shape[0]);
        let a = match spec.action {
            crate::env::contract::ActionSpace::Discrete { n } => n as usize,
            _ => unreachable!("crowd's actions are discrete"),
        };
        let (e, k, t) = (batch * n, cfg.n_critics(), cfg.rollout_slots);
        let (body, h) = cfg.sizes();
        let cell = cfg.method.cell();
        let parts = cell.parts();
        let chunks = t / cfg.chunk;
        let (cc, cs) = if cfg.central_critic() { (batch, s) } else { (e, f) };
        let ra_shape = RolloutShape { steps: t, envs: e, obs: f, action_mask: 0, hidden: Some((chunks, parts, h)) };
        let rc_shape =
            RolloutShape { steps: t, envs: cc, obs: cs, action_mask: 0, hidden: Some((chunks, parts * k, h)) };
        // estimate before allocating: both rollouts, the networks' activations of a whole-rollout
        // update (≈ 10 floats of H per agent-step) and the environment
        let words = ra_shape.words() + rc_shape.words() + (t * e * h * 10 + t * cc * k * h * 10) as u64;
        if words > crate::algo::rollout::MAX_WORDS {
            return Err(Error::config(
                "batch",
                batch,
                format!(
                    "{e} agents × {t} slots need ~{} MiB of device memory (more than 8 GiB); lower batch or \
                     mappo.rollout_slots",
                    (words * 4) >> 20
                ),
            ));
        }
        let actor = Recurrent::new(be, "actor", f, body, cell, h, a, 1, cfg.seed)?;
        let critics = Recurrent::new(be, "critic", cs, body, cell, h, 1, k, cfg.seed ^ 0x0c41_71c5)?;
        let actor_opt = Optimizer::new(OptimConfig::adam(cfg.actor_lr), &actor.params())?;
        let critic_opt = Optimizer::new(OptimConfig::adam(cfg.critic_lr), &critics.params())?;
        let out = EnvBuffers::new(&**be, &spec)?;
        let ones = Tensor::zeros(be, &[cc])?;
        ones.fill(1.0)?;
        let zeros = |shape: &[usize]| -> Result<Vec<Tensor>> { (0..parts).map(|_| Tensor::zeros(be, shape)).collect() };
        let mut l = Learner {
            h_actor: zeros(&[1, e, h])?,
            h_critic: zeros(&[k, cc, h])?,
            critic_cols: cc,
            team_reward: Tensor::zeros(be, &[batch])?,
            ra: Rollout::new(be, ra_shape)?,
            rc: Rollout::new(be, rc_shape)?,
            obs: Tensor::zeros(be, &[1, e, f])?,
            state: Tensor::zeros(be, &[cc, cs])?,
            dpp: Tensor::zeros_u32(be, &[e])?,
            action: Tensor::zeros_u32(be, &[e])?,
            from_dpp: Tensor::zeros(be, &[e])?,
            weight: Tensor::zeros(be, &[e])?,
            done_rows: [be.upload(&vec![0u32; cc])?, be.upload(&vec![1u32; cc])?],
            acc_info: Tensor::zeros(be, &[batch * metric::WIDTH])?,
            acc_dpp: Tensor::zeros(be, &[e])?,
            acc_weight: Tensor::zeros(be, &[e])?,
            ones,
            cfg: cfg.clone(),
            crowd: crowd.clone(),
            actor,
            critics,
            actor_opt,
            critic_opt,
            norm: ValueNorm::default(),
            env,
            out,
            batch,
            agents: n,
            episode: 0,
            round: 0,
            sample_step: 0,
        };
        l.ra.weight.fill(1.0)?;
        l.begin_episode(false, 0)?;
        Ok(l)
    }

    /// Agents per instance N.
    pub fn agents(&self) -> usize {
        self.agents
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }

    /// Rounds per episode.
    pub fn rounds_per_episode(&self) -> usize {
        self.crowd.horizon_slots / self.cfg.rollout_slots
    }

    /// Reset the environments for training episode `k` (or test episode `k`), zero states.
    fn begin_episode(&mut self, test: bool, k: u64) -> Result<()> {
        self.env.reset(episode_seed(self.cfg.seed, k, test), &self.out)?;
        for h in self.h_actor.iter().chain(&self.h_critic) {
            h.fill(0.0)?;
        }
        Ok(())
    }

    /// Zero the metric accumulators.
    fn clear_metrics(&self) -> Result<()> {
        for t in [&self.acc_info, &self.acc_dpp, &self.acc_weight] {
            t.fill(0.0)?;
        }
        Ok(())
    }

    /// The accumulated metrics over `slots` slots (downloads).
    fn read_metrics(&self, slots: usize) -> Result<Metrics> {
        let info = self.acc_info.to_vec()?;
        let mut sums = vec![0f64; metric::WIDTH];
        for row in info.chunks(metric::WIDTH) {
            for (s, &x) in sums.iter_mut().zip(row) {
                *s += x as f64;
            }
        }
        let sum = |t: &Tensor| -> Result<f64> { Ok(t.to_vec()?.iter().map(|&x| x as f64).sum()) };
        Ok(Metrics {
            slots: (slots * self.batch) as f64,
            sums,
            decisions: sum(&self.acc_weight)?,
            from_dpp: sum(&self.acc_dpp)?,
        })
    }

    /// The critics' input buffer: the global state or the agents' observations.
    fn critic_input(&self) -> &Buffer {
        if self.cfg.central_critic() {
            &self.out.state
        } else {
            &self.out.obs
        }
    }

    /// The critics' combined, denormalized value φ of the current state or observations
    /// (\[B\] or \[B·N\]), from the state `h`; returns (φ, h′).
    fn value(&self, tape: &Tape, h: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        copy_into(self.critic_input(), &self.state)?;
        let k = self.cfg.n_critics();
        let x = tape.constant(&repeat(&self.state, k)?);
        let hv: Vec<Var> = h.iter().map(|t| tape.constant(t)).collect();
        let (v, h2) = self.critics.step(tape, &x, &hv)?;
        let phi = combine(tape, &v, &self.cfg.weights())?;
        let (mu, sigma) = if self.cfg.value_norm { self.norm.stats() } else { (0.0, 1.0) };
        let y = Tensor::output(self.backend(), &[self.critic_cols])?;
        axpby(&phi.value, sigma, &self.ones, mu, &y)?;
        Ok((y, h2.into_iter().map(|v| v.value).collect()))
    }

    /// One decision of every agent from the current observations (greedy: the actor's most
    /// likely action instead of a sample); fills `action`, `from_dpp`, `weight` and returns
    /// log π of the actions taken [E].
    fn decide(&mut self, greedy: bool) -> Result<Tensor> {
        let tape = Tape::no_grad(self.backend());
        copy_into(&self.out.obs, &self.obs)?;
        let hv: Vec<Var> = self.h_actor.iter().map(|t| tape.constant(t)).collect();
        let (logits, h2) = self.actor.step(&tape, &tape.constant(&self.obs), &hv)?;
        let (e, a) = (self.batch * self.agents, logits.shape()[2]);
        let logp = tape.log_softmax(&tape.reshape(&logits, &[e, a])?, None)?;
        let sampled = if greedy {
            tape.argmax(&logp)?
        } else {
            self.sample_step = self.sample_step.wrapping_add(1);
            tape.sample(&logp, self.cfg.seed, self.sample_step)?
        };
        let mix = self.cfg.mixing();
        if mix == Mix::Likelihood {
            self.env.heuristic(Policy::Dpp, &self.out, self.dpp.buffer())?;
        }
        let p = ActParams {
            rows: e as u32,
            cols: a as u32,
            obs_width: self.obs.shape()[2] as u32,
            mix: (mix == Mix::Likelihood) as u32,
        };
        self.backend().launch(
            &MAPPO_ACT,
            bytemuck::bytes_of(&p),
            e as u32,
            &[
                logp.value.buffer(),
                sampled.buffer(),
                self.dpp.buffer(),
                self.obs.buffer(),
                self.action.buffer(),
                self.from_dpp.buffer(),
                self.weight.buffer(),
            ],
        )?;
        self.h_actor = h2.into_iter().map(|v| v.value).collect();
        Ok(tape.gather(&logp, &self.action)?.value)
    }

    /// Step the environments with `action`, accumulate the metrics.
    fn env_step(&mut self) -> Result<()> {
        self.env.step(self.action.buffer(), &self.out)?;
        accumulate(&self.out.info, &self.acc_info)?;
        accumulate(self.from_dpp.buffer(), &self.acc_dpp)?;
        accumulate(self.weight.buffer(), &self.acc_weight)
    }

    /// One training episode: `rounds_per_episode` rounds; `tick` after each. Returns the
    /// episode's metrics (measured while training, as the paper's Fig. 3).
    pub fn train_episode(&mut self, tick: &mut dyn FnMut(&RoundStats)) -> Result<Metrics> {
        self.begin_episode(false, self.episode)?;
        self.clear_metrics()?;
        let rounds = self.rounds_per_episode();
        for r in 0..rounds {
            let stats = self.round(r + 1 == rounds)?;
            tick(&stats);
        }
        self.episode += 1;
        self.read_metrics(self.crowd.horizon_slots)
    }

    /// Collect T slots, then update; `last` when the episode ends with this round.
    fn round(&mut self, last: bool) -> Result<RoundStats> {
        let (t_max, chunk) = (self.cfg.rollout_slots, self.cfg.chunk);
        for t in 0..t_max {
            if t % chunk == 0 {
                let parts = self.h_actor.len();
                for (p, (ha, hc)) in self.h_actor.iter().zip(&self.h_critic).enumerate() {
                    self.ra.put_hidden(t / chunk, p, parts, ha.buffer())?;
                    self.rc.put_hidden(t / chunk, p, parts, hc.buffer())?;
                }
            }
            self.ra.put(Field::Obs, t, &self.out.obs)?;
            self.rc.put(Field::Obs, t, self.critic_input())?;
            let logp = self.decide(false)?;
            self.ra.put(Field::Action, t, self.action.buffer())?;
            self.ra.put(Field::Logp, t, logp.buffer())?;
            self.ra.put(Field::Weight, t, self.weight.buffer())?;
            let tape = Tape::no_grad(self.backend());
            let (v, h2) = self.value(&tape, &self.h_critic)?;
            self.h_critic = h2;
            self.rc.put(Field::Value, t, v.buffer())?;
            self.env_step()?;
            if self.cfg.central_critic() {
                self.rc.put(Field::Reward, t, &self.out.reward)?;
            } else {
                // every agent of an instance gets its team reward
                copy_into(&self.out.reward, &self.team_reward)?;
                let per_agent = Tensor::output(self.backend(), &[self.critic_cols])?;
                spread(&self.team_reward, self.agents, &per_agent)?;
                self.rc.put(Field::Reward, t, per_agent.buffer())?;
            }
            let end = last && t + 1 == t_max;
            self.rc.put(Field::Done, t, &self.done_rows[end as usize])?;
        }
        // the bootstrap: φ of the state after the round (masked by `done` at an episode's end)
        let tape = Tape::no_grad(self.backend());
        self.rc.next_value = self.value(&tape, &self.h_critic)?.0;
        self.update()
    }

    /// GAE, the value normalization, the actors' PPO update and the critics' regression.
    fn update(&mut self) -> Result<RoundStats> {
        let c = self.cfg.clone();
        self.rc.advantages(c.ppo.gamma, c.ppo.lambda, c.ppo.returns)?;
        if c.central_critic() {
            // the team advantage of instance b is every agent's of b
            spread(&self.rc.adv, self.agents, &self.ra.adv)?;
        } else {
            copy_into(self.rc.adv.buffer(), &self.ra.adv)?;
        }
        if c.value_norm {
            self.norm.update(&self.rc.ret.to_vec()?, c.value_norm_beta);
            let (mu, sigma) = self.norm.stats();
            let ones = Tensor::zeros(self.backend(), self.rc.ret.shape())?;
            ones.fill(1.0)?;
            let normalized = Tensor::output(self.backend(), self.rc.ret.shape())?;
            axpby(&self.rc.ret, 1.0 / sigma, &ones, -mu / sigma, &normalized)?;
            self.rc.ret = normalized;
        }
        let round = self.round as u32;
        let actor_ppo = c.actor_update();
        let policy = ActorPolicy { net: &self.actor, chunk: c.chunk };
        let ppo = ppo::update(&actor_ppo, &policy, &mut self.actor_opt, &self.ra, c.seed, round)?;
        let critic_loss = self.update_critics(round)?;
        self.round += 1;
        Ok(RoundStats { round: self.round, ppo, critic_loss })
    }

    /// Each critic regresses on the (normalized) λ-returns: epochs × minibatches of instances,
    /// MSE (25), one Adam step each. Returns the mean loss.
    fn update_critics(&mut self, round: u32) -> Result<f32> {
        let c = &self.cfg;
        let (k, t, cols_all) = (c.n_critics(), c.rollout_slots, self.critic_cols);
        let upd = c.actor_update();
        let mut losses = vec![];
        for epoch in 0..upd.epochs {
            for cols in ppo::minibatches(cols_all, upd.minibatches, c.seed ^ 0xc1, round, epoch as u32) {
                let sub;
                let mb = if cols.len() == cols_all {
                    &self.rc
                } else {
                    sub = self.rc.columns(&cols)?;
                    &sub
                };
                let (b, s) = (mb.shape.envs, mb.shape.obs);
                let tape = Tape::new(self.backend());
                let x = tape.constant(&repeat(&mb.obs.reshape(&[t * b * s])?, k)?.reshape(&[k, t * b, s])?);
                let hidden = mb.hidden.as_ref().expect("the critic rollout stores states");
                let starts = chunk_starts(&tape, hidden, k, self.critics.parts())?;
                let v = self.critics.sequence(&tape, &x, t, c.chunk, &starts)?;
                let v = tape.reshape(&v, &[k * t * b])?;
                let target = tape.constant(&repeat(&mb.ret.reshape(&[t * b])?, k)?.reshape(&[k * t * b])?);
                let loss = tape.mse(&v, &target)?;
                self.critic_opt.zero_grad()?;
                tape.backward(&loss)?;
                if c.ppo.max_grad_norm > 0.0 {
                    self.critic_opt.clip_grad_norm(c.ppo.max_grad_norm)?;
                }
                self.critic_opt.step()?;
                losses.push(loss.value);
            }
        }
        let mut sum = 0.0f32;
        for l in &losses {
            sum += l.to_vec()?[0];
        }
        Ok(sum / losses.len().max(1) as f32)
    }

    /// Test episodes `0..episodes` (their own seeds, not the training ones): the policy acts
    /// greedily (`greedy`) or by sampling, the mixing rule applies as in training, nothing is
    /// learned. The metrics over all of them; `tick` after each slot.
    pub fn test(&mut self, episodes: u64, greedy: bool, tick: &mut dyn FnMut()) -> Result<Metrics> {
        self.clear_metrics()?;
        let step = self.sample_step;
        for k in 0..episodes {
            self.begin_episode(true, k)?;
            for _ in 0..self.crowd.horizon_slots {
                self.decide(greedy)?;
                self.env_step()?;
                tick();
            }
        }
        // testing leaves the training stream where it was
        self.sample_step = step;
        self.read_metrics(self.crowd.horizon_slots * episodes as usize)
    }

    /// The fingerprint and counters a checkpoint stores.
    fn progress(&self) -> Progress {
        Progress {
            config: self.cfg.clone(),
            crowd: self.crowd.clone(),
            batch: self.batch,
            episode: self.episode,
            round: self.round,
            sample_step: self.sample_step,
            norm: self.norm,
        }
    }

    /// Save the networks, both optimizers, the normalization and the counters (between episodes).
    pub fn save(&self, path: &Path) -> Result<()> {
        let (ap, cp) = (self.actor.params(), self.critics.params());
        save_groups(
            path,
            &[(&ap, &[("actor_opt", &self.actor_opt)]), (&cp, &[("critic_opt", &self.critic_opt)])],
            &self.progress(),
        )
    }

    /// Restore what [`Learner::save`] wrote; a checkpoint of another configuration is refused
    /// before anything changes.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let c = Checkpoint::load(path)?;
        let json = c.metadata.get("config").cloned().unwrap_or_default();
        let p: Progress = serde_json::from_str(&json).map_err(|e| {
            Error::input("checkpoint.config", 0, path.display(), format!("not a MAPPO checkpoint: {e}"))
        })?;
        let mine = self.progress();
        if (&p.config, &p.crowd, p.batch) != (&mine.config, &mine.crowd, mine.batch) {
            return Err(Error::config(
                "checkpoint",
                path.display(),
                "was written by another configuration (mappo, crowd or batch); remove it or use another run directory",
            ));
        }
        let (ap, cp) = (self.actor.params(), self.critics.params());
        restore_group(&c, path, &ap, &mut [("actor_opt", &mut self.actor_opt)])?;
        restore_group(&c, path, &cp, &mut [("critic_opt", &mut self.critic_opt)])?;
        self.episode = p.episode;
        self.round = p.round;
        self.sample_step = p.sample_step;
        self.norm = p.norm;
        Ok(())
    }

    /// The method's label.
    pub fn method(&self) -> Method {
        self.cfg.method
    }
}
