//! B instances of the crowd-edge system on a backend; every buffer stays on the device.
//!
//! One slot: [`CrowdEnv::begin_slot`] (arrivals, MD capacities, observations), then actions from
//! the host ([`CrowdEnv::act`], checked) or a device buffer / the heuristic kernel
//! ([`CrowdEnv::act_policy`]), then [`CrowdEnv::end_slot`] (loads, outcomes, reward, queues).

use std::sync::Arc;

use super::config::{count, metric, CrowdConfig, CrowdParams, Policy, Topology};
use super::cpu::dims;
use crate::backend::{download_f32, Backend, Buffer, KernelSpec};
use crate::env::crowd::kernels::{
    CROWD_FINISH, CROWD_LOAD, CROWD_OBSERVE, CROWD_OUTCOME, CROWD_POLICY, CROWD_RESET, CROWD_STATE, CROWD_TASKS,
};
use crate::error::{Error, Result};

/// The batched environment.
pub struct CrowdEnv {
    backend: Arc<dyn Backend>,
    cfg: CrowdConfig,
    topo: Topology,
    params: CrowdParams,
    /// [S + 1] cell offsets.
    pub cell_off: Buffer,
    /// [B, N] slots to the next arrival event.
    pub ctl: Buffer,
    /// [B, N, 3] this slot's (K, s units, o MB) per user.
    pub task: Buffer,
    /// [B, N] MD capacities F_j(t) (Hz).
    pub cap: Buffer,
    /// [B, U] backlogs Q_u (cycles).
    pub q: Buffer,
    /// [B, L] virtual queues V_l (bits).
    pub v: Buffer,
    /// [B, N, 3 + 3A] observations.
    pub obs: Buffer,
    /// [B, N] actions (slot · R + level).
    pub action: Buffer,
    /// [B, N] the heuristic's estimated cost f′ (22) of its action.
    pub est: Buffer,
    /// [B, U + L] per-unit demand and per-link requested rate of the slot.
    pub load: Buffer,
    /// [B, N, 2] (E, cost) per agent.
    pub out: Buffer,
    /// \[B\] reward (13).
    pub reward: Buffer,
    /// [B, 16] slot metrics ([`metric`]).
    pub slot: Buffer,
    /// [B, 8] cumulative accounting ([`count`]).
    pub counts: Buffer,
}

fn self_servers(p: &CrowdParams) -> u64 {
    p.s as u64
}

impl CrowdEnv {
    /// `batch` instances of `cfg`, Philox `seed`; starts reset.
    pub fn new(backend: Arc<dyn Backend>, cfg: &CrowdConfig, batch: usize, seed: u64) -> Result<Self> {
        let topo = cfg.topology()?;
        if batch == 0 {
            return Err(Error::config("batch", batch, "must be >= 1"));
        }
        let params = cfg.params(&topo, batch, seed, Policy::Dpp);
        let (b, n, u, l, _, w) = dims(&params);
        let words = [b * n * w, b * (u + l), b * n * 3];
        if batch > u32::MAX as usize || words.iter().any(|&x| x >= u32::MAX as usize) {
            return Err(Error::config("batch", batch, "batch·users·(3 + 3A) must fit in 32-bit indexing"));
        }
        if let Some(limit) = backend.max_loop_iterations() {
            // crowd_finish loops over N agents (each decoding its cell in up to S steps), U units
            // and L links; edge and cloud load sums scan every agent the same way.
            let s = self_servers(&params);
            let work = n as u64 * (s + 2) + (u + l) as u64 + 64;
            if work > limit {
                return Err(Error::config(
                    "crowd.cluster_sizes",
                    n,
                    format!(
                        "the kernels would loop ~{work} times per invocation, beyond this driver's silent \
                         limit of {limit} (lavapipe); use the cpu backend or a hardware GPU"
                    ),
                ));
            }
        }
        let be = &*backend;
        let mut env = CrowdEnv {
            cell_off: be.upload(&topo.cell_off)?,
            ctl: be.alloc(b * n)?,
            task: be.alloc(b * n * 3)?,
            cap: be.alloc(b * n)?,
            q: be.alloc(b * u)?,
            v: be.alloc(b * l)?,
            obs: be.alloc(b * n * w)?,
            action: be.alloc(b * n)?,
            est: be.alloc(b * n)?,
            load: be.alloc(b * (u + l))?,
            out: be.alloc(b * n * 2)?,
            reward: be.alloc(b)?,
            slot: be.alloc(b * metric::WIDTH)?,
            counts: be.alloc(b * count::WIDTH)?,
            cfg: cfg.clone(),
            topo,
            params,
            backend,
        };
        env.reset()?;
        Ok(env)
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    /// The config.
    pub fn config(&self) -> &CrowdConfig {
        &self.cfg
    }
    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }
    /// The parameter block (the `step` word is the running slot counter).
    pub fn params(&self) -> &CrowdParams {
        &self.params
    }
    /// B.
    pub fn batch(&self) -> usize {
        self.params.b as usize
    }
    /// N, agents per instance.
    pub fn agents(&self) -> usize {
        self.params.n as usize
    }
    /// Actions per agent: A · R.
    pub fn n_actions(&self) -> usize {
        self.topo.targets() * self.params.r as usize
    }

    fn launch(&self, id: &'static KernelSpec, threads: usize, bufs: &[&Buffer]) -> Result<()> {
        self.backend.launch(id, bytemuck::bytes_of(&self.params), threads as u32, bufs)
    }

    /// Empty queues, fresh arrival countdowns, zero counts. The slot counter runs on, so every
    /// episode draws new tasks.
    pub fn reset(&mut self) -> Result<()> {
        let (b, _, u, l, ..) = dims(&self.params);
        self.launch(&CROWD_RESET, b * (u + l), &[&self.ctl, &self.q, &self.v, &self.counts])?;
        self.params.step = self.params.step.wrapping_add(1);
        Ok(())
    }

    /// Arrivals and MD capacities of the slot (no observations: for actions that need none).
    pub fn arrivals(&self) -> Result<()> {
        let (b, n, ..) = dims(&self.params);
        self.launch(&CROWD_TASKS, b * n, &[&self.ctl, &self.task, &self.cap])
    }

    /// Arrivals and MD capacities of the slot, then the observations.
    pub fn begin_slot(&self) -> Result<()> {
        self.begin_slot_into(&self.obs)
    }

    /// [`Self::begin_slot`] with the observations written into `obs` [B, N, 3 + 3A].
    pub fn begin_slot_into(&self, obs: &Buffer) -> Result<()> {
        let (b, n, ..) = dims(&self.params);
        self.arrivals()?;
        self.launch(&CROWD_OBSERVE, b * n, &[&self.cell_off, &self.task, &self.cap, &self.q, &self.v, obs])
    }

    /// Width of the global state the critics read: U + L + N ([`super::model::state_feature`]).
    pub fn state_width(&self) -> usize {
        super::model::state_width(&self.params) as usize
    }

    /// The global state s = {Q_u, V_l, F_u} of the slot [B, U + L + N] into `state` (after
    /// [`Self::begin_slot`]: this slot's MD capacities, the backlogs and queues it starts with).
    pub fn state_into(&self, state: &Buffer) -> Result<()> {
        let w = self.state_width();
        self.launch(&CROWD_STATE, self.batch() * w, &[&self.cap, &self.q, &self.v, state])
    }

    /// The heuristic `policy` decides every agent's action from its observation (fills
    /// [`Self::action`] and [`Self::est`]).
    pub fn act_policy(&mut self, policy: Policy) -> Result<()> {
        self.params.policy = policy.code();
        self.launch(&CROWD_POLICY, self.batch() * self.agents(), &[&self.obs, &self.action, &self.est])
    }

    /// The heuristic `policy`'s actions [B, N] from the observations `obs` into `action`.
    pub fn policy_into(&mut self, policy: Policy, obs: &Buffer, action: &Buffer) -> Result<()> {
        self.params.policy = policy.code();
        self.launch(&CROWD_POLICY, self.batch() * self.agents(), &[obs, action, &self.est])
    }

    /// Back to step 0 of the Philox stream of `seed` (a new episode sequence), then [`Self::reset`].
    pub fn reseed(&mut self, seed: u64) -> Result<()> {
        let policy = self.params.policy;
        self.params = self.cfg.params(&self.topo, self.batch(), seed, Policy::Dpp);
        self.params.policy = policy;
        self.reset()
    }

    /// Actions from the host: B·N values in 0..A·R (checked; an invalid one is an error).
    pub fn act(&self, actions: &[u32]) -> Result<()> {
        let (b, n, ..) = dims(&self.params);
        if actions.len() != b * n {
            return Err(Error::shape("CrowdEnv::act actions", b * n, actions.len()));
        }
        let m = self.n_actions() as u32;
        if let Some(i) = actions.iter().position(|&a| a >= m) {
            return Err(Error::input("action", i, actions[i], format!("must be < A·R = {m}")));
        }
        self.backend.write(&self.action, actions)
    }

    /// Loads, outcomes, reward and queue updates with the actions in [`Self::action`] (an invalid
    /// device action refuses its agent's tasks and makes its instance's reward NaN).
    pub fn end_slot(&mut self) -> Result<()> {
        let (action, reward, slot) = (&self.action, &self.reward, &self.slot);
        self.end_slot_launches(action, reward, slot)?;
        self.params.step = self.params.step.wrapping_add(1);
        Ok(())
    }

    /// [`Self::end_slot`] with the actions read from `action` [B, N] and the reward \[B\] and slot
    /// metrics [B, 16] written into `reward` and `slot`.
    pub fn end_slot_with(&mut self, action: &Buffer, reward: &Buffer, slot: &Buffer) -> Result<()> {
        self.end_slot_launches(action, reward, slot)?;
        self.params.step = self.params.step.wrapping_add(1);
        Ok(())
    }

    fn end_slot_launches(&self, action: &Buffer, reward: &Buffer, slot: &Buffer) -> Result<()> {
        let (b, n, u, l, ..) = dims(&self.params);
        self.launch(&CROWD_LOAD, b * (u + l), &[&self.cell_off, &self.task, action, &self.load])?;
        self.launch(
            &CROWD_OUTCOME,
            b * n,
            &[&self.cell_off, &self.task, &self.cap, &self.q, action, &self.load, &self.out],
        )?;
        self.launch(
            &CROWD_FINISH,
            b,
            &[
                &self.cell_off,
                &self.task,
                &self.cap,
                action,
                &self.out,
                &self.load,
                &self.q,
                &self.v,
                reward,
                slot,
                &self.counts,
            ],
        )
    }

    /// One slot driven by a heuristic.
    pub fn step_policy(&mut self, policy: Policy) -> Result<()> {
        self.begin_slot()?;
        self.act_policy(policy)?;
        self.end_slot()
    }

    /// One slot with host actions.
    pub fn step(&mut self, actions: &[u32]) -> Result<()> {
        self.begin_slot()?;
        self.act(actions)?;
        self.end_slot()
    }

    /// Download an f32 buffer.
    pub fn f32s(&self, buf: &Buffer) -> Result<Vec<f32>> {
        download_f32(&*self.backend, buf)
    }

    /// The slot metrics [B, 16] (downloads).
    pub fn slot_metrics(&self) -> Result<Vec<f32>> {
        self.f32s(&self.slot)
    }

    /// The cumulative counts [B, 8] (downloads).
    pub fn counts(&self) -> Result<Vec<u32>> {
        self.backend.download(&self.counts)
    }
}
