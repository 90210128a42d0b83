//! Parity of the recurrent ops (src/ops/rnn.rs, layer_norm.rs, glue.rs): every kernel forward
//! and backward on random inputs, the backward fed the CPU forward's saved activations and
//! accumulating onto nonzero gradients (bit-exact on lavapipe and the host shim; within the
//! tolerance on a GPU).

use std::collections::BTreeSet;

use mecrl::backend::KernelSpec;
use mecrl::backend::{Backend, BackendKind};
use mecrl::ops::glue::CopyParams;
use mecrl::ops::layer_norm::LayerNormParams;
use mecrl::ops::rnn::CellParams;
use mecrl::rng;

use super::{assert_equal, f32v, run, Case};
use mecrl::ops::glue::GLUE_COPY;
use mecrl::ops::layer_norm::{LAYER_NORM_BWD_W, LAYER_NORM_BWD_X, LAYER_NORM_FWD};
use mecrl::ops::rnn::{GRU_CELL_BWD, GRU_CELL_FWD, LSTM_CELL_BWD, LSTM_CELL_FWD};

/// Normal(mean, scale) values from Philox (stream 78).
pub fn normals(n: usize, tag: u32, mean: f32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let w = rng::philox4x32_10([i as u32, tag, 0, 78], [7, 8]);
            mean + rng::normal2(w[0], w[1]).0 * scale
        })
        .collect()
}

pub fn bytes<T: bytemuck::Pod>(p: &T) -> Vec<u8> {
    bytemuck::bytes_of(p).to_vec()
}

/// `assert_equal`, and bit-exact where the driver runs on the CPU (lavapipe) and on the host shim:
/// every backend evaluates the same operations in the same order. Returns the CPU's outputs.
pub fn exact(be: &dyn Backend, c: &Case, done: &mut BTreeSet<&'static KernelSpec>) -> Vec<Option<Vec<u32>>> {
    let want = assert_equal(be, c, done);
    if be.kind() == BackendKind::CudaHost || (be.kind() == BackendKind::Wgpu && be.max_loop_iterations().is_some()) {
        assert_eq!(run(be, c), want, "{}: {:?} is not bit-exact", be.kind(), c.id);
    }
    want
}

/// The output buffer `k` of a case run on the CPU.
pub fn out(r: &[Option<Vec<u32>>], k: usize) -> Vec<u32> {
    r[k].clone().expect("a written buffer")
}

pub fn rnn_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    // N = 70 rows (more than a workgroup of units), H = 5; pre-activations cover both sides,
    // saturation (±60) and zero
    let p = CellParams { n: 70, h: 5, ..Default::default() };
    let (n, h) = p.dims();
    let threads = (n * h) as u32;
    let mut z = normals(n * 4 * h, 1, 0.0, 3.0);
    z[..4].copy_from_slice(&[0.0, -0.0, 60.0, -60.0]);
    let c = f32v(&normals(n * h, 2, 0.0, 2.0));
    let c_fwd = Case {
        id: &LSTM_CELL_FWD,
        params: bytes(&p),
        threads,
        bufs: vec![f32v(&z), c.clone(), vec![0; n * h], vec![0; n * h], vec![0; n * 5 * h]],
    };
    let act = out(&exact(be, &c_fwd, done), 4);
    let c_bwd = Case {
        id: &LSTM_CELL_BWD,
        params: bytes(&p),
        threads,
        bufs: vec![
            act,
            c,
            f32v(&normals(n * h, 3, 0.0, 1.0)),
            f32v(&normals(n * h, 4, 0.0, 1.0)),
            f32v(&normals(n * 4 * h, 5, 0.0, 1.0)),
            f32v(&normals(n * h, 6, 0.0, 1.0)),
        ],
    };
    exact(be, &c_bwd, done);

    let mut gx = normals(n * 3 * h, 7, 0.0, 2.0);
    gx[..3].copy_from_slice(&[0.0, 60.0, -60.0]);
    let gh = f32v(&normals(n * 3 * h, 8, 0.0, 2.0));
    let hv = f32v(&normals(n * h, 9, 0.0, 1.0));
    let g_fwd = Case {
        id: &GRU_CELL_FWD,
        params: bytes(&p),
        threads,
        bufs: vec![f32v(&gx), gh.clone(), hv.clone(), vec![0; n * h], vec![0; n * 3 * h]],
    };
    let act = out(&exact(be, &g_fwd, done), 4);
    let g_bwd = Case {
        id: &GRU_CELL_BWD,
        params: bytes(&p),
        threads,
        bufs: vec![
            act,
            gh,
            hv,
            f32v(&normals(n * h, 10, 0.0, 1.0)),
            f32v(&normals(n * 3 * h, 11, 0.0, 1.0)),
            f32v(&normals(n * 3 * h, 12, 0.0, 1.0)),
            f32v(&normals(n * h, 13, 0.0, 1.0)),
        ],
    };
    exact(be, &g_bwd, done);

    // layer norm: 70 rows of D = 13 (mean 3, so the centering matters), one shared gain and
    // two groups of 35 rows, and a constant row (variance 0: ρ = 1/√ε)
    for groups in [1usize, 2] {
        let (n, d) = (70usize, 13usize);
        let p = LayerNormParams { n: n as u32, d: d as u32, per_group: (n / groups) as u32, eps: 1e-5 };
        let mut x = normals(n * d, 14, 3.0, 2.0);
        x[..d].fill(1.5);
        let x = f32v(&x);
        let gain = f32v(&normals(groups * d, 15, 1.0, 0.5));
        let fwd = Case {
            id: &LAYER_NORM_FWD,
            params: bytes(&p),
            threads: n as u32,
            bufs: vec![
                x.clone(),
                gain.clone(),
                f32v(&normals(groups * d, 16, 0.0, 0.5)),
                vec![0; n * d],
                vec![0; 2 * n],
            ],
        };
        let stats = out(&exact(be, &fwd, done), 4);
        let dy = f32v(&normals(n * d, 17, 0.0, 1.0));
        let bwd_x = Case {
            id: &LAYER_NORM_BWD_X,
            params: bytes(&p),
            threads: n as u32,
            bufs: vec![x.clone(), gain, stats.clone(), dy.clone(), f32v(&normals(n * d, 18, 0.0, 1.0))],
        };
        exact(be, &bwd_x, done);
        let bwd_w = Case {
            id: &LAYER_NORM_BWD_W,
            params: bytes(&p),
            threads: (groups * d) as u32,
            bufs: vec![
                x,
                stats,
                dy,
                f32v(&normals(groups * d, 19, 0.0, 1.0)),
                f32v(&normals(groups * d, 20, 0.0, 1.0)),
            ],
        };
        exact(be, &bwd_w, done);
    }

    // glue: the last T = 3 of L = 5 rows of K = 2 × B = 7 histories of F = 4 as [K, T, B, F],
    // written and accumulated; the transposed map back
    let (k, b, l, t, f) = (2usize, 7usize, 5usize, 3usize, 4usize);
    let win = CopyParams {
        d0: k as u32,
        d1: t as u32,
        d2: b as u32,
        n: f as u32,
        s0: (b * l * f) as u32,
        s1: f as u32,
        s2: (l * f) as u32,
        soff: ((l - t) * f) as u32,
        t0: (t * b * f) as u32,
        t1: (b * f) as u32,
        t2: f as u32,
        ..Default::default()
    };
    let hist = f32v(&normals(k * b * l * f, 21, 0.0, 1.0));
    let seq = normals(k * t * b * f, 22, 0.0, 1.0);
    for accumulate in [0u32, 1] {
        let q = CopyParams { accumulate, ..win };
        let c =
            Case { id: &GLUE_COPY, params: bytes(&q), threads: q.count() as u32, bufs: vec![hist.clone(), f32v(&seq)] };
        let got = out(&exact(be, &c, done), 1);
        if accumulate == 0 {
            // element (k = 1, t = 2, b = 6, f = 3) is history row L − 1 of (1, 6)
            let want = hist[((b + 6) * l + l - 1) * f + 3];
            assert_eq!(got[((t + 2) * b + 6) * f + 3], want);
        }
    }
    let back = win.transposed();
    let c = Case { id: &GLUE_COPY, params: bytes(&back), threads: back.count() as u32, bufs: vec![f32v(&seq), hist] };
    exact(be, &c, done);
}
