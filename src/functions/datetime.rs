//! Date and time functions: formatdate, timeadd, timecmp, timestamp, legacy_isotime,
//! legacy_strftime.

use super::args::Args;
use super::gotime::{go_layout, parse_duration, parse_rfc3339, Civil, Time, MONTHS, WEEKDAYS};
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use std::cmp::Ordering;

pub(super) fn timestamp(_: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(ctx.timestamp.clone()))
}

pub(super) fn timeadd(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let t = parse_rfc3339(&args.string(0)?).map_err(FunctionError::new)?;
    let d = parse_duration(&args.string(1)?).map_err(FunctionError::new)?;
    let sum = t
        .add_nanos(d)
        .ok_or_else(|| FunctionError::new("the resulting time is out of range"))?;
    Ok(Value::String(sum.rfc3339()))
}

pub(super) fn timecmp(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let a = parse_rfc3339(&args.string(0)?).map_err(|e| args.err(0, e))?;
    let b = parse_rfc3339(&args.string(1)?).map_err(|e| args.err(1, e))?;
    Ok(Value::int(match a.instant().cmp(&b.instant()) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

pub(super) fn formatdate(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let format = args.string(0)?;
    let t = parse_rfc3339(&args.string(1)?).map_err(|e| args.err(1, e))?;
    let c = t.civil();
    let mut out = String::new();
    let b = format.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i] == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            // Seek the closing quote; cty's scanner drops a literal closed at the very end.
            let mut j = i + 1;
            let mut close = None;
            while j < b.len() {
                if b[j] == b'\'' {
                    if j + 1 == b.len() {
                        return Ok(Value::String(out));
                    }
                    if b[j + 1] == b'\'' {
                        j += 2;
                        continue;
                    }
                    close = Some(j);
                    break;
                }
                j += 1;
            }
            let Some(close) = close else {
                return Err(args.err(0, "unterminated literal '"));
            };
            out.push_str(&format[start + 1..close].replace("''", "'"));
            i = close + 1;
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i] == b[start] {
                i += 1;
            }
            date_verb(&format[start..i], &c, &t, &mut out).map_err(|e| args.err(0, e))?;
        } else {
            while i < b.len() && b[i] != b'\'' && !b[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push_str(&format[start..i]);
        }
    }
    Ok(Value::String(out))
}

fn date_verb(tok: &str, c: &Civil, t: &Time, out: &mut String) -> Result<(), String> {
    let n = tok.len();
    let invalid = |why: &str| format!("invalid date format verb {tok:?}: {why}");
    let text = match (tok.as_bytes()[0], n) {
        (b'Y', 2) => format!("{:02}", c.year.rem_euclid(100)),
        (b'Y', 4) => format!("{:04}", c.year),
        (b'Y', _) => return Err(invalid("year must either be \"YY\" or \"YYYY\"")),
        (b'M', 1) => c.month.to_string(),
        (b'M', 2) => format!("{:02}", c.month),
        (b'M', 3) => MONTHS[c.month as usize - 1][..3].to_string(),
        (b'M', 4) => MONTHS[c.month as usize - 1].to_string(),
        (b'M', _) => return Err(invalid("month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"")),
        (b'D', 1) => c.day.to_string(),
        (b'D', 2) => format!("{:02}", c.day),
        (b'D', _) => return Err(invalid("day of month must either be \"D\" or \"DD\"")),
        (b'E', 3) => WEEKDAYS[c.weekday][..3].to_string(),
        (b'E', 4) => WEEKDAYS[c.weekday].to_string(),
        (b'E', _) => return Err(invalid("day of week must either be \"EEE\" or \"EEEE\"")),
        (b'h', 1) => c.hour.to_string(),
        (b'h', 2) => format!("{:02}", c.hour),
        (b'h', _) => return Err(invalid("24-hour must either be \"h\" or \"hh\"")),
        (b'H', 1 | 2) => {
            let h = match c.hour % 12 {
                0 => 12,
                h => h,
            };
            if n == 1 {
                h.to_string()
            } else {
                format!("{h:02}")
            }
        }
        (b'H', _) => return Err(invalid("12-hour must either be \"H\" or \"HH\"")),
        (b'A' | b'a', 2) => {
            let pm = c.hour >= 12;
            match (tok.starts_with('A'), pm) {
                (true, false) => "AM",
                (true, true) => "PM",
                (false, false) => "am",
                (false, true) => "pm",
            }
            .to_string()
        }
        (b'A' | b'a', _) => {
            let l = &tok[..1];
            return Err(format!(
                "invalid date format verb {tok:?}: must be \"{l}{l}\""
            ));
        }
        (b'm', 1) => c.minute.to_string(),
        (b'm', 2) => format!("{:02}", c.minute),
        (b'm', _) => return Err(invalid("minute must either be \"m\" or \"mm\"")),
        (b's', 1) => c.second.to_string(),
        (b's', 2) => format!("{:02}", c.second),
        (b's', _) => return Err(invalid("second must either be \"s\" or \"ss\"")),
        (b'Z', 1) => t.zone(true, true, false),
        (b'Z', 3) if t.offset == 0 => "UTC".into(),
        (b'Z', 3 | 4) => t.zone(false, false, false),
        (b'Z', 5) => t.zone(false, true, false),
        (b'Z', _) => return Err(invalid("timezone must be Z, ZZZZ, or ZZZZZ")),
        _ => return Err(format!("invalid date format verb {tok:?}")),
    };
    out.push_str(&text);
    Ok(())
}

/// The run's time, from `timestamp()`'s value.
fn run_time(ctx: &FunctionContext) -> Result<Time, FunctionError> {
    parse_rfc3339(&ctx.timestamp)
        .map_err(|e| FunctionError::new(format!("the run's timestamp is invalid: {e}")))
}

pub(super) fn legacy_isotime(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let t = run_time(ctx)?;
    match args.len() {
        0 => Ok(Value::String(t.rfc3339())),
        1 => Ok(Value::String(go_layout(&t, &args.string(0)?))),
        _ => Err(FunctionError::new("too many values, 1 needed")),
    }
}

pub(super) fn legacy_strftime(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let t = run_time(ctx)?;
    let format = match args.len() {
        0 => return Ok(Value::String(t.rfc3339())),
        1 => args.string(0)?,
        _ => return Err(FunctionError::new("too many values, 1 needed")),
    };
    // jehiah/go-strftime: each %x becomes a Go layout; unknown ones stay as they are.
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(spec) = chars.next() else {
            out.push('%');
            break;
        };
        let layout = match spec {
            'B' => "January",
            'b' => "Jan",
            'm' => "01",
            'A' => "Monday",
            'a' => "Mon",
            'd' => "02",
            'H' => "15",
            'I' => "03",
            'M' => "04",
            'S' => "05",
            'Y' => "2006",
            'y' => "06",
            'p' => "PM",
            'Z' => "MST",
            'z' => "-0700",
            '%' => {
                out.push('%');
                continue;
            }
            other => {
                out.push('%');
                out.push(other);
                continue;
            }
        };
        out.push_str(&go_layout(&t, layout));
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;

    #[test]
    fn fixture_formatdate() {
        assert_eq!(
            ok(
                "formatdate",
                vec![s("YYYY-MM-DD"), s("2021-03-04T05:06:07Z")]
            ),
            s("2021-03-04")
        );
        assert_eq!(
            ok(
                "formatdate",
                vec![s("DD MMM YYYY hh:mm ZZZ"), s("2018-01-02T23:12:01Z")]
            ),
            s("02 Jan 2018 23:12 UTC")
        );
        assert_eq!(
            ok(
                "formatdate",
                vec![s("EEEE, DD-MMM-YY hh:mm:ss ZZZ"), s("2018-01-02T23:12:01Z")]
            ),
            s("Tuesday, 02-Jan-18 23:12:01 UTC")
        );
        assert_eq!(
            ok(
                "formatdate",
                vec![s("h:mm aa"), s("2018-01-02T23:12:01-08:00")]
            ),
            s("23:12 pm")
        );
        assert_eq!(
            ok(
                "formatdate",
                vec![s("'quoted' YYYY"), s("2020-01-01T00:00:00Z")]
            ),
            s("quoted 2020")
        );
        let m = fails("formatdate", vec![s("YYYY"), s("not a date")]);
        assert!(
            m.ends_with("not a valid RFC3339 timestamp: cannot use \"not a date\" as year"),
            "{m}"
        );
        let m = fails("formatdate", vec![s("YYYY"), s("2021-03-04")]);
        assert!(
            m.ends_with("not a valid RFC3339 timestamp: missing required time introducer 'T'"),
            "{m}"
        );
    }

    #[test]
    fn formatdate_verbs() {
        let t = s("2006-01-02T15:04:05-07:00");
        assert_eq!(
            ok(
                "formatdate",
                vec![s("H:m:s AA ZZZZ ZZZZZ Z M D EEE"), t.clone()]
            ),
            s("3:4:5 PM -0700 -07:00 -07:00 1 2 Mon")
        );
        assert_eq!(
            ok("formatdate", vec![s("MMMM ''YY''"), t.clone()]),
            s("January '06'")
        );
        assert_eq!(
            ok("formatdate", vec![s("Z"), s("2006-01-02T15:04:05Z")]),
            s("Z")
        );
        assert!(fails("formatdate", vec![s("YYY"), t.clone()]).contains("year must either be"));
        assert!(fails("formatdate", vec![s("A"), t.clone()]).contains("must be \"AA\""));
        assert!(fails("formatdate", vec![s("'open"), t.clone()]).contains("unterminated literal"));
        assert!(fails("formatdate", vec![s("X"), t.clone()]).contains("invalid date format verb"));
        assert_eq!(ok("formatdate", vec![s("YYYY 'x'"), t]), s("2006 "));
        assert!(fails("formatdate", vec![s("Y"), s("2021-02-30T00:00:00Z")])
            .contains("day out of range"));
        assert!(fails("formatdate", vec![s("Y"), s("2021-13-01T00:00:00Z")]).contains("as month"));
        assert!(fails("formatdate", vec![s("Y"), s("2021-01-01T00:00:00")])
            .contains("end of string before UTC offset"));
        assert!(
            fails("formatdate", vec![s("Y"), s("2021-01-01T00:00:00Zx")])
                .contains("timestamp segment")
        );
        assert!(fails("formatdate", vec![s("Y"), s("2021")])
            .contains("end of string where \"-\" is expected"));
    }

    #[test]
    fn fixture_timeadd() {
        assert_eq!(
            ok("timeadd", vec![s("2017-11-22T00:00:00Z"), s("10m")]),
            s("2017-11-22T00:10:00Z")
        );
        assert_eq!(
            ok("timeadd", vec![s("2017-11-22T00:00:00Z"), s("-1h30m")]),
            s("2017-11-21T22:30:00Z")
        );
        assert_eq!(
            ok("timeadd", vec![s("2017-11-22T23:59:59+05:00"), s("1s")]),
            s("2017-11-23T00:00:00+05:00")
        );
        assert_eq!(
            fails("timeadd", vec![s("2017-11-22T00:00:00Z"), s("1d")]),
            "time: unknown unit \"d\" in duration \"1d\""
        );
        assert_eq!(
            fails("timeadd", vec![s("bad"), s("1h")]),
            "not a valid RFC3339 timestamp: cannot use \"bad\" as year"
        );
        assert_eq!(
            ok("timeadd", vec![s("2024-02-28T12:00:00Z"), s("24h")]),
            s("2024-02-29T12:00:00Z")
        );
        assert_eq!(
            ok("timeadd", vec![s("2017-01-01T00:00:00.5Z"), s("1.5s")]),
            s("2017-01-01T00:00:02Z")
        );
        assert_eq!(
            ok("timeadd", vec![s("1970-01-01T00:00:00Z"), s("-1ns")]),
            s("1969-12-31T23:59:59Z")
        );
        assert!(fails("timeadd", vec![s("2017-01-01T00:00:00Z"), s("1")]).contains("missing unit"));
        assert!(
            fails("timeadd", vec![s("2017-01-01T00:00:00Z"), s("")]).contains("invalid duration")
        );
        assert!(fails(
            "timeadd",
            vec![s("2017-01-01T00:00:00Z"), s("99999999999999999999h")]
        )
        .contains("invalid duration"));
    }

    #[test]
    fn timecmp_and_legacy() {
        assert_eq!(
            ok(
                "timecmp",
                vec![s("2017-11-22T00:00:00Z"), s("2017-11-22T01:00:00+01:00")]
            ),
            i(0)
        );
        assert_eq!(
            ok(
                "timecmp",
                vec![s("2017-11-22T00:00:00Z"), s("2017-11-22T00:00:01Z")]
            ),
            i(-1)
        );
        assert_eq!(
            ok(
                "timecmp",
                vec![s("2018-01-01T00:00:00Z"), s("2017-11-22T00:00:01Z")]
            ),
            i(1)
        );
        fails("timecmp", vec![s("x"), s("2017-11-22T00:00:01Z")]);
        // The test context's run started at 2021-03-04T05:06:07Z.
        assert_eq!(ok("legacy_isotime", vec![]), s("2021-03-04T05:06:07Z"));
        assert_eq!(
            ok(
                "legacy_isotime",
                vec![s("2006-01-02 15:04:05 Mon Jan _2 3PM .000 MST")]
            ),
            s("2021-03-04 05:06:07 Thu Mar  4 5AM .000 UTC")
        );
        assert_eq!(ok("legacy_isotime", vec![s("060102")]), s("210304"));
        assert_eq!(
            ok(
                "legacy_strftime",
                vec![s("%Y-%m-%d %H:%M:%S %a %b %p %Z %z %% %q")]
            ),
            s("2021-03-04 05:06:07 Thu Mar AM UTC +0000 % %q")
        );
        fails("legacy_strftime", vec![s("a"), s("b")]);
    }

    #[test]
    fn yaml_timestamps() {
        use crate::functions::gotime::parse_yaml_timestamp as p;
        assert_eq!(p("2001-12-14").as_deref(), Some("2001-12-14T00:00:00Z"));
        assert_eq!(
            p("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43-05:00")
        );
        assert_eq!(p("2001-1-2 3:4:5").as_deref(), Some("2001-01-02T03:04:05Z"));
        assert_eq!(p("2001-02-30"), None);
        assert_eq!(p("12-14"), None);
    }
}
