//! The `dag` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::batch::DagParams;
use crate::backend::params;

crate::kernel_params!(DagParams { b, n_max, e_max, p, semantics, chunks, scaled, emb });

crate::kernels! {
    stem "env" / "dag";
    /// `dag`: makespan of given offloading plans, one thread per (graph, plan).
    DAG_MAKESPAN = dag_makespan(DagParams;
        n_tasks: R U32, cost: R F32, par_off: R U32, par_idx: R U32, exit: R U32, plans: R U32,
        ft: S F32, makespan: W F32
    )
        cpu super::batch::cpu_makespan, sizes dag_makespan_sizes;
    /// `dag`: exhaustive optimum per (graph, chunk of plan indices).
    DAG_OPTIMAL = dag_optimal(DagParams;
        n_tasks: R U32, cost: R F32, par_off: R U32, par_idx: R U32, exit: R U32, ft: S F32,
        partial: W U32
    )
        cpu super::batch::cpu_optimal, sizes dag_optimal_sizes;
    /// `dag`: the best of the chunks per graph.
    DAG_OPTIMAL_REDUCE = dag_optimal_reduce(DagParams; partial: R U32, best: W U32)
        cpu super::batch::cpu_optimal_reduce, sizes dag_optimal_reduce_sizes;
    /// `dag` MDP: every graph back to position 0.
    DAG_RESET = dag_reset(DagParams; n_tasks: R U32, ctl: W U32, state: W F32, plan: W U32)
        cpu super::step::cpu_reset, sizes dag_reset_sizes;
    /// `dag` MDP: one decision per graph, reward −ΔT_c.
    DAG_STEP = dag_step(DagParams;
        n_tasks: R U32, cost: R F32, par_off: R U32, par_idx: R U32, exit: R U32, scale: R F32,
        action: R U32, ft: W F32, state: W F32, ctl: W U32, plan: W U32, reward: W F32
    )
        cpu super::step::cpu_step, sizes dag_step_sizes;
    /// `dag` MDP: whole episodes of given plans, one thread per sequence (`p` = S sequences;
    /// `graph` \[S\] picks each sequence's graph, `actions` \[N, S\] time-major): every step's
    /// reward (as `dag_step`'s, bit for bit), done flag and weight \[N, S\], and the makespans \[S\].
    DAG_EPISODE = dag_episode(DagParams;
        n_tasks: R U32, cost: R F32, par_off: R U32, par_idx: R U32, exit: R U32, scale: R F32,
        graph: R U32, actions: R U32, ft: S F32, reward: W F32, done: W U32, weight: W F32,
        makespan: W F32
    )
        cpu super::episode::cpu_episode, sizes dag_episode_sizes;
    /// `dag` MDP: each graph's observation rows (embedding, decision so far, current position)
    /// and whether it has ended.
    DAG_OBSERVE = dag_observe(DagParams;
        embeddings: R F32, plan: R U32, ctl: R U32, obs: W F32, terminated: W U32
    )
        cpu super::step::cpu_observe, sizes dag_observe_sizes;
}

/// (B, N, E, P, chunks) of a `dag_*` parameter block; chunks is at least 1.
fn dag_dims(bytes: &[u8]) -> (u64, u64, u64, u64, u64) {
    let p: DagParams = params(bytes);
    (p.b as u64, p.n_max as u64, p.e_max as u64, p.p as u64, p.chunks.max(1) as u64)
}

fn dag_makespan_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, e, p, _) = dag_dims(bytes);
    vec![b, b * n * 4, b * (n + 1), b * e, b * n, b * p * n, b * p * n * 4, b * p]
}

fn dag_optimal_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, e, _, c) = dag_dims(bytes);
    vec![b, b * n * 4, b * (n + 1), b * e, b * n, b * c * n * 4, b * c * 2]
}

fn dag_optimal_reduce_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, _, _, _, c) = dag_dims(bytes);
    vec![b * c * 2, b * 2]
}

fn dag_reset_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, _, _, _) = dag_dims(bytes);
    vec![b, 2 * b, super::step::STATE_WORDS as u64 * b, b * n]
}

fn dag_step_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, e, _, _) = dag_dims(bytes);
    let s = super::step::STATE_WORDS as u64;
    vec![b, b * n * 4, b * (n + 1), b * e, b * n, 2 * b, b, b * n * 4, s * b, 2 * b, b * n, b]
}

fn dag_episode_sizes(bytes: &[u8]) -> Vec<u64> {
    let (b, n, e, s, _) = dag_dims(bytes);
    vec![b, b * n * 4, b * (n + 1), b * e, b * n, 2 * b, s, n * s, s * n * 4, n * s, n * s, n * s, s]
}

fn dag_observe_sizes(bytes: &[u8]) -> Vec<u64> {
    let p: DagParams = params(bytes);
    let (b, n, e) = (p.b as u64, p.n_max as u64, p.emb as u64);
    vec![b * n * e, b * n, 2 * b, b * n * (e + super::step::OBS_EXTRA as u64), b]
}
