// crowd: the crowd-edge system of mixed MAPPO (src/env/crowd/{model,cpu}.rs; docs/crowd.md).
// Every function mirrors its Rust namesake operation for operation; float sums run in ascending
// agent / unit / link order. The per-unit/per-link `crowd_load` gathers its terms in that order.
#ifndef MECRL_ENV_CROWD_CU
#define MECRL_ENV_CROWD_CU

#include "common/index.cuh"
#include "common/philox.cuh"

// Mirrors `CrowdParams` in src/env/crowd/mod.rs (#[repr(C)], 160 bytes).
struct CrowdParams {
    u32 b;
    u32 n;
    u32 s;
    u32 k;
    u32 r;
    u32 step;
    u32 key0;
    u32 key1;
    u32 policy;
    u32 gap_lo;
    u32 gap_hi;
    u32 _pad0;
    float lambda1;
    float lambda2;
    float lambda3;
    float f_md;
    float idle_lo;
    float idle_hi;
    float f_edge;
    float f_cloud;
    float c_wireless;
    float c_wired;
    float c_backbone;
    float dt;
    float alpha;
    float beta;
    float v_penalty;
    float fee_local;
    float fee_md;
    float fee_edge;
    float fee_cloud;
    float rate_unit;
    float cycles_unit;
    float bits_per_mb;
    float lv0;
    float lv1;
    float lv2;
    float lv3;
    float _pad1;
    float _pad2;
};

#define CROWD_RESET 0x41u
#define CROWD_SLOT 0x42u
#define CROWD_TASKS 0x43u
#define CROWD_DEMAND 0x44u
#define CROWD_DATA 0x45u
#define CROWD_RANDOM 0x46u

#define CROWD_LOCAL 0u
#define CROWD_MD 1u
#define CROWD_EDGE 2u
#define CROWD_CLOUD 3u

struct CrowdTarget {
    u32 unit;
    u32 kind;
    u32 l0;
    u32 l1;
    u32 nl;
};

static __device__ __forceinline__ u32 crowd_units(const CrowdParams& p) { return p.n + p.s + 1u; }
static __device__ __forceinline__ u32 crowd_links(const CrowdParams& p) {
    return p.n + p.s * (p.s - 1u) / 2u + p.s;
}
static __device__ __forceinline__ u32 crowd_n_targets(const CrowdParams& p) { return p.k + p.s + 2u; }
static __device__ __forceinline__ u32 crowd_obs_width(const CrowdParams& p) { return 3u + 3u * crowd_n_targets(p); }

static __device__ __forceinline__ u32 crowd_cell_of(const CrowdParams& p, const u32* cell_off, u32 i) {
    u32 c = 0u;
    while (c + 1u < p.s && i >= cell_off[c + 1u]) c += 1u;
    return c;
}

static __device__ __forceinline__ u32 crowd_neighbor(const u32* cell_off, u32 c, u32 i, u32 k) {
    u32 start = cell_off[c];
    u32 size = cell_off[c + 1u] - start;
    return start + (i - start + k) % size;
}

static __device__ __forceinline__ u32 crowd_wired_link(const CrowdParams& p, u32 b1, u32 b2) {
    u32 lo = b1 < b2 ? b1 : b2;
    u32 hi = b1 < b2 ? b2 : b1;
    return p.n + lo * p.s - lo * (lo + 1u) / 2u + (hi - lo - 1u);
}

static __device__ __forceinline__ u32 crowd_backbone_link(const CrowdParams& p, u32 b) {
    return p.n + p.s * (p.s - 1u) / 2u + b;
}

static __device__ __forceinline__ float crowd_link_capacity(const CrowdParams& p, u32 l) {
    if (l < p.n) return p.c_wireless;
    if (l < p.n + p.s * (p.s - 1u) / 2u) return p.c_wired;
    return p.c_backbone;
}

static __device__ __forceinline__ float crowd_unit_capacity(const CrowdParams& p, const float* cap_md, u32 u) {
    if (u < p.n) return cap_md[u];
    if (u < p.n + p.s) return p.f_edge;
    return p.f_cloud;
}

static __device__ __forceinline__ u32 crowd_unit_kind(const CrowdParams& p, u32 u) {
    if (u < p.n) return CROWD_MD;
    if (u < p.n + p.s) return CROWD_EDGE;
    return CROWD_CLOUD;
}

static __device__ __forceinline__ CrowdTarget crowd_target(const CrowdParams& p, const u32* cell_off, u32 i, u32 c,
                                                           u32 a) {
    CrowdTarget t;
    t.l0 = 0u;
    t.l1 = 0u;
    if (a == 0u) {
        t.unit = i;
        t.kind = CROWD_LOCAL;
        t.nl = 0u;
        return t;
    }
    t.l0 = i;
    if (a <= p.k) {
        u32 j = crowd_neighbor(cell_off, c, i, a);
        t.unit = j;
        t.kind = CROWD_MD;
        t.l1 = j;
        t.nl = 2u;
        return t;
    }
    if (a <= p.k + p.s) {
        u32 b = a - p.k - 1u;
        t.unit = p.n + b;
        t.kind = CROWD_EDGE;
        if (b == c) {
            t.nl = 1u;
        } else {
            t.l1 = crowd_wired_link(p, c, b);
            t.nl = 2u;
        }
        return t;
    }
    t.unit = p.n + p.s;
    t.kind = CROWD_CLOUD;
    t.l1 = crowd_backbone_link(p, c);
    t.nl = 2u;
    return t;
}

static __device__ __forceinline__ float crowd_bottleneck(const CrowdParams& p, CrowdTarget t) {
    float c = 0.0f;
    if (t.nl > 0u) c = crowd_link_capacity(p, t.l0);
    if (t.nl > 1u) c = fminf(c, crowd_link_capacity(p, t.l1));
    return c;
}

static __device__ __forceinline__ float crowd_level(const CrowdParams& p, u32 r) {
    if (r == 0u) return p.lv0;
    if (r == 1u) return p.lv1;
    if (r == 2u) return p.lv2;
    return p.lv3;
}

static __device__ __forceinline__ float crowd_fee(const CrowdParams& p, u32 kind) {
    if (kind == CROWD_LOCAL) return p.fee_local;
    if (kind == CROWD_MD) return p.fee_md;
    if (kind == CROWD_EDGE) return p.fee_edge;
    return p.fee_cloud;
}

static __device__ __forceinline__ u32 crowd_slot_kind(const CrowdParams& p, u32 a) {
    if (a == 0u) return CROWD_LOCAL;
    if (a <= p.k) return CROWD_MD;
    if (a <= p.k + p.s) return CROWD_EDGE;
    return CROWD_CLOUD;
}

// (5)
static __device__ __forceinline__ float crowd_processing_delay(float q, float s_cycles, float f) {
    return (q + s_cycles) / f;
}

// (14)
static __device__ __forceinline__ float crowd_e2e_estimate(const CrowdParams& p, const float* v, CrowdTarget t) {
    float d = 0.0f;
    if (t.nl > 0u) d += v[t.l0] / crowd_link_capacity(p, t.l0);
    if (t.nl > 1u) d += v[t.l1] / crowd_link_capacity(p, t.l1);
    return d;
}

static __device__ __forceinline__ float crowd_transfer_time(float o_bits, float x) {
    return (o_bits > 0.0f && x > 0.0f) ? o_bits / x : 0.0f;
}

// (7)
static __device__ __forceinline__ float crowd_cost(const CrowdParams& p, float e, float fee, float s_units) {
    return p.alpha * e + (p.beta * fee) * s_units;
}

// (22)
static __device__ __forceinline__ float crowd_dpp_value(const CrowdParams& p, float ph, float d, float cb, float lv,
                                                        float fee, float s_units, float o_mb) {
    float xu = lv * cb;
    float t = cb > 0.0f ? crowd_transfer_time(o_mb * p.bits_per_mb, xu * p.rate_unit) : 0.0f;
    return crowd_cost(p, ph + t, fee, s_units) + d * xu;
}

static __device__ __forceinline__ float crowd_delay_estimate(const CrowdParams& p, float ph, float cb, float lv,
                                                             float o_mb) {
    float xu = lv * cb;
    float t = cb > 0.0f ? crowd_transfer_time(o_mb * p.bits_per_mb, xu * p.rate_unit) : 0.0f;
    return ph + t;
}

// (1)
static __device__ __forceinline__ float crowd_rate_share(const CrowdParams& p, const float* xsum, CrowdTarget t) {
    float share = 1.0f;
    for (u32 k = 0u; k < t.nl; ++k) {
        u32 l = k == 0u ? t.l0 : t.l1;
        float x = xsum[l];
        float c = crowd_link_capacity(p, l);
        if (x > c) share = fminf(share, c / x);
    }
    return share;
}

// Decoded action of user i: false when a >= A·R.
static __device__ __forceinline__ bool crowd_decode(const CrowdParams& p, const u32* cell_off, u32 i, u32 a,
                                                    CrowdTarget* t, u32* r) {
    if (a >= crowd_n_targets(p) * p.r) return false;
    u32 c = crowd_cell_of(p, cell_off, i);
    *t = crowd_target(p, cell_off, i, c, a / p.r);
    *r = a % p.r;
    return true;
}

// One thread per (instance, node j < U + L) (cpu.rs `cpu_reset`).
extern "C" __global__ void crowd_reset(const CrowdParams p, u32* __restrict__ ctl, float* __restrict__ q,
                                       float* __restrict__ v, u32* __restrict__ counts) {
    u32 id = global_id();
    u32 un = crowd_units(p), ln = crowd_links(p), w = un + ln;
    if (id >= p.b * w) return;
    u32 g = id / w, j = id % w;
    if (j < p.n) {
        pblock b = philox4x32_10(philox_counter(j, g, p.step, CROWD_RESET, 0u), p.key0, p.key1);
        ctl[(u64)g * p.n + j] = 1u + rng_uniform_index(b.x, p.gap_hi);
    }
    if (j < un) q[(u64)g * un + j] = 0.0f;
    if (j < ln) v[(u64)g * ln + j] = 0.0f;
    if (j < 8u) counts[(u64)g * 8u + j] = 0u;
}

// One thread per (instance, user) (cpu.rs `user_tasks`).
extern "C" __global__ void crowd_tasks(const CrowdParams p, u32* __restrict__ ctl, u32* __restrict__ task,
                                       float* __restrict__ cap) {
    u32 id = global_id();
    if (id >= p.b * p.n) return;
    u32 g = id / p.n, i = id % p.n;
    pblock w = philox4x32_10(philox_counter(i, g, p.step, CROWD_SLOT, 0u), p.key0, p.key1);
    cap[id] = p.f_md * (p.idle_lo + (p.idle_hi - p.idle_lo) * rng_uniform(w.x));
    u32 c = ctl[id];
    u32 k = 0u, s = 0u, o = 0u;
    if (c <= 1u) {
        k = rng_poisson(p.key0, p.key1, philox_counter(i, g, p.step, CROWD_TASKS, 0u), p.lambda1);
        float kf = (float)k;
        s = rng_poisson(p.key0, p.key1, philox_counter(i, g, p.step, CROWD_DEMAND, 0u), kf * p.lambda2);
        o = rng_poisson(p.key0, p.key1, philox_counter(i, g, p.step, CROWD_DATA, 0u), kf * p.lambda3);
        c = p.gap_lo + rng_uniform_index(w.y, p.gap_hi - p.gap_lo + 1u);
    } else {
        c -= 1u;
    }
    ctl[id] = c;
    task[3u * (u64)id] = k;
    task[3u * (u64)id + 1u] = s;
    task[3u * (u64)id + 2u] = o;
}

// One thread per (instance, user) (cpu.rs `observe_user`).
extern "C" __global__ void crowd_observe(const CrowdParams p, const u32* __restrict__ cell_off,
                                         const u32* __restrict__ task, const float* __restrict__ cap,
                                         const float* __restrict__ q, const float* __restrict__ v,
                                         float* __restrict__ obs) {
    u32 id = global_id();
    if (id >= p.b * p.n) return;
    u32 g = id / p.n, i = id % p.n;
    u32 un = crowd_units(p), ln = crowd_links(p), wd = crowd_obs_width(p);
    const u32* t3 = task + 3u * (u64)id;
    const float* capg = cap + (u64)g * p.n;
    const float* qg = q + (u64)g * un;
    const float* vg = v + (u64)g * ln;
    float* row = obs + (u64)id * wd;
    u32 c = crowd_cell_of(p, cell_off, i);
    float s_c = (float)t3[1] * p.cycles_unit;
    row[0] = (float)t3[0];
    row[1] = (float)t3[1];
    row[2] = (float)t3[2];
    for (u32 a = 0u; a < crowd_n_targets(p); ++a) {
        CrowdTarget t = crowd_target(p, cell_off, i, c, a);
        float f = crowd_unit_capacity(p, capg, t.unit);
        u32 k = 3u + 3u * a;
        row[k] = crowd_processing_delay(qg[t.unit], s_c, f);
        row[k + 1u] = crowd_e2e_estimate(p, vg, t);
        row[k + 2u] = crowd_bottleneck(p, t) / p.rate_unit;
    }
}

// One thread per (instance, feature) (model.rs `state_feature`).
extern "C" __global__ void crowd_state(const CrowdParams p, const float* __restrict__ cap,
                                       const float* __restrict__ q, const float* __restrict__ v,
                                       float* __restrict__ state) {
    u32 id = global_id();
    u32 un = crowd_units(p), ln = crowd_links(p), w = un + ln + p.n;
    if (id >= p.b * w) return;
    u32 g = id / w, f = id % w;
    const float* capg = cap + (u64)g * p.n;
    if (f < un) {
        state[id] = pm_ln1p(q[(u64)g * un + f] / (crowd_unit_capacity(p, capg, f) * p.dt));
    } else if (f < un + ln) {
        u32 k = f - un;
        state[id] = pm_ln1p(v[(u64)g * ln + k] / (crowd_link_capacity(p, k) * p.dt));
    } else {
        state[id] = capg[f - un - ln] / p.f_md;
    }
}

static __device__ __forceinline__ float crowd_row_value(const CrowdParams& p, const float* row, u32 a, u32 r) {
    u32 k = 3u + 3u * a;
    return crowd_dpp_value(p, row[k], row[k + 1u], row[k + 2u], crowd_level(p, r), crowd_fee(p, crowd_slot_kind(p, a)),
                           row[1], row[2]);
}

// One thread per (instance, user) (cpu.rs `policy_user`).
extern "C" __global__ void crowd_policy(const CrowdParams p, const float* __restrict__ obs, u32* __restrict__ action,
                                        float* __restrict__ est) {
    u32 id = global_id();
    if (id >= p.b * p.n) return;
    u32 g = id / p.n, i = id % p.n;
    const float* row = obs + (u64)id * crowd_obs_width(p);
    if (row[0] == 0.0f) {
        action[id] = 0u;
        est[id] = 0.0f;
        return;
    }
    u32 an = crowd_n_targets(p);
    if (p.policy == 2u) {
        pblock w = philox4x32_10(philox_counter(i, g, p.step, CROWD_RANDOM, 0u), p.key0, p.key1);
        u32 a = rng_uniform_index(w.x, an);
        u32 r = a == 0u ? 0u : rng_uniform_index(w.y, p.r);
        action[id] = a * p.r + r;
        est[id] = crowd_row_value(p, row, a, r);
        return;
    }
    u32 best_a = 0u, best_r = 0u;
    float best = f32_inf();
    if (p.policy == 1u) {
        u32 top = p.r - 1u;
        for (u32 a = 0u; a < an; ++a) {
            u32 k = 3u + 3u * a;
            u32 r = a == 0u ? 0u : top;
            float d = crowd_delay_estimate(p, row[k], row[k + 2u], crowd_level(p, r), row[2]);
            if (d < best) {
                best_a = a;
                best_r = r;
                best = d;
            }
        }
        action[id] = best_a * p.r + best_r;
        est[id] = crowd_row_value(p, row, best_a, best_r);
        return;
    }
    for (u32 a = 0u; a < an; ++a) {
        u32 levels = a == 0u ? 1u : p.r;
        for (u32 r = 0u; r < levels; ++r) {
            float f = crowd_row_value(p, row, a, r);
            if (f < best) {
                best_a = a;
                best_r = r;
                best = f;
            }
        }
    }
    action[id] = best_a * p.r + best_r;
    est[id] = best;
}

// One thread per (instance, node j < U + L) (cpu.rs `cpu_load`): the terms of node j in
// ascending agent order, scanning only the agents whose actions can reach it.
extern "C" __global__ void crowd_load(const CrowdParams p, const u32* __restrict__ cell_off,
                                      const u32* __restrict__ task, const u32* __restrict__ action,
                                      float* __restrict__ load) {
    u32 id = global_id();
    u32 un = crowd_units(p), ln = crowd_links(p), w = un + ln;
    if (id >= p.b * w) return;
    u32 g = id / w, j = id % w;
    bool is_unit = j < un;
    u32 node = is_unit ? j : j - un;
    // up to two ascending agent ranges [lo, hi)
    u32 lo0 = 0u, hi0 = p.n, lo1 = 0u, hi1 = 0u;
    u32 wired_end = p.n + p.s * (p.s - 1u) / 2u;
    if (node < p.n) {
        // MD unit or wireless link: the MD itself and the K users whose k-th neighbour it is
        u32 c = crowd_cell_of(p, cell_off, node);
        u32 start = cell_off[c], size = cell_off[c + 1u] - start, d = node - start;
        u32 back = d < p.k ? d : p.k;
        lo0 = start + d - back;
        hi0 = node + 1u;
        if (p.k > back) {
            lo1 = start + size - (p.k - back);
            hi1 = start + size;
        }
    } else if (!is_unit && node < wired_end) {
        u32 b1 = 0u;
        while (b1 + 2u < p.s && node >= crowd_wired_link(p, b1 + 1u, b1 + 2u)) b1 += 1u;
        u32 b2 = b1 + 1u + (node - crowd_wired_link(p, b1, b1 + 1u));
        lo0 = cell_off[b1];
        hi0 = cell_off[b1 + 1u];
        lo1 = cell_off[b2];
        hi1 = cell_off[b2 + 1u];
    } else if (!is_unit) {
        u32 b = node - wired_end;
        lo0 = cell_off[b];
        hi0 = cell_off[b + 1u];
    }
    float sum = 0.0f;
    for (u32 part = 0u; part < 2u; ++part) {
        u32 lo = part == 0u ? lo0 : lo1, hi = part == 0u ? hi0 : hi1;
        for (u32 i = lo; i < hi; ++i) {
            u64 gi = (u64)g * p.n + i;
            if (task[3u * gi] == 0u) continue;
            CrowdTarget t;
            u32 r;
            if (!crowd_decode(p, cell_off, i, action[gi], &t, &r)) continue;
            if (is_unit) {
                if (t.unit == node) sum += (float)task[3u * gi + 1u] * p.cycles_unit;
            } else if ((t.nl > 0u && t.l0 == node) || (t.nl > 1u && t.l1 == node)) {
                sum += crowd_level(p, r) * crowd_bottleneck(p, t);
            }
        }
    }
    load[id] = sum;
}

// One thread per (instance, user) (cpu.rs `outcome_user`).
extern "C" __global__ void crowd_outcome(const CrowdParams p, const u32* __restrict__ cell_off,
                                         const u32* __restrict__ task, const float* __restrict__ cap,
                                         const float* __restrict__ q, const u32* __restrict__ action,
                                         const float* __restrict__ load, float* __restrict__ out) {
    u32 id = global_id();
    if (id >= p.b * p.n) return;
    u32 g = id / p.n, i = id % p.n;
    u32 un = crowd_units(p), ln = crowd_links(p);
    const u32* t3 = task + 3u * (u64)id;
    if (t3[0] == 0u) {
        out[2u * (u64)id] = 0.0f;
        out[2u * (u64)id + 1u] = 0.0f;
        return;
    }
    CrowdTarget t;
    u32 r;
    if (!crowd_decode(p, cell_off, i, action[id], &t, &r)) {
        out[2u * (u64)id] = f32_nan();
        out[2u * (u64)id + 1u] = f32_nan();
        return;
    }
    float s_c = (float)t3[1] * p.cycles_unit;
    float f = crowd_unit_capacity(p, cap + (u64)g * p.n, t.unit);
    float ph = crowd_processing_delay(q[(u64)g * un + t.unit], s_c, f);
    float e = ph;
    if (t.nl > 0u) {
        float x = crowd_level(p, r) * crowd_bottleneck(p, t);
        float xbar = x * crowd_rate_share(p, load + (u64)g * (un + ln) + un, t);
        e = ph + crowd_transfer_time((float)t3[2] * p.bits_per_mb, xbar);
    }
    out[2u * (u64)id] = e;
    out[2u * (u64)id + 1u] = crowd_cost(p, e, crowd_fee(p, t.kind), (float)t3[1]);
}

// One thread per instance (cpu.rs `finish_instance`).
extern "C" __global__ void crowd_finish(const CrowdParams p, const u32* __restrict__ cell_off,
                                        const u32* __restrict__ task, const float* __restrict__ cap,
                                        const u32* __restrict__ action, const float* __restrict__ out,
                                        const float* __restrict__ load, float* __restrict__ q, float* __restrict__ v,
                                        float* __restrict__ reward, float* __restrict__ slot,
                                        u32* __restrict__ counts) {
    u32 g = global_id();
    if (g >= p.b) return;
    u32 n = p.n, s = p.s;
    u32 un = crowd_units(p), ln = crowd_links(p);
    const u32* tg = task + 3u * (u64)g * n;
    const float* og = out + 2u * (u64)g * n;
    const float* ld = load + (u64)g * (un + ln);
    const float* capg = cap + (u64)g * n;
    float* qg = q + (u64)g * un;
    float* vg = v + (u64)g * ln;
    u32* cg = counts + 8u * (u64)g;
    float sum_cost = 0.0f, sum_e = 0.0f, sum_o = 0.0f, bundles = 0.0f;
    bool bad = false;
    for (u32 i = 0u; i < n; ++i) {
        u32 k = tg[3u * i];
        if (k == 0u) continue;
        cg[0] += k;
        CrowdTarget t;
        u32 r;
        if (!crowd_decode(p, cell_off, i, action[(u64)g * n + i], &t, &r)) {
            cg[5] += k;
            bad = true;
            continue;
        }
        cg[1u + t.kind] += k;
        cg[6] += 1u;
        sum_cost += og[2u * i + 1u];
        sum_e += og[2u * i];
        sum_o += (float)tg[3u * i + 2u];
        bundles += 1.0f;
    }
    cg[7] += 1u;
    float drift = 0.0f, in_bits = 0.0f, served_bits = 0.0f;
    float lr0 = 0.0f, lr1 = 0.0f, lr2 = 0.0f;
    u32 wired_end = n + s * (s - 1u) / 2u;
    for (u32 l = 0u; l < ln; ++l) {
        float c = crowd_link_capacity(p, l);
        float x = ld[un + l];
        float vl = vg[l];
        drift += (vl / p.rate_unit) * ((x - c) / p.rate_unit);
        float tot = vl + x * p.dt;
        float svc = c * p.dt;
        float next = fmaxf(tot - svc, 0.0f);
        vg[l] = next;
        in_bits += x * p.dt;
        served_bits += fminf(tot, svc);
        float rate = next / (c * p.dt);
        if (l < n) {
            lr0 += rate;
        } else if (l < wired_end) {
            lr1 += rate;
        } else {
            lr2 += rate;
        }
    }
    float in_cycles = 0.0f, served_cycles = 0.0f;
    float ur0 = 0.0f, ur1 = 0.0f, ur2 = 0.0f;
    for (u32 u = 0u; u < un; ++u) {
        float f = crowd_unit_capacity(p, capg, u);
        float a = ld[u];
        float tot = qg[u] + a;
        float svc = f * p.dt;
        float next = fmaxf(tot - svc, 0.0f);
        qg[u] = next;
        in_cycles += a;
        served_cycles += fminf(tot, svc);
        float rate = next / svc;
        u32 kind = crowd_unit_kind(p, u);
        if (kind == CROWD_MD) {
            ur0 += rate;
        } else if (kind == CROWD_EDGE) {
            ur1 += rate;
        } else {
            ur2 += rate;
        }
    }
    float rw = -(p.v_penalty * sum_cost + drift);
    if (bad) rw = f32_nan();
    reward[g] = rw;
    u32 wired = s * (s - 1u) / 2u;
    float* m = slot + 16u * (u64)g;
    m[0] = rw;
    m[1] = sum_cost;
    m[2] = sum_e;
    m[3] = sum_o;
    m[4] = bundles;
    m[5] = ur0 / (float)n;
    m[6] = ur1 / (float)s;
    m[7] = ur2;
    m[8] = lr0 / (float)n;
    m[9] = wired > 0u ? lr1 / (float)wired : 0.0f;
    m[10] = lr2 / (float)s;
    m[11] = in_cycles;
    m[12] = served_cycles;
    m[13] = in_bits;
    m[14] = served_bits;
    m[15] = drift;
}

#endif
