//! Input variables: `variable` blocks, the legacy `variables` block, and their values from
//! defaults, `PKR_VAR_*`, `*.auto.pkrvars.hcl`, `-var-file` and `-var`, with Packer's precedence.

use super::files;
use super::schema::{self, Schema};
use crate::diagnostic::{suggest, Diagnostic};
use crate::eval::Context;
use crate::source::{SourceMap, Span};
use crate::syntax::{Block, Body, Expr, Structure};
use crate::value::{self, Map, Type, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One declared input variable.
#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    /// The declaration (block header or legacy attribute).
    pub span: Span,
    pub ty: Type,
    /// Whether a `type` was written (otherwise it is inferred from the value).
    pub typed: bool,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
    /// The final value (marked sensitive when the variable is).
    pub value: Value,
    /// Where the final value came from.
    pub origin: Origin,
    /// The declaration itself had errors; a missing value is then not reported again.
    pub broken: bool,
}

impl Variable {
    /// A declaration with no type, default or options yet: Packer's defaults.
    fn untyped(name: String, span: Span) -> Variable {
        Variable {
            name,
            span,
            ty: Type::Dynamic,
            typed: false,
            default: None,
            description: None,
            sensitive: false,
            nullable: true,
            validations: Vec::new(),
            value: Value::Null,
            origin: Origin::Unset,
            broken: false,
        }
    }
}

/// A `validation { condition, error_message }` block.
#[derive(Clone, Debug)]
pub struct Validation {
    pub condition: Expr,
    pub error_message: Expr,
}

/// Where a variable's value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    Default,
    /// `PKR_VAR_name`.
    Env(String),
    /// An attribute in a variable file, or a `-var` flag (kept as a small source file).
    Assigned(Span),
    Unset,
}

/// A value assignment from the command line, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub enum VarArg {
    /// `-var name=value`
    Var(String),
    /// `-var-file=path`
    File(PathBuf),
}

const VARIABLE_SCHEMA: Schema = Schema {
    what: "variable block",
    attributes: &["type", "default", "description", "sensitive", "nullable"],
    blocks: &["validation"],
};

const VALIDATION_SCHEMA: Schema = Schema {
    what: "validation block",
    attributes: &["condition", "error_message"],
    blocks: &[],
};

/// Collect declarations from every file's body.
pub fn declare(
    bodies: &[&Body],
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Variable> {
    let mut vars: BTreeMap<String, Variable> = BTreeMap::new();
    for body in bodies {
        for block in body.blocks() {
            let declared = match block.ident.name.as_str() {
                "variable" => declare_block(block, ctx, diags)
                    .into_iter()
                    .collect::<Vec<_>>(),
                "variables" => declare_legacy(block, ctx, diags),
                _ => continue,
            };
            for var in declared {
                if let Some(first) = vars.get(&var.name) {
                    diags.push(
                        Diagnostic::error(var.span, format!("the variable `{}` is declared twice", var.name))
                            .with_label(first.span, "first declared here")
                            .with_hint("each variable name may be declared only once across the template's files"),
                    );
                    continue;
                }
                vars.insert(var.name.clone(), var);
            }
        }
    }
    vars
}

fn declare_block(block: &Block, ctx: &Context, diags: &mut Vec<Diagnostic>) -> Option<Variable> {
    let before = diags.len();
    let name = schema::one_label(block, "variable", "name", diags)?;
    schema::check(&block.body, &VARIABLE_SCHEMA, diags);
    let mut var = Variable::untyped(name.clone(), block.header_span());
    if !valid_name(&name) {
        diags.push(
            Diagnostic::error(
                block.labels[0].span,
                format!("`{name}` is not a valid variable name"),
            )
            .with_hint(
                "variable names start with a letter or `_` and hold letters, digits, `_` and `-`",
            ),
        );
    }
    let body = &block.body;
    if let Some(attr) = body.attribute("type") {
        match Type::from_expr(&attr.expr) {
            Ok(t) => {
                var.ty = t;
                var.typed = true;
            }
            Err(d) => diags.push(d),
        }
    }
    if let Some(attr) = body.attribute("description") {
        var.description = literal_string(&attr.expr, ctx, diags);
    }
    for (field, slot) in [
        ("sensitive", &mut var.sensitive),
        ("nullable", &mut var.nullable),
    ] {
        if let Some(attr) = body.attribute(field) {
            match ctx.eval(&attr.expr).map(|v| v.unmark().0.clone()) {
                Ok(Value::Bool(b)) => *slot = b,
                Ok(other) => diags.push(Diagnostic::error(
                    attr.expr.span,
                    format!("`{field}` must be true or false, not {}", other.kind_name()),
                )),
                Err(d) => diags.push(d),
            }
        }
    }
    if let Some(attr) = body.attribute("default") {
        match eval_default(ctx, &attr.expr) {
            Ok(v) => match typed_value(v, &var) {
                Ok(v) => var.default = Some(v),
                Err(msg) => diags.push(
                    Diagnostic::error(
                        attr.expr.span,
                        format!("the default of `{name}` does not match its type: {msg}"),
                    )
                    .with_hint(format!("the variable's type is {}", var.ty)),
                ),
            },
            Err(d) => diags.push(d),
        }
    }
    for v in block.body.blocks().filter(|b| b.ident.name == "validation") {
        schema::check(&v.body, &VALIDATION_SCHEMA, diags);
        match (v.body.attribute("condition"), v.body.attribute("error_message")) {
            (Some(c), Some(m)) => var.validations.push(Validation {
                condition: c.expr.clone(),
                error_message: m.expr.clone(),
            }),
            _ => diags.push(
                Diagnostic::error(v.header_span(), "a validation block needs `condition` and `error_message`")
                    .with_hint("condition = length(var.x) > 0\nerror_message = \"The x value must not be empty.\""),
            ),
        }
    }
    var.broken = crate::diagnostic::has_errors(&diags[before..]);
    Some(var)
}

fn declare_legacy(block: &Block, ctx: &Context, diags: &mut Vec<Diagnostic>) -> Vec<Variable> {
    let mut out = Vec::new();
    for item in &block.body.items {
        match item {
            Structure::Attribute(attr) => {
                let default = match eval_default(ctx, &attr.expr) {
                    Ok(v) => Some(v),
                    Err(d) => {
                        diags.push(d);
                        None
                    }
                };
                let mut var = Variable::untyped(attr.name.name.clone(), attr.name.span);
                var.broken = default.is_none();
                var.default = default;
                out.push(var);
            }
            Structure::Block(b) => diags.push(
                Diagnostic::error(
                    b.header_span(),
                    "a `variables` block holds only `name = default` attributes",
                )
                .with_hint("declare a variable with a block: variable \"name\" { ... }"),
            ),
        }
    }
    out
}

/// Evaluate a variable's default: `env()` is allowed here and nowhere else, as in Packer.
fn eval_default(ctx: &Context, expr: &Expr) -> Result<Value, Diagnostic> {
    let mut default_ctx = ctx.clone();
    default_ctx.functions.env_allowed = true;
    default_ctx.eval(expr)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn literal_string(expr: &Expr, ctx: &Context, diags: &mut Vec<Diagnostic>) -> Option<String> {
    match ctx.eval(expr) {
        Ok(v) => match value::convert(v, &Type::String) {
            Ok(Value::String(s)) => Some(s),
            _ => {
                diags.push(Diagnostic::error(expr.span, "expected a string"));
                None
            }
        },
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

/// Convert a value to the variable's type (or keep it when untyped).
fn typed_value(v: Value, var: &Variable) -> Result<Value, String> {
    if v.is_null() && !var.nullable {
        return Err("the value must not be null (the variable sets nullable = false)".into());
    }
    // Marked before converting, so a conversion error cannot quote a secret.
    value::convert(v.mark_if(var.sensitive), &var.ty).map_err(|e| e.to_string())
}

/// Everything that assigns values: the environment, variable files and flags.
pub struct Assignments<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub auto_files: &'a [PathBuf],
    pub args: &'a [VarArg],
    /// Leave unset variables unknown rather than reporting them.
    pub allow_unset: bool,
    /// Warn about names a variable file sets that the template does not declare.
    pub warn_undeclared: bool,
}

/// Assign every variable its final value, following Packer's precedence (later wins):
/// default, `PKR_VAR_*`, `*.auto.pkrvars.*` in name order, then `-var-file` and `-var` in
/// command-line order.
pub fn assign(
    vars: &mut BTreeMap<String, Variable>,
    input: Assignments,
    sources: &mut SourceMap,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) {
    let ctx = &ctx.values_only();
    for var in vars.values_mut() {
        if let Some(d) = &var.default {
            var.value = d.clone();
            var.origin = Origin::Default;
        }
    }
    for (key, raw) in input.env {
        let Some(name) = key.strip_prefix("PKR_VAR_") else {
            continue;
        };
        let Some(var) = vars.get_mut(name) else {
            continue;
        };
        match raw_value(raw, var, sources, ctx) {
            Ok(v) => {
                var.value = v;
                var.origin = Origin::Env(key.clone());
            }
            Err(d) => {
                // Reported once: not also as a variable without a value.
                var.broken = true;
                diags.push(d.with_hint(format!(
                    "the value comes from the environment variable {key}"
                )))
            }
        }
    }
    for file in input.auto_files {
        assign_file(vars, file, input.warn_undeclared, sources, ctx, diags);
    }
    for arg in input.args {
        match arg {
            VarArg::File(path) => {
                assign_file(vars, path, input.warn_undeclared, sources, ctx, diags)
            }
            VarArg::Var(text) => assign_flag(vars, text, sources, ctx, diags),
        }
    }
    for var in vars.values_mut() {
        if var.origin == Origin::Unset {
            // Unknown rather than null, so what uses it is not reported again.
            var.value = Value::Unknown(var.ty.clone());
        }
        if var.origin == Origin::Unset && !input.allow_unset && !var.broken {
            diags.push(
                Diagnostic::error(var.span, format!("the variable `{}` has no value", var.name))
                    .with_code(crate::diagnostic::Code::UnsetVariable)
                    .with_hint(format!(
                        "give it a default, or set it with -var '{}=...', a .pkrvars.hcl file or PKR_VAR_{}",
                        var.name, var.name
                    )),
            );
            continue;
        }
        if var.sensitive {
            var.value = var.value.clone().sensitive();
        }
    }
}

/// A value given as text (`-var`, `PKR_VAR_`): literal text for primitive and untyped variables
/// (converted to their type), an HCL expression for collections and objects.
fn raw_value(
    raw: &str,
    var: &Variable,
    sources: &mut SourceMap,
    ctx: &Context,
) -> Result<Value, Diagnostic> {
    let as_string = var.ty.is_primitive() || var.ty == Type::Dynamic || !var.typed;
    let v = if as_string {
        Value::String(raw.to_string())
    } else {
        let id = sources.add_text(format!("<value for {}>", var.name), format!("v = {raw}\n"));
        let text = sources.get(id).text().to_string();
        if var.sensitive {
            sources.hide(Span::new(id, 0, text.len()));
        }
        let body = crate::syntax::parse(id, &text).map_err(|d| {
            d.into_iter()
                .next()
                .unwrap_or_else(|| Diagnostic::global("invalid value"))
        })?;
        let attr = body
            .attribute("v")
            .ok_or_else(|| Diagnostic::global(format!("invalid value for {}", var.name)))?;
        ctx.eval(&attr.expr)?
    };
    typed_value(v, var).map_err(|msg| {
        Diagnostic::error(
            var.span,
            format!("invalid value for the variable `{}`: {msg}", var.name),
        )
    })
}

fn assign_file(
    vars: &mut BTreeMap<String, Variable>,
    path: &Path,
    warn_undeclared: bool,
    sources: &mut SourceMap,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) {
    let parsed = match files::parse(sources, path) {
        Ok(p) => p,
        Err(d) => {
            diags.extend(d);
            return;
        }
    };
    let declared: Vec<String> = vars.keys().cloned().collect();
    let declared: Vec<&str> = declared.iter().map(String::as_str).collect();
    for item in &parsed.body.items {
        let attr = match item {
            Structure::Attribute(a) => a,
            Structure::Block(b) => {
                diags.push(
                    Diagnostic::error(
                        b.header_span(),
                        "a variable file holds only `name = value` assignments",
                    )
                    .with_hint("declare variables in the template; assign them here"),
                );
                continue;
            }
        };
        let name = &attr.name.name;
        let Some(var) = vars.get_mut(name) else {
            // Packer warns rather than fails for names a var file sets but the template lacks.
            if !warn_undeclared {
                continue;
            }
            let mut d = Diagnostic::warning(
                attr.name.span,
                format!("the variable `{name}` is not declared in the template"),
            )
            .with_hint("the value is ignored; declare it with a variable block to use it");
            if let Some(s) = suggest(name, &declared) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            diags.push(d);
            continue;
        };
        if var.sensitive {
            sources.hide(attr.expr.span);
        }
        match ctx.eval(&attr.expr) {
            Ok(v) => match typed_value(v, var) {
                Ok(v) => {
                    var.value = v;
                    var.origin = Origin::Assigned(attr.expr.span);
                }
                Err(msg) => {
                    var.broken = true;
                    diags.push(
                        Diagnostic::error(
                            attr.expr.span,
                            format!("invalid value for the variable `{name}`: {msg}"),
                        )
                        .with_label(var.span, "declared here"),
                    )
                }
            },
            Err(d) => {
                var.broken = true;
                diags.push(d)
            }
        }
    }
}

fn assign_flag(
    vars: &mut BTreeMap<String, Variable>,
    text: &str,
    sources: &mut SourceMap,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) {
    let id = sources.add_text("-var", text.to_string());
    let whole = Span::new(id, 0, text.len());
    let Some((name, raw)) = text.split_once('=') else {
        diags.push(
            Diagnostic::error(whole, format!("-var needs name=value, not `{text}`"))
                .with_hint("write -var 'region=us-east-1'"),
        );
        return;
    };
    let name_span = Span::new(id, 0, name.len());
    let value_span = Span::new(id, name.len() + 1, text.len());
    let names: Vec<&str> = vars.keys().map(String::as_str).collect();
    let hint = suggest(name, &names).map(|s| format!("did you mean `{s}`?"));
    if vars.get(name).is_some_and(|v| v.sensitive) {
        sources.hide(value_span);
    }
    let Some(var) = vars.get_mut(name) else {
        let mut d = Diagnostic::error(
            name_span,
            format!("the variable `{name}` is not declared in the template"),
        );
        d = d.with_hint(hint.unwrap_or_else(|| {
            "declare it with a variable block before setting it with -var".into()
        }));
        diags.push(d);
        return;
    };
    match raw_value(raw, var, sources, ctx) {
        Ok(v) => {
            var.value = v;
            var.origin = Origin::Assigned(value_span);
        }
        Err(mut d) => {
            var.broken = true;
            d.span = Some(value_span);
            diags.push(d.with_label(var.span, "declared here"));
        }
    }
}

/// Run every variable's validation blocks against its final value.
pub fn validate(vars: &BTreeMap<String, Variable>, ctx: &Context, diags: &mut Vec<Diagnostic>) {
    for var in vars.values() {
        if var.validations.is_empty() || var.origin == Origin::Unset {
            continue;
        }
        let mut vctx = ctx.clone();
        let mut only = Map::new();
        only.insert(var.name.clone(), var.value.clone());
        vctx.variables.insert("var".into(), Value::Object(only));
        for v in &var.validations {
            let ok = match vctx.eval(&v.condition) {
                Ok(c) => match c.unmark().0 {
                    Value::Bool(b) => *b,
                    Value::Unknown(_) => true,
                    other => {
                        diags.push(Diagnostic::error(
                            v.condition.span,
                            format!(
                                "a validation condition must be true or false, not {}",
                                other.kind_name()
                            ),
                        ));
                        continue;
                    }
                },
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            if ok {
                continue;
            }
            let message = match vctx.eval(&v.error_message) {
                Ok(m) if m.contains_sensitive() => "the value is not valid (the error message uses a sensitive value, so it is not shown)".into(),
                Ok(Value::String(s)) => s,
                _ => "the value is not valid".into(),
            };
            let at = match var.origin {
                Origin::Assigned(span) => span,
                _ => var.span,
            };
            let mut d = Diagnostic::error(
                at,
                format!("invalid value for the variable `{}`: {message}", var.name),
            );
            if at != var.span {
                d = d.with_label(var.span, "declared here");
            }
            diags.push(d.with_label(v.condition.span, "this condition failed"));
        }
    }
}

/// The `var` object visible to expressions.
pub fn object(vars: &BTreeMap<String, Variable>) -> Value {
    Value::Object(
        vars.iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
    )
}
