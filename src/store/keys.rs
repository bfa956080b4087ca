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
