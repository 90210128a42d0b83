//! `mecrl bench crowd`: agent-slots per second of the batched step (arrivals, loads, outcomes,
//! reward, queues), alone and with the observations and the drift-plus-penalty policy, at the
//! paper's size and at 10,000 users, next to a plain-Python step
//! (`tools/bench_crowd_python.py`) that first reproduces one mecrl slot.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use super::common::{backends, interpreter, millions, number, ratio_text, reference, Block, Rounds};
use crate::backend::{self, Backend};
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
    /// Timed slots per block.
    #[arg(long, default_value_t = 100)]
    pub slots: usize,
    /// Timed blocks per side, the sides alternating (median and range reported).
    #[arg(long, default_value_t = 5)]
    pub blocks: usize,
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

/// Run the benchmark and print its report: per size, every backend's step and step + policy
/// blocks and the reference's alternate in rounds (one block of every side in turn); medians and
/// ranges.
pub fn run(a: &Args) -> Result<()> {
    let case = Case::parse("--case", &a.case)?;
    if a.blocks == 0 || a.slots == 0 {
        return Err(Error::config(if a.blocks == 0 { "--blocks" } else { "--slots" }, 0, "must be >= 1"));
    }
    let backends = backends(&a.backends, "crowd");
    let paper = CrowdConfig::default().with_case(case);
    let large = CrowdConfig { cluster_sizes: Some(vec![1667, 1667, 1667, 1667, 1666, 1666]), ..paper.clone() };
    let sizes = [("paper size", paper, a.batch_paper), ("10,000 users", large, a.batch_large)];
    let tmp = std::env::temp_dir().join(format!("mecrl-bench-crowd-{}.json", std::process::id()));
    println!(
        "mecrl bench crowd  case {}  ({} slots a block, medians and ranges of {} blocks, the sides alternating; \
         agent-slots/s)",
        case.name(),
        a.slots,
        a.blocks
    );
    println!(
        "{:<14} {:>6} {:>5} {:<26} {:>22} {:>22} {:>18}",
        "size", "users", "batch", "implementation", "M agent-slots/s", "+obs+DPP policy", "step vs Python"
    );
    for (label, cfg, batch) in sizes {
        let mut sides = vec![];
        for be in &backends {
            match Side::new(be.clone(), &cfg, batch, a.slots) {
                Ok(s) => sides.push(s),
                Err(e) => {
                    println!("{label:<14} {:>6} {batch:>5} {:<26} skipped: {e}", "", format!("mecrl {}", be.kind()))
                }
            }
        }
        let Some(first) = sides.first_mut() else { continue };
        let (b, n) = (first.env.batch(), first.env.agents());
        let py_slots = a.python_slots.to_string();
        let state = if a.no_reference { None } else { Some(first.check_against_python(&cfg, &tmp)?) };
        let mut blocks: Vec<Block<'_>> = vec![];
        for s in sides.iter_mut() {
            // two sides (the step; the step + policy) of one backend's environments
            let side = Rc::new(RefCell::new(s));
            let same = side.clone();
            blocks.push(Box::new(move || side.borrow_mut().step_block()));
            blocks.push(Box::new(move || same.borrow_mut().policy_block()));
        }
        if let Some(state) = &state {
            blocks.push(Box::new(|| python_rate(state, &["--slots", &py_slots])));
        }
        let rounds = Rounds::run("--blocks", a.blocks, &mut blocks)?;
        drop(blocks);
        let _ = std::fs::remove_file(&tmp);
        let py_side = 2 * sides.len();
        let m = |s| millions(s, 3);
        for (k, side) in sides.iter().enumerate() {
            let vs = if state.is_some() { ratio_text(rounds.ratio(2 * k, py_side)) } else { "-".into() };
            let name = format!("mecrl {}", side.backend.kind());
            let (step, full) = (rounds.stat(2 * k), rounds.stat(2 * k + 1));
            println!("{label:<14} {n:>6} {b:>5} {name:<26} {:>22} {:>22} {vs:>18}", m(step), m(full));
            if side.backend.kind() == crate::backend::BackendKind::Cpu {
                let units = (side.timed * a.slots * b * n) as f64;
                println!("  step {}", super::roofline::bound_line(side.bound, units, side.timed * a.slots, step.med));
            }
        }
        if state.is_some() {
            let name = "plain Python (same step)";
            println!("{label:<14} {:>6} {:>5} {name:<26} {:>22}", "", "", m(rounds.stat(py_side)));
        }
    }
    println!("(the Python step reproduces one mecrl slot's rewards and queue sums to 1e-3 before it is timed)");
    Ok(())
}

/// The reference's rate from the state file `state` (its stdout's `agent_slots_per_s`).
fn python_rate(state: &std::path::Path, args: &[&str]) -> Result<f64> {
    let j = reference(&interpreter(None), SCRIPT, &[&[state.to_str().unwrap_or_default()][..], args].concat())?;
    number(&j, "agent_slots_per_s", SCRIPT)
}

/// One backend's environments at one size: the step alone, and the step with observations and
/// the drift-plus-penalty policy; the bytes the step's launches bound (the CPU's roofline).
struct Side {
    backend: Arc<dyn Backend>,
    env: CrowdEnv,
    envp: CrowdEnv,
    actions: Vec<u32>,
    slots: usize,
    bound: u64,
    timed: usize,
}

impl Side {
    fn new(be: Arc<dyn Backend>, cfg: &CrowdConfig, batch: usize, slots: usize) -> Result<Side> {
        let mut env = CrowdEnv::new(be.clone(), cfg, batch, 7)?;
        let (b, n, m) = (env.batch(), env.agents(), env.n_actions() as u32);
        // fixed actions over every kind of target and level, as a policy's output would be
        let actions: Vec<u32> = (0..b * n).map(|x| (x as u32).wrapping_mul(2_654_435_761) % m).collect();
        env.act(&actions)?;
        for _ in 0..20 {
            env.arrivals()?;
            env.end_slot()?;
        }
        be.sync()?;
        let envp = CrowdEnv::new(be.clone(), cfg, batch, 7)?;
        Ok(Side { backend: be, env, envp, actions, slots, bound: 0, timed: 0 })
    }

    /// `slots` slots of the step: agent-slots per second.
    fn step_block(&mut self) -> Result<f64> {
        let bound0 = self.backend.bound_bytes();
        let t = Instant::now();
        for _ in 0..self.slots {
            self.env.arrivals()?;
            self.env.end_slot()?;
        }
        self.backend.sync()?;
        let rate = (self.slots * self.env.batch() * self.env.agents()) as f64 / t.elapsed().as_secs_f64();
        self.bound += self.backend.bound_bytes() - bound0;
        self.timed += 1;
        Ok(rate)
    }

    /// A quarter as many slots of the step with observations and the drift-plus-penalty kernel.
    fn policy_block(&mut self) -> Result<f64> {
        let t = Instant::now();
        let slots = self.slots.div_ceil(4);
        for _ in 0..slots {
            self.envp.step_policy(Policy::Dpp)?;
        }
        self.backend.sync()?;
        Ok((slots * self.envp.batch() * self.envp.agents()) as f64 / t.elapsed().as_secs_f64())
    }

    /// Writes the step's state to `file` for the plain-Python step, runs one slot here and there
    /// and checks that they agree (rewards and queue sums to 1e-3); returns the file.
    fn check_against_python(&mut self, cfg: &CrowdConfig, file: &std::path::Path) -> Result<std::path::PathBuf> {
        let (be, env) = (&self.backend, &mut self.env);
        let b = env.batch();
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
            "cell_off": env.topology().cell_off, "ctl": ctl, "q": q, "v": v, "action": self.actions,
            "task": dl(&env.task)?, "cap": f(&env.cap)?,
        });
        std::fs::write(file, state.to_string()).map_err(|e| Error::io(file, e))?;
        let chk = reference(&interpreter(None), SCRIPT, &[file.to_str().unwrap_or_default(), "--check"])?;
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
                let why = format!("instance {g}: mecrl reward/q/v {} {qs} {vs} vs python {pr} {pq} {pv}", reward[g]);
                return Err(Error::device(be.kind().to_string(), why));
            }
        }
        Ok(file.to_path_buf())
    }
}
