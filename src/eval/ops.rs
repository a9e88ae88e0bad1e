//! Operators, attribute access and indexing.

use crate::diagnostic::{suggest, Code, Diagnostic};
use crate::source::Span;
use crate::syntax::{BinaryOp, UnaryOp};
use crate::value::{self, Number, Type, Value};

type Result<T> = std::result::Result<T, Diagnostic>;

/// `target.name` (also the legacy `list.0`).
pub(super) fn get_attr(
    target: Value,
    name: &str,
    name_span: Span,
    target_span: Span,
) -> Result<Value> {
    let (target, marked) = unmark_top(target);
    let result = match target {
        Value::Null => {
            return Err(Diagnostic::error(
                target_span,
                format!("cannot read `.{name}` of a null value"),
            )
            .with_hint("check that the value is set, or guard with `!= null`"))
        }
        // An unknown object of known shape still has only its attributes.
        Value::Unknown(Type::Object(attrs)) => match attrs.get(name) {
            Some(t) => Value::Unknown(t.clone()),
            None => {
                let names: Vec<&str> = attrs.keys().map(String::as_str).collect();
                let diag =
                    Diagnostic::error(name_span, format!("this object has no attribute `{name}`"))
                        .with_code(Code::UnknownAttribute);
                return Err(match suggest(name, &names) {
                    Some(s) => diag.with_hint(format!("did you mean `{s}`?")),
                    None => diag.with_hint(format!(
                        "its attributes are {}",
                        crate::diagnostic::quote_list(&names)
                    )),
                });
            }
        },
        Value::Unknown(_) => Value::unknown(),
        Value::Object(mut attrs) | Value::Map(mut attrs) => match attrs.remove(name) {
            Some(v) => v,
            None => {
                let names: Vec<&str> = attrs.keys().map(String::as_str).collect();
                let diag =
                    Diagnostic::error(name_span, format!("this object has no attribute `{name}`"))
                        .with_code(Code::UnknownAttribute);
                return Err(match suggest(name, &names) {
                    Some(s) => diag.with_hint(format!("did you mean `{s}`?")),
                    None if names.is_empty() => diag.with_hint("the object is empty"),
                    None => diag.with_hint(format!(
                        "its attributes are {}",
                        crate::diagnostic::quote_list(&names)
                    )),
                });
            }
        },
        Value::List(xs) | Value::Tuple(xs) if name.bytes().all(|b| b.is_ascii_digit()) => {
            let len = xs.len();
            match name
                .parse::<usize>()
                .ok()
                .and_then(|i| xs.into_iter().nth(i))
            {
                Some(v) => v,
                None => return Err(out_of_range(name_span, name, len)),
            }
        }
        other => {
            return Err(Diagnostic::error(
                name_span,
                format!("cannot read `.{name}` of a {}", other.kind_name()),
            )
            .with_hint("attributes can be read from objects and maps"))
        }
    };
    Ok(result.mark_if(marked))
}

/// Remove the container's own sensitive mark; its elements keep theirs, so reading a
/// non-sensitive attribute of an object that holds a secret elsewhere stays readable.
fn unmark_top(v: Value) -> (Value, bool) {
    match v {
        Value::Sensitive(inner) => (unmark_top(*inner).0, true),
        v => (v, false),
    }
}

fn out_of_range(span: Span, index: &str, len: usize) -> Diagnostic {
    Diagnostic::error(span, format!("index {index} is out of range")).with_hint(match len {
        0 => "the list is empty".to_string(),
        n => format!(
            "the list has {n} element{}, indexed from 0 to {}",
            if n == 1 { "" } else { "s" },
            n - 1
        ),
    })
}

/// `target[key]`
pub(super) fn index(target: Value, key: Value, key_span: Span, target_span: Span) -> Result<Value> {
    let (target, marked) = unmark_top(target);
    let (key, key_marked) = key.unmark_deep();
    if matches!(target, Value::Null) {
        return Err(Diagnostic::error(target_span, "cannot index a null value")
            .with_hint("check that the value is set, or guard with `!= null`"));
    }
    if key.is_null() {
        return Err(Diagnostic::error(key_span, "an index cannot be null"));
    }
    if target.is_unknown() || key.is_unknown() {
        return Ok(Value::unknown());
    }
    let result = match target {
        Value::List(xs) | Value::Tuple(xs) => {
            let len = xs.len();
            let n = match value::convert(key.clone(), &Type::Number) {
                Ok(Value::Number(n)) => n,
                _ => {
                    return Err(Diagnostic::error(
                        key_span,
                        format!("a list index must be a number, not {}", key.kind_name()),
                    ))
                }
            };
            match n
                .to_i64()
                .filter(|i| *i >= 0)
                .and_then(|i| xs.into_iter().nth(i as usize))
            {
                Some(v) => v,
                None if key_marked => {
                    return Err(Diagnostic::error(
                        key_span,
                        "the index (a sensitive value, not shown) is not in this list",
                    )
                    .with_hint(format!("the list has {len} element(s)")))
                }
                None if n.is_integer() => return Err(out_of_range(key_span, &n.to_string(), len)),
                None => {
                    return Err(Diagnostic::error(
                        key_span,
                        format!("index {n} is not a whole number"),
                    )
                    .with_hint("list indexes are whole numbers from 0"))
                }
            }
        }
        Value::Map(mut m) | Value::Object(mut m) => {
            let k = match value::convert(key.clone(), &Type::String) {
                Ok(Value::String(s)) => s,
                _ => {
                    return Err(Diagnostic::error(
                        key_span,
                        format!("a map key must be a string, not {}", key.kind_name()),
                    ))
                }
            };
            match m.remove(&k) {
                Some(v) => v,
                // Neither the key nor a near name is quoted when the key is sensitive.
                None if key_marked => {
                    return Err(Diagnostic::error(
                        key_span,
                        "the key (a sensitive value, not shown) is not in this map",
                    )
                    .with_hint("use lookup(map, key, default) for keys that may be missing"))
                }
                None => {
                    let names: Vec<&str> = m.keys().map(String::as_str).collect();
                    let diag =
                        Diagnostic::error(key_span, format!("the key \"{k}\" is not in this map"));
                    return Err(match suggest(&k, &names) {
                        Some(s) => diag.with_hint(format!("did you mean \"{s}\"?")),
                        None => diag.with_hint(
                            "use lookup(map, key, default) for keys that may be missing",
                        ),
                    });
                }
            }
        }
        Value::Set(_) => {
            return Err(Diagnostic::error(target_span, "a set cannot be indexed")
                .with_hint("convert it with tolist() first, or iterate it with `for`"))
        }
        other => {
            return Err(Diagnostic::error(
                target_span,
                format!("a {} cannot be indexed", other.kind_name()),
            ))
        }
    };
    Ok(result.mark_if(marked || key_marked))
}

/// `-x` and `!x`
pub(super) fn unary(op: UnaryOp, v: Value, span: Span) -> Result<Value> {
    let (v, marked) = v.unmark_deep();
    let result = match op {
        UnaryOp::Negate => match number(v, span, "operand", marked)? {
            Some(n) => Value::Number(n.neg()),
            None => Value::Unknown(Type::Number),
        },
        UnaryOp::Not => match boolean(v, span, "operand", marked)? {
            Some(b) => Value::Bool(!b),
            None => Value::Unknown(Type::Bool),
        },
    };
    Ok(result.mark_if(marked))
}

fn number(v: Value, span: Span, which: &str, secret: bool) -> Result<Option<Number>> {
    match v {
        Value::Unknown(_) => Ok(None),
        Value::Null => Err(Diagnostic::error(span, format!("the {which} is null"))
            .with_hint("arithmetic needs numbers; check that the value is set")),
        other => match value::convert(other.clone(), &Type::Number) {
            Ok(Value::Number(n)) => Ok(Some(n)),
            _ => Err(Diagnostic::error(
                span,
                format!(
                    "the {which} must be a number, not {}",
                    describe(&other, secret)
                ),
            )),
        },
    }
}

fn boolean(v: Value, span: Span, which: &str, secret: bool) -> Result<Option<bool>> {
    match v {
        Value::Unknown(_) => Ok(None),
        Value::Null => Err(Diagnostic::error(span, format!("the {which} is null"))
            .with_hint("logical operators need true or false")),
        other => match value::convert(other.clone(), &Type::Bool) {
            Ok(Value::Bool(b)) => Ok(Some(b)),
            _ => Err(Diagnostic::error(
                span,
                format!(
                    "the {which} must be a bool, not {}",
                    describe(&other, secret)
                ),
            )),
        },
    }
}

/// The value for a message; a sensitive value is named by its kind only.
fn describe(v: &Value, secret: bool) -> String {
    match v {
        _ if secret => format!("a sensitive {}", v.kind_name()),
        Value::String(s) => format!("the string \"{s}\""),
        other => format!("a {}", other.kind_name()),
    }
}

/// Binary operators with HCL's conversions: arithmetic and comparison on numbers, logic on
/// bools, equality on any values without conversion.
pub(super) fn binary(
    op: BinaryOp,
    l: Value,
    r: Value,
    ls: Span,
    rs: Span,
    span: Span,
) -> Result<Value> {
    use BinaryOp::*;
    let (l, lm) = l.unmark_deep();
    let (r, rm) = r.unmark_deep();
    let marked = lm || rm;
    let result = match op {
        Equal | NotEqual => {
            if l.contains_unknown() || r.contains_unknown() {
                Value::Unknown(Type::Bool)
            } else {
                let eq = values_equal(&l, &r);
                Value::Bool(if op == Equal { eq } else { !eq })
            }
        }
        And | Or => {
            let a = boolean(l, ls, "left operand", lm)?;
            let b = boolean(r, rs, "right operand", rm)?;
            match (a, b) {
                (Some(a), Some(b)) => Value::Bool(if op == And { a && b } else { a || b }),
                _ => Value::Unknown(Type::Bool),
            }
        }
        _ => {
            let a = number(l, ls, "left operand", lm)?;
            let b = number(r, rs, "right operand", rm)?;
            let (Some(a), Some(b)) = (a, b) else {
                let t = if matches!(op, Less | LessEqual | Greater | GreaterEqual) {
                    Type::Bool
                } else {
                    Type::Number
                };
                return Ok(Value::Unknown(t).mark_if(marked));
            };
            let arith = |r: std::result::Result<Number, value::NumberError>| {
                r.map(Value::Number)
                    .map_err(|e| Diagnostic::error(span, format!("the operation failed: {e}")))
            };
            match op {
                Add => arith(a.add(&b))?,
                Subtract => arith(a.sub(&b))?,
                Multiply => arith(a.mul(&b))?,
                Divide => arith(a.div(&b))?,
                Modulo => arith(a.rem(&b))?,
                Less => Value::Bool(a < b),
                LessEqual => Value::Bool(a <= b),
                Greater => Value::Bool(a > b),
                GreaterEqual => Value::Bool(a >= b),
                Equal | NotEqual | And | Or => unreachable!("handled above"),
            }
        }
    };
    Ok(result.mark_if(marked))
}

/// HCL equality: same type and same content (`1 == "1"` is false; list and tuple of equal
/// elements are not equal, as in cty).
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.unmark().0, b.unmark().0) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y))
        | (Value::Set(x), Value::Set(y))
        | (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) | (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && values_equal(va, vb))
        }
        _ => false,
    }
}
