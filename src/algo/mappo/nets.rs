//! The networks of MAPPO, mixed MAPPO and MAA3C (§VI-B): a parameter-shared recurrent actor
//! [obs → 64, 64 → 64, GRU 64, 64 → A·R] (ReLU after the two linear layers) over each agent's
//! partial observation, and K recurrent critics of the same shape [s → 64, 64 → 64, GRU 64,
//! 64 → 1] over the instance's global state s (§V-B: "both the critic and actor-network include
//! RNNs"), stored as one grouped ensemble (one launch per layer for all K); MAA3C's actor and
//! critic are [in → 32, 32 → 96, LSTM 96 → 64, 64 → out].

use std::sync::Arc;

use super::config::Cell;
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::error::Result;
use crate::nn::{Gru, Lstm, Mlp};
use crate::ops::act::Act;
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::tensor::Tensor;

/// The recurrent core of a network.
pub enum Core {
    /// A GRU (state h).
    Gru(Gru),
    /// An LSTM (state h, c).
    Lstm(Lstm),
}

/// A recurrent network [in → h1, h1 → h2, GRU or LSTM H, H → out], K copies. Its state is one
/// [K, B, H] tensor per part (h; or h and c).
pub struct Recurrent {
    /// The two ReLU layers.
    pub body: Mlp,
    /// The recurrent cell.
    pub core: Core,
    /// The linear output layer.
    pub head: Mlp,
    /// K networks.
    pub k: usize,
    /// H, the recurrent units.
    pub hidden: usize,
}

impl Recurrent {
    /// K networks of `input` → `output` with `body` layer sizes and a `cell` of `hidden` units,
    /// seeded by `seed`, parameters named `name.…`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        be: &Arc<dyn Backend>,
        name: &str,
        input: usize,
        body: [usize; 2],
        cell: Cell,
        hidden: usize,
        output: usize,
        k: usize,
        seed: u64,
    ) -> Result<Self> {
        let mlp = Mlp::new(be, &[input, body[0], body[1]], k, Act::Relu, Some(Act::Relu), seed)?
            .with_prefix(&format!("{name}.body"));
        let core = match cell {
            Cell::Gru => {
                let mut gru = Gru::new(be, body[1], hidden, 1, k, seed ^ 0x6721)?;
                for l in &mut gru.layers {
                    for p in [&mut l.w_x, &mut l.b_x, &mut l.w_h, &mut l.b_h] {
                        p.name = format!("{name}.{}", p.name);
                    }
                }
                Core::Gru(gru)
            }
            Cell::Lstm => {
                let mut lstm = Lstm::new(be, body[1], hidden, 1, k, seed ^ 0x1577)?;
                for l in &mut lstm.layers {
                    for p in [&mut l.w_x, &mut l.w_h, &mut l.bias] {
                        p.name = format!("{name}.{}", p.name);
                    }
                }
                Core::Lstm(lstm)
            }
        };
        let head =
            Mlp::new(be, &[hidden, output], k, Act::Relu, None, seed ^ 0x4ead)?.with_prefix(&format!("{name}.head"));
        Ok(Recurrent { body: mlp, core, head, k, hidden })
    }

    /// Tensors of the state (1: h; 2: h and c).
    pub fn parts(&self) -> usize {
        match self.core {
            Core::Gru(_) => 1,
            Core::Lstm(_) => 2,
        }
    }

    /// Every parameter.
    pub fn params(&self) -> Vec<Param> {
        let mut p = self.body.params();
        p.extend(match &self.core {
            Core::Gru(g) => g.params(),
            Core::Lstm(l) => l.params(),
        });
        p.extend(self.head.params());
        p
    }

    /// One step: x [K, B, I] and the state (parts × [K, B, H]) → (out [K, B, O], state′).
    pub fn step(&self, tape: &Tape, x: &Var, state: &[Var]) -> Result<(Var, Vec<Var>)> {
        let (k, b) = (self.k, x.shape()[1]);
        let z = self.body.forward(tape, x)?;
        let z = tape.reshape(&z, &[k, 1, b, z.shape()[2]])?;
        let (seq, next) = match &self.core {
            Core::Gru(g) => {
                let o = g.forward(tape, &z, Some(&state[..1]))?;
                (o.seq, o.state)
            }
            Core::Lstm(l) => {
                let o = l.forward(tape, &z, Some(&[(state[0].clone(), state[1].clone())]))?;
                let (h, c) = o.state.into_iter().next().expect("one layer");
                (o.seq, vec![h, c])
            }
        };
        let y = self.head.forward(tape, &tape.reshape(&seq, &[k, b, self.hidden])?)?;
        Ok((y, next))
    }

    /// A sequence x [K, T·B, I] (time-major rows) in chunks of `chunk` steps, chunk c starting
    /// from `starts[c]` (parts × [K, B, H]) → out [K, T·B, O].
    pub fn sequence(&self, tape: &Tape, x: &Var, t: usize, chunk: usize, starts: &[Vec<Var>]) -> Result<Var> {
        let (k, rows) = (self.k, x.shape()[1]);
        let b = rows / t;
        let z = self.body.forward(tape, x)?;
        let z = tape.reshape(&z, &[k, t, b, z.shape()[2]])?;
        let seq = match &self.core {
            Core::Gru(g) => {
                let st: Vec<Vec<Var>> = starts.iter().map(|s| vec![s[0].clone()]).collect();
                g.forward_chunked(tape, &z, chunk, &st)?.seq
            }
            Core::Lstm(l) => {
                let st: Vec<Vec<(Var, Var)>> = starts.iter().map(|s| vec![(s[0].clone(), s[1].clone())]).collect();
                l.forward_chunked(tape, &z, chunk, &st)?.seq
            }
        };
        self.head.forward(tape, &tape.reshape(&seq, &[k, rows, self.hidden])?)
    }
}

/// `x` \[n\] repeated `k` times: [k, n] (a constant; glue copy with source stride 0).
pub fn repeat(x: &Tensor, k: usize) -> Result<Tensor> {
    let n = x.numel();
    let mut shape = vec![k];
    shape.extend_from_slice(x.shape());
    let y = Tensor::output(x.backend(), &shape)?;
    let p = CopyParams { d0: k as u32, d1: 1, d2: 1, n: n as u32, s0: 0, t0: n as u32, ..Default::default() };
    x.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), (k * n) as u32, &[x.buffer(), y.buffer()])?;
    Ok(y)
}

/// `x` \[R\] with each element repeated `n` times into `y` [R, n] (a team value to its agents).
pub fn spread(x: &Tensor, n: usize, y: &Tensor) -> Result<()> {
    let r = x.numel();
    let p =
        CopyParams { d0: r as u32, d1: n as u32, d2: 1, n: 1, s0: 1, s1: 0, t0: n as u32, t1: 1, ..Default::default() };
    x.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), (r * n) as u32, &[x.buffer(), y.buffer()])
}

/// φ(s) = Σ_n ς_n φ^n(s) (§V-B) of the K critics' values `v` [K, B]: ((ς_0 v_0 + ς_1 v_1) + ς_2 v_2) + …,
/// in critic order. \[B\].
pub fn combine(tape: &Tape, v: &Var, weights: &[f32]) -> Result<Var> {
    let k = weights.len();
    let b = v.value.numel() / k;
    let seq = tape.reshape(v, &[k, b, 1])?;
    let step = |n: usize| tape.reshape(&tape.time_step(&seq, n)?, &[b]);
    let v0 = step(0)?;
    let (mut acc, from) = if k == 1 {
        let zero = tape.constant(&Tensor::zeros(tape.backend(), &[b])?);
        (tape.add_scaled(&v0, weights[0], &zero, 0.0)?, 1)
    } else {
        (tape.add_scaled(&v0, weights[0], &step(1)?, weights[1])?, 2)
    };
    for (n, &w) in weights.iter().enumerate().skip(from) {
        let vn = tape.reshape(&tape.time_step(&seq, n)?, &[b])?;
        acc = tape.add_scaled(&acc, 1.0, &vn, w)?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{create, BackendKind};

    #[test]
    fn five_critics_average_by_hand() {
        let be = create(BackendKind::Cpu).unwrap();
        let tape = Tape::no_grad(&be);
        // K = 5 critics × B = 2 instances
        let v = [1.0f32, -2.0, 3.0, 4.0, -5.0, 0.5, 10.0, 0.0, 2.5, -1.5];
        let t = Tensor::from_f32(&be, &[5, 2], &v).unwrap();
        let phi = combine(&tape, &tape.constant(&t), &[0.2; 5]).unwrap().value.to_vec().unwrap();
        // instance 0: 0.2·(1 + 3 − 5 + 10 + 2.5) = 2.3; instance 1: 0.2·(−2 + 4 + 0.5 + 0 − 1.5) = 0.2
        assert!((phi[0] - 2.3).abs() < 1e-6 && (phi[1] - 0.2).abs() < 1e-6, "{phi:?}");
        // unequal weights: 0.5·v0 + 0.5·v4
        let phi = combine(&tape, &tape.constant(&t), &[0.5, 0.0, 0.0, 0.0, 0.5]).unwrap().value.to_vec().unwrap();
        assert_eq!(phi, vec![0.5 * 1.0 + 0.5 * 2.5, 0.5 * -2.0 + 0.5 * -1.5]);
    }

    #[test]
    fn repeat_and_spread() {
        let be = create(BackendKind::Cpu).unwrap();
        let x = Tensor::from_f32(&be, &[2], &[1.0, 2.0]).unwrap();
        assert_eq!(repeat(&x, 3).unwrap().to_vec().unwrap(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        let y = Tensor::zeros(&be, &[2, 3]).unwrap();
        spread(&x, 3, &y).unwrap();
        assert_eq!(y.to_vec().unwrap(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    }
}
