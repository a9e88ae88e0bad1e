//! A block's contents after evaluation: attribute values and nested blocks, each with the span
//! it came from, ready to decode into a plugin's typed config.

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
