//! Recurrent ops on the tape: the fused LSTM and GRU cells, layer normalization, and the glue
//! that moves sequence data between ops on the device (a time step of a sequence, steps stacked
//! into a sequence, the last rows of a history as a sequence). Sums of pre-activations use
//! [`Tape::add_scaled`], views [`Tape::reshape`].
//!
//! Sequences are time-major: [T, B, F], or [K, T, B, F] for an ensemble of K networks (one
//! grouped parameter set, as [`crate::nn::Mlp`]); a step is [B, F] or [K, B, F].

use super::{linear_backward_w, linear_backward_x, Grads, Node, Tape, Var};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ops::glue::CopyParams;
use crate::ops::glue::GLUE_COPY;
use crate::ops::layer_norm::LayerNormParams;
use crate::ops::layer_norm::{LAYER_NORM_BWD_W, LAYER_NORM_BWD_X, LAYER_NORM_FWD};
use crate::ops::linear::LinearParams;
use crate::ops::rnn::CellParams;
use crate::ops::rnn::{GRU_CELL_BWD, GRU_CELL_FWD, LSTM_CELL_BWD, LSTM_CELL_FWD};
use crate::tensor::{DType, Tensor};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// A weight (and bias) shared by the steps of a recurrence (h·W_h of every step of an LSTM or
/// GRU layer): each step's [`Tape::linear_step`] records only its input gradient, and the
/// weight gradient of all the steps is one product over their stacked inputs and output
/// gradients, dW += Σ_t x_tᵀ·dy_t summed over the rows of every step in time order, run after
/// the last step's backward. One product with T·B rows instead of T with B rows each: the
/// weight gradient (1 MiB at H = 256) is read and written once, not once per step.
pub struct SharedLinear {
    w: Var,
    bias: Option<Var>,
    /// (x, dy, params) of each step whose output got a gradient, in backward (reverse) order.
    pending: Rc<RefCell<Vec<(Tensor, Tensor, LinearParams)>>>,
}

/// Launch `glue_copy` from `src` into `dst` (nothing when the map is empty).
fn launch_copy(be: &Arc<dyn Backend>, p: &CopyParams, src: &Tensor, dst: &Tensor) -> Result<()> {
    if p.count() == 0 {
        return Ok(());
    }
    be.launch(&GLUE_COPY, bytemuck::bytes_of(p), p.count() as u32, &[src.buffer(), dst.buffer()])
}

/// The backward of a copy: `dy` through the transposed map `q` (accumulating) into slot `s`'s
/// gradient, or written into a new, unzeroed buffer when it is the slot's first gradient and
/// the map fills it (a time step of a sequence).
fn copy_back(g: &Grads, be: &Arc<dyn Backend>, s: usize, q: &CopyParams, dy: &Tensor) -> Result<()> {
    if q.fills(g.numel(s)) {
        let (dx, fresh) = g.acc_or_fresh(be, s)?;
        let q = CopyParams { accumulate: (!fresh) as u32, ..*q };
        launch_copy(be, &q, dy, &dx)
    } else {
        launch_copy(be, q, dy, &g.acc(be, s)?)
    }
}

/// The gradient buffer of an input to accumulate into: its slot's, or a zeroed scratch the
/// result of which is dropped (a kernel that writes several gradients, one not needed).
pub(super) fn grad_or_scratch(g: &Grads, be: &Arc<dyn Backend>, slot: Option<usize>, like: &Tensor) -> Result<Tensor> {
    match slot {
        Some(s) => g.acc(be, s),
        None => like.zeros_like(),
    }
}

/// The shape without its last dimension, and the last dimension.
fn split_last(s: &[usize]) -> (&[usize], usize) {
    match s.split_last() {
        Some((l, lead)) => (lead, *l),
        None => (&[], 1),
    }
}

impl Tape {
    /// Every input on this tape's backend and of f32 values.
    pub(super) fn f32_inputs(&self, inputs: &[(&Var, &str)]) -> Result<()> {
        for (v, what) in inputs {
            self.check_backend(&v.value, what)?;
            v.value.expect(DType::F32, what)?;
        }
        Ok(())
    }

    /// Record an op with several outputs: its backward `f` gets one gradient per output (a
    /// zeroed one for an output that no gradient reached) and runs when any output got one.
    pub(super) fn record_outputs(
        &self,
        outs: Vec<Tensor>,
        inputs: &[&Var],
        f: impl Fn(&Grads, &[Tensor]) -> Result<()> + 'static,
    ) -> Vec<Var> {
        if !self.recording || inputs.iter().all(|v| v.slot.is_none()) {
            return outs.into_iter().map(|value| Var { value, slot: None }).collect();
        }
        let slots: Vec<usize> = outs.iter().map(|t| self.slot(t.shape(), None)).collect();
        let (ss, be) = (slots.clone(), self.be.clone());
        self.nodes.borrow_mut().push(Node {
            backward: Box::new(move |g: &Grads| {
                if ss.iter().all(|&s| g.get(s).is_none()) {
                    return Ok(());
                }
                let dys = ss.iter().map(|&s| g.acc(&be, s)).collect::<Result<Vec<_>>>()?;
                f(g, &dys)
            }),
        });
        outs.into_iter().zip(slots).map(|(value, s)| Var { value, slot: Some(s) }).collect()
    }

    /// A copy of `x` through the map `p` into a new tensor of `shape`; the backward is the
    /// transposed map, accumulating.
    fn strided(&self, x: &Var, shape: &[usize], p: CopyParams) -> Result<Var> {
        self.f32_inputs(&[(x, "sequence")])?;
        // a map that writes every element (a time step) needs no zeroed output
        let y = if p.fills(shape.iter().product()) {
            Tensor::output(&self.be, shape)?
        } else {
            Tensor::zeros(&self.be, shape)?
        };
        debug_assert!(p.extents().0 <= x.value.numel() as u64 && p.extents().1 <= y.numel() as u64);
        launch_copy(&self.be, &p, &x.value, &y)?;
        let (be, xs, q) = (self.be.clone(), x.slot, p.transposed());
        Ok(self.record(y, &[x], move |g, dy| match xs {
            Some(s) => copy_back(g, &be, s, &q, dy),
            None => Ok(()),
        }))
    }

    /// `x` viewed as [A, B, n] (A·B·n elements) with its first two axes swapped: [B, A, n]
    /// (e.g. time-major samples of per-agent networks regrouped agent-major, and back).
    pub fn swap01(&self, x: &Var, a: usize, b: usize) -> Result<Var> {
        let numel = x.value.numel();
        if a == 0 || b == 0 || !numel.is_multiple_of(a * b) {
            return Err(Error::shape("swap01", format!("[{a}, {b}, n]"), format!("{:?}", x.shape())));
        }
        let n = numel / (a * b);
        let p = CopyParams {
            d0: a as u32,
            d1: b as u32,
            d2: 1,
            n: n as u32,
            s0: (b * n) as u32,
            s1: n as u32,
            t0: n as u32,
            t1: (a * n) as u32,
            ..Default::default()
        };
        self.strided(x, &[b, a, n], p)
    }

    /// Step `t` of a sequence: [K, T, B, F] → [K, B, F], or [T, B, F] → [B, F].
    pub fn time_step(&self, seq: &Var, t: usize) -> Result<Var> {
        let s = seq.shape();
        let (k, tt, b, f, grouped) = match s.len() {
            3 => (1, s[0], s[1], s[2], false),
            4 => (s[0], s[1], s[2], s[3], true),
            _ => return Err(Error::shape("time_step", "a sequence [T, B, F] or [K, T, B, F]", format!("{s:?}"))),
        };
        if t >= tt {
            return Err(Error::shape("time_step", format!("a step below T = {tt}"), t));
        }
        let bf = (b * f) as u32;
        let p = CopyParams {
            d0: k as u32,
            d1: 1,
            d2: 1,
            n: bf,
            s0: tt as u32 * bf,
            soff: t as u32 * bf,
            t0: bf,
            ..Default::default()
        };
        let shape: Vec<usize> = if grouped { vec![k, b, f] } else { vec![b, f] };
        self.strided(seq, &shape, p)
    }

    /// Steps [K, B, F] (or [B, F]) stacked into a sequence [K, T, B, F] (or [T, B, F]).
    pub fn stack_steps(&self, steps: &[Var]) -> Result<Var> {
        let Some(first) = steps.first() else {
            return Err(Error::shape("stack_steps", "at least one step", 0));
        };
        let s = first.shape().to_vec();
        let (k, bf) = match s.len() {
            2 => (1, s[0] * s[1]),
            3 => (s[0], s[1] * s[2]),
            _ => return Err(Error::shape("stack_steps", "steps [B, F] or [K, B, F]", format!("{s:?}"))),
        };
        for (i, v) in steps.iter().enumerate() {
            if v.shape() != s.as_slice() {
                return Err(Error::shape(
                    format!("stack_steps step {i}"),
                    format!("{s:?}"),
                    format!("{:?}", v.shape()),
                ));
            }
            self.f32_inputs(&[(v, "stack_steps step")])?;
        }
        let tt = steps.len();
        let mut shape = s.clone();
        shape.insert(if s.len() == 3 { 1 } else { 0 }, tt);
        // every step's copy below writes its part: no zeroing
        let y = Tensor::output(&self.be, &shape)?;
        let map = move |t: usize| CopyParams::into_step(k, bf, tt, t);
        for (t, v) in steps.iter().enumerate() {
            launch_copy(&self.be, &map(t), &v.value, &y)?;
        }
        let (be, slots): (_, Vec<_>) = (self.be.clone(), steps.iter().map(|v| v.slot).collect());
        let inputs: Vec<&Var> = steps.iter().collect();
        Ok(self.record(y, &inputs, move |g, dy| {
            for (t, s) in slots.iter().enumerate() {
                if let Some(s) = *s {
                    copy_back(g, &be, s, &map(t).transposed(), dy)?;
                }
            }
            Ok(())
        }))
    }

    /// u32 steps [K, B] (or \[B\]) stacked into [K, T, B] (or [T, B]): the actions of a decoded
    /// sequence. The copy's write path moves 32-bit words without arithmetic, so indices
    /// pass unchanged. Not differentiable.
    pub fn stack_indices(&self, steps: &[Tensor]) -> Result<Tensor> {
        let Some(first) = steps.first() else {
            return Err(Error::shape("stack_indices", "at least one step", 0));
        };
        let s = first.shape().to_vec();
        let (k, b) = match s.len() {
            1 => (1, s[0]),
            2 => (s[0], s[1]),
            _ => return Err(Error::shape("stack_indices", "steps [B] or [K, B]", format!("{s:?}"))),
        };
        for (i, v) in steps.iter().enumerate() {
            if v.shape() != s.as_slice() {
                return Err(Error::shape(
                    format!("stack_indices step {i}"),
                    format!("{s:?}"),
                    format!("{:?}", v.shape()),
                ));
            }
            self.check_backend(v, "stack_indices step")?;
            v.expect(DType::U32, "stack_indices step")?;
        }
        let tt = steps.len();
        let mut shape = s.clone();
        shape.insert(if s.len() == 2 { 1 } else { 0 }, tt);
        let y = Tensor::zeros_u32(&self.be, &shape)?;
        for (t, v) in steps.iter().enumerate() {
            launch_copy(&self.be, &CopyParams::into_step(k, b, tt, t), v, &y)?;
        }
        Ok(y)
    }

    /// The last `t` rows of every history as a time-major sequence: [K, B, L, F] →
    /// [K, T, B, F], or [B, L, F] → [T, B, F] (1 ≤ T ≤ L; row L − T is step 0).
    pub fn history_window(&self, history: &Var, t: usize) -> Result<Var> {
        let s = history.shape();
        let (k, b, l, f, grouped) = match s.len() {
            3 => (1, s[0], s[1], s[2], false),
            4 => (s[0], s[1], s[2], s[3], true),
            _ => return Err(Error::shape("history_window", "a history [B, L, F] or [K, B, L, F]", format!("{s:?}"))),
        };
        if t == 0 || t > l {
            return Err(Error::shape("history_window", format!("a window of 1..={l} rows"), t));
        }
        let p = CopyParams {
            d0: k as u32,
            d1: t as u32,
            d2: b as u32,
            n: f as u32,
            s0: (b * l * f) as u32,
            s1: f as u32,
            s2: (l * f) as u32,
            soff: ((l - t) * f) as u32,
            t0: (t * b * f) as u32,
            t1: (b * f) as u32,
            t2: f as u32,
            ..Default::default()
        };
        let shape: Vec<usize> = if grouped { vec![k, t, b, f] } else { vec![t, b, f] };
        self.strided(history, &shape, p)
    }

    /// The LSTM cell (torch `LSTMCell`, gates i, f, g, o): z [.., 4H] (= x·W_x + h·W_h + b from
    /// `linear`) and c [.., H] → (h', c'), c' = σ(f)⊙c + σ(i)⊙tanh(g), h' = σ(o)⊙tanh(c').
    /// See [`crate::ops::rnn`].
    pub fn lstm_cell(&self, z: &Var, c: &Var) -> Result<(Var, Var)> {
        let (lead, h) = split_last(c.shape());
        let (zlead, zl) = split_last(z.shape());
        if c.shape().is_empty() || h == 0 || zlead != lead || zl != 4 * h {
            return Err(Error::shape(
                "lstm_cell",
                "z [.., 4H] and c [.., H] with the same leading dimensions, H >= 1",
                format!("z {:?}, c {:?}", z.shape(), c.shape()),
            ));
        }
        self.f32_inputs(&[(z, "lstm_cell z"), (c, "lstm_cell c")])?;
        let n = c.value.numel() / h;
        let p = CellParams { n: n as u32, h: h as u32, ..Default::default() };
        let (h_out, c_out) = (Tensor::output(&self.be, c.shape())?, Tensor::output(&self.be, c.shape())?);
        let act = Tensor::output(&self.be, &[n, 5 * h])?;
        if n > 0 {
            self.be.launch(
                &LSTM_CELL_FWD,
                bytemuck::bytes_of(&p),
                (n * h) as u32,
                &[z.value.buffer(), c.value.buffer(), h_out.buffer(), c_out.buffer(), act.buffer()],
            )?;
        }
        let (be, zs, cs, zv, cv) = (self.be.clone(), z.slot, c.slot, z.value.clone(), c.value.clone());
        let mut outs = self.record_outputs(vec![h_out, c_out], &[z, c], move |g, d| {
            if n == 0 {
                return Ok(());
            }
            let dz = grad_or_scratch(g, &be, zs, &zv)?;
            let dc = grad_or_scratch(g, &be, cs, &cv)?;
            be.launch(
                &LSTM_CELL_BWD,
                bytemuck::bytes_of(&p),
                (n * h) as u32,
                &[act.buffer(), cv.buffer(), d[0].buffer(), d[1].buffer(), dz.buffer(), dc.buffer()],
            )
        });
        let c_new = outs.pop().expect("two outputs");
        let h_new = outs.pop().expect("two outputs");
        Ok((h_new, c_new))
    }

    /// The GRU cell (torch `GRUCell`, gates r, z, n): gx = x·W_x + b_x and gh = h·W_h + b_h, both
    /// [.., 3H], and h [.., H] → h' = (1 − z)⊙n + z⊙h with n = tanh(gx_n + r⊙gh_n).
    /// See [`crate::ops::rnn`].
    pub fn gru_cell(&self, gx: &Var, gh: &Var, h: &Var) -> Result<Var> {
        let (lead, hh) = split_last(h.shape());
        let (xl, xd) = split_last(gx.shape());
        if h.shape().is_empty() || hh == 0 || xl != lead || xd != 3 * hh || gh.shape() != gx.shape() {
            return Err(Error::shape(
                "gru_cell",
                "gx, gh [.., 3H] and h [.., H] with the same leading dimensions, H >= 1",
                format!("gx {:?}, gh {:?}, h {:?}", gx.shape(), gh.shape(), h.shape()),
            ));
        }
        self.f32_inputs(&[(gx, "gru_cell gx"), (gh, "gru_cell gh"), (h, "gru_cell h")])?;
        let n = h.value.numel() / hh;
        let p = CellParams { n: n as u32, h: hh as u32, ..Default::default() };
        let h_out = h.value.zeros_like()?;
        let act = Tensor::zeros(&self.be, &[n, 3 * hh])?;
        if n > 0 {
            self.be.launch(
                &GRU_CELL_FWD,
                bytemuck::bytes_of(&p),
                (n * hh) as u32,
                &[gx.value.buffer(), gh.value.buffer(), h.value.buffer(), h_out.buffer(), act.buffer()],
            )?;
        }
        let be = self.be.clone();
        let (xs, gs, hs) = (gx.slot, gh.slot, h.slot);
        let (xv, gv, hv) = (gx.value.clone(), gh.value.clone(), h.value.clone());
        Ok(self.record(h_out, &[gx, gh, h], move |g, dy| {
            if n == 0 {
                return Ok(());
            }
            let dgx = grad_or_scratch(g, &be, xs, &xv)?;
            let dgh = grad_or_scratch(g, &be, gs, &gv)?;
            let dh = grad_or_scratch(g, &be, hs, &hv)?;
            be.launch(
                &GRU_CELL_BWD,
                bytemuck::bytes_of(&p),
                (n * hh) as u32,
                &[act.buffer(), gv.buffer(), hv.buffer(), dy.buffer(), dgx.buffer(), dgh.buffer(), dh.buffer()],
            )
        }))
    }

    /// Layer normalization over the last dimension D (torch `LayerNorm`): x [.., D], gain and
    /// bias \[D\] (shared by every row) or [K, D] for x [K, .., D] (one per ensemble member);
    /// y = ((x − μ)/√(σ² + ε))·gain + bias. See [`crate::ops::layer_norm`].
    pub fn layer_norm(&self, x: &Var, gain: &Var, bias: &Var, eps: f32) -> Result<Var> {
        let xs = x.shape();
        let (_, d) = split_last(xs);
        if xs.is_empty() || d == 0 {
            return Err(Error::shape("layer_norm", "x [.., D] with D >= 1", format!("{xs:?}")));
        }
        let groups = gain.value.numel() / d;
        let ok = gain.value.numel() == groups * d
            && bias.shape() == gain.shape()
            && gain.shape().last() == Some(&d)
            && (groups == 1 || (xs.len() >= 2 && xs[0] == groups));
        if !ok {
            return Err(Error::shape(
                "layer_norm gain and bias",
                format!("[{d}], or [K, {d}] with x [K, .., {d}]"),
                format!("gain {:?}, bias {:?}, x {xs:?}", gain.shape(), bias.shape()),
            ));
        }
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(Error::config("layer_norm.eps", eps, "must be finite and >= 0"));
        }
        self.f32_inputs(&[(x, "layer_norm x"), (gain, "layer_norm gain"), (bias, "layer_norm bias")])?;
        let n = x.value.numel() / d;
        let per_group = n / groups;
        if let Some(limit) = self.be.max_loop_iterations() {
            // forward: three passes over D per row; the gain gradient: one pass over a group's rows
            let work = (3 * d).max(per_group) as u64;
            if work > limit {
                return Err(Error::config(
                    "layer_norm",
                    format!("D = {d}, {per_group} rows per gain"),
                    format!("the kernels would loop {work} times per invocation, beyond this driver's silent limit of {limit} (lavapipe)"),
                ));
            }
        }
        let p = LayerNormParams { n: n as u32, d: d as u32, per_group: per_group.max(1) as u32, eps };
        let y = x.value.zeros_like()?;
        let stats = Tensor::zeros(&self.be, &[n, 2])?;
        if n > 0 {
            self.be.launch(
                &LAYER_NORM_FWD,
                bytemuck::bytes_of(&p),
                n as u32,
                &[x.value.buffer(), gain.value.buffer(), bias.value.buffer(), y.buffer(), stats.buffer()],
            )?;
        }
        let be = self.be.clone();
        let (xsl, gsl, bsl) = (x.slot, gain.slot, bias.slot);
        let (xv, gv, bv) = (x.value.clone(), gain.value.clone(), bias.value.clone());
        Ok(self.record(y, &[x, gain, bias], move |g, dy| {
            if n == 0 {
                return Ok(());
            }
            if let Some(s) = xsl {
                let dx = g.acc(&be, s)?;
                be.launch(
                    &LAYER_NORM_BWD_X,
                    bytemuck::bytes_of(&p),
                    n as u32,
                    &[xv.buffer(), gv.buffer(), stats.buffer(), dy.buffer(), dx.buffer()],
                )?;
            }
            if gsl.is_some() || bsl.is_some() {
                let dg = grad_or_scratch(g, &be, gsl, &gv)?;
                let db = grad_or_scratch(g, &be, bsl, &bv)?;
                be.launch(
                    &LAYER_NORM_BWD_W,
                    bytemuck::bytes_of(&p),
                    (groups * d) as u32,
                    &[xv.buffer(), stats.buffer(), dy.buffer(), dg.buffer(), db.buffer()],
                )?;
            }
            Ok(())
        }))
    }
}

impl Tape {
    /// Starts a weight (and bias) shared by the steps of a recurrence (see [`SharedLinear`]):
    /// records, before the steps, the node that computes their weight gradient.
    pub fn shared_linear(&self, w: &Var, bias: Option<&Var>) -> Result<SharedLinear> {
        let shared = SharedLinear { w: w.clone(), bias: bias.cloned(), pending: Rc::new(RefCell::new(vec![])) };
        let (wsl, bs) = (w.slot, bias.and_then(|v| v.slot));
        if self.recording && (wsl.is_some() || bs.is_some()) {
            let (pending, be, wv) = (shared.pending.clone(), self.be.clone(), w.value.clone());
            let dummy = self.dummy()?;
            self.nodes.borrow_mut().push(Node {
                backward: Box::new(move |g: &Grads| {
                    let mut steps = std::mem::take(&mut *pending.borrow_mut());
                    steps.reverse();
                    shared_backward_w(g, &be, &wv, &dummy, wsl, bs, &steps)
                }),
            });
        }
        Ok(shared)
    }

    /// One step's x·W (+ bias) with the shared weight: [`Tape::linear`]'s forward and input
    /// gradient; the weight gradient is left to the [`SharedLinear`]'s node.
    pub fn linear_step(&self, shared: &SharedLinear, x: &Var) -> Result<Var> {
        let (p, y) = self.linear_forward(x, &shared.w, shared.bias.as_ref())?;
        let (wv, be, xs, xv) = (shared.w.value.clone(), self.be.clone(), x.slot, x.value.clone());
        let pending = shared.pending.clone();
        let wants_w = shared.w.slot.is_some() || shared.bias.as_ref().is_some_and(|b| b.slot.is_some());
        let mut inputs = vec![x, &shared.w];
        if let Some(bv) = &shared.bias {
            inputs.push(bv);
        }
        Ok(self.record(y, &inputs, move |g, dy| {
            linear_backward_x(g, &be, &p, xs, dy, &wv)?;
            if wants_w {
                pending.borrow_mut().push((xv.clone(), dy.clone(), p));
            }
            Ok(())
        }))
    }
}

/// The weight gradient of a [`SharedLinear`]'s steps (in time order): their inputs and output
/// gradients stacked to [K, n·B, ·], then one `linear_bwd_w`.
fn shared_backward_w(
    g: &Grads,
    be: &Arc<dyn Backend>,
    w: &Tensor,
    dummy: &Tensor,
    wsl: Option<usize>,
    bs: Option<usize>,
    steps: &[(Tensor, Tensor, LinearParams)],
) -> Result<()> {
    let Some(&(_, _, p0)) = steps.first() else {
        return Ok(());
    };
    if steps.iter().any(|s| s.2 != p0) {
        // steps of different batch sizes: one product each
        for (x, dy, p) in steps {
            linear_backward_w(g, be, p, w, dummy, wsl, bs, x, dy)?;
        }
        return Ok(());
    }
    let (k, b, i, o) = p0.dims();
    let n = steps.len();
    let stack = |cols: usize, part: &dyn Fn(&(Tensor, Tensor, LinearParams)) -> &Tensor| -> Result<Tensor> {
        let out = Tensor::output(be, &[k, n * b, cols])?;
        let bf = b * cols;
        for (t, s) in steps.iter().enumerate() {
            launch_copy(be, &CopyParams::into_step(k, bf, n, t), part(s), &out)?;
        }
        Ok(out)
    };
    let xs = stack(i, &|s| &s.0)?;
    let dys = stack(o, &|s| &s.1)?;
    let p = LinearParams { b: (n * b) as u32, ..p0 };
    linear_backward_w(g, be, &p, w, dummy, wsl, bs, &xs, &dys)
}

#[cfg(test)]
mod tests {
    use crate::autograd::Tape;
    use crate::backend::{create, BackendKind};
    use crate::tensor::Tensor;

    #[test]
    fn swap01_moves_rows_and_gradients_back() {
        let be = create(BackendKind::Cpu).unwrap();
        let tape = Tape::new(&be);
        // x [A = 2, B = 3, n = 2] → y [3, 2, 2]; y[b, a] = x[a, b]
        let x = crate::autograd::Param::new(
            "x",
            Tensor::from_f32(&be, &[2, 3, 2], &(0..12).map(|i| i as f32).collect::<Vec<_>>()).unwrap(),
        )
        .unwrap();
        let y = tape.swap01(&tape.param(&x), 2, 3).unwrap();
        assert_eq!(y.value.to_vec().unwrap(), [0.0, 1.0, 6.0, 7.0, 2.0, 3.0, 8.0, 9.0, 4.0, 5.0, 10.0, 11.0]);
        // loss = mean(y²): each x's gradient is 2·x/12 when the backward maps every element
        // of y back to its own x
        let z = tape.mse(&y, &tape.constant(&Tensor::zeros(&be, &[3, 2, 2]).unwrap())).unwrap();
        tape.backward(&z).unwrap();
        let g = x.grad.to_vec().unwrap();
        for (i, gi) in g.iter().enumerate() {
            assert!((gi - 2.0 * i as f32 / 12.0).abs() < 1e-6, "{i}: {gi}");
        }
        assert!(tape.swap01(&tape.param(&x), 5, 3).is_err());
    }
}
