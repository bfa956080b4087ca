//! Payment and refund notifications: reading them (the shop) and creating them (the sandbox),
//! from one definition, and the exact acknowledgement XML.
//!
//! Owns the order of checks on a notification (XML → `return_code` → signature over every
//! field → merchant → result) and the refund `req_info` layout. It must not decide what a
//! notification does to an order: that is `checkout`'s.

use super::crypto::{self, CryptoError};
use super::messages::{RefundStatus, TradeType, optional};
use super::sign::{self, ApiKey, SignError, SignType};
use super::xml::{self, Fields, XmlError};

/// Why a notification was not accepted. Every case is answered with a FAIL reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("unparseable notification: {0}")]
    Unparseable(#[from] XmlError),
    /// No `sign`, or one that does not verify: a forged (or corrupted) notification.
    #[error("forged notification: {0}")]
    Forged(#[from] SignError),
    #[error("notification is not SUCCESS ({code}): {msg}")]
    NotSuccess { code: String, msg: String },
    #[error("notification for another merchant ({field} = {got:?})")]
    WrongMerchant { field: &'static str, got: String },
    #[error("notification field {field}: {problem}")]
    Field { field: String, problem: &'static str },
    #[error("req_info does not decrypt: {0}")]
    Decrypt(#[from] CryptoError),
}

/// The acknowledgement WeChat stops retrying on, byte for byte.
pub fn notify_reply_success() -> &'static str {
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
}

/// A FAIL acknowledgement: WeChat will deliver the notification again.
pub fn notify_reply_fail(msg: &str) -> String {
    let msg = msg.replace("]]>", "]]]]><![CDATA[>");
    format!(
        "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[{msg}]]></return_msg></xml>"
    )
}

fn field(f: &Fields, key: &str) -> Result<String, NotifyError> {
    optional(f, key).ok_or_else(|| NotifyError::Field { field: key.to_owned(), problem: "missing" })
}

fn fen(f: &Fields, key: &str) -> Result<u64, NotifyError> {
    let v = field(f, key)?;
    parse_fen(key, &v)
}

fn opt_fen(f: &Fields, key: &str) -> Result<Option<u64>, NotifyError> {
    f.non_empty(key).map(|v| parse_fen(key, v)).transpose()
}

fn parse_fen(key: &str, v: &str) -> Result<u64, NotifyError> {
    super::messages::fen(v)
        .ok_or_else(|| NotifyError::Field { field: key.to_owned(), problem: "not an integer amount" })
}

fn check_merchant(f: &Fields, appid: &str, mch_id: &str) -> Result<(), NotifyError> {
    for (key, ours) in [("appid", appid), ("mch_id", mch_id)] {
        let got = f.get(key).unwrap_or_default();
        if got != ours {
            return Err(NotifyError::WrongMerchant { field: key, got: got.to_owned() });
        }
    }
    Ok(())
}

fn require_success(f: &Fields, code_key: &str, msg_key: &str) -> Result<(), NotifyError> {
    match f.get(code_key) {
        Some("SUCCESS") => Ok(()),
        other => Err(NotifyError::NotSuccess {
            code: other.unwrap_or_default().to_owned(),
            msg: f.get(msg_key).unwrap_or_default().to_owned(),
        }),
    }
}

// ---- payment notification ----------------------------------------------------------------

/// One coupon of a payment (`coupon_type_$n`, `coupon_id_$n`, `coupon_fee_$n`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coupon {
    pub coupon_type: Option<String>,
    pub coupon_id: String,
    pub coupon_fee: u64,
}

/// What a payment notification states. The sandbox fills one to create a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidOrder {
    pub appid: String,
    pub mch_id: String,
    pub nonce_str: String,
    pub openid: String,
    pub is_subscribe: Option<String>,
    pub trade_type: TradeType,
    pub bank_type: String,
    /// In fen; compare with the order before believing it.
    pub total_fee: u64,
    pub cash_fee: u64,
    pub settlement_total_fee: Option<u64>,
    pub fee_type: Option<String>,
    pub coupon_fee: Option<u64>,
    pub coupons: Vec<Coupon>,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub attach: Option<String>,
    /// `yyyyMMddHHmmss` Beijing time.
    pub time_end: String,
    pub device_info: Option<String>,
}

/// A verified payment notification, with what was received kept for the order's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentNotification {
    pub paid: PaidOrder,
    /// The algorithm that verified (WeChat omits `sign_type` on HMAC-SHA256 orders).
    pub sign_type: SignType,
    pub raw: Fields,
    pub raw_xml: String,
}

/// Reads a payment notification: XML → `return_code` → signature over all fields (a missing
/// `sign` is forged) → our merchant → `result_code` → typed fields.
pub fn parse_payment_notification(
    body: &[u8],
    key: &ApiKey,
    configured: SignType,
    expected_appid: &str,
    expected_mch_id: &str,
) -> Result<PaymentNotification, NotifyError> {
    let raw = xml::parse(body)?;
    require_success(&raw, "return_code", "return_msg")?;
    let sign_type = sign::verify(&raw, key, configured)?;
    check_merchant(&raw, expected_appid, expected_mch_id)?;
    require_success(&raw, "result_code", "err_code")?;
    let paid = paid_order(&raw)?;
    // why: xml::parse accepted these bytes as UTF-8 already.
    let raw_xml = String::from_utf8_lossy(body).into_owned();
    Ok(PaymentNotification { paid, sign_type, raw, raw_xml })
}

fn paid_order(f: &Fields) -> Result<PaidOrder, NotifyError> {
    Ok(PaidOrder {
        appid: field(f, "appid")?,
        mch_id: field(f, "mch_id")?,
        nonce_str: f.get("nonce_str").unwrap_or_default().to_owned(),
        openid: field(f, "openid")?,
        is_subscribe: optional(f, "is_subscribe"),
        trade_type: TradeType::parse(&field(f, "trade_type")?),
        bank_type: field(f, "bank_type")?,
        total_fee: fen(f, "total_fee")?,
        cash_fee: fen(f, "cash_fee")?,
        settlement_total_fee: opt_fen(f, "settlement_total_fee")?,
        fee_type: optional(f, "fee_type"),
        coupon_fee: opt_fen(f, "coupon_fee")?,
        coupons: coupons(f)?,
        transaction_id: field(f, "transaction_id")?,
        out_trade_no: field(f, "out_trade_no")?,
        attach: optional(f, "attach"),
        time_end: field(f, "time_end")?,
        device_info: optional(f, "device_info"),
    })
}

fn coupons(f: &Fields) -> Result<Vec<Coupon>, NotifyError> {
    let count = match f.non_empty("coupon_count") {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| NotifyError::Field { field: "coupon_count".into(), problem: "not a count" })?,
    };
    // why: a hostile count must not make us loop; WeChat sends at most a handful.
    (0..count.min(100))
        .map(|n| {
            Ok(Coupon {
                coupon_type: optional(f, &format!("coupon_type_{n}")),
                coupon_id: field(f, &format!("coupon_id_{n}"))?,
                coupon_fee: fen(f, &format!("coupon_fee_{n}"))?,
            })
        })
        .collect()
}

/// The sandbox's side: the signed fields of a payment notification. `with_sign_type`
/// false reproduces WeChat, which omits `sign_type` even on HMAC-SHA256 orders.
pub fn build_payment_notification(
    p: &PaidOrder,
    key: &ApiKey,
    sign_type: SignType,
    with_sign_type: bool,
) -> Fields {
    let mut f = Fields::new();
    f.insert("return_code", "SUCCESS");
    f.insert("result_code", "SUCCESS");
    for (k, v) in [
        ("appid", &p.appid),
        ("mch_id", &p.mch_id),
        ("nonce_str", &p.nonce_str),
        ("openid", &p.openid),
        ("bank_type", &p.bank_type),
        ("transaction_id", &p.transaction_id),
        ("out_trade_no", &p.out_trade_no),
        ("time_end", &p.time_end),
    ] {
        f.insert(k, v.as_str());
    }
    f.insert("trade_type", p.trade_type.as_str());
    f.insert("total_fee", p.total_fee.to_string());
    f.insert("cash_fee", p.cash_fee.to_string());
    f.insert_opt("settlement_total_fee", p.settlement_total_fee.map(|v| v.to_string()));
    f.insert_opt("coupon_fee", p.coupon_fee.map(|v| v.to_string()));
    for (k, v) in [("is_subscribe", &p.is_subscribe), ("fee_type", &p.fee_type)] {
        f.insert_opt(k, v.as_deref());
    }
    f.insert_opt("attach", p.attach.as_deref());
    f.insert_opt("device_info", p.device_info.as_deref());
    insert_coupons(&mut f, &p.coupons);
    sign::sign_in_place(&mut f, key, sign_type, with_sign_type);
    f
}

fn insert_coupons(f: &mut Fields, coupons: &[Coupon]) {
    if coupons.is_empty() {
        return;
    }
    f.insert("coupon_count", coupons.len().to_string());
    for (n, c) in coupons.iter().enumerate() {
        f.insert_opt(&format!("coupon_type_{n}"), c.coupon_type.as_deref());
        f.insert(format!("coupon_id_{n}"), c.coupon_id.as_str());
        f.insert(format!("coupon_fee_{n}"), c.coupon_fee.to_string());
    }
}

// ---- refund notification -----------------------------------------------------------------

/// The decrypted content of a refund notification's `req_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundInfo {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub refund_id: String,
    pub transaction_id: String,
    pub total_fee: u64,
    pub refund_fee: u64,
    pub settlement_total_fee: Option<u64>,
    pub settlement_refund_fee: Option<u64>,
    pub refund_status: RefundStatus,
    /// `yyyy-MM-dd HH:mm:ss` Beijing time.
    pub success_time: Option<String>,
    /// (sic) WeChat's spelling.
    pub refund_recv_accout: Option<String>,
    pub refund_account: Option<String>,
    pub refund_request_source: Option<String>,
}

/// A refund notification whose `req_info` decrypted with our key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundNotification {
    pub appid: String,
    pub mch_id: String,
    pub info: RefundInfo,
    /// The outer fields (unsigned) and the decrypted `<root>` fields.
    pub raw: Fields,
    pub req_info: Fields,
    pub raw_xml: String,
}

/// Reads a refund notification. It is not signed: decrypting `req_info` with the key is
/// its authentication, and the outer `appid`/`mch_id` must still be ours.
pub fn parse_refund_notification(
    body: &[u8],
    key: &ApiKey,
    expected_appid: &str,
    expected_mch_id: &str,
) -> Result<RefundNotification, NotifyError> {
    let raw = xml::parse(body)?;
    require_success(&raw, "return_code", "return_msg")?;
    check_merchant(&raw, expected_appid, expected_mch_id)?;
    let plain = crypto::decrypt_req_info(&field(&raw, "req_info")?, key)?;
    let req_info = xml::parse_root(plain.as_bytes(), "root")?;
    Ok(RefundNotification {
        appid: field(&raw, "appid")?,
        mch_id: field(&raw, "mch_id")?,
        info: refund_info(&req_info)?,
        raw_xml: String::from_utf8_lossy(body).into_owned(),
        raw,
        req_info,
    })
}

fn refund_info(f: &Fields) -> Result<RefundInfo, NotifyError> {
    Ok(RefundInfo {
        out_refund_no: field(f, "out_refund_no")?,
        out_trade_no: field(f, "out_trade_no")?,
        refund_id: field(f, "refund_id")?,
        transaction_id: field(f, "transaction_id")?,
        total_fee: fen(f, "total_fee")?,
        refund_fee: fen(f, "refund_fee")?,
        settlement_total_fee: opt_fen(f, "settlement_total_fee")?,
        settlement_refund_fee: opt_fen(f, "settlement_refund_fee")?,
        refund_status: RefundStatus::parse(&field(f, "refund_status")?),
        success_time: optional(f, "success_time"),
        refund_recv_accout: optional(f, "refund_recv_accout"),
        refund_account: optional(f, "refund_account"),
        refund_request_source: optional(f, "refund_request_source"),
    })
}

/// The `<root>` fields of a `req_info`.
pub fn refund_info_fields(i: &RefundInfo) -> Fields {
    let mut f = Fields::new();
    for (k, v) in [
        ("out_refund_no", &i.out_refund_no),
        ("out_trade_no", &i.out_trade_no),
        ("refund_id", &i.refund_id),
        ("transaction_id", &i.transaction_id),
    ] {
        f.insert(k, v.as_str());
    }
    f.insert("total_fee", i.total_fee.to_string());
    f.insert("refund_fee", i.refund_fee.to_string());
    f.insert_opt("settlement_total_fee", i.settlement_total_fee.map(|v| v.to_string()));
    f.insert_opt("settlement_refund_fee", i.settlement_refund_fee.map(|v| v.to_string()));
    f.insert("refund_status", i.refund_status.as_str());
    for (k, v) in [
        ("success_time", &i.success_time),
        ("refund_recv_accout", &i.refund_recv_accout),
        ("refund_account", &i.refund_account),
        ("refund_request_source", &i.refund_request_source),
    ] {
        f.insert_opt(k, v.as_deref());
    }
    f
}

/// The sandbox's side: the whole refund notification XML, `req_info` encrypted with `key`.
pub fn build_refund_notification(
    appid: &str,
    mch_id: &str,
    nonce_str: &str,
    info: &RefundInfo,
    key: &ApiKey,
) -> String {
    let plain = xml::to_xml_root(&refund_info_fields(info), "root");
    let mut f = Fields::new();
    f.insert("return_code", "SUCCESS");
    f.insert("appid", appid);
    f.insert("mch_id", mch_id);
    f.insert("nonce_str", nonce_str);
    f.insert("req_info", crypto::encrypt_req_info(&plain, key));
    xml::to_xml(&f)
}
