//! The `dirs` kernels: their specs, parameter layouts and buffer sizes (see docs/kernels.md).

use super::loss::DirsParams;

crate::kernel_params!(DirsParams { m, rows, n, _pad0, lambda2, _pad1, _pad2, _pad3 });

crate::kernels! {
    stem "algo" / "dirs";
    /// DIRS: the maximum vote of the agents (§V-C (5)).
    DIRS_VOTE = dirs_vote(DirsParams; z: R F32, a: W U32)
        cpu super::loss::cpu_vote, sizes super::loss::sizes_vote;
    /// DIRS: per-transition loss summed over agents and IoTDs.
    DIRS_LOSS_ROWS = dirs_loss_rows(DirsParams; z: R F32, label: R U32, ls: W F32)
        cpu super::loss::cpu_loss_rows, sizes super::loss::sizes_loss_rows;
    /// DIRS: loss (17), its weights and the new |Δδ|.
    DIRS_LOSS_TOTAL = dirs_loss_total(DirsParams;
        demo: R U32, ls: R F32, c: W F32, v: W F32, loss: W F32
    )
        cpu super::loss::cpu_loss_total, sizes super::loss::sizes_loss_total;
    /// DIRS: gradient of loss (17) with respect to the logits.
    DIRS_LOSS_GRAD = dirs_loss_grad(DirsParams; z: R F32, label: R U32, c: R F32, g: W F32)
        cpu super::loss::cpu_loss_grad, sizes super::loss::sizes_loss_grad;
}
