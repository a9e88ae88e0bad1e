//! HCL numbers, computed exactly as Packer computes them.
//!
//! Packer's HCL evaluates numbers with cty, which stores every number as a Go `math/big.Float`:
//! a binary mantissa of a given precision (in bits), rounded to nearest-even, with an exponent
//! limited to the int32 range (beyond it a result becomes ±Inf or ±0). The precision travels
//! with the value: literals and strings converted to numbers get 512 bits, integers made by
//! functions (`length`, `parseint`, ...) get 64, results of float64 functions (`pow`, `log`) 53,
//! and an arithmetic result gets the larger precision of its operands. The canonical text is
//! the shortest decimal that rounds back to the same value *at that precision*, which is why
//! `pow(2, 0.5)` prints 17 digits and `1 / 3` prints 155.
//!
//! This module reimplements the parts of `big.Float` that cty uses (parsing, the four operations,
//! comparison, conversion to float64 and integers, `Text('f', -1)`), including its quirks, on
//! top of `num-bigint`.
//!
//! `mod.rs` holds the type and its public methods; the submodules hold the machinery:
//! `arith` (rounding and the exact operations), `parse` (Go's `Float.Parse`), `text` (the
//! shortest decimal text and the console's float64 text) and `go_math` (Go's `math.Log` and
//! `math.Pow`).

mod arith;
mod go_math;
mod parse;
#[cfg(test)]
mod tests;
mod text;

use arith::{add_p, finish, finish_u128, mul_p, quo_p, to_f64_magnitude};
use num_bigint::{BigInt, BigUint, Sign};
use parse::parse_go_float;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use text::go_format_float;

/// Smallest and largest exponent of a `big.Float` (value = 0.mantissa × 2^exp).
const MIN_EXP: i64 = i32::MIN as i64;
const MAX_EXP: i64 = i32::MAX as i64;
/// Precision cty gives numbers parsed from text (`cty.ParseNumberVal`).
const PARSE_PREC: u32 = 512;
/// Precision of `big.Float.SetInt64`/`SetUint64` (cty's `NumberIntVal`).
const INT_PREC: u32 = 64;
/// Precision of `big.Float.SetFloat64` (cty's `NumberFloatVal`).
const FLOAT_PREC: u32 = 53;
/// Binary exponents up to this size are printed through an exact decimal expansion, as Go
/// does; beyond it only the leading digits are computed (Go would take minutes).
const EXACT_TEXT_LIMIT: u64 = 8192;

/// A number with HCL (cty) semantics.
#[derive(Clone)]
pub struct Number {
    form: Form,
    neg: bool,
    /// Mantissa precision in bits, as Go's `Float.Prec`.
    prec: u32,
    /// Finite numbers only: an odd mantissa; the value is `mant × 2^exp`.
    mant: Mant,
    exp: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Zero,
    Finite,
    Inf,
}

/// A mantissa; `Small` whenever it fits, so ordinary numbers never allocate.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Mant {
    Small(u64),
    Big(BigUint),
}

impl Mant {
    fn from_big(b: BigUint) -> Mant {
        if b.bits() <= 64 {
            Mant::Small(b.iter_u64_digits().next().unwrap_or(0))
        } else {
            Mant::Big(b)
        }
    }

    fn from_u128(v: u128) -> Mant {
        match u64::try_from(v) {
            Ok(s) => Mant::Small(s),
            Err(_) => Mant::Big(BigUint::from(v)),
        }
    }

    fn bits(&self) -> u64 {
        match self {
            Mant::Small(v) => u64::from(64 - v.leading_zeros()),
            Mant::Big(b) => b.bits(),
        }
    }

    fn big(&self) -> BigUint {
        match self {
            Mant::Small(v) => BigUint::from(*v),
            Mant::Big(b) => b.clone(),
        }
    }
}

/// Why an arithmetic operation has no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("can't divide zero by zero or infinity by infinity")]
    Indeterminate,
    #[error("{0}")]
    Other(String),
}

fn other(msg: &str) -> NumberError {
    NumberError::Other(msg.to_string())
}

impl Number {
    fn zero(neg: bool, prec: u32) -> Number {
        Number {
            form: Form::Zero,
            neg,
            prec,
            mant: Mant::Small(0),
            exp: 0,
        }
    }

    fn inf(neg: bool, prec: u32) -> Number {
        Number {
            form: Form::Inf,
            neg,
            prec,
            mant: Mant::Small(0),
            exp: 0,
        }
    }

    /// Parse an HCL numeric literal or a decimal string (`"1e3"`, `"-0.5"`, `" 12 "` is not a number).
    ///
    /// This is Go's `big.ParseFloat(text, 10, 512, ToNearestEven)`, so it also accepts what that
    /// accepts: a leading `+`, `.5`, `5.`, a binary exponent `1p3` (= 8) and `Inf`/`-inf`.
    pub fn parse(text: &str) -> Option<Number> {
        match text {
            "Inf" | "inf" | "+Inf" | "+inf" => return Some(Number::inf(false, PARSE_PREC)),
            "-Inf" | "-inf" => return Some(Number::inf(true, PARSE_PREC)),
            _ => {}
        }
        let b = text.as_bytes();
        if !b.is_empty() && b.len() <= 19 && b.iter().all(u8::is_ascii_digit) {
            let v = b.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            return Some(finish_u128(false, u128::from(v), 0, false, PARSE_PREC));
        }
        parse_go_float(b)
    }

    /// From an integer (cty's `NumberIntVal`: 64-bit precision). Literals go through `parse`.
    pub fn from_i64(i: i64) -> Number {
        finish_u128(i < 0, u128::from(i.unsigned_abs()), 0, false, INT_PREC)
    }

    /// From an unsigned integer (cty's `NumberUIntVal`: 64-bit precision).
    pub fn from_u64(i: u64) -> Number {
        finish_u128(false, u128::from(i), 0, false, INT_PREC)
    }

    /// From a float (cty's `NumberFloatVal`: 53-bit precision); NaN becomes None.
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        let neg = f.is_sign_negative();
        if f.is_infinite() {
            return Some(Number::inf(neg, FLOAT_PREC));
        }
        let bits = f.to_bits();
        let field = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, e) = if field == 0 {
            (frac, -1074)
        } else {
            (frac | 1 << 52, field - 1075)
        };
        Some(finish_u128(neg, u128::from(m), e, false, FLOAT_PREC))
    }

    /// An integer (cty: `big.Float.SetInt`, precision max(bit length, 64)).
    pub fn from_big_int(i: &BigInt) -> Number {
        let (sign, mag) = i.clone().into_parts();
        from_int_parts(sign == Sign::Minus, mag)
    }

    /// cty's `parseint`: Go's `big.Int.SetString(text, base)` for `base` in 2..=62 (a sign, then
    /// digits; letters are case-insensitive up to base 36, above it `a`-`z` are 10-35 and
    /// `A`-`Z` 36-61). None when the text is not such an integer or the base is out of range.
    pub fn parse_int(text: &str, base: u32) -> Option<Number> {
        if !(2..=62).contains(&base) {
            return None;
        }
        let (neg, digits) = match text.as_bytes() {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            all => (false, all),
        };
        if digits.is_empty() {
            return None;
        }
        let mut values = Vec::with_capacity(digits.len());
        for &c in digits {
            let v = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'a'..=b'z' => u32::from(c - b'a') + 10,
                b'A'..=b'Z' if base <= 36 => u32::from(c - b'A') + 10,
                b'A'..=b'Z' => u32::from(c - b'A') + 36,
                _ => return None,
            };
            if v >= base {
                return None;
            }
            values.push(v as u8);
        }
        let mag = BigUint::from_radix_be(&values, base)?;
        Some(from_int_parts(neg, mag))
    }

    /// The precision of the mantissa in bits (512 for parsed numbers, see the module doc).
    pub fn precision(&self) -> u32 {
        self.prec
    }

    /// Nearest f64 (Go's `big.Float.Float64`: rounded to nearest even; too large gives ±Inf).
    pub fn to_f64(&self) -> f64 {
        let sign = if self.neg { -1.0 } else { 1.0 };
        match self.form {
            Form::Zero => sign * 0.0,
            Form::Inf => sign * f64::INFINITY,
            Form::Finite => sign * to_f64_magnitude(&self.mant, self.exp),
        }
    }

    /// Nearest f64, or None when a finite number is too large for one (cty's conversion to a Go
    /// float64 refuses to turn a finite number into an infinity).
    pub fn to_f64_finite(&self) -> Option<f64> {
        let f = self.to_f64();
        (f.is_finite() || self.form == Form::Inf).then_some(f)
    }

    /// The value as i64 when it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        let (neg, mag) = self.exact_integer()?;
        let mag = u64::try_from(mag).ok()?;
        if neg {
            0i64.checked_sub_unsigned(mag)
        } else {
            i64::try_from(mag).ok()
        }
    }

    /// The value as u64 when it is a non-negative integer in range.
    pub fn to_u64(&self) -> Option<u64> {
        match self.exact_integer()? {
            (false, mag) => u64::try_from(mag).ok(),
            (true, 0) => Some(0),
            _ => None,
        }
    }

    /// The value as i128 when it is an integer in range.
    pub fn to_i128(&self) -> Option<i128> {
        let (neg, mag) = self.exact_integer()?;
        if neg {
            0i128.checked_sub_unsigned(mag)
        } else {
            i128::try_from(mag).ok()
        }
    }

    /// The exact integer value, whatever its size (None unless `is_integer`).
    pub fn to_big_int(&self) -> Option<BigInt> {
        self.is_integer().then(|| self.trunc_big_int()).flatten()
    }

    /// The integer part, truncated toward zero (Go's `big.Float.Int`); None for infinities.
    pub fn trunc_big_int(&self) -> Option<BigInt> {
        let (neg, mag) = self.trunc_parts()?;
        Some(BigInt::from_biguint(
            if neg { Sign::Minus } else { Sign::Plus },
            mag,
        ))
    }

    /// True for whole numbers (zero included, infinities not).
    pub fn is_integer(&self) -> bool {
        match self.form {
            Form::Zero => true,
            Form::Finite => self.exp >= 0,
            Form::Inf => false,
        }
    }

    /// True for +/- infinity.
    pub fn is_infinite(&self) -> bool {
        self.form == Form::Inf
    }

    /// True for zero of either sign.
    pub fn is_zero(&self) -> bool {
        self.form == Form::Zero
    }

    /// True when the sign bit is set: negative numbers, -0 and -Inf.
    pub fn is_sign_negative(&self) -> bool {
        self.neg
    }

    /// a + b (adding opposite infinities is an error, as in cty).
    pub fn add(&self, o: &Number) -> Result<Number, NumberError> {
        add_p(self, o, o.neg, self.prec.max(o.prec))
            .ok_or_else(|| other("can't compute sum of opposing infinities"))
    }

    /// a - b (cty computes it as a + (-b)).
    pub fn sub(&self, o: &Number) -> Result<Number, NumberError> {
        add_p(self, o, !o.neg, self.prec.max(o.prec))
            .ok_or_else(|| other("can't subtract infinity from itself"))
    }

    /// a * b (zero times infinity is an error).
    pub fn mul(&self, o: &Number) -> Result<Number, NumberError> {
        mul_p(self, o, self.prec.max(o.prec))
            .ok_or_else(|| other("can't multiply zero by infinity"))
    }

    /// a / b (division by zero gives infinity, as cty does; 0/0 and Inf/Inf are errors).
    pub fn div(&self, o: &Number) -> Result<Number, NumberError> {
        quo_p(self, o, self.prec.max(o.prec)).ok_or(NumberError::Indeterminate)
    }

    /// a % b with cty's semantics: a truncated remainder (`-7 % 3` is -1, `7 % -3` is 1),
    /// `a % 0` is a, and, as in the cty Packer uses, the remainder is computed at the precision of
    /// the integer quotient (at least 64 bits) rather than the operands'. An infinite divisor,
    /// or Inf % Inf, is an error; Inf % b is Inf.
    pub fn rem(&self, o: &Number) -> Result<Number, NumberError> {
        let err = || other("can't use modulo with zero and infinity");
        if o.form == Form::Zero {
            return Ok(self.clone());
        }
        let rat = quo_p(self, o, self.prec.max(o.prec)).ok_or_else(err)?;
        let (qneg, qmag) = rat.trunc_parts().unwrap_or((false, BigUint::default()));
        let work = from_int_parts(qneg, qmag);
        let wprec = work.prec;
        let work = mul_p(o, &work, wprec).ok_or_else(err)?;
        add_p(self, &work, !work.neg, wprec).ok_or_else(err)
    }

    /// -a (-0 is kept distinct from 0, as in Go: `jsonencode(-0)` prints `-0`).
    pub fn neg(&self) -> Number {
        Number {
            neg: !self.neg,
            ..self.clone()
        }
    }

    /// |a|
    pub fn abs(&self) -> Number {
        Number {
            neg: false,
            ..self.clone()
        }
    }

    /// Round toward -inf, keeping the precision (infinities stay).
    pub fn floor(&self) -> Number {
        self.round_int(|neg| neg)
    }

    /// Round toward +inf, keeping the precision (infinities stay).
    pub fn ceil(&self) -> Number {
        self.round_int(|neg| !neg)
    }

    /// Round toward zero, keeping the precision (infinities stay).
    pub fn trunc(&self) -> Number {
        self.round_int(|_| false)
    }

    /// `ceil` as Packer 1.6.6's cty computes it: through float64 and Go's `int64(math.Ceil(f))`
    /// (a 64-bit integer; beyond int64 Go's conversion gives -9223372036854775808), infinities
    /// passed through. Errors when a finite number does not fit a float64.
    pub fn ceil_via_f64(&self) -> Result<Number, NumberError> {
        self.round_via_f64(f64::ceil)
    }

    /// `floor` as Packer 1.6.6's cty computes it (see `ceil_via_f64`).
    pub fn floor_via_f64(&self) -> Result<Number, NumberError> {
        self.round_via_f64(f64::floor)
    }

    fn round_via_f64(&self, round: fn(f64) -> f64) -> Result<Number, NumberError> {
        let f = self.to_f64_finite().ok_or_else(float_range_error)?;
        if f.is_infinite() {
            return Number::from_f64(f).ok_or_else(float_range_error);
        }
        let r = round(f);
        // amd64's CVTTSD2SQ: out-of-range conversions give the "integer indefinite" value.
        let i = if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
            r as i64
        } else {
            i64::MIN
        };
        Ok(Number::from_i64(i))
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        match (self.form, self.neg) {
            (Form::Zero, _) => 0,
            (_, true) => -1,
            (_, false) => 1,
        }
    }

    /// `pow(self, power)` as cty's `pow` computes it: both operands converted to float64, Go's
    /// `math.Pow`, the result a 53-bit number.
    pub fn pow(&self, power: &Number) -> Result<Number, NumberError> {
        let x = self.to_f64_finite().ok_or_else(float_range_error)?;
        let y = power.to_f64_finite().ok_or_else(float_range_error)?;
        Number::from_f64(go_math::pow(x, y)).ok_or_else(|| other("Float.SetFloat64(NaN)"))
    }

    /// `log(self, base)` as cty's `log` computes it: Go's `math.Log(self) / math.Log(base)` in
    /// float64, the result a 53-bit number (`log(0, 10)` is -Inf; a NaN result is an error).
    pub fn log(&self, base: &Number) -> Result<Number, NumberError> {
        let x = self.to_f64_finite().ok_or_else(float_range_error)?;
        let b = base.to_f64_finite().ok_or_else(float_range_error)?;
        Number::from_f64(go_math::log(x) / go_math::log(b))
            .ok_or_else(|| other("Float.SetFloat64(NaN)"))
    }

    /// How `packer console` prints a bare number: exact integers, other values as the
    /// shortest float64 text (`0.3333333333333333`, `1e-06`, `+Inf`).
    pub fn to_console_string(&self) -> String {
        // hcl2shim.ConfigValueFromHCL2: an int when Int64() is exact, else Float64(), printed %v.
        match self.to_i64() {
            Some(i) => i.to_string(),
            None => go_format_float(self.to_f64()),
        }
    }

    /// Go's `Float.Int` then `SetInt` back at the same precision, moving the magnitude one
    /// further from zero when `away(sign)` says so and the value was not whole.
    fn round_int(&self, away: impl Fn(bool) -> bool) -> Number {
        match self.form {
            Form::Inf => self.clone(),
            Form::Zero => Number::zero(false, self.prec),
            Form::Finite if self.exp >= 0 => self.clone(),
            Form::Finite => {
                let Some((_, mag)) = self.trunc_parts() else {
                    return self.clone();
                };
                let mag = if away(self.neg) { mag + 1u32 } else { mag };
                finish(self.neg && mag.bits() > 0, mag, 0, false, self.prec)
            }
        }
    }

    /// Sign and magnitude of the integer part (None for infinities).
    fn trunc_parts(&self) -> Option<(bool, BigUint)> {
        match self.form {
            Form::Inf => None,
            Form::Zero => Some((false, BigUint::default())),
            Form::Finite => {
                let mag = if self.exp >= 0 {
                    self.mant.big() << self.exp as u64
                } else if self.exp.unsigned_abs() >= self.mant.bits() {
                    BigUint::default()
                } else {
                    self.mant.big() >> self.exp.unsigned_abs()
                };
                let neg = self.neg && mag.bits() > 0;
                Some((neg, mag))
            }
        }
    }

    /// Sign and magnitude of an exact integer that fits in 128 bits.
    fn exact_integer(&self) -> Option<(bool, u128)> {
        match self.form {
            Form::Zero => Some((false, 0)),
            Form::Inf => None,
            Form::Finite => {
                if self.exp < 0 || self.mant.bits() + self.exp as u64 > 128 {
                    return None;
                }
                let m = match &self.mant {
                    Mant::Small(v) => u128::from(*v),
                    Mant::Big(b) => {
                        let mut it = b.iter_u64_digits();
                        let lo = it.next().unwrap_or(0);
                        let hi = it.next().unwrap_or(0);
                        u128::from(hi) << 64 | u128::from(lo)
                    }
                };
                Some((self.neg, m << self.exp))
            }
        }
    }

    /// Go's `z.Set(x)` with `z` at precision `prec`: the same value, rounded to `prec` bits.
    fn round_to(&self, prec: u32) -> Number {
        if self.form == Form::Finite && self.mant.bits() > u64::from(prec) {
            finish(self.neg, self.mant.big(), self.exp, false, prec)
        } else {
            Number {
                prec,
                ..self.clone()
            }
        }
    }

    /// 0 for zeros, ±1 for finite numbers, ±2 for infinities (Go's `Float.ord`).
    fn ord(&self) -> i32 {
        let m = match self.form {
            Form::Zero => return 0,
            Form::Finite => 1,
            Form::Inf => 2,
        };
        if self.neg {
            -m
        } else {
            m
        }
    }

    fn top(&self) -> i64 {
        self.exp + self.mant.bits() as i64
    }

    fn total_cmp(&self, o: &Number) -> Ordering {
        let (a, b) = (self.ord(), o.ord());
        match a.cmp(&b) {
            Ordering::Equal if a == 1 => cmp_mag(self, o),
            Ordering::Equal if a == -1 => cmp_mag(o, self),
            ord => ord,
        }
    }
}

/// gocty's refusal to turn a finite number into a float64 infinity (its `%f` of MaxFloat64).
fn float_range_error() -> NumberError {
    let max = BigUint::from((1u64 << 53) - 1) << 971u32;
    NumberError::Other(format!(
        "value must be between -{max}.000000 and {max}.000000 inclusive"
    ))
}

fn from_int_parts(neg: bool, mag: BigUint) -> Number {
    let prec = u32::try_from(mag.bits()).unwrap_or(u32::MAX).max(INT_PREC);
    finish(neg && mag.bits() > 0, mag, 0, false, prec)
}

/// Compare the magnitudes of two finite numbers.
fn cmp_mag(a: &Number, b: &Number) -> Ordering {
    match a.top().cmp(&b.top()) {
        Ordering::Equal => {}
        ord => return ord,
    }
    let e = a.exp.min(b.exp);
    let (sa, sb) = ((a.exp - e) as u64, (b.exp - e) as u64);
    if let (Mant::Small(x), Mant::Small(y)) = (&a.mant, &b.mant) {
        if sa < 64 && sb < 64 {
            return (u128::from(*x) << sa).cmp(&(u128::from(*y) << sb));
        }
    }
    (a.mant.big() << sa).cmp(&(b.mant.big() << sb))
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    /// Numeric order (cty's `Cmp`): -0 equals 0, precision does not matter.
    fn cmp(&self, other: &Number) -> Ordering {
        self.total_cmp(other)
    }
}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.form {
            Form::Zero => 0u8.hash(state),
            Form::Inf => (1u8, self.neg).hash(state),
            Form::Finite => (2u8, self.neg, self.exp, &self.mant).hash(state),
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

/// The canonical text (cty's `Text('f', -1)`): what `tostring`, templates and `jsonencode` print.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text_with_limit(EXACT_TEXT_LIMIT))
    }
}
