//! HCL numbers. Placeholder on f64 while the exact 512-bit implementation lands; the API is
//! the contract the rest of the crate uses.

use std::cmp::Ordering;
use std::fmt;

/// A number with HCL (cty) semantics.
#[derive(Clone, Debug)]
pub struct Number(f64);

/// Why an arithmetic operation has no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("can't divide zero by zero or infinity by infinity")]
    Indeterminate,
    #[error("{0}")]
    Other(String),
}

impl Number {
    /// Parse an HCL numeric literal or a decimal string (`"1e3"`, `"-0.5"`, `" 12 "` is not a number).
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim_start_matches('+');
        if t.is_empty() || t.contains(|c: char| c.is_whitespace()) {
            return None;
        }
        t.parse::<f64>().ok().filter(|f| !f.is_nan()).map(Number)
    }
    /// From an integer.
    pub fn from_i64(i: i64) -> Number {
        Number(i as f64)
    }
    /// From an unsigned integer.
    pub fn from_u64(i: u64) -> Number {
        Number(i as f64)
    }
    /// From a float (NaN becomes None).
    pub fn from_f64(f: f64) -> Option<Number> {
        (!f.is_nan()).then_some(Number(f))
    }
    /// Nearest f64.
    pub fn to_f64(&self) -> f64 {
        self.0
    }
    /// The value as i64 when it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        (self.is_integer() && self.0.abs() < 9.2e18).then_some(self.0 as i64)
    }
    /// True for whole numbers.
    pub fn is_integer(&self) -> bool {
        self.0.is_finite() && self.0.fract() == 0.0
    }
    /// True for +/- infinity.
    pub fn is_infinite(&self) -> bool {
        self.0.is_infinite()
    }
    /// a + b
    pub fn add(&self, o: &Number) -> Result<Number, NumberError> {
        Self::check(self.0 + o.0)
    }
    /// a - b
    pub fn sub(&self, o: &Number) -> Result<Number, NumberError> {
        Self::check(self.0 - o.0)
    }
    /// a * b
    pub fn mul(&self, o: &Number) -> Result<Number, NumberError> {
        Self::check(self.0 * o.0)
    }
    /// a / b (division by zero gives infinity, as cty does)
    pub fn div(&self, o: &Number) -> Result<Number, NumberError> {
        Self::check(self.0 / o.0)
    }
    /// a % b with cty's semantics
    pub fn rem(&self, o: &Number) -> Result<Number, NumberError> {
        if o.0 == 0.0 {
            return Ok(self.clone());
        }
        Self::check(self.0 % o.0)
    }
    /// -a
    pub fn neg(&self) -> Number {
        Number(-self.0)
    }
    /// |a|
    pub fn abs(&self) -> Number {
        Number(self.0.abs())
    }
    /// Round toward -inf.
    pub fn floor(&self) -> Number {
        Number(self.0.floor())
    }
    /// Round toward +inf.
    pub fn ceil(&self) -> Number {
        Number(self.0.ceil())
    }
    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        if self.0 > 0.0 {
            1
        } else if self.0 < 0.0 {
            -1
        } else {
            0
        }
    }
    fn check(f: f64) -> Result<Number, NumberError> {
        if f.is_nan() {
            Err(NumberError::Indeterminate)
        } else {
            Ok(Number(f))
        }
    }
    /// How `packer console` prints a bare number: exact integers, other values as the
    /// shortest float64 text (`0.3333333333333333`, `1e-06`, `+Inf`).
    pub fn to_console_string(&self) -> String {
        if self.0.is_infinite() {
            return if self.0 > 0.0 { "+Inf".into() } else { "-Inf".into() };
        }
        format!("{}", self.0)
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.0 == other.0
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        self.0.partial_cmp(&other.0)
    }
}

/// The canonical text (cty's `Text('f', -1)`): what `tostring`, templates and `jsonencode` print.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
