//! The `mecrl` command line: `run`, `devices`, `bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use mecrl::backend::{self, Backend, BackendChoice, KernelSpec};

#[path = "mecrl_cli/nn_bench.rs"]
mod nn_bench;
use mecrl::env::dag::kernels::DAG_MAKESPAN;
use mecrl::env::mec::kernels::{MEC_OBJECTIVE_EXACT, MEC_OBJECTIVE_PAPER};
use mecrl::env::mec::{MecConfig, MecEnv};
use mecrl::experiment::{rundir::RunDir, AnyConfig};
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
        /// `crowd` only: evaluate this task case of §VI-A (I, II or III).
        #[arg(long)]
        case: Option<String>,
    },
    /// Run a paper's experiments and write its tables and figures (resumable: rerun to continue).
    Reproduce {
        #[command(subcommand)]
        what: ReproduceCmd,
    },
    /// List the backends and whether each starts here (and why not).
    Devices,
    /// The MRLCO `dag` system: baselines over DOT files.
    Dag {
        #[command(subcommand)]
        what: DagCmd,
    },
    /// The O2O-DRL `coop` system: heuristic task logs as offline data sets.
    Coop {
        #[command(subcommand)]
        what: CoopCmd,
    },
    /// The CRB-DRQN `endedge` system: trace-driven simulation.
    Endedge {
        #[command(subcommand)]
        what: EndedgeCmd,
    },
    /// Throughput benchmarks next to reference implementations run in the same invocation.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
}

#[derive(Subcommand)]
enum ReproduceCmd {
    /// DIRS (seed 000): Table II, Table III (DIRS, Actor-Critic, DDPG), Figs. 5-10 (CSV, PNG, SVG).
    Dirs {
        /// Fewer points and shorter training (about a minute on a 2-core CPU).
        #[arg(long)]
        quick: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (finished experiments there are reused).
        #[arg(long)]
        out: Option<PathBuf>,
        /// auto, cpu, wgpu or cuda.
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum DagCmd {
    /// Greedy, HEFT-based, all-local, all-MEC and exhaustive Optimal makespans of every DOT file
    /// of a directory; writes a CSV (one row per graph) and prints per-method means.
    Baselines {
        /// Directory of DAGGEN DOT files (`*.gv` or `*.dot`).
        #[arg(long)]
        dot: PathBuf,
        /// `reference` (the published implementation) or `paper` (eq. 5–8).
        #[arg(long, default_value = "reference")]
        semantics: String,
        /// Uplink and downlink rate (Mbps).
        #[arg(long, default_value_t = 7.0)]
        rate: f64,
        /// Output CSV (default: DIR/baselines.csv).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip the exhaustive optimum (empty column).
        #[arg(long)]
        no_optimal: bool,
        /// HEFT-based: `own-schedule` (its schedule in HEFT order, the paper) or
        /// `rank-order-plan` (its decisions run in rank order like any plan).
        #[arg(long, default_value = "own-schedule")]
        heft: String,
    },
    /// Generate DAGGEN-style graphs as DOT files `random.<n>.<k>.gv` (k = 0..count).
    Generate {
        /// Number of tasks.
        #[arg(long, default_value_t = 20)]
        n: usize,
        /// Width exponent (level width ≈ n^fat).
        #[arg(long, default_value_t = 0.5)]
        fat: f64,
        /// Dependency density.
        #[arg(long, default_value_t = 0.5)]
        density: f64,
        /// Regularity of level widths.
        #[arg(long, default_value_t = 0.5)]
        regularity: f64,
        /// Largest number of levels an edge spans.
        #[arg(long, default_value_t = 1)]
        jump: u32,
        /// Communication-to-computation ratio range, low end.
        #[arg(long, default_value_t = 0.3)]
        ccr_min: f64,
        /// ccr range, high end.
        #[arg(long, default_value_t = 0.5)]
        ccr_max: f64,
        /// Number of graphs.
        #[arg(long, default_value_t = 100)]
        count: u32,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum EndedgeCmd {
    /// Run arrivals (`slot,device,mbits`) with the `fixed` policy (`slot,device,action`; 0 local,
    /// k server k−1); writes `slot,device,action,delay_slots,unfinished` per task.
    Trace(mecrl::env::endedge::trace::TraceArgs),
}

#[derive(clap::Args)]
struct BenchDagArgs {
    /// Tasks per graph.
    #[arg(long, default_value_t = 20)]
    n: usize,
    /// Graphs (generated with seeds 0..graphs; medians over them).
    #[arg(long, default_value_t = 5)]
    graphs: u32,
    /// Plans the Python reference evaluates per graph (its rate is extrapolated to 2^n).
    #[arg(long, default_value_t = 20_000)]
    python_plans: usize,
    /// Skip the Python reference.
    #[arg(long)]
    no_reference: bool,
    /// Plans per graph of the batched makespan measurement.
    #[arg(long, default_value_t = 65_536)]
    plans: usize,
    /// Backends to measure, comma-separated (cpu, wgpu, cuda; unavailable ones are skipped).
    #[arg(long, default_value = "cpu,wgpu,cuda")]
    backends: String,
}

#[derive(Subcommand)]
enum CoopCmd {
    /// Run a heuristic and write its task log as an offline data set (docs/coop.md).
    Log(CoopLogArgs),
}

#[derive(clap::Args)]
struct CoopLogArgs {
    /// random, ratc or rda.
    #[arg(long)]
    method: String,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// A `coop` run config whose [coop] section sets the system (default: the defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override N.
    #[arg(long)]
    nodes: Option<usize>,
    /// Instances per episode.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Episodes.
    #[arg(long, default_value_t = 1)]
    episodes: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    backend: String,
}

#[derive(clap::Args)]
struct BenchCoopArgs {
    /// Backends to measure, comma-separated (cpu, wgpu, cuda; unavailable ones are skipped).
    #[arg(long, default_value = "cpu,wgpu,cuda")]
    backends: String,
    /// B, instances.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// N, nodes.
    #[arg(long, default_value_t = 20)]
    nodes: usize,
    /// Heuristic acting in the timed episodes (the Python reference uses Random).
    #[arg(long, default_value = "random")]
    method: String,
    /// Timed episodes (median reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Skip the Python reference.
    #[arg(long)]
    no_reference: bool,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// `coop`: node-slots per second (heuristic + step, whole episodes) next to plain Python.
    Coop(BenchCoopArgs),
    /// `mec`: IoTD-objective evaluations per second and the Lévy search time.
    Mec(BenchMecArgs),
    /// `dag`: the exhaustive optimum of n-task DAGs (every plan, and branch-and-bound) next to
    /// a plain-Python scheduler.
    Dag(BenchDagArgs),
    /// `endedge`: device-slots per second (D = 50, E = 5 and D = 10,000, E = 50) next to a
    /// plain-Python implementation of the same slot.
    Endedge(mecrl::env::endedge::bench::BenchArgs),
    /// `crowd`: agent-slots per second of the batched step next to a plain-Python step.
    Crowd(BenchCrowdArgs),
    /// `nn`: training steps of small MLP ensembles next to JAX (XLA, CPU) in the same run.
    Nn(BenchNnArgs),
}

#[derive(clap::Args)]
struct BenchCrowdArgs {
    /// Task case (I, II, III).
    #[arg(long, default_value = "III")]
    case: String,
    /// Instances at the paper's size (6 clusters of 5–10 MDs).
    #[arg(long, default_value_t = 256)]
    batch_paper: usize,
    /// Instances of 10,000 users.
    #[arg(long, default_value_t = 4)]
    batch_large: usize,
    /// Timed slots per repetition (3 repetitions, median reported).
    #[arg(long, default_value_t = 100)]
    slots: usize,
    /// Slots the Python reference runs.
    #[arg(long, default_value_t = 3)]
    python_slots: usize,
    /// Skip the Python reference.
    #[arg(long)]
    no_reference: bool,
    /// Backends to measure, comma-separated (cpu, wgpu, cuda; unavailable ones are skipped).
    #[arg(long, default_value = "cpu,wgpu,cuda")]
    backends: String,
}

#[derive(clap::Args)]
struct BenchNnArgs {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// Steps per timed block.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Timed blocks (the median is reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Python with JAX for the reference (default: .venv/bin/python, else python3).
    #[arg(long)]
    python: Option<PathBuf>,
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
        Cmd::Run { config, backend, seed, out, quiet, case } => cmd_run(&config, backend, seed, out, quiet, case),
        Cmd::Reproduce { what: ReproduceCmd::Dirs { quick, seed, out, backend, quiet } } => {
            cmd_reproduce_dirs(quick, seed, out, &backend, quiet)
        }
        Cmd::Devices => cmd_devices(),
        Cmd::Endedge { what: EndedgeCmd::Trace(a) } => {
            a.run().map(|n| println!("{n} tasks written")).map_err(Into::into)
        }
        Cmd::Bench { what: BenchCmd::Mec(a) } => cmd_bench_mec(&a),
        Cmd::Bench { what: BenchCmd::Dag(a) } => cmd_bench_dag(&a),
        Cmd::Bench { what: BenchCmd::Crowd(a) } => cmd_bench_crowd(&a),
        Cmd::Bench { what: BenchCmd::Nn(a) } => cmd_bench_nn(&a),
        Cmd::Bench { what: BenchCmd::Coop(a) } => cmd_bench_coop(&a),
        Cmd::Coop { what: CoopCmd::Log(a) } => cmd_coop_log(&a),
        Cmd::Bench { what: BenchCmd::Endedge(a) } => a.run().map(|t| print!("{t}")).map_err(Into::into),
        Cmd::Dag { what: DagCmd::Baselines { dot, semantics, rate, out, no_optimal, heft } } => {
            cmd_dag_baselines(&dot, &semantics, rate, out, no_optimal, &heft)
        }
        Cmd::Dag {
            what: DagCmd::Generate { n, fat, density, regularity, jump, ccr_min, ccr_max, count, seed, out },
        } => {
            let cfg = mecrl::env::dag::gen::DagGenConfig {
                n,
                fat,
                density,
                regularity,
                jump,
                ccr_min,
                ccr_max,
                ..Default::default()
            };
            cmd_dag_generate(&cfg, count, seed, &out)
        }
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
    case: Option<String>,
) -> anyhow::Result<()> {
    let mut cfg = AnyConfig::load(path)?;
    cfg.override_with(backend, seed, out, case)?;
    let be = pick_backend(cfg.backend())?;
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(cfg.work_units()) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let t0 = Instant::now();
    let report = cfg.run(be, &mut |k| bar.inc(k))?;
    bar.finish_and_clear();
    let total_s = t0.elapsed().as_secs_f64();
    print!("{}", report.table);

    let dir = RunDir::create(cfg.out_dir(), cfg.name())?;
    for (name, contents) in &report.files {
        dir.write(name, contents)?;
    }
    let manifest = serde_json::json!({
        "mecrl_version": mecrl::VERSION,
        "command": std::env::args().collect::<Vec<_>>(),
        "config_file": path,
        "system": cfg.system(),
        "config": cfg.to_json(),
        "seed": cfg.seed(),
        "backend": cfg.backend(),
        "backend_device": report.backend,
        "wall_s": total_s,
        "summary": report.summary,
    });
    dir.write("manifest.json", serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    let p = dir.commit()?;
    println!("run directory: {}", p.display());
    Ok(())
}

fn cmd_reproduce_dirs(quick: bool, seed: u64, out: Option<PathBuf>, backend: &str, quiet: bool) -> anyhow::Result<()> {
    use mecrl::experiment::dirs_reproduce as dirs;
    let be = pick_backend(backend)?;
    let dir =
        out.unwrap_or_else(|| PathBuf::from(if quick { "runs/reproduce-dirs-quick" } else { "runs/reproduce-dirs" }));
    let total = dirs::reproduce_work_units(quick, seed);
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(total) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let t0 = Instant::now();
    let md = dirs::reproduce(quick, seed, &dir, be, &mut |k| bar.inc(k))?;
    bar.finish_and_clear();
    print!("{md}");
    println!("\nwall time {:.1} s; tables, figures and summary.md in {}", t0.elapsed().as_secs_f64(), dir.display());
    Ok(())
}

fn cmd_bench_nn(a: &BenchNnArgs) -> anyhow::Result<()> {
    let be = pick_backend(&a.backend)?;
    let mut jax = nn_bench::Jax::start(a.python.clone())?;
    println!(
        "mecrl bench nn  (forward + backward + Adam per step; medians of {} blocks of {} steps, alternating with JAX's)",
        a.reps, a.steps
    );
    println!("{:<48} {:>14} {:>14} {:>8}", "case", "mecrl (ms)", "JAX-CPU (ms)", "ratio");
    let steps_c = (a.steps / 10).max(2);
    let mut cases: Vec<(&str, &str, usize, nn_bench::Bench<'static>)> = vec![];
    for (c, key) in nn_bench::CASES.iter().zip(["(a)", "(b)"]) {
        cases.push((c.name, key, a.steps, nn_bench::mlp(&be, c)?));
    }
    cases.push(("(c) LSTM 2x256, T=20, batch 20 (fwd+bwd)", "(c)", steps_c, nn_bench::lstm(&be)?));
    for (name, key, steps, mut bench) in cases {
        let (mut ours, mut theirs) = (vec![], vec![]);
        // one untimed block each first (allocations, caches, XLA's compilation)
        for r in 0..=a.reps {
            let t = bench.block(steps)?;
            let j = jax.as_mut().map(|j| j.block(key, steps)).transpose()?;
            if r > 0 {
                ours.push(t);
                theirs.extend(j);
            }
        }
        let t = median(ours);
        let (js, ratio) = match theirs.is_empty() {
            false => {
                let j = median(theirs);
                (format!("{:.3}", j * 1e3), format!("{:.2}x", j / t))
            }
            true => ("-".into(), "-".into()),
        };
        println!("{:<48} {:>14.3} {:>14} {:>8}", name, t * 1e3, js, ratio);
    }
    if let Some(j) = &jax {
        println!("{}", j.describe);
    }
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

    let time = |k: &'static KernelSpec, bufs: &[&mecrl::Buffer]| -> anyhow::Result<f64> {
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

fn cmd_dag_baselines(
    dir: &Path,
    semantics: &str,
    rate: f64,
    out: Option<PathBuf>,
    no_optimal: bool,
    heft: &str,
) -> anyhow::Result<()> {
    use mecrl::env::dag::eval::{self, DagMethod};
    use mecrl::env::dag::{dot, model};
    let semantics = match semantics {
        "reference" => model::Semantics::Reference,
        "paper" => model::Semantics::Paper,
        other => return Err(mecrl::Error::config("--semantics", other, "expected reference or paper").into()),
    };
    let heft = match heft {
        "own-schedule" => model::HeftMode::OwnSchedule,
        "rank-order-plan" => model::HeftMode::RankOrderPlan,
        other => return Err(mecrl::Error::config("--heft", other, "expected own-schedule or rank-order-plan").into()),
    };
    let sys = model::DagSystem { rate_up_mbps: rate, rate_down_mbps: rate, semantics, heft, ..Default::default() };
    sys.validate().map_err(|e| match e {
        mecrl::Error::Config { value, why, .. } => mecrl::Error::config("--rate", value, why),
        e => e,
    })?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| mecrl::Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("gv" | "dot")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no .gv or .dot files", dir.display());
    }
    let mut methods = DagMethod::ALL.to_vec();
    if no_optimal {
        methods.pop();
    }
    let mut csv = String::from("file,greedy,heft,all_local,all_mec,optimal\n");
    let mut sums = [0.0f64; 5];
    let mut counts = [0usize; 5];
    let bar = ProgressBar::new(files.len() as u64);
    for f in &files {
        let dag = dot::read_dot(f)?;
        let vals = eval::evaluate_all(&dag, &sys, &methods)?;
        let name = f.file_name().and_then(|x| x.to_str()).unwrap_or("?");
        csv.push_str(name);
        for k in 0..5 {
            csv.push(',');
            if let Some(Some(v)) = vals.get(k) {
                sums[k] += v;
                counts[k] += 1;
                csv.push_str(&format!("{v:.9}"));
            }
        }
        csv.push('\n');
        bar.inc(1);
    }
    bar.finish_and_clear();
    let out = out.unwrap_or_else(|| dir.join("baselines.csv"));
    // atomic: temp file + rename
    let tmp = out.with_extension("csv.partial");
    std::fs::write(&tmp, csv).map_err(|e| mecrl::Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &out).map_err(|e| mecrl::Error::io(&out, e))?;
    println!("{} graphs ({semantics:?} semantics, {rate} Mbps); mean makespan (s):", files.len());
    for (k, m) in methods.iter().enumerate() {
        match counts[k] {
            0 => println!("  {:<10} n/a (every graph has more than {} tasks)", m.name(), sys.max_optimal_tasks),
            c if c < files.len() => println!(
                "  {:<10} {:.6} (over the {c} graphs of at most {} tasks)",
                m.name(),
                sums[k] / c as f64,
                sys.max_optimal_tasks
            ),
            c => println!("  {:<10} {:.6}", m.name(), sums[k] / c as f64),
        }
    }
    println!("csv: {}", out.display());
    Ok(())
}

fn cmd_dag_generate(cfg: &mecrl::env::dag::gen::DagGenConfig, count: u32, seed: u64, out: &Path) -> anyhow::Result<()> {
    use mecrl::env::dag::{dot, gen};
    cfg.validate()?;
    // Generate everything first, so a failure leaves no partial set behind.
    let dags = (0..count).map(|k| gen::generate(cfg, seed, k)).collect::<mecrl::Result<Vec<_>>>()?;
    std::fs::create_dir_all(out).map_err(|e| mecrl::Error::io(out, e))?;
    for (k, d) in dags.iter().enumerate() {
        dot::write_dot_file(d, &out.join(format!("random.{}.{k}.gv", cfg.n)))?;
    }
    println!("{count} graphs of {} tasks written to {}", cfg.n, out.display());
    Ok(())
}

fn cmd_bench_dag(a: &BenchDagArgs) -> anyhow::Result<()> {
    use mecrl::env::dag::{batch, dot, gen, model, optimal};
    let cfg = gen::DagGenConfig { n: a.n, ..Default::default() };
    let sys = model::DagSystem::default();
    if a.n > 24 {
        bail!("--n {}: the exhaustive optimum takes at most 24 tasks", a.n);
    }
    let mut backends: Vec<Arc<dyn Backend>> = vec![];
    for name in a.backends.split(',').filter(|x| !x.is_empty()) {
        match pick_backend(name) {
            Ok(b) => backends.push(b),
            Err(e) => eprintln!("bench dag: skipping backend {name}: {e}"),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".venv/bin/python");
    let py = if venv.exists() { venv } else { PathBuf::from("python3") };
    let python = |args: &[&str]| -> anyhow::Result<serde_json::Value> {
        let out = std::process::Command::new(&py)
            .arg(root.join("tools/bench_dag_python.py"))
            .args(args)
            .output()
            .with_context(|| format!("starting {}", py.display()))?;
        if !out.status.success() {
            bail!("python reference failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let tmp = std::env::temp_dir().join(format!("mecrl-bench-dag-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| mecrl::Error::io(&tmp, e))?;
    let nb = backends.len();
    let (mut t_bb, mut t_all, mut t_py) = (vec![], vec![vec![]; nb], vec![]);
    let (mut r_mk, mut r_np) = (vec![vec![]; nb], vec![]);
    let plans = a.plans;
    for g in 0..a.graphs {
        let dag = gen::generate(&cfg, 0, g)?;
        let p = model::Prepared::new(&dag, &sys)?;
        // branch and bound (the CLI's Optimal)
        let mut ts = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            std::hint::black_box(p.optimal(24)?);
            ts.push(t.elapsed().as_secs_f64());
        }
        t_bb.push(median(ts));
        // every plan evaluated by the batched kernels, per backend
        for (k, be) in backends.iter().enumerate() {
            let mut ts = vec![];
            for _ in 0..3 {
                let t = Instant::now();
                std::hint::black_box(optimal::optimal_batch(&**be, std::slice::from_ref(&p))?);
                ts.push(t.elapsed().as_secs_f64());
            }
            t_all[k].push(median(ts));
        }
        // batched makespan of `plans` plans (index q·2654435761 mod 2^n), per backend
        let b = batch::DagBatch::new(std::slice::from_ref(&p))?;
        let n = b.n_max;
        let idx = |q: usize| (q as u64 * 2_654_435_761) % (1u64 << n);
        let plan_words: Vec<u32> =
            (0..plans).flat_map(|q| (0..n).map(move |k| ((idx(q) >> (n - 1 - k)) & 1) as u32)).collect();
        let params = b.params(model::Semantics::Reference, plans, 1);
        let mut sums = vec![];
        for (k, be) in backends.iter().enumerate() {
            let cost: Vec<u32> = b.cost.iter().map(|x| x.to_bits()).collect();
            let bufs = [&b.n_tasks[..], &cost, &b.par_off, &b.par_idx, &b.exit, &plan_words]
                .iter()
                .map(|v| be.upload(v))
                .collect::<mecrl::Result<Vec<_>>>()?;
            let (ft, out) = (be.alloc(plans * n * 4)?, be.alloc(plans)?);
            let mut refs: Vec<&mecrl::Buffer> = bufs.iter().collect();
            refs.extend([&ft, &out]);
            let mut ts = vec![];
            for _ in 0..5 {
                let t = Instant::now();
                be.launch(&DAG_MAKESPAN, bytemuck::bytes_of(&params), plans as u32, &refs)?;
                be.sync()?;
                ts.push(t.elapsed().as_secs_f64());
            }
            r_mk[k].push((plans * n) as f64 / median(ts));
            let m = backend::download_f32(&**be, &out)?;
            sums.push((be.kind().to_string(), m.iter().map(|&x| x as f64).sum::<f64>()));
        }
        if !a.no_reference {
            let f = tmp.join(format!("g{g}.gv"));
            dot::write_dot_file(&dag, &f)?;
            let j = python(&[f.to_str().unwrap_or_default(), "--plans", &a.python_plans.to_string()])?;
            t_py.push((1u64 << a.n) as f64 / j["plans_per_s"].as_f64().context("plans_per_s")?);
            let j = python(&[f.to_str().unwrap_or_default(), "--numpy-plans", &plans.to_string()])?;
            r_np.push(j["np_plan_tasks_per_s"].as_f64().context("np_plan_tasks_per_s")?);
            let want = j["np_sum"].as_f64().context("np_sum")?;
            for (kind, got) in &sums {
                if (got - want).abs() > 1e-5 * want.abs() {
                    bail!("graph {g}: {kind} makespans sum to {got}, numpy to {want}");
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let bb = median(t_bb);
    println!("mecrl bench dag  n={} graphs={}  (reference semantics, 7 Mbps; medians over graphs)", a.n, a.graphs);
    println!("{:<60} {:>12}", "exhaustive Optimal, one graph (2^n plans)", "median (s)");
    println!("{:<60} {:>12.5}", "mecrl cpu, branch and bound (f64; the CLI's Optimal)", bb);
    for (k, be) in backends.iter().enumerate() {
        let t = median(t_all[k].clone());
        let rate = (1u64 << a.n) as f64 * a.n as f64 / t / 1e6;
        println!(
            "{:<60} {:>12.5}   ({rate:.0} M plan-tasks/s)",
            format!("mecrl {}, every plan (f32 kernel)", be.kind()),
            t
        );
    }
    if !t_py.is_empty() {
        let py = median(t_py);
        println!("{:<60} {:>12.3}", "plain Python, every plan (extrapolated to 2^n)", py);
        println!("ratio Python / mecrl branch and bound: {:.0}x", py / bb);
    }
    println!("\n{:<60} {:>12}", format!("batched makespan, {plans} plans of one graph"), "M plan-tasks/s");
    for (k, be) in backends.iter().enumerate() {
        println!(
            "{:<60} {:>12.1}",
            format!("mecrl {} (dag_makespan kernel)", be.kind()),
            median(r_mk[k].clone()) / 1e6
        );
    }
    if !r_np.is_empty() {
        let np = median(r_np);
        println!("{:<60} {:>12.1}", "numpy, vectorized over the plans (f64)", np / 1e6);
        for (k, be) in backends.iter().enumerate() {
            println!("ratio mecrl {} / numpy: {:.1}x", be.kind(), median(r_mk[k].clone()) / np);
        }
        println!("(every backend's makespans summed match numpy's to 1e-5)");
    }
    Ok(())
}

fn cmd_bench_crowd(a: &BenchCrowdArgs) -> anyhow::Result<()> {
    use mecrl::env::crowd::{Case, CrowdConfig, CrowdEnv, Policy};
    let case = Case::parse("--case", &a.case)?;
    let mut backends: Vec<Arc<dyn Backend>> = vec![];
    for name in a.backends.split(',').filter(|x| !x.is_empty()) {
        match pick_backend(name) {
            Ok(b) => backends.push(b),
            Err(e) => eprintln!("bench crowd: skipping backend {name}: {e}"),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".venv/bin/python");
    let py = if venv.exists() { venv } else { PathBuf::from("python3") };
    let paper = CrowdConfig::default().with_case(case);
    let large = CrowdConfig { cluster_sizes: Some(vec![1667, 1667, 1667, 1667, 1666, 1666]), ..paper.clone() };
    let sizes = [("paper size", paper, a.batch_paper), ("10,000 users", large, a.batch_large)];
    let tmp = std::env::temp_dir().join(format!("mecrl-bench-crowd-{}.json", std::process::id()));
    println!("mecrl bench crowd  case {}  ({} slots x 3 repetitions, median; agent-slots/s)", case.name(), a.slots);
    println!(
        "{:<16} {:>7} {:>7} {:<34} {:>14} {:>16}",
        "size", "users", "batch", "implementation", "M agent-slots/s", "+obs+DPP policy"
    );
    for (label, cfg, batch) in sizes {
        let mut py_rate = None;
        for be in &backends {
            let mut env = match CrowdEnv::new(be.clone(), &cfg, batch, 7) {
                Ok(e) => e,
                Err(e) => {
                    println!("{label:<16} {:>7} {batch:>7} {:<34} skipped: {e}", "", format!("mecrl {}", be.kind()));
                    continue;
                }
            };
            let (b, n, m) = (env.batch(), env.agents(), env.n_actions() as u32);
            // fixed actions over every kind of target and level, as a policy's output would be
            let actions: Vec<u32> = (0..b * n).map(|x| (x as u32).wrapping_mul(2_654_435_761) % m).collect();
            env.act(&actions)?;
            for _ in 0..20 {
                env.arrivals()?;
                env.end_slot()?;
            }
            be.sync()?;
            let mut step = vec![];
            let mut full = vec![];
            for _ in 0..3 {
                let t = Instant::now();
                for _ in 0..a.slots {
                    env.arrivals()?;
                    env.end_slot()?;
                }
                be.sync()?;
                step.push((a.slots * b * n) as f64 / t.elapsed().as_secs_f64());
            }
            // the env step plus observations and the drift-plus-penalty kernel
            let mut envp = CrowdEnv::new(be.clone(), &cfg, batch, 7)?;
            for _ in 0..3 {
                let t = Instant::now();
                for _ in 0..a.slots.div_ceil(4) {
                    envp.step_policy(Policy::Dpp)?;
                }
                be.sync()?;
                full.push((a.slots.div_ceil(4) * b * n) as f64 / t.elapsed().as_secs_f64());
            }
            println!(
                "{label:<16} {n:>7} {b:>7} {:<34} {:>14.2} {:>16.2}",
                format!("mecrl {}", be.kind()),
                median(step) / 1e6,
                median(full) / 1e6
            );
            if a.no_reference || py_rate.is_some() {
                continue;
            }
            // the plain-Python step from this state, and a cross-check of one slot's values
            let p = *env.params();
            let dl = |buf: &mecrl::Buffer| be.download(buf);
            let f = |buf: &mecrl::Buffer| backend::download_f32(&**be, buf);
            let (ctl, q, v) = (dl(&env.ctl)?, f(&env.q)?, f(&env.v)?);
            env.arrivals()?;
            env.end_slot()?;
            let state = serde_json::json!({
                "params": {
                    "b": p.b, "n": p.n, "s": p.s, "k": p.k, "r": p.r,
                    "levels": cfg.rate_levels, "gap_lo": p.gap_lo, "gap_hi": p.gap_hi,
                    "lambda1": p.lambda1, "lambda2": p.lambda2, "lambda3": p.lambda3,
                    "f_md": p.f_md, "idle_lo": p.idle_lo, "idle_hi": p.idle_hi, "f_edge": p.f_edge,
                    "f_cloud": p.f_cloud, "c_wireless": p.c_wireless, "c_wired": p.c_wired,
                    "c_backbone": p.c_backbone, "dt": p.dt, "alpha": p.alpha, "beta": p.beta,
                    "v_penalty": p.v_penalty, "fee_local": p.fee_local, "fee_md": p.fee_md,
                    "fee_edge": p.fee_edge, "fee_cloud": p.fee_cloud, "rate_unit": p.rate_unit,
                    "cycles_unit": p.cycles_unit, "bits_per_mb": p.bits_per_mb,
                },
                "cell_off": env.topology().cell_off, "ctl": ctl, "q": q, "v": v, "action": actions,
                "task": dl(&env.task)?, "cap": f(&env.cap)?,
            });
            std::fs::write(&tmp, serde_json::to_vec(&state)?).map_err(|e| mecrl::Error::io(&tmp, e))?;
            let python = |args: &[&str]| -> anyhow::Result<serde_json::Value> {
                let out = std::process::Command::new(&py)
                    .arg(root.join("tools/bench_crowd_python.py"))
                    .arg(&tmp)
                    .args(args)
                    .output()
                    .with_context(|| format!("starting {}", py.display()))?;
                if !out.status.success() {
                    bail!("python reference failed: {}", String::from_utf8_lossy(&out.stderr).trim());
                }
                Ok(serde_json::from_slice(&out.stdout)?)
            };
            let chk = python(&["--check"])?;
            let reward = f(&env.reward)?;
            let (q1, v1) = (f(&env.q)?, f(&env.v)?);
            let (u, l) = (q1.len() / b, v1.len() / b);
            for g in 0..b {
                let close = |x: f64, y: f64| (x - y).abs() <= 1e-3 * x.abs().max(y.abs()).max(1.0);
                let qs: f64 = q1[g * u..(g + 1) * u].iter().map(|&x| x as f64).sum();
                let vs: f64 = v1[g * l..(g + 1) * l].iter().map(|&x| x as f64).sum();
                let (pr, pq, pv) = (chk["reward"][g].as_f64(), chk["q_sum"][g].as_f64(), chk["v_sum"][g].as_f64());
                let (Some(pr), Some(pq), Some(pv)) = (pr, pq, pv) else { bail!("python check: bad output {chk}") };
                if !(close(reward[g] as f64, pr) && close(qs, pq) && close(vs, pv)) {
                    bail!("instance {g}: mecrl reward/q/v {} {qs} {vs} vs python {pr} {pq} {pv}", reward[g]);
                }
            }
            let j = python(&["--slots", &a.python_slots.to_string()])?;
            py_rate = Some(j["agent_slots_per_s"].as_f64().context("agent_slots_per_s")?);
        }
        let _ = std::fs::remove_file(&tmp);
        if let Some(r) = py_rate {
            println!("{label:<16} {:>7} {:>7} {:<34} {:>14.3}", "", "", "plain Python (same step)", r / 1e6);
        }
    }
    println!("(the Python step reproduces one mecrl slot's rewards and queue sums to 1e-3 before it is timed)");
    Ok(())
}

fn coop_system(config: &Option<PathBuf>, nodes: Option<usize>) -> anyhow::Result<mecrl::env::coop::CoopConfig> {
    let mut c = match config {
        Some(p) => match AnyConfig::load(p)? {
            AnyConfig::Coop(r) => r.coop,
            other => bail!("{}: a `coop` config is needed, this one is `{}`", p.display(), other.system()),
        },
        None => Default::default(),
    };
    c.n_nodes = nodes.unwrap_or(c.n_nodes);
    c.validate()?;
    Ok(c)
}

fn cmd_coop_log(a: &CoopLogArgs) -> anyhow::Result<()> {
    let cfg = coop_system(&a.config, a.nodes)?;
    let h = mecrl::env::coop::Heuristic::parse(&a.method)?;
    let be = pick_backend(&a.backend)?;
    let (rows, sr) = mecrl::experiment::coop::write_log(&cfg, h, a.batch, a.episodes, a.seed, be, &a.out)?;
    println!("{}: {rows} transitions of {} ({} nodes), success rate {sr:.4}", a.out.display(), h.name(), cfg.n_nodes);
    Ok(())
}

fn cmd_bench_coop(a: &BenchCoopArgs) -> anyhow::Result<()> {
    let cfg = coop_system(&None, Some(a.nodes))?;
    let h = mecrl::env::coop::Heuristic::parse(&a.method)?;
    let mut rates = vec![];
    for name in a.backends.split(',').filter(|x| !x.is_empty()) {
        match pick_backend(name) {
            Ok(be) => {
                rates.push((be.kind().to_string(), mecrl::experiment::coop::bench(&cfg, h, a.batch, a.repeats, be)?))
            }
            Err(e) => eprintln!("bench coop: skipping backend {name}: {e}"),
        }
    }
    let py_rate = if a.no_reference {
        None
    } else {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let v = root.join(".venv/bin/python");
        let py = if v.exists() { v } else { PathBuf::from("python3") };
        let out = std::process::Command::new(&py)
            .arg(root.join("tools/bench_coop_python.py"))
            .args(["--nodes", &a.nodes.to_string()])
            .output()
            .with_context(|| format!("starting {}", py.display()))?;
        if !out.status.success() {
            bail!("python reference failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let j: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Some((
            j["node_slots_per_s"].as_f64().context("node_slots_per_s")?,
            j["success_rate"].as_f64().context("success_rate")?,
        ))
    };
    println!(
        "mecrl bench coop  N={} B={} method={} ({} slots per episode)",
        a.nodes,
        a.batch,
        h.name(),
        cfg.episode_slots()
    );
    println!("{:<44} {:>16} {:>12} {:>9}", "measurement", "node-slots/s", "vs Python", "success");
    for (name, (r, sr)) in &rates {
        let ratio = py_rate.map_or(String::from("-"), |(p, _)| format!("{:.0}x", r / p));
        println!("{:<44} {:>16.0} {:>12} {:>9.3}", format!("mecrl {name} (heuristic + step)"), r, ratio, sr);
    }
    if let Some((p, sr)) = py_rate {
        println!("{:<44} {:>16.0} {:>12} {:>9.3}", "plain Python (Random, one instance)", p, "1x", sr);
    }
    Ok(())
}
