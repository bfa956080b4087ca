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
/// Finished alerts moved to the log in one transaction at most.
const MOVED_AT_ONCE: usize = 32;
/// Pending alerts counted for the page at most (sled counts by walking the tree).
pub const BACKLOG_COUNTED: usize = 10_000;

pub(super) fn key(id: u64) -> [u8; 8] {
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
        self.save_alerts(std::slice::from_ref(alert))
    }

    /// `save_alert` for many: the finished ones move to the log in one transaction.
    ///
    /// why together: every paid order raises an alert, and an alert with no channel to go to
    /// is finished as soon as it is read; a sled transaction stops every other read and write
    /// while it runs, so a burst of payments is better moved in one than in hundreds.
    pub fn save_alerts(&self, alerts: &[Alert]) -> Result<(), StoreError> {
        let mut finished = Vec::new();
        for alert in alerts {
            let value = codec::encode(alert)?;
            match alert.finished_at {
                Some(at) => finished.push((key(alert.id), keys::attention(at, alert.id), value)),
                None => {
                    self.outbox.insert(key(alert.id), value)?;
                }
            }
        }
        if finished.is_empty() {
            return Ok(());
        }
        // why in slices: the transaction stops every other read and write while it runs, and
        // a deliverer catching up may finish a thousand alerts at once.
        for slice in finished.chunks(MOVED_AT_ONCE) {
            let _changing = self.changing();
            sled::Transactional::<StoreError>::transaction(
                &(&self.outbox, &self.alert_log),
                |(outbox, log)| {
                    for (key, log_key, value) in slice {
                        outbox.remove(key)?;
                        log.insert(log_key.as_slice(), value.as_slice())?;
                    }
                    Ok(())
                },
            )?;
        }
        // why not at every save: finding the line walks `LOG_KEPT` keys, which cost more than
        // the save itself; the log holds at most `CUT_EVERY` saves more between cuts.
        let saves = u32::try_from(finished.len()).unwrap_or(CUT_EVERY);
        let before = self.alert_saves.fetch_add(saves, std::sync::atomic::Ordering::Relaxed);
        if before / CUT_EVERY == before.wrapping_add(saves) / CUT_EVERY && before != 0 {
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
