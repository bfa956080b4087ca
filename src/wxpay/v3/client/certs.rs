//! Which keys verify WeChat's answers, as the client holds them: a fixed WeChat Pay public
//! key, or platform certificates downloaded from `/v3/certificates` and refreshed before they
//! expire (docs/wechat-pay-v3.md#the-key-that-signs-wechats-answers).
//!
//! Owns the decision "fetch certificates now?". It must not do HTTP: the client fetches and
//! hands the opened certificates in.

use super::super::certificate::PlatformCertificate;
use super::super::keys::RsaPublicKey;
use super::super::response::WechatPayVerifier;

/// WeChat asks platform-certificate merchants to download the list at least every 12 hours.
pub const REFRESH_EVERY_SECS: i64 = 12 * 3600;

/// A certificate is replaced in the list 24 hours before it is used; fetching again in the
/// last day of the newest one's validity finds its successor.
pub const REFRESH_BEFORE_EXPIRY_SECS: i64 = 24 * 3600;

/// The keys the client verifies with.
#[derive(Debug, Clone)]
pub enum WechatPayKeys {
    /// 微信支付公钥 mode: one key under its `PUB_KEY_ID_…`, no expiry, nothing to fetch.
    PublicKey { id: String, key: RsaPublicKey },
    /// Platform-certificate mode: what `/v3/certificates` last gave.
    Certificates(CertificateCache),
}

/// Platform certificates and when they were fetched. Cheap to clone; the caller may hold one
/// across restarts of a client or share it.
#[derive(Debug, Clone, Default)]
pub struct CertificateCache {
    certificates: Vec<PlatformCertificate>,
    fetched_at: Option<i64>,
}

impl CertificateCache {
    pub fn new() -> CertificateCache {
        CertificateCache::default()
    }

    /// Whether to fetch the list before verifying at `now` (Unix seconds): never fetched,
    /// fetched over 12 h ago, or no certificate left that is good for another day.
    pub fn needs_refresh(&self, now: i64) -> bool {
        let Some(at) = self.fetched_at else { return true };
        let longest = self.certificates.iter().map(PlatformCertificate::not_after).max();
        now.saturating_sub(at) >= REFRESH_EVERY_SECS
            || longest.is_none_or(|end| end.saturating_sub(now) < REFRESH_BEFORE_EXPIRY_SECS)
    }

    /// Replaces the list with a fresh download at `now`, dropping expired entries.
    pub fn replace(&mut self, certificates: Vec<PlatformCertificate>, now: i64) {
        self.certificates = certificates.into_iter().filter(|c| c.not_after() >= now).collect();
        self.fetched_at = Some(now);
    }

    pub fn certificates(&self) -> &[PlatformCertificate] {
        &self.certificates
    }

    pub fn fetched_at(&self) -> Option<i64> {
        self.fetched_at
    }

    /// The newest certificate (the longest valid), the one to encrypt sensitive fields with.
    pub fn newest(&self) -> Option<&PlatformCertificate> {
        self.certificates.iter().max_by_key(|c| c.not_after())
    }
}

impl WechatPayKeys {
    /// A verifier holding these keys.
    pub fn verifier(&self) -> WechatPayVerifier {
        let mut v = WechatPayVerifier::new();
        match self {
            WechatPayKeys::PublicKey { id, key } => v.add_public_key(id, key.clone()),
            WechatPayKeys::Certificates(cache) => {
                for c in cache.certificates() {
                    v.add_certificate(c.clone());
                }
            }
        }
        v
    }

    /// What goes in the request header `Wechatpay-Serial`: the public key's id, or the newest
    /// certificate's serial (SDKs send it; it tells WeChat which key we verify with).
    pub fn serial_for_requests(&self) -> Option<String> {
        match self {
            WechatPayKeys::PublicKey { id, .. } => Some(id.clone()),
            WechatPayKeys::Certificates(cache) => cache.newest().map(|c| c.serial_no().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_never_filled_or_filled_with_nothing_asks_for_a_download() {
        let mut cache = CertificateCache::new();
        assert!(cache.needs_refresh(1_000));
        cache.replace(Vec::new(), 1_000);
        assert!(cache.needs_refresh(1_001), "no certificate is good for another day");
        assert_eq!(cache.fetched_at(), Some(1_000));
    }
}
