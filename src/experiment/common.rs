//! What every experiment shares: picking a backend, the report a run produces, reading its
//! TOML, the checks of the common keys.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::Backend;
use crate::error::{Error, Result};

/// The backend a command names (`auto`, `cpu`, `wgpu`, `cuda`), announced on stderr with, for
/// `auto`, the ones it skipped and why.
pub fn pick_backend(choice: &str) -> Result<Arc<dyn Backend>> {
    let choice: crate::backend::BackendChoice = choice.parse()?;
    let (b, skipped) = crate::backend::select(choice)?;
    if choice == crate::backend::BackendChoice::Auto {
        for s in skipped {
            eprintln!("backend auto: skipped: {s}");
        }
    }
    eprintln!("backend: {}", b.describe());
    Ok(b)
}

/// What a system's run produced: the table printed to the terminal, the files of the run
/// directory (name, contents) and a JSON summary for the manifest.
#[derive(Clone, Debug)]
pub struct Report {
    /// Human-readable results table.
    pub table: String,
    /// Files written into the run directory.
    pub files: Vec<(String, Vec<u8>)>,
    /// Summary recorded in `manifest.json`.
    pub summary: serde_json::Value,
    /// The backend that ran it, described.
    pub backend: String,
}

/// Parse TOML into `T`; a syntax or type error names the file and line.
pub fn parse_toml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1)).unwrap_or(0);
        Error::Parse { path: path.to_path_buf(), line, why: e.message().to_string() }
    })
}

/// The checks every system's run config shares: its `system` key, a run name usable as a
/// directory name, a known backend choice.
pub fn check_common(expected: &str, system: &str, name: &str, backend: &str) -> Result<()> {
    if system != expected {
        return Err(Error::config("system", system, format!("this config type is the `{expected}` system's")));
    }
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(Error::config("name", name, "must be a non-empty file name"));
    }
    // "." and ".." name the folder itself or its parent; a leading dot is mecrl's temporary
    // files' (`.<name>.partial-<pid>`); control characters break terminals and CSV.
    if name.starts_with('.') || name.chars().any(char::is_control) {
        return Err(Error::config(
            "name",
            format!("{name:?}"),
            "must not start with '.' (\".\", \"..\" and hidden names) or hold control characters",
        ));
    }
    backend.parse::<crate::backend::BackendChoice>()?;
    Ok(())
}

/// A work file's contents, or None when it does not exist (one that does not parse is an error).
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::input("work file", 0, path.display(), format!("does not parse: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Write `bytes` to `path` through a temporary sibling (never a partial file).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Write `v` as JSON through a temporary sibling.
pub(crate) fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let s = serde_json::to_vec_pretty(v).map_err(|e| Error::input("work file", 0, path.display(), e.to_string()))?;
    write_atomic(path, &s)
}

/// Every file of `out` and of `out/figures` (sorted by name), as the report files of a run
/// (`figures/<name>` for the second).
pub(crate) fn output_files(out: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = vec![];
    for sub in ["", "figures"] {
        let d = out.join(sub);
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        let mut names: Vec<_> = rd
            .filter_map(|x| x.ok())
            .filter(|x| x.path().is_file())
            .map(|x| x.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            let p = d.join(&n);
            let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            files.push((if sub.is_empty() { n } else { format!("{sub}/{n}") }, bytes));
        }
    }
    Ok(files)
}

/// Computes a work file's value, counting slots through the tick it is given.
pub(crate) type Compute<'a, T> = dyn FnMut(&mut dyn FnMut(u64)) -> Result<T> + 'a;

/// A work file's value, or computed by `f` and kept there (a rerun ticks `skip` instead).
pub(crate) fn cached<T: Serialize + DeserializeOwned>(
    path: &Path,
    skip: u64,
    tick: &mut dyn FnMut(u64),
    f: &mut Compute<T>,
) -> Result<T> {
    if let Some(r) = read_json::<T>(path)? {
        tick(skip);
        return Ok(r);
    }
    let r = f(tick)?;
    write_json(path, &r)?;
    Ok(r)
}

/// `manifest.json` of a reproduction in `dir`: version, commit, system, config, device.
pub(crate) fn write_manifest(dir: &Path, system: &str, config: &impl Serialize, backend: &str) -> Result<()> {
    let manifest = serde_json::json!({
        "mecrl_version": crate::VERSION,
        "git_commit": crate::GIT_COMMIT,
        "system": system,
        "config": config,
        "backend_device": backend,
    });
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::config("manifest", "?", e.to_string()))?;
    write_atomic(&dir.join("manifest.json"), &bytes)
}

/// A learner's work files in a run's work directory: its checkpoint and its per-episode log.
pub(crate) struct WorkFiles {
    /// `<stem>.safetensors`.
    pub ckpt: std::path::PathBuf,
    tmp: std::path::PathBuf,
    log: std::path::PathBuf,
}

impl WorkFiles {
    /// The files of `stem` in `work`.
    pub fn new(work: &Path, stem: &str) -> Self {
        WorkFiles {
            ckpt: work.join(format!("{stem}.safetensors")),
            tmp: work.join(format!("{stem}.safetensors.tmp")),
            log: work.join(format!("{stem}.log.json")),
        }
    }

    /// The log of a learner just restored from [`WorkFiles::ckpt`] at `episodes` episodes (a log
    /// that holds fewer is an error; later rows, written before a checkpoint that never came,
    /// are dropped).
    pub fn read_log<T: DeserializeOwned>(&self, episodes: usize) -> Result<Vec<T>> {
        let mut log: Vec<T> = read_json(&self.log)?.unwrap_or_default();
        log.truncate(episodes);
        if log.len() != episodes {
            return Err(Error::input("work file", 0, self.log.display(), "the log does not match the checkpoint"));
        }
        Ok(log)
    }

    /// Write the log, then the checkpoint by `save` through a temporary sibling: a checkpoint
    /// never claims episodes its log lacks.
    pub fn save<T: Serialize>(&self, log: &[T], save: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        write_json(&self.log, &log)?;
        save(&self.tmp)?;
        std::fs::rename(&self.tmp, &self.ckpt).map_err(|e| Error::io(&self.ckpt, e))
    }
}

/// `mecrl run`'s report of a pipeline run: the files of `out` (and `out/figures`), the named
/// checkpoints of `work` as `policies/<name>`, the summary; `work` is removed (the run is done).
pub(crate) fn run_report(
    work: &Path,
    out: &Path,
    table: String,
    policies: &[String],
    summary: serde_json::Value,
    backend: String,
) -> Result<Report> {
    let mut files = output_files(out)?;
    for name in policies {
        let p = work.join(name);
        files.push((format!("policies/{name}"), std::fs::read(&p).map_err(|e| Error::io(&p, e))?));
    }
    std::fs::remove_dir_all(work).map_err(|e| Error::io(work, e))?;
    Ok(Report { table, files, summary, backend })
}
