//! `mecrl bench mec`: IoTD-objective evaluations per second (the exact-allocation and the given
//! (a, f, p) kernels) next to numpy (`tools/bench_mec_numpy.py`), mecrl's and numpy's blocks
//! alternating, and the Lévy search time; each with its roofline fraction
//! ([`super::roofline`]), the exact objective also against the indexed-load ceiling.

use std::path::PathBuf;
use std::time::Instant;

use super::common::{interpreter, median, number, reference};
use super::roofline::{Ceilings, Indexed, Kernel, Stat};
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
    /// Timed launches of each objective evaluation per block (the block's median counts).
    #[arg(long, default_value_t = 30)]
    pub repeats: usize,
    /// Blocks, mecrl's and numpy's alternating (median and range over the blocks reported).
    #[arg(long, default_value_t = 5)]
    pub blocks: usize,
    /// Timed repetitions of the Lévy search (median and range reported).
    #[arg(long, default_value_t = 5)]
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
        let mut ts = vec![];
        for _ in 0..a.repeats.max(1) {
            let t = Instant::now();
            be.launch(k, bytemuck::bytes_of(&params), (b * p) as u32, bufs)?;
            be.sync()?;
            ts.push(t.elapsed().as_secs_f64());
        }
        Ok(median(ts))
    };
    let exact_bufs = [&env.cost, &env.sqrt_f, &a_buf, &bins, &phi];
    let paper_bufs = [&env.h, &env.task_d, &env.task_f, &a_buf, &f_buf, &p_buf, &bins, &phi];
    time(&MEC_OBJECTIVE_EXACT, &exact_bufs)?; // warm-up
    let (mut t_exact, mut t_paper, mut t_numpy) = (vec![], vec![], vec![]);
    let (mut yard, mut loads) = (vec![], vec![]);
    let cpu = be.kind() == crate::backend::BackendKind::Cpu;
    let probe = Indexed::new();
    let mut numpy_error = None;
    for _ in 0..a.blocks.max(1) {
        t_exact.push(time(&MEC_OBJECTIVE_EXACT, &exact_bufs)?);
        if cpu {
            // The yardsticks in the same blocks: their ratios survive the machine's drift.
            let (scalar, gather) = probe.gls();
            loads.push(evals / t_exact[t_exact.len() - 1] / (scalar.max(gather) * 1e9));
            yard.push(evals / t_exact[t_exact.len() - 1] / (probe.objective_gevals() * 1e9));
        }
        t_paper.push(time(&MEC_OBJECTIVE_PAPER, &paper_bufs)?);
        if !a.no_reference && numpy_error.is_none() {
            match numpy_median_s(a) {
                Ok(r) => t_numpy.push(r),
                Err(e) => numpy_error = Some(e),
            }
        }
    }

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
    let c = Ceilings::get();
    let rate = |t: &[f64]| Stat::of(t.iter().map(|t| evals / t / 1e6).collect());
    let (exact, paper) = (rate(&t_exact), rate(&t_paper));

    println!("mecrl bench mec  B={b} P={p} N={n} M={m}  backend={}", be.describe());
    println!(
        "{} blocks of {} launches, mecrl and numpy alternating; median (min–max) over the blocks",
        a.blocks.max(1),
        a.repeats.max(1)
    );
    println!("{:<44} {:>28}", "measurement", "M IoTD-evals/s");
    println!("{:<44} {:>28}", "objective, exact allocation (mecrl)", exact.to_string());
    if cpu {
        let ws = (b * p * n * 4 + b * n * (m + 2) * 4) as f64;
        println!("  {}", OBJECTIVE_EXACT.with_working_set(ws).line(exact.med * 1e6, c));
        let (y, l) = (Stat::of(yard), Stat::of(loads));
        println!(
            "  {:.0} % ({:.0}–{:.0}) of the objective's work in any summation order (gathers, masked per-MEC bins)",
            100.0 * y.med,
            100.0 * y.min,
            100.0 * y.max
        );
        println!(
            "  {:.0} % ({:.0}–{:.0}) of the indexed-load ceiling (one indexed load per evaluation, no bins)",
            100.0 * l.med,
            100.0 * l.min,
            100.0 * l.max
        );
    }
    println!("{:<44} {:>28}", "objective, given (a,f,p) (mecrl)", paper.to_string());
    if cpu {
        let ws = (b * p * n * 12 + b * n * (m + 2) * 4) as f64;
        println!("  {}", OBJECTIVE_PAPER.with_working_set(ws).line(paper.med * 1e6, c));
    }
    if let Some(e) = numpy_error {
        println!("numpy reference not run: {e}");
    } else if !t_numpy.is_empty() {
        println!("{:<44} {:>28}", "objective, exact allocation (numpy ref)", rate(&t_numpy).to_string());
        let ratios = Stat::of(t_numpy.iter().zip(&t_exact).map(|(r, m)| r / m).collect());
        println!(
            "ratio mecrl / numpy (exact objective), block by block: {:.1}x ({:.1}–{:.1})",
            ratios.med, ratios.min, ratios.max
        );
    }
    let search = Stat::of(ts.clone());
    println!(
        "Lévy search ({}, P={p}, G={}, B={b}): {:.3} s ({:.3}–{:.3})  ({:.1} M IoTD-candidate-steps/s)",
        a.mode,
        a.generations,
        search.med,
        search.min,
        search.max,
        evals * a.generations as f64 / search.med / 1e6
    );
    if cpu && mode == LevyMode::Exact {
        let ws = (b * p * n * 4 + b * n * (2 * m + 2) * 4) as f64;
        println!("  {}", LEVY_STEP.with_working_set(ws).line(evals * a.generations as f64 / search.med, c));
    }
    Ok(())
}

/// One exact-objective evaluation (eq. 8–11, 13), counted from `env::mec::exact`: a_i and the
/// chosen cost (4 + 4 bytes), √F_i shared by the 4 rows of a group (1 byte); the cost add and
/// the bin's FMA (3 operations).
const OBJECTIVE_EXACT: Kernel = Kernel { bytes: 9.0, ops: 3.0, working_set: 0.0 };

/// One given-(a, f, p) evaluation (`objective_paper_one`): a_i, f_i, p_i, the chosen h, D_i, F_i
/// (24 bytes); the rate's log2 (Cephes ln: ~25 operations) and the term's ~15.
const OBJECTIVE_PAPER: Kernel = Kernel { bytes: 24.0, ops: 40.0, working_set: 0.0 };

/// One IoTD-candidate step of the exact-mode proposed search (`search::levy::fast` + the
/// objective): Philox4x32-10 (10 rounds of two 32×32→64 products and four XORs: 60), the sign
/// test (2); on the ~half of the lanes kept, Box–Muller and Mantegna (two ln, a square root,
/// sincos, exp and ~10 more: ~95, so ~48 per lane); the select (6) and the objective (3). Bytes:
/// the parent, the candidate written and read back (12), the kept lanes' words and results
/// through the scratch (~20), ĥ where γd > th and the cost (~5).
const LEVY_STEP: Kernel = Kernel { bytes: 37.0, ops: 119.0, working_set: 0.0 };

/// The numpy reference's median time of the exact objective on the same sizes (s).
fn numpy_median_s(a: &Args) -> Result<f64> {
    const SCRIPT: &str = "bench_mec_numpy.py";
    let (b, p, n, m) = (a.batch.to_string(), a.population.to_string(), a.n.to_string(), a.m.to_string());
    let repeats = a.repeats.clamp(1, 10).to_string();
    let args = ["--b", &b, "--p", &p, "--n", &n, "--m", &m, "--repeats", &repeats];
    let v = reference(&interpreter(a.python.as_deref()), SCRIPT, &args)?;
    number(&v, "median_s", SCRIPT)
}
