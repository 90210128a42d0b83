//! The experiments of `mecrl reproduce dirs` ([`reproduce_points`]): what each runs ([`Job`])
//! and what the non-DIRS ones give (Fig. 7, Table III's baselines; DIRS's is
//! [`crate::experiment::dirs::Outcome`]).

use serde::{Deserialize, Serialize};

use crate::algo::ac::AcConfig;
use crate::algo::ddpg::DdpgConfig;
use crate::algo::dirs::DemoSolver;
use crate::algo::mec_drl as drl;
use crate::env::mec::{MecConfig, MecProfile};
use crate::error::{Error, Result};
use crate::experiment::dirs::DirsRunConfig;
use crate::search::levy::LevyConfig;

/// How a DRL baseline is evaluated (Table III).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BaselineEval {
    /// Held-out instances (the training layouts, later channel states).
    pub batch: usize,
    /// Held-out channel states.
    pub steps: usize,
    /// Instances of new layouts on which inference is timed (as DIRS's Table III row).
    pub inference_batch: usize,
    /// Training metrics every `log_every` steps.
    pub log_every: usize,
}

/// What one experiment runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    /// DIRS training (Alg. 1, 2), with the held-out comparison when `evaluate`.
    Dirs {
        /// The run.
        cfg: DirsRunConfig,
        /// Compare with the baselines on held-out states (Figs. 9, 10).
        evaluate: bool,
    },
    /// Fig. 7: the classic and the proposed Lévy search on the same instances.
    Levy {
        /// The system.
        mec: MecConfig,
        /// The search (its `variant` is replaced by each of the two).
        levy: LevyConfig,
        /// Instances searched.
        instances: usize,
        /// Seed of the instances and the searches.
        seed: u64,
    },
    /// Table III: Actor-Critic.
    Ac {
        /// The system.
        mec: MecConfig,
        /// The agent.
        cfg: AcConfig,
        /// Its evaluation.
        eval: BaselineEval,
    },
    /// Table III: DDPG.
    Ddpg {
        /// The system.
        mec: MecConfig,
        /// The agent.
        cfg: DdpgConfig,
        /// Its evaluation.
        eval: BaselineEval,
    },
}

impl Job {
    /// Check every setting.
    pub fn validate(&self) -> Result<()> {
        match self {
            Job::Dirs { cfg, .. } => cfg.validate(),
            Job::Levy { mec, levy, instances, .. } => {
                if *instances == 0 {
                    return Err(Error::config("fig7.instances", 0, "must be >= 1"));
                }
                mec.validate()?;
                levy.validate()
            }
            Job::Ac { mec, cfg, eval } => {
                check_eval(eval)?;
                mec.validate()?;
                cfg.validate()
            }
            Job::Ddpg { mec, cfg, eval } => {
                check_eval(eval)?;
                mec.validate()?;
                cfg.validate()
            }
        }
    }

    /// The system the experiment runs on.
    pub fn mec(&self) -> &MecConfig {
        match self {
            Job::Dirs { cfg, .. } => &cfg.mec,
            Job::Levy { mec, .. } | Job::Ac { mec, .. } | Job::Ddpg { mec, .. } => mec,
        }
    }

    /// Units of progress (training steps and iterations, evaluated states, search generations).
    pub fn work_units(&self) -> u64 {
        match self {
            Job::Dirs { cfg, evaluate } => cfg.work_units() - if *evaluate { 0 } else { cfg.eval_steps as u64 },
            Job::Levy { levy, .. } => 2 * levy.generations as u64,
            Job::Ac { cfg, eval, .. } => (cfg.steps + eval.steps) as u64,
            Job::Ddpg { cfg, eval, .. } => (cfg.steps + eval.steps) as u64,
        }
    }
}

fn check_eval(e: &BaselineEval) -> Result<()> {
    if e.batch == 0 || e.steps == 0 || e.inference_batch == 0 {
        return Err(Error::config("table3.eval", format!("{e:?}"), "batch, steps and inference_batch must be >= 1"));
    }
    Ok(())
}

/// One experiment of `mecrl reproduce dirs`: the figure or table it belongs to, its id (names
/// its resume file) and what it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// `table2`, `table3`, `fig7`, `fig8`, `fig9` or `fig10`.
    pub fig: &'static str,
    /// Unique id.
    pub id: String,
    /// The experiment.
    pub job: Job,
}

/// Fig. 7: mean over the instances of the best objective, before the search and after every
/// generation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LevyOutcome {
    /// Mean Σ Φ of the start decisions (generation 0).
    pub start: f64,
    /// The classic search, after generations 1..=G_max.
    pub classic: Vec<f64>,
    /// The proposed search, after generations 1..=G_max.
    pub proposed: Vec<f64>,
}

/// Table III row of a DRL baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineOutcome {
    /// Training wall time (s).
    pub train_s: f64,
    /// Training metrics (sampled / noisy actions) every `log_every` steps.
    pub log: Vec<drl::StepMetrics>,
    /// Held-out Σ Φ of the greedy policy.
    pub objective: f64,
    /// Held-out mean reward 1/Σ Φ.
    pub reward: f64,
    /// Held-out mean time and energy per IoTD.
    pub mean_time: f64,
    /// (J)
    pub mean_energy: f64,
    /// Local's Σ Φ on the same held-out states.
    pub local: f64,
    /// Inference (policy + rounding + allocation) per batch of new layouts (s).
    pub inference_s_per_batch: f64,
    /// That batch.
    pub batch: usize,
}

/// Seeds of Table III's mean ± std (the run's seed and the next ones).
pub const TABLE3_SEEDS: u64 = 5;

/// The experiments of `mecrl reproduce dirs` under the `mecrl` profile ([`reproduce_points_for`]).
pub fn reproduce_points(quick: bool, seed: u64) -> Vec<Point> {
    reproduce_points_for(quick, seed, MecProfile::Mecrl)
}

/// The experiments of `mecrl reproduce dirs` (paper scale, or `quick`: fewer points, shorter
/// training; see docs/dirs.md) with the `mec` constants of `profile`.
pub fn reproduce_points_for(quick: bool, seed: u64, profile: MecProfile) -> Vec<Point> {
    let mut base = DirsRunConfig {
        seed,
        backend: "cpu".into(),
        log_every: 10,
        inference_batch: 0,
        mec: profile.config(),
        ..Default::default()
    };
    if quick {
        base.dirs.t_d = 300;
        base.dirs.t_drl = 600;
        base.eval_steps = 20;
    }
    let mut v: Vec<Point> = vec![];
    let dirs = |fig, id: String, cfg, evaluate| Point { fig, id, job: Job::Dirs { cfg, evaluate } };
    // Table II: demonstrations × {L1, L_D}, imitation only.
    let demos: &[usize] = if quick { &[64, 256] } else { &[64, 128, 256, 512] };
    // Labels: the paper's small-β Lévy search, and the exact optimum (a canonical label).
    for (solver, tag) in [(DemoSolver::Levy, ""), (DemoSolver::Optimal, "_opt")] {
        for &dm in demos {
            for (loss, l1) in [("L1", 1e-4), ("LD", 0.0)] {
                let mut c = base.clone();
                c.dirs.demonstrations = dm;
                c.dirs.lambda1 = l1;
                c.dirs.t_drl = 0;
                c.dirs.demo_solver = solver;
                v.push(dirs("table2", format!("table2_d{dm}_{loss}{tag}"), c, false));
            }
        }
    }
    // Fig. 9: N = 10…100 (M = 2); the N = 30 point is the paper's and also times inference, as
    // Table III's runs do (so that it can be Table III's first seed).
    let ns: Vec<usize> = if quick { vec![10, 30, 50] } else { (1..=10).map(|k| 10 * k).collect() };
    for &n in &ns {
        let mut c = base.clone();
        c.mec.n_iotd = n;
        if n == 30 {
            c.inference_batch = 4096;
        }
        v.push(dirs("fig9", format!("fig9_n{n}"), c, true));
    }
    // Fig. 10: M = 2…10 (N = 30).
    let ms: &[usize] = if quick { &[2, 6, 10] } else { &[2, 4, 6, 8, 10] };
    for &m in ms {
        let mut c = base.clone();
        c.mec.n_mec = m;
        v.push(dirs("fig10", format!("fig10_m{m}"), c, true));
    }
    // Fig. 8: ablations at the paper's scale (reward curves); `fig8_dirs` also gives Figs. 5, 6.
    for (name, levy, imit) in
        [("dirs", true, true), ("no_levy", false, true), ("no_imitation", true, false), ("neither", false, false)]
    {
        let mut c = base.clone();
        c.dirs.use_levy = levy;
        c.dirs.use_imitation = imit;
        v.push(dirs("fig8", format!("fig8_{name}"), c, true));
    }
    // Fig. 7: the online search's settings (β = 1.5, P = 32, G_max = 100) from Greedy's decisions.
    let mec = base.mec.clone();
    v.push(Point {
        fig: "fig7",
        id: "fig7_levy".into(),
        job: Job::Levy { mec: mec.clone(), levy: base.dirs.levy.clone(), instances: 100, seed },
    });
    // Table III: DIRS and the DRL baselines on the paper's system (docs/ac_ddpg.md), each over
    // TABLE3_SEEDS seeds with its tuned settings (a DIRS run that is Fig. 9's N = 30 run is reused).
    let eval = BaselineEval { batch: 16, steps: if quick { 10 } else { 20 }, inference_batch: 4096, log_every: 10 };
    // The baselines' default budgets (2000 steps × B = 32 / 16); quick: 300 and 150 steps.
    let (ac_steps, ddpg_steps) = if quick { (300, 150) } else { (2000, 2000) };
    let t = Tuned::of(profile);
    for s in seed..seed + TABLE3_SEEDS {
        let mut c = DirsRunConfig { seed: s, inference_batch: 4096, ..base.clone() };
        c.dirs.lr = t.dirs_lr;
        v.push(dirs("table3", format!("table3_dirs_s{s}"), c, true));
        let cfg = AcConfig { seed: s, steps: ac_steps, actor_lr: t.ac_lr, critic_lr: t.ac_lr, ..Default::default() };
        v.push(Point { fig: "table3", id: format!("table3_ac_s{s}"), job: Job::Ac { mec: mec.clone(), cfg, eval } });
        let (actor_lr, critic_lr) = t.ddpg_lr;
        let cfg = DdpgConfig { seed: s, steps: ddpg_steps, actor_lr, critic_lr, ..Default::default() };
        v.push(Point {
            fig: "table3",
            id: format!("table3_ddpg_s{s}"),
            job: Job::Ddpg { mec: mec.clone(), cfg, eval },
        });
    }
    v
}

/// Table III's settings per profile: each method's best of the same tuning budget, four
/// configurations on seed 101 ranked by held-out Σ Φ (`examples/table3_tune.rs`, the grid and
/// its results in docs/ac_ddpg.md "Tuning within one budget").
pub struct Tuned {
    /// DIRS's Adam learning rate.
    pub dirs_lr: f64,
    /// Actor-Critic's actor and critic learning rate.
    pub ac_lr: f64,
    /// DDPG's (actor, critic) learning rates.
    pub ddpg_lr: (f64, f64),
}

impl Tuned {
    /// The tuned settings of `profile`.
    pub fn of(profile: MecProfile) -> Self {
        match profile {
            MecProfile::Mecrl => Tuned { dirs_lr: 3e-4, ac_lr: 3e-3, ddpg_lr: (3e-5, 3e-4) },
            MecProfile::Calibrated => Tuned { dirs_lr: 1e-3, ac_lr: 3e-3, ddpg_lr: (1e-4, 3e-4) },
        }
    }
}

/// Units of progress of `reproduce` under `profile`.
pub fn reproduce_work_units(quick: bool, seed: u64, profile: MecProfile) -> u64 {
    reproduce_points_for(quick, seed, profile).iter().map(|p| p.job.work_units()).sum()
}
