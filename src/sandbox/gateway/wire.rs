//! The gateway's wire: reading a request body through the protocol checks of wxpay-v2.md
//! §9.2, and writing answers (unsigned protocol FAIL, signed business answers, bill text).
//!
//! Owns the order of the protocol checks and the envelope of every answer. It must not
//! decide anything about orders or refunds: the endpoint modules do.

use rocket::Request;
use rocket::data::{Data, ToByteUnit};
use rocket::http::ContentType;
use rocket::response::{self, Responder};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use crate::sandbox::state::{Sandbox, ids};
use crate::wxpay::sign::{self, SignType};
use crate::wxpay::xml::{self, Fields, XmlError};

/// An answer of the gateway: always HTTP 200, as WeChat answers even its errors.
#[derive(Debug)]
pub struct Reply {
    kind: Kind,
    body: Vec<u8>,
}

/// why: a `ContentType` is ~200 bytes; a tag keeps `Result<_, Reply>` small.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Xml,
    Text,
    Gzip,
}

impl Reply {
    pub fn xml(text: String) -> Reply {
        Reply { kind: Kind::Xml, body: text.into_bytes() }
    }

    pub fn text(text: String) -> Reply {
        Reply { kind: Kind::Text, body: text.into_bytes() }
    }

    pub fn gzip(body: Vec<u8>) -> Reply {
        Reply { kind: Kind::Gzip, body }
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let content_type = match self.kind {
            Kind::Xml => ContentType::XML,
            Kind::Text => ContentType::Plain,
            Kind::Gzip => ContentType::GZIP,
        };
        (content_type, self.body).respond_to(req)
    }
}

fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// The unsigned two-field FAIL of a protocol error (§3.1, EX-P).
pub fn protocol_fail(return_msg: &str) -> Reply {
    Reply::xml(format!(
        "<xml><return_code>{}</return_code><return_msg>{}</return_msg></xml>",
        cdata("FAIL"),
        cdata(return_msg)
    ))
}

/// downloadbill's FAIL, which carries an `error_code` (EX-20c), in WeChat's field order.
pub fn bill_fail(return_msg: &str, error_code: Option<&str>) -> Reply {
    let code = error_code.map(|c| format!("<error_code>{}</error_code>", cdata(c))).unwrap_or_default();
    Reply::xml(format!(
        "<xml><return_code>{}</return_code><return_msg>{}</return_msg>{code}</xml>",
        cdata("FAIL"),
        cdata(return_msg)
    ))
}

pub fn require_post() -> Reply {
    protocol_fail("请使用post方法")
}

/// A request that passed the protocol checks: its fields and the algorithm it was signed with.
#[derive(Debug, Clone)]
pub struct Req {
    pub fields: Fields,
    pub sign_type: SignType,
}

impl Req {
    /// A field when present and not empty (WeChat treats an empty element as absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.non_empty(key)
    }
}

/// What a request must carry beyond the envelope.
pub struct Needs<'a> {
    pub all: &'a [&'a str],
    /// At least one of these (`transaction_id` or `out_trade_no`, say).
    pub one_of: &'a [&'a str],
}

const ENVELOPE: [&str; 4] = ["appid", "mch_id", "nonce_str", "sign"];

/// Reads the body and runs the protocol checks in the order of §9.2: body, charset, XML,
/// required fields, merchant, `sign_type`, signature. Every failure is an unsigned FAIL.
pub async fn admit(sb: &Sandbox, data: Data<'_>, needs: Needs<'_>) -> Result<Req, Reply> {
    let capped =
        data.open(64.kibibytes()).into_bytes().await.map_err(|_| protocol_fail("post数据读取失败"))?;
    if !capped.is_complete() {
        return Err(protocol_fail("post数据过大，不能超过64KB"));
    }
    let fields = parse_body(&capped.into_inner())?;
    let missing = ENVELOPE.iter().chain(needs.all).any(|k| fields.non_empty(k).is_none())
        || (!needs.one_of.is_empty() && needs.one_of.iter().all(|k| fields.non_empty(k).is_none()));
    if missing {
        return Err(protocol_fail("缺少参数"));
    }
    check_merchant(sb, &fields)?;
    let sign_type = check_sign(sb, &fields)?;
    Ok(Req { fields, sign_type })
}

fn parse_body(bytes: &[u8]) -> Result<Fields, Reply> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(protocol_fail("post数据为空"));
    }
    // why: WeChat accepts only the 1–3 byte subset of UTF-8 (no emoji, §1).
    let text = std::str::from_utf8(bytes).map_err(|_| protocol_fail("编码格式错误"))?;
    if text.chars().any(|c| c.len_utf8() > 3) {
        return Err(protocol_fail("编码格式错误"));
    }
    xml::parse(bytes).map_err(|e| match e {
        XmlError::Empty => protocol_fail("post数据为空"),
        XmlError::NotUtf8 => protocol_fail("编码格式错误"),
        XmlError::TooLarge => protocol_fail("post数据过大，不能超过64KB"),
        XmlError::Doctype | XmlError::WrongRoot(..) | XmlError::Duplicate(_) | XmlError::Malformed(_) => {
            protocol_fail("XML格式错误")
        }
    })
}

/// The sandbox simulates one merchant with one bound appid.
fn check_merchant(sb: &Sandbox, fields: &Fields) -> Result<(), Reply> {
    let mch_id = fields.get("mch_id").unwrap_or_default();
    if mch_id.len() > 32 || !mch_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(protocol_fail("mch_id参数格式错误"));
    }
    if mch_id != sb.merchant.mch_id {
        return Err(protocol_fail("商户号mch_id不存在"));
    }
    if fields.get("appid") != Some(sb.merchant.appid.as_str()) {
        return Err(protocol_fail("appid和mch_id不匹配"));
    }
    Ok(())
}

/// The algorithm is the request's `sign_type`, MD5 when absent. why: `sign::verify` alone
/// would guess HMAC from a 64-character sign; the gateway goes by what the request declares.
fn check_sign(sb: &Sandbox, fields: &Fields) -> Result<SignType, Reply> {
    let declared = match fields.non_empty("sign_type") {
        None => SignType::Md5,
        Some(name) => SignType::parse(name).ok_or_else(|| protocol_fail("sign_type参数格式错误"))?,
    };
    let received = fields.get("sign").unwrap_or_default();
    let expected = sign::sign(fields, &sb.merchant.api_key, declared);
    if bool::from(expected.as_bytes().ct_eq(received.as_bytes())) {
        debug_assert_eq!(sign::verify(fields, &sb.merchant.api_key, declared), Ok(declared));
        Ok(declared)
    } else {
        Err(protocol_fail("签名错误"))
    }
}

/// A business failure: `result_code=FAIL` with `err_code`, signed like any business answer.
#[derive(Debug, Clone)]
pub struct BizError {
    pub code: &'static str,
    pub des: String,
    /// Fields some endpoints add to their failures (`result_msg` of closeorder).
    pub extra: Fields,
}

impl BizError {
    pub fn new(code: &'static str, des: impl Into<String>) -> BizError {
        BizError { code, des: des.into(), extra: Fields::new() }
    }

    pub fn with(mut self, key: &str, value: &str) -> BizError {
        self.extra.insert(key, value);
        self
    }
}

pub type Biz = Result<Fields, BizError>;

/// Answers `SYSTEMERROR` when the fault dice say so; the caller then changes nothing.
pub fn system_error(sb: &Sandbox, req: &Req) -> Option<Reply> {
    sb.roll_system_error().then(|| business(sb, req, Err(BizError::new("SYSTEMERROR", "系统超时"))))
}

/// The signed business answer: envelope, a fresh nonce, `result_code` and the endpoint's
/// fields, signed with the request's algorithm. No `sign_type` field, as WeChat answers.
pub fn business(sb: &Sandbox, req: &Req, result: Biz) -> Reply {
    let mut f = match result {
        Ok(biz) => {
            let mut f = biz;
            f.insert("result_code", "SUCCESS");
            f
        }
        Err(e) => {
            let mut f = e.extra;
            f.insert("result_code", "FAIL");
            f.insert("err_code", e.code);
            f.insert("err_code_des", e.des);
            f
        }
    };
    f.insert("return_code", "SUCCESS");
    f.insert("return_msg", "OK");
    f.insert("appid", sb.merchant.appid.as_str());
    f.insert("mch_id", sb.merchant.mch_id.as_str());
    f.insert("nonce_str", ids::alnum(16));
    f.insert_opt("device_info", req.get("device_info"));
    sign::sign_in_place(&mut f, &sb.merchant.api_key, req.sign_type, false);
    Reply::xml(xml::to_xml(&f))
}

// ---- shared value rules -------------------------------------------------------------------

/// `out_trade_no` / `out_refund_no` characters (§6): digits, letters and `_-|*@`.
pub fn is_trade_no(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
}

/// A positive integer amount in fen. why: digits only; `u64::from_str` would take `+1`.
pub fn parse_fen(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&v| v > 0)
}

/// A notify URL as §4.1.1 wants it: http(s), at most 256 characters, no query string.
pub fn is_notify_url(s: &str) -> bool {
    s.len() <= 256
        && !s.contains('?')
        && url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

pub fn char_len_ok(v: Option<&str>, max: usize) -> bool {
    v.is_none_or(|s| s.chars().count() <= max)
}

/// `yyyyMMddHHmmss` in Beijing time (`time_end`).
pub fn beijing_compact(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year][month][day][hour][minute][second]");
    t.to_offset(offset!(+8)).format(fmt).unwrap_or_default()
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (refund success times, bills).
pub fn beijing_dashed(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.to_offset(offset!(+8)).format(fmt).unwrap_or_default()
}

/// Reads `yyyyMMddHHmmss` as Beijing time.
pub fn parse_beijing_compact(s: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!("[year][month][day][hour][minute][second]");
    time::PrimitiveDateTime::parse(s, fmt).ok().map(|t| t.assume_offset(offset!(+8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_numbers_take_only_the_documented_characters() {
        assert!(is_trade_no("ORD_2024-01|*@", 6, 32));
        assert!(!is_trade_no("short", 6, 32));
        assert!(!is_trade_no("has space1", 6, 32));
        assert!(!is_trade_no(&"x".repeat(33), 6, 32));
    }

    #[test]
    fn amounts_are_positive_integers_without_signs() {
        assert_eq!(parse_fen("101"), Some(101));
        assert_eq!(parse_fen("0"), None);
        assert_eq!(parse_fen("+1"), None);
        assert_eq!(parse_fen("1.00"), None);
    }

    #[test]
    fn notify_urls_have_no_query_string() {
        assert!(is_notify_url("https://shop.example/wxpay/notify"));
        assert!(!is_notify_url("https://shop.example/wxpay/notify?x=1"));
        assert!(!is_notify_url("ftp://shop.example/n"));
    }

    #[test]
    fn beijing_times_round_trip() {
        let t = parse_beijing_compact("20240101120512");
        assert_eq!(t.map(beijing_compact).as_deref(), Some("20240101120512"));
        assert_eq!(t.map(beijing_dashed).as_deref(), Some("2024-01-01 12:05:12"));
    }
}
