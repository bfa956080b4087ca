//! Starting refunds (the admin's Refund and Retry) and settling the ones WeChat has not yet
//! reported on (`refundquery`, from the reconciler loop and the admin's "Check refund status").
//!
//! Owns the order of a refund's steps: the record is written (Requested) before WeChat is
//! called, under the refund's own `out_refund_no`, so a retry resends the same number and
//! WeChat refunds it once at most. Only a signed answer moves a refund on: accepted →
//! Processing; a signed business error → Failed; no answer, SYSTEMERROR, an unsigned or
//! unverifiable answer → it stays Requested, to retry. The order's refund tally moves only
//! when WeChat says SUCCESS (`Order::apply_refund`), here or in the notification path, and
//! never for a double payment given back (`refund_extra`): that money was never the order's.

use std::time::Duration;

use crate::domain::order::RefundRefused;
use crate::domain::refund::{self, Refund, RefundDenied, RefundStatus, Settlement};
use crate::domain::{Event, EventKind, EventSource, Fen, Order};
use crate::wxpay::messages::{self, OrderRef, RefundStatus as WxRefundStatus};
use crate::wxpay::{self};

use super::{Checkout, CheckoutError, Refused};

/// A form sent again within this many seconds (same order, amount and reason) is the same
/// refund. why a minute: WeChat also wants a minute between refunds of one order
/// (docs/wechat-pay-v2.md#requesting-a-refund).
const SAME_FORM_WINDOW: i64 = 60;

/// What `request_refund` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub refund: Refund,
    /// The same refund had just been started (a form sent twice): nothing new was sent.
    pub repeated: bool,
}

/// Why `insert_refund` wrote nothing.
pub(super) enum NotStarted {
    /// The same form again: its refund.
    Again(Box<Refund>),
    /// Refused: why.
    Denied(Refused),
}

/// How WeChat answered a refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Accepted(String),
    /// WeChat's refusal (signed on v2; on v3 over WeChat's TLS): `err_code: err_code_des`.
    Refused(String),
    /// Nothing usable: may be retried with the same number.
    Unanswered(String),
    /// Not sent: no (readable) client certificate.
    NoCertificate,
}

fn classify(answer: &Result<String, wxpay::Error>) -> Answer {
    match answer {
        Ok(refund_id) => Answer::Accepted(refund_id.clone()),
        Err(wxpay::Error::CertNotConfigured | wxpay::Error::CertUnreadable(_)) => Answer::NoCertificate,
        Err(e) if e.is_retryable() => Answer::Unanswered(e.to_string()),
        Err(wxpay::Error::Business { err_code, err_code_des, .. }) => {
            Answer::Refused(format!("{err_code}: {err_code_des}"))
        }
        // why: unsigned (return_code=FAIL) or unverifiable answers never change state; WeChat
        // may have accepted the refund, and resending the same number is safe.
        Err(e) => Answer::Unanswered(e.to_string()),
    }
}

/// Whether the error means the refund certificate is missing or unreadable (the admin then
/// tells the merchant to configure it).
pub fn is_certificate_problem(e: &CheckoutError) -> bool {
    matches!(e, CheckoutError::Wechat(wxpay::Error::CertNotConfigured | wxpay::Error::CertUnreadable(_)))
}

impl Checkout {
    /// Starts a refund of `amount` on a paid order; see [`Checkout::request_refund`].
    pub async fn start_refund(
        &self,
        order_no: &str,
        amount: Fen,
        reason: &str,
    ) -> Result<Refund, CheckoutError> {
        Ok(self.request_refund(order_no, amount, reason).await?.refund)
    }

    /// Checks the amount against what may still be refunded, writes the refund (Requested)
    /// with its own `out_refund_no`, then asks WeChat. A form sent twice within a minute gets
    /// the first refund back. `Err` for a refusal (`Invalid`, nothing written or sent) or a
    /// missing certificate (the refund is then recorded as failed, nothing sent).
    pub async fn request_refund(
        &self,
        order_no: &str,
        amount: Fen,
        reason: &str,
    ) -> Result<Started, CheckoutError> {
        let reason = reason.trim();
        if reason.chars().count() > refund::MAX_REASON {
            return Err(Refused::ReasonTooLong(refund::MAX_REASON).into());
        }
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        let at = self.now();
        let decided = self.store.insert_refund(order_no, |existing| {
            if let Some(r) = refund::same_recent(existing, amount, reason, at, SAME_FORM_WINDOW) {
                return Err(NotStarted::Again(Box::new(r.clone())));
            }
            refund::may_refund(&order, existing, amount).map_err(|d| NotStarted::Denied(d.into()))?;
            let no = refund::out_refund_no(order_no, existing.len() + 1)
                .ok_or(NotStarted::Denied(Refused::NoRefundNumber))?;
            Ok(Refund::new(no, order_no, amount, reason, at))
        })?;
        let refund = match decided {
            Ok(r) => r,
            Err(NotStarted::Again(earlier)) => return Ok(Started { refund: *earlier, repeated: true }),
            Err(NotStarted::Denied(why)) => return Err(why.into()),
        };
        let message = format!("refund {} of {amount} requested: {reason}", refund.out_refund_no);
        self.note_refund(order_no, Event::new(at, EventSource::Admin, EventKind::RefundRequested, message))
            .await?;
        let refund = self.send_refund(&order, refund).await?;
        Ok(Started { refund, repeated: false })
    }

    /// Sends a refund still waiting for WeChat again, under the same `out_refund_no`.
    pub async fn retry_refund(&self, order_no: &str, out_refund_no: &str) -> Result<Refund, CheckoutError> {
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        let r = self
            .store
            .refund(out_refund_no)?
            .filter(|r| r.order_no == order_no)
            .ok_or(CheckoutError::NotFound)?;
        if r.status != RefundStatus::Requested {
            return Err(Refused::NotRetryable(r.status.as_str()).into());
        }
        self.send_refund(&order, r).await
    }

    /// The `refund` call and what its answer does to the record, with an event on the order.
    /// It refunds the payment the record names: the order's counted one, or a double payment.
    pub(super) async fn send_refund(&self, order: &Order, r: Refund) -> Result<Refund, CheckoutError> {
        let paid = match &r.extra_payment {
            Some(otn) => order.is_extra_payment(otn).then(|| otn.clone()),
            None => order.paid_by.clone(),
        };
        let Some(out_trade_no) = paid else {
            return Err(Refused::Refund(RefundDenied::NotPaid).into());
        };
        // why the paid attempt's API: WeChat refunds an order in the version that created it;
        // the record keeps it for the refund queries that follow.
        let api = order.attempt(&out_trade_no).map_or(self.settings.api, |a| a.api);
        let r = match self.store.update_refund(&r.out_refund_no, |x| x.api = api)? {
            Some((x, ())) => x,
            None => Refund { api, ..r },
        };
        let req = messages::Refund {
            order: OrderRef::OutTradeNo(out_trade_no),
            out_refund_no: r.out_refund_no.clone(),
            // why the order's total for a double payment too: an attempt is recorded paid only
            // when WeChat's total_fee is the order's total (`Order::apply_payment`).
            total_fee: order.total.get(),
            refund_fee: r.amount.get(),
            refund_desc: refund::refund_desc(&r.reason),
            notify_url: Some(self.settings.refund_notify_url_on(api)),
        };
        let answer = match self.gateway_for(api) {
            Ok(gateway) => gateway.refund(&req).await,
            Err(e) => Err(e),
        };
        let kind = classify(&answer);
        let at = self.now();
        let no = &r.out_refund_no;
        let (event, updated) = match &kind {
            Answer::Accepted(id) => {
                let e = Event::new(
                    at,
                    EventSource::Admin,
                    EventKind::RefundAccepted,
                    format!(
                        "refund {no} of {} accepted by WeChat (refund id {id}); it settles when WeChat reports SUCCESS",
                        r.amount
                    ),
                );
                (e, self.store.update_refund(no, |x| x.accepted(id, at))?)
            }
            Answer::Refused(why) => {
                let e = Event::new(
                    at,
                    EventSource::Admin,
                    EventKind::RefundFailed,
                    format!("WeChat refused refund {no}: {why}"),
                );
                (e.attention(), self.store.update_refund(no, |x| x.failed(why, at))?)
            }
            Answer::Unanswered(why) => {
                let e = Event::new(
                    at,
                    EventSource::Admin,
                    EventKind::RefundUnanswered,
                    format!(
                        "refund {no}: no usable answer from WeChat ({why}); it waits — Retry resends the same refund number, which WeChat refunds at most once"
                    ),
                );
                (e.attention(), self.store.update_refund(no, |x| x.unanswered(why, at))?)
            }
            Answer::NoCertificate => {
                let why = "no readable refund certificate (cert_pem, key_pem): nothing was sent";
                let e = Event::new(
                    at,
                    EventSource::Admin,
                    EventKind::RefundFailed,
                    format!("refund {no} not sent: {why}"),
                );
                (e.attention(), self.store.update_refund(no, |x| x.failed(why, at))?)
            }
        };
        self.note_refund(&order.no, event).await?;
        if kind == Answer::NoCertificate {
            if let Err(e) = answer {
                return Err(CheckoutError::Wechat(e));
            }
        }
        Ok(updated.map_or(r, |(x, _)| x))
    }

    /// Appends `event` to the order's timeline, durably.
    pub(super) async fn note_refund(&self, order_no: &str, event: Event) -> Result<(), CheckoutError> {
        self.store.update_order(order_no, |_| ((), vec![event.clone()]))?;
        self.store.flush().await?;
        Ok(())
    }

    // ---- settling -----------------------------------------------------------------------

    /// Asks WeChat (`refundquery`) about the refunds still open whose turn has come: not
    /// touched for a minute (scaled like the reconciler), then less and less often as they
    /// age (bank cards take days). Returns how many were asked about.
    pub async fn settle_refunds(&self) -> Result<usize, CheckoutError> {
        let t = self.settings.reconcile;
        let at = self.now();
        let mut asked = 0;
        for r in self.store.open_refunds()? {
            if !due(&r, at, t.query_after, t.max_gap) {
                continue;
            }
            asked += 1;
            if let Err(e) = self.query_refund(&r, EventSource::Reconciler).await {
                super::TROUBLE.note("refund not settled this round", || format!("{}: {e}", r.out_refund_no));
            }
        }
        Ok(asked)
    }

    /// The admin's "Check refund status": asks WeChat now about every open refund of the order.
    pub async fn check_refunds(&self, order_no: &str) -> Result<Vec<Refund>, CheckoutError> {
        self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        for r in self.store.refunds(order_no)?.iter().filter(|r| r.status.is_open()) {
            self.query_refund(r, EventSource::Admin).await?;
        }
        Ok(self.store.refunds(order_no)?)
    }

    /// One `refundquery` by `out_refund_no`, and what its signed answer proves.
    async fn query_refund(&self, r: &Refund, source: EventSource) -> Result<(), CheckoutError> {
        let at = self.now();
        let answer = match self.gateway_for(r.api) {
            Ok(gateway) => gateway.query_refund(&r.out_refund_no).await,
            Err(e) => Err(e),
        };
        self.store.update_refund(&r.out_refund_no, |x| x.checked(at))?;
        match answer {
            Ok(seen) => {
                let Some(rec) = seen else {
                    return Ok(());
                };
                let Some(s) = settlement(&rec.status) else { return Ok(()) };
                if rec.refund_fee != r.amount.get() {
                    let msg = format!(
                        "refund {}: WeChat reports {} fen, we asked {}: not recorded",
                        r.out_refund_no,
                        rec.refund_fee,
                        r.amount.get()
                    );
                    return self
                        .note_refund(
                            &r.order_no,
                            Event::new(at, source, EventKind::RefundMismatch, msg).attention(),
                        )
                        .await;
                }
                self.settle_refund(r, s, Some(&rec.refund_id), source).await
            }
            // why: WeChat's "no such refund" a minute after the last send proves it never took
            // it, so it is safe to release; a Processing one is WeChat's word against WeChat's
            // and is only shown. On v2 the answer is signed; on v3 WeChat signs no 4xx answer,
            // and what vouches for it is the TLS connection to WeChat's host, as for every v3
            // refusal (docs/decisions.md, "On v3 a refusal is WeChat's by its TLS connection").
            Err(e) if e.err_code() == Some("REFUNDNOTEXIST") => {
                if r.status == RefundStatus::Requested {
                    let why = "WeChat has no such refund: nothing was refunded";
                    let (_, failed) =
                        self.store.update_refund(&r.out_refund_no, |x| x.failed(why, at))?.unzip();
                    if failed == Some(true) {
                        let msg = format!("refund {} released: {why}", r.out_refund_no);
                        self.note_refund(
                            &r.order_no,
                            Event::new(at, source, EventKind::RefundFailed, msg).attention(),
                        )
                        .await?;
                    }
                }
                Ok(())
            }
            Err(e) => {
                super::NO_ANSWER.note("refundquery", || format!("{}: {e}", r.out_refund_no));
                self.store.flush().await?;
                Ok(())
            }
        }
    }

    /// Records what WeChat says about refund `r` from a query: SUCCESS counts it on the order
    /// (once) — or, for a double payment given back, tells so and clears its attention —
    /// then the record follows.
    ///
    /// why the order first: a crash between the two writes leaves the record open, so the
    /// next round asks again and finishes it; the other way round a final record would never
    /// be asked about again and the order would miss the refund.
    async fn settle_refund(
        &self,
        r: &Refund,
        s: Settlement,
        refund_id: Option<&str>,
        source: EventSource,
    ) -> Result<(), CheckoutError> {
        let at = self.now();
        let no = r.out_refund_no.as_str();
        match (s, &r.extra_payment) {
            (Settlement::Success, None) => {
                self.store.update_order(&r.order_no, |o| {
                    ((), success_event(o, no, r.amount, refund_id, source, at).into_iter().collect())
                })?;
            }
            // why not on the order's tally: the buyer's one counted payment is still held.
            (Settlement::Success, Some(otn)) => {
                let event = super::refund_extra::given_back_event(no, r.amount, otn, refund_id, source, at);
                self.note_extra_given_back(&r.order_no, otn, no, event)?;
            }
            _ => {}
        }
        let changed = self.store.update_refund(no, |x| x.settle(s, refund_id, at))?.is_some_and(|(_, c)| c);
        let event = match s {
            Settlement::Change if changed => Some(
                Event::new(
                    at,
                    source,
                    EventKind::RefundFailed,
                    format!("refund {no} failed (CHANGE, 退款异常): refund it another way"),
                )
                .attention(),
            ),
            Settlement::Closed if changed => Some(
                Event::new(
                    at,
                    source,
                    EventKind::RefundClosed,
                    format!("refund {no} was closed (REFUNDCLOSE): nothing refunded"),
                )
                .attention(),
            ),
            _ => None,
        };
        match event {
            Some(e) => self.note_refund(&r.order_no, e).await,
            None => Ok(self.store.flush().await?),
        }
    }
}

/// Counts a settled refund on the order; its timeline entry, or `None` when already counted.
fn success_event(
    o: &mut Order,
    no: &str,
    amount: Fen,
    refund_id: Option<&str>,
    source: EventSource,
    at: i64,
) -> Option<Event> {
    let id = refund_id.unwrap_or("?");
    match o.apply_refund(no, amount) {
        Ok(true) => Some(Event::new(
            at,
            source,
            EventKind::Refunded,
            format!("refund {no} of {amount} settled (WeChat {id})"),
        )),
        Ok(false) => None,
        Err(RefundRefused::NotPaid) => Some(
            Event::new(
                at,
                source,
                EventKind::RefundMismatch,
                format!("refund {no} of {amount} for an order not paid: not recorded"),
            )
            .attention(),
        ),
        Err(RefundRefused::TooMuch) => Some(
            Event::new(
                at,
                source,
                EventKind::RefundMismatch,
                format!("refund {no} of {amount} exceeds what was paid: not recorded"),
            )
            .attention(),
        ),
    }
}

/// What a refund status from WeChat means for our record (`None`: a word we do not know).
pub fn settlement(s: &WxRefundStatus) -> Option<Settlement> {
    match s {
        WxRefundStatus::Success => Some(Settlement::Success),
        WxRefundStatus::Processing => Some(Settlement::Processing),
        WxRefundStatus::Change => Some(Settlement::Change),
        WxRefundStatus::RefundClose => Some(Settlement::Closed),
        WxRefundStatus::Other(_) => None,
    }
}

/// Whether an open refund should be asked about now: untouched for `first` at least, and
/// for a quarter of its age (up to `max`), so old refunds are asked about rarely.
fn due(r: &Refund, now: i64, first: Duration, max: Duration) -> bool {
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1);
    let age = now.saturating_sub(r.created_at);
    let gap = (age / 4).clamp(secs(first), secs(max).max(secs(first)));
    now.saturating_sub(r.last_touch()) >= gap
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wxpay::Fields;

    fn business(code: &str) -> wxpay::Error {
        wxpay::Error::Business { err_code: code.into(), err_code_des: "des".into(), raw: Fields::new() }
    }

    #[test]
    fn only_a_signed_refusal_fails_a_refund_and_a_missing_certificate_sends_nothing() {
        assert_eq!(classify(&Err(business("NOTENOUGH"))), Answer::Refused("NOTENOUGH: des".into()));
        assert!(matches!(classify(&Err(business("SYSTEMERROR"))), Answer::Unanswered(_)));
        assert!(matches!(classify(&Err(business("BIZERR_NEED_RETRY"))), Answer::Unanswered(_)));
        assert!(matches!(classify(&Err(wxpay::Error::Transport("timeout".into()))), Answer::Unanswered(_)));
        let unsigned = wxpay::Error::Protocol { return_msg: "签名错误".into(), error_code: None };
        assert!(matches!(classify(&Err(unsigned)), Answer::Unanswered(_)));
        assert_eq!(classify(&Err(wxpay::Error::CertNotConfigured)), Answer::NoCertificate);
        assert_eq!(classify(&Err(wxpay::Error::CertUnreadable("x".into()))), Answer::NoCertificate);
        assert!(is_certificate_problem(&CheckoutError::Wechat(wxpay::Error::CertNotConfigured)));
        assert!(!is_certificate_problem(&CheckoutError::Wechat(business("NOTENOUGH"))));
    }

    #[test]
    fn open_refunds_are_asked_about_after_a_minute_then_less_often_as_they_age() {
        let (m, h) = (Duration::from_secs(60), Duration::from_secs(1800));
        let r = Refund::new("R1".into(), "N", Fen::ZERO, "", 1000);
        assert!(!due(&r, 1030, m, h));
        assert!(due(&r, 1060, m, h));
        let mut old = r.clone();
        old.checked(1000 + 4 * 3600);
        assert!(!due(&old, 1000 + 4 * 3600 + 900, m, h), "four hours old: every half hour");
        assert!(due(&old, 1000 + 4 * 3600 + 1800, m, h));
    }
}
