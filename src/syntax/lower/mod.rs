//! Lowering pest's parse tree into the spanned AST, enforcing the rules the grammar leaves to
//! spans: newlines between body items, one-line blocks, expressions that stay on their line
//! outside brackets, unique attribute names.

mod body;
mod expr;
mod template;

use super::ast::*;
use super::error;
use super::parser::{HclParser, Rule};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use pest::iterators::{Pair, Pairs};
use pest::Parser;

/// How deeply brackets may nest. Real templates stay under ten levels; the limit keeps the
/// recursive parser and lowering far from the end of a thread's stack on hostile input.
pub(super) const MAX_NESTING: usize = 100;

/// How many `?` a file may hold. Each may open a conditional, which nests without brackets.
const MAX_CONDITIONALS: usize = 100_000;

/// Stack the parser and the lowering use at most per bracket level and per conditional, measured
/// in unoptimised builds and doubled or more; and for the rest of a parse.
const STACK_PER_BRACKET: usize = 16 * 1024;
const STACK_PER_CONDITIONAL: usize = 1024;
const STACK_BASE: usize = 256 * 1024;

/// Reject input nesting brackets deeper than [`MAX_NESTING`] or holding more than
/// [`MAX_CONDITIONALS`] `?`, before the recursive parser sees it; otherwise, the stack the parse
/// needs. Brackets and `?` inside strings count too: erring on the safe side costs nothing real.
fn check_nesting(file: FileId, text: &str) -> Result<usize, Diagnostic> {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut conditionals = 0usize;
    // `%{ if }` and `%{ for }` directives nest without brackets: their own depth.
    let mut directives = 0usize;
    let bytes = text.as_bytes();
    let mut count = |i: usize, b: u8| -> Result<(), Diagnostic> {
        match b {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if b == b'{' && i > 0 && bytes[i - 1] == b'%' {
                    match directive_word(&bytes[i + 1..]) {
                        Some(b"if" | b"for") => directives += 1,
                        Some(b"endif" | b"endfor") => directives = directives.saturating_sub(1),
                        _ => {}
                    }
                }
                deepest = deepest.max(depth + directives);
                if depth + directives > MAX_NESTING {
                    return Err(
                        Diagnostic::error(Span::new(file, i, i + 1), format!("brackets and template directives nest more than {MAX_NESTING} levels deep here"))
                            .with_hint("kiln limits nesting so hostile input cannot exhaust its stack; flatten the structure"),
                    );
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'?' => {
                conditionals += 1;
                if conditionals > MAX_CONDITIONALS {
                    return Err(
                        Diagnostic::error(Span::new(file, i, i + 1), format!("the file holds more than {MAX_CONDITIONALS} `?`"))
                            .with_hint("each `?` may nest a conditional, and kiln limits nesting so hostile input cannot exhaust its stack; split the file"),
                    );
                }
            }
            _ => {}
        }
        Ok(())
    };
    // Every byte of every file passes here: eight at a time, only the few that count are looked at.
    let mut words = text.as_bytes().chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let mut hits = brackets_and_questions(u64::from_le_bytes(
            word.try_into().expect("chunks of eight bytes"),
        ));
        while hits != 0 {
            let k = hits.trailing_zeros() as usize / 8;
            count(at + k, word[k])?;
            hits &= hits - 1;
        }
        at += 8;
    }
    for (k, &b) in words.remainder().iter().enumerate() {
        count(at + k, b)?;
    }
    Ok(STACK_BASE + deepest * STACK_PER_BRACKET + conditionals * STACK_PER_CONDITIONAL)
}

/// The keyword opening a template directive, after `%{`: `if`, `for`, `endif`, ...
fn directive_word(rest: &[u8]) -> Option<&[u8]> {
    let start = rest
        .iter()
        .position(|b| !matches!(b, b'~' | b' ' | b'\t' | b'\r' | b'\n'))?;
    let word = &rest[start..];
    let end = word
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(word.len());
    Some(&word[..end])
}

/// The high bit of each byte of `word` that is a bracket or `?`, and no other bit.
fn brackets_and_questions(word: u64) -> u64 {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let each = |byte: u8| u64::from_ne_bytes([byte; 8]);
    // The high bit of each byte that is not zero: the low seven bits cannot carry out of it.
    let nonzero = |v: u64| ((v & LOW) + LOW) | v;
    // `(` and `)` differ in bit 0; `[` and `{`, like `]` and `}`, in bit 5.
    let parens = (word & !each(0x01)) ^ each(b'(');
    let folded = word | each(0x20);
    let opening = folded ^ each(b'{');
    let closing = folded ^ each(b'}');
    let question = word ^ each(b'?');
    !(nonzero(parens) & nonzero(opening) & nonzero(closing) & nonzero(question)) & !LOW
}

/// Run `parse` where at least `stack` bytes of stack remain, on a new stack if need be: pest
/// recurses once per nesting level and, built without `std`, has no stack guard of its own.
fn with_stack<T>(stack: usize, parse: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(stack, stack, parse)
}

pub(super) fn parse_file(file: FileId, text: &str) -> Result<Body, Vec<Diagnostic>> {
    parse_and_lower(
        file,
        text,
        Rule::file,
        |lower, whole| {
            let body = whole
                .into_inner()
                .find(|p| p.as_rule() == Rule::body)
                .expect("a file holds a body");
            lower.body(body, None)
        },
        |lower, err| lower.recover(err),
    )
}

pub(super) fn parse_template_file(file: FileId, text: &str) -> Result<Template, Vec<Diagnostic>> {
    parse_and_lower(
        file,
        text,
        Rule::template_file,
        |lower, whole| lower.template(whole, false),
        |lower, err| {
            lower.diags.push(error::translate(&err, file, text, 0));
            Template::default()
        },
    )
}

pub(super) fn parse_expression(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    parse_and_lower(
        file,
        text,
        Rule::expression_file,
        |lower, whole| {
            let expr = whole
                .into_inner()
                .find(|p| p.as_rule() == Rule::expression)
                .expect("an expression file holds an expression");
            lower.expr(expr, false)
        },
        |lower, err| {
            lower.diags.push(error::translate(&err, file, text, 0));
            Expr {
                kind: ExprKind::Null,
                span: lower.span(0, 0),
            }
        },
    )
}

/// Parse `text` from `rule` on a stack deep enough for it, after the nesting limits, and lower
/// the result: `lower` gets the rule's one pair, `failed` pest's error. Diagnostics either pushes
/// make the result an error.
fn parse_and_lower<'a, T>(
    file: FileId,
    text: &'a str,
    rule: Rule,
    lower: impl FnOnce(&mut Lower<'a>, Pair<'a, Rule>) -> T,
    failed: impl FnOnce(&mut Lower<'a>, pest::error::Error<Rule>) -> T,
) -> Result<T, Vec<Diagnostic>> {
    let stack = check_nesting(file, text).map_err(|diag| vec![diag])?;
    let mut state = Lower::new(file, text);
    with_stack(stack, || {
        let value = match HclParser::parse(rule, text) {
            Ok(mut pairs) => lower(&mut state, pairs.next().expect("a rule yields one pair")),
            Err(err) => failed(&mut state, err),
        };
        state.finish(value)
    })
}

/// State of one file's lowering: where it is and what went wrong so far.
pub(super) struct Lower<'a> {
    pub(super) file: FileId,
    pub(super) text: &'a str,
    /// Offset added to pest positions when a suffix of the file is being parsed (recovery).
    base: usize,
    pub(super) diags: Vec<Diagnostic>,
    /// How many expressions enclose the one being lowered.
    depth: usize,
    /// Set once an expression passed [`MAX_EXPRESSION_DEPTH`], so it is reported once.
    too_deep: bool,
}

/// How deeply expressions may nest (conditional chains, operator chains, traversals). The
/// evaluator recurses over the tree, so the limit keeps hostile input from exhausting the stack.
const MAX_EXPRESSION_DEPTH: usize = 512;

impl<'a> Lower<'a> {
    fn new(file: FileId, text: &'a str) -> Lower<'a> {
        Lower {
            depth: 0,
            too_deep: false,
            file,
            text,
            base: 0,
            diags: Vec::new(),
        }
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.diags.iter().any(Diagnostic::is_error) {
            let mut diags = self.diags;
            diags.sort_by_key(|d| d.span.map(|s| (s.start, s.end)));
            Err(diags)
        } else {
            Ok(value)
        }
    }

    /// Parse item by item after a syntax error, so every broken top-level item is reported.
    fn recover(&mut self, first: pest::error::Error<Rule>) -> Body {
        let mut items = Vec::new();
        let mut offset = 0;
        let mut reported_first = false;
        loop {
            offset = skip_trivia(self.text, offset);
            if offset >= self.text.len() {
                break;
            }
            self.base = offset;
            match HclParser::parse(Rule::top_item, &self.text[offset..]) {
                Ok(mut pairs) => {
                    let top = pairs.next().expect("top_item yields one pair");
                    let item = top
                        .into_inner()
                        .find(|p| matches!(p.as_rule(), Rule::attribute | Rule::block))
                        .expect("a top item holds an attribute or a block");
                    let end = self.base + item.as_span().end();
                    items.push(self.structure(item));
                    offset = end;
                }
                Err(err) => {
                    let diag = error::translate(&err, self.file, self.text, offset);
                    reported_first = true;
                    self.diags.push(diag);
                    let at = offset + error::position(&err);
                    if at >= self.text.len() {
                        break;
                    }
                    match next_item_line(self.text, at) {
                        Some(next) => offset = next,
                        None => break,
                    }
                }
            }
        }
        self.base = 0;
        if !reported_first {
            // The whole-file parse failed where the item-by-item one did not: report it as is.
            self.diags
                .push(error::translate(&first, self.file, self.text, 0));
        }
        let span = self.span(0, self.text.len());
        let body = Body { items, span };
        self.check_body_items(&body, None);
        body
    }

    pub(super) fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    pub(super) fn pair_span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        self.span(self.base + s.start(), self.base + s.end())
    }

    /// The span from the first of `pairs` to the last, without making a `Pair` of either.
    fn pairs_span(&self, pairs: &Pairs<Rule>) -> Span {
        let text = pairs.as_str();
        let start = text.as_ptr() as usize - pairs.get_input().as_ptr() as usize;
        self.span(self.base + start, self.base + start + text.len())
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.pair_span(&pair),
        }
    }

    // ───────────── newline rules ─────────────

    /// Whether the text between two offsets holds a newline (a line comment counts as one;
    /// an inline comment does not).
    fn has_newline(&self, from: u32, to: u32) -> bool {
        self.first_newline(from, to).is_some()
    }

    /// The span of the first newline (or line comment) between two offsets.
    fn first_newline(&self, from: u32, to: u32) -> Option<Span> {
        let (from, to) = (from as usize, to as usize);
        let gap = self.text.get(from..to)?;
        let bytes = gap.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => return Some(self.span(from + i, from + i + 1)),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    return Some(self.span(from + i, from + i + 2))
                }
                b'#' => return Some(self.line_comment_span(from + i)),
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    return Some(self.line_comment_span(from + i))
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = gap[i + 2..]
                        .find("*/")
                        .map_or(bytes.len(), |e| i + 2 + e + 2);
                }
                b'"' => {
                    // A quoted label or key inside the gap: skip to its end.
                    i = gap[i + 1..]
                        .find('"')
                        .map_or(bytes.len(), |e| i + 1 + e + 1);
                }
                _ => i += 1,
            }
        }
        None
    }

    fn line_comment_span(&self, start: usize) -> Span {
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |e| start + e + 1);
        self.span(start, end)
    }

    /// Report a newline between two parts of an expression that must stay on one line.
    fn forbid_newline(&mut self, from: u32, to: u32) {
        if let Some(newline) = self.first_newline(from, to) {
            self.diags.push(
                Diagnostic::error(newline, "unexpected newline inside an expression")
                    .with_hint("outside ( ), [ ] and { } an expression must stay on one line; wrap it in parentheses to continue it on the next line"),
            );
        }
    }
}

/// The key and value variables of a `for` (an expression's or a directive's).
fn split_vars(mut names: Vec<Ident>) -> (Option<Ident>, Ident) {
    let value = names.pop().expect("a for names at least one variable");
    (names.pop(), value)
}

/// Skip whitespace and comments from `offset`.
fn skip_trivia(text: &str, mut offset: usize) -> usize {
    let bytes = text.as_bytes();
    while offset < bytes.len() {
        match bytes[offset] {
            b' ' | b'\t' | b'\r' | b'\n' => offset += 1,
            b'#' => {
                offset = text[offset..]
                    .find('\n')
                    .map_or(text.len(), |e| offset + e + 1)
            }
            b'/' if bytes.get(offset + 1) == Some(&b'/') => {
                offset = text[offset..]
                    .find('\n')
                    .map_or(text.len(), |e| offset + e + 1)
            }
            b'/' if bytes.get(offset + 1) == Some(&b'*') => match text[offset + 2..].find("*/") {
                Some(e) => offset = offset + 2 + e + 2,
                None => return offset,
            },
            _ => return offset,
        }
    }
    offset
}

/// The start of the next line after `at` that begins (in column 1) with an identifier: where
/// the next top-level item most likely starts.
fn next_item_line(text: &str, at: usize) -> Option<usize> {
    let mut pos = at;
    loop {
        let nl = text[pos..].find('\n')?;
        pos += nl + 1;
        let line = &text[pos..text[pos..].find('\n').map_or(text.len(), |e| pos + e)];
        let c = line.chars().next()?;
        let word_end = line
            .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '-'))
            .unwrap_or(line.len());
        let after = line[word_end..].trim_start();
        let starts_item = after.starts_with('=')
            || after.starts_with('{')
            || after.starts_with('"')
            || after.starts_with(|ch: char| ch.is_alphabetic());
        if (c.is_alphabetic() || c == '_') && starts_item {
            return Some(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_questions_marks_exactly_those_bytes_in_every_position() {
        for b in 0..=u8::MAX {
            let wanted = b"{[()]}?".contains(&b);
            for k in 0..8 {
                let mut word = [b'a'; 8];
                word[k] = b;
                let expected = if wanted { 0x80 << (8 * k) } else { 0 };
                assert_eq!(
                    brackets_and_questions(u64::from_le_bytes(word)),
                    expected,
                    "byte {b:#04x} at {k}"
                );
            }
        }
        let mixed = u64::from_le_bytes(*b"(\0?\xff]{)\x01");
        assert_eq!(brackets_and_questions(mixed), 0x0080_8080_0080_0080);
    }
}
