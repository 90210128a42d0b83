//! `mecrl bench nn`: training steps of small networks (forward + backward + Adam) on a backend,
//! next to the same step jitted by JAX on the CPU (`tools/bench_nn_jax.py`) in the same run,
//! the two sides' timed blocks alternating (this VM's speed drifts by up to 2× over minutes:
//! blocks run back to back see the same machine).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use mecrl::autograd::Tape;
use mecrl::backend::Backend;
use mecrl::nn::{Lstm, Mlp, OptimConfig, Optimizer};
use mecrl::ops::act::Act;
use mecrl::tensor::Tensor;

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

/// A case's training step on a backend, timed a block at a time.
pub struct Bench<'a> {
    be: Arc<dyn Backend>,
    step: Box<dyn FnMut() -> mecrl::Result<()> + 'a>,
}

impl Bench<'_> {
    /// Seconds per step over one block of `steps` steps (the backend synchronized at the end).
    pub fn block(&mut self, steps: usize) -> anyhow::Result<f64> {
        let t0 = Instant::now();
        for _ in 0..steps {
            (self.step)()?;
        }
        self.be.sync()?;
        Ok(t0.elapsed().as_secs_f64() / steps.max(1) as f64)
    }
}

/// Cases (a)/(b): a training step of K MLPs (ReLU hidden layers, MSE to fixed targets, Adam).
pub fn mlp(be: &Arc<dyn Backend>, c: &MlpCase) -> anyhow::Result<Bench<'static>> {
    let (i, o) = (c.sizes[0], c.sizes[c.sizes.len() - 1]);
    let xs: Vec<f32> = (0..c.k * c.batch * i).map(|j| ((j * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    let ts: Vec<f32> = (0..c.k * c.batch * o).map(|j| ((j * 104_729 % 1000) as f32 / 500.0) - 1.0).collect();
    let x = Tensor::from_f32(be, &[c.k, c.batch, i], &xs)?;
    let t = Tensor::from_f32(be, &[c.k, c.batch, o], &ts)?;
    let mlp = Mlp::new(be, c.sizes, c.k, Act::Relu, None, 1)?;
    let mut opt = Optimizer::new(OptimConfig::adam(1e-3), &mlp.params())?;
    let bk = be.clone();
    let step = move || -> mecrl::Result<()> {
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
pub fn lstm(be: &Arc<dyn Backend>) -> anyhow::Result<Bench<'static>> {
    let (t, b, f, h) = (20usize, 20usize, 256usize, 256usize);
    let xs: Vec<f32> = (0..t * b * f).map(|j| ((j * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    let x = Tensor::from_f32(be, &[t, b, f], &xs)?;
    let target = Tensor::zeros(be, &[t, b, h])?;
    let lstm = Lstm::new(be, f, h, 2, 1, 1)?;
    let params = lstm.params();
    let bk = be.clone();
    let pass = move || -> mecrl::Result<()> {
        let tape = Tape::new(&bk);
        let out = lstm.forward(&tape, &tape.constant(&x), None)?;
        let loss = tape.mse(&out.seq, &tape.constant(&target))?;
        params.iter().try_for_each(|p| p.zero_grad())?;
        tape.backward(&loss)
    };
    Ok(Bench { be: be.clone(), step: Box::new(pass) })
}

/// The JAX reference (`tools/bench_nn_jax.py --serve`), timing one block per request.
pub struct Jax {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// "JAX <version> on <device>".
    pub describe: String,
}

impl Jax {
    /// Starts the reference; `None` when JAX is not importable (the message says how).
    pub fn start(python: Option<PathBuf>) -> anyhow::Result<Option<Jax>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let py = python.unwrap_or_else(|| {
            let v = root.join(".venv/bin/python");
            if v.exists() {
                v
            } else {
                PathBuf::from("python3")
            }
        });
        let probe = Command::new(&py).args(["-c", "import jax"]).output();
        if !probe.map(|o| o.status.success()).unwrap_or(false) {
            eprintln!(
                "bench nn: JAX is not importable by {} (`pip install jax`, or --python PATH): no reference",
                py.display()
            );
            return Ok(None);
        }
        let mut child = Command::new(&py)
            .arg(root.join("tools/bench_nn_jax.py"))
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", py.display()))?;
        let (Some(input), Some(out)) = (child.stdin.take(), child.stdout.take()) else {
            bail!("JAX reference: no pipes");
        };
        let mut jax = Jax { child, input, output: BufReader::new(out), describe: String::new() };
        let info: serde_json::Value = serde_json::from_str(&jax.line()?).context("JAX reference: its first line")?;
        jax.describe = format!(
            "JAX {} on {}",
            info["jax_version"].as_str().unwrap_or("?"),
            info["device"].as_str().unwrap_or("?")
        );
        Ok(Some(jax))
    }

    fn line(&mut self) -> anyhow::Result<String> {
        let mut l = String::new();
        if self.output.read_line(&mut l)? == 0 {
            bail!("JAX reference exited (its error is above)");
        }
        Ok(l)
    }

    /// Seconds per step of one block of `steps` steps of `case` ("(a)", "(b)", "(c)").
    pub fn block(&mut self, case: &str, steps: usize) -> anyhow::Result<f64> {
        writeln!(self.input, "{case} {steps}")?;
        self.input.flush()?;
        let l = self.line()?;
        l.trim().parse().with_context(|| format!("JAX reference answered {l:?}"))
    }
}

impl Drop for Jax {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
