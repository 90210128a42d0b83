//! `coop` configuration, state layout, the kernels' parameter block and the heuristics' names
//! (docs/coop.md).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng;

/// Words per pool entry in `pool_u`.
pub const POOL_U: usize = 4;
/// Words per pool entry in `pool_f`.
pub const POOL_F: usize = 4;
/// Words of `stats_u` per instance.
pub const STATS_U: usize = 8;
/// Words of `stats_f` per instance.
pub const STATS_F: usize = 4;
/// The largest deadline in slots (the send-queue heads of a node are a 32-bit mask).
pub const MAX_WINDOW: u32 = 32;
/// Flag bit of `pool_u` word 0: the link fails during this task's transmission (eq. 5).
pub const FLAG_LINK_FAIL: u32 = 0x100;
/// Flag bit of `pool_u` word 0: the node fails during this task's execution (eq. 4).
pub const FLAG_NODE_FAIL: u32 = 0x200;

/// Task states (low 8 bits of `pool_u` word 0).
pub mod state {
    /// Free entry.
    pub const EMPTY: u32 = 0;
    /// In a send queue.
    pub const SENDING: u32 = 1;
    /// In an execution queue.
    pub const QUEUED: u32 = 2;
    /// Finished within the deadline without failure.
    pub const SUCCESS: u32 = 3;
    /// Dropped: past its deadline (eq. 8) or refused (invalid action).
    pub const DROPPED: u32 = 4;
    /// Failed in transmission or execution (eq. 4, 5).
    pub const FAILED: u32 = 5;
}

/// The `coop` system. Defaults: the O2O-DRL paper §V-A and mecrl's choices (docs/coop.md). Units: bits, seconds, Hz.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoopConfig {
    /// N, edge nodes.
    pub n_nodes: usize,
    /// Δ, slot duration (s).
    pub slot_s: f64,
    /// T, slots with arrivals; the episode then runs D − 1 more slots without arrivals so that
    /// every task gets its outcome.
    pub horizon: usize,
    /// d, task deadline (s); D = ⌊d/Δ⌋ slots.
    pub deadline_s: f64,
    /// λ_i ~ U[min, max], arrival probability per slot.
    pub arrival_prob_min: f64,
    /// Upper end of λ_i.
    pub arrival_prob_max: f64,
    /// s ~ U[min, max] (bits); default 1000–8000 KB with KB = 1000 bytes.
    pub task_bits_min: f64,
    /// Upper end of s.
    pub task_bits_max: f64,
    /// δ ~ U[min, max] (cycles per bit); c = δ·s.
    pub intensity_min: f64,
    /// Upper end of δ.
    pub intensity_max: f64,
    /// Core counts a node draws from uniformly (at most 8 values).
    pub cores: Vec<u32>,
    /// Frequency of one core (Hz); F_i = cores·core_hz.
    pub core_hz: f64,
    /// r_ij ~ U[min, max] (bit/s); default 10–40 MB/s with MB = 10⁶ bytes.
    pub rate_min_bps: f64,
    /// Upper end of r_ij.
    pub rate_max_bps: f64,
    /// α_i ~ U[min, max], node failure rate (1/s).
    pub node_failure_min: f64,
    /// Upper end of α_i.
    pub node_failure_max: f64,
    /// β_ij ~ U[min, max], link failure rate (1/s).
    pub link_failure_min: f64,
    /// Upper end of β_ij.
    pub link_failure_max: f64,
    /// Maximum execution queue length: other nodes' actions to a node whose queue holds this
    /// many tasks are masked (§IV-B2); RDA's local threshold (§V-B).
    pub max_queue: u32,
    /// One edge network (nodes' λ, F, α and links' r, β) for every instance and episode of a
    /// seed — the paper's "edge network setting" that its methods run 10 episodes in (§V-B) and
    /// its learners train in — instead of a new network per instance and episode. Tasks,
    /// failures and the heuristics' draws stay per instance and episode.
    pub fixed_network: bool,
}

impl Default for CoopConfig {
    fn default() -> Self {
        CoopConfig {
            n_nodes: 20,
            slot_s: 0.5,
            horizon: 100,
            deadline_s: 4.0,
            arrival_prob_min: 0.0,
            arrival_prob_max: 1.0,
            task_bits_min: 8e6,
            task_bits_max: 6.4e7,
            intensity_min: 800.0,
            intensity_max: 2400.0,
            cores: vec![4, 8, 16, 20, 24, 28, 32],
            core_hz: 3e9,
            rate_min_bps: 8e7,
            rate_max_bps: 3.2e8,
            node_failure_min: 0.0,
            node_failure_max: 0.1,
            link_failure_min: 0.0,
            link_failure_max: 0.03,
            max_queue: 4,
            fixed_network: false,
        }
    }
}

/// `lo` and `hi` (fields `coop.<lo_name>`, `coop.<hi_name>`) finite, >= 0 (> 0 if `positive`),
/// f32-representable and ordered.
fn range(lo_name: &str, lo: f64, hi_name: &str, hi: f64, positive: bool) -> Result<()> {
    for (f, v) in [(lo_name, lo), (hi_name, hi)] {
        let ok = v.is_finite() && v >= 0.0 && (!positive || v > 0.0) && v <= f32::MAX as f64;
        if !ok {
            let why = if positive { "must be a finite number > 0" } else { "must be a finite number >= 0" };
            return Err(Error::config(format!("coop.{f}"), v, why));
        }
    }
    if hi < lo {
        return Err(Error::config(format!("coop.{hi_name}"), hi, format!("must be >= coop.{lo_name} ({lo})")));
    }
    Ok(())
}

impl CoopConfig {
    /// D, the deadline in slots.
    pub fn deadline_slots(&self) -> u32 {
        (self.deadline_s / self.slot_s + 1e-9).floor() as u32
    }

    /// Slots per episode: T with arrivals, then D − 1 without.
    pub fn episode_slots(&self) -> u32 {
        self.horizon as u32 + self.deadline_slots() - 1
    }

    /// Observation length per node: 3N + 5.
    pub fn obs_dim(&self) -> usize {
        3 * self.n_nodes + 5
    }

    /// Actions per node: N targets + "no task".
    pub fn n_actions(&self) -> usize {
        self.n_nodes + 1
    }

    /// Check every field; errors name the field (prefixed `coop.`) and the value.
    pub fn validate(&self) -> Result<()> {
        if self.n_nodes == 0 || self.n_nodes > 4096 {
            return Err(Error::config("coop.n_nodes", self.n_nodes, "must be in 1..=4096"));
        }
        for (f, v) in
            [("coop.slot_s", self.slot_s), ("coop.deadline_s", self.deadline_s), ("coop.core_hz", self.core_hz)]
        {
            if !(v.is_finite() && v > 0.0 && v <= f32::MAX as f64) {
                return Err(Error::config(f, v, "must be a finite number > 0"));
            }
        }
        let d = self.deadline_s / self.slot_s;
        if !(1.0..=MAX_WINDOW as f64 + 0.999).contains(&(d + 1e-9)) {
            return Err(Error::config(
                "coop.deadline_s",
                self.deadline_s,
                format!("the deadline must be 1..={MAX_WINDOW} slots of coop.slot_s = {}", self.slot_s),
            ));
        }
        if self.horizon == 0 || self.horizon + self.deadline_slots() as usize > 65_535 {
            return Err(Error::config(
                "coop.horizon",
                self.horizon,
                "must be >= 1 and horizon + deadline slots <= 65535",
            ));
        }
        range("arrival_prob_min", self.arrival_prob_min, "arrival_prob_max", self.arrival_prob_max, false)?;
        if self.arrival_prob_max > 1.0 {
            return Err(Error::config("coop.arrival_prob_max", self.arrival_prob_max, "a probability must be <= 1"));
        }
        range("task_bits_min", self.task_bits_min, "task_bits_max", self.task_bits_max, true)?;
        range("intensity_min", self.intensity_min, "intensity_max", self.intensity_max, true)?;
        range("rate_min_bps", self.rate_min_bps, "rate_max_bps", self.rate_max_bps, true)?;
        range("node_failure_min", self.node_failure_min, "node_failure_max", self.node_failure_max, false)?;
        range("link_failure_min", self.link_failure_min, "link_failure_max", self.link_failure_max, false)?;
        if self.cores.is_empty() || self.cores.len() > 8 {
            return Err(Error::config("coop.cores", format!("{:?}", self.cores), "must list 1 to 8 core counts"));
        }
        if let Some(c) = self.cores.iter().find(|&&c| c == 0 || c > 1 << 20) {
            return Err(Error::config("coop.cores", c, "core counts must be in 1..=1048576"));
        }
        if self.task_bits_max * self.intensity_max > f32::MAX as f64 {
            return Err(Error::config("coop.intensity_max", self.intensity_max, "task cycles overflow f32"));
        }
        if self.max_queue == 0 {
            return Err(Error::config("coop.max_queue", self.max_queue, "must be >= 1"));
        }
        Ok(())
    }

    /// The kernel parameters for `b` instances and `seed` (episode 0, slot 0, policy Random).
    pub fn params(&self, b: usize, seed: u64) -> CoopParams {
        let key = rng::key_of(seed);
        let mut cores = [0u32; 8];
        for (k, &c) in self.cores.iter().take(8).enumerate() {
            cores[k] = c;
        }
        let max_cores = *self.cores.iter().max().unwrap_or(&1) as f64;
        let norm = |v: f64| if v > 0.0 { v as f32 } else { 1.0 };
        CoopParams {
            b: b as u32,
            n: self.n_nodes as u32,
            w: self.deadline_slots(),
            horizon: self.horizon as u32,
            slot: 0,
            episode: 0,
            key0: key[0],
            key1: key[1],
            max_queue: self.max_queue,
            variant: 0,
            n_cores: self.cores.len().min(8) as u32,
            cores0: cores[0],
            cores1: cores[1],
            cores2: cores[2],
            cores3: cores[3],
            cores4: cores[4],
            cores5: cores[5],
            cores6: cores[6],
            cores7: cores[7],
            fixed_network: self.fixed_network as u32,
            dt: self.slot_s as f32,
            deadline: self.deadline_s as f32,
            lambda_lo: self.arrival_prob_min as f32,
            lambda_hi: self.arrival_prob_max as f32,
            s_lo: self.task_bits_min as f32,
            s_hi: self.task_bits_max as f32,
            delta_lo: self.intensity_min as f32,
            delta_hi: self.intensity_max as f32,
            core_hz: self.core_hz as f32,
            alpha_lo: self.node_failure_min as f32,
            alpha_hi: self.node_failure_max as f32,
            beta_lo: self.link_failure_min as f32,
            beta_hi: self.link_failure_max as f32,
            r_lo: self.rate_min_bps as f32,
            r_hi: self.rate_max_bps as f32,
            lambda_norm: norm(self.arrival_prob_max),
            alpha_norm: norm(self.node_failure_max),
            f_norm: norm(max_cores * self.core_hz),
            r_norm: norm(self.rate_max_bps),
            s_norm: norm(self.task_bits_max),
            c_norm: norm(self.task_bits_max * self.intensity_max),
            _pad1: 0.0,
            _pad2: 0.0,
            _pad3: 0.0,
        }
    }
}

/// Parameter block of every `coop_*` kernel (mirrored in `kernels/env/coop.cu` and
/// `shaders/env/coop.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CoopParams {
    /// B, instances.
    pub b: u32,
    /// N, nodes.
    pub n: u32,
    /// W = D, deadline in slots (pool entries per node).
    pub w: u32,
    /// T, slots with arrivals.
    pub horizon: u32,
    /// The current slot t.
    pub slot: u32,
    /// Episode (Philox step word high half).
    pub episode: u32,
    /// Philox key word 0.
    pub key0: u32,
    /// Philox key word 1.
    pub key1: u32,
    /// Maximum execution queue length.
    pub max_queue: u32,
    /// Heuristic: 0 Random, 1 RATC, 2 RDA.
    pub variant: u32,
    /// Number of core counts.
    pub n_cores: u32,
    /// Core count 0.
    pub cores0: u32,
    /// Core count 1.
    pub cores1: u32,
    /// Core count 2.
    pub cores2: u32,
    /// Core count 3.
    pub cores3: u32,
    /// Core count 4.
    pub cores4: u32,
    /// Core count 5.
    pub cores5: u32,
    /// Core count 6.
    pub cores6: u32,
    /// Core count 7.
    pub cores7: u32,
    /// 1: one network for every instance and episode (`fixed_network`): node and link draws
    /// use instance 0 and episode 0.
    pub fixed_network: u32,
    /// Δ (s).
    pub dt: f32,
    /// d (s).
    pub deadline: f32,
    /// λ range low.
    pub lambda_lo: f32,
    /// λ range high.
    pub lambda_hi: f32,
    /// s range low (bits).
    pub s_lo: f32,
    /// s range high (bits).
    pub s_hi: f32,
    /// δ range low (cycles/bit).
    pub delta_lo: f32,
    /// δ range high.
    pub delta_hi: f32,
    /// Hz per core.
    pub core_hz: f32,
    /// α range low (1/s).
    pub alpha_lo: f32,
    /// α range high.
    pub alpha_hi: f32,
    /// β range low (1/s).
    pub beta_lo: f32,
    /// β range high.
    pub beta_hi: f32,
    /// r range low (bit/s).
    pub r_lo: f32,
    /// r range high.
    pub r_hi: f32,
    /// Observation divisor of λ.
    pub lambda_norm: f32,
    /// Observation divisor of α.
    pub alpha_norm: f32,
    /// Observation divisor of F.
    pub f_norm: f32,
    /// Observation divisor of r.
    pub r_norm: f32,
    /// Observation divisor of s.
    pub s_norm: f32,
    /// Observation divisor of c.
    pub c_norm: f32,
    /// Padding.
    pub _pad1: f32,
    /// Padding.
    pub _pad2: f32,
    /// Padding.
    pub _pad3: f32,
}

impl CoopParams {
    /// Core count `k` (< 8).
    #[inline(always)]
    pub fn core(&self, k: u32) -> u32 {
        [self.cores0, self.cores1, self.cores2, self.cores3, self.cores4, self.cores5, self.cores6, self.cores7]
            [k.min(7) as usize]
    }
}

/// The heuristics of §V-B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heuristic {
    /// Uniform among the allowed targets.
    Random = 0,
    /// Reliability-Aware Two Choices.
    Ratc = 1,
    /// Reactive Distributed Algorithm.
    Rda = 2,
}

impl Heuristic {
    /// All heuristics.
    pub const ALL: [Heuristic; 3] = [Heuristic::Random, Heuristic::Ratc, Heuristic::Rda];
    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Heuristic::Random => "random",
            Heuristic::Ratc => "ratc",
            Heuristic::Rda => "rda",
        }
    }
    /// Parse a name.
    pub fn parse(s: &str) -> Result<Self> {
        Heuristic::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| Error::config("method", s, "expected one of random, ratc, rda"))
    }
}

/// Cumulative outcome counts of one instance (`stats_u`, `stats_f`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Tasks arrived.
    pub arrivals: u32,
    /// Tasks finished in time without failure.
    pub success: u32,
    /// Tasks dropped (deadline or invalid action).
    pub dropped: u32,
    /// Tasks failed (link or node).
    pub failed: u32,
    /// Invalid actions.
    pub invalid: u32,
    /// Link failures.
    pub fail_link: u32,
    /// Node failures.
    pub fail_node: u32,
    /// Tasks sent to another node.
    pub offloaded: u32,
    /// Bits arrived, succeeded, dropped, failed.
    pub bits: [f32; 4],
}

impl Stats {
    pub(crate) fn from_words(u: &[u32], f: &[u32]) -> Self {
        Stats {
            arrivals: u[0],
            success: u[1],
            dropped: u[2],
            failed: u[3],
            invalid: u[4],
            fail_link: u[5],
            fail_node: u[6],
            offloaded: u[7],
            bits: [f32::from_bits(f[0]), f32::from_bits(f[1]), f32::from_bits(f[2]), f32::from_bits(f[3])],
        }
    }
    /// Add `o`'s counts and bits.
    pub fn add(&mut self, o: &Stats) {
        self.arrivals += o.arrivals;
        self.success += o.success;
        self.dropped += o.dropped;
        self.failed += o.failed;
        self.invalid += o.invalid;
        self.fail_link += o.fail_link;
        self.fail_node += o.fail_node;
        self.offloaded += o.offloaded;
        for (b, x) in self.bits.iter_mut().zip(o.bits) {
            *b += x;
        }
    }

    /// The sum of several instances' (or episodes') statistics.
    pub fn sum(all: &[Stats]) -> Stats {
        let mut t = Stats::default();
        for s in all {
            t.add(s);
        }
        t
    }

    /// Task success rate (eq. 9) over resolved tasks; NaN with none.
    pub fn success_rate(&self) -> f64 {
        let done = (self.success + self.dropped + self.failed) as f64;
        self.success as f64 / done
    }
}
