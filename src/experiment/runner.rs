//! `mecrl run` for the `mec` system: the baselines and the Lévy searches on a batch of instances.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::config::{Method, RunConfig};
use crate::backend::Backend;
use crate::env::mec::{Heuristic, MecEnv, Summary};
use crate::error::Result;
use crate::rng::derive_seed;
use crate::search::levy::{self, LevyMode, LevyVariant};

/// Results of one method.
#[derive(Clone, Debug, Serialize)]
pub struct MethodResult {
    /// The method.
    pub method: Method,
    /// One summary per (step, instance), step-major.
    pub per_instance: Vec<Summary>,
    /// Wall time of the decisions (all steps), seconds.
    pub wall_s: f64,
}

impl MethodResult {
    /// Means over instances and steps: (Σ Φ, mean T, mean E).
    pub fn means(&self) -> Summary {
        let k = self.per_instance.len().max(1) as f64;
        let mut s = Summary::default();
        for x in &self.per_instance {
            s.objective += x.objective / k;
            s.mean_time += x.mean_time / k;
            s.mean_energy += x.mean_energy / k;
        }
        s
    }
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Backend description.
    pub backend: String,
    /// Per method, in config order.
    pub methods: Vec<MethodResult>,
}

/// Units of progress of a run (for a progress bar): one per heuristic, `generations` per search.
pub fn work_units(cfg: &RunConfig) -> u64 {
    let per_step: u64 = cfg
        .methods
        .iter()
        .map(|m| match m {
            Method::Local | Method::Random | Method::Greedy => 1,
            _ => cfg.levy.generations as u64,
        })
        .sum();
    per_step * cfg.steps as u64
}

/// Evaluate every method of `cfg` on `backend`. `tick` advances a progress bar.
pub fn run_mec(cfg: &RunConfig, backend: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<RunReport> {
    cfg.validate()?;
    let mut env = MecEnv::new(backend.clone(), &cfg.mec, cfg.batch, derive_seed(cfg.seed, 0))?;
    let mut results: Vec<MethodResult> =
        cfg.methods.iter().map(|&method| MethodResult { method, per_instance: vec![], wall_s: 0.0 }).collect();
    for step in 0..cfg.steps {
        if step > 0 {
            env.step()?;
        }
        for (k, r) in results.iter_mut().enumerate() {
            let t0 = Instant::now();
            let (summ, elapsed) = match r.method {
                Method::Local | Method::Random | Method::Greedy => {
                    let which = match r.method {
                        Method::Local => Heuristic::Local,
                        Method::Random => Heuristic::Random,
                        _ => Heuristic::Greedy,
                    };
                    let a = env.heuristic(which)?;
                    let el = t0.elapsed().as_secs_f64();
                    tick(1);
                    (env.summarize_exact(&a)?, el)
                }
                m => {
                    let mut lc = cfg.levy.clone();
                    (lc.mode, lc.variant) = match m {
                        Method::LevyPaper => (LevyMode::Paper, LevyVariant::Proposed),
                        Method::LevyClassic => (LevyMode::Exact, LevyVariant::Classic),
                        _ => (LevyMode::Exact, LevyVariant::Proposed),
                    };
                    let a0 = env.heuristic_dev(lc.init.into())?;
                    let res = levy::search(
                        &env,
                        &lc,
                        &a0,
                        derive_seed(cfg.seed, 100 + k as u64),
                        step as u32,
                        false,
                        &mut |_| tick(1),
                    )?;
                    let a = backend.download(&res.best_a)?;
                    let el = t0.elapsed().as_secs_f64();
                    let s = if lc.mode == LevyMode::Paper {
                        let f = crate::backend::download_f32(&*backend, &res.best_f)?;
                        let p = crate::backend::download_f32(&*backend, &res.best_p)?;
                        env.summarize_paper(&a, &f, &p)?
                    } else {
                        env.summarize_exact(&a)?
                    };
                    (s, el)
                }
            };
            r.per_instance.extend(summ);
            r.wall_s += elapsed;
        }
    }
    Ok(RunReport { backend: backend.describe(), methods: results })
}

impl RunReport {
    /// As a [`super::common::Report`]: the table, `results.csv` and the per-method means.
    pub fn report(&self, batch: usize) -> super::common::Report {
        let summary = self
            .methods
            .iter()
            .map(|r| {
                let m = r.means();
                serde_json::json!({"method": r.method.name(), "objective": m.objective, "mean_time": m.mean_time,
                    "mean_energy": m.mean_energy, "wall_s": r.wall_s})
            })
            .collect::<Vec<_>>();
        super::common::Report {
            table: self.table(),
            files: vec![("results.csv".into(), self.csv(batch).into_bytes())],
            summary: serde_json::Value::Array(summary),
            backend: self.backend.clone(),
        }
    }

    /// The results table as text.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<14} {:>14} {:>14} {:>14} {:>10}\n",
            "method", "objective ΣΦ", "mean time (s)", "mean energy (J)", "wall (ms)"
        );
        for r in &self.methods {
            let m = r.means();
            s.push_str(&format!(
                "{:<14} {:>14.6} {:>14.6} {:>15.6} {:>10.3}\n",
                r.method.name(),
                m.objective,
                m.mean_time,
                m.mean_energy,
                r.wall_s * 1e3
            ));
        }
        s.push_str("ΣΦ: per instance, the sum over IoTDs of φ_T·T_i + φ_E·E_i (eq. 10-11; lower is better)\n");
        let obj = |name: &str| self.methods.iter().find(|r| r.method.name() == name).map(|r| r.means().objective);
        if let Some(local) = obj("local") {
            let worse: Vec<&str> =
                ["greedy", "random"].into_iter().filter(|n| obj(n).is_some_and(|o| o > local)).collect();
            if !worse.is_empty() {
                s.push_str(&format!(
                    "note: {} above local: they choose MECs without looking at the fading channel, and a deep fade \
                     makes some of their links very slow at these channel parameters (docs/mec.md, \"Profiles\")\n",
                    worse.join(" and ")
                ));
            }
        }
        s
    }

    /// Per-instance results CSV: `method,step,instance,objective,mean_time,mean_energy`.
    pub fn csv(&self, batch: usize) -> String {
        let mut s = String::from("method,step,instance,objective,mean_time,mean_energy\n");
        for r in &self.methods {
            for (k, x) in r.per_instance.iter().enumerate() {
                s.push_str(&format!(
                    "{},{},{},{:.9e},{:.9e},{:.9e}\n",
                    r.method.name(),
                    k / batch,
                    k % batch,
                    x.objective,
                    x.mean_time,
                    x.mean_energy
                ));
            }
        }
        s
    }
}
