//! The CRB-DRQN Q-network (§4.2, Fig. 2): (η, μ^comp, μ^tran, q_{d,1..E}) → a fully connected
//! ReLU layer; the C rows of Load(t) → an LSTM whose last output Load(t)_c joins it; two fully
//! connected ReLU layers over the concatenation; the dueling head (eq. 20). The concatenation
//! is not materialized: the first layer after it is W_o·f + W_l·h + b, two products summed.

use std::sync::Arc;

use super::config::CrbDrqnConfig;
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::error::Result;
use crate::nn::heads::DuelingHead;
use crate::nn::init;
use crate::nn::mlp::Mlp;
use crate::nn::rnn::LstmOverHistory;
use crate::ops::act::Act;
use crate::ops::glue::{CopyParams, GLUE_COPY};
use crate::tensor::Tensor;

/// One Q-network (the evaluation, target and terminal copies share this shape).
pub struct DrqnNet {
    /// F → obs_hidden, ReLU.
    pub obs_fc: Mlp,
    /// The LSTM over the rows of Load(t).
    pub load: LstmOverHistory,
    /// The first layer after the concatenation: W_o \[1, obs_hidden, H1\].
    pub merge_obs: Param,
    /// W_l \[1, lstm_hidden, H1\].
    pub merge_load: Param,
    /// b \[1, H1\].
    pub merge_bias: Param,
    /// H1 → H2, ReLU.
    pub fc2: Mlp,
    /// The dueling head (eq. 20) over H2.
    pub head: DuelingHead,
    /// 1 + E actions.
    pub actions: usize,
}

impl DrqnNet {
    /// A network `name` (its parameters' prefix) for observations of `f` words, Load(t) of
    /// C × `servers`, 1 + `servers` actions; weights from `seed`.
    pub fn new(
        be: &Arc<dyn Backend>,
        name: &str,
        cfg: &CrbDrqnConfig,
        f: usize,
        servers: usize,
        c: usize,
        seed: u64,
    ) -> Result<Self> {
        let (oh, lh, [h1, h2]) = (cfg.obs_hidden, cfg.lstm_hidden, cfg.hidden);
        let obs_fc =
            Mlp::new(be, &[f, oh], 1, Act::Relu, Some(Act::Relu), seed)?.with_prefix(&format!("{name}.obs_fc"));
        let mut load = LstmOverHistory::new(be, servers, lh, 1, c, 1, seed ^ 0x10AD)?;
        for l in &mut load.lstm.layers {
            for p in [&mut l.w_x, &mut l.w_h, &mut l.bias] {
                p.name = format!("{name}.load.{}", p.name);
            }
        }
        // W [oh + lh, H1] Xavier-uniform over the concatenation, split into its two blocks
        let w = init::xavier_uniform(seed ^ 0x3E26, 0, oh + lh, h1, (oh + lh) * h1);
        let merge_obs = Param::new(format!("{name}.merge.obs"), Tensor::from_f32(be, &[1, oh, h1], &w[..oh * h1])?)?;
        let merge_load = Param::new(format!("{name}.merge.load"), Tensor::from_f32(be, &[1, lh, h1], &w[oh * h1..])?)?;
        let merge_bias = Param::new(format!("{name}.merge.bias"), Tensor::zeros(be, &[1, h1])?)?;
        let fc2 =
            Mlp::new(be, &[h1, h2], 1, Act::Relu, Some(Act::Relu), seed ^ 0xFC2)?.with_prefix(&format!("{name}.fc2"));
        let actions = servers + 1;
        let mut head = DuelingHead::new(be, h2, &[], actions, 1, Act::Relu, seed ^ 0xD0E1)?;
        for (w, b) in head.value.layers.iter_mut().chain(head.advantage.layers.iter_mut()) {
            w.name = format!("{name}.{}", w.name);
            b.name = format!("{name}.{}", b.name);
        }
        Ok(DrqnNet { obs_fc, load, merge_obs, merge_load, merge_bias, fc2, head, actions })
    }

    /// Every parameter, in a fixed order.
    pub fn params(&self) -> Vec<Param> {
        let mut p = self.obs_fc.params();
        p.extend(self.load.params());
        p.extend([self.merge_obs.clone(), self.merge_load.clone(), self.merge_bias.clone()]);
        p.extend(self.fc2.params());
        p.extend(self.head.params());
        p
    }

    /// Q [R, 1 + E] of observations `obs` [R, F] and Load(t) `load` [R / spread, C, E]: row r
    /// reads load row r / `spread` (the terminals of one instance share its Load(t); `spread` > 1
    /// only without gradients, for acting).
    pub fn forward(&self, tape: &Tape, obs: &Var, load: &Var, spread: usize) -> Result<Var> {
        let r = obs.shape()[0];
        let x = tape.reshape(obs, &[1, r, obs.shape()[1]])?;
        let f = self.obs_fc.forward(tape, &x)?;
        let h = self.load.forward(tape, load)?;
        let h = if spread > 1 { tape.constant(&broadcast_rows(&h.value, spread)?) } else { h };
        let h = tape.reshape(&h, &[1, r, self.load.lstm.hidden])?;
        let zo = tape.linear(&f, &tape.param(&self.merge_obs), Some(&tape.param(&self.merge_bias)))?;
        let zl = tape.linear(&h, &tape.param(&self.merge_load), None)?;
        let z = tape.act(&tape.add_scaled(&zo, 1.0, &zl, 1.0)?, Act::Relu)?;
        let z = self.fc2.forward(tape, &z)?;
        self.head.forward(tape, &z)
    }
}

/// Rows of `x` [R, H] each repeated `n` times: [R·n, H] (glue copy, source stride 0 on the repeat).
fn broadcast_rows(x: &Tensor, n: usize) -> Result<Tensor> {
    let s = x.shape();
    let (r, h) = (s[0], s[s.len() - 1]);
    let y = Tensor::output(x.backend(), &[r * n, h])?;
    let p = CopyParams {
        d0: r as u32,
        d1: n as u32,
        d2: 1,
        n: h as u32,
        s0: h as u32,
        s1: 0,
        t0: (n * h) as u32,
        t1: h as u32,
        ..Default::default()
    };
    x.backend().launch(&GLUE_COPY, bytemuck::bytes_of(&p), (r * n * h) as u32, &[x.buffer(), y.buffer()])?;
    Ok(y)
}
