//! Opening a v3 notification as the shop receives it: the `Wechatpay-*` headers verified over
//! the raw body with the keys the client holds (the timestamp within 5 minutes), then the
//! envelope read and its `resource` decrypted with the APIv3 key into the caller's type
//! (`Transaction` for `TRANSACTION.SUCCESS`, `RefundNotification` for `REFUND.*`).
//!
//! Owns only that opening; what the notification means is the checkout's. Nothing here
//! answers WeChat.

use serde::de::DeserializeOwned;

use super::super::aead::AeadError;
use super::super::messages::NotificationEnvelope;
use super::super::response::{VerifyError, WechatpaySignature};
use super::V3Client;
use super::certs::WechatPayKeys;

/// Why a notification was not opened; each means "not from WeChat, or not for us": nothing
/// in it may be applied.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// Missing headers, a stale timestamp, an unknown key or a signature that does not verify.
    #[error("signature: {0}")]
    Signature(#[from] VerifyError),
    /// A body that is not a notification envelope, or a resource that is not the type asked.
    #[error("not a notification: {0}")]
    Malformed(String),
    /// A resource that does not open with our APIv3 key.
    #[error("cannot decrypt the resource: {0}")]
    Decrypt(#[from] AeadError),
}

/// A verified, decrypted notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<T> {
    pub envelope: NotificationEnvelope,
    pub resource: T,
}

impl V3Client {
    /// Verifies and opens the notification `body` whose request headers `header` looks up
    /// (case-insensitively). In certificate mode an unknown serial fetches the certificates
    /// once, as for answers: WeChat signs with a new certificate a day after listing it (at
    /// most once a minute: a forger can name any serial).
    pub async fn open_notification<'h, T: DeserializeOwned>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> Result<Opened<T>, NotificationError> {
        let sig = WechatpaySignature::from_headers(header)?;
        let now = self.now();
        match self.read_keys(WechatPayKeys::verifier).verify(&sig, body, now) {
            Ok(_) => {}
            Err(VerifyError::UnknownSerial(serial)) if self.certificate_mode() => {
                // why keep the unknown serial as the error: a failed download must not read
                // as a verified notification, and the serial is what the log should show.
                if !matches!(self.fetch_for_unknown_serial().await, Ok(true)) {
                    return Err(VerifyError::UnknownSerial(serial).into());
                }
                self.read_keys(WechatPayKeys::verifier).verify(&sig, body, now)?;
            }
            Err(e) => return Err(e.into()),
        }
        let envelope: NotificationEnvelope =
            serde_json::from_slice(body).map_err(|e| NotificationError::Malformed(e.to_string()))?;
        let plain = envelope.resource.decrypt(&self.config().api_v3_key)?;
        let resource =
            serde_json::from_slice(&plain).map_err(|e| NotificationError::Malformed(e.to_string()))?;
        Ok(Opened { envelope, resource })
    }
}
