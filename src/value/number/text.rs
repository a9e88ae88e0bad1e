//! Numbers as text: the canonical shortest decimal (cty's `Text('f', -1)`, shortest at the
//! number's own precision) and the console's float64 text (Go's `%v`).

use super::arith::round_mant;
use super::{Form, Mant, Number};
use num_bigint::BigUint;

impl Number {
    /// The canonical text with a forced limit for exact decimal expansion (tests use it to
    /// exercise the leading-digits path on moderate exponents).
    pub(super) fn text_with_limit(&self, limit: u64) -> String {
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
pub(super) fn go_format_float(f: f64) -> String {
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
