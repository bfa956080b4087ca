//! The buyer's order page over real HTTP: languages, the three outcomes, the status JSON,
//! the check button, and orders that survive a restart of the built binary.
#![allow(clippy::unwrap_used)] // why: a test fails loudly on purpose

use wxcheckout::domain::{Fen, Order, OrderStatus};

use crate::helpers::{self, Buyer};

async fn shop_with_order() -> (helpers::TestServer, helpers::ShopHandle, Buyer, String) {
    let (server, checkout) = helpers::spawn_shop_with_checkout(|_| {}).await;
    let buyer = Buyer::new(&server.url());
    let page = buyer.buy_now("pour-over-coffee", 2).await;
    (server, checkout, buyer, page)
}

fn order_at(checkout: &helpers::ShopHandle, page: &str) -> Order {
    checkout.store.order_by_token(page.strip_prefix("/o/").unwrap()).unwrap().unwrap()
}

/// Moves the order to a state the test needs (the payment paths have their own suites).
fn change(checkout: &helpers::ShopHandle, page: &str, f: impl Fn(&mut Order)) {
    let no = order_at(checkout, page).no;
    checkout.store.update_order(&no, |o| (f(o), Vec::new())).unwrap();
}

// 2026-11-22 16:30:05 UTC = 2026-11-23 00:30:05 in Beijing.
const PAID_AT: i64 = 1_795_365_005;

fn paid(o: &mut Order) {
    o.status = OrderStatus::Paid;
    o.paid_at = Some(PAID_AT);
}

async fn page_in(buyer: &Buyer, path: &str, lang: &str) -> (u16, String) {
    let res = buyer.send(buyer.request(reqwest::Method::GET, path).header("Accept-Language", lang)).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_pending_order_page_speaks_chinese_by_default_and_offers_to_pay_and_to_check() {
    let (_server, checkout, buyer, page) = shop_with_order().await;
    let order = order_at(&checkout, &page);
    let res = buyer.get(&page).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(html.contains(&order.no), "the order number");
    assert!(
        html.contains("等待支付结果") && html.contains("已完成支付") && html.contains("遇到问题，重新支付")
    );
    assert!(html.contains("去支付"));
    let token = page.strip_prefix("/o/").unwrap();
    assert!(html.contains(&format!("action=\"/o/{token}/check\"")), "the check works without JS");
    assert!(html.contains(&format!("href=\"/pay/{token}\"")));
    assert!(html.contains("手冲咖啡") && html.contains("¥56.00"), "lines and total");
    assert!(html.contains(&format!("data-order-token=\"{token}\"")));
    assert!(html.contains("src=\"/static/order.js?v="), "the poller is a file");
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains("沙箱模式"), "the sandbox banner");
}

#[tokio::test]
async fn the_order_page_speaks_english_when_the_browser_asks_for_it() {
    let (_server, _checkout, buyer, page) = shop_with_order().await;
    let (status, html) = page_in(&buyer, &page, "en-GB,en;q=0.9").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"en\">"));
    assert!(
        html.contains("Waiting for the payment")
            && html.contains("I have paid")
            && html.contains("Pay again")
    );
    assert!(!html.contains("等待支付结果"));
}

#[tokio::test]
async fn an_unknown_token_is_a_404_in_every_form() {
    let (_server, _checkout, buyer, _page) = shop_with_order().await;
    for path in ["/o/AAAAAAAAAAAAAAAAAAAAAA", "/o/261123000001"] {
        let (status, html) = page_in(&buyer, path, "").await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("订单不存在"));
    }
    let res = buyer.get("/o/AAAAAAAAAAAAAAAAAAAAAA/status").await;
    assert_eq!(res.status(), 404);
    let res = buyer.post_form("/o/AAAAAAAAAAAAAAAAAAAAAA/check", &[]).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn the_status_json_has_the_order_number_status_total_and_paid_at_and_is_never_cached() {
    let (_server, checkout, buyer, page) = shop_with_order().await;
    let res = buyer.get(&format!("{page}/status")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let json: serde_json::Value = res.json().await.unwrap();
    let no = order_at(&checkout, &page).no;
    assert_eq!(
        json,
        serde_json::json!({"order_no": no, "status": "pending", "total_fen": 5600, "paid_at": null})
    );

    change(&checkout, &page, paid);
    let json: serde_json::Value = buyer.get(&format!("{page}/status")).await.json().await.unwrap();
    assert_eq!(json["status"], "paid");
    assert_eq!(json["paid_at"], "2026-11-22T16:30:05Z");
}

#[tokio::test]
async fn the_check_button_on_a_pending_order_comes_back_saying_the_payment_is_not_seen_yet() {
    let (_server, checkout, buyer, page) = shop_with_order().await;
    let res = buyer.post_form(&format!("{page}/check"), &[]).await;
    assert_eq!(res.status(), 303);
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(back == format!("{page}?checked=1") || back == format!("{page}?checked=failed"), "{back}");
    let html = buyer.get(&format!("{page}?checked=1")).await.text().await.unwrap();
    assert!(html.contains("尚未收到支付结果"), "{html}");
    let (_, en) = page_in(&buyer, &format!("{page}?checked=1"), "en").await;
    assert!(en.contains("We have not seen the payment yet"));

    let json = buyer
        .request(reqwest::Method::POST, &format!("{page}/check"))
        .header("Accept", "application/json")
        .header("Sec-Fetch-Site", "same-origin");
    let res = buyer.send(json).await;
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["status"], "pending");
    assert_eq!(json["order_no"], order_at(&checkout, &page).no.as_str());
}

#[tokio::test]
async fn the_check_of_a_paid_order_goes_back_to_the_plain_page() {
    let (_server, checkout, buyer, page) = shop_with_order().await;
    change(&checkout, &page, paid);
    let res = buyer.post_form(&format!("{page}/check"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"].to_str().unwrap(), page);
}

#[tokio::test]
async fn a_cross_site_check_is_refused() {
    let (_server, _checkout, buyer, page) = shop_with_order().await;
    let req = buyer
        .request(reqwest::Method::POST, &format!("{page}/check"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://evil.example");
    assert_eq!(buyer.send(req).await.status(), 403);
}

#[tokio::test]
async fn a_paid_order_shows_a_receipt_with_the_beijing_time_of_payment() {
    let (_server, checkout, buyer, page) = shop_with_order().await;
    change(&checkout, &page, paid);
    let html = buyer.get(&page).await.text().await.unwrap();
    assert!(html.contains("支付成功") && html.contains("2026-11-23 00:30:05") && html.contains("¥56.00"));
    assert!(!html.contains("已完成支付") && !html.contains("order.js"), "nothing left to pay or poll");
    let (_, en) = page_in(&buyer, &page, "en").await;
    assert!(en.contains("Paid") && en.contains("Beijing time"));
}

#[tokio::test]
async fn a_closed_order_says_so_and_offers_to_order_again() {
    let (_server, checkout, buyer, page) = shop_with_order().await;
    change(&checkout, &page, |o| {
        o.close(PAID_AT);
    });
    let html = buyer.get(&page).await.text().await.unwrap();
    assert!(html.contains("订单已关闭") && html.contains("href=\"/p/pour-over-coffee\""), "{html}");
    assert!(!html.contains("已完成支付"));
    let (_, en) = page_in(&buyer, &page, "en").await;
    assert!(en.contains("This order is closed") && en.contains("Order again"));
    let json: serde_json::Value = buyer.get(&format!("{page}/status")).await.json().await.unwrap();
    assert_eq!(json["status"], "closed");
}

#[tokio::test]
async fn refunded_orders_say_how_much_was_given_back() {
    let (_server, checkout, buyer, page) = shop_with_order().await;
    change(&checkout, &page, |o| {
        paid(o);
        o.apply_refund("R1", Fen::new(1000).unwrap()).unwrap();
    });
    let html = buyer.get(&page).await.text().await.unwrap();
    assert!(html.contains("已部分退款") && html.contains("¥10.00"), "{html}");
    let json: serde_json::Value = buyer.get(&format!("{page}/status")).await.json().await.unwrap();
    assert_eq!(json["status"], "partially_refunded");

    change(&checkout, &page, |o| {
        o.apply_refund("R2", Fen::new(4600).unwrap()).unwrap();
    });
    let (_, en) = page_in(&buyer, &page, "en").await;
    assert!(en.contains("Refunded") && en.contains("¥56.00"), "{en}");
}

#[tokio::test]
async fn the_poller_script_is_served_and_reads_the_token_from_the_page() {
    let (_server, _checkout, buyer, _page) = shop_with_order().await;
    let res = buyer.get("/static/order.js").await;
    assert_eq!(res.status(), 200);
    let js = res.text().await.unwrap();
    assert!(js.contains("data-order-token") && js.contains("/status"));
}

#[tokio::test]
async fn orders_survive_a_restart_of_the_built_binary() {
    let dir = helpers::tempdir::TempDir::new();
    let data = dir.path().to_str().unwrap().to_owned();
    let env = [("WXCHECKOUT_DATA_DIR", data.as_str())];
    let first = helpers::spawn_binary("serve", &env).await;
    let buyer = Buyer::new(&first.url());
    let page = buyer.buy_now("canvas-tote", 1).await;
    let before: serde_json::Value = buyer.get(&format!("{page}/status")).await.json().await.unwrap();
    // why: killed, not stopped: the order was on disk before the redirect was answered.
    drop(first);

    let second = helpers::spawn_binary("serve", &env).await;
    let buyer = Buyer::new(&second.url());
    let res = buyer.get(&page).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains(before["order_no"].as_str().unwrap()) && html.contains("¥69.00"));
    let after: serde_json::Value = buyer.get(&format!("{page}/status")).await.json().await.unwrap();
    assert_eq!(before, after);
}
