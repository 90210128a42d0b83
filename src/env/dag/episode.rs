//! Whole episodes of given plans as one kernel: the environment pass of the MRLCO rollout (a
//! policy decodes every action of S sequences first; `dag_episode` then gives every step's
//! reward in one launch, with no host round trip). CPU reference here; WGSL and CUDA in
//! `dag.wgsl` / `dag.cu`; the spec in `kernels.rs`; [`super::mdp::DagEnv::episodes`] launches it.
//!
//! `dag_episode` (params [`DagParams`]: `b` = B graphs, `n_max` = N, `e_max`, `semantics`,
//! `scaled` as in `dag_step`; **`p` = S, the number of sequences**): bufs n_tasks, cost,
//! par_off, par_idx, exit (the [`super::batch::DagBatch`] layout), scale [B, 2] f32 (max, min),
//! graph \[S\] u32 (the graph of each sequence), actions [N, S] u32 (time-major: the decision of
//! rank position k of sequence s at k·S + s), ft [S, N, 4] f32 (scratch), reward [N, S] f32,
//! done [N, S] u32, weight [N, S] f32, makespan \[S\] f32.
//!
//! One thread per sequence s: g = graph\[s\]; a g ≥ B gives reward 0, done 1, weight 0 at every
//! step and makespan NaN. Otherwise, with n = min(n_tasks\[g\], N), from the zero state (as after
//! `dag_reset`), for k in 0..N:
//! - k < n, action 0 or 1: position k is decided as `dag_step` decides it (the same position
//!   rule and reward expression, so every reward is bit-identical to `DagEnv::step_into`'s for
//!   the same actions); weight 1; done 1 iff k + 1 = n;
//! - k < n, action > 1 (only through a device buffer): reward NaN here and at every later real
//!   step, done 1 from here, weight 1 on real steps, makespan NaN (the run cannot go on);
//! - k ≥ n (padding): reward 0, done 1, weight 0.
//!
//! makespan\[s\] is the final span as `DagEnv::makespans` reads it (`current` under reference
//! semantics, the exit tasks' `t` under paper semantics); an empty graph (n = 0) is all
//! padding with makespan 0.

use rayon::prelude::*;

use super::batch::{check_graph_bufs, graph, position, DagParams, F32State};
use super::step::reward_of;
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::Result;

/// (reward bits, done, weight bits) of one step of one sequence.
type StepOut = [u32; 3];

/// A padding step (or every step of a sequence whose graph index is out of range).
const PAD: StepOut = [0, 1, 0];

/// `dag_episode`. The CPU keeps each sequence's finish times in its own scratch; the `ft`
/// buffer is checked for size but not used.
pub fn cpu_episode(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DagParams = decode(params);
    check_graph_bufs("dag_episode", &p, bufs)?;
    let (b, n_max, ns) = (p.b as usize, p.n_max as usize, p.p as usize);
    for (k, (name, want)) in [
        ("scale", 2 * b),
        ("graph", ns),
        ("actions", n_max * ns),
        ("ft", ns * n_max * 4),
        ("reward", n_max * ns),
        ("done", n_max * ns),
        ("weight", n_max * ns),
        ("makespan", ns),
    ]
    .into_iter()
    .enumerate()
    {
        need("dag_episode", name, bufs[5 + k].len(), want)?;
    }
    let (head, tail) = bufs.split_at_mut(8);
    let ro: Vec<&[u32]> = head.iter().map(|x| &**x).collect();
    let [_ft, reward, done, weight, makespan] = tail else { unreachable!("the spec has 13 buffers") };
    // sequence-major rows, written time-major below
    let w = n_max.max(1);
    let mut rows = vec![PAD; ns * w];
    rows.par_chunks_mut(w).zip(f32s_mut(makespan)[..ns].par_iter_mut()).enumerate().for_each_init(
        || vec![0.0f32; 4 * n_max],
        |ft, (s, (row, span))| *span = sequence(&p, &ro, s, ft, &mut row[..n_max]),
    );
    for k in 0..n_max {
        for s in 0..ns {
            let [r, d, wt] = rows[s * w + k];
            reward[k * ns + s] = r;
            done[k * ns + s] = d;
            weight[k * ns + s] = wt;
        }
    }
    Ok(())
}

/// One sequence's episode: its N steps into `row`; returns its makespan.
fn sequence(p: &DagParams, ro: &[&[u32]], s: usize, ft: &mut [f32], row: &mut [StepOut]) -> f32 {
    let (ns, sem) = (p.p as usize, p.semantics);
    let g = ro[6][s] as usize;
    if g >= p.b as usize {
        row.fill(PAD);
        return f32::NAN;
    }
    let gr = graph(p, g, ro);
    let (scale, actions) = (f32s(ro[5]), ro[7]);
    let one = 1.0f32.to_bits();
    let mut st = F32State::default();
    let mut bad = false;
    for (k, out) in row.iter_mut().enumerate() {
        if k >= gr.n {
            *out = PAD;
            continue;
        }
        let a = actions[k * ns + s];
        bad |= a > 1;
        *out = if bad {
            [f32::NAN.to_bits(), 1, one]
        } else {
            let before = st.span(sem);
            position(&gr, sem, k, a == 1, ft, &mut st);
            let r = reward_of(p, scale, g, before, st.span(sem));
            [r.to_bits(), (k + 1 == gr.n) as u32, one]
        };
    }
    if bad {
        f32::NAN
    } else {
        st.span(sem)
    }
}

#[cfg(test)]
mod tests {
    use super::super::gen::{generate, DagGenConfig};
    use super::super::mdp::{DagEnv, EpisodeBuffers, RUNNING};
    use super::super::model::{DagSystem, Prepared, Scratch, Semantics};
    use super::super::Dag;
    use crate::backend::{create, BackendKind, Buffer};
    use crate::rng::philox4x32_10;

    /// Graphs of mixed sizes (N = 17; one single task).
    fn dags() -> Vec<Dag> {
        [9usize, 1, 17, 5, 12, 3]
            .iter()
            .enumerate()
            .map(|(k, &n)| generate(&DagGenConfig { n, ..Default::default() }, 31, k as u32).unwrap())
            .collect()
    }

    /// Each graph twice, in a shuffled order (Fisher–Yates on Philox draws).
    fn order(b: usize, salt: u32) -> Vec<u32> {
        let mut o: Vec<u32> = (0..2 * b as u32).map(|i| i % b as u32).collect();
        for i in (1..o.len()).rev() {
            let j = philox4x32_10([i as u32, salt, 0, 0], [5, 6])[0] as usize % (i + 1);
            o.swap(i, j);
        }
        o
    }

    struct Run {
        reward: Vec<f32>,
        done: Vec<u32>,
        weight: Vec<f32>,
        makespan: Vec<f32>,
    }

    /// The episodes of the sequences of `g` (one graph index per word).
    fn run(env: &DagEnv, g: &Buffer, actions: &[u32]) -> Run {
        let be = env.backend();
        let s = g.words();
        let out = EpisodeBuffers::new(be, env.n_max(), s).unwrap();
        let a = be.upload(actions).unwrap();
        env.episodes(g, &a, s, &out).unwrap();
        Run {
            reward: out.reward.to_vec().unwrap(),
            done: out.done.to_u32().unwrap(),
            weight: out.weight.to_vec().unwrap(),
            makespan: out.makespan.to_vec().unwrap(),
        }
    }

    /// Rewards, dones, weights and makespans against stepping a fresh `DagEnv` of the same
    /// graphs in sequence order, bit for bit; makespans against the f64 model.
    #[test]
    fn episodes_are_the_steps_bit_for_bit() {
        let cpu = create(BackendKind::Cpu).unwrap();
        let ds = dags();
        let b = ds.len();
        for sem in [Semantics::Reference, Semantics::Paper] {
            let sys = DagSystem { semantics: sem, ..Default::default() };
            for scaled in [false, true] {
                let env = DagEnv::new(cpu.clone(), &ds, &sys, 6, scaled).unwrap();
                let n = env.n_max();
                // the env's own state is left alone: one step in, then compare after the episodes
                env.step(&vec![1; b]).unwrap();
                let (st0, ms0) = (env.status().unwrap(), env.makespans().unwrap());
                let graphs = order(b, sem as u32 * 2 + scaled as u32);
                let s = graphs.len();
                let actions: Vec<u32> = (0..n * s)
                    .map(|i| philox4x32_10([i as u32, sem as u32, scaled as u32, 1], [7, 8])[0] & 1)
                    .collect();
                let got = run(&env, &env.graph_index(&graphs).unwrap(), &actions);
                assert_eq!(env.status().unwrap(), st0, "episodes do not touch the env's state");
                assert_eq!(env.makespans().unwrap(), ms0);

                let seq: Vec<Dag> = graphs.iter().map(|&g| ds[g as usize].clone()).collect();
                let fresh = DagEnv::new(cpu.clone(), &seq, &sys, 6, scaled).unwrap();
                for k in 0..n {
                    fresh.step(&actions[k * s..(k + 1) * s]).unwrap();
                    let r = fresh.rewards().unwrap();
                    for (si, &g) in graphs.iter().enumerate() {
                        let (i, real) = (k * s + si, k < ds[g as usize].n());
                        let tag = format!("{sem:?} scaled {scaled} seq {si} (graph {g}) step {k}");
                        assert_eq!(got.reward[i].to_bits(), r[si].to_bits(), "{tag}: reward");
                        assert_eq!(got.weight[i], real as u32 as f32, "{tag}: weight");
                        assert_eq!(got.done[i], (k + 1 >= ds[g as usize].n()) as u32, "{tag}: done");
                    }
                }
                let spans = fresh.makespans().unwrap();
                for (si, &g) in graphs.iter().enumerate() {
                    assert_eq!(got.makespan[si].to_bits(), spans[si].to_bits(), "{sem:?} seq {si}");
                    let d = &ds[g as usize];
                    let plan: Vec<u8> = (0..d.n()).map(|k| actions[k * s + si] as u8).collect();
                    let p = Prepared::new(d, &sys).unwrap();
                    let m = p.makespan(&plan, &mut Scratch::new(p.n()));
                    assert!((got.makespan[si] as f64 - m).abs() <= 1e-5 * m, "{sem:?} seq {si}: {m}");
                }
            }
        }
    }

    #[test]
    fn bad_actions_and_graph_indices_are_flagged() {
        let cpu = create(BackendKind::Cpu).unwrap();
        let ds = dags();
        let b = ds.len();
        let env = DagEnv::new(cpu.clone(), &ds, &DagSystem::default(), 6, true).unwrap();
        let n = env.n_max();
        let e = env.graph_index(&[0, 5, 6]).unwrap_err().to_string();
        assert!(e.contains("graph") && e.contains('6'), "{e}");
        // sequences: graph 2 (17 tasks) with a bad action at step 4, graph 0 (9 tasks) clean,
        // an out-of-range graph index, graph 2 again with a bad action at its last step
        let graphs = [2u32, 0, b as u32 + 3, 2];
        let s = graphs.len();
        let mut actions: Vec<u32> = (0..n * s).map(|i| (i % 3 == 0) as u32).collect();
        actions[4 * s] = 2;
        actions[(n - 1) * s + 3] = 7;
        let got = run(&env, &cpu.upload(&graphs).unwrap(), &actions);
        let clean = {
            let mut a = actions.clone();
            a[4 * s] = 0;
            a[(n - 1) * s + 3] = 0;
            run(&env, &env.graph_index(&[2, 0, 0, 2]).unwrap(), &a)
        };
        for k in 0..n {
            let i = |si: usize| k * s + si;
            // sequence 0: as the clean run before step 4, NaN from there on
            if k < 4 {
                assert_eq!(got.reward[i(0)].to_bits(), clean.reward[i(0)].to_bits());
                assert_eq!(got.done[i(0)], 0);
            } else {
                assert!(got.reward[i(0)].is_nan(), "step {k}");
                assert_eq!(got.done[i(0)], 1);
            }
            assert_eq!(got.weight[i(0)], 1.0);
            // sequence 1 is unaffected
            assert_eq!(got.reward[i(1)].to_bits(), clean.reward[i(1)].to_bits());
            assert_eq!(got.done[i(1)], clean.done[i(1)]);
            assert_eq!(got.weight[i(1)], clean.weight[i(1)]);
            // sequence 2: no graph
            assert_eq!((got.reward[i(2)], got.done[i(2)], got.weight[i(2)]), (0.0, 1, 0.0));
            // sequence 3: NaN only at its last step
            assert_eq!(got.reward[i(3)].is_nan(), k == n - 1, "step {k}");
        }
        assert!(got.makespan[0].is_nan() && got.makespan[2].is_nan() && got.makespan[3].is_nan());
        assert_eq!(got.makespan[1].to_bits(), clean.makespan[1].to_bits());
        assert!(env.status().unwrap().iter().all(|&(k, st)| k == 0 && st == RUNNING));
    }

    /// An empty graph (n_tasks 0, only reachable through hand-made buffers) is all padding with
    /// makespan 0; a mismatched buffer is a shape error.
    #[test]
    fn empty_graph_is_all_padding() {
        use super::super::batch::DagBatch;
        let sys = DagSystem::default();
        let gs: Vec<Prepared> = dags().iter().map(|d| Prepared::new(d, &sys).unwrap()).collect();
        let batch = DagBatch::new(&gs).unwrap();
        let (b, n, s) = (gs.len(), batch.n_max, 3usize);
        let p = batch.params(Semantics::Reference, s, 1);
        let mut nt = batch.n_tasks.clone();
        nt[1] = 0;
        let mut bufs: Vec<Vec<u32>> = vec![
            nt,
            batch.cost.iter().map(|x| x.to_bits()).collect(),
            batch.par_off.clone(),
            batch.par_idx.clone(),
            batch.exit.clone(),
            vec![1.0f32.to_bits(); 2 * b],
            vec![1, 0, 1],
            vec![1; n * s],
            vec![0; s * n * 4],
            vec![9; n * s],
            vec![9; n * s],
            vec![9; n * s],
            vec![9; s],
        ];
        let mut r: Vec<&mut [u32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
        super::cpu_episode(bytemuck::bytes_of(&p), &mut r).unwrap();
        for k in 0..n {
            for si in [0, 2] {
                assert_eq!([bufs[9][k * s + si], bufs[10][k * s + si], bufs[11][k * s + si]], super::PAD);
            }
        }
        assert_eq!(bufs[12][0], 0.0f32.to_bits());
        assert_eq!(bufs[12][2], 0.0f32.to_bits());
        assert!(f32::from_bits(bufs[12][1]) > 0.0);
        bufs[12].pop();
        let mut r: Vec<&mut [u32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let e = super::cpu_episode(bytemuck::bytes_of(&p), &mut r).unwrap_err().to_string();
        assert!(e.contains("makespan"), "{e}");
    }

    #[test]
    fn buffers_are_checked_by_the_launch() {
        let cpu = create(BackendKind::Cpu).unwrap();
        let env = DagEnv::new(cpu.clone(), &dags(), &DagSystem::default(), 6, false).unwrap();
        let out = EpisodeBuffers::new(&cpu, env.n_max(), 2).unwrap();
        let g = env.graph_index(&[0, 1, 2]).unwrap();
        let a = cpu.alloc(env.n_max() * 3).unwrap();
        assert!(env.episodes(&g, &a, 3, &out).is_err(), "outputs for 2 sequences, 3 asked");
        assert!(env.episodes(&g, &a, 2, &out).is_ok());
    }
}
