//! Giving back a double payment: an attempt WeChat also reports paid after another attempt
//! of the order was counted (`Applied::DoublePayment`).
//!
//! The admin's "Refund the extra payment" refunds that attempt whole through the same refund
//! records as ordinary refunds (`refund_start`): written before WeChat is called under its
//! own `out_refund_no`, settled by the refund notification or refundquery, resent by Retry and
//! the reconciler. It never counts against the order — status, `refunded` and what is left to
//! refund stay as they are — because the merchant still holds the buyer's one counted payment.
//! Once WeChat reports it settled, the double payment leaves the attention list.

use crate::domain::refund::{self, ExtraRefund, Refund};
use crate::domain::{Event, EventKind, EventSource, Fen};

use super::refund_start::{NotStarted, Started};
use super::{Checkout, CheckoutError, Refused};

/// The reason kept with the refund and sent to WeChat (the buyer's refund message shows it).
pub const REASON: &str = "重复支付退款";

impl Checkout {
    /// Gives back the double payment `out_trade_no` of the order, whole: writes the refund
    /// (Requested, its own `out_refund_no`), then asks WeChat. When its refund was already
    /// started (a double click, a stale page) that refund comes back and nothing is sent.
    /// `Err(Invalid)` when the attempt is not a double payment (nothing written or sent).
    pub async fn request_extra_refund(
        &self,
        order_no: &str,
        out_trade_no: &str,
    ) -> Result<Started, CheckoutError> {
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        let at = self.now();
        let decided = self.store.insert_refund(order_no, |existing| {
            let amount = match refund::may_refund_extra(&order, existing, out_trade_no) {
                Ok(ExtraRefund::Start(amount)) => amount,
                Ok(ExtraRefund::Started(r)) => return Err(NotStarted::Again(Box::new(r.clone()))),
                Err(d) => return Err(NotStarted::Denied(d.into())),
            };
            let no = refund::out_refund_no(order_no, existing.len() + 1)
                .ok_or(NotStarted::Denied(Refused::NoRefundNumber))?;
            Ok(Refund::new(no, order_no, amount, REASON, at).of_extra_payment(out_trade_no))
        })?;
        let refund = match decided {
            Ok(r) => r,
            Err(NotStarted::Again(earlier)) => return Ok(Started { refund: *earlier, repeated: true }),
            Err(NotStarted::Denied(why)) => return Err(why.into()),
        };
        let message = format!(
            "refund {} of {} requested to give back double payment {out_trade_no}; the order's own payment is unchanged",
            refund.out_refund_no, refund.amount
        );
        self.note_refund(order_no, Event::new(at, EventSource::Admin, EventKind::RefundRequested, message))
            .await?;
        let refund = self.send_refund(&order, refund).await?;
        Ok(Started { refund, repeated: false })
    }

    /// WeChat settled refund `event` of the double payment `out_trade_no`: its timeline entry
    /// (once, whichever of notification and refundquery comes first) and the double payment
    /// off the attention list. Not flushed: the caller flushes.
    pub(super) fn note_extra_given_back(
        &self,
        order_no: &str,
        out_trade_no: &str,
        out_refund_no: &str,
        event: Event,
    ) -> Result<(), CheckoutError> {
        let history = self.store.events(order_no)?;
        if !already_given_back(&history, out_refund_no) {
            self.store.update_order(order_no, |_| ((), vec![event.clone()]))?;
        }
        self.resolve_double_payment(order_no, out_trade_no)?;
        Ok(())
    }

    /// Takes the reports of the double payment `out_trade_no` off the attention list (it has
    /// been given back). `true` when something changed. Not flushed: the caller flushes.
    pub(super) fn resolve_double_payment(
        &self,
        order_no: &str,
        out_trade_no: &str,
    ) -> Result<bool, CheckoutError> {
        Ok(self.store.resolve_attention(order_no, |e| names_double_payment(e, out_trade_no))? > 0)
    }
}

/// The timeline entry of a settled refund of the double payment `out_trade_no`.
pub(super) fn given_back_event(
    out_refund_no: &str,
    amount: Fen,
    out_trade_no: &str,
    refund_id: Option<&str>,
    source: EventSource,
    at: i64,
) -> Event {
    let id = refund_id.unwrap_or("?");
    Event::new(
        at,
        source,
        EventKind::ExtraPaymentRefunded,
        format!(
            "refund {out_refund_no} of {amount} gave back double payment {out_trade_no} (WeChat {id}); the order's own payment is unchanged"
        ),
    )
}

/// Whether the timeline already tells that refund `out_refund_no` gave a double payment back.
pub(super) fn already_given_back(history: &[Event], out_refund_no: &str) -> bool {
    let head = format!("refund {out_refund_no} ");
    history.iter().any(|e| e.kind == EventKind::ExtraPaymentRefunded && e.message.starts_with(&head))
}

/// Whether `e` reports `out_trade_no` as a double payment: from a notification or query
/// (`apply`), or from the day's reconciliation against WeChat's bill.
fn names_double_payment(e: &Event, out_trade_no: &str) -> bool {
    let about = e.kind == EventKind::DoublePayment
        || (e.kind == EventKind::Reconciliation && e.message.contains("double payment"));
    // why whole words: `N-1` must not match an event about `N-12`.
    let word = |c: char| c.is_ascii_alphanumeric() || "_-|*@".contains(c);
    about && e.message.split(|c: char| !word(c)).any(|w| w == out_trade_no)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reports_of_that_double_payment_are_resolved() {
        let ev = |kind: EventKind, msg: &str| Event::new(1, EventSource::Notification, kind, msg).attention();
        let double = ev(EventKind::DoublePayment, "attempt N-2 was paid too (WeChat 4200): refund it");
        assert!(names_double_payment(&double, "N-2"));
        assert!(!names_double_payment(&double, "N-1"));
        assert!(!names_double_payment(&ev(EventKind::DoublePayment, "attempt N-21 was paid too"), "N-2"));
        let bill = ev(
            EventKind::Reconciliation,
            "reconciliation of 2024-01-01: WeChat took ¥8.00 for N-2, but the order was already paid by another attempt: a double payment to refund",
        );
        assert!(names_double_payment(&bill, "N-2"));
        assert!(!names_double_payment(&ev(EventKind::AmountMismatch, "N-2"), "N-2"));
    }

    #[test]
    fn a_settled_refund_is_told_once_whichever_way_it_was_reported() {
        let fen = Fen::new(800).expect("fen");
        let by_query = given_back_event("NR1", fen, "N-2", None, EventSource::Reconciler, 1);
        assert!(already_given_back(&[by_query], "NR1"));
        let other = given_back_event("NR12", fen, "N-2", Some("5000"), EventSource::Notification, 1);
        assert!(!already_given_back(&[other], "NR1"));
    }
}
