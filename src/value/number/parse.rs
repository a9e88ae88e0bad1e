//! Go's `Float.Parse` at 512 bits, quirks included: binary `p` exponents, and decimal scaling by
//! powers of five that are themselves rounded (so a literal can round twice).

use super::arith::{finish, mul_p, quo_p};
use super::{Form, Mant, Number, MAX_EXP, MIN_EXP, PARSE_PREC};
use num_bigint::BigUint;

/// Go's `Float.Parse(text, 10)` at 512 bits (after the Inf spellings): mantissa digits with
/// an optional point, an optional `e`/`E` (decimal) or `p`/`P` (binary) exponent. The decimal
/// scaling is Go's: the exact mantissa times or divided by 5^n, where 5^n beyond 5^27 is
/// itself computed by repeated squaring at 576/640 bits, so it can round twice.
pub(super) fn parse_go_float(b: &[u8]) -> Option<Number> {
    let mut i = 0;
    let neg = match b.first()? {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut digits: Vec<u8> = Vec::new();
    let mut point: Option<usize> = None;
    while let Some(&c) = b.get(i) {
        if c == b'.' && point.is_none() {
            point = Some(digits.len());
        } else if c.is_ascii_digit() {
            digits.push(c - b'0');
        } else {
            break;
        }
        i += 1;
    }
    if digits.is_empty() {
        return None;
    }
    let frac = point.map_or(0, |p| p as i64 - digits.len() as i64);
    let (mut exp, mut binary) = (0i64, false);
    if let Some(&c) = b.get(i) {
        if matches!(c, b'e' | b'E' | b'p' | b'P') {
            binary = matches!(c, b'p' | b'P');
            i += 1;
            let start = i;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let digits_start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == digits_start {
                return None;
            }
            let text = std::str::from_utf8(&b[start..i]).ok()?;
            exp = text.trim_start_matches('+').parse::<i64>().ok()?;
        }
    }
    if i != b.len() {
        return None;
    }
    let mant = BigUint::from_radix_be(&digits, 10)?;
    if mant.bits() == 0 {
        return Some(Number::zero(neg, PARSE_PREC));
    }
    let exp2 = mant.bits() as i128 + i128::from(frac) + i128::from(exp);
    if exp2 < i128::from(MIN_EXP) || exp2 > i128::from(MAX_EXP) {
        return None;
    }
    let exp5 = i128::from(frac) + if binary { 0 } else { i128::from(exp) };
    let e2 = (exp2 - mant.bits() as i128) as i64;
    if exp5 == 0 {
        return Some(finish(neg, mant, e2, false, PARSE_PREC));
    }
    // The unrounded mantissa: Go multiplies or divides it in full.
    let tz = mant.trailing_zeros().unwrap_or(0);
    let z = Number {
        form: Form::Finite,
        neg,
        prec: PARSE_PREC,
        mant: Mant::from_big(mant >> tz),
        exp: e2 + tz as i64,
    };
    let p = go_pow5(u64::try_from(exp5.unsigned_abs()).ok()?)?;
    if exp5 < 0 {
        quo_p(&z, &p, PARSE_PREC)
    } else {
        mul_p(&z, &p, PARSE_PREC)
    }
}

/// Go's `(*Float).pow5` on a 576-bit float: exact up to 5^27, then binary powering with
/// 640-bit squares; it overflows to +Inf like any big.Float.
fn go_pow5(n: u64) -> Option<Number> {
    const TABLE_MAX: u64 = 27;
    let exact =
        |k: u64, prec: u32| finish(false, BigUint::from(5u32).pow(k as u32), 0, false, prec);
    if n <= TABLE_MAX {
        return Some(exact(n, PARSE_PREC + 64));
    }
    let mut z = exact(TABLE_MAX, PARSE_PREC + 64);
    let mut f = exact(1, PARSE_PREC + 128);
    let mut n = n - TABLE_MAX;
    while n > 0 {
        if n & 1 == 1 {
            z = mul_p(&z, &f, PARSE_PREC + 64)?;
        }
        f = mul_p(&f, &f, PARSE_PREC + 128)?;
        n >>= 1;
    }
    Some(z)
}
