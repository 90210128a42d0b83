//! `mecrl sweep report DIR`: every complete point's manifest summary, flattened into rows
//! (labels such as `method=greedy`, a metric, a value), aggregated over seeds per configuration:
//! mean, standard deviation and 95 % confidence interval, as CSV, markdown and figures.
//!
//! Timings (metrics named `*_s` or `*_s_per_*`) differ from run to run; they go to
//! `timings.csv`, so that `summary.csv` is the same whichever executor ran the sweep.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::plan::{Plan, State, SweepDir};
use super::stats::describe;
use crate::error::{Error, Result};
use crate::experiment::common::write_atomic;
use crate::experiment::plot::{line_chart_with_bands, Band, LineChart, Series};

/// One number of one point's summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The text fields around it (`method=greedy; set=test`), or empty.
    pub labels: String,
    /// Its name (dotted through nested objects).
    pub metric: String,
    /// The value.
    pub value: f64,
}

/// The rows of a manifest summary: string and boolean fields of an object label the numbers
/// in it and below it; a metric repeated within one summary gets `#2`, `#3`, ….
pub fn flatten(summary: &serde_json::Value) -> Vec<Row> {
    let mut out = vec![];
    walk(summary, &[], "", &mut out);
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &mut out {
        let k = seen.entry((r.labels.clone(), r.metric.clone())).or_insert(0);
        *k += 1;
        if *k > 1 {
            r.metric = format!("{}#{k}", r.metric);
        }
    }
    out
}

fn walk(v: &serde_json::Value, labels: &[(String, String)], prefix: &str, out: &mut Vec<Row>) {
    use serde_json::Value as J;
    let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    match v {
        J::Number(n) => {
            if let Some(x) = n.as_f64() {
                let labels = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
                out.push(Row {
                    labels,
                    metric: if prefix.is_empty() { "value".into() } else { prefix.into() },
                    value: x,
                });
            }
        }
        J::Array(a) => {
            let scalars = a.iter().all(|x| x.is_number());
            for (i, x) in a.iter().enumerate() {
                let p = if scalars { format!("{prefix}[{i}]") } else { prefix.to_string() };
                walk(x, labels, &p, out);
            }
        }
        J::Object(o) => {
            let mut l = labels.to_vec();
            for (k, x) in o {
                match x {
                    J::String(s) => l.push((join(k), s.clone())),
                    J::Bool(b) => l.push((join(k), b.to_string())),
                    _ => {}
                }
            }
            for (k, x) in o {
                if matches!(x, J::Number(_) | J::Array(_) | J::Object(_)) {
                    walk(x, &l, &join(k), out);
                }
            }
        }
        _ => {}
    }
}

/// A timing: its last dotted part ends in `_s` or holds `_s_per_`.
pub fn is_timing(metric: &str) -> bool {
    let last = metric.rsplit('.').next().unwrap_or(metric);
    let last = last.split(['#', '[']).next().unwrap_or(last);
    last.ends_with("_s") || last.contains("_s_per_")
}

/// An axis value as text (strings unquoted).
fn cell(v: Option<&toml::Value>) -> String {
    match v {
        None => String::new(),
        Some(toml::Value::String(s)) => s.clone(),
        Some(x) => x.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x:.9e}")
    }
}

/// What a report found.
#[derive(Clone, Debug)]
pub struct ReportOut {
    /// Points complete / failed / not run.
    pub done: usize,
    /// Points whose last try failed.
    pub failed: usize,
    /// Points not run yet.
    pub missing: usize,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// `summary.md`.
    pub markdown: String,
}

/// Aggregated: (axis values, labels, metric) → one value per seed, in point order.
type Groups = BTreeMap<(Vec<String>, String, String), Vec<f64>>;

/// Write `report/` of the sweep in `dir` (`metrics`: the figures' metrics; empty: every
/// non-timing metric).
pub fn write(dir: &Path, metrics: &[String]) -> Result<ReportOut> {
    let sd = SweepDir::new(dir);
    let plan: Plan = sd
        .read_plan()?
        .ok_or_else(|| Error::config("DIR", dir.display(), "holds no sweep.json (not a sweep directory)"))?;
    let (mut done, mut failed, mut missing) = (0, 0, 0);
    let mut points_csv = format!(
        "index,hash,seed,{}labels,metric,value\n",
        plan.axes.iter().map(|a| format!("{},", csv_field(a))).collect::<String>()
    );
    let (mut results, mut timings): (Groups, Groups) = (BTreeMap::new(), BTreeMap::new());
    for p in &plan.points {
        match sd.state(p) {
            State::Done => done += 1,
            State::Failed => {
                failed += 1;
                continue;
            }
            State::Missing => {
                missing += 1;
                continue;
            }
        }
        let mpath = sd.point(&p.hash).join("manifest.json");
        let bytes = std::fs::read(&mpath).map_err(|e| Error::io(&mpath, e))?;
        let m: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::input("manifest", p.index, mpath.display(), format!("does not parse: {e}")))?;
        let axes: Vec<String> = plan.axes.iter().map(|a| cell(p.values.get(a))).collect();
        for r in flatten(&m["summary"]) {
            let _ = writeln!(
                points_csv,
                "{},{},{},{}{},{},{}",
                p.index,
                p.hash,
                p.seed,
                axes.iter().map(|a| format!("{},", csv_field(a))).collect::<String>(),
                csv_field(&r.labels),
                csv_field(&r.metric),
                num(r.value)
            );
            let g = if is_timing(&r.metric) { &mut timings } else { &mut results };
            g.entry((axes.clone(), r.labels, r.metric)).or_default().push(r.value);
        }
    }
    let out = dir.join("report");
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let mut files = vec![];
    let mut put = |name: &str, text: &str| -> Result<()> {
        let p = out.join(name);
        write_atomic(&p, text.as_bytes())?;
        files.push(p);
        Ok(())
    };
    put("points.csv", &points_csv)?;
    put("summary.csv", &groups_csv(&plan.axes, &results))?;
    put("timings.csv", &groups_csv(&plan.axes, &timings))?;
    let mut md = format!(
        "# Sweep `{}` ({} system)\n\n{} points ({} configurations × seeds): {done} done, {failed} failed, {missing} not run.\n\
         Mean ± 95 % confidence interval over seeds (Student t); `summary.csv` has the standard deviation, \
         `points.csv` every point's values, `timings.csv` the timings.\n\n",
        plan.name,
        plan.system,
        plan.points.len(),
        plan.points.len() / plan.points.iter().map(|p| p.seed).collect::<std::collections::BTreeSet<_>>().len().max(1),
    );
    md.push_str(&groups_md(&plan.axes, &results));
    let figs = figures(&out.join("figures"), &plan.axes, &results, metrics)?;
    if !figs.is_empty() {
        md.push_str("\n## Figures\n\n");
        for f in &figs {
            if f.extension().is_some_and(|e| e == "png") {
                let name = f.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let _ = writeln!(md, "![{name}](figures/{name})");
            }
        }
    }
    files.extend(figs);
    let p = out.join("summary.md");
    write_atomic(&p, md.as_bytes())?;
    files.push(p);
    Ok(ReportOut { done, failed, missing, files, markdown: md })
}

fn groups_csv(axes: &[String], g: &Groups) -> String {
    let mut s = format!(
        "{}labels,metric,n,mean,std,ci95_low,ci95_high\n",
        axes.iter().map(|a| format!("{},", csv_field(a))).collect::<String>()
    );
    for ((ax, labels, metric), xs) in g {
        let (m, sd, h) = describe(xs);
        let _ = writeln!(
            s,
            "{}{},{},{},{},{},{},{}",
            ax.iter().map(|a| format!("{},", csv_field(a))).collect::<String>(),
            csv_field(labels),
            csv_field(metric),
            xs.len(),
            num(m),
            num(sd),
            num(m - h),
            num(m + h)
        );
    }
    s
}

fn groups_md(axes: &[String], g: &Groups) -> String {
    let mut s = String::new();
    let head: Vec<String> =
        axes.iter().cloned().chain(["labels", "metric", "n", "mean ± ci95"].map(String::from)).collect();
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
    for ((ax, labels, metric), xs) in g {
        let (m, _, h) = describe(xs);
        let v = if h.is_nan() { format!("{m:.6}") } else { format!("{m:.6} ± {h:.6}") };
        let _ = writeln!(s, "| {} | {labels} | {metric} | {} | {v} |", ax.join(" | "), xs.len());
    }
    s
}

/// Per metric and per numeric axis with two or more values: the mean against the axis, one
/// line per labels (method) and combination of the other axes, the 95 % interval as a band.
fn figures(dir: &Path, axes: &[String], g: &Groups, metrics: &[String]) -> Result<Vec<PathBuf>> {
    let chosen: Vec<String> = if metrics.is_empty() {
        g.keys().map(|k| k.2.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect()
    } else {
        metrics.to_vec()
    };
    let mut files = vec![];
    for (a, axis) in axes.iter().enumerate() {
        let xs: Vec<Option<f64>> = g.keys().map(|k| k.0[a].parse::<f64>().ok()).collect();
        let distinct: std::collections::BTreeSet<String> = g.keys().map(|k| k.0[a].clone()).collect();
        if xs.iter().any(Option::is_none) || distinct.len() < 2 {
            continue;
        }
        for metric in &chosen {
            let mut lines: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
            for ((ax, labels, m), vals) in g {
                if m != metric {
                    continue;
                }
                let others: Vec<String> =
                    ax.iter().enumerate().filter(|(j, _)| *j != a).map(|(j, v)| format!("{}={v}", axes[j])).collect();
                let name = [labels.replace("method=", "")]
                    .into_iter()
                    .chain(others)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>();
                let (mean, _, h) = describe(vals);
                let h = if h.is_nan() { 0.0 } else { h };
                let x = ax[a].parse::<f64>().unwrap_or(f64::NAN);
                lines.entry(name.join(", ")).or_default().push((x, mean - h, mean + h));
            }
            if lines.is_empty() {
                continue;
            }
            let mut series = vec![];
            let mut bands: Vec<Band> = vec![];
            for (name, mut pts) in lines {
                pts.sort_by(|p, q| p.0.total_cmp(&q.0));
                series.push(Series { name, points: pts.iter().map(|p| (p.0, 0.5 * (p.1 + p.2))).collect() });
                bands.push(pts);
            }
            let chart = LineChart {
                title: format!("{metric} vs {axis}"),
                x_label: axis.clone(),
                y_label: metric.clone(),
                series,
                log_y: false,
            };
            let stem = dir.join(format!("{}_vs_{}", file_part(metric), file_part(axis)));
            files.extend(line_chart_with_bands(&stem, &chart, &bands)?);
        }
    }
    Ok(files)
}

fn file_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_flatten_to_labelled_rows() {
        let s = serde_json::json!([
            {"method": "greedy", "objective": 2.5, "wall_s": 0.1},
            {"set": "test", "method": "dirs", "inner": {"a": 1, "b": [1.0, 2.0]}},
            {"pretrain_s": 3.0}, {"pretrain_s": 4.0}
        ]);
        let rows = flatten(&s);
        let find = |l: &str, m: &str| rows.iter().find(|r| r.labels == l && r.metric == m).map(|r| r.value);
        assert_eq!(find("method=greedy", "objective"), Some(2.5));
        assert_eq!(find("method=dirs; set=test", "inner.b[1]"), Some(2.0));
        assert_eq!(find("", "pretrain_s#2"), Some(4.0));
        assert!(is_timing("wall_s") && is_timing("pretrain_s#2") && is_timing("inference_s_per_batch"));
        assert!(!is_timing("objective") && !is_timing("success_rate"));
    }
}
