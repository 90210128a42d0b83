//! `mecrl dag plan`: a trained MRLCO policy decides the offloading plans of user DAGs (DOT
//! files) by greedy decoding, all graphs as one batch on the backend; each graph's latency next
//! to the heuristics', and the decisions per second of the decoding.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::algo::mrlco::{load_policy, Task};
use crate::backend::Backend;
use crate::env::dag::eval::{evaluate_all, DagMethod};
use crate::env::dag::model::DagSystem;
use crate::env::dag::{dot, Dag};
use crate::error::Result;

/// Plans of the graphs in `files` by the policy at `policy` under `sys`; one CSV row per graph
/// to `out` (file, tasks, the policy's latency, the heuristics', the plan in rank order).
/// Returns the report (means, decisions per second).
pub fn plan(policy: &Path, files: &[PathBuf], sys: &DagSystem, be: Arc<dyn Backend>, out: &Path) -> Result<String> {
    crate::output::check_writable(out, "--out")?;
    sys.validate()?;
    let (cfg, method, net) = load_policy(&be, policy)?;
    let dags: Vec<Dag> = files.iter().map(|f| dot::read_dot(f)).collect::<Result<_>>()?;
    let task = Task::new(&be, "plan", &dags, sys, cfg.parents, cfg.scaled_reward)?;
    // one untimed pass (allocations, shader compilation), then the timed one
    task.greedy_plans(&net)?;
    let t0 = Instant::now();
    let (spans, plans) = task.greedy_plans(&net)?;
    let secs = t0.elapsed().as_secs_f64();
    let decisions: usize = dags.iter().map(|d| d.n()).sum();
    let methods = [DagMethod::Greedy, DagMethod::Heft, DagMethod::AllLocal, DagMethod::AllMec, DagMethod::Optimal];
    let base: Vec<Vec<Option<f64>>> = dags
        .par_iter()
        .map(|d| {
            let m: Vec<DagMethod> = methods
                .iter()
                .copied()
                .filter(|&m| m != DagMethod::Optimal || d.n() <= sys.max_optimal_tasks)
                .collect();
            let mut v = evaluate_all(d, sys, &m)?;
            v.resize(methods.len(), None);
            Ok(v)
        })
        .collect::<Result<_>>()?;
    let mut csv = String::from("file,tasks,policy,greedy,heft,all_local,all_mec,optimal,plan\n");
    let mut sums = [0.0f64; 6];
    let mut counts = [0usize; 6];
    for (i, f) in files.iter().enumerate() {
        let name = f.file_name().and_then(|x| x.to_str()).unwrap_or("?");
        let _ = write!(csv, "{name},{},{:.9}", dags[i].n(), spans[i]);
        sums[0] += spans[i] as f64;
        counts[0] += 1;
        for (k, v) in base[i].iter().enumerate() {
            csv.push(',');
            if let Some(v) = v {
                let _ = write!(csv, "{v:.9}");
                sums[k + 1] += v;
                counts[k + 1] += 1;
            }
        }
        let p: String = plans[i].iter().map(|a| char::from(b'0' + *a as u8)).collect();
        let _ = writeln!(csv, ",{p}");
    }
    crate::output::write_output(out, "--out", csv.as_bytes())?;
    let mut r = format!(
        "{} graphs, policy {} ({}, {} LSTM units; {}), {:?} semantics, {} Mbps; mean latency (s):\n",
        files.len(),
        policy.display(),
        method.name(),
        cfg.hidden,
        be.describe(),
        sys.semantics,
        sys.rate_up_mbps
    );
    for (k, name) in ["policy", "greedy", "heft", "all_local", "all_mec", "optimal"].iter().enumerate() {
        let _ = match counts[k] {
            0 => writeln!(r, "  {name:<10} n/a"),
            c if c < files.len() => {
                writeln!(r, "  {name:<10} {:.6} (over the {c} graphs it applies to)", sums[k] / c as f64)
            }
            c => writeln!(r, "  {name:<10} {:.6}", sums[k] / c as f64),
        };
    }
    let _ = writeln!(
        r,
        "greedy decoding: {decisions} decisions in {:.3} ms, {:.0} decisions/s",
        secs * 1e3,
        decisions as f64 / secs
    );
    let _ = writeln!(r, "csv: {}", out.display());
    Ok(r)
}
