//! The payment facts of a v3 `Transaction`: the answer of `GET /v3/pay/transactions/out-trade-no/…`
//! and the decrypted resource of a `TRANSACTION.SUCCESS` notification have the same shape, so
//! one reading serves both, as `facts_from_query` and `facts_from_notification` do for v2.
//!
//! Owns only the translation; applying the facts is `apply_payment`'s, the same for v2 and v3.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::order::PaymentFacts;
use crate::wxpay::v3::messages::{TradeState, Transaction};

/// The facts of a transaction that says the order was paid (`SUCCESS`, or `REFUND`: paid,
/// then refunded in part or whole); `None` for any other state or a paid one missing WeChat's
/// number or the total. `now` stands in for an unreadable `success_time`.
///
/// why `total`, not `payer_total`: v2's `total_fee` is the order's total before coupons, and
/// `apply_payment` compares it with the order's; `payer_total` is what the buyer paid after.
pub fn facts_from_transaction(t: &Transaction, now: i64) -> Option<PaymentFacts> {
    if !matches!(t.trade_state, TradeState::Success | TradeState::Refund) {
        return None;
    }
    let total = t.amount.as_ref()?.total?;
    Some(PaymentFacts {
        appid: t.appid.clone(),
        mch_id: t.mchid.clone(),
        out_trade_no: t.out_trade_no.clone(),
        transaction_id: t.transaction_id.clone().filter(|id| !id.is_empty())?,
        // why refuse a negative total rather than clamp: it is no amount WeChat sends, and 0
        // would read as a mismatch of a real order's total, not as the forgery it is.
        total_fee: u64::try_from(total).ok()?,
        paid_at: t
            .success_time
            .as_deref()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .map_or(now, OffsetDateTime::unix_timestamp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(state: &str) -> Transaction {
        serde_json::from_value(serde_json::json!({
            "appid": "wxd930ea5d5a258f4f",
            "mchid": "10000100",
            "out_trade_no": "T20261130A1",
            "trade_state": state,
            "trade_state_desc": "支付成功",
            "transaction_id": "4200000000202611300000000001",
            "success_time": "2026-11-30T18:00:05+08:00",
            "amount": {"total": 1200, "payer_total": 1000, "currency": "CNY"},
        }))
        .unwrap()
    }

    #[test]
    fn a_paid_transaction_gives_the_merchant_the_total_before_coupons_and_the_success_time() {
        let facts = facts_from_transaction(&paid("SUCCESS"), 7).unwrap();
        assert_eq!(
            facts,
            PaymentFacts {
                appid: "wxd930ea5d5a258f4f".into(),
                mch_id: "10000100".into(),
                out_trade_no: "T20261130A1".into(),
                transaction_id: "4200000000202611300000000001".into(),
                total_fee: 1200,
                paid_at: 1_796_032_805,
            }
        );
        assert_eq!(facts_from_transaction(&paid("REFUND"), 7).map(|f| f.total_fee), Some(1200));
    }

    #[test]
    fn an_unpaid_state_or_a_paid_one_without_number_or_total_gives_no_facts() {
        for state in ["NOTPAY", "CLOSED", "USERPAYING", "PAYERROR", "SOMETHING_NEW"] {
            assert_eq!(facts_from_transaction(&paid(state), 7), None, "{state}");
        }
        let mut t = paid("SUCCESS");
        t.transaction_id = None;
        assert_eq!(facts_from_transaction(&t, 7), None);
        let mut t = paid("SUCCESS");
        t.amount = None;
        assert_eq!(facts_from_transaction(&t, 7), None);
        let mut t = paid("SUCCESS");
        t.amount.as_mut().unwrap().total = Some(-1);
        assert_eq!(facts_from_transaction(&t, 7), None);
    }

    #[test]
    fn an_unreadable_success_time_stands_as_now() {
        let mut t = paid("SUCCESS");
        t.success_time = Some("20261130180005".into());
        assert_eq!(facts_from_transaction(&t, 7).map(|f| f.paid_at), Some(7));
    }
}
