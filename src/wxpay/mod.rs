//! `wxpay`: the client side of WeChat Pay API v2, and (`v3`) the cryptography of API v3.
//!
//! Knows nothing of orders or sled: it speaks the protocol's own messages, so it can be
//! pinned to the published vectors and its codec reused by the sandbox.

pub mod bill;
pub mod client;
pub mod crypto;
pub mod error;
pub mod jsapi;
pub mod messages;
pub mod notify;
pub mod oauth;
pub mod registration;
pub mod sign;
pub mod v3;
pub mod xml;

pub use client::{ClientConfig, WxPayClient};
pub use error::Error;
pub use sign::{ApiKey, SignType};
pub use xml::Fields;

/// `{base}/{path}`, whether or not `base` ends with a slash.
pub fn endpoint(base: &url::Url, path: &str) -> String {
    format!("{}/{}", base.as_str().trim_end_matches('/'), path.trim_start_matches('/'))
}

/// An address as WeChat compares `spbill_create_ip` with the payer's: an IPv4 address that
/// arrived as `::ffff:a.b.c.d` (a dual-stack listener) is the IPv4 address.
pub fn canonical_ip(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}
