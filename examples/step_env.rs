//! Step an environment with your own actions: 256 instances of the CRB-DRQN `endedge` system
//! (50 terminals, 5 edge servers each) through the one environment contract every system
//! implements (`mecrl::env::contract::BatchEnv`), with a rule written here: action 0 computes
//! locally, action e ≥ 1 offloads to edge server e; terminal i tries the servers from i mod
//! (E + 1) on (round robin) and takes the first one its mask allows, else computes locally.
//!
//! `cargo run --release --example step_env [-- cpu|wgpu|cuda]`

use mecrl::backend::{self, BackendChoice};
use mecrl::env::contract::{ActionSpace, BatchEnv, EnvBuffers};
use mecrl::env::endedge::{contract::EndedgeBatchEnv, EndedgeConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let choice = std::env::args().nth(1).unwrap_or_else(|| "cpu".into());
    let (be, _) = backend::select(choice.parse::<BackendChoice>()?)?;
    let cfg = EndedgeConfig { devices: 50, servers: 5, ..Default::default() };
    let mut env = EndedgeBatchEnv::new(be.clone(), &cfg, 256)?;
    let spec = env.spec().clone();
    let ActionSpace::Discrete { n } = spec.action else { unreachable!("endedge actions are discrete") };
    println!(
        "{}: B = {} instances × A = {} agents, obs {:?}, {} actions, masked: {}, reward: {}",
        spec.system, spec.batch, spec.agents, spec.obs_shape, n, spec.masked, spec.reward
    );
    // The caller owns the output buffers; reset and step write them on the device.
    let out = EnvBuffers::new(be.as_ref(), &spec)?;
    env.reset(7, &out)?;
    let (mut total, mut steps) = (0.0f64, 0usize);
    loop {
        // Read what the rule needs: the masks [B, A, n] (1 = allowed).
        let mask = be.download(&out.mask)?;
        let actions: Vec<u32> = (0..spec.batch * spec.agents)
            .map(|i| {
                let m = &mask[i * n as usize..(i + 1) * n as usize];
                let k = i as u32 % n;
                (0..n).map(|j| (k + j) % n).find(|&a| a != 0 && m[a as usize] != 0).unwrap_or(0)
            })
            .collect();
        // step_host checks length, range and mask (a typed error otherwise), uploads and steps.
        env.step_host(&actions, &out)?;
        let reward: Vec<f32> = be.download(&out.reward)?.iter().map(|&w| f32::from_bits(w)).collect();
        total += reward.iter().map(|&r| r as f64).sum::<f64>() / spec.batch as f64;
        steps += 1;
        let truncated = be.download(&out.truncated)?;
        if truncated.iter().all(|&t| t == 1) {
            break;
        }
    }
    // Rewards are per terminal ([B, A]); `total` sums them over the terminals of an instance.
    println!("{steps} slots; return per instance (all terminals) {total:.1}");
    println!("the heuristics on the same system: mecrl run configs/endedge.toml");
    Ok(())
}
