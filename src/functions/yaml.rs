//! `yamldecode` as go-cty-yaml does it: YAML 1.1 scalar resolution (`yes` and `y` are true,
//! `0b101` is a number, unquoted dates become RFC 3339 strings), anchors and merge keys.

use super::args::Args;
use super::encoding::decode_base64;
use super::gotime::parse_yaml_timestamp;
use super::{FunctionContext, FunctionError};
use crate::value::{convert, Map, Number, Type, Value};
use std::collections::{HashMap, HashSet};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

const STR: &str = "tag:yaml.org,2002:str";
const BOOL: &str = "tag:yaml.org,2002:bool";
const INT: &str = "tag:yaml.org,2002:int";
const FLOAT: &str = "tag:yaml.org,2002:float";
const NULL: &str = "tag:yaml.org,2002:null";
const TIMESTAMP: &str = "tag:yaml.org,2002:timestamp";
const BINARY: &str = "tag:yaml.org,2002:binary";
const MAP: &str = "tag:yaml.org,2002:map";
const SEQ: &str = "tag:yaml.org,2002:seq";
const MERGE: &str = "tag:yaml.org,2002:merge";

/// How many values a document may expand to through aliases, against "billion laughs".
const NODE_LIMIT: usize = 1_000_000;
/// How deeply collections may nest before decoding gives up rather than overflow the stack.
const DEPTH_LIMIT: usize = 512;

pub(super) fn yamldecode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let src = args.string(0)?;
    let src = if src.is_empty() {
        "\n".to_string()
    } else {
        src
    };
    let mut d = Decoder {
        parser: Parser::new_from_str(&src),
        anchors: HashMap::new(),
        pending: HashSet::new(),
        nodes: 0,
    };
    d.document().map_err(FunctionError::new)
}

struct Decoder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    anchors: HashMap<usize, Value>,
    pending: HashSet<usize>,
    nodes: usize,
}

fn at(mark: &Marker, message: impl std::fmt::Display) -> String {
    format!(
        "on line {}, column {}: {message}",
        mark.line(),
        mark.col() + 1
    )
}

fn tag_name(tag: &Option<Tag>) -> String {
    tag.as_ref().map_or(String::new(), |t| {
        if t.handle == "!!" {
            format!("tag:yaml.org,2002:{}", t.suffix)
        } else {
            format!("{}{}", t.handle, t.suffix)
        }
    })
}

impl Decoder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), String> {
        // libyaml reports the problem without yaml-rust2's "while parsing ..." context.
        self.parser.next_token().map_err(|e| {
            let info = e.info();
            let problem = match info.split_once(", ") {
                Some((context, problem)) if context.starts_with("while ") => problem,
                _ => info,
            };
            at(e.marker(), problem)
        })
    }

    fn document(&mut self) -> Result<Value, String> {
        let (ev, mark) = self.next()?;
        if ev != Event::StreamStart {
            return Err(at(&mark, "missing stream start token"));
        }
        let (ev, _) = self.next()?;
        if ev != Event::DocumentStart {
            // Only an empty stream gets here; libyaml places it at the start.
            return Err("on line 1, column 1: missing start of document".into());
        }
        let (ev, mark) = self.next()?;
        let value = self.value(ev, mark, 0)?;
        match self.next()? {
            (Event::DocumentEnd, _) => {}
            (Event::DocumentStart, mark) => {
                return Err(at(&mark, "only a single document is allowed"))
            }
            (_, mark) => return Err(at(&mark, "unexpected extra content after value")),
        }
        match self.next()? {
            (Event::StreamEnd, _) => Ok(value),
            (Event::DocumentStart, mark) => Err(at(&mark, "only a single document is allowed")),
            (_, mark) => Err(at(&mark, "unexpected extra content after value")),
        }
    }

    fn count(&mut self, n: usize, mark: &Marker) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > NODE_LIMIT {
            return Err(at(mark, "document contains excessive aliasing"));
        }
        Ok(())
    }

    fn value(&mut self, ev: Event, mark: Marker, depth: usize) -> Result<Value, String> {
        if depth > DEPTH_LIMIT {
            return Err(at(&mark, "the document is nested too deeply"));
        }
        self.count(1, &mark)?;
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let v = resolve(&tag_name(&tag), &text, style).map_err(|e| at(&mark, e))?;
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                Ok(v)
            }
            Event::Alias(id) => {
                if self.pending.contains(&id) {
                    return Err(at(
                        &mark,
                        "cannot refer to an anchor from inside its own definition",
                    ));
                }
                let v = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| at(&mark, "reference to undefined anchor"))?;
                self.count(size(&v), &mark)?;
                Ok(v)
            }
            Event::SequenceStart(anchor, tag) => {
                let tag = tag_name(&tag);
                if !tag.is_empty() && tag != SEQ {
                    return Err(at(&mark, format!("can't interpret sequence as {tag}")));
                }
                self.pending.insert(anchor);
                let mut items = Vec::new();
                loop {
                    let (ev, mark) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.value(ev, mark, depth + 1)?);
                }
                self.complete(anchor, Value::Tuple(items))
            }
            Event::MappingStart(anchor, tag) => {
                let tag = tag_name(&tag);
                if !tag.is_empty() && tag != MAP {
                    return Err(at(&mark, format!("can't interpret mapping as {tag}")));
                }
                self.pending.insert(anchor);
                let mut attrs = Map::new();
                loop {
                    let (ev, mark) = self.next()?;
                    let (key, style, tag) = match ev {
                        Event::MappingEnd => break,
                        Event::Scalar(key, style, _, tag) => (key, style, tag_name(&tag)),
                        _ => return Err(at(&mark, "only strings are allowed as mapping keys")),
                    };
                    let (ev, vmark) = self.next()?;
                    if style == TScalarStyle::Plain
                        && key == "<<"
                        && (tag.is_empty() || tag == MERGE)
                    {
                        let merged = self.value(ev, vmark, depth + 1)?;
                        merge_into(&mut attrs, merged).map_err(|e| at(&mark, e))?;
                        continue;
                    }
                    let key = match resolve(&tag, &key, style).map_err(|e| at(&mark, e))? {
                        Value::Null => return Err(at(&mark, "mapping key cannot be null")),
                        k => match convert(k, &Type::String) {
                            Ok(Value::String(k)) => k,
                            _ => return Err(at(&mark, "only strings are allowed as mapping keys")),
                        },
                    };
                    let v = self.value(ev, vmark, depth + 1)?;
                    attrs.insert(key, v);
                }
                self.complete(anchor, Value::Object(attrs))
            }
            Event::StreamEnd => Err(at(&mark, "expecting value but found end of stream")),
            Event::DocumentStart => Err(at(&mark, "only a single document is allowed")),
            Event::MappingEnd => Err(at(&mark, "expecting value but found end of mapping")),
            Event::SequenceEnd => Err(at(&mark, "expecting value but found end of sequence")),
            _ => Err(at(&mark, "unexpected parser event")),
        }
    }

    fn complete(&mut self, anchor: usize, v: Value) -> Result<Value, String> {
        self.pending.remove(&anchor);
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        Ok(v)
    }
}

/// How many values `v` holds, counting itself.
fn size(v: &Value) -> usize {
    match v {
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            1 + xs.iter().map(size).sum::<usize>()
        }
        Value::Map(m) | Value::Object(m) => 1 + m.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

fn merge_into(attrs: &mut Map, merged: Value) -> Result<(), String> {
    match merged {
        Value::Object(m) | Value::Map(m) => attrs.extend(m),
        Value::Tuple(items) => {
            for item in items {
                match item {
                    Value::Object(m) | Value::Map(m) => attrs.extend(m),
                    other => {
                        return Err(format!(
                            "cannot merge {} (from sequence) into mapping",
                            other.kind_name()
                        ))
                    }
                }
            }
        }
        other => return Err(format!("cannot merge {} into mapping", other.kind_name())),
    }
    Ok(())
}

/// go-cty-yaml's `resolveScalar`: quoted scalars are strings, plain ones follow YAML 1.1.
fn resolve(tag: &str, src: &str, style: TScalarStyle) -> Result<Value, String> {
    let mut tag = if tag.is_empty() && style != TScalarStyle::Plain {
        STR
    } else {
        tag
    };
    if !matches!(
        tag,
        "" | STR | BOOL | INT | FLOAT | NULL | TIMESTAMP | BINARY
    ) {
        return Err(format!("unsupported tag {tag:?}"));
    }
    let hint = match src.bytes().next() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint != 0 && tag != STR && tag != BINARY {
        if let Some(v) = well_known(src) {
            return Ok(v);
        }
        if matches!(src, ".nan" | ".NaN" | ".NAN") {
            return Err("floating point NaN is not supported".into());
        }
        match hint {
            b'.' => {
                if let Some(n) = decimal(src) {
                    return Ok(Value::Number(n));
                }
            }
            b'D' | b'S' => {
                if tag.is_empty() || tag == TIMESTAMP {
                    if let Some(ts) = parse_yaml_timestamp(src) {
                        return Ok(Value::String(ts));
                    }
                }
                let plain = src.replace('_', "");
                if let Some(n) = decimal(&plain) {
                    return Ok(Value::Number(n));
                }
                if plain.starts_with("0b") || plain.starts_with("-0b") {
                    tag = INT;
                }
            }
            _ => {}
        }
    }
    let cannot = || format!("cannot parse {src:?} as {tag}");
    match tag {
        STR => Ok(Value::string(src)),
        BINARY => decode_base64(src)
            .map(|_| Value::string(src))
            .map_err(|_| format!("cannot parse {src:?} as {tag}: not valid base64")),
        BOOL => match well_known(src) {
            Some(b @ Value::Bool(_)) => Ok(b),
            _ => Err(cannot()),
        },
        INT | FLOAT => {
            let plain = src.replace('_', "");
            decimal(&plain)
                .or_else(|| go_parse_int(&plain))
                .map(Value::Number)
                .ok_or_else(cannot)
        }
        TIMESTAMP => parse_yaml_timestamp(src)
            .map(Value::String)
            .ok_or_else(cannot),
        NULL => Ok(Value::Null),
        _ => Ok(Value::string(src)),
    }
}

/// The YAML 1.1 words for booleans, null and infinity.
fn well_known(src: &str) -> Option<Value> {
    Some(match src {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            Value::Number(Number::from_f64(f64::INFINITY)?)
        }
        "-.inf" | "-.Inf" | "-.INF" => Value::Number(Number::from_f64(f64::NEG_INFINITY)?),
        _ => return None,
    })
}

/// A decimal number as `big.ParseFloat` reads it: `[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?`.
fn decimal(s: &str) -> Option<Number> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mant = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        mant += digits(&mut i);
    }
    if mant == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    // Normalise "5." and ".5", which not every parser accepts.
    let mut text = s
        .trim_start_matches('+')
        .replace(".e", ".0e")
        .replace(".E", ".0E");
    if text.ends_with('.') {
        text.push('0');
    }
    if let Some(rest) = text.strip_prefix("-.") {
        text = format!("-0.{rest}");
    } else if text.starts_with('.') {
        text.insert(0, '0');
    }
    Number::parse(&text)
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint`: `0x`, `0o`, `0b` and leading-zero octal.
fn go_parse_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude)
            .ok()
            .map(|m| -m)
            .or((magnitude == 1 << 63).then_some(i64::MIN))?;
        Some(Number::from_i64(v))
    } else {
        Some(Number::from_u64(magnitude))
    }
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_yamldecode() {
        assert_eq!(
            json(&ok("yamldecode", vec![s("a: 1\nb: [x, y]")])),
            r#"{"a":1,"b":["x",true]}"#
        );
        assert_eq!(
            json(&ok("yamldecode", vec![s("- 1\n- true\n- null")])),
            "[1,true,null]"
        );
        assert_eq!(ok("yamldecode", vec![s("hello")]), s("hello"));
        let m = fails("yamldecode", vec![s("a: [")]);
        assert!(
            m.starts_with("on line ") && m.ends_with("did not find expected node content"),
            "{m}"
        );
        assert_eq!(
            fails("yamldecode", vec![s("")]),
            "on line 1, column 1: missing start of document"
        );
        assert_eq!(ok("yamldecode", vec![s("yes")]), Value::Bool(true));
    }

    #[test]
    fn yaml_1_1_scalars() {
        let v = ok("yamldecode", vec![s("a: 'y'\nb: \"1\"\nc: 0b101\nd: 1_000\ne: .5\nf: 0x1F\ng: ~\nh: 2001-12-14\ni: -.inf\nj: !!int 0x1F\nk: !!str 12\nl: 017")]);
        let j = json(&Value::Object(match &v {
            Value::Object(m) => m
                .iter()
                .filter(|(k, _)| k.as_str() != "i")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => Default::default(),
        }));
        assert_eq!(
            j,
            r#"{"a":"y","b":"1","c":5,"d":1000,"e":0.5,"f":"0x1F","g":null,"h":"2001-12-14T00:00:00Z","j":31,"k":"12","l":17}"#
        );
        assert!(fails("yamldecode", vec![s(".nan")]).contains("NaN"));
        assert!(fails("yamldecode", vec![s("a: 1\n---\nb: 2")]).contains("single document"));
        assert_eq!(
            json(&ok("yamldecode", vec![s("1: a\ntrue: b")])),
            r#"{"1":"a","true":"b"}"#
        );
        assert!(fails("yamldecode", vec![s("? [a]\n: b")]).contains("only strings"));
        assert!(fails("yamldecode", vec![s("!!set {a}")]).contains("can't interpret mapping"));
    }

    #[test]
    fn yaml_anchors_and_merge() {
        let v = ok(
            "yamldecode",
            vec![s("base: &b {x: 1}\nother:\n  <<: *b\n  z: 2\nref: *b")],
        );
        assert_eq!(
            json(&v),
            r#"{"base":{"x":1},"other":{"x":1,"z":2},"ref":{"x":1}}"#
        );
        // YAML 1.1: an unquoted `y` key is the boolean true.
        assert_eq!(json(&ok("yamldecode", vec![s("y: 2")])), r#"{"true":2}"#);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for k in 0..8 {
            let prev = (b'a' + k) as char;
            let next = (b'b' + k) as char;
            bomb.push_str(&format!("{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(fails("yamldecode", vec![s(&bomb)]).contains("excessive aliasing"));
        let deep = "[".repeat(10_000);
        fails("yamldecode", vec![s(&deep)]);
    }
}
