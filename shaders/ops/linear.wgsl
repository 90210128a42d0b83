// Grouped linear layer (src/ops/linear.rs): x [K, B, I], w [K, I, O], bias [K, O], y [K, B, O].
// One thread per output element; every sum runs over its index from 0 in order, as the CPU.

struct LinearParams {
    k: u32,
    b: u32,
    i: u32,
    o: u32,
    has_bias: u32,
    fresh: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: LinearParams;

//!entry linear_fwd
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// t = (g B + b) O + o: y = (Σ_i x[g,b,i] w[g,i,o]) + bias[g,o].
//!main t
    let o = params.o;
    let ni = params.i;
    if (t >= params.k * params.b * o) {
        return;
    }
    let row = t / o;
    let oo = t % o;
    let g = row / params.b;
    var s = 0.0;
    for (var i = 0u; i < ni; i = i + 1u) {
        s = pm_mad(x[row * ni + i], w[(g * ni + i) * o + oo], s);
    }
    if (params.has_bias != 0u) {
        s = pm_keep(s + bias[g * o + oo]);
    }
    y[t] = s;
}

//!entry linear_bwd_x
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// t = (g B + b) I + i: dx += Σ_o dy[g,b,o] w[g,i,o].
//!main t
    let o = params.o;
    let ni = params.i;
    if (t >= params.k * params.b * ni) {
        return;
    }
    let row = t / ni;
    let ii = t % ni;
    let g = row / params.b;
    var s = 0.0;
    for (var oo = 0u; oo < o; oo = oo + 1u) {
        s = pm_mad(dy[row * o + oo], w[(g * ni + ii) * o + oo], s);
    }
    if (params.fresh != 0u) {
        dx[t] = s;
    } else {
        dx[t] = pm_keep(dx[t] + s);
    }
}

//!entry linear_bwd_w
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

// t = (g I + i) O + o: dw += Σ_b x[g,b,i] dy[g,b,o]; the threads of i = 0 also db += Σ_b dy.
//!main t
    let o = params.o;
    let ni = params.i;
    let nb = params.b;
    if (t >= params.k * ni * o) {
        return;
    }
    let oo = t % o;
    let ii = (t / o) % ni;
    let g = t / (o * ni);
    var s = 0.0;
    for (var b = 0u; b < nb; b = b + 1u) {
        s = pm_mad(x[(g * nb + b) * ni + ii], dy[(g * nb + b) * o + oo], s);
    }
    dw[t] = pm_keep(dw[t] + s);
    if (ii == 0u && params.has_bias != 0u) {
        var sb = 0.0;
        for (var b = 0u; b < nb; b = b + 1u) {
            sb = pm_keep(sb + dy[(g * nb + b) * o + oo]);
        }
        db[g * o + oo] = pm_keep(db[g * o + oo] + sb);
    }
}
