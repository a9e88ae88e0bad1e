//! Lowering expressions: operators, traversals, splats, calls, collections and `for`.

use super::{split_vars, Lower, MAX_EXPRESSION_DEPTH};
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::syntax::ast::*;
use crate::syntax::parser::Rule;
use pest::iterators::{Pair, Pairs};

impl Lower<'_> {
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
        // Binary operators of one precedence stay one flat run, so the folded tree is as deep as
        // the precedence levels used plus the longest run of prefix operators (`- - - x` is
        // three levels); a chain has fewer of those than children, so only a long one is counted.
        if self.depth + chain.len() > MAX_EXPRESSION_DEPTH {
            let (mut run, mut prefixes) = (0, 0);
            let mut levels = [false; 8];
            for p in chain.clone() {
                match p.as_rule() {
                    Rule::unary_op => {
                        run += 1;
                        prefixes = prefixes.max(run);
                    }
                    Rule::binary_op => {
                        levels[usize::from(binary_op(p.as_str()).precedence())] = true;
                        run = 0;
                    }
                    _ => run = 0,
                }
            }
            let levels = levels.iter().filter(|&&used| used).count();
            if self.depth + prefixes + levels > MAX_EXPRESSION_DEPTH {
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

/// `lhs op rhs`, spanning both; appended to `lhs` when it is a run of the same precedence.
fn binary(lhs: Expr, op: BinaryOp, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    let kind = match lhs.kind {
        ExprKind::Binary(first, mut rest) if rest[0].0.precedence() == op.precedence() => {
            rest.push((op, rhs));
            ExprKind::Binary(first, rest)
        }
        kind => ExprKind::Binary(
            Box::new(Expr {
                kind,
                span: lhs.span,
            }),
            vec![(op, rhs)],
        ),
    };
    Expr { kind, span }
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
