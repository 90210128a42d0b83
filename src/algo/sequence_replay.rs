//! Replay of sequences for recurrent Q-learning (MADQN; the DRQN of CRB-DRQN can reuse it): a
//! ring of rollout columns on the rollout core. Each column is one agent's T-step sequence
//! with its chunks' stored recurrent states; [`SequenceReplay::push`] writes a whole rollout's
//! columns at the head ([`Rollout::place`]), [`SequenceReplay::sample`] gathers columns drawn
//! uniformly with replacement ([`Rollout::columns`]). The draws are Philox (seed, round,
//! draw, k), so a resumed run samples what the uninterrupted one did; everything stays on the
//! device.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::rollout::{Rollout, RolloutShape};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::rng;

/// Where the ring stands (kept in checkpoints beside the store's tensors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceCursor {
    /// The next block written.
    pub head: usize,
    /// Blocks filled (≤ blocks).
    pub filled: usize,
}

/// A ring of `blocks` rollouts of E columns each.
pub struct SequenceReplay {
    /// The storage: a rollout of `blocks`·E columns.
    pub store: Rollout,
    block: usize,
    blocks: usize,
    /// The ring's position.
    pub cursor: SequenceCursor,
}

impl SequenceReplay {
    /// A ring of `blocks` pushes of rollouts shaped `one` (refused before allocating when the
    /// store would exceed a rollout's limit).
    pub fn new(be: &Arc<dyn Backend>, one: RolloutShape, blocks: usize) -> Result<Self> {
        if blocks == 0 {
            return Err(Error::config("replay.blocks", 0, "must be >= 1"));
        }
        let envs = one
            .envs
            .checked_mul(blocks)
            .ok_or_else(|| Error::config("replay.blocks", blocks, "the ring's columns overflow"))?;
        let store = Rollout::new(be, RolloutShape { envs, ..one })?;
        Ok(SequenceReplay { store, block: one.envs, blocks, cursor: SequenceCursor::default() })
    }

    /// Sequences held.
    pub fn len(&self) -> usize {
        self.cursor.filled * self.block
    }

    /// Whether nothing was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.cursor.filled == 0
    }

    /// Write `r`'s columns at the head (overwriting the oldest block when full).
    pub fn push(&mut self, r: &Rollout) -> Result<()> {
        if r.shape.envs != self.block {
            return Err(Error::shape("SequenceReplay::push", self.block, r.shape.envs));
        }
        self.store.place(r, self.cursor.head * self.block)?;
        self.cursor.head = (self.cursor.head + 1) % self.blocks;
        self.cursor.filled = (self.cursor.filled + 1).min(self.blocks);
        Ok(())
    }

    /// The column indices of a minibatch of `k` sequences: uniform with replacement over what
    /// is held, Philox under (`seed`, `round`, `draw`).
    pub fn draw(&self, k: usize, seed: u64, round: u32, draw: u32) -> Result<Vec<u32>> {
        let n = self.len();
        if n == 0 || k == 0 {
            return Err(Error::config("replay.batch", k, format!("cannot draw {k} sequences from {n}")));
        }
        let key = rng::key_of(seed);
        Ok((0..k as u32)
            .map(|i| {
                let w = rng::philox4x32_10([i, round, draw, rng::stream::REPLAY_SEQUENCES], key)[0];
                rng::uniform_index(w, n as u32)
            })
            .collect())
    }

    /// A minibatch of `k` groups of `group` consecutive columns (e.g. the D terminals of one
    /// instance's episode, for a team learner), each group drawn uniformly with replacement
    /// among those held (Philox under (`seed`, `round`, `draw`)): k·group columns, group by group.
    pub fn sample_groups(&self, k: usize, group: usize, seed: u64, round: u32, draw: u32) -> Result<Rollout> {
        let n = self.len();
        if group == 0 || !self.block.is_multiple_of(group) {
            return Err(Error::config(
                "replay.group",
                group,
                format!("must divide the {} columns of a push", self.block),
            ));
        }
        let groups = n / group;
        if groups == 0 || k == 0 {
            return Err(Error::config("replay.batch", k, format!("cannot draw {k} groups from {groups}")));
        }
        let key = rng::key_of(seed);
        let mut idx = Vec::with_capacity(k * group);
        for i in 0..k as u32 {
            let w = rng::philox4x32_10([i, round, draw, rng::stream::REPLAY_GROUPS], key)[0];
            let g = rng::uniform_index(w, groups as u32) as usize;
            idx.extend((g * group..(g + 1) * group).map(|c| c as u32));
        }
        self.store.columns(&idx)
    }

    /// A minibatch of `k` sequences (see [`SequenceReplay::draw`]) gathered on the device.
    pub fn sample(&self, k: usize, seed: u64, round: u32, draw: u32) -> Result<Rollout> {
        self.store.columns(&self.draw(k, seed, round, draw)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::rollout::Field;
    use crate::backend::{create, upload_f32, BackendKind};

    #[test]
    fn the_ring_keeps_the_newest_blocks_and_samples_them() {
        let be = create(BackendKind::Cpu).unwrap();
        let one = RolloutShape { steps: 2, envs: 3, obs: 1, action_mask: 0, hidden: Some((1, 2, 2)) };
        let mut rb = SequenceReplay::new(&be, one, 2).unwrap();
        assert!(rb.draw(1, 1, 0, 0).is_err(), "nothing to draw from");
        for push in 0..3 {
            let r = Rollout::new(&be, one).unwrap();
            for t in 0..2 {
                let v: Vec<f32> = (0..3).map(|e| (100 * push + 10 * t + e) as f32).collect();
                r.put(Field::Obs, t, &upload_f32(&*be, &v).unwrap()).unwrap();
            }
            let h: Vec<f32> = (0..2 * 3 * 2).map(|i| (1000 * push + i) as f32).collect();
            r.put_hidden(0, 0, 1, &upload_f32(&*be, &h).unwrap()).unwrap();
            rb.push(&r).unwrap();
        }
        // push 2 overwrote block 0; block 1 holds push 1
        assert_eq!(rb.cursor, SequenceCursor { head: 1, filled: 2 });
        let obs = rb.store.obs.to_vec().unwrap();
        assert_eq!(obs[..6], [200.0, 201.0, 202.0, 100.0, 101.0, 102.0]);
        assert_eq!(obs[6..], [210.0, 211.0, 212.0, 110.0, 111.0, 112.0]);
        // a gathered column brings its hidden state along (layer-major [C, L, E, H])
        let m = rb.store.columns(&[4]).unwrap();
        assert_eq!(m.obs.to_vec().unwrap(), vec![101.0, 111.0]);
        assert_eq!(m.hidden.unwrap().to_vec().unwrap(), vec![1002.0, 1003.0, 1008.0, 1009.0]);
        let d = rb.draw(200, 5, 3, 0).unwrap();
        assert!(d.iter().all(|&i| i < 6) && (0..6).all(|i| d.contains(&i)));
        assert_eq!(d, rb.draw(200, 5, 3, 0).unwrap(), "deterministic");
        assert_ne!(d, rb.draw(200, 5, 4, 0).unwrap());
        // groups of 3 columns (a push is one group): both pushes held, whole groups drawn
        let g = rb.sample_groups(5, 3, 5, 3, 1).unwrap();
        let cols = g.obs.to_vec().unwrap();
        for k in 0..5 {
            let first = cols[3 * k];
            assert!(first == 200.0 || first == 100.0, "{cols:?}");
            assert_eq!(cols[3 * k..3 * k + 3], [first, first + 1.0, first + 2.0]);
        }
        assert!(rb.sample_groups(1, 2, 5, 3, 1).is_err(), "2 does not divide 3");
        let wrong = Rollout::new(&be, RolloutShape { envs: 2, ..one }).unwrap();
        assert!(rb.push(&wrong).is_err());
    }
}
