//! The autograd tape and the nn modules on every backend: XOR with an MLP, an ensemble of K
//! networks in one parameter set, gradient accumulation, no-grad tapes, and no host round trip
//! inside a training step (the backends' download counters).

use std::sync::Arc;

use mecrl::autograd::{Param, Tape};
use mecrl::backend::{self, Backend, BackendKind};
use mecrl::nn::{Mlp, OptimConfig, Optimizer};
use mecrl::ops::act::Act;
use mecrl::tensor::Tensor;

fn backends() -> Vec<Arc<dyn Backend>> {
    let mut out = vec![backend::create(BackendKind::Cpu).unwrap()];
    for (kind, var) in [(BackendKind::Wgpu, "MECRL_REQUIRE_WGPU"), (BackendKind::CudaHost, "MECRL_REQUIRE_CUDA_HOST")] {
        match backend::create(kind) {
            Ok(b) => out.push(b),
            Err(e) => assert!(std::env::var(var).as_deref() != Ok("1"), "{kind} required: {e}"),
        }
    }
    if let Ok(b) = backend::create(BackendKind::Cuda) {
        out.push(b);
    }
    out
}

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
