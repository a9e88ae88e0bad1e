//! Type conversion and sensitivity functions: tobool, tolist, tomap, tonumber, toset, tostring,
//! sensitive, nonsensitive, issensitive.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{convert, Type, Value};

pub(super) fn tobool(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    to(args, Type::Bool)
}

pub(super) fn tonumber(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    to(args, Type::Number)
}

pub(super) fn tostring(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    to(args, Type::String)
}

pub(super) fn tolist(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    to(args, Type::List(Box::new(Type::Dynamic)))
}

pub(super) fn toset(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    to(args, Type::Set(Box::new(Type::Dynamic)))
}

pub(super) fn tomap(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    to(args, Type::Map(Box::new(Type::Dynamic)))
}

/// Terraform's `MakeToFunc`: a conversion with messages that say what is allowed.
fn to(args: &Args, want: Type) -> Result<Value, FunctionError> {
    let v = args.get(0);
    if v.is_null() {
        return Ok(Value::Null);
    }
    let target = match &want {
        Type::List(_) => "list of any single type".to_string(),
        Type::Set(_) => "set of any single type".to_string(),
        Type::Map(_) => "map of any single type".to_string(),
        t => t.to_string(),
    };
    convert(v.clone(), &want).map_err(|_| {
        let kind = v.kind_name();
        let message = match (v, &want) {
            _ if args.marked => format!("cannot convert this sensitive {kind} to {target}"),
            (Value::String(s), Type::Bool) => {
                format!("cannot convert {s:?} to bool: only the strings \"true\" or \"false\" are allowed")
            }
            (Value::String(s), Type::Number) => {
                format!("cannot convert {s:?} to number: string must be a decimal representation of a number")
            }
            _ => format!("cannot convert {kind} to {target}"),
        };
        args.err(0, message)
    })
}

pub(super) fn sensitive(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(args.get(0).clone().sensitive())
}

pub(super) fn nonsensitive(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Sensitive(inner) => Ok(inner.unmark().0.clone()),
        Value::Unknown(ty) => Ok(Value::Unknown(ty.clone())),
        _ => Err(args.err(
            0,
            "the given value is not sensitive, so this call is redundant",
        )),
    }
}

pub(super) fn issensitive(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(match args.get(0) {
        Value::Sensitive(_) => Value::Bool(true),
        Value::Unknown(_) => Value::Unknown(Type::Bool),
        _ => Value::Bool(false),
    })
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::{Type, Value};

    #[test]
    fn conversions() {
        assert_eq!(ok("tostring", vec![i(1)]), s("1"));
        assert_eq!(ok("tostring", vec![Value::Bool(true)]), s("true"));
        assert_eq!(ok("tostring", vec![Value::Null]), Value::Null);
        assert!(fails("tostring", vec![strs(&["a"])]).contains("cannot convert tuple to string"));
        assert_eq!(ok("tonumber", vec![s("1.5")]), n("1.5"));
        let m = fails("tonumber", vec![s("x")]);
        assert!(m.contains("cannot convert \"x\" to number"), "{m}");
        assert_eq!(ok("tobool", vec![s("true")]), Value::Bool(true));
        assert!(fails("tobool", vec![s("yes")]).contains("only the strings"));
        assert!(fails("tobool", vec![i(1)]).contains("cannot convert number to bool"));
        assert_eq!(
            ok("tolist", vec![tuple(vec![i(1), s("a")])]),
            Value::List(vec![s("1"), s("a")])
        );
        assert_eq!(
            ok("toset", vec![strs(&["b", "a", "b"])]),
            Value::Set(vec![s("a"), s("b")])
        );
        assert!(matches!(
            ok("tomap", vec![obj(&[("a", i(1))])]),
            Value::Map(_)
        ));
        assert!(fails("tomap", vec![strs(&["a"])]).contains("map of any single type"));
        let m = fails("tonumber", vec![s("secret").sensitive()]);
        assert!(m.contains("sensitive") && !m.contains("secret\""), "{m}");
        assert_eq!(ok("tonumber", vec![Value::unknown()]), Value::unknown());
    }

    #[test]
    fn sensitivity() {
        let secret = s("x").sensitive();
        assert_eq!(ok("sensitive", vec![s("x")]), secret);
        assert_eq!(ok("sensitive", vec![Value::Null]), Value::Null.sensitive());
        assert_eq!(ok("nonsensitive", vec![secret.clone()]), s("x"));
        assert!(fails("nonsensitive", vec![s("x")])
            .contains("not sensitive, so this call is redundant"));
        assert_eq!(ok("issensitive", vec![secret]), Value::Bool(true));
        assert_eq!(ok("issensitive", vec![s("x")]), Value::Bool(false));
        assert_eq!(
            ok("issensitive", vec![Value::unknown()]),
            Value::Unknown(Type::Bool)
        );
        assert_eq!(
            ok("issensitive", vec![ok("upper", vec![s("x").sensitive()])]),
            Value::Bool(true)
        );
    }
}
