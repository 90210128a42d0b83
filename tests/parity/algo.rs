//! `replay_*` and `dirs_*` parity: every kernel from Philox-drawn inputs (ring wrap-around,
//! duplicate and out-of-range indices, vote ties, exact zeros and NaN logits, minibatches with
//! and without demonstrations). The sums run in index order with the portable exp/ln, so the
//! sampled indices and the votes must be equal and the losses within the float tolerance.

use std::collections::BTreeSet;

use mecrl::algo::crbdrqn::kernels::{
    PoolParams, CRBDRQN_COUNT, CRBDRQN_GATHER, CRBDRQN_SAMPLE, CRBDRQN_SCAN, CRBDRQN_TARGET, CRBDRQN_TOUCH,
    CRBDRQN_WRITE,
};
use mecrl::algo::dirs::DirsParams;
use mecrl::algo::replay::ReplayParams;
use mecrl::backend::{Backend, KernelSpec};
use mecrl::rng;

use super::{assert_bit_exact, assert_equal, f32v, Case};
use mecrl::algo::dirs::kernels::{DIRS_LOSS_GRAD, DIRS_LOSS_ROWS, DIRS_LOSS_TOTAL, DIRS_VOTE};
use mecrl::algo::gae::{GaeParams, Returns, GAE};
use mecrl::algo::mappo::kernels::{ActParams, MAPPO_ACT};
use mecrl::algo::replay::{REPLAY_GATHER, REPLAY_PUSH, REPLAY_SAMPLE, REPLAY_UPDATE};
use mecrl::algo::rollout::{RolloutParams, ROLLOUT_COLUMNS, ROLLOUT_INDEX, ROLLOUT_PLACE, ROLLOUT_PUT, ROLLOUT_ROWS};
use mecrl::ops::ppo::{PpoLossParams, PPO_OBJECTIVE_BWD, PPO_OBJECTIVE_FWD, STATS};

fn words(n: usize, tag: u32) -> Vec<u32> {
    (0..n as u32).map(|i| rng::philox4x32_10([i, tag, 0, 77], [5, 6])[0]).collect()
}

fn unif(n: usize, tag: u32, lo: f32, hi: f32) -> Vec<f32> {
    words(n, tag).into_iter().map(|w| lo + (hi - lo) * rng::uniform(w)).collect()
}

fn below(n: usize, tag: u32, k: u32) -> Vec<u32> {
    words(n, tag).into_iter().map(|w| rng::uniform_index(w, k)).collect()
}

pub(super) fn cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let (n, m) = (5usize, 3usize);
    let base = ReplayParams {
        n: n as u32,
        m: m as u32,
        tau: 0.6,
        eps_a: 0.08,
        eps_d: 0.02,
        key0: 9,
        key1: 4,
        ..Default::default()
    };
    // Push 4 rows into a ring of 7 starting at slot 5 (wraps to 0, 1), then with 2 kept slots
    // (ring 2..7, relative head 4: slots 6, 2, 3, 4).
    let (cap, rows) = (7usize, 4usize);
    for (head, floor) in [(5u32, 0u32), (4, 2)] {
        let p = ReplayParams { cap: cap as u32, size: 5, rows: rows as u32, head, floor, demo: 1, ..base };
        assert_equal(
            be,
            &Case {
                id: &REPLAY_PUSH,
                params: bytemuck::bytes_of(&p).to_vec(),
                threads: (rows * m * n) as u32,
                bufs: vec![
                    f32v(&unif(rows * m * n, 1, -2.0, 2.0)),
                    below(rows * n, 2, 4),
                    f32v(&unif(cap * m * n, 3, -1.0, 1.0)),
                    below(cap * n, 4, 4),
                    below(cap, 5, 2),
                    f32v(&unif(cap, 6, 0.0, 1.0)),
                    f32v(&[1.7]),
                ],
            },
            done,
        );
    }
    // Sample 100 of 37 filled slots (of 40), with τ = 0.6 and τ = 0 (uniform).
    for tau in [0.6f32, 0.0] {
        let cap = 40usize;
        let p = ReplayParams { cap: cap as u32, size: 37, k: 100, step: 3, tau, ..base };
        let mut delta = unif(cap, 7, 0.0, 2.0);
        delta[3] = 0.0;
        assert_equal(
            be,
            &Case {
                id: &REPLAY_SAMPLE,
                params: bytemuck::bytes_of(&p).to_vec(),
                threads: 100,
                bufs: vec![below(cap, 8, 2), f32v(&delta), vec![0; 100]],
            },
            done,
        );
    }
    // Update with a duplicate and an out-of-range index.
    let cap = 40usize;
    let p = ReplayParams { cap: cap as u32, size: 40, k: 20, ..base };
    let mut idx = below(20, 9, 40);
    idx[7] = idx[2];
    idx[11] = 45;
    assert_equal(
        be,
        &Case {
            id: &REPLAY_UPDATE,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: 1,
            bufs: vec![idx, f32v(&unif(20, 10, 0.0, 3.0)), f32v(&unif(cap, 11, 0.0, 1.0)), f32v(&[1.1])],
        },
        done,
    );
    // Gather 6 rows (one index out of range reads slot 0).
    let (cap, rows) = (9usize, 6usize);
    let p = ReplayParams { cap: cap as u32, size: 9, rows: rows as u32, ..base };
    let mut idx = below(rows, 12, 9);
    idx[4] = 99;
    assert_equal(
        be,
        &Case {
            id: &REPLAY_GATHER,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: (m * rows * n) as u32,
            bufs: vec![
                idx,
                f32v(&unif(cap * m * n, 13, -3.0, 3.0)),
                below(cap * n, 14, 4),
                below(cap, 15, 2),
                vec![0; m * rows * n],
                vec![0; rows * n],
                vec![0; rows],
            ],
        },
        done,
    );

    // DIRS kernels: M = 3 agents, R = 6 rows, N = 5 IoTDs.
    let (m, r, n) = (3usize, 6usize, 5usize);
    let p = DirsParams { m: m as u32, rows: r as u32, n: n as u32, lambda2: 0.5, ..Default::default() };
    let mut z = unif(m * r * n, 16, -4.0, 4.0);
    let stride = r * n;
    z[2] = z[stride + 2]; // a tie between agents 1 and 2
    z[4] = 0.0; // exactly σ = 0.5 for agent 1 ...
    z[stride + 4] = -1.0;
    z[2 * stride + 4] = -2.0; // ... which then wins
    z[7] = f32::NAN;
    for k in [8usize, 8 + stride, 8 + 2 * stride] {
        z[k] = -0.5; // all below 0.5: local
    }
    let label = below(r * n, 17, m as u32 + 1);
    assert_equal(
        be,
        &Case {
            id: &DIRS_VOTE,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: (r * n) as u32,
            bufs: vec![f32v(&z), vec![0; r * n]],
        },
        done,
    );
    let z = unif(m * r * n, 18, -6.0, 6.0);
    let ls = assert_equal(
        be,
        &Case {
            id: &DIRS_LOSS_ROWS,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: r as u32,
            bufs: vec![f32v(&z), label.clone(), vec![0; r]],
        },
        done,
    )[2]
    .clone()
    .unwrap();
    // Mixed minibatch, then all demonstrations, then all agent data.
    let mut c = vec![];
    for demo in [below(r, 19, 2), vec![1; r], vec![0; r]] {
        let out = assert_equal(
            be,
            &Case {
                id: &DIRS_LOSS_TOTAL,
                params: bytemuck::bytes_of(&p).to_vec(),
                threads: 1,
                bufs: vec![demo, ls.clone(), vec![0; r], vec![0; r], vec![0]],
            },
            done,
        );
        c = out[2].clone().unwrap();
    }
    assert_equal(
        be,
        &Case {
            id: &DIRS_LOSS_GRAD,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: (m * r * n) as u32,
            bufs: vec![f32v(&z), label, c, vec![0; m * r * n]],
        },
        done,
    );
    gae_cases(be, done);
    rollout_cases(be, done);
    ppo_cases(be, done);
}

/// The rollout's word moves: columns gathered with repeats (and an out-of-range index the host
/// would refuse, clamped by the kernel), a row written; bit for bit.
fn rollout_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let (o, ei, eo, w) = (7usize, 9usize, 12usize, 5usize);
    let mut idx = below(eo, 31, ei as u32);
    idx[3] = 40;
    let p = RolloutParams {
        outer: o as u32,
        envs_in: ei as u32,
        envs_out: eo as u32,
        width: w as u32,
        ..Default::default()
    };
    assert_bit_exact(
        be,
        &Case {
            id: &ROLLOUT_COLUMNS,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: (o * eo * w) as u32,
            bufs: vec![words(o * ei * w, 32), idx, vec![7; o * eo * w]],
        },
        done,
    );
    let p = RolloutParams { outer: 6, width: 23, t: 4, ..Default::default() };
    assert_bit_exact(
        be,
        &Case {
            id: &ROLLOUT_PUT,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: 23,
            bufs: vec![words(23, 33), words(6 * 23, 34)],
        },
        done,
    );
}

/// The PPO objective over 300 samples (ratios inside and outside the clip, a third padded)
/// with and without advantage normalization and value clipping, and its backward.
fn ppo_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let n = 300usize;
    let old = unif(n, 40, -3.0, -0.05);
    let logp: Vec<f32> = old.iter().zip(unif(n, 41, -0.5, 0.5)).map(|(o, d)| o + d).collect();
    let ent = unif(n, 42, 0.0, 0.7);
    let value = unif(n, 43, -2.0, 2.0);
    let old_value = unif(n, 44, -2.0, 2.0);
    let adv = unif(n, 45, -3.0, 3.0);
    let ret = unif(n, 46, -4.0, 1.0);
    let weight: Vec<f32> = (0..n).map(|i| (i % 3 != 2) as u32 as f32).collect();
    for (norm, clip) in [(0u32, 0.0f32), (1, 0.0), (1, 0.3)] {
        let p = PpoLossParams {
            n: n as u32,
            norm_adv: norm,
            clip_eps: 0.2,
            value_coef: 0.5,
            entropy_coef: 0.01,
            clip_value: clip,
            ..Default::default()
        };
        let ins = [&logp, &ent, &value, &old, &old_value, &adv, &ret, &weight];
        let mut bufs: Vec<Vec<u32>> = ins.iter().map(|x| f32v(x)).collect();
        bufs.extend([vec![7], vec![7; STATS]]);
        let out = assert_equal(
            be,
            &Case { id: &PPO_OBJECTIVE_FWD, params: bytemuck::bytes_of(&p).to_vec(), threads: 1, bufs },
            done,
        );
        let stats = out[9].clone().unwrap();
        let mut bufs: Vec<Vec<u32>> = ins.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, x)| f32v(x)).collect();
        bufs.extend([stats, f32v(&[0.7]), f32v(&unif(n, 47, -1.0, 1.0)), vec![0; n], f32v(&unif(n, 48, -1.0, 1.0))]);
        assert_equal(
            be,
            &Case { id: &PPO_OBJECTIVE_BWD, params: bytemuck::bytes_of(&p).to_vec(), threads: n as u32, bufs },
            done,
        );
    }
}

/// GAE over 53 steps × 70 environments with terminations in the middle and at the end, for
/// (γ, λ) = (0.99, 0.95) and (1, 1), λ-returns and discounted returns: single IEEE operations in one order, compared bit for bit.
fn gae_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let (t, e) = (53usize, 70usize);
    let h = |i: usize, s: u32| ((i as u32 ^ s).wrapping_mul(2_654_435_761) >> 8) as f32 / 16_777_216.0;
    let reward: Vec<f32> = (0..t * e).map(|i| h(i, 3) * 2.0 - 1.0).collect();
    let value: Vec<f32> = (0..t * e).map(|i| h(i, 4) * 10.0 - 5.0).collect();
    let dones: Vec<u32> = (0..t * e).map(|i| (h(i, 5) < 0.07 || (i % 3 == 0 && i / e == t - 1)) as u32).collect();
    let next: Vec<f32> = (0..e).map(|c| h(c, 6) * 3.0).collect();
    for (g, l, r) in
        [(0.99f32, 0.95f32, Returns::Lambda), (1.0, 1.0, Returns::Lambda), (0.99, 0.95, Returns::Discounted)]
    {
        let p = GaeParams::new(t, e, g, l).unwrap().with_returns(r);
        let c = Case {
            id: &GAE,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: e as u32,
            bufs: vec![f32v(&reward), f32v(&value), dones.clone(), f32v(&next), vec![7; t * e], vec![7; t * e]],
        };
        assert_bit_exact(be, &c, done);
    }
    // mappo_act: both rules, ties (equal rows), out-of-range candidates, idle agents
    let (rows, cols, f) = (40usize, 6usize, 3usize);
    let mut logp = unif(rows * cols, 31, -4.0, 0.0);
    for c in 0..cols {
        logp[5 * cols + c] = -1.0;
    }
    let mut sampled = below(rows, 32, cols as u32);
    let mut dpp = below(rows, 33, cols as u32);
    sampled[7] = cols as u32;
    dpp[8] = u32::MAX;
    let obs: Vec<f32> = below(rows * f, 34, 3).into_iter().map(|x| x as f32).collect();
    for mix in [0u32, 1, 2] {
        let p = ActParams {
            rows: rows as u32,
            cols: cols as u32,
            obs_width: f as u32,
            mix,
            epsilon: 0.4,
            key0: 7,
            key1: 9,
            step: 123,
        };
        let c = Case {
            id: &MAPPO_ACT,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: rows as u32,
            bufs: vec![
                f32v(&logp),
                sampled.clone(),
                dpp.clone(),
                f32v(&obs),
                vec![7; rows],
                vec![7; rows],
                vec![7; rows],
            ],
        };
        assert_bit_exact(be, &c, done);
    }
    // rollout_place: 3 columns of a [4, 3, 5] field into columns 2..5 of a [4, 6, 5] one
    for at in [2u32, 4] {
        let p = RolloutParams { outer: 4, envs_in: 3, envs_out: 6, width: 5, t: at, ..Default::default() };
        let c = Case {
            id: &ROLLOUT_PLACE,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: 4 * 3 * 5,
            bufs: vec![words(4 * 3 * 5, 41), words(4 * 6 * 5, 42)],
        };
        assert_bit_exact(be, &c, done);
    }
    // rollout_index / rollout_rows: sparse weights (a column without any), indices past T
    let (t, e) = (9usize, 5usize);
    let mut weight: Vec<f32> = below(t * e, 43, 3).into_iter().map(|x| if x == 0 { 1.0 } else { 0.0 }).collect();
    for s in 0..t {
        weight[s * e + 2] = 0.0;
    }
    let p = RolloutParams { outer: t as u32, envs_in: e as u32, envs_out: e as u32, ..Default::default() };
    let c = Case {
        id: &ROLLOUT_INDEX,
        params: bytemuck::bytes_of(&p).to_vec(),
        threads: e as u32,
        bufs: vec![f32v(&weight), vec![77; t * e], vec![77; t * e], vec![77; t * e]],
    };
    let idx = assert_bit_exact(be, &c, done)[1].clone().unwrap();
    assert!(idx.contains(&(t as u32)));
    let p = RolloutParams { width: 3, ..p };
    let c = Case {
        id: &ROLLOUT_ROWS,
        params: bytemuck::bytes_of(&p).to_vec(),
        threads: (t * e * 3) as u32,
        bufs: vec![words(t * e * 3, 44), idx, vec![5; t * e * 3]],
    };
    assert_bit_exact(be, &c, done);
    crbdrqn_cases(be, done);
}

/// The CRB-DRQN pool: an episode of 3 instances × 4 terminals cut into trajectories (some
/// beyond the capacity, the ring wrapping), familiarity draws over uneven counts, touches with
/// duplicates and an out-of-range index, both gathers, and double-DQN targets with ties.
fn crbdrqn_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let (t, e, f, l, n, cap) = (23usize, 12usize, 5usize, 6usize, 3usize, 9usize);
    let base = PoolParams {
        cols: e as u32,
        steps: t as u32,
        f: f as u32,
        l: l as u32,
        agents: 4,
        n: n as u32,
        cap: cap as u32,
        k: 7,
        alpha: 1.3,
        key0: 3,
        key1: 8,
        step: 41,
        gamma: 0.9,
        ..Default::default()
    };
    let case = |id, p: PoolParams, threads: usize, bufs: Vec<Vec<u32>>| Case {
        id,
        params: bytemuck::bytes_of(&p).to_vec(),
        threads: threads as u32,
        bufs,
    };
    let weight: Vec<f32> = below(t * e, 51, 3).into_iter().map(|x| if x == 0 { 1.0 } else { 0.0 }).collect();
    let count =
        assert_bit_exact(be, &case(&CRBDRQN_COUNT, base, e, vec![f32v(&weight), vec![9; e]]), done)[1].clone().unwrap();
    for head in [0u32, 7] {
        let r = assert_bit_exact(
            be,
            &case(&CRBDRQN_SCAN, base, 1, vec![count.clone(), vec![9; e], vec![head, 4, 0, 0]]),
            done,
        );
        let (offset, ring) = (r[1].clone().unwrap(), r[2].clone().unwrap());
        let bufs = vec![
            f32v(&unif(t * e * f, 52, -1.0, 1.0)),
            f32v(&unif(t * 3 * l, 53, 0.0, 9.0)),
            below(t * e, 54, 4),
            f32v(&unif(t * e, 55, -36.0, 0.0)),
            f32v(&weight),
            count.clone(),
            offset,
            ring,
            f32v(&unif(cap * (n + 1) * f, 56, -1.0, 1.0)),
            f32v(&unif(cap * (n + 1) * l, 57, -1.0, 1.0)),
            below(cap * n, 58, 4),
            f32v(&unif(cap * n, 59, -1.0, 1.0)),
            below(cap, 60, 2),
            below(cap, 61, 5),
        ];
        assert_bit_exact(be, &case(&CRBDRQN_WRITE, base, e, bufs), done);
    }
    let fam = below(cap, 62, 6);
    for filled in [9u32, 5, 1] {
        let c = case(&CRBDRQN_SAMPLE, base, 7, vec![fam.clone(), vec![0, filled, 0, 0], vec![99; 7]]);
        assert_bit_exact(be, &c, done);
    }
    let idx = vec![2u32, 5, 2, 8, 100, 0, 5];
    assert_bit_exact(be, &case(&CRBDRQN_TOUCH, base, 1, vec![idx.clone(), fam.clone()]), done);
    for shift in [0u32, 1] {
        let bufs = vec![
            idx.clone(),
            f32v(&unif(cap * (n + 1) * f, 63, -1.0, 1.0)),
            f32v(&unif(cap * (n + 1) * l, 64, -1.0, 1.0)),
            below(cap * n, 65, 4),
            f32v(&unif(cap * n, 66, -1.0, 1.0)),
            below(cap, 67, 2),
            vec![7; n * 7 * f],
            vec![7; n * 7 * l],
            vec![7; n * 7],
            vec![7; n * 7],
            vec![7; n * 7],
        ];
        assert_bit_exact(be, &case(&CRBDRQN_GATHER, PoolParams { shift, ..base }, n * 7, bufs), done);
    }
    let (rows, a) = (30usize, 5usize);
    let mut qn = unif(rows * a, 68, -30.0, 0.0);
    qn[3 * a + 1] = qn[3 * a + 4];
    let term: Vec<f32> = below(rows, 69, 2).into_iter().map(|x| x as f32).collect();
    let p = PoolParams { rows: rows as u32, actions: a as u32, ..base };
    let bufs = vec![
        f32v(&qn),
        f32v(&unif(rows * a, 70, -30.0, 0.0)),
        f32v(&unif(rows, 71, -36.0, 0.0)),
        f32v(&term),
        vec![7; rows],
        vec![7; rows],
    ];
    assert_bit_exact(be, &case(&CRBDRQN_TARGET, p, rows, bufs), done);
}
