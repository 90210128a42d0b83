//! What every `endedge` learner does with its environments: B instances stepped together, an
//! episode store on the rollout core (row t: the slot's inputs, actions, decision weights —
//! 1.0 where a task arrived — and, once the task has resolved, its reward credited to the
//! arrival slot by `endedge_credit`, eq. 18–19), the episodes' seeds, the totals.

use std::sync::Arc;

use crate::algo::mappo::kernels::{ActParams, MAPPO_ACT};
use crate::algo::rollout::{Field, Rollout, RolloutShape};
use crate::autograd::Tape;
use crate::backend::{Backend, Buffer};
use crate::env::contract::{BatchEnv, EnvBuffers};
use crate::env::endedge::contract::EndedgeBatchEnv;
use crate::env::endedge::{EndedgeConfig, Heuristic, Stats};
use crate::error::{Error, Result};
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
    /// The slot's actions \[E\] u32 (every terminal; without a task the environment ignores it).
    pub action: Tensor,
    /// The slot's decision weights \[E\]: 1.0 where a task arrived.
    pub weight: Tensor,
    random: Tensor,
    explored: Tensor,
    mean_w: Tensor,
    obs_t: Tensor,
}

/// How [`Episodes::act`] picks an action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pick {
    /// The first candidate (greedy, or the actor's sample).
    Own,
    /// ε-greedy: the Random heuristic's action with probability ε (Philox key, decision number;
    /// `mappo_act`'s rule 2).
    Epsilon(f32, [u32; 2], u32),
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
        let d = system.devices;
        Ok(Episodes {
            action: Tensor::zeros_u32(be, &[e])?,
            weight: Tensor::zeros(be, &[e])?,
            random: Tensor::zeros_u32(be, &[e])?,
            explored: Tensor::zeros(be, &[e])?,
            mean_w: Tensor::from_f32(be, &[instances, 1, d], &vec![1.0 / d as f32; e])?,
            obs_t: Tensor::zeros(be, &[instances, d, 3 + system.servers])?,
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

    /// The current slot's input rows into `x` [E, W]: each terminal's observation (F words),
    /// Load(t) (C·E words, its instance's) and, when W leaves room, the instance's mean
    /// observation (F words: (1/D)·1ᵀ·obs, one grouped product per instance).
    pub fn inputs_into(&self, x: &Tensor) -> Result<()> {
        let be = self.backend().clone();
        let (b, d, s) = (self.instances, self.system.devices, self.system.servers);
        let (f, l, w) = (3 + s, self.system.load_history * s, x.shape()[1]);
        let e = b * d;
        if x.shape()[0] != e || (w != f + l && w != 2 * f + l) {
            return Err(Error::shape(
                "Episodes::inputs_into",
                format!("[{e}, {}] or [{e}, {}]", f + l, 2 * f + l),
                format!("{:?}", x.shape()),
            ));
        }
        let launch = |p: CopyParams, src: &Buffer| {
            be.launch(&GLUE_COPY, bytemuck::bytes_of(&p), p.count() as u32, &[src, x.buffer()])
        };
        let obs =
            CopyParams { d0: e as u32, d1: 1, d2: 1, n: f as u32, s0: f as u32, t0: w as u32, ..Default::default() };
        launch(obs, &self.out.obs)?;
        let spread = |n: usize, toff: usize| CopyParams {
            d0: b as u32,
            d1: d as u32,
            d2: 1,
            n: n as u32,
            s0: n as u32,
            s1: 0,
            t0: (d * w) as u32,
            t1: w as u32,
            toff: toff as u32,
            ..Default::default()
        };
        launch(spread(l, f), &self.out.state)?;
        if w == 2 * f + l {
            let tape = Tape::no_grad(&be);
            let p = CopyParams { d0: 1, d1: 1, d2: 1, n: (e * f) as u32, ..Default::default() };
            be.launch(&GLUE_COPY, bytemuck::bytes_of(&p), (e * f) as u32, &[&self.out.obs, self.obs_t.buffer()])?;
            let m = tape.linear(&tape.constant(&self.mean_w), &tape.constant(&self.obs_t), None)?;
            launch(spread(f, f + l), m.value.buffer())?;
        }
        Ok(())
    }

    /// The slot's actions into [`Episodes::action`] from the first candidates `first` \[E\]
    /// (`scores` [E, A] their Q-values or log-probabilities) by `pick`, and the decision
    /// weights into [`Episodes::weight`] (from column 0 of the input rows `x`, η > 0).
    pub fn act(&self, scores: &Tensor, first: &Tensor, x: &Tensor, pick: Pick) -> Result<()> {
        let e = self.agents();
        let mut p = ActParams {
            rows: e as u32,
            cols: scores.shape()[1] as u32,
            obs_width: x.shape()[1] as u32,
            ..Default::default()
        };
        if let Pick::Epsilon(epsilon, key, step) = pick {
            self.heuristic(Heuristic::Random, self.random.buffer())?;
            p = ActParams { mix: 2, epsilon, key0: key[0], key1: key[1], step, ..p };
        }
        let bufs = [
            scores.buffer(),
            first.buffer(),
            self.random.buffer(),
            x.buffer(),
            self.action.buffer(),
            self.explored.buffer(),
            self.weight.buffer(),
        ];
        self.backend().launch(&MAPPO_ACT, bytemuck::bytes_of(&p), e as u32, &bufs)
    }

    /// Slot t: store the actions and decision weights, step, credit the arrivals of slot
    /// t − τ (resolved by now, their ring entries not yet reused).
    pub fn step(&mut self, t: usize) -> Result<()> {
        self.store.put(Field::Action, t, self.action.buffer())?;
        self.store.put(Field::Weight, t, self.weight.buffer())?;
        self.env.step(self.action.buffer(), &self.out)?;
        let tau = self.system.deadline_slots as usize;
        if t >= tau {
            self.credit(t - tau)?;
        }
        Ok(())
    }

    /// Step with [`Episodes::action`] without storing (test episodes).
    pub fn step_only(&mut self) -> Result<()> {
        self.env.step(self.action.buffer(), &self.out)
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
