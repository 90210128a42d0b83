//! The attention op on the tape and the MRLCO seq2seq policy: the tape's attention against the
//! op's f64 math; the Seq2Seq learns a rule that needs the attention (emit the input sequence
//! reversed) on every backend with no host round trip inside a training step; a decoded
//! rollout and the teacher-forced pass agree; padding steps do not change the outputs of real
//! ones; typed errors for bad shapes and configs.

use std::sync::Arc;

use mecrl::autograd::{Param, Tape};
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::nn::{Decode, OptimConfig, Optimizer, Seq2Seq, Seq2SeqConfig};
use mecrl::ops::attention::{self, AttentionParams};
use mecrl::rng;
use mecrl::tensor::Tensor;
use mecrl::Error;

mod common;
use common::backends;

fn cpu() -> Arc<dyn Backend> {
    backend::create(BackendKind::Cpu).unwrap()
}

/// Standard normals from Philox (stream 0x5E), `tag` a tensor.
fn normals(n: usize, tag: u32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let w = rng::philox4x32_10([i as u32, tag, 0, 0x5E], [3, 4]);
            rng::normal2(w[0], w[1]).0 * scale
        })
        .collect()
}

#[test]
fn tape_attention_matches_the_op_math_with_a_mask() {
    // K = 2, B = 3, T = 4, A = 5, H = 3 with a shared mask; the tape's forward and the
    // gradients of L = Σ c_w·α + Σ c_c·c against the f64 reference within f32 rounding
    let be = cpu();
    let (k, b, t, a, h) = (2usize, 3usize, 4usize, 5usize, 3usize);
    let mask = [1u32, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0];
    let p = AttentionParams { k: 2, b: 3, t: 4, a: 5, h: 3, masked: 1, ..Default::default() };
    let data: Vec<Vec<f32>> = [k * b * a, k * t * b * a, k * a, k * t * b * h]
        .iter()
        .enumerate()
        .map(|(i, &n)| normals(n, i as u32, 1.0))
        .collect();
    let shapes: [&[usize]; 4] = [&[k, b, a], &[k, t, b, a], &[k, a], &[k, t, b, h]];
    let params: Vec<Param> = data
        .iter()
        .zip(shapes)
        .enumerate()
        .map(|(i, (d, s))| Param::new(format!("p{i}"), Tensor::from_f32(&be, s, d).unwrap()).unwrap())
        .collect();
    let tape = Tape::new(&be);
    let vars: Vec<_> = params.iter().map(|p| tape.param(p)).collect();
    let m = Tensor::from_u32(&be, &[t, b], &mask).unwrap();
    let (ctx, w) = tape.attention(&vars[0], &vars[1], &vars[2], &vars[3], Some(&m)).unwrap();
    assert_eq!((ctx.shape(), w.shape()), (&[k, b, h][..], &[k, b, t][..]));
    // L = Σ c_w·α + Σ c_c·c, each sum a linear layer of one output over the flattened tensor
    let cw = normals(k * b * t, 10, 1.0);
    let cc = normals(k * b * h, 11, 1.0);
    let probe = |v: &mecrl::autograd::Var, c: &[f32]| {
        let n = c.len();
        let wv = Tensor::from_f32(&be, &[n, 1], c).unwrap();
        tape.linear(&tape.reshape(v, &[1, n]).unwrap(), &tape.constant(&wv), None).unwrap()
    };
    let loss = tape.add_scaled(&probe(&w, &cw), 1.0, &probe(&ctx, &cc), 1.0).unwrap();
    let loss = tape.reshape(&loss, &[1]).unwrap();
    tape.backward(&loss).unwrap();
    let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let (q, keys, v, e) = (f64s(&data[0]), f64s(&data[1]), f64s(&data[2]), f64s(&data[3]));
    let (w64, c64) = attention::forward(&p, &q, &keys, &v, &e, &mask);
    let close = |what: &str, got: &[f32], want: &[f64]| {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((*g as f64 - w).abs() < 1e-5 * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
        }
    };
    close("weights", &w.value.to_vec().unwrap(), &w64);
    close("context", &ctx.value.to_vec().unwrap(), &c64);
    let mut g: Vec<Vec<f64>> = data.iter().map(|d| vec![0.0; d.len()]).collect();
    let [dq, dk, dv, de] = &mut g[..] else { unreachable!() };
    attention::backward(&p, &q, &keys, &v, &e, &w64, &f64s(&cw), &f64s(&cc), (dq, dk, dv, de));
    for (i, p) in params.iter().enumerate() {
        close(&format!("grad {i}"), &p.grad.to_vec().unwrap(), &g[i]);
    }
}

/// Random bit sequences as task features [T, B, 2] = (±1, step / T) and the targets: the bits
/// reversed (action j = bit T − 1 − j).
fn reverse_task(t: usize, b: usize, tag: u32) -> (Vec<f32>, Vec<u32>) {
    let bit = |s: usize, i: usize| rng::philox4x32_10([(s * b + i) as u32, tag, 0, 0x5F], [1, 2])[0] & 1;
    let mut x = vec![0.0f32; t * b * 2];
    let mut y = vec![0u32; t * b];
    for s in 0..t {
        for i in 0..b {
            x[(s * b + i) * 2] = if bit(s, i) == 1 { 1.0 } else { -1.0 };
            x[(s * b + i) * 2 + 1] = s as f32 / t as f32;
            y[s * b + i] = bit(t - 1 - s, i);
        }
    }
    (x, y)
}

fn small(seed: u64) -> Seq2SeqConfig {
    Seq2SeqConfig { hidden: 16, attention: 16, seed, ..Seq2SeqConfig::mrlco(2) }
}

#[test]
fn seq2seq_learns_to_reverse_on_every_backend_without_round_trips() {
    // T = 8 steps (256 possible sequences), 4 training batches of B = 32 in turn; the policy
    // must emit the input bits reversed, which it can only read through the attention or the
    // encoder's state (chance: 1/2 per step); the value head regresses the target bit
    let (t, b, batches) = (8usize, 32usize, 4u32);
    let train: Vec<_> = (0..batches).map(|i| reverse_task(t, b, 10 + i)).collect();
    let (xh, yh) = reverse_task(t, b, 99);
    for be in backends() {
        let kind = be.kind();
        let net = Seq2Seq::new(&be, small(7)).unwrap();
        let mut opt = Optimizer::new(OptimConfig::adam(0.01), &net.params()).unwrap();
        let data: Vec<_> = train
            .iter()
            .map(|(xs, ys)| {
                let yv: Vec<f32> = ys.iter().map(|&v| v as f32).collect();
                (
                    Tensor::from_f32(&be, &[t, b, 2], xs).unwrap(),
                    Tensor::from_u32(&be, &[t, b], ys).unwrap(),
                    Tensor::from_f32(&be, &[t, b], &yv).unwrap(),
                )
            })
            .collect();
        let before = be.downloads();
        let mut losses = vec![];
        for i in 0..200 {
            let (x, y, yv) = &data[i % data.len()];
            let tape = Tape::new(&be);
            // teacher forcing with the targets as the previous actions
            let out = net.forward(&tape, &tape.constant(x), y, None).unwrap();
            let logp = tape.log_softmax(&tape.reshape(&out.logits, &[t * b, 2]).unwrap(), None).unwrap();
            let ce = tape.cross_entropy(&logp, &y.reshape(&[t * b]).unwrap()).unwrap();
            let mse = tape.mse(&out.values, &tape.constant(yv)).unwrap();
            let loss = tape.add_scaled(&ce, 1.0, &mse, 0.5).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.step().unwrap();
            losses.push(ce.value);
        }
        assert_eq!(be.downloads(), before, "{kind}: a training step downloads nothing");
        // Adam at lr 0.01 spikes now and then (one batch's loss at the last step ranged 0.02–0.29
        // over backends and rounding orders): the median of the last 20 steps
        let l0 = losses[0].to_vec().unwrap()[0];
        let mut tail: Vec<f32> = losses[180..].iter().map(|v| v.to_vec().unwrap()[0]).collect();
        tail.sort_by(f32::total_cmp);
        let l = tail[tail.len() / 2];
        // held-out sequences, greedy decoding without a tape record
        let tape = Tape::no_grad(&be);
        let x = Tensor::from_f32(&be, &[t, b, 2], &xh).unwrap();
        let r = net.decode(&tape, &tape.constant(&x), None, Decode::Greedy).unwrap();
        assert!(tape.is_empty(), "no_grad records nothing");
        let a = r.actions.to_u32().unwrap();
        let right = a.iter().zip(&yh).filter(|(a, y)| a == y).count();
        let acc = right as f64 / (t * b) as f64;
        eprintln!("{kind}: reverse cross-entropy {l0} → {l} (median of the last 20), held-out greedy accuracy {acc}");
        assert!(l0 > 0.6 && l < 0.1, "{kind}: cross-entropy {l0} → {l}");
        assert!(acc > 0.9, "{kind}: held-out accuracy {acc} (chance 0.5)");
    }
}

#[test]
fn a_decoded_rollout_and_the_teacher_forced_pass_agree_on_every_backend() {
    // K = 2 members, 2 layers, T = 5, B = 3; sampled actions fed back (decode) against the
    // same actions given (forward): the same log-probabilities and values, bit for bit
    let (k, t, b, f) = (2usize, 5usize, 3usize, 3usize);
    let xs = normals(k * t * b * f, 20, 1.0);
    for be in backends() {
        let cfg = Seq2SeqConfig { features: f, k, ..small(3) };
        let net = Seq2Seq::new(&be, cfg).unwrap();
        let x = Tensor::from_f32(&be, &[k, t, b, f], &xs).unwrap();
        let tape = Tape::no_grad(&be);
        let r = net.decode(&tape, &tape.constant(&x), None, Decode::Sample { seed: 5, step: 100 }).unwrap();
        assert_eq!(r.actions.shape(), &[k, t, b]);
        let a = r.actions.to_u32().unwrap();
        assert!(a.iter().all(|&a| a < 2) && a.contains(&0) && a.contains(&1), "{}: {a:?}", be.kind());
        let out = net.forward(&tape, &tape.constant(&x), &r.actions, None).unwrap();
        assert_eq!((out.logits.shape(), out.values.shape()), (&[k, t, b, 2][..], &[k, t, b][..]));
        let logp = tape.log_softmax(&tape.reshape(&out.logits, &[k * t * b, 2]).unwrap(), None).unwrap();
        let lp = tape.gather(&logp, &r.actions.reshape(&[k * t * b]).unwrap()).unwrap();
        assert_eq!(lp.value.to_vec().unwrap(), r.logp.to_vec().unwrap(), "{}: log-probabilities", be.kind());
        assert_eq!(out.values.value.to_vec().unwrap(), r.values.to_vec().unwrap(), "{}: values", be.kind());
        // greedy picks the larger of two probabilities at every step: log π ≥ ln ½
        let g = net.decode(&tape, &tape.constant(&x), None, Decode::Greedy).unwrap();
        assert!(g.logp.to_vec().unwrap().iter().all(|&l| l >= -(2f32.ln())), "{}", be.kind());
    }
}

#[test]
fn padding_after_a_sequence_changes_nothing_at_its_real_steps() {
    // B = 2: sequence 1 has 3 real steps of T = 5; with the decoder started from zeros and the
    // mask on the attention, the padding's contents do not reach steps 0..3
    let be = cpu();
    let (t, b, f) = (5usize, 2usize, 3usize);
    let cfg = Seq2SeqConfig { features: f, decoder_from_encoder: false, ..small(4) };
    let net = Seq2Seq::new(&be, cfg).unwrap();
    let mask: Vec<u32> = (0..t * b).map(|i| (i % b == 0 || i / b < 3) as u32).collect();
    let m = Tensor::from_u32(&be, &[t, b], &mask).unwrap();
    let acts = Tensor::from_u32(&be, &[t, b], &[0, 1, 1, 0, 1, 1, 0, 0, 1, 1]).unwrap();
    let run = |xs: &[f32]| {
        let tape = Tape::no_grad(&be);
        let x = Tensor::from_f32(&be, &[t, b, f], xs).unwrap();
        let out = net.forward(&tape, &tape.constant(&x), &acts, Some(&m)).unwrap();
        (out.logits.value.to_vec().unwrap(), out.values.value.to_vec().unwrap())
    };
    let xs = normals(t * b * f, 21, 1.0);
    let mut other = xs.clone();
    for s in 3..t {
        for j in 0..f {
            other[(s * b + 1) * f + j] = 7.0 + j as f32; // new padding in sequence 1
        }
    }
    let ((l1, v1), (l2, v2)) = (run(&xs), run(&other));
    for s in 0..3 {
        let i = s * b + 1;
        assert_eq!((&l1[2 * i..2 * i + 2], v1[i]), (&l2[2 * i..2 * i + 2], v2[i]), "step {s}");
    }
    // sequence 0 has no padding and is untouched; without the mask the padding would leak
    assert_eq!(&l1[..2], &l2[..2]);
    let tape = Tape::no_grad(&be);
    let x = Tensor::from_f32(&be, &[t, b, f], &other).unwrap();
    let un = net.forward(&tape, &tape.constant(&x), &acts, None).unwrap().logits.value.to_vec().unwrap();
    assert_ne!(&un[2..4], &l1[2..4], "the unmasked attention reads the padding");
}

#[test]
fn bad_shapes_and_configs_are_typed_errors() {
    let be = cpu();
    let shape_err = |e: Error| assert!(matches!(e, Error::Shape { .. }), "{e}");
    let tape = Tape::new(&be);
    let v = |s: &[usize]| tape.constant(&Tensor::zeros(&be, s).unwrap());
    // attention: keys of another B, v of another A, values of another T, a mask of another shape
    shape_err(tape.attention(&v(&[2, 3]), &v(&[4, 2, 3]), &v(&[3]), &v(&[4, 3, 5]), None).unwrap_err());
    shape_err(tape.attention(&v(&[3, 5]), &v(&[4, 3, 5]), &v(&[4]), &v(&[4, 3, 2]), None).unwrap_err());
    shape_err(tape.attention(&v(&[1, 3, 5]), &v(&[1, 4, 3, 5]), &v(&[1, 5]), &v(&[1, 2, 3, 2]), None).unwrap_err());
    let m = Tensor::from_u32(&be, &[3, 4], &[1; 12]).unwrap();
    shape_err(tape.attention(&v(&[3, 5]), &v(&[4, 3, 5]), &v(&[5]), &v(&[4, 3, 2]), Some(&m)).unwrap_err());
    let mf = Tensor::zeros(&be, &[4, 3]).unwrap();
    assert!(tape.attention(&v(&[3, 5]), &v(&[4, 3, 5]), &v(&[5]), &v(&[4, 3, 2]), Some(&mf)).is_err());
    // Seq2Seq: zero sizes, NaN ε; inputs of another width; actions of another shape or type
    for bad in [
        Seq2SeqConfig { hidden: 0, ..small(1) },
        Seq2SeqConfig { actions: 0, ..small(1) },
        Seq2SeqConfig { ln_eps: f32::NAN, ..small(1) },
    ] {
        assert!(matches!(Seq2Seq::new(&be, bad).map(|_| ()).unwrap_err(), Error::Config { .. }));
    }
    let net = Seq2Seq::new(&be, small(1)).unwrap();
    let acts = Tensor::from_u32(&be, &[4, 3], &[0; 12]).unwrap();
    shape_err(net.forward(&tape, &v(&[4, 3, 5]), &acts, None).map(|_| ()).unwrap_err());
    shape_err(
        net.forward(&tape, &v(&[4, 3, 2]), &Tensor::from_u32(&be, &[3, 4], &[0; 12]).unwrap(), None)
            .map(|_| ())
            .unwrap_err(),
    );
    assert!(net.forward(&tape, &v(&[4, 3, 2]), &Tensor::zeros(&be, &[4, 3]).unwrap(), None).is_err());
    assert!(net.forward(&tape, &v(&[4, 3, 2]), &acts, None).is_ok());
}

#[test]
fn attention_beyond_the_loop_budget_is_a_typed_error_where_the_driver_has_one() {
    // B·T = 70,000 steps summed by one invocation of the v gradient: beyond lavapipe's 65,535
    for be in backends() {
        let tape = Tape::new(&be);
        let v = |s: &[usize]| tape.constant(&Tensor::zeros(&be, s).unwrap());
        let r = tape.attention(&v(&[7000, 1]), &v(&[10, 7000, 1]), &v(&[1]), &v(&[10, 7000, 1]), None);
        match be.max_loop_iterations() {
            Some(_) => assert!(matches!(r, Err(Error::Config { .. })), "{}", be.kind()),
            None => assert!(r.is_ok(), "{}", be.kind()),
        }
    }
}

#[test]
fn an_ensemble_computes_what_its_members_compute() {
    // K = 2 networks in one parameter set, each with its own inputs, actions and mask [K, T, B],
    // against each member alone (K = 1, mask [T, B]): bit-identical logits and values; every
    // parameter has its own checkpoint name
    let be = cpu();
    let (k, t, b, f) = (2usize, 4usize, 3usize, 3usize);
    let cfg = Seq2SeqConfig { features: f, k, ..small(9) };
    let net = Seq2Seq::new(&be, cfg.clone()).unwrap();
    let names: std::collections::BTreeSet<_> = net.params().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names.len(), net.params().len(), "{names:?}");
    let xs = normals(k * t * b * f, 30, 1.0);
    let acts: Vec<u32> = (0..k * t * b).map(|i| (i * 7 % 3 == 0) as u32).collect();
    let mask: Vec<u32> = (0..k * t * b).map(|i| (i % 5 != 3) as u32).collect();
    let tape = Tape::no_grad(&be);
    let x = Tensor::from_f32(&be, &[k, t, b, f], &xs).unwrap();
    let a = Tensor::from_u32(&be, &[k, t, b], &acts).unwrap();
    let m = Tensor::from_u32(&be, &[k, t, b], &mask).unwrap();
    let out = net.forward(&tape, &tape.constant(&x), &a, Some(&m)).unwrap();
    let (logits, values) = (out.logits.value.to_vec().unwrap(), out.values.value.to_vec().unwrap());
    for g in 0..k {
        let single = Seq2Seq::new(&be, Seq2SeqConfig { k: 1, ..cfg.clone() }).unwrap();
        for (ps, pk) in single.params().iter().zip(net.params()) {
            let v = pk.value.to_vec().unwrap();
            let n = v.len() / k;
            ps.value.write(&v[g * n..(g + 1) * n]).unwrap();
        }
        let n = t * b;
        let xg = Tensor::from_f32(&be, &[t, b, f], &xs[g * n * f..(g + 1) * n * f]).unwrap();
        let ag = Tensor::from_u32(&be, &[t, b], &acts[g * n..(g + 1) * n]).unwrap();
        let mg = Tensor::from_u32(&be, &[t, b], &mask[g * n..(g + 1) * n]).unwrap();
        let o = single.forward(&tape, &tape.constant(&xg), &ag, Some(&mg)).unwrap();
        assert_eq!(o.logits.shape(), &[t, b, 2]);
        assert_eq!(o.logits.value.to_vec().unwrap(), &logits[g * n * 2..(g + 1) * n * 2], "member {g} logits");
        assert_eq!(o.values.value.to_vec().unwrap(), &values[g * n..(g + 1) * n], "member {g} values");
    }
}
