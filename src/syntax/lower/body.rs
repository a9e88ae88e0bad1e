//! Lowering bodies: attributes, blocks and their labels, with the rules on newlines between
//! items, one-line blocks and unique attribute names.

use super::Lower;
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::syntax::ast::*;
use crate::syntax::parser::Rule;
use pest::iterators::Pair;
use std::collections::BTreeMap;

impl Lower<'_> {
    /// A body; `braces` holds the block's `{` and `}` spans when it is a block body.
    pub(super) fn body(&mut self, pair: Pair<Rule>, braces: Option<(Span, Span)>) -> Body {
        let span = self.pair_span(&pair);
        let items: Vec<Structure> = pair.into_inner().map(|item| self.structure(item)).collect();
        let body = Body { items, span };
        self.check_body_items(&body, braces);
        body
    }

    pub(super) fn structure(&mut self, pair: Pair<Rule>) -> Structure {
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
    pub(super) fn check_body_items(&mut self, body: &Body, braces: Option<(Span, Span)>) {
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
