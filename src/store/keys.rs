//! Key layouts. Big-endian numbers so that sled's byte order is time order.

use crate::domain::OrderStatus;

pub fn status_byte(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Pending => 1,
        OrderStatus::Paid => 2,
        OrderStatus::Closed => 3,
        OrderStatus::Refunded => 4,
        OrderStatus::PartiallyRefunded => 5,
    }
}

pub fn status_of_byte(b: u8) -> Option<OrderStatus> {
    [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Closed,
        OrderStatus::Refunded,
        OrderStatus::PartiallyRefunded,
    ]
    .into_iter()
    .find(|s| status_byte(*s) == b)
}

/// `status · created_at · order_no`: orders of one status, oldest first.
pub fn status(status: OrderStatus, created_at: i64, no: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + no.len());
    k.push(status_byte(status));
    k.extend_from_slice(&time_key(created_at));
    k.extend_from_slice(no.as_bytes());
    k
}

pub fn order_no_of_status_key(key: &[u8]) -> String {
    String::from_utf8_lossy(key.get(9..).unwrap_or_default()).into_owned()
}

/// why: a sign-flipped big-endian i64 sorts like the number, negatives included.
fn time_key(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// `order_no · 0 · id`: an order's events in the order they happened.
pub fn event(no: &str, id: u64) -> Vec<u8> {
    let mut k = events_prefix(no);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn events_prefix(no: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(no.len() + 9);
    k.extend_from_slice(no.as_bytes());
    k.push(0);
    k
}

/// `at · id`: the attention list in time order.
pub fn attention(at: i64, id: u64) -> Vec<u8> {
    let mut k = time_key(at).to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

// ---- listing indexes (time, channel, phone) ------------------------------------------------
//
// Each listing key ends in the same suffix `created_at · order_no`, so that any two of them
// can be walked side by side (newest first) and a cursor means the same in every index.

/// `created_at · order_no`: the suffix shared by every listing index.
pub fn suffix(created_at: i64, no: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + no.len());
    k.extend_from_slice(&time_key(created_at));
    k.extend_from_slice(no.as_bytes());
    k
}

/// The smallest suffix at `t` (every order created at or after `t` sorts at or above it).
pub fn time_floor(t: i64) -> Vec<u8> {
    time_key(t).to_vec()
}

/// The order number at the end of a listing suffix.
pub fn order_no_of_suffix(suffix: &[u8]) -> String {
    String::from_utf8_lossy(suffix.get(8..).unwrap_or_default()).into_owned()
}

/// The creation time at the start of a listing suffix.
pub fn time_of_suffix(suffix: &[u8]) -> Option<i64> {
    let b: [u8; 8] = suffix.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

pub fn stage_byte(stage: crate::domain::Stage) -> u8 {
    use crate::domain::Stage;
    match stage {
        Stage::ToShip => 1,
        Stage::Shipped => 2,
        Stage::Completed => 3,
        Stage::PickedUp => 4,
    }
}

/// `stage · created_at · order_no`: orders by where they stand after payment.
pub fn stage(stage: crate::domain::Stage, created_at: i64, no: &str) -> Vec<u8> {
    let mut k = vec![stage_byte(stage)];
    k.extend_from_slice(&suffix(created_at, no));
    k
}

pub fn channel_byte(channel: crate::domain::Channel) -> u8 {
    use crate::domain::Channel;
    match channel {
        Channel::Jsapi => 1,
        Channel::Mweb => 2,
        Channel::Native => 3,
        Channel::OpenInWechat => 4,
    }
}

/// `channel · created_at · order_no`.
pub fn channel(channel: crate::domain::Channel, created_at: i64, no: &str) -> Vec<u8> {
    let mut k = vec![channel_byte(channel)];
    k.extend_from_slice(&suffix(created_at, no));
    k
}

/// `phone digits · 0 · created_at · order_no`: the 0 ends the phone, so a prefix scan of
/// one number never reaches a longer number that starts with it.
pub fn phone(digits: &str, created_at: i64, no: &str) -> Vec<u8> {
    let mut k = phone_prefix(digits);
    k.extend_from_slice(&suffix(created_at, no));
    k
}

pub fn phone_prefix(digits: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(digits.len() + 1 + 8 + 16);
    k.extend_from_slice(digits.as_bytes());
    k.push(0);
    k
}

/// A phone number as the index keeps it: digits only, without China's country code in front
/// of an 11-digit mobile number, so `+86 138-0013-8000` and `13800138000` are one key.
pub fn phone_digits(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let local = ["0086", "86"]
        .iter()
        .find_map(|cc| digits.strip_prefix(cc).filter(|rest| rest.len() == 11 && rest.starts_with('1')))
        .unwrap_or(&digits);
    if local.len() < 5 { None } else { Some(local.to_owned()) }
}
