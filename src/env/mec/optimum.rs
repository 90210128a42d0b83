//! The exact optimum of problem (11) with the exact allocation (13), for instances whose tasks
//! all need the same cycles F (the paper's Table I; docs/mec.md "Optimum").
//!
//! With F_i = F for every i the CPU part of the objective is (φ_T/F_max)·Σ_j S_j² =
//! c·Σ_j n_j² with c = φ_T·F/F_max and n_j the number of tasks on MEC j, so
//! Σ Φ = Σ_i cost[i, a_i] + c·Σ_j n_j²: an assignment of N IoTDs to M+1 options whose MEC
//! options have the convex marginal cost c·(2n + 1) for their (n+1)-th task. That is a
//! min-cost flow (source → IoTD → option → sink, the sink arcs of MEC j costing c, 3c, 5c, …),
//! solved exactly by successive shortest paths: N unit augmentations, each a Bellman–Ford over
//! the M+1 options of the residual graph (an edge u → v moves one IoTD from u to v at
//! cost[i, v] − cost[i, u], the cheapest such IoTD), O(N·M + M³) each. Ties go to the lower IoTD
//! and option index, so the result is a function of the instance (a canonical optimum).

use crate::error::{Error, Result};

/// Where the augmenting path reaches an option from.
#[derive(Clone, Copy)]
enum From {
    /// The unassigned IoTD i enters the option.
    Start(usize),
    /// IoTD i leaves option u for this one.
    Move(usize, usize),
}

/// The optimal decisions a ∈ {0..M}^N of one instance and their Σ Φ (f64), from its cost
/// table `cost` [N, M+1] and √F_i `sqrt_f` \[N\] (the environment's `cost`, `sqrt_f`).
/// `Error::Config` naming `mec.task_cycles_max` if the F_i are not all equal (the CPU term is
/// then not a function of the counts and this solver does not apply).
pub fn optimum_instance(cost: &[f32], sqrt_f: &[f32], m: usize, f_max: f64, phi_t: f64) -> Result<(Vec<u32>, f64)> {
    let n = sqrt_f.len();
    let w = m + 1;
    if cost.len() != n * w {
        return Err(Error::shape("mec optimum cost", n * w, cost.len()));
    }
    if let Some(&s) = sqrt_f.iter().find(|&&s| s != sqrt_f[0]) {
        return Err(Error::config(
            "mec.task_cycles_max",
            format!("√F = {} and {s}", sqrt_f[0]),
            "the exact optimum needs equal task cycles F_i",
        ));
    }
    if let Some(i) = cost.iter().position(|c| !c.is_finite()) {
        return Err(Error::input("cost", i, cost[i], "cost table must be finite"));
    }
    let sf = sqrt_f.first().copied().unwrap_or(0.0) as f64;
    let c = phi_t / f_max * sf * sf;
    let cost_of = |i: usize, v: usize| cost[i * w + v] as f64;
    const NONE: u32 = u32::MAX;
    let mut a = vec![NONE; n];
    let mut count = vec![0usize; w];
    let mut dist = vec![0.0f64; w];
    let mut from = vec![From::Start(0); w];
    let mut edge = vec![(f64::INFINITY, 0usize); w * w];
    // A relaxation must gain more than this: rounding never makes a zero-cost cycle look negative.
    let tol = 1e-12 * (1.0 + cost.iter().map(|&x| (x as f64).abs()).fold(0.0, f64::max));
    for _ in 0..n {
        // Entry: the cheapest unassigned IoTD of each option (lowest index on ties).
        dist.fill(f64::INFINITY);
        for i in (0..n).filter(|&i| a[i] == NONE) {
            for v in 0..w {
                if cost_of(i, v) < dist[v] {
                    dist[v] = cost_of(i, v);
                    from[v] = From::Start(i);
                }
            }
        }
        // The residual edges: u → v moves the assigned IoTD with the least cost[i, v] − cost[i, u].
        edge.fill((f64::INFINITY, 0));
        for i in (0..n).filter(|&i| a[i] != NONE) {
            let u = a[i] as usize;
            for v in 0..w {
                let d = cost_of(i, v) - cost_of(i, u);
                if v != u && d < edge[u * w + v].0 {
                    edge[u * w + v] = (d, i);
                }
            }
        }
        // Bellman–Ford over the options (no negative cycle: the flow so far is optimal).
        for _ in 0..w {
            let mut changed = false;
            for u in 0..w {
                for v in (0..w).filter(|&v| v != u) {
                    let (d, i) = edge[u * w + v];
                    if dist[u] + d < dist[v] - tol {
                        dist[v] = dist[u] + d;
                        from[v] = From::Move(u, i);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        // Exit: the option whose next task adds the least (local: nothing; MEC j: c·(2n_j + 1)).
        let marginal = |v: usize| if v == 0 { 0.0 } else { c * (2 * count[v] + 1) as f64 };
        let mut end = 0;
        for v in 1..w {
            if dist[v] + marginal(v) < dist[end] + marginal(end) - tol {
                end = v;
            }
        }
        count[end] += 1;
        // Apply the path backwards (each option at most once: w hops).
        let mut v = end;
        for _ in 0..w {
            match from[v] {
                From::Start(i) => {
                    a[i] = v as u32;
                    break;
                }
                From::Move(u, i) => {
                    a[i] = v as u32;
                    v = u;
                }
            }
        }
    }
    if a.contains(&NONE) {
        return Err(Error::input("cost", 0, f32::NAN, "optimum: an augmenting path did not end (rounding)"));
    }
    let obj = (0..n).map(|i| cost_of(i, a[i] as usize)).sum::<f64>()
        + c * count[1..].iter().map(|&k| (k * k) as f64).sum::<f64>();
    Ok((a, obj))
}

/// [`optimum_instance`] for every instance of a batch: `cost` [B, N, M+1], `sqrt_f` [B, N].
/// Returns the decisions [B, N] and Σ Φ \[B\].
pub fn optimum_batch(
    cost: &[f32],
    sqrt_f: &[f32],
    n: usize,
    m: usize,
    f_max: f64,
    phi_t: f64,
) -> Result<(Vec<u32>, Vec<f64>)> {
    let b = sqrt_f.len().checked_div(n).unwrap_or(0);
    let mut a = Vec::with_capacity(b * n);
    let mut obj = Vec::with_capacity(b);
    for k in 0..b {
        let (ak, o) = optimum_instance(
            &cost[k * n * (m + 1)..(k + 1) * n * (m + 1)],
            &sqrt_f[k * n..(k + 1) * n],
            m,
            f_max,
            phi_t,
        )?;
        a.extend(ak);
        obj.push(o);
    }
    Ok((a, obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(cost: &[f32], a: &[u32], m: usize, c: f64) -> f64 {
        let mut cnt = vec![0usize; m + 1];
        let mut s = 0.0;
        for (i, &ai) in a.iter().enumerate() {
            s += cost[i * (m + 1) + ai as usize] as f64;
            cnt[ai as usize] += 1;
        }
        s + c * cnt[1..].iter().map(|&k| (k * k) as f64).sum::<f64>()
    }

    /// A hand case: 3 IoTDs, 1 MEC, c = 0.1. Local costs 1 each; offloading costs 0.2, 0.5, 0.95.
    /// Offloading k of them adds 0.1·k² of CPU: {} 3.0, {0} 2.3, {0,1} 2.1, {0,1,2} 2.55 → {0, 1}.
    #[test]
    fn hand_case() {
        let cost = [1.0, 0.2, 1.0, 0.5, 1.0, 0.95];
        let sf = [1.0f32; 3];
        let (a, obj) = optimum_instance(&cost, &sf, 1, 10.0, 1.0).unwrap();
        assert_eq!(a, [1, 1, 0]);
        assert!((obj - 2.1).abs() < 1e-6, "{obj}");
    }

    /// Against exhaustive enumeration of all (M+1)^N decisions on random tables.
    #[test]
    fn matches_exhaustive_search() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut u = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        for (n, m) in [(6, 2), (7, 3), (8, 2), (5, 4), (9, 1)] {
            for _ in 0..20 {
                let cost: Vec<f32> = (0..n * (m + 1)).map(|k| if k % (m + 1) == 0 { 1.0 } else { 2.0 * u() }).collect();
                let c = 0.05 + 0.3 * u() as f64;
                let (a, obj) = optimum_instance(&cost, &vec![1.0; n], m, 1.0 / c, 1.0).unwrap();
                assert!((objective(&cost, &a, m, c) - obj).abs() < 1e-9);
                let mut best = f64::INFINITY;
                let total = (m + 1).pow(n as u32);
                for code in 0..total {
                    let mut x = code;
                    let d: Vec<u32> = (0..n)
                        .map(|_| {
                            let v = x % (m + 1);
                            x /= m + 1;
                            v as u32
                        })
                        .collect();
                    best = best.min(objective(&cost, &d, m, c));
                }
                assert!(obj <= best + 1e-9, "n {n} m {m}: {obj} vs exhaustive {best}");
            }
        }
    }

    #[test]
    fn unequal_cycles_and_bad_tables_are_typed_errors() {
        let e = optimum_instance(&[1.0, 0.5, 1.0, 0.5], &[1.0, 2.0], 1, 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("mec.task_cycles_max"), "{e}");
        let e = optimum_instance(&[1.0, f32::NAN], &[1.0], 1, 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("cost"), "{e}");
        assert!(optimum_instance(&[1.0], &[1.0], 1, 1.0, 1.0).is_err());
    }
}
