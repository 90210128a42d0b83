//! Parity of the additive attention (src/ops/attention.rs): every kernel forward and backward
//! on random inputs, unmasked, with a shared mask [T, B] (one padding sequence) and with a mask
//! per member [K, T, B]; the backward kernels fed the CPU forward's outputs and accumulating
//! onto nonzero gradients (bit-exact on lavapipe and the host shim; within the tolerance on a
//! GPU).

use std::collections::BTreeSet;

use mecrl::backend::Backend;
use mecrl::backend::KernelSpec;
use mecrl::ops::attention::AttentionParams;

use super::rnn::{bytes, exact, normals, out};
use super::{f32v, Case};
use mecrl::ops::attention::{
    ATTENTION_BWD_GW, ATTENTION_BWD_QK, ATTENTION_BWD_SCORE, ATTENTION_BWD_V, ATTENTION_BWD_VALUES, ATTENTION_CONTEXT,
    ATTENTION_SCORE, ATTENTION_WEIGHTS,
};

pub fn attention_cases(be: &dyn Backend, done: &mut BTreeSet<&'static KernelSpec>) {
    // K = 2, B = 5, T = 7, A = 260 (more than a workgroup), H = 240: K·B·T·A and K·B·T·H above
    // the CPU functions' parallel threshold
    let (k, b, t, a, h) = (2usize, 5usize, 7usize, 260usize, 240usize);
    let q = f32v(&normals(k * b * a, 31, 0.0, 1.0));
    let keys = f32v(&normals(k * t * b * a, 32, 0.0, 1.0));
    let v = f32v(&normals(k * a, 33, 0.0, 0.5));
    let values = f32v(&normals(k * t * b * h, 34, 0.0, 1.0));
    // sequence 4 is padding (no real step), sequence 1 has 3 steps
    let shared: Vec<u32> = (0..t * b).map(|i| (i % b != 4 && (i % b != 1 || i / b < 3)) as u32).collect();
    let per_member: Vec<u32> = (0..k * t * b).map(|i| (i % 3 != 1) as u32).collect();
    for (masked, mask) in [(0u32, vec![0u32]), (1, shared), (2, per_member)] {
        let p = AttentionParams {
            k: k as u32,
            b: b as u32,
            t: t as u32,
            a: a as u32,
            h: h as u32,
            masked,
            ..Default::default()
        };
        let pb = bytes(&p);
        let score = Case {
            id: &ATTENTION_SCORE,
            params: pb.clone(),
            threads: (k * b * t) as u32,
            bufs: vec![q.clone(), keys.clone(), v.clone(), vec![0; k * b * t]],
        };
        let s = out(&exact(be, &score, done), 3);
        let weights = Case {
            id: &ATTENTION_WEIGHTS,
            params: pb.clone(),
            threads: (k * b) as u32,
            bufs: vec![s, mask.clone(), vec![0; k * b * t]],
        };
        let w = out(&exact(be, &weights, done), 2);
        if masked == 1 {
            // the padding sequence's weights are 0; a real sequence's sum to 1
            let wf: Vec<f32> = w.iter().map(|&x| f32::from_bits(x)).collect();
            assert!(wf[4 * t..5 * t].iter().all(|&x| x == 0.0));
            assert!((wf[..t].iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let context = Case {
            id: &ATTENTION_CONTEXT,
            params: pb.clone(),
            threads: (k * b * h) as u32,
            bufs: vec![w.clone(), values.clone(), vec![0; k * b * h]],
        };
        exact(be, &context, done);
        let dctx = f32v(&normals(k * b * h, 35, 0.0, 1.0));
        let gw_case = Case {
            id: &ATTENTION_BWD_GW,
            params: pb.clone(),
            threads: (k * b * t) as u32,
            bufs: vec![values.clone(), dctx.clone(), f32v(&normals(k * b * t, 36, 0.0, 1.0)), vec![0; k * b * t]],
        };
        let gw = out(&exact(be, &gw_case, done), 3);
        let dvalues = Case {
            id: &ATTENTION_BWD_VALUES,
            params: pb.clone(),
            threads: (k * t * b * h) as u32,
            bufs: vec![w.clone(), dctx, f32v(&normals(k * t * b * h, 37, 0.0, 1.0))],
        };
        exact(be, &dvalues, done);
        let score_bwd = Case {
            id: &ATTENTION_BWD_SCORE,
            params: pb.clone(),
            threads: (k * b) as u32,
            bufs: vec![w, gw, vec![0; k * b * t]],
        };
        let ds = out(&exact(be, &score_bwd, done), 2);
        let qk = Case {
            id: &ATTENTION_BWD_QK,
            params: pb.clone(),
            threads: (k * b * a) as u32,
            bufs: vec![
                q.clone(),
                keys.clone(),
                v.clone(),
                ds.clone(),
                f32v(&normals(k * b * a, 38, 0.0, 1.0)),
                f32v(&normals(k * t * b * a, 39, 0.0, 1.0)),
            ],
        };
        exact(be, &qk, done);
        let dv = Case {
            id: &ATTENTION_BWD_V,
            params: pb,
            threads: (k * a) as u32,
            bufs: vec![q.clone(), keys.clone(), ds, f32v(&normals(k * a, 40, 0.0, 1.0))],
        };
        exact(be, &dv, done);
    }
}
