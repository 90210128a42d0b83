//! Neural-network ops: each stem holds its `#[repr(C)]` params, the math generic over
//! [`Real`] (f32 for the kernels, f64 for the finite-difference gradient checks), the CPU kernel
//! functions and specs (`kernels!`), and the backward beside the forward. WGSL in `shaders/ops/`, CUDA
//! in `kernels/ops/`. The autograd layer ([`crate::autograd`]) launches them.
//!
//! Summation orders are part of each op's definition (every backend sums in the same order, so
//! lavapipe and the host shim reproduce the CPU bit for bit): a dot product over `i` runs
//! `i = 0, 1, …` from `0.0`; accumulation into an existing gradient adds the finished sum once.

pub mod act;
pub mod attention;
pub mod categorical;
pub mod dueling;
pub mod elementwise;
pub mod gemm;
pub mod glue;
pub mod half;
pub mod index;
pub mod layer_norm;
pub mod linear;
pub mod loss;
pub mod optim;
pub mod ppo;
pub mod rnn;
pub mod sac;
pub mod softmax;

use std::ops::{Add, Div, Mul, Neg, Sub};

pub(crate) use crate::backend::par::{team_chunk, team_parts, TEAM_ELEMS};

/// Elements below which a CPU elementwise or row-wise function stays on the calling thread:
/// such passes are memory-bound and take microseconds, less than waking rayon's workers.
pub(crate) const PAR_ELEMS: usize = 1 << 18;
/// The fewest elements per rayon task of those functions.
pub(crate) const PAR_MIN_LEN: usize = 1 << 15;

/// Rows per rayon task for a row-wise function over rows of `cols` elements.
pub(crate) fn par_rows(cols: usize) -> usize {
    (PAR_MIN_LEN / cols.max(1)).max(1)
}

/// The scalar of the generic op math: f32 (kernels) or f64 (gradient checks).
pub trait Real:
    Copy
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + std::fmt::Debug
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// From an f64 constant.
    fn c(x: f64) -> Self;
    /// e^x: the portable Cephes polynomial for f32 ([`crate::math::exp`]), std for f64.
    fn exp(self) -> Self;
    /// √x (IEEE).
    fn sqrt(self) -> Self;
    /// ln x (x > 0): the portable Cephes polynomial for f32 ([`crate::math::ln`]), std for f64.
    fn ln(self) -> Self;
    /// ln(1 + x) (x ≥ 0 here): [`crate::math::ln1p`] for f32, std for f64.
    fn ln1p(self) -> Self;
    /// |x|.
    #[inline(always)]
    fn abs(self) -> Self {
        if self < Self::ZERO {
            -self
        } else {
            self
        }
    }
    /// max (x if the comparison fails: NaN propagates from `self`).
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        if o > self {
            o
        } else {
            self
        }
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn c(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn exp(self) -> Self {
        crate::math::exp(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        crate::math::ln(self)
    }
    #[inline(always)]
    fn ln1p(self) -> Self {
        crate::math::ln1p(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn c(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn ln1p(self) -> Self {
        f64::ln_1p(self)
    }
}
