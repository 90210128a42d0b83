//! Reverse-mode autograd over backend tensors.
//!
//! A [`Tape`] records each op whose inputs need a gradient, with a closure that launches the op's
//! backward kernels; [`Tape::backward`] seeds d(loss) = 1 and walks the record in reverse. Every
//! backward kernel accumulates (`+=`) into its inputs' gradients, so a tensor used twice gets
//! the sum (a kernel that writes all of a gradient, the first to reach it, writes a new buffer
//! instead: its `fresh` parameter, and no zeroing pass), and a [`Param`]'s gradient buffer is
//! its slot: gradients accumulate in place across backward passes until [`Param::zero_grad`].
//! A tape made with [`Tape::no_grad`] records nothing (rollouts pay only the forward kernels).
//! Nothing here downloads: a training step stays on the device, and the host reads only what
//! it asks for.

mod attention;
mod losses;
mod policy;
pub mod rnn;
pub mod sac;

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ops::act::{Act, ActParams};
use crate::ops::act::{ACT_BWD, ACT_FWD};
use crate::ops::elementwise::AxpbyParams;
use crate::ops::elementwise::SCALE_ACC;
use crate::ops::linear::LinearParams;
use crate::ops::linear::{LINEAR_BWD_W, LINEAR_BWD_X, LINEAR_FWD};
use crate::ops::loss::LossParams;
use crate::ops::loss::{MSE_BWD, MSE_FWD};
use crate::tensor::{DType, Tensor};

/// A trainable tensor and its gradient (same shape, accumulated in place).
#[derive(Clone, Debug)]
pub struct Param {
    /// Name (checkpoints, errors).
    pub name: String,
    /// The values.
    pub value: Tensor,
    /// The accumulated gradient.
    pub grad: Tensor,
}

impl Param {
    /// A parameter holding `value`, with a zero gradient.
    pub fn new(name: impl Into<String>, value: Tensor) -> Result<Self> {
        let grad = value.zeros_like()?;
        Ok(Param { name: name.into(), value, grad })
    }

    /// Gradient to zero (on the device).
    pub fn zero_grad(&self) -> Result<()> {
        self.grad.fill(0.0)
    }
}

/// A value in a computation: its tensor and, when it needs a gradient, its slot on the tape.
#[derive(Clone, Debug)]
pub struct Var {
    /// The value.
    pub value: Tensor,
    slot: Option<usize>,
}

impl Var {
    /// Whether a gradient flows to this value.
    pub fn requires_grad(&self) -> bool {
        self.slot.is_some()
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }
}

type BackwardFn = Box<dyn Fn(&Grads) -> Result<()>>;

/// A recorded op: the closure that launches its backward kernels.
struct Node {
    backward: BackwardFn,
}

/// The gradient slots during a backward pass.
pub struct Grads {
    slots: RefCell<Vec<Slot>>,
}

struct Slot {
    shape: Vec<usize>,
    grad: Option<Tensor>,
}

impl Grads {
    /// The gradient of slot `s`, if any reached it.
    fn get(&self, s: usize) -> Option<Tensor> {
        self.slots.borrow()[s].grad.clone()
    }

    /// The gradient buffer of slot `s` to accumulate into (zeroed on first use).
    fn acc(&self, be: &Arc<dyn Backend>, s: usize) -> Result<Tensor> {
        if let Some(g) = self.get(s) {
            return Ok(g);
        }
        let shape = self.slots.borrow()[s].shape.clone();
        let g = Tensor::zeros(be, &shape)?;
        self.slots.borrow_mut()[s].grad = Some(g.clone());
        Ok(g)
    }

    /// The gradient buffer of slot `s` for a kernel that writes every element of it: on first
    /// use a new buffer, not zeroed, and `true` (the kernel writes rather than accumulates:
    /// its `fresh` parameter); later the existing buffer and `false`.
    fn acc_or_fresh(&self, be: &Arc<dyn Backend>, s: usize) -> Result<(Tensor, bool)> {
        if let Some(g) = self.get(s) {
            return Ok((g, false));
        }
        let shape = self.slots.borrow()[s].shape.clone();
        let g = Tensor::output(be, &shape)?;
        self.slots.borrow_mut()[s].grad = Some(g.clone());
        Ok((g, true))
    }

    /// Elements of slot `s`'s gradient.
    fn numel(&self, s: usize) -> usize {
        self.slots.borrow()[s].shape.iter().product()
    }
}

/// The record of a forward pass.
pub struct Tape {
    be: Arc<dyn Backend>,
    recording: bool,
    grads: Grads,
    nodes: RefCell<Vec<Node>>,
    /// A one-word buffer bound where a kernel's optional input is absent (no aliasing).
    dummy: OnceCell<Tensor>,
}

impl Tape {
    /// A recording tape.
    pub fn new(be: &Arc<dyn Backend>) -> Self {
        Tape {
            be: be.clone(),
            recording: true,
            grads: Grads { slots: RefCell::new(vec![]) },
            nodes: RefCell::new(vec![]),
            dummy: OnceCell::new(),
        }
    }

    /// A tape that records nothing: every op runs its forward kernel only.
    pub fn no_grad(be: &Arc<dyn Backend>) -> Self {
        Tape { recording: false, ..Tape::new(be) }
    }

    /// Whether ops are recorded.
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// Ops recorded so far.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.be
    }

    fn dummy(&self) -> Result<Tensor> {
        if let Some(t) = self.dummy.get() {
            return Ok(t.clone());
        }
        let t = Tensor::zeros(&self.be, &[1])?;
        Ok(self.dummy.get_or_init(|| t).clone())
    }

    fn slot(&self, shape: &[usize], grad: Option<Tensor>) -> usize {
        let mut s = self.grads.slots.borrow_mut();
        s.push(Slot { shape: shape.to_vec(), grad });
        s.len() - 1
    }

    fn check_backend(&self, t: &Tensor, what: &str) -> Result<()> {
        if t.backend().kind() != self.be.kind() {
            return Err(Error::device(self.be.kind().to_string(), format!("{what} lives on {}", t.backend().kind())));
        }
        Ok(())
    }

    /// A value that needs no gradient (data, targets).
    pub fn constant(&self, t: &Tensor) -> Var {
        Var { value: t.clone(), slot: None }
    }

    /// A parameter: its gradient accumulates into `p.grad` (in place).
    pub fn param(&self, p: &Param) -> Var {
        let slot = self.recording.then(|| self.slot(p.value.shape(), Some(p.grad.clone())));
        Var { value: p.value.clone(), slot }
    }

    /// Record an op producing `out` whose backward is `f` (when any input needs a gradient).
    fn record(&self, out: Tensor, inputs: &[&Var], f: impl Fn(&Grads, &Tensor) -> Result<()> + 'static) -> Var {
        if !self.recording || inputs.iter().all(|v| v.slot.is_none()) {
            return Var { value: out, slot: None };
        }
        let s = self.slot(out.shape(), None);
        self.nodes.borrow_mut().push(Node {
            backward: Box::new(move |g: &Grads| match g.get(s) {
                Some(dy) => f(g, &dy),
                None => Ok(()),
            }),
        });
        Var { value: out, slot: Some(s) }
    }

    /// Grouped linear layer: x [K, B, I] (or [B, I] with K = 1), w [K, I, O] (or [I, O]), bias
    /// [K, O] (or \[O\]); y [K, B, O] (or [B, O]).
    pub fn linear(&self, x: &Var, w: &Var, bias: Option<&Var>) -> Result<Var> {
        let (p, y) = self.linear_forward(x, w, bias)?;
        let (xv, wv, be, dummy) = (x.value.clone(), w.value.clone(), self.be.clone(), self.dummy()?);
        let (xs, wsl, bs) = (x.slot, w.slot, bias.and_then(|v| v.slot));
        let mut inputs = vec![x, w];
        if let Some(bv) = bias {
            inputs.push(bv);
        }
        Ok(self.record(y, &inputs, move |g, dy| {
            linear_backward_x(g, &be, &p, xs, dy, &wv)?;
            if wsl.is_some() || bs.is_some() {
                linear_backward_w(g, &be, &p, &wv, &dummy, wsl, bs, &xv, dy)?;
            }
            Ok(())
        }))
    }

    /// Checks the operands of [`Tape::linear`] and launches its forward: (its parameters, y).
    fn linear_forward(&self, x: &Var, w: &Var, bias: Option<&Var>) -> Result<(LinearParams, Tensor)> {
        let (xs, ws) = (x.shape(), w.shape());
        let (k, b, i, o, grouped) = match (xs.len(), ws.len()) {
            (2, 2) => (1, xs[0], xs[1], ws[1], false),
            (3, 3) => (xs[0], xs[1], xs[2], ws[2], true),
            _ => {
                return Err(Error::shape(
                    "linear",
                    "x [K,B,I] with w [K,I,O], or x [B,I] with w [I,O]",
                    format!("x {xs:?}, w {ws:?}"),
                ))
            }
        };
        let wk = if grouped { ws[0] } else { 1 };
        let wi = ws[ws.len() - 2];
        if wk != k || wi != i {
            return Err(Error::shape("linear weights", format!("[{k}, {i}, O]"), format!("{ws:?}")));
        }
        if let Some(bv) = bias {
            if bv.value.numel() != k * o {
                return Err(Error::shape(
                    "linear bias",
                    format!("{} values ([K, O])", k * o),
                    format!("{:?}", bv.shape()),
                ));
            }
        }
        for (t, what) in [(&x.value, "linear input"), (&w.value, "linear weights")] {
            self.check_backend(t, what)?;
        }
        let p = LinearParams {
            k: k as u32,
            b: b as u32,
            i: i as u32,
            o: o as u32,
            has_bias: bias.is_some() as u32,
            ..Default::default()
        };
        let out_shape: Vec<usize> = if grouped { vec![k, b, o] } else { vec![b, o] };
        let y = Tensor::output(&self.be, &out_shape)?;
        let bias_t = match bias {
            Some(v) => v.value.clone(),
            None => self.dummy()?,
        };
        self.be.launch(
            &LINEAR_FWD,
            bytemuck::bytes_of(&p),
            (k * b * o) as u32,
            &[x.value.buffer(), w.value.buffer(), bias_t.buffer(), y.buffer()],
        )?;
        Ok((p, y))
    }

    /// An elementwise activation.
    pub fn act(&self, x: &Var, act: Act) -> Result<Var> {
        self.check_backend(&x.value, "activation input")?;
        let n = x.value.numel();
        let p = ActParams { n: n as u32, kind: act as u32, ..Default::default() };
        let y = Tensor::output(&self.be, x.shape())?;
        if n > 0 {
            self.be.launch(&ACT_FWD, bytemuck::bytes_of(&p), n as u32, &[x.value.buffer(), y.buffer()])?;
        }
        let (yv, be, xs) = (y.clone(), self.be.clone(), x.slot);
        Ok(self.record(y, &[x], move |g, dy| {
            if let (Some(s), true) = (xs, n > 0) {
                let (dx, fresh) = g.acc_or_fresh(&be, s)?;
                let p = ActParams { fresh: fresh as u32, ..p };
                be.launch(&ACT_BWD, bytemuck::bytes_of(&p), n as u32, &[yv.buffer(), dy.buffer(), dx.buffer()])?;
            }
            Ok(())
        }))
    }

    /// Mean squared error of `y` against `target` (same number of elements): a \[1\] tensor.
    pub fn mse(&self, y: &Var, target: &Var) -> Result<Var> {
        let n = y.value.numel();
        if target.value.numel() != n || n == 0 {
            return Err(Error::shape("mse", format!("{:?} (non-empty)", y.shape()), format!("{:?}", target.shape())));
        }
        let p = LossParams { n: n as u32, ..Default::default() };
        let loss = Tensor::zeros(&self.be, &[1])?;
        self.be.launch(
            &MSE_FWD,
            bytemuck::bytes_of(&p),
            1,
            &[y.value.buffer(), target.value.buffer(), loss.buffer()],
        )?;
        let (yv, tv, be) = (y.value.clone(), target.value.clone(), self.be.clone());
        let (ys, ts) = (y.slot, target.slot);
        Ok(self.record(loss, &[y, target], move |g, dl| {
            if let Some(s) = ys {
                let (dy, fresh) = g.acc_or_fresh(&be, s)?;
                let p = LossParams { fresh: fresh as u32, ..p };
                be.launch(
                    &MSE_BWD,
                    bytemuck::bytes_of(&p),
                    n as u32,
                    &[yv.buffer(), tv.buffer(), dl.buffer(), dy.buffer()],
                )?;
            }
            if ts.is_some() {
                return Err(Error::config("mse.target", "requires grad", "the target of mse must be a constant"));
            }
            Ok(())
        }))
    }

    /// Backpropagate from a scalar `loss`: gradients accumulate into every parameter reached.
    /// Consumes the record (a tape is one forward pass).
    pub fn backward(&self, loss: &Var) -> Result<()> {
        let Some(s) = loss.slot else {
            return Err(Error::config("backward", "loss", "does not depend on any parameter (or the tape is no_grad)"));
        };
        if loss.value.numel() != 1 {
            return Err(Error::shape("backward", "a scalar loss", format!("{:?}", loss.shape())));
        }
        let seed = self.grads.acc(&self.be, s)?;
        seed.fill(1.0)?;
        self.run_backward()
    }

    /// The reverse pass seeded with a given gradient of a non-scalar value: d/d`out` = `grad`
    /// (torch's `out.backward(grad)`), for a loss whose gradient a kernel forms outside the
    /// tape (DIRS's loss (17): the per-transition weights depend on counts of the minibatch).
    pub fn backward_with(&self, out: &Var, grad: &Tensor) -> Result<()> {
        let Some(s) = out.slot else {
            return Err(Error::config(
                "backward_with",
                "out",
                "does not depend on any parameter (or the tape is no_grad)",
            ));
        };
        self.check_backend(grad, "backward_with gradient")?;
        if grad.numel() != out.value.numel() || grad.dtype() != DType::F32 {
            return Err(Error::shape(
                "backward_with gradient",
                format!("{} f32 values (the shape of out, {:?})", out.value.numel(), out.shape()),
                format!("{:?} {:?}", grad.dtype(), grad.shape()),
            ));
        }
        let seed = self.grads.acc(&self.be, s)?;
        let n = grad.numel();
        if n > 0 {
            let q = AxpbyParams { n: n as u32, a: 1.0, ..Default::default() };
            self.be.launch(&SCALE_ACC, bytemuck::bytes_of(&q), n as u32, &[grad.buffer(), seed.buffer()])?;
        }
        self.run_backward()
    }

    /// Every recorded node's backward, last first (the tape is consumed).
    fn run_backward(&self) -> Result<()> {
        let nodes = std::mem::take(&mut *self.nodes.borrow_mut());
        for n in nodes.iter().rev() {
            (n.backward)(&self.grads)?;
        }
        Ok(())
    }
}

/// dx += dy·wᵀ of a linear layer (when x needs a gradient).
fn linear_backward_x(
    g: &Grads,
    be: &Arc<dyn Backend>,
    p: &LinearParams,
    xs: Option<usize>,
    dy: &Tensor,
    w: &Tensor,
) -> Result<()> {
    if let Some(s) = xs {
        let (dx, fresh) = g.acc_or_fresh(be, s)?;
        let (k, b, i, _) = p.dims();
        let p = LinearParams { fresh: fresh as u32, ..*p };
        be.launch(&LINEAR_BWD_X, bytemuck::bytes_of(&p), (k * b * i) as u32, &[dy.buffer(), w.buffer(), dx.buffer()])?;
    }
    Ok(())
}

/// dw += xᵀ·dy and db += Σ dy of a linear layer (one kernel; a side that needs no gradient
/// writes a scratch).
#[allow(clippy::too_many_arguments)]
fn linear_backward_w(
    g: &Grads,
    be: &Arc<dyn Backend>,
    p: &LinearParams,
    w: &Tensor,
    dummy: &Tensor,
    wsl: Option<usize>,
    bs: Option<usize>,
    x: &Tensor,
    dy: &Tensor,
) -> Result<()> {
    let dw = match wsl {
        Some(s) => g.acc(be, s)?,
        None => w.zeros_like()?,
    };
    let (db, pb) = match bs {
        Some(s) => (g.acc(be, s)?, *p),
        None => (dummy.clone(), LinearParams { has_bias: 0, ..*p }),
    };
    let (k, _, i, o) = p.dims();
    be.launch(
        &LINEAR_BWD_W,
        bytemuck::bytes_of(&pb),
        (k * i * o) as u32,
        &[x.buffer(), dy.buffer(), dw.buffer(), db.buffer()],
    )
}

/// The rollout's constants of [`Tape::ppo_objective`] (N samples each, f32).
pub struct PpoTargets<'a> {
    /// log π_old of the taken actions.
    pub old_logp: &'a Tensor,
    /// The rollout's values.
    pub old_value: &'a Tensor,
    /// Advantages.
    pub adv: &'a Tensor,
    /// Returns.
    pub ret: &'a Tensor,
    /// Sample weights (0: padding).
    pub weight: &'a Tensor,
}
