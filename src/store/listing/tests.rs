//! The listing indexes: filters, cursor pages, search, summaries and the rebuild of a data
//! directory written before they existed.

use super::*;
use crate::domain::order::{Attempt, AttemptState, Line};
use crate::domain::{Contact, Event, EventKind, EventSource};

use crate::store::test_dir::TempDir;

const T0: i64 = 1_700_000_000;

fn attempt(no: &str, n: u32, channel: Channel, at: i64) -> Attempt {
    Attempt {
        prepay_id: Some(format!("wx{no}{n}")),
        prepay_at: Some(at),
        ..Attempt::open(format!("{no}-{n}"), channel, "127.0.0.1", at)
    }
}

/// Order `i`: created `i` minutes after T0; status, channel and phone cycle.
fn order(i: i64) -> Order {
    let no = format!("N{i:05}");
    let created_at = T0 + i * 60;
    let channel = [Channel::Native, Channel::Mweb, Channel::Jsapi][(i % 3) as usize];
    let fen = Fen::new(500).expect("fen");
    let line = Line { slug: "tea".into(), name: "Tea".into(), unit: fen, qty: 1 };
    let contact = Contact { phone: Some(format!("+86 138-0000-{:04}", i % 4)), ..Contact::default() };
    let mut o = Order::placed(no.clone(), format!("tok-{no}"), vec![line], fen, contact, created_at);
    o.attempts.push(attempt(&no, 1, channel, created_at));
    if i % 2 == 0 {
        o.status = OrderStatus::Paid;
        o.paid_at = Some(created_at + 30);
        o.attempts[0].state = AttemptState::Paid;
        o.attempts[0].transaction_id = Some(format!("4200{i:010}"));
        o.paid_by = Some(o.attempts[0].out_trade_no.clone());
    }
    o
}

fn filled(n: i64) -> (Store, TempDir) {
    let dir = TempDir::new("listing");
    let store = Store::open(dir.path()).expect("open");
    for i in 0..n {
        let placed = Event::new(T0, EventSource::Buyer, EventKind::Placed, "test");
        store.insert_order(&order(i), &[placed]).expect("insert");
    }
    (store, dir)
}

fn nos(page: &OrderPage) -> Vec<String> {
    page.orders.iter().map(|o| o.no.clone()).collect()
}

fn all_pages(store: &Store, mut q: OrderQuery) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let page = store.list_orders(&q).expect("list");
        out.extend(nos(&page));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

fn expected(n: i64, keep: impl Fn(&Order) -> bool) -> Vec<String> {
    (0..n).rev().map(order).filter(|o| keep(o)).map(|o| o.no).collect()
}

#[test]
fn pages_walk_every_order_newest_first_without_repeats() {
    let (store, _dir) = filled(23);
    let q = OrderQuery { limit: 5, ..OrderQuery::default() };
    let first = store.list_orders(&q).expect("list");
    assert_eq!(nos(&first), ["N00022", "N00021", "N00020", "N00019", "N00018"]);
    assert!(first.next_cursor.is_some());
    assert_eq!(all_pages(&store, q), expected(23, |_| true));
}

#[test]
fn status_channel_and_dates_filter_alone_and_together() {
    let n = 40;
    let (store, _dir) = filled(n);
    let q = |status, channel, from: Option<i64>, to: Option<i64>| OrderQuery {
        status,
        channel,
        stage: None,
        from: from.map(|m| T0 + m * 60),
        to: to.map(|m| T0 + m * 60),
        cursor: None,
        limit: 4,
    };
    let paid = Some(OrderStatus::Paid);
    let mweb = Some(Channel::Mweb);
    let ch = |o: &Order| o.attempts[0].channel;
    assert_eq!(all_pages(&store, q(paid, None, None, None)), expected(n, |o| o.status.is_paid()));
    assert_eq!(all_pages(&store, q(None, mweb, None, None)), expected(n, |o| ch(o) == Channel::Mweb));
    assert_eq!(
        all_pages(&store, q(paid, mweb, None, None)),
        expected(n, |o| o.status.is_paid() && ch(o) == Channel::Mweb)
    );
    let in_range = |o: &Order| (T0 + 10 * 60..T0 + 30 * 60).contains(&o.created_at);
    assert_eq!(all_pages(&store, q(None, None, Some(10), Some(30))), expected(n, in_range));
    assert_eq!(
        all_pages(&store, q(paid, mweb, Some(10), Some(30))),
        expected(n, |o| in_range(o) && o.status.is_paid() && ch(o) == Channel::Mweb)
    );
    assert!(all_pages(&store, q(None, None, Some(30), Some(10))).is_empty(), "a reversed range is empty");
}

#[test]
fn a_cursor_not_given_by_the_store_is_refused() {
    let (store, _dir) = filled(3);
    for bad in ["zz", "00", ""] {
        let q = OrderQuery { cursor: Some(bad.into()), limit: 5, ..OrderQuery::default() };
        assert!(matches!(store.list_orders(&q), Err(StoreError::BadCursor)), "{bad:?}");
    }
}

#[test]
fn search_finds_by_number_out_trade_no_transaction_id_and_any_spelling_of_a_phone() {
    let (store, _dir) = filled(12);
    let one = |q: &str| store.find_orders(q).expect("find").into_iter().map(|o| o.no).collect::<Vec<_>>();
    assert_eq!(one("N00007"), ["N00007"]);
    assert_eq!(one(" N00007-1 "), ["N00007"]);
    assert_eq!(one("42000000000004"), ["N00004"]);
    let phone_1 = ["N00009", "N00005", "N00001"];
    assert_eq!(one("13800000001"), phone_1);
    assert_eq!(one("+86 138 0000 0001"), phone_1);
    assert_eq!(one("008613800000001"), phone_1);
    assert!(one("1380000000").is_empty(), "a prefix of a number is not the number");
    assert!(one("nothing").is_empty());
}

#[test]
fn indexes_follow_status_channel_and_time_changes() {
    let (store, _dir) = filled(3);
    // N00001: pending, Mweb. A new Jsapi attempt, then paid, then moved to another day.
    store
        .update_order("N00001", |o| {
            o.attempts.push(attempt("N00001", 2, Channel::Jsapi, T0 + 500));
            ((), vec![])
        })
        .expect("update");
    let by = |status, channel| {
        let q = OrderQuery { status, channel, limit: 10, ..OrderQuery::default() };
        nos(&store.list_orders(&q).expect("list"))
    };
    assert!(!by(None, Some(Channel::Mweb)).contains(&"N00001".to_owned()));
    assert!(by(None, Some(Channel::Jsapi)).contains(&"N00001".to_owned()));
    store
        .update_order("N00001", |o| {
            o.status = OrderStatus::Paid;
            o.paid_at = Some(T0 + 600);
            o.created_at = T0 - 86_400;
            ((), vec![])
        })
        .expect("update");
    assert_eq!(by(Some(OrderStatus::Paid), None), ["N00002", "N00000", "N00001"]);
    assert!(by(Some(OrderStatus::Pending), None).is_empty());
    let s: Vec<_> = store.order_summaries(T0 - 86_400, T0 + 1).collect::<Result<_, _>>().expect("summaries");
    assert_eq!(s.len(), 2, "N00000 at T0 and N00001 a day earlier");
    assert_eq!(s[1].created_at, T0 - 86_400);
    assert_eq!(s[1].paid_at, Some(T0 + 600));
    assert_eq!(s[1].status, OrderStatus::Paid);
    assert_eq!(s[1].total.get(), 500);
}

#[test]
fn orders_stuck_pending_are_those_with_an_attempt_open_since_before_the_cutoff() {
    let (store, _dir) = filled(6);
    let stuck: Vec<_> =
        store.stuck_pending(T0 + 4 * 60, 10, 100).expect("stuck").into_iter().map(|o| o.no).collect();
    assert_eq!(stuck, ["N00001", "N00003"]);
}

#[test]
fn a_data_dir_from_before_the_listing_indexes_gets_them_rebuilt_once_at_open() {
    let dir = TempDir::new("listing");
    {
        let store = Store::open(dir.path()).expect("open");
        for i in 0..7 {
            store.insert_order(&order(i), &[]).expect("insert");
        }
        // Make it look like schema 1: no listing trees, no flag.
        for name in ["by_time", "by_channel", "by_phone"] {
            store.db.drop_tree(name).expect("drop");
        }
        store.meta.remove(LISTING_BUILT).expect("meta");
        store.meta.insert("schema", &1u32.to_be_bytes()).expect("meta");
        store.db.flush().expect("flush");
    }
    let store = crate::store::test_dir::reopen(dir.path());
    assert!(store.meta.get(LISTING_BUILT).expect("meta").is_some(), "the rebuild is recorded");
    assert_eq!(store.meta.get("schema").expect("meta").as_deref(), Some(&SCHEMA_BYTES[..]));
    let q = OrderQuery { channel: Some(Channel::Native), limit: 10, ..OrderQuery::default() };
    assert_eq!(nos(&store.list_orders(&q).expect("list")), ["N00006", "N00003", "N00000"]);
    assert_eq!(store.find_orders("13800000002").expect("find").len(), 2);
    assert_eq!(store.order_summaries(T0, T0 + 3600).count(), 7);
    // Recorded: a second open does not rebuild (an emptied index stays empty).
    store.by_phone.clear().expect("clear");
    drop(store);
    let store = crate::store::test_dir::reopen(dir.path());
    assert!(store.find_orders("13800000002").expect("find").is_empty());
}

const SCHEMA_BYTES: [u8; 4] = super::super::SCHEMA.to_be_bytes();

#[test]
fn a_bulk_load_is_found_through_every_index_like_single_inserts() {
    let (single, _a) = filled(9);
    let dir = TempDir::new("listing");
    let bulk = Store::open(dir.path()).expect("open");
    bulk.bulk_load_orders(&(0..9).map(order).collect::<Vec<_>>()).expect("load");
    let q = OrderQuery {
        status: Some(OrderStatus::Paid),
        channel: Some(Channel::Jsapi),
        limit: 10,
        ..OrderQuery::default()
    };
    assert_eq!(nos(&bulk.list_orders(&q).expect("list")), nos(&single.list_orders(&q).expect("list")));
    for search in ["N00004", "N00004-1", "42000000000004", "13800000001"] {
        let found =
            |s: &Store| s.find_orders(search).expect("find").into_iter().map(|o| o.no).collect::<Vec<_>>();
        assert_eq!(found(&bulk), found(&single), "{search}");
    }
    assert_eq!(bulk.order_by_token("tok-N00003").expect("token").map(|o| o.no).as_deref(), Some("N00003"));
    assert_eq!(bulk.order_summaries(T0, T0 + 3600).count(), 9);
}

#[test]
fn the_fulfilment_index_follows_shipping_and_refunds_and_is_filled_once_for_an_older_data_dir() {
    use crate::domain::fulfilment::ShipInput;
    let dir = TempDir::new("listing");
    let by_stage = |store: &Store, stage: Stage| {
        let q = OrderQuery { stage: Some(stage), limit: 10, ..OrderQuery::default() };
        nos(&store.list_orders(&q).expect("list"))
    };
    {
        let store = Store::open(dir.path()).expect("open");
        for i in 0..6 {
            store.insert_order(&order(i), &[]).expect("insert");
        }
        assert_eq!(
            by_stage(&store, Stage::ToShip),
            ["N00004", "N00002", "N00000"],
            "paid orders are to ship"
        );
        let input = ShipInput { carrier: "SF".into(), tracking: "SF1".into(), note: String::new() };
        store
            .update_order("N00002", |o| {
                ((), vec![o.ship(&input, T0 + 999, EventSource::Admin).expect("ships")])
            })
            .expect("update");
        store
            .update_order("N00004", |o| {
                let total = o.total;
                o.apply_refund("R1", total).expect("refund");
                ((), vec![])
            })
            .expect("update");
        assert_eq!(by_stage(&store, Stage::ToShip), ["N00000"], "refunded in full leaves the queue");
        assert_eq!(by_stage(&store, Stage::Shipped), ["N00002"]);
        let q = OrderQuery {
            stage: Some(Stage::Shipped),
            status: Some(OrderStatus::Paid),
            limit: 10,
            ..OrderQuery::default()
        };
        assert_eq!(nos(&store.list_orders(&q).expect("list")), ["N00002"]);
        let (count, oldest) = store.to_ship(5, 100).expect("queue");
        assert_eq!((count, oldest.iter().map(|o| o.no.as_str()).collect::<Vec<_>>()), (1, vec!["N00000"]));
        // Make it look like schema 3: no fulfilment index, no flag.
        store.db.drop_tree("by_stage").expect("drop");
        store.meta.remove(STAGE_BUILT).expect("meta");
        store.db.flush().expect("flush");
    }
    let store = crate::store::test_dir::reopen(dir.path());
    assert_eq!(by_stage(&store, Stage::ToShip), ["N00000"]);
    assert_eq!(by_stage(&store, Stage::Shipped), ["N00002"]);
}
