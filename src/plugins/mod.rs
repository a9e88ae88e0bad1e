//! kiln's built-in plugins: their typed configs, decoded from evaluated block bodies, and the
//! checks Packer's `Prepare()` makes on them.
//!
//! Every config keeps Packer's field names and types so existing templates decode unchanged.
//! Fields shared by several plugins (the communicator, AWS access, AMI and run settings) are
//! declared once as field groups and spliced in by [`plugin_config!`], because serde's `flatten`
//! would hide the field list that unknown-field diagnostics need.

/// Declares a plugin config struct with shared field groups appended after its own fields:
/// `plugin_config! { #[derive(..)] pub struct Config with [communicator_fields] { a: T, } }`.
/// A group is a macro taking `[head] [fields] rest...` that calls back with its fields added.
macro_rules! plugin_config {
    ($(#[$meta:meta])* pub struct $name:ident with [$($group:ident),* $(,)?] { $($fields:tt)* }) => {
        $crate::plugins::plugin_config!(@splice [$(#[$meta])* pub struct $name] [$($fields)*] $($group)*);
    };
    (@splice [$($head:tt)*] [$($fields:tt)*] $group:ident $($rest:ident)*) => {
        $crate::plugins::$group!([$($head)*] [$($fields)*] $($rest)*);
    };
    (@splice [$($head:tt)*] [$($fields:tt)*]) => {
        $($head)* { $($fields)* }
    };
}
pub(crate) use plugin_config;

pub mod amazon_ami;
pub mod amazon_common;
pub mod amazon_ebs;
pub mod amazon_types;
pub mod breakpoint;
mod check;
pub mod checksum;
pub mod communicator;
pub mod file;
pub mod file_provisioner;
pub mod hcp_packer_artifact;
pub mod hcp_packer_publish;
pub mod hcp_packer_version;
pub mod manifest;
pub mod null;
pub mod shell;
pub mod shell_local;
pub mod shell_local_pp;

pub(crate) use amazon_common::{amazon_access_fields, amazon_ami_fields, amazon_run_fields};
pub(crate) use communicator::communicator_fields;
pub(crate) use shell_local::shell_local_fields;

use crate::config::decode::decode_as;
use crate::config::BodyValue;
use crate::diagnostic::{has_errors, suggest, Diagnostic};
use crate::source::Span;

/// The four kinds of plugin block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginKind {
    Builder,
    Provisioner,
    PostProcessor,
    DataSource,
}

impl PluginKind {
    /// Every kind, in template order.
    pub const ALL: [PluginKind; 4] = [
        PluginKind::Builder,
        PluginKind::Provisioner,
        PluginKind::PostProcessor,
        PluginKind::DataSource,
    ];

    /// The kind's name in messages: "builder", "provisioner", "post-processor", "data source".
    pub fn noun(self) -> &'static str {
        match self {
            PluginKind::Builder => "builder",
            PluginKind::Provisioner => "provisioner",
            PluginKind::PostProcessor => "post-processor",
            PluginKind::DataSource => "data source",
        }
    }
}

/// A decoded plugin config.
#[derive(Clone, Debug)]
pub enum PluginConfig {
    /// Builder `amazon-ebs`.
    AmazonEbs(Box<amazon_ebs::Config>),
    /// Builder `null`.
    Null(Box<null::Config>),
    /// Builder `file`.
    File(file::Config),
    /// Provisioner `shell`.
    Shell(Box<shell::Config>),
    /// Provisioner `file`.
    FileProvisioner(file_provisioner::Config),
    /// Provisioner `shell-local`.
    ShellLocal(Box<shell_local::Config>),
    /// Provisioner `breakpoint`.
    Breakpoint(breakpoint::Config),
    /// Post-processor `manifest`.
    Manifest(manifest::Config),
    /// Post-processor `checksum`.
    Checksum(checksum::Config),
    /// Post-processor `shell-local`.
    ShellLocalPostProcessor(Box<shell_local_pp::Config>),
    /// Post-processor `hcp-packer-publish`.
    HcpPackerPublish(hcp_packer_publish::Config),
    /// Data source `amazon-ami`.
    AmazonAmi(Box<amazon_ami::Config>),
    /// Data source `hcp-packer-version`.
    HcpPackerVersion(hcp_packer_version::Config),
    /// Data source `hcp-packer-iteration` (deprecated name of `hcp-packer-version`).
    HcpPackerIteration(hcp_packer_version::IterationConfig),
    /// Data source `hcp-packer-artifact`.
    HcpPackerArtifact(hcp_packer_artifact::Config),
    /// Data source `hcp-packer-image` (deprecated name of `hcp-packer-artifact`).
    HcpPackerImage(hcp_packer_artifact::ImageConfig),
}

impl PluginConfig {
    /// The plugin's kind and Packer type name (`(Builder, "amazon-ebs")`).
    pub fn plugin(&self) -> (PluginKind, &'static str) {
        use PluginKind as K;
        match self {
            PluginConfig::AmazonEbs(_) => (K::Builder, "amazon-ebs"),
            PluginConfig::Null(_) => (K::Builder, "null"),
            PluginConfig::File(_) => (K::Builder, "file"),
            PluginConfig::Shell(_) => (K::Provisioner, "shell"),
            PluginConfig::FileProvisioner(_) => (K::Provisioner, "file"),
            PluginConfig::ShellLocal(_) => (K::Provisioner, "shell-local"),
            PluginConfig::Breakpoint(_) => (K::Provisioner, "breakpoint"),
            PluginConfig::Manifest(_) => (K::PostProcessor, "manifest"),
            PluginConfig::Checksum(_) => (K::PostProcessor, "checksum"),
            PluginConfig::ShellLocalPostProcessor(_) => (K::PostProcessor, "shell-local"),
            PluginConfig::HcpPackerPublish(_) => (K::PostProcessor, "hcp-packer-publish"),
            PluginConfig::AmazonAmi(_) => (K::DataSource, "amazon-ami"),
            PluginConfig::HcpPackerVersion(_) => (K::DataSource, "hcp-packer-version"),
            PluginConfig::HcpPackerIteration(_) => (K::DataSource, "hcp-packer-iteration"),
            PluginConfig::HcpPackerArtifact(_) => (K::DataSource, "hcp-packer-artifact"),
            PluginConfig::HcpPackerImage(_) => (K::DataSource, "hcp-packer-image"),
        }
    }

    /// The checks Packer's `Prepare()` makes, pointing into `body` (the body this was decoded
    /// from). Values unknown until build time are never reported.
    pub fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        match self {
            PluginConfig::AmazonEbs(c) => c.validate(body),
            PluginConfig::Null(c) => c.validate(body),
            PluginConfig::File(c) => c.validate(body),
            PluginConfig::Shell(c) => c.validate(body),
            PluginConfig::FileProvisioner(c) => c.validate(body),
            PluginConfig::ShellLocal(c) => c.validate(body),
            PluginConfig::Breakpoint(c) => c.validate(body),
            PluginConfig::Manifest(c) => c.validate(body),
            PluginConfig::Checksum(c) => c.validate(body),
            PluginConfig::ShellLocalPostProcessor(c) => c.validate(body),
            PluginConfig::HcpPackerPublish(c) => c.validate(body),
            PluginConfig::AmazonAmi(c) => c.validate(body),
            PluginConfig::HcpPackerVersion(c) => c.validate(body),
            PluginConfig::HcpPackerIteration(c) => c.validate(body),
            PluginConfig::HcpPackerArtifact(c) => c.validate(body),
            PluginConfig::HcpPackerImage(c) => c.validate(body),
        }
    }
}

const BUILDERS: &[&str] = &["amazon-ebs", "file", "null"];
const PROVISIONERS: &[&str] = &["breakpoint", "file", "shell", "shell-local"];
const POST_PROCESSORS: &[&str] = &["checksum", "hcp-packer-publish", "manifest", "shell-local"];
const DATA_SOURCES: &[&str] = &[
    "amazon-ami",
    "hcp-packer-artifact",
    "hcp-packer-image",
    "hcp-packer-iteration",
    "hcp-packer-version",
];

/// Data source names Packer deprecated, with their replacements.
const DEPRECATED: &[(&str, &str)] = &[
    ("hcp-packer-image", "hcp-packer-artifact"),
    ("hcp-packer-iteration", "hcp-packer-version"),
];

/// The plugin type names of a kind, sorted (Packer's names: "amazon-ebs", "shell-local", ...).
pub fn names(kind: PluginKind) -> &'static [&'static str] {
    match kind {
        PluginKind::Builder => BUILDERS,
        PluginKind::Provisioner => PROVISIONERS,
        PluginKind::PostProcessor => POST_PROCESSORS,
        PluginKind::DataSource => DATA_SOURCES,
    }
}

/// `required_plugins` sources and the plugin types each provides. Packer builds the rest in.
pub fn plugin_sources() -> &'static [(&'static str, &'static [&'static str])] {
    &[
        ("github.com/hashicorp/amazon", &["amazon-ebs", "amazon-ami"]),
        (
            "github.com/hashicorp/hcp",
            &[
                "hcp-packer-publish",
                "hcp-packer-version",
                "hcp-packer-artifact",
                "hcp-packer-iteration",
                "hcp-packer-image",
            ],
        ),
    ]
}

/// Decode a plugin block's evaluated body into its typed config and run its checks. Errors
/// (an unknown type is one diagnostic at `type_span`) fail the decode; use [`check`] to also
/// receive warnings.
pub fn decode(
    kind: PluginKind,
    type_name: &str,
    type_span: Span,
    body: &BodyValue,
) -> Result<PluginConfig, Vec<Diagnostic>> {
    match check(kind, type_name, type_span, body) {
        (Some(config), diags) if !has_errors(&diags) => Ok(config),
        (_, diags) => Err(diags),
    }
}

/// Decode and validate: the config when it decoded, and every diagnostic, warnings included.
pub fn check(
    kind: PluginKind,
    type_name: &str,
    type_span: Span,
    body: &BodyValue,
) -> (Option<PluginConfig>, Vec<Diagnostic>) {
    let what = format!("the {type_name} {}", kind.noun());
    let Some(decoded) = decode_known(kind, type_name, body, &what) else {
        return (None, vec![unknown_type(kind, type_name, type_span)]);
    };
    let mut diags = Vec::new();
    if let Some((_, replacement)) = DEPRECATED.iter().find(|(old, _)| *old == type_name) {
        diags.push(
            Diagnostic::warning(
                type_span,
                format!("the `{type_name}` {} is deprecated", kind.noun()),
            )
            .with_hint(format!("use `{replacement}` instead")),
        );
    }
    match decoded {
        Ok(config) => {
            diags.extend(config.validate(body));
            (Some(config), diags)
        }
        Err(errors) => {
            diags.extend(errors);
            (None, diags)
        }
    }
}

fn decode_known(
    kind: PluginKind,
    name: &str,
    body: &BodyValue,
    what: &str,
) -> Option<Result<PluginConfig, Vec<Diagnostic>>> {
    use PluginConfig as P;
    use PluginKind as K;
    Some(match (kind, name) {
        (K::Builder, "amazon-ebs") => decode_as(body, what).map(|c| P::AmazonEbs(Box::new(c))),
        (K::Builder, "null") => decode_as(body, what).map(|c| P::Null(Box::new(c))),
        (K::Builder, "file") => decode_as(body, what).map(P::File),
        (K::Provisioner, "shell") => decode_as(body, what).map(|c| P::Shell(Box::new(c))),
        (K::Provisioner, "file") => decode_as(body, what).map(P::FileProvisioner),
        (K::Provisioner, "shell-local") => {
            decode_as(body, what).map(|c| P::ShellLocal(Box::new(c)))
        }
        (K::Provisioner, "breakpoint") => decode_as(body, what).map(P::Breakpoint),
        (K::PostProcessor, "manifest") => decode_as(body, what).map(P::Manifest),
        (K::PostProcessor, "checksum") => decode_as(body, what).map(P::Checksum),
        (K::PostProcessor, "shell-local") => {
            decode_as(body, what).map(|c| P::ShellLocalPostProcessor(Box::new(c)))
        }
        (K::PostProcessor, "hcp-packer-publish") => decode_as(body, what).map(P::HcpPackerPublish),
        (K::DataSource, "amazon-ami") => decode_as(body, what).map(|c| P::AmazonAmi(Box::new(c))),
        (K::DataSource, "hcp-packer-version") => decode_as(body, what).map(P::HcpPackerVersion),
        (K::DataSource, "hcp-packer-iteration") => decode_as(body, what).map(P::HcpPackerIteration),
        (K::DataSource, "hcp-packer-artifact") => decode_as(body, what).map(P::HcpPackerArtifact),
        (K::DataSource, "hcp-packer-image") => decode_as(body, what).map(P::HcpPackerImage),
        _ => return None,
    })
}

/// "kiln has no builder `qemu`", with the closest name, the kind that does have it, or the list.
fn unknown_type(kind: PluginKind, name: &str, span: Span) -> Diagnostic {
    let noun = kind.noun();
    let available = names(kind);
    let d = Diagnostic::error(span, format!("kiln has no {noun} `{name}`"));
    let list = format!("available {noun}s: {}", available.join(", "));
    if let Some(close) = suggest(name, available) {
        return d.with_hint(format!("did you mean `{close}`? {list}"));
    }
    if let Some(other) = PluginKind::ALL
        .into_iter()
        .find(|k| *k != kind && names(*k).contains(&name))
    {
        return d.with_hint(format!(
            "`{name}` is a {}, not a {noun}; {list}",
            other.noun()
        ));
    }
    d.with_hint(list)
}

#[cfg(test)]
mod tests;
