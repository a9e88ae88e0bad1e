//! Post-processor `manifest`: records each build's artifacts in a JSON file
//! (`packer-manifest.json` by default).

use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The manifest post-processor's config.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Config {
    /// The manifest file (default `packer-manifest.json`).
    pub output: String,
    /// Record file names without their directories.
    pub strip_path: bool,
    /// Leave out the build time.
    pub strip_time: bool,
    /// Extra data stored with each build.
    pub custom_data: BTreeMap<String, String>,
}

impl Config {
    /// Packer checks nothing here.
    pub fn validate(&self, _body: &BodyValue) -> Vec<Diagnostic> {
        Vec::new()
    }
}
