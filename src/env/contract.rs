//! One environment contract for every system ([`BatchEnv`]), after EnvPool's spec and
//! caller-owned buffers and Gymnasium's vector API.
//!
//! An environment is B instances of A agents each, stepped together on a backend. Its
//! [`EnvSpec`] says what an agent observes (`obs_shape`), what it may do ([`ActionSpace`]),
//! whether masks come with each observation, what the reward is and how episodes end. The caller
//! owns the buffers ([`EnvBuffers`]): [`BatchEnv::reset`] and [`BatchEnv::step`] write
//! observations, rewards, terminations, truncations, masks and info columns into them on the
//! device; nothing is downloaded (the host reads what it asks for).
//!
//! Layouts (batch outermost, 32-bit words): actions [B, A, C] (u32 for discrete kinds, f32 for
//! continuous; C = components per agent), obs [B, A, obs…] f32, reward [B, A] or \[B\] f32
//! (`reward_per_agent`), terminated and truncated \[B\] u32 (0/1), mask [B, A, n] u32 (1 = allowed;
//! one word when `masked` is false), info [B, columns] f32, state [B, state…] f32 (what every
//! agent of an instance shares, e.g. a centralized critic's input; one word when none).
//!
//! Episodes: `terminated` means the instance reached an end state of its system; `truncated`
//! means the horizon cut it. An instance that has ended stays ended (reward 0, state unchanged)
//! until the next [`BatchEnv::reset`]; stepping after every instance is truncated by the horizon
//! is an error ("reset first"). Actions from the host go through [`BatchEnv::step_host`], which
//! refuses a wrong length, a value out of the action space or a masked action with a typed error
//! naming the flat index; a device action buffer is taken as it is, and each system documents in
//! `invalid_action` what its kernels do with a bad value (never an out-of-bounds access).

use std::sync::Arc;

use crate::backend::{Backend, Buffer};
use crate::error::{Error, Result};
use crate::ops::optim::{FillParams, FILL};

/// What one agent may do per step.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionSpace {
    /// One of `n` choices (a u32 in 0..n).
    Discrete {
        /// Number of choices.
        n: u32,
    },
    /// `components` choices, each one of `n` (u32s in 0..n).
    MultiDiscrete {
        /// Choices per component.
        n: u32,
        /// Components per agent.
        components: usize,
    },
    /// A real vector in [low, high]^dim (f32 bits).
    Continuous {
        /// Dimension.
        dim: usize,
        /// Lower bound of every coordinate.
        low: f32,
        /// Upper bound of every coordinate.
        high: f32,
    },
}

impl ActionSpace {
    /// Words per agent.
    pub fn components(&self) -> usize {
        match *self {
            ActionSpace::Discrete { .. } => 1,
            ActionSpace::MultiDiscrete { components, .. } => components,
            ActionSpace::Continuous { dim, .. } => dim,
        }
    }
    /// Choices of a discrete component (the mask width), `None` for continuous actions.
    pub fn choices(&self) -> Option<u32> {
        match *self {
            ActionSpace::Discrete { n } | ActionSpace::MultiDiscrete { n, .. } => Some(n),
            ActionSpace::Continuous { .. } => None,
        }
    }
}

/// Everything a caller needs to size buffers and read results.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvSpec {
    /// The system (`mec`, `dag`, `crowd`, `coop`, `endedge`, …).
    pub system: &'static str,
    /// B, instances stepped together.
    pub batch: usize,
    /// A, agents per instance.
    pub agents: usize,
    /// Shape of one agent's observation.
    pub obs_shape: Vec<usize>,
    /// Shape of the instance-wide state every agent shares (empty: none).
    pub state_shape: Vec<usize>,
    /// One agent's action space.
    pub action: ActionSpace,
    /// Whether a mask [B, A, n] of allowed choices comes with each observation (discrete only).
    pub masked: bool,
    /// Reward [B, A] (per agent) or \[B\] (one team reward per instance).
    pub reward_per_agent: bool,
    /// What the reward is, with the paper's equation.
    pub reward: &'static str,
    /// Steps after which every instance is truncated; `None`: episodes end by termination only.
    pub horizon: Option<u32>,
    /// Whether `reset(seed)` draws from the seed (false: the episode is fixed by the
    /// environment's data, e.g. given task graphs).
    pub stochastic: bool,
    /// Names of the per-instance info columns written each step.
    pub info: Vec<&'static str>,
    /// What the kernels do with an invalid action from a device buffer.
    pub invalid_action: &'static str,
}

impl EnvSpec {
    /// Words of one agent's observation.
    pub fn obs_words(&self) -> usize {
        self.obs_shape.iter().product()
    }
    /// Words of the state buffer (1 when there is none).
    pub fn state_words(&self) -> usize {
        if self.state_shape.is_empty() {
            1
        } else {
            self.batch * self.state_shape.iter().product::<usize>()
        }
    }
    /// Words of the action buffer [B, A, C].
    pub fn action_words(&self) -> usize {
        self.batch * self.agents * self.action.components()
    }
    /// Words of the reward buffer.
    pub fn reward_words(&self) -> usize {
        if self.reward_per_agent {
            self.batch * self.agents
        } else {
            self.batch
        }
    }
    /// Words of the mask buffer (1 when there is no mask).
    pub fn mask_words(&self) -> usize {
        match (self.masked, self.action.choices()) {
            (true, Some(n)) => self.batch * self.agents * n as usize,
            _ => 1,
        }
    }

    /// Check host actions against the spec and, when given, the mask: the length, every value
    /// in the action space, every discrete choice allowed. The error names the flat index.
    pub fn check_actions(&self, actions: &[u32], mask: Option<&[u32]>) -> Result<()> {
        let field = format!("{}.actions", self.system);
        if actions.len() != self.action_words() {
            return Err(Error::shape(field, self.action_words(), actions.len()));
        }
        match self.action {
            ActionSpace::Discrete { n } | ActionSpace::MultiDiscrete { n, .. } => {
                if let Some((i, &a)) = actions.iter().enumerate().find(|(_, &a)| a >= n) {
                    return Err(Error::input(field, i, a, format!("a choice must be in 0..{n}")));
                }
                if let (true, Some(mask)) = (self.masked, mask) {
                    let c = self.action.components();
                    for (i, &a) in actions.iter().enumerate() {
                        let agent = i / c;
                        if mask.get(agent * n as usize + a as usize) != Some(&1) {
                            return Err(Error::input(
                                field,
                                i,
                                a,
                                format!(
                                    "instance {}, agent {}: not allowed by the mask",
                                    agent / self.agents,
                                    agent % self.agents
                                ),
                            ));
                        }
                    }
                }
            }
            ActionSpace::Continuous { low, high, .. } => {
                let bad =
                    actions.iter().map(|&w| f32::from_bits(w)).enumerate().find(|(_, x)| !(*x >= low && *x <= high));
                if let Some((i, x)) = bad {
                    return Err(Error::input(
                        field,
                        i,
                        x,
                        format!("a coordinate must be finite and in [{low}, {high}]"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The buffers a caller owns and an environment writes (layouts in the module docs).
pub struct EnvBuffers {
    /// [B, A, obs…] f32.
    pub obs: Buffer,
    /// [B, A] or \[B\] f32.
    pub reward: Buffer,
    /// \[B\] u32, 1 when the instance reached an end state.
    pub terminated: Buffer,
    /// \[B\] u32, 1 when the horizon cut the instance.
    pub truncated: Buffer,
    /// [B, A, n] u32 (1 = allowed), one word without masks.
    pub mask: Buffer,
    /// [B, columns] f32 (at least one word).
    pub info: Buffer,
    /// [B, state…] f32 (one word without a state).
    pub state: Buffer,
}

impl EnvBuffers {
    /// Zeroed buffers sized for `spec` on `be`.
    pub fn new(be: &dyn Backend, spec: &EnvSpec) -> Result<Self> {
        let b = spec.batch;
        Ok(EnvBuffers {
            obs: be.alloc(b * spec.agents * spec.obs_words())?,
            reward: be.alloc(spec.reward_words())?,
            terminated: be.alloc(b)?,
            truncated: be.alloc(b)?,
            mask: be.alloc(spec.mask_words())?,
            info: be.alloc((b * spec.info.len()).max(1))?,
            state: be.alloc(spec.state_words())?,
        })
    }

    /// Refuse buffers that do not fit `spec` (each at least its layout's length).
    pub fn check(&self, spec: &EnvSpec) -> Result<()> {
        let b = spec.batch;
        let want = [
            ("obs", &self.obs, b * spec.agents * spec.obs_words()),
            ("reward", &self.reward, spec.reward_words()),
            ("terminated", &self.terminated, b),
            ("truncated", &self.truncated, b),
            ("mask", &self.mask, spec.mask_words()),
            ("info", &self.info, (b * spec.info.len()).max(1)),
            ("state", &self.state, spec.state_words()),
        ];
        for (name, buf, words) in want {
            if buf.words() < words {
                return Err(Error::shape(
                    format!("{} buffer `{name}`", spec.system),
                    format!(">= {words} words"),
                    buf.words(),
                ));
            }
        }
        Ok(())
    }
}

/// B instances of a system on one backend, stepped together (module docs).
pub trait BatchEnv {
    /// What it observes, accepts and returns.
    fn spec(&self) -> &EnvSpec;
    /// The backend its state lives on.
    fn backend(&self) -> &Arc<dyn Backend>;
    /// New episodes for every instance, drawn from `seed`: writes obs and mask, zeroes reward,
    /// terminated and truncated, and writes the info columns.
    fn reset(&mut self, seed: u64, out: &EnvBuffers) -> Result<()>;
    /// One step with `actions` [B, A, C] on the device; writes every output buffer.
    fn step(&mut self, actions: &Buffer, out: &EnvBuffers) -> Result<()>;

    /// One step with actions from the host, refused with a typed error when they do not fit the
    /// spec or the current mask (read back from `out.mask`; a convenience, not the fast path).
    fn step_host(&mut self, actions: &[u32], out: &EnvBuffers) -> Result<()> {
        let mask = if self.spec().masked { Some(self.backend().download(&out.mask)?) } else { None };
        self.spec().check_actions(actions, mask.as_deref())?;
        let buf = self.backend().upload(actions)?;
        self.step(&buf, out)
    }
}

/// Shared checks of [`BatchEnv::step`]: the action buffer's length and the output buffers.
pub fn check_step(spec: &EnvSpec, actions: &Buffer, out: &EnvBuffers) -> Result<()> {
    if actions.words() < spec.action_words() {
        return Err(Error::shape(
            format!("{}.actions", spec.system),
            format!(">= {} words", spec.action_words()),
            actions.words(),
        ));
    }
    out.check(spec)
}

/// Write `value` into the first `words` words of `buf` on the device (reset and truncation flags).
pub fn fill(be: &dyn Backend, buf: &Buffer, words: usize, value: u32) -> Result<()> {
    let p = FillParams { n: words as u32, value, ..Default::default() };
    be.launch(&FILL, bytemuck::bytes_of(&p), words as u32, &[buf])
}

/// The episode clock of a system whose instances run in lockstep to a horizon: counts steps,
/// refuses a step after the horizon and raises `truncated` when it is reached.
#[derive(Clone, Copy, Debug, Default)]
pub struct Horizon {
    /// Steps taken since the reset.
    pub t: u32,
    /// The horizon (`None`: no truncation).
    pub limit: Option<u32>,
}

impl Horizon {
    /// Before a step: an error once the horizon has been reached.
    pub fn check(&self, system: &str) -> Result<()> {
        match self.limit {
            Some(h) if self.t >= h => {
                Err(Error::config(format!("{system}.step"), self.t, "the episode reached its horizon: reset first"))
            }
            _ => Ok(()),
        }
    }
    /// After a step: count it; at the horizon raise `out.truncated` for all `batch` instances
    /// and return `false`, else `true` (the episode goes on: observe the next step).
    pub fn advance(&mut self, be: &dyn Backend, out: &EnvBuffers, batch: usize) -> Result<bool> {
        self.t += 1;
        if self.limit == Some(self.t) {
            fill(be, &out.truncated, batch, 1)?;
            return Ok(false);
        }
        Ok(true)
    }
}

/// Zero reward, terminated and truncated of `out` (the start of an episode).
pub fn clear_flags(be: &dyn Backend, spec: &EnvSpec, out: &EnvBuffers) -> Result<()> {
    fill(be, &out.reward, spec.reward_words(), 0)?;
    fill(be, &out.terminated, spec.batch, 0)?;
    fill(be, &out.truncated, spec.batch, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(action: ActionSpace, masked: bool) -> EnvSpec {
        EnvSpec {
            system: "test",
            batch: 2,
            agents: 2,
            obs_shape: vec![3],
            state_shape: vec![],
            action,
            masked,
            reward_per_agent: false,
            reward: "",
            horizon: None,
            stochastic: true,
            info: vec![],
            invalid_action: "",
        }
    }

    #[test]
    fn sizes_follow_the_spec() {
        let s = spec(ActionSpace::MultiDiscrete { n: 4, components: 5 }, true);
        assert_eq!((s.action_words(), s.reward_words(), s.mask_words(), s.obs_words()), (20, 2, 16, 3));
        let c = spec(ActionSpace::Continuous { dim: 2, low: -1.0, high: 1.0 }, true);
        assert_eq!((c.action_words(), c.mask_words()), (8, 1));
    }

    #[test]
    fn host_actions_are_checked_against_space_and_mask() {
        let s = spec(ActionSpace::Discrete { n: 3 }, true);
        // Agent 1 of instance 0 may only choose 2.
        let mask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1];
        assert!(s.check_actions(&[0, 2, 1, 1], Some(&mask)).is_ok());
        assert!(matches!(s.check_actions(&[0, 2, 1], Some(&mask)), Err(Error::Shape { .. })));
        match s.check_actions(&[0, 3, 1, 1], Some(&mask)) {
            Err(Error::Input { field, index, .. }) => assert_eq!((field.as_str(), index), ("test.actions", 1)),
            other => panic!("{other:?}"),
        }
        match s.check_actions(&[0, 1, 1, 1], Some(&mask)) {
            Err(Error::Input { index, why, .. }) => assert!(index == 1 && why.contains("mask"), "{why}"),
            other => panic!("{other:?}"),
        }
        let c = spec(ActionSpace::Continuous { dim: 1, low: -1.0, high: 1.0 }, false);
        let w = |x: f32| x.to_bits();
        assert!(c.check_actions(&[w(0.5), w(-1.0), w(1.0), w(0.0)], None).is_ok());
        assert!(c.check_actions(&[w(0.5), w(f32::NAN), w(1.0), w(0.0)], None).is_err());
        assert!(c.check_actions(&[w(0.5), w(1.5), w(1.0), w(0.0)], None).is_err());
    }
}
