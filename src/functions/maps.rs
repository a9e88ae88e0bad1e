//! Map and structure functions: coalesce, index, keys, length, lookup, merge, transpose,
//! values, zipmap.

use super::args::Args;
use super::collection::seq;
use super::{FunctionContext, FunctionError};
use crate::value::{convert, unify, Map, Type, Value};
use unicode_segmentation::UnicodeSegmentation;

pub(super) fn coalesce(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let same_type = || FunctionError::new("all arguments must have the same type");
    if args.len() == 0 {
        return Err(same_type());
    }
    let types: Vec<Type> = args.rest(0).iter().map(Value::type_of).collect();
    let ty = unify(&types).ok_or_else(same_type)?;
    for arg in args.rest(0) {
        if arg.is_null() {
            continue;
        }
        let v = convert(arg.clone(), &ty).map_err(|_| same_type())?;
        if ty == Type::String && v == Value::string("") {
            continue;
        }
        return Ok(v);
    }
    Err(FunctionError::new(
        "no non-null, non-empty-string arguments",
    ))
}

/// Today's Packer `index`: the position of the first element equal to the value.
/// (Packer 1.6 registered HCL's `index(collection, key)` lookup under this name instead.)
pub(super) fn index(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let items = match args.get(0) {
        Value::List(xs) | Value::Tuple(xs) => xs,
        _ => return Err(FunctionError::new("argument must be a list or tuple")),
    };
    if items.is_empty() {
        return Err(FunctionError::new("cannot search an empty list"));
    }
    let wanted = args.get(1);
    items
        .iter()
        .position(|x| x == wanted)
        .map(|i| Value::int(i as i64))
        .ok_or_else(|| FunctionError::new("item not found"))
}

pub(super) fn keys(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let names = |m: &mut dyn Iterator<Item = &String>| {
        m.map(|k| Value::String(k.clone())).collect::<Vec<_>>()
    };
    match args.get(0) {
        Value::Object(m) => Ok(Value::Tuple(names(&mut m.keys()))),
        Value::Map(m) => Ok(Value::List(names(&mut m.keys()))),
        Value::Unknown(Type::Object(attrs)) => Ok(Value::Tuple(names(&mut attrs.keys()))),
        Value::Unknown(Type::Map(_) | Type::Dynamic) => Ok(Value::unknown()),
        _ => Err(args.err(0, "must have map or object type")),
    }
}

pub(super) fn length(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let count = |n: usize| Ok(Value::int(n as i64));
    match args.get(0) {
        Value::String(s) => count(s.graphemes(true).count()),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => count(xs.len()),
        Value::Map(m) | Value::Object(m) => count(m.len()),
        Value::Unknown(Type::Object(attrs)) => count(attrs.len()),
        Value::Unknown(Type::Tuple(items)) => count(items.len()),
        Value::Unknown(Type::Bool | Type::Number) => Err(not_measurable()),
        Value::Unknown(_) => Ok(Value::unknown()),
        _ => Err(not_measurable()),
    }
}

fn not_measurable() -> FunctionError {
    FunctionError::new("argument must be a string, a collection type, or a structural type")
}

pub(super) fn lookup(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let key = args.string(1)?;
    let default = args.get(2);
    match args.get(0) {
        Value::Object(m) => Ok(m.get(&key).cloned().unwrap_or_else(|| default.clone())),
        map @ Value::Map(m) => {
            let elem = match map.type_of() {
                Type::Map(elem) => *elem,
                _ => Type::Dynamic,
            };
            let default = convert(default.clone(), &elem).map_err(|_| {
                args.err(
                    2,
                    "the default value must have the same type as the map elements",
                )
            })?;
            Ok(m.get(&key).cloned().unwrap_or(default))
        }
        _ => Err(args.err(0, "lookup() requires a map as the first argument")),
    }
}

pub(super) fn merge(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let all = args.rest(0);
    for arg in all {
        if !arg.is_null() && arg.as_map().is_none() {
            return Err(FunctionError::new(format!(
                "arguments must be maps or objects, got {:?}",
                arg.kind_name()
            )));
        }
    }
    if all.iter().all(Value::is_null) {
        return Ok(Value::Null);
    }
    let first = all.first().map(Value::type_of);
    let same = all
        .iter()
        .all(|a| !a.is_null() && Some(a.type_of()) == first);
    let mut out = Map::new();
    for m in all.iter().filter_map(Value::as_map) {
        out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(match all.first() {
        Some(Value::Map(_)) if same => Value::Map(out),
        _ => Value::Object(out),
    })
}

pub(super) fn transpose(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let ty = Type::Map(Box::new(Type::List(Box::new(Type::String))));
    let Value::Map(input) = args.convert(0, &ty)? else {
        return Err(args.err(0, "input must be a map of lists of strings"));
    };
    let mut out: std::collections::BTreeMap<String, Vec<Value>> = std::collections::BTreeMap::new();
    for (key, list) in &input {
        for item in seq(list).unwrap_or(&[]) {
            let Value::String(s) = item else {
                return Err(args.err(0, "lists must not contain null values"));
            };
            out.entry(s.clone())
                .or_default()
                .push(Value::String(key.clone()));
        }
    }
    Ok(Value::Map(
        out.into_iter().map(|(k, v)| (k, Value::List(v))).collect(),
    ))
}

pub(super) fn values(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Map(m) => Ok(Value::List(m.values().cloned().collect())),
        Value::Object(m) => Ok(Value::Tuple(m.values().cloned().collect())),
        _ => Err(FunctionError::new(
            "values() requires a map as the first argument",
        )),
    }
}

pub(super) fn zipmap(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let keys = args.list(0, Type::String)?;
    let (values, object) = match args.get(1) {
        Value::List(xs) => (xs, false),
        Value::Tuple(xs) => (xs, true),
        _ => {
            return Err(FunctionError::new(
                "values argument must be a list or tuple value",
            ))
        }
    };
    if keys.len() != values.len() {
        return Err(FunctionError::new(format!(
            "number of keys ({}) does not match number of values ({})",
            keys.len(),
            values.len()
        )));
    }
    let mut out = Map::new();
    for (i, (k, v)) in keys.into_iter().zip(values).enumerate() {
        let Value::String(k) = k else {
            return Err(args.err(0, format!("keys list has null value at index {i}")));
        };
        out.insert(k, v.clone());
    }
    Ok(if object {
        Value::Object(out)
    } else {
        Value::Map(out)
    })
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::{Type, Value};

    fn nums(xs: &[i64]) -> Value {
        tuple(xs.iter().map(|x| i(*x)).collect())
    }

    #[test]
    fn fixture_keys_length_lookup() {
        assert_eq!(
            json(&ok("keys", vec![obj(&[("b", i(1)), ("a", i(2))])])),
            r#"["a","b"]"#
        );
        assert_eq!(json(&ok("keys", vec![obj(&[])])), "[]");
        let settings = obj(&[
            ("size", i(8)),
            ("enabled", Value::Bool(true)),
            ("label", s("disk")),
        ]);
        assert_eq!(
            json(&ok("keys", vec![settings.clone()])),
            r#"["enabled","label","size"]"#
        );
        assert!(fails("keys", vec![nums(&[1])]).contains("must have map or object type"));
        assert_eq!(ok("length", vec![s("héllo")]), i(5));
        assert_eq!(ok("length", vec![nums(&[1, 2])]), i(2));
        assert_eq!(ok("length", vec![obj(&[("a", i(1))])]), i(1));
        assert_eq!(ok("length", vec![s("")]), i(0));
        assert_eq!(ok("length", vec![s("\u{1F600}")]), i(1));
        fails("length", vec![Value::Null]);
        assert_eq!(
            fails("length", vec![i(1)]),
            "argument must be a string, a collection type, or a structural type"
        );
        let source = Value::Unknown(Type::Object(
            [
                ("name".to_string(), Type::String),
                ("type".to_string(), Type::String),
            ]
            .into(),
        ));
        assert_eq!(ok("length", vec![source.clone()]), i(2));
        assert_eq!(json(&ok("keys", vec![source])), r#"["name","type"]"#);
        assert_eq!(
            ok("length", vec![tuple(vec![Value::unknown(), i(1)])]),
            i(2)
        );
        assert_eq!(ok("length", vec![Value::unknown()]), Value::unknown());
        assert_eq!(
            ok("lookup", vec![obj(&[("a", s("x"))]), s("a"), s("d")]),
            s("x")
        );
        assert_eq!(
            ok("lookup", vec![obj(&[("a", s("x"))]), s("b"), s("d")]),
            s("d")
        );
        let tags = Value::Map(
            [
                ("env".to_string(), s("dev")),
                ("team".to_string(), s("infra")),
            ]
            .into(),
        );
        assert_eq!(
            ok("lookup", vec![tags.clone(), s("team"), s("")]),
            s("infra")
        );
        assert!(fails("lookup", vec![nums(&[1]), s("a"), i(1)]).contains("requires a map"));
        assert!(fails("lookup", vec![tags, s("x"), tuple(vec![])]).contains("same type"));
    }

    #[test]
    fn fixture_slice_sort_values_zipmap() {
        assert_eq!(
            json(&ok("slice", vec![strs(&["a", "b", "c", "d"]), i(1), i(3)])),
            r#"["b","c"]"#
        );
        assert_eq!(
            json(&ok("slice", vec![strs(&["a", "b"]), i(0), i(0)])),
            "[]"
        );
        let m = fails("slice", vec![strs(&["a", "b"]), i(1), i(5)]);
        assert!(
            m.contains("end index must not be greater than the length of the list"),
            "{m}"
        );
        let m = fails("slice", vec![strs(&["a", "b"]), i(2), i(1)]);
        assert!(
            m.contains("start index must not be greater than end index"),
            "{m}"
        );
        assert_eq!(
            json(&ok("sort", vec![strs(&["c", "a", "b"])])),
            r#"["a","b","c"]"#
        );
        assert_eq!(
            json(&ok("sort", vec![strs(&["10", "9", "1"])])),
            r#"["1","10","9"]"#
        );
        assert_eq!(
            json(&ok("sort", vec![nums(&[3, 1, 2])])),
            r#"["1","2","3"]"#
        );
        assert_eq!(json(&ok("sort", vec![tuple(vec![])])), "[]");
        assert_eq!(
            json(&ok("values", vec![obj(&[("b", i(1)), ("a", i(2))])])),
            "[2,1]"
        );
        let settings = obj(&[
            ("size", i(8)),
            ("enabled", Value::Bool(true)),
            ("label", s("disk")),
        ]);
        assert_eq!(json(&ok("values", vec![settings])), r#"[true,"disk",8]"#);
        assert_eq!(json(&ok("values", vec![obj(&[])])), "[]");
        assert_eq!(
            fails("values", vec![nums(&[1])]),
            "values() requires a map as the first argument"
        );
        assert_eq!(
            json(&ok("zipmap", vec![strs(&["a", "b"]), nums(&[1, 2])])),
            r#"{"a":1,"b":2}"#
        );
        assert_eq!(
            json(&ok("zipmap", vec![tuple(vec![]), tuple(vec![])])),
            "{}"
        );
        assert_eq!(
            fails("zipmap", vec![strs(&["a", "b"]), nums(&[1])]),
            "number of keys (2) does not match number of values (1)"
        );
        assert_eq!(
            json(&ok("zipmap", vec![strs(&["a", "a"]), nums(&[1, 2])])),
            r#"{"a":2}"#
        );
    }
}
