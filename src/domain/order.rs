//! Orders and payment attempts, and the order state machine as pure functions.
//!
//! Every change of state is decided here from facts the caller passes in (a verified
//! notification or query, the time, new ids); the store persists what this decides, and
//! nothing else may flip an order's status.

use serde::{Deserialize, Serialize};

pub use super::event_kind::EventKind;
use super::fulfilment::Fulfilment;
use super::product::Contact;
use super::{ApiVersion, Channel, Fen};

/// The buyer-visible status of an order (also the `status` of `/o/<token>/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Closed,
    Refunded,
    PartiallyRefunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Closed => "closed",
            OrderStatus::Refunded => "refunded",
            OrderStatus::PartiallyRefunded => "partially_refunded",
        }
    }

    /// Money was taken for this order (it may since have been given back).
    pub fn is_paid(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Refunded | OrderStatus::PartiallyRefunded)
    }
}

/// One product line, copied at order time so later price changes do not touch it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub slug: String,
    pub name: String,
    pub unit: Fen,
    pub qty: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    /// A prepay exists (or is being made); the buyer may be paying.
    Open,
    Paid,
    /// Closed at WeChat, or given up in favour of a newer attempt.
    Closed,
}

/// One try to pay, with its own `out_trade_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub out_trade_no: String,
    pub channel: Channel,
    pub openid: Option<String>,
    pub client_ip: String,
    pub prepay_id: Option<String>,
    pub mweb_url: Option<String>,
    pub code_url: Option<String>,
    /// Unix seconds, UTC.
    pub created_at: i64,
    /// When the current prepay was issued (a re-entry refreshes it).
    pub prepay_at: Option<i64>,
    pub state: AttemptState,
    pub transaction_id: Option<String>,
    pub paid_at: Option<i64>,
    /// What this attempt sent to `unifiedorder` (absent in records from before it was kept).
    #[serde(default)]
    pub request: Option<PrepayRequest>,
    /// The API it was placed on: its query, close and refunds go through that one. Records
    /// written before it was kept were placed on v2 (the only API then).
    #[serde(default)]
    pub api: ApiVersion,
}

impl Attempt {
    /// A new try to pay on `channel`: open, with no prepay yet and nothing paid.
    pub fn open(
        out_trade_no: impl Into<String>,
        channel: Channel,
        client_ip: impl Into<String>,
        at: i64,
    ) -> Attempt {
        Attempt {
            out_trade_no: out_trade_no.into(),
            channel,
            openid: None,
            client_ip: client_ip.into(),
            prepay_id: None,
            mweb_url: None,
            code_url: None,
            created_at: at,
            prepay_at: None,
            state: AttemptState::Open,
            transaction_id: None,
            paid_at: None,
            request: None,
            api: ApiVersion::V2,
        }
    }
}

/// The `unifiedorder` parameters of an attempt, kept so that renewing an expired prepay sends
/// identical ones: WeChat answers "201 商户订单号重复" to any difference
/// (docs/wechat-pay-v2.md#re-entering-an-order-number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepayRequest {
    pub body: String,
    pub attach: Option<String>,
    pub total_fee: u64,
    pub notify_url: String,
    /// Unix seconds, UTC (sent as Beijing time).
    pub time_start: i64,
    pub time_expire: i64,
    /// NATIVE only.
    pub product_id: Option<String>,
    /// MWEB only.
    pub scene_info: Option<String>,
}

/// What WeChat says was paid: from a verified notification or `orderquery` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFacts {
    pub appid: String,
    pub mch_id: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub total_fee: u64,
    pub paid_at: i64,
}

/// Why a payment fact was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Another merchant's appid or mch_id.
    Merchant,
    /// `total_fee` is not the order's total.
    Amount { expected: Fen, got: u64 },
}

/// The outcome of applying a payment fact to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The order is now paid.
    Paid,
    /// Already recorded: nothing changes.
    Duplicate,
    /// The order was already paid by another attempt: this payment must be refunded.
    DoublePayment,
    /// Not applied; the admin must look.
    Mismatch(Mismatch),
    /// No attempt of this order has that `out_trade_no`.
    UnknownAttempt,
}

/// An order with its lines, total, attempts and refund tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub no: String,
    pub token: String,
    pub lines: Vec<Line>,
    pub total: Fen,
    pub contact: Contact,
    pub status: OrderStatus,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub attempts: Vec<Attempt>,
    /// The attempt whose payment counts.
    pub paid_by: Option<String>,
    /// Sum of the settled refunds.
    pub refunded: Fen,
    /// The `out_refund_no`s already counted in `refunded`.
    #[serde(default)]
    pub settled_refunds: Vec<String>,
    /// What the merchant did with the goods (absent in records from before it was kept:
    /// nothing yet); where the order stands is `Order::stage` (`domain::fulfilment`).
    #[serde(default)]
    pub fulfilment: Fulfilment,
    /// How long this order may stay unpaid, fixed when it was placed (seconds). Absent in
    /// records from before it was kept: the shop's lifetime at the time it is read.
    ///
    /// why fixed: the merchant may change the shop's lifetime while orders wait; a buyer who
    /// is paying must not see the order closed under them by a later, shorter setting.
    #[serde(default)]
    pub lifetime_secs: Option<u32>,
}

impl Order {
    /// An order as it is placed: pending, with no attempt to pay yet, nothing paid or
    /// refunded, and the shop's lifetime (`lifetime_secs: None`) unless the caller fixes one.
    pub fn placed(
        no: String,
        token: String,
        lines: Vec<Line>,
        total: Fen,
        contact: Contact,
        at: i64,
    ) -> Order {
        Order {
            no,
            token,
            lines,
            total,
            contact,
            status: OrderStatus::Pending,
            created_at: at,
            paid_at: None,
            closed_at: None,
            attempts: Vec::new(),
            paid_by: None,
            refunded: Fen::ZERO,
            settled_refunds: Vec::new(),
            fulfilment: Fulfilment::default(),
            lifetime_secs: None,
        }
    }

    /// How long this order may stay unpaid: its own lifetime, else `shop_default`.
    pub fn lifetime(&self, shop_default: std::time::Duration) -> std::time::Duration {
        self.lifetime_secs.map_or(shop_default, |s| std::time::Duration::from_secs(u64::from(s)))
    }

    pub fn attempt(&self, out_trade_no: &str) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.out_trade_no == out_trade_no)
    }

    fn attempt_mut(&mut self, out_trade_no: &str) -> Option<&mut Attempt> {
        self.attempts.iter_mut().find(|a| a.out_trade_no == out_trade_no)
    }

    /// Closes the attempt `out_trade_no` if it is open (WeChat says it can never be paid, or
    /// it was closed there), and gives the event that records it; `None` when it was not open.
    pub fn close_attempt(
        &mut self,
        out_trade_no: &str,
        at: i64,
        source: EventSource,
        message: String,
    ) -> Option<Event> {
        let a = self.attempt_mut(out_trade_no).filter(|a| a.state == AttemptState::Open)?;
        a.state = AttemptState::Closed;
        Some(Event::new(at, source, EventKind::AttemptClosed, message))
    }

    /// Attempts that may still be paid at WeChat (to query before closing or switching).
    pub fn open_attempts(&self) -> impl Iterator<Item = &Attempt> {
        self.attempts.iter().filter(|a| a.state == AttemptState::Open)
    }

    /// Whether `out_trade_no` is a double payment: an attempt WeChat reports paid that is not
    /// the one the order counts (`paid_by`), so its money must go back to the buyer.
    pub fn is_extra_payment(&self, out_trade_no: &str) -> bool {
        self.paid_by.as_deref() != Some(out_trade_no)
            && self.attempt(out_trade_no).is_some_and(|a| a.state == AttemptState::Paid)
    }

    /// Applies a verified payment fact (`appid`/`mch_id` are ours, to compare).
    ///
    /// why: a payment WeChat reports is money taken, so it is applied even to an order we
    /// closed locally; only facts that do not match our records are refused.
    pub fn apply_payment(&mut self, facts: &PaymentFacts, appid: &str, mch_id: &str) -> Applied {
        if facts.appid != appid || facts.mch_id != mch_id {
            return Applied::Mismatch(Mismatch::Merchant);
        }
        if facts.total_fee != self.total.get() {
            return Applied::Mismatch(Mismatch::Amount { expected: self.total, got: facts.total_fee });
        }
        let already_paid_by = self.paid_by.clone();
        let Some(attempt) = self.attempt_mut(&facts.out_trade_no) else {
            return Applied::UnknownAttempt;
        };
        if attempt.state == AttemptState::Paid {
            return Applied::Duplicate;
        }
        attempt.state = AttemptState::Paid;
        attempt.transaction_id = Some(facts.transaction_id.clone());
        attempt.paid_at = Some(facts.paid_at);
        if already_paid_by.is_some() {
            return Applied::DoublePayment;
        }
        self.paid_by = Some(facts.out_trade_no.clone());
        self.paid_at = Some(facts.paid_at);
        self.closed_at = None;
        self.status = OrderStatus::Paid;
        Applied::Paid
    }

    /// Closes an unpaid order (expiry, or the merchant). A paid order is never closed.
    pub fn close(&mut self, now: i64) -> bool {
        if self.status != OrderStatus::Pending {
            return false;
        }
        self.status = OrderStatus::Closed;
        self.closed_at = Some(now);
        for a in self.attempts.iter_mut().filter(|a| a.state == AttemptState::Open) {
            a.state = AttemptState::Closed;
        }
        true
    }

    /// Records a settled refund once (WeChat repeats refund notifications) and moves the
    /// status to (partially) refunded. `Ok(false)`: this refund was already counted.
    pub fn apply_refund(&mut self, out_refund_no: &str, amount: Fen) -> Result<bool, RefundRefused> {
        if !self.status.is_paid() {
            return Err(RefundRefused::NotPaid);
        }
        if self.settled_refunds.iter().any(|r| r == out_refund_no) {
            return Ok(false);
        }
        let total =
            self.refunded.checked_add(amount).filter(|t| *t <= self.total).ok_or(RefundRefused::TooMuch)?;
        self.refunded = total;
        self.settled_refunds.push(out_refund_no.to_owned());
        self.status =
            if total == self.total { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded };
        Ok(true)
    }
}

/// Where a change of an order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    Buyer,
    Notification,
    Query,
    Reconciler,
    Admin,
    System,
}

/// One entry of an order's timeline (the admin shows them; raw XML of notifications kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unix seconds, UTC.
    pub at: i64,
    pub source: EventSource,
    /// What happened, stored as its short word (`placed`, `attempt_started`, `paid`, …).
    pub kind: EventKind,
    pub message: String,
    /// Needs the merchant's attention (mismatches, double payments, failures).
    pub attention: bool,
    pub raw: Option<String>,
}

impl Event {
    pub fn new(at: i64, source: EventSource, kind: EventKind, message: impl Into<String>) -> Event {
        Event { at, source, kind, message: message.into(), attention: false, raw: None }
    }

    pub fn attention(mut self) -> Event {
        self.attention = true;
        self
    }

    pub fn with_raw(mut self, raw: impl Into<String>) -> Event {
        self.raw = Some(raw.into());
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefused {
    #[error("the order is not paid")]
    NotPaid,
    #[error("more than was paid")]
    TooMuch,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(no: &str) -> Attempt {
        Attempt {
            out_trade_no: no.to_owned(),
            channel: Channel::Mweb,
            openid: None,
            client_ip: "203.0.113.7".to_owned(),
            prepay_id: Some("wx1".to_owned()),
            mweb_url: None,
            code_url: None,
            created_at: 100,
            prepay_at: Some(100),
            state: AttemptState::Open,
            transaction_id: None,
            paid_at: None,
            request: None,
            api: ApiVersion::V2,
        }
    }

    #[test]
    fn an_attempt_stored_before_versions_were_kept_was_placed_on_v2() {
        let mut json = serde_json::to_value(attempt("N-1")).expect("json");
        json.as_object_mut().expect("object").remove("api");
        let a: Attempt = serde_json::from_value(json).expect("old record");
        assert_eq!(a.api, ApiVersion::V2);
        let v3 = Attempt { api: ApiVersion::V3, ..attempt("N-2") };
        let back: Attempt = serde_json::from_value(serde_json::to_value(&v3).expect("json")).expect("read");
        assert_eq!(back.api, ApiVersion::V3);
    }

    fn order() -> Order {
        Order {
            no: "N1".to_owned(),
            token: "t".to_owned(),
            lines: vec![Line {
                slug: "coffee".into(),
                name: "Coffee".into(),
                unit: Fen::new(1200).expect("fen"),
                qty: 1,
            }],
            total: Fen::new(1200).expect("fen"),
            contact: Contact::default(),
            status: OrderStatus::Pending,
            created_at: 100,
            paid_at: None,
            closed_at: None,
            attempts: vec![attempt("A1"), attempt("A2")],
            paid_by: None,
            refunded: Fen::ZERO,
            settled_refunds: Vec::new(),
            fulfilment: Fulfilment::Waiting,
            lifetime_secs: None,
        }
    }

    fn facts(no: &str, fee: u64) -> PaymentFacts {
        PaymentFacts {
            appid: "wxapp".into(),
            mch_id: "100".into(),
            out_trade_no: no.into(),
            transaction_id: format!("T-{no}"),
            total_fee: fee,
            paid_at: 200,
        }
    }

    #[test]
    fn a_matching_payment_pays_the_order_once_and_a_repeat_changes_nothing() {
        let mut o = order();
        assert_eq!(o.apply_payment(&facts("A1", 1200), "wxapp", "100"), Applied::Paid);
        let after = o.clone();
        assert_eq!(o.apply_payment(&facts("A1", 1200), "wxapp", "100"), Applied::Duplicate);
        assert_eq!(o, after);
        assert_eq!(o.status, OrderStatus::Paid);
        assert_eq!(o.paid_by.as_deref(), Some("A1"));
    }

    #[test]
    fn a_second_attempt_paid_is_a_double_payment_and_the_order_stays_paid_by_the_first() {
        let mut o = order();
        o.apply_payment(&facts("A1", 1200), "wxapp", "100");
        assert_eq!(o.apply_payment(&facts("A2", 1200), "wxapp", "100"), Applied::DoublePayment);
        assert_eq!(o.paid_by.as_deref(), Some("A1"));
        assert_eq!(o.attempt("A2").map(|a| a.state), Some(AttemptState::Paid));
        assert!(o.is_extra_payment("A2"));
        assert!(!o.is_extra_payment("A1"), "the counted payment is not extra");
        assert!(!o.is_extra_payment("A9"));
    }

    #[test]
    fn wrong_amount_wrong_merchant_and_unknown_attempt_change_nothing() {
        let mut o = order();
        let before = o.clone();
        assert!(matches!(
            o.apply_payment(&facts("A1", 1), "wxapp", "100"),
            Applied::Mismatch(Mismatch::Amount { .. })
        ));
        assert_eq!(
            o.apply_payment(&facts("A1", 1200), "wxother", "100"),
            Applied::Mismatch(Mismatch::Merchant)
        );
        assert_eq!(o.apply_payment(&facts("A9", 1200), "wxapp", "100"), Applied::UnknownAttempt);
        assert_eq!(o, before);
    }

    #[test]
    fn a_payment_reported_after_a_local_close_still_pays_the_order() {
        let mut o = order();
        assert!(o.close(150));
        assert_eq!(o.apply_payment(&facts("A1", 1200), "wxapp", "100"), Applied::Paid);
        assert_eq!(o.status, OrderStatus::Paid);
        assert_eq!(o.closed_at, None);
    }

    #[test]
    fn a_paid_order_is_never_closed() {
        let mut o = order();
        o.apply_payment(&facts("A1", 1200), "wxapp", "100");
        assert!(!o.close(300));
        assert_eq!(o.status, OrderStatus::Paid);
    }

    #[test]
    fn refunds_move_the_order_to_partially_then_fully_refunded_and_never_beyond() {
        let fen = |n| Fen::new(n).expect("fen");
        let mut o = order();
        assert_eq!(o.apply_refund("R0", fen(1)), Err(RefundRefused::NotPaid));
        o.apply_payment(&facts("A1", 1200), "wxapp", "100");
        assert_eq!(o.apply_refund("R1", fen(600)), Ok(true));
        assert_eq!(o.status, OrderStatus::PartiallyRefunded);
        assert_eq!(o.apply_refund("R2", fen(601)), Err(RefundRefused::TooMuch));
        assert_eq!(o.apply_refund("R2", fen(600)), Ok(true));
        assert_eq!(o.status, OrderStatus::Refunded);
    }

    #[test]
    fn a_refund_reported_twice_is_counted_once() {
        let fen = |n| Fen::new(n).expect("fen");
        let mut o = order();
        o.apply_payment(&facts("A1", 1200), "wxapp", "100");
        assert_eq!(o.apply_refund("R1", fen(600)), Ok(true));
        let after = o.clone();
        assert_eq!(o.apply_refund("R1", fen(600)), Ok(false));
        assert_eq!(o, after);
        assert_eq!(o.status, OrderStatus::PartiallyRefunded);
    }
}
