//! The Lévy population search per backend: B = 64 instances, P = 32, G_max = 100, N = 1000,
//! M = 10 (the bar: under one second on the CPU backend), exact and paper modes.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mecrl::env::mec::{Heuristic, MecConfig, MecEnv};
use mecrl::search::levy::{self, LevyConfig, LevyMode};

mod common;

fn levy_search(c: &mut Criterion) {
    let (b, p, n, m, gmax) = (64usize, 32usize, 1000usize, 10usize, 100usize);
    let mut g = c.benchmark_group("levy_search");
    g.sample_size(10);
    g.throughput(Throughput::Elements((b * p * n * gmax) as u64));
    for be in common::backends() {
        let cfg = MecConfig { n_iotd: n, n_mec: m, ..MecConfig::default() };
        let env = MecEnv::new(be.clone(), &cfg, b, 1).unwrap();
        let a0 = env.heuristic_dev(Heuristic::Greedy).unwrap();
        for mode in [LevyMode::Exact, LevyMode::Paper] {
            let lc = LevyConfig { population: p, generations: gmax, mode, ..LevyConfig::default() };
            let id = format!("{}/{mode:?}/B{b}_P{p}_G{gmax}_N{n}_M{m}", be.kind()).to_lowercase();
            let mut call = 0u32;
            g.bench_function(BenchmarkId::from_parameter(id), |bench| {
                bench.iter(|| {
                    call = (call + 1) & 0xffff;
                    levy::search(&env, &lc, &a0, 1, call, false, &mut |_| {}).unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, levy_search);
criterion_main!(benches);
