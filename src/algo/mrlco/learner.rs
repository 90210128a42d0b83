//! The MRLCO meta-learner (Algorithm 1), the fine-tuning baseline's pretrainer, adaptation to
//! an unseen task, and their checkpoints. Every draw (tasks of a meta batch, graphs of an inner
//! loop, sampled actions) is keyed by (seed, iteration, …), so a run resumed from a checkpoint
//! continues bit for bit.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::MrlcoConfig;
use super::config::{InnerOptimizer, OuterRule};
use super::policy::{accumulate_delta, difference, restore, set_meta_gradient, snapshot};
use super::task::Task;
use crate::algo::ppo::{self, PpoConfig, PpoStats};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::nn::checkpoint::{load_training, load_training_with, save_training_with};
use crate::nn::optim::{OptimConfig, Optimizer};
use crate::nn::seq2seq::Seq2Seq;
use crate::rng;
use crate::tensor::Tensor;

/// Which learner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// First-order meta-learning over the training tasks (eq. 22).
    Mrlco,
    /// The fine-tuning DRL baseline: PPO on the union of the training tasks.
    FineTune,
}

impl Method {
    /// Column label.
    pub fn name(self) -> &'static str {
        match self {
            Method::Mrlco => "mrlco",
            Method::FineTune => "fine_tune",
        }
    }
}

/// What one training iteration measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IterStats {
    /// Iterations done after this one.
    pub iteration: usize,
    /// Mean makespan of the sampled episodes (before the tasks' updates), seconds.
    pub sampled_makespan: f64,
    /// PPO statistics, averaged over the iteration's tasks.
    pub ppo: PpoStats,
}

/// What a checkpoint records beside the tensors.
#[derive(Serialize, Deserialize, PartialEq)]
struct Progress {
    method: Method,
    iteration: usize,
    step: u32,
    config: MrlcoConfig,
}

/// A learner: the network θ, its optimizer (the outer Adam β for MRLCO, the pretraining
/// Adam α for the baseline), MRLCO's shared inner Adam (α) and its progress.
pub struct Learner {
    /// The configuration.
    pub cfg: MrlcoConfig,
    /// Which learner.
    pub method: Method,
    /// θ.
    pub net: Seq2Seq,
    opt: Optimizer,
    /// The inner loop's Adam when `inner_optimizer = shared` (MRLCO only).
    inner: Option<Optimizer>,
    /// Iterations done.
    pub iteration: usize,
    step: u32,
}

/// `k` distinct draws from 0..`n` (a partial Philox Fisher–Yates keyed by `seed` and `round`,
/// `sub` telling draws of one round apart).
pub fn draw(n: usize, k: usize, seed: u64, round: u32, sub: u32) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..n as u32).collect();
    let key = rng::key_of(seed);
    for i in 0..k.min(n) {
        let w = rng::philox4x32_10([i as u32, round, sub, rng::stream::MRLCO_TASKS], key)[0];
        let j = i + rng::uniform_index(w, (n - i) as u32) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k.min(n));
    idx
}

/// Mean of f32 values in f64.
fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64
}

/// Average the PPO statistics of several updates.
fn average(stats: &[PpoStats]) -> PpoStats {
    let k = stats.len().max(1) as f32;
    let mut o = PpoStats::default();
    for s in stats {
        o.loss += s.loss / k;
        o.policy_loss += s.policy_loss / k;
        o.value_loss += s.value_loss / k;
        o.entropy += s.entropy / k;
        o.approx_kl += s.approx_kl / k;
        o.clip_frac += s.clip_frac / k;
        o.explained_var += s.explained_var / k;
        o.steps += s.steps;
    }
    o
}

impl Learner {
    /// A fresh learner on `be` (θ initialized from `cfg.seed`).
    pub fn new(be: &Arc<dyn Backend>, cfg: &MrlcoConfig, method: Method) -> Result<Self> {
        cfg.validate()?;
        let net = Seq2Seq::new(be, cfg.seq2seq())?;
        let lr = match method {
            Method::Mrlco => cfg.outer_lr,
            Method::FineTune => cfg.inner_lr,
        };
        let opt = Optimizer::new(OptimConfig::adam(lr), &net.params())?;
        let inner = match (method, cfg.inner_optimizer) {
            (Method::Mrlco, InnerOptimizer::Shared) => {
                Some(Optimizer::new(OptimConfig::adam(cfg.inner_lr), &net.params())?)
            }
            _ => None,
        };
        Ok(Learner { cfg: cfg.clone(), method, net, opt, inner, iteration: 0, step: 0 })
    }

    /// One sampled rollout of task `t` (graphs drawn for round `round`, sub-draw `sub`),
    /// advantages computed: (rollout, mean makespan tensor).
    fn sample(&mut self, t: &Task, round: u32, sub: u32) -> Result<(crate::algo::rollout::Rollout, Tensor)> {
        let c = &self.cfg;
        let graphs = draw(t.graphs(), c.graphs_per_task, c.seed, round, sub);
        let (r, m) = t.rollout(&self.net, &graphs, c.trajectories, c.seed, self.step)?;
        self.step = self.step.wrapping_add(t.n_max() as u32);
        r.advantages(c.ppo.gamma, c.ppo.lambda, c.ppo.returns)?;
        Ok((r, m))
    }

    /// One training iteration over `tasks` (the training set): MRLCO's meta-iteration
    /// (Algorithm 1, lines 3–9) or one pretraining round of the baseline (the same tasks'
    /// rollouts, PPO on θ itself).
    pub fn iterate(&mut self, tasks: &[Task]) -> Result<IterStats> {
        let c = self.cfg.clone();
        if c.meta_batch > tasks.len() {
            return Err(Error::config(
                "mrlco.meta_batch",
                c.meta_batch,
                format!("exceeds the {} training tasks", tasks.len()),
            ));
        }
        let round = self.iteration as u32;
        let chosen = draw(tasks.len(), c.meta_batch, c.seed, round, u32::MAX);
        let params = self.net.params();
        let mut stats = Vec::with_capacity(chosen.len());
        let mut spans = Vec::with_capacity(chosen.len());
        match self.method {
            Method::Mrlco => {
                let theta = snapshot(&params)?;
                let sum: Vec<Tensor> = theta.iter().map(|t| t.zeros_like()).collect::<Result<_>>()?;
                let mut adapted = vec![];
                for (j, &ti) in chosen.iter().enumerate() {
                    // lines 5–7: θ_i ← θ, sample D with θ, m Adam steps of eq. 20 on D
                    restore(&params, &theta)?;
                    let (r, m) = self.sample(&tasks[ti as usize], round, j as u32)?;
                    let mut fresh = None;
                    let inner = match self.inner.as_mut() {
                        Some(o) => o,
                        None => fresh.insert(Optimizer::new(OptimConfig::adam(c.inner_lr), &params)?),
                    };
                    stats.push(ppo::update(&c.ppo, &self.net, inner, &r, c.seed, round)?);
                    spans.push(m);
                    match c.outer_rule {
                        OuterRule::Averaged => accumulate_delta(&sum, &params, &theta)?,
                        OuterRule::PerTask => adapted.push(snapshot(&params)?),
                    }
                }
                // line 9: θ ← θ + β·g^MRLCO through Adam (eq. 22)
                restore(&params, &theta)?;
                let (n, m) = (chosen.len(), c.ppo.epochs);
                if adapted.is_empty() {
                    set_meta_gradient(&params, &sum, n, c.inner_lr, m)?;
                    self.opt.step()?;
                }
                for a in &adapted {
                    difference(&sum, a, &params)?;
                    set_meta_gradient(&params, &sum, n, c.inner_lr, m)?;
                    self.opt.step()?;
                }
            }
            Method::FineTune => {
                for (j, &ti) in chosen.iter().enumerate() {
                    let (r, m) = self.sample(&tasks[ti as usize], round, j as u32)?;
                    stats.push(ppo::update(&c.ppo, &self.net, &mut self.opt, &r, c.seed, round)?);
                    spans.push(m);
                }
            }
        }
        self.iteration += 1;
        let mut all = vec![];
        for m in spans {
            all.extend(m.to_vec()?);
        }
        Ok(IterStats { iteration: self.iteration, sampled_makespan: mean(&all), ppo: average(&stats) })
    }

    /// Save θ, the optimizer's state and the progress to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let p = Progress { method: self.method, iteration: self.iteration, step: self.step, config: self.cfg.clone() };
        let mut opts = vec![("opt", &self.opt)];
        opts.extend(self.inner.as_ref().map(|o| ("inner", o)));
        save_training_with(path, &self.net.params(), &opts, &p)
    }

    /// Restore what [`Learner::save`] wrote; the configuration and method must be this
    /// learner's (a checkpoint of another run is refused).
    pub fn load(&mut self, path: &Path) -> Result<()> {
        // the configuration first: a foreign checkpoint leaves θ and the optimizers untouched
        let c = crate::nn::checkpoint::Checkpoint::load(path)?;
        let json = c.metadata.get("config").cloned().unwrap_or_default();
        let p: Progress = serde_json::from_str(&json)
            .map_err(|e| Error::input("checkpoint.config", 0, path.display(), e.to_string()))?;
        if p.method != self.method || p.config != self.cfg {
            return Err(Error::config(
                "checkpoint",
                path.display(),
                "was written by another method or configuration; remove it or use another run directory",
            ));
        }
        let mut opts = vec![("opt", &mut self.opt)];
        opts.extend(self.inner.as_mut().map(|o| ("inner", o)));
        load_training_with(path, &self.net.params(), &mut opts)?;
        self.iteration = p.iteration;
        self.step = p.step;
        Ok(())
    }
}

/// A trained policy from a checkpoint [`Learner::save`] wrote: its configuration and network.
pub fn load_policy(be: &Arc<dyn Backend>, path: &Path) -> Result<(MrlcoConfig, Method, Seq2Seq)> {
    let c = crate::nn::checkpoint::Checkpoint::load(path)?;
    let json = c
        .metadata
        .get("config")
        .ok_or_else(|| Error::input("checkpoint.config", 0, path.display(), "is missing: not an MRLCO checkpoint"))?;
    let p: Progress = serde_json::from_str(json)
        .map_err(|e| Error::input("checkpoint.config", 0, path.display(), format!("not an MRLCO checkpoint: {e}")))?;
    p.config.validate()?;
    let net = Seq2Seq::new(be, p.config.seq2seq())?;
    load_training(path, &net.params(), None)?;
    Ok((p.config, p.method, net))
}

/// Adapt a copy of `net` to `task` (the paper's evaluation): at each step up to the last of
/// `cfg.eval_steps`, sample `graphs_per_task` graphs × `trajectories` episodes and take
/// `adapt_epochs` Adam steps (α = `adapt_lr`); before the steps listed in `eval_steps`, the
/// mean greedy makespan over all the task's graphs. `net` is restored afterwards. `tick` is
/// called after every adaptation step. Returns (step, mean makespan) pairs.
pub fn adapt(
    cfg: &MrlcoConfig,
    net: &Seq2Seq,
    task: &Task,
    seed: u64,
    tick: &mut dyn FnMut(),
) -> Result<Vec<(usize, f64)>> {
    let params = net.params();
    let theta = snapshot(&params)?;
    let mut opt = Optimizer::new(OptimConfig::adam(cfg.adapt_lr), &params)?;
    let pcfg = PpoConfig { epochs: cfg.adapt_epochs, ..cfg.ppo.clone() };
    let mut curve = vec![];
    let last = cfg.adapt_steps();
    let mut sample_step = 0u32;
    let result = (|| {
        for step in 0..=last {
            if cfg.eval_steps.contains(&step) {
                curve.push((step, mean(&task.greedy(net)?)));
            }
            if step == last {
                break;
            }
            let graphs = draw(task.graphs(), cfg.graphs_per_task, seed, step as u32, 0);
            let (r, _) = task.rollout(net, &graphs, cfg.trajectories, seed, sample_step)?;
            sample_step = sample_step.wrapping_add(task.n_max() as u32);
            r.advantages(pcfg.gamma, pcfg.lambda, pcfg.returns)?;
            ppo::update(&pcfg, net, &mut opt, &r, seed, step as u32)?;
            tick();
        }
        Ok(())
    })();
    restore(&params, &theta)?;
    result.map(|()| curve)
}
