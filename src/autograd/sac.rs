//! The discrete SAC losses of the O2O offline phase on the tape ([`crate::ops::sac`]): the soft
//! value of o′ (the actor's loss and the Q target, eq. 11) and the twin Q loss with the CQL
//! regularizer (eq. 10). Each returns a \[1\] loss whose backward reaches only the differentiable
//! input (the actor's logits, the twin Qs); every other input is a constant.

use super::{Tape, Var};
use crate::error::{Error, Result};
use crate::ops::sac::{SacParams, CQL_BWD, CQL_FWD, CQL_STATS, SAC_VALUE_BWD, SAC_VALUE_FWD};
use crate::tensor::{DType, Tensor};

/// What [`Tape::soft_value`] returns.
pub struct SoftValue {
    /// L_π = −mean V(o′) \[1\] (differentiable in the logits).
    pub loss: Var,
    /// V(o′) per row \[R\].
    pub value: Tensor,
    /// The targets y = s·r + γ(1 − done)·V(o′) \[R\].
    pub y: Tensor,
}

/// The constants of one minibatch the losses read.
pub struct SacBatch<'a> {
    /// The action mask of the rows' observations [R, A] (u32, 1 = allowed).
    pub mask: &'a Tensor,
    /// Rewards \[R\] (raw; normalized by `reward_scale` and `reward_bias`).
    pub reward: &'a Tensor,
    /// 1 where the episode ended with the transition \[R\] (u32).
    pub done: &'a Tensor,
}

impl Tape {
    fn sac_check(&self, rows: usize, actions: usize, loops: u64, op: &str) -> Result<()> {
        if rows == 0 || actions == 0 || rows >= 1 << 30 {
            return Err(Error::shape(op, "R >= 1 rows of A >= 1 actions", format!("{rows} x {actions}")));
        }
        if let Some(limit) = self.be.max_loop_iterations() {
            if loops > limit {
                return Err(Error::config(
                    "o2o.batch",
                    rows,
                    format!("{op} loops ~{loops} times in one invocation, beyond this driver's limit of {limit}"),
                ));
            }
        }
        Ok(())
    }

    /// The soft value of o′ from the actor's logits `z` [R, A] (mask `b.mask` of o′) and the
    /// twin target Qs `qbar` [2, R, A]: the actor's loss, V and the Q targets.
    pub fn soft_value(&self, z: &Var, qbar: &Tensor, b: &SacBatch, p: SacParams) -> Result<SoftValue> {
        let (r, a) = (p.rows as usize, p.actions as usize);
        self.sac_check(r, a, (r * (3 * a + 1)) as u64, "soft_value")?;
        let sized = z.value.numel() == r * a
            && qbar.numel() == 2 * r * a
            && b.mask.numel() == r * a
            && b.reward.numel() == r
            && b.done.numel() == r;
        if !sized {
            return Err(Error::shape(
                "soft_value",
                format!("z [{r}, {a}], qbar [2, {r}, {a}], mask [{r}, {a}], reward and done [{r}]"),
                format!(
                    "z {:?}, qbar {:?}, mask {:?}, reward {:?}, done {:?}",
                    z.shape(),
                    qbar.shape(),
                    b.mask.shape(),
                    b.reward.shape(),
                    b.done.shape()
                ),
            ));
        }
        b.mask.expect(DType::U32, "soft_value mask")?;
        b.done.expect(DType::U32, "soft_value done")?;
        let loss = Tensor::zeros(&self.be, &[1])?;
        let value = Tensor::output(&self.be, &[r])?;
        let y = Tensor::output(&self.be, &[r])?;
        self.be.launch(
            &SAC_VALUE_FWD,
            bytemuck::bytes_of(&p),
            1,
            &[
                z.value.buffer(),
                qbar.buffer(),
                b.mask.buffer(),
                b.reward.buffer(),
                b.done.buffer(),
                loss.buffer(),
                value.buffer(),
                y.buffer(),
            ],
        )?;
        let (zv, qv, mv, vv, be, zs) =
            (z.value.clone(), qbar.clone(), b.mask.clone(), value.clone(), self.be.clone(), z.slot);
        let loss = self.record(loss, &[z], move |g, dl| {
            if let Some(s) = zs {
                let dz = g.acc(&be, s)?;
                be.launch(
                    &SAC_VALUE_BWD,
                    bytemuck::bytes_of(&p),
                    r as u32,
                    &[zv.buffer(), qv.buffer(), mv.buffer(), vv.buffer(), dl.buffer(), dz.buffer()],
                )?;
            }
            Ok(())
        });
        Ok(SoftValue { loss, value, y })
    }

    /// The twin Q loss with the CQL regularizer (eq. 10) of the Qs `q` [2, R, A] at o for the
    /// taken `action` \[R\] against the targets `y` \[R\], `mask` [R, A] of o. Returns the loss
    /// and its statistics ([`CQL_STATS`] words: TD², R, q(a), y means).
    pub fn cql_loss(&self, q: &Var, action: &Tensor, y: &Tensor, mask: &Tensor, p: SacParams) -> Result<(Var, Tensor)> {
        let (r, a) = (p.rows as usize, p.actions as usize);
        self.sac_check(r, a, (2 * r * (2 * a + 1)) as u64, "cql_loss")?;
        if q.value.numel() != 2 * r * a || action.numel() != r || y.numel() != r || mask.numel() != r * a {
            return Err(Error::shape(
                "cql_loss",
                format!("q [2, {r}, {a}], action and y [{r}], mask [{r}, {a}]"),
                format!("q {:?}, action {:?}, y {:?}, mask {:?}", q.shape(), action.shape(), y.shape(), mask.shape()),
            ));
        }
        action.expect(DType::U32, "cql_loss action")?;
        mask.expect(DType::U32, "cql_loss mask")?;
        let loss = Tensor::zeros(&self.be, &[1])?;
        let stats = Tensor::zeros(&self.be, &[CQL_STATS])?;
        self.be.launch(
            &CQL_FWD,
            bytemuck::bytes_of(&p),
            1,
            &[q.value.buffer(), action.buffer(), y.buffer(), mask.buffer(), loss.buffer(), stats.buffer()],
        )?;
        let (qv, av, yv, mv, be, qs) =
            (q.value.clone(), action.clone(), y.clone(), mask.clone(), self.be.clone(), q.slot);
        let loss = self.record(loss, &[q], move |g, dl| {
            if let Some(s) = qs {
                let dq = g.acc(&be, s)?;
                be.launch(
                    &CQL_BWD,
                    bytemuck::bytes_of(&p),
                    (2 * r) as u32,
                    &[qv.buffer(), av.buffer(), yv.buffer(), mv.buffer(), dl.buffer(), dq.buffer()],
                )?;
            }
            Ok(())
        });
        Ok((loss, stats))
    }
}
