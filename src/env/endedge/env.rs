//! The batched `endedge` environment on any backend: the state buffers and the launches.

use std::sync::Arc;

use super::kernels::{
    ENDEDGE_ARRIVE, ENDEDGE_CREDIT, ENDEDGE_LOAD, ENDEDGE_OBSERVE, ENDEDGE_POLICY, ENDEDGE_REWARD, ENDEDGE_STATE,
    ENDEDGE_STEP,
};
use crate::backend::{Backend, Buffer, KernelSpec};
use crate::error::{Error, Result};

use super::config::*;

/// Totals of an episode over all instances and terminals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Tasks that arrived.
    pub arrivals: u64,
    /// Finished by their deadline.
    pub finished: u64,
    /// Dropped (deadline passed).
    pub dropped: u64,
    /// Still in the system at the end of the horizon (counted as failures).
    pub unfinished: u64,
    /// Σ delay (slots) of finished tasks.
    pub delay_sum: u64,
    /// Σ (T − arrival) of unfinished tasks (the reference's delay of an unfinished task).
    pub unfinished_delay_sum: u64,
}

impl Stats {
    /// Add another run's totals.
    pub fn add(&mut self, o: &Stats) {
        self.arrivals += o.arrivals;
        self.finished += o.finished;
        self.dropped += o.dropped;
        self.unfinished += o.unfinished;
        self.delay_sum += o.delay_sum;
        self.unfinished_delay_sum += o.unfinished_delay_sum;
    }

    /// Average delay (slots) of finished tasks.
    pub fn avg_delay(&self) -> f64 {
        self.delay_sum as f64 / self.finished.max(1) as f64
    }
    /// Failed (dropped or unfinished) / arrivals.
    pub fn drop_rate(&self) -> f64 {
        (self.dropped + self.unfinished) as f64 / self.arrivals.max(1) as f64
    }
    /// Mean reward per task (eq. 18–19; unfinished tasks get Const, as in the reference).
    pub fn avg_reward(&self, drop_reward: f64) -> f64 {
        (-(self.delay_sum as f64) + drop_reward * (self.dropped + self.unfinished) as f64) / self.arrivals.max(1) as f64
    }
}

/// A batch of `endedge` instances on a backend.
pub struct EndedgeEnv {
    /// The system.
    pub cfg: EndedgeConfig,
    /// B.
    pub batch: usize,
    /// Seed of the arrivals and the Random baseline.
    pub seed: u64,
    backend: Arc<dyn Backend>,
    /// Current slot t.
    pub t: u32,
    /// Arrivals of the current slot \[B,D\] f32.
    pub eta: Buffer,
    /// Actions of the current slot \[B,D\] u32.
    pub action: Buffer,
    m: Buffer,
    /// Load(t) \[B,C,E\] u32 (eq. 15).
    pub load: Buffer,
    size: Buffer,
    rem: Buffer,
    arr: Buffer,
    at: Buffer,
    /// Result ring \[B,D,W\] u32 (see [`model`](super::model)).
    pub result: Buffer,
    pred: Buffer,
    acc: Buffer,
    active: Buffer,
    obs: Buffer,
    mask: Buffer,
}

impl EndedgeEnv {
    /// Allocate `batch` instances (all queues empty, t = 0).
    pub fn new(cfg: &EndedgeConfig, batch: usize, seed: u64, backend: Arc<dyn Backend>) -> Result<Self> {
        cfg.validate()?;
        if batch == 0 || (batch as u64) * (cfg.devices as u64) * (cfg.deadline_slots as u64 + 1) > u32::MAX as u64 {
            return Err(Error::config("endedge.batch", batch, "batch × devices × (τ+1) must be in 1..2^32"));
        }
        if let Some(limit) = backend.max_loop_iterations() {
            // `endedge_load` loops over D terminals per (instance, server) thread
            if cfg.devices as u64 * 2 > limit {
                return Err(Error::config(
                    "endedge.devices",
                    cfg.devices,
                    format!("this backend's loop budget ({limit}) allows at most {} terminals", limit / 2),
                ));
            }
        }
        let (b, d, e, w) = (batch, cfg.devices, cfg.servers, cfg.deadline_slots as usize + 1);
        let (c, ew) = (cfg.load_history, e.div_ceil(32));
        let be = &backend;
        Ok(EndedgeEnv {
            eta: be.alloc(b * d)?,
            action: be.alloc(b * d)?,
            m: be.alloc(b * e)?,
            load: be.alloc(b * c * e)?,
            size: be.alloc(b * d * w)?,
            rem: be.alloc(b * d * w)?,
            arr: be.alloc(b * d * w)?,
            at: be.alloc(b * d * w)?,
            result: be.alloc(b * d * w)?,
            pred: be.alloc(b * d * 2)?,
            acc: be.alloc(b * d * 4)?,
            active: be.alloc(b * d * ew)?,
            obs: be.alloc(b * d * (3 + e))?,
            mask: be.alloc(b * d * (1 + e))?,
            cfg: cfg.clone(),
            batch,
            seed,
            backend,
            t: 0,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The parameter block of the current slot.
    pub fn params(&self, policy: Heuristic) -> EndedgeParams {
        EndedgeParams::new(&self.cfg, self.batch, self.seed, self.t, policy)
    }

    fn launch(&self, id: &'static KernelSpec, p: &EndedgeParams, threads: usize, bufs: &[&Buffer]) -> Result<()> {
        self.backend.launch(id, bytemuck::bytes_of(p), threads as u32, bufs)
    }

    /// Empty every queue and counter; t = 0.
    pub fn reset(&mut self) -> Result<()> {
        for buf in [&self.m, &self.load, &self.size, &self.rem, &self.arr, &self.at, &self.result] {
            self.backend.write(buf, &vec![0; buf.words()])?;
        }
        for buf in [&self.pred, &self.acc, &self.active] {
            self.backend.write(buf, &vec![0; buf.words()])?;
        }
        self.t = 0;
        Ok(())
    }

    /// Draw this slot's arrivals into `eta` (Bernoulli and the size grid, Philox).
    pub fn arrive(&self) -> Result<()> {
        let p = self.params(Heuristic::Local);
        self.launch(&ENDEDGE_ARRIVE, &p, self.batch * self.cfg.devices, &[&self.eta])
    }

    /// Set this slot's arrivals from the host (Mbit; 0 = none), validated.
    pub fn set_arrivals(&self, eta: &[f32]) -> Result<()> {
        if eta.len() != self.batch * self.cfg.devices {
            return Err(Error::shape("endedge arrivals", self.batch * self.cfg.devices, eta.len()));
        }
        if let Some(i) = eta.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(Error::input("eta", i, eta[i], "task size must be finite and >= 0"));
        }
        self.backend.write(&self.eta, bytemuck::cast_slice(eta))
    }

    /// Choose this slot's actions with a heuristic.
    pub fn policy(&self, h: Heuristic) -> Result<()> {
        let p = self.params(h);
        let bufs = [&self.eta, &self.pred, &self.rem, &self.at, &self.m, &self.action];
        self.launch(&ENDEDGE_POLICY, &p, self.batch * self.cfg.devices, &bufs)
    }

    /// Set this slot's actions from the host (0 local, k server k − 1), validated.
    pub fn set_actions(&self, action: &[u32]) -> Result<()> {
        if action.len() != self.batch * self.cfg.devices {
            return Err(Error::shape("endedge actions", self.batch * self.cfg.devices, action.len()));
        }
        if let Some(i) = action.iter().position(|&a| a as usize > self.cfg.servers) {
            return Err(Error::input("action", i, action[i], format!("must be in 0..={}", self.cfg.servers)));
        }
        self.backend.write(&self.action, action)
    }

    /// Advance one slot with the current `eta` and `action`: the queues, then Q_e and Load.
    pub fn step(&mut self) -> Result<()> {
        let action = &self.action;
        self.step_launch(action)?;
        self.t += 1;
        Ok(())
    }

    /// [`Self::step`] with the actions [B, D] read from `action`.
    pub fn step_with(&mut self, action: &Buffer) -> Result<()> {
        self.step_launch(action)?;
        self.t += 1;
        Ok(())
    }

    fn step_launch(&self, action: &Buffer) -> Result<()> {
        let p = self.params(Heuristic::Local);
        let n = self.batch * self.cfg.devices;
        let bufs = [
            &self.eta,
            action,
            &self.m,
            &self.size,
            &self.rem,
            &self.arr,
            &self.at,
            &self.result,
            &self.pred,
            &self.acc,
            &self.active,
        ];
        self.launch(&ENDEDGE_STEP, &p, n, &bufs)?;
        self.launch(&ENDEDGE_LOAD, &p, self.batch * self.cfg.servers, &[&self.active, &self.m, &self.load])
    }

    /// The state (16) without Load(t) [B, D, 3 + E] and the action mask [B, D, 1 + E] of the
    /// current slot into `obs`, `mask` (call after setting `eta`).
    pub fn observe_into(&self, obs: &Buffer, mask: &Buffer) -> Result<()> {
        let p = self.params(Heuristic::Local);
        let bufs = [&self.eta, &self.pred, &self.rem, &self.at, obs, mask];
        self.launch(&ENDEDGE_OBSERVE, &p, self.batch * self.cfg.devices, &bufs)
    }

    /// Each terminal's reward of the last slot (eq. 18–19) into `reward` [B, D]; `prev` [B, D, 2]
    /// holds the counters of the slot before (zero after a reset) and takes the current ones.
    pub fn reward_into(&self, prev: &Buffer, reward: &Buffer) -> Result<()> {
        let p = self.params(Heuristic::Local);
        self.launch(&ENDEDGE_REWARD, &p, self.batch * self.cfg.devices, &[&self.acc, prev, reward])
    }

    /// Row `a` of an episode's rewards credited to the arrival slot (eq. 18–19; `endedge_credit`)
    /// from the result ring: `arrived` [≥ a + 1, B·D] > 0 where a task arrived, `reward`
    /// [≥ a + 1, B·D]. Call after slot a + τ and before slot a + τ + 1, or at the horizon.
    pub fn credit_into(&self, a: u32, arrived: &Buffer, reward: &Buffer) -> Result<()> {
        let p = EndedgeParams { t: a, ..self.params(Heuristic::Local) };
        self.launch(&ENDEDGE_CREDIT, &p, self.batch * self.cfg.devices, &[&self.result, arrived, reward])
    }

    /// Load(t) [B, C, E] as floats into `state`.
    pub fn state_into(&self, state: &Buffer) -> Result<()> {
        let p = self.params(Heuristic::Local);
        self.launch(&ENDEDGE_STATE, &p, self.batch * self.cfg.load_history * self.cfg.servers, &[&self.load, state])
    }

    /// This slot's actions [B, D] from a heuristic into `action`.
    pub fn policy_into(&self, h: Heuristic, action: &Buffer) -> Result<()> {
        let p = self.params(h);
        let bufs = [&self.eta, &self.pred, &self.rem, &self.at, &self.m, action];
        self.launch(&ENDEDGE_POLICY, &p, self.batch * self.cfg.devices, &bufs)
    }

    /// The state (16) of every terminal at the current slot (call after setting `eta`):
    /// (obs [B,D,3+E] f32, mask [B,D,1+E] u32, Load \[B,C,E\] u32).
    pub fn observe(&self) -> Result<(Vec<f32>, Vec<u32>, Vec<u32>)> {
        let p = self.params(Heuristic::Local);
        let bufs = [&self.eta, &self.pred, &self.rem, &self.at, &self.obs, &self.mask];
        self.launch(&ENDEDGE_OBSERVE, &p, self.batch * self.cfg.devices, &bufs)?;
        let obs = bytemuck::cast_slice(&self.backend.download(&self.obs)?).to_vec();
        Ok((obs, self.backend.download(&self.mask)?, self.backend.download(&self.load)?))
    }

    /// Totals so far; tasks still pending count as unfinished with delay T − arrival, T = the
    /// current slot (the reference's end-of-horizon rule).
    pub fn stats(&self) -> Result<Stats> {
        let acc = self.backend.download(&self.acc)?;
        let at = self.backend.download(&self.at)?;
        let arr = self.backend.download(&self.arr)?;
        let mut s = Stats::default();
        for a in acc.chunks_exact(4) {
            s.arrivals += a[0] as u64;
            s.finished += a[1] as u64;
            s.dropped += a[2] as u64;
            s.delay_sum += a[3] as u64;
        }
        for (k, &a) in at.iter().enumerate() {
            if a != super::model::AT_NONE {
                s.unfinished += 1;
                s.unfinished_delay_sum += (self.t - arr[k]) as u64;
            }
        }
        Ok(s)
    }

    /// The state buffers' words, in the order m, load, size, rem, arr, at, result, pred, acc,
    /// nonempty (tests and checkpoints).
    pub fn state_words(&self) -> Result<Vec<Vec<u32>>> {
        [
            &self.m,
            &self.load,
            &self.size,
            &self.rem,
            &self.arr,
            &self.at,
            &self.result,
            &self.pred,
            &self.acc,
            &self.active,
        ]
        .iter()
        .map(|b| self.backend.download(b))
        .collect()
    }

    /// One episode of T slots from a reset with generated arrivals and a heuristic; `tick` is
    /// called once per slot.
    pub fn run_episode(&mut self, h: Heuristic, tick: &mut dyn FnMut(u64)) -> Result<Stats> {
        self.reset()?;
        for _ in 0..self.cfg.slots {
            self.arrive()?;
            self.policy(h)?;
            self.step()?;
            tick(1);
        }
        self.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::endedge::cpu::*;

    #[test]
    fn slot_reward_hand_case() {
        // Eq. (18)–(19): delay sum 10 → 17 (7 slots finished), dropped 1 → 3 (2 drops at
        // Const = −30): −7 + 2·(−30) = −67; no change → 0.
        assert_eq!(slot_reward(&[9, 4, 3, 17], &[10, 1], -30.0), -67.0);
        assert_eq!(slot_reward(&[9, 4, 3, 17], &[17, 3], -30.0), 0.0);
    }

    /// The 16-lane arrival path equals the scalar `arrival` (which WGSL and CUDA mirror) for
    /// every terminal, including a remainder of D mod 16 and the no-arrival tail.
    #[test]
    fn vectorized_arrivals_equal_the_scalar_draw() {
        let cfg = EndedgeConfig { devices: 37, slots: 20, tail_slots: 5, ..EndedgeConfig::default() };
        for t in [0u32, 3, 14, 15, 19] {
            let p = EndedgeParams::new(&cfg, 3, 42, t, Heuristic::Local);
            let mut eta = vec![7u32; 3 * 37];
            cpu_arrive(bytemuck::bytes_of(&p), &mut [&mut eta]).unwrap();
            let want: Vec<u32> = (0..3 * 37).map(|i| arrival(&p, i / 37, i % 37).to_bits()).collect();
            assert_eq!(eta, want, "slot {t}");
            assert_eq!(eta.iter().any(|&x| x != 0), t < 15, "slot {t}");
        }
    }

    /// A NaN size or an action past E is an `Error::Input` naming the buffer and index, and
    /// nothing is changed; the env's host API refuses both before any launch.
    #[test]
    fn step_refuses_bad_input_without_touching_state() {
        let cfg = EndedgeConfig { devices: 5, servers: 2, ..EndedgeConfig::reference() };
        let cpu = crate::backend::create(crate::BackendKind::Cpu).unwrap();
        let mut env = EndedgeEnv::new(&cfg, 2, 1, cpu.clone()).unwrap();
        env.reset().unwrap();
        assert!(matches!(env.set_actions(&[0, 1, 2, 3, 0, 0, 0, 0, 0, 0]), Err(Error::Input { index: 3, .. })));
        assert!(matches!(env.set_arrivals(&[0.0; 9]), Err(Error::Shape { .. })));
        let mut eta = vec![1.0f32; 10];
        eta[7] = f32::NAN;
        assert!(matches!(env.set_arrivals(&eta), Err(Error::Input { index: 7, .. })));
        // the kernel itself, given bad buffers directly
        let before = env.state_words().unwrap();
        let p = env.params(Heuristic::Local);
        for (eta, act, field, index) in [(f32::NAN, 0u32, "eta", 4usize), (2.0, 3, "action", 4)] {
            let mut e: Vec<u32> = vec![1.0f32.to_bits(); 10];
            e[4] = eta.to_bits();
            let mut a = vec![0u32; 10];
            a[4] = act;
            let mut st = before.clone();
            let [m, _, size, rem, arr, at, result, pred, acc, ne] = &mut st[..] else { unreachable!() };
            let err =
                cpu_step(bytemuck::bytes_of(&p), &mut [&mut e, &mut a, m, size, rem, arr, at, result, pred, acc, ne]);
            match err {
                Err(Error::Input { field: f, index: i, .. }) => assert_eq!((f.as_str(), i), (field, index)),
                other => panic!("expected an input error, got {other:?}"),
            }
            assert_eq!(st, before);
        }
    }

    /// The 16-lane Random policy equals the scalar `heuristic_action`.
    #[test]
    fn vectorized_random_policy_equals_the_scalar_rule() {
        let cfg = EndedgeConfig { devices: 37, servers: 6, ..EndedgeConfig::default() };
        let (b, d, w) = (3usize, 37usize, 13usize);
        let p = EndedgeParams::new(&cfg, b, 9, 4, Heuristic::Random);
        let eta: Vec<u32> = (0..b * d).map(|i| if i % 3 == 0 { 0 } else { 2.5f32.to_bits() }).collect();
        let (pred, rem, at, m) =
            (vec![0u32; b * d * 2], vec![0u32; b * d * w], vec![0u32; b * d * w], vec![0u32; b * 6]);
        let mut act = vec![99u32; b * d];
        let mut bufs = [eta.clone(), pred, rem, at, m];
        let [e0, e1, e2, e3, e4] = &mut bufs;
        cpu_policy(bytemuck::bytes_of(&p), &mut [e0, e1, e2, e3, e4, &mut act]).unwrap();
        let want: Vec<u32> = (0..b * d)
            .map(|i| {
                let x = f32::from_bits(eta[i]);
                heuristic_action(&p, (i / d) as u32, (i % d) as u32, x, &[0, 0], &[0.0; 13], &[0; 13], &[0; 6])
            })
            .collect();
        assert_eq!(act, want);
        assert!(want.iter().any(|&a| a > 1) && want.iter().step_by(3).all(|&a| a == 0));
    }
}
