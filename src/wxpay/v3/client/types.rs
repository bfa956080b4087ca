//! The JSON the client sends and the answers it reads for orders, refunds and bills, beside
//! the shared types of `v3::messages` (the transaction, the error body, certificates).
//!
//! Types only. Requests carry only what the shop sends; answers are read leniently (unknown
//! fields ignored, fields WeChat may leave out are `Option`), as WeChat asks.

use serde::{Deserialize, Serialize};

/// What the shop decides about an order, whatever the channel; `appid`, `mchid` are the
/// client's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// Shown in the buyer's bill, at most 127 characters.
    pub description: String,
    /// 6–32 characters of `[0-9A-Za-z_-|*]`.
    pub out_trade_no: String,
    pub total_fen: u64,
    /// Our https notify URL, without a query.
    pub notify_url: String,
    pub attach: Option<String>,
    /// RFC 3339 (`2026-01-02T15:04:05+08:00`).
    pub time_expire: Option<String>,
    /// The buyer's IP as the shop saw it (required for H5, sent on every channel when known).
    pub payer_client_ip: Option<String>,
}

/// `scene_info.h5_info.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum H5Type {
    #[serde(rename = "iOS")]
    Ios,
    Android,
    Wap,
}

/// The body of `POST /v3/pay/transactions/{jsapi,h5,native}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct OrderBody<'a> {
    pub appid: &'a str,
    pub mchid: &'a str,
    pub description: &'a str,
    pub out_trade_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<&'a str>,
    pub notify_url: &'a str,
    pub amount: OrderAmount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer: Option<OrderPayer<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<OrderScene<'a>>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct OrderAmount {
    pub total: u64,
    pub currency: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct OrderPayer<'a> {
    pub openid: &'a str,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct OrderScene<'a> {
    pub payer_client_ip: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h5_info: Option<H5Info>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct H5Info {
    #[serde(rename = "type")]
    pub kind: H5Type,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PrepayAnswer {
    pub prepay_id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct H5Answer {
    pub h5_url: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct NativeAnswer {
    pub code_url: String,
}

/// Which payment a refund is of: WeChat's number once paid, or ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOf {
    TransactionId(String),
    OutTradeNo(String),
}

/// `POST /v3/refund/domestic/refunds`, as the shop asks for a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRefund {
    pub of: RefundOf,
    /// Unique per merchant; a repeat with the same number refunds once.
    pub out_refund_no: String,
    /// Shown to the buyer (at most 80 characters).
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub refund_fen: u64,
    /// The order's total, fen.
    pub total_fen: u64,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct RefundBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<&'a str>,
    pub out_refund_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<&'a str>,
    pub amount: RefundBodyAmount,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct RefundBodyAmount {
    pub refund: u64,
    pub total: u64,
    pub currency: &'static str,
}

/// `status` of a refund (the answer's name; notifications call it `refund_status`).
pub use super::super::messages::RefundStatus;

/// The Refund object: the answer of a refund and of its query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    /// Only once `SUCCESS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    pub status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    pub amount: RefundAmount,
}

/// Amounts in fen; the ones WeChat always sends are required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_refund: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `bill_type` of `GET /v3/bill/tradebill`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeBillType {
    All,
    Success,
    Refund,
}

impl TradeBillType {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeBillType::All => "ALL",
            TradeBillType::Success => "SUCCESS",
            TradeBillType::Refund => "REFUND",
        }
    }
}

/// The answer of `GET /v3/bill/tradebill`: where to fetch the file and its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillLocation {
    /// Always `SHA1`.
    pub hash_type: String,
    /// Lowercase hex SHA-1 of the uncompressed file.
    pub hash_value: String,
    /// Valid 30 s to 5 min.
    pub download_url: String,
}
