//! The `slurm` executor: one `sbatch` job array whose task `i` runs point `i` (only the points
//! not yet done are listed), with the `%` throttle, time and memory of `[slurm]`; each task tries
//! its point up to `retries + 1` times. `mecrl sweep status DIR` reads the points' states from
//! the directory and the array's tasks from `squeue`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::plan::{counts, Plan, State, SweepDir};
use super::spec::SlurmSpec;
use crate::error::{Error, Result};
use crate::experiment::common::write_atomic;

/// `0-3,5,7-9`: sorted indices as Slurm's array ranges.
pub fn array_ranges(idx: &[usize]) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && idx[j + 1] == idx[j] + 1 {
            j += 1;
        }
        if !s.is_empty() {
            s.push(',');
        }
        if j > i {
            let _ = write!(s, "{}-{}", idx[i], idx[j]);
        } else {
            let _ = write!(s, "{}", idx[i]);
        }
        i = j + 1;
    }
    s
}

/// A word for a shell script, single-quoted.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p, e))
}

/// The array script for `indices` of the sweep in `sd` (paths made absolute: the tasks may run
/// on other nodes, which must see them).
pub fn script(
    plan: &Plan,
    sd: &SweepDir,
    spec: &SlurmSpec,
    mecrl: &Path,
    indices: &[usize],
    retries: u32,
) -> Result<String> {
    let dir = absolute(&sd.root)?;
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(s, "#SBATCH --job-name=mecrl-{}", plan.name);
    let throttle = if spec.throttle > 0 { format!("%{}", spec.throttle) } else { String::new() };
    let _ = writeln!(s, "#SBATCH --array={}{throttle}", array_ranges(indices));
    let _ = writeln!(s, "#SBATCH --time={}", spec.time);
    let _ = writeln!(s, "#SBATCH --mem={}", spec.mem);
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", spec.cpus_per_task);
    let _ = writeln!(s, "#SBATCH --output={}/slurm/%A_%a.out", dir.display());
    let _ = writeln!(s, "#SBATCH --chdir={}", plan.cwd.display());
    if !spec.partition.is_empty() {
        let _ = writeln!(s, "#SBATCH --partition={}", spec.partition);
    }
    for x in &spec.extra {
        let _ = writeln!(s, "#SBATCH {x}");
    }
    let _ = writeln!(s, "# mecrl sweep `{}`: array task i runs point i of {}/sweep.json.", plan.name, dir.display());
    let _ = writeln!(s, "export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"");
    let _ = writeln!(s, "for try in $(seq 0 {retries}); do");
    let _ = writeln!(
        s,
        "  {} sweep run-point {} --index \"$SLURM_ARRAY_TASK_ID\" && exit 0",
        quote(&mecrl.display().to_string()),
        quote(&dir.display().to_string())
    );
    let _ = writeln!(s, "  echo \"try $try of point $SLURM_ARRAY_TASK_ID failed\" >&2");
    s.push_str("done\nexit 1\n");
    Ok(s)
}

/// Submit the points not yet done as one array. Returns the job id, or None when every point
/// is done.
pub fn submit(plan: &Plan, sd: &SweepDir, spec: &SlurmSpec, mecrl: &Path, retries: u32) -> Result<Option<String>> {
    let todo: Vec<usize> = plan.points.iter().filter(|p| sd.state(p) != State::Done).map(|p| p.index).collect();
    if todo.is_empty() {
        return Ok(None);
    }
    let dir = sd.root.join("slurm");
    // A second array beside a queued one would only queue tasks that wait on its points' locks.
    if let Some(id) = last_job(sd) {
        if !queued_tasks(&id).is_empty() {
            return Err(Error::config(
                "executor",
                "slurm",
                format!(
                    "Slurm job {id} of this sweep is still queued or running (`mecrl sweep status {}`): \
                     wait for it, or `scancel {id}`, then submit again",
                    sd.root.display()
                ),
            ));
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let file = dir.join("array.sbatch");
    write_atomic(&file, script(plan, sd, spec, mecrl, &todo, retries)?.as_bytes())?;
    let out = Command::new("sbatch").arg("--parsable").arg(&file).output().map_err(|e| {
        Error::config("executor", "slurm", format!("cannot run sbatch ({e}): is Slurm installed and on PATH?"))
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.lines().next().unwrap_or("").split(';').next().unwrap_or("").trim().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::config(
            "executor",
            "slurm",
            format!("sbatch failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        ));
    }
    let jobs = dir.join("jobs.txt");
    let mut old = std::fs::read_to_string(&jobs).unwrap_or_default();
    let _ = writeln!(old, "{id} {}", array_ranges(&todo));
    write_atomic(&jobs, old.as_bytes())?;
    Ok(Some(id))
}

/// The id of the sweep's last submitted array, if any.
fn last_job(sd: &SweepDir) -> Option<String> {
    let jobs = std::fs::read_to_string(sd.root.join("slurm").join("jobs.txt")).ok()?;
    jobs.lines().last().and_then(|l| l.split_whitespace().next()).map(str::to_string)
}

/// The Slurm states of job `id`'s tasks still in the queue (empty: none, or `squeue` does not
/// know the job any more).
fn queued_tasks(id: &str) -> Vec<String> {
    match Command::new("squeue").args(["-h", "-r", "-j", id, "-o", "%T"]).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => vec![],
    }
}

/// Wait until job `id` has left the queue (polling `squeue` every second: `sbatch --wait` polls
/// at up to 32 s), with the points done as progress.
pub fn wait(plan: &Plan, sd: &SweepDir, id: &str, todo: usize, quiet: bool) -> Result<()> {
    let mut bar = crate::experiment::progress::Progress::new(
        &format!("sweep {} (slurm job {id})", plan.name),
        todo as u64,
        quiet,
    );
    let (done0, _, _) = counts(plan, sd);
    let mut shown = 0;
    loop {
        // squeue fails for a job id it no longer knows: the job has ended.
        let queued = !queued_tasks(id).is_empty();
        let (done, _, _) = counts(plan, sd);
        let now = done.saturating_sub(done0);
        if now > shown {
            bar.inc((now - shown) as u64);
            shown = now;
        }
        if !queued {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    bar.finish();
    Ok(())
}

/// `mecrl sweep status DIR`: points done / failed / not done, and the last array's tasks by
/// Slurm state when a job was submitted (and `squeue` answers).
pub fn status(plan: &Plan, sd: &SweepDir) -> Result<String> {
    let (done, failed, missing) = counts(plan, sd);
    let mut s = format!(
        "sweep `{}`: {} points: {done} done, {failed} failed, {missing} not done\n",
        plan.name,
        plan.points.len()
    );
    for p in &plan.points {
        if sd.state(p) == State::Failed {
            if let Ok(Some(f)) = sd.read_failure(p) {
                let _ = writeln!(s, "  point {} ({}) failed after {} tries: {}", p.index, p.hash, f.attempts, f.error);
            }
        }
    }
    if let Some(id) = last_job(sd) {
        let mut by: std::collections::BTreeMap<String, usize> = Default::default();
        for t in queued_tasks(&id) {
            *by.entry(t).or_default() += 1;
        }
        let states: Vec<String> = by.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let what = if states.is_empty() { "no task queued or running".to_string() } else { states.join(", ") };
        let _ = writeln!(s, "slurm job {id}: {what}");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_ranges_compress_runs() {
        assert_eq!(array_ranges(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
        assert_eq!(array_ranges(&[4]), "4");
        assert_eq!(quote("a'b"), r"'a'\''b'");
    }
}
