//! The reconciler: a background task for the orders nobody looks at.
//!
//! Every round it walks the pending orders, oldest first. Attempts still open a minute after
//! they began are queried with backoff (1, 2, 4 … 30 minutes between queries of one attempt)
//! to catch lost notifications; orders past their lifetime have each open attempt queried one
//! last time, then closed at WeChat (`closeorder`, not in an attempt's first 5 minutes), and
//! only when every attempt is closed (or never reached WeChat) is the order closed and its
//! stock released. A query that says paid is applied through `apply_payment`, like a
//! notification; nothing here ever closes a paid order, and ORDERNOTEXIST alone closes nothing.
//! Each round ends by settling refunds WeChat has not reported on (`settle_refunds`).
//!
//! The schedule lives in memory: a restart simply queries again. It must not decide whether
//! a payment counts (`domain` does) nor talk to WeChat other than through `WxPayClient`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::config::Config;
use crate::domain::{Applied, Attempt, Event, EventKind, EventSource, Line, Order, OrderStatus};
use crate::wxpay;

use super::check::Queried;
use super::{Checkout, CheckoutError};

/// The reconciler's durations, already scaled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Between two rounds.
    pub interval: Duration,
    /// An attempt younger than this is left to its notification.
    pub query_after: Duration,
    /// The first gap between two queries of one attempt; it doubles up to `max_gap`.
    pub first_gap: Duration,
    pub max_gap: Duration,
    /// WeChat refuses `closeorder` in an attempt's first 5 minutes.
    pub close_after: Duration,
    /// Multiplies the order lifetime (`reconcile_scale`; the lifetime itself is each order's,
    /// fixed when it was placed: `Order::lifetime`).
    pub ttl_scale: f64,
}

impl Timing {
    /// `reconcile_scale` multiplies every duration. In sandbox mode the sandbox's
    /// `time_scale` also multiplies the protocol durations (queries, the 5-minute rule), as
    /// it does in the sandbox itself, but not the merchant's order lifetime.
    pub fn from_config(config: &Config) -> Timing {
        let sandbox = if config.is_sandbox() { config.sandbox.time_scale } else { 1.0 };
        let protocol = config.reconcile_scale * sandbox;
        let p = |secs: f64| Duration::from_secs_f64(secs * protocol);
        Timing {
            // why: bounded both ways, so a tiny scale does not spin and a huge one still runs.
            interval: p(5.0).clamp(Duration::from_millis(20), Duration::from_secs(60)),
            query_after: p(60.0),
            first_gap: p(60.0),
            max_gap: p(30.0 * 60.0),
            close_after: p(5.0 * 60.0),
            ttl_scale: config.reconcile_scale,
        }
    }
}

/// Starts the reconciler; it stops at the next await once `shutdown` fires.
pub fn spawn(checkout: Arc<Checkout>, shutdown: rocket::Shutdown) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reconciler = Reconciler::new(checkout);
        tokio::pin!(shutdown);
        loop {
            // why: a round cancelled at an await leaves nothing half-done: every store change
            // is one transaction, and a closeorder without its local close is redone (the
            // query then says CLOSED) after the next start.
            tokio::select! {
                _ = &mut shutdown => break,
                _ = reconciler.round() => {}
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(reconciler.timing.interval) => {}
            }
        }
        tracing::debug!("reconciler stopped");
    })
}

/// When to ask WeChat about one attempt next.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    /// why the checkout's clock, not `Instant`: a test that moves the clock past a gap
    /// sees the query happen, as it sees an order expire.
    at: OffsetDateTime,
    gap: Duration,
}

/// What became of one open attempt of an expired order this round.
enum Finish {
    /// Closed at WeChat (or WeChat never knew it): the order may close.
    Closed,
    /// WeChat says it was paid; the payment is applied and the order stays paid.
    Paid,
    /// Not yet (too young, refused, no answer): next round.
    Later,
}

struct Reconciler {
    checkout: Arc<Checkout>,
    timing: Timing,
    /// Queries of attempts of orders still within their lifetime.
    queries: HashMap<String, Backoff>,
    /// Closing attempts of expired orders.
    closing: HashMap<String, Backoff>,
    /// Attempts already reported as unknown to WeChat despite their prepay (report once).
    flagged: HashSet<String>,
    /// Pending orders with nothing due before a time (Unix seconds): not read again until
    /// then, or until the store says they changed.
    resting: HashMap<String, i64>,
    /// The order lifetime `resting` was computed with (the merchant may change it).
    resting_ttl: Option<Duration>,
}

impl Reconciler {
    fn new(checkout: Arc<Checkout>) -> Reconciler {
        let timing = checkout.settings.reconcile;
        Reconciler {
            checkout,
            timing,
            queries: HashMap::new(),
            closing: HashMap::new(),
            flagged: HashSet::new(),
            resting: HashMap::new(),
            resting_ttl: None,
        }
    }

    async fn round(&mut self) {
        // why taken before the list is read: an order changed after this point is read
        // next round at the latest.
        let changed = self.checkout.store.take_changed();
        let ttl = Some(self.checkout.order_ttl());
        if self.resting_ttl != ttl {
            self.resting.clear();
            self.resting_ttl = ttl;
        }
        let pending: Vec<String> = self
            .checkout
            .store
            .order_nos_with_status(OrderStatus::Pending)
            .filter_map(|r| {
                r.map_err(|e| super::FAILED.note("reconciler: listing orders", || e.to_string())).ok()
            })
            .collect();
        let now = self.checkout.now();
        // why skip resting orders: reading and decoding every pending order each round was
        // CPU taken from every request once pending orders pile up (docs/performance.md);
        // an order only has something due at a time known when it was last read, or once
        // it changes.
        let mut resting = std::mem::take(&mut self.resting);
        for no in &pending {
            let unchanged = changed.as_ref().is_some_and(|c| !c.contains(no));
            if let Some(until) = resting.remove(no).filter(|until| unchanged && now < *until) {
                self.resting.insert(no.clone(), until);
                continue;
            }
            match self.order(no).await {
                Ok(()) => {}
                Err(e) => super::FAILED.note("reconciler: an order", || format!("order {no}: {e}")),
            }
        }
        // why: bounded memory; the attempts of orders no longer pending need no schedule
        // (an attempt's number is its order's, a dash, and a count: `pay`).
        let pending: HashSet<&str> = pending.iter().map(String::as_str).collect();
        let of_pending =
            |attempt: &String| attempt.rsplit_once('-').is_some_and(|(no, _)| pending.contains(no));
        self.queries.retain(|k, _| of_pending(k));
        self.closing.retain(|k, _| of_pending(k));
        self.flagged.retain(|k| of_pending(k));
        // why here: refunds whose notification is late are settled on the same clock.
        if let Err(e) = self.checkout.settle_refunds().await {
            super::FAILED.note("reconciler: settling refunds", || e.to_string());
        }
        self.checkout.reconciled_at.store(self.checkout.now().max(1), std::sync::atomic::Ordering::Relaxed);
    }

    async fn order(&mut self, no: &str) -> Result<(), CheckoutError> {
        let Some(order) = self.checkout.store.order(no)? else { return Ok(()) };
        if order.status != OrderStatus::Pending {
            return Ok(());
        }
        let ttl = order.lifetime(self.checkout.order_ttl()).mul_f64(self.timing.ttl_scale);
        if self.age(order.created_at) >= ttl {
            return self.expire(&order).await;
        }
        self.query_due(&order).await?;
        // The first moment anything of this order is due: its end, or an attempt's query.
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let mut until = order.created_at.saturating_add(secs(ttl));
        for a in super::check::queryable_attempts(&order) {
            let first =
                order.attempt(&a).map_or(0, |a| a.created_at.saturating_add(secs(self.timing.query_after)));
            let next = self.queries.get(&a).map_or(first, |b| first.max(b.at.unix_timestamp()));
            until = until.min(next);
        }
        self.resting.insert(order.no, until);
        Ok(())
    }

    /// Queries the attempts whose turn has come (a lost notification is found here).
    async fn query_due(&mut self, order: &Order) -> Result<(), CheckoutError> {
        for no in super::check::queryable_attempts(order) {
            let Some(a) = order.attempt(&no) else { continue };
            if self.age(a.created_at) < self.timing.query_after || !self.due(&self.queries, &no) {
                continue;
            }
            let now = self.checkout.clock.now();
            bump(&mut self.queries, &no, now, self.timing.first_gap, self.timing.max_gap);
            if let Queried::Paid(_) =
                self.checkout.query_attempt(&order.no, &no, EventSource::Reconciler).await?
            {
                tracing::info!(order_no = order.no, out_trade_no = no, "reconciler found a payment");
            }
        }
        Ok(())
    }

    /// An order past its lifetime: finish every open attempt, then close the order.
    async fn expire(&mut self, order: &Order) -> Result<(), CheckoutError> {
        let mut closed = Vec::new();
        let mut all_closed = true;
        for a in order.open_attempts() {
            if !self.due(&self.closing, &a.out_trade_no) {
                all_closed = false;
                continue;
            }
            match self.finish(order, a).await? {
                Finish::Paid => return Ok(()),
                Finish::Closed => closed.push(a.out_trade_no.clone()),
                Finish::Later => {
                    all_closed = false;
                    // why: starts at one round, so a refusal or an outage is retried soon,
                    // then less and less often (an attempt WeChat keeps not knowing, too).
                    let now = self.checkout.clock.now();
                    bump(&mut self.closing, &a.out_trade_no, now, self.timing.interval, self.timing.max_gap);
                }
            }
        }
        if all_closed { self.close_order(order, &closed).await } else { Ok(()) }
    }

    /// One last query, then `closeorder`.
    async fn finish(&mut self, order: &Order, a: &Attempt) -> Result<Finish, CheckoutError> {
        let no = &a.out_trade_no;
        match self.checkout.query_attempt(&order.no, no, EventSource::Reconciler).await? {
            Queried::Paid(o) if counts(&o.applied) => return Ok(Finish::Paid),
            // why: WeChat took money we could not match (the admin was told): never close,
            // ask again on the backoff.
            Queried::Paid(_) => return Ok(Finish::Later),
            Queried::Ended(_) => return Ok(Finish::Closed),
            Queried::NotExist => return self.not_exist(order, a).await,
            Queried::Failed(_) => return Ok(Finish::Later),
            Queried::Unpaid => {}
        }
        if self.age(a.created_at) < self.timing.close_after {
            return Ok(Finish::Later);
        }
        match self.checkout.close_on(a.api, no).await {
            Ok(_) => Ok(Finish::Closed),
            Err(e) => match e.err_code() {
                Some("ORDERCLOSED") => Ok(Finish::Closed),
                Some("ORDERNOTEXIST") => self.not_exist(order, a).await,
                // why: paid between our query and the close; the query now proves it.
                Some("ORDERPAID") => {
                    let q = self.checkout.query_attempt(&order.no, no, EventSource::Reconciler).await?;
                    Ok(if matches!(&q, Queried::Paid(o) if counts(&o.applied)) {
                        Finish::Paid
                    } else {
                        Finish::Later
                    })
                }
                _ => {
                    log_refusal(&order.no, no, &e);
                    Ok(Finish::Later)
                }
            },
        }
    }

    /// WeChat does not know the attempt. Without a prepay it never reached WeChat (its
    /// unifiedorder failed), so nothing can be paid on it. With one, WeChat knew it once:
    /// ORDERNOTEXIST alone never closes it; the merchant is told, once.
    async fn not_exist(&mut self, order: &Order, a: &Attempt) -> Result<Finish, CheckoutError> {
        if a.prepay_id.is_none() {
            return Ok(Finish::Closed);
        }
        if self.flagged.insert(a.out_trade_no.clone()) {
            let message = format!(
                "WeChat answers ORDERNOTEXIST for {} though it issued a prepay: the order stays pending, check it in the merchant platform",
                a.out_trade_no
            );
            let event =
                Event::new(self.checkout.now(), EventSource::Reconciler, EventKind::WechatUnknown, message)
                    .attention();
            self.checkout.store.update_order(&order.no, |_| ((), vec![event.clone()]))?;
            self.checkout.store.flush().await?;
        }
        Ok(Finish::Later)
    }

    /// Closes the order when it is still pending and has no open attempt besides `closed`
    /// (a buyer may have started a new one meanwhile), then gives its stock back.
    async fn close_order(&self, order: &Order, closed: &[String]) -> Result<(), CheckoutError> {
        let message = if closed.is_empty() {
            "closed: expired".to_owned()
        } else {
            format!("closed: expired (attempts closed at WeChat: {})", closed.join(", "))
        };
        let at = self.checkout.now();
        let (order, did) = self.checkout.store.update_order(&order.no, |o| {
            let others_open = o.open_attempts().any(|a| !closed.contains(&a.out_trade_no));
            if others_open || !o.close(at) {
                return (false, vec![]);
            }
            (true, vec![Event::new(at, EventSource::Reconciler, EventKind::Closed, message.clone())])
        })?;
        if did {
            self.checkout.store.flush().await?;
            self.checkout.release_stock(&order)?;
            tracing::info!(order_no = order.no, "reconciler closed an expired order");
        }
        Ok(())
    }
}

impl Checkout {
    /// Gives a closed order's units back to the products that count stock.
    ///
    /// why: products and orders share no transaction (see `place`); a crash between the
    /// close and this leaves units out of stock (undersold), never oversold.
    pub fn release_stock(&self, order: &Order) -> Result<(), CheckoutError> {
        self.give_back(&order.lines)
    }

    /// Adds the quantities of `lines` back to their products' stock, in one store transaction
    /// over those products: an order placed or an edit saved at the same moment is applied
    /// before or after it, never lost to it.
    pub(crate) fn give_back(&self, lines: &[Line]) -> Result<(), CheckoutError> {
        let slugs: Vec<&str> = lines.iter().map(|l| l.slug.as_str()).collect();
        self.store.update_products(&slugs, |products| {
            for product in products.iter_mut() {
                let qty = lines
                    .iter()
                    .filter(|l| l.slug == product.slug)
                    .fold(0u32, |q, l| q.saturating_add(l.qty));
                product.give_back_stock(qty);
            }
            Ok::<_, CheckoutError>(())
        })?;
        Ok(())
    }
}

/// The order is paid after this outcome (by this attempt or an earlier one).
fn counts(applied: &Applied) -> bool {
    matches!(applied, Applied::Paid | Applied::Duplicate | Applied::DoublePayment)
}

fn log_refusal(order_no: &str, out_trade_no: &str, e: &wxpay::Error) {
    // why: inside an attempt's first 5 minutes WeChat refuses closeorder; that is expected.
    super::NO_ANSWER.note("closeorder (retried later)", || format!("order {order_no}, {out_trade_no}: {e}"));
}

impl Reconciler {
    /// How long ago `unix` (seconds) was on the checkout's clock; zero for the future.
    fn age(&self, unix: i64) -> Duration {
        Duration::from_secs(u64::try_from(self.checkout.now().saturating_sub(unix)).unwrap_or(0))
    }

    fn due(&self, schedule: &HashMap<String, Backoff>, key: &str) -> bool {
        schedule.get(key).is_none_or(|b| self.checkout.clock.now() >= b.at)
    }
}

fn bump(
    schedule: &mut HashMap<String, Backoff>,
    key: &str,
    now: OffsetDateTime,
    first: Duration,
    max: Duration,
) {
    let gap = schedule.get(key).map_or(first, |b| (b.gap * 2).min(max));
    schedule.insert(key.to_owned(), Backoff { at: now + gap, gap });
}
