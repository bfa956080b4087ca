//! `clock`: what time it is, for everything that records or compares wall time (orders,
//! events, the reconciler's order lifetimes, the sandbox's timestamps, the admin's records).
//!
//! One type, cheap to clone, passed in at wiring (`app`): the system clock in production, a
//! clock that only moves when told to in tests, so a test can let an order expire without
//! waiting for it. Every stored time is Unix seconds (`i64`), as docs/architecture.md says.
//!
//! Not for pacing: sleeps, rate limits and WeChat's protocol timers in the sandbox keep
//! `Instant` and `tokio::time`, which a set clock must not freeze.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

/// The wall clock. `Clock::system()` reads the system time; `Clock::fixed(t)` stays at `t`
/// until `set` or `advance` moves it, and every clone sees the move.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Unix nanoseconds of a set clock; `None` for the system clock.
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system time (production).
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A clock standing at `t` until moved (tests).
    pub fn fixed(t: OffsetDateTime) -> Clock {
        Clock { fixed: Some(Arc::new(AtomicI64::new(nanos(t)))) }
    }

    /// A clock standing at Unix second `unix` until moved (tests).
    pub fn fixed_unix(unix: i64) -> Clock {
        Clock { fixed: Some(Arc::new(AtomicI64::new(unix.saturating_mul(1_000_000_000)))) }
    }

    /// Whether this clock only moves when told to.
    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }

    /// Now, in UTC.
    pub fn now(&self) -> OffsetDateTime {
        match &self.fixed {
            None => OffsetDateTime::now_utc(),
            Some(at) => OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.load(Ordering::SeqCst)))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }

    /// Now, in Unix seconds: the unit of every stored time.
    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Moves a set clock to `t`. The system clock cannot be set: it is left alone.
    pub fn set(&self, t: OffsetDateTime) {
        if let Some(at) = &self.fixed {
            at.store(nanos(t), Ordering::SeqCst);
        }
    }

    /// Moves a set clock forward by `d`. The system clock moves by itself: it is left alone.
    pub fn advance(&self, d: Duration) {
        if let Some(at) = &self.fixed {
            let d = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
            // why fetch_update: clones in other threads may advance at the same time.
            let _ = at.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(d)));
        }
    }
}

fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_fixed_clock_stands_still_until_advanced_and_every_clone_sees_the_move() {
        let clock = Clock::fixed(datetime!(2024-05-01 12:00 UTC));
        let other = clock.clone();
        assert_eq!(clock.now(), datetime!(2024-05-01 12:00 UTC));
        assert_eq!(clock.unix(), clock.unix(), "it does not tick by itself");
        clock.advance(Duration::from_millis(90 * 60 * 1000 + 250));
        assert_eq!(other.now(), datetime!(2024-05-01 13:30:00.25 UTC));
        assert_eq!(other.unix(), datetime!(2024-05-01 13:30 UTC).unix_timestamp());
        other.set(datetime!(2030-01-01 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2030-01-01 0:00 UTC));
        assert_eq!(Clock::fixed_unix(1_714_564_800).now(), datetime!(2024-05-01 12:00 UTC));
    }

    #[test]
    fn the_system_clock_reads_the_system_time_and_cannot_be_moved() {
        let clock = Clock::system();
        let before = OffsetDateTime::now_utc();
        clock.advance(Duration::from_secs(3600));
        clock.set(datetime!(2000-01-01 0:00 UTC));
        let now = clock.now();
        let after = OffsetDateTime::now_utc();
        assert!(before <= now && now <= after);
        assert!(!clock.is_fixed());
    }
}
