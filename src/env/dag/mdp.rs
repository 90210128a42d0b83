//! The MDP of MRLCO (MRLCO paper §4.2; docs/dag.md) as a batched environment on any backend: B
//! graphs (padded) rolled out together, one decision per graph per step, in rank order. The
//! rules, buffers and statuses are those of the kernels in [`super::step`].

use std::sync::Arc;

use super::batch::{DagBatch, DagParams};
use super::model::{reward_scale, DagSystem, Prepared};
use super::Dag;
use crate::backend::{Backend, Buffer};
use crate::env::dag::kernels::{DAG_EPISODE, DAG_OBSERVE, DAG_RESET, DAG_STEP};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub use super::episode::cpu_episode;
pub use super::step::{cpu_reset, cpu_step, BAD_ACTION, DONE, RUNNING, STATE_WORDS, UNDECIDED};

/// The outputs of [`DagEnv::episodes`] for S sequences of an env with padded task count N
/// (layouts in [`super::episode`]): all time-major, step k of sequence s at k·S + s. Tensors, so
/// a learner hands them to its rollout storage without a copy.
pub struct EpisodeBuffers {
    /// [S, N, 4] finish times (scratch: contents unspecified afterwards).
    pub ft: Tensor,
    /// [N, S] rewards −ΔT_c (scaled as the env), 0 on padding, NaN from a bad action on.
    pub reward: Tensor,
    /// [N, S] u32: 1 at a sequence's last real step, after a bad action and on padding.
    pub done: Tensor,
    /// [N, S] 1 on real steps, 0 on padding (and for an out-of-range graph index).
    pub weight: Tensor,
    /// \[S\] final makespans (NaN after a bad action or for an out-of-range graph index).
    pub makespan: Tensor,
}

impl EpisodeBuffers {
    /// Buffers for `s` sequences of an env with padded task count `n_max` ([`DagEnv::n_max`]).
    pub fn new(be: &Arc<dyn Backend>, n_max: usize, s: usize) -> Result<Self> {
        n_max
            .checked_mul(s)
            .filter(|&w| w.checked_mul(4).is_some_and(|w| w <= u32::MAX as usize))
            .ok_or_else(|| Error::config("dag.sequences", s, "sequences × N × 4 must fit in 32-bit indexing"))?;
        Ok(EpisodeBuffers {
            ft: Tensor::output(be, &[s, n_max, 4])?,
            reward: Tensor::zeros(be, &[n_max, s])?,
            done: Tensor::zeros_u32(be, &[n_max, s])?,
            weight: Tensor::zeros(be, &[n_max, s])?,
            makespan: Tensor::zeros(be, &[s])?,
        })
    }
}

/// B graphs as one batched environment on a backend; every buffer stays on the device.
pub struct DagEnv {
    backend: Arc<dyn Backend>,
    params: DagParams,
    batch: DagBatch,
    /// \[B\] task counts.
    pub n_tasks: Buffer,
    /// [B, N, 4] costs by rank position.
    pub cost: Buffer,
    /// [B, N+1] parent offsets.
    pub par_off: Buffer,
    /// [B, E] parent positions.
    pub par_idx: Buffer,
    /// [B, N] exit flags.
    pub exit: Buffer,
    /// [B, 2] reward scale (max, min) per graph.
    pub scale: Buffer,
    /// \[B\] the actions of the last [`Self::step`].
    pub action: Buffer,
    /// [B, N, 4] finish times.
    pub ft: Buffer,
    /// [B, 8] availabilities and spans.
    pub state: Buffer,
    /// [B, 2] (position, status).
    pub ctl: Buffer,
    /// [B, N] decisions so far.
    pub plan: Buffer,
    /// \[B\] the last step's rewards.
    pub reward: Buffer,
    /// [B, N, 5 + 2p] task embeddings in rank order ([`Prepared::embeddings`]; rows past a
    /// graph's n are zero).
    pub embeddings: Buffer,
    emb_dim: usize,
}

impl DagEnv {
    /// `dags` under `sys`, embeddings with `p` parent and child slots, rewards scaled when
    /// `scaled`. Starts reset.
    pub fn new(backend: Arc<dyn Backend>, dags: &[Dag], sys: &DagSystem, p: usize, scaled: bool) -> Result<Self> {
        let graphs: Vec<Prepared> = dags.iter().map(|d| Prepared::new(d, sys)).collect::<Result<_>>()?;
        let batch = DagBatch::new(&graphs)?;
        let (b, n) = (graphs.len(), batch.n_max);
        if b > u32::MAX as usize / 2 {
            return Err(Error::config("dag.graphs", b, "too many graphs for one launch"));
        }
        let mut params = batch.params(sys.semantics, 1, 1);
        params.scaled = scaled as u32;
        let emb_dim = 5 + 2 * p;
        params.emb = emb_dim as u32;
        let mut emb = vec![0.0f32; b * n * emb_dim];
        let mut scale = Vec::with_capacity(2 * b);
        for (g, (gp, d)) in graphs.iter().zip(dags).enumerate() {
            let e = gp.embeddings(p);
            emb[g * n * emb_dim..g * n * emb_dim + e.len()].copy_from_slice(&e);
            let (hi, lo) = reward_scale(d, sys);
            if scaled && (hi.is_nan() || lo.is_nan() || hi <= lo) {
                return Err(Error::input("dag.reward_scale", g, format!("({hi}, {lo})"), "max must exceed min"));
            }
            scale.extend([hi as f32, lo as f32]);
        }
        let be = &*backend;
        let f = |v: &[f32]| crate::backend::upload_f32(be, v);
        let env = DagEnv {
            n_tasks: be.upload(&batch.n_tasks)?,
            cost: f(&batch.cost)?,
            par_off: be.upload(&batch.par_off)?,
            par_idx: be.upload(&batch.par_idx)?,
            exit: be.upload(&batch.exit)?,
            scale: f(&scale)?,
            action: be.alloc(b)?,
            ft: be.alloc(b * n * 4)?,
            state: be.alloc(b * STATE_WORDS)?,
            ctl: be.alloc(2 * b)?,
            plan: be.alloc(b * n)?,
            reward: be.alloc(b)?,
            embeddings: f(&emb)?,
            emb_dim,
            params,
            batch,
            backend,
        };
        env.reset()?;
        Ok(env)
    }

    /// B, graphs.
    pub fn batch(&self) -> usize {
        self.batch.n_tasks.len()
    }

    /// N, the padded task count (the episode length of the largest graph).
    pub fn n_max(&self) -> usize {
        self.batch.n_max
    }

    /// Task counts.
    pub fn n_tasks(&self) -> &[u32] {
        &self.batch.n_tasks
    }

    /// Embedding width 5 + 2p.
    pub fn emb_dim(&self) -> usize {
        self.emb_dim
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Every graph back to position 0.
    pub fn reset(&self) -> Result<()> {
        self.backend.launch(
            &DAG_RESET,
            bytemuck::bytes_of(&self.params),
            self.batch() as u32,
            &[&self.n_tasks, &self.ctl, &self.state, &self.plan],
        )
    }

    /// One decision per graph from the host: each 0 (local) or 1 (offload).
    pub fn step(&self, actions: &[u32]) -> Result<()> {
        if actions.len() != self.batch() {
            return Err(Error::shape("DagEnv::step actions", self.batch(), actions.len()));
        }
        if let Some(i) = actions.iter().position(|&a| a > 1) {
            return Err(Error::input("action", i, actions[i], "must be 0 (local) or 1 (offload)"));
        }
        self.backend.write(&self.action, actions)?;
        self.step_dev(&self.action)
    }

    /// One decision per graph from a device buffer of B actions (e.g. a policy's samples).
    pub fn step_dev(&self, action: &Buffer) -> Result<()> {
        self.step_into(action, &self.reward)
    }

    /// [`Self::step_dev`] with the rewards written into `reward` \[B\].
    pub fn step_into(&self, action: &Buffer, reward: &Buffer) -> Result<()> {
        self.backend.launch(
            &DAG_STEP,
            bytemuck::bytes_of(&self.params),
            self.batch() as u32,
            &[
                &self.n_tasks,
                &self.cost,
                &self.par_off,
                &self.par_idx,
                &self.exit,
                &self.scale,
                action,
                &self.ft,
                &self.state,
                &self.ctl,
                &self.plan,
                reward,
            ],
        )
    }

    /// Every graph's observation rows [B, N, emb + 2] (embedding, decision so far, 1 at the
    /// current position) into `obs` and whether it has ended into `terminated` \[B\].
    pub fn observe_into(&self, obs: &Buffer, terminated: &Buffer) -> Result<()> {
        self.backend.launch(
            &DAG_OBSERVE,
            bytemuck::bytes_of(&self.params),
            self.batch() as u32,
            &[&self.embeddings, &self.plan, &self.ctl, obs, terminated],
        )
    }

    /// The graph of each sequence for [`Self::episodes`], checked (every index < B) and uploaded.
    pub fn graph_index(&self, graphs: &[u32]) -> Result<Buffer> {
        if let Some(i) = graphs.iter().position(|&g| g as usize >= self.batch()) {
            return Err(Error::input("graph", i, graphs[i], format!("must be a graph index below {}", self.batch())));
        }
        self.backend.upload(graphs)
    }

    /// Whole episodes of given plans for `s` sequences in one launch (`dag_episode`, see
    /// [`super::episode`]): sequence j runs graph `graph[j]` (\[S\] u32, e.g. from
    /// [`Self::graph_index`]) from the reset state with the actions `actions` [N, S] u32
    /// (time-major: position k of sequence j at k·S + j), and `out` receives every step's reward
    /// (bit-identical to [`Self::step_into`] for the same actions), done flag and weight, and the
    /// final makespans. The env's own state (position, decisions, finish times) is not touched.
    /// A device action other than 0/1 gives NaN rewards from that step and a NaN makespan; a
    /// graph index ≥ B gives weight 0 and a NaN makespan.
    pub fn episodes(&self, graph: &Buffer, actions: &Buffer, s: usize, out: &EpisodeBuffers) -> Result<()> {
        let n = self.n_max();
        if s == 0 {
            return Ok(());
        }
        if s.checked_mul(4 * n).is_none_or(|w| w > u32::MAX as usize) {
            return Err(Error::config("dag.sequences", s, "sequences × N × 4 must fit in 32-bit indexing"));
        }
        if let Some(limit) = self.backend.max_loop_iterations() {
            // one invocation walks N positions and at most E parent links
            let work = (2 * n + self.batch.e_max) as u64;
            if work > limit {
                return Err(Error::config(
                    "dag.n_max",
                    n,
                    format!(
                        "an episode would loop ~{work} times per invocation, beyond this driver's limit of {limit}"
                    ),
                ));
            }
        }
        let mut p = self.params;
        p.p = s as u32;
        self.backend.launch(
            &DAG_EPISODE,
            bytemuck::bytes_of(&p),
            s as u32,
            &[
                &self.n_tasks,
                &self.cost,
                &self.par_off,
                &self.par_idx,
                &self.exit,
                &self.scale,
                graph,
                actions,
                out.ft.buffer(),
                out.reward.buffer(),
                out.done.buffer(),
                out.weight.buffer(),
                out.makespan.buffer(),
            ],
        )
    }

    /// The last step's rewards (downloads).
    pub fn rewards(&self) -> Result<Vec<f32>> {
        crate::backend::download_f32(&*self.backend, &self.reward)
    }

    /// (position, status) per graph (downloads).
    pub fn status(&self) -> Result<Vec<(u32, u32)>> {
        Ok(self.backend.download(&self.ctl)?.chunks(2).map(|c| (c[0], c[1])).collect())
    }

    /// The makespan so far per graph (downloads): the final T_c once done.
    pub fn makespans(&self) -> Result<Vec<f32>> {
        let s = crate::backend::download_f32(&*self.backend, &self.state)?;
        let k = if self.params.semantics == 0 { 4 } else { 5 };
        Ok(s.chunks(STATE_WORDS).map(|r| r[k]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::gen::{generate, DagGenConfig};
    use super::super::model::Semantics;
    use super::*;
    use crate::backend::{create, BackendKind};

    fn dags() -> Vec<Dag> {
        [7usize, 12, 3, 1]
            .iter()
            .enumerate()
            .map(|(k, &n)| generate(&DagGenConfig { n, ..Default::default() }, 5, k as u32).unwrap())
            .collect()
    }

    #[test]
    fn episode_rewards_are_the_model_increments() {
        let cpu = create(BackendKind::Cpu).unwrap();
        for sem in [Semantics::Reference, Semantics::Paper] {
            let sys = DagSystem { semantics: sem, ..Default::default() };
            let ds = dags();
            for scaled in [false, true] {
                let env = DagEnv::new(cpu.clone(), &ds, &sys, 6, scaled).unwrap();
                let b = ds.len();
                let plans: Vec<Vec<u8>> =
                    (0..b).map(|g| (0..ds[g].n()).map(|k| ((g + k) % 3 == 0) as u8).collect()).collect();
                let mut got = vec![vec![]; b];
                for step in 0..env.n_max() + 1 {
                    let a: Vec<u32> = (0..b).map(|g| plans[g].get(step).copied().unwrap_or(0) as u32).collect();
                    let before = env.status().unwrap();
                    env.step(&a).unwrap();
                    let r = env.rewards().unwrap();
                    for g in 0..b {
                        if before[g].1 == RUNNING {
                            got[g].push(r[g] as f64);
                        } else {
                            assert_eq!(r[g], 0.0, "a done graph's step gives reward 0");
                        }
                    }
                }
                let st = env.status().unwrap();
                let spans = env.makespans().unwrap();
                for g in 0..b {
                    let p = Prepared::new(&ds[g], &sys).unwrap();
                    let inc = p.increments(&plans[g]);
                    let (hi, lo) = reward_scale(&ds[g], &sys);
                    assert_eq!(st[g], (ds[g].n() as u32, DONE));
                    for (k, (&r, &d)) in got[g].iter().zip(&inc).enumerate() {
                        let want = if scaled { -(d - lo) / (hi - lo) } else { -d };
                        assert!(
                            (r - want).abs() <= 1e-5 * want.abs().max(1e-3),
                            "{sem:?} g{g} step {k}: {r} vs {want}"
                        );
                    }
                    let mut s = super::super::model::Scratch::new(p.n());
                    let m = p.makespan(&plans[g], &mut s);
                    assert!((spans[g] as f64 - m).abs() <= 1e-5 * m, "{sem:?} g{g}: {} vs {m}", spans[g]);
                }
                let plan = env.backend().download(&env.plan).unwrap();
                for g in 0..b {
                    let row: Vec<u8> =
                        plan[g * env.n_max()..g * env.n_max() + ds[g].n()].iter().map(|&x| x as u8).collect();
                    assert_eq!(row, plans[g]);
                    assert!(plan[g * env.n_max() + ds[g].n()..(g + 1) * env.n_max()].iter().all(|&x| x == UNDECIDED));
                }
                // reset starts over
                env.reset().unwrap();
                assert!(env.status().unwrap().iter().all(|&s| s == (0, RUNNING)));
                assert!(env.makespans().unwrap().iter().all(|&m| m == 0.0));
            }
        }
    }

    #[test]
    fn bad_actions_are_refused_or_flagged() {
        let cpu = create(BackendKind::Cpu).unwrap();
        let ds = dags();
        let env = DagEnv::new(cpu.clone(), &ds, &DagSystem::default(), 6, false).unwrap();
        let e = env.step(&[0, 1, 2, 0]).unwrap_err().to_string();
        assert!(e.contains("action") && e.contains('2'), "{e}");
        assert!(env.step(&[0, 1]).is_err(), "wrong length");
        assert!(env.status().unwrap().iter().all(|&s| s == (0, RUNNING)), "nothing ran");
        // through a device buffer: flagged, sticky, the others go on
        let a = cpu.upload(&[0, 7, 1, 1]).unwrap();
        env.step_dev(&a).unwrap();
        let r = env.rewards().unwrap();
        assert!(r[1].is_nan() && r[0] < 0.0 && r[2] < 0.0);
        let st = env.status().unwrap();
        assert_eq!(st[1], (0, BAD_ACTION));
        assert_eq!(st[3], (1, DONE), "a single task is done after one step");
        env.step(&[0, 0, 0, 0]).unwrap();
        assert_eq!(env.status().unwrap()[1], (0, BAD_ACTION));
        assert_eq!(env.rewards().unwrap()[1], 0.0);
    }

    #[test]
    fn embeddings_are_the_prepared_ones_padded() {
        let cpu = create(BackendKind::Cpu).unwrap();
        let ds = dags();
        let sys = DagSystem::default();
        let env = DagEnv::new(cpu.clone(), &ds, &sys, 12, true).unwrap();
        let emb = crate::backend::download_f32(&*cpu, &env.embeddings).unwrap();
        let (n, f) = (env.n_max(), env.emb_dim());
        assert_eq!(f, 29);
        for (g, d) in ds.iter().enumerate() {
            let want = Prepared::new(d, &sys).unwrap().embeddings(12);
            assert_eq!(&emb[g * n * f..g * n * f + want.len()], &want[..]);
            assert!(emb[g * n * f + want.len()..(g + 1) * n * f].iter().all(|&x| x == 0.0));
        }
    }
}
