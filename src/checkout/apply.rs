//! Applying payment results: one code path for notifications and `orderquery` answers.
//!
//! A result is applied only when it verified (the caller got it from `wxpay`, which checks
//! signatures) and `domain::Order::apply_payment` accepts its merchant, `out_trade_no` and
//! amount; the change and its event are one store transaction, flushed before returning.

use crate::domain::order::Mismatch;
use crate::domain::{Applied, Event, EventKind, EventSource, Order, PaymentFacts};
use crate::wxpay::messages::{OrderQueryResponse, TradeState, parse_beijing_time};
use crate::wxpay::notify::PaidOrder;

use super::{Checkout, CheckoutError};

/// What the caller learns from applying a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub applied: Applied,
    /// The order the payment belongs to, when known.
    pub order_no: Option<String>,
}

impl Checkout {
    /// Applies a verified payment, durably. `raw` is the notification's XML, kept in the event.
    pub async fn apply_payment(
        &self,
        facts: &PaymentFacts,
        source: EventSource,
        raw: Option<&str>,
    ) -> Result<Outcome, CheckoutError> {
        let Some(order) = self.store.order_by_out_trade_no(&facts.out_trade_no)? else {
            let message = format!(
                "payment {} of {} fen for unknown out_trade_no {}",
                facts.transaction_id, facts.total_fee, facts.out_trade_no
            );
            let mut event = Event::new(self.now(), source, EventKind::UnknownOrder, message).attention();
            event.raw = raw.map(str::to_owned);
            self.store.record_unmatched(&event)?;
            self.store.flush().await?;
            return Ok(Outcome { applied: Applied::UnknownAttempt, order_no: None });
        };
        let (appid, mch_id) = (&self.settings.appid, &self.settings.mch_id);
        // why a duplicate is answered from the read: most notifications are WeChat's repeats of
        // one already applied (it resends until it has our SUCCESS, and sends copies), and for
        // those the transaction below would read, decide `Duplicate`, write nothing and add no
        // event — twelve trees locked for nothing. The read cannot be stale in a way that
        // matters: an attempt marked paid stays paid (no change takes `Paid` away), and the
        // checks before it (merchant, amount) compare fields that never change, so what the
        // transaction would decide from a later state is `Duplicate` too.
        // why still `flush`: the paid state read here is committed but may not be on disk yet
        // (the first notification's own flush may still be running, or have failed); this
        // flush returns once everything written so far is durable, so SUCCESS is never sent
        // for a payment a crash could lose. With nothing new to write, sled's flush returns
        // without a disk sync.
        if order.clone().apply_payment(facts, appid, mch_id) == Applied::Duplicate {
            self.store.flush().await?;
            return Ok(Outcome { applied: Applied::Duplicate, order_no: Some(order.no) });
        }
        let (facts, appid, mch_id) = (facts.clone(), appid.clone(), mch_id.clone());
        let (raw, at) = (raw.map(str::to_owned), self.now());
        let change = move |o: &mut Order| {
            let applied = o.apply_payment(&facts, &appid, &mch_id);
            let events = payment_event(&applied, &facts, source, raw.as_deref(), at).into_iter().collect();
            (applied, events)
        };
        let (_, applied) = self.payments.commit(order.no.clone(), Box::new(change)).await?;
        self.store.flush().await?;
        Ok(Outcome { applied, order_no: Some(order.no) })
    }
}

/// The timeline entry of an applied result; a duplicate leaves the timeline as it is.
fn payment_event(
    applied: &Applied,
    facts: &PaymentFacts,
    source: EventSource,
    raw: Option<&str>,
    at: i64,
) -> Option<Event> {
    let tx = &facts.transaction_id;
    let event = match applied {
        Applied::Duplicate => return None,
        Applied::Paid => {
            Event::new(at, source, EventKind::Paid, format!("paid by {} (WeChat {tx})", facts.out_trade_no))
        }
        Applied::DoublePayment => Event::new(
            at,
            source,
            EventKind::DoublePayment,
            format!("attempt {} was paid too (WeChat {tx}): refund it", facts.out_trade_no),
        )
        .attention(),
        Applied::Mismatch(Mismatch::Amount { expected, got }) => Event::new(
            at,
            source,
            EventKind::AmountMismatch,
            format!(
                "WeChat reports {got} fen paid for {}, the order is {} fen: not applied",
                facts.out_trade_no,
                expected.get()
            ),
        )
        .attention(),
        Applied::Mismatch(Mismatch::Merchant) => Event::new(
            at,
            source,
            EventKind::MerchantMismatch,
            format!("payment for appid {} / mch_id {}: not ours, not applied", facts.appid, facts.mch_id),
        )
        .attention(),
        Applied::UnknownAttempt => Event::new(
            at,
            source,
            EventKind::UnknownAttempt,
            format!("no attempt {} on this order: not applied", facts.out_trade_no),
        )
        .attention(),
    };
    Some(match raw {
        Some(r) => event.with_raw(r),
        None => event,
    })
}

/// The payment facts of a verified notification (`now` stands in for an unreadable `time_end`).
pub fn facts_from_notification(paid: &PaidOrder, now: i64) -> PaymentFacts {
    PaymentFacts {
        appid: paid.appid.clone(),
        mch_id: paid.mch_id.clone(),
        out_trade_no: paid.out_trade_no.clone(),
        transaction_id: paid.transaction_id.clone(),
        total_fee: paid.total_fee,
        paid_at: beijing_unix(&paid.time_end, now),
    }
}

/// The payment facts of a verified `orderquery` answer that says the order was paid
/// (`SUCCESS`, or `REFUND`: paid, then refunded in part or whole).
pub fn facts_from_query(q: &OrderQueryResponse, appid: &str, mch_id: &str, now: i64) -> Option<PaymentFacts> {
    if !matches!(q.trade_state, TradeState::Success | TradeState::Refund) {
        return None;
    }
    Some(PaymentFacts {
        // why: the client already refused answers naming another merchant.
        appid: q.raw.get("appid").unwrap_or(appid).to_owned(),
        mch_id: q.raw.get("mch_id").unwrap_or(mch_id).to_owned(),
        out_trade_no: q.out_trade_no.clone()?,
        transaction_id: q.transaction_id.clone()?,
        total_fee: q.total_fee?,
        paid_at: q.time_end.as_deref().map_or(now, |t| beijing_unix(t, now)),
    })
}

fn beijing_unix(s: &str, now: i64) -> i64 {
    parse_beijing_time(s).map_or(now, |t| t.unix_timestamp())
}
