//! Delivering alerts from the outbox: at least once, retried with backoff for a day, never in
//! the way of a notification's answer (a task of its own; the use cases only write the alert
//! in their transaction). See docs/alerts.md.
//!
//! An alert goes out only after the change that caused it is durable: the deliverer flushes
//! before each batch, so the merchant is never told of a payment a crash could undo.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::alerts::message::Message;
use crate::domain::alert::{Alert, Answer, ChannelKind, Topic};
use crate::web::Lang;

use super::{Checkout, CheckoutError};

/// Alerts delivered at once (each may wait up to `alerts::TIMEOUT` on a slow receiver).
const PARALLEL: usize = 8;
/// How often the outbox is looked at for retries when nothing wakes the deliverer.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Starts the deliverer; it stops at `shutdown` (an alert cut off mid-try is tried again
/// after the next start, with the same idempotency key).
pub fn spawn(checkout: Arc<Checkout>, shutdown: rocket::Shutdown) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        let busy: Arc<Mutex<HashSet<u64>>> = Arc::default();
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            if let Err(e) = start_due(&checkout, &busy, &mut tasks).await {
                super::FAILED.note("alerts: reading the outbox", || e.to_string());
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = checkout.store.outbox_written() => {}
                _ = tokio::time::sleep(LOOK_EVERY) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tasks.abort_all();
        tracing::debug!("alert deliverer stopped");
    })
}

/// Starts a task for each alert with a delivery due, up to `PARALLEL` at once.
async fn start_due(
    checkout: &Arc<Checkout>,
    busy: &Arc<Mutex<HashSet<u64>>>,
    tasks: &mut JoinSet<()>,
) -> Result<(), CheckoutError> {
    if checkout.store.outbox_is_empty() {
        return Ok(());
    }
    let now = checkout.now();
    let mut flushed = false;
    // why the first 1000: a bounded read every look; a backlog beyond it (a receiver down for
    // hours under heavy sales) is reached as the older alerts finish or are given up.
    for mut alert in checkout.store.pending_alerts(1000)? {
        if tasks.len() >= PARALLEL {
            break;
        }
        if !flushed && (alert.deliveries.is_empty() || !alert.due(now).is_empty()) {
            // why: announce only what a crash cannot undo (the use case flushes too; this
            // covers a change still between its commit and its flush).
            checkout.store.flush().await?;
            flushed = true;
        }
        let taken = busy.lock().unwrap_or_else(|p| p.into_inner()).contains(&alert.id);
        if taken {
            continue;
        }
        if alert.deliveries.is_empty() {
            alert.start(&checkout.channels(), now);
            checkout.store.save_alert(&alert)?;
            if alert.finished_at.is_some() {
                continue;
            }
        }
        if alert.due(now).is_empty() {
            continue;
        }
        busy.lock().unwrap_or_else(|p| p.into_inner()).insert(alert.id);
        let (checkout, busy) = (Arc::clone(checkout), Arc::clone(busy));
        tasks.spawn(async move {
            let id = alert.id;
            if let Err(e) = checkout.deliver(alert).await {
                super::FAILED.note("alerts: delivering", || e.to_string());
            }
            busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        });
    }
    Ok(())
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

    /// Tries each due channel of `alert` at once and saves the answers.
    async fn deliver(&self, mut alert: Alert) -> Result<(), CheckoutError> {
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
                None => alert.give_up(channel, at, Lang::En.words().alert_channel_removed),
            }
        }
        self.store.save_alert(&alert)?;
        if alert.finished_at.is_some() {
            self.store.flush().await?;
        }
        Ok(())
    }

    /// The admin page of order `no`, at the shop's public address (or this machine's).
    fn admin_order_url(&self, no: &str) -> Option<String> {
        let base = url::Url::parse(&self.settings.notify_url).ok()?;
        base.join(&format!("../admin/orders/{no}")).ok().map(String::from)
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
