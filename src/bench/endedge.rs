//! `mecrl bench endedge`: device-slots per second of the batched environment (arrivals, the
//! Random policy, the queue step and the load recount per slot) on a backend, for D = 50, E = 5
//! and D = 10,000, E = 50, next to `tools/bench_endedge_python.py` run in the same invocation.

use std::path::PathBuf;
use std::time::Instant;

use super::common::{interpreter, median, number, reference};
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
    /// Timed repetitions (median reported).
    #[arg(long, default_value_t = 3)]
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
        out.push_str(&format!("mecrl bench endedge on {}\n", be.describe()));
        out.push_str(&format!(
            "{:<16} {:>6} {:>20} {:>18} {:>21} {:>7}\n",
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
            let mut times = vec![];
            let cpu0 = cpu_seconds();
            let bound0 = be.bound_bytes();
            for _ in 0..self.repeats {
                be.sync()?;
                let t0 = Instant::now();
                for _ in 0..self.slots {
                    env.arrive()?;
                    env.policy(Heuristic::Random)?;
                    env.step()?;
                }
                be.sync()?;
                times.push(t0.elapsed().as_secs_f64());
            }
            let work = (batch * d * self.slots) as f64;
            let per_core = match (cpu0, cpu_seconds()) {
                (Some(a), Some(b)) if b > a => format!("{:.2}", work * self.repeats as f64 / (b - a) / 1e6),
                _ => "-".into(),
            };
            let rate = work / median(times);
            let py = if self.no_reference { None } else { Some(self.python_rate(d, e, py_slots)?) };
            let (p, r) = match py {
                Some(p) => (format!("{:.3}", p / 1e6), format!("{:.0}×", rate / p)),
                None => ("-".into(), "-".into()),
            };
            let case = format!("D={d}, E={e}");
            out.push_str(&format!("{case:<16} {batch:>6} {:>20.2} {per_core:>18} {p:>21} {r:>7}\n", rate / 1e6));
            if be.kind() == crate::backend::BackendKind::Cpu {
                let bound = be.bound_bytes() - bound0;
                let line =
                    super::roofline::bound_line(bound, work * self.repeats as f64, self.repeats * self.slots, rate);
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
