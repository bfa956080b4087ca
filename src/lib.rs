//! wxcheckout: a one-binary shop and checkout for WeChat Pay API v2, with its own sandbox.

pub mod admin;
pub mod alerts;
pub mod app;
pub mod checkout;
pub mod clock;
pub mod config;
pub mod control;
pub mod domain;
pub mod http;
pub mod log_summary;
pub mod ops;
pub mod sandbox;
pub mod store;
pub mod web;
pub mod wxpay;
