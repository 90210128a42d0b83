//! A run directory that appears only when complete: everything is written into a hidden
//! temporary sibling, renamed into place by [`RunDir::commit`], and removed if dropped uncommitted.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A run directory being written.
pub struct RunDir {
    tmp: PathBuf,
    dest: PathBuf,
    taken: Option<PathBuf>,
    committed: bool,
    exact: bool,
}

impl RunDir {
    /// Start `parent/name` (made unique with a numeric suffix if it exists).
    pub fn create(parent: &Path, name: &str) -> Result<Self> {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let mut dest = parent.join(name);
        let taken = dest.exists().then(|| dest.clone());
        let mut k = 1;
        while dest.exists() {
            k += 1;
            dest = parent.join(format!("{name}-{k}"));
        }
        let tmp = parent.join(format!(
            ".{}.partial-{}",
            dest.file_name().and_then(|s| s.to_str()).unwrap_or(name),
            std::process::id()
        ));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(RunDir { tmp, dest, taken, committed: false, exact: false })
    }

    /// Start exactly `parent/name` (a sweep's point): [`RunDir::commit`] then fails with an
    /// `AlreadyExists` I/O error if that directory appeared meanwhile, and never numbers. The
    /// caller holds the point's lock, so the temporary `.<name>.partial` is its own: one left by a
    /// killed writer is removed here.
    pub fn create_exact(parent: &Path, name: &str) -> Result<Self> {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let dest = parent.join(name);
        let tmp = parent.join(format!(".{name}.partial"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(RunDir { tmp, dest, taken: None, committed: false, exact: true })
    }

    /// Write a file into the run directory (`file` may name subdirectories: `a/b.csv`).
    pub fn write(&self, file: &str, contents: &[u8]) -> Result<()> {
        let p = self.tmp.join(file);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(self.dest.join(file), e))?;
        }
        std::fs::write(&p, contents).map_err(|e| Error::io(self.dest.join(file), e))
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// `parent/name` when it existed already (this run then goes to `name-2`, `name-3`, …).
    pub fn name_taken(&self) -> Option<&Path> {
        self.taken.as_deref()
    }

    /// Move into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        // rename(2) replaces an empty directory: an exact destination must not exist at all.
        if self.exact && self.dest.exists() {
            let e = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the run directory exists already");
            return Err(Error::io(&self.dest, e));
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.committed = true;
        Ok(self.dest.clone())
    }
}

/// The lock of a learner's work directory `<out_dir>/<name>.partial/`: held by one run at a
/// time, in `<out_dir>/.<name>.partial.lock` (a run name never starts with a dot). The file
/// stays; the lock (flock) ends with the process, however it ends.
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    /// Take the lock of run `name` in `parent`, or fail at once with an error naming the
    /// process that holds it.
    pub fn take(parent: &Path, name: &str) -> Result<Self> {
        use std::io::{Read, Seek, Write};
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let path = parent.join(format!(".{name}.partial.lock"));
        let mut f = lock_file(&path)?;
        match f.try_lock() {
            Ok(()) => {
                let me = format!("pid {} since {}", std::process::id(), unix_now());
                let res = f
                    .set_len(0)
                    .and_then(|()| f.seek(std::io::SeekFrom::Start(0)))
                    .and_then(|_| f.write_all(me.as_bytes()));
                res.map_err(|e| Error::io(&path, e))?;
                Ok(RunLock { _file: f })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                Err(Error::config(
                    "name",
                    name,
                    format!(
                        "another mecrl run ({}) is using {}: wait for it, or give this run another name or out_dir",
                        if holder.is_empty() { "unknown process".into() } else { holder },
                        parent.join(format!("{name}.partial")).display()
                    ),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

/// A lock file opened (created if missing, never truncated) for `try_lock` / `lock` (flock);
/// the runs' and the sweeps' locks.
pub fn lock_file(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

fn unix_now() -> String {
    let s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("unix time {s}")
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
