//! Evaluating expressions: HCL's operators, conversions, templates, `for`, splats and function
//! calls over [`Value`]s, with errors that point at the failing sub-expression.

mod ops;
mod refs;
mod special;

pub use refs::{references, Reference};

use crate::diagnostic::{suggest as suggest_name, Code, Diagnostic};
use crate::functions::{self, FunctionContext};
use crate::source::Span;
use crate::syntax::{Expr, ExprKind, ForExpr, Template, TemplatePart, Traversal};
use crate::value::{self, Map, Number, Type, Value};
use std::collections::BTreeMap;

/// The names an expression can see, and what functions may read.
#[derive(Clone, Debug)]
pub struct Context {
    /// Top-level names: `var`, `local`, `data`, `source`, `build`, `path`, `packer`, `each`...
    pub variables: BTreeMap<String, Value>,
    /// What functions may read from their surroundings.
    pub functions: FunctionContext,
    /// Only plain values are allowed: no variables and no function calls, as Packer evaluates
    /// variable files and `-var` values.
    pub values_only: bool,
}

impl Context {
    /// A context with no variables.
    pub fn new(functions: FunctionContext) -> Context {
        Context {
            variables: BTreeMap::new(),
            functions,
            values_only: false,
        }
    }

    /// A context for variable files and `-var` values, which hold plain values only.
    pub fn values_only(&self) -> Context {
        Context {
            variables: BTreeMap::new(),
            functions: self.functions.clone(),
            values_only: true,
        }
    }

    /// Evaluate `expr` in this context.
    pub fn eval(&self, expr: &Expr) -> Result<Value> {
        Evaluator {
            ctx: self,
            scope: Vec::new(),
        }
        .eval(expr)
    }

    /// Evaluate a template (as `templatefile` does) with extra variables in scope.
    pub fn eval_template_with(
        &self,
        template: &Template,
        span: Span,
        vars: Vec<(String, Value)>,
    ) -> Result<Value> {
        Evaluator {
            ctx: self,
            scope: vars,
        }
        .template(template, span)
    }
}

/// One evaluation: the context plus the names bound by enclosing `for` expressions.
pub(crate) struct Evaluator<'c> {
    pub(crate) ctx: &'c Context,
    /// Iteration variables, innermost last.
    pub(crate) scope: Vec<(String, Value)>,
}

type Result<T> = std::result::Result<T, Diagnostic>;

impl Evaluator<'_> {
    pub(crate) fn eval(&mut self, expr: &Expr) -> Result<Value> {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Null => Ok(Value::Null),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Number(text) => Number::parse(text)
                .map(Value::Number)
                .ok_or_else(|| Diagnostic::error(span, format!("`{text}` is not a valid number"))),
            ExprKind::Template(t) => self.template(t, span),
            ExprKind::Variable(ident) => self.variable(&ident.name, ident.span),
            ExprKind::Parens(inner) => self.eval(inner),
            ExprKind::Tuple(items) => Ok(Value::Tuple(
                items.iter().map(|e| self.eval(e)).collect::<Result<_>>()?,
            )),
            ExprKind::Object(items) => {
                let mut attrs = Map::new();
                // A key cannot carry a mark of its own: as in HCL, a sensitive key marks the
                // whole object.
                let mut marked = false;
                for item in items {
                    let key = match item.bare_key() {
                        Some(k) => k.to_string(),
                        None => {
                            let (key, key_marked) = self.object_key(&item.key)?;
                            marked |= key_marked;
                            key
                        }
                    };
                    let v = self.eval(&item.value)?;
                    attrs.insert(key, v);
                }
                Ok(Value::Object(attrs).mark_if(marked))
            }
            ExprKind::GetAttr(target, name) => {
                if let Some(v) = self.borrowed(expr) {
                    return Ok(v.clone());
                }
                let target_value = self.eval(target)?;
                ops::get_attr(target_value, &name.name, name.span, target.span).map_err(|mut d| {
                    // `var.x`, `local.x`: name what is missing in the template's own words.
                    if let ExprKind::Variable(root) = &target.kind {
                        let noun = match root.name.as_str() {
                            "var" => Some("variable"),
                            "local" => Some("local"),
                            _ => None,
                        };
                        if let (Some(noun), Code::UnknownAttribute) = (noun, d.code) {
                            d.message = format!("there is no {noun} named `{}`", name.name);
                            d.span = Some(target.span.to(name.span));
                            if let Some(h) = d.hint.take() {
                                d.hint = Some(h.replace(
                                    "did you mean `",
                                    &format!("did you mean `{}.", root.name),
                                ));
                            }
                        }
                    }
                    d
                })
            }
            ExprKind::Index(target, key) => {
                let target_value = self.eval(target)?;
                let key_value = self.eval(key)?;
                ops::index(target_value, key_value, key.span, target.span)
            }
            ExprKind::Splat(splat) => {
                let source = self.eval(&splat.source)?;
                let (source, marked) = match source {
                    Value::Sensitive(inner) => (*inner, true),
                    v => (v, false),
                };
                let items = match source {
                    Value::Null => return Ok(Value::Tuple(Vec::new())),
                    Value::Unknown(_) => return Ok(Value::unknown()),
                    Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs,
                    other => vec![other],
                };
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let mut v = item;
                    for step in &splat.each {
                        v = match step {
                            Traversal::Attr(name) => {
                                ops::get_attr(v, &name.name, name.span, splat.source.span)?
                            }
                            Traversal::Index(key) => {
                                let k = self.eval(key)?;
                                ops::index(v, k, key.span, splat.source.span)?
                            }
                        };
                    }
                    out.push(v);
                }
                Ok(Value::Tuple(out).mark_if(marked))
            }
            ExprKind::Unary(op, operand) => {
                let v = self.eval(operand)?;
                ops::unary(*op, v, span)
            }
            ExprKind::Binary(first, rest) => {
                let mut value = self.eval(first)?;
                let mut left = first.span;
                for (op, rhs) in rest {
                    let r = self.eval(rhs)?;
                    let both = left.to(rhs.span);
                    value = ops::binary(*op, value, r, left, rhs.span, both)?;
                    left = both;
                }
                Ok(value)
            }
            ExprKind::Conditional(cond, yes, no) => self.conditional(cond, yes, no),
            ExprKind::For(f) => self.for_expr(f, span),
            ExprKind::FunctionCall(call) => self.call(call, span),
        }
    }

    /// `name.attr.attr` read in place, copying only the value at its end: `local.x` must not
    /// copy every local. `None` when a step needs the full rules (a mark, a missing attribute,
    /// another kind of value), which the caller then applies.
    fn borrowed(&self, expr: &Expr) -> Option<&Value> {
        match &expr.kind {
            ExprKind::Variable(ident) => {
                match self.scope.iter().rev().find(|(n, _)| *n == ident.name) {
                    Some((_, v)) => Some(v),
                    None => self.ctx.variables.get(&ident.name),
                }
            }
            ExprKind::GetAttr(target, name) => match self.borrowed(target)? {
                Value::Object(attrs) | Value::Map(attrs) => attrs.get(&name.name),
                _ => None,
            },
            _ => None,
        }
    }

    fn variable(&self, name: &str, span: Span) -> Result<Value> {
        if let Some((_, v)) = self.scope.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.ctx.variables.get(name) {
            return Ok(v.clone());
        }
        if self.ctx.values_only {
            return Err(
                Diagnostic::error(span, "variables are not allowed here").with_hint(VALUES_ONLY)
            );
        }
        let mut names: Vec<&str> = self.ctx.variables.keys().map(String::as_str).collect();
        names.extend(self.scope.iter().map(|(n, _)| n.as_str()));
        let mut diag = Diagnostic::error(span, format!("unknown variable `{name}`"));
        diag = match suggest_name(name, &names) {
            Some(s) => diag.with_hint(format!("did you mean `{s}`?")),
            None if names.is_empty() => diag.with_hint("no variables are available here"),
            None => diag.with_hint(format!(
                "the names available here are {}",
                crate::diagnostic::quote_list(&names)
            )),
        };
        Err(diag)
    }

    /// An object key's text, and whether it came from a sensitive value.
    fn object_key(&mut self, key: &Expr) -> Result<(String, bool)> {
        if matches!(key.kind, ExprKind::GetAttr(..) | ExprKind::Index(..)) {
            // `{ var.name = 1 }` reads like a literal name but is a reference: HCL refuses to guess.
            return Err(Diagnostic::error(key.span, "ambiguous object key")
                .with_hint("wrap the key in parentheses to use its value, `(var.name) = ...`, or quote it to use it as text"));
        }
        let v = self.eval(key)?;
        let (v, marked) = v.unmark();
        match v {
            Value::Null => Err(Diagnostic::error(key.span, "an object key cannot be null")),
            Value::Unknown(_) => Err(Diagnostic::error(
                key.span,
                "an object key must be known before the build",
            )),
            other => match value::convert(other.clone(), &Type::String) {
                Ok(Value::String(s)) => Ok((s, marked)),
                _ => Err(Diagnostic::error(
                    key.span,
                    format!("an object key must be a string, not {}", other.kind_name()),
                )),
            },
        }
    }

    fn conditional(&mut self, cond: &Expr, yes: &Expr, no: &Expr) -> Result<Value> {
        let c = self.eval(cond)?;
        let (c, marked) = c.unmark_deep();
        let chosen = match c {
            Value::Null => {
                return Err(Diagnostic::error(cond.span, "the condition is null")
                    .with_hint("a condition must be true or false"))
            }
            Value::Unknown(_) => None,
            other => match value::convert(other.clone(), &Type::Bool) {
                Ok(Value::Bool(b)) => Some(b),
                _ => {
                    return Err(Diagnostic::error(
                        cond.span,
                        format!("the condition must be a bool, not {}", other.kind_name()),
                    ))
                }
            },
        };
        // Both results are computed so they can be unified to one type, as HCL does; an error
        // matters only in the branch that is taken.
        let yes_v = self.eval(yes);
        let no_v = self.eval(no);
        let types: Vec<Type> = [&yes_v, &no_v]
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|v| !v.is_null())
            .map(Value::type_of)
            .collect();
        let target = value::unify(&types);
        let (picked, picked_expr) = match chosen {
            Some(true) => (yes_v?, yes),
            Some(false) => (no_v?, no),
            None => return Ok(Value::Unknown(target.unwrap_or(Type::Dynamic))),
        };
        let result = match target {
            Some(t) if !picked.is_null() => value::convert(picked, &t).map_err(|e| {
                Diagnostic::error(
                    picked_expr.span,
                    format!("the two results of the condition have different types: {e}"),
                )
            })?,
            Some(_) => picked,
            None => {
                return Err(Diagnostic::error(
                    yes.span.to(no.span),
                    "the true and false results must have compatible types",
                )
                .with_hint("convert one result so both are, for example, strings"))
            }
        };
        Ok(result.mark_if(marked))
    }

    /// Evaluate a template; a template of one interpolation yields that value unchanged.
    pub(crate) fn template(&mut self, t: &Template, span: Span) -> Result<Value> {
        if let [TemplatePart::Interpolation(expr)] = t.parts.as_slice() {
            return self.eval(expr);
        }
        let mut out = String::new();
        let mut marked = false;
        let mut unknown = false;
        self.template_parts(&t.parts, &mut out, &mut marked, &mut unknown)?;
        let _ = span;
        if unknown {
            return Ok(Value::Unknown(Type::String));
        }
        Ok(Value::String(out).mark_if(marked))
    }

    fn template_parts(
        &mut self,
        parts: &[TemplatePart],
        out: &mut String,
        marked: &mut bool,
        unknown: &mut bool,
    ) -> Result<()> {
        for part in parts {
            match part {
                TemplatePart::Literal(text, _) => out.push_str(text),
                TemplatePart::Interpolation(expr) => {
                    let v = self.eval(expr)?;
                    let (v, m) = v.unmark_deep();
                    *marked |= m;
                    match v {
                        Value::Null => {
                            return Err(Diagnostic::error(expr.span, "this interpolated value is null")
                                .with_hint("a value inserted into a string must not be null; use coalesce() to give a fallback"))
                        }
                        Value::Unknown(_) => *unknown = true,
                        other => match value::convert(other.clone(), &Type::String) {
                            Ok(Value::String(s)) => out.push_str(&s),
                            _ => {
                                return Err(Diagnostic::error(
                                    expr.span,
                                    format!("cannot include a {} in a string", other.kind_name()),
                                )
                                .with_hint("only strings, numbers and bools can be interpolated; use join() or jsonencode() for collections"))
                            }
                        },
                    }
                }
                TemplatePart::If {
                    condition,
                    then,
                    otherwise,
                    ..
                } => {
                    let c = self.eval(condition)?;
                    let (c, m) = c.unmark_deep();
                    *marked |= m;
                    match c {
                        Value::Unknown(_) => *unknown = true,
                        Value::Null => {
                            return Err(Diagnostic::error(condition.span, "the condition is null")
                                .with_hint("a condition must be true or false"))
                        }
                        other => match value::convert(other.clone(), &Type::Bool) {
                            Ok(Value::Bool(true)) => {
                                self.template_parts(&then.parts, out, marked, unknown)?
                            }
                            Ok(Value::Bool(false)) => {
                                if let Some(o) = otherwise {
                                    self.template_parts(&o.parts, out, marked, unknown)?
                                }
                            }
                            _ => {
                                return Err(Diagnostic::error(
                                    condition.span,
                                    format!(
                                        "the condition must be a bool, not {}",
                                        other.kind_name()
                                    ),
                                ))
                            }
                        },
                    }
                }
                TemplatePart::For {
                    key_var,
                    value_var,
                    collection,
                    body,
                    ..
                } => {
                    let c = self.eval(collection)?;
                    let (c, m) = c.unmark_deep();
                    *marked |= m;
                    if c.is_unknown() {
                        *unknown = true;
                        continue;
                    }
                    for (k, v) in iterate(c, collection.span)? {
                        let depth = self.scope.len();
                        if let Some(kv) = key_var {
                            self.scope.push((kv.name.clone(), k));
                        }
                        self.scope.push((value_var.name.clone(), v));
                        let r = self.template_parts(&body.parts, out, marked, unknown);
                        self.scope.truncate(depth);
                        r?;
                    }
                }
            }
        }
        Ok(())
    }

    fn for_expr(&mut self, f: &ForExpr, span: Span) -> Result<Value> {
        let c = self.eval(&f.collection)?;
        // The elements keep their own marks; a mark on the whole collection marks every key,
        // element and the result, so an iteration variable is as sensitive as what it came from.
        let (c, marked) = match c {
            Value::Sensitive(inner) => (*inner, true),
            c => (c, false),
        };
        if c.is_unknown() {
            return Ok(Value::unknown());
        }
        let items = iterate(c, f.collection.span)?
            .into_iter()
            .map(|(k, v)| (k.mark_if(marked), v.mark_if(marked)));
        let mut tuple = Vec::new();
        let mut object: Map = Map::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut marked = marked;
        for (k, v) in items {
            let depth = self.scope.len();
            if let Some(kv) = &f.key_var {
                self.scope.push((kv.name.clone(), k));
            }
            self.scope.push((f.value_var.name.clone(), v));
            let step = self.for_step(f, &mut tuple, &mut object, &mut groups, &mut marked);
            self.scope.truncate(depth);
            if let Some(unknown) = step? {
                return Ok(unknown);
            }
        }
        let _ = span;
        let result = if f.key_expr.is_none() {
            Value::Tuple(tuple)
        } else if f.grouped {
            Value::Object(
                groups
                    .into_iter()
                    .map(|(k, vs)| (k, Value::Tuple(vs)))
                    .collect(),
            )
        } else {
            Value::Object(object)
        };
        Ok(result.mark_if(marked))
    }

    /// One iteration of a `for`; returns an unknown result when the outcome cannot be known.
    fn for_step(
        &mut self,
        f: &ForExpr,
        tuple: &mut Vec<Value>,
        object: &mut Map,
        groups: &mut BTreeMap<String, Vec<Value>>,
        marked: &mut bool,
    ) -> Result<Option<Value>> {
        if let Some(cond) = &f.condition {
            let c = self.eval(cond)?;
            match c.unmark().0 {
                Value::Bool(false) => return Ok(None),
                Value::Bool(true) => {}
                Value::Unknown(_) => return Ok(Some(Value::unknown())),
                Value::Null => {
                    return Err(Diagnostic::error(cond.span, "the `if` condition is null")
                        .with_hint("a condition must be true or false"))
                }
                other => match value::convert(other.clone(), &Type::Bool) {
                    Ok(Value::Bool(true)) => {}
                    Ok(Value::Bool(false)) => return Ok(None),
                    _ => {
                        return Err(Diagnostic::error(
                            cond.span,
                            format!(
                                "the `if` condition must be a bool, not {}",
                                other.kind_name()
                            ),
                        ))
                    }
                },
            }
        }
        let value = self.eval(&f.value_expr)?;
        match &f.key_expr {
            None => tuple.push(value),
            Some(key_expr) => {
                let key = self.eval(key_expr)?;
                let (key, key_marked) = key.unmark();
                // A sensitive key marks the whole result, and is never quoted.
                *marked |= key_marked;
                let key = match key {
                    Value::Unknown(_) => return Ok(Some(Value::unknown())),
                    Value::Null => {
                        return Err(Diagnostic::error(
                            key_expr.span,
                            "an object key cannot be null",
                        ))
                    }
                    other => match value::convert(other.clone(), &Type::String) {
                        Ok(Value::String(s)) => s,
                        _ => {
                            return Err(Diagnostic::error(
                                key_expr.span,
                                format!(
                                    "an object key must be a string, not {}",
                                    other.kind_name()
                                ),
                            ))
                        }
                    },
                };
                if f.grouped {
                    groups.entry(key).or_default().push(value);
                } else {
                    match object.entry(key) {
                        std::collections::btree_map::Entry::Occupied(e) => {
                            let message = if key_marked {
                                "two elements produce the same key (a sensitive value, not shown)"
                                    .to_string()
                            } else {
                                format!("two elements produce the key \"{}\"", e.key())
                            };
                            return Err(Diagnostic::error(key_expr.span, message)
                            .with_hint("add `...` after the value expression to group the values of equal keys into lists"));
                        }
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(value);
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    fn call(&mut self, call: &crate::syntax::FunctionCall, span: Span) -> Result<Value> {
        let name = call.name.name.as_str();
        if self.ctx.values_only {
            return Err(
                Diagnostic::error(call.name.span, "function calls are not allowed here")
                    .with_hint(VALUES_ONLY),
            );
        }
        if let Some(result) = special::call(self, call, span) {
            return result;
        }
        if !functions::exists(name) {
            let mut names = functions::names();
            names.extend(special::NAMES);
            let diag = Diagnostic::error(
                call.name.span,
                format!("there is no function named `{name}`"),
            );
            return Err(match suggest_name(name, &names) {
                Some(s) => diag.with_hint(format!("did you mean `{s}`?")),
                None => {
                    diag.with_hint("see Packer's function reference for the functions available")
                }
            });
        }
        let mut args = Vec::with_capacity(call.args.len());
        let mut arg_spans = Vec::with_capacity(call.args.len());
        for (i, arg) in call.args.iter().enumerate() {
            let v = self.eval(arg)?;
            if call.expand_final && i + 1 == call.args.len() {
                let (v, marked) = v.unmark_deep();
                match v {
                    Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
                        for x in xs {
                            args.push(x.mark_if(marked));
                            arg_spans.push(arg.span);
                        }
                    }
                    Value::Unknown(_) => return Ok(Value::unknown()),
                    other => {
                        return Err(Diagnostic::error(
                            arg.span,
                            format!("`...` expands a list, not {}", other.kind_name()),
                        ))
                    }
                }
            } else {
                args.push(v);
                arg_spans.push(arg.span);
            }
        }
        let secret = args.iter().any(Value::contains_sensitive);
        functions::call(name, args, &self.ctx.functions).map_err(|err| {
            let at = err
                .arg
                .and_then(|i| arg_spans.get(i).copied())
                .unwrap_or(span);
            // A function's message may quote its arguments; never when one is sensitive.
            let message = if secret {
                "the call failed (details hidden: an argument is sensitive)".to_string()
            } else {
                err.message
            };
            Diagnostic::error(at, format!("{name}(): {message}"))
        })
    }
}

const VALUES_ONLY: &str = "variable files and -var take plain values, as in Packer; compute a value from others in a local in the template";

/// The (key, value) pairs a `for` iterates: index/element for sequences, key/value for maps,
/// element/element for sets.
pub(crate) fn iterate(collection: Value, span: Span) -> Result<Vec<(Value, Value)>> {
    match collection {
        Value::List(xs) | Value::Tuple(xs) => Ok(xs
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Value::int(i as i64), v))
            .collect()),
        Value::Set(xs) => Ok(xs.into_iter().map(|v| (v.clone(), v)).collect()),
        Value::Map(m) | Value::Object(m) => {
            Ok(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect())
        }
        Value::Null => Err(Diagnostic::error(span, "cannot iterate over null")
            .with_hint("a `for` needs a list, set, map or object")),
        other => Err(Diagnostic::error(
            span,
            format!("cannot iterate over a {}", other.kind_name()),
        )
        .with_hint("a `for` needs a list, set, map or object")),
    }
}
