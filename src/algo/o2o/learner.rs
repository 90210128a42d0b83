//! The O2O-DRL learner: the networks every node shares (§IV-C2: the one-hot node index in the
//! observation tells nodes apart) — twin Qs Q_φ1, Q_φ2 (one grouped pair) and their targets,
//! the actor π_θ (a masked softmax over the N + 1 actions) and the critic V_ω — the offline
//! phase ([`super::offline`]), the online phase ([`super::online`]), acting on a batch of `coop`
//! instances, and checkpoints that resume bit-identically.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::O2oConfig;
use super::replay::RewardNorm;
use crate::algo::rollout::Rollout;
use crate::autograd::{Param, Tape};
use crate::backend::Backend;
use crate::env::coop::{CoopConfig, CoopEnv, Stats};
use crate::error::{Error, Result};
use crate::nn::checkpoint::{insert_groups, restore_group, Checkpoint};
use crate::nn::mlp::Mlp;
use crate::nn::optim::{OptimConfig, Optimizer};
use crate::ops::act::Act;
use crate::tensor::Tensor;

/// The episodes of the learner's `coop` instances (all under the seed `o2o.seed`, so with
/// `coop.fixed_network` one edge network throughout): task logs use 0..1024, online update k
/// episode `ONLINE_EPISODES + k`, evaluations and tests `TEST_EPISODES..`.
pub const ONLINE_EPISODES: u32 = 1024;
/// The first evaluation and test episode.
pub const TEST_EPISODES: u32 = 61_440;

/// The counters a checkpoint records beside the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Progress {
    pub config: O2oConfig,
    pub system: CoopConfig,
    pub offline_step: u64,
    pub online_update: u64,
    pub reward_norm: Option<RewardNorm>,
    pub decision: u32,
}

/// The shared networks.
pub struct Nets {
    /// π_θ: F → h → h → A logits.
    pub actor: Mlp,
    /// V_ω: F → h → h → 1.
    pub critic: Mlp,
    /// Q_φ1, Q_φ2 as one grouped pair: [2, R, F] → [2, R, A].
    pub q: Mlp,
    /// Q̄_φ1, Q̄_φ2 (start as copies of the Qs).
    pub q_target: Mlp,
}

impl Nets {
    fn new(be: &Arc<dyn Backend>, f: usize, a: usize, hidden: [usize; 2], seed: u64) -> Result<Self> {
        let [h1, h2] = hidden;
        let mlp = |out: usize, k: usize, s: u64, name: &str| -> Result<Mlp> {
            Ok(Mlp::new(be, &[f, h1, h2, out], k, Act::Relu, None, s)?.with_prefix(name))
        };
        Ok(Nets {
            actor: mlp(a, 1, seed ^ 0xA1, "actor")?,
            critic: mlp(1, 1, seed ^ 0xC1, "critic")?,
            q: mlp(a, 2, seed ^ 0x51, "q")?,
            // the same seed: the targets start equal to the Qs (Alg. 1's input line)
            q_target: mlp(a, 2, seed ^ 0x51, "q_target")?,
        })
    }

    /// Actor and critic (what the online phase trains).
    pub fn actor_critic(&self) -> Vec<Param> {
        let mut p = self.actor.params();
        p.extend(self.critic.params());
        p
    }

    /// Actor, critic and the Qs (what the offline phase trains).
    pub fn trained_offline(&self) -> Vec<Param> {
        let mut p = self.actor_critic();
        p.extend(self.q.params());
        p
    }
}

/// An O2O-DRL learner over `cfg.instances` instances of a `coop` system.
pub struct O2o {
    /// The configuration.
    pub cfg: O2oConfig,
    /// The system.
    pub system: CoopConfig,
    /// The networks.
    pub nets: Nets,
    pub(super) offline_opt: Optimizer,
    pub(super) online_opt: Optimizer,
    /// The reward normalization (r − μ)/σ, once known (offline: the log's; online-only: the
    /// first online batch's); the identity without normalization.
    pub reward_norm: Option<RewardNorm>,
    /// Offline gradient steps taken.
    pub offline_step: u64,
    /// Online updates taken.
    pub online_update: u64,
    /// The action-sampling counter (Philox step word).
    pub(super) decision: u32,
    pub(super) env: CoopEnv,
    pub(super) rollout: Option<Rollout>,
    pub(super) x: Tensor,
    pub(super) mask: Tensor,
    pub(super) team: Tensor,
    pub(super) node_reward: Tensor,
}

impl O2o {
    /// A fresh learner: networks initialized from `cfg.seed`, `cfg.instances` instances.
    pub fn new(be: &Arc<dyn Backend>, cfg: &O2oConfig, system: &CoopConfig) -> Result<Self> {
        cfg.validate()?;
        system.validate()?;
        let (n, b) = (system.n_nodes, cfg.instances);
        let (f, a) = (system.obs_dim(), system.n_actions());
        let nets = Nets::new(be, f, a, cfg.hidden, cfg.seed)?;
        let offline_opt = Optimizer::new(OptimConfig::adam(cfg.offline.lr), &nets.trained_offline())?;
        let online_opt = Optimizer::new(OptimConfig::adam(cfg.online.lr), &nets.actor_critic())?;
        let env = CoopEnv::new(be.clone(), system, b, cfg.seed)?;
        let e = b * n;
        Ok(O2o {
            reward_norm: (!cfg.normalize_rewards).then_some(RewardNorm::IDENTITY),
            x: Tensor::zeros(be, &[e, f])?,
            mask: Tensor::zeros_u32(be, &[e, a])?,
            team: Tensor::zeros(be, &[b])?,
            node_reward: Tensor::zeros(be, &[e])?,
            nets,
            offline_opt,
            online_opt,
            offline_step: 0,
            online_update: 0,
            decision: 0,
            env,
            rollout: None,
            cfg: cfg.clone(),
            system: system.clone(),
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.env.backend()
    }

    /// Observe the current slot, then sample every node's action from the masked actor into
    /// `self.env.act`; returns (log π of all actions [E, A], the actions \[E\]) of the tape.
    pub(super) fn act(&mut self, tape: &Tape, greedy: bool) -> Result<(crate::autograd::Var, Tensor)> {
        self.env.observe_into(self.x.buffer(), self.mask.buffer())?;
        let e = self.x.shape()[0];
        let a = self.system.n_actions();
        let z = self.nets.actor.forward(tape, &tape.constant(&self.x.reshape(&[1, e, self.x.shape()[1]])?))?;
        let logp = tape.log_softmax(&tape.reshape(&z, &[e, a])?, Some(&self.mask))?;
        self.decision = self.decision.wrapping_add(1);
        let action =
            if greedy { tape.argmax(&logp)? } else { tape.sample(&logp, self.cfg.seed ^ 0xAC7, self.decision)? };
        Ok((logp, action))
    }

    /// Run the evaluation episodes `TEST_EPISODES + first ..` (`episodes` of them, every
    /// instance) with the actor sampling every decision; nothing is learned and the training
    /// counters are kept. Returns the statistics of every episode and instance (episode-major).
    pub fn evaluate(&mut self, first: u32, episodes: u32, tick: &mut dyn FnMut()) -> Result<Vec<Stats>> {
        if first as u64 + episodes as u64 > (65_536 - TEST_EPISODES) as u64 {
            return Err(Error::config("o2o.eval_episodes", episodes, "evaluations have 4096 episodes"));
        }
        let saved = self.decision;
        self.decision = 0x8000_0000;
        let mut all = vec![];
        let team = self.team.clone();
        for k in 0..episodes {
            self.env.reseed_into(self.cfg.seed, TEST_EPISODES + first + k, team.buffer())?;
            while !self.env.done() {
                let tape = Tape::no_grad(self.backend());
                let (_, action) = self.act(&tape, self.cfg.greedy_eval)?;
                self.env.step_with(action.buffer(), team.buffer())?;
                tick();
            }
            all.extend(self.env.stats()?);
        }
        self.decision = saved;
        Ok(all)
    }

    fn progress(&self) -> Progress {
        Progress {
            config: self.cfg.clone(),
            system: self.system.clone(),
            offline_step: self.offline_step,
            online_update: self.online_update,
            reward_norm: self.reward_norm,
            decision: self.decision,
        }
    }

    /// Save the networks (targets included), both optimizers and the counters.
    pub fn save(&self, path: &Path) -> Result<()> {
        let (off, on, tq) = (self.nets.trained_offline(), self.nets.actor_critic(), self.nets.q_target.params());
        let mut c = Checkpoint::default();
        let groups: [crate::nn::checkpoint::Group; 3] =
            [(&off, &[("offline", &self.offline_opt)]), (&on, &[("online", &self.online_opt)]), (&tq, &[])];
        insert_groups(&mut c, &groups, &self.progress())?;
        c.save(path)
    }

    /// Restore what [`O2o::save`] wrote; another configuration's checkpoint is refused.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let c = Checkpoint::load(path)?;
        let json = c.metadata.get("config").cloned().unwrap_or_default();
        let p: Progress = serde_json::from_str(&json).map_err(|e| {
            Error::input("checkpoint.config", 0, path.display(), format!("not an O2O-DRL checkpoint: {e}"))
        })?;
        if (&p.config, &p.system) != (&self.cfg, &self.system) {
            return Err(Error::config(
                "checkpoint",
                path.display(),
                "was written by another configuration (o2o or coop); remove it or use another run directory",
            ));
        }
        let (off, on) = (self.nets.trained_offline(), self.nets.actor_critic());
        restore_group(&c, path, &off, &mut [("offline", &mut self.offline_opt)])?;
        restore_group(&c, path, &on, &mut [("online", &mut self.online_opt)])?;
        restore_group(&c, path, &self.nets.q_target.params(), &mut [])?;
        self.offline_step = p.offline_step;
        self.online_update = p.online_update;
        self.reward_norm = p.reward_norm;
        self.decision = p.decision;
        Ok(())
    }
}
