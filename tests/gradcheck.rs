//! Finite-difference gradient checks in f64 on the CPU for every op's backward: the op math is
//! generic over f32/f64 (`src/ops`), so the same code the kernels run is differentiated here.
//! Central differences with h = 1e-6; relative error below 1e-6.

use mecrl::ops::act::{self, Act};
use mecrl::ops::linear::{self, LinearParams};
use mecrl::ops::loss;

mod common;
use common::{assert_close, numeric};

fn values(n: usize, tag: u32) -> Vec<f64> {
    common::values(n, tag, 0x6C, [1, 2])
}

#[test]
fn linear_backward() {
    for has_bias in [1, 0] {
        let p = LinearParams { k: 2, b: 3, i: 4, o: 5, has_bias, ..Default::default() };
        let (k, b, i, o) = p.dims();
        let (x, w, bias, c) = (values(k * b * i, 1), values(k * i * o, 2), values(k * o, 3), values(k * b * o, 4));
        let fwd = |x: &[f64], w: &[f64], bias: &[f64]| {
            let mut y = vec![0.0; k * b * o];
            linear::forward(&p, x, w, bias, &mut y);
            y
        };
        let mut dx = vec![0.0; k * b * i];
        linear::backward_x(&p, &c, &w, &mut dx);
        assert_close("dx", &dx, &numeric(&x, &c, &|v| fwd(v, &w, &bias)));
        let (mut dw, mut db) = (vec![0.0; k * i * o], vec![0.0; k * o]);
        linear::backward_w(&p, &x, &c, &mut dw, &mut db);
        assert_close("dw", &dw, &numeric(&w, &c, &|v| fwd(&x, v, &bias)));
        if has_bias == 1 {
            assert_close("db", &db, &numeric(&bias, &c, &|v| fwd(&x, &w, v)));
        } else {
            assert!(db.iter().all(|&d| d == 0.0));
        }
    }
}

#[test]
fn activation_backward() {
    // away from ReLU's kink at 0 (its derivative there is defined as 0)
    let x: Vec<f64> = values(40, 5).iter().map(|&v| if v.abs() < 1e-3 { 0.5 } else { 2.0 * v }).collect();
    let c = values(40, 6);
    for a in [Act::Relu, Act::Tanh, Act::Sigmoid] {
        let fwd = |v: &[f64]| {
            let mut y = vec![0.0; v.len()];
            act::forward(a, v, &mut y);
            y
        };
        let y = fwd(&x);
        let mut dx = vec![0.0; x.len()];
        act::backward(a, &y, &c, &mut dx);
        assert_close(&format!("{a:?}"), &dx, &numeric(&x, &c, &fwd));
    }
}

#[test]
fn mse_backward() {
    let (y, t) = (values(30, 7), values(30, 8));
    let mut dy = vec![0.0; 30];
    loss::mse_backward(&y, &t, 1.0, &mut dy);
    assert_close("mse", &dy, &numeric(&y, &[1.0], &|v| vec![loss::mse(v, &t)]));
}

#[test]
fn softmax_backward_plain_and_masked() {
    use mecrl::ops::softmax;
    let x = values(6, 9);
    let c = values(6, 10);
    let mask = [1u32, 0, 1, 1, 0, 1];
    for m in [None, Some(&mask[..])] {
        for log in [false, true] {
            let fwd = |v: &[f64]| {
                let mut y = vec![0.0; 6];
                softmax::row_forward(v, m, log, &mut y);
                // masked log entries are a constant sentinel: leave them out of the projection
                y.iter().enumerate().map(|(j, &v)| if m.is_some_and(|m| m[j] == 0) { 0.0 } else { v }).collect()
            };
            let mut y = vec![0.0; 6];
            softmax::row_forward(&x, m, log, &mut y);
            let cm: Vec<f64> =
                c.iter().enumerate().map(|(j, &v)| if m.is_some_and(|m| m[j] == 0) { 0.0 } else { v }).collect();
            let mut dx = vec![0.0; 6];
            softmax::row_backward(&y, &cm, m, log, &mut dx);
            assert_close(&format!("softmax log={log} masked={}", m.is_some()), &dx, &numeric(&x, &cm, &fwd));
        }
    }
}

#[test]
fn entropy_and_dueling_backward() {
    use mecrl::ops::{categorical, dueling, softmax};
    // entropy as a function of the logits through log-softmax: chain the two backward passes
    let x = values(5, 11);
    let logp_of = |v: &[f64]| {
        let mut y = vec![0.0; 5];
        softmax::row_forward(v, None, true, &mut y);
        y
    };
    let lp = logp_of(&x);
    let mut dlogp = vec![0.0; 5];
    categorical::entropy_row_backward(&lp, 1.0, &mut dlogp);
    let mut dx = vec![0.0; 5];
    softmax::row_backward(&lp, &dlogp, None, true, &mut dx);
    assert_close("entropy", &dx, &numeric(&x, &[1.0], &|v| vec![categorical::entropy_row(&logp_of(v))]));
    // dueling: d/dV and d/dA
    let (a, c) = (values(4, 12), values(4, 13));
    let v = 0.7;
    let (mut dv, mut da) = (0.0, vec![0.0; 4]);
    dueling::row_backward(&c, &mut dv, &mut da);
    let q = |v: f64, a: &[f64]| {
        let mut q = vec![0.0; 4];
        dueling::row_forward(v, a, &mut q);
        q
    };
    assert_close("dueling dA", &da, &numeric(&a, &c, &|x| q(v, x)));
    assert_close("dueling dV", &[dv], &numeric(&[v], &c, &|x| q(x[0], &a)));
}

#[test]
fn huber_bce_ce_ppo_backward() {
    use mecrl::ops::loss;
    let (y, t) = (values(20, 14).iter().map(|v| 2.0 * v).collect::<Vec<f64>>(), values(20, 15));
    let mut g = vec![0.0; 20];
    loss::huber_backward(&y, &t, 1.0, 1.0, &mut g);
    assert_close("huber", &g, &numeric(&y, &[1.0], &|v| vec![loss::huber(v, &t, 1.0)]));
    let bits: Vec<f64> = values(20, 16).iter().map(|v| (*v > 0.0) as u8 as f64).collect();
    let mut g = vec![0.0; 20];
    loss::bce_backward(&y, &bits, 1.0, &mut g);
    assert_close("bce", &g, &numeric(&y, &[1.0], &|v| vec![loss::bce(v, &bits)]));
    let lp = values(12, 17);
    let labels = [0u32, 2, 1, 3];
    let mut g = vec![0.0; 12];
    loss::ce_backward(&labels, 3, 1.0, &mut g);
    assert_close("ce", &g, &numeric(&lp, &[1.0], &|v| vec![ce4(v, &labels)]));
    // PPO: log-ratios spread over both sides of the clip range, away from its kinks
    let old = [0.0; 20];
    let lp: Vec<f64> = values(20, 18)
        .iter()
        .map(|v| 0.5 * v)
        .filter(|v| (v.exp() - 0.8).abs() > 1e-3 && (v.exp() - 1.2).abs() > 1e-3)
        .collect();
    let n = lp.len();
    let adv = values(n, 19);
    let mut g = vec![0.0; n];
    loss::ppo_backward(&lp, &old[..n], &adv, 0.2, 1.0, &mut g);
    assert_close("ppo", &g, &numeric(&lp, &[1.0], &|v| vec![loss::ppo(v, &old[..n], &adv, 0.2)]));
}

/// CE over 4 rows of 3 with label 3 out of range in the last row (NaN is not differentiable:
/// compare on the first three rows).
fn ce4(v: &[f64], labels: &[u32]) -> f64 {
    mecrl::ops::loss::ce(&v[..9], &labels[..3], 3) * 3.0 / 4.0
}

/// The f16/bf16 conversions against the `half` crate (round to nearest even) on every finite
/// value class: a sweep of f32 bit patterns.
#[test]
fn half_conversions_match_the_half_crate() {
    use mecrl::ops::half::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16};
    let mut bits = 0u32;
    for _ in 0..2_000_000 {
        bits = bits.wrapping_add(2_147_483_647u32.wrapping_mul(3).wrapping_add(12_345)) ^ (bits >> 7);
        let x = f32::from_bits(bits);
        if x.is_nan() {
            continue;
        }
        assert_eq!(f32_to_f16(x), half::f16::from_f32(x).to_bits(), "f16 of {x:e} ({bits:#x})");
        assert_eq!(f32_to_bf16(x), half::bf16::from_f32(x).to_bits(), "bf16 of {x:e} ({bits:#x})");
    }
    for h in 0..=u16::MAX {
        let a = f16_to_f32(h);
        let b = half::f16::from_bits(h).to_f32();
        assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "f16 {h:#x}");
        let (a, b) = (bf16_to_f32(h), half::bf16::from_bits(h).to_f32());
        assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "bf16 {h:#x}");
    }
}
