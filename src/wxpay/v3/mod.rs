//! `wxpay::v3`: the cryptography and message formats of WeChat Pay API v3 (JSON, RSA), as a
//! pure library beside v2.
//!
//! Owns request signing and the `Authorization` header (`request`), WeChat's answer and
//! notification signatures and the keys that verify them (`response`, `certificate`), the
//! AES-256-GCM of notification resources (`aead`), the JSAPI `paySign` (`jsapi`), RSA keys
//! (`keys`) and the JSON types (`messages`). Those must not do HTTP, read configuration or
//! know orders: callers hand them exact bytes and the current time, so they are pinned to the
//! vectors of docs/wechat-pay-v3.md and used alike by the shop and by the sandbox gateway.
//! `client` is the one part that talks HTTP: the shop's v3 client, built on the others.

pub mod aead;
pub mod certificate;
pub mod client;
pub mod jsapi;
pub mod keys;
pub mod messages;
pub mod request;
pub mod response;

#[cfg(test)]
mod tests;

pub use aead::{AeadError, ApiV3Key, EncryptedResource};
pub use certificate::{CertificateError, PlatformCertificate};
pub use client::{V3Client, V3ClientConfig};
pub use jsapi::JsapiPayParams;
pub use keys::{GeneratedKeyPair, KeyError, RsaPrivateKey, RsaPublicKey, generate_key_pair};
pub use request::{Authorization, AuthorizationError, MerchantSigner};
pub use response::{PlatformSigner, VerifiedBy, VerifyError, WechatPayVerifier, WechatpaySignature};

/// The scheme of `Authorization` and the value of `Wechatpay-Signature-Type`.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// A signature's timestamp must be less than this many seconds from now, either way.
///
/// why "less than": the official Go and Java SDKs refuse at exactly 5 minutes (`>= 300`).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// 32 uppercase hex characters from the system's CSPRNG, the shape of the official examples'
/// `nonce_str` (also fine for `Wechatpay-Nonce` and the JSAPI `nonceStr`).
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    // why: the system RNG only fails if the OS has none; falling back to zeros would repeat nonces.
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator is available");
    hex::encode_upper(bytes)
}

/// 12 random letters and digits for an AES-GCM `resource.nonce` (12 ASCII bytes, as WeChat's).
pub fn resource_nonce() -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 12];
    // why: as in `nonce`; a repeated GCM nonce under one key would break the cipher.
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator is available");
    // why modulo bias is harmless here: the nonce must be unique, not uniform.
    bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}
