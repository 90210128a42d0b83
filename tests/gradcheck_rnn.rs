//! Finite-difference gradient checks in f64 on the CPU of the recurrent ops' backward (the op
//! math is generic over f32/f64, so the kernels' code is differentiated here): the LSTM and GRU
//! cells, layer normalization, and the glue (strided copy). Central differences with
//! h = 1e-6; relative error below 1e-6.

use mecrl::ops::glue::{self, CopyParams};
use mecrl::ops::layer_norm::{self, LayerNormParams};
use mecrl::ops::rnn::{self, CellParams};

mod common;
use common::{assert_close, numeric};

fn values(n: usize, tag: u32) -> Vec<f64> {
    common::values(n, tag, 0x6D, [3, 4])
}

#[test]
fn lstm_cell_backward() {
    // N = 3 rows, H = 4; L = Σ c_h·h' + Σ c_c·c' (both outputs carry a gradient)
    let p = CellParams { n: 3, h: 4, ..Default::default() };
    let (n, h) = p.dims();
    let z: Vec<f64> = values(n * 4 * h, 1).iter().map(|v| 2.0 * v).collect();
    let c = values(n * h, 2);
    let proj = values(2 * n * h, 3);
    let fwd = |z: &[f64], c: &[f64]| {
        let (mut hn, mut cn, mut a) = (vec![0.0; n * h], vec![0.0; n * h], vec![0.0; n * 5 * h]);
        rnn::lstm_forward(&p, z, c, &mut hn, &mut cn, &mut a);
        (hn.into_iter().chain(cn).collect::<Vec<_>>(), a)
    };
    let (_, act) = fwd(&z, &c);
    let (mut dz, mut dc) = (vec![0.0; n * 4 * h], vec![0.0; n * h]);
    rnn::lstm_backward(&p, &act, &c, &proj[..n * h], &proj[n * h..], &mut dz, &mut dc);
    assert_close("lstm dz", &dz, &numeric(&z, &proj, &|v| fwd(v, &c).0));
    assert_close("lstm dc", &dc, &numeric(&c, &proj, &|v| fwd(&z, v).0));
}

#[test]
fn gru_cell_backward() {
    let p = CellParams { n: 3, h: 4, ..Default::default() };
    let (n, h) = p.dims();
    let gx: Vec<f64> = values(n * 3 * h, 4).iter().map(|v| 2.0 * v).collect();
    let gh: Vec<f64> = values(n * 3 * h, 5).iter().map(|v| 2.0 * v).collect();
    let hv = values(n * h, 6);
    let proj = values(n * h, 7);
    let fwd = |gx: &[f64], gh: &[f64], hv: &[f64]| {
        let (mut hn, mut a) = (vec![0.0; n * h], vec![0.0; n * 3 * h]);
        rnn::gru_forward(&p, gx, gh, hv, &mut hn, &mut a);
        (hn, a)
    };
    let (_, act) = fwd(&gx, &gh, &hv);
    let (mut dgx, mut dgh, mut dh) = (vec![0.0; n * 3 * h], vec![0.0; n * 3 * h], vec![0.0; n * h]);
    rnn::gru_backward(&p, &act, &gh, &hv, &proj, &mut dgx, &mut dgh, &mut dh);
    assert_close("gru dgx", &dgx, &numeric(&gx, &proj, &|v| fwd(v, &gh, &hv).0));
    assert_close("gru dgh", &dgh, &numeric(&gh, &proj, &|v| fwd(&gx, v, &hv).0));
    assert_close("gru dh", &dh, &numeric(&hv, &proj, &|v| fwd(&gx, &gh, v).0));
}

#[test]
fn layer_norm_backward() {
    // 6 rows of D = 5 in 1 group (shared gain) and in 3 groups of 2 rows
    for groups in [1usize, 3] {
        let (n, d) = (6usize, 5usize);
        let p = LayerNormParams { n: n as u32, d: d as u32, per_group: (n / groups) as u32, eps: 1e-3 };
        let x: Vec<f64> = values(n * d, 8).iter().map(|v| 1.0 + 2.0 * v).collect();
        let (gain, bias) = (values(groups * d, 9), values(groups * d, 10));
        let proj = values(n * d, 11);
        let fwd = |x: &[f64], g: &[f64], b: &[f64]| {
            let (mut y, mut st) = (vec![0.0; n * d], vec![0.0; 2 * n]);
            layer_norm::forward(&p, x, g, b, &mut y, &mut st);
            (y, st)
        };
        let (_, st) = fwd(&x, &gain, &bias);
        let mut dx = vec![0.0; n * d];
        layer_norm::backward_x(&p, &x, &gain, &st, &proj, &mut dx);
        assert_close("layer_norm dx", &dx, &numeric(&x, &proj, &|v| fwd(v, &gain, &bias).0));
        let (mut dg, mut db) = (vec![0.0; groups * d], vec![0.0; groups * d]);
        layer_norm::backward_w(&p, &x, &st, &proj, &mut dg, &mut db);
        assert_close("layer_norm dgain", &dg, &numeric(&gain, &proj, &|v| fwd(&x, v, &bias).0));
        assert_close("layer_norm dbias", &db, &numeric(&bias, &proj, &|v| fwd(&x, &gain, v).0));
    }
}

#[test]
fn glue_backward() {
    // the last 2 of 4 rows of 3 histories of 2 features, time-major; its backward is the
    // transposed map, accumulating
    let p = CopyParams { d0: 1, d1: 2, d2: 3, n: 2, s1: 2, s2: 8, soff: 4, t1: 6, t2: 2, ..Default::default() };
    let src = values(24, 12);
    let proj = values(12, 13);
    let fwd = |s: &[f64]| {
        let mut y = vec![0.0; 12];
        glue::copy(&p, s, &mut y);
        y
    };
    let mut ds = vec![0.0; 24];
    glue::copy(&p.transposed(), &proj, &mut ds);
    assert_close("copy", &ds, &numeric(&src, &proj, &fwd));
}
