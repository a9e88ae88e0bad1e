//! Printing values as `packer console` does, and JSON encoding/decoding as `jsonencode` and
//! `jsondecode` do.

use super::{Map, Number, Value};
use std::fmt::Write;

/// How `packer console` prints a value: strings bare at the top level, collections indented
/// by two spaces with trailing commas, null attributes left out, sensitive values masked.
pub fn to_console(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Sensitive(_) => "<sensitive>".into(),
        v => {
            let mut out = String::new();
            nested(&mut out, v, 0);
            out
        }
    }
}

fn nested(out: &mut String, value: &Value, indent: usize) {
    let pad = "  ".repeat(indent + 1);
    let close = "  ".repeat(indent);
    match value {
        Value::Null => out.push_str("null"),
        Value::Unknown(_) => out.push_str("<unknown>"),
        Value::Sensitive(_) => out.push_str("\"<sensitive>\""),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_console_string()),
        Value::String(s) => out.push_str(&quote(s)),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            if xs.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for x in xs {
                out.push_str(&pad);
                nested(out, x, indent + 1);
                out.push_str(",\n");
            }
            out.push_str(&close);
            out.push(']');
        }
        Value::Map(m) | Value::Object(m) => {
            let present: Vec<(&String, &Value)> = m
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .collect();
            if present.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for (k, v) in present {
                let _ = write!(out, "{pad}{} = ", quote(k));
                nested(out, v, indent + 1);
                out.push('\n');
            }
            out.push_str(&close);
            out.push('}');
        }
    }
}

/// A double-quoted string as Go's `strconv.Quote` writes it: what `packer console` prints for
/// nested strings and `packer inspect` for every value.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Compact JSON with sorted keys, as `jsonencode` writes it. Unknown values cannot be encoded.
pub fn to_json(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    json(&mut out, value)?;
    Ok(out)
}

fn json(out: &mut String, value: &Value) -> Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Unknown(_) => return Err("the value is not known yet".into()),
        Value::Sensitive(v) => json(out, v)?,
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_infinite() {
                return Err("infinity cannot be written as JSON".into());
            }
            out.push_str(&n.to_string())
        }
        Value::String(s) => json_string(out, s),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(out, x)?;
            }
            out.push(']');
        }
        Value::Map(m) | Value::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                json(out, v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Go's encoding/json string escaping (it also escapes `<`, `>` and `&` for HTML safety).
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decode JSON text into a value: objects become objects, arrays tuples, numbers exact.
pub fn from_json(text: &str) -> Result<Value, String> {
    let mut parser = JsonParser { text, pos: 0 };
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(format!(
            "unexpected text after the JSON value at byte {}",
            parser.pos
        ));
    }
    Ok(value)
}

struct JsonParser<'a> {
    text: &'a str,
    pos: usize,
}

impl JsonParser<'_> {
    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn expect(&mut self, lit: &str) -> Result<(), String> {
        if self.text[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(format!("expected {lit} at byte {}", self.pos))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 500 {
            return Err("JSON nested too deeply".into());
        }
        match self.peek() {
            None => Err("unexpected end of JSON input".into()),
            Some(b'n') => self.expect("null").map(|_| Value::Null),
            Some(b't') => self.expect("true").map(|_| Value::Bool(true)),
            Some(b'f') => self.expect("false").map(|_| Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Value::Tuple(items));
                }
                loop {
                    self.skip_ws();
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Tuple(items));
                        }
                        _ => return Err(format!("expected , or ] at byte {}", self.pos)),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut attrs = Map::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Value::Object(attrs));
                }
                loop {
                    self.skip_ws();
                    let key = self.string()?;
                    self.skip_ws();
                    self.expect(":")?;
                    self.skip_ws();
                    let v = self.value(depth + 1)?;
                    attrs.insert(key, v);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Object(attrs));
                        }
                        _ => return Err(format!("expected , or }} at byte {}", self.pos)),
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                let bytes = self.text.as_bytes();
                while self.pos < bytes.len()
                    && matches!(
                        bytes[self.pos],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.pos += 1;
                }
                let lit = &self.text[start..self.pos];
                Number::parse(lit)
                    .map(Value::Number)
                    .ok_or_else(|| format!("invalid number {lit:?}"))
            }
            Some(_) => Err(format!("invalid character at byte {}", self.pos)),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect("\"")?;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(c) = rest.chars().next() else {
                return Err("unterminated JSON string".into());
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.text[self.pos..]
                        .chars()
                        .next()
                        .ok_or("unterminated escape")?;
                    self.pos += 1;
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hex = self
                                .text
                                .get(self.pos..self.pos + 4)
                                .ok_or("short \\u escape")?;
                            let mut code =
                                u32::from_str_radix(hex, 16).map_err(|_| "bad \\u escape")?;
                            self.pos += 4;
                            if (0xD800..0xDC00).contains(&code)
                                && self.text[self.pos..].starts_with("\\u")
                            {
                                let low = self
                                    .text
                                    .get(self.pos + 2..self.pos + 6)
                                    .ok_or("short \\u escape")?;
                                let low =
                                    u32::from_str_radix(low, 16).map_err(|_| "bad \\u escape")?;
                                self.pos += 6;
                                code = 0x10000
                                    + ((code - 0xD800) << 10)
                                    + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        other => return Err(format!("invalid escape \\{other} in JSON string")),
                    }
                }
                c if (c as u32) < 0x20 => return Err("control character in JSON string".into()),
                c => out.push(c),
            }
        }
    }
}
