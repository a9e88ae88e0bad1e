//! `yamlencode` as go-cty-yaml does it: libyaml's block style (double-quoted strings, literal
//! blocks for multi-line ones, `...` after a bare root scalar).

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::Value;

pub(super) fn yamlencode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
        open_ended: false,
        root: false,
        mapping: false,
        simple_key: false,
    };
    e.node(args.get(0), true, false);
    e.write_indent();
    if e.open_ended {
        e.indicator("...", true, false, false);
        e.write_indent();
    }
    Ok(Value::String(e.out))
}

/// The part of libyaml's emitter that go-cty-yaml's events exercise.
struct Emitter {
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    root: bool,
    mapping: bool,
    simple_key: bool,
}

const BEST_INDENT: i64 = 2;
const BEST_WIDTH: usize = 80;

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let u = u32::from(c);
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(
        &mut self,
        text: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        text.chars().for_each(|c| self.put(c));
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
        self.open_ended = false;
    }

    fn node(&mut self, v: &Value, root: bool, mapping: bool) {
        self.root = root;
        self.mapping = mapping;
        self.simple_key = false;
        match v {
            Value::Null | Value::Unknown(_) => self.plain("null"),
            Value::Bool(b) => self.plain(if *b { "true" } else { "false" }),
            Value::Number(n) if n.is_infinite() => {
                self.plain(if n.signum() < 0 { "-.Inf" } else { "+.Inf" })
            }
            Value::Number(n) => self.plain(&n.to_string()),
            Value::String(s) => self.string(s),
            Value::Sensitive(inner) => self.node(inner, root, mapping),
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
                if xs.is_empty() {
                    return self.empty_flow("[", "]");
                }
                self.increase_indent(false, self.mapping && !self.indention);
                for x in xs {
                    self.write_indent();
                    self.indicator("-", true, false, true);
                    self.node(x, false, false);
                }
                self.pop_indent();
            }
            Value::Map(m) | Value::Object(m) => {
                if m.is_empty() {
                    return self.empty_flow("{", "}");
                }
                self.increase_indent(false, false);
                for (k, x) in m {
                    self.write_indent();
                    if k.chars().any(is_break) || k.len() > 128 {
                        self.indicator("?", true, false, true);
                        self.node(&Value::String(k.clone()), false, true);
                        self.write_indent();
                        self.indicator(":", true, false, true);
                    } else {
                        self.root = false;
                        self.mapping = true;
                        self.simple_key = true;
                        self.string(k);
                        self.indicator(":", false, false, false);
                    }
                    self.node(x, false, true);
                }
                self.pop_indent();
            }
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.indicator(close, false, false, false);
    }

    fn plain(&mut self, text: &str) {
        self.increase_indent(true, false);
        if !self.whitespace {
            self.put(' ');
        }
        text.chars().for_each(|c| self.put(c));
        self.whitespace = false;
        self.indention = false;
        if self.root {
            self.open_ended = true;
        }
        self.pop_indent();
    }

    fn string(&mut self, s: &str) {
        self.increase_indent(true, false);
        let chars: Vec<char> = s.chars().collect();
        let block_allowed = {
            let trailing_space = chars.last() == Some(&' ');
            let space_break = chars.windows(2).any(|w| w[0] == ' ' && is_break(w[1]));
            let special = chars.iter().any(|&c| !is_printable(c) || c == '\u{FEFF}');
            !(trailing_space || space_break || special)
        };
        if s.contains('\n') && block_allowed && !self.simple_key {
            self.literal(&chars);
        } else {
            self.double_quoted(&chars, !self.simple_key);
        }
        self.pop_indent();
    }

    fn double_quoted(&mut self, chars: &[char], allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        let mut spaces = false;
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let escaped = match c {
                    '\0' => "0".to_string(),
                    '\u{7}' => "a".into(),
                    '\u{8}' => "b".into(),
                    '\t' => "t".into(),
                    '\n' => "n".into(),
                    '\u{b}' => "v".into(),
                    '\u{c}' => "f".into(),
                    '\r' => "r".into(),
                    '\u{1b}' => "e".into(),
                    '"' => "\"".into(),
                    '\\' => "\\".into(),
                    '\u{85}' => "N".into(),
                    '\u{a0}' => "_".into(),
                    '\u{2028}' => "L".into(),
                    '\u{2029}' => "P".into(),
                    c if u32::from(c) <= 0xFF => format!("x{:02X}", u32::from(c)),
                    c if u32::from(c) <= 0xFFFF => format!("u{:04X}", u32::from(c)),
                    c => format!("U{:08X}", u32::from(c)),
                };
                escaped.chars().for_each(|e| self.put(e));
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != chars.len() - 1
                {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
            i += 1;
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, chars: &[char]) {
        self.indicator("|", true, false, false);
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.put(char::from(b'0' + BEST_INDENT as u8));
        }
        let trailing_breaks = chars.iter().rev().take_while(|&&c| is_break(c)).count();
        match trailing_breaks {
            0 => self.put('-'),
            1 if chars.len() > 1 => {}
            // libyaml flags '+' as open-ended, but writing the indicator clears it again.
            _ => self.put('+'),
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in chars {
            if is_break(c) {
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_yamlencode() {
        let v = obj(&[("a", i(1)), ("b", strs(&["x", "y"]))]);
        assert_eq!(
            ok("yamlencode", vec![v]),
            s("\"a\": 1\n\"b\":\n- \"x\"\n- \"y\"\n")
        );
        assert_eq!(
            ok("yamlencode", vec![s("multi\nline")]),
            s("|-\n  multi\n  line\n")
        );
        assert_eq!(ok("yamlencode", vec![tuple(vec![])]), s("[]\n"));
        assert_eq!(ok("yamlencode", vec![Value::Null]), s("null\n...\n"));
        assert_eq!(ok("yamlencode", vec![s("true")]), s("\"true\"\n"));
    }

    #[test]
    fn yamlencode_layout() {
        let nested = obj(&[
            ("a", obj(&[("b", i(1)), ("c", tuple(vec![]))])),
            (
                "l",
                tuple(vec![
                    obj(&[("x", i(1)), ("y", i(2))]),
                    tuple(vec![i(1), i(2)]),
                    obj(&[]),
                ]),
            ),
            ("t", s("a\tb\"c\\é\u{1F600}")),
            ("m", s("x\n")),
        ]);
        let expected = "\"a\":\n  \"b\": 1\n  \"c\": []\n\"l\":\n- \"x\": 1\n  \"y\": 2\n- - 1\n  - 2\n- {}\n\"m\": |\n  x\n\"t\": \"a\\tb\\\"c\\\\é\\U0001F600\"\n";
        assert_eq!(ok("yamlencode", vec![nested]), s(expected));
        assert_eq!(ok("yamlencode", vec![i(1)]), s("1\n...\n"));
        assert_eq!(
            ok("yamlencode", vec![s(" lead\nx")]),
            s("|2-\n   lead\n  x\n")
        );
        assert_eq!(ok("yamlencode", vec![s("x\n\n")]), s("|+\n  x\n\n"));
        assert_eq!(
            ok("yamlencode", vec![s("trail \nx")]),
            s("\"trail \\nx\"\n")
        );
        let long = vec!["word"; 30].join(" ");
        let folded = ok("yamlencode", vec![s(&long)]);
        assert!(
            folded.as_str().is_some_and(|t| t.contains("\n  word")),
            "{folded:?}"
        );
    }
}
