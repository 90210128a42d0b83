//! `crowd` configuration (§VI-A defaults), topology, the kernels' parameter block, Philox
//! streams, and the layouts of the slot metrics and counts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng;

/// The three task-generation cases of §VI-A: (λ1 tasks per arrival, λ2 units of 1 GHz·s, λ3 MB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Case {
    /// λ = (1, 24, 6): large deep-learning tasks.
    I,
    /// λ = (6, 6, 1): media processing.
    II,
    /// λ = (12, 3, 0.5): crowdsensing.
    III,
}

impl Case {
    /// Every case.
    pub const ALL: [Case; 3] = [Case::I, Case::II, Case::III];

    /// (λ1, λ2, λ3) of §VI-A.
    pub fn lambdas(self) -> (f64, f64, f64) {
        match self {
            Case::I => (1.0, 24.0, 6.0),
            Case::II => (6.0, 6.0, 1.0),
            Case::III => (12.0, 3.0, 0.5),
        }
    }

    /// "I", "II" or "III".
    pub fn name(self) -> &'static str {
        match self {
            Case::I => "I",
            Case::II => "II",
            Case::III => "III",
        }
    }

    /// Parse "I", "II", "III" (also 1, 2, 3).
    pub fn parse(field: &str, s: &str) -> Result<Case> {
        match s.trim() {
            "I" | "1" => Ok(Case::I),
            "II" | "2" => Ok(Case::II),
            "III" | "3" => Ok(Case::III),
            _ => Err(Error::config(field, s, "must be I, II or III")),
        }
    }
}

/// The heuristic policies (Alg. 1 and the baselines).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Drift-plus-penalty: per agent argmin of f′ (22) over targets and rates (Alg. 1, (23)–(24)).
    Dpp,
    /// Least estimated execution delay (6), fastest rate.
    Greedy,
    /// Uniform target and rate.
    Random,
}

impl Policy {
    /// Every policy in kernel-code order.
    pub const ALL: [Policy; 3] = [Policy::Dpp, Policy::Greedy, Policy::Random];

    /// The kernel code.
    pub fn code(self) -> u32 {
        match self {
            Policy::Dpp => 0,
            Policy::Greedy => 1,
            Policy::Random => 2,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Dpp => "dpp",
            Policy::Greedy => "greedy",
            Policy::Random => "random",
        }
    }
}

/// Physical parameters of the `crowd` system. Defaults: the paper's §VI-A and mecrl's choices
/// (each with its source in docs/crowd.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrowdConfig {
    /// S, edge servers = base stations = cells (§VI-A: 3).
    pub n_servers: usize,
    /// MD clusters per cell (§VI-A: 6 clusters over 3 cells).
    pub clusters_per_cell: usize,
    /// Smallest cluster (§VI-A: 5 MDs).
    pub cluster_size_min: usize,
    /// Largest cluster (§VI-A: 10 MDs).
    pub cluster_size_max: usize,
    /// Explicit cluster sizes (S·clusters_per_cell entries) instead of drawing them.
    pub cluster_sizes: Option<Vec<usize>>,
    /// Seed of the cluster-size draw (the topology is fixed, shared by every instance).
    pub topology_seed: u64,
    /// K, MDs of its cell a user may offload to (the K next in cyclic order).
    pub md_candidates: usize,
    /// c_l of a wireless link MD ↔ BS (bit/s; §VI-A: 10 Mbps).
    pub wireless_bps: f64,
    /// c_l of a wired link BS ↔ BS (bit/s; §VI-A: 30 Mbps).
    pub wired_bps: f64,
    /// c_l of the backbone link BS ↔ cloud (bit/s; 100 Mbps, mecrl's choice: the paper gives no value,
    /// docs/crowd.md).
    pub backbone_bps: f64,
    /// Δt, slot length (s; §VI-A: 1 s).
    pub slot_s: f64,
    /// T, slots per episode (§VI-A: 3000).
    pub horizon_slots: usize,
    /// λ1, mean tasks per arrival event (Poisson).
    pub lambda1: f64,
    /// λ2, mean demand per task in units of `cycles_per_unit` (Poisson).
    pub lambda2: f64,
    /// λ3, mean data per task in MB (Poisson).
    pub lambda3: f64,
    /// Shortest gap between a user's arrival events (slots; §VI-A: U[5, 20]).
    pub gap_min_slots: usize,
    /// Longest gap between a user's arrival events (slots).
    pub gap_max_slots: usize,
    /// CPU cycles of one demand unit (1 GHz·s = 1e9 cycles, §VI-A footnote 3).
    pub cycles_per_unit: f64,
    /// Bits per MB of task data.
    pub bits_per_mb: f64,
    /// Peak CPU frequency an MD can lend (Hz).
    pub f_md_hz: f64,
    /// Idle share of an MD: uniform in [idle_min, idle_max], redrawn every slot (§III-C).
    pub idle_min: f64,
    /// Upper end of the idle share.
    pub idle_max: f64,
    /// F_e of an edge server (Hz; F_e ≫ F_m, §III-C).
    pub f_edge_hz: f64,
    /// F of the cloud (Hz).
    pub f_cloud_hz: f64,
    /// α of (7) (1/s).
    pub alpha: f64,
    /// β of (7).
    pub beta: f64,
    /// V, the penalty weight of (12)/(13).
    pub penalty_v: f64,
    /// R_u of local processing (per demand unit).
    pub fee_local: f64,
    /// R_u of an MD.
    pub fee_md: f64,
    /// R_u of an edge server.
    pub fee_edge: f64,
    /// R_u of the cloud.
    pub fee_cloud: f64,
    /// Unit of rates in the cost terms D·x (22) and V_l·(Σx − c_l) (13) (bit/s; 1 Mbps).
    pub rate_unit_bps: f64,
    /// Rate levels: fractions of the route's bottleneck capacity (1 to 4 values in (0, 1]).
    pub rate_levels: Vec<f64>,
}

impl Default for CrowdConfig {
    fn default() -> Self {
        let (l1, l2, l3) = Case::III.lambdas();
        CrowdConfig {
            n_servers: 3,
            clusters_per_cell: 2,
            cluster_size_min: 5,
            cluster_size_max: 10,
            cluster_sizes: None,
            topology_seed: 1,
            md_candidates: 9,
            wireless_bps: 10e6,
            wired_bps: 30e6,
            backbone_bps: 100e6,
            slot_s: 1.0,
            horizon_slots: 3000,
            lambda1: l1,
            lambda2: l2,
            lambda3: l3,
            gap_min_slots: 5,
            gap_max_slots: 20,
            cycles_per_unit: 1e9,
            bits_per_mb: 8e6,
            f_md_hz: 2e9,
            idle_min: 0.2,
            idle_max: 1.0,
            f_edge_hz: 25e9,
            f_cloud_hz: 200e9,
            alpha: 0.5,
            beta: 0.5,
            penalty_v: 1.0,
            fee_local: 0.0,
            fee_md: 1.0,
            fee_edge: 2.0,
            fee_cloud: 4.0,
            rate_unit_bps: 1e6,
            rate_levels: vec![0.25, 0.5, 1.0],
        }
    }
}

fn f32_positive(field: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::config(field, v, "must be a finite number > 0"));
    }
    if v > f32::MAX as f64 || (v as f32) == 0.0 {
        return Err(Error::config(field, v, "out of f32 range"));
    }
    Ok(())
}

fn f32_non_negative(field: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0 && v <= f32::MAX as f64) {
        return Err(Error::config(field, v, "must be a finite number >= 0 (f32 range)"));
    }
    Ok(())
}

/// Most users per instance (32-bit indexing of [B, N, 3 + 3A] with room for batches).
pub const MAX_USERS: usize = 1 << 20;
/// Most edge servers (the per-agent loops over targets stay short).
pub const MAX_SERVERS: usize = 64;
/// Most MD candidates K.
pub const MAX_CANDIDATES: usize = 64;
/// Most rate levels (the kernels hold them in four parameter words).
pub const MAX_RATE_LEVELS: usize = 4;

impl CrowdConfig {
    /// This config with the λ of `case`.
    pub fn with_case(mut self, case: Case) -> Self {
        let (l1, l2, l3) = case.lambdas();
        self.lambda1 = l1;
        self.lambda2 = l2;
        self.lambda3 = l3;
        self
    }

    /// Check every field; errors name the field (prefixed `crowd.`) and the value.
    pub fn validate(&self) -> Result<()> {
        if self.n_servers == 0 || self.n_servers > MAX_SERVERS {
            return Err(Error::config("crowd.n_servers", self.n_servers, format!("must be in 1..={MAX_SERVERS}")));
        }
        if self.clusters_per_cell == 0 || self.clusters_per_cell > 64 {
            return Err(Error::config("crowd.clusters_per_cell", self.clusters_per_cell, "must be in 1..=64"));
        }
        if self.cluster_size_min == 0 {
            return Err(Error::config("crowd.cluster_size_min", self.cluster_size_min, "must be >= 1"));
        }
        if self.cluster_size_max < self.cluster_size_min {
            return Err(Error::config("crowd.cluster_size_max", self.cluster_size_max, "must be >= cluster_size_min"));
        }
        if let Some(sizes) = &self.cluster_sizes {
            let want = self.n_servers * self.clusters_per_cell;
            if sizes.len() != want {
                return Err(Error::config(
                    "crowd.cluster_sizes",
                    format!("{sizes:?}"),
                    format!("needs n_servers·clusters_per_cell = {want} entries"),
                ));
            }
            if let Some(z) = sizes.iter().find(|&&z| z == 0) {
                return Err(Error::config("crowd.cluster_sizes", z, "every cluster needs >= 1 MD"));
            }
        }
        let n = self.max_users();
        if n > MAX_USERS {
            return Err(Error::config("crowd.cluster_sizes", n, format!("at most {MAX_USERS} MDs in all")));
        }
        if self.md_candidates > MAX_CANDIDATES {
            return Err(Error::config(
                "crowd.md_candidates",
                self.md_candidates,
                format!("must be <= {MAX_CANDIDATES}"),
            ));
        }
        if self.horizon_slots == 0 || self.horizon_slots > u32::MAX as usize / 2 {
            return Err(Error::config("crowd.horizon_slots", self.horizon_slots, "must be in 1..=2^31-1"));
        }
        if self.gap_min_slots == 0 || self.gap_max_slots < self.gap_min_slots || self.gap_max_slots > 1 << 20 {
            return Err(Error::config(
                "crowd.gap_max_slots",
                format!("{}..={}", self.gap_min_slots, self.gap_max_slots),
                "need 1 <= gap_min_slots <= gap_max_slots <= 2^20",
            ));
        }
        for (f, v) in [
            ("crowd.wireless_bps", self.wireless_bps),
            ("crowd.wired_bps", self.wired_bps),
            ("crowd.backbone_bps", self.backbone_bps),
            ("crowd.slot_s", self.slot_s),
            ("crowd.cycles_per_unit", self.cycles_per_unit),
            ("crowd.bits_per_mb", self.bits_per_mb),
            ("crowd.f_md_hz", self.f_md_hz),
            ("crowd.idle_min", self.idle_min),
            ("crowd.f_edge_hz", self.f_edge_hz),
            ("crowd.f_cloud_hz", self.f_cloud_hz),
            ("crowd.rate_unit_bps", self.rate_unit_bps),
        ] {
            f32_positive(f, v)?;
        }
        for (f, v) in [
            ("crowd.lambda1", self.lambda1),
            ("crowd.lambda2", self.lambda2),
            ("crowd.lambda3", self.lambda3),
            ("crowd.penalty_v", self.penalty_v),
            ("crowd.fee_local", self.fee_local),
            ("crowd.fee_md", self.fee_md),
            ("crowd.fee_edge", self.fee_edge),
            ("crowd.fee_cloud", self.fee_cloud),
        ] {
            f32_non_negative(f, v)?;
        }
        for (f, v) in
            [("crowd.lambda1", self.lambda1), ("crowd.lambda2", self.lambda2), ("crowd.lambda3", self.lambda3)]
        {
            // Poisson means of a whole arrival event (K·λ) must stay far inside f32 and u32.
            if v > 1e4 {
                return Err(Error::config(f, v, "must be <= 1e4"));
            }
        }
        for (f, v) in [("crowd.alpha", self.alpha), ("crowd.beta", self.beta)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(Error::config(f, v, "must be in [0, 1] (eq. 7)"));
            }
        }
        if !(self.idle_max.is_finite() && self.idle_max >= self.idle_min && self.idle_max <= 1.0) {
            return Err(Error::config("crowd.idle_max", self.idle_max, "must be in [idle_min, 1]"));
        }
        if self.rate_levels.is_empty() || self.rate_levels.len() > MAX_RATE_LEVELS {
            return Err(Error::config(
                "crowd.rate_levels",
                format!("{:?}", self.rate_levels),
                format!("needs 1..={MAX_RATE_LEVELS} levels"),
            ));
        }
        if let Some(x) = self.rate_levels.iter().find(|&&x| !(x.is_finite() && x > 0.0 && x <= 1.0)) {
            return Err(Error::config("crowd.rate_levels", x, "every level must be in (0, 1]"));
        }
        let min_cell = self.cell_sizes_bounds().0;
        if self.md_candidates >= min_cell {
            return Err(Error::config(
                "crowd.md_candidates",
                self.md_candidates,
                format!("must be < the smallest cell ({min_cell} MDs) so the K neighbours are distinct"),
            ));
        }
        Ok(())
    }

    /// The largest N this config can produce (for validation before drawing).
    fn max_users(&self) -> usize {
        match &self.cluster_sizes {
            Some(s) => s.iter().sum(),
            None => self.n_servers * self.clusters_per_cell * self.cluster_size_max,
        }
    }

    /// (smallest possible cell, largest possible cell).
    fn cell_sizes_bounds(&self) -> (usize, usize) {
        match &self.cluster_sizes {
            Some(s) => {
                let cells: Vec<usize> = s.chunks(self.clusters_per_cell).map(|c| c.iter().sum()).collect();
                (*cells.iter().min().unwrap_or(&0), *cells.iter().max().unwrap_or(&0))
            }
            None => (self.clusters_per_cell * self.cluster_size_min, self.clusters_per_cell * self.cluster_size_max),
        }
    }

    /// The topology: cluster sizes given or drawn uniformly in [min, max] with Philox
    /// (`topology_seed`, element = cluster, stream [`CROWD_TOPOLOGY`]).
    pub fn topology(&self) -> Result<Topology> {
        self.validate()?;
        let n_clusters = self.n_servers * self.clusters_per_cell;
        let sizes: Vec<usize> = match &self.cluster_sizes {
            Some(s) => s.clone(),
            None => {
                let key = rng::key_of(self.topology_seed);
                let span = (self.cluster_size_max - self.cluster_size_min + 1) as u32;
                (0..n_clusters)
                    .map(|c| {
                        let w = rng::philox4x32_10(rng::counter(c as u32, 0, 0, CROWD_TOPOLOGY, 0), key);
                        self.cluster_size_min + rng::uniform_index(w[0], span) as usize
                    })
                    .collect()
            }
        };
        let mut cell_off = vec![0u32];
        for cell in sizes.chunks(self.clusters_per_cell) {
            let last = *cell_off.last().expect("starts with 0");
            cell_off.push(last + cell.iter().sum::<usize>() as u32);
        }
        Ok(Topology { cluster_sizes: sizes, cell_off, servers: self.n_servers, candidates: self.md_candidates })
    }

    /// The kernel parameter block for `b` instances of `topo`, `seed`, `policy`.
    pub fn params(&self, topo: &Topology, b: usize, seed: u64, policy: Policy) -> CrowdParams {
        let key = rng::key_of(seed);
        let lv = |k: usize| self.rate_levels.get(k).copied().unwrap_or(0.0) as f32;
        CrowdParams {
            b: b as u32,
            n: topo.users() as u32,
            s: self.n_servers as u32,
            k: self.md_candidates as u32,
            r: self.rate_levels.len() as u32,
            step: 0,
            key0: key[0],
            key1: key[1],
            policy: policy.code(),
            gap_lo: self.gap_min_slots as u32,
            gap_hi: self.gap_max_slots as u32,
            _pad0: 0,
            lambda1: self.lambda1 as f32,
            lambda2: self.lambda2 as f32,
            lambda3: self.lambda3 as f32,
            f_md: self.f_md_hz as f32,
            idle_lo: self.idle_min as f32,
            idle_hi: self.idle_max as f32,
            f_edge: self.f_edge_hz as f32,
            f_cloud: self.f_cloud_hz as f32,
            c_wireless: self.wireless_bps as f32,
            c_wired: self.wired_bps as f32,
            c_backbone: self.backbone_bps as f32,
            dt: self.slot_s as f32,
            alpha: self.alpha as f32,
            beta: self.beta as f32,
            v_penalty: self.penalty_v as f32,
            fee_local: self.fee_local as f32,
            fee_md: self.fee_md as f32,
            fee_edge: self.fee_edge as f32,
            fee_cloud: self.fee_cloud as f32,
            rate_unit: self.rate_unit_bps as f32,
            cycles_unit: self.cycles_per_unit as f32,
            bits_per_mb: self.bits_per_mb as f32,
            lv0: lv(0),
            lv1: lv(1),
            lv2: lv(2),
            lv3: lv(3),
            _pad1: 0.0,
            _pad2: 0.0,
        }
    }
}

/// Philox stream ids of `crowd` (kept apart from the other systems' ids).
pub const CROWD_TOPOLOGY: u32 = 0x40;
/// First arrival countdown at reset.
pub const CROWD_RESET: u32 = 0x41;
/// Per slot: MD idle share (word 0) and the next gap (word 1).
pub const CROWD_SLOT: u32 = 0x42;
/// Tasks per arrival event, Poisson(λ1).
pub const CROWD_TASKS: u32 = 0x43;
/// Demand of an event, Poisson(K·λ2).
pub const CROWD_DEMAND: u32 = 0x44;
/// Data of an event, Poisson(K·λ3).
pub const CROWD_DATA: u32 = 0x45;
/// Random policy.
pub const CROWD_RANDOM: u32 = 0x46;

/// The fixed topology shared by every instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// MDs per cluster, clusters of cell 0 first.
    pub cluster_sizes: Vec<usize>,
    /// [S + 1] first MD of each cell, then N.
    pub cell_off: Vec<u32>,
    /// S.
    pub servers: usize,
    /// K.
    pub candidates: usize,
}

impl Topology {
    /// N, users = MDs.
    pub fn users(&self) -> usize {
        *self.cell_off.last().expect("cell_off has S + 1 entries") as usize
    }
    /// U = N + S + 1 computation units.
    pub fn units(&self) -> usize {
        self.users() + self.servers + 1
    }
    /// L = N + S(S−1)/2 + S links.
    pub fn links(&self) -> usize {
        self.users() + self.servers * (self.servers - 1) / 2 + self.servers
    }
    /// A = K + S + 2 target slots.
    pub fn targets(&self) -> usize {
        self.candidates + self.servers + 2
    }
    /// Observation width 3 + 3A.
    pub fn obs_dim(&self) -> usize {
        3 + 3 * self.targets()
    }
}

/// Parameter block shared by every `crowd_*` kernel (mirrored in `kernels/env/crowd.cu` and
/// `shaders/env/crowd.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CrowdParams {
    /// B, instances.
    pub b: u32,
    /// N, users = MDs.
    pub n: u32,
    /// S, edge servers = cells.
    pub s: u32,
    /// K, MD candidates per user.
    pub k: u32,
    /// R, rate levels.
    pub r: u32,
    /// Running slot counter (Philox counter word 2).
    pub step: u32,
    /// Philox key word 0.
    pub key0: u32,
    /// Philox key word 1.
    pub key1: u32,
    /// [`Policy::code`].
    pub policy: u32,
    /// Shortest arrival gap (slots).
    pub gap_lo: u32,
    /// Longest arrival gap (slots).
    pub gap_hi: u32,
    /// Padding.
    pub _pad0: u32,
    /// λ1.
    pub lambda1: f32,
    /// λ2 (units).
    pub lambda2: f32,
    /// λ3 (MB).
    pub lambda3: f32,
    /// Peak MD frequency (Hz).
    pub f_md: f32,
    /// Idle share low.
    pub idle_lo: f32,
    /// Idle share high.
    pub idle_hi: f32,
    /// F_e (Hz).
    pub f_edge: f32,
    /// F of the cloud (Hz).
    pub f_cloud: f32,
    /// Wireless c_l (bit/s).
    pub c_wireless: f32,
    /// Wired c_l (bit/s).
    pub c_wired: f32,
    /// Backbone c_l (bit/s).
    pub c_backbone: f32,
    /// Δt (s).
    pub dt: f32,
    /// α.
    pub alpha: f32,
    /// β.
    pub beta: f32,
    /// V.
    pub v_penalty: f32,
    /// R_local.
    pub fee_local: f32,
    /// R_md.
    pub fee_md: f32,
    /// R_edge.
    pub fee_edge: f32,
    /// R_cloud.
    pub fee_cloud: f32,
    /// Rate unit (bit/s).
    pub rate_unit: f32,
    /// Cycles per demand unit.
    pub cycles_unit: f32,
    /// Bits per MB.
    pub bits_per_mb: f32,
    /// Rate level 0.
    pub lv0: f32,
    /// Rate level 1.
    pub lv1: f32,
    /// Rate level 2.
    pub lv2: f32,
    /// Rate level 3.
    pub lv3: f32,
    /// Padding.
    pub _pad1: f32,
    /// Padding.
    pub _pad2: f32,
}

/// Columns of the `slot` metrics buffer [B, 16] (values of the slot just stepped).
pub mod metric {
    /// Reward (13).
    pub const REWARD: usize = 0;
    /// Σ cost (7) of the dispatched bundles.
    pub const COST: usize = 1;
    /// Σ E (6) of the dispatched bundles (s).
    pub const DELAY: usize = 2;
    /// Σ o of the dispatched bundles (MB).
    pub const DATA_MB: usize = 3;
    /// Bundles dispatched.
    pub const BUNDLES: usize = 4;
    /// Mean load rate Q_u(t+1) / (F_u Δt) over MDs.
    pub const LOAD_MD: usize = 5;
    /// … over edge servers.
    pub const LOAD_EDGE: usize = 6;
    /// … of the cloud.
    pub const LOAD_CLOUD: usize = 7;
    /// Mean link load rate V_l(t+1) / (c_l Δt) over wireless (edge-to-device, E2D) links.
    pub const LINK_E2D: usize = 8;
    /// … over wired BS–BS (edge-to-edge, E2E) links (0 when S = 1).
    pub const LINK_E2E: usize = 9;
    /// … over backbone links.
    pub const LINK_CLOUD: usize = 10;
    /// Σ_u demand arriving at units this slot (cycles).
    pub const IN_CYCLES: usize = 11;
    /// Σ_u cycles served this slot.
    pub const SERVED_CYCLES: usize = 12;
    /// Σ_l Σ x Δt entering the virtual queues (bits).
    pub const IN_BITS: usize = 13;
    /// Σ_l bits the virtual queues served this slot.
    pub const SERVED_BITS: usize = 14;
    /// Σ_l V_l (Σx − c_l) / unit² (the drift term of (13)).
    pub const DRIFT: usize = 15;
    /// Width.
    pub const WIDTH: usize = 16;
}

/// Columns of the cumulative `counts` buffer [B, 8] (tasks, not bundles, unless named).
pub mod count {
    /// Tasks generated.
    pub const GENERATED: usize = 0;
    /// Tasks processed locally.
    pub const LOCAL: usize = 1;
    /// Tasks offloaded to another MD.
    pub const MD: usize = 2;
    /// Tasks offloaded to an edge server.
    pub const EDGE: usize = 3;
    /// Tasks offloaded to the cloud.
    pub const CLOUD: usize = 4;
    /// Tasks refused (invalid device action).
    pub const REFUSED: usize = 5;
    /// Bundles (arrival events with ≥ 1 task).
    pub const BUNDLES: usize = 6;
    /// Slots stepped.
    pub const SLOTS: usize = 7;
    /// Width.
    pub const WIDTH: usize = 8;
}
