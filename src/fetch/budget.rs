//! One shared request budget: N requests per minute (300 by default, the client-credentials
//! limit), paused by a 429's `Retry-After` and by `inin-ratelimit-*` headers saying the server's
//! window is used up. Pure arithmetic over an injected clock, so it is tested without waiting.
//!
//! Callers reserve a slot and then wait for it (a generic cell rate algorithm). Reserving before
//! waiting keeps slots exactly one interval apart even when the timer wakes a waiter late; a
//! "wait, then try again" bucket loses the lateness on every request (about 8% at 100/s with a
//! millisecond timer).

use std::time::{Duration, Instant};

/// The budget.
#[derive(Debug, Clone)]
pub struct Budget {
    interval: Duration,
    /// How far ahead of the schedule a request may go (bursts of `burst` requests).
    tolerance: Duration,
    /// When the schedule is next free: the slot after the last one handed out.
    next: Instant,
    /// While set, nothing may be sent before this time (a 429's `Retry-After`).
    paused_until: Option<Instant>,
}

impl Budget {
    /// A budget of `per_minute` requests, allowing bursts of up to `burst`.
    #[must_use]
    pub fn new(per_minute: u32, burst: u32, now: Instant) -> Self {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        Self {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            next: now,
            paused_until: None,
        }
    }

    /// Reserve the next free slot; the caller sends after waiting the returned time.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let earliest = self.next.checked_sub(self.tolerance).unwrap_or(now);
        let slot = now.max(earliest).max(self.paused_until.unwrap_or(now));
        self.next = self.next.max(slot) + self.interval;
        slot - now
    }

    /// Whether a pause began after a slot was reserved (the holder must reserve again).
    #[must_use]
    pub fn is_paused(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|u| now < u)
    }

    /// Stop all requests until `now + wait` (after a 429).
    pub fn pause(&mut self, now: Instant, wait: Duration) {
        let until = now + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
    }

    /// Adapt to `inin-ratelimit-count` / `-allowed` / `-reset` (seconds until the window
    /// resets): when the server's window has nothing left, wait for it to reset instead of
    /// collecting 429s.
    pub fn observe(&mut self, now: Instant, count: u32, allowed: u32, reset_secs: u32) {
        if allowed > 0 && count >= allowed && reset_secs > 0 {
            log::debug!("the server's rate window is used up: pausing {reset_secs} s");
            self.pause(now, Duration::from_secs(u64::from(reset_secs)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn slots_are_one_interval_apart() {
        let t0 = Instant::now();
        let mut b = Budget::new(60, 1, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), Duration::from_secs(1));
        assert_eq!(b.reserve(t0 + 1500 * MS), 500 * MS);
    }

    #[test]
    fn a_late_wakeup_does_not_slow_the_schedule() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000, 1, t0);
        // Every caller reserves, then wakes 1 ms late; 100 requests still take 100 intervals.
        let mut now = t0;
        for _ in 0..100 {
            now += b.reserve(now) + MS;
        }
        assert_eq!(now - t0, 99 * 10 * MS + MS);
    }

    #[test]
    fn bursts_up_to_the_limit_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Budget::new(60, 2, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), Duration::from_secs(1));
        // After a long idle spell the burst is available again, and no more.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_pauses_everyone() {
        let t0 = Instant::now();
        let mut b = Budget::new(300, 10, t0);
        b.pause(t0, Duration::from_secs(3));
        assert!(b.is_paused(t0 + Duration::from_secs(1)));
        assert_eq!(
            b.reserve(t0 + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert!(!b.is_paused(t0 + Duration::from_secs(3)));
    }

    #[test]
    fn a_used_up_server_window_pauses_until_it_resets() {
        let t0 = Instant::now();
        let mut b = Budget::new(300, 1, t0);
        b.observe(t0, 179, 180, 30);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        b.observe(t0, 180, 180, 20);
        assert_eq!(b.reserve(t0), Duration::from_secs(20));
    }
}
