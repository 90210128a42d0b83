//! The recurrent modules on the tape: an LSTM learns to copy a sequence on every backend with no
//! host round trip inside a training step (the backends' download counters); the ensemble
//! layout (K networks in one parameter set compute what K separate networks compute); the
//! history encoder reads exactly the last rows; gradients through whole modules against finite
//! differences; both modules against the torch equations computed on the host; the orthogonal
//! initializer; typed errors for bad shapes and for sizes beyond lavapipe's loop budget.

use std::sync::Arc;

use mecrl::autograd::{Param, Tape, Var};
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::nn::init;
use mecrl::nn::{Gru, Lstm, LstmOverHistory, Mlp, OptimConfig, Optimizer};
use mecrl::ops::act::Act;
use mecrl::rng;
use mecrl::tensor::Tensor;
use mecrl::Error;

mod common;
use common::backends;

fn cpu() -> Arc<dyn Backend> {
    backend::create(BackendKind::Cpu).unwrap()
}

/// Standard normals from Philox (stream 0x7E), `tag` a tensor.
fn normals(n: usize, tag: u32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let w = rng::philox4x32_10([i as u32, tag, 0, 0x7E], [9, 10]);
            rng::normal2(w[0], w[1]).0 * scale
        })
        .collect()
}

/// Random ±1 sequences [T, B, 1] and the targets y_t = x_{t − lag} (0 for t < lag).
fn copy_task(t: usize, b: usize, lag: usize, tag: u32) -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..t * b)
        .map(|i| if rng::philox4x32_10([i as u32, tag, 0, 0x7F], [1, 1])[0] & 1 == 0 { -1.0 } else { 1.0 })
        .collect();
    let y = (0..t * b).map(|i| if i / b >= lag { x[i - lag * b] } else { 0.0 }).collect();
    (x, y)
}

/// The LSTM's outputs at every step through a linear head: [1, T·B, 1].
fn copy_model(tape: &Tape, lstm: &Lstm, head: &Mlp, x: &Tensor, t: usize, b: usize) -> Var {
    let out = lstm.forward(tape, &tape.constant(x), None).unwrap();
    let seq = tape.reshape(&out.seq, &[1, t * b, lstm.hidden]).unwrap();
    head.forward(tape, &seq).unwrap()
}

#[test]
fn lstm_learns_to_copy_a_sequence_on_every_backend_without_round_trips() {
    // reproduce the input 2 steps later: T = 8, B = 16 random ±1 sequences, H = 8
    let (t, b, lag) = (8usize, 16usize, 2usize);
    let (xs, ys) = copy_task(t, b, lag, 1);
    let (xt, yt) = copy_task(t, b, lag, 2);
    for be in backends() {
        let x = Tensor::from_f32(&be, &[t, b, 1], &xs).unwrap();
        let y = Tensor::from_f32(&be, &[1, t * b, 1], &ys).unwrap();
        let lstm = Lstm::new(&be, 1, 8, 1, 1, 5).unwrap();
        let head = Mlp::new(&be, &[8, 1], 1, Act::Tanh, None, 6).unwrap();
        let mut params = lstm.params();
        params.extend(head.params());
        let mut opt = Optimizer::new(OptimConfig::adam(0.03), &params).unwrap();
        let before = be.downloads();
        let mut first = None;
        let mut last = None;
        for _ in 0..300 {
            let tape = Tape::new(&be);
            let pred = copy_model(&tape, &lstm, &head, &x, t, b);
            let loss = tape.mse(&pred, &tape.constant(&y)).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.step().unwrap();
            first.get_or_insert(loss.value.clone());
            last = Some(loss);
        }
        assert_eq!(be.downloads(), before, "{}: a training step downloads nothing", be.kind());
        let l0 = first.unwrap().to_vec().unwrap()[0];
        let l = last.unwrap().value.to_vec().unwrap()[0];
        eprintln!("{}: copy loss {l0} → {l}", be.kind());
        assert!(l0 > 0.5 && l < 0.02, "{}: copy loss {l0} → {l}", be.kind());
        // fresh sequences, no tape: the sign of every output at t >= lag is the input's
        let tape = Tape::no_grad(&be);
        let x = Tensor::from_f32(&be, &[t, b, 1], &xt).unwrap();
        let pred = copy_model(&tape, &lstm, &head, &x, t, b).value.to_vec().unwrap();
        assert!(tape.is_empty(), "no_grad records nothing");
        let wrong = (lag * b..t * b).filter(|&i| pred[i] * yt[i] <= 0.5).count();
        assert_eq!(wrong, 0, "{}: {wrong} of {} held-out outputs off", be.kind(), (t - lag) * b);
    }
}

#[test]
fn gru_learns_to_copy_a_sequence() {
    let be = cpu();
    let (t, b, lag) = (8usize, 16usize, 2usize);
    let (xs, ys) = copy_task(t, b, lag, 3);
    let x = Tensor::from_f32(&be, &[t, b, 1], &xs).unwrap();
    let y = Tensor::from_f32(&be, &[1, t * b, 1], &ys).unwrap();
    let gru = Gru::new(&be, 1, 8, 1, 1, 7).unwrap();
    let head = Mlp::new(&be, &[8, 1], 1, Act::Tanh, None, 8).unwrap();
    let mut params = gru.params();
    params.extend(head.params());
    let mut opt = Optimizer::new(OptimConfig::adam(0.03), &params).unwrap();
    let mut l = f32::NAN;
    for _ in 0..300 {
        let tape = Tape::new(&be);
        let out = gru.forward(&tape, &tape.constant(&x), None).unwrap();
        let pred = head.forward(&tape, &tape.reshape(&out.seq, &[1, t * b, 8]).unwrap()).unwrap();
        let loss = tape.mse(&pred, &tape.constant(&y)).unwrap();
        opt.zero_grad().unwrap();
        tape.backward(&loss).unwrap();
        opt.step().unwrap();
        l = loss.value.to_vec().unwrap()[0];
    }
    assert!(l < 0.02, "GRU copy loss {l}");
}

/// Copy network `g` of a K-network tensor [K, ..] into a K = 1 tensor.
fn member(be: &Arc<dyn Backend>, p: &Param, g: usize, k: usize) -> Param {
    let v = p.value.to_vec().unwrap();
    let n = v.len() / k;
    let mut shape = p.value.shape().to_vec();
    shape[0] = 1;
    Param::new(p.name.clone(), Tensor::from_f32(be, &shape, &v[g * n..(g + 1) * n]).unwrap()).unwrap()
}

#[test]
fn an_ensemble_computes_what_its_members_compute() {
    // K = 3 two-layer LSTMs in one parameter set against each member run alone: bit-identical
    // outputs and final states, and gradients
    let be = cpu();
    let (k, t, b, i, h) = (3usize, 4usize, 2usize, 3usize, 5usize);
    let lstm = Lstm::new(&be, i, h, 2, k, 11).unwrap();
    let xs = normals(k * t * b * i, 1, 1.0);
    let x = Tensor::from_f32(&be, &[k, t, b, i], &xs).unwrap();
    let tape = Tape::new(&be);
    let out = lstm.forward(&tape, &tape.constant(&x), None).unwrap();
    assert_eq!(out.seq.shape(), &[k, t, b, h]);
    assert_eq!(out.state[1].1.shape(), &[k, b, h]);
    let seq = out.seq.value.to_vec().unwrap();
    let c1 = out.state[1].1.value.to_vec().unwrap();
    let loss = tape.mse(&out.seq, &tape.constant(&Tensor::zeros(&be, &[k, t, b, h]).unwrap())).unwrap();
    tape.backward(&loss).unwrap();
    let gw = lstm.layers[0].w_h.grad.to_vec().unwrap();
    for g in 0..k {
        let one = Lstm {
            layers: lstm
                .layers
                .iter()
                .map(|l| mecrl::nn::rnn::LstmLayer {
                    w_x: member(&be, &l.w_x, g, k),
                    w_h: member(&be, &l.w_h, g, k),
                    bias: member(&be, &l.bias, g, k),
                })
                .collect(),
            k: 1,
            input: i,
            hidden: h,
        };
        let n = t * b * i;
        let xg = Tensor::from_f32(&be, &[t, b, i], &xs[g * n..(g + 1) * n]).unwrap();
        let tape = Tape::new(&be);
        let o = one.forward(&tape, &tape.constant(&xg), None).unwrap();
        assert_eq!(o.seq.shape(), &[t, b, h]);
        assert_eq!(o.state[1].1.shape(), &[b, h]);
        let m = t * b * h;
        assert_eq!(o.seq.value.to_vec().unwrap(), &seq[g * m..(g + 1) * m], "member {g}: outputs");
        assert_eq!(o.state[1].1.value.to_vec().unwrap(), &c1[g * b * h..(g + 1) * b * h], "member {g}: c");
        // the ensemble's loss averages over K·T·B·H elements, the member's over T·B·H (the two
        // scales 2/n round differently: 1e-5)
        let zeros = Tensor::zeros(&be, &[t, b, h]).unwrap();
        let loss = tape.mse(&o.seq, &tape.constant(&zeros)).unwrap();
        tape.backward(&loss).unwrap();
        let w = h * 4 * h;
        for (a, e) in one.layers[0].w_h.grad.to_vec().unwrap().iter().zip(&gw[g * w..(g + 1) * w]) {
            assert!((a / k as f32 - e).abs() <= 1e-5 * e.abs().max(1e-6), "member {g}: {a}/{k} vs {e}");
        }
    }
}

#[test]
fn the_history_encoder_reads_exactly_the_last_rows() {
    // history [B = 3, L = 6, F = 2], window 4: the encoder equals the LSTM over rows 2..6 and
    // ignores rows 0 and 1
    let be = cpu();
    let (b, l, f, w, h) = (3usize, 6usize, 2usize, 4usize, 5usize);
    let enc = LstmOverHistory::new(&be, f, h, 2, w, 1, 21).unwrap();
    let hist = normals(b * l * f, 2, 1.0);
    let run = |hv: &[f32]| {
        let tape = Tape::no_grad(&be);
        let t = Tensor::from_f32(&be, &[b, l, f], hv).unwrap();
        enc.forward(&tape, &tape.constant(&t)).unwrap()
    };
    let out = run(&hist);
    assert_eq!(out.shape(), &[b, h]);
    let got = out.value.to_vec().unwrap();
    let mut seq = vec![0.0f32; w * b * f];
    for s in 0..w {
        for bb in 0..b {
            for ff in 0..f {
                seq[(s * b + bb) * f + ff] = hist[(bb * l + l - w + s) * f + ff];
            }
        }
    }
    let tape = Tape::no_grad(&be);
    let x = Tensor::from_f32(&be, &[w, b, f], &seq).unwrap();
    let want = enc.lstm.forward(&tape, &tape.constant(&x), None).unwrap().state[1].0.value.to_vec().unwrap();
    assert_eq!(got, want);
    let mut older = hist.clone();
    for bb in 0..b {
        older[bb * l * f..(bb * l + l - w) * f].fill(9.0);
    }
    assert_eq!(run(&older).value.to_vec().unwrap(), got, "rows before the window are not read");
    let mut newer = hist.clone();
    newer[(l - 1) * f] += 1.0;
    assert_ne!(run(&newer).value.to_vec().unwrap(), got, "the last row is read");
}

/// Finite differences (f32 forward, h = 1e-2) of `loss_of` against the tape gradient of `p`.
fn check_param(what: &str, p: &Param, grad: &[f32], loss_of: &dyn Fn() -> f64, idx: &[usize]) {
    let vals = p.value.to_vec().unwrap();
    for &i in idx {
        let hh = 1e-2f32;
        let mut v = vals.clone();
        v[i] += hh;
        p.value.write(&v).unwrap();
        let lp = loss_of();
        v[i] -= 2.0 * hh;
        p.value.write(&v).unwrap();
        let lm = loss_of();
        p.value.write(&vals).unwrap();
        let num = (lp - lm) / (2.0 * hh as f64);
        assert!(
            (grad[i] as f64 - num).abs() <= 1e-2 * num.abs().max(1e-2),
            "{what}[{i}]: tape {} vs numeric {num}",
            grad[i]
        );
    }
}

#[test]
fn module_gradients_match_finite_differences() {
    // a K = 2 two-layer LSTM from a given state, then layer norm with per-network gains, and a
    // K = 2 GRU from a given state: every parameter's gradient through the whole tape
    let be = cpu();
    let (k, t, b, i, h) = (2usize, 3usize, 2usize, 3usize, 4usize);
    let lstm = Lstm::new(&be, i, h, 2, k, 31).unwrap();
    let gru = Gru::new(&be, i, h, 1, k, 32).unwrap();
    let gain = Param::new("gain", Tensor::from_f32(&be, &[k, h], &normals(k * h, 3, 1.0)).unwrap()).unwrap();
    let bias = Param::new("bias", Tensor::from_f32(&be, &[k, h], &normals(k * h, 4, 1.0)).unwrap()).unwrap();
    let x = Tensor::from_f32(&be, &[k, t, b, i], &normals(k * t * b * i, 5, 1.0)).unwrap();
    let st: Vec<Tensor> =
        (0..5).map(|s| Tensor::from_f32(&be, &[k, b, h], &normals(k * b * h, 6 + s, 0.5)).unwrap()).collect();
    let target = Tensor::from_f32(&be, &[k, t, b, h], &normals(k * t * b * h, 12, 1.0)).unwrap();
    let loss_on = |tape: &Tape| {
        let state = [(tape.constant(&st[0]), tape.constant(&st[1])), (tape.constant(&st[2]), tape.constant(&st[3]))];
        let o = lstm.forward(tape, &tape.constant(&x), Some(&state)).unwrap();
        let y = tape.layer_norm(&o.seq, &tape.param(&gain), &tape.param(&bias), 1e-5).unwrap();
        let g = gru.forward(tape, &tape.constant(&x), Some(&[tape.constant(&st[4])])).unwrap();
        let l1 = tape.mse(&tape.add_scaled(&y, 1.0, &g.seq, 1.0).unwrap(), &tape.constant(&target)).unwrap();
        // the final cell state also carries a gradient
        let l2 = tape.mse(&o.state[1].1, &tape.constant(&st[4])).unwrap();
        tape.add_scaled(&l1, 1.0, &l2, 1.0).unwrap()
    };
    let tape = Tape::new(&be);
    let loss = loss_on(&tape);
    tape.backward(&loss).unwrap();
    let loss_of = || {
        let tape = Tape::no_grad(&be);
        loss_on(&tape).value.to_vec().unwrap()[0] as f64
    };
    let mut params = lstm.params();
    params.extend(gru.params());
    params.extend([gain.clone(), bias.clone()]);
    for p in &params {
        let g = p.grad.to_vec().unwrap();
        assert!(g.iter().any(|&v| v != 0.0), "{}: no gradient reached it", p.name);
        let n = g.len();
        check_param(&p.name, p, &g, &loss_of, &[0, n / 3, n / 2 + 1, n - 1]);
    }
}

#[test]
fn the_orthogonal_initializer_is_orthogonal_and_seeded() {
    for (r, c) in [(6usize, 6usize), (3, 7), (7, 3)] {
        let w = init::orthogonal(5, 1, r, c, 2.0);
        assert_eq!(w.len(), r * c);
        // rows ≤ cols: W·Wᵀ = gain²·I; else Wᵀ·W = gain²·I
        let (m, dot): (usize, Box<dyn Fn(usize, usize) -> f32>) = if r <= c {
            (r, Box::new(|a, b| (0..c).map(|l| w[a * c + l] * w[b * c + l]).sum()))
        } else {
            (c, Box::new(|a, b| (0..r).map(|l| w[l * c + a] * w[l * c + b]).sum()))
        };
        for a in 0..m {
            for b in 0..m {
                let want = if a == b { 4.0 } else { 0.0 };
                assert!((dot(a, b) - want).abs() < 1e-5, "{r}x{c}: ({a}, {b}) = {}", dot(a, b));
            }
        }
        assert_eq!(w, init::orthogonal(5, 1, r, c, 2.0), "a function of (seed, tag)");
        assert_ne!(w, init::orthogonal(5, 2, r, c, 2.0));
        assert_ne!(w, init::orthogonal(6, 1, r, c, 2.0));
    }
    assert!(init::orthogonal(1, 1, 0, 4, 1.0).is_empty());
}

#[test]
fn bad_shapes_are_typed_errors() {
    let be = cpu();
    let tape = Tape::new(&be);
    let v = |s: &[usize]| tape.constant(&Tensor::zeros(&be, s).unwrap());
    let shape_err = |e: Error| assert!(matches!(e, Error::Shape { .. }), "{e}");
    shape_err(tape.lstm_cell(&v(&[2, 3, 12]), &v(&[2, 3, 4])).map(|_| ()).unwrap_err());
    shape_err(tape.lstm_cell(&v(&[2, 15]), &v(&[2, 4])).map(|_| ()).unwrap_err());
    shape_err(tape.lstm_cell(&v(&[3, 16]), &v(&[2, 4])).map(|_| ()).unwrap_err());
    shape_err(tape.gru_cell(&v(&[2, 12]), &v(&[2, 9]), &v(&[2, 4])).unwrap_err());
    // u32 indices are not values
    let idx = tape.constant(&Tensor::zeros_u32(&be, &[2, 16]).unwrap());
    shape_err(tape.lstm_cell(&idx, &v(&[2, 4])).map(|_| ()).unwrap_err());
    shape_err(tape.history_window(&tape.constant(&Tensor::zeros_u32(&be, &[2, 3, 4]).unwrap()), 2).unwrap_err());
    shape_err(tape.layer_norm(&v(&[2, 5]), &v(&[4]), &v(&[4]), 1e-5).unwrap_err());
    shape_err(tape.layer_norm(&v(&[3, 2, 5]), &v(&[2, 5]), &v(&[2, 5]), 1e-5).unwrap_err());
    assert!(matches!(tape.layer_norm(&v(&[2, 5]), &v(&[5]), &v(&[5]), f32::NAN).unwrap_err(), Error::Config { .. }));
    shape_err(tape.time_step(&v(&[4, 2, 3]), 4).unwrap_err());
    shape_err(tape.time_step(&v(&[4, 2]), 0).unwrap_err());
    shape_err(tape.stack_steps(&[v(&[2, 3]), v(&[3, 2])]).unwrap_err());
    shape_err(tape.stack_steps(&[]).unwrap_err());
    shape_err(tape.history_window(&v(&[2, 3, 4]), 4).unwrap_err());
    shape_err(tape.history_window(&v(&[2, 3, 4]), 0).unwrap_err());
    let lstm = Lstm::new(&be, 3, 4, 1, 2, 1).unwrap();
    shape_err(lstm.forward(&tape, &v(&[5, 2, 3]), None).map(|_| ()).unwrap_err());
    shape_err(lstm.forward(&tape, &v(&[2, 5, 2, 4]), None).map(|_| ()).unwrap_err());
    let bad_state = [(v(&[2, 2, 5]), v(&[2, 2, 4]))];
    shape_err(lstm.forward(&tape, &v(&[2, 5, 2, 3]), Some(&bad_state)).map(|_| ()).unwrap_err());
    let gru = Gru::new(&be, 3, 4, 2, 1, 1).unwrap();
    shape_err(gru.forward(&tape, &v(&[5, 2, 3]), Some(&[v(&[2, 4])])).map(|_| ()).unwrap_err());
    let enc = LstmOverHistory::new(&be, 3, 4, 1, 5, 1, 1).unwrap();
    shape_err(enc.forward(&tape, &v(&[2, 4, 3])).unwrap_err());
    assert!(matches!(Lstm::new(&be, 0, 4, 1, 1, 1).map(|_| ()).unwrap_err(), Error::Config { .. }));
    assert!(matches!(LstmOverHistory::new(&be, 3, 4, 1, 0, 1, 1).map(|_| ()).unwrap_err(), Error::Config { .. }));
}

#[test]
fn sizes_beyond_the_loop_budget_are_refused() {
    // lavapipe stops a shader's loops after 65,535 iterations: layer norm over D = 30,000 (3
    // passes) and an LSTM over 40,000 rows are refused there with a typed error; elsewhere they run
    for be in backends() {
        let tape = Tape::no_grad(&be);
        let x = tape.constant(&Tensor::zeros(&be, &[1, 30_000]).unwrap());
        let g = tape.constant(&Tensor::zeros(&be, &[30_000]).unwrap());
        let bias = tape.constant(&Tensor::zeros(&be, &[30_000]).unwrap());
        let r = tape.layer_norm(&x, &g, &bias, 1e-5);
        // an LSTM over T·B = 40,000 rows: the input projection's weight gradient loops 80,000 times
        let lstm = Lstm::new(&be, 1, 2, 1, 1, 1).unwrap();
        let seq = tape.constant(&Tensor::zeros(&be, &[2, 20_000, 1]).unwrap());
        let l = lstm.forward(&tape, &seq, None).map(|_| ());
        match be.max_loop_iterations() {
            Some(limit) if limit < 80_000 => {
                assert!(matches!(r, Err(Error::Config { .. })), "{}", be.kind());
                assert!(matches!(l, Err(Error::Config { .. })), "{}", be.kind());
            }
            _ => {
                assert!(r.is_ok(), "{}: {:?}", be.kind(), r.err());
                assert!(l.is_ok(), "{}: {:?}", be.kind(), l.err());
            }
        }
    }
}

/// x·W + b for one row: x [I], w [I, O] row-major, b [O].
fn affine(x: &[f64], w: &[f32], b: Option<&[f32]>, o: usize) -> Vec<f64> {
    (0..o)
        .map(|j| {
            x.iter().enumerate().map(|(i, &v)| v * w[i * o + j] as f64).sum::<f64>() + b.map_or(0.0, |b| b[j] as f64)
        })
        .collect()
}

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn lstm_and_gru_compute_the_torch_equations() {
    // a 2-layer LSTM and a 2-layer GRU from random states against the torch equations in f64
    // on the host (std exp/tanh): every output and final state within 1e-5
    let be = cpu();
    let (t, b, i, h) = (4usize, 3usize, 2usize, 5usize);
    let xs = normals(t * b * i, 40, 1.0);
    let x = Tensor::from_f32(&be, &[t, b, i], &xs).unwrap();
    let st: Vec<Vec<f32>> = (0..4).map(|s| normals(b * h, 41 + s, 0.5)).collect();
    let close = |what: &str, got: &[f32], want: &[f64]| {
        assert_eq!(got.len(), want.len());
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((*g as f64 - w).abs() < 1e-5, "{what}[{k}]: {g} vs {w}");
        }
    };
    let tape = Tape::no_grad(&be);
    let c = |v: &Vec<f32>| tape.constant(&Tensor::from_f32(&be, &[b, h], v).unwrap());

    let lstm = Lstm::new(&be, i, h, 2, 1, 51).unwrap();
    let out = lstm.forward(&tape, &tape.constant(&x), Some(&[(c(&st[0]), c(&st[1])), (c(&st[2]), c(&st[3]))])).unwrap();
    let mut seq: Vec<Vec<f64>> =
        (0..t * b).map(|r| xs[r * i..(r + 1) * i].iter().map(|&v| v as f64).collect()).collect();
    for (l, layer) in lstm.layers.iter().enumerate() {
        let (wx, wh, bias) =
            (layer.w_x.value.to_vec().unwrap(), layer.w_h.value.to_vec().unwrap(), layer.bias.value.to_vec().unwrap());
        let mut hs: Vec<Vec<f64>> =
            (0..b).map(|r| st[2 * l][r * h..(r + 1) * h].iter().map(|&v| v as f64).collect()).collect();
        let mut cs: Vec<Vec<f64>> =
            (0..b).map(|r| st[2 * l + 1][r * h..(r + 1) * h].iter().map(|&v| v as f64).collect()).collect();
        for s in 0..t {
            for r in 0..b {
                let zx = affine(&seq[s * b + r], &wx, Some(&bias), 4 * h);
                let zh = affine(&hs[r], &wh, None, 4 * h);
                for j in 0..h {
                    let z = |q: usize| zx[q * h + j] + zh[q * h + j];
                    // c' = σ(z_f) c + σ(z_i) tanh(z_g); h' = σ(z_o) tanh(c')
                    cs[r][j] = sig(z(1)) * cs[r][j] + sig(z(0)) * z(2).tanh();
                    hs[r][j] = sig(z(3)) * cs[r][j].tanh();
                }
                seq[s * b + r] = hs[r].clone();
            }
        }
        let got_c = out.state[l].1.value.to_vec().unwrap();
        close(&format!("lstm c{l}"), &got_c, &cs.concat());
        close(&format!("lstm h{l}"), &out.state[l].0.value.to_vec().unwrap(), &hs.concat());
    }
    close("lstm outputs", &out.seq.value.to_vec().unwrap(), &seq.concat());

    let gru = Gru::new(&be, i, h, 2, 1, 52).unwrap();
    let out = gru.forward(&tape, &tape.constant(&x), Some(&[c(&st[0]), c(&st[1])])).unwrap();
    let mut seq: Vec<Vec<f64>> =
        (0..t * b).map(|r| xs[r * i..(r + 1) * i].iter().map(|&v| v as f64).collect()).collect();
    for (l, layer) in gru.layers.iter().enumerate() {
        let v = |p: &Param| p.value.to_vec().unwrap();
        let (wx, bx, wh, bh) = (v(&layer.w_x), v(&layer.b_x), v(&layer.w_h), v(&layer.b_h));
        let mut hs: Vec<Vec<f64>> =
            (0..b).map(|r| st[l][r * h..(r + 1) * h].iter().map(|&v| v as f64).collect()).collect();
        for s in 0..t {
            for r in 0..b {
                let gx = affine(&seq[s * b + r], &wx, Some(&bx), 3 * h);
                let gh = affine(&hs[r], &wh, Some(&bh), 3 * h);
                for j in 0..h {
                    // r, z = σ(gx + gh); n = tanh(gx_n + r (W_hn h + b_hn)); h' = (1 − z) n + z h
                    let rr = sig(gx[j] + gh[j]);
                    let zz = sig(gx[h + j] + gh[h + j]);
                    let nn = (gx[2 * h + j] + rr * gh[2 * h + j]).tanh();
                    hs[r][j] = (1.0 - zz) * nn + zz * hs[r][j];
                }
                seq[s * b + r] = hs[r].clone();
            }
        }
        close(&format!("gru h{l}"), &out.state[l].value.to_vec().unwrap(), &hs.concat());
    }
    close("gru outputs", &out.seq.value.to_vec().unwrap(), &seq.concat());
}

/// Σ_t mean(y_t²) of steps y_t = x_t·W (+ b), x_{t+1} = tanh(y_t)[.., :I] chained through
/// the steps (so the input gradients matter), with the plain `linear` per step or the shared
/// weight (`shared_linear` + `linear_step`); the gradients of W, b and x_0.
fn chained_steps(be: &Arc<dyn Backend>, shared: bool, bias: bool, batches: &[usize]) -> [Vec<f32>; 3] {
    let (k, i) = (2usize, 3usize);
    let w = Param::new("w", Tensor::from_f32(be, &[k, i, i], &normals(k * i * i, 31, 0.7)).unwrap()).unwrap();
    let b = Param::new("b", Tensor::from_f32(be, &[k, i], &normals(k * i, 32, 0.3)).unwrap()).unwrap();
    let x0 =
        Param::new("x0", Tensor::from_f32(be, &[k, batches[0], i], &normals(k * batches[0] * i, 33, 1.0)).unwrap())
            .unwrap();
    let tape = Tape::new(be);
    let (wv, bv) = (tape.param(&w), tape.param(&b));
    let sl = tape.shared_linear(&wv, bias.then_some(&bv)).unwrap();
    let mut x = tape.param(&x0);
    let mut loss: Option<Var> = None;
    for (t, &rows) in batches.iter().enumerate() {
        if t > 0 && rows != x.shape()[1] {
            // a step of another batch size: fresh inputs from the tape's parameter
            let extra = Tensor::from_f32(be, &[k, rows, i], &normals(k * rows * i, 40 + t as u32, 1.0)).unwrap();
            x = tape.constant(&extra);
        }
        let y = if shared {
            tape.linear_step(&sl, &x).unwrap()
        } else {
            tape.linear(&x, &wv, bias.then_some(&bv)).unwrap()
        };
        let zeros = Tensor::zeros(be, y.shape()).unwrap();
        let l = tape.mse(&y, &tape.constant(&zeros)).unwrap();
        loss = Some(match loss {
            Some(acc) => tape.add_scaled(&acc, 1.0, &l, 1.0).unwrap(),
            None => l,
        });
        x = tape.act(&y, Act::Tanh).unwrap();
    }
    tape.backward(&loss.unwrap()).unwrap();
    [w.grad.to_vec().unwrap(), b.grad.to_vec().unwrap(), x0.grad.to_vec().unwrap()]
}

#[test]
fn a_shared_weight_gets_the_gradient_of_every_step() {
    // the shared weight's gradient is one product over the stacked steps (another order of
    // the same sum): within 1e-5 of the per-step products, on every backend; the bias's too;
    // the input gradients (the same kernels either way) bit for bit
    for be in backends() {
        for bias in [false, true] {
            for batches in [&[4usize, 4, 4, 4, 4][..], &[4, 4, 2, 2]] {
                let plain = chained_steps(&be, false, bias, batches);
                let shared = chained_steps(&be, true, bias, batches);
                let what = format!("{} bias {bias} batches {batches:?}", be.kind());
                assert_eq!(shared[2], plain[2], "{what}: dx0");
                for (name, (a, e)) in ["dW", "db"].iter().zip(shared.iter().zip(&plain)) {
                    assert_eq!(a.len(), e.len());
                    for (x, y) in a.iter().zip(e) {
                        assert!((x - y).abs() <= 1e-5 * y.abs().max(1e-3), "{what}: {name} {x} vs {y}");
                    }
                }
                assert!(shared[0].iter().any(|v| *v != 0.0), "{what}: some weight gradient");
                if !bias {
                    assert!(shared[1].iter().all(|v| *v == 0.0), "{what}: no bias, no bias gradient");
                }
            }
        }
    }
}

/// Recurrent PPO's chunked pass: restarting each chunk from the states the unchunked pass
/// reached gives the same outputs bit for bit (two layers, K = 2), and with one chunk the
/// gradients are the unchunked ones; a chunk sees no gradient from the steps before it.
#[test]
fn gru_chunked_training_equals_unchunked() {
    let be = cpu();
    let (t, b, i, h, k, chunk) = (6, 3, 4, 5, 2, 2);
    let gru = Gru::new(&be, i, h, 2, k, 31).unwrap();
    let x = Tensor::from_f32(&be, &[k, t, b, i], &normals(k * t * b * i, 71, 1.0)).unwrap();
    let outputs = |tape: &Tape, chunked: bool| -> Var {
        if !chunked {
            return gru.forward(tape, &tape.constant(&x), None).unwrap().seq;
        }
        // the states at steps 0, 2, 4 from a no-grad unchunked pass over the prefixes
        let mut starts = vec![];
        for c in 0..t / chunk {
            let layers = if c == 0 {
                (0..2).map(|_| tape.constant(&Tensor::zeros(&be, &[k, b, h]).unwrap())).collect()
            } else {
                let nt = Tape::no_grad(&be);
                let v: Vec<f32> = x.to_vec().unwrap();
                let per = t * b * i;
                let steps = c * chunk;
                let mut prefix = vec![];
                for g in 0..k {
                    prefix.extend_from_slice(&v[g * per..g * per + steps * b * i]);
                }
                let xp = Tensor::from_f32(&be, &[k, steps, b, i], &prefix).unwrap();
                let out = gru.forward(&nt, &nt.constant(&xp), None).unwrap();
                out.state.iter().map(|s| tape.constant(&s.value)).collect()
            };
            starts.push(layers);
        }
        gru.forward_chunked(tape, &tape.constant(&x), chunk, &starts).unwrap().seq
    };
    let a = outputs(&Tape::no_grad(&be), false).value.to_vec().unwrap();
    let c = outputs(&Tape::no_grad(&be), true).value.to_vec().unwrap();
    assert_eq!(a, c, "chunked outputs differ");
    // one chunk covering the sequence: the same gradients as the unchunked pass
    let grads = |one_chunk: bool| -> Vec<Vec<f32>> {
        for p in gru.params() {
            p.zero_grad().unwrap();
        }
        let tape = Tape::new(&be);
        let out = if one_chunk {
            let z = vec![(0..2).map(|_| tape.constant(&Tensor::zeros(&be, &[k, b, h]).unwrap())).collect()];
            gru.forward_chunked(&tape, &tape.constant(&x), t, &z).unwrap().seq
        } else {
            gru.forward(&tape, &tape.constant(&x), None).unwrap().seq
        };
        let loss = tape.mean(&out).unwrap();
        tape.backward(&loss).unwrap();
        gru.params().iter().map(|p| p.grad.to_vec().unwrap()).collect()
    };
    assert_eq!(grads(true), grads(false));
    // bad chunking is a typed error
    let tape = Tape::no_grad(&be);
    assert!(matches!(gru.forward_chunked(&tape, &tape.constant(&x), chunk, &[]), Err(Error::Shape { .. })));
}
