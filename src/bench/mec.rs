//! `mecrl bench mec`: IoTD-objective evaluations per second (the exact-allocation and the given
//! (a, f, p) kernels) next to numpy (`tools/bench_mec_numpy.py`), and the Lévy search time.

use std::path::PathBuf;
use std::time::Instant;

use super::common::{interpreter, median, number, reference};
use crate::backend::{self, KernelSpec};
use crate::env::mec::kernels::{MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER};
use crate::env::mec::{MecConfig, MecEnv};
use crate::error::{Error, Result};
use crate::experiment::pick_backend;
use crate::rng;
use crate::search::levy::{self, LevyConfig, LevyMode};

/// Arguments of `mecrl bench mec`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// B, instances.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// P, candidates per instance.
    #[arg(long, default_value_t = 32)]
    pub population: usize,
    /// N, IoTDs.
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    /// M, MECs.
    #[arg(long, default_value_t = 10)]
    pub m: usize,
    /// G_max of the timed Lévy search.
    #[arg(long, default_value_t = 100)]
    pub generations: usize,
    /// Timed repetitions of each objective evaluation (median reported).
    #[arg(long, default_value_t = 30)]
    pub repeats: usize,
    /// Timed repetitions of the Lévy search (median reported).
    #[arg(long, default_value_t = 3)]
    pub search_repeats: usize,
    /// Mode of the timed Lévy search: exact or paper.
    #[arg(long, default_value = "exact")]
    pub mode: String,
    /// Skip the numpy reference.
    #[arg(long)]
    pub no_reference: bool,
    /// Python interpreter for the reference (default: .venv/bin/python if present, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let be = pick_backend(&a.backend)?;
    let cfg = MecConfig { n_iotd: a.n, n_mec: a.m, ..MecConfig::default() };
    let env = MecEnv::new(be.clone(), &cfg, a.batch, 1)?;
    let (b, n, m, p) = (a.batch, a.n, a.m, a.population);
    // Random valid candidates from Philox, the same on every run.
    let acts: Vec<u32> = (0..b * p * n)
        .map(|k| rng::uniform_index(rng::philox4x32_10([k as u32, 0, 0, 99], [1, 2])[0], m as u32 + 1))
        .collect();
    let fs: Vec<f32> = acts.iter().enumerate().map(|(k, _)| 1e9 + (k % 7) as f32 * 1e8).collect();
    let ps: Vec<f32> = acts.iter().enumerate().map(|(k, _)| 0.1 + (k % 13) as f32 * 0.1).collect();
    let a_buf = be.upload(&acts)?;
    let f_buf = backend::upload_f32(&*be, &fs)?;
    let p_buf = backend::upload_f32(&*be, &ps)?;
    let bins = be.alloc(b * p * 2 * m.max(1))?;
    let phi = be.alloc(b * p)?;
    let mut params = env.params();
    params.p = p as u32;
    let evals = (b * p * n) as f64;

    let time = |k: &'static KernelSpec, bufs: &[&crate::Buffer]| -> Result<f64> {
        be.launch(k, bytemuck::bytes_of(&params), (b * p) as u32, bufs)?;
        be.sync()?;
        let mut ts = vec![];
        for _ in 0..a.repeats.max(1) {
            let t = Instant::now();
            be.launch(k, bytemuck::bytes_of(&params), (b * p) as u32, bufs)?;
            be.sync()?;
            ts.push(t.elapsed().as_secs_f64());
        }
        Ok(median(ts))
    };
    let t_exact = time(&MEC_OBJECTIVE_EXACT, &[&env.cost, &env.sqrt_f, &a_buf, &bins, &phi])?;
    let t_paper = time(&MEC_OBJECTIVE_PAPER, &[&env.h, &env.task_d, &env.task_f, &a_buf, &f_buf, &p_buf, &bins, &phi])?;

    let mode = match a.mode.as_str() {
        "exact" => LevyMode::Exact,
        "paper" => LevyMode::Paper,
        other => return Err(Error::config("--mode", other, "expected exact or paper")),
    };
    let lc = LevyConfig { population: p, generations: a.generations, mode, ..LevyConfig::default() };
    let a0 = env.heuristic_dev(lc.init.into())?;
    let mut ts = vec![];
    for r in 0..a.search_repeats.max(1) {
        let t = Instant::now();
        levy::search(&env, &lc, &a0, 7, r as u32, false, &mut |_| {})?;
        ts.push(t.elapsed().as_secs_f64());
    }
    let t_search = median(ts);

    println!("mecrl bench mec  B={b} P={p} N={n} M={m}  backend={}", be.describe());
    println!("{:<44} {:>12} {:>16}", "measurement", "median (ms)", "M IoTD-evals/s");
    println!("{:<44} {:>12.3} {:>16.1}", "objective, exact allocation (mecrl)", t_exact * 1e3, evals / t_exact / 1e6);
    println!("{:<44} {:>12.3} {:>16.1}", "objective, given (a,f,p) (mecrl)", t_paper * 1e3, evals / t_paper / 1e6);
    if !a.no_reference {
        match numpy_median_s(a) {
            Ok(r) => {
                println!(
                    "{:<44} {:>12.3} {:>16.1}",
                    "objective, exact allocation (numpy ref)",
                    r * 1e3,
                    evals / r / 1e6
                );
                println!("ratio mecrl / numpy (exact objective): {:.1}x", r / t_exact);
            }
            Err(e) => println!("numpy reference not run: {e}"),
        }
    }
    println!(
        "Lévy search ({}, P={p}, G={}, B={b}): median {:.3} s  ({:.1} M IoTD-candidate-steps/s)",
        a.mode,
        a.generations,
        t_search,
        evals * a.generations as f64 / t_search / 1e6
    );
    Ok(())
}

/// The numpy reference's median time of the exact objective on the same sizes (s).
fn numpy_median_s(a: &Args) -> Result<f64> {
    const SCRIPT: &str = "bench_mec_numpy.py";
    let (b, p, n, m) = (a.batch.to_string(), a.population.to_string(), a.n.to_string(), a.m.to_string());
    let repeats = a.repeats.clamp(1, 10).to_string();
    let args = ["--b", &b, "--p", &p, "--n", &n, "--m", &m, "--repeats", &repeats];
    let v = reference(&interpreter(a.python.as_deref()), SCRIPT, &args)?;
    number(&v, "median_s", SCRIPT)
}
