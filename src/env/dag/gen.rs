//! DAGGEN-style random task graphs (docs/dag.md; the MRLCO paper §5 cites DAGGEN, \[27\]).
//!
//! The algorithm follows DAGGEN (F. Suter, S. Hunold; `daggen.c`, `generateTasks` and
//! `generateDependencies`), with its randomness drawn from mecrl's Philox so that a graph is a
//! pure function of `(config, seed, index)`:
//!
//! 1. **Levels.** The ideal width is `⌊exp(fat · ln n)⌋ = ⌊n^fat⌋` tasks (DAGGEN's formula: `fat`
//!    = 0 gives a chain, 1 a single level of `n` tasks). Each level draws its width "around" the
//!    ideal by ±`100·(1 − regularity)` percent: `max(1, ⌊w·(1 + r/100)⌋)` with `r` uniform in
//!    `[−p, p)`; the last level is cut so the widths sum to `n`. `regularity` = 1 gives equal
//!    levels.
//! 2. **Dependencies.** Every task of level `i ≥ 1` draws `min(1 + ⌊u · density · w_{i−1}⌋,
//!    w_{i−1})` parents (`u` uniform in [0, 1)), so it has at least one parent and `density` = 1
//!    approaches a complete bipartite link between levels. Each parent's level is `i − j` with `j`
//!    uniform in `1..=jump` (clamped at level 0), its position uniform in that level; when the drawn
//!    task is already a parent the next position (cyclically) is tried, and the draw is dropped
//!    when the whole level already feeds this task (DAGGEN's rule). Edges therefore always go from
//!    a lower level to a higher one: the graph is acyclic. Level 0 tasks have no parents; sources
//!    and sinks need not be unique (as in DAGGEN).
//! 3. **Numbering.** Tasks are numbered level by level (DAGGEN's tag order), and edges are listed
//!    by parent, then by child, i.e. DAGGEN's DOT order (a node line followed by its out-edges).
//! 4. **Profiles** (the attributes MRLCO's DAGGEN writes): `size` and `expect_size` uniform
//!    integers in `[⌈data_min⌉, ⌊data_max⌋]` bytes (the paper: 5–50 KB each way; KB = 1024 B;
//!    a range holding no integer gives real values in it);
//!    `alpha` uniform in `[alpha_min, alpha_max]` rounded to 2 decimals (DAGGEN prints `%.2f`);
//!    the graph's `ccr` is uniform in `[ccr_min, ccr_max]` (the paper draws it in [0.3, 0.5] per
//!    DAG) and an edge carries `round(ccr · size(parent))` bytes — communication / computation
//!    with computation measured in the same bytes (mecrl's latency model, docs/dag.md, uses node
//!    bytes only and ignores edge sizes; CPU-cycle ranges are not generated since [`Dag`] has no
//!    cycles field and `size` doubles as the computation).
//!
//! Randomness: counter `(draw, index, phase, DAG_GEN_STREAM)`, key `key_of(seed)`; each Philox
//! block gives 4 words, used in order. Phases: 0 level widths, 1 dependencies, 2 profiles.

use serde::{Deserialize, Serialize};

use super::Dag;
use crate::error::{Error, Result};
use crate::rng;

/// Philox stream id of the DAG generator (counter word 3). Chosen away from the `mec` / Lévy
/// streams of [`crate::rng::stream`].
pub const DAG_GEN_STREAM: u32 = 0x0D01;

/// Largest `n` the generator accepts.
pub const MAX_TASKS: usize = 10_000;

/// Parameters of the generator; the names are DAGGEN's. Defaults: the paper's experiment 1
/// (n = 20, fat = density = 0.5, ccr in [0.3, 0.5], data 5–50 KB) with DAGGEN's defaults for
/// regularity (0.9 in `daggen.c`; we use 0.5) and jump (1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DagGenConfig {
    /// n, number of tasks (1..=[`MAX_TASKS`]).
    pub n: usize,
    /// Width exponent in [0, 1]: the ideal level width is ⌊n^fat⌋.
    pub fat: f64,
    /// Dependency density in [0, 1]: fraction of the previous level a task draws as parents.
    pub density: f64,
    /// Regularity in [0, 1] of the level widths: 1 = all levels equal, 0 = ±100 % variation.
    pub regularity: f64,
    /// Maximum number of levels an edge may span (≥ 1; 1 = edges between consecutive levels).
    pub jump: u32,
    /// Lower end of the communication-to-computation ratio drawn per graph (≥ 0).
    pub ccr_min: f64,
    /// Upper end of the ccr range (≥ `ccr_min`).
    pub ccr_max: f64,
    /// Smallest task data size (bytes), for both `size` and `expect_size` (> 0).
    pub data_min: f64,
    /// Largest task data size (bytes, ≥ `data_min`).
    pub data_max: f64,
    /// Lower end of DAGGEN's Amdahl parameter `alpha` (≥ 0).
    pub alpha_min: f64,
    /// Upper end of `alpha` (≥ `alpha_min`).
    pub alpha_max: f64,
}

impl Default for DagGenConfig {
    fn default() -> Self {
        DagGenConfig {
            n: 20,
            fat: 0.5,
            density: 0.5,
            regularity: 0.5,
            jump: 1,
            ccr_min: 0.3,
            ccr_max: 0.5,
            data_min: 5.0 * 1024.0,
            data_max: 50.0 * 1024.0,
            alpha_min: 0.0,
            alpha_max: 0.2,
        }
    }
}

fn unit(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be in [0, 1]"))
    }
}

fn range(lo_field: &str, lo: f64, hi_field: &str, hi: f64, positive: bool) -> Result<()> {
    let lo_ok = lo.is_finite() && if positive { lo > 0.0 } else { lo >= 0.0 };
    if !lo_ok || lo > 1e15 {
        let why =
            if positive { "must be a finite number in (0, 1e15]" } else { "must be a finite number in [0, 1e15]" };
        return Err(Error::config(lo_field, lo, why));
    }
    if !(hi.is_finite() && hi >= lo && hi <= 1e15) {
        return Err(Error::config(hi_field, hi, format!("must be finite, ≥ {lo_field} ({lo}) and ≤ 1e15")));
    }
    Ok(())
}

impl DagGenConfig {
    /// Check every field; the error names the field (`dag_gen.<field>`), its value and the rule.
    pub fn validate(&self) -> Result<()> {
        if self.n == 0 || self.n > MAX_TASKS {
            return Err(Error::config("dag_gen.n", self.n, format!("must be in 1..={MAX_TASKS}")));
        }
        unit("dag_gen.fat", self.fat)?;
        unit("dag_gen.density", self.density)?;
        unit("dag_gen.regularity", self.regularity)?;
        if self.jump == 0 || self.jump > 1000 {
            return Err(Error::config("dag_gen.jump", self.jump, "must be in 1..=1000"));
        }
        range("dag_gen.ccr_min", self.ccr_min, "dag_gen.ccr_max", self.ccr_max, false)?;
        range("dag_gen.data_min", self.data_min, "dag_gen.data_max", self.data_max, true)?;
        range("dag_gen.alpha_min", self.alpha_min, "dag_gen.alpha_max", self.alpha_max, false)?;
        Ok(())
    }
}

/// Sequential uniform draws from Philox blocks `(draw, index, phase, DAG_GEN_STREAM)`.
struct Draws {
    key: [u32; 2],
    index: u32,
    phase: u32,
    block: u32,
    buf: [u32; 4],
    used: usize,
}

impl Draws {
    fn new(seed: u64, index: u32, phase: u32) -> Self {
        Draws { key: rng::key_of(seed), index, phase, block: 0, buf: [0; 4], used: 4 }
    }
    fn word(&mut self) -> u32 {
        if self.used == 4 {
            self.buf =
                rng::philox4x32_10(rng::counter(self.block, self.index, self.phase, DAG_GEN_STREAM, 0), self.key);
            self.block = self.block.wrapping_add(1);
            self.used = 0;
        }
        self.used += 1;
        self.buf[self.used - 1]
    }
    /// Uniform in [0, 1) (24 bits, [`rng::uniform`]).
    fn unit(&mut self) -> f64 {
        rng::uniform(self.word()) as f64
    }
    /// Uniform in [lo, hi).
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform integer in 0..n (n ≥ 1).
    fn index(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n - 1)
    }
}

/// Level widths (phase 0), summing to `n`.
pub fn level_widths(cfg: &DagGenConfig, seed: u64, index: u32) -> Vec<usize> {
    let mut d = Draws::new(seed, index, 0);
    let n = cfg.n;
    let ideal = ((cfg.fat * (n as f64).ln()).exp() + 1e-9).floor().max(1.0);
    let perc = 100.0 - 100.0 * cfg.regularity;
    let mut widths = Vec::new();
    let mut total = 0usize;
    while total < n {
        let r = d.between(-perc, perc);
        let w = ((ideal * (1.0 + r / 100.0)).floor() as usize).max(1).min(n - total);
        widths.push(w);
        total += w;
    }
    widths
}

/// Generate task graph number `index` of the set drawn with `seed`: a pure function of its
/// arguments. Errors: [`Error::Config`] from [`DagGenConfig::validate`].
pub fn generate(cfg: &DagGenConfig, seed: u64, index: u32) -> Result<Dag> {
    cfg.validate()?;
    let n = cfg.n;
    let widths = level_widths(cfg, seed, index);
    // First task index of each level.
    let mut start = Vec::with_capacity(widths.len());
    let mut acc = 0usize;
    for &w in &widths {
        start.push(acc);
        acc += w;
    }

    // Dependencies: parents[child] in draw order.
    let mut d = Draws::new(seed, index, 1);
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
    // stamp[t] == child + 1 when t is already a parent of `child` (O(1) membership).
    let mut stamp = vec![0usize; n];
    for lvl in 1..widths.len() {
        let prev_w = widths[lvl - 1];
        for j in 0..widths[lvl] {
            let child = start[lvl] + j;
            let want = (1 + (d.unit() * cfg.density * prev_w as f64) as usize).min(prev_w);
            for _ in 0..want {
                let back = 1 + d.index(cfg.jump as usize);
                let pl = lvl.saturating_sub(back);
                let w = widths[pl];
                let mut pos = d.index(w);
                let mut tries = 0;
                while tries < w && stamp[start[pl] + pos] == child + 1 {
                    pos = (pos + 1) % w;
                    tries += 1;
                }
                if tries < w {
                    stamp[start[pl] + pos] = child + 1;
                    parents[child].push(start[pl] + pos);
                }
            }
        }
    }

    // Profiles.
    let mut d = Draws::new(seed, index, 2);
    let ccr = d.between(cfg.ccr_min, cfg.ccr_max);
    let mut size = vec![0.0; n];
    let mut expect_size = vec![0.0; n];
    let mut alpha = vec![0.0; n];
    let (lo, hi) = (cfg.data_min.ceil(), cfg.data_max.floor());
    let bytes = |d: &mut Draws| -> f64 {
        if lo > hi {
            d.between(cfg.data_min, cfg.data_max)
        } else {
            (lo + (d.unit() * (hi - lo + 1.0)).floor()).min(hi)
        }
    };
    for k in 0..n {
        size[k] = bytes(&mut d);
        expect_size[k] = bytes(&mut d);
        alpha[k] = (d.between(cfg.alpha_min, cfg.alpha_max) * 100.0).round() / 100.0;
    }

    // Edges by parent (DAGGEN's DOT order), then by the child's draw order.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (c, ps) in parents.iter().enumerate() {
        for &p in ps {
            children[p].push(c);
        }
    }
    let mut edges = Vec::new();
    for (p, cs) in children.iter().enumerate() {
        for &c in cs {
            edges.push((p, c, (ccr * size[p]).round()));
        }
    }
    Ok(Dag { size, expect_size, alpha, edges })
}
