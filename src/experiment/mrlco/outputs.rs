//! The outputs of an MRLCO run: Table 3 (`table3.csv`, `table3.md`), the adaptation curves
//! (`curves.csv`, and Figs. 6–8 per test set as `figures/<exp>_<set>.png` + `.svg`), the
//! training logs (`training.csv`) and `summary.md`. Every file is written whole through a
//! temporary sibling.

use std::fmt::Write as _;
use std::path::Path;

use super::config::ExperimentSpec;
use super::results::{write_atomic, TestResult, TrainLog};
use crate::algo::mrlco::Method;
use crate::error::{Error, Result};
use crate::experiment::plot::{line_chart, LineChart, Series};

/// Everything a run produced.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Per experiment: its spec and its test sets' results.
    pub experiments: Vec<(ExperimentSpec, Vec<TestResult>)>,
    /// Per (experiment, learner): the training log.
    pub logs: Vec<(String, Method, TrainLog)>,
}

/// The latency of `curve` after `step` adaptation steps, if measured.
fn at(curve: &[(usize, f64)], step: usize) -> Option<f64> {
    curve.iter().find(|p| p.0 == step).map(|p| p.1)
}

fn cell(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.6}"))
}

/// Table 3's columns: the heuristics, then each learner after 0, 20 and the last step.
fn columns(r: &TestResult, last: usize) -> Vec<(String, Option<f64>)> {
    // 0, 20 and the last step (the paper's columns), those the curves measured
    let measured = |s: usize| r.curves.iter().all(|(_, c)| at(c, s).is_some());
    let mut steps: Vec<usize> = [0, 20, last].into_iter().filter(|&s| s <= last && measured(s)).collect();
    steps.dedup();
    let mut c: Vec<(String, Option<f64>)> = r.baselines.clone();
    for (name, curve) in &r.curves {
        for &s in &steps {
            c.push((format!("{name}({s})"), at(curve, s)));
        }
    }
    c
}

/// Write every output of `res` into `dir` (created if missing); `last` is the last adaptation
/// step. Returns the markdown summary (also `summary.md`).
pub fn write_outputs(res: &Results, dir: &Path, last: usize) -> Result<String> {
    std::fs::create_dir_all(dir.join("figures")).map_err(|e| Error::io(dir.join("figures"), e))?;
    let mut csv = String::new();
    let mut md = String::from("# MRLCO: Table 3 (mean latency, s; learners after k adaptation steps)\n\n");
    let mut curves = String::from("experiment,set,rate_mbps,method,step,latency_s\n");
    for (e, tests) in &res.experiments {
        let Some(first) = tests.first() else { continue };
        let cols: Vec<String> = columns(first, last).into_iter().map(|c| c.0).collect();
        if csv.is_empty() {
            csv = format!("experiment,set,n,rate_mbps,{}\n", cols.join(","));
        }
        let _ = writeln!(md, "## {} ({})\n\n| set | n | rate | {} |", e.name, e.figure, cols.join(" | "));
        let _ = writeln!(md, "|---|---|---|{}", "---|".repeat(cols.len()));
        for r in tests {
            let vals = columns(r, last);
            let cells: Vec<String> = vals.iter().map(|v| cell(v.1)).collect();
            let _ = writeln!(csv, "{},{},{},{},{}", e.name, r.set, r.n, r.rate_mbps, cells.join(","));
            let md_cells: Vec<String> = vals.iter().map(|v| v.1.map_or("n/a".into(), |x| format!("{x:.4}"))).collect();
            let _ = writeln!(md, "| {} | {} | {} | {} |", r.set, r.n, r.rate_mbps, md_cells.join(" | "));
            for (name, c) in &r.curves {
                for (s, v) in c {
                    let _ = writeln!(curves, "{},{},{},{name},{s},{v:.9}", e.name, r.set, r.rate_mbps);
                }
            }
            figure(dir, e, r)?;
        }
        md.push('\n');
    }
    let mut train = String::from("experiment,method,iteration,sampled_makespan_s,loss,approx_kl,explained_var\n");
    for (e, m, log) in &res.logs {
        for &(i, ms, l, kl, ev) in &log.rows {
            let f = |b: u32| f32::from_bits(b);
            let _ =
                writeln!(train, "{e},{},{i},{:.9},{:.6},{:.6},{:.6}", m.name(), f64::from_bits(ms), f(l), f(kl), f(ev));
        }
    }
    for (name, body) in [
        ("table3.csv", &csv),
        ("table3.md", &md),
        ("curves.csv", &curves),
        ("training.csv", &train),
        ("summary.md", &md),
    ] {
        write_atomic(&dir.join(name), body.as_bytes())?;
    }
    Ok(md)
}

/// One test set's figure: latency against adaptation steps, the learners' curves and the
/// heuristics as flat lines.
fn figure(dir: &Path, e: &ExperimentSpec, r: &TestResult) -> Result<()> {
    let last = r.curves.iter().flat_map(|c| c.1.iter().map(|p| p.0)).max().unwrap_or(0);
    let mut series: Vec<Series> = r
        .curves
        .iter()
        .map(|(name, c)| Series { name: name.clone(), points: c.iter().map(|&(s, v)| (s as f64, v)).collect() })
        .collect();
    for (name, v) in &r.baselines {
        if let Some(v) = v {
            series.push(Series { name: name.clone(), points: vec![(0.0, *v), (last as f64, *v)] });
        }
    }
    let chart = LineChart {
        title: format!("{} {}: {} (n = {}, {} Mbps)", e.figure, e.name, r.set, r.n, r.rate_mbps),
        x_label: "adaptation steps".into(),
        y_label: "mean latency (s)".into(),
        series,
        log_y: false,
    };
    let rate = format!("{}", r.rate_mbps).replace('.', "p");
    let stem = dir.join("figures").join(format!("{}_{}_{rate}mbps", e.name, r.set));
    line_chart(&stem, &chart).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_the_measured_ones_of_0_20_and_the_last_step() {
        let r = |steps: &[usize]| TestResult {
            experiment: "e".into(),
            set: "s".into(),
            n: 5,
            rate_mbps: 8.5,
            baselines: vec![("greedy".into(), Some(1.0)), ("optimal".into(), None)],
            curves: vec![("mrlco".into(), steps.iter().map(|&s| (s, s as f64)).collect())],
        };
        let names = |t: &TestResult, last| columns(t, last).into_iter().map(|c| c.0).collect::<Vec<_>>();
        assert_eq!(names(&r(&[0, 10, 30]), 30), ["greedy", "optimal", "mrlco(0)", "mrlco(30)"]);
        assert_eq!(names(&r(&[0, 20, 100]), 100), ["greedy", "optimal", "mrlco(0)", "mrlco(20)", "mrlco(100)"]);
        assert_eq!(names(&r(&[0, 5, 20]), 20), ["greedy", "optimal", "mrlco(0)", "mrlco(20)"]);
        let c = columns(&r(&[0, 20, 100]), 100);
        assert_eq!((c[3].1, c[1].1), (Some(20.0), None));
    }
}
