//! Post-processor `checksum`: writes checksum files for the artifact's files.

use super::check::Checker;
use crate::config::BodyValue;
use crate::diagnostic::{suggest, Diagnostic};
use serde::Deserialize;

/// The checksum types Packer knows.
pub const CHECKSUM_TYPES: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// The checksum post-processor's config.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Checksums to compute (default `["md5"]`).
    pub checksum_types: Vec<String>,
    /// Output path template (default `packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum`).
    pub output: String,
}

impl Config {
    /// Packer's check: every checksum type must be one it knows.
    pub fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        for given in c.strings("checksum_types").unwrap_or_default() {
            if CHECKSUM_TYPES.contains(&given.as_str()) {
                continue;
            }
            let d = Diagnostic::error(
                c.span("checksum_types"),
                format!("unrecognized checksum type `{given}`"),
            );
            c.push(match suggest(&given, CHECKSUM_TYPES) {
                Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                None => d.with_hint(format!("checksum types are {}", CHECKSUM_TYPES.join(", "))),
            });
        }
        c.finish()
    }
}
