//! The online phase (Alg. 2): every edge node an agent acting with the shared actor on a batch of
//! `coop` instances; one update collects one episode of every instance (T + D − 1 slots × B·N
//! nodes) into the shared rollout core, with the team reward of the node's instance normalized
//! by the learner's fixed scale (Alg. 2 line 3), then runs GAE (eq. 13–15) and the shared PPO
//! update (eq. 16–19; `algo::ppo`) of the actor and V_ω.

use super::kernels::{O2oParams, O2O_TEAM};
use super::learner::{Nets, O2o, ONLINE_EPISODES};
use super::replay::RewardNorm;
use crate::algo::ppo::{self, Evaluated, PpoPolicy, PpoStats};
use crate::algo::rollout::{Field, Rollout, RolloutShape};
use crate::autograd::{Param, Tape};
use crate::env::coop::Stats;
use crate::error::{Error, Result};

/// One online update's figures.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct OnlineStats {
    /// Updates taken so far.
    pub update: u64,
    /// The training episodes' statistics (every instance, summed).
    pub stats: Stats,
    /// The PPO update's statistics.
    pub ppo: PpoStats,
}

struct Policy<'a> {
    nets: &'a Nets,
}

impl PpoPolicy for Policy<'_> {
    fn params(&self) -> Vec<Param> {
        self.nets.actor_critic()
    }

    fn evaluate(&self, tape: &Tape, r: &Rollout) -> Result<Evaluated> {
        let (t, e, f, a) = (r.shape.steps, r.shape.envs, r.shape.obs, r.shape.action_mask);
        let n = t * e;
        let x = tape.constant(&r.obs.reshape(&[1, n, f])?);
        let z = self.nets.actor.forward(tape, &x)?;
        let mask = r.action_mask.as_ref().map(|m| m.reshape(&[n, a])).transpose()?;
        let logp_all = tape.log_softmax(&tape.reshape(&z, &[n, a])?, mask.as_ref())?;
        let v = self.nets.critic.forward(tape, &x)?;
        Ok(Evaluated {
            logp: tape.gather(&logp_all, &r.action.reshape(&[n])?)?,
            entropy: tape.entropy(&logp_all)?,
            value: tape.reshape(&v, &[n])?,
        })
    }
}

impl O2o {
    /// The rollout of one update, made once: done on the last slot, every step valid, weight 1.
    fn rollout(&mut self) -> Result<Rollout> {
        if let Some(r) = &self.rollout {
            return Ok(r.clone());
        }
        let (t, e) = (self.system.episode_slots() as usize, self.cfg.instances * self.system.n_nodes);
        let shape = RolloutShape {
            steps: t,
            envs: e,
            obs: self.system.obs_dim(),
            action_mask: self.system.n_actions(),
            hidden: None,
        };
        let r = Rollout::new(self.backend(), shape)?;
        let mut done = vec![0u32; t * e];
        done[(t - 1) * e..].fill(1);
        r.done.backend().write(r.done.buffer(), &done)?;
        r.valid.backend().write(r.valid.buffer(), &vec![1u32; t * e])?;
        r.weight.fill(1.0)?;
        self.rollout = Some(r.clone());
        Ok(r)
    }

    /// One online update (Alg. 2 lines 2–8), `tick` after every slot.
    pub fn online_update(&mut self, tick: &mut dyn FnMut()) -> Result<OnlineStats> {
        let r = self.rollout()?;
        let be = self.backend().clone();
        let team = self.team.clone();
        let episode = ONLINE_EPISODES + self.online_update as u32;
        self.env.reseed_into(self.cfg.seed, episode, team.buffer())?;
        let norm = self.reward_norm.unwrap_or(RewardNorm::IDENTITY);
        let e = self.node_reward.numel();
        for t in 0..r.shape.steps {
            let tape = Tape::no_grad(&be);
            let (logp_all, action) = self.act(&tape, false)?;
            let logp = tape.gather(&logp_all, &action)?;
            let f = self.x.shape()[1];
            let v = self.nets.critic.forward(&tape, &tape.constant(&self.x.reshape(&[1, e, f])?))?;
            r.put(Field::Obs, t, self.x.buffer())?;
            r.put(Field::ActionMask, t, self.mask.buffer())?;
            r.put(Field::Action, t, action.buffer())?;
            r.put(Field::Logp, t, logp.value.buffer())?;
            r.put(Field::Value, t, v.value.buffer())?;
            self.env.step_with(action.buffer(), team.buffer())?;
            let p = O2oParams {
                k: e as u32,
                n: self.system.n_nodes as u32,
                scale: norm.scale,
                bias: norm.bias,
                ..Default::default()
            };
            be.launch(&O2O_TEAM, bytemuck::bytes_of(&p), e as u32, &[team.buffer(), self.node_reward.buffer()])?;
            r.put(Field::Reward, t, self.node_reward.buffer())?;
            tick();
        }
        if self.reward_norm.is_none() {
            // online-only with normalization: the first batch's (r − μ)/σ, fixed from here on
            let raw = r.reward.to_vec()?;
            let n = RewardNorm::of(&raw);
            r.reward.write(&raw.iter().map(|&x| n.apply(x)).collect::<Vec<_>>())?;
            self.reward_norm = Some(n);
        }
        let p = self.cfg.online.ppo.clone();
        r.advantages(p.gamma, p.lambda, p.returns)?;
        let policy = Policy { nets: &self.nets };
        let st = ppo::update(&p, &policy, &mut self.online_opt, &r, self.cfg.seed, self.online_update as u32)?;
        if !(st.loss.is_finite() && st.value_loss.is_finite()) {
            return Err(Error::config(
                "o2o.online.lr",
                self.cfg.online.lr,
                format!("the PPO losses are not finite at update {} (diverged): {st:?}", self.online_update),
            ));
        }
        self.online_update += 1;
        Ok(OnlineStats { update: self.online_update, stats: Stats::sum(&self.env.stats()?), ppo: st })
    }
}
