//! The scalar rules of `crowd`, one function per formula, shared by the CPU kernels and mirrored
//! line by line in `shaders/env/crowd.wgsl` and `kernels/env/crowd.cu`. Equation numbers are
//! those of the mixed-MAPPO paper (Yao et al.); docs/crowd.md states every decision.

use super::config::CrowdParams;

/// Target kinds.
pub const LOCAL: u32 = 0;
/// Another MD of the cell.
pub const MD: u32 = 1;
/// An edge server.
pub const EDGE: u32 = 2;
/// The cloud.
pub const CLOUD: u32 = 3;

/// A decoded target slot: the unit, its kind and the route's links (0 to 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Unit index.
    pub unit: u32,
    /// [`LOCAL`], [`MD`], [`EDGE`] or [`CLOUD`].
    pub kind: u32,
    /// Links of the route (first `nl` valid).
    pub links: [u32; 2],
    /// Number of links.
    pub nl: u32,
}

/// A = K + S + 2.
#[inline(always)]
pub fn n_targets(p: &CrowdParams) -> u32 {
    p.k + p.s + 2
}

/// The cell of user `i` (cells are contiguous index ranges).
#[inline(always)]
pub fn cell_of(p: &CrowdParams, cell_off: &[u32], i: u32) -> u32 {
    let mut c = 0;
    while c + 1 < p.s && i >= cell_off[(c + 1) as usize] {
        c += 1;
    }
    c
}

/// The k-th next MD of user `i` in its cell `c`, cyclic (k = 1..=K).
#[inline(always)]
pub fn neighbor(cell_off: &[u32], c: u32, i: u32, k: u32) -> u32 {
    let start = cell_off[c as usize];
    let size = cell_off[c as usize + 1] - start;
    start + (i - start + k) % size
}

/// Index of the wired link between BSs `b1 ≠ b2`.
#[inline(always)]
pub fn wired_link(p: &CrowdParams, b1: u32, b2: u32) -> u32 {
    let (lo, hi) = if b1 < b2 { (b1, b2) } else { (b2, b1) };
    p.n + lo * p.s - lo * (lo + 1) / 2 + (hi - lo - 1)
}

/// Index of the backbone link of BS `b`.
#[inline(always)]
pub fn backbone_link(p: &CrowdParams, b: u32) -> u32 {
    p.n + p.s * (p.s - 1) / 2 + b
}

/// c_l of link `l` (bit/s).
#[inline(always)]
pub fn link_capacity(p: &CrowdParams, l: u32) -> f32 {
    if l < p.n {
        p.c_wireless
    } else if l < p.n + p.s * (p.s - 1) / 2 {
        p.c_wired
    } else {
        p.c_backbone
    }
}

/// F_u(t) of unit `u` (Hz); `cap_md` is the instance's row of MD capacities.
#[inline(always)]
pub fn unit_capacity(p: &CrowdParams, cap_md: &[f32], u: u32) -> f32 {
    if u < p.n {
        cap_md[u as usize]
    } else if u < p.n + p.s {
        p.f_edge
    } else {
        p.f_cloud
    }
}

/// Kind of unit `u` ([`MD`] for every MD, the user's own included).
#[inline(always)]
pub fn unit_kind(p: &CrowdParams, u: u32) -> u32 {
    if u < p.n {
        MD
    } else if u < p.n + p.s {
        EDGE
    } else {
        CLOUD
    }
}

/// Target slot `a` (< A) of user `i` in cell `c`: the unit and the route (§III-B assumptions:
/// an MD reaches its BS over its wireless link, another MD of the cell through the BS relay,
/// another BS over the wired link, the cloud over its BS's backbone link).
#[inline(always)]
pub fn target(p: &CrowdParams, cell_off: &[u32], i: u32, c: u32, a: u32) -> Target {
    if a == 0 {
        return Target { unit: i, kind: LOCAL, links: [0, 0], nl: 0 };
    }
    if a <= p.k {
        let j = neighbor(cell_off, c, i, a);
        return Target { unit: j, kind: MD, links: [i, j], nl: 2 };
    }
    if a <= p.k + p.s {
        let b = a - p.k - 1;
        if b == c {
            return Target { unit: p.n + b, kind: EDGE, links: [i, 0], nl: 1 };
        }
        return Target { unit: p.n + b, kind: EDGE, links: [i, wired_link(p, c, b)], nl: 2 };
    }
    Target { unit: p.n + p.s, kind: CLOUD, links: [i, backbone_link(p, c)], nl: 2 }
}

/// The route's bottleneck capacity min_l c_l (bit/s; 0 for local).
#[inline(always)]
pub fn bottleneck(p: &CrowdParams, t: &Target) -> f32 {
    let mut c = 0.0f32;
    if t.nl > 0 {
        c = link_capacity(p, t.links[0]);
    }
    if t.nl > 1 {
        c = c.min(link_capacity(p, t.links[1]));
    }
    c
}

/// Rate level `r` (fraction of the bottleneck).
#[inline(always)]
pub fn level(p: &CrowdParams, r: u32) -> f32 {
    match r {
        0 => p.lv0,
        1 => p.lv1,
        2 => p.lv2,
        _ => p.lv3,
    }
}

/// R_u of a target kind.
#[inline(always)]
pub fn fee(p: &CrowdParams, kind: u32) -> f32 {
    match kind {
        LOCAL => p.fee_local,
        MD => p.fee_md,
        EDGE => p.fee_edge,
        _ => p.fee_cloud,
    }
}

/// Processing delay (5): P_iu = (Q_u + s_i) / F_u (s).
#[inline(always)]
pub fn processing_delay(q: f32, s_cycles: f32, f: f32) -> f32 {
    (q + s_cycles) / f
}

/// End-to-end delay estimate (14): D_i ≈ Σ_{l ∈ U_i} V_l / c_l (s).
#[inline(always)]
pub fn e2e_estimate(p: &CrowdParams, v: &[f32], t: &Target) -> f32 {
    let mut d = 0.0f32;
    if t.nl > 0 {
        d += v[t.links[0] as usize] / link_capacity(p, t.links[0]);
    }
    if t.nl > 1 {
        d += v[t.links[1] as usize] / link_capacity(p, t.links[1]);
    }
    d
}

/// Transfer time o_i / x̄_i of (6) (s); 0 without data or without a route.
#[inline(always)]
pub fn transfer_time(o_bits: f32, x: f32) -> f32 {
    if o_bits > 0.0 && x > 0.0 {
        o_bits / x
    } else {
        0.0
    }
}

/// Cost (7): α E + β R_u s (s in demand units).
#[inline(always)]
pub fn cost(p: &CrowdParams, e: f32, fee: f32, s_units: f32) -> f32 {
    p.alpha * e + (p.beta * fee) * s_units
}

/// f′ (22) of target observation (P̂, D, c̄/unit) at rate level `lv` for a task of `s_units`,
/// `o_mb`: α(P̂ + o/x) + βR s + D·x/unit, with x = lv·c̄ (the requested rate, eq. 24).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn dpp_value(p: &CrowdParams, ph: f32, d: f32, cb: f32, lv: f32, fee: f32, s_units: f32, o_mb: f32) -> f32 {
    let xu = lv * cb; // requested rate in rate units
    let t = if cb > 0.0 { transfer_time(o_mb * p.bits_per_mb, xu * p.rate_unit) } else { 0.0 };
    cost(p, ph + t, fee, s_units) + d * xu
}

/// Estimated execution delay (6) of a target observation at level `lv` (Greedy).
#[inline(always)]
pub fn delay_estimate(p: &CrowdParams, ph: f32, cb: f32, lv: f32, o_mb: f32) -> f32 {
    let xu = lv * cb;
    let t = if cb > 0.0 { transfer_time(o_mb * p.bits_per_mb, xu * p.rate_unit) } else { 0.0 };
    ph + t
}

/// Backlog update (4) with the floor at 0: (Q(t+1), served) from Q(t), the arrivals A and F Δt.
#[inline(always)]
pub fn backlog_update(q: f32, arrivals: f32, service: f32) -> (f32, f32) {
    let tot = q + arrivals;
    ((tot - service).max(0.0), tot.min(service))
}

/// Share of the requested rate a transfer gets (1): every link on the route scales its users'
/// rates by min(1, c_l / Σx); the transfer gets the smallest factor.
#[inline(always)]
pub fn rate_share(p: &CrowdParams, xsum: &[f32], t: &Target) -> f32 {
    let mut share = 1.0f32;
    let mut k = 0;
    while k < t.nl {
        let l = t.links[k as usize];
        let x = xsum[l as usize];
        let c = link_capacity(p, l);
        if x > c {
            share = share.min(c / x);
        }
        k += 1;
    }
    share
}

/// Width of the global state s (§IV-A): U backlogs, L virtual queues, N MD capacities.
#[inline(always)]
pub fn state_width(p: &CrowdParams) -> u32 {
    let (n, s) = (p.n, p.s);
    (n + s + 1) + (n + s * (s - 1) / 2 + s) + n
}

/// Feature `f` of the global state s = {Q_u, V_l, F_u} (§IV-A, S) the critics read, scaled so
/// every feature is O(1): ln(1 + Q_u/(F_u Δt)) for the U units (the node load rate of the
/// metrics, compressed: an overloaded MD reaches 10³), ln(1 + V_l/(c_l Δt)) for the L links, and
/// F_j(t)/f_md for the N MDs. Rows: `cap_md` \[N\], `q` \[U\], `v` \[L\] of one instance.
#[inline(always)]
pub fn state_feature(p: &CrowdParams, cap_md: &[f32], q: &[f32], v: &[f32], f: u32) -> f32 {
    let u = p.n + p.s + 1;
    let l = p.n + p.s * (p.s - 1) / 2 + p.s;
    if f < u {
        crate::math::ln1p(q[f as usize] / (unit_capacity(p, cap_md, f) * p.dt))
    } else if f < u + l {
        let k = f - u;
        crate::math::ln1p(v[k as usize] / (link_capacity(p, k) * p.dt))
    } else {
        cap_md[(f - u - l) as usize] / p.f_md
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::crowd::{CrowdConfig, Policy};

    /// S = 3 cells of 4, 4, 4 MDs (one cluster each), K = 2.
    fn small() -> (CrowdParams, Vec<u32>) {
        let cfg = CrowdConfig {
            clusters_per_cell: 1,
            cluster_sizes: Some(vec![4, 4, 4]),
            md_candidates: 2,
            ..CrowdConfig::default()
        };
        let topo = cfg.topology().unwrap();
        (cfg.params(&topo, 1, 0, Policy::Dpp), topo.cell_off)
    }

    #[test]
    fn state_features_by_hand() {
        // 12 MDs, U = 16 units, L = 18 links: width 16 + 18 + 12 = 46
        let (p, _) = small();
        assert_eq!(state_width(&p), 46);
        let cap: Vec<f32> = (0..12).map(|j| 1e9 + j as f32 * 1e8).collect();
        let mut q = vec![0.0f32; 16];
        let mut v = vec![0.0f32; 18];
        q[3] = 1.3e9; // MD 3 at 1.3 GHz: load rate 1.3e9 / 1.3e9 = 1 → ln 2
        q[12] = 25e9 * 3.0; // edge 0 (25 GHz): 3 → ln 4
        v[14] = 30e6 * 0.5; // wired link 14 (30 Mbps): 0.5 → ln 1.5
        let f = |k| state_feature(&p, &cap, &q, &v, k);
        assert!((f(3) - 2f32.ln()).abs() < 1e-6);
        assert!((f(12) - 4f32.ln()).abs() < 1e-6);
        assert_eq!(f(0), 0.0);
        assert!((f(16 + 14) - 1.5f32.ln()).abs() < 1e-6);
        // MD capacities over f_md = 2 GHz: MD 5 has 1.5 GHz → 0.75
        assert_eq!(f(16 + 18 + 5), 0.75);
    }

    #[test]
    fn indices_and_routes() {
        let (p, off) = small();
        assert_eq!(off, vec![0, 4, 8, 12]);
        assert_eq!((0..12).map(|i| cell_of(&p, &off, i)).collect::<Vec<_>>(), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
        // cyclic neighbours in cell 1 (MDs 4..8)
        assert_eq!(neighbor(&off, 1, 7, 1), 4);
        assert_eq!(neighbor(&off, 1, 6, 2), 4);
        // wired pairs (0,1) (0,2) (1,2) after the 12 wireless links; backbones after them
        assert_eq!([wired_link(&p, 0, 1), wired_link(&p, 2, 0), wired_link(&p, 1, 2)], [12, 13, 14]);
        assert_eq!(backbone_link(&p, 2), 17);
        // user 5 (cell 1): local, MD 6, MD 7, edge 0 (remote), edge 1 (own BS), edge 2, cloud
        let t: Vec<Target> = (0..n_targets(&p)).map(|a| target(&p, &off, 5, 1, a)).collect();
        assert_eq!(t[0], Target { unit: 5, kind: LOCAL, links: [0, 0], nl: 0 });
        assert_eq!(t[2], Target { unit: 7, kind: MD, links: [5, 7], nl: 2 });
        assert_eq!(t[3], Target { unit: 12, kind: EDGE, links: [5, 12], nl: 2 });
        assert_eq!(t[4], Target { unit: 13, kind: EDGE, links: [5, 0], nl: 1 });
        assert_eq!(t[6], Target { unit: 15, kind: CLOUD, links: [5, 16], nl: 2 });
        // bottlenecks: wireless 10 Mbps everywhere (wired 30, backbone 100)
        assert_eq!(bottleneck(&p, &t[3]), 10e6);
        assert_eq!(bottleneck(&p, &t[0]), 0.0);
        assert_eq!(link_capacity(&p, 14), 30e6);
        assert_eq!(link_capacity(&p, 15), 100e6);
    }

    #[test]
    fn processing_delay_eq5() {
        // Q = 3 GHz·s queued, s = 1 GHz·s, F = 2 GHz: (3 + 1) / 2 = 2 s
        assert_eq!(processing_delay(3e9, 1e9, 2e9), 2.0);
    }

    #[test]
    fn backlog_eq4() {
        // Q = 5, A = 3, F Δt = 6 → Q' = 2, served 6; with F Δt = 10 → Q' = 0 (floor), served 8
        assert_eq!(backlog_update(5.0, 3.0, 6.0), (2.0, 6.0));
        assert_eq!(backlog_update(5.0, 3.0, 10.0), (0.0, 8.0));
    }

    #[test]
    fn e2e_estimate_eq14_and_share_eq1() {
        let (p, off) = small();
        let t = target(&p, &off, 5, 1, 3); // wireless 5 + wired (0,1) = link 12
        let mut v = vec![0.0f32; 18];
        v[5] = 5e6; // 0.5 s at 10 Mbps
        v[12] = 15e6; // 0.5 s at 30 Mbps
        assert_eq!(e2e_estimate(&p, &v, &t), 1.0);
        // Σx = 20 Mbps on the wireless link (cap 10): factor 0.5; 60 on the wired (cap 30): 0.5
        let mut x = vec![0.0f32; 18];
        x[5] = 20e6;
        x[12] = 40e6;
        assert_eq!(rate_share(&p, &x, &t), 0.5);
        x[12] = 120e6;
        assert_eq!(rate_share(&p, &x, &t), 0.25);
    }

    #[test]
    fn cost_eq7_and_dpp_eq22() {
        let (p, _) = small();
        // α = β = 0.5: E = 4 s, R = 2, s = 3 units → 0.5·4 + 0.5·2·3 = 5
        assert_eq!(cost(&p, 4.0, 2.0, 3.0), 5.0);
        // P̂ = 1 s, D = 0.5 s, c̄ = 10 Mbps (10 units), level 0.5 → x = 5 Mbps,
        // o = 1 MB = 8 Mbit → 1.6 s; f′ = 0.5·(1 + 1.6) + 0.5·1·2 + 0.5·5 = 1.3 + 1 + 2.5 = 4.8
        let f = dpp_value(&p, 1.0, 0.5, 10.0, 0.5, 1.0, 2.0, 1.0);
        assert!((f - 4.8).abs() < 1e-6, "{f}");
        // local: no transfer, no drift: 0.5·1 + 0
        assert_eq!(dpp_value(&p, 1.0, 0.0, 0.0, 1.0, 0.0, 2.0, 1.0), 0.5);
        assert!((delay_estimate(&p, 1.0, 10.0, 0.5, 1.0) - 2.6).abs() < 1e-6);
    }
}
