//! The benchmark's one error type: a message that says what was being done. A benchmark has no
//! caller that branches on the kind of failure, only a person who reads the row that failed.

use std::fmt;

/// Why a scenario (or the whole run) could not produce its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchError(String);

impl BenchError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The same failure with what was being done in front of it.
    pub fn context(self, doing: &str) -> Self {
        Self(format!("{doing}: {}", self.0))
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

/// Attaches what was being done to any displayable failure.
pub trait Context<T> {
    /// `Err(e)` becomes `Err(BenchError("<doing>: <e>"))`.
    fn doing(self, doing: &str) -> Result<T, BenchError>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn doing(self, doing: &str) -> Result<T, BenchError> {
        self.map_err(|e| BenchError(format!("{doing}: {e}")))
    }
}
