//! Recording refund results from WeChat's refund notifications (the admin starts refunds).
//!
//! A refund notification is not signed: `req_info` decrypting with our key is its
//! authentication (in `wxpay::notify`). A settled refund is counted once per
//! `out_refund_no` by `Order::apply_refund`; a refund that failed (CHANGE, 退款异常) or was
//! closed (REFUNDCLOSE) changes nothing on the order and is put before the admin. A settled
//! refund of a double payment (an attempt paid besides the counted one) is told on the
//! timeline and clears that double payment's attention, but is never counted on the order.
//! Our own refund record (when the admin started the refund, `refund_start`) follows the
//! reported status. Every outcome is on disk before we answer SUCCESS.

mod v3;

use crate::domain::order::RefundRefused;
use crate::domain::{Event, EventKind, EventSource, Fen, Order};
use crate::wxpay::messages::RefundStatus;
use crate::wxpay::notify::{RefundInfo, RefundNotification, parse_refund_notification};

use super::notification::{NOT_RECORDED, Receipt};
use super::refund_extra::{already_given_back, given_back_event};
use super::rejected::{NotificationKind, Reason};
use super::{Checkout, CheckoutError};

impl Checkout {
    /// Decrypts a refund notification (from `from`) and records it; a rejected one is logged in
    /// summary (`rejected`).
    pub async fn receive_refund_notification(&self, body: &[u8], from: Option<std::net::IpAddr>) -> Receipt {
        let s = &self.settings;
        let Some(api_key) = self.v2_key(NotificationKind::Refund, from, body) else {
            return Receipt::Rejected("参数格式校验错误");
        };
        let n = match parse_refund_notification(body, api_key, &s.appid, &s.mch_id) {
            Ok(n) => n,
            Err(e) => {
                // why FAIL even for another merchant: the outer fields are unsigned, so
                // nothing about this message is known to be WeChat's.
                self.reject_notification(NotificationKind::Refund, Reason::of(&e), from, body, &e);
                return Receipt::Rejected("参数格式校验错误");
            }
        };
        self.refund_receipt(&n).await
    }

    /// Records a verified refund notification (v2 or v3) and says what WeChat is answered:
    /// done, or "send it again" when it could not be recorded.
    pub(super) async fn refund_receipt(&self, n: &RefundNotification) -> Receipt {
        match self.record_refund(n).await {
            Ok(()) => Receipt::Done,
            Err(e) => {
                NOT_RECORDED.note("refund", || e.to_string());
                Receipt::Retry("could not record the refund")
            }
        }
    }

    async fn record_refund(&self, n: &RefundNotification) -> Result<(), CheckoutError> {
        let info = &n.info;
        let Some(order) = self.store.order_by_out_trade_no(&info.out_trade_no)? else {
            let message = format!(
                "refund {} ({}) for unknown out_trade_no {}",
                info.out_refund_no, info.refund_status, info.out_trade_no
            );
            let event = Event::new(self.now(), EventSource::Notification, EventKind::UnknownOrder, message)
                .attention()
                .with_raw(n.raw_xml.clone());
            self.store.record_unmatched(&event)?;
            self.store.flush().await?;
            return Ok(());
        };
        let history = self.store.events(&order.no)?;
        let (_, changed) = self.store.update_order(&order.no, |o| {
            let event = refund_event(o, info, self.now())
                .filter(|e| !already_noted(&history, e, &info.out_refund_no));
            match event {
                Some(e) => (true, vec![e.with_raw(n.raw_xml.clone())]),
                None => (false, vec![]),
            }
        })?;
        let matches = mismatch(&order, info).is_none();
        // why after the order's event: a crash in between is answered FAIL, and WeChat's
        // resent notification clears it then.
        let resolved = matches
            && matches!(info.refund_status, RefundStatus::Success)
            && order.is_extra_payment(&info.out_trade_no)
            && self.resolve_double_payment(&order.no, &info.out_trade_no)?;
        let record_changed = if matches { self.follow_record(info)? } else { false };
        if changed || resolved || record_changed {
            self.store.flush().await?;
        }
        Ok(())
    }

    /// Brings our refund record (if we started this refund) in line with the notification,
    /// after the order: a crash in between leaves the record open, and the settling loop's
    /// refundquery finishes it.
    fn follow_record(&self, info: &RefundInfo) -> Result<bool, CheckoutError> {
        let Some(s) = super::refund_start::settlement(&info.refund_status) else { return Ok(false) };
        let at = self.now();
        let id = Some(info.refund_id.as_str());
        let updated = self.store.update_refund(&info.out_refund_no, |r| {
            // why: our record's amount is what we asked; a notification for another amount
            // is not this refund's settlement (the order side already flagged it).
            r.amount.get() == info.refund_fee && r.settle(s, id, at)
        })?;
        Ok(updated.is_some_and(|(_, changed)| changed))
    }
}

/// Applies what the refund notification says to `o` and returns its timeline entry;
/// `None` when it was already counted (WeChat repeats notifications).
fn refund_event(o: &mut Order, info: &RefundInfo, at: i64) -> Option<Event> {
    let ev = |kind: EventKind, message: String| Event::new(at, EventSource::Notification, kind, message);
    let no = &info.out_refund_no;
    if let Some(problem) = mismatch(o, info) {
        return Some(
            ev(EventKind::RefundMismatch, format!("refund {no}: {problem}; not recorded")).attention(),
        );
    }
    match &info.refund_status {
        RefundStatus::Success => {
            let Ok(amount) = Fen::new(info.refund_fee) else {
                return Some(
                    ev(EventKind::RefundMismatch, format!("refund {no}: amount out of range")).attention(),
                );
            };
            // why not on the order's tally: the buyer's one counted payment is still held.
            if o.is_extra_payment(&info.out_trade_no) {
                let id = Some(info.refund_id.as_str());
                let (otn, source) = (&info.out_trade_no, EventSource::Notification);
                return Some(given_back_event(no, amount, otn, id, source, at));
            }
            match o.apply_refund(no, amount) {
                Ok(true) => Some(ev(
                    EventKind::Refunded,
                    format!("refund {no} of {amount} settled (WeChat {})", info.refund_id),
                )),
                Ok(false) => None,
                Err(RefundRefused::NotPaid) => Some(
                    ev(
                        EventKind::RefundMismatch,
                        format!("refund {no} of {amount} for an order not paid: not recorded"),
                    )
                    .attention(),
                ),
                Err(RefundRefused::TooMuch) => Some(
                    ev(
                        EventKind::RefundMismatch,
                        format!("refund {no} of {amount} exceeds what was paid: not recorded"),
                    )
                    .attention(),
                ),
            }
        }
        RefundStatus::Change => Some(
            ev(
                EventKind::RefundFailed,
                format!("refund {no} failed (CHANGE, 退款异常): refund it another way"),
            )
            .attention(),
        ),
        RefundStatus::RefundClose => Some(
            ev(EventKind::RefundClosed, format!("refund {no} was closed (REFUNDCLOSE): nothing refunded"))
                .attention(),
        ),
        other => Some(ev(EventKind::RefundStatus, format!("refund {no}: {other}"))),
    }
}

/// Whether the refund names the payment we have for its `out_trade_no` (verify ids and
/// amounts even after decryption: docs/wechat-pay-v2.md#refund-notifications).
fn mismatch(o: &Order, info: &RefundInfo) -> Option<String> {
    let attempt = o.attempt(&info.out_trade_no)?;
    if attempt.transaction_id.as_deref() != Some(info.transaction_id.as_str()) {
        return Some(format!("WeChat transaction {} is not this order's payment", info.transaction_id));
    }
    (info.total_fee != o.total.get())
        .then(|| format!("total_fee {} is not the order's {}", info.total_fee, o.total.get()))
}

/// A failed or closed refund reported again adds no second entry, nor a double payment
/// given back that refundquery already told about.
fn already_noted(history: &[Event], e: &Event, out_refund_no: &str) -> bool {
    match e.kind {
        EventKind::Refunded => false,
        EventKind::ExtraPaymentRefunded => already_given_back(history, out_refund_no),
        _ => history.iter().any(|h| h.kind == e.kind && h.message == e.message),
    }
}
