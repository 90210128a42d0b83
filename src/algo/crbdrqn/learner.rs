//! The CRB-DRQN learner (Alg. 1–2): B instances of `endedge` stepped together; every terminal
//! acts ε-greedily on the terminals' copy θ_d of the evaluation network (downloaded every `tag`
//! slots); an episode's decisions, with rewards credited to their arrival slots
//! (`endedge_credit`), are cut into n-step trajectories and uploaded to the central pool at the
//! episode's end; the edge server trains θ from familiarity-sampled trajectories every slot
//! (double-DQN target eq. 23–24, loss eq. 25) and copies θ⁻ ← θ every `update` steps. A
//! decision's next state is the terminal's next decision (its next arrival); the last decision
//! of an episode is terminal. Decisions: docs/crbdrqn.md.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::CrbDrqnConfig;
use super::episodes::{Episodes, Pick};
use super::kernels::{PoolParams, CRBDRQN_TARGET};
use super::net::DrqnNet;
use super::pool::TrajectoryPool;
use crate::algo::mrlco::policy::restore;
use crate::autograd::Tape;
use crate::backend::Backend;
use crate::env::endedge::{EndedgeConfig, Stats};
use crate::error::{Error, Result};
use crate::nn::checkpoint::{insert_groups, restore_group, Checkpoint};
use crate::nn::optim::Optimizer;
use crate::rng;
use crate::tensor::Tensor;

/// What one training episode reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStats {
    /// The episode's number (from 0).
    pub episode: u64,
    /// ε it explored with.
    pub epsilon: f32,
    /// Its tasks' totals over the B instances.
    pub stats: Stats,
    /// Mean loss (25) of its training steps (0 before training starts).
    pub loss: f32,
    /// After it: trajectories in the pool (CRB-DRQN), instance-episodes in the replay (QMIX), 0
    /// (on-policy learners).
    pub pool: usize,
}

/// The counters a checkpoint records beside the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Progress {
    config: CrbDrqnConfig,
    system: EndedgeConfig,
    episode: u64,
    train_steps: u64,
    slots: u64,
    decision: u32,
    pool_filled: usize,
}

/// CRB-DRQN and its environments.
pub struct CrbDrqn {
    /// The configuration.
    pub cfg: CrbDrqnConfig,
    /// The system.
    pub system: EndedgeConfig,
    /// θ, the evaluation network the edge server trains.
    pub online: DrqnNet,
    /// θ⁻, the target network.
    pub target: DrqnNet,
    /// θ_d, the copy the terminals act with.
    pub terminal: DrqnNet,
    opt: Optimizer,
    ep: Episodes,
    pool: TrajectoryPool,
    obs: Tensor,
    state: Tensor,
    /// Episodes trained.
    pub episode: u64,
    /// Training steps taken (Alg. 2's count_e).
    pub train_steps: u64,
    slots: u64,
    decision: u32,
    pool_filled: usize,
}

impl CrbDrqn {
    /// A fresh learner over `cfg.instances` instances of `system` on `be`.
    pub fn new(be: &Arc<dyn Backend>, cfg: &CrbDrqnConfig, system: &EndedgeConfig) -> Result<Self> {
        cfg.validate()?;
        system.validate()?;
        let b = cfg.instances;
        let (d, s, f) = (system.devices, system.servers, 3 + system.servers);
        let (c, t, e) = (system.load_history, system.slots, b * d);
        let ep = Episodes::new(be, system, b, f, true)?;
        let pool = TrajectoryPool::new(be, cfg.pool_capacity, cfg.trajectory_steps, e, d, t, f, (c, s))?;
        let net = |name: &str| DrqnNet::new(be, name, cfg, f, s, c, cfg.seed);
        let online = net("online")?;
        let opt = Optimizer::new(cfg.optim.clone(), &online.params())?;
        Ok(CrbDrqn {
            target: net("target")?,
            terminal: net("terminal")?,
            online,
            opt,
            ep,
            pool,
            obs: Tensor::zeros(be, &[e, f])?,
            state: Tensor::zeros(be, &[b, c, s])?,
            cfg: cfg.clone(),
            system: system.clone(),
            episode: 0,
            train_steps: 0,
            slots: 0,
            decision: 0,
            pool_filled: 0,
        })
    }

    fn be(&self) -> &Arc<dyn Backend> {
        self.ep.backend()
    }

    /// Terminals per instance.
    pub fn agents(&self) -> usize {
        self.system.devices
    }

    /// One decision of every terminal of the current slot with `net`: ε-greedy (ε = 0:
    /// greedy) into `action`, `weight` = 1.0 where a task arrived. Observes the slot first.
    fn decide(&mut self, test: bool, epsilon: f32) -> Result<()> {
        let be = self.be().clone();
        copy(&self.ep.out.obs, &self.obs)?;
        copy(&self.ep.out.state, &self.state)?;
        let tape = Tape::no_grad(&be);
        let net = if test { &self.online } else { &self.terminal };
        let q = net.forward(&tape, &tape.constant(&self.obs), &tape.constant(&self.state), self.agents())?;
        let greedy = tape.argmax(&q)?;
        let pick = if epsilon > 0.0 {
            self.decision = self.decision.wrapping_add(1);
            Pick::Epsilon(epsilon, rng::key_of(self.cfg.seed), self.decision)
        } else {
            Pick::Own
        };
        self.ep.act(&q.value, &greedy, &self.obs, pick)
    }

    /// One training episode; `tick` after each slot. Returns its statistics.
    pub fn train_episode(&mut self, tick: &mut dyn FnMut()) -> Result<EpisodeStats> {
        let t_max = self.system.slots;
        self.ep.begin(self.cfg.seed, self.episode, false)?;
        let epsilon = self.cfg.epsilon(self.episode);
        let (mut loss_sum, mut losses) = (None::<Tensor>, 0usize);
        for t in 0..t_max {
            self.ep.put_inputs(t, &self.ep.out.obs)?;
            self.decide(false, epsilon)?;
            self.ep.step(t)?;
            if self.pool_filled >= self.cfg.warmup {
                for _ in 0..self.cfg.updates_per_slot {
                    let l = self.update()?;
                    loss_sum = Some(match loss_sum {
                        None => l,
                        Some(s) => sum(&s, &l)?,
                    });
                    losses += 1;
                }
            }
            self.slots += 1;
            if self.slots.is_multiple_of(self.cfg.tag as u64) {
                self.download()?;
            }
            tick();
        }
        let stats = self.ep.finish()?;
        let load = self.ep.load.as_ref().expect("the store keeps Load(t)");
        self.pool.push(&self.ep.store, load)?;
        self.pool_filled = self.pool.filled()?.0;
        let loss = match loss_sum {
            Some(s) => s.to_vec()?[0] / losses as f32,
            None => 0.0,
        };
        self.episode += 1;
        Ok(EpisodeStats { episode: self.episode - 1, epsilon, stats, loss, pool: self.pool_filled })
    }

    /// Test episodes `0..episodes`: greedy on θ, nothing learned or stored; `tick` after each
    /// slot. The totals over the episodes and instances.
    pub fn test(&mut self, episodes: u64, tick: &mut dyn FnMut()) -> Result<Stats> {
        let mut total = Stats::default();
        for k in 0..episodes {
            self.ep.begin(self.cfg.seed, k, true)?;
            for _ in 0..self.system.slots {
                self.decide(true, 0.0)?;
                self.ep.step_only()?;
                tick();
            }
            total.add(&self.ep.stats()?);
        }
        Ok(total)
    }

    /// θ_d ← θ (Alg. 1, line 12).
    fn download(&self) -> Result<()> {
        let theta: Vec<Tensor> = self.online.params().iter().map(|p| p.value.clone()).collect();
        restore(&self.terminal.params(), &theta)
    }

    /// One training step (Alg. 2): familiarity-sampled trajectories, the double-DQN target,
    /// RMSProp on the loss (25); θ⁻ ← θ every `target_update` steps. The loss \[1\] on the device.
    pub fn update(&mut self) -> Result<Tensor> {
        let be = self.be().clone();
        let c = &self.cfg;
        let idx = self.pool.sample(c.batch, c.alpha, c.seed, self.train_steps as u32)?;
        let cur = self.pool.gather(&idx, 0)?;
        let next = self.pool.gather(&idx, 1)?;
        let rows = cur.action.numel();
        let y = {
            let tape = Tape::no_grad(&be);
            let (o, l) = (tape.constant(&next.obs), tape.constant(&next.load));
            let q_next = self.online.forward(&tape, &o, &l, 1)?;
            let q_target = self.target.forward(&tape, &o, &l, 1)?;
            double_dqn_target(&q_next.value, &q_target.value, &cur.reward, &cur.term, c.gamma)?.0
        };
        let tape = Tape::new(&be);
        let q = self.online.forward(&tape, &tape.constant(&cur.obs), &tape.constant(&cur.load), 1)?;
        let taken = tape.gather(&q, &cur.action)?;
        let loss = tape.mse(&taken, &tape.constant(&y.reshape(&[rows])?))?;
        self.opt.zero_grad()?;
        tape.backward(&loss)?;
        if c.max_grad_norm > 0.0 {
            self.opt.clip_grad_norm(c.max_grad_norm)?;
        }
        self.opt.step()?;
        self.train_steps += 1;
        if self.train_steps.is_multiple_of(c.target_update as u64) {
            let theta: Vec<Tensor> = self.online.params().iter().map(|p| p.value.clone()).collect();
            restore(&self.target.params(), &theta)?;
        }
        Ok(loss.value)
    }

    /// Trajectories in the pool.
    pub fn pool_len(&self) -> usize {
        self.pool_filled
    }

    /// The pool (tests, reports).
    pub fn pool(&self) -> &TrajectoryPool {
        &self.pool
    }

    fn progress(&self) -> Progress {
        Progress {
            config: self.cfg.clone(),
            system: self.system.clone(),
            episode: self.episode,
            train_steps: self.train_steps,
            slots: self.slots,
            decision: self.decision,
            pool_filled: self.pool_filled,
        }
    }

    /// Save the networks, the optimizer, the pool and the counters (between episodes).
    pub fn save(&self, path: &Path) -> Result<()> {
        let (o, t, d) = (self.online.params(), self.target.params(), self.terminal.params());
        let mut c = Checkpoint::default();
        for (name, x) in self.pool.tensors() {
            c.insert(name, x)?;
        }
        insert_groups(&mut c, &[(&o, &[("opt", &self.opt)]), (&t, &[]), (&d, &[])], &self.progress())?;
        c.save(path)
    }

    /// Restore what [`CrbDrqn::save`] wrote; another configuration's checkpoint is refused.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let c = Checkpoint::load(path)?;
        let json = c.metadata.get("config").cloned().unwrap_or_default();
        let p: Progress = serde_json::from_str(&json).map_err(|e| {
            Error::input("checkpoint.config", 0, path.display(), format!("not a CRB-DRQN checkpoint: {e}"))
        })?;
        if (&p.config, &p.system) != (&self.cfg, &self.system) {
            return Err(Error::config(
                "checkpoint",
                path.display(),
                "was written by another configuration (crbdrqn or endedge); remove it or use another run directory",
            ));
        }
        let (o, t, d) = (self.online.params(), self.target.params(), self.terminal.params());
        restore_group(&c, path, &o, &mut [("opt", &mut self.opt)])?;
        restore_group(&c, path, &t, &mut [])?;
        restore_group(&c, path, &d, &mut [])?;
        for (name, x) in self.pool.tensors() {
            c.restore(path, name, x)?;
        }
        self.episode = p.episode;
        self.train_steps = p.train_steps;
        self.slots = p.slots;
        self.decision = p.decision;
        self.pool_filled = p.pool_filled;
        Ok(())
    }
}

/// Eq. (23)–(24) on the device: (y, a*) of every row from Q(s′; θ) `q_next` [R, A], Q(s′; θ⁻)
/// `q_target`, the rewards and terminal flags \[R\].
pub fn double_dqn_target(
    q_next: &Tensor,
    q_target: &Tensor,
    reward: &Tensor,
    term: &Tensor,
    gamma: f32,
) -> Result<(Tensor, Tensor)> {
    let s = q_next.shape();
    let (r, a) = (s[0], s[s.len() - 1]);
    if q_target.numel() != r * a || reward.numel() != r || term.numel() != r {
        return Err(Error::shape("double_dqn_target", format!("[{r}, {a}] twice, [{r}] twice"), "other shapes"));
    }
    let be = q_next.backend();
    let y = Tensor::zeros(be, &[r])?;
    let best = Tensor::zeros_u32(be, &[r])?;
    let p = PoolParams { rows: r as u32, actions: a as u32, gamma, ..Default::default() };
    let bufs = [q_next.buffer(), q_target.buffer(), reward.buffer(), term.buffer(), y.buffer(), best.buffer()];
    be.launch(&CRBDRQN_TARGET, bytemuck::bytes_of(&p), r as u32, &bufs)?;
    Ok((y, best))
}

/// `src` copied into `dst` (its first numel words).
fn copy(src: &crate::backend::Buffer, dst: &Tensor) -> Result<()> {
    crate::algo::mappo::driver::copy_into(src, dst)
}

/// a + b on the device (a new \[1\] tensor).
fn sum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let y = Tensor::output(a.backend(), a.shape())?;
    crate::algo::mappo::driver::axpby(a, 1.0, b, 1.0, &y)?;
    Ok(y)
}
