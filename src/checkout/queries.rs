//! The read side of the checkout: what the buyer's pages and the merchant's admin may know of
//! orders, products, refunds and reconciliations. Nothing here changes state; every change
//! goes through a use case of `checkout`.
//!
//! why these thin methods rather than handing out the store: the store is the checkout's own,
//! so whoever reads a record cannot also write one behind the use cases' back.

use super::Checkout;
use crate::domain::order::Event;
use crate::domain::refund::Refund;
use crate::domain::{Order, Product};
use crate::store::refunds::ReconciliationRecord;
use crate::store::{AttentionItem, OrderPage, OrderQuery, OrderSummary, StoreError};

impl Checkout {
    pub fn order(&self, no: &str) -> Result<Option<Order>, StoreError> {
        self.store.order(no)
    }

    /// The order a buyer link names.
    pub fn order_by_token(&self, token: &str) -> Result<Option<Order>, StoreError> {
        self.store.order_by_token(token)
    }

    /// An order's timeline, oldest first.
    pub fn events(&self, no: &str) -> Result<Vec<Event>, StoreError> {
        self.store.events(no)
    }

    /// An order's refunds, oldest first.
    pub fn refunds(&self, no: &str) -> Result<Vec<Refund>, StoreError> {
        self.store.refunds(no)
    }

    /// Every product, archived ones included, in the shop's order.
    pub fn products(&self) -> Result<Vec<Product>, StoreError> {
        self.store.products()
    }

    /// Every product as the shop's pages show them (`Store::catalogue`: kept decoded between
    /// reads, never older than the last committed change).
    pub fn catalogue(&self) -> Result<std::sync::Arc<[Product]>, StoreError> {
        self.store.catalogue()
    }

    pub fn product(&self, slug: &str) -> Result<Option<Product>, StoreError> {
        self.store.product(slug)
    }

    /// The bytes of a product's image.
    pub fn product_image(&self, slug: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.product_image(slug)
    }

    /// The thumbnail of a product's image, when one was stored.
    pub fn product_thumb(&self, slug: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.product_thumb(slug)
    }

    /// One page of the merchant's order list.
    pub fn list_orders(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        self.store.list_orders(query)
    }

    /// Orders found by number, `out_trade_no`, `transaction_id` or phone.
    pub fn find_orders(&self, query: &str) -> Result<Vec<Order>, StoreError> {
        self.store.find_orders(query)
    }

    /// Summaries of the orders created in `[from, to)` (Unix seconds), for the dashboard.
    pub fn order_summaries(&self, from: i64, to: i64) -> Result<Vec<OrderSummary>, StoreError> {
        self.store.order_summaries(from, to).collect()
    }

    /// The newest `limit` entries of the "needs attention" list.
    pub fn attention(&self, limit: usize) -> Result<Vec<AttentionItem>, StoreError> {
        self.store.attention(limit)
    }

    /// Pending orders created before `before` (oldest first), at most `limit`, looking at no
    /// more than `scan` pending orders.
    pub fn stuck_pending(&self, before: i64, limit: usize, scan: usize) -> Result<Vec<Order>, StoreError> {
        self.store.stuck_pending(before, limit, scan)
    }

    /// The latest `limit` daily reconciliations, newest first.
    pub fn recent_reconciliations(&self, limit: usize) -> Result<Vec<ReconciliationRecord>, StoreError> {
        self.store.recent_reconciliations(limit)
    }

    /// The reconciliation of one Beijing day (`YYYYMMDD`).
    pub fn reconciliation(&self, day: &str) -> Result<Option<ReconciliationRecord>, StoreError> {
        self.store.reconciliation(day)
    }
}
