//! O2O-DRL parity: the discrete SAC losses (`sac_*`, `cql_*`: soft values over masked rows with
//! ties between the twins, done rows, a row with one allowed action, CQL over masked Qs) and the
//! `o2o` minibatch draw and team reward. The minibatch draw picks rows by Philox integers, so the
//! gathered rows are bit-exact; the losses sum rows in index order with the portable exp/ln.

use std::collections::BTreeSet;

use mecrl::algo::o2o::kernels::{O2oParams, O2O_GATHER, O2O_TEAM};
use mecrl::backend::{Backend, KernelSpec};
use mecrl::ops::sac::{SacParams, CQL_BWD, CQL_FWD, CQL_STATS, SAC_VALUE_BWD, SAC_VALUE_FWD};
use mecrl::rng;

use super::{assert_bit_exact, assert_equal, f32v, Case};

fn unif(n: usize, tag: u32, lo: f32, hi: f32) -> Vec<f32> {
    (0..n as u32).map(|i| lo + (hi - lo) * rng::uniform(rng::philox4x32_10([i, tag, 1, 78], [7, 8])[0])).collect()
}

fn below(n: usize, tag: u32, k: u32) -> Vec<u32> {
    (0..n as u32).map(|i| rng::uniform_index(rng::philox4x32_10([i, tag, 2, 78], [7, 8])[0], k)).collect()
}

pub(super) fn cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let (r, a) = (37usize, 6usize);
    // masks: the last action ("no task") always allowed, others by a coin; row 3 only "no task"
    let mut mask: Vec<u32> = below(r * a, 1, 2);
    for i in 0..r {
        mask[i * a + a - 1] = 1;
    }
    for j in 0..a - 1 {
        mask[3 * a + j] = 0;
    }
    let z = unif(r * a, 2, -3.0, 3.0);
    let mut qbar = unif(2 * r * a, 3, -5.0, 5.0);
    qbar[r * a + 1] = qbar[1]; // a tie between the twins
    let done_rows: Vec<u32> = below(r, 4, 4).into_iter().map(|x| (x == 0) as u32).collect();
    let p = SacParams {
        rows: r as u32,
        actions: a as u32,
        alpha: 0.05,
        gamma: 0.99,
        lambda_c: 0.1,
        reward_scale: 0.37,
        reward_bias: -0.6,
        ..Default::default()
    };
    let bufs = vec![
        f32v(&z),
        f32v(&qbar),
        mask.clone(),
        f32v(&unif(r, 5, -4.0, 4.0)),
        done_rows,
        vec![7],
        vec![7; r],
        vec![7; r],
    ];
    let c = Case { id: &SAC_VALUE_FWD, params: bytemuck::bytes_of(&p).to_vec(), threads: 1, bufs };
    let out = assert_equal(be, &c, done);
    let value = out[6].clone().expect("value");
    let bufs = vec![f32v(&z), f32v(&qbar), mask.clone(), value, f32v(&[0.8]), f32v(&unif(r * a, 6, -1.0, 1.0))];
    let c = Case { id: &SAC_VALUE_BWD, params: bytemuck::bytes_of(&p).to_vec(), threads: r as u32, bufs };
    assert_equal(be, &c, done);
    // the twin Q loss: actions allowed by the mask
    let action: Vec<u32> = (0..r).map(|i| (0..a).rev().find(|&j| mask[i * a + j] != 0).unwrap_or(0) as u32).collect();
    let q = unif(2 * r * a, 7, -6.0, 6.0);
    let y = unif(r, 8, -3.0, 3.0);
    let bufs = vec![f32v(&q), action.clone(), f32v(&y), mask.clone(), vec![7], vec![7; CQL_STATS]];
    let c = Case { id: &CQL_FWD, params: bytemuck::bytes_of(&p).to_vec(), threads: 1, bufs };
    assert_equal(be, &c, done);
    let bufs = vec![f32v(&q), action, f32v(&y), mask, f32v(&[1.3]), f32v(&unif(2 * r * a, 9, -1.0, 1.0))];
    let c = Case { id: &CQL_BWD, params: bytemuck::bytes_of(&p).to_vec(), threads: (2 * r) as u32, bufs };
    assert_equal(be, &c, done);

    // a minibatch of 29 draws from 53 rows (F = 7, A = 4)
    let (rows, f, na, k) = (53usize, 7usize, 4usize, 29usize);
    let gp = O2oParams {
        rows: rows as u32,
        f: f as u32,
        a: na as u32,
        k: k as u32,
        key0: 3,
        key1: 5,
        step: 11,
        ..Default::default()
    };
    let bufs = vec![
        f32v(&unif(rows * f, 10, -1.0, 1.0)),
        f32v(&unif(rows * f, 11, -1.0, 1.0)),
        below(rows, 12, na as u32),
        f32v(&unif(rows, 13, -9.0, 9.0)),
        below(rows, 14, 2),
        below(rows * na, 15, 2),
        below(rows * na, 16, 2),
        vec![7; k * f],
        vec![7; 2 * k * f],
        vec![7; k * f],
        vec![7; 2 * k * f],
        vec![7; k],
        vec![7; k],
        vec![7; k],
        vec![7; k * na],
        vec![7; k * na],
    ];
    let c = Case { id: &O2O_GATHER, params: bytemuck::bytes_of(&gp).to_vec(), threads: k as u32, bufs };
    let out = assert_bit_exact(be, &c, done);
    let actions = out[11].clone().expect("a_out");
    assert!(actions.iter().all(|&a| (a as usize) < na));
    // the team reward of 5 instances of 3 nodes (K = 14: a partial last instance)
    let tp = O2oParams { k: 14, n: 3, scale: 0.25, bias: -0.5, ..Default::default() };
    let c = Case {
        id: &O2O_TEAM,
        params: bytemuck::bytes_of(&tp).to_vec(),
        threads: 14,
        bufs: vec![f32v(&unif(5, 17, -20.0, 20.0)), vec![7; 14]],
    };
    assert_bit_exact(be, &c, done);
}
