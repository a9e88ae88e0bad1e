//! Unit tests of `Number`: Packer's fixtures, Go's parsing and rounding quirks, and both
//! text forms.

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
