//! WeChat's side of a signature: the `Wechatpay-*` headers on every 2xx answer and every
//! notification, checking them (the shop) and producing them (the sandbox).
//!
//! Owns the three-line message, the 5-minute window, the choice of key by `Wechatpay-Serial`
//! (a `PUB_KEY_ID_…` public key or a platform certificate's serial) and the
//! `WECHATPAY/SIGNTEST/` probe. It must not parse bodies: it checks the raw bytes received
//! (docs/wechat-pay-v3.md#verifying-wechats-signatures).

use std::collections::BTreeMap;

use super::certificate::PlatformCertificate;
use super::keys::{KeyError, RsaPrivateKey, RsaPublicKey};
use super::request::{base64_decode, parse_timestamp};
use super::{MAX_CLOCK_SKEW_SECS, SCHEME};

pub const HEADER_TIMESTAMP: &str = "Wechatpay-Timestamp";
pub const HEADER_NONCE: &str = "Wechatpay-Nonce";
pub const HEADER_SIGNATURE: &str = "Wechatpay-Signature";
pub const HEADER_SERIAL: &str = "Wechatpay-Serial";
pub const HEADER_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";

/// The prefix of the deliberately wrong signatures WeChat sends to check that merchants verify.
pub const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The prefix of a WeChat Pay public key's id, as `Wechatpay-Serial` carries it.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// `TIMESTAMP\nNONCE\nBODY\n`; an empty body (a 204) gives `TIMESTAMP\nNONCE\n\n`.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for part in [timestamp.as_bytes(), nonce.as_bytes(), body] {
        m.extend_from_slice(part);
        m.push(b'\n');
    }
    m
}

/// The four signature headers of an answer or a notification, as received or to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatpaySignature {
    /// Unix seconds, the header's text.
    pub timestamp: String,
    pub nonce: String,
    /// base64, or a `WECHATPAY/SIGNTEST/…` probe.
    pub signature: String,
    /// A platform certificate serial (hex) or a `PUB_KEY_ID_…`.
    pub serial: String,
}

impl WechatpaySignature {
    /// Reads the four headers through `header` (a case-insensitive lookup of the caller's
    /// request or response). A 2xx without them is forged, so each missing one is an error.
    pub fn from_headers<'a>(
        header: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<WechatpaySignature, VerifyError> {
        let get = |name: &'static str| {
            header(name).map(str::trim).filter(|v| !v.is_empty()).ok_or(VerifyError::MissingHeader(name))
        };
        Ok(WechatpaySignature {
            timestamp: get(HEADER_TIMESTAMP)?.to_owned(),
            nonce: get(HEADER_NONCE)?.to_owned(),
            signature: get(HEADER_SIGNATURE)?.to_owned(),
            serial: get(HEADER_SERIAL)?.to_owned(),
        })
    }

    /// The five headers to send, `Wechatpay-Signature-Type` included (some SDKs refuse a
    /// notification without it).
    pub fn headers(&self) -> [(&'static str, &str); 5] {
        [
            (HEADER_TIMESTAMP, self.timestamp.as_str()),
            (HEADER_NONCE, self.nonce.as_str()),
            (HEADER_SIGNATURE, self.signature.as_str()),
            (HEADER_SERIAL, self.serial.as_str()),
            (HEADER_SIGNATURE_TYPE, SCHEME),
        ]
    }
}

/// Why an answer or a notification was not accepted as WeChat's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    #[error("Wechatpay-Timestamp {0:?} is not Unix seconds")]
    BadTimestamp(String),
    #[error("Wechatpay-Timestamp is {skew} s away from now (less than 300 s allowed)")]
    StaleTimestamp { skew: i64 },
    #[error("no key for Wechatpay-Serial {0:?} (a rotated platform certificate? download them again)")]
    UnknownSerial(String),
    #[error("platform certificate {serial} is not in force now (valid {not_before}..={not_after})")]
    CertificateNotInForce { serial: String, not_before: i64, not_after: i64 },
    #[error("Wechatpay-Signature is a WECHATPAY/SIGNTEST/ probe")]
    SignatureProbe,
    #[error("Wechatpay-Signature is not base64")]
    SignatureEncoding,
    #[error("the signature does not verify")]
    SignatureMismatch,
}

impl VerifyError {
    /// A bad signature of any kind: the caller answers a notification 4xx/5xx and WeChat sends it
    /// again. The probe is one of them on purpose: WeChat asks that it get no special treatment.
    pub fn is_bad_signature(&self) -> bool {
        matches!(
            self,
            VerifyError::SignatureProbe | VerifyError::SignatureEncoding | VerifyError::SignatureMismatch
        )
    }
}

/// Which key verified a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedBy {
    PublicKey,
    Certificate,
}

/// WeChat Pay's keys as the shop knows them: public keys by `PUB_KEY_ID_…` (new merchants,
/// no expiry) and platform certificates by serial (older merchants); both while switching.
#[derive(Debug, Clone, Default)]
pub struct WechatPayVerifier {
    public_keys: BTreeMap<String, RsaPublicKey>,
    certificates: BTreeMap<String, PlatformCertificate>,
}

impl WechatPayVerifier {
    pub fn new() -> WechatPayVerifier {
        WechatPayVerifier::default()
    }

    /// Adds WeChat Pay's public key under its id (`PUB_KEY_ID_…`, shown beside it in the
    /// merchant platform).
    pub fn add_public_key(&mut self, id: &str, key: RsaPublicKey) {
        self.public_keys.insert(id.to_owned(), key);
    }

    /// As [`WechatPayVerifier::add_public_key`], from `pub_key.pem`.
    pub fn add_public_key_pem(&mut self, id: &str, pem: &str) -> Result<(), KeyError> {
        self.add_public_key(id, RsaPublicKey::from_pem(pem)?);
        Ok(())
    }

    /// Adds (or replaces) a platform certificate under its serial.
    pub fn add_certificate(&mut self, cert: PlatformCertificate) {
        self.certificates.insert(cert.serial_no().to_owned(), cert);
    }

    /// Drops certificates expired at `now`; returns how many were dropped.
    pub fn remove_expired(&mut self, now: i64) -> usize {
        let before = self.certificates.len();
        self.certificates.retain(|_, c| c.not_after() >= now);
        before - self.certificates.len()
    }

    /// The serials/ids this verifier holds (for logs and the certificate refresher).
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.public_keys.keys().chain(self.certificates.keys()).map(String::as_str)
    }

    /// Checks a signature over the raw `body` at `now` (Unix seconds), in the SDKs' order:
    /// probe, time window, key by serial, signature.
    pub fn verify(&self, sig: &WechatpaySignature, body: &[u8], now: i64) -> Result<VerifiedBy, VerifyError> {
        if sig.signature.starts_with(SIGNTEST_PREFIX) {
            return Err(VerifyError::SignatureProbe);
        }
        let ts = parse_timestamp(&sig.timestamp)
            .ok_or_else(|| VerifyError::BadTimestamp(sig.timestamp.clone()))?;
        let skew = now.saturating_sub(ts);
        if skew.saturating_abs() >= MAX_CLOCK_SKEW_SECS {
            return Err(VerifyError::StaleTimestamp { skew });
        }
        let (key, by) = self.key_for(&sig.serial, now)?;
        let raw = base64_decode(&sig.signature).ok_or(VerifyError::SignatureEncoding)?;
        if key.verify(&response_message(&sig.timestamp, &sig.nonce, body), &raw) {
            Ok(by)
        } else {
            Err(VerifyError::SignatureMismatch)
        }
    }

    fn key_for(&self, serial: &str, now: i64) -> Result<(&RsaPublicKey, VerifiedBy), VerifyError> {
        if serial.starts_with(PUBLIC_KEY_ID_PREFIX) {
            return match self.public_keys.get(serial) {
                Some(key) => Ok((key, VerifiedBy::PublicKey)),
                None => Err(VerifyError::UnknownSerial(serial.to_owned())),
            };
        }
        // why uppercase: serials are hex; WeChat sends uppercase, a proxy or tool may not.
        let cert = self
            .certificates
            .get(&serial.to_ascii_uppercase())
            .ok_or_else(|| VerifyError::UnknownSerial(serial.to_owned()))?;
        if !cert.is_valid_at(now) {
            return Err(VerifyError::CertificateNotInForce {
                serial: cert.serial_no().to_owned(),
                not_before: cert.not_before(),
                not_after: cert.not_after(),
            });
        }
        Ok((cert.public_key(), VerifiedBy::Certificate))
    }
}

/// Signs answers and notifications as WeChat does (the sandbox's "WeChat Pay" key), under a
/// `PUB_KEY_ID_…` or a certificate serial.
#[derive(Debug)]
pub struct PlatformSigner {
    serial: String,
    key: RsaPrivateKey,
}

impl PlatformSigner {
    pub fn new(serial: impl Into<String>, key: RsaPrivateKey) -> PlatformSigner {
        PlatformSigner { serial: serial.into(), key }
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The signature headers for `body` at `timestamp` (Unix seconds) with `nonce`.
    pub fn sign(&self, body: &[u8], timestamp: i64, nonce: &str) -> Result<WechatpaySignature, KeyError> {
        let timestamp = timestamp.to_string();
        let signature = self.key.sign_base64(&response_message(&timestamp, nonce, body))?;
        Ok(WechatpaySignature { timestamp, nonce: nonce.to_owned(), signature, serial: self.serial.clone() })
    }
}
