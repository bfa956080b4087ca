//! The settings the merchant changes on the web while the shop runs (shop identity, alert
//! channels, order lifetime): read by every request from memory, saved durably, applied at
//! once. Credentials are not among them (see `domain::shop`).

use std::sync::Arc;
use std::time::Duration;

use crate::domain::shop::{RuntimeSettings, ShopProfile};

use super::catalogue::NewImage;
use super::{Checkout, CheckoutError};
use crate::store::StoreError;

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
        Ok(self.change_stored(change).await?)
    }

    /// `change_runtime`, failing only as the store does.
    async fn change_stored<T>(
        &self,
        change: impl FnOnce(&mut RuntimeSettings) -> T,
    ) -> Result<T, StoreError> {
        // why one writer at a time over read-change-save-flush: two forms saved at once must
        // not undo each other. why in effect only after the flush: a change that may not
        // survive a restart (a rotated webhook secret the merchant never saw) must not be
        // used either. Readers never wait for the writer.
        let _writer = self.runtime_writer.lock().await;
        let mut next = RuntimeSettings::clone(&self.runtime());
        let out = change(&mut next);
        self.store.put_runtime_settings(&next)?;
        self.store.flush().await?;
        *self.runtime.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next.clone());
        tracing::info!(
            name = %next.profile.name,
            order_ttl_minutes = ?next.order_ttl_minutes,
            "shop settings changed"
        );
        Ok(out)
    }

    /// Changes who the shop is and the order lifetime (the merchant's settings form): the
    /// profile's text as `profile` says (its logo is not read), the logo as `logo` says. The
    /// alert channels are left as they are.
    ///
    /// why the logo's bytes first, under their ETag: the settings never name a logo that is
    /// not stored yet, and an older ETag keeps serving its own bytes; the bytes no setting
    /// names go last, once the settings are saved.
    pub async fn change_shop(
        &self,
        profile: ShopProfile,
        order_ttl_minutes: Option<u32>,
        logo: NewImage,
    ) -> Result<(), StoreError> {
        if let NewImage::Replace { bytes, image, .. } = &logo {
            self.store.put_logo_bytes(&image.etag, bytes)?;
        }
        self.change_stored(|s| {
            let kept = s.profile.logo.take();
            s.profile = ShopProfile {
                logo: match &logo {
                    NewImage::Keep => kept,
                    NewImage::Remove => None,
                    NewImage::Replace { image, .. } => Some(image.clone()),
                },
                ..profile
            };
            s.order_ttl_minutes = order_ttl_minutes;
        })
        .await?;
        if !matches!(logo, NewImage::Keep) {
            let named = self.runtime().profile.logo.as_ref().map(|l| l.etag.clone());
            self.store.keep_only_logo(named.as_deref())?;
            self.store.flush().await?;
        }
        Ok(())
    }

    /// The logo's bytes and content type, when the merchant uploaded one.
    pub fn logo(&self) -> Result<Option<(String, String, Vec<u8>)>, CheckoutError> {
        let Some(image) = self.runtime().profile.logo.clone() else {
            return Ok(None);
        };
        Ok(self.store.logo_bytes(&image.etag)?.map(|b| (image.content_type, image.etag, b)))
    }
}
