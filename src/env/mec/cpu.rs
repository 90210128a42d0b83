//! The `mec` CPU kernels, the reference of every backend (their specs are in `kernels.rs`).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::*;
use super::exact;
use super::model::*;
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::Result;
use crate::math;
use crate::rng::{self, stream};

// ---------------------------------------------------------------------------------------------
// CPU kernels (the references of the specs in kernels.rs)
// ---------------------------------------------------------------------------------------------

/// One IoTD's position and task, element `k` < N of instance `b` (kernel `mec_reset`).
#[inline(always)]
pub fn reset_iotd(p: &MecParams, b: u32, k: u32) -> (f32, f32, f32, f32) {
    let key = [p.key0, p.key1];
    let w = rng::philox4x32_10(rng::counter(k, b, p.step, stream::MEC_IOTD_POS, 0), key);
    let t = rng::philox4x32_10(rng::counter(k, b, p.step, stream::MEC_TASK, 0), key);
    (
        p.area * rng::uniform(w[0]),
        p.area * rng::uniform(w[1]),
        p.d_lo + (p.d_hi - p.d_lo) * rng::uniform(t[0]),
        p.f_lo + (p.f_hi - p.f_lo) * rng::uniform(t[1]),
    )
}

/// A MEC's position, element `j` < M of instance `b` (kernel `mec_reset`).
#[inline(always)]
pub fn reset_mec(p: &MecParams, b: u32, j: u32) -> (f32, f32) {
    let w = rng::philox4x32_10(rng::counter(j, b, p.step, stream::MEC_MEC_POS, 0), [p.key0, p.key1]);
    (p.area * rng::uniform(w[0]), p.area * rng::uniform(w[1]))
}

/// `mec_reset`: bufs iotd_pos \[B,2,N\], mec_pos \[B,2,M\], task_d \[B,N\], task_f \[B,N\].
pub fn cpu_reset(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    need("mec_reset", "iotd_pos", bufs[0].len(), b * 2 * n)?;
    need("mec_reset", "mec_pos", bufs[1].len(), b * 2 * m)?;
    need("mec_reset", "task_d", bufs[2].len(), b * n)?;
    need("mec_reset", "task_f", bufs[3].len(), b * n)?;
    let [ip, mp, td, tf] = bufs else { unreachable!("the spec has 4 buffers") };
    f32s_mut(ip)[..b * 2 * n]
        .par_chunks_mut(2 * n)
        .zip(f32s_mut(td)[..b * n].par_chunks_mut(n))
        .zip(f32s_mut(tf)[..b * n].par_chunks_mut(n))
        .enumerate()
        .for_each(|(bi, ((pos, d), f))| {
            for k in 0..n {
                let (x, y, dd, ff) = reset_iotd(&p, bi as u32, k as u32);
                pos[k] = x;
                pos[n + k] = y;
                d[k] = dd;
                f[k] = ff;
            }
        });
    f32s_mut(mp)[..b * 2 * m].par_chunks_mut(2 * m).enumerate().for_each(|(bi, pos)| {
        for j in 0..m {
            let (x, y) = reset_mec(&p, bi as u32, j as u32);
            pos[j] = x;
            pos[m + j] = y;
        }
    });
    Ok(())
}

/// Channel row of IoTD i in instance b (kernel `mec_channel`): l_ij ~ Exp(1) from Philox block
/// (i·⌈M/4⌉ + j/4, b, step, FADING), word j mod 4.
#[inline(always)]
pub fn channel_row(p: &MecParams, b: u32, i: u32, xi: f32, yi: f32, mec_pos: &[f32], out: &mut [f32]) {
    let m = p.m as usize;
    let blocks = m.div_ceil(4) as u32;
    let key = [p.key0, p.key1];
    let mut w = [0u32; 4];
    for j in 0..m {
        if j % 4 == 0 {
            w = rng::philox4x32_10(rng::counter(i * blocks + (j / 4) as u32, b, p.step, stream::MEC_FADING, 0), key);
        }
        let l = rng::exponential(w[j % 4]);
        let dx = mec_pos[j] - xi;
        let dy = mec_pos[m + j] - yi;
        out[j] = channel_gain(p.beta0, l, dx * dx + dy * dy, p.d2_min);
    }
}

/// `mec_channel`: bufs iotd_pos, mec_pos, h \[B,N,M\].
pub fn cpu_channel(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    need("mec_channel", "iotd_pos", bufs[0].len(), b * 2 * n)?;
    need("mec_channel", "mec_pos", bufs[1].len(), b * 2 * m)?;
    need("mec_channel", "h", bufs[2].len(), b * n * m)?;
    let [ip, mp, h] = bufs else { unreachable!() };
    let (ip, mp) = (f32s(ip), f32s(mp));
    if n == 0 || m == 0 {
        return Ok(());
    }
    f32s_mut(h)[..b * n * m].par_chunks_mut(n * m).enumerate().for_each(|(bi, hb)| {
        channel_instance(&p, bi as u32, &ip[bi * 2 * n..(bi + 1) * 2 * n], &mp[bi * 2 * m..(bi + 1) * 2 * m], hb);
    });
    Ok(())
}

/// The channel rows of one instance, 16 IoTDs at a time: their Philox blocks drawn together
/// ([`rng::philox16x4`]: the counters differ only in the element word) and the gains computed
/// over whole lane arrays, so it vectorizes; each value is [`channel_row`]'s, bit for bit.
fn channel_instance(p: &MecParams, b: u32, iotd_pos: &[f32], mec_pos: &[f32], out: &mut [f32]) {
    const L: usize = 16;
    let (n, m) = (p.n as usize, p.m as usize);
    let blocks = m.div_ceil(4);
    let key = [p.key0, p.key1];
    let ctr = rng::counter(0, b, p.step, stream::MEC_FADING, 0);
    for i0 in (0..n).step_by(L) {
        let len = L.min(n - i0);
        let (mut xi, mut yi) = ([0.0f32; L], [0.0f32; L]);
        xi[..len].copy_from_slice(&iotd_pos[i0..i0 + len]);
        yi[..len].copy_from_slice(&iotd_pos[n + i0..n + i0 + len]);
        for jb in 0..blocks {
            let c0: [u32; L] = std::array::from_fn(|l| (i0 + l) as u32 * blocks as u32 + jb as u32);
            let w = rng::philox16x4(c0, ctr[1], ctr[2], ctr[3], key);
            for (jj, words) in w.iter().enumerate().take(m - 4 * jb) {
                let j = 4 * jb + jj;
                let (mx, my) = (mec_pos[j], mec_pos[m + j]);
                let gain: [f32; L] = std::array::from_fn(|l| {
                    let (dx, dy) = (mx - xi[l], my - yi[l]);
                    channel_gain(p.beta0, rng::exponential(words[l]), dx * dx + dy * dy, p.d2_min)
                });
                for (l, &g) in gain[..len].iter().enumerate() {
                    out[(i0 + l) * m + j] = g;
                }
            }
        }
    }
}

/// Allocation row of one IoTD (kernel `mec_alloc`): hn, p*, the cost row and √F.
#[inline(always)]
pub fn alloc_row(p: &MecParams, h: &[f32], d: f32, f: f32, hn: &mut [f32], p_opt: &mut [f32], cost: &mut [f32]) -> f32 {
    let mut sum = 0.0f32;
    for &x in h {
        sum += x;
    }
    let (t_l, e_l) = local_time_energy(f, p.f_local, p.p_local);
    cost[0] = p.phi_t * t_l + p.phi_e * e_l;
    for j in 0..h.len() {
        hn[j] = if sum > 0.0 { h[j] / sum } else { 0.0 };
        let pw = optimal_power(h[j], p.bandwidth, p.noise_psd, p.phi_t, p.phi_e, p.p_max);
        p_opt[j] = pw;
        let r = rate(p.bandwidth, p.noise_psd, pw, h[j]);
        cost[j + 1] = tx_cost(d, r, pw, p.phi_t, p.phi_e);
    }
    f.sqrt()
}

/// `mec_alloc`: bufs h, task_d, task_f, hn, p_opt, cost [B,N,M+1], sqrt_f.
pub fn cpu_alloc(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    let rows = b * n;
    for (k, (name, want)) in [
        ("h", rows * m),
        ("task_d", rows),
        ("task_f", rows),
        ("hn", rows * m),
        ("p_opt", rows * m),
        ("cost", rows * (m + 1)),
        ("sqrt_f", rows),
    ]
    .into_iter()
    .enumerate()
    {
        need("mec_alloc", name, bufs[k].len(), want)?;
    }
    let [h, td, tf, hn, po, cost, sf] = bufs else { unreachable!() };
    let (h, td, tf) = (f32s(h), f32s(td), f32s(tf));
    // Rayon over blocks of rows; inside a block the power solve runs on 16 (i, j) entries at a
    // time across rows (M is often small), then the rates and costs.
    const ROWS: usize = 64;
    f32s_mut(hn)[..rows * m]
        .par_chunks_mut(ROWS * m)
        .zip(f32s_mut(po)[..rows * m].par_chunks_mut(ROWS * m))
        .zip(f32s_mut(cost)[..rows * (m + 1)].par_chunks_mut(ROWS * (m + 1)))
        .zip(f32s_mut(sf)[..rows].par_chunks_mut(ROWS))
        .enumerate()
        .for_each(|(blk, (((hn, po), c), s))| {
            let r0 = blk * ROWS;
            let nr = s.len();
            let hb = &h[r0 * m..(r0 + nr) * m];
            for r in 0..nr {
                let row = &hb[r * m..(r + 1) * m];
                let mut sum = 0.0f32;
                for &x in row {
                    sum += x;
                }
                for j in 0..m {
                    hn[r * m + j] = if sum > 0.0 { row[j] / sum } else { 0.0 };
                }
                let (t_l, e_l) = local_time_energy(tf[r0 + r], p.f_local, p.p_local);
                c[r * (m + 1)] = p.phi_t * t_l + p.phi_e * e_l;
                s[r] = tf[r0 + r].sqrt();
            }
            // The rates and costs run on all L lanes (a fixed trip count: LLVM vectorizes a
            // loop of at most 16 iterations not at all, since its vector body takes 64), the
            // padding lanes' results dropped.
            const L: usize = 16;
            for e0 in (0..nr * m).step_by(L) {
                let len = L.min(nr * m - e0);
                let (mut hl, mut dl) = ([1.0f32; L], [1.0f32; L]);
                hl[..len].copy_from_slice(&hb[e0..e0 + len]);
                for (l, d) in dl[..len].iter_mut().enumerate() {
                    *d = td[r0 + (e0 + l) / m];
                }
                let pw = optimal_power_lanes(&hl, p.bandwidth, p.noise_psd, p.phi_t, p.phi_e, p.p_max);
                let mut cl = [0.0f32; L];
                for l in 0..L {
                    let rate = rate(p.bandwidth, p.noise_psd, pw[l], hl[l]);
                    cl[l] = tx_cost(dl[l], rate, pw[l], p.phi_t, p.phi_e);
                }
                po[e0..e0 + len].copy_from_slice(&pw[..len]);
                for (l, &cost) in cl[..len].iter().enumerate() {
                    let e = e0 + l;
                    c[(e / m) * (m + 1) + e % m + 1] = cost;
                }
            }
        });
    Ok(())
}

/// ln of a gain for the observation (gains of 0 map to ln 1e-30).
#[inline(always)]
fn log_gain(h: f32) -> f32 {
    math::ln(h.max(1e-30))
}

/// `mec_observe`: bufs h, obs \[B,M,N\]; agent j sees (ln h_ij − mean_i) / std_i (population std,
/// floored at 1e-6) over its column (§V-C "State": log scale, then standardized).
pub fn cpu_observe(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    need("mec_observe", "h", bufs[0].len(), b * n * m)?;
    need("mec_observe", "obs", bufs[1].len(), b * m * n)?;
    let [h, obs] = bufs else { unreachable!() };
    let h = f32s(h);
    f32s_mut(obs)[..b * m * n].par_chunks_mut(n).enumerate().for_each(|(col, out)| {
        let (bi, j) = (col / m, col % m);
        observe_column(&h[bi * n * m..(bi + 1) * n * m], n, m, j, out);
    });
    Ok(())
}

/// Column j of one instance's observation.
#[inline(always)]
pub fn observe_column(h: &[f32], n: usize, m: usize, j: usize, out: &mut [f32]) {
    // the logarithms 16 at a time over whole lane arrays (a loop of N = 30 would not vectorize:
    // LLVM's vector body takes 64 iterations); the mean sums them in order afterwards
    const L: usize = 16;
    for i0 in (0..n).step_by(L) {
        let len = L.min(n - i0);
        let mut x = [1.0f32; L];
        for (l, v) in x[..len].iter_mut().enumerate() {
            *v = h[(i0 + l) * m + j];
        }
        let y = x.map(log_gain);
        out[i0..i0 + len].copy_from_slice(&y[..len]);
    }
    let mut mean = 0.0f32;
    for &v in &out[..n] {
        mean += v;
    }
    mean /= n as f32;
    let mut var = 0.0f32;
    for v in out.iter() {
        var += (v - mean) * (v - mean);
    }
    let sd = (var / n as f32).sqrt().max(1e-6);
    for v in out.iter_mut() {
        *v = (*v - mean) / sd;
    }
}

/// `mec_objective_exact`: bufs cost [B,N,M+1], sqrt_f \[B,N\], a \[B,P,N\] u32, bins (scratch),
/// phi \[B,P\].
pub fn cpu_objective_exact(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m, pp) = (p.b as usize, p.n as usize, p.m as usize, p.p as usize);
    need("mec_objective_exact", "cost", bufs[0].len(), b * n * (m + 1))?;
    need("mec_objective_exact", "sqrt_f", bufs[1].len(), b * n)?;
    need("mec_objective_exact", "a", bufs[2].len(), b * pp * n)?;
    need("mec_objective_exact", "phi", bufs[4].len(), b * pp)?;
    let [cost, sf, a, _bins, phi] = bufs else { unreachable!() };
    let (cost, sf, a) = (f32s(cost), f32s(sf), &a[..]);
    // Groups of rows of one instance ([`exact::ROWS`] at a time share the √F broadcasts).
    let groups = pp.div_ceil(exact::ROWS).max(1);
    let phi = &mut f32s_mut(phi)[..b * pp];
    let per_instance: Vec<&mut [f32]> = phi.chunks_mut(pp.max(1)).collect();
    let mut tasks: Vec<(usize, usize, &mut [f32])> = Vec::with_capacity(b * groups);
    for (bi, out) in per_instance.into_iter().enumerate() {
        for (g, o) in out.chunks_mut(exact::ROWS).enumerate() {
            tasks.push((bi, g * exact::ROWS, o));
        }
    }
    tasks.into_par_iter().for_each_init(
        || vec![0.0f32; m + 1],
        |bins, (bi, k0, out)| {
            let c = &cost[bi * n * (m + 1)..(bi + 1) * n * (m + 1)];
            let s = &sf[bi * n..(bi + 1) * n];
            // The group's rows on the stack (no allocation per task).
            let mut rows: [&[u32]; exact::ROWS] = [&[]; exact::ROWS];
            for (r, k) in (k0..k0 + out.len()).enumerate() {
                rows[r] = &a[(bi * pp + k) * n..(bi * pp + k + 1) * n];
            }
            exact::objective_exact_rows(c, s, &rows[..out.len()], m, p.f_max, p.phi_t, bins, out);
        },
    );
    Ok(())
}

/// Σ_i Φ_i of one (a, f, p) as given (paper mode, eq. 8–11). A MEC whose assigned shares sum
/// above F_max (constraint 6) scales them down to fit: the time term becomes
/// Σ F_i/f_i · max(1, Σ f_i / F_max). `bins` has 2M entries (Σ f, Σ F/f per MEC).
/// Returns NaN if some a_i > M.
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn objective_paper_one(
    p: &MecParams,
    h: &[f32],
    d: &[f32],
    fc: &[f32],
    a: &[u32],
    f: &[f32],
    pw: &[f32],
    bins: &mut [f32],
) -> f32 {
    let m = p.m as usize;
    let n = a.len();
    assert!(h.len() >= n * m && d.len() >= n && fc.len() >= n && f.len() >= n && pw.len() >= n, "row lengths");
    let bins = &mut bins[..2 * m];
    bins.fill(0.0);
    let mut s = [0.0f32; 4];
    // Chunks of 16: every task's term (local Φ or transmission part, with its rate) is computed
    // lane-parallel, then added in task order exactly as a sequential loop would.
    const L: usize = 16;
    for i0 in (0..n).step_by(L) {
        let len = L.min(n - i0);
        let mut term = [0.0f32; L];
        let mut bad = false;
        let (ac, dc, fcc, pc) = (&a[i0..i0 + len], &d[i0..i0 + len], &fc[i0..i0 + len], &pw[i0..i0 + len]);
        for l in 0..len {
            let i = i0 + l;
            let ai = ac[l] as usize;
            bad |= ai > m;
            let j = ai.clamp(1, m) - 1;
            // SAFETY: i < n and j < m, and h.len() >= n·m was asserted.
            let hij = unsafe { *h.get_unchecked(i * m + j) };
            let (t, e) = local_time_energy(fcc[l], p.f_local, p.p_local);
            let local = p.phi_t * t + p.phi_e * e;
            let r = rate(p.bandwidth, p.noise_psd, pc[l], hij);
            let tx = tx_cost(dc[l], r, pc[l], p.phi_t, p.phi_e);
            term[l] = if ai == 0 { local } else { tx };
        }
        if bad {
            return f32::NAN;
        }
        for l in 0..len {
            let i = i0 + l;
            s[i % 4] += term[l];
            let ai = a[i] as usize;
            if ai != 0 {
                bins[ai - 1] += f[i];
                bins[m + ai - 1] += fc[i] / f[i];
            }
        }
    }
    let mut cpu = 0.0f32;
    for j in 0..m {
        cpu += bins[m + j] * (bins[j] / p.f_max).max(1.0);
    }
    (s[0] + s[1]) + (s[2] + s[3]) + p.phi_t * cpu
}

/// `mec_objective_paper`: bufs h, task_d, task_f, a, f, pw \[B,P,N\], bins (scratch), phi \[B,P\].
pub fn cpu_objective_paper(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m, pp) = (p.b as usize, p.n as usize, p.m as usize, p.p as usize);
    for (k, (name, want)) in [
        ("h", b * n * m),
        ("task_d", b * n),
        ("task_f", b * n),
        ("a", b * pp * n),
        ("f", b * pp * n),
        ("pw", b * pp * n),
    ]
    .into_iter()
    .enumerate()
    {
        need("mec_objective_paper", name, bufs[k].len(), want)?;
    }
    need("mec_objective_paper", "phi", bufs[7].len(), b * pp)?;
    let [h, td, tf, a, f, pw, _bins, phi] = bufs else { unreachable!() };
    let (h, td, tf, a, f, pw) = (f32s(h), f32s(td), f32s(tf), &a[..], f32s(f), f32s(pw));
    f32s_mut(phi)[..b * pp].par_iter_mut().enumerate().for_each_init(
        || vec![0.0f32; 2 * m],
        |bins, (c, out)| {
            let bi = c / pp;
            let r = c * n..(c + 1) * n;
            *out = objective_paper_one(
                &p,
                &h[bi * n * m..(bi + 1) * n * m],
                &td[bi * n..(bi + 1) * n],
                &tf[bi * n..(bi + 1) * n],
                &a[r.clone()],
                &f[r.clone()],
                &pw[r],
                bins,
            );
        },
    );
    Ok(())
}

/// Baseline decisions (DIRS paper §VI-C; docs/mec.md, Baselines).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heuristic {
    /// Every task local.
    Local = 0,
    /// Nearest MEC, in ascending-F order; a task that does not fit the MEC's capacity goes
    /// local, so the largest-F tasks are the ones left local.
    Greedy = 1,
    /// A uniform target in {local, 1..M}; local if the chosen MEC has no capacity left.
    Random = 2,
}

/// One instance's heuristic decisions (kernel `mec_heuristic`, one thread per instance).
#[allow(clippy::too_many_arguments)]
pub fn heuristic_instance(
    p: &MecParams,
    bi: u32,
    iotd_pos: &[f32],
    mec_pos: &[f32],
    task_f: &[f32],
    order: &[u32],
    load: &mut [f32],
    a: &mut [u32],
) {
    let (n, m) = (p.n as usize, p.m as usize);
    load[..m].fill(0.0);
    match p.variant {
        0 => a[..n].fill(0),
        1 => {
            for &i in &order[..n] {
                let i = i as usize;
                let (x, y) = (iotd_pos[i], iotd_pos[n + i]);
                let mut best = 0usize;
                let mut best_d2 = f32::INFINITY;
                for j in 0..m {
                    let (dx, dy) = (mec_pos[j] - x, mec_pos[m + j] - y);
                    let d2 = dx * dx + dy * dy;
                    if d2 < best_d2 {
                        best_d2 = d2;
                        best = j;
                    }
                }
                if load[best] + task_f[i] <= p.capacity {
                    load[best] += task_f[i];
                    a[i] = best as u32 + 1;
                } else {
                    a[i] = 0;
                }
            }
        }
        _ => {
            let key = [p.key0, p.key1];
            for i in 0..n {
                let w = rng::philox4x32_10(rng::counter(i as u32, bi, p.step, stream::MEC_RANDOM_POLICY, 0), key);
                let t = rng::uniform_index(w[0], p.m + 1) as usize;
                a[i] = if t > 0 && load[t - 1] + task_f[i] <= p.capacity {
                    load[t - 1] += task_f[i];
                    t as u32
                } else {
                    0
                };
            }
        }
    }
}

/// `mec_heuristic`: bufs iotd_pos, mec_pos, task_f, order \[B,N\] u32, load (scratch \[B,M\]), a \[B,N\].
pub fn cpu_heuristic(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let (b, n, m) = (p.b as usize, p.n as usize, p.m as usize);
    for (k, (name, want)) in [
        ("iotd_pos", b * 2 * n),
        ("mec_pos", b * 2 * m),
        ("task_f", b * n),
        ("order", b * n),
        ("load", b * m),
        ("a", b * n),
    ]
    .into_iter()
    .enumerate()
    {
        need("mec_heuristic", name, bufs[k].len(), want)?;
    }
    let [ip, mp, tf, order, _load, a] = bufs else { unreachable!() };
    let (ip, mp, tf, order) = (f32s(ip), f32s(mp), f32s(tf), &order[..]);
    a[..b * n].par_chunks_mut(n).enumerate().for_each_init(
        || vec![0.0f32; m],
        |load, (bi, a)| {
            heuristic_instance(
                &p,
                bi as u32,
                &ip[bi * 2 * n..(bi + 1) * 2 * n],
                &mp[bi * 2 * m..(bi + 1) * 2 * m],
                &tf[bi * n..(bi + 1) * n],
                &order[bi * n..(bi + 1) * n],
                load,
                a,
            )
        },
    );
    Ok(())
}

/// The reward of an instance from its Σ Φ (§V-C "Reward"): `kind` 0 = 1 / Σ Φ (the paper),
/// 1 = −Σ Φ / N ([`RewardKind`] order).
#[inline]
pub fn reward_of(phi: f32, kind: u32, n: u32) -> f32 {
    if kind == 0 {
        1.0 / phi
    } else {
        -phi / n as f32
    }
}

/// `mec_reward`: bufs phi \[B\], reward \[B\]; the kind in `variant`.
pub fn cpu_reward(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: MecParams = decode(params);
    let b = p.b as usize;
    need("mec_reward", "phi", bufs[0].len(), b)?;
    need("mec_reward", "reward", bufs[1].len(), b)?;
    let [phi, reward] = bufs else { unreachable!("the spec has 2 buffers") };
    for (r, &x) in f32s_mut(reward)[..b].iter_mut().zip(&f32s(phi)[..b]) {
        *r = reward_of(x, p.variant, p.n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::mec::exact::objective_exact_one;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-30)
    }

    #[test]
    fn reward_of_sigma_phi_hand_cases() {
        // §V-C: 1 / ΣΦ = 1 / 4 = 0.25; the alternative −ΣΦ / N = −6 / 3 = −2.
        assert_eq!(reward_of(4.0, 0, 30), 0.25);
        assert_eq!(reward_of(6.0, 1, 3), -2.0);
        assert!(reward_of(f32::NAN, 0, 3).is_nan());
    }
    #[test]
    fn alloc_kernel_equals_alloc_row_bit_for_bit() {
        // The lane-parallel CPU kernel against the scalar reference row by row, with gains that
        // exercise both branches of the power solve (P_max and interior optimum) and M = 3, 7.
        for m in [3u32, 7] {
            let mut p = MecConfig { n_iotd: 50, n_mec: m as usize, ..MecConfig::default() }.params(2, 1, 1);
            p.b = 2;
            let (rows, m) = (100usize, m as usize);
            let h: Vec<f32> =
                (0..rows * m).map(|k| 10f32.powf(-9.0 + 7.0 * ((k * 7919) % 1000) as f32 / 1000.0)).collect();
            let d: Vec<f32> = (0..rows).map(|k| 1e5 + 1e4 * k as f32).collect();
            let f: Vec<f32> = (0..rows).map(|k| 1e9 + 3e7 * k as f32).collect();
            let mut bufs: Vec<Vec<u32>> = vec![
                h.iter().map(|x| x.to_bits()).collect(),
                d.iter().map(|x| x.to_bits()).collect(),
                f.iter().map(|x| x.to_bits()).collect(),
                vec![0; rows * m],
                vec![0; rows * m],
                vec![0; rows * (m + 1)],
                vec![0; rows],
            ];
            let mut refs: Vec<&mut [u32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
            cpu_alloc(bytemuck::bytes_of(&p), &mut refs).unwrap();
            for r in 0..rows {
                let (mut hn, mut po, mut c) = (vec![0.0; m], vec![0.0; m], vec![0.0; m + 1]);
                let sf = alloc_row(&p, &h[r * m..(r + 1) * m], d[r], f[r], &mut hn, &mut po, &mut c);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&hn), bufs[3][r * m..(r + 1) * m], "hn row {r}");
                assert_eq!(bits(&po), bufs[4][r * m..(r + 1) * m], "p row {r}");
                assert_eq!(bits(&c), bufs[5][r * (m + 1)..(r + 1) * (m + 1)], "cost row {r}");
                assert_eq!(sf.to_bits(), bufs[6][r]);
            }
        }
    }
    #[test]
    fn channel_kernel_equals_channel_row_bit_for_bit() {
        // 16 IoTDs at a time against the scalar row: N on both sides of the lane count, M
        // across Philox blocks (1, 4, 5, 9), two instances
        for (n, m) in [(30u32, 2u32), (16, 1), (7, 4), (33, 5), (50, 9)] {
            let mut p = MecConfig { n_iotd: n as usize, n_mec: m as usize, ..MecConfig::default() }.params(2, 1, 3);
            p.b = 2;
            p.step = 5;
            let (n, m) = (n as usize, m as usize);
            let ip: Vec<f32> = (0..2 * 2 * n).map(|k| ((k * 7919) % 500) as f32 / 10.0).collect();
            let mp: Vec<f32> = (0..2 * 2 * m).map(|k| ((k * 104_729) % 500) as f32 / 10.0).collect();
            let mut bufs: Vec<Vec<u32>> = vec![
                ip.iter().map(|x| x.to_bits()).collect(),
                mp.iter().map(|x| x.to_bits()).collect(),
                vec![0; 2 * n * m],
            ];
            let mut refs: Vec<&mut [u32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
            cpu_channel(bytemuck::bytes_of(&p), &mut refs).unwrap();
            for bi in 0..2 {
                for i in 0..n {
                    let mut row = vec![0.0f32; m];
                    let pos = &ip[bi * 2 * n..];
                    channel_row(
                        &p,
                        bi as u32,
                        i as u32,
                        pos[i],
                        pos[n + i],
                        &mp[bi * 2 * m..(bi + 1) * 2 * m],
                        &mut row,
                    );
                    let want: Vec<u32> = row.iter().map(|x| x.to_bits()).collect();
                    assert_eq!(bufs[2][(bi * n + i) * m..(bi * n + i + 1) * m], want, "n {n} m {m} b {bi} i {i}");
                }
            }
        }
    }

    #[test]
    fn observe_column_equals_the_plain_loop_bit_for_bit() {
        for (n, m) in [(30usize, 2usize), (16, 3), (5, 1), (47, 4)] {
            let h: Vec<f32> =
                (0..n * m).map(|k| 10f32.powf(-12.0 + 6.0 * ((k * 7919) % 1000) as f32 / 1000.0)).collect();
            for j in 0..m {
                let mut out = vec![0.0f32; n];
                observe_column(&h, n, m, j, &mut out);
                let v: Vec<f32> = (0..n).map(|i| log_gain(h[i * m + j])).collect();
                let mut mean = 0.0f32;
                for &x in &v {
                    mean += x;
                }
                mean /= n as f32;
                let mut var = 0.0f32;
                for &x in &v {
                    var += (x - mean) * (x - mean);
                }
                let sd = (var / n as f32).sqrt().max(1e-6);
                let want: Vec<u32> = v.iter().map(|x| ((x - mean) / sd).to_bits()).collect();
                assert_eq!(out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want, "n {n} m {m} j {j}");
            }
        }
    }

    fn small_params(n: u32, m: u32) -> MecParams {
        let cfg = MecConfig { n_iotd: n as usize, n_mec: m as usize, ..MecConfig::default() };
        cfg.params(1, 1, 42)
    }
    #[test]
    fn objective_exact_hand_case() {
        // N = 3, M = 2. Costs: IoTD0 local 1.0; IoTD1 → MEC1 tx 0.2; IoTD2 → MEC1 tx 0.3.
        // √F = 2e4, 4e4: S_1 = 2e4+... CPU term φ_T/F_max·S² = 0.5/50e9·(3e4+4e4)² = 0.049.
        let m = 2;
        let cost = [1.0, 9.0, 9.0, 9.0, 0.2, 9.0, 9.0, 0.3, 9.0];
        let sf = [1e4, 3e4, 4e4];
        let mut bins = vec![0.0; m + 1];
        let phi = objective_exact_one(&cost, &sf, &[0, 1, 1], m, 50e9, 0.5, &mut bins);
        assert!(close(phi as f64, 1.0 + 0.2 + 0.3 + 0.5 / 50e9 * 4.9e9, 1e-6), "{phi}");
        assert!(objective_exact_one(&cost, &sf, &[0, 3, 1], m, 50e9, 0.5, &mut bins).is_nan());
    }
    #[test]
    fn objective_exact_equals_eq8_11_with_kkt_allocation() {
        // The closed form equals Σ Φ_i of eq. (8)–(11) evaluated with the KKT shares and p*.
        let p = small_params(7, 3);
        let mut h = [0.0f32; 21];
        for (k, v) in h.iter_mut().enumerate() {
            *v = 1e-6 * (1.0 + k as f32);
        }
        let d = [8e5f32; 7];
        let f = [1e9f32, 2e9, 3e9, 1e9, 5e9, 1e9, 2e9];
        let a = [0u32, 1, 1, 2, 3, 3, 3];
        let (mut hn, mut po, mut cost, mut sf) = (vec![0.0; 21], vec![0.0; 21], vec![0.0; 28], vec![0.0; 7]);
        for i in 0..7 {
            sf[i] = alloc_row(
                &p,
                &h[i * 3..i * 3 + 3],
                d[i],
                f[i],
                &mut hn[i * 3..i * 3 + 3],
                &mut po[i * 3..i * 3 + 3],
                &mut cost[i * 4..i * 4 + 4],
            );
        }
        let mut bins = vec![0.0; 4];
        let phi = objective_exact_one(&cost, &sf, &a, 3, p.f_max, p.phi_t, &mut bins) as f64;
        let mut want = 0.0f64;
        for j in 1..=3u32 {
            let members: Vec<usize> = (0..7).filter(|&i| a[i] == j).collect();
            let shares = cpu_shares(p.f_max as f64, &members.iter().map(|&i| f[i] as f64).collect::<Vec<_>>());
            for (k, &i) in members.iter().enumerate() {
                let pw = po[i * 3 + j as usize - 1] as f64;
                let r = 1e6 * (1.0 + pw * h[i * 3 + j as usize - 1] as f64 / 1e-6).log2();
                let t = 8e5 / r + f[i] as f64 / shares[k];
                want += 0.5 * t + 0.5 * pw * 8e5 / r;
            }
        }
        want += 1.0; // IoTD 0 local: Φ = 1
        assert!(close(phi, want, 2e-6), "{phi} vs {want}");
    }
    #[test]
    fn objective_paper_scales_overbooked_mec() {
        // Two tasks on MEC 1 asking 40 GHz each (80 > 50): times scale by 80/50.
        let p = small_params(2, 1);
        let h = [1e-5f32, 1e-5];
        let mut bins = vec![0.0; 2];
        let phi = objective_paper_one(&p, &h, &[8e5; 2], &[1e9; 2], &[1, 1], &[40e9; 2], &[1.5; 2], &mut bins) as f64;
        let tx = 2.0 * (0.5 + 0.5 * 1.5) * 8e5 / 4e6; // r = 4e6 (SNR 15)
        let cpu = 0.5 * 2.0 * (1e9 / 40e9) * (80.0 / 50.0);
        assert!(close(phi, tx + cpu, 1e-6), "{phi} vs {}", tx + cpu);
    }
    #[test]
    fn greedy_leaves_largest_tasks_local_when_full() {
        let mut p = small_params(3, 1);
        p.variant = 1;
        p.capacity = 3e9;
        let pos = [1.0f32, 2.0, 3.0, 0.0, 0.0, 0.0];
        let mec = [0.0f32, 0.0];
        let f = [2e9f32, 1e9, 1.5e9];
        let order = [1u32, 2, 0]; // ascending F
        let (mut load, mut a) = (vec![0.0; 1], vec![9u32; 3]);
        heuristic_instance(&p, 0, &pos, &mec, &f, &order, &mut load, &mut a);
        assert_eq!(a, vec![0, 1, 1]);
        p.variant = 0;
        heuristic_instance(&p, 0, &pos, &mec, &f, &order, &mut load, &mut a);
        assert_eq!(a, vec![0, 0, 0]);
    }
}
