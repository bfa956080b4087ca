//! Receiving a v3 payment notification (`TRANSACTION.SUCCESS`): opened by the v3 client
//! (signature over the raw body, then the resource decrypted with the APIv3 key), then applied
//! through `apply_payment` exactly as a v2 notification is, with the same answers: done once
//! what it proves is on disk, rejected when it is not verifiably WeChat's (nothing changes,
//! recorded like v2's rejected ones), retry when we could not write. Refund notifications are
//! `refunds::v3`'s; the reasons and words of a refusal are shared.

use std::net::IpAddr;

use super::super::apply_v3::facts_from_transaction;
use super::super::rejected::{NotificationKind, Reason};
use super::super::{Checkout, CheckoutError};
use super::{NOT_APPLIED, NOT_RECORDED, Receipt, not_applied};
use crate::domain::{Applied, EventSource};
use crate::wxpay::v3::client::notify::{NotificationError, Opened};
use crate::wxpay::v3::messages::Transaction;

/// The one event a payment notification carries.
const PAID_EVENT: &str = "TRANSACTION.SUCCESS";

impl Checkout {
    /// Verifies a v3 payment notification (its request `headers` and raw `body`, from `from`)
    /// and applies it. A rejected one is logged in summary and kept for the admin.
    pub async fn receive_v3_payment_notification(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        from: Option<IpAddr>,
    ) -> Receipt {
        let opened: Opened<Transaction> =
            match self.open_v3_notification(NotificationKind::Payment, headers, body, from).await {
                Ok(opened) => opened,
                Err(receipt) => return receipt,
            };
        match self.record_v3_payment(&opened).await {
            Ok(()) => Receipt::Done,
            Err(e) => {
                NOT_RECORDED.note("payment", || e.to_string());
                Receipt::Retry("could not record the notification")
            }
        }
    }

    /// Verifies a v3 notification's signature over its raw `body` and decrypts its resource;
    /// one that fails is logged in summary, kept for the admin, and answered with the receipt
    /// returned as the error.
    pub(in crate::checkout) async fn open_v3_notification<T: serde::de::DeserializeOwned>(
        &self,
        kind: NotificationKind,
        headers: &[(String, String)],
        body: &[u8],
        from: Option<IpAddr>,
    ) -> Result<Opened<T>, Receipt> {
        let Some(v3) = &self.v3 else {
            let detail = "no [wxpay.v3] configured: no key to verify a v3 notification with";
            self.reject_notification(kind, Reason::BadSignature, from, body, &detail);
            return Err(Receipt::Rejected("验签失败"));
        };
        let header =
            |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        v3.open_notification(header, body).await.map_err(|e| {
            self.reject_notification(kind, reason(&e), from, body, &e);
            Receipt::Rejected(rejection(&e))
        })
    }

    /// Applies a verified transaction; every outcome is on disk when this returns, as for v2.
    async fn record_v3_payment(&self, opened: &Opened<Transaction>) -> Result<(), CheckoutError> {
        let t = &opened.resource;
        let facts = match facts_from_transaction(t, self.now()) {
            Some(facts) if opened.envelope.event_type == PAID_EVENT => facts,
            // why done: verified, but it proves no payment; no resend will change that.
            _ => {
                NOT_APPLIED.note("not a payment", || {
                    format!("{} for {} ({:?})", opened.envelope.event_type, t.out_trade_no, t.trade_state)
                });
                return Ok(());
            }
        };
        // why the decrypted resource as the raw record: it is what WeChat said; the envelope
        // holds only ciphertext.
        let raw = serde_json::to_string(t).unwrap_or_default();
        let outcome = self.apply_payment(&facts, EventSource::Notification, Some(&raw)).await?;
        match &outcome.applied {
            Applied::Paid => tracing::info!(order_no = ?outcome.order_no, "paid (v3 notification)"),
            Applied::Duplicate => tracing::debug!(order_no = ?outcome.order_no, "duplicate v3 notification"),
            other => NOT_APPLIED.note(not_applied(other), || {
                format!("order {:?}, out_trade_no {}, {other:?}", outcome.order_no, facts.out_trade_no)
            }),
        }
        Ok(())
    }
}

pub(in crate::checkout) fn reason(e: &NotificationError) -> Reason {
    match e {
        NotificationError::Signature(_) => Reason::BadSignature,
        NotificationError::Malformed(_) => Reason::BadField,
        NotificationError::Decrypt(_) => Reason::Undecryptable,
    }
}

/// The refusal's message: short, and never the reason a forger could tune against.
pub(in crate::checkout) fn rejection(e: &NotificationError) -> &'static str {
    match e {
        NotificationError::Signature(_) | NotificationError::Decrypt(_) => "验签失败",
        NotificationError::Malformed(_) => "参数格式校验错误",
    }
}
