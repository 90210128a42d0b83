//! A run of any config into its run directory with the manifest: `mecrl run` and Python's
//! `mecrl.run` both come here, so their directories are the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::rundir::RunDir;
use super::AnyConfig;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// What a finished run left.
#[derive(Clone, Debug)]
pub struct Finished {
    /// The run directory (committed: it appears only when the run completes).
    pub dir: PathBuf,
    /// The directory the config named, when it existed already: the run went to a numbered
    /// sibling (`runs/mec-2`), never over an earlier run.
    pub name_taken: Option<PathBuf>,
    /// The results table printed by the CLI.
    pub table: String,
    /// The manifest's summary.
    pub summary: serde_json::Value,
    /// Wall time of the run, seconds.
    pub wall_s: f64,
}

/// Run `cfg` on `be` and write `out_dir/<name>/` (the report's files and `manifest.json` with
/// the config, seed, backend and device, version, `command` and the summary). `config_file`
/// is recorded when the config came from a file.
pub fn run_to_dir(
    cfg: &AnyConfig,
    config_file: Option<&Path>,
    command: Vec<String>,
    be: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<Finished> {
    run_into(cfg, config_file, command, be, tick, false)
}

/// [`run_to_dir`] into exactly `out_dir/<name>/` (a sweep's point, named by its config's
/// hash): an `AlreadyExists` I/O error, and nothing written, if it appeared meanwhile.
pub fn run_to_dir_exact(
    cfg: &AnyConfig,
    config_file: Option<&Path>,
    command: Vec<String>,
    be: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
) -> Result<Finished> {
    run_into(cfg, config_file, command, be, tick, true)
}

fn run_into(
    cfg: &AnyConfig,
    config_file: Option<&Path>,
    command: Vec<String>,
    be: Arc<dyn Backend>,
    tick: &mut dyn FnMut(u64),
    exact: bool,
) -> Result<Finished> {
    cfg.check_memory()?;
    // A learner's work directory (its checkpoints) is one run's at a time; a sweep's point
    // (`exact`) is run under the sweep's lock of that point already.
    let _lock = match cfg.work_dir() {
        Some(_) if !exact => Some(super::rundir::RunLock::take(cfg.out_dir(), cfg.name())?),
        _ => None,
    };
    // The (hidden, temporary) run directory first: an output folder that cannot be written
    // is found before the work, not after it.
    let dir = if exact {
        RunDir::create_exact(cfg.out_dir(), cfg.name())?
    } else {
        RunDir::create(cfg.out_dir(), cfg.name())?
    };
    let t0 = Instant::now();
    let report = cfg.run(be, tick)?;
    let wall_s = t0.elapsed().as_secs_f64();
    for (name, contents) in &report.files {
        dir.write(name, contents)?;
    }
    let manifest = serde_json::json!({
        "mecrl_version": crate::VERSION,
        "git_commit": crate::GIT_COMMIT,
        "command": command,
        "config_file": config_file,
        "system": cfg.system(),
        "config": cfg.to_json(),
        "seed": cfg.seed(),
        "backend": cfg.backend(),
        "backend_device": report.backend,
        "wall_s": wall_s,
        "summary": report.summary,
    });
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::config("manifest", "?", format!("could not be written: {e}")))?;
    dir.write("manifest.json", text.as_bytes())?;
    let name_taken = dir.name_taken().map(Path::to_path_buf);
    let dir = dir.commit()?;
    Ok(Finished { dir, name_taken, table: report.table, summary: report.summary, wall_s })
}
