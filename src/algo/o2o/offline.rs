//! The offline phase (Alg. 1): discrete SAC with twin Qs and the CQL regularizer on a heuristic's
//! task log. One gradient step draws |B| transitions uniformly, computes the soft value of o′
//! with the actor and the target Qs (the target y and the actor's loss, eq. 11), the twin Q loss
//! with the regularizer (eq. 10) and V_ω's regression to y (eq. 12), takes one Adam step of all
//! three (their parameters are disjoint, so one optimizer is three) and moves the target Qs
//! by τ. y is computed once per step from the actor before its update (Alg. 1 updates V_ω,
//! then π, then the Qs, all from the same minibatch). Everything stays on the device; the host
//! reads the last step's losses when asked.

use super::config::ActorState;
use super::learner::O2o;
use super::replay::{OfflineReplay, RewardNorm};
use crate::autograd::sac::{SacBatch, SoftValue};
use crate::autograd::Tape;
use crate::error::{Error, Result};
use crate::ops::elementwise::{AxpbyParams, AXPBY};
use crate::ops::sac::SacParams;
use crate::tensor::Tensor;

/// The losses of the last offline step (read back by [`O2o::offline_steps`]).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct OfflineStats {
    /// Steps taken so far.
    pub step: u64,
    /// L_π = −mean V(o′) (eq. 11).
    pub actor_loss: f32,
    /// The twin Q loss with the regularizer (eq. 10).
    pub q_loss: f32,
    /// V_ω's squared error (eq. 12).
    pub critic_loss: f32,
    /// Mean squared TD error of the Qs.
    pub td: f32,
    /// Mean CQL regularizer R(o, a).
    pub cql: f32,
    /// Mean Q(o, a) of the logged actions.
    pub q_mean: f32,
    /// Mean target y.
    pub y_mean: f32,
}

impl O2o {
    /// The reward normalization for `replay` (its own on first use, when rewards are
    /// normalized).
    fn offline_norm(&mut self, replay: &OfflineReplay) -> RewardNorm {
        *self.reward_norm.get_or_insert(replay.reward_norm)
    }

    /// `steps` offline gradient steps on `replay`, `tick` after each; returns the last one's
    /// losses (one read-back).
    pub fn offline_steps(
        &mut self,
        replay: &mut OfflineReplay,
        steps: u64,
        tick: &mut dyn FnMut(),
    ) -> Result<OfflineStats> {
        let (f, a) = (self.system.obs_dim(), self.system.n_actions());
        if (replay.f, replay.a) != (f, a) {
            return Err(Error::config(
                "o2o.log",
                format!("{} nodes", (replay.a as i64) - 1),
                format!("the log's shapes (obs {}, actions {}) are not this system's ({f}, {a})", replay.f, replay.a),
            ));
        }
        let mut last = None;
        for _ in 0..steps {
            last = Some(self.offline_step(replay)?);
            tick();
        }
        let mut out = OfflineStats { step: self.offline_step, ..Default::default() };
        if let Some((lp, lq, lv, st)) = last {
            let s = st.to_vec()?;
            out.actor_loss = lp.to_vec()?[0];
            out.q_loss = lq.to_vec()?[0];
            out.critic_loss = lv.to_vec()?[0];
            (out.td, out.cql, out.q_mean, out.y_mean) = (s[0], s[1], s[2], s[3]);
            let all = [out.actor_loss, out.q_loss, out.critic_loss, out.td, out.cql, out.q_mean, out.y_mean];
            if all.iter().any(|x| !x.is_finite()) {
                return Err(Error::config(
                    "o2o.offline.lr",
                    self.cfg.offline.lr,
                    format!("the offline losses are not finite at step {} (diverged): {out:?}", self.offline_step),
                ));
            }
        }
        Ok(out)
    }

    /// One gradient step; returns the loss tensors (actor, Q, critic, CQL statistics).
    fn offline_step(&mut self, replay: &mut OfflineReplay) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
        let norm = self.offline_norm(replay);
        let o = self.cfg.offline.clone();
        let (k, f, a) = (o.batch, replay.f, replay.a);
        let be = self.backend().clone();
        let step = self.offline_step as u32;
        let mb = replay.sample(k, self.cfg.seed ^ 0x0FF1, step)?;
        let nt = Tape::no_grad(&be);
        let qbar = self.nets.q_target.forward(&nt, &nt.constant(&mb.xn2))?.value;
        let tape = Tape::new(&be);
        let sp = SacParams {
            rows: k as u32,
            actions: a as u32,
            alpha: o.alpha,
            gamma: o.gamma,
            lambda_c: o.lambda_c,
            reward_scale: norm.scale,
            reward_bias: norm.bias,
            ..Default::default()
        };
        let batch = SacBatch { mask: &mb.next_mask, reward: &mb.reward, done: &mb.done };
        let q = self.nets.q.forward(&tape, &tape.constant(&mb.x2))?;
        let sv = match o.actor_state {
            // eq. (11) as printed: the actor at o′ against the target Qs, in the same pass as y
            ActorState::Next => {
                let z = self.nets.actor.forward(&tape, &tape.constant(&mb.xn.reshape(&[1, k, f])?))?;
                tape.soft_value(&tape.reshape(&z, &[k, a])?, &qbar, &batch, sp)?
            }
            // standard discrete SAC: y from the actor at o′ (no gradient), the actor at o against
            // the current Qs there (constants)
            ActorState::Current => {
                let zn = self.nets.actor.forward(&nt, &nt.constant(&mb.xn.reshape(&[1, k, f])?))?;
                let target = nt.soft_value(&nt.reshape(&zn, &[k, a])?, &qbar, &batch, sp)?;
                let z = self.nets.actor.forward(&tape, &tape.constant(&mb.x.reshape(&[1, k, f])?))?;
                let here = SacBatch { mask: &mb.mask, ..batch };
                let actor = tape.soft_value(&tape.reshape(&z, &[k, a])?, &q.value, &here, sp)?;
                SoftValue { y: target.y, ..actor }
            }
        };
        let (lq, stats) = tape.cql_loss(&q, &mb.action, &sv.y, &mb.mask, sp)?;
        let v = self.nets.critic.forward(&tape, &tape.constant(&mb.x.reshape(&[1, k, f])?))?;
        let lv = tape.mse(&tape.reshape(&v, &[k])?, &tape.constant(&sv.y))?;
        let loss = tape.add_scaled(&tape.add_scaled(&sv.loss, 1.0, &lq, 1.0)?, 1.0, &lv, 1.0)?;
        self.offline_opt.zero_grad()?;
        tape.backward(&loss)?;
        self.offline_opt.step()?;
        self.soft_update(o.tau)?;
        self.offline_step += 1;
        Ok((sv.loss.value, lq.value, lv.value, stats))
    }

    /// Q̄_k ← (1 − τ) Q̄_k + τ Q_k (Alg. 1 lines 6–7).
    fn soft_update(&self, tau: f32) -> Result<()> {
        let be = self.backend();
        for (p, pt) in self.nets.q.params().iter().zip(self.nets.q_target.params()) {
            let n = p.value.numel();
            // the difference into p's gradient buffer (spent after the step): no allocation
            let d = &p.grad;
            let ap = AxpbyParams { n: n as u32, a: 1.0, b: -1.0, ..Default::default() };
            be.launch(&AXPBY, bytemuck::bytes_of(&ap), n as u32, &[p.value.buffer(), pt.value.buffer(), d.buffer()])?;
            crate::algo::mec_drl::scale_acc(&**be, d.buffer(), pt.value.buffer(), tau, n)?;
        }
        Ok(())
    }
}
