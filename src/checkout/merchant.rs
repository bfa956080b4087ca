//! The merchant's actions on one order from the admin: *Sync with WeChat* (`orderquery` of
//! every attempt, now) and *Close* (query, `closeorder`, then close here and give the stock
//! back).
//!
//! Payments found go through `apply_payment`, the one path of notifications and the buyer's
//! check; the order's state is decided by `domain::Order`. Nothing here closes a paid order,
//! and a close that WeChat refuses closes nothing here either.

use std::time::Duration;

use crate::domain::{Applied, Event, EventKind, EventSource, Order, OrderStatus};
use crate::wxpay::messages::TradeState;

use super::check::Queried;
use super::{Checkout, CheckoutError};

/// What WeChat said about one attempt during a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLine {
    pub out_trade_no: String,
    /// WeChat's `trade_state` (`SUCCESS`, `REFUND`, `NOTPAY` …), `ORDERNOTEXIST`, or why
    /// there was no answer.
    pub wechat: String,
    /// What it changed here, in words (empty: nothing).
    pub effect: String,
}

/// How a merchant's close ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// Closed at WeChat and here; reserved stock given back.
    Closed,
    /// WeChat says it was paid: the payment is applied and the order stays paid.
    Paid,
    /// Only pending orders close.
    NotPending(OrderStatus),
    /// An attempt is in its first 5 minutes, when WeChat refuses `closeorder`: nothing closed.
    TooEarly { out_trade_no: String, wait: Duration },
    /// WeChat did not answer, refused, or reported a payment that does not match: nothing
    /// closed here (the reason is for the merchant).
    Refused(String),
}

impl Checkout {
    /// Asks WeChat about every attempt of the order now — closed and paid ones too, whose
    /// `REFUND` state shows refunds — and applies what the answers prove. No rate limit: the
    /// merchant asked. Adds one `synced` event with what WeChat said.
    pub async fn sync_with_wechat(&self, order_no: &str) -> Result<Vec<SyncLine>, CheckoutError> {
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        let mut lines = Vec::with_capacity(order.attempts.len());
        for a in &order.attempts {
            lines.push(self.sync_attempt(&order, &a.out_trade_no, a.prepay_id.is_some()).await?);
        }
        let summary = if lines.is_empty() {
            "synced with WeChat: no payment attempt yet".to_owned()
        } else {
            let parts: Vec<String> = lines
                .iter()
                .map(|l| {
                    let effect =
                        if l.effect.is_empty() { String::new() } else { format!(" → {}", l.effect) };
                    format!("{}: {}{effect}", l.out_trade_no, l.wechat)
                })
                .collect();
            format!("synced with WeChat: {}", parts.join("; "))
        };
        let event = Event::new(self.now(), EventSource::Admin, EventKind::Synced, summary);
        self.store.update_order(order_no, |_| ((), vec![event.clone()]))?;
        self.store.flush().await?;
        Ok(lines)
    }

    async fn sync_attempt(
        &self,
        order: &Order,
        out_trade_no: &str,
        had_prepay: bool,
    ) -> Result<SyncLine, CheckoutError> {
        let line = |wechat: String, effect: &str| SyncLine {
            out_trade_no: out_trade_no.to_owned(),
            wechat,
            effect: effect.to_owned(),
        };
        let api = order.attempt(out_trade_no).map_or(self.settings.api, |a| a.api);
        let answer = match self.query_on(api, out_trade_no).await {
            Ok(answer) => answer,
            Err(e) if e.err_code() == Some("ORDERNOTEXIST") => {
                let why = if had_prepay { "" } else { "never reached WeChat" };
                return Ok(line("ORDERNOTEXIST".into(), why));
            }
            Err(e) => return Ok(line(format!("no answer ({e})"), "")),
        };
        let state = answer.trade_state.to_string();
        match answer.trade_state {
            TradeState::Success | TradeState::Refund => {
                let Some(facts) = answer.facts else {
                    return Ok(line(state, "answer lacks the payment's fields"));
                };
                let outcome = self.apply_payment(&facts, EventSource::Admin, None).await?;
                Ok(line(state, applied_words(&outcome.applied)))
            }
            TradeState::Closed | TradeState::PayError | TradeState::Revoked => {
                let message = format!("WeChat reports {out_trade_no} as {state}: attempt closed");
                let closed = self.close_attempt(&order.no, out_trade_no, EventSource::Admin, message).await?;
                Ok(line(state, if closed { "attempt closed" } else { "" }))
            }
            _ => Ok(line(state, "")),
        }
    }

    /// The merchant's *Close*: a pending order only. Each open attempt is queried first (a
    /// payment found is applied and the order is not closed), then closed at WeChat; only
    /// when WeChat closed all of them is the order closed here and its stock given back.
    pub async fn close_by_merchant(&self, order_no: &str) -> Result<CloseOutcome, CheckoutError> {
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        if order.status != OrderStatus::Pending {
            return Ok(CloseOutcome::NotPending(order.status));
        }
        for a in order.open_attempts().filter(|a| a.prepay_id.is_some()) {
            match self.query_attempt(order_no, &a.out_trade_no, EventSource::Admin).await? {
                Queried::Paid(o) if counts(&o.applied) => return Ok(CloseOutcome::Paid),
                Queried::Paid(_) => {
                    return Ok(CloseOutcome::Refused(format!(
                        "WeChat reports a payment for {} that does not match this order (see the timeline)",
                        a.out_trade_no
                    )));
                }
                Queried::Failed(e) => {
                    return Ok(CloseOutcome::Refused(format!("WeChat did not answer the query ({e})")));
                }
                Queried::Unpaid | Queried::Ended(_) | Queried::NotExist => {}
            }
        }
        // why re-read: the queries may have closed attempts (CLOSED at WeChat) or paid the order.
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        if order.status != OrderStatus::Pending {
            return Ok(if order.status.is_paid() {
                CloseOutcome::Paid
            } else {
                CloseOutcome::NotPending(order.status)
            });
        }
        let at_wechat: Vec<String> =
            order.open_attempts().filter(|a| a.prepay_id.is_some()).map(|a| a.out_trade_no.clone()).collect();
        if let Some(early) = self.too_early(&order) {
            return Ok(early);
        }
        for out_trade_no in &at_wechat {
            if let Some(stop) = self.close_at_wechat(&order, out_trade_no).await? {
                return Ok(stop);
            }
        }
        self.close_here(&order, &at_wechat).await
    }

    /// WeChat refuses `closeorder` in an attempt's first 5 minutes; checked for every attempt
    /// before any is closed, so a refusal never leaves the order half closed.
    fn too_early(&self, order: &Order) -> Option<CloseOutcome> {
        let after = self.settings.reconcile.close_after;
        order.open_attempts().filter(|a| a.prepay_id.is_some()).find_map(|a| {
            let age =
                Duration::from_secs(u64::try_from(self.now().saturating_sub(a.created_at)).unwrap_or(0));
            (age < after).then(|| CloseOutcome::TooEarly {
                out_trade_no: a.out_trade_no.clone(),
                wait: after.saturating_sub(age).max(Duration::from_secs(1)),
            })
        })
    }

    /// `closeorder` of one attempt. `None`: closed (or WeChat never knew it); else why to stop.
    async fn close_at_wechat(
        &self,
        order: &Order,
        out_trade_no: &str,
    ) -> Result<Option<CloseOutcome>, CheckoutError> {
        let api = order.attempt(out_trade_no).map_or(self.settings.api, |a| a.api);
        let e = match self.close_on(api, out_trade_no).await {
            Ok(_) => return Ok(None),
            Err(e) => e,
        };
        match e.err_code() {
            // why ORDERNOTEXIST closes here: the merchant decided, and a payment WeChat reports
            // later is still applied to a closed order (`Order::apply_payment`).
            Some("ORDERCLOSED" | "ORDERNOTEXIST") => Ok(None),
            // why: paid between our query and the close; the query now proves it.
            Some("ORDERPAID") => {
                let q = self.query_attempt(&order.no, out_trade_no, EventSource::Admin).await?;
                Ok(Some(match q {
                    Queried::Paid(o) if counts(&o.applied) => CloseOutcome::Paid,
                    _ => CloseOutcome::Refused(format!("WeChat says {out_trade_no} is paid; sync to see it")),
                }))
            }
            Some("TRADE_STATE_ERROR") => Ok(Some(CloseOutcome::TooEarly {
                out_trade_no: out_trade_no.to_owned(),
                wait: self.settings.reconcile.close_after,
            })),
            _ => Ok(Some(CloseOutcome::Refused(format!("WeChat refused to close {out_trade_no} ({e})")))),
        }
    }

    /// Closes the order here once every attempt WeChat knew is closed there, then gives the
    /// stock back. A buyer who started a new attempt meanwhile keeps the order open.
    async fn close_here(&self, order: &Order, at_wechat: &[String]) -> Result<CloseOutcome, CheckoutError> {
        let message = if at_wechat.is_empty() {
            "closed by the merchant".to_owned()
        } else {
            format!("closed by the merchant (attempts closed at WeChat: {})", at_wechat.join(", "))
        };
        let at = self.now();
        let (closed, did) = self.store.update_order(&order.no, |o| {
            let others_open =
                o.open_attempts().any(|a| a.prepay_id.is_some() && !at_wechat.contains(&a.out_trade_no));
            if others_open || !o.close(at) {
                return (false, vec![]);
            }
            (true, vec![Event::new(at, EventSource::Admin, EventKind::Closed, message.clone())])
        })?;
        if !did {
            return Ok(if closed.status.is_paid() {
                CloseOutcome::Paid
            } else {
                CloseOutcome::Refused("a new payment attempt started meanwhile; try again".to_owned())
            });
        }
        self.store.flush().await?;
        self.release_stock(&closed)?;
        self.store.flush().await?;
        Ok(CloseOutcome::Closed)
    }
}

/// The order is paid after this outcome (by this attempt or an earlier one).
fn counts(applied: &Applied) -> bool {
    matches!(applied, Applied::Paid | Applied::Duplicate | Applied::DoublePayment)
}

fn applied_words(applied: &Applied) -> &'static str {
    match applied {
        Applied::Paid => "payment applied: the order is paid",
        Applied::Duplicate => "",
        Applied::DoublePayment => "a second payment: recorded as a double payment to refund",
        Applied::Mismatch(_) => "does not match the order: not applied (see the timeline)",
        Applied::UnknownAttempt => "not an attempt of this order: not applied",
    }
}
