//! Durations as Packer reads and writes them: Go's `time.ParseDuration` syntax for
//! `pause_before` and `timeout`, durafmt's "1 second 12 milliseconds" in messages, and RFC 3339
//! times for `-timestamp-ui` and events.

use std::time::{Duration, SystemTime};

/// Parse a Go duration: a sequence of decimal numbers with units (`ns`, `us`, `µs`, `ms`, `s`,
/// `m`, `h`), such as `300ms`, `1.5h` or `2h45m`. `0` alone is zero. Negative durations are
/// refused: nothing in a template means a negative wait.
pub fn parse_go(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; write it like `30s`, `5m` or `1h30m`");
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if number_end == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// A duration as Packer prints it (durafmt, the two largest non-zero units):
/// `1 second 12 milliseconds`, `3 minutes 2 seconds`, `0 seconds`.
pub fn human(d: Duration) -> String {
    let micros = d.as_micros();
    let units: [(&str, u128); 7] = [
        ("day", 86_400_000_000),
        ("hour", 3_600_000_000),
        ("minute", 60_000_000),
        ("second", 1_000_000),
        ("millisecond", 1_000),
        ("microsecond", 1),
        ("", 0),
    ];
    let mut parts = Vec::new();
    let mut rest = micros;
    for (name, size) in units {
        if size == 0 || parts.len() == 2 {
            break;
        }
        let n = rest / size;
        rest %= size;
        if n > 0 {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        return "0 seconds".into();
    }
    parts.join(" ")
}

/// `2026-11-24T19:02:04.123Z`.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let base = crate::config::legacy::go_time_format(secs, "2006-01-02T15:04:05");
    format!("{base}.{:03}Z", d.subsec_millis())
}

/// RFC 3339 to the second, as Packer's `build_time` and `-timestamp-ui` show it.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crate::config::legacy::go_time_format(secs, "2006-01-02T15:04:05Z07:00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_go("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go("0"), Ok(Duration::ZERO));
        assert!(parse_go("10").is_err());
        assert!(parse_go("ten seconds").is_err());
        assert!(parse_go("-1s").is_err());
        assert!(parse_go("").is_err());
    }

    #[test]
    fn durafmt_style() {
        assert_eq!(
            human(Duration::from_millis(1012)),
            "1 second 12 milliseconds"
        );
        assert_eq!(human(Duration::from_secs(182)), "3 minutes 2 seconds");
        assert_eq!(
            human(Duration::from_micros(1500)),
            "1 millisecond 500 microseconds"
        );
        assert_eq!(human(Duration::ZERO), "0 seconds");
        assert_eq!(human(Duration::from_secs(3600)), "1 hour");
    }
}
