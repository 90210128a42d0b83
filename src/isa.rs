//! The instruction set of this machine's CPU kernels, detected once at run time.
//!
//! Hand-written kernels (the product tiles of `ops::gemm`, the exact objective's row groups of
//! `env::mec::exact`, the Lévy candidates of `search::levy::fast`) come in an AVX-512, an
//! AVX2 + FMA and a portable form; the fastest one the processor has runs. `MECRL_NO_AVX512` and `MECRL_NO_AVX2` (set to anything) cap the
//! choice, so one AVX-512 machine measures and tests what an AVX2-only machine runs. Every
//! form gives the same bits (tests compare them with the portable one).

use std::sync::OnceLock;

/// A kernel family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512 F/BW/DQ/VL (Intel since Skylake-SP, AMD since Zen 4).
    Avx512,
    /// AVX2 and FMA (Haswell, Zen 1–3).
    Avx2,
    /// Plain Rust, vectorized by the compiler for the build's target.
    Portable,
}

impl Isa {
    /// The best family this processor runs, within the caps of the environment (read once).
    pub fn get() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            let (no512, no2) =
                (std::env::var_os("MECRL_NO_AVX512").is_some(), std::env::var_os("MECRL_NO_AVX2").is_some());
            let allowed = |isa: &Isa| match isa {
                Isa::Avx512 => !no512,
                Isa::Avx2 => !no2,
                Isa::Portable => true,
            };
            Isa::available().into_iter().rev().find(allowed).unwrap_or(Isa::Portable)
        })
    }

    /// Every family this processor can run, portable first (the tests run each).
    pub fn available() -> Vec<Isa> {
        let mut v = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2);
                if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].iter().all(|f| has(f)) {
                    v.push(Isa::Avx512);
                }
            }
        }
        v
    }

    /// Its name in reports (`avx512`, `avx2`, `portable`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn has(feature: &str) -> bool {
    match feature {
        "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
        "avx512bw" => std::arch::is_x86_feature_detected!("avx512bw"),
        "avx512dq" => std::arch::is_x86_feature_detected!("avx512dq"),
        "avx512vl" => std::arch::is_x86_feature_detected!("avx512vl"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::Isa;

    #[test]
    fn the_choice_is_available_and_portable_always_is() {
        let avail = Isa::available();
        assert_eq!(avail[0], Isa::Portable);
        assert!(avail.contains(&Isa::get()), "{:?} not in {avail:?}", Isa::get());
    }
}
