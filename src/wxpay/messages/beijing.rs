//! Beijing time in the three shapes WeChat Pay writes it: `yyyyMMddHHmmss` (`time_end`,
//! `time_expire`), `yyyy-MM-dd HH:mm:ss` (refund success times, bills) and `yyyyMMdd`
//! (`bill_date`, the date inside generated ids); and the stored Unix seconds as the merchant
//! and the buyer read them (`beijing_display`, the same `yyyy-MM-dd HH:mm:ss`).
//!
//! The one place Beijing time is computed, written and read, for the client, the sandbox,
//! the checkout, the admin and the buyer's pages alike. It lives in `wxpay` because the
//! protocol formats are WeChat's (docs/wechat-pay-v2.md) and `wxpay` may import nothing of
//! ours; everyone else may import `wxpay`'s codec.

use time::format_description::BorrowedFormatItem;
use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Beijing time: every time sent to or received from WeChat Pay is in UTC+8.
pub const BEIJING: UtcOffset = offset!(+8);

const COMPACT: &[BorrowedFormatItem<'_>] = format_description!("[year][month][day][hour][minute][second]");
const DASHED: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
const DATE: &[BorrowedFormatItem<'_>] = format_description!("[year][month][day]");

/// `yyyyMMddHHmmss` in Beijing time (`time_start`, `time_expire`, `time_end`).
pub fn beijing_time(t: OffsetDateTime) -> String {
    // why: formatting a 4-digit-year date with a fixed description cannot fail.
    t.to_offset(BEIJING).format(COMPACT).unwrap_or_default()
}

/// Reads a `yyyyMMddHHmmss` Beijing time (`time_end`, `time_expire`).
pub fn parse_beijing_time(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s, COMPACT).ok().map(|t| t.assume_offset(BEIJING))
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (refund success times, bills, sandbox pages).
pub fn beijing_dashed(t: OffsetDateTime) -> String {
    format_dashed(beijing_local(t))
}

/// A wall-clock time as bills print it: `yyyy-MM-dd HH:mm:ss`.
pub fn format_dashed(t: PrimitiveDateTime) -> String {
    t.format(DASHED).unwrap_or_default()
}

/// Reads `yyyy-MM-dd HH:mm:ss` as a wall-clock time (bills say Beijing without saying so).
pub fn parse_dashed(s: &str) -> Option<PrimitiveDateTime> {
    PrimitiveDateTime::parse(s, DASHED).ok()
}

/// The Beijing wall-clock time of an instant.
pub fn beijing_local(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(BEIJING);
    PrimitiveDateTime::new(t.date(), t.time())
}

/// The Beijing date of an instant (which day's bill a transaction is on).
pub fn beijing_date(t: OffsetDateTime) -> Date {
    t.to_offset(BEIJING).date()
}

/// The instant of stored Unix seconds (the epoch for a value out of range).
fn from_unix(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2024-05-01 12:34:56`: stored Unix seconds in Beijing time, as the merchant and the
/// buyer read times (the admin's pages and CSV, the buyer's receipt).
pub fn beijing_display(unix: i64) -> String {
    beijing_dashed(from_unix(unix))
}

/// The Beijing date of stored Unix seconds (order numbers, the admin's "today").
pub fn beijing_day(unix: i64) -> Date {
    beijing_date(from_unix(unix))
}

/// Midnight at the start of a Beijing day, as Unix seconds.
pub fn beijing_midnight(day: Date) -> i64 {
    day.midnight().assume_offset(BEIJING).unix_timestamp()
}

/// `yyyyMMdd` for `bill_date`.
pub fn bill_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

/// Reads a `yyyyMMdd` `bill_date`.
pub fn parse_bill_date(s: &str) -> Option<Date> {
    Date::parse(s, DATE).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_beijing_shape_round_trips() {
        let t = parse_beijing_time("20240101120512");
        assert_eq!(t.map(beijing_time).as_deref(), Some("20240101120512"));
        assert_eq!(t.map(beijing_dashed).as_deref(), Some("2024-01-01 12:05:12"));
        let local = parse_dashed("2024-01-01 12:05:12");
        assert_eq!(local, t.map(beijing_local));
        assert_eq!(t.map(beijing_date).map(bill_date).as_deref(), Some("20240101"));
        assert_eq!(parse_bill_date("20240101"), t.map(beijing_date));
        assert_eq!(parse_bill_date("2024-01-01"), None);
    }

    #[test]
    fn stored_seconds_read_as_beijing_time_and_a_beijing_day_starts_at_16_00_utc() {
        let t = time::macros::datetime!(2026-11-22 16:30:05 UTC).unix_timestamp();
        assert_eq!(beijing_display(t), "2026-11-23 00:30:05");
        assert_eq!(beijing_day(t), time::macros::date!(2026 - 11 - 23));
        let midnight = beijing_midnight(time::macros::date!(2026 - 11 - 23));
        assert_eq!(midnight, time::macros::datetime!(2026-11-22 16:00 UTC).unix_timestamp());
        assert_eq!(beijing_day(midnight - 1), time::macros::date!(2026 - 11 - 22));
    }
}
