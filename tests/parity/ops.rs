//! Parity of the nn ops (src/ops): forward and backward on random inputs, every sum in the same
//! order on every backend (bit-exact on lavapipe and the host shim; within the tolerance on a GPU).

use std::collections::BTreeSet;

use mecrl::backend::Backend;
use mecrl::backend::KernelSpec;
use mecrl::ops::act::{Act, ActParams};
use mecrl::ops::categorical::CategoricalParams;
use mecrl::ops::index::IndexParams;
use mecrl::ops::linear::LinearParams;
use mecrl::ops::loss::LossParams;
use mecrl::ops::optim::ClipParams;
use mecrl::ops::optim::{FillParams, OptimParams, Rule};
use mecrl::ops::softmax::SoftmaxParams;
use mecrl::rng;

use super::{assert_equal, f32v, Case};
use mecrl::ops::act::{ACT_BWD, ACT_FWD};
use mecrl::ops::categorical::{CATEGORICAL_ARGMAX, CATEGORICAL_SAMPLE, ENTROPY_BWD, ENTROPY_FWD};
use mecrl::ops::dueling::{DUELING_BWD, DUELING_FWD};
use mecrl::ops::elementwise::{AXPBY, MEAN_BWD, MEAN_FWD, SCALE_ACC};
use mecrl::ops::half::{HALF_PACK, HALF_UNPACK};
use mecrl::ops::index::{GATHER, SCATTER_ADD};
use mecrl::ops::linear::{LINEAR_BWD_W, LINEAR_BWD_X, LINEAR_FWD};
use mecrl::ops::loss::{BCE_BWD, BCE_FWD, CE_BWD, CE_FWD, HUBER_BWD, HUBER_FWD, MSE_BWD, MSE_FWD, PPO_BWD, PPO_FWD};
use mecrl::ops::optim::{CLIP_SCALE, FILL, OPTIM_STEP, SUMSQ_ACC};
use mecrl::ops::softmax::{SOFTMAX_BWD, SOFTMAX_FWD};

/// Normal(0, scale) values from Philox (stream 77).
fn normals(n: usize, tag: u32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let w = rng::philox4x32_10([i as u32, tag, 0, 77], [5, 6]);
            rng::normal2(w[0], w[1]).0 * scale
        })
        .collect()
}

fn bytes<T: bytemuck::Pod>(p: &T) -> Vec<u8> {
    bytemuck::bytes_of(p).to_vec()
}

/// A backward kernel's `fresh` mode (params `fresh`): its gradient buffer `out` starts as NaN
/// and is written without being read, on every backend as on the CPU, with the values of
/// accumulating onto zeros.
fn fresh_writes(be: &dyn Backend, c: &Case, out: usize, fresh: Vec<u8>, done: &mut BTreeSet<&'static KernelSpec>) {
    let n = c.bufs[out].len();
    let mut zeros = Case { id: c.id, params: c.params.clone(), threads: c.threads, bufs: c.bufs.clone() };
    zeros.bufs[out] = vec![0; n];
    let want = assert_equal(be, &zeros, done)[out].clone().unwrap();
    let mut nan = Case { id: c.id, params: fresh, threads: c.threads, bufs: c.bufs.clone() };
    nan.bufs[out] = vec![f32::NAN.to_bits(); n];
    let got = assert_equal(be, &nan, done)[out].clone().unwrap();
    let entry = c.id.entry;
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert!(f32::from_bits(*w) == f32::from_bits(*g), "{entry} fresh at {i}: {g:#x} vs {w:#x} (accumulated on 0)");
    }
}

pub fn ops_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    // K = 3 groups, B = 70 rows (more than a workgroup), I = 13, O = 9; with and without bias
    for has_bias in [1u32, 0] {
        let p = LinearParams { k: 3, b: 70, i: 13, o: 9, has_bias, ..Default::default() };
        let (k, b, i, o) = p.dims();
        let x = f32v(&normals(k * b * i, 1, 1.0));
        let w = f32v(&normals(k * i * o, 2, 0.5));
        let bias = f32v(&normals(k * o, 3, 0.1));
        let dy = f32v(&normals(k * b * o, 4, 1.0));
        let c = Case {
            id: &LINEAR_FWD,
            params: bytes(&p),
            threads: (k * b * o) as u32,
            bufs: vec![x.clone(), w.clone(), bias, vec![0; k * b * o]],
        };
        assert_equal(be, &c, done);
        // backward kernels accumulate onto nonzero gradients
        let dx0 = f32v(&normals(k * b * i, 5, 1.0));
        let c =
            Case { id: &LINEAR_BWD_X, params: bytes(&p), threads: (k * b * i) as u32, bufs: vec![dy.clone(), w, dx0] };
        assert_equal(be, &c, done);
        fresh_writes(be, &c, 2, bytes(&LinearParams { fresh: 1, ..p }), done);
        let c = Case {
            id: &LINEAR_BWD_W,
            params: bytes(&p),
            threads: (k * i * o) as u32,
            bufs: vec![x, dy, f32v(&normals(k * i * o, 6, 1.0)), f32v(&normals(k * o, 7, 1.0))],
        };
        assert_equal(be, &c, done);
    }
    // activations over values that cover both sides, saturation and zero
    let n = 1000;
    let mut xs = normals(n, 8, 3.0);
    xs[..4].copy_from_slice(&[0.0, -0.0, 60.0, -120.0]);
    for act in [Act::Relu, Act::Tanh, Act::Sigmoid] {
        let p = ActParams { n: n as u32, kind: act as u32, ..Default::default() };
        let c = Case { id: &ACT_FWD, params: bytes(&p), threads: n as u32, bufs: vec![f32v(&xs), vec![0; n]] };
        let y = assert_equal(be, &c, done)[1].clone().unwrap();
        let c = Case {
            id: &ACT_BWD,
            params: bytes(&p),
            threads: n as u32,
            bufs: vec![y, f32v(&normals(n, 9, 1.0)), f32v(&normals(n, 10, 1.0))],
        };
        assert_equal(be, &c, done);
        fresh_writes(be, &c, 2, bytes(&ActParams { fresh: 1, ..p }), done);
    }
    // MSE over 300 elements
    let n = 300;
    let p = LossParams { n: n as u32, ..Default::default() };
    let (y, t) = (f32v(&normals(n, 11, 1.0)), f32v(&normals(n, 12, 1.0)));
    let c = Case { id: &MSE_FWD, params: bytes(&p), threads: 1, bufs: vec![y.clone(), t.clone(), vec![0]] };
    assert_equal(be, &c, done);
    let c = Case {
        id: &MSE_BWD,
        params: bytes(&p),
        threads: n as u32,
        bufs: vec![y, t, f32v(&[0.7]), f32v(&normals(n, 13, 1.0))],
    };
    assert_equal(be, &c, done);
    fresh_writes(be, &c, 3, bytes(&LossParams { fresh: 1, ..p }), done);
    // every optimizer rule, with L2 and decoupled weight decay
    let n = 200;
    let v0: Vec<f32> = normals(n, 14, 1.0).iter().map(|x| x * x).collect();
    for (rule, beta1, wd, decoupled) in [
        (Rule::Sgd, 0.0, 0.0, 0),
        (Rule::Sgd, 0.9, 0.01, 0),
        (Rule::Adam, 0.9, 0.0, 0),
        (Rule::Adam, 0.9, 0.01, 0),
        (Rule::Adam, 0.9, 0.01, 1),
        (Rule::RmsProp, 0.0, 0.0, 0),
    ] {
        let q = OptimParams {
            n: n as u32,
            rule: rule as u32,
            decoupled,
            lr: 1e-2,
            beta1,
            beta2: 0.999,
            eps: 1e-8,
            wd,
            step_size: 1e-2 / (1.0 - 0.9f32.powi(3)),
            rsqrt_bc2: 1.0 / (1.0 - 0.999f32.powi(3)).sqrt(),
            ..Default::default()
        };
        let c = Case {
            id: &OPTIM_STEP,
            params: bytes(&q),
            threads: n as u32,
            bufs: vec![f32v(&normals(n, 15, 1.0)), f32v(&normals(n, 16, 1.0)), f32v(&normals(n, 17, 0.1)), f32v(&v0)],
        };
        assert_equal(be, &c, done);
    }
    more_cases(be, done);
    let n = 333;
    let ap = mecrl::ops::elementwise::AxpbyParams { n: n as u32, a: 0.3, b: -1.7, ..Default::default() };
    let c = Case {
        id: &AXPBY,
        params: bytes(&ap),
        threads: n as u32,
        bufs: vec![f32v(&normals(n, 40, 1.0)), f32v(&normals(n, 41, 1.0)), vec![0; n]],
    };
    assert_equal(be, &c, done);
    let c = Case {
        id: &SCALE_ACC,
        params: bytes(&ap),
        threads: n as u32,
        bufs: vec![f32v(&normals(n, 42, 1.0)), f32v(&normals(n, 43, 1.0))],
    };
    assert_equal(be, &c, done);
    let c = Case { id: &MEAN_FWD, params: bytes(&ap), threads: 1, bufs: vec![f32v(&normals(n, 44, 1.0)), vec![0]] };
    assert_equal(be, &c, done);
    let c = Case {
        id: &MEAN_BWD,
        params: bytes(&ap),
        threads: n as u32,
        bufs: vec![f32v(&[2.5]), f32v(&normals(n, 45, 1.0))],
    };
    assert_equal(be, &c, done);
    // 16-bit storage: odd n, values across the f16 range, subnormals, overflow, ties, NaN, ±0
    let mut hv = normals(301, 46, 100.0);
    hv[..8].copy_from_slice(&[0.0, -0.0, 70000.0, 1e-6, 3e-8, f32::NAN, 1.0 + 2f32.powi(-11), f32::INFINITY]);
    for format in [0u32, 1] {
        let hp = mecrl::ops::half::HalfParams { n: 301, format, ..Default::default() };
        let c = Case { id: &HALF_PACK, params: bytes(&hp), threads: 151, bufs: vec![f32v(&hv), vec![0; 151]] };
        let packed = assert_equal(be, &c, done)[1].clone().unwrap();
        let c = Case { id: &HALF_UNPACK, params: bytes(&hp), threads: 301, bufs: vec![packed, vec![0; 301]] };
        assert_equal(be, &c, done);
    }
    let q = FillParams { n: 100, value: 1.0f32.to_bits(), ..Default::default() };
    let c = Case { id: &FILL, params: bytes(&q), threads: 100, bufs: vec![vec![7; 130]] };
    let out = assert_equal(be, &c, done)[0].clone().unwrap();
    assert_eq!(&out[..100], &vec![1.0f32.to_bits(); 100][..]);
    assert_eq!(&out[100..], &[7; 30][..], "fill writes n words only");
}

/// Softmax family, gather/scatter, sampling, entropy, dueling, the other losses, clipping.
fn more_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    let (r, c) = (90usize, 7usize);
    let x = normals(r * c, 20, 2.0);
    // masks: every row allows something except row 5 (all masked: NaN); row 0 allows one
    let mask: Vec<u32> = (0..r * c)
        .map(|i| {
            let (row, j) = (i / c, i % c);
            match row {
                0 => (j == 3) as u32,
                5 => 0,
                _ => (!rng::philox4x32_10([i as u32, 0, 0, 78], [1, 1])[0].is_multiple_of(4) || j == 0) as u32,
            }
        })
        .collect();
    let mut logp_rows = vec![];
    for (masked, log) in [(0u32, 0u32), (0, 1), (1, 0), (1, 1)] {
        let p = SoftmaxParams { rows: r as u32, cols: c as u32, log, masked };
        let m = if masked == 1 { mask.clone() } else { vec![0] };
        let c1 = Case {
            id: &SOFTMAX_FWD,
            params: bytes(&p),
            threads: r as u32,
            bufs: vec![f32v(&x), m.clone(), vec![0; r * c]],
        };
        let y = assert_equal(be, &c1, done)[2].clone().unwrap();
        if masked == 1 && log == 1 {
            logp_rows = y.clone();
        }
        let c2 = Case {
            id: &SOFTMAX_BWD,
            params: bytes(&p),
            threads: r as u32,
            bufs: vec![y, f32v(&normals(r * c, 21, 1.0)), m, f32v(&normals(r * c, 22, 1.0))],
        };
        assert_equal(be, &c2, done);
    }
    // sampling and entropy from the masked log-probabilities (row 5: all masked → u32::MAX)
    let p = CategoricalParams { rows: r as u32, cols: c as u32, key0: 11, key1: 12, step: 3, ..Default::default() };
    let cs = Case {
        id: &CATEGORICAL_SAMPLE,
        params: bytes(&p),
        threads: r as u32,
        bufs: vec![logp_rows.clone(), vec![0; r]],
    };
    let a = assert_equal(be, &cs, done)[1].clone().unwrap();
    assert_eq!((a[0], a[5]), (3, u32::MAX), "the only allowed action; nothing allowed");
    assert!(a.iter().enumerate().all(|(row, &j)| row == 5 || mask[row * c + j as usize] != 0), "never a masked action");
    let cg = Case { id: &CATEGORICAL_ARGMAX, ..cs };
    let g = assert_equal(be, &cg, done)[1].clone().unwrap();
    assert_eq!((g[0], g[5]), (3, u32::MAX), "argmax: the only allowed action; nothing allowed");
    assert!(g.iter().enumerate().all(|(row, &j)| row == 5 || mask[row * c + j as usize] != 0), "argmax: never masked");
    let ce = Case { id: &ENTROPY_FWD, params: bytes(&p), threads: r as u32, bufs: vec![logp_rows.clone(), vec![0; r]] };
    assert_equal(be, &ce, done);
    let ce = Case {
        id: &ENTROPY_BWD,
        params: bytes(&p),
        threads: r as u32,
        bufs: vec![logp_rows.clone(), f32v(&normals(r, 23, 1.0)), f32v(&normals(r * c, 24, 1.0))],
    };
    assert_equal(be, &ce, done);
    // gather / scatter with one out-of-range index
    let ip = IndexParams { rows: r as u32, cols: c as u32, ..Default::default() };
    let mut idx: Vec<u32> = (0..r as u32).map(|i| i * 5 % c as u32).collect();
    idx[7] = c as u32 + 2;
    let g = Case { id: &GATHER, params: bytes(&ip), threads: r as u32, bufs: vec![f32v(&x), idx.clone(), vec![0; r]] };
    assert!(f32::from_bits(assert_equal(be, &g, done)[2].as_ref().unwrap()[7]).is_nan());
    let sc = Case {
        id: &SCATTER_ADD,
        params: bytes(&ip),
        threads: r as u32,
        bufs: vec![f32v(&normals(r, 25, 1.0)), idx.clone(), f32v(&x)],
    };
    assert_equal(be, &sc, done);
    // dueling
    let d = Case {
        id: &DUELING_FWD,
        params: bytes(&ip),
        threads: r as u32,
        bufs: vec![f32v(&normals(r, 26, 1.0)), f32v(&x), vec![0; r * c]],
    };
    assert_equal(be, &d, done);
    let d = Case {
        id: &DUELING_BWD,
        params: bytes(&ip),
        threads: r as u32,
        bufs: vec![f32v(&normals(r * c, 27, 1.0)), f32v(&normals(r, 28, 1.0)), f32v(&normals(r * c, 29, 1.0))],
    };
    assert_equal(be, &d, done);
    // Huber, BCE, PPO over n = 257 (both sides of δ and of the clip range), CE over [r, c]
    let n = 257usize;
    let (y, t) = (f32v(&normals(n, 30, 2.0)), f32v(&normals(n, 31, 1.0)));
    let bits: Vec<f32> = normals(n, 32, 1.0).iter().map(|v| (*v > 0.0) as u32 as f32).collect();
    let lp = f32v(&normals(n, 33, 0.3));
    let (old, adv) = (f32v(&normals(n, 34, 0.3)), f32v(&normals(n, 35, 1.0)));
    let lossp = LossParams { n: n as u32, a: 1.0, ..Default::default() };
    let ppop = LossParams { n: n as u32, a: 0.2, ..Default::default() };
    let dl = f32v(&[0.8]);
    let grad0 = f32v(&normals(n, 36, 1.0));
    for (fwd, bwd, p, inputs) in [
        (&HUBER_FWD, &HUBER_BWD, lossp, vec![y.clone(), t.clone()]),
        (&BCE_FWD, &BCE_BWD, lossp, vec![y.clone(), f32v(&bits)]),
        (&PPO_FWD, &PPO_BWD, ppop, vec![lp.clone(), old.clone(), adv.clone()]),
    ] {
        let mut b = inputs.clone();
        b.push(vec![0]);
        assert_equal(be, &Case { id: fwd, params: bytes(&p), threads: 1, bufs: b }, done);
        let mut b = inputs;
        b.extend([dl.clone(), grad0.clone()]);
        assert_equal(be, &Case { id: bwd, params: bytes(&p), threads: n as u32, bufs: b }, done);
    }
    let cep = LossParams { n: r as u32, cols: c as u32, ..Default::default() };
    let labels: Vec<u32> = (0..r as u32).map(|i| (i * 3) % c as u32).collect();
    let lsm: Vec<u32> = {
        let p = SoftmaxParams { rows: r as u32, cols: c as u32, log: 1, masked: 0 };
        let cc = Case {
            id: &SOFTMAX_FWD,
            params: bytes(&p),
            threads: r as u32,
            bufs: vec![f32v(&x), vec![0], vec![0; r * c]],
        };
        assert_equal(be, &cc, done)[2].clone().unwrap()
    };
    let c1 = Case { id: &CE_FWD, params: bytes(&cep), threads: 1, bufs: vec![lsm, labels.clone(), vec![0]] };
    assert_equal(be, &c1, done);
    let c2 = Case {
        id: &CE_BWD,
        params: bytes(&cep),
        threads: r as u32,
        bufs: vec![labels, dl.clone(), f32v(&normals(r * c, 37, 1.0))],
    };
    assert_equal(be, &c2, done);
    // clipping: sum of squares into an accumulator, then scale (one tensor above, one below)
    let g = normals(500, 38, 1.0);
    let cp = ClipParams { n: 500, max_norm: 5.0, eps: 1e-6, ..Default::default() };
    let acc = assert_equal(
        be,
        &Case { id: &SUMSQ_ACC, params: bytes(&cp), threads: 1, bufs: vec![f32v(&g), f32v(&[3.0])] },
        done,
    )[1]
    .clone()
    .unwrap();
    for max_norm in [5.0f32, 1e6] {
        let cp = ClipParams { max_norm, ..cp };
        assert_equal(
            be,
            &Case { id: &CLIP_SCALE, params: bytes(&cp), threads: 500, bufs: vec![acc.clone(), f32v(&g)] },
            done,
        );
    }
}
