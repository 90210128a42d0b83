//! One point, run by a worker process (`mecrl sweep run-point DIR --index I`): every executor —
//! the local pool, a Ray task, a Slurm array task — runs points this way.
//!
//! The worker reads only its own config (`configs/<index>.toml`), holds the point's lock while
//! it runs (so two workers never run one point, and a worker whose process dies releases it),
//! skips a point whose run directory is complete, and writes the run directory through a hidden
//! sibling renamed into place: a point is done exactly when `points/<hash>/manifest.json` exists.

use std::path::Path;

use super::plan::{config_hash, SweepDir};
use crate::error::{Error, Result};
use crate::experiment::finish::{run_to_dir_exact, Finished};
use crate::experiment::{common::pick_backend, AnyConfig};

/// What a worker did with its point.
#[derive(Debug)]
pub enum Outcome {
    /// It ran the point.
    Ran(Finished),
    /// The point was complete already (a rerun, or another worker finished it first).
    AlreadyDone,
}

/// Run point `index` of the sweep in `dir`. A failure is recorded in `failed/<hash>.json` before
/// it is returned; a success removes that record.
pub fn run_point(dir: &Path, index: usize) -> Result<Outcome> {
    let sd = SweepDir::new(dir);
    if !sd.plan_file().is_file() {
        return Err(Error::config("DIR", dir.display(), "holds no sweep.json (not a sweep directory)"));
    }
    let file = sd.point_config(index);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::config("--index", index, format!("the sweep has no point {index}")))
        }
        Err(e) => return Err(Error::io(&file, e)),
    };
    let mut cfg = AnyConfig::from_toml(&text, &file)?;
    let hash = cfg.name().to_string();
    if config_hash(&cfg) != hash {
        return Err(Error::input(
            "point config",
            index,
            file.display(),
            "no longer hashes to its name (written by another mecrl version?)",
        ));
    }
    let lock_path = sd.point_lock(&hash);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(&lock_path, e))?;
    // Blocks while another worker (perhaps one orphaned by a killed sweep) runs this point.
    lock.lock().map_err(|e| Error::io(&lock_path, e))?;
    if sd.point(&hash).join("manifest.json").is_file() {
        return Ok(Outcome::AlreadyDone);
    }
    remove_partials(&sd, &hash)?;
    let res = (|| {
        cfg.override_with(None, None, Some(sd.points()), None)?;
        let be = pick_backend(cfg.backend())?;
        run_to_dir_exact(&cfg, None, std::env::args().collect(), be, &mut |_| {})
    })();
    match res {
        Ok(done) => {
            let f = sd.failure(&hash);
            if f.exists() {
                std::fs::remove_file(&f).map_err(|e| Error::io(&f, e))?;
            }
            Ok(Outcome::Ran(done))
        }
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => Ok(Outcome::AlreadyDone),
        Err(e) => {
            sd.record_failure(index, &hash, &e.to_string())?;
            Err(e)
        }
    }
}

/// Hidden partial run directories of this point left by a worker that was killed (the caller
/// holds the point's lock: no live worker is writing one).
fn remove_partials(sd: &SweepDir, hash: &str) -> Result<()> {
    let prefix = format!(".{hash}.partial-");
    let rd = std::fs::read_dir(sd.points()).map_err(|e| Error::io(sd.points(), e))?;
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            std::fs::remove_dir_all(e.path()).map_err(|x| Error::io(e.path(), x))?;
        }
    }
    Ok(())
}
