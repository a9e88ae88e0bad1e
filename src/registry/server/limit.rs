//! `--rate-limit N`: each token may make N requests a second (a burst of N), beyond which the
//! server answers 429 with `Retry-After`, so one runaway CI job cannot starve the others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per-token token buckets.
pub struct RateLimiter {
    per_second: Option<u32>,
    buckets: Mutex<HashMap<String, Allowance>>,
}

struct Allowance {
    left: f64,
    at: Instant,
}

impl RateLimiter {
    /// `None`: no limit.
    pub fn new(per_second: Option<u32>) -> RateLimiter {
        RateLimiter {
            per_second: per_second.filter(|n| *n > 0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one request from `token`'s allowance; when none is left, how long until one is.
    pub fn take(&self, token: &str) -> Result<(), Duration> {
        let Some(rate) = self.per_second else {
            return Ok(());
        };
        let rate = f64::from(rate);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let a = buckets.entry(token.to_string()).or_insert(Allowance {
            left: rate,
            at: now,
        });
        a.left = (a.left + now.duration_since(a.at).as_secs_f64() * rate).min(rate);
        a.at = now;
        if a.left >= 1.0 {
            a.left -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - a.left) / rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_past_its_burst_waits_and_others_do_not() {
        let limiter = RateLimiter::new(Some(3));
        for _ in 0..3 {
            assert!(limiter.take("a").is_ok());
        }
        let wait = limiter.take("a").expect_err("the fourth waits");
        assert!(wait <= Duration::from_millis(334), "{wait:?}");
        assert!(limiter.take("b").is_ok());
        let none = RateLimiter::new(None);
        assert!((0..1000).all(|_| none.take("a").is_ok()));
    }
}
