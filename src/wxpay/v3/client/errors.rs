//! A v3 refusal (`{code, message}` with its HTTP status) as the `wxpay::Error` the checkout
//! already handles for v2, so the use cases match one set of words whatever the API version
//! (docs/wechat-pay-v3.md#errors-as-the-checkout-sees-them).
//!
//! Owns the table of codes and statuses. It must not decide what the checkout does with them.

use crate::wxpay::error::Error;
use crate::wxpay::xml::Fields;

use super::super::messages::ErrorBody;

/// Which call a refusal answered: a few codes mean different things per endpoint
/// (`RESOURCE_NOT_EXISTS` is "no such order" for a refund and "no such refund" for its query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Order,
    Query,
    Close,
    Refund,
    RefundQuery,
    Bill,
    Certificates,
}

impl Call {
    /// The endpoint, as summarised log lines name it.
    pub fn label(self) -> &'static str {
        match self {
            Call::Order => "v3 order",
            Call::Query => "v3 query",
            Call::Close => "v3 close",
            Call::Refund => "v3 refund",
            Call::RefundQuery => "v3 refund query",
            Call::Bill => "v3 trade bill",
            Call::Certificates => "v3 certificates",
        }
    }
}

/// The v2 `err_code` a v3 `code` stands for, where the checkout matches on it.
///
/// why translate instead of teaching the checkout v3 words: the checkout's rules (ORDERPAID is
/// proved by a query, ORDERNOTEXIST never closes an order by itself, SYSTEMERROR is retried
/// once) are the same rules in v3, and one spelling keeps them in one place.
fn v2_code(call: Call, code: &str) -> Option<&'static str> {
    Some(match (call, code) {
        (_, "SYSTEM_ERROR" | "SYSTEMERROR" | "BANK_ERROR" | "SERVICE_UNAVAILABLE") => "SYSTEMERROR",
        (_, "ORDER_NOT_EXIST" | "ORDERNOTEXIST") => "ORDERNOTEXIST",
        (Call::Refund, "RESOURCE_NOT_EXISTS") => "ORDERNOTEXIST",
        (Call::RefundQuery, "RESOURCE_NOT_EXISTS") => "REFUNDNOTEXIST",
        (_, "ORDER_PAID" | "ORDERPAID") => "ORDERPAID",
        (_, "ORDER_CLOSED" | "ORDERCLOSED") => "ORDERCLOSED",
        (_, "NOT_ENOUGH" | "NOTENOUGH") => "NOTENOUGH",
        (_, "NO_AUTH") => "NOAUTH",
        (_, "FREQUENCY_LIMITED" | "RATELIMIT_EXCEEDED" | "RATE_LIMITED") => "FREQUENCY_LIMITED",
        (_, "APPID_MCHID_NOT_MATCH") => "APPID_MCHID_NOT_MATCH",
        (_, "OUT_TRADE_NO_USED") => "OUT_TRADE_NO_USED",
        _ => return None,
    })
}

/// A 4xx/5xx answer as a `wxpay::Error`. `body` is what came back (a JSON error body, or
/// anything else a proxy put there).
pub fn from_status(call: Call, status: u16, body: &[u8]) -> Error {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok().filter(|b| !b.code.is_empty());
    let Some(e) = parsed else {
        // why: no `{code, message}` means WeChat's gateway did not answer (a proxy, a load
        // balancer): v2 treats a non-200 the same way, as no answer, safe to repeat.
        return Error::Transport(format!("HTTP {status} without a WeChat Pay error body"));
    };
    // why SIGN_ERROR is Protocol: it is v2's unsigned `return_code=FAIL` "签名错误", a
    // refusal of who asks (our key, serial or clock), not of what was asked.
    if e.code == "SIGN_ERROR" {
        return Error::Protocol { return_msg: e.message.trim().to_owned(), error_code: Some(e.code) };
    }
    // why v2's words: the reconciliation treats "No Bill Exist" as a day without trades
    // (docs/wechat-pay-v2.md#downloadbill); v3 says it as 400 NO_STATEMENT_EXIST.
    if call == Call::Bill && e.code == "NO_STATEMENT_EXIST" {
        return Error::Protocol { return_msg: "No Bill Exist".to_owned(), error_code: Some(e.code) };
    }
    let err_code = match v2_code(call, &e.code) {
        Some(c) => c.to_owned(),
        // why: any 5xx is WeChat's own failure, retried with the same parameters
        // (docs: "500/501/503 … 请使用相同参数重试") whatever code it carries.
        None if status >= 500 => "SYSTEMERROR".to_owned(),
        None => e.code.clone(),
    };
    Error::Business { err_code, err_code_des: e.message.clone(), raw: raw_fields(status, &e) }
}

/// What the order's timeline keeps of the refusal (the v2 client keeps the answer's fields).
fn raw_fields(status: u16, e: &ErrorBody) -> Fields {
    let mut f = Fields::new();
    f.insert("http_status", status.to_string());
    f.insert("code", e.code.clone());
    f.insert("message", e.message.clone());
    if let Some(detail) = &e.detail {
        f.insert("detail", serde_json::to_string(detail).unwrap_or_default());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(call: Call, status: u16, body: &str) -> Error {
        from_status(call, status, body.as_bytes())
    }

    #[test]
    fn order_codes_become_the_v2_err_codes_the_checkout_matches_on() {
        let cases = [
            (Call::Query, 404, "ORDER_NOT_EXIST", "ORDERNOTEXIST"),
            (Call::Close, 400, "ORDER_PAID", "ORDERPAID"),
            (Call::Order, 400, "ORDER_CLOSED", "ORDERCLOSED"),
            (Call::Order, 403, "OUT_TRADE_NO_USED", "OUT_TRADE_NO_USED"),
            (Call::Refund, 404, "RESOURCE_NOT_EXISTS", "ORDERNOTEXIST"),
            (Call::RefundQuery, 404, "RESOURCE_NOT_EXISTS", "REFUNDNOTEXIST"),
            (Call::Refund, 403, "NOT_ENOUGH", "NOTENOUGH"),
            (Call::Order, 400, "PARAM_ERROR", "PARAM_ERROR"),
        ];
        for (call, status, code, v2) in cases {
            let e = err(call, status, &format!(r#"{{"code":"{code}","message":"m"}}"#));
            assert_eq!(e.err_code(), Some(v2), "{code}");
            assert!(!e.is_retryable(), "{code} is not retried");
        }
    }

    #[test]
    fn a_5xx_is_a_retryable_systemerror_whatever_its_code() {
        for (status, code) in [(500, "SYSTEM_ERROR"), (503, "SERVICE_UNAVAILABLE"), (500, "SOMETHING_NEW")] {
            let e = err(Call::Order, status, &format!(r#"{{"code":"{code}","message":"忙"}}"#));
            assert_eq!(e.err_code(), Some("SYSTEMERROR"));
            assert!(e.is_retryable());
        }
    }

    #[test]
    fn a_rate_limited_request_is_sent_again_later_with_the_same_parameters() {
        for code in ["FREQUENCY_LIMITED", "RATELIMIT_EXCEEDED"] {
            let e = err(Call::Refund, 429, &format!(r#"{{"code":"{code}","message":"频率超限"}}"#));
            assert_eq!(e.err_code(), Some("FREQUENCY_LIMITED"));
            assert!(e.is_retryable(), "{code}: WeChat took nothing and asks to come back");
        }
    }

    #[test]
    fn a_day_without_a_bill_reads_as_v2s_no_bill_exist() {
        let e = err(Call::Bill, 400, r#"{"code":"NO_STATEMENT_EXIST","message":"请求的账单文件不存在"}"#);
        assert!(
            matches!(e, Error::Protocol { ref return_msg, .. } if return_msg == "No Bill Exist"),
            "{e:?}"
        );
    }

    #[test]
    fn a_status_without_a_wechat_error_body_is_no_answer() {
        let e = err(Call::Query, 502, "<html>Bad Gateway</html>");
        assert!(matches!(e, Error::Transport(_)) && e.is_retryable());
    }

    #[test]
    fn sign_error_is_a_protocol_refusal_with_wechats_words_trimmed() {
        let e = err(Call::Order, 401, r#"{"code":"SIGN_ERROR","message":" 签名信息错误,验签失败"}"#);
        match e {
            Error::Protocol { return_msg, error_code } => {
                assert_eq!(return_msg, "签名信息错误,验签失败");
                assert_eq!(error_code.as_deref(), Some("SIGN_ERROR"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_refusal_keeps_its_status_code_message_and_detail_for_the_timeline() {
        let body = r#"{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/amount/total","location":"body"}}"#;
        let Error::Business { raw, err_code_des, .. } = err(Call::Order, 400, body) else { panic!() };
        assert_eq!(err_code_des, "参数错误");
        assert_eq!(raw.get("http_status"), Some("400"));
        assert!(raw.get("detail").is_some_and(|d| d.contains("/amount/total")));
    }
}
