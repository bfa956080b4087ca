//! Refunds the merchant starts, and their way from requested to settled, as pure functions.
//!
//! A refund is written down (Requested) before WeChat hears of it, under its own
//! `out_refund_no`: WeChat treats a repeated `out_refund_no` as the same refund ("同一退款单号
//! 多次请求只退一笔", docs/wechat-pay-v2.md#requesting-a-refund), so a retry can never refund
//! twice. The order's own refund tally moves only when WeChat says SUCCESS
//! (`Order::apply_refund`); this record follows what WeChat said about the refund itself. No
//! I/O, no clock: callers pass `now`.

use serde::{Deserialize, Serialize};

use super::{ApiVersion, Fen, Order};

/// Where a refund stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Written down; WeChat has not (verifiably) accepted it yet. Retried with the same number.
    Requested,
    /// WeChat accepted it; the money is on its way back (notification or refundquery settles).
    Processing,
    Success,
    /// WeChat refused it (its `err_code` and words); nothing was refunded.
    Failed(String),
    /// CHANGE (退款异常): the transfer to the buyer failed; the merchant must refund another way.
    Change,
    /// REFUNDCLOSE: closed at WeChat, nothing refunded.
    Closed,
}

impl RefundStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::Processing => "processing",
            RefundStatus::Success => "success",
            RefundStatus::Failed(_) => "failed",
            RefundStatus::Change => "change",
            RefundStatus::Closed => "closed",
        }
    }

    /// Not settled yet: WeChat may still refund this money.
    pub fn is_open(&self) -> bool {
        matches!(self, RefundStatus::Requested | RefundStatus::Processing)
    }

    /// Final: nothing WeChat says later changes it.
    pub fn is_final(&self) -> bool {
        !self.is_open()
    }
}

/// What WeChat reports about a refund it knows (notification or refundquery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Processing,
    Success,
    Change,
    Closed,
}

/// One refund of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub out_refund_no: String,
    pub order_no: String,
    pub amount: Fen,
    pub reason: String,
    pub status: RefundStatus,
    /// WeChat's refund id, once it accepted the refund.
    pub refund_id: Option<String>,
    /// Unix seconds, UTC.
    pub created_at: i64,
    pub updated_at: i64,
    /// When WeChat was last asked about it (refundquery), to space the questions out.
    #[serde(default)]
    pub checked_at: Option<i64>,
    /// The last answer that left it Requested (no answer, SYSTEMERROR …), for the admin.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The `out_trade_no` of the double payment this refund gives back whole (a paid attempt
    /// that is not the order's counted payment); `None`: a refund of the order's payment.
    ///
    /// why kept apart: the merchant still holds the buyer's one payment, so such a refund
    /// never counts against the order (its status, `refunded`, what is left to refund).
    #[serde(default)]
    pub extra_payment: Option<String>,
    /// The API of the attempt it gives back (set when it is sent): its refund query goes
    /// through that one. Records written before it was kept were sent on v2.
    #[serde(default)]
    pub api: ApiVersion,
}

/// Longest `out_refund_no` WeChat takes (String(64)).
pub const MAX_OUT_REFUND_NO: usize = 64;
/// Longest `refund_desc` WeChat takes, in characters (String(80)).
pub const MAX_REASON: usize = 80;

/// `{order_no}R{n}`: the `n`th refund of an order (1-based). `None` when it would not be a
/// valid `out_refund_no` (≤ 64 of `[0-9A-Za-z_-|*@]`).
pub fn out_refund_no(order_no: &str, n: usize) -> Option<String> {
    let no = format!("{order_no}R{n}");
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-|*@".contains(c);
    (no.len() <= MAX_OUT_REFUND_NO && no.chars().all(allowed)).then_some(no)
}

/// The reason as WeChat's `refund_desc` takes it: at most 80 characters and no 4-byte UTF-8
/// characters (emoji). why: WeChat's database refuses them; the reason we keep is untouched.
pub fn refund_desc(reason: &str) -> Option<String> {
    let clean: String = reason
        .chars()
        .filter(|c| c.len_utf8() < 4 && !c.is_control())
        .take(MAX_REASON)
        .collect::<String>()
        .trim()
        .to_owned();
    (!clean.is_empty()).then_some(clean)
}

impl Refund {
    pub fn new(out_refund_no: String, order_no: &str, amount: Fen, reason: &str, now: i64) -> Refund {
        Refund {
            out_refund_no,
            order_no: order_no.to_owned(),
            amount,
            reason: reason.to_owned(),
            status: RefundStatus::Requested,
            refund_id: None,
            created_at: now,
            updated_at: now,
            checked_at: None,
            last_error: None,
            extra_payment: None,
            api: ApiVersion::V2,
        }
    }

    /// The same refund, giving back the double payment `out_trade_no` instead.
    pub fn of_extra_payment(mut self, out_trade_no: &str) -> Refund {
        self.extra_payment = Some(out_trade_no.to_owned());
        self
    }

    /// Refunds the order's counted payment (not a double payment).
    pub fn of_order_payment(&self) -> bool {
        self.extra_payment.is_none()
    }

    /// WeChat accepted the request. `false`: nothing changed (already further along).
    pub fn accepted(&mut self, refund_id: &str, now: i64) -> bool {
        if self.status != RefundStatus::Requested {
            return false;
        }
        self.status = RefundStatus::Processing;
        self.refund_id = Some(refund_id.to_owned());
        self.last_error = None;
        self.updated_at = now;
        true
    }

    /// WeChat refused the request for good. Only a request not yet accepted can fail.
    pub fn failed(&mut self, why: &str, now: i64) -> bool {
        if self.status != RefundStatus::Requested {
            return false;
        }
        self.status = RefundStatus::Failed(why.to_owned());
        self.updated_at = now;
        true
    }

    /// No usable answer (no answer at all, SYSTEMERROR …): it stays Requested, to retry.
    pub fn unanswered(&mut self, why: &str, now: i64) -> bool {
        if self.status != RefundStatus::Requested {
            return false;
        }
        self.last_error = Some(why.to_owned());
        self.updated_at = now;
        true
    }

    /// What WeChat reports about the refund. A final status never changes again (WeChat
    /// repeats notifications, and a late PROCESSING answer must not undo a SUCCESS).
    pub fn settle(&mut self, s: Settlement, refund_id: Option<&str>, now: i64) -> bool {
        if self.status.is_final() {
            return false;
        }
        let next = match s {
            Settlement::Processing => RefundStatus::Processing,
            Settlement::Success => RefundStatus::Success,
            Settlement::Change => RefundStatus::Change,
            Settlement::Closed => RefundStatus::Closed,
        };
        let id_new = refund_id.is_some_and(|id| self.refund_id.as_deref() != Some(id));
        if next == self.status && !id_new {
            return false;
        }
        if let Some(id) = refund_id {
            self.refund_id = Some(id.to_owned());
        }
        self.status = next;
        self.last_error = None;
        self.updated_at = now;
        true
    }

    /// Records that WeChat was asked about it now.
    pub fn checked(&mut self, now: i64) {
        self.checked_at = Some(now);
    }

    /// When it was last touched (changed or asked about).
    pub fn last_touch(&self) -> i64 {
        self.checked_at.map_or(self.updated_at, |c| c.max(self.updated_at))
    }
}

/// Why a refund may not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundDenied {
    #[error("the order is not paid")]
    NotPaid,
    #[error("the order is already fully refunded")]
    FullyRefunded,
    #[error("the amount must be more than ¥0.00")]
    Zero,
    #[error("at most {0} can still be refunded")]
    TooMuch(Fen),
}

/// What may still be refunded: what was paid, less the settled refunds and the refunds
/// still on their way (`refunds` are this order's records).
///
/// why count open refunds: two refunds started before either settles must not together
/// exceed what was paid; WeChat would refuse the second only after it was sent.
pub fn refundable(order: &Order, refunds: &[Refund]) -> Fen {
    if !order.status.is_paid() {
        return Fen::ZERO;
    }
    // why Success too: a refund reported settled whose order tally has not caught up yet
    // (the two are separate writes) still holds its money; counted once either way.
    let holds = |r: &Refund| r.status.is_open() || r.status == RefundStatus::Success;
    let in_flight = refunds
        .iter()
        .filter(|r| r.of_order_payment() && holds(r) && !order.settled_refunds.contains(&r.out_refund_no))
        .fold(Fen::ZERO, |sum, r| sum.checked_add(r.amount).unwrap_or(order.total));
    order.total.checked_sub(order.refunded).and_then(|left| left.checked_sub(in_flight)).unwrap_or(Fen::ZERO)
}

/// Whether a new refund of `amount` may start on `order`.
pub fn may_refund(order: &Order, refunds: &[Refund], amount: Fen) -> Result<(), RefundDenied> {
    use super::OrderStatus;
    match order.status {
        OrderStatus::Paid | OrderStatus::PartiallyRefunded => {}
        OrderStatus::Refunded => return Err(RefundDenied::FullyRefunded),
        OrderStatus::Pending | OrderStatus::Closed => return Err(RefundDenied::NotPaid),
    }
    if amount == Fen::ZERO {
        return Err(RefundDenied::Zero);
    }
    let left = refundable(order, refunds);
    if amount > left {
        return Err(RefundDenied::TooMuch(left));
    }
    Ok(())
}

/// A refund of the same amount and reason started on the order within `window` seconds and
/// not failed: a form sent twice (a double tap, a browser resend), to answer with that refund
/// instead of starting a second one.
pub fn same_recent<'r>(
    refunds: &'r [Refund],
    amount: Fen,
    reason: &str,
    now: i64,
    window: i64,
) -> Option<&'r Refund> {
    refunds.iter().rev().find(|r| {
        r.of_order_payment()
            && r.amount == amount
            && r.reason == reason
            && now.saturating_sub(r.created_at) < window
            && !matches!(r.status, RefundStatus::Failed(_))
    })
}

/// Why a double payment may not be given back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtraDenied {
    #[error("no payment attempt with that out_trade_no on this order")]
    NoSuchAttempt,
    #[error("that attempt was not paid")]
    NotPaid,
    /// It is the order's counted payment: the ordinary refund gives that back.
    #[error("that attempt is the order's counted payment")]
    Counted,
}

/// What a request to give back a double payment comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraRefund<'r> {
    /// Start a refund of this amount (the whole payment).
    Start(Fen),
    /// Its refund was already started (on its way, settled, or CHANGE): not again.
    Started(&'r Refund),
}

/// The latest refund giving back the double payment `out_trade_no`, if any.
pub fn extra_refund_of<'r>(refunds: &'r [Refund], out_trade_no: &str) -> Option<&'r Refund> {
    refunds.iter().rev().find(|r| r.extra_payment.as_deref() == Some(out_trade_no))
}

/// Whether a refund of a double payment in this state stands: on its way, settled, or
/// CHANGE (WeChat took the money off and the merchant pays the buyer another way). Only a
/// refused or closed one leaves the payment to give back again.
pub fn extra_refund_stands(r: &Refund) -> bool {
    r.status.is_open() || matches!(r.status, RefundStatus::Success | RefundStatus::Change)
}

/// Whether the double payment `out_trade_no` of `order` may be given back now, and how much.
///
/// why the whole order total: an attempt is recorded paid only when WeChat's `total_fee` is
/// the order's total (`Order::apply_payment`), so that is what the buyer paid twice.
pub fn may_refund_extra<'r>(
    order: &Order,
    refunds: &'r [Refund],
    out_trade_no: &str,
) -> Result<ExtraRefund<'r>, ExtraDenied> {
    let attempt = order.attempt(out_trade_no).ok_or(ExtraDenied::NoSuchAttempt)?;
    if attempt.state != super::AttemptState::Paid {
        return Err(ExtraDenied::NotPaid);
    }
    if order.paid_by.as_deref() == Some(out_trade_no) {
        return Err(ExtraDenied::Counted);
    }
    match extra_refund_of(refunds, out_trade_no).filter(|r| extra_refund_stands(r)) {
        Some(r) => Ok(ExtraRefund::Started(r)),
        None => Ok(ExtraRefund::Start(order.total)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AttemptState, Contact, OrderStatus};

    fn fen(n: u64) -> Fen {
        Fen::new(n).expect("fen")
    }

    fn paid_order(total: u64) -> Order {
        Order {
            no: "260101000001".into(),
            token: "t".into(),
            lines: vec![],
            total: fen(total),
            contact: Contact::default(),
            status: OrderStatus::Paid,
            created_at: 1,
            paid_at: Some(2),
            closed_at: None,
            attempts: vec![],
            paid_by: Some("A1".into()),
            refunded: Fen::ZERO,
            settled_refunds: vec![],
            fulfilment: Default::default(),
            lifetime_secs: None,
        }
    }

    #[test]
    fn refund_numbers_are_the_order_number_and_a_count_within_wechats_limits() {
        assert_eq!(out_refund_no("260101000001", 1).as_deref(), Some("260101000001R1"));
        assert_eq!(out_refund_no(&"9".repeat(62), 10), None, "65 characters");
        assert_eq!(out_refund_no("has space", 1), None);
    }

    #[test]
    fn the_reason_sent_to_wechat_has_no_emoji_and_at_most_80_characters() {
        assert_eq!(refund_desc("破损 😀 退货").as_deref(), Some("破损  退货"));
        assert_eq!(refund_desc(&"退".repeat(100)).map(|s| s.chars().count()), Some(80));
        assert_eq!(refund_desc(" 😀 "), None);
    }

    #[test]
    fn a_refund_goes_requested_processing_success_and_stays_there() {
        let mut r = Refund::new("NR1".into(), "N", fen(50), "x", 10);
        assert!(r.accepted("5000", 11));
        assert_eq!(r.status, RefundStatus::Processing);
        assert!(!r.failed("late", 12), "an accepted refund cannot fail");
        assert!(r.settle(Settlement::Success, Some("5000"), 13));
        assert!(!r.settle(Settlement::Success, Some("5000"), 14), "a repeat changes nothing");
        assert!(!r.settle(Settlement::Processing, None, 15), "a late PROCESSING does not undo it");
        assert_eq!(r.status, RefundStatus::Success);
    }

    #[test]
    fn an_unanswered_request_stays_requested_and_a_refused_one_fails() {
        let mut r = Refund::new("NR1".into(), "N", fen(50), "x", 10);
        assert!(r.unanswered("SYSTEMERROR", 11));
        assert_eq!(r.status, RefundStatus::Requested);
        assert!(r.failed("NOTENOUGH: 余额不足", 12));
        assert!(matches!(r.status, RefundStatus::Failed(_)));
        assert!(!r.settle(Settlement::Success, None, 13), "failed is final");
    }

    #[test]
    fn what_may_be_refunded_counts_settled_and_in_flight_refunds_once() {
        let mut o = paid_order(1000);
        let mut r1 = Refund::new("R1".into(), &o.no, fen(300), "a", 1);
        r1.accepted("w1", 2);
        assert_eq!(refundable(&o, std::slice::from_ref(&r1)), fen(700));
        o.apply_refund("R1", fen(300)).expect("settles");
        r1.settle(Settlement::Success, None, 3);
        let failed = {
            let mut r = Refund::new("R2".into(), &o.no, fen(500), "b", 4);
            r.failed("NOTENOUGH", 5);
            r
        };
        assert_eq!(refundable(&o, &[r1.clone(), failed.clone()]), fen(700));
        assert_eq!(may_refund(&o, &[r1.clone(), failed], fen(701)), Err(RefundDenied::TooMuch(fen(700))));
        assert_eq!(may_refund(&o, &[r1], fen(0)), Err(RefundDenied::Zero));
        o.status = OrderStatus::Pending;
        assert_eq!(may_refund(&o, &[], fen(1)), Err(RefundDenied::NotPaid));
    }

    #[test]
    fn the_same_form_sent_twice_within_the_window_finds_the_first_refund() {
        let r = Refund::new("R1".into(), "N", fen(50), "broken", 100);
        let all = [r];
        assert!(same_recent(&all, fen(50), "broken", 130, 60).is_some());
        assert!(same_recent(&all, fen(50), "broken", 161, 60).is_none());
        assert!(same_recent(&all, fen(51), "broken", 130, 60).is_none());
    }

    #[test]
    fn a_refund_of_a_double_payment_never_holds_the_orders_own_refundable_money() {
        let o = paid_order(1000);
        let extra = Refund::new("R1".into(), &o.no, fen(1000), "重复支付退款", 1).of_extra_payment("A2");
        assert_eq!(refundable(&o, std::slice::from_ref(&extra)), fen(1000));
        assert!(same_recent(std::slice::from_ref(&extra), fen(1000), "重复支付退款", 2, 60).is_none());
    }

    fn double_paid() -> Order {
        let mut o = paid_order(1000);
        for (no, state) in
            [("A1", AttemptState::Paid), ("A2", AttemptState::Paid), ("A3", AttemptState::Open)]
        {
            let mut a = crate::domain::Attempt {
                out_trade_no: no.into(),
                channel: crate::domain::Channel::Native,
                openid: None,
                client_ip: "127.0.0.1".into(),
                prepay_id: None,
                mweb_url: None,
                code_url: None,
                created_at: 1,
                prepay_at: None,
                state,
                transaction_id: None,
                paid_at: None,
                request: None,
                api: ApiVersion::V2,
            };
            a.transaction_id = (state == AttemptState::Paid).then(|| format!("T{no}"));
            o.attempts.push(a);
        }
        o
    }

    #[test]
    fn only_a_paid_attempt_that_is_not_the_counted_one_may_be_given_back_and_only_once() {
        let o = double_paid();
        assert_eq!(may_refund_extra(&o, &[], "A2"), Ok(ExtraRefund::Start(fen(1000))));
        assert_eq!(may_refund_extra(&o, &[], "A1"), Err(ExtraDenied::Counted));
        assert_eq!(may_refund_extra(&o, &[], "A3"), Err(ExtraDenied::NotPaid));
        assert_eq!(may_refund_extra(&o, &[], "A9"), Err(ExtraDenied::NoSuchAttempt));

        let mut r = Refund::new("R1".into(), &o.no, fen(1000), "x", 1).of_extra_payment("A2");
        let on_its_way = [r.clone()];
        assert_eq!(may_refund_extra(&o, &on_its_way, "A2"), Ok(ExtraRefund::Started(&on_its_way[0])));
        r.failed("NOTENOUGH", 2);
        assert_eq!(
            may_refund_extra(&o, &[r], "A2"),
            Ok(ExtraRefund::Start(fen(1000))),
            "a refusal may be tried again"
        );
        let order_refund = Refund::new("R1".into(), &o.no, fen(1000), "x", 1);
        assert_eq!(may_refund_extra(&o, &[order_refund], "A2"), Ok(ExtraRefund::Start(fen(1000))));
    }
}
