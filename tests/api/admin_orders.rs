//! The merchant's orders and dashboard over real HTTP: filters, search, pages, the CSV
//! export, the order page with its timeline, *Sync with WeChat*, *Close*, and the dashboard's
//! figures — against the shop in sandbox mode (WeChat simulated in the same process).
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use wxcheckout::checkout::Checkout;
use wxcheckout::checkout::pay::PayStart;
use wxcheckout::config::{Config, Secret};
use wxcheckout::domain::{
    Attempt, AttemptState, Channel, Contact, Event, EventKind, EventSource, Fen, Line, Order, OrderStatus,
};

use crate::helpers::{self, ADMIN_PASSWORD, Merchant, TestServer, until};

async fn shop_with(tune: impl FnOnce(&mut Config)) -> (TestServer, helpers::ShopHandle, Merchant) {
    let (server, checkout) = helpers::spawn_shop_with_checkout(|c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        tune(c);
    })
    .await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    (server, checkout, merchant)
}

async fn shop() -> (TestServer, helpers::ShopHandle, Merchant) {
    shop_with(|_| {}).await
}

/// A stored order `no` of `fen`, created `created_at`, with one attempt `{no}-1` on `channel`.
fn order(no: &str, fen: u64, created_at: i64, channel: Channel) -> Order {
    let fen = Fen::new(fen).unwrap();
    let line =
        Line { slug: "almond-cookies".into(), name: "杏仁酥 Almond cookies".into(), unit: fen, qty: 1 };
    let attempt = Attempt {
        prepay_id: Some(format!("wx{no}")),
        prepay_at: Some(created_at),
        ..Attempt::open(format!("{no}-1"), channel, "127.0.0.1", created_at)
    };
    Order {
        attempts: vec![attempt],
        ..Order::placed(no.to_owned(), format!("tok{no}"), vec![line], fen, Contact::default(), created_at)
    }
}

fn paid(mut o: Order, tx: &str, paid_at: i64) -> Order {
    o.status = OrderStatus::Paid;
    o.paid_at = Some(paid_at);
    o.attempts[0].state = AttemptState::Paid;
    o.attempts[0].transaction_id = Some(tx.to_owned());
    o.attempts[0].paid_at = Some(paid_at);
    o.paid_by = Some(o.attempts[0].out_trade_no.clone());
    o
}

fn with_phone(mut o: Order, phone: &str) -> Order {
    o.contact.phone = Some(phone.to_owned());
    o
}

fn insert(checkout: &helpers::ShopHandle, o: &Order) {
    let placed = Event::new(o.created_at, EventSource::Buyer, EventKind::Placed, "test order");
    checkout.store.insert_order(o, &[placed]).unwrap();
}

/// The order numbers listed on a page, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("class=\"mono order-link\" href=\"/admin/orders/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

/// 2024-05-01 12:00 Beijing time.
const MAY_1_NOON: i64 = 1_714_536_000;
const DAY: i64 = 86_400;

#[tokio::test]
async fn filters_and_search_find_the_right_orders_by_number_out_trade_no_transaction_id_and_phone() {
    let (_server, checkout, merchant) = shop().await;
    let a = paid(
        with_phone(order("240501000101", 1990, MAY_1_NOON, Channel::Native), "13800138000"),
        "4200000000000001",
        MAY_1_NOON + 60,
    );
    let b = with_phone(order("240502000102", 500, MAY_1_NOON + DAY, Channel::Mweb), "+86 139-0000-0000");
    let c = paid(
        order("240503000103", 700, MAY_1_NOON + 2 * DAY, Channel::Jsapi),
        "4200000000000003",
        MAY_1_NOON + 2 * DAY,
    );
    for o in [&a, &b, &c] {
        insert(&checkout, o);
    }
    let list = |q: &'static str| {
        let m = &merchant;
        async move {
            let (status, html) = m.page(&format!("/admin/orders{q}")).await;
            assert_eq!(status, 200, "{q}: {html}");
            listed(&html)
        }
    };
    assert_eq!(list("").await, [c.no.as_str(), b.no.as_str(), a.no.as_str()]);
    assert_eq!(list("?status=paid").await, [c.no.as_str(), a.no.as_str()]);
    assert_eq!(list("?status=pending&channel=").await, [b.no.as_str()]);
    assert_eq!(list("?channel=mweb").await, [b.no.as_str()]);
    assert_eq!(list("?channel=jsapi&status=paid").await, [c.no.as_str()]);
    assert_eq!(list("?from=2024-05-02&to=2024-05-02").await, [b.no.as_str()]);
    assert_eq!(list("?from=2024-05-02").await, [c.no.as_str(), b.no.as_str()]);
    assert_eq!(list("?q=240501000101").await, [a.no.as_str()]);
    assert_eq!(list("?q=240502000102-1").await, [b.no.as_str()]);
    assert_eq!(list("?q=4200000000000003").await, [c.no.as_str()]);
    assert_eq!(list("?q=13900000000").await, [b.no.as_str()]);
    assert_eq!(list("?q=%2B86%20138%200013%208000").await, [a.no.as_str()]);
    assert!(list("?q=999").await.is_empty());
    for bad in ["?status=lost", "?channel=card", "?from=May", "?cursor=zz"] {
        let (status, html) = merchant.page(&format!("/admin/orders{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(listed(&html).is_empty(), "{bad} lists nothing");
    }
}

#[tokio::test]
async fn the_list_is_paginated_fifty_at_a_time_newest_first() {
    let (_server, checkout, merchant) = shop().await;
    for i in 0..120 {
        insert(&checkout, &order(&format!("2405010{i:05}"), 100, MAY_1_NOON + i, Channel::Native));
    }
    let (_, first) = merchant.page("/admin/orders").await;
    let mut seen = listed(&first);
    assert_eq!(seen.len(), 50);
    assert_eq!(seen[0], "240501000119");
    let mut html = first;
    while let Some(at) = html.find("rel=\"next\" href=\"") {
        let next = html[at + 17..].split('"').next().unwrap().replace("&amp;", "&");
        html = merchant.page(&next).await.1;
        seen.extend(listed(&html));
    }
    let expected: Vec<String> = (0..120).rev().map(|i| format!("2405010{i:05}")).collect();
    assert_eq!(seen, expected, "every order once, newest first");
}

#[tokio::test]
async fn the_csv_export_has_a_bom_a_header_yuan_beijing_times_chinese_intact_and_formulas_neutralised() {
    let (_server, checkout, merchant) = shop().await;
    let mut o =
        paid(order("240501000201", 1990, MAY_1_NOON, Channel::Native), "4200000000000201", MAY_1_NOON + 90);
    o.contact.name = Some("=HYPERLINK(\"http://evil\",\"x\")".into());
    o.contact.address = Some("北京市朝阳区, 1号".into());
    insert(&checkout, &o);
    insert(&checkout, &order("240501000202", 5, MAY_1_NOON + 10, Channel::Mweb));
    let res = merchant.browser.get("/admin/orders.csv?status=paid").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "header and the one paid order: {text}");
    assert!(lines[0].starts_with("订单号 order_no,"), "{}", lines[0]);
    let row = lines[1];
    assert!(row.starts_with("240501000201,2024-05-01 12:00:00,paid,native,19.90,0.00,2024-05-01 12:01:30,4200000000000201,240501000201-1,"), "{row}");
    assert!(row.contains("杏仁酥 Almond cookies ×1"), "Chinese intact: {row}");
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "formula neutralised and quoted: {row}"
    );
    assert!(row.contains("\"北京市朝阳区, 1号\""), "a comma is quoted: {row}");
    let all = merchant.browser.get("/admin/orders.csv").await.text().await.unwrap();
    assert_eq!(all.matches("\r\n").count(), 3, "no filter: both orders");
    assert_eq!(merchant.browser.get("/admin/orders.csv?from=bad").await.status(), 400);
}

#[tokio::test]
async fn the_order_page_shows_lines_buyer_attempts_and_the_timeline_with_raw_xml_escaped() {
    let (_server, checkout, merchant) = shop().await;
    let o = paid(
        with_phone(order("240501000301", 1990, MAY_1_NOON, Channel::Native), "13800138000"),
        "4200000000000301",
        MAY_1_NOON + 60,
    );
    insert(&checkout, &o);
    let raw =
        "<xml><return_code><![CDATA[SUCCESS]]></return_code><attach><script>alert(1)</script></attach></xml>";
    checkout
        .store
        .update_order(&o.no, |_| {
            (
                (),
                vec![
                    Event::new(
                        MAY_1_NOON + 60,
                        EventSource::Notification,
                        EventKind::Paid,
                        "paid by 240501000301-1",
                    )
                    .with_raw(raw),
                ],
            )
        })
        .unwrap();
    let (status, html) = merchant.page(&format!("/admin/orders/{}", o.no)).await;
    assert_eq!(status, 200);
    for want in [
        "杏仁酥 Almond cookies",
        "¥19.90",
        "13800138000",
        "240501000301-1",
        "4200000000000301",
        "wx240501000301",
        "placed",
        "<details>",
        "return_code",
    ] {
        assert!(html.contains(want), "{want} on the page");
    }
    assert!(!html.contains("<script>alert(1)"), "raw XML is escaped");
    assert!(!html.contains("<return_code>"), "raw XML is escaped");
    assert!(html.contains("action=\"/admin/orders/240501000301/refund\""), "the refund form");
    assert!(html.contains("name=\"amount\"") && html.contains("name=\"reason\""));
    assert!(!html.contains("/close\""), "no Close for a paid order");
    assert_eq!(merchant.page("/admin/orders/240501999999").await.0, 404);
    assert_eq!(merchant.page("/admin/orders/..%2Fetc").await.0, 404);
}

/// A real pending order of a demo product with a NATIVE attempt at the sandbox: its number
/// and the `pr` the payer's scan needs.
async fn order_at_wechat(checkout: &Checkout, slug: &str, qty: u32) -> (String, String) {
    let order = checkout.place_order(&[(slug.to_owned(), qty)], Contact::default()).await.unwrap();
    let start =
        checkout.start_payment(&order.no, Channel::Native, None, "127.0.0.1".parse().unwrap()).await.unwrap();
    let PayStart::Native { code_url } = start else { panic!("a NATIVE prepay") };
    let url = url::Url::parse(&code_url).unwrap();
    let pr = url.query_pairs().find(|(k, _)| k == "pr").unwrap().1.into_owned();
    (order.no, pr)
}

async fn faults(server: &TestServer, settings: serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{}control", server.sandbox_base()))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn pay_at_sandbox(server: &TestServer, pr: &str) {
    let res = reqwest::Client::new()
        .post(format!("{}scan", server.sandbox_base()))
        .form(&[("pr", pr), ("action", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// why time_scale 1: the reconciler waits a real minute before its first query, so what
/// finds the payment in these tests is the merchant's action, not the background task.
fn real_time(c: &mut Config) {
    c.sandbox.time_scale = 1.0;
}

#[tokio::test]
async fn sync_with_wechat_applies_a_payment_whose_notifications_were_all_dropped() {
    let (server, checkout, merchant) = shop_with(real_time).await;
    faults(&server, json!({ "notify_drop_first": 16 })).await;
    let (no, pr) = order_at_wechat(&checkout, "almond-cookies", 1).await;
    pay_at_sandbox(&server, &pr).await;
    // why the log: a try is listed once it has happened; a delivered one only after the shop
    // answered it, so by then the order would be paid.
    let otn = checkout.store.order(&no).unwrap().unwrap().attempts[0].out_trade_no.clone();
    let tried =
        helpers::wait_delivery(&server.sandbox_base(), "payment", &otn, |d| !d.tries.is_empty()).await;
    assert_eq!(tried.tries[0], "dropped by fault", "{tried:?}");
    assert_eq!(
        checkout.store.order(&no).unwrap().unwrap().status,
        OrderStatus::Pending,
        "no notification came"
    );
    let res = merchant.post(&format!("/admin/orders/{no}/sync"), &[]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("SUCCESS") && html.contains("payment applied"), "{html}");
    let o = checkout.store.order(&no).unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    let events = checkout.store.events(&no).unwrap();
    let paid = events.iter().find(|e| e.kind == EventKind::Paid).unwrap();
    assert_eq!(paid.source, EventSource::Admin);
    assert!(events.iter().any(|e| e.kind == EventKind::Synced));
    let again = merchant.post(&format!("/admin/orders/{no}/sync"), &[]).await.text().await.unwrap();
    assert!(again.contains("SUCCESS"), "a second sync changes nothing and says so");
    assert_eq!(checkout.store.events(&no).unwrap().iter().filter(|e| e.kind == EventKind::Paid).count(), 1);
    let (_, audit) = merchant.page("/admin/log").await;
    assert!(audit.contains("order.sync"));
}

#[tokio::test]
async fn closing_a_pending_order_waits_out_wechats_five_minutes_then_closes_it_and_returns_the_stock() {
    // time_scale 0.004: WeChat's 5 minutes are 1.2 s.
    let (_server, checkout, merchant) = shop_with(|c| c.sandbox.time_scale = 0.004).await;
    let mut product = checkout.store.product("canvas-tote").unwrap().unwrap();
    product.stock = Some(5);
    checkout.store.put_product(&product).unwrap();
    let (no, _) = order_at_wechat(&checkout, "canvas-tote", 2).await;
    assert_eq!(checkout.store.product("canvas-tote").unwrap().unwrap().stock, Some(3));
    let early = merchant.post(&format!("/admin/orders/{no}/close"), &[]).await;
    assert_eq!(early.status(), 409);
    assert!(early.text().await.unwrap().contains("5 分钟"));
    assert_eq!(checkout.store.order(&no).unwrap().unwrap().status, OrderStatus::Pending, "nothing closed");
    // Refused (and nothing changes) until the 5 minutes have passed, then closed.
    until("WeChat's 5 minutes to pass", || async {
        let res = merchant.post(&format!("/admin/orders/{no}/close"), &[]).await;
        match res.status().as_u16() {
            200 => true,
            409 => {
                assert!(res.text().await.unwrap().contains("5 分钟"), "refused only for the 5 minutes");
                assert_eq!(checkout.store.order(&no).unwrap().unwrap().status, OrderStatus::Pending);
                false
            }
            other => panic!("closing answered {other}"),
        }
    })
    .await;
    let o = checkout.store.order(&no).unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Closed);
    assert!(o.attempts.iter().all(|a| a.state == AttemptState::Closed));
    assert_eq!(checkout.store.product("canvas-tote").unwrap().unwrap().stock, Some(5), "stock given back");
    let q = checkout
        .wx
        .order_query(&wxcheckout::wxpay::messages::OrderRef::OutTradeNo(o.attempts[0].out_trade_no.clone()))
        .await
        .unwrap();
    assert_eq!(q.trade_state, wxcheckout::wxpay::messages::TradeState::Closed, "closed at WeChat too");
    let events = checkout.store.events(&no).unwrap();
    assert!(events.iter().any(|e| e.kind == EventKind::Closed && e.source == EventSource::Admin));
    let again = merchant.post(&format!("/admin/orders/{no}/close"), &[]).await;
    assert_eq!(again.status(), 409, "a closed order is not closed twice");
}

#[tokio::test]
async fn closing_an_order_paid_without_a_notification_applies_the_payment_and_closes_nothing() {
    let (server, checkout, merchant) = shop_with(real_time).await;
    faults(&server, json!({ "notify_drop_first": 16 })).await;
    let (no, pr) = order_at_wechat(&checkout, "almond-cookies", 1).await;
    pay_at_sandbox(&server, &pr).await;
    let res = merchant.post(&format!("/admin/orders/{no}/close"), &[]).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("已支付"));
    let o = checkout.store.order(&no).unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Paid, "paid, never closed");
}

/// The takings figures of the dashboard, in page order (today, 7 days, 30 days).
fn takings(html: &str) -> Vec<String> {
    html.split("<p class=\"takings\">").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
}

fn refunded(html: &str) -> Vec<String> {
    html.split("<span class=\"refunded\">").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_dashboard_adds_up_paid_orders_by_beijing_day_and_lists_what_needs_attention() {
    let (_server, checkout, merchant) = shop().await;
    let now = wxcheckout::checkout::now();
    let placed = |no: &str, fen| {
        let o = order(no, fen, now, Channel::Native);
        insert(&checkout, &o);
        o
    };
    // Placed now, then moved to their days as a test may: through update_order.
    let days_ago = [(0, 1000), (0, 550), (3, 2000), (10, 100), (40, 9900)];
    for (i, (ago, fen)) in days_ago.iter().enumerate() {
        let o = placed(&format!("99000000{i}"), *fen);
        let at = now - ago * DAY;
        checkout
            .store
            .update_order(&o.no, |o| {
                *o = paid(o.clone(), &format!("42{i}"), at);
                o.created_at = at;
                if *ago == 3 {
                    o.status = OrderStatus::PartiallyRefunded;
                    o.refunded = Fen::new(500).unwrap();
                }
                ((), vec![])
            })
            .unwrap();
    }
    placed("990000009", 777); // pending, counted as placed only
    let stuck = order("990000010", 300, now - 3600, Channel::Mweb);
    insert(&checkout, &stuck);
    let (status, html) = merchant.page("/admin").await;
    assert_eq!(status, 200);
    assert_eq!(takings(&html), ["¥15.50", "¥35.50", "¥36.50"]);
    assert_eq!(refunded(&html), ["¥0.00", "¥5.00", "¥5.00"]);
    assert!(html.contains("<svg class=\"chart\"") && html.contains("<title id=\"chart-title\">"));
    assert!(html.contains("<table class=\"chart-table\">"), "a table fallback");
    assert!(html.contains("/admin/orders/990000010"), "the stuck pending order needs attention");
    assert!(!html.contains("/admin/orders/990000009"), "a fresh pending order does not");
}
