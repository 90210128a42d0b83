//! `mec` configuration (docs/mec.md, Table I of the DIRS paper) and the kernels'
//! parameter block.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::{self};

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// How the scalar reward is formed from the objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// 1 / Σ_i Φ_i (the paper, §V-C "Reward").
    #[default]
    Inverse,
    /// −Σ_i Φ_i / N.
    NegativeMean,
}

/// Named presets of the `mec` constants the DIRS paper leaves open (docs/mec.md "Profiles").
/// A preset of the open channel constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MecProfile {
    /// mecrl's first choice (β0 = 1e-3, −30 dB at 1 m): offloading pays for most IoTDs near a
    /// MEC (the optimum offloads 78 % at N = 30, M = 2).
    #[default]
    Mecrl,
    /// Calibrated to the paper's Table III reward (DIRS ≈ 0.035 at N = 30, M = 2, i.e.
    /// Σ Φ ≈ 28.7): β0 = 1e-4 (−40 dB at 1 m); offloading pays for about a quarter of the IoTDs.
    Calibrated,
}

impl MecProfile {
    /// The profile's name in config files.
    pub fn name(self) -> &'static str {
        match self {
            MecProfile::Mecrl => "mecrl",
            MecProfile::Calibrated => "calibrated",
        }
    }

    /// The profile of this name (`mecrl`, `calibrated`); `Error::Config` naming `mec.profile`.
    pub fn parse(name: &str) -> Result<Self> {
        [MecProfile::Mecrl, MecProfile::Calibrated]
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::config("mec.profile", name, "must be \"mecrl\" or \"calibrated\""))
    }

    /// The full configuration of this preset (every other field at its default).
    pub fn config(self) -> MecConfig {
        let base = MecConfig { profile: self, ..MecConfig::default() };
        match self {
            MecProfile::Mecrl => base,
            MecProfile::Calibrated => MecConfig { beta0: 1e-4, ..base },
        }
    }
}

/// Physical parameters of the `mec` system. Defaults: the DIRS paper's Table I and mecrl's choices (docs/mec.md).
///
/// In a config file, `profile` names the preset the other fields start from ([`MecProfile`],
/// `src/env/mec/profile.rs`); fields given next to it override the preset's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct MecConfig {
    /// The preset of the constants the paper leaves open (docs/mec.md "Profiles").
    pub profile: MecProfile,
    /// N, number of IoTDs.
    pub n_iotd: usize,
    /// M, number of MEC servers.
    pub n_mec: usize,
    /// Side of the square area (m).
    pub area_m: f64,
    /// β0, channel power gain at 1 m (eq. 3; −30 dB, not given in the paper).
    pub beta0: f64,
    /// B, bandwidth (Hz).
    pub bandwidth_hz: f64,
    /// σ², noise power spectral density (W/Hz); noise power is σ²·B.
    pub noise_psd: f64,
    /// D_i, task data size (bits); lower end when `task_bits_max` is set.
    pub task_bits: f64,
    /// Upper end of a uniform D_i range per IoTD (heterogeneous tasks), or none.
    pub task_bits_max: Option<f64>,
    /// F_i, task CPU cycles; lower end when `task_cycles_max` is set.
    pub task_cycles: f64,
    /// Upper end of a uniform F_i range, or none.
    pub task_cycles_max: Option<f64>,
    /// f_i0, local CPU frequency (Hz).
    pub f_local_hz: f64,
    /// F_max, CPU capacity of each MEC (Hz).
    pub f_mec_max_hz: f64,
    /// P_max, maximum transmit power (W).
    pub p_max_w: f64,
    /// κ, effective switched capacitance.
    pub kappa: f64,
    /// ν, exponent of the local power p^E = κ f^ν.
    pub nu: f64,
    /// φ_T, weight of time in Φ (eq. 10).
    pub phi_t: f64,
    /// φ_E, weight of energy in Φ (eq. 10).
    pub phi_e: f64,
    /// Floor on squared distance (m²) in eq. (3).
    pub d2_min_m2: f64,
    /// Horizon (s) that defines a MEC's capacity for the Random/Greedy baselines: a MEC accepts
    /// tasks while Σ F_i ≤ F_max · horizon (the paper leaves "capacity" open; mecrl's choice, see docs/mec.md).
    pub capacity_horizon_s: f64,
    /// Reward form.
    pub reward: RewardKind,
}

impl Default for MecConfig {
    fn default() -> Self {
        MecConfig {
            profile: MecProfile::Mecrl,
            n_iotd: 30,
            n_mec: 2,
            area_m: 50.0,
            beta0: 1e-3,
            bandwidth_hz: 1e6,
            noise_psd: 1e-12,
            task_bits: 8e5,
            task_bits_max: None,
            task_cycles: 1e9,
            task_cycles_max: None,
            f_local_hz: 1e9,
            f_mec_max_hz: 50e9,
            p_max_w: 1.5,
            kappa: 1e-27,
            nu: 3.0,
            phi_t: 0.5,
            phi_e: 0.5,
            d2_min_m2: 1.0,
            capacity_horizon_s: 1.0,
            reward: RewardKind::Inverse,
        }
    }
}

fn positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be a finite number > 0"))
    }
}

fn non_negative(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(field, v, "must be a finite number >= 0"))
    }
}

/// f32 representable and positive.
fn f32_positive(field: &str, v: f64) -> Result<()> {
    positive(field, v)?;
    if v > f32::MAX as f64 || (v as f32) == 0.0 {
        return Err(Error::config(field, v, "out of f32 range"));
    }
    Ok(())
}

impl MecConfig {
    /// Check every field; errors name the field (prefixed `mec.`) and the value.
    pub fn validate(&self) -> Result<()> {
        if self.n_iotd == 0 || self.n_iotd > 10_000_000 {
            return Err(Error::config("mec.n_iotd", self.n_iotd, "must be in 1..=10000000"));
        }
        if self.n_mec == 0 || self.n_mec > 65_535 {
            return Err(Error::config("mec.n_mec", self.n_mec, "must be in 1..=65535"));
        }
        for (f, v) in [
            ("mec.area_m", self.area_m),
            ("mec.beta0", self.beta0),
            ("mec.bandwidth_hz", self.bandwidth_hz),
            ("mec.noise_psd", self.noise_psd),
            ("mec.task_bits", self.task_bits),
            ("mec.task_cycles", self.task_cycles),
            ("mec.f_local_hz", self.f_local_hz),
            ("mec.f_mec_max_hz", self.f_mec_max_hz),
            ("mec.p_max_w", self.p_max_w),
            ("mec.nu", self.nu),
            ("mec.d2_min_m2", self.d2_min_m2),
            ("mec.capacity_horizon_s", self.capacity_horizon_s),
        ] {
            f32_positive(f, v)?;
        }
        for (f, v) in [("mec.kappa", self.kappa), ("mec.phi_t", self.phi_t), ("mec.phi_e", self.phi_e)] {
            non_negative(f, v)?;
        }
        if self.phi_t + self.phi_e <= 0.0 {
            return Err(Error::config("mec.phi_t", self.phi_t, "phi_t + phi_e must be > 0"));
        }
        if let Some(hi) = self.task_bits_max {
            f32_positive("mec.task_bits_max", hi)?;
            if hi < self.task_bits {
                return Err(Error::config("mec.task_bits_max", hi, "must be >= mec.task_bits"));
            }
        }
        if let Some(hi) = self.task_cycles_max {
            f32_positive("mec.task_cycles_max", hi)?;
            if hi < self.task_cycles {
                return Err(Error::config("mec.task_cycles_max", hi, "must be >= mec.task_cycles"));
            }
        }
        let p_local = self.p_local();
        if !(p_local.is_finite() && p_local <= f32::MAX as f64) {
            // Named: the factor that makes it overflow (ν as the exponent, or κ, or f_local).
            let f_nu = self.f_local_hz.powf(self.nu);
            let (field, value) = if f_nu.is_finite() && f_nu <= f32::MAX as f64 {
                ("mec.kappa", self.kappa)
            } else if self.nu > 3.0 {
                ("mec.nu", self.nu)
            } else {
                ("mec.f_local_hz", self.f_local_hz)
            };
            return Err(Error::config(
                field,
                value,
                format!("κ·f_local^ν = {:e}·{:e}^{} overflows f32", self.kappa, self.f_local_hz, self.nu),
            ));
        }
        Ok(())
    }

    /// p^E = κ f_i0^ν, the local execution power (W).
    pub fn p_local(&self) -> f64 {
        self.kappa * self.f_local_hz.powf(self.nu)
    }

    /// The kernel parameter block for `b` instances, `p` candidates, `seed`.
    pub fn params(&self, b: usize, p: usize, seed: u64) -> MecParams {
        let key = rng::key_of(seed);
        MecParams {
            b: b as u32,
            n: self.n_iotd as u32,
            m: self.n_mec as u32,
            p: p as u32,
            key0: key[0],
            key1: key[1],
            step: 0,
            variant: 0,
            area: self.area_m as f32,
            beta0: self.beta0 as f32,
            bandwidth: self.bandwidth_hz as f32,
            noise_psd: self.noise_psd as f32,
            d_lo: self.task_bits as f32,
            d_hi: self.task_bits_max.unwrap_or(self.task_bits) as f32,
            f_lo: self.task_cycles as f32,
            f_hi: self.task_cycles_max.unwrap_or(self.task_cycles) as f32,
            f_local: self.f_local_hz as f32,
            p_local: self.p_local() as f32,
            f_max: self.f_mec_max_hz as f32,
            p_max: self.p_max_w as f32,
            phi_t: self.phi_t as f32,
            phi_e: self.phi_e as f32,
            d2_min: self.d2_min_m2 as f32,
            capacity: (self.f_mec_max_hz * self.capacity_horizon_s) as f32,
        }
    }
}

/// Parameter block shared by every `mec_*` kernel (mirrored in `kernels/env/mec.cu` and
/// `shaders/env/mec.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MecParams {
    /// B, instances.
    pub b: u32,
    /// N, IoTDs.
    pub n: u32,
    /// M, MECs.
    pub m: u32,
    /// P, candidate decision vectors per instance (objective kernels).
    pub p: u32,
    /// Philox key word 0.
    pub key0: u32,
    /// Philox key word 1.
    pub key1: u32,
    /// Step (channel, heuristic) or episode (reset) counter.
    pub step: u32,
    /// Heuristic: 0 local, 1 greedy, 2 random.
    pub variant: u32,
    /// Area side (m).
    pub area: f32,
    /// β0.
    pub beta0: f32,
    /// B (Hz).
    pub bandwidth: f32,
    /// σ² (W/Hz).
    pub noise_psd: f32,
    /// D range low (bits).
    pub d_lo: f32,
    /// D range high (bits).
    pub d_hi: f32,
    /// F range low (cycles).
    pub f_lo: f32,
    /// F range high (cycles).
    pub f_hi: f32,
    /// f_i0 (Hz).
    pub f_local: f32,
    /// p^E = κ f_i0^ν (W).
    pub p_local: f32,
    /// F_max (Hz).
    pub f_max: f32,
    /// P_max (W).
    pub p_max: f32,
    /// φ_T.
    pub phi_t: f32,
    /// φ_E.
    pub phi_e: f32,
    /// Squared-distance floor (m²).
    pub d2_min: f32,
    /// Baseline capacity per MEC (cycles).
    pub capacity: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_field_and_value() {
        let c = MecConfig { n_iotd: 0, ..MecConfig::default() };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("mec.n_iotd") && e.contains('0'), "{e}");
        let c = MecConfig { p_max_w: -1.5, ..MecConfig::default() };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("mec.p_max_w") && e.contains("-1.5"), "{e}");
        let c = MecConfig { beta0: f64::NAN, ..MecConfig::default() };
        assert!(c.validate().unwrap_err().to_string().contains("mec.beta0"));
    }
}
