//! Value encoding: one version byte, then JSON. Readable by eye in a dump, and a later
//! layout can tell old values apart by their first byte.

use serde::Serialize;
use serde::de::DeserializeOwned;

const V1: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unknown value version {0}")]
    Version(u8),
    #[error("empty value")]
    Empty,
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![V1];
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match bytes.split_first() {
        Some((&V1, json)) => Ok(serde_json::from_slice(json)?),
        Some((&v, _)) => Err(CodecError::Version(v)),
        None => Err(CodecError::Empty),
    }
}

pub fn u32_from(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    let n = bytes.len().min(4);
    b[..n].copy_from_slice(&bytes[..n]);
    u32::from_be_bytes(b)
}

/// A big-endian u64 from up to 8 bytes (missing bytes count as zero).
pub fn u64_from(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(b)
}
