//! Memory bounds: what a run will allocate, estimated from its config before anything is
//! allocated, against what the machine has.
//!
//! A config's estimate is a [`Need`]: the large allocations it implies, each tied to the config
//! field that sizes it (`dirs.hidden`, `batch`, `steps` ...). [`Need::check`] compares the sum
//! with the [`budget`]: the `MECRL_MAX_MEMORY` setting (`--max-memory`) if given, else the
//! memory the kernel reports available (`MemAvailable` of `/proc/meminfo`, under a cgroup limit
//! if one is lower). A run that would not fit stops with an [`Error::Config`] naming the field
//! of its largest term, what the run would need and what the machine has — never an abort
//! halfway through. The estimates count what grows with the config (buffers, parameters and
//! their optimizer moments, replay memories, results held for the report); the fixed overhead
//! of the program (tens of MiB) is in [`BASE`].
//!
//! The host backends also check each buffer against the budget when they allocate it
//! ([`check_alloc`]): a safety net for a size no estimate names, which turns what would be an
//! abort ("memory allocation failed") into the same typed error.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The program's own memory besides what a config sizes (code, thread stacks, small buffers).
pub const BASE: u128 = 64 << 20;

/// The environment variable that sets the budget (bytes, or with a K/M/G/T suffix: powers of
/// 1024). `mecrl --max-memory` sets it for one command.
pub const ENV_MAX_MEMORY: &str = "MECRL_MAX_MEMORY";

/// How much memory a run may use and where that figure comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes.
    pub bytes: u128,
    /// `MECRL_MAX_MEMORY`, `MemAvailable` or the cgroup limit.
    pub source: String,
}

/// Parse a size: `123`, `512M`, `8G`, `1.5T` (K/M/G/T are powers of 1024; a trailing `B` or
/// `iB` is allowed).
pub fn parse_size(s: &str) -> Option<u128> {
    let t = s.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (num, mult) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1u128 << 10),
        'm' | 'M' => (&t[..t.len() - 1], 1 << 20),
        'g' | 'G' => (&t[..t.len() - 1], 1 << 30),
        't' | 'T' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    let bytes = v * mult as f64;
    // At least one byte: "0.1" or "1e-300" is no limit a run can meet.
    (v.is_finite() && (1.0..1e30).contains(&bytes)).then_some(bytes as u128)
}

/// A size for people: `512 B`, `3.2 MiB`, `1.5 GiB`, `2.0e6 TiB`.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    match u {
        0 => format!("{bytes} B"),
        _ if v >= 1e5 => format!("{v:.1e} {}", UNITS[u]),
        _ => format!("{v:.1} {}", UNITS[u]),
    }
}

fn meminfo_available() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn cgroup_room() -> Option<u128> {
    let max: u128 = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok()?.trim().parse().ok()?;
    let cur: u128 = std::fs::read_to_string("/sys/fs/cgroup/memory.current").ok()?.trim().parse().ok()?;
    Some(max.saturating_sub(cur))
}

/// The memory a run may use now: `MECRL_MAX_MEMORY` if set (an unparsable value is an error
/// naming it), else what the kernel reports available. None where neither is known (then
/// nothing is refused by estimate).
pub fn budget() -> Result<Option<Budget>> {
    if let Ok(v) = std::env::var(ENV_MAX_MEMORY) {
        let bytes = parse_size(&v).ok_or_else(|| {
            Error::config(ENV_MAX_MEMORY, &v, "expected a size such as 8G, 512M or a number of bytes")
        })?;
        return Ok(Some(Budget { bytes, source: format!("{ENV_MAX_MEMORY} = {v}") }));
    }
    let avail = meminfo_available().map(|b| Budget { bytes: b, source: "MemAvailable in /proc/meminfo".into() });
    let cg = cgroup_room().map(|b| Budget { bytes: b, source: "the cgroup's memory.max".into() });
    Ok(match (avail, cg) {
        (Some(a), Some(c)) => Some(if c.bytes < a.bytes { c } else { a }),
        (a, c) => a.or(c),
    })
}

/// Bytes free for an unprivileged writer on the file system of `dir` (None where unknown).
#[cfg(unix)]
pub fn disk_free(dir: &std::path::Path) -> Option<u128> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable statvfs for the call to fill.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as u128 * st.f_frsize as u128)
}

/// Bytes free on the file system of `dir` (None: unknown on this platform).
#[cfg(not(unix))]
pub fn disk_free(_dir: &std::path::Path) -> Option<u128> {
    None
}

/// Refuse to write `bytes` into `dir` when its file system has less free: an [`Error::Config`]
/// naming `field` (= `value`), what the output would take and what is free.
pub fn check_disk(dir: &std::path::Path, bytes: u128, field: &str, value: impl ToString, what: &str) -> Result<()> {
    match disk_free(dir) {
        Some(free) if bytes > free => Err(Error::config(
            field,
            value,
            format!("{what} would take {} on disk and {} has {} free", human(bytes), dir.display(), human(free)),
        )),
        _ => Ok(()),
    }
}

/// One term of an estimate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The config field that sizes it (`dirs.hidden`).
    pub field: String,
    /// That field's value as written.
    pub value: String,
    /// What it is (`agent networks and Adam moments`).
    pub what: String,
    /// Bytes.
    pub bytes: u128,
}

/// An estimate of what a run allocates: its large terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Need {
    /// The terms, in the order added.
    pub parts: Vec<Part>,
}

/// `a · b · …` without overflow (saturating at u128::MAX).
pub fn product(factors: &[u128]) -> u128 {
    factors.iter().fold(1u128, |a, &b| a.saturating_mul(b))
}

impl Need {
    /// An empty estimate.
    pub fn new() -> Self {
        Need::default()
    }

    /// Add `bytes` sized by `field` (= `value`).
    pub fn add(&mut self, field: &str, value: impl ToString, what: &str, bytes: u128) -> &mut Self {
        self.parts.push(Part { field: field.into(), value: value.to_string(), what: what.into(), bytes });
        self
    }

    /// Add `count` 32-bit words.
    pub fn words(&mut self, field: &str, value: impl ToString, what: &str, count: u128) -> &mut Self {
        self.add(field, value, what, count.saturating_mul(4))
    }

    /// Append another estimate's terms.
    pub fn extend(&mut self, other: Need) -> &mut Self {
        self.parts.extend(other.parts);
        self
    }

    /// The sum, with [`BASE`].
    pub fn total(&self) -> u128 {
        self.parts.iter().fold(BASE, |a, p| a.saturating_add(p.bytes))
    }

    /// The largest term.
    pub fn largest(&self) -> Option<&Part> {
        self.parts.iter().max_by_key(|p| p.bytes)
    }

    /// Refuse the run if it would not fit the [`budget`].
    pub fn check(&self) -> Result<()> {
        match budget()? {
            Some(b) => self.check_against(&b),
            None => Ok(()),
        }
    }

    /// Refuse the run if it would not fit `budget`: an [`Error::Config`] naming the field of the
    /// largest term, the estimate and the budget.
    pub fn check_against(&self, budget: &Budget) -> Result<()> {
        let total = self.total();
        if total <= budget.bytes {
            return Ok(());
        }
        let Some(big) = self.largest() else {
            return Err(Error::config("max_memory", human(budget.bytes), "the program alone does not fit"));
        };
        Err(Error::config(
            &big.field,
            &big.value,
            format!(
                "the run would need about {} of memory ({}: {}) and {} allows {}; make it smaller \
                 or raise the limit ({ENV_MAX_MEMORY} or --max-memory)",
                human(total),
                big.what,
                human(big.bytes),
                budget.source,
                human(budget.bytes)
            ),
        ))
    }
}

/// Bytes the host backends hold in buffers (live and pooled), for [`check_alloc`].
static HELD: AtomicU64 = AtomicU64::new(0);

/// Record `bytes` allocated (+) or freed (−) by a host backend.
pub fn note_host(bytes: i64) {
    if bytes >= 0 {
        HELD.fetch_add(bytes as u64, Ordering::Relaxed);
    } else {
        HELD.fetch_sub(bytes.unsigned_abs(), Ordering::Relaxed);
    }
}

/// Below this a buffer is allocated without asking (reading the budget costs a file read).
const CHECK_FROM: u128 = 64 << 20;

/// Before a host backend allocates `bytes`: refuse (an [`Error::Config`] on `max_memory`) when
/// the buffer would not fit what is available. Small buffers pass unchecked.
pub fn check_alloc(bytes: u128, what: &str) -> Result<()> {
    if bytes < CHECK_FROM {
        return Ok(());
    }
    let Some(b) = budget()? else { return Ok(()) };
    // With an explicit limit, the backend's buffers count against it; MemAvailable already
    // excludes them.
    let held = if std::env::var_os(ENV_MAX_MEMORY).is_some() { HELD.load(Ordering::Relaxed) as u128 } else { 0 };
    if held.saturating_add(bytes) > b.bytes {
        return Err(Error::config(
            "max_memory",
            human(b.bytes),
            format!(
                "{what}: a buffer of {} (with {} already held) does not fit what {} allows; a config \
                 field sizes it beyond this machine",
                human(bytes),
                human(held),
                b.source
            ),
        ));
    }
    Ok(())
}

/// A zeroed vector of `n` words allocated fallibly (an allocation the allocator refuses is an
/// error, not an abort). Pages stay untouched until written, as with `vec![0; n]`.
pub fn zeroed_words(n: usize, what: &str) -> Result<Vec<u32>> {
    let bytes = (n as u128) * 4;
    check_alloc(bytes, what)?;
    let refused =
        || Error::config("max_memory", human(bytes), format!("{what}: the allocator refused {}", human(bytes)));
    if n == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u32>(n).map_err(|_| refused())?;
    // SAFETY: a non-zero layout of n u32 from the global allocator, as `Vec<u32>` uses; zeroed
    // memory is n valid u32 values, so the vector may own it with length = capacity = n.
    let p = unsafe { std::alloc::alloc_zeroed(layout) } as *mut u32;
    if p.is_null() {
        return Err(refused());
    }
    Ok(unsafe { Vec::from_raw_parts(p, n, n) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("1.5 GiB"), Some(3 << 29));
        assert_eq!(parse_size("2MB"), Some(2 << 20));
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("0.1"), None, "found by the fuzz target memory_size");
        assert_eq!(human(100), "100 B");
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(1u128 << 80), "1.1e12 TiB");
    }

    #[test]
    fn the_largest_term_is_named() {
        let mut n = Need::new();
        n.words("batch", 64, "state", 1000).add("dirs.hidden", "[100000000, 100000000]", "networks", 1 << 50);
        let b = Budget { bytes: 1 << 34, source: "test".into() };
        let e = n.check_against(&b).unwrap_err().to_string();
        assert!(e.contains("`dirs.hidden` = [100000000, 100000000]"), "{e}");
        assert!(e.contains("1024.0 TiB"), "{e}");
        assert!(e.contains("test allows 16.0 GiB"), "{e}");
        let mut small = Need::new();
        small.words("batch", 64, "state", 1000);
        small.check_against(&b).unwrap();
        assert_eq!(product(&[u128::MAX, 2]), u128::MAX);
    }
}
