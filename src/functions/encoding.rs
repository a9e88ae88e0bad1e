//! Encoding functions: base64decode, base64encode, csvdecode, jsondecode, jsonencode,
//! textdecodebase64, textencodebase64, urldecode, urlencode.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{from_json, to_json, Map, Value};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Go's `base64.StdEncoding`: padding required, stray trailing bits tolerated.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Decode standard base64 as Go does (it skips line breaks).
pub(crate) fn decode_base64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let cleaned: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    GO_STD.decode(cleaned)
}

/// Standard padded base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    GO_STD.encode(bytes)
}

pub(super) fn base64encode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(encode_base64(args.string(0)?.as_bytes())))
}

pub(super) fn base64decode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let bytes = decode_base64(&s)
        .map_err(|_| FunctionError::new(format!("failed to decode base64 data '{s}'")))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FunctionError::new("the result of decoding the the provided string is not valid UTF-8")
    })
}

pub(super) fn jsonencode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    to_json(args.get(0))
        .map(Value::String)
        .map_err(|e| args.err(0, e))
}

pub(super) fn jsondecode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    from_json(&args.string(0)?).map_err(FunctionError::new)
}

pub(super) fn urlencode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut out = String::new();
    for b in args.string(0)?.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

pub(super) fn urldecode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => match bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            {
                Some(h) => {
                    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    out.push(digit(h[0]) * 16 + digit(h[1]));
                    i += 2;
                }
                None => {
                    let bad =
                        String::from_utf8_lossy(&bytes[i..(i + 3).min(bytes.len())]).into_owned();
                    return Err(FunctionError::new(format!("invalid URL escape {bad:?}")));
                }
            },
            b => out.push(b),
        }
        i += 1;
    }
    Ok(Value::String(String::from_utf8_lossy(&out).into_owned()))
}

/// A text encoding `textencodebase64` and `textdecodebase64` know, by IANA name or alias.
enum TextEncoding {
    Utf8,
    Utf16 { little: bool, bom: bool },
    Ascii,
    Latin1,
    Other(&'static encoding_rs::Encoding),
}

impl TextEncoding {
    fn lookup(name: &str) -> Option<(TextEncoding, String)> {
        let lower = name.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "utf-8" | "utf8" | "csutf8" => (TextEncoding::Utf8, "UTF-8"),
            "utf-16le" | "csutf16le" => (
                TextEncoding::Utf16 {
                    little: true,
                    bom: false,
                },
                "UTF-16LE",
            ),
            "utf-16be" | "csutf16be" => (
                TextEncoding::Utf16 {
                    little: false,
                    bom: false,
                },
                "UTF-16BE",
            ),
            "utf-16" | "csutf16" => (
                TextEncoding::Utf16 {
                    little: false,
                    bom: true,
                },
                "UTF-16",
            ),
            "us-ascii" | "ascii" | "iso646-us" | "us" | "csascii" | "ansi_x3.4-1968"
            | "iso-ir-6" | "cp367" | "ibm367" => (TextEncoding::Ascii, "US-ASCII"),
            "iso-8859-1" | "iso_8859-1" | "iso_8859-1:1987" | "latin1" | "l1" | "ibm819"
            | "cp819" | "csisolatin1" | "iso-ir-100" => (TextEncoding::Latin1, "ISO-8859-1"),
            _ => {
                let enc = encoding_rs::Encoding::for_label(lower.as_bytes())?;
                if enc == encoding_rs::REPLACEMENT
                    || enc == encoding_rs::UTF_16LE
                    || enc == encoding_rs::UTF_16BE
                {
                    return None;
                }
                return Some((TextEncoding::Other(enc), enc.name().to_string()));
            }
        };
        Some((found.0, found.1.to_string()))
    }

    fn encode(&self, s: &str) -> Option<Vec<u8>> {
        match self {
            TextEncoding::Utf8 => Some(s.as_bytes().to_vec()),
            TextEncoding::Utf16 { little, bom } => {
                let mut out = Vec::new();
                let units = bom.then_some(0xFEFF).into_iter().chain(s.encode_utf16());
                for u in units {
                    out.extend(if *little {
                        u.to_le_bytes()
                    } else {
                        u.to_be_bytes()
                    });
                }
                Some(out)
            }
            TextEncoding::Ascii => s.is_ascii().then(|| s.as_bytes().to_vec()),
            TextEncoding::Latin1 => s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect(),
            TextEncoding::Other(enc) => {
                let (bytes, _, had_errors) = enc.encode(s);
                (!had_errors).then(|| bytes.into_owned())
            }
        }
    }

    fn decode(&self, bytes: &[u8]) -> Option<String> {
        let text = match self {
            TextEncoding::Utf8 => String::from_utf8(bytes.to_vec()).ok()?,
            TextEncoding::Utf16 { little, bom } => {
                let mut little = *little;
                let mut body = bytes;
                if *bom {
                    match bytes {
                        [0xFF, 0xFE, rest @ ..] => (little, body) = (true, rest),
                        [0xFE, 0xFF, rest @ ..] => (little, body) = (false, rest),
                        _ => {}
                    }
                }
                if !body.len().is_multiple_of(2) {
                    return None;
                }
                let units: Vec<u16> = body
                    .chunks(2)
                    .map(|p| {
                        if little {
                            u16::from_le_bytes([p[0], p[1]])
                        } else {
                            u16::from_be_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                String::from_utf16(&units).ok()?
            }
            TextEncoding::Ascii => bytes
                .is_ascii()
                .then(|| String::from_utf8_lossy(bytes).into_owned())?,
            TextEncoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            TextEncoding::Other(enc) => {
                let (text, had_errors) = enc.decode_without_bom_handling(bytes);
                if had_errors {
                    return None;
                }
                text.into_owned()
            }
        };
        (!text.contains('\u{FFFD}')).then_some(text)
    }
}

fn text_encoding(args: &Args) -> Result<(TextEncoding, String), FunctionError> {
    let name = args.string(1)?;
    TextEncoding::lookup(&name).ok_or_else(|| {
        args.err(
            1,
            format!("{name:?} is not a supported IANA encoding name or alias"),
        )
    })
}

pub(super) fn textencodebase64(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let (enc, name) = text_encoding(args)?;
    let bytes = enc.encode(&s).ok_or_else(|| {
        args.err(
            0,
            format!("the given string contains characters that cannot be represented in {name}"),
        )
    })?;
    Ok(Value::String(encode_base64(&bytes)))
}

pub(super) fn textdecodebase64(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let (enc, name) = text_encoding(args)?;
    let bytes = decode_base64(&s).map_err(|e| match e {
        base64::DecodeError::InvalidByte(offset, _) => args.err(
            0,
            format!("the given value is has an invalid base64 symbol at offset {offset}"),
        ),
        e => args.err(0, format!("invalid source string: {e}")),
    })?;
    enc.decode(&bytes).map(Value::String).ok_or_else(|| {
        args.err(
            0,
            format!("the given string contains symbols that are not defined for {name}"),
        )
    })
}

pub(super) fn csvdecode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let mut reader = CsvReader {
        rest: &text,
        line: 0,
    };
    let headers = match reader.record(None) {
        Ok(Some(h)) => h,
        Ok(None) => return Err(FunctionError::new("missing header line")),
        Err(e) => return Err(FunctionError::new(e)),
    };
    let mut seen = std::collections::BTreeSet::new();
    for name in &headers {
        if !seen.insert(name.as_str()) {
            return Err(FunctionError::new(format!(
                "duplicate column name {name:?}"
            )));
        }
    }
    let mut rows = Vec::new();
    while let Some(cols) = reader
        .record(Some(headers.len()))
        .map_err(FunctionError::new)?
    {
        let row: Map = headers
            .iter()
            .cloned()
            .zip(cols.into_iter().map(Value::String))
            .collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::List(rows))
}

/// Go's `encoding/csv` reader with its defaults (comma separated, strict quotes).
struct CsvReader<'a> {
    rest: &'a str,
    line: usize,
}

impl CsvReader<'_> {
    /// The next line with its `\r\n` normalised to `\n`; `None` at the end.
    fn read_line(&mut self) -> Option<String> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        let mut line = self.rest[..end].to_string();
        self.rest = &self.rest[end..];
        self.line += 1;
        if line.ends_with("\r\n") {
            line.truncate(line.len() - 2);
            line.push('\n');
        } else if !line.ends_with('\n') && line.ends_with('\r') {
            line.pop();
        }
        Some(line)
    }

    /// The next record, checking its field count when `fields` is given.
    fn record(&mut self, fields: Option<usize>) -> Result<Option<Vec<String>>, String> {
        let mut line = loop {
            match self.read_line() {
                None => return Ok(None),
                Some(l) if l == "\n" => continue,
                Some(l) => break l,
            }
        };
        let start_line = self.line;
        let error = |line: usize, col: usize, what: &str| {
            if line == start_line {
                format!("parse error on line {line}, column {col}: {what}")
            } else {
                format!(
                    "record on line {start_line}; parse error on line {line}, column {col}: {what}"
                )
            }
        };
        const BARE: &str = "bare \" in non-quoted-field";
        const QUOTE: &str = "extraneous or missing \" in quoted-field";
        let mut out = Vec::new();
        let mut col = 1;
        'fields: loop {
            if !line.starts_with('"') {
                let (field, more) = match line.find(',') {
                    Some(i) => (line[..i].to_string(), true),
                    None => (line.trim_end_matches('\n').to_string(), false),
                };
                if let Some(j) = field.find('"') {
                    return Err(error(self.line, col + j, BARE));
                }
                col += field.len() + 1;
                line = if more {
                    line[field.len() + 1..].to_string()
                } else {
                    String::new()
                };
                out.push(field);
                if more {
                    continue;
                }
                break;
            }
            line.remove(0);
            col += 1;
            let mut field = String::new();
            loop {
                if let Some(i) = line.find('"') {
                    field.push_str(&line[..i]);
                    line = line[i + 1..].to_string();
                    col += i + 1;
                    if line.starts_with('"') {
                        field.push('"');
                        line.remove(0);
                        col += 1;
                    } else if line.starts_with(',') {
                        line.remove(0);
                        col += 1;
                        out.push(field);
                        continue 'fields;
                    } else if line.is_empty() || line == "\n" {
                        out.push(field);
                        break 'fields;
                    } else {
                        return Err(error(self.line, col - 1, QUOTE));
                    }
                } else if !line.is_empty() {
                    field.push_str(&line);
                    match self.read_line() {
                        Some(next) => {
                            line = next;
                            col = 1;
                        }
                        None => return Err(error(self.line, col + line.len(), QUOTE)),
                    }
                } else {
                    return Err(error(self.line, col, QUOTE));
                }
            }
        }
        if fields.is_some_and(|n| n != out.len()) {
            return Err(format!(
                "record on line {start_line}: wrong number of fields"
            ));
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_base64() {
        assert_eq!(
            ok("base64encode", vec![s("Hello World")]),
            s("SGVsbG8gV29ybGQ=")
        );
        assert_eq!(ok("base64encode", vec![s("")]), s(""));
        assert_eq!(ok("base64encode", vec![s("é")]), s("w6k="));
        assert_eq!(
            ok("base64decode", vec![s("SGVsbG8gV29ybGQ=")]),
            s("Hello World")
        );
        assert_eq!(ok("base64decode", vec![s("")]), s(""));
        assert_eq!(
            fails("base64decode", vec![s("not base64!")]),
            "failed to decode base64 data 'not base64!'"
        );
        assert_eq!(
            fails("base64decode", vec![s("/w==")]),
            "the result of decoding the the provided string is not valid UTF-8"
        );
        assert_eq!(ok("base64decode", vec![s("SGVs\nbG8=")]), s("Hello"));
        fails("base64decode", vec![s("SGVsbG8")]);
    }

    #[test]
    fn fixture_csvdecode() {
        let v = ok("csvdecode", vec![s("a,b\n1,2\n3,4")]);
        assert_eq!(json(&v), r#"[{"a":"1","b":"2"},{"a":"3","b":"4"}]"#);
        assert_eq!(json(&ok("csvdecode", vec![s("a,b\n")])), "[]");
        assert_eq!(
            fails("csvdecode", vec![s("a,b\n1")]),
            "record on line 2: wrong number of fields"
        );
        let v = ok("csvdecode", vec![s("a,b\n\"x,y\",2")]);
        assert_eq!(json(&v), r#"[{"a":"x,y","b":"2"}]"#);
        let v = ok(
            "csvdecode",
            vec![s("a,b\r\n\n\"multi\nline\",\"q\"\"\"\r\n")],
        );
        assert_eq!(json(&v), r#"[{"a":"multi\nline","b":"q\""}]"#);
        assert_eq!(fails("csvdecode", vec![s("")]), "missing header line");
        assert!(fails("csvdecode", vec![s("a,a\n")]).contains("duplicate column name"));
        assert!(fails("csvdecode", vec![s("a,b\nx\"y,2")]).contains("bare \""));
        assert!(fails("csvdecode", vec![s("a,b\n\"x\"y,2")]).contains("extraneous"));
        assert!(fails("csvdecode", vec![s("a,b\n\"x,2")]).contains("extraneous"));
    }

    #[test]
    fn fixture_json() {
        let v = ok("jsondecode", vec![s("{\"a\": [1, true, null]}")]);
        assert_eq!(json(&v), r#"{"a":[1,true,null]}"#);
        assert_eq!(ok("jsondecode", vec![s("\"str\"")]), s("str"));
        assert_eq!(json(&ok("jsondecode", vec![s("[]")])), "[]");
        fails("jsondecode", vec![s("{")]);
        assert_eq!(ok("jsondecode", vec![s("null")]), Value::Null);
        let v = obj(&[("b", tuple(vec![i(1), s("x")])), ("a", Value::Null)]);
        assert_eq!(ok("jsonencode", vec![v]), s(r#"{"a":null,"b":[1,"x"]}"#));
        assert_eq!(
            ok("jsonencode", vec![s("é<>&")]),
            s(r#""é\u003c\u003e\u0026""#)
        );
        assert_eq!(ok("jsonencode", vec![n("1.5")]), s("1.5"));
        assert_eq!(
            ok("jsonencode", vec![Value::Set(vec![s("a"), s("b")])]),
            s(r#"["a","b"]"#)
        );
        assert!(fails("jsonencode", vec![Value::Null]).contains("must not be null"));
        assert_eq!(
            ok("jsonencode", vec![tuple(vec![Value::Null])]),
            s("[null]")
        );
    }

    #[test]
    fn fixture_url() {
        assert_eq!(
            ok("urlencode", vec![s("Hello World!")]),
            s("Hello+World%21")
        );
        assert_eq!(
            ok("urlencode", vec![s("a/b?c=d&e=é")]),
            s("a%2Fb%3Fc%3Dd%26e%3D%C3%A9")
        );
        assert_eq!(ok("urlencode", vec![s("-_.~")]), s("-_.~"));
        assert_eq!(ok("urldecode", vec![s("a%2Fb+c%C3%A9")]), s("a/b cé"));
        assert_eq!(
            fails("urldecode", vec![s("100%zz")]),
            "invalid URL escape \"%zz\""
        );
        assert_eq!(
            fails("urldecode", vec![s("%4")]),
            "invalid URL escape \"%4\""
        );
    }

    #[test]
    fn text_encodings() {
        assert_eq!(
            ok("textencodebase64", vec![s("Hi"), s("UTF-16LE")]),
            s("SABpAA==")
        );
        assert_eq!(
            ok("textdecodebase64", vec![s("SABpAA=="), s("utf-16le")]),
            s("Hi")
        );
        assert_eq!(
            ok("textencodebase64", vec![s("é"), s("ISO-8859-1")]),
            s("6Q==")
        );
        assert_eq!(ok("textdecodebase64", vec![s("6Q=="), s("latin1")]), s("é"));
        assert_eq!(
            ok("textencodebase64", vec![s("€"), s("windows-1252")]),
            s("gA==")
        );
        assert!(fails("textencodebase64", vec![s("é"), s("US-ASCII")])
            .contains("cannot be represented in US-ASCII"));
        assert!(fails("textencodebase64", vec![s("x"), s("nope")])
            .contains("not a supported IANA encoding"));
        assert!(fails("textdecodebase64", vec![s("!!"), s("UTF-8")])
            .contains("invalid base64 symbol at offset 0"));
        assert!(fails("textdecodebase64", vec![s("/w=="), s("UTF-8")])
            .contains("not defined for UTF-8"));
    }
}
