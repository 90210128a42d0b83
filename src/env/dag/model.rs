//! The latency model of MRLCO (MRLCO paper eq. 4–8, rank order eq. 10) in two semantics, the
//! Greedy / all-local / all-MEC baselines and the exhaustive optimum, on the CPU (f64).
//! Costs (docs/dag.md, the published implementation's units): every task's computation is its
//! `size` in bytes at a processing speed in bytes/s (UE 2^20 B/s, MEC 10·2^20 B/s by default);
//! upload = `size` / R_ul, download = `expect_size` / R_dl with R = Mbps · 2^20 / 8 bytes/s.
//!
//! `reference` reproduces `get_scheduling_cost_step_by_step` of the published MRLCO code:
//! - local task: starts at max(UE free, each parent's local finish or download finish);
//! - offloaded task with parents: upload starts at max(uplink free, each parent's local finish or
//!   *upload* finish) and occupies the uplink; MEC start = max(MEC free, its upload finish, each
//!   parent's MEC finish); the download starts at the MEC finish (no downlink contention);
//! - offloaded task without parents: its upload starts when the uplink is free but does **not**
//!   occupy it (the published code never updates the uplink's availability in that branch —
//!   reproduced on purpose, it changes the numbers);
//! - makespan = the running maximum of every scheduled task's finish time.
//!
//! `paper` follows eq. (5)–(8) as printed: resource availabilities M are running maxima of the
//! previous finish times on that resource (uplink, MEC, downlink, UE — so downloads contend), an
//! upload waits for each parent's local or download finish, and the makespan is the maximum over
//! exit tasks of their local or download finish.
//!
//! Plans are given per priority position: `plan[k]` is the decision (0 local, 1 offload) of the
//! k-th task in rank order. The exhaustive search enumerates plan indices 0..2^n with position 0
//! as the most significant bit (the published enumeration), and returns the first minimum.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Dag;
use crate::error::{Error, Result};

/// Which scheduling rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Semantics {
    /// The published MRLCO implementation (produced the paper's Table 3).
    #[default]
    Reference,
    /// Eq. (5)–(8) as printed.
    Paper,
}

/// Resources of the UE–MEC system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DagSystem {
    /// UE processing speed (bytes/s).
    pub ue_speed: f64,
    /// MEC processing speed (bytes/s).
    pub mec_speed: f64,
    /// Uplink rate (Mbps, 1 Mb = 2^20 bits).
    pub rate_up_mbps: f64,
    /// Downlink rate (Mbps).
    pub rate_down_mbps: f64,
    /// Scheduling rules.
    pub semantics: Semantics,
    /// Largest n the exhaustive optimum accepts.
    pub max_optimal_tasks: usize,
    /// What the HEFT-based baseline reports.
    pub heft: HeftMode,
}

/// What the HEFT-based baseline reports (MRLCO paper §5: "prioritizes tasks based on HEFT and then
/// schedules each task with earliest estimated finish time").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HeftMode {
    /// The finish time of its own schedule (tasks in HEFT order), as the paper describes. The
    /// order differs from the rank order every plan of the MDP follows, so on some graphs it is
    /// below Optimal (the best plan in rank order).
    #[default]
    OwnSchedule,
    /// Its decisions run by the system in rank order like any plan (then Optimal ≤ HEFT).
    RankOrderPlan,
}

impl Default for DagSystem {
    fn default() -> Self {
        DagSystem {
            ue_speed: 1024.0 * 1024.0,
            mec_speed: 10.0 * 1024.0 * 1024.0,
            rate_up_mbps: 7.0,
            rate_down_mbps: 7.0,
            semantics: Semantics::Reference,
            max_optimal_tasks: 24,
            heft: HeftMode::OwnSchedule,
        }
    }
}

impl DagSystem {
    /// Check every field (names prefixed `dag.`).
    pub fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("dag.ue_speed", self.ue_speed),
            ("dag.mec_speed", self.mec_speed),
            ("dag.rate_up_mbps", self.rate_up_mbps),
            ("dag.rate_down_mbps", self.rate_down_mbps),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(f, v, "must be a finite number > 0"));
            }
        }
        if self.max_optimal_tasks > 30 {
            return Err(Error::config("dag.max_optimal_tasks", self.max_optimal_tasks, "at most 30 (2^30 plans)"));
        }
        Ok(())
    }
}

/// Per-task times (s) of eq. (4).
#[derive(Clone, Debug, PartialEq)]
pub struct Costs {
    /// T^UE: local execution.
    pub local: Vec<f64>,
    /// T^ul: upload.
    pub up: Vec<f64>,
    /// T^s: MEC execution.
    pub mec: Vec<f64>,
    /// T^dl: download.
    pub down: Vec<f64>,
}

/// A DOT size (bytes) as the model reads it: the published parser keeps `int(eval(size))`, so
/// `reference` truncates toward zero; `paper` keeps the value.
#[inline]
pub fn bytes(x: f64, semantics: Semantics) -> f64 {
    match semantics {
        Semantics::Reference => x.trunc(),
        Semantics::Paper => x,
    }
}

/// Eq. (4) in the reference units: bytes over bytes/s.
pub fn costs(dag: &Dag, sys: &DagSystem) -> Costs {
    let up_rate = sys.rate_up_mbps * (1024.0 * 1024.0 / 8.0);
    let down_rate = sys.rate_down_mbps * (1024.0 * 1024.0 / 8.0);
    let b = |x: &f64| bytes(*x, sys.semantics);
    Costs {
        local: dag.size.iter().map(|s| b(s) / sys.ue_speed).collect(),
        up: dag.size.iter().map(|s| b(s) / up_rate).collect(),
        mec: dag.size.iter().map(|s| b(s) / sys.mec_speed).collect(),
        down: dag.expect_size.iter().map(|s| b(s) / down_rate).collect(),
    }
}

/// Eq. (10): rank = w + max over children of rank, w = min(local, upload + MEC + download);
/// returns task ids by rank descending, parents first. Ties go to the larger id first, as the
/// published code's reversed `argsort` does.
pub fn rank_order(dag: &Dag, c: &Costs) -> Vec<usize> {
    let w: Vec<f64> = (0..dag.n()).map(|i| c.local[i].min(c.up[i] + c.mec[i] + c.down[i])).collect();
    order_by_upward_rank(dag, &w)
}

/// Task ids by upward rank (rank = w + max over children of rank) descending, ties larger id
/// first (a stable ascending sort, reversed), parents first; iterative (deep graphs are fine).
pub fn order_by_upward_rank(dag: &Dag, w: &[f64]) -> Vec<usize> {
    let n = dag.n();
    let children = dag.children();
    let mut rank = vec![f64::NAN; n];
    let mut stack: Vec<(usize, bool)> = Vec::new();
    for root in 0..n {
        stack.push((root, false));
        while let Some((i, expanded)) = stack.pop() {
            if !rank[i].is_nan() {
                continue;
            }
            if expanded {
                let best = children[i].iter().map(|&j| rank[j]).fold(f64::NEG_INFINITY, f64::max);
                rank[i] = if children[i].is_empty() { w[i] } else { w[i] + best };
            } else {
                stack.push((i, true));
                stack.extend(children[i].iter().filter(|&&j| rank[j].is_nan()).map(|&j| (j, false)));
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| rank[a].total_cmp(&rank[b]));
    order.reverse();
    parents_first(dag, &children, order)
}

/// `order` made topological: each next task is the earliest of `order` whose parents are placed
/// (unchanged when every w > 0; a w = 0 tie no longer puts a child before its parent).
fn parents_first(dag: &Dag, children: &[Vec<usize>], order: Vec<usize>) -> Vec<usize> {
    let mut pos = vec![0usize; order.len()];
    order.iter().enumerate().for_each(|(k, &i)| pos[i] = k);
    let mut waiting: Vec<usize> = dag.parents().iter().map(Vec::len).collect();
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> =
        (0..order.len()).filter(|&i| waiting[i] == 0).map(|i| std::cmp::Reverse(pos[i])).collect();
    let mut out = Vec::with_capacity(order.len());
    while let Some(std::cmp::Reverse(k)) = ready.pop() {
        out.push(order[k]);
        for &j in &children[order[k]] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(std::cmp::Reverse(pos[j]));
            }
        }
    }
    out
}

/// A DAG prepared for repeated makespan evaluations: rank order, costs and parents.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Task ids in scheduling (rank) order.
    pub order: Vec<usize>,
    /// Eq. (4) times.
    pub costs: Costs,
    /// Parents of each task.
    pub parents: Vec<Vec<usize>>,
    /// Whether each task is an exit task (no children).
    pub exit: Vec<bool>,
    /// Scheduling rules.
    pub semantics: Semantics,
    /// Parent positions of each rank position (all smaller).
    pos_parents: Vec<Vec<usize>>,
    /// (T^UE, T^ul, T^s, T^dl) by rank position.
    pos_cost: Vec<[f64; 4]>,
    /// Exit flag by rank position.
    pos_exit: Vec<bool>,
    /// Parents as the embeddings list them: under `reference` only edges whose (truncated) size
    /// exceeds 0.1 (the published encoder reads the dependency matrix), else every parent.
    emb_parents: Vec<Vec<usize>>,
}

impl Prepared {
    /// Costs, rank order and parent lists of `dag` under `sys`.
    pub fn new(dag: &Dag, sys: &DagSystem) -> Result<Self> {
        sys.validate()?;
        let costs = costs(dag, sys);
        let order = rank_order(dag, &costs);
        let exit: Vec<bool> = dag.children().iter().map(|c| c.is_empty()).collect();
        let parents = dag.parents();
        let mut pos = vec![0usize; order.len()];
        for (k, &i) in order.iter().enumerate() {
            pos[i] = k;
        }
        let mut emb_parents = vec![Vec::new(); dag.n()];
        for &(a, b, w) in &dag.edges {
            if sys.semantics == Semantics::Paper || bytes(w, sys.semantics) > 0.1 {
                emb_parents[b].push(a);
            }
        }
        let c = &costs;
        Ok(Prepared {
            emb_parents,
            pos_parents: order.iter().map(|&i| parents[i].iter().map(|&j| pos[j]).collect()).collect(),
            pos_cost: order.iter().map(|&i| [c.local[i], c.up[i], c.mec[i], c.down[i]]).collect(),
            pos_exit: order.iter().map(|&i| exit[i]).collect(),
            order,
            costs,
            parents,
            exit,
            semantics: sys.semantics,
        })
    }

    /// Number of tasks.
    pub fn n(&self) -> usize {
        self.order.len()
    }

    /// Makespan of `plan` (decision per priority position; nonzero = offload) under the
    /// semantics' rules (eq. 5–8 or the published code; see `step`).
    pub fn makespan(&self, plan: &[u8], scratch: &mut Scratch) -> f64 {
        let mut st = State::default();
        for (k, &x) in plan.iter().enumerate().take(self.n()) {
            st = self.step(k, x != 0, st, &mut scratch.ft);
        }
        st.span
    }

    /// Per-step increments ΔT_c of the makespan so far (the reward is −ΔT_c): with `reference`
    /// the running maximum of all finishes, with `paper` of the exit tasks' finishes.
    pub fn increments(&self, plan: &[u8]) -> Vec<f64> {
        let mut ft = vec![[0.0f64; 4]; self.n()];
        let mut st = State::default();
        let mut d = Vec::with_capacity(self.n());
        for (k, &x) in plan.iter().enumerate().take(self.n()) {
            let next = self.step(k, x != 0, st, &mut ft);
            d.push(next.span - st.span);
            st = next;
        }
        d
    }

    /// Makespan of plan index `idx` (bit n−1−k = decision of position k).
    pub fn makespan_of_index(&self, idx: u64, s: &mut Scratch) -> f64 {
        let n = self.n();
        for k in 0..n {
            s.plan[k] = ((idx >> (n - 1 - k)) & 1) as u8;
        }
        let plan = std::mem::take(&mut s.plan);
        let t = self.makespan(&plan, s);
        s.plan = plan;
        t
    }

    /// The exhaustive optimum over all 2^n plans: (makespan, plan index of the first minimum).
    pub fn optimal(&self, max_tasks: usize) -> Result<(f64, u64)> {
        let n = self.n();
        if n > max_tasks {
            return Err(Error::config(
                "dag.max_optimal_tasks",
                max_tasks,
                format!("the graph has {n} tasks: exhaustive search over 2^{n} plans is refused"),
            ));
        }
        // Depth-first over the decisions in rank order, 0 before 1, so leaves come in plan-index
        // order (position 0 = most significant bit) and the first minimum is kept. A prefix's
        // state is shared by all its completions: 2^(n+1) task steps instead of n·2^n.
        let split = n.min(8);
        let global = AtomicU64::new(f64::INFINITY.to_bits());
        let best = (0..1u64 << split)
            .into_par_iter()
            .map(|prefix| self.search_subtree(prefix, split, &global))
            .reduce(|| (f64::INFINITY, u64::MAX), |a, b| if b.0 < a.0 || (b.0 == a.0 && b.1 < a.1) { b } else { a });
        Ok(best)
    }

    /// The published Greedy: each task in rank order goes to the side where it would finish
    /// earlier (ties to the MEC), committing that side's resources; the result is the Greedy's
    /// own finish-time account, as the published code reports it, and its plan.
    pub fn greedy(&self) -> (f64, Vec<u8>) {
        self.earliest_finish(&self.order)
    }

    /// HEFT-based (MRLCO paper §5, adapted from HEFT): tasks by HEFT's upward rank with the mean
    /// of the two execution options as the task weight, w̄ = (T^UE + T^ul + T^s + T^dl) / 2,
    /// and no separate edge cost (the model moves data with a task's own upload/download);
    /// then each task goes to the side with the earlier estimated finish, as in [`Self::greedy`].
    /// Returns its finish-time account and its plan (decision per task of `heft_order`).
    pub fn heft(&self, dag: &Dag) -> (f64, Vec<u8>, Vec<usize>) {
        let c = &self.costs;
        let w: Vec<f64> = (0..self.n()).map(|i| 0.5 * (c.local[i] + c.up[i] + c.mec[i] + c.down[i])).collect();
        let order = order_by_upward_rank(dag, &w);
        let (t, plan) = self.earliest_finish(&order);
        (t, plan, order)
    }

    /// Earliest-finish assignment in `order` (the published Greedy's accounting).
    fn earliest_finish(&self, order: &[usize]) -> (f64, Vec<u8>) {
        let n = self.n();
        let c = &self.costs;
        let mut s = TaskTimes::new(n);
        let (mut local_free, mut up_free, mut mec_free) = (0.0f64, 0.0f64, 0.0f64);
        let mut plan = vec![0u8; n];
        for (k, &i) in order.iter().enumerate() {
            let par = &self.parents[i];
            let mut start = local_free;
            for &j in par {
                start = start.max(s.ft_local[j].max(s.ft_down[j]));
            }
            s.ft_local[i] = start + c.local[i];
            if par.is_empty() {
                s.ft_up[i] = up_free + c.up[i];
                s.ft_mec[i] = mec_free.max(s.ft_up[i]) + c.mec[i];
            } else {
                let mut us = up_free;
                for &j in par {
                    us = us.max(s.ft_local[j].max(s.ft_up[j]));
                }
                s.ft_up[i] = us + c.up[i];
                let mut ms = mec_free;
                for &j in par {
                    ms = ms.max(s.ft_up[i].max(s.ft_mec[j]));
                }
                s.ft_mec[i] = ms + c.mec[i];
            }
            s.ft_down[i] = s.ft_mec[i] + c.down[i];
            if s.ft_local[i] < s.ft_down[i] {
                local_free = s.ft_local[i];
                s.ft_down[i] = 0.0;
                s.ft_mec[i] = 0.0;
                s.ft_up[i] = 0.0;
            } else {
                plan[k] = 1;
                s.ft_local[i] = 0.0;
                mec_free = s.ft_mec[i];
                up_free = s.ft_up[i];
            }
        }
        let t = s.ft_down.iter().chain(&s.ft_local).fold(0.0f64, |a, &b| a.max(b));
        (t, plan)
    }
}

impl Prepared {
    /// The task embeddings of the MDP in rank order (the published encoding): per task
    /// `[id, T^UE, T^ul, T^s, T^dl, p parent ids, p child ids]`, where the parents are the
    /// first `p` parents with a smaller id and the children the first `p` children with a larger
    /// id (ascending), padded with −1. Row-major [n, 5 + 2p]. Under `reference` an edge of size
    /// 0 (after truncation) is not listed, as the published encoder reads sizes > 0.1 only.
    pub fn embeddings(&self, p: usize) -> Vec<f32> {
        let n = self.n();
        let c = &self.costs;
        let mut children = vec![Vec::new(); n];
        for (i, ps) in self.emb_parents.iter().enumerate() {
            for &j in ps {
                children[j].push(i);
            }
        }
        let mut out = Vec::with_capacity(n * (5 + 2 * p));
        for &i in &self.order {
            out.extend([i as f32, c.local[i] as f32, c.up[i] as f32, c.mec[i] as f32, c.down[i] as f32]);
            let mut ps: Vec<usize> = self.emb_parents[i].iter().copied().filter(|&j| j < i).collect();
            ps.sort_unstable();
            ps.dedup();
            let mut cs: Vec<usize> = children[i].iter().copied().filter(|&j| j > i).collect();
            cs.sort_unstable();
            cs.dedup();
            for list in [ps, cs] {
                for k in 0..p {
                    out.push(list.get(k).map(|&j| j as f32).unwrap_or(-1.0));
                }
            }
        }
        out
    }
}

/// The published reward scaling: a step's reward is −(ΔT − min) / (max − min) with
/// max = the largest of (upload, download, local time) of the largest data size of the graph
/// and min = the MEC time of the smallest, over task sizes and edge sizes (entries > 0.01).
pub fn reward_scale(dag: &Dag, sys: &DagSystem) -> (f64, f64) {
    let sizes = dag
        .size
        .iter()
        .copied()
        .chain(dag.edges.iter().map(|e| e.2))
        .map(|x| bytes(x, sys.semantics))
        .filter(|&x| x > 0.01);
    let (lo, hi) = sizes.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let up = sys.rate_up_mbps * (1024.0 * 1024.0 / 8.0);
    let down = sys.rate_down_mbps * (1024.0 * 1024.0 / 8.0);
    let max_t = (hi / up).max(hi / down).max(hi / sys.ue_speed);
    (max_t, lo / sys.mec_speed)
}

/// Resource state after a prefix of decisions.
#[derive(Clone, Copy, Default)]
struct State {
    ue: f64,
    up: f64,
    mec: f64,
    down: f64,
    /// Running makespan (reference) or running max over exit tasks (paper).
    span: f64,
}

impl Prepared {
    /// Decide rank position k (`off` = offload), writing its (local, upload, MEC, download)
    /// finish times into `ft[k]` — THE scheduling rules of both semantics (module docs), used by
    /// [`Self::makespan`], [`Self::increments`] and the exhaustive search.
    fn step(&self, k: usize, off: bool, st: State, ft: &mut [[f64; 4]]) -> State {
        let c = &self.pos_cost[k];
        let ps = &self.pos_parents[k];
        let mut st = st;
        ft[k] = [0.0; 4];
        let mut ready = 0.0f64;
        for &j in ps {
            ready = ready.max(ft[j][0].max(ft[j][3]));
        }
        let paper = self.semantics == Semantics::Paper;
        let finish = if !off {
            ft[k][0] = st.ue.max(ready) + c[0];
            st.ue = st.ue.max(ft[k][0]);
            ft[k][0]
        } else {
            let up_start =
                if paper { st.up.max(ready) } else { ps.iter().fold(st.up, |a, &j| a.max(ft[j][0].max(ft[j][1]))) };
            ft[k][1] = up_start + c[1];
            if paper || !ps.is_empty() {
                st.up = st.up.max(ft[k][1]);
            }
            let m = ps.iter().fold(ft[k][1], |a, &j| a.max(ft[j][2]));
            ft[k][2] = st.mec.max(m) + c[2];
            st.mec = st.mec.max(ft[k][2]);
            let down_start = if paper { st.down.max(ft[k][2]) } else { ft[k][2] };
            ft[k][3] = down_start + c[3];
            if paper {
                st.down = st.down.max(ft[k][3]);
            }
            ft[k][3]
        };
        if !paper || self.pos_exit[k] {
            st.span = st.span.max(finish);
        }
        st
    }

    /// Best (makespan, plan index) among plans starting with the `split` decisions of `prefix`.
    /// Branch and bound: `span` never decreases along a path (a running maximum), so a prefix
    /// whose span already reaches this subtree's best (found at a smaller index) or exceeds the
    /// best of any subtree cannot hold the first minimum and is skipped.
    fn search_subtree(&self, prefix: u64, split: usize, global: &AtomicU64) -> (f64, u64) {
        let n = self.n();
        let mut ft = vec![[0.0f64; 4]; n];
        let mut st = State::default();
        for k in 0..split {
            st = self.step(k, (prefix >> (split - 1 - k)) & 1 != 0, st, &mut ft);
        }
        let mut best = (f64::INFINITY, u64::MAX);
        self.dfs(split, st, prefix, &mut ft, &mut best, global);
        best
    }

    fn dfs(&self, k: usize, st: State, idx: u64, ft: &mut [[f64; 4]], best: &mut (f64, u64), global: &AtomicU64) {
        if st.span >= best.0 || st.span > f64::from_bits(global.load(Ordering::Relaxed)) {
            return;
        }
        if k == self.n() {
            *best = (st.span, idx);
            global.fetch_min(st.span.to_bits(), Ordering::Relaxed); // non-negative f64 bits order like values
            return;
        }
        for off in [false, true] {
            let next = self.step(k, off, st, ft);
            self.dfs(k + 1, next, (idx << 1) | off as u64, ft, best, global);
        }
    }
}

/// Reusable finish-time arrays for makespan evaluations.
#[derive(Clone, Debug)]
pub struct Scratch {
    ft: Vec<[f64; 4]>,
    plan: Vec<u8>,
}

impl Scratch {
    /// For graphs of `n` tasks.
    pub fn new(n: usize) -> Self {
        Scratch { ft: vec![[0.0; 4]; n], plan: vec![0; n] }
    }
}

/// Finish times by task id for the earliest-finish heuristics.
struct TaskTimes {
    ft_local: Vec<f64>,
    ft_up: Vec<f64>,
    ft_mec: Vec<f64>,
    ft_down: Vec<f64>,
}

impl TaskTimes {
    fn new(n: usize) -> Self {
        TaskTimes { ft_local: vec![0.0; n], ft_up: vec![0.0; n], ft_mec: vec![0.0; n], ft_down: vec![0.0; n] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Costs chosen so every time is a small integer: UE speed 1 B/s, MEC 4 B/s, rates such that
    /// 1 Mbps = 2^17 B/s; we scale sizes instead: use a system where up/down rate is 1 B/s.
    fn sys(semantics: Semantics) -> DagSystem {
        DagSystem {
            ue_speed: 1.0,
            mec_speed: 4.0,
            rate_up_mbps: 8.0 / (1024.0 * 1024.0),
            rate_down_mbps: 8.0 / (1024.0 * 1024.0),
            semantics,
            max_optimal_tasks: 24,
            heft: HeftMode::OwnSchedule,
        }
    }

    fn dag(size: &[f64], down: &[f64], edges: &[(usize, usize)]) -> Dag {
        Dag {
            size: size.to_vec(),
            expect_size: down.to_vec(),
            alpha: vec![0.0; size.len()],
            edges: edges.iter().map(|&(a, b)| (a, b, 1.0)).collect(),
        }
    }

    #[test]
    fn eq4_costs_in_reference_units() {
        let d = dag(&[1_048_576.0], &[917_504.0], &[]);
        let c = costs(&d, &DagSystem::default());
        // 2^20 B at 2^20 B/s = 1 s; at 10·2^20 B/s = 0.1 s; 7 Mbps = 917504 B/s.
        assert_eq!(c.local[0], 1.0);
        assert!((c.mec[0] - 0.1).abs() < 1e-15);
        assert!((c.up[0] - 1_048_576.0 / 917_504.0).abs() < 1e-15);
        assert_eq!(c.down[0], 1.0);
    }

    /// Chain 0 → 1 → 2 with sizes 4, 8, 4 (local 4, 8, 4 s; upload 4, 8, 4; MEC 1, 2, 1;
    /// download 2, 2, 2). Rank order = 0, 1, 2.
    #[test]
    fn chain_by_hand_reference() {
        let d = dag(&[4.0, 8.0, 4.0], &[2.0, 2.0, 2.0], &[(0, 1), (1, 2)]);
        let p = Prepared::new(&d, &sys(Semantics::Reference)).unwrap();
        assert_eq!(p.order, vec![0, 1, 2]);
        let mut s = Scratch::new(3);
        // all local: 4 + 8 + 4
        assert_eq!(p.makespan(&[0, 0, 0], &mut s), 16.0);
        // all MEC: t0: ul 0..4, mec 4..5, dl 5..7; t1: ul waits parent's upload 4 → 4..12,
        // mec max(5, 12) → 12..14, dl 14..16; t2: ul 12..16, mec 16..17, dl 17..19.
        assert_eq!(p.makespan(&[1, 1, 1], &mut s), 19.0);
        // local, MEC, local: t0 0..4; t1 ul max(0, 4) → 4..12, mec 12..14, dl 14..16;
        // t2 local waits t1's download: 16..20.
        assert_eq!(p.makespan(&[0, 1, 0], &mut s), 20.0);
        assert_eq!(p.increments(&[0, 1, 0]), vec![4.0, 12.0, 4.0]);
    }

    /// The same chain under eq. (5)–(8): uploads wait for the parents' downloads.
    #[test]
    fn chain_by_hand_paper() {
        let d = dag(&[4.0, 8.0, 4.0], &[2.0, 2.0, 2.0], &[(0, 1), (1, 2)]);
        let p = Prepared::new(&d, &sys(Semantics::Paper)).unwrap();
        let mut s = Scratch::new(3);
        assert_eq!(p.makespan(&[0, 0, 0], &mut s), 16.0);
        // t0: ul 0..4, mec 4..5, dl 5..7; t1: ul max(4, 7) → 7..15, mec 15..17, dl 17..19;
        // t2: ul 19..23, mec 23..24, dl 24..26.
        assert_eq!(p.makespan(&[1, 1, 1], &mut s), 26.0);
        // t0 local 0..4; t1 ul 4..12, mec 12..14, dl 14..16; t2 local 16..20.
        assert_eq!(p.makespan(&[0, 1, 0], &mut s), 20.0);
        assert_eq!(p.increments(&[0, 1, 0]), vec![0.0, 0.0, 20.0]); // only the exit task counts
    }

    /// Diamond 0 → {1, 2} → 3, sizes 4, 8, 4, 4 (upload = local = size, MEC = size/4,
    /// download 2); rank order 0, 1, 2, 3.
    #[test]
    fn diamond_by_hand_both_semantics() {
        let d = dag(&[4.0, 8.0, 4.0, 4.0], &[2.0; 4], &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let r = Prepared::new(&d, &sys(Semantics::Reference)).unwrap();
        assert_eq!(r.order, vec![0, 1, 2, 3]);
        let mut s = Scratch::new(4);
        // reference, all MEC: t0 ul 0..4 (uplink left free), mec 4..5, dl 5..7; t1 ul 4..12,
        // mec 12..14, dl 14..16; t2 ul 12..16, mec 16..17, dl 17..19; t3 ul 16..20, mec 20..21,
        // dl 21..23.
        assert_eq!(r.makespan(&[1, 1, 1, 1], &mut s), 23.0);
        // reference, local/MEC/local/MEC: t0 0..4; t1 ul 4..12, mec 12..14, dl 14..16; t2 local
        // 4..8; t3 ul 12..16, mec 16..17, dl 17..19.
        assert_eq!(r.makespan(&[0, 1, 0, 1], &mut s), 19.0);
        assert_eq!(r.increments(&[0, 1, 0, 1]), vec![4.0, 12.0, 0.0, 3.0]);
        let p = Prepared::new(&d, &sys(Semantics::Paper)).unwrap();
        // paper, all MEC: t0 ul 0..4, mec 4..5, dl 5..7; t1 ul 7..15, mec 15..17, dl 17..19;
        // t2 ul 15..19, mec 19..20, dl max(19, 20) 20..22; t3 ul 22..26, mec 26..27, dl 27..29.
        assert_eq!(p.makespan(&[1, 1, 1, 1], &mut s), 29.0);
        // paper, local/MEC/local/MEC: t0 0..4; t1 ul 4..12, mec 12..14, dl 14..16; t2 local
        // 4..8; t3 ul waits t1's download: 16..20, mec 20..21, dl 21..23.
        assert_eq!(p.makespan(&[0, 1, 0, 1], &mut s), 23.0);
    }

    #[test]
    fn two_entry_tasks_and_the_uplink_quirk() {
        // Two entry tasks 0 and 1 (sizes 4), both offloaded: the published code does not mark
        // the uplink busy for entry tasks, so both uploads run 0..4; MEC 4..5 and 5..6; the
        // second download 6..8.
        let d = dag(&[4.0, 4.0], &[2.0, 2.0], &[]);
        let p = Prepared::new(&d, &sys(Semantics::Reference)).unwrap();
        let mut s = Scratch::new(2);
        assert_eq!(p.makespan(&[1, 1], &mut s), 8.0);
        // Paper: the uplink is busy: uploads 0..4, 4..8; MEC 4..5, 8..9; downloads 5..7, 9..11.
        let p = Prepared::new(&d, &sys(Semantics::Paper)).unwrap();
        assert_eq!(p.makespan(&[1, 1], &mut s), 11.0);
    }

    /// Fork 0 → {1, 2}, sizes 4 (local 4, upload 4, MEC 1, download 2). w = 4 for all, ranks
    /// 8, 4, 4: order 0, 2, 1 (the tie goes to the larger id).
    #[test]
    fn fork_by_hand_both_semantics() {
        let d = dag(&[4.0; 3], &[2.0; 3], &[(0, 1), (0, 2)]);
        let mut s = Scratch::new(3);
        let r = Prepared::new(&d, &sys(Semantics::Reference)).unwrap();
        assert_eq!(r.order, vec![0, 2, 1]);
        // reference, all MEC: t0 ul 0..4 (uplink left free), mec 4..5, dl 5..7; t2 ul waits the
        // parent's upload: 4..8, mec max(5, 8) 8..9, dl 9..11; t1 ul 8..12, mec 12..13, dl 13..15.
        assert_eq!(r.makespan(&[1, 1, 1], &mut s), 15.0);
        assert_eq!(r.increments(&[1, 1, 1]), vec![7.0, 4.0, 4.0]);
        // local, MEC, local: t0 0..4; t2 ul 4..8, mec 8..9, dl 9..11; t1 local 4..8.
        assert_eq!(r.makespan(&[0, 1, 0], &mut s), 11.0);
        let p = Prepared::new(&d, &sys(Semantics::Paper)).unwrap();
        // paper, all MEC: t0 ul 0..4, mec 4..5, dl 5..7; t2 ul waits the parent's download and
        // the uplink: max(4, 7) 7..11, mec 11..12, dl max(7, 12) 12..14; t1 ul 11..15, mec
        // 15..16, dl max(14, 16) 16..18; exits 1 and 2: 18.
        assert_eq!(p.makespan(&[1, 1, 1], &mut s), 18.0);
        assert_eq!(p.increments(&[1, 1, 1]), vec![0.0, 14.0, 4.0]);
        assert_eq!(p.makespan(&[0, 1, 0], &mut s), 11.0);
    }

    #[test]
    fn join_paper_semantics_upload_waits_for_parent_download() {
        // 0 → 2 ← 1; sizes 4, 4, 4; all offloaded. Paper: t0 ul 0..4, mec 4..5, dl 5..7;
        // t1 ul 4..8, mec 8..9, dl max(7, 9) 9..11; t2 ul waits parents' dl (11): 11..15,
        // mec 15..16, dl 16..18 → 18. Reference: t2 ul waits parents' uploads only.
        let d = dag(&[4.0, 4.0, 4.0], &[2.0, 2.0, 2.0], &[(0, 2), (1, 2)]);
        let mut s = Scratch::new(3);
        let p = Prepared::new(&d, &sys(Semantics::Paper)).unwrap();
        assert_eq!(p.order[2], 2);
        assert_eq!(p.makespan(&[1, 1, 1], &mut s), 18.0);
        let r = Prepared::new(&d, &sys(Semantics::Reference)).unwrap();
        // reference: t_a ul 0..4 (entry, uplink stays free), mec 4..5, dl 5..7; t_b ul 0..4,
        // mec 5..6, dl 6..8; t2 ul starts max(0, 4, 4) = 4 → 4..8, mec max(6, 8) 8..9, dl 9..11.
        assert_eq!(r.makespan(&[1, 1, 1], &mut s), 11.0);
    }

    #[test]
    fn optimal_is_never_worse_than_any_plan_and_matches_brute_force() {
        let d = dag(&[3.0, 9.0, 2.0, 7.0, 5.0], &[1.0, 4.0, 2.0, 1.0, 3.0], &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]);
        for sem in [Semantics::Reference, Semantics::Paper] {
            let p = Prepared::new(&d, &sys(sem)).unwrap();
            let (best, idx) = p.optimal(24).unwrap();
            let mut s = Scratch::new(5);
            let mut first_min = (f64::INFINITY, 0);
            for i in 0..32u64 {
                let t = p.makespan_of_index(i, &mut s);
                if t < first_min.0 {
                    first_min = (t, i);
                }
            }
            assert_eq!((best, idx), first_min);
            let (g, plan) = p.greedy();
            assert!(best <= p.makespan(&plan, &mut s) && best.is_finite() && g.is_finite());
        }
    }

    #[test]
    fn reference_reads_sizes_as_the_published_parser() {
        // int(eval(size)): 1000.9 B is 1000 B under `reference`, kept under `paper`
        let d = Dag {
            size: vec![1000.9, 2000.0],
            expect_size: vec![10.99, 20.0],
            alpha: vec![0.0; 2],
            edges: vec![(0, 1, 0.9)],
        };
        let base = DagSystem::default();
        let r = costs(&d, &DagSystem { semantics: Semantics::Reference, ..base.clone() });
        let p = costs(&d, &DagSystem { semantics: Semantics::Paper, ..base.clone() });
        let rate = 7.0 * 1024.0 * 1024.0 / 8.0;
        assert_eq!(r.local[0], 1000.0 / 1048576.0);
        assert_eq!(r.down[0], 10.0 / rate);
        assert_eq!(p.local[0], 1000.9 / 1048576.0);
        assert_eq!(p.down[0], 10.99 / rate);
        // the edge of 0.9 B is 0 B: not in the embeddings' parent/child lists, nor in the reward
        // scale's minimum (sizes > 0.01); it still orders the schedule
        let pr = Prepared::new(&d, &DagSystem { semantics: Semantics::Reference, ..base.clone() }).unwrap();
        assert_eq!(pr.parents[1], vec![0]);
        let e = pr.embeddings(1);
        assert_eq!((e[5], e[6]), (-1.0, -1.0), "task 0: no parent, child 1 not listed");
        assert_eq!((e[12], e[13]), (-1.0, -1.0), "task 1: parent 0 not listed");
        let pp = Prepared::new(&d, &DagSystem { semantics: Semantics::Paper, ..base.clone() }).unwrap();
        let e = pp.embeddings(1);
        assert_eq!((e[6], e[12]), (1.0, 0.0));
        let (_, lo) = reward_scale(&d, &DagSystem { semantics: Semantics::Reference, ..base.clone() });
        assert_eq!(lo, 1000.0 / (10.0 * 1048576.0));
        let (_, lo) = reward_scale(&d, &DagSystem { semantics: Semantics::Paper, ..base });
        assert_eq!(lo, 0.9 / (10.0 * 1048576.0));
    }

    #[test]
    fn embeddings_follow_the_published_encoding() {
        // 0 → 2, 1 → 2: rank order [1, 0, 2] (ties: larger id first).
        let d = dag(&[4.0, 4.0, 4.0], &[2.0, 2.0, 2.0], &[(0, 2), (1, 2)]);
        let p = Prepared::new(&d, &sys(Semantics::Reference)).unwrap();
        let e = p.embeddings(2);
        assert_eq!(e.len(), 3 * 9);
        assert_eq!(&e[..9], &[1.0, 4.0, 4.0, 1.0, 2.0, -1.0, -1.0, 2.0, -1.0]);
        assert_eq!(&e[18..], &[2.0, 4.0, 4.0, 1.0, 2.0, 0.0, 1.0, -1.0, -1.0]);
    }

    /// Diamond 0 → {1, 2} → 3 (sizes 4, 8, 4, 4; download 2). HEFT weights
    /// (T^UE + T^ul + T^s + T^dl)/2 = 5.5, 10, 5.5, 5.5 → ranks 21, 15.5, 11, 5.5 → order 0, 1, 2, 3. Earliest
    /// finish: t0 local 4 < remote 7; t1 local 12 < remote 16; t2 local 16 > remote 11 (upload
    /// 4..8, MEC 8..9, download 9..11) → MEC; t3 local 16 < remote 19 → local. Account: 16.
    #[test]
    fn heft_and_greedy_by_hand_on_a_diamond() {
        let d = dag(&[4.0, 8.0, 4.0, 4.0], &[2.0; 4], &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let p = Prepared::new(&d, &sys(Semantics::Reference)).unwrap();
        assert_eq!(p.heft(&d), (16.0, vec![0, 0, 1, 0], vec![0, 1, 2, 3]));
        assert_eq!(p.greedy(), (16.0, vec![0, 0, 1, 0]));
        let mut s = Scratch::new(4);
        assert_eq!(p.makespan(&[0, 0, 1, 0], &mut s), 16.0);
    }

    #[test]
    fn reward_scale_uses_node_and_edge_sizes() {
        let mut d = dag(&[4.0, 8.0], &[1.0, 1.0], &[(0, 1)]);
        d.edges[0].2 = 16.0;
        let (hi, lo) = reward_scale(&d, &sys(Semantics::Reference));
        assert_eq!((hi, lo), (16.0, 1.0)); // 16 B at 1 B/s; 4 B at 4 B/s
    }

    #[test]
    fn too_many_tasks_is_refused() {
        let n = 25;
        let d = dag(&vec![1.0; n], &vec![1.0; n], &[]);
        let p = Prepared::new(&d, &DagSystem::default()).unwrap();
        let e = p.optimal(24).unwrap_err().to_string();
        assert!(e.contains("dag.max_optimal_tasks") && e.contains("25 tasks"), "{e}");
    }
}
