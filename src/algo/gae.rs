//! Generalized advantage estimation (Schulman et al. 2016; MRLCO eq. 18, O2O eq. 13–15) and
//! discounted returns over a rollout of T steps × E environments, as one kernel on every
//! backend: one thread per environment walks its column backwards, so no step is read back to
//! the host.
//!
//! Buffers (step outermost): `reward` [T, E] f32, `value` [T, E] f32 (V(s_t)), `done` [T, E] u32
//! (1 = the episode ended with step t: nothing after it is bootstrapped), `next_value` \[E\] f32
//! (V of the state after step T − 1, the bootstrap of a column that did not end), `adv` and
//! `ret` [T, E] f32 out. With nonterminal n_t = 1 − done_t:
//! - δ_t = r_t + γ·V_{t+1}·n_t − V_t (V_T = `next_value`),
//! - A_t = δ_t + (γλ)·n_t·A_{t+1} (A_T = 0), returns R_t = A_t + V_t (the λ-return), or with
//!   [`Returns::Discounted`] the discounted return of MRLCO eq. 19,
//!   R_t = r_t + γ·n_t·R_{t+1} (R_T = `next_value`).
//!
//! The float order is part of the definition (every backend evaluates the same expression
//! tree): δ = (r + (γ·V′)·n) − V, A = δ + (γλ·n)·A′ with γλ = γ·λ rounded once on the host;
//! R = r + (γ·R′)·n.

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::{params as decode, Backend, Buffer};
use crate::error::{Error, Result};

/// Parameters of `gae`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GaeParams {
    /// T, steps of the rollout.
    pub steps: u32,
    /// E, environments (columns).
    pub envs: u32,
    /// γ, the discount.
    pub gamma: f32,
    /// γ·λ (λ the GAE parameter), rounded once to f32 on the host.
    pub gamma_lambda: f32,
    /// Which returns `ret` holds ([`Returns`] as u32).
    pub returns: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// The value targets a rollout's `ret` holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Returns {
    /// The λ-return A_t + V_t (PPO's usual target).
    #[default]
    Lambda = 0,
    /// The discounted sum of rewards, bootstrapped only at the rollout's end (MRLCO eq. 19).
    Discounted = 1,
}

impl GaeParams {
    /// Checked parameters: γ and λ in [0, 1], T and E ≥ 1 with T·E < 2^31.
    pub fn new(steps: usize, envs: usize, gamma: f32, lambda: f32) -> Result<Self> {
        for (field, v) in [("gae.gamma", gamma), ("gae.lambda", lambda)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::config(field, v, "must be in [0, 1]"));
            }
        }
        if steps == 0 || envs == 0 || steps.saturating_mul(envs) >= 1 << 31 {
            return Err(Error::config("gae.steps", format!("{steps} x {envs}"), "need T, E >= 1 and T·E < 2^31"));
        }
        Ok(GaeParams {
            steps: steps as u32,
            envs: envs as u32,
            gamma,
            gamma_lambda: gamma * lambda,
            ..Default::default()
        })
    }

    /// The same with `ret` holding `r` returns.
    pub fn with_returns(self, r: Returns) -> Self {
        GaeParams { returns: r as u32, ..self }
    }
}

/// The column `e` of `gae`: advantages and returns of one environment, backwards from T − 1.
#[allow(clippy::too_many_arguments)]
fn column(
    p: &GaeParams,
    e: usize,
    reward: &[f32],
    value: &[f32],
    done: &[u32],
    next: f32,
    adv: &mut [f32],
    ret: &mut [f32],
) {
    let (t_max, ne) = (p.steps as usize, p.envs as usize);
    let mut a_next = 0.0f32;
    let mut v_next = next;
    let mut g_next = next;
    for t in (0..t_max).rev() {
        let i = t * ne + e;
        let n = if done[i] == 0 { 1.0f32 } else { 0.0 };
        let delta = (reward[i] + (p.gamma * v_next) * n) - value[i];
        let a = delta + (p.gamma_lambda * n) * a_next;
        let g = reward[i] + (p.gamma * g_next) * n;
        adv[i] = a;
        ret[i] = if p.returns == 1 { g } else { a + value[i] };
        a_next = a;
        v_next = value[i];
        g_next = g;
    }
}

/// `gae`: bufs reward, value, done, next_value, adv, ret (layouts in the module docs).
pub fn cpu_gae(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: GaeParams = decode(params);
    let (t, e) = (p.steps as usize, p.envs as usize);
    let want =
        [("reward", t * e), ("value", t * e), ("done", t * e), ("next_value", e), ("adv", t * e), ("ret", t * e)];
    need_all("gae", bufs, &want)?;
    let [reward, value, done, next, adv, ret] = bufs else { unreachable!("the spec has 6 buffers") };
    let (reward, value, next) = (f32s(reward), f32s(value), f32s(next));
    let (adv, ret) = (f32s_mut(adv), f32s_mut(ret));
    for (c, &nv) in next[..e].iter().enumerate() {
        column(&p, c, reward, value, done, nv, adv, ret);
    }
    Ok(())
}

fn sizes_gae(bytes: &[u8]) -> Vec<u64> {
    let p: GaeParams = decode(bytes);
    let (t, e) = (p.steps as u64, p.envs as u64);
    vec![t * e, t * e, t * e, e, t * e, t * e]
}

crate::kernel_params!(GaeParams { steps, envs, gamma, gamma_lambda, returns, _pad0, _pad1, _pad2 });

crate::kernels! {
    stem "algo" / "gae";
    /// Advantages (GAE) and returns of a rollout, one thread per environment.
    GAE = gae(GaeParams; reward: R F32, value: R F32, done: R U32, next_value: R F32, adv: W F32, ret: W F32)
        cpu cpu_gae, sizes sizes_gae;
}

/// Advantages and returns of a rollout on `be` (buffers in the module docs' layouts, sizes
/// checked before the launch).
pub fn gae(be: &dyn Backend, p: &GaeParams, rollout: [&Buffer; 4], adv: &Buffer, ret: &Buffer) -> Result<()> {
    let [reward, value, done, next_value] = rollout;
    be.launch(&GAE, bytemuck::bytes_of(p), p.envs, &[reward, value, done, next_value, adv, ret])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain loop in f64 over explicit episodes (the textbook definition, written
    /// independently of the kernel): per column, split at dones, A_t = Σ_k (γλ)^k δ_{t+k}.
    #[allow(clippy::too_many_arguments)]
    fn reference(t: usize, e: usize, g: f64, gl: f64, r: &[f32], v: &[f32], d: &[u32], nv: &[f32]) -> Vec<f64> {
        let mut adv = vec![0.0; t * e];
        for c in 0..e {
            for s in 0..t {
                let mut sum = 0.0;
                let mut w = 1.0;
                for k in s..t {
                    let i = k * e + c;
                    let terminal = d[i] == 1;
                    let v_next = if terminal {
                        0.0
                    } else if k + 1 < t {
                        v[(k + 1) * e + c] as f64
                    } else {
                        nv[c] as f64
                    };
                    sum += w * (r[i] as f64 + g * v_next - v[i] as f64);
                    if terminal {
                        break;
                    }
                    w *= gl;
                }
                adv[s * e + c] = sum;
            }
        }
        adv
    }

    #[allow(clippy::too_many_arguments)]
    fn run(t: usize, e: usize, g: f32, l: f32, r: &[f32], v: &[f32], d: &[u32], nv: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let p = GaeParams::new(t, e, g, l).unwrap();
        let w = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        let (mut r, mut v, mut d, mut nv) = (w(r), w(v), d.to_vec(), w(nv));
        let (mut a, mut ret) = (vec![0u32; t * e], vec![0u32; t * e]);
        let mut bufs: Vec<&mut [u32]> = vec![&mut r, &mut v, &mut d, &mut nv, &mut a, &mut ret];
        cpu_gae(bytemuck::bytes_of(&p), &mut bufs).unwrap();
        let f = |x: &[u32]| x.iter().map(|&b| f32::from_bits(b)).collect::<Vec<f32>>();
        (f(&a), f(&ret))
    }

    #[test]
    fn hand_computed_two_step_episode() {
        // One column, T = 3, γ = 0.5, λ = 0.5; the episode ends with step 1, step 2 starts anew.
        // Step 2: δ = 1 + 0.5·4 − 2 = 1 → A = 1.
        // Step 1 (terminal): δ = 2 − 1 = 1 → A = 1.
        // Step 0: δ = 0 + 0.5·1 − 3 = −2.5 → A = −2.5 + 0.25·1 = −2.25.
        let (a, ret) = run(3, 1, 0.5, 0.5, &[0.0, 2.0, 1.0], &[3.0, 1.0, 2.0], &[0, 1, 0], &[4.0]);
        assert_eq!(a, [-2.25, 1.0, 1.0]);
        assert_eq!(ret, [0.75, 2.0, 3.0]);
    }

    #[test]
    fn matches_a_plain_loop_with_terminations_in_the_middle() {
        let (t, e) = (37, 5);
        let h = |i: usize, s: u32| ((i as u32 ^ s).wrapping_mul(2_654_435_761) >> 8) as f32 / 16_777_216.0;
        let r: Vec<f32> = (0..t * e).map(|i| h(i, 1) * 2.0 - 1.0).collect();
        let v: Vec<f32> = (0..t * e).map(|i| h(i, 2) * 4.0 - 2.0).collect();
        // Column 0 never ends; the others end every 3rd, 7th, ... step, and at the last step.
        let d: Vec<u32> =
            (0..t * e).map(|i| (i % e != 0 && ((i / e) % (2 + i % e) == 1 || i / e == t - 1)) as u32).collect();
        let nv: Vec<f32> = (0..e).map(|c| c as f32 - 1.5).collect();
        for (g, l) in [(0.99f32, 0.95f32), (0.9, 1.0), (1.0, 0.0)] {
            let (a, ret) = run(t, e, g, l, &r, &v, &d, &nv);
            let want = reference(t, e, g as f64, (g * l) as f64, &r, &v, &d, &nv);
            for i in 0..t * e {
                assert!(
                    (a[i] as f64 - want[i]).abs() <= 1e-4 * want[i].abs().max(1.0),
                    "γ={g} λ={l} [{i}]: {} vs {}",
                    a[i],
                    want[i]
                );
                assert_eq!(ret[i], a[i] + v[i]);
            }
        }
    }

    #[test]
    fn discounted_returns_by_hand() {
        // γ = 0.5; column ends at step 1; step 2 bootstraps from next_value 4:
        // R2 = 1 + 0.5·4 = 3, R1 = 2, R0 = 0 + 0.5·2 = 1.
        let p = GaeParams::new(3, 1, 0.5, 0.5).unwrap().with_returns(Returns::Discounted);
        let w = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        let (mut r, mut v, mut d, mut nv) = (w(&[0.0, 2.0, 1.0]), w(&[3.0, 1.0, 2.0]), vec![0u32, 1, 0], w(&[4.0]));
        let (mut a, mut ret) = (vec![0u32; 3], vec![0u32; 3]);
        let mut bufs: Vec<&mut [u32]> = vec![&mut r, &mut v, &mut d, &mut nv, &mut a, &mut ret];
        cpu_gae(bytemuck::bytes_of(&p), &mut bufs).unwrap();
        let f = |x: &[u32]| x.iter().map(|&b| f32::from_bits(b)).collect::<Vec<f32>>();
        assert_eq!(f(&ret), [1.0, 2.0, 3.0]);
        assert_eq!(f(&a), [-2.25, 1.0, 1.0], "the advantages do not change");
    }

    #[test]
    fn bad_parameters_name_the_field() {
        assert!(matches!(GaeParams::new(4, 2, 1.5, 0.9), Err(Error::Config { field, .. }) if field == "gae.gamma"));
        assert!(matches!(GaeParams::new(4, 2, 0.9, -0.1), Err(Error::Config { field, .. }) if field == "gae.lambda"));
        assert!(matches!(GaeParams::new(0, 2, 0.9, 0.9), Err(Error::Config { field, .. }) if field == "gae.steps"));
    }
}
