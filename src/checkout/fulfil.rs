//! Fulfilment use cases: the merchant ships an order (carrier, tracking number, note), marks
//! it completed or picked up, ships many at once; and the "to ship" queue.
//!
//! `domain::Order` decides each move (`ship`, `complete`, `pick_up`, refusing the ones that
//! make no sense); each is one `Store::update_order` transaction with its event, then a
//! flush. Nothing here touches payments or refunds, and refunds never look at fulfilment.

use crate::domain::fulfilment::{FulfilRefused, ShipInput};
use crate::domain::{Event, EventSource, Order};

use super::{Checkout, CheckoutError, Refused};
use crate::store::StoreError;

/// The most orders one bulk "mark shipped" may carry (one page of the merchant's list).
pub const BULK_MAX: usize = 50;

/// One order of a bulk shipment and what became of it.
#[derive(Debug)]
pub struct Shipped {
    pub no: String,
    pub result: Result<Order, CheckoutError>,
}

impl Checkout {
    /// Applies one fulfilment move to order `no` and makes it durable; a refusal changes
    /// nothing and writes no event.
    async fn fulfil(
        &self,
        no: &str,
        step: impl Fn(&mut Order) -> Result<Event, FulfilRefused>,
    ) -> Result<Order, CheckoutError> {
        let (order, outcome) = self.store.update_order(no, |o| match step(o) {
            Ok(event) => (Ok(()), vec![event]),
            Err(why) => (Err(why), Vec::new()),
        })?;
        outcome.map_err(|why| CheckoutError::Refused(Refused::Fulfil(why)))?;
        self.store.flush().await?;
        Ok(order)
    }

    /// The merchant ships the order: "to ship" → "shipped".
    pub async fn ship(&self, no: &str, input: &ShipInput) -> Result<Order, CheckoutError> {
        let now = self.now();
        self.fulfil(no, |o| o.ship(input, now, EventSource::Admin)).await.map_err(not_found)
    }

    /// The parcel arrived: "shipped" → "completed".
    pub async fn complete(&self, no: &str) -> Result<Order, CheckoutError> {
        let now = self.now();
        self.fulfil(no, |o| o.complete(now, EventSource::Admin)).await.map_err(not_found)
    }

    /// The buyer collected the order: "to ship" → "picked up".
    pub async fn mark_picked_up(&self, no: &str) -> Result<Order, CheckoutError> {
        let now = self.now();
        self.fulfil(no, |o| o.pick_up(now, EventSource::Admin)).await.map_err(not_found)
    }

    /// Ships each `(order number, tracking number)` with one carrier and note: each order is
    /// its own transaction (one refused does not stop the others), one flush at the end.
    /// At most [`BULK_MAX`] orders; the caller checks the count.
    pub async fn ship_many(
        &self,
        carrier: &str,
        note: &str,
        orders: &[(String, String)],
    ) -> Result<Vec<Shipped>, StoreError> {
        let now = self.now();
        let mut done = Vec::with_capacity(orders.len().min(BULK_MAX));
        for (no, tracking) in orders.iter().take(BULK_MAX) {
            let input =
                ShipInput { carrier: carrier.to_owned(), tracking: tracking.clone(), note: note.to_owned() };
            let result = self.store.update_order(no, |o| match o.ship(&input, now, EventSource::Admin) {
                Ok(event) => (Ok(()), vec![event]),
                Err(why) => (Err(why), Vec::new()),
            });
            let result = match result {
                Ok((order, Ok(()))) => Ok(order),
                Ok((_, Err(why))) => Err(CheckoutError::Refused(Refused::Fulfil(why))),
                Err(e) => Err(not_found(e.into())),
            };
            done.push(Shipped { no: no.clone(), result });
        }
        self.store.flush().await?;
        Ok(done)
    }

    /// How many orders are to ship (counted up to `cap`) and the `limit` oldest.
    pub fn to_ship(&self, limit: usize, cap: usize) -> Result<(usize, Vec<Order>), StoreError> {
        self.store.to_ship(limit, cap)
    }
}

/// "No such order" from the store is the caller's "not found".
fn not_found(e: CheckoutError) -> CheckoutError {
    match e {
        CheckoutError::Store(StoreError::NoSuchOrder) => CheckoutError::NotFound,
        other => other,
    }
}
