//! pest's parse failures turned into diagnostics that speak HCL.

use super::parser::Rule;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use pest::error::{Error, ErrorVariant, InputLocation};
use std::ops::Range;

/// The byte offset (within the parsed text) where pest gave up.
pub(super) fn position(err: &Error<Rule>) -> usize {
    match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    }
}

/// Translate a pest failure (of a parse that started at byte `base`) into a diagnostic.
pub(super) fn translate(err: &Error<Rule>, file: FileId, text: &str, base: usize) -> Diagnostic {
    let at = (base + position(err)).min(text.len());
    let mut positives: Vec<Rule> = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    // The grammar tries suffixes and a conditional tail only before `.`, `[` or `?`, but they
    // may follow an operand wherever a binary operator may.
    if positives.contains(&Rule::binary_op) {
        positives.extend(AFTER_OPERAND);
    }
    if std::env::var_os("KILN_DEBUG_PEST").is_some() {
        eprintln!("pest positives at {at}: {positives:?}");
    }
    let found = Found::at(text, at);
    let span = Span::new(file, at, at + found.len);
    let has = |rules: &[Rule]| positives.iter().any(|p| rules.contains(p));

    // pest lists the heredoc rules at the end of a file after a heredoc that did close, too:
    // only a heredoc no line closes is reported as one.
    let heredoc_open = has(&[
        Rule::heredoc_text,
        Rule::heredoc_newline,
        Rule::heredoc_close,
    ]) && found.is_end();
    if let Some((open, marker)) = heredoc_open
        .then(|| unterminated_heredoc(&text[..at]))
        .flatten()
    {
        return Diagnostic::error(
            Span::new(file, open.start, open.end),
            format!("unterminated heredoc: no line ends it with `{marker}`"),
        )
        .with_code(Code::UnterminatedHeredoc)
        .with_hint(format!(
            "close the heredoc with a line holding only `{marker}`"
        ));
    }
    if has(&[Rule::quoted_literal]) && (found.is_end() || found.is_newline()) {
        return Diagnostic::error(span, "unterminated string: missing the closing `\"`")
            .with_hint("a quoted string ends on the line it starts on; use a heredoc (<<EOT) for text over several lines, or \\n for a newline");
    }
    // An operand after a binary operator is no rule of its own: its terms fail one by one.
    let expression_start = positives.iter().any(|r| starts_expression(*r));
    if has(&[Rule::strip_close]) || (has(&[Rule::strip]) && !expression_start) {
        return Diagnostic::error(span, format!("expected `}}` to close the `${{` or `%{{` sequence, found {}", found.text))
            .with_hint("an interpolation is `${ expression }`; a directive is `%{ if cond }`, `%{ else }`, `%{ endif }`, `%{ for x in xs }` or `%{ endfor }`");
    }
    if has(&[Rule::heredoc_flush]) || (has(&[Rule::identifier]) && text[..at].ends_with("<<")) {
        return Diagnostic::error(span, format!("expected a heredoc marker after `<<`, found {}", found.text))
            .with_hint("a heredoc starts with `<<EOT` (or `<<-EOT` to strip indentation) followed by a newline");
    }
    if has(&[Rule::block_open]) {
        let name = item_name(text, at);
        return Diagnostic::error(
            span,
            format!("expected `=` or `{{` after `{name}`, found {}", found.text),
        )
        .with_hint(format!(
            "an attribute is `{name} = value`; a block is `{name} \"label\" {{ ... }}`"
        ));
    }
    if expression_start && !has(&[Rule::attribute, Rule::block]) {
        let diag = Diagnostic::error(
            span,
            format!("expected an expression, found {}", found.text),
        )
        .with_hint(expression_hint(&found));
        return match innermost_open(&text[..at], true) {
            Some((open, open_at)) if matches!(found.text.as_str(), "`}`" | "`]`" | "`)`") => {
                let width = if open == '$' { 2 } else { 1 };
                let shown = if open == '$' {
                    "${".to_string()
                } else {
                    open.to_string()
                };
                diag.with_label(
                    Span::new(file, open_at, open_at + width),
                    format!("this `{shown}` is still open"),
                )
            }
            _ => diag,
        };
    }
    if text[at..].starts_with("/*") && !text[at..].contains("*/") {
        return Diagnostic::error(
            Span::new(file, at, at + 2),
            "unterminated comment: this `/*` has no `*/`",
        )
        .with_hint("close the comment with `*/`");
    }
    if has(&[Rule::identifier, Rule::attr_index]) && text[..at].trim_end().ends_with('.') {
        return Diagnostic::error(
            span,
            format!("expected an attribute name after `.`, found {}", found.text),
        )
        .with_hint("write `object.name`, or `list[0]` to index");
    }
    let continuation = !positives.is_empty()
        && positives.iter().all(|r| {
            matches!(
                r,
                Rule::binary_op
                    | Rule::conditional_tail
                    | Rule::get_attr
                    | Rule::attr_splat
                    | Rule::index
                    | Rule::full_splat
                    | Rule::expand_final
                    | Rule::for_cond
                    | Rule::for_group
            )
        });
    if continuation {
        if let Some(d) = after_expression(file, text, at, span, &found) {
            return d;
        }
    }
    let body = has(&[
        Rule::attribute,
        Rule::block,
        Rule::block_close,
        Rule::top_item,
        Rule::body,
    ]);
    if body && found.text == "`\"`" {
        return Diagnostic::error(span, "an attribute name cannot be quoted")
            .with_hint("write the name bare: `region = \"us-east-1\"`");
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    if body
        && !found.is_end()
        && !text[line_start..at].trim().is_empty()
        && found.text != "`,`"
        && found.text != "`}`"
    {
        return Diagnostic::error(
            span,
            format!("unexpected {} after the attribute's value", found.text),
        )
        .with_hint("an attribute holds one expression and ends at the end of its line");
    }
    if body && found.text == "`,`" {
        return Diagnostic::error(span, "unexpected `,` after an attribute")
            .with_hint("in a block, each attribute goes on its own line; commas separate items only inside [ ] and { } expressions");
    }
    if found.is_end() {
        if let Some((open, at)) = innermost_unclosed(text) {
            let what = match open {
                '{' if body => "block",
                '{' => "object",
                '[' => "list",
                _ => "parenthesis",
            };
            let close = match open {
                '{' => '}',
                '[' => ']',
                _ => ')',
            };
            return Diagnostic::error(
                Span::new(file, at, at + 1),
                format!("unclosed {what}: this `{open}` has no matching `{close}`"),
            )
            .with_code(Code::Unclosed)
            .with_hint(format!("add `{close}` where the {what} ends"));
        }
    }
    if body && found.text == "`}`" {
        return Diagnostic::error(span, "unexpected `}`: it closes no block")
            .with_hint("remove it, or look for a block above that was closed early");
    }
    if body {
        return Diagnostic::error(
            span,
            format!("expected an attribute or a block, found {}", found.text),
        )
        .with_hint("a body holds `name = value` attributes and `type \"label\" { ... }` blocks");
    }
    let mut expected: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
    expected.sort();
    expected.dedup();
    let message = match expected.as_slice() {
        [] => format!("unexpected {}", found.text),
        [one] => format!("expected {one}, found {}", found.text),
        many => format!(
            "expected {} or {}, found {}",
            many[..many.len() - 1].join(", "),
            many[many.len() - 1],
            found.text
        ),
    };
    Diagnostic::error(span, message)
}

/// What may follow an operand besides a binary operator.
const AFTER_OPERAND: [Rule; 5] = [
    Rule::full_splat,
    Rule::attr_splat,
    Rule::index,
    Rule::get_attr,
    Rule::conditional_tail,
];

/// What stands at an error position, for "found ..." in messages.
struct Found {
    text: String,
    len: usize,
}

impl Found {
    fn at(text: &str, at: usize) -> Found {
        let rest = &text[at..];
        let Some(c) = rest.chars().next() else {
            return Found {
                text: "the end of the file".into(),
                len: 0,
            };
        };
        if rest.starts_with("\r\n") || c == '\n' {
            return Found {
                text: "the end of the line".into(),
                len: if c == '\n' { 1 } else { 2 },
            };
        }
        if c.is_alphanumeric() || c == '_' {
            let len = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '-' || ch == '.'))
                .unwrap_or(rest.len());
            return Found {
                text: format!("`{}`", &rest[..len]),
                len,
            };
        }
        for op in [
            "==", "!=", "<=", ">=", "&&", "||", "=>", "...", "${", "%{", "<<",
        ] {
            if rest.starts_with(op) {
                return Found {
                    text: format!("`{op}`"),
                    len: op.len(),
                };
            }
        }
        let shown = if c.is_control() {
            c.escape_debug().to_string()
        } else {
            c.to_string()
        };
        Found {
            text: format!("`{shown}`"),
            len: c.len_utf8(),
        }
    }

    fn is_end(&self) -> bool {
        self.text == "the end of the file"
    }

    fn is_newline(&self) -> bool {
        self.text == "the end of the line"
    }
}

fn expression_hint(found: &Found) -> String {
    if found.is_newline() || found.is_end() {
        "the value must start on the same line as the `=`".into()
    } else if found.text.starts_with("`'") {
        "strings use double quotes: \"text\"".into()
    } else {
        "an expression is a value such as \"text\", 42, true, [list], { key = value }, var.name or a function call".into()
    }
}

/// "expected `,` or `)`" and friends: what may follow an expression depends on the bracket it is in.
fn after_expression(
    file: FileId,
    text: &str,
    at: usize,
    span: Span,
    found: &Found,
) -> Option<Diagnostic> {
    let (open, open_at) = innermost_open(&text[..at], true)?;
    let inside = &text[open_at + 1..at];
    let (expected, hint) = match open {
        '(' => (
            "`,` or `)`",
            "separate function arguments with commas and close the call with `)`",
        ),
        '[' if inside.trim_start().starts_with("for ") && !inside.contains(':') => {
            ("`:`", "a for expression reads `[for item in list : value]`")
        }
        '[' => (
            "`,` or `]`",
            "separate list items with commas and close the list with `]`",
        ),
        '{' if inside.trim_start().starts_with("for ") && !inside.contains(':') => {
            ("`:`", "a for expression reads `{for k, v in map : k => v}`")
        }
        '{' => (
            "`,`, a newline or `}`",
            "separate object items with commas or newlines and close the object with `}`",
        ),
        _ => ("`}`", "close the interpolation with `}`: `${ expression }`"),
    };
    Some(
        Diagnostic::error(
            span,
            format!(
                "expected {expected} after the expression, found {}",
                found.text
            ),
        )
        .with_label(
            Span::new(file, open_at, open_at + if open == '$' { 2 } else { 1 }),
            "opened here",
        )
        .with_hint(hint),
    )
}

/// The first word of the line holding `at`: the attribute or block being written.
fn item_name(text: &str, at: usize) -> String {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].trim_start();
    let end = line
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(line.len());
    line[..end].to_string()
}

/// The opener (`<<EOT` or `<<-EOT`, as a byte range) and marker of the first heredoc in `text`
/// that no later line closes. Heredocs that close are skipped whole, so a `<<` inside one's
/// text is never taken for an opener.
fn unterminated_heredoc(text: &str) -> Option<(Range<usize>, &str)> {
    let mut from = 0;
    while let Some(found) = text[from..].find("<<") {
        let open = from + found;
        match heredoc_at(text, open) {
            None => from = open + 2,
            Some(heredoc) => match heredoc.close_end {
                Some(end) => from = end,
                None => return Some((heredoc.opener, heredoc.marker)),
            },
        }
    }
    None
}

/// A heredoc whose opener starts at a `<<` in the text.
struct Heredoc<'t> {
    /// `<<EOT` or `<<-EOT`.
    opener: Range<usize>,
    marker: &'t str,
    /// Where the line holding only the marker ends (before its newline); `None` when no line
    /// closes the heredoc.
    close_end: Option<usize>,
}

/// The heredoc opened by the `<<` at `open`, if a marker and a line break follow it.
fn heredoc_at(text: &str, open: usize) -> Option<Heredoc<'_>> {
    let flush = usize::from(text[open + 2..].starts_with('-'));
    let marker_start = open + 2 + flush;
    let rest = &text[marker_start..];
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let marker = &rest[..len];
    let after = &rest[len..];
    let newline = if after.starts_with("\r\n") {
        2
    } else {
        usize::from(after.starts_with('\n'))
    };
    if len == 0 || newline == 0 {
        return None;
    }
    let mut line_start = marker_start + len + newline;
    let close_end = text[line_start..].split('\n').find_map(|line| {
        let end = line_start + line.len();
        line_start = end + 1;
        (line.trim_matches([' ', '\t', '\r']) == marker).then_some(end)
    });
    Some(Heredoc {
        opener: open..marker_start + len,
        marker,
        close_end,
    })
}

/// How a rule reads in "expected ..." messages; `None` for rules that say nothing useful.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::identifier | Rule::attr_index => "a name",
        Rule::expression
        | Rule::number
        | Rule::boolean
        | Rule::null
        | Rule::variable
        | Rule::function_call
        | Rule::tuple
        | Rule::object
        | Rule::for_tuple
        | Rule::for_object
        | Rule::quoted_template
        | Rule::heredoc
        | Rule::parens
        | Rule::unary_op => "an expression",
        Rule::binary_op => "an operator",
        Rule::conditional_tail => "`?`",
        Rule::index | Rule::full_splat => "`[`",
        Rule::get_attr | Rule::attr_splat => "`.`",
        Rule::call_args => "a function argument",
        Rule::expand_final => "`...`",
        Rule::object_item => "an object item",
        Rule::for_intro => "`for`",
        Rule::for_cond => "`if`",
        Rule::for_group => "`...`",
        Rule::block_open => "`{`",
        Rule::block_close => "`}`",
        Rule::attribute | Rule::block | Rule::top_item | Rule::body => "an attribute or a block",
        Rule::template_interp | Rule::interp_open => "`${`",
        Rule::template_directive | Rule::directive_open => "`%{`",
        Rule::strip_close => "`}`",
        Rule::directive_if => "`if`",
        Rule::directive_else => "`else`",
        Rule::directive_endif => "`endif`",
        Rule::directive_for => "`for`",
        Rule::directive_endfor => "`endfor`",
        _ => return None,
    })
}

/// Whether pest tries `rule` where an expression or an operand starts.
fn starts_expression(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::expression
            | Rule::unary_op
            | Rule::quoted_template
            | Rule::boolean
            | Rule::null
            | Rule::function_call
            | Rule::variable
            | Rule::for_tuple
            | Rule::tuple
            | Rule::for_object
            | Rule::object
            | Rule::number
            | Rule::heredoc
            | Rule::parens
    )
}

/// The innermost `{`, `[` or `(` left open at the end of `text`, skipping strings, comments and
/// heredocs. Used to point at the opening of what a truncated file left unclosed.
fn innermost_unclosed(text: &str) -> Option<(char, usize)> {
    innermost_open(text, false)
}

/// The innermost open bracket at the end of `text`; with `interpolations`, an open `${` (as `$`)
/// counts too.
fn innermost_open(text: &str, interpolations: bool) -> Option<(char, usize)> {
    // Each entry: the bracket and its offset; `$` marks a `${` inside a string.
    let mut stack: Vec<(char, usize)> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                b'$' | b'%'
                    if bytes.get(i + 1) == Some(&b'{')
                        && bytes.get(i.wrapping_sub(1)) != Some(&c) =>
                {
                    stack.push(('$', i));
                    in_string = false;
                    i += 1;
                }
                b'\n' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'#' => i = text[i..].find('\n').map_or(bytes.len(), |e| i + e),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |e| i + e)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 1)
            }
            b'<' if text[i..].starts_with("<<") => {
                if let Some(heredoc) = heredoc_at(text, i) {
                    i = heredoc.close_end.unwrap_or(bytes.len());
                }
            }
            b'{' | b'[' | b'(' => stack.push((c as char, i)),
            b'}' | b']' | b')' => {
                if let Some((open, _)) = stack.pop() {
                    if open == '$' {
                        in_string = true;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    stack
        .into_iter()
        .rev()
        .find(|(c, _)| interpolations || *c != '$')
}
