//! The reconciler, expiry, restarts and the graceful stop, with "WeChat" (`wxcheckout
//! sandbox`) in its own process at time_scale 0.01 and the shop at `reconcile_scale` 0.01
//! (its minute is 0.6 s, its 5 minutes 3 s, a 5-minute order lifetime 3 s); where only
//! expiry is waited for, both at 0.002 (a 5-minute lifetime and WeChat's 5 minutes: 0.6 s).
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use wxcheckout::config::Config;
use wxcheckout::domain::{EventKind, EventSource, OrderStatus, Product, Required};
use wxcheckout::wxpay::messages::{OrderRef, TradeState};

use crate::helpers::live::{self, Shop, live_env, notification, paid};
use crate::helpers::{self, until};

fn fast(config: &mut Config) {
    config.reconcile_scale = 0.01;
    config.order_ttl_minutes = 5;
}

/// As `fast`, five times faster: a 5-minute order lifetime is 0.6 s.
fn faster(config: &mut Config) {
    config.reconcile_scale = 0.002;
    config.order_ttl_minutes = 5;
}

/// Fast queries, but an order lifetime (30 minutes × 0.01 = 18 s) longer than the test.
fn fast_queries(config: &mut Config) {
    config.reconcile_scale = 0.01;
}

#[tokio::test]
async fn the_reconciler_finds_a_payment_whose_notifications_were_all_dropped_with_no_buyer_action() {
    let shop = Shop::start(fast_queries).await;
    shop.faults(json!({ "notify_drop_first": 16 })).await;
    let (order, code_url) = shop.order_with_attempt(2500).await;
    shop.pay(&code_url).await;
    let o = shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await;
    assert_eq!(o.paid_by.as_deref(), Some(format!("{}-1", order.no).as_str()));
    let paid: Vec<_> = shop.events(&order.no).into_iter().filter(|e| e.kind == EventKind::Paid).collect();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].source, EventSource::Reconciler);
}

#[tokio::test]
async fn an_unpaid_order_past_its_lifetime_is_closed_at_wechat_and_here() {
    let shop = Shop::start_at(0.002, faster).await;
    let (order, _) = shop.order_with_attempt(700).await;
    let closed =
        shop.wait_order(&order.no, Duration::from_secs(20), |o| o.status == OrderStatus::Closed).await;
    assert!(closed.closed_at.is_some());
    let otn = format!("{}-1", order.no);
    let at_wechat = shop.checkout.wx.order_query(&OrderRef::OutTradeNo(otn)).await.unwrap();
    assert_eq!(at_wechat.trade_state, TradeState::Closed, "closed at WeChat before here");
    let events = shop.events(&order.no);
    let closing = events.iter().find(|e| e.kind == EventKind::Closed).unwrap();
    assert!(closing.message.starts_with("closed: expired"), "{}", closing.message);
}

#[tokio::test]
async fn an_attempt_that_never_reached_wechat_does_not_keep_an_expired_order_open() {
    let shop = Shop::start(faster).await;
    let mut order = shop.order_without_attempts(700);
    // unifiedorder failed: saved, no prepay, unknown to WeChat (ORDERNOTEXIST).
    order.attempts.push(live::attempt(&format!("{}-1", order.no), order.created_at));
    shop.checkout.store.insert_order(&order, &[]).unwrap();
    shop.wait_order(&order.no, Duration::from_secs(20), |o| o.status == OrderStatus::Closed).await;
}

#[tokio::test]
async fn an_attempt_wechat_forgot_despite_its_prepay_never_closes_the_order_by_itself() {
    let shop = Shop::start(faster).await;
    let forgotten = |created_at: i64, prepay: &str| {
        let mut order = shop.order_without_attempts(700);
        order.created_at = created_at;
        let mut a = live::attempt(&format!("{}-1", order.no), created_at);
        a.prepay_id = Some(prepay.to_owned());
        order.attempts.push(a);
        shop.checkout.store.insert_order(&order, &[]).unwrap();
        order
    };
    let order = forgotten(wxcheckout::checkout::now(), "wx20240101120000ffffffffffffffffff");
    // why a second one, a second younger: the reconciler flags an expired order when it tries
    // to close it; once it has flagged this one, it has gone over the first again since.
    let younger = forgotten(order.created_at + 1, "wx20240101120000eeeeeeeeeeeeeeeeee");
    let flagged =
        |no: &str| shop.events(no).into_iter().filter(|e| e.kind == EventKind::WechatUnknown).count();
    until("the reconciler to flag the first order", || async { flagged(&order.no) == 1 }).await;
    until("the reconciler to flag the younger one", || async { flagged(&younger.no) == 1 }).await;
    assert_eq!(shop.order(&order.no).status, OrderStatus::Pending, "ORDERNOTEXIST alone closes nothing");
    assert_eq!(flagged(&order.no), 1, "the admin is told once");
}

#[tokio::test]
async fn a_paid_order_is_never_closed_even_when_its_payment_is_found_after_its_lifetime() {
    let shop = Shop::start(fast).await;
    shop.faults(json!({ "notify_drop_first": 16 })).await;
    let (order, code_url) = shop.order_with_attempt(900).await;
    shop.pay(&code_url).await;
    let (notified, notified_url) = shop.order_with_attempt(901).await;
    // why: an unpaid order as old as the others, which the reconciler closes once their
    // lifetime is over.
    let mut unpaid = shop.order_without_attempts(902);
    unpaid.created_at = notified.created_at;
    shop.checkout.store.insert_order(&unpaid, &[]).unwrap();
    let o = shop.wait_order(&order.no, Duration::from_secs(20), |o| o.status != OrderStatus::Pending).await;
    assert_eq!(o.status, OrderStatus::Paid);
    // Paid by its notification, then past its lifetime: stays paid.
    shop.faults(json!({ "notify_drop_first": 0 })).await;
    shop.pay(&notified_url).await;
    shop.wait_order(&notified.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await;
    shop.wait_order(&unpaid.no, Duration::from_secs(20), |o| o.status == OrderStatus::Closed).await;
    assert_eq!(shop.order(&order.no).status, OrderStatus::Paid);
    assert_eq!(shop.order(&notified.no).status, OrderStatus::Paid);
    assert_eq!(shop.count_events(&order.no, EventKind::Closed), 0);
}

#[tokio::test]
async fn closing_an_expired_order_gives_its_reserved_stock_back() {
    let shop = Shop::start(faster).await;
    let product = Product {
        slug: "mug".into(),
        name: "Mug".into(),
        description: String::new(),
        price: wxcheckout::domain::Fen::new(300).unwrap(),
        position: 1,
        archived: false,
        stock: Some(5),
        image: None,
        required: Required::default(),
    };
    shop.checkout.store.put_product(&product).unwrap();
    let order = shop
        .checkout
        .place_order(&[("mug".to_owned(), 2)], wxcheckout::domain::Contact::default())
        .await
        .unwrap();
    // why either: with 0.6 s lifetimes a loaded machine may let the reconciler close the order
    // (and give the stock back) before this read; then the order must already be closed.
    let reserved = shop.checkout.store.product("mug").unwrap().unwrap().stock;
    let closed = |o: &wxcheckout::domain::Order| o.status == OrderStatus::Closed;
    assert!(
        reserved == Some(3) || shop.checkout.store.order(&order.no).unwrap().is_some_and(|o| closed(&o)),
        "placing reserved 2 of 5: {reserved:?}"
    );
    shop.wait_order(&order.no, Duration::from_secs(20), closed).await;
    let start = Instant::now();
    // why: the stock comes back right after the close is on disk, a moment after it shows.
    while shop.checkout.store.product("mug").unwrap().unwrap().stock != Some(5) {
        assert!(start.elapsed() < Duration::from_secs(10), "stock not released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- restarts and SIGTERM -------------------------------------------------------------------

/// `wxcheckout serve` in live mode on `dir`, pointing at `sandbox_base`.
async fn serve(sandbox_base: &str, dir: &std::path::Path) -> helpers::ChildServer {
    let port = helpers::free_port();
    let env = live_env(sandbox_base, port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    helpers::spawn_binary_in(dir, port, "serve", &env).await
}

/// SIGTERM, as a service manager stops the shop; waits for the exit.
fn terminate(server: &mut helpers::ChildServer) -> std::process::ExitStatus {
    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let start = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `n` pending orders with a prepaid attempt each, written straight into `dir`'s store.
async fn seed_orders(dir: &std::path::Path, n: usize, fee: u64) -> Vec<(String, String)> {
    let store = live::open_store(dir);
    let mut made = Vec::new();
    for i in 0..n {
        let mut order = live::new_order(&format!("S{:04}{}", i, std::process::id() % 1000), fee);
        let otn = format!("{}-1", order.no);
        let mut a = live::attempt(&otn, order.created_at);
        a.prepay_id = Some(format!("wx2024010112{i:022}"));
        order.attempts.push(a);
        store.insert_order(&order, &[]).unwrap();
        made.push((order.no, otn));
    }
    store.flush().await.unwrap();
    made
}

#[tokio::test]
async fn a_restart_keeps_every_order_and_a_repeated_notification_changes_nothing() {
    let sandbox = live::sandbox_process().await;
    let dir = helpers::tempdir::TempDir::new();
    let orders = seed_orders(dir.path(), 3, 1200).await;
    let mut first = serve(&sandbox.sandbox_base(), dir.path()).await;
    let http = reqwest::Client::new();
    let body = notification(&paid(&orders[0].1, 1200, "4200000001202401010000000100"));
    let reply = http.post(format!("{}/wxpay/notify", first.url())).body(body.clone()).send().await.unwrap();
    assert_eq!(reply.text().await.unwrap(), wxcheckout::wxpay::notify::notify_reply_success());
    assert!(terminate(&mut first).success(), "a clean exit on SIGTERM");

    let mut second = serve(&sandbox.sandbox_base(), dir.path()).await;
    let reply = http.post(format!("{}/wxpay/notify", second.url())).body(body).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.text().await.unwrap(), wxcheckout::wxpay::notify::notify_reply_success());
    assert!(terminate(&mut second).success());

    let store = live::open_store(dir.path());
    for (i, (no, _)) in orders.iter().enumerate() {
        let o = store.order(no).unwrap().expect("kept across restarts");
        let want = if i == 0 { OrderStatus::Paid } else { OrderStatus::Pending };
        assert_eq!(o.status, want, "{no}");
    }
    let paid = store.events(&orders[0].0).unwrap().into_iter().filter(|e| e.kind == EventKind::Paid).count();
    assert_eq!(paid, 1);
}

#[tokio::test]
async fn notifications_in_flight_at_sigterm_are_either_acknowledged_and_on_disk_or_unanswered() {
    let sandbox = live::sandbox_process().await;
    let dir = helpers::tempdir::TempDir::new();
    let orders = seed_orders(dir.path(), 60, 600).await;
    let mut shop = serve(&sandbox.sandbox_base(), dir.path()).await;
    let http = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for (i, (no, otn)) in orders.iter().enumerate() {
        let body = notification(&paid(otn, 600, &format!("42000000012024010100000{i:05}")));
        let (http, url, no) = (http.clone(), format!("{}/wxpay/notify", shop.url()), no.clone());
        set.spawn(async move {
            tokio::time::sleep(Duration::from_millis(i as u64 / 2)).await;
            let acked = match http.post(url).body(body).send().await {
                Ok(r) => r.text().await.is_ok_and(|t| t == wxcheckout::wxpay::notify::notify_reply_success()),
                Err(_) => false,
            };
            (no, acked)
        });
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    let exit = tokio::task::spawn_blocking(move || {
        let status = terminate(&mut shop);
        (shop, status)
    });
    let replies = set.join_all().await;
    let (_shop, status) = exit.await.unwrap();
    // why not asserted: Rocket 0.5 reports "shutdown failed" (exit 1) when a client still holds
    // a connection after grace + mercy; what matters here is what reached the disk.
    eprintln!("exit after SIGTERM: {status:?}");

    let store = live::open_store(dir.path());
    let mut acked = 0;
    for (no, was_acked) in &replies {
        let o = store.order(no).unwrap().unwrap();
        if *was_acked {
            acked += 1;
            assert_eq!(o.status, OrderStatus::Paid, "{no} was acknowledged, so it must be on disk");
        }
    }
    eprintln!("{acked} of {} acknowledged before the stop", replies.len());
}

#[tokio::test]
async fn an_order_the_reconciler_has_already_read_is_read_again_once_it_gets_an_attempt() {
    let shop = Shop::start(fast_queries).await;
    shop.faults(json!({ "notify_drop_first": 16 })).await;
    // A pending order with no attempt: nothing of it is due before its lifetime ends.
    let resting = shop.order_without_attempts(1800);
    shop.checkout.store.insert_order(&resting, &[]).unwrap();
    // A round has gone past it once another order, placed after it, is found paid by the
    // reconciler (rounds read pending orders oldest first).
    let (later, code_url) = shop.order_with_attempt(2500).await;
    shop.pay(&code_url).await;
    shop.wait_order(&later.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await;
    // Now the resting order gets an attempt, paid with every notification lost: only the
    // reconciler's query can find it, and only if it reads the order again.
    let (attempt, code_url) = shop.native_attempt(&resting, 1).await;
    shop.checkout
        .store
        .update_order(&resting.no, |o| {
            o.attempts.push(attempt.clone());
            ((), Vec::new())
        })
        .unwrap();
    shop.pay(&code_url).await;
    let o = shop.wait_order(&resting.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await;
    assert_eq!(o.paid_by.as_deref(), Some(format!("{}-1", resting.no).as_str()));
    let paid: Vec<_> = shop.events(&resting.no).into_iter().filter(|e| e.kind == EventKind::Paid).collect();
    assert_eq!(paid.iter().map(|e| e.source).collect::<Vec<_>>(), [EventSource::Reconciler]);
}
