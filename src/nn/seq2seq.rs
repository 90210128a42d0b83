//! The MRLCO policy (MRLCO paper §4.2, Fig. 4): a sequence-to-sequence network with attention
//! that reads a DAG's task embeddings in rank order and emits one offloading decision per task,
//! with a value head beside the policy head. Built only from tape ops: `linear`, `layer_norm`,
//! `act`, the [`Lstm`] module, `attention` and the sequence glue.
//!
//! Layout (time-major like every sequence of [`crate::nn`]; K ensemble members as one grouped
//! parameter set; a step is [K, B, ·]):
//! - task embedding: u_i = tanh(LN(W_emb·t_i + b_emb)), width E = `hidden`
//! - encoder (eq. 12): e = LSTM_enc(u) [K, T, B, H]; the keys W2·e are computed once per
//!   sequence (they do not depend on the decoder step)
//! - decoder, step j (eq. 13–15): q = W1·d_{j−1}; (c_j, α_j) = attention(q, W2·e, v, e, mask);
//!   x_j = u_j + W_a·onehot(a_{j−1}) + W_c·c_j (the sum of the projections of the
//!   concatenation [u_j; a_{j−1}; c_j]); (d_j, state) = LSTM_dec(x_j, state). The decoder
//!   starts from the encoder's final state, d_0 = the encoder's last top-layer output (or from
//!   zeros: [`Seq2SeqConfig::decoder_from_encoder`]), and a_{−1} is a start token (one-hot
//!   index `actions`)
//! - heads: y_j = tanh(LN(d_j)); logits_j = W_π·y_j + b_π [K, B, actions];
//!   value_j = w_v·y_j + b_v [K, B]
//!
//! [`Seq2Seq::forward`] runs the decoder teacher-forced with given actions (PPO's pass over
//! stored rollouts); [`Seq2Seq::decode`] samples each action (or takes the most likely one) and
//! feeds it to the next step (rollouts, under [`Tape::no_grad`]). Both produce the same logits
//! for the same actions. Padded steps (graphs shorter than T, at the end of their sequence) are
//! excluded from the attention by the mask; the caller masks them out of the losses.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::init;
use super::rnn::{seq_dims, Lstm};
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ops::act::Act;
use crate::tensor::{DType, Tensor};

/// Philox tag of the Seq2Seq tensor `sub` (the LSTMs use their own seeds).
fn tag(sub: u32) -> u32 {
    0x53 << 24 | sub
}

/// Sizes and seed of a [`Seq2Seq`] (a TOML table in experiment configs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seq2SeqConfig {
    /// Features F of a task embedding (index, normalized costs, parent and child indices).
    pub features: usize,
    /// Units H of every LSTM layer, also the width E of the task embedding (paper: 256).
    pub hidden: usize,
    /// LSTM layers of the encoder and of the decoder (paper: 2).
    pub layers: usize,
    /// Units A of the attention's score network (the width of W1·d and W2·e).
    pub attention: usize,
    /// Actions per step: the policy's logits (MRLCO: 2, local or offload).
    pub actions: usize,
    /// Ensemble members K (one grouped parameter set).
    pub k: usize,
    /// ε of the layer norms.
    pub ln_eps: f32,
    /// Start the decoder from the encoder's final state, d_0 = its last top-layer output (the
    /// published MRLCO code; the encoder's final state has read any padding at the end of a
    /// shorter sequence). `false`: the decoder starts from zeros, so padded steps after a
    /// sequence's end change nothing at its real steps (the attention mask hides them).
    pub decoder_from_encoder: bool,
    /// Seed of the initializers (Philox).
    pub seed: u64,
}

impl Seq2SeqConfig {
    /// The paper's sizes (2 × 256-unit LSTMs, 256 attention units, 2 actions, K = 1) over
    /// `features` per task.
    pub fn mrlco(features: usize) -> Self {
        Seq2SeqConfig {
            features,
            hidden: 256,
            layers: 2,
            attention: 256,
            actions: 2,
            k: 1,
            ln_eps: 1e-5,
            decoder_from_encoder: true,
            seed: 0,
        }
    }

    /// Every size ≥ 1 and ε finite and ≥ 0.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("seq2seq.features", self.features),
            ("seq2seq.hidden", self.hidden),
            ("seq2seq.layers", self.layers),
            ("seq2seq.attention", self.attention),
            ("seq2seq.actions", self.actions),
            ("seq2seq.k", self.k),
        ] {
            if v == 0 {
                return Err(Error::config(field, v, "must be >= 1"));
            }
        }
        if !(self.ln_eps.is_finite() && self.ln_eps >= 0.0) {
            return Err(Error::config("seq2seq.ln_eps", self.ln_eps, "must be finite and >= 0"));
        }
        Ok(())
    }
}

/// What [`Seq2Seq::forward`] returns.
pub struct Seq2SeqOutput {
    /// Policy logits [K, T, B, actions] (or [T, B, actions] for an input [T, B, F]).
    pub logits: Var,
    /// Values [K, T, B] (or [T, B]).
    pub values: Var,
}

/// How [`Seq2Seq::decode`] picks each action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decode {
    /// Draw from the policy through Philox under `seed`, decoder step j at sampling step
    /// `step + j` (give each rollout its own `step` range).
    Sample {
        /// Philox key.
        seed: u64,
        /// Sampling step of decoder step 0.
        step: u32,
    },
    /// The most likely action (the paper's inference, a = argmax π).
    Greedy,
}

/// What [`Seq2Seq::decode`] returns (device tensors; nothing is downloaded).
pub struct Seq2SeqRollout {
    /// The chosen actions, u32 [K, T, B] (or [T, B]).
    pub actions: Tensor,
    /// log π(a_j | s_j) of the chosen actions, [K, T, B] (or [T, B]).
    pub logp: Tensor,
    /// The value estimates, [K, T, B] (or [T, B]).
    pub values: Tensor,
}

/// The MRLCO seq2seq policy and value network. See the module documentation.
pub struct Seq2Seq {
    /// The configuration it was built with.
    pub cfg: Seq2SeqConfig,
    /// Task embedding weights [K, F, E].
    pub emb_w: Param,
    /// Task embedding bias [K, E].
    pub emb_b: Param,
    /// Task embedding layer-norm gain [K, E].
    pub emb_gain: Param,
    /// Task embedding layer-norm bias [K, E].
    pub emb_bias: Param,
    /// The encoder LSTM (E → H).
    pub encoder: Lstm,
    /// The decoder LSTM (E → H).
    pub decoder: Lstm,
    /// W1 [K, H, A]: the decoder state's part of the score.
    pub att_w1: Param,
    /// W2 [K, H, A]: the encoder outputs' part of the score.
    pub att_w2: Param,
    /// v [K, A]: the score's output weights.
    pub att_v: Param,
    /// Embedding of the previous action [K, actions + 1, E] (row `actions`: the start token).
    pub act_w: Param,
    /// Projection of the context into the decoder input [K, H, E].
    pub ctx_w: Param,
    /// Decoder output layer-norm gain [K, H].
    pub out_gain: Param,
    /// Decoder output layer-norm bias [K, H].
    pub out_bias: Param,
    /// Policy head weights [K, H, actions].
    pub pi_w: Param,
    /// Policy head bias [K, actions].
    pub pi_b: Param,
    /// Value head weights [K, H, 1].
    pub v_w: Param,
    /// Value head bias [K, 1].
    pub v_b: Param,
}

/// The parameters bound on one tape.
struct Bound {
    emb_w: Var,
    emb_b: Var,
    emb_gain: Var,
    emb_bias: Var,
    w1: Var,
    w2: Var,
    v: Var,
    act_w: Var,
    ctx_w: Var,
    out_gain: Var,
    out_bias: Var,
    pi_w: Var,
    pi_b: Var,
    v_w: Var,
    v_b: Var,
}

/// The encoder's results for a batch of sequences.
struct Encoded {
    k: usize,
    t: usize,
    b: usize,
    grouped: bool,
    /// Task embeddings u [K, T, B, E].
    emb: Var,
    /// Encoder outputs e [K, T, B, H].
    seq: Var,
    /// W2·e [K, T, B, A].
    keys: Var,
    /// The real steps for the attention.
    mask: Option<Tensor>,
}

/// The decoder's recurrent state between steps.
struct DecState {
    state: Vec<(Var, Var)>,
    /// d_{j−1}: the top layer's last output [K, B, H].
    d: Var,
}

impl Seq2Seq {
    /// A network of `cfg`'s sizes on `be`, initialized from `cfg.seed`: Xavier-uniform
    /// matrices, zero biases, unit layer-norm gains, the [`Lstm`] initialization.
    pub fn new(be: &Arc<dyn Backend>, cfg: Seq2SeqConfig) -> Result<Self> {
        cfg.validate()?;
        let (k, f, h, a, c) = (cfg.k, cfg.features, cfg.hidden, cfg.attention, cfg.actions);
        let e = h;
        let seed = cfg.seed;
        let xavier = |name: &str, sub: u32, shape: [usize; 3]| -> Result<Param> {
            let [_, i, o] = shape;
            let w = init::xavier_uniform(seed, tag(sub), i, o, k * i * o);
            Param::new(name, Tensor::from_f32(be, &shape, &w)?)
        };
        let zeros = |name: &str, n: usize| -> Result<Param> { Param::new(name, Tensor::zeros(be, &[k, n])?) };
        let ones = |name: &str, n: usize| -> Result<Param> {
            Param::new(name, Tensor::from_f32(be, &[k, n], &vec![1.0; k * n])?)
        };
        let named = |mut lstm: Lstm, prefix: &str| {
            for l in &mut lstm.layers {
                for p in [&mut l.w_x, &mut l.w_h, &mut l.bias] {
                    p.name = format!("{prefix}.{}", p.name);
                }
            }
            lstm
        };
        let v = init::xavier_uniform(seed, tag(6), a, 1, k * a);
        Ok(Seq2Seq {
            emb_w: xavier("seq2seq.emb.w", 1, [k, f, e])?,
            emb_b: zeros("seq2seq.emb.b", e)?,
            emb_gain: ones("seq2seq.emb.ln_gain", e)?,
            emb_bias: zeros("seq2seq.emb.ln_bias", e)?,
            encoder: named(Lstm::new(be, e, h, cfg.layers, k, seed ^ 0xE7C0)?, "seq2seq.encoder"),
            decoder: named(Lstm::new(be, e, h, cfg.layers, k, seed ^ 0xDEC0)?, "seq2seq.decoder"),
            att_w1: xavier("seq2seq.att.w1", 4, [k, h, a])?,
            att_w2: xavier("seq2seq.att.w2", 5, [k, h, a])?,
            att_v: Param::new("seq2seq.att.v", Tensor::from_f32(be, &[k, a], &v)?)?,
            act_w: xavier("seq2seq.act.w", 7, [k, c + 1, e])?,
            ctx_w: xavier("seq2seq.ctx.w", 8, [k, h, e])?,
            out_gain: ones("seq2seq.out.ln_gain", h)?,
            out_bias: zeros("seq2seq.out.ln_bias", h)?,
            pi_w: xavier("seq2seq.pi.w", 9, [k, h, c])?,
            pi_b: zeros("seq2seq.pi.b", c)?,
            v_w: xavier("seq2seq.value.w", 10, [k, h, 1])?,
            v_b: zeros("seq2seq.value.b", 1)?,
            cfg,
        })
    }

    /// Every parameter (embedding, encoder, decoder, attention, action and context
    /// projections, output norm, heads).
    pub fn params(&self) -> Vec<Param> {
        let mut p = vec![self.emb_w.clone(), self.emb_b.clone(), self.emb_gain.clone(), self.emb_bias.clone()];
        p.extend(self.encoder.params());
        p.extend(self.decoder.params());
        p.extend(
            [
                &self.att_w1,
                &self.att_w2,
                &self.att_v,
                &self.act_w,
                &self.ctx_w,
                &self.out_gain,
                &self.out_bias,
                &self.pi_w,
                &self.pi_b,
                &self.v_w,
                &self.v_b,
            ]
            .map(|p| p.clone()),
        );
        p
    }

    fn bind(&self, tape: &Tape) -> Bound {
        Bound {
            emb_w: tape.param(&self.emb_w),
            emb_b: tape.param(&self.emb_b),
            emb_gain: tape.param(&self.emb_gain),
            emb_bias: tape.param(&self.emb_bias),
            w1: tape.param(&self.att_w1),
            w2: tape.param(&self.att_w2),
            v: tape.param(&self.att_v),
            act_w: tape.param(&self.act_w),
            ctx_w: tape.param(&self.ctx_w),
            out_gain: tape.param(&self.out_gain),
            out_bias: tape.param(&self.out_bias),
            pi_w: tape.param(&self.pi_w),
            pi_b: tape.param(&self.pi_b),
            v_w: tape.param(&self.v_w),
            v_b: tape.param(&self.v_b),
        }
    }

    /// The task embeddings, the encoder's outputs and keys, and the decoder's initial state.
    fn encode(&self, tape: &Tape, pv: &Bound, x: &Var, mask: Option<&Tensor>) -> Result<(Encoded, DecState)> {
        let (k, f, h) = (self.cfg.k, self.cfg.features, self.cfg.hidden);
        let (t, b, _, grouped) = seq_dims("seq2seq input (task embeddings)", x, k, f)?;
        let eps = self.cfg.ln_eps;
        // u = tanh(LN(W_emb·t + b_emb)) for all T·B tasks at once
        let z = tape.linear(&tape.reshape(x, &[k, t * b, f])?, &pv.emb_w, Some(&pv.emb_b))?;
        let u = tape.act(&tape.layer_norm(&z, &pv.emb_gain, &pv.emb_bias, eps)?, Act::Tanh)?;
        let emb = tape.reshape(&u, &[k, t, b, h])?;
        // eq. 12: e_i = f_enc(t_i, e_{i−1})
        let out = self.encoder.forward(tape, &emb, None)?;
        let keys = tape.linear(&tape.reshape(&out.seq, &[k, t * b, h])?, &pv.w2, None)?;
        let keys = tape.reshape(&keys, &[k, t, b, self.cfg.attention])?;
        let enc = Encoded { k, t, b, grouped, emb, seq: out.seq, keys, mask: mask.cloned() };
        let st = if self.cfg.decoder_from_encoder {
            let d = out.state.last().expect("layers >= 1").0.clone();
            DecState { state: out.state, d }
        } else {
            let zero = tape.constant(&Tensor::zeros(tape.backend(), &[k, b, h])?);
            DecState { state: vec![(zero.clone(), zero.clone()); self.cfg.layers], d: zero }
        };
        Ok((enc, st))
    }

    /// W_a·onehot(a) for actions a, u32 with K·R elements: [K, R, E].
    fn action_embedding(&self, tape: &Tape, pv: &Bound, a: &Tensor, k: usize) -> Result<Var> {
        let r = a.numel() / k;
        let oh = tape.one_hot(&a.reshape(&[k, r])?, self.cfg.actions + 1)?;
        tape.linear(&tape.constant(&oh), &pv.act_w, None)
    }

    /// One decoder step from the previous action's embedding `prev` [K, B, E]: (logits
    /// [K, B, actions], value [K, B, 1]).
    fn step(
        &self,
        tape: &Tape,
        pv: &Bound,
        enc: &Encoded,
        j: usize,
        prev: &Var,
        st: &mut DecState,
    ) -> Result<(Var, Var)> {
        let (k, b, h) = (enc.k, enc.b, self.cfg.hidden);
        // eq. 14–15: c_j = Σ_i α_ji e_i, α_j = softmax_i vᵀ tanh(W1 d_{j−1} + W2 e_i)
        let q = tape.linear(&st.d, &pv.w1, None)?;
        let (ctx, _) = tape.attention(&q, &enc.keys, &pv.v, &enc.seq, enc.mask.as_ref())?;
        // eq. 13: d_j = f_dec(d_{j−1}, a_{j−1}, c_j), input u_j + W_a·a_{j−1} + W_c·c_j
        let x = tape.add_scaled(&tape.time_step(&enc.emb, j)?, 1.0, prev, 1.0)?;
        let x = tape.add_scaled(&x, 1.0, &tape.linear(&ctx, &pv.ctx_w, None)?, 1.0)?;
        let out = self.decoder.forward(tape, &tape.reshape(&x, &[k, 1, b, h])?, Some(&st.state))?;
        st.d = tape.reshape(&out.seq, &[k, b, h])?;
        st.state = out.state;
        let y = tape.act(&tape.layer_norm(&st.d, &pv.out_gain, &pv.out_bias, self.cfg.ln_eps)?, Act::Tanh)?;
        let logits = tape.linear(&y, &pv.pi_w, Some(&pv.pi_b))?;
        let value = tape.linear(&y, &pv.v_w, Some(&pv.v_b))?;
        Ok((logits, value))
    }

    /// The start token's embedding for every (member, sequence): [K, B, E].
    fn start(&self, tape: &Tape, pv: &Bound, k: usize, b: usize) -> Result<Var> {
        let tok = Tensor::from_u32(tape.backend(), &[k, b], &vec![self.cfg.actions as u32; k * b])?;
        self.action_embedding(tape, pv, &tok, k)
    }

    /// The actions as u32 [K, T, B] (given as [T, B] or [K, T, B]).
    fn check_actions(&self, enc: &Encoded, actions: &Tensor, tape: &Tape) -> Result<Tensor> {
        let (k, t, b) = (enc.k, enc.t, enc.b);
        actions.expect(DType::U32, "seq2seq actions")?;
        if actions.backend().kind() != tape.backend().kind() {
            return Err(Error::device(tape.backend().kind().to_string(), "seq2seq actions live on another backend"));
        }
        let ok = actions.shape() == [k, t, b] || (k == 1 && actions.shape() == [t, b]);
        if !ok {
            return Err(Error::shape(
                "seq2seq actions",
                format!("[{k}, {t}, {b}] or (K = 1) [{t}, {b}]"),
                format!("{:?}", actions.shape()),
            ));
        }
        actions.reshape(&[k, t, b])
    }

    /// Teacher-forced pass over whole sequences: task embeddings x [K, T, B, F] (or
    /// [T, B, F]), the actions taken, u32 [K, T, B] (or [T, B]; an action ≥ `actions` embeds
    /// as zero), and an optional mask of real steps, u32 [T, B] or [K, T, B] (see
    /// [`Tape::attention`]) → logits and values at every step.
    pub fn forward(&self, tape: &Tape, x: &Var, actions: &Tensor, mask: Option<&Tensor>) -> Result<Seq2SeqOutput> {
        let pv = self.bind(tape);
        let (enc, mut st) = self.encode(tape, &pv, x, mask)?;
        let actions = self.check_actions(&enc, actions, tape)?;
        let (k, t, b, h, c) = (enc.k, enc.t, enc.b, self.cfg.hidden, self.cfg.actions);
        // the embeddings of all given actions at once; step j reads action j − 1
        let taken = tape.reshape(&self.action_embedding(tape, &pv, &actions, k)?, &[k, t, b, h])?;
        let mut prev = self.start(tape, &pv, k, b)?;
        let (mut logits, mut values) = (Vec::with_capacity(t), Vec::with_capacity(t));
        for j in 0..t {
            let (lg, v) = self.step(tape, &pv, &enc, j, &prev, &mut st)?;
            logits.push(lg);
            values.push(v);
            if j + 1 < t {
                prev = tape.time_step(&taken, j)?;
            }
        }
        let logits = tape.stack_steps(&logits)?;
        let values = tape.stack_steps(&values)?;
        let (ls, vs): (Vec<usize>, Vec<usize>) =
            if enc.grouped { (vec![k, t, b, c], vec![k, t, b]) } else { (vec![t, b, c], vec![t, b]) };
        Ok(Seq2SeqOutput { logits: tape.reshape(&logits, &ls)?, values: tape.reshape(&values, &vs)? })
    }

    /// Decode whole sequences, each action fed to the next step: task embeddings x
    /// [K, T, B, F] (or [T, B, F]) and an optional mask (as in [`Seq2Seq::forward`]) → the
    /// actions, their log-probabilities and the values, on the device. Meant for rollouts under
    /// [`Tape::no_grad`]; [`Seq2Seq::forward`] with the returned actions reproduces the logits.
    pub fn decode(&self, tape: &Tape, x: &Var, mask: Option<&Tensor>, how: Decode) -> Result<Seq2SeqRollout> {
        let pv = self.bind(tape);
        let (enc, mut st) = self.encode(tape, &pv, x, mask)?;
        let (k, t, b, c) = (enc.k, enc.t, enc.b, self.cfg.actions);
        let mut prev = self.start(tape, &pv, k, b)?;
        let (mut acts, mut logps, mut values) = (vec![], vec![], vec![]);
        for j in 0..t {
            let (lg, v) = self.step(tape, &pv, &enc, j, &prev, &mut st)?;
            let logp = tape.log_softmax(&tape.reshape(&lg, &[k * b, c])?, None)?;
            let a = match how {
                Decode::Sample { seed, step } => tape.sample(&logp, seed, step.wrapping_add(j as u32))?,
                Decode::Greedy => tape.argmax(&logp)?,
            };
            // [K, B, 1] steps stack to [K, T, B, 1]
            logps.push(tape.reshape(&tape.gather(&logp, &a)?, &[k, b, 1])?);
            values.push(v);
            let a = a.reshape(&[k, b])?;
            if j + 1 < t {
                prev = self.action_embedding(tape, &pv, &a, k)?;
            }
            acts.push(a);
        }
        let actions = tape.stack_indices(&acts)?;
        let logp = tape.stack_steps(&logps)?.value;
        let values = tape.stack_steps(&values)?.value;
        let shape: Vec<usize> = if enc.grouped { vec![k, t, b] } else { vec![t, b] };
        Ok(Seq2SeqRollout {
            actions: actions.reshape(&shape)?,
            logp: logp.reshape(&shape)?,
            values: values.reshape(&shape)?,
        })
    }
}
