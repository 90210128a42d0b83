//! The nn core per backend: the grouped linear layer's three kernels at the shapes of
//! `mecrl bench nn` (issue 3's cases) and a whole MLP training step (forward, MSE, backward,
//! Adam) of case (a). Ids: backend/what/shape.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mecrl::autograd::Tape;
use mecrl::backend::{Backend, KernelSpec};
use mecrl::nn::{Mlp, OptimConfig, Optimizer};
use mecrl::ops::act::Act;
use mecrl::ops::linear::LinearParams;
use mecrl::ops::linear::{LINEAR_BWD_W, LINEAR_BWD_X, LINEAR_FWD};
use mecrl::tensor::Tensor;

mod common;

fn values(n: usize) -> Vec<f32> {
    (0..n).map(|j| ((j * 7919 % 1000) as f32 / 500.0) - 1.0).collect()
}

fn linear(c: &mut Criterion) {
    // (K, B, I, O): case (a) layer 2, case (b) layer 1, an LSTM(256) step (B = 20) and its
    // input projection over T = 20 steps
    let shapes = [(2, 256, 80, 60), (10, 256, 100, 80), (1, 20, 256, 1024), (1, 400, 256, 1024)];
    let mut g = c.benchmark_group("linear");
    g.sample_size(20);
    for be in common::backends() {
        for &(k, b, i, o) in &shapes {
            let p = LinearParams { k, b, i, o, has_bias: 1, ..Default::default() };
            let (ku, bu, iu, ou) = p.dims();
            let t = |n: usize| Tensor::from_f32(&be, &[n], &values(n)).unwrap();
            let (x, w, bias, y) = (t(ku * bu * iu), t(ku * iu * ou), t(ku * ou), t(ku * bu * ou));
            let (dx, dw, db) = (t(ku * bu * iu), t(ku * iu * ou), t(ku * ou));
            g.throughput(Throughput::Elements((ku * bu * iu * ou) as u64));
            let shape = format!("K{k}_B{b}_I{i}_O{o}");
            let launches: [(&str, &'static KernelSpec, Vec<&Tensor>); 3] = [
                ("fwd", &LINEAR_FWD, vec![&x, &w, &bias, &y]),
                ("bwd_x", &LINEAR_BWD_X, vec![&y, &w, &dx]),
                ("bwd_w", &LINEAR_BWD_W, vec![&x, &y, &dw, &db]),
            ];
            for (what, id, bufs) in launches {
                let bufs: Vec<_> = bufs.iter().map(|t| t.buffer()).collect();
                let name = format!("{}/{what}/{shape}", be.kind());
                g.bench_function(BenchmarkId::from_parameter(name), |bench| {
                    bench.iter(|| {
                        be.launch(id, bytemuck::bytes_of(&p), 1, &bufs).unwrap();
                        be.sync().unwrap();
                    })
                });
            }
        }
    }
    g.finish();
}

fn mlp_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("mlp_step");
    g.sample_size(20);
    for be in common::backends() {
        let (sizes, k, batch) = ([30usize, 80, 60, 30], 2usize, 256usize);
        let x = Tensor::from_f32(&be, &[k, batch, 30], &values(k * batch * 30)).unwrap();
        let t = Tensor::from_f32(&be, &[k, batch, 30], &values(k * batch * 30 + 7)[7..]).unwrap();
        let mlp = Mlp::new(&be, &sizes, k, Act::Relu, None, 1).unwrap();
        let mut opt = Optimizer::new(OptimConfig::adam(1e-3), &mlp.params()).unwrap();
        let be2: Arc<dyn Backend> = be.clone();
        g.bench_function(BenchmarkId::from_parameter(format!("{}/case_a", be.kind())), |bench| {
            bench.iter(|| {
                let tape = Tape::new(&be2);
                let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
                let loss = tape.mse(&y, &tape.constant(&t)).unwrap();
                opt.zero_grad().unwrap();
                tape.backward(&loss).unwrap();
                opt.step().unwrap();
                be2.sync().unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, linear, mlp_step);
criterion_main!(benches);
