use std::sync::Arc;

use super::*;
use crate::domain::order::{Attempt, AttemptState, Line, PaymentFacts};
use crate::domain::{Applied, Channel, Contact, EventKind, EventSource, Fen};

use crate::store::test_dir::TempDir;

fn order(no: &str) -> Order {
    Order {
        no: no.to_owned(),
        token: format!("tok-{no}"),
        lines: vec![Line {
            slug: "coffee".into(),
            name: "Coffee".into(),
            unit: Fen::new(1200).expect("fen"),
            qty: 1,
        }],
        total: Fen::new(1200).expect("fen"),
        contact: Contact::default(),
        status: OrderStatus::Pending,
        created_at: 1_700_000_000,
        paid_at: None,
        closed_at: None,
        attempts: vec![Attempt {
            out_trade_no: format!("{no}-1"),
            channel: Channel::Native,
            openid: None,
            client_ip: "127.0.0.1".into(),
            prepay_id: None,
            mweb_url: None,
            code_url: None,
            created_at: 1_700_000_000,
            prepay_at: None,
            state: AttemptState::Open,
            transaction_id: None,
            paid_at: None,
            request: None,
        }],
        paid_by: None,
        refunded: Fen::ZERO,
        settled_refunds: Vec::new(),
        fulfilment: Default::default(),
        lifetime_secs: None,
    }
}

fn facts(no: &str) -> PaymentFacts {
    PaymentFacts {
        appid: "wx".into(),
        mch_id: "1".into(),
        out_trade_no: format!("{no}-1"),
        transaction_id: format!("4200{no}"),
        total_fee: 1200,
        paid_at: 1_700_000_100,
    }
}

fn pay(o: &mut Order, no: &str) -> (Applied, Vec<Event>) {
    let applied = o.apply_payment(&facts(no), "wx", "1");
    let events = match applied {
        Applied::Paid => vec![Event::new(1, EventSource::Notification, EventKind::Paid, "paid")],
        _ => vec![Event::new(1, EventSource::Notification, EventKind::Duplicate, "again")],
    };
    (applied, events)
}

#[test]
fn an_order_is_found_by_its_number_token_and_out_trade_no_and_its_events_are_kept_in_order() {
    let dir = TempDir::new("find");
    let store = Store::open(dir.path()).expect("open");
    let placed = Event::new(1, EventSource::Buyer, EventKind::Placed, "placed");
    store.insert_order(&order("N1"), std::slice::from_ref(&placed)).expect("insert");
    assert_eq!(store.order("N1").expect("read").map(|o| o.no), Some("N1".into()));
    assert!(store.order_by_token("tok-N1").expect("read").is_some());
    assert!(store.order_by_out_trade_no("N1-1").expect("read").is_some());
    assert!(store.order_by_token("tok-N2").expect("read").is_none());
    store.update_order("N1", |o| pay(o, "N1")).expect("update");
    let kinds: Vec<EventKind> = store.events("N1").expect("events").into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Placed, EventKind::Paid]);
    assert!(store.order_by_transaction_id("4200N1").expect("read").is_some());
}

#[test]
fn fifty_concurrent_payments_of_one_order_change_it_exactly_once() {
    let dir = TempDir::new("race");
    let store = Arc::new(Store::open(dir.path()).expect("open"));
    store.insert_order(&order("N1"), &[]).expect("insert");
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.update_order("N1", |o| pay(o, "N1")).expect("update").1)
        })
        .collect();
    let outcomes: Vec<Applied> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
    assert_eq!(outcomes.iter().filter(|a| **a == Applied::Paid).count(), 1);
    assert_eq!(outcomes.iter().filter(|a| **a == Applied::Duplicate).count(), 49);
    let paid_events =
        store.events("N1").expect("events").iter().filter(|e| e.kind == EventKind::Paid).count();
    assert_eq!(paid_events, 1);
}

#[test]
fn the_status_index_follows_every_change_of_status() {
    let dir = TempDir::new("status");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("N1"), &[]).expect("insert");
    store.insert_order(&order("N2"), &[]).expect("insert");
    let pending = |s: &Store| {
        s.order_nos_with_status(OrderStatus::Pending).collect::<Result<Vec<_>, _>>().expect("scan")
    };
    assert_eq!(pending(&store), ["N1", "N2"]);
    store.update_order("N1", |o| pay(o, "N1")).expect("update");
    assert_eq!(pending(&store), ["N2"]);
    let paid = store.order_nos_with_status(OrderStatus::Paid).collect::<Result<Vec<_>, _>>().expect("scan");
    assert_eq!(paid, ["N1"]);
}

#[tokio::test]
async fn what_was_flushed_is_there_after_reopening() {
    let dir = TempDir::new("reopen");
    {
        let store = Store::open(dir.path()).expect("open");
        store.insert_order(&order("N1"), &[]).expect("insert");
        store.update_order("N1", |o| pay(o, "N1")).expect("update");
        store.flush().await.expect("flush");
    }
    let store = super::test_dir::reopen(dir.path());
    assert_eq!(store.order("N1").expect("read").map(|o| o.status), Some(OrderStatus::Paid));
}

#[test]
fn attention_events_are_listed_newest_first_with_unmatched_ones() {
    let dir = TempDir::new("attention");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("N1"), &[]).expect("insert");
    store
        .update_order("N1", |_| {
            ((), vec![Event::new(10, EventSource::Notification, EventKind::AmountMismatch, "x").attention()])
        })
        .expect("update");
    store
        .record_unmatched(
            &Event::new(20, EventSource::Notification, EventKind::UnknownOrder, "y").attention(),
        )
        .expect("record");
    let items = store.attention(10).expect("list");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].event.kind, EventKind::UnknownOrder);
    assert_eq!(items[1].order_no.as_deref(), Some("N1"));
}

#[test]
fn a_resolved_event_leaves_the_attention_list_and_stays_on_the_timeline_unflagged() {
    let dir = TempDir::new("resolve");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("N1"), &[]).expect("insert");
    store
        .update_order("N1", |_| {
            let double =
                Event::new(10, EventSource::Notification, EventKind::DoublePayment, "N1-2").attention();
            let other = Event::new(11, EventSource::Notification, EventKind::AmountMismatch, "x").attention();
            ((), vec![double, other])
        })
        .expect("update");
    assert_eq!(store.resolve_attention("N1", |e| e.kind == EventKind::DoublePayment).expect("resolve"), 1);
    assert_eq!(store.resolve_attention("N1", |e| e.kind == EventKind::DoublePayment).expect("again"), 0);
    let items = store.attention(10).expect("list");
    assert_eq!(items.iter().map(|i| &i.event.kind).collect::<Vec<_>>(), [&EventKind::AmountMismatch]);
    let events = store.events("N1").expect("events");
    assert_eq!(events.len(), 2, "the timeline keeps both");
    assert!(events.iter().any(|e| e.kind == EventKind::DoublePayment && !e.attention));
}

#[test]
fn a_missing_order_cannot_be_updated() {
    let dir = TempDir::new("missing");
    let store = Store::open(dir.path()).expect("open");
    assert!(matches!(store.update_order("nope", |_| ((), vec![])), Err(StoreError::NoSuchOrder)));
}

/// An event as the store wrote it before kinds were an enum: version byte 1, then JSON with
/// the kind as its word.
fn old_record(kind: &str, attention: bool) -> Vec<u8> {
    let json = format!(
        r#"{{"at":10,"source":"notification","kind":"{kind}","message":"attempt N1-2 was paid too","attention":{attention},"raw":null}}"#
    );
    [&[1u8][..], json.as_bytes()].concat()
}

#[test]
fn events_stored_with_the_old_kind_words_read_back_as_their_kinds_and_re_encode_byte_for_byte() {
    let dir = TempDir::new("old-kinds");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("N1"), &[]).expect("insert");
    let stored = old_record("double_payment", true);
    store.events.insert(keys::event("N1", 7), stored.as_slice()).expect("raw event");
    let item = [&[1u8][..], br#"{"order_no":"N1","event":"#, &stored[1..], b"}"].concat();
    store.attention.insert(keys::attention(10, 7), item).expect("raw attention item");

    let events = store.events("N1").expect("old events read");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::DoublePayment);
    assert_eq!(codec::encode(&events[0]).expect("encode"), stored, "written back exactly as it was");
    assert_eq!(store.attention(10).expect("list")[0].event.kind, EventKind::DoublePayment);
    assert_eq!(store.resolve_attention("N1", |e| e.kind == EventKind::DoublePayment).expect("resolve"), 1);
}

#[test]
fn an_event_of_a_kind_this_build_does_not_know_keeps_its_order_readable_and_its_word() {
    let dir = TempDir::new("unknown-kind");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("N1"), &[]).expect("insert");
    store.events.insert(keys::event("N1", 7), old_record("loyalty_points", true)).expect("raw event");
    let item = [&[1u8][..], br#"{"order_no":"N1","event":"#, &old_record("loyalty_points", true)[1..], b"}"]
        .concat();
    store.attention.insert(keys::attention(10, 7), item).expect("raw attention item");

    let events = store.events("N1").expect("the timeline stays readable");
    assert_eq!(events[0].kind.as_str(), "loyalty_points");
    assert_eq!(store.attention(10).expect("the attention list stays readable").len(), 1);
    // resolving rewrites the event (flag cleared): the word must survive the round trip.
    assert_eq!(store.resolve_attention("N1", |_| true).expect("resolve"), 1);
    let rewritten = store.events.get(keys::event("N1", 7)).expect("read").expect("still there");
    assert_eq!(rewritten.as_ref(), old_record("loyalty_points", false).as_slice());
}
