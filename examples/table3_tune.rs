//! The tuning grid of Table III (docs/ac_ddpg.md "Tuning within one budget"): DIRS, Actor-Critic
//! and DDPG each get the same budget — four configurations, one training run each at the
//! paper's system (N = 30, M = 2) and its default length, on seed 101 (not one of Table III's
//! seeds 1–5) — and each is ranked by its held-out Σ Φ (lower is better).
//! `cargo run --release --example table3_tune -- [mecrl|calibrated]`

use std::sync::Arc;

use mecrl::algo::ac::{AcConfig, ActorCritic};
use mecrl::algo::ddpg::{Ddpg, DdpgConfig};
use mecrl::algo::mec_drl::Baseline;
use mecrl::backend::Backend;
use mecrl::env::mec::{MecConfig, MecProfile};
use mecrl::experiment::dirs::{train_and_evaluate, DirsRunConfig};

const SEED: u64 = 101;

/// Held-out Σ Φ of a trained baseline (16 instances × 20 channel states, as Table III) and its
/// training time.
fn baseline(ag: &mut impl Baseline, be: &Arc<dyn Backend>) -> mecrl::Result<(f64, f64)> {
    let t0 = std::time::Instant::now();
    ag.train_logged(0, &mut || {})?;
    be.sync()?;
    let t = t0.elapsed().as_secs_f64();
    Ok((ag.evaluate(&mut ag.heldout_env(16)?, 20)?.objective, t))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile = MecProfile::parse(&std::env::args().nth(1).unwrap_or_else(|| "mecrl".into()))?;
    let mec: MecConfig = profile.config();
    let be = mecrl::backend::create(mecrl::backend::BackendKind::Cpu)?;
    println!("method,setting,held_out_objective,training_s");
    for lr in [3e-4, 1e-3, 3e-3, 1e-2] {
        let mut c = DirsRunConfig {
            seed: SEED,
            backend: "cpu".into(),
            inference_batch: 0,
            checkpoint_every: 0,
            mec: mec.clone(),
            ..Default::default()
        };
        c.dirs.lr = lr;
        let (o, _) = train_and_evaluate(&c, be.clone(), true, &mut |_| {})?;
        println!("dirs,lr={lr:e},{:.4},{:.2}", o.held_out[0][0], o.train_s);
    }
    for lr in [3e-4, 1e-3, 3e-3, 1e-2] {
        let cfg = AcConfig { seed: SEED, actor_lr: lr, critic_lr: lr, ..Default::default() };
        let (obj, t) = baseline(&mut ActorCritic::new(be.clone(), &mec, &cfg)?, &be)?;
        println!("ac,actor_lr=critic_lr={lr:e},{obj:.4},{t:.2}");
    }
    for (a, c) in [(1e-4, 3e-4), (1e-4, 1e-3), (1e-3, 1e-3), (3e-5, 3e-4)] {
        let cfg = DdpgConfig { seed: SEED, actor_lr: a, critic_lr: c, ..Default::default() };
        let (obj, t) = baseline(&mut Ddpg::new(be.clone(), &mec, &cfg)?, &be)?;
        println!("ddpg,actor_lr={a:e} critic_lr={c:e},{obj:.4},{t:.2}");
    }
    Ok(())
}
