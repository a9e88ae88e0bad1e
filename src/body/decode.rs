//! Decoding an evaluated body into a typed config with serde, with diagnostics at spans.
//!
//! A struct field is a nested block when its type is a struct (or `Option`/`Vec` of one) and an
//! attribute otherwise. Mistakes that leave the rest of the body decodable (an unknown field, a
//! mistyped value, a repeated block, a block written as an attribute) are collected while decoding
//! goes on with a neutral value in their place, so one pass reports all of them. Values known only
//! at build time decode to neutral values (`""`, `0`, `false`, empty, `None`) without complaint:
//! the config is decoded again once they are known.

use crate::body::{AttrValue, BlockValue, BodyValue};
use crate::diagnostic::{suggest, Diagnostic};
use crate::source::Span;
use crate::value::Value;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;
use std::cell::RefCell;
use std::fmt;

mod blocks;
mod neutral;
mod value;

use blocks::BlocksDeserializer;
use value::{Place, ValueDeserializer};

/// Decode `body` into `T`, describing the body as "this block" in messages.
pub fn decode<T: DeserializeOwned>(body: &BodyValue) -> Result<T, Vec<Diagnostic>> {
    decode_as(body, "this block")
}

/// Decode `body` into `T`; `what` names the body in messages ("the amazon-ebs builder").
pub fn decode_as<T: DeserializeOwned>(body: &BodyValue, what: &str) -> Result<T, Vec<Diagnostic>> {
    let sink = Sink::default();
    let result = T::deserialize(BodyDeserializer {
        sink: &sink,
        body,
        what: what.to_string(),
    });
    let suggested = sink.suggested.into_inner();
    let mut diagnostics = sink.diagnostics.into_inner();
    match result {
        Ok(value) if diagnostics.is_empty() => return Ok(value),
        Ok(_) => {}
        Err(error) => {
            // "missing `ami_name`" says nothing new after "unknown `ami_nme`, did you mean `ami_name`?".
            let explained = error
                .missing
                .is_some_and(|field| suggested.iter().any(|s| s == field));
            if !explained {
                diagnostics.push(error.into_diagnostic(body.span));
            }
        }
    }
    let mut unique: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    Err(unique)
}

/// A decoding failure serde could not recover from (a missing required field, a custom check).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError {
    message: String,
    span: Option<Span>,
    hint: Option<String>,
    missing: Option<&'static str>,
}

impl DecodeError {
    /// Attach the span (and, for a missing field, the hint) of the innermost body or value.
    fn located(mut self, span: Span, what: &str) -> DecodeError {
        if self.span.is_none() {
            self.span = Some(span);
            if let Some(field) = self.missing {
                self.hint = Some(format!("add `{field} = ...` to {what}"));
            }
        }
        self
    }

    fn into_diagnostic(self, fallback: Span) -> Diagnostic {
        let d = Diagnostic::error(self.span.unwrap_or(fallback), self.message);
        match self.hint {
            Some(hint) => d.with_hint(hint),
            None => d,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> DecodeError {
        DecodeError {
            message: msg.to_string(),
            span: None,
            hint: None,
            missing: None,
        }
    }

    fn missing_field(field: &'static str) -> DecodeError {
        DecodeError {
            message: format!("missing required field `{field}`"),
            span: None,
            hint: None,
            missing: Some(field),
        }
    }
}

/// Where recoverable problems are collected while serde keeps going.
#[derive(Default)]
struct Sink {
    diagnostics: RefCell<Vec<Diagnostic>>,
    /// Fields an unknown field was taken for a typo of ("did you mean `ami_name`?").
    suggested: RefCell<Vec<String>>,
}

impl Sink {
    fn report(&self, diagnostic: Diagnostic) {
        self.diagnostics.borrow_mut().push(diagnostic);
    }
}

/// A hint for an unknown field: the closest field, the fields it could be, or how many there are.
fn field_hint(word: &str, fields: &[&str], what: &str) -> String {
    if let Some(close) = suggest(word, fields) {
        return format!("did you mean `{close}`?");
    }
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if fields.is_empty() {
        return format!("{what} takes no fields");
    }
    if fields.len() <= 20 {
        return format!("valid fields are {}", list(fields));
    }
    let prefix = format!("{}_", word.split('_').next().unwrap_or(word));
    let related: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| f.starts_with(&prefix))
        .collect();
    if !related.is_empty() && related.len() <= 20 {
        return format!("fields starting with `{prefix}` are {}", list(&related));
    }
    format!(
        "none of the {} fields of {what} is close to `{word}`",
        fields.len()
    )
}

/// A short description of a value's kind, with an article, for "must be X, not Y".
fn describe(value: &Value) -> String {
    match value.unmark().0 {
        Value::Null => "null".into(),
        Value::Unknown(_) => "a value known only at build time".into(),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        Value::String(_) => "a string".into(),
        Value::List(_) | Value::Tuple(_) => "a list".into(),
        Value::Set(_) => "a set".into(),
        Value::Map(_) | Value::Object(_) => "a map".into(),
        Value::Sensitive(_) => "a sensitive value".into(),
    }
}

enum Entry<'a> {
    Attr(&'a AttrValue),
    Blocks(Vec<&'a BlockValue>),
}

/// Deserializes a body: its attributes and blocks are the struct's fields.
struct BodyDeserializer<'a> {
    sink: &'a Sink,
    body: &'a BodyValue,
    what: String,
}

impl<'a> BodyDeserializer<'a> {
    /// The attributes and block groups that name a field (all of them when `fields` is None),
    /// attributes first; everything else is reported.
    fn entries(&self, fields: Option<&[&str]>) -> Vec<(&'a str, Entry<'a>)> {
        let body: &'a BodyValue = self.body;
        let known = |name: &str| fields.is_none_or(|f| f.contains(&name));
        let mut entries: Vec<(&'a str, Entry<'a>)> = Vec::new();
        for attr in &body.attrs {
            if !known(&attr.name) {
                self.unknown(&attr.name, attr.name_span, fields.unwrap_or(&[]));
                continue;
            }
            if let Some((_, Entry::Attr(first))) = entries.iter().find(|(n, _)| *n == attr.name) {
                self.sink.report(
                    Diagnostic::error(
                        attr.name_span,
                        format!("`{}` is set more than once", attr.name),
                    )
                    .with_label(first.name_span, "first set here"),
                );
                continue;
            }
            entries.push((&attr.name, Entry::Attr(attr)));
        }
        for block in &body.blocks {
            if fields.is_none() {
                self.sink.report(Diagnostic::error(
                    block.kind_span,
                    format!("unexpected block `{}` in {}", block.kind, self.what),
                ));
                continue;
            }
            if !known(&block.kind) {
                self.unknown(&block.kind, block.kind_span, fields.unwrap_or(&[]));
                continue;
            }
            match entries.iter_mut().find(|(n, _)| *n == block.kind) {
                Some((_, Entry::Blocks(list))) => list.push(block),
                Some((_, Entry::Attr(attr))) => self.sink.report(
                    Diagnostic::error(
                        block.kind_span,
                        format!(
                            "`{}` is set both as an attribute and as a block",
                            block.kind
                        ),
                    )
                    .with_label(attr.name_span, "set as an attribute here"),
                ),
                None => entries.push((&block.kind, Entry::Blocks(vec![block]))),
            }
        }
        entries
    }

    fn unknown(&self, name: &str, span: Span, fields: &[&str]) {
        if let Some(close) = suggest(name, fields) {
            self.sink.suggested.borrow_mut().push(close.to_string());
        }
        self.sink.report(
            Diagnostic::error(span, format!("unknown field `{name}` in {}", self.what))
                .with_hint(field_hint(name, fields, &self.what)),
        );
    }

    fn visit<'de, V: Visitor<'de>>(
        self,
        fields: Option<&[&str]>,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let entries = self.entries(fields);
        let access = BodyAccess {
            sink: self.sink,
            entries: entries.into_iter(),
            pending: None,
        };
        visitor
            .visit_map(access)
            .map_err(|e| e.located(self.body.span, &self.what))
    }
}

impl<'de> de::Deserializer<'de> for BodyDeserializer<'_> {
    type Error = DecodeError;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.visit(Some(fields), visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.visit(None, visitor)
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.visit(None, visitor)
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

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct enum identifier ignored_any
    }
}

struct BodyAccess<'a> {
    sink: &'a Sink,
    entries: std::vec::IntoIter<(&'a str, Entry<'a>)>,
    pending: Option<(&'a str, Entry<'a>)>,
}

impl<'de> MapAccess<'de> for BodyAccess<'_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        let name = entry.0;
        self.pending = Some(entry);
        seed.deserialize(name.into_deserializer()).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        match self.pending.take() {
            Some((name, Entry::Attr(attr))) => seed.deserialize(ValueDeserializer {
                sink: self.sink,
                value: &attr.value,
                span: attr.value_span,
                path: name.to_string(),
                place: Place::Field,
            }),
            Some((name, Entry::Blocks(blocks))) => seed.deserialize(BlocksDeserializer {
                sink: self.sink,
                name,
                blocks,
            }),
            None => Err(de::Error::custom("a value was requested before its key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;
    use crate::value::Map;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Debug, PartialEq, Default)]
    #[serde(default)]
    struct Filter {
        filters: BTreeMap<String, String>,
        owners: Vec<String>,
        most_recent: bool,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(default)]
    struct Device {
        device_name: String,
        volume_size: u32,
    }

    impl Default for Device {
        fn default() -> Device {
            Device {
                device_name: String::new(),
                volume_size: 8,
            }
        }
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Direction {
        Upload,
        Download,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Config {
        ami_name: String,
        region: String,
        #[serde(default)]
        instance_type: String,
        #[serde(default)]
        ami_regions: Vec<String>,
        #[serde(default)]
        ssh_port: u16,
        #[serde(default)]
        encrypt_boot: Option<bool>,
        #[serde(default)]
        tags: BTreeMap<String, String>,
        #[serde(default)]
        source_ami_filter: Option<Filter>,
        #[serde(default)]
        launch_block_device_mappings: Vec<Device>,
        #[serde(default)]
        direction: Option<Direction>,
    }

    fn span(at: u32) -> Span {
        Span {
            file: FileId(0),
            start: at,
            end: at + 1,
        }
    }

    /// A body whose attributes are numbered in order: attribute `i` has its name at `10 * i`
    /// and its value at `10 * i + 5`.
    fn body(attrs: Vec<(&str, Value)>, blocks: Vec<BlockValue>) -> BodyValue {
        BodyValue {
            attrs: attrs
                .into_iter()
                .enumerate()
                .map(|(i, (name, value))| AttrValue {
                    name: name.into(),
                    name_span: span(10 * i as u32),
                    value,
                    value_span: span(10 * i as u32 + 5),
                })
                .collect(),
            blocks,
            span: span(1000),
        }
    }

    fn block(kind: &str, at: u32, body: BodyValue) -> BlockValue {
        BlockValue {
            kind: kind.into(),
            kind_span: span(at),
            labels: vec![],
            body,
            span: span(at),
        }
    }

    fn required() -> Vec<(&'static str, Value)> {
        vec![
            ("ami_name", Value::string("my-ami")),
            ("region", Value::string("us-east-1")),
        ]
    }

    fn strings(items: &[&str]) -> Value {
        Value::Tuple(items.iter().map(|s| Value::string(*s)).collect())
    }

    fn errors(b: &BodyValue) -> Vec<(String, Option<Span>, Option<String>)> {
        decode::<Config>(b)
            .expect_err("fails")
            .into_iter()
            .map(|d| (d.message, d.span, d.hint))
            .collect()
    }

    #[test]
    fn decodes_attributes_and_blocks() {
        let mut filters = Map::new();
        filters.insert("name".into(), Value::string("ubuntu/*"));
        let filter = body(
            vec![
                ("filters", Value::Object(filters)),
                ("owners", strings(&["099720109477"])),
                ("most_recent", true.into()),
            ],
            vec![],
        );
        let devices = vec![
            block(
                "launch_block_device_mappings",
                200,
                body(vec![("device_name", Value::string("/dev/sda1"))], vec![]),
            ),
            block(
                "launch_block_device_mappings",
                300,
                body(vec![("volume_size", Value::int(30))], vec![]),
            ),
        ];
        let mut attrs = required();
        attrs.push(("ami_regions", strings(&["us-west-2", "eu-west-1"])));
        let mut blocks = vec![block("source_ami_filter", 100, filter)];
        blocks.extend(devices);
        let config: Config = decode(&body(attrs, blocks)).expect("decodes");
        assert_eq!(config.ami_regions, ["us-west-2", "eu-west-1"]);
        let filter = config.source_ami_filter.expect("the filter block");
        assert_eq!(filter.owners, ["099720109477"]);
        assert!(filter.most_recent);
        assert_eq!(filter.filters["name"], "ubuntu/*");
        assert_eq!(config.launch_block_device_mappings.len(), 2);
        assert_eq!(config.launch_block_device_mappings[0].volume_size, 8);
        assert_eq!(config.launch_block_device_mappings[1].volume_size, 30);
    }

    #[test]
    fn unknown_fields_are_all_reported_with_suggestions() {
        let mut attrs = required();
        attrs.push(("instance_typ", Value::string("t3.micro")));
        attrs.push(("zzz", Value::int(1)));
        let got = errors(&body(
            attrs,
            vec![block("source_ami_filtr", 100, BodyValue::default())],
        ));
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "unknown field `instance_typ` in this block");
        assert_eq!(got[0].1, Some(span(20)));
        assert_eq!(got[0].2.as_deref(), Some("did you mean `instance_type`?"));
        assert!(
            got[1]
                .2
                .as_deref()
                .is_some_and(|h| h.starts_with("valid fields are `ami_name`, `region`")),
            "{got:?}"
        );
        assert_eq!(got[2].0, "unknown field `source_ami_filtr` in this block");
        assert_eq!(got[2].1, Some(span(100)));
        assert_eq!(
            got[2].2.as_deref(),
            Some("did you mean `source_ami_filter`?")
        );
    }

    #[test]
    fn unknown_fields_inside_blocks_name_the_block() {
        let filter = body(vec![("ownrs", strings(&["self"]))], vec![]);
        let got = errors(&body(
            required(),
            vec![block("source_ami_filter", 100, filter)],
        ));
        assert_eq!(
            got[0].0,
            "unknown field `ownrs` in the `source_ami_filter` block"
        );
        assert_eq!(got[0].2.as_deref(), Some("did you mean `owners`?"));
    }

    #[test]
    fn missing_required_fields_point_at_the_block() {
        let got = errors(&body(vec![("ami_name", Value::string("x"))], vec![]));
        assert_eq!(
            got,
            [(
                "missing required field `region`".to_string(),
                Some(span(1000)),
                Some("add `region = ...` to this block".to_string())
            )]
        );
        let described = decode_as::<Config>(
            &body(vec![("region", Value::string("x"))], vec![]),
            "the amazon-ebs builder",
        );
        let hint = described.expect_err("fails")[0].hint.clone();
        assert_eq!(
            hint.as_deref(),
            Some("add `ami_name = ...` to the amazon-ebs builder")
        );
    }

    #[test]
    fn wrong_types_are_reported_at_the_value_with_the_other_errors() {
        let mut attrs = required();
        attrs.push(("instance_type", strings(&["t3.micro"])));
        attrs.push(("ami_regions", Value::string("us-west-2")));
        attrs.push(("ssh_port", Value::string("twenty-two")));
        attrs.push(("bogus", Value::Null));
        let got = errors(&body(attrs, vec![]));
        let messages: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unknown field `bogus` in this block",
                "`instance_type` must be a string, not a list",
                "`ami_regions` must be a list, not the string \"us-west-2\"",
                "`ssh_port` must be a number, not the string \"twenty-two\"",
            ]
        );
        assert_eq!(got[1].1, Some(span(25)));
        assert_eq!(
            got[2].2.as_deref(),
            Some("put it in brackets to make a list of one: `[...]`")
        );
    }

    #[test]
    fn scalars_convert_as_hcl_does() {
        let mut attrs = vec![("ami_name", Value::int(42)), ("region", Value::string("r"))];
        attrs.push(("ssh_port", Value::string("2222")));
        attrs.push(("encrypt_boot", Value::string("true")));
        attrs.push((
            "ami_regions",
            Value::Tuple(vec![Value::Bool(true), Value::int(7)]),
        ));
        let mut tags = Map::new();
        tags.insert("Count".into(), Value::int(3));
        attrs.push(("tags", Value::Object(tags)));
        let config: Config = decode(&body(attrs, vec![])).expect("decodes");
        assert_eq!(config.ami_name, "42");
        assert_eq!(config.ssh_port, 2222);
        assert_eq!(config.encrypt_boot, Some(true));
        assert_eq!(config.ami_regions, ["true", "7"]);
        assert_eq!(config.tags["Count"], "3");
    }

    #[test]
    fn numbers_must_fit_the_field() {
        let mut attrs = required();
        attrs.push(("ssh_port", Value::int(70000)));
        assert_eq!(
            errors(&body(attrs, vec![]))[0].0,
            "`ssh_port` must be between 0 and 65535, not 70000"
        );
        let mut attrs = required();
        attrs.push((
            "ssh_port",
            Value::Number(crate::value::Number::from_f64(2.5).expect("a number")),
        ));
        assert_eq!(
            errors(&body(attrs, vec![]))[0].0,
            "`ssh_port` must be a whole number, not 2.5"
        );
    }

    #[test]
    fn unknown_values_decode_to_neutral_values() {
        let attrs = vec![
            ("ami_name", Value::unknown()),
            ("region", Value::unknown()),
            ("ssh_port", Value::unknown()),
            ("encrypt_boot", Value::unknown()),
            (
                "ami_regions",
                Value::Tuple(vec![Value::unknown(), Value::string("b")]),
            ),
            ("tags", Value::unknown()),
            ("direction", Value::unknown()),
        ];
        let config: Config = decode(&body(attrs, vec![])).expect("decodes");
        assert_eq!(config.ami_name, "");
        assert_eq!(config.ssh_port, 0);
        assert_eq!(config.encrypt_boot, None);
        assert_eq!(config.ami_regions, ["", "b"]);
        assert!(config.tags.is_empty());
        assert_eq!(config.direction, None);
    }

    #[test]
    fn sensitive_values_decode_as_their_content() {
        let attrs = vec![
            ("ami_name", Value::string("secret").sensitive()),
            ("region", Value::string("r")),
        ];
        assert_eq!(
            decode::<Config>(&body(attrs, vec![]))
                .expect("decodes")
                .ami_name,
            "secret"
        );
    }

    #[test]
    fn a_single_block_may_appear_once() {
        let blocks = vec![
            block("source_ami_filter", 100, BodyValue::default()),
            block("source_ami_filter", 200, BodyValue::default()),
        ];
        let got = decode::<Config>(&body(required(), blocks)).expect_err("fails");
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].message,
            "only one `source_ami_filter` block is allowed"
        );
        assert_eq!(got[0].span, Some(span(200)));
        assert_eq!(got[0].labels[0].span, span(100));
    }

    #[test]
    fn blocks_and_attributes_are_not_interchangeable() {
        let mut attrs = required();
        attrs.push(("source_ami_filter", Value::Object(Map::new())));
        attrs.push((
            "launch_block_device_mappings",
            Value::Tuple(vec![Value::Object(Map::new())]),
        ));
        let got = errors(&body(attrs, vec![block("tags", 100, BodyValue::default())]));
        let messages: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`source_ami_filter` is a block, not an attribute",
                "`launch_block_device_mappings` is a block, not an attribute",
                "`tags` is an attribute, not a block",
            ]
        );
        assert_eq!(
            got[0].2.as_deref(),
            Some("write it as a block, without `=`: `source_ami_filter { ... }`")
        );
        assert_eq!(got[2].1, Some(span(100)));
    }

    #[test]
    fn enums_name_their_values() {
        let mut attrs = required();
        attrs.push(("direction", Value::string("uplaod")));
        let got = errors(&body(attrs, vec![]));
        assert_eq!(
            got[0].0,
            "`direction` must be one of \"upload\", \"download\", not the string \"uplaod\""
        );
        assert_eq!(got[0].2.as_deref(), Some("did you mean \"upload\"?"));
        let mut attrs = required();
        attrs.push(("direction", Value::string("download")));
        assert_eq!(
            decode::<Config>(&body(attrs, vec![]))
                .expect("decodes")
                .direction,
            Some(Direction::Download)
        );
    }

    #[test]
    fn a_field_set_twice_is_reported() {
        let mut attrs = required();
        attrs.push(("region", Value::string("again")));
        let got = decode::<Config>(&body(attrs, vec![])).expect_err("fails");
        assert_eq!(got[0].message, "`region` is set more than once");
        assert_eq!(got[0].labels[0].span, span(10));
    }
}
