//! `dag` — the MRLCO system (MRLCO paper §3; docs/dag.md): one UE and one MEC server run a
//! DAG application whose tasks are scheduled one at a time in rank order.
//!
//! - [`dot`]: DAGGEN DOT reader and writer; [`gen`]: the DAGGEN-style generator;
//! - [`model`]: the latency model of eq. (4)–(8) in both semantics, rank order (10), the
//!   baselines' scheduling rules and the exhaustive optimum (branch and bound);
//! - [`eval`]: what a baseline reports; [`batch`]: many padded graphs as kernel buffers, the
//!   batched makespan and exhaustive-optimum kernels; [`mdp`]: the batched MDP (`DagEnv`);
//!   [`episode`]: whole episodes of given plans in one launch (`DagEnv::episodes`).

pub mod batch;
pub mod contract;
pub mod dot;
pub mod episode;
pub mod eval;
pub mod gen;
pub mod kernels;
pub mod mdp;
pub mod model;
pub mod optimal;
pub mod step;

/// A task graph. Tasks are numbered 0..n (DOT files number them from 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Dag {
    /// Bytes uploaded when the task is offloaded; also its computation (cost = size / speed).
    /// DOT attribute `size`.
    pub size: Vec<f64>,
    /// Bytes downloaded after MEC execution. DOT attribute `expect_size`.
    pub expect_size: Vec<f64>,
    /// DAGGEN's `alpha` attribute (kept for round trips; unused by the latency model).
    pub alpha: Vec<f64>,
    /// Edges (parent, child, bytes), 0-based, in file order.
    pub edges: Vec<(usize, usize, f64)>,
}

impl Dag {
    /// Number of tasks.
    pub fn n(&self) -> usize {
        self.size.len()
    }

    /// Parents of every task (sorted, without duplicates).
    pub fn parents(&self) -> Vec<Vec<usize>> {
        let mut p = vec![Vec::new(); self.n()];
        for &(a, b, _) in &self.edges {
            p[b].push(a);
        }
        for v in &mut p {
            v.sort_unstable();
            v.dedup();
        }
        p
    }

    /// Children of every task (sorted, without duplicates).
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut c = vec![Vec::new(); self.n()];
        for &(a, b, _) in &self.edges {
            c[a].push(b);
        }
        for v in &mut c {
            v.sort_unstable();
            v.dedup();
        }
        c
    }
}
