//! Numeric functions: abs, ceil, floor, log, max, min, parseint, pow, signum, sum.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{Number, Value};
use std::cmp::Ordering;

pub(super) fn abs(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Number(args.number(0)?.abs()))
}

pub(super) fn ceil(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Number(args.number(0)?.ceil()))
}

pub(super) fn floor(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Number(args.number(0)?.floor()))
}

// cty computes log and pow in float64 with Go's math.Log and math.Pow; `Number` does exactly
// that, so the digits match Packer's.
pub(super) fn log(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (num, base) = (args.number(0)?, args.number(1)?);
    num.log(&base)
        .map(Value::Number)
        .map_err(|_| FunctionError::new(format!("log({num}, {base}) is not a real number")))
}

pub(super) fn pow(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let (num, power) = (args.number(0)?, args.number(1)?);
    num.pow(&power)
        .map(Value::Number)
        .map_err(|_| FunctionError::new(format!("pow({num}, {power}) is not a real number")))
}

pub(super) fn max(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    extreme(args, Ordering::Greater)
}

pub(super) fn min(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    extreme(args, Ordering::Less)
}

fn extreme(args: &Args, want: Ordering) -> Result<Value, FunctionError> {
    if args.len() == 0 {
        return Err(FunctionError::new("must pass at least one number"));
    }
    let mut best = args.number(0)?;
    for i in 1..args.len() {
        let n = args.number(i)?;
        if n.partial_cmp(&best) == Some(want) {
            best = n;
        }
    }
    Ok(Value::Number(best))
}

pub(super) fn signum(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let n = args.int(0)?;
    Ok(Value::int(n.signum()))
}

pub(super) fn parseint(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let Value::String(text) = args.get(0) else {
        return Err(args.err(
            0,
            format!(
                "first argument must be a string, not {}",
                args.get(0).kind_name()
            ),
        ));
    };
    let base = args.int(1)?;
    if !(2..=62).contains(&base) {
        return Err(args.err(1, "base must be a whole number between 2 and 62 inclusive"));
    }
    let base = base as u32;
    let bad = || args.err(0, format!("cannot parse {text:?} as a base {base} integer"));
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    // Far more digits than a number holds; refuse before the quadratic conversion.
    if digits.is_empty() || digits.len() > 4096 {
        return Err(bad());
    }
    let mut big = BigUint::default();
    for c in digits.chars() {
        let d = digit_value(c, base).ok_or_else(bad)?;
        big.mul_add(base, d);
    }
    let mut decimal = big.to_decimal();
    if negative && decimal != "0" {
        decimal.insert(0, '-');
    }
    Number::parse(&decimal)
        .map(Value::Number)
        .ok_or_else(|| args.err(0, format!("{text:?} is too large a number")))
}

/// A digit's value as Go's `big.Int.SetString` reads it: letters are case-insensitive up to
/// base 36; above it `a`-`z` are 10-35 and `A`-`Z` 36-61.
fn digit_value(c: char, base: u32) -> Option<u32> {
    let d = match c {
        '0'..='9' => c as u32 - '0' as u32,
        'a'..='z' => c as u32 - 'a' as u32 + 10,
        'A'..='Z' if base <= 36 => c as u32 - 'A' as u32 + 10,
        'A'..='Z' => c as u32 - 'A' as u32 + 36,
        _ => return None,
    };
    (d < base).then_some(d)
}

pub(super) fn sum(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let items = match args.get(0) {
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs,
        Value::Map(m) | Value::Object(m) if m.is_empty() => {
            return Err(args.err(0, "cannot sum an empty list"));
        }
        Value::Map(_) | Value::Object(_) => {
            let kind = args.get(0).kind_name();
            return Err(args.err(
                0,
                format!("argument must be list, set, or tuple. Received {kind}"),
            ));
        }
        _ => return Err(args.err(0, "cannot sum noniterable")),
    };
    if items.is_empty() {
        return Err(args.err(0, "cannot sum an empty list"));
    }
    let not_numbers = || args.err(0, "argument must be list, set, or tuple of number values");
    let mut total: Option<Number> = None;
    for item in items {
        let n = match crate::value::convert(item.clone(), &crate::value::Type::Number) {
            Ok(Value::Number(n)) => n,
            _ => return Err(not_numbers()),
        };
        total = Some(match total {
            None => n,
            Some(t) => t
                .add(&n)
                .map_err(|_| FunctionError::new("can't compute sum of opposing infinities"))?,
        });
    }
    total.map(Value::Number).ok_or_else(not_numbers)
}

/// Just enough of an unsigned big integer for radix conversions.
#[derive(Default)]
pub(crate) struct BigUint {
    /// Little-endian base-2^32 limbs.
    limbs: Vec<u32>,
}

impl BigUint {
    /// From decimal digits (anything else is ignored by the caller's validation).
    pub fn from_decimal(digits: &str) -> BigUint {
        let mut big = BigUint::default();
        for d in digits.bytes().filter(u8::is_ascii_digit) {
            big.mul_add(10, u32::from(d - b'0'));
        }
        big
    }

    /// self = self * m + a
    pub fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// self = self / d, returning the remainder.
    fn div_rem(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / u64::from(d)) as u32;
            rem = v % u64::from(d);
        }
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
        rem as u32
    }

    /// The digits in `base` (2..=36), lowercase.
    pub fn to_radix(&self, base: u32) -> String {
        let mut n = BigUint {
            limbs: self.limbs.clone(),
        };
        let mut digits = Vec::new();
        while !n.limbs.is_empty() {
            let d = n.div_rem(base);
            digits.push(char::from_digit(d, base).unwrap_or('?'));
        }
        if digits.is_empty() {
            return "0".into();
        }
        digits.iter().rev().collect()
    }

    pub fn to_decimal(&self) -> String {
        self.to_radix(10)
    }
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_abs_ceil_floor() {
        assert_eq!(ok("abs", vec![i(-3)]), i(3));
        assert_eq!(ok("abs", vec![n("2.5")]), n("2.5"));
        assert_eq!(ok("abs", vec![i(0)]), i(0));
        assert_eq!(ok("abs", vec![s("-4")]), i(4));
        assert!(fails("abs", vec![s("x")]).contains("\"num\""));
        assert_eq!(ok("ceil", vec![n("1.2")]), i(2));
        assert_eq!(ok("ceil", vec![n("-1.2")]), i(-1));
        assert_eq!(ok("ceil", vec![i(5)]), i(5));
        let inf = Value::Number(crate::value::Number::from_f64(f64::INFINITY).unwrap());
        assert_eq!(ok("ceil", vec![inf.clone()]), inf);
        assert_eq!(ok("floor", vec![n("1.8")]), i(1));
        assert_eq!(ok("floor", vec![n("-1.2")]), i(-2));
        fails("floor", vec![s("x")]);
    }

    #[test]
    fn fixture_log_pow() {
        assert_eq!(json(&ok("log", vec![i(8), i(2)])), "3");
        assert_eq!(json(&ok("log", vec![i(100), i(10)])), "2");
        let v = ok("log", vec![i(0), i(10)]);
        assert!(matches!(&v, Value::Number(x) if x.is_infinite() && x.signum() < 0));
        fails("log", vec![i(-1), i(10)]);
        assert_eq!(json(&ok("pow", vec![i(2), i(10)])), "1024");
        assert_eq!(json(&ok("pow", vec![i(2), n("0.5")])), "1.4142135623730951");
        assert_eq!(json(&ok("pow", vec![i(0), i(0)])), "1");
        assert_eq!(json(&ok("pow", vec![i(2), i(-1)])), "0.5");
        assert_eq!(json(&ok("pow", vec![n("1.1"), i(2)])), "1.2100000000000002");
        fails("pow", vec![i(-8), n("0.5")]);
    }

    #[test]
    fn fixture_max_min_signum() {
        assert_eq!(ok("max", vec![i(1), i(5), i(3)]), i(5));
        assert_eq!(ok("max", vec![i(1), i(7), i(2)]), i(7));
        assert_eq!(fails("max", vec![]), "must pass at least one number");
        assert_eq!(ok("max", vec![i(1), s("9")]), i(9));
        assert_eq!(ok("min", vec![i(4), i(2), i(8)]), i(2));
        assert_eq!(ok("min", vec![n("-1.5"), i(0)]), n("-1.5"));
        assert!(fails("min", vec![s("a")]).contains("\"numbers\""));
        assert_eq!(ok("signum", vec![i(-9)]), i(-1));
        assert_eq!(ok("signum", vec![i(0)]), i(0));
        assert!(fails("signum", vec![n("3.5")]).contains("whole number"));
    }

    #[test]
    fn fixture_parseint() {
        assert_eq!(ok("parseint", vec![s("100"), i(10)]), i(100));
        assert_eq!(ok("parseint", vec![s("FF"), i(16)]), i(255));
        assert_eq!(ok("parseint", vec![s("-10"), i(2)]), i(-2));
        assert_eq!(ok("parseint", vec![s("zz"), i(36)]), i(1295));
        assert_eq!(ok("parseint", vec![s("Z"), i(62)]), i(61));
        let m = fails("parseint", vec![s("12"), i(2)]);
        assert!(m.contains("cannot parse \"12\" as a base 2 integer"), "{m}");
        assert!(fails("parseint", vec![s("10"), i(1)]).contains("between 2 and 62"));
        assert!(fails("parseint", vec![i(10), i(10)]).contains("must be a string"));
        fails("parseint", vec![s(""), i(10)]);
        fails("parseint", vec![s("0x10"), i(16)]);
        let big = ok("parseint", vec![s("9007199254740993"), i(10)]);
        assert!(matches!(big, Value::Number(_)));
    }

    #[test]
    fn sum_adds_sequences() {
        assert_eq!(ok("sum", vec![tuple(vec![i(1), i(2), s("3")])]), i(6));
        assert!(fails("sum", vec![tuple(vec![])]).contains("empty"));
        assert!(fails("sum", vec![tuple(vec![s("x")])]).contains("number values"));
        assert!(fails("sum", vec![s("x")]).contains("noniterable"));
        assert!(fails("sum", vec![tuple(vec![i(1), Value::Null])]).contains("number values"));
    }

    #[test]
    fn big_uint_radix() {
        let b = super::BigUint::from_decimal("340282366920938463463374607431768211455");
        assert_eq!(b.to_radix(16), "ffffffffffffffffffffffffffffffff");
        assert_eq!(super::BigUint::default().to_radix(2), "0");
    }
}
