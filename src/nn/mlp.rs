//! A multilayer perceptron, optionally an ensemble of K identical networks (one per agent or
//! critic) stored as one grouped parameter set: every layer is one `linear` launch for all K.

use std::sync::Arc;

use super::init;
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ops::act::Act;
use crate::tensor::Tensor;

/// Layers `sizes[0] → sizes[1] → …`, the hidden activation after every layer but the last, and
/// an optional output activation.
pub struct Mlp {
    /// (weights [K, I, O], bias [K, O]) per layer.
    pub layers: Vec<(Param, Param)>,
    /// K networks.
    pub k: usize,
    /// Hidden activation.
    pub hidden: Act,
    /// Output activation (none: linear output).
    pub output: Option<Act>,
}

impl Mlp {
    /// Xavier-uniform weights and zero biases, seeded by `seed`.
    pub fn new(
        be: &Arc<dyn Backend>,
        sizes: &[usize],
        k: usize,
        hidden: Act,
        output: Option<Act>,
        seed: u64,
    ) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::config(
                "mlp.sizes",
                format!("{sizes:?}"),
                "at least an input and an output size, all >= 1",
            ));
        }
        if k == 0 {
            return Err(Error::config("mlp.k", 0, "at least one network"));
        }
        let mut layers = vec![];
        for (l, w) in sizes.windows(2).enumerate() {
            let (i, o) = (w[0], w[1]);
            let wv = init::xavier_uniform(seed, l as u32, i, o, k * i * o);
            let weight = Param::new(format!("layer{l}.weight"), Tensor::from_f32(be, &[k, i, o], &wv)?)?;
            let bias = Param::new(format!("layer{l}.bias"), Tensor::zeros(be, &[k, o])?)?;
            layers.push((weight, bias));
        }
        Ok(Mlp { layers, k, hidden, output })
    }

    /// Prefix every parameter name with `prefix.` (several networks in one checkpoint).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        for (w, b) in &mut self.layers {
            w.name = format!("{prefix}.{}", w.name);
            b.name = format!("{prefix}.{}", b.name);
        }
        self
    }

    /// Every parameter (weights and biases, layer by layer).
    pub fn params(&self) -> Vec<Param> {
        self.layers.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect()
    }

    /// x [K, B, I] → [K, B, O].
    pub fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (l, (w, b)) in self.layers.iter().enumerate() {
            h = tape.linear(&h, &tape.param(w), Some(&tape.param(b)))?;
            let act = if l == last { self.output } else { Some(self.hidden) };
            if let Some(a) = act {
                h = tape.act(&h, a)?;
            }
        }
        Ok(h)
    }
}
