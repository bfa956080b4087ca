//! Delivering alerts from the outbox: at least once, retried with backoff for a day, never in
//! the way of a notification's answer (a task of its own; the use cases only write the alert
//! in their transaction). See docs/alerts.md.
//!
//! An alert goes out only after the change that caused it is durable: the deliverer flushes
//! before each batch, so the merchant is never told of a payment a crash could undo.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::alerts::message::Message;
use crate::domain::alert::{Alert, Answer, COALESCE_SECS, ChannelKind, Topic};
use crate::web::Lang;

use super::{Checkout, CheckoutError};

/// Alerts delivered at once (each may wait up to `alerts::TIMEOUT` on a slow receiver).
const PARALLEL: usize = 8;
/// How often the outbox is looked at when nothing wakes the deliverer.
const LOOK_EVERY: Duration = Duration::from_millis(500);
/// New alerts read from the outbox per look.
const READ_PER_LOOK: usize = 1000;

/// Starts the deliverer; it stops at `shutdown` (an alert cut off mid-try is tried again
/// after the next start, with the same idempotency key).
pub fn spawn(checkout: Arc<Checkout>, shutdown: rocket::Shutdown) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        let mut deliverer = Deliverer::new(checkout);
        loop {
            if let Err(e) = deliverer.look().await {
                super::FAILED.note("alerts: reading the outbox", || e.to_string());
            }
            let nap = deliverer.nap();
            tokio::select! {
                _ = &mut shutdown => break,
                _ = deliverer.checkout.store.outbox_written() => {}
                _ = tokio::time::sleep(nap) => {}
                Some(done) = deliverer.tasks.join_next_with_id(), if !deliverer.tasks.is_empty() => deliverer.done(done),
            }
        }
        deliverer.tasks.abort_all();
        tracing::debug!("alert deliverer stopped");
    })
}

/// The deliverer's schedule. Each pending alert is in exactly one place: waiting in `due`, or
/// in flight in `tasks` (which gives back when it is due next), so no two tries of one alert
/// run at once and none works from an old copy. `known` holds the ids of both.
///
/// why every look walks the outbox's keys for ids it does not know, rather than reading on from
/// the highest id seen: ids are taken before their transaction commits, so two changes at once
/// can commit out of id order, and a high-water mark would pass over the later-committed one.
struct Deliverer {
    checkout: Arc<Checkout>,
    /// Pending alerts by when they are next due: (Unix seconds, id).
    due: BTreeSet<(i64, u64)>,
    /// Ids in `due` or in flight (or unreadable, reported once).
    known: HashSet<u64>,
    /// The alert each task in flight is trying.
    flying: HashMap<tokio::task::Id, u64>,
    /// When an attention alert of each kind was last sent (`Alert::coalesce`).
    last_attention: HashMap<String, i64>,
    tasks: JoinSet<(u64, Option<i64>)>,
}

impl Deliverer {
    fn new(checkout: Arc<Checkout>) -> Deliverer {
        Deliverer {
            checkout,
            due: BTreeSet::new(),
            known: HashSet::new(),
            flying: HashMap::new(),
            last_attention: HashMap::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Until the next look: the earliest due time, at most `LOOK_EVERY`; with every slot busy,
    /// a finished try wakes the deliverer instead.
    fn nap(&self) -> Duration {
        if self.tasks.len() >= PARALLEL {
            return LOOK_EVERY;
        }
        let now = self.checkout.now();
        self.due
            .first()
            .map_or(LOOK_EVERY, |(at, _)| Duration::from_secs(u64::try_from(at - now).unwrap_or(0)))
            .clamp(Duration::from_millis(20), LOOK_EVERY)
    }

    /// A try ended: schedule the alert's next one, if any. A task that failed (panicked)
    /// leaves its alert to be read again from the store at the next look.
    fn done(&mut self, result: Result<(tokio::task::Id, (u64, Option<i64>)), tokio::task::JoinError>) {
        let task = match &result {
            Ok((task, _)) => *task,
            Err(e) => e.id(),
        };
        let id = self.flying.remove(&task);
        match result {
            Ok((_, (id, Some(next)))) => {
                self.due.insert((next, id));
            }
            Ok((_, (id, None))) => {
                self.known.remove(&id);
            }
            Err(_) => {
                if let Some(id) = id {
                    self.known.remove(&id);
                }
            }
        }
    }

    /// Reads new alerts, then starts the due ones.
    async fn look(&mut self) -> Result<(), CheckoutError> {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.done(done);
        }
        let now = self.checkout.now();
        let new: Vec<u64> = self
            .checkout
            .store
            .outbox_ids()?
            .into_iter()
            .filter(|id| !self.known.contains(id))
            .take(READ_PER_LOOK)
            .collect();
        for id in new {
            self.known.insert(id);
            match self.checkout.store.pending_alert(id) {
                Ok(Some(alert)) if alert.finished_at.is_none() => {
                    let at = if alert.deliveries.is_empty() { now } else { alert.next_at().unwrap_or(now) };
                    self.due.insert((at, id));
                }
                Ok(_) => {
                    self.known.remove(&id);
                }
                Err(e) => super::FAILED
                    .note("alerts: an unreadable alert left in the outbox", || format!("{id}: {e}")),
            }
        }
        let mut finished = Vec::new();
        let started = self.start_due(now, &mut finished).await;
        // why forgotten even when the save (or starting the others) fails: still pending in
        // the store, they are read and started again at the next look.
        let saved = self.checkout.store.save_alerts(&finished);
        for alert in &finished {
            self.known.remove(&alert.id);
        }
        started?;
        Ok(saved?)
    }

    /// Starts the due alerts, as many as there are free slots; the ones that finish at once
    /// (no channel, or coalesced) are left in `finished` for the caller to save together.
    async fn start_due(&mut self, now: i64, finished: &mut Vec<Alert>) -> Result<(), CheckoutError> {
        let mut flushed = false;
        while self.tasks.len() < PARALLEL {
            let Some(&(at, id)) = self.due.first() else { break };
            if at > now {
                break;
            }
            self.due.pop_first();
            // why read again: the copy read earlier may be older than the last try's result.
            let Some(mut alert) = self.checkout.store.pending_alert(id)?.filter(|a| a.finished_at.is_none())
            else {
                self.known.remove(&id);
                continue;
            };
            if alert.deliveries.is_empty() {
                self.start(&mut alert, now);
                if alert.finished_at.is_some() {
                    // why saved after the loop: many finish here at once (no channel, or
                    // coalesced), and one transaction moves them all (`save_alerts`).
                    finished.push(alert);
                    continue;
                }
                self.checkout.store.save_alert(&alert)?;
            }
            if alert.due(now).is_empty() {
                match alert.next_at() {
                    Some(next) => {
                        self.due.insert((next, id));
                    }
                    None => {
                        self.known.remove(&id);
                    }
                }
                continue;
            }
            if !flushed {
                // why: announce only what a crash cannot undo (the use case flushes too; this
                // covers a change still between its commit and its flush).
                self.checkout.store.flush().await?;
                flushed = true;
            }
            let checkout = Arc::clone(&self.checkout);
            let task = self.tasks.spawn(async move {
                match checkout.deliver(alert).await {
                    Ok(next) => (id, next),
                    Err(e) => {
                        super::FAILED.note("alerts: delivering", || e.to_string());
                        // why a minute: the store failed; the alert is as it was, try again.
                        (id, Some(checkout.now() + 60))
                    }
                }
            });
            self.flying.insert(task.id(), id);
        }
        Ok(())
    }

    /// Fixes the channels of a new alert, or coalesces an attention alert of a kind sent
    /// moments ago.
    fn start(&mut self, alert: &mut Alert, now: i64) {
        if alert.topic == Topic::Attention {
            let kind = alert.kind.clone().unwrap_or_default();
            if self.last_attention.get(&kind).is_some_and(|&at| now - at < COALESCE_SECS) {
                alert.coalesce(now);
                return;
            }
            // why bounded: kinds are a fixed list, but stored words from other builds are not.
            if self.last_attention.len() > 256 {
                self.last_attention.clear();
            }
            self.last_attention.insert(kind, now);
        }
        alert.start(&self.checkout.channels(), now);
    }
}

impl Checkout {
    /// The channels set up now.
    fn channels(&self) -> Vec<ChannelKind> {
        let a = &self.runtime().alerts;
        let mut out = Vec::new();
        if a.wecom_url.is_some() {
            out.push(ChannelKind::Wecom);
        }
        if a.webhook_url.is_some() {
            out.push(ChannelKind::Webhook);
        }
        if !a.emails.is_empty() {
            out.push(ChannelKind::Email);
        }
        out
    }

    /// Tries each due channel of `alert` at once and saves the answers; gives when the alert
    /// is due again (`None`: finished).
    async fn deliver(&self, mut alert: Alert) -> Result<Option<i64>, CheckoutError> {
        let now = self.now();
        let runtime = self.runtime();
        let order = match &alert.order_no {
            Some(no) => self.store.order(no)?,
            None => None,
        };
        let shop_name =
            if runtime.profile.name.is_empty() { "wxcheckout" } else { runtime.profile.name.as_str() };
        let message = Message {
            alert: &alert,
            order: order.as_ref(),
            admin_url: alert.order_no.as_deref().and_then(|no| self.admin_order_url(no)),
            shop_name,
            sandbox: self.settings.sandbox,
        };
        let words = Lang::Zh.words();
        let a = &runtime.alerts;
        let due = alert.due(now);
        let wecom = async {
            match (due.contains(&ChannelKind::Wecom), &a.wecom_url) {
                (true, Some(url)) => Some(self.sender.wecom(url, &message.wecom_markdown(words)).await),
                _ => None,
            }
        };
        let webhook = async {
            match (due.contains(&ChannelKind::Webhook), &a.webhook_url, &a.webhook_secret) {
                (true, Some(url), Some(secret)) => {
                    Some(self.sender.webhook(url, secret, alert.id, now, message.webhook_json()).await)
                }
                _ => None,
            }
        };
        let email = async {
            if due.contains(&ChannelKind::Email) && !a.emails.is_empty() {
                let (subject, body) = message.email(words);
                Some(self.sender.email(&a.emails, &subject, body).await)
            } else {
                None
            }
        };
        let (wecom, webhook, email) = tokio::join!(wecom, webhook, email);
        let at = self.now();
        for (channel, sent) in
            [(ChannelKind::Wecom, wecom), (ChannelKind::Webhook, webhook), (ChannelKind::Email, email)]
        {
            if !due.contains(&channel) {
                continue;
            }
            match sent {
                Some(s) => alert.record(channel, Answer { at, ok: s.ok, text: s.text, millis: s.millis }),
                None => alert.give_up(channel, at, Lang::Zh.words().alert_channel_removed),
            }
        }
        self.store.save_alert(&alert)?;
        if alert.finished_at.is_some() {
            self.store.flush().await?;
        }
        Ok(alert.next_at())
    }

    /// The admin page of order `no`, at the shop's public address (or this machine's).
    ///
    /// why from the shop's address, not the notify URL: that one's depth differs between API
    /// versions (`wxpay/notify`, `wxpay/v3/notify`).
    fn admin_order_url(&self, no: &str) -> Option<String> {
        self.settings.shop_url().join(&format!("admin/orders/{no}")).ok().map(String::from)
    }

    /// Puts a test alert in the outbox (the admin's "send a test alert").
    pub async fn send_test_alert(&self) -> Result<u64, CheckoutError> {
        let id = self.store.next_id()?;
        let message = Lang::Zh.words().alert_test_message.to_owned();
        self.store.enqueue_alert(&Alert::new(id, self.now(), Topic::Test, None, message))?;
        self.store.flush().await?;
        Ok(id)
    }

    /// The latest alerts with their deliveries, newest first (the admin's delivery log).
    pub fn recent_alerts(&self, limit: usize) -> Result<Vec<Alert>, CheckoutError> {
        Ok(self.store.recent_alerts(limit)?)
    }

    /// Alerts not yet delivered or given up.
    pub fn alert_backlog(&self) -> usize {
        self.store.outbox_len()
    }

    /// Whether e-mail alerts can be sent (an `[smtp]` server is configured).
    pub fn can_email(&self) -> bool {
        self.sender.has_smtp()
    }
}
