//! `mecrl bench endedge`: device-slots per second of the batched environment (arrivals, the
//! Random policy, the queue step and the load recount per slot) on a backend, for D = 50, E = 5
//! and D = 10,000, E = 50, next to `tools/bench_endedge_python.py` run in the same invocation.

use std::path::PathBuf;
use std::time::Instant;

use super::common::{interpreter, millions, number, ratio_text, reference, Block, Rounds};
use crate::backend::{self, BackendChoice};
use crate::env::endedge::{EndedgeConfig, EndedgeEnv, Heuristic};
use crate::error::{Error, Result};

/// Arguments of `mecrl bench endedge`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Instances of the D = 50, E = 5 case.
    #[arg(long, default_value_t = 1024)]
    pub batch_small: usize,
    /// Instances of the D = 10,000, E = 50 case.
    #[arg(long, default_value_t = 16)]
    pub batch_large: usize,
    /// Timed slots per repetition (after one warm-up episode of the same length).
    #[arg(long, default_value_t = 110)]
    pub slots: usize,
    /// Timed blocks per side, mecrl's and the reference's alternating (median and range reported).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Slots the Python reference simulates for D = 10,000 (it is slow).
    #[arg(long, default_value_t = 20)]
    pub python_slots_large: usize,
    /// Skip the Python reference.
    #[arg(long)]
    pub no_reference: bool,
    /// Python interpreter (default: .venv/bin/python if present, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux; None
/// elsewhere): the timed loops report device-slots per core-second next to wall-clock rates, a
/// figure that the other processes of a shared machine disturb much less.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    print!("{}", a.report()?);
    Ok(())
}

impl Args {
    /// The report table.
    fn report(&self) -> Result<String> {
        if self.repeats == 0 || self.slots == 0 {
            return Err(Error::config("--repeats/--slots", 0, "must be >= 1"));
        }
        let (be, notes) = backend::select(self.backend.parse::<BackendChoice>()?)?;
        let mut out = String::new();
        for n in notes {
            out.push_str(&format!("{n}\n"));
        }
        out.push_str(&format!(
            "mecrl bench endedge on {}  (medians and ranges of {} blocks, mecrl's and the reference's alternating)\n",
            be.describe(),
            self.repeats
        ));
        out.push_str(&format!(
            "{:<16} {:>6} {:>22} {:>14} {:>24} {:>20}\n",
            "case", "batch", "mecrl (M dev-slot/s)", "per core-s (M)", "python (M dev-slot/s)", "ratio"
        ));
        for (d, e, batch, py_slots) in
            [(50usize, 5usize, self.batch_small, 1100usize), (10_000, 50, self.batch_large, self.python_slots_large)]
        {
            let cfg = EndedgeConfig {
                devices: d,
                servers: e,
                slots: self.slots,
                tail_slots: 0,
                ..EndedgeConfig::reference()
            };
            let mut env = EndedgeEnv::new(&cfg, batch, 1, be.clone())?;
            env.run_episode(Heuristic::Random, &mut |_| {})?; // warm-up: pipelines, steady queues
                                                              // mecrl's blocks (`slots` slots each) and the reference's alternate; the CPU seconds
                                                              // and the bytes bound are summed over mecrl's timed blocks
            let (mut cpu_s, mut bound, mut timed) = (0.0, 0u64, 0usize);
            let work = (batch * d * self.slots) as f64;
            let mut blocks: Vec<Block<'_>> = vec![Box::new(|| {
                let (cpu0, bound0) = (cpu_seconds(), be.bound_bytes());
                be.sync()?;
                let t0 = Instant::now();
                for _ in 0..self.slots {
                    env.arrive()?;
                    env.policy(Heuristic::Random)?;
                    env.step()?;
                }
                be.sync()?;
                let t = t0.elapsed().as_secs_f64();
                if let (Some(a), Some(b)) = (cpu0, cpu_seconds()) {
                    cpu_s += b - a;
                }
                bound += be.bound_bytes() - bound0;
                timed += 1;
                Ok(work / t)
            })];
            if !self.no_reference {
                blocks.push(Box::new(move || self.python_rate(d, e, py_slots)));
            }
            let rounds = Rounds::run("--repeats", self.repeats, &mut blocks)?;
            drop(blocks);
            // the untimed first block is in these sums and in `timed` alike
            let per_core = if cpu_s > 0.0 { format!("{:.2}", work * timed as f64 / cpu_s / 1e6) } else { "-".into() };
            let rate = rounds.stat(0);
            let (p, r) = if self.no_reference {
                ("-".into(), "-".into())
            } else {
                let p = rounds.stat(1);
                (millions(p, 3), ratio_text(rounds.ratio(0, 1)))
            };
            let case = format!("D={d}, E={e}");
            let m = millions(rate, 2);
            out.push_str(&format!("{case:<16} {batch:>6} {m:>22} {per_core:>14} {p:>24} {r:>20}\n"));
            if be.kind() == crate::backend::BackendKind::Cpu {
                let line = super::roofline::bound_line(bound, work * timed as f64, timed * self.slots, rate.med);
                out.push_str(&format!("  slot {line}\n"));
            }
        }
        Ok(out)
    }

    fn python_rate(&self, d: usize, e: usize, slots: usize) -> Result<f64> {
        const SCRIPT: &str = "bench_endedge_python.py";
        let (d, e, slots) = (d.to_string(), e.to_string(), slots.to_string());
        let args = ["--devices", &d, "--servers", &e, "--slots", &slots];
        let j = reference(&interpreter(self.python.as_deref()), SCRIPT, &args)?;
        number(&j, "device_slots_per_s", SCRIPT)
    }
}
