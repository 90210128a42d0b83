//! `crowd` (mixed MAPPO; docs/crowd.md "Model" steps 1–10 and "Metrics" conservation): the
//! backlogs (eq. 4) and virtual link queues (eq. 2) recomputed from each slot's tasks, capacities
//! and actions; demand and bits in = served + Δ queued (info columns); the link capacity (eq. 1),
//! delays (eq. 5–6) and costs (eq. 7); every task counted once in its target's kind.

use super::*;
use mecrl::env::crowd::contract::CrowdBatchEnv;
use mecrl::env::crowd::{count, metric, CrowdConfig};

pub fn cfg() -> impl Strategy<Value = (CrowdConfig, usize)> {
    (
        (1usize..=3, 1usize..=2, prop::collection::vec(1usize..=8, 6), 0usize..64),
        (prop::collection::vec(0.05f64..=1.0, 1..=4), 1e6f64..2e7, 1e7f64..5e7, 2e7f64..2e8, 0.5f64..2.0),
        (1usize..=20, 0.0f64..5.0, 0.0f64..10.0, 0.0f64..5.0, 1usize..=4, 0usize..=4),
        (5e8f64..3e9, 0.05f64..1.0, 0.0f64..=1.0, 5e9f64..5e10, 5e10f64..4e11),
        (0.0f64..=1.0, 0.0f64..=1.0, 0.0f64..3.0, prop::collection::vec(0.0f64..5.0, 4)),
        1usize..=2,
    )
        .prop_map(|(a, b, c, d, f, batch)| {
            let (n_servers, clusters_per_cell, sizes, k_raw) = a;
            let (rate_levels, wireless_bps, wired_bps, backbone_bps, slot_s) = b;
            let (horizon_slots, lambda1, lambda2, lambda3, gap_min_slots, gap_extra) = c;
            let (f_md_hz, idle_min, idle_frac, f_edge_hz, f_cloud_hz) = d;
            let (alpha, beta, penalty_v, fees) = f;
            let sizes = sizes[..n_servers * clusters_per_cell].to_vec();
            let min_cell = sizes.chunks(clusters_per_cell).map(|c| c.iter().sum::<usize>()).min().unwrap();
            let cfg = CrowdConfig {
                n_servers,
                clusters_per_cell,
                cluster_sizes: Some(sizes),
                md_candidates: k_raw % min_cell,
                wireless_bps,
                wired_bps,
                backbone_bps,
                slot_s,
                horizon_slots,
                lambda1,
                lambda2,
                lambda3,
                gap_min_slots,
                gap_max_slots: gap_min_slots + gap_extra,
                f_md_hz,
                idle_min,
                idle_max: idle_min + (1.0 - idle_min) * idle_frac,
                f_edge_hz,
                f_cloud_hz,
                alpha,
                beta,
                penalty_v,
                fee_local: fees[0],
                fee_md: fees[1],
                fee_edge: fees[2],
                fee_cloud: fees[3],
                rate_levels,
                ..CrowdConfig::default()
            };
            (cfg, batch)
        })
}

/// Kinds of a target, in `count` column order.
const KINDS: [usize; 4] = [count::LOCAL, count::MD, count::EDGE, count::CLOUD];

/// A decoded action as docs/crowd.md states it (not through the crate's decoder): (unit,
/// kind 0..4, links of the route, requested rate x = level × the route's bottleneck).
fn decode(cfg: &CrowdConfig, cell_off: &[u32], i: usize, a: u32) -> (usize, usize, Vec<usize>, f64) {
    let (s, k, r) = (cfg.n_servers, cfg.md_candidates, cfg.rate_levels.len());
    let n = *cell_off.last().unwrap() as usize;
    let (slot, level) = (a as usize / r, cfg.rate_levels[a as usize % r]);
    let c = (0..s).find(|&c| i < cell_off[c + 1] as usize).unwrap();
    let (start, size) = (cell_off[c] as usize, (cell_off[c + 1] - cell_off[c]) as usize);
    // wired links (b1 < b2) in lexicographic order after the N wireless ones, then backbones
    let wired = |b1: usize, b2: usize| {
        let (lo, hi) = (b1.min(b2), b1.max(b2));
        n + (0..lo).map(|x| s - 1 - x).sum::<usize>() + (hi - lo - 1)
    };
    let backbone = n + s * (s - 1) / 2 + c;
    let cw = cfg.wireless_bps;
    if slot == 0 {
        (i, 0, vec![], 0.0)
    } else if slot <= k {
        let j = start + (i - start + slot) % size;
        (j, 1, vec![i, j], level * cw)
    } else if slot <= k + s {
        let b = slot - k - 1;
        if b == c {
            (n + b, 2, vec![i], level * cw)
        } else {
            (n + b, 2, vec![i, wired(c, b)], level * cw.min(cfg.wired_bps))
        }
    } else {
        (n + s, 3, vec![i, backbone], level * cw.min(cfg.backbone_bps))
    }
}

/// One episode with random actions (every action is valid; no mask); after every slot, per
/// instance: each unit's backlog follows eq. (4) and each link's virtual queue eq. (2)
/// (recomputed from the tasks, capacities and actions of the slot), demand in = served +
/// Δ backlog and bits in = served + Δ queue (the info columns), every task counted once in
/// its target's kind, the delivered rates respect every link's capacity (eq. 1) and give
/// each bundle's E_i (eq. 5–6), and cost_i = α E_i + β R_u s_i (eq. 7).
pub fn run(cfg: &CrowdConfig, batch: usize, seed: u64, raws: &[u32]) -> Result<(), TestCaseError> {
    prop_assert!(cfg.validate().is_ok(), "{:?}", cfg.validate());
    let be = cpu();
    let mut env = CrowdBatchEnv::new(be.clone(), cfg, batch).unwrap();
    let spec = env.spec().clone();
    let out = EnvBuffers::new(&*be, &spec).unwrap();
    env.reset(seed, &out).unwrap();
    let cell_off = env.inner().topology().cell_off.clone();
    let (n, s) = (*cell_off.last().unwrap() as usize, cfg.n_servers);
    let (u, l) = (n + s + 1, n + s * (s - 1) / 2 + s);
    let a_n = env.inner().n_actions() as u32;
    prop_assert_eq!(a_n as usize, (cfg.md_candidates + s + 2) * cfg.rate_levels.len());
    let (kappa, nu, dt) = (cfg.cycles_per_unit, cfg.bits_per_mb, cfg.slot_s);
    let fees = [cfg.fee_local, cfg.fee_md, cfg.fee_edge, cfg.fee_cloud];
    let width = metric::WIDTH;
    let link_cap = |li: usize| {
        if li < n {
            cfg.wireless_bps
        } else if li < n + s * (s - 1) / 2 {
            cfg.wired_bps
        } else {
            cfg.backbone_bps
        }
    };
    let mut prev_counts = vec![0u32; batch * count::WIDTH];
    for t in 0..cfg.horizon_slots {
        let inner = env.inner();
        let task = be.download(&inner.task).unwrap();
        let cap = download_f32(&*be, &inner.cap).unwrap();
        let q = download_f32(&*be, &inner.q).unwrap();
        let v = download_f32(&*be, &inner.v).unwrap();
        let obs = download_f32(&*be, &out.obs).unwrap();
        let od = spec.obs_words();
        let actions: Vec<u32> = (0..batch * n).map(|k| raws[(t * batch * n + k) % raws.len()] % a_n).collect();
        env.step_host(&actions, &out).unwrap();
        let inner = env.inner();
        let q2 = download_f32(&*be, &inner.q).unwrap();
        let v2 = download_f32(&*be, &inner.v).unwrap();
        let eo = download_f32(&*be, &inner.out).unwrap();
        let info = download_f32(&*be, &out.info).unwrap();
        let reward = download_f32(&*be, &out.reward).unwrap();
        let counts = be.download(&inner.counts).unwrap();
        for g in 0..batch {
            let m = &info[g * width..(g + 1) * width];
            let (mut arrive, mut xsum) = (vec![0.0f64; u], vec![0.0f64; l]);
            let (mut by_kind, mut generated, mut bundles, mut data) = ([0u32; 4], 0u32, 0u32, 0.0f64);
            let mut dispatched = vec![];
            for i in 0..n {
                let k = g * n + i;
                let (tk, ts, to) = (task[3 * k], task[3 * k + 1] as f64, task[3 * k + 2] as f64);
                let o = &obs[k * od..k * od + 3];
                prop_assert_eq!(o, &[tk as f32, ts as f32, to as f32][..], "slot {}: observed task of user {}", t, k);
                if tk == 0 {
                    prop_assert!(eo[2 * k] == 0.0 && eo[2 * k + 1] == 0.0, "slot {t} user {k}: outcome without a task");
                    continue;
                }
                let (unit, kind, links, x) = decode(cfg, &cell_off, i, actions[k]);
                generated += tk;
                bundles += 1;
                data += to;
                by_kind[kind] += tk;
                arrive[unit] += kappa * ts;
                for &li in &links {
                    xsum[li] += x;
                }
                dispatched.push((i, unit, kind, links, x));
            }
            // eq. (1): every link scales its transfers by min(1, c_l / Σx); a transfer gets
            // the smallest factor of its route, so Σ delivered ≤ c_l on every link
            let mut delivered = vec![0.0f64; l];
            for (i, unit, kind, links, x) in dispatched {
                let k = g * n + i;
                let (ts, to) = (task[3 * k + 1] as f64, task[3 * k + 2] as f64);
                let share = links.iter().map(|&li| (link_cap(li) / xsum[li]).min(1.0)).fold(1.0, f64::min);
                for &li in &links {
                    delivered[li] += x * share;
                }
                let (e_i, cost_i) = (eo[2 * k] as f64, eo[2 * k + 1] as f64);
                let f = if unit < n {
                    cap[g * n + unit] as f64
                } else if unit < n + s {
                    cfg.f_edge_hz
                } else {
                    cfg.f_cloud_hz
                };
                let ph = (q[g * u + unit] as f64 + kappa * ts) / f; // (5), with Q_u(t)
                let tx = if links.is_empty() || to == 0.0 { 0.0 } else { nu * to / (x * share) };
                let want = ph + tx; // (6)
                prop_assert!(
                    near(e_i, want, 1e-5, want, 0.0),
                    "slot {t} user {k}: E = {e_i}, eq. (5)-(6) with the shares of (1) give {ph} + {tx}"
                );
                let want = cfg.alpha * e_i + cfg.beta * fees[kind] * ts;
                prop_assert!(
                    near(cost_i, want, 1e-5, want, 1e-6),
                    "slot {t} user {k}: cost {cost_i} vs {want} (eq. 7)"
                );
            }
            for (li, &x) in delivered.iter().enumerate() {
                prop_assert!(x <= link_cap(li) * (1.0 + 1e-9), "slot {t}: link {li} delivers {x} > c_l (eq. 1)");
            }
            // eq. (4) per unit and eq. (2) per link, floored at 0
            let (mut sq, mut sq2, mut sv, mut sv2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for un in 0..u {
                let f = if un < n {
                    cap[g * n + un] as f64
                } else if un < n + s {
                    cfg.f_edge_hz
                } else {
                    cfg.f_cloud_hz
                };
                let (before, after) = (q[g * u + un] as f64, q2[g * u + un] as f64);
                let want = (before + arrive[un] - f * dt).max(0.0);
                prop_assert!(
                    after.is_finite() && after >= 0.0 && near(after, want, 1e-5, before + arrive[un] + f * dt, 1e-3),
                    "slot {t} instance {g} unit {un}: Q = {after}, eq. (4) gives {want}"
                );
                sq += before;
                sq2 += after;
            }
            for li in 0..l {
                let c = link_cap(li);
                let (before, after) = (v[g * l + li] as f64, v2[g * l + li] as f64);
                let want = (before + xsum[li] * dt - c * dt).max(0.0);
                prop_assert!(
                    after.is_finite() && after >= 0.0 && near(after, want, 1e-5, before + xsum[li] * dt + c * dt, 1e-3),
                    "slot {t} instance {g} link {li}: V = {after}, eq. (2) gives {want}"
                );
                sv += before;
                sv2 += after;
            }
            // conservation through the info columns
            let (cin, cserved) = (m[metric::IN_CYCLES] as f64, m[metric::SERVED_CYCLES] as f64);
            let (bin, bserved) = (m[metric::IN_BITS] as f64, m[metric::SERVED_BITS] as f64);
            let want_in: f64 = arrive.iter().sum();
            let want_bits: f64 = xsum.iter().sum::<f64>() * dt;
            prop_assert!(near(cin, want_in, 1e-5, want_in, 1e-3), "slot {t}: in_cycles {cin} vs {want_in}");
            prop_assert!(near(bin, want_bits, 1e-5, want_bits, 1e-3), "slot {t}: in_bits {bin} vs {want_bits}");
            prop_assert!(
                near(sq2 - sq, cin - cserved, 1e-5, sq + sq2 + cin + cserved, 1e-2),
                "slot {t} instance {g}: Σ demand in {cin} − served {cserved} ≠ Δ Σ Q = {}",
                sq2 - sq
            );
            prop_assert!(
                near(sv2 - sv, bin - bserved, 1e-5, sv + sv2 + bin + bserved, 1e-2),
                "slot {t} instance {g}: Σ bits in {bin} − served {bserved} ≠ Δ Σ V = {}",
                sv2 - sv
            );
            // every task counted once, in its target's kind
            let (c2, c1) = (&counts[g * count::WIDTH..(g + 1) * count::WIDTH], &prev_counts[g * count::WIDTH..]);
            prop_assert_eq!(c2[count::GENERATED] - c1[count::GENERATED], generated);
            prop_assert_eq!(c2[count::BUNDLES] - c1[count::BUNDLES], bundles);
            for (kind, &col) in KINDS.iter().enumerate() {
                prop_assert_eq!(c2[col] - c1[col], by_kind[kind], "slot {} instance {}: count column {}", t, g, col);
            }
            prop_assert_eq!(c2[count::REFUSED], 0);
            prop_assert_eq!(c2[count::SLOTS] as usize, t + 1);
            prop_assert_eq!(m[metric::BUNDLES], bundles as f32);
            prop_assert!(near(m[metric::DATA_MB] as f64, data, 1e-6, data, 0.0));
            prop_assert!(reward[g].is_finite() && reward[g] == m[metric::REWARD], "reward {}", reward[g]);
        }
        prev_counts = counts;
    }
    Ok(())
}
