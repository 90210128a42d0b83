// The `mec` cost formulas of src/env/mec.rs shared by the mec and levy shaders (parameters are
// passed explicitly: the two stems have different params structs).

// Eq. (2): r = B log2(1 + p h / (sigma2 B)).
fn mec_rate(bandwidth: f32, noise_psd: f32, pw: f32, gain: f32) -> f32 {
    let snr = pm_keep(pm_keep(pw * gain) / pm_keep(noise_psd * bandwidth));
    return pm_keep(pm_keep(bandwidth * pm_ln1p(snr)) * PM_LOG2_E);
}

// phi_T T + phi_E E of a local task (eq. 8-10): T = F / f_local, E = T p_local.
fn mec_local_cost(cycles: f32, f_local: f32, p_local: f32, phi_t: f32, phi_e: f32) -> f32 {
    let t = pm_keep(cycles / f_local);
    let e = pm_keep(t * p_local);
    return pm_keep(pm_keep(phi_t * t) + pm_keep(phi_e * e));
}

// (phi_T + phi_E p) D / r, the transmission part of an offloaded task (eq. 8-10).
fn mec_tx_cost(d_bits: f32, r: f32, pw: f32, phi_t: f32, phi_e: f32) -> f32 {
    return pm_keep(pm_keep(pm_keep(phi_t + pm_keep(phi_e * pw)) * d_bits) / r);
}
