//! The outputs of a CRB-DRQN run: `curves.csv` and Fig. 4 (average reward per training episode
//! at the base D; convergence episode and time vs D), `tests.csv` with Fig. 5a–b (delay and
//! failure rate vs D) and Fig. 6a–b (vs arrival rate) as `figures/*.png` + `.svg`, the paper's
//! numbers beside ours in `summary.md`, and the bars' checks. Files are written whole through a
//! temporary sibling.

use std::fmt::Write as _;
use std::path::Path;

use super::config::CrbDrqnRunConfig;
use super::results::{Results, TestRow};
use crate::error::Result;
use crate::experiment::common::write_atomic;
use crate::experiment::plot::{line_chart, LineChart, Series};

/// The numbers the paper's text gives (§5.3): (figure, x, method, delay s, failure rate);
/// NaN where it gives none.
pub const PAPER_POINTS: [(&str, f64, &str, f64, f64); 16] = [
    ("fig5", 5.0, "crb_drqn", 0.50, f64::NAN),
    ("fig5", 5.0, "decentralized", 0.94, f64::NAN),
    ("fig5", 5.0, "mappo", 0.59, f64::NAN),
    ("fig5", 5.0, "qmix", 0.48, f64::NAN),
    ("fig5", 25.0, "crb_drqn", 0.762, 0.017),
    ("fig5", 25.0, "decentralized", f64::NAN, 0.42),
    ("fig5", 25.0, "qmix", f64::NAN, 0.37),
    ("fig5", 25.0, "mappo", f64::NAN, 0.24),
    ("fig6", 1.0, "crb_drqn", 0.43, f64::NAN),
    ("fig6", 1.0, "decentralized", 0.90, 0.18),
    ("fig6", 1.0, "qmix", 0.53, f64::NAN),
    ("fig6", 1.0, "mappo", 0.71, f64::NAN),
    ("fig6", 1.0, "local", 0.38, 0.014),
    ("fig6", 3.0, "local", 0.89, 0.37),
    ("fig6", 3.0, "crb_drqn", 0.73, 0.057),
    ("fig6", 3.0, "decentralized", f64::NAN, 0.52),
];

fn paper(figure: &str, x: f64, method: &str) -> Option<(f64, f64)> {
    PAPER_POINTS.iter().find(|r| r.0 == figure && r.1 == x && r.2 == method).map(|r| (r.3, r.4))
}

fn cell(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// Write every output of `res` into `dir`; returns the markdown summary (also `summary.md`).
pub fn write_outputs(cfg: &CrbDrqnRunConfig, res: &Results, dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let mut curves = String::from("point,method,episode,reward,failure,delay_s,loss,epsilon,seconds\n");
    for (point, method, rows) in &res.curves {
        for r in rows {
            let _ = writeln!(
                curves,
                "{point},{method},{},{},{},{},{},{},{}",
                r.episode, r.reward, r.failure, r.delay_s, r.loss, r.epsilon, r.seconds
            );
        }
    }
    write_atomic(&dir.join("curves.csv"), curves.as_bytes())?;
    let mut csv = String::from("figure,x,method,delay_s,failure,reward,arrivals,paper_delay_s,paper_failure\n");
    for r in &res.tests {
        let (pd, pf) = paper(&r.figure, r.x, &r.method).unwrap_or((f64::NAN, f64::NAN));
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{}",
            r.figure,
            r.x,
            r.method,
            r.delay_s,
            r.failure,
            r.reward,
            r.arrivals,
            cell(pd),
            cell(pf)
        );
    }
    write_atomic(&dir.join("tests.csv"), csv.as_bytes())?;
    let mut conv = String::from("method,devices,episode,seconds\n");
    for c in &res.convergence {
        let _ = writeln!(
            conv,
            "{},{},{},{}",
            c.method,
            c.devices,
            c.episode.map_or(String::new(), |e| e.to_string()),
            c.seconds.map_or(String::new(), |s| format!("{s:.3}"))
        );
    }
    write_atomic(&dir.join("convergence.csv"), conv.as_bytes())?;
    let md = summary(cfg, res);
    write_atomic(&dir.join("summary.md"), md.as_bytes())?;
    figures(cfg, res, &dir.join("figures"))?;
    Ok(md)
}

fn rows<'a>(res: &'a Results, figure: &str, x: f64) -> Vec<&'a TestRow> {
    res.tests.iter().filter(|r| r.figure == figure && r.x == x).collect()
}

fn summary(cfg: &CrbDrqnRunConfig, res: &Results) -> String {
    let mut md = format!(
        "# CRB-DRQN on endedge (seed 004, Figs. 4-6)\n\n\
         {} training episodes of {} slots per learner and point ({} instance(s)), {} test \
         episode(s) on the same seeds for every method, seed {}. Delay: mean of the finished \
         tasks, s; failure: (dropped + unfinished) / arrivals. Fig. 5 at the system's arrival \
         process (p = {}, sizes {}-{} Mbit); Fig. 6 at D = {}. The paper's columns are the \
         numbers its text gives (§5.3).\n\n",
        cfg.episodes,
        cfg.endedge.slots,
        cfg.crbdrqn.instances,
        cfg.test_episodes,
        cfg.seed,
        cfg.endedge.arrival_prob,
        cfg.endedge.size_min_mbit,
        cfg.endedge.size_max_mbit,
        cfg.base_devices
    );
    for (figure, title, unit) in
        [("fig5", "Fig. 5: vs terminals D", "D"), ("fig6", "Fig. 6: vs arrival rate", "Mbit/s")]
    {
        let _ = writeln!(
            md,
            "## {title}\n\n| {unit} | method | delay s | failure | reward/task | paper delay s | paper failure |"
        );
        md.push_str("|---|---|---|---|---|---|---|\n");
        for r in res.tests.iter().filter(|r| r.figure == figure) {
            let (pd, pf) = paper(figure, r.x, &r.method).unwrap_or((f64::NAN, f64::NAN));
            let _ = writeln!(
                md,
                "| {} | {} | {:.3} | {:.4} | {:.2} | {} | {} |",
                r.x,
                r.method,
                r.delay_s,
                r.failure,
                r.reward,
                cell(pd),
                cell(pf)
            );
        }
        md.push('\n');
    }
    md.push_str("## Fig. 4: convergence (moving average within the tolerance of the final level)\n\n");
    md.push_str("| method | D | episode | seconds |\n|---|---|---|---|\n");
    for c in &res.convergence {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            c.method,
            c.devices,
            c.episode.map_or("not settled".into(), |e| e.to_string()),
            c.seconds.map_or(String::new(), |s| format!("{s:.2}"))
        );
    }
    md.push_str("\n## Training throughput (whole training: act, step, pool or rollout, updates)\n\n");
    md.push_str("| point | method | episodes | seconds | terminal-slots/s |\n|---|---|---|---|---|\n");
    for (point, method, rows) in &res.curves {
        let secs: f64 = rows.iter().map(|r| r.seconds).sum();
        let d = cfg.points().into_iter().find(|p| &p.stem() == point).map_or(0, |p| p.system.devices);
        let ts = (d * cfg.endedge.slots * cfg.crbdrqn.instances * rows.len()) as f64;
        let _ = writeln!(md, "| {point} | {method} | {} | {secs:.1} | {:.0} |", rows.len(), ts / secs.max(1e-9));
    }
    md.push_str("\n## The paper's claims, checked\n\n");
    let learners: Vec<&str> = cfg.methods.iter().map(|m| m.name()).collect();
    for &d in cfg.devices.iter().filter(|&&d| d >= 25) {
        let here = rows(res, "fig5", d as f64);
        let get = |m: &str| here.iter().find(|r| r.method == m).map(|r| r.failure);
        if let Some(ours) = get("crb_drqn") {
            let others: Vec<f64> = learners.iter().filter(|&&m| m != "crb_drqn").filter_map(|m| get(m)).collect();
            let lowest = others.iter().all(|&f| ours <= f);
            let _ = writeln!(
                md,
                "- D = {d}: CRB-DRQN's failure rate {ours:.4} is the lowest of the learners: {}",
                if others.is_empty() { "no other learner in this run".to_string() } else { lowest.to_string() }
            );
        }
    }
    for &d in &cfg.devices {
        let here = rows(res, "fig5", d as f64);
        let get = |m: &str| here.iter().find(|r| r.method == m).map(|r| r.delay_s);
        if let Some(ours) = get("crb_drqn") {
            let cmp: Vec<String> = ["decentralized", "mappo"]
                .iter()
                .filter_map(|m| get(m).map(|v| format!("{m} {v:.3}: {}", ours < v)))
                .collect();
            if !cmp.is_empty() {
                let _ = writeln!(md, "- D = {d}: CRB-DRQN's delay {ours:.3} s below {}", cmp.join(", "));
            }
        }
    }
    if let Some(c) = res.convergence.iter().find(|c| c.method == "crb_drqn" && c.devices == cfg.base_devices) {
        let _ = writeln!(
            md,
            "- convergence at D = {}: {} (the paper: about 170 episodes; the bar: within 300)",
            cfg.base_devices,
            c.episode.map_or("not settled".into(), |e| format!("episode {e}, within 300: {}", e <= 300))
        );
    }
    md.push_str("\nFigures: figures/fig4_reward, fig4_convergence, fig5a_delay, fig5b_failure, fig6a_delay, fig6b_failure; curves.csv, tests.csv, convergence.csv.\n");
    md
}

fn methods_of(res: &Results) -> Vec<String> {
    let mut methods: Vec<String> = vec![];
    for r in &res.tests {
        if !methods.contains(&r.method) {
            methods.push(r.method.clone());
        }
    }
    methods
}

fn figures(cfg: &CrbDrqnRunConfig, res: &Results, dir: &Path) -> Result<()> {
    let base = format!("fig5_d{}", cfg.base_devices);
    let curves: Vec<Series> = res
        .curves
        .iter()
        .filter(|c| c.0 == base)
        .map(|(_, m, rows)| Series {
            name: m.clone(),
            points: rows.iter().map(|r| (r.episode as f64, r.reward)).collect(),
        })
        .collect();
    if !curves.is_empty() {
        line_chart(
            &dir.join("fig4_reward"),
            &LineChart {
                title: format!("Fig. 4: average reward per task while training, D = {}", cfg.base_devices),
                x_label: "episode".into(),
                y_label: "average reward per task".into(),
                series: curves,
                log_y: false,
            },
        )?;
    }
    let conv: Vec<Series> = cfg
        .methods
        .iter()
        .map(|m| Series {
            name: m.name().into(),
            points: res
                .convergence
                .iter()
                .filter(|c| c.method == m.name())
                .filter_map(|c| c.seconds.map(|s| (c.devices as f64, s)))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    if !conv.is_empty() {
        line_chart(
            &dir.join("fig4_convergence"),
            &LineChart {
                title: "Fig. 4: convergence time vs terminals".into(),
                x_label: "terminals D".into(),
                y_label: "training time to convergence (s)".into(),
                series: conv,
                log_y: false,
            },
        )?;
    }
    for (figure, x_label, tag) in [("fig5", "terminals D", "fig5"), ("fig6", "arrival rate (Mbit/s)", "fig6")] {
        for (suffix, y_label, f) in [
            ("a_delay", "average delay of finished tasks (s)", (|r: &TestRow| r.delay_s) as fn(&TestRow) -> f64),
            ("b_failure", "failure rate", |r: &TestRow| r.failure),
        ] {
            let series: Vec<Series> = methods_of(res)
                .into_iter()
                .map(|m| Series {
                    points: res
                        .tests
                        .iter()
                        .filter(|r| r.figure == figure && r.method == m)
                        .map(|r| (r.x, f(r)))
                        .collect(),
                    name: m,
                })
                .filter(|s| !s.points.is_empty())
                .collect();
            if series.is_empty() {
                continue;
            }
            line_chart(
                &dir.join(format!("{tag}{suffix}")),
                &LineChart {
                    title: format!("Fig. {}{}: {y_label} vs {x_label}", &tag[3..], &suffix[..1]),
                    x_label: x_label.into(),
                    y_label: y_label.into(),
                    series,
                    log_y: false,
                },
            )?;
        }
    }
    Ok(())
}
