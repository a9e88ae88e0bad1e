//! Lowering templates: quoted strings, heredocs, interpolations and directives.

use super::{split_vars, Lower};
use crate::source::Span;
use crate::syntax::ast::*;
use crate::syntax::parser::Rule;
use crate::syntax::template::{self, Flat};
use pest::iterators::Pair;

impl Lower<'_> {
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

    pub(super) fn heredoc(&mut self, pair: Pair<Rule>) -> Template {
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
}
