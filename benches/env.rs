//! `mec` environment kernels per backend: the objective of B·P candidate decision vectors
//! (throughput in IoTD-objective evaluations) and a full environment step.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mecrl::env::mec::kernels::{MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER};
use mecrl::env::mec::{MecConfig, MecEnv};
use mecrl::rng;

mod common;

fn objective(c: &mut Criterion) {
    let (b, p, n, m) = (64usize, 32usize, 1000usize, 10usize);
    let mut g = c.benchmark_group("mec_objective");
    g.throughput(Throughput::Elements((b * p * n) as u64));
    for be in common::backends() {
        let cfg = MecConfig { n_iotd: n, n_mec: m, ..MecConfig::default() };
        let env = MecEnv::new(be.clone(), &cfg, b, 1).unwrap();
        let acts: Vec<u32> = (0..b * p * n)
            .map(|k| rng::uniform_index(rng::philox4x32_10([k as u32, 0, 0, 99], [1, 2])[0], m as u32 + 1))
            .collect();
        let f: Vec<f32> = vec![5e9; b * p * n];
        let pw: Vec<f32> = vec![0.5; b * p * n];
        let a = be.upload(&acts).unwrap();
        let (fb, pb) = (mecrl::backend::upload_f32(&*be, &f).unwrap(), mecrl::backend::upload_f32(&*be, &pw).unwrap());
        let bins = be.alloc(b * p * 2 * m).unwrap();
        let phi = be.alloc(b * p).unwrap();
        let mut params = env.params();
        params.p = p as u32;
        let id = format!("{}/exact/B{b}_P{p}_N{n}_M{m}", be.kind());
        g.bench_function(BenchmarkId::from_parameter(id), |bench| {
            bench.iter(|| {
                be.launch(
                    &MEC_OBJECTIVE_EXACT,
                    bytemuck::bytes_of(&params),
                    (b * p) as u32,
                    &[&env.cost, &env.sqrt_f, &a, &bins, &phi],
                )
                .unwrap();
                be.sync().unwrap();
            })
        });
        let id = format!("{}/paper/B{b}_P{p}_N{n}_M{m}", be.kind());
        g.bench_function(BenchmarkId::from_parameter(id), |bench| {
            bench.iter(|| {
                be.launch(
                    &MEC_OBJECTIVE_PAPER,
                    bytemuck::bytes_of(&params),
                    (b * p) as u32,
                    &[&env.h, &env.task_d, &env.task_f, &a, &fb, &pb, &bins, &phi],
                )
                .unwrap();
                be.sync().unwrap();
            })
        });
    }
    g.finish();
}

fn step(c: &mut Criterion) {
    let (b, n, m) = (64usize, 1000usize, 10usize);
    let mut g = c.benchmark_group("mec_step");
    g.throughput(Throughput::Elements((b * n * m) as u64));
    for be in common::backends() {
        let cfg = MecConfig { n_iotd: n, n_mec: m, ..MecConfig::default() };
        let mut env = MecEnv::new(be.clone(), &cfg, b, 1).unwrap();
        let id = format!("{}/channel_alloc_observe/B{b}_N{n}_M{m}", be.kind());
        g.bench_function(BenchmarkId::from_parameter(id), |bench| {
            bench.iter(|| {
                env.step().unwrap();
                env.backend().sync().unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, objective, step);
criterion_main!(benches);
