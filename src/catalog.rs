//! The one list of kernel stems. Backends do not import it (they launch the `&'static
//! KernelSpec` a stem declares); the tests, the tools and benchmarks walk it: shader validation,
//! the `.cu` layout check, NVRTC, parity on every backend. Adding a stem = one line here.

use crate::backend::{KernelSpec, Stem};

/// Every stem of mecrl, in layer order (rng, nn ops, environments, search, algorithms).
pub static STEMS: &[&Stem] = &[
    &crate::rng::STEM,
    &crate::ops::act::STEM,
    &crate::ops::attention::STEM,
    &crate::ops::categorical::STEM,
    &crate::ops::dueling::STEM,
    &crate::ops::elementwise::STEM,
    &crate::ops::glue::STEM,
    &crate::ops::half::STEM,
    &crate::ops::index::STEM,
    &crate::ops::layer_norm::STEM,
    &crate::ops::linear::STEM,
    &crate::ops::loss::STEM,
    &crate::ops::optim::STEM,
    &crate::ops::ppo::STEM,
    &crate::ops::rnn::STEM,
    &crate::ops::sac::STEM,
    &crate::ops::softmax::STEM,
    &crate::env::mec::kernels::STEM,
    &crate::env::dag::kernels::STEM,
    &crate::env::crowd::kernels::STEM,
    &crate::env::coop::kernels::STEM,
    &crate::env::endedge::kernels::STEM,
    &crate::env::toy::STEM,
    &crate::search::levy::kernels::STEM,
    &crate::algo::gae::STEM,
    &crate::algo::rollout::STEM,
    &crate::algo::replay::STEM,
    &crate::algo::dirs::kernels::STEM,
    &crate::algo::mappo::kernels::STEM,
    &crate::algo::crbdrqn::kernels::STEM,
    &crate::algo::o2o::kernels::STEM,
];

/// Every kernel of every stem.
pub fn kernels() -> impl Iterator<Item = &'static KernelSpec> {
    STEMS.iter().flat_map(|s| s.kernels.iter().copied())
}

/// The kernel with entry point `entry`.
pub fn find(entry: &str) -> Option<&'static KernelSpec> {
    kernels().find(|k| k.entry == entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_consistent() {
        let all: Vec<_> = kernels().collect();
        for (i, k) in all.iter().enumerate() {
            assert_eq!(k.params.size % 16, 0, "{}: params must be a multiple of 16 bytes", k.entry);
            let last = k.params.fields.last().unwrap();
            assert_eq!(last.1 + 4, k.params.size, "{}: all fields are 4-byte scalars", k.entry);
            for (j, f) in k.params.fields.iter().enumerate() {
                assert_eq!(f.1, 4 * j, "{}: field {} offset", k.entry, f.0);
            }
            assert!(all[i + 1..].iter().all(|o| o.entry != k.entry), "{}: entry names are unique", k.entry);
            // native adapters (Vulkan, Metal, DX12, lavapipe) expose >= 16 storage buffers per
            // stage; the wgpu backend requests the adapter's limits
            assert!(k.bufs.len() <= 16, "{}: at most 16 storage buffers", k.entry);
            assert_eq!((k.sizes)(&vec![0u8; k.params.size]).len(), k.bufs.len(), "{}: one size per buffer", k.entry);
            assert!(k.stem.kernels.iter().any(|o| std::ptr::eq(*o, *k)), "{}: listed by its stem", k.entry);
        }
        for (i, s) in STEMS.iter().enumerate() {
            assert!(STEMS[i + 1..].iter().all(|o| o.name != s.name), "stem {} listed twice", s.name);
            assert!(s.kernels.iter().all(|k| std::ptr::eq(k.stem, *s)), "stem {}: a kernel names another stem", s.name);
        }
    }

    /// Every `kernels!` block of the crate is a stem of the catalog (a stem left out would
    /// escape the parity, shader and NVRTC tests).
    #[test]
    fn every_stem_is_listed() {
        let mut found = Vec::new();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut dirs = vec![std::path::PathBuf::from(src)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for line in text.lines() {
                        if let Some(rest) = line.trim().strip_prefix("stem \"") {
                            let (area, name) = rest.split_once("\" / \"").unwrap();
                            found.push(format!("{area}/{}", name.split('"').next().unwrap()));
                        }
                    }
                }
            }
        }
        found.sort();
        let mut listed: Vec<String> = STEMS.iter().map(|s| format!("{}/{}", s.area, s.name)).collect();
        listed.sort();
        assert_eq!(found, listed);
    }
}
