//! `mecrl bench o2o`: one O2O-DRL offline gradient step (a uniform minibatch of the replay, the
//! twin target Qs and the actor's masked soft value at o′, the twin Q loss with the CQL
//! regularizer, the critic's regression, one Adam step of the actor, the critic and the Qs, the
//! targets' soft update) at the paper's batch (128) and N = 20 nodes, next to the same step
//! jitted by JAX on the CPU (`tools/bench_o2o_jax.py`) in the same run, the two sides' timed
//! blocks alternating as in `mecrl bench nn`. mecrl's replay is a real RATC log of the default
//! system; JAX's is synthetic with as many rows.

use std::path::{Path, PathBuf};

use super::nn::{alternate, Bench, Jax};
use crate::algo::o2o::{O2o, O2oConfig, OfflineReplay};
use crate::env::coop::dataset::collect;
use crate::env::coop::{CoopConfig, CoopEnv, Heuristic};
use crate::error::Result;
use crate::experiment::pick_backend;

/// Arguments of `mecrl bench o2o`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Transitions per step, comma-separated (the paper's 128, and 1024).
    #[arg(long, default_value = "128,1024", value_delimiter = ',')]
    pub batch: Vec<usize>,
    /// Edge nodes N.
    #[arg(long, default_value_t = 20)]
    pub nodes: usize,
    /// Episodes of 4 instances logged by RATC into the replay.
    #[arg(long, default_value_t = 4)]
    pub log_episodes: u32,
    /// Gradient steps per timed block.
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Timed blocks (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Python with JAX for the reference (default: .venv/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let be = pick_backend(&a.backend)?;
    let sys = CoopConfig { n_nodes: a.nodes, ..CoopConfig::default() };
    let (f, na) = (sys.obs_dim(), sys.n_actions());
    let mut env = CoopEnv::new(be.clone(), &sys, 4, 3)?;
    let (ds, _) = collect(&mut env, Heuristic::Ratc, 0, a.log_episodes, 3)?;
    println!(
        "mecrl bench o2o  (one offline step of discrete SAC + CQL: minibatch draw, twin target Qs and masked actor \
         at o', twin Q loss with CQL (eq. 10), actor (eq. 11), critic (eq. 12), Adam, soft targets; \
         F = {f}, A = {na}, 64-64 ReLU; medians of {} blocks of {} steps, alternating with JAX's)",
        a.reps, a.steps
    );
    println!("{:<32} {:>10} {:>12} {:>14} {:>8}", "case", "replay", "mecrl (ms)", "JAX-CPU (ms)", "ratio");
    let mut described = None;
    for &k in &a.batch {
        let mut cfg = O2oConfig { instances: 1, ..O2oConfig::default() };
        cfg.offline.batch = k;
        let mut l = O2o::new(&be, &cfg, &sys)?;
        let mut replay = OfflineReplay::new(&be, &ds, Path::new("ratc (in memory)"), cfg.offline.capacity)?;
        let rows = replay.rows;
        let args: Vec<String> = [("--batch", k), ("--rows", rows), ("--f", f), ("--a", na)]
            .iter()
            .flat_map(|(x, v)| [x.to_string(), v.to_string()])
            .collect();
        let argv: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
        let mut jax = Jax::serve(a.python.as_deref(), "o2o", "bench_o2o_jax.py", &argv)?;
        let mut bench = Bench::new(&be, || l.offline_steps(&mut replay, 1, &mut || {}).map(|_| ()));
        let timing = alternate(&mut bench, jax.as_mut(), "step", a.steps, a.reps)?;
        let (tm, j) = (timing.t, timing.j);
        let (js, ratio) = (j.map_or("-".into(), |j| format!("{:.3}", j * 1e3)), timing.ratio_text());
        let case = format!("offline step, batch {k}");
        println!("{case:<32} {rows:>10} {:>12.3} {js:>14} {ratio:>8}", tm * 1e3);
        if let Some(j) = &jax {
            described = Some(j.describe.clone());
        }
    }
    println!("ratio = JAX time / mecrl time (> 1: mecrl is faster); backend {}", be.kind());
    if let Some(d) = described {
        println!("{d}");
    }
    if let Some(m) = super::mrlco::cpu_model() {
        println!("CPU: {m}, {} logical cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    }
    Ok(())
}
