//! The actor-critic learners of the mixed-MAPPO paper — mixed MAPPO (Algorithm 2), MAPPO and
//! MAA3C — on B `crowd` instances of N users each: every user is an agent (E = B·N columns),
//! the actors share their parameters, the critics read the instance's global state (MAA3C's:
//! each agent's observation). One round = T slots of every instance collected on the device,
//! then GAE on the team reward (the shared core), the actors' PPO update (the shared core; one
//! step for MAA3C) and the critics' regression on the value targets. Nothing crosses to the
//! host but the metrics and, per round, the returns for the value normalization's two moments.
//!
//! Episodes (`horizon_slots` slots, a multiple of T) start from a reset with a seed drawn from
//! (`seed`, episode) and zero recurrent states; checkpoints are taken between episodes, so a
//! resumed run continues bit for bit.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::{MappoConfig, Method, Mix};
use super::driver::{axpby, copy_into, Driver, Metrics, Rule, ValueNorm};
use super::nets::{combine, repeat, spread, Recurrent};
use crate::algo::ppo::{self, Evaluated, PpoPolicy, PpoStats};
use crate::algo::rollout::{Field, Rollout, RolloutShape};
use crate::autograd::{Param, Tape, Var};
use crate::backend::{Backend, Buffer};
use crate::env::contract::BatchEnv;
use crate::env::crowd::CrowdConfig;
use crate::error::{Error, Result};
use crate::nn::checkpoint::{restore_group, save_groups, Checkpoint};
use crate::nn::optim::{OptimConfig, Optimizer};
use crate::tensor::Tensor;

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
    d: Driver,
    h_actor: Vec<Tensor>,
    h_critic: Vec<Tensor>,
    /// Columns of the critics: B (global state) or B·N (each agent's observation).
    critic_cols: usize,
    ra: Rollout,
    rc: Rollout,
    state: Tensor,
    ones: Tensor,
    done_rows: [Buffer; 2],
    /// Episodes done.
    pub episode: u64,
    /// Rounds (updates) done.
    pub round: u64,
    sample_step: u32,
}

impl Learner {
    /// A fresh learner of `cfg` over `batch` instances of `crowd` on `be`.
    pub fn new(be: &Arc<dyn Backend>, cfg: &MappoConfig, crowd: &CrowdConfig, batch: usize) -> Result<Self> {
        cfg.validate()?;
        crowd.validate()?;
        if cfg.method == Method::Madqn {
            return Err(Error::config("mappo.method", "madqn", "is a Q-learner: algo::mappo::DqnLearner trains it"));
        }
        if !crowd.horizon_slots.is_multiple_of(cfg.rollout_slots) {
            return Err(Error::config(
                "mappo.rollout_slots",
                cfg.rollout_slots,
                format!("must divide the episode (crowd.horizon_slots = {})", crowd.horizon_slots),
            ));
        }
        let d = Driver::new(be, crowd, batch)?;
        let (n, f, a) = (d.agents, d.obs_width, d.actions);
        let s = d.env.spec().state_shape[0];
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
        let ones = Tensor::zeros(be, &[cc])?;
        ones.fill(1.0)?;
        let zeros = |shape: &[usize]| -> Result<Vec<Tensor>> { (0..parts).map(|_| Tensor::zeros(be, shape)).collect() };
        let mut l = Learner {
            h_actor: zeros(&[1, e, h])?,
            h_critic: zeros(&[k, cc, h])?,
            critic_cols: cc,
            ra: Rollout::new(be, ra_shape)?,
            rc: Rollout::new(be, rc_shape)?,
            state: Tensor::zeros(be, &[cc, cs])?,
            done_rows: [be.upload(&vec![0u32; cc])?, be.upload(&vec![1u32; cc])?],
            ones,
            cfg: cfg.clone(),
            crowd: crowd.clone(),
            actor,
            critics,
            actor_opt,
            critic_opt,
            norm: ValueNorm::default(),
            d,
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
        self.d.agents
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.d.backend()
    }

    /// F, the observation width of an agent.
    pub fn obs_width(&self) -> usize {
        self.d.obs_width
    }

    /// A·R, the actions of an agent.
    pub fn actions(&self) -> usize {
        self.d.actions
    }

    /// The width of the global state (U + L + N).
    pub fn state_width(&self) -> usize {
        self.d.env.inner().state_width()
    }

    /// Rounds per episode.
    pub fn rounds_per_episode(&self) -> usize {
        self.crowd.horizon_slots / self.cfg.rollout_slots
    }

    /// Reset the environments for training episode `k` (or test episode `k`), zero states.
    fn begin_episode(&mut self, test: bool, k: u64) -> Result<()> {
        self.d.begin(self.cfg.seed, k, test)?;
        for h in self.h_actor.iter().chain(&self.h_critic) {
            h.fill(0.0)?;
        }
        Ok(())
    }

    /// The critics' input buffer: the global state or the agents' observations.
    fn critic_input(&self) -> &Buffer {
        if self.cfg.central_critic() {
            &self.d.out.state
        } else {
            &self.d.out.obs
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
        self.d.load_obs()?;
        let hv: Vec<Var> = self.h_actor.iter().map(|t| tape.constant(t)).collect();
        let (logits, h2) = self.actor.step(&tape, &tape.constant(&self.d.obs), &hv)?;
        let (e, a) = (self.d.agents_total(), logits.shape()[2]);
        let logp = tape.log_softmax(&tape.reshape(&logits, &[e, a])?, None)?;
        let sampled = if greedy {
            tape.argmax(&logp)?
        } else {
            self.sample_step = self.sample_step.wrapping_add(1);
            tape.sample(&logp, self.cfg.seed, self.sample_step)?
        };
        let rule = match self.cfg.mixing() {
            Mix::Likelihood => Rule::Likelihood,
            Mix::None => Rule::Own,
        };
        self.d.act(&logp.value, &sampled, rule)?;
        self.h_actor = h2.into_iter().map(|v| v.value).collect();
        Ok(tape.gather(&logp, &self.d.action)?.value)
    }

    /// One training episode: `rounds_per_episode` rounds; `tick` after each. Returns the
    /// episode's metrics (measured while training, as the paper's Fig. 3).
    pub fn train_episode(&mut self, tick: &mut dyn FnMut(&RoundStats)) -> Result<Metrics> {
        self.begin_episode(false, self.episode)?;
        self.d.clear_metrics()?;
        let rounds = self.rounds_per_episode();
        for r in 0..rounds {
            let stats = self.round(r + 1 == rounds)?;
            tick(&stats);
        }
        self.episode += 1;
        self.d.read_metrics(self.crowd.horizon_slots)
    }

    /// Collect T slots, then update; `last` when the episode ends with this round.
    fn round(&mut self, last: bool) -> Result<RoundStats> {
        self.collect(last)?;
        self.update()
    }

    /// Collect T slots of every instance into the rollouts (`last`: the episode ends with
    /// them). A round is `collect` then [`Learner::update`]; `mecrl bench mappo` times the
    /// update alone.
    pub fn collect(&mut self, last: bool) -> Result<()> {
        let (t_max, chunk) = (self.cfg.rollout_slots, self.cfg.chunk);
        for t in 0..t_max {
            if t % chunk == 0 {
                let parts = self.h_actor.len();
                for (p, (ha, hc)) in self.h_actor.iter().zip(&self.h_critic).enumerate() {
                    self.ra.put_hidden(t / chunk, p, parts, ha.buffer())?;
                    self.rc.put_hidden(t / chunk, p, parts, hc.buffer())?;
                }
            }
            self.ra.put(Field::Obs, t, &self.d.out.obs)?;
            self.rc.put(Field::Obs, t, self.critic_input())?;
            let logp = self.decide(false)?;
            self.ra.put(Field::Action, t, self.d.action.buffer())?;
            self.ra.put(Field::Logp, t, logp.buffer())?;
            self.ra.put(Field::Weight, t, self.d.weight.buffer())?;
            let tape = Tape::no_grad(self.backend());
            let (v, h2) = self.value(&tape, &self.h_critic)?;
            self.h_critic = h2;
            self.rc.put(Field::Value, t, v.buffer())?;
            self.d.step()?;
            if self.cfg.central_critic() {
                self.rc.put(Field::Reward, t, &self.d.out.reward)?;
            } else {
                // every agent of an instance gets its team reward
                self.rc.put(Field::Reward, t, self.d.reward_per_agent()?.buffer())?;
            }
            let end = last && t + 1 == t_max;
            self.rc.put(Field::Done, t, &self.done_rows[end as usize])?;
        }
        // the bootstrap: φ of the state after the round (masked by `done` at an episode's end)
        let tape = Tape::no_grad(self.backend());
        self.rc.next_value = self.value(&tape, &self.h_critic)?.0;
        Ok(())
    }

    /// GAE, the value normalization, the actors' PPO update and the critics' regression on
    /// the rollouts [`Learner::collect`] filled.
    pub fn update(&mut self) -> Result<RoundStats> {
        let c = self.cfg.clone();
        self.rc.advantages(c.ppo.gamma, c.ppo.lambda, c.ppo.returns)?;
        if c.central_critic() {
            // the team advantage of instance b is every agent's of b
            spread(&self.rc.adv, self.d.agents, &self.ra.adv)?;
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
        self.d.clear_metrics()?;
        let step = self.sample_step;
        for k in 0..episodes {
            self.begin_episode(true, k)?;
            for _ in 0..self.crowd.horizon_slots {
                self.decide(greedy)?;
                self.d.step()?;
                tick();
            }
        }
        // testing leaves the training stream where it was
        self.sample_step = step;
        self.d.read_metrics(self.crowd.horizon_slots * episodes as usize)
    }

    /// The fingerprint and counters a checkpoint stores.
    fn progress(&self) -> Progress {
        Progress {
            config: self.cfg.clone(),
            crowd: self.crowd.clone(),
            batch: self.d.batch,
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
