//! What every learner of the mixed-MAPPO paper shares: the B `crowd` instances it drives
//! (episodes with their own seeds, the action rule of `mappo_act`, stepping, the Table III
//! metrics summed on the device), MAPPO's value normalization, and small device helpers.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::kernels::{ActParams, MAPPO_ACT};
use crate::backend::{Backend, Buffer};
use crate::env::contract::{ActionSpace, BatchEnv, EnvBuffers};
use crate::env::crowd::contract::CrowdBatchEnv;
use crate::env::crowd::{metric, CrowdConfig, Policy};
use crate::error::Result;
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

/// The Table III metrics of some slots, summed over instances and slots on the device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Instance-slots summed.
    pub slots: f64,
    /// Sums of the 16 slot metrics ([`metric`]).
    pub sums: Vec<f64>,
    /// Agent-slots with tasks.
    pub decisions: f64,
    /// … of which took the second candidate (drift-plus-penalty, or MADQN's random action).
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
    /// Share of decisions that took the second candidate.
    pub fn dpp_share(&self) -> f64 {
        self.from_dpp / self.decisions.max(1.0)
    }
}

/// The seed of training episode `k` (`test` = false) or test episode `k`.
pub fn episode_seed(seed: u64, k: u64, test: bool) -> u64 {
    rng::episode_seed(seed, k, test, rng::stream::MAPPO_EPISODES)
}

/// `src` (a buffer of at least `dst`'s words) copied into `dst`.
pub fn copy_into(src: &Buffer, dst: &Tensor) -> Result<()> {
    let n = dst.numel() as u32;
    let p = CopyParams { d0: 1, d1: 1, d2: 1, n, ..Default::default() };
    dst.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), n, &[src, dst.buffer()])
}

/// y = a·x + b·x2 on the device (`y` distinct from both).
pub fn axpby(x: &Tensor, a: f32, x2: &Tensor, b: f32, y: &Tensor) -> Result<()> {
    let n = y.numel();
    let p = AxpbyParams { n: n as u32, a, b, ..Default::default() };
    y.backend().launch(&AXPBY, bytemuck::bytes_of(&p), n as u32, &[x.buffer(), x2.buffer(), y.buffer()])
}

/// acc += x on the device.
pub fn accumulate(x: &Buffer, acc: &Tensor) -> Result<()> {
    let n = acc.numel();
    let p = AxpbyParams { n: n as u32, a: 1.0, ..Default::default() };
    acc.backend().launch(&SCALE_ACC, bytemuck::bytes_of(&p), n as u32, &[x, acc.buffer()])
}

/// The second candidate of an action rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// The first candidate (the actor's sample or the greedy action).
    Own,
    /// The likelier under the actor of its sample and the drift-plus-penalty action.
    Likelihood,
    /// ε-greedy: a uniform random action with probability ε (Philox key, decision number).
    Epsilon(f32, [u32; 2], u32),
}

/// B instances of `crowd` and the per-agent buffers of one decision.
pub struct Driver {
    /// The environments.
    pub env: CrowdBatchEnv,
    /// Their output buffers.
    pub out: EnvBuffers,
    /// B.
    pub batch: usize,
    /// N, agents per instance.
    pub agents: usize,
    /// F, observation width.
    pub obs_width: usize,
    /// A·R, actions.
    pub actions: usize,
    /// The observations [1, E, F] (copied from `out` by [`Driver::load_obs`]).
    pub obs: Tensor,
    /// The actions taken \[E\].
    pub action: Tensor,
    /// 1.0 where an agent with tasks took the second candidate \[E\].
    pub from_dpp: Tensor,
    /// Loss weights \[E\]: 1 for an agent with tasks this slot.
    pub weight: Tensor,
    second: Tensor,
    team_reward: Tensor,
    acc_info: Tensor,
    acc_dpp: Tensor,
    acc_weight: Tensor,
}

impl Driver {
    /// `batch` instances of `crowd` on `be`.
    pub fn new(be: &Arc<dyn Backend>, crowd: &CrowdConfig, batch: usize) -> Result<Self> {
        let env = CrowdBatchEnv::new(be.clone(), crowd, batch)?;
        let spec = env.spec().clone();
        let (n, f) = (spec.agents, spec.obs_shape[0]);
        let ActionSpace::Discrete { n: a } = spec.action else { unreachable!("crowd's actions are discrete") };
        let e = batch * n;
        Ok(Driver {
            out: EnvBuffers::new(&**be, &spec)?,
            env,
            batch,
            agents: n,
            obs_width: f,
            actions: a as usize,
            obs: Tensor::zeros(be, &[1, e, f])?,
            action: Tensor::zeros_u32(be, &[e])?,
            from_dpp: Tensor::zeros(be, &[e])?,
            weight: Tensor::zeros(be, &[e])?,
            second: Tensor::zeros_u32(be, &[e])?,
            team_reward: Tensor::zeros(be, &[batch])?,
            acc_info: Tensor::zeros(be, &[batch * metric::WIDTH])?,
            acc_dpp: Tensor::zeros(be, &[e])?,
            acc_weight: Tensor::zeros(be, &[e])?,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }

    /// E = B·N agents.
    pub fn agents_total(&self) -> usize {
        self.batch * self.agents
    }

    /// Reset for training episode `k` (or test episode `k`) of `seed`.
    pub fn begin(&mut self, seed: u64, k: u64, test: bool) -> Result<()> {
        self.env.reset(episode_seed(seed, k, test), &self.out)
    }

    /// The current observations into [`Driver::obs`].
    pub fn load_obs(&self) -> Result<()> {
        copy_into(&self.out.obs, &self.obs)
    }

    /// The actions of every agent by `rule` from its first candidate `first` \[E\] and the
    /// actor's log-probabilities (or Q-values) `scores` [E, A] (`mappo_act`).
    pub fn act(&mut self, scores: &Tensor, first: &Tensor, rule: Rule) -> Result<()> {
        let e = self.agents_total();
        let mut p = ActParams {
            rows: e as u32,
            cols: self.actions as u32,
            obs_width: self.obs_width as u32,
            ..Default::default()
        };
        match rule {
            Rule::Own => {}
            Rule::Likelihood => {
                self.env.heuristic(Policy::Dpp, &self.out, self.second.buffer())?;
                p.mix = 1;
            }
            Rule::Epsilon(eps, key, step) => {
                self.env.heuristic(Policy::Random, &self.out, self.second.buffer())?;
                p = ActParams { mix: 2, epsilon: eps, key0: key[0], key1: key[1], step, ..p };
            }
        }
        self.backend().launch(
            &MAPPO_ACT,
            bytemuck::bytes_of(&p),
            e as u32,
            &[
                scores.buffer(),
                first.buffer(),
                self.second.buffer(),
                self.obs.buffer(),
                self.action.buffer(),
                self.from_dpp.buffer(),
                self.weight.buffer(),
            ],
        )
    }

    /// Step the environments with [`Driver::action`] and accumulate the metrics.
    pub fn step(&mut self) -> Result<()> {
        self.env.step(self.action.buffer(), &self.out)?;
        accumulate(&self.out.info, &self.acc_info)?;
        accumulate(self.from_dpp.buffer(), &self.acc_dpp)?;
        accumulate(self.weight.buffer(), &self.acc_weight)
    }

    /// The slot's team reward given to every agent: \[E\].
    pub fn reward_per_agent(&self) -> Result<Tensor> {
        copy_into(&self.out.reward, &self.team_reward)?;
        let y = Tensor::output(self.backend(), &[self.agents_total()])?;
        super::nets::spread(&self.team_reward, self.agents, &y)?;
        Ok(y)
    }

    /// Zero the metric accumulators.
    pub fn clear_metrics(&self) -> Result<()> {
        for t in [&self.acc_info, &self.acc_dpp, &self.acc_weight] {
            t.fill(0.0)?;
        }
        Ok(())
    }

    /// The accumulated metrics over `slots` slots (downloads).
    pub fn read_metrics(&self, slots: usize) -> Result<Metrics> {
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
}
