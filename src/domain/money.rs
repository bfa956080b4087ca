//! Money: integer fen, never floats. Parsing of yuan typed by people, and display.

use std::fmt;

/// An amount in fen (分), the unit WeChat Pay speaks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Fen(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not an amount in yuan (like 19.90)")]
    NotAnAmount,
    #[error("at most two decimals (fen)")]
    TooPrecise,
    #[error("amount too large")]
    TooLarge,
}

/// The largest amount we accept anywhere: ¥1,000,000.00 (far above a small shop's order).
pub const MAX_FEN: u64 = 100_000_000;

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn new(fen: u64) -> Result<Fen, MoneyError> {
        if fen > MAX_FEN { Err(MoneyError::TooLarge) } else { Ok(Fen(fen)) }
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// Parses yuan as typed: `19.9`, `19.90`, `¥19.90`, `1,299.00` → fen, exactly.
    ///
    /// why: `19.90 * 100.0` as a float is 1989.9999…; amounts are parsed as text.
    pub fn parse_yuan(input: &str) -> Result<Fen, MoneyError> {
        let s: String = input.trim().trim_start_matches(['¥', '￥']).chars().filter(|c| *c != ',').collect();
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(MoneyError::NotAnAmount);
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::NotAnAmount);
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        if whole.len() > 9 {
            return Err(MoneyError::TooLarge);
        }
        let yuan: u64 =
            if whole.is_empty() { 0 } else { whole.parse().map_err(|_| MoneyError::NotAnAmount)? };
        let cents: u64 = format!("{frac:0<2}").parse().map_err(|_| MoneyError::NotAnAmount)?;
        Fen::new(yuan * 100 + cents)
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).filter(|v| *v <= MAX_FEN).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    pub fn checked_mul(self, qty: u32) -> Option<Fen> {
        self.0.checked_mul(u64::from(qty)).filter(|v| *v <= MAX_FEN).map(Fen)
    }

    /// `12.34` (no currency sign), as bills and CSV exports write yuan.
    pub fn yuan(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// `¥12.34`
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}", self.yuan())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_typed_by_a_merchant_parses_to_exact_fen() {
        assert_eq!(Fen::parse_yuan("19.90"), Ok(Fen(1990)));
        assert_eq!(Fen::parse_yuan("19.9"), Ok(Fen(1990)));
        assert_eq!(Fen::parse_yuan("19"), Ok(Fen(1900)));
        assert_eq!(Fen::parse_yuan("0.01"), Ok(Fen(1)));
        assert_eq!(Fen::parse_yuan(".5"), Ok(Fen(50)));
        assert_eq!(Fen::parse_yuan(" ¥1,299.00 "), Ok(Fen(129900)));
        assert_eq!(Fen::parse_yuan("0.29"), Ok(Fen(29)), "a float would give 28");
    }

    #[test]
    fn amounts_that_are_not_yuan_are_refused() {
        assert_eq!(Fen::parse_yuan("19.999"), Err(MoneyError::TooPrecise));
        assert_eq!(Fen::parse_yuan("-1"), Err(MoneyError::NotAnAmount));
        assert_eq!(Fen::parse_yuan("1e3"), Err(MoneyError::NotAnAmount));
        assert_eq!(Fen::parse_yuan(""), Err(MoneyError::NotAnAmount));
        assert_eq!(Fen::parse_yuan("."), Err(MoneyError::NotAnAmount));
        assert_eq!(Fen::parse_yuan("1.2.3"), Err(MoneyError::NotAnAmount));
        assert_eq!(Fen::parse_yuan("99999999999"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn fen_display_as_yuan_with_two_decimals() {
        assert_eq!(Fen(1234).to_string(), "¥12.34");
        assert_eq!(Fen(5).to_string(), "¥0.05");
        assert_eq!(Fen(100).yuan(), "1.00");
    }

    #[test]
    fn arithmetic_refuses_to_overflow_or_exceed_the_maximum() {
        assert_eq!(Fen(MAX_FEN).checked_add(Fen(1)), None);
        assert_eq!(Fen(MAX_FEN / 2).checked_mul(3), None);
        assert_eq!(Fen(1).checked_sub(Fen(2)), None);
        assert_eq!(Fen(250).checked_mul(4), Some(Fen(1000)));
    }
}
