//! Many DAGs, padded, as kernel buffers; the batched makespan and exhaustive-optimum kernels
//! (CPU references, f32, one thread per (graph, plan) resp. per (graph, chunk of plan indices)).
//!
//! Layout (graphs outermost; everything indexed by **rank position** k, not task id):
//! `n_tasks` \[B\] u32; `cost` [B, N, 4] f32 = (T^UE, T^ul, T^s, T^dl) of the task at position k;
//! `par_off` [B, N+1] u32 and `par_idx` [B, E] u32: the parent positions of position k are
//! `par_idx[b·E + par_off[b·(N+1)+k] .. b·E + par_off[b·(N+1)+k+1]]` (all < k); `exit` [B, N] u32
//! (1 for exit tasks). Plans are [B, P, N] u32 (0 local, 1 offload) per position.
//! Each thread's finish times live in the scratch buffer `ft` [threads, N, 4].
//! The f32 rules are exactly [`super::model::Prepared`]'s (same comparisons and additions).

use rayon::prelude::*;

use super::model::{Prepared, Semantics};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::{Error, Result};

/// Parameters of the `dag_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DagParams {
    /// B, graphs.
    pub b: u32,
    /// N, padded task count.
    pub n_max: u32,
    /// E, padded parent-list length.
    pub e_max: u32,
    /// P, plans per graph (`dag_makespan`).
    pub p: u32,
    /// 0 reference, 1 paper.
    pub semantics: u32,
    /// Threads per graph (`dag_optimal`): plan indices are split into this many chunks.
    pub chunks: u32,
    /// `dag_step`: 1 = the reward is min-max scaled per graph (the published score), 0 = −ΔT_c.
    pub scaled: u32,
    /// `dag_observe`: embedding width 5 + 2p of [`super::mdp::DagEnv`].
    pub emb: u32,
}

/// Host packing of prepared graphs into the kernel layout.
#[derive(Clone, Debug, Default)]
pub struct DagBatch {
    /// Padded task count N.
    pub n_max: usize,
    /// Padded parent-list length E.
    pub e_max: usize,
    /// \[B\] task counts.
    pub n_tasks: Vec<u32>,
    /// [B, N, 4] costs by position.
    pub cost: Vec<f32>,
    /// [B, N+1] parent offsets.
    pub par_off: Vec<u32>,
    /// [B, E] parent positions.
    pub par_idx: Vec<u32>,
    /// [B, N] exit flags.
    pub exit: Vec<u32>,
}

impl DagBatch {
    /// Pack `graphs` (at least one).
    pub fn new(graphs: &[Prepared]) -> Result<Self> {
        if graphs.is_empty() {
            return Err(Error::config("dag.graphs", 0, "at least one graph"));
        }
        let n_max = graphs.iter().map(|g| g.n()).max().unwrap_or(0).max(1);
        let e_max = graphs.iter().map(|g| g.parents.iter().map(Vec::len).sum::<usize>()).max().unwrap_or(0).max(1);
        let b = graphs.len();
        let mut out = DagBatch {
            n_max,
            e_max,
            n_tasks: Vec::with_capacity(b),
            cost: vec![0.0; b * n_max * 4],
            par_off: vec![0; b * (n_max + 1)],
            par_idx: vec![0; b * e_max],
            exit: vec![0; b * n_max],
        };
        for (g, p) in graphs.iter().enumerate() {
            let n = p.n();
            out.n_tasks.push(n as u32);
            let mut pos = vec![0usize; n];
            for (k, &i) in p.order.iter().enumerate() {
                pos[i] = k;
            }
            let mut e = 0usize;
            for (k, &i) in p.order.iter().enumerate() {
                let c = &p.costs;
                let base = (g * n_max + k) * 4;
                out.cost[base..base + 4].copy_from_slice(&[
                    c.local[i] as f32,
                    c.up[i] as f32,
                    c.mec[i] as f32,
                    c.down[i] as f32,
                ]);
                out.par_off[g * (n_max + 1) + k] = e as u32;
                for &j in &p.parents[i] {
                    out.par_idx[g * e_max + e] = pos[j] as u32;
                    e += 1;
                }
                out.exit[g * n_max + k] = p.exit[i] as u32;
            }
            for k in n..=n_max {
                out.par_off[g * (n_max + 1) + k] = e as u32;
            }
        }
        Ok(out)
    }

    /// The kernel parameters for `p` plans per graph.
    pub fn params(&self, semantics: Semantics, p: usize, chunks: usize) -> DagParams {
        DagParams {
            b: self.n_tasks.len() as u32,
            n_max: self.n_max as u32,
            e_max: self.e_max as u32,
            p: p as u32,
            semantics: semantics as u32,
            chunks: chunks as u32,
            scaled: 0,
            emb: 0,
        }
    }
}

/// The graph `g`'s slices.
pub(crate) struct Graph<'a> {
    pub(crate) n: usize,
    pub(crate) cost: &'a [f32],
    pub(crate) par_off: &'a [u32],
    pub(crate) par_idx: &'a [u32],
    pub(crate) exit: &'a [u32],
}

/// Resource availabilities and running spans after a prefix of decisions (f32; `state` rows of
/// the MDP kernels: `[a_ue, a_up, a_mec, a_down, current, t_exit, 0, 0]`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct F32State {
    /// UE, uplink, MEC and downlink availability (M^UE, M^ul, M^s, M^dl).
    pub avail: [f32; 4],
    /// Running maximum of every finish (the `reference` makespan).
    pub current: f32,
    /// Running maximum of the exit tasks' finishes (the `paper` makespan, eq. 8).
    pub t_exit: f32,
}

impl F32State {
    /// The makespan so far under `semantics` (0 reference, 1 paper).
    #[inline]
    pub fn span(&self, semantics: u32) -> f32 {
        if semantics == 0 {
            self.current
        } else {
            self.t_exit
        }
    }
}

/// Decide rank position k (`off` = offload) in f32, writing its four finish times to
/// `ft[4k..4k+4]` — the rules of [`super::model::Prepared`]'s `step` (eq. 5–8 or the published
/// code), operation for operation as the WGSL and CUDA `dag_position`.
#[inline]
pub(crate) fn position(g: &Graph<'_>, semantics: u32, k: usize, off: bool, ft: &mut [f32], st: &mut F32State) {
    let c = &g.cost[4 * k..4 * k + 4];
    let ps = &g.par_idx[g.par_off[k] as usize..g.par_off[k + 1] as usize];
    let [a_ue, a_up, a_mec, a_down] = &mut st.avail;
    let mut ready = 0.0f32; // max over parents of (local finish, download finish)
    for &j in ps {
        let j = j as usize;
        ready = ready.max(ft[4 * j].max(ft[4 * j + 3]));
    }
    let done = if !off {
        ft[4 * k] = a_ue.max(ready) + c[0];
        ft[4 * k + 1..4 * k + 4].fill(0.0);
        *a_ue = if semantics == 0 { ft[4 * k] } else { a_ue.max(ft[4 * k]) };
        ft[4 * k]
    } else {
        let up_start = if semantics == 0 {
            let mut s = *a_up;
            for &j in ps {
                let j = j as usize;
                s = s.max(ft[4 * j].max(ft[4 * j + 1]));
            }
            s
        } else {
            a_up.max(ready)
        };
        ft[4 * k] = 0.0;
        ft[4 * k + 1] = up_start + c[1];
        if semantics != 0 {
            *a_up = a_up.max(ft[4 * k + 1]);
        } else if !ps.is_empty() {
            *a_up = ft[4 * k + 1]; // entry tasks leave the uplink free (published code)
        }
        let mut m = ft[4 * k + 1];
        for &j in ps {
            m = m.max(ft[4 * j as usize + 2]);
        }
        ft[4 * k + 2] = a_mec.max(m) + c[2];
        *a_mec = if semantics == 0 { ft[4 * k + 2] } else { a_mec.max(ft[4 * k + 2]) };
        let down_start = if semantics == 0 { ft[4 * k + 2] } else { a_down.max(ft[4 * k + 2]) };
        ft[4 * k + 3] = down_start + c[3];
        if semantics != 0 {
            *a_down = a_down.max(ft[4 * k + 3]);
        }
        ft[4 * k + 3]
    };
    st.current = st.current.max(done);
    if g.exit[k] != 0 {
        st.t_exit = st.t_exit.max(done);
    }
}

/// Makespan of one plan (`bit(k)` = decision of position k) in f32, position by position;
/// `ft` has 4·N entries (local, upload, MEC, download finish per position). The kernels use
/// `makespan_lanes`; this is what the tests hold it to.
#[cfg(test)]
fn makespan(g: &Graph<'_>, semantics: u32, bit: impl Fn(usize) -> bool, ft: &mut [f32]) -> f32 {
    let mut st = F32State::default();
    for k in 0..g.n {
        position(g, semantics, k, bit(k), ft, &mut st);
    }
    st.span(semantics)
}

/// Plans evaluated together by `makespan_lanes` (one AVX-512 register of f32).
pub const LANES: usize = 16;

/// Lane finish times of one position: (local, upload, MEC, download) × [`LANES`].
type LaneFt = [[f32; LANES]; 4];

/// [`makespan`] of [`LANES`] plans at once (`off[k][l]` = decision of position k in plan l):
/// both branches computed on every lane and selected, so the loops vectorize. Every lane takes
/// exactly the scalar path's maxima and additions (bit-identical to [`position`]).
fn makespan_lanes(g: &Graph<'_>, semantics: u32, off: &[[bool; LANES]], ft: &mut [LaneFt]) -> [f32; LANES] {
    const Z: [f32; LANES] = [0.0; LANES];
    let (mut a_ue, mut a_up, mut a_mec, mut a_down, mut current, mut t_exit) = (Z, Z, Z, Z, Z, Z);
    let sem0 = semantics == 0;
    for k in 0..g.n {
        let c = &g.cost[4 * k..4 * k + 4];
        let ps = &g.par_idx[g.par_off[k] as usize..g.par_off[k + 1] as usize];
        let (mut ready, mut ready_up, mut ready_mec) = (Z, Z, Z);
        for &j in ps {
            let fj = &ft[j as usize];
            for l in 0..LANES {
                ready[l] = ready[l].max(fj[0][l].max(fj[3][l]));
                ready_up[l] = ready_up[l].max(fj[0][l].max(fj[1][l]));
                ready_mec[l] = ready_mec[l].max(fj[2][l]);
            }
        }
        let (offk, exit, entry) = (&off[k], g.exit[k] != 0, ps.is_empty());
        let mut out: LaneFt = [Z; 4];
        for l in 0..LANES {
            let f_loc = a_ue[l].max(ready[l]) + c[0];
            let up_start = if sem0 { a_up[l].max(ready_up[l]) } else { a_up[l].max(ready[l]) };
            let f_up = up_start + c[1];
            let f_mec = a_mec[l].max(f_up.max(ready_mec[l])) + c[2];
            let f_dl = if sem0 { f_mec } else { a_down[l].max(f_mec) } + c[3];
            let o = offk[l];
            a_ue[l] = if o {
                a_ue[l]
            } else if sem0 {
                f_loc
            } else {
                a_ue[l].max(f_loc)
            };
            a_up[l] = if !o || (sem0 && entry) {
                a_up[l]
            } else if sem0 {
                f_up
            } else {
                a_up[l].max(f_up)
            };
            a_mec[l] = if !o {
                a_mec[l]
            } else if sem0 {
                f_mec
            } else {
                a_mec[l].max(f_mec)
            };
            a_down[l] = if o && !sem0 { a_down[l].max(f_dl) } else { a_down[l] };
            out[0][l] = if o { 0.0 } else { f_loc };
            out[1][l] = if o { f_up } else { 0.0 };
            out[2][l] = if o { f_mec } else { 0.0 };
            out[3][l] = if o { f_dl } else { 0.0 };
            let done = if o { f_dl } else { f_loc };
            current[l] = current[l].max(done);
            if exit {
                t_exit[l] = t_exit[l].max(done);
            }
        }
        ft[k] = out;
    }
    if sem0 {
        current
    } else {
        t_exit
    }
}

pub(crate) fn graph<'a>(p: &DagParams, g: usize, bufs: &'a [&'a [u32]]) -> Graph<'a> {
    let (n_max, e_max) = (p.n_max as usize, p.e_max as usize);
    Graph {
        n: (bufs[0][g] as usize).min(n_max),
        cost: &f32s(bufs[1])[g * n_max * 4..(g + 1) * n_max * 4],
        par_off: &bufs[2][g * (n_max + 1)..(g + 1) * (n_max + 1)],
        par_idx: &bufs[3][g * e_max..(g + 1) * e_max],
        exit: &bufs[4][g * n_max..(g + 1) * n_max],
    }
}

pub(crate) fn check_graph_bufs(op: &str, p: &DagParams, bufs: &[&mut [u32]]) -> Result<()> {
    let (b, n, e) = (p.b as usize, p.n_max as usize, p.e_max as usize);
    for (k, (name, want)) in
        [("n_tasks", b), ("cost", b * n * 4), ("par_off", b * (n + 1)), ("par_idx", b * e), ("exit", b * n)]
            .into_iter()
            .enumerate()
    {
        need(op, name, bufs[k].len(), want)?;
    }
    Ok(())
}

/// `dag_makespan`: bufs n_tasks, cost, par_off, par_idx, exit, plans \[B,P,N\], ft (scratch),
/// makespan \[B,P\].
pub fn cpu_makespan(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DagParams = decode(params);
    check_graph_bufs("dag_makespan", &p, bufs)?;
    let (b, n, pp) = (p.b as usize, p.n_max as usize, p.p as usize);
    need("dag_makespan", "plans", bufs[5].len(), b * pp * n)?;
    need("dag_makespan", "makespan", bufs[7].len(), b * pp)?;
    let (head, tail) = bufs.split_at_mut(7);
    let ro: Vec<&[u32]> = head.iter().map(|x| &**x).collect();
    // work item: LANES consecutive plans of one graph (the last block of a graph may be short)
    let out = f32s_mut(tail[0]);
    out[..b * pp].par_chunks_mut(pp).enumerate().for_each(|(gi, row)| {
        let g = graph(&p, gi, &ro);
        row.par_chunks_mut(LANES).enumerate().for_each_init(
            || (vec![[[0.0f32; LANES]; 4]; n], vec![[false; LANES]; n]),
            |(ft, off), (blk, dst)| {
                let q0 = gi * pp + blk * LANES;
                for (l, _) in dst.iter().enumerate() {
                    let plan = &ro[5][(q0 + l) * n..(q0 + l + 1) * n];
                    for k in 0..g.n {
                        off[k][l] = plan[k] != 0;
                    }
                }
                let m = makespan_lanes(&g, p.semantics, off, ft);
                dst.copy_from_slice(&m[..dst.len()]);
            },
        );
    });
    Ok(())
}

/// Plan indices of chunk `c` of `chunks` for a graph of `n` tasks: [lo, hi).
#[inline]
pub fn chunk_range(n: usize, c: u32, chunks: u32) -> (u64, u64) {
    let total = 1u64 << n;
    let per = total.div_ceil(chunks as u64);
    ((c as u64 * per).min(total), ((c as u64 + 1) * per).min(total))
}

/// `dag_optimal`: bufs n_tasks, cost, par_off, par_idx, exit, ft (scratch), partial [B, C, 2]
/// (best makespan as f32 bits, then its plan index; +inf and 0xffffffff for an empty chunk).
/// Plan index bit n−1−k is the decision of position k; the first minimum wins.
pub fn cpu_optimal(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DagParams = decode(params);
    check_graph_bufs("dag_optimal", &p, bufs)?;
    let (b, n_max, chunks) = (p.b as usize, p.n_max as usize, p.chunks.max(1) as usize);
    need("dag_optimal", "partial", bufs[6].len(), b * chunks * 2)?;
    if let Some(g) = bufs[0][..b].iter().position(|&n| n > 30) {
        return Err(Error::input("n_tasks", g, bufs[0][g], "the exhaustive kernel takes at most 30 tasks"));
    }
    let (head, tail) = bufs.split_at_mut(6);
    let ro: Vec<&[u32]> = head.iter().map(|x| &**x).collect();
    tail[0][..b * chunks * 2].par_chunks_mut(2).enumerate().for_each_init(
        || (vec![[[0.0f32; LANES]; 4]; n_max], vec![[false; LANES]; n_max]),
        |(ft, off), (t, out)| {
            let g = graph(&p, t / chunks, &ro);
            let (lo, hi) = chunk_range(g.n, (t % chunks) as u32, chunks as u32);
            let mut best = (f32::INFINITY, u32::MAX);
            // LANES consecutive plan indices at a time; lanes past `hi` repeat `hi − 1` and are
            // not compared. Lanes are compared in index order: the first minimum wins.
            let mut idx = lo;
            while idx < hi {
                let live = ((hi - idx) as usize).min(LANES);
                for (k, row) in off.iter_mut().enumerate().take(g.n) {
                    for (l, o) in row.iter_mut().enumerate() {
                        let i = idx + l.min(live - 1) as u64;
                        *o = (i >> (g.n - 1 - k)) & 1 != 0;
                    }
                }
                let m = makespan_lanes(&g, p.semantics, off, ft);
                for (l, &v) in m.iter().enumerate().take(live) {
                    if v < best.0 {
                        best = (v, (idx + l as u64) as u32);
                    }
                }
                idx += live as u64;
            }
            out[0] = best.0.to_bits();
            out[1] = best.1;
        },
    );
    Ok(())
}

/// `dag_optimal_reduce`: bufs partial [B, C, 2], best [B, 2]: the smallest makespan over the
/// chunks, ties to the smaller plan index.
pub fn cpu_optimal_reduce(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: DagParams = decode(params);
    let (b, chunks) = (p.b as usize, p.chunks.max(1) as usize);
    need("dag_optimal_reduce", "partial", bufs[0].len(), b * chunks * 2)?;
    need("dag_optimal_reduce", "best", bufs[1].len(), b * 2)?;
    let [partial, best] = bufs else { unreachable!("the spec has 2 buffers") };
    for g in 0..b {
        let mut m = (f32::INFINITY, u32::MAX);
        for c in 0..chunks {
            let v = f32::from_bits(partial[(g * chunks + c) * 2]);
            let i = partial[(g * chunks + c) * 2 + 1];
            if v < m.0 || (v == m.0 && i < m.1) {
                m = (v, i);
            }
        }
        best[2 * g] = m.0.to_bits();
        best[2 * g + 1] = m.1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::model::{DagSystem, Prepared, Scratch, Semantics};
    use super::super::Dag;
    use super::*;

    fn graphs(sem: Semantics) -> Vec<Prepared> {
        let mk = |size: &[f64], down: &[f64], edges: &[(usize, usize)]| Dag {
            size: size.to_vec(),
            expect_size: down.to_vec(),
            alpha: vec![0.0; size.len()],
            edges: edges.iter().map(|&(a, b)| (a, b, 1000.0)).collect(),
        };
        let sys = DagSystem { semantics: sem, ..Default::default() };
        [
            mk(
                &[30e3, 90e3, 20e3, 70e3, 50e3],
                &[10e3, 40e3, 20e3, 10e3, 30e3],
                &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)],
            ),
            mk(&[40e3, 40e3, 8e3], &[20e3, 5e3, 9e3], &[(0, 2), (1, 2)]),
            mk(&[12e3; 7], &[6e3; 7], &[(0, 1), (1, 2), (0, 3), (3, 4), (2, 5), (4, 5), (5, 6)]),
        ]
        .iter()
        .map(|d| Prepared::new(d, &sys).unwrap())
        .collect()
    }

    /// The f32 kernels against the f64 model: every plan of every graph, both semantics.
    #[test]
    fn kernels_match_the_f64_model() {
        for sem in [Semantics::Reference, Semantics::Paper] {
            let gs = graphs(sem);
            let batch = DagBatch::new(&gs).unwrap();
            let (b, n) = (gs.len(), batch.n_max);
            let pp = 1usize << n;
            let mut plans = vec![0u32; b * pp * n];
            for g in 0..b {
                for idx in 0..pp {
                    for k in 0..n {
                        plans[(g * pp + idx) * n + k] = ((idx >> (n - 1 - k)) & 1) as u32;
                    }
                }
            }
            let p = batch.params(sem, pp, 4);
            let mut bufs: Vec<Vec<u32>> = vec![
                batch.n_tasks.clone(),
                batch.cost.iter().map(|x| x.to_bits()).collect(),
                batch.par_off.clone(),
                batch.par_idx.clone(),
                batch.exit.clone(),
                plans.clone(),
                vec![0; b * pp * 4 * n],
                vec![0; b * pp],
            ];
            let mut r: Vec<&mut [u32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
            cpu_makespan(bytemuck::bytes_of(&p), &mut r).unwrap();
            let out: Vec<f32> = bufs[7].iter().map(|&x| f32::from_bits(x)).collect();
            for (g, gp) in gs.iter().enumerate() {
                let mut s = Scratch::new(gp.n());
                for idx in 0..(1usize << gp.n()) {
                    let plan: Vec<u8> = (0..gp.n()).map(|k| ((idx >> (gp.n() - 1 - k)) & 1) as u8).collect();
                    let want = gp.makespan(&plan, &mut s);
                    // padded positions of a shorter graph are never read: use its own index space
                    let mut pl = vec![0u32; n];
                    for k in 0..gp.n() {
                        pl[k] = plan[k] as u32;
                    }
                    let row = (0..pp).find(|&q| plans[(g * pp + q) * n..(g * pp + q) * n + n] == pl[..]).unwrap();
                    let got = out[g * pp + row] as f64;
                    assert!((got - want).abs() <= 1e-6 * want, "{sem:?} graph {g} plan {idx}: {got} vs {want}");
                }
            }
            // exhaustive optimum in chunks, then the reduction
            let mut part = vec![0u32; b * 4 * 2];
            {
                let mut r: Vec<&mut [u32]> = bufs[..5].iter_mut().map(|v| v.as_mut_slice()).collect();
                let mut ft = vec![0u32; b * 4 * 4 * n];
                r.push(&mut ft);
                r.push(&mut part);
                cpu_optimal(bytemuck::bytes_of(&p), &mut r).unwrap();
            }
            let mut best = vec![0u32; b * 2];
            cpu_optimal_reduce(bytemuck::bytes_of(&p), &mut [&mut part, &mut best]).unwrap();
            for (g, gp) in gs.iter().enumerate() {
                let (m, idx) = gp.optimal(24).unwrap();
                assert!((f32::from_bits(best[2 * g]) as f64 - m).abs() <= 1e-6 * m, "{sem:?} graph {g}");
                // the plan found is optimal in f64 too (ties in f32 may pick an equal plan)
                let mut s = Scratch::new(gp.n());
                let got = gp.makespan_of_index(best[2 * g + 1] as u64, &mut s);
                assert!((got - m).abs() <= 1e-6 * m, "{sem:?} graph {g}: plan {} vs {idx}", best[2 * g + 1]);
            }
        }
    }

    #[test]
    fn lanes_are_bit_identical_to_the_position_rule() {
        for sem in [Semantics::Reference, Semantics::Paper] {
            let gs = graphs(sem);
            let batch = DagBatch::new(&gs).unwrap();
            let p = batch.params(sem, 1, 1);
            let cost: Vec<u32> = batch.cost.iter().map(|x| x.to_bits()).collect();
            let bufs: Vec<&[u32]> = vec![&batch.n_tasks, &cost, &batch.par_off, &batch.par_idx, &batch.exit];
            for gi in 0..gs.len() {
                let g = graph(&p, gi, &bufs);
                let n = batch.n_max;
                let mut ft = vec![[[0.0f32; LANES]; 4]; n];
                let mut scalar_ft = vec![0.0f32; 4 * n];
                for round in 0..8u32 {
                    let off: Vec<[bool; LANES]> = (0..n)
                        .map(|k| {
                            std::array::from_fn(|l| {
                                crate::rng::philox4x32_10([k as u32, l as u32, round, gi as u32], [1, 2])[0] & 1 == 1
                            })
                        })
                        .collect();
                    let m = makespan_lanes(&g, sem as u32, &off, &mut ft);
                    for l in 0..LANES {
                        let want = makespan(&g, sem as u32, |k| off[k][l], &mut scalar_ft);
                        assert_eq!(m[l].to_bits(), want.to_bits(), "{sem:?} graph {gi} lane {l}");
                        for k in 0..g.n {
                            for r in 0..4 {
                                assert_eq!(ft[k][r][l].to_bits(), scalar_ft[4 * k + r].to_bits());
                            }
                        }
                    }
                }
            }
        }
    }
}
