//! The sweep file: a base config, the axes that vary it (lists, ranges, grids, seeded random
//! samples, explicit points), the seeds, and the executors' settings. Parsed and checked whole
//! before anything runs: an error names the field and the value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::common::parse_toml;

/// Keys a sweep sets itself in every point's config: an axis may not name them.
pub const RESERVED: [&str; 4] = ["system", "name", "out_dir", "seed"];

/// A sweep file (`mecrl sweep SWEEP.toml`; docs/sweeps.md has the format).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// The sweep's name: its directory is `out_dir/name`.
    pub name: String,
    /// The base config (any system), relative to the sweep file.
    pub base: PathBuf,
    /// Seeds: a count `n` (seeds 1..=n) or an explicit list.
    #[serde(default = "default_seeds")]
    pub seeds: Seeds,
    /// Where the sweep directory is created, relative to the working directory.
    #[serde(default = "default_out")]
    pub out_dir: PathBuf,
    /// `local`, `ray` or `slurm` (`--executor` overrides).
    #[serde(default = "default_executor")]
    pub executor: String,
    /// A failed point is tried again up to this many times per `mecrl sweep`.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Fixed overrides of the base config in every point (dotted field → value).
    #[serde(default)]
    pub set: BTreeMap<String, toml::Value>,
    /// Axes combined by product: dotted config field → values.
    #[serde(default)]
    pub grid: BTreeMap<String, toml::Value>,
    /// Seeded random samples, each combined with every grid point.
    #[serde(default)]
    pub random: Option<RandomSpec>,
    /// Explicit points (dotted field → value), each combined with every grid point.
    #[serde(default)]
    pub points: Vec<BTreeMap<String, toml::Value>>,
    /// The `local` executor.
    #[serde(default)]
    pub local: LocalSpec,
    /// The `ray` executor.
    #[serde(default)]
    pub ray: RaySpec,
    /// The `slurm` executor.
    #[serde(default)]
    pub slurm: SlurmSpec,
    /// The report.
    #[serde(default)]
    pub report: ReportSpec,
}

fn default_seeds() -> Seeds {
    Seeds::Count(1)
}
fn default_out() -> PathBuf {
    PathBuf::from("sweeps")
}
fn default_executor() -> String {
    "local".into()
}
fn default_retries() -> u32 {
    1
}

/// The seeds of every configuration.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Seeds {
    /// Seeds 1..=n.
    Count(i64),
    /// These seeds.
    List(Vec<i64>),
}

/// One axis: an explicit list, or a generated one.
#[derive(Clone, Debug, PartialEq)]
pub enum AxisSpec {
    /// These values, in order.
    List(Vec<toml::Value>),
    /// `{ range = [start, stop, step] }` (stop included when reached) or
    /// `{ linspace = [first, last, count] }`.
    Generated(Generated),
}

/// A generated axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// `[start, stop, step]`: start, start + step, … up to stop (inclusive); integers stay integers.
    pub range: Option<Vec<toml::Value>>,
    /// `[first, last, count]`: `count` evenly spaced floats.
    pub linspace: Option<Vec<toml::Value>>,
}

/// `[random]`: `count` samples of the listed fields, drawn with mecrl's Philox from `seed`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct RandomSpec {
    /// How many samples.
    pub count: i64,
    /// The sampling seed (a different seed: different samples).
    #[serde(default = "default_sample_seed")]
    pub seed: u64,
    /// Dotted config field → distribution.
    #[serde(flatten)]
    pub fields: BTreeMap<String, Distribution>,
}

fn default_sample_seed() -> u64 {
    1
}

/// A distribution of a random axis.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Distribution {
    /// Uniform float in [low, high).
    Uniform([f64; 2]),
    /// exp(uniform in [ln low, ln high)); low > 0.
    LogUniform([f64; 2]),
    /// Uniform integer in [low, high] (both included).
    Int([i64; 2]),
    /// One of these values, uniformly.
    Choice(Vec<toml::Value>),
}

/// `[local]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSpec {
    /// Worker processes; 0: the cores divided by `threads` (one per device on a GPU backend).
    pub workers: usize,
    /// CPU threads of each point (RAYON_NUM_THREADS); 0: 1 when several workers share the cores.
    pub threads: usize,
}

/// `[ray]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RaySpec {
    /// The cluster (`ray.init(address=…)`): `auto`, or `host:port`; `--ray-address` overrides.
    pub address: String,
    /// The Python that has `ray` installed (runs `tools/sweep_ray.py`).
    pub python: String,
    /// CPUs each point asks of Ray (and its RAYON_NUM_THREADS).
    pub cpus_per_point: u32,
    /// The mecrl binary the workers run (it must exist on every node); empty: this one.
    pub mecrl: String,
}

impl Default for RaySpec {
    fn default() -> Self {
        RaySpec { address: "auto".into(), python: "python3".into(), cpus_per_point: 1, mecrl: String::new() }
    }
}

/// `[slurm]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SlurmSpec {
    /// `--time` of each array task (`HH:MM:SS`, `D-HH:MM:SS` or minutes).
    pub time: String,
    /// `--mem` of each array task (`512M`, `4G`).
    pub mem: String,
    /// `--cpus-per-task` (and RAYON_NUM_THREADS).
    pub cpus_per_task: u32,
    /// At most this many array tasks at once (`--array=…%throttle`); 0: no limit.
    pub throttle: u32,
    /// `--partition`; empty: the cluster's default.
    pub partition: String,
    /// More `#SBATCH` options, written as given (`--account=abc`).
    pub extra: Vec<String>,
    /// The mecrl binary the tasks run (on every node); empty: this one.
    pub mecrl: String,
}

impl Default for SlurmSpec {
    fn default() -> Self {
        SlurmSpec {
            time: "01:00:00".into(),
            mem: "4G".into(),
            cpus_per_task: 1,
            throttle: 0,
            partition: String::new(),
            extra: vec![],
            mecrl: String::new(),
        }
    }
}

/// `[report]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReportSpec {
    /// The metrics drawn as figures (names as in `summary.csv`); empty: every non-timing metric.
    pub metrics: Vec<String>,
}

/// The executors.
pub const EXECUTORS: [&str; 3] = ["local", "ray", "slurm"];

impl SweepFile {
    /// Read and check a sweep file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Parse and check sweep-file text (`path` names it in errors).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let s: SweepFile = parse_toml(text, path)?;
        s.validate()?;
        Ok(s)
    }

    /// The base config's path (relative to the sweep file's directory).
    pub fn base_path(&self, sweep_file: &Path) -> PathBuf {
        if self.base.is_absolute() {
            return self.base.clone();
        }
        sweep_file.parent().unwrap_or(Path::new(".")).join(&self.base)
    }

    /// The sweep directory.
    pub fn dir(&self) -> PathBuf {
        self.out_dir.join(&self.name)
    }

    /// Check every field that does not need the base config.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.name.contains(['/', '\\']) || self.name.starts_with('.') {
            return Err(Error::config("name", &self.name, "must be a non-empty file name not starting with `.`"));
        }
        if !EXECUTORS.contains(&self.executor.as_str()) {
            return Err(Error::config("executor", &self.executor, format!("expected one of {EXECUTORS:?}")));
        }
        self.seeds()?;
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for k in self.set.keys() {
            check_field(&format!("set.\"{k}\""), k)?;
            seen.insert(k, "set");
        }
        for (k, v) in &self.grid {
            check_field(&format!("grid.\"{k}\""), k)?;
            let vals = AxisSpec::parse(&format!("grid.\"{k}\""), v)?.values(&format!("grid.\"{k}\""))?;
            if vals.is_empty() {
                return Err(Error::config(format!("grid.\"{k}\""), v, "the axis is empty"));
            }
            if let Some(other) = seen.insert(k, "grid") {
                return Err(conflict(&format!("grid.\"{k}\""), k, other));
            }
        }
        if let Some(r) = &self.random {
            if r.count < 1 || r.count > 1_000_000 {
                return Err(Error::config("random.count", r.count, "must be in 1..=1000000"));
            }
            if r.fields.is_empty() {
                return Err(Error::config("random", "{}", "names no field to sample"));
            }
            for (k, d) in &r.fields {
                let field = format!("random.\"{k}\"");
                check_field(&field, k)?;
                d.check(&field)?;
                if let Some(other) = seen.insert(k, "random") {
                    return Err(conflict(&field, k, other));
                }
            }
        }
        let mut point_keys: BTreeMap<&str, ()> = BTreeMap::new();
        for (i, p) in self.points.iter().enumerate() {
            if p.is_empty() {
                return Err(Error::config(format!("points[{i}]"), "{}", "an explicit point sets no field"));
            }
            for k in p.keys() {
                check_field(&format!("points[{i}].\"{k}\""), k)?;
                point_keys.insert(k, ());
            }
        }
        for k in point_keys.keys() {
            if let Some(other) = seen.get(k) {
                return Err(conflict(&format!("points.\"{k}\""), k, other));
            }
        }
        if self.ray.cpus_per_point == 0 {
            return Err(Error::config("ray.cpus_per_point", 0, "must be at least 1"));
        }
        if self.slurm.cpus_per_task == 0 {
            return Err(Error::config("slurm.cpus_per_task", 0, "must be at least 1"));
        }
        check_slurm_time(&self.slurm.time)?;
        check_slurm_mem(&self.slurm.mem)?;
        for (i, x) in self.slurm.extra.iter().enumerate() {
            if !x.starts_with("--") || x.contains(['\n', '\r']) {
                return Err(Error::config(format!("slurm.extra[{i}]"), x, "must be one `--option[=value]`"));
            }
        }
        Ok(())
    }

    /// The seeds, checked (non-negative, distinct, at most 10,000).
    pub fn seeds(&self) -> Result<Vec<u64>> {
        let list: Vec<i64> = match &self.seeds {
            Seeds::Count(n) if *n < 1 || *n > 10_000 => {
                return Err(Error::config("seeds", n, "a seed count must be in 1..=10000"))
            }
            Seeds::Count(n) => (1..=*n).collect(),
            Seeds::List(l) if l.is_empty() => return Err(Error::config("seeds", "[]", "the seed list is empty")),
            Seeds::List(l) => l.clone(),
        };
        let mut out: Vec<u64> = vec![];
        for s in list {
            let Ok(u) = u64::try_from(s) else { return Err(Error::config("seeds", s, "a seed is non-negative")) };
            if out.contains(&u) {
                return Err(Error::config("seeds", s, "a seed is listed twice"));
            }
            out.push(u);
        }
        Ok(out)
    }
}

fn show(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "?".into())
}

fn conflict(field: &str, key: &str, other: &str) -> Error {
    Error::config(field, key, format!("conflicting axes: `{key}` is also varied in [{other}]"))
}

/// A dotted config field an axis may vary: non-empty segments, not a key the sweep sets.
fn check_field(field: &str, key: &str) -> Result<()> {
    if key.is_empty() || key.split('.').any(|s| s.is_empty()) {
        return Err(Error::config(field, key, "must be a dotted config field like `mec.n_iotd`"));
    }
    if RESERVED.contains(&key) {
        let why = if key == "seed" {
            "conflicting axes: the seeds come from `seeds`"
        } else {
            "is set by the sweep for every point and cannot be varied"
        };
        return Err(Error::config(field, key, why));
    }
    Ok(())
}

fn check_slurm_time(t: &str) -> Result<()> {
    let ok = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-')
        && t.split(['-', ':']).all(|p| !p.is_empty() && p.len() <= 4);
    if ok {
        Ok(())
    } else {
        Err(Error::config("slurm.time", t, "expected minutes, HH:MM:SS or D-HH:MM:SS"))
    }
}

fn check_slurm_mem(m: &str) -> Result<()> {
    let digits = m.trim_end_matches(['K', 'M', 'G', 'T']);
    let ok = !digits.is_empty() && digits.len() + 1 >= m.len() && digits.chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::config("slurm.mem", m, "expected a size like 512M or 4G"))
    }
}

fn number(field: &str, v: &toml::Value) -> Result<f64> {
    match v {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Ok(*f),
        _ => Err(Error::config(field, v, "must be a finite number")),
    }
}

impl AxisSpec {
    /// The axis written at `field`: a list, `{ range = [...] }` or `{ linspace = [...] }`.
    pub fn parse(field: &str, v: &toml::Value) -> Result<Self> {
        let why =
            "expected a list of values, `{ range = [start, stop, step] }` or `{ linspace = [first, last, count] }`";
        match v {
            toml::Value::Array(a) => Ok(AxisSpec::List(a.clone())),
            toml::Value::Table(t) if t.len() == 1 => {
                let list = |x: &toml::Value| x.as_array().cloned().ok_or_else(|| Error::config(field, v, why));
                match t.iter().next() {
                    Some((k, x)) if k == "range" => {
                        Ok(AxisSpec::Generated(Generated { range: Some(list(x)?), linspace: None }))
                    }
                    Some((k, x)) if k == "linspace" => {
                        Ok(AxisSpec::Generated(Generated { range: None, linspace: Some(list(x)?) }))
                    }
                    _ => Err(Error::config(field, v, why)),
                }
            }
            _ => Err(Error::config(field, v, why)),
        }
    }

    /// The axis's values, in order.
    pub fn values(&self, field: &str) -> Result<Vec<toml::Value>> {
        match self {
            AxisSpec::List(v) => Ok(v.clone()),
            AxisSpec::Generated(Generated { range: Some(r), linspace: None }) => range(field, r),
            AxisSpec::Generated(Generated { range: None, linspace: Some(l) }) => linspace(field, l),
            AxisSpec::Generated(_) => Err(Error::config(field, "?", "expected one of `range` and `linspace`")),
        }
    }
}

/// Most values a generated axis may have.
const MAX_AXIS: usize = 100_000;

fn range(field: &str, r: &[toml::Value]) -> Result<Vec<toml::Value>> {
    let field = format!("{field}.range");
    let [a, b, s] = r else { return Err(Error::config(&field, show(&r), "expected [start, stop, step]")) };
    if let (toml::Value::Integer(a), toml::Value::Integer(b), toml::Value::Integer(s)) = (a, b, s) {
        if *s <= 0 {
            return Err(Error::config(&field, show(&r), "the step must be positive"));
        }
        if b < a {
            return Err(Error::config(&field, show(&r), "the axis is empty (stop < start)"));
        }
        let n = ((b - a) / s + 1) as usize;
        if n > MAX_AXIS {
            return Err(Error::config(&field, show(&r), format!("{n} values; at most {MAX_AXIS}")));
        }
        return Ok((0..n as i64).map(|k| toml::Value::Integer(a + k * s)).collect());
    }
    let (a, b, s) = (number(&field, a)?, number(&field, b)?, number(&field, s)?);
    if s <= 0.0 {
        return Err(Error::config(&field, show(&r), "the step must be positive"));
    }
    if b < a {
        return Err(Error::config(&field, show(&r), "the axis is empty (stop < start)"));
    }
    // k·step from start (no accumulated error); stop counts when within 1e-9 steps.
    let n = ((b - a) / s + 1e-9).floor() as usize + 1;
    if n > MAX_AXIS {
        return Err(Error::config(&field, show(&r), format!("{n} values; at most {MAX_AXIS}")));
    }
    Ok((0..n).map(|k| toml::Value::Float(a + k as f64 * s)).collect())
}

fn linspace(field: &str, l: &[toml::Value]) -> Result<Vec<toml::Value>> {
    let field = format!("{field}.linspace");
    let [a, b, n] = l else { return Err(Error::config(&field, show(&l), "expected [first, last, count]")) };
    let (a, b) = (number(&field, a)?, number(&field, b)?);
    let n = match n {
        toml::Value::Integer(n) if (1..=MAX_AXIS as i64).contains(n) => *n as usize,
        _ => return Err(Error::config(&field, show(&l), format!("the count must be an integer in 1..={MAX_AXIS}"))),
    };
    if n == 1 {
        return Ok(vec![toml::Value::Float(a)]);
    }
    Ok((0..n).map(|k| toml::Value::Float(a + (b - a) * k as f64 / (n - 1) as f64)).collect())
}

impl Distribution {
    fn check(&self, field: &str) -> Result<()> {
        match self {
            Distribution::Uniform([lo, hi]) if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
                Err(Error::config(format!("{field}.uniform"), show(&[lo, hi]), "expected finite low < high"))
            }
            Distribution::LogUniform([lo, hi]) if !(lo.is_finite() && hi.is_finite() && *lo > 0.0 && lo < hi) => {
                Err(Error::config(format!("{field}.log_uniform"), show(&[lo, hi]), "expected 0 < low < high"))
            }
            Distribution::Int([lo, hi]) if lo > hi => {
                Err(Error::config(format!("{field}.int"), show(&[lo, hi]), "expected low <= high"))
            }
            Distribution::Choice(v) if v.is_empty() => {
                Err(Error::config(format!("{field}.choice"), "[]", "the choice is empty"))
            }
            _ => Ok(()),
        }
    }

    /// The value for the 53-bit uniform `u` in [0, 1).
    pub fn sample(&self, u: f64) -> toml::Value {
        match self {
            Distribution::Uniform([lo, hi]) => toml::Value::Float(lo + (hi - lo) * u),
            Distribution::LogUniform([lo, hi]) => toml::Value::Float((lo.ln() + (hi.ln() - lo.ln()) * u).exp()),
            Distribution::Int([lo, hi]) => {
                let span = (*hi as i128 - *lo as i128 + 1) as f64;
                toml::Value::Integer((*lo as i128 + ((u * span) as i128).min(span as i128 - 1)) as i64)
            }
            Distribution::Choice(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
        }
    }
}

/// Uniform in [0, 1) with 53 bits: Philox of (sample, field) on the sweep's stream.
pub fn sample_uniform(seed: u64, sample: u32, field: u32) -> f64 {
    use crate::rng::{counter, key_of, philox4x32_10, stream};
    let w = philox4x32_10(counter(sample, field, 0, stream::SWEEP_SAMPLE, 0), key_of(seed));
    (((w[0] as u64) << 32 | w[1] as u64) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SweepFile> {
        let s: SweepFile = parse_toml(text, Path::new("s.toml"))?;
        s.validate()?;
        Ok(s)
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::Config { field, .. } => field,
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn ranges_and_linspaces_by_hand() {
        let ints = range("r", &[1.into(), 9.into(), 4.into()]).unwrap();
        assert_eq!(ints, vec![toml::Value::Integer(1), 5.into(), 9.into()]);
        let fl = range("r", &[0.1.into(), 0.5.into(), 0.2.into()]).unwrap();
        let f: Vec<f64> = fl.iter().map(|v| v.as_float().unwrap()).collect();
        assert_eq!(f.len(), 3, "0.1, 0.3, 0.5: the stop is reached within rounding");
        assert!((f[2] - 0.5).abs() < 1e-12);
        let ls = linspace("l", &[1.0.into(), 2.0.into(), 5.into()]).unwrap();
        assert_eq!(ls[1].as_float(), Some(1.25));
        assert_eq!(ls[4].as_float(), Some(2.0));
    }

    #[test]
    fn bad_files_name_the_field() {
        let base = "name = \"s\"\nbase = \"b.toml\"\n";
        let cases = [
            ("bogus = 1\n", ""),
            ("[grid]\n\"mec.n_iotd\" = 5\n", "grid.\"mec.n_iotd\""),
            ("[grid]\n\"mec.n_iotd\" = { steps = [1, 2] }\n", "grid.\"mec.n_iotd\""),
            ("[grid]\n\"mec.n_iotd\" = []\n", "grid.\"mec.n_iotd\""),
            ("[grid]\n\"mec.n_iotd\" = { range = [5, 1, 1] }\n", "grid.\"mec.n_iotd\".range"),
            ("[grid]\n\"mec.n_iotd\" = { range = [1, 5, 0] }\n", "grid.\"mec.n_iotd\".range"),
            ("[grid]\nseed = [1, 2]\n", "grid.\"seed\""),
            ("[grid]\nname = [\"a\"]\n", "grid.\"name\""),
            (
                "[grid]\n\"mec.n_iotd\" = [10]\n[random]\ncount = 2\n\"mec.n_iotd\" = { int = [1, 5] }\n",
                "random.\"mec.n_iotd\"",
            ),
            ("[grid]\n\"mec.n_iotd\" = [10]\n[[points]]\n\"mec.n_iotd\" = 5\n", "points.\"mec.n_iotd\""),
            ("[random]\ncount = 0\n\"a.b\" = { uniform = [0.0, 1.0] }\n", "random.count"),
            ("[random]\ncount = 2\n\"a.b\" = { log_uniform = [0.0, 1.0] }\n", "random.\"a.b\".log_uniform"),
            ("seeds = 0\n", "seeds"),
            ("seeds = [1, 1]\n", "seeds"),
            ("executor = \"k8s\"\n", "executor"),
            ("[slurm]\nmem = \"lots\"\n", "slurm.mem"),
            ("[grid]\n\"a..b\" = [1]\n", "grid.\"a..b\""),
            ("[set]\n\"mec.n_iotd\" = 5\n[grid]\n\"mec.n_iotd\" = [10]\n", "grid.\"mec.n_iotd\""),
        ];
        for (extra, field) in cases {
            let e = parse(&format!("{base}{extra}")).expect_err(extra);
            if field.is_empty() {
                assert!(matches!(e, Error::Parse { .. }), "{extra}: {e}");
            } else {
                assert_eq!(field_of(e), field, "{extra}");
            }
        }
    }

    #[test]
    fn samples_are_seeded_and_in_range() {
        let d = Distribution::Int([3, 5]);
        let xs: Vec<i64> = (0..200).map(|k| d.sample(sample_uniform(7, k, 0)).as_integer().unwrap()).collect();
        assert!(xs.iter().all(|x| (3..=5).contains(x)));
        assert!((3..=5).all(|v| xs.contains(&v)), "every integer of the range is drawn");
        assert_eq!(sample_uniform(7, 3, 1), sample_uniform(7, 3, 1));
        assert_ne!(sample_uniform(7, 3, 1), sample_uniform(8, 3, 1));
        let lu = Distribution::LogUniform([1e-4, 1e-2]);
        let v = lu.sample(0.5).as_float().unwrap();
        assert!((v - 1e-3).abs() < 1e-12, "the log-uniform midpoint is the geometric mean");
    }
}
