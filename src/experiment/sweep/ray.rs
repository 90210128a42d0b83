//! The `ray` executor: each point a Ray task on an existing cluster. mecrl writes the driver
//! (`tools/sweep_ray.py`, compiled into the binary) into the sweep directory and runs it with the
//! Python that has `ray`; the driver submits one task per point (each runs `mecrl sweep
//! run-point` on whichever node Ray picks; Ray retries a task whose worker dies) and reports
//! each end as a JSON line, which drives the progress bar here.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::plan::{run_wall_s, Plan, State, Summary, SweepDir};
use super::spec::RaySpec;
use crate::error::{Error, Result};
use crate::experiment::common::write_atomic;
use crate::experiment::progress::Progress;

/// The driver script.
pub const DRIVER: &str = include_str!("../../../tools/sweep_ray.py");

/// Run the points not yet done as Ray tasks on the cluster at `address`.
pub fn run(
    plan: &Plan,
    sd: &SweepDir,
    spec: &RaySpec,
    address: &str,
    mecrl: &Path,
    retries: u32,
    quiet: bool,
) -> Result<Summary> {
    let t0 = Instant::now();
    let todo: Vec<usize> = plan.points.iter().filter(|p| sd.state(p) != State::Done).map(|p| p.index).collect();
    let already = plan.points.len() - todo.len();
    let mut sum = Summary { total: plan.points.len(), already, ..Default::default() };
    if todo.is_empty() {
        return Ok(sum);
    }
    let dir = std::path::absolute(&sd.root).map_err(|e| Error::io(&sd.root, e))?;
    let driver = dir.join("ray").join("sweep_ray.py");
    std::fs::create_dir_all(dir.join("ray")).map_err(|e| Error::io(dir.join("ray"), e))?;
    write_atomic(&driver, DRIVER.as_bytes())?;
    let indices: Vec<String> = todo.iter().map(|i| i.to_string()).collect();
    let log = dir.join("ray").join("driver.log");
    let log_file = std::fs::File::create(&log).map_err(|e| Error::io(&log, e))?;
    let mut child = Command::new(&spec.python)
        .arg(&driver)
        .args(["--address", address, "--mecrl"])
        .arg(mecrl)
        .arg("--dir")
        .arg(&dir)
        .args(["--indices", &indices.join(","), "--retries", &retries.to_string()])
        .args(["--cpus-per-point", &spec.cpus_per_point.to_string()])
        .arg("--cwd")
        .arg(&plan.cwd)
        .current_dir(&plan.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .map_err(|e| Error::config("ray.python", &spec.python, format!("cannot start the Ray driver: {e}")))?;
    let mut bar = Progress::new(&format!("sweep {} (ray {address})", plan.name), todo.len() as u64, quiet);
    let stdout = child.stdout.take().ok_or_else(|| Error::config("ray.python", &spec.python, "no stdout"))?;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // The driver's stdout carries only its JSON events (Ray's own output goes to stderr).
        let Ok(ev) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        let index = ev["index"].as_u64().map(|i| i as usize);
        match (ev["event"].as_str(), index) {
            (Some("done"), Some(i)) if i < plan.points.len() => {
                sum.ran += 1;
                sum.runs_s += run_wall_s(sd, &plan.points[i].hash);
                bar.inc(1);
            }
            (Some("failed"), Some(i)) if i < plan.points.len() => {
                let err = ev["stderr"].as_str().unwrap_or("the Ray task failed").trim().to_string();
                let err = err.lines().rev().find_map(|l| l.strip_prefix("error: ")).unwrap_or(&err).to_string();
                let p = &plan.points[i];
                // A worker that exited with 2 recorded its error itself; a killed one did not.
                if ev["rc"].as_i64() != Some(2) {
                    sd.record_failure(i, &p.hash, &err)?;
                }
                if ev["final"].as_bool().unwrap_or(true) {
                    sum.failed.push((i, err));
                    bar.inc(1);
                }
            }
            _ => {}
        }
        bar.set_message(&format!("{} failed", sum.failed.len()));
    }
    let st = child.wait().map_err(|e| Error::io(&driver, e))?;
    bar.finish();
    if st.code() == Some(3) || (sum.ran + sum.failed.len() == 0 && !st.success()) {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(5).collect();
        return Err(Error::config(
            "--ray-address",
            address,
            format!(
                "the Ray driver failed ({st}); {}: {}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        ));
    }
    sum.failed.sort();
    sum.wall_s = t0.elapsed().as_secs_f64();
    Ok(sum)
}
