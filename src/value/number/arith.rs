//! Rounding to a precision within `big.Float`'s exponent range, the exact sum, product and
//! quotient behind `Number`'s arithmetic (Go's `Add`, `Mul` and `Quo`), and the conversion to
//! float64.

use super::{cmp_mag, Form, Mant, Number, MAX_EXP, MIN_EXP};
use num_bigint::BigUint;
use std::cmp::Ordering;

/// Round a mantissa to `prec` bits, nearest-even, where `sticky` says the exact value is a
/// little more than `m` (then `m` must have at least `prec + 2` bits). Returns the rounded
/// mantissa and how much the exponent grows. No exponent range is applied.
pub(super) fn round_mant(m: BigUint, sticky: bool, prec: u32) -> (BigUint, i64) {
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
pub(super) fn finish(neg: bool, m: BigUint, e: i64, sticky: bool, prec: u32) -> Number {
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
pub(super) fn finish_u128(neg: bool, m: u128, e: i64, sticky: bool, prec: u32) -> Number {
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
pub(super) fn add_p(x: &Number, y: &Number, yneg: bool, prec: u32) -> Option<Number> {
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
pub(super) fn mul_p(x: &Number, y: &Number, prec: u32) -> Option<Number> {
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
pub(super) fn quo_p(x: &Number, y: &Number, prec: u32) -> Option<Number> {
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

/// |value| of a finite number as the nearest f64 (Go's `Float.Float64`).
pub(super) fn to_f64_magnitude(mant: &Mant, exp: i64) -> f64 {
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
