//! `mecrl bench crbdrqn`: one CRB-DRQN training step (familiarity sampling of K trajectories
//! from the central pool, the double-DQN target with the online and target networks on the
//! next states, the loss (25) through the LSTM over Load(t) (C = 10 rows) and the dueling head,
//! RMSProp) at the paper's batch (K = 4 trajectories of n = 4) and at K = 256, next to the same
//! step jitted by JAX on the CPU (`tools/bench_crbdrqn_jax.py`) in the same run, the two sides'
//! timed blocks alternating as in `mecrl bench nn`. mecrl's pool is a real one (episodes of
//! the default system, D = 50, E = 4); JAX's is synthetic with as many trajectories.

use std::path::PathBuf;

use super::nn::{alternate, Bench, Jax};
use crate::algo::crbdrqn::{CrbDrqn, CrbDrqnConfig};
use crate::env::endedge::EndedgeConfig;
use crate::error::Result;
use crate::experiment::pick_backend;

/// Arguments of `mecrl bench crbdrqn`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Trajectories per step, comma-separated (the paper's 4, and 256).
    #[arg(long, default_value = "4,256", value_delimiter = ',')]
    pub batch: Vec<usize>,
    /// Episodes collected into the pool first (D = 50 terminals each).
    #[arg(long, default_value_t = 5)]
    pub fill_episodes: usize,
    /// Training steps per timed block.
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
    let sys = EndedgeConfig::default();
    let (f, e, c) = (3 + sys.servers, sys.servers, sys.load_history);
    println!(
        "mecrl bench crbdrqn  (one CRB-DRQN training step: familiarity sampling of K trajectories of n = 4, \
         double-DQN target, loss (25) through obs-32 + LSTM {e}->20 over C = {c} rows, 64-64, dueling 1 + {e}; \
         RMSProp; medians of {} blocks of {} steps, alternating with JAX's)",
        a.reps, a.steps
    );
    println!("{:<44} {:>10} {:>12} {:>14} {:>8}", "case", "pool", "mecrl (ms)", "JAX-CPU (ms)", "ratio");
    let mut described = None;
    for &k in &a.batch {
        let cfg = CrbDrqnConfig { batch: k, warmup: k.max(1), updates_per_slot: 0, ..CrbDrqnConfig::default() };
        let mut l = CrbDrqn::new(&be, &cfg, &sys)?;
        for _ in 0..a.fill_episodes {
            l.train_episode(&mut || {})?;
        }
        let pool = l.pool_len();
        let args: Vec<String> =
            [("--k", k), ("--n", cfg.trajectory_steps), ("--pool", pool), ("--f", f), ("--e", e), ("--c", c)]
                .iter()
                .flat_map(|(x, v)| [x.to_string(), v.to_string()])
                .collect();
        let argv: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
        let mut jax = Jax::serve(a.python.as_deref(), "crbdrqn", "bench_crbdrqn_jax.py", &argv)?;
        let mut bench = Bench::new(&be, || l.update().map(|_| ()));
        let timing = alternate(&mut bench, jax.as_mut(), "step", a.steps, a.reps)?;
        let (tm, j) = (timing.t, timing.j);
        let (js, ratio) = (j.map_or("-".into(), |j| format!("{:.3}", j * 1e3)), timing.ratio_text());
        let case = format!("train step, K = {k} ({} rows)", k * cfg.trajectory_steps);
        println!("{case:<44} {pool:>10} {:>12.3} {js:>14} {ratio:>8}", tm * 1e3);
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
