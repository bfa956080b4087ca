//! `log_summary`: log lines that stay bounded however many requests cause them.
//!
//! A [`Summary`] stands for one kind of line ("payment notification rejected") and counts its
//! events by reason, a `&'static str` ("bad signature"). Per reason it writes at most one line
//! a minute:
//!
//! - the first event after a quiet minute is logged at once, with its detail, so a single real
//!   problem is seen right away;
//! - the events after it within the minute are only counted; when the minute is up, one line
//!   tells how many there were ("2000 payment notifications rejected in the last minute: bad
//!   signature"), and the next minute counts afresh;
//! - a minute with no event ends the burst: the next event is logged at once again.
//!
//! Summary lines are written by whichever comes first: the next event of that reason after
//! the minute, or the tick ([`run_ticks`], every 5 s from liftoff, so a burst that stops still
//! gets its line within 5 s of its minute), or [`flush_all`] when the server has stopped (so
//! one cut short by a shutdown is not lost).
//!
//! Every summary is a `static` where it is used: the log is the process's, so is its limit
//! (each server in a test process shares them, which only merges their counts). The rule
//! itself is [`Counter`], which takes the time as an argument; its tests move time by hand.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// At most one line per reason in this long.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How often [`run_ticks`] writes the summaries that are due.
pub const TICK: Duration = Duration::from_secs(5);

/// The most of a first line's detail that is written, in bytes.
pub const MAX_DETAIL: usize = 300;

/// The level of a summary's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
}

/// A line the counter says to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// The first event after a quiet window: write it with its detail.
    First(&'static str),
    /// `count` events of this reason in the window now closed (the first one's included when it
    /// opened the window).
    Summary { reason: &'static str, count: u64 },
}

/// One reason's window.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    /// Events since `start`.
    events: u64,
    /// Of those, how many no line has told yet.
    untold: u64,
}

/// The rule, without a clock or a logger: which lines to write for events at given instants.
/// Memory is one entry per reason seen in the last window (reasons are `&'static str`: a fixed
/// set).
#[derive(Debug)]
pub struct Counter {
    window: Duration,
    reasons: Vec<(&'static str, Window)>,
}

impl Counter {
    pub const fn new(window: Duration) -> Counter {
        Counter { window, reasons: Vec::new() }
    }

    /// An event of `reason` at `now`: the line to write, if any.
    pub fn note(&mut self, reason: &'static str, now: Instant) -> Option<Line> {
        let window = self.window;
        let Some((_, w)) = self.reasons.iter_mut().find(|(r, _)| *r == reason) else {
            self.reasons.push((reason, Window { start: now, events: 1, untold: 0 }));
            return Some(Line::First(reason));
        };
        if now.saturating_duration_since(w.start) < window {
            w.events += 1;
            w.untold += 1;
            return None;
        }
        if w.untold == 0 {
            *w = Window { start: now, events: 1, untold: 0 };
            return Some(Line::First(reason));
        }
        // why this event goes to the next window untold: a line is written now, and the next
        // one may come only a window later.
        let count = w.events;
        *w = Window { start: now, events: 1, untold: 1 };
        Some(Line::Summary { reason, count })
    }

    /// The summaries due at `now` (windows over with events untold); forgets reasons quiet for
    /// a whole window, so their next event is told at once.
    pub fn tick(&mut self, now: Instant) -> Vec<Line> {
        let window = self.window;
        let mut lines = Vec::new();
        self.reasons.retain_mut(|(reason, w)| {
            if now.saturating_duration_since(w.start) < window {
                return true;
            }
            if w.untold == 0 {
                return false;
            }
            lines.push(Line::Summary { reason, count: w.events });
            *w = Window { start: now, events: 0, untold: 0 };
            true
        });
        lines
    }

    /// Every summary still untold, due or not (at shutdown); then starts afresh.
    pub fn flush(&mut self) -> Vec<Line> {
        let lines = self
            .reasons
            .iter()
            .filter(|(_, w)| w.untold > 0)
            .map(|(reason, w)| Line::Summary { reason, count: w.events })
            .collect();
        self.reasons.clear();
        lines
    }
}

/// One kind of log line, bounded by a [`Counter`] over the real time. Declare it `static`.
pub struct Summary {
    level: Level,
    /// The line for one event ("payment notification rejected").
    one: &'static str,
    /// The same for many ("payment notifications rejected").
    many: &'static str,
    counter: Mutex<Counter>,
    registered: AtomicBool,
}

/// Every summary that has counted something, for the tick and the final flush.
static REGISTRY: Mutex<Vec<&'static Summary>> = Mutex::new(Vec::new());

impl Summary {
    pub const fn new(level: Level, one: &'static str, many: &'static str) -> Summary {
        Summary {
            level,
            one,
            many,
            counter: Mutex::new(Counter::new(WINDOW)),
            registered: AtomicBool::new(false),
        }
    }

    pub const fn error(one: &'static str, many: &'static str) -> Summary {
        Summary::new(Level::Error, one, many)
    }

    pub const fn warn(one: &'static str, many: &'static str) -> Summary {
        Summary::new(Level::Warn, one, many)
    }

    pub const fn info(one: &'static str, many: &'static str) -> Summary {
        Summary::new(Level::Info, one, many)
    }

    /// Counts an event of `reason`; logs it with `detail` when it is the first after a quiet
    /// minute, or a summary when one is due. `detail` is only built when it is logged.
    pub fn note(&'static self, reason: &'static str, detail: impl FnOnce() -> String) {
        if !self.registered.swap(true, Ordering::Relaxed) {
            lock(&REGISTRY).push(self);
        }
        let line = lock(&self.counter).note(reason, Instant::now());
        match line {
            Some(Line::First(reason)) => self.write_first(reason, &detail()),
            Some(line) => self.write(line),
            None => {}
        }
    }

    fn tick(&self, now: Instant) {
        let lines = lock(&self.counter).tick(now);
        lines.into_iter().for_each(|l| self.write(l));
    }

    fn flush(&self) {
        let lines = lock(&self.counter).flush();
        lines.into_iter().for_each(|l| self.write(l));
    }

    fn write_first(&self, reason: &str, detail: &str) {
        let one = self.one;
        // why cut: a detail may quote what a client sent (an element name, a URL).
        let detail = cut(detail, MAX_DETAIL);
        let note = "further ones within a minute are counted, then summarised";
        match self.level {
            Level::Error => tracing::error!(%detail, "{one}: {reason} ({note})"),
            Level::Warn => tracing::warn!(%detail, "{one}: {reason} ({note})"),
            Level::Info => tracing::info!(%detail, "{one}: {reason} ({note})"),
        }
    }

    fn write(&self, line: Line) {
        let text = self.text(line);
        match self.level {
            Level::Error => tracing::error!("{text}"),
            Level::Warn => tracing::warn!("{text}"),
            Level::Info => tracing::info!("{text}"),
        }
    }

    /// The words of a line (without a first line's detail).
    pub fn text(&self, line: Line) -> String {
        match line {
            Line::First(reason) => format!("{}: {reason}", self.one),
            Line::Summary { reason, count: 1 } => format!("1 {} in the last minute: {reason}", self.one),
            Line::Summary { reason, count } => format!("{count} {} in the last minute: {reason}", self.many),
        }
    }
}

/// Writes the summaries that are due, every [`TICK`], until `stop` completes (Rocket's
/// shutdown). Several servers in one process may each run this: a summary is written once.
pub async fn run_ticks(stop: impl std::future::Future<Output = ()>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = every.tick() => tick_all(Instant::now()),
        }
    }
}

fn tick_all(now: Instant) {
    let all: Vec<&'static Summary> = lock(&REGISTRY).clone();
    all.into_iter().for_each(|s| s.tick(now));
}

/// Writes every summary still untold (once the server has stopped).
pub fn flush_all() {
    let all: Vec<&'static Summary> = lock(&REGISTRY).clone();
    all.into_iter().for_each(|s| s.flush());
}

/// `text` cut to at most `max` bytes on a character, with `…` when it was longer.
fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD_SIGN: &str = "bad signature";
    const BAD_XML: &str = "malformed XML";

    /// A counter with a one-minute window and a way to name instants: `at(61.0)`.
    fn counter() -> (Counter, impl Fn(f64) -> Instant) {
        let zero = Instant::now();
        (Counter::new(WINDOW), move |secs| zero + Duration::from_secs_f64(secs))
    }

    #[test]
    fn the_first_event_is_told_at_once_and_a_burst_after_it_in_one_summary_a_minute() {
        let (mut c, at) = counter();
        assert_eq!(c.note(BAD_SIGN, at(0.0)), Some(Line::First(BAD_SIGN)));
        for i in 1..2000 {
            assert_eq!(c.note(BAD_SIGN, at(f64::from(i) * 0.01)), None, "event {i} is only counted");
        }
        assert!(c.tick(at(59.9)).is_empty(), "nothing before the minute is up");
        assert_eq!(c.tick(at(60.0)), vec![Line::Summary { reason: BAD_SIGN, count: 2000 }]);
        assert!(c.tick(at(65.0)).is_empty(), "told once");
    }

    #[test]
    fn a_burst_that_stops_gets_its_summary_from_the_tick_and_the_next_event_after_a_quiet_minute_is_told_at_once()
     {
        let (mut c, at) = counter();
        assert_eq!(c.note(BAD_SIGN, at(0.0)), Some(Line::First(BAD_SIGN)));
        assert_eq!(c.note(BAD_SIGN, at(1.0)), None);
        assert_eq!(c.note(BAD_SIGN, at(2.0)), None);
        assert_eq!(c.tick(at(61.0)), vec![Line::Summary { reason: BAD_SIGN, count: 3 }]);
        assert!(c.tick(at(121.0)).is_empty(), "a quiet minute writes nothing …");
        assert_eq!(c.note(BAD_SIGN, at(130.0)), Some(Line::First(BAD_SIGN)), "… and ends the burst");
    }

    #[test]
    fn a_flood_that_goes_on_writes_one_line_a_minute_with_the_minutes_count() {
        let (mut c, at) = counter();
        let mut lines = Vec::new();
        // 10 events a second for five minutes, the tick every 5 s.
        for tenth in 0..3000u32 {
            let now = at(f64::from(tenth) / 10.0);
            lines.extend(c.note(BAD_SIGN, now));
            if tenth % 50 == 0 {
                lines.extend(c.tick(now));
            }
        }
        lines.extend(c.flush());
        assert_eq!(lines[0], Line::First(BAD_SIGN));
        assert_eq!(lines.len(), 6, "one line a minute, and what was left at the end: {lines:?}");
        let total: u64 = lines[1..]
            .iter()
            .map(|l| match l {
                Line::Summary { count, .. } => *count,
                Line::First(_) => 0,
            })
            .sum();
        assert_eq!(total, 3000, "every event is counted once");
    }

    #[test]
    fn without_a_tick_the_next_event_after_the_minute_writes_the_summary_and_is_counted_in_the_next() {
        let (mut c, at) = counter();
        c.note(BAD_SIGN, at(0.0));
        c.note(BAD_SIGN, at(10.0));
        assert_eq!(c.note(BAD_SIGN, at(70.0)), Some(Line::Summary { reason: BAD_SIGN, count: 2 }));
        assert_eq!(c.note(BAD_SIGN, at(80.0)), None, "within a minute of that line");
        assert_eq!(c.flush(), vec![Line::Summary { reason: BAD_SIGN, count: 2 }]);
        assert!(c.flush().is_empty());
    }

    #[test]
    fn each_reason_has_its_own_window() {
        let (mut c, at) = counter();
        assert_eq!(c.note(BAD_SIGN, at(0.0)), Some(Line::First(BAD_SIGN)));
        assert_eq!(c.note(BAD_XML, at(1.0)), Some(Line::First(BAD_XML)), "another reason is told at once");
        c.note(BAD_XML, at(2.0));
        assert_eq!(
            c.tick(at(60.5)),
            Vec::new(),
            "the bad signature told no more; the XML's minute is not up"
        );
        assert_eq!(c.tick(at(61.0)), vec![Line::Summary { reason: BAD_XML, count: 2 }]);
    }

    #[test]
    fn a_long_detail_is_cut_on_a_character() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("签名错误", 7), "签名…");
    }

    #[test]
    fn a_summary_line_says_how_many_in_the_last_minute_and_why() {
        static S: Summary = Summary::warn("payment notification rejected", "payment notifications rejected");
        assert_eq!(
            S.text(Line::Summary { reason: BAD_SIGN, count: 2000 }),
            "2000 payment notifications rejected in the last minute: bad signature"
        );
        assert_eq!(
            S.text(Line::Summary { reason: BAD_SIGN, count: 1 }),
            "1 payment notification rejected in the last minute: bad signature"
        );
        assert_eq!(S.text(Line::First(BAD_XML)), "payment notification rejected: malformed XML");
    }
}
