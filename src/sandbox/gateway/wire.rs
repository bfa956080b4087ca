//! The gateway's wire: reading a request body through the protocol checks (in the order of
//! docs/wechat-pay-v2.md#where-the-sandbox-had-to-choose), and writing answers (unsigned
//! protocol FAIL, signed business answers, bill text).
//!
//! Owns the order of the protocol checks and the envelope of every answer. It must not
//! decide anything about orders or refunds: the endpoint modules do.

use rocket::Request;
use rocket::data::{Data, ToByteUnit};
use rocket::http::ContentType;
use rocket::response::{self, Responder};
use subtle::ConstantTimeEq;

use crate::sandbox::hosts::OwnHosts;
use crate::sandbox::state::{Sandbox, ids};
use crate::wxpay::messages;
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

/// The unsigned two-field FAIL of a protocol error (docs/wechat-pay-v2.md#the-answer-envelope,
/// EX-P).
pub fn protocol_fail(return_msg: &str) -> Reply {
    Reply::xml(xml::to_xml(&messages::protocol_failure(return_msg)))
}

/// downloadbill's FAIL, which carries an `error_code` (EX-20c, docs/wechat-pay-v2.md#downloadbill)
/// after `return_msg`, in WeChat's field order (`to_xml` writes fields in name order, which
/// would put it first).
pub fn bill_fail(return_msg: &str, error_code: Option<&'static str>) -> Reply {
    let head = xml::to_xml(&messages::protocol_failure(return_msg));
    let head = head.strip_suffix("</xml>").unwrap_or(&head);
    // why: WeChat wraps even the numeric code in CDATA, which `to_xml` does not for digits.
    let code = error_code.map(|c| format!("<error_code><![CDATA[{c}]]></error_code>")).unwrap_or_default();
    Reply::xml(format!("{head}{code}</xml>"))
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

/// Reads the body and runs the protocol checks in the sandbox's order
/// (docs/wechat-pay-v2.md#where-the-sandbox-had-to-choose): body, charset, XML,
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

/// The pipeline of every signed endpoint: `admit` (the protocol checks), the `SYSTEMERROR`
/// fault (which changes nothing), then the endpoint's rule `handle`, answered signed.
pub async fn serve(
    sb: &Sandbox,
    data: Data<'_>,
    needs: Needs<'_>,
    handle: impl FnOnce(&Req) -> Biz,
) -> Reply {
    let req = match admit(sb, data, needs).await {
        Ok(req) => req,
        Err(reply) => return reply,
    };
    if let Some(reply) = system_error(sb, &req) {
        return reply;
    }
    let result = handle(&req);
    business(sb, &req, result)
}

fn parse_body(bytes: &[u8]) -> Result<Fields, Reply> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(protocol_fail("post数据为空"));
    }
    // why: WeChat accepts only the 1–3 byte subset of UTF-8 (no emoji,
    // docs/wechat-pay-v2.md#transport-and-xml).
    let text = std::str::from_utf8(bytes).map_err(|_| protocol_fail("编码格式错误"))?;
    if has_four_byte_chars(text) {
        return Err(protocol_fail("编码格式错误"));
    }
    let fields = xml::parse(bytes).map_err(|e| match e {
        XmlError::Empty => protocol_fail("post数据为空"),
        XmlError::NotUtf8 => protocol_fail("编码格式错误"),
        XmlError::TooLarge => protocol_fail("post数据过大，不能超过64KB"),
        XmlError::Doctype | XmlError::WrongRoot(..) | XmlError::Duplicate(_) | XmlError::Malformed(_) => {
            protocol_fail("XML格式错误")
        }
    })?;
    // why: a character reference (`&#x1F600;`) passes the check of the raw text and only
    // becomes an emoji once decoded, so the decoded values are checked too.
    if fields.iter().any(|(_, v)| has_four_byte_chars(v)) {
        return Err(protocol_fail("编码格式错误"));
    }
    Ok(fields)
}

fn has_four_byte_chars(s: &str) -> bool {
    s.chars().any(|c| c.len_utf8() > 3)
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

/// The signed business answer (`messages::business_response`): envelope, a fresh nonce,
/// `result_code` and the endpoint's fields, the request's `device_info` echoed, signed with
/// the request's algorithm.
pub fn business(sb: &Sandbox, req: &Req, result: Biz) -> Reply {
    let (mut biz, error) = match &result {
        Ok(biz) => (biz.clone(), None),
        Err(e) => (e.extra.clone(), Some((e.code, e.des.as_str()))),
    };
    biz.insert_opt("device_info", req.get("device_info"));
    let m = &sb.merchant;
    let f = messages::business_response(
        biz,
        error,
        (&m.appid, &m.mch_id),
        &ids::alnum(16),
        &m.api_key,
        req.sign_type,
    );
    Reply::xml(xml::to_xml(&f))
}

// ---- shared value rules -------------------------------------------------------------------

/// `out_trade_no` / `out_refund_no` characters (docs/wechat-pay-v2.md#limits-and-timings):
/// digits, letters and `_-|*@`.
pub fn is_trade_no(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
}

/// A positive integer amount in fen, below 10^12 (`messages::fen`, which reads the digits).
pub fn parse_fen(s: &str) -> Option<u64> {
    messages::fen(s).filter(|v| (1..1_000_000_000_000).contains(v))
}

/// A notify URL as unifiedorder wants it (docs/wechat-pay-v2.md#request-fields-and-limits):
/// http(s), at most 256 characters, no query string.
pub fn is_notify_url(s: &str) -> bool {
    s.len() <= 256
        && !s.contains('?')
        && url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Refuses a `notify_url` that is not this shop's (see `OwnHosts::may_notify`, which says
/// why: the sandbox's merchant key is public, so any caller could otherwise aim the
/// notifier at an internal address). An absent URL passes.
pub fn check_notify_host(notify_url: Option<&str>, hosts: &OwnHosts) -> Result<(), BizError> {
    let foreign = notify_url.and_then(|u| url::Url::parse(u).ok()).is_some_and(|u| !hosts.may_notify(&u));
    if foreign {
        return Err(BizError::new(
            "INVALID_REQUEST",
            "notify_url须为本商户的地址：沙箱只通知它自己的商户（本机、public_url 或本服务器地址）/ \
             the sandbox only notifies its own shop (loopback, public_url or this server's address)",
        ));
    }
    Ok(())
}

pub fn char_len_ok(v: Option<&str>, max: usize) -> bool {
    v.is_none_or(|s| s.chars().count() <= max)
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
    fn an_emoji_written_as_a_character_reference_is_refused_like_a_raw_one() {
        for body in ["<xml><body>&#x1F600;</body></xml>", "<xml><body>\u{1F600}</body></xml>"] {
            let refused =
                parse_body(body.as_bytes()).err().map(|r| String::from_utf8(r.body).unwrap_or_default());
            assert!(refused.is_some_and(|t| t.contains("编码格式错误")), "{body}");
        }
        assert!(parse_body("<xml><body>&#x4E2D;</body></xml>".as_bytes()).is_ok(), "三-byte 中 passes");
    }
}
