//! Fulfilment: what happens to a paid order after the money — shipped (carrier, tracking
//! number, an optional note), then completed; or picked up, for a shop without delivery.
//!
//! What is stored (`Fulfilment`) is only what the merchant did; where the order stands
//! (`Stage`) is derived from it and the payment status, so that:
//! - a record written before fulfilment existed (no field: `Fulfilment::Waiting`) reads as
//!   "to ship" when it is paid and as nothing when it is not;
//! - a refund never has to touch fulfilment: an order refunded in full that was never shipped
//!   simply leaves the "to ship" queue, and a shipped order refunded stays "shipped".
//!
//! why refunds are not blocked here: giving money back is always allowed (`refund`); the
//! transitions below only refuse moves of the goods that make no sense.

use serde::{Deserialize, Serialize};

use super::order::{Event, EventKind, EventSource, Order, OrderStatus};

/// The longest carrier name, in characters.
pub const CARRIER_MAX: usize = 32;
/// The longest tracking number, in characters.
pub const TRACKING_MAX: usize = 64;
/// The longest shipping note, in characters.
pub const NOTE_MAX: usize = 200;

/// A parcel on its way: who carries it, its tracking number, a note for the buyer, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub carrier: String,
    pub tracking: String,
    pub note: Option<String>,
    /// Unix seconds, UTC.
    pub shipped_at: i64,
}

/// What the merchant has done with the goods of an order (stored on the order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Fulfilment {
    /// Nothing yet (and every record from before fulfilment existed).
    #[default]
    Waiting,
    Shipped {
        shipment: Shipment,
    },
    /// Delivered: the shipment stays for the receipt.
    Completed {
        shipment: Shipment,
        completed_at: i64,
    },
    /// Collected by the buyer (shops without delivery), from "to ship".
    PickedUp {
        picked_up_at: i64,
    },
}

impl Fulfilment {
    pub fn shipment(&self) -> Option<&Shipment> {
        match self {
            Fulfilment::Shipped { shipment } | Fulfilment::Completed { shipment, .. } => Some(shipment),
            Fulfilment::Waiting | Fulfilment::PickedUp { .. } => None,
        }
    }
}

/// Where an order stands after payment: the merchant's queue and filter, the buyer's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Paid (or partly refunded) and not yet shipped or picked up.
    ToShip,
    Shipped,
    Completed,
    PickedUp,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::ToShip, Stage::Shipped, Stage::Completed, Stage::PickedUp];

    /// The word of URLs, the CSV and the index.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ToShip => "to_ship",
            Stage::Shipped => "shipped",
            Stage::Completed => "completed",
            Stage::PickedUp => "picked_up",
        }
    }

    pub fn parse(word: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// Why a fulfilment change was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FulfilRefused {
    #[error("the order is not paid")]
    NotPaid,
    #[error("the order was refunded in full before it was shipped")]
    Refunded,
    #[error("the order was already shipped")]
    AlreadyShipped,
    #[error("the order was already picked up")]
    AlreadyPickedUp,
    #[error("the order is not shipped")]
    NotShipped,
    #[error("the order was already completed")]
    AlreadyCompleted,
    #[error("the carrier must have 1 to {CARRIER_MAX} characters and no control characters")]
    Carrier,
    #[error("the tracking number must have 1 to {TRACKING_MAX} printable characters")]
    Tracking,
    #[error("the note may have at most {NOTE_MAX} characters")]
    Note,
}

/// The merchant's words for a shipment, before they are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipInput {
    pub carrier: String,
    pub tracking: String,
    pub note: String,
}

fn checked(v: &str, max: usize, ok: impl Fn(char) -> bool) -> Option<String> {
    let v = v.trim();
    let n = v.chars().count();
    (n >= 1 && n <= max && v.chars().all(ok)).then(|| v.to_owned())
}

impl ShipInput {
    /// The shipment these words make at `now`, or why they do not make one.
    pub fn shipment(&self, now: i64) -> Result<Shipment, FulfilRefused> {
        let carrier =
            checked(&self.carrier, CARRIER_MAX, |c| !c.is_control()).ok_or(FulfilRefused::Carrier)?;
        let tracking = check_tracking(&self.tracking)?;
        // why first: a browser sends CR LF for a line break; one form is kept, then checked.
        let note = self.note.trim().replace("\r\n", "\n");
        let note = if note.is_empty() {
            None
        } else if note.chars().count() > NOTE_MAX || note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(FulfilRefused::Note);
        } else {
            Some(note)
        };
        Ok(Shipment { carrier, tracking, note, shipped_at: now })
    }
}

/// A tracking number as kept: trimmed, 1 to `TRACKING_MAX` printable characters.
pub fn check_tracking(tracking: &str) -> Result<String, FulfilRefused> {
    checked(tracking, TRACKING_MAX, |c| !c.is_control()).ok_or(FulfilRefused::Tracking)
}

/// A carrier name as kept: trimmed, 1 to `CARRIER_MAX` characters, no control characters.
pub fn check_carrier(carrier: &str) -> Result<String, FulfilRefused> {
    checked(carrier, CARRIER_MAX, |c| !c.is_control()).ok_or(FulfilRefused::Carrier)
}

impl Order {
    /// Where the order stands after payment; `None` while unpaid or closed, and for an order
    /// refunded in full before anything was sent.
    pub fn stage(&self) -> Option<Stage> {
        match &self.fulfilment {
            Fulfilment::Waiting => match self.status {
                OrderStatus::Paid | OrderStatus::PartiallyRefunded => Some(Stage::ToShip),
                OrderStatus::Pending | OrderStatus::Closed | OrderStatus::Refunded => None,
            },
            Fulfilment::Shipped { .. } => Some(Stage::Shipped),
            Fulfilment::Completed { .. } => Some(Stage::Completed),
            Fulfilment::PickedUp { .. } => Some(Stage::PickedUp),
        }
    }

    /// Why goods cannot leave now (shipped or picked up), if they cannot.
    fn refuse_leaving(&self) -> Result<(), FulfilRefused> {
        match (&self.fulfilment, self.stage()) {
            (_, Some(Stage::ToShip)) => Ok(()),
            (Fulfilment::Shipped { .. } | Fulfilment::Completed { .. }, _) => {
                Err(FulfilRefused::AlreadyShipped)
            }
            (Fulfilment::PickedUp { .. }, _) => Err(FulfilRefused::AlreadyPickedUp),
            (Fulfilment::Waiting, _) if self.status == OrderStatus::Refunded => Err(FulfilRefused::Refunded),
            (Fulfilment::Waiting, _) => Err(FulfilRefused::NotPaid),
        }
    }

    /// Ships the order ("to ship" → "shipped") with what the merchant typed.
    pub fn ship(&mut self, input: &ShipInput, now: i64, source: EventSource) -> Result<Event, FulfilRefused> {
        self.refuse_leaving()?;
        let shipment = input.shipment(now)?;
        let message = format!("shipped by {}: {}", shipment.carrier, shipment.tracking);
        self.fulfilment = Fulfilment::Shipped { shipment };
        Ok(Event::new(now, source, EventKind::Shipped, message))
    }

    /// The buyer collected the goods ("to ship" → "picked up").
    pub fn pick_up(&mut self, now: i64, source: EventSource) -> Result<Event, FulfilRefused> {
        self.refuse_leaving()?;
        self.fulfilment = Fulfilment::PickedUp { picked_up_at: now };
        Ok(Event::new(now, source, EventKind::PickedUp, "picked up by the buyer"))
    }

    /// The parcel arrived ("shipped" → "completed").
    pub fn complete(&mut self, now: i64, source: EventSource) -> Result<Event, FulfilRefused> {
        let shipment = match &self.fulfilment {
            Fulfilment::Shipped { shipment } => shipment.clone(),
            Fulfilment::Completed { .. } => return Err(FulfilRefused::AlreadyCompleted),
            Fulfilment::PickedUp { .. } => return Err(FulfilRefused::AlreadyPickedUp),
            Fulfilment::Waiting => return Err(FulfilRefused::NotShipped),
        };
        self.fulfilment = Fulfilment::Completed { shipment, completed_at: now };
        Ok(Event::new(now, source, EventKind::Completed, "completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Contact, Fen, Line};

    fn order(status: OrderStatus) -> Order {
        Order {
            no: "N1".into(),
            token: "t".into(),
            lines: vec![Line {
                slug: "tea".into(),
                name: "Tea".into(),
                unit: Fen::new(500).expect("fen"),
                qty: 2,
            }],
            total: Fen::new(1000).expect("fen"),
            contact: Contact::default(),
            status,
            created_at: 100,
            paid_at: status.is_paid().then_some(150),
            closed_at: None,
            attempts: Vec::new(),
            paid_by: None,
            refunded: Fen::ZERO,
            settled_refunds: Vec::new(),
            fulfilment: Fulfilment::Waiting,
            lifetime_secs: None,
        }
    }

    fn sf(tracking: &str) -> ShipInput {
        ShipInput { carrier: "顺丰 SF".into(), tracking: tracking.into(), note: String::new() }
    }

    #[test]
    fn a_paid_order_is_to_ship_then_shipped_then_completed_and_each_step_writes_its_event() {
        let mut o = order(OrderStatus::Paid);
        assert_eq!(o.stage(), Some(Stage::ToShip));
        let e = o.ship(&sf(" SF1234567890 "), 200, EventSource::Admin).expect("ships");
        assert_eq!((e.kind, e.at), (EventKind::Shipped, 200));
        assert_eq!(o.stage(), Some(Stage::Shipped));
        let s = o.fulfilment.shipment().expect("shipment");
        assert_eq!(
            (s.carrier.as_str(), s.tracking.as_str(), s.note.clone(), s.shipped_at),
            ("顺丰 SF", "SF1234567890", None, 200)
        );
        let e = o.complete(300, EventSource::Admin).expect("completes");
        assert_eq!(e.kind, EventKind::Completed);
        assert_eq!(o.stage(), Some(Stage::Completed));
        assert_eq!(o.fulfilment.shipment().map(|s| s.tracking.as_str()), Some("SF1234567890"));
    }

    #[test]
    fn unpaid_closed_and_already_moved_orders_are_refused_and_left_as_they_were() {
        for (status, why) in
            [(OrderStatus::Pending, FulfilRefused::NotPaid), (OrderStatus::Closed, FulfilRefused::NotPaid)]
        {
            let mut o = order(status);
            let before = o.clone();
            assert_eq!(o.ship(&sf("A1"), 200, EventSource::Admin), Err(why.clone()));
            assert_eq!(o.pick_up(200, EventSource::Admin), Err(why));
            assert_eq!(o.stage(), None);
            assert_eq!(o, before);
        }
        let mut o = order(OrderStatus::Paid);
        assert_eq!(o.complete(200, EventSource::Admin), Err(FulfilRefused::NotShipped));
        o.ship(&sf("A1"), 200, EventSource::Admin).expect("ships");
        let shipped = o.clone();
        assert_eq!(o.ship(&sf("A2"), 210, EventSource::Admin), Err(FulfilRefused::AlreadyShipped));
        assert_eq!(o.pick_up(210, EventSource::Admin), Err(FulfilRefused::AlreadyShipped));
        assert_eq!(o, shipped);
        o.complete(220, EventSource::Admin).expect("completes");
        assert_eq!(o.complete(230, EventSource::Admin), Err(FulfilRefused::AlreadyCompleted));
        let mut p = order(OrderStatus::Paid);
        p.pick_up(200, EventSource::Admin).expect("picked up");
        assert_eq!(p.stage(), Some(Stage::PickedUp));
        assert_eq!(p.ship(&sf("A1"), 210, EventSource::Admin), Err(FulfilRefused::AlreadyPickedUp));
        assert_eq!(p.complete(210, EventSource::Admin), Err(FulfilRefused::AlreadyPickedUp));
    }

    #[test]
    fn carrier_tracking_number_and_note_are_checked_before_anything_changes() {
        let mut o = order(OrderStatus::Paid);
        let before = o.clone();
        let ship = |o: &mut Order, carrier: &str, tracking: &str, note: &str| {
            let input = ShipInput { carrier: carrier.into(), tracking: tracking.into(), note: note.into() };
            o.ship(&input, 200, EventSource::Admin)
        };
        assert_eq!(ship(&mut o, " ", "A1", ""), Err(FulfilRefused::Carrier));
        assert_eq!(ship(&mut o, &"c".repeat(33), "A1", ""), Err(FulfilRefused::Carrier));
        assert_eq!(ship(&mut o, "SF", "", ""), Err(FulfilRefused::Tracking));
        assert_eq!(ship(&mut o, "SF", &"1".repeat(65), ""), Err(FulfilRefused::Tracking));
        assert_eq!(ship(&mut o, "SF", "A1\u{7}", ""), Err(FulfilRefused::Tracking));
        assert_eq!(ship(&mut o, "SF", "A\n1", ""), Err(FulfilRefused::Tracking));
        assert_eq!(ship(&mut o, "SF", "A1", &"n".repeat(201)), Err(FulfilRefused::Note));
        assert_eq!(o, before);
        ship(&mut o, &"c".repeat(32), &"1".repeat(64), &format!("{}\r\n{}", "n".repeat(100), "n".repeat(99)))
            .expect("at the limits");
        assert_eq!(
            o.fulfilment.shipment().and_then(|s| s.note.clone()),
            Some(format!("{}\n{}", "n".repeat(100), "n".repeat(99))),
            "a line break from a browser (CR LF) is kept as one"
        );
    }

    #[test]
    fn refunds_never_depend_on_fulfilment_and_a_full_refund_before_shipping_leaves_the_queue() {
        let fen = |n| Fen::new(n).expect("fen");
        let mut o = order(OrderStatus::Paid);
        o.apply_refund("R1", fen(1000)).expect("refund");
        assert_eq!(o.stage(), None, "refunded in full, never shipped: not to ship");
        assert_eq!(o.ship(&sf("A1"), 200, EventSource::Admin), Err(FulfilRefused::Refunded));
        let mut shipped = order(OrderStatus::Paid);
        shipped.ship(&sf("A1"), 200, EventSource::Admin).expect("ships");
        assert_eq!(
            shipped.apply_refund("R1", fen(1000)),
            Ok(true),
            "a shipped order can be refunded in full"
        );
        assert_eq!((shipped.status, shipped.stage()), (OrderStatus::Refunded, Some(Stage::Shipped)));
        let mut partly = order(OrderStatus::Paid);
        partly.apply_refund("R1", fen(100)).expect("refund");
        assert_eq!(partly.stage(), Some(Stage::ToShip), "a partial refund still ships");
    }

    #[test]
    fn a_record_written_before_fulfilment_reads_as_waiting_and_the_stored_form_reads_back() {
        let mut o = order(OrderStatus::Paid);
        let mut old = serde_json::to_value(&o).expect("encode");
        old.as_object_mut().expect("object").remove("fulfilment");
        let read: Order = serde_json::from_value(old).expect("an old record reads");
        assert_eq!((read.fulfilment.clone(), read.stage()), (Fulfilment::Waiting, Some(Stage::ToShip)));
        o.ship(&sf("A1"), 200, EventSource::Admin).expect("ships");
        let json = serde_json::to_string(&o.fulfilment).expect("encode");
        assert!(json.starts_with("{\"state\":\"shipped\""), "{json}");
        assert_eq!(serde_json::from_str::<Fulfilment>(&json).expect("decode"), o.fulfilment);
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
    }
}
