//! `mecrl run` for DIRS (`configs/dirs.toml`, system `dirs`): imitation pre-training (Alg. 2),
//! online training (Alg. 1, 3), then decentralized inference against the Greedy, Random and
//! Local baselines on (a) held-out channel states of the training scenario (its layouts at
//! channel steps training never reached) and (b) a batch of new layouts, with the inference time
//! per decision. Writes `training.csv` (the online metrics), `results.csv` and the trained
//! agents (`agents.safetensors`).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::algo::agent::{Agent, Decisions};
use crate::algo::dirs::Dirs;
use crate::backend::Backend;
use crate::env::mec::{Heuristic, MecEnv, Summary};
use crate::error::{Error, Result};
use crate::rng::derive_seed;

mod config;
mod resume;
use config::HELD_OUT_STEP;
pub use config::{DirsRunConfig, Outcome, PhaseTimes};
pub use resume::{clear_work, train_resumable, CHECKPOINT};

/// Mean Σ Φ, mean T, mean E over instances.
fn means(s: &[Summary]) -> [f64; 3] {
    let k = s.len() as f64;
    [
        s.iter().map(|x| x.objective).sum::<f64>() / k,
        s.iter().map(|x| x.mean_time).sum::<f64>() / k,
        s.iter().map(|x| x.mean_energy).sum::<f64>() / k,
    ]
}

pub(crate) const METHODS: [&str; 4] = ["dirs", "greedy", "random", "local"];

/// Decisions of the four methods on the current state of `env` (host, for the f64 summaries).
fn decisions(d: &Dirs, env: &MecEnv) -> Result<[Vec<u32>; 4]> {
    let host = |a: Decisions| env.backend().download(a.buffer());
    Ok([
        host(d.act(env)?)?,
        host(Heuristic::Greedy.act(env)?)?,
        host(Heuristic::Random.act(env)?)?,
        host(Heuristic::Local.act(env)?)?,
    ])
}

/// Train DIRS (Alg. 2, then Alg. 1) and, with `evaluate`, compare it with the baselines.
pub fn train_and_evaluate(
    cfg: &DirsRunConfig,
    backend: Arc<dyn Backend>,
    evaluate: bool,
    tick: &mut dyn FnMut(u64),
) -> Result<(Outcome, Dirs)> {
    train_and_evaluate_in(cfg, backend, evaluate, None, tick)
}

/// [`train_and_evaluate`] with the training checkpoint in `work` (see [`train_resumable`]).
pub fn train_and_evaluate_in(
    cfg: &DirsRunConfig,
    backend: Arc<dyn Backend>,
    evaluate: bool,
    work: Option<&Path>,
    tick: &mut dyn FnMut(u64),
) -> Result<(Outcome, Dirs)> {
    let (mut out, d) = train_resumable(cfg, backend.clone(), work, None, tick)?;
    if !evaluate {
        return Ok((out, d));
    }
    let t_eval = Instant::now();
    // (a) Held-out channel states of the training scenario.
    let mut env = d.scenario(HELD_OUT_STEP + (1 << 20))?;
    for _ in 0..cfg.eval_steps {
        for (k, a) in decisions(&d, &env)?.iter().enumerate() {
            let m = means(&env.summarize_exact(a)?);
            for (acc, v) in out.held_out[k].iter_mut().zip(m) {
                *acc += v / cfg.eval_steps as f64;
            }
        }
        env.step()?;
        tick(1);
    }
    out.phase_s.evaluation = t_eval.elapsed().as_secs_f64();
    // (b) New layouts, batched decentralized inference with its time per decision.
    let t_inf = Instant::now();
    if cfg.inference_batch > 0 {
        let env = MecEnv::new(backend.clone(), &cfg.mec, cfg.inference_batch, derive_seed(cfg.seed, 0xd1e5))?;
        d.decide(&env)?; // warm-up (pipelines, caches)
        backend.sync()?;
        let reps = 5;
        let ti = Instant::now();
        for _ in 0..reps {
            let a = d.decide(&env)?;
            env.objective_exact_dev(&a, 1)?;
        }
        backend.sync()?;
        let per_batch = ti.elapsed().as_secs_f64() / reps as f64;
        let mut rows = [[0.0f64; 3]; 4];
        for (k, a) in decisions(&d, &env)?.iter().enumerate() {
            rows[k] = means(&env.summarize_exact(a)?);
        }
        out.fresh = Some((rows, per_batch));
    }
    out.phase_s.inference = t_inf.elapsed().as_secs_f64();
    Ok((out, d))
}

/// Train and evaluate DIRS on `backend`: the report of `mecrl run`. `tick` advances a progress bar.
pub fn run(cfg: &DirsRunConfig, backend: Arc<dyn Backend>, tick: &mut dyn FnMut(u64)) -> Result<super::common::Report> {
    let work = cfg.work_dir();
    let (o, d) = train_and_evaluate_in(cfg, backend.clone(), true, Some(&work), tick)?;
    let algo = cfg.algo();
    let (imitation, t_pre, t_train, acc, fresh) = (o.imitation, o.pretrain_s, o.train_s, o.held_out, o.fresh);
    let mut csv_train = String::from("step,voted_objective,refined_objective,reward,loss,mean_time_s,mean_energy_j\n");
    for s in &o.log {
        csv_train.push_str(&format!(
            "{},{:.6},{:.6},{:.8},{:.6},{:.6},{:.6}\n",
            s.step, s.voted, s.refined, s.reward, s.loss, s.mean_time, s.mean_energy
        ));
    }
    let (n, m) = (cfg.mec.n_iotd, cfg.mec.n_mec);
    let mut table = format!("DIRS  N = {n} IoTDs, M = {m} MECs, {}\n", backend.describe());
    if let Some((tr, te)) = imitation {
        table.push_str(&format!(
            "imitation ({} demonstrations, T_D = {}): accuracy train {:.1}%, held-out {:.1}%  ({t_pre:.1} s)\n",
            algo.demonstrations,
            algo.t_d,
            100.0 * tr,
            100.0 * te
        ));
        if let Some((sr, se)) = o.imitation_set {
            table.push_str(&format!(
                "  set accuracy (within {} of the label's objective): train {:.1}%, held-out {:.1}%  (labels: {:?})\n",
                algo.accuracy_tolerance,
                100.0 * sr,
                100.0 * se,
                algo.demo_solver
            ));
        }
    }
    table.push_str(&format!("online training: T_DRL = {} steps, {:.1} s in all\n", algo.t_drl, t_train));
    if let Some(t) = o.resumed_at {
        table.push_str(&format!("(resumed at online step {t} from {})\n", work.join(CHECKPOINT).display()));
    }
    let mut csv = String::from("set,method,objective,mean_time_s,mean_energy_j\n");
    let mut summary = vec![];
    let mut section = |title: String, set: &str, rows: &[[f64; 3]; 4], table: &mut String| {
        table.push_str(&format!("{title}\n{:<8} {:>12} {:>12} {:>12}\n", "method", "Σ Φ", "mean T (s)", "mean E (J)"));
        for (k, r) in rows.iter().enumerate() {
            table.push_str(&format!("{:<8} {:>12.4} {:>12.5} {:>12.5}\n", METHODS[k], r[0], r[1], r[2]));
            csv.push_str(&format!("{set},{},{:.6},{:.6},{:.6}\n", METHODS[k], r[0], r[1], r[2]));
            summary.push(serde_json::json!({"set": set, "method": METHODS[k], "objective": r[0],
                "mean_time_s": r[1], "mean_energy_j": r[2]}));
        }
    };
    section(
        format!(
            "held-out channel states of the training layouts ({} × {} instances):",
            cfg.eval_steps, algo.train_envs
        ),
        "held_out_states",
        &acc,
        &mut table,
    );
    if let Some((rows, per_batch)) = fresh {
        section(format!("new layouts ({} instances):", cfg.inference_batch), "new_layouts", &rows, &mut table);
        table.push_str(&format!(
            "decentralized inference (agents + vote + allocation): {:.3} ms per batch of {}, {:.3} µs per instance\n",
            1e3 * per_batch,
            cfg.inference_batch,
            1e6 * per_batch / cfg.inference_batch as f64
        ));
        summary.push(serde_json::json!({"inference_s_per_batch": per_batch, "batch": cfg.inference_batch}));
    }
    if let Some((tr, te)) = imitation {
        summary.push(serde_json::json!({"imitation_train_accuracy": tr, "imitation_test_accuracy": te}));
    }
    if let Some((tr, te)) = o.imitation_set {
        summary.push(serde_json::json!({"imitation_train_set_accuracy": tr, "imitation_test_set_accuracy": te}));
    }
    summary.push(serde_json::json!({"pretrain_s": t_pre, "train_s": t_train}));
    let p = &o.phase_s;
    table.push_str(&format!(
        "wall time (s): demonstrations {:.1}, imitation {:.1}, accuracy {:.1}, online {:.1} (checkpoints {:.1}), \
         evaluation {:.1}, inference {:.1}\n",
        p.demonstrations, p.imitation, p.accuracy, p.online, p.checkpoints, p.evaluation, p.inference
    ));
    summary.push(serde_json::json!({"phase_s": p, "resumed_at": o.resumed_at}));
    // The trained agents (safetensors, through a uniquely named temporary file).
    let tmp = std::env::temp_dir().join(format!("mecrl-dirs-{}-{}.safetensors", std::process::id(), cfg.seed));
    crate::nn::checkpoint::save_training(&tmp, &d.agents.params(), None, &algo)?;
    let weights = std::fs::read(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let _ = std::fs::remove_file(&tmp);
    // Everything is in the report now: the training checkpoint has done its job.
    clear_work(&work)?;
    Ok(super::common::Report {
        table,
        files: vec![
            ("results.csv".into(), csv.into_bytes()),
            ("training.csv".into(), csv_train.into_bytes()),
            ("agents.safetensors".into(), weights),
        ],
        summary: serde_json::Value::Array(summary),
        backend: backend.describe(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_field() {
        let p = std::path::Path::new("x.toml");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\neval_steps = 0\n", p).unwrap_err();
        assert!(e.to_string().contains("eval_steps"), "{e}");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\n[dirs]\nminibatch = 0\n", p).unwrap_err();
        assert!(e.to_string().contains("dirs.minibatch"), "{e}");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\n[dirs]\nbogus = 1\n", p).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = DirsRunConfig::from_toml("system = \"dirs\"\n[mec]\nn_mec = 0\n", p).unwrap_err();
        assert!(e.to_string().contains("mec.n_mec"), "{e}");
    }
}
