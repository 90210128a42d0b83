//! What every `endedge` learner does with its environments: B instances stepped together, an
//! episode store on the rollout core (row t: the slot's inputs, actions, decision weights —
//! 1.0 where a task arrived — and, once the task has resolved, its reward credited to the
//! arrival slot by `endedge_credit`, eq. 18–19), the episodes' seeds, the totals.

use std::sync::Arc;

use crate::algo::rollout::{Field, Rollout, RolloutShape};
use crate::backend::{Backend, Buffer};
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::endedge::contract::EndedgeBatchEnv;
use crate::env::endedge::{EndedgeConfig, Heuristic, Stats};
use crate::error::Result;
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::rng;
use crate::tensor::Tensor;

/// B instances of `endedge` and the store of their current episode.
pub struct Episodes {
    /// The environments.
    pub env: EndedgeBatchEnv,
    /// Their output buffers (obs [B, D, 3 + E], state = Load(t) [B, C, E]).
    pub out: EnvBuffers,
    /// The episode: T rows × E = B·D terminals, inputs of `width` words.
    pub store: Rollout,
    /// Load(t) of every slot [T, B, C·E] (when kept).
    pub load: Option<Tensor>,
    /// The system.
    pub system: EndedgeConfig,
    /// B.
    pub instances: usize,
}

impl Episodes {
    /// `instances` instances of `system`, a store of inputs `width` words wide and, with
    /// `keep_load`, the Load(t) of every slot.
    pub fn new(
        be: &Arc<dyn Backend>,
        system: &EndedgeConfig,
        instances: usize,
        width: usize,
        keep_load: bool,
    ) -> Result<Self> {
        let env = EndedgeBatchEnv::new(be.clone(), system, instances)?;
        let (t, e) = (system.slots, instances * system.devices);
        let shape = RolloutShape { steps: t, envs: e, obs: width, action_mask: 0, hidden: None };
        shape.validate()?;
        let l = system.load_history * system.servers;
        Ok(Episodes {
            out: EnvBuffers::new(&**be, env.spec())?,
            env,
            store: Rollout::new(be, shape)?,
            load: if keep_load { Some(Tensor::zeros(be, &[t, instances, l])?) } else { None },
            system: system.clone(),
            instances,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }

    /// E = B·D terminals.
    pub fn agents(&self) -> usize {
        self.instances * self.system.devices
    }

    /// Start episode `k` (`test`: the test episodes) of a learner seeded `seed`.
    pub fn begin(&mut self, seed: u64, k: u64, test: bool) -> Result<()> {
        self.env.reset(rng::episode_seed(seed, k, test, rng::stream::CRBDRQN_EPISODES), &self.out)
    }

    /// Row t: the inputs `x` (E × width words) and, when kept, Load(t).
    pub fn put_inputs(&self, t: usize, x: &Buffer) -> Result<()> {
        self.store.put(Field::Obs, t, x)?;
        if let Some(load) = &self.load {
            let n = self.instances * self.system.load_history * self.system.servers;
            let p = CopyParams { d0: 1, d1: 1, d2: 1, n: n as u32, toff: (t * n) as u32, ..Default::default() };
            self.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), n as u32, &[&self.out.state, load.buffer()])?;
        }
        Ok(())
    }

    /// Slot t: store the actions and decision weights, step, credit the arrivals of slot
    /// t − τ (resolved by now, their ring entries not yet reused).
    pub fn step(&mut self, t: usize, action: &Buffer, weight: &Buffer) -> Result<()> {
        self.store.put(Field::Action, t, action)?;
        self.store.put(Field::Weight, t, weight)?;
        self.env.step(action, &self.out)?;
        let tau = self.system.deadline_slots as usize;
        if t >= tau {
            self.credit(t - tau)?;
        }
        Ok(())
    }

    /// Step without storing (tests, heuristics).
    pub fn step_only(&mut self, action: &Buffer) -> Result<()> {
        self.env.step(action, &self.out)
    }

    fn credit(&self, a: usize) -> Result<()> {
        self.env.inner().credit_into(a as u32, self.store.weight.buffer(), self.store.reward.buffer())
    }

    /// After the last slot: credit the arrivals not credited yet (pending ones as unfinished)
    /// and return the episode's totals (a download of the counters).
    pub fn finish(&self) -> Result<Stats> {
        let (t, tau) = (self.system.slots, self.system.deadline_slots as usize);
        for a in t.saturating_sub(tau)..t {
            self.credit(a)?;
        }
        self.env.inner().stats()
    }

    /// The totals so far of the current episode (tests).
    pub fn stats(&self) -> Result<Stats> {
        self.env.inner().stats()
    }

    /// A heuristic's actions for the current slot into `actions`.
    pub fn heuristic(&self, h: Heuristic, actions: &Buffer) -> Result<()> {
        self.env.heuristic(h, actions)
    }
}
