//! Durations and times as Packer writes them: durafmt's "1 second 12 milliseconds" in messages,
//! and RFC 3339 times for `-timestamp-ui` and events. (Durations are read by the function
//! library's Go parser, `functions::gotime`.)

use std::time::{Duration, SystemTime};

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
    let base = crate::body::legacy::go_time_format(secs, "2006-01-02T15:04:05");
    format!("{base}.{:03}Z", d.subsec_millis())
}

/// RFC 3339 to the second, as Packer's `build_time` and `-timestamp-ui` show it.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crate::body::legacy::go_time_format(secs, "2006-01-02T15:04:05Z07:00")
}

#[cfg(test)]
mod tests {
    use super::*;

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
