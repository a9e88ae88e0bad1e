//! Types and type constraints (`list(string)`, `object({ a = optional(number, 1) })`).

use super::Value;
use crate::diagnostic::Diagnostic;
use crate::syntax::{Expr, ExprKind};
use std::collections::BTreeMap;
use std::fmt;

/// A type, or a type constraint when it contains `Dynamic` (`any`).
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `any`: no constraint; also the type of `null`.
    Dynamic,
    Bool,
    Number,
    String,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Tuple(Vec<Type>),
    Object(BTreeMap<String, Type>),
    /// `optional(T, default)`, only as an object attribute's type.
    Optional(Box<Type>, Option<Box<Value>>),
}

impl Type {
    /// True when the type is, or contains, `any`.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::List(t) | Type::Set(t) | Type::Map(t) | Type::Optional(t, _) => t.has_dynamic(),
            Type::Tuple(ts) => ts.iter().any(Type::has_dynamic),
            Type::Object(attrs) => attrs.values().any(Type::has_dynamic),
            _ => false,
        }
    }

    /// True for primitive types.
    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }

    /// Read a type constraint expression: `string`, `list(number)`, `object({...})`, `any`, ...
    pub fn from_expr(expr: &Expr) -> Result<Type, Diagnostic> {
        let bad = |hint: &str| {
            Diagnostic::error(expr.span, "invalid type constraint").with_hint(hint.to_string())
        };
        match &expr.kind {
            // HCL's JSON syntax writes a type as a string holding the native expression,
            // `"type": "list(string)"`; what goes wrong inside it is reported at the string.
            ExprKind::Template(t) if !t.heredoc => match t.parts.as_slice() {
                [crate::syntax::TemplatePart::Literal(text, span)] => {
                    crate::syntax::parse_expression(span.file, text)
                        .map_err(|mut d| d.swap_remove(0))
                        .and_then(|inner| Type::from_expr(&inner))
                        .map_err(|mut d| {
                            d.span = Some(*span);
                            d.labels.clear();
                            d
                        })
                }
                _ => Err(bad("a type is written like `string`, `list(number)` or `object({ name = string })`")),
            },
            ExprKind::Variable(ident) => match ident.name.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "any" => Ok(Type::Dynamic),
                "list" | "set" | "map" | "tuple" | "object" => Err(bad(&format!(
                    "`{}` needs its element type: `{}(string)`",
                    ident.name, ident.name
                ))),
                other => Err(Diagnostic::error(
                    ident.span,
                    format!("`{other}` is not a type"),
                )
                .with_hint(match crate::diagnostic::suggest(other, &["string", "number", "bool", "any", "list", "set", "map", "tuple", "object"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "the types are string, number, bool, any, list(T), set(T), map(T), tuple([...]) and object({...})".into(),
                })),
            },
            ExprKind::FunctionCall(call) => {
                let name = call.name.name.as_str();
                let one_arg = || match call.args.as_slice() {
                    [arg] => Ok(arg),
                    _ => Err(bad(&format!("`{name}(...)` takes exactly one argument"))),
                };
                match name {
                    "list" => Ok(Type::List(Box::new(Type::from_expr(one_arg()?)?))),
                    "set" => Ok(Type::Set(Box::new(Type::from_expr(one_arg()?)?))),
                    "map" => Ok(Type::Map(Box::new(Type::from_expr(one_arg()?)?))),
                    "tuple" => match &one_arg()?.kind {
                        ExprKind::Tuple(items) => Ok(Type::Tuple(
                            items.iter().map(Type::from_expr).collect::<Result<_, _>>()?,
                        )),
                        _ => Err(bad("`tuple` takes a list of types: `tuple([string, number])`")),
                    },
                    "object" => match &one_arg()?.kind {
                        ExprKind::Object(items) => {
                            let mut attrs = BTreeMap::new();
                            for item in items {
                                let key = match (item.bare_key(), &item.key.kind) {
                                    (Some(k), _) => k.to_string(),
                                    (None, ExprKind::Template(t)) if t.as_literal().is_some() => {
                                        t.as_literal().unwrap_or_default()
                                    }
                                    _ => return Err(Diagnostic::error(item.key.span, "an object type's attribute names must be literal")),
                                };
                                attrs.insert(key, Type::attribute_from_expr(&item.value)?);
                            }
                            Ok(Type::Object(attrs))
                        }
                        _ => Err(bad("`object` takes an object of types: `object({ name = string })`")),
                    },
                    "optional" => Err(bad("`optional(...)` is allowed only as an attribute type inside `object({...})`")),
                    other => Err(Diagnostic::error(call.name.span, format!("`{other}` is not a type constructor"))
                        .with_hint("the type constructors are list, set, map, tuple and object")),
                }
            }
            ExprKind::Parens(inner) => Type::from_expr(inner),
            _ => Err(bad("a type is written like `string`, `list(number)` or `object({ name = string })`")),
        }
    }

    fn attribute_from_expr(expr: &Expr) -> Result<Type, Diagnostic> {
        if let ExprKind::FunctionCall(call) = &expr.kind {
            if call.name.name == "optional" {
                return match call.args.as_slice() {
                    [t] => Ok(Type::Optional(Box::new(Type::from_expr(t)?), None)),
                    [t, default] => {
                        let ty = Type::from_expr(t)?;
                        let value = super::literal_value(default).ok_or_else(|| {
                            Diagnostic::error(
                                default.span,
                                "an optional attribute's default must be a literal value",
                            )
                        })?;
                        let value = super::convert(value, &ty).map_err(|e| {
                            Diagnostic::error(
                                default.span,
                                format!("invalid default for optional attribute: {e}"),
                            )
                        })?;
                        Ok(Type::Optional(Box::new(ty), Some(Box::new(value))))
                    }
                    _ => Err(Diagnostic::error(
                        expr.span,
                        "`optional` takes a type and an optional default",
                    )),
                };
            }
        }
        Type::from_expr(expr)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Dynamic => write!(f, "any"),
            Type::Bool => write!(f, "bool"),
            Type::Number => write!(f, "number"),
            Type::String => write!(f, "string"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Set(t) => write!(f, "set of {t}"),
            Type::Map(t) => write!(f, "map of {t}"),
            Type::Tuple(_) => write!(f, "tuple"),
            Type::Object(_) => write!(f, "object"),
            Type::Optional(t, _) => write!(f, "optional {t}"),
        }
    }
}
