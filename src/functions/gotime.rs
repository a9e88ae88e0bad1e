//! Go's `time` package, as much as Packer's functions use: RFC 3339 parsing with cty's error
//! wording, `ParseDuration`, reference-time layouts (`2006-01-02`), and YAML timestamps.

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// An instant with the UTC offset it was written in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Time {
    /// Seconds since the Unix epoch.
    secs: i64,
    nanos: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

/// A time's calendar fields in its own offset.
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 is Sunday.
    pub weekday: usize,
    /// Day of the year, from 1.
    pub yday: u32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Time {
    /// The UTC instant `secs` seconds after the Unix epoch.
    pub(crate) fn from_unix(secs: i64) -> Time {
        Time {
            secs,
            nanos: 0,
            offset: 0,
        }
    }

    fn new(date: (i64, u32, u32), clock: (u32, u32, u32), nanos: u32, offset: i32) -> Time {
        let days = days_from_civil(date.0, date.1, date.2);
        let secs =
            days * 86_400 + i64::from(clock.0 * 3600 + clock.1 * 60 + clock.2) - i64::from(offset);
        Time {
            secs,
            nanos,
            offset,
        }
    }

    pub(crate) fn civil(&self) -> Civil {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            weekday: (days + 4).rem_euclid(7) as usize,
            yday: (days - days_from_civil(year, 1, 1) + 1) as u32,
        }
    }

    /// Go's `Format(time.RFC3339)`.
    pub(crate) fn rfc3339(&self) -> String {
        let c = self.civil();
        format!(
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
            year4(c.year),
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            self.zone(true, true, false)
        )
    }

    /// The offset as Go writes it: `Z` for UTC when `z_for_utc`, else `-07:00` or `-0700`.
    pub(crate) fn zone(&self, z_for_utc: bool, colon: bool, seconds: bool) -> String {
        if z_for_utc && self.offset == 0 {
            return "Z".into();
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.unsigned_abs();
        let sep = if colon { ":" } else { "" };
        let mut out = format!("{sign}{:02}{sep}{:02}", off / 3600, off / 60 % 60);
        if seconds {
            out.push_str(&format!("{sep}{:02}", off % 60));
        }
        out
    }

    pub(crate) fn add_nanos(&self, d: i128) -> Option<Time> {
        let total = i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos) + d;
        let secs = i64::try_from(total.div_euclid(1_000_000_000)).ok()?;
        // Keep to years Go can still print.
        if secs.abs() > 200_000_000_000_000 {
            return None;
        }
        Some(Time {
            secs,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            offset: self.offset,
        })
    }

    pub(crate) fn instant(&self) -> (i64, u32) {
        (self.secs, self.nanos)
    }
}

fn year4(y: i64) -> String {
    if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    }
}

/// Reads a string from left to right as Go's `time.Parse` does.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        self.s.get(self.i..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    /// Go's `getnum`: one or two digits (exactly two when `fixed`).
    fn num(&mut self, fixed: bool) -> Option<u32> {
        let d0 = self.peek().filter(u8::is_ascii_digit)?;
        self.i += 1;
        match self.peek().filter(u8::is_ascii_digit) {
            Some(d1) => {
                self.i += 1;
                Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
            }
            None if fixed => None,
            None => Some(u32::from(d0 - b'0')),
        }
    }

    /// Optional `.123` or `,123` fractional seconds, as nanoseconds.
    fn fraction(&mut self) -> u32 {
        let bytes = self.s.as_bytes();
        if !matches!(self.peek(), Some(b'.' | b','))
            || !bytes.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            return 0;
        }
        self.i += 1;
        let mut nanos = 0u32;
        let mut scale = 100_000_000u32;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            self.i += 1;
        }
        nanos
    }

    /// `Z` or `+hh:mm`; `None` when malformed.
    fn zone(&mut self) -> Option<i32> {
        if self.eat(b'Z') {
            return Some(0);
        }
        let r = self.rest().as_bytes();
        if r.len() < 6 || r[3] != b':' {
            return None;
        }
        let sign = match r[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits = |a: u8, b: u8| {
            (a.is_ascii_digit() && b.is_ascii_digit())
                .then(|| i32::from(a - b'0') * 10 + i32::from(b - b'0'))
        };
        let (h, m) = (digits(r[1], r[2])?, digits(r[4], r[5])?);
        if h > 24 || m > 60 {
            return None;
        }
        self.i += 6;
        Some(sign * (h * 3600 + m * 60))
    }
}

/// cty's `parseTimestamp`: RFC 3339 as Go's `time.Parse` reads it, errors rephrased.
pub(crate) fn parse_rfc3339(s: &str) -> Result<Time, String> {
    let bad = |msg: String| format!("not a valid RFC3339 timestamp: {msg}");
    let cannot = |rest: &str, what: &str| {
        bad(if rest.is_empty() {
            format!("end of string before {what}")
        } else {
            format!("cannot use {rest:?} as {what}")
        })
    };
    let expect = |c: &mut Cursor, sep: u8| -> Result<(), String> {
        if c.eat(sep) {
            return Ok(());
        }
        let sep = char::from(sep);
        Err(match (sep, c.rest()) {
            ('T', _) => bad("missing required time introducer 'T'".into()),
            (_, "") => bad(format!("end of string where \"{sep}\" is expected")),
            (_, rest) => bad(format!("found {rest:?} where \"{sep}\" is expected")),
        })
    };
    let mut c = Cursor { s, i: 0 };
    let year = s
        .get(..4)
        .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|y| y.parse::<i64>().ok())
        .ok_or_else(|| cannot(s, "year"))?;
    c.i = 4;
    expect(&mut c, b'-')?;
    let hold = c.i;
    let month = c.num(true).ok_or_else(|| cannot(&s[hold..], "month"))?;
    if !(1..=12).contains(&month) {
        return Err(cannot(c.rest(), "month"));
    }
    expect(&mut c, b'-')?;
    let hold = c.i;
    let day = c
        .num(true)
        .ok_or_else(|| cannot(&s[hold..], "day of month"))?;
    expect(&mut c, b'T')?;
    let hold = c.i;
    let hour = c.num(false).ok_or_else(|| cannot(&s[hold..], "hour"))?;
    if hour >= 24 {
        return Err(cannot(c.rest(), "hour"));
    }
    expect(&mut c, b':')?;
    let hold = c.i;
    let minute = c.num(true).ok_or_else(|| cannot(&s[hold..], "minute"))?;
    if minute >= 60 {
        return Err(cannot(c.rest(), "minute"));
    }
    expect(&mut c, b':')?;
    let hold = c.i;
    let second = c.num(true).ok_or_else(|| cannot(&s[hold..], "second"))?;
    if second >= 60 {
        return Err(cannot(c.rest(), "second"));
    }
    let nanos = c.fraction();
    let hold = c.i;
    let offset = c.zone().ok_or_else(|| cannot(&s[hold..], "UTC offset"))?;
    if !c.rest().is_empty() {
        return Err(cannot(c.rest(), "timestamp segment"));
    }
    if day < 1 || day > days_in(month, year) {
        return Err(bad("day out of range".into()));
    }
    Ok(Time::new(
        (year, month, day),
        (hour, minute, second),
        nanos,
        offset,
    ))
}

/// go-cty-yaml's timestamp resolution for unquoted YAML scalars, as an RFC 3339 string.
pub(crate) fn parse_yaml_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut c = Cursor { s, i: 5 };
    let year: i64 = s[..4].parse().ok()?;
    let month = c.num(false)?;
    c.eat(b'-').then_some(())?;
    let day = c.num(false)?;
    let (clock, nanos, offset) = if c.peek().is_none() {
        ((0, 0, 0), 0, 0)
    } else {
        let zoned = match c.peek()? {
            b'T' | b't' => true,
            b' ' => false,
            _ => return None,
        };
        while c.eat(b' ') {}
        if zoned {
            c.i += 1;
        }
        let hour = c.num(false)?;
        c.eat(b':').then_some(())?;
        let minute = c.num(false)?;
        c.eat(b':').then_some(())?;
        let second = c.num(false)?;
        let nanos = c.fraction();
        let offset = if zoned { c.zone()? } else { 0 };
        if hour >= 24 || minute >= 60 || second >= 60 {
            return None;
        }
        ((hour, minute, second), nanos, offset)
    };
    if c.peek().is_some() || !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return None;
    }
    Some(Time::new((year, month, day), clock, nanos, offset).rfc3339())
}

/// A wait or timeout as Packer's settings read it: Go's `time.ParseDuration`, which must not
/// be negative (nothing in a template means a negative wait).
pub fn wait_duration(text: &str) -> Result<std::time::Duration, String> {
    let nanos = parse_duration(text.trim())?;
    if nanos < 0 {
        return Err(format!(
            "a duration must not be negative, not {}",
            go_quote(text)
        ));
    }
    let nanos =
        u64::try_from(nanos).map_err(|_| format!("time: invalid duration {}", go_quote(text)))?;
    Ok(std::time::Duration::from_nanos(nanos))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(orig: &str) -> Result<i128, String> {
    let quoted = go_quote(orig);
    let invalid = || format!("time: invalid duration {quoted}");
    let (neg, mut s) = match orig.as_bytes().first() {
        Some(b'-') => (true, &orig[1..]),
        Some(b'+') => (false, &orig[1..]),
        _ => (false, orig),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        if !matches!(s.as_bytes()[0], b'.' | b'0'..=b'9') {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let whole: u128 = if int_len == 0 {
            0
        } else {
            s[..int_len].parse().map_err(|_| invalid())?
        };
        s = &s[int_len..];
        let mut frac = (0u128, 1u128);
        let mut frac_len = 0;
        if let Some(rest) = s.strip_prefix('.') {
            frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            // Enough digits for nanoseconds of hours without overflowing.
            for d in rest[..frac_len].bytes().take(18) {
                frac = (frac.0 * 10 + u128::from(d - b'0'), frac.1 * 10);
            }
            s = &rest[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {quoted}",
                    go_quote(unit)
                ))
            }
        };
        total = total
            .checked_add(whole.checked_mul(scale).ok_or_else(invalid)?)
            .and_then(|t| t.checked_add(frac.0 * scale / frac.1))
            .filter(|t| *t <= 1 << 63)
            .ok_or_else(invalid)?;
    }
    if !neg && total > (1 << 63) - 1 {
        return Err(invalid());
    }
    let total = total as i128;
    Ok(if neg { -total } else { total })
}

/// The `time` package's quoting: `"..."` with non-ASCII bytes as `\xNN`.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if !c.is_ascii() || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Go's `Time.Format` with a reference-time layout (`2006-01-02T15:04:05Z07:00`).
pub(crate) fn go_layout(t: &Time, layout: &str) -> String {
    let c = t.civil();
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        let (prefix, token, after) = next_chunk(rest);
        out.push_str(prefix);
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match token {
            "" => {}
            "January" => out.push_str(MONTHS[c.month as usize - 1]),
            "Jan" => out.push_str(&MONTHS[c.month as usize - 1][..3]),
            "Monday" => out.push_str(WEEKDAYS[c.weekday]),
            "Mon" => out.push_str(&WEEKDAYS[c.weekday][..3]),
            "MST" => out.push_str(&if t.offset == 0 {
                "UTC".into()
            } else {
                t.zone(false, false, false)
            }),
            "01" => out.push_str(&format!("{:02}", c.month)),
            "02" => out.push_str(&format!("{:02}", c.day)),
            "03" => out.push_str(&format!("{hour12:02}")),
            "04" => out.push_str(&format!("{:02}", c.minute)),
            "05" => out.push_str(&format!("{:02}", c.second)),
            "06" => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
            "002" => out.push_str(&format!("{:03}", c.yday)),
            "__2" => out.push_str(&format!("{:>3}", c.yday)),
            "15" => out.push_str(&format!("{:02}", c.hour)),
            "1" => out.push_str(&c.month.to_string()),
            "2006" => out.push_str(&year4(c.year)),
            "2" => out.push_str(&c.day.to_string()),
            "_2" => out.push_str(&format!("{:>2}", c.day)),
            "3" => out.push_str(&hour12.to_string()),
            "4" => out.push_str(&c.minute.to_string()),
            "5" => out.push_str(&c.second.to_string()),
            "PM" => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            "pm" => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            "-070000" => out.push_str(&t.zone(false, false, true)),
            "-07:00:00" => out.push_str(&t.zone(false, true, true)),
            "-0700" => out.push_str(&t.zone(false, false, false)),
            "-07:00" => out.push_str(&t.zone(false, true, false)),
            "-07" => out.push_str(&t.zone(false, false, false)[..3]),
            "Z070000" => out.push_str(&t.zone(true, false, true)),
            "Z07:00:00" => out.push_str(&t.zone(true, true, true)),
            "Z0700" => out.push_str(&t.zone(true, false, false)),
            "Z07:00" => out.push_str(&t.zone(true, true, false)),
            "Z07" => {
                let z = t.zone(true, false, false);
                out.push_str(z.get(..3).unwrap_or(&z));
            }
            frac => {
                // .000 / .999 (or with a comma): fractional seconds.
                let digits = frac.len() - 1;
                let text = format!("{:09}", t.nanos);
                let mut part = text[..digits.min(9)].to_string();
                if frac.as_bytes().get(1) == Some(&b'9') {
                    part = part.trim_end_matches('0').to_string();
                    if !part.is_empty() {
                        out.push('.');
                        out.push_str(&part);
                    }
                } else {
                    out.push_str(&frac[..1]);
                    out.push_str(&part);
                }
            }
        }
        rest = after;
    }
    out
}

/// Go's `nextStdChunk`: the literal prefix, the layout element, and what follows.
fn next_chunk(layout: &str) -> (&str, &str, &str) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    let lower_after = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..b.len() {
        let found: Option<usize> = match b[i] {
            b'J' if starts(i, "January") => Some(7),
            b'J' if starts(i, "Jan") && !lower_after(i + 3) => Some(3),
            b'M' if starts(i, "Monday") => Some(6),
            b'M' if starts(i, "Mon") && !lower_after(i + 3) => Some(3),
            b'M' if starts(i, "MST") => Some(3),
            b'0' if matches!(b.get(i + 1), Some(b'1'..=b'6')) => Some(2),
            b'0' if starts(i, "002") => Some(3),
            b'1' if starts(i, "15") => Some(2),
            b'1' => Some(1),
            b'2' if starts(i, "2006") => Some(4),
            b'2' => Some(1),
            b'_' if starts(i, "_2006") => {
                return (&layout[..i + 1], &layout[i + 1..i + 5], &layout[i + 5..]);
            }
            b'_' if starts(i, "_2") => Some(2),
            b'_' if starts(i, "__2") => Some(3),
            b'3' | b'4' | b'5' => Some(1),
            b'P' if starts(i, "PM") => Some(2),
            b'p' if starts(i, "pm") => Some(2),
            b'-' | b'Z' => ["070000", "07:00:00", "0700", "07:00", "07"]
                .iter()
                .find(|z| starts(i + 1, z))
                .map(|z| z.len() + 1),
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let j = (i + 1..b.len()).find(|&j| b[j] != ch).unwrap_or(b.len());
                (!b.get(j).is_some_and(u8::is_ascii_digit)).then_some(j - i)
            }
            _ => None,
        };
        if let Some(len) = found {
            return (&layout[..i], &layout[i..i + len], &layout[i + len..]);
        }
    }
    (layout, "", "")
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, wait_duration};
    use std::time::Duration;

    #[test]
    fn go_durations() {
        for (good, nanos) in [
            ("0", 0),
            ("5m", 300_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1.5s", 1_500_000_000),
            ("300ms", 300_000_000),
            ("-2h", -7_200_000_000_000),
            ("10us", 10_000),
        ] {
            assert_eq!(parse_duration(good), Ok(nanos), "{good}");
        }
        for bad in [
            "",
            "5",
            "5 minutes",
            "m",
            "1x",
            "1..5s",
            "5m3",
            "ten seconds",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn waits_are_never_negative() {
        assert_eq!(wait_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(wait_duration("0"), Ok(Duration::ZERO));
        let err = wait_duration("-5s").unwrap_err();
        assert!(err.contains("negative"), "{err}");
        assert!(wait_duration("9999999999h").is_err());
    }
}
