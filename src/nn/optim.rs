//! Optimizers over [`Param`]s: one fused `optim_step` launch per parameter tensor (an ensemble's
//! K networks are one tensor, so one launch), state on the device, bias corrections computed on
//! the host per step (no round trip).

use serde::{Deserialize, Serialize};

use crate::autograd::Param;
use crate::backend::KernelId;
use crate::error::{Error, Result};
use crate::ops::optim::{OptimParams, Rule};
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
                KernelId::OptimStep,
                bytemuck::bytes_of(&q),
                n as u32,
                &[p.value.buffer(), p.grad.buffer(), m.buffer(), v.buffer()],
            )?;
        }
        Ok(())
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
                bc1: 1.0 - beta1.powi(t),
                bc2: 1.0 - beta2.powi(t),
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
