//! One point, run by a worker process: `mecrl sweep run-point DIR --index I` (a Ray task, a
//! Slurm array task) or `mecrl sweep worker DIR` (the local pool's workers, which take one
//! index after another on stdin): every executor runs points through [`run_point_with`].
//!
//! The worker reads only its own config (`configs/<index>.toml`), holds the point's lock while
//! it runs (so two workers never run one point, and a worker whose process dies releases it),
//! skips a point whose run directory is complete, and writes the run directory through a hidden
//! sibling renamed into place: a point is done exactly when `points/<hash>/manifest.json` exists.

use std::path::Path;

use super::plan::{config_hash, lock_file, SweepDir};
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
    run_point_with(dir, index, &mut Backends::new())
}

/// The backends a worker has opened, by choice (`cpu`, `auto`…): a worker that runs many points
/// opens each once.
pub type Backends = std::collections::BTreeMap<String, std::sync::Arc<dyn crate::backend::Backend>>;

/// [`run_point`] reusing (and adding to) the worker's open `backends`.
pub fn run_point_with(dir: &Path, index: usize, backends: &mut Backends) -> Result<Outcome> {
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
    let lock = lock_file(&lock_path)?;
    // Blocks while another worker (perhaps one orphaned by a killed sweep) runs this point.
    lock.lock().map_err(|e| Error::io(&lock_path, e))?;
    if sd.point(&hash).join("manifest.json").is_file() {
        return Ok(Outcome::AlreadyDone);
    }
    let res = (|| {
        cfg.override_with(None, None, Some(sd.points()), None)?;
        let be = match backends.get(cfg.backend()) {
            Some(b) => b.clone(),
            None => {
                let b = pick_backend(cfg.backend())?;
                backends.insert(cfg.backend().to_string(), b.clone());
                b
            }
        };
        run_to_dir_exact(&cfg, Some(&file), std::env::args().collect(), be, &mut |_| {})
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

/// `mecrl sweep worker DIR`: run the points whose indices come on `input`, one per line, until
/// it ends; after each, one line on `output`: `done <i>` or `failed <i> <error>`.
pub fn serve(dir: &Path, input: impl std::io::BufRead + Send, output: impl std::io::Write + Send) -> Result<()> {
    in_pool(|| serve_here(dir, input, output))
}

/// Run `f` on a thread of a rayon pool (sized by RAYON_NUM_THREADS, as the global one): the CPU
/// kernels' parallel calls then start inside their pool instead of being handed to it from this
/// thread (with one thread, a futex wake and wait per kernel call: 13 % of a small `mec` point).
pub fn in_pool<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new().build().map_err(|e| {
        Error::config("RAYON_NUM_THREADS", std::env::var("RAYON_NUM_THREADS").unwrap_or_default(), e.to_string())
    })?;
    pool.install(f)
}

fn serve_here(dir: &Path, input: impl std::io::BufRead, mut output: impl std::io::Write) -> Result<()> {
    let mut backends = Backends::new();
    for line in input.lines() {
        let line = line.map_err(|e| Error::io("stdin", e))?;
        let Ok(index) = line.trim().parse::<usize>() else {
            return Err(Error::input("worker input", 0, line.trim(), "expected a point index"));
        };
        let reply = match run_point_with(dir, index, &mut backends) {
            Ok(_) => format!("done {index}"),
            Err(e) => format!("failed {index} {}", e.to_string().replace('\n', " ")),
        };
        writeln!(output, "{reply}").and_then(|()| output.flush()).map_err(|e| Error::io("stdout", e))?;
    }
    Ok(())
}
