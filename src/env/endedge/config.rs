//! `endedge` configuration (docs/endedge.md) and the kernels' parameter block.

use serde::{Deserialize, Serialize};

use super::model::Rates;
use crate::error::{Error, Result};
use crate::rng;

/// Which of the two documented rule sets (docs/endedge.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Semantics {
    /// The simulator published with Tang & Wong (IEEE TMC 2022), which the paper adopts.
    #[default]
    Reference,
    /// Eq. (2)–(13) as printed: a task is discarded at the end of slot t + τ − 1 wherever it is.
    Paper,
}

impl std::str::FromStr for Semantics {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "reference" => Ok(Semantics::Reference),
            "paper" => Ok(Semantics::Paper),
            _ => Err(Error::config("endedge.semantics", s, "must be `reference` or `paper`")),
        }
    }
}

/// The heuristic baselines (§5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heuristic {
    /// Every task local.
    Local,
    /// Uniform over the 1 + E actions (Philox).
    Random,
    /// The action with the least estimated delay (docs/endedge.md).
    Greedy,
}

impl Heuristic {
    /// All, in table order.
    pub const ALL: [Heuristic; 3] = [Heuristic::Local, Heuristic::Random, Heuristic::Greedy];
    /// Name in configs and tables.
    pub fn name(self) -> &'static str {
        match self {
            Heuristic::Local => "local",
            Heuristic::Random => "random",
            Heuristic::Greedy => "greedy",
        }
    }
}

/// Parameters of the `endedge` system. Defaults: the paper (§5.1, Table 1) and mecrl's choices (docs/endedge.md); the
/// published simulator's values are [`EndedgeConfig::reference`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndedgeConfig {
    /// D, terminals.
    pub devices: usize,
    /// E, edge servers.
    pub servers: usize,
    /// T, slots per episode.
    pub slots: usize,
    /// No arrivals in the last this many slots (the reference: τ), so tasks can finish.
    pub tail_slots: usize,
    /// τ, deadline in slots (1..=31).
    pub deadline_slots: u32,
    /// δ, slot length (s).
    pub slot_s: f64,
    /// f_d, terminal CPU (Hz).
    pub f_device_hz: f64,
    /// f_e, edge server CPU (Hz).
    pub f_edge_hz: f64,
    /// O^tran, uplink rate (bit/s), the same to every server.
    pub rate_bps: f64,
    /// ρ, processing density (cycles/bit).
    pub density_cycles_per_bit: f64,
    /// Bernoulli arrival probability per terminal per slot.
    pub arrival_prob: f64,
    /// Smallest task size (Mbit).
    pub size_min_mbit: f64,
    /// Largest task size (Mbit); sizes are size_min + k·size_step up to this.
    pub size_max_mbit: f64,
    /// Size grid step (Mbit).
    pub size_step_mbit: f64,
    /// Offered load per terminal (Mbit/s, the paper's "task arrival rate"): when set, the size
    /// grid is scaled so that arrival_prob · mean size / δ equals it.
    pub arrival_rate_mbps: Option<f64>,
    /// Const of eq. (19), the reward of a dropped task; default −3τ.
    pub drop_reward: Option<f64>,
    /// C, rows of the Load(t) history (eq. 15).
    pub load_history: usize,
    /// Rule set.
    pub semantics: Semantics,
}

impl Default for EndedgeConfig {
    fn default() -> Self {
        EndedgeConfig {
            devices: 50,
            servers: 4,
            slots: 110,
            tail_slots: 12,
            deadline_slots: 12,
            slot_s: 0.1,
            f_device_hz: 2.5e9,
            f_edge_hz: 41.8e9,
            rate_bps: 14e6,
            density_cycles_per_bit: 500.0,
            arrival_prob: 0.3,
            size_min_mbit: 2.0,
            size_max_mbit: 4.9,
            size_step_mbit: 0.1,
            arrival_rate_mbps: None,
            drop_reward: None,
            load_history: 10,
            semantics: Semantics::Reference,
        }
    }
}

fn positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 && v <= f32::MAX as f64 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be a finite number > 0"))
    }
}

impl EndedgeConfig {
    /// The published simulator's defaults (docs/endedge.md): D = 50, E = 5, T = 110 with no arrivals in the
    /// last 10, τ = 10, density 0.297 Gcycles/Mbit.
    pub fn reference() -> Self {
        EndedgeConfig {
            servers: 5,
            tail_slots: 10,
            deadline_slots: 10,
            density_cycles_per_bit: 297.0,
            ..Default::default()
        }
    }

    /// Check every field; errors name the field (prefixed `endedge.`) and the value.
    pub fn validate(&self) -> Result<()> {
        if self.devices == 0 || self.devices > 16_000_000 {
            return Err(Error::config("endedge.devices", self.devices, "must be in 1..=16000000"));
        }
        if self.servers == 0 || self.servers > 4096 {
            return Err(Error::config("endedge.servers", self.servers, "must be in 1..=4096"));
        }
        if self.slots == 0 || self.slots > 1 << 24 {
            return Err(Error::config("endedge.slots", self.slots, "must be in 1..=16777216"));
        }
        if self.tail_slots > self.slots {
            return Err(Error::config("endedge.tail_slots", self.tail_slots, "must be <= slots"));
        }
        if !(1..=31).contains(&self.deadline_slots) {
            return Err(Error::config("endedge.deadline_slots", self.deadline_slots, "must be in 1..=31"));
        }
        for (f, v) in [
            ("endedge.slot_s", self.slot_s),
            ("endedge.f_device_hz", self.f_device_hz),
            ("endedge.f_edge_hz", self.f_edge_hz),
            ("endedge.rate_bps", self.rate_bps),
            ("endedge.density_cycles_per_bit", self.density_cycles_per_bit),
            ("endedge.size_min_mbit", self.size_min_mbit),
            ("endedge.size_max_mbit", self.size_max_mbit),
            ("endedge.size_step_mbit", self.size_step_mbit),
        ] {
            positive(f, v)?;
        }
        if !(self.arrival_prob.is_finite() && (0.0..=1.0).contains(&self.arrival_prob)) {
            return Err(Error::config("endedge.arrival_prob", self.arrival_prob, "must be in [0, 1]"));
        }
        if self.size_max_mbit < self.size_min_mbit {
            return Err(Error::config("endedge.size_max_mbit", self.size_max_mbit, "must be >= size_min_mbit"));
        }
        if self.size_levels() > 1 << 20 {
            return Err(Error::config("endedge.size_step_mbit", self.size_step_mbit, "more than 2^20 sizes"));
        }
        if let Some(r) = self.arrival_rate_mbps {
            positive("endedge.arrival_rate_mbps", r)?;
            if self.arrival_prob == 0.0 {
                return Err(Error::config("endedge.arrival_prob", 0, "must be > 0 when arrival_rate_mbps is set"));
            }
        }
        if let Some(c) = self.drop_reward {
            if !(c.is_finite() && c < 0.0) {
                return Err(Error::config("endedge.drop_reward", c, "Const of eq. (19) must be < 0"));
            }
        }
        if self.load_history == 0 || self.load_history > 4096 {
            return Err(Error::config("endedge.load_history", self.load_history, "must be in 1..=4096"));
        }
        let r = self.rates_f64();
        for (f, v) in [("endedge.f_device_hz", r.local), ("endedge.f_edge_hz", r.edge), ("endedge.rate_bps", r.tran)] {
            if !(v as f32 > 0.0 && (v as f32).is_finite()) {
                return Err(Error::config(f, v, "per-slot capacity out of f32 range"));
            }
        }
        Ok(())
    }

    /// Number of sizes on the grid size_min + k·step ≤ size_max (a 1e-9 tolerance on the end).
    pub fn size_levels(&self) -> usize {
        ((self.size_max_mbit - self.size_min_mbit) / self.size_step_mbit + 1e-9).floor() as usize + 1
    }

    /// (size_min, size_step) after the offered-load scaling of `arrival_rate_mbps`.
    pub fn size_grid(&self) -> (f64, f64) {
        let mean = self.size_min_mbit + self.size_step_mbit * (self.size_levels() - 1) as f64 / 2.0;
        let s = match self.arrival_rate_mbps {
            Some(r) => r * self.slot_s / (self.arrival_prob * mean),
            None => 1.0,
        };
        (self.size_min_mbit * s, self.size_step_mbit * s)
    }

    /// Const of eq. (19).
    pub fn drop_reward(&self) -> f64 {
        self.drop_reward.unwrap_or(-3.0 * self.deadline_slots as f64)
    }

    /// Per-slot capacities in Mbit, computed in the published simulator's order and units
    /// (Gcycles, Mbit): local = (f_d·δ)/ρ, edge = (f_e·δ)/ρ, transmit = O·δ.
    pub fn rates_f64(&self) -> Rates<f64> {
        let rho = self.density_cycles_per_bit / 1000.0; // Gcycles per Mbit
        Rates {
            local: (self.f_device_hz / 1e9 * self.slot_s) / rho,
            edge: (self.f_edge_hz / 1e9 * self.slot_s) / rho,
            tran: self.rate_bps / 1e6 * self.slot_s,
            tau: self.deadline_slots,
            paper: self.semantics == Semantics::Paper,
        }
    }

    /// [`Self::rates_f64`] rounded to f32 (the kernels).
    pub fn rates_f32(&self) -> Rates<f32> {
        let r = self.rates_f64();
        Rates { local: r.local as f32, edge: r.edge as f32, tran: r.tran as f32, tau: r.tau, paper: r.paper }
    }
}

/// Parameters of the `endedge_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EndedgeParams {
    /// B, instances.
    pub b: u32,
    /// D, terminals.
    pub d: u32,
    /// E, servers.
    pub e: u32,
    /// W = τ + 1, ring entries per terminal.
    pub w: u32,
    /// τ, deadline (slots).
    pub tau: u32,
    /// C, Load history rows.
    pub c: u32,
    /// ⌈E/32⌉, words of `active` per terminal.
    pub ew: u32,
    /// The slot t.
    pub t: u32,
    /// Philox key, low word.
    pub key0: u32,
    /// Philox key, high word.
    pub key1: u32,
    /// 0 reference, 1 paper.
    pub semantics: u32,
    /// `endedge_policy`: 0 local, 1 random, 2 greedy.
    pub policy: u32,
    /// Number of task sizes.
    pub size_levels: u32,
    /// No arrivals from this slot on.
    pub arrive_until: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// f_d·δ/ρ (Mbit per slot).
    pub local_cap: f32,
    /// f_e·δ/ρ (Mbit per slot, before sharing).
    pub edge_cap: f32,
    /// O·δ (Mbit per slot).
    pub tran_cap: f32,
    /// Bernoulli arrival probability.
    pub p_arrive: f32,
    /// Smallest size (Mbit).
    pub size_min: f32,
    /// Size step (Mbit).
    pub size_step: f32,
    /// Const of eq. (19).
    pub drop_reward: f32,
    /// Padding.
    pub _pad2: f32,
}

impl EndedgeParams {
    /// The parameter block of `cfg` for `batch` instances, seed and slot t.
    pub fn new(cfg: &EndedgeConfig, batch: usize, seed: u64, t: u32, policy: Heuristic) -> Self {
        let r = cfg.rates_f32();
        let key = rng::key_of(seed);
        let (smin, sstep) = cfg.size_grid();
        EndedgeParams {
            b: batch as u32,
            d: cfg.devices as u32,
            e: cfg.servers as u32,
            w: cfg.deadline_slots + 1,
            tau: cfg.deadline_slots,
            c: cfg.load_history as u32,
            ew: cfg.servers.div_ceil(32) as u32,
            t,
            key0: key[0],
            key1: key[1],
            semantics: (cfg.semantics == Semantics::Paper) as u32,
            policy: policy as u32,
            size_levels: cfg.size_levels() as u32,
            arrive_until: (cfg.slots - cfg.tail_slots) as u32,
            _pad0: 0,
            _pad1: 0,
            local_cap: r.local,
            edge_cap: r.edge,
            tran_cap: r.tran,
            p_arrive: cfg.arrival_prob as f32,
            size_min: smin as f32,
            size_step: sstep as f32,
            drop_reward: cfg.drop_reward() as f32,
            _pad2: 0.0,
        }
    }

    pub(crate) fn rates(&self) -> Rates<f32> {
        Rates {
            local: self.local_cap,
            edge: self.edge_cap,
            tran: self.tran_cap,
            tau: self.tau,
            paper: self.semantics != 0,
        }
    }

    pub(crate) fn dims(&self) -> (usize, usize, usize, usize, usize) {
        (self.b as usize, self.d as usize, self.e as usize, self.w as usize, self.ew as usize)
    }
}
