//! Records the git commit the crate is built from (`MECRL_GIT_COMMIT`, see `mecrl::GIT_COMMIT`)
//! so run manifests name the exact code that produced them.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let o = Command::new("git").args(args).output().ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["describe", "--always", "--dirty", "--abbrev=40"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MECRL_GIT_COMMIT={commit}");
    // Rerun when the commit or the working tree changes (HEAD moves, the index is rewritten by
    // a commit or `git add`, a source file is edited); a worktree's git dir is found by git.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
    }
    for p in ["src", "kernels", "shaders", "Cargo.toml", "build.rs"] {
        println!("cargo:rerun-if-changed={p}");
    }
}
