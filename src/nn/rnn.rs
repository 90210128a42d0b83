//! Recurrent modules built from the tape's ops: a multi-layer [`Lstm`] and [`Gru`] over
//! time-major sequences, and [`LstmOverHistory`] (the CRB-DRQN load encoder). Like
//! [`super::Mlp`], each may be an ensemble of K identical networks stored as one grouped
//! parameter set: a sequence is [T, B, F] (K = 1) or [K, T, B, F].
//!
//! Per layer, the input projection of all T steps is one grouped `linear` ([K, T·B, I] →
//! [K, T·B, G·H]); each step then takes its slice (`time_step`), adds the recurrent projection
//! h·W_h (one `linear` for the K networks) and applies the fused cell. Nothing leaves the device.
//!
//! Initialization: input weights Xavier-uniform, recurrent weights orthogonal per gate block
//! ([`init::orthogonal`], H×H each), biases zero except the LSTM forget gate's, set to 1
//! (Jozefowicz et al., 2015), all seeded through Philox.

use std::sync::Arc;

use super::init;
use crate::autograd::{Param, Tape, Var};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Philox tag of layer `l`'s tensor `sub` in a module family (`family` tells LSTM from GRU).
fn tag(family: u32, l: usize, sub: usize) -> u32 {
    family << 24 | ((l as u32 & 0xFF) << 16) | (sub as u32 & 0xFFFF)
}

/// Recurrent weights [K, H, G·H]: an orthogonal H×H block per (network, gate).
fn recurrent_weights(seed: u64, family: u32, l: usize, k: usize, h: usize, gates: usize) -> Vec<f32> {
    let mut w = vec![0.0f32; k * h * gates * h];
    for kk in 0..k {
        for q in 0..gates {
            let block = init::orthogonal(seed, tag(family, l, 1 + kk * gates + q), h, h, 1.0);
            for i in 0..h {
                let row = (kk * h + i) * gates * h + q * h;
                w[row..row + h].copy_from_slice(&block[i * h..(i + 1) * h]);
            }
        }
    }
    w
}

/// A sequence's dimensions: (K, T, B, F, grouped).
pub(crate) fn seq_dims(what: &str, x: &Var, k: usize, f: usize) -> Result<(usize, usize, usize, bool)> {
    let s = x.shape();
    let (kk, t, b, ff, grouped) = match s.len() {
        3 => (1, s[0], s[1], s[2], false),
        4 => (s[0], s[1], s[2], s[3], true),
        _ => (0, 0, 0, 0, false),
    };
    if kk != k || ff != f || t == 0 || b == 0 {
        let want = if k == 1 { format!("[T, B, {f}] or [1, T, B, {f}]") } else { format!("[{k}, T, B, {f}]") };
        return Err(Error::shape(what, format!("a sequence {want}, T, B >= 1"), format!("{s:?}")));
    }
    Ok((t, b, ff, grouped))
}

/// Refuse sizes whose `linear` loops would exceed the driver's silent loop budget (lavapipe):
/// the weight gradient of the input projection sums over T·B rows twice (weights and bias), the
/// input gradient over G·H outputs, the forward over the inputs.
fn check_loop_budget(be: &Arc<dyn Backend>, what: &str, t: usize, b: usize, gh: usize, input: usize) -> Result<()> {
    if let Some(limit) = be.max_loop_iterations() {
        let work = (2 * t * b).max(gh).max(input) as u64;
        if work > limit {
            return Err(Error::config(
                what,
                format!("T = {t}, B = {b}, {gh} gate units, {input} inputs"),
                format!("the kernels would loop {work} times per invocation, beyond this driver's silent limit of {limit} (lavapipe)"),
            ));
        }
    }
    Ok(())
}

fn check_sizes(what: &str, input: usize, hidden: usize, layers: usize, k: usize) -> Result<()> {
    if input == 0 || hidden == 0 || layers == 0 || k == 0 {
        return Err(Error::config(
            what,
            format!("input {input}, hidden {hidden}, layers {layers}, k {k}"),
            "every size must be >= 1",
        ));
    }
    Ok(())
}

/// An initial state tensor of layer `l` given as [B, H] or [K, B, H], as [K, B, H].
fn state_in(tape: &Tape, what: &str, v: &Var, k: usize, b: usize, h: usize) -> Result<Var> {
    if v.value.numel() != k * b * h || v.shape().last() != Some(&h) {
        return Err(Error::shape(what, format!("[{b}, {h}] or [{k}, {b}, {h}]"), format!("{:?}", v.shape())));
    }
    tape.reshape(v, &[k, b, h])
}

/// (h, c) of every layer.
pub type LstmState = Vec<(Var, Var)>;

/// Layer `l`'s parameters of an LSTM.
pub struct LstmLayer {
    /// Input weights [K, I, 4H] (gate blocks i, f, g, o along the last dimension).
    pub w_x: Param,
    /// Recurrent weights [K, H, 4H].
    pub w_h: Param,
    /// Bias [K, 4H] (torch's b_ih + b_hh in one).
    pub bias: Param,
}

/// What an LSTM returns for a sequence.
pub struct LstmOutput {
    /// The last layer's hidden state at every step: [T, B, H] or [K, T, B, H].
    pub seq: Var,
    /// (h, c) of every layer after the last step: [B, H] or [K, B, H].
    pub state: Vec<(Var, Var)>,
}

/// A multi-layer LSTM (torch `nn.LSTM`, time-major, gates i, f, g, o).
pub struct Lstm {
    /// The layers, input first.
    pub layers: Vec<LstmLayer>,
    /// K networks.
    pub k: usize,
    /// Input features.
    pub input: usize,
    /// Hidden units H.
    pub hidden: usize,
}

const LSTM_FAMILY: u32 = 0x4C;
const GRU_FAMILY: u32 = 0x47;

impl Lstm {
    /// `layers` layers of `hidden` units over `input` features, K = `k` networks, seeded by `seed`.
    pub fn new(be: &Arc<dyn Backend>, input: usize, hidden: usize, layers: usize, k: usize, seed: u64) -> Result<Self> {
        check_sizes("lstm", input, hidden, layers, k)?;
        let h = hidden;
        let mut out = vec![];
        for l in 0..layers {
            let i = if l == 0 { input } else { h };
            let wx = init::xavier_uniform(seed, tag(LSTM_FAMILY, l, 0), i, h, k * i * 4 * h);
            let wh = recurrent_weights(seed, LSTM_FAMILY, l, k, h, 4);
            // forget-gate bias 1: the cell starts by remembering
            let bias: Vec<f32> = (0..k * 4 * h).map(|j| if (j / h) % 4 == 1 { 1.0 } else { 0.0 }).collect();
            out.push(LstmLayer {
                w_x: Param::new(format!("lstm{l}.w_x"), Tensor::from_f32(be, &[k, i, 4 * h], &wx)?)?,
                w_h: Param::new(format!("lstm{l}.w_h"), Tensor::from_f32(be, &[k, h, 4 * h], &wh)?)?,
                bias: Param::new(format!("lstm{l}.bias"), Tensor::from_f32(be, &[k, 4 * h], &bias)?)?,
            });
        }
        Ok(Lstm { layers: out, k, input, hidden })
    }

    /// Every parameter (w_x, w_h, bias, layer by layer).
    pub fn params(&self) -> Vec<Param> {
        self.layers.iter().flat_map(|l| [l.w_x.clone(), l.w_h.clone(), l.bias.clone()]).collect()
    }

    /// x [T, B, I] (K = 1) or [K, T, B, I], from the zero state or `state` ((h, c) per layer,
    /// [B, H] or [K, B, H]) → the last layer's outputs and every layer's final (h, c).
    pub fn forward(&self, tape: &Tape, x: &Var, state: Option<&[(Var, Var)]>) -> Result<LstmOutput> {
        let (seq, state) = self.run_from(tape, x, state, true)?;
        Ok(LstmOutput { seq: seq.expect("kept"), state })
    }

    /// Truncated backpropagation through time over chunks of `chunk` steps, as
    /// [`Gru::forward_chunked`]: every layer restarts from `starts[c][layer]` = (h, c) at
    /// step c·`chunk`.
    pub fn forward_chunked(&self, tape: &Tape, x: &Var, chunk: usize, starts: &[LstmState]) -> Result<LstmOutput> {
        let t = x.shape().get(x.shape().len().saturating_sub(3)).copied().unwrap_or(0);
        let c = if chunk == 0 { 0 } else { t.div_ceil(chunk) };
        if chunk == 0 || starts.len() != c || starts.iter().any(|s| s.len() != self.layers.len()) {
            return Err(Error::shape(
                "lstm chunk starts",
                format!("chunk >= 1 and {c} chunks x {} layers", self.layers.len()),
                format!("chunk {chunk}, {} chunks", starts.len()),
            ));
        }
        let (seq, state) = self.run(tape, x, &mut |step, l| Ok(Some(starts[step / chunk][l].clone())), chunk, true)?;
        Ok(LstmOutput { seq: seq.expect("kept"), state })
    }

    fn run_from(
        &self,
        tape: &Tape,
        x: &Var,
        state: Option<&[(Var, Var)]>,
        keep_seq: bool,
    ) -> Result<(Option<Var>, LstmState)> {
        if let Some(s) = state {
            if s.len() != self.layers.len() {
                return Err(Error::shape("lstm state", format!("{} layers", self.layers.len()), s.len()));
            }
        }
        self.run(tape, x, &mut |_, l| Ok(state.map(|s| s[l].clone())), 0, keep_seq)
    }

    /// The forward; `restart(step, layer)` gives the (h, c) a layer starts from at step 0 and,
    /// when `chunk` > 0, at every multiple of `chunk` (None: zeros); the last layer's
    /// sequence is stacked only when `keep_seq`.
    fn run(
        &self,
        tape: &Tape,
        x: &Var,
        restart: &mut dyn FnMut(usize, usize) -> Result<Option<(Var, Var)>>,
        chunk: usize,
        keep_seq: bool,
    ) -> Result<(Option<Var>, LstmState)> {
        let (k, h) = (self.k, self.hidden);
        let (t, b, _, grouped) = seq_dims("lstm input", x, k, self.input)?;
        check_loop_budget(tape.backend(), "lstm", t, b, 4 * h, self.input.max(h))?;
        let be = tape.backend();
        let mut input = tape.reshape(x, &[k, t * b, self.input])?;
        let mut finals = vec![];
        let mut seq = None;
        for (l, layer) in self.layers.iter().enumerate() {
            // z_x = x·W_x + b for all T steps at once: [K, T·B, 4H] seen as [K, T, B, 4H]
            let zx = tape.linear(&input, &tape.param(&layer.w_x), Some(&tape.param(&layer.bias)))?;
            let zx = tape.reshape(&zx, &[k, t, b, 4 * h])?;
            let (mut hv, mut cv): (Option<Var>, Var) = (None, tape.constant(&Tensor::zeros(be, &[k, b, h])?));
            let w_h = tape.shared_linear(&tape.param(&layer.w_h), None)?;
            let mut steps = Vec::with_capacity(t);
            for step in 0..t {
                if step == 0 || (chunk > 0 && step % chunk == 0) {
                    match restart(step, l)? {
                        Some((hs, cs)) => {
                            hv = Some(state_in(tape, "lstm state h", &hs, k, b, h)?);
                            cv = state_in(tape, "lstm state c", &cs, k, b, h)?;
                        }
                        None if step == 0 => {}
                        None => {
                            hv = None;
                            cv = tape.constant(&Tensor::zeros(be, &[k, b, h])?);
                        }
                    }
                }
                let zt = tape.time_step(&zx, step)?;
                // z = x_t·W_x + b + h·W_h (the zero initial state adds nothing)
                let z = match &hv {
                    Some(hp) => tape.add_scaled(&zt, 1.0, &tape.linear_step(&w_h, hp)?, 1.0)?,
                    None => zt,
                };
                let (hn, cn) = tape.lstm_cell(&z, &cv)?;
                steps.push(hn.clone());
                hv = Some(hn);
                cv = cn;
            }
            let hv = hv.expect("T >= 1");
            if l + 1 < self.layers.len() || keep_seq {
                let s = tape.stack_steps(&steps)?;
                input = tape.reshape(&s, &[k, t * b, h])?;
                seq = Some(s);
            }
            finals.push((hv, cv));
        }
        let out_state = |v: &Var| if grouped { Ok(v.clone()) } else { tape.reshape(v, &[b, h]) };
        let finals = finals.iter().map(|(h, c)| Ok((out_state(h)?, out_state(c)?))).collect::<Result<Vec<_>>>()?;
        let seq = match (keep_seq, seq) {
            (true, Some(s)) if !grouped => Some(tape.reshape(&s, &[t, b, h])?),
            (true, s) => s,
            (false, _) => None,
        };
        Ok((seq, finals))
    }
}

/// Layer `l`'s parameters of a GRU.
pub struct GruLayer {
    /// Input weights [K, I, 3H] (gate blocks r, z, n).
    pub w_x: Param,
    /// Input bias [K, 3H] (torch b_ih).
    pub b_x: Param,
    /// Recurrent weights [K, H, 3H].
    pub w_h: Param,
    /// Recurrent bias [K, 3H] (torch b_hh; b_hn sits inside r⊙(W_hn·h + b_hn)).
    pub b_h: Param,
}

/// What a GRU returns for a sequence.
pub struct GruOutput {
    /// The last layer's hidden state at every step: [T, B, H] or [K, T, B, H].
    pub seq: Var,
    /// h of every layer after the last step: [B, H] or [K, B, H].
    pub state: Vec<Var>,
}

/// A multi-layer GRU (torch `nn.GRU`, time-major, gates r, z, n).
pub struct Gru {
    /// The layers, input first.
    pub layers: Vec<GruLayer>,
    /// K networks.
    pub k: usize,
    /// Input features.
    pub input: usize,
    /// Hidden units H.
    pub hidden: usize,
}

impl Gru {
    /// `layers` layers of `hidden` units over `input` features, K = `k` networks, seeded by `seed`.
    pub fn new(be: &Arc<dyn Backend>, input: usize, hidden: usize, layers: usize, k: usize, seed: u64) -> Result<Self> {
        check_sizes("gru", input, hidden, layers, k)?;
        let h = hidden;
        let mut out = vec![];
        for l in 0..layers {
            let i = if l == 0 { input } else { h };
            let wx = init::xavier_uniform(seed, tag(GRU_FAMILY, l, 0), i, h, k * i * 3 * h);
            let wh = recurrent_weights(seed, GRU_FAMILY, l, k, h, 3);
            out.push(GruLayer {
                w_x: Param::new(format!("gru{l}.w_x"), Tensor::from_f32(be, &[k, i, 3 * h], &wx)?)?,
                b_x: Param::new(format!("gru{l}.b_x"), Tensor::zeros(be, &[k, 3 * h])?)?,
                w_h: Param::new(format!("gru{l}.w_h"), Tensor::from_f32(be, &[k, h, 3 * h], &wh)?)?,
                b_h: Param::new(format!("gru{l}.b_h"), Tensor::zeros(be, &[k, 3 * h])?)?,
            });
        }
        Ok(Gru { layers: out, k, input, hidden })
    }

    /// Every parameter (w_x, b_x, w_h, b_h, layer by layer).
    pub fn params(&self) -> Vec<Param> {
        self.layers.iter().flat_map(|l| [l.w_x.clone(), l.b_x.clone(), l.w_h.clone(), l.b_h.clone()]).collect()
    }

    /// x [T, B, I] (K = 1) or [K, T, B, I], from the zero state or `state` (h per layer, [B, H]
    /// or [K, B, H]) → the last layer's outputs and every layer's final h.
    pub fn forward(&self, tape: &Tape, x: &Var, state: Option<&[Var]>) -> Result<GruOutput> {
        if let Some(s) = state {
            if s.len() != self.layers.len() {
                return Err(Error::shape("gru state", format!("{} layers", self.layers.len()), s.len()));
            }
        }
        self.run(tape, x, &mut |_, l| Ok(state.map(|s| s[l].clone())), 0)
    }

    /// Truncated backpropagation through time over chunks of `chunk` steps (recurrent PPO):
    /// at every step t = c·`chunk` each layer restarts from `starts[c][layer]` (c = 0..⌈T/chunk⌉,
    /// states [B, H] or [K, B, H], usually stored by the rollout and constant), so no gradient
    /// crosses a chunk border. With the states the same network reached over the sequence,
    /// the outputs equal [`Gru::forward`]'s.
    pub fn forward_chunked(&self, tape: &Tape, x: &Var, chunk: usize, starts: &[Vec<Var>]) -> Result<GruOutput> {
        let t = x.shape().get(x.shape().len().saturating_sub(3)).copied().unwrap_or(0);
        let c = if chunk == 0 { 0 } else { t.div_ceil(chunk) };
        if chunk == 0 || starts.len() != c || starts.iter().any(|s| s.len() != self.layers.len()) {
            return Err(Error::shape(
                "gru chunk starts",
                format!("chunk >= 1 and {c} chunks x {} layers", self.layers.len()),
                format!("chunk {chunk}, {} chunks", starts.len()),
            ));
        }
        self.run(tape, x, &mut |step, l| Ok(Some(starts[step / chunk][l].clone())), chunk)
    }

    /// The recurrence; `restart(step, layer)` gives the state a layer starts from at step 0 and,
    /// when `chunk` > 0, at every multiple of `chunk` (None: zeros).
    fn run(
        &self,
        tape: &Tape,
        x: &Var,
        restart: &mut dyn FnMut(usize, usize) -> Result<Option<Var>>,
        chunk: usize,
    ) -> Result<GruOutput> {
        let (k, h) = (self.k, self.hidden);
        let (t, b, _, grouped) = seq_dims("gru input", x, k, self.input)?;
        check_loop_budget(tape.backend(), "gru", t, b, 3 * h, self.input.max(h))?;
        let mut input = tape.reshape(x, &[k, t * b, self.input])?;
        let mut finals = vec![];
        let mut seq = None;
        for (l, layer) in self.layers.iter().enumerate() {
            // gx = x·W_x + b_x for all T steps at once
            let gx = tape.linear(&input, &tape.param(&layer.w_x), Some(&tape.param(&layer.b_x)))?;
            let gx = tape.reshape(&gx, &[k, t, b, 3 * h])?;
            let w_h = tape.shared_linear(&tape.param(&layer.w_h), Some(&tape.param(&layer.b_h)))?;
            let mut hv = tape.constant(&Tensor::zeros(tape.backend(), &[k, b, h])?);
            let mut steps = Vec::with_capacity(t);
            for step in 0..t {
                if step == 0 || (chunk > 0 && step % chunk == 0) {
                    hv = match restart(step, l)? {
                        Some(s) => state_in(tape, "gru state", &s, k, b, h)?,
                        None if step == 0 => hv,
                        None => tape.constant(&Tensor::zeros(tape.backend(), &[k, b, h])?),
                    };
                }
                // gh = h·W_h + b_h; h' = GRU(gx_t, gh, h)
                let gh = tape.linear_step(&w_h, &hv)?;
                hv = tape.gru_cell(&tape.time_step(&gx, step)?, &gh, &hv)?;
                steps.push(hv.clone());
            }
            let s = tape.stack_steps(&steps)?;
            input = tape.reshape(&s, &[k, t * b, h])?;
            seq = Some(s);
            finals.push(if grouped { hv } else { tape.reshape(&hv, &[b, h])? });
        }
        let seq = seq.expect("layers >= 1");
        let seq = if grouped { seq } else { tape.reshape(&seq, &[t, b, h])? };
        Ok(GruOutput { seq, state: finals })
    }
}

/// The CRB-DRQN load encoder: an LSTM over the last `window` rows of a history matrix, whose
/// last hidden state encodes the history.
pub struct LstmOverHistory {
    /// The LSTM (its input size is the history's row width).
    pub lstm: Lstm,
    /// T, the rows read (the most recent ones).
    pub window: usize,
}

impl LstmOverHistory {
    /// An encoder of rows of `features` values into `hidden` units over the last `window` rows.
    pub fn new(
        be: &Arc<dyn Backend>,
        features: usize,
        hidden: usize,
        layers: usize,
        window: usize,
        k: usize,
        seed: u64,
    ) -> Result<Self> {
        if window == 0 {
            return Err(Error::config("lstm_over_history.window", 0, "at least one row"));
        }
        Ok(LstmOverHistory { lstm: Lstm::new(be, features, hidden, layers, k, seed)?, window })
    }

    /// Every parameter.
    pub fn params(&self) -> Vec<Param> {
        self.lstm.params()
    }

    /// history [B, L, F] (K = 1) or [K, B, L, F] with L ≥ window → the last layer's final h,
    /// [B, H] or [K, B, H].
    pub fn forward(&self, tape: &Tape, history: &Var) -> Result<Var> {
        let s = history.shape();
        let (k, f, l) = match s.len() {
            3 => (1, s[2], s[1]),
            4 => (s[0], s[3], s[2]),
            _ => (0, 0, 0),
        };
        if k != self.lstm.k || f != self.lstm.input || l < self.window {
            return Err(Error::shape(
                "lstm_over_history",
                format!(
                    "a history [B, L, {i}] or [{}, B, L, {i}] with L >= {}",
                    self.lstm.k,
                    self.window,
                    i = self.lstm.input
                ),
                format!("{s:?}"),
            ));
        }
        let seq = tape.history_window(history, self.window)?;
        let (_, mut state) = self.lstm.run_from(tape, &seq, None, false)?;
        Ok(state.pop().expect("layers >= 1").0)
    }
}
