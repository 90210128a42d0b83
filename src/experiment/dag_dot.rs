//! The `dag` system's commands over DOT files: `mecrl dag baselines` (the makespans of the
//! baselines for every graph of a directory, as CSV) and `mecrl dag generate` (DAGGEN-style
//! graphs written as DOT files).

use std::path::{Path, PathBuf};

use crate::env::dag::eval::{self, DagMethod};
use crate::env::dag::gen::{self, DagGenConfig};
use crate::env::dag::{dot, model};
use crate::error::{Error, Result};

/// The system of `mecrl dag baselines`: `semantics` (`reference` or `paper`), the HEFT mode
/// (`own-schedule` or `rank-order-plan`) and one rate (Mbps) up and down; errors name the flag.
pub fn baseline_system(semantics: &str, heft: &str, rate: f64) -> Result<model::DagSystem> {
    let semantics = match semantics {
        "reference" => model::Semantics::Reference,
        "paper" => model::Semantics::Paper,
        other => return Err(Error::config("--semantics", other, "expected reference or paper")),
    };
    let heft = match heft {
        "own-schedule" => model::HeftMode::OwnSchedule,
        "rank-order-plan" => model::HeftMode::RankOrderPlan,
        other => return Err(Error::config("--heft", other, "expected own-schedule or rank-order-plan")),
    };
    let sys = model::DagSystem { rate_up_mbps: rate, rate_down_mbps: rate, semantics, heft, ..Default::default() };
    sys.validate().map_err(|e| match e {
        Error::Config { value, why, .. } => Error::config("--rate", value, why),
        e => e,
    })?;
    Ok(sys)
}

/// The DOT files (`*.gv`, `*.dot`) of `dir`, sorted; a directory without any is an error.
pub fn dot_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("gv" | "dot")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::config("--dot", dir.display(), "no .gv or .dot files"));
    }
    Ok(files)
}

/// Greedy, HEFT-based, all-local, all-MEC and (unless `no_optimal`) the exhaustive Optimal
/// makespan of every file: one CSV row per graph written to `out` (through a temporary sibling:
/// a failure leaves no partial file). Returns the per-method means (the command's report);
/// `tick` after each graph.
pub fn baselines(
    files: &[PathBuf],
    sys: &model::DagSystem,
    no_optimal: bool,
    out: &Path,
    tick: &mut dyn FnMut(),
) -> Result<String> {
    crate::output::check_writable(out, "--out")?;
    let mut methods = DagMethod::ALL.to_vec();
    if no_optimal {
        methods.pop();
    }
    let mut csv = String::from("file,greedy,heft,all_local,all_mec,optimal\n");
    let mut sums = [0.0f64; 5];
    let mut counts = [0usize; 5];
    for f in files {
        let dag = dot::read_dot(f)?;
        let vals = eval::evaluate_all(&dag, sys, &methods)?;
        let name = f.file_name().and_then(|x| x.to_str()).unwrap_or("?");
        csv.push_str(name);
        for k in 0..5 {
            csv.push(',');
            if let Some(Some(v)) = vals.get(k) {
                sums[k] += v;
                counts[k] += 1;
                csv.push_str(&format!("{v:.9}"));
            }
        }
        csv.push('\n');
        tick();
    }
    crate::output::write_output(out, "--out", csv.as_bytes())?;
    let (rate, max) = (sys.rate_up_mbps, sys.max_optimal_tasks);
    let mut report =
        format!("{} graphs ({:?} semantics, {rate} Mbps); mean makespan (s):\n", files.len(), sys.semantics);
    for (k, m) in methods.iter().enumerate() {
        report.push_str(&match counts[k] {
            0 => format!("  {:<10} n/a (every graph has more than {max} tasks)\n", m.name()),
            c if c < files.len() => {
                format!("  {:<10} {:.6} (over the {c} graphs of at most {max} tasks)\n", m.name(), sums[k] / c as f64)
            }
            c => format!("  {:<10} {:.6}\n", m.name(), sums[k] / c as f64),
        });
    }
    report.push_str(&format!("csv: {}\n", out.display()));
    Ok(report)
}

/// `count` graphs of `cfg` (seeds (`seed`, k)) as `out/random.<n>.<k>.gv`; all are generated
/// before the first is written, so a failure leaves no partial set behind. Returns the report.
pub fn generate(cfg: &DagGenConfig, count: u32, seed: u64, out: &Path) -> Result<String> {
    cfg.validate()?;
    // The folder first (an unwritable one is found before the work); the graphs are all held
    // before the first is written: their memory is checked first too.
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let n = cfg.n as u128;
    let mut need = crate::memory::Need::new();
    need.words(
        "--count",
        count,
        "the graphs (and their DOT text)",
        crate::memory::product(&[count as u128, n, 2 * n + 32]),
    );
    need.check()?;
    let dags = (0..count).map(|k| gen::generate(cfg, seed, k)).collect::<Result<Vec<_>>>()?;
    for (k, d) in dags.iter().enumerate() {
        dot::write_dot_file(d, &out.join(format!("random.{}.{k}.gv", cfg.n)))?;
    }
    Ok(format!("{count} graphs of {} tasks written to {}\n", cfg.n, out.display()))
}
