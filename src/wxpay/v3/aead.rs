//! `AEAD_AES_256_GCM`, the cipher of notification resources and of `/v3/certificates`
//! entries: key = the 32 ASCII bytes of the APIv3 key, nonce = the 12 ASCII bytes of
//! `nonce`, AAD = the bytes of `associated_data`, `ciphertext` = base64(ct ‖ 16-byte tag).
//!
//! Owns the APIv3 key and both directions, because the sandbox seals what the shop opens
//! (docs/wechat-pay-v3.md#decrypting-a-notification). It must not parse what it opens.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

/// The only algorithm name v3 uses.
pub const AEAD_AES_256_GCM: &str = "AEAD_AES_256_GCM";

/// Why a resource could not be opened or sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AeadError {
    #[error("the APIv3 key is {len} bytes; it must be exactly 32 (32 ASCII characters)")]
    KeyLength { len: usize },
    #[error("unsupported algorithm {0:?} (only AEAD_AES_256_GCM)")]
    Algorithm(String),
    #[error("the nonce is {len} bytes; AEAD_AES_256_GCM takes 12")]
    NonceLength { len: usize },
    #[error("ciphertext is not base64")]
    Base64,
    #[error("ciphertext is shorter than the 16-byte tag")]
    TooShort,
    #[error(
        "authentication failed: wrong APIv3 key (reset in the merchant platform?) or altered ciphertext/associated_data/nonce"
    )]
    Authentication,
    #[error("the plaintext is not UTF-8")]
    NotUtf8,
    #[error("AES-GCM sealing failed")]
    Seal,
}

/// The merchant's APIv3 key (APIv3密钥): 32 ASCII characters, independent of the v2 key.
/// Its `Debug` never shows it; equality is constant-time.
#[derive(Clone)]
pub struct ApiV3Key([u8; 32]);

impl ApiV3Key {
    /// why a length check of its own: AES-256 needs 32 bytes, and a 16-byte key would quietly
    /// select AES-128 in some libraries; a wrong length is a configuration error to name.
    pub fn new(key: &str) -> Result<ApiV3Key, AeadError> {
        let bytes: [u8; 32] =
            key.as_bytes().try_into().map_err(|_| AeadError::KeyLength { len: key.len() })?;
        Ok(ApiV3Key(bytes))
    }

    /// The key's text, for masking in `check-config` (`config::mask`); never log it.
    pub fn expose(&self) -> &str {
        // why: built from a `&str` in `new`, so always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn cipher(&self) -> Result<LessSafeKey, AeadError> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, &self.0).map_err(|_| AeadError::KeyLength { len: self.0.len() })?;
        Ok(LessSafeKey::new(unbound))
    }
}

impl PartialEq for ApiV3Key {
    fn eq(&self, other: &ApiV3Key) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ApiV3Key {}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

fn nonce(nonce: &str) -> Result<Nonce, AeadError> {
    let bytes: [u8; NONCE_LEN] =
        nonce.as_bytes().try_into().map_err(|_| AeadError::NonceLength { len: nonce.len() })?;
    Ok(Nonce::assume_unique_for_key(bytes))
}

/// Opens base64(ct ‖ tag) into its plaintext bytes.
pub fn decrypt(
    key: &ApiV3Key,
    nonce_str: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, AeadError> {
    let mut data = STANDARD.decode(ciphertext_b64).map_err(|_| AeadError::Base64)?;
    if data.len() < AES_256_GCM.tag_len() {
        return Err(AeadError::TooShort);
    }
    let cipher = key.cipher()?;
    let plain_len = cipher
        .open_in_place(nonce(nonce_str)?, Aad::from(associated_data.as_bytes()), &mut data)
        .map_err(|_| AeadError::Authentication)?
        .len();
    data.truncate(plain_len);
    Ok(data)
}

/// Seals `plaintext` into base64(ct ‖ tag), as WeChat does (the sandbox's side).
///
/// why the caller picks the nonce: GCM breaks if a nonce repeats under one key; the sandbox
/// draws a fresh random 12-character one per message, tests pin theirs.
pub fn encrypt(
    key: &ApiV3Key,
    nonce_str: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, AeadError> {
    let cipher = key.cipher()?;
    let mut data = plaintext.to_vec();
    cipher
        .seal_in_place_append_tag(nonce(nonce_str)?, Aad::from(associated_data.as_bytes()), &mut data)
        .map_err(|_| AeadError::Seal)?;
    Ok(STANDARD.encode(data))
}

/// An encrypted `resource` of a notification, or an `encrypt_certificate` of `/v3/certificates`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub ciphertext: String,
    /// `transaction`, `refund`, `certificate`; may be empty or absent (then no AAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_data: Option<String>,
    pub nonce: String,
    /// `transaction` or `refund` in notifications; absent in `/v3/certificates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_type: Option<String>,
}

impl EncryptedResource {
    /// Seals `plaintext` into a resource with the given AAD and nonce.
    pub fn seal(
        key: &ApiV3Key,
        plaintext: &[u8],
        associated_data: &str,
        nonce_str: &str,
        original_type: Option<&str>,
    ) -> Result<EncryptedResource, AeadError> {
        Ok(EncryptedResource {
            algorithm: AEAD_AES_256_GCM.to_owned(),
            ciphertext: encrypt(key, nonce_str, associated_data, plaintext)?,
            associated_data: Some(associated_data.to_owned()),
            nonce: nonce_str.to_owned(),
            original_type: original_type.map(str::to_owned),
        })
    }

    /// Opens the resource. Only call this on a notification whose signature verified: GCM
    /// proves only that the sender knew the APIv3 key.
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<Vec<u8>, AeadError> {
        if self.algorithm != AEAD_AES_256_GCM {
            return Err(AeadError::Algorithm(self.algorithm.clone()));
        }
        decrypt(key, &self.nonce, self.associated_data.as_deref().unwrap_or(""), &self.ciphertext)
    }

    /// As [`EncryptedResource::decrypt`], for the JSON or PEM text inside.
    pub fn decrypt_to_string(&self, key: &ApiV3Key) -> Result<String, AeadError> {
        String::from_utf8(self.decrypt(key)?).map_err(|_| AeadError::NotUtf8)
    }
}
