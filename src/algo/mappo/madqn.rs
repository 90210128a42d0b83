//! MADQN, the mixed-MAPPO paper's Q-learning baseline (§VI-B): independent recurrent
//! Q-learners — every user an agent, one parameter-shared Q-network [obs → 32, 32 → 96,
//! LSTM 96 → 64, 64 → A·R] over its own observation and the team reward — with a target
//! network and a replay of sequences. One round: T slots collected with ε-greedy actions
//! (`mappo_act`, rule ε-greedy against the Random heuristic's uniform action) into a rollout
//! with its chunks' LSTM states, the rollout pushed into the sequence replay
//! ([`crate::algo::sequence_replay`]), then `updates` Adam steps on minibatches of sequences:
//! Huber((Q(o_t, a_t), κ·r_t + γ·max_a Q_target(o_{t+1}, a)) over t < T − 1 of each sequence
//! (the last step has no next observation in its sequence; an episode's end is always such a
//! last step, so no step of the loss is terminal). The target network copies the online one
//! every `target_every` rounds. Decisions: docs/mappo.md.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::{Cell, MappoConfig};
use super::driver::{axpby, Driver, Metrics, Rule};
use super::learner::RoundStats;
use super::nets::Recurrent;
use crate::algo::mrlco::policy::restore;
use crate::algo::rollout::{Field, Rollout, RolloutShape};
use crate::algo::sequence_replay::{SequenceCursor, SequenceReplay};
use crate::autograd::{Tape, Var};
use crate::backend::Backend;
use crate::env::crowd::CrowdConfig;
use crate::error::{Error, Result};
use crate::nn::checkpoint::{insert_groups, restore_group, Checkpoint};
use crate::nn::optim::{OptimConfig, Optimizer};
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::rng;
use crate::tensor::Tensor;

/// The counters a checkpoint records beside the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Progress {
    config: MappoConfig,
    crowd: CrowdConfig,
    batch: usize,
    episode: u64,
    round: u64,
    decision: u32,
    replay: SequenceCursor,
}

/// The MADQN learner and its environments.
pub struct DqnLearner {
    /// The configuration (`madqn` holds MADQN's part).
    pub cfg: MappoConfig,
    /// The system.
    pub crowd: CrowdConfig,
    /// The online Q-network.
    pub q: Recurrent,
    /// The target network.
    pub target: Recurrent,
    opt: Optimizer,
    d: Driver,
    h: Vec<Tensor>,
    rollout: Rollout,
    replay: SequenceReplay,
    /// Episodes done.
    pub episode: u64,
    /// Rounds done.
    pub round: u64,
    decision: u32,
}

impl DqnLearner {
    /// A fresh learner of `cfg` (its method MADQN) over `batch` instances of `crowd` on `be`.
    pub fn new(be: &Arc<dyn Backend>, cfg: &MappoConfig, crowd: &CrowdConfig, batch: usize) -> Result<Self> {
        cfg.validate()?;
        cfg.madqn.validate()?;
        crowd.validate()?;
        if !crowd.horizon_slots.is_multiple_of(cfg.rollout_slots) {
            return Err(Error::config(
                "mappo.rollout_slots",
                cfg.rollout_slots,
                format!("must divide the episode (crowd.horizon_slots = {})", crowd.horizon_slots),
            ));
        }
        let d = Driver::new(be, crowd, batch)?;
        let (e, f, a, t) = (d.agents_total(), d.obs_width, d.actions, cfg.rollout_slots);
        let [l1, l2, h] = cfg.lstm_sizes;
        let shape = RolloutShape { steps: t, envs: e, obs: f, action_mask: 0, hidden: Some((t / cfg.chunk, 2, h)) };
        let blocks = cfg.madqn.replay_rounds;
        if shape.words().saturating_mul(blocks as u64 + 1) > crate::algo::rollout::MAX_WORDS {
            return Err(Error::config(
                "mappo.madqn.replay_rounds",
                blocks,
                format!("{blocks} rounds of {e} sequences × {t} slots exceed one rollout's limit of 8 GiB"),
            ));
        }
        let q = Recurrent::new(be, "q", f, [l1, l2], Cell::Lstm, h, a, 1, cfg.seed)?;
        let target = Recurrent::new(be, "target", f, [l1, l2], Cell::Lstm, h, a, 1, cfg.seed)?;
        let opt = Optimizer::new(OptimConfig::adam(cfg.madqn.lr), &q.params())?;
        let mut l = DqnLearner {
            h: (0..2).map(|_| Tensor::zeros(be, &[1, e, h])).collect::<Result<_>>()?,
            rollout: Rollout::new(be, shape)?,
            replay: SequenceReplay::new(be, shape, blocks)?,
            cfg: cfg.clone(),
            crowd: crowd.clone(),
            q,
            target,
            opt,
            d,
            episode: 0,
            round: 0,
            decision: 0,
        };
        l.rollout.weight.fill(1.0)?;
        l.begin_episode(false, 0)?;
        Ok(l)
    }

    fn begin_episode(&mut self, test: bool, k: u64) -> Result<()> {
        self.d.begin(self.cfg.seed, k, test)?;
        for h in &self.h {
            h.fill(0.0)?;
        }
        Ok(())
    }

    /// One decision of every agent: ε-greedy on Q (ε = 0: greedy).
    fn decide(&mut self, epsilon: f32) -> Result<()> {
        let tape = Tape::no_grad(self.d.backend());
        self.d.load_obs()?;
        let hv: Vec<Var> = self.h.iter().map(|t| tape.constant(t)).collect();
        let (q, h2) = self.q.step(&tape, &tape.constant(&self.d.obs), &hv)?;
        let (e, a) = (self.d.agents_total(), self.d.actions);
        let q = tape.reshape(&q, &[e, a])?;
        let greedy = tape.argmax(&q)?;
        self.decision = self.decision.wrapping_add(1);
        let key = rng::key_of(self.cfg.seed);
        let rule = if epsilon > 0.0 { Rule::Epsilon(epsilon, key, self.decision) } else { Rule::Own };
        self.d.act(&q.value, &greedy, rule)?;
        self.h = h2.into_iter().map(|v| v.value).collect();
        Ok(())
    }

    /// One training episode; `tick` after each round. Returns its metrics.
    pub fn train_episode(&mut self, tick: &mut dyn FnMut(&RoundStats)) -> Result<Metrics> {
        self.begin_episode(false, self.episode)?;
        self.d.clear_metrics()?;
        for _ in 0..self.crowd.horizon_slots / self.cfg.rollout_slots {
            let stats = self.round()?;
            tick(&stats);
        }
        self.episode += 1;
        self.d.read_metrics(self.crowd.horizon_slots)
    }

    fn round(&mut self) -> Result<RoundStats> {
        let (t_max, chunk) = (self.cfg.rollout_slots, self.cfg.chunk);
        let eps = self.cfg.madqn.epsilon(self.round);
        for t in 0..t_max {
            if t % chunk == 0 {
                for (p, h) in self.h.iter().enumerate() {
                    self.rollout.put_hidden(t / chunk, p, 2, h.buffer())?;
                }
            }
            self.rollout.put(Field::Obs, t, &self.d.out.obs)?;
            self.decide(eps)?;
            self.rollout.put(Field::Action, t, self.d.action.buffer())?;
            self.d.step()?;
            self.rollout.put(Field::Reward, t, self.d.reward_per_agent()?.buffer())?;
        }
        self.replay.push(&self.rollout)?;
        let mut losses = vec![];
        for u in 0..self.cfg.madqn.updates {
            losses.push(self.update(u as u32)?);
        }
        self.round += 1;
        if self.round.is_multiple_of(self.cfg.madqn.target_every as u64) {
            let online: Vec<Tensor> = self.q.params().iter().map(|p| p.value.clone()).collect();
            restore(&self.target.params(), &online)?;
        }
        let mut sum = 0.0f32;
        for l in &losses {
            sum += l.to_vec()?[0];
        }
        Ok(RoundStats { round: self.round, critic_loss: sum / losses.len().max(1) as f32, ..Default::default() })
    }

    /// One Adam step on a minibatch of sequences; returns the loss \[1\] (on the device).
    fn update(&mut self, draw: u32) -> Result<Tensor> {
        let c = &self.cfg;
        let (t, k) = (c.rollout_slots, c.madqn.batch);
        let mb = self.replay.sample(k, c.seed, self.round as u32, draw)?;
        let (f, a) = (mb.shape.obs, self.d.actions);
        let hidden = mb.hidden.as_ref().expect("the replay stores states");
        let be = self.d.backend().clone();
        // the target: κ·r_t + γ·max_a Q_target(o_{t+1}, a), rows t < T − 1
        let next = {
            let tape = Tape::no_grad(&be);
            let x = tape.constant(&mb.obs.reshape(&[1, t * k, f])?);
            let starts = starts(&tape, hidden, 2)?;
            let qt = tape.reshape(&self.target.sequence(&tape, &x, t, c.chunk, &starts)?, &[t * k, a])?;
            let best = tape.gather(&qt, &tape.argmax(&qt)?)?;
            // shifted one step: next[t] = best[t + 1]; the last row stays 0
            let y = Tensor::zeros(&be, &[t * k])?;
            let n = ((t - 1) * k) as u32;
            let p = CopyParams { d0: 1, d1: 1, d2: 1, n, soff: k as u32, ..Default::default() };
            be.launch(&GLUE_COPY, bytemuck::bytes_of(&p), n, &[best.value.buffer(), y.buffer()])?;
            y
        };
        let tape = Tape::new(&be);
        let x = tape.constant(&mb.obs.reshape(&[1, t * k, f])?);
        let st = starts(&tape, hidden, 2)?;
        let q = tape.reshape(&self.q.sequence(&tape, &x, t, c.chunk, &st)?, &[t * k, a])?;
        let taken = tape.gather(&q, &mb.action.reshape(&[t * k])?)?;
        let target = Tensor::output(&be, &[t * k])?;
        axpby(&mb.reward.reshape(&[t * k])?, c.madqn.reward_scale, &next, c.ppo.gamma, &target)?;
        // the last step of each sequence has no next observation: its target is its own value
        let p = CopyParams {
            d0: 1,
            d1: 1,
            d2: 1,
            n: k as u32,
            soff: ((t - 1) * k) as u32,
            toff: ((t - 1) * k) as u32,
            ..Default::default()
        };
        be.launch(&GLUE_COPY, bytemuck::bytes_of(&p), k as u32, &[taken.value.buffer(), target.buffer()])?;
        let loss = tape.huber(&taken, &target, c.madqn.huber_delta)?;
        self.opt.zero_grad()?;
        tape.backward(&loss)?;
        if c.ppo.max_grad_norm > 0.0 {
            self.opt.clip_grad_norm(c.ppo.max_grad_norm)?;
        }
        self.opt.step()?;
        Ok(loss.value)
    }

    /// Test episodes `0..episodes`: greedy on Q, nothing learned; `tick` after each slot.
    pub fn test(&mut self, episodes: u64, tick: &mut dyn FnMut()) -> Result<Metrics> {
        self.d.clear_metrics()?;
        // testing leaves the training's decision counter where it was
        let decision = self.decision;
        for k in 0..episodes {
            self.begin_episode(true, k)?;
            for _ in 0..self.crowd.horizon_slots {
                self.decide(0.0)?;
                self.d.step()?;
                tick();
            }
        }
        self.decision = decision;
        self.d.read_metrics(self.crowd.horizon_slots * episodes as usize)
    }

    fn progress(&self) -> Progress {
        Progress {
            config: self.cfg.clone(),
            crowd: self.crowd.clone(),
            batch: self.d.batch,
            episode: self.episode,
            round: self.round,
            decision: self.decision,
            replay: self.replay.cursor,
        }
    }

    /// The replay's stored fields that a resumed run needs (the others are never read).
    fn replay_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        let s = &self.replay.store;
        let mut v = vec![("replay.obs", &s.obs), ("replay.action", &s.action), ("replay.reward", &s.reward)];
        if let Some(h) = &s.hidden {
            v.push(("replay.hidden", h));
        }
        v
    }

    /// Save the networks, the optimizer, the replay and the counters (between episodes).
    pub fn save(&self, path: &Path) -> Result<()> {
        let (qp, tp) = (self.q.params(), self.target.params());
        let mut c = Checkpoint::default();
        for (name, t) in self.replay_tensors() {
            c.insert(name, t)?;
        }
        insert_groups(&mut c, &[(&qp, &[("opt", &self.opt)]), (&tp, &[])], &self.progress())?;
        c.save(path)
    }

    /// Restore what [`DqnLearner::save`] wrote; another configuration's checkpoint is refused.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let c = Checkpoint::load(path)?;
        let json = c.metadata.get("config").cloned().unwrap_or_default();
        let p: Progress = serde_json::from_str(&json).map_err(|e| {
            Error::input("checkpoint.config", 0, path.display(), format!("not a MADQN checkpoint: {e}"))
        })?;
        let mine = self.progress();
        if (&p.config, &p.crowd, p.batch) != (&mine.config, &mine.crowd, mine.batch) {
            return Err(Error::config(
                "checkpoint",
                path.display(),
                "was written by another configuration (mappo, crowd or batch); remove it or use another run directory",
            ));
        }
        let (qp, tp) = (self.q.params(), self.target.params());
        restore_group(&c, path, &qp, &mut [("opt", &mut self.opt)])?;
        restore_group(&c, path, &tp, &mut [])?;
        for (name, t) in self.replay_tensors() {
            c.restore(path, name, t)?;
        }
        self.replay.cursor = p.replay;
        self.episode = p.episode;
        self.round = p.round;
        self.decision = p.decision;
        Ok(())
    }
}

/// The stored (h, c) of every chunk of a rollout's `hidden` [C, 2, E, H] as [1, E, H] constants.
fn starts(tape: &Tape, hidden: &Tensor, parts: usize) -> Result<Vec<Vec<Var>>> {
    let s = hidden.shape().to_vec();
    let (c, e, h) = (s[0], s[2], s[3]);
    let all = tape.constant(&hidden.reshape(&[c * parts, e, h])?);
    (0..c)
        .map(|i| (0..parts).map(|p| tape.reshape(&tape.time_step(&all, i * parts + p)?, &[1, e, h])).collect())
        .collect()
}
