//! Provisioner `breakpoint`: pauses the build until the user presses enter.

use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;

/// The breakpoint provisioner's config.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Shown while paused.
    pub note: String,
    /// Skip the pause.
    pub disable: bool,
}

impl Config {
    /// Packer checks nothing here.
    pub fn validate(&self, _body: &BodyValue) -> Vec<Diagnostic> {
        Vec::new()
    }
}
