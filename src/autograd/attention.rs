//! Additive attention on the tape (MRLCO eq. 14–15): a decoder query against precomputed
//! encoder keys, a masked softmax over the encoder steps, and the context. See
//! [`crate::ops::attention`] for the kernels and their sum orders.

use super::rnn::grad_or_scratch;
use super::{Tape, Var};
use crate::error::{Error, Result};
use crate::ops::attention::AttentionParams;
use crate::ops::attention::{
    ATTENTION_BWD_GW, ATTENTION_BWD_QK, ATTENTION_BWD_SCORE, ATTENTION_BWD_V, ATTENTION_BWD_VALUES, ATTENTION_CONTEXT,
    ATTENTION_SCORE, ATTENTION_WEIGHTS,
};
use crate::tensor::{DType, Tensor};

impl Tape {
    /// Additive attention: score_t = vᵀ tanh(q + key_t) (eq. 15, with q = W1·d and the keys
    /// W2·e from `linear`), α = the softmax of the scores over the encoder steps allowed by
    /// `mask`, context = Σ_t α_t·values_t (eq. 14).
    ///
    /// Shapes, time-major like the encoder's output: q [K, B, A], keys [K, T, B, A], v [K, A],
    /// values [K, T, B, H]; or, for K = 1, q [B, A], keys [T, B, A], v \[A\], values [T, B, H].
    /// `mask` (u32, nonzero = a real step): [T, B] shared by the K members, or [K, T, B]. A
    /// sequence with no real step gets zero weights and a zero context (padding rows of a batch).
    /// Returns (context [K, B, H], weights α [K, B, T]) (or [B, H], [B, T]); gradients flow to
    /// q, keys, v and values from both.
    pub fn attention(&self, q: &Var, keys: &Var, v: &Var, values: &Var, mask: Option<&Tensor>) -> Result<(Var, Var)> {
        let (qs, ks, vs, es) = (q.shape(), keys.shape(), v.shape(), values.shape());
        let (k, b, a, grouped) = match qs.len() {
            2 => (1, qs[0], qs[1], false),
            3 => (qs[0], qs[1], qs[2], true),
            _ => return Err(Error::shape("attention query", "[K, B, A] or [B, A]", format!("{qs:?}"))),
        };
        let lead = |s: &[usize]| -> Option<(usize, usize, usize, usize)> {
            match (grouped, s.len()) {
                (true, 4) => Some((s[0], s[1], s[2], s[3])),
                (false, 3) => Some((1, s[0], s[1], s[2])),
                _ => None,
            }
        };
        let t = match lead(ks) {
            Some((kk, t, bb, aa)) if kk == k && bb == b && aa == a && t >= 1 => t,
            _ => {
                let want = if grouped { format!("[{k}, T, {b}, {a}]") } else { format!("[T, {b}, {a}]") };
                return Err(Error::shape("attention keys", format!("{want}, T >= 1"), format!("{ks:?}")));
            }
        };
        let v_ok = if grouped { vs == [k, a] } else { vs == [a] };
        if !v_ok {
            let want = if grouped { format!("[{k}, {a}]") } else { format!("[{a}]") };
            return Err(Error::shape("attention v", want, format!("{vs:?}")));
        }
        let h = match lead(es) {
            Some((kk, tt, bb, h)) if kk == k && tt == t && bb == b && h >= 1 => h,
            _ => {
                let want = if grouped { format!("[{k}, {t}, {b}, H]") } else { format!("[{t}, {b}, H]") };
                return Err(Error::shape("attention values", format!("{want}, H >= 1"), format!("{es:?}")));
            }
        };
        if k == 0 || b == 0 || a == 0 {
            return Err(Error::shape("attention query", "K, B, A >= 1", format!("{qs:?}")));
        }
        let masked = match mask {
            None => 0,
            Some(m) => {
                m.expect(DType::U32, "attention mask")?;
                self.check_backend(m, "attention mask")?;
                if m.shape() == [t, b] {
                    1
                } else if m.shape() == [k, t, b] {
                    2
                } else {
                    return Err(Error::shape(
                        "attention mask",
                        format!("[{t}, {b}] or [{k}, {t}, {b}]"),
                        format!("{:?}", m.shape()),
                    ));
                }
            }
        };
        self.f32_inputs(&[
            (q, "attention query"),
            (keys, "attention keys"),
            (v, "attention v"),
            (values, "attention values"),
        ])?;
        if let Some(limit) = self.be.max_loop_iterations() {
            // per invocation: A (scores), 3T (softmax), H (weight gradient), B·T (gradient of v)
            let work = a.max(3 * t).max(h).max(b * t) as u64;
            if work > limit {
                return Err(Error::config(
                    "attention",
                    format!("B = {b}, T = {t}, A = {a}, H = {h}"),
                    format!("the kernels would loop {work} times per invocation, beyond this driver's silent limit of {limit} (lavapipe)"),
                ));
            }
        }
        let p = AttentionParams {
            k: k as u32,
            b: b as u32,
            t: t as u32,
            a: a as u32,
            h: h as u32,
            masked,
            ..Default::default()
        };
        let pb = bytemuck::bytes_of(&p).to_vec();
        let m = match mask {
            Some(m) => m.clone(),
            None => self.dummy()?,
        };
        let s = Tensor::zeros(&self.be, &[k, b, t])?;
        let w = Tensor::zeros(&self.be, &[k, b, t])?;
        let c = Tensor::zeros(&self.be, &[k, b, h])?;
        let (be, n) = (self.be.clone(), |x: usize| x as u32);
        be.launch(
            &ATTENTION_SCORE,
            &pb,
            n(k * b * t),
            &[q.value.buffer(), keys.value.buffer(), v.value.buffer(), s.buffer()],
        )?;
        be.launch(&ATTENTION_WEIGHTS, &pb, n(k * b), &[s.buffer(), m.buffer(), w.buffer()])?;
        be.launch(&ATTENTION_CONTEXT, &pb, n(k * b * h), &[w.buffer(), values.value.buffer(), c.buffer()])?;
        let (c, w) = if grouped { (c, w) } else { (c.reshape(&[b, h])?, w.reshape(&[b, t])?) };
        let (qv, kv, vv, ev, wv) =
            (q.value.clone(), keys.value.clone(), v.value.clone(), values.value.clone(), w.clone());
        let (qsl, ksl, vsl, esl) = (q.slot, keys.slot, v.slot, values.slot);
        let mut outs = self.record_outputs(vec![c, w], &[q, keys, v, values], move |g, d| {
            let (dc, dw) = (&d[0], &d[1]);
            let gw = Tensor::zeros(&be, &[k, b, t])?;
            be.launch(&ATTENTION_BWD_GW, &pb, n(k * b * t), &[ev.buffer(), dc.buffer(), dw.buffer(), gw.buffer()])?;
            if let Some(s) = esl {
                let de = g.acc(&be, s)?;
                be.launch(&ATTENTION_BWD_VALUES, &pb, n(k * t * b * h), &[wv.buffer(), dc.buffer(), de.buffer()])?;
            }
            if qsl.is_none() && ksl.is_none() && vsl.is_none() {
                return Ok(());
            }
            let ds = Tensor::zeros(&be, &[k, b, t])?;
            be.launch(&ATTENTION_BWD_SCORE, &pb, n(k * b), &[wv.buffer(), gw.buffer(), ds.buffer()])?;
            if qsl.is_some() || ksl.is_some() {
                let dq = grad_or_scratch(g, &be, qsl, &qv)?;
                let dk = grad_or_scratch(g, &be, ksl, &kv)?;
                be.launch(
                    &ATTENTION_BWD_QK,
                    &pb,
                    n(k * b * a),
                    &[qv.buffer(), kv.buffer(), vv.buffer(), ds.buffer(), dq.buffer(), dk.buffer()],
                )?;
            }
            if let Some(s) = vsl {
                let dv = g.acc(&be, s)?;
                be.launch(&ATTENTION_BWD_V, &pb, n(k * a), &[qv.buffer(), kv.buffer(), ds.buffer(), dv.buffer()])?;
            }
            Ok(())
        });
        let weights = outs.pop().expect("two outputs");
        let context = outs.pop().expect("two outputs");
        Ok((context, weights))
    }
}
