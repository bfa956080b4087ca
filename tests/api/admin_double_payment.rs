//! "Refund the extra payment" from the admin, over real HTTP, with "WeChat" (`wxcheckout
//! sandbox`) in its own process at time_scale 0.01: a buyer pays one order twice (two
//! attempts, both paid at the sandbox), the merchant gives the second payment back whole,
//! and the order keeps its one counted payment, its status and its own refund tally.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use wxcheckout::config::Secret;
use wxcheckout::domain::refund::RefundStatus;
use wxcheckout::domain::{AttemptState, EventKind, Order, OrderStatus};
use wxcheckout::wxpay::messages::{OrderRef, RefundQuery, RefundQueryBy, TradeState};

use crate::helpers::live::Shop;
use crate::helpers::{ADMIN_PASSWORD, Merchant, WITHIN, until};

async fn shop() -> Shop {
    Shop::start(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await
}

/// An order of `fee` fen whose two attempts the buyer both paid at the sandbox: `-1` is the
/// counted payment, `-2` the double payment. Returns the order and the extra `out_trade_no`.
async fn double_paid_order(shop: &Shop, fee: u64) -> (Order, String) {
    let mut order = shop.order_without_attempts(fee);
    let (first, first_code) = shop.native_attempt(&order, 1).await;
    let (second, second_code) = shop.native_attempt(&order, 2).await;
    let extra = second.out_trade_no.clone();
    order.attempts.extend([first, second]);
    shop.checkout.store.insert_order(&order, &[]).unwrap();
    shop.pay(&first_code).await;
    shop.wait_order(&order.no, WITHIN, |o| o.status == OrderStatus::Paid).await;
    shop.pay(&second_code).await;
    let order = shop
        .wait_order(&order.no, WITHIN, |o| o.attempt(&extra).is_some_and(|a| a.state == AttemptState::Paid))
        .await;
    assert_eq!(order.paid_by.as_deref(), Some(format!("{}-1", order.no).as_str()));
    assert_eq!(shop.count_events(&order.no, EventKind::DoublePayment), 1);
    (order, extra)
}

/// WeChat's trade state of `out_trade_no` (orderquery at the sandbox).
async fn trade_state(shop: &Shop, out_trade_no: &str) -> TradeState {
    shop.checkout.wx.order_query(&OrderRef::OutTradeNo(out_trade_no.to_owned())).await.unwrap().trade_state
}

/// How many refunds the sandbox has for the payment `out_trade_no`.
async fn refunds_at_wechat(shop: &Shop, out_trade_no: &str) -> u32 {
    let by = RefundQueryBy::OutTradeNo(out_trade_no.to_owned());
    match shop.checkout.wx.refund_query(&RefundQuery { by, offset: None }).await {
        Ok(r) => r.refund_count,
        Err(e) if e.err_code() == Some("REFUNDNOTEXIST") => 0,
        Err(e) => panic!("refundquery: {e}"),
    }
}

/// Whether the double payment of the order is still on the dashboard's attention list.
fn double_payment_needs_attention(shop: &Shop, no: &str) -> bool {
    let items = shop.checkout.store.attention(1000).unwrap();
    items.iter().any(|i| i.order_no.as_deref() == Some(no) && i.event.kind == EventKind::DoublePayment)
}

fn location(res: &reqwest::Response) -> String {
    let raw = res.headers()["location"].to_str().unwrap();
    let query = raw.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

async fn give_back(m: &Merchant, no: &str, out_trade_no: &str) -> reqwest::Response {
    m.post(&format!("/admin/orders/{no}/attempts/{out_trade_no}/refund"), &[]).await
}

#[tokio::test]
async fn the_extra_payment_is_refunded_at_wechat_while_the_order_stays_paid_with_its_own_refunds_unchanged() {
    let shop = shop().await;
    let (order, extra) = double_paid_order(&shop, 800).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    // The order's own partial refund first, to see that the extra refund leaves it alone.
    let refund_path = format!("/admin/orders/{}/refund", order.no);
    let own = m.post(&refund_path, &[("amount", "2.00"), ("reason", "少发")]).await;
    assert_eq!(own.status(), 303);
    shop.wait_order(&order.no, WITHIN, |o| o.refunded.get() == 200).await;
    assert!(double_payment_needs_attention(&shop, &order.no));

    let (status, page) = m.page(&format!("/admin/orders/{}", order.no)).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/attempts/{extra}/refund")), "the action is offered: {page}");
    assert!(page.contains("重复支付 · 待退还") && page.contains("计入订单"), "{page}");
    assert!(!page.contains(&format!("/attempts/{}-1/refund", order.no)), "not on the counted payment");

    let res = give_back(&m, &order.no, &extra).await;
    assert_eq!(res.status(), 303);
    let told = location(&res);
    assert!(told.contains("ok=true") && told.contains("已被微信受理") && told.contains(&extra), "{told}");

    until("the sandbox to refund the extra payment", || async {
        trade_state(&shop, &extra).await == TradeState::Refund
    })
    .await;
    assert_eq!(trade_state(&shop, &format!("{}-1", order.no)).await, TradeState::Refund, "the partial one");
    let refunds = shop.checkout.store.refunds(&order.no).unwrap();
    let r = refunds.iter().find(|r| r.extra_payment.as_deref() == Some(extra.as_str())).unwrap();
    assert_eq!(r.amount.get(), 800, "the whole extra payment");
    let by = RefundQueryBy::OutRefundNo(r.out_refund_no.clone());
    let at_wechat = shop.checkout.wx.refund_query(&RefundQuery { by, offset: None }).await.unwrap();
    assert_eq!(at_wechat.records[0].refund_fee, 800);
    let no = r.out_refund_no.clone();
    until("our record to settle", || async {
        shop.checkout.store.refund(&no).unwrap().is_some_and(|r| r.status == RefundStatus::Success)
    })
    .await;
    until("the double payment to leave the attention list", || async {
        !double_payment_needs_attention(&shop, &order.no)
    })
    .await;

    let o = shop.order(&order.no);
    assert_eq!((o.status, o.refunded.get()), (OrderStatus::PartiallyRefunded, 200), "only its own refund");
    assert_eq!(o.paid_by.as_deref(), Some(format!("{}-1", order.no).as_str()));
    assert_eq!(shop.count_events(&order.no, EventKind::ExtraPaymentRefunded), 1);
    let (_, page) = m.page(&format!("/admin/orders/{}", order.no)).await;
    assert!(page.contains("重复支付 · 已退款"), "the attempt shows it given back: {page}");
    assert!(!page.contains(&format!("/attempts/{extra}/refund")), "no second offer");
    assert!(page.contains("¥6.00"), "what is left to refund is the order's own: {page}");
    let audit = shop.checkout.store.admin_records().unwrap().recent_audit(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "refund.extra" && e.detail.contains(&extra)), "{audit:?}");
}

#[tokio::test]
async fn the_extra_payment_action_sent_twice_at_once_and_again_later_refunds_it_once() {
    let shop = shop().await;
    let (order, extra) = double_paid_order(&shop, 800).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    let (a, b) = tokio::join!(give_back(&m, &order.no, &extra), give_back(&m, &order.no, &extra));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (303, 303));
    until("the extra refund to settle", || async {
        shop.checkout.store.refunds(&order.no).unwrap().iter().all(|r| r.status == RefundStatus::Success)
    })
    .await;
    let again = give_back(&m, &order.no, &extra).await;
    assert_eq!(again.status(), 303);
    assert!(location(&again).contains("未重复发起"), "{}", location(&again));

    assert_eq!(shop.checkout.store.refunds(&order.no).unwrap().len(), 1, "one refund for three clicks");
    assert_eq!(refunds_at_wechat(&shop, &extra).await, 1);
    let o = shop.order(&order.no);
    assert_eq!((o.status, o.refunded.get()), (OrderStatus::Paid, 0));
}

#[tokio::test]
async fn a_bad_form_token_the_counted_payment_or_an_unknown_one_changes_nothing_and_says_why() {
    let shop = shop().await;
    let (order, extra) = double_paid_order(&shop, 800).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let path = format!("/admin/orders/{}/attempts/{extra}/refund", order.no);

    let forged = m.browser.post_form(&path, &[("csrf", "not-the-token")]).await;
    assert_eq!(forged.status(), 403);
    let bare = m.browser.post_form(&path, &[]).await;
    assert_eq!(bare.status(), 403);

    let counted = give_back(&m, &order.no, &format!("{}-1", order.no)).await;
    assert_eq!(counted.status(), 422);
    assert!(counted.text().await.unwrap().contains("订单计入的那笔支付"));
    let unknown = give_back(&m, &order.no, &format!("{}-9", order.no)).await;
    assert_eq!(unknown.status(), 422);
    assert!(unknown.text().await.unwrap().contains("没有这个支付单号"));
    let garbled = give_back(&m, &order.no, "a%20b").await;
    assert_eq!(garbled.status(), 422);

    assert!(shop.checkout.store.refunds(&order.no).unwrap().is_empty(), "nothing written");
    assert_eq!(refunds_at_wechat(&shop, &extra).await, 0, "nothing sent");
    assert_eq!(trade_state(&shop, &extra).await, TradeState::Success);
    assert!(double_payment_needs_attention(&shop, &order.no));
    let o = shop.order(&order.no);
    assert_eq!((o.status, o.refunded.get()), (OrderStatus::Paid, 0));
    let audit = shop.checkout.store.admin_records().unwrap().recent_audit(20).unwrap();
    assert!(!audit.iter().any(|e| e.action == "refund.extra" && e.detail.contains(&extra)), "{audit:?}");
}

#[tokio::test]
async fn an_extra_payment_refund_whose_notification_is_lost_is_settled_by_check_refund_status() {
    let shop = shop().await;
    let (order, extra) = double_paid_order(&shop, 800).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    shop.faults(serde_json::json!({ "notify_drop_first": 16 })).await;
    assert_eq!(give_back(&m, &order.no, &extra).await.status(), 303);
    let no = shop.checkout.store.refunds(&order.no).unwrap().remove(0).out_refund_no;
    until("the sandbox to settle the refund", || async {
        let by = RefundQueryBy::OutRefundNo(no.clone());
        let q = shop.checkout.wx.refund_query(&RefundQuery { by, offset: None }).await.unwrap();
        q.records[0].refund_status == wxcheckout::wxpay::messages::RefundStatus::Success
    })
    .await;
    assert!(double_payment_needs_attention(&shop, &order.no), "no notification, no change");

    let res = m.post(&format!("/admin/orders/{}/refunds/settle", order.no), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(shop.checkout.store.refund(&no).unwrap().unwrap().status, RefundStatus::Success);
    assert!(!double_payment_needs_attention(&shop, &order.no));
    assert_eq!(shop.count_events(&order.no, EventKind::ExtraPaymentRefunded), 1);
    let o = shop.order(&order.no);
    assert_eq!((o.status, o.refunded.get()), (OrderStatus::Paid, 0));
    assert!(o.settled_refunds.is_empty(), "not counted against the order");
}

#[tokio::test]
async fn an_extra_payment_refund_wechat_did_not_answer_is_resent_to_that_payment_by_retry() {
    let shop = shop().await;
    let (order, extra) = double_paid_order(&shop, 800).await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;

    shop.faults(serde_json::json!({ "system_error_rate": 1.0 })).await;
    let res = give_back(&m, &order.no, &extra).await;
    shop.faults(serde_json::json!({ "system_error_rate": 0.0 })).await;
    assert!(location(&res).contains("ok=false") && location(&res).contains("重试"), "{}", location(&res));
    let r = shop.checkout.store.refunds(&order.no).unwrap().remove(0);
    assert_eq!(r.status, RefundStatus::Requested, "written before WeChat was asked, kept to resend");
    let (_, page) = m.page(&format!("/admin/orders/{}", order.no)).await;
    assert!(page.contains(&format!("/refunds/{}/retry", r.out_refund_no)), "Retry is offered");
    assert!(!page.contains(&format!("/attempts/{extra}/refund")), "a refund on its way is not started again");

    let retried = m.post(&format!("/admin/orders/{}/refunds/{}/retry", order.no, r.out_refund_no), &[]).await;
    assert!(location(&retried).contains("ok=true"), "{}", location(&retried));
    until("the sandbox to refund the extra payment", || async {
        trade_state(&shop, &extra).await == TradeState::Refund
    })
    .await;
    assert_eq!(
        trade_state(&shop, &format!("{}-1", order.no)).await,
        TradeState::Success,
        "not the counted one"
    );
    assert_eq!(refunds_at_wechat(&shop, &extra).await, 1);
}
