//! The merchant's side of a v3 request: the signature message, the `Authorization` header,
//! and (for the sandbox gateway) reading that header back and checking it as WeChat does.
//!
//! Owns the five-line message and the header's grammar. It must not build request targets or
//! bodies: callers pass the exact bytes they send or received, because the signature covers
//! them byte for byte (docs/wechat-pay-v3.md#signing-a-request).

use super::keys::{KeyError, RsaPrivateKey, RsaPublicKey};
use super::{MAX_CLOCK_SKEW_SECS, SCHEME};

/// `METHOD\nREQUEST-TARGET\nTIMESTAMP\nNONCE\nBODY\n`, every line ended by `\n`, the body's
/// line too (so a GET ends `NONCE\n\n`).
///
/// why: `target` is the path plus `?query` exactly as on the wire; a decoded or re-encoded
/// query signs different bytes than the gateway checks.
pub fn request_message(method: &str, target: &str, timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m =
        Vec::with_capacity(method.len() + target.len() + timestamp.len() + nonce.len() + body.len() + 5);
    for part in [method.as_bytes(), target.as_bytes(), timestamp.as_bytes(), nonce.as_bytes(), body] {
        m.extend_from_slice(part);
        m.push(b'\n');
    }
    m
}

/// The merchant's API v3 credentials: private key, its certificate's serial number, mchid.
#[derive(Debug)]
pub struct MerchantSigner {
    mchid: String,
    serial_no: String,
    key: RsaPrivateKey,
}

impl MerchantSigner {
    /// `serial_no` is the merchant API certificate's serial in hex (`openssl x509 -serial`);
    /// it is sent uppercase.
    ///
    /// why uppercase: WeChat documents the serial as uppercase hex; a lowercase copy from a
    /// tool is the same certificate.
    pub fn new(mchid: impl Into<String>, serial_no: &str, key: RsaPrivateKey) -> MerchantSigner {
        MerchantSigner { mchid: mchid.into(), serial_no: serial_no.to_ascii_uppercase(), key }
    }

    /// As [`MerchantSigner::new`], from the text of `apiclient_key.pem`.
    pub fn from_pem(
        mchid: impl Into<String>,
        serial_no: &str,
        key_pem: &str,
    ) -> Result<MerchantSigner, KeyError> {
        Ok(MerchantSigner::new(mchid, serial_no, RsaPrivateKey::from_pem(key_pem)?))
    }

    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    pub fn serial_no(&self) -> &str {
        &self.serial_no
    }

    /// The base64 signature of any message with the merchant key (requests, JSAPI `paySign`).
    pub fn sign(&self, message: &[u8]) -> Result<String, KeyError> {
        self.key.sign_base64(message)
    }

    /// Signs one request. `timestamp` is Unix seconds, `nonce` 1–32 letters and digits
    /// (see [`super::nonce`]); `body` is empty for GET.
    pub fn authorize(
        &self,
        method: &str,
        target: &str,
        timestamp: i64,
        nonce: &str,
        body: &[u8],
    ) -> Result<Authorization, KeyError> {
        let timestamp = timestamp.to_string();
        let signature = self.sign(&request_message(method, target, &timestamp, nonce, body))?;
        Ok(Authorization {
            mchid: self.mchid.clone(),
            nonce_str: nonce.to_owned(),
            timestamp,
            serial_no: self.serial_no.clone(),
            signature,
        })
    }
}

/// The five items of an `Authorization: WECHATPAY2-SHA256-RSA2048 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    /// Unix seconds, as the decimal text that was signed.
    pub timestamp: String,
    /// The merchant API certificate's serial (not a platform serial).
    pub serial_no: String,
    /// base64 RSA signature.
    pub signature: String,
}

/// Why an `Authorization` header was refused, one variant per malformed part, in the order
/// WeChat's gateway checks them (docs/wechat-pay-v3.md#checking-a-request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    #[error("the header does not start with `WECHATPAY2-SHA256-RSA2048 `")]
    Scheme,
    #[error("item {0:?} is not name=\"value\"")]
    MalformedItem(String),
    #[error("unknown item {0:?}")]
    UnknownItem(String),
    #[error("item {0} appears twice")]
    DuplicateItem(&'static str),
    #[error("item {0} is missing")]
    MissingItem(&'static str),
    #[error("mchid {0:?} is not 1–32 digits")]
    BadMchid(String),
    #[error("nonce_str {0:?} is not 1–32 letters and digits")]
    BadNonce(String),
    #[error("timestamp {0:?} is not Unix seconds (1–10 digits, no leading zero)")]
    BadTimestamp(String),
    #[error("serial_no {0:?} is not 1–40 hex digits")]
    BadSerial(String),
    #[error("signature is not base64")]
    BadSignatureEncoding,
    #[error("timestamp is {skew} s away from now (at most 300 s allowed)")]
    StaleTimestamp { skew: i64 },
    #[error("the signature does not verify with the key of serial_no")]
    SignatureMismatch,
}

impl AuthorizationError {
    /// The `message` of WeChat's 401 `SIGN_ERROR` answer for this refusal, as merchants have
    /// seen them (docs/wechat-pay-v3.md#checking-a-request); the sandbox answers with them so
    /// clients meet the texts they will meet in production.
    pub fn wechat_message(&self) -> &'static str {
        match self {
            AuthorizationError::StaleTimestamp { .. } => {
                "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
            }
            AuthorizationError::SignatureMismatch => "签名信息错误,验签失败",
            _ => "Http头Authorization值格式错误,请参考《微信支付商户REST API签名规则》",
        }
    }
}

const ITEMS: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];

impl Authorization {
    /// The header value, items in the order of WeChat's own Java sample (any order is valid).
    pub fn to_header_value(&self) -> String {
        format!(
            "{SCHEME} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        )
    }

    /// Reads a header value: the scheme, one space, then exactly the five `name="value"` items
    /// joined by commas, in any order (SDKs use three different orders).
    pub fn parse(header: &str) -> Result<Authorization, AuthorizationError> {
        let rest = header
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(AuthorizationError::Scheme)?;
        let mut values: [Option<&str>; 5] = [None; 5];
        for item in rest.split(',') {
            let (name, value) = split_item(item)?;
            let slot = ITEMS
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| AuthorizationError::UnknownItem(name.to_owned()))?;
            if values[slot].replace(value).is_some() {
                return Err(AuthorizationError::DuplicateItem(ITEMS[slot]));
            }
        }
        let get = |i: usize| values[i].ok_or(AuthorizationError::MissingItem(ITEMS[i]));
        let auth = Authorization {
            mchid: get(0)?.to_owned(),
            nonce_str: get(1)?.to_owned(),
            timestamp: get(2)?.to_owned(),
            serial_no: get(3)?.to_owned(),
            signature: get(4)?.to_owned(),
        };
        auth.check_shapes()?;
        Ok(auth)
    }

    fn check_shapes(&self) -> Result<(), AuthorizationError> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if self.mchid.is_empty() || self.mchid.len() > 32 || !digits(&self.mchid) {
            return Err(AuthorizationError::BadMchid(self.mchid.clone()));
        }
        let n = &self.nonce_str;
        if n.is_empty() || n.len() > 32 || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AuthorizationError::BadNonce(n.clone()));
        }
        if parse_timestamp(&self.timestamp).is_none() {
            return Err(AuthorizationError::BadTimestamp(self.timestamp.clone()));
        }
        let s = &self.serial_no;
        if s.is_empty() || s.len() > 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthorizationError::BadSerial(s.clone()));
        }
        if base64_decode(&self.signature).is_none() {
            return Err(AuthorizationError::BadSignatureEncoding);
        }
        Ok(())
    }

    /// Unix seconds of `timestamp` (checked by `parse`; `None` only for a hand-built value).
    pub fn timestamp_secs(&self) -> Option<i64> {
        parse_timestamp(&self.timestamp)
    }

    /// The gateway's checks after parsing, in WeChat's order: the timestamp within 5 minutes of
    /// `now` (Unix seconds), then the signature over the request as received. The caller looks
    /// up `key` by `mchid` and `serial_no` in between (unknown serial: "商户证书序列号有误").
    pub fn verify(
        &self,
        key: &RsaPublicKey,
        method: &str,
        target: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), AuthorizationError> {
        self.check_time(now)?;
        let message = request_message(method, target, &self.timestamp, &self.nonce_str, body);
        let sig = base64_decode(&self.signature).ok_or(AuthorizationError::BadSignatureEncoding)?;
        if key.verify(&message, &sig) { Ok(()) } else { Err(AuthorizationError::SignatureMismatch) }
    }

    /// Step 3 of the gateway's checks alone (before the serial lookup).
    pub fn check_time(&self, now: i64) -> Result<(), AuthorizationError> {
        let ts =
            self.timestamp_secs().ok_or_else(|| AuthorizationError::BadTimestamp(self.timestamp.clone()))?;
        let skew = now.saturating_sub(ts);
        if skew.saturating_abs() >= MAX_CLOCK_SKEW_SECS {
            return Err(AuthorizationError::StaleTimestamp { skew });
        }
        Ok(())
    }
}

/// `name="value"` → (name, value); no quotes inside the value, nothing after the closing one.
fn split_item(item: &str) -> Result<(&str, &str), AuthorizationError> {
    let malformed = || AuthorizationError::MalformedItem(item.to_owned());
    let (name, quoted) = item.split_once('=').ok_or_else(malformed)?;
    let value = quoted.strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or_else(malformed)?;
    if name.is_empty() || value.contains('"') {
        return Err(malformed());
    }
    Ok((name, value))
}

/// Unix seconds written as WeChat writes them: 1–10 digits, no sign, no leading zero.
///
/// why so strict: the signed text is the header's text; refusing odd spellings keeps one
/// spelling per instant, so the number we compare is the one that was signed.
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let canonical = !s.is_empty()
        && s.len() <= 10
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok().filter(|v| !v.is_empty())
}
