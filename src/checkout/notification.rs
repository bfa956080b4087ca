//! Receiving a payment notification: what it does to our records, and whether WeChat must
//! send it again. The web handler only reads the body and turns the `Receipt` into XML.
//!
//! The rule behind every answer: SUCCESS once what the notification proves is on disk, or
//! once we know we will never accept it (resending cannot change that); FAIL when it is
//! not verifiably WeChat's, or when we could not write (so WeChat retries).

pub(super) mod v3;

use std::net::IpAddr;

use crate::domain::{Applied, Event, EventKind, EventSource};
use crate::log_summary::Summary;
use crate::wxpay::notify::{NotifyError, PaymentNotification, parse_payment_notification};
use crate::wxpay::xml;

use super::apply::facts_from_notification;
use super::rejected::{NotificationKind, Reason};
use super::{Checkout, CheckoutError};

/// What to answer WeChat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Recorded (or a duplicate, or something we will never accept): answer SUCCESS.
    Done,
    /// Not verifiably from WeChat (unparseable, forged): answer FAIL, nothing changed.
    Rejected(&'static str),
    /// We could not write it down: answer FAIL so that WeChat sends it again.
    Retry(&'static str),
}

impl Checkout {
    /// Verifies a payment notification (from `from`) and applies it. Never logs the key or a
    /// signing string; a rejected one is logged in summary (`rejected`).
    pub async fn receive_payment_notification(&self, body: &[u8], from: Option<IpAddr>) -> Receipt {
        let s = &self.settings;
        let Some(api_key) = self.v2_key(NotificationKind::Payment, from, body) else {
            return Receipt::Rejected("验签失败");
        };
        let parsed = parse_payment_notification(body, api_key, s.sign_type, &s.appid, &s.mch_id);
        let recorded = match parsed {
            Ok(n) => self.record_payment(&n).await,
            // why SUCCESS: the signature verified with our key, but it names another appid or
            // mch_id; no resend will ever make it ours, and FAIL would only make WeChat try
            // 15 more times over a day. The admin sees it.
            Err(NotifyError::WrongMerchant { field, got }) => {
                let message = format!("payment notification for {field} {got:?}: not ours, not applied");
                self.record_unmatched(&kind_event(EventKind::MerchantMismatch, message, self.now()), body)
                    .await
            }
            Err(NotifyError::NotSuccess { code, msg }) if verified_business_failure(body) => {
                self.record_failed_payment(body, &code, &msg).await
            }
            Err(e) => {
                self.reject_notification(NotificationKind::Payment, Reason::of(&e), from, body, &e);
                return Receipt::Rejected(rejection(&e));
            }
        };
        match recorded {
            Ok(()) => Receipt::Done,
            Err(e) => {
                NOT_RECORDED.note("payment", || e.to_string());
                Receipt::Retry("could not record the notification")
            }
        }
    }

    /// The APIv2 key that verifies a v2 notification; without one (a shop on v3 only) the
    /// notification is rejected and kept for the admin, as one that does not verify is.
    pub(super) fn v2_key(
        &self,
        kind: NotificationKind,
        from: Option<IpAddr>,
        body: &[u8],
    ) -> Option<&crate::wxpay::ApiKey> {
        let key = self.settings.api_key.as_ref();
        if key.is_none() {
            let detail = "a v2 notification, and no APIv2 key (wxpay.api_key) to verify it with";
            self.reject_notification(kind, Reason::BadSignature, from, body, &detail);
        }
        key
    }

    /// Applies a verified payment. Every outcome is on disk when this returns: a payment, a
    /// duplicate (nothing to write), or an attention event (wrong amount, unknown order or
    /// attempt, double payment) that no resend could change — all answered SUCCESS.
    async fn record_payment(&self, n: &PaymentNotification) -> Result<(), CheckoutError> {
        let facts = facts_from_notification(&n.paid, self.now());
        let outcome = self.apply_payment(&facts, EventSource::Notification, Some(&n.raw_xml)).await?;
        match &outcome.applied {
            Applied::Paid => tracing::info!(order_no = ?outcome.order_no, "paid (notification)"),
            Applied::Duplicate => tracing::debug!(order_no = ?outcome.order_no, "duplicate notification"),
            other => NOT_APPLIED.note(not_applied(other), || {
                format!("order {:?}, out_trade_no {}, {other:?}", outcome.order_no, facts.out_trade_no)
            }),
        }
        Ok(())
    }

    /// A verified `result_code=FAIL` notification: the payment failed. Noted on the order's
    /// timeline (nothing changes; the buyer can pay again).
    async fn record_failed_payment(&self, body: &[u8], code: &str, msg: &str) -> Result<(), CheckoutError> {
        let fields = xml::parse(body).unwrap_or_default();
        let out_trade_no = fields.get("out_trade_no").unwrap_or_default();
        let message = format!("WeChat reports payment of {out_trade_no} failed ({code} {msg})");
        let raw = String::from_utf8_lossy(body).into_owned();
        let event = Event::new(self.now(), EventSource::Notification, EventKind::PaymentFailed, message)
            .with_raw(raw);
        match self.store.order_by_out_trade_no(out_trade_no)? {
            Some(order) => {
                self.store.update_order(&order.no, |_| ((), vec![event.clone()]))?;
                self.store.flush().await?;
                Ok(())
            }
            None => self.record_unmatched(&event.attention(), body).await,
        }
    }

    /// An event about no order of ours, kept with the raw body for the admin.
    async fn record_unmatched(&self, event: &Event, body: &[u8]) -> Result<(), CheckoutError> {
        let event = event.clone().with_raw(String::from_utf8_lossy(body).into_owned());
        self.store.record_unmatched(&event)?;
        self.store.flush().await?;
        Ok(())
    }
}

/// Verified notifications recorded for the admin instead of applied. Only WeChat can send
/// them (they verify with our key), but WeChat, or a replay of what it sent, can send many.
static NOT_APPLIED: Summary = Summary::warn(
    "payment notification not applied, for the admin's attention",
    "payment notifications not applied, for the admin's attention",
);

/// Notifications answered FAIL because our store failed (WeChat resends them).
pub(super) static NOT_RECORDED: Summary = Summary::error(
    "notification not recorded; WeChat will resend it",
    "notifications not recorded; WeChat will resend them",
);

fn not_applied(outcome: &Applied) -> &'static str {
    match outcome {
        Applied::DoublePayment => "double payment",
        Applied::Mismatch(crate::domain::order::Mismatch::Amount { .. }) => "amount mismatch",
        Applied::Mismatch(_) => "another merchant",
        Applied::UnknownAttempt => "unknown out_trade_no",
        Applied::Paid | Applied::Duplicate => "applied",
    }
}

fn kind_event(kind: EventKind, message: String, at: i64) -> Event {
    Event::new(at, EventSource::Notification, kind, message).attention()
}

/// Whether a `NotSuccess` came from `result_code` (checked after the signature and the
/// merchant) rather than from an unsigned `return_code=FAIL`.
fn verified_business_failure(body: &[u8]) -> bool {
    xml::parse(body).is_ok_and(|f| f.get("return_code") == Some("SUCCESS"))
}

/// The FAIL reply's message: short, and never the reason a forger could tune against.
fn rejection(e: &NotifyError) -> &'static str {
    match e {
        NotifyError::Forged(_) => "签名失败",
        _ => "参数格式校验错误",
    }
}
