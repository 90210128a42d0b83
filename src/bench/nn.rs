//! `mecrl bench nn`: training steps of small networks (forward + backward + Adam) on a backend,
//! next to the same step jitted by JAX on the CPU (`tools/bench_nn_jax.py`) in the same run,
//! the two sides' timed blocks alternating (this VM's speed drifts by up to 2× over minutes:
//! blocks run back to back see the same machine).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use super::common::{interpreter, median, root};
use super::roofline::Stat;
use crate::autograd::Tape;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::experiment::pick_backend;
use crate::nn::{Lstm, Mlp, OptimConfig, Optimizer};
use crate::ops::act::Act;
use crate::tensor::Tensor;

/// Arguments of `mecrl bench nn`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Steps per timed block.
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Timed blocks (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Python with JAX for the reference (default: .venv/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let be = pick_backend(&a.backend)?;
    let mut jax = Jax::start(a.python.as_deref())?;
    println!(
        "mecrl bench nn  (forward + backward + Adam per step; medians of {} blocks of {} steps, alternating with JAX's)",
        a.reps, a.steps
    );
    println!("{:<48} {:>14} {:>14} {:>8}", "case", "mecrl (ms)", "JAX-CPU (ms)", "ratio (range)");
    let steps_c = (a.steps / 10).max(2);
    let mut cases: Vec<(&str, &str, usize, Bench<'static>, f64)> = vec![];
    for (c, key) in CASES.iter().zip(["(a)", "(b)"]) {
        cases.push((c.name, key, a.steps, mlp(&be, c)?, mlp_flops(c)));
    }
    // 2 layers × T = 20 steps of the four gates' products (batch 20, input 256 + hidden 256 →
    // 4 × 256), forward and the two products of the backward pass.
    let lstm_flops = 2.0 * 20.0 * 3.0 * 2.0 * 20.0 * 512.0 * 1024.0;
    cases.push(("(c) LSTM 2x256, T=20, batch 20 (fwd+bwd)", "(c)", steps_c, lstm(&be)?, lstm_flops));
    let cpu = be.kind() == crate::backend::BackendKind::Cpu;
    for (name, key, steps, mut bench, flops) in cases {
        let tm = alternate(&mut bench, jax.as_mut(), key, steps, a.reps)?;
        let (t, js, ratio) = (tm.t, tm.j.map_or("-".into(), |j| format!("{:.3}", j * 1e3)), tm.ratio_text());
        println!("{:<48} {:>14.3} {:>14} {:>8}", name, t * 1e3, js, ratio);
        if cpu {
            let c = super::roofline::Ceilings::get();
            let gf = flops / t / 1e9;
            println!(
                "  roofline: {gf:.1} GFLOP/s in the products of {:.1} = {:.0} % of the FMA peak",
                c.fma_gops.med,
                100.0 * gf / c.fma_gops.med
            );
        }
    }
    if let Some(j) = &jax {
        println!("{}", j.describe);
    }
    Ok(())
}

/// Floating-point operations of the products of one training step of `c`: the forward product
/// of every layer and the two of the backward pass (dW and dX), 2 per multiply-add.
fn mlp_flops(c: &MlpCase) -> f64 {
    let macs: usize = c.sizes.windows(2).map(|w| w[0] * w[1]).sum();
    3.0 * 2.0 * (c.k * c.batch * macs) as f64
}

/// One benchmark case: an ensemble of K MLPs with these sizes on a batch.
pub struct MlpCase {
    /// Label.
    pub name: &'static str,
    /// Layer sizes.
    pub sizes: &'static [usize],
    /// Networks in the ensemble.
    pub k: usize,
    /// Batch per network.
    pub batch: usize,
}

/// The cases (a) and (b).
pub const CASES: [MlpCase; 2] = [
    MlpCase { name: "(a) DIRS agents [30,80,60,30] x2, batch 256", sizes: &[30, 80, 60, 30], k: 2, batch: 256 },
    MlpCase { name: "(b) [100,80,60,100] x10, batch 256", sizes: &[100, 80, 60, 100], k: 10, batch: 256 },
];

/// The pause before every timed block of either side: the other side's idle threads (rayon's,
/// XLA's) spin for a while after its block ends, and a block started at once would share the
/// cores with them.
pub const SETTLE: std::time::Duration = std::time::Duration::from_millis(250);

/// Medians of `reps` timed blocks of `steps` steps of `bench` and, when there is a JAX side,
/// of its case `key`, the two sides' blocks alternating after one untimed block each
/// (allocations, caches, XLA's compilation): (mecrl s/step, JAX s/step).
pub fn alternate(
    bench: &mut Bench<'_>,
    mut jax: Option<&mut Jax>,
    key: &str,
    steps: usize,
    reps: usize,
) -> Result<Timing> {
    let (mut ours, mut theirs) = (vec![], vec![]);
    for r in 0..=reps {
        let t = bench.block(steps)?;
        let j = jax.as_deref_mut().map(|j| j.block(key, steps)).transpose()?;
        if r > 0 {
            ours.push(t);
            theirs.extend(j);
        }
    }
    let ratio = (!theirs.is_empty()).then(|| Stat::of(theirs.iter().zip(&ours).map(|(j, t)| j / t).collect()));
    Ok(Timing { t: median(ours), j: (!theirs.is_empty()).then(|| median(theirs)), ratio })
}

/// What [`alternate`] measured: medians of the blocks' seconds per step, and the blocks' ratios.
pub struct Timing {
    /// mecrl's median seconds per step.
    pub t: f64,
    /// JAX's median seconds per step (None without JAX).
    pub j: Option<f64>,
    /// JAX / mecrl block by block (> 1: mecrl is faster): median and range.
    pub ratio: Option<Stat>,
}

impl Timing {
    /// `2.33x (2.10–2.52)`, or `-` without JAX.
    pub fn ratio_text(&self) -> String {
        self.ratio.map_or("-".into(), |r| format!("{:.2}x ({:.2}–{:.2})", r.med, r.min, r.max))
    }
}

/// A case's training step on a backend, timed a block at a time.
pub struct Bench<'a> {
    be: Arc<dyn Backend>,
    step: Box<dyn FnMut() -> Result<()> + 'a>,
}

impl<'a> Bench<'a> {
    /// A case timing `step` on `be`.
    pub fn new(be: &Arc<dyn Backend>, step: impl FnMut() -> Result<()> + 'a) -> Self {
        Bench { be: be.clone(), step: Box::new(step) }
    }

    /// Seconds per step over one block of `steps` steps (the backend synchronized at the end),
    /// after the [`SETTLE`] pause.
    pub fn block(&mut self, steps: usize) -> Result<f64> {
        std::thread::sleep(SETTLE);
        let t0 = Instant::now();
        for _ in 0..steps {
            (self.step)()?;
        }
        self.be.sync()?;
        Ok(t0.elapsed().as_secs_f64() / steps.max(1) as f64)
    }
}

/// Cases (a)/(b): a training step of K MLPs (ReLU hidden layers, MSE to fixed targets, Adam).
pub fn mlp(be: &Arc<dyn Backend>, c: &MlpCase) -> Result<Bench<'static>> {
    let (i, o) = (c.sizes[0], c.sizes[c.sizes.len() - 1]);
    let xs: Vec<f32> = (0..c.k * c.batch * i).map(|j| ((j * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    let ts: Vec<f32> = (0..c.k * c.batch * o).map(|j| ((j * 104_729 % 1000) as f32 / 500.0) - 1.0).collect();
    let x = Tensor::from_f32(be, &[c.k, c.batch, i], &xs)?;
    let t = Tensor::from_f32(be, &[c.k, c.batch, o], &ts)?;
    let mlp = Mlp::new(be, c.sizes, c.k, Act::Relu, None, 1)?;
    let mut opt = Optimizer::new(OptimConfig::adam(1e-3), &mlp.params())?;
    let bk = be.clone();
    let step = move || -> Result<()> {
        let tape = Tape::new(&bk);
        let y = mlp.forward(&tape, &tape.constant(&x))?;
        let loss = tape.mse(&y, &tape.constant(&t))?;
        opt.zero_grad()?;
        tape.backward(&loss)?;
        opt.step()
    };
    Ok(Bench { be: be.clone(), step: Box::new(step) })
}

/// Case (c): a 2-layer LSTM(256) over T = 20 steps of a batch of 20 (input 256), forward and
/// backward of the mean squared output (no optimizer step).
pub fn lstm(be: &Arc<dyn Backend>) -> Result<Bench<'static>> {
    let (t, b, f, h) = (20usize, 20usize, 256usize, 256usize);
    let xs: Vec<f32> = (0..t * b * f).map(|j| ((j * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    let x = Tensor::from_f32(be, &[t, b, f], &xs)?;
    let target = Tensor::zeros(be, &[t, b, h])?;
    let lstm = Lstm::new(be, f, h, 2, 1, 1)?;
    let params = lstm.params();
    let bk = be.clone();
    let pass = move || -> Result<()> {
        let tape = Tape::new(&bk);
        let out = lstm.forward(&tape, &tape.constant(&x), None)?;
        let loss = tape.mse(&out.seq, &tape.constant(&target))?;
        params.iter().try_for_each(|p| p.zero_grad())?;
        tape.backward(&loss)
    };
    Ok(Bench { be: be.clone(), step: Box::new(pass) })
}

/// A failure of the JAX reference's process or protocol.
fn jax_error(why: impl ToString) -> Error {
    Error::device("JAX reference", why)
}

/// The JAX reference (`tools/bench_nn_jax.py --serve`), timing one block per request.
pub struct Jax {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// "JAX `<version>` on `<device>`".
    pub describe: String,
}

impl Jax {
    /// Starts the reference; `None` when JAX is not importable (the message says how).
    pub fn start(python: Option<&Path>) -> Result<Option<Jax>> {
        Jax::serve(python, "nn", "bench_nn_jax.py", &[])
    }

    /// Starts `tools/<script> --serve <args>` (the reference of `mecrl bench <what>`); `None`
    /// when JAX is not importable (the message says how).
    pub fn serve(python: Option<&Path>, what: &str, script: &str, args: &[&str]) -> Result<Option<Jax>> {
        let py = interpreter(python);
        let probe = Command::new(&py).args(["-c", "import jax"]).output();
        if !probe.map(|o| o.status.success()).unwrap_or(false) {
            eprintln!(
                "bench {what}: JAX is not importable by {} (`pip install jax`, or --python PATH): no reference",
                py.display()
            );
            return Ok(None);
        }
        let mut child = Command::new(&py)
            .arg(root().join("tools").join(script))
            .arg("--serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(&py, e))?;
        let (Some(input), Some(out)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(jax_error("no pipes"));
        };
        let mut jax = Jax { child, input, output: BufReader::new(out), describe: String::new() };
        let info: serde_json::Value =
            serde_json::from_str(&jax.line()?).map_err(|e| jax_error(format!("its first line: {e}")))?;
        jax.describe = format!(
            "JAX {} on {}",
            info["jax_version"].as_str().unwrap_or("?"),
            info["device"].as_str().unwrap_or("?")
        );
        Ok(Some(jax))
    }

    fn line(&mut self) -> Result<String> {
        let mut l = String::new();
        if self.output.read_line(&mut l).map_err(jax_error)? == 0 {
            return Err(jax_error("exited (its error is above)"));
        }
        Ok(l)
    }

    /// Seconds per step of one block of `steps` steps of `case` ("(a)", "(b)", "(c)"; the
    /// script's names).
    pub fn block(&mut self, case: &str, steps: usize) -> Result<f64> {
        std::thread::sleep(SETTLE);
        writeln!(self.input, "{case} {steps}").and_then(|_| self.input.flush()).map_err(jax_error)?;
        let l = self.line()?;
        l.trim().parse().map_err(|_| jax_error(format!("answered {l:?}")))
    }
}

impl Drop for Jax {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
