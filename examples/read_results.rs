//! Run a config and read its results the way an analysis script would: the run directory's
//! `manifest.json` (config, seed, backend, git commit, summary) and `results.csv` (one row per
//! method, step and instance), here averaged per method with plain Rust.
//!
//! `cargo run --release --example read_results [-- configs/mec.toml]`
//! With a run directory instead of a config (`-- runs/mec`), it only reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mecrl::experiment::finish::run_to_dir;
use mecrl::experiment::{pick_backend, AnyConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "configs/mec.toml".into()));
    let dir = if arg.is_dir() {
        arg
    } else {
        // The library call behind `mecrl run CONFIG`, into a directory of our own.
        let mut cfg = AnyConfig::load(&arg)?;
        let out = std::env::temp_dir().join(format!("mecrl-read-results-{}", std::process::id()));
        cfg.override_with(Some("cpu".into()), None, Some(out), None)?;
        let be = pick_backend(cfg.backend())?;
        let done = run_to_dir(&cfg, Some(&arg), std::env::args().collect(), be, &mut |_| {})?;
        println!("ran {} in {:.2} s -> {}", arg.display(), done.wall_s, done.dir.display());
        done.dir
    };
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json"))?)?;
    println!(
        "system {}, seed {}, backend {}, mecrl {} (commit {})",
        manifest["system"],
        manifest["seed"],
        manifest["backend_device"],
        manifest["mecrl_version"],
        manifest["git_commit"]
    );
    print_means(&dir.join("results.csv"))?;
    Ok(())
}

/// The mean of every numeric column per value of the first column (the method).
fn print_means(csv: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(csv)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty results.csv")?.split(',').collect();
    let mut sums: BTreeMap<String, (Vec<f64>, usize)> = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let e = sums.entry(cells[0].to_string()).or_insert((vec![0.0; header.len()], 0));
        for (k, c) in cells.iter().enumerate().skip(1) {
            e.0[k] += c.parse::<f64>().unwrap_or(f64::NAN);
        }
        e.1 += 1;
    }
    // Columns that are means of measurements (not the step and instance indices).
    let cols: Vec<usize> = (1..header.len()).filter(|&k| !matches!(header[k], "step" | "instance")).collect();
    print!("{:<14}", header[0]);
    for &k in &cols {
        print!("{:>14}", header[k]);
    }
    println!("{:>8}", "rows");
    for (method, (s, n)) in &sums {
        print!("{method:<14}");
        for &k in &cols {
            print!("{:>14.4}", s[k] / *n as f64);
        }
        println!("{n:>8}");
    }
    Ok(())
}
