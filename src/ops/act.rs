//! Elementwise activations: ReLU, tanh, sigmoid. The backward reads the forward's output y:
//! ReLU' = \[y > 0\], tanh' = 1 − y², σ' = y·(1 − y); dx += dy·f'(y).
//!
//! tanh and σ are written with the portable `exp` (`crate::math::exp` and its WGSL/CUDA
//! mirrors) on the non-positive side only, so they never overflow and agree across backends:
//! tanh(x) = sign(x)·(1 − e)/(1 + e) with e = exp(−2|x|); σ(x) = 1/(1 + exp(−x)) for x ≥ 0,
//! e/(1 + e) with e = exp(x) otherwise.

use super::{team_chunk, team_parts, Real, TEAM_ELEMS};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::{Error, Result};

/// Which activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Act {
    /// max(x, 0).
    Relu = 0,
    /// tanh.
    Tanh = 1,
    /// the logistic sigmoid.
    Sigmoid = 2,
}

impl Act {
    fn from_u32(k: u32) -> Result<Self> {
        Ok(match k {
            0 => Act::Relu,
            1 => Act::Tanh,
            2 => Act::Sigmoid,
            other => return Err(Error::config("act.kind", other, "expected 0 (relu), 1 (tanh) or 2 (sigmoid)")),
        })
    }
}

/// Parameters of `act_fwd` / `act_bwd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ActParams {
    /// Elements.
    pub n: u32,
    /// [`Act`] as u32.
    pub kind: u32,
    /// `act_bwd`: 1 when dx is a new gradient buffer, written (dx = dy·f'(y)) rather than
    /// accumulated into, its old contents never read (the tape's first gradient of a value:
    /// no zeroing pass); 0 accumulates.
    pub fresh: u32,
    /// Padding.
    pub _pad1: u32,
}

/// f(x).
#[inline(always)]
pub fn apply<T: Real>(act: Act, x: T) -> T {
    match act {
        Act::Relu => {
            if x > T::ZERO {
                x
            } else {
                T::ZERO
            }
        }
        Act::Tanh => {
            let neg = x < T::ZERO;
            let a = if neg { -x } else { x };
            let e = (T::c(-2.0) * a).exp();
            let t = (T::ONE - e) / (T::ONE + e);
            if neg {
                -t
            } else {
                t
            }
        }
        Act::Sigmoid => {
            // e^x/(1 + e^x) for x < 0, 1/(1 + e^−x) otherwise: one exponential of −|x| (the
            // same value as either branch's), then a select, so the loop vectorizes
            let e = (-x.abs()).exp();
            let num = if x < T::ZERO { e } else { T::ONE };
            num / (T::ONE + e)
        }
    }
}

/// f'(x) from y = f(x).
#[inline(always)]
pub fn derivative<T: Real>(act: Act, y: T) -> T {
    match act {
        Act::Relu => {
            if y > T::ZERO {
                T::ONE
            } else {
                T::ZERO
            }
        }
        Act::Tanh => T::ONE - y * y,
        Act::Sigmoid => y * (T::ONE - y),
    }
}

/// y = f(x).
pub fn forward<T: Real>(act: Act, x: &[T], y: &mut [T]) {
    // one loop per activation, so each is compiled (and vectorized) without the match inside
    fn run<T: Real>(x: &[T], y: &mut [T], f: impl Fn(T) -> T + Sync) {
        let pass = |x: &[T], y: &mut [T]| y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x));
        if y.len() >= TEAM_ELEMS {
            let c = team_chunk(y.len());
            team_parts(x.chunks(c).zip(y.chunks_mut(c)).collect(), &|(x, y): (&[T], &mut [T])| pass(x, y));
        } else {
            pass(x, y);
        }
    }
    match act {
        Act::Relu => run(x, y, |v| apply(Act::Relu, v)),
        Act::Tanh => run(x, y, |v| apply(Act::Tanh, v)),
        Act::Sigmoid => run(x, y, |v| apply(Act::Sigmoid, v)),
    }
}

/// dx += dy·f'(y).
pub fn backward<T: Real>(act: Act, y: &[T], dy: &[T], dx: &mut [T]) {
    backward_into(act, y, dy, dx, false)
}

/// dx += dy·f'(y), or with `fresh` dx = dy·f'(y) (dx's old contents not read).
pub fn backward_into<T: Real>(act: Act, y: &[T], dy: &[T], dx: &mut [T], fresh: bool) {
    fn run<T: Real>(y: &[T], dy: &[T], dx: &mut [T], fresh: bool, d: impl Fn(T) -> T + Sync) {
        let pass = |y: &[T], dy: &[T], dx: &mut [T]| {
            let it = dx.iter_mut().zip(y.iter().zip(dy));
            if fresh {
                it.for_each(|(dx, (&y, &dy))| *dx = dy * d(y))
            } else {
                it.for_each(|(dx, (&y, &dy))| *dx = *dx + dy * d(y))
            }
        };
        if dx.len() >= TEAM_ELEMS {
            let c = team_chunk(dx.len());
            let parts: Vec<_> = y.chunks(c).zip(dy.chunks(c)).zip(dx.chunks_mut(c)).collect();
            team_parts(parts, &|((y, dy), dx): ((&[T], &[T]), &mut [T])| pass(y, dy, dx));
        } else {
            pass(y, dy, dx);
        }
    }
    match act {
        Act::Relu => run(y, dy, dx, fresh, |v| derivative(Act::Relu, v)),
        Act::Tanh => run(y, dy, dx, fresh, |v| derivative(Act::Tanh, v)),
        Act::Sigmoid => run(y, dy, dx, fresh, |v| derivative(Act::Sigmoid, v)),
    }
}

/// `act_fwd`: bufs x, y.
pub fn cpu_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ActParams = decode(params);
    let (n, act) = (p.n as usize, Act::from_u32(p.kind)?);
    need("act_fwd", "x", bufs[0].len(), n)?;
    need("act_fwd", "y", bufs[1].len(), n)?;
    let [x, y] = bufs else { unreachable!("the spec has 2 buffers") };
    forward(act, &f32s(x)[..n], &mut f32s_mut(y)[..n]);
    Ok(())
}

/// `act_bwd`: bufs y, dy, dx.
pub fn cpu_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ActParams = decode(params);
    let (n, act) = (p.n as usize, Act::from_u32(p.kind)?);
    for (k, name) in ["y", "dy", "dx"].into_iter().enumerate() {
        need("act_bwd", name, bufs[k].len(), n)?;
    }
    let [y, dy, dx] = bufs else { unreachable!("the spec has 3 buffers") };
    backward_into(act, &f32s(y)[..n], &f32s(dy)[..n], &mut f32s_mut(dx)[..n], p.fresh != 0);
    Ok(())
}

/// Sizes of `act_fwd`.
pub fn sizes_fwd(bytes: &[u8]) -> Vec<u64> {
    let p: ActParams = decode(bytes);
    vec![p.n as u64; 2]
}

/// Sizes of `act_bwd`.
pub fn sizes_bwd(bytes: &[u8]) -> Vec<u64> {
    let p: ActParams = decode(bytes);
    vec![p.n as u64; 3]
}

crate::kernel_params!(ActParams { n, kind, fresh, _pad1 });

crate::kernels! {
    stem "ops" / "act";
    /// nn: elementwise activation forward.
    ACT_FWD = act_fwd(ActParams; x: R F32, y: W F32)
        cpu cpu_fwd, sizes sizes_fwd;
    /// nn: elementwise activation backward.
    ACT_BWD = act_bwd(ActParams; y: R F32, dy: R F32, dx: W F32)
        cpu cpu_bwd, sizes sizes_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_gives_the_bits_of_the_two_branch_form() {
        // the form the GPU kernels write: e^x/(1 + e^x) for x < 0, else 1/(1 + e^−x)
        let two_branch = |x: f32| {
            if x < 0.0 {
                let e = crate::math::exp(x);
                e / (1.0 + e)
            } else {
                1.0 / (1.0 + crate::math::exp(-x))
            }
        };
        let mut xs = vec![0.0f32, -0.0, 1e-30, -1e-30, 87.5, -87.5, 100.0, -100.0];
        xs.extend((0..200_001).map(|i| (i as f32 - 100_000.0) * 1e-3));
        for x in xs {
            assert_eq!(apply(Act::Sigmoid, x).to_bits(), two_branch(x).to_bits(), "x = {x}");
        }
    }

    #[test]
    fn values_and_derivatives_by_hand() {
        assert_eq!(apply(Act::Relu, -2.0f64), 0.0);
        assert_eq!(apply(Act::Relu, 1.5f64), 1.5);
        // tanh(ln 2) = (4 − 1)/(4 + 1) = 0.6; σ(ln 3) = 3/4; σ(−ln 3) = 1/4
        let ln2 = 2f64.ln();
        assert!((apply(Act::Tanh, ln2) - 0.6).abs() < 1e-15);
        assert!((apply(Act::Tanh, -ln2) + 0.6).abs() < 1e-15);
        assert!((apply(Act::Sigmoid, 3f64.ln()) - 0.75).abs() < 1e-15);
        assert!((apply(Act::Sigmoid, -(3f64.ln())) - 0.25).abs() < 1e-15);
        assert_eq!(derivative(Act::Tanh, 0.6f64), 0.64);
        assert_eq!(derivative(Act::Sigmoid, 0.75f64), 0.1875);
        assert_eq!(derivative(Act::Relu, 0.0f64), 0.0);
        // f32 through the portable exp: close to std, and saturates without overflow
        assert!((apply(Act::Tanh, 0.5f32) - 0.5f32.tanh()).abs() < 1e-6);
        assert_eq!(apply(Act::Tanh, 100.0f32), 1.0);
        assert_eq!(apply(Act::Sigmoid, -200.0f32), crate::math::exp(-87.0) / (1.0 + crate::math::exp(-87.0)));
        let mut dx = [1.0f64, 1.0];
        backward(Act::Tanh, &[0.6, 0.0], &[2.0, 3.0], &mut dx);
        assert_eq!(dx, [1.0 + 2.0 * 0.64, 4.0]);
    }

    #[test]
    fn bad_kind_is_a_typed_error() {
        let p = ActParams { n: 1, kind: 9, ..Default::default() };
        let (mut x, mut y) = (vec![0u32], vec![0u32]);
        let e = cpu_fwd(bytemuck::bytes_of(&p), &mut [&mut x, &mut y]).unwrap_err().to_string();
        assert!(e.contains("act.kind") && e.contains('9'), "{e}");
    }
}
