//! Tape losses besides MSE (in `mod.rs`): Huber, BCE with logits, categorical cross-entropy, the
//! PPO clipped surrogate and the whole PPO objective. Each returns a [1] tensor.

use super::{PpoTargets, Tape, Var};
use crate::backend::KernelSpec;
use crate::error::{Error, Result};
use crate::ops::loss::LossParams;
use crate::ops::loss::{BCE_BWD, BCE_FWD, CE_BWD, CE_FWD, HUBER_BWD, HUBER_FWD, PPO_BWD, PPO_FWD};
use crate::ops::ppo::{PpoLossParams, PPO_OBJECTIVE_BWD, PPO_OBJECTIVE_FWD, STATS};
use crate::tensor::{DType, Tensor};

impl Tape {
    fn pair_loss(
        &self,
        y: &Var,
        t: &Tensor,
        a: f32,
        fwd: &'static KernelSpec,
        bwd: &'static KernelSpec,
        op: &str,
    ) -> Result<Var> {
        let n = y.value.numel();
        if t.numel() != n || n == 0 {
            return Err(Error::shape(op, format!("{:?} (non-empty)", y.shape()), format!("{:?}", t.shape())));
        }
        let p = LossParams { n: n as u32, a, ..Default::default() };
        let loss = Tensor::zeros(&self.be, &[1])?;
        self.be.launch(fwd, bytemuck::bytes_of(&p), 1, &[y.value.buffer(), t.buffer(), loss.buffer()])?;
        let (yv, tv, be, ys) = (y.value.clone(), t.clone(), self.be.clone(), y.slot);
        Ok(self.record(loss, &[y], move |g, dl| {
            if let Some(s) = ys {
                let dy = g.acc(&be, s)?;
                be.launch(
                    bwd,
                    bytemuck::bytes_of(&p),
                    n as u32,
                    &[yv.buffer(), tv.buffer(), dl.buffer(), dy.buffer()],
                )?;
            }
            Ok(())
        }))
    }

    /// Huber loss with threshold δ against a constant target.
    pub fn huber(&self, y: &Var, target: &Tensor, delta: f32) -> Result<Var> {
        if !(delta.is_finite() && delta > 0.0) {
            return Err(Error::config("huber.delta", delta, "must be finite and > 0"));
        }
        self.pair_loss(y, target, delta, &HUBER_FWD, &HUBER_BWD, "huber")
    }

    /// Binary cross-entropy of logits `z` against constant targets in [0, 1].
    pub fn bce_with_logits(&self, z: &Var, target: &Tensor) -> Result<Var> {
        self.pair_loss(z, target, 0.0, &BCE_FWD, &BCE_BWD, "bce_with_logits")
    }

    /// Categorical cross-entropy from log-probabilities [R, C] and u32 labels \[R\].
    pub fn cross_entropy(&self, logp: &Var, labels: &Tensor) -> Result<Var> {
        let c = *logp.shape().last().unwrap_or(&0);
        labels.expect(DType::U32, "cross_entropy labels")?;
        if c == 0 || labels.numel() * c != logp.value.numel() {
            return Err(Error::shape("cross_entropy", format!("labels of {:?} rows", logp.shape()), labels.numel()));
        }
        let r = labels.numel();
        let p = LossParams { n: r as u32, cols: c as u32, ..Default::default() };
        let loss = Tensor::zeros(&self.be, &[1])?;
        self.be.launch(&CE_FWD, bytemuck::bytes_of(&p), 1, &[logp.value.buffer(), labels.buffer(), loss.buffer()])?;
        let (lv, be, ls) = (labels.clone(), self.be.clone(), logp.slot);
        Ok(self.record(loss, &[logp], move |g, dl| {
            if let Some(s) = ls {
                let d = g.acc(&be, s)?;
                be.launch(&CE_BWD, bytemuck::bytes_of(&p), r as u32, &[lv.buffer(), dl.buffer(), d.buffer()])?;
            }
            Ok(())
        }))
    }

    /// PPO clipped surrogate (MRLCO eq. 19): −mean(min(ρA, clip(ρ, 1 ± ε)A)), ρ = exp(logp −
    /// logp_old), with the old log-probabilities and advantages constant.
    pub fn ppo_clip(&self, logp: &Var, logp_old: &Tensor, adv: &Tensor, eps: f32) -> Result<Var> {
        let n = logp.value.numel();
        if logp_old.numel() != n || adv.numel() != n || n == 0 {
            return Err(Error::shape("ppo_clip", n, format!("{} old, {} advantages", logp_old.numel(), adv.numel())));
        }
        if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
            return Err(Error::config("ppo.clip_eps", eps, "must be in (0, 1)"));
        }
        let p = LossParams { n: n as u32, a: eps, ..Default::default() };
        let loss = Tensor::zeros(&self.be, &[1])?;
        self.be.launch(
            &PPO_FWD,
            bytemuck::bytes_of(&p),
            1,
            &[logp.value.buffer(), logp_old.buffer(), adv.buffer(), loss.buffer()],
        )?;
        let (lv, ov, av, be, ls) = (logp.value.clone(), logp_old.clone(), adv.clone(), self.be.clone(), logp.slot);
        Ok(self.record(loss, &[logp], move |g, dl| {
            if let Some(s) = ls {
                let d = g.acc(&be, s)?;
                be.launch(
                    &PPO_BWD,
                    bytemuck::bytes_of(&p),
                    n as u32,
                    &[lv.buffer(), ov.buffer(), av.buffer(), dl.buffer(), d.buffer()],
                )?;
            }
            Ok(())
        }))
    }

    /// The whole PPO objective ([`crate::ops::ppo`]): new log-probabilities of the taken
    /// actions, entropies and values (N each, differentiable) against the rollout's constants.
    /// Returns the loss \[1\] and its statistics ([`crate::ops::ppo::Stat`], 12 words, on the
    /// device).
    pub fn ppo_objective(
        &self,
        logp: &Var,
        entropy: &Var,
        value: &Var,
        t: &PpoTargets,
        p: &PpoLossParams,
    ) -> Result<(Var, Tensor)> {
        let n = logp.value.numel();
        let consts = [t.old_logp, t.old_value, t.adv, t.ret, t.weight];
        let sized = entropy.value.numel() == n && value.value.numel() == n && consts.iter().all(|c| c.numel() == n);
        if n == 0 || !sized || p.n as usize != n {
            return Err(Error::shape(
                "ppo_objective",
                format!("{n} samples everywhere (params.n = {})", p.n),
                format!(
                    "entropy {}, value {}, constants {:?}",
                    entropy.value.numel(),
                    value.value.numel(),
                    consts.map(|c| c.numel())
                ),
            ));
        }
        for c in consts {
            c.expect(DType::F32, "ppo_objective constants")?;
        }
        let loss = Tensor::zeros(&self.be, &[1])?;
        let stats = Tensor::zeros(&self.be, &[STATS])?;
        let ins = [&logp.value, &entropy.value, &value.value, t.old_logp, t.old_value, t.adv, t.ret, t.weight];
        let mut bufs: Vec<&crate::backend::Buffer> = ins.iter().map(|x| x.buffer()).collect();
        bufs.extend([loss.buffer(), stats.buffer()]);
        self.be.launch(&PPO_OBJECTIVE_FWD, bytemuck::bytes_of(p), 1, &bufs)?;
        // the backward reads every input but the entropies
        let kept: Vec<Tensor> = ins.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, &x)| x.clone()).collect();
        let (st, be, p) = (stats.clone(), self.be.clone(), *p);
        let slots = [logp.slot, entropy.slot, value.slot];
        let out = self.record(loss, &[logp, entropy, value], move |g, dl| {
            let mut grads = Vec::with_capacity(3);
            for s in slots {
                grads.push(match s {
                    Some(s) => g.acc(&be, s)?,
                    None => Tensor::zeros(&be, &[n])?,
                });
            }
            let mut bufs: Vec<&crate::backend::Buffer> = kept.iter().map(|x| x.buffer()).collect();
            bufs.extend([st.buffer(), dl.buffer()]);
            bufs.extend(grads.iter().map(|x| x.buffer()));
            be.launch(&PPO_OBJECTIVE_BWD, bytemuck::bytes_of(&p), n as u32, &bufs)
        });
        Ok((out, stats))
    }
}
