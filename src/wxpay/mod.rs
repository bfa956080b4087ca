//! `wxpay`: the client side of WeChat Pay API v2.
//!
//! Knows nothing of orders or sled: it speaks the protocol's own messages, so it can be
//! pinned to the published vectors and its codec reused by the sandbox.

pub mod bill;
pub mod client;
pub mod crypto;
pub mod jsapi;
pub mod messages;
pub mod notify;
pub mod oauth;
pub mod registration;
pub mod sign;
pub mod xml;

pub use client::{ClientConfig, Error, WxPayClient};
pub use sign::{ApiKey, SignType};
pub use xml::Fields;
