//! Values of the template language, with HCL's (cty's) types, conversions and printing.

mod convert;
mod display;
mod number;
mod types;

pub use convert::{convert, unify, ConvertError};
pub use display::{from_json, quote, to_console, to_json};
pub use number::{Number, NumberError};
pub use types::Type;

use std::collections::BTreeMap;

/// An attribute map, in key order as HCL keeps it.
pub type Map = BTreeMap<String, Value>;

/// A value. Collections hold values of any kind; `List`, `Set` and `Map` are the homogeneous
/// collection types, `Tuple` and `Object` the structural ones.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// A value only known at build time, of the given type (`(known after build)`).
    Unknown(Type),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// A set: deduplicated, in cty's order.
    Set(Vec<Value>),
    Tuple(Vec<Value>),
    Map(Map),
    Object(Map),
    /// A value marked sensitive: it is never printed.
    Sensitive(Box<Value>),
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A number value from an integer.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }

    /// A value of unknown type and content.
    pub fn unknown() -> Value {
        Value::Unknown(Type::Dynamic)
    }

    /// Mark a value sensitive (idempotent).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }

    /// The type of this value.
    pub fn type_of(&self) -> Type {
        match self {
            Value::Null => Type::Dynamic,
            Value::Unknown(t) => t.clone(),
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(items) => Type::List(Box::new(element_type(items))),
            Value::Set(items) => Type::Set(Box::new(element_type(items))),
            Value::Tuple(items) => Type::Tuple(items.iter().map(Value::type_of).collect()),
            Value::Map(items) => Type::Map(Box::new(element_type(items.values()))),
            Value::Object(attrs) => Type::Object(
                attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.type_of()))
                    .collect(),
            ),
            Value::Sensitive(v) => v.type_of(),
        }
    }

    /// True for `null` (also under a sensitive mark).
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Sensitive(v) => v.is_null(),
            _ => false,
        }
    }

    /// True when this value or anything inside it is unknown.
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::Sensitive(v) => v.is_unknown(),
            _ => false,
        }
    }

    /// True when any part of this value is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
                xs.iter().any(Value::contains_unknown)
            }
            Value::Map(m) | Value::Object(m) => m.values().any(Value::contains_unknown),
            Value::Sensitive(v) => v.contains_unknown(),
            _ => false,
        }
    }

    /// True when this value or anything inside it is marked sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
                xs.iter().any(Value::contains_sensitive)
            }
            Value::Map(m) | Value::Object(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    /// The value without a top-level sensitive mark, and whether there was one.
    pub fn unmark(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(v) => (v.unmark().0, true),
            v => (v, false),
        }
    }

    /// The value with every sensitive mark removed, and whether there was any.
    pub fn unmark_deep(self) -> (Value, bool) {
        match self {
            Value::Sensitive(v) => (v.unmark_deep().0, true),
            Value::List(xs) => unmark_all(xs, Value::List),
            Value::Set(xs) => unmark_all(xs, Value::Set),
            Value::Tuple(xs) => unmark_all(xs, Value::Tuple),
            Value::Map(m) => unmark_map(m, Value::Map),
            Value::Object(m) => unmark_map(m, Value::Object),
            v => (v, false),
        }
    }

    /// Mark the value sensitive when `marked`.
    pub fn mark_if(self, marked: bool) -> Value {
        if marked {
            self.sensitive()
        } else {
            self
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self.unmark().0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a list, set or tuple.
    pub fn as_sequence(&self) -> Option<&[Value]> {
        match self.unmark().0 {
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => Some(xs),
            _ => None,
        }
    }

    /// The entries of a map or object.
    pub fn as_map(&self) -> Option<&Map> {
        match self.unmark().0 {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// A short name of the value's kind for messages ("string", "list of string", ...).
    pub fn kind_name(&self) -> String {
        match self.unmark().0 {
            Value::Null => "null".into(),
            v => v.type_of().to_string(),
        }
    }
}

fn element_type<'a>(items: impl IntoIterator<Item = &'a Value>) -> Type {
    let types: Vec<Type> = items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(Value::type_of)
        .collect();
    match types.split_first() {
        None => Type::Dynamic,
        Some((first, rest)) if rest.iter().all(|t| t == first) => first.clone(),
        Some(_) => Type::Dynamic,
    }
}

fn unmark_all(xs: Vec<Value>, make: fn(Vec<Value>) -> Value) -> (Value, bool) {
    let mut any = false;
    let xs = xs
        .into_iter()
        .map(|x| {
            let (x, m) = x.unmark_deep();
            any |= m;
            x
        })
        .collect();
    (make(xs), any)
}

fn unmark_map(m: Map, make: fn(Map) -> Value) -> (Value, bool) {
    let mut any = false;
    let m = m
        .into_iter()
        .map(|(k, v)| {
            let (v, marked) = v.unmark_deep();
            any |= marked;
            (k, v)
        })
        .collect();
    (make(m), any)
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

/// The value of a constant expression (literals, tuples and objects of them), without any
/// evaluation context. Used where HCL demands a literal, such as an `optional` default.
pub fn literal_value(expr: &crate::syntax::Expr) -> Option<Value> {
    use crate::syntax::{ExprKind, UnaryOp};
    Some(match &expr.kind {
        ExprKind::Null => Value::Null,
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Number(n) => Value::Number(Number::parse(n)?),
        ExprKind::Template(t) => Value::String(t.as_literal()?),
        ExprKind::Unary(UnaryOp::Negate, inner) => match literal_value(inner)? {
            Value::Number(n) => Value::Number(n.neg()),
            _ => return None,
        },
        ExprKind::Parens(inner) => literal_value(inner)?,
        ExprKind::Tuple(items) => {
            Value::Tuple(items.iter().map(literal_value).collect::<Option<_>>()?)
        }
        ExprKind::Object(items) => {
            let mut attrs = Map::new();
            for item in items {
                let key = match item.bare_key() {
                    Some(k) => k.to_string(),
                    None => literal_value(&item.key)?.as_str()?.to_string(),
                };
                attrs.insert(key, literal_value(&item.value)?);
            }
            Value::Object(attrs)
        }
        _ => return None,
    })
}
