//! Finite-difference gradient checks in f64 on the CPU for every op's backward: the op math is
//! generic over f32/f64 (`src/ops`), so the same code the kernels run is differentiated here.
//! Central differences with h = 1e-6; relative error below 1e-6.

use mecrl::ops::act::{self, Act};
use mecrl::ops::linear::{self, LinearParams};
use mecrl::ops::loss;
use mecrl::rng;

fn values(n: usize, tag: u32) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let w = rng::philox4x32_10([i as u32, tag, 0, 0x6C], [1, 2]);
            rng::normal2(w[0], w[1]).0 as f64
        })
        .collect()
}

/// ∂L/∂v by central differences, L = Σ_j c_j·f(v)_j (a fixed random projection of the output).
fn numeric(v: &[f64], c: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let h = 1e-6;
    (0..v.len())
        .map(|i| {
            let (mut a, mut b) = (v.to_vec(), v.to_vec());
            a[i] += h;
            b[i] -= h;
            let (fa, fb) = (f(&a), f(&b));
            fa.iter().zip(&fb).zip(c).map(|((x, y), c)| c * (x - y)).sum::<f64>() / (2.0 * h)
        })
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    let scale = want.iter().fold(0.0f64, |a, &x| a.max(x.abs())).max(1e-3);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let rel = (g - w).abs() / scale;
        assert!(rel < 1e-6, "{what}[{i}]: analytic {g} vs numeric {w} (relative {rel:e})");
    }
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
