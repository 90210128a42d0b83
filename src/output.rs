//! A user's output file (`--out FILE`), by one rule:
//! - a regular file or nothing at the path: the bytes go to a temporary file beside it, flushed,
//!   then renamed over it (a reader never sees half a file, a failure leaves the old one);
//! - a symbolic link: the same at the file it points to (the link stays a link);
//! - a device, FIFO or socket (`/dev/stdout`, a named pipe): written through, never replaced;
//! - a directory: refused.
//!
//! [`check_writable`] applies the rule's checks before the work, so that an output that cannot
//! be written is found before minutes of computation, not after.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where the bytes for `path` go: the path to replace (regular file, or none yet), or the
/// special file to write through.
enum Target {
    Replace(PathBuf),
    Through(PathBuf),
}

fn target(path: &Path, field: &str) -> Result<Target> {
    // Follows a symbolic link: the rule applies to what it points to.
    let resolved = if path.is_symlink() {
        std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?
    } else {
        path.to_path_buf()
    };
    match std::fs::metadata(&resolved) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Target::Replace(resolved)),
        Err(e) => Err(Error::io(&resolved, e)),
        Ok(m) if m.is_dir() => Err(Error::config(field, path.display(), "is a directory; give a file path")),
        Ok(m) if m.is_file() => Ok(Target::Replace(resolved)),
        Ok(_) => Ok(Target::Through(resolved)),
    }
}

fn parent_of(p: &Path) -> &Path {
    p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn temp_beside(p: &Path) -> PathBuf {
    let name = p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    parent_of(p).join(format!(".{name}.tmp-{}", std::process::id()))
}

/// Check, before the work, that `path` (the value of `field`) can be written by the rule: not a
/// directory, and for a file to replace, a folder that exists and takes a new file.
pub fn check_writable(path: &Path, field: &str) -> Result<()> {
    match target(path, field)? {
        Target::Through(p) => std::fs::OpenOptions::new().write(true).open(&p).map(drop).map_err(|e| Error::io(&p, e)),
        Target::Replace(p) => {
            let dir = parent_of(&p);
            if !dir.is_dir() {
                return Err(Error::config(
                    field,
                    path.display(),
                    format!("its folder {} does not exist", dir.display()),
                ));
            }
            let probe = temp_beside(&p);
            std::fs::File::create(&probe).map_err(|e| Error::io(&probe, e))?;
            std::fs::remove_file(&probe).map_err(|e| Error::io(&probe, e))
        }
    }
}

/// Write `bytes` to `path` (the value of `field`) by the module's rule.
pub fn write_output(path: &Path, field: &str, bytes: &[u8]) -> Result<()> {
    write_output_with(path, field, &mut |w| w.write_all(bytes))
}

/// Write to `path` (the value of `field`) by the module's rule what `fill` writes, streamed
/// (a file larger than memory goes through a buffer); on any error nothing replaces the path.
pub fn write_output_with(
    path: &Path,
    field: &str,
    fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    match target(path, field)? {
        Target::Through(p) => {
            let f = std::fs::OpenOptions::new().write(true).open(&p).map_err(|e| Error::io(&p, e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            fill(&mut w).and_then(|()| w.flush()).map_err(|e| Error::io(&p, e))
        }
        Target::Replace(p) => {
            let tmp = temp_beside(&p);
            let res = (|| {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
                fill(&mut w)?;
                w.into_inner().map_err(|e| e.into_error())?.sync_all()
            })();
            if let Err(e) = res {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::io(&p, e));
            }
            std::fs::rename(&tmp, &p).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::io(&p, e)
            })
        }
    }
}

/// A folder for scratch files of the output `path`: its own folder when it is a file to
/// replace (the same file system), else the system's temporary folder.
pub fn scratch_dir(path: &Path, field: &str) -> Result<PathBuf> {
    Ok(match target(path, field)? {
        Target::Replace(p) => parent_of(&p).to_path_buf(),
        Target::Through(_) => std::env::temp_dir(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mecrl-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn leftovers(d: &Path) -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    }

    #[test]
    fn regular_files_are_replaced_and_links_kept() {
        let d = dir("regular");
        let f = d.join("a.csv");
        write_output(&f, "--out", b"one").unwrap();
        write_output(&f, "--out", b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        #[cfg(unix)]
        {
            let link = d.join("link.csv");
            std::os::unix::fs::symlink(&f, &link).unwrap();
            write_output(&link, "--out", b"three").unwrap();
            assert!(link.is_symlink(), "the link stays a link");
            assert_eq!(std::fs::read(&f).unwrap(), b"three");
        }
        assert!(leftovers(&d).is_empty());
    }

    #[test]
    fn devices_are_written_through_and_folders_refused() {
        let d = dir("special");
        #[cfg(unix)]
        {
            write_output(Path::new("/dev/null"), "--out", b"x").unwrap();
            assert!(!Path::new("/dev/null").is_file(), "/dev/null is still a device");
            if Path::new("/dev/full").exists() {
                let e = write_output(Path::new("/dev/full"), "--out", b"x").unwrap_err();
                assert!(matches!(e, Error::Io { .. }), "{e}");
                assert!(!Path::new("/dev/full").is_file(), "/dev/full is still a device");
            }
        }
        let e = write_output(&d, "--out", b"x").unwrap_err();
        assert!(matches!(e, Error::Config { ref field, .. } if field == "--out"), "{e}");
        assert!(check_writable(&d, "--out").is_err());
        let e = check_writable(&d.join("no/such/dir/x.csv"), "--out").unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        check_writable(&d.join("x.csv"), "--out").unwrap();
        assert!(leftovers(&d).is_empty() && !d.join("x.csv").exists(), "the check leaves nothing");
    }
}
