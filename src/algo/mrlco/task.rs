//! A learning task of MRLCO (MRLCO paper §5: one data set of DAGs at one transmission rate) on the
//! device: the graphs as a [`DagEnv`], the policy's input features time-major [N, G, F], the
//! real-step mask, and the two passes a learner needs — sampled rollouts of chosen graphs
//! ([`Task::rollout`]) and the greedy plans' latency over the whole set ([`Task::greedy`]).

use std::sync::Arc;

use crate::algo::rollout::{gather_columns, Parts, Rollout};
use crate::autograd::Tape;
use crate::backend::Backend;
use crate::env::dag::mdp::{DagEnv, EpisodeBuffers};
use crate::env::dag::model::{reward_scale, DagSystem, Prepared};
use crate::env::dag::Dag;
use crate::error::{Error, Result};
use crate::nn::seq2seq::{Decode, Seq2Seq};
use crate::tensor::Tensor;

/// Features per task of the policy's input for `p` parent and child slots: the published
/// embedding `[id, T^UE, T^ul, T^s, T^dl, p parents, p children]` ([`Prepared::embeddings`]).
pub fn features(p: usize) -> usize {
    5 + 2 * p
}

/// The policy's input for one graph, rows in rank order [n, 5 + 2p], normalized (docs/mrlco.md):
/// task indices (own, parents, children) i ↦ (i + 1)/n, so the −1 padding is 0 and ids lie in
/// (0, 1]; the four times divided by the graph's largest time of its largest data size (the
/// `max` of the reward scale), so they lie in (0, 1].
pub fn normalized_features(prep: &Prepared, dag: &Dag, sys: &DagSystem, p: usize) -> Vec<f32> {
    let (f, n) = (features(p), prep.n());
    let (hi, _) = reward_scale(dag, sys);
    let mut x = prep.embeddings(p);
    for row in x.chunks_mut(f) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = if (1..5).contains(&j) { (*v as f64 / hi) as f32 } else { ((*v as f64 + 1.0) / n as f64) as f32 };
        }
    }
    x
}

/// One learning task on a backend.
pub struct Task {
    /// Label (data set and rate).
    pub name: String,
    env: DagEnv,
    /// Features [N, G, F].
    x: Tensor,
    /// 1 where rank position k < n of graph g, u32 [N, G].
    valid: Tensor,
    graphs: usize,
    features: usize,
}

impl Task {
    /// The graphs `dags` under `sys` (its rate is the task's rate), `p` slots, rewards scaled
    /// as published when `scaled`.
    pub fn new(
        be: &Arc<dyn Backend>,
        name: &str,
        dags: &[Dag],
        sys: &DagSystem,
        p: usize,
        scaled: bool,
    ) -> Result<Self> {
        if dags.is_empty() {
            return Err(Error::config("mrlco.task", name, "a learning task needs at least one graph"));
        }
        let env = DagEnv::new(be.clone(), dags, sys, p, scaled)?;
        let (g, n, f) = (dags.len(), env.n_max(), features(p));
        let mut x = vec![0.0f32; n * g * f];
        let mut valid = vec![0u32; n * g];
        for (gi, d) in dags.iter().enumerate() {
            let prep = Prepared::new(d, sys)?;
            let rows = normalized_features(&prep, d, sys, p);
            for (k, row) in rows.chunks(f).enumerate() {
                x[(k * g + gi) * f..(k * g + gi + 1) * f].copy_from_slice(row);
                valid[k * g + gi] = 1;
            }
        }
        Ok(Task {
            name: name.into(),
            x: Tensor::from_f32(be, &[n, g, f], &x)?,
            valid: Tensor::from_u32(be, &[n, g], &valid)?,
            env,
            graphs: g,
            features: f,
        })
    }

    /// G, graphs.
    pub fn graphs(&self) -> usize {
        self.graphs
    }

    /// N, the longest graph's task count.
    pub fn n_max(&self) -> usize {
        self.env.n_max()
    }

    /// The environment.
    pub fn env(&self) -> &DagEnv {
        &self.env
    }

    /// Decode the sequences of graphs `seq_graph` (one entry per sequence, each < G) with
    /// `net` under `how` and run their episodes: (rollout, makespans [S]).
    fn run(&self, net: &Seq2Seq, seq_graph: &[u32], how: Decode) -> Result<(Rollout, Tensor)> {
        let be = self.x.backend().clone();
        let (n, s, f) = (self.n_max(), seq_graph.len(), self.features);
        let graph = self.env.graph_index(seq_graph)?;
        let x = Tensor::zeros(&be, &[n, s, f])?;
        gather_columns(&*be, self.x.buffer(), &graph, x.buffer(), n, self.graphs, s, f)?;
        let valid = Tensor::zeros_u32(&be, &[n, s])?;
        gather_columns(&*be, self.valid.buffer(), &graph, valid.buffer(), n, self.graphs, s, 1)?;
        let tape = Tape::no_grad(&be);
        let out = net.decode(&tape, &tape.constant(&x), Some(&valid), how)?;
        let ep = EpisodeBuffers::new(&be, n, s)?;
        self.env.episodes(&graph, out.actions.buffer(), s, &ep)?;
        let r = Rollout::from_parts(Parts {
            obs: x,
            action: out.actions,
            logp: out.logp,
            value: out.values,
            reward: ep.reward.clone(),
            done: ep.done.clone(),
            valid,
            weight: ep.weight.clone(),
        })?;
        Ok((r, ep.makespan))
    }

    /// `trajectories` sampled episodes of each graph of `graphs` (sequence s belongs to graph
    /// `graphs[s / trajectories]`), Philox key `seed`, sampling steps from `step`: the rollout
    /// (advantages not yet computed) and the makespans \[S\].
    pub fn rollout(
        &self,
        net: &Seq2Seq,
        graphs: &[u32],
        trajectories: usize,
        seed: u64,
        step: u32,
    ) -> Result<(Rollout, Tensor)> {
        let seq: Vec<u32> = graphs.iter().flat_map(|&g| std::iter::repeat_n(g, trajectories)).collect();
        if seq.is_empty() {
            return Err(Error::config("mrlco.trajectories", trajectories, "a rollout needs at least one episode"));
        }
        self.run(net, &seq, Decode::Sample { seed, step })
    }

    /// The makespan of every graph under the greedy plan of `net` (a = argmax π, the paper's
    /// inference), in the environment's seconds (downloads G values).
    pub fn greedy(&self, net: &Seq2Seq) -> Result<Vec<f32>> {
        let all: Vec<u32> = (0..self.graphs as u32).collect();
        let (_, m) = self.run(net, &all, Decode::Greedy)?;
        m.to_vec()
    }

    /// [`Task::greedy`] with the plans: (makespans \[G\], decisions \[G\]\[n_g\] in rank order).
    pub fn greedy_plans(&self, net: &Seq2Seq) -> Result<(Vec<f32>, Vec<Vec<u32>>)> {
        let all: Vec<u32> = (0..self.graphs as u32).collect();
        let (r, m) = self.run(net, &all, Decode::Greedy)?;
        let (a, valid) = (r.action.to_u32()?, r.valid.to_u32()?);
        let g = self.graphs;
        let plans = (0..g)
            .map(|j| (0..self.n_max()).filter(|&k| valid[k * g + j] == 1).map(|k| a[k * g + j]).collect())
            .collect();
        Ok((m.to_vec()?, plans))
    }
}
