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
        Ok(RunDir { tmp, dest, taken, committed: false })
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
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.committed = true;
        Ok(self.dest.clone())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
