//! Parity of the kernels the environment contract added: `mec_reward`, `dag_observe`,
//! `endedge_reward`, `endedge_state` and the `toy` fixture's `toy_reset` / `toy_step`, from
//! inputs that reach every branch (both reward kinds and NaN objectives; undecided, decided,
//! done and bad-action graphs; counters that grow and stay; valid, masked and out-of-range toy
//! actions on live and terminated instances). All are IEEE single operations or copies: every
//! output is compared bit for bit.

use std::collections::BTreeSet;

use mecrl::backend::{Backend, KernelSpec};
use mecrl::env::dag::batch::DagParams;
use mecrl::env::endedge::kernels::{ENDEDGE_REWARD, ENDEDGE_STATE};
use mecrl::env::endedge::{EndedgeConfig, EndedgeParams, Heuristic};
use mecrl::env::mec::kernels::MEC_REWARD;
use mecrl::env::mec::{MecConfig, MecParams};
use mecrl::env::toy::{ToyParams, TOY_RESET, TOY_STEP};

use super::{assert_bit_exact, Case};
use mecrl::env::dag::kernels::DAG_OBSERVE;

fn words(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A deterministic scramble for inputs (no RNG needed).
fn scramble(len: usize, salt: u32) -> Vec<u32> {
    (0..len as u32).map(|i| (i ^ salt).wrapping_mul(2_654_435_761).rotate_left(7)).collect()
}

pub(super) fn cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    // mec_reward: both kinds, an objective of NaN (bad action) and of +inf-adjacent size.
    let b = 70usize;
    let phi: Vec<f32> = (0..b).map(|i| if i == 5 { f32::NAN } else { 0.37 * (i as f32 + 1.0).powf(1.7) }).collect();
    for variant in [0u32, 1] {
        let mut p: MecParams = MecConfig::default().params(b, 1, 3);
        p.variant = variant;
        let c = Case {
            id: &MEC_REWARD,
            params: bytemuck::bytes_of(&p).to_vec(),
            threads: b as u32,
            bufs: vec![words(&phi), scramble(b, 1)],
        };
        assert_bit_exact(be, &c, done);
    }

    // dag_observe: 4 graphs of N = 6, emb 7; positions 0, 3, 6 (done) and a bad-action graph.
    let (g, n, e) = (4usize, 6usize, 7usize);
    let p = DagParams { b: g as u32, n_max: n as u32, emb: e as u32, ..Default::default() };
    let emb: Vec<f32> = (0..g * n * e).map(|i| (i as f32 * 0.731).sin()).collect();
    let mut plan = vec![u32::MAX; g * n];
    for k in 0..3 {
        plan[n + k] = (k % 2) as u32;
    }
    for k in 0..n {
        plan[2 * n + k] = 1;
    }
    plan[3 * n] = 0;
    let ctl = vec![0, 0, 3, 0, 6, 1, 1, 2];
    let c = Case {
        id: &DAG_OBSERVE,
        params: bytemuck::bytes_of(&p).to_vec(),
        threads: g as u32,
        bufs: vec![words(&emb), plan, ctl, scramble(g * n * (e + 2), 2), scramble(g, 3)],
    };
    assert_bit_exact(be, &c, done);

    // endedge_reward / endedge_state: counters that grew by various amounts (and one that did
    // not), a large delay sum, Const = −3τ.
    let cfg = EndedgeConfig { devices: 67, servers: 5, ..EndedgeConfig::default() };
    let bt = 2usize;
    let p: EndedgeParams = EndedgeParams::new(&cfg, bt, 9, 4, Heuristic::Local);
    let nd = bt * cfg.devices;
    let prev: Vec<u32> = (0..nd as u32).flat_map(|i| [i * 13 % 50, i % 3]).collect();
    let acc: Vec<u32> = (0..nd as u32)
        .flat_map(|i| {
            let (d0, k0) = (i * 13 % 50, i % 3);
            let grow = if i % 5 == 0 { 0 } else { i * 7 % 40 + (1 << (i % 20)) };
            [i + 9, i, k0 + i % 4, d0 + grow]
        })
        .collect();
    let bytes = bytemuck::bytes_of(&p).to_vec();
    let c =
        Case { id: &ENDEDGE_REWARD, params: bytes.clone(), threads: nd as u32, bufs: vec![acc, prev, scramble(nd, 4)] };
    assert_bit_exact(be, &c, done);
    let ce = bt * cfg.load_history * cfg.servers;
    let load: Vec<u32> = (0..ce as u32).map(|i| i * 37 % (cfg.devices as u32 + 1)).collect();
    let c = Case { id: &ENDEDGE_STATE, params: bytes, threads: ce as u32, bufs: vec![load, scramble(ce, 5)] };
    assert_bit_exact(be, &c, done);

    // toy: reset from a seed, then steps with valid, masked and out-of-range actions.
    let (tb, ta) = (67usize, 5usize);
    let p = ToyParams { b: tb as u32, a: ta as u32, key0: 0x1234_5678, key1: 0x9abc_def0 };
    let bytes = bytemuck::bytes_of(&p).to_vec();
    let reset = Case {
        id: &TOY_RESET,
        params: bytes.clone(),
        threads: tb as u32,
        bufs: vec![scramble(tb * (ta + 1), 6), scramble(tb * ta * 2, 7), scramble(tb * ta * 2, 8), scramble(tb, 9)],
    };
    let out = assert_bit_exact(be, &reset, done);
    let (mut state, mut obs, mut mask, mut term) =
        (out[0].clone().unwrap(), out[1].clone().unwrap(), out[2].clone().unwrap(), out[3].clone().unwrap());
    for step in 0..4u32 {
        let action: Vec<u32> =
            (0..(tb * ta) as u32).map(|i| (i * 7 + step * 3) % if i % 23 == 0 { 3 } else { 2 }).collect();
        let c = Case {
            id: &TOY_STEP,
            params: bytes.clone(),
            threads: tb as u32,
            bufs: vec![action, state, obs, mask, scramble(tb * ta, 10 + step), term],
        };
        let out = assert_bit_exact(be, &c, done);
        (state, obs, mask, term) =
            (out[1].clone().unwrap(), out[2].clone().unwrap(), out[3].clone().unwrap(), out[5].clone().unwrap());
    }
}
