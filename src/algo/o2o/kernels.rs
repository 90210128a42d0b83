//! The kernels of O2O-DRL (stem `o2o`): the offline phase's minibatch draw and the online phase's
//! per-node team reward.
//!
//! - `o2o_gather` (thread per draw k < K): index i = ⌊u·R⌋ from Philox block (k, 0, step,
//!   O2O_SAMPLE) (uniform over the replay's R rows, with replacement), then row i of every field:
//!   o_t into `x` [K, F] and both halves of `x2` [2, K, F] (the twin Qs' input), o_{t+1} into
//!   `xn` and `xn2`, and the action, reward, done flag and both masks.
//! - `o2o_team` (thread per node e < K = B·N): out\[e\] = scale · reward\[e / N\] + bias, the
//!   team reward of node e's instance (every node an agent, §IV-B3), normalized.

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::rng;

/// Parameters of every `o2o_*` kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct O2oParams {
    /// R, filled replay rows.
    pub rows: u32,
    /// F, observation width.
    pub f: u32,
    /// A, actions.
    pub a: u32,
    /// K, draws (`o2o_gather`) or nodes of the batch (`o2o_team`).
    pub k: u32,
    /// Philox key word 0.
    pub key0: u32,
    /// Philox key word 1.
    pub key1: u32,
    /// Philox counter word 2: the gradient step.
    pub step: u32,
    /// N, nodes per instance (`o2o_team`).
    pub n: u32,
    /// The reward scale (`o2o_team`).
    pub scale: f32,
    /// The reward bias (`o2o_team`).
    pub bias: f32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// The replay row of draw `k`.
pub fn draw(p: &O2oParams, k: u32) -> u32 {
    let w = rng::philox4x32_10(rng::counter(k, 0, p.step, rng::stream::O2O_SAMPLE, 0), [p.key0, p.key1]);
    rng::uniform_index(w[0], p.rows)
}

/// `o2o_gather`: bufs obs, next [R, F], action, reward, done \[R\], mask, next_mask [R, A];
/// x [K, F], x2 [2, K, F], xn [K, F], xn2 [2, K, F], a_out, r_out, d_out \[K\], m, mn [K, A].
pub fn cpu_gather(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: O2oParams = decode(params);
    let (r, f, a, k) = (p.rows as usize, p.f as usize, p.a as usize, p.k as usize);
    let sizes = gather_sizes(&p);
    let names = [
        "obs",
        "next",
        "action",
        "reward",
        "done",
        "mask",
        "next_mask",
        "x",
        "x2",
        "xn",
        "xn2",
        "a_out",
        "r_out",
        "d_out",
        "m",
        "mn",
    ];
    let want: Vec<(&str, usize)> = names.iter().zip(&sizes).map(|(n, &s)| (*n, s as usize)).collect();
    need_all("o2o_gather", bufs, &want)?;
    if r == 0 {
        return Ok(());
    }
    let [obs, next, action, reward, done, mask, next_mask, x, x2, xn, xn2, ao, ro, d, m, mn] = bufs else {
        unreachable!("the spec has 16 buffers")
    };
    for kk in 0..k {
        let i = draw(&p, kk as u32) as usize;
        let (src, srcn) = (&obs[i * f..(i + 1) * f], &next[i * f..(i + 1) * f]);
        x[kk * f..(kk + 1) * f].copy_from_slice(src);
        xn[kk * f..(kk + 1) * f].copy_from_slice(srcn);
        for c in 0..2 {
            let o = (c * k + kk) * f;
            x2[o..o + f].copy_from_slice(src);
            xn2[o..o + f].copy_from_slice(srcn);
        }
        ao[kk] = action[i];
        ro[kk] = reward[i];
        d[kk] = done[i];
        m[kk * a..(kk + 1) * a].copy_from_slice(&mask[i * a..(i + 1) * a]);
        mn[kk * a..(kk + 1) * a].copy_from_slice(&next_mask[i * a..(i + 1) * a]);
    }
    Ok(())
}

/// `o2o_team`: bufs reward \[K / N\], out \[K\].
pub fn cpu_team(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: O2oParams = decode(params);
    let (k, n) = (p.k as usize, p.n.max(1) as usize);
    need_all("o2o_team", bufs, &[("reward", k.div_ceil(n)), ("out", k)])?;
    let [reward, out] = bufs else { unreachable!("the spec has 2 buffers") };
    let reward = f32s(reward).to_vec();
    for (e, o) in f32s_mut(out)[..k].iter_mut().enumerate() {
        *o = p.scale * reward[e / n] + p.bias;
    }
    Ok(())
}

fn gather_sizes(p: &O2oParams) -> Vec<u64> {
    let (r, f, a, k) = (p.rows as u64, p.f as u64, p.a as u64, p.k as u64);
    vec![r * f, r * f, r, r, r, r * a, r * a, k * f, 2 * k * f, k * f, 2 * k * f, k, k, k, k * a, k * a]
}

fn sizes_gather(bytes: &[u8]) -> Vec<u64> {
    gather_sizes(&decode(bytes))
}

fn sizes_team(bytes: &[u8]) -> Vec<u64> {
    let p: O2oParams = decode(bytes);
    let (k, n) = (p.k as u64, p.n.max(1) as u64);
    vec![k.div_ceil(n), k]
}

crate::kernel_params!(O2oParams { rows, f, a, k, key0, key1, step, n, scale, bias, _pad1, _pad2 });

crate::kernels! {
    stem "algo" / "o2o";
    /// O2O: a uniform minibatch of the offline replay (the twin Qs' inputs doubled).
    O2O_GATHER = o2o_gather(O2oParams;
        obs: R F32, next: R F32, action: R U32, reward: R F32, done: R U32, mask: R U32, next_mask: R U32,
        x: W F32, x2: W F32, xn: W F32, xn2: W F32, a_out: W U32, r_out: W F32, d_out: W U32, m: W U32,
        mn: W U32
    )
        cpu cpu_gather, sizes sizes_gather;
    /// O2O: every node's normalized team reward.
    O2O_TEAM = o2o_team(O2oParams; reward: R F32, out: W F32)
        cpu cpu_team, sizes sizes_team;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_cover_the_replay_uniformly() {
        let p = O2oParams { rows: 10, key0: 3, key1: 4, step: 0, ..Default::default() };
        let mut seen = [0u32; 10];
        for step in 0..200 {
            for k in 0..50 {
                seen[draw(&O2oParams { step, ..p }, k) as usize] += 1;
            }
        }
        // 10,000 draws: each row ~1,000 (±5σ ≈ ±150)
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
    }

    #[test]
    fn team_reward_per_node() {
        let p = O2oParams { k: 6, n: 3, scale: 0.5, bias: 1.0, ..Default::default() };
        let mut reward: Vec<u32> = bytemuck::cast_slice(&[2.0f32, -4.0]).to_vec();
        let mut out = vec![0u32; 6];
        cpu_team(bytemuck::bytes_of(&p), &mut [&mut reward, &mut out]).unwrap();
        assert_eq!(bytemuck::cast_slice::<u32, f32>(&out), &[2.0, 2.0, 2.0, -1.0, -1.0, -1.0]);
    }
}
