//! Experiments: configs, runner, reports.
