//! The offline phase's replay (Alg. 1 "load offline data D"): a heuristic's task log
//! ([`OfflineDataset`], the `mecrl coop log` format) on the device, with each transition's
//! next-observation mask, and the uniform minibatch draw of a gradient step.
//!
//! The log stores the mask of o_t only; the soft value of o_{t+1} needs o_{t+1}'s mask (a
//! masked softmax). Rows are ordered by episode, slot, instance, node, so the row of the same
//! node one slot later is k + B·N, where B·N is the length of the run of `done` rows that closes
//! each episode. The loader takes the mask from there and checks that that row's observation is
//! exactly this row's next observation, so a reordered or spliced log is refused, not
//! misread. The last slot of an episode (done) gets the "no task" mask (its value is not used:
//! the target multiplies it by 1 − done).

use std::path::Path;
use std::sync::Arc;

use super::kernels::{O2oParams, O2O_GATHER};
use crate::backend::Backend;
use crate::env::coop::dataset::OfflineDataset;
use crate::error::{Error, Result};
use crate::rng;
use crate::tensor::Tensor;

/// The most bytes a replay may take on the device (every field together): 8 GiB.
pub const MAX_BYTES: u64 = 8 << 30;

/// The next-observation masks of a log's rows (module docs); errors name `path`.
pub fn next_masks(ds: &OfflineDataset, path: &Path) -> Result<Vec<u32>> {
    let (r, f, a) = (ds.len(), ds.obs_dim as usize, ds.n_actions as usize);
    let bad = |why: String| Error::Parse { path: path.to_path_buf(), line: 0, why };
    let mut out = vec![0u32; r * a];
    let mut start = 0usize;
    while start < r {
        let Some(first_done) = (start..r).find(|&k| ds.done[k] != 0) else {
            return Err(bad(format!("rows {start}..{r}: the last episode has no done rows (a truncated log)")));
        };
        let stride = (first_done..r).take_while(|&k| ds.done[k] != 0).count();
        let end = first_done + stride;
        if !(end - start).is_multiple_of(stride) {
            return Err(bad(format!(
                "rows {start}..{end}: an episode of {} rows is not whole slots of {stride} nodes",
                end - start
            )));
        }
        for k in start..first_done {
            let j = k + stride;
            if ds.next_obs[k * f..(k + 1) * f] != ds.obs[j * f..(j + 1) * f] {
                return Err(bad(format!(
                    "row {k}: its next observation is not the observation of row {j} (rows out of log order)"
                )));
            }
            out[k * a..(k + 1) * a].copy_from_slice(&ds.mask[j * a..(j + 1) * a]);
        }
        for k in first_done..end {
            out[k * a + a - 1] = 1;
        }
        start = end;
    }
    Ok(out)
}

/// The reward normalization r ↦ scale·r + bias = (r − μ)/σ.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RewardNorm {
    /// 1/σ.
    pub scale: f32,
    /// −μ/σ.
    pub bias: f32,
}

impl RewardNorm {
    /// No normalization.
    pub const IDENTITY: RewardNorm = RewardNorm { scale: 1.0, bias: 0.0 };

    /// (r − μ)/σ of `rewards` (population statistics; σ = 1 when they are all equal).
    pub fn of(rewards: &[f32]) -> Self {
        if rewards.is_empty() {
            return Self::IDENTITY;
        }
        let n = rewards.len() as f64;
        let mean = rewards.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = rewards.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let sd = if var.sqrt() < 1e-6 { 1.0 } else { var.sqrt() };
        RewardNorm { scale: (1.0 / sd) as f32, bias: (-mean / sd) as f32 }
    }

    /// The normalized reward.
    pub fn apply(&self, r: f32) -> f32 {
        self.scale * r + self.bias
    }
}

/// One minibatch (K rows), every field on the device.
pub struct Minibatch {
    /// o_t [K, F].
    pub x: Tensor,
    /// o_t twice [2, K, F] (the twin Qs' input).
    pub x2: Tensor,
    /// o_{t+1} [K, F].
    pub xn: Tensor,
    /// o_{t+1} twice [2, K, F].
    pub xn2: Tensor,
    /// a_t \[K\] (u32).
    pub action: Tensor,
    /// r_t \[K\] (raw).
    pub reward: Tensor,
    /// done \[K\] (u32).
    pub done: Tensor,
    /// Mask of o_t [K, A] (u32).
    pub mask: Tensor,
    /// Mask of o_{t+1} [K, A] (u32).
    pub next_mask: Tensor,
}

/// A task log on the device.
pub struct OfflineReplay {
    be: Arc<dyn Backend>,
    /// R, rows kept.
    pub rows: usize,
    /// F.
    pub f: usize,
    /// A.
    pub a: usize,
    /// The normalization of the kept rows' rewards.
    pub reward_norm: RewardNorm,
    obs: Tensor,
    next: Tensor,
    action: Tensor,
    reward: Tensor,
    done: Tensor,
    mask: Tensor,
    next_mask: Tensor,
    mb: Option<Minibatch>,
}

impl OfflineReplay {
    /// The last `capacity` rows of `ds` (the log read from `path`, named in errors), checked,
    /// with their next-observation masks, uploaded.
    pub fn new(be: &Arc<dyn Backend>, ds: &OfflineDataset, path: &Path, capacity: usize) -> Result<Self> {
        ds.check(path)?;
        if ds.is_empty() {
            return Err(Error::Parse { path: path.to_path_buf(), line: 0, why: "the log has no transitions".into() });
        }
        let (f, a) = (ds.obs_dim as usize, ds.n_actions as usize);
        let all = next_masks(ds, path)?;
        let r = ds.len().min(capacity);
        let bytes = r as u64 * (2 * f + 2 * a + 3) as u64 * 4;
        if bytes > MAX_BYTES {
            return Err(Error::config(
                "o2o.offline.capacity",
                capacity,
                format!("{r} rows take {} MiB on the device, more than the 8 GiB limit", bytes >> 20),
            ));
        }
        let s = ds.len() - r;
        let rows = |v: &[f32], w: usize| v[s * w..].to_vec();
        let reward = ds.reward[s..].to_vec();
        Ok(OfflineReplay {
            obs: Tensor::from_f32(be, &[r, f], &rows(&ds.obs, f))?,
            next: Tensor::from_f32(be, &[r, f], &rows(&ds.next_obs, f))?,
            action: Tensor::from_u32(be, &[r], &ds.action[s..])?,
            reward_norm: RewardNorm::of(&reward),
            reward: Tensor::from_f32(be, &[r], &reward)?,
            done: Tensor::from_u32(be, &[r], &ds.done[s..])?,
            mask: Tensor::from_u32(be, &[r, a], &ds.mask[s * a..])?,
            next_mask: Tensor::from_u32(be, &[r, a], &all[s * a..])?,
            be: be.clone(),
            rows: r,
            f,
            a,
            mb: None,
        })
    }

    /// Draw K rows uniformly (with replacement) for gradient step `step` of a learner seeded
    /// `seed`; the minibatch's buffers are reused from step to step.
    pub fn sample(&mut self, k: usize, seed: u64, step: u32) -> Result<&Minibatch> {
        let (f, a, be) = (self.f, self.a, self.be.clone());
        if self.mb.as_ref().is_none_or(|m| m.action.numel() != k) {
            let fl = |s: &[usize]| Tensor::output(&be, s);
            let ul = |s: &[usize]| Tensor::zeros_u32(&be, s);
            self.mb = Some(Minibatch {
                x: fl(&[k, f])?,
                x2: fl(&[2, k, f])?,
                xn: fl(&[k, f])?,
                xn2: fl(&[2, k, f])?,
                action: ul(&[k])?,
                reward: fl(&[k])?,
                done: ul(&[k])?,
                mask: ul(&[k, a])?,
                next_mask: ul(&[k, a])?,
            });
        }
        let mb = self.mb.as_ref().expect("made above");
        let key = rng::key_of(seed);
        let p = O2oParams {
            rows: self.rows as u32,
            f: f as u32,
            a: a as u32,
            k: k as u32,
            key0: key[0],
            key1: key[1],
            step,
            ..Default::default()
        };
        be.launch(
            &O2O_GATHER,
            bytemuck::bytes_of(&p),
            k as u32,
            &[
                self.obs.buffer(),
                self.next.buffer(),
                self.action.buffer(),
                self.reward.buffer(),
                self.done.buffer(),
                self.mask.buffer(),
                self.next_mask.buffer(),
                mb.x.buffer(),
                mb.x2.buffer(),
                mb.xn.buffer(),
                mb.xn2.buffer(),
                mb.action.buffer(),
                mb.reward.buffer(),
                mb.done.buffer(),
                mb.mask.buffer(),
                mb.next_mask.buffer(),
            ],
        )?;
        Ok(mb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{create, BackendKind};
    use crate::env::coop::{dataset::collect, CoopConfig, CoopEnv, Heuristic};

    fn small_log() -> OfflineDataset {
        let be = create(BackendKind::Cpu).unwrap();
        let cfg = CoopConfig { n_nodes: 4, horizon: 6, ..Default::default() };
        let mut env = CoopEnv::new(be, &cfg, 3, 5).unwrap();
        collect(&mut env, Heuristic::Ratc, 0, 2, 5).unwrap().0
    }

    #[test]
    fn next_masks_are_the_next_slots_and_a_shuffled_log_is_refused() {
        let ds = small_log();
        let (a, bn) = (ds.n_actions as usize, 3 * 4);
        let nm = next_masks(&ds, Path::new("x.log")).unwrap();
        for k in 0..ds.len() {
            let m = &nm[k * a..(k + 1) * a];
            if ds.done[k] == 0 {
                assert_eq!(m, &ds.mask[(k + bn) * a..(k + bn + 1) * a], "row {k}");
            } else {
                assert_eq!(m.iter().sum::<u32>(), 1);
                assert_eq!(m[a - 1], 1);
            }
        }
        // swap two rows of one slot: their next observations no longer follow
        let mut bad = ds.clone();
        let f = bad.obs_dim as usize;
        for i in 0..f {
            bad.next_obs.swap(i, f + i);
        }
        let e = next_masks(&bad, Path::new("x.log")).unwrap_err().to_string();
        assert!(e.contains("x.log") && e.contains("row 0"), "{e}");
        // cut before the episode's done rows
        let mut cut = ds.clone();
        let keep = 5 * bn;
        cut.obs.truncate(keep * f);
        cut.next_obs.truncate(keep * f);
        cut.action.truncate(keep);
        cut.reward.truncate(keep);
        cut.done.truncate(keep);
        cut.mask.truncate(keep * a);
        let e = next_masks(&cut, Path::new("y.log")).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn rewards_are_standardized() {
        assert_eq!(RewardNorm::of(&[2.0, 2.0]), RewardNorm { scale: 1.0, bias: -2.0 });
        assert_eq!(RewardNorm::of(&[1.0, -1.0, 1.0, -1.0]), RewardNorm { scale: 1.0, bias: 0.0 });
        // μ = 2, σ = 2: (r − 2)/2
        let n = RewardNorm::of(&[0.0, 4.0]);
        assert_eq!((n.apply(0.0), n.apply(4.0)), (-1.0, 1.0));
    }

    #[test]
    fn a_minibatch_is_its_rows() {
        let be = create(BackendKind::Cpu).unwrap();
        let ds = small_log();
        let mut rp = OfflineReplay::new(&be, &ds, Path::new("x.log"), 1_000_000).unwrap();
        let (f, a, rp_rows) = (rp.f, rp.a, rp.rows as u32);
        let mb = rp.sample(16, 9, 3).unwrap();
        let key = crate::rng::key_of(9);
        let p = O2oParams { rows: rp_rows, key0: key[0], key1: key[1], step: 3, ..Default::default() };
        let idx: Vec<u32> = (0..16).map(|k| super::super::kernels::draw(&p, k)).collect();
        let (x, x2, xn2) = (mb.x.to_vec().unwrap(), mb.x2.to_vec().unwrap(), mb.xn2.to_vec().unwrap());
        let (act, m) = (mb.action.to_u32().unwrap(), mb.mask.to_u32().unwrap());
        for (k, &i) in idx.iter().enumerate() {
            let i = i as usize;
            assert_eq!(&x[k * f..(k + 1) * f], &ds.obs[i * f..(i + 1) * f]);
            assert_eq!(&x2[(16 + k) * f..(17 + k) * f], &ds.obs[i * f..(i + 1) * f]);
            assert_eq!(&xn2[k * f..(k + 1) * f], &ds.next_obs[i * f..(i + 1) * f]);
            assert_eq!(act[k], ds.action[i]);
            assert_eq!(&m[k * a..(k + 1) * a], &ds.mask[i * a..(i + 1) * a]);
        }
        // a capacity below the log keeps its last rows
        let small = OfflineReplay::new(&be, &ds, Path::new("x.log"), 10).unwrap();
        assert_eq!(small.rows, 10);
    }
}
