//! Type conversion and unification with cty's rules: string ↔ number ↔ bool, tuples to lists,
//! objects to maps, lists to sets, and back.

use super::{Map, Number, Type, Value};
use std::collections::BTreeMap;

/// Why a value does not fit a type.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvertError {
    /// Steps into the value where the problem is: `[2]`, `.name`; empty at the top.
    pub path: Vec<String>,
    pub message: String,
}

impl ConvertError {
    fn new(message: impl Into<String>) -> ConvertError {
        ConvertError {
            path: Vec::new(),
            message: message.into(),
        }
    }

    fn at(mut self, step: String) -> ConvertError {
        self.path.insert(0, step);
        self
    }
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let steps: Vec<String> = self
            .path
            .iter()
            .map(|step| match step.strip_prefix('.') {
                Some(attr) => format!("attribute \"{attr}\""),
                None => format!("element {}", step.trim_matches(|c| c == '[' || c == ']')),
            })
            .collect();
        if steps.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", steps.join(", "), self.message)
        }
    }
}

impl std::error::Error for ConvertError {}

/// Convert `value` to `ty`, or say why it cannot be.
pub fn convert(value: Value, ty: &Type) -> Result<Value, ConvertError> {
    match value {
        // The error must not quote a secret: keep where it failed, drop what the value was.
        Value::Sensitive(inner) => match convert(*inner, ty) {
            Ok(v) => Ok(v.sensitive()),
            Err(e) => Err(ConvertError {
                path: e.path,
                message: format!("the sensitive value is not a valid {ty}"),
            }),
        },
        Value::Null => Ok(Value::Null),
        Value::Unknown(_) => Ok(Value::Unknown(ty.clone())),
        value => convert_known(value, ty),
    }
}

fn convert_known(value: Value, ty: &Type) -> Result<Value, ConvertError> {
    match ty {
        Type::Dynamic => Ok(value),
        Type::Optional(inner, _) => convert(value, inner),
        Type::String => match value {
            Value::String(_) => Ok(value),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(ConvertError::new(format!(
                "string required, but have {}",
                other.kind_name()
            ))),
        },
        Type::Number => match value {
            Value::Number(_) => Ok(value),
            Value::String(s) => Number::parse(&s).map(Value::Number).ok_or_else(|| {
                ConvertError::new(format!("a number is required, but \"{s}\" is not a number"))
            }),
            other => Err(ConvertError::new(format!(
                "number required, but have {}",
                other.kind_name()
            ))),
        },
        Type::Bool => match value {
            Value::Bool(_) => Ok(value),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            Value::String(s) => Err(ConvertError::new(format!(
                "a bool is required, but \"{s}\" is not true or false"
            ))),
            other => Err(ConvertError::new(format!(
                "bool required, but have {}",
                other.kind_name()
            ))),
        },
        Type::List(elem) | Type::Set(elem) => {
            let items = match value {
                Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs,
                other => {
                    return Err(ConvertError::new(format!(
                        "{} required, but have {}",
                        if matches!(ty, Type::List(_)) {
                            "list"
                        } else {
                            "set"
                        },
                        other.kind_name()
                    )))
                }
            };
            let items = convert_elements(items, elem)?;
            Ok(match ty {
                Type::List(_) => Value::List(items),
                _ => Value::Set(make_set(items)),
            })
        }
        Type::Map(elem) => {
            let attrs = match value {
                Value::Map(m) | Value::Object(m) => m,
                other => {
                    return Err(ConvertError::new(format!(
                        "map required, but have {}",
                        other.kind_name()
                    )))
                }
            };
            let keys: Vec<String> = attrs.keys().cloned().collect();
            let values =
                convert_elements(attrs.into_values().collect(), elem).map_err(|mut e| {
                    // Map elements are named by key, not position.
                    if let Some(first) = e.path.first_mut() {
                        let index = first
                            .trim_matches(|c| c == '[' || c == ']')
                            .parse::<usize>()
                            .ok();
                        if let Some(key) = index.and_then(|i| keys.get(i)) {
                            *first = format!("[\"{key}\"]");
                        }
                    }
                    e
                })?;
            Ok(Value::Map(keys.into_iter().zip(values).collect()))
        }
        Type::Tuple(types) => {
            let items = match value {
                Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs,
                other => {
                    return Err(ConvertError::new(format!(
                        "tuple required, but have {}",
                        other.kind_name()
                    )))
                }
            };
            if items.len() != types.len() {
                return Err(ConvertError::new(format!(
                    "tuple required with {} elements, but have {}",
                    types.len(),
                    items.len()
                )));
            }
            items
                .into_iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| convert(v, t).map_err(|e| e.at(format!("[{i}]"))))
                .collect::<Result<_, _>>()
                .map(Value::Tuple)
        }
        Type::Object(attr_types) => {
            let mut attrs = match value {
                Value::Map(m) | Value::Object(m) => m,
                other => {
                    return Err(ConvertError::new(format!(
                        "object required, but have {}",
                        other.kind_name()
                    )))
                }
            };
            let mut out = Map::new();
            for (name, attr_ty) in attr_types {
                match attrs.remove(name) {
                    Some(v) if !v.is_null() => {
                        out.insert(
                            name.clone(),
                            convert(v, attr_ty).map_err(|e| e.at(format!(".{name}")))?,
                        );
                    }
                    found => match attr_ty {
                        Type::Optional(_, default) => {
                            let v = default.as_deref().cloned().unwrap_or(Value::Null);
                            out.insert(name.clone(), v);
                        }
                        _ if found.is_some() => {
                            out.insert(name.clone(), Value::Null);
                        }
                        _ => {
                            return Err(ConvertError::new(format!(
                                "attribute \"{name}\" is required"
                            )))
                        }
                    },
                }
            }
            Ok(Value::Object(out))
        }
    }
}

/// Convert every element to `elem`; when `elem` is `any`, to the elements' unified type.
fn convert_elements(items: Vec<Value>, elem: &Type) -> Result<Vec<Value>, ConvertError> {
    let target = if elem.has_dynamic() {
        let types: Vec<Type> = items
            .iter()
            .filter(|v| !v.is_null())
            .map(Value::type_of)
            .collect();
        unify(&types).ok_or_else(|| ConvertError::new("all elements must have the same type"))?
    } else {
        elem.clone()
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| convert(v, &target).map_err(|e| e.at(format!("[{i}]"))))
        .collect()
}

/// The one type every given type converts to, as cty unifies conditional results and
/// collection elements: equal types stay, primitives meet at string, collections element-wise.
pub fn unify(types: &[Type]) -> Option<Type> {
    let known: Vec<&Type> = types.iter().filter(|t| **t != Type::Dynamic).collect();
    let Some(first) = known.first() else {
        return Some(Type::Dynamic);
    };
    if known.iter().all(|t| t == first) {
        return Some((*first).clone());
    }
    if known.iter().all(|t| t.is_primitive()) {
        // Number and bool do not convert into each other; both convert to string.
        let has_string = known.iter().any(|t| **t == Type::String);
        let has_number = known.iter().any(|t| **t == Type::Number);
        let has_bool = known.iter().any(|t| **t == Type::Bool);
        return (has_string || !(has_number && has_bool)).then_some(Type::String);
    }
    let elements = |t: &Type| -> Option<Vec<Type>> {
        match t {
            Type::List(e) | Type::Set(e) => Some(vec![(**e).clone()]),
            Type::Tuple(ts) => Some(ts.clone()),
            _ => None,
        }
    };
    if known
        .iter()
        .all(|t| matches!(t, Type::List(_) | Type::Tuple(_) | Type::Set(_)))
    {
        let all: Vec<Type> = known.iter().filter_map(|t| elements(t)).flatten().collect();
        let tuples_only = known.iter().all(|t| matches!(t, Type::Tuple(_)));
        if tuples_only {
            let len = elements(first).map(|e| e.len());
            if known.iter().all(|t| elements(t).map(|e| e.len()) == len) {
                let n = len.unwrap_or(0);
                let mut cols = Vec::new();
                for i in 0..n {
                    let col: Vec<Type> = known
                        .iter()
                        .filter_map(|t| elements(t).map(|e| e[i].clone()))
                        .collect();
                    cols.push(unify(&col)?);
                }
                return Some(Type::Tuple(cols));
            }
        }
        let elem = unify(&all)?;
        return Some(if known.iter().any(|t| matches!(t, Type::Set(_))) {
            Type::Set(Box::new(elem))
        } else {
            Type::List(Box::new(elem))
        });
    }
    if known
        .iter()
        .all(|t| matches!(t, Type::Map(_) | Type::Object(_)))
    {
        if known.iter().all(|t| matches!(t, Type::Object(_))) {
            let keys = |t: &Type| match t {
                Type::Object(a) => a.keys().cloned().collect::<Vec<_>>(),
                _ => Vec::new(),
            };
            if known.iter().all(|t| keys(t) == keys(first)) {
                let mut attrs = BTreeMap::new();
                for k in keys(first) {
                    let col: Vec<Type> = known
                        .iter()
                        .filter_map(|t| match t {
                            Type::Object(a) => a.get(&k).cloned(),
                            _ => None,
                        })
                        .collect();
                    attrs.insert(k, unify(&col)?);
                }
                return Some(Type::Object(attrs));
            }
        }
        let all: Vec<Type> = known
            .iter()
            .flat_map(|t| match t {
                Type::Map(e) => vec![(**e).clone()],
                Type::Object(a) => a.values().cloned().collect(),
                _ => Vec::new(),
            })
            .collect();
        return Some(Type::Map(Box::new(unify(&all)?)));
    }
    None
}

/// Deduplicate and order set elements as cty does: strings and numbers ascending, others by
/// their JSON text.
pub(crate) fn make_set(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out.sort_by(|a, b| match (a.unmark().0, b.unmark().0) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal)
        }
        (x, y) => super::to_json(x)
            .unwrap_or_default()
            .cmp(&super::to_json(y).unwrap_or_default()),
    });
    out
}
