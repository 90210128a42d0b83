//! Parity of the nn ops (src/ops): forward and backward on random inputs, every sum in the same
//! order on every backend (bit-exact on lavapipe and the host shim; within the tolerance on a GPU).

use std::collections::BTreeSet;

use mecrl::backend::registry::KernelId;
use mecrl::backend::Backend;
use mecrl::ops::act::{Act, ActParams};
use mecrl::ops::linear::LinearParams;
use mecrl::ops::loss::LossParams;
use mecrl::ops::optim::{FillParams, OptimParams, Rule};
use mecrl::rng;

use super::{assert_equal, f32v, Case};

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

pub fn ops_cases(be: &dyn Backend, done: &mut BTreeSet<KernelId>) {
    // K = 3 groups, B = 70 rows (more than a workgroup), I = 13, O = 9; with and without bias
    for has_bias in [1u32, 0] {
        let p = LinearParams { k: 3, b: 70, i: 13, o: 9, has_bias, ..Default::default() };
        let (k, b, i, o) = p.dims();
        let x = f32v(&normals(k * b * i, 1, 1.0));
        let w = f32v(&normals(k * i * o, 2, 0.5));
        let bias = f32v(&normals(k * o, 3, 0.1));
        let dy = f32v(&normals(k * b * o, 4, 1.0));
        let c = Case {
            id: KernelId::LinearFwd,
            params: bytes(&p),
            threads: (k * b * o) as u32,
            bufs: vec![x.clone(), w.clone(), bias, vec![0; k * b * o]],
        };
        assert_equal(be, &c, done);
        // backward kernels accumulate onto nonzero gradients
        let dx0 = f32v(&normals(k * b * i, 5, 1.0));
        let c = Case {
            id: KernelId::LinearBwdX,
            params: bytes(&p),
            threads: (k * b * i) as u32,
            bufs: vec![dy.clone(), w, dx0],
        };
        assert_equal(be, &c, done);
        let c = Case {
            id: KernelId::LinearBwdW,
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
        let c = Case { id: KernelId::ActFwd, params: bytes(&p), threads: n as u32, bufs: vec![f32v(&xs), vec![0; n]] };
        let y = assert_equal(be, &c, done)[1].clone().unwrap();
        let c = Case {
            id: KernelId::ActBwd,
            params: bytes(&p),
            threads: n as u32,
            bufs: vec![y, f32v(&normals(n, 9, 1.0)), f32v(&normals(n, 10, 1.0))],
        };
        assert_equal(be, &c, done);
    }
    // MSE over 300 elements
    let n = 300;
    let p = LossParams { n: n as u32, ..Default::default() };
    let (y, t) = (f32v(&normals(n, 11, 1.0)), f32v(&normals(n, 12, 1.0)));
    let c = Case { id: KernelId::MseFwd, params: bytes(&p), threads: 1, bufs: vec![y.clone(), t.clone(), vec![0]] };
    assert_equal(be, &c, done);
    let c = Case {
        id: KernelId::MseBwd,
        params: bytes(&p),
        threads: n as u32,
        bufs: vec![y, t, f32v(&[0.7]), f32v(&normals(n, 13, 1.0))],
    };
    assert_equal(be, &c, done);
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
            bc1: 1.0 - 0.9f32.powi(3),
            bc2: 1.0 - 0.999f32.powi(3),
            ..Default::default()
        };
        let c = Case {
            id: KernelId::OptimStep,
            params: bytes(&q),
            threads: n as u32,
            bufs: vec![f32v(&normals(n, 15, 1.0)), f32v(&normals(n, 16, 1.0)), f32v(&normals(n, 17, 0.1)), f32v(&v0)],
        };
        assert_equal(be, &c, done);
    }
    let q = FillParams { n: 100, value: 1.0f32.to_bits(), ..Default::default() };
    let c = Case { id: KernelId::Fill, params: bytes(&q), threads: 100, bufs: vec![vec![7; 130]] };
    let out = assert_equal(be, &c, done)[0].clone().unwrap();
    assert_eq!(&out[..100], &vec![1.0f32.to_bits(); 100][..]);
    assert_eq!(&out[100..], &[7; 30][..], "fill writes n words only");
}
