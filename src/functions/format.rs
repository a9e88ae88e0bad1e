//! `format` and `formatlist`: cty's printf dialect, with Go's `fmt` number formatting
//! (`big.Float` for `%e %f %g`, `big.Int` for `%b %d %o %x %X`).

use super::args::Args;
use super::numeric::BigUint;
use super::{FunctionContext, FunctionError};
use crate::value::{convert, to_json, Number, Type, Value};
use unicode_segmentation::UnicodeSegmentation;

pub(super) fn format(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let fmt = args.string(0)?;
    format_values(&fmt, args.rest(1))
        .map(Value::String)
        .map_err(FunctionError::new)
}

pub(super) fn formatlist(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let fmt = args.string(0)?;
    let rest = args.rest(1);
    if rest.is_empty() {
        return format_values(&fmt, &[])
            .map(|s| Value::List(vec![Value::String(s)]))
            .map_err(FunctionError::new);
    }
    // Sequences are iterated in step; everything else repeats.
    let mut len: Option<(usize, usize)> = None;
    for (i, arg) in rest.iter().enumerate() {
        if let Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) = arg {
            match len {
                None => len = Some((xs.len(), i)),
                Some((n, first)) if n != xs.len() => {
                    return Err(args.err(
                        i + 1,
                        format!(
                            "argument {} has length {}, which is inconsistent with argument {} of length {n}",
                            i + 1,
                            xs.len(),
                            first + 1
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let count = len.map_or(1, |(n, _)| n);
    let mut out = Vec::with_capacity(count);
    for iteration in 0..count {
        let values: Vec<Value> = rest
            .iter()
            .map(|arg| match arg {
                Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
                    xs.get(iteration).cloned().unwrap_or(Value::Null)
                }
                other => other.clone(),
            })
            .collect();
        let s = format_values(&fmt, &values).map_err(|e| {
            FunctionError::new(format!("error on format iteration {iteration}: {e}"))
        })?;
        out.push(Value::String(s));
    }
    Ok(Value::List(out))
}

/// One `%` sequence.
#[derive(Default)]
struct Verb<'a> {
    raw: &'a str,
    offset: usize,
    arg: usize,
    mode: char,
    zero: bool,
    sharp: bool,
    plus: bool,
    minus: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// cty's format state machine.
fn format_values(fmt: &str, args: &[Value]) -> Result<String, String> {
    let bytes = fmt.as_bytes();
    let mut out = String::new();
    let mut p = 0;
    let mut next_arg = 1;
    let unrecognized = |p: usize| {
        let c = fmt.get(p..).and_then(|r| r.chars().next()).unwrap_or('?');
        format!("unrecognized format character {c:?} at offset {p}")
    };
    let unterminated = || format!("invalid format string starting at offset {}", fmt.len());
    while p < bytes.len() {
        let Some(c) = fmt.get(p..).and_then(|r| r.chars().next()) else {
            break;
        };
        if c != '%' {
            out.push(c);
            p += c.len_utf8();
            continue;
        }
        if bytes.get(p + 1) == Some(&b'%') {
            out.push('%');
            p += 2;
            continue;
        }
        let start = p;
        p += 1;
        let mut verb = Verb {
            arg: next_arg,
            ..Verb::default()
        };
        while let Some(&b) = bytes.get(p) {
            match b {
                b'0' => verb.zero = true,
                b'#' => verb.sharp = true,
                b'-' => verb.minus = true,
                b'+' => verb.plus = true,
                b' ' => verb.space = true,
                _ => break,
            }
            p += 1;
        }
        if bytes.get(p) == Some(&b'[') {
            p += 1;
            if !matches!(bytes.get(p), Some(b'1'..=b'9')) {
                return Err(if p >= bytes.len() {
                    unterminated()
                } else {
                    unrecognized(p)
                });
            }
            verb.arg = read_number(bytes, &mut p);
            match bytes.get(p) {
                Some(b']') => p += 1,
                Some(_) => return Err(unrecognized(p)),
                None => return Err(unterminated()),
            }
        }
        if matches!(bytes.get(p), Some(b'1'..=b'9')) {
            verb.width = Some(read_number(bytes, &mut p));
        }
        if bytes.get(p) == Some(&b'.') {
            p += 1;
            verb.prec = Some(read_number(bytes, &mut p));
        }
        // Go's fmt refuses widths and precisions over a million; so do we, before allocating.
        if verb.width.max(verb.prec).is_some_and(|n| n > 1_000_000) {
            return Err(format!(
                "width or precision too large in format string at offset {start}"
            ));
        }
        match bytes.get(p) {
            None => return Err(unterminated()),
            Some(b) if b.is_ascii_alphabetic() => verb.mode = char::from(*b),
            Some(_) => return Err(unrecognized(p)),
        }
        p += 1;
        verb.raw = &fmt[start..p];
        verb.offset = start;
        append(&verb, &mut out, args)?;
        next_arg = verb.arg + 1;
    }
    Ok(out)
}

fn read_number(bytes: &[u8], p: &mut usize) -> usize {
    let mut n: usize = 0;
    while let Some(d) = bytes.get(*p).filter(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        *p += 1;
    }
    n
}

fn append(verb: &Verb, out: &mut String, args: &[Value]) -> Result<(), String> {
    let Some(arg) = verb.arg.checked_sub(1).and_then(|i| args.get(i)) else {
        return Err(format!(
            "not enough arguments for {:?} at {}: need index {} but have {} total",
            verb.raw,
            verb.offset,
            verb.arg,
            args.len()
        ));
    };
    let unsupported = |why: &dyn std::fmt::Display| {
        format!(
            "unsupported value for {:?} at {}: {why}",
            verb.raw, verb.offset
        )
    };
    if verb.mode != 'v' && arg.is_null() {
        return Err(unsupported(&"null value cannot be formatted"));
    }
    match verb.mode {
        'v' => {
            let text = match arg {
                Value::String(s) if !verb.sharp => s.clone(),
                Value::Number(n) if !verb.sharp => {
                    let mut d = Decimal::of(n);
                    if n.is_infinite() {
                        if d.neg { "-Inf" } else { "+Inf" }.to_string()
                    } else {
                        d.neg = false;
                        let body = float_text(&d, 'g', None);
                        if n.signum() < 0 {
                            format!("-{body}")
                        } else {
                            body
                        }
                    }
                }
                other => to_json(other).map_err(|e| unsupported(&e))?,
            };
            out.push_str(&pad_width(verb, text));
        }
        't' => match convert(arg.clone(), &Type::Bool) {
            Ok(Value::Bool(b)) => out.push_str(if b { "true" } else { "false" }),
            Ok(_) => return Err(unsupported(&"a bool is required")),
            Err(e) => return Err(unsupported(&e)),
        },
        'b' | 'd' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'g' | 'G' => {
            let n = match convert(arg.clone(), &Type::Number) {
                Ok(Value::Number(n)) => n,
                Ok(_) => return Err(unsupported(&"a number is required")),
                Err(e) => return Err(unsupported(&e)),
            };
            if matches!(verb.mode, 'b' | 'd' | 'o' | 'x' | 'X') {
                if !n.is_integer() {
                    return Err(unsupported(&"an integer is required"));
                }
                out.push_str(&format_integer(verb, &n).map_err(|e| unsupported(&e))?);
            } else {
                out.push_str(&format_float(verb, &n));
            }
        }
        's' | 'q' => {
            let mut s = match convert(arg.clone(), &Type::String) {
                Ok(Value::String(s)) => s,
                Ok(_) => return Err(unsupported(&"a string is required")),
                Err(e) => return Err(unsupported(&e)),
            };
            if let Some(prec) = verb.prec.filter(|p| *p > 0) {
                let end: usize = s.graphemes(true).take(prec).map(str::len).sum();
                s.truncate(end);
            }
            if verb.mode == 'q' {
                s = to_json(&Value::String(s)).map_err(|e| unsupported(&e))?;
            }
            out.push_str(&pad_width(verb, s));
        }
        mode => {
            return Err(format!(
                "unsupported format verb {mode:?} in {:?} at offset {}",
                verb.raw, verb.offset
            ))
        }
    }
    Ok(())
}

/// cty's own padding (for %v, %s, %q): widths count grapheme clusters.
fn pad_width(verb: &Verb, text: String) -> String {
    let Some(width) = verb.width else { return text };
    let len = text.graphemes(true).count();
    if len >= width {
        return text;
    }
    let pad = if verb.zero { "0" } else { " " }.repeat(width - len);
    if verb.minus {
        text + &pad
    } else {
        pad + &text
    }
}

/// Go's fmt padding for a number already split into sign and body.
fn pad_number(verb: &Verb, sign: &str, body: &str, zero_ok: bool) -> String {
    let len = sign.len() + body.len();
    let pad = verb.width.map_or(0, |w| w.saturating_sub(len));
    if verb.zero && !verb.minus && zero_ok {
        format!("{sign}{}{body}", "0".repeat(pad))
    } else if verb.minus {
        format!("{sign}{body}{}", " ".repeat(pad))
    } else {
        format!("{}{sign}{body}", " ".repeat(pad))
    }
}

/// `big.Int`'s `Format`.
fn format_integer(verb: &Verb, n: &Number) -> Result<String, String> {
    let d = Decimal::of(n);
    if d.exp > 10_000 {
        return Err("the number is too large to format as an integer".into());
    }
    let big = BigUint::from_decimal(&d.integer_digits());
    let mut digits = big.to_radix(match verb.mode {
        'b' => 2,
        'o' => 8,
        'x' | 'X' => 16,
        _ => 10,
    });
    if verb.mode == 'X' {
        digits = digits.to_uppercase();
    }
    let sign = if d.neg && !d.mant.is_empty() {
        "-"
    } else if verb.plus {
        "+"
    } else if verb.space {
        " "
    } else {
        ""
    };
    let prefix = match (verb.sharp, verb.mode) {
        (true, 'b') => "0b",
        (true, 'o') => "0",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        _ => "",
    };
    let mut zeros = 0;
    if let Some(prec) = verb.prec {
        if digits.len() < prec {
            zeros = prec - digits.len();
        } else if digits == "0" && prec == 0 {
            digits.clear();
        }
    }
    let length = sign.len() + prefix.len() + zeros + digits.len();
    let (mut left, mut right) = (0, 0);
    if let Some(width) = verb.width.filter(|w| *w > length) {
        let extra = width - length;
        if verb.minus {
            right = extra;
        } else if verb.zero && verb.prec.is_none() {
            zeros = extra;
        } else {
            left = extra;
        }
    }
    Ok(format!(
        "{}{sign}{prefix}{}{digits}{}",
        " ".repeat(left),
        "0".repeat(zeros),
        " ".repeat(right)
    ))
}

/// `big.Float`'s `Format` for %e %E %f %g %G.
fn format_float(verb: &Verb, n: &Number) -> String {
    let d = Decimal::of(n);
    let sign = if d.neg {
        "-"
    } else if n.is_infinite() || verb.plus {
        if n.is_infinite() && verb.space {
            " "
        } else {
            "+"
        }
    } else if verb.space {
        " "
    } else {
        ""
    };
    if n.is_infinite() {
        return pad_number(verb, sign, "Inf", false);
    }
    let prec = match verb.mode {
        'g' | 'G' => verb.prec,
        _ => Some(verb.prec.unwrap_or(6)),
    };
    pad_number(verb, sign, &float_text(&d, verb.mode, prec), true)
}

/// A decimal number as Go's `big` package formats it: `0.mant × 10^exp`, no sign applied.
#[derive(Clone, Debug, Default)]
struct Decimal {
    neg: bool,
    /// Digits without leading or trailing zeros (empty for zero).
    mant: Vec<u8>,
    exp: i64,
}

impl Decimal {
    /// From the number's canonical text.
    fn of(n: &Number) -> Decimal {
        let text = n.to_string();
        let (neg, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let (body, e10) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
            None => (body, 0),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let mut mant: Vec<u8> = int
            .bytes()
            .chain(frac.bytes())
            .filter(u8::is_ascii_digit)
            .collect();
        let mut exp = int.len() as i64 + e10;
        while mant.first() == Some(&b'0') {
            mant.remove(0);
            exp -= 1;
        }
        while mant.last() == Some(&b'0') {
            mant.pop();
        }
        if mant.is_empty() {
            exp = 0;
        }
        Decimal { neg, mant, exp }
    }

    /// The integer's decimal digits (for whole numbers).
    fn integer_digits(&self) -> String {
        let mut s: String = self.mant.iter().map(|&b| char::from(b)).collect();
        for _ in self.mant.len() as i64..self.exp {
            s.push('0');
        }
        if s.is_empty() || self.exp <= 0 {
            "0".into()
        } else {
            s
        }
    }

    fn at(&self, i: i64) -> u8 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.mant.get(i))
            .copied()
            .unwrap_or(b'0')
    }

    /// Round to `n` digits, half to even, as `big.decimal.round` does.
    fn round(&mut self, n: i64) {
        let Ok(n) = usize::try_from(n) else { return };
        if n >= self.mant.len() {
            return;
        }
        let half_even_down = self.mant[n] == b'5'
            && n + 1 == self.mant.len()
            && (n == 0 || (self.mant[n - 1] - b'0').is_multiple_of(2));
        if self.mant[n] >= b'5' && !half_even_down {
            let mut k = n;
            while k > 0 && self.mant[k - 1] >= b'9' {
                k -= 1;
            }
            if k == 0 {
                self.mant = vec![b'1'];
                self.exp += 1;
            } else {
                self.mant[k - 1] += 1;
                self.mant.truncate(k);
            }
        } else {
            self.mant.truncate(n);
            while self.mant.last() == Some(&b'0') {
                self.mant.pop();
            }
        }
        if self.mant.is_empty() {
            self.exp = 0;
        }
    }
}

/// `big.Float.Text(fmt, prec)` for a non-negative finite decimal (`None` is shortest).
fn float_text(d: &Decimal, fmt: char, prec: Option<usize>) -> String {
    let mut d = d.clone();
    let shortest = prec.is_none();
    let mut prec = match prec {
        None => match fmt {
            'e' | 'E' => d.mant.len() as i64 - 1,
            'f' => (d.mant.len() as i64 - d.exp).max(0),
            _ => d.mant.len() as i64,
        },
        Some(p) => {
            let mut p = p.min(100_000) as i64;
            match fmt {
                'e' | 'E' => d.round(1 + p),
                'f' => d.round(d.exp + p),
                _ => {
                    if p == 0 {
                        p = 1;
                    }
                    d.round(p);
                }
            }
            p
        }
    };
    match fmt {
        'e' | 'E' => fmt_e(&d, fmt, prec),
        'f' => fmt_f(&d, prec),
        _ => {
            let e = if fmt == 'G' { 'E' } else { 'e' };
            let len = d.mant.len() as i64;
            let mut eprec = prec;
            if eprec > len && len >= d.exp {
                eprec = len;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.exp - 1;
            if exp < -4 || exp >= eprec {
                if prec > len {
                    prec = len;
                }
                return fmt_e(&d, e, prec - 1);
            }
            if prec > d.exp {
                prec = len;
            }
            fmt_f(&d, (prec - d.exp).max(0))
        }
    }
}

fn fmt_e(d: &Decimal, e: char, prec: i64) -> String {
    let mut out = String::new();
    out.push(char::from(d.mant.first().copied().unwrap_or(b'0')));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(d.at(i)));
        }
    }
    out.push(e);
    let exp = if d.mant.is_empty() { 0 } else { d.exp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

fn fmt_f(d: &Decimal, prec: i64) -> String {
    let mut out = String::new();
    if d.exp > 0 {
        for i in 0..d.exp.min(1_000_000) {
            out.push(char::from(d.at(i)));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec {
            out.push(char::from(d.at(d.exp + i)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    fn fmt(f: &str, args: Vec<Value>) -> Value {
        let mut all = vec![s(f)];
        all.extend(args);
        ok("format", all)
    }

    #[test]
    fn fixture_format() {
        assert_eq!(fmt("Hello, %s!", vec![s("world")]), s("Hello, world!"));
        assert_eq!(fmt("%d items", vec![i(3)]), s("3 items"));
        assert_eq!(fmt("%05.2f", vec![n("3.14159")]), s("03.14"));
        assert_eq!(fmt("%q", vec![s("x")]), s("\"x\""));
        assert_eq!(
            fmt("%v %v", vec![tuple(vec![i(1)]), Value::Bool(true)]),
            s("[1] true")
        );
        assert_eq!(fmt("%#v", vec![obj(&[("a", i(1))])]), s("{\"a\":1}"));
        assert_eq!(fmt("%x", vec![i(255)]), s("ff"));
        assert_eq!(fmt("%t", vec![Value::Bool(true)]), s("true"));
        assert_eq!(fmt("%[2]s %[1]s", vec![s("a"), s("b")]), s("b a"));
        assert_eq!(fmt("%%", vec![]), s("%"));
        let m = fails("format", vec![s("%d"), s("x")]);
        assert!(m.starts_with("unsupported value for \"%d\" at 0:"), "{m}");
        let m = fails("format", vec![s("%s")]);
        assert_eq!(
            m,
            "not enough arguments for \"%s\" at 0: need index 1 but have 0 total"
        );
        let m = fails("format", vec![s("%d"), n("1.5")]);
        assert_eq!(
            m,
            "unsupported value for \"%d\" at 0: an integer is required"
        );
    }

    #[test]
    fn go_number_formatting() {
        assert_eq!(fmt("%v", vec![i(1_000_000)]), s("1e+06"));
        assert_eq!(fmt("%v", vec![i(123_456)]), s("123456"));
        assert_eq!(fmt("%v", vec![n("0.00001")]), s("1e-05"));
        assert_eq!(fmt("%v", vec![n("-2.5")]), s("-2.5"));
        assert_eq!(fmt("%e", vec![n("1234.5678")]), s("1.234568e+03"));
        assert_eq!(fmt("%E", vec![i(0)]), s("0.000000E+00"));
        assert_eq!(fmt("%f", vec![n("2.5")]), s("2.500000"));
        assert_eq!(fmt("%.0f", vec![n("2.5")]), s("2"));
        assert_eq!(fmt("%.0f", vec![n("3.5")]), s("4"));
        assert_eq!(fmt("%.1f", vec![n("0.06")]), s("0.1"));
        assert_eq!(fmt("%g", vec![n("100000")]), s("100000"));
        assert_eq!(fmt("%.3g", vec![n("3.14159")]), s("3.14"));
        assert_eq!(fmt("%+.1f", vec![n("1")]), s("+1.0"));
        assert_eq!(fmt("%8.3f|", vec![n("-3.14159")]), s("  -3.142|"));
        assert_eq!(fmt("%-8.3f|", vec![n("3.14159")]), s("3.142   |"));
        assert_eq!(fmt("%05d", vec![i(-42)]), s("-0042"));
        assert_eq!(
            fmt("%#x %X %o %b", vec![i(255), i(255), i(8), i(5)]),
            s("0xff FF 10 101")
        );
        assert_eq!(
            fmt("%.3d|%5d|%-5d|", vec![i(7), i(7), i(7)]),
            s("007|    7|7    |")
        );
        assert_eq!(
            fmt("%d", vec![n("100000000000000000000")]),
            s("100000000000000000000")
        );
    }

    #[test]
    fn strings_and_padding() {
        assert_eq!(fmt("%5s|%-5s|", vec![s("ab"), s("ab")]), s("   ab|ab   |"));
        assert_eq!(fmt("%.2s", vec![s("héllo")]), s("hé"));
        assert_eq!(fmt("%s", vec![i(5)]), s("5"));
        assert_eq!(fmt("%v", vec![Value::Null]), s("null"));
        assert_eq!(fmt("%s %s", vec![s("a"), s("b")]), s("a b"));
        assert_eq!(fmt("%[1]s %s", vec![s("a"), s("b")]), s("a b"));
        assert_eq!(fmt("%q", vec![s("<a>")]), s("\"\\u003ca\\u003e\""));
        fails("format", vec![s("%s"), Value::Null]);
        fails("format", vec![s("%s"), strs(&["a"])]);
        assert!(fails("format", vec![s("%z"), i(1)]).contains("unsupported format verb"));
        assert!(fails("format", vec![s("%!"), i(1)]).contains("unrecognized format character"));
        assert!(fails("format", vec![s("abc %"), i(1)]).contains("invalid format string"));
        assert!(fails("format", vec![s("%[0]s"), i(1)]).contains("unrecognized"));
        fails("format", vec![Value::Null]);
        assert!(fails("format", vec![s("%999999999s"), s("x")]).contains("too large"));
    }

    #[test]
    fn fixture_formatlist() {
        let v = ok(
            "formatlist",
            vec![s("%s=%s"), strs(&["a", "b"]), strs(&["1", "2"])],
        );
        assert_eq!(json(&v), r#"["a=1","b=2"]"#);
        let zones = Value::List(vec![s("us-east-1a"), s("us-east-1b"), s("us-east-1c")]);
        let v = ok("formatlist", vec![s("Hello, %s!"), zones]);
        assert_eq!(
            json(&v),
            r#"["Hello, us-east-1a!","Hello, us-east-1b!","Hello, us-east-1c!"]"#
        );
        let v = ok("formatlist", vec![s("%s-%s"), s("x"), strs(&["a", "b"])]);
        assert_eq!(json(&v), r#"["x-a","x-b"]"#);
        let m = fails(
            "formatlist",
            vec![s("%s%s"), strs(&["a"]), strs(&["b", "c"])],
        );
        assert!(
            m.contains(
                "argument 2 has length 2, which is inconsistent with argument 1 of length 1"
            ),
            "{m}"
        );
        assert_eq!(json(&ok("formatlist", vec![s("%s"), tuple(vec![])])), "[]");
        assert_eq!(json(&ok("formatlist", vec![s("x")])), r#"["x"]"#);
    }
}
