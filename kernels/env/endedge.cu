// endedge: the CRB-DRQN queueing system (src/env/endedge/{mod,model}.rs), one thread per
// (instance, terminal) — or per (instance, server) for endedge_load. The queue rules mirror
// model.rs operation for operation (f32 subtraction of per-slot capacities, one division for the
// processor share, comparisons); see that file for the task ring.
#ifndef MECRL_ENV_ENDEDGE_CU
#define MECRL_ENV_ENDEDGE_CU

#include "common/index.cuh"
#include "common/philox.cuh"

// Mirrors `EndedgeParams` in src/env/endedge/mod.rs (#[repr(C)], 96 bytes).
struct EndedgeParams {
    u32 b;
    u32 d;
    u32 e;
    u32 w;
    u32 tau;
    u32 c;
    u32 ew;
    u32 t;
    u32 key0;
    u32 key1;
    u32 semantics;
    u32 policy;
    u32 size_levels;
    u32 arrive_until;
    u32 _pad0;
    u32 _pad1;
    float local_cap;
    float edge_cap;
    float tran_cap;
    float p_arrive;
    float size_min;
    float size_step;
    float drop_reward;
    float _pad2;
};

#define EE_KIND_LOCAL 1u
#define EE_KIND_TRAN 2u
#define EE_KIND_EDGE 3u
#define EE_STARTED 0x80000000u
#define EE_RES_DONE 0x40000000u
#define EE_RES_DROP 0x80000000u
#define EE_RES_INVALID 0xc0000000u
#define EE_STREAM_ARRIVAL 20u
#define EE_STREAM_POLICY 21u

__device__ __forceinline__ u32 ee_kind(u32 a) { return a & 3u; }
__device__ __forceinline__ u32 ee_server(u32 a) { return (a & ~EE_STARTED) >> 2; }
__device__ __forceinline__ u32 ee_ring(u32 t, u32 w, u32 i) { return (t + 1u + i) % w; }

// model::slots_for: ceil(x / cap) capped at tau (ceil as -floor(-q)).
__device__ __forceinline__ u32 ee_slots_for(float x, float cap, u32 tau) {
    float q = x / cap;
    if (q >= (float)tau) return tau;
    return (u32)(-floorf(-q));
}

// model::predict
__device__ __forceinline__ u32 ee_predict(u32 prev, u32 t, float eta, float cap, u32 tau) {
    u32 s = (prev > t ? prev : t) + ee_slots_for(eta, cap, tau);
    return s < t + tau ? s : t + tau;
}

// One terminal's ring and counters.
struct EeTerm {
    float* size;
    float* rem;
    u32* arr;
    u32* at;
    u32* result;
    u32* pred;
    u32* acc;
};

__device__ __forceinline__ void ee_resolve(EeTerm& tm, u32 k, u32 word) {
    tm.at[k] = 0u;
    tm.result[k] = word;
    if ((word & 0xc0000000u) == EE_RES_DONE) {
        tm.acc[1] += 1u;
        tm.acc[3] += word & 0x3fffffffu;
    } else {
        tm.acc[2] += 1u;
    }
}

// model::serve with is_key = (kind == want) (want 0: the given entry `cur` only). Returns the
// finished entry or 0xffffffff.
__device__ u32 ee_serve(EeTerm& tm, const EndedgeParams& p, u32 cur, float cap, bool computes, u32 want) {
    u32 t = p.t, w = p.w;
    if (cur == 0xffffffffu) {
        for (u32 i = 0; i < w; ++i) {
            u32 k = ee_ring(t, w, i);
            if (tm.at[k] != 0u && ee_kind(tm.at[k]) == want) {
                if (t - tm.arr[k] < p.tau) {
                    tm.at[k] |= EE_STARTED;
                    cur = k;
                    break;
                }
                ee_resolve(tm, k, EE_RES_DROP | p.tau);
            }
        }
    }
    if (cur == 0xffffffffu) return 0xffffffffu;
    u32 k = cur;
    tm.rem[k] = tm.rem[k] - cap;
    u32 age = t - tm.arr[k] + 1u;
    if (tm.rem[k] <= 0.0f) {
        if (computes) ee_resolve(tm, k, EE_RES_DONE | age);
        return k;
    }
    if (age == p.tau) ee_resolve(tm, k, EE_RES_DROP | p.tau);
    return 0xffffffffu;
}

__device__ __forceinline__ u32 ee_started(const EeTerm& tm, u32 w, u32 want) {
    for (u32 k = 0; k < w; ++k) {
        if ((tm.at[k] & EE_STARTED) != 0u && ee_kind(tm.at[k]) == want) return k;
    }
    return 0xffffffffu;
}

// model::slot after model::admit.
__device__ void ee_slot(EeTerm& tm, const EndedgeParams& p, const u32* m) {
    u32 t = p.t, w = p.w;
    ee_serve(tm, p, ee_started(tm, w, EE_KIND_LOCAL), p.local_cap, true, EE_KIND_LOCAL);
    u32 heads = 0u;
    for (u32 i = 0; i < w; ++i) {
        u32 k = ee_ring(t, w, i);
        u32 a = tm.at[k];
        if (ee_kind(a) != EE_KIND_EDGE) continue;
        u32 e = ee_server(a);
        bool taken = false;
        for (u32 j = 0; j < w; ++j) {
            if (((heads >> j) & 1u) != 0u && ee_server(tm.at[j]) == e) taken = true;
        }
        if (taken) continue;
        if ((a & EE_STARTED) == 0u) {
            if (t - tm.arr[k] >= p.tau) {
                ee_resolve(tm, k, EE_RES_DROP | p.tau);
                continue;
            }
            tm.at[k] |= EE_STARTED;
        }
        heads |= 1u << k;
    }
    for (u32 k = 0; k < w; ++k) {
        if (((heads >> k) & 1u) == 0u) continue;
        u32 me = m[ee_server(tm.at[k])];
        float share = p.edge_cap / (float)(me > 1u ? me : 1u);
        ee_serve(tm, p, k, share, true, 0u);
    }
    u32 k = ee_serve(tm, p, ee_started(tm, w, EE_KIND_TRAN), p.tran_cap, false, EE_KIND_TRAN);
    if (k != 0xffffffffu) {
        if (p.semantics != 0u && t - tm.arr[k] + 1u >= p.tau) {
            ee_resolve(tm, k, EE_RES_DROP | p.tau);
        } else {
            tm.at[k] = EE_KIND_EDGE | (ee_server(tm.at[k]) << 2);
            tm.rem[k] = tm.size[k];
        }
    }
}

// model::queued_at
__device__ float ee_queued_at(const float* rem, const u32* at, u32 t, u32 w, u32 e) {
    float q = 0.0f;
    for (u32 i = 0; i < w; ++i) {
        u32 k = ee_ring(t, w, i);
        if (ee_kind(at[k]) == EE_KIND_EDGE && ee_server(at[k]) == e) q = q + rem[k];
    }
    return q;
}

extern "C" __global__ void endedge_arrive(const EndedgeParams p, float* __restrict__ eta) {
    u32 i = global_id();
    if (i >= p.b * p.d) return;
    float v = 0.0f;
    if (p.t < p.arrive_until) {
        pblock x = philox4x32_10(philox_counter(i % p.d, i / p.d, p.t, EE_STREAM_ARRIVAL, 0u), p.key0, p.key1);
        if (rng_uniform(pblock_word(x, 0u)) < p.p_arrive) {
            v = p.size_min + p.size_step * (float)rng_uniform_index(pblock_word(x, 1u), p.size_levels);
        }
    }
    eta[i] = v;
}

extern "C" __global__ void endedge_policy(const EndedgeParams p, const float* __restrict__ eta,
                                          const u32* __restrict__ pred, const float* __restrict__ rem,
                                          const u32* __restrict__ at, const u32* __restrict__ m,
                                          u32* __restrict__ action) {
    u32 i = global_id();
    if (i >= p.b * p.d) return;
    u32 b = i / p.d, d = i % p.d, t = p.t;
    float x = eta[i];
    u32 out = 0u;
    if (x > 0.0f && p.policy == 1u) {
        pblock r = philox4x32_10(philox_counter(d, b, t, EE_STREAM_POLICY, 0u), p.key0, p.key1);
        out = rng_uniform_index(pblock_word(r, 0u), p.e + 1u);
    } else if (x > 0.0f && p.policy == 2u) {
        const float* rr = rem + (u64)i * p.w;
        const u32* ra = at + (u64)i * p.w;
        u32 pc = pred[2u * i], pt = pred[2u * i + 1u];
        u32 best = (pc > t ? pc - t : 0u) + ee_slots_for(x, p.local_cap, p.tau);
        u32 up = (pt > t ? pt - t : 0u) + ee_slots_for(x, p.tran_cap, p.tau);
        for (u32 e = 0; e < p.e; ++e) {
            float q = ee_queued_at(rr, ra, t, p.w, e);
            u32 n = m[(u64)b * p.e + e] + (q <= 0.0f ? 1u : 0u);
            u32 est = up + ee_slots_for(q + x, p.edge_cap / (float)n, p.tau);
            if (est < best) {
                best = est;
                out = e + 1u;
            }
        }
    }
    action[i] = out;
}

extern "C" __global__ void endedge_step(const EndedgeParams p, const float* __restrict__ eta,
                                        const u32* __restrict__ action, const u32* __restrict__ m,
                                        float* __restrict__ size, float* __restrict__ rem, u32* __restrict__ arr,
                                        u32* __restrict__ at, u32* __restrict__ result, u32* __restrict__ pred,
                                        u32* __restrict__ acc, u32* __restrict__ nonempty) {
    u32 i = global_id();
    if (i >= p.b * p.d) return;
    u64 o = (u64)i * p.w;
    EeTerm tm;
    tm.size = size + o;
    tm.rem = rem + o;
    tm.arr = arr + o;
    tm.at = at + o;
    tm.result = result + o;
    tm.pred = pred + 2u * (u64)i;
    tm.acc = acc + 4u * (u64)i;
    float x = eta[i];
    u32 a = action[i];
    u32 t = p.t;
    if (!(x >= 0.0f) || (x > 0.0f && a > p.e)) {
        // refused by the host API; never read out of bounds: count it as dropped
        u32 k = t % p.w;
        tm.at[k] = 0u;
        tm.arr[k] = t;
        tm.acc[0] += 1u;
        ee_resolve(tm, k, EE_RES_INVALID);
    } else if (x > 0.0f) {
        u32 k = t % p.w;
        tm.size[k] = x;
        tm.rem[k] = x;
        tm.arr[k] = t;
        tm.result[k] = 0u;
        tm.acc[0] += 1u;
        if (a == 0u) {
            tm.at[k] = EE_KIND_LOCAL;
            tm.pred[0] = ee_predict(tm.pred[0], t, x, p.local_cap, p.tau);
        } else {
            tm.at[k] = EE_KIND_TRAN | ((a - 1u) << 2);
            tm.pred[1] = ee_predict(tm.pred[1], t, x, p.tran_cap, p.tau);
        }
    }
    ee_slot(tm, p, m + (u64)(i / p.d) * p.e);
    u32* act = nonempty + (u64)i * p.ew;
    for (u32 j = 0; j < p.ew; ++j) act[j] = 0u;
    for (u32 k = 0; k < p.w; ++k) {
        u32 v = tm.at[k];
        if (ee_kind(v) == EE_KIND_EDGE) {
            u32 e = ee_server(v);
            act[e >> 5] |= 1u << (e & 31u);
        }
    }
}

extern "C" __global__ void endedge_load(const EndedgeParams p, const u32* __restrict__ nonempty,
                                        u32* __restrict__ m, u32* __restrict__ load) {
    u32 i = global_id();
    if (i >= p.b * p.e) return;
    u32 b = i / p.e, e = i % p.e;
    u32 n = 0u;
    for (u32 d = 0; d < p.d; ++d) {
        n += (nonempty[((u64)b * p.d + d) * p.ew + (e >> 5)] >> (e & 31u)) & 1u;
    }
    m[i] = n;
    u32* l = load + (u64)b * p.c * p.e;
    for (u32 r = 0; r + 1u < p.c; ++r) l[r * p.e + e] = l[(r + 1u) * p.e + e];
    l[(p.c - 1u) * p.e + e] = n;
}

extern "C" __global__ void endedge_observe(const EndedgeParams p, const float* __restrict__ eta,
                                           const u32* __restrict__ pred, const float* __restrict__ rem,
                                           const u32* __restrict__ at, float* __restrict__ obs,
                                           u32* __restrict__ mask) {
    u32 i = global_id();
    if (i >= p.b * p.d) return;
    u32 t = p.t, w = p.w;
    float* o = obs + (u64)i * (3u + p.e);
    u32* mk = mask + (u64)i * (1u + p.e);
    u32 pc = pred[2u * i], pt = pred[2u * i + 1u];
    o[0] = eta[i];
    o[1] = (float)(pc > t ? pc - t : 0u);
    o[2] = (float)(pt > t ? pt - t : 0u);
    for (u32 e = 0; e < p.e; ++e) o[3u + e] = 0.0f;
    const float* rr = rem + (u64)i * w;
    const u32* ra = at + (u64)i * w;
    for (u32 j = 0; j < w; ++j) {
        u32 k = ee_ring(t, w, j);
        if (ee_kind(ra[k]) == EE_KIND_EDGE) {
            u32 s = 3u + ee_server(ra[k]);
            o[s] = o[s] + rr[k];
        }
    }
    u32 any = eta[i] > 0.0f ? 1u : 0u;
    mk[0] = 1u;
    for (u32 e = 0; e < p.e; ++e) mk[1u + e] = any;
}

// One thread per (instance, terminal) (cpu.rs `cpu_reward`): -(delay slots finished in the slot)
// + Const x (tasks dropped in the slot), then prev takes the counters.
extern "C" __global__ void endedge_reward(const EndedgeParams p, const u32* __restrict__ acc, u32* __restrict__ prev,
                                          float* __restrict__ reward) {
    u32 i = global_id();
    if (i >= p.b * p.d) return;
    u32 delay = acc[4u * (u64)i + 3u] - prev[2u * (u64)i];
    u32 dropped = acc[4u * (u64)i + 2u] - prev[2u * (u64)i + 1u];
    reward[i] = -(float)delay + p.drop_reward * (float)dropped;
    prev[2u * (u64)i] = acc[4u * (u64)i + 3u];
    prev[2u * (u64)i + 1u] = acc[4u * (u64)i + 2u];
}

// One thread per word of Load(t) [B, C, E] (cpu.rs `cpu_state`).
extern "C" __global__ void endedge_state(const EndedgeParams p, const u32* __restrict__ load, float* __restrict__ state) {
    u32 i = global_id();
    if (i >= p.b * p.c * p.e) return;
    state[i] = (float)load[i];
}

// One thread per (instance, terminal) (cpu.rs `cpu_credit`), p.t = the arrival slot a: the
// reward of the task that arrived at a (-delay when done, Const otherwise; 0 without a task).
extern "C" __global__ void endedge_credit(const EndedgeParams p, const u32* __restrict__ result,
                                          const float* __restrict__ arrived, float* __restrict__ reward) {
    u32 i = global_id();
    u32 n = p.b * p.d;
    if (i >= n) return;
    u64 row = (u64)p.t * n + i;
    float r = 0.0f;
    if (arrived[row] > 0.0f) {
        u32 res = result[(u64)i * p.w + p.t % p.w];
        r = (res & EE_RES_INVALID) == EE_RES_DONE ? -(float)(res & 0x3fffffffu) : p.drop_reward;
    }
    reward[row] = r;
}

#endif
