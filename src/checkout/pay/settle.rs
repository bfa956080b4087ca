//! Settling the open attempts of an order before a new one: query each (a payment found is
//! applied through `apply_payment`), then close it where WeChat allows.
//!
//! why its own file: these are the rules that protect against paying twice, and they read
//! best apart from the rules for starting an attempt. `ORDERNOTEXIST` never closes anything.

use crate::domain::{Applied, Event, EventKind, EventSource, PaymentFacts};
use crate::wxpay::messages::TradeState;

use super::super::{Checkout, CheckoutError};

impl Checkout {
    /// Before a new attempt: each open attempt is queried (the buyer may have just paid it;
    /// then that is applied and the order is `NotPayable`), then closed where WeChat allows.
    pub(super) async fn settle_open_attempts(&self, order_no: &str) -> Result<(), CheckoutError> {
        let order = self.payable_order(order_no)?;
        let open: Vec<String> = order.open_attempts().map(|a| a.out_trade_no.clone()).collect();
        for out_trade_no in open {
            if self.settle(order_no, &out_trade_no).await? {
                return Err(CheckoutError::NotPayable("paid"));
            }
        }
        Ok(())
    }

    /// Queries, then closes one open attempt. `Ok(true)`: it was paid (and is now applied).
    /// Both go through the API the attempt was placed on.
    async fn settle(&self, order_no: &str, out_trade_no: &str) -> Result<bool, CheckoutError> {
        let api = self.attempt_api(order_no, out_trade_no)?;
        match self.query_on(api, out_trade_no).await {
            Ok(q) => {
                if self.apply_query(q.facts.as_ref()).await? {
                    return Ok(true);
                }
                if matches!(q.trade_state, TradeState::Closed | TradeState::Revoked) {
                    self.mark_closed(order_no, out_trade_no, "WeChat reports it closed").await?;
                    return Ok(false);
                }
            }
            // why: ORDERNOTEXIST may be an answer that never reached us; it closes nothing.
            Err(e) => crate::checkout::NO_ANSWER
                .note("orderquery before a new attempt", || format!("{out_trade_no}: {e}")),
        }
        match self.close_on(api, out_trade_no).await {
            Ok(_) => self.mark_closed(order_no, out_trade_no, "closed for a new attempt").await?,
            Err(e) => match e.err_code() {
                Some("ORDERPAID") => return self.query_and_apply(order_no, out_trade_no).await,
                Some("ORDERCLOSED") => {
                    self.mark_closed(order_no, out_trade_no, "already closed at WeChat").await?
                }
                // why: within its first 5 minutes WeChat refuses to close an attempt; it stays
                // open here and the reconciler closes it later (after querying it again).
                _ => {
                    self.note(
                        order_no,
                        EventKind::CloseDeferred,
                        format!("closeorder {out_trade_no}: {e}; left open"),
                    )
                    .await?
                }
            },
        }
        Ok(false)
    }

    /// Queries one attempt and applies a payment it reports. `Ok(true)`: the order is paid.
    pub(super) async fn query_and_apply(
        &self,
        order_no: &str,
        out_trade_no: &str,
    ) -> Result<bool, CheckoutError> {
        let api = self.attempt_api(order_no, out_trade_no)?;
        let q = self.query_on(api, out_trade_no).await?;
        self.apply_query(q.facts.as_ref()).await
    }

    /// Applies the payment a query proved, if any. `Ok(true)`: the order is paid.
    async fn apply_query(&self, facts: Option<&PaymentFacts>) -> Result<bool, CheckoutError> {
        let Some(facts) = facts else {
            return Ok(false);
        };
        let outcome = self.apply_payment(facts, EventSource::Query, None).await?;
        Ok(matches!(outcome.applied, Applied::Paid | Applied::Duplicate | Applied::DoublePayment))
    }

    /// Closes an open attempt on our side with the reason `why` (System).
    pub(super) async fn mark_closed(
        &self,
        order_no: &str,
        out_trade_no: &str,
        why: &str,
    ) -> Result<(), CheckoutError> {
        let message = format!("attempt {out_trade_no} closed: {why}");
        self.close_attempt(order_no, out_trade_no, EventSource::System, message).await?;
        Ok(())
    }

    /// An event that changes nothing but belongs in the timeline.
    async fn note(&self, order_no: &str, kind: EventKind, message: String) -> Result<(), CheckoutError> {
        let event = Event::new(self.now(), EventSource::System, kind, message);
        self.store.update_order(order_no, |_| ((), vec![event.clone()]))?;
        self.store.flush().await?;
        Ok(())
    }
}
