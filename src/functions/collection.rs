//! Sequence functions: alltrue, anytrue, chunklist, coalescelist, compact, concat, contains,
//! distinct, element, flatten, matchkeys, range, reverse, slice, sort.

use super::args::{Args, WHOLE_NUMBER};
use super::{FunctionContext, FunctionError};
use crate::value::{convert, unify, Number, Type, Value};
use std::cmp::Ordering;

/// cty's cap on `range`, so a typo cannot allocate without bound.
const RANGE_LIMIT: usize = 1024;

pub(crate) fn seq(v: &Value) -> Option<&[Value]> {
    match v {
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => Some(xs),
        _ => None,
    }
}

pub(super) fn alltrue(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let items = args.list(0, Type::Bool)?;
    Ok(Value::Bool(items.iter().all(|x| *x == Value::Bool(true))))
}

pub(super) fn anytrue(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let items = args.list(0, Type::Bool)?;
    Ok(Value::Bool(items.contains(&Value::Bool(true))))
}

pub(super) fn chunklist(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let items = args.list(0, Type::Dynamic)?;
    if items.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    let size = args.int(1)?;
    if size < 0 {
        return Err(FunctionError::new("the size argument must be positive"));
    }
    if size == 0 {
        return Ok(Value::List(vec![Value::List(items)]));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::List(
        items
            .chunks(size)
            .map(|c| Value::List(c.to_vec()))
            .collect(),
    ))
}

pub(super) fn coalescelist(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    if args.len() == 0 {
        return Err(FunctionError::new("at least one argument is required"));
    }
    for arg in args.rest(0) {
        if !matches!(arg, Value::List(_) | Value::Tuple(_)) {
            return Err(FunctionError::new(
                "coalescelist arguments must be lists or tuples",
            ));
        }
    }
    args.rest(0)
        .iter()
        .find(|arg| seq(arg).is_some_and(|xs| !xs.is_empty()))
        .cloned()
        .ok_or_else(|| FunctionError::new("no non-null arguments"))
}

pub(super) fn compact(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let items = args.list(0, Type::String)?;
    Ok(Value::List(
        items
            .into_iter()
            .filter(|x| !x.is_null() && *x != Value::string(""))
            .collect(),
    ))
}

pub(super) fn concat(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    if args.len() == 0 {
        return Err(FunctionError::new("at least one argument is required"));
    }
    let all = args.rest(0);
    if all.iter().all(|a| matches!(a, Value::List(_))) {
        let types: Vec<Type> = all.iter().map(Value::type_of).collect();
        if let Some(ty) = unify(&types) {
            let mut out = Vec::new();
            for (i, a) in all.iter().enumerate() {
                match convert(a.clone(), &ty).map_err(|e| args.err(i, e))? {
                    Value::List(xs) => out.extend(xs),
                    other => out.push(other),
                }
            }
            return Ok(Value::List(out));
        }
    }
    let mut out = Vec::new();
    for (i, a) in all.iter().enumerate() {
        match a {
            Value::List(xs) | Value::Tuple(xs) => out.extend(xs.iter().cloned()),
            other => {
                let kind = other.kind_name();
                return Err(args.err(
                    i,
                    format!("all arguments must be lists or tuples; got {kind}"),
                ));
            }
        }
    }
    Ok(Value::Tuple(out))
}

pub(super) fn contains(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let items = seq(args.get(0))
        .ok_or_else(|| FunctionError::new("argument must be list, tuple, or set"))?;
    let wanted = args.get(1);
    Ok(Value::Bool(items.iter().any(|x| x == wanted)))
}

pub(super) fn distinct(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut out: Vec<Value> = Vec::new();
    for item in args.list(0, Type::Dynamic)? {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(Value::List(out))
}

pub(super) fn element(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let index = args.number(1)?;
    if index.signum() < 0 {
        return Err(FunctionError::new(
            "cannot use element function with a negative index",
        ));
    }
    let items = match args.get(0) {
        Value::List(xs) | Value::Tuple(xs) => xs,
        other => {
            return Err(FunctionError::new(format!(
                "cannot read elements from {}",
                other.kind_name()
            )))
        }
    };
    let index = index
        .to_i64()
        .ok_or_else(|| FunctionError::new(format!("invalid index: {WHOLE_NUMBER}")))?;
    if items.is_empty() {
        return Err(FunctionError::new(
            "cannot use element function with an empty list",
        ));
    }
    let i = usize::try_from(index).unwrap_or(0) % items.len();
    Ok(items[i].clone())
}

pub(super) fn flatten(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    fn walk(items: &[Value], out: &mut Vec<Value>) {
        for item in items {
            match seq(item) {
                Some(inner) => walk(inner, out),
                None => out.push(item.clone()),
            }
        }
    }
    let items = seq(args.get(0))
        .ok_or_else(|| FunctionError::new("can only flatten lists, sets and tuples"))?;
    let mut out = Vec::new();
    walk(items, &mut out);
    Ok(Value::Tuple(out))
}

pub(super) fn matchkeys(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let values = args.list(0, Type::Dynamic)?;
    let keys = args.convert(1, &Type::List(Box::new(Type::Dynamic)))?;
    let search = args.convert(2, &Type::List(Box::new(Type::Dynamic)))?;
    let ty = unify(&[keys.type_of(), search.type_of()])
        .ok_or_else(|| FunctionError::new("keys and searchset must be of the same type"))?;
    let as_list = |v: Value| match convert(v, &ty) {
        Ok(Value::List(xs)) => Ok(xs),
        _ => Err(FunctionError::new(
            "keys and searchset must be of the same type",
        )),
    };
    let keys = as_list(keys)?;
    let search = as_list(search)?;
    if values.len() != keys.len() {
        return Err(FunctionError::new(
            "length of keys and values should be equal",
        ));
    }
    let out = values
        .into_iter()
        .zip(keys)
        .filter(|(_, k)| search.contains(k))
        .map(|(v, _)| v)
        .collect();
    Ok(Value::List(out))
}

pub(super) fn range(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let nums = (0..args.len())
        .map(|i| args.number(i))
        .collect::<Result<Vec<Number>, _>>()?;
    let zero = Number::from_i64(0);
    let (start, end, step) = match nums.as_slice() {
        [end] if end.signum() < 0 => (zero, end.clone(), Number::from_i64(-1)),
        [end] => (zero, end.clone(), Number::from_i64(1)),
        [start, end] if end < start => (start.clone(), end.clone(), Number::from_i64(-1)),
        [start, end] => (start.clone(), end.clone(), Number::from_i64(1)),
        [start, end, step] => (start.clone(), end.clone(), step.clone()),
        _ => return Err(FunctionError::new("must have one, two, or three arguments")),
    };
    let down = step.signum() < 0;
    if down && end > start {
        return Err(args.err(1, "end must be less than start when step is negative"));
    }
    if !down && end < start {
        return Err(args.err(1, "end must be greater than start when step is positive"));
    }
    let mut out = Vec::new();
    let mut num = start;
    loop {
        let done = match num.partial_cmp(&end) {
            Some(Ordering::Less) => down,
            Some(Ordering::Greater) => !down,
            _ => true,
        };
        if done {
            break;
        }
        if out.len() >= RANGE_LIMIT {
            return Err(FunctionError::new(
                "more than 1024 values were generated; either decrease the difference between start and end or use a smaller step",
            ));
        }
        let next = num
            .add(&step)
            .map_err(|e| FunctionError::new(e.to_string()))?;
        out.push(Value::Number(num));
        num = next;
    }
    Ok(Value::List(out))
}

pub(super) fn reverse(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Tuple(xs) => Ok(Value::Tuple(xs.iter().rev().cloned().collect())),
        Value::List(xs) | Value::Set(xs) => Ok(Value::List(xs.iter().rev().cloned().collect())),
        other => Err(args.err(
            0,
            format!(
                "can only reverse list or tuple values, not {}",
                other.kind_name()
            ),
        )),
    }
}

pub(super) fn slice(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (items, tuple) = match args.get(0) {
        Value::Set(_) => {
            return Err(args.err(0, "cannot slice a set, because its elements do not have indices; explicitly convert to a list if the ordering of the result is not important"));
        }
        Value::List(xs) => (xs, false),
        Value::Tuple(xs) => (xs, true),
        _ => return Err(args.err(0, "must be a list or tuple value")),
    };
    let index = |i: usize, what: &str| -> Result<usize, FunctionError> {
        let n = args.number(i)?;
        let n = n
            .to_i64()
            .ok_or_else(|| args.err(i, format!("invalid {what} index: {WHOLE_NUMBER}")))?;
        let n = usize::try_from(n)
            .map_err(|_| args.err(i, format!("{what} index must not be less than zero")))?;
        if n > items.len() {
            return Err(args.err(
                i,
                format!("{what} index must not be greater than the length of the list"),
            ));
        }
        Ok(n)
    };
    let start = index(1, "start")?;
    let end = index(2, "end")?;
    if start > end {
        return Err(args.err(1, "start index must not be greater than end index"));
    }
    let part = items[start..end].to_vec();
    Ok(if tuple {
        Value::Tuple(part)
    } else {
        Value::List(part)
    })
}

pub(super) fn sort(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut strings = Vec::new();
    for (i, item) in args.list(0, Type::String)?.into_iter().enumerate() {
        match item {
            Value::String(s) => strings.push(s),
            _ => {
                return Err(FunctionError::new(format!(
                    "given list element {i} is null; a null string cannot be sorted"
                )))
            }
        }
    }
    strings.sort();
    Ok(Value::List(
        strings.into_iter().map(Value::String).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    fn nums(xs: &[i64]) -> Value {
        tuple(xs.iter().map(|x| i(*x)).collect())
    }

    #[test]
    fn fixture_chunklist_coalesce() {
        assert_eq!(
            json(&ok("chunklist", vec![nums(&[1, 2, 3, 4, 5]), i(2)])),
            "[[1,2],[3,4],[5]]"
        );
        assert_eq!(
            json(&ok("chunklist", vec![strs(&["a"]), i(1)])),
            r#"[["a"]]"#
        );
        assert_eq!(json(&ok("chunklist", vec![tuple(vec![]), i(3)])), "[]");
        assert_eq!(json(&ok("chunklist", vec![nums(&[1, 2]), i(0)])), "[[1,2]]");
        assert_eq!(
            fails("chunklist", vec![nums(&[1, 2]), i(-1)]),
            "the size argument must be positive"
        );
        assert_eq!(ok("coalesce", vec![s(""), s("b"), s("c")]), s("b"));
        assert_eq!(ok("coalesce", vec![Value::Null, i(1), i(2)]), i(1));
        assert_eq!(ok("coalesce", vec![i(1), s("x")]), s("1"));
        assert_eq!(
            fails("coalesce", vec![Value::Null, s("")]),
            "no non-null, non-empty-string arguments"
        );
        assert_eq!(
            fails("coalesce", vec![]),
            "all arguments must have the same type"
        );
        assert_eq!(
            json(&ok(
                "coalescelist",
                vec![tuple(vec![]), strs(&["a"]), strs(&["b"])]
            )),
            r#"["a"]"#
        );
        assert_eq!(
            fails("coalescelist", vec![tuple(vec![]), tuple(vec![])]),
            "no non-null arguments"
        );
        assert_eq!(
            fails("coalescelist", vec![s("a")]),
            "coalescelist arguments must be lists or tuples"
        );
    }

    #[test]
    fn fixture_compact_concat_contains_distinct() {
        assert_eq!(
            json(&ok("compact", vec![strs(&["a", "", "b", "", "c"])])),
            r#"["a","b","c"]"#
        );
        assert_eq!(json(&ok("compact", vec![tuple(vec![])])), "[]");
        assert_eq!(
            json(&ok("compact", vec![tuple(vec![s("a"), Value::Null])])),
            r#"["a"]"#
        );
        assert_eq!(
            json(&ok("concat", vec![nums(&[1, 2]), nums(&[3])])),
            "[1,2,3]"
        );
        assert_eq!(
            json(&ok("concat", vec![strs(&["a"]), nums(&[1])])),
            r#"["a",1]"#
        );
        assert_eq!(fails("concat", vec![]), "at least one argument is required");
        let m = fails("concat", vec![nums(&[1]), s("x")]);
        assert!(
            m.contains("all arguments must be lists or tuples; got string"),
            "{m}"
        );
        let lists = ok(
            "concat",
            vec![Value::List(vec![i(1)]), Value::List(vec![s("a")])],
        );
        assert_eq!(lists, Value::List(vec![s("1"), s("a")]));
        assert_eq!(
            ok("contains", vec![strs(&["a", "b"]), s("a")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("contains", vec![strs(&["a", "b"]), s("c")]),
            Value::Bool(false)
        );
        assert_eq!(
            ok("contains", vec![nums(&[1, 2]), s("1")]),
            Value::Bool(false)
        );
        assert_eq!(
            fails("contains", vec![s("ab"), s("a")]),
            "argument must be list, tuple, or set"
        );
        assert_eq!(
            json(&ok("distinct", vec![strs(&["a", "b", "a", "c", "b"])])),
            r#"["a","b","c"]"#
        );
        assert_eq!(json(&ok("distinct", vec![tuple(vec![])])), "[]");
        assert_eq!(
            json(&ok("distinct", vec![tuple(vec![i(1), s("1")])])),
            r#"["1"]"#
        );
    }

    #[test]
    fn fixture_element_flatten_index() {
        assert_eq!(ok("element", vec![strs(&["a", "b", "c"]), i(1)]), s("b"));
        assert_eq!(ok("element", vec![strs(&["a", "b", "c"]), i(5)]), s("c"));
        fails("element", vec![strs(&["a", "b", "c"]), i(-1)]);
        assert_eq!(
            fails("element", vec![tuple(vec![]), i(0)]),
            "cannot use element function with an empty list"
        );
        assert_eq!(
            json(&ok(
                "flatten",
                vec![tuple(vec![strs(&["a", "b"]), tuple(vec![]), strs(&["c"])])]
            )),
            r#"["a","b","c"]"#
        );
        assert_eq!(
            json(&ok(
                "flatten",
                vec![tuple(vec![tuple(vec![strs(&["a"])]), s("b")])]
            )),
            r#"["a","b"]"#
        );
        assert_eq!(json(&ok("flatten", vec![tuple(vec![])])), "[]");
        assert_eq!(
            fails("flatten", vec![s("a")]),
            "can only flatten lists, sets and tuples"
        );
        // Today's Packer (expected-docs.json); 1.6.6 indexed instead, a documented deviation.
        assert_eq!(ok("index", vec![strs(&["a", "b", "c"]), s("b")]), i(1));
        assert_eq!(
            fails("index", vec![strs(&["a", "b"]), s("z")]),
            "item not found"
        );
        assert_eq!(
            fails("index", vec![nums(&[1, 2]), s("2")]),
            "item not found"
        );
        assert_eq!(ok("index", vec![nums(&[1, 2]), i(2)]), i(1));
        fails("index", vec![strs(&["a", "b", "c"]), i(1)]);
        let m = fails("index", vec![obj(&[("a", i(1)), ("b", i(2))]), s("b")]);
        assert_eq!(m, "argument must be a list or tuple");
        fails("index", vec![strs(&["a"]), i(3)]);
        assert_eq!(
            fails("index", vec![tuple(vec![]), s("x")]),
            "cannot search an empty list"
        );
        let tags = Value::Map([("env".to_string(), s("dev"))].into());
        fails("index", vec![tags, s("nope")]);
    }

    #[test]
    fn fixture_merge_range_reverse() {
        let m = ok(
            "merge",
            vec![
                obj(&[("a", i(1))]),
                obj(&[("b", i(2))]),
                obj(&[("a", i(3))]),
            ],
        );
        assert_eq!(json(&m), r#"{"a":3,"b":2}"#);
        assert_eq!(ok("merge", vec![]), Value::Null);
        assert_eq!(json(&ok("merge", vec![obj(&[]), Value::Null])), "{}");
        assert_eq!(
            fails("merge", vec![obj(&[("a", i(1))]), nums(&[1])]),
            "arguments must be maps or objects, got \"tuple\""
        );
        let tags = Value::Map(
            [
                ("env".to_string(), s("dev")),
                ("team".to_string(), s("infra")),
            ]
            .into(),
        );
        assert_eq!(
            json(&ok("merge", vec![tags.clone(), obj(&[("env", s("prod"))])])),
            r#"{"env":"prod","team":"infra"}"#
        );
        assert!(matches!(
            ok("merge", vec![tags.clone(), tags]),
            Value::Map(_)
        ));
        assert_eq!(json(&ok("range", vec![i(3)])), "[0,1,2]");
        assert_eq!(json(&ok("range", vec![i(1), i(4)])), "[1,2,3]");
        assert_eq!(json(&ok("range", vec![i(0), i(10), i(3)])), "[0,3,6,9]");
        assert_eq!(json(&ok("range", vec![i(5), i(0), i(-2)])), "[5,3,1]");
        assert_eq!(json(&ok("range", vec![i(0)])), "[]");
        assert_eq!(json(&ok("range", vec![i(1), i(0)])), "[1]");
        assert_eq!(json(&ok("range", vec![i(-3)])), "[0,-1,-2]");
        assert_eq!(
            json(&ok("range", vec![i(0), i(1), n("0.25")])),
            "[0,0.25,0.5,0.75]"
        );
        assert!(fails("range", vec![i(0), i(1), i(0)]).starts_with("more than 1024 values"));
        assert!(fails("range", vec![n("1e9")]).starts_with("more than 1024 values"));
        assert!(fails("range", vec![i(5), i(0), i(1)]).contains("end must be greater than start"));
        assert!(fails("range", vec![]).contains("one, two, or three"));
        assert_eq!(json(&ok("reverse", vec![nums(&[1, 2, 3])])), "[3,2,1]");
        assert_eq!(json(&ok("reverse", vec![tuple(vec![])])), "[]");
        assert!(fails("reverse", vec![s("abc")])
            .contains("can only reverse list or tuple values, not string"));
    }

    #[test]
    fn alltrue_anytrue_matchkeys_transpose() {
        assert_eq!(
            ok("alltrue", vec![tuple(vec![Value::Bool(true), s("true")])]),
            Value::Bool(true)
        );
        assert_eq!(ok("alltrue", vec![tuple(vec![])]), Value::Bool(true));
        assert_eq!(
            ok("alltrue", vec![tuple(vec![Value::Bool(true), Value::Null])]),
            Value::Bool(false)
        );
        assert_eq!(
            ok(
                "anytrue",
                vec![tuple(vec![Value::Bool(false), Value::Bool(true)])]
            ),
            Value::Bool(true)
        );
        assert_eq!(ok("anytrue", vec![tuple(vec![])]), Value::Bool(false));
        let v = ok(
            "matchkeys",
            vec![
                strs(&["i-1", "i-2", "i-3"]),
                strs(&["a", "b", "a"]),
                strs(&["a"]),
            ],
        );
        assert_eq!(json(&v), r#"["i-1","i-3"]"#);
        assert!(fails(
            "matchkeys",
            vec![strs(&["x"]), strs(&["a", "b"]), strs(&["a"])]
        )
        .contains("length"));
        let input = obj(&[("a", strs(&["1", "2"])), ("b", strs(&["2", "3"]))]);
        assert_eq!(
            json(&ok("transpose", vec![input])),
            r#"{"1":["a"],"2":["a","b"],"3":["b"]}"#
        );
    }
}
