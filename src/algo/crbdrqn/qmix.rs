//! QMIX (Rashid et al., 2018), the CRB-DRQN paper's value-decomposition baseline (§5.2 (3)) on
//! `endedge`: one agent Q-network shared by the terminals over (η, μ, q, Load(t)); a mixing
//! network whose weights come from hypernetworks over the global state s = (Load(t), the
//! instance's mean observation), made non-negative by |·| so that Q_tot is monotonic in every
//! agent's Q (eq. 5 of QMIX); Q_tot = |W2(s)|ᵀ · ReLU(|W1(s)|ᵀ q + b1(s)) + V(s). Every terminal
//! acts every slot (ε-greedy; a terminal without a task takes a no-op whatever it picks); the
//! team reward of a slot is the mean over the instance's terminals of their arrivals' rewards
//! (credited to the arrival slot; `team_reward_mean` = false: the sum); the hypernetworks read
//! the state times `state_scale`.
//! Whole episodes of an instance go to a replay of episodes; each update draws `batch` of them
//! and minimizes (r + γ·Q_tot⁻(s′, Q⁻(o′, argmax_a Q(o′, a))) − Q_tot(s, Q(o, a)))² over their
//! slots (the horizon slot bootstraps nothing). Decisions: docs/crbdrqn.md.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::{CrbDrqnConfig, QmixConfig};
use super::episodes::{Episodes, Pick};
use super::learner::{double_dqn_target, EpisodeStats};
use crate::algo::mrlco::policy::restore;
use crate::algo::rollout::RolloutShape;
use crate::algo::sequence_replay::{SequenceCursor, SequenceReplay};
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::env::endedge::{EndedgeConfig, Stats};
use crate::error::{Error, Result};
use crate::nn::checkpoint::{insert_groups, restore_group, Checkpoint};
use crate::nn::mlp::Mlp;
use crate::nn::optim::{OptimConfig, Optimizer};
use crate::ops::act::Act;
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::rng;
use crate::tensor::Tensor;

/// The mixing network's hypernetworks over the global state (S words).
pub struct Mixer {
    /// s → hyper_hidden → D·embed (|·| makes W1).
    pub w1: Mlp,
    /// s → embed (b1).
    pub b1: Mlp,
    /// s → hyper_hidden → embed (|·| makes W2).
    pub w2: Mlp,
    /// s → embed → 1 (V(s)).
    pub v: Mlp,
    /// D agents.
    pub agents: usize,
    /// Mixing units.
    pub embed: usize,
}

/// |x| as ReLU(x) + ReLU(−x) (differentiable everywhere but 0, on the existing ops).
pub fn abs(tape: &Tape, x: &Var) -> Result<Var> {
    let zero = tape.constant(&Tensor::zeros(tape.backend(), x.shape())?);
    let neg = tape.add_scaled(x, -1.0, &zero, 0.0)?;
    let (p, n) = (tape.act(x, Act::Relu)?, tape.act(&neg, Act::Relu)?);
    tape.add_scaled(&p, 1.0, &n, 1.0)
}

impl Mixer {
    /// Hypernetworks for `agents` agents over states of `state` words, seeded by `seed`.
    pub fn new(
        be: &Arc<dyn Backend>,
        name: &str,
        state: usize,
        agents: usize,
        cfg: &QmixConfig,
        seed: u64,
    ) -> Result<Self> {
        let (h, m) = (cfg.hyper_hidden, cfg.embed);
        let mlp = |sizes: &[usize], tag: &str, s: u64| -> Result<Mlp> {
            Ok(Mlp::new(be, sizes, 1, Act::Relu, None, seed ^ s)?.with_prefix(&format!("{name}.{tag}")))
        };
        Ok(Mixer {
            w1: mlp(&[state, h, agents * m], "hyper_w1", 0x11)?,
            b1: mlp(&[state, m], "hyper_b1", 0x12)?,
            w2: mlp(&[state, h, m], "hyper_w2", 0x13)?,
            v: mlp(&[state, m, 1], "hyper_v", 0x14)?,
            agents,
            embed: m,
        })
    }

    /// Every parameter.
    pub fn params(&self) -> Vec<Param> {
        [&self.w1, &self.b1, &self.w2, &self.v].iter().flat_map(|m| m.params()).collect()
    }

    /// Q_tot \[N\] of the agents' utilities `q` [N, D] in states `s` [N, S].
    pub fn forward(&self, tape: &Tape, q: &Var, s: &Var) -> Result<Var> {
        let n = s.shape()[0];
        let (d, m) = (self.agents, self.embed);
        let s3 = tape.reshape(s, &[1, n, s.shape()[1]])?;
        let w1 = abs(tape, &self.w1.forward(tape, &s3)?)?;
        let b1 = self.b1.forward(tape, &s3)?;
        let w2 = abs(tape, &self.w2.forward(tape, &s3)?)?;
        let v = self.v.forward(tape, &s3)?;
        // one group per sample: [N, 1, D] × [N, D, M] + b1 [N, M]
        let hidden = tape.linear(
            &tape.reshape(q, &[n, 1, d])?,
            &tape.reshape(&w1, &[n, d, m])?,
            Some(&tape.reshape(&b1, &[n, m])?),
        )?;
        let hidden = tape.act(&hidden, Act::Relu)?;
        let y = tape.linear(&hidden, &tape.reshape(&w2, &[n, m, 1])?, None)?;
        tape.add_scaled(&tape.reshape(&y, &[n])?, 1.0, &tape.reshape(&v, &[n])?, 1.0)
    }
}

/// The counters a checkpoint records beside the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Progress {
    config: CrbDrqnConfig,
    system: EndedgeConfig,
    episode: u64,
    updates: u64,
    decision: u32,
    replay: SequenceCursor,
}

/// The QMIX learner and its environments.
pub struct Qmix {
    /// The configuration (`qmix` holds QMIX's part).
    pub cfg: CrbDrqnConfig,
    /// The system.
    pub system: EndedgeConfig,
    /// The agents' Q-network (shared).
    pub agent: Mlp,
    /// The mixing network.
    pub mixer: Mixer,
    agent_target: Mlp,
    mixer_target: Mixer,
    opt: Optimizer,
    ep: Episodes,
    replay: SequenceReplay,
    x: Tensor,
    /// The team reward's weights per terminal \[1, D, 1\]: 1/D (mean) or 1 (sum).
    team_w: Tensor,
    /// Episodes trained.
    pub episode: u64,
    /// Updates taken.
    pub updates: u64,
    decision: u32,
}

impl Qmix {
    /// A fresh learner over `cfg.instances` instances of `system`.
    pub fn new(be: &Arc<dyn Backend>, cfg: &CrbDrqnConfig, system: &EndedgeConfig) -> Result<Self> {
        cfg.validate()?;
        system.validate()?;
        let q = &cfg.qmix;
        let (b, d, s) = (cfg.instances, system.devices, system.servers);
        let (f, l) = (3 + s, system.load_history * s);
        let width = f + l + f;
        let ep = Episodes::new(be, system, b, width, false)?;
        let shape = RolloutShape { steps: system.slots, envs: b * d, obs: width, action_mask: 0, hidden: None };
        if shape.words().saturating_mul(q.replay_episodes as u64 + 1) > crate::algo::rollout::MAX_WORDS {
            return Err(Error::config(
                "crbdrqn.qmix.replay_episodes",
                q.replay_episodes,
                "the replay of episodes would exceed one rollout's limit of 8 GiB",
            ));
        }
        let replay = SequenceReplay::new(be, shape, q.replay_episodes)?;
        let seed = cfg.seed ^ 0x9419;
        let [h1, h2] = q.agent_hidden;
        let agent_net = |name: &str| -> Result<Mlp> {
            Ok(Mlp::new(be, &[f + l, h1, h2, 1 + s], 1, Act::Relu, None, seed)?.with_prefix(name))
        };
        let agent = agent_net("agent")?;
        let mixer = Mixer::new(be, "mixer", l + f, d, q, seed)?;
        let mut params = agent.params();
        params.extend(mixer.params());
        let opt =
            Optimizer::new(OptimConfig::RmsProp { lr: q.lr, alpha: 0.99, eps: 1e-5, weight_decay: 0.0 }, &params)?;
        let e = b * d;
        Ok(Qmix {
            agent_target: agent_net("agent_target")?,
            mixer_target: Mixer::new(be, "mixer_target", l + f, d, q, seed)?,
            agent,
            mixer,
            opt,
            ep,
            replay,
            x: Tensor::zeros(be, &[e, width])?,
            team_w: Tensor::from_f32(be, &[1, d, 1], &vec![if q.team_reward_mean { 1.0 / d as f32 } else { 1.0 }; d])?,
            cfg: cfg.clone(),
            system: system.clone(),
            episode: 0,
            updates: 0,
            decision: 0,
        })
    }

    fn be(&self) -> &Arc<dyn Backend> {
        self.ep.backend()
    }

    fn widths(&self) -> (usize, usize, usize) {
        let s = self.system.servers;
        (3 + s, self.system.load_history * s, 2 * (3 + s) + self.system.load_history * s)
    }

    /// The agent part (the first F + L words) of rows `x` [N, W].
    fn agent_inputs(&self, x: &Tensor) -> Result<Tensor> {
        let (f, l, w) = self.widths();
        let n = x.numel() / w;
        let y = Tensor::output(x.backend(), &[1, n, f + l])?;
        let p = CopyParams {
            d0: n as u32,
            d1: 1,
            d2: 1,
            n: (f + l) as u32,
            s0: w as u32,
            t0: (f + l) as u32,
            ..Default::default()
        };
        x.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), (n * (f + l)) as u32, &[x.buffer(), y.buffer()])?;
        Ok(y)
    }

    /// The global state (Load(t), mean obs) of every (slot, instance) of rows `x` [N·D, W],
    /// times `state_scale`: \[N, L + F\].
    fn states(&self, x: &Tensor) -> Result<Tensor> {
        let (f, l, w) = self.widths();
        let d = self.system.devices;
        let n = x.numel() / (w * d);
        let y = Tensor::output(x.backend(), &[n, l + f])?;
        let p = CopyParams {
            d0: n as u32,
            d1: 1,
            d2: 1,
            n: (l + f) as u32,
            s0: (d * w) as u32,
            soff: f as u32,
            t0: (l + f) as u32,
            ..Default::default()
        };
        x.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), (n * (l + f)) as u32, &[x.buffer(), y.buffer()])?;
        let scale = self.cfg.qmix.state_scale;
        if scale == 1.0 {
            return Ok(y);
        }
        let (z, out) = (Tensor::zeros(x.backend(), &[n, l + f])?, Tensor::output(x.backend(), &[n, l + f])?);
        crate::algo::mappo::driver::axpby(&y, scale, &z, 0.0, &out)?;
        Ok(out)
    }

    /// Every terminal's action of the current slot: ε-greedy on the agent network.
    fn decide(&mut self, epsilon: f32) -> Result<()> {
        let be = self.be().clone();
        self.ep.inputs_into(&self.x)?;
        let tape = Tape::no_grad(&be);
        let xa = self.agent_inputs(&self.x)?;
        let q = self.agent.forward(&tape, &tape.constant(&xa))?;
        let e = self.x.shape()[0];
        let q = tape.reshape(&q, &[e, 1 + self.system.servers])?;
        let greedy = tape.argmax(&q)?;
        let pick = if epsilon > 0.0 {
            self.decision = self.decision.wrapping_add(1);
            Pick::Epsilon(epsilon, rng::key_of(self.cfg.seed ^ 0x9419), self.decision)
        } else {
            Pick::Own
        };
        self.ep.act(&q.value, &greedy, &self.x, pick)
    }

    /// One training episode, its push into the replay and `updates` updates; `tick` per slot.
    pub fn train_episode(&mut self, tick: &mut dyn FnMut()) -> Result<EpisodeStats> {
        self.ep.begin(self.cfg.seed, self.episode, false)?;
        let epsilon = self.cfg.epsilon(self.episode);
        for t in 0..self.system.slots {
            self.decide(epsilon)?;
            self.ep.put_inputs(t, self.x.buffer())?;
            self.ep.step(t)?;
            tick();
        }
        let stats = self.ep.finish()?;
        self.replay.push(&self.ep.store)?;
        let groups = self.replay.len() / self.system.devices;
        let mut loss = 0.0f32;
        if groups >= self.cfg.qmix.batch {
            for u in 0..self.cfg.qmix.updates {
                loss += self.update(u as u32)?.to_vec()?[0];
            }
            loss /= self.cfg.qmix.updates as f32;
        }
        self.episode += 1;
        Ok(EpisodeStats { episode: self.episode - 1, epsilon, stats, loss, pool: groups })
    }

    /// Shift a [T·K] series up one slot: out[t] = x[t + 1], the last slot's K values 0.
    fn next_slot(x: &Tensor, t: usize, k: usize) -> Result<Tensor> {
        let y = Tensor::zeros(x.backend(), &[t * k])?;
        let n = ((t - 1) * k) as u32;
        let p = CopyParams { d0: 1, d1: 1, d2: 1, n, soff: k as u32, ..Default::default() };
        x.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), n, &[x.buffer(), y.buffer()])?;
        Ok(y)
    }

    /// One RMSProp step on `batch` episodes drawn from the replay; the loss \[1\].
    pub fn update(&mut self, draw: u32) -> Result<Tensor> {
        let be = self.be().clone();
        let (d, a, t) = (self.system.devices, 1 + self.system.servers, self.system.slots);
        let k = self.cfg.qmix.batch;
        let mb = self.replay.sample_groups(k, d, self.cfg.seed, self.updates as u32, draw)?;
        let n = t * k;
        let w = self.widths().2;
        let x = mb.obs.reshape(&[n * d, w])?;
        let xa = self.agent_inputs(&x)?;
        let s = self.states(&x)?;
        // the team reward of every (slot, episode): the mean (or sum) over its terminals

        let target = {
            let tape = Tape::no_grad(&be);
            let r = tape.linear(&tape.constant(&mb.reward.reshape(&[1, n, d])?), &tape.constant(&self.team_w), None)?;
            let xv = tape.constant(&xa);
            let q_on = tape.reshape(&self.agent.forward(&tape, &xv)?, &[n * d, a])?;
            let q_tg = tape.reshape(&self.agent_target.forward(&tape, &xv)?, &[n * d, a])?;
            // per agent Q⁻(o, argmax_a Q(o, a)) (the double-DQN kernel with r = 0, γ = 1)
            let (zr, zt) = (Tensor::zeros(&be, &[n * d])?, Tensor::zeros(&be, &[n * d])?);
            let (next_q, _) = double_dqn_target(&q_on.value, &q_tg.value, &zr, &zt, 1.0)?;
            let tot = self.mixer_target.forward(&tape, &tape.constant(&next_q), &tape.constant(&s))?;
            let next = Self::next_slot(&tot.value, t, k)?;
            let y = Tensor::output(&be, &[n])?;
            crate::algo::mappo::driver::axpby(&r.value.reshape(&[n])?, 1.0, &next, self.cfg.gamma, &y)?;
            y
        };
        let tape = Tape::new(&be);
        let q = tape.reshape(&self.agent.forward(&tape, &tape.constant(&xa))?, &[n * d, a])?;
        let chosen = tape.gather(&q, &mb.action.reshape(&[n * d])?)?;
        let tot = self.mixer.forward(&tape, &chosen, &tape.constant(&s))?;
        let loss = tape.mse(&tot, &tape.constant(&target))?;
        self.opt.zero_grad()?;
        tape.backward(&loss)?;
        if self.cfg.qmix.max_grad_norm > 0.0 {
            self.opt.clip_grad_norm(self.cfg.qmix.max_grad_norm)?;
        }
        self.opt.step()?;
        self.updates += 1;
        if self.updates.is_multiple_of(self.cfg.qmix.target_update as u64) {
            self.sync_targets()?;
        }
        Ok(loss.value)
    }

    fn sync_targets(&self) -> Result<()> {
        let copy = |from: Vec<Param>, to: Vec<Param>| {
            let v: Vec<Tensor> = from.iter().map(|p| p.value.clone()).collect();
            restore(&to, &v)
        };
        copy(self.agent.params(), self.agent_target.params())?;
        copy(self.mixer.params(), self.mixer_target.params())
    }

    /// Test episodes `0..episodes`: greedy on the agent network, nothing learned.
    pub fn test(&mut self, episodes: u64, tick: &mut dyn FnMut()) -> Result<Stats> {
        let mut total = Stats::default();
        for k in 0..episodes {
            self.ep.begin(self.cfg.seed, k, true)?;
            for _ in 0..self.system.slots {
                self.decide(0.0)?;
                self.ep.step_only()?;
                tick();
            }
            total.add(&self.ep.stats()?);
        }
        Ok(total)
    }

    fn progress(&self) -> Progress {
        Progress {
            config: self.cfg.clone(),
            system: self.system.clone(),
            episode: self.episode,
            updates: self.updates,
            decision: self.decision,
            replay: self.replay.cursor,
        }
    }

    fn replay_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        let s = &self.replay.store;
        vec![("replay.obs", &s.obs), ("replay.action", &s.action), ("replay.reward", &s.reward)]
    }

    /// Save the networks, the optimizer, the replay and the counters (between episodes).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut online = self.agent.params();
        online.extend(self.mixer.params());
        let mut target = self.agent_target.params();
        target.extend(self.mixer_target.params());
        let mut c = Checkpoint::default();
        for (name, x) in self.replay_tensors() {
            c.insert(name, x)?;
        }
        insert_groups(&mut c, &[(&online, &[("opt", &self.opt)]), (&target, &[])], &self.progress())?;
        c.save(path)
    }

    /// Restore what [`Qmix::save`] wrote; another configuration's checkpoint is refused.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let c = Checkpoint::load(path)?;
        let json = c.metadata.get("config").cloned().unwrap_or_default();
        let p: Progress = serde_json::from_str(&json)
            .map_err(|e| Error::input("checkpoint.config", 0, path.display(), format!("not a QMIX checkpoint: {e}")))?;
        if (&p.config, &p.system) != (&self.cfg, &self.system) {
            return Err(Error::config(
                "checkpoint",
                path.display(),
                "was written by another configuration (crbdrqn or endedge); remove it or use another run directory",
            ));
        }
        let mut online = self.agent.params();
        online.extend(self.mixer.params());
        let mut target = self.agent_target.params();
        target.extend(self.mixer_target.params());
        restore_group(&c, path, &online, &mut [("opt", &mut self.opt)])?;
        restore_group(&c, path, &target, &mut [])?;
        for (name, x) in self.replay_tensors() {
            c.restore(path, name, x)?;
        }
        self.replay.cursor = p.replay;
        self.episode = p.episode;
        self.updates = p.updates;
        self.decision = p.decision;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{create, BackendKind};

    fn setup() -> (Arc<dyn Backend>, Mixer, Tensor, Vec<f32>) {
        let be = create(BackendKind::Cpu).unwrap();
        let cfg = QmixConfig { embed: 5, hyper_hidden: 6, ..Default::default() };
        let (n, s, d) = (3usize, 4usize, 4usize);
        let mixer = Mixer::new(&be, "m", s, d, &cfg, 7).unwrap();
        let st: Vec<f32> = (0..n * s).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect();
        let q: Vec<f32> = (0..n * d).map(|i| ((i * 13 % 7) as f32 - 3.0) * 1.7).collect();
        (be.clone(), mixer, Tensor::from_f32(&be, &[n, s], &st).unwrap(), q)
    }

    fn q_tot(be: &Arc<dyn Backend>, m: &Mixer, s: &Tensor, q: &[f32]) -> Vec<f32> {
        let tape = Tape::no_grad(be);
        let qv = tape.constant(&Tensor::from_f32(be, &[3, 4], q).unwrap());
        m.forward(&tape, &qv, &tape.constant(s)).unwrap().value.to_vec().unwrap()
    }

    #[test]
    fn the_mixer_is_monotonic_in_every_agent() {
        let (be, m, s, q) = setup();
        let base = q_tot(&be, &m, &s, &q);
        // QMIX eq. (5): ∂Q_tot/∂Q_d ≥ 0 — raising any agent's utility never lowers Q_tot
        for i in 0..q.len() {
            for step in [0.5f32, 3.0, 20.0] {
                let mut up = q.clone();
                up[i] += step;
                let got = q_tot(&be, &m, &s, &up);
                assert!(got[i / 4] >= base[i / 4], "agent {i} +{step}: {} < {}", got[i / 4], base[i / 4]);
                assert_eq!(got[(i / 4 + 1) % 3], base[(i / 4 + 1) % 3], "other samples untouched");
            }
        }
        // and the mixing weights are non-negative
        let tape = Tape::no_grad(&be);
        let s3 = tape.reshape(&tape.constant(&s), &[1, 3, 4]).unwrap();
        let w1 = abs(&tape, &m.w1.forward(&tape, &s3).unwrap()).unwrap().value.to_vec().unwrap();
        assert!(w1.iter().all(|&w| w >= 0.0) && w1.iter().any(|&w| w > 0.0));
        let raw = m.w1.forward(&tape, &s3).unwrap().value.to_vec().unwrap();
        assert!(raw.iter().any(|&w| w < 0.0), "|·| has something to do");
        for (a, r) in w1.iter().zip(&raw) {
            assert_eq!(*a, r.abs());
        }
    }

    #[test]
    fn the_mixer_gradient_matches_finite_differences() {
        let (be, m, s, q) = setup();
        // loss = mean(Q_tot²); gradients of the agents' utilities and of hyper_w1's first layer
        let qp = Param::new("q", Tensor::from_f32(&be, &[3, 4], &q).unwrap()).unwrap();
        let tape = Tape::new(&be);
        let tot = m.forward(&tape, &tape.param(&qp), &tape.constant(&s)).unwrap();
        let zero = Tensor::zeros(&be, &[3]).unwrap();
        let loss = tape.mse(&tot, &tape.constant(&zero)).unwrap();
        for p in m.params() {
            p.grad.fill(0.0).unwrap();
        }
        tape.backward(&loss).unwrap();
        let loss_at = |q: &[f32]| -> f64 {
            let t = q_tot(&be, &m, &s, q);
            t.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / 3.0
        };
        let g = qp.grad.to_vec().unwrap();
        for i in 0..q.len() {
            let h = 1e-2f32;
            let (mut a, mut b) = (q.clone(), q.clone());
            a[i] += h;
            b[i] -= h;
            let num = (loss_at(&a) - loss_at(&b)) / (2.0 * h as f64);
            assert!((g[i] as f64 - num).abs() <= 2e-2 * num.abs().max(1e-2), "dq[{i}]: {} vs {num}", g[i]);
        }
        let w = &m.w1.layers[0].0;
        let gw = w.grad.to_vec().unwrap();
        let orig = w.value.to_vec().unwrap();
        for i in (0..orig.len()).step_by(5) {
            let h = 1e-2f32;
            let mut v = orig.clone();
            v[i] += h;
            w.value.write(&v).unwrap();
            let up = loss_at(&q);
            v[i] -= 2.0 * h;
            w.value.write(&v).unwrap();
            let down = loss_at(&q);
            w.value.write(&orig).unwrap();
            let num = (up - down) / (2.0 * h as f64);
            assert!((gw[i] as f64 - num).abs() <= 2e-2 * num.abs().max(1e-2), "dW1[{i}]: {} vs {num}", gw[i]);
        }
    }
}
