//! `mecrl bench mappo`: one mixed-MAPPO update (the paper's sizes: recurrent actor [obs → 64,
//! 64 → 64, GRU 64, 64 → A·R] over every agent, five recurrent critics over the global state;
//! a rollout of ≥ 100,000 agent-steps; PPO epochs on the actor, the critics' regression, both
//! with gradient-norm clipping and Adam) next to the same update jitted by JAX on the CPU
//! (`tools/bench_mappo_jax.py`) in the same run, the two sides' timed blocks alternating as in
//! `mecrl bench nn`. mecrl's rollout is a real one (one collected round of the `crowd`
//! system); JAX's is synthetic of the same sizes.

use std::path::PathBuf;

use super::nn::{alternate, Bench, Jax};
use crate::algo::mappo::{Learner, MappoConfig};
use crate::env::crowd::CrowdConfig;
use crate::error::Result;
use crate::experiment::pick_backend;

/// Arguments of `mecrl bench mappo`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Agent-steps of the rollout at least (instances are added until it holds them).
    #[arg(long, default_value_t = 100_000)]
    pub agent_steps: usize,
    /// Updates per timed block.
    #[arg(long, default_value_t = 1)]
    pub steps: usize,
    /// Timed blocks (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Python with JAX for the reference (default: .venv/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let be = pick_backend(&a.backend)?;
    let cfg = MappoConfig::default();
    let crowd = CrowdConfig { horizon_slots: cfg.rollout_slots, ..CrowdConfig::default() };
    let n = crowd.topology()?.users();
    let t = cfg.rollout_slots;
    let batch = a.agent_steps.div_ceil(n * t).max(1);
    let mut l = Learner::new(&be, &cfg, &crowd, batch)?;
    l.collect(true)?;
    let (e, f, acts) = (batch * n, l.obs_width(), l.actions());
    let s = l.state_width();
    let args: Vec<String> = [
        ("--t", t),
        ("--e", e),
        ("--b", batch),
        ("--f", f),
        ("--s", s),
        ("--a", acts),
        ("--hidden", cfg.hidden),
        ("--critics", cfg.n_critics()),
        ("--epochs", cfg.ppo.epochs),
    ]
    .iter()
    .flat_map(|(k, v)| [k.to_string(), v.to_string()])
    .collect();
    let argv: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
    let mut jax = Jax::serve(a.python.as_deref(), "mappo", "bench_mappo_jax.py", &argv)?;
    println!(
        "mecrl bench mappo  (mixed MAPPO, one update: {e} agents x {t} slots = {} agent-steps, {batch} instances; \
         actor {f}-64-64-GRU64-{acts}, {} critics {s}-64-64-GRU64-1; {} epochs each, chunks of {}; medians of {} \
         blocks of {}, alternating with JAX's)",
        e * t,
        cfg.n_critics(),
        cfg.ppo.epochs,
        cfg.chunk,
        a.reps,
        a.steps
    );
    println!("{:<52} {:>12} {:>14} {:>8}", "case", "mecrl (ms)", "JAX-CPU (ms)", "ratio");
    let mut bench = Bench::new(&be, || l.update().map(|_| ()));
    let timing = alternate(&mut bench, jax.as_mut(), "update", a.steps, a.reps)?;
    let (tm, j) = (timing.t, timing.j);
    let (js, ratio) = (j.map_or("-".into(), |j| format!("{:.1}", j * 1e3)), timing.ratio_text());
    println!("{:<52} {:>12.1} {:>14} {:>8}", "MAPPO update (actor PPO + 5 critics)", tm * 1e3, js, ratio);
    println!(
        "agent-steps per second of update: mecrl {:.0}{}",
        (e * t) as f64 / tm,
        j.map_or(String::new(), |j| format!(", JAX {:.0}", (e * t) as f64 / j))
    );
    println!("ratio = JAX time / mecrl time (> 1: mecrl is faster); backend {}", be.kind());
    if let Some(j) = &jax {
        println!("{}", j.describe);
    }
    if let Some(m) = super::mrlco::cpu_model() {
        println!("CPU: {m}, {} logical cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    }
    Ok(())
}
