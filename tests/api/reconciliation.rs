//! Reconciliation against WeChat's bill, over real HTTP, with "WeChat" (`wxcheckout sandbox`)
//! in its own process (its bill of today is allowed) and the shop at production timing, so
//! nothing but the reconciliation looks at a payment whose notification was lost.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use wxcheckout::checkout::reconcile_bill::{beijing_today, day_label, due_day};
use wxcheckout::config::Secret;
use wxcheckout::domain::refund::RefundStatus;
use wxcheckout::domain::{AttemptState, EventKind, EventSource, Fen, Order, OrderStatus};
use wxcheckout::store::refunds::{DiscrepancyKind, RunOutcome};

use crate::helpers::live::Shop;
use crate::helpers::{ADMIN_PASSWORD, Merchant};

async fn shop() -> Shop {
    Shop::start(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await
}

async fn paid_order(shop: &Shop, fee: u64) -> Order {
    let (order, code_url) = shop.order_with_attempt(fee).await;
    shop.pay(&code_url).await;
    shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await
}

fn kinds_for(shop: &Shop, day: &str, order_no: &str) -> Vec<DiscrepancyKind> {
    let record = shop.checkout.store.reconciliation(day).unwrap().expect("a run of the day");
    record.discrepancies.iter().filter(|d| d.order_no.as_deref() == Some(order_no)).map(|d| d.kind).collect()
}

#[tokio::test]
async fn a_run_finds_an_orphan_payment_a_payment_missing_from_the_bill_an_amount_and_a_refund_that_differ() {
    let shop = shop().await;
    let today = day_label(beijing_today());

    // (2) Marked paid here with a made-up transaction WeChat never saw.
    let (missing, _) = shop.order_with_attempt(1500).await;
    let out_trade_no = missing.attempts[0].out_trade_no.clone();
    let at = wxcheckout::checkout::now();
    shop.checkout
        .store
        .update_order(&missing.no, |o| {
            let a = o.attempts.iter_mut().find(|a| a.out_trade_no == out_trade_no).unwrap();
            a.state = AttemptState::Paid;
            a.transaction_id = Some("4200000000209912310000000042".into());
            a.paid_at = Some(at);
            o.paid_by = Some(out_trade_no.clone());
            o.paid_at = Some(at);
            o.status = OrderStatus::Paid;
            ((), vec![])
        })
        .unwrap();

    // (3) Paid for ¥20.00, then our total edited to ¥25.00.
    let edited = paid_order(&shop, 2000).await;
    shop.checkout
        .store
        .update_order(&edited.no, |o| {
            o.total = Fen::new(2500).unwrap();
            ((), vec![])
        })
        .unwrap();

    // (4) A refund of ¥3.00 that our record says was ¥2.00.
    let refunded = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let res = m
        .post(&format!("/admin/orders/{}/refund", refunded.no), &[("amount", "3.00"), ("reason", "x")])
        .await;
    assert_eq!(res.status(), 303);
    shop.wait_order(&refunded.no, Duration::from_secs(10), |o| o.status == OrderStatus::PartiallyRefunded)
        .await;
    let r = shop.checkout.store.refunds(&refunded.no).unwrap().remove(0);
    assert_eq!(r.status, RefundStatus::Success);
    shop.checkout.store.update_refund(&r.out_refund_no, |r| r.amount = Fen::new(200).unwrap()).unwrap();

    // (1) Paid at WeChat, every notification dropped (until the end: a redelivery must not
    // rescue it), nobody checked.
    shop.faults(json!({ "notify_drop_first": 16 })).await;
    let (orphan, code_url) = shop.order_with_attempt(1200).await;
    shop.pay(&code_url).await;
    let tried = shop.delivery("payment", &format!("{}-1", orphan.no), |d| !d.tries.is_empty()).await;
    assert_eq!(tried.tries[0], "dropped by fault", "{tried:?}");
    assert_eq!(shop.order(&orphan.no).status, OrderStatus::Pending);

    let res = m.post("/admin/reconciliation", &[("day", &today)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("/admin/reconciliation?day={today}").as_str());

    let record = shop.checkout.store.reconciliation(&today).unwrap().unwrap();
    assert_eq!(record.outcome, RunOutcome::Compared);
    assert_eq!(kinds_for(&shop, &today, &orphan.no), [DiscrepancyKind::OrphanApplied]);
    assert_eq!(kinds_for(&shop, &today, &missing.no), [DiscrepancyKind::MissingFromBill]);
    assert_eq!(kinds_for(&shop, &today, &edited.no), [DiscrepancyKind::AmountDiffers]);
    assert_eq!(kinds_for(&shop, &today, &refunded.no), [DiscrepancyKind::RefundAmountDiffers]);
    assert_eq!(record.discrepancies.len(), 4, "{:#?}", record.discrepancies);

    let applied = shop.order(&orphan.no);
    assert_eq!(applied.status, OrderStatus::Paid, "the orphan payment was applied");
    let events = shop.events(&orphan.no);
    assert!(events.iter().any(|e| e.kind == EventKind::Paid && e.source == EventSource::Reconciler));
    assert!(events.iter().any(|e| e.kind == EventKind::OrphanPayment));
    assert_eq!(
        shop.count_events(&missing.no, EventKind::Reconciliation),
        1,
        "the merchant is told on the order"
    );

    let (status, page) = m.page(&format!("/admin/reconciliation?day={today}")).await;
    assert_eq!(status, 200);
    for no in [&orphan.no, &missing.no, &edited.no, &refunded.no] {
        assert!(page.contains(&format!("/admin/orders/{no}")), "{no} is linked: {page}");
    }
    for words in
        ["本店未记录（通知丢失）：已补记为已支付", "微信账单中没有这笔收款", "金额不符", "¥25.00", "¥20.00"]
    {
        assert!(page.contains(words), "{words}: {page}");
    }
    let audit = shop.checkout.store.admin_records().unwrap().recent_audit(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "reconciliation.run" && e.detail.contains(&today)));

    // Run again: the orphan is now ours; the rest is still there, told once.
    m.post("/admin/reconciliation", &[("day", &today)]).await;
    let again = shop.checkout.store.reconciliation(&today).unwrap().unwrap();
    assert_eq!(again.discrepancies.len(), 3, "{:#?}", again.discrepancies);
    assert_eq!(shop.count_events(&missing.no, EventKind::Reconciliation), 1, "not told twice");
}

#[tokio::test]
async fn a_payment_for_an_out_trade_no_we_never_issued_is_put_on_the_attention_list() {
    let shop = shop().await;
    let today = day_label(beijing_today());
    shop.faults(json!({ "notify_drop_first": 16 })).await;
    // An order WeChat knows and we do not (as after restoring an old backup).
    let stranger = shop.order_without_attempts(800);
    let (attempt, code_url) = shop.native_attempt(&stranger, 1).await;
    shop.pay(&code_url).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    assert_eq!(m.post("/admin/reconciliation", &[("day", &today)]).await.status(), 303);

    let record = shop.checkout.store.reconciliation(&today).unwrap().unwrap();
    let d = &record.discrepancies[0];
    assert_eq!((d.kind, d.order_no.as_deref()), (DiscrepancyKind::UnknownPayment, None));
    assert_eq!(d.out_trade_no.as_deref(), Some(attempt.out_trade_no.as_str()));
    assert_eq!(shop.unmatched(EventKind::Reconciliation), 1, "on the attention list");
    m.post("/admin/reconciliation", &[("day", &today)]).await;
    assert_eq!(shop.unmatched(EventKind::Reconciliation), 1, "once, however often it runs");
    let (_, page) = m.page("/admin/reconciliation").await;
    assert!(page.contains("本店没有这个订单号") && page.contains(&attempt.out_trade_no), "{page}");
}

#[tokio::test]
async fn a_day_without_trades_is_reported_as_such_and_a_day_in_the_future_is_refused() {
    let shop = shop().await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let day = day_label(beijing_today().previous_day().unwrap().previous_day().unwrap());
    let res = m.post("/admin/reconciliation", &[("day", &day)]).await;
    assert_eq!(res.status(), 303);
    let record = shop.checkout.store.reconciliation(&day).unwrap().unwrap();
    assert_eq!(record.outcome, RunOutcome::NoTrades);
    let (_, page) = m.page(&format!("/admin/reconciliation?day={day}")).await;
    assert!(page.contains("当天没有交易"), "{page}");

    let tomorrow = day_label(beijing_today().next_day().unwrap());
    let res = m.post("/admin/reconciliation", &[("day", &tomorrow)]).await;
    assert_eq!(res.status(), 422);
    assert!(shop.checkout.store.reconciliation(&tomorrow).unwrap().is_none());
    let res = m.post("/admin/reconciliation", &[("day", "yesterday")]).await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn the_daily_run_for_yesterday_happens_at_start_when_it_is_missing_after_10_30() {
    let shop = shop().await;
    let now = time::OffsetDateTime::now_utc();
    let yesterday = day_label(beijing_today().previous_day().unwrap());
    let expected = due_day(now, None).is_some();
    let mut found = None;
    for _ in 0..100 {
        found = shop.checkout.store.reconciliation(&yesterday).unwrap();
        if found.is_some() || !expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if expected {
        let r = found.expect("the missed daily run ran at start");
        assert_eq!((r.trigger.as_str(), r.outcome), ("schedule", RunOutcome::NoTrades));
    } else {
        assert!(found.is_none(), "before 10:30 Beijing nothing runs for yesterday");
    }
}
