//! The `local` executor: a pool of worker processes on this machine, each running one point
//! (`mecrl sweep run-point`) at a time, with a progress bar of points done / running / failed.
//!
//! Points run in their own processes so that one point's abort or memory cannot take the sweep
//! down, and a killed sweep leaves only complete run directories behind. Each worker is waited
//! on by a thread that reports its exit on a channel: the pool starts the next point the moment
//! one ends (no polling delay between points).

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use super::plan::{Plan, State, SweepDir};
use super::Summary;
use crate::error::{Error, Result};
use crate::experiment::progress::Progress;

/// How the pool runs.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Worker processes at once.
    pub workers: usize,
    /// RAYON_NUM_THREADS of each worker.
    pub threads: usize,
    /// Extra tries of a failed point.
    pub retries: u32,
    /// No progress bar or lines.
    pub quiet: bool,
}

/// The `mecrl sweep run-point` command of point `index` (this binary).
pub fn worker_command(exe: &Path, dir: &Path, index: usize, threads: usize) -> Command {
    let mut c = Command::new(exe);
    c.arg("sweep").arg("run-point").arg(dir).arg("--index").arg(index.to_string());
    c.env("RAYON_NUM_THREADS", threads.to_string());
    c
}

/// Run every point of `plan` not yet done, on `pool.workers` processes of `exe`.
pub fn run(plan: &Plan, sd: &SweepDir, exe: &Path, pool: &Pool) -> Result<Summary> {
    let t0 = Instant::now();
    let mut queue: VecDeque<usize> =
        plan.points.iter().filter(|p| sd.state(p) != State::Done).map(|p| p.index).collect();
    let already = plan.points.len() - queue.len();
    let logs = sd.root.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let mut bar = Progress::new(&format!("sweep {}", plan.name), queue.len() as u64, pool.quiet);
    let (tx, rx) = mpsc::channel::<(usize, std::io::Result<ExitStatus>)>();
    let mut tries = vec![0u32; plan.points.len()];
    let (mut running, mut ran, mut runs_s) = (0usize, 0usize, 0.0f64);
    let mut failed: Vec<(usize, String)> = vec![];
    loop {
        while running < pool.workers.max(1) {
            let Some(i) = queue.pop_front() else { break };
            let p = &plan.points[i];
            let log = std::fs::File::create(sd.log(p)).map_err(|e| Error::io(sd.log(p), e))?;
            let mut cmd = worker_command(exe, &sd.root, i, pool.threads);
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log));
            let mut child = cmd.spawn().map_err(|e| Error::io(exe, e))?;
            let tx = tx.clone();
            std::thread::spawn(move || {
                let st = child.wait();
                let _ = tx.send((i, st));
            });
            tries[i] += 1;
            running += 1;
        }
        bar.set_message(&format!("{running} running, {} failed", failed.len()));
        if running == 0 {
            break;
        }
        let (i, st) = rx.recv().map_err(|_| Error::config("executor", "local", "the worker pool lost a worker"))?;
        running -= 1;
        let p = &plan.points[i];
        let ok = matches!(st, Ok(s) if s.success());
        if ok && sd.state(p) == State::Done {
            ran += 1;
            runs_s += run_wall_s(sd, &p.hash);
            bar.inc(1);
            continue;
        }
        let why = match &st {
            Ok(s) if s.success() => "the worker exited without a complete run directory".to_string(),
            Ok(s) => last_error(&sd.log(p)).unwrap_or_else(|| describe_exit(s)),
            Err(e) => format!("could not wait for the worker: {e}"),
        };
        // A worker that died without recording its failure (killed, aborted) is recorded here.
        if !matches!(st, Ok(s) if s.code() == Some(2)) {
            sd.record_failure(i, &p.hash, &why)?;
        }
        if tries[i] <= pool.retries {
            queue.push_back(i);
        } else {
            failed.push((i, why));
            bar.inc(1);
        }
    }
    bar.finish();
    failed.sort();
    Ok(Summary { total: plan.points.len(), already, ran, failed, wall_s: t0.elapsed().as_secs_f64(), runs_s })
}

/// The run's own wall time from its manifest (0 when unreadable).
pub(crate) fn run_wall_s(sd: &SweepDir, hash: &str) -> f64 {
    std::fs::read(sd.point(hash).join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| m["wall_s"].as_f64())
        .unwrap_or(0.0)
}

/// The last `error: …` line a worker wrote to its log.
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| l.strip_prefix("error: ")).map(str::to_string)
}

fn describe_exit(s: &ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("the worker was killed by signal {sig}");
        }
    }
    format!("the worker exited with {s}")
}
