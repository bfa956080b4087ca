//! `store`: everything kept on disk, in sled — products, orders with their attempts, the
//! event timeline, and the indexes (token, `out_trade_no`, `transaction_id`, status + time,
//! and for the merchant's lists: time, channel, phone — see `listing`).
//!
//! The only module that names sled. It does not decide whether a change is allowed
//! (`domain` does, inside the closure given to `update_order`); it makes each change and
//! its events one transaction, and `flush` makes it durable.

pub mod admin;
pub mod backup;
mod codec;
mod keys;
pub mod listing;
pub mod outbox;
mod products;
pub mod refunds;
mod settings;

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::Notify;

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional, TransactionalTree};
use sled::{Db, Tree};

use crate::domain::alert::{Alert, Topic};
use crate::domain::{Event, Order, OrderStatus};

pub use codec::CodecError;
pub use listing::{OrderPage, OrderQuery, OrderSummary};

/// The layout version written into `meta`; a newer one on disk refuses to open.
///
/// why 2: the listing indexes (time, channel, phone). A data directory of schema 1 is
/// upgraded at open (the indexes are rebuilt once); an older binary then refuses it rather
/// than write orders those indexes would miss.
///
/// why 3: one unit for stored times, Unix seconds. Schema 2 kept the audit log in
/// milliseconds; it is converted once at open (`migrate_audit_to_seconds`), and an older
/// binary then refuses the directory rather than write milliseconds among seconds.
///
/// why 4: the fulfilment index (`by_stage`), filled once at open for older directories; an
/// older binary then refuses the directory rather than refund or pay orders without moving
/// them in (or out of) that index.
const SCHEMA: u32 = 4;

/// sled's page cache, in bytes (see `Store::open`).
pub const CACHE_CAPACITY: u64 = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored value: {0}")]
    Codec(#[from] CodecError),
    #[error(
        "the data directory was written by a newer wxcheckout (schema {0}; this version reads up to schema {SCHEMA}): run that newer version, or restore a backup taken before the upgrade (data_dir/backups/pre-upgrade-…) with `wxcheckout restore`"
    )]
    NewerSchema(u32),
    #[error("{0} holds no database")]
    NoDatabase(std::path::PathBuf),
    /// An older data directory could not be backed up before its upgrade (nothing changed).
    #[error("{0}")]
    UpgradeBackup(String),
    #[error("no such order")]
    NoSuchOrder,
    /// A list cursor this store did not give out.
    #[error("not a valid list cursor")]
    BadCursor,
    /// A product change that would move the product to another slug (its key).
    #[error("a product's slug cannot change: {0}")]
    SlugChanged(String),
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> StoreError {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

fn abort(e: impl Into<StoreError>) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e.into())
}

/// The database and its trees. Cheap to clone (sled handles are reference counted).
#[derive(Clone)]
pub struct Store {
    db: Db,
    meta: Tree,
    products: Tree,
    orders: Tree,
    tokens: Tree,
    out_trade_nos: Tree,
    transactions: Tree,
    by_status: Tree,
    events: Tree,
    attention: Tree,
    /// `created_at · order_no` → summary (see `listing`).
    by_time: Tree,
    /// `channel of the newest attempt · created_at · order_no`.
    by_channel: Tree,
    /// `phone digits · 0 · created_at · order_no`.
    by_phone: Tree,
    /// `fulfilment stage · created_at · order_no` (see `listing`).
    by_stage: Tree,
    /// Alerts not yet delivered, by id (`outbox`).
    outbox: Tree,
    /// Finished alerts, the latest `outbox::LOG_KEPT`.
    alert_log: Tree,
    /// Told when a committed change put an alert in the outbox (the deliverer waits on it).
    outbox_signal: Arc<Notify>,
    /// How long each `flush` took (`/metrics`).
    flush_seconds: prometheus_client::metrics::histogram::Histogram,
    /// Held shared by every change that spans trees, and exclusively by a backup, so that a
    /// backup never holds half of one (`backup`).
    gate: Arc<std::sync::RwLock<()>>,
    /// Added to sled's id counter: a restored database counts from zero again (`backup`).
    id_floor: u64,
    /// Finished alerts saved since the start; the log is cut every `outbox::CUT_EVERY`.
    alert_saves: Arc<std::sync::atomic::AtomicU32>,
    /// The orders changed since the reconciler last asked (`take_changed`).
    changed: Arc<std::sync::Mutex<ChangedSince>>,
    /// The products as last read, for the shop's pages (`products::Catalogue`).
    catalogue: Arc<products::Catalogue>,
}

/// Order numbers written since they were last taken, up to `CHANGED_KEPT`; past that, only
/// that there were too many to list.
#[derive(Default)]
struct ChangedSince {
    nos: std::collections::HashSet<String>,
    overflow: bool,
}

/// Changed orders listed at most (about 1 MB); beyond, the reader looks at every order.
const CHANGED_KEPT: usize = 10_000;

impl Store {
    /// Opens (or creates) the database in `dir` with a bounded cache (a small VPS), and
    /// upgrades an older one once, after backing it up.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let store = Store::open_trees(dir)?;
        let found = store.check_schema()?;
        if found < SCHEMA {
            store.backup_before_upgrade(dir, found)?;
        }
        store.ensure_listing_indexes()?;
        store.ensure_stage_index()?;
        if found < 3 {
            let n = store.migrate_audit_to_seconds()?;
            tracing::info!(entries = n, "audit log converted to Unix seconds (schema {found} to {SCHEMA})");
        }
        store.meta.insert("schema", &SCHEMA.to_be_bytes())?;
        // why: the new version is on disk only after the data it describes.
        store.db.flush()?;
        Ok(store)
    }

    /// Opens the database in `dir` as it is, to be read (`backup` and `verify` of a stopped
    /// shop): no upgrade, nothing written but what sled itself writes at open.
    pub fn open_as_is(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join("db").is_dir() {
            return Err(StoreError::NoDatabase(dir.to_owned()));
        }
        let store = Store::open_trees(dir)?;
        match store.meta.get("schema")?.map(|v| codec::u32_from(&v)) {
            Some(found) if found > SCHEMA => Err(StoreError::NewerSchema(found)),
            _ => Ok(store),
        }
    }

    fn open_trees(dir: &Path) -> Result<Store, StoreError> {
        // why 8 MiB: measured (docs/performance.md), the shop with 100,000 orders held 20–40 MB
        // less than with 32 MiB (idle 101 → 81 MB), with no route measurably slower; sled 0.34
        // holds much more than its cache_capacity anyway (per-page state for all data, pages
        // freed late by its epoch GC), so a larger cache mostly buys RSS.
        let db = sled::Config::new()
            .path(dir.join("db"))
            .cache_capacity(CACHE_CAPACITY)
            .mode(sled::Mode::LowSpace)
            .open()?;
        let tree = |name: &str| db.open_tree(name);
        let store = Store {
            meta: tree("meta")?,
            products: tree("products")?,
            orders: tree("orders")?,
            tokens: tree("tokens")?,
            out_trade_nos: tree("out_trade_nos")?,
            transactions: tree("transactions")?,
            by_status: tree("by_status")?,
            events: tree("events")?,
            attention: tree("attention")?,
            by_time: tree("by_time")?,
            by_channel: tree("by_channel")?,
            by_phone: tree("by_phone")?,
            by_stage: tree("by_stage")?,
            outbox: tree("outbox")?,
            alert_log: tree("alert_log")?,
            outbox_signal: Arc::new(Notify::new()),
            // why these buckets: 0.5 ms to about 4 s, doubling; a disk sync lives in there.
            flush_seconds: prometheus_client::metrics::histogram::Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 14),
            ),
            gate: Arc::new(std::sync::RwLock::new(())),
            id_floor: 0,
            alert_saves: Arc::default(),
            changed: Arc::default(),
            catalogue: Arc::default(),
            db,
        };
        Ok(Store { id_floor: store.meta.get(backup::ID_FLOOR)?.map_or(0, |v| codec::u64_from(&v)), ..store })
    }

    /// A backup of an older data directory as it is, before this version changes it
    /// (`data_dir/backups/pre-upgrade-….wxbak`): an upgrade can be undone by restoring it
    /// with the older binary.
    fn backup_before_upgrade(&self, dir: &Path, found: u32) -> Result<(), StoreError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let path = backup::dir(dir).join(backup::file_name(backup::PRE_UPGRADE, now));
        let written = std::fs::create_dir_all(backup::dir(dir))
            .map_err(backup::BackupError::from)
            .and_then(|()| backup::write_file(self, now, &path));
        match written {
            Ok(summary) => {
                tracing::info!(
                    orders = summary.orders,
                    "schema {found} to {SCHEMA}: the data directory was backed up first to {}",
                    path.display()
                );
                Ok(())
            }
            // why refuse: an upgrade without its backup cannot be undone.
            Err(e) => Err(StoreError::UpgradeBackup(format!(
                "schema {found} to {SCHEMA}: could not back the data directory up first to {} ({e}); nothing was changed",
                path.display()
            ))),
        }
    }

    /// The schema the directory was written with (this one for a new directory).
    fn check_schema(&self) -> Result<u32, StoreError> {
        match self.meta.get("schema")? {
            Some(v) => {
                let found = codec::u32_from(&v);
                if found > SCHEMA {
                    return Err(StoreError::NewerSchema(found));
                }
                Ok(found)
            }
            None => {
                self.meta.insert("schema", &SCHEMA.to_be_bytes())?;
                Ok(SCHEMA)
            }
        }
    }

    /// Makes every change so far durable. Runs sled's `flush` on a blocking thread.
    ///
    /// why: `flush_async` from many requests at once was seen to hang; concurrent `flush`
    /// calls share one disk sync, so durable writes batch themselves under load.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        let started = std::time::Instant::now();
        let _timed = Timed(&self.flush_seconds, started);
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Sled(sled::Error::ReportableBug(e.to_string())))??;
        Ok(())
    }

    /// Writes a probe record and makes it durable (readiness: the database accepts a write
    /// and a flush).
    pub async fn probe_write(&self, now: i64) -> Result<(), StoreError> {
        self.meta.insert("ready_probe", &now.to_be_bytes())?;
        self.flush().await
    }

    /// A fresh, never reused number (monotonic across restarts).
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()? + self.id_floor)
    }

    /// A shared hold on the gate a backup closes: taken by every change that spans trees,
    /// and around steps that must be in a backup together or not at all (`hold_changes`).
    /// On a thread already holding it, a no-op: a second shared hold could wait behind a
    /// backup queued meanwhile, and that backup behind the first hold.
    pub fn changing(&self) -> Changing<'_> {
        if HOLDING.with(Cell::get) {
            return Changing(None);
        }
        let guard = match self.gate.try_read() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            // why block_in_place: a backup is being read; this worker's other tasks (pages,
            // /healthz) move to another worker instead of waiting with this one.
            Err(std::sync::TryLockError::WouldBlock) => match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| self.gate.read().unwrap_or_else(|p| p.into_inner()))
                }
                _ => self.gate.read().unwrap_or_else(|p| p.into_inner()),
            },
        };
        HOLDING.with(|h| h.set(true));
        Changing(Some(guard))
    }

    // (products are read and changed in `products`)

    /// Runs `seed` once in the life of this database (the demo catalogue).
    pub fn seed_once(
        &self,
        name: &str,
        seed: impl FnOnce(&Store) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let key = format!("seeded:{name}");
        if self.meta.get(&key)?.is_some() {
            return Ok(false);
        }
        seed(self)?;
        self.meta.insert(key, &[1u8])?;
        Ok(true)
    }

    // ---- orders -----------------------------------------------------------------------

    /// Stores a new order with its indexes and first events, in one transaction.
    pub fn insert_order(&self, order: &Order, events: &[Event]) -> Result<(), StoreError> {
        let mut plan = Plan::default();
        plan.put(T::Orders, order.no.as_bytes(), codec::encode(order)?);
        plan.put(T::Tokens, order.token.as_bytes(), order.no.as_bytes());
        index_order(&mut plan, None, order)?;
        for event in events {
            put_event(&mut plan, &order.no, self.next_id()?, event)?;
        }
        let trees = self.write_trees();
        let _changing = self.changing();
        Transactional::<StoreError>::transaction(&trees[..], |t| plan.apply(t))?;
        self.note_changed([order.no.as_str()]);
        self.signal_alerts(events);
        Ok(())
    }

    pub fn order(&self, no: &str) -> Result<Option<Order>, StoreError> {
        self.orders.get(no.as_bytes())?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    fn order_via(&self, index: &Tree, key: &str) -> Result<Option<Order>, StoreError> {
        match index.get(key.as_bytes())? {
            Some(no) => self.order(&String::from_utf8_lossy(&no)),
            None => Ok(None),
        }
    }

    pub fn order_by_token(&self, token: &str) -> Result<Option<Order>, StoreError> {
        self.order_via(&self.tokens, token)
    }

    pub fn order_by_out_trade_no(&self, out_trade_no: &str) -> Result<Option<Order>, StoreError> {
        self.order_via(&self.out_trade_nos, out_trade_no)
    }

    pub fn order_by_transaction_id(&self, transaction_id: &str) -> Result<Option<Order>, StoreError> {
        self.order_via(&self.transactions, transaction_id)
    }

    /// Reads the order, lets `change` decide (it may run more than once if a concurrent
    /// change conflicts, so it must only look at the order it is given), and writes the
    /// order, its indexes and the events `change` returns as one transaction.
    pub fn update_order<R>(
        &self,
        no: &str,
        change: impl Fn(&mut Order) -> (R, Vec<Event>),
    ) -> Result<(Order, R), StoreError> {
        let mut results = self.update_orders(&[(no, &change)])?;
        results.pop().unwrap_or(Err(StoreError::NoSuchOrder))
    }

    /// `update_order` for many changes at once, in one transaction: each change sees the
    /// order as the changes before it in `changes` left it. A change whose order is missing
    /// or unreadable gets its own error and the others still apply; the outer error is the
    /// database's, and then nothing is written.
    ///
    /// why planned before the transaction: a sled 0.34 transaction holds a process-wide
    /// write lock (`concurrency_control::write`) that stops every other read and write of
    /// the database, so the decoding, deciding and encoding happen before it, and the
    /// transaction only checks that each order is still the one read and writes the
    /// planned bytes (when one changed meanwhile, everything is planned again).
    /// why many at once: the lock, the twelve trees' overlays and the log reservation are
    /// paid once for the whole batch (`checkout::payments` groups concurrent payments).
    pub fn update_orders<R>(&self, changes: &[Change<'_, R>]) -> Result<Vec<Changed<R>>, StoreError> {
        let trees = self.write_trees();
        loop {
            // The orders as read (raw, to check in the transaction) and as changed so far.
            let mut read: Vec<(&str, sled::IVec, Order, Order)> = Vec::new();
            let mut results = Vec::with_capacity(changes.len());
            let mut plan = Plan::default();
            let mut all_events = Vec::new();
            for (no, change) in changes {
                let at = match read.iter().position(|(n, ..)| n == no) {
                    Some(at) => at,
                    None => match self.orders.get(no.as_bytes())? {
                        None => {
                            results.push(Err(StoreError::NoSuchOrder));
                            continue;
                        }
                        Some(raw) => match codec::decode::<Order>(&raw) {
                            Err(e) => {
                                results.push(Err(e.into()));
                                continue;
                            }
                            Ok(order) => {
                                read.push((no, raw, order.clone(), order));
                                read.len() - 1
                            }
                        },
                    },
                };
                let after = &mut read[at].3;
                let (out, events) = change(after);
                for event in &events {
                    put_event(&mut plan, no, self.next_id()?, event)?;
                }
                results.push(Ok((after.clone(), out)));
                all_events.extend(events);
            }
            for (no, _, before, after) in &read {
                if after != before {
                    plan.put(T::Orders, no.as_bytes(), codec::encode(after)?);
                    index_order(&mut plan, Some(before), after)?;
                }
            }
            let _changing = self.changing();
            let unchanged = Transactional::<StoreError>::transaction(&trees[..], |t| {
                for (no, raw, ..) in &read {
                    if t[T::Orders as usize].get(no.as_bytes())?.as_ref() != Some(raw) {
                        return Ok(false);
                    }
                }
                plan.apply(t)?;
                Ok(true)
            })?;
            if unchanged {
                self.note_changed(read.iter().map(|(no, ..)| *no));
                self.signal_alerts(&all_events);
                return Ok(results);
            }
        }
    }

    fn note_changed<'a>(&self, nos: impl IntoIterator<Item = &'a str>) {
        let mut changed = self.changed.lock().unwrap_or_else(|p| p.into_inner());
        for no in nos {
            if changed.overflow {
                return;
            }
            if changed.nos.len() >= CHANGED_KEPT {
                *changed = ChangedSince { nos: Default::default(), overflow: true };
            } else {
                changed.nos.insert(no.to_owned());
            }
        }
    }

    /// The orders written since the last call (`None`: too many to list; take them all as
    /// changed). For one reader, the reconciler, which skips reading an order with nothing
    /// due until it changes.
    pub fn take_changed(&self) -> Option<std::collections::HashSet<String>> {
        let taken = std::mem::take(&mut *self.changed.lock().unwrap_or_else(|p| p.into_inner()));
        (!taken.overflow).then_some(taken.nos)
    }

    /// Wakes the deliverer when one of `events` (just committed) put an alert in the outbox.
    fn signal_alerts(&self, events: &[Event]) {
        if events.iter().any(|e| Topic::of(e).is_some()) {
            self.outbox_signal.notify_one();
        }
    }

    /// The order's timeline, oldest first.
    pub fn events(&self, no: &str) -> Result<Vec<Event>, StoreError> {
        self.events.scan_prefix(keys::events_prefix(no)).values().map(|v| Ok(codec::decode(&v?)?)).collect()
    }

    /// An event about no known order (e.g. a notification for an unknown `out_trade_no`).
    pub fn record_unmatched(&self, event: &Event) -> Result<(), StoreError> {
        let id = self.next_id()?;
        let key = keys::attention(event.at, id);
        let value = codec::encode(&AttentionItem { order_no: None, event: event.clone() })?;
        let alert = Alert::of_event(id, None, event);
        let _changing = self.changing();
        (&self.attention, &self.outbox).transaction(|(attention, outbox)| {
            attention.insert(key.as_slice(), value.as_slice())?;
            if let Some(alert) = &alert {
                outbox::enqueue_in(outbox, alert)?;
            }
            Ok(())
        })?;
        self.signal_alerts(std::slice::from_ref(event));
        Ok(())
    }

    /// Events that need the merchant's attention, newest first.
    pub fn attention(&self, limit: usize) -> Result<Vec<AttentionItem>, StoreError> {
        self.attention
            .iter()
            .rev()
            .take(limit)
            .map(|entry| {
                let (_, v) = entry?;
                Ok(codec::decode(&v)?)
            })
            .collect()
    }

    /// Takes the events of order `no` that `resolved` picks off the attention list: they
    /// stay on the timeline, no longer flagged. Returns how many were cleared (0 when they
    /// already were, so calling it again is harmless).
    pub fn resolve_attention(
        &self,
        no: &str,
        resolved: impl Fn(&Event) -> bool,
    ) -> Result<usize, StoreError> {
        let mut found = Vec::new();
        for entry in self.events.scan_prefix(keys::events_prefix(no)) {
            let (key, value) = entry?;
            let event: Event = codec::decode(&value)?;
            // why the id from the key: an event and its attention entry share it (`put_event`).
            let id = key.len().checked_sub(8).and_then(|at| key.get(at..)).and_then(|b| b.try_into().ok());
            if let (true, Some(id)) = (event.attention && resolved(&event), id) {
                found.push((key, u64::from_be_bytes(id), event));
            }
        }
        if found.is_empty() {
            return Ok(0);
        }
        let _changing = self.changing();
        (&self.events, &self.attention).transaction(|(events, attention)| {
            for (key, id, event) in &found {
                let cleared = Event { attention: false, ..event.clone() };
                events.insert(key, codec::encode(&cleared).map_err(abort)?)?;
                attention.remove(keys::attention(event.at, *id))?;
            }
            Ok(())
        })?;
        Ok(found.len())
    }

    /// Order numbers with `status`, oldest first (the reconciler's worklist).
    pub fn order_nos_with_status(
        &self,
        status: OrderStatus,
    ) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        self.by_status
            .scan_prefix([keys::status_byte(status)])
            .keys()
            .map(|k| Ok(keys::order_no_of_status_key(&k?)))
    }

    /// A named tree for a feature that keeps its own records (admin sessions, audit log …).
    /// Names are fixed strings in code; the order, product and index trees are not reachable.
    pub fn feature_tree(&self, name: &'static str) -> Result<Tree, StoreError> {
        debug_assert!(name.starts_with("feature:"), "feature trees are named feature:<name>");
        Ok(self.db.open_tree(name)?)
    }

    /// The histogram of `flush` times.
    pub fn flush_histogram(&self) -> prometheus_client::metrics::histogram::Histogram {
        self.flush_seconds.clone()
    }

    /// How many orders have `status` (walks that part of the status index, keys only).
    pub fn count_with_status(&self, status: OrderStatus) -> usize {
        self.by_status.scan_prefix([keys::status_byte(status)]).keys().count()
    }

    /// How many events are on the attention list.
    pub fn attention_count(&self) -> usize {
        self.attention.iter().keys().count()
    }

    /// Counts orders (for tests and the dashboard).
    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    fn write_trees(&self) -> [&Tree; 12] {
        [
            &self.orders,
            &self.tokens,
            &self.out_trade_nos,
            &self.transactions,
            &self.by_status,
            &self.events,
            &self.attention,
            &self.by_time,
            &self.by_channel,
            &self.by_phone,
            &self.by_stage,
            &self.outbox,
        ]
    }
}

thread_local! {
    /// Whether this thread holds the store's gate (see `Store::changing`).
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// A shared hold on the store's gate; released when dropped. Hold it only in synchronous
/// code (never across an await: the task could resume on another thread).
pub struct Changing<'a>(Option<std::sync::RwLockReadGuard<'a, ()>>);

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDING.with(|h| h.set(false));
        }
    }
}

/// Observes the time since `.1` into `.0` when dropped (so a failed or cancelled flush counts).
struct Timed<'a>(&'a prometheus_client::metrics::histogram::Histogram, std::time::Instant);

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        self.0.observe(self.1.elapsed().as_secs_f64());
    }
}

/// An entry of the "needs attention" list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttentionItem {
    pub order_no: Option<String>,
    pub event: Event,
}

/// The trees of one transaction, by name.
/// The trees an order change writes, by their place in `write_trees`.
#[derive(Clone, Copy)]
enum T {
    Orders,
    Tokens,
    OutTradeNos,
    Transactions,
    ByStatus,
    Events,
    Attention,
    ByTime,
    ByChannel,
    ByPhone,
    ByStage,
    Outbox,
}

/// The writes of a change, decided before its transaction and applied inside it.
#[derive(Default)]
struct Plan {
    writes: Vec<(T, Vec<u8>, Option<Vec<u8>>)>,
}

impl Plan {
    fn put(&mut self, tree: T, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push((tree, key.into(), Some(value.into())));
    }

    fn remove(&mut self, tree: T, key: impl Into<Vec<u8>>) {
        self.writes.push((tree, key.into(), None));
    }

    /// Applies the writes to the transaction's trees (`write_trees`, in that order).
    fn apply(&self, trees: &[TransactionalTree]) -> TxResult<()> {
        for (tree, key, value) in &self.writes {
            let tree = &trees[*tree as usize];
            match value {
                Some(value) => tree.insert(key.as_slice(), value.as_slice())?,
                None => tree.remove(key.as_slice())?,
            };
        }
        Ok(())
    }
}

type TxResult<R> = Result<R, ConflictableTransactionError<StoreError>>;

/// What one change of `Store::update_orders` did: the order after it and the change's answer.
pub type Changed<R> = Result<(Order, R), StoreError>;

/// One change given to `Store::update_orders`: the order's number and what to do to it.
pub type Change<'a, R> = (&'a str, &'a dyn Fn(&mut Order) -> (R, Vec<Event>));

/// Keeps the secondary indexes in step with a change from `before` to `after`.
fn index_order(plan: &mut Plan, before: Option<&Order>, after: &Order) -> Result<(), StoreError> {
    let old = before.map(listing::IndexKeys::of);
    let new = listing::IndexKeys::of(after);
    let old_ref = old.as_ref();
    // why only what moved: every write in a transaction is paid for at the flush, and most
    // changes (a payment, a prepay) move one or two of these entries.
    reindex(plan, T::ByStatus, old_ref.map(|o| &o.status), Some(&new.status), &[], true)?;
    // why also when only the value differs: the summary (status, refunds, paid_at) changes
    // under the same key.
    let same_summary = old_ref.is_some_and(|o| o.summary == new.summary);
    reindex(plan, T::ByTime, old_ref.map(|o| &o.time), Some(&new.time), &new.summary, same_summary)?;
    reindex(plan, T::ByChannel, old_ref.and_then(|o| o.channel.as_ref()), new.channel.as_ref(), &[], true)?;
    reindex(plan, T::ByPhone, old_ref.and_then(|o| o.phone.as_ref()), new.phone.as_ref(), &[], true)?;
    reindex(plan, T::ByStage, old_ref.and_then(|o| o.stage.as_ref()), new.stage.as_ref(), &[], true)?;
    for a in &after.attempts {
        let known = before.and_then(|b| b.attempts.iter().find(|x| x.out_trade_no == a.out_trade_no));
        if known.is_none() {
            plan.put(T::OutTradeNos, a.out_trade_no.as_bytes(), after.no.as_bytes());
        }
        if let Some(tx) =
            a.transaction_id.as_ref().filter(|tx| known.and_then(|k| k.transaction_id.as_ref()) != Some(*tx))
        {
            plan.put(T::Transactions, tx.as_bytes(), after.no.as_bytes());
        }
    }
    Ok(())
}

/// Moves one index entry from `old` to `new` (either may be absent) and writes its value;
/// nothing when the key stays and `same_value` says its value does too.
fn reindex(
    plan: &mut Plan,
    tree: T,
    old: Option<&Vec<u8>>,
    new: Option<&Vec<u8>>,
    value: &[u8],
    same_value: bool,
) -> Result<(), StoreError> {
    if old.is_some() && old == new && same_value {
        return Ok(());
    }
    if let Some(old) = old.filter(|o| Some(*o) != new) {
        plan.remove(tree, old.as_slice());
    }
    if let Some(new) = new {
        plan.put(tree, new.as_slice(), value);
    }
    Ok(())
}

fn put_event(plan: &mut Plan, no: &str, id: u64, event: &Event) -> Result<(), StoreError> {
    plan.put(T::Events, keys::event(no, id), codec::encode(event)?);
    if event.attention {
        let item = AttentionItem { order_no: Some(no.to_owned()), event: event.clone() };
        plan.put(T::Attention, keys::attention(event.at, id), codec::encode(&item)?);
    }
    // why here: every change that causes an alert writes its event here, so the alert is
    // durable with the change, whichever use case made it.
    if let Some(alert) = Alert::of_event(id, Some(no), event) {
        plan.put(T::Outbox, outbox::key(alert.id), codec::encode(&alert)?);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;

/// A data directory for one store test, removed when dropped.
#[cfg(test)]
pub(crate) mod test_dir {
    pub struct TempDir(std::path::PathBuf);

    impl TempDir {
        pub fn new(name: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!(
                "wxcheckout-store-{name}-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&p).expect("temp dir");
            TempDir(p)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    /// Opens the store at `dir` again after a handle to it was dropped in this process.
    ///
    /// why a deadline: sled's background flusher can hold the directory's lock for a moment
    /// after the last handle drops; a new process never meets it, a test in the same one can.
    pub fn reopen(dir: &std::path::Path) -> super::Store {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match super::Store::open(dir) {
                Ok(store) => return store,
                Err(e) if std::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "store still locked; retrying");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("reopen {}: {e}", dir.display()),
            }
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
