//! Train DIRS from Rust code and compare it with the Local and Greedy baselines on held-out
//! channel states: the library calls behind `mecrl run configs/dirs.toml`, at a small budget
//! (N = 12 IoTDs, M = 2 MECs, 64 demonstrations, 200 imitation iterations, 300 online steps).
//! The paper's budget is the default `DirsConfig`; docs/dirs.md has every field.
//!
//! `cargo run --release --example train_dirs`

use mecrl::algo::dirs::{Dirs, DirsConfig};
use mecrl::algo::mec_drl::{evaluate_heuristic, evaluate_with};
use mecrl::algo::Agent;
use mecrl::backend::{self, BackendKind};
use mecrl::env::mec::{Heuristic, MecConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let be = backend::create(BackendKind::Cpu)?;
    let mec = MecConfig { n_iotd: 12, n_mec: 2, ..Default::default() };
    let cfg = DirsConfig { demonstrations: 64, t_d: 200, t_drl: 300, seed: 3, ..Default::default() };
    let mut dirs = Dirs::new(be.clone(), &mec, &cfg)?;
    let t0 = std::time::Instant::now();
    // Imitation pre-training (Alg. 2), then online training (Alg. 1); a metric every 100 steps.
    let log = dirs.train_logged(100, &mut || {})?;
    be.sync()?;
    println!("trained in {:.1} s; {} logged steps", t0.elapsed().as_secs_f64(), log.len());
    // Held-out states: the training layouts at channel states far after the ones trained on.
    let held_out = 1 << 20;
    let r = evaluate_with(&mut dirs.scenario(held_out)?, 50, true, &mut |e| dirs.act(e))?;
    println!("DIRS    ΣΦ {:.3}  ({:.1} µs per decision)", r.objective, 1e6 * r.inference_s_per_decision);
    for h in [Heuristic::Local, Heuristic::Greedy] {
        let b = evaluate_heuristic(&mut dirs.scenario(held_out)?, 50, h)?;
        println!("{:<7} ΣΦ {:.3}", format!("{h:?}"), b.objective);
    }
    Ok(())
}
