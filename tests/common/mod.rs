//! Helpers shared by the integration tests (each test crate uses a subset).
#![allow(dead_code)]

use std::sync::Arc;

use mecrl::backend::{self, Backend, BackendKind};
use mecrl::rng;

/// The CPU, then every other backend that starts here. With MECRL_REQUIRE_WGPU=1 /
/// MECRL_REQUIRE_CUDA_HOST=1 (set by tools/test.sh) a backend that cannot start is a failure.
pub fn backends() -> Vec<Arc<dyn Backend>> {
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

/// Standard normals in f64 from Philox (counter (i, tag, 0, stream), key (a, b)).
pub fn values(n: usize, tag: u32, stream: u32, key: [u32; 2]) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let w = rng::philox4x32_10([i as u32, tag, 0, stream], key);
            rng::normal2(w[0], w[1]).0 as f64
        })
        .collect()
}

/// ∂L/∂v by central differences (h = 1e-6), L = Σ_j c_j·f(v)_j (a fixed projection of the output).
pub fn numeric(v: &[f64], c: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let h = 1e-6;
    (0..v.len())
        .map(|i| {
            let (mut a, mut b) = (v.to_vec(), v.to_vec());
            a[i] += h;
            b[i] -= h;
            let (fa, fb) = (f(&a), f(&b));
            assert_eq!(fa.len(), c.len());
            fa.iter().zip(&fb).zip(c).map(|((x, y), c)| c * (x - y)).sum::<f64>() / (2.0 * h)
        })
        .collect()
}

/// Analytic against numeric gradients: relative error (to the largest entry) below 1e-6.
pub fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0f64, |a, &x| a.max(x.abs())).max(1e-3);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let rel = (g - w).abs() / scale;
        assert!(rel < 1e-6, "{what}[{i}]: analytic {g} vs numeric {w} (relative {rel:e})");
    }
}
