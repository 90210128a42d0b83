//! `mecrl sweep`: hundreds of configurations × seeds of any system, each point an ordinary run
//! directory named by the hash of its config, run by a local process pool, Ray tasks or a Slurm
//! job array, resumable, and aggregated into a report (docs/sweeps.md).
//!
//! A sweep directory (`out_dir/name/`) holds
//! - `sweep.toml` (the file as given), `sweep.json` (the plan: every point's axes, seed, hash),
//!   `configs/<index>.toml` (each point's resolved config, what its worker reads);
//! - `points/<hash>/`: the run directories (results, `manifest.json`), each renamed into place
//!   when complete; `points/.<hash>.lock`: held by the worker running the point;
//! - `failed/<hash>.json`: the last error of a point that failed, with its number of tries;
//! - `logs/`: each point's stderr; `slurm/`: the array script and job ids; `report/`.

pub mod local;
pub mod plan;
pub mod point;
pub mod ray;
pub mod report;
pub mod slurm;
pub mod spec;
pub mod stats;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use plan::{counts, Plan, State, Summary, SweepDir, SweepLock};
pub use spec::SweepFile;

/// A sweep file, loaded and resolved, with the overrides of the command line.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The file.
    pub file: SweepFile,
    /// Its path.
    pub path: PathBuf,
    /// Every point.
    pub plan: Plan,
    /// Seconds spent reading the file and resolving the points.
    pub resolve_s: f64,
}

impl Sweep {
    /// Read the sweep file, apply `executor` / `out_dir` overrides, resolve and check every point.
    pub fn load(path: &Path, executor: Option<&str>, out_dir: Option<&Path>) -> Result<Self> {
        let t0 = std::time::Instant::now();
        let mut file = SweepFile::load(path)?;
        if let Some(e) = executor {
            file.executor = e.to_string();
        }
        if let Some(o) = out_dir {
            file.out_dir = o.to_path_buf();
        }
        file.validate()?;
        let plan = Plan::resolve(&file, path)?;
        Ok(Sweep { file, path: path.to_path_buf(), plan, resolve_s: t0.elapsed().as_secs_f64() })
    }

    /// The sweep directory.
    pub fn dir(&self) -> SweepDir {
        SweepDir::new(self.file.dir())
    }

    /// The points as a table (`--dry-run`): index, hash, seed, the axes' values, state.
    pub fn listing(&self) -> String {
        let sd = self.dir();
        let mut s = format!("{:>6}  {:<16}  {:>6}  {:<8}  values\n", "index", "hash", "seed", "state");
        for p in &self.plan.points {
            let state = match sd.state(p) {
                State::Done => "done",
                State::Failed => "failed",
                State::Missing => "to run",
            };
            let vals: Vec<String> = p.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            s.push_str(&format!("{:>6}  {:<16}  {:>6}  {:<8}  {}\n", p.index, p.hash, p.seed, state, vals.join(", ")));
        }
        s.push_str(&format!(
            "{} points of the `{}` system into {}\n",
            self.plan.points.len(),
            self.plan.system,
            sd.root.display()
        ));
        s
    }

    /// Take the directory's lock, write (or check) the plan and copy the sweep file in.
    pub fn prepare(&self) -> Result<SweepLock> {
        let sd = self.dir();
        let lock = SweepLock::take(&sd)?;
        sd.adopt(&self.plan)?;
        let copy = sd.root.join("sweep.toml");
        let text = std::fs::read(&self.path).map_err(|e| Error::io(&self.path, e))?;
        crate::experiment::common::write_atomic(&copy, &text)?;
        Ok(lock)
    }

    /// Do the points use a GPU here? `auto` is resolved once, as a worker would resolve it.
    pub fn uses_gpu(&self) -> bool {
        let backends: std::collections::BTreeSet<String> = self
            .plan
            .points
            .iter()
            .filter_map(|p| toml::from_str::<toml::Table>(&p.config).ok())
            .map(|t| t.get("backend").and_then(|v| v.as_str()).unwrap_or("auto").to_string())
            .collect();
        backends.iter().any(|b| match b.as_str() {
            "cpu" => false,
            "auto" => crate::backend::select(crate::backend::BackendChoice::Auto)
                .is_ok_and(|(be, _)| be.kind() != crate::backend::BackendKind::Cpu),
            _ => true,
        })
    }

    /// The local pool's size: `[local] workers`, else the cores / threads (one on a GPU).
    pub fn local_pool(&self, workers: Option<usize>, quiet: bool) -> local::Pool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let gpu = self.uses_gpu();
        let threads = match self.file.local.threads {
            0 => 1,
            t => t,
        };
        let workers = workers.filter(|w| *w > 0).unwrap_or(match self.file.local.workers {
            0 if gpu => 1,
            0 => (cores / threads).max(1),
            w => w,
        });
        // A single worker may use every core.
        let threads = if workers == 1 && self.file.local.threads == 0 { cores } else { threads };
        local::Pool { workers, threads, retries: self.file.retries, quiet }
    }
}

/// The command line's choices for one `mecrl sweep`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--workers` (local).
    pub workers: Option<usize>,
    /// `--ray-address` (ray).
    pub ray_address: Option<String>,
    /// `--wait` (slurm): return when the array has ended.
    pub wait: bool,
    /// No progress bar.
    pub quiet: bool,
}

/// What a sweep did, for the command line.
#[derive(Clone, Debug)]
pub enum Ran {
    /// The points ran here or on Ray (or the Slurm array was waited for).
    Finished {
        /// Counts and times.
        summary: Summary,
        /// Worker processes (local) or 0.
        workers: usize,
        /// The report, when written (always, even with failed points).
        report: Option<report::ReportOut>,
    },
    /// A Slurm array was submitted (or nothing was left to run).
    Submitted {
        /// The job id; None when every point was done already.
        job: Option<String>,
        /// Points in the array.
        points: usize,
    },
}

/// Run `sweep` with its executor: the points not yet done, then the report.
pub fn run(sweep: &Sweep, opts: &Options) -> Result<Ran> {
    let t0 = std::time::Instant::now();
    let sd = sweep.dir();
    let _lock = sweep.prepare()?;
    let exe = std::env::current_exe().map_err(|e| Error::io("current_exe", e))?;
    let bin = |configured: &str| if configured.is_empty() { exe.clone() } else { PathBuf::from(configured) };
    let (summary, workers) = match sweep.file.executor.as_str() {
        "local" => {
            let pool = sweep.local_pool(opts.workers, opts.quiet);
            (local::run(&sweep.plan, &sd, &exe, &pool)?, pool.workers)
        }
        "ray" => {
            let address = opts.ray_address.clone().unwrap_or_else(|| sweep.file.ray.address.clone());
            let mecrl = bin(&sweep.file.ray.mecrl);
            (ray::run(&sweep.plan, &sd, &sweep.file.ray, &address, &mecrl, sweep.file.retries, opts.quiet)?, 0)
        }
        _ => {
            let mecrl = bin(&sweep.file.slurm.mecrl);
            let todo = sweep.plan.points.iter().filter(|p| sd.state(p) != State::Done).count();
            let t0 = std::time::Instant::now();
            let job = slurm::submit(&sweep.plan, &sd, &sweep.file.slurm, &mecrl, sweep.file.retries)?;
            let Some(id) = job.clone().filter(|_| opts.wait) else { return Ok(Ran::Submitted { job, points: todo }) };
            slurm::wait(&sweep.plan, &sd, &id, todo, opts.quiet)?;
            let (done, _, _) = counts(&sweep.plan, &sd);
            let failed: Vec<(usize, String)> = sweep
                .plan
                .points
                .iter()
                .filter(|p| sd.state(p) != State::Done)
                .map(|p| {
                    let why = sd.read_failure(p).ok().flatten().map_or("not run".to_string(), |f| f.error);
                    (p.index, why)
                })
                .collect();
            let s = Summary {
                total: sweep.plan.points.len(),
                already: sweep.plan.points.len() - todo,
                ran: done + todo - sweep.plan.points.len(),
                failed,
                wall_s: t0.elapsed().as_secs_f64(),
                runs_s: 0.0,
            };
            (s, 0)
        }
    };
    let report = Some(report::write(&sd.root, &sweep.file.report.metrics)?);
    let mut summary = summary;
    if workers > 0 {
        summary.wall_s = sweep.resolve_s + t0.elapsed().as_secs_f64();
    }
    Ok(Ran::Finished { summary, workers, report })
}
