//! Set functions: setintersection, setproduct, setsubtract, setunion.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{convert, unify, Type, Value};

/// The most elements `setproduct` builds before it gives up instead of exhausting memory.
const PRODUCT_LIMIT: usize = 1 << 20;

pub(super) fn setunion(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (sets, ety) = sets(args)?;
    make_set(sets.into_iter().flatten().collect(), &ety)
}

pub(super) fn setintersection(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (sets, ety) = sets(args)?;
    let mut iter = sets.into_iter();
    let mut out = iter.next().unwrap_or_default();
    for other in iter {
        out.retain(|x| other.contains(x));
    }
    make_set(out, &ety)
}

pub(super) fn setsubtract(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (sets, ety) = sets(args)?;
    let mut iter = sets.into_iter();
    let mut out = iter.next().unwrap_or_default();
    let minus = iter.next().unwrap_or_default();
    out.retain(|x| !minus.contains(x));
    make_set(out, &ety)
}

/// Every argument as a set, converted to their common element type.
fn sets(args: &Args) -> Result<(Vec<Vec<Value>>, Type), FunctionError> {
    let any_set = Type::Set(Box::new(Type::Dynamic));
    let mut sets = Vec::new();
    let mut etys = Vec::new();
    for i in 0..args.len() {
        let set = args.convert(i, &any_set)?;
        if let (Type::Set(ety), Value::Set(xs)) = (set.type_of(), &set) {
            if !(xs.is_empty() && *ety == Type::Dynamic) {
                etys.push(*ety);
            }
        }
        sets.push(set);
    }
    let ety = unify(&etys)
        .ok_or_else(|| FunctionError::new("given sets must all have compatible element types"))?;
    let target = Type::Set(Box::new(ety.clone()));
    let mut out = Vec::new();
    for (i, set) in sets.into_iter().enumerate() {
        match convert(set, &target).map_err(|e| args.err(i, e))? {
            Value::Set(xs) => out.push(xs),
            _ => out.push(Vec::new()),
        }
    }
    Ok((out, ety))
}

fn make_set(items: Vec<Value>, ety: &Type) -> Result<Value, FunctionError> {
    convert(Value::Tuple(items), &Type::Set(Box::new(ety.clone())))
        .map_err(|e| FunctionError::new(e.to_string()))
}

pub(super) fn setproduct(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    if args.len() < 2 {
        return Err(FunctionError::new("at least two arguments are required"));
    }
    let mut all_lists = true;
    let mut inputs: Vec<Vec<Value>> = Vec::new();
    for (i, arg) in args.rest(0).iter().enumerate() {
        match arg {
            Value::Set(xs) => {
                all_lists = false;
                inputs.push(xs.clone());
            }
            Value::List(xs) => inputs.push(xs.clone()),
            Value::Tuple(xs) if xs.is_empty() => inputs.push(Vec::new()),
            Value::Tuple(xs) => {
                let types: Vec<Type> = xs
                    .iter()
                    .filter(|x| !x.is_null())
                    .map(Value::type_of)
                    .collect();
                let ety = unify(&types)
                    .ok_or_else(|| args.err(i, "all elements must be of the same type"))?;
                let converted = xs
                    .iter()
                    .map(|x| convert(x.clone(), &ety))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| args.err(i, e))?;
                inputs.push(converted);
            }
            _ => return Err(args.err(i, "a set or a list is required")),
        }
    }
    let total = inputs
        .iter()
        .try_fold(1usize, |acc, xs| acc.checked_mul(xs.len()))
        .filter(|t| *t <= PRODUCT_LIMIT)
        .ok_or_else(|| {
            FunctionError::new(format!(
                "the product would have more than {PRODUCT_LIMIT} elements"
            ))
        })?;
    let mut product = Vec::with_capacity(total);
    if total > 0 {
        let mut odometer = vec![0usize; inputs.len()];
        for _ in 0..total {
            product.push(Value::Tuple(
                inputs
                    .iter()
                    .zip(&odometer)
                    .map(|(xs, &j)| xs[j].clone())
                    .collect(),
            ));
            for k in (0..odometer.len()).rev() {
                odometer[k] += 1;
                if odometer[k] < inputs[k].len() {
                    break;
                }
                odometer[k] = 0;
            }
        }
    }
    if all_lists {
        Ok(Value::List(product))
    } else {
        make_set(product, &Type::Dynamic)
    }
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_set_functions() {
        let v = ok(
            "setintersection",
            vec![strs(&["a", "b"]), strs(&["b", "c"]), strs(&["b", "d"])],
        );
        assert_eq!(json(&v), r#"["b"]"#);
        assert!(matches!(v, Value::Set(_)));
        assert_eq!(
            json(&ok("setintersection", vec![strs(&["a"]), tuple(vec![])])),
            "[]"
        );
        assert_eq!(
            json(&ok(
                "setintersection",
                vec![tuple(vec![i(1), i(2)]), strs(&["2"])]
            )),
            r#"["2"]"#
        );
        let v = ok(
            "setproduct",
            vec![strs(&["a", "b"]), tuple(vec![i(1), i(2)])],
        );
        assert_eq!(json(&v), r#"[["a",1],["a",2],["b",1],["b",2]]"#);
        assert_eq!(
            json(&ok("setproduct", vec![strs(&["a"]), tuple(vec![])])),
            "[]"
        );
        assert_eq!(
            fails("setproduct", vec![strs(&["x"])]),
            "at least two arguments are required"
        );
        let v = ok(
            "setunion",
            vec![strs(&["a", "b"]), strs(&["b", "c"]), strs(&["d"])],
        );
        assert_eq!(json(&v), r#"["a","b","c","d"]"#);
        assert_eq!(json(&ok("setunion", vec![tuple(vec![])])), "[]");
        assert_eq!(
            json(&ok("setunion", vec![tuple(vec![i(1)]), strs(&["a"])])),
            r#"["1","a"]"#
        );
        assert_eq!(
            json(&ok(
                "setsubtract",
                vec![strs(&["a", "b", "c"]), strs(&["a", "c"])]
            )),
            r#"["b"]"#
        );
        fails("setunion", vec![strs(&["a"]), tuple(vec![tuple(vec![])])]);
        let big = tuple((0..1024).map(i).collect());
        assert!(fails("setproduct", vec![big.clone(), big.clone(), big]).contains("more than"));
    }
}
