//! `POST /wxpay/notify` and `POST /wxpay/refund-notify` of a live-mode shop, with "WeChat"
//! (`wxcheckout sandbox`) in its own process: every case ends with the order paid exactly
//! once or not at all, and every reply is the documented XML.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use wxcheckout::domain::{AttemptState, EventKind, OrderStatus};
use wxcheckout::wxpay::messages::{OrderRef, Refund, RefundStatus};
use wxcheckout::wxpay::notify::{self, RefundInfo};
use wxcheckout::wxpay::xml;
use wxcheckout::wxpay::{SignType, sign};

use crate::helpers::live::{self, Shop, notification, notification_fields, paid};
use crate::helpers::{Delivery, until};

const SUCCESS: &str =
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

fn is_fail(reply: &str) -> bool {
    xml::parse(reply.as_bytes()).unwrap().get("return_code") == Some("FAIL")
}

#[track_caller]
fn assert_success((status, ct, body): &(StatusCode, String, String)) {
    assert_eq!(*status, StatusCode::OK);
    assert!(ct.starts_with("text/xml"), "content type {ct}");
    assert_eq!(body, SUCCESS);
}

#[track_caller]
fn assert_fail((status, ct, body): &(StatusCode, String, String)) {
    assert_eq!(*status, StatusCode::OK, "WeChat reads return_code, not the status");
    assert!(ct.starts_with("text/xml"), "content type {ct}");
    assert!(is_fail(body), "{body}");
}

/// A pending order (no sandbox call needed) with one attempt that has a prepay.
fn pending_order(shop: &Shop, fee: u64) -> (String, String) {
    let mut order = shop.order_without_attempts(fee);
    let mut a = live::attempt(&format!("{}-1", order.no), wxcheckout::checkout::now());
    a.prepay_id = Some("wx20240101120000abcdef0123456789".to_owned());
    order.attempts.push(a);
    shop.checkout.store.insert_order(&order, &[]).unwrap();
    let otn = format!("{}-1", order.no);
    (order.no, otn)
}

// ---- the sandbox's own notifications --------------------------------------------------------

#[tokio::test]
async fn a_payment_in_the_sandbox_pays_the_order_once_through_its_notification() {
    let shop = Shop::start(|_| {}).await;
    let (order, code_url) = shop.order_with_attempt(1234).await;
    shop.pay(&code_url).await;
    let paid = shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await;
    assert_eq!(paid.paid_by.as_deref(), Some(format!("{}-1", order.no).as_str()));
    let events = shop.events(&order.no);
    let paid_events: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Paid).collect();
    assert_eq!(paid_events.len(), 1, "{events:?}");
    assert!(paid_events[0].raw.as_deref().is_some_and(|r| r.contains("<transaction_id>")), "raw XML kept");
}

#[tokio::test]
async fn fifty_concurrent_copies_from_the_sandbox_pay_the_order_once() {
    let shop = Shop::start(|_| {}).await;
    shop.faults(json!({ "notify_copies": 50 })).await;
    let (order, code_url) = shop.order_with_attempt(500).await;
    shop.pay(&code_url).await;
    shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await;
    // why the log: a duplicate leaves no event, so only the sandbox can say that all 50 copies
    // reached the shop; it marks the notification acknowledged once every copy is answered.
    let sent = shop.delivery("payment", &format!("{}-1", order.no), Delivery::acknowledged).await;
    assert_eq!(sent.tries.len(), 50, "all 50 copies were delivered in one attempt: {sent:?}");
    assert!(sent.tries.iter().all(|t| t == "200 SUCCESS"), "every copy got SUCCESS: {:?}", sent.tries);
    assert_eq!(shop.order(&order.no).status, OrderStatus::Paid);
    assert_eq!(shop.count_events(&order.no, EventKind::Paid), 1);
    assert_eq!(shop.events(&order.no).len(), 1, "one state change; the 49 duplicates changed nothing");
}

// ---- duplicates -----------------------------------------------------------------------------

#[tokio::test]
async fn five_sequential_copies_of_one_notification_change_the_order_once_and_all_get_success() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    let body = notification(&paid(&otn, 1200, "4200000001202401010000000001"));
    for _ in 0..5 {
        assert_success(&shop.notify(body.clone()).await);
    }
    let order = shop.order(&no);
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.attempt(&otn).map(|a| a.state), Some(AttemptState::Paid));
    assert_eq!(shop.count_events(&no, EventKind::Paid), 1);
    assert_eq!(shop.events(&no).len(), 1, "duplicates leave the timeline alone");
}

#[tokio::test]
async fn fifty_concurrent_copies_of_one_notification_change_the_order_once_and_all_get_success() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 999);
    let body = notification(&paid(&otn, 999, "4200000001202401010000000002"));
    let replies = concurrently(50, format!("{}/wxpay/notify", shop.url()), body).await;
    assert_eq!(replies.len(), 50);
    for r in &replies {
        assert_success(r);
    }
    assert_eq!(shop.order(&no).status, OrderStatus::Paid);
    assert_eq!(shop.count_events(&no, EventKind::Paid), 1);
}

/// POSTs `body` to `url` from `n` tasks at once: (status, content type, body) of each.
async fn concurrently(n: usize, url: String, body: String) -> Vec<(StatusCode, String, String)> {
    let http = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        set.spawn(async move {
            let res = http.post(url).header("Content-Type", "text/xml").body(body).send().await.unwrap();
            let status = res.status();
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            (status, ct, res.text().await.unwrap())
        });
    }
    set.join_all().await
}

// ---- refused and unmatched ------------------------------------------------------------------

#[tokio::test]
async fn a_notification_with_a_bad_signature_is_answered_fail_and_changes_nothing() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    let mut f = notification_fields(&paid(&otn, 1200, "4200000001202401010000000003"), SignType::Md5, false);
    f.insert("sign", "0".repeat(32));
    assert_fail(&shop.notify(xml::to_xml(&f)).await);
    // A genuine notification, one field changed after signing.
    let mut f = notification_fields(&paid(&otn, 1200, "4200000001202401010000000003"), SignType::Md5, false);
    f.insert("total_fee", "1");
    assert_fail(&shop.notify(xml::to_xml(&f)).await);
    assert_eq!(shop.order(&no).status, OrderStatus::Pending);
    assert!(shop.events(&no).is_empty());
}

#[tokio::test]
async fn a_notification_without_a_sign_is_forged() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    let mut f = notification_fields(&paid(&otn, 1200, "4200000001202401010000000004"), SignType::Md5, false);
    f.remove("sign");
    assert_fail(&shop.notify(xml::to_xml(&f)).await);
    assert_eq!(shop.order(&no).status, OrderStatus::Pending);
}

#[tokio::test]
async fn unparseable_bodies_and_an_xxe_payload_are_answered_fail() {
    let shop = Shop::start(|_| {}).await;
    for body in [
        "".to_owned(),
        "not xml".to_owned(),
        r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY k SYSTEM "file:///etc/passwd">]><xml><a>&k;</a></xml>"#
            .to_owned(),
        format!("<xml><pad>{}</pad></xml>", "x".repeat(70 * 1024)),
    ] {
        assert_fail(&shop.notify(body).await);
    }
}

#[tokio::test]
async fn an_unknown_field_that_is_signed_is_verified_and_accepted() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    let mut f = notification_fields(&paid(&otn, 1200, "4200000001202401010000000005"), SignType::Md5, false);
    f.insert("some_future_field", "WeChat added this");
    sign::sign_in_place(&mut f, &live::key(), SignType::Md5, false);
    assert_success(&shop.notify(xml::to_xml(&f)).await);
    assert_eq!(shop.order(&no).status, OrderStatus::Paid);
}

#[tokio::test]
async fn an_hmac_notification_without_sign_type_is_accepted_by_a_shop_configured_for_md5() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    let f =
        notification_fields(&paid(&otn, 1200, "4200000001202401010000000006"), SignType::HmacSha256, false);
    assert!(!f.contains("sign_type") && f.get("sign").unwrap().len() == 64);
    assert_success(&shop.notify(xml::to_xml(&f)).await);
    assert_eq!(shop.order(&no).status, OrderStatus::Paid);
}

#[tokio::test]
async fn a_wrong_amount_pays_nothing_is_put_before_the_admin_and_is_acknowledged() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    // why SUCCESS: it verified, so it is WeChat's; resending cannot make 1 fen pay 12 yuan.
    assert_success(&shop.notify(notification(&paid(&otn, 1, "4200000001202401010000000007"))).await);
    assert_eq!(shop.order(&no).status, OrderStatus::Pending);
    let events = shop.events(&no);
    assert!(events.iter().any(|e| e.kind == EventKind::AmountMismatch && e.attention), "{events:?}");
}

#[tokio::test]
async fn an_unknown_out_trade_no_pays_nothing_and_is_put_before_the_admin() {
    let shop = Shop::start(|_| {}).await;
    let (no, _) = pending_order(&shop, 1200);
    assert_success(
        &shop.notify(notification(&paid("NOSUCHORDER-1", 1200, "4200000001202401010000000008"))).await,
    );
    assert_eq!(shop.order(&no).status, OrderStatus::Pending);
    assert_eq!(shop.unmatched(EventKind::UnknownOrder), 1);
}

#[tokio::test]
async fn another_merchants_signed_notification_pays_nothing_and_is_acknowledged() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    let mut p = paid(&otn, 1200, "4200000001202401010000000009");
    p.mch_id = "1900000109".to_owned();
    assert_success(&shop.notify(notification(&p)).await);
    assert_eq!(shop.order(&no).status, OrderStatus::Pending);
    assert_eq!(shop.unmatched(EventKind::MerchantMismatch), 1);
}

#[tokio::test]
async fn a_failed_payment_notification_is_noted_on_the_order_and_changes_nothing() {
    let shop = Shop::start(|_| {}).await;
    let (no, otn) = pending_order(&shop, 1200);
    let mut f = notification_fields(&paid(&otn, 1200, "4200000001202401010000000010"), SignType::Md5, false);
    f.insert("result_code", "FAIL");
    f.insert("err_code", "BANKERROR");
    sign::sign_in_place(&mut f, &live::key(), SignType::Md5, false);
    assert_success(&shop.notify(xml::to_xml(&f)).await);
    assert_eq!(shop.order(&no).status, OrderStatus::Pending);
    assert_eq!(shop.count_events(&no, EventKind::PaymentFailed), 1);
}

#[tokio::test]
async fn a_second_attempt_paid_too_is_a_double_payment_and_the_order_is_paid_once() {
    let shop = Shop::start(|_| {}).await;
    let mut order = shop.order_without_attempts(800);
    for n in 1..=2 {
        let mut a = live::attempt(&format!("{}-{n}", order.no), wxcheckout::checkout::now());
        a.prepay_id = Some(format!("wx2024010112000000000000000{n}"));
        order.attempts.push(a);
    }
    shop.checkout.store.insert_order(&order, &[]).unwrap();
    let first = notification(&paid(&format!("{}-1", order.no), 800, "4200000001202401010000000011"));
    let second = notification(&paid(&format!("{}-2", order.no), 800, "4200000001202401010000000012"));
    assert_success(&shop.notify(first).await);
    assert_success(&shop.notify(second.clone()).await);
    assert_success(&shop.notify(second).await);
    let o = shop.order(&order.no);
    assert_eq!((o.status, o.paid_by.clone()), (OrderStatus::Paid, Some(format!("{}-1", order.no))));
    assert_eq!(shop.count_events(&order.no, EventKind::Paid), 1);
    assert_eq!(shop.count_events(&order.no, EventKind::DoublePayment), 1);
}

// ---- lost notifications and the check -------------------------------------------------------

#[tokio::test]
async fn when_every_notification_is_dropped_the_buyers_check_finds_the_payment() {
    // why: a reconciler this slow never runs during the test, so the check alone must find it.
    let shop = Shop::start(|_| {}).await;
    shop.faults(json!({ "notify_drop_first": 16 })).await;
    let (order, code_url) = shop.order_with_attempt(1500).await;
    shop.pay(&code_url).await;
    // why the log: a try is listed once it has happened; a delivered one only after the shop
    // answered it, so by then the order would be paid.
    let tried = shop.delivery("payment", &format!("{}-1", order.no), |d| !d.tries.is_empty()).await;
    assert_eq!(tried.tries[0], "dropped by fault", "{tried:?}");
    assert_eq!(shop.order(&order.no).status, OrderStatus::Pending, "no notification came");

    let res = shop
        .http
        .post(format!("{}/o/{}/check", shop.url(), order.token))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let status: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status["status"], "paid", "{status}");
    assert_eq!(shop.order(&order.no).status, OrderStatus::Paid);
    let paid = shop.events(&order.no).into_iter().find(|e| e.kind == EventKind::Paid).unwrap();
    assert_eq!(paid.source, wxcheckout::domain::EventSource::Query);
}

#[tokio::test]
async fn a_notification_racing_the_buyers_check_of_the_same_payment_pays_the_order_once() {
    let shop = Shop::start(|_| {}).await;
    shop.faults(json!({ "notify_drop_first": 16 })).await;
    let (order, code_url) = shop.order_with_attempt(1500).await;
    shop.pay(&code_url).await;
    let otn = format!("{}-1", order.no);
    // The payment as WeChat knows it (asking changes nothing at the shop).
    let at_wechat = shop.checkout.wx.order_query(&OrderRef::OutTradeNo(otn.clone())).await.unwrap();
    let body = notification(&paid(&otn, 1500, &at_wechat.transaction_id.unwrap()));
    let check = shop
        .http
        .post(format!("{}/o/{}/check", shop.url(), order.token))
        .header("Accept", "application/json")
        .send();
    let (notified, checked) = tokio::join!(shop.notify(body), check);
    assert_success(&notified);
    assert_eq!(checked.unwrap().status(), StatusCode::OK);
    assert_eq!(shop.order(&order.no).status, OrderStatus::Paid);
    assert_eq!(shop.count_events(&order.no, EventKind::Paid), 1, "paid once, by whichever came first");
}

#[tokio::test]
async fn the_check_of_an_unpaid_order_changes_nothing_and_closed_attempts_are_marked() {
    // time_scale 0.002: WeChat's 5 minutes before it closes an order are 0.6 s.
    let shop = Shop::start_at(0.002, |_| {}).await;
    let (order, _) = shop.order_with_attempt(1500).await;
    let checked = shop.checkout.check_order(&order.no).await.unwrap();
    assert_eq!(checked.status, OrderStatus::Pending);
    assert!(shop.events(&order.no).is_empty(), "NOTPAY changes nothing");

    // WeChat closed the attempt (after its 5 scaled minutes): the attempt closes, not the order.
    let otn = format!("{}-1", order.no);
    until("WeChat to close the attempt", || async {
        match shop.checkout.wx.close_order(&otn).await {
            Ok(_) => true,
            Err(e) if e.err_code() == Some("TRADE_STATE_ERROR") => false,
            Err(e) => panic!("closeorder: {e}"),
        }
    })
    .await;
    // The buyer's check asks WeChat at most once every 2 s; until then it answers from our record.
    until("the check to ask WeChat again", || async {
        shop.checkout.check_order(&order.no).await.unwrap().attempts[0].state != AttemptState::Open
    })
    .await;
    let checked = shop.order(&order.no);
    assert_eq!(checked.status, OrderStatus::Pending);
    assert_eq!(checked.attempts[0].state, AttemptState::Closed);
    assert_eq!(shop.count_events(&order.no, EventKind::AttemptClosed), 1);
}

// ---- refunds --------------------------------------------------------------------------------

#[tokio::test]
async fn a_refund_notification_makes_the_order_partially_refunded_once() {
    let shop = Shop::start(|_| {}).await;
    let (order, code_url) = shop.order_with_attempt(300).await;
    shop.pay(&code_url).await;
    let paid = shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await;
    let otn = paid.paid_by.clone().unwrap();
    let refund = Refund {
        order: OrderRef::OutTradeNo(otn.clone()),
        out_refund_no: format!("{}-R1", order.no),
        total_fee: 300,
        refund_fee: 120,
        refund_desc: None,
        notify_url: Some(shop.checkout.settings().refund_notify_url.clone()),
    };
    let accepted = shop.checkout.wx.refund(&refund).await.unwrap();
    let o = shop
        .wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::PartiallyRefunded)
        .await;
    assert_eq!(o.refunded.get(), 120);
    assert_eq!(shop.count_events(&order.no, EventKind::Refunded), 1);

    // WeChat repeats it: nothing changes.
    let info = RefundInfo {
        out_refund_no: refund.out_refund_no.clone(),
        out_trade_no: otn.clone(),
        refund_id: accepted.refund_id.clone(),
        transaction_id: accepted.transaction_id.clone(),
        total_fee: 300,
        refund_fee: 120,
        settlement_total_fee: Some(300),
        settlement_refund_fee: Some(120),
        refund_status: RefundStatus::Success,
        success_time: Some("2024-01-02 10:00:05".to_owned()),
        refund_recv_accout: None,
        refund_account: None,
        refund_request_source: None,
    };
    let (appid, mch_id) = (&shop.checkout.settings().appid, &shop.checkout.settings().mch_id);
    let again = notify::build_refund_notification(appid, mch_id, "n0nce", &info, &live::key());
    for _ in 0..3 {
        assert_success(&shop.refund_notify(again.clone()).await);
    }
    let after = shop.order(&order.no);
    assert_eq!((after.status, after.refunded.get()), (OrderStatus::PartiallyRefunded, 120));
    assert_eq!(shop.count_events(&order.no, EventKind::Refunded), 1);

    // A refund notification that does not decrypt with our key changes nothing.
    let forged = notify::build_refund_notification(
        appid,
        mch_id,
        "n0nce",
        &RefundInfo { out_refund_no: "R-FORGED".into(), refund_fee: 180, ..info.clone() },
        &wxcheckout::wxpay::ApiKey::new("0123456789abcdefWRONGKEY00000000"),
    );
    assert_fail(&shop.refund_notify(forged).await);
    assert_eq!(shop.order(&order.no).refunded.get(), 120);

    // A failed refund (CHANGE) is put before the admin, once.
    let change = notify::build_refund_notification(
        appid,
        mch_id,
        "n0nce",
        &RefundInfo { out_refund_no: "R-CHANGE".into(), refund_status: RefundStatus::Change, ..info },
        &live::key(),
    );
    assert_success(&shop.refund_notify(change.clone()).await);
    assert_success(&shop.refund_notify(change).await);
    assert_eq!(shop.count_events(&order.no, EventKind::RefundFailed), 1);
    assert_eq!(shop.order(&order.no).refunded.get(), 120);
}
