//! Builder `file`: writes one file (`content`, or a copy of `source`) to `target`; useful for
//! testing post-processors without a machine.

use super::check::Checker;
use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;

/// The file builder's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// A file to copy to `target`.
    #[serde(default)]
    pub source: String,
    /// The text to write to `target`.
    #[serde(default)]
    pub content: String,
    /// The file to create.
    pub target: String,
}

impl Config {
    /// Packer's checks: `source` and `content` exclude each other; with neither the target is
    /// empty (a warning).
    pub fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        c.exclusive(
            "source",
            "content",
            "source and content cannot both be specified",
        );
        if !c.is_set("source") && !c.is_set("content") {
            c.push(
                Diagnostic::warning(
                    c.block_span(),
                    "both source and content are blank; the target will be empty",
                )
                .with_hint("set `content = \"...\"` or `source = \"path\"`"),
            );
        }
        c.finish()
    }
}
