//! The alert outbox: an alert is written in the same transaction as the event that causes it
//! (`put_event`), so a state change and its alert are durable together or not at all. The
//! deliverer (`checkout::alerts`) takes alerts from here, records each try on the alert, and
//! moves a finished alert to the delivery log, which keeps the latest `LOG_KEPT`.

use sled::transaction::TransactionalTree;

use crate::domain::alert::Alert;

use super::{Store, StoreError, TxResult, abort, codec};

/// Finished alerts kept for the admin's delivery log.
pub const LOG_KEPT: usize = 500;

fn key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Writes `alert` into the outbox inside a transaction.
pub(super) fn enqueue_in(outbox: &TransactionalTree, alert: &Alert) -> TxResult<()> {
    outbox.insert(&key(alert.id), codec::encode(alert).map_err(abort)?)?;
    Ok(())
}

impl Store {
    /// Writes an alert that no order event causes (the merchant's test alert).
    pub fn enqueue_alert(&self, alert: &Alert) -> Result<(), StoreError> {
        self.outbox.insert(key(alert.id), codec::encode(alert)?)?;
        self.outbox_signal.notify_one();
        Ok(())
    }

    /// Alerts not yet finished, oldest first, at most `limit`.
    pub fn pending_alerts(&self, limit: usize) -> Result<Vec<Alert>, StoreError> {
        self.outbox.iter().values().take(limit).map(|v| Ok(codec::decode(&v?)?)).collect()
    }

    /// Alerts not yet finished (counts them: for pages, not for loops).
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Whether no alert waits (cheap: looks at the first key).
    pub fn outbox_is_empty(&self) -> bool {
        self.outbox.is_empty()
    }

    /// Saves an alert after a try: a finished one leaves the outbox for the log, in one
    /// transaction, and the log is cut to its latest `LOG_KEPT`.
    pub fn save_alert(&self, alert: &Alert) -> Result<(), StoreError> {
        let value = codec::encode(alert)?;
        if alert.finished_at.is_none() {
            self.outbox.insert(key(alert.id), value)?;
            return Ok(());
        }
        sled::Transactional::<StoreError>::transaction(&(&self.outbox, &self.alert_log), |(outbox, log)| {
            outbox.remove(&key(alert.id))?;
            log.insert(&key(alert.id), value.as_slice())?;
            Ok(())
        })?;
        while self.alert_log.len() > LOG_KEPT {
            if self.alert_log.pop_min()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// The latest alerts, pending and finished, newest first.
    pub fn recent_alerts(&self, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let mut all: Vec<Alert> = Vec::new();
        for tree in [&self.outbox, &self.alert_log] {
            for v in tree.iter().values().rev().take(limit) {
                all.push(codec::decode(&v?)?);
            }
        }
        all.sort_by_key(|a| std::cmp::Reverse(a.id));
        all.truncate(limit);
        Ok(all)
    }

    /// Resolves when a change put an alert in the outbox since the last call (the
    /// deliverer's wake-up; it also looks on a timer, for retries).
    ///
    /// why not sled's `watch_prefix`: its subscriber queue is bounded and a writer blocks
    /// when it is full, so a busy deliverer would stall payment notifications.
    pub async fn outbox_written(&self) {
        self.outbox_signal.notified().await;
    }
}
