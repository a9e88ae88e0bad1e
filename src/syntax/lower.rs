//! Lowering pest's parse tree into the spanned AST, enforcing the rules the grammar leaves to
//! spans: newlines between body items, one-line blocks, expressions that stay on their line
//! outside brackets, unique attribute names.

use super::ast::*;
use super::error;
use super::parser::{HclParser, Rule};
use super::template::{self, Flat};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use pest::iterators::{Pair, Pairs};
use pest::Parser;
use std::collections::BTreeMap;

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
    let mut count = |i: usize, b: u8| -> Result<(), Diagnostic> {
        match b {
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > MAX_NESTING {
                    return Err(
                        Diagnostic::error(Span::new(file, i, i + 1), format!("brackets nest more than {MAX_NESTING} levels deep here"))
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
    if let Some(diag) = Lower::new(file, text).check_encoding() {
        return Err(vec![diag]);
    }
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

    fn check_encoding(&self) -> Option<Diagnostic> {
        if self.text.starts_with('\u{feff}') {
            return Some(
                Diagnostic::error(self.span(0, 3), "the file starts with a byte order mark")
                    .with_hint("HCL files are plain UTF-8; save the file without a BOM"),
            );
        }
        None
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

    // ───────────── structure ─────────────

    /// A body; `braces` holds the block's `{` and `}` spans when it is a block body.
    fn body(&mut self, pair: Pair<Rule>, braces: Option<(Span, Span)>) -> Body {
        let span = self.pair_span(&pair);
        let items: Vec<Structure> = pair.into_inner().map(|item| self.structure(item)).collect();
        let body = Body { items, span };
        self.check_body_items(&body, braces);
        body
    }

    fn structure(&mut self, pair: Pair<Rule>) -> Structure {
        match pair.as_rule() {
            Rule::attribute => Structure::Attribute(self.attribute(pair)),
            Rule::block => Structure::Block(self.block(pair)),
            rule => unreachable!("a body holds attributes and blocks, not {rule:?}"),
        }
    }

    fn attribute(&mut self, pair: Pair<Rule>) -> Attribute {
        let span = self.pair_span(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next().expect("an attribute has a name"));
        let value = inner.next().expect("an attribute has a value");
        let expr = self.expr(value, true);
        Attribute { name, expr, span }
    }

    fn block(&mut self, pair: Pair<Rule>) -> Block {
        let span = self.pair_span(&pair);
        let mut inner = pair.into_inner();
        let ident = self.ident(inner.next().expect("a block has a type"));
        let mut labels = Vec::new();
        let mut open_brace = span;
        let mut body_pair = None;
        let mut close_brace = span;
        for part in inner {
            match part.as_rule() {
                Rule::identifier => labels.push(BlockLabel {
                    value: part.as_str().to_string(),
                    quoted: false,
                    span: self.pair_span(&part),
                }),
                Rule::quoted_template => labels.push(self.block_label(part)),
                Rule::block_open => open_brace = self.pair_span(&part),
                Rule::block_body => body_pair = Some(part),
                Rule::block_close => close_brace = self.pair_span(&part),
                rule => unreachable!("unexpected {rule:?} in a block"),
            }
        }
        let body_pair = body_pair
            .and_then(|b| b.into_inner().find(|p| p.as_rule() == Rule::body))
            .expect("a block has a body");
        let body = self.body(body_pair, Some((open_brace, close_brace)));
        Block {
            ident,
            labels,
            body,
            open_brace,
            close_brace,
            span,
        }
    }

    fn block_label(&mut self, pair: Pair<Rule>) -> BlockLabel {
        let span = self.pair_span(&pair);
        let template = self.template(pair, false);
        let value = match template.as_literal() {
            Some(value) => value,
            None => {
                self.diags.push(
                    Diagnostic::error(span, "a block label cannot contain `${` or `%{` sequences")
                        .with_hint("labels are literal strings; write `$${` for a literal `${`"),
                );
                String::new()
            }
        };
        BlockLabel {
            value,
            quoted: true,
            span,
        }
    }

    /// Newlines between items, one-line block rules and unique attribute names.
    fn check_body_items(&mut self, body: &Body, braces: Option<(Span, Span)>) {
        // A B-tree compares the few names of a body faster than a hash map hashes them.
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for item in &body.items {
            if let Structure::Attribute(attr) = item {
                if let Some(first) = seen.get(attr.name.name.as_str()) {
                    let first = *first;
                    self.diags.push(
                        Diagnostic::error(
                            attr.name.span,
                            format!("the attribute `{}` is defined twice", attr.name.name),
                        )
                        .with_label(first, "first defined here")
                        .with_hint("each attribute may be set only once in a block"),
                    );
                } else {
                    seen.insert(&attr.name.name, attr.name.span);
                }
            }
        }
        let one_line = match (braces, body.items.first()) {
            (Some((open, _)), Some(first)) => !self.has_newline(open.end, first.span().start),
            _ => false,
        };
        if one_line {
            self.check_one_line_block(body, braces.expect("one-line bodies belong to blocks"));
            return;
        }
        for pair in body.items.windows(2) {
            let (prev, next) = (&pair[0], &pair[1]);
            if !self.has_newline(prev.span().end, next.span().start) {
                self.diags.push(missing_newline(
                    prev,
                    next.span().start_point().to(next.span()),
                ));
            }
        }
        if let (Some(last), Some((_, close))) = (body.items.last(), braces) {
            if !self.has_newline(last.span().end, close.start) {
                self.diags.push(missing_newline(last, close));
            }
        }
    }

    fn check_one_line_block(&mut self, body: &Body, (_, close): (Span, Span)) {
        let first = &body.items[0];
        if let Structure::Block(inner) = first {
            self.diags.push(
                Diagnostic::error(
                    inner.span,
                    "a one-line block cannot contain another block",
                )
                .with_hint("put the block's contents on their own lines, then close it with `}` on a line of its own"),
            );
            return;
        }
        let end = first.span().end;
        let next = body.items.get(1).map_or(close.start, |i| i.span().start);
        if let Some(newline) = self.first_newline(end, next) {
            self.diags.push(
                Diagnostic::error(
                    newline,
                    "a one-line block must be closed on the same line",
                )
                .with_hint("put `}` right after the attribute, or move the attribute onto its own line below the `{`"),
            );
        } else if let Some(second) = body.items.get(1) {
            self.diags.push(
                Diagnostic::error(
                    second.span(),
                    "a one-line block holds at most one attribute",
                )
                .with_hint("write the block over several lines, one attribute per line"),
            );
        }
    }

    // ───────────── expressions ─────────────

    /// Lower an expression; `on_one_line` is true outside brackets, where HCL forbids newlines.
    pub(super) fn expr(&mut self, pair: Pair<Rule>, on_one_line: bool) -> Expr {
        let span = self.pair_span(&pair);
        self.nested(span, |lower| lower.expr_inner(pair, on_one_line, span))
    }

    /// Lower one level of expression nesting covering `span`, or report it as too deep.
    fn nested(&mut self, span: Span, lower: impl FnOnce(&mut Self) -> Expr) -> Expr {
        if self.depth >= MAX_EXPRESSION_DEPTH {
            self.report_too_deep(span);
            return Expr {
                kind: ExprKind::Null,
                span,
            };
        }
        self.depth += 1;
        let expr = lower(self);
        self.depth -= 1;
        expr
    }

    fn report_too_deep(&mut self, span: Span) {
        if !self.too_deep {
            self.too_deep = true;
            self.diags.push(
                Diagnostic::error(span, format!("this expression nests more than {MAX_EXPRESSION_DEPTH} levels deep"))
                    .with_hint("kiln limits nesting so hostile input cannot exhaust its stack; split the expression into locals"),
            );
        }
    }

    fn expr_inner(&mut self, pair: Pair<Rule>, on_one_line: bool, span: Span) -> Expr {
        match pair.as_rule() {
            Rule::expression => self.expression(pair, on_one_line, span),
            Rule::number => Expr {
                kind: ExprKind::Number(pair.as_str().to_string()),
                span,
            },
            Rule::boolean => Expr {
                kind: ExprKind::Bool(pair.as_str() == "true"),
                span,
            },
            Rule::null => Expr {
                kind: ExprKind::Null,
                span,
            },
            Rule::variable => {
                let ident = self.ident(pair.into_inner().next().expect("a variable has a name"));
                Expr {
                    kind: ExprKind::Variable(ident),
                    span,
                }
            }
            Rule::parens => {
                let inner = pair
                    .into_inner()
                    .next()
                    .expect("parentheses hold an expression");
                let inner = self.expr(inner, false);
                Expr {
                    kind: ExprKind::Parens(Box::new(inner)),
                    span,
                }
            }
            Rule::tuple => {
                let items = pair.into_inner().map(|p| self.expr(p, false)).collect();
                Expr {
                    kind: ExprKind::Tuple(items),
                    span,
                }
            }
            Rule::object => self.object(pair),
            Rule::function_call => self.function_call(pair, on_one_line),
            Rule::for_tuple | Rule::for_object => self.for_expr(pair),
            Rule::quoted_template => {
                let template = self.template(pair, false);
                Expr {
                    kind: ExprKind::Template(template),
                    span,
                }
            }
            Rule::heredoc => {
                let template = self.heredoc(pair);
                Expr {
                    kind: ExprKind::Template(template),
                    span,
                }
            }
            rule => unreachable!("unexpected {rule:?} where an expression belongs"),
        }
    }

    /// An expression's flat children: the operator chain, then perhaps a conditional tail.
    fn expression(&mut self, pair: Pair<Rule>, on_one_line: bool, span: Span) -> Expr {
        let mut chain = pair.into_inner();
        let tail = chain
            .clone()
            .next_back()
            .filter(|last| last.as_rule() == Rule::conditional_tail);
        if tail.is_some() {
            chain.next_back();
        }
        let op_span = self.pairs_span(&chain);
        // The chain and each operand count as a nesting level, as the evaluator's tree has them.
        let condition = self.nested(op_span, |lower| {
            lower.operation(chain, on_one_line, op_span)
        });
        let Some(tail) = tail else {
            return condition;
        };
        let tail_span = self.pair_span(&tail);
        let mut branches = tail.into_inner();
        let yes = branches.next().expect("a conditional has a true result");
        let no = branches.next().expect("a conditional has a false result");
        if on_one_line {
            let (ys, ns) = (self.pair_span(&yes), self.pair_span(&no));
            self.forbid_newline(op_span.end, tail_span.start);
            self.forbid_newline(tail_span.start, ys.start);
            self.forbid_newline(ys.end, ns.start);
        }
        let yes = self.expr(yes, on_one_line);
        let no = self.expr(no, on_one_line);
        Expr {
            kind: ExprKind::Conditional(Box::new(condition), Box::new(yes), Box::new(no)),
            span,
        }
    }

    /// Operands with their prefix operators and suffixes, and the binary operators between them,
    /// folded by precedence (left-associative within a level) as they are read.
    fn operation(&mut self, chain: Pairs<Rule>, on_one_line: bool, whole: Span) -> Expr {
        // A chain of operators folds into a tree as deep as the chain is long; a chain has fewer
        // operators than children, so only a long one needs them counted.
        if self.depth + chain.len() > MAX_EXPRESSION_DEPTH {
            let operators = chain
                .clone()
                .filter(|p| p.as_rule() == Rule::binary_op)
                .count();
            if self.depth + operators > MAX_EXPRESSION_DEPTH {
                self.report_too_deep(whole);
                return Expr {
                    kind: ExprKind::Null,
                    span: whole,
                };
            }
        }
        // The end of the child before, to check the gap up to the next one.
        let mut prev_end = None;
        let mut gap_to = |lower: &mut Self, next: Span| {
            if let Some(end) = prev_end.replace(next.end) {
                if on_one_line {
                    lower.forbid_newline(end, next.start);
                }
            }
        };
        // Left operands still waiting for their right side, each with its operator; their
        // precedences rise from bottom to top.
        let mut waiting: Vec<(Expr, BinaryOp)> = Vec::new();
        let mut operand = None;
        let mut prefix: Vec<(UnaryOp, Span)> = Vec::new();
        let mut chain = chain.peekable();
        while let Some(child) = chain.next() {
            let child_span = self.pair_span(&child);
            gap_to(self, child_span);
            match child.as_rule() {
                Rule::unary_op => {
                    let op = if child.as_str() == "-" {
                        UnaryOp::Negate
                    } else {
                        UnaryOp::Not
                    };
                    prefix.push((op, child_span));
                }
                Rule::binary_op => {
                    let op = binary_op(child.as_str());
                    let mut rhs = operand
                        .take()
                        .expect("a binary operator follows an operand");
                    while let Some((lhs, left)) =
                        waiting.pop_if(|(_, left)| left.precedence() >= op.precedence())
                    {
                        rhs = binary(lhs, left, rhs);
                    }
                    waiting.push((rhs, op));
                }
                _ => {
                    let steps = chain.clone();
                    let mut whole = child_span;
                    let mut count = 0;
                    while let Some(step) = chain.next_if(|p| is_postfix(p.as_rule())) {
                        let step_span = self.pair_span(&step);
                        gap_to(self, step_span);
                        whole = whole.to(step_span);
                        count += 1;
                    }
                    let mut term = self.nested(whole, |lower| {
                        lower.postfix_term(child, steps.take(count), on_one_line, whole)
                    });
                    while let Some((op, op_span)) = prefix.pop() {
                        let span = op_span.to(term.span);
                        term = Expr {
                            kind: ExprKind::Unary(op, Box::new(term)),
                            span,
                        };
                    }
                    operand = Some(term);
                }
            }
        }
        let mut rhs = operand.expect("an operation ends with an operand");
        while let Some((lhs, op)) = waiting.pop() {
            rhs = binary(lhs, op, rhs);
        }
        rhs
    }

    /// A term with its index, attribute and splat suffixes.
    fn postfix_term<'i>(
        &mut self,
        term: Pair<'i, Rule>,
        steps: impl ExactSizeIterator<Item = Pair<'i, Rule>>,
        on_one_line: bool,
        whole: Span,
    ) -> Expr {
        if self.depth + 1 + steps.len() > MAX_EXPRESSION_DEPTH {
            self.report_too_deep(whole);
            return Expr {
                kind: ExprKind::Null,
                span: whole,
            };
        }
        let mut expr = self.expr(term, on_one_line);
        // The splat being built and its span, while later steps still apply to each element.
        let mut splat: Option<(Expr, Vec<Traversal>, bool)> = None;
        for step in steps {
            let step_span = self.pair_span(&step);
            if on_one_line && step.as_rule() == Rule::attr_splat {
                self.forbid_newline(step_span.start, step_span.end);
            }
            match step.as_rule() {
                Rule::full_splat | Rule::attr_splat => {
                    if let Some((source, each, full)) = splat.take() {
                        expr = close_splat(source, each, full, expr.span);
                    }
                    splat = Some((expr.clone(), Vec::new(), step.as_rule() == Rule::full_splat));
                    expr.span = expr.span.to(step_span);
                }
                Rule::get_attr => {
                    let name = step
                        .into_inner()
                        .next()
                        .expect("an attribute access has a name");
                    let ident = self.ident(name);
                    match &mut splat {
                        Some((_, each, _)) => each.push(Traversal::Attr(ident)),
                        None => {
                            expr = Expr {
                                span: expr.span.to(step_span),
                                kind: ExprKind::GetAttr(Box::new(expr), ident),
                            }
                        }
                    }
                    expr.span = expr.span.to(step_span);
                }
                Rule::index => {
                    let key = step.into_inner().next().expect("an index holds a key");
                    let key = self.expr(key, false);
                    match &mut splat {
                        Some((_, each, true)) => each.push(Traversal::Index(key)),
                        Some((source, each, false)) => {
                            // An index ends an attribute-only splat and applies to its result.
                            let whole =
                                close_splat(source.clone(), std::mem::take(each), false, expr.span);
                            splat = None;
                            expr = Expr {
                                span: whole.span.to(step_span),
                                kind: ExprKind::Index(Box::new(whole), Box::new(key)),
                            };
                        }
                        None => {
                            expr = Expr {
                                span: expr.span.to(step_span),
                                kind: ExprKind::Index(Box::new(expr), Box::new(key)),
                            }
                        }
                    }
                    expr.span = expr.span.to(step_span);
                }
                rule => unreachable!("unexpected {rule:?} after a term"),
            }
        }
        match splat {
            Some((source, each, full)) => close_splat(source, each, full, expr.span),
            None => expr,
        }
    }

    fn object(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.pair_span(&pair);
        let mut items = Vec::new();
        let mut prev_end: Option<u32> = None;
        for item in pair.into_inner() {
            let item_span = self.pair_span(&item);
            if let Some(end) = prev_end {
                let gap = &self.text[end as usize..item_span.start as usize];
                if !gap.contains(',') && !self.has_newline(end, item_span.start) {
                    self.diags.push(
                        Diagnostic::error(
                            item_span.start_point().to(item_span),
                            "missing `,` or newline between object items",
                        )
                        .with_hint("separate the items of an object with commas or newlines"),
                    );
                }
            }
            prev_end = Some(item_span.end);
            let mut inner = item.into_inner();
            let key = inner.next().expect("an object item has a key");
            let value = inner.next().expect("an object item has a value");
            let (ks, vs) = (self.pair_span(&key), self.pair_span(&value));
            self.forbid_newline(ks.end, vs.start);
            let key = self.expr(key, true);
            let value = self.expr(value, true);
            items.push(ObjectItem { key, value });
        }
        Expr {
            kind: ExprKind::Object(items),
            span,
        }
    }

    fn function_call(&mut self, pair: Pair<Rule>, on_one_line: bool) -> Expr {
        let span = self.pair_span(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next().expect("a call has a name"));
        if on_one_line {
            let paren = self.text[name.span.end as usize..span.end as usize]
                .find('(')
                .map_or(span.end, |i| name.span.end + i as u32);
            self.forbid_newline(name.span.end, paren);
        }
        let mut args = Vec::new();
        let mut expand_final = false;
        if let Some(list) = inner.next() {
            for arg in list.into_inner() {
                if arg.as_rule() == Rule::expand_final {
                    expand_final = true;
                } else {
                    args.push(self.expr(arg, false));
                }
            }
        }
        Expr {
            kind: ExprKind::FunctionCall(FunctionCall {
                name,
                args,
                expand_final,
            }),
            span,
        }
    }

    fn for_expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.pair_span(&pair);
        let is_object = pair.as_rule() == Rule::for_object;
        let mut inner = pair.into_inner();
        let intro = inner.next().expect("a for expression has an intro");
        let mut names = Vec::new();
        let mut collection = None;
        for part in intro.into_inner() {
            match part.as_rule() {
                Rule::identifier => names.push(self.ident(part)),
                _ => collection = Some(self.expr(part, false)),
            }
        }
        let (key_var, value_var) = split_vars(names);
        let first = self.expr(inner.next().expect("a for expression has a result"), false);
        let (key_expr, value_expr) = if is_object {
            let value = self.expr(inner.next().expect("an object for has a value"), false);
            (Some(first), value)
        } else {
            (None, first)
        };
        let mut grouped = false;
        let mut condition = None;
        for rest in inner {
            match rest.as_rule() {
                Rule::for_group => grouped = true,
                Rule::for_cond => {
                    let cond = rest.into_inner().next().expect("an if holds a condition");
                    condition = Some(self.expr(cond, false));
                }
                rule => unreachable!("unexpected {rule:?} in a for expression"),
            }
        }
        Expr {
            kind: ExprKind::For(Box::new(ForExpr {
                key_var,
                value_var,
                collection: collection.expect("a for expression has a collection"),
                key_expr,
                value_expr,
                condition,
                grouped,
            })),
            span,
        }
    }

    // ───────────── templates ─────────────

    /// A quoted template (or a template file): its parts, escapes decoded, directives nested.
    pub(super) fn template(&mut self, pair: Pair<Rule>, heredoc: bool) -> Template {
        let parts = pair.into_inner();
        // Most strings are one literal: nothing to collect, strip or nest.
        if parts.len() == 1 {
            if let Some((text, span)) = parts.peek().and_then(|only| self.literal(&only)) {
                return template::plain(text, span, heredoc);
            }
        }
        let flat = self.flat_parts(parts);
        template::build(self, flat, heredoc)
    }

    fn heredoc(&mut self, pair: Pair<Rule>) -> Template {
        let mut inner = pair.into_inner().peekable();
        let open = inner.next().expect("a heredoc has an opening marker");
        let flush = open
            .into_inner()
            .any(|p| p.as_rule() == Rule::heredoc_flush);
        let mut flat = self.flat_parts(inner.filter(|p| p.as_rule() != Rule::heredoc_close));
        if flush {
            template::flush_heredoc(&mut flat);
        }
        template::build(self, flat, true)
    }

    fn flat_parts<'i>(&mut self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Vec<Flat> {
        let mut flat = Vec::new();
        for part in pairs {
            if let Some((text, span)) = self.literal(&part) {
                template::push_literal(&mut flat, text, span);
                continue;
            }
            let span = self.pair_span(&part);
            match part.as_rule() {
                Rule::template_interp => {
                    let mut inner = part.into_inner();
                    let open = inner.next().expect("an interpolation opens");
                    let strip_left = open.as_str().ends_with('~');
                    let expr = self.expr(
                        inner.next().expect("an interpolation holds an expression"),
                        false,
                    );
                    let close = inner.next().expect("an interpolation closes");
                    let strip_right = close.as_str().starts_with('~');
                    flat.push(Flat::Interp {
                        expr,
                        strip_left,
                        strip_right,
                    });
                }
                Rule::template_directive => {
                    let mut inner = part.into_inner();
                    let open = inner.next().expect("a directive opens");
                    let strip_left = open.as_str().ends_with('~');
                    let body = inner.next().expect("a directive has a keyword");
                    let close = inner.next().expect("a directive closes");
                    let strip_right = close.as_str().starts_with('~');
                    let directive = self.directive(body);
                    flat.push(Flat::Directive {
                        directive,
                        strip_left,
                        strip_right,
                        span,
                    });
                }
                // A template file's pairs end with pest's end-of-input marker.
                Rule::EOI => {}
                rule => unreachable!("unexpected {rule:?} in a template"),
            }
        }
        flat
    }

    /// A literal part's text, escapes decoded, and its span; `None` for any other part.
    fn literal(&mut self, part: &Pair<Rule>) -> Option<(String, Span)> {
        let span = self.pair_span(part);
        let text = match part.as_rule() {
            Rule::quoted_literal => template::unescape_quoted(self, part.as_str(), span),
            Rule::heredoc_text | Rule::heredoc_newline | Rule::template_file_literal => {
                template::unescape_markers(part.as_str())
            }
            _ => return None,
        };
        Some((text, span))
    }

    fn directive(&mut self, pair: Pair<Rule>) -> template::Directive {
        use template::Directive;
        match pair.as_rule() {
            Rule::directive_if => {
                let cond = pair.into_inner().next().expect("an if has a condition");
                Directive::If(self.expr(cond, false))
            }
            Rule::directive_else => Directive::Else,
            Rule::directive_endif => Directive::EndIf,
            Rule::directive_endfor => Directive::EndFor,
            Rule::directive_for => {
                let mut names = Vec::new();
                let mut collection = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::identifier => names.push(self.ident(part)),
                        _ => collection = Some(self.expr(part, false)),
                    }
                }
                let (key_var, value_var) = split_vars(names);
                Directive::For {
                    key_var,
                    value_var,
                    collection: collection.expect("a for directive has a collection"),
                }
            }
            rule => unreachable!("unexpected {rule:?} in a directive"),
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

fn missing_newline(prev: &Structure, at: Span) -> Diagnostic {
    let what = match prev {
        Structure::Attribute(_) => "attribute",
        Structure::Block(_) => "block",
    };
    let (message, hint) = if at.len() == 1 {
        (
            format!("missing newline after this {what}"),
            "put `}` on a line of its own",
        )
    } else {
        (
            format!("missing newline after the {what} before this"),
            "each attribute and block must start on a new line; commas separate items only inside [ ] and { } expressions",
        )
    };
    Diagnostic::error(at, message).with_hint(hint)
}

/// Whether a child of an expression is a suffix of the operand before it.
fn is_postfix(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::get_attr | Rule::index | Rule::attr_splat | Rule::full_splat
    )
}

fn binary_op(symbol: &str) -> BinaryOp {
    use BinaryOp::*;
    match symbol {
        "||" => Or,
        "&&" => And,
        "==" => Equal,
        "!=" => NotEqual,
        "<" => Less,
        "<=" => LessEqual,
        ">" => Greater,
        ">=" => GreaterEqual,
        "+" => Add,
        "-" => Subtract,
        "*" => Multiply,
        "/" => Divide,
        "%" => Modulo,
        other => unreachable!("the grammar has no binary operator {other:?}"),
    }
}

/// `lhs op rhs`, spanning both.
fn binary(lhs: Expr, op: BinaryOp, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
        span,
    }
}

fn close_splat(source: Expr, each: Vec<Traversal>, full: bool, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Splat(Splat {
            source: Box::new(source),
            each,
            full,
        }),
        span,
    }
}

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
