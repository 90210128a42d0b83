//! Recurrent cells with fused gates: the LSTM and GRU cells of torch, one thread per (row, unit).
//! The matrix products are not here: the caller computes the gate pre-activations with the
//! grouped `linear` op (an ensemble of K networks is K·B rows), and a cell applies the gates.
//!
//! Shapes: N rows (K·B), H units. The sigmoid σ and tanh are the portable ones of
//! [`super::act`] (the same operation order on every backend).
//!
//! **LSTM** (torch `nn.LSTMCell`), z [N, 4H] = x·W_x + h·W_h + b with the gates in the order
//! **i, f, g, o** (columns [0, H), [H, 2H), [2H, 3H), [3H, 4H), as torch's `weight_ih` rows):
//! - i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
//! - c' = f⊙c + i⊙g, h' = o⊙tanh(c')
//!
//! `lstm_cell_fwd` also saves `act` [N, 5H] = (i, f, g, o, tanh c') for the backward, which
//! accumulates dz [N, 4H] and dc [N, H] from dh' and dc':
//! - dĉ = dc' + (dh'·o)·(1 − tanh²c') (the total gradient of c')
//! - dz_i = (dĉ·g)·i(1 − i), dz_f = (dĉ·c)·f(1 − f), dz_g = (dĉ·i)·(1 − g²),
//!   dz_o = (dh'·tanh c')·o(1 − o); dc += dĉ·f.
//!
//! **GRU** (torch `nn.GRUCell`), two pre-activations because r multiplies the hidden part:
//! gx [N, 3H] = x·W_x + b_x and gh [N, 3H] = h·W_h + b_h, gates in the order **r, z, n**:
//! - r = σ(gx_r + gh_r), z = σ(gx_z + gh_z)
//! - n = tanh(gx_n + r⊙gh_n) (r applied to W_hn·h + b_hn, as torch)
//! - h' = (1 − z)⊙n + z⊙h
//!
//! `gru_cell_fwd` saves `act` [N, 3H] = (r, z, n); the backward accumulates dgx, dgh [N, 3H]
//! and dh [N, H] from dh':
//! - dn̂ = (dh'·(1 − z))·(1 − n²), dẑ = (dh'·(h − n))·z(1 − z), dr̂ = (dn̂·gh_n)·r(1 − r)
//! - dgx += (dr̂, dẑ, dn̂), dgh += (dr̂, dẑ, dn̂·r), dh += dh'·z.
//!
//! Backward kernels accumulate (`+=`), as every op's.

use super::act::{apply, derivative, Act};
use super::{team_chunk, team_parts, Real};
use crate::backend::cpu::{f32s, f32s_mut, need};
use crate::backend::params as decode;
use crate::error::Result;

/// Parameters of the `lstm_cell_*` and `gru_cell_*` kernels.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CellParams {
    /// N, rows (K·B).
    pub n: u32,
    /// H, hidden units.
    pub h: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

impl CellParams {
    /// (N, H) as usize.
    pub fn dims(&self) -> (usize, usize) {
        (self.n as usize, self.h as usize)
    }
}

/// (row, ((a, b), c)): one row's three zipped output chunks.
type Rows3<'a, T> = (usize, ((&'a mut [T], &'a mut [T]), &'a mut [T]));

/// Units (rows × H) below which the CPU functions stay on the calling thread: a unit costs
/// a few exponentials, so an LSTM step (20 rows of 256) is worth the team.
const PAR_UNITS: usize = 2048;

/// Runs `f` on every row's item, the rows split into one contiguous range per thread of the
/// team when there are `units` ≥ [`PAR_UNITS`] of work.
fn for_rows<I: Send>(items: impl Iterator<Item = I>, units: usize, f: &(dyn Fn(I) + Sync)) {
    if units < PAR_UNITS {
        return items.for_each(f);
    }
    let items: Vec<I> = items.collect();
    let per = team_chunk(items.len());
    let mut parts: Vec<Vec<I>> = vec![];
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        parts.push(it.by_ref().take(per).collect());
    }
    team_parts(parts, &|part: Vec<I>| part.into_iter().for_each(f));
}

/// One LSTM unit: (h', c', [i, f, g, o, tanh c']) from the four pre-activations and c.
#[inline(always)]
pub fn lstm_unit<T: Real>(zi: T, zf: T, zg: T, zo: T, c: T) -> (T, T, [T; 5]) {
    let i = apply(Act::Sigmoid, zi);
    let f = apply(Act::Sigmoid, zf);
    let g = apply(Act::Tanh, zg);
    let o = apply(Act::Sigmoid, zo);
    // c' = f⊙c + i⊙g
    let cn = f * c + i * g;
    let tc = apply(Act::Tanh, cn);
    // h' = o⊙tanh(c')
    (o * tc, cn, [i, f, g, o, tc])
}

/// One LSTM unit's backward: (dz_i, dz_f, dz_g, dz_o, dc) from the saved activations, c, dh', dc'.
#[inline(always)]
pub fn lstm_unit_backward<T: Real>(a: [T; 5], c: T, dh: T, dcn: T) -> ([T; 4], T) {
    let [i, f, g, o, tc] = a;
    // dĉ = dc' + (dh'·o)·(1 − tanh²c')
    let dct = dcn + (dh * o) * derivative(Act::Tanh, tc);
    let dzi = (dct * g) * derivative(Act::Sigmoid, i);
    let dzf = (dct * c) * derivative(Act::Sigmoid, f);
    let dzg = (dct * i) * derivative(Act::Tanh, g);
    let dzo = (dh * tc) * derivative(Act::Sigmoid, o);
    ([dzi, dzf, dzg, dzo], dct * f)
}

/// One row of the LSTM cell forward: z [4H], c [H] → h' [H], c' [H], act [5H]. A function of
/// its own (rather than the rows' closure): LLVM vectorizes it better there — at H = 20 (the
/// CRB-DRQN network) 4.4 against 7 ns a unit, the backward 2.0 against 2.8 (AMD Zen 4).
#[inline(always)]
fn lstm_row_forward<T: Real>(z: &[T], c: &[T], hr: &mut [T], cr: &mut [T], ar: &mut [T]) {
    // every slice exactly H long, so the loop has no bounds checks and vectorizes
    let h = c.len();
    let (zi, rest) = z.split_at(h);
    let (zf, rest) = rest.split_at(h);
    let (zg, zo) = rest.split_at(h);
    let (a0, rest) = ar.split_at_mut(h);
    let (a1, rest) = rest.split_at_mut(h);
    let (a2, rest) = rest.split_at_mut(h);
    let (a3, a4) = rest.split_at_mut(h);
    let (hr, cr, zf, zg, zo, a4) = (&mut hr[..h], &mut cr[..h], &zf[..h], &zg[..h], &zo[..h], &mut a4[..h]);
    for j in 0..h {
        let (hn, cn, a) = lstm_unit(zi[j], zf[j], zg[j], zo[j], c[j]);
        hr[j] = hn;
        cr[j] = cn;
        [a0[j], a1[j], a2[j], a3[j], a4[j]] = a;
    }
}

/// One row of the LSTM cell backward: dz [4H] += …, dc [H] += … from act [5H], c, dh', dc'.
#[inline(always)]
fn lstm_row_backward<T: Real>(ar: &[T], cp: &[T], dhp: &[T], dcp: &[T], dzr: &mut [T], dcr: &mut [T]) {
    // every slice exactly H long, so the loop has no bounds checks and vectorizes
    let h = cp.len();
    let (a0, rest) = ar.split_at(h);
    let (a1, rest) = rest.split_at(h);
    let (a2, rest) = rest.split_at(h);
    let (a3, a4) = rest.split_at(h);
    let (a4, dhp, dcp) = (&a4[..h], &dhp[..h], &dcp[..h]);
    let (d0, rest) = dzr.split_at_mut(h);
    let (d1, rest) = rest.split_at_mut(h);
    let (d2, d3) = rest.split_at_mut(h);
    let (d3, dcr) = (&mut d3[..h], &mut dcr[..h]);
    for j in 0..h {
        let ([di, df, dg, do_], dc) = lstm_unit_backward([a0[j], a1[j], a2[j], a3[j], a4[j]], cp[j], dhp[j], dcp[j]);
        d0[j] = d0[j] + di;
        d1[j] = d1[j] + df;
        d2[j] = d2[j] + dg;
        d3[j] = d3[j] + do_;
        dcr[j] = dcr[j] + dc;
    }
}

/// LSTM cell forward over N rows: z [N, 4H], c [N, H] → h' [N, H], c' [N, H], act [N, 5H].
pub fn lstm_forward<T: Real>(p: &CellParams, z: &[T], c: &[T], h_out: &mut [T], c_out: &mut [T], act: &mut [T]) {
    let (n, h) = p.dims();
    if n == 0 || h == 0 {
        return;
    }
    let run = |(r, ((hr, cr), ar)): Rows3<'_, T>| {
        lstm_row_forward(&z[r * 4 * h..(r + 1) * 4 * h], &c[r * h..(r + 1) * h], hr, cr, ar)
    };
    let (hs, cs, acts) = (&mut h_out[..n * h], &mut c_out[..n * h], &mut act[..n * 5 * h]);
    for_rows(hs.chunks_mut(h).zip(cs.chunks_mut(h)).zip(acts.chunks_mut(5 * h)).enumerate(), n * h, &run);
}

/// LSTM cell backward: dz [N, 4H] += …, dc [N, H] += … from act [N, 5H], c, dh' and dc'.
pub fn lstm_backward<T: Real>(p: &CellParams, act: &[T], c: &[T], dh: &[T], dcn: &[T], dz: &mut [T], dc: &mut [T]) {
    let (n, h) = p.dims();
    if n == 0 || h == 0 {
        return;
    }
    let run = |(r, (dzr, dcr)): (usize, (&mut [T], &mut [T]))| {
        let (cr, dhr, dcnr) = (&c[r * h..][..h], &dh[r * h..][..h], &dcn[r * h..][..h]);
        lstm_row_backward(&act[r * 5 * h..(r + 1) * 5 * h], cr, dhr, dcnr, dzr, dcr)
    };
    for_rows(dz[..n * 4 * h].chunks_mut(4 * h).zip(dc[..n * h].chunks_mut(h)).enumerate(), n * h, &run);
}

/// One GRU unit: (h', [r, z, n]) from the input and hidden pre-activations and h.
#[inline(always)]
pub fn gru_unit<T: Real>(gx: [T; 3], gh: [T; 3], h: T) -> (T, [T; 3]) {
    // r = σ(gx_r + gh_r), z = σ(gx_z + gh_z)
    let r = apply(Act::Sigmoid, gx[0] + gh[0]);
    let z = apply(Act::Sigmoid, gx[1] + gh[1]);
    // n = tanh(gx_n + r⊙gh_n)
    let nn = apply(Act::Tanh, gx[2] + r * gh[2]);
    // h' = (1 − z)⊙n + z⊙h
    ((T::ONE - z) * nn + z * h, [r, z, nn])
}

/// One GRU unit's backward: (dgx, dgh, dh) from the saved (r, z, n), gh_n, h and dh'.
#[inline(always)]
pub fn gru_unit_backward<T: Real>(a: [T; 3], ghn: T, h: T, dh: T) -> ([T; 3], [T; 3], T) {
    let [r, z, nn] = a;
    // dn̂ = (dh'·(1 − z))·(1 − n²)
    let dn = (dh * (T::ONE - z)) * derivative(Act::Tanh, nn);
    // dẑ = (dh'·(h − n))·z(1 − z)
    let dz = (dh * (h - nn)) * derivative(Act::Sigmoid, z);
    // dr̂ = (dn̂·gh_n)·r(1 − r)
    let dr = (dn * ghn) * derivative(Act::Sigmoid, r);
    ([dr, dz, dn], [dr, dz, dn * r], dh * z)
}

/// GRU cell forward over N rows: gx, gh [N, 3H], h [N, H] → h' [N, H], act [N, 3H].
pub fn gru_forward<T: Real>(p: &CellParams, gx: &[T], gh: &[T], h: &[T], h_out: &mut [T], act: &mut [T]) {
    let (n, hh) = p.dims();
    if n == 0 || hh == 0 {
        return;
    }
    let run = |(r, (hr, ar)): (usize, (&mut [T], &mut [T]))| {
        let (xr, gr) = (&gx[r * 3 * hh..(r + 1) * 3 * hh], &gh[r * 3 * hh..(r + 1) * 3 * hh]);
        for j in 0..hh {
            let (hn, a) =
                gru_unit([xr[j], xr[hh + j], xr[2 * hh + j]], [gr[j], gr[hh + j], gr[2 * hh + j]], h[r * hh + j]);
            hr[j] = hn;
            for (q, v) in a.into_iter().enumerate() {
                ar[q * hh + j] = v;
            }
        }
    };
    for_rows(h_out[..n * hh].chunks_mut(hh).zip(act[..n * 3 * hh].chunks_mut(3 * hh)).enumerate(), n * hh, &run);
}

/// GRU cell backward: dgx, dgh [N, 3H] and dh [N, H] += … from act, gh, h and dh'.
#[allow(clippy::too_many_arguments)]
pub fn gru_backward<T: Real>(
    p: &CellParams,
    act: &[T],
    gh: &[T],
    h: &[T],
    dh_out: &[T],
    dgx: &mut [T],
    dgh: &mut [T],
    dh: &mut [T],
) {
    let (n, hh) = p.dims();
    if n == 0 || hh == 0 {
        return;
    }
    let run = |(r, ((xr, gr), dr)): Rows3<'_, T>| {
        let ar = &act[r * 3 * hh..(r + 1) * 3 * hh];
        for j in 0..hh {
            let a = [ar[j], ar[hh + j], ar[2 * hh + j]];
            let k = r * hh + j;
            let (dx, dg, dhp) = gru_unit_backward(a, gh[r * 3 * hh + 2 * hh + j], h[k], dh_out[k]);
            for q in 0..3 {
                xr[q * hh + j] = xr[q * hh + j] + dx[q];
                gr[q * hh + j] = gr[q * hh + j] + dg[q];
            }
            dr[j] = dr[j] + dhp;
        }
    };
    let w = 3 * hh;
    let it = dgx[..n * w].chunks_mut(w).zip(dgh[..n * w].chunks_mut(w)).zip(dh[..n * hh].chunks_mut(hh));
    for_rows(it.enumerate(), n * hh, &run);
}

fn check(entry: &str, bufs: &[&mut [u32]], names: &[&str], want: &[u64]) -> Result<()> {
    for (k, (name, w)) in names.iter().zip(want).enumerate() {
        need(entry, name, bufs[k].len(), *w as usize)?;
    }
    Ok(())
}

/// `lstm_cell_fwd`: bufs z, c, h_out, c_out, act.
pub fn cpu_lstm_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CellParams = decode(params);
    check("lstm_cell_fwd", bufs, &["z", "c", "h_out", "c_out", "act"], &sizes_lstm_fwd(params))?;
    let [z, c, h_out, c_out, act] = bufs else { unreachable!("the spec has 5 buffers") };
    lstm_forward(&p, f32s(z), f32s(c), f32s_mut(h_out), f32s_mut(c_out), f32s_mut(act));
    Ok(())
}

/// `lstm_cell_bwd`: bufs act, c, dh, dc_out, dz, dc.
pub fn cpu_lstm_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CellParams = decode(params);
    check("lstm_cell_bwd", bufs, &["act", "c", "dh", "dc_out", "dz", "dc"], &sizes_lstm_bwd(params))?;
    let [act, c, dh, dcn, dz, dc] = bufs else { unreachable!("the spec has 6 buffers") };
    lstm_backward(&p, f32s(act), f32s(c), f32s(dh), f32s(dcn), f32s_mut(dz), f32s_mut(dc));
    Ok(())
}

/// `gru_cell_fwd`: bufs gx, gh, h, h_out, act.
pub fn cpu_gru_fwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CellParams = decode(params);
    check("gru_cell_fwd", bufs, &["gx", "gh", "h", "h_out", "act"], &sizes_gru_fwd(params))?;
    let [gx, gh, h, h_out, act] = bufs else { unreachable!("the spec has 5 buffers") };
    gru_forward(&p, f32s(gx), f32s(gh), f32s(h), f32s_mut(h_out), f32s_mut(act));
    Ok(())
}

/// `gru_cell_bwd`: bufs act, gh, h, dh_out, dgx, dgh, dh.
pub fn cpu_gru_bwd(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: CellParams = decode(params);
    check("gru_cell_bwd", bufs, &["act", "gh", "h", "dh_out", "dgx", "dgh", "dh"], &sizes_gru_bwd(params))?;
    let [act, gh, h, dh_out, dgx, dgh, dh] = bufs else { unreachable!("the spec has 7 buffers") };
    gru_backward(&p, f32s(act), f32s(gh), f32s(h), f32s(dh_out), f32s_mut(dgx), f32s_mut(dgh), f32s_mut(dh));
    Ok(())
}

fn nh(bytes: &[u8]) -> (u64, u64) {
    let p: CellParams = decode(bytes);
    (p.n as u64, p.h as u64)
}

/// Sizes of `lstm_cell_fwd`.
pub fn sizes_lstm_fwd(bytes: &[u8]) -> Vec<u64> {
    let (n, h) = nh(bytes);
    vec![n * 4 * h, n * h, n * h, n * h, n * 5 * h]
}

/// Sizes of `lstm_cell_bwd`.
pub fn sizes_lstm_bwd(bytes: &[u8]) -> Vec<u64> {
    let (n, h) = nh(bytes);
    vec![n * 5 * h, n * h, n * h, n * h, n * 4 * h, n * h]
}

/// Sizes of `gru_cell_fwd`.
pub fn sizes_gru_fwd(bytes: &[u8]) -> Vec<u64> {
    let (n, h) = nh(bytes);
    vec![n * 3 * h, n * 3 * h, n * h, n * h, n * 3 * h]
}

/// Sizes of `gru_cell_bwd`.
pub fn sizes_gru_bwd(bytes: &[u8]) -> Vec<u64> {
    let (n, h) = nh(bytes);
    vec![n * 3 * h, n * 3 * h, n * h, n * h, n * 3 * h, n * 3 * h, n * h]
}

crate::kernel_params!(CellParams { n, h, _pad0, _pad1 });

crate::kernels! {
    stem "ops" / "rnn";
    /// nn: LSTM cell forward (fused gates i, f, g, o).
    LSTM_CELL_FWD = lstm_cell_fwd(CellParams;
        z: R F32, c: R F32, h_out: W F32, c_out: W F32, act: W F32
    )
        cpu cpu_lstm_fwd, sizes sizes_lstm_fwd;
    /// nn: LSTM cell backward.
    LSTM_CELL_BWD = lstm_cell_bwd(CellParams;
        act: R F32, c: R F32, dh: R F32, dc_out: R F32, dz: W F32, dc: W F32
    )
        cpu cpu_lstm_bwd, sizes sizes_lstm_bwd;
    /// nn: GRU cell forward (gates r, z, n).
    GRU_CELL_FWD = gru_cell_fwd(CellParams;
        gx: R F32, gh: R F32, h: R F32, h_out: W F32, act: W F32
    )
        cpu cpu_gru_fwd, sizes sizes_gru_fwd;
    /// nn: GRU cell backward.
    GRU_CELL_BWD = gru_cell_bwd(CellParams;
        act: R F32, gh: R F32, h: R F32, dh_out: R F32, dgx: W F32, dgh: W F32, dh: W F32
    )
        cpu cpu_gru_bwd, sizes sizes_gru_bwd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lstm_forward_by_hand() {
        // z = (ln 3, −ln 3, ln 2, 0): i = 3/4, f = 1/4, g = tanh(ln 2) = 3/5, o = 1/2; c = 2:
        // c' = 1/4·2 + 3/4·3/5 = 0.95; h' = 1/2·tanh(0.95)
        let (l3, l2) = (3f64.ln(), 2f64.ln());
        let p = CellParams { n: 1, h: 1, ..Default::default() };
        let (mut h, mut c, mut a) = ([0.0f64], [0.0f64], [0.0f64; 5]);
        lstm_forward(&p, &[l3, -l3, l2, 0.0], &[2.0], &mut h, &mut c, &mut a);
        assert!((c[0] - 0.95).abs() < 1e-15, "{c:?}");
        assert!((h[0] - 0.5 * 0.95f64.tanh()).abs() < 1e-15, "{h:?}");
        let want = [0.75, 0.25, 0.6, 0.5, 0.95f64.tanh()];
        assert!(a.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-15), "{a:?}");
        // backward with dh' = 1, dc' = 0: dĉ = 1/2·(1 − tanh²0.95); dc = dĉ·f; dz_o = tanh(0.95)·1/4
        let (mut dz, mut dc) = ([0.0f64; 4], [1.0f64]);
        lstm_backward(&p, &a, &[2.0], &[1.0], &[0.0], &mut dz, &mut dc);
        let t = 0.95f64.tanh();
        let dct = 0.5 * (1.0 - t * t);
        let want = [dct * 0.6 * 0.1875, dct * 2.0 * 0.1875, dct * 0.75 * 0.64, t * 0.25];
        assert!(dz.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-15), "{dz:?} vs {want:?}");
        assert!((dc[0] - (1.0 + dct * 0.25)).abs() < 1e-15, "{dc:?}");
    }

    #[test]
    fn lstm_rows_and_units_are_laid_out_by_gate() {
        // N = 2 rows, H = 2 units: row 1 unit 0 reads z[1, 0], z[1, 2], z[1, 4], z[1, 6]
        let p = CellParams { n: 2, h: 2, ..Default::default() };
        let mut z = [0.0f64; 16];
        z[8..].copy_from_slice(&[50.0, 0.0, -50.0, 0.0, 0.0, 0.0, 50.0, 0.0]);
        let c = [0.0, 0.0, 1.0, 1.0];
        let (mut h, mut cn, mut a) = ([0.0f64; 4], [0.0f64; 4], [0.0f64; 20]);
        lstm_forward(&p, &z, &c, &mut h, &mut cn, &mut a);
        // row 1 unit 0: i ≈ 1, f ≈ 0, g = 0, o ≈ 1: c' ≈ 0, h' ≈ 0; unit 1: all gates 1/2, g = 0
        assert!(cn[2].abs() < 1e-20 && h[2].abs() < 1e-20, "{cn:?} {h:?}");
        assert!((cn[3] - 0.5).abs() < 1e-15 && (h[3] - 0.5 * 0.5f64.tanh()).abs() < 1e-15);
        // row 0: z = 0, c = 0: c' = 0, h' = 0, gates 1/2
        assert_eq!((cn[0], h[0], a[0]), (0.0, 0.0, 0.5));
    }

    #[test]
    fn gru_forward_by_hand() {
        // gx = (ln 3, 0, ln 2), gh = (0, −ln 3, 2 ln 2), h = 1: r = 3/4, z = 1/4,
        // n = tanh(ln 2 + 3/4·2 ln 2) = tanh(2.5 ln 2), h' = 3/4·n + 1/4·1
        let (l3, l2) = (3f64.ln(), 2f64.ln());
        let p = CellParams { n: 1, h: 1, ..Default::default() };
        let (mut h, mut a) = ([0.0f64], [0.0f64; 3]);
        gru_forward(&p, &[l3, 0.0, l2], &[0.0, -l3, 2.0 * l2], &[1.0], &mut h, &mut a);
        let n = (2.5 * l2).tanh();
        assert!((a[0] - 0.75).abs() < 1e-15 && (a[1] - 0.25).abs() < 1e-15 && (a[2] - n).abs() < 1e-15, "{a:?}");
        assert!((h[0] - (0.75 * n + 0.25)).abs() < 1e-15, "{h:?}");
        // backward with dh' = 1: dh = z = 1/4; dgx_n = 3/4·(1 − n²), dgh_n = dgx_n·r
        let (mut dgx, mut dgh, mut dh) = ([0.0f64; 3], [0.0f64; 3], [0.0f64]);
        gru_backward(&p, &a, &[0.0, -l3, 2.0 * l2], &[1.0], &[1.0], &mut dgx, &mut dgh, &mut dh);
        let dn = 0.75 * (1.0 - n * n);
        let dz = (1.0 - n) * 0.1875;
        let dr = dn * 2.0 * l2 * 0.1875;
        let (wx, wh) = ([dr, dz, dn], [dr, dz, dn * 0.75]);
        assert!(dgx.iter().zip(wx).all(|(x, y)| (x - y).abs() < 1e-15), "{dgx:?} vs {wx:?}");
        assert!(dgh.iter().zip(wh).all(|(x, y)| (x - y).abs() < 1e-15), "{dgh:?} vs {wh:?}");
        assert_eq!(dh, [0.25]);
    }
}
