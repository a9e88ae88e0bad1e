//! Why a step failed, as the scheduler and the summary need to tell failures apart.

use crate::diagnostic::Diagnostic;
use std::time::Duration;

/// Why a step failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StepError {
    /// An interrupt (Ctrl-C, SIGTERM) stopped the step.
    #[error("the build was cancelled")]
    Cancelled,
    /// The step ran past its `timeout`.
    #[error("{what} timed out after {}", super::duration::human(*.after))]
    TimedOut { what: String, after: Duration },
    /// The step's configuration is wrong once bound (a value known only at build time).
    /// `rendered` is the diagnostics as text, for the summary; `diagnostics` keep their spans.
    #[error("{rendered}")]
    Config {
        diagnostics: Vec<Diagnostic>,
        rendered: String,
    },
    /// The plugin's own failure; `retryable` when trying again may succeed (a throttled API
    /// call, a dropped connection).
    #[error("{message}")]
    Plugin { message: String, retryable: bool },
    /// The step failed and could not delete what it created: each resource by ID.
    #[error("{message}; left behind: {}", .resources.join(", "))]
    LeftBehind {
        message: String,
        resources: Vec<String>,
    },
}

impl StepError {
    /// A plugin's failure that trying again will not fix.
    pub fn new(message: impl Into<String>) -> StepError {
        StepError::Plugin {
            message: message.into(),
            retryable: false,
        }
    }

    /// A plugin's failure that trying again may fix.
    pub fn retryable(message: impl Into<String>) -> StepError {
        StepError::Plugin {
            message: message.into(),
            retryable: true,
        }
    }

    /// The step was stopped by an interrupt.
    pub fn cancelled() -> StepError {
        StepError::Cancelled
    }

    /// True when an interrupt stopped the step rather than its own failure.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, StepError::Cancelled)
    }

    /// The message shown for the failure.
    pub fn message(&self) -> String {
        self.to_string()
    }
}
