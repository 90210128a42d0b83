//! Tape ops of policies and value heads: (masked) softmax / log-softmax, gather, entropy,
//! categorical sampling, dueling combine, linear combinations and means.

use super::{Tape, Var};
use crate::error::{Error, Result};
use crate::ops::categorical::CategoricalParams;
use crate::ops::categorical::{CATEGORICAL_ARGMAX, CATEGORICAL_SAMPLE, ENTROPY_BWD, ENTROPY_FWD};
use crate::ops::dueling::{DUELING_BWD, DUELING_FWD};
use crate::ops::elementwise::AxpbyParams;
use crate::ops::elementwise::{AXPBY, MEAN_BWD, MEAN_FWD, SCALE_ACC};
use crate::ops::index::IndexParams;
use crate::ops::index::{GATHER, SCATTER_ADD};
use crate::ops::softmax::SoftmaxParams;
use crate::ops::softmax::{SOFTMAX_BWD, SOFTMAX_FWD};
use crate::rng;
use crate::tensor::{DType, Tensor};

/// (rows, cols) of a tensor seen as rows over its last dimension.
fn rows_cols(t: &Tensor, op: &str) -> Result<(usize, usize)> {
    match t.shape().last() {
        Some(&c) if c > 0 => Ok((t.numel() / c, c)),
        _ => Err(Error::shape(op, "a non-empty last dimension", format!("{:?}", t.shape()))),
    }
}

impl Tape {
    fn softmax_impl(&self, x: &Var, mask: Option<&Tensor>, log: bool) -> Result<Var> {
        let op = if log { "log_softmax" } else { "softmax" };
        x.value.expect(DType::F32, op)?;
        let (r, c) = rows_cols(&x.value, op)?;
        if let Some(m) = mask {
            m.expect(DType::U32, "softmax mask")?;
            if m.shape() != x.shape() {
                return Err(Error::shape("softmax mask", format!("{:?}", x.shape()), format!("{:?}", m.shape())));
            }
        }
        let p = SoftmaxParams { rows: r as u32, cols: c as u32, log: log as u32, masked: mask.is_some() as u32 };
        let m = match mask {
            Some(m) => m.clone(),
            None => self.dummy()?,
        };
        let y = x.value.zeros_like()?;
        self.be.launch(&SOFTMAX_FWD, bytemuck::bytes_of(&p), r as u32, &[x.value.buffer(), m.buffer(), y.buffer()])?;
        let (yv, be, xs) = (y.clone(), self.be.clone(), x.slot);
        Ok(self.record(y, &[x], move |g, dy| {
            if let Some(s) = xs {
                let dx = g.acc(&be, s)?;
                be.launch(
                    &SOFTMAX_BWD,
                    bytemuck::bytes_of(&p),
                    r as u32,
                    &[yv.buffer(), dy.buffer(), m.buffer(), dx.buffer()],
                )?;
            }
            Ok(())
        }))
    }

    /// Softmax over the last dimension; `mask` (u32, same shape, nonzero = allowed) gives the
    /// disallowed entries probability 0.
    pub fn softmax(&self, x: &Var, mask: Option<&Tensor>) -> Result<Var> {
        self.softmax_impl(x, mask, false)
    }

    /// Log-softmax over the last dimension (masked entries: [`crate::ops::softmax::MASKED_LOGP`]).
    pub fn log_softmax(&self, x: &Var, mask: Option<&Tensor>) -> Result<Var> {
        self.softmax_impl(x, mask, true)
    }

    /// y\[r\] = x[r, idx\[r\]] over the rows of the last dimension (idx: u32 \[R\]); an index out of
    /// range gives NaN.
    pub fn gather(&self, x: &Var, idx: &Tensor) -> Result<Var> {
        let (r, c) = rows_cols(&x.value, "gather")?;
        idx.expect(DType::U32, "gather index")?;
        if idx.numel() != r {
            return Err(Error::shape("gather index", r, idx.numel()));
        }
        let p = IndexParams { rows: r as u32, cols: c as u32, ..Default::default() };
        let y = Tensor::zeros(&self.be, &[r])?;
        self.be.launch(&GATHER, bytemuck::bytes_of(&p), r as u32, &[x.value.buffer(), idx.buffer(), y.buffer()])?;
        let (idx, be, xs) = (idx.clone(), self.be.clone(), x.slot);
        Ok(self.record(y, &[x], move |g, dy| {
            if let Some(s) = xs {
                let dx = g.acc(&be, s)?;
                be.launch(&SCATTER_ADD, bytemuck::bytes_of(&p), r as u32, &[dy.buffer(), idx.buffer(), dx.buffer()])?;
            }
            Ok(())
        }))
    }

    /// One-hot rows of u32 indices (any shape S, R elements): f32 [S.., `classes`] (the
    /// scatter-add of ones into zeros). An index ≥ `classes` gives a zero row. Not
    /// differentiable (a constant).
    pub fn one_hot(&self, idx: &Tensor, classes: usize) -> Result<Tensor> {
        idx.expect(DType::U32, "one_hot index")?;
        self.check_backend(idx, "one_hot index")?;
        if classes == 0 {
            return Err(Error::config("one_hot.classes", 0, "at least one class"));
        }
        let r = idx.numel();
        let mut shape = idx.shape().to_vec();
        shape.push(classes);
        let y = Tensor::zeros(&self.be, &shape)?;
        if r > 0 {
            let ones = Tensor::zeros(&self.be, &[r])?;
            ones.fill(1.0)?;
            let p = IndexParams { rows: r as u32, cols: classes as u32, ..Default::default() };
            self.be.launch(
                &SCATTER_ADD,
                bytemuck::bytes_of(&p),
                r as u32,
                &[ones.buffer(), idx.buffer(), y.buffer()],
            )?;
        }
        Ok(y)
    }

    /// Entropy of each row of log-probabilities: \[R\].
    pub fn entropy(&self, logp: &Var) -> Result<Var> {
        let (r, c) = rows_cols(&logp.value, "entropy")?;
        let p = CategoricalParams { rows: r as u32, cols: c as u32, ..Default::default() };
        let h = Tensor::zeros(&self.be, &[r])?;
        self.be.launch(&ENTROPY_FWD, bytemuck::bytes_of(&p), r as u32, &[logp.value.buffer(), h.buffer()])?;
        let (lv, be, ls) = (logp.value.clone(), self.be.clone(), logp.slot);
        Ok(self.record(h, &[logp], move |g, dh| {
            if let Some(s) = ls {
                let dl = g.acc(&be, s)?;
                be.launch(&ENTROPY_BWD, bytemuck::bytes_of(&p), r as u32, &[lv.buffer(), dh.buffer(), dl.buffer()])?;
            }
            Ok(())
        }))
    }

    /// One action per row of log-probabilities, drawn through Philox under (`seed`, `step`):
    /// a u32 \[R\] tensor (`u32::MAX` for a row with nothing allowed). Not differentiable.
    pub fn sample(&self, logp: &Var, seed: u64, step: u32) -> Result<Tensor> {
        let (r, c) = rows_cols(&logp.value, "sample")?;
        let key = rng::key_of(seed);
        let p = CategoricalParams {
            rows: r as u32,
            cols: c as u32,
            key0: key[0],
            key1: key[1],
            step,
            ..Default::default()
        };
        let a = Tensor::zeros_u32(&self.be, &[r])?;
        self.be.launch(&CATEGORICAL_SAMPLE, bytemuck::bytes_of(&p), r as u32, &[logp.value.buffer(), a.buffer()])?;
        Ok(a)
    }

    /// The most likely allowed action per row of log-probabilities (the first of equals;
    /// masked and NaN entries skipped): a u32 \[R\] tensor (`u32::MAX` for a row with nothing
    /// allowed). Not differentiable.
    pub fn argmax(&self, logp: &Var) -> Result<Tensor> {
        let (r, c) = rows_cols(&logp.value, "argmax")?;
        logp.value.expect(DType::F32, "argmax")?;
        let p = CategoricalParams { rows: r as u32, cols: c as u32, ..Default::default() };
        let a = Tensor::zeros_u32(&self.be, &[r])?;
        self.be.launch(&CATEGORICAL_ARGMAX, bytemuck::bytes_of(&p), r as u32, &[logp.value.buffer(), a.buffer()])?;
        Ok(a)
    }

    /// Dueling combine: Q = V + A − mean(A) with V \[R\] (or [R, 1]) and A [R, C].
    pub fn dueling(&self, v: &Var, a: &Var) -> Result<Var> {
        let (r, c) = rows_cols(&a.value, "dueling")?;
        if v.value.numel() != r {
            return Err(Error::shape("dueling value", r, v.value.numel()));
        }
        let p = IndexParams { rows: r as u32, cols: c as u32, ..Default::default() };
        let q = a.value.zeros_like()?;
        self.be.launch(
            &DUELING_FWD,
            bytemuck::bytes_of(&p),
            r as u32,
            &[v.value.buffer(), a.value.buffer(), q.buffer()],
        )?;
        let (be, vs, as_) = (self.be.clone(), v.slot, a.slot);
        let (vv, av) = (v.value.clone(), a.value.clone());
        Ok(self.record(q, &[v, a], move |g, dq| {
            let dv = match vs {
                Some(s) => g.acc(&be, s)?,
                None => vv.zeros_like()?,
            };
            let da = match as_ {
                Some(s) => g.acc(&be, s)?,
                None => av.zeros_like()?,
            };
            be.launch(&DUELING_BWD, bytemuck::bytes_of(&p), r as u32, &[dq.buffer(), dv.buffer(), da.buffer()])
        }))
    }

    /// a·x1 + b·x2 (same number of elements; the shape of x1).
    pub fn add_scaled(&self, x1: &Var, a: f32, x2: &Var, b: f32) -> Result<Var> {
        let n = x1.value.numel();
        if x2.value.numel() != n {
            return Err(Error::shape("add_scaled", format!("{:?}", x1.shape()), format!("{:?}", x2.shape())));
        }
        let y = Tensor::output(&self.be, x1.shape())?;
        let p = AxpbyParams { n: n as u32, a, b, ..Default::default() };
        if n > 0 {
            self.be.launch(
                &AXPBY,
                bytemuck::bytes_of(&p),
                n as u32,
                &[x1.value.buffer(), x2.value.buffer(), y.buffer()],
            )?;
        }
        let (be, s1, s2) = (self.be.clone(), x1.slot, x2.slot);
        Ok(self.record(y, &[x1, x2], move |g, dy| {
            for (s, w) in [(s1, a), (s2, b)] {
                if let (Some(s), true) = (s, n > 0) {
                    let dx = g.acc(&be, s)?;
                    let q = AxpbyParams { n: n as u32, a: w, ..Default::default() };
                    be.launch(&SCALE_ACC, bytemuck::bytes_of(&q), n as u32, &[dy.buffer(), dx.buffer()])?;
                }
            }
            Ok(())
        }))
    }

    /// The same value seen with another shape of as many elements (shares the value and the
    /// gradient).
    pub fn reshape(&self, v: &Var, shape: &[usize]) -> Result<Var> {
        Ok(Var { value: v.value.reshape(shape)?, slot: v.slot })
    }

    /// The mean of every element: \[1\].
    pub fn mean(&self, x: &Var) -> Result<Var> {
        let n = x.value.numel();
        if n == 0 {
            return Err(Error::shape("mean", "a non-empty tensor", format!("{:?}", x.shape())));
        }
        let p = AxpbyParams { n: n as u32, ..Default::default() };
        let y = Tensor::zeros(&self.be, &[1])?;
        self.be.launch(&MEAN_FWD, bytemuck::bytes_of(&p), 1, &[x.value.buffer(), y.buffer()])?;
        let (be, xs) = (self.be.clone(), x.slot);
        Ok(self.record(y, &[x], move |g, dy| {
            if let Some(s) = xs {
                let dx = g.acc(&be, s)?;
                be.launch(&MEAN_BWD, bytemuck::bytes_of(&p), n as u32, &[dy.buffer(), dx.buffer()])?;
            }
            Ok(())
        }))
    }
}
