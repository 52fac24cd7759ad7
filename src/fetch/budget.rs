//! One shared request budget: a token bucket of N requests per minute (300 by default, the
//! client-credentials limit), tightened by the `inin-ratelimit-*` headers the API returns.
//! Pure arithmetic over an injected clock, so it is tested without waiting.

use std::time::{Duration, Instant};

/// A token bucket.
#[derive(Debug, Clone)]
pub struct Budget {
    per_minute: f64,
    tokens: f64,
    capacity: f64,
    updated: Instant,
    /// While set, nothing may be sent before this time (a 429's `Retry-After`).
    paused_until: Option<Instant>,
}

impl Budget {
    /// A budget of `per_minute` requests, allowing bursts of up to `burst`.
    #[must_use]
    pub fn new(per_minute: u32, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            per_minute: f64::from(per_minute.max(1)),
            tokens: capacity,
            capacity,
            updated: now,
            paused_until: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_minute / 60.0).min(self.capacity);
        self.updated = now;
    }

    /// Take a token if one is available now; otherwise how long until one is.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until - now);
            }
            self.paused_until = None;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) * 60.0 / self.per_minute,
            ))
        }
    }

    /// Stop all requests until `now + wait` (after a 429).
    pub fn pause(&mut self, now: Instant, wait: Duration) {
        let until = now + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
        self.tokens = 0.0;
    }

    /// Adapt to `inin-ratelimit-count` / `-allowed` / `-reset` (seconds until the window resets):
    /// never send more than what is left in the server's window.
    pub fn observe(&mut self, now: Instant, count: u32, allowed: u32, reset_secs: u32) {
        self.refill(now);
        let left = f64::from(allowed.saturating_sub(count));
        if left < self.tokens {
            self.tokens = left;
        }
        if allowed > 0 && reset_secs > 0 {
            // Spread what is left over the rest of the window, never faster than configured.
            let rate = left * 60.0 / f64::from(reset_secs);
            if rate < self.per_minute && left < 1.0 {
                self.pause(now, Duration::from_secs(u64::from(reset_secs)));
            }
        }
    }

    /// The configured rate.
    #[must_use]
    pub fn per_minute(&self) -> f64 {
        self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut b = Budget::new(60, 2, t0);
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_ok());
        let wait = b.try_take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert!(b.try_take(t0 + Duration::from_millis(1000)).is_ok());
    }

    #[test]
    fn retry_after_pauses_everyone() {
        let t0 = Instant::now();
        let mut b = Budget::new(300, 10, t0);
        b.pause(t0, Duration::from_secs(3));
        assert_eq!(
            b.try_take(t0 + Duration::from_secs(1)).unwrap_err(),
            Duration::from_secs(2)
        );
        assert!(b.try_take(t0 + Duration::from_secs(4)).is_ok());
    }

    #[test]
    fn headers_shrink_the_budget() {
        let t0 = Instant::now();
        let mut b = Budget::new(300, 50, t0);
        b.observe(t0, 179, 180, 30);
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_err());
        b.observe(t0, 180, 180, 20);
        assert_eq!(b.try_take(t0).unwrap_err(), Duration::from_secs(20));
    }
}
