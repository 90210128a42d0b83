//! `mecrl bench coop`: node-slots per second of whole episodes (a heuristic and the step on
//! the device) on each backend, next to plain Python (`tools/bench_coop_python.py`, Random on
//! one instance), with the success rates of both as a cross-check of the model.

use std::sync::Arc;

use super::common::{backends, interpreter, millions, number, ratio_text, reference, Block, Rounds};
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
    /// Timed blocks of one episode per side, the sides alternating (median and range reported).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Skip the Python reference.
    #[arg(long)]
    pub no_reference: bool,
}

/// Run the benchmark and print its report: every backend's episode and the reference's in
/// alternating rounds (one block of every side in turn), medians and ranges.
pub fn run(a: &Args) -> Result<()> {
    let cfg = CoopConfig { n_nodes: a.nodes, ..Default::default() };
    cfg.validate()?;
    let h = Heuristic::parse(&a.method)?;
    if a.repeats == 0 {
        return Err(crate::error::Error::config("--repeats", 0, "must be >= 1"));
    }
    let backends = backends(&a.backends, "coop");
    let mut sides: Vec<Episodes> =
        backends.iter().map(|be| Episodes::new(&cfg, h, a.batch, be.clone())).collect::<Result<_>>()?;
    let py = interpreter(None);
    let nodes = a.nodes.to_string();
    let py_success = std::cell::Cell::new(f64::NAN);
    let mut seed = 0u32;
    let mut blocks: Vec<Block<'_>> = sides.iter_mut().map(|s| Box::new(move || s.block()) as Block<'_>).collect();
    if !a.no_reference {
        blocks.push(Box::new(|| {
            seed += 1;
            let args = ["--nodes", &nodes, "--episodes", "1", "--seed", &seed.to_string()];
            let j = reference(&py, SCRIPT, &args)?;
            py_success.set(number(&j, "success_rate", SCRIPT)?);
            number(&j, "node_slots_per_s", SCRIPT)
        }));
    }
    let rounds = Rounds::run("--repeats", a.repeats, &mut blocks)?;
    drop(blocks);
    println!(
        "mecrl bench coop  N={} B={} method={} ({} slots per episode; medians and ranges of {} blocks of one \
         episode, the sides alternating)",
        a.nodes,
        a.batch,
        h.name(),
        cfg.episode_slots(),
        a.repeats
    );
    println!("{:<40} {:>26} {:>20} {:>9}", "measurement", "M node-slots/s (range)", "vs Python", "success");
    let py_side = sides.len();
    for (k, side) in sides.iter().enumerate() {
        let r = rounds.stat(k);
        let ratio = if a.no_reference { "-".into() } else { ratio_text(rounds.ratio(k, py_side)) };
        let name = format!("mecrl {} (heuristic + step)", side.backend.kind());
        println!("{name:<40} {:>26} {ratio:>20} {:>9.3}", millions(r, 3), side.success()?);
        if side.backend.kind() == crate::backend::BackendKind::Cpu {
            let line = super::roofline::bound_line(side.bound, side.units, side.slots, r.med);
            println!("  heuristic + step {line}");
        }
    }
    if !a.no_reference {
        let r = rounds.stat(py_side);
        println!(
            "{:<40} {:>26} {:>20} {:>9.3}",
            "plain Python (Random, one instance)",
            millions(r, 3),
            "1x",
            py_success.get()
        );
    }
    Ok(())
}

/// Whole episodes of one backend (heuristic + step on the device, no host round trip per slot),
/// timed one episode a block, with the bytes its launches bound (the CPU's roofline).
struct Episodes {
    env: CoopEnv,
    h: Heuristic,
    backend: Arc<dyn Backend>,
    node_slots: f64,
    episode: u32,
    bound: u64,
    units: f64,
    slots: usize,
}

impl Episodes {
    fn new(cfg: &CoopConfig, h: Heuristic, batch: usize, backend: Arc<dyn Backend>) -> Result<Episodes> {
        let env = CoopEnv::new(backend.clone(), cfg, batch, 1)?;
        let node_slots = (batch * cfg.n_nodes) as f64 * cfg.episode_slots() as f64;
        Ok(Episodes { env, h, backend, node_slots, episode: 0, bound: 0, units: 0.0, slots: 0 })
    }

    /// One episode: node-slots per second.
    fn block(&mut self) -> Result<f64> {
        let bound0 = self.backend.bound_bytes();
        let t = std::time::Instant::now();
        self.env.reset(self.episode)?;
        self.episode += 1;
        while !self.env.done() {
            self.env.policy(self.h)?;
            self.env.step_device()?;
        }
        self.backend.sync()?;
        let rate = self.node_slots / t.elapsed().as_secs_f64();
        if self.episode > 1 {
            // the untimed first block is not in the roofline's count
            self.bound += self.backend.bound_bytes() - bound0;
            self.units += self.node_slots;
            self.slots += self.env.config().episode_slots() as usize;
        }
        Ok(rate)
    }

    /// The success rate (eq. 9) of the last episode (a cross-check of the model against the
    /// reference's).
    fn success(&self) -> Result<f64> {
        Ok(CoopResult::from_stats("base", f64::NAN, self.h, &self.env.stats()?).success_rate)
    }
}
