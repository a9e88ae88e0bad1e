//! String functions: chomp, endswith, indent, join, lower, replace, split, startswith,
//! strcontains, strrev, substr, title, trim, trimprefix, trimspace, trimsuffix, upper.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{Type, Value};
use unicode_segmentation::UnicodeSegmentation;

/// The largest string `indent` builds, so a huge count errors instead of exhausting memory.
const MAX_RESULT_BYTES: usize = 64 << 20;

pub(super) fn upper(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(
        args.string(0)?.chars().map(upper_char).collect(),
    ))
}

pub(super) fn lower(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(
        args.string(0)?.chars().map(lower_char).collect(),
    ))
}

/// Go's `unicode.ToUpper`: the simple one-to-one mapping, so `ß` stays `ß`.
fn upper_char(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower` (simple mapping; `İ` becomes `i`).
fn lower_char(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`, which differs from upper case only for the Latin digraphs.
fn title_char(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        c => upper_char(c),
    }
}

/// Go's `strings.Title` word separator rule.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

pub(super) fn title(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut prev = ' ';
    let out = args
        .string(0)?
        .chars()
        .map(|c| {
            let after_separator = is_separator(prev);
            prev = c;
            if after_separator {
                title_char(c)
            } else {
                c
            }
        })
        .collect();
    Ok(Value::String(out))
}

pub(super) fn strrev(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    Ok(Value::String(s.graphemes(true).rev().collect()))
}

/// cty's `substr`, grapheme by grapheme, including its quirks (a zero length with a negative
/// offset means "to the end").
pub(super) fn substr(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let mut offset = args.int(1)?;
    let length = args.int(2)?;
    if offset < 0 {
        offset = offset.saturating_add(s.graphemes(true).count() as i64);
    } else if length == 0 {
        return Ok(Value::string(""));
    }
    let mut sub = s.as_str();
    if offset > 0 {
        let mut i = 0;
        let mut pos = 0;
        for g in sub.graphemes(true) {
            i += g.len();
            pos += 1;
            if pos == offset {
                break;
            }
            if i >= s.len() {
                return Ok(Value::string(""));
            }
        }
        sub = &sub[i..];
    }
    if length < 0 {
        return Ok(Value::string(sub));
    }
    let mut i = 0;
    let mut pos = 0;
    for g in sub.graphemes(true) {
        i += g.len();
        pos += 1;
        if pos == length {
            break;
        }
    }
    Ok(Value::string(&sub[..i]))
}

pub(super) fn chomp(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    Ok(Value::string(s.trim_end_matches(['\r', '\n'])))
}

pub(super) fn indent(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let spaces = args.int(0)?;
    let s = args.string(1)?;
    let spaces = usize::try_from(spaces)
        .map_err(|_| args.err(0, "the number of spaces must not be negative"))?;
    let lines = s.matches('\n').count();
    if lines == 0 {
        return Ok(Value::String(s));
    }
    if spaces.saturating_mul(lines).saturating_add(s.len()) > MAX_RESULT_BYTES {
        return Err(args.err(0, "the indented string would be too large"));
    }
    let pad = format!("\n{}", " ".repeat(spaces));
    Ok(Value::String(s.replace('\n', &pad)))
}

pub(super) fn join(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let sep = args.string(0)?;
    let lists = args.len() - 1;
    if lists < 1 {
        return Err(FunctionError::new("at least one list is required"));
    }
    let mut items = Vec::new();
    for li in 1..args.len() {
        for (ei, item) in args.list(li, Type::String)?.into_iter().enumerate() {
            match item {
                Value::String(s) => items.push(s),
                _ if lists > 1 => {
                    return Err(args.err(
                        li,
                        format!(
                            "element {ei} of list {li} is null; cannot concatenate null values"
                        ),
                    ))
                }
                _ => {
                    return Err(args.err(
                        li,
                        format!("element {ei} is null; cannot concatenate null values"),
                    ))
                }
            }
        }
    }
    Ok(Value::String(items.join(&sep)))
}

pub(super) fn split(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let sep = args.string(0)?;
    let s = args.string(1)?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str()).map(Value::string).collect()
    };
    Ok(Value::List(parts))
}

pub(super) fn replace(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let substr = args.string(1)?;
    let with = args.string(2)?;
    if substr.is_empty() {
        // Go inserts the replacement before every character and at the end.
        let mut out = with.clone();
        for c in s.chars() {
            out.push(c);
            out.push_str(&with);
        }
        return Ok(Value::String(out));
    }
    Ok(Value::String(s.replace(substr.as_str(), &with)))
}

pub(super) fn trim(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let cutset = args.string(1)?;
    Ok(Value::string(s.trim_matches(|c| cutset.contains(c))))
}

pub(super) fn trimprefix(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let prefix = args.string(1)?;
    Ok(Value::string(s.strip_prefix(prefix.as_str()).unwrap_or(&s)))
}

pub(super) fn trimsuffix(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let suffix = args.string(1)?;
    Ok(Value::string(s.strip_suffix(suffix.as_str()).unwrap_or(&s)))
}

pub(super) fn trimspace(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::string(args.string(0)?.trim()))
}

pub(super) fn startswith(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Bool(
        args.string(0)?.starts_with(args.string(1)?.as_str()),
    ))
}

pub(super) fn endswith(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Bool(
        args.string(0)?.ends_with(args.string(1)?.as_str()),
    ))
}

pub(super) fn strcontains(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Bool(
        args.string(0)?.contains(args.string(1)?.as_str()),
    ))
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_case_functions() {
        assert_eq!(ok("lower", vec![s("HeLLo")]), s("hello"));
        assert_eq!(ok("lower", vec![s("ÉCOLE")]), s("école"));
        assert_eq!(ok("upper", vec![s("hello")]), s("HELLO"));
        assert_eq!(ok("upper", vec![s("straße")]), s("STRAßE"));
        assert_eq!(ok("upper", vec![i(1)]), s("1"));
        assert!(fails("lower", vec![strs(&["a"])]).contains("\"str\""));
        assert_eq!(ok("title", vec![s("hello world")]), s("Hello World"));
        assert_eq!(ok("title", vec![s("HELLO wORLD")]), s("HELLO WORLD"));
        assert_eq!(ok("title", vec![s("")]), s(""));
        assert_eq!(ok("title", vec![s("a-b c_d é")]), s("A-B C_d É"));
    }

    #[test]
    fn fixture_chomp_indent_trim() {
        assert_eq!(ok("chomp", vec![s("hello\n")]), s("hello"));
        assert_eq!(ok("chomp", vec![s("hello\r\n\n")]), s("hello"));
        assert_eq!(ok("chomp", vec![s("hello")]), s("hello"));
        assert_eq!(ok("indent", vec![i(2), s("a\nb\nc")]), s("a\n  b\n  c"));
        assert_eq!(ok("indent", vec![i(4), s("single")]), s("single"));
        assert_eq!(ok("indent", vec![i(2), s("a\n\nb\n")]), s("a\n  \n  b\n  "));
        fails("indent", vec![i(-1), s("a\nb")]);
        fails("indent", vec![i(1_000_000_000), s("a\nb")]);
        assert_eq!(ok("trim", vec![s("?!hello?!"), s("!?")]), s("hello"));
        assert_eq!(ok("trim", vec![s("  x  "), s(" ")]), s("x"));
        assert_eq!(ok("trim", vec![s("abc"), s("")]), s("abc"));
        assert_eq!(
            ok("trimprefix", vec![s("helloworld"), s("hello")]),
            s("world")
        );
        assert_eq!(
            ok("trimprefix", vec![s("helloworld"), s("world")]),
            s("helloworld")
        );
        assert_eq!(ok("trimprefix", vec![s("aaa"), s("a")]), s("aa"));
        assert_eq!(
            ok("trimsuffix", vec![s("helloworld"), s("world")]),
            s("hello")
        );
        assert_eq!(
            ok("trimsuffix", vec![s("helloworld"), s("hello")]),
            s("helloworld")
        );
        assert_eq!(ok("trimspace", vec![s("  hello\n\t ")]), s("hello"));
        assert_eq!(ok("trimspace", vec![s("")]), s(""));
        assert_eq!(ok("trimspace", vec![s(" a b ")]), s("a b"));
    }

    #[test]
    fn fixture_join_split_replace() {
        assert_eq!(
            ok("join", vec![s(", "), strs(&["a", "b", "c"])]),
            s("a, b, c")
        );
        assert_eq!(ok("join", vec![s("-"), tuple(vec![])]), s(""));
        assert_eq!(
            ok("join", vec![s(","), strs(&["a"]), strs(&["b", "c"])]),
            s("a,b,c")
        );
        assert_eq!(
            ok("join", vec![s(","), tuple(vec![i(1), Value::Bool(true)])]),
            s("1,true")
        );
        let m = fails("join", vec![s(","), tuple(vec![Value::Null])]);
        assert!(m.contains("element 0 is null"), "{m}");
        fails("join", vec![s(","), s("a")]);
        assert_eq!(
            json(&ok("split", vec![s(","), s("a,b,c")])),
            r#"["a","b","c"]"#
        );
        assert_eq!(json(&ok("split", vec![s(","), s("")])), r#"[""]"#);
        assert_eq!(
            json(&ok("split", vec![s(""), s("abc")])),
            r#"["a","b","c"]"#
        );
        assert_eq!(
            json(&ok("split", vec![s(","), s("a,,b,")])),
            r#"["a","","b",""]"#
        );
        assert_eq!(
            ok("replace", vec![s("1 + 2 + 3"), s("+"), s("-")]),
            s("1 - 2 - 3")
        );
        assert_eq!(
            ok(
                "replace",
                vec![s("hello world"), s("/w.*d/"), s("everybody")]
            ),
            s("hello world")
        );
        assert_eq!(ok("replace", vec![s("aaa"), s("a"), s("b")]), s("bbb"));
        assert_eq!(ok("replace", vec![s("abc"), s(""), s("-")]), s("-a-b-c-"));
        assert_eq!(
            ok("replace", vec![s("hello"), s("/l+/"), s("L")]),
            s("hello")
        );
    }

    #[test]
    fn fixture_strrev_substr() {
        assert_eq!(ok("strrev", vec![s("hello")]), s("olleh"));
        assert_eq!(ok("strrev", vec![s("añb")]), s("bña"));
        assert_eq!(ok("strrev", vec![s("")]), s(""));
        assert_eq!(ok("strrev", vec![s("e\u{301}x")]), s("xe\u{301}"));
        assert_eq!(ok("substr", vec![s("hello world"), i(1), i(4)]), s("ello"));
        assert_eq!(ok("substr", vec![s("hello"), i(-3), i(-1)]), s("llo"));
        assert_eq!(ok("substr", vec![s("hello"), i(0), i(100)]), s("hello"));
        assert_eq!(ok("substr", vec![s("hello"), i(10), i(1)]), s(""));
        assert_eq!(ok("substr", vec![s("héllo"), i(1), i(2)]), s("él"));
        assert_eq!(ok("substr", vec![s("hello"), i(5), i(1)]), s(""));
        assert_eq!(ok("substr", vec![s(""), i(3), i(1)]), s(""));
        assert_eq!(ok("substr", vec![s("hello"), i(-10), i(2)]), s("he"));
    }

    #[test]
    fn prefix_suffix_contains() {
        assert_eq!(
            ok("startswith", vec![s("hello"), s("he")]),
            Value::Bool(true)
        );
        assert_eq!(ok("startswith", vec![s("hello"), s("")]), Value::Bool(true));
        assert_eq!(ok("endswith", vec![s("hello"), s("lo")]), Value::Bool(true));
        assert_eq!(
            ok("endswith", vec![s("hello"), s("he")]),
            Value::Bool(false)
        );
        assert_eq!(
            ok("strcontains", vec![s("hello"), s("ell")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("strcontains", vec![s("hello"), s("x")]),
            Value::Bool(false)
        );
    }
}
