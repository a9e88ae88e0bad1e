//! A block's contents after evaluation: attribute values and nested blocks, each with the span
//! it came from, ready to decode into a plugin's typed config.

pub mod decode;
pub mod legacy;

use crate::source::Span;
use crate::value::Value;

/// An evaluated body.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BodyValue {
    /// Attributes in source order.
    pub attrs: Vec<AttrValue>,
    /// Nested blocks in source order (`dynamic` blocks already expanded).
    pub blocks: Vec<BlockValue>,
    /// The span of the block this body belongs to (its header), for "missing field" errors.
    pub span: Span,
}

/// One evaluated attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrValue {
    pub name: String,
    pub name_span: Span,
    pub value: Value,
    pub value_span: Span,
}

/// One evaluated nested block.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockValue {
    pub kind: String,
    pub kind_span: Span,
    pub labels: Vec<String>,
    pub body: BodyValue,
    pub span: Span,
}

impl BodyValue {
    /// The attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&AttrValue> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// The blocks of type `kind`.
    pub fn blocks_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a BlockValue> + 'a {
        self.blocks.iter().filter(move |b| b.kind == kind)
    }
}

/// How a value unknown until the build runs reads in a plan.
pub const UNKNOWN: &str = "(known after build)";

/// How a sensitive value reads in a plan.
pub const SENSITIVE: &str = "(sensitive)";

/// Whether a plugin field holds a secret whatever its value (credentials, passwords, tokens),
/// as Packer's plugins register them with its secret filter: evaluation marks such values
/// sensitive, so no plan, dry run or log shows them.
pub fn is_secret_field(name: &str) -> bool {
    matches!(
        name,
        "access_key" | "secret_key" | "token" | "password" | "client_secret" | "ssh_private_key"
    ) || ["_password", "_secret", "_token", "_secret_key"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// A value as a plan shows it in a name or summary: strings bare, unknown and sensitive values
/// as placeholders.
pub fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        v if v.contains_sensitive() => SENSITIVE.into(),
        v if v.contains_unknown() => UNKNOWN.into(),
        v => crate::value::to_console(v).replace('\n', " "),
    }
}

/// A string attribute as a plan shows it, `None` when it is not set.
pub fn shown_attr(body: &BodyValue, name: &str) -> Option<String> {
    body.attr(name).map(|a| shown(&a.value))
}

/// A string attribute when it is set and known before the build.
pub fn known_attr(body: &BodyValue, name: &str) -> Option<String> {
    body.attr(name)
        .filter(|a| !a.value.contains_unknown())
        .map(|a| shown(&a.value))
}

/// `what in region`, or `what` without a region.
pub fn with_region(what: &str, region: Option<&str>) -> String {
    match region {
        Some(r) => format!("{what} in {r}"),
        None => what.to_string(),
    }
}
