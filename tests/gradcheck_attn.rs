//! Finite-difference gradient checks in f64 on the CPU of the additive attention's backward
//! (src/ops/attention.rs; the op math is generic over f32/f64, so the kernels' code is
//! differentiated here), with and without a mask, both outputs (weights and context) carrying
//! a gradient. Central differences with h = 1e-6; relative error below 1e-6.

use mecrl::ops::attention::{self, AttentionParams};

mod common;
use common::{assert_close, numeric};

fn values(n: usize, tag: u32) -> Vec<f64> {
    common::values(n, tag, 0x41, [5, 6])
}

fn check(p: AttentionParams, mask: &[u32]) {
    let (k, b, t, a, h) = p.dims();
    let q = values(k * b * a, 1);
    let keys = values(k * t * b * a, 2);
    let v = values(k * a, 3);
    let e = values(k * t * b * h, 4);
    // L = Σ c_w·α + Σ c_c·c
    let proj = values(k * b * t + k * b * h, 5);
    let (pw, pc) = proj.split_at(k * b * t);
    let fwd = |q: &[f64], keys: &[f64], v: &[f64], e: &[f64]| {
        let (w, c) = attention::forward(&p, q, keys, v, e, mask);
        w.into_iter().chain(c).collect::<Vec<_>>()
    };
    let (w, _) = attention::forward(&p, &q, &keys, &v, &e, mask);
    let (mut dq, mut dk, mut dv, mut de) =
        (vec![0.0; q.len()], vec![0.0; keys.len()], vec![0.0; v.len()], vec![0.0; e.len()]);
    attention::backward(&p, &q, &keys, &v, &e, &w, pw, pc, (&mut dq, &mut dk, &mut dv, &mut de));
    let m = if p.masked == 0 { "unmasked" } else { "masked" };
    assert_close(&format!("{m} dq"), &dq, &numeric(&q, &proj, &|x| fwd(x, &keys, &v, &e)));
    assert_close(&format!("{m} dkeys"), &dk, &numeric(&keys, &proj, &|x| fwd(&q, x, &v, &e)));
    assert_close(&format!("{m} dv"), &dv, &numeric(&v, &proj, &|x| fwd(&q, &keys, x, &e)));
    assert_close(&format!("{m} dvalues"), &de, &numeric(&e, &proj, &|x| fwd(&q, &keys, &v, x)));
}

#[test]
fn attention_backward_unmasked() {
    // K = 2 members, B = 3 sequences, T = 4 steps, A = 5 units, H = 3 values
    check(AttentionParams { k: 2, b: 3, t: 4, a: 5, h: 3, ..Default::default() }, &[]);
}

#[test]
fn attention_backward_masked() {
    // a shared mask [T, B]: sequence 1 has 2 real steps, sequence 2 none (a padding row: zero
    // weights, context and gradients)
    let mask = [1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0];
    let p = AttentionParams { k: 2, b: 3, t: 4, a: 5, h: 3, masked: 1, ..Default::default() };
    check(p, &mask);
    // a mask per member [K, T, B]
    let mask: Vec<u32> = (0..24).map(|i| (i % 5 != 2) as u32).collect();
    check(AttentionParams { masked: 2, ..p }, &mask);
}
