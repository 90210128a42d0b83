// rng_fill: Philox blocks and distributions into a buffer (src/rng.rs `rng_fill_element`).

struct RngFillParams {
    key0: u32,
    key1: u32,
    c0: u32,
    c1: u32,
    c2: u32,
    c3: u32,
    dist: u32,
    n: u32,
    p0: f32,
    p1: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: RngFillParams;

//!entry rng_fill
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

//!main e
    if (e >= params.n) {
        return;
    }
    let key = vec2<u32>(params.key0, params.key1);
    let ctr = vec4<u32>(params.c0 + e, params.c1, params.c2, params.c3);
    switch (params.dist) {
        case 0u: {
            let w = philox4x32_10(ctr, key);
            out[4u * e] = w.x;
            out[4u * e + 1u] = w.y;
            out[4u * e + 2u] = w.z;
            out[4u * e + 3u] = w.w;
        }
        case 1u: {
            out[e] = bitcast<u32>(rng_uniform(philox4x32_10(ctr, key).x));
        }
        case 2u: {
            let w = philox4x32_10(ctr, key);
            let z = rng_normal2(w.x, w.y);
            out[2u * e] = bitcast<u32>(z.x);
            out[2u * e + 1u] = bitcast<u32>(z.y);
        }
        case 3u: {
            out[e] = bitcast<u32>(rng_exponential(philox4x32_10(ctr, key).x));
        }
        case 4u: {
            out[e] = rng_poisson(key, ctr, params.p0);
        }
        default: {
            let w = philox4x32_10(ctr, key);
            let z = rng_normal2(w.x, w.y);
            out[e] = bitcast<u32>(rng_levy_step(z.x, z.y, params.p0, params.p1));
        }
    }
}
