//! DDPG at the paper's system (N = 30, M = 2) with `DdpgConfig` overrides as TOML (argument 1):
//! training time, held-out Σ Φ and Local's on the same states (docs/ac_ddpg.md "Tuning").
//! `cargo run --release --example ddpg_tune -- 'actor_lr = 1e-3' [mecrl|calibrated]` (the
//! second argument: the `mec` profile, docs/mec.md "Profiles"; the training log every 100 steps
//! goes to stderr).

use mecrl::algo::ddpg::{Ddpg, DdpgConfig};
use mecrl::algo::mec_drl::{self as drl, Baseline};
use mecrl::algo::Agent;
use mecrl::env::mec::{Heuristic, MecConfig, MecProfile};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args().nth(1).unwrap_or_default();
    let cfg: DdpgConfig = toml::from_str(&text)?;
    let be = mecrl::backend::create(mecrl::backend::BackendKind::Cpu)?;
    let mec: MecConfig = MecProfile::parse(&std::env::args().nth(2).unwrap_or_else(|| "mecrl".into()))?.config();
    let mut ag = Ddpg::new(be, &mec, &cfg)?;
    let t0 = std::time::Instant::now();
    for m in ag.train_logged(100, &mut || {})? {
        eprintln!("step {}: objective {:.3}, reward {:.5}", m.step, m.objective, m.reward);
    }
    ag.backend().sync()?;
    let train_s = t0.elapsed().as_secs_f64();
    let r = ag.evaluate(&mut ag.heldout_env(16)?, 20)?;
    let local = drl::evaluate_heuristic(&mut ag.heldout_env(16)?, 20, Heuristic::Local)?;
    println!(
        "{text:?}: train {:.1} s, held-out ΣΦ {:.3} (Local {:.3}), reward {:.4}",
        train_s, r.objective, local.objective, r.reward
    );
    Ok(())
}
