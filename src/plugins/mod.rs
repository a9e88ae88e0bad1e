//! kiln's built-in plugins: their typed configs.
//!
//! (Interim registry with the agreed API, so the crate compiles while the plugin configs are
//! written; replace wholesale.)

use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// The four kinds of plugin block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    Builder,
    Provisioner,
    PostProcessor,
    DataSource,
}

/// A decoded plugin config.
#[derive(Clone, Debug)]
pub enum PluginConfig {
    Pending(String),
}

/// Decode a plugin block's evaluated body.
pub fn decode(_kind: PluginKind, type_name: &str, _type_span: Span, _body: &BodyValue) -> Result<PluginConfig, Vec<Diagnostic>> {
    Ok(PluginConfig::Pending(type_name.to_string()))
}

/// The plugin type names of a kind.
pub fn names(_kind: PluginKind) -> &'static [&'static str] {
    &[]
}

/// `required_plugins` sources and the plugin types each provides.
pub fn plugin_sources() -> &'static [(&'static str, &'static [&'static str])] {
    &[
        ("github.com/hashicorp/amazon", &["amazon-ebs", "amazon-ami"]),
        ("github.com/hashicorp/hcp", &["hcp-packer-publish"]),
    ]
}
