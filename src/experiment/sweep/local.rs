//! The `local` executor: a pool of worker processes on this machine (`mecrl sweep worker`),
//! each given one point index after another on its stdin, with a progress bar of points done /
//! running / failed.
//!
//! Points run in worker processes, not in the sweep's, so that a point's abort or memory cannot
//! take the sweep down, and a killed sweep leaves only complete run directories behind. A
//! worker lives for many points (a process start and the backend's start are paid once per
//! worker, not per point); one that dies is replaced, and its point is recorded as failed and
//! tried again. A thread per worker reads its replies into one channel: the pool hands out the
//! next point the moment one ends.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use super::plan::{run_wall_s, Plan, State, Summary, SweepDir};
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

/// What a worker's reader thread reports.
enum Event {
    /// Worker `w` finished point `i`: Ok, or the error it reported.
    Point(usize, usize, std::result::Result<(), String>),
    /// Worker `w`'s output ended: it exited or died.
    Gone(usize),
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The point it runs.
    busy: Option<usize>,
}

fn spawn(exe: &Path, sd: &SweepDir, w: usize, threads: usize, tx: &mpsc::Sender<Event>) -> Result<Worker> {
    let log_path = sd.root.join("logs").join(format!("worker-{w}.log"));
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let mut child = Command::new(exe)
        .arg("sweep")
        .arg("worker")
        .arg(&sd.root)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| Error::io(exe, e))?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().ok_or_else(|| Error::config("executor", "local", "a worker has no stdout"))?;
    let tx = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut parts = line.splitn(3, ' ');
            let (kind, i) = (parts.next(), parts.next().and_then(|x| x.parse::<usize>().ok()));
            let ev = match (kind, i) {
                (Some("done"), Some(i)) => Event::Point(w, i, Ok(())),
                (Some("failed"), Some(i)) => Event::Point(w, i, Err(parts.next().unwrap_or("").to_string())),
                _ => continue,
            };
            if tx.send(ev).is_err() {
                return;
            }
        }
        let _ = tx.send(Event::Gone(w));
    });
    Ok(Worker { child, stdin, busy: None })
}

/// Run every point of `plan` not yet done, on `pool.workers` worker processes of `exe`.
pub fn run(plan: &Plan, sd: &SweepDir, exe: &Path, pool: &Pool) -> Result<Summary> {
    let t0 = Instant::now();
    let mut queue: VecDeque<usize> =
        plan.points.iter().filter(|p| sd.state(p) != State::Done).map(|p| p.index).collect();
    let already = plan.points.len() - queue.len();
    let logs = sd.root.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let mut bar = Progress::new(&format!("sweep {}", plan.name), queue.len() as u64, pool.quiet);
    let (tx, rx) = mpsc::channel::<Event>();
    let n = pool.workers.max(1).min(queue.len());
    let mut workers: Vec<Option<Worker>> = (0..n).map(|_| None).collect();
    let mut tries = vec![0u32; plan.points.len()];
    let (mut ran, mut runs_s) = (0usize, 0.0f64);
    let mut failed: Vec<(usize, String)> = vec![];
    loop {
        // Hand a point to every idle worker (starting workers as needed).
        for (w, slot) in workers.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|x| x.busy.is_some()) {
                continue;
            }
            let Some(i) = queue.pop_front() else { break };
            let wk = match slot {
                Some(wk) => wk,
                None => slot.insert(spawn(exe, sd, w, pool.threads, &tx)?),
            };
            // A write that fails means the worker is gone: its reader thread reports that, and the
            // point goes back to the queue then.
            let _ = wk.stdin.as_mut().is_some_and(|s| writeln!(s, "{i}").and_then(|()| s.flush()).is_ok());
            wk.busy = Some(i);
            tries[i] += 1;
        }
        let running = workers.iter().filter(|w| w.as_ref().is_some_and(|x| x.busy.is_some())).count();
        bar.set_message(&format!("{running} running, {} failed", failed.len()));
        if running == 0 {
            break;
        }
        let ev = rx.recv().map_err(|_| Error::config("executor", "local", "the worker pool lost its workers"))?;
        let (i, outcome) = match ev {
            Event::Point(w, i, r) => {
                if let Some(wk) = workers[w].as_mut() {
                    wk.busy = None;
                }
                (i, r)
            }
            Event::Gone(w) => {
                let Some(mut wk) = workers[w].take() else { continue };
                drop(wk.stdin.take());
                let st = wk.child.wait().map_err(|e| Error::io(exe, e))?;
                let Some(i) = wk.busy else { continue };
                let why = describe_exit(&st);
                sd.record_failure(i, &plan.points[i].hash, &why)?;
                (i, Err(why))
            }
        };
        let p = &plan.points[i];
        match outcome {
            Ok(()) if sd.state(p) == State::Done => {
                ran += 1;
                runs_s += run_wall_s(sd, &p.hash);
                bar.inc(1);
                continue;
            }
            Ok(()) => {
                let why = "the worker reported the point done without a complete run directory";
                sd.record_failure(i, &p.hash, why)?;
                retry_or_fail(i, why.into(), &tries, pool.retries, &mut queue, &mut failed, &mut bar);
            }
            Err(why) => retry_or_fail(i, why, &tries, pool.retries, &mut queue, &mut failed, &mut bar),
        }
    }
    for wk in workers.iter_mut().flatten() {
        drop(wk.stdin.take());
        let _ = wk.child.wait();
    }
    bar.finish();
    failed.sort();
    Ok(Summary { total: plan.points.len(), already, ran, failed, wall_s: t0.elapsed().as_secs_f64(), runs_s })
}

fn retry_or_fail(
    i: usize,
    why: String,
    tries: &[u32],
    retries: u32,
    queue: &mut VecDeque<usize>,
    failed: &mut Vec<(usize, String)>,
    bar: &mut Progress,
) {
    if tries[i] <= retries {
        queue.push_back(i);
    } else {
        failed.push((i, why));
        bar.inc(1);
    }
}

fn describe_exit(s: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("the worker was killed by signal {sig}");
        }
    }
    format!("the worker exited with {s}")
}
