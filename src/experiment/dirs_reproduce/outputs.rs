//! The tables, figures and summary of `mecrl reproduce dirs` from its finished experiments.

use std::path::Path;

use super::points::{BaselineOutcome, LevyOutcome};
use crate::algo::dirs::DemoSolver;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::experiment::dirs::{DirsRunConfig, Outcome, METHODS};
use crate::experiment::plot::{self, LineChart, Series};

/// Logged points averaged by the moving average of the training curves (Figs. 6, 8).
const SMOOTH: usize = 10;

/// A finished experiment (its figure or table and id beside it in the list).
pub(super) enum Done {
    Dirs(Box<DirsRunConfig>, bool, Box<Outcome>),
    Levy(LevyOutcome),
    /// A DRL baseline: its method name, its seed and what it gave.
    Baseline(&'static str, u64, BaselineOutcome),
}

/// One seed's Table III row.
struct Table3Row {
    method: &'static str,
    seed: u64,
    train_s: f64,
    inference_s: f64,
    batch: usize,
    reward: f64,
    objective: f64,
    local: f64,
    /// The training curve: (step, mean Σ Φ of the actions taken) per logged step.
    curve: Vec<(f64, f64)>,
}

impl Table3Row {
    /// Inference per instance (µs).
    fn us(&self) -> f64 {
        1e6 * self.inference_s / self.batch.max(1) as f64
    }
}

/// Mean and sample standard deviation (0 for one value).
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, var.sqrt())
}

/// A trailing moving average over `w` points (the first points average what exists).
fn smooth(p: &[(f64, f64)], w: usize) -> Vec<(f64, f64)> {
    (0..p.len())
        .map(|k| {
            let lo = (k + 1).saturating_sub(w);
            let s = &p[lo..=k];
            (p[k].0, s.iter().map(|x| x.1).sum::<f64>() / s.len() as f64)
        })
        .collect()
}

fn series(name: &str, points: Vec<(f64, f64)>) -> Series {
    Series { name: name.into(), points }
}

fn chart(title: &str, x: &str, y: &str, series: Vec<Series>, log_y: bool) -> LineChart {
    LineChart { title: title.into(), x_label: x.into(), y_label: y.into(), series, log_y }
}

/// DIRS experiments of one figure or table.
fn dirs_of<'a>(done: &'a [(&'static str, String, Done)], fig: &str) -> Vec<(&'a str, &'a DirsRunConfig, &'a Outcome)> {
    done.iter()
        .filter(|p| p.0 == fig)
        .filter_map(|(_, id, d)| match d {
            Done::Dirs(c, _, o) => Some((id.as_str(), &**c, &**o)),
            _ => None,
        })
        .collect()
}

/// Tables, figures and the summary from the finished experiments.
pub(super) fn write_outputs(
    done: &[(&'static str, String, Done)],
    quick: bool,
    seed: u64,
    dir: &Path,
    backend: &dyn Backend,
) -> Result<String> {
    // a temporary sibling renamed into place: no partial table is left if the write fails
    let write = |name: &str, text: &str| -> Result<()> {
        let (p, tmp) = (dir.join(name), dir.join(format!(".{name}.partial")));
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))
    };
    let fdir = dir.join("figures");
    let mut figures: Vec<(String, String)> = vec![]; // (caption, stem relative to dir)
    let draw = |figures: &mut Vec<(String, String)>, stem: &str, c: &LineChart| -> Result<()> {
        plot::line_chart(&fdir.join(stem), c)?;
        figures.push((c.title.clone(), format!("figures/{stem}")));
        Ok(())
    };
    let profile = done
        .iter()
        .find_map(|(_, _, d)| match d {
            Done::Dirs(c, _, _) => Some(c.mec.profile),
            _ => None,
        })
        .unwrap_or_default();
    let mut md = format!(
        "# mecrl reproduce dirs{} (seed {seed}, profile {}, {})\n\nmecrl {} (commit {})\n\n",
        if quick { " --quick" } else { "" },
        serde_json::to_value(profile).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        backend.describe(),
        crate::VERSION,
        crate::GIT_COMMIT
    );
    // Table II.
    let mut t2 =
        String::from("labels,demonstrations,loss,train_accuracy,test_accuracy,train_set_accuracy,test_set_accuracy\n");
    md.push_str(
        "## Table II: imitation accuracy (per decision)\nAccuracy: the vote equals the label; set accuracy: the vote is the label's \
         decision or changes the label's Σ Φ by at most `dirs.accuracy_tolerance` (docs/dirs.md).\n\n\
         | labels | demonstrations | loss | train | test | train (set) | test (set) |\n|---|---|---|---|---|---|---|\n",
    );
    for (_, c, o) in dirs_of(done, "table2") {
        let (tr, te) = o.imitation.unwrap_or((f64::NAN, f64::NAN));
        let (sr, se) = o.imitation_set.unwrap_or((f64::NAN, f64::NAN));
        let loss = if c.dirs.lambda1 > 0.0 { "L1" } else { "LD" };
        let labels = match c.dirs.demo_solver {
            DemoSolver::Levy => "levy",
            DemoSolver::Optimal => "optimal",
        };
        let dm = c.dirs.demonstrations;
        t2.push_str(&format!("{labels},{dm},{loss},{tr:.4},{te:.4},{sr:.4},{se:.4}\n"));
        md.push_str(&format!(
            "| {labels} | {dm} | {loss} | {:.1}% | {:.1}% | {:.1}% | {:.1}% |\n",
            100.0 * tr,
            100.0 * te,
            100.0 * sr,
            100.0 * se
        ));
    }
    write("table2.csv", &t2)?;
    // Table III: training time, inference time, average reward, per seed and as mean ± std.
    let mut rows: Vec<Table3Row> = vec![];
    for (_, c, o) in dirs_of(done, "table3") {
        let tail: Vec<f64> = o.log.iter().rev().take(50).map(|s| s.reward).collect();
        rows.push(Table3Row {
            method: "dirs",
            seed: c.seed,
            train_s: o.train_s,
            inference_s: o.fresh.as_ref().map(|f| f.1).unwrap_or(f64::NAN),
            batch: c.inference_batch,
            reward: tail.iter().sum::<f64>() / tail.len().max(1) as f64,
            objective: o.held_out[0][0],
            local: o.held_out[3][0],
            curve: o.log.iter().map(|m| (m.step as f64, m.voted)).collect(),
        });
    }
    for (fig, _, d) in done {
        if let (&"table3", Done::Baseline(method, seed, b)) = (fig, d) {
            rows.push(Table3Row {
                method,
                seed: *seed,
                train_s: b.train_s,
                inference_s: b.inference_s_per_batch,
                batch: b.batch,
                reward: b.reward,
                objective: b.objective,
                local: b.local,
                curve: b.log.iter().map(|m| (m.step as f64, m.objective)).collect(),
            });
        }
    }
    let mut t3s = String::from(
        "method,seed,training_s,inference_s_per_batch,batch,inference_us_per_instance,average_reward,held_out_objective,local_objective\n",
    );
    for r in &rows {
        t3s.push_str(&format!(
            "{},{},{:.3},{:.6},{},{:.3},{:.6},{:.4},{:.4}\n",
            r.method,
            r.seed,
            r.train_s,
            r.inference_s,
            r.batch,
            r.us(),
            r.reward,
            r.objective,
            r.local
        ));
    }
    write("table3_seeds.csv", &t3s)?;
    let mut t3 = String::from(
        "method,seeds,training_s_mean,training_s_std,inference_us_mean,inference_us_std,average_reward_mean,average_reward_std,held_out_objective_mean,held_out_objective_std,local_objective_mean\n",
    );
    md.push_str(
        "\n## Table III: DIRS vs the DRL baselines (N = 30, M = 2), mean ± std over seeds\n| method | seeds | training (s) | inference per instance (µs) | average reward 1/Σ Φ | held-out Σ Φ | Local Σ Φ (same states) |\n|---|---|---|---|---|---|---|\n",
    );
    for method in ["dirs", "ac", "ddpg"] {
        let of: Vec<&Table3Row> = rows.iter().filter(|r| r.method == method).collect();
        if of.is_empty() {
            continue;
        }
        let ms = |f: &dyn Fn(&Table3Row) -> f64| mean_std(&of.iter().map(|r| f(r)).collect::<Vec<_>>());
        let (tr, inf, rw, ob, lo) =
            (ms(&|r| r.train_s), ms(&|r| r.us()), ms(&|r| r.reward), ms(&|r| r.objective), ms(&|r| r.local));
        // (mean, std), decimals in the CSV and in the markdown
        let cells = [(tr, 3, 1), (inf, 3, 2), (rw, 6, 4), (ob, 4, 3)];
        let csv: Vec<String> =
            cells.iter().flat_map(|&((m, s), p, _)| [format!("{m:.p$}"), format!("{s:.p$}")]).collect();
        t3.push_str(&format!("{method},{},{},{:.4}\n", of.len(), csv.join(","), lo.0));
        let cols: Vec<String> = cells.iter().map(|&((m, s), _, p)| format!("{m:.p$} ± {s:.p$}")).collect();
        md.push_str(&format!("| {method} | {} | {} | {:.3} |\n", of.len(), cols.join(" | "), lo.0));
    }
    md.push_str(
        "\nAverage reward: DIRS, the voted action over its last 50 logged online steps (each a channel state \
         seen for the first time); the baselines, their greedy policy on held-out states of their own training \
         layouts (docs/ac_ddpg.md), where Local is the reference. Inference: policy, rounding or vote, and the \
         allocation (13) for a batch of new layouts. std: the sample standard deviation over seeds; every seed \
         in `table3_seeds.csv`.\n",
    );
    write("table3.csv", &t3)?;
    // The training curves behind Table III, every seed (CSV) and the mean over seeds (figure).
    let mut curves = String::from("method,seed,step,objective\n");
    let mut mean_curves = vec![];
    for method in ["dirs", "ac", "ddpg"] {
        let of: Vec<&Table3Row> = rows.iter().filter(|r| r.method == method).collect();
        for r in &of {
            for (x, y) in &r.curve {
                curves.push_str(&format!("{method},{},{x},{y:.6}\n", r.seed));
            }
        }
        let len = of.iter().map(|r| r.curve.len()).min().unwrap_or(0);
        let mean: Vec<(f64, f64)> = (0..len)
            .map(|k| (of[0].curve[k].0, of.iter().map(|r| r.curve[k].1).sum::<f64>() / of.len() as f64))
            .filter(|p| p.1.is_finite() && p.1 > 0.0)
            .collect();
        if !mean.is_empty() {
            mean_curves.push(series(&format!("{method} (mean of {} seeds)", of.len()), smooth(&mean, SMOOTH)));
        }
    }
    write("table3_curves.csv", &curves)?;
    if !mean_curves.is_empty() {
        let title = "Table III: Σ Φ of the actions taken during training";
        let y = "mean Σ Φ per instance (moving average of 10 logged steps)";
        draw(&mut figures, "table3_training", &chart(title, "training step", y, mean_curves, true))?;
    }
    // Figs. 9 and 10.
    for (fig, axis, title, label) in [
        ("fig9", "n_iotd", "Fig. 9: objective vs N (M = 2)", "N (IoTDs)"),
        ("fig10", "n_mec", "Fig. 10: objective vs M (N = 30)", "M (MECs)"),
    ] {
        let mut csv = format!("{axis},method,objective,mean_time_s,mean_energy_j\n");
        md.push_str(&format!(
            "\n## {title}, held-out channel states\n| {axis} | DIRS | Greedy | Random | Local |\n|---|---|---|---|---|\n"
        ));
        let mut lines: Vec<Vec<(f64, f64)>> = vec![vec![]; 4];
        for (_, c, o) in dirs_of(done, fig) {
            let x = if fig == "fig9" { c.mec.n_iotd } else { c.mec.n_mec };
            for (k, r) in o.held_out.iter().enumerate() {
                csv.push_str(&format!("{x},{},{:.6},{:.6},{:.6}\n", METHODS[k], r[0], r[1], r[2]));
                lines[k].push((x as f64, r[0]));
            }
            let h = &o.held_out;
            md.push_str(&format!("| {x} | {:.3} | {:.3} | {:.3} | {:.3} |\n", h[0][0], h[1][0], h[2][0], h[3][0]));
        }
        write(&format!("{fig}.csv"), &csv)?;
        if !lines[0].is_empty() {
            let names = ["DIRS", "Greedy", "Random", "Local"];
            let s = lines.into_iter().zip(names).map(|(p, n)| series(n, p)).collect();
            draw(
                &mut figures,
                fig,
                &chart(title, label, "mean Σ Φ per instance (held-out, lower is better)", s, true),
            )?;
        }
    }
    // Fig. 8: reward curves of the ablations.
    let mut f8 = String::from("variant,step,reward,voted_objective,refined_objective,loss,mean_time_s,mean_energy_j\n");
    md.push_str("\n## Fig. 8: mean reward of the voted action per fifth of T_DRL\n| variant | 1st | 2nd | 3rd | 4th | 5th | held-out Σ Φ |\n|---|---|---|---|---|---|---|\n");
    let mut curves = vec![];
    for (id, c, o) in dirs_of(done, "fig8") {
        let name = id.trim_start_matches("fig8_");
        for s in &o.log {
            f8.push_str(&format!(
                "{name},{},{:.8},{:.6},{:.6},{:.6},{:.6},{:.6}\n",
                s.step, s.reward, s.voted, s.refined, s.loss, s.mean_time, s.mean_energy
            ));
        }
        let fifth = (c.dirs.t_drl / 5).max(1);
        let bins: Vec<String> = (0..5)
            .map(|b| {
                let v: Vec<f64> = o.log.iter().filter(|s| s.step / fifth == b).map(|s| s.reward).collect();
                format!("{:.4}", v.iter().sum::<f64>() / v.len().max(1) as f64)
            })
            .collect();
        md.push_str(&format!("| {name} | {} | {:.3} |\n", bins.join(" | "), o.held_out[0][0]));
        let label = match name {
            "dirs" => "DIRS",
            "no_levy" => "without Lévy",
            "no_imitation" => "without imitation",
            "neither" => "without Lévy and imitation",
            other => other,
        };
        let pts: Vec<(f64, f64)> = o.log.iter().map(|s| (s.step as f64, s.reward)).collect();
        if !pts.is_empty() {
            curves.push(series(label, smooth(&pts, SMOOTH)));
        }
    }
    write("fig8.csv", &f8)?;
    if !curves.is_empty() {
        let t = format!("Fig. 8: reward during training (moving average of {SMOOTH} logged steps)");
        draw(&mut figures, "fig8", &chart(&t, "online step t", "reward 1/Σ Φ of the voted action", curves, false))?;
    }
    // Figs. 5 and 6 from the full DIRS run of Fig. 8.
    let full = dirs_of(done, "fig8").into_iter().find(|p| p.1.dirs.use_levy && p.1.dirs.use_imitation);
    if let Some((_, c, o)) = full {
        let m = c.mec.n_mec;
        // Fig. 5: per-agent loss (15) in imitation, (17) online, per training iteration.
        let pre = if c.dirs.use_imitation { c.dirs.t_d } else { 0 };
        let mut rows: Vec<(&str, usize, f64, &[f64])> =
            o.pretrain_loss.iter().map(|p| ("imitation", p.iteration, p.loss, &p.agent_loss[..])).collect();
        for s in o.log.iter().filter(|s| s.agent_loss.len() == m) {
            rows.push(("online", pre + s.step / c.dirs.train_every + 1, s.loss, &s.agent_loss[..]));
        }
        let mut f5 = String::from("phase,iteration,loss");
        for j in 1..=m {
            f5.push_str(&format!(",agent_{j}"));
        }
        f5.push('\n');
        for (ph, it, l, a) in &rows {
            f5.push_str(&format!("{ph},{it},{l:.6}"));
            for v in a.iter() {
                f5.push_str(&format!(",{v:.6}"));
            }
            f5.push('\n');
        }
        write("fig5.csv", &f5)?;
        let per: Vec<Series> = (0..m)
            .map(|j| {
                series(
                    &format!("agent {} (MEC {})", j + 1, j + 1),
                    rows.iter().filter(|r| r.3.len() == m && r.3[j] > 0.0).map(|r| (r.1 as f64, r.3[j])).collect(),
                )
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if !per.is_empty() {
            let t = format!("Fig. 5: loss per agent (imitation: iterations 1–{pre}, then online)");
            draw(&mut figures, "fig5", &chart(&t, "training iteration", "loss L_j (eq. 15 / 17)", per, true))?;
        }
        // Fig. 6: mean time and energy per IoTD of the voted action during training.
        for (stem, what, unit, get) in [
            (
                "fig6a_time",
                "time",
                "mean completion time T_i (s)",
                (|s: &crate::algo::dirs::StepMetrics| s.mean_time) as fn(&_) -> f64,
            ),
            ("fig6b_energy", "energy", "mean energy E_i (J)", |s| s.mean_energy),
        ] {
            let pts: Vec<(f64, f64)> = o.log.iter().map(|s| (s.step as f64, get(s))).collect();
            if pts.is_empty() {
                continue;
            }
            let t = format!("Fig. 6: average {what} per IoTD during DIRS training");
            let s = vec![
                series("logged step", pts.clone()),
                series(&format!("moving average ({SMOOTH})"), smooth(&pts, SMOOTH)),
            ];
            draw(&mut figures, stem, &chart(&t, "online step t", unit, s, false))?;
        }
    }
    // Fig. 7: classic vs proposed Lévy flight.
    for (_, _, d) in done.iter().filter(|p| p.0 == "fig7") {
        if let Done::Levy(l) = d {
            let mut f7 = String::from("generation,classic,proposed\n");
            f7.push_str(&format!("0,{:.6},{:.6}\n", l.start, l.start));
            for (g, (a, b)) in l.classic.iter().zip(&l.proposed).enumerate() {
                f7.push_str(&format!("{},{a:.6},{b:.6}\n", g + 1));
            }
            write("fig7.csv", &f7)?;
            let curve = |h: &[f64]| -> Vec<(f64, f64)> {
                std::iter::once((0.0, l.start)).chain(h.iter().enumerate().map(|(g, &v)| ((g + 1) as f64, v))).collect()
            };
            md.push_str(&format!(
                "\n## Fig. 7: Lévy flight fitness (mean best Σ Φ)\nstart {:.3}; after {} generations: classic {:.3}, proposed {:.3}\n",
                l.start,
                l.proposed.len(),
                l.classic.last().copied().unwrap_or(f64::NAN),
                l.proposed.last().copied().unwrap_or(f64::NAN)
            ));
            let s = vec![
                series("classic Lévy flight (eq. 23)", curve(&l.classic)),
                series("proposed (h-mutation, crossover)", curve(&l.proposed)),
            ];
            draw(
                &mut figures,
                "fig7",
                &chart(
                    "Fig. 7: fitness of the best candidate per generation",
                    "generation",
                    "mean best Σ Φ (fitness)",
                    s,
                    false,
                ),
            )?;
        }
    }
    if !figures.is_empty() {
        md.push_str("\n## Figures\n");
        for (title, stem) in &figures {
            md.push_str(&format!("- [{title}]({stem}.png) ([SVG]({stem}.svg))\n"));
        }
    }
    write("summary.md", &md)?;
    Ok(md)
}
