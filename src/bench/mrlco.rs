//! `mecrl bench mrlco`: one PPO update of MRLCO's Seq2Seq policy (teacher-forced forward over
//! a rollout of E = 200 sequences × T = 20 steps, the fused objective, backward, gradient-norm
//! clip, one Adam step) and the rollout's sampling decode, next to the same computations jitted
//! by JAX on the CPU (`tools/bench_mrlco_jax.py`) in the same run, the two sides' timed blocks
//! alternating as in `mecrl bench nn`.

use std::path::PathBuf;
use std::sync::Arc;

use super::nn::{alternate, Bench, Jax};
use crate::algo::ppo::{self, PpoConfig};
use crate::algo::rollout::{Parts, Rollout};
use crate::autograd::Tape;
use crate::backend::Backend;
use crate::error::Result;
use crate::experiment::pick_backend;
use crate::nn::seq2seq::{Decode, Seq2Seq, Seq2SeqConfig};
use crate::nn::{OptimConfig, Optimizer};
use crate::tensor::Tensor;

/// Sequences of the rollout: 20 trajectories × 10 DAGs.
pub const SEQS: usize = 200;
/// Steps (tasks) per sequence.
pub const STEPS: usize = 20;
/// Features of a task embedding: 5 + 2·12 (index, costs, 12 parent and 12 child indices).
pub const FEATURES: usize = 5 + 2 * 12;

/// Arguments of `mecrl bench mrlco`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Backend: auto, cpu, wgpu, cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Updates (or decodes) per timed block.
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// Timed blocks (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Python with JAX for the reference (default: .venv/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Units of every LSTM layer, of the embedding and of the attention (paper: 256).
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
}

/// The network of the benchmark (MRLCO's sizes with `hidden` units).
pub fn config(hidden: usize) -> Seq2SeqConfig {
    Seq2SeqConfig {
        features: FEATURES,
        hidden,
        layers: 2,
        attention: hidden,
        actions: 2,
        k: 1,
        ln_eps: 1e-5,
        decoder_from_encoder: true,
        seed: 1,
    }
}

/// `n` values (j·mul mod 1000)/500 − 1 in [−1, 1) (the JAX script uses the same formula).
fn spread(n: usize, mul: usize) -> Vec<f32> {
    (0..n).map(|j| ((j * mul) % 1000) as f32 / 500.0 - 1.0).collect()
}

/// The synthetic rollout: obs uniform in [0, 1), actions 0/1, log π_old ≈ −0.69 ± 0.1, values,
/// advantages and returns in [−1, 1), every step real with weight 1.
pub fn rollout(be: &Arc<dyn Backend>) -> Result<Rollout> {
    let (t, e, n) = (STEPS, SEQS, STEPS * SEQS);
    let obs: Vec<f32> = (0..n * FEATURES).map(|j| ((j * 7919) % 1000) as f32 / 1000.0).collect();
    let act: Vec<u32> = (0..n).map(|j| ((j * 7919) % 13 % 2) as u32).collect();
    let logp: Vec<f32> = spread(n, 104_729).iter().map(|x| -0.69 + 0.1 * x).collect();
    let f = |v: &[f32]| Tensor::from_f32(be, &[t, e], v);
    let ones = vec![1.0f32; n];
    let mut r = Rollout::from_parts(Parts {
        obs: Tensor::from_f32(be, &[t, e, FEATURES], &obs)?,
        action: Tensor::from_u32(be, &[t, e], &act)?,
        logp: f(&logp)?,
        value: f(&spread(n, 3571))?,
        reward: Tensor::zeros(be, &[t, e])?,
        done: Tensor::zeros_u32(be, &[t, e])?,
        valid: Tensor::from_u32(be, &[t, e], &vec![1; n])?,
        weight: f(&ones)?,
    })?;
    r.adv = f(&spread(n, 7907))?;
    r.ret = f(&spread(n, 6007))?;
    Ok(r)
}

/// The CPU's model name (/proc/cpuinfo), if known.
pub(crate) fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let be = pick_backend(&a.backend)?;
    let hidden = a.hidden.to_string();
    let mut jax = Jax::serve(a.python.as_deref(), "mrlco", "bench_mrlco_jax.py", &["--hidden", &hidden])?;
    let net = Seq2Seq::new(&be, config(a.hidden))?;
    let r = rollout(&be)?;
    let cfg = PpoConfig { epochs: 1, minibatches: 1, max_grad_norm: 0.5, ..Default::default() };
    let mut opt = Optimizer::new(OptimConfig::adam(5e-4), &net.params())?;
    let mut round = 0u32;
    let (net_ref, r_ref) = (&net, &r);
    let update = Bench::new(&be, move || {
        round += 1;
        ppo::update(&cfg, net_ref, &mut opt, r_ref, 1, round).map(|_| ())
    });
    let mut draw = 0u32;
    let bk = be.clone();
    let decode = Bench::new(&be, move || {
        let tape = Tape::no_grad(&bk);
        let how = Decode::Sample { seed: 7, step: draw };
        draw = draw.wrapping_add(STEPS as u32);
        net_ref.decode(&tape, &tape.constant(&r_ref.obs), Some(&r_ref.valid), how).map(|_| ())
    });
    println!(
        "mecrl bench mrlco  (Seq2Seq {0}: 2-layer LSTM({0}) encoder and decoder, attention {0}; E = {SEQS} sequences x T = {STEPS} steps, {FEATURES} features; medians of {1} blocks of {2}, alternating with JAX's)",
        a.hidden, a.reps, a.steps
    );
    println!("{:<52} {:>12} {:>14} {:>8}", "case", "mecrl (ms)", "JAX-CPU (ms)", "ratio");
    let cases = [
        ("PPO update (fwd + bwd + clip + Adam, 1 step)", "update", update),
        ("rollout decode (sampling, no grad)", "decode", decode),
    ];
    for (name, key, mut bench) in cases {
        let timing = alternate(&mut bench, jax.as_mut(), key, a.steps, a.reps)?;
        let (t, j) = (timing.t, timing.j);
        let (js, ratio) = (j.map_or("-".into(), |j| format!("{:.1}", j * 1e3)), timing.ratio_text());
        println!("{:<52} {:>12.1} {:>14} {:>8}", name, t * 1e3, js, ratio);
    }
    println!("ratio = JAX time / mecrl time (> 1: mecrl is faster); backend {}", be.kind());
    if let Some(j) = &jax {
        println!("{}", j.describe);
    }
    if let Some(m) = cpu_model() {
        println!("CPU: {m}, {} logical cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    }
    Ok(())
}
