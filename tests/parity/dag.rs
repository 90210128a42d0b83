//! Parity of `dag_episode`: S = 70 sequences (more than one workgroup) over graphs of 8, 11, 12
//! and 1 tasks (N = 12: padding after every length), random plans, two bad device actions (one
//! at a sequence's first step, one in the middle), two out-of-range graph indices, unscaled and
//! scaled rewards, and an empty graph (n_tasks 0). Outputs start as garbage, so every word the
//! kernel must write is compared; everything is bit for bit.

use std::collections::BTreeSet;

use mecrl::backend::{Backend, KernelSpec};
use mecrl::env::dag::batch::{DagBatch, DagParams};
use mecrl::env::dag::gen::{generate, DagGenConfig};
use mecrl::env::dag::kernels::DAG_EPISODE;
use mecrl::env::dag::model::{reward_scale, DagSystem, Prepared, Semantics};
use mecrl::rng;

use super::{assert_bit_exact, f32v, Case};

pub(super) fn episode_cases(be: &dyn Backend, sem: Semantics, done: &mut BTreeSet<&'static KernelSpec>) {
    let sys = DagSystem { semantics: sem, ..Default::default() };
    let dags: Vec<_> = [(8usize, 1u32), (11, 2), (12, 3), (1, 4)]
        .iter()
        .map(|&(n, k)| generate(&DagGenConfig { n, ..Default::default() }, 77, k).unwrap())
        .collect();
    let graphs: Vec<Prepared> = dags.iter().map(|d| Prepared::new(d, &sys).unwrap()).collect();
    let batch = DagBatch::new(&graphs).unwrap();
    let (b, n, s) = (graphs.len(), batch.n_max, 70usize);
    let scale: Vec<f32> = dags
        .iter()
        .flat_map(|d| {
            let (hi, lo) = reward_scale(d, &sys);
            [hi as f32, lo as f32]
        })
        .collect();
    // sequence j runs graph j mod B, but for two indices past B
    let graph: Vec<u32> = (0..s as u32)
        .map(|j| {
            if j == 9 {
                b as u32
            } else if j == 40 {
                u32::MAX
            } else {
                j % 4
            }
        })
        .collect();
    let mut actions: Vec<u32> =
        (0..n * s).map(|i| rng::philox4x32_10([i as u32, 5, 1, 3], [13, sem as u32])[0] & 1).collect();
    actions[5 * s + 2] = 2; // sequence 2 (graph 2, 12 tasks) at step 5
    actions[6] = 9; // sequence 6 (graph 2) at its first step
    let garbage =
        |len: usize, salt: u32| (0..len as u32).map(|i| (i ^ salt).wrapping_mul(2654435761)).collect::<Vec<u32>>();
    for (scaled, empty) in [(0u32, false), (1, false), (1, true)] {
        let mut p: DagParams = batch.params(sem, s, 1);
        p.scaled = scaled;
        let mut n_tasks = batch.n_tasks.clone();
        if empty {
            n_tasks[1] = 0;
        }
        let bufs = vec![
            n_tasks,
            f32v(&batch.cost),
            batch.par_off.clone(),
            batch.par_idx.clone(),
            batch.exit.clone(),
            f32v(&scale),
            graph.clone(),
            actions.clone(),
            garbage(s * n * 4, 1),
            garbage(n * s, 2),
            garbage(n * s, 3),
            garbage(n * s, 4),
            garbage(s, 5),
        ];
        let c = Case { id: &DAG_EPISODE, params: bytemuck::bytes_of(&p).to_vec(), threads: s as u32, bufs };
        let out = assert_bit_exact(be, &c, done);
        let [r, d, w, m] = [9, 10, 11, 12].map(|i| out[i].clone().unwrap());
        let f = |v: u32| f32::from_bits(v);
        for j in 0..s {
            let no_tasks = graph[j] as usize >= b || (empty && graph[j] == 1);
            let nj = if no_tasks { 0 } else { graphs[graph[j] as usize].n() };
            let bad = j == 2 || j == 6;
            for k in 0..n {
                let o = k * s + j;
                assert_eq!(f(w[o]), if k < nj { 1.0 } else { 0.0 }, "seq {j} step {k}: weight");
                if k >= nj {
                    assert_eq!((r[o], d[o]), (0, 1), "seq {j} step {k}: padding");
                }
            }
            let want_nan = graph[j] as usize >= b || bad;
            assert_eq!(f(m[j]).is_nan(), want_nan, "seq {j}: makespan {}", f(m[j]));
            if nj == 0 && !want_nan {
                assert_eq!(f(m[j]), 0.0, "seq {j}: an empty graph");
            }
        }
        assert!(f(r[5 * s + 2]).is_nan() && f(r[11 * s + 2]).is_nan() && !f(r[4 * s + 2]).is_nan());
        assert!((0..n).all(|k| f(r[k * s + 6]).is_nan() && d[k * s + 6] == 1));
    }
}
