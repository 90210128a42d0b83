//! The central trajectory pool of CRB-DRQN (§4.3, eq. 21–22) on the device: trajectories of n
//! consecutive decisions of one terminal, written from an episode store, drawn by familiarity
//! sampling, each draw raising its familiarity. Kernels and layouts: [`super::kernels`].

use std::sync::Arc;

use super::kernels::CRBDRQN_WRITE;
use super::kernels::{PoolParams, CRBDRQN_COUNT, CRBDRQN_GATHER, CRBDRQN_SAMPLE, CRBDRQN_SCAN, CRBDRQN_TOUCH};
use crate::algo::rollout::Rollout;
use crate::backend::{Backend, KernelSpec};
use crate::error::{Error, Result};
use crate::rng;
use crate::tensor::Tensor;

/// A minibatch of trajectories, step-major: row s·K + k is step s of draw k.
pub struct Minibatch {
    /// The states (shift 0) or the next states (shift 1) \[n·K, F\].
    pub obs: Tensor,
    /// Their Load(t) \[n·K, C, E\].
    pub load: Tensor,
    /// a \[n·K\] u32.
    pub action: Tensor,
    /// r (credited to the arrival slot) \[n·K\].
    pub reward: Tensor,
    /// 1.0 where the next state does not exist (the terminal's last decision of the episode).
    pub term: Tensor,
}

/// The pool: a ring of `cap` trajectories.
pub struct TrajectoryPool {
    /// States \[cap, n + 1, F\].
    pub obs: Tensor,
    /// Load(t) \[cap, n + 1, L\].
    pub load: Tensor,
    /// Actions \[cap, n\] u32.
    pub action: Tensor,
    /// Rewards \[cap, n\].
    pub reward: Tensor,
    /// 1 when the (n + 1)-th state exists \[cap\] u32.
    pub next: Tensor,
    /// Times sampled \[cap\] u32 (N_i = 3 + this).
    pub fam: Tensor,
    /// [head, filled, base, produced by the last push] u32.
    pub ring: Tensor,
    count: Tensor,
    offset: Tensor,
    base: PoolParams,
    load_rows: usize,
    load_cols: usize,
}

impl TrajectoryPool {
    /// A pool of `cap` trajectories of `n` steps for an episode store of `cols` terminals (D per
    /// instance) over `steps` slots, observations of `f` words and Load(t) of `rows` × `cols_l`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        be: &Arc<dyn Backend>,
        cap: usize,
        n: usize,
        cols: usize,
        agents: usize,
        steps: usize,
        f: usize,
        load: (usize, usize),
    ) -> Result<Self> {
        let l = load.0 * load.1;
        let words = cap as u64 * ((n as u64 + 1) * (f + l) as u64 + 2 * n as u64 + 2);
        if words > crate::algo::rollout::MAX_WORDS {
            return Err(Error::config(
                "crbdrqn.pool_capacity",
                cap,
                format!("{cap} trajectories of {n} steps need {words} words, above the limit of 8 GiB"),
            ));
        }
        if let Some(limit) = be.max_loop_iterations() {
            // crbdrqn_sample sums and scans the pool in one invocation
            if 2 * cap as u64 > limit {
                return Err(Error::config(
                    "crbdrqn.pool_capacity",
                    cap,
                    format!("this backend's loop budget ({limit}) allows at most {} trajectories", limit / 2),
                ));
            }
        }
        let base = PoolParams {
            cols: cols as u32,
            steps: steps as u32,
            f: f as u32,
            l: l as u32,
            agents: agents as u32,
            n: n as u32,
            cap: cap as u32,
            ..Default::default()
        };
        Ok(TrajectoryPool {
            obs: Tensor::zeros(be, &[cap, n + 1, f])?,
            load: Tensor::zeros(be, &[cap, n + 1, l])?,
            action: Tensor::zeros_u32(be, &[cap, n])?,
            reward: Tensor::zeros(be, &[cap, n])?,
            next: Tensor::zeros_u32(be, &[cap])?,
            fam: Tensor::zeros_u32(be, &[cap])?,
            ring: Tensor::zeros_u32(be, &[4])?,
            count: Tensor::zeros_u32(be, &[cols])?,
            offset: Tensor::zeros_u32(be, &[cols])?,
            base,
            load_rows: load.0,
            load_cols: load.1,
        })
    }

    fn launch(&self, k: &'static KernelSpec, p: &PoolParams, threads: usize, bufs: &[&Tensor]) -> Result<()> {
        let b: Vec<_> = bufs.iter().map(|t| t.buffer()).collect();
        self.obs.backend().launch(k, bytemuck::bytes_of(p), threads as u32, &b)
    }

    /// Cut an episode into trajectories (eq. 21) and write them at the ring's head: `store`
    /// holds obs, action, reward (credited) and weight (1.0 = a decision) of every slot; `load`
    /// [T, B, L] the instances' Load(t).
    pub fn push(&self, store: &Rollout, load: &Tensor) -> Result<()> {
        let p = &self.base;
        if store.shape.envs != p.cols as usize
            || store.shape.steps != p.steps as usize
            || store.shape.obs != p.f as usize
        {
            return Err(Error::shape(
                "TrajectoryPool::push",
                format!("[{}, {}, {}]", p.steps, p.cols, p.f),
                format!("[{}, {}, {}]", store.shape.steps, store.shape.envs, store.shape.obs),
            ));
        }
        let cols = p.cols as usize;
        self.launch(&CRBDRQN_COUNT, p, cols, &[&store.weight, &self.count])?;
        self.launch(&CRBDRQN_SCAN, p, 1, &[&self.count, &self.offset, &self.ring])?;
        let bufs = [
            &store.obs,
            load,
            &store.action,
            &store.reward,
            &store.weight,
            &self.count,
            &self.offset,
            &self.ring,
            &self.obs,
            &self.load,
            &self.action,
            &self.reward,
            &self.next,
            &self.fam,
        ];
        self.launch(&CRBDRQN_WRITE, p, cols, &bufs)
    }

    /// Trajectories held and produced by the last push (one download of 4 words).
    pub fn filled(&self) -> Result<(usize, usize)> {
        let r = self.obs.backend().download(self.ring.buffer())?;
        Ok((r[1] as usize, r[3] as usize))
    }

    /// K draws of eq. (22) under (`seed`, `step`) \[K\] u32, then their familiarity += 1.
    pub fn sample(&self, k: usize, alpha: f32, seed: u64, step: u32) -> Result<Tensor> {
        let key = rng::key_of(seed);
        let p = PoolParams { k: k as u32, alpha, key0: key[0], key1: key[1], step, ..self.base };
        let idx = Tensor::zeros_u32(self.obs.backend(), &[k])?;
        self.launch(&CRBDRQN_SAMPLE, &p, k, &[&self.fam, &self.ring, &idx])?;
        self.launch(&CRBDRQN_TOUCH, &p, 1, &[&idx, &self.fam])?;
        Ok(idx)
    }

    /// The drawn trajectories' steps (`shift` 0) or next steps (1).
    pub fn gather(&self, idx: &Tensor, shift: u32) -> Result<Minibatch> {
        let be = self.obs.backend();
        let (k, n, f) = (idx.numel(), self.base.n as usize, self.base.f as usize);
        let rows = n * k;
        let m = Minibatch {
            obs: Tensor::zeros(be, &[rows, f])?,
            load: Tensor::zeros(be, &[rows, self.load_rows, self.load_cols])?,
            action: Tensor::zeros_u32(be, &[rows])?,
            reward: Tensor::zeros(be, &[rows])?,
            term: Tensor::zeros(be, &[rows])?,
        };
        let p = PoolParams { k: k as u32, shift, ..self.base };
        let bufs = [
            idx,
            &self.obs,
            &self.load,
            &self.action,
            &self.reward,
            &self.next,
            &m.obs,
            &m.load,
            &m.action,
            &m.reward,
            &m.term,
        ];
        self.launch(&CRBDRQN_GATHER, &p, rows, &bufs)?;
        Ok(m)
    }

    /// Every stored tensor with its checkpoint name.
    pub fn tensors(&self) -> Vec<(&'static str, &Tensor)> {
        vec![
            ("pool.obs", &self.obs),
            ("pool.load", &self.load),
            ("pool.action", &self.action),
            ("pool.reward", &self.reward),
            ("pool.next", &self.next),
            ("pool.fam", &self.fam),
            ("pool.ring", &self.ring),
        ]
    }
}
