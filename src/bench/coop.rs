//! `mecrl bench coop`: node-slots per second of whole episodes (a heuristic and the step on
//! the device) on each backend, next to plain Python (`tools/bench_coop_python.py`, Random on
//! one instance), with the success rates of both as a cross-check of the model.

use std::sync::Arc;

use super::common::{backends, interpreter, median, number, reference};
use crate::backend::Backend;
use crate::env::coop::{CoopConfig, CoopEnv, Heuristic};
use crate::error::Result;
use crate::experiment::coop::CoopResult;

/// The reference.
const SCRIPT: &str = "bench_coop_python.py";

/// Arguments of `mecrl bench coop`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backends to measure, comma-separated (cpu, wgpu, cuda; unavailable ones are skipped).
    #[arg(long, default_value = "cpu,wgpu,cuda")]
    pub backends: String,
    /// B, instances.
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// N, nodes.
    #[arg(long, default_value_t = 20)]
    pub nodes: usize,
    /// Heuristic acting in the timed episodes (the Python reference uses Random).
    #[arg(long, default_value = "random")]
    pub method: String,
    /// Timed episodes (median reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Skip the Python reference.
    #[arg(long)]
    pub no_reference: bool,
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let cfg = CoopConfig { n_nodes: a.nodes, ..Default::default() };
    cfg.validate()?;
    let h = Heuristic::parse(&a.method)?;
    let mut rates = vec![];
    for be in backends(&a.backends, "coop") {
        rates.push((be.kind().to_string(), node_slots_per_s(&cfg, h, a.batch, a.repeats, be)?));
    }
    let py_rate = if a.no_reference {
        None
    } else {
        let j = reference(&interpreter(None), SCRIPT, &["--nodes", &a.nodes.to_string()])?;
        Some((number(&j, "node_slots_per_s", SCRIPT)?, number(&j, "success_rate", SCRIPT)?))
    };
    println!(
        "mecrl bench coop  N={} B={} method={} ({} slots per episode)",
        a.nodes,
        a.batch,
        h.name(),
        cfg.episode_slots()
    );
    println!("{:<44} {:>16} {:>12} {:>9}", "measurement", "node-slots/s", "vs Python", "success");
    for (name, (r, sr, line)) in &rates {
        let ratio = py_rate.map_or(String::from("-"), |(p, _)| format!("{:.0}x", r / p));
        println!("{:<44} {:>16.0} {:>12} {:>9.3}", format!("mecrl {name} (heuristic + step)"), r, ratio, sr);
        if let Some(line) = line {
            println!("  heuristic + step {line}");
        }
    }
    if let Some((p, sr)) = py_rate {
        println!("{:<44} {:>16.0} {:>12} {:>9.3}", "plain Python (Random, one instance)", p, "1x", sr);
    }
    Ok(())
}

/// Node-slots per second of whole episodes (heuristic `h` + step on the device, no host round
/// trip per slot), the median of `repeats` timed episodes after one warm-up episode; and the
/// success rate (eq. 9) of the last one (a cross-check of the model against the reference's).
fn node_slots_per_s(
    cfg: &CoopConfig,
    h: Heuristic,
    batch: usize,
    repeats: usize,
    backend: Arc<dyn Backend>,
) -> Result<(f64, f64, Option<String>)> {
    let mut env = CoopEnv::new(backend.clone(), cfg, batch, 1)?;
    let node_slots = (batch * cfg.n_nodes) as f64 * cfg.episode_slots() as f64;
    env.run_episode(0, h)?;
    let mut rates = vec![];
    let bound0 = backend.bound_bytes();
    for e in 0..repeats.max(1) {
        let t = std::time::Instant::now();
        env.reset(e as u32 + 1)?;
        while !env.done() {
            env.policy(h)?;
            env.step_device()?;
        }
        backend.sync()?;
        rates.push(node_slots / t.elapsed().as_secs_f64());
    }
    let success = CoopResult::from_stats("base", f64::NAN, h, &env.stats()?).success_rate;
    let bound = backend.bound_bytes() - bound0;
    let rate = median(rates);
    let slots = repeats.max(1) * cfg.episode_slots() as usize;
    let line = (backend.kind() == crate::backend::BackendKind::Cpu)
        .then(|| super::roofline::bound_line(bound, node_slots * repeats.max(1) as f64, slots, rate));
    Ok((rate, success, line))
}
