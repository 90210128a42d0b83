//! The autograd tape and the nn modules on every backend: XOR with an MLP, an ensemble of K
//! networks in one parameter set, gradient accumulation, no-grad tapes, and no host round trip
//! inside a training step (the backends' download counters).

use mecrl::autograd::{Param, Tape};
use mecrl::backend::{self, BackendKind};
use mecrl::nn::{Mlp, OptimConfig, Optimizer};
use mecrl::ops::act::Act;
use mecrl::tensor::Tensor;

mod common;
use common::backends;

#[test]
fn mlp_learns_xor_on_every_backend_without_round_trips() {
    for be in backends() {
        let x = Tensor::from_f32(&be, &[1, 4, 2], &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
        let t = Tensor::from_f32(&be, &[1, 4, 1], &[0.0, 1.0, 1.0, 0.0]).unwrap();
        let mlp = Mlp::new(&be, &[2, 8, 1], 1, Act::Tanh, Some(Act::Sigmoid), 3).unwrap();
        let mut opt = Optimizer::new(OptimConfig::adam(0.05), &mlp.params()).unwrap();
        let before = be.downloads();
        let mut last = None;
        for _ in 0..400 {
            let tape = Tape::new(&be);
            let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
            let loss = tape.mse(&y, &tape.constant(&t)).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.step().unwrap();
            last = Some(loss);
        }
        assert_eq!(be.downloads(), before, "{}: a training step downloads nothing", be.kind());
        let l = last.unwrap().value.to_vec().unwrap()[0];
        assert_eq!(be.downloads(), before + 1);
        assert!(l < 0.01, "{}: XOR loss {l}", be.kind());
        let tape = Tape::no_grad(&be);
        let y = mlp.forward(&tape, &tape.constant(&x)).unwrap().value.to_vec().unwrap();
        assert!(tape.is_empty(), "no_grad records nothing");
        assert!(y[0] < 0.2 && y[1] > 0.8 && y[2] > 0.8 && y[3] < 0.2, "{}: {y:?}", be.kind());
    }
}

#[test]
fn an_ensemble_learns_k_targets_in_one_parameter_set() {
    // K = 3 linear regressors y = a_k x + c_k, one grouped layer
    let be = backend::create(BackendKind::Cpu).unwrap();
    let (k, b) = (3usize, 16usize);
    let xs: Vec<f32> = (0..k * b).map(|i| (i % b) as f32 / b as f32 - 0.5).collect();
    let ts: Vec<f32> = (0..k * b).map(|i| (i / b + 1) as f32 * xs[i] + (i / b) as f32).collect();
    let x = Tensor::from_f32(&be, &[k, b, 1], &xs).unwrap();
    let t = Tensor::from_f32(&be, &[k, b, 1], &ts).unwrap();
    let mlp = Mlp::new(&be, &[1, 1], k, Act::Relu, None, 1).unwrap();
    let mut opt = Optimizer::new(OptimConfig::adam(0.05), &mlp.params()).unwrap();
    for _ in 0..600 {
        let tape = Tape::new(&be);
        let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
        let loss = tape.mse(&y, &tape.constant(&t)).unwrap();
        assert_eq!(tape.len(), 2, "one linear + the loss, for all K networks");
        opt.zero_grad().unwrap();
        tape.backward(&loss).unwrap();
        opt.step().unwrap();
    }
    let w = mlp.layers[0].0.value.to_vec().unwrap();
    let c = mlp.layers[0].1.value.to_vec().unwrap();
    for g in 0..k {
        assert!((w[g] - (g + 1) as f32).abs() < 0.05 && (c[g] - g as f32).abs() < 0.05, "net {g}: {} {}", w[g], c[g]);
    }
}

#[test]
fn gradients_accumulate_in_place_and_match_finite_differences() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let mlp = Mlp::new(&be, &[3, 5, 2], 2, Act::Tanh, None, 9).unwrap();
    let xv: Vec<f32> = (0..2 * 4 * 3).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
    let tv: Vec<f32> = (0..2 * 4 * 2).map(|i| ((i * 13 % 7) as f32 - 3.0) / 3.0).collect();
    let x = Tensor::from_f32(&be, &[2, 4, 3], &xv).unwrap();
    let t = Tensor::from_f32(&be, &[2, 4, 2], &tv).unwrap();
    let loss_of = |mlp: &Mlp| {
        let tape = Tape::no_grad(&be);
        let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
        tape.mse(&y, &tape.constant(&t)).unwrap().value.to_vec().unwrap()[0] as f64
    };
    let grad_once = || {
        let tape = Tape::new(&be);
        let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
        let loss = tape.mse(&y, &tape.constant(&t)).unwrap();
        tape.backward(&loss).unwrap();
    };
    grad_once();
    let w: &Param = &mlp.layers[0].0;
    let g1 = w.grad.to_vec().unwrap();
    grad_once();
    let g2 = w.grad.to_vec().unwrap();
    for (a, b) in g1.iter().zip(&g2) {
        assert!((b - 2.0 * a).abs() <= 1e-6 * a.abs().max(1e-3), "second backward adds: {a} → {b}");
    }
    // finite differences through the whole network (f32 forward: tolerance 1e-2 relative)
    let vals = w.value.to_vec().unwrap();
    for i in [0usize, 7, 16, 29] {
        let h = 1e-2f32;
        let mut v = vals.clone();
        v[i] += h;
        w.value.write(&v).unwrap();
        let lp = loss_of(&mlp);
        v[i] -= 2.0 * h;
        w.value.write(&v).unwrap();
        let lm = loss_of(&mlp);
        w.value.write(&vals).unwrap();
        let num = (lp - lm) / (2.0 * h as f64);
        assert!((g1[i] as f64 - num).abs() <= 1e-2 * num.abs().max(1e-2), "w[{i}]: tape {} vs numeric {num}", g1[i]);
    }
    w.zero_grad().unwrap();
    assert!(w.grad.to_vec().unwrap().iter().all(|&g| g == 0.0));
}

/// `backward_with(y, g)` with g = dL/dy of the MSE gives the gradients of `backward(mse)`.
#[test]
fn backward_with_a_given_gradient_matches_the_loss_it_stands_for() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let mlp = Mlp::new(&be, &[3, 5, 2], 2, Act::Tanh, None, 4).unwrap();
    let xv: Vec<f32> = (0..2 * 4 * 3).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
    let tv: Vec<f32> = (0..2 * 4 * 2).map(|i| ((i * 13 % 7) as f32 - 3.0) / 3.0).collect();
    let x = Tensor::from_f32(&be, &[2, 4, 3], &xv).unwrap();
    let t = Tensor::from_f32(&be, &[2, 4, 2], &tv).unwrap();
    let grads = |mlp: &Mlp| -> Vec<Vec<f32>> { mlp.params().iter().map(|p| p.grad.to_vec().unwrap()).collect() };
    let tape = Tape::new(&be);
    let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
    let loss = tape.mse(&y, &tape.constant(&t)).unwrap();
    tape.backward(&loss).unwrap();
    let want = grads(&mlp);
    mlp.params().iter().for_each(|p| p.zero_grad().unwrap());
    let tape = Tape::new(&be);
    let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
    let yv = y.value.to_vec().unwrap();
    let g: Vec<f32> = yv.iter().zip(&tv).map(|(a, b)| 2.0 * (a - b) / yv.len() as f32).collect();
    // typed errors: a gradient of another size, a value that needs no gradient
    let short = Tensor::from_f32(&be, &[3], &g[..3]).unwrap();
    assert!(matches!(tape.backward_with(&y, &short), Err(mecrl::Error::Shape { .. })));
    assert!(matches!(tape.backward_with(&tape.constant(&x), &x), Err(mecrl::Error::Config { .. })));
    tape.backward_with(&y, &Tensor::from_f32(&be, &[2, 4, 2], &g).unwrap()).unwrap();
    for (a, b) in grads(&mlp).iter().zip(&want) {
        for (u, v) in a.iter().zip(b) {
            assert!((u - v).abs() <= 1e-6 * v.abs().max(1e-3), "{u} vs {v}");
        }
    }
}

#[test]
fn misuse_is_a_typed_error() {
    let be = backend::create(BackendKind::Cpu).unwrap();
    let tape = Tape::new(&be);
    let x = tape.constant(&Tensor::zeros(&be, &[4, 3]).unwrap());
    let w = Param::new("w", Tensor::zeros(&be, &[2, 5]).unwrap()).unwrap();
    let e = tape.linear(&x, &tape.param(&w), None).unwrap_err().to_string();
    assert!(e.contains("linear"), "{e}");
    let x2 = tape.constant(&Tensor::zeros(&be, &[4, 3]).unwrap());
    let loss = tape.mse(&x, &x2).unwrap();
    assert!(tape.backward(&loss).unwrap_err().to_string().contains("does not depend"));
    assert!(Mlp::new(&be, &[3], 1, Act::Relu, None, 0).is_err());
    assert!(OptimConfig::Adam { lr: 0.1, beta1: 1.5, beta2: 0.9, eps: 1e-8, weight_decay: 0.0, decoupled: false }
        .validate()
        .unwrap_err()
        .to_string()
        .contains("optim.beta1"));
}

/// The policy and value ops learn on every backend: a masked-softmax policy trained by the PPO
/// surrogate plus an entropy bonus prefers the best allowed arm and never picks a masked one;
/// gradients are clipped to a global norm; nothing is downloaded inside a step.
#[test]
fn ppo_policy_learns_a_masked_bandit_on_every_backend() {
    for be in backends() {
        let kind = be.kind();
        // 4-armed bandit, 32 identical states; arm 3 pays most but is masked; arm 2 is the best allowed
        let (b, c) = (32usize, 4usize);
        let pay = Tensor::from_f32(&be, &[b, c], &[0.1f32, 0.4, 1.0, 5.0].repeat(b)).unwrap();
        let x = Tensor::from_f32(&be, &[1, b, 2], &vec![1.0; b * 2]).unwrap();
        let mask =
            Tensor::from_u32(&be, &[b, c], &(0..b * c).map(|i| (i % c != 3) as u32).collect::<Vec<_>>()).unwrap();
        let pi = Mlp::new(&be, &[2, 16, c], 1, Act::Tanh, None, 5).unwrap();
        let mut opt = Optimizer::new(OptimConfig::adam(0.02), &pi.params()).unwrap();
        let before = be.downloads();
        for step in 0..100u32 {
            // roll out without a tape (reward as the advantage: all payoffs are positive)
            let nt = Tape::no_grad(&be);
            let y = pi.forward(&nt, &nt.constant(&x)).unwrap();
            let lp_all = nt.log_softmax(&nt.reshape(&y, &[b, c]).unwrap(), Some(&mask)).unwrap();
            let actions = nt.sample(&lp_all, 77, step).unwrap();
            let lp_old = nt.gather(&lp_all, &actions).unwrap().value;
            let adv = nt.gather(&nt.constant(&pay), &actions).unwrap().value;
            // one PPO update
            let tape = Tape::new(&be);
            let y = pi.forward(&tape, &tape.constant(&x)).unwrap();
            let lp_all = tape.log_softmax(&tape.reshape(&y, &[b, c]).unwrap(), Some(&mask)).unwrap();
            let lp = tape.gather(&lp_all, &actions).unwrap();
            let surrogate = tape.ppo_clip(&lp, &lp_old, &adv, 0.2).unwrap();
            let entropy = tape.mean(&tape.entropy(&lp_all).unwrap()).unwrap();
            let loss = tape.add_scaled(&surrogate, 1.0, &entropy, -0.01).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.clip_grad_norm(10.0).unwrap();
            opt.step().unwrap();
        }
        assert_eq!(be.downloads(), before, "{kind}: PPO steps download nothing");
        let nt = Tape::no_grad(&be);
        let y = pi.forward(&nt, &nt.constant(&x)).unwrap();
        let p = nt.softmax(&nt.reshape(&y, &[b, c]).unwrap(), Some(&mask)).unwrap().value.to_vec().unwrap();
        assert_eq!(p[3], 0.0, "{kind}: the masked arm has probability 0");
        assert!(p[2] > 0.8, "{kind}: the best allowed arm: {:?}", &p[..4]);
    }
}

/// A dueling Q head regressed with the Huber loss, and CE / BCE classifiers, on every backend.
#[test]
fn dueling_huber_ce_and_bce_heads_learn_on_every_backend() {
    for be in backends() {
        let kind = be.kind();
        // 3 classes of 2-D points: class = argmax of (x, y, −x − y)
        let pts: Vec<[f32; 2]> = (0..24)
            .map(|i| {
                let a = i as f32 * 0.7;
                [a.cos() * (1.0 + (i % 3) as f32 * 0.3), a.sin() * (1.0 + (i % 3) as f32 * 0.3)]
            })
            .collect();
        let labels: Vec<u32> = pts
            .iter()
            .map(|p| {
                let s = [p[0], p[1], -p[0] - p[1]];
                (0..3).max_by(|&i, &j| s[i].total_cmp(&s[j])).unwrap() as u32
            })
            .collect();
        let x = Tensor::from_f32(&be, &[1, 24, 2], &pts.concat()).unwrap();
        let lab = Tensor::from_u32(&be, &[24], &labels).unwrap();
        let net = Mlp::new(&be, &[2, 16, 3], 1, Act::Tanh, None, 8).unwrap();
        let mut opt = Optimizer::new(OptimConfig::adam(0.05), &net.params()).unwrap();
        for _ in 0..150 {
            let tape = Tape::new(&be);
            let y = net.forward(&tape, &tape.constant(&x)).unwrap();
            let lp = tape.log_softmax(&tape.reshape(&y, &[24, 3]).unwrap(), None).unwrap();
            let loss = tape.cross_entropy(&lp, &lab).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.step().unwrap();
        }
        let nt = Tape::no_grad(&be);
        let y = net.forward(&nt, &nt.constant(&x)).unwrap().value.to_vec().unwrap();
        let right = (0..24)
            .filter(|&r| (0..3).max_by(|&i, &j| y[r * 3 + i].total_cmp(&y[r * 3 + j])).unwrap() as u32 == labels[r])
            .count();
        assert!(right >= 23, "{kind}: CE classifier {right}/24");
        // BCE: the sign of x0
        let t =
            Tensor::from_f32(&be, &[24], &pts.iter().map(|p| (p[0] > 0.0) as u32 as f32).collect::<Vec<_>>()).unwrap();
        let lin = Mlp::new(&be, &[2, 1], 1, Act::Relu, None, 2).unwrap();
        let mut opt = Optimizer::new(OptimConfig::adam(0.1), &lin.params()).unwrap();
        for _ in 0..150 {
            let tape = Tape::new(&be);
            let z = lin.forward(&tape, &tape.constant(&x)).unwrap();
            let loss = tape.bce_with_logits(&z, &t).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.step().unwrap();
        }
        let nt = Tape::no_grad(&be);
        let z = lin.forward(&nt, &nt.constant(&x)).unwrap().value.to_vec().unwrap();
        assert!(pts.iter().zip(&z).filter(|(p, z)| (p[0] > 0.0) == (**z > 0.0)).count() >= 23, "{kind}: BCE");
        // dueling: Q(s, ·) = V + A − mean A regressed onto fixed targets with Huber
        let head = mecrl::nn::DuelingHead::new(&be, 2, &[8], 3, 1, Act::Tanh, 3).unwrap();
        let q_target =
            Tensor::from_f32(&be, &[24, 3], &pts.iter().flat_map(|p| [p[0], p[1], 2.0]).collect::<Vec<_>>()).unwrap();
        let mut opt = Optimizer::new(OptimConfig::adam(0.03), &head.params()).unwrap();
        let mut last = f32::INFINITY;
        for k in 0..200 {
            let tape = Tape::new(&be);
            let q = head.forward(&tape, &tape.constant(&x)).unwrap();
            assert_eq!(q.shape(), &[24, 3]);
            let loss = tape.huber(&q, &q_target, 1.0).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.step().unwrap();
            if k == 199 {
                last = loss.value.to_vec().unwrap()[0];
            }
        }
        assert!(last < 0.01, "{kind}: dueling + Huber loss {last}");
    }
}

/// Checkpoints: a bit-exact round trip of parameters and optimizer state (training resumed from
/// a checkpoint continues bit for bit), atomic writes, and typed errors naming the tensor.
#[test]
fn checkpoints_round_trip_bit_exactly_and_refuse_mismatches() {
    use mecrl::nn::checkpoint::{load_training, save_training, Checkpoint};
    let be = backend::create(BackendKind::Cpu).unwrap();
    let dir = std::env::temp_dir().join(format!("mecrl-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x = Tensor::from_f32(&be, &[1, 4, 2], &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
    let t = Tensor::from_f32(&be, &[1, 4, 1], &[0.0, 1.0, 1.0, 0.0]).unwrap();
    let train = |mlp: &Mlp, opt: &mut Optimizer, steps: usize| {
        for _ in 0..steps {
            let tape = Tape::new(&be);
            let y = mlp.forward(&tape, &tape.constant(&x)).unwrap();
            let loss = tape.mse(&y, &tape.constant(&t)).unwrap();
            opt.zero_grad().unwrap();
            tape.backward(&loss).unwrap();
            opt.step().unwrap();
        }
    };
    let bits =
        |mlp: &Mlp| mlp.params().iter().flat_map(|p| p.value.to_vec().unwrap()).map(f32::to_bits).collect::<Vec<_>>();
    let a = Mlp::new(&be, &[2, 8, 1], 1, Act::Tanh, Some(Act::Sigmoid), 3).unwrap().with_prefix("policy");
    let mut oa = Optimizer::new(OptimConfig::adam(0.05), &a.params()).unwrap();
    train(&a, &mut oa, 5);
    let path = dir.join("a.safetensors");
    let cfg = serde_json::json!({"sizes": [2, 8, 1], "lr": 0.05});
    save_training(&path, &a.params(), Some(&oa), &cfg).unwrap();
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("partial")));
    train(&a, &mut oa, 5);
    // a fresh model with another seed, restored, continues identically
    let b = Mlp::new(&be, &[2, 8, 1], 1, Act::Tanh, Some(Act::Sigmoid), 99).unwrap().with_prefix("policy");
    let mut ob = Optimizer::new(OptimConfig::adam(0.05), &b.params()).unwrap();
    let got_cfg = load_training(&path, &b.params(), Some(&mut ob)).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&got_cfg).unwrap(), cfg);
    assert_eq!(ob.steps(), 5);
    train(&b, &mut ob, 5);
    assert_eq!(bits(&a), bits(&b), "resumed training is bit-identical");
    // the file is safetensors: header length, JSON header with dtype/shape/offsets, metadata
    let raw = std::fs::read(&path).unwrap();
    let hlen = u64::from_le_bytes(raw[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&raw[8..8 + hlen]).unwrap();
    assert_eq!(header["policy.layer0.weight"]["dtype"], "F32");
    assert_eq!(header["policy.layer0.weight"]["shape"], serde_json::json!([1, 2, 8]));
    assert_eq!(header["__metadata__"]["optimizer_steps"], "5");
    assert_eq!(hlen % 8, 0);
    // mismatches name the tensor
    let c = Mlp::new(&be, &[2, 9, 1], 1, Act::Tanh, None, 1).unwrap().with_prefix("policy");
    let e = load_training(&path, &c.params(), None).unwrap_err().to_string();
    assert!(e.contains("policy.layer0.weight") && e.contains("shape"), "{e}");
    let d = Mlp::new(&be, &[2, 8, 1], 1, Act::Tanh, None, 1).unwrap().with_prefix("value");
    let e = load_training(&path, &d.params(), None).unwrap_err().to_string();
    assert!(e.contains("value.layer0.weight") && e.contains("missing"), "{e}");
    let mut ck = Checkpoint::load(&path).unwrap();
    ck.tensors.get_mut("policy.layer0.bias").unwrap().dtype = mecrl::tensor::DType::U32;
    let p2 = dir.join("dtype.safetensors");
    ck.save(&p2).unwrap();
    let e = load_training(&p2, &a.params(), None).unwrap_err().to_string();
    assert!(e.contains("policy.layer0.bias") && e.contains("dtype"), "{e}");
    // truncated and garbage files are typed errors
    std::fs::write(dir.join("short.safetensors"), &raw[..raw.len() - 3]).unwrap();
    assert!(Checkpoint::load(&dir.join("short.safetensors")).unwrap_err().to_string().contains("data_offsets"));
    std::fs::write(dir.join("junk.safetensors"), b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk").unwrap();
    assert!(Checkpoint::load(&dir.join("junk.safetensors")).unwrap_err().to_string().contains("header length"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// 16-bit storage on every backend: half the bytes, values within the format's rounding, and the
/// same bits everywhere.
#[test]
fn half_storage_round_trips_on_every_backend() {
    use mecrl::ops::half::{HalfFormat, HalfTensor};
    let vals: Vec<f32> = (0..1001).map(|i| ((i as f32) * 0.37).sin() * 50.0).collect();
    let mut reference: Option<Vec<Vec<u32>>> = None;
    for be in backends() {
        let t = Tensor::from_f32(&be, &[7, 143], &vals).unwrap();
        let mut got = vec![];
        for (format, rel) in [(HalfFormat::F16, 1.0 / 2048.0), (HalfFormat::Bf16, 1.0 / 256.0)] {
            let h = HalfTensor::from_tensor(&t, format).unwrap();
            assert_eq!(h.bytes(), 4 * 501, "two values per word");
            let back = h.to_tensor().unwrap();
            assert_eq!(back.shape(), &[7, 143]);
            let v = back.to_vec().unwrap();
            for (a, b) in vals.iter().zip(&v) {
                assert!((a - b).abs() <= rel * a.abs() + 1e-6, "{} {format:?}: {a} → {b}", be.kind());
            }
            got.push(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
        match &reference {
            None => reference = Some(got.clone()),
            Some(r) => assert_eq!(r, &got, "{}: the same bits as the CPU", be.kind()),
        }
    }
}
