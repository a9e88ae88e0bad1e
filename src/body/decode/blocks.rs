//! Deserializing the blocks of one type that fill a field: one block for a struct or an
//! `Option`, all of them for a `Vec`.

use super::neutral::Neutral;
use super::{BodyDeserializer, DecodeError, Sink};
use crate::body::BlockValue;
use crate::diagnostic::Diagnostic;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};

/// Deserializes the blocks of one type that fill a field.
pub(super) struct BlocksDeserializer<'a> {
    pub sink: &'a Sink,
    pub name: &'a str,
    pub blocks: Vec<&'a BlockValue>,
}

macro_rules! not_a_block {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            self.not_a_block();
            Neutral.$method(visitor)
        }
    )*};
}

impl BlocksDeserializer<'_> {
    fn not_a_block(&self) {
        if let Some(block) = self.blocks.first() {
            self.sink.report(
                Diagnostic::error(
                    block.kind_span,
                    format!("`{}` is an attribute, not a block", self.name),
                )
                .with_hint(format!("write it as an attribute: `{} = ...`", self.name)),
            );
        }
    }
}

impl<'de> de::Deserializer<'de> for BlocksDeserializer<'_> {
    type Error = DecodeError;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let Some((first, extra)) = self.blocks.split_first() else {
            return Neutral.deserialize_struct(name, fields, visitor);
        };
        for block in extra {
            self.sink.report(
                Diagnostic::error(
                    block.kind_span,
                    format!("only one `{}` block is allowed", self.name),
                )
                .with_label(first.kind_span, "first defined here"),
            );
        }
        if !first.labels.is_empty() {
            self.sink.report(Diagnostic::error(
                first.kind_span,
                format!("a `{}` block takes no labels", self.name),
            ));
        }
        let body = BodyDeserializer {
            sink: self.sink,
            body: &first.body,
            what: format!("the `{}` block", self.name),
        };
        body.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_seq(BlockSeq {
            sink: self.sink,
            name: self.name,
            blocks: self.blocks.into_iter(),
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.blocks.first() {
            Some(first) => BodyDeserializer {
                sink: self.sink,
                body: &first.body,
                what: format!("the `{}` block", self.name),
            }
            .deserialize_map(visitor),
            None => visitor.visit_none(),
        }
    }

    not_a_block! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8
        deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_map deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.not_a_block();
        Neutral.deserialize_enum(name, variants, visitor)
    }
}

struct BlockSeq<'a> {
    sink: &'a Sink,
    name: &'a str,
    blocks: std::vec::IntoIter<&'a BlockValue>,
}

impl<'de> SeqAccess<'de> for BlockSeq<'_> {
    type Error = DecodeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        match self.blocks.next() {
            Some(block) => seed
                .deserialize(BlocksDeserializer {
                    sink: self.sink,
                    name: self.name,
                    blocks: vec![block],
                })
                .map(Some),
            None => Ok(None),
        }
    }
}
