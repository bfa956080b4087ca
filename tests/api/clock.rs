//! The injected clock: the shop built with `app::shop_with_clock` reads "now" from the clock
//! the test holds, so times are exact and an order's lifetime passes without waiting for it.
#![allow(clippy::unwrap_used)] // why: a test fails loudly on purpose

use std::time::Duration;

use time::macros::datetime;
use wxcheckout::clock::Clock;
use wxcheckout::config::Config;
use wxcheckout::domain::OrderStatus;

use crate::helpers::{self, Buyer, TestServer};

/// The shop (with the sandbox inside) on `clock`, and a handle on its checkout.
async fn shop_on(clock: &Clock, tune: impl FnOnce(&mut Config)) -> (TestServer, helpers::ShopHandle, Buyer) {
    let (config, data_dir) = helpers::test_config(tune);
    let (rocket, checkout) = helpers::build_shop(config, clock.clone());
    let server = TestServer::start(rocket, data_dir).await;
    let buyer = Buyer::new(&server.url());
    (server, checkout, buyer)
}

fn token_of(location: &str) -> &str {
    location.strip_prefix("/o/").expect("an order page")
}

#[tokio::test]
async fn an_order_placed_on_a_set_clock_is_created_at_that_time_and_numbered_by_its_beijing_date() {
    // 16:30 UTC is 00:30 the next day in Beijing: the order number follows Beijing.
    let set = datetime!(2030-06-01 16:30:05 UTC);
    let clock = Clock::fixed(set);
    let (_server, checkout, buyer) = shop_on(&clock, |_| {}).await;
    let location = buyer.buy_now("pour-over-coffee", 1).await;
    let order = checkout.store.order_by_token(token_of(&location)).unwrap().expect("the order");
    assert_eq!(order.created_at, set.unix_timestamp());
    assert!(order.no.starts_with("300602"), "numbered by the Beijing date: {}", order.no);
    let placed = checkout.store.events(&order.no).unwrap();
    assert!(placed.iter().all(|e| e.at == set.unix_timestamp()), "its events carry the set time too");
}

#[tokio::test]
async fn an_unpaid_order_is_closed_once_the_clock_passes_its_lifetime_without_waiting_for_it() {
    let clock = Clock::fixed(datetime!(2030-06-01 08:00 UTC));
    // Real durations: a 5-minute lifetime that only the clock can make pass in a test.
    let (_server, checkout, buyer) = shop_on(&clock, |c| {
        c.order_ttl_minutes = 5;
        c.reconcile_scale = 1.0;
    })
    .await;
    let location = buyer.buy_now("oolong-tea", 1).await;
    let no = checkout.store.order_by_token(token_of(&location)).unwrap().expect("the order").no;
    assert_eq!(checkout.store.order(&no).unwrap().unwrap().status, OrderStatus::Pending);

    clock.advance(Duration::from_secs(5 * 60 + 1));

    helpers::until("the reconciler closes the expired order", || async {
        checkout.store.order(&no).unwrap().is_some_and(|o| o.status == OrderStatus::Closed)
    })
    .await;
    let order = checkout.store.order(&no).unwrap().unwrap();
    assert_eq!(order.closed_at, Some(datetime!(2030-06-01 08:05:01 UTC).unix_timestamp()));
}

#[tokio::test]
async fn an_order_keeps_the_lifetime_it_was_placed_with_when_the_merchant_shortens_the_shop_s() {
    let clock = Clock::fixed(datetime!(2030-06-01 08:00 UTC));
    let (_server, checkout, buyer) = shop_on(&clock, |c| {
        c.order_ttl_minutes = 30;
        c.reconcile_scale = 1.0;
    })
    .await;
    let first = buyer.buy_now("oolong-tea", 1).await;
    let first = checkout.store.order_by_token(token_of(&first)).unwrap().expect("the order").no;
    checkout.change_runtime(|s| s.order_ttl_minutes = Some(5)).await.unwrap();
    let second = buyer.buy_now("oolong-tea", 1).await;
    let second = checkout.store.order_by_token(token_of(&second)).unwrap().expect("the order").no;
    assert_eq!(checkout.store.order(&first).unwrap().unwrap().lifetime_secs, Some(30 * 60));
    assert_eq!(checkout.store.order(&second).unwrap().unwrap().lifetime_secs, Some(5 * 60));

    clock.advance(Duration::from_secs(6 * 60));
    helpers::until("the order placed under the 5-minute lifetime closes", || async {
        checkout.store.order(&second).unwrap().is_some_and(|o| o.status == OrderStatus::Closed)
    })
    .await;
    assert_eq!(
        checkout.store.order(&first).unwrap().unwrap().status,
        OrderStatus::Pending,
        "the one placed under 30 minutes still waits for its buyer"
    );

    clock.advance(Duration::from_secs(25 * 60));
    helpers::until("and closes at its own 30 minutes", || async {
        checkout.store.order(&first).unwrap().is_some_and(|o| o.status == OrderStatus::Closed)
    })
    .await;
}
