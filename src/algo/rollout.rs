//! Rollout storage on the device, shared by every on-policy learner (MRLCO, mixed MAPPO, O2O's
//! online phase): T steps × E environments (or sequences), step outermost, every field a
//! device tensor. Environments and policies fill it with kernels — a step-wise environment
//! writes row t of a field with [`Rollout::put`], a sequence policy hands over whole tensors
//! with [`Rollout::from_parts`] — and nothing goes through the host. [`Rollout::advantages`]
//! runs GAE ([`super::gae`]) in place; [`Rollout::columns`] gathers a minibatch of
//! environments for the PPO update ([`super::ppo`]).
//!
//! Layouts: `obs` [T, E, F]; `action`, `done`, `valid` u32 [T, E]; `logp`, `value`, `reward`,
//! `weight`, `adv`, `ret` f32 [T, E]; `action_mask` u32 [T, E, A] (1 = allowed); `hidden`
//! [C, L, E, H] (a recurrent policy's state at the start of each of C chunks, L layers);
//! `next_value` \[E\] (the bootstrap after step T − 1).

use std::sync::Arc;

use super::gae::{gae, GaeParams, Returns};
use crate::backend::cpu::need_all;
use crate::backend::{params as decode, Backend, Buffer};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// The most words one rollout may hold (every field together): 2^31, 8 GiB.
pub const MAX_WORDS: u64 = 1 << 31;

/// Sizes of a [`Rollout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutShape {
    /// T, steps.
    pub steps: usize,
    /// E, environments (or sequences).
    pub envs: usize,
    /// F, observation width per environment and step.
    pub obs: usize,
    /// A, actions per step for an action mask (0: no mask).
    pub action_mask: usize,
    /// (C chunks, L layers, H units) of a recurrent policy's stored state (None: none).
    pub hidden: Option<(usize, usize, usize)>,
}

impl RolloutShape {
    /// Words of every field together.
    pub fn words(&self) -> u64 {
        let (t, e) = (self.steps as u64, self.envs as u64);
        let h = self.hidden.map_or(0, |(c, l, h)| (c * l * h) as u64);
        t * e * (self.obs as u64 + self.action_mask as u64 + 10) + e * (h + 1)
    }

    /// T, E ≥ 1 and the whole rollout within [`MAX_WORDS`] (checked before allocating).
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.envs == 0 {
            return Err(Error::config("rollout.steps", format!("{} x {}", self.steps, self.envs), "need T, E >= 1"));
        }
        let w = self.words();
        if w > MAX_WORDS || self.steps * self.envs * self.obs.max(self.action_mask).max(1) >= 1 << 31 {
            return Err(Error::config(
                "rollout.envs",
                self.envs,
                format!("{w} words ({} MiB) exceed one rollout's limit of 8 GiB", (w * 4) >> 20),
            ));
        }
        Ok(())
    }
}

/// Rollout storage (layouts in the module docs).
#[derive(Clone)]
pub struct Rollout {
    /// The sizes.
    pub shape: RolloutShape,
    /// Observations [T, E, F].
    pub obs: Tensor,
    /// Actions taken, u32 [T, E].
    pub action: Tensor,
    /// log π_old(a|s) [T, E].
    pub logp: Tensor,
    /// V_old(s) [T, E].
    pub value: Tensor,
    /// Rewards [T, E].
    pub reward: Tensor,
    /// 1 where the episode ended with the step, u32 [T, E].
    pub done: Tensor,
    /// 1 for a real step, 0 for padding (sequences shorter than T), u32 [T, E].
    pub valid: Tensor,
    /// Sample weights in the losses [T, E] (1 real, 0 padding).
    pub weight: Tensor,
    /// Allowed actions, u32 [T, E, A].
    pub action_mask: Option<Tensor>,
    /// A recurrent policy's state at each chunk start [C, L, E, H].
    pub hidden: Option<Tensor>,
    /// V of the state after the last step \[E\].
    pub next_value: Tensor,
    /// Advantages [T, E] (after [`Rollout::advantages`]).
    pub adv: Tensor,
    /// Value targets [T, E] (after [`Rollout::advantages`]).
    pub ret: Tensor,
}

/// The fields a step-wise environment or policy writes row by row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `obs` (F words per environment).
    Obs,
    /// `action`.
    Action,
    /// `logp`.
    Logp,
    /// `value`.
    Value,
    /// `reward`.
    Reward,
    /// `done`.
    Done,
    /// `valid`.
    Valid,
    /// `weight`.
    Weight,
    /// `action_mask` (A words per environment).
    ActionMask,
}

/// The parts a sequence policy and a whole-episode environment produce (each [T, E] but `obs`).
pub struct Parts {
    /// Observations [T, E, F].
    pub obs: Tensor,
    /// Actions, u32.
    pub action: Tensor,
    /// log π_old.
    pub logp: Tensor,
    /// V_old.
    pub value: Tensor,
    /// Rewards.
    pub reward: Tensor,
    /// Episode ends, u32.
    pub done: Tensor,
    /// Real steps, u32.
    pub valid: Tensor,
    /// Loss weights.
    pub weight: Tensor,
}

impl Rollout {
    /// Zeroed storage of `shape` on `be` (refused before allocating when too large).
    pub fn new(be: &Arc<dyn Backend>, shape: RolloutShape) -> Result<Self> {
        shape.validate()?;
        let (t, e) = (shape.steps, shape.envs);
        let f = |s: &[usize]| Tensor::zeros(be, s);
        let u = |s: &[usize]| Tensor::zeros_u32(be, s);
        Ok(Rollout {
            obs: f(&[t, e, shape.obs.max(1)])?,
            action: u(&[t, e])?,
            logp: f(&[t, e])?,
            value: f(&[t, e])?,
            reward: f(&[t, e])?,
            done: u(&[t, e])?,
            valid: u(&[t, e])?,
            weight: f(&[t, e])?,
            action_mask: if shape.action_mask > 0 { Some(u(&[t, e, shape.action_mask])?) } else { None },
            hidden: match shape.hidden {
                Some((c, l, h)) => Some(f(&[c, l, e, h])?),
                None => None,
            },
            next_value: f(&[e])?,
            adv: f(&[t, e])?,
            ret: f(&[t, e])?,
            shape,
        })
    }

    /// A rollout over tensors made elsewhere (no copy): `obs` [T, E, F] sets the sizes; the
    /// others must be [T, E] of the right type. `next_value` starts at 0 (episodes that end
    /// within T).
    pub fn from_parts(p: Parts) -> Result<Self> {
        let s = p.obs.shape().to_vec();
        let [t, e, f] = s[..] else {
            return Err(Error::shape("Rollout::from_parts obs", "[T, E, F]", format!("{s:?}")));
        };
        let shape = RolloutShape { steps: t, envs: e, obs: f, action_mask: 0, hidden: None };
        shape.validate()?;
        for (name, x, dt) in [
            ("action", &p.action, DType::U32),
            ("logp", &p.logp, DType::F32),
            ("value", &p.value, DType::F32),
            ("reward", &p.reward, DType::F32),
            ("done", &p.done, DType::U32),
            ("valid", &p.valid, DType::U32),
            ("weight", &p.weight, DType::F32),
        ] {
            x.expect(dt, name)?;
            if x.numel() != t * e {
                return Err(Error::shape(
                    format!("Rollout::from_parts {name}"),
                    format!("[{t}, {e}]"),
                    format!("{:?}", x.shape()),
                ));
            }
        }
        let be = p.obs.backend().clone();
        let r2 = |x: &Tensor| x.reshape(&[t, e]);
        Ok(Rollout {
            obs: p.obs,
            action: r2(&p.action)?,
            logp: r2(&p.logp)?,
            value: r2(&p.value)?,
            reward: r2(&p.reward)?,
            done: r2(&p.done)?,
            valid: r2(&p.valid)?,
            weight: r2(&p.weight)?,
            action_mask: None,
            hidden: None,
            next_value: Tensor::zeros(&be, &[e])?,
            adv: Tensor::zeros(&be, &[t, e])?,
            ret: Tensor::zeros(&be, &[t, e])?,
            shape,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.obs.backend()
    }

    fn field(&self, f: Field) -> Result<(&Tensor, usize)> {
        Ok(match f {
            Field::Obs => (&self.obs, self.shape.obs.max(1)),
            Field::Action => (&self.action, 1),
            Field::Logp => (&self.logp, 1),
            Field::Value => (&self.value, 1),
            Field::Reward => (&self.reward, 1),
            Field::Done => (&self.done, 1),
            Field::Valid => (&self.valid, 1),
            Field::Weight => (&self.weight, 1),
            Field::ActionMask => match &self.action_mask {
                Some(m) => (m, self.shape.action_mask),
                None => return Err(Error::config("rollout.action_mask", 0, "this rollout stores no action mask")),
            },
        })
    }

    /// Write step `t` of `field` from `src` (E·width words on the device).
    pub fn put(&self, field: Field, t: usize, src: &Buffer) -> Result<()> {
        let (dst, w) = self.field(field)?;
        if t >= self.shape.steps {
            return Err(Error::input("rollout step", t, t, format!("must be < T = {}", self.shape.steps)));
        }
        let row = self.shape.envs * w;
        let p = RolloutParams { outer: self.shape.steps as u32, width: row as u32, t: t as u32, ..Default::default() };
        self.backend().launch(&ROLLOUT_PUT, bytemuck::bytes_of(&p), row as u32, &[src, dst.buffer()])
    }

    /// Write part `part` of `parts` of chunk `c`'s stored recurrent state from `src`: the
    /// state's L layers split into `parts` equal blocks (e.g. an LSTM's h then c), each
    /// (L/parts)·E·H words; `parts` = 1 writes all L layers.
    pub fn put_hidden(&self, c: usize, part: usize, parts: usize, src: &Buffer) -> Result<()> {
        let (Some(dst), Some((chunks, l, h))) = (&self.hidden, self.shape.hidden) else {
            return Err(Error::config("rollout.hidden", 0, "this rollout stores no recurrent state"));
        };
        if c >= chunks || parts == 0 || part >= parts || l % parts != 0 {
            return Err(Error::input(
                "rollout chunk",
                c,
                format!("{c}, part {part} of {parts}"),
                format!("need c < C = {chunks}, part < parts, parts dividing L = {l}"),
            ));
        }
        let row = l / parts * self.shape.envs * h;
        let p = RolloutParams {
            outer: (chunks * parts) as u32,
            width: row as u32,
            t: (c * parts + part) as u32,
            ..Default::default()
        };
        self.backend().launch(&ROLLOUT_PUT, bytemuck::bytes_of(&p), row as u32, &[src, dst.buffer()])
    }

    /// Advantages and value targets in place (GAE over the rollout; `next_value` bootstraps).
    pub fn advantages(&self, gamma: f32, lambda: f32, returns: Returns) -> Result<()> {
        let p = GaeParams::new(self.shape.steps, self.shape.envs, gamma, lambda)?.with_returns(returns);
        gae(
            &**self.backend(),
            &p,
            [self.reward.buffer(), self.value.buffer(), self.done.buffer(), self.next_value.buffer()],
            self.adv.buffer(),
            self.ret.buffer(),
        )
    }

    /// The environments `idx` (each < E; repeats allowed) as a new rollout of E' = |idx|
    /// columns, every field gathered on the device.
    pub fn columns(&self, idx: &[u32]) -> Result<Rollout> {
        let e = self.shape.envs;
        if let Some(&bad) = idx.iter().find(|&&i| i as usize >= e) {
            return Err(Error::input("rollout column", bad as usize, bad, format!("must be < E = {e}")));
        }
        if idx.is_empty() {
            return Err(Error::config("rollout.columns", 0, "select at least one environment"));
        }
        let be = self.backend().clone();
        let ix = Tensor::from_u32(&be, &[idx.len()], idx)?;
        let take = |x: &Tensor, outer: usize, width: usize| -> Result<Tensor> {
            let mut shape = x.shape().to_vec();
            let axis = shape.len() - if width == 1 && shape.len() == 2 { 1 } else { 2 };
            shape[axis] = idx.len();
            let y = match x.dtype() {
                DType::U32 => Tensor::zeros_u32(&be, &shape)?,
                _ => Tensor::zeros(&be, &shape)?,
            };
            gather_columns(&*be, x.buffer(), ix.buffer(), y.buffer(), outer, e, idx.len(), width)?;
            Ok(y)
        };
        let (t, f) = (self.shape.steps, self.shape.obs.max(1));
        let next_value = {
            let y = Tensor::zeros(&be, &[idx.len()])?;
            gather_columns(&*be, self.next_value.buffer(), ix.buffer(), y.buffer(), 1, e, idx.len(), 1)?;
            y
        };
        Ok(Rollout {
            shape: RolloutShape { envs: idx.len(), ..self.shape },
            obs: take(&self.obs, t, f)?,
            action: take(&self.action, t, 1)?,
            logp: take(&self.logp, t, 1)?,
            value: take(&self.value, t, 1)?,
            reward: take(&self.reward, t, 1)?,
            done: take(&self.done, t, 1)?,
            valid: take(&self.valid, t, 1)?,
            weight: take(&self.weight, t, 1)?,
            action_mask: match &self.action_mask {
                Some(m) => Some(take(m, t, self.shape.action_mask)?),
                None => None,
            },
            hidden: match (&self.hidden, self.shape.hidden) {
                (Some(h), Some((c, l, w))) => Some(take(h, c * l, w)?),
                _ => None,
            },
            next_value,
            adv: take(&self.adv, t, 1)?,
            ret: take(&self.ret, t, 1)?,
        })
    }
}

impl Rollout {
    /// Copy every field of `src` (E columns, the same T, widths and hidden sizes) into columns
    /// `at`..`at` + E of this rollout (the ring of a sequence replay).
    pub fn place(&self, src: &Rollout, at: usize) -> Result<()> {
        let (a, b) = (&self.shape, &src.shape);
        let same = a.steps == b.steps && a.obs == b.obs && a.action_mask == b.action_mask && a.hidden == b.hidden;
        if !same || at + b.envs > a.envs {
            return Err(Error::shape(
                "Rollout::place",
                format!(
                    "a rollout of T = {}, F = {}, hidden {:?}, at most {} columns from {at}",
                    a.steps,
                    a.obs,
                    a.hidden,
                    a.envs.saturating_sub(at)
                ),
                format!("T = {}, F = {}, hidden {:?}, {} columns", b.steps, b.obs, b.hidden, b.envs),
            ));
        }
        let be = self.backend().clone();
        let put = |s: &Tensor, d: &Tensor, outer: usize, width: usize| -> Result<()> {
            let p = RolloutParams {
                outer: outer as u32,
                envs_in: b.envs as u32,
                envs_out: a.envs as u32,
                width: width as u32,
                t: at as u32,
                ..Default::default()
            };
            be.launch(
                &ROLLOUT_PLACE,
                bytemuck::bytes_of(&p),
                (outer * b.envs * width) as u32,
                &[s.buffer(), d.buffer()],
            )
        };
        let t = a.steps;
        put(&src.obs, &self.obs, t, a.obs.max(1))?;
        for (s, d) in [
            (&src.action, &self.action),
            (&src.logp, &self.logp),
            (&src.value, &self.value),
            (&src.reward, &self.reward),
            (&src.done, &self.done),
            (&src.valid, &self.valid),
            (&src.weight, &self.weight),
            (&src.adv, &self.adv),
            (&src.ret, &self.ret),
        ] {
            put(s, d, t, 1)?;
        }
        if let (Some(s), Some(d)) = (&src.action_mask, &self.action_mask) {
            put(s, d, t, a.action_mask)?;
        }
        if let (Some(s), Some(d), Some((c, l, h))) = (&src.hidden, &self.hidden, a.hidden) {
            put(s, d, c * l, h)?;
        }
        put(&src.next_value, &self.next_value, 1, 1)
    }

    /// The steps with `weight` > 0 of every environment moved to the top of its column, in
    /// order (e.g. an agent's decisions among slots where it had none): a new rollout of the
    /// same shape whose column e holds its m_e weighted steps at rows 0..m_e (obs, action,
    /// logp, value, reward, weight) with `valid` = 1, `done` = 1 on row m_e − 1 (each column
    /// one episode), and zeros, `valid` = 0, `done` = 1 below. Hidden states and masks are
    /// not carried (`rollout_index`, `rollout_rows`).
    pub fn compact(&self) -> Result<Rollout> {
        let be = self.backend().clone();
        let (t, e) = (self.shape.steps, self.shape.envs);
        let out = Rollout::new(&be, RolloutShape { action_mask: 0, hidden: None, ..self.shape })?;
        let idx = Tensor::zeros_u32(&be, &[t, e])?;
        let p = RolloutParams { outer: t as u32, envs_in: e as u32, envs_out: e as u32, ..Default::default() };
        let bufs = [self.weight.buffer(), idx.buffer(), out.done.buffer(), out.valid.buffer()];
        be.launch(&ROLLOUT_INDEX, bytemuck::bytes_of(&p), e as u32, &bufs)?;
        for (src, dst, w) in [
            (&self.obs, &out.obs, self.shape.obs.max(1)),
            (&self.action, &out.action, 1),
            (&self.logp, &out.logp, 1),
            (&self.value, &out.value, 1),
            (&self.reward, &out.reward, 1),
            (&self.weight, &out.weight, 1),
        ] {
            let p = RolloutParams { width: w as u32, ..p };
            let n = t * e * w;
            be.launch(&ROLLOUT_ROWS, bytemuck::bytes_of(&p), n as u32, &[src.buffer(), idx.buffer(), dst.buffer()])?;
        }
        Ok(out)
    }
}

/// dst[o, j, :] = src[o, idx\[j\], :] for o < `outer`, j < E', rows of `width` words (any
/// 4-byte type: the kernel moves words).
#[allow(clippy::too_many_arguments)]
pub fn gather_columns(
    be: &dyn Backend,
    src: &Buffer,
    idx: &Buffer,
    dst: &Buffer,
    outer: usize,
    envs_in: usize,
    envs_out: usize,
    width: usize,
) -> Result<()> {
    let n = outer * envs_out * width;
    if n == 0 {
        return Ok(());
    }
    let p = RolloutParams {
        outer: outer as u32,
        envs_in: envs_in as u32,
        envs_out: envs_out as u32,
        width: width as u32,
        ..Default::default()
    };
    be.launch(&ROLLOUT_COLUMNS, bytemuck::bytes_of(&p), n as u32, &[src, idx, dst])
}

/// Parameters of the rollout kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RolloutParams {
    /// Outer count (steps T, or C·L for a hidden state).
    pub outer: u32,
    /// E, columns of the source (`rollout_columns`).
    pub envs_in: u32,
    /// E', columns of the destination (`rollout_columns`).
    pub envs_out: u32,
    /// Words per column (`rollout_columns`), or per row (`rollout_put`).
    pub width: u32,
    /// The step written (`rollout_put`).
    pub t: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// `rollout_columns`: bufs src [outer, E, w], idx [E'], dst [outer, E', w].
pub fn cpu_columns(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: RolloutParams = decode(params);
    let (o, ei, eo, w) = (p.outer as usize, p.envs_in as usize, p.envs_out as usize, p.width as usize);
    need_all("rollout_columns", bufs, &[("src", o * ei * w), ("idx", eo), ("dst", o * eo * w)])?;
    let [src, idx, dst] = bufs else { unreachable!("the spec has 3 buffers") };
    for k in 0..o {
        for j in 0..eo {
            let c = (idx[j] as usize).min(ei - 1);
            let (s, d) = ((k * ei + c) * w, (k * eo + j) * w);
            dst[d..d + w].copy_from_slice(&src[s..s + w]);
        }
    }
    Ok(())
}

/// `rollout_put`: bufs src \[w\], dst [T, w]; row `t`.
pub fn cpu_put(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: RolloutParams = decode(params);
    let (t_max, w, t) = (p.outer as usize, p.width as usize, p.t as usize);
    need_all("rollout_put", bufs, &[("src", w), ("dst", t_max * w)])?;
    let [src, dst] = bufs else { unreachable!("the spec has 2 buffers") };
    if t < t_max {
        dst[t * w..(t + 1) * w].copy_from_slice(&src[..w]);
    }
    Ok(())
}

fn sizes_columns(bytes: &[u8]) -> Vec<u64> {
    let p: RolloutParams = decode(bytes);
    let (o, w) = (p.outer as u64, p.width as u64);
    vec![o * p.envs_in as u64 * w, p.envs_out as u64, o * p.envs_out as u64 * w]
}

/// `rollout_place`: bufs src [outer, E, w], dst [outer, E', w]; columns j < E of the source
/// into columns `t` + j of the destination (a block, `t` + E ≤ E').
pub fn cpu_place(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: RolloutParams = decode(params);
    let (o, ei, eo, w, at) =
        (p.outer as usize, p.envs_in as usize, p.envs_out as usize, p.width as usize, p.t as usize);
    need_all("rollout_place", bufs, &[("src", o * ei * w), ("dst", o * eo * w)])?;
    let [src, dst] = bufs else { unreachable!("the spec has 2 buffers") };
    if at + ei > eo {
        return Ok(());
    }
    for k in 0..o {
        let (s, d) = (k * ei * w, (k * eo + at) * w);
        dst[d..d + ei * w].copy_from_slice(&src[s..s + ei * w]);
    }
    Ok(())
}

fn sizes_place(bytes: &[u8]) -> Vec<u64> {
    let p: RolloutParams = decode(bytes);
    let (o, w) = (p.outer as u64, p.width as u64);
    vec![o * p.envs_in as u64 * w, o * p.envs_out as u64 * w]
}

/// `rollout_index`: bufs weight [T, E], idx [T, E], done [T, E], valid [T, E]; per column e the
/// source rows of its weighted steps in order (T below them), their `done` and `valid` flags.
pub fn cpu_index(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: RolloutParams = decode(params);
    let (t, e) = (p.outer as usize, p.envs_in as usize);
    need_all("rollout_index", bufs, &[("weight", t * e), ("idx", t * e), ("done", t * e), ("valid", t * e)])?;
    let [weight, idx, done, valid] = bufs else { unreachable!("the spec has 4 buffers") };
    let weight = crate::backend::cpu::f32s(weight);
    for c in 0..e {
        let mut j = 0usize;
        for s in 0..t {
            if weight[s * e + c] > 0.0 {
                idx[j * e + c] = s as u32;
                valid[j * e + c] = 1;
                done[j * e + c] = 0;
                j += 1;
            }
        }
        if j > 0 {
            done[(j - 1) * e + c] = 1;
        }
        for r in j..t {
            idx[r * e + c] = t as u32;
            valid[r * e + c] = 0;
            done[r * e + c] = 1;
        }
    }
    Ok(())
}

/// `rollout_rows`: bufs src [T, E, w], idx [T, E], dst [T, E, w]; dst[j, e] = src[idx[j, e], e],
/// zeros where idx ≥ T.
pub fn cpu_rows(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: RolloutParams = decode(params);
    let (t, e, w) = (p.outer as usize, p.envs_in as usize, p.width as usize);
    need_all("rollout_rows", bufs, &[("src", t * e * w), ("idx", t * e), ("dst", t * e * w)])?;
    let [src, idx, dst] = bufs else { unreachable!("the spec has 3 buffers") };
    for r in 0..t * e {
        let (c, s) = (r % e, idx[r] as usize);
        let d = &mut dst[r * w..(r + 1) * w];
        if s < t {
            d.copy_from_slice(&src[(s * e + c) * w..(s * e + c + 1) * w]);
        } else {
            d.fill(0);
        }
    }
    Ok(())
}

fn sizes_index(bytes: &[u8]) -> Vec<u64> {
    let p: RolloutParams = decode(bytes);
    let n = p.outer as u64 * p.envs_in as u64;
    vec![n, n, n, n]
}

fn sizes_rows(bytes: &[u8]) -> Vec<u64> {
    let p: RolloutParams = decode(bytes);
    let n = p.outer as u64 * p.envs_in as u64;
    vec![n * p.width as u64, n, n * p.width as u64]
}

fn sizes_put(bytes: &[u8]) -> Vec<u64> {
    let p: RolloutParams = decode(bytes);
    vec![p.width as u64, p.outer as u64 * p.width as u64]
}

crate::kernel_params!(RolloutParams { outer, envs_in, envs_out, width, t, _pad0, _pad1, _pad2 });

crate::kernels! {
    stem "algo" / "rollout";
    /// Rollout: gather environments (columns) of a [outer, E, w] field, words.
    ROLLOUT_COLUMNS = rollout_columns(RolloutParams; src: R U32, idx: R U32, dst: W U32)
        cpu cpu_columns, sizes sizes_columns;
    /// Rollout: write step t of a [T, w] field, words.
    ROLLOUT_PUT = rollout_put(RolloutParams; src: R U32, dst: W U32)
        cpu cpu_put, sizes sizes_put;
    /// Rollout: write a [outer, E, w] field's columns as a block into a wider one, words.
    ROLLOUT_PLACE = rollout_place(RolloutParams; src: R U32, dst: W U32)
        cpu cpu_place, sizes sizes_place;
    /// Rollout: per column, the rows of its weighted steps in order (compaction).
    ROLLOUT_INDEX = rollout_index(RolloutParams; weight: R F32, idx: W U32, done: W U32, valid: W U32)
        cpu cpu_index, sizes sizes_index;
    /// Rollout: rows of a [T, E, w] field gathered per column by an index, words.
    ROLLOUT_ROWS = rollout_rows(RolloutParams; src: R U32, idx: R U32, dst: W U32)
        cpu cpu_rows, sizes sizes_rows;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{create, BackendKind};

    #[test]
    fn put_then_columns_then_gae() {
        let be = create(BackendKind::Cpu).unwrap();
        let shape = RolloutShape { steps: 3, envs: 4, obs: 2, action_mask: 2, hidden: Some((1, 1, 3)) };
        let r = Rollout::new(&be, shape).unwrap();
        for t in 0..3 {
            let obs: Vec<f32> = (0..8).map(|i| (t * 10 + i) as f32).collect();
            r.put(Field::Obs, t, &crate::backend::upload_f32(&*be, &obs).unwrap()).unwrap();
            r.put(Field::Reward, t, &crate::backend::upload_f32(&*be, &[1.0, 2.0, 3.0, 4.0]).unwrap()).unwrap();
            r.put(Field::Done, t, &be.upload(&[0, 0, (t == 1) as u32, (t == 2) as u32]).unwrap()).unwrap();
            r.put(Field::ActionMask, t, &be.upload(&[1, 0, 1, 1, 0, 1, 1, 1]).unwrap()).unwrap();
        }
        assert!(matches!(r.put(Field::Reward, 3, r.reward.buffer()), Err(Error::Input { .. })));
        let m = r.columns(&[2, 0]).unwrap();
        assert_eq!(m.shape.envs, 2);
        // obs row t: columns 2 then 0, two words each
        assert_eq!(m.obs.to_vec().unwrap()[..4], [4.0, 5.0, 0.0, 1.0]);
        assert_eq!(m.obs.to_vec().unwrap()[8..12], [24.0, 25.0, 20.0, 21.0]);
        assert_eq!(m.done.to_u32().unwrap(), [0, 0, 1, 0, 0, 0]);
        assert_eq!(m.action_mask.as_ref().unwrap().to_u32().unwrap()[..4], [0, 1, 1, 0]);
        assert_eq!(m.hidden.as_ref().unwrap().shape(), [1, 1, 2, 3]);
        assert!(matches!(r.columns(&[4]), Err(Error::Input { .. })));
        // γ = 1, λ = 1, V = 0: column 2 (reward 3, ends at step 1) → 6, 3, 3; column 0
        // (reward 1, never ends, next value 0) → 3, 2, 1
        m.advantages(1.0, 1.0, Returns::Discounted).unwrap();
        assert_eq!(m.adv.to_vec().unwrap(), [6.0, 3.0, 3.0, 2.0, 3.0, 1.0]);
        assert_eq!(m.ret.to_vec().unwrap(), [6.0, 3.0, 3.0, 2.0, 3.0, 1.0]);
    }

    #[test]
    fn compaction_moves_weighted_steps_up() {
        let be = create(BackendKind::Cpu).unwrap();
        let shape = RolloutShape { steps: 4, envs: 2, obs: 1, action_mask: 0, hidden: None };
        let r = Rollout::new(&be, shape).unwrap();
        // column 0 decides at steps 1 and 3, column 1 at step 0 only
        let w = [[0.0f32, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]];
        for (t, wt) in w.iter().enumerate() {
            let up = |v: &[f32]| crate::backend::upload_f32(&*be, v).unwrap();
            r.put(Field::Weight, t, &up(wt)).unwrap();
            r.put(Field::Obs, t, &up(&[10.0 * t as f32, 10.0 * t as f32 + 1.0])).unwrap();
            r.put(Field::Reward, t, &up(&[-(t as f32), -(t as f32) - 0.5])).unwrap();
        }
        let c = r.compact().unwrap();
        assert_eq!(c.obs.to_vec().unwrap(), [10.0, 1.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(c.reward.to_vec().unwrap(), [-1.0, -0.5, -3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(c.weight.to_vec().unwrap(), [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(c.valid.to_u32().unwrap(), [1, 1, 1, 0, 0, 0, 0, 0]);
        assert_eq!(c.done.to_u32().unwrap(), [0, 1, 1, 1, 1, 1, 1, 1]);
        // GAE over the compacted decisions: γ = 0.5, V = 0 → column 0: −1 + 0.5·−3, −3
        c.advantages(0.5, 1.0, Returns::Discounted).unwrap();
        assert_eq!(c.ret.to_vec().unwrap()[..4], [-2.5, -0.5, -3.0, 0.0]);
    }

    #[test]
    fn too_large_is_refused_before_allocating() {
        let shape = RolloutShape { steps: 1 << 20, envs: 1 << 12, obs: 64, action_mask: 0, hidden: None };
        assert!(matches!(shape.validate(), Err(Error::Config { field, .. }) if field == "rollout.envs"));
        let zero = RolloutShape { steps: 0, ..shape };
        assert!(matches!(zero.validate(), Err(Error::Config { field, .. }) if field == "rollout.steps"));
    }
}
