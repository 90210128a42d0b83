//! `toy`: a two-state system that exists to exercise the environment contract (and to show the
//! recipe for a new environment: this file, `shaders/env/toy.wgsl`, `kernels/env/toy.cu`, a line
//! in `env/mod.rs`, `catalog.rs` and `rng::stream`, the contract suite and a parity case).
//!
//! Each of A agents holds a bit s; each instance has a target bit t, both drawn at reset. An
//! agent stays (action 0) or flips (1); flipping away from the target is masked. The reward of an
//! agent is 1 when its bit equals the target after the step, else 0; an instance terminates
//! when every bit equals the target, and is truncated after `horizon` steps. An invalid action
//! (> 1, or masked) leaves the agent's bit and makes its reward NaN.
//!
//! Buffers: state [B, A + 1] u32 (the bits, then t); obs [B, A, 2] f32 (one-hot of s); mask
//! [B, A, 2] u32; reward [B, A] f32; terminated \[B\] u32. One thread per instance.

use std::sync::Arc;

use crate::backend::cpu::{f32s_mut, need_all};
use crate::backend::{params as decode, Backend, Buffer};
use crate::env::contract::{check_step, clear_flags, ActionSpace, BatchEnv, EnvBuffers, EnvSpec, Horizon};
use crate::error::{Error, Result};
use crate::rng::{self, stream};

/// Parameters of the `toy_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ToyParams {
    /// B, instances.
    pub b: u32,
    /// A, agents per instance.
    pub a: u32,
    /// Philox key, low word.
    pub key0: u32,
    /// Philox key, high word.
    pub key1: u32,
}

/// Writes obs and mask of one instance from its state, and whether every bit is on target.
fn observe(a: usize, state: &[u32], obs: &mut [f32], mask: &mut [u32]) -> bool {
    let t = state[a];
    for k in 0..a {
        let s = state[k];
        obs[2 * k..2 * k + 2].copy_from_slice(&[(s == 0) as u32 as f32, (s == 1) as u32 as f32]);
        mask[2 * k..2 * k + 2].copy_from_slice(&[1, (s != t) as u32]);
    }
    state[..a].iter().all(|&s| s == t)
}

/// `toy_reset`: bufs state, obs, mask, terminated.
pub fn cpu_reset(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ToyParams = decode(params);
    let (b, a) = (p.b as usize, p.a as usize);
    need_all("toy_reset", bufs, &[("state", b * (a + 1)), ("obs", b * a * 2), ("mask", b * a * 2), ("terminated", b)])?;
    let [state, obs, mask, terminated] = bufs else { unreachable!("the spec has 4 buffers") };
    let obs = f32s_mut(obs);
    for i in 0..b {
        let st = &mut state[i * (a + 1)..(i + 1) * (a + 1)];
        for (k, s) in st.iter_mut().enumerate() {
            *s = rng::philox4x32_10(rng::counter(k as u32, i as u32, 0, stream::TOY, 0), [p.key0, p.key1])[0] & 1;
        }
        let done = observe(a, st, &mut obs[i * a * 2..(i + 1) * a * 2], &mut mask[i * a * 2..(i + 1) * a * 2]);
        terminated[i] = done as u32;
    }
    Ok(())
}

/// `toy_step`: bufs action, state, obs, mask, reward, terminated.
pub fn cpu_step(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ToyParams = decode(params);
    let (b, a) = (p.b as usize, p.a as usize);
    let want = [("action", b * a), ("state", b * (a + 1)), ("obs", b * a * 2), ("mask", b * a * 2)];
    need_all("toy_step", bufs, &want)?;
    need_all("toy_step", &bufs[4..], &[("reward", b * a), ("terminated", b)])?;
    let [action, state, obs, mask, reward, terminated] = bufs else { unreachable!("the spec has 6 buffers") };
    let obs = f32s_mut(obs);
    let reward = f32s_mut(reward);
    for i in 0..b {
        let st = &mut state[i * (a + 1)..(i + 1) * (a + 1)];
        let r = &mut reward[i * a..(i + 1) * a];
        if terminated[i] != 0 {
            r.fill(0.0);
            continue;
        }
        let t = st[a];
        for k in 0..a {
            let act = action[i * a + k];
            if act > 1 || (act == 1 && st[k] == t) {
                r[k] = f32::NAN;
                continue;
            }
            st[k] ^= act;
            r[k] = (st[k] == t) as u32 as f32;
        }
        let done = observe(a, st, &mut obs[i * a * 2..(i + 1) * a * 2], &mut mask[i * a * 2..(i + 1) * a * 2]);
        terminated[i] = done as u32;
    }
    Ok(())
}

fn sizes_reset(bytes: &[u8]) -> Vec<u64> {
    let p: ToyParams = decode(bytes);
    let (b, a) = (p.b as u64, p.a as u64);
    vec![b * (a + 1), b * a * 2, b * a * 2, b]
}

fn sizes_step(bytes: &[u8]) -> Vec<u64> {
    let p: ToyParams = decode(bytes);
    let (b, a) = (p.b as u64, p.a as u64);
    vec![b * a, b * (a + 1), b * a * 2, b * a * 2, b * a, b]
}

crate::kernel_params!(ToyParams { b, a, key0, key1 });

crate::kernels! {
    stem "env" / "toy";
    /// `toy`: bits and targets from the seed, first observation.
    TOY_RESET = toy_reset(ToyParams; state: W U32, obs: W F32, mask: W U32, terminated: W U32)
        cpu cpu_reset, sizes sizes_reset;
    /// `toy`: one step of every agent.
    TOY_STEP = toy_step(ToyParams;
        action: R U32, state: W U32, obs: W F32, mask: W U32, reward: W F32, terminated: W U32
    )
        cpu cpu_step, sizes sizes_step;
}

/// B toy instances of A agents behind [`BatchEnv`].
pub struct ToyEnv {
    backend: Arc<dyn Backend>,
    spec: EnvSpec,
    params: ToyParams,
    clock: Horizon,
    state: Buffer,
}

impl ToyEnv {
    /// `batch` instances of `agents` agents, truncated after `horizon` steps.
    pub fn new(backend: Arc<dyn Backend>, batch: usize, agents: usize, horizon: u32) -> Result<Self> {
        if batch == 0 || agents == 0 || batch.saturating_mul(agents + 1) >= u32::MAX as usize / 2 {
            return Err(Error::config(
                "toy.batch",
                format!("{batch} x {agents}"),
                "need B, A >= 1 and B (A + 1) < 2^31",
            ));
        }
        let spec = EnvSpec {
            system: "toy",
            batch,
            agents,
            obs_shape: vec![2],
            state_shape: vec![],
            action: ActionSpace::Discrete { n: 2 },
            masked: true,
            reward_per_agent: true,
            reward: "1 when the agent's bit equals the instance's target after the step, else 0",
            horizon: Some(horizon),
            stochastic: true,
            info: vec![],
            invalid_action: "an action > 1 or a masked flip leaves the bit and makes the agent's reward NaN",
        };
        let params = ToyParams { b: batch as u32, a: agents as u32, ..Default::default() };
        let state = backend.alloc(batch * (agents + 1))?;
        Ok(ToyEnv { backend, spec, params, clock: Horizon { t: 0, limit: Some(horizon) }, state })
    }
}

impl BatchEnv for ToyEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }
    fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    fn reset(&mut self, seed: u64, out: &EnvBuffers) -> Result<()> {
        out.check(&self.spec)?;
        [self.params.key0, self.params.key1] = rng::key_of(seed);
        self.clock.t = 0;
        clear_flags(&*self.backend, &self.spec, out)?;
        let p = bytemuck::bytes_of(&self.params);
        self.backend.launch(&TOY_RESET, p, self.params.b, &[&self.state, &out.obs, &out.mask, &out.terminated])
    }
    fn step(&mut self, actions: &Buffer, out: &EnvBuffers) -> Result<()> {
        check_step(&self.spec, actions, out)?;
        self.clock.check("toy")?;
        let p = bytemuck::bytes_of(&self.params);
        let bufs = [actions, &self.state, &out.obs, &out.mask, &out.reward, &out.terminated];
        self.backend.launch(&TOY_STEP, p, self.params.b, &bufs)?;
        self.clock.advance(&*self.backend, out, self.spec.batch)?;
        Ok(())
    }
}
