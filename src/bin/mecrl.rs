//! The `mecrl` command line: the clap definitions of `run`, `reproduce`, `devices`, `dag`,
//! `coop`, `endedge` and `bench`, each dispatched to the library (progress bars and the run
//! directory's manifest are the command line's).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use clap::{Parser, Subcommand};

use mecrl::backend::{self, BackendChoice};
use mecrl::bench;
use mecrl::experiment::progress::Progress;
use mecrl::experiment::{dag_dot, pick_backend, AnyConfig};

#[derive(Parser)]
#[command(name = "mecrl", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("MECRL_GIT_COMMIT"), ")"), about = "Batched task-offloading environments and search for mobile edge computing")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// The most memory a command may use (8G, 512M, bytes; K/M/G/T are powers of 1024). A run
    /// whose estimate exceeds it is refused before it starts. Default: the environment's
    /// MECRL_MAX_MEMORY, else the memory the system reports available.
    #[arg(long, global = true, value_name = "SIZE")]
    max_memory: Option<String>,
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
        /// Print the memory the run would allocate (its estimate, term by term, and the limit)
        /// and exit without running.
        #[arg(long)]
        memory: bool,
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
    /// Run a sweep: every configuration × seed of SWEEP.toml as a run directory, on local
    /// worker processes, Ray or Slurm; resumable (rerun it to run what is missing); a report.
    Sweep(SweepArgs),
    /// Throughput benchmarks next to reference implementations run in the same invocation.
    Bench {
        #[command(subcommand)]
        what: bench::Cmd,
    },
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct SweepArgs {
    #[command(subcommand)]
    what: Option<SweepCmd>,
    /// The sweep file (e.g. configs/sweeps/dirs_nm.toml).
    file: Option<PathBuf>,
    /// List the points (index, hash, seed, values, state) and run nothing.
    #[arg(long)]
    dry_run: bool,
    /// local, ray or slurm (overrides the file's `executor`).
    #[arg(long)]
    executor: Option<String>,
    /// The Ray cluster (`auto`, or host:port; overrides `[ray] address`).
    #[arg(long)]
    ray_address: Option<String>,
    /// Worker processes of the local executor (overrides `[local] workers`).
    #[arg(long)]
    workers: Option<usize>,
    /// Where the sweep directory is created (overrides the file's `out_dir`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Slurm: wait for the job array to end (`sbatch --wait`), then write the report.
    #[arg(long)]
    wait: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum SweepCmd {
    /// Aggregate the points over seeds: report/summary.{csv,md}, points.csv, timings.csv, figures.
    Report {
        /// The sweep directory.
        dir: PathBuf,
    },
    /// Points done / failed / not done, and the Slurm array's tasks.
    Status {
        /// The sweep directory.
        dir: PathBuf,
    },
    /// Run the points whose indices come on stdin, one per line (the local pool's workers).
    #[command(hide = true)]
    Worker {
        /// The sweep directory.
        dir: PathBuf,
    },
    /// Run one point (what Ray tasks and Slurm array tasks run).
    #[command(hide = true)]
    RunPoint {
        /// The sweep directory.
        dir: PathBuf,
        /// The point's index.
        #[arg(long)]
        index: usize,
    },
}

#[derive(Subcommand)]
enum ReproduceCmd {
    /// DIRS (Jiang et al.): Table II, Table III (DIRS, Actor-Critic, DDPG), Figs. 5-10 (CSV, PNG, SVG).
    Dirs {
        /// Fewer points and shorter training (about a minute on a 2-core CPU).
        #[arg(long)]
        quick: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The `mec` constants: mecrl (default) or calibrated (to Table III; docs/mec.md "Profiles").
        #[arg(long, default_value = "mecrl")]
        profile: String,
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
    /// MRLCO (Wang et al.): Table 3 (heuristics, fine-tuning DRL and MRLCO after 0/20/100
    /// adaptation steps) and Figs. 6-8 (CSV, PNG, SVG) for the three experiments.
    Mrlco {
        /// A smaller network, fewer graphs, iterations and steps (under 3 minutes on 2 cores).
        #[arg(long)]
        quick: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (its `work/` holds the resumable state).
        #[arg(long)]
        out: Option<PathBuf>,
        /// auto, cpu, wgpu or cuda.
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Mixed MAPPO (Yao et al.): Table III, Figs. 3-6 (training and test unit delay, critic
    /// loss, load rates per kind of unit) for cases I-III, learners beside drift-plus-penalty
    /// and Random (CSV, markdown, PNG, SVG).
    Mappo {
        /// 6 episodes of 200 slots on 2 instances per learner and case (under 3 minutes on 2 cores).
        #[arg(long)]
        quick: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (its `work/` holds the resumable state).
        #[arg(long)]
        out: Option<PathBuf>,
        /// auto, cpu, wgpu or cuda.
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// O2O-DRL (Lin et al.): Fig. 3 (success rate across the offline -> online switch, with
    /// online-only's cold start), Fig. 4 (by log source), Fig. 5a-c (task size, arrival
    /// probability, failure rate), Fig. 6 (nodes) for O2O, offline-only, online-only, RATC, RDA
    /// and Random (CSV, markdown, PNG, SVG).
    O2o {
        /// One point per figure beside the default, 8,000 offline steps and 20 online updates
        /// (under 3 minutes on 2 cores).
        #[arg(long)]
        quick: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (its `work/` holds the resumable state).
        #[arg(long)]
        out: Option<PathBuf>,
        /// auto, cpu, wgpu or cuda.
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// CRB-DRQN (Mao et al.): Fig. 4 (training reward, convergence episode and time vs D),
    /// Fig. 5a-b (delay and failure rate vs D = 5..35), Fig. 6a-b (vs arrival rate 1.0-3.0
    /// Mbit/s) for the learners beside Local, Random and Greedy (CSV, markdown, PNG, SVG).
    Crbdrqn {
        /// D in {5, 25}, rates {1.0, 3.0} Mbit/s, 40 episodes per learner and point (under 3
        /// minutes on 2 cores).
        #[arg(long)]
        quick: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (its `work/` holds the resumable state).
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
        /// Uplink and downlink rate (Mbps); 8.5 as in configs/dag.toml and `dag plan` (the middle
        /// test rate of the MRLCO paper's experiment 3).
        #[arg(long, default_value_t = 8.5)]
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
    /// A trained MRLCO policy's offloading plans for DOT files (greedy decoding, one batch), each
    /// graph's latency next to the heuristics'; writes a CSV and reports decisions per second.
    Plan {
        /// The policy: a checkpoint of `mecrl run`/`reproduce mrlco` (`*.safetensors`).
        #[arg(long)]
        policy: PathBuf,
        /// Directory of DAGGEN DOT files (`*.gv` or `*.dot`).
        #[arg(long)]
        dot: PathBuf,
        /// `reference` (the published implementation) or `paper` (eq. 5–8).
        #[arg(long, default_value = "reference")]
        semantics: String,
        /// Uplink and downlink rate (Mbps).
        #[arg(long, default_value_t = 8.5)]
        rate: f64,
        /// Output CSV (default: DIR/plans.csv).
        #[arg(long)]
        out: Option<PathBuf>,
        /// auto, cpu, wgpu or cuda.
        #[arg(long, default_value = "cpu")]
        backend: String,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(m) = &cli.max_memory {
        if mecrl::memory::parse_size(m).is_none() {
            eprintln!(
                "error: invalid config: `--max-memory` = {m}: expected a size such as 8G, 512M or a number of bytes"
            );
            return ExitCode::from(2);
        }
        // Before any thread starts; sweep workers and Ray/Slurm tasks inherit it.
        std::env::set_var(mecrl::memory::ENV_MAX_MEMORY, m);
    }
    let res = match cli.cmd {
        Cmd::Run { config, backend, seed, out, quiet, case, memory } => {
            cmd_run(&config, backend, seed, out, quiet, case, memory)
        }
        Cmd::Reproduce { what: ReproduceCmd::Dirs { quick, seed, profile, out, backend, quiet } } => {
            cmd_reproduce_dirs(quick, seed, &profile, out, &backend, quiet)
        }
        Cmd::Reproduce { what: ReproduceCmd::Mrlco { quick, seed, out, backend, quiet } } => {
            cmd_reproduce_mrlco(quick, seed, out, &backend, quiet)
        }
        Cmd::Reproduce { what: ReproduceCmd::Mappo { quick, seed, out, backend, quiet } } => {
            cmd_reproduce_mappo(quick, seed, out, &backend, quiet)
        }
        Cmd::Reproduce { what: ReproduceCmd::O2o { quick, seed, out, backend, quiet } } => {
            cmd_reproduce_o2o(quick, seed, out, &backend, quiet)
        }
        Cmd::Reproduce { what: ReproduceCmd::Crbdrqn { quick, seed, out, backend, quiet } } => {
            cmd_reproduce_crbdrqn(quick, seed, out, &backend, quiet)
        }
        Cmd::Devices => cmd_devices(),
        Cmd::Sweep(a) => cmd_sweep(a),
        Cmd::Endedge { what: EndedgeCmd::Trace(a) } => {
            let mut bar = Progress::new("endedge trace", a.slots as u64, false);
            let n = a.run(&mut |k| bar.inc(k));
            bar.finish();
            n.map(|n| println!("{n} tasks written")).map_err(Into::into)
        }
        Cmd::Bench { what } => bench::run(&what).map_err(Into::into),
        Cmd::Coop { what: CoopCmd::Log(a) } => cmd_coop_log(&a),
        Cmd::Dag { what: DagCmd::Plan { policy, dot, semantics, rate, out, backend } } => {
            cmd_dag_plan(&policy, &dot, &semantics, rate, out, &backend)
        }
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
            dag_dot::generate(&cfg, count, seed, &out).map(|r| print!("{r}")).map_err(Into::into)
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render(&e));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes on one line, each cause once: mecrl's errors already quote their
/// source (`path: No such file or directory`), which `{:#}` would print a second time.
fn render(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        let t = cause.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
    }
    s
}

fn cmd_run(
    path: &Path,
    backend: Option<String>,
    seed: Option<u64>,
    out: Option<PathBuf>,
    quiet: bool,
    case: Option<String>,
    memory: bool,
) -> anyhow::Result<()> {
    let mut cfg = AnyConfig::load(path)?;
    cfg.override_with(backend, seed, out, case)?;
    if memory {
        let need = cfg.memory();
        println!("{:<32} {:>12}  what", "field = value", "bytes");
        for p in &need.parts {
            println!("{:<32} {:>12}  {}", format!("{} = {}", p.field, p.value), mecrl::memory::human(p.bytes), p.what);
        }
        println!("{:<32} {:>12}  the program itself", "", mecrl::memory::human(mecrl::memory::BASE));
        println!("{:<32} {:>12}", "total", mecrl::memory::human(need.total()));
        match mecrl::memory::budget()? {
            Some(b) => println!("limit: {} ({})", mecrl::memory::human(b.bytes), b.source),
            None => println!("limit: unknown here (nothing is refused by estimate)"),
        }
        return Ok(());
    }
    cfg.check_memory()?;
    let be = pick_backend(cfg.backend())?;
    let mut bar = Progress::new(&format!("run {}", path.display()), cfg.work_units(), quiet);
    let done =
        mecrl::experiment::finish::run_to_dir(&cfg, Some(path), std::env::args().collect(), be, &mut |k| bar.inc(k))?;
    bar.finish();
    print!("{}", done.table);
    match &done.name_taken {
        Some(t) => println!("run directory: {} ({} exists; a rerun never overwrites)", done.dir.display(), t.display()),
        None => println!("run directory: {}", done.dir.display()),
    }
    Ok(())
}

fn cmd_reproduce_dirs(
    quick: bool,
    seed: u64,
    profile: &str,
    out: Option<PathBuf>,
    backend: &str,
    quiet: bool,
) -> anyhow::Result<()> {
    use mecrl::experiment::dirs_reproduce as dirs;
    let (profile, be) = (mecrl::env::mec::MecProfile::parse(profile)?, pick_backend(backend)?);
    let tail = if profile == Default::default() { String::new() } else { format!("-{}", profile.name()) };
    let dir = out.unwrap_or_else(|| format!("runs/reproduce-dirs{}{tail}", if quick { "-quick" } else { "" }).into());
    let mut bar = Progress::new("reproduce dirs", dirs::reproduce_work_units(quick, seed, profile), quiet);
    let t0 = Instant::now();
    let md = dirs::reproduce(quick, seed, profile, &dir, be, &mut |k| bar.inc(k))?;
    bar.finish();
    print!("{md}");
    println!("\nwall time {:.1} s; tables, figures and summary.md in {}", t0.elapsed().as_secs_f64(), dir.display());
    Ok(())
}

fn cmd_reproduce_mrlco(quick: bool, seed: u64, out: Option<PathBuf>, backend: &str, quiet: bool) -> anyhow::Result<()> {
    use mecrl::experiment::mrlco;
    let be = pick_backend(backend)?;
    let dir =
        out.unwrap_or_else(|| PathBuf::from(if quick { "runs/reproduce-mrlco-quick" } else { "runs/reproduce-mrlco" }));
    let cfg = mrlco::paper_config(quick, seed)?;
    AnyConfig::Mrlco(cfg.clone()).check_memory()?;
    let mut bar = Progress::new("reproduce mrlco", mrlco::work_units(&cfg), quiet);
    let t0 = Instant::now();
    let md = mrlco::reproduce(&cfg, &dir, be, &mut |k| bar.inc(k))?;
    bar.finish();
    print!("{md}");
    println!("\nwall time {:.1} s; tables, figures and summary.md in {}", t0.elapsed().as_secs_f64(), dir.display());
    Ok(())
}

fn cmd_reproduce_mappo(quick: bool, seed: u64, out: Option<PathBuf>, backend: &str, quiet: bool) -> anyhow::Result<()> {
    use mecrl::experiment::mappo;
    let be = pick_backend(backend)?;
    let dir =
        out.unwrap_or_else(|| PathBuf::from(if quick { "runs/reproduce-mappo-quick" } else { "runs/reproduce-mappo" }));
    let cfg = mappo::paper_config(quick, seed)?;
    AnyConfig::Mappo(cfg.clone()).check_memory()?;
    let mut bar = Progress::new("reproduce mappo", cfg.work_units(), quiet);
    let t0 = Instant::now();
    let md = mappo::reproduce(&cfg, &dir, be, &mut |k| bar.inc(k))?;
    bar.finish();
    print!("{md}");
    println!("\nwall time {:.1} s; tables, figures and summary.md in {}", t0.elapsed().as_secs_f64(), dir.display());
    Ok(())
}

fn cmd_reproduce_crbdrqn(
    quick: bool,
    seed: u64,
    out: Option<PathBuf>,
    backend: &str,
    quiet: bool,
) -> anyhow::Result<()> {
    use mecrl::experiment::crbdrqn;
    let be = pick_backend(backend)?;
    let dir = out.unwrap_or_else(|| {
        PathBuf::from(if quick { "runs/reproduce-crbdrqn-quick" } else { "runs/reproduce-crbdrqn" })
    });
    let cfg = crbdrqn::paper_config(quick, seed)?;
    AnyConfig::Crbdrqn(cfg.clone()).check_memory()?;
    let mut bar = Progress::new("reproduce crbdrqn", cfg.work_units(), quiet);
    let t0 = Instant::now();
    let md = crbdrqn::reproduce(&cfg, &dir, be, &mut |k| bar.inc(k))?;
    bar.finish();
    print!("{md}");
    println!("\nwall time {:.1} s; tables, figures and summary.md in {}", t0.elapsed().as_secs_f64(), dir.display());
    Ok(())
}

fn cmd_reproduce_o2o(quick: bool, seed: u64, out: Option<PathBuf>, backend: &str, quiet: bool) -> anyhow::Result<()> {
    use mecrl::experiment::o2o;
    let be = pick_backend(backend)?;
    let dir =
        out.unwrap_or_else(|| PathBuf::from(if quick { "runs/reproduce-o2o-quick" } else { "runs/reproduce-o2o" }));
    let cfg = o2o::paper_config(quick, seed)?;
    AnyConfig::O2o(cfg.clone()).check_memory()?;
    let mut bar = Progress::new("reproduce o2o", cfg.work_units(), quiet);
    let t0 = Instant::now();
    let md = o2o::reproduce(&cfg, &dir, be, &mut |k| bar.inc(k))?;
    bar.finish();
    print!("{md}");
    println!("\nwall time {:.1} s; tables, figures and summary.md in {}", t0.elapsed().as_secs_f64(), dir.display());
    Ok(())
}

fn cmd_devices() -> anyhow::Result<()> {
    for (kind, r) in backend::probe_all() {
        match r {
            Ok(d) => println!("{:<10} ok   {d}", kind.to_string()),
            Err(e) => println!("{:<10} no   {e}", kind.to_string()),
        }
    }
    match backend::select(BackendChoice::Auto) {
        Ok((b, _)) => println!("{:<10} ->   {}", "auto", b.kind()),
        Err(e) => println!("{:<10} ->   error: {e}", "auto"),
    }
    Ok(())
}

fn cmd_dag_baselines(
    dir: &Path,
    semantics: &str,
    rate: f64,
    out: Option<PathBuf>,
    no_optimal: bool,
    heft: &str,
) -> anyhow::Result<()> {
    let sys = dag_dot::baseline_system(semantics, heft, rate)?;
    let files = dag_dot::dot_files(dir)?;
    let out = out.unwrap_or_else(|| dir.join("baselines.csv"));
    let mut bar = Progress::new("dag baselines", files.len() as u64, false);
    let report = dag_dot::baselines(&files, &sys, no_optimal, &out, &mut || bar.inc(1))?;
    bar.finish();
    print!("{report}");
    Ok(())
}

fn cmd_dag_plan(
    policy: &Path,
    dir: &Path,
    semantics: &str,
    rate: f64,
    out: Option<PathBuf>,
    backend: &str,
) -> anyhow::Result<()> {
    let sys = dag_dot::baseline_system(semantics, "own-schedule", rate)?;
    let files = dag_dot::dot_files(dir)?;
    let out = out.unwrap_or_else(|| dir.join("plans.csv"));
    let be = pick_backend(backend)?;
    print!("{}", mecrl::experiment::mrlco::plan(policy, &files, &sys, be, &out)?);
    Ok(())
}

fn cmd_coop_log(a: &CoopLogArgs) -> anyhow::Result<()> {
    // The system: a `coop` run config's [coop] section, or the defaults; then --nodes.
    let mut cfg = match &a.config {
        Some(p) => match AnyConfig::load(p)? {
            AnyConfig::Coop(r) => r.coop,
            other => bail!("{}: a `coop` config is needed, this one is `{}`", p.display(), other.system()),
        },
        None => mecrl::env::coop::CoopConfig::default(),
    };
    cfg.n_nodes = a.nodes.unwrap_or(cfg.n_nodes);
    cfg.validate()?;
    let h = mecrl::env::coop::Heuristic::parse(&a.method)?;
    let be = pick_backend(&a.backend)?;
    let slots = a.episodes as u64 * cfg.episode_slots() as u64;
    let mut bar = Progress::new("coop log", slots, false);
    let run = mecrl::experiment::coop::LogRun { method: h, batch: a.batch, episodes: a.episodes, seed: a.seed };
    let done = mecrl::experiment::coop::write_log(&cfg, run, be, &a.out, &mut |k| bar.inc(k));
    bar.finish();
    let (rows, sr) = done?;
    println!("{}: {rows} transitions of {} ({} nodes), success rate {sr:.4}", a.out.display(), h.name(), cfg.n_nodes);
    Ok(())
}

fn cmd_sweep(a: SweepArgs) -> anyhow::Result<()> {
    use mecrl::experiment::sweep::{self, point, report, Ran};
    match a.what {
        Some(SweepCmd::RunPoint { dir, index }) => {
            match point::in_pool(|| point::run_point(&dir, index))? {
                point::Outcome::Ran(f) => eprintln!("point {index}: {} ({:.3} s)", f.dir.display(), f.wall_s),
                point::Outcome::AlreadyDone => eprintln!("point {index}: done already"),
            }
            return Ok(());
        }
        Some(SweepCmd::Worker { dir }) => {
            point::serve(&dir, std::io::BufReader::new(std::io::stdin()), std::io::stdout())?;
            return Ok(());
        }
        Some(SweepCmd::Report { dir }) => {
            let metrics = std::fs::read_to_string(dir.join("sweep.toml"))
                .ok()
                .and_then(|t| toml::from_str::<sweep::SweepFile>(&t).ok())
                .map(|f| f.report.metrics)
                .unwrap_or_default();
            let r = report::write(&dir, &metrics)?;
            print!("{}", r.markdown);
            if let Some(e) = &r.figures_error {
                eprintln!("warning: the figures were not drawn: {e}");
            }
            println!(
                "report: {} ({} done, {} failed, {} not run)",
                dir.join("report").display(),
                r.done,
                r.failed,
                r.missing
            );
            return Ok(());
        }
        Some(SweepCmd::Status { dir }) => {
            let sd = sweep::SweepDir::new(&dir);
            let plan = sd.read_plan()?.ok_or_else(|| anyhow::anyhow!("{}: holds no sweep.json", dir.display()))?;
            print!("{}", sweep::slurm::status(&plan, &sd)?);
            return Ok(());
        }
        None => {}
    }
    let Some(file) = a.file else { bail!("mecrl sweep: give a sweep file (SWEEP.toml), or report/status DIR") };
    let s = sweep::Sweep::load(&file, a.executor.as_deref(), a.out.as_deref())?;
    if a.dry_run {
        print!("{}", s.listing());
        return Ok(());
    }
    let opts = sweep::Options { workers: a.workers, ray_address: a.ray_address, wait: a.wait, quiet: a.quiet };
    match sweep::run(&s, &opts)? {
        Ran::Submitted { job: None, .. } => println!("every point is done already"),
        Ran::Submitted { job: Some(id), points } => println!(
            "submitted Slurm job array {id} ({points} points); follow it with `mecrl sweep status {}`, then `mecrl sweep report {}`",
            s.file.dir().display(),
            s.file.dir().display()
        ),
        Ran::Finished { summary: sm, workers, report } => {
            println!(
                "{} points: {} done before, {} ran, {} failed, in {:.1} s",
                sm.total,
                sm.already,
                sm.ran,
                sm.failed.len(),
                sm.wall_s
            );
            if workers > 0 && sm.ran > 0 {
                println!(
                    "{workers} workers: the runs took {:.1} s of {:.1} worker-seconds (outside the runs: {:.1} %)",
                    sm.runs_s,
                    workers as f64 * sm.wall_s,
                    100.0 * sm.overhead(workers)
                );
            }
            if let Some(r) = report {
                println!("report: {}", s.file.dir().join("report").join("summary.md").display());
                if let Some(e) = r.figures_error {
                    eprintln!("warning: the report's figures were not drawn: {e}");
                }
            }
            if !sm.failed.is_empty() {
                for (i, e) in &sm.failed {
                    eprintln!("point {i} failed: {e}");
                }
                bail!("{} of {} points failed (rerun the sweep to retry them)", sm.failed.len(), sm.total);
            }
        }
    }
    Ok(())
}
