//! Refund messages: `secapi/pay/refund` and `pay/refundquery`, with its `$n`-indexed records.
//!
//! Owns these field names only; the envelope and signature rules are in `messages`.

use super::super::error::Error;
use super::super::xml::Fields;
use super::{OrderRef, amount, field_error, opt_amount, optional, protocol_enum, required};

protocol_enum!(
    /// `refund_status` (refund notification) and `refund_status_$n` (refundquery).
    RefundStatus {
        Success = "SUCCESS",
        RefundClose = "REFUNDCLOSE",
        Processing = "PROCESSING",
        Change = "CHANGE",
    }
);

/// `POST secapi/pay/refund` (needs the merchant's client certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub order: OrderRef,
    pub out_refund_no: String,
    /// The order's whole amount, in fen.
    pub total_fee: u64,
    /// The amount to refund, in fen.
    pub refund_fee: u64,
    pub refund_desc: Option<String>,
    pub notify_url: Option<String>,
}

impl Refund {
    pub fn to_fields(&self) -> Fields {
        let mut f = Fields::new();
        self.order.insert_into(&mut f);
        f.insert("out_refund_no", self.out_refund_no.as_str());
        f.insert("total_fee", self.total_fee.to_string());
        f.insert("refund_fee", self.refund_fee.to_string());
        f.insert_opt("refund_desc", self.refund_desc.as_deref());
        f.insert_opt("notify_url", self.notify_url.as_deref());
        f
    }

    pub fn from_fields(f: &Fields) -> Result<Refund, Error> {
        Ok(Refund {
            order: OrderRef::from_fields(f)?,
            out_refund_no: required(f, "out_refund_no")?,
            total_fee: amount(f, "total_fee")?,
            refund_fee: amount(f, "refund_fee")?,
            refund_desc: optional(f, "refund_desc"),
            notify_url: optional(f, "notify_url"),
        })
    }
}

/// The answer to a refund request: accepted, not yet refunded (see refundquery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundResponse {
    pub transaction_id: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_fee: u64,
    pub total_fee: u64,
    pub cash_fee: Option<u64>,
    pub settlement_refund_fee: Option<u64>,
    pub settlement_total_fee: Option<u64>,
    pub cash_refund_fee: Option<u64>,
    pub coupon_refund_fee: Option<u64>,
    pub refund_channel: Option<String>,
    pub raw: Fields,
}

impl RefundResponse {
    pub fn from_fields(raw: Fields) -> Result<RefundResponse, Error> {
        let f = &raw;
        Ok(RefundResponse {
            transaction_id: required(f, "transaction_id")?,
            out_trade_no: required(f, "out_trade_no")?,
            out_refund_no: required(f, "out_refund_no")?,
            refund_id: required(f, "refund_id")?,
            refund_fee: amount(f, "refund_fee")?,
            total_fee: amount(f, "total_fee")?,
            cash_fee: opt_amount(f, "cash_fee")?,
            settlement_refund_fee: opt_amount(f, "settlement_refund_fee")?,
            settlement_total_fee: opt_amount(f, "settlement_total_fee")?,
            cash_refund_fee: opt_amount(f, "cash_refund_fee")?,
            coupon_refund_fee: opt_amount(f, "coupon_refund_fee")?,
            refund_channel: optional(f, "refund_channel"),
            raw,
        })
    }
}

/// What a refundquery asks about; WeChat's priority is the order of the variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundQueryBy {
    RefundId(String),
    OutRefundNo(String),
    TransactionId(String),
    OutTradeNo(String),
}

impl RefundQueryBy {
    const KEYS: [&'static str; 4] = ["refund_id", "out_refund_no", "transaction_id", "out_trade_no"];

    fn key_value(&self) -> (&'static str, &str) {
        match self {
            RefundQueryBy::RefundId(v) => (Self::KEYS[0], v),
            RefundQueryBy::OutRefundNo(v) => (Self::KEYS[1], v),
            RefundQueryBy::TransactionId(v) => (Self::KEYS[2], v),
            RefundQueryBy::OutTradeNo(v) => (Self::KEYS[3], v),
        }
    }

    fn from_key(key: &str, v: String) -> RefundQueryBy {
        match key {
            "refund_id" => RefundQueryBy::RefundId(v),
            "out_refund_no" => RefundQueryBy::OutRefundNo(v),
            "transaction_id" => RefundQueryBy::TransactionId(v),
            _ => RefundQueryBy::OutTradeNo(v),
        }
    }
}

/// `POST pay/refundquery`; `offset` pages through more than 10 refunds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundQuery {
    pub by: RefundQueryBy,
    pub offset: Option<u32>,
}

impl RefundQuery {
    pub fn to_fields(&self) -> Fields {
        let mut f = Fields::new();
        let (k, v) = self.by.key_value();
        f.insert(k, v);
        f.insert_opt("offset", self.offset.map(|o| o.to_string()));
        f
    }

    pub fn from_fields(f: &Fields) -> Result<RefundQuery, Error> {
        let by = RefundQueryBy::KEYS
            .iter()
            .find_map(|k| optional(f, k).map(|v| RefundQueryBy::from_key(k, v)))
            .ok_or_else(|| field_error("out_trade_no", "missing"))?;
        let offset = optional(f, "offset")
            .map(|o| o.parse().map_err(|_| field_error("offset", "not an integer")))
            .transpose()?;
        Ok(RefundQuery { by, offset })
    }
}

/// One `$n` record of a refundquery answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRecord {
    /// The `$n` of the fields it was read from.
    pub index: u32,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_fee: u64,
    pub settlement_refund_fee: Option<u64>,
    pub refund_status: RefundStatus,
    pub refund_channel: Option<String>,
    pub refund_account: Option<String>,
    pub refund_recv_accout: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss` Beijing time, as received.
    pub refund_success_time: Option<String>,
}

impl RefundRecord {
    fn from_fields(f: &Fields, n: u32) -> Result<RefundRecord, Error> {
        let k = |name: &str| format!("{name}_{n}");
        Ok(RefundRecord {
            index: n,
            out_refund_no: required(f, &k("out_refund_no"))?,
            refund_id: required(f, &k("refund_id"))?,
            refund_fee: amount(f, &k("refund_fee"))?,
            settlement_refund_fee: opt_amount(f, &k("settlement_refund_fee"))?,
            refund_status: RefundStatus::parse(&required(f, &k("refund_status"))?),
            refund_channel: optional(f, &k("refund_channel")),
            refund_account: optional(f, &k("refund_account")),
            refund_recv_accout: optional(f, &k("refund_recv_accout")),
            refund_success_time: optional(f, &k("refund_success_time")),
        })
    }
}

/// The answer to refundquery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundQueryResponse {
    pub transaction_id: Option<String>,
    pub out_trade_no: Option<String>,
    pub total_fee: Option<u64>,
    pub cash_fee: Option<u64>,
    pub settlement_total_fee: Option<u64>,
    pub refund_count: u32,
    pub total_refund_count: Option<u32>,
    pub records: Vec<RefundRecord>,
    pub raw: Fields,
}

impl RefundQueryResponse {
    pub fn from_fields(raw: Fields) -> Result<RefundQueryResponse, Error> {
        let f = &raw;
        let count = |k: &str| -> Result<Option<u32>, Error> {
            optional(f, k).map(|v| v.parse().map_err(|_| field_error(k, "not a count"))).transpose()
        };
        let records = record_indexes(f)
            .into_iter()
            .map(|n| RefundRecord::from_fields(f, n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RefundQueryResponse {
            transaction_id: optional(f, "transaction_id"),
            out_trade_no: optional(f, "out_trade_no"),
            total_fee: opt_amount(f, "total_fee")?,
            cash_fee: opt_amount(f, "cash_fee")?,
            settlement_total_fee: opt_amount(f, "settlement_total_fee")?,
            refund_count: count("refund_count")?.unwrap_or(0),
            total_refund_count: count("total_refund_count")?,
            records,
            raw,
        })
    }
}

/// The `$n` of every `out_refund_no_$n`, ascending.
///
/// why: whether `$n` restarts at 0 on a page read with `offset` is not documented, so the
/// records are found by their fields rather than counted from 0 to `refund_count`.
fn record_indexes(f: &Fields) -> Vec<u32> {
    let mut ns: Vec<u32> = f
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("out_refund_no_"))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse().ok())
        .collect();
    ns.sort_unstable();
    ns
}
