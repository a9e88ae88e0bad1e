//! Template parts: escapes, strip markers, `<<-` indentation, and nesting `%{ }` directives.

use super::ast::*;
use super::lower::Lower;
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// A template part before directives are nested.
pub(super) enum Flat {
    Literal(String, Span),
    Interp {
        expr: Expr,
        strip_left: bool,
        strip_right: bool,
    },
    Directive {
        directive: Directive,
        strip_left: bool,
        strip_right: bool,
        span: Span,
    },
}

/// The keyword part of a `%{ }` sequence.
pub(super) enum Directive {
    If(Expr),
    Else,
    EndIf,
    For {
        key_var: Option<Ident>,
        value_var: Ident,
        collection: Expr,
    },
    EndFor,
}

impl Directive {
    fn word(&self) -> &'static str {
        match self {
            Directive::If(_) => "if",
            Directive::Else => "else",
            Directive::EndIf => "endif",
            Directive::For { .. } => "for",
            Directive::EndFor => "endfor",
        }
    }
}

/// Append literal text, joining it to the previous literal unless that one ended a line
/// (heredoc indentation works line by line).
pub(super) fn push_literal(flat: &mut Vec<Flat>, text: String, span: Span) {
    if let Some(Flat::Literal(prev, prev_span)) = flat.last_mut() {
        if !prev.ends_with('\n') && prev_span.end == span.start {
            prev.push_str(&text);
            *prev_span = prev_span.to(span);
            return;
        }
    }
    flat.push(Flat::Literal(text, span));
}

/// Decode a quoted string's escapes; a bad escape is reported and kept as written.
pub(super) fn unescape_quoted(lower: &mut Lower, raw: &str, span: Span) -> String {
    // Most literals hold no escape at all.
    if !raw.bytes().any(|b| matches!(b, b'\\' | b'$' | b'%')) {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match e {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'u' | 'U' => {
                        let want = if e == 'u' { 4 } else { 8 };
                        let digits: String = raw[i + 2..]
                            .chars()
                            .take(want)
                            .take_while(char::is_ascii_hexdigit)
                            .collect();
                        let decoded = (digits.len() == want)
                            .then(|| u32::from_str_radix(&digits, 16).ok())
                            .flatten()
                            .and_then(char::from_u32);
                        match decoded {
                            Some(ch) => {
                                out.push(ch);
                                for _ in 0..want {
                                    chars.next();
                                }
                            }
                            None => {
                                let at = span.start as usize + i;
                                let end = at + 2 + digits.len();
                                lower.diags.push(
                                    Diagnostic::error(
                                        lower.span(at, end),
                                        format!("invalid escape sequence `\\{e}{digits}`"),
                                    )
                                    .with_hint(format!(
                                        "`\\{e}` takes exactly {want} hexadecimal digits naming a Unicode character"
                                    )),
                                );
                                out.push('\\');
                                out.push(e);
                            }
                        }
                    }
                    other => {
                        let at = span.start as usize + i;
                        lower.diags.push(
                            Diagnostic::error(
                                lower.span(at, at + 1 + other.len_utf8()),
                                format!("invalid escape sequence `\\{other}`"),
                            )
                            .with_hint("the escapes are \\n \\r \\t \\\" \\\\ \\uNNNN and \\UNNNNNNNN; write `\\\\` for a backslash"),
                        );
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '$' | '%' if raw.as_bytes()[i + 1..].starts_with(&[c as u8, b'{']) => {
                // `$${` and `%%{` are the escaped forms of `${` and `%{`.
                out.push(c);
                out.push('{');
                chars.next();
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Decode `$${` and `%%{` (heredocs and template files have no backslash escapes).
pub(super) fn unescape_markers(raw: &str) -> String {
    if raw.contains("$${") || raw.contains("%%{") {
        raw.replace("$${", "${").replace("%%{", "%{")
    } else {
        raw.to_string()
    }
}

/// Remove the common leading indentation of a `<<-` heredoc's lines, as HCL does: lines that
/// are blank do not count, and a line starting with an interpolation counts as unindented.
pub(super) fn flush_heredoc(flat: &mut [Flat]) {
    let mut min = usize::MAX;
    let mut at_line_start = true;
    let mut adjust = Vec::new();
    for (i, part) in flat.iter().enumerate() {
        if at_line_start {
            at_line_start = false;
            let spaces = match part {
                Flat::Literal(text, _) => {
                    let trimmed = text.trim_start();
                    if trimmed.is_empty() && text.ends_with('\n') {
                        usize::MAX
                    } else {
                        adjust.push(i);
                        text.chars().take_while(|c| c.is_whitespace()).count()
                    }
                }
                _ => 0,
            };
            min = min.min(spaces);
        }
        if let Flat::Literal(text, _) = part {
            if text.ends_with('\n') {
                at_line_start = true;
            }
        }
    }
    if min == usize::MAX {
        return;
    }
    for i in adjust {
        if let Flat::Literal(text, span) = &mut flat[i] {
            let cut: usize = text.chars().take(min).map(char::len_utf8).sum();
            text.replace_range(..cut, "");
            span.start += cut as u32;
        }
    }
}

/// A template of plain text.
pub(super) fn plain(text: String, span: Span, heredoc: bool) -> Template {
    let parts = if text.is_empty() {
        Vec::new()
    } else {
        vec![TemplatePart::Literal(text, span)]
    };
    Template { parts, heredoc }
}

/// Apply strip markers, nest directives, and join adjacent literals.
pub(super) fn build(lower: &mut Lower, mut flat: Vec<Flat>, heredoc: bool) -> Template {
    // Plain text, the usual template, has nothing to strip or nest.
    if flat.len() <= 1 && flat.iter().all(|part| matches!(part, Flat::Literal(..))) {
        return match flat.pop() {
            Some(Flat::Literal(text, span)) => plain(text, span, heredoc),
            _ => Template {
                parts: Vec::new(),
                heredoc,
            },
        };
    }
    strip(&mut flat);
    flat.retain(|part| !matches!(part, Flat::Literal(text, _) if text.is_empty()));
    let mut parts = flat.into_iter().peekable();
    let (template, end) = nest(lower, &mut parts, heredoc);
    if let Some((directive, span)) = end {
        lower.diags.push(
            Diagnostic::error(
                span,
                format!(
                    "`%{{ {} }}` without an open `%{{ {} }}`",
                    directive.word(),
                    opener(&directive)
                ),
            )
            .with_hint(
                "every `%{ if }` ends with `%{ endif }` and every `%{ for }` with `%{ endfor }`",
            ),
        );
    }
    template
}

fn opener(directive: &Directive) -> &'static str {
    match directive {
        Directive::EndFor => "for",
        _ => "if",
    }
}

fn strip(flat: &mut [Flat]) {
    for i in 0..flat.len() {
        let (left, right) = match &flat[i] {
            Flat::Interp {
                strip_left,
                strip_right,
                ..
            }
            | Flat::Directive {
                strip_left,
                strip_right,
                ..
            } => (*strip_left, *strip_right),
            Flat::Literal(..) => continue,
        };
        if left && i > 0 {
            if let Flat::Literal(text, _) = &mut flat[i - 1] {
                let keep = text.trim_end().len();
                text.truncate(keep);
            }
        }
        if right {
            if let Some(Flat::Literal(text, _)) = flat.get_mut(i + 1) {
                let cut = text.len() - text.trim_start().len();
                text.replace_range(..cut, "");
            }
        }
    }
}

type Parts = std::iter::Peekable<std::vec::IntoIter<Flat>>;

/// Read parts until a directive that closes the current level (returned with its span).
fn nest(
    lower: &mut Lower,
    parts: &mut Parts,
    heredoc: bool,
) -> (Template, Option<(Directive, Span)>) {
    let mut out: Vec<TemplatePart> = Vec::new();
    while let Some(part) = parts.next() {
        match part {
            Flat::Literal(text, span) => match out.last_mut() {
                Some(TemplatePart::Literal(prev, prev_span)) => {
                    prev.push_str(&text);
                    *prev_span = prev_span.to(span);
                }
                _ => out.push(TemplatePart::Literal(text, span)),
            },
            Flat::Interp { expr, .. } => out.push(TemplatePart::Interpolation(expr)),
            Flat::Directive {
                directive, span, ..
            } => match directive {
                Directive::If(condition) => {
                    let (then, end) = nest(lower, parts, heredoc);
                    let (otherwise, end) = match end {
                        Some((Directive::Else, _)) => {
                            let (otherwise, end) = nest(lower, parts, heredoc);
                            (Some(otherwise), end)
                        }
                        other => (None, other),
                    };
                    let close = expect_end(lower, end, Directive::EndIf, span, "if");
                    out.push(TemplatePart::If {
                        condition,
                        then,
                        otherwise,
                        span: span.to(close),
                    });
                }
                Directive::For {
                    key_var,
                    value_var,
                    collection,
                } => {
                    let (body, end) = nest(lower, parts, heredoc);
                    let close = expect_end(lower, end, Directive::EndFor, span, "for");
                    out.push(TemplatePart::For {
                        key_var,
                        value_var,
                        collection,
                        body,
                        span: span.to(close),
                    });
                }
                closing => {
                    return (
                        Template {
                            parts: out,
                            heredoc,
                        },
                        Some((closing, span)),
                    )
                }
            },
        }
    }
    (
        Template {
            parts: out,
            heredoc,
        },
        None,
    )
}

/// Check that a nested sequence ended with `want`; report a missing or mismatched end.
fn expect_end(
    lower: &mut Lower,
    end: Option<(Directive, Span)>,
    want: Directive,
    open: Span,
    word: &str,
) -> Span {
    let closer = want.word();
    match end {
        Some((found, span)) if std::mem::discriminant(&found) == std::mem::discriminant(&want) => {
            span
        }
        Some((found, span)) => {
            lower.diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "expected `%{{ {closer} }}`, found `%{{ {} }}`",
                        found.word()
                    ),
                )
                .with_label(open, format!("this `%{{ {word} }}` is still open"))
                .with_hint(format!(
                    "close the `%{{ {word} }}` with `%{{ {closer} }}` first"
                )),
            );
            span
        }
        None => {
            lower.diags.push(
                Diagnostic::error(open, format!("`%{{ {word} }}` is never closed")).with_hint(
                    format!("add `%{{ {closer} }}` where the repeated or conditional text ends"),
                ),
            );
            open
        }
    }
}
