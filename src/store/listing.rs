//! The merchant's views of many orders: listing with filters (newest first, by cursor),
//! search by number, `out_trade_no`, `transaction_id` or phone, the dashboard's figures, and
//! the orders stuck pending — all through indexes, so a million orders cost no full scan.
//!
//! Indexes (kept in step by `index_order` inside every order transaction):
//! - `by_time`: `created_at · order_no` → a small summary (status, total, refunded, paid_at),
//!   so the dashboard reads 30 days of figures without decoding a single order;
//! - `by_channel`: `channel of the newest attempt · created_at · order_no`;
//! - `by_phone`: `phone digits · 0 · created_at · order_no`;
//! - `by_status` (older): `status · created_at · order_no`;
//! - `by_stage`: `fulfilment stage · created_at · order_no` for orders that have one
//!   (`Order::stage`: to ship, shipped, completed, picked up). The stage is derived from the
//!   fulfilment and the payment status, so a refund in full moves an unshipped order out of
//!   "to ship" in the same transaction, through this same `index_order`.
//!
//! Every listing key ends in the same `created_at · order_no` suffix. A query with several
//! filters walks the chosen indexes side by side, each one seeking to the next suffix the
//! others agree on, so its cost follows the rarest filter, never the whole table.

use std::ops::Bound;

use sled::Tree;

use super::{Store, StoreError, keys};
use crate::domain::{Channel, Fen, Order, OrderStatus, Stage};

/// What `/admin/orders` asks for. Times are Unix seconds: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub channel: Option<Channel>,
    /// Where the order stands after payment (to ship, shipped …).
    pub stage: Option<Stage>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: usize,
}

/// One page of orders, newest first; `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub next_cursor: Option<String>,
}

/// An order as the time index keeps it: enough for takings and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderSummary {
    pub created_at: i64,
    pub status: OrderStatus,
    pub total: Fen,
    pub refunded: Fen,
    pub paid_at: Option<i64>,
}

/// The most orders a phone search returns (one buyer's orders; a shared number is rare).
const PHONE_HITS: usize = 200;
/// The meta key recording that the listing indexes cover every order.
pub(super) const LISTING_BUILT: &str = "indexes:listing";
/// The meta key recording that the fulfilment index covers every order.
pub(super) const STAGE_BUILT: &str = "indexes:stage";

/// Version byte of a `by_time` summary value.
const SUMMARY_V1: u8 = 1;

/// The keys (and the time index's value) an order has in the indexes.
pub(super) struct IndexKeys {
    pub status: Vec<u8>,
    pub time: Vec<u8>,
    pub summary: Vec<u8>,
    pub channel: Option<Vec<u8>>,
    pub phone: Option<Vec<u8>>,
    pub stage: Option<Vec<u8>>,
}

impl IndexKeys {
    pub fn of(o: &Order) -> IndexKeys {
        IndexKeys {
            status: keys::status(o.status, o.created_at, &o.no),
            time: keys::suffix(o.created_at, &o.no),
            summary: encode_summary(o),
            channel: newest_channel(o).map(|c| keys::channel(c, o.created_at, &o.no)),
            phone: o
                .contact
                .phone
                .as_deref()
                .and_then(keys::phone_digits)
                .map(|d| keys::phone(&d, o.created_at, &o.no)),
            stage: o.stage().map(|s| keys::stage(s, o.created_at, &o.no)),
        }
    }
}

/// The channel of the attempt made last (the way the buyer finally paid, or tried to).
fn newest_channel(o: &Order) -> Option<Channel> {
    o.attempts.iter().max_by_key(|a| a.created_at).map(|a| a.channel)
}

fn encode_summary(o: &Order) -> Vec<u8> {
    let mut v = Vec::with_capacity(27);
    v.push(SUMMARY_V1);
    v.push(keys::status_byte(o.status));
    v.push(u8::from(o.paid_at.is_some()));
    v.extend_from_slice(&o.total.get().to_be_bytes());
    v.extend_from_slice(&o.refunded.get().to_be_bytes());
    v.extend_from_slice(&o.paid_at.unwrap_or(0).to_be_bytes());
    v
}

fn decode_summary(suffix: &[u8], v: &[u8]) -> Result<OrderSummary, StoreError> {
    let bad = || StoreError::Codec(super::CodecError::Empty);
    if v.first() != Some(&SUMMARY_V1) || v.len() != 27 {
        return Err(v.first().map_or_else(bad, |&b| StoreError::Codec(super::CodecError::Version(b))));
    }
    let u = |at: usize| v.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes);
    let fen = |at| u(at).and_then(|n| Fen::new(n).ok()).ok_or_else(bad);
    Ok(OrderSummary {
        created_at: keys::time_of_suffix(suffix).ok_or_else(bad)?,
        status: keys::status_of_byte(v[1]).ok_or_else(bad)?,
        total: fen(3)?,
        refunded: fen(11)?,
        paid_at: if v[2] == 1 { u(19).map(|n| n as i64) } else { None },
    })
}

/// One index to walk: its tree and the prefix that selects the filter's value.
struct Source<'a> {
    tree: &'a Tree,
    prefix: Vec<u8>,
}

impl Source<'_> {
    /// The largest suffix in `[lower, upper)` (`upper` `None`: no upper bound).
    fn prev(&self, lower: &[u8], upper: Option<&[u8]>) -> Result<Option<Vec<u8>>, StoreError> {
        if upper.is_some_and(|u| u <= lower) {
            return Ok(None);
        }
        let join = |s: &[u8]| [self.prefix.as_slice(), s].concat();
        let hi = match upper {
            Some(u) => Bound::Excluded(join(u)),
            None => match prefix_end(&self.prefix) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
        };
        let found = self.tree.range::<Vec<u8>, _>((Bound::Included(join(lower)), hi)).next_back();
        Ok(match found {
            Some(entry) => Some(entry?.0[self.prefix.len()..].to_vec()),
            None => None,
        })
    }
}

/// The first key after every key starting with `prefix` (`None`: the prefix is empty or all 0xFF).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The smallest byte string greater than `s`: `≤ s` is `< successor(s)`.
fn successor(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v
}

fn encode_cursor(suffix: &[u8]) -> String {
    hex::encode(suffix)
}

/// A cursor is a suffix this store gave out: 8 time bytes and an order number.
fn decode_cursor(cursor: &str) -> Result<Vec<u8>, StoreError> {
    match hex::decode(cursor) {
        Ok(s) if s.len() > 8 && s.len() <= 8 + 64 => Ok(s),
        _ => Err(StoreError::BadCursor),
    }
}

impl Store {
    /// A page of orders matching `query`, newest first. Walks the most selective indexes
    /// (status and/or channel; the time index when neither is asked for) within the date
    /// range, so the cost is one seek per order shown (per filter), not a scan.
    pub fn list_orders(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        let mut sources = Vec::with_capacity(2);
        if let Some(s) = query.status {
            sources.push(Source { tree: &self.by_status, prefix: vec![keys::status_byte(s)] });
        }
        if let Some(c) = query.channel {
            sources.push(Source { tree: &self.by_channel, prefix: vec![keys::channel_byte(c)] });
        }
        if let Some(s) = query.stage {
            sources.push(Source { tree: &self.by_stage, prefix: vec![keys::stage_byte(s)] });
        }
        if sources.is_empty() {
            sources.push(Source { tree: &self.by_time, prefix: Vec::new() });
        }
        let lower = query.from.map_or_else(Vec::new, keys::time_floor);
        let mut upper = query.to.map(keys::time_floor);
        if let Some(c) = &query.cursor {
            let c = decode_cursor(c)?;
            upper = Some(match upper {
                Some(u) if u < c => u,
                _ => c,
            });
        }
        let limit = query.limit.max(1);
        let mut suffixes = Vec::with_capacity(limit + 1);
        while suffixes.len() <= limit {
            match intersect_prev(&sources, &lower, upper.as_deref())? {
                Some(s) => {
                    upper = Some(s.clone());
                    suffixes.push(s);
                }
                None => break,
            }
        }
        let more = suffixes.len() > limit;
        suffixes.truncate(limit);
        let next_cursor = if more { suffixes.last().map(|s| encode_cursor(s)) } else { None };
        let mut orders = Vec::with_capacity(suffixes.len());
        for s in &suffixes {
            // why: the index and the order are written in one transaction; a miss would be a
            // bug elsewhere, and one missing row must not hide the page.
            if let Some(o) = self.order(&keys::order_no_of_suffix(s))? {
                orders.push(o);
            }
        }
        Ok(OrderPage { orders, next_cursor })
    }

    /// Orders matching what the merchant typed: an order number, an `out_trade_no`, a WeChat
    /// `transaction_id` (each exact), or a buyer's phone (any way of writing it), newest first.
    pub fn find_orders(&self, query: &str) -> Result<Vec<Order>, StoreError> {
        let q = query.trim();
        if q.is_empty() || q.len() > 64 {
            return Ok(Vec::new());
        }
        let mut found: Vec<Order> = Vec::new();
        let mut add = |o: Option<Order>| {
            if let Some(o) = o.filter(|o| found.iter().all(|f| f.no != o.no)) {
                found.push(o);
            }
        };
        add(self.order(q)?);
        add(self.order_by_out_trade_no(q)?);
        add(self.order_by_transaction_id(q)?);
        if let Some(digits) = keys::phone_digits(q) {
            for key in self.by_phone.scan_prefix(keys::phone_prefix(&digits)).keys().rev().take(PHONE_HITS) {
                let key = key?;
                let suffix = &key[digits.len() + 1..];
                add(self.order(&keys::order_no_of_suffix(suffix))?);
            }
        }
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.no.cmp(&a.no)));
        Ok(found)
    }

    /// The summaries of orders created in `[from, to)`, newest first, from the time index
    /// alone (no order is decoded).
    pub fn order_summaries(
        &self,
        from: i64,
        to: i64,
    ) -> impl Iterator<Item = Result<OrderSummary, StoreError>> + '_ {
        // why: an empty range, never a reversed one.
        let to = to.max(from);
        self.by_time.range(keys::time_floor(from)..keys::time_floor(to)).rev().map(|entry| {
            let (k, v) = entry?;
            decode_summary(&k, &v)
        })
    }

    /// Pending orders created before `before` that still have an attempt opened before
    /// `before` (a buyer may have paid and the notification never came), oldest first.
    ///
    /// why bounded: the reconciler closes pending orders after their lifetime, so a long
    /// pending list is itself the problem; `scan` caps the work for the dashboard.
    pub fn stuck_pending(&self, before: i64, limit: usize, scan: usize) -> Result<Vec<Order>, StoreError> {
        let end = keys::status(OrderStatus::Pending, before, "");
        let start = vec![keys::status_byte(OrderStatus::Pending)];
        let mut stuck = Vec::new();
        for key in self.by_status.range(start..end).keys().take(scan) {
            let Some(order) = self.order(&keys::order_no_of_status_key(&key?))? else { continue };
            if order.open_attempts().any(|a| a.created_at < before) {
                stuck.push(order);
                if stuck.len() == limit {
                    break;
                }
            }
        }
        Ok(stuck)
    }

    /// How many orders are to ship (counting no further than `cap + 1`: more than `cap` shows
    /// as `cap + 1`), and the `limit` oldest of them, oldest first: the dashboard's queue.
    ///
    /// why the cap: the count walks the index's "to ship" keys only (no order is decoded);
    /// past `cap` the dashboard says "more than".
    pub fn to_ship(&self, limit: usize, cap: usize) -> Result<(usize, Vec<Order>), StoreError> {
        let prefix = [keys::stage_byte(Stage::ToShip)];
        let mut oldest = Vec::with_capacity(limit);
        let mut count = 0;
        for key in self.by_stage.scan_prefix(prefix).keys().take(cap.saturating_add(1)) {
            let key = key?;
            count += 1;
            if oldest.len() < limit {
                if let Some(o) = self.order(&keys::order_no_of_suffix(&key[1..]))? {
                    oldest.push(o);
                }
            }
        }
        Ok((count, oldest))
    }

    /// Fills the fulfilment index once for a data directory written before it existed (every
    /// paid order of then is "to ship", `Order::stage`), and records that in `meta`.
    pub(super) fn ensure_stage_index(&self) -> Result<Option<usize>, StoreError> {
        if self.meta.get(STAGE_BUILT)?.is_some() {
            return Ok(None);
        }
        // why from empty: a fill cut short by a crash left no flag.
        self.by_stage.clear()?;
        let mut batch = sled::Batch::default();
        let (mut count, mut pending) = (0, 0);
        for value in self.orders.iter().values() {
            let order: Order = super::codec::decode(&value?)?;
            if let Some(k) = IndexKeys::of(&order).stage {
                batch.insert(k, &[]);
                count += 1;
                pending += 1;
            }
            if pending == 10_000 {
                self.by_stage.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        self.by_stage.apply_batch(batch)?;
        self.meta.insert(STAGE_BUILT, &[1u8])?;
        self.db.flush()?;
        if count > 0 {
            tracing::info!(orders = count, "fulfilment index filled");
        }
        Ok(Some(count))
    }

    /// Fills the listing indexes once for a data directory written before they existed (or
    /// whose filling was cut short), and records that in `meta`. Returns how many orders.
    pub(super) fn ensure_listing_indexes(&self) -> Result<Option<usize>, StoreError> {
        if self.meta.get(LISTING_BUILT)?.is_some() {
            return Ok(None);
        }
        let mut count = 0;
        if !self.orders.is_empty() {
            // why: a rebuild cut short by a crash left no flag; start again from empty.
            for tree in [&self.by_time, &self.by_channel, &self.by_phone] {
                tree.clear()?;
            }
            count = self.rebuild_listing_indexes()?;
        }
        // why the system clock: when the store rebuilt its own indexes is a fact about the
        // store, not a business time that tests set.
        let built = time::OffsetDateTime::now_utc().unix_timestamp();
        self.meta.insert(LISTING_BUILT, &keys::time_floor(built)[..])?;
        self.db.flush()?;
        Ok(Some(count))
    }

    fn rebuild_listing_indexes(&self) -> Result<usize, StoreError> {
        let started = std::time::Instant::now();
        let mut batches: [sled::Batch; 3] = Default::default();
        let mut count = 0;
        let mut pending = 0;
        for value in self.orders.iter().values() {
            let order: Order = super::codec::decode(&value?)?;
            let k = IndexKeys::of(&order);
            batches[0].insert(k.time, k.summary);
            if let Some(c) = k.channel {
                batches[1].insert(c, &[]);
            }
            if let Some(p) = k.phone {
                batches[2].insert(p, &[]);
            }
            count += 1;
            pending += 1;
            if pending == 10_000 {
                self.apply_listing_batches(&mut batches)?;
                pending = 0;
            }
        }
        self.apply_listing_batches(&mut batches)?;
        tracing::info!(orders = count, secs = started.elapsed().as_secs_f64(), "listing indexes rebuilt");
        Ok(count)
    }

    /// Stores many new orders (without events) in one batch per tree: a bulk load into a
    /// store nobody else is writing at the time — the benchmark's million orders, an import.
    ///
    /// why not `insert_order`: one transaction over ten trees per order is right for the shop
    /// and ~20× slower for a load. Each tree's batch is atomic, the whole load is not: a crash
    /// midway can leave orders without some index entries, so a failed load is redone into a
    /// fresh data directory.
    pub fn bulk_load_orders(&self, orders: &[Order]) -> Result<(), StoreError> {
        let mut b: [sled::Batch; 9] = Default::default();
        for o in orders {
            let no = o.no.as_bytes();
            b[0].insert(no, super::codec::encode(o)?);
            b[1].insert(o.token.as_bytes(), no);
            for a in &o.attempts {
                b[2].insert(a.out_trade_no.as_bytes(), no);
                if let Some(tx) = &a.transaction_id {
                    b[3].insert(tx.as_bytes(), no);
                }
            }
            let k = IndexKeys::of(o);
            b[4].insert(k.status, &[]);
            b[5].insert(k.time, k.summary);
            if let Some(c) = k.channel {
                b[6].insert(c, &[]);
            }
            if let Some(p) = k.phone {
                b[7].insert(p, &[]);
            }
            if let Some(s) = k.stage {
                b[8].insert(s, &[]);
            }
        }
        let trees = [
            &self.orders,
            &self.tokens,
            &self.out_trade_nos,
            &self.transactions,
            &self.by_status,
            &self.by_time,
            &self.by_channel,
            &self.by_phone,
            &self.by_stage,
        ];
        for (tree, batch) in trees.into_iter().zip(b) {
            tree.apply_batch(batch)?;
        }
        Ok(())
    }

    fn apply_listing_batches(&self, batches: &mut [sled::Batch; 3]) -> Result<(), StoreError> {
        let [time, channel, phone] = std::mem::take(batches);
        self.by_time.apply_batch(time)?;
        self.by_channel.apply_batch(channel)?;
        self.by_phone.apply_batch(phone)?;
        Ok(())
    }
}

/// The largest suffix below `upper` (and at least `lower`) present in every source.
///
/// why side by side: each source seeks to the candidate the previous one proposed, so two
/// filters cost about as many seeks as the rarer one has entries in the range, and a page
/// stops after `limit` matches.
fn intersect_prev(
    sources: &[Source<'_>],
    lower: &[u8],
    upper: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(first) = sources.first() else { return Ok(None) };
    let Some(mut candidate) = first.prev(lower, upper)? else { return Ok(None) };
    let mut agreed = 1;
    let mut i = 0;
    while agreed < sources.len() {
        i = (i + 1) % sources.len();
        let Some(found) = sources[i].prev(lower, Some(&successor(&candidate)))? else { return Ok(None) };
        if found == candidate {
            agreed += 1;
        } else {
            candidate = found;
            agreed = 1;
        }
    }
    Ok(Some(candidate))
}

#[cfg(test)]
mod tests;
