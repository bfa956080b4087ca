//! The kind of an order event: one variant per word the shop writes, stored as that word.
//!
//! why a word and not a number: events are stored as JSON (`store::codec`, version 1) and the
//! words written before this type existed must read back unchanged, so the wire form stays the
//! snake_case word (`paid`, `attempt_started`, `double_payment`, …).
//!
//! why `Other` rather than a decode error: a word this build does not know (written by a later
//! build, or a kind since retired) must not make an order's timeline or the dashboard's
//! attention list unreadable, and the store rewrites events it reads (`resolve_attention`
//! clears the flag and writes the event back), so the word is kept as it was and written back
//! unchanged. Refusing would lose nothing on disk, but would lock the merchant out of the
//! order until a new build; keeping it loses nothing and locks nobody out.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident => $word:literal,)*) => {
        /// What an [`Event`](super::Event) records; `as_str` is its stored word.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($(#[$doc])* $variant,)*
            /// A word no variant has, read from stored data; written back as it was.
            Other(UnknownKind),
        }

        impl EventKind {
            /// The stored word, exactly as written since the first records.
            pub fn as_str(&self) -> &str {
                match self {
                    $(EventKind::$variant => $word,)*
                    EventKind::Other(w) => w.as_str(),
                }
            }

            /// The kind a stored word names; an unknown word is kept in [`EventKind::Other`].
            pub fn from_word(word: &str) -> EventKind {
                match word {
                    $($word => EventKind::$variant,)*
                    other => EventKind::Other(UnknownKind(other.to_owned())),
                }
            }
        }
    };
}

event_kinds! {
    /// The buyer placed the order.
    Placed => "placed",
    /// A new payment attempt (its own `out_trade_no`) was saved.
    AttemptStarted => "attempt_started",
    /// An open attempt was closed (at WeChat, or given up for a newer one).
    AttemptClosed => "attempt_closed",
    /// A `unifiedorder` was made or renewed.
    Prepay => "prepay",
    /// The order is paid.
    Paid => "paid",
    /// A payment already recorded, reported again.
    Duplicate => "duplicate",
    /// A second attempt was paid after the order was: money to give back.
    DoublePayment => "double_payment",
    /// WeChat reports another amount than the order's total.
    AmountMismatch => "amount_mismatch",
    /// A payment for another appid or mch_id.
    MerchantMismatch => "merchant_mismatch",
    /// A report about no order of ours.
    UnknownOrder => "unknown_order",
    /// A report naming no attempt of this order.
    UnknownAttempt => "unknown_attempt",
    /// WeChat reports a payment failed (`result_code=FAIL`).
    PaymentFailed => "payment_failed",
    /// A WeChat call failed.
    WechatError => "wechat_error",
    /// The reconciler could not learn an attempt's state from WeChat.
    WechatUnknown => "wechat_unknown",
    /// The order was closed.
    Closed => "closed",
    /// WeChat refused to close an attempt yet (its first 5 minutes); it stays open.
    CloseDeferred => "close_deferred",
    /// The merchant's *Sync* asked WeChat.
    Synced => "synced",
    /// The day's bill showed a payment we had not recorded.
    OrphanPayment => "orphan_payment",
    /// A finding of the day's reconciliation against WeChat's bill.
    Reconciliation => "reconciliation",
    /// A refund was written, before WeChat is asked.
    RefundRequested => "refund_requested",
    /// WeChat accepted a refund; it settles later.
    RefundAccepted => "refund_accepted",
    /// A refund failed or was refused.
    RefundFailed => "refund_failed",
    /// WeChat gave no usable answer to a refund.
    RefundUnanswered => "refund_unanswered",
    /// A refund report does not match our records.
    RefundMismatch => "refund_mismatch",
    /// WeChat closed a refund (REFUNDCLOSE).
    RefundClosed => "refund_closed",
    /// Any other refund status WeChat reports.
    RefundStatus => "refund_status",
    /// A refund settled and counted on the order.
    Refunded => "refunded",
    /// A double payment was given back (never counted on the order).
    ExtraPaymentRefunded => "extra_payment_refunded",
    /// The merchant shipped the order (carrier and tracking number in the message).
    Shipped => "shipped",
    /// A shipped order was delivered.
    Completed => "completed",
    /// The buyer collected the order (shops without delivery).
    PickedUp => "picked_up",
}

/// A stored kind word that no [`EventKind`] variant has. Only [`EventKind::from_word`] makes
/// one, so a known word always reads as its variant and kinds compare by variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownKind(String);

impl UnknownKind {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EventKind, D::Error> {
        let word = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(EventKind::from_word(&word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_word_reads_as_its_variant_and_writes_back_the_same() {
        let words = [
            "placed",
            "attempt_started",
            "attempt_closed",
            "prepay",
            "paid",
            "duplicate",
            "double_payment",
            "amount_mismatch",
            "merchant_mismatch",
            "unknown_order",
            "unknown_attempt",
            "payment_failed",
            "wechat_error",
            "wechat_unknown",
            "closed",
            "close_deferred",
            "synced",
            "orphan_payment",
            "reconciliation",
            "refund_requested",
            "refund_accepted",
            "refund_failed",
            "refund_unanswered",
            "refund_mismatch",
            "refund_closed",
            "refund_status",
            "refunded",
            "extra_payment_refunded",
            "shipped",
            "completed",
            "picked_up",
        ];
        for word in words {
            let kind = EventKind::from_word(word);
            assert!(!matches!(kind, EventKind::Other(_)), "{word} has a variant");
            assert_eq!(kind.as_str(), word);
            let json = format!("\"{word}\"");
            assert_eq!(serde_json::to_string(&kind).expect("encode"), json);
            assert_eq!(serde_json::from_str::<EventKind>(&json).expect("decode"), kind);
        }
        assert_eq!(EventKind::from_word("double_payment"), EventKind::DoublePayment);
    }

    #[test]
    fn an_unknown_word_is_kept_and_written_back_unchanged() {
        let kind: EventKind = serde_json::from_str("\"loyalty_points\"").expect("decode");
        assert!(matches!(&kind, EventKind::Other(w) if w.as_str() == "loyalty_points"));
        assert_eq!(kind.to_string(), "loyalty_points");
        assert_eq!(serde_json::to_string(&kind).expect("encode"), "\"loyalty_points\"");
    }
}
