//! `mecrl bench crowd`: agent-slots per second of the batched step (arrivals, loads, outcomes,
//! reward, queues), alone and with the observations and the drift-plus-penalty policy, at the
//! paper's size and at 10,000 users, next to a plain-Python step
//! (`tools/bench_crowd_python.py`) that first reproduces one mecrl slot.

use std::time::Instant;

use super::common::{backends, interpreter, median, number, reference};
use crate::backend;
use crate::env::crowd::{Case, CrowdConfig, CrowdEnv, Policy};
use crate::error::{Error, Result};

/// The reference.
const SCRIPT: &str = "bench_crowd_python.py";

/// Arguments of `mecrl bench crowd`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Task case (I, II, III).
    #[arg(long, default_value = "III")]
    pub case: String,
    /// Instances at the paper's size (6 clusters of 5–10 MDs).
    #[arg(long, default_value_t = 256)]
    pub batch_paper: usize,
    /// Instances of 10,000 users.
    #[arg(long, default_value_t = 4)]
    pub batch_large: usize,
    /// Timed slots per repetition (3 repetitions, median reported).
    #[arg(long, default_value_t = 100)]
    pub slots: usize,
    /// Slots the Python reference runs.
    #[arg(long, default_value_t = 3)]
    pub python_slots: usize,
    /// Skip the Python reference.
    #[arg(long)]
    pub no_reference: bool,
    /// Backends to measure, comma-separated (cpu, wgpu, cuda; unavailable ones are skipped).
    #[arg(long, default_value = "cpu,wgpu,cuda")]
    pub backends: String,
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let case = Case::parse("--case", &a.case)?;
    let backends = backends(&a.backends, "crowd");
    let py = interpreter(None);
    let paper = CrowdConfig::default().with_case(case);
    let large = CrowdConfig { cluster_sizes: Some(vec![1667, 1667, 1667, 1667, 1666, 1666]), ..paper.clone() };
    let sizes = [("paper size", paper, a.batch_paper), ("10,000 users", large, a.batch_large)];
    let tmp = std::env::temp_dir().join(format!("mecrl-bench-crowd-{}.json", std::process::id()));
    println!("mecrl bench crowd  case {}  ({} slots x 3 repetitions, median; agent-slots/s)", case.name(), a.slots);
    println!(
        "{:<16} {:>7} {:>7} {:<34} {:>14} {:>16}",
        "size", "users", "batch", "implementation", "M agent-slots/s", "+obs+DPP policy"
    );
    for (label, cfg, batch) in sizes {
        let mut py_rate = None;
        for be in &backends {
            let mut env = match CrowdEnv::new(be.clone(), &cfg, batch, 7) {
                Ok(e) => e,
                Err(e) => {
                    println!("{label:<16} {:>7} {batch:>7} {:<34} skipped: {e}", "", format!("mecrl {}", be.kind()));
                    continue;
                }
            };
            let (b, n, m) = (env.batch(), env.agents(), env.n_actions() as u32);
            // fixed actions over every kind of target and level, as a policy's output would be
            let actions: Vec<u32> = (0..b * n).map(|x| (x as u32).wrapping_mul(2_654_435_761) % m).collect();
            env.act(&actions)?;
            for _ in 0..20 {
                env.arrivals()?;
                env.end_slot()?;
            }
            be.sync()?;
            let mut step = vec![];
            let mut full = vec![];
            let bound0 = be.bound_bytes();
            for _ in 0..3 {
                let t = Instant::now();
                for _ in 0..a.slots {
                    env.arrivals()?;
                    env.end_slot()?;
                }
                be.sync()?;
                step.push((a.slots * b * n) as f64 / t.elapsed().as_secs_f64());
            }
            let bound = be.bound_bytes() - bound0;
            // the env step plus observations and the drift-plus-penalty kernel
            let mut envp = CrowdEnv::new(be.clone(), &cfg, batch, 7)?;
            for _ in 0..3 {
                let t = Instant::now();
                for _ in 0..a.slots.div_ceil(4) {
                    envp.step_policy(Policy::Dpp)?;
                }
                be.sync()?;
                full.push((a.slots.div_ceil(4) * b * n) as f64 / t.elapsed().as_secs_f64());
            }
            println!(
                "{label:<16} {n:>7} {b:>7} {:<34} {:>14.2} {:>16.2}",
                format!("mecrl {}", be.kind()),
                median(step.clone()) / 1e6,
                median(full) / 1e6
            );
            if be.kind() == crate::backend::BackendKind::Cpu {
                let line = super::roofline::bound_line(bound, (3 * a.slots * b * n) as f64, 3 * a.slots, median(step));
                println!("  step {line}");
            }
            if a.no_reference || py_rate.is_some() {
                continue;
            }
            // the plain-Python step from this state, and a cross-check of one slot's values
            let p = *env.params();
            let dl = |buf: &crate::Buffer| be.download(buf);
            let f = |buf: &crate::Buffer| backend::download_f32(&**be, buf);
            let (ctl, q, v) = (dl(&env.ctl)?, f(&env.q)?, f(&env.v)?);
            env.arrivals()?;
            env.end_slot()?;
            let state = serde_json::json!({
                "params": {
                    "b": p.b, "n": p.n, "s": p.s, "k": p.k, "r": p.r,
                    "levels": cfg.rate_levels, "gap_lo": p.gap_lo, "gap_hi": p.gap_hi,
                    "lambda1": p.lambda1, "lambda2": p.lambda2, "lambda3": p.lambda3,
                    "f_md": p.f_md, "idle_lo": p.idle_lo, "idle_hi": p.idle_hi, "f_edge": p.f_edge,
                    "f_cloud": p.f_cloud, "c_wireless": p.c_wireless, "c_wired": p.c_wired,
                    "c_backbone": p.c_backbone, "dt": p.dt, "alpha": p.alpha, "beta": p.beta,
                    "v_penalty": p.v_penalty, "fee_local": p.fee_local, "fee_md": p.fee_md,
                    "fee_edge": p.fee_edge, "fee_cloud": p.fee_cloud, "rate_unit": p.rate_unit,
                    "cycles_unit": p.cycles_unit, "bits_per_mb": p.bits_per_mb,
                },
                "cell_off": env.topology().cell_off, "ctl": ctl, "q": q, "v": v, "action": actions,
                "task": dl(&env.task)?, "cap": f(&env.cap)?,
            });
            std::fs::write(&tmp, state.to_string()).map_err(|e| Error::io(&tmp, e))?;
            let state_file = tmp.to_string_lossy().into_owned();
            let python = |args: &[&str]| reference(&py, SCRIPT, &[&[state_file.as_str()][..], args].concat());
            let chk = python(&["--check"])?;
            let reward = f(&env.reward)?;
            let (q1, v1) = (f(&env.q)?, f(&env.v)?);
            let (u, l) = (q1.len() / b, v1.len() / b);
            for g in 0..b {
                let close = |x: f64, y: f64| (x - y).abs() <= 1e-3 * x.abs().max(y.abs()).max(1.0);
                let qs: f64 = q1[g * u..(g + 1) * u].iter().map(|&x| x as f64).sum();
                let vs: f64 = v1[g * l..(g + 1) * l].iter().map(|&x| x as f64).sum();
                let (pr, pq, pv) = (chk["reward"][g].as_f64(), chk["q_sum"][g].as_f64(), chk["v_sum"][g].as_f64());
                let (Some(pr), Some(pq), Some(pv)) = (pr, pq, pv) else {
                    return Err(Error::device("python reference", format!("{SCRIPT} --check: bad output {chk}")));
                };
                if !(close(reward[g] as f64, pr) && close(qs, pq) && close(vs, pv)) {
                    let why =
                        format!("instance {g}: mecrl reward/q/v {} {qs} {vs} vs python {pr} {pq} {pv}", reward[g]);
                    return Err(Error::device(be.kind().to_string(), why));
                }
            }
            let j = python(&["--slots", &a.python_slots.to_string()])?;
            py_rate = Some(number(&j, "agent_slots_per_s", SCRIPT)?);
        }
        let _ = std::fs::remove_file(&tmp);
        if let Some(r) = py_rate {
            println!("{label:<16} {:>7} {:>7} {:<34} {:>14.3}", "", "", "plain Python (same step)", r / 1e6);
        }
    }
    println!("(the Python step reproduces one mecrl slot's rewards and queue sums to 1e-3 before it is timed)");
    Ok(())
}
