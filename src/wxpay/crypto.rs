//! The refund notification's `req_info` cipher: AES-256-ECB with PKCS#7 padding, base64.
//!
//! Owns the key derivation (the 32 ASCII bytes of the lowercase hex MD5 of the API key)
//! and both directions, because the sandbox encrypts what the client decrypts.

use aes::Aes256;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use super::sign::ApiKey;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("req_info is not base64")]
    Base64,
    #[error("req_info is not a whole number of AES blocks")]
    Length,
    #[error("req_info does not decrypt with this key (bad padding)")]
    Padding,
    #[error("req_info does not decrypt to UTF-8")]
    NotUtf8,
}

/// key* = lowercase hex MD5 of the API key; its 32 ASCII bytes are the AES-256 key.
///
/// why: zero-padded fixed-width hex; a big-integer rendering drops leading zeros (WxJava's test helper).
pub fn refund_key(api_key: &ApiKey) -> [u8; 32] {
    let hex = hex::encode(Md5::digest(api_key.expose().as_bytes()));
    let mut key = [0u8; 32];
    key.copy_from_slice(hex.as_bytes());
    key
}

fn cipher(api_key: &ApiKey) -> Aes256 {
    let key = refund_key(api_key);
    Aes256::new(&Array::from(key))
}

/// Decrypts a base64 `req_info` into its plaintext XML.
pub fn decrypt_req_info(req_info: &str, api_key: &ApiKey) -> Result<String, CryptoError> {
    let compact: String = req_info.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut data = STANDARD.decode(compact).map_err(|_| CryptoError::Base64)?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(CryptoError::Length);
    }
    let aes = cipher(api_key);
    for chunk in data.chunks_exact_mut(16) {
        let mut block = Array::<u8, _>::try_from(&*chunk).map_err(|_| CryptoError::Length)?;
        aes.decrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    let pad = usize::from(*data.last().ok_or(CryptoError::Length)?);
    let body_len = data.len().checked_sub(pad).ok_or(CryptoError::Padding)?;
    if pad == 0 || pad > 16 || data[body_len..].iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::Padding);
    }
    data.truncate(body_len);
    String::from_utf8(data).map_err(|_| CryptoError::NotUtf8)
}

/// Encrypts plaintext XML into a base64 `req_info` (what the gateway sends).
pub fn encrypt_req_info(plaintext: &str, api_key: &ApiKey) -> String {
    let mut data = plaintext.as_bytes().to_vec();
    let pad = 16 - data.len() % 16;
    // why: pad is 1..=16, so it fits a byte.
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let aes = cipher(api_key);
    for chunk in data.chunks_exact_mut(16) {
        let mut block = Array::<u8, _>::try_from(&*chunk).expect("chunks are 16 bytes");
        aes.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    STANDARD.encode(data)
}
