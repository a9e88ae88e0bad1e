//! Provisioner `file`: uploads files or directories to the machine, or downloads them from it.

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use serde::Deserialize;

/// The file provisioner's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// The file or directory to copy (local for uploads, remote for downloads).
    #[serde(default)]
    pub source: String,
    /// Several files or directories to upload.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Text to upload instead of a file.
    #[serde(default)]
    pub content: String,
    /// Where to put it.
    pub destination: String,
    /// `upload` (default) or `download`.
    #[serde(default)]
    pub direction: String,
    /// The source is made by an earlier step; do not check that it exists.
    #[serde(default)]
    pub generated: bool,
}

impl crate::plugins::sdk::Config for Config {
    /// Packer's checks: a direction it knows, and one of `source`, `sources` or `content`.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        c.one_of("direction", &["upload", "download"]);
        for field in ["source", "sources"] {
            c.exclusive(field, "content", "source(s) conflicts with content");
        }
        if !["source", "sources", "content"].iter().any(|f| c.is_set(f)) {
            c.push(
                Diagnostic::error(c.block_span(), "source must be specified")
                    .with_hint("set `source = \"path\"`, `sources = [...]` or `content = \"...\"`"),
            );
        }
        if c.string("direction").as_deref() == Some("download")
            && c.strings("sources").is_some_and(|s| s.len() > 1)
        {
            c.error("sources", "only one source can be downloaded at a time");
        }
        c.finish()
    }
}

impl crate::plugins::sdk::Provisioner for Config {
    fn needs_connection(&self) -> bool {
        true
    }

    fn provision<'a>(
        &'a self,
        cx: crate::plugins::sdk::StepContext<'a>,
    ) -> crate::plugins::sdk::StepFuture<'a> {
        Box::pin(async move { super::run::file(&cx, self).await })
    }
}
