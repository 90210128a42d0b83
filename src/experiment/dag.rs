//! `mecrl run` for the MRLCO `dag` system (`configs/dag.toml`): generated DAG data sets laid out
//! as the MRLCO paper's experiment grids (§5), each evaluated with the baselines of Table 3.
//!
//! A grid is the product of its axes: task numbers `n` × topologies × rates `rate_mbps`. With
//! `topology = "per_dataset"` every (fat, density) pair is a data set of its own (experiment 1:
//! 25 sets); with `"per_graph"` each graph draws its fat and density from the lists (experiments
//! 2 and 3). A data set's graphs depend on (seed, grid, n, topology) only, so the rates of a grid
//! evaluate the same graphs (experiment 3). The paper picks its test sets at random among the
//! sets of experiment 1 (`pick_test`), and lists them for experiments 2 and 3 (`role`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendKind};
use crate::env::dag::eval::{evaluate, DagMethod};
use crate::env::dag::gen::{self, DagGenConfig};
use crate::env::dag::model::{DagSystem, Prepared, Scratch};
use crate::env::dag::{dot, optimal, Dag};
use crate::error::{Error, Result};
use crate::rng;

/// Philox stream of the per-graph topology draws and the test-set pick.
const TOPOLOGY_STREAM: u32 = 0x0D02;

/// Whether a data set is used to train or to test a learner (the heuristics ignore it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A training ("meta-training") set.
    Train,
    /// An unseen testing set (Table 3's rows).
    Test,
}

/// How a grid's data sets get their topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// One data set per (fat, density) pair (experiment 1).
    PerDataset,
    /// Each graph draws fat and density uniformly from the lists (experiments 2 and 3).
    PerGraph,
}

/// One experiment grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DagGrid {
    /// Label (the `grid` column).
    pub name: String,
    /// Role of every data set of the grid (unless `pick_test` is set).
    pub role: Role,
    /// Task numbers; one data set each.
    pub n: Vec<usize>,
    /// DAGGEN `fat` values.
    pub fat: Vec<f64>,
    /// DAGGEN `density` values.
    pub density: Vec<f64>,
    /// How topologies are assigned.
    pub topology: Topology,
    /// Uplink = downlink rates (Mbps), one data set row each; empty = the `[dag]` rates.
    pub rate_mbps: Vec<f64>,
    /// Graphs per data set (the paper: 100).
    pub graphs: usize,
    /// When > 0: this many of the grid's (n, topology) sets, drawn at random, are the test
    /// sets and the others training sets (experiment 1: 3 of 25).
    pub pick_test: usize,
}

impl Default for DagGrid {
    fn default() -> Self {
        DagGrid {
            name: "grid".into(),
            role: Role::Test,
            n: vec![20],
            fat: vec![0.5],
            density: vec![0.5],
            topology: Topology::PerDataset,
            rate_mbps: vec![],
            graphs: 100,
            pick_test: 0,
        }
    }
}

/// `mecrl run` configuration of the `dag` system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DagRunConfig {
    /// Must be `"dag"`.
    pub system: String,
    /// Name of the run (run directory prefix).
    pub name: String,
    /// Master seed (every graph derives from it).
    pub seed: u64,
    /// `auto`, `cpu`, `wgpu` or `cuda`: where the exhaustive optimum runs (cpu: the
    /// branch-and-bound search in f64; a device: the every-plan kernel in f32).
    pub backend: String,
    /// Where run directories are created.
    pub out_dir: PathBuf,
    /// Methods, in table order.
    pub methods: Vec<DagMethod>,
    /// Also write every generated graph as DOT under `dags/<dataset>/` in the run directory.
    pub write_dot: bool,
    /// The UE–MEC system (semantics, speeds, default rate, the optimum's size limit).
    pub dag: DagSystem,
    /// The generator (its `n`, `fat` and `density` are set by the grids).
    pub dag_gen: DagGenConfig,
    /// The experiment grids.
    pub grid: Vec<DagGrid>,
}

impl Default for DagRunConfig {
    fn default() -> Self {
        DagRunConfig {
            system: "dag".into(),
            name: "dag".into(),
            seed: 1,
            backend: "cpu".into(),
            out_dir: PathBuf::from("runs"),
            methods: vec![
                DagMethod::Optimal,
                DagMethod::Heft,
                DagMethod::Greedy,
                DagMethod::AllLocal,
                DagMethod::AllMec,
            ],
            write_dot: false,
            dag: DagSystem::default(),
            dag_gen: DagGenConfig::default(),
            grid: vec![DagGrid::default()],
        }
    }
}

/// One data set row: a (grid, n, topology) set of graphs evaluated at one rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dataset {
    /// Grid label.
    pub grid: String,
    /// `<grid>-<k>`: the graph set (shared by the rates of a grid).
    pub set: String,
    /// Train or test.
    pub role: Role,
    /// Task number.
    pub n: usize,
    /// fat and density (per-data-set topology), or `None` (drawn per graph).
    pub topology: Option<(f64, f64)>,
    /// Uplink = downlink rate (Mbps).
    pub rate_mbps: f64,
}

impl DagRunConfig {
    /// Parse and validate TOML text (`path` is used in error messages).
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self> {
        let cfg: DagRunConfig = super::common::parse_toml(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        super::common::check_common("dag", &self.system, &self.name, &self.backend)?;
        if self.methods.is_empty() {
            return Err(Error::config("methods", "[]", "list at least one method"));
        }
        self.dag.validate()?;
        self.dag_gen.validate()?;
        if self.grid.is_empty() {
            return Err(Error::config("grid", "[]", "list at least one [[grid]]"));
        }
        for (g, gr) in self.grid.iter().enumerate() {
            let f = |x: &str| format!("grid[{g}].{x}");
            if gr.name.is_empty() || gr.name.contains(['/', '\\', ',']) {
                return Err(Error::config(f("name"), &gr.name, "must be non-empty, without '/', '\\' or ','"));
            }
            if self.grid[..g].iter().any(|o| o.name == gr.name) {
                return Err(Error::config(f("name"), &gr.name, "grid names must be unique"));
            }
            for (field, list) in [("n", gr.n.len()), ("fat", gr.fat.len()), ("density", gr.density.len())] {
                if list == 0 {
                    return Err(Error::config(f(field), "[]", "list at least one value"));
                }
            }
            for (k, &n) in gr.n.iter().enumerate() {
                let c = DagGenConfig { n, ..self.dag_gen.clone() };
                c.validate().map_err(|e| rename(e, &format!("grid[{g}].n[{k}]")))?;
            }
            for (field, list) in [("fat", &gr.fat), ("density", &gr.density)] {
                for (k, &v) in list.iter().enumerate() {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(Error::config(f(&format!("{field}[{k}]")), v, "must be in [0, 1]"));
                    }
                }
            }
            for (k, &r) in gr.rate_mbps.iter().enumerate() {
                if !(r.is_finite() && r > 0.0) {
                    return Err(Error::config(f(&format!("rate_mbps[{k}]")), r, "must be a finite number > 0"));
                }
            }
            if gr.graphs == 0 {
                return Err(Error::config(f("graphs"), 0, "must be >= 1"));
            }
            let sets = gr.n.len() * self.topologies(gr).len();
            if gr.pick_test > sets {
                return Err(Error::config(f("pick_test"), gr.pick_test, format!("the grid has only {sets} sets")));
            }
        }
        Ok(())
    }

    /// Units of progress: one per evaluated graph (all methods, one rate).
    pub fn work_units(&self) -> u64 {
        self.grid
            .iter()
            .map(|g| (g.n.len() * self.topologies(g).len() * g.graphs * g.rate_mbps.len().max(1)) as u64)
            .sum()
    }

    fn topologies(&self, g: &DagGrid) -> Vec<Option<(f64, f64)>> {
        match g.topology {
            Topology::PerDataset => g.fat.iter().flat_map(|&f| g.density.iter().map(move |&d| Some((f, d)))).collect(),
            Topology::PerGraph => vec![None],
        }
    }

    /// The graph sets of grid `gi`: (set index within the grid, n, topology, role).
    fn sets(&self, gi: usize) -> Vec<GraphSet> {
        let g = &self.grid[gi];
        let mut out = vec![];
        for &n in &g.n {
            for t in self.topologies(g) {
                out.push((out.len(), n, t, g.role));
            }
        }
        if g.pick_test > 0 {
            // Fisher–Yates with Philox: the first `pick_test` of the permutation are the tests.
            let key = rng::key_of(rng::derive_seed(self.seed, 0x7E57_0000 + gi as u64));
            let mut idx: Vec<usize> = (0..out.len()).collect();
            for i in (1..idx.len()).rev() {
                let w = rng::philox4x32_10([i as u32, gi as u32, 1, TOPOLOGY_STREAM], key)[0];
                idx.swap(i, rng::uniform_index(w, i as u32 + 1) as usize);
            }
            for (rank, &s) in idx.iter().enumerate() {
                out[s].3 = if rank < g.pick_test { Role::Test } else { Role::Train };
            }
        }
        out
    }

    /// Graph `k` of set `s` of grid `gi`: a pure function of the seed and those indices.
    pub fn graph(&self, gi: usize, s: usize, n: usize, topology: Option<(f64, f64)>, k: usize) -> Result<Dag> {
        let g = &self.grid[gi];
        let set_seed = rng::derive_seed(self.seed, ((gi as u64) << 32) | s as u64);
        let (fat, density) = topology.unwrap_or_else(|| {
            let w = rng::philox4x32_10([k as u32, 0, 0, TOPOLOGY_STREAM], rng::key_of(set_seed));
            (
                g.fat[rng::uniform_index(w[0], g.fat.len() as u32) as usize],
                g.density[rng::uniform_index(w[1], g.density.len() as u32) as usize],
            )
        });
        gen::generate(&DagGenConfig { n, fat, density, ..self.dag_gen.clone() }, set_seed, k as u32)
    }
}

/// The graphs of one data set at one rate: a learning task of MRLCO.
#[derive(Clone, Debug)]
pub struct TaskData {
    /// The data set (grid, set, role, n, topology, rate).
    pub info: Dataset,
    /// The system at the set's rate.
    pub sys: DagSystem,
    /// The graphs.
    pub dags: Vec<Dag>,
}

impl DagRunConfig {
    /// How many (graph set, rate) pairs of role `role` the grids named in `grids` hold.
    pub fn count_sets(&self, grids: &[String], role: Role) -> usize {
        let mut k = 0;
        for (gi, g) in self.grid.iter().enumerate() {
            if grids.is_empty() || grids.contains(&g.name) {
                let rates = g.rate_mbps.len().max(1);
                k += self.sets(gi).iter().filter(|s| s.3 == role).count() * rates;
            }
        }
        k
    }

    /// Every (graph set, rate) of the grids named in `grids` (every grid when empty), in grid,
    /// set and rate order, with its graphs generated. An unknown grid name is a config error
    /// naming `field`.
    pub fn task_data(&self, grids: &[String], field: &str) -> Result<Vec<TaskData>> {
        if let Some(bad) = grids.iter().find(|g| !self.grid.iter().any(|x| &x.name == *g)) {
            return Err(Error::config(field, bad, "names no [[grid]]"));
        }
        let mut out = vec![];
        for (gi, g) in self.grid.iter().enumerate() {
            if !grids.is_empty() && !grids.contains(&g.name) {
                continue;
            }
            for (s, n, topology, role) in self.sets(gi) {
                let dags: Vec<Dag> =
                    (0..g.graphs).into_par_iter().map(|k| self.graph(gi, s, n, topology, k)).collect::<Result<_>>()?;
                let rates = if g.rate_mbps.is_empty() { vec![self.dag.rate_up_mbps] } else { g.rate_mbps.clone() };
                for &rate in &rates {
                    let sys = if g.rate_mbps.is_empty() {
                        self.dag.clone()
                    } else {
                        DagSystem { rate_up_mbps: rate, rate_down_mbps: rate, ..self.dag.clone() }
                    };
                    let info = Dataset {
                        grid: g.name.clone(),
                        set: format!("{}-{s}", g.name),
                        role,
                        n,
                        topology,
                        rate_mbps: rate,
                    };
                    out.push(TaskData { info, sys, dags: dags.clone() });
                }
            }
        }
        Ok(out)
    }
}

/// A graph set of a grid: its index in the grid, task number, topology (fat, density) and role.
type GraphSet = (usize, usize, Option<(f64, f64)>, Role);

/// Rename the field of a config error (the generator's `n` is the grid's `n[k]` here).
fn rename(e: Error, field: &str) -> Error {
    match e {
        Error::Config { value, why, .. } => Error::config(field, value, why),
        e => e,
    }
}

/// Mean of the present values (None when a method was n/a for every graph).
fn mean(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let (s, k) = v.fold((0.0, 0usize), |(s, k), x| x.map_or((s, k), |x| (s + x, k + 1)));
    (k > 0).then(|| s / k as f64)
}

/// Evaluate every data set of `cfg`. `tick` advances a progress bar (one unit per graph and rate).
pub fn run(cfg: &DagRunConfig, backend: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<super::common::Report> {
    cfg.validate()?;
    let methods = &cfg.methods;
    let on_device = backend.kind() != BackendKind::Cpu;
    let mut rows: Vec<(Dataset, Vec<Option<f64>>)> = vec![];
    let mut graph_csv = String::from("grid,set,rate_mbps,graph,tasks");
    for m in methods {
        graph_csv.push(',');
        graph_csv.push_str(m.name());
    }
    graph_csv.push('\n');
    let mut files = vec![];
    for (gi, g) in cfg.grid.iter().enumerate() {
        for (s, n, topology, role) in cfg.sets(gi) {
            let set = format!("{}-{s}", g.name);
            let dags: Vec<Dag> =
                (0..g.graphs).into_par_iter().map(|k| cfg.graph(gi, s, n, topology, k)).collect::<Result<_>>()?;
            if cfg.write_dot {
                for (k, d) in dags.iter().enumerate() {
                    files.push((format!("dags/{set}/random.{n}.{k}.gv"), dot::write_dot(d).into_bytes()));
                }
            }
            let rates = if g.rate_mbps.is_empty() { vec![cfg.dag.rate_up_mbps] } else { g.rate_mbps.clone() };
            for &rate in &rates {
                let sys = if g.rate_mbps.is_empty() {
                    cfg.dag.clone()
                } else {
                    DagSystem { rate_up_mbps: rate, rate_down_mbps: rate, ..cfg.dag.clone() }
                };
                let prepared: Vec<Prepared> = dags.iter().map(|d| Prepared::new(d, &sys)).collect::<Result<_>>()?;
                let device_opt = if on_device && methods.contains(&DagMethod::Optimal) && n <= sys.max_optimal_tasks {
                    Some(optimal::optimal_batch(&*backend, &prepared)?)
                } else {
                    None
                };
                let per_graph: Vec<Vec<Option<f64>>> = dags
                    .par_iter()
                    .zip(&prepared)
                    .enumerate()
                    .map(|(k, (d, p))| {
                        let mut scratch = Scratch::new(d.n());
                        methods
                            .iter()
                            .map(|&m| match (&device_opt, m) {
                                (Some(o), DagMethod::Optimal) => Ok(Some(o[k].0 as f64)),
                                _ => evaluate(p, d, &sys, m, &mut scratch),
                            })
                            .collect()
                    })
                    .collect::<Result<_>>()?;
                tick(dags.len() as u64);
                for (k, vals) in per_graph.iter().enumerate() {
                    graph_csv.push_str(&format!("{},{set},{rate},{k},{n}", g.name));
                    for v in vals {
                        graph_csv.push(',');
                        if let Some(v) = v {
                            graph_csv.push_str(&format!("{v:.9}"));
                        }
                    }
                    graph_csv.push('\n');
                }
                let means = (0..methods.len()).map(|j| mean(per_graph.iter().map(|r| r[j]))).collect();
                let ds = Dataset { grid: g.name.clone(), set: set.clone(), role, n, topology, rate_mbps: rate };
                rows.push((ds, means));
            }
        }
    }
    let mut csv = String::from("grid,set,role,n,fat,density,rate_mbps,graphs");
    for m in methods {
        csv.push(',');
        csv.push_str(m.name());
    }
    csv.push('\n');
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.9}")).unwrap_or_default();
    for (d, means) in &rows {
        let (f, de) = d.topology.map_or((String::new(), String::new()), |(f, de)| (f.to_string(), de.to_string()));
        let role = if d.role == Role::Test { "test" } else { "train" };
        let graphs = cfg.grid.iter().find(|g| g.name == d.grid).map_or(0, |g| g.graphs);
        csv.push_str(&format!("{},{},{role},{},{f},{de},{},{graphs}", d.grid, d.set, d.n, d.rate_mbps));
        for &m in means {
            csv.push(',');
            csv.push_str(&opt(m));
        }
        csv.push('\n');
    }
    files.insert(0, ("datasets.csv".into(), csv.into_bytes()));
    files.insert(1, ("graphs.csv".into(), graph_csv.into_bytes()));

    let table = table(cfg, &rows);
    let mut by_grid: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for (d, means) in &rows {
        let mut o = serde_json::json!({"set": d.set, "role": d.role, "n": d.n, "topology": d.topology,
            "rate_mbps": d.rate_mbps});
        for (m, v) in methods.iter().zip(means) {
            o[m.name()] = serde_json::json!(v);
        }
        by_grid.entry(d.grid.clone()).or_default().push(o);
    }
    let backend_desc =
        if on_device { backend.describe() } else { format!("{} (branch-and-bound optimum)", backend.describe()) };
    Ok(super::common::Report { table, files, summary: serde_json::json!(by_grid), backend: backend_desc })
}

/// Table 3's layout: the test sets of each grid (mean makespan per method, seconds), then the
/// mean over the training sets.
fn table(cfg: &DagRunConfig, rows: &[(Dataset, Vec<Option<f64>>)]) -> String {
    let methods = &cfg.methods;
    // Row labels first: the column of numbers starts after the longest one.
    let mut labels: Vec<(Vec<String>, Option<String>)> = vec![];
    for g in &cfg.grid {
        let mine: Vec<_> = rows.iter().filter(|(d, _)| d.grid == g.name).collect();
        let tests = mine
            .iter()
            .filter(|(d, _)| d.role == Role::Test)
            .map(|(d, _)| {
                let topo = d.topology.map(|(f, de)| format!(" fat {f} dens {de}")).unwrap_or_default();
                format!("{} n={}{topo} {} Mbps", d.grid, d.n, d.rate_mbps)
            })
            .collect();
        let n_train = mine.iter().filter(|(d, _)| d.role == Role::Train).count();
        labels.push((tests, (n_train > 0).then(|| format!("{}: {n_train} training sets (mean)", g.name))));
    }
    let head = "test set (mean makespan, s)";
    let w = labels
        .iter()
        .flat_map(|(t, tr)| t.iter().chain(tr.iter()))
        .map(|l| l.chars().count())
        .chain([head.chars().count()])
        .max()
        .unwrap_or(0);
    let mut s = format!("{head:<w$}");
    for m in methods {
        s.push_str(&format!(" {:>10}", m.name()));
    }
    s.push('\n');
    let cell = |v: Option<f64>| v.map_or(format!(" {:>10}", "n/a"), |x| format!(" {x:>10.4}"));
    for (g, (test_labels, train_label)) in cfg.grid.iter().zip(&labels) {
        let mine: Vec<_> = rows.iter().filter(|(d, _)| d.grid == g.name).collect();
        for ((_, means), label) in mine.iter().filter(|(d, _)| d.role == Role::Test).zip(test_labels) {
            s.push_str(&format!("{label:<w$}"));
            for &m in means {
                s.push_str(&cell(m));
            }
            s.push('\n');
        }
        let train: Vec<_> = mine.iter().filter(|(d, _)| d.role == Role::Train).collect();
        if let Some(label) = train_label {
            s.push_str(&format!("{label:<w$}"));
            for j in 0..methods.len() {
                // a mean over every set, or n/a (the optimum of the larger sets is missing)
                let all: Option<Vec<f64>> = train.iter().map(|(_, m)| m[j]).collect();
                s.push_str(&cell(all.and_then(|v| mean(v.into_iter().map(Some)))));
            }
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Result<DagRunConfig> {
        DagRunConfig::from_toml(text, std::path::Path::new("t.toml"))
    }

    #[test]
    fn grids_expand_to_sets_and_rates() {
        let c = cfg(r#"
system = "dag"
[[grid]]
name = "topo"
fat = [0.4, 0.8]
density = [0.5, 0.6, 0.7]
graphs = 3
pick_test = 2
[[grid]]
name = "rate"
topology = "per_graph"
role = "train"
n = [6, 7]
fat = [0.4, 0.8]
density = [0.4, 0.8]
rate_mbps = [4.0, 7.0, 10.0]
graphs = 2
"#)
        .unwrap();
        assert_eq!(c.sets(0).len(), 6);
        assert_eq!(c.sets(0).iter().filter(|s| s.3 == Role::Test).count(), 2);
        assert_eq!(c.sets(1).len(), 2);
        assert!(c.sets(1).iter().all(|s| s.3 == Role::Train));
        assert_eq!(c.work_units(), 6 * 3 + 2 * 2 * 3);
        // per-graph topology: drawn from the lists, and a pure function of the indices
        let d = c.graph(1, 0, 6, None, 1).unwrap();
        assert_eq!(d, c.graph(1, 0, 6, None, 1).unwrap());
        assert_eq!(d.n(), 6);
        let cpu = crate::backend::create(BackendKind::Cpu).unwrap();
        let r = run(&c, cpu, &mut |_| {}).unwrap();
        let csv = String::from_utf8(r.files[0].1.clone()).unwrap();
        // 6 topology sets at the default rate + 2 sets × 3 rates
        assert_eq!(csv.lines().count(), 1 + 6 + 6, "{csv}");
        assert!(csv.lines().nth(7).unwrap().starts_with("rate,rate-0,train,6,,,4,2,"), "{csv}");
        // the rates of a grid evaluate the same graphs: all-local does not depend on the rate
        let local: Vec<&str> =
            csv.lines().filter(|l| l.starts_with("rate,rate-1")).map(|l| l.split(',').nth(11).unwrap()).collect();
        assert_eq!(local.len(), 3);
        assert!(local.iter().all(|x| *x == local[0]), "{local:?}");
        // and a faster link makes all-MEC faster
        let mec: Vec<f64> = csv
            .lines()
            .filter(|l| l.starts_with("rate,rate-1"))
            .map(|l| l.split(',').nth(12).unwrap().parse().unwrap())
            .collect();
        assert!(mec[0] > mec[1] && mec[1] > mec[2], "{mec:?}");
    }

    #[test]
    fn optimal_is_na_above_the_limit_and_bounds_the_others() {
        let c = cfg(r#"
system = "dag"
[dag]
max_optimal_tasks = 10
heft = "rank_order_plan"
[[grid]]
name = "g"
n = [9, 12]
graphs = 4
"#)
        .unwrap();
        let cpu = crate::backend::create(BackendKind::Cpu).unwrap();
        let r = run(&c, cpu, &mut |_| {}).unwrap();
        let csv = String::from_utf8(r.files[0].1.clone()).unwrap();
        let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
        // columns: grid,set,role,n,fat,density,rate,graphs,optimal,heft,greedy,all_local,all_mec
        let opt: f64 = rows[0][8].parse().unwrap();
        for v in &rows[0][9..13] {
            assert!(opt <= v.parse::<f64>().unwrap() + 1e-12, "{csv}");
        }
        assert_eq!(rows[1][8], "", "n = 12 > 10: no optimum");
        assert!(r.table.contains("n/a"), "{}", r.table);
        let graphs = String::from_utf8(r.files[1].1.clone()).unwrap();
        assert_eq!(graphs.lines().count(), 1 + 8);
    }

    #[test]
    fn bad_grids_are_named() {
        for (text, field) in [
            ("system = \"dag\"\ngrid = []", "grid"),
            ("system = \"dag\"\n[[grid]]\nfat = []", "grid[0].fat"),
            ("system = \"dag\"\n[[grid]]\ndensity = [1.5]", "grid[0].density[0]"),
            ("system = \"dag\"\n[[grid]]\nrate_mbps = [0.0]", "grid[0].rate_mbps[0]"),
            ("system = \"dag\"\n[[grid]]\nn = [0]", "grid[0].n[0]"),
            ("system = \"dag\"\n[[grid]]\npick_test = 2", "grid[0].pick_test"),
            ("system = \"dag\"\n[[grid]]\ngraphs = 0", "grid[0].graphs"),
            ("system = \"dag\"\n[[grid]]\nname = \"a\"\n[[grid]]\nname = \"a\"", "grid[1].name"),
            ("system = \"mec\"", "system"),
        ] {
            match cfg(text) {
                Err(Error::Config { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let e = cfg("system = \"dag\"\nbogus = 1");
        assert!(matches!(&e, Err(Error::Parse { why, .. }) if why.contains("bogus")), "{e:?}");
    }
}
