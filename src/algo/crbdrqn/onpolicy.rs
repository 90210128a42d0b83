//! The on-policy baselines of the CRB-DRQN paper (§5.2): the decentralized actor-critic (every
//! terminal its own actor and critic, K = D networks of one grouped ensemble, each trained on
//! its own decisions) and MAPPO (one actor shared by the terminals and a critic that also
//! reads the instance's mean observation). Both act by sampling their actor each slot; at an
//! episode's end its decisions, rewards credited to their arrival slots, are compacted per
//! terminal ([`Rollout::compact`]: a terminal's consecutive decisions are its steps), GAE runs
//! over them and the shared PPO update trains (`algo::ppo`; Decentralized with one epoch, the
//! advantage actor-critic step). Inputs: (η, μ^comp, μ^tran, q_{d,1..E}, Load(t) flattened),
//! MAPPO's critic also the instance's mean of the first part. Decisions: docs/crbdrqn.md.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::{CrbDrqnConfig, Method};
use super::episodes::{Episodes, Pick};
use super::learner::EpisodeStats;
use crate::algo::ppo::{self, Evaluated, PpoConfig, PpoPolicy};
use crate::algo::rollout::Rollout;
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::env::endedge::{EndedgeConfig, Stats};
use crate::error::{Error, Result};
use crate::nn::checkpoint::{insert_groups, restore_group, Checkpoint};
use crate::nn::mlp::Mlp;
use crate::nn::optim::{OptimConfig, Optimizer};
use crate::ops::act::Act;
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::tensor::Tensor;

/// The counters a checkpoint records beside the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Progress {
    method: Method,
    config: CrbDrqnConfig,
    system: EndedgeConfig,
    episode: u64,
    decision: u32,
}

/// The actor and critic, K networks each (K = D: one per terminal; K = 1: shared).
pub struct ActorCritic {
    /// π: input → hidden → hidden → 1 + E logits.
    pub actor: Mlp,
    /// V: critic input → hidden → hidden → 1.
    pub critic: Mlp,
    /// K.
    pub k: usize,
    /// Width of the actor's input (the first columns of a stored row).
    pub actor_in: usize,
    /// Width of a stored row (the critic's input).
    pub width: usize,
}

impl ActorCritic {
    /// Run the actor and critic over `x` [N, width] (N = R·E rows, terminals innermost with D
    /// per instance): logits [N, A] and values \[N\].
    pub fn forward(&self, tape: &Tape, x: &Tensor, d: usize) -> Result<(Var, Var)> {
        let n = x.shape()[0];
        let be = tape.backend();
        let xa = if self.actor_in == self.width {
            x.clone()
        } else {
            // the actor's columns of every row (a constant input: a plain copy)
            let y = Tensor::output(be, &[n, self.actor_in])?;
            let p = CopyParams {
                d0: n as u32,
                d1: 1,
                d2: 1,
                n: self.actor_in as u32,
                s0: self.width as u32,
                t0: self.actor_in as u32,
                ..Default::default()
            };
            be.launch(&GLUE_COPY, bytemuck::bytes_of(&p), (n * self.actor_in) as u32, &[x.buffer(), y.buffer()])?;
            y
        };
        let group = |v: &Tensor, w: usize| -> Result<Var> {
            let c = tape.constant(v);
            if self.k == 1 {
                tape.reshape(&c, &[1, n, w])
            } else {
                // rows (r, terminal) → the terminal's network: [R, D, w] → [D, R, w]
                tape.swap01(&c, n / d, d)
            }
        };
        let ungroup = |v: &Var, w: usize| -> Result<Var> {
            if self.k == 1 {
                tape.reshape(v, &[n, w])
            } else {
                let back = tape.swap01(v, d, n / d)?;
                tape.reshape(&back, &[n, w])
            }
        };
        let logits = self.actor.forward(tape, &group(&xa, self.actor_in)?)?;
        let a = logits.shape()[2];
        let value = self.critic.forward(tape, &group(x, self.width)?)?;
        Ok((ungroup(&logits, a)?, tape.reshape(&ungroup(&value, 1)?, &[n])?))
    }

    /// Every parameter, actor first.
    pub fn params(&self) -> Vec<Param> {
        let mut p = self.actor.params();
        p.extend(self.critic.params());
        p
    }
}

struct Policy<'a> {
    net: &'a ActorCritic,
    d: usize,
}

impl PpoPolicy for Policy<'_> {
    fn params(&self) -> Vec<Param> {
        self.net.params()
    }

    fn evaluate(&self, tape: &Tape, r: &Rollout) -> Result<Evaluated> {
        let (t, e, w) = (r.shape.steps, r.shape.envs, r.shape.obs);
        let n = t * e;
        let (logits, value) = self.net.forward(tape, &r.obs.reshape(&[n, w])?, self.d)?;
        let logp_all = tape.log_softmax(&logits, None)?;
        Ok(Evaluated {
            logp: tape.gather(&logp_all, &r.action.reshape(&[n])?)?,
            entropy: tape.entropy(&logp_all)?,
            value,
        })
    }
}

/// A Decentralized or MAPPO learner and its environments.
pub struct OnPolicy {
    /// Which.
    pub method: Method,
    /// The configuration (`baseline` holds these learners' part).
    pub cfg: CrbDrqnConfig,
    /// The system.
    pub system: EndedgeConfig,
    /// The networks.
    pub net: ActorCritic,
    opt: Optimizer,
    ep: Episodes,
    x: Tensor,
    /// Episodes trained.
    pub episode: u64,
    decision: u32,
}

impl OnPolicy {
    /// A fresh learner of `method` (Decentralized or MAPPO) over `cfg.instances` instances.
    pub fn new(be: &Arc<dyn Backend>, method: Method, cfg: &CrbDrqnConfig, system: &EndedgeConfig) -> Result<Self> {
        cfg.validate()?;
        system.validate()?;
        let (d, s) = (system.devices, system.servers);
        let f = 3 + s;
        let actor_in = f + system.load_history * s;
        let (k, width) = match method {
            Method::Decentralized => (d, actor_in),
            Method::Mappo => (1, actor_in + f),
            other => return Err(Error::config("method", other.name(), "is not an on-policy baseline")),
        };
        let b = cfg.instances;
        let ep = Episodes::new(be, system, b, width, false)?;
        let [h1, h2] = cfg.baseline.hidden;
        let seed = cfg.seed ^ 0xBA5E;
        let actor = Mlp::new(be, &[actor_in, h1, h2, 1 + s], k, Act::Relu, None, seed)?.with_prefix("actor");
        let critic = Mlp::new(be, &[width, h1, h2, 1], k, Act::Relu, None, seed ^ 0xC0)?.with_prefix("critic");
        let net = ActorCritic { actor, critic, k, actor_in, width };
        let opt = Optimizer::new(OptimConfig::adam(cfg.baseline.lr), &net.params())?;
        let e = b * d;
        Ok(OnPolicy {
            method,
            x: Tensor::zeros(be, &[e, width])?,
            net,
            opt,
            ep,
            cfg: cfg.clone(),
            system: system.clone(),
            episode: 0,
            decision: 0,
        })
    }

    fn be(&self) -> &Arc<dyn Backend> {
        self.ep.backend()
    }

    /// The PPO settings of this method.
    fn ppo(&self) -> PpoConfig {
        let p = self.cfg.baseline.ppo.clone();
        match self.method {
            Method::Decentralized => PpoConfig { epochs: 1, minibatches: 1, ..p },
            _ => p,
        }
    }

    /// One slot's actions sampled from the actor (every terminal; the environment ignores the
    /// ones without a task) into `action`, their weights (1.0 with a task) into `weight`, and
    /// the rollout's log π and V of row `t` when `t` is given.
    fn act(&mut self, store_row: Option<usize>) -> Result<()> {
        let be = self.be().clone();
        self.ep.inputs_into(&self.x)?;
        let tape = Tape::no_grad(&be);
        let (logits, value) = self.net.forward(&tape, &self.x, self.system.devices)?;
        let logp_all = tape.log_softmax(&logits, None)?;
        self.decision = self.decision.wrapping_add(1);
        let sampled = tape.sample(&logp_all, self.cfg.seed ^ 0x5A, self.decision)?;
        // the sample itself; the weight from column 0 (η > 0: a task arrived)
        self.ep.act(&logp_all.value, &sampled, &self.x, Pick::Own)?;
        if let Some(t) = store_row {
            use crate::algo::rollout::Field;
            let logp = tape.gather(&logp_all, &self.ep.action)?;
            self.ep.store.put(Field::Logp, t, logp.value.buffer())?;
            self.ep.store.put(Field::Value, t, value.value.buffer())?;
        }
        Ok(())
    }

    /// One training episode and its update; `tick` after each slot.
    pub fn train_episode(&mut self, tick: &mut dyn FnMut()) -> Result<EpisodeStats> {
        self.ep.begin(self.cfg.seed, self.episode, false)?;
        for t in 0..self.system.slots {
            self.act(Some(t))?;
            self.ep.put_inputs(t, self.x.buffer())?;
            self.ep.step(t)?;
            tick();
        }
        let stats = self.ep.finish()?;
        let r = self.ep.store.compact()?;
        let p = self.ppo();
        r.advantages(p.gamma, p.lambda, p.returns)?;
        let policy = Policy { net: &self.net, d: self.system.devices };
        let st = ppo::update(&p, &policy, &mut self.opt, &r, self.cfg.seed, self.episode as u32)?;
        self.episode += 1;
        Ok(EpisodeStats { episode: self.episode - 1, epsilon: 0.0, stats, loss: st.loss, pool: 0 })
    }

    /// Test episodes `0..episodes`: the actor sampled as in training, nothing learned.
    pub fn test(&mut self, episodes: u64, tick: &mut dyn FnMut()) -> Result<Stats> {
        let mut total = Stats::default();
        let decision = self.decision;
        for k in 0..episodes {
            self.ep.begin(self.cfg.seed, k, true)?;
            for _ in 0..self.system.slots {
                self.act(None)?;
                self.ep.step_only()?;
                tick();
            }
            total.add(&self.ep.stats()?);
        }
        self.decision = decision;
        Ok(total)
    }

    fn progress(&self) -> Progress {
        Progress {
            method: self.method,
            config: self.cfg.clone(),
            system: self.system.clone(),
            episode: self.episode,
            decision: self.decision,
        }
    }

    /// Save the networks, the optimizer and the counters (between episodes).
    pub fn save(&self, path: &Path) -> Result<()> {
        let p = self.net.params();
        let mut c = Checkpoint::default();
        insert_groups(&mut c, &[(&p, &[("opt", &self.opt)])], &self.progress())?;
        c.save(path)
    }

    /// Restore what [`OnPolicy::save`] wrote; another configuration's checkpoint is refused.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let c = Checkpoint::load(path)?;
        let json = c.metadata.get("config").cloned().unwrap_or_default();
        let p: Progress = serde_json::from_str(&json).map_err(|e| {
            Error::input("checkpoint.config", 0, path.display(), format!("not a baseline checkpoint: {e}"))
        })?;
        if (p.method, &p.config, &p.system) != (self.method, &self.cfg, &self.system) {
            return Err(Error::config(
                "checkpoint",
                path.display(),
                "was written by another configuration (method, crbdrqn or endedge); remove it or use another run directory",
            ));
        }
        let params = self.net.params();
        restore_group(&c, path, &params, &mut [("opt", &mut self.opt)])?;
        self.episode = p.episode;
        self.decision = p.decision;
        Ok(())
    }
}
