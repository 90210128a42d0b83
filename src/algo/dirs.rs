//! DIRS (DIRS paper §V, Algorithms 1–4; docs/dirs.md): M agents (one per MEC, agent j an MLP on its
//! own column h_j; all M in one grouped parameter set), the maximum vote, Lévy flight refinement
//! of the voted action, demonstrations from a small-β Lévy search, imitation pre-training with
//! loss (15), online training every φ steps with loss (17) on a prioritized replay memory (16),
//! Adam. Environment, replay, networks and search stay on the device; the host reads metrics.
//!
//! Kernels (stem `dirs`; `kernels/algo/dirs.cu`, `shaders/algo/dirs.wgsl`), with the agents'
//! logits z [M, R, N] (R rows = instances or minibatch transitions):
//! - `dirs_vote` (§V-C (5)): a_i = 1 + argmax_j z_ij (first maximum) if max_j σ(z_ij) ≥ 0.5,
//!   i.e. max_j z_ij ≥ 0, else 0 (local). The logit test is the exact form of σ ≥ 0.5.
//! - `dirs_loss_rows`: ℓ_k = Σ_j Σ_i BCE(z_jki, [a*_ki = j]) (agent j's target is 1 where the
//!   label sends IoTD i to MEC j; a local label is all zeros).
//! - `dirs_loss_total` (one thread): K_D demonstrations and S agent rows in the minibatch;
//!   c_k = 1/K_D (demonstration) or λ2/S (agent); loss = Σ_k c_k ℓ_k, i.e. Σ_j [L_D + λ2 L_A]
//!   of eq. (15)/(17)/(18) for every agent j; |Δδ_k| = ℓ_k / M (the loss averaged over agents, eq. 16).
//! - `dirs_loss_grad`: ∂loss/∂z_jki = c_k (σ(z_jki) − t_jki).
//!
//! The λ1‖θ‖² term of (15) enters as its gradient 2λ1θ added to every parameter's gradient.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::agent::check_env;
use super::replay::{Replay, ReplayConfig, Transposer};
use crate::algo::dirs::kernels::{DIRS_LOSS_GRAD, DIRS_LOSS_ROWS, DIRS_LOSS_TOTAL, DIRS_VOTE};
use crate::autograd::Tape;
use crate::backend::{Backend, Buffer};
use crate::env::mec::optimum::optimum_batch;
use crate::env::mec::{Heuristic, MecConfig, MecEnv};
use crate::error::{Error, Result};
use crate::nn::{Mlp, OptimConfig, Optimizer};
use crate::ops::act::Act;
use crate::ops::elementwise::AxpbyParams;
use crate::ops::elementwise::SCALE_ACC;
use crate::rng;
use crate::search::levy::{self, LevyConfig};
use crate::tensor::Tensor;

pub mod backbone;
pub mod checkpoint;
pub mod config;
pub mod kernels;
pub mod loss;

pub use config::{DemoInit, DemoSolver, DirsConfig};
pub use loss::*;

/// The maximum vote on the device: logits z [M, R, N] → decisions [R, N] u32.
pub fn vote(be: &Arc<dyn Backend>, z: &Tensor, rows: usize) -> Result<Buffer> {
    let s = z.shape();
    if s.len() != 3 || s[1] != rows {
        return Err(Error::shape("dirs vote logits", format!("[M, {rows}, N]"), format!("{s:?}")));
    }
    let (m, n) = (s[0], s[2]);
    let a = be.alloc(rows * n)?;
    let p = DirsParams { m: m as u32, rows: rows as u32, n: n as u32, ..Default::default() };
    be.launch(&DIRS_VOTE, bytemuck::bytes_of(&p), (rows * n) as u32, &[z.buffer(), &a])?;
    Ok(a)
}

/// Alg. 4 from `a0` [B, N] on every instance of `env` (every candidate starts there; greedy
/// selection (28) keeps a candidate only when strictly better, so the result is never worse
/// than `a0`). Returns (a* [B, N], its objective \[B\]) on the device: no download (unlike
/// [`levy::search`], which reads the best fitness back).
pub fn refine(env: &MecEnv, a0: &Buffer, cfg: &LevyConfig, seed: u64, call: u32) -> Result<(Buffer, Buffer)> {
    let r = levy::search_dev(env, cfg, a0, seed, call, &mut |_, _| Ok(()))?;
    Ok((r.best_a, r.best_fit))
}

/// The start decisions [B, N] of the demonstration search on the current state of `env`.
fn demo_start(env: &MecEnv, init: DemoInit) -> Result<Buffer> {
    let h = match init {
        DemoInit::Local => Heuristic::Local,
        DemoInit::Greedy => Heuristic::Greedy,
        DemoInit::Random => Heuristic::Random,
        DemoInit::Best => {
            // Outside any training step: the per-instance choice is made on the host.
            let be = env.backend();
            let n = env.config().n_iotd;
            let greedy = env.heuristic(Heuristic::Greedy)?;
            let phi_g = env.objective_exact(&greedy, 1)?;
            let phi_l = env.objective_exact(&vec![0; greedy.len()], 1)?;
            let mut a0 = greedy;
            for (b, row) in a0.chunks_mut(n).enumerate() {
                if phi_g[b].is_nan() || phi_g[b] >= phi_l[b] {
                    row.fill(0);
                }
            }
            return be.upload(&a0);
        }
    };
    env.heuristic_dev(h)
}

/// Table II's hits of one instance: (decisions equal to the label, decisions in the label's
/// set). IoTD i's decision d is in the set when d = label_i or the label with a_i := d has
/// Σ Φ ≤ (1 + `tol`)·Σ Φ(label) — eq. (11) with the exact allocation: Σ cost[i, a_i] +
/// c·Σ_j S_j², c = φ_T / F_max, S_j = Σ_{a_i = j} √F_i. `cost` [N, M+1], `sqrt_f` \[N\].
pub fn decision_hits(cost: &[f32], sqrt_f: &[f32], label: &[u32], vote: &[u32], c: f64, tol: f64) -> (usize, usize) {
    let n = label.len();
    let w = cost.len() / n.max(1);
    let mut s = vec![0.0f64; w];
    let mut base = 0.0;
    for i in 0..n {
        s[label[i] as usize] += sqrt_f[i] as f64;
        base += cost[i * w + label[i] as usize] as f64;
    }
    base += c * s[1..].iter().map(|x| x * x).sum::<f64>();
    let cpu = |j: usize, delta: f64| if j == 0 { 0.0 } else { c * ((s[j] + delta).powi(2) - s[j] * s[j]) };
    let (mut exact, mut set) = (0, 0);
    for i in 0..n {
        let (d, l) = (vote[i] as usize, label[i] as usize);
        if d == l {
            exact += 1;
            set += 1;
        } else if d < w {
            let f = sqrt_f[i] as f64;
            let change = cost[i * w + d] as f64 - cost[i * w + l] as f64 + cpu(d, f) + cpu(l, -f);
            if change <= tol * base {
                set += 1;
            }
        }
    }
    (exact, set)
}

// ---------------------------------------------------------------------------------------------
// The algorithm
// ---------------------------------------------------------------------------------------------

/// Seeds derived from the master seed (tags).
mod tag {
    pub const ENV: u64 = 1;
    pub const NET: u64 = 2;
    pub const REPLAY: u64 = 3;
    pub const LEVY: u64 = 4;
    pub const DEMO_LEVY: u64 = 6;
}

/// A demonstration set (Alg. 2 line 1): states and the labels of the small-β search, held in a
/// replay ring of their own (slot order = generation order) so that it can be gathered in the
/// ensemble layout for the accuracy of Table II.
pub struct Demonstrations {
    /// States and labels (all flagged as demonstrations).
    pub set: Replay,
    /// Objective Σ Φ of each label (the search's best fitness), in generation order.
    pub objective: Vec<f32>,
    /// Each demonstration's cost table [rows, N, M+1] and √F_i [rows, N] (host copies, for the
    /// set accuracy of Table II).
    cost: Vec<f32>,
    sqrt_f: Vec<f32>,
}

/// Table II's two accuracies of the vote on a demonstration set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Fraction of IoTD decisions equal to the label (the paper's accuracy).
    pub exact: f64,
    /// Fraction of IoTD decisions d that are the label's or as good within the tolerance: the
    /// label with a_i := d has Σ Φ ≤ (1 + `accuracy_tolerance`)·Σ Φ(label).
    pub set: f64,
}

impl Demonstrations {
    /// Number of demonstrations.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// What one online step reports (read only when asked: downloads).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StepMetrics {
    /// Online step t.
    pub step: usize,
    /// Mean over instances of Σ Φ of the voted action a_e.
    pub voted: f64,
    /// Mean over instances of Σ Φ of the stored action a* (refined, or a_e without Lévy).
    pub refined: f64,
    /// Mean reward 1/Σ Φ of the voted action (the paper's reward, Fig. 8).
    pub reward: f64,
    /// The last training loss (17) (NaN before the first).
    pub loss: f64,
    /// Mean over instances and IoTDs of the completion time T_i of the voted action (s, Fig. 6a).
    #[serde(default)]
    pub mean_time: f64,
    /// Mean over instances and IoTDs of the energy E_i of the voted action (J, Fig. 6b).
    #[serde(default)]
    pub mean_energy: f64,
    /// Agent j's part of the last training loss, L_j of eq. (17) without λ1‖θ‖² (Fig. 5; sums
    /// to `loss`); empty before the first training iteration.
    #[serde(default)]
    pub agent_loss: Vec<f64>,
}

/// Per-agent data loss of one minibatch, eq. (15)/(17): L_j = Σ_k c_k Σ_i BCE(z_jki, [a*_ki = j])
/// for z [M, R, N], labels [R, N], weights c \[R\] (the host form of `dirs_loss_rows` split by agent).
pub fn agent_losses(z: &[f32], label: &[u32], c: &[f32], m: usize, r: usize, n: usize) -> Result<Vec<f64>> {
    if z.len() < m * r * n || label.len() < r * n || c.len() < r {
        return Err(Error::shape(
            "dirs agent_losses",
            format!("z {}, label {}, c {r}", m * r * n, r * n),
            format!("z {}, label {}, c {}", z.len(), label.len(), c.len()),
        ));
    }
    Ok((0..m)
        .map(|j| {
            (0..r)
                .map(|k| {
                    let row: f32 = (0..n)
                        .map(|i| {
                            loss::bce_term(z[(j * r + k) * n + i], (label[k * n + i] == j as u32 + 1) as u32 as f32)
                        })
                        .sum();
                    c[k] as f64 * row as f64
                })
                .sum()
        })
        .collect())
}

/// The loss of one training iteration (Fig. 5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Training iterations taken, this one included (1-based).
    pub iteration: usize,
    /// The loss (15)/(17) (data part, summed over agents).
    pub loss: f64,
    /// Its per-agent parts L_j.
    pub agent_loss: Vec<f64>,
}

/// What the last training iteration leaves for [`Dirs::last_agent_losses`]: logits z [M, K, N],
/// labels [K, N], weights c [K] (kept on the device; read only when asked).
struct LossParts {
    z: Tensor,
    label: Buffer,
    c: Buffer,
    rows: usize,
}

/// DIRS: the agents, their optimizer, the replay memory and the training environment.
pub struct Dirs {
    be: Arc<dyn Backend>,
    cfg: DirsConfig,
    mec: MecConfig,
    /// The M agents (one grouped MLP [N, hidden…, N], K = M; linear output = logits).
    pub agents: Mlp,
    opt: Optimizer,
    /// The prioritized replay memory.
    pub replay: Replay,
    /// The training environment (B = `train_envs`).
    pub env: MecEnv,
    transposer: Transposer,
    levy_calls: u64,
    /// Online steps taken.
    pub t: usize,
    episode: u32,
    /// Training iterations taken (imitation and online).
    pub iterations: usize,
    last_loss: Option<Tensor>,
    last_parts: Option<LossParts>,
}

impl Dirs {
    /// Agents, optimizer, empty replay and the training environment for `mec` on `be`.
    pub fn new(be: Arc<dyn Backend>, mec: &MecConfig, cfg: &DirsConfig) -> Result<Self> {
        cfg.validate()?;
        mec.validate()?;
        if cfg.demo_solver == DemoSolver::Optimal && mec.task_cycles_max.is_some() {
            return Err(Error::config(
                "dirs.demo_solver",
                "optimal",
                "needs equal task cycles: unset mec.task_cycles_max or use \"levy\"",
            ));
        }
        let (n, m) = (mec.n_iotd, mec.n_mec);
        let mut sizes = vec![n];
        sizes.extend(&cfg.hidden);
        sizes.push(n);
        let agents = Mlp::new(&be, &sizes, m, Act::Relu, None, rng::derive_seed(cfg.seed, tag::NET))?;
        let opt = Optimizer::new(OptimConfig::adam(cfg.lr as f32), &agents.params())?;
        let replay = Replay::new(be.clone(), cfg.replay(), n, m, rng::derive_seed(cfg.seed, tag::REPLAY))?;
        let env = MecEnv::new(be.clone(), mec, cfg.train_envs, rng::derive_seed(cfg.seed, tag::ENV))?;
        let transposer = Transposer::new(be.clone(), cfg.train_envs, n, m)?;
        Ok(Dirs {
            be,
            cfg: cfg.clone(),
            mec: mec.clone(),
            agents,
            opt,
            replay,
            env,
            transposer,
            levy_calls: 0,
            t: 0,
            episode: 0,
            iterations: 0,
            last_loss: None,
            last_parts: None,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.be
    }

    /// The agents' logits [M, B, N] for observations already in the ensemble layout (no tape).
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        let tape = Tape::no_grad(&self.be);
        Ok(self.agents.forward(&tape, &tape.constant(x))?.value)
    }

    /// Decentralized decisions for every instance of `env` (§V-A, Alg. 1 lines 6–10): agent j
    /// sees only its column h_j; the vote combines the agents' outputs. Returns a [B, N] on the
    /// device; the allocation (13) is the environment's closed form (`objective_exact_dev`).
    pub fn decide(&self, env: &MecEnv) -> Result<Buffer> {
        self.check_env(env)?;
        let b = env.batch();
        let (n, m) = (self.mec.n_iotd, self.mec.n_mec);
        let x = Tensor::zeros(&self.be, &[m, b, n])?;
        if b == self.cfg.train_envs {
            self.transposer.run(&env.obs, x.buffer())?;
        } else {
            Transposer::new(self.be.clone(), b, n, m)?.run(&env.obs, x.buffer())?;
        }
        vote(&self.be, &self.logits(&x)?, b)
    }

    fn check_env(&self, env: &MecEnv) -> Result<()> {
        check_env("dirs", &self.mec, &self.be, env)
    }

    /// Objective Σ Φ per instance of DIRS's decisions on `env` (a download: a metric).
    pub fn evaluate(&self, env: &MecEnv) -> Result<Vec<f32>> {
        let a = self.decide(env)?;
        crate::backend::download_f32(&*self.be, &env.objective_exact_dev(&a, 1)?)
    }

    /// The seed and call number of the next refinement search (65,536 calls per derived seed:
    /// the call occupies 16 bits of the Philox counter).
    fn next_search(&mut self) -> (u64, u32) {
        let call = self.levy_calls;
        self.levy_calls += 1;
        (rng::derive_seed(rng::derive_seed(self.cfg.seed, tag::LEVY), call >> 16), (call & 0xffff) as u32)
    }

    /// Alg. 2 line 1: `count` demonstrations from consecutive channel states of `env` (its B
    /// instances, ⌈count/B⌉ steps; the environment advances), each labelled by the small-β Lévy
    /// search (β = `demo_beta`) started from `demo_init`. With `keep` they also enter the replay
    /// memory (Alg. 1 line 4).
    pub fn demonstrations(&mut self, env: &mut MecEnv, count: usize, keep: bool) -> Result<Demonstrations> {
        self.check_env(env)?;
        if count == 0 {
            return Err(Error::config("dirs.demonstrations", 0, "must be >= 1"));
        }
        let b = env.batch();
        let steps = count.div_ceil(b);
        let cfg = ReplayConfig { capacity: steps * b, ..self.cfg.replay() };
        let mut set = Replay::new(self.be.clone(), cfg, self.mec.n_iotd, self.mec.n_mec, 0)?;
        let lc = LevyConfig { beta: self.cfg.demo_beta, ..self.cfg.levy.clone() };
        let mut objective = Vec::with_capacity(steps * b);
        let (mut cost, mut sqrt_f) = (vec![], vec![]);
        let p = env.params();
        for s in 0..steps {
            let c = crate::backend::download_f32(&*self.be, &env.cost)?;
            let sf = crate::backend::download_f32(&*self.be, &env.sqrt_f)?;
            let label = match self.cfg.demo_solver {
                DemoSolver::Levy => {
                    let a0 = demo_start(env, self.cfg.demo_init)?;
                    let seed = rng::derive_seed(rng::derive_seed(self.cfg.seed, tag::DEMO_LEVY), s as u64 >> 16);
                    let r = levy::search(env, &lc, &a0, seed, (s & 0xffff) as u32, false, &mut |_| {})?;
                    objective.extend(r.best_fit);
                    r.best_a
                }
                DemoSolver::Optimal => {
                    let n = self.mec.n_iotd;
                    let (a, _) = optimum_batch(&c, &sf, n, self.mec.n_mec, p.f_max as f64, p.phi_t as f64)?;
                    let a = self.be.upload(&a)?;
                    objective.extend(crate::backend::download_f32(&*self.be, &env.objective_exact_dev(&a, 1)?)?);
                    a
                }
            };
            set.push(&env.obs, &label, b, true)?;
            if keep {
                self.replay.push(&env.obs, &label, b, true)?;
            }
            cost.extend(c);
            sqrt_f.extend(sf);
            env.step()?;
        }
        Ok(Demonstrations { set, objective, cost, sqrt_f })
    }

    /// Fraction of IoTD decisions where the vote equals the demonstration label (Table II).
    pub fn accuracy(&self, d: &Demonstrations) -> Result<f64> {
        Ok(self.accuracies(d)?.exact)
    }

    /// Both accuracies of Table II ([`Accuracy`]) of the vote on the demonstrations `d`.
    pub fn accuracies(&self, d: &Demonstrations) -> Result<Accuracy> {
        let rows = d.len();
        let idx: Vec<u32> = (0..rows as u32).collect();
        let (x, labels, _) = d.set.gather(&self.be.upload(&idx)?, rows)?;
        let a = self.be.download(&vote(&self.be, &self.logits(&x)?, rows)?)?;
        let want = self.be.download(&labels)?;
        let (n, w) = (self.mec.n_iotd, self.mec.n_mec + 1);
        let p = self.env.params();
        let c = p.phi_t as f64 / p.f_max as f64;
        let (mut exact, mut set) = (0usize, 0usize);
        for k in 0..rows {
            let (e, s) = decision_hits(
                &d.cost[k * n * w..(k + 1) * n * w],
                &d.sqrt_f[k * n..(k + 1) * n],
                &want[k * n..(k + 1) * n],
                &a[k * n..(k + 1) * n],
                c,
                self.cfg.accuracy_tolerance,
            );
            exact += e;
            set += s;
        }
        let total = (rows * n).max(1) as f64;
        Ok(Accuracy { exact: exact as f64 / total, set: set as f64 / total })
    }

    /// An environment with the training instances' layouts (the same seed and B) at channel
    /// step `step` onwards (use steps far from those of training for held-out states).
    pub fn scenario(&self, step: u32) -> Result<MecEnv> {
        let mut env =
            MecEnv::new(self.be.clone(), &self.mec, self.cfg.train_envs, rng::derive_seed(self.cfg.seed, tag::ENV))?;
        env.seek(step)?;
        Ok(env)
    }

    /// One training iteration (Alg. 2 line 3–4 / Alg. 3 lines 4–8): a prioritized minibatch,
    /// loss (17) (= (15) when the minibatch holds only demonstrations), Adam, new |Δδ| into the
    /// replay. Launches kernels only; the loss stays on the device.
    pub fn train_step(&mut self) -> Result<()> {
        let (n, m, k) = (self.mec.n_iotd, self.mec.n_mec, self.cfg.minibatch);
        let be = self.be.clone();
        let mb = self.replay.sample(k)?;
        self.opt.zero_grad()?;
        let tape = Tape::new(&be);
        let z = self.agents.forward(&tape, &tape.constant(&mb.x))?;
        let p = DirsParams {
            m: m as u32,
            rows: k as u32,
            n: n as u32,
            lambda2: self.cfg.lambda2 as f32,
            ..Default::default()
        };
        let pb = bytemuck::bytes_of(&p);
        let ls = be.alloc(k)?;
        be.launch(&DIRS_LOSS_ROWS, pb, k as u32, &[z.value.buffer(), &mb.label, &ls])?;
        let c = be.alloc(k)?;
        let v = be.alloc(k)?;
        let loss = Tensor::zeros(&be, &[1])?;
        be.launch(&DIRS_LOSS_TOTAL, pb, 1, &[&mb.demo, &ls, &c, &v, loss.buffer()])?;
        let total = m * k * n;
        let g = Tensor::zeros(&be, z.shape())?;
        be.launch(&DIRS_LOSS_GRAD, pb, total as u32, &[z.value.buffer(), &mb.label, &c, g.buffer()])?;
        // The gradient g of (17), formed by the kernel, seeds the reverse pass through the agents.
        tape.backward_with(&z, &g)?;
        // λ1‖θ‖² of (15): its gradient 2λ1θ.
        if self.cfg.lambda1 > 0.0 {
            for prm in self.agents.params() {
                let q = AxpbyParams {
                    n: prm.value.numel() as u32,
                    a: (2.0 * self.cfg.lambda1) as f32,
                    ..Default::default()
                };
                be.launch(&SCALE_ACC, bytemuck::bytes_of(&q), q.n, &[prm.value.buffer(), prm.grad.buffer()])?;
            }
        }
        self.opt.step()?;
        self.replay.update(&mb.idx, &v, k)?;
        self.iterations += 1;
        self.last_loss = Some(loss);
        self.last_parts = Some(LossParts { z: z.value.clone(), label: mb.label, c, rows: k });
        Ok(())
    }

    /// The loss (17) of the last training iteration (a download), or None before any.
    pub fn last_loss(&self) -> Result<Option<f64>> {
        match &self.last_loss {
            Some(t) => Ok(Some(t.to_vec()?[0] as f64)),
            None => Ok(None),
        }
    }

    /// Each agent's part L_j of the last training loss (Fig. 5; downloads the iteration's
    /// logits, labels and weights), or None before any.
    pub fn last_agent_losses(&self) -> Result<Option<Vec<f64>>> {
        let Some(p) = &self.last_parts else { return Ok(None) };
        let (n, m) = (self.mec.n_iotd, self.mec.n_mec);
        let z = p.z.to_vec()?;
        let label = self.be.download(&p.label)?;
        let c = crate::backend::download_f32(&*self.be, &p.c)?;
        agent_losses(&z, &label, &c, m, p.rows, n).map(Some)
    }

    /// Alg. 2: demonstrations into the replay, then T_D training iterations. Returns the
    /// demonstrations (for the accuracy of Table II). `on_iter` after each iteration.
    pub fn pretrain(&mut self, on_iter: &mut dyn FnMut(usize)) -> Result<Demonstrations> {
        let d = self.pretrain_demonstrations()?;
        for it in 0..self.cfg.t_d {
            self.train_step()?;
            on_iter(it);
        }
        Ok(d)
    }

    /// The last training iteration's loss and its per-agent parts (downloads), for Fig. 5.
    pub fn loss_point(&self) -> Result<LossPoint> {
        Ok(LossPoint {
            iteration: self.iterations,
            loss: self.last_loss()?.unwrap_or(f64::NAN),
            agent_loss: self.last_agent_losses()?.unwrap_or_default(),
        })
    }

    /// The first half of [`Dirs::pretrain`] (Alg. 2 line 1, Alg. 1 line 4): the demonstrations
    /// of the training scenario into the replay memory, kept for good with `keep_demonstrations`.
    pub fn pretrain_demonstrations(&mut self) -> Result<Demonstrations> {
        let placeholder = self.scenario(0)?;
        let mut env = std::mem::replace(&mut self.env, placeholder);
        let d = self.demonstrations(&mut env, self.cfg.demonstrations, true);
        self.env = env;
        let d = d?;
        if self.cfg.keep_demonstrations {
            self.replay.protect()?;
        }
        Ok(d)
    }

    /// One online step t (Alg. 1 lines 6–13 with Alg. 3): decentralized decisions a_e by the
    /// vote, a* by the Lévy refinement of a_e (or a_e in the ablation), {h_t, a*_t} into the
    /// replay, a training iteration when t mod φ = 0, then the next channel state (a new layout
    /// every `episode_steps`). With `metrics` the objectives are read back (downloads).
    pub fn online_step(&mut self, metrics: bool) -> Result<Option<StepMetrics>> {
        let a_e = self.decide(&self.env)?;
        let refined = if self.cfg.use_levy {
            let (seed, call) = self.next_search();
            Some(refine(&self.env, &a_e, &self.cfg.levy, seed, call)?)
        } else {
            None
        };
        let (a_star, fit) = match &refined {
            Some((a, f)) => (a, Some(f)),
            None => (&a_e, None),
        };
        let b = self.env.batch();
        self.replay.push(&self.env.obs, a_star, b, false)?;
        let out = if metrics {
            let pe = crate::backend::download_f32(&*self.be, &self.env.objective_exact_dev(&a_e, 1)?)?;
            let ps = match fit {
                Some(f) => crate::backend::download_f32(&*self.be, f)?,
                None => pe.clone(),
            };
            let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            let reward = pe.iter().map(|&x| 1.0 / x as f64).sum::<f64>() / pe.len() as f64;
            let sum = self.env.summarize_exact(&self.be.download(&a_e)?)?;
            let k = sum.len() as f64;
            Some(StepMetrics {
                step: self.t,
                voted: mean(&pe),
                refined: mean(&ps),
                reward,
                loss: f64::NAN,
                mean_time: sum.iter().map(|x| x.mean_time).sum::<f64>() / k,
                mean_energy: sum.iter().map(|x| x.mean_energy).sum::<f64>() / k,
                agent_loss: vec![],
            })
        } else {
            None
        };
        if self.t.is_multiple_of(self.cfg.train_every) {
            self.train_step()?;
        }
        self.t += 1;
        if self.cfg.episode_steps > 0 && self.t.is_multiple_of(self.cfg.episode_steps) {
            self.episode += 1;
            self.env.reset(self.episode)?;
        } else {
            self.env.step()?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §V-C (5), the paper's example: outputs 0.7, 0.8, 0.2 → MEC 2; all below 0.5 → local.
    /// Two IoTDs, one MEC, c = 0.1, √F = 1: label (1, 0), Σ Φ = 0.2 + 1 + 0.1 = 1.3. IoTD 0 local
    /// instead: 1 + 1 = 2 (+54 %); IoTD 1 offloaded too: 0.2 + 0.95 + 0.4 = 1.55 (+19 %).
    #[test]
    fn decision_hits_hand_case() {
        let cost = [1.0, 0.2, 1.0, 0.95];
        let sf = [1.0, 1.0];
        assert_eq!(decision_hits(&cost, &sf, &[1, 0], &[1, 0], 0.1, 0.0), (2, 2));
        assert_eq!(decision_hits(&cost, &sf, &[1, 0], &[1, 1], 0.1, 0.1), (1, 1));
        assert_eq!(decision_hits(&cost, &sf, &[1, 0], &[1, 1], 0.1, 0.2), (1, 2));
        assert_eq!(decision_hits(&cost, &sf, &[1, 0], &[0, 1], 0.1, 0.2), (0, 1));
        assert_eq!(decision_hits(&cost, &sf, &[1, 0], &[0, 1], 0.1, 0.6), (0, 2));
    }

    #[test]
    fn vote_paper_example() {
        let logit = |p: f32| (p / (1.0 - p)).ln();
        // M = 3, R = 1, N = 2: IoTD 0 is the example, IoTD 1 has 0.4, 0.1, 0.49.
        let z = [logit(0.7), logit(0.4), logit(0.8), logit(0.1), logit(0.2), logit(0.49)];
        assert_eq!(vote_one(&z, 3, 2, 0), 2);
        assert_eq!(vote_one(&z, 3, 2, 1), 0);
        // Exactly 0.5 (z = 0) offloads; ties go to the first MEC; NaN never wins.
        assert_eq!(vote_one(&[0.0, 0.0], 2, 1, 0), 1);
        assert_eq!(vote_one(&[f32::NAN, 0.3], 2, 1, 0), 2);
        assert_eq!(vote_one(&[f32::NAN, f32::NAN], 2, 1, 0), 0);
    }

    /// Loss (17) by hand: 1 demonstration and 2 agent rows, λ2 = 0.5, M = 1, N = 1.
    #[test]
    fn eq17_weights_and_loss_hand_case() {
        let (demo, ls) = ([1u32, 0, 0], [0.6f32, 0.2, 0.4]);
        let (mut c, mut v) = ([0f32; 3], [0f32; 3]);
        let l = loss_total(0.5, 2, &demo, &ls, &mut c, &mut v);
        // L_D = 0.6 / 1, L_A = (0.2 + 0.4) / 2 = 0.3 → 0.6 + 0.5·0.3 = 0.75.
        assert!((l - 0.75).abs() < 1e-6);
        assert_eq!(c, [1.0, 0.25, 0.25]);
        assert_eq!(v, [0.3, 0.1, 0.2]);
        // BCE term: z = 0 → ln 2 for either target; z = 2, t = 1 → ln(1 + e^-2).
        assert!((bce_term(0.0, 1.0) - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((bce_term(2.0, 1.0) - (1.0 + (-2.0f32).exp()).ln()).abs() < 1e-6);
        assert!((bce_term(2.0, 0.0) - (2.0 + (1.0 + (-2.0f32).exp()).ln())).abs() < 1e-6);
    }

    /// Fig. 5's per-agent losses add up to the loss (17) of `dirs_loss_rows` + `dirs_loss_total`,
    /// and agent j's part only depends on agent j's logits; a short buffer is a shape error.
    #[test]
    fn agent_losses_split_the_loss() {
        let (m, r, n) = (3usize, 4usize, 5usize);
        let p = DirsParams { m: 3, rows: 4, n: 5, lambda2: 0.5, ..Default::default() };
        let z: Vec<f32> = (0..m * r * n).map(|k| ((k as f32) * 0.37).cos() * 3.0).collect();
        let label: Vec<u32> = (0..r * n).map(|k| (k * 7 % 4) as u32).collect();
        let demo = [1u32, 0, 1, 0];
        let mut zb: Vec<u32> = z.iter().map(|x| x.to_bits()).collect();
        let mut lb = label.clone();
        let mut lsb = vec![0u32; r];
        cpu_loss_rows(bytemuck::bytes_of(&p), &mut [&mut zb, &mut lb, &mut lsb]).unwrap();
        let ls: Vec<f32> = lsb.iter().map(|x| f32::from_bits(*x)).collect();
        let mut c = [0f32; 4];
        let total = loss_total(0.5, m, &demo, &ls, &mut c, &mut [0.0; 4]);
        let per = agent_losses(&z, &label, &c, m, r, n).unwrap();
        assert_eq!(per.len(), m);
        let sum: f64 = per.iter().sum();
        assert!((sum - total as f64).abs() < 1e-4 * total as f64, "{sum} vs {total}");
        let mut z2 = z.clone();
        for v in &mut z2[2 * r * n..] {
            *v += 1.0; // agent 2's logits only
        }
        let per2 = agent_losses(&z2, &label, &c, m, r, n).unwrap();
        assert_eq!(per[..2], per2[..2]);
        assert_ne!(per[2], per2[2]);
        assert!(matches!(agent_losses(&z[1..], &label, &c, m, r, n), Err(Error::Shape { .. })));
    }

    /// The gradient kernel against finite differences of the row losses (M = 2, R = 2, N = 3).
    #[test]
    fn loss_grad_matches_finite_differences() {
        let (m, r, n) = (2usize, 2usize, 3usize);
        let p = DirsParams { m: 2, rows: 2, n: 3, lambda2: 0.5, ..Default::default() };
        let z: Vec<f32> = (0..m * r * n).map(|k| ((k as f32) * 0.7).sin() * 2.0).collect();
        let label = vec![0u32, 1, 2, 2, 2, 0];
        let demo = [1u32, 0];
        let loss_of = |z: &[f32]| -> f32 {
            let mut zb: Vec<u32> = z.iter().map(|x| x.to_bits()).collect();
            let mut lb = label.clone();
            let mut ls = vec![0u32; r];
            cpu_loss_rows(bytemuck::bytes_of(&p), &mut [&mut zb, &mut lb, &mut ls]).unwrap();
            let ls: Vec<f32> = ls.iter().map(|x| f32::from_bits(*x)).collect();
            loss_total(0.5, m, &demo, &ls, &mut [0.0; 2], &mut [0.0; 2])
        };
        let mut c = [0f32; 2];
        let mut ls = [0f32; 2];
        let mut zb: Vec<u32> = z.iter().map(|x| x.to_bits()).collect();
        let mut lb = label.clone();
        let mut lsb = vec![0u32; r];
        cpu_loss_rows(bytemuck::bytes_of(&p), &mut [&mut zb, &mut lb, &mut lsb]).unwrap();
        for k in 0..r {
            ls[k] = f32::from_bits(lsb[k]);
        }
        loss_total(0.5, m, &demo, &ls, &mut c, &mut [0.0; 2]);
        let mut cb: Vec<u32> = c.iter().map(|x| x.to_bits()).collect();
        let mut g = vec![0u32; m * r * n];
        cpu_loss_grad(bytemuck::bytes_of(&p), &mut [&mut zb, &mut lb, &mut cb, &mut g]).unwrap();
        for e in 0..m * r * n {
            let h = 1e-2f32;
            let (mut a, mut b) = (z.clone(), z.clone());
            a[e] += h;
            b[e] -= h;
            let num = (loss_of(&a) - loss_of(&b)) / (2.0 * h);
            let got = f32::from_bits(g[e]);
            assert!((num - got).abs() < 2e-3, "element {e}: {got} vs {num}");
        }
    }
}
