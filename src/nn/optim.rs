//! Optimizers over [`Param`]s: one fused `optim_step` launch per parameter tensor (an ensemble's
//! K networks are one tensor, so one launch), state on the device, bias corrections computed on
//! the host per step (no round trip).

use serde::{Deserialize, Serialize};

use crate::autograd::Param;
use crate::error::{Error, Result};
use crate::ops::optim::{ClipParams, OptimParams, Rule};
use crate::ops::optim::{CLIP_SCALE, OPTIM_STEP, SUMSQ_ACC};
use crate::tensor::Tensor;

/// Which rule and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimConfig {
    /// SGD with momentum (0 = none).
    Sgd {
        /// Learning rate.
        lr: f32,
        /// Momentum μ.
        momentum: f32,
        /// L2 weight decay.
        weight_decay: f32,
    },
    /// Adam; `decoupled` = AdamW's weight decay.
    Adam {
        /// Learning rate α.
        lr: f32,
        /// β1.
        beta1: f32,
        /// β2.
        beta2: f32,
        /// ε.
        eps: f32,
        /// Weight decay.
        weight_decay: f32,
        /// Decoupled (AdamW) instead of L2.
        decoupled: bool,
    },
    /// RMSProp (torch semantics, not centered).
    RmsProp {
        /// Learning rate.
        lr: f32,
        /// Smoothing α.
        alpha: f32,
        /// ε.
        eps: f32,
        /// L2 weight decay.
        weight_decay: f32,
    },
}

impl OptimConfig {
    /// Adam with the usual defaults and learning rate `lr`.
    pub fn adam(lr: f32) -> Self {
        OptimConfig::Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled: false }
    }

    /// Check every field (names prefixed `optim.`).
    pub fn validate(&self) -> Result<()> {
        let unit = |f: &str, v: f32| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::config(format!("optim.{f}"), v, "must be in [0, 1)"))
            }
        };
        let nonneg = |f: &str, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::config(format!("optim.{f}"), v, "must be finite and >= 0"))
            }
        };
        match *self {
            OptimConfig::Sgd { lr, momentum, weight_decay } => {
                nonneg("lr", lr)?;
                unit("momentum", momentum)?;
                nonneg("weight_decay", weight_decay)
            }
            OptimConfig::Adam { lr, beta1, beta2, eps, weight_decay, .. } => {
                nonneg("lr", lr)?;
                unit("beta1", beta1)?;
                unit("beta2", beta2)?;
                nonneg("eps", eps)?;
                nonneg("weight_decay", weight_decay)
            }
            OptimConfig::RmsProp { lr, alpha, eps, weight_decay } => {
                nonneg("lr", lr)?;
                unit("alpha", alpha)?;
                nonneg("eps", eps)?;
                nonneg("weight_decay", weight_decay)
            }
        }
    }
}

/// An optimizer bound to a list of parameters.
pub struct Optimizer {
    cfg: OptimConfig,
    params: Vec<Param>,
    /// (m, v) per parameter.
    state: Vec<(Tensor, Tensor)>,
    t: u32,
    lr_scale: f32,
}

impl Optimizer {
    /// Zero state for `params` (their tensors are shared: updates are seen by the model).
    pub fn new(cfg: OptimConfig, params: &[Param]) -> Result<Self> {
        cfg.validate()?;
        let state = params.iter().map(|p| Ok((p.value.zeros_like()?, p.value.zeros_like()?))).collect::<Result<_>>()?;
        Ok(Optimizer { cfg, params: params.to_vec(), state, t: 0, lr_scale: 1.0 })
    }

    /// Steps taken.
    pub fn steps(&self) -> u32 {
        self.t
    }

    /// Set the step count (a restored checkpoint: Adam's bias corrections continue from it).
    pub fn set_steps(&mut self, t: u32) {
        self.t = t;
    }

    /// Multiply the configured learning rate by `s` from the next step on (a schedule).
    pub fn set_lr_scale(&mut self, s: f32) -> Result<()> {
        if !(s.is_finite() && s >= 0.0) {
            return Err(Error::config("optim.lr_scale", s, "must be finite and >= 0"));
        }
        self.lr_scale = s;
        Ok(())
    }

    /// The moment buffers (m, v) of parameter `k` (checkpoints).
    pub fn state(&self, k: usize) -> Option<&(Tensor, Tensor)> {
        self.state.get(k)
    }

    /// One update of every parameter from its accumulated gradient.
    pub fn step(&mut self) -> Result<()> {
        self.t += 1;
        let q = self.params_block();
        for (p, (m, v)) in self.params.iter().zip(&self.state) {
            let n = p.value.numel();
            if n == 0 {
                continue;
            }
            let q = OptimParams { n: n as u32, ..q };
            p.value.backend().launch(
                &OPTIM_STEP,
                bytemuck::bytes_of(&q),
                n as u32,
                &[p.value.buffer(), p.grad.buffer(), m.buffer(), v.buffer()],
            )?;
        }
        Ok(())
    }

    /// Scale every gradient by min(1, max_norm / (‖g‖ + 1e-6)), ‖g‖ the global norm over all
    /// parameters, entirely on the device. Returns the device scalar holding ‖g‖² (read it only
    /// when logging: a download).
    pub fn clip_grad_norm(&self, max_norm: f32) -> Result<Tensor> {
        if !(max_norm.is_finite() && max_norm > 0.0) {
            return Err(Error::config("optim.max_grad_norm", max_norm, "must be finite and > 0"));
        }
        let Some(first) = self.params.first() else {
            return Err(Error::config("optim.params", 0, "no parameters to clip"));
        };
        let acc = Tensor::zeros(first.value.backend(), &[1])?;
        let be = first.value.backend();
        for p in &self.params {
            let q = ClipParams { n: p.grad.numel() as u32, max_norm, eps: 1e-6, ..Default::default() };
            be.launch(&SUMSQ_ACC, bytemuck::bytes_of(&q), 1, &[p.grad.buffer(), acc.buffer()])?;
        }
        for p in &self.params {
            let q = ClipParams { n: p.grad.numel() as u32, max_norm, eps: 1e-6, ..Default::default() };
            if q.n > 0 {
                be.launch(&CLIP_SCALE, bytemuck::bytes_of(&q), q.n, &[acc.buffer(), p.grad.buffer()])?;
            }
        }
        Ok(acc)
    }

    /// Every parameter's gradient to zero.
    pub fn zero_grad(&self) -> Result<()> {
        self.params.iter().try_for_each(Param::zero_grad)
    }

    fn params_block(&self) -> OptimParams {
        let t = self.t as i32;
        match self.cfg {
            OptimConfig::Sgd { lr, momentum, weight_decay } => OptimParams {
                rule: Rule::Sgd as u32,
                lr: lr * self.lr_scale,
                beta1: momentum,
                wd: weight_decay,
                ..Default::default()
            },
            OptimConfig::Adam { lr, beta1, beta2, eps, weight_decay, decoupled } => OptimParams {
                rule: Rule::Adam as u32,
                decoupled: decoupled as u32,
                lr: lr * self.lr_scale,
                beta1,
                beta2,
                eps,
                wd: weight_decay,
                step_size: lr * self.lr_scale / (1.0 - beta1.powi(t)),
                rsqrt_bc2: 1.0 / (1.0 - beta2.powi(t)).sqrt(),
                ..Default::default()
            },
            OptimConfig::RmsProp { lr, alpha, eps, weight_decay } => OptimParams {
                rule: Rule::RmsProp as u32,
                lr: lr * self.lr_scale,
                beta2: alpha,
                eps,
                wd: weight_decay,
                ..Default::default()
            },
        }
    }
}

/// Learning-rate schedules: the factor applied to the configured rate at step t (0-based).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// 1.
    Constant,
    /// 1 − (1 − end)·min(t / steps, 1): linear decay to `end` over `steps`.
    Linear {
        /// Steps of the decay.
        steps: u32,
        /// Final factor.
        end: f32,
    },
    /// end + (1 − end)·(1 + cos(π·min(t / steps, 1)))/2.
    Cosine {
        /// Steps of the decay.
        steps: u32,
        /// Final factor.
        end: f32,
    },
    /// gamma^⌊t / every⌋.
    Step {
        /// Steps between decays.
        every: u32,
        /// Factor per decay.
        gamma: f32,
    },
}

impl Schedule {
    /// The factor at step `t`.
    pub fn factor(&self, t: u32) -> f32 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Linear { steps, end } => {
                let x = (t as f32 / steps.max(1) as f32).min(1.0);
                1.0 - (1.0 - end) * x
            }
            Schedule::Cosine { steps, end } => {
                let x = (t as f32 / steps.max(1) as f32).min(1.0);
                end + (1.0 - end) * 0.5 * (1.0 + (std::f32::consts::PI * x).cos())
            }
            Schedule::Step { every, gamma } => gamma.powi((t / every.max(1)) as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_by_hand() {
        assert_eq!(Schedule::Constant.factor(99), 1.0);
        let l = Schedule::Linear { steps: 10, end: 0.1 };
        assert_eq!(l.factor(0), 1.0);
        assert!((l.factor(20) - 0.1).abs() < 1e-6);
        assert!((l.factor(5) - 0.55).abs() < 1e-6);
        let c = Schedule::Cosine { steps: 10, end: 0.0 };
        assert!((c.factor(5) - 0.5).abs() < 1e-6 && c.factor(10).abs() < 1e-6);
        let s = Schedule::Step { every: 3, gamma: 0.5 };
        assert_eq!((s.factor(2), s.factor(3), s.factor(7)), (1.0, 0.5, 0.25));
    }
}
