//! `mecrl run configs/mrlco.toml` and `mecrl reproduce mrlco [--quick]` (MRLCO paper §5): for each
//! experiment, the heuristics on the test sets, the learners trained on the training sets
//! (MRLCO's meta-learning and the fine-tuning baseline's pretraining), then each adapted to
//! every test set; Table 3 and Figs. 6–8 from the results (`outputs.rs`).
//!
//! Resumable: the work directory keeps each learner's training state every
//! `checkpoint_every` iterations (`<exp>.<method>.safetensors` with its log
//! `<exp>.<method>.log.json`), each finished adaptation curve and the heuristics' results; a
//! rerun with the same config continues from them and writes the same outputs, bit for bit
//! (every draw is keyed by seed and counters; no wall-clock time enters an output file).

mod config;
mod outputs;
mod pipeline;
mod plan;
mod results;

pub use config::{ExperimentSpec, MrlcoRunConfig};
pub use outputs::{write_outputs, Results};
pub use pipeline::{paper_config, reproduce, run, run_in, work_dir, work_units};
pub use plan::plan;
pub use results::{TestResult, TrainLog};
