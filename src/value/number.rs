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
//! This file reimplements the parts of `big.Float` that cty uses (parsing, the four operations,
//! comparison, conversion to float64 and integers, `Text('f', -1)`), including its quirks, on
//! top of `num-bigint`.

use num_bigint::{BigInt, BigUint, Sign};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

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
        let i = if (-9.223372036854775808e18..9.223372036854775808e18).contains(&r) {
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

    /// The canonical text with a forced limit for exact decimal expansion (tests use it to
    /// exercise the leading-digits path on moderate exponents).
    fn text_with_limit(&self, limit: u64) -> String {
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        match self.form {
            Form::Zero => out.push('0'),
            Form::Inf => out.push_str(if self.neg { "Inf" } else { "+Inf" }),
            Form::Finite => {
                let bits = self.mant.bits();
                if let (Mant::Small(m), true) =
                    (&self.mant, self.exp >= 0 && bits + self.exp as u64 <= 64)
                {
                    // An integer no wider than its precision prints in full (nothing shorter
                    // lies within half an ulp of it).
                    if bits + self.exp as u64 <= u64::from(self.prec) {
                        out.push_str(&(m << self.exp).to_string());
                        return out;
                    }
                }
                let (digits, dexp) = shortest_decimal(&self.mant, self.exp, self.prec, limit);
                fmt_f(&mut out, &digits, dexp);
            }
        }
        out
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

/// Round a mantissa to `prec` bits, nearest-even, where `sticky` says the exact value is a
/// little more than `m` (then `m` must have at least `prec + 2` bits). Returns the rounded
/// mantissa and how much the exponent grows. No exponent range is applied.
fn round_mant(m: BigUint, sticky: bool, prec: u32) -> (BigUint, i64) {
    let prec = u64::from(prec.max(1));
    let bits = m.bits();
    if bits <= prec && !sticky {
        return (m, 0);
    }
    let (m, mut shift_base) = if bits < prec + 2 {
        let pad = prec + 2 - bits;
        (m << pad, -(pad as i64))
    } else {
        (m, 0)
    };
    let shift = m.bits() - prec;
    let rbit = m.bit(shift - 1);
    let below = m.trailing_zeros().is_some_and(|tz| tz < shift - 1);
    let mut q = m >> shift;
    shift_base += shift as i64;
    if rbit && (sticky || below || q.bit(0)) {
        q += 1u32;
        if q.bits() > prec {
            q >>= 1;
            shift_base += 1;
        }
    }
    (q, shift_base)
}

/// Build a number from the exact value ±m × 2^e (plus a sticky remainder), rounded to `prec`
/// bits with `big.Float`'s exponent range: below it the result is ±0, above it ±Inf.
fn finish(neg: bool, m: BigUint, e: i64, sticky: bool, prec: u32) -> Number {
    let bits = m.bits();
    if bits == 0 {
        return Number::zero(neg, prec);
    }
    let top = e + bits as i64;
    if top < MIN_EXP {
        return Number::zero(neg, prec);
    }
    if top > MAX_EXP {
        return Number::inf(neg, prec);
    }
    let (q, shift) = round_mant(m, sticky, prec);
    let mut e = e + shift;
    if e + q.bits() as i64 > MAX_EXP {
        return Number::inf(neg, prec);
    }
    let tz = q.trailing_zeros().unwrap_or(0);
    e += tz as i64;
    Number {
        form: Form::Finite,
        neg,
        prec,
        mant: Mant::from_big(q >> tz),
        exp: e,
    }
}

/// `finish` for a mantissa that fits in 128 bits; exact results never allocate.
fn finish_u128(neg: bool, m: u128, e: i64, sticky: bool, prec: u32) -> Number {
    if m == 0 {
        return Number::zero(neg, prec);
    }
    let bits = u64::from(128 - m.leading_zeros());
    if sticky || bits > u64::from(prec) {
        return finish(neg, BigUint::from(m), e, sticky, prec);
    }
    let top = e + bits as i64;
    if top < MIN_EXP {
        return Number::zero(neg, prec);
    }
    if top > MAX_EXP {
        return Number::inf(neg, prec);
    }
    let tz = m.trailing_zeros();
    Number {
        form: Form::Finite,
        neg,
        prec,
        mant: Mant::from_u128(m >> tz),
        exp: e + i64::from(tz),
    }
}

/// Go's `z.Add(x, ±y)` with `z` at precision `prec`; `yneg` is the sign to give `y`. None for
/// opposite infinities.
fn add_p(x: &Number, y: &Number, yneg: bool, prec: u32) -> Option<Number> {
    match (x.form, y.form) {
        (Form::Finite, Form::Finite) => Some(add_finite(x, y, yneg, prec)),
        (Form::Inf, Form::Inf) if x.neg != yneg => None,
        (Form::Zero, Form::Zero) => Some(Number::zero(x.neg && yneg, prec)),
        (Form::Inf, _) | (_, Form::Zero) => Some(x.round_to(prec)),
        _ => Some(
            Number {
                neg: yneg,
                ..y.clone()
            }
            .round_to(prec),
        ),
    }
}

fn add_finite(x: &Number, y: &Number, yneg: bool, prec: u32) -> Number {
    if x.neg == yneg {
        let (a, b) = if x.top() >= y.top() { (x, y) } else { (y, x) };
        return mag_add(a, b, false, x.neg, prec);
    }
    match cmp_mag(x, y) {
        Ordering::Greater => mag_add(x, y, true, x.neg, prec),
        Ordering::Equal => Number::zero(false, prec),
        Ordering::Less => mag_add(y, x, true, !x.neg, prec),
    }
}

/// |a| ± |b| rounded to `prec`, where `a` has the larger top exponent (and, when subtracting,
/// the larger magnitude).
fn mag_add(a: &Number, b: &Number, subtract: bool, neg: bool, prec: u32) -> Number {
    if let (Mant::Small(ma), Mant::Small(mb)) = (&a.mant, &b.mant) {
        let e = a.exp.min(b.exp);
        let (sa, sb) = ((a.exp - e) as u64, (b.exp - e) as u64);
        if sa < 63 && sb < 63 {
            let (va, vb) = (u128::from(*ma) << sa, u128::from(*mb) << sb);
            let r = if subtract { va - vb } else { va + vb };
            return finish_u128(neg, r, e, false, prec);
        }
    }
    // A `b` far below `a`'s rounding position only matters as a sticky bit: replace it by a
    // single bit below that position so the exact sum stays small (Go shifts it in full).
    let cutoff = (a.top() - i64::from(prec) - 4).min(a.exp - 1);
    let (mb, eb) = if b.top() < cutoff {
        (BigUint::from(1u32), cutoff - 1)
    } else {
        (b.mant.big(), b.exp)
    };
    let e = a.exp.min(eb);
    let va = a.mant.big() << (a.exp - e) as u64;
    let vb = mb << (eb - e) as u64;
    let r = if subtract { va - vb } else { va + vb };
    finish(neg, r, e, false, prec)
}

/// Go's `z.Mul(x, y)` with `z` at precision `prec`; None for zero times infinity.
fn mul_p(x: &Number, y: &Number, prec: u32) -> Option<Number> {
    let neg = x.neg != y.neg;
    match (x.form, y.form) {
        (Form::Finite, Form::Finite) => {
            let e = x.exp + y.exp;
            Some(match (&x.mant, &y.mant) {
                (Mant::Small(a), Mant::Small(b)) => {
                    finish_u128(neg, u128::from(*a) * u128::from(*b), e, false, prec)
                }
                _ => finish(neg, x.mant.big() * y.mant.big(), e, false, prec),
            })
        }
        (Form::Zero, Form::Inf) | (Form::Inf, Form::Zero) => None,
        (Form::Inf, _) | (_, Form::Inf) => Some(Number::inf(neg, prec)),
        _ => Some(Number::zero(neg, prec)),
    }
}

/// Go's `z.Quo(x, y)` with `z` at precision `prec`; None for 0/0 and Inf/Inf.
fn quo_p(x: &Number, y: &Number, prec: u32) -> Option<Number> {
    let neg = x.neg != y.neg;
    match (x.form, y.form) {
        (Form::Finite, Form::Finite) => {
            let (lx, ly) = (x.mant.bits() as i64, y.mant.bits() as i64);
            // Enough quotient bits for the rounding bit, plus a sticky remainder.
            let k = (i64::from(prec) + 3 + ly - lx).max(0);
            let e = x.exp - y.exp - k;
            if let (Mant::Small(a), Mant::Small(b)) = (&x.mant, &y.mant) {
                if lx + k <= 127 {
                    let n = u128::from(*a) << k;
                    let d = u128::from(*b);
                    return Some(finish_u128(neg, n / d, e, n % d != 0, prec));
                }
            }
            let n = x.mant.big() << k as u64;
            let (q, r_nonzero) = match &y.mant {
                Mant::Small(d) => (&n / *d, (&n % *d).bits() > 0),
                Mant::Big(d) => {
                    let q = &n / d;
                    let r_nonzero = n != &q * d;
                    (q, r_nonzero)
                }
            };
            Some(finish(neg, q, e, r_nonzero, prec))
        }
        (Form::Zero, Form::Zero) | (Form::Inf, Form::Inf) => None,
        (Form::Zero, _) | (_, Form::Inf) => Some(Number::zero(neg, prec)),
        _ => Some(Number::inf(neg, prec)),
    }
}

/// Go's `Float.Parse(text, 10)` at 512 bits (after the Inf spellings): mantissa digits with
/// an optional point, an optional `e`/`E` (decimal) or `p`/`P` (binary) exponent. The decimal
/// scaling is Go's: the exact mantissa times or divided by 5^n, where 5^n beyond 5^27 is
/// itself computed by repeated squaring at 576/640 bits, so it can round twice.
fn parse_go_float(b: &[u8]) -> Option<Number> {
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

/// |value| of a finite number as the nearest f64 (Go's `Float.Float64`).
fn to_f64_magnitude(mant: &Mant, exp: i64) -> f64 {
    let bits = mant.bits() as i64;
    let lead = exp + bits - 1; // exponent of the leading bit
    if lead > 1023 {
        return f64::INFINITY;
    }
    let p = if lead < -1022 { lead + 1075 } else { 53 };
    if p < 0 {
        return 0.0;
    }
    if p == 0 {
        // The value is in [2^-1075, 2^-1074): exactly half the smallest subnormal rounds to even.
        return if bits == 1 { 0.0 } else { f64::from_bits(1) };
    }
    let (q, shift) = round_mant(mant.big(), false, p as u32);
    let k = exp + shift;
    if k + q.bits() as i64 - 1 > 1023 {
        return f64::INFINITY;
    }
    let q = q.iter_u64_digits().next().unwrap_or(0) as f64;
    let scale = if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074))
    };
    q * scale
}

/// A decimal digit string: value = 0.d₁d₂… × 10^exp. `more` says digits beyond these exist
/// (only the leading digits were computed).
struct Dec {
    digits: Vec<u8>,
    exp: i64,
    more: bool,
}

impl Dec {
    fn at(&self, i: usize) -> u8 {
        self.digits.get(i).copied().unwrap_or(b'0')
    }

    fn round_down(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        self.digits.truncate(n);
        while self.digits.last() == Some(&b'0') {
            self.digits.pop();
        }
        self.more = false;
    }

    fn round_up(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        let mut n = n;
        while n > 0 && self.digits[n - 1] >= b'9' {
            n -= 1;
        }
        if n == 0 {
            self.digits.truncate(1);
            self.digits[0] = b'1';
            self.exp += 1;
        } else {
            self.digits[n - 1] += 1;
            self.digits.truncate(n);
        }
        self.more = false;
    }

    fn round(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        let half_exactly = self.digits[n] == b'5' && n + 1 == self.digits.len() && !self.more;
        let up = if half_exactly {
            n > 0 && (self.digits[n - 1] - b'0') & 1 != 0
        } else {
            self.digits[n] >= b'5'
        };
        if up {
            self.round_up(n);
        } else {
            self.round_down(n);
        }
    }
}

/// The digits of `k × 2^e`: all of them (exact) when `|e| <= limit`, else the first `n`.
fn decimal(k: &BigUint, e: i64, n: usize, limit: u64) -> Dec {
    if e.unsigned_abs() > limit {
        return leading_digits(k, e, n);
    }
    let (value, scale) = if e >= 0 {
        (k << e as u64, 0)
    } else {
        (k * BigUint::from(5u32).pow(e.unsigned_abs() as u32), e)
    };
    let mut digits = value.to_str_radix(10).into_bytes();
    let exp = digits.len() as i64 + scale;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    Dec {
        digits,
        exp,
        more: false,
    }
}

/// The first `n` decimal digits of `k × 2^e` for a huge `|e|`. The scaling power of ten is
/// exact when affordable, else approximated with a bounded, checked error (retried wider, and
/// at worst computed exactly), so the digits are always exact.
fn leading_digits(k: &BigUint, e: i64, n: usize) -> Dec {
    const LOG10_2: f64 = std::f64::consts::LOG10_2;
    let kb = k.bits();
    let lead = (k >> kb.saturating_sub(53))
        .iter_u64_digits()
        .next()
        .unwrap_or(1) as f64;
    let lead_log = lead.log10() + (kb.saturating_sub(53)) as f64 * LOG10_2;
    let mut dp = (lead_log + e as f64 * LOG10_2).floor() as i64 + 1;
    let mut width = (n as u32).saturating_mul(10) / 3 + 160;
    let upper = BigUint::from(10u32).pow(n as u32);
    let lower = BigUint::from(10u32).pow(n as u32 - 1);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let s = dp - n as i64;
        let found = if attempts > 8 {
            Some(scaled_floor_exact(k, e, s))
        } else {
            scaled_floor(k, e, s, width)
        };
        match found {
            None => width += 256,
            Some((y, _)) if y >= upper && attempts < 64 => dp += 1,
            Some((y, _)) if y < lower && attempts < 64 => dp -= 1,
            Some((y, more)) => {
                let mut digits = y.to_str_radix(10).into_bytes();
                if !more {
                    while digits.last() == Some(&b'0') {
                        digits.pop();
                    }
                }
                return Dec {
                    digits,
                    exp: dp,
                    more,
                };
            }
        }
    }
}

/// Powers of five up to this exponent are computed exactly when scaling to leading digits.
const EXACT_POW5_LIMIT: u64 = 20_000;

/// floor(k × 2^e / 10^s) and whether a remainder was dropped, or None when the approximation
/// at `width` bits cannot decide it.
fn scaled_floor(k: &BigUint, e: i64, s: i64, width: u32) -> Option<(BigUint, bool)> {
    const FRACTION: i64 = 96;
    if s.unsigned_abs() <= EXACT_POW5_LIMIT {
        return Some(scaled_floor_exact(k, e, s));
    }
    // Here the quotient is never an integer (it would take a mantissa of more than
    // 46000 bits), so only a near-integer can be ambiguous.
    let (pm, pe) = pow5_approx(s.unsigned_abs(), width);
    let q = if s <= 0 {
        // k × 2^(e-s) × 5^(-s)
        shift(&(k * &pm), e - s + pe + FRACTION)
    } else {
        // k × 2^(e-s) / 5^s
        let sh = e - s - pe + FRACTION;
        if sh >= 0 {
            (k << sh as u64) / &pm
        } else {
            k / (&pm << sh.unsigned_abs())
        }
    };
    let one = BigUint::from(1u32) << FRACTION as u64;
    let frac = &q % &one;
    let margin = BigUint::from(1u32) << (FRACTION - 40) as u64;
    if frac < margin || frac > &one - &margin {
        return None;
    }
    Some((q >> FRACTION as u64, true))
}

/// `scaled_floor` computed exactly (the cost grows with |s|).
fn scaled_floor_exact(k: &BigUint, e: i64, s: i64) -> (BigUint, bool) {
    let p = BigUint::from(5u32).pow(u32::try_from(s.unsigned_abs()).unwrap_or(u32::MAX));
    // k × 2^(e-s) × 5^(-s) as num / den with non-negative shifts.
    let (mut num, mut den) = if s <= 0 {
        (k * p, BigUint::from(1u32))
    } else {
        (k.clone(), p)
    };
    if e - s >= 0 {
        num <<= (e - s) as u64;
    } else {
        den <<= (s - e) as u64;
    }
    let y = &num / &den;
    let more = num != &y * &den;
    (y, more)
}

fn shift(x: &BigUint, by: i64) -> BigUint {
    if by >= 0 {
        x << by as u64
    } else {
        x >> by.unsigned_abs()
    }
}

/// 5^n ≈ m × 2^e with `m` rounded to `width` bits after every step (relative error below
/// 2^(8-width)).
fn pow5_approx(n: u64, width: u32) -> (BigUint, i64) {
    let (mut rm, mut re) = (BigUint::from(1u32), 0i64);
    let (mut bm, mut be) = (BigUint::from(5u32), 0i64);
    let mut n = n;
    while n > 0 {
        if n & 1 == 1 {
            let (m, s) = round_mant(&rm * &bm, false, width);
            rm = m;
            re += be + s;
        }
        n >>= 1;
        if n > 0 {
            let (m, s) = round_mant(&bm * &bm, false, width);
            bm = m;
            be = 2 * be + s;
        }
    }
    (rm, re)
}

/// Go's `roundShortest` for `big.Float`: the shortest decimal that rounds back to the value at
/// its precision, comparing digit strings position by position as Go does. Returns the digits
/// and the decimal point position.
fn shortest_decimal(mant: &Mant, exp: i64, prec: u32, limit: u64) -> (Vec<u8>, i64) {
    let m = mant.big();
    // The mantissa with prec+1 bits: its lsb is half an ulp.
    let s = m.bits() as i64 - (i64::from(prec) + 1);
    let (half, half_exp) = if s < 0 {
        (&m << s.unsigned_abs(), exp + s)
    } else {
        (&m >> s as u64, exp + s)
    };
    let inclusive = !half.bit(1);
    let lower_k = &half - 1u32;
    let upper_k = &half + 1u32;
    let mut n = prec as usize * 3 / 10 + 24;
    let mut rounds = 0;
    loop {
        // The walk ends within about prec·log10(2) digits; the exact expansion is the backstop.
        let limit = if rounds < 8 { limit } else { u64::MAX };
        let mut d = decimal(&m, exp, n, limit);
        let lower = decimal(&lower_k, half_exp, n, limit);
        let upper = decimal(&upper_k, half_exp, n, limit);
        if round_shortest(&mut d, &lower, &upper, inclusive) || limit == u64::MAX {
            return (d.digits, d.exp);
        }
        n *= 2;
        rounds += 1;
    }
}

/// The digit walk of Go's `roundShortest`; false when more leading digits are needed.
fn round_shortest(d: &mut Dec, lower: &Dec, upper: &Dec, inclusive: bool) -> bool {
    for i in 0..d.digits.len() {
        if (d.more && i + 2 >= d.digits.len())
            || (lower.more && i + 1 >= lower.digits.len())
            || (upper.more && i + 1 >= upper.digits.len())
        {
            return false;
        }
        let (l, m, u) = (lower.at(i), d.digits[i], upper.at(i));
        let okdown = l != m || (inclusive && !lower.more && i + 1 == lower.digits.len());
        let okup = m != u && (inclusive || m + 1 < u || upper.more || i + 1 < upper.digits.len());
        match (okdown, okup) {
            (true, true) => d.round(i + 1),
            (true, false) => d.round_down(i + 1),
            (false, true) => d.round_up(i + 1),
            (false, false) => continue,
        }
        return true;
    }
    !d.more
}

/// Go's `fmtF` with the shortest precision: no exponent, the fraction only as long as needed.
fn fmt_f(out: &mut String, digits: &[u8], exp: i64) {
    let len = digits.len() as i64;
    if exp > 0 {
        let whole = len.min(exp) as usize;
        out.extend(digits[..whole].iter().map(|&c| c as char));
        out.extend(std::iter::repeat_n('0', (exp - whole as i64) as usize));
    } else {
        out.push('0');
    }
    let frac = (len - exp).max(0);
    if frac > 0 {
        out.push('.');
        out.extend(std::iter::repeat_n('0', (-exp).max(0) as usize));
        let first = exp.max(0) as usize;
        out.extend(digits[first..].iter().map(|&c| c as char));
    }
}

/// Go's `%v` for a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits, with an
/// exponent when it is below -4 or at least 6.
fn go_format_float(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let (digits, dp) = go_float_digits(f.abs());
    let exp = dp - 1;
    let mut out = String::from(sign);
    if !(-4..6).contains(&exp) {
        out.push(digits[0] as char);
        if digits.len() > 1 {
            out.push('.');
            out.extend(digits[1..].iter().map(|&c| c as char));
        }
        let (esign, eabs) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        out.push_str(&format!("e{esign}{eabs:02}"));
    } else {
        fmt_f(&mut out, &digits, dp);
    }
    out
}

/// The shortest digits of a positive finite float64 as Go's strconv finds them: the shortest
/// decimal inside the float's rounding interval (narrower below a power of two), the nearest
/// one when several qualify, ties to even.
fn go_float_digits(f: f64) -> (Vec<u8>, i64) {
    let bits = f.to_bits();
    let field = ((bits >> 52) & 0x7ff) as i64;
    let (mant, exp) = if field == 0 {
        (bits & ((1 << 52) - 1), -1022)
    } else {
        (bits & ((1 << 52) - 1) | 1 << 52, field - 1023)
    };
    let exact = |m: u64, e: i64| decimal(&BigUint::from(m), e, 0, u64::MAX);
    let mut d = exact(mant, exp - 52);
    let upper = exact(mant * 2 + 1, exp - 53);
    let (mantlo, explo) = if mant > 1 << 52 || exp == -1022 {
        (mant - 1, exp)
    } else {
        (mant * 2 - 1, exp - 1)
    };
    let lower = exact(mantlo * 2 + 1, explo - 53);
    let inclusive = mant % 2 == 0;
    let (nd, lnd, und) = (
        d.digits.len() as i64,
        lower.digits.len() as i64,
        upper.digits.len() as i64,
    );
    let mut upperdelta = 0u8;
    let mut ui = 0i64;
    loop {
        let mi = ui - upper.exp + d.exp;
        if mi >= nd {
            break;
        }
        let li = ui - upper.exp + lower.exp;
        let l = if (0..lnd).contains(&li) {
            lower.digits[li as usize]
        } else {
            b'0'
        };
        let m = if mi >= 0 { d.digits[mi as usize] } else { b'0' };
        let u = if ui < und {
            upper.digits[ui as usize]
        } else {
            b'0'
        };
        let okdown = l != m || (inclusive && li + 1 == lnd);
        if upperdelta == 0 && m + 1 < u {
            upperdelta = 2;
        } else if upperdelta == 0 && m != u {
            upperdelta = 1;
        } else if upperdelta == 1 && (m != b'9' || u != b'0') {
            upperdelta = 2;
        }
        let okup = upperdelta > 0 && (inclusive || upperdelta > 1 || ui + 1 < und);
        let at = (mi + 1).max(0) as usize;
        match (okdown, okup) {
            (true, true) => d.round(at),
            (true, false) => d.round_down(at),
            (false, true) => d.round_up(at),
            (false, false) => {
                ui += 1;
                continue;
            }
        }
        break;
    }
    (d.digits, d.exp)
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

/// Go's float64 `math.Log` and `math.Pow` as they run on amd64, so `log` and `pow` results
/// match Packer's to the last bit. The constants are copied digit for digit from Go's source.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
mod go_math {
    /// `math.Log` (the amd64 assembly: the FreeBSD algorithm with a bit-level frexp).
    pub fn log(x: f64) -> f64 {
        const HSQRT2: f64 = 7.07106781186547524401e-01;
        const LN2_HI: f64 = 6.93147180369123816490e-01;
        const LN2_LO: f64 = 1.90821492927058770002e-10;
        const L1: f64 = 6.666666666666735130e-01;
        const L2: f64 = 3.999999999940941908e-01;
        const L3: f64 = 2.857142874366239149e-01;
        const L4: f64 = 2.222219843214978396e-01;
        const L5: f64 = 1.818357216161805012e-01;
        const L6: f64 = 1.531383769920937332e-01;
        const L7: f64 = 1.479819860511658591e-01;
        let bits = x.to_bits();
        if bits & !(1 << 63) == 0 {
            return f64::NEG_INFINITY;
        }
        if (bits as i64) < 0 {
            return f64::NAN;
        }
        if bits >= 0x7ff0_0000_0000_0000 {
            return x;
        }
        let mut f1 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3fe0_0000_0000_0000);
        let mut k = (((bits >> 52) & 0x7ff) as i32 - 0x3fe) as f64;
        if f1 <= HSQRT2 {
            k -= 1.0;
            f1 *= 2.0;
        }
        let f = f1 - 1.0;
        let s = f / (2.0 + f);
        let s2 = s * s;
        let s4 = s2 * s2;
        let t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
        let t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
        let r = t1 + t2;
        let hfsq = 0.5 * f * f;
        k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
    }

    /// `math.Exp` (the amd64 assembly, FMA variant).
    fn exp(x: f64) -> f64 {
        const LOG2E: f64 = 1.4426950408889634073599246810018920;
        const LN2U: f64 = 0.69314718055966295651160180568695068359375;
        const LN2L: f64 = 0.28235290563031577122588448175013436025525412068e-12;
        const OVERFLOW: f64 = 7.09782712893384e+02;
        const T: [f64; 7] = [
            2.4801587301587301587e-5,
            1.9841269841269841270e-4,
            1.3888888888888888889e-3,
            8.3333333333333333333e-3,
            4.1666666666666666667e-2,
            1.6666666666666666667e-1,
            0.5,
        ];
        let bits = x.to_bits();
        if bits & !(1 << 63) >= 0x7ff0_0000_0000_0000 {
            return if x == f64::NEG_INFINITY { 0.0 } else { x };
        }
        if x > OVERFLOW {
            return f64::INFINITY;
        }
        let mut k = (LOG2E * x).round_ties_even() as i32;
        let kf = f64::from(k);
        let mut r = (-kf).mul_add(LN2U, x);
        r = (-kf).mul_add(LN2L, r);
        r *= 0.0625;
        let mut p = T[0];
        for c in &T[1..] {
            p = p.mul_add(r, *c);
        }
        p = p.mul_add(r, 1.0);
        let mut v = r * p;
        for _ in 0..3 {
            v *= v + 2.0;
        }
        v = (v + 2.0).mul_add(v, 1.0);
        k += 0x3ff;
        if k <= 0 {
            if k < -52 {
                return 0.0;
            }
            v *= f64::from_bits(((k + 0x3fe) as u64) << 52);
            k = 1;
        } else if k >= 0x7ff {
            return f64::INFINITY;
        }
        v * f64::from_bits((k as u64) << 52)
    }

    fn normalize(x: f64) -> (f64, i64) {
        if x.abs() < f64::MIN_POSITIVE {
            (x * (1u64 << 52) as f64, -52)
        } else {
            (x, 0)
        }
    }

    fn frexp(f: f64) -> (f64, i64) {
        if f == 0.0 || !f.is_finite() {
            return (f, 0);
        }
        let (f, e) = normalize(f);
        let bits = f.to_bits();
        let e = e + ((bits >> 52) & 0x7ff) as i64 - 1022;
        (f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52)), e)
    }

    fn ldexp(frac: f64, exp: i64) -> f64 {
        if frac == 0.0 || !frac.is_finite() {
            return frac;
        }
        let (frac, e) = normalize(frac);
        let bits = frac.to_bits();
        let mut exp = exp
            .saturating_add(e)
            .saturating_add(((bits >> 52) & 0x7ff) as i64 - 1023);
        if exp < -1075 {
            return 0.0f64.copysign(frac);
        }
        if exp > 1023 {
            return f64::INFINITY.copysign(frac);
        }
        let mut m = 1.0;
        if exp < -1022 {
            exp += 53;
            m = 1.0 / (1u64 << 53) as f64;
        }
        m * f64::from_bits((bits & !(0x7ff << 52)) | (((exp + 1023) as u64) << 52))
    }

    fn is_odd_int(x: f64) -> bool {
        if x.abs() >= (1u64 << 53) as f64 {
            return false;
        }
        x.fract() == 0.0 && (x as i64) & 1 == 1
    }

    /// `math.Pow`.
    pub fn pow(x: f64, y: f64) -> f64 {
        if y == 0.0 || x == 1.0 {
            return 1.0;
        }
        if y == 1.0 {
            return x;
        }
        if x.is_nan() || y.is_nan() {
            return f64::NAN;
        }
        if x == 0.0 {
            return match (y < 0.0, is_odd_int(y)) {
                (true, true) => f64::INFINITY.copysign(x),
                (true, false) => f64::INFINITY,
                (false, true) => x,
                (false, false) => 0.0,
            };
        }
        if y.is_infinite() {
            return if x == -1.0 {
                1.0
            } else if (x.abs() < 1.0) == (y > 0.0) {
                0.0
            } else {
                f64::INFINITY
            };
        }
        if x.is_infinite() {
            if x < 0.0 {
                return pow(1.0 / x, -y);
            }
            return if y < 0.0 { 0.0 } else { f64::INFINITY };
        }
        if y == 0.5 {
            return x.sqrt();
        }
        if y == -0.5 {
            return 1.0 / x.sqrt();
        }
        let mut yi = y.abs().trunc();
        let mut yf = y.abs() - yi;
        if yf != 0.0 && x < 0.0 {
            return f64::NAN;
        }
        if yi >= 9.223372036854775808e18 {
            return if x == -1.0 {
                1.0
            } else if (x.abs() < 1.0) == (y > 0.0) {
                0.0
            } else {
                f64::INFINITY
            };
        }
        let mut a1 = 1.0;
        let mut ae: i64 = 0;
        if yf != 0.0 {
            if yf > 0.5 {
                yf -= 1.0;
                yi += 1.0;
            }
            a1 = exp(yf * log(x));
        }
        let (mut x1, mut xe) = frexp(x);
        let mut i = yi as i64;
        while i != 0 {
            if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
                ae += xe;
                break;
            }
            if i & 1 == 1 {
                a1 *= x1;
                ae += xe;
            }
            x1 *= x1;
            xe <<= 1;
            if x1 < 0.5 {
                x1 += x1;
                xe -= 1;
            }
            i >>= 1;
        }
        if y < 0.0 {
            a1 = 1.0 / a1;
            ae = -ae;
        }
        ldexp(a1, ae)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap_or_else(|| panic!("{text:?} should parse"))
    }

    /// (canonical text, console text)
    fn shown(x: &Number) -> (String, String) {
        (x.to_string(), x.to_console_string())
    }

    fn check(x: Result<Number, NumberError>, json: &str, raw: &str) {
        let x = x.expect("a number");
        assert_eq!(shown(&x), (json.to_string(), raw.to_string()));
    }

    const ONE_THIRD: &str = "0.33333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333335";
    const TWO_THIRDS: &str = "0.6666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666667";

    #[test]
    fn fixture_literals() {
        for (text, json, raw) in [
            ("9007199254740993", "9007199254740993", "9007199254740993"),
            (
                "12345678901234567890",
                "12345678901234567890",
                "1.2345678901234567e+19",
            ),
            (
                "100000000000000000000000",
                "100000000000000000000000",
                "1e+23",
            ),
            ("1e3", "1000", "1000"),
            ("1E2", "100", "100"),
            ("1.5e-3", "0.0015", "0.0015"),
            ("1e-7", "0.0000001", "1e-07"),
            ("0.0", "0", "0"),
            ("1.0", "1", "1"),
            ("1.50", "1.5", "1.5"),
            ("007", "7", "7"),
            ("42", "42", "42"),
            (
                "123456789.123456789",
                "123456789.123456789",
                "1.2345678912345679e+08",
            ),
            ("0.000001", "0.000001", "1e-06"),
            ("1e21", "1000000000000000000000", "1e+21"),
        ] {
            assert_eq!(
                shown(&n(text)),
                (json.to_string(), raw.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn fixture_arithmetic() {
        check(
            n("9007199254740993").add(&n("0")),
            "9007199254740993",
            "9007199254740993",
        );
        check(
            n("9007199254740992").add(&n("1")),
            "9007199254740993",
            "9007199254740993",
        );
        check(
            n("12345678901234567890").mul(&n("10")),
            "123456789012345678900",
            "1.2345678901234568e+20",
        );
        check(n("0.1").add(&n("0.2")), "0.3", "0.3");
        check(n("1").div(&n("3")), ONE_THIRD, "0.3333333333333333");
        check(n("2").div(&n("3")), TWO_THIRDS, "0.6666666666666666");
        check(n("10").div(&n("4")), "2.5", "2.5");
        check(n("1").div(&n("7")).and_then(|x| x.mul(&n("7"))), "1", "1");
        let big = format!("1{}", "0".repeat(309));
        check(n("1e308").mul(&n("10")), &big, "+Inf");
        check(n("1").add(&n("2")), "3", "3");
        check(n("5").sub(&n("7")), "-2", "-2");
        check(n("3").mul(&n("4")), "12", "12");
        check(n("7").div(&n("2")), "3.5", "3.5");
        check(n("10").rem(&n("3")), "1", "1");
        check(n("7").neg().rem(&n("3")), "-1", "-1");
        check(n("7").rem(&n("3").neg()), "1", "1");
        check(n("5.5").rem(&n("2")), "1.5", "1.5");
        check(Ok(n("5").neg()), "-5", "-5");
        check(Ok(n("5").neg().neg()), "5", "5");
        check(n("1.5").add(&n("1.5")), "3", "3");
        check(n("2").sub(&n("0.1")), "1.9", "1.9");
        check(n("10").rem(&n("0")), "10", "10");
        check(n("1").add(&n("2").mul(&n("3")).unwrap()), "7", "7");
        check(
            n("100").div(&n("10")).and_then(|x| x.div(&n("5"))),
            "2",
            "2",
        );
        check(n("2").mul(&n("3")).and_then(|x| x.rem(&n("4"))), "2", "2");
        check(n("2").neg().mul(&n("3").neg()), "6", "6");
        check(n("1.5").mul(&n("2")), "3", "3");
        check(n("1e2").add(&n("0")), "100", "100");
    }

    #[test]
    fn fixture_infinities_and_errors() {
        let inf = n("1").div(&n("0")).unwrap();
        assert!(inf.is_infinite() && inf > n("1e400"));
        assert_eq!(shown(&inf), ("+Inf".to_string(), "+Inf".to_string()));
        let minus_inf = n("1").neg().div(&n("0")).unwrap();
        assert_eq!(minus_inf.to_console_string(), "-Inf");
        assert_eq!(n("0").div(&n("0")), Err(NumberError::Indeterminate));
        assert_eq!(inf.div(&inf), Err(NumberError::Indeterminate));
        assert!(inf.sub(&inf).is_err());
        assert!(inf.add(&minus_inf).is_err());
        assert!(n("0").mul(&inf).is_err());
        assert_eq!(inf.add(&inf).unwrap(), inf);
        assert_eq!(inf.ceil().to_console_string(), "+Inf");
        // 1 / -0 is -Inf: the sign of zero is kept.
        assert_eq!(n("1").div(&n("0").neg()).unwrap(), minus_inf);
    }

    #[test]
    fn negative_zero() {
        let z = n("0").neg();
        assert_eq!(shown(&z), ("-0".to_string(), "0".to_string()));
        assert_eq!(z, n("0"));
        assert_eq!(n("0").mul(&n("1").neg()).unwrap().to_string(), "-0");
        // x - x is +0, as Go's subtraction gives.
        assert_eq!(n("2.5").sub(&n("2.5")).unwrap().to_string(), "0");
        assert_eq!(n("-0").to_string(), "-0");
        assert_eq!(z.abs().to_string(), "0");
    }

    #[test]
    fn parsing_follows_go_parse_float() {
        for bad in [
            "", " 1", "1 ", "0x10", "abc", "1e", "1e+", ".", "-", "+", "1_000", "1.2.3", "--1",
            "1e5.5", "INF", "infinity", "e5",
        ] {
            assert_eq!(Number::parse(bad), None, "{bad:?}");
        }
        assert_eq!(n("+1").to_string(), "1");
        assert_eq!(n(".5").to_string(), "0.5");
        assert_eq!(n("5.").to_string(), "5");
        assert_eq!(n("1p3").to_string(), "8");
        assert_eq!(n("3P-1").to_string(), "1.5");
        assert_eq!(n("-1.5E+2").to_string(), "-150");
        assert!(n("Inf").is_infinite() && n("-inf").signum() == -1);
        assert_eq!(n("0e99999999999999").to_string(), "0");
        // An exponent that does not fit int64, or a result exponent beyond int32, is an error;
        // a decimal scale that overflows while computing 5^n gives infinity or zero.
        assert_eq!(Number::parse("1e99999999999999999999"), None);
        assert_eq!(Number::parse("1e3000000000"), None);
        assert_eq!(Number::parse("1e-3000000000"), None);
        assert!(n("1e646456993").is_infinite());
        assert!(!n("1e646456992").is_infinite());
        assert!(n("1e-646457000").is_zero());
        assert_eq!(n("0.1").precision(), 512);
    }

    #[test]
    fn integers_beyond_64_bits() {
        let p70 = n("1180591620717411303424");
        assert_eq!(p70.to_string(), "1180591620717411303424");
        assert_eq!(p70.to_i64(), None);
        assert_eq!(p70.to_i128(), Some(1 << 70));
        assert_eq!(p70.to_console_string(), "1.1805916207174113e+21");
        assert_eq!(
            n("18446744073709551617").to_string(),
            "18446744073709551617"
        );
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert_eq!(
            n("9223372036854775807").to_console_string(),
            "9223372036854775807"
        );
        assert_eq!(n("18446744073709551615").to_u64(), Some(u64::MAX));
        assert_eq!(n("2.5").to_i64(), None);
        let big = n("123456789012345678901234567890123456789");
        assert_eq!(
            big.to_big_int().map(|b| b.to_string()).as_deref(),
            Some("123456789012345678901234567890123456789")
        );
    }

    #[test]
    fn precision_travels_with_the_value() {
        // 64-bit integers (length(), parseint()) multiply at 64 bits: 2^80 + 2^41 + 1 rounds.
        let a = Number::from_i64((1 << 40) + 1);
        let sq = a.mul(&a).unwrap();
        assert_eq!(sq.precision(), 64);
        assert_eq!(sq.to_string(), "1208925819616828198000000");
        // 1/3 at 64 bits prints the shortest text at that precision.
        let third = Number::from_i64(1).div(&Number::from_i64(3)).unwrap();
        assert_eq!(third.to_string(), "0.33333333333333333334");
        // A 64-bit integer with a 512-bit literal computes at 512.
        assert_eq!(
            Number::from_i64(1).div(&n("3")).unwrap().to_string(),
            ONE_THIRD
        );
        // float64 results keep 53 bits.
        assert_eq!(Number::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(
            Number::from_f64(0.1).unwrap(),
            Number::from_f64(0.1).unwrap()
        );
        assert_ne!(Number::from_f64(0.1).unwrap(), n("0.1"));
        let root2 = Number::from_f64(std::f64::consts::SQRT_2).unwrap();
        assert_eq!(root2.mul(&root2).unwrap().to_string(), "2.0000000000000004");
    }

    #[test]
    fn rounding_is_to_nearest_even_at_512_bits() {
        let two512 = BigUint::from(1u32) << 512u32;
        let text = |delta: u32| (&two512 + delta).to_string();
        // 2^512 + 1 is halfway between 2^512 and 2^512 + 2: the even mantissa wins.
        assert_eq!(n(&text(1)), n(&text(0)));
        assert_eq!(n(&text(1)).to_string(), text(0));
        // 2^512 + 3 is halfway between 2^512 + 2 (odd mantissa) and 2^512 + 4 (even).
        assert_eq!(n(&text(3)).to_string(), text(4));
        assert_eq!(n(&text(5)).to_string(), text(4));
        assert_ne!(n(&text(2)), n(&text(0)));
        assert_eq!(n(&text(2)).to_string(), text(2));
    }

    #[test]
    fn modulo_follows_cty() {
        check(n("-7").rem(&n("-3")), "-1", "-1");
        check(n("7.5").rem(&n("-2")), "1.5", "1.5");
        check(n("-0.5").rem(&n("1")), "-0.5", "-0.5");
        // The remainder is rounded to the quotient's precision (64 bits), as in the cty Packer uses.
        let r = n("0.1").rem(&n("1")).unwrap();
        assert_eq!((r.precision(), r.to_string()), (64, "0.1".to_string()));
        let r = n("1").rem(&n("0.3")).unwrap();
        assert_eq!(r.precision(), 64);
        let inf = n("1").div(&n("0")).unwrap();
        assert!(inf.rem(&n("2")).unwrap().is_infinite());
        assert!(n("5").rem(&inf).is_err());
        assert!(inf.rem(&inf).is_err());
        assert_eq!(n("0").rem(&n("0")).unwrap().to_string(), "0");
    }

    #[test]
    fn comparison_is_exact() {
        assert_ne!(n("1.0000000000000001"), n("1"));
        assert!(n("1.0000000000000001") > n("1"));
        assert_eq!(n("1"), n("1.0"));
        assert_eq!(n("1"), Number::from_i64(1));
        assert_eq!(n("0.5"), Number::from_f64(0.5).unwrap());
        assert!(n("-1e400") < n("-1e399"));
        assert!(n("1e-400") > n("0"));
        assert!(n("-Inf") < n("-1e999999"));
        let mut v = [n("3"), n("-1.5"), n("0"), n("2.25"), n("-Inf"), n("1e30")];
        v.sort();
        let texts: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "-Inf",
                "-1.5",
                "0",
                "2.25",
                "3",
                "1000000000000000000000000000000"
            ]
        );
        assert_eq!(
            v.iter().max().map(ToString::to_string).as_deref(),
            Some("1000000000000000000000000000000")
        );
    }

    #[test]
    fn functions_helpers() {
        check(Ok(n("-3").abs()), "3", "3");
        check(Ok(n("2.5").abs()), "2.5", "2.5");
        check(Ok(n("1.2").ceil()), "2", "2");
        check(Ok(n("-1.2").ceil()), "-1", "-1");
        check(Ok(n("5").ceil()), "5", "5");
        check(Ok(n("1.8").floor()), "1", "1");
        check(Ok(n("-1.2").floor()), "-2", "-2");
        check(Ok(n("-0.5").ceil()), "0", "0");
        check(Ok(n("-1.7").trunc()), "-1", "-1");
        check(n("8").log(&n("2")), "3", "3");
        check(n("100").log(&n("10")), "2", "2");
        check(n("0").log(&n("10")), "-Inf", "-Inf");
        assert!(n("-1").log(&n("10")).is_err());
        check(n("2").pow(&n("10")), "1024", "1024");
        check(
            n("2").pow(&n("0.5")),
            "1.4142135623730951",
            "1.4142135623730951",
        );
        check(n("0").pow(&n("0")), "1", "1");
        check(n("2").pow(&n("-1")), "0.5", "0.5");
        assert!(n("1e400").pow(&n("2")).is_err());
        assert_eq!(n("-9").signum(), -1);
        assert_eq!(n("0").signum(), 0);
        assert_eq!(n("3.5").to_i64(), None);
        check(
            Number::parse_int("100", 10).ok_or(NumberError::Indeterminate),
            "100",
            "100",
        );
        check(
            Number::parse_int("FF", 16).ok_or(NumberError::Indeterminate),
            "255",
            "255",
        );
        check(
            Number::parse_int("-10", 2).ok_or(NumberError::Indeterminate),
            "-2",
            "-2",
        );
        check(
            Number::parse_int("zz", 36).ok_or(NumberError::Indeterminate),
            "1295",
            "1295",
        );
        check(
            Number::parse_int("Zz", 62).ok_or(NumberError::Indeterminate),
            "3817",
            "3817",
        );
        check(
            Number::parse_int("9007199254740993", 10).ok_or(NumberError::Indeterminate),
            "9007199254740993",
            "9007199254740993",
        );
        assert_eq!(Number::parse_int("12", 2), None);
        assert_eq!(Number::parse_int("10", 1), None);
        assert_eq!(Number::parse_int("", 10), None);
        assert_eq!(Number::parse_int("-", 10), None);
        assert_eq!(Number::parse_int("1_0", 10), None);
        assert_eq!(
            Number::parse_int("-0", 10)
                .map(|x| x.to_string())
                .as_deref(),
            Some("0")
        );
        let big = Number::parse_int("123456789012345678901234567890", 10).unwrap();
        assert_eq!(
            (big.precision(), big.to_string()),
            (97, "123456789012345678901234567890".to_string())
        );
    }

    #[test]
    fn packer_ceil_and_floor_go_through_int64() {
        let c = n("1.2").ceil_via_f64().unwrap();
        assert_eq!((c.to_string(), c.precision()), ("2".to_string(), 64));
        check(n("-1.2").ceil_via_f64(), "-1", "-1");
        check(n("1.8").floor_via_f64(), "1", "1");
        check(n("-1.2").floor_via_f64(), "-2", "-2");
        check(n("5").floor_via_f64(), "5", "5");
        assert!(n("1")
            .div(&n("0"))
            .unwrap()
            .ceil_via_f64()
            .unwrap()
            .is_infinite());
        check(
            n("1e30").ceil_via_f64(),
            "-9223372036854775808",
            "-9223372036854775808",
        );
        assert!(n("1e400").floor_via_f64().is_err());
    }

    #[test]
    fn float64_conversion_rounds_like_go() {
        assert_eq!(n("0.1").to_f64(), 0.1);
        assert_eq!(n("1e308").mul(&n("10")).unwrap().to_f64(), f64::INFINITY);
        assert_eq!(n("1e308").mul(&n("10")).unwrap().to_f64_finite(), None);
        assert_eq!(n("4.9406564584124654e-324").to_f64(), f64::from_bits(1));
        assert_eq!(n("2.4703282292062327e-324").to_f64(), 0.0); // exactly half: to even
        assert_eq!(n("2.4703282292062328e-324").to_f64(), f64::from_bits(1));
        assert_eq!(
            n("2.2250738585072011e-308").to_f64(),
            2.225073858507201e-308
        );
        assert_eq!(n("9007199254740993").to_f64(), 9007199254740992.0);
        assert_eq!(n("-1e-400").to_console_string(), "-0");
        for f in [
            1.5,
            -2.75,
            1e300,
            5e-324,
            1.7976931348623157e308,
            0.1,
            1.0 / 3.0,
        ] {
            assert_eq!(Number::from_f64(f).unwrap().to_f64(), f);
            assert_eq!(Number::parse(&format!("{f:e}")).unwrap().to_f64(), f);
        }
        assert_eq!(Number::from_f64(f64::NAN), None);
    }

    #[test]
    fn console_text_is_go_percent_v() {
        for (f, text) in [
            (100000.0, "100000"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e300, "1.5e+300"),
            (-0.5, "-0.5"),
            (123456.5, "123456.5"),
        ] {
            assert_eq!(go_format_float(f), text);
        }
        assert_eq!(n("1e400").to_console_string(), "+Inf");
        assert_eq!(n("0.5").neg().to_console_string(), "-0.5");
    }

    #[test]
    fn shortest_text_round_trips() {
        let mut values = Vec::new();
        for i in 1..60i64 {
            for j in [3i64, 7, 9, 11, 13, 97, 1024, 1_000_003] {
                values.push(Number::from_i64(i * 7919).div(&n(&j.to_string())).unwrap());
                values.push(n(&format!("{i}.{j}e-{}", i * 5)).mul(&n("3.3")).unwrap());
                values.push(n(&format!("{j}e{}", i * 6)).div(&n("7")).unwrap());
            }
        }
        for v in values {
            let text = v.to_string();
            assert_eq!(n(&text), v, "{text}");
            // Shortest: dropping the last digit lands on another number.
            if let Some((head, tail)) = text.split_once('.') {
                if tail.len() > 1 {
                    let shorter = format!("{head}.{}", &tail[..tail.len() - 1]);
                    assert_ne!(n(&shorter), v, "{text}");
                }
            }
        }
    }

    #[test]
    fn huge_and_tiny_exponents_print_in_full() {
        assert_eq!(n("1e-400").to_string(), format!("0.{}1", "0".repeat(399)));
        assert_eq!(
            n("-2.5e-1000").to_string(),
            format!("-0.{}25", "0".repeat(999))
        );
        assert_eq!(
            n("1e100000").to_string(),
            format!("1{}", "0".repeat(100000))
        );
        assert_eq!(
            n("7.25e-30000").to_string(),
            format!("0.{}725", "0".repeat(29999))
        );
        assert_eq!(n("1e100000").to_console_string(), "+Inf");
    }

    #[test]
    fn leading_digit_path_matches_exact_expansion() {
        let mut values = vec![
            n("1e-3000"),
            n("1e3000"),
            n("7.123e-5000"),
            n("3").div(&n("7e2600")).unwrap(),
        ];
        values.push(
            Number::from_i64(3)
                .div(&Number::from_i64(7))
                .unwrap()
                .mul(&n("1e-2700"))
                .unwrap(),
        );
        values.push(n("2").pow(&n("0.5")).unwrap().mul(&n("1e2700")).unwrap());
        values.push(
            n("1")
                .div(&n("3e2500"))
                .unwrap()
                .add(&n("1e-2500"))
                .unwrap(),
        );
        for v in values {
            assert_eq!(v.text_with_limit(64), v.text_with_limit(u64::MAX));
        }
    }

    #[test]
    fn small_numbers_stay_small() {
        let x = n("12.5").add(&n("3")).unwrap();
        assert!(matches!(x.mant, Mant::Small(_)));
        assert_eq!(x.to_string(), "15.5");
        assert_eq!(format!("{x:?}"), "Number(15.5)");
    }
}
