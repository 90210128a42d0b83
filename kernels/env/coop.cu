// coop: cooperative edge nodes with FIFO queues, deadlines and failures (src/env/coop/kernel.rs).
// Every function mirrors the Rust function named in its comment, with the same operation order.
// coop_reset and coop_step run one thread per instance, coop_observe and coop_policy one thread
// per (instance, node).
#ifndef MECRL_ENV_COOP_CU
#define MECRL_ENV_COOP_CU

#include "common/index.cuh"
#include "common/pmath.cuh"
#include "common/philox.cuh"

#define STREAM_COOP_NODE 32u
#define STREAM_COOP_LINK 33u
#define STREAM_COOP_ARRIVAL 34u
#define STREAM_COOP_FAIL 35u
#define STREAM_COOP_POLICY 36u

#define COOP_EMPTY 0u
#define COOP_SENDING 1u
#define COOP_QUEUED 2u
#define COOP_SUCCESS 3u
#define COOP_DROPPED 4u
#define COOP_FAILED 5u
#define COOP_FLAG_LINK_FAIL 0x100u
#define COOP_FLAG_NODE_FAIL 0x200u
#define COOP_STATS_U 8u
#define COOP_STATS_F 4u

// Mirrors `CoopParams` in src/env/coop/mod.rs (#[repr(C)], 176 bytes).
struct CoopParams {
    u32 b;
    u32 n;
    u32 w;
    u32 horizon;
    u32 slot;
    u32 episode;
    u32 key0;
    u32 key1;
    u32 max_queue;
    u32 variant;
    u32 n_cores;
    u32 cores0;
    u32 cores1;
    u32 cores2;
    u32 cores3;
    u32 cores4;
    u32 cores5;
    u32 cores6;
    u32 cores7;
    u32 fixed_network;
    f32 dt;
    f32 deadline;
    f32 lambda_lo;
    f32 lambda_hi;
    f32 s_lo;
    f32 s_hi;
    f32 delta_lo;
    f32 delta_hi;
    f32 core_hz;
    f32 alpha_lo;
    f32 alpha_hi;
    f32 beta_lo;
    f32 beta_hi;
    f32 r_lo;
    f32 r_hi;
    f32 lambda_norm;
    f32 alpha_norm;
    f32 f_norm;
    f32 r_norm;
    f32 s_norm;
    f32 c_norm;
    f32 _pad1;
    f32 _pad2;
    f32 _pad3;
};

// Unsigned minimum (no library min in NVRTC-free host builds).
static __device__ __forceinline__ u32 coop_min(u32 a, u32 b) { return a < b ? a : b; }

// `push`: append pool entry k to the queue at `qj` (length word, then entries), length clamped.
static __device__ __forceinline__ void coop_push(u32* qj, u32 cap, u32 k) {
    u32 len = coop_min(qj[0], cap - 1u);
    qj[1u + len] = k;
    qj[0] = len + 1u;
}

// Parameters the kernels can run with (the CPU refuses others with an error).
static __device__ __forceinline__ bool coop_params_ok(const CoopParams& p) {
    return p.n >= 1u && p.w >= 1u && p.w <= 32u && p.n_cores >= 1u && p.n_cores <= 8u;
}

// `step_word`.
static __device__ __forceinline__ u32 coop_step_word(u32 episode, u32 t) { return (episode << 16) | (t & 0xffffu); }

// `span`: uniform in [lo, hi).
static __device__ __forceinline__ float coop_span(float lo, float hi, u32 x) { return lo + (hi - lo) * rng_uniform(x); }

// `reliability`, eq. (4)/(5).
static __device__ __forceinline__ float coop_reliability(float rate, float time) { return pm_exp(-(rate * time)); }

// `CoopParams::core`.
static __device__ __forceinline__ u32 coop_core(const CoopParams& p, u32 k) {
    u32 c = p.cores0;
    c = k == 1u ? p.cores1 : c;
    c = k == 2u ? p.cores2 : c;
    c = k == 3u ? p.cores3 : c;
    c = k == 4u ? p.cores4 : c;
    c = k == 5u ? p.cores5 : c;
    c = k == 6u ? p.cores6 : c;
    c = k >= 7u ? p.cores7 : c;
    return c;
}

// Per-instance words of each state buffer (`instance_words`).
struct CoopWords {
    u32 node, link, arr_u, arr_f, pool_u, pool_f, xq;
};

static __device__ __forceinline__ CoopWords coop_words(const CoopParams& p) {
    CoopWords r;
    r.node = 3u * p.n;
    r.link = 2u * p.n * p.n;
    r.arr_u = p.n;
    r.arr_f = 4u * p.n;
    r.pool_u = 4u * p.n * p.w;
    r.pool_f = 4u * p.n * p.w;
    r.xq = p.n * (1u + p.n * p.w);
    return r;
}

// `arrivals`: the tasks of slot t (none from the horizon on).
static __device__ void coop_arrivals(const CoopParams& p, u32 b, u32 t, const float* node, u32* arr_u, float* arr_f) {
    u32 sw = coop_step_word(p.episode, t);
    for (u32 i = 0u; i < p.n; ++i) {
        pblock w = philox4x32_10(philox_counter(i, b, sw, STREAM_COOP_ARRIVAL, 0u), p.key0, p.key1);
        pblock v = philox4x32_10(philox_counter(i, b, sw, STREAM_COOP_FAIL, 0u), p.key0, p.key1);
        bool a = rng_uniform(w.x) < node[3u * i] && t < p.horizon;
        float s = coop_span(p.s_lo, p.s_hi, w.y);
        float c = coop_span(p.delta_lo, p.delta_hi, w.z) * s;
        arr_u[i] = a ? 1u : 0u;
        arr_f[4u * i] = a ? s : 0.0f;
        arr_f[4u * i + 1u] = a ? c : 0.0f;
        arr_f[4u * i + 2u] = a ? rng_uniform(v.x) : 0.0f;
        arr_f[4u * i + 3u] = a ? rng_uniform(v.y) : 0.0f;
    }
}

extern "C" __global__ void coop_reset(const CoopParams p, float* __restrict__ node, float* __restrict__ link,
                                      u32* __restrict__ arr_u, float* __restrict__ arr_f, u32* __restrict__ pool_u,
                                      float* __restrict__ pool_f, u32* __restrict__ xq, u32* __restrict__ stats_u,
                                      float* __restrict__ stats_f, float* __restrict__ reward) {
    u32 b = global_id();
    if (b >= p.b || !coop_params_ok(p)) return;
    CoopWords iw = coop_words(p);
    float* nd = node + b * iw.node;
    float* lk = link + b * iw.link;
    u32 n = p.n;
    // one network for every instance and episode (fixed_network), else the instance's own
    u32 nb = p.fixed_network != 0u ? 0u : b;
    u32 ne = p.fixed_network != 0u ? 0u : p.episode;
    for (u32 i = 0u; i < n; ++i) {
        pblock w = philox4x32_10(philox_counter(i, nb, ne, STREAM_COOP_NODE, 0u), p.key0, p.key1);
        nd[3u * i] = coop_span(p.lambda_lo, p.lambda_hi, w.x);
        nd[3u * i + 1u] = (float)coop_core(p, rng_uniform_index(w.y, p.n_cores)) * p.core_hz;
        nd[3u * i + 2u] = coop_span(p.alpha_lo, p.alpha_hi, w.z);
    }
    for (u32 i = 0u; i < n; ++i) {
        lk[2u * (i * n + i)] = 0.0f;
        lk[2u * (i * n + i) + 1u] = 0.0f;
        for (u32 j = i + 1u; j < n; ++j) {
            pblock w = philox4x32_10(philox_counter(i * n + j, nb, ne, STREAM_COOP_LINK, 0u), p.key0, p.key1);
            float r = coop_span(p.r_lo, p.r_hi, w.x);
            float be = coop_span(p.beta_lo, p.beta_hi, w.y);
            lk[2u * (i * n + j)] = r;
            lk[2u * (i * n + j) + 1u] = be;
            lk[2u * (j * n + i)] = r;
            lk[2u * (j * n + i) + 1u] = be;
        }
    }
    u32* pu = pool_u + b * iw.pool_u;
    float* pf = pool_f + b * iw.pool_f;
    for (u32 k = 0u; k < iw.pool_u; ++k) {
        pu[k] = 0u;
        pf[k] = 0.0f;
    }
    u32 xs = 1u + n * p.w;
    for (u32 j = 0u; j < n; ++j) xq[b * iw.xq + j * xs] = 0u;
    for (u32 k = 0u; k < COOP_STATS_U; ++k) stats_u[b * COOP_STATS_U + k] = 0u;
    for (u32 k = 0u; k < COOP_STATS_F; ++k) stats_f[b * COOP_STATS_F + k] = 0.0f;
    coop_arrivals(p, b, 0u, nd, arr_u + b * iw.arr_u, arr_f + b * iw.arr_f);
    reward[b] = 0.0f;
}

// `resolve`: the outcome of pool entry k at slot t (+1 success, -1 drop or failure).
static __device__ __forceinline__ void coop_resolve(u32* pu, float* pf, u32* su, float* sf, u32 k, u32 outcome, u32 t,
                                                    float* reward) {
    float s = pf[4u * k];
    pu[4u * k] = outcome | (pu[4u * k] & ~0xffu);
    pu[4u * k + 3u] = t;
    pf[4u * k + 2u] = 0.0f;
    if (outcome == COOP_SUCCESS) {
        su[1] += 1u;
        sf[1] += s;
        *reward += 1.0f;
    } else if (outcome == COOP_DROPPED) {
        su[2] += 1u;
        sf[2] += s;
        *reward -= 1.0f;
    } else {
        su[3] += 1u;
        sf[3] += s;
        *reward -= 1.0f;
    }
}

// `step_instance`: one slot of one instance.
extern "C" __global__ void coop_step(const CoopParams p, const float* __restrict__ node,
                                     const float* __restrict__ link, const u32* __restrict__ act,
                                     u32* __restrict__ arr_u, float* __restrict__ arr_f, u32* __restrict__ pool_u,
                                     float* __restrict__ pool_f, u32* __restrict__ xq, u32* __restrict__ stats_u,
                                     float* __restrict__ stats_f, float* __restrict__ reward) {
    u32 b = global_id();
    if (b >= p.b || !coop_params_ok(p)) return;
    CoopWords iw = coop_words(p);
    u32 n = p.n;
    u32 w = p.w;
    u32 t = p.slot;
    u32 xs = 1u + n * w;
    u32 cur = t % w;
    const float* nd = node + b * iw.node;
    const float* lk = link + b * iw.link;
    const u32* ac = act + b * n;
    u32* au = arr_u + b * iw.arr_u;
    float* af = arr_f + b * iw.arr_f;
    u32* pu = pool_u + b * iw.pool_u;
    float* pf = pool_f + b * iw.pool_f;
    u32* q = xq + b * iw.xq;
    u32* su = stats_u + b * COOP_STATS_U;
    float* sf = stats_f + b * COOP_STATS_F;
    float rw = 0.0f;
    // 1. decisions
    for (u32 i = 0u; i < n; ++i) {
        u32 a = ac[i];
        if (au[i] == 0u) {
            if (a != n) su[4] += 1u;
            continue;
        }
        u32 k = i * w + cur;
        float s = af[4u * i];
        float c = af[4u * i + 1u];
        float ul = af[4u * i + 2u];
        float un = af[4u * i + 3u];
        su[0] += 1u;
        sf[0] += s;
        pu[4u * k] = COOP_SENDING;
        pu[4u * k + 1u] = a;
        pu[4u * k + 2u] = t;
        pu[4u * k + 3u] = 0u;
        pf[4u * k] = s;
        pf[4u * k + 1u] = c;
        pf[4u * k + 2u] = s;
        pf[4u * k + 3u] = 0.0f;
        if (a >= n || (a != i && q[a * xs] >= p.max_queue)) {
            su[4] += 1u;
            coop_resolve(pu, pf, su, sf, k, COOP_DROPPED, t, &rw);
            continue;
        }
        bool local = a == i;
        float r_link = 1.0f;
        if (!local) r_link = coop_reliability(lk[2u * (i * n + a) + 1u], s / lk[2u * (i * n + a)]);
        float r_node = coop_reliability(nd[3u * a + 2u], c / nd[3u * a + 1u]);
        u32 flags = 0u;
        if (!local && ul >= r_link) flags |= COOP_FLAG_LINK_FAIL;
        if (un >= r_node) flags |= COOP_FLAG_NODE_FAIL;
        pu[4u * k] = (local ? COOP_QUEUED : COOP_SENDING) | flags;
        pf[4u * k + 2u] = local ? c : s;
        pf[4u * k + 3u] = r_link * r_node;
        if (!local) su[7] += 1u;
    }
    for (u32 i = 0u; i < n; ++i) {
        u32 k = i * w + cur;
        if (au[i] != 0u && (pu[4u * k] & 0xffu) == COOP_QUEUED) {
            coop_push(q + i * xs, n * w, k);
        }
    }
    // 2. execution
    for (u32 j = 0u; j < n; ++j) {
        float budget = nd[3u * j + 1u] * p.dt;
        u32 len = coop_min(q[j * xs], n * w);
        u32 h = 0u;
        while (h < len && budget > 0.0f) {
            u32 k = coop_min(q[j * xs + 1u + h], n * w - 1u);
            float rem = pf[4u * k + 2u];
            if (rem <= budget) {
                budget = budget - rem;
                bool failed = (pu[4u * k] & COOP_FLAG_NODE_FAIL) != 0u;
                if (failed) su[6] += 1u;
                coop_resolve(pu, pf, su, sf, k, failed ? COOP_FAILED : COOP_SUCCESS, t, &rw);
                h += 1u;
            } else {
                pf[4u * k + 2u] = rem - budget;
                budget = 0.0f;
            }
        }
    }
    // 3. transmission
    for (u32 i = 0u; i < n; ++i) {
        u32 base = i * w;
        u32 heads = 0u;
        for (u32 q1 = 0u; q1 < w; ++q1) {
            u32 k = base + (t + 1u + q1) % w;
            if ((pu[4u * k] & 0xffu) != COOP_SENDING) continue;
            u32 tgt = pu[4u * k + 1u];
            bool first = true;
            for (u32 q2 = 0u; q2 < q1; ++q2) {
                u32 k2 = base + (t + 1u + q2) % w;
                if ((pu[4u * k2] & 0xffu) == COOP_SENDING && pu[4u * k2 + 1u] == tgt) first = false;
            }
            if (first) heads |= 1u << q1;
        }
        for (u32 q1 = 0u; q1 < w; ++q1) {
            if ((heads & (1u << q1)) == 0u) continue;
            u32 j = coop_min(pu[4u * (base + (t + 1u + q1) % w) + 1u], n - 1u);
            float budget = lk[2u * (i * n + j)] * p.dt;
            for (u32 q2 = q1; q2 < w; ++q2) {
                if (budget <= 0.0f) break;
                u32 k = base + (t + 1u + q2) % w;
                if ((pu[4u * k] & 0xffu) != COOP_SENDING || pu[4u * k + 1u] != j) continue;
                float rem = pf[4u * k + 2u];
                if (rem <= budget) {
                    budget = budget - rem;
                    if ((pu[4u * k] & COOP_FLAG_LINK_FAIL) != 0u) {
                        su[5] += 1u;
                        coop_resolve(pu, pf, su, sf, k, COOP_FAILED, t, &rw);
                    } else {
                        pu[4u * k] = (pu[4u * k] & ~0xffu) | COOP_QUEUED;
                        pf[4u * k + 2u] = pf[4u * k + 1u];
                        coop_push(q + j * xs, n * w, k);
                    }
                } else {
                    pf[4u * k + 2u] = rem - budget;
                    budget = 0.0f;
                }
            }
        }
    }
    // 4. deadline (eq. 8)
    if (t + 1u >= w) {
        for (u32 i = 0u; i < n; ++i) {
            u32 k = i * w + (t + 1u) % w;
            if ((pu[4u * k] & 0xffu) == COOP_SENDING && pu[4u * k + 2u] + w - 1u == t) {
                coop_resolve(pu, pf, su, sf, k, COOP_DROPPED, t, &rw);
            }
        }
    }
    for (u32 j = 0u; j < n; ++j) {
        u32 len = coop_min(q[j * xs], n * w);
        u32 kept = 0u;
        for (u32 h = 0u; h < len; ++h) {
            u32 k = coop_min(q[j * xs + 1u + h], n * w - 1u);
            if ((pu[4u * k] & 0xffu) != COOP_QUEUED) continue;
            if (pu[4u * k + 2u] + w - 1u <= t) {
                coop_resolve(pu, pf, su, sf, k, COOP_DROPPED, t, &rw);
                continue;
            }
            q[j * xs + 1u + kept] = k;
            kept += 1u;
        }
        q[j * xs] = kept;
    }
    // 5. arrivals of the next slot
    coop_arrivals(p, b, t + 1u, nd, au, af);
    reward[b] = rw;
}

// `allowed`.
static __device__ __forceinline__ bool coop_allowed(const CoopParams& p, u32 i, u32 j, const u32* q) {
    return j == i || q[j * (1u + p.n * p.w)] < p.max_queue;
}

// `kth_allowed`.
static __device__ u32 coop_kth_allowed(const CoopParams& p, u32 i, u32 k, bool others_only, const u32* q) {
    u32 seen = 0u;
    for (u32 j = 0u; j < p.n; ++j) {
        if (coop_allowed(p, i, j, q) && !(others_only && j == i)) {
            if (seen == k) return j;
            seen += 1u;
        }
    }
    return i;
}

// `estimate`: eq. (7) latency and eq. (4)(5) reliability of sending (s, c) from i to j.
static __device__ void coop_estimate(const CoopParams& p, u32 i, u32 j, float s, float c, const float* nd,
                                     const float* lk, const u32* pu, const float* pf, const u32* q, float* lat,
                                     float* rel) {
    u32 n = p.n;
    u32 w = p.w;
    u32 xs = 1u + n * w;
    float bits = 0.0f;
    if (i != j) {
        for (u32 q1 = 0u; q1 < w; ++q1) {
            u32 k = i * w + (p.slot + 1u + q1) % w;
            if ((pu[4u * k] & 0xffu) == COOP_SENDING && pu[4u * k + 1u] == j) bits = bits + pf[4u * k + 2u];
        }
    }
    float cycles = 0.0f;
    u32 len = coop_min(q[j * xs], n * w);
    for (u32 h = 0u; h < len; ++h) cycles = cycles + pf[4u * coop_min(q[j * xs + 1u + h], n * w - 1u) + 2u];
    float f = nd[3u * j + 1u];
    float tc = c / f;
    float tcw = cycles / f;
    float r_node = coop_reliability(nd[3u * j + 2u], tc);
    if (i == j) {
        *lat = tcw + tc;
        *rel = r_node;
        return;
    }
    float r = lk[2u * (i * n + j)];
    float tt = s / r;
    float ttw = bits / r;
    *lat = ((ttw + tt) + tcw) + tc;
    *rel = r_node * coop_reliability(lk[2u * (i * n + j) + 1u], tt);
}

// `two_picks`: two distinct uniform picks among m >= 2.
static __device__ __forceinline__ void coop_two_picks(u32 w0, u32 w1, u32 m, u32* a, u32* b) {
    *a = rng_uniform_index(w0, m);
    u32 x = rng_uniform_index(w1, m - 1u);
    if (x >= *a) x += 1u;
    *b = x;
}

// `policy_one`: Random (0), RATC (1), RDA (2).
extern "C" __global__ void coop_policy(const CoopParams p, const float* __restrict__ node,
                                       const float* __restrict__ link, const u32* __restrict__ arr_u,
                                       const float* __restrict__ arr_f, const u32* __restrict__ pool_u,
                                       const float* __restrict__ pool_f, const u32* __restrict__ xq,
                                       u32* __restrict__ act) {
    u32 g = global_id();
    if (g >= p.b * p.n || !coop_params_ok(p)) return;
    u32 b = g / p.n;
    u32 i = g % p.n;
    CoopWords iw = coop_words(p);
    const float* nd = node + b * iw.node;
    const float* lk = link + b * iw.link;
    const float* af = arr_f + b * iw.arr_f;
    const u32* pu = pool_u + b * iw.pool_u;
    const float* pf = pool_f + b * iw.pool_f;
    const u32* q = xq + b * iw.xq;
    u32 n = p.n;
    if (arr_u[b * iw.arr_u + i] == 0u) {
        act[g] = n;
        return;
    }
    pblock w = philox4x32_10(philox_counter(i, b, coop_step_word(p.episode, p.slot), STREAM_COOP_POLICY, 0u), p.key0,
                             p.key1);
    float s = af[4u * i];
    float c = af[4u * i + 1u];
    u32 xs = 1u + n * p.w;
    u32 out = i;
    if (p.variant == 0u) {
        u32 m = 0u;
        for (u32 j = 0u; j < n; ++j) m += coop_allowed(p, i, j, q) ? 1u : 0u;
        out = coop_kth_allowed(p, i, rng_uniform_index(w.x, m), false, q);
    } else if (p.variant == 1u) {
        u32 m = 0u;
        for (u32 j = 0u; j < n; ++j) m += coop_allowed(p, i, j, q) ? 1u : 0u;
        if (m >= 2u) {
            u32 a, bb;
            coop_two_picks(w.x, w.y, m, &a, &bb);
            u32 x = coop_kth_allowed(p, i, a, false, q);
            u32 y = coop_kth_allowed(p, i, bb, false, q);
            u32 ja = x < y ? x : y;
            u32 jb = x < y ? y : x;
            float la, ra, lb, rb;
            coop_estimate(p, i, ja, s, c, nd, lk, pu, pf, q, &la, &ra);
            coop_estimate(p, i, jb, s, c, nd, lk, pu, pf, q, &lb, &rb);
            bool both = la <= p.deadline && lb <= p.deadline;
            bool pick_b = both ? (rb > ra || (rb == ra && lb < la)) : (lb < la);
            out = pick_b ? jb : ja;
        }
    } else {
        if (q[i * xs] >= p.max_queue) {
            u32 m = 0u;
            for (u32 j = 0u; j < n; ++j) m += (j != i && coop_allowed(p, i, j, q)) ? 1u : 0u;
            if (m == 1u) {
                out = coop_kth_allowed(p, i, 0u, true, q);
            } else if (m >= 2u) {
                u32 a, bb;
                coop_two_picks(w.x, w.y, m, &a, &bb);
                u32 x = coop_kth_allowed(p, i, a, true, q);
                u32 y = coop_kth_allowed(p, i, bb, true, q);
                u32 ja = x < y ? x : y;
                u32 jb = x < y ? y : x;
                float la, ra, lb, rb;
                coop_estimate(p, i, ja, s, c, nd, lk, pu, pf, q, &la, &ra);
                coop_estimate(p, i, jb, s, c, nd, lk, pu, pf, q, &lb, &rb);
                out = lb < la ? jb : ja;
            }
        }
    }
    act[g] = out;
}

// `observe_one`: observation [3N + 5] and mask [N + 1] of node i.
extern "C" __global__ void coop_observe(const CoopParams p, const float* __restrict__ node,
                                        const float* __restrict__ link, const u32* __restrict__ arr_u,
                                        const float* __restrict__ arr_f, const u32* __restrict__ pool_u,
                                        const u32* __restrict__ xq, float* __restrict__ obs,
                                        u32* __restrict__ mask) {
    u32 g = global_id();
    if (g >= p.b * p.n || !coop_params_ok(p)) return;
    u32 n = p.n;
    u32 w = p.w;
    u32 b = g / n;
    u32 i = g % n;
    CoopWords iw = coop_words(p);
    const float* nd = node + b * iw.node;
    const float* lk = link + b * iw.link;
    const float* af = arr_f + b * iw.arr_f;
    const u32* pu = pool_u + b * iw.pool_u;
    const u32* q = xq + b * iw.xq;
    u32 xs = 1u + n * w;
    float* o = obs + g * (3u * n + 5u);
    u32* m = mask + g * (n + 1u);
    o[0] = nd[3u * i] / p.lambda_norm;
    o[1] = nd[3u * i + 2u] / p.alpha_norm;
    o[2] = nd[3u * i + 1u] / p.f_norm;
    o[3] = (float)q[i * xs] / (float)(n * w);
    u32 at = 4u;
    for (u32 j = 0u; j < n; ++j) {
        if (j == i) continue;
        u32 cnt = 0u;
        for (u32 q1 = 0u; q1 < w; ++q1) {
            u32 k = j * w + q1;
            if ((pu[4u * k] & 0xffu) == COOP_SENDING && pu[4u * k + 1u] == i) cnt += 1u;
        }
        o[at] = (float)cnt / (float)w;
        o[at + n - 1u] = lk[2u * (i * n + j)] / p.r_norm;
        at += 1u;
    }
    at += n - 1u;
    bool has = arr_u[b * iw.arr_u + i] != 0u;
    o[at] = has ? af[4u * i] / p.s_norm : 0.0f;
    o[at + 1u] = has ? af[4u * i + 1u] / p.c_norm : 0.0f;
    o[at + 2u] = has ? 1.0f : 0.0f;
    at += 3u;
    for (u32 j = 0u; j < n; ++j) {
        o[at + j] = j == i ? 1.0f : 0.0f;
        m[j] = (has && coop_allowed(p, i, j, q)) ? 1u : 0u;
    }
    m[n] = has ? 0u : 1u;
}

#endif
