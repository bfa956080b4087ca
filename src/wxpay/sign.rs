//! API v2 signatures: MD5 and HMAC-SHA256 over every non-empty field but `sign`.
//!
//! Owns the signing string, the two digests and verification. It must not know which
//! message it signs: callers pass the whole field set they sent or received, unknown
//! fields included, because WeChat adds fields and they are part of the signature.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::xml::Fields;

/// The two v2 signature algorithms, as named in `sign_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SignType {
    #[serde(rename = "MD5")]
    Md5,
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
}

impl SignType {
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// The exact spelling WeChat uses; anything else is not a sign type.
    pub fn parse(s: &str) -> Option<SignType> {
        match s {
            "MD5" => Some(SignType::Md5),
            "HMAC-SHA256" => Some(SignType::HmacSha256),
            _ => None,
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The merchant's API v2 key. Its `Debug` never shows it, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Why a received message's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the message carries no sign field")]
    Missing,
    #[error("unknown sign_type {0:?}")]
    UnknownSignType(String),
    #[error("the signature does not match")]
    Mismatch,
    /// An API v3 answer whose `Wechatpay-*` headers did not verify (missing, stale, unknown
    /// key, wrong signature): the same outcome as a bad v2 `sign`, with v3's reason.
    #[error("v3 answer signature: {0}")]
    V3(super::v3::VerifyError),
}

/// `k1=v1&k2=v2…&key=API_KEY` over the non-empty fields but `sign`, in byte order of the keys.
///
/// why: the result contains the API key; it must never be logged or returned.
fn signing_string<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>, key: &ApiKey) -> String {
    let mut s = String::with_capacity(256);
    for (k, v) in pairs.filter(|(k, v)| *k != "sign" && !v.is_empty()) {
        s.push_str(k);
        s.push('=');
        s.push_str(v);
        s.push('&');
    }
    s.push_str("key=");
    s.push_str(key.expose());
    s
}

fn digest_hex(input: &str, key: &ApiKey, sign_type: SignType) -> String {
    let bytes: Vec<u8> = match sign_type {
        SignType::Md5 => Md5::digest(input.as_bytes()).to_vec(),
        SignType::HmacSha256 => {
            // why: HMAC accepts keys of any length, so new_from_slice cannot fail here.
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose().as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    hex::encode_upper(bytes)
}

/// The uppercase hex signature of `fields` (its `sign` field, if any, is ignored).
pub fn sign(fields: &Fields, key: &ApiKey, sign_type: SignType) -> String {
    sign_pairs(fields.iter(), key, sign_type)
}

/// Signs key/value pairs given in byte order of the keys (a `BTreeMap` iteration, say).
pub fn sign_pairs<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    key: &ApiKey,
    sign_type: SignType,
) -> String {
    digest_hex(&signing_string(pairs, key), key, sign_type)
}

/// The algorithm a received message was signed with: its `sign_type` field when present,
/// else the length of its `sign` (32 hex = MD5, 64 = HMAC-SHA256), else `configured`.
///
/// why: WeChat omits `sign_type` on payment notifications of HMAC-SHA256 orders.
pub fn detect_sign_type(fields: &Fields, configured: SignType) -> Result<SignType, SignError> {
    if let Some(name) = fields.get("sign_type").filter(|v| !v.is_empty()) {
        return SignType::parse(name).ok_or_else(|| SignError::UnknownSignType(name.to_owned()));
    }
    Ok(match fields.get("sign").map(str::len) {
        Some(32) => SignType::Md5,
        Some(64) => SignType::HmacSha256,
        _ => configured,
    })
}

/// Checks the `sign` of a received message over every field it carries, in constant time.
/// Returns the algorithm that verified. A message without `sign` is forged.
pub fn verify(fields: &Fields, key: &ApiKey, configured: SignType) -> Result<SignType, SignError> {
    let received = fields.get("sign").filter(|s| !s.is_empty()).ok_or(SignError::Missing)?;
    let sign_type = detect_sign_type(fields, configured)?;
    let expected = sign(fields, key, sign_type);
    if bool::from(expected.as_bytes().ct_eq(received.as_bytes())) {
        Ok(sign_type)
    } else {
        Err(SignError::Mismatch)
    }
}

/// Adds `sign` (and `sign_type` when `with_sign_type`) to an outgoing message.
pub fn sign_in_place(fields: &mut Fields, key: &ApiKey, sign_type: SignType, with_sign_type: bool) {
    fields.remove("sign");
    if with_sign_type {
        fields.insert("sign_type", sign_type.as_str());
    }
    let s = sign(fields, key, sign_type);
    fields.insert("sign", s);
}
