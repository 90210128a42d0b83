//! The one kernel of mixed MAPPO: the action an agent takes in a slot (Algorithm 1, line 5, as
//! mecrl reads it; docs/mappo.md) and whether its sample enters the losses.
//!
//! Per agent e (one thread each), from the actor's log-probabilities `logp` [E, A], its sampled
//! action a′ = `sampled`\[e\], the drift-plus-penalty action â = `dpp`\[e\] and the observation
//! row `obs`[e, F]:
//! - `mix` = 0 (MAPPO): a = a′;
//! - `mix` = 1 (likelihood): a = â when log π(â|o) > log π(a′|o), else a′ — of the two candidate
//!   actions the one the policy rates higher (ties keep the actor's sample);
//! - `mix` = 2 (ε-greedy, MADQN): a = â (a uniform random action) when u < ε, else a′ (the
//!   greedy one), u = the top 24 bits of Philox block (e, 0, `step`, MADQN_EXPLORE) word 0 / 2^24;
//! - `from_dpp`\[e\] = 1.0 when â was taken (a′ ≠ â) by an agent with tasks, else 0.0;
//! - `weight`\[e\] = 1 when the agent had tasks this slot (obs[e, 0] = K > 0), else 0: the
//!   environment ignores an idle agent's action, so its sample carries no signal.

use crate::backend::cpu::{f32s, f32s_mut, need_all};
use crate::backend::params as decode;
use crate::error::Result;
use crate::rng;

/// Parameters of `mappo_act`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ActParams {
    /// E, agents (rows).
    pub rows: u32,
    /// A, actions.
    pub cols: u32,
    /// F, observation width.
    pub obs_width: u32,
    /// 0: the actor's sample; 1: the likelier of the sample and the drift-plus-penalty action;
    /// 2: ε-greedy between the greedy action and a random one.
    pub mix: u32,
    /// ε (`mix` = 2).
    pub epsilon: f32,
    /// Philox key word 0 (`mix` = 2).
    pub key0: u32,
    /// Philox key word 1 (`mix` = 2).
    pub key1: u32,
    /// Philox counter word 2: the decision's number (`mix` = 2).
    pub step: u32,
}

/// The rule of agent `e`: (action, from_dpp, weight).
pub fn act_rule(p: &ActParams, e: u32, logp: &[f32], sampled: u32, dpp: u32, tasks: f32) -> (u32, f32, f32) {
    let c = p.cols;
    let take_dpp = match p.mix {
        1 => dpp < c && sampled < c && logp[dpp as usize] > logp[sampled as usize],
        2 => {
            let w = rng::philox4x32_10(rng::counter(e, 0, p.step, rng::stream::MADQN_EXPLORE, 0), [p.key0, p.key1]);
            rng::uniform(w[0]) < p.epsilon
        }
        _ => false,
    };
    let weight = if tasks > 0.0 { 1.0 } else { 0.0 };
    if take_dpp {
        (dpp, weight, weight)
    } else {
        (sampled, 0.0, weight)
    }
}

/// `mappo_act`: bufs logp, sampled, dpp, obs, action, from_dpp, weight.
pub fn cpu_act(params: &[u8], bufs: &mut [&mut [u32]]) -> Result<()> {
    let p: ActParams = decode(params);
    let (e, a, f) = (p.rows as usize, p.cols as usize, p.obs_width as usize);
    need_all(
        "mappo_act",
        bufs,
        &[("logp", e * a), ("sampled", e), ("dpp", e), ("obs", e * f), ("action", e), ("from_dpp", e), ("weight", e)],
    )?;
    let [logp, sampled, dpp, obs, action, from_dpp, weight] = bufs else { unreachable!("the spec has 7 buffers") };
    let (logp, obs) = (f32s(logp), f32s(obs));
    let (from_dpp, weight) = (f32s_mut(from_dpp), f32s_mut(weight));
    for r in 0..e {
        let (act, d, w) = act_rule(&p, r as u32, &logp[r * a..(r + 1) * a], sampled[r], dpp[r], obs[r * f]);
        action[r] = act;
        from_dpp[r] = d;
        weight[r] = w;
    }
    Ok(())
}

fn sizes_act(bytes: &[u8]) -> Vec<u64> {
    let p: ActParams = decode(bytes);
    let (e, a, f) = (p.rows as u64, p.cols as u64, p.obs_width as u64);
    vec![e * a, e, e, e * f, e, e, e]
}

crate::kernel_params!(ActParams { rows, cols, obs_width, mix, epsilon, key0, key1, step });

crate::kernels! {
    stem "algo" / "mappo";
    /// Mixed MAPPO: the action taken per agent (actor sample or drift-plus-penalty) and its loss weight.
    MAPPO_ACT = mappo_act(ActParams;
        logp: R F32, sampled: R U32, dpp: R U32, obs: R F32, action: W U32, from_dpp: W F32, weight: W F32
    )
        cpu cpu_act, sizes sizes_act;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_likelier_candidate_is_taken() {
        let p = ActParams { rows: 1, cols: 3, obs_width: 1, mix: 1, ..Default::default() };
        let logp = [-2.0f32, -0.5, -1.0];
        // the sample (2) is less likely than the dpp action (1): take 1
        assert_eq!(act_rule(&p, 0, &logp, 2, 1, 3.0), (1, 1.0, 1.0));
        // the sample (1) is likelier than dpp's (0): keep it; no tasks → weight 0
        assert_eq!(act_rule(&p, 0, &logp, 1, 0, 0.0), (1, 0.0, 0.0));
        // an idle agent's switch is not counted
        assert_eq!(act_rule(&p, 0, &logp, 2, 1, 0.0), (1, 0.0, 0.0));
        // equal candidates keep the sample, and so does MAPPO
        assert_eq!(act_rule(&p, 0, &logp, 1, 1, 1.0), (1, 0.0, 1.0));
        let plain = ActParams { mix: 0, ..p };
        assert_eq!(act_rule(&plain, 0, &logp, 2, 1, 1.0), (2, 0.0, 1.0));
        // ε-greedy: ε = 0 never, ε = 1 always explores; ε = 0.3 explores about 30 % of agents
        let eg =
            |epsilon: f32, e: u32| act_rule(&ActParams { mix: 2, epsilon, key0: 3, key1: 4, ..p }, e, &logp, 0, 2, 1.0);
        assert!((0..100).all(|e| eg(0.0, e) == (0, 0.0, 1.0) && eg(1.0, e) == (2, 1.0, 1.0)));
        let explored = (0..1000).filter(|&e| eg(0.3, e).0 == 2).count();
        assert!((250..350).contains(&explored), "{explored}");
    }
}
