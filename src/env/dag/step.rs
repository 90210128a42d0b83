//! The MDP of MRLCO as CPU kernels (the reference of every backend; specs in `kernels.rs`, the
//! environment that launches them in `mdp.rs`). The MDP of MRLCO (MRLCO paper §4.2;
//! docs/dag.md), batched: B graphs (padded) are rolled out together, one decision per graph per
//! step, in rank order. The state is the task embeddings in rank order plus the decisions so
//! far; the action is 0 (local) or 1 (offload) for the task at the current position; the reward
//! is −(T_c(A_1:i) − T_c(A_1:i−1)) (§4.2, unnumbered), optionally min-max scaled per graph as
//! the published code scores it: −(ΔT − min)/(max − min) ([`super::model::reward_scale`]).
//!
//! Kernels (CPU here, WGSL and CUDA in `dag.wgsl` / `dag.cu`), one thread per graph:
//! - `dag_reset`: bufs n_tasks, ctl [B, 2] u32 (position, status), state [B, 8] f32
//!   ([`F32State`]: a_ue, a_up, a_mec, a_down, current, t_exit, 0, 0), plan [B, N] u32
//!   (decisions so far; [`UNDECIDED`] where none yet).
//! - `dag_step`: bufs n_tasks, cost, par_off, par_idx, exit (the [`DagBatch`](super::batch::DagBatch) layout), scale
//!   [B, 2] f32 (max, min), action \[B\] u32, ft [B, N, 4] f32 (finish times, kept between
//!   steps), state, ctl, plan, reward \[B\] f32.
//!
//! Status: [`RUNNING`], [`DONE`] (every task decided; further steps give reward 0 and change
//! nothing) or [`BAD_ACTION`] (an action other than 0 or 1 arrived through a device buffer:
//! reward NaN, state unchanged, sticky until reset). [`DagEnv::step`](super::mdp::DagEnv::step) refuses such actions with a
//! typed error before they reach a kernel.

use rayon::prelude::*;

use super::batch::{check_graph_bufs, graph, position, DagParams, F32State};
use crate::backend::cpu::{f32s, f32s_mut, need, need_all};
use crate::backend::params as decode;
use crate::error::Result;

/// Status: the graph has undecided tasks.
pub const RUNNING: u32 = 0;
/// Status: every task is decided.
pub const DONE: u32 = 1;
/// Status: an invalid action arrived (device actions only).
pub const BAD_ACTION: u32 = 2;
/// `plan` entry of a position not decided yet.
pub const UNDECIDED: u32 = u32::MAX;
/// f32 words per `state` row.
pub const STATE_WORDS: usize = 8;

/// `dag_reset`.
pub fn cpu_reset(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DagParams = decode(params);
    let (b, n) = (p.b as usize, p.n_max as usize);
    need_all("dag_reset", bufs, &[("n_tasks", b), ("ctl", 2 * b), ("state", STATE_WORDS * b), ("plan", b * n)])?;
    let [n_tasks, ctl, state, plan] = bufs else { unreachable!("the spec has 4 buffers") };
    for g in 0..b {
        ctl[2 * g] = 0;
        ctl[2 * g + 1] = if n_tasks[g] == 0 { DONE } else { RUNNING };
        state[STATE_WORDS * g..STATE_WORDS * (g + 1)].fill(0);
        plan[g * n..(g + 1) * n].fill(UNDECIDED);
    }
    Ok(())
}

/// `dag_step`.
pub fn cpu_step(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DagParams = decode(params);
    check_graph_bufs("dag_step", &p, bufs)?;
    let (b, n_max) = (p.b as usize, p.n_max as usize);
    for (k, (name, want)) in [
        ("scale", 2 * b),
        ("action", b),
        ("ft", b * n_max * 4),
        ("state", STATE_WORDS * b),
        ("ctl", 2 * b),
        ("plan", b * n_max),
        ("reward", b),
    ]
    .into_iter()
    .enumerate()
    {
        need("dag_step", name, bufs[5 + k].len(), want)?;
    }
    let (head, tail) = bufs.split_at_mut(7);
    let ro: Vec<&[u32]> = head.iter().map(|x| &**x).collect();
    let [ft, state, ctl, plan, reward] = tail else { unreachable!("the spec has 12 buffers") };
    let scale = f32s(ro[5]);
    f32s_mut(ft)[..b * n_max * 4]
        .par_chunks_mut(4 * n_max)
        .zip(f32s_mut(state)[..STATE_WORDS * b].par_chunks_mut(STATE_WORDS))
        .zip(ctl[..2 * b].par_chunks_mut(2))
        .zip(plan[..b * n_max].par_chunks_mut(n_max))
        .zip(f32s_mut(reward)[..b].par_iter_mut())
        .enumerate()
        .for_each(|(g, ((((ft, state), ctl), plan), reward))| {
            let gr = graph(&p, g, &ro);
            if ctl[1] != RUNNING {
                *reward = 0.0;
                return;
            }
            let a = ro[6][g];
            if a > 1 {
                ctl[1] = BAD_ACTION;
                *reward = f32::NAN;
                return;
            }
            let k = ctl[0] as usize;
            if k >= gr.n {
                // unreachable through reset/step; a hand-made ctl must not index past N
                ctl[1] = DONE;
                *reward = 0.0;
                return;
            }
            let mut st =
                F32State { avail: [state[0], state[1], state[2], state[3]], current: state[4], t_exit: state[5] };
            let before = st.span(p.semantics);
            position(&gr, p.semantics, k, a == 1, ft, &mut st);
            *reward = reward_of(&p, scale, g, before, st.span(p.semantics));
            state[..6].copy_from_slice(&[st.avail[0], st.avail[1], st.avail[2], st.avail[3], st.current, st.t_exit]);
            plan[k] = a;
            ctl[0] = k as u32 + 1;
            if k + 1 >= gr.n {
                ctl[1] = DONE;
            }
        });
    Ok(())
}

/// The reward of one decision of graph `g` whose span went from `before` to `after`: −ΔT_c
/// (§4.2), min-max scaled by `scale` [B, 2] (max, min) when `p.scaled` — the one expression
/// (and order of operations) of `dag_step` and `dag_episode` on every backend.
#[inline]
pub(crate) fn reward_of(p: &DagParams, scale: &[f32], g: usize, before: f32, after: f32) -> f32 {
    let delta = after - before; // ΔT_c (§4.2)
    if p.scaled != 0 {
        let (hi, lo) = (scale[2 * g], scale[2 * g + 1]);
        -((delta - lo) / (hi - lo))
    } else {
        -delta
    }
}

/// Columns of a `dag_observe` row: the embedding, then the decision so far (−1 undecided, 0
/// local, 1 offload) and 1 at the current position.
pub const OBS_EXTRA: usize = 2;

/// `dag_observe`: bufs embeddings \[B,N,emb\], plan \[B,N\], ctl \[B,2\], obs [B,N,emb+2],
/// terminated \[B\] (1 once the graph is done or a bad action arrived). One thread per graph.
pub fn cpu_observe(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DagParams = decode(params);
    let (b, n, e) = (p.b as usize, p.n_max as usize, p.emb as usize);
    let w = e + OBS_EXTRA;
    need_all(
        "dag_observe",
        bufs,
        &[("embeddings", b * n * e), ("plan", b * n), ("ctl", 2 * b), ("obs", b * n * w), ("terminated", b)],
    )?;
    let [emb, plan, ctl, obs, terminated] = bufs else { unreachable!("the spec has 5 buffers") };
    let (emb, plan, ctl) = (f32s(emb), &plan[..], &ctl[..]);
    f32s_mut(obs)[..b * n * w].par_chunks_mut((n * w).max(1)).zip(terminated[..b].par_iter_mut()).enumerate().for_each(
        |(g, (o, done))| {
            for k in 0..n {
                let row = &mut o[k * w..(k + 1) * w];
                row[..e].copy_from_slice(&emb[(g * n + k) * e..(g * n + k + 1) * e]);
                let a = plan[g * n + k];
                row[e] = if a == UNDECIDED { -1.0 } else { a as f32 };
                row[e + 1] = if k as u32 == ctl[2 * g] { 1.0 } else { 0.0 };
            }
            *done = (ctl[2 * g + 1] != RUNNING) as u32;
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observe_rows_hand_case() {
        // One graph, N = 3, emb 2: decided (1, 0), at position 2, running.
        let p = DagParams { b: 1, n_max: 3, emb: 2, ..Default::default() };
        let mut emb: Vec<u32> = [0.5f32, 1.0, 2.0, 3.0, 4.0, 5.0].iter().map(|x| x.to_bits()).collect();
        let mut plan = vec![1, 0, UNDECIDED];
        let mut ctl = vec![2, RUNNING];
        let (mut obs, mut term) = (vec![7u32; 12], vec![7u32]);
        let mut bufs: Vec<&mut [u32]> = vec![&mut emb, &mut plan, &mut ctl, &mut obs, &mut term];
        cpu_observe(bytemuck::bytes_of(&p), &mut bufs).unwrap();
        let got: Vec<f32> = obs.iter().map(|&w| f32::from_bits(w)).collect();
        assert_eq!(got, [0.5, 1.0, 1.0, 0.0, 2.0, 3.0, 0.0, 0.0, 4.0, 5.0, -1.0, 1.0]);
        assert_eq!(term, [0]);
    }
}
