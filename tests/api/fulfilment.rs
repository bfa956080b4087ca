//! Fulfilment over real HTTP: the merchant ships, completes or marks picked up from the order
//! page, ships many orders from the list, filters by stage and exports it; the buyer's page
//! shows where the order is and its receipt; refusals are 4xx and change nothing; refunds
//! keep working on a shipped order (with "WeChat" in its own process for those).
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use wxcheckout::config::Secret;
use wxcheckout::domain::{
    Attempt, AttemptState, Channel, Contact, Event, EventKind, EventSource, Fen, Line, Order, OrderStatus,
    Stage,
};

use crate::helpers::live::Shop;
use crate::helpers::{self, ADMIN_PASSWORD, Buyer, Merchant, TestServer};

async fn shop() -> (TestServer, helpers::ShopHandle, Merchant) {
    let (server, checkout) =
        helpers::spawn_shop_with_checkout(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    (server, checkout, merchant)
}

/// 2024-05-01 12:00 Beijing time.
const MAY_1_NOON: i64 = 1_714_536_000;

/// A stored order `no` of two lines (¥12.00 × 2 + ¥5.50), paid unless `paid` is false.
///
/// why an unpaid one is created now: the reconciler closes old pending orders (a change and
/// an event the refusal tests would see).
fn order(no: &str, created_at: i64, paid: bool) -> Order {
    let created_at = if paid { created_at } else { wxcheckout::checkout::now() };
    let fen = |n| Fen::new(n).unwrap();
    let attempt = Attempt {
        prepay_id: Some(format!("wx{no}")),
        prepay_at: Some(created_at),
        state: if paid { AttemptState::Paid } else { AttemptState::Open },
        transaction_id: paid.then(|| format!("42000{no}")),
        paid_at: paid.then_some(created_at + 60),
        ..Attempt::open(format!("{no}-1"), Channel::Native, "127.0.0.1", created_at)
    };
    let lines = vec![
        Line {
            slug: "almond-cookies".into(), name: "杏仁酥 Almond cookies".into(), unit: fen(1200), qty: 2
        },
        Line { slug: "tea".into(), name: "茉莉花茶 Jasmine tea".into(), unit: fen(550), qty: 1 },
    ];
    let token = wxcheckout::checkout::new_token();
    Order {
        status: if paid { OrderStatus::Paid } else { OrderStatus::Pending },
        paid_at: paid.then_some(created_at + 60),
        attempts: vec![attempt],
        paid_by: paid.then(|| format!("{no}-1")),
        ..Order::placed(no.to_owned(), token, lines, fen(2950), Contact::default(), created_at)
    }
}

fn insert(checkout: &helpers::ShopHandle, o: &Order) {
    let placed = Event::new(o.created_at, EventSource::Buyer, EventKind::Placed, "test order");
    checkout.store.insert_order(o, &[placed]).unwrap();
}

fn stored(checkout: &helpers::ShopHandle, no: &str) -> Order {
    checkout.store.order(no).unwrap().unwrap()
}

fn count_events(checkout: &helpers::ShopHandle, no: &str, kind: EventKind) -> usize {
    checkout.store.events(no).unwrap().iter().filter(|e| e.kind == kind).count()
}

/// The order numbers listed on an orders page, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("class=\"mono order-link\" href=\"/admin/orders/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

async fn buyer_page(base: &str, token: &str) -> String {
    let res = Buyer::new(base).get(&format!("/o/{token}")).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

async fn ship(m: &Merchant, no: &str, carrier: &str, tracking: &str, note: &str) -> reqwest::Response {
    m.post(
        &format!("/admin/orders/{no}/ship"),
        &[("carrier", carrier), ("tracking", tracking), ("note", note)],
    )
    .await
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_shipped_order_shows_carrier_tracking_number_and_date_on_the_buyers_page_with_its_receipt() {
    let (server, checkout, merchant) = shop().await;
    let o = order("240501000301", MAY_1_NOON, true);
    insert(&checkout, &o);
    checkout
        .change_runtime(|s| {
            s.profile.name = "山间咖啡".to_owned();
            s.profile.service_contact = "微信 shanjian-coffee".to_owned();
        })
        .await
        .unwrap();

    let before = buyer_page(&server.url(), &o.token).await;
    assert!(
        before.contains("商家: 山间咖啡 · 客服: <span class=\"service-contact\">微信 shanjian-coffee</span>"),
        "the receipt names the merchant and how to reach them: {before}"
    );
    assert!(before.contains("商家正在备货"), "paid, not shipped: preparing: {before}");
    assert!(before.contains("4200024050100030"), "the receipt has WeChat's transaction id");
    assert!(before.contains("2024-05-01 12:01:00"), "paid time in Beijing time");
    assert!(before.contains("杏仁酥 Almond cookies") && before.contains("¥29.50"), "lines and total");
    let (_, admin) = merchant.page(&format!("/admin/orders/{}", o.no)).await;
    assert!(admin.contains("action=\"/admin/orders/240501000301/ship\""), "the ship form is offered");

    let res = ship(&merchant, &o.no, "顺丰速运", " SF1234567890 ", "易碎，轻放").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with(&format!("/admin/orders/{}?flash=", o.no)), "{}", location(&res));
    let shipped = stored(&checkout, &o.no);
    assert_eq!(shipped.stage(), Some(Stage::Shipped));
    let s = shipped.fulfilment.shipment().unwrap();
    assert_eq!(
        (s.carrier.as_str(), s.tracking.as_str(), s.note.as_deref()),
        ("顺丰速运", "SF1234567890", Some("易碎，轻放"))
    );
    assert_eq!(count_events(&checkout, &o.no, EventKind::Shipped), 1);
    let audit = checkout.store.admin_records().unwrap().recent_audit(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "order.ship" && e.detail.contains("SF1234567890")), "{audit:?}");

    let page = buyer_page(&server.url(), &o.token).await;
    assert!(page.contains("已发货"), "{page}");
    assert!(
        page.contains("顺丰速运") && page.contains("SF1234567890") && page.contains("易碎，轻放"),
        "{page}"
    );
    assert!(!page.contains("商家正在备货"));
    let (_, admin) = merchant.page(&format!("/admin/orders/{}", o.no)).await;
    assert!(admin.contains("SF1234567890") && admin.contains("/complete\""), "shipped: complete is offered");

    let res = merchant.post(&format!("/admin/orders/{}/complete", o.no), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(stored(&checkout, &o.no).stage(), Some(Stage::Completed));
    let page = buyer_page(&server.url(), &o.token).await;
    assert!(page.contains("已完成") && page.contains("SF1234567890"), "completed keeps the tracking: {page}");

    // A shop without delivery: picked up, from "to ship".
    let p = order("240501000302", MAY_1_NOON + 5, true);
    insert(&checkout, &p);
    let res = merchant.post(&format!("/admin/orders/{}/picked-up", p.no), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(stored(&checkout, &p.no).stage(), Some(Stage::PickedUp));
    assert_eq!(count_events(&checkout, &p.no, EventKind::PickedUp), 1);
    assert!(buyer_page(&server.url(), &p.token).await.contains("已取货"));
}

#[tokio::test]
async fn moves_the_order_does_not_allow_and_bad_details_are_refused_with_a_4xx_and_change_nothing() {
    let (_server, checkout, merchant) = shop().await;
    let unpaid = order("240501000401", MAY_1_NOON, false);
    let paid = order("240501000402", MAY_1_NOON + 1, true);
    insert(&checkout, &unpaid);
    insert(&checkout, &paid);
    let events = |no: &str| checkout.store.events(no).unwrap().len();
    let (unpaid_events, paid_events) = (events(&unpaid.no), events(&paid.no));

    let res = ship(&merchant, &unpaid.no, "SF", "SF1", "").await;
    assert_eq!(res.status(), 409, "shipping an unpaid order");
    assert!(res.text().await.unwrap().contains("还没有付款"));
    assert_eq!(merchant.post(&format!("/admin/orders/{}/picked-up", unpaid.no), &[]).await.status(), 409);
    let res = merchant.post(&format!("/admin/orders/{}/complete", paid.no), &[]).await;
    assert_eq!(res.status(), 409, "completing an order not shipped");
    assert!(res.text().await.unwrap().contains("还没有发货"));
    for (carrier, tracking, note) in [
        ("", "SF1", ""),
        ("SF", "", ""),
        ("SF", &"9".repeat(65), ""),
        ("SF", "SF\u{1}1", ""),
        ("SF", "SF1", &"n".repeat(201)),
    ] {
        let res = ship(&merchant, &paid.no, carrier, tracking, note).await;
        assert_eq!(res.status(), 422, "{carrier:?} {tracking:?} note of {} chars", note.len());
    }
    let res = merchant.post(&format!("/admin/orders/{}/ship", paid.no), &[("tracking", "SF1")]).await;
    assert_eq!(res.status(), 422, "no carrier field at all");
    assert!(res.text().await.unwrap().contains("请填写快递公司"), "says which field");
    assert_eq!(stored(&checkout, &unpaid.no), unpaid, "nothing changed");
    assert_eq!(stored(&checkout, &paid.no), paid, "nothing changed");
    assert_eq!((events(&unpaid.no), events(&paid.no)), (unpaid_events, paid_events), "no event written");

    assert_eq!(ship(&merchant, &paid.no, "SF", "SF1", "").await.status(), 303);
    let shipped = stored(&checkout, &paid.no);
    let res = ship(&merchant, &paid.no, "ZTO", "ZT2", "").await;
    assert_eq!(res.status(), 409, "shipping twice");
    assert!(res.text().await.unwrap().contains("已经发货"));
    assert_eq!(merchant.post(&format!("/admin/orders/{}/picked-up", paid.no), &[]).await.status(), 409);
    assert_eq!(stored(&checkout, &paid.no), shipped, "the first shipment stays");
    assert_eq!(count_events(&checkout, &paid.no, EventKind::Shipped), 1);
    assert_eq!(ship(&merchant, "240501999999", "SF", "SF1", "").await.status(), 404, "no such order");
}

#[tokio::test]
async fn a_fulfilment_form_without_this_sessions_token_is_refused_and_ships_nothing() {
    let (_server, checkout, merchant) = shop().await;
    let o = order("240501000501", MAY_1_NOON, true);
    insert(&checkout, &o);
    let forged = |path: String, fields: Vec<(&'static str, String)>| {
        let m = &merchant;
        async move {
            let mut all = vec![("csrf", "not-the-token".to_owned())];
            all.extend(fields);
            let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            m.browser.post_form(&path, &all).await.status()
        }
    };
    let ship_fields = vec![("carrier", "SF".to_owned()), ("tracking", "SF1".to_owned())];
    assert_eq!(forged(format!("/admin/orders/{}/ship", o.no), ship_fields).await, 403);
    assert_eq!(forged(format!("/admin/orders/{}/picked-up", o.no), vec![]).await, 403);
    let bulk = vec![
        ("carrier", "SF".to_owned()),
        ("pick", o.no.clone()),
        (leak(format!("tracking[{}]", o.no)), "SF1".to_owned()),
    ];
    assert_eq!(forged("/admin/orders/ship".to_owned(), bulk).await, 403);
    // Without a session at all: the sign-in wall.
    let stranger = Buyer::new(&merchant.browser.base);
    let res = stranger
        .post_form(&format!("/admin/orders/{}/ship", o.no), &[("carrier", "SF"), ("tracking", "SF1")])
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(stored(&checkout, &o.no), o);
    assert_eq!(count_events(&checkout, &o.no, EventKind::Shipped), 0);
}

/// A field name made at run time, for a form given as `&'static str` names.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[tokio::test]
async fn bulk_mark_shipped_ships_each_ticked_order_with_its_own_tracking_number_and_nothing_else() {
    let (_server, checkout, merchant) = shop().await;
    let nos = ["240501000601", "240501000602", "240501000603"];
    for (i, no) in nos.iter().enumerate() {
        insert(&checkout, &order(no, MAY_1_NOON + i as i64, true));
    }
    let pending = order("240501000604", MAY_1_NOON + 9, false);
    insert(&checkout, &pending);

    let (status, html) = merchant.page("/admin/orders?fulfilment=to_ship").await;
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/admin/orders/ship\""), "the bulk form is offered");
    for no in nos {
        assert!(html.contains(&format!("name=\"pick\" value=\"{no}\"")), "{no} can be ticked");
        assert!(html.contains(&format!("name=\"tracking[{no}]\"")), "{no} has its tracking input");
    }

    // A ticked order without a tracking number refuses the whole form.
    let res = merchant
        .post(
            "/admin/orders/ship",
            &[
                ("carrier", "中通快递"),
                ("pick", nos[0]),
                ("pick", nos[1]),
                ("tracking[240501000601]", "ZT100"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains(nos[1]), "says which order lacks a number");
    assert!(nos.iter().all(|no| stored(&checkout, no).stage() == Some(Stage::ToShip)), "nothing shipped");

    // Two ticked, each with its number; the third's number is typed but not ticked.
    let res = merchant
        .post(
            "/admin/orders/ship",
            &[
                ("carrier", "中通快递"),
                ("note", "周一发出"),
                ("pick", nos[0]),
                ("tracking[240501000601]", "ZT100"),
                ("pick", nos[2]),
                ("tracking[240501000603]", "ZT300"),
                ("tracking[240501000602]", "ZT200"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("2 个订单已发货，0 个未发货"));
    let tracking = |no: &str| {
        stored(&checkout, no).fulfilment.shipment().map(|s| (s.carrier.clone(), s.tracking.clone()))
    };
    assert_eq!(tracking(nos[0]), Some(("中通快递".into(), "ZT100".into())));
    assert_eq!(tracking(nos[2]), Some(("中通快递".into(), "ZT300".into())));
    assert_eq!(stored(&checkout, nos[1]).stage(), Some(Stage::ToShip), "not ticked: not shipped");
    assert_eq!(
        stored(&checkout, nos[2]).fulfilment.shipment().and_then(|s| s.note.clone()).as_deref(),
        Some("周一发出")
    );
    let audit = checkout.store.admin_records().unwrap().recent_audit(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "order.ship_bulk" && e.detail.contains(nos[2])), "{audit:?}");

    // An order the state refuses is reported; the others in the form still ship.
    let res = merchant
        .post(
            "/admin/orders/ship",
            &[
                ("carrier", "EMS"),
                ("pick", nos[1]),
                ("tracking[240501000602]", "EMS2"),
                ("pick", &pending.no),
                ("tracking[240501000604]", "EMS4"),
                ("pick", nos[0]),
                ("tracking[240501000601]", "EMS1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(html.contains("1 个订单已发货，2 个未发货"), "{html}");
    assert_eq!(tracking(nos[1]), Some(("EMS".into(), "EMS2".into())));
    assert_eq!(tracking(nos[0]), Some(("中通快递".into(), "ZT100".into())), "shipped before: unchanged");
    assert_eq!(stored(&checkout, &pending.no), pending);

    // More than a page of orders at once is refused whole.
    let many: Vec<String> = (0..51).map(|i| format!("2405019{i:05}")).collect();
    let mut fields = vec![("carrier", "SF")];
    fields.extend(many.iter().map(|n| ("pick", n.as_str())));
    assert_eq!(merchant.post("/admin/orders/ship", &fields).await.status(), 422);
}

#[tokio::test]
async fn the_list_filters_by_fulfilment_the_dashboard_queues_orders_to_ship_and_the_csv_has_fulfilment_columns()
 {
    let (_server, checkout, merchant) = shop().await;
    let a = order("240501000701", MAY_1_NOON, true);
    let b = order("240501000702", MAY_1_NOON + 60, true);
    let c = order("240501000703", MAY_1_NOON + 120, true);
    let d = order("240501000704", MAY_1_NOON + 180, false);
    for o in [&a, &b, &c, &d] {
        insert(&checkout, o);
    }
    assert_eq!(ship(&merchant, &b.no, "顺丰速运", "SF777", "").await.status(), 303);
    assert_eq!(merchant.post(&format!("/admin/orders/{}/picked-up", c.no), &[]).await.status(), 303);

    let list = |q: &'static str| {
        let m = &merchant;
        async move {
            let (status, html) = m.page(&format!("/admin/orders{q}")).await;
            assert_eq!(status, 200, "{q}");
            listed(&html)
        }
    };
    assert_eq!(list("?fulfilment=to_ship").await, [a.no.as_str()]);
    assert_eq!(list("?fulfilment=shipped").await, [b.no.as_str()]);
    assert_eq!(list("?fulfilment=picked_up").await, [c.no.as_str()]);
    assert!(list("?fulfilment=completed").await.is_empty());
    assert_eq!(list("?fulfilment=shipped&status=paid").await, [b.no.as_str()]);
    assert_eq!(list("").await.len(), 4);
    let (status, _) = merchant.page("/admin/orders?fulfilment=lost").await;
    assert_eq!(status, 400);
    let (_, all) = merchant.page("/admin/orders").await;
    assert!(all.contains("SF777"), "the list shows the tracking number");
    assert!(all.contains("stage-picked_up") && all.contains("stage-to_ship"), "the list shows the stage");

    let (_, home) = merchant.page("/admin").await;
    assert!(home.contains("1 个订单待发货"), "the dashboard counts the queue");
    assert!(home.contains(&format!("href=\"/admin/orders/{}\"", a.no)), "and links the oldest");
    assert!(home.contains("href=\"/admin/orders?fulfilment=to_ship\""));

    let res = merchant.browser.get("/admin/orders.csv?fulfilment=shipped").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let lines: Vec<&str> =
        text.trim_start_matches('\u{feff}').split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].ends_with(
            "发货状态 fulfilment,快递公司 carrier,快递单号 tracking,发货时间 shipped_at (Beijing)"
        ),
        "{}",
        lines[0]
    );
    let shipped_at = stored(&checkout, &b.no).fulfilment.shipment().unwrap().shipped_at;
    let beijing = wxcheckout::wxpay::messages::beijing_display(shipped_at);
    assert!(lines[1].ends_with(&format!(",shipped,顺丰速运,SF777,{beijing}")), "{}", lines[1]);
    let all = merchant.browser.get("/admin/orders.csv").await.text().await.unwrap();
    assert!(all.contains(",picked_up,,,\r\n") && all.contains(",to_ship,,,\r\n"), "{all}");
    assert_eq!(merchant.browser.get("/admin/orders.csv?fulfilment=lost").await.status(), 400);
}

/// A live shop with "WeChat" in its own process: refunds really settle.
async fn live_shop() -> Shop {
    Shop::start(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await
}

async fn paid_order(shop: &Shop, fee: u64) -> Order {
    let (order, code_url) = shop.order_with_attempt(fee).await;
    shop.pay(&code_url).await;
    shop.wait_order(&order.no, Duration::from_secs(10), |o| o.status == OrderStatus::Paid).await
}

#[tokio::test]
async fn a_shipped_order_refunded_in_full_stays_shipped_and_an_unshipped_one_leaves_the_queue() {
    let shop = live_shop().await;
    let m = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let shipped = paid_order(&shop, 1000).await;
    let unshipped = paid_order(&shop, 800).await;
    assert_eq!(ship(&m, &shipped.no, "顺丰速运", "SF900", "").await.status(), 303);

    for (o, amount) in [(&shipped, "10.00"), (&unshipped, "8.00")] {
        let res = m
            .post(&format!("/admin/orders/{}/refund", o.no), &[("amount", amount), ("reason", "退货")])
            .await;
        assert_eq!(res.status(), 303, "a full refund is allowed at any stage");
        shop.wait_order(&o.no, Duration::from_secs(10), |o| o.status == OrderStatus::Refunded).await;
    }
    let after = shop.order(&shipped.no);
    assert_eq!((after.status, after.stage()), (OrderStatus::Refunded, Some(Stage::Shipped)));
    assert_eq!(shop.order(&unshipped.no).stage(), None, "refunded before shipping: nothing to ship");

    let (_, admin) = m.page(&format!("/admin/orders/{}", shipped.no)).await;
    assert!(admin.contains("已发货</span> · 已退款"), "the admin says shipped · refunded");
    let buyer = buyer_page(&shop.url(), &shipped.token).await;
    assert!(buyer.contains("已发货 · 已退款"), "{buyer}");
    assert!(
        buyer.contains("SF900") && buyer.contains("退款 ¥10.00"),
        "tracking and the refund on the receipt"
    );

    let (_, queue) = m.page("/admin/orders?fulfilment=to_ship").await;
    assert!(listed(&queue).is_empty(), "neither is to ship: {:?}", listed(&queue));
    let (_, home) = m.page("/admin").await;
    assert!(home.contains("没有待发货的订单"));
}
