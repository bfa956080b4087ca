//! Who may try the admin password, and when; and how refusals and failures are reported.
//!
//! - Per client address: at most [`PER_ADDRESS`] (5) attempts a minute.
//! - Across all addresses: once [`GLOBAL_FAILURES`] (30) attempts let through in the last
//!   minute have not signed in, the throttle is on: one attempt a second
//!   ([`THROTTLED_GAP`]) for everyone, the others refused at once, until that minute holds
//!   fewer than 30 again. So a flood spread over many addresses gets about one password
//!   check a second; the merchant with the right password gets in at once or after a retry
//!   when it stops, and while it lasts competes for each second's attempt.
//! - Refusals are counted and logged in summary, at most one line a minute ([`Tally`]); so
//!   are wrong passwords tried while the throttle is on, for the audit log.
//!
//! How many password checks run at once, and in how much memory, is `password::Verifier`'s.
//! Times here are the monotonic clock, not the shop's: a limit is about real seconds, and
//! tests that move the shop's clock must not open or close it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Sign-in attempts allowed per client address in [`WINDOW`].
pub const PER_ADDRESS: usize = 5;
/// Attempts let through in [`WINDOW`], across all addresses, that did not sign in, before
/// the throttle is on.
pub const GLOBAL_FAILURES: usize = 30;
/// While the throttle is on: one attempt per this, for everyone.
pub const THROTTLED_GAP: Duration = Duration::from_secs(1);
/// The window of every limit here, and the shortest gap between two summaries.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long an attempt waits for a turn at the password check before it is refused.
pub const TURN_WAIT: Duration = Duration::from_secs(2);
/// The most addresses the per-address limit remembers.
const MAX_ADDRESSES: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a sign-in was refused (429) before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address made [`PER_ADDRESS`] attempts in the last minute.
    PerAddress,
    /// The throttle is on, and this second's attempt went to another.
    Global,
    /// No turn at the password check came within [`TURN_WAIT`].
    Busy,
}

impl Refusal {
    /// When trying again can succeed (`Retry-After`), in seconds.
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refusal::PerAddress => WINDOW.as_secs(),
            Refusal::Global => THROTTLED_GAP.as_secs(),
            Refusal::Busy => TURN_WAIT.as_secs(),
        }
    }
}

/// An attempt let through to the password check.
#[derive(Debug, Clone, Copy)]
pub struct Admitted {
    at: Instant,
    /// Whether the throttle was on (it was that second's one attempt).
    pub throttled: bool,
}

/// The per-address limit and the throttle across all addresses.
#[derive(Default)]
pub struct LoginLimiter {
    state: Mutex<Limits>,
}

#[derive(Default)]
struct Limits {
    /// Each address's attempts in the last minute (an IPv6 address stands for its /64).
    per_address: HashMap<IpAddr, Vec<Instant>>,
    /// When the latest attempts that have not signed in were let through, oldest first; at
    /// most [`GLOBAL_FAILURES`] of them, which is all the throttle needs to know.
    unsuccessful: VecDeque<Instant>,
    /// While the throttle is on: when the last attempt was let through.
    last_throttled: Option<Instant>,
}

impl Limits {
    fn throttled(&self, now: Instant) -> bool {
        self.unsuccessful.len() >= GLOBAL_FAILURES
            && self.unsuccessful.front().is_some_and(|t| now.duration_since(*t) < WINDOW)
    }

    /// why: bounded memory under a spray of addresses. Addresses with no attempt in the last
    /// minute limit nothing and go first; if fresh ones still fill three quarters of the room,
    /// half the room is kept and the rest forgotten: a spray that wide is held back by the
    /// throttle (one attempt a second for everyone), not by this limit. Pruning down to at
    /// most three quarters keeps its cost spread over the next quarter's new addresses.
    fn make_room(&mut self, now: Instant) {
        if self.per_address.len() < MAX_ADDRESSES {
            return;
        }
        self.per_address.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        if self.per_address.len() > MAX_ADDRESSES * 3 / 4 {
            let mut keep = MAX_ADDRESSES / 2;
            self.per_address.retain(|_, _| {
                keep = keep.saturating_sub(1);
                keep > 0
            });
        }
    }
}

impl LoginLimiter {
    /// Lets an attempt from `ip` at `now` through to the password check, or says why not.
    pub fn admit(&self, ip: Option<IpAddr>, now: Instant) -> Result<Admitted, Refusal> {
        let key = address_key(ip);
        let mut s = lock(&self.state);
        s.make_room(now);
        let times = s.per_address.entry(key).or_default();
        times.retain(|t| now.duration_since(*t) < WINDOW);
        if times.len() >= PER_ADDRESS {
            return Err(Refusal::PerAddress);
        }
        // why counted before the throttle answers: an address the throttle refuses could
        // otherwise try again at once, as often as it likes, and take every second's attempt
        // from the merchant; counted, each address has 5 tries a minute, whatever the answers.
        times.push(now);
        let throttled = s.throttled(now);
        if throttled {
            if s.last_throttled.is_some_and(|t| now.duration_since(t) < THROTTLED_GAP) {
                return Err(Refusal::Global);
            }
            s.last_throttled = Some(now);
        }
        // why it counts as not signed in from the start: a burst arrives all at once, before
        // the first of its checks ends; counting only ended failures would let all of it in.
        s.unsuccessful.push_back(now);
        if s.unsuccessful.len() > GLOBAL_FAILURES {
            s.unsuccessful.pop_front();
        }
        Ok(Admitted { at: now, throttled })
    }

    /// `admitted` signed in: it no longer counts towards the throttle.
    pub fn signed_in(&self, admitted: Admitted) {
        let mut s = lock(&self.state);
        if let Some(i) = s.unsuccessful.iter().rposition(|t| *t == admitted.at) {
            s.unsuccessful.remove(i);
        }
    }
}

/// What an address is limited as: an IPv4 address itself (also when written as IPv6), an
/// IPv6 address as its /64 — one home or server gets a whole /64 and may send from any
/// address in it, so counting each would give it billions of tries.
fn address_key(ip: Option<IpAddr>) -> IpAddr {
    match ip {
        None => IpAddr::from([0, 0, 0, 0]),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
        Some(v4) => v4,
    }
}

/// Sign-ins refused since the last summary, by reason.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub per_address: u64,
    pub global: u64,
    pub busy: u64,
}

impl Refused {
    pub fn total(&self) -> u64 {
        self.per_address + self.global + self.busy
    }
}

/// Refused sign-ins, and wrong passwords tried while the throttle is on, counted and handed
/// out for a summary at most once a minute (the first after a quiet minute at once).
///
/// why: under a flood, one log line or one audit entry per attempt is unbounded log and disk.
#[derive(Default)]
pub struct Tally {
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    refused: Refused,
    logged_at: Option<Instant>,
    throttled_failures: u64,
    audited_at: Option<Instant>,
}

/// Whether a summary last given at `last` may be given again at `now`; notes it if so.
fn due(last: &mut Option<Instant>, now: Instant) -> bool {
    if last.is_some_and(|t| now.duration_since(t) < WINDOW) {
        return false;
    }
    *last = Some(now);
    true
}

impl Tally {
    /// Counts a refusal at `now`; the refusals to log now, with it, when no summary was
    /// logged in the last minute.
    pub fn refused(&self, why: Refusal, now: Instant) -> Option<Refused> {
        let mut c = lock(&self.state);
        match why {
            Refusal::PerAddress => c.refused.per_address += 1,
            Refusal::Global => c.refused.global += 1,
            Refusal::Busy => c.refused.busy += 1,
        }
        due(&mut c.logged_at, now).then(|| std::mem::take(&mut c.refused))
    }

    /// Counts a wrong password tried while the throttle was on; how many of them to record
    /// in the audit log now, when no summary was recorded in the last minute.
    pub fn throttled_failure(&self, now: Instant) -> Option<u64> {
        let mut c = lock(&self.state);
        c.throttled_failures += 1;
        due(&mut c.audited_at, now).then(|| std::mem::take(&mut c.throttled_failures))
    }

    /// The wrong passwords counted but not yet recorded (at a sign-in: the merchant is about
    /// to look at the audit log).
    pub fn take_throttled_failures(&self) -> u64 {
        std::mem::take(&mut lock(&self.state).throttled_failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u32) -> Option<IpAddr> {
        Some(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n)))
    }

    #[test]
    fn the_sixth_attempt_in_a_minute_from_one_address_is_refused() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for _ in 0..PER_ADDRESS {
            assert!(limiter.admit(addr(1), now).is_ok());
        }
        assert_eq!(limiter.admit(addr(1), now).err(), Some(Refusal::PerAddress));
        assert!(limiter.admit(addr(2), now).is_ok(), "another address is not limited");
        assert!(limiter.admit(addr(1), now + WINDOW).is_ok(), "a minute later it may try again");
    }

    #[test]
    fn thirty_attempts_that_did_not_sign_in_throttle_everyone_to_one_a_second_for_a_minute() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        let mut n = 0;
        for _ in 0..GLOBAL_FAILURES {
            n += 1;
            let a = limiter.admit(addr(n), start).expect("under the throttle's threshold");
            assert!(!a.throttled);
        }
        let one = limiter.admit(addr(100), start).expect("this second's one attempt");
        assert!(one.throttled);
        assert_eq!(limiter.admit(addr(101), start).err(), Some(Refusal::Global));
        let half = start + THROTTLED_GAP / 2;
        assert_eq!(limiter.admit(addr(101), half).err(), Some(Refusal::Global));
        assert!(
            limiter.admit(addr(101), start + THROTTLED_GAP).is_ok_and(|a| a.throttled),
            "the next second"
        );
        // A minute after the last 30 were let through, everyone may try again freely.
        let later = start + THROTTLED_GAP + WINDOW;
        for k in 0..3 {
            assert!(limiter.admit(addr(200 + k), later).is_ok_and(|a| !a.throttled));
        }
    }

    #[test]
    fn the_throttle_counts_refused_tries_against_their_address() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        for n in 0..GLOBAL_FAILURES as u32 {
            limiter.admit(addr(n), start).expect("under the threshold");
        }
        limiter.admit(addr(100), start).expect("this second's attempt");
        for _ in 0..PER_ADDRESS {
            assert_eq!(limiter.admit(addr(101), start).err(), Some(Refusal::Global));
        }
        let next = start + THROTTLED_GAP;
        assert_eq!(limiter.admit(addr(101), next).err(), Some(Refusal::PerAddress), "its tries are used up");
        assert!(limiter.admit(addr(102), next).is_ok(), "the next second is another's");
    }

    #[test]
    fn a_sign_in_with_the_right_password_does_not_count_towards_the_throttle() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for n in 0..GLOBAL_FAILURES as u32 {
            let a = limiter.admit(addr(n), now).expect("admitted");
            limiter.signed_in(a);
        }
        assert!(limiter.admit(addr(500), now).is_ok_and(|a| !a.throttled));
        assert!(limiter.admit(addr(501), now).is_ok_and(|a| !a.throttled));
    }

    #[test]
    fn a_spray_of_addresses_is_remembered_in_bounded_memory() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for n in 0..(MAX_ADDRESSES as u32 * 5) {
            let _ = limiter.admit(addr(n), now);
            assert!(lock(&limiter.state).per_address.len() <= MAX_ADDRESSES);
        }
        assert!(lock(&limiter.state).unsuccessful.len() <= GLOBAL_FAILURES);
    }

    #[test]
    fn an_ipv6_address_is_limited_as_its_64_and_an_ipv4_one_the_same_however_written() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for n in 0..PER_ADDRESS as u16 {
            let ip = std::net::Ipv6Addr::new(0x2001, 0xdb8, 7, 9, n, n, n, n + 1);
            assert!(limiter.admit(Some(ip.into()), now).is_ok());
        }
        let same_64 = std::net::Ipv6Addr::new(0x2001, 0xdb8, 7, 9, 0xffff, 1, 2, 3);
        assert_eq!(limiter.admit(Some(same_64.into()), now).err(), Some(Refusal::PerAddress));
        let other_64 = std::net::Ipv6Addr::new(0x2001, 0xdb8, 7, 10, 0, 0, 0, 1);
        assert!(limiter.admit(Some(other_64.into()), now).is_ok());

        let v4 = std::net::Ipv4Addr::new(203, 0, 113, 9);
        for _ in 0..PER_ADDRESS {
            assert!(limiter.admit(Some(v4.into()), now).is_ok());
        }
        assert_eq!(limiter.admit(Some(v4.to_ipv6_mapped().into()), now).err(), Some(Refusal::PerAddress));
    }

    #[test]
    fn refusals_are_summarised_at_most_once_a_minute_the_first_at_once() {
        let tally = Tally::default();
        let start = Instant::now();
        let first = tally.refused(Refusal::Global, start);
        assert_eq!(first, Some(Refused { per_address: 0, global: 1, busy: 0 }), "the first at once");
        for k in 0..100 {
            let why = [Refusal::PerAddress, Refusal::Global, Refusal::Busy][k % 3];
            assert_eq!(tally.refused(why, start + Duration::from_millis(k as u64 * 500)), None);
        }
        let next = tally.refused(Refusal::Busy, start + WINDOW).expect("a minute later");
        assert_eq!(next, Refused { per_address: 34, global: 33, busy: 34 });
        assert_eq!(next.total(), 101);
    }

    #[test]
    fn throttled_failures_are_summarised_at_most_once_a_minute_and_taken_at_a_sign_in() {
        let tally = Tally::default();
        let start = Instant::now();
        assert_eq!(tally.throttled_failure(start), Some(1));
        for k in 1..60 {
            assert_eq!(tally.throttled_failure(start + Duration::from_secs(k)), None);
        }
        assert_eq!(tally.throttled_failure(start + WINDOW), Some(60));
        assert_eq!(tally.throttled_failure(start + WINDOW + THROTTLED_GAP), None);
        assert_eq!(tally.take_throttled_failures(), 1);
        assert_eq!(tally.take_throttled_failures(), 0);
    }
}
