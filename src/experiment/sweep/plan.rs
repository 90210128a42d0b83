//! The plan of a sweep: every point resolved to a full, validated config, named by a stable hash
//! of that config, and the sweep directory that holds them (`sweep.json`, `points/<hash>/`,
//! `failed/<hash>.json`, the locks).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spec::{sample_uniform, SweepFile};
use crate::error::{Error, Result};
use crate::experiment::common::{read_json, write_json};
use crate::experiment::AnyConfig;

/// One point of a sweep.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Point {
    /// Position in the plan (0-based; the Slurm array index).
    pub index: usize,
    /// 16 hex digits: FNV-1a 64 of the resolved config (without `name` and `out_dir`).
    pub hash: String,
    /// The seed.
    pub seed: u64,
    /// The axes' values of this point (dotted field → value), the seed excluded.
    pub values: BTreeMap<String, toml::Value>,
    /// The resolved config as TOML (what the point runs).
    pub config: String,
}

/// `sweep.json`: the plan a sweep directory holds.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Plan {
    /// The sweep's name.
    pub name: String,
    /// The system of every point.
    pub system: String,
    /// The base config file.
    pub base: PathBuf,
    /// The working directory the points run in (relative paths of configs are against it).
    pub cwd: PathBuf,
    /// The swept fields, in the order of the point's values.
    pub axes: Vec<String>,
    /// Every point.
    pub points: Vec<Point>,
}

/// FNV-1a 64: small, specified, stable across versions and platforms (a point's directory name).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The hash of a resolved config: its JSON (keys sorted) without `name` and `out_dir`.
pub fn config_hash(cfg: &AnyConfig) -> String {
    let mut j = cfg.to_json();
    if let Some(o) = j.as_object_mut() {
        o.remove("name");
        o.remove("out_dir");
        o.insert("system".into(), cfg.system().into());
    }
    format!("{:016x}", fnv1a64(j.to_string().as_bytes()))
}

/// Set `value` at the dotted `field` of `table`, creating tables on the way.
fn set_dotted(table: &mut toml::Table, field: &str, value: toml::Value) -> Result<()> {
    let mut parts: Vec<&str> = field.split('.').collect();
    let last = parts.pop().unwrap_or(field);
    let mut t = table;
    let mut path = String::new();
    for p in parts {
        path = if path.is_empty() { p.to_string() } else { format!("{path}.{p}") };
        let entry = t.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(x) => x,
            other => {
                return Err(Error::config(
                    field,
                    other.to_string(),
                    format!("`{path}` is not a table in the base config"),
                ))
            }
        };
    }
    t.insert(last.to_string(), value);
    Ok(())
}

/// The combinations of axis values before seeds: explicit points × random samples × grid.
fn combinations(s: &SweepFile) -> Result<Vec<BTreeMap<String, toml::Value>>> {
    let mut combos: Vec<BTreeMap<String, toml::Value>> = if s.points.is_empty() {
        vec![BTreeMap::new()]
    } else {
        s.points.iter().map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).collect()
    };
    if let Some(r) = &s.random {
        let mut next = vec![];
        for c in &combos {
            for k in 0..r.count as u32 {
                let mut c = c.clone();
                for (f, (field, d)) in r.fields.iter().enumerate() {
                    c.insert(field.clone(), d.sample(sample_uniform(r.seed, k, f as u32)));
                }
                next.push(c);
            }
        }
        combos = next;
    }
    for (field, axis) in &s.grid {
        let f = format!("grid.\"{field}\"");
        let vals = super::spec::AxisSpec::parse(&f, axis)?.values(&f)?;
        let mut next = Vec::with_capacity(combos.len() * vals.len());
        for c in &combos {
            for v in &vals {
                let mut c = c.clone();
                c.insert(field.clone(), v.clone());
                next.push(c);
            }
        }
        combos = next;
        if combos.len() > MAX_POINTS {
            return Err(Error::config(
                format!("grid.\"{field}\""),
                vals.len(),
                format!("the sweep would have more than {MAX_POINTS} points"),
            ));
        }
    }
    Ok(combos)
}

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 1_000_000;

impl Plan {
    /// Resolve every point of `s` against its base config; every point's config is parsed and
    /// validated here, so an invalid one stops the sweep before anything runs.
    pub fn resolve(s: &SweepFile, sweep_file: &Path) -> Result<Plan> {
        let base_path = s.base_path(sweep_file);
        let text = std::fs::read_to_string(&base_path).map_err(|e| Error::io(&base_path, e))?;
        let base: toml::Table = crate::experiment::common::parse_toml(&text, &base_path)?;
        let base_cfg = AnyConfig::from_toml(&text, &base_path)?;
        let seeds = s.seeds()?;
        let combos = combinations(s)?;
        if combos.len() * seeds.len() > MAX_POINTS {
            return Err(Error::config(
                "seeds",
                seeds.len(),
                format!("the sweep would have more than {MAX_POINTS} points"),
            ));
        }
        let points_dir = s.dir().join("points");
        let mut axes: Vec<String> = combos.iter().flat_map(|c| c.keys().cloned()).collect();
        axes.sort();
        axes.dedup();
        let mut points = vec![];
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for c in &combos {
            for &seed in &seeds {
                let index = points.len();
                let mut t = base.clone();
                for (field, v) in s.set.iter().chain(c) {
                    set_dotted(&mut t, field, v.clone())?;
                }
                t.insert("seed".into(), toml::Value::Integer(seed as i64));
                t.insert("out_dir".into(), toml::Value::String(points_dir.display().to_string()));
                t.insert("system".into(), toml::Value::String(base_cfg.system().into()));
                let toml_text = toml::to_string(&t)
                    .map_err(|e| Error::config("base", base_path.display(), format!("cannot be written back: {e}")))?;
                let cfg = AnyConfig::from_toml(&toml_text, &base_path).map_err(|e| point_error(index, c, seed, e))?;
                let hash = config_hash(&cfg);
                t.insert("name".into(), toml::Value::String(hash.clone()));
                if let Some(j) = seen.insert(hash.clone(), index) {
                    return Err(Error::config(
                        "grid",
                        describe(c, seed),
                        format!("points {j} and {index} resolve to the same config (an axis changes nothing)"),
                    ));
                }
                let config = toml::to_string(&t)
                    .map_err(|e| Error::config("base", base_path.display(), format!("cannot be written back: {e}")))?;
                points.push(Point { index, hash, seed, values: c.clone(), config });
            }
        }
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        Ok(Plan { name: s.name.clone(), system: base_cfg.system().into(), base: base_path, cwd, axes, points })
    }
}

fn describe(c: &BTreeMap<String, toml::Value>, seed: u64) -> String {
    let mut s: Vec<String> = c.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    s.push(format!("seed = {seed}"));
    s.join(", ")
}

fn point_error(index: usize, c: &BTreeMap<String, toml::Value>, seed: u64, e: Error) -> Error {
    match e {
        Error::Config { field, value, why } => {
            Error::Config { field, value, why: format!("{why} (sweep point {index}: {})", describe(c, seed)) }
        }
        // A field the system does not have (serde names it): the point's values, not a line of
        // the generated file.
        Error::Parse { why, .. } => Error::config(
            format!("sweep point {index}"),
            describe(c, seed),
            format!("the point's config does not parse: {why}"),
        ),
        other => other,
    }
}

/// The files of a sweep directory.
#[derive(Clone, Debug)]
pub struct SweepDir {
    /// The directory.
    pub root: PathBuf,
}

/// Where a point stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Its run directory is complete.
    Done,
    /// Its last try failed (`failed/<hash>.json`).
    Failed,
    /// Not run yet (or being run).
    Missing,
}

/// `failed/<hash>.json`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Failure {
    /// The point's index.
    pub index: usize,
    /// Tries so far (every `mecrl sweep` adds its own).
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

impl SweepDir {
    /// The sweep directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SweepDir { root: root.into() }
    }
    /// `sweep.json`.
    pub fn plan_file(&self) -> PathBuf {
        self.root.join("sweep.json")
    }
    /// Run directories live here.
    pub fn points(&self) -> PathBuf {
        self.root.join("points")
    }
    /// The run directory of a point.
    pub fn point(&self, hash: &str) -> PathBuf {
        self.points().join(hash)
    }
    /// The lock a worker holds while it runs the point.
    pub fn point_lock(&self, hash: &str) -> PathBuf {
        self.points().join(format!(".{hash}.lock"))
    }
    /// The failure record of a point.
    pub fn failure(&self, hash: &str) -> PathBuf {
        self.root.join("failed").join(format!("{hash}.json"))
    }
    /// The resolved config of point `index` (what its worker reads: O(1) per point).
    pub fn point_config(&self, index: usize) -> PathBuf {
        self.root.join("configs").join(format!("{index}.toml"))
    }
    /// A point's log of its last try (its stderr).
    pub fn log(&self, p: &Point) -> PathBuf {
        self.root.join("logs").join(format!("{}-{}.log", p.index, p.hash))
    }

    /// The plan in the directory, if any.
    pub fn read_plan(&self) -> Result<Option<Plan>> {
        read_json(&self.plan_file())
    }

    /// Write `plan`, or check that the directory already holds the same points: two different
    /// sweeps never share a directory.
    pub fn adopt(&self, plan: &Plan) -> Result<()> {
        std::fs::create_dir_all(self.points()).map_err(|e| Error::io(self.points(), e))?;
        match self.read_plan()? {
            Some(old) => {
                let hashes = |p: &Plan| p.points.iter().map(|x| x.hash.clone()).collect::<Vec<_>>();
                if hashes(&old) != hashes(plan) {
                    return Err(Error::config(
                        "name",
                        &plan.name,
                        format!(
                            "{} holds another sweep ({} points, not these {}): choose another name or out_dir",
                            self.root.display(),
                            old.points.len(),
                            plan.points.len()
                        ),
                    ));
                }
                self.write_configs(plan, true)
            }
            None => {
                // The configs first, the plan last: a directory with sweep.json is complete.
                self.write_configs(plan, false)?;
                write_json(&self.plan_file(), plan)
            }
        }
    }

    fn write_configs(&self, plan: &Plan, only_missing: bool) -> Result<()> {
        let dir = self.root.join("configs");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        for p in &plan.points {
            let f = self.point_config(p.index);
            if !(only_missing && f.is_file()) {
                crate::experiment::common::write_atomic(&f, p.config.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Where point `p` stands.
    pub fn state(&self, p: &Point) -> State {
        if self.point(&p.hash).join("manifest.json").is_file() {
            State::Done
        } else if self.failure(&p.hash).is_file() {
            State::Failed
        } else {
            State::Missing
        }
    }

    /// The failure record of a point, if any.
    pub fn read_failure(&self, p: &Point) -> Result<Option<Failure>> {
        read_json(&self.failure(&p.hash))
    }

    /// Record a failed try of point `index` (`hash`).
    pub fn record_failure(&self, index: usize, hash: &str, error: &str) -> Result<()> {
        let old: Option<Failure> = read_json(&self.failure(hash)).ok().flatten();
        let attempts = old.map_or(0, |f| f.attempts) + 1;
        let dir = self.root.join("failed");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        write_json(&self.failure(hash), &Failure { index, attempts, error: error.to_string() })
    }
}

/// The sweep-wide lock: one `mecrl sweep` (or `sweep report`) at a time on a directory. Held
/// until dropped; the OS releases it when the process dies, so a killed sweep never leaves it.
pub struct SweepLock {
    _file: std::fs::File,
}

pub use crate::experiment::rundir::lock_file;

impl SweepLock {
    /// Take the lock of `dir` or fail at once naming the directory.
    pub fn take(dir: &SweepDir) -> Result<Self> {
        std::fs::create_dir_all(&dir.root).map_err(|e| Error::io(&dir.root, e))?;
        let path = dir.root.join("sweep.lock");
        let f = lock_file(&path)?;
        match f.try_lock() {
            Ok(()) => Ok(SweepLock { _file: f }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::config(
                "out_dir",
                dir.root.display(),
                "another `mecrl sweep` is running on this directory (sweep.lock is held)",
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

/// What one `mecrl sweep` did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Points in the sweep.
    pub total: usize,
    /// Points complete before this sweep started.
    pub already: usize,
    /// Points this sweep ran to completion.
    pub ran: usize,
    /// Points that failed every try: (index, last error).
    pub failed: Vec<(usize, String)>,
    /// Wall time of the sweep, seconds: from reading the file to the report written (for a
    /// Slurm array, from the submission).
    pub wall_s: f64,
    /// The runs' own wall time (their manifests' `wall_s`), summed over the points run.
    pub runs_s: f64,
}

impl Summary {
    /// The share of the workers' time spent outside the runs themselves (process start, the
    /// backend, writing run directories, scheduling): 1 − runs_s / (workers · wall_s).
    pub fn overhead(&self, workers: usize) -> f64 {
        let cap = workers.max(1) as f64 * self.wall_s;
        if cap > 0.0 {
            1.0 - self.runs_s / cap
        } else {
            0.0
        }
    }
}

/// Points by state: (done, failed, missing).
pub fn counts(plan: &Plan, sd: &SweepDir) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for p in &plan.points {
        match sd.state(p) {
            State::Done => c.0 += 1,
            State::Failed => c.1 += 1,
            State::Missing => c.2 += 1,
        }
    }
    c
}

/// The run's own wall time from its manifest (0 when unreadable).
pub fn run_wall_s(sd: &SweepDir, hash: &str) -> f64 {
    std::fs::read(sd.point(hash).join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| m["wall_s"].as_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn dotted_fields_create_tables_and_refuse_scalars() {
        let mut t: toml::Table = toml::from_str("a = 1\n[mec]\nn_iotd = 3\n").unwrap();
        set_dotted(&mut t, "mec.n_iotd", 7.into()).unwrap();
        set_dotted(&mut t, "levy.population", 8.into()).unwrap();
        assert_eq!(t["mec"]["n_iotd"].as_integer(), Some(7));
        assert_eq!(t["levy"]["population"].as_integer(), Some(8));
        let e = set_dotted(&mut t, "a.b", 1.into()).unwrap_err();
        assert!(matches!(e, Error::Config { ref field, .. } if field == "a.b"), "{e}");
    }
}
