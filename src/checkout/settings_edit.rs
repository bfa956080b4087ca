//! The settings the merchant changes on the web while the shop runs (shop identity, alert
//! channels, order lifetime): read by every request from memory, saved durably, applied at
//! once. Credentials are not among them (see `domain::shop`).

use std::sync::Arc;
use std::time::Duration;

use crate::domain::shop::RuntimeSettings;

use super::{Checkout, CheckoutError};

impl Checkout {
    /// The runtime settings in effect (a cheap handle; a later change does not alter it).
    pub fn runtime(&self) -> Arc<RuntimeSettings> {
        Arc::clone(&self.runtime.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// How long an order may stay unpaid: the merchant's setting, else the configuration's.
    pub fn order_ttl(&self) -> Duration {
        match self.runtime().order_ttl_minutes {
            Some(m) => Duration::from_secs(u64::from(m) * 60),
            None => self.settings.order_ttl,
        }
    }

    /// Changes the runtime settings: `change` edits a copy, which is saved, made durable and
    /// then put in effect. Two changes at once apply one after the other, neither lost.
    pub async fn change_runtime<T>(
        &self,
        change: impl FnOnce(&mut RuntimeSettings) -> T,
    ) -> Result<T, CheckoutError> {
        let (out, next) = {
            // why one lock over read-change-write: two forms saved at once must not undo
            // each other; the flush happens after, outside the lock.
            let mut current = self.runtime.write().unwrap_or_else(|p| p.into_inner());
            let mut next = RuntimeSettings::clone(&current);
            let out = change(&mut next);
            self.store.put_runtime_settings(&next)?;
            *current = Arc::new(next.clone());
            (out, next)
        };
        self.store.flush().await?;
        tracing::info!(
            name = %next.profile.name,
            order_ttl_minutes = ?next.order_ttl_minutes,
            "shop settings changed"
        );
        Ok(out)
    }

    /// The logo's bytes and content type, when the merchant uploaded one.
    pub fn logo(&self) -> Result<Option<(String, String, Vec<u8>)>, CheckoutError> {
        let Some(image) = self.runtime().profile.logo.clone() else {
            return Ok(None);
        };
        Ok(self.store.logo_bytes()?.map(|b| (image.content_type, image.etag, b)))
    }
}
