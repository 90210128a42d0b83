// toy: the environment-contract fixture (src/env/toy.rs). One thread per instance.

struct ToyParams {
    b: u32,
    a: u32,
    key0: u32,
    key1: u32,
}

@group(0) @binding(0) var<uniform> params: ToyParams;

// rng::stream::TOY
const STREAM_TOY: u32 = 63u;

//!part observe
// obs and mask of instance i from its state; true when every bit is on target.
fn toy_observe(i: u32) -> bool {
    let a = params.a;
    let t = state[i * (a + 1u) + a];
    var all = true;
    for (var k = 0u; k < a; k = k + 1u) {
        let s = state[i * (a + 1u) + k];
        let o = (i * a + k) * 2u;
        obs[o] = select(0.0, 1.0, s == 0u);
        obs[o + 1u] = select(0.0, 1.0, s == 1u);
        mask[o] = 1u;
        mask[o + 1u] = select(0u, 1u, s != t);
        all = all && s == t;
    }
    return all;
}

//!entry toy_reset
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> obs: array<f32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> terminated: array<u32>;

//!use observe

//!main i
    if (i >= params.b) {
        return;
    }
    let a = params.a;
    let key = vec2<u32>(params.key0, params.key1);
    for (var k = 0u; k <= a; k = k + 1u) {
        state[i * (a + 1u) + k] = philox4x32_10(philox_counter(k, i, 0u, STREAM_TOY, 0u), key).x & 1u;
    }
    terminated[i] = select(0u, 1u, toy_observe(i));
}

//!entry toy_step
@group(0) @binding(1) var<storage, read> action: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> obs: array<f32>;
@group(0) @binding(4) var<storage, read_write> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> reward: array<f32>;
@group(0) @binding(6) var<storage, read_write> terminated: array<u32>;

//!use observe

//!main i
    if (i >= params.b) {
        return;
    }
    let a = params.a;
    if (terminated[i] != 0u) {
        for (var k = 0u; k < a; k = k + 1u) {
            reward[i * a + k] = 0.0;
        }
        return;
    }
    let t = state[i * (a + 1u) + a];
    for (var k = 0u; k < a; k = k + 1u) {
        let act = action[i * a + k];
        let s = state[i * (a + 1u) + k];
        if (act > 1u || (act == 1u && s == t)) {
            reward[i * a + k] = pm_nan();
            continue;
        }
        let s2 = s ^ act;
        state[i * (a + 1u) + k] = s2;
        reward[i * a + k] = select(0.0, 1.0, s2 == t);
    }
    terminated[i] = select(0u, 1u, toy_observe(i));
}
