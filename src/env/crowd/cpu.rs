//! CPU references of the `crowd_*` kernels (rayon over instances). Every float sum runs over its
//! terms in ascending agent / unit / link order — the order the WGSL and CUDA kernels use — so
//! the backends agree bit for bit up to the vendor differences the parity tests allow.

use rayon::prelude::*;

use super::config::{count, metric, CrowdParams, Policy, CROWD_DATA, CROWD_DEMAND, CROWD_RANDOM, CROWD_RESET};
use super::config::{CROWD_SLOT, CROWD_TASKS};
use super::model::{self, Target, CLOUD, EDGE, LOCAL, MD};
use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::rng;

/// (B, N, U, L, A, obs width) of a parameter block.
pub fn dims(p: &CrowdParams) -> (usize, usize, usize, usize, usize, usize) {
    let (b, n, s) = (p.b as usize, p.n as usize, p.s as usize);
    let a = p.k as usize + s + 2;
    (b, n, n + s + 1, n + s * s.saturating_sub(1) / 2 + s, a, 3 + 3 * a)
}

/// `crowd_state`: the global state [B, U + L + N] of the critics ([`model::state_feature`]),
/// one value per (instance, feature).
pub fn cpu_state(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, u, l, ..) = dims(&p);
    let w = model::state_width(&p) as usize;
    need_all("crowd_state", bufs, &[("cap", b * n), ("q", b * u), ("v", b * l), ("state", b * w)])?;
    let (head, tail) = bufs.split_at_mut(3);
    let (cap, q, v) = (f32s(head[0]), f32s(head[1]), f32s(head[2]));
    f32s_mut(tail[0])[..b * w].par_chunks_mut(w.max(1)).enumerate().for_each(|(g, row)| {
        let (c, qg, vg) = (&cap[g * n..(g + 1) * n], &q[g * u..(g + 1) * u], &v[g * l..(g + 1) * l]);
        for (f, x) in row.iter_mut().enumerate() {
            *x = model::state_feature(&p, c, qg, vg, f as u32);
        }
    });
    Ok(())
}

/// `crowd_reset`: first arrival countdown in 1..=gap_hi, empty queues, zero counts.
pub fn cpu_reset(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, u, l, _, _) = dims(&p);
    need_all("crowd_reset", bufs, &[("ctl", b * n), ("q", b * u), ("v", b * l), ("counts", b * count::WIDTH)])?;
    let [ctl, q, v, counts] = bufs else { unreachable!("the spec has 4 buffers") };
    let key = [p.key0, p.key1];
    ctl[..b * n].par_chunks_mut(n.max(1)).enumerate().for_each(|(g, row)| {
        for (i, c) in row.iter_mut().enumerate() {
            let w = rng::philox4x32_10(rng::counter(i as u32, g as u32, p.step, CROWD_RESET, 0), key);
            *c = 1 + rng::uniform_index(w[0], p.gap_hi);
        }
    });
    q[..b * u].fill(0);
    v[..b * l].fill(0);
    counts[..b * count::WIDTH].fill(0);
    Ok(())
}

/// One user's slot start: the arrival countdown, its tasks (K, s, o) and its MD capacity F_i(t).
#[inline(always)]
pub fn user_tasks(p: &CrowdParams, g: u32, i: u32, ctl: &mut u32) -> ([u32; 3], f32) {
    let w = rng::philox4x32_10(rng::counter(i, g, p.step, CROWD_SLOT, 0), [p.key0, p.key1]);
    user_tasks_from(p, g, i, ctl, w[0], w[1])
}

/// [`user_tasks`] given the words 0 and 1 of the user's `CROWD_SLOT` block.
#[inline(always)]
fn user_tasks_from(p: &CrowdParams, g: u32, i: u32, ctl: &mut u32, w0: u32, w1: u32) -> ([u32; 3], f32) {
    let key = [p.key0, p.key1];
    // §III-C: idle resources vary per slot; F = f_md · U[idle_lo, idle_hi]
    let cap = p.f_md * (p.idle_lo + (p.idle_hi - p.idle_lo) * rng::uniform(w0));
    let mut task = [0u32; 3];
    if *ctl <= 1 {
        // §VI-A: Poisson(λ1) tasks per arrival event; a sum of K Poisson(λ) is Poisson(Kλ)
        let k = rng::poisson(key, rng::counter(i, g, p.step, CROWD_TASKS, 0), p.lambda1);
        let kf = k as f32;
        task = [
            k,
            rng::poisson(key, rng::counter(i, g, p.step, CROWD_DEMAND, 0), kf * p.lambda2),
            rng::poisson(key, rng::counter(i, g, p.step, CROWD_DATA, 0), kf * p.lambda3),
        ];
        *ctl = p.gap_lo + rng::uniform_index(w1, p.gap_hi - p.gap_lo + 1); // U{gap_lo..gap_hi}
    } else {
        *ctl -= 1;
    }
    (task, cap)
}

/// `crowd_tasks`: every user's arrivals of this slot and every MD's capacity. The slot blocks of
/// 16 users come from one lane-vectorized Philox call (bit-identical to [`user_tasks`], tested).
pub fn cpu_tasks(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, ..) = dims(&p);
    need_all("crowd_tasks", bufs, &[("ctl", b * n), ("task", b * n * 3), ("cap", b * n)])?;
    let [ctl, task, cap] = bufs else { unreachable!("the spec has 3 buffers") };
    let n1 = n.max(1);
    let key = [p.key0, p.key1];
    ctl[..b * n]
        .par_chunks_mut(n1)
        .zip(task[..b * n * 3].par_chunks_mut(3 * n1))
        .zip(f32s_mut(cap)[..b * n].par_chunks_mut(n1))
        .enumerate()
        .for_each(|(g, ((ctl, task), cap))| {
            let mut i = 0;
            while i + 16 <= n {
                let c0: [u32; 16] = std::array::from_fn(|l| (i + l) as u32);
                let (w0, w1, _) = rng::philox16(c0, g as u32, p.step, CROWD_SLOT, key);
                for l in 0..16 {
                    let (t, f) = user_tasks_from(&p, g as u32, (i + l) as u32, &mut ctl[i + l], w0[l], w1[l]);
                    task[3 * (i + l)..3 * (i + l) + 3].copy_from_slice(&t);
                    cap[i + l] = f;
                }
                i += 16;
            }
            for i in i..n {
                let (t, f) = user_tasks(&p, g as u32, i as u32, &mut ctl[i]);
                task[3 * i..3 * i + 3].copy_from_slice(&t);
                cap[i] = f;
            }
        });
    Ok(())
}

/// Kind of target slot `a`.
#[inline(always)]
pub fn slot_kind(p: &CrowdParams, a: u32) -> u32 {
    if a == 0 {
        LOCAL
    } else if a <= p.k {
        MD
    } else if a <= p.k + p.s {
        EDGE
    } else {
        CLOUD
    }
}

/// One user's observation row: (K, s, o, then per target slot: P̂ (5), D (14), c̄ / unit).
#[allow(clippy::too_many_arguments)]
pub fn observe_user(
    p: &CrowdParams,
    cell_off: &[u32],
    i: u32,
    task: &[u32],
    cap: &[f32],
    q: &[f32],
    v: &[f32],
    row: &mut [f32],
) {
    let c = model::cell_of(p, cell_off, i);
    let s_c = task[1] as f32 * p.cycles_unit;
    row[0] = task[0] as f32;
    row[1] = task[1] as f32;
    row[2] = task[2] as f32;
    for a in 0..model::n_targets(p) {
        let t = model::target(p, cell_off, i, c, a);
        let f = model::unit_capacity(p, cap, t.unit);
        let k = 3 + 3 * a as usize;
        row[k] = model::processing_delay(q[t.unit as usize], s_c, f);
        row[k + 1] = model::e2e_estimate(p, v, &t);
        row[k + 2] = model::bottleneck(p, &t) / p.rate_unit;
    }
}

/// `crowd_observe`: the partial observations (no queue or capacity is shown, only the user's
/// own delay estimates).
pub fn cpu_observe(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, u, l, _, w) = dims(&p);
    need_all(
        "crowd_observe",
        bufs,
        &[
            ("cell_off", p.s as usize + 1),
            ("task", b * n * 3),
            ("cap", b * n),
            ("q", b * u),
            ("v", b * l),
            ("obs", b * n * w),
        ],
    )?;
    let (head, tail) = bufs.split_at_mut(5);
    let (cell_off, task, cap, q, v) = (&*head[0], &*head[1], f32s(head[2]), f32s(head[3]), f32s(head[4]));
    let n1 = n.max(1);
    f32s_mut(tail[0])[..b * n * w].par_chunks_mut(n1 * w).enumerate().for_each(|(g, obs)| {
        for i in 0..n {
            observe_user(
                &p,
                cell_off,
                i as u32,
                &task[3 * (g * n + i)..],
                &cap[g * n..(g + 1) * n],
                &q[g * u..(g + 1) * u],
                &v[g * l..(g + 1) * l],
                &mut obs[i * w..(i + 1) * w],
            );
        }
    });
    Ok(())
}

/// One agent's heuristic decision from its observation row only: (action, f′ (22) of it).
pub fn policy_user(p: &CrowdParams, g: u32, i: u32, row: &[f32]) -> (u32, f32) {
    if row[0] == 0.0 {
        return (0, 0.0);
    }
    let (s, o) = (row[1], row[2]);
    let a_n = model::n_targets(p);
    let value = |a: u32, r: u32| {
        let k = 3 + 3 * a as usize;
        model::dpp_value(p, row[k], row[k + 1], row[k + 2], model::level(p, r), model::fee(p, slot_kind(p, a)), s, o)
    };
    let levels = |a: u32| if a == 0 { 1 } else { p.r };
    if p.policy == Policy::Random.code() {
        let w = rng::philox4x32_10(rng::counter(i, g, p.step, CROWD_RANDOM, 0), [p.key0, p.key1]);
        let a = rng::uniform_index(w[0], a_n);
        let r = if a == 0 { 0 } else { rng::uniform_index(w[1], p.r) };
        return (a * p.r + r, value(a, r));
    }
    let (mut best_a, mut best_r, mut best) = (0u32, 0u32, f32::INFINITY);
    if p.policy == Policy::Greedy.code() {
        let top = p.r - 1;
        for a in 0..a_n {
            let k = 3 + 3 * a as usize;
            let r = if a == 0 { 0 } else { top };
            let d = model::delay_estimate(p, row[k], row[k + 2], model::level(p, r), o);
            if d < best {
                (best_a, best_r, best) = (a, r, d);
            }
        }
        return (best_a * p.r + best_r, value(best_a, best_r));
    }
    // Alg. 1 line 4: argmin over (w, x) of f′ (23)–(24); the first minimum in (a, r) order
    for a in 0..a_n {
        for r in 0..levels(a) {
            let f = value(a, r);
            if f < best {
                (best_a, best_r, best) = (a, r, f);
            }
        }
    }
    (best_a * p.r + best_r, best)
}

/// `crowd_policy`: the heuristic of `params.policy` for every agent.
pub fn cpu_policy(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, _, _, _, w) = dims(&p);
    need_all("crowd_policy", bufs, &[("obs", b * n * w), ("action", b * n), ("est", b * n)])?;
    let [obs, action, est] = bufs else { unreachable!("the spec has 3 buffers") };
    let obs = f32s(obs);
    let n1 = n.max(1);
    action[..b * n].par_chunks_mut(n1).zip(f32s_mut(est)[..b * n].par_chunks_mut(n1)).enumerate().for_each(
        |(g, (act, est))| {
            for i in 0..n {
                let (a, e) = policy_user(&p, g as u32, i as u32, &obs[(g * n + i) * w..(g * n + i + 1) * w]);
                act[i] = a;
                est[i] = e;
            }
        },
    );
    Ok(())
}

/// The decoded action of user `i` with a task: (target, level), or `None` if invalid.
#[inline(always)]
pub fn decode_action(p: &CrowdParams, cell_off: &[u32], i: u32, a: u32) -> Option<(Target, u32)> {
    if a >= model::n_targets(p) * p.r {
        return None;
    }
    let c = model::cell_of(p, cell_off, i);
    Some((model::target(p, cell_off, i, c, a / p.r), a % p.r))
}

/// `crowd_load`: per unit the demand allotted this slot (Σ s, cycles; A_u(t) of (4)), per link
/// the requested rates (Σ x, bit/s; H_l(t) of (1)–(2)). Agents without a task or with an invalid
/// action add nothing.
pub fn cpu_load(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, u, l, ..) = dims(&p);
    need_all(
        "crowd_load",
        bufs,
        &[("cell_off", p.s as usize + 1), ("task", b * n * 3), ("action", b * n), ("load", b * (u + l))],
    )?;
    let (head, tail) = bufs.split_at_mut(3);
    let (cell_off, task, action) = (&*head[0], &*head[1], &*head[2]);
    f32s_mut(tail[0])[..b * (u + l)].par_chunks_mut(u + l).enumerate().for_each(|(g, load)| {
        load.fill(0.0);
        // one pass in ascending agent order = every accumulator's terms in ascending order
        for i in 0..n {
            let t = &task[3 * (g * n + i)..];
            if t[0] == 0 {
                continue;
            }
            let Some((tg, r)) = decode_action(&p, cell_off, i as u32, action[g * n + i]) else { continue };
            load[tg.unit as usize] += t[1] as f32 * p.cycles_unit;
            let x = model::level(&p, r) * model::bottleneck(&p, &tg);
            for k in 0..tg.nl as usize {
                load[u + tg.links[k] as usize] += x;
            }
        }
    });
    Ok(())
}

/// One agent's outcome: (E (6), cost (7)); (0, 0) without a task, NaN for an invalid action.
#[allow(clippy::too_many_arguments)]
pub fn outcome_user(
    p: &CrowdParams,
    cell_off: &[u32],
    i: u32,
    task: &[u32],
    cap: &[f32],
    q: &[f32],
    a: u32,
    xsum: &[f32],
) -> (f32, f32) {
    if task[0] == 0 {
        return (0.0, 0.0);
    }
    let Some((t, r)) = decode_action(p, cell_off, i, a) else { return (f32::NAN, f32::NAN) };
    let s_c = task[1] as f32 * p.cycles_unit;
    let f = model::unit_capacity(p, cap, t.unit);
    let ph = model::processing_delay(q[t.unit as usize], s_c, f); // (5) with Q_u(t)
    let mut e = ph;
    if t.nl > 0 {
        let x = model::level(p, r) * model::bottleneck(p, &t);
        let xbar = x * model::rate_share(p, xsum, &t); // (1): shared capacity
        e = ph + model::transfer_time(task[2] as f32 * p.bits_per_mb, xbar); // (6)
    }
    (e, model::cost(p, e, model::fee(p, t.kind), task[1] as f32)) // (7)
}

/// `crowd_outcome`: E and cost of every agent's bundle.
pub fn cpu_outcome(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, u, l, ..) = dims(&p);
    need_all(
        "crowd_outcome",
        bufs,
        &[
            ("cell_off", p.s as usize + 1),
            ("task", b * n * 3),
            ("cap", b * n),
            ("q", b * u),
            ("action", b * n),
            ("load", b * (u + l)),
            ("out", b * n * 2),
        ],
    )?;
    let (head, tail) = bufs.split_at_mut(6);
    let (cell_off, task, cap, q, action, load) =
        (&*head[0], &*head[1], f32s(head[2]), f32s(head[3]), &*head[4], f32s(head[5]));
    let n1 = n.max(1);
    f32s_mut(tail[0])[..b * n * 2].par_chunks_mut(2 * n1).enumerate().for_each(|(g, out)| {
        let xsum = &load[g * (u + l) + u..(g + 1) * (u + l)];
        for i in 0..n {
            let (e, c) = outcome_user(
                &p,
                cell_off,
                i as u32,
                &task[3 * (g * n + i)..],
                &cap[g * n..(g + 1) * n],
                &q[g * u..(g + 1) * u],
                action[g * n + i],
                xsum,
            );
            out[2 * i] = e;
            out[2 * i + 1] = c;
        }
    });
    Ok(())
}

/// `crowd_finish`: reward (13), slot metrics, task accounting, then the queue updates (2), (4).
pub fn cpu_finish(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CrowdParams = decode(params);
    let (b, n, u, l, ..) = dims(&p);
    need_all(
        "crowd_finish",
        bufs,
        &[
            ("cell_off", p.s as usize + 1),
            ("task", b * n * 3),
            ("cap", b * n),
            ("action", b * n),
            ("out", b * n * 2),
            ("load", b * (u + l)),
            ("q", b * u),
            ("v", b * l),
            ("reward", b),
            ("slot", b * metric::WIDTH),
            ("counts", b * count::WIDTH),
        ],
    )?;
    let (head, tail) = bufs.split_at_mut(6);
    let (cell_off, task, cap, action, out, load) =
        (&*head[0], &*head[1], f32s(head[2]), &*head[3], f32s(head[4]), f32s(head[5]));
    let [q, v, reward, slot, counts] = tail else { unreachable!("the spec has 11 buffers") };
    f32s_mut(q)[..b * u]
        .par_chunks_mut(u)
        .zip(f32s_mut(v)[..b * l].par_chunks_mut(l))
        .zip(f32s_mut(reward)[..b].par_iter_mut())
        .zip(f32s_mut(slot)[..b * metric::WIDTH].par_chunks_mut(metric::WIDTH))
        .zip(counts[..b * count::WIDTH].par_chunks_mut(count::WIDTH))
        .enumerate()
        .for_each(|(g, ((((q, v), reward), slot), counts))| {
            finish_instance(
                &p,
                cell_off,
                &task[3 * g * n..3 * (g + 1) * n],
                &cap[g * n..(g + 1) * n],
                &action[g * n..(g + 1) * n],
                &out[2 * g * n..2 * (g + 1) * n],
                &load[g * (u + l)..(g + 1) * (u + l)],
                q,
                v,
                reward,
                slot,
                counts,
            );
        });
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn finish_instance(
    p: &CrowdParams,
    cell_off: &[u32],
    task: &[u32],
    cap: &[f32],
    action: &[u32],
    out: &[f32],
    load: &[f32],
    q: &mut [f32],
    v: &mut [f32],
    reward: &mut f32,
    slot: &mut [f32],
    counts: &mut [u32],
) {
    let (n, s) = (p.n, p.s);
    let (u_n, l_n) = (n + s + 1, n + s * (s - 1) / 2 + s);
    let (mut sum_cost, mut sum_e, mut sum_o, mut bundles) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    let mut bad = false;
    for i in 0..n {
        let k = task[3 * i as usize];
        if k == 0 {
            continue;
        }
        counts[count::GENERATED] = counts[count::GENERATED].wrapping_add(k);
        let Some((t, _)) = decode_action(p, cell_off, i, action[i as usize]) else {
            counts[count::REFUSED] = counts[count::REFUSED].wrapping_add(k);
            bad = true;
            continue;
        };
        let col = match t.kind {
            LOCAL => count::LOCAL,
            MD => count::MD,
            EDGE => count::EDGE,
            _ => count::CLOUD,
        };
        counts[col] = counts[col].wrapping_add(k);
        counts[count::BUNDLES] = counts[count::BUNDLES].wrapping_add(1);
        sum_cost += out[2 * i as usize + 1];
        sum_e += out[2 * i as usize];
        sum_o += task[3 * i as usize + 2] as f32;
        bundles += 1.0;
    }
    counts[count::SLOTS] = counts[count::SLOTS].wrapping_add(1);
    // links: drift term of (13) with V_l(t), then (2)
    let (mut drift, mut in_bits, mut served_bits) = (0.0f32, 0.0f32, 0.0f32);
    let mut link_rate = [0.0f32; 3];
    let wired_end = n + s * (s - 1) / 2;
    // in ascending l, one segment per link kind (no per-link branch; the same operations)
    for (kind, (lo, hi, c)) in
        [(0, n, p.c_wireless), (n, wired_end, p.c_wired), (wired_end, l_n, p.c_backbone)].into_iter().enumerate()
    {
        let (xs, vs) = (&load[(u_n + lo) as usize..(u_n + hi) as usize], &mut v[lo as usize..hi as usize]);
        let mut rate = 0.0f32;
        for (&x, vl) in xs.iter().zip(vs.iter_mut()) {
            drift += (*vl / p.rate_unit) * ((x - c) / p.rate_unit);
            let (next, served) = model::backlog_update(*vl, x * p.dt, c * p.dt); // (2) floored at 0
            *vl = next;
            in_bits += x * p.dt;
            served_bits += served;
            rate += next / (c * p.dt);
        }
        link_rate[kind] = rate;
    }
    // units: (4), in ascending u: MDs (F_m(t)), edge servers, the cloud
    let (mut in_cycles, mut served_cycles) = (0.0f32, 0.0f32);
    let mut unit_rate = [0.0f32; 3];
    for (kind, (lo, hi)) in [(0, n), (n, n + s), (n + s, u_n)].into_iter().enumerate() {
        let mut rate = 0.0f32;
        for un in lo..hi {
            let f = model::unit_capacity(p, cap, un);
            let a = load[un as usize];
            let (next, served) = model::backlog_update(q[un as usize], a, f * p.dt);
            q[un as usize] = next;
            in_cycles += a;
            served_cycles += served;
            rate += next / (f * p.dt);
        }
        unit_rate[kind] = rate;
    }
    let r = -(p.v_penalty * sum_cost + drift); // (13), as a reward to maximize
    *reward = if bad { f32::NAN } else { r };
    let wired = s * (s - 1) / 2;
    slot[metric::REWARD] = *reward;
    slot[metric::COST] = sum_cost;
    slot[metric::DELAY] = sum_e;
    slot[metric::DATA_MB] = sum_o;
    slot[metric::BUNDLES] = bundles;
    slot[metric::LOAD_MD] = unit_rate[0] / n as f32;
    slot[metric::LOAD_EDGE] = unit_rate[1] / s as f32;
    slot[metric::LOAD_CLOUD] = unit_rate[2];
    slot[metric::LINK_E2D] = link_rate[0] / n as f32;
    slot[metric::LINK_E2E] = if wired > 0 { link_rate[1] / wired as f32 } else { 0.0 };
    slot[metric::LINK_CLOUD] = link_rate[2] / s as f32;
    slot[metric::IN_CYCLES] = in_cycles;
    slot[metric::SERVED_CYCLES] = served_cycles;
    slot[metric::IN_BITS] = in_bits;
    slot[metric::SERVED_BITS] = served_bits;
    slot[metric::DRIFT] = drift;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::crowd::{CrowdConfig, Policy};

    #[test]
    fn lane_tasks_equal_the_scalar_rule() {
        // N = 51 users: three blocks of 16 and a scalar tail of 3
        let cfg = CrowdConfig { cluster_sizes: Some(vec![9, 8, 10, 7, 9, 8]), ..CrowdConfig::default() };
        let topo = cfg.topology().unwrap();
        let mut p = cfg.params(&topo, 2, 5, Policy::Dpp);
        let (b, n) = (2usize, topo.users());
        assert_eq!(n, 51);
        let mut ctl: Vec<u32> = (0..b * n).map(|x| 1 + (x as u32 % 3)).collect();
        for step in 0..6 {
            p.step = step;
            let mut want_ctl = ctl.clone();
            let mut want = vec![];
            for g in 0..b {
                for i in 0..n {
                    want.push(user_tasks(&p, g as u32, i as u32, &mut want_ctl[g * n + i]));
                }
            }
            let (mut task, mut cap) = (vec![0u32; b * n * 3], vec![0u32; b * n]);
            cpu_tasks(bytemuck::bytes_of(&p), &mut [&mut ctl, &mut task, &mut cap]).unwrap();
            assert_eq!(ctl, want_ctl);
            for (x, (t, f)) in want.iter().enumerate() {
                assert_eq!(&task[3 * x..3 * x + 3], t);
                assert_eq!(cap[x], f.to_bits());
                // §III-C: F_m(t) = f_md · U[0.2, 1]
                assert!((0.4e9..=2e9).contains(f), "{f}");
            }
            let caps: std::collections::BTreeSet<u32> = cap.iter().copied().collect();
            assert!(caps.len() > b * n / 2, "capacities are redrawn per MD and slot");
        }
        assert!(ctl.iter().all(|&c| (1..=20).contains(&c)));
    }
}
