//! "Did my payment go through?": our own record first, then `orderquery` of the order's
//! open attempts. The reconciler asks WeChat through the same `query_attempt`.
//!
//! Owns what an `orderquery` answer does to an attempt: paid → `apply_payment` (the one
//! path notifications take too); CLOSED / PAYERROR / REVOKED → that attempt is closed (never
//! the order); NOTPAY, USERPAYING, ACCEPT, ORDERNOTEXIST and errors → nothing.

use std::time::Duration;

use crate::domain::{EventSource, Order, OrderStatus};
use crate::wxpay::{self, messages::TradeState};

use super::apply::Outcome;
use super::{Checkout, CheckoutError};

/// At most one round of `orderquery` per order this often, however often the buyer taps.
const CHECK_GAP: Duration = Duration::from_secs(2);

/// What one `orderquery` of an attempt found.
#[derive(Debug)]
pub enum Queried {
    /// WeChat says paid; the result went through `apply_payment`.
    Paid(Outcome),
    /// NOTPAY, USERPAYING or ACCEPT: the buyer may still pay.
    Unpaid,
    /// CLOSED, PAYERROR or REVOKED: it can never be paid; the attempt is now closed here.
    Ended(TradeState),
    /// ORDERNOTEXIST: WeChat does not know this `out_trade_no` (never closes anything by itself).
    NotExist,
    /// No usable answer (transport, SYSTEMERROR, a bad signature …): try again later.
    Failed(wxpay::Error),
}

impl Checkout {
    /// The buyer's check. Never closes anything; at most one WeChat query per order every 2 s.
    pub async fn check_order(&self, order_no: &str) -> Result<Order, CheckoutError> {
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        // why: our record first — a notification usually arrived before the buyer tapped.
        if order.status != OrderStatus::Pending || !self.claim_check(order_no, CHECK_GAP) {
            return Ok(order);
        }
        for out_trade_no in queryable_attempts(&order) {
            self.query_attempt(&order.no, &out_trade_no, EventSource::Query).await?;
        }
        self.store.order(order_no)?.ok_or(CheckoutError::NotFound)
    }

    /// Asks WeChat about one attempt and records what the answer proves. Only store
    /// failures are errors; WeChat's own failures come back as `Queried::Failed`.
    pub async fn query_attempt(
        &self,
        order_no: &str,
        out_trade_no: &str,
        source: EventSource,
    ) -> Result<Queried, CheckoutError> {
        // why its own API: a query through the other version may answer "no such order".
        let api = self.attempt_api(order_no, out_trade_no)?;
        let answer = match self.query_on(api, out_trade_no).await {
            Ok(answer) => answer,
            Err(e) if e.err_code() == Some("ORDERNOTEXIST") => return Ok(Queried::NotExist),
            Err(e) => {
                // why: the buyer (or the next reconciler round) simply asks again.
                super::NO_ANSWER.note("orderquery", || format!("order {order_no}, {out_trade_no}: {e}"));
                return Ok(Queried::Failed(e));
            }
        };
        match answer.trade_state {
            TradeState::Success | TradeState::Refund => match answer.facts {
                Some(facts) => Ok(Queried::Paid(self.apply_payment(&facts, source, None).await?)),
                None => {
                    super::TROUBLE.note("orderquery says paid but lacks the payment's fields", || {
                        format!("order {order_no}, {out_trade_no}")
                    });
                    Ok(Queried::Failed(wxpay::Error::Malformed("paid answer without its fields".into())))
                }
            },
            TradeState::Closed | TradeState::PayError | TradeState::Revoked => {
                let message =
                    format!("WeChat reports {out_trade_no} as {}: attempt closed", answer.trade_state);
                self.close_attempt(order_no, out_trade_no, source, message).await?;
                Ok(Queried::Ended(answer.trade_state))
            }
            _ => Ok(Queried::Unpaid),
        }
    }

    /// Marks one open attempt closed, with the event `message` from `source`, on disk when
    /// this returns. `false`: it was not open (nothing written). The one way an attempt is
    /// closed on our side: the check, the merchant's sync and settling before a new attempt.
    pub(super) async fn close_attempt(
        &self,
        order_no: &str,
        out_trade_no: &str,
        source: EventSource,
        message: String,
    ) -> Result<bool, CheckoutError> {
        let at = self.now();
        let (_, closed) = self.store.update_order(order_no, |o| {
            match o.close_attempt(out_trade_no, at, source, message.clone()) {
                Some(event) => (true, vec![event]),
                None => (false, Vec::new()),
            }
        })?;
        if closed {
            self.store.flush().await?;
        }
        Ok(closed)
    }
}

/// The attempts worth asking WeChat about: open, with a prepay (WeChat knows them), newest
/// first (the one the buyer most likely just paid).
pub fn queryable_attempts(order: &Order) -> Vec<String> {
    let mut open: Vec<_> = order.open_attempts().filter(|a| a.prepay_id.is_some()).collect();
    open.sort_by_key(|a| std::cmp::Reverse(a.created_at));
    open.into_iter().map(|a| a.out_trade_no.clone()).collect()
}
