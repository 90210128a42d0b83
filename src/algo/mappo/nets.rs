//! The networks of MAPPO and mixed MAPPO (§VI-B): a parameter-shared recurrent actor
//! [obs → 64, 64 → 64, GRU 64, 64 → A·R] (ReLU after the two linear layers) over each agent's
//! partial observation, and K recurrent critics of the same shape [s → 64, 64 → 64, GRU 64,
//! 64 → 1] over the instance's global state s (§V-B: "both the critic and actor-network include
//! RNNs"), stored as one grouped ensemble (one launch per layer for all K).

use std::sync::Arc;

use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::error::Result;
use crate::nn::{Gru, Mlp};
use crate::ops::act::Act;
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::tensor::Tensor;

/// Prefix every parameter name of a GRU (several networks in one checkpoint).
fn prefix_gru(gru: &mut Gru, prefix: &str) {
    for l in &mut gru.layers {
        for p in [&mut l.w_x, &mut l.b_x, &mut l.w_h, &mut l.b_h] {
            p.name = format!("{prefix}.{}", p.name);
        }
    }
}

/// A recurrent network [in → H, H → H, GRU H, H → out], K copies.
pub struct Recurrent {
    /// The two ReLU layers.
    pub body: Mlp,
    /// The GRU.
    pub gru: Gru,
    /// The linear output layer.
    pub head: Mlp,
    /// K networks.
    pub k: usize,
    /// H.
    pub hidden: usize,
}

impl Recurrent {
    /// K networks of `input` → `output` with `hidden` units, seeded by `seed`, parameters
    /// named `name.…`.
    pub fn new(
        be: &Arc<dyn Backend>,
        name: &str,
        input: usize,
        hidden: usize,
        output: usize,
        k: usize,
        seed: u64,
    ) -> Result<Self> {
        let body = Mlp::new(be, &[input, hidden, hidden], k, Act::Relu, Some(Act::Relu), seed)?
            .with_prefix(&format!("{name}.body"));
        let mut gru = Gru::new(be, hidden, hidden, 1, k, seed ^ 0x6721)?;
        prefix_gru(&mut gru, name);
        let head =
            Mlp::new(be, &[hidden, output], k, Act::Relu, None, seed ^ 0x4ead)?.with_prefix(&format!("{name}.head"));
        Ok(Recurrent { body, gru, head, k, hidden })
    }

    /// Every parameter.
    pub fn params(&self) -> Vec<Param> {
        let mut p = self.body.params();
        p.extend(self.gru.params());
        p.extend(self.head.params());
        p
    }

    /// One step: x [K, B, I] and h [K, B, H] → (out [K, B, O], h′ [K, B, H]).
    pub fn step(&self, tape: &Tape, x: &Var, h: &Var) -> Result<(Var, Var)> {
        let (k, b) = (self.k, x.shape()[1]);
        let z = self.body.forward(tape, x)?;
        let z = tape.reshape(&z, &[k, 1, b, self.hidden])?;
        let g = self.gru.forward(tape, &z, Some(std::slice::from_ref(h)))?;
        let h2 = g.state.into_iter().next().expect("one layer");
        let y = self.head.forward(tape, &tape.reshape(&g.seq, &[k, b, self.hidden])?)?;
        Ok((y, h2))
    }

    /// A sequence x [K, T·B, I] (time-major rows) in chunks of `chunk` steps, each chunk
    /// starting from `starts[c]` [K, B, H] → out [K, T·B, O].
    pub fn sequence(&self, tape: &Tape, x: &Var, t: usize, chunk: usize, starts: &[Var]) -> Result<Var> {
        let (k, rows) = (self.k, x.shape()[1]);
        let b = rows / t;
        let z = self.body.forward(tape, x)?;
        let z = tape.reshape(&z, &[k, t, b, self.hidden])?;
        let starts: Vec<Vec<Var>> = starts.iter().map(|s| vec![s.clone()]).collect();
        let g = self.gru.forward_chunked(tape, &z, chunk, &starts)?;
        self.head.forward(tape, &tape.reshape(&g.seq, &[k, rows, self.hidden])?)
    }
}

/// `x` [n] repeated `k` times: [k, n] (a constant; glue copy with source stride 0).
pub fn repeat(x: &Tensor, k: usize) -> Result<Tensor> {
    let n = x.numel();
    let mut shape = vec![k];
    shape.extend_from_slice(x.shape());
    let y = Tensor::output(x.backend(), &shape)?;
    let p = CopyParams { d0: k as u32, d1: 1, d2: 1, n: n as u32, s0: 0, t0: n as u32, ..Default::default() };
    x.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), (k * n) as u32, &[x.buffer(), y.buffer()])?;
    Ok(y)
}

/// `x` [R] with each element repeated `n` times into `y` [R, n] (a team value to its agents).
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
