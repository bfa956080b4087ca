//! The alert outbox: an alert is written in the same transaction as the event that causes it
//! (`put_event`), so a state change and its alert are durable together or not at all. The
//! deliverer (`checkout::alerts`) reads the alerts it does not know yet, records each try on the
//! alert, and moves a finished alert to the delivery log, kept in the order alerts finished
//! (so one given up after a day of retries is among the latest there), the latest `LOG_KEPT`.

use sled::transaction::TransactionalTree;

use crate::domain::alert::Alert;

use super::{Store, StoreError, TxResult, abort, codec, keys};

/// Finished alerts kept for the admin's delivery log.
pub const LOG_KEPT: usize = 500;
/// Finished alerts saved between two cuts of the log to its latest `LOG_KEPT`.
const CUT_EVERY: u32 = 32;
/// Pending alerts counted for the page at most (sled counts by walking the tree).
pub const BACKLOG_COUNTED: usize = 10_000;

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

    /// The ids of every pending alert, oldest first (keys only; at most `BACKLOG_COUNTED`).
    pub fn outbox_ids(&self) -> Result<Vec<u64>, StoreError> {
        self.outbox
            .iter()
            .keys()
            .take(BACKLOG_COUNTED)
            .map(|k| Ok(k?.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0)))
            .collect()
    }

    /// The pending alert `id` as stored now (`None`: finished, or never written).
    pub fn pending_alert(&self, id: u64) -> Result<Option<Alert>, StoreError> {
        Ok(self.outbox.get(key(id))?.map(|v| codec::decode(&v)).transpose()?)
    }

    /// Alerts not yet finished, counted up to `BACKLOG_COUNTED`.
    pub fn outbox_len(&self) -> usize {
        self.outbox.iter().keys().take(BACKLOG_COUNTED).count()
    }

    /// Saves an alert after a try: a finished one leaves the outbox for the log, in one
    /// transaction, and the log is cut to its latest `LOG_KEPT`.
    pub fn save_alert(&self, alert: &Alert) -> Result<(), StoreError> {
        let value = codec::encode(alert)?;
        let Some(finished_at) = alert.finished_at else {
            self.outbox.insert(key(alert.id), value)?;
            return Ok(());
        };
        let log_key = keys::attention(finished_at, alert.id);
        let _changing = self.changing();
        sled::Transactional::<StoreError>::transaction(&(&self.outbox, &self.alert_log), |(outbox, log)| {
            outbox.remove(&key(alert.id))?;
            log.insert(log_key.as_slice(), value.as_slice())?;
            Ok(())
        })?;
        // why not at every save: finding the line walks `LOG_KEPT` keys, which cost more than
        // the save itself; the log holds at most `CUT_EVERY` entries more between cuts.
        if self.alert_saves.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % CUT_EVERY != 0 {
            return Ok(());
        }
        // why by walking from the newest: the log holds about `LOG_KEPT` entries, so this
        // reads that many keys at most, and two savers at once cut to the same line.
        if let Some(oldest_kept) = self.alert_log.iter().keys().rev().nth(LOG_KEPT - 1) {
            let oldest_kept = oldest_kept?;
            for old in self.alert_log.range(..oldest_kept).keys() {
                self.alert_log.remove(old?)?;
            }
        }
        Ok(())
    }

    /// The latest alerts: pending ones first (newest first), then finished ones by when they
    /// finished, newest first. Unreadable entries are left out.
    pub fn recent_alerts(&self, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let mut all: Vec<Alert> = Vec::new();
        for v in self.outbox.iter().values().rev().take(limit) {
            if let Ok(alert) = codec::decode(&v?) {
                all.push(alert);
            }
        }
        for v in self.alert_log.iter().values().rev().take(limit.saturating_sub(all.len())) {
            if let Ok(alert) = codec::decode(&v?) {
                all.push(alert);
            }
        }
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
