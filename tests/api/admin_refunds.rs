//! Refunds from the admin, over real HTTP, with "WeChat" (`wxcheckout sandbox`) in its own
//! process at time_scale 0.01 (a refund settles 0.1 s after it is accepted and its
//! notification follows): partial and full refunds, a form sent twice and the Retry action
//! (one refund at WeChat), refusals that send nothing, exact yuan, a lost refund notification
//! settled by "Check refund status", and a live shop without the refund certificate.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use wxcheckout::config::Secret;
use wxcheckout::domain::refund::RefundStatus;
use wxcheckout::domain::{AttemptState, EventKind, Order, OrderStatus};
use wxcheckout::wxpay::messages::{RefundQuery, RefundQueryBy};

use crate::helpers::live::{self, Shop};
use crate::helpers::{self, ADMIN_PASSWORD, Merchant};

async fn shop() -> Shop {
    Shop::start(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await
}

/// An order of `fee` fen, paid at the sandbox and notified.
async fn paid_order(shop: &Shop, fee: u64) -> Order {
    let (order, code_url) = shop.order_with_attempt(fee).await;
    shop.pay(&code_url).await;
    shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await
}

/// How many refunds the sandbox has for the order (refundquery by out_trade_no).
async fn refunds_at_wechat(shop: &Shop, order: &Order) -> u32 {
    let by = RefundQueryBy::OutTradeNo(order.paid_by.clone().unwrap());
    match shop.checkout.wx.refund_query(&RefundQuery { by, offset: None }).await {
        Ok(r) => r.refund_count,
        Err(e) if e.err_code() == Some("REFUNDNOTEXIST") => 0,
        Err(e) => panic!("refundquery: {e}"),
    }
}

fn location(res: &reqwest::Response) -> String {
    let raw = res.headers()["location"].to_str().unwrap();
    url::form_urlencoded::parse(raw.split_once('?').map_or("", |(_, q)| q).as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
        + "|"
        + raw.split('?').next().unwrap()
}

async fn refund(m: &Merchant, no: &str, amount: &str, reason: &str) -> reqwest::Response {
    m.post(&format!("/admin/orders/{no}/refund"), &[("amount", amount), ("reason", reason)]).await
}

#[tokio::test]
async fn half_of_a_paid_order_is_refunded_and_the_order_is_partially_refunded_once_wechat_says_success() {
    let shop = shop().await;
    let order = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    let res = refund(&m, &order.no, "5.00", "破损退一半").await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.ends_with(&format!("|/admin/orders/{}", order.no)), "{to}");
    assert!(to.contains("ok=true") && to.contains("已被微信受理"), "{to}");
    let refunds = shop.checkout.store.refunds(&order.no).unwrap();
    assert_eq!(refunds.len(), 1);
    let r = &refunds[0];
    assert_eq!((r.out_refund_no.clone(), r.amount.get()), (format!("{}R1", order.no), 500));
    assert!(matches!(r.status, RefundStatus::Processing | RefundStatus::Success), "{:?}", r.status);
    assert!(r.refund_id.is_some());

    let o = shop
        .wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::PartiallyRefunded)
        .await;
    assert_eq!(o.refunded.get(), 500);
    let settled = shop.checkout.store.refund(&r.out_refund_no).unwrap().unwrap();
    assert_eq!(settled.status, RefundStatus::Success, "the notification settled our record too");
    for kind in [EventKind::RefundRequested, EventKind::RefundAccepted, EventKind::Refunded] {
        assert_eq!(shop.count_events(&order.no, kind.clone()), 1, "{kind}");
    }
    let audit = shop.checkout.store.admin_records().unwrap().recent_audit(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "refund.start" && e.detail.contains(&order.no)), "{audit:?}");
    assert_eq!(refunds_at_wechat(&shop, &order).await, 1);
}

#[tokio::test]
async fn the_same_form_sent_twice_and_the_retry_action_make_one_refund_at_wechat() {
    let shop = shop().await;
    let order = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    let (a, b) = tokio::join!(refund(&m, &order.no, "5.00", "退货"), refund(&m, &order.no, "5.00", "退货"));
    assert_eq!((a.status(), b.status()), (reqwest::StatusCode::SEE_OTHER, reqwest::StatusCode::SEE_OTHER));
    let again = refund(&m, &order.no, "5.00", "退货").await;
    assert!(location(&again).contains("未重复发起"), "{}", location(&again));
    let refunds = shop.checkout.store.refunds(&order.no).unwrap();
    assert_eq!(refunds.len(), 1, "one refund for three identical forms");
    let no = refunds[0].out_refund_no.clone();

    // WeChat accepted it but its answer was lost: our record still says Requested.
    shop.checkout.store.update_refund(&no, |r| r.status = RefundStatus::Requested).unwrap();
    let retried = m.post(&format!("/admin/orders/{}/refunds/{no}/retry", order.no), &[]).await;
    assert_eq!(retried.status(), 303, "{}", location(&retried));
    assert!(location(&retried).contains("ok=true"), "{}", location(&retried));
    assert_eq!(refunds_at_wechat(&shop, &order).await, 1, "the same out_refund_no refunds once");
    let not_waiting = m.post(&format!("/admin/orders/{}/refunds/{no}/retry", order.no), &[]).await;
    assert_eq!(not_waiting.status(), 422, "only a refund waiting for WeChat can be retried");

    let o = shop
        .wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::PartiallyRefunded)
        .await;
    assert_eq!(o.refunded.get(), 500, "counted once");
}

#[tokio::test]
async fn a_refund_wechat_did_not_answer_waits_and_the_retry_sends_the_same_number() {
    let shop = shop().await;
    let order = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    shop.faults(json!({ "system_error_rate": 1.0 })).await;
    let res = refund(&m, &order.no, "2.50", "少发一件").await;
    shop.faults(json!({ "system_error_rate": 0.0 })).await;
    assert!(location(&res).contains("ok=false") && location(&res).contains("重试"), "{}", location(&res));
    let r = shop.checkout.store.refunds(&order.no).unwrap().remove(0);
    assert_eq!(r.status, RefundStatus::Requested);
    assert_eq!(shop.count_events(&order.no, EventKind::RefundUnanswered), 1);
    assert_eq!(refunds_at_wechat(&shop, &order).await, 0);
    let shown = res.headers()["location"].to_str().unwrap().to_owned();
    let (status, page) = m.page(&shown).await;
    assert_eq!(status, 200);
    assert!(page.contains("重试") && page.contains("class=\"notice bad\""), "the outcome is shown: {page}");
    assert!(page.contains(&format!("/refunds/{}/retry", r.out_refund_no)), "a Retry button is offered");
    assert!(page.contains("/refunds/settle"), "a Check refund status button is offered");

    let retried = m.post(&format!("/admin/orders/{}/refunds/{}/retry", order.no, r.out_refund_no), &[]).await;
    assert!(location(&retried).contains("ok=true"), "{}", location(&retried));
    let o = shop
        .wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::PartiallyRefunded)
        .await;
    assert_eq!(o.refunded.get(), 250);
    assert_eq!(refunds_at_wechat(&shop, &order).await, 1);
}

#[tokio::test]
async fn a_refund_beyond_what_was_paid_is_refused_with_a_clear_message_and_nothing_is_sent() {
    let shop = shop().await;
    let order = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    let res = refund(&m, &order.no, "10.01", "多退").await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("最多还可退 ¥10.00"), "{page}");
    for bad in ["abc", "1.234", "0", "-1"] {
        let res = refund(&m, &order.no, bad, "x").await;
        assert_eq!(res.status(), 422, "{bad}");
    }
    assert!(shop.checkout.store.refunds(&order.no).unwrap().is_empty(), "nothing written");
    assert_eq!(refunds_at_wechat(&shop, &order).await, 0, "nothing sent");

    // A refund on its way holds its money: half, then more than the other half, is refused.
    assert_eq!(refund(&m, &order.no, "5.00", "一半").await.status(), 303);
    let res = refund(&m, &order.no, "5.01", "另一半多一分").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("¥5.00"));
    assert_eq!(refunds_at_wechat(&shop, &order).await, 1);
}

#[tokio::test]
async fn a_full_refund_makes_the_order_refunded_and_nothing_more_can_be_refunded() {
    let shop = shop().await;
    let order = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    assert_eq!(refund(&m, &order.no, "10", "整单退款").await.status(), 303);
    let o = shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Refunded).await;
    assert_eq!(o.refunded.get(), 1000);
    let res = refund(&m, &order.no, "0.01", "再退").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("已全额退款"));
}

#[tokio::test]
async fn yuan_typed_as_0_29_refunds_exactly_29_fen() {
    let shop = shop().await;
    let order = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    assert_eq!(refund(&m, &order.no, "0.29", "差价").await.status(), 303);
    let r = shop.checkout.store.refunds(&order.no).unwrap().remove(0);
    assert_eq!(r.amount.get(), 29, "a float would give 28");
    let by = RefundQueryBy::OutRefundNo(r.out_refund_no.clone());
    let at_wechat = shop.checkout.wx.refund_query(&RefundQuery { by, offset: None }).await.unwrap();
    assert_eq!(at_wechat.records[0].refund_fee, 29);
}

#[tokio::test]
async fn a_refund_whose_notification_is_lost_is_settled_by_check_refund_status() {
    let shop = shop().await;
    let order = paid_order(&shop, 1000).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    shop.faults(json!({ "notify_drop_first": 16 })).await;
    assert_eq!(refund(&m, &order.no, "3.00", "退运费").await.status(), 303);
    // The sandbox settles the refund after 0.1 s; its notifications are all dropped. why the
    // log: a try is listed once it has happened; a delivered one only after the shop answered.
    let otn = order.paid_by.clone().unwrap();
    let tried = shop.delivery("refund", &otn, |d| !d.tries.is_empty()).await;
    assert_eq!(tried.tries[0], "dropped by fault", "{tried:?}");
    assert_eq!(shop.order(&order.no).status, OrderStatus::Paid, "no notification, no change");

    let res = m.post(&format!("/admin/orders/{}/refunds/settle", order.no), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).contains("success"), "{}", location(&res));
    let o = shop.order(&order.no);
    assert_eq!((o.status, o.refunded.get()), (OrderStatus::PartiallyRefunded, 300));
    assert_eq!(shop.checkout.store.refunds(&order.no).unwrap()[0].status, RefundStatus::Success);
    let audit = shop.checkout.store.admin_records().unwrap().recent_audit(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "refund.check"));
}

#[tokio::test]
async fn a_live_shop_without_the_refund_certificate_tells_the_merchant_to_configure_it_and_sends_nothing() {
    // why an https base nobody listens on: the client sends refunds without a certificate
    // only to plain-http bases (the sandbox); here it must refuse before connecting.
    let (server, checkout) = helpers::spawn_live_shop("https://127.0.0.1:9/sandbox/", |c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    })
    .await;
    let mut order = live::new_order(&format!("L{}", checkout.store.next_id().unwrap()), 1000);
    let mut attempt = live::attempt(&format!("{}-1", order.no), order.created_at);
    attempt.state = AttemptState::Paid;
    attempt.transaction_id = Some("4200000000202401010000000001".into());
    attempt.paid_at = Some(order.created_at);
    order.paid_by = Some(attempt.out_trade_no.clone());
    order.paid_at = attempt.paid_at;
    order.status = OrderStatus::Paid;
    order.attempts.push(attempt);
    checkout.store.insert_order(&order, &[]).unwrap();
    let m = Merchant::login(&server.url(), ADMIN_PASSWORD).await;

    let res = refund(&m, &order.no, "5.00", "退款").await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.contains("ok=false") && to.contains("上传退款证书") && to.contains("cert_pem"), "{to}");
    let r = checkout.store.refunds(&order.no).unwrap().remove(0);
    assert!(
        matches!(&r.status, RefundStatus::Failed(why) if why.contains("nothing was sent")),
        "{:?}",
        r.status
    );
    assert_eq!(checkout.store.order(&order.no).unwrap().unwrap().status, OrderStatus::Paid);
    let events = checkout.store.events(&order.no).unwrap();
    assert!(events.iter().any(|e| e.kind == EventKind::RefundFailed && e.attention));
}
