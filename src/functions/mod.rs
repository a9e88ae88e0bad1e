//! Packer's function library.

use crate::value::Value;
use std::path::PathBuf;

/// What functions may read from their surroundings.
#[derive(Clone, Debug)]
pub struct FunctionContext {
    /// Directory that relative paths in `file`, `fileset`, `abspath`... resolve against.
    pub base_dir: PathBuf,
    /// The run's single `timestamp()` value (RFC 3339, UTC).
    pub timestamp: String,
    /// Whether `env()` may be called here (Packer allows it only in variable defaults).
    pub env_allowed: bool,
}

/// A function call that failed.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionError {
    pub message: String,
    /// The argument at fault, to point the diagnostic at it.
    pub arg: Option<usize>,
}

/// Call the function `name`.
pub fn call(name: &str, _args: Vec<Value>, _ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Err(FunctionError {
        message: format!("there is no function named `{name}`"),
        arg: None,
    })
}

/// Whether a function of this name exists.
pub fn exists(_name: &str) -> bool {
    false
}

/// Every function name, sorted (for "did you mean").
pub fn names() -> Vec<&'static str> {
    Vec::new()
}
