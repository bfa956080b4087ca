use std::sync::Arc;

use super::*;
use crate::domain::order::{Attempt, Line, PaymentFacts};
use crate::domain::{Applied, Channel, Contact, EventKind, EventSource, Fen};

use crate::store::test_dir::TempDir;

/// A pending order `no` of 12 yuan with one open NATIVE attempt `<no>-1` (also used by `checkout::payments`).
pub(crate) fn order(no: &str) -> Order {
    let fen = Fen::new(1200).expect("fen");
    let line = Line { slug: "coffee".into(), name: "Coffee".into(), unit: fen, qty: 1 };
    let at = 1_700_000_000;
    Order {
        attempts: vec![Attempt::open(format!("{no}-1"), Channel::Native, "127.0.0.1", at)],
        ..Order::placed(no.to_owned(), format!("tok-{no}"), vec![line], fen, Contact::default(), at)
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

#[test]
fn a_backup_read_back_into_an_empty_directory_holds_every_record_and_ids_continue_past_it() {
    let dir = TempDir::new("backup-from");
    let store = Store::open(dir.path()).expect("open");
    let placed = Event::new(1, EventSource::Buyer, EventKind::Placed, "placed");
    for no in ["B1", "B2", "B3"] {
        store.insert_order(&order(no), std::slice::from_ref(&placed)).expect("insert");
    }
    store.update_order("B2", |o| pay(o, "B2")).expect("pay");
    let mut bytes = Vec::new();
    let taken = store.export(1_700_000_500, &mut bytes).expect("export");
    assert_eq!((taken.orders, taken.taken_at), (3, 1_700_000_500));
    let last_id = store.next_id().expect("id");

    let to = TempDir::new("backup-to");
    let restored = backup::import(to.path(), &mut &bytes[..]).expect("import");
    assert_eq!(restored, taken);
    let copy = Store::open(to.path()).expect("open the restored directory");
    for no in ["B1", "B2", "B3"] {
        assert_eq!(copy.order(no).expect("read"), store.order(no).expect("read"), "{no}");
        assert_eq!(copy.events(no).expect("events"), store.events(no).expect("events"), "{no}");
    }
    assert_eq!(copy.order_by_transaction_id("4200B2").expect("read").map(|o| o.no), Some("B2".into()));
    assert!(
        copy.next_id().expect("id") > last_id + 1_000_000,
        "ids go far past the backup's: those used after it, lost with the restore, are not taken again"
    );
    let report = copy.verify().expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.counts.contains(&("orders".to_owned(), 3)));

    // A second restore into the same place is refused: the database there is not overwritten.
    assert!(matches!(backup::import(to.path(), &mut &bytes[..]), Err(backup::BackupError::Occupied(_))));
}

#[test]
fn a_damaged_or_foreign_backup_is_refused_and_leaves_no_database_behind() {
    let dir = TempDir::new("backup-damaged");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("D1"), &[]).expect("insert");
    let mut bytes = Vec::new();
    store.export(1, &mut bytes).expect("export");

    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let cases: [(&str, &[u8]); 4] = [
        ("flipped", &flipped),
        ("cut", &bytes[..bytes.len() - 1]),
        ("foreign", b"PK\x03\x04 a zip file"),
        ("empty", b""),
    ];
    for (what, input) in cases {
        let to = TempDir::new("backup-damaged-to");
        let refused = backup::import(to.path(), &mut &input[..]);
        assert!(refused.is_err(), "{what}");
        assert!(!to.path().join("db").exists() && !to.path().join("db.restoring").exists(), "{what}");
    }
}

#[test]
fn verify_names_an_order_missing_from_an_index_and_an_index_entry_without_its_order() {
    let dir = TempDir::new("verify");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("V1"), &[]).expect("insert");
    assert!(store.verify().expect("verify").problems.is_empty());
    store.tokens.remove("tok-V1").expect("remove");
    store.out_trade_nos.insert("ghost-1", "GHOST").expect("insert");
    let problems = store.verify().expect("verify").problems;
    assert!(problems.iter().any(|p| p.contains("V1") && p.contains("token")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("GHOST")), "{problems:?}");
}

#[test]
fn an_older_data_directory_is_backed_up_as_it_was_before_it_is_upgraded() {
    let dir = TempDir::new("upgrade");
    {
        let store = Store::open(dir.path()).expect("open");
        store.insert_order(&order("U1"), &[]).expect("insert");
        store.meta.insert("schema", &3u32.to_be_bytes()).expect("older schema");
        store.db.flush().expect("flush");
    }
    let store = test_dir::reopen(dir.path());
    let backups: Vec<_> = std::fs::read_dir(backup::dir(dir.path()))
        .expect("a backups directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].file_name().unwrap().to_string_lossy().starts_with("pre-upgrade-"));
    let mut file = std::fs::File::open(&backups[0]).expect("open");
    let summary = backup::check(&mut file).expect("a whole backup");
    assert_eq!((summary.schema, summary.orders), (3, 1), "the directory as it was, schema 3");
    assert_eq!(store.meta.get("schema").expect("read").map(|v| codec::u32_from(&v)), Some(SCHEMA));
}

#[test]
fn a_newer_data_directory_is_refused_with_what_to_do() {
    let dir = TempDir::new("newer");
    {
        let store = Store::open(dir.path()).expect("open");
        store.meta.insert("schema", &(SCHEMA + 1).to_be_bytes()).expect("newer schema");
        store.db.flush().expect("flush");
    }
    // why a deadline: sled's flusher of the handle just dropped holds the lock a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        match Store::open(dir.path()) {
            Err(StoreError::Sled(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => break other,
        }
    };
    let Err(e) = refused else { panic!("a newer directory opened") };
    let said = e.to_string();
    assert!(said.contains("newer wxcheckout") && said.contains("wxcheckout restore"), "{said}");
}

#[test]
fn verify_does_not_ask_an_older_directory_for_indexes_it_gets_only_at_its_upgrade() {
    let dir = TempDir::new("verify-older");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("O1"), &[]).expect("insert");
    store.meta.remove(listing::LISTING_BUILT).expect("as before schema 2");
    store.meta.remove(listing::STAGE_BUILT).expect("as before schema 4");
    store.by_time.clear().expect("no listing index yet");
    store.by_stage.clear().expect("no stage index yet");
    let report = store.verify().expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn the_alert_log_keeps_about_its_latest_five_hundred_and_never_loses_the_newest() {
    let dir = TempDir::new("alert-log");
    let store = Store::open(dir.path()).expect("open");
    let paid = Event::new(1, EventSource::Notification, EventKind::Paid, "paid");
    for id in 0..600u64 {
        let mut alert = crate::domain::alert::Alert::of_event(id, Some("N1"), &paid).expect("an alert");
        alert.finished_at = Some(1_700_000_000 + id as i64);
        store.save_alert(&alert).expect("save");
    }
    let kept = store.alert_log.len();
    assert!((outbox::LOG_KEPT..outbox::LOG_KEPT + 32).contains(&kept), "{kept} kept");
    let newest = store.alert_log.iter().keys().next_back().expect("one").expect("key");
    assert_eq!(newest.as_ref(), keys::attention(1_700_000_599, 599).as_slice());
}

#[test]
fn a_batch_of_changes_applies_each_in_turn_and_a_missing_order_fails_alone() {
    let dir = TempDir::new("batch");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("B1"), &[]).expect("insert");
    store.insert_order(&order("B2"), &[]).expect("insert");
    let pay_b1 = |o: &mut Order| pay(o, "B1");
    let pay_b2 = |o: &mut Order| pay(o, "B2");
    let changes: [Change<'_, Applied>; 4] =
        [("B1", &pay_b1), ("NOPE", &pay_b1), ("B1", &pay_b1), ("B2", &pay_b2)];
    let results = store.update_orders(&changes).expect("batch");
    let applied: Vec<Option<Applied>> =
        results.iter().map(|r| r.as_ref().ok().map(|(_, a)| a.clone())).collect();
    // why the second change to B1 is a duplicate: it sees the order as the first left it.
    assert_eq!(applied, [Some(Applied::Paid), None, Some(Applied::Duplicate), Some(Applied::Paid)]);
    assert!(matches!(results[1], Err(StoreError::NoSuchOrder)));
    for no in ["B1", "B2"] {
        let stored = store.order(no).expect("read").expect("order");
        assert_eq!(stored.status, OrderStatus::Paid, "{no}");
        assert_eq!(
            store.order_by_transaction_id(&format!("4200{no}")).expect("read").map(|o| o.no),
            Some(no.into())
        );
        assert_eq!(store.order_nos_with_status(OrderStatus::Pending).count(), 0);
    }
    let kinds: Vec<EventKind> = store.events("B1").expect("events").into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Paid, EventKind::Duplicate]);
}

#[test]
fn a_change_made_to_the_order_between_planning_and_committing_is_not_overwritten() {
    let dir = TempDir::new("stale");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("S1"), &[]).expect("insert");
    let runs = std::sync::atomic::AtomicU32::new(0);
    // The first time the change is planned, another change (a name set on the order) lands
    // before the batch commits, as a concurrent request's would.
    let change = |o: &mut Order| {
        if runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            store
                .update_order("S1", |other| {
                    other.contact.name = Some("王小明".into());
                    ((), Vec::new())
                })
                .expect("concurrent change");
        }
        pay(o, "S1")
    };
    let results = store.update_orders(&[("S1", &change)]).expect("batch");
    assert!(matches!(results[0], Ok((_, Applied::Paid))));
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2, "planned again after the order moved");
    let stored = store.order("S1").expect("read").expect("order");
    assert_eq!((stored.status, stored.contact.name.as_deref()), (OrderStatus::Paid, Some("王小明")));
    // The plan dropped leaves nothing behind: one event, one alert.
    let kinds: Vec<EventKind> = store.events("S1").expect("events").into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Paid]);
    assert_eq!(store.outbox_ids().expect("outbox").len(), 1);
}

#[test]
fn the_orders_written_since_the_last_look_are_listed_once_and_too_many_say_so() {
    let dir = TempDir::new("changed");
    let store = Store::open(dir.path()).expect("open");
    store.insert_order(&order("C1"), &[]).expect("insert");
    store.insert_order(&order("C2"), &[]).expect("insert");
    store.update_order("C1", |o| pay(o, "C1")).expect("update");
    let mut listed: Vec<String> = store.take_changed().expect("listed").into_iter().collect();
    listed.sort();
    assert_eq!(listed, ["C1", "C2"]);
    assert_eq!(store.take_changed().map(|c| c.len()), Some(0), "taken: listed once");
    for i in 0..=CHANGED_KEPT {
        store.note_changed([format!("X{i}").as_str()]);
    }
    assert_eq!(store.take_changed(), None, "too many to list: every order counts as changed");
    assert_eq!(store.take_changed().map(|c| c.len()), Some(0));
}
