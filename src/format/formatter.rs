//! The layout rules of HashiCorp's `hclwrite.Format` (HCL v2.8, what Packer 1.6.6 runs), ported to
//! kiln's tokens.
//!
//! Formatting only ever changes the run of spaces before each token. The passes, in order:
//! 1. split the tokens into lines, and each line into up to three cells: `lead`, `assign` (from the
//!    `=` of a one-line attribute) and `comment` (a trailing comment);
//! 2. indent each line by its bracket nesting;
//! 3. set the spaces between neighbouring tokens of a cell;
//! 4. line up the `assign` and `comment` cells of consecutive lines.

use super::token::{scan, Token, TokenKind};
use super::width;
use std::ops::Range;

/// A token as `hclwrite` holds it: its bytes and how many spaces to write before them.
#[derive(Clone, Copy, Debug)]
struct WriterToken<'a> {
    kind: TokenKind,
    text: &'a str,
    spaces: usize,
}

/// One line of tokens, split into cells (ranges of indices into the token list).
#[derive(Clone, Debug)]
struct Line {
    lead: Range<usize>,
    assign: Option<Range<usize>>,
    comment: Option<Range<usize>>,
}

/// Stands in for the missing neighbour of a cell's first or last token.
const NIL: WriterToken<'static> = WriterToken {
    kind: TokenKind::Nil,
    text: "",
    spaces: 0,
};

/// Format `text`; input that does not lex is returned unchanged.
pub fn format(text: &str) -> String {
    let scanned = scan(text);
    if scanned.iter().any(|t| t.kind.is_error()) {
        return text.to_string();
    }
    let mut tokens = writer_tokens(text, &scanned);
    let lines = lines_for_format(&tokens);
    format_indent(&mut tokens, &lines);
    format_spaces(&mut tokens, &lines);
    format_cells(&mut tokens, &lines);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for token in &tokens {
        out.extend(std::iter::repeat_n(' ', token.spaces));
        out.push_str(token.text);
    }
    out
}

/// Attach to each token the number of bytes skipped before it. Only spaces and tabs are ever
/// skipped (and a leading byte-order mark), and `hclwrite` rewrites each skipped byte as a space.
fn writer_tokens<'a>(text: &'a str, scanned: &[Token]) -> Vec<WriterToken<'a>> {
    let mut last_end = 0;
    scanned
        .iter()
        .map(|t| {
            let spaces = t.start.saturating_sub(last_end);
            last_end = t.end;
            WriterToken {
                kind: t.kind,
                text: text.get(t.start..t.end).unwrap_or(""),
                spaces,
            }
        })
        .collect()
}

/// `#` and `//` comments swallow their newline, so they end a line too.
fn ends_line(token: &WriterToken) -> bool {
    match token.kind {
        TokenKind::Newline => true,
        TokenKind::Comment => token.text.ends_with('\n'),
        _ => false,
    }
}

/// +1 for what opens a nesting level, -1 for what closes one.
fn bracket_change(token: &WriterToken) -> i64 {
    use TokenKind::*;
    match token.kind {
        OBrace | OBrack | OParen | TemplateControl | TemplateInterp => 1,
        CBrace | CBrack | CParen | TemplateSeqEnd => -1,
        _ => 0,
    }
}

fn lines_for_format(tokens: &[WriterToken]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut line_start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if token.kind == TokenKind::Eof {
            // The end-of-input token belongs to no line; the text before it is the last line,
            // possibly empty.
            lines.push(line_start..i);
            line_start = tokens.len();
            break;
        }
        if ends_line(token) {
            lines.push(line_start..i + 1);
            line_start = i + 1;
        }
    }
    if line_start < tokens.len() {
        lines.push(line_start..tokens.len());
    }

    lines
        .into_iter()
        .map(|mut lead| {
            let mut line = Line {
                lead: lead.clone(),
                assign: None,
                comment: None,
            };
            if lead.len() > 1 && tokens[lead.end - 1].kind == TokenKind::Comment {
                line.comment = Some(lead.end - 1..lead.end);
                lead.end -= 1;
            }
            // Only the first `=` counts, and only when what follows it closes every bracket it
            // opens: an `=` followed by `{` starts a multi-line value, which is not aligned.
            if let Some(eq) =
                (lead.start + 1..lead.end).find(|&i| tokens[i].kind == TokenKind::Equal)
            {
                let net: i64 = tokens[eq..lead.end].iter().map(bracket_change).sum();
                if net == 0 {
                    line.assign = Some(eq..lead.end);
                    lead.end = eq;
                }
            }
            line.lead = lead;
            line
        })
        .collect()
}

/// Indent each line two spaces per open nesting level. A line that opens several brackets at
/// once (`foo({`) counts as one level, closed again by the line that closes them all.
fn format_indent(tokens: &mut [WriterToken], lines: &[Line]) {
    let mut indents: Vec<i64> = Vec::with_capacity(10);
    for line in lines {
        if line.lead.is_empty() {
            continue;
        }
        let first = line.lead.start;
        if tokens[first].kind == TokenKind::Newline {
            tokens[first].spaces = 0;
            continue;
        }
        let mut net = 0;
        for token in &tokens[line.lead.clone()] {
            net += bracket_change(token);
            // What follows a heredoc opener in the lead is the heredoc's own text.
            if token.kind == TokenKind::OHeredoc {
                break;
            }
        }
        if let Some(assign) = &line.assign {
            net += tokens[assign.clone()]
                .iter()
                .map(bracket_change)
                .sum::<i64>();
        }
        if net > 0 {
            tokens[first].spaces = 2 * indents.len();
            indents.push(net);
            continue;
        }
        let mut closed = -net;
        while closed > 0 {
            let Some(top) = indents.last_mut() else { break };
            if closed < *top {
                *top -= closed;
                closed = 0;
            } else {
                closed -= *top;
                indents.pop();
            }
        }
        tokens[first].spaces = 2 * indents.len();
    }
}

fn format_spaces(tokens: &mut [WriterToken], lines: &[Line]) {
    for line in lines {
        space_cell(tokens, line.lead.clone());
        if let Some(assign) = &line.assign {
            // One space between the name and its `=`; alignment may widen it later.
            tokens[assign.start].spaces = 1;
            space_cell(tokens, assign.clone());
        }
    }
}

/// Set the spaces before every token of a cell but the first.
fn space_cell(tokens: &mut [WriterToken], cell: Range<usize>) {
    for i in cell.start..cell.end.saturating_sub(1) {
        let before = if i > cell.start { tokens[i - 1] } else { NIL };
        let space = space_after(&tokens[i], &before, &tokens[i + 1]);
        tokens[i + 1].spaces = usize::from(space);
    }
}

/// Whether `subject` is followed by a space when `before` precedes it and `after` follows it.
fn space_after(subject: &WriterToken, before: &WriterToken, after: &WriterToken) -> bool {
    use TokenKind::*;
    let (s, a) = (subject.kind, after.kind);
    match () {
        _ if a == Newline || a == Nil => false,
        // A function name stays attached to its parenthesis.
        _ if s == Ident && a == OParen => false,
        _ if s == Dot || a == Dot => false,
        _ if a == Comma || a == Ellipsis => false,
        _ if s == Comma => true,
        // Template text is kept exactly as written.
        _ if matches!(s, QuotedLit | StringLit | OQuote | OHeredoc)
            || matches!(a, QuotedLit | StringLit | CQuote | CHeredoc) =>
        {
            false
        }
        // `for x in [foo]`: `in` is a keyword here, not something being indexed.
        _ if s == Ident && subject.text == "in" && before.kind == Ident => true,
        _ if a == OBrack && (s == Ident || s == NumberLit || bracket_change(subject) < 0) => false,
        // A minus after something that cannot end an operand is a negation.
        _ if s == Minus => !matches!(
            before.kind,
            Nil | OParen
                | OBrace
                | OBrack
                | Equal
                | Colon
                | Comma
                | Question
                | Plus
                | Star
                | Slash
                | Percent
                | Minus
                | EqualOp
                | NotEqual
                | GreaterThan
                | GreaterThanEq
                | LessThan
                | LessThanEq
                | And
                | Or
                | Bang
        ),
        // Braces get spaces inside (`{ a = 1 }`), except an empty pair (`{}`).
        _ if s == OBrace || a == CBrace => !(s == OBrace && a == CBrace),
        // `${ {` and `} }` keep a lone object constructor in an interpolation readable.
        _ if matches!(s, TemplateInterp | TemplateControl) && a == OBrace => true,
        _ if s == CBrace && a == TemplateSeqEnd => true,
        _ if s == TemplateSeqEnd && matches!(a, TemplateInterp | TemplateControl) => false,
        _ if bracket_change(subject) > 0 => false,
        _ if bracket_change(after) < 0 => false,
        _ => true,
    }
}

/// Columns a cell occupies, counting the spaces before each of its tokens.
fn columns(tokens: &[WriterToken], cell: &Range<usize>) -> usize {
    tokens[cell.clone()]
        .iter()
        .map(|t| t.spaces + width::columns(t.text))
        .sum()
}

/// Align the `=` of consecutive one-line attributes, then the trailing comments of consecutive
/// commented lines.
fn format_cells(tokens: &mut [WriterToken], lines: &[Line]) {
    align(
        tokens,
        lines,
        |line| line.assign.clone(),
        |tokens, line| columns(tokens, &line.lead),
    );
    align(
        tokens,
        lines,
        |line| line.comment.clone(),
        |tokens, line| {
            columns(tokens, &line.lead) + line.assign.as_ref().map_or(0, |a| columns(tokens, a))
        },
    );
}

/// For every run of consecutive lines that have the cell `cell` picks, put the cell one column
/// after the widest of what precedes it (`width`).
fn align(
    tokens: &mut [WriterToken],
    lines: &[Line],
    cell: impl Fn(&Line) -> Option<Range<usize>>,
    width: impl Fn(&[WriterToken], &Line) -> usize,
) {
    // (index of the cell's first token, width before it) for each line of the current run.
    let mut chain: Vec<(usize, usize)> = Vec::new();
    for line in lines {
        match cell(line) {
            Some(range) => chain.push((range.start, width(tokens, line))),
            None => close_chain(tokens, &mut chain),
        }
    }
    close_chain(tokens, &mut chain);
}

fn close_chain(tokens: &mut [WriterToken], chain: &mut Vec<(usize, usize)>) {
    let widest = chain.iter().map(|&(_, w)| w).max().unwrap_or(0);
    for &(first, w) in chain.iter() {
        tokens[first].spaces = widest - w + 1;
    }
    chain.clear();
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn aligns_equals_and_comments() {
        assert_eq!(
            format("a=1 # one\nbbb = \"x\"   # two\n"),
            "a   = 1   # one\nbbb = \"x\" # two\n"
        );
    }

    #[test]
    fn indents_nested_blocks() {
        assert_eq!(
            format("x {\ny {\nz=[1,2]\n}\n}\n"),
            "x {\n  y {\n    z = [1, 2]\n  }\n}\n"
        );
    }

    #[test]
    fn leaves_unlexable_input_alone() {
        assert_eq!(format("a = 1 & 2\n"), "a = 1 & 2\n");
    }
}
