//! Functions that need the evaluator itself: `can` and `try` see errors, `convert` takes a
//! type, `templatefile` evaluates a file.

use super::Evaluator;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use crate::syntax::FunctionCall;
use crate::value::{self, Type, Value};

/// The names handled here.
pub(super) const NAMES: [&str; 4] = ["can", "convert", "templatefile", "try"];

/// Evaluate `call` when it is one of the special forms.
pub(super) fn call(
    ev: &mut Evaluator,
    call: &FunctionCall,
    span: Span,
) -> Option<Result<Value, Diagnostic>> {
    let name = call.name.name.as_str();
    if !NAMES.contains(&name) {
        return None;
    }
    let arity = |n: usize, sig: &str| -> Result<(), Diagnostic> {
        if call.args.len() == n && !call.expand_final {
            Ok(())
        } else {
            Err(Diagnostic::error(
                span,
                format!(
                    "{name}() takes {n} argument{}: {name}({sig})",
                    if n == 1 { "" } else { "s" }
                ),
            ))
        }
    };
    Some((|| match name {
        "can" => {
            arity(1, "expression")?;
            match ev.eval(&call.args[0]) {
                Ok(v) if v.contains_unknown() => Ok(Value::Unknown(Type::Bool)),
                Ok(_) => Ok(Value::Bool(true)),
                Err(_) => Ok(Value::Bool(false)),
            }
        }
        "try" => {
            if call.args.is_empty() {
                return Err(Diagnostic::error(
                    span,
                    "try() needs at least one expression",
                ));
            }
            let mut last = None;
            for arg in &call.args {
                match ev.eval(arg) {
                    Ok(v) if v.contains_unknown() => return Ok(Value::unknown()),
                    Ok(v) => return Ok(v),
                    Err(e) => last = Some(e),
                }
            }
            let last = last.expect("at least one argument was tried");
            Err(Diagnostic::error(
                span,
                format!(
                    "no expression given to try() succeeded; the last one failed: {}",
                    last.message
                ),
            )
            .with_label(last.span.unwrap_or(span), "this was the last attempt"))
        }
        "convert" => {
            arity(2, "value, type")?;
            let v = ev.eval(&call.args[0])?;
            let ty = Type::from_expr(&call.args[1])?;
            value::convert(v, &ty).map_err(|e| {
                Diagnostic::error(
                    call.args[0].span,
                    format!("convert(): cannot convert to {ty}: {e}"),
                )
            })
        }
        "templatefile" => {
            arity(2, "path, vars")?;
            let path_v = ev.eval(&call.args[0])?;
            let vars_v = ev.eval(&call.args[1])?;
            if path_v.contains_unknown() || vars_v.contains_unknown() {
                return Ok(Value::unknown());
            }
            let Some(path) = path_v.as_str() else {
                return Err(Diagnostic::error(
                    call.args[0].span,
                    "templatefile(): the path must be a string",
                ));
            };
            let vars = match vars_v.as_map() {
                Some(m) => m.clone(),
                None => {
                    return Err(Diagnostic::error(
                        call.args[1].span,
                        "templatefile(): the variables must be an object or map",
                    )
                    .with_hint("pass them as `{ name = value }`"))
                }
            };
            let full = ev.ctx.functions.base_dir.join(path);
            // A sensitive path is never named, in this message or the ones below.
            let shown = if path_v.contains_sensitive() {
                "(a sensitive path)".to_string()
            } else {
                path.to_string()
            };
            let text = std::fs::read_to_string(&full).map_err(|e| {
                let full = if path_v.contains_sensitive() {
                    shown.clone()
                } else {
                    full.display().to_string()
                };
                Diagnostic::error(
                    call.args[0].span,
                    format!("templatefile(): cannot read {full}: {e}"),
                )
            })?;
            // The template file is not in the caller's source map: report its problems by
            // message, pointing at the call.
            let template =
                crate::syntax::parse_template(FileId(u32::MAX), &text).map_err(|diags| {
                    Diagnostic::error(
                        span,
                        format!(
                            "templatefile(): {} is not a valid template: {}",
                            shown, diags[0].message
                        ),
                    )
                })?;
            let Some(_level) = TemplateLevel::enter() else {
                return Err(Diagnostic::error(
                    span,
                    format!("templatefile(): {shown} nests templatefile calls more than {MAX_TEMPLATE_LEVELS} levels deep"),
                )
                .with_hint("a template that calls templatefile on itself never ends"));
            };
            let nested = super::Context {
                variables: Default::default(),
                functions: ev.ctx.functions.clone(),
                values_only: ev.ctx.values_only,
            };
            nested
                .eval_template_with(&template, span, vars.into_iter().collect())
                .map(|v| v.mark_if(path_v.contains_sensitive()))
                .map_err(|d| {
                    Diagnostic::error(span, format!("templatefile(): in {shown}: {}", d.message))
                })
        }
        _ => unreachable!("checked against NAMES"),
    })())
}

/// How deeply `templatefile` calls may nest (a template rendering another, or itself).
const MAX_TEMPLATE_LEVELS: usize = 32;

thread_local! {
    static TEMPLATE_LEVELS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of `templatefile` rendering on this thread, left when dropped.
struct TemplateLevel;

impl TemplateLevel {
    fn enter() -> Option<TemplateLevel> {
        TEMPLATE_LEVELS.with(|l| {
            if l.get() >= MAX_TEMPLATE_LEVELS {
                return None;
            }
            l.set(l.get() + 1);
            Some(TemplateLevel)
        })
    }
}

impl Drop for TemplateLevel {
    fn drop(&mut self) {
        TEMPLATE_LEVELS.with(|l| l.set(l.get().saturating_sub(1)));
    }
}
