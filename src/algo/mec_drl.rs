//! What the DRL baselines of DIRS (DIRS paper §VI: Actor-Critic and DDPG) share on the `mec`
//! system: the state, the reward signal, the rounding of the continuous relaxation, metrics,
//! the training instances and their training loop (`Learner`, `train`), held-out evaluation
//! and the timing of Table III ([`Baseline`]). Everything in a training step stays on the
//! device (kernel launches only); the host reads metrics on logged steps.
//!
//! - **State**: the concatenation of the M agents' observation columns (§V-C "State", the same
//!   standardized ln h DIRS sees): `env.obs` [B, M, N] read as [B, M·N].
//! - **Relaxation**: per IoTD a vector of M+1 real scores x_i = (x_i0 … x_iM); the discrete action
//!   is the nearest one-hot vertex, a_i = argmax_j x_ij (‖x − e_j‖² = ‖x‖² − 2x_j + 1), i.e. 0
//!   local, j ≥ 1 MEC j. The allocation of (f, p) is the environment's exact solve (eq. 13).
//! - **Reward signal**: r = −`reward_scale`·ΣΦ/N (the environment's `negative_mean` form, eq. 11):
//!   the paper's 1/ΣΦ needs an elementwise reciprocal that no kernel provides; the metrics still
//!   report the reward of the environment's configured form, computed on the host from ΣΦ.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::agent::{Agent, Decisions, OnStep};
use crate::autograd::{Tape, Var};
use crate::backend::{Backend, Buffer};
use crate::env::mec::{Heuristic, MecConfig, MecEnv, RewardKind};
use crate::error::{Error, Result};
use crate::ops::elementwise::AxpbyParams;
use crate::ops::elementwise::SCALE_ACC;
use crate::ops::glue::CopyParams;
use crate::ops::glue::GLUE_COPY;
use crate::rng::RNG_FILL;
use crate::rng::{self, Dist, RngFillParams};
use crate::tensor::Tensor;

/// Seed tag of the training environment, shared by both baselines: with the same seed they
/// train and are evaluated on the same layouts and channel states.
pub const TAG_ENV: u64 = 0xD1C5_0E17;

/// Metrics of one step (means over the B instances).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// Step index (training step or evaluation state).
    pub step: usize,
    /// Mean reward in the environment's configured form (1/ΣΦ or −ΣΦ/N).
    pub reward: f64,
    /// Mean Σ_i Φ_i (eq. 11).
    pub objective: f64,
    /// Mean over instances of mean_i T_i (s).
    pub mean_time: f64,
    /// Mean over instances of mean_i E_i (J).
    pub mean_energy: f64,
}

/// What an evaluation returns (Table III: inference time, average reward).
#[derive(Clone, Debug, Default, Serialize)]
pub struct EvalReport {
    /// Metrics per evaluated state.
    pub per_step: Vec<StepMetrics>,
    /// Mean Σ Φ over states and instances.
    pub objective: f64,
    /// Mean reward (the environment's form).
    pub reward: f64,
    /// Mean of mean_i T_i.
    pub mean_time: f64,
    /// Mean of mean_i E_i.
    pub mean_energy: f64,
    /// Wall time of one decision for one instance (s): forward pass and rounding of the batch,
    /// synchronized, divided by B (0 for heuristics, which are not timed).
    pub inference_s_per_decision: f64,
}

/// The per-instance reward of the environment's configured form from Σ Φ.
pub fn reward_of(kind: RewardKind, objective: f64, n: usize) -> f64 {
    match kind {
        RewardKind::Inverse => 1.0 / objective,
        RewardKind::NegativeMean => -objective / n as f64,
    }
}

/// Metrics of decisions `a` [B, N] on the current state of `env` (host f64; downloads).
pub fn metrics_of(env: &MecEnv, a: &Buffer, step: usize) -> Result<StepMetrics> {
    let av = env.backend().download(a)?;
    let n = env.config().n_iotd;
    let b = env.batch();
    let s = env.summarize_exact(&av[..b * n])?;
    let k = s.len().max(1) as f64;
    let mut m = StepMetrics { step, ..Default::default() };
    for x in &s {
        m.objective += x.objective / k;
        m.reward += reward_of(env.config().reward, x.objective, n) / k;
        m.mean_time += x.mean_time / k;
        m.mean_energy += x.mean_energy / k;
    }
    Ok(m)
}

/// dst[toff .. toff+n] = src[soff .. soff+n] on the device (`glue_copy`).
pub(crate) fn copy_words(
    be: &dyn Backend,
    src: &Buffer,
    soff: usize,
    dst: &Buffer,
    toff: usize,
    n: usize,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let p = CopyParams { d0: 1, d1: 1, d2: 1, n: n as u32, soff: soff as u32, toff: toff as u32, ..Default::default() };
    be.launch(&GLUE_COPY, bytemuck::bytes_of(&p), n as u32, &[src, dst])
}

/// dst += a·src on the device (`scale_acc`), n elements.
pub(crate) fn scale_acc(be: &dyn Backend, src: &Buffer, dst: &Buffer, a: f32, n: usize) -> Result<()> {
    let p = AxpbyParams { n: n as u32, a, ..Default::default() };
    be.launch(&SCALE_ACC, bytemuck::bytes_of(&p), n as u32, &[src, dst])
}

/// A fresh copy of a tensor's values (a constant for the tape; no aliasing with the source).
pub(crate) fn detach(t: &Tensor) -> Result<Tensor> {
    let out = Tensor::zeros(t.backend(), t.shape())?;
    copy_words(&**t.backend(), t.buffer(), 0, out.buffer(), 0, t.numel())?;
    Ok(out)
}

/// The state of every instance, copied off the environment: [B, M·N].
pub fn state(env: &MecEnv) -> Result<Tensor> {
    let (b, n, m) = (env.batch(), env.config().n_iotd, env.config().n_mec);
    let t = Tensor::zeros(env.backend(), &[b, m * n])?;
    copy_words(&**env.backend(), &env.obs, 0, t.buffer(), 0, b * m * n)?;
    Ok(t)
}

/// The reward signal r = −scale·ΣΦ/N \[B\] of decisions `a` [B, N] (u32 buffer) and the objective
/// buffer \[B\] (eq. 11 with the exact allocation of eq. 13).
pub fn reward_signal(env: &MecEnv, a: &Buffer, scale: f32) -> Result<Tensor> {
    let b = env.batch();
    let phi = env.objective_exact_dev(a, 1)?;
    let r = Tensor::zeros(env.backend(), &[b])?;
    scale_acc(&**env.backend(), &phi, r.buffer(), -scale / env.config().n_iotd as f32, b)?;
    Ok(r)
}

/// The discrete decisions [B·N] (u32) of scores x [B, N·(M+1)]: the nearest one-hot vertex per
/// IoTD (the first maximum).
pub fn round_scores(tape: &Tape, x: &Var, rows: usize, classes: usize) -> Result<Tensor> {
    let xr = tape.reshape(x, &[rows, classes])?;
    tape.argmax(&xr)
}

/// n standard normals on the device under (seed, step): [n] (Philox, Box–Muller).
pub(crate) fn normals(be: &Arc<dyn Backend>, n: usize, seed: u64, step: u32, stream: u32) -> Result<Tensor> {
    let pairs = n.div_ceil(2);
    let key = rng::key_of(seed);
    let p = RngFillParams {
        key0: key[0],
        key1: key[1],
        c1: step,
        c3: stream,
        dist: Dist::Normal as u32,
        n: pairs as u32,
        ..Default::default()
    };
    let t = Tensor::zeros(be, &[2 * pairs])?;
    be.launch(&RNG_FILL, bytemuck::bytes_of(&p), pairs as u32, &[t.buffer()])?;
    if 2 * pairs == n {
        return Ok(t);
    }
    let out = Tensor::zeros(be, &[n])?;
    copy_words(&**be, t.buffer(), 0, out.buffer(), 0, n)?;
    Ok(out)
}

/// A constant tensor y [B, N] with y[b, i] = x[b] (x [B]), as the product x [B,1] · 1 [1,N].
pub(crate) fn broadcast_rows(be: &Arc<dyn Backend>, x: &Tensor, n: usize) -> Result<Tensor> {
    let b = x.numel();
    let ones = Tensor::zeros(be, &[1, n])?;
    ones.fill(1.0)?;
    let tape = Tape::no_grad(be);
    let y = tape.linear(&tape.constant(&x.reshape(&[b, 1])?), &tape.constant(&ones), None)?;
    Ok(y.value)
}

/// What Actor-Critic and DDPG hold alike: the backend, the system, the B training instances
/// (seeded by [`TAG_ENV`]: with the same master seed both see the same layouts and states) and
/// the training steps taken.
pub(crate) struct Learner {
    pub(crate) be: Arc<dyn Backend>,
    pub(crate) mec: MecConfig,
    /// The training instances.
    pub(crate) env: MecEnv,
    env_seed: u64,
    episode_steps: usize,
    /// Training steps taken.
    pub(crate) step: usize,
}

impl Learner {
    /// B = `train_envs` training instances of `mec`, new layouts every `episode_steps` steps (0:
    /// one layout per instance, the paper's single scenario; the fading is redrawn every step).
    pub(crate) fn new(
        be: Arc<dyn Backend>,
        mec: &MecConfig,
        train_envs: usize,
        seed: u64,
        episode_steps: usize,
    ) -> Result<Self> {
        let env_seed = rng::derive_seed(seed, TAG_ENV);
        let env = MecEnv::new(be.clone(), mec, train_envs, env_seed)?;
        Ok(Learner { be, mec: mec.clone(), env, env_seed, episode_steps, step: 0 })
    }

    /// The training instances' next state after step `self.step`: new layouts at an episode's
    /// end, else the next channel state.
    pub(crate) fn advance(&mut self) -> Result<()> {
        let next = self.step + 1;
        if self.episode_steps > 0 && next.is_multiple_of(self.episode_steps) {
            self.env.reset((next / self.episode_steps) as u32)
        } else {
            self.env.step()
        }
    }

    /// The training instances as they stand after `step` steps (a resume): the episode's layouts
    /// at its channel step.
    pub(crate) fn seek(&mut self, step: usize) -> Result<()> {
        let (episode, at) = match step.checked_div(self.episode_steps) {
            Some(e) => (e, step % self.episode_steps),
            None => (0, step),
        };
        if episode > 0 {
            self.env.reset(episode as u32)?;
        }
        self.env.seek(at as u32)?;
        self.step = step;
        Ok(())
    }

    /// Held-out states ([`Baseline::heldout_env`]).
    pub(crate) fn heldout_env(&self, batch: usize) -> Result<MecEnv> {
        let mut env = MecEnv::new(self.be.clone(), &self.mec, batch, self.env_seed)?;
        if let Some(episode) = self.step.checked_div(self.episode_steps) {
            env.reset((episode + 1) as u32)?;
        } else {
            for _ in 0..=self.step {
                env.step()?;
            }
        }
        Ok(env)
    }

    /// What a checkpoint must match: the algorithm's config under `key`, the system, the backend.
    pub(crate) fn fingerprint(&self, key: &str, cfg: &impl Serialize) -> serde_json::Value {
        let mut v = serde_json::json!({ "mec": self.mec, "backend": self.be.kind().to_string() });
        v[key] = serde_json::json!(cfg);
        v
    }
}

/// What Table III needs of a DRL baseline besides [`Agent`]: its training step and budget, and
/// held-out states to evaluate it on.
pub trait Baseline: Agent<Metrics = StepMetrics> {
    /// One training step on the B training instances; kernel launches only, and with `log` the
    /// step's metrics read back (downloads).
    fn train_step(&mut self, log: bool) -> Result<Option<StepMetrics>>;

    /// Training steps taken.
    fn steps_done(&self) -> usize;

    /// Training steps the config asks for.
    fn steps(&self) -> usize;

    /// Held-out states for evaluation: `batch` instances of the training layouts (the same seed;
    /// B ≤ `train_envs` shares the training instances' layouts) at the channel states after the
    /// ones trained on, or with `episode_steps` > 0 the first episode after training.
    fn heldout_env(&self, batch: usize) -> Result<MecEnv>;

    /// The policy's decisions on `steps` consecutive states of `env` (advanced), with the
    /// inference time.
    fn evaluate(&self, env: &mut MecEnv, steps: usize) -> Result<EvalReport>
    where
        Self: Sized,
    {
        evaluate_with(env, steps, true, &mut |e| self.act(e))
    }
}

/// [`Agent::train`] of a DRL baseline: its steps from the current one to the budget; step k is
/// logged when k is a multiple of `log_every` or the last.
pub(crate) fn train<A: Baseline>(a: &mut A, log_every: usize, on_step: &mut OnStep<'_, A>) -> Result<()> {
    let steps = a.steps();
    while a.steps_done() < steps {
        let k = a.steps_done();
        let m = a.train_step(log_every > 0 && (k.is_multiple_of(log_every) || k + 1 == steps))?;
        if on_step(a, m)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// Evaluate a decision rule on `steps` consecutive states of `env` (advanced in place).
/// `decide` returns decisions [B, N] on the device; its time (synchronized) is the inference time.
pub fn evaluate_with(
    env: &mut MecEnv,
    steps: usize,
    timed: bool,
    decide: &mut dyn FnMut(&MecEnv) -> Result<Decisions>,
) -> Result<EvalReport> {
    if steps == 0 {
        return Err(Error::config("eval_steps", 0, "evaluate at least one state"));
    }
    let mut rep = EvalReport::default();
    let mut secs = 0.0;
    for s in 0..steps {
        env.backend().sync()?;
        let t0 = Instant::now();
        let a = decide(env)?;
        env.backend().sync()?;
        secs += t0.elapsed().as_secs_f64();
        let m = metrics_of(env, a.buffer(), s)?;
        rep.per_step.push(m);
        env.step()?;
    }
    let k = steps as f64;
    for m in &rep.per_step {
        rep.objective += m.objective / k;
        rep.reward += m.reward / k;
        rep.mean_time += m.mean_time / k;
        rep.mean_energy += m.mean_energy / k;
    }
    if timed {
        rep.inference_s_per_decision = secs / (k * env.batch() as f64);
    }
    Ok(rep)
}

/// A heuristic (Local, Greedy, Random) on the same kind of held-out states (not timed).
pub fn evaluate_heuristic(env: &mut MecEnv, steps: usize, which: Heuristic) -> Result<EvalReport> {
    evaluate_with(env, steps, false, &mut |e| which.act(e))
}

/// Check a hidden-layer list.
pub(crate) fn check_hidden(field: &str, hidden: &[usize]) -> Result<()> {
    if hidden.is_empty() || hidden.contains(&0) {
        return Err(Error::config(field, format!("{hidden:?}"), "at least one hidden layer, every width >= 1"));
    }
    Ok(())
}

/// Check a finite positive value.
pub(crate) fn check_positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be a finite number > 0"))
    }
}

/// Check a value in [lo, hi].
pub(crate) fn check_range(field: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(Error::config(field, v, format!("must be in [{lo}, {hi}]")))
    }
}

/// Check a count ≥ 1.
pub(crate) fn check_count(field: &str, v: usize) -> Result<()> {
    if v >= 1 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be >= 1"))
    }
}

/// Hidden activation of the baselines' networks (a serializable mirror of [`crate::ops::act::Act`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Hidden {
    /// max(x, 0).
    #[default]
    Relu,
    /// tanh.
    Tanh,
}

impl Hidden {
    /// The op.
    pub fn act(self) -> crate::ops::act::Act {
        match self {
            Hidden::Relu => crate::ops::act::Act::Relu,
            Hidden::Tanh => crate::ops::act::Act::Tanh,
        }
    }
}
