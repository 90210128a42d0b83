// Generalized advantage estimation and returns (src/algo/gae.rs): one thread per environment
// walks its column backwards. delta = (r + (gamma V') n) - V, A = delta + (gamma_lambda n) A',
// discounted return G = r + (gamma G') n.

struct GaeParams {
    steps: u32,
    envs: u32,
    gamma: f32,
    gamma_lambda: f32,
    returns: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: GaeParams;

//!entry gae
@group(0) @binding(1) var<storage, read> reward: array<f32>;
@group(0) @binding(2) var<storage, read> value: array<f32>;
@group(0) @binding(3) var<storage, read> done: array<u32>;
@group(0) @binding(4) var<storage, read> next_value: array<f32>;
@group(0) @binding(5) var<storage, read_write> adv: array<f32>;
@group(0) @binding(6) var<storage, read_write> ret: array<f32>;

//!main e
    if (e >= params.envs) {
        return;
    }
    let ne = params.envs;
    var a_next = 0.0;
    var v_next = next_value[e];
    var g_next = next_value[e];
    for (var k = 0u; k < params.steps; k = k + 1u) {
        let i = (params.steps - 1u - k) * ne + e;
        let n = select(0.0, 1.0, done[i] == 0u);
        let delta = pm_keep(pm_keep(reward[i] + pm_keep(pm_keep(params.gamma * v_next) * n)) - value[i]);
        let a = pm_keep(delta + pm_keep(pm_keep(params.gamma_lambda * n) * a_next));
        let g = pm_keep(reward[i] + pm_keep(pm_keep(params.gamma * g_next) * n));
        adv[i] = a;
        if (params.returns == 1u) {
            ret[i] = g;
        } else {
            ret[i] = pm_keep(a + value[i]);
        }
        a_next = a;
        v_next = value[i];
        g_next = g;
    }
}
