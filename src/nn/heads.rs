//! Heads over a feature vector: the dueling Q head of CRB-DRQN (a value stream and an advantage
//! stream combined as Q = V + A − mean A).

use std::sync::Arc;

use super::mlp::Mlp;
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ops::act::Act;

/// Dueling Q head: V = MLP_v(h) [rows, 1], A = MLP_a(h) [rows, actions], Q = V + A − mean A.
pub struct DuelingHead {
    /// The value stream.
    pub value: Mlp,
    /// The advantage stream.
    pub advantage: Mlp,
    actions: usize,
}

impl DuelingHead {
    /// Streams `features → hidden… → 1` and `features → hidden… → actions` (hidden activation
    /// `act`), K networks each, seeded by `seed`.
    pub fn new(
        be: &Arc<dyn Backend>,
        features: usize,
        hidden: &[usize],
        actions: usize,
        k: usize,
        act: Act,
        seed: u64,
    ) -> Result<Self> {
        if actions == 0 {
            return Err(Error::config("dueling.actions", 0, "at least one action"));
        }
        let sizes = |out: usize| [&[features][..], hidden, &[out]].concat();
        let value = Mlp::new(be, &sizes(1), k, act, None, seed)?.with_prefix("value");
        let advantage = Mlp::new(be, &sizes(actions), k, act, None, seed ^ 0xD0E1)?.with_prefix("advantage");
        Ok(DuelingHead { value, advantage, actions })
    }

    /// Every parameter of both streams.
    pub fn params(&self) -> Vec<Param> {
        let mut p = self.value.params();
        p.extend(self.advantage.params());
        p
    }

    /// h [K, B, features] → Q [K·B, actions].
    pub fn forward(&self, tape: &Tape, h: &Var) -> Result<Var> {
        let v = self.value.forward(tape, h)?;
        let a = self.advantage.forward(tape, h)?;
        let rows = a.value.numel() / self.actions;
        tape.dueling(&v, &tape.reshape(&a, &[rows, self.actions])?)
    }
}
