//! The one error type of the library. Every failure a user can cause (bad config, bad input
//! buffer, missing device, malformed file) comes back as one of these variants, never a panic.

use std::path::PathBuf;

/// Result alias used across mecrl.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in mecrl.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid config: `{field}` = {value}: {why}")]
    Config {
        /// Dotted path of the field, e.g. `mec.n_iotd`.
        field: String,
        /// The offending value as written.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// An input buffer has the wrong length or shape.
    #[error("shape mismatch in {op}: expected {expected}, got {got}")]
    Shape {
        /// The operation or kernel that checked.
        op: String,
        /// The expected shape.
        expected: String,
        /// The shape received.
        got: String,
    },
    /// An input value (action, gain, power ...) is invalid: NaN, negative, out of range.
    #[error("invalid input `{field}` at index {index}: {value} ({why})")]
    Input {
        /// Which input.
        field: String,
        /// Flat index of the first bad element.
        index: usize,
        /// The value.
        value: String,
        /// Why it is invalid.
        why: String,
    },
    /// A kernel failed to compile (WGSL shader module or NVRTC / host C++).
    #[error("{backend}: kernel `{kernel}` failed to compile:\n{log}")]
    KernelCompile {
        /// Backend name.
        backend: String,
        /// Kernel id.
        kernel: String,
        /// Compiler log.
        log: String,
    },
    /// A kernel is registered but not available on this backend.
    #[error("{backend}: kernel `{kernel}` is not implemented")]
    MissingKernel {
        /// Backend name.
        backend: String,
        /// Kernel id.
        kernel: String,
    },
    /// A backend could not start: no adapter, no driver library, no NVRTC.
    #[error("backend `{backend}` unavailable: {why}")]
    NoDevice {
        /// Backend name.
        backend: String,
        /// What is missing.
        why: String,
    },
    /// The backend was not compiled into this binary (cargo feature off).
    #[error("backend `{backend}` not compiled in (enable cargo feature `{feature}`)")]
    NotCompiled {
        /// Backend name.
        backend: String,
        /// The cargo feature that enables it.
        feature: String,
    },
    /// A device-side failure (launch, copy, synchronization).
    #[error("{backend}: {what}")]
    Device {
        /// Backend name.
        backend: String,
        /// Description.
        what: String,
    },
    /// File system error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A figure could not be drawn or written (no font, empty data, a plotting backend error).
    #[error("figure {path}: {why}")]
    Plot {
        /// The figure being written.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// A file could not be parsed.
    #[error("{path}:{line}: {why}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// A number written out in hundreds of digits (`1e300` as an f64's `Display`) in scientific
/// notation instead; any other value unchanged.
fn short_number(v: String) -> String {
    match v.parse::<f64>() {
        Ok(x) if v.len() > 24 && x.is_finite() => format!("{x:e}"),
        _ => v,
    }
}

impl Error {
    /// Shorthand for [`Error::Config`].
    pub fn config(field: impl Into<String>, value: impl ToString, why: impl Into<String>) -> Self {
        Error::Config { field: field.into(), value: short_number(value.to_string()), why: why.into() }
    }
    /// Shorthand for [`Error::Shape`].
    pub fn shape(op: impl Into<String>, expected: impl ToString, got: impl ToString) -> Self {
        Error::Shape { op: op.into(), expected: expected.to_string(), got: got.to_string() }
    }
    /// Shorthand for [`Error::Input`].
    pub fn input(field: impl Into<String>, index: usize, value: impl ToString, why: impl Into<String>) -> Self {
        Error::Input { field: field.into(), index, value: short_number(value.to_string()), why: why.into() }
    }
    /// Shorthand for [`Error::NoDevice`].
    pub fn no_device(backend: impl Into<String>, why: impl Into<String>) -> Self {
        Error::NoDevice { backend: backend.into(), why: why.into() }
    }
    /// Shorthand for [`Error::Device`].
    pub fn device(backend: impl Into<String>, what: impl ToString) -> Self {
        Error::Device { backend: backend.into(), what: what.to_string() }
    }
    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_written_short() {
        assert_eq!(Error::config("mec.area_m", 1e300, "x").to_string(), "invalid config: `mec.area_m` = 1e300: x");
        assert_eq!(short_number(1e-27f64.to_string()), "1e-27");
        assert_eq!(short_number("0.5".into()), "0.5");
        assert_eq!(short_number("[100000000, 100000000, 100000000]".into()), "[100000000, 100000000, 100000000]");
        assert_eq!(short_number("12345678901234567890123456789".into()), "1.2345678901234568e28");
    }
}
