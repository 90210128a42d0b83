//! `mecrl bench nn`: training steps of small networks (forward + backward + Adam) on a backend,
//! next to the same step jitted by JAX on the CPU (`tools/bench_nn_jax.py`) in the same run.

use std::path::{Path, PathBuf};
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds per training step (ReLU hidden layers, MSE to fixed targets, Adam), over
/// `reps` timed blocks of `steps` steps each, after a warm-up block.
pub fn time_mlp(be: &Arc<dyn Backend>, c: &MlpCase, steps: usize, reps: usize) -> anyhow::Result<f64> {
    let (i, o) = (c.sizes[0], c.sizes[c.sizes.len() - 1]);
    let xs: Vec<f32> = (0..c.k * c.batch * i).map(|j| ((j * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    let ts: Vec<f32> = (0..c.k * c.batch * o).map(|j| ((j * 104_729 % 1000) as f32 / 500.0) - 1.0).collect();
    let x = Tensor::from_f32(be, &[c.k, c.batch, i], &xs)?;
    let t = Tensor::from_f32(be, &[c.k, c.batch, o], &ts)?;
    let mlp = Mlp::new(be, c.sizes, c.k, Act::Relu, None, 1)?;
    let mut opt = Optimizer::new(OptimConfig::adam(1e-3), &mlp.params())?;
    let mut step = || -> mecrl::Result<()> {
        let tape = Tape::new(be);
        let y = mlp.forward(&tape, &tape.constant(&x))?;
        let loss = tape.mse(&y, &tape.constant(&t))?;
        opt.zero_grad()?;
        tape.backward(&loss)?;
        opt.step()
    };
    let mut times = vec![];
    for r in 0..=reps {
        let t0 = Instant::now();
        for _ in 0..steps {
            step()?;
        }
        be.sync()?;
        if r > 0 {
            times.push(t0.elapsed().as_secs_f64() / steps as f64);
        }
    }
    Ok(median(times))
}

/// Case (c): a 2-layer LSTM(256) over T = 20 steps of a batch of 20 (input 256), forward and
/// backward of the mean squared output (no optimizer step); median seconds per pass.
pub fn time_lstm(be: &Arc<dyn Backend>, steps: usize, reps: usize) -> anyhow::Result<f64> {
    let (t, b, f, h) = (20usize, 20usize, 256usize, 256usize);
    let xs: Vec<f32> = (0..t * b * f).map(|j| ((j * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    let x = Tensor::from_f32(be, &[t, b, f], &xs)?;
    let target = Tensor::zeros(be, &[t, b, h])?;
    let lstm = Lstm::new(be, f, h, 2, 1, 1)?;
    let params = lstm.params();
    let pass = || -> mecrl::Result<()> {
        let tape = Tape::new(be);
        let out = lstm.forward(&tape, &tape.constant(&x), None)?;
        let loss = tape.mse(&out.seq, &tape.constant(&target))?;
        params.iter().try_for_each(|p| p.zero_grad())?;
        tape.backward(&loss)
    };
    let mut times = vec![];
    for r in 0..=reps {
        let t0 = Instant::now();
        for _ in 0..steps {
            pass()?;
        }
        be.sync()?;
        if r > 0 {
            times.push(t0.elapsed().as_secs_f64() / steps as f64);
        }
    }
    Ok(median(times))
}

/// Run the JAX reference; `None` when JAX is not installed (the message says how).
pub fn jax_reference(python: Option<PathBuf>, steps: usize, reps: usize) -> anyhow::Result<Option<serde_json::Value>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let py = python.unwrap_or_else(|| {
        let v = root.join(".venv/bin/python");
        if v.exists() {
            v
        } else {
            PathBuf::from("python3")
        }
    });
    let probe = std::process::Command::new(&py).args(["-c", "import jax"]).output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        eprintln!(
            "bench nn: JAX is not importable by {} (`pip install jax`, or --python PATH): no reference",
            py.display()
        );
        return Ok(None);
    }
    let out = std::process::Command::new(&py)
        .arg(root.join("tools/bench_nn_jax.py"))
        .args(["--steps", &steps.to_string(), "--reps", &reps.to_string()])
        .output()
        .with_context(|| format!("starting {}", py.display()))?;
    if !out.status.success() {
        bail!("JAX reference failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(Some(serde_json::from_slice(&out.stdout)?))
}
