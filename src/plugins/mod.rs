//! kiln's built-in plugins, one folder per family (`local/`, `remote/`, `amazon/`, `hcp/`),
//! each plugin a typed config (decoded from an evaluated block body, with the checks Packer's
//! `Prepare()` makes) that implements its kind's trait from [`sdk`]. Every plugin is one line
//! of [`PLUGINS`], from which names, `required_plugins` sources, JSON nested-block names and
//! "did you mean" lists derive; the planner and the runtime reach plugins only through it.
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

pub mod amazon;
mod check;
pub mod hcp;
pub mod local;
pub mod remote;
pub mod sdk;

pub(crate) use amazon::common::{amazon_access_fields, amazon_ami_fields, amazon_run_fields};
pub(crate) use local::shell_local::shell_local_fields;
pub(crate) use remote::communicator::communicator_fields;

use crate::body::decode::decode_as;
use crate::body::BodyValue;
use crate::diagnostic::{has_errors, suggest, Diagnostic};
use crate::source::Span;
use sdk::{Builder, Config, DataSource, PostProcessor, Provisioner};
use std::sync::Arc;

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

/// A decoded plugin config, as its kind's trait.
#[derive(Clone, Debug)]
pub enum Decoded {
    Builder(Arc<dyn Builder>),
    Provisioner(Arc<dyn Provisioner>),
    PostProcessor(Arc<dyn PostProcessor>),
    DataSource(Arc<dyn DataSource>),
}

impl Decoded {
    /// The kind of plugin it is.
    pub fn kind(&self) -> PluginKind {
        match self {
            Decoded::Builder(_) => PluginKind::Builder,
            Decoded::Provisioner(_) => PluginKind::Provisioner,
            Decoded::PostProcessor(_) => PluginKind::PostProcessor,
            Decoded::DataSource(_) => PluginKind::DataSource,
        }
    }
}

type DecodeFn = fn(&BodyValue, &str) -> (Option<Decoded>, Vec<Diagnostic>);

/// One built-in plugin.
pub struct Plugin {
    pub kind: PluginKind,
    /// Packer's type name (`amazon-ebs`, `shell-local`).
    pub name: &'static str,
    /// The `required_plugins` source that provides it for Packer; `None` when Packer builds
    /// it in.
    pub source: Option<&'static str>,
    /// The name that replaced this one, for a deprecated plugin.
    pub replaced_by: Option<&'static str>,
    /// The nested blocks its config takes (JSON templates need to know them).
    pub blocks: &'static [&'static str],
    decode: DecodeFn,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.noun(), self.name)
    }
}

const AMAZON: Option<&str> = Some("github.com/hashicorp/amazon");
const HCP: Option<&str> = Some("github.com/hashicorp/hcp");

/// Every built-in plugin: one line each.
pub static PLUGINS: &[Plugin] = &[
    builder::<amazon::ebs::Config>("amazon-ebs", AMAZON, amazon::ebs::BLOCKS),
    builder::<local::file::Config>("file", None, &[]),
    builder::<local::null::Config>("null", None, &[]),
    provisioner::<local::breakpoint::Config>("breakpoint", None),
    provisioner::<remote::file::Config>("file", None),
    provisioner::<remote::shell::Config>("shell", None),
    provisioner::<local::shell_local::Config>("shell-local", None),
    post_processor::<local::checksum::Config>("checksum", None),
    post_processor::<hcp::publish::Config>("hcp-packer-publish", HCP),
    post_processor::<local::manifest::Config>("manifest", None),
    post_processor::<local::shell_local_pp::Config>("shell-local", None),
    data_source::<amazon::ami::Config>("amazon-ami", AMAZON, amazon::ami::BLOCKS),
    data_source::<hcp::artifact::Config>("hcp-packer-artifact", HCP, &[]),
    deprecated(
        data_source::<hcp::artifact::ImageConfig>("hcp-packer-image", HCP, &[]),
        "hcp-packer-artifact",
    ),
    deprecated(
        data_source::<hcp::version::IterationConfig>("hcp-packer-iteration", HCP, &[]),
        "hcp-packer-version",
    ),
    data_source::<hcp::version::Config>("hcp-packer-version", HCP, &[]),
];

const fn entry(
    kind: PluginKind,
    name: &'static str,
    source: Option<&'static str>,
    blocks: &'static [&'static str],
    decode: DecodeFn,
) -> Plugin {
    Plugin {
        kind,
        name,
        source,
        replaced_by: None,
        blocks,
        decode,
    }
}

const fn builder<C: Config + Builder>(
    name: &'static str,
    source: Option<&'static str>,
    blocks: &'static [&'static str],
) -> Plugin {
    entry(
        PluginKind::Builder,
        name,
        source,
        blocks,
        decode_builder::<C>,
    )
}

const fn provisioner<C: Config + Provisioner>(
    name: &'static str,
    source: Option<&'static str>,
) -> Plugin {
    entry(
        PluginKind::Provisioner,
        name,
        source,
        &[],
        decode_provisioner::<C>,
    )
}

const fn post_processor<C: Config + PostProcessor>(
    name: &'static str,
    source: Option<&'static str>,
) -> Plugin {
    entry(
        PluginKind::PostProcessor,
        name,
        source,
        &[],
        decode_post_processor::<C>,
    )
}

const fn data_source<C: Config + DataSource>(
    name: &'static str,
    source: Option<&'static str>,
    blocks: &'static [&'static str],
) -> Plugin {
    entry(
        PluginKind::DataSource,
        name,
        source,
        blocks,
        decode_data_source::<C>,
    )
}

const fn deprecated(plugin: Plugin, replaced_by: &'static str) -> Plugin {
    Plugin {
        replaced_by: Some(replaced_by),
        ..plugin
    }
}

fn decode_builder<C: Config + Builder>(
    body: &BodyValue,
    what: &str,
) -> (Option<Decoded>, Vec<Diagnostic>) {
    typed::<C>(body, what, |c| Decoded::Builder(Arc::new(c)))
}

fn decode_provisioner<C: Config + Provisioner>(
    body: &BodyValue,
    what: &str,
) -> (Option<Decoded>, Vec<Diagnostic>) {
    typed::<C>(body, what, |c| Decoded::Provisioner(Arc::new(c)))
}

fn decode_post_processor<C: Config + PostProcessor>(
    body: &BodyValue,
    what: &str,
) -> (Option<Decoded>, Vec<Diagnostic>) {
    typed::<C>(body, what, |c| Decoded::PostProcessor(Arc::new(c)))
}

fn decode_data_source<C: Config + DataSource>(
    body: &BodyValue,
    what: &str,
) -> (Option<Decoded>, Vec<Diagnostic>) {
    typed::<C>(body, what, |c| Decoded::DataSource(Arc::new(c)))
}

/// Decode `body` as `C` and run its checks.
fn typed<C: Config>(
    body: &BodyValue,
    what: &str,
    wrap: impl FnOnce(C) -> Decoded,
) -> (Option<Decoded>, Vec<Diagnostic>) {
    match decode_as::<C>(body, what) {
        Ok(config) => {
            let diags = config.validate(body);
            (Some(wrap(config)), diags)
        }
        Err(errors) => (None, errors),
    }
}

/// The plugin of a kind with this name.
pub fn find(kind: PluginKind, name: &str) -> Option<&'static Plugin> {
    PLUGINS.iter().find(|p| p.kind == kind && p.name == name)
}

/// The plugin type names of a kind, sorted (Packer's names: "amazon-ebs", "shell-local", ...).
pub fn names(kind: PluginKind) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = PLUGINS
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.name)
        .collect();
    names.sort_unstable();
    names
}

/// `required_plugins` sources and the plugin types each provides. Packer builds the rest in.
pub fn plugin_sources() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for p in PLUGINS {
        let Some(source) = p.source else { continue };
        match out.iter_mut().find(|(s, _)| *s == source) {
            Some((_, names)) => names.push(p.name),
            None => out.push((source, vec![p.name])),
        }
    }
    out
}

/// The plugin types kiln has built in for a `required_plugins` source, which Packer reads with
/// or without `https://` and in any case; `None` when kiln has none from it.
pub fn provided_by(source: &str) -> Option<Vec<&'static str>> {
    let normalized = source.trim_start_matches("https://").to_lowercase();
    plugin_sources()
        .into_iter()
        .find(|(s, _)| *s == normalized)
        .map(|(_, provides)| provides)
}

/// Every nested block name a plugin config takes, sorted and without repeats.
pub fn nested_blocks() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = PLUGINS
        .iter()
        .flat_map(|p| p.blocks.iter().copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Decode a plugin block's evaluated body into its typed config and run its checks. Errors
/// (an unknown type is one diagnostic at `type_span`) fail the decode; use [`check`] to also
/// receive warnings.
pub fn decode(
    kind: PluginKind,
    type_name: &str,
    type_span: Span,
    body: &BodyValue,
) -> Result<Decoded, Vec<Diagnostic>> {
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
) -> (Option<Decoded>, Vec<Diagnostic>) {
    let Some(plugin) = find(kind, type_name) else {
        return (None, vec![unknown_type(kind, type_name, type_span)]);
    };
    let what = format!("the {type_name} {}", kind.noun());
    let mut diags = Vec::new();
    if let Some(replacement) = plugin.replaced_by {
        diags.push(
            Diagnostic::warning(
                type_span,
                format!("the `{type_name}` {} is deprecated", kind.noun()),
            )
            .with_hint(format!("use `{replacement}` instead")),
        );
    }
    let (decoded, found) = (plugin.decode)(body, &what);
    tracing::debug!(
        kind = kind.noun(),
        plugin = type_name,
        decoded = decoded.is_some(),
        problems = found.len(),
        "plugin config checked"
    );
    diags.extend(found);
    (decoded, diags)
}

/// "kiln has no builder `qemu`", with the closest name, the kind that does have it, or the list.
fn unknown_type(kind: PluginKind, name: &str, span: Span) -> Diagnostic {
    let noun = kind.noun();
    let available = names(kind);
    let d = Diagnostic::error(span, format!("kiln has no {noun} `{name}`"));
    let list = format!("available {noun}s: {}", available.join(", "));
    if let Some(close) = suggest(name, &available) {
        return d.with_hint(format!("did you mean `{close}`? {list}"));
    }
    if let Some(other) = PluginKind::ALL
        .into_iter()
        .find(|k| *k != kind && find(*k, name).is_some())
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
