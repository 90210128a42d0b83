//! The exhaustive optimum of many graphs at once with the batched `dag_optimal` kernels.

use super::batch::DagBatch;
use super::kernels::{DAG_OPTIMAL, DAG_OPTIMAL_REDUCE};
use super::model::Prepared;
use crate::error::{Error, Result};

/// The exhaustive optimum of every graph on `backend` with the batched kernels: the smallest
/// makespan (f32) and its plan index (bit n−1−k = decision of rank position k) per graph.
/// All graphs must share one semantics and have at most 24 tasks (2^24 plans). The plan space
/// is split into chunks per graph — enough for parallelism, and on drivers with a silent loop
/// budget (lavapipe) small enough that no invocation exceeds it.
pub fn optimal_batch(backend: &dyn crate::Backend, graphs: &[Prepared]) -> Result<Vec<(f32, u32)>> {
    let batch = DagBatch::new(graphs)?;
    let sem = graphs[0].semantics;
    if let Some(g) = graphs.iter().position(|g| g.semantics != sem) {
        return Err(Error::config("dag.semantics", g, "every graph of a batch must use the same semantics"));
    }
    if let Some(g) = graphs.iter().position(|g| g.n() > 24) {
        return Err(Error::input("n_tasks", g, graphs[g].n(), "the exhaustive optimum takes at most 24 tasks"));
    }
    let (b, n, e) = (graphs.len(), batch.n_max, batch.e_max);
    let plans = 1u64 << n;
    // loop iterations of one invocation ≈ plans per chunk × (positions + parent links + 1)
    let per_plan = (n + e + 1) as u64;
    let mut chunks = plans.min(1024);
    if let Some(limit) = backend.max_loop_iterations() {
        while chunks < plans && plans.div_ceil(chunks) * per_plan > limit / 2 {
            chunks *= 2;
        }
    }
    let threads = (b as u64) * chunks;
    if threads > u32::MAX as u64 / 2 {
        return Err(Error::config("dag.graphs", b, "too many graphs × chunks for one launch"));
    }
    let p = batch.params(sem, 1, chunks as usize);
    let be = backend;
    let up = |v: &[u32]| be.upload(v);
    let cost: Vec<u32> = batch.cost.iter().map(|x| x.to_bits()).collect();
    let (nt, cb, po, pi, ex) =
        (up(&batch.n_tasks)?, up(&cost)?, up(&batch.par_off)?, up(&batch.par_idx)?, up(&batch.exit)?);
    let ft = be.alloc(threads as usize * n * 4)?;
    let partial = be.alloc(threads as usize * 2)?;
    let best = be.alloc(b * 2)?;
    be.launch(&DAG_OPTIMAL, bytemuck::bytes_of(&p), threads as u32, &[&nt, &cb, &po, &pi, &ex, &ft, &partial])?;
    be.launch(&DAG_OPTIMAL_REDUCE, bytemuck::bytes_of(&p), b as u32, &[&partial, &best])?;
    let parts = be.download(&partial)?;
    if let Some(k) = parts.chunks(2).position(|w| f32::from_bits(w[0]).is_nan()) {
        return Err(Error::device(
            backend.kind().to_string(),
            format!("dag_optimal: chunk {k} was cut short by the driver's loop budget (result NaN)"),
        ));
    }
    let out = be.download(&best)?;
    Ok(out.chunks(2).map(|w| (f32::from_bits(w[0]), w[1])).collect())
}
