//! Which failures are worth retrying, and how long to wait (API-FACTS §6; the SDKs retry 429
//! honouring `Retry-After`, 5xx except 501, and connection errors).

use std::time::Duration;

/// What to do after a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again, after at least this long when the server said so.
    Transient(Option<Duration>),
    /// Do not retry.
    Fatal,
}

/// The longest `Retry-After` honoured; beyond it the request fails (the Java SDK gives up above 180 s).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(180);

/// Classify an HTTP status (or `None` for a connection error, timeout or truncated body).
#[must_use]
pub fn classify(status: Option<u16>, retry_after: Option<Duration>) -> Verdict {
    classify_capped(status, retry_after, MAX_RETRY_AFTER)
}

/// [`classify`] with the longest `Retry-After` honoured given (`FetchOptions::max_wait`).
#[must_use]
pub fn classify_capped(
    status: Option<u16>,
    retry_after: Option<Duration>,
    max_wait: Duration,
) -> Verdict {
    match status {
        None => Verdict::Transient(None),
        Some(429) => match retry_after {
            Some(d) if d > max_wait => Verdict::Fatal,
            d => Verdict::Transient(d),
        },
        Some(501) => Verdict::Fatal,
        // A 5xx's `Retry-After` past the cap is not waited for: the backoff decides.
        Some(s) if (500..600).contains(&s) => {
            Verdict::Transient(retry_after.filter(|d| *d <= max_wait))
        }
        Some(408) => Verdict::Transient(None),
        Some(_) => Verdict::Fatal,
    }
}

/// Parse `Retry-After` seconds.
#[must_use]
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Exponential backoff with full jitter: `random(0..=min(cap, base·2^attempt))`, but never less
/// than the server's `Retry-After`. `unit` is a random number in `[0, 1)`.
#[must_use]
pub fn backoff(
    attempt: u32,
    retry_after: Option<Duration>,
    base: Duration,
    cap: Duration,
    unit: f64,
) -> Duration {
    let exp = base
        .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
        .min(cap);
    let jittered = exp.mul_f64(unit.clamp(0.0, 1.0));
    retry_after.map_or(jittered, |r| r.max(jittered))
}

/// A fresh draw in `[0, 1)` for [`backoff`]'s `unit`. Clients that fail together retry apart
/// only if their draws are independent: a clock's nanoseconds are not (coarse clocks repeat
/// them, and clients started together read similar ones), so a seeded generator is used.
/// Spreading retries needs no cryptographic randomness.
#[cfg(feature = "fetch")]
#[must_use]
pub fn jitter() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retried_statuses() {
        let retried: Vec<u16> = (400..600)
            .filter(|&s| matches!(classify(Some(s), None), Verdict::Transient(_)))
            .collect();
        let expected: Vec<u16> = [408, 429]
            .into_iter()
            .chain((500..600).filter(|&s| s != 501))
            .collect();
        assert_eq!(retried, expected);
        assert_eq!(classify(None, None), Verdict::Transient(None));
        assert_eq!(classify(Some(403), None), Verdict::Fatal);
        assert_eq!(classify(Some(401), None), Verdict::Fatal);
        assert_eq!(
            classify(Some(429), Some(Duration::from_secs(3))),
            Verdict::Transient(Some(Duration::from_secs(3)))
        );
        assert_eq!(
            classify(Some(429), Some(Duration::from_secs(600))),
            Verdict::Fatal
        );
        // The cap is the caller's, and a 5xx never waits past it.
        let cap = Duration::from_secs(2);
        assert_eq!(
            classify_capped(Some(429), Some(Duration::from_secs(3)), cap),
            Verdict::Fatal
        );
        assert_eq!(
            classify_capped(Some(503), Some(Duration::from_secs(4_000_000_000)), cap),
            Verdict::Transient(None)
        );
        assert_eq!(
            classify_capped(Some(503), Some(cap), cap),
            Verdict::Transient(Some(cap))
        );
    }

    #[test]
    fn backoff_honours_retry_after_and_caps() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(5));
        assert_eq!(backoff(0, None, base, cap, 0.999_999).as_millis(), 99);
        assert_eq!(backoff(10, None, base, cap, 0.999_999).as_millis(), 4999);
        assert_eq!(
            backoff(3, Some(Duration::from_secs(2)), base, cap, 0.1),
            Duration::from_secs(2)
        );
        assert_eq!(backoff(3, None, base, cap, 0.0), Duration::ZERO);
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    #[cfg(feature = "fetch")]
    fn jitter_draws_differ_and_stay_in_range() {
        let draws: Vec<f64> = (0..1000).map(|_| jitter()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)), "{draws:?}");
        assert!(
            draws.windows(2).all(|w| w[0] != w[1]),
            "consecutive draws repeat"
        );
        // Spread over the range, not bunched: each tenth holds some (1000 draws, ~100 each).
        for tenth in 0..10 {
            let lo = f64::from(tenth) / 10.0;
            let n = draws.iter().filter(|u| (lo..lo + 0.1).contains(*u)).count();
            assert!(n > 30, "{n} draws in [{lo}, {lo} + 0.1)");
        }
        // Different threads draw differently (each has its own generator).
        let other = std::thread::spawn(|| (0..8).map(|_| jitter()).collect::<Vec<f64>>())
            .join()
            .unwrap();
        assert_ne!(other, draws[..8]);
        let base = Duration::from_millis(100);
        let waits: Vec<Duration> = (0..100)
            .map(|_| backoff(3, None, base, Duration::from_secs(10), jitter()))
            .collect();
        assert!(waits.iter().all(|w| *w < Duration::from_millis(800)));
        assert!(waits.windows(2).any(|w| w[0] != w[1]));
    }
}
