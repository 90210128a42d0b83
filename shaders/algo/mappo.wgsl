// Mixed MAPPO and MADQN (src/algo/mappo/kernels.rs): the action per agent, the actor's sample,
// the drift-plus-penalty action when the policy rates it higher, or epsilon-greedy; the agent's
// loss weight.

struct ActParams {
    rows: u32,
    cols: u32,
    obs_width: u32,
    mix: u32,
    epsilon: f32,
    key0: u32,
    key1: u32,
    step: u32,
}

const STREAM_MADQN_EXPLORE: u32 = 67u;

@group(0) @binding(0) var<uniform> params: ActParams;

//!entry mappo_act
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> sampled: array<u32>;
@group(0) @binding(3) var<storage, read> dpp: array<u32>;
@group(0) @binding(4) var<storage, read> obs: array<f32>;
@group(0) @binding(5) var<storage, read_write> action: array<u32>;
@group(0) @binding(6) var<storage, read_write> from_dpp: array<f32>;
@group(0) @binding(7) var<storage, read_write> weight: array<f32>;

//!main e
    if (e >= params.rows) {
        return;
    }
    let c = params.cols;
    let a1 = sampled[e];
    let a2 = dpp[e];
    var take = false;
    if (params.mix == 1u && a2 < c && a1 < c) {
        take = logp[e * c + a2] > logp[e * c + a1];
    }
    if (params.mix == 2u) {
        let b = philox4x32_10(philox_counter(e, 0u, params.step, STREAM_MADQN_EXPLORE, 0u), vec2<u32>(params.key0, params.key1));
        take = rng_uniform(b.x) < params.epsilon;
    }
    let w = select(0.0, 1.0, obs[e * params.obs_width] > 0.0);
    weight[e] = w;
    if (take) {
        action[e] = a2;
        from_dpp[e] = w;
    } else {
        action[e] = a1;
        from_dpp[e] = 0.0;
    }
}
