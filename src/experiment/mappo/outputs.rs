//! The outputs of a MAPPO run: Table III (`table3.csv`, `table3.md` beside the paper's), the
//! training curves (`curves.csv`; Fig. 3 unit delay and Fig. 5 critic loss per case), Fig. 4
//! (test unit delay) and Fig. 6 (node load rate per kind of unit) as `figures/*.png` + `.svg`,
//! and `summary.md`. Every file is written whole through a temporary sibling.

use std::fmt::Write as _;
use std::path::Path;

use super::config::MappoRunConfig;
use super::results::{EpisodeRow, Results, TestRow};
use crate::error::Result;
use crate::experiment::common::write_atomic;
use crate::experiment::plot::{bar_chart, line_chart, BarChart, LineChart, Series};

/// The paper's Table III: (case, method, AD, ANLR, E2E, E2D).
pub const PAPER_TABLE3: [(&str, &str, f64, f64, f64, f64); 12] = [
    ("I", "madqn", 220.0, 5190.76, 0.06889, 0.949),
    ("I", "maa3c", 1.215, 0.01887, 0.11644, 0.77633),
    ("I", "mappo", 1.18, 3.3796, 0.005, 0.05833),
    ("I", "mixed_mappo", 1.08, 3.56947, 0.005, 0.10286),
    ("II", "madqn", 26.3, 5839.45, 58.26, 0.32),
    ("II", "maa3c", 1.185, 0.013, 0.14756, 0.71667),
    ("II", "mappo", 0.84286, 2.20613, 0.01, 0.07867),
    ("II", "mixed_mappo", 0.84286, 1.89587, 0.005, 0.08867),
    ("III", "madqn", 1.3673, 289.27, 0.13178, 0.65267),
    ("III", "maa3c", 1.18666, 0.001, 0.16533, 0.60917),
    ("III", "mappo", 1.114173, 0.3953, 0.005, 0.0515),
    ("III", "mixed_mappo", 1.01048, 0.0307, 0.005, 0.08883),
];

fn paper(case: &str, method: &str) -> Option<(f64, f64, f64, f64)> {
    PAPER_TABLE3.iter().find(|r| r.0 == case && r.1 == method).map(|r| (r.2, r.3, r.4, r.5))
}

/// Write every output of `res` into `dir`; returns the markdown summary (also `summary.md`).
pub fn write_outputs(cfg: &MappoRunConfig, res: &Results, dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let mut curves =
        String::from("case,method,episode,unit_delay_s_per_mb,reward_per_slot,dpp_share,critic_loss,entropy\n");
    for (case, method, rows) in &res.curves {
        for r in rows {
            let _ = writeln!(
                curves,
                "{case},{method},{},{},{},{},{},{}",
                r.episode, r.unit_delay, r.reward, r.dpp_share, r.critic_loss, r.entropy
            );
        }
    }
    write_atomic(&dir.join("curves.csv"), curves.as_bytes())?;
    let mut csv =
        String::from("case,method,unit_delay_s_per_mb,load_md,load_edge,load_cloud,e2e,e2d,reward,dpp_share\n");
    for r in &res.tests {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            r.case,
            r.method,
            r.unit_delay,
            r.load[0],
            r.load[1],
            r.load[2],
            r.links[0],
            r.links[1],
            r.reward,
            r.dpp_share
        );
    }
    write_atomic(&dir.join("table3.csv"), csv.as_bytes())?;
    let md = summary(cfg, res);
    write_atomic(&dir.join("table3.md"), md.as_bytes())?;
    write_atomic(&dir.join("summary.md"), md.as_bytes())?;
    figures(res, &dir.join("figures"))?;
    Ok(md)
}

fn summary(cfg: &MappoRunConfig, res: &Results) -> String {
    let mut md = format!(
        "# MAPPO and mixed MAPPO on crowd (mixed-MAPPO paper, Table III, Figs. 3-6)\n\n\
         {} instances, {} training episodes of {} slots per learner and case, {} test episode(s) \
         ({}), seed {}. AD: unit delay at test, s per MB; LR: node load rate (pending \
         computation over capacity); E2E, E2D: link load rates; dpp: share of decisions that took \
         the drift-plus-penalty action. The paper's columns are its Table III (its units and \
         system differ: compare orderings).\n\n",
        cfg.batch,
        cfg.episodes,
        cfg.crowd.horizon_slots,
        cfg.test_episodes,
        if cfg.greedy_test { "the actor's most likely action" } else { "sampled" },
        cfg.seed
    );
    md.push_str("| case | method | AD | ANLR | LR md | LR edge | LR cloud | E2E | E2D | reward/slot | dpp | paper AD | paper ANLR | paper E2E | paper E2D |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    let n = cfg.crowd.topology().map_or(0, |t| t.users()) as f64;
    let s = cfg.crowd.n_servers as f64;
    for r in &res.tests {
        let anlr = (r.load[0] * n + r.load[1] * s + r.load[2]) / (n + s + 1.0);
        let p = paper(&r.case, &r.method)
            .map(|p| format!("{} | {} | {} | {}", p.0, p.1, p.2, p.3))
            .unwrap_or_else(|| "| | |".into());
        let _ = writeln!(
            md,
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.2} | {:.3} | {p} |",
            r.case,
            r.method,
            r.unit_delay,
            anlr,
            r.load[0],
            r.load[1],
            r.load[2],
            r.links[0],
            r.links[1],
            r.reward,
            r.dpp_share
        );
    }
    md.push_str("\n## The paper's ordering (test unit delay)\n\n");
    let cases: Vec<String> = cfg.cases.clone();
    for case in &cases {
        let get = |m: &str| res.tests.iter().find(|r| &r.case == case && r.method == m).map(|r| r.unit_delay);
        let order = ["mixed_mappo", "mappo", "maa3c"];
        let have: Vec<(&str, f64)> = order.iter().filter_map(|m| get(m).map(|v| (*m, v))).collect();
        let holds = have.windows(2).all(|w| w[0].1 <= w[1].1);
        let random = get("random");
        let all: Vec<f64> = ["mixed_mappo", "mappo", "maa3c", "madqn"].iter().filter_map(|m| get(m)).collect();
        let beat = all.iter().all(|v| random.is_none_or(|r| *v < r));
        let learners: Vec<f64> = ["mixed_mappo", "mappo", "maa3c"].iter().filter_map(|m| get(m)).collect();
        let madqn_worst = get("madqn").map(|q| learners.iter().all(|&v| q >= v));
        let _ = writeln!(
            md,
            "- case {case}: {} — {}; MADQN worst of the learners: {}; every learner below Random: {}",
            have.iter().map(|(m, v)| format!("{m} {v:.4}")).collect::<Vec<_>>().join(", "),
            if holds { "ordered as the paper (mixed MAPPO ≤ MAPPO ≤ MAA3C)" } else { "NOT ordered as the paper" },
            madqn_worst.map_or("no MADQN row".to_string(), |w| w.to_string()),
            if random.is_none() { "no Random row".to_string() } else { beat.to_string() }
        );
    }
    md.push_str("\nFigures: figures/fig3_case_<case> (training unit delay), fig4_unit_delay, fig5_case_<case> (critic loss), fig6_case_<case> (load rate per kind of unit); curves.csv, table3.csv.\n");
    md
}

fn figures(res: &Results, dir: &Path) -> Result<()> {
    let mut cases: Vec<&str> = res.curves.iter().map(|c| c.0.as_str()).collect();
    cases.dedup();
    for case in &cases {
        let of = |f: &dyn Fn(&EpisodeRow) -> f64| -> Vec<Series> {
            res.curves
                .iter()
                .filter(|c| c.0 == *case)
                .map(|(_, m, rows)| Series {
                    name: m.clone(),
                    points: rows.iter().map(|r| (r.episode as f64, f(r))).collect(),
                })
                .collect()
        };
        line_chart(
            &dir.join(format!("fig3_case_{case}")),
            &LineChart {
                title: format!("Fig. 3: unit delay during training, case {case}"),
                x_label: "episode".into(),
                y_label: "unit delay (s per MB)".into(),
                series: of(&|r| r.unit_delay.max(1e-6)),
                log_y: true,
            },
        )?;
        line_chart(
            &dir.join(format!("fig5_case_{case}")),
            &LineChart {
                title: format!("Fig. 5: critic loss during training, case {case}"),
                x_label: "episode".into(),
                y_label: "critic loss (normalized targets)".into(),
                series: of(&|r| r.critic_loss.max(1e-6)),
                log_y: true,
            },
        )?;
        let rows: Vec<&TestRow> = res.tests.iter().filter(|r| r.case == *case).collect();
        let kinds = ["MD", "edge", "cloud"];
        bar_chart(
            &dir.join(format!("fig6_case_{case}")),
            &BarChart {
                title: format!("Fig. 6: node load rate at test, case {case}"),
                y_label: "load rate (pending / capacity)".into(),
                groups: rows.iter().map(|r| r.method.clone()).collect(),
                series: (0..3)
                    .map(|k| (kinds[k].to_string(), rows.iter().map(|r| r.load[k].max(1e-4)).collect()))
                    .collect(),
                log_y: true,
            },
        )?;
    }
    let mut methods: Vec<String> = vec![];
    for r in &res.tests {
        if !methods.contains(&r.method) {
            methods.push(r.method.clone());
        }
    }
    bar_chart(
        &dir.join("fig4_unit_delay"),
        &BarChart {
            title: "Fig. 4: unit delay at test".into(),
            y_label: "unit delay (s per MB)".into(),
            groups: cases.iter().map(|c| format!("case {c}")).collect(),
            series: methods
                .iter()
                .map(|m| {
                    let v = cases
                        .iter()
                        .map(|c| {
                            res.tests
                                .iter()
                                .find(|r| r.case == *c && &r.method == m)
                                .map_or(1e-6, |r| r.unit_delay.max(1e-6))
                        })
                        .collect();
                    (m.clone(), v)
                })
                .collect(),
            log_y: true,
        },
    )?;
    Ok(())
}
