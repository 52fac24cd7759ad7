//! One shared request budget: N requests per minute (300 by default, the client-credentials
//! limit), paused by a 429's `Retry-After`, and never sending more into the server's window
//! than its `inin-ratelimit-*` headers say is left. Pure arithmetic over an injected clock, so
//! it is tested without waiting.
//!
//! A request goes through three steps. [`Budget::reserve`] hands out rate slots one interval
//! apart (a generic cell rate algorithm: reserving before waiting keeps the spacing exact even
//! when the timer wakes a waiter late, where "wait, then try again" loses the lateness on every
//! request, about 8% at 100/s with a millisecond timer). [`Budget::admit`], at the slot, checks
//! pauses and the server's window. [`Budget::answered`] takes each response's rate headers.
//! The budget counts admitted, unanswered requests itself, so the window estimate always
//! subtracts requests the server may not have counted.

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
    /// The server's current window, from `inin-ratelimit-*` headers.
    window: Option<ServerWindow>,
    /// Admitted requests not yet answered.
    out: u32,
    /// Requests that can be out at once (bounds how far answers can arrive out of order).
    concurrency: u32,
    /// The longest a server's window reset is waited for: `inin-ratelimit-reset` is the
    /// server's number, and 4,000,000,000 s must not stop the fetch for a century.
    max_wait: Duration,
}

/// What the headers said of the server's window.
#[derive(Debug, Clone, Copy)]
struct ServerWindow {
    /// The highest count seen in it.
    highest: u32,
    /// What it still allows us to send.
    left: u32,
    /// When it resets.
    reset: Instant,
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
            window: None,
            out: 0,
            concurrency: 1,
            max_wait: crate::fetch::retry::MAX_RETRY_AFTER,
        }
    }

    /// The longest a window reset from the server's headers is waited for (default
    /// [`MAX_RETRY_AFTER`](crate::fetch::retry::MAX_RETRY_AFTER), the cap on `Retry-After`).
    #[must_use]
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Tell the budget how many requests can be out at once (default 1).
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: u32) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Reserve the next free slot; the caller waits the returned time, then asks
    /// [`Budget::admit`].
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let earliest = self.next.checked_sub(self.tolerance).unwrap_or(now);
        let slot = now.max(earliest).max(self.paused_until.unwrap_or(now));
        self.next = self.next.max(slot) + self.interval;
        slot - now
    }

    /// At the reserved slot: send now, or wait the returned time and reserve again (a pause
    /// began, or the server's window is used up). Checked at send time rather than at
    /// reservation so that what the newest response said applies to every waiter.
    ///
    /// # Errors
    /// How long to wait before reserving again.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.paused_until.filter(|u| now < *u) {
            return Err(until - now);
        }
        match &mut self.window {
            Some(w) if now >= w.reset => self.window = None,
            Some(w) if w.left == 0 => return Err(w.reset - now),
            Some(w) => w.left -= 1,
            None => {}
        }
        self.out += 1;
        Ok(())
    }

    /// A request was answered (or failed without an answer: `limits` is `None`). With the
    /// answer's `inin-ratelimit-count` / `-allowed` / `-reset` (seconds), what is left of the
    /// server's window, less the requests still out, is all that [`Budget::admit`] lets
    /// through before it resets.
    ///
    /// Answers arrive out of order, so within a window the highest count seen stands. A count
    /// lower than that by more than the requests that can be out at once cannot be a late
    /// answer: the window has reset (integer-second resets cannot say so themselves).
    pub fn answered(&mut self, now: Instant, limits: Option<(u32, u32, u32)>) {
        self.out = self.out.saturating_sub(1);
        let Some((count, allowed, reset_secs)) = limits else {
            return;
        };
        if allowed == 0 || reset_secs == 0 {
            return;
        }
        let wait = Duration::from_secs(u64::from(reset_secs)).min(self.max_wait);
        let mut reset = now + wait;
        let mut highest = count;
        if let Some(w) = self.window {
            let late = w.highest > count && w.highest - count <= self.concurrency;
            if now < w.reset && (late || count >= w.highest) {
                // The same window. Each answer's `now + reset` is an upper bound on its end
                // (whole seconds, rounded up: the facts' sample says 61 at count 1 of a 60 s
                // window), so the earliest stands. Taking the latest instead waited up to a
                // second too long at every used-up window: 1.9× the floor at 20 requests/s.
                (highest, reset) = (w.highest.max(count), reset.min(w.reset));
            }
        }
        let left = allowed.saturating_sub(highest).saturating_sub(self.out);
        if left == 0 {
            log::debug!("the server's rate window is used up: waiting {wait:?} for it");
        }
        self.window = Some(ServerWindow {
            highest,
            left,
            reset,
        });
    }

    /// Stop all requests until `now + wait` (after a 429).
    pub fn pause(&mut self, now: Instant, wait: Duration) {
        let until = now + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const SEC: Duration = Duration::from_secs(1);

    /// Reserve, wait, and be admitted (or wait and reserve again), as the fetcher does.
    fn send(b: &mut Budget, mut now: Instant) -> Instant {
        loop {
            now += b.reserve(now);
            match b.admit(now) {
                Ok(()) => return now,
                Err(wait) => now += wait,
            }
        }
    }

    #[test]
    fn slots_are_one_interval_apart() {
        let t0 = Instant::now();
        let mut b = Budget::new(60, 1, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), SEC);
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
        assert_eq!(b.reserve(t0), SEC);
        // After a long idle spell the burst is available again, and no more.
        let later = t0 + 60 * SEC;
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), SEC);
    }

    #[test]
    fn retry_after_pauses_everyone() {
        let t0 = Instant::now();
        let mut b = Budget::new(300, 10, t0);
        // A slot reserved before the pause is not admitted during it.
        assert_eq!(b.reserve(t0), Duration::ZERO);
        b.pause(t0, 3 * SEC);
        assert_eq!(b.admit(t0), Err(3 * SEC));
        assert_eq!(b.reserve(t0 + SEC), 2 * SEC);
        assert!(b.admit(t0 + 3 * SEC).is_ok());
    }

    #[test]
    fn a_used_up_server_window_waits_for_its_reset() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000, 10, t0);
        send(&mut b, t0);
        b.answered(t0, Some((178, 180, 30)));
        assert_eq!(send(&mut b, t0), t0);
        assert_eq!(send(&mut b, t0), t0);
        let reset = t0 + 30 * SEC;
        assert_eq!(send(&mut b, t0), reset);
        // The new window is not limited until headers say so again.
        assert_eq!(send(&mut b, reset), reset);
    }

    #[test]
    fn the_earliest_reset_of_a_window_stands() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000, 10, t0);
        send(&mut b, t0);
        b.answered(t0, Some((18, 20, 1)));
        // Half a second later the same window says 1 s again (rounded up): it still ends at
        // t0 + 1 s, as the first answer bounded it.
        let half = t0 + 500 * MS;
        send(&mut b, half);
        b.answered(half, Some((19, 20, 1)));
        assert_eq!(send(&mut b, half), half);
        assert_eq!(send(&mut b, half), t0 + SEC);
    }

    #[test]
    fn requests_still_out_count_against_what_is_left() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000, 10, t0).with_concurrency(8);
        for _ in 0..6 {
            send(&mut b, t0);
        }
        // 3 left in the window and 5 others out: they may use it all.
        b.answered(t0, Some((177, 180, 10)));
        assert_eq!(send(&mut b, t0), t0 + 10 * SEC);
    }

    #[test]
    fn a_late_answer_does_not_raise_the_estimate() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000, 10, t0).with_concurrency(8);
        send(&mut b, t0);
        send(&mut b, t0);
        // The server counted 178 for one request, then an answer counted earlier arrives.
        b.answered(t0, Some((178, 180, 5)));
        b.answered(t0, Some((175, 180, 5)));
        assert_eq!(send(&mut b, t0), t0);
        assert_eq!(send(&mut b, t0), t0);
        assert_eq!(send(&mut b, t0), t0 + 5 * SEC);
    }

    #[test]
    fn a_much_lower_count_is_a_new_window() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000_000, 200, t0).with_concurrency(8);
        send(&mut b, t0);
        b.answered(t0, Some((99, 100, 1)));
        send(&mut b, t0);
        b.answered(t0 + 100 * MS, Some((1, 100, 1)));
        for _ in 0..99 {
            assert_eq!(send(&mut b, t0 + 100 * MS), t0 + 100 * MS);
        }
        assert_eq!(send(&mut b, t0 + 100 * MS), t0 + 1100 * MS);
    }

    #[test]
    fn a_window_reset_past_the_cap_is_waited_only_the_cap() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000, 10, t0).with_max_wait(2 * SEC);
        send(&mut b, t0);
        b.answered(t0, Some((180, 180, 4_000_000_000)));
        assert_eq!(send(&mut b, t0), t0 + 2 * SEC);
        // The default cap is the `Retry-After` cap.
        let mut b = Budget::new(6_000, 10, t0);
        send(&mut b, t0);
        b.answered(t0, Some((180, 180, u32::MAX)));
        assert_eq!(send(&mut b, t0), t0 + crate::fetch::retry::MAX_RETRY_AFTER);
    }

    #[test]
    fn waiters_see_the_newest_window() {
        let t0 = Instant::now();
        let mut b = Budget::new(6_000, 10, t0);
        send(&mut b, t0);
        // Three reserve slots, then the answer says the window has one place left.
        for _ in 0..3 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        b.answered(t0, Some((179, 180, 5)));
        assert!(b.admit(t0).is_ok());
        assert_eq!(b.admit(t0), Err(5 * SEC));
    }
}
