//! Typed v2 messages: requests as `Fields` to sign, answers read from verified `Fields`.
//!
//! Owns the field names and value formats of unifiedorder, orderquery, closeorder and
//! downloadbill, the common answer envelope (`check_response`) and the answer builders the
//! sandbox uses. Refund messages live in `messages/refund.rs`. It must not do I/O, and it
//! never signs or verifies by itself beyond calling `sign`: the algorithm lives there.

use time::{Date, OffsetDateTime};

use super::error::Error;
use super::sign::{self, ApiKey, SignType};
use super::xml::Fields;

mod beijing;
mod refund;
pub use beijing::{
    BEIJING, beijing_dashed, beijing_date, beijing_day, beijing_display, beijing_local, beijing_midnight,
    beijing_time, bill_date, format_dashed, parse_beijing_time, parse_bill_date, parse_dashed,
};
pub use refund::{
    Refund, RefundQuery, RefundQueryBy, RefundQueryResponse, RefundRecord, RefundResponse, RefundStatus,
};

/// The H5 `scene_info` of a web site: `{"h5_info": {"type":"Wap","wap_url": …,"wap_name": …}}`.
///
/// why: spaced exactly as the official example, so requests built here match the published
/// signatures byte for byte; values are JSON-escaped.
pub fn h5_wap_scene_info(wap_url: &str, wap_name: &str) -> String {
    format!(
        r#"{{"h5_info": {{"type":"Wap","wap_url": {},"wap_name": {}}}}}"#,
        json_string(wap_url),
        json_string(wap_name)
    )
}

fn json_string(s: &str) -> String {
    // why: serializing a &str cannot fail.
    serde_json::to_string(s).expect("a string serializes to JSON")
}

// ---- field access -------------------------------------------------------------------------

pub(crate) fn field_error(field: &str, problem: &'static str) -> Error {
    Error::Field { field: field.to_owned(), problem }
}

/// A field that must be present and not empty.
pub(crate) fn required(f: &Fields, key: &str) -> Result<String, Error> {
    f.non_empty(key).map(str::to_owned).ok_or_else(|| field_error(key, "missing"))
}

pub(crate) fn optional(f: &Fields, key: &str) -> Option<String> {
    f.non_empty(key).map(str::to_owned)
}

/// An integer amount in fen, zero included. why: digits only; `u64::from_str` would also
/// take `+1`. The one reader of amounts: answers, notifications and the sandbox's requests.
pub fn fen(v: &str) -> Option<u64> {
    if v.is_empty() || v.len() > 18 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

pub(crate) fn parse_fen(key: &str, v: &str) -> Result<u64, Error> {
    fen(v).ok_or_else(|| field_error(key, "not an integer amount"))
}

pub(crate) fn amount(f: &Fields, key: &str) -> Result<u64, Error> {
    parse_fen(key, &required(f, key)?)
}

pub(crate) fn opt_amount(f: &Fields, key: &str) -> Result<Option<u64>, Error> {
    f.non_empty(key).map(|v| parse_fen(key, v)).transpose()
}

// ---- envelope -----------------------------------------------------------------------------

/// Adds the merchant envelope (`appid`, `mch_id`, `nonce_str`) to a request's own fields.
pub fn request_fields(mut biz: Fields, appid: &str, mch_id: &str, nonce_str: &str) -> Fields {
    biz.insert("appid", appid);
    biz.insert("mch_id", mch_id);
    biz.insert("nonce_str", nonce_str);
    biz
}

/// A request ready to send: envelope, `sign_type` (always sent) and `sign`.
pub fn signed_request(
    biz: Fields,
    appid: &str,
    mch_id: &str,
    nonce_str: &str,
    key: &ApiKey,
    sign_type: SignType,
) -> Fields {
    let mut f = request_fields(biz, appid, mch_id, nonce_str);
    sign::sign_in_place(&mut f, key, sign_type, true);
    f
}

/// The decision order of every answer: protocol (`return_code`, unsigned) → signature over
/// every field → our merchant → business (`result_code`). Returns the verified fields.
pub fn check_response(
    fields: Fields,
    key: &ApiKey,
    configured: SignType,
    appid: &str,
    mch_id: &str,
) -> Result<Fields, Error> {
    match fields.get("return_code") {
        Some("SUCCESS") => {}
        Some("FAIL") => {
            return Err(Error::Protocol {
                return_msg: fields.get("return_msg").unwrap_or_default().to_owned(),
                error_code: optional(&fields, "error_code"),
            });
        }
        _ => return Err(Error::Malformed("answer without a return_code".into())),
    }
    // why: an unsigned or badly signed SUCCESS answer is never data.
    sign::verify(&fields, key, configured)?;
    check_merchant(&fields, appid, mch_id)?;
    if fields.get("result_code") != Some("SUCCESS") {
        return Err(Error::Business {
            err_code: fields.get("err_code").unwrap_or_default().to_owned(),
            err_code_des: fields.get("err_code_des").unwrap_or_default().to_owned(),
            raw: fields,
        });
    }
    Ok(fields)
}

/// A signed message must name our `appid` and `mch_id`.
pub fn check_merchant(fields: &Fields, appid: &str, mch_id: &str) -> Result<(), Error> {
    for (field, ours) in [("appid", appid), ("mch_id", mch_id)] {
        let got = fields.get(field).unwrap_or_default();
        if got != ours {
            return Err(Error::WrongMerchant { field, got: got.to_owned() });
        }
    }
    Ok(())
}

/// Sandbox: a signed business answer (no `sign_type`, as WeChat answers): `biz` with
/// `result_code=SUCCESS`, or with `result_code=FAIL` and `err_code`/`err_code_des` when
/// `error` is `(err_code, err_code_des)`. `biz` may carry fields some failures add
/// (`result_msg` of closeorder).
pub fn business_response(
    mut biz: Fields,
    error: Option<(&str, &str)>,
    merchant: (&str, &str),
    nonce_str: &str,
    key: &ApiKey,
    sign_type: SignType,
) -> Fields {
    biz.insert("return_code", "SUCCESS");
    biz.insert("return_msg", "OK");
    match error {
        None => biz.insert("result_code", "SUCCESS"),
        Some((code, des)) => {
            biz.insert("result_code", "FAIL");
            biz.insert("err_code", code);
            biz.insert("err_code_des", des);
        }
    }
    let mut f = request_fields(biz, merchant.0, merchant.1, nonce_str);
    sign::sign_in_place(&mut f, key, sign_type, false);
    f
}

/// Sandbox: a signed SUCCESS/SUCCESS answer carrying `biz`.
pub fn success_response(
    biz: Fields,
    appid: &str,
    mch_id: &str,
    nonce_str: &str,
    key: &ApiKey,
    sign_type: SignType,
) -> Fields {
    business_response(biz, None, (appid, mch_id), nonce_str, key, sign_type)
}

/// Sandbox: a signed business failure (`result_code=FAIL`, `err_code`, `err_code_des`).
pub fn business_error_response(
    err_code: &str,
    err_code_des: &str,
    merchant: (&str, &str),
    nonce_str: &str,
    key: &ApiKey,
    sign_type: SignType,
) -> Fields {
    business_response(Fields::new(), Some((err_code, err_code_des)), merchant, nonce_str, key, sign_type)
}

/// Sandbox: the unsigned two-field protocol failure seen in real traffic.
pub fn protocol_failure(return_msg: &str) -> Fields {
    [("return_code", "FAIL"), ("return_msg", return_msg)].into_iter().collect()
}

// ---- enumerations -------------------------------------------------------------------------

/// A closed set of protocol words, with anything else kept verbatim.
macro_rules! protocol_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this code does not know, kept as received.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(s) => s,
                }
            }

            pub fn parse(s: &str) -> $name {
                match s {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use protocol_enum;

protocol_enum!(
    /// `trade_type`.
    TradeType { Jsapi = "JSAPI", Native = "NATIVE", Mweb = "MWEB", App = "APP", Micropay = "MICROPAY" }
);

protocol_enum!(
    /// `trade_state` of orderquery.
    TradeState {
        Success = "SUCCESS",
        Refund = "REFUND",
        NotPay = "NOTPAY",
        Closed = "CLOSED",
        Revoked = "REVOKED",
        UserPaying = "USERPAYING",
        PayError = "PAYERROR",
        Accept = "ACCEPT",
    }
);

impl TradeState {
    /// why: NOTPAY, USERPAYING and ACCEPT can still become paid; the others cannot change
    /// except SUCCESS → REFUND.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TradeState::Success
                | TradeState::Refund
                | TradeState::Closed
                | TradeState::Revoked
                | TradeState::PayError
        )
    }
}

protocol_enum!(
    /// `bill_type` of downloadbill.
    BillType { All = "ALL", Success = "SUCCESS", Refund = "REFUND" }
);

// ---- unifiedorder -------------------------------------------------------------------------

/// What differs between the three trade types this shop uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TradeKind {
    /// In WeChat: the buyer's `openid` under our appid.
    Jsapi { openid: String },
    /// Desktop QR code: our `product_id`.
    Native { product_id: String },
    /// Phone browser: `scene_info` JSON (see [`h5_wap_scene_info`]).
    Mweb { scene_info: String },
}

impl TradeKind {
    pub fn trade_type(&self) -> TradeType {
        match self {
            TradeKind::Jsapi { .. } => TradeType::Jsapi,
            TradeKind::Native { .. } => TradeType::Native,
            TradeKind::Mweb { .. } => TradeType::Mweb,
        }
    }
}

/// `POST pay/unifiedorder`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnifiedOrder {
    pub kind: TradeKind,
    pub body: String,
    pub attach: Option<String>,
    pub out_trade_no: String,
    /// In fen.
    pub total_fee: u64,
    pub fee_type: Option<String>,
    pub spbill_create_ip: String,
    pub time_start: Option<OffsetDateTime>,
    pub time_expire: Option<OffsetDateTime>,
    pub notify_url: String,
    pub device_info: Option<String>,
    pub detail: Option<String>,
}

impl UnifiedOrder {
    /// The request's own fields, without envelope or signature.
    pub fn to_fields(&self) -> Fields {
        let mut f = Fields::new();
        f.insert("body", self.body.as_str());
        f.insert_opt("attach", self.attach.as_deref());
        f.insert("out_trade_no", self.out_trade_no.as_str());
        f.insert("total_fee", self.total_fee.to_string());
        f.insert_opt("fee_type", self.fee_type.as_deref());
        f.insert("spbill_create_ip", self.spbill_create_ip.as_str());
        f.insert_opt("time_start", self.time_start.map(beijing_time));
        f.insert_opt("time_expire", self.time_expire.map(beijing_time));
        f.insert("notify_url", self.notify_url.as_str());
        f.insert_opt("device_info", self.device_info.as_deref());
        f.insert_opt("detail", self.detail.as_deref());
        f.insert("trade_type", self.kind.trade_type().as_str());
        match &self.kind {
            TradeKind::Jsapi { openid } => f.insert("openid", openid.as_str()),
            TradeKind::Native { product_id } => f.insert("product_id", product_id.as_str()),
            TradeKind::Mweb { scene_info } => f.insert("scene_info", scene_info.as_str()),
        }
        f
    }

    /// Reads a received request (the sandbox's side), enforcing each trade type's field.
    pub fn from_fields(f: &Fields) -> Result<UnifiedOrder, Error> {
        let kind = match TradeType::parse(&required(f, "trade_type")?) {
            TradeType::Jsapi => TradeKind::Jsapi { openid: required(f, "openid")? },
            TradeType::Native => TradeKind::Native { product_id: required(f, "product_id")? },
            TradeType::Mweb => TradeKind::Mweb { scene_info: required(f, "scene_info")? },
            _ => return Err(field_error("trade_type", "not JSAPI, NATIVE or MWEB")),
        };
        Ok(UnifiedOrder {
            kind,
            body: required(f, "body")?,
            attach: optional(f, "attach"),
            out_trade_no: required(f, "out_trade_no")?,
            total_fee: amount(f, "total_fee")?,
            fee_type: optional(f, "fee_type"),
            spbill_create_ip: required(f, "spbill_create_ip")?,
            time_start: opt_time(f, "time_start")?,
            time_expire: opt_time(f, "time_expire")?,
            notify_url: required(f, "notify_url")?,
            device_info: optional(f, "device_info"),
            detail: optional(f, "detail"),
        })
    }
}

fn opt_time(f: &Fields, key: &str) -> Result<Option<OffsetDateTime>, Error> {
    f.non_empty(key)
        .map(|v| parse_beijing_time(v).ok_or_else(|| field_error(key, "not yyyyMMddHHmmss")))
        .transpose()
}

/// The answer to unifiedorder: a prepay id, plus `code_url` (NATIVE) or `mweb_url` (MWEB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnifiedOrderResponse {
    pub trade_type: TradeType,
    pub prepay_id: String,
    pub code_url: Option<String>,
    pub mweb_url: Option<String>,
    /// Every field received, verified, for the caller to store.
    pub raw: Fields,
}

impl UnifiedOrderResponse {
    /// Reads a verified SUCCESS answer; each trade type's URL must be present.
    pub fn from_fields(raw: Fields) -> Result<UnifiedOrderResponse, Error> {
        let trade_type = TradeType::parse(&required(&raw, "trade_type")?);
        let code_url = optional(&raw, "code_url");
        let mweb_url = optional(&raw, "mweb_url");
        if trade_type == TradeType::Native && code_url.is_none() {
            return Err(field_error("code_url", "missing"));
        }
        if trade_type == TradeType::Mweb && mweb_url.is_none() {
            return Err(field_error("mweb_url", "missing"));
        }
        Ok(UnifiedOrderResponse {
            trade_type,
            prepay_id: required(&raw, "prepay_id")?,
            code_url,
            mweb_url,
            raw,
        })
    }
}

// ---- orderquery / closeorder --------------------------------------------------------------

/// Which order a query or refund is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    OutTradeNo(String),
    TransactionId(String),
}

impl OrderRef {
    pub fn to_fields(&self) -> Fields {
        let mut f = Fields::new();
        self.insert_into(&mut f);
        f
    }

    pub(crate) fn insert_into(&self, f: &mut Fields) {
        match self {
            OrderRef::OutTradeNo(v) => f.insert("out_trade_no", v.as_str()),
            OrderRef::TransactionId(v) => f.insert("transaction_id", v.as_str()),
        }
    }

    /// why: WeChat prefers `transaction_id` when both are sent.
    pub fn from_fields(f: &Fields) -> Result<OrderRef, Error> {
        if let Some(id) = optional(f, "transaction_id") {
            return Ok(OrderRef::TransactionId(id));
        }
        Ok(OrderRef::OutTradeNo(required(f, "out_trade_no")?))
    }
}

/// The answer to orderquery. Only `trade_state` is always present: WeChat sends a subset
/// of fields for unpaid orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderQueryResponse {
    pub trade_state: TradeState,
    pub trade_state_desc: Option<String>,
    pub out_trade_no: Option<String>,
    pub transaction_id: Option<String>,
    pub total_fee: Option<u64>,
    pub cash_fee: Option<u64>,
    pub settlement_total_fee: Option<u64>,
    pub coupon_fee: Option<u64>,
    pub fee_type: Option<String>,
    pub openid: Option<String>,
    pub is_subscribe: Option<String>,
    pub trade_type: Option<TradeType>,
    pub bank_type: Option<String>,
    pub attach: Option<String>,
    /// `yyyyMMddHHmmss` Beijing time, as received (see [`parse_beijing_time`]).
    pub time_end: Option<String>,
    pub device_info: Option<String>,
    pub raw: Fields,
}

impl OrderQueryResponse {
    pub fn from_fields(raw: Fields) -> Result<OrderQueryResponse, Error> {
        let f = &raw;
        Ok(OrderQueryResponse {
            trade_state: TradeState::parse(&required(f, "trade_state")?),
            trade_state_desc: optional(f, "trade_state_desc"),
            out_trade_no: optional(f, "out_trade_no"),
            transaction_id: optional(f, "transaction_id"),
            total_fee: opt_amount(f, "total_fee")?,
            cash_fee: opt_amount(f, "cash_fee")?,
            settlement_total_fee: opt_amount(f, "settlement_total_fee")?,
            coupon_fee: opt_amount(f, "coupon_fee")?,
            fee_type: optional(f, "fee_type"),
            openid: optional(f, "openid"),
            is_subscribe: optional(f, "is_subscribe"),
            trade_type: optional(f, "trade_type").map(|t| TradeType::parse(&t)),
            bank_type: optional(f, "bank_type"),
            attach: optional(f, "attach"),
            time_end: optional(f, "time_end"),
            device_info: optional(f, "device_info"),
            raw,
        })
    }
}

/// `POST pay/closeorder`: only `out_trade_no`.
pub fn close_order_fields(out_trade_no: &str) -> Fields {
    OrderRef::OutTradeNo(out_trade_no.to_owned()).to_fields()
}

/// The answer to closeorder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseOrderResponse {
    pub result_msg: Option<String>,
    pub raw: Fields,
}

impl CloseOrderResponse {
    pub fn from_fields(raw: Fields) -> CloseOrderResponse {
        CloseOrderResponse { result_msg: optional(&raw, "result_msg"), raw }
    }
}

// ---- downloadbill -------------------------------------------------------------------------

/// `POST pay/downloadbill` (answered with plain text, see `bill`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadBill {
    pub bill_date: Date,
    pub bill_type: BillType,
}

impl DownloadBill {
    pub fn to_fields(&self) -> Fields {
        let mut f = Fields::new();
        f.insert("bill_date", bill_date(self.bill_date));
        f.insert("bill_type", self.bill_type.as_str());
        f
    }

    pub fn from_fields(f: &Fields) -> Result<DownloadBill, Error> {
        let date = required(f, "bill_date")?;
        Ok(DownloadBill {
            bill_date: parse_bill_date(&date).ok_or_else(|| field_error("bill_date", "not yyyyMMdd"))?,
            // why: ALL is the documented default.
            bill_type: optional(f, "bill_type").map_or(BillType::All, |t| BillType::parse(&t)),
        })
    }
}
