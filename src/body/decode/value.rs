//! Deserializing one evaluated value, converting scalars as HCL does and reporting a value of
//! the wrong kind at its span.

use super::neutral::Neutral;
use super::{describe, field_hint, DecodeError, Sink};
use crate::diagnostic::{suggest, Diagnostic};
use crate::source::Span;
use crate::value::{convert, Number, Type, Value};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// Where a value sits, which decides whether a struct may be read from it.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Place {
    /// The value of an attribute: a struct here is a block written as an attribute.
    Field,
    /// An element of an attribute's list: a struct here is a repeated block written as a list.
    FieldItem,
    /// Deeper inside a value, where an object may fill a struct.
    Nested,
}

/// Deserializes one value, converting scalars as HCL does.
pub(super) struct ValueDeserializer<'a> {
    pub sink: &'a Sink,
    pub value: &'a Value,
    pub span: Span,
    pub path: String,
    pub place: Place,
}

macro_rules! integer_methods {
    ($($method:ident $visit:ident $ty:ty;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            let span = self.span;
            let n = self.integer(<$ty>::MIN as i128, <$ty>::MAX as i128);
            visitor.$visit::<DecodeError>(<$ty>::try_from(n).unwrap_or_default()).map_err(|e| e.located(span, "this value"))
        }
    )*};
}

impl<'a> ValueDeserializer<'a> {
    fn inner(&self) -> &'a Value {
        self.value.unmark().0
    }

    /// True for null and unknown values, which decode to neutral values.
    fn is_neutral(&self) -> bool {
        matches!(self.inner(), Value::Null | Value::Unknown(_))
    }

    fn wrong(&self, expected: &str, hint: Option<&str>) {
        let d = Diagnostic::error(
            self.span,
            format!(
                "`{}` must be {expected}, not {}",
                self.path,
                describe(self.value)
            ),
        );
        self.sink.report(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }

    /// The value converted to `ty`, or None (reported unless neutral) when it does not convert.
    fn scalar(&self, ty: &Type, expected: &str) -> Option<Value> {
        if self.is_neutral() {
            return None;
        }
        match convert(self.inner().clone(), ty) {
            Ok(v) if !v.is_null() && !v.is_unknown() => Some(v.unmark().0.clone()),
            Ok(_) => None,
            Err(_) => {
                let hint = self
                    .inner()
                    .as_sequence()
                    .is_some_and(|items| items.len() == 1)
                    .then_some("remove the brackets to give a single value");
                self.wrong(expected, hint);
                None
            }
        }
    }

    fn number(&self) -> Option<Number> {
        match self.scalar(&Type::Number, "a number")? {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    fn integer(&self, min: i128, max: i128) -> i128 {
        let Some(n) = self.number() else { return 0 };
        match n.to_i64().map(i128::from) {
            Some(i) if (min..=max).contains(&i) => i,
            _ if n.is_integer() => {
                self.sink.report(Diagnostic::error(
                    self.span,
                    format!("`{}` must be between {min} and {max}, not {n}", self.path),
                ));
                0
            }
            _ => {
                self.sink.report(Diagnostic::error(
                    self.span,
                    format!("`{}` must be a whole number, not {n}", self.path),
                ));
                0
            }
        }
    }

    fn string(&self) -> String {
        match self.scalar(&Type::String, "a string") {
            Some(Value::String(s)) => s,
            _ => String::new(),
        }
    }

    fn child(&self, value: &'a Value, step: String) -> ValueDeserializer<'a> {
        ValueDeserializer {
            sink: self.sink,
            value,
            span: self.span,
            path: format!("{}{step}", self.path),
            place: if self.place == Place::Field {
                Place::FieldItem
            } else {
                Place::Nested
            },
        }
    }
}

impl<'de, 'a> de::Deserializer<'de> for ValueDeserializer<'a> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.inner() {
            Value::Null | Value::Unknown(_) => visitor.visit_none(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match n.to_i64() {
                Some(i) => visitor.visit_i64(i),
                None => visitor.visit_f64(n.to_f64()),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::List(_) | Value::Set(_) | Value::Tuple(_) => self.deserialize_seq(visitor),
            Value::Map(_) | Value::Object(_) => self.deserialize_map(visitor),
            Value::Sensitive(_) => visitor.visit_none(),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_bool(matches!(
            self.scalar(&Type::Bool, "a bool"),
            Some(Value::Bool(true))
        ))
    }

    integer_methods! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f32(self.number().map_or(0.0, |n| n.to_f64() as f32))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f64(self.number().map_or(0.0, |n| n.to_f64()))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let s = self.string();
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            (None, _) if self.is_neutral() => visitor.visit_char(' '),
            _ => {
                self.wrong("a single character", None);
                visitor.visit_char(' ')
            }
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let span = self.span;
        visitor
            .visit_string::<DecodeError>(self.string())
            .map_err(|e| e.located(span, "this value"))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_byte_buf(self.string().into_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.is_neutral() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let items: &'a [Value] = match self.inner() {
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs,
            Value::Null | Value::Unknown(_) => &[],
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                self.wrong(
                    "a list",
                    Some("put it in brackets to make a list of one: `[...]`"),
                );
                &[]
            }
            _ => {
                self.wrong("a list", None);
                &[]
            }
        };
        let span = self.span;
        visitor
            .visit_seq(ValueSeq {
                parent: self,
                items: items.iter().enumerate(),
            })
            .map_err(|e| e.located(span, "this value"))
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

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let entries = match self.inner() {
            Value::Map(m) | Value::Object(m) => Some(m.iter()),
            Value::Null | Value::Unknown(_) => None,
            _ => {
                self.wrong("a map", Some("write a map as `{ key = \"value\" }`"));
                None
            }
        };
        let span = self.span;
        let access = ValueMap {
            parent: self,
            entries: entries.into_iter().flatten(),
            pending: None,
        };
        visitor
            .visit_map(access)
            .map_err(|e| e.located(span, "this value"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let root = self
            .path
            .split(['[', '.'])
            .next()
            .unwrap_or_default()
            .to_string();
        match (self.place, self.inner()) {
            (Place::Nested, Value::Map(m) | Value::Object(m)) => {
                for key in m.keys().filter(|k| !fields.contains(&k.as_str())) {
                    self.sink.report(
                        Diagnostic::error(
                            self.span,
                            format!("unknown field `{key}` in `{}`", self.path),
                        )
                        .with_hint(field_hint(
                            key,
                            fields,
                            &format!("`{}`", self.path),
                        )),
                    );
                }
                self.deserialize_map(visitor)
            }
            (Place::Nested, Value::Null | Value::Unknown(_)) => {
                Neutral.deserialize_struct(name, fields, visitor)
            }
            (Place::Nested, _) => {
                self.wrong("an object", None);
                Neutral.deserialize_struct(name, fields, visitor)
            }
            (Place::Field, _) => {
                self.sink.report(
                    Diagnostic::error(self.span, format!("`{root}` is a block, not an attribute"))
                        .with_hint(format!(
                            "write it as a block, without `=`: `{root} {{ ... }}`"
                        )),
                );
                Neutral.deserialize_struct(name, fields, visitor)
            }
            (Place::FieldItem, _) => {
                self.sink.report(
                    Diagnostic::error(self.span, format!("`{root}` is a block, not an attribute"))
                        .with_hint(format!("write one `{root} {{ ... }}` block for each item")),
                );
                Neutral.deserialize_struct(name, fields, visitor)
            }
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if self.is_neutral() {
            return Neutral.deserialize_enum(name, variants, visitor);
        }
        let Some(Value::String(given)) = self.scalar(&Type::String, "a string") else {
            return Neutral.deserialize_enum(name, variants, visitor);
        };
        if !variants.contains(&given.as_str()) {
            let list: Vec<String> = variants.iter().map(|v| format!("\"{v}\"")).collect();
            let d = Diagnostic::error(
                self.span,
                format!(
                    "`{}` must be one of {}, not {}",
                    self.path,
                    list.join(", "),
                    describe(self.value)
                ),
            );
            self.sink.report(match suggest(&given, variants) {
                Some(close) => d.with_hint(format!("did you mean \"{close}\"?")),
                None => d,
            });
            return Neutral.deserialize_enum(name, variants, visitor);
        }
        let span = self.span;
        visitor
            .visit_enum(IntoDeserializer::<DecodeError>::into_deserializer(given))
            .map_err(|e| e.located(span, "this value"))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_i128(self.integer(i128::from(i64::MIN), i128::from(i64::MAX)))
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor
            .visit_u128(u128::try_from(self.integer(0, i128::from(i64::MAX))).unwrap_or_default())
    }
}

struct ValueSeq<'a> {
    parent: ValueDeserializer<'a>,
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
}

impl<'de> SeqAccess<'de> for ValueSeq<'_> {
    type Error = DecodeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        match self.items.next() {
            Some((i, item)) => seed
                .deserialize(self.parent.child(item, format!("[{i}]")))
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct ValueMap<'a, I> {
    parent: ValueDeserializer<'a>,
    entries: I,
    pending: Option<(&'a String, &'a Value)>,
}

impl<'de, 'a, I: Iterator<Item = (&'a String, &'a Value)>> MapAccess<'de> for ValueMap<'a, I> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(key.as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        match self.pending.take() {
            Some((key, value)) => seed.deserialize(self.parent.child(value, format!("[{key:?}]"))),
            None => Err(de::Error::custom("a value was requested before its key")),
        }
    }
}
