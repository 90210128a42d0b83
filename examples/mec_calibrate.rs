//! The channel calibration of docs/mec.md "Profiles": for each β0 (and optional area), the mean
//! Σ Φ of the exact optimum, Greedy, Random and Local over `layouts` × `states` instances of the
//! N × M systems given, under the exact allocation (13).
//!
//! `cargo run --release --example mec_calibrate -- [beta0,...] [n:m,...] [layouts] [states]`
//! e.g. `-- 1e-3,1e-4 30:2,100:2,30:10 64 16`.

use mecrl::backend::{create, BackendKind};
use mecrl::env::mec::optimum::optimum_batch;
use mecrl::env::mec::{Heuristic, MecConfig, MecEnv};

fn main() -> mecrl::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let betas: Vec<f64> =
        args.first().map(|s| s.split(',').map(|x| x.parse().expect("beta0")).collect()).unwrap_or(vec![1e-3]);
    let sizes: Vec<(usize, usize)> = args
        .get(1)
        .map(|s| {
            s.split(',')
                .map(|x| {
                    let (n, m) = x.split_once(':').expect("n:m");
                    (n.parse().expect("n"), m.parse().expect("m"))
                })
                .collect()
        })
        .unwrap_or(vec![(30, 2)]);
    let layouts: usize = args.get(2).map(|s| s.parse().expect("layouts")).unwrap_or(64);
    let states: usize = args.get(3).map(|s| s.parse().expect("states")).unwrap_or(16);
    let be = create(BackendKind::Cpu)?;
    println!("beta0,n,m,optimum,greedy,random,local,offloaded_share");
    for &beta0 in &betas {
        for &(n, m) in &sizes {
            let cfg = MecConfig { beta0, n_iotd: n, n_mec: m, ..Default::default() };
            let mut env = MecEnv::new(be.clone(), &cfg, layouts, 7)?;
            let mut sums = [0.0f64; 5];
            for _ in 0..states {
                let cost = mecrl::backend::download_f32(&*be, &env.cost)?;
                let sf = mecrl::backend::download_f32(&*be, &env.sqrt_f)?;
                let (a, obj) = optimum_batch(&cost, &sf, n, m, cfg.f_mec_max_hz, cfg.phi_t)?;
                sums[0] += obj.iter().sum::<f64>();
                sums[4] += a.iter().filter(|&&x| x > 0).count() as f64 / n as f64;
                for (k, h) in [Heuristic::Greedy, Heuristic::Random, Heuristic::Local].into_iter().enumerate() {
                    let d = env.heuristic(h)?;
                    sums[k + 1] += env.objective_exact(&d, 1)?.iter().map(|&x| x as f64).sum::<f64>();
                }
                env.step()?;
            }
            let k = (layouts * states) as f64;
            println!(
                "{beta0:e},{n},{m},{:.3},{:.3},{:.3},{:.3},{:.3}",
                sums[0] / k,
                sums[1] / k,
                sums[2] / k,
                sums[3] / k,
                sums[4] / k
            );
        }
    }
    Ok(())
}
