//! Regular expression functions (regex, regexall, regex_replace) with Go's RE2 dialect: ASCII
//! `\d \w \s \b`, `\Q...\E`, literal `[` inside classes, and Go's rules for empty matches.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{Map, Value};
use regex::{Captures, Regex, RegexBuilder};

pub(super) fn regex(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (re, shape) = pattern(args)?;
    let s = args.string(1)?;
    match re.captures(&s) {
        Some(caps) => Ok(result(&re, &shape, &caps)),
        None => Err(FunctionError::new(
            "pattern did not match any part of the given string",
        )),
    }
}

pub(super) fn regexall(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (re, shape) = pattern(args)?;
    let s = args.string(1)?;
    let mut out = Vec::new();
    let mut pos = 0;
    let mut prev_end: Option<usize> = None;
    while pos <= s.len() {
        let Some(caps) = re.captures_at(&s, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        let mut accept = true;
        if m.end() == pos {
            // An empty match: Go skips one right after a previous match, and moves on a character.
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos = next_boundary(&s, pos);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push(result(&re, &shape, &caps));
        }
    }
    Ok(Value::List(out))
}

pub(super) fn regex_replace(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let re = compile(&args.string(1)?)
        .map_err(|e| FunctionError::new(format!("error parsing regexp: {e}")))?;
    let replacement = args.string(2)?;
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    while search <= s.len() {
        let Some(caps) = re.captures_at(&s, search) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        out.push_str(&s[last_end..m.start()]);
        if m.end() > last_end || m.start() == 0 {
            caps.expand(&replacement, &mut out);
        }
        last_end = m.end();
        // Always advance at least one character, as Go's replaceAll does.
        let width = s
            .get(search..)
            .and_then(|r| r.chars().next())
            .map_or(0, char::len_utf8);
        if search + width > m.end() {
            search += width;
        } else if search + 1 > m.end() {
            search += 1;
        } else {
            search = m.end();
        }
    }
    out.push_str(s.get(last_end..).unwrap_or(""));
    Ok(Value::String(out))
}

/// The byte index after the character at `pos` (one past the end at the end).
fn next_boundary(s: &str, pos: usize) -> usize {
    match s.get(pos..).and_then(|rest| rest.chars().next()) {
        Some(c) => pos + c.len_utf8(),
        None => pos + 1,
    }
}

/// What `regex` returns for a pattern, decided by its capture groups.
enum Shape {
    /// No groups: the whole match.
    Whole,
    /// Unnamed groups: a tuple of them.
    Tuple,
    /// Named groups: an object of them.
    Object(Vec<String>),
}

fn pattern(args: &Args) -> Result<(Regex, Shape), FunctionError> {
    let re = compile(&args.string(0)?)
        .map_err(|e| args.err(0, format!("invalid regexp pattern: {e}")))?;
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let named: Vec<String> = names.iter().flatten().map(|n| n.to_string()).collect();
    let unnamed = names.iter().filter(|n| n.is_none()).count();
    let shape = match (unnamed, named.len()) {
        (0, 0) => Shape::Whole,
        (_, 0) => Shape::Tuple,
        (0, _) => Shape::Object(named),
        _ => {
            return Err(args.err(
                0,
                "invalid regexp pattern: cannot mix both named and unnamed capture groups",
            ));
        }
    };
    Ok((re, shape))
}

fn result(re: &Regex, shape: &Shape, caps: &Captures) -> Value {
    let group = |i: usize| {
        caps.get(i)
            .map_or(Value::Null, |m| Value::string(m.as_str()))
    };
    match shape {
        Shape::Whole => group(0),
        Shape::Tuple => Value::Tuple((1..re.captures_len()).map(group).collect()),
        Shape::Object(names) => {
            let attrs: Map = names
                .iter()
                .map(|name| {
                    (
                        name.clone(),
                        caps.name(name)
                            .map_or(Value::Null, |m| Value::string(m.as_str())),
                    )
                })
                .collect();
            Value::Object(attrs)
        }
    }
}

/// Compile a Go (RE2) pattern; the error is the parser's own last line.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&translate(pattern))
        .octal(true)
        .size_limit(16 << 20)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let last = text.lines().last().unwrap_or_default().trim();
            last.strip_prefix("error: ").unwrap_or(last).to_string()
        })
}

/// Rewrite Go's dialect into the regex crate's: Go's Perl classes and word boundaries are
/// ASCII-only, `\Q...\E` quotes, and `[`, `&`, `~` are literal inside a character class.
fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut class_start = false;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let first_in_class = class_start;
        class_start = false;
        match c {
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    out.push('\\');
                    break;
                };
                i += 2;
                let ascii = |negated: bool, set: &str| match (in_class, negated) {
                    (false, false) | (true, true) => {
                        format!("[{}{set}]", if negated { "^" } else { "" })
                    }
                    (true, false) => set.to_string(),
                    (false, true) => format!("[^{set}]"),
                };
                match e {
                    'd' => out.push_str(&ascii(false, "0-9")),
                    'D' => out.push_str(&ascii(true, "0-9")),
                    'w' => out.push_str(&ascii(false, "0-9A-Za-z_")),
                    'W' => out.push_str(&ascii(true, "0-9A-Za-z_")),
                    's' => out.push_str(&ascii(false, r"\t\n\f\r ")),
                    'S' => out.push_str(&ascii(true, r"\t\n\f\r ")),
                    'b' if !in_class => out.push_str(r"(?-u:\b)"),
                    'B' if !in_class => out.push_str(r"(?-u:\B)"),
                    'Q' => {
                        let mut literal = String::new();
                        while let Some(&q) = chars.get(i) {
                            if q == '\\' && chars.get(i + 1) == Some(&'E') {
                                i += 2;
                                break;
                            }
                            literal.push(q);
                            i += 1;
                        }
                        if in_class {
                            literal
                                .chars()
                                .for_each(|q| out.push_str(&regex::escape(&q.to_string())));
                        } else {
                            out.push_str(&regex::escape(&literal));
                        }
                    }
                    e => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '[' if chars.get(i + 1) == Some(&':') => {
                // A POSIX class such as [:alpha:] goes through whole.
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                match end {
                    Some(end) => {
                        out.extend(&chars[i..end + 2]);
                        i = end + 2;
                        continue;
                    }
                    None => out.push_str(r"\["),
                }
            }
            ']' if in_class && !first_in_class => {
                in_class = false;
                out.push(']');
            }
            '[' | '&' | '~' | '-' if in_class => {
                if c == '-' && out.ends_with('-') {
                    out.push_str(r"\-");
                } else if c == '-' {
                    out.push('-');
                } else {
                    out.push('\\');
                    out.push(c);
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_regex_replace() {
        assert_eq!(
            ok("regex_replace", vec![s("hello world"), s("o"), s("0")]),
            s("hell0 w0rld")
        );
        assert_eq!(
            ok("regex_replace", vec![s("abc123"), s("[0-9]+"), s("#")]),
            s("abc#")
        );
        assert_eq!(
            ok(
                "regex_replace",
                vec![s("john smith"), s(r"(\w+) (\w+)"), s("$2 $1")]
            ),
            s("smith john")
        );
        let m = fails("regex_replace", vec![s("abc"), s("("), s("x")]);
        assert!(m.starts_with("error parsing regexp"), "{m}");
    }

    #[test]
    fn go_empty_match_rules() {
        // Go: ReplaceAllString("baaa", "a*", "-") is "-b-"
        assert_eq!(
            ok("regex_replace", vec![s("baaa"), s("a*"), s("-")]),
            s("-b-")
        );
        assert_eq!(
            ok("regex_replace", vec![s("abc"), s(""), s("-")]),
            s("-a-b-c-")
        );
        assert_eq!(
            json(&ok("regexall", vec![s("a*"), s("baaa")])),
            r#"["","aaa"]"#
        );
        assert_eq!(
            ok("regex_replace", vec![s("a.b"), s(r"\Q.\E"), s("!")]),
            s("a!b")
        );
    }

    #[test]
    fn go_dialect_is_ascii() {
        assert_eq!(
            ok("regex_replace", vec![s("é1"), s(r"\w"), s("x")]),
            s("éx")
        );
        assert_eq!(
            ok("regex_replace", vec![s("a[b"), s("[[]"), s("x")]),
            s("axb")
        );
        assert_eq!(
            ok("regex_replace", vec![s("a&b"), s("[&]"), s("x")]),
            s("axb")
        );
        assert_eq!(
            ok("regex_replace", vec![s("a]b"), s("[]]"), s("x")]),
            s("axb")
        );
        assert_eq!(
            ok("regex_replace", vec![s("ab1"), s("[[:alpha:]]+"), s("x")]),
            s("x1")
        );
        assert_eq!(
            ok("regex_replace", vec![s("a b"), s(r"\bb"), s("x")]),
            s("a x")
        );
        assert_eq!(
            ok("regex_replace", vec![s("a1 b"), s(r"[\d\s]"), s("")]),
            s("ab")
        );
    }

    #[test]
    fn regex_shapes() {
        assert_eq!(ok("regex", vec![s("[a-z]+"), s("53abc12")]), s("abc"));
        assert_eq!(
            json(&ok(
                "regex",
                vec![s(r"(\d\d\d\d)-(\d\d)-(\d\d)"), s("2019-02-01")]
            )),
            r#"["2019","02","01"]"#
        );
        let v = ok(
            "regex",
            vec![
                s(r"^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?"),
                s("https://x.io/"),
            ],
        );
        assert_eq!(json(&v), r#"{"authority":"x.io","scheme":"https"}"#);
        assert_eq!(
            json(&ok("regex", vec![s("(a)|(b)"), s("b")])),
            r#"[null,"b"]"#
        );
        assert!(fails("regex", vec![s("x"), s("abc")]).contains("did not match"));
        assert!(fails("regex", vec![s("(?P<a>x)(y)"), s("xy")]).contains("cannot mix"));
        assert!(fails("regex", vec![s("("), s("x")]).contains("invalid regexp pattern"));
        assert_eq!(
            json(&ok("regexall", vec![s("[a-z]+"), s("1234abcd5678efgh9")])),
            r#"["abcd","efgh"]"#
        );
        assert_eq!(
            ok("regexall", vec![s("[a-z]+"), s("123")]),
            Value::List(vec![])
        );
    }
}
