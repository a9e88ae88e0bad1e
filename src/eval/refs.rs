//! The variables an expression refers to, for ordering locals and data sources.

use crate::source::Span;
use crate::syntax::{Expr, ExprKind, Template, TemplatePart, Traversal};

/// A reference such as `local.name` or `data.amazon-ami.ubuntu.id`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// `local`, `var`, `data`, ...
    pub root: String,
    /// The attribute names that follow the root, in order.
    pub path: Vec<String>,
    pub span: Span,
}

/// Every reference in `expr` to a name not bound by an enclosing `for`.
pub fn references(expr: &Expr) -> Vec<Reference> {
    let mut out = Vec::new();
    walk(expr, &mut Vec::new(), &mut out);
    out
}

fn walk(expr: &Expr, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    if let Some(reference) = traversal(expr) {
        if !bound.contains(&reference.root) {
            out.push(reference);
        }
    }
    match &expr.kind {
        ExprKind::Null | ExprKind::Bool(_) | ExprKind::Number(_) | ExprKind::Variable(_) => {}
        ExprKind::Template(t) => walk_template(t, bound, out),
        ExprKind::Tuple(items) => items.iter().for_each(|e| walk(e, bound, out)),
        ExprKind::Object(items) => {
            for item in items {
                if item.bare_key().is_none() {
                    walk(&item.key, bound, out);
                }
                walk(&item.value, bound, out);
            }
        }
        ExprKind::FunctionCall(call) => call.args.iter().for_each(|e| walk(e, bound, out)),
        ExprKind::GetAttr(target, _) => {
            // The chain was recorded whole above; only look inside non-traversal roots.
            if traversal(expr).is_none() {
                walk(target, bound, out)
            }
        }
        ExprKind::Index(target, key) => {
            if traversal(expr).is_none() {
                walk(target, bound, out);
            }
            walk(key, bound, out);
        }
        ExprKind::Splat(s) => {
            walk(&s.source, bound, out);
            for step in &s.each {
                if let Traversal::Index(e) = step {
                    walk(e, bound, out);
                }
            }
        }
        ExprKind::Unary(_, e) | ExprKind::Parens(e) => walk(e, bound, out),
        ExprKind::Binary(first, rest) => {
            walk(first, bound, out);
            for (_, e) in rest {
                walk(e, bound, out);
            }
        }
        ExprKind::Conditional(c, a, b) => {
            walk(c, bound, out);
            walk(a, bound, out);
            walk(b, bound, out);
        }
        ExprKind::For(f) => {
            walk(&f.collection, bound, out);
            let depth = bound.len();
            bound.extend(f.key_var.iter().map(|k| k.name.clone()));
            bound.push(f.value_var.name.clone());
            if let Some(k) = &f.key_expr {
                walk(k, bound, out);
            }
            walk(&f.value_expr, bound, out);
            if let Some(c) = &f.condition {
                walk(c, bound, out);
            }
            bound.truncate(depth);
        }
    }
}

fn walk_template(t: &Template, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for part in &t.parts {
        match part {
            TemplatePart::Literal(..) => {}
            TemplatePart::Interpolation(e) => walk(e, bound, out),
            TemplatePart::If {
                condition,
                then,
                otherwise,
                ..
            } => {
                walk(condition, bound, out);
                walk_template(then, bound, out);
                if let Some(o) = otherwise {
                    walk_template(o, bound, out);
                }
            }
            TemplatePart::For {
                key_var,
                value_var,
                collection,
                body,
                ..
            } => {
                walk(collection, bound, out);
                let depth = bound.len();
                bound.extend(key_var.iter().map(|k| k.name.clone()));
                bound.push(value_var.name.clone());
                walk_template(body, bound, out);
                bound.truncate(depth);
            }
        }
    }
}

/// `root.a.b` or `root.a["b"]` as a reference, when `expr` is such a chain.
fn traversal(expr: &Expr) -> Option<Reference> {
    match &expr.kind {
        ExprKind::Variable(ident) => Some(Reference {
            root: ident.name.clone(),
            path: Vec::new(),
            span: ident.span,
        }),
        ExprKind::GetAttr(target, name) => {
            let mut r = traversal(target)?;
            r.path.push(name.name.clone());
            r.span = r.span.to(name.span);
            Some(r)
        }
        ExprKind::Index(target, key) => {
            let mut r = traversal(target)?;
            if let ExprKind::Template(t) = &key.kind {
                if let Some(k) = t.as_literal() {
                    r.path.push(k);
                    r.span = r.span.to(key.span);
                    return Some(r);
                }
            }
            None
        }
        _ => None,
    }
}
