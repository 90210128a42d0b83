//! The `mecrl` command line: `run`, `devices`, `bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use mecrl::backend::{self, Backend, BackendChoice, KernelId};
use mecrl::env::mec::{MecConfig, MecEnv};
use mecrl::experiment::{rundir::RunDir, runner, RunConfig};
use mecrl::rng;
use mecrl::search::levy::{self, LevyConfig, LevyMode};

#[derive(Parser)]
#[command(name = "mecrl", version, about = "Batched task-offloading environments and search for mobile edge computing")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Evaluate the methods of a config on a batch of instances; writes a run directory.
    Run {
        /// The TOML config (e.g. configs/mec.toml).
        config: PathBuf,
        /// Override the config's backend: auto, cpu, wgpu, cuda.
        #[arg(long)]
        backend: Option<String>,
        /// Override the config's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the config's output directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// List the backends and whether each starts here (and why not).
    Devices,
    /// Throughput benchmarks next to reference implementations run in the same invocation.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// `mec`: IoTD-objective evaluations per second and the Lévy search time.
    Mec(BenchMecArgs),
}

#[derive(clap::Args)]
struct BenchMecArgs {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// B, instances.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// P, candidates per instance.
    #[arg(long, default_value_t = 32)]
    population: usize,
    /// N, IoTDs.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// M, MECs.
    #[arg(long, default_value_t = 10)]
    m: usize,
    /// G_max of the timed Lévy search.
    #[arg(long, default_value_t = 100)]
    generations: usize,
    /// Timed repetitions of each objective evaluation (median reported).
    #[arg(long, default_value_t = 30)]
    repeats: usize,
    /// Timed repetitions of the Lévy search (median reported).
    #[arg(long, default_value_t = 3)]
    search_repeats: usize,
    /// Mode of the timed Lévy search: exact or paper.
    #[arg(long, default_value = "exact")]
    mode: String,
    /// Skip the numpy reference.
    #[arg(long)]
    no_reference: bool,
    /// Python interpreter for the reference (default: .venv/bin/python if present, else python3).
    #[arg(long)]
    python: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Run { config, backend, seed, out, quiet } => cmd_run(&config, backend, seed, out, quiet),
        Cmd::Devices => cmd_devices(),
        Cmd::Bench { what: BenchCmd::Mec(a) } => cmd_bench_mec(&a),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn pick_backend(choice: &str) -> anyhow::Result<Arc<dyn Backend>> {
    let choice: BackendChoice = choice.parse()?;
    let (b, skipped) = backend::select(choice)?;
    if choice == BackendChoice::Auto {
        for s in skipped {
            eprintln!("backend auto: skipped: {s}");
        }
    }
    eprintln!("backend: {}", b.describe());
    Ok(b)
}

fn cmd_run(
    path: &Path,
    backend: Option<String>,
    seed: Option<u64>,
    out: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut cfg = RunConfig::load(path)?;
    if let Some(b) = backend {
        cfg.backend = b;
    }
    if let Some(s) = seed {
        cfg.seed = s;
    }
    if let Some(o) = out {
        cfg.out_dir = o;
    }
    cfg.validate()?;
    let be = pick_backend(&cfg.backend)?;
    let units = runner::work_units(&cfg);
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(units) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let t0 = Instant::now();
    let report = runner::run_mec(&cfg, be.clone(), &mut |k| bar.inc(k))?;
    bar.finish_and_clear();
    let total_s = t0.elapsed().as_secs_f64();
    print!("{}", report.table());

    let dir = RunDir::create(&cfg.out_dir, &cfg.name)?;
    dir.write("results.csv", report.csv(cfg.batch).as_bytes())?;
    let manifest = serde_json::json!({
        "mecrl_version": mecrl::VERSION,
        "command": std::env::args().collect::<Vec<_>>(),
        "config_file": path,
        "config": cfg,
        "seed": cfg.seed,
        "backend": cfg.backend,
        "backend_device": report.backend,
        "wall_s": total_s,
        "summary": report.methods.iter().map(|r| {
            let m = r.means();
            serde_json::json!({"method": r.method.name(), "objective": m.objective, "mean_time": m.mean_time,
                "mean_energy": m.mean_energy, "wall_s": r.wall_s})
        }).collect::<Vec<_>>(),
    });
    dir.write("manifest.json", serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    let p = dir.commit()?;
    println!("run directory: {}", p.display());
    Ok(())
}

fn cmd_devices() -> anyhow::Result<()> {
    for (kind, r) in backend::probe_all() {
        match r {
            Ok(d) => println!("{kind:<10} ok    {d}"),
            Err(e) => println!("{kind:<10} no    {e}"),
        }
    }
    match backend::select(BackendChoice::Auto) {
        Ok((b, _)) => println!("auto       -> {}", b.kind()),
        Err(e) => println!("auto       -> error: {e}"),
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cmd_bench_mec(a: &BenchMecArgs) -> anyhow::Result<()> {
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

    let time = |k: KernelId, bufs: &[&mecrl::Buffer]| -> anyhow::Result<f64> {
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
    let t_exact = time(KernelId::MecObjectiveExact, &[&env.cost, &env.sqrt_f, &a_buf, &bins, &phi])?;
    let t_paper =
        time(KernelId::MecObjectivePaper, &[&env.h, &env.task_d, &env.task_f, &a_buf, &f_buf, &p_buf, &bins, &phi])?;

    let mode = match a.mode.as_str() {
        "exact" => LevyMode::Exact,
        "paper" => LevyMode::Paper,
        other => return Err(mecrl::Error::config("--mode", other, "expected exact or paper").into()),
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
        match run_reference(a) {
            Ok(r) => {
                println!(
                    "{:<44} {:>12.3} {:>16.1}",
                    "objective, exact allocation (numpy ref)",
                    r * 1e3,
                    evals / r / 1e6
                );
                println!("ratio mecrl / numpy (exact objective): {:.1}x", r / t_exact);
            }
            Err(e) => println!("numpy reference not run: {e:#}"),
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

fn run_reference(a: &BenchMecArgs) -> anyhow::Result<f64> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tools/bench_mec_numpy.py");
    let py = a.python.clone().unwrap_or_else(|| {
        let v = root.join(".venv/bin/python");
        if v.exists() {
            v
        } else {
            PathBuf::from("python3")
        }
    });
    let out = std::process::Command::new(&py)
        .arg(&script)
        .args(["--b", &a.batch.to_string(), "--p", &a.population.to_string(), "--n", &a.n.to_string()])
        .args(["--m", &a.m.to_string(), "--repeats", &a.repeats.clamp(1, 10).to_string()])
        .output()
        .with_context(|| format!("starting {}", py.display()))?;
    if !out.status.success() {
        bail!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("parsing the reference's JSON output")?;
    v["median_s"].as_f64().context("reference output lacks median_s")
}
