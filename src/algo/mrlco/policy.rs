//! The Seq2Seq network as a PPO policy, and the parameter arithmetic of the first-order
//! meta-gradient (eq. 22) on the device: snapshots of θ, θ restored, Σ(θ′ − θ) accumulated,
//! the meta-gradient written into the parameters' gradients for the outer Adam step.

use crate::algo::ppo::{Evaluated, PpoPolicy};
use crate::algo::rollout::Rollout;
use crate::autograd::{Param, Tape};
use crate::error::Result;
use crate::nn::seq2seq::Seq2Seq;
use crate::ops::elementwise::{AxpbyParams, SCALE_ACC};
use crate::tensor::Tensor;

impl PpoPolicy for Seq2Seq {
    fn params(&self) -> Vec<Param> {
        Seq2Seq::params(self)
    }

    /// Teacher-forced pass over the stored sequences (obs [T, E, F], actions, the real steps as
    /// the attention mask): log π of the taken actions, entropies and values, [T·E] each.
    fn evaluate(&self, tape: &Tape, r: &Rollout) -> Result<Evaluated> {
        let (t, e) = (r.shape.steps, r.shape.envs);
        let out = self.forward(tape, &tape.constant(&r.obs), &r.action, Some(&r.valid))?;
        let logp_all = tape.log_softmax(&tape.reshape(&out.logits, &[t * e, self.cfg.actions])?, None)?;
        Ok(Evaluated {
            logp: tape.gather(&logp_all, &r.action.reshape(&[t * e])?)?,
            entropy: tape.entropy(&logp_all)?,
            value: tape.reshape(&out.values, &[t * e])?,
        })
    }
}

/// y += a·x on the device (same number of elements).
fn acc(y: &Tensor, x: &Tensor, a: f32) -> Result<()> {
    let n = y.numel();
    let p = AxpbyParams { n: n as u32, a, ..Default::default() };
    y.backend().launch(&SCALE_ACC, bytemuck::bytes_of(&p), n as u32, &[x.buffer(), y.buffer()])
}

/// A copy of every parameter's value.
pub fn snapshot(params: &[Param]) -> Result<Vec<Tensor>> {
    params
        .iter()
        .map(|p| {
            let t = p.value.zeros_like()?;
            acc(&t, &p.value, 1.0)?;
            Ok(t)
        })
        .collect()
}

/// Every parameter's value back to `theta` (0 + 1·θ: exact).
pub fn restore(params: &[Param], theta: &[Tensor]) -> Result<()> {
    for (p, t) in params.iter().zip(theta) {
        p.value.fill(0.0)?;
        acc(&p.value, t, 1.0)?;
    }
    Ok(())
}

/// sum += θ′ − θ (the parameters' values are θ′).
pub fn accumulate_delta(sum: &[Tensor], params: &[Param], theta: &[Tensor]) -> Result<()> {
    for ((s, p), t) in sum.iter().zip(params).zip(theta) {
        acc(s, &p.value, 1.0)?;
        acc(s, t, -1.0)?;
    }
    Ok(())
}

/// sum := target − θ (the parameters' values are θ).
pub fn difference(sum: &[Tensor], target: &[Tensor], params: &[Param]) -> Result<()> {
    for ((s, t), p) in sum.iter().zip(target).zip(params) {
        s.fill(0.0)?;
        acc(s, t, 1.0)?;
        acc(s, &p.value, -1.0)?;
    }
    Ok(())
}

/// Gradients := −sum/(n·α·m): the first-order meta-gradient of eq. 22,
/// g = (1/n)Σ(θ′_i − θ)/α/m, negated because the optimizer descends (θ ← θ + β·g).
pub fn set_meta_gradient(params: &[Param], sum: &[Tensor], tasks: usize, alpha: f32, m: usize) -> Result<()> {
    let scale = -1.0 / (tasks as f32 * alpha * m as f32);
    for (p, s) in params.iter().zip(sum) {
        p.grad.fill(0.0)?;
        acc(&p.grad, s, scale)?;
    }
    Ok(())
}
