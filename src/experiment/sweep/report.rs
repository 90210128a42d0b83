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
use crate::experiment::plot::{panel_chart, Band, Panel, PanelChart};

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
                    J::String(s) if !s.is_empty() => l.push((join(k), s.clone())),
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

/// An axis value as text: strings unquoted, a list's items joined by `+` (`["dpp"]` → `dpp`).
fn cell(v: Option<&toml::Value>) -> String {
    match v {
        None => String::new(),
        Some(toml::Value::String(s)) => s.clone(),
        Some(toml::Value::Array(a)) => a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join("+"),
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
    /// Why the figures were not drawn (the tables were written).
    pub figures_error: Option<String>,
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
    // A figure that cannot be drawn (no font on this machine) must not cost the tables.
    let (figs, figures_error) = match figures(&out.join("figures"), &plan.axes, &results, metrics) {
        Ok(f) => (f, None),
        Err(e @ Error::Plot { .. }) => {
            let _ = writeln!(md, "\nFigures not drawn: {e}");
            (vec![], Some(e.to_string()))
        }
        Err(e) => return Err(e),
    };
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
    Ok(ReportOut { done, failed, missing, files, markdown: md, figures_error })
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

/// Most panels in one figure (more combinations of the other axes: evenly spaced ones).
pub const MAX_PANELS: usize = 16;

/// Per metric and per axis with two or more values (numeric, or categories in order): the mean
/// against the axis, one line per labels (method) with its 95 % interval as a band, one panel
/// per combination of the other axes (small multiples sharing their axes).
fn figures(dir: &Path, axes: &[String], g: &Groups, metrics: &[String]) -> Result<Vec<PathBuf>> {
    let chosen: Vec<String> = if metrics.is_empty() {
        g.keys().map(|k| k.2.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect()
    } else {
        metrics.to_vec()
    };
    let keys = config_keys(g);
    let names: Vec<String> =
        g.keys().map(|k| line_name(&k.1, &keys)).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut charts: Vec<(PathBuf, PanelChart)> = vec![];
    for (a, axis) in axes.iter().enumerate() {
        let mut distinct: Vec<&str> = g.keys().map(|k| k.0[a].as_str()).collect();
        distinct.sort_by_key(|v| (order_key(v), v.to_string()));
        distinct.dedup();
        if distinct.len() < 2 {
            continue;
        }
        // A categorical axis (a method, a case): its values at x = 0, 1, …
        let categories: Vec<String> = if distinct.iter().any(|v| v.parse::<f64>().is_err()) {
            distinct.iter().map(|v| v.to_string()).collect()
        } else {
            vec![]
        };
        let x_of = |v: &str| match categories.iter().position(|c| c == v) {
            Some(k) => k as f64,
            None => v.parse::<f64>().unwrap_or(f64::NAN),
        };
        for metric in &chosen {
            // other axes' values → labels → (x, low, high)
            let mut panels: BTreeMap<Vec<(i64, String)>, BTreeMap<String, Band>> = BTreeMap::new();
            for ((ax, labels, m), vals) in g {
                if m != metric {
                    continue;
                }
                let others: Vec<(i64, String)> = ax
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != a)
                    .map(|(j, v)| (order_key(v), format!("{} = {v}", short(&axes[j]))))
                    .collect();
                let (mean, _, h) = describe(vals);
                let h = if h.is_nan() { 0.0 } else { h };
                let x = x_of(&ax[a]);
                panels.entry(others).or_default().entry(line_name(labels, &keys)).or_default().push((
                    x,
                    mean - h,
                    mean + h,
                ));
            }
            if panels.is_empty() {
                continue;
            }
            let all: Vec<_> = panels.into_iter().collect();
            let keep: Vec<usize> = if all.len() <= MAX_PANELS {
                (0..all.len()).collect()
            } else {
                (0..MAX_PANELS).map(|k| k * (all.len() - 1) / (MAX_PANELS - 1)).collect()
            };
            let mut chart = PanelChart {
                title: format!("{metric} vs {axis} (mean, 95 % CI over seeds)"),
                x_label: axis.clone(),
                y_label: metric.clone(),
                names: names.clone(),
                panels: vec![],
                x_categories: categories.clone(),
            };
            if keep.len() < all.len() {
                chart.title = format!("{} — {} of {} panels", chart.title, keep.len(), all.len());
            }
            for k in keep {
                let (others, lines) = &all[k];
                let title = others.iter().map(|o| o.1.clone()).collect::<Vec<_>>().join(", ");
                let mut p = Panel { title, lines: vec![] };
                for (name, band) in lines {
                    let i = names.iter().position(|n| n == name).unwrap_or(0);
                    let mut band = band.clone();
                    band.sort_by(|p, q| p.0.total_cmp(&q.0));
                    p.lines.push((i, band));
                }
                chart.panels.push(p);
            }
            charts.push((dir.join(format!("{}_vs_{}", file_part(metric), file_part(axis))), chart));
        }
    }
    // Drawn in parallel: a sweep's report is written while the machine is otherwise idle.
    use rayon::prelude::*;
    let drawn: Vec<Result<Vec<PathBuf>>> = charts.par_iter().map(|(stem, c)| panel_chart(stem, c)).collect();
    let mut files = vec![];
    for d in drawn {
        files.extend(d?);
    }
    Ok(files)
}

/// Sorts numbers by value (total order of f64), anything else after them.
fn order_key(v: &str) -> i64 {
    match v.parse::<f64>() {
        Ok(x) => {
            let b = x.to_bits() as i64;
            b ^ ((((b >> 63) as u64) >> 1) as i64)
        }
        Err(_) => i64::MAX,
    }
}

/// A dotted field's last part (`endedge.devices` → `devices`).
fn short(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

/// The label keys that only restate a point's configuration (`case=II` in a sweep over cases,
/// `axis=base`): one value within every configuration. A figure's lines are told apart by the
/// other keys (the method).
fn config_keys(g: &Groups) -> std::collections::BTreeSet<String> {
    let mut by_config: BTreeMap<&Vec<String>, BTreeMap<&str, std::collections::BTreeSet<&str>>> = BTreeMap::new();
    for (ax, labels, _) in g.keys() {
        for part in labels.split("; ").filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            by_config.entry(ax).or_default().entry(k).or_default().insert(v);
        }
    }
    let keys: std::collections::BTreeSet<&str> = by_config.values().flat_map(|m| m.keys().copied()).collect();
    keys.into_iter()
        .filter(|k| by_config.values().all(|m| m.get(k).is_none_or(|vs| vs.len() == 1)))
        .map(str::to_string)
        .collect()
}

fn file_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// A line's name: its labels without the keys that restate the configuration, `method=` left out.
fn line_name(labels: &str, config_keys: &std::collections::BTreeSet<String>) -> String {
    let parts: Vec<&str> = labels
        .split("; ")
        .filter(|p| !p.is_empty() && !config_keys.contains(p.split_once('=').map_or(*p, |x| x.0)))
        .map(|p| p.strip_prefix("method=").unwrap_or(p))
        .collect();
    if parts.is_empty() {
        "mean".into()
    } else {
        parts.join(", ")
    }
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

    #[test]
    fn legends_drop_what_restates_the_configuration() {
        let mut g = Groups::new();
        for l in ["axis=base; method=greedy", "axis=base; method=local"] {
            g.insert((vec!["1".into()], l.into(), "drop_rate".into()), vec![0.0]);
        }
        g.insert((vec!["2".into()], "axis=base; method=local".into(), "drop_rate".into()), vec![0.0]);
        let mut crowd = Groups::new();
        for (case, policy) in [("I", "dpp"), ("II", "dpp"), ("I", "random")] {
            let l = format!("case={case}; policy={policy}; unit=md");
            crowd.insert((vec![case.into(), policy.into()], l, "e2e".into()), vec![0.0]);
            crowd.insert(
                (vec![case.into(), policy.into()], format!("case={case}; policy={policy}; unit=bs"), "e2e".into()),
                vec![0.0],
            );
        }
        let keys = config_keys(&g);
        assert_eq!(line_name("axis=base; method=greedy", &keys), "greedy", "{keys:?}");
        let keys = config_keys(&crowd);
        assert_eq!(line_name("case=I; policy=dpp; unit=md", &keys), "unit=md", "{keys:?}");
        assert!(
            order_key("-2") < order_key("-1.5")
                && order_key("-1.5") < order_key("3")
                && order_key("3") < order_key("x")
        );
    }

    #[test]
    fn a_report_of_two_seeds_by_hand() {
        let dir = std::env::temp_dir().join(format!("mecrl-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sd = SweepDir::new(&dir);
        let mut points = vec![];
        for (k, (n, seed, obj)) in [(10, 1, 2.0), (10, 2, 4.0), (20, 1, 5.0), (20, 2, 5.0)].into_iter().enumerate() {
            let hash = format!("{k:016x}");
            let values = BTreeMap::from([("mec.n_iotd".to_string(), toml::Value::Integer(n))]);
            points.push(super::super::plan::Point {
                index: k,
                hash: hash.clone(),
                seed,
                values,
                config: String::new(),
            });
            let m = serde_json::json!({"summary": [{"method": "local", "objective": obj, "wall_s": 0.5}]});
            std::fs::create_dir_all(sd.point(&hash)).unwrap();
            std::fs::write(sd.point(&hash).join("manifest.json"), m.to_string()).unwrap();
        }
        let plan = Plan {
            name: "t".into(),
            system: "mec".into(),
            base: "b.toml".into(),
            cwd: ".".into(),
            axes: vec!["mec.n_iotd".into()],
            points,
        };
        crate::experiment::common::write_json(&sd.plan_file(), &plan).unwrap();
        let r = write(&dir, &[]).unwrap();
        assert_eq!((r.done, r.failed, r.missing), (4, 0, 0));
        let csv = std::fs::read_to_string(dir.join("report/summary.csv")).unwrap();
        // n = 10: 2 and 4 → mean 3, s = √2, half-width 12.706 · √2 / √2 = 12.706.
        let row = csv.lines().find(|l| l.starts_with("10,")).unwrap();
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(&f[..5], ["10", "method=local", "objective", "2", "3.000000000e0"]);
        assert!((f[5].parse::<f64>().unwrap() - 2f64.sqrt()).abs() < 1e-8);
        assert!((f[7].parse::<f64>().unwrap() - (3.0 + 12.706)).abs() < 1e-8);
        assert!(csv.lines().any(|l| l.starts_with("20,method=local,objective,2,5.000000000e0,0.000000000e0")));
        assert!(!csv.contains("wall_s"), "timings go to timings.csv");
        assert!(std::fs::read_to_string(dir.join("report/timings.csv")).unwrap().contains("wall_s"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
