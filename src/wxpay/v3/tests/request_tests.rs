//! Request signing (V2 vectors) and the gateway's reading of `Authorization`.

use super::*;
use crate::wxpay::v3::request::{Authorization, AuthorizationError, MerchantSigner, request_message};

const ORDER_TARGET: &str = "/v3/pay/transactions/out-trade-no/1217752501201407033233368018";

fn signer() -> MerchantSigner {
    MerchantSigner::new(MCHID, K1_SERIAL, k1())
}

fn signed(method: &str, target: &str, body: &str) -> Authorization {
    signer().authorize(method, target, V2_TIMESTAMP, V2_NONCE, body.as_bytes()).expect("K1 signs")
}

/// The header of R2 with its items in the given order.
fn r2_header(order: [&str; 5]) -> String {
    let item = |name: &str| match name {
        "mchid" => format!("mchid=\"{MCHID}\""),
        "nonce_str" => format!("nonce_str=\"{V2_NONCE}\""),
        "signature" => format!("signature=\"{R2_SIG}\""),
        "timestamp" => format!("timestamp=\"{V2_TIMESTAMP}\""),
        _ => format!("serial_no=\"{K1_SERIAL}\""),
    };
    format!("WECHATPAY2-SHA256-RSA2048 {}", order.map(item).join(","))
}

fn parse_err(header: &str) -> AuthorizationError {
    Authorization::parse(header).expect_err("the header is refused")
}

#[test]
fn the_jsapi_order_message_is_five_lines_with_the_utf8_body_verbatim() {
    let message =
        request_message("POST", "/v3/pay/transactions/jsapi", "1554208460", V2_NONCE, R1_BODY.as_bytes());
    let expected = format!("POST\n/v3/pay/transactions/jsapi\n1554208460\n{V2_NONCE}\n{R1_BODY}\n");
    assert_eq!(message, expected.as_bytes());
}

#[test]
fn a_get_message_ends_with_an_empty_body_line() {
    let message = request_message("GET", "/v3/certificates", "1554208460", V2_NONCE, b"");
    assert_eq!(message, b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n");
}

#[test]
fn the_jsapi_order_signs_to_vector_r1() {
    assert_eq!(signed("POST", "/v3/pay/transactions/jsapi", R1_BODY).signature, R1_SIG);
}

#[test]
fn the_certificates_download_signs_to_vector_r2() {
    assert_eq!(signed("GET", "/v3/certificates", "").signature, R2_SIG);
}

#[test]
fn an_order_query_signs_its_query_string_to_vector_r3() {
    assert_eq!(signed("GET", &format!("{ORDER_TARGET}?mchid=1900007291"), "").signature, R3_SIG);
}

#[test]
fn closing_an_order_signs_to_vector_r4() {
    assert_eq!(
        signed("POST", &format!("{ORDER_TARGET}/close"), r#"{"mchid":"1900007291"}"#).signature,
        R4_SIG
    );
}

#[test]
fn a_pkcs1_copy_of_the_merchant_key_signs_the_same() {
    let pkcs1 = MerchantSigner::from_pem(MCHID, K1_SERIAL, K1_PKCS1_PEM).expect("PKCS#1 loads");
    let auth = pkcs1.authorize("GET", "/v3/certificates", V2_TIMESTAMP, V2_NONCE, b"").expect("signs");
    assert_eq!(auth.signature, R2_SIG);
}

#[test]
fn the_r2_authorization_header_is_byte_for_byte_the_documented_one() {
    let header = signed("GET", "/v3/certificates", "").to_header_value();
    assert_eq!(header, r2_header(["mchid", "nonce_str", "signature", "timestamp", "serial_no"]));
}

#[test]
fn a_lowercase_serial_is_sent_uppercase() {
    let signer = MerchantSigner::new(MCHID, &K1_SERIAL.to_ascii_lowercase(), k1());
    assert_eq!(signer.serial_no(), K1_SERIAL);
}

#[test]
fn the_items_parse_in_each_order_the_official_sdks_send() {
    let expected = signed("GET", "/v3/certificates", "");
    for order in [
        ["mchid", "nonce_str", "signature", "timestamp", "serial_no"],
        ["mchid", "nonce_str", "timestamp", "serial_no", "signature"],
        ["mchid", "serial_no", "timestamp", "nonce_str", "signature"],
    ] {
        assert_eq!(Authorization::parse(&r2_header(order)), Ok(expected.clone()), "{order:?}");
    }
}

#[test]
fn a_parsed_header_verifies_against_the_request_as_received() {
    let auth = Authorization::parse(&signed("POST", "/v3/pay/transactions/jsapi", R1_BODY).to_header_value())
        .expect("parses");
    let verified =
        auth.verify(&k1_public(), "POST", "/v3/pay/transactions/jsapi", R1_BODY.as_bytes(), V2_TIMESTAMP);
    assert_eq!(verified, Ok(()));
}

#[test]
fn a_one_byte_change_in_method_target_body_timestamp_or_nonce_fails_verification() {
    let auth = signed("POST", "/v3/pay/transactions/jsapi", R1_BODY);
    let key = k1_public();
    let target = "/v3/pay/transactions/jsapi";
    let mut body = R1_BODY.as_bytes().to_vec();
    body[10] ^= 1;
    let mismatch = Err(AuthorizationError::SignatureMismatch);
    assert_eq!(auth.verify(&key, "PUT", target, R1_BODY.as_bytes(), V2_TIMESTAMP), mismatch);
    assert_eq!(
        auth.verify(&key, "POST", "/v3/pay/transactions/jsapI", R1_BODY.as_bytes(), V2_TIMESTAMP),
        mismatch
    );
    assert_eq!(auth.verify(&key, "POST", target, &body, V2_TIMESTAMP), mismatch);
    let moved = Authorization { timestamp: "1554208461".into(), ..auth.clone() };
    assert_eq!(moved.verify(&key, "POST", target, R1_BODY.as_bytes(), V2_TIMESTAMP), mismatch);
    let renonced = Authorization { nonce_str: "593BEC0C930BF1AFEB40B4A08C8FB243".into(), ..auth };
    assert_eq!(renonced.verify(&key, "POST", target, R1_BODY.as_bytes(), V2_TIMESTAMP), mismatch);
}

#[test]
fn a_request_signed_by_another_key_fails_verification() {
    let auth = signed("GET", "/v3/certificates", "");
    let other = k2().public_key().expect("K2's public key");
    assert_eq!(
        auth.verify(&other, "GET", "/v3/certificates", b"", V2_TIMESTAMP),
        Err(AuthorizationError::SignatureMismatch)
    );
}

#[test]
fn a_timestamp_five_minutes_away_either_way_is_refused_and_one_second_less_is_not() {
    let auth = signed("GET", "/v3/certificates", "");
    assert_eq!(auth.check_time(V2_TIMESTAMP + 299), Ok(()));
    assert_eq!(auth.check_time(V2_TIMESTAMP - 299), Ok(()));
    assert_eq!(auth.check_time(V2_TIMESTAMP + 300), Err(AuthorizationError::StaleTimestamp { skew: 300 }));
    let early = auth.verify(&k1_public(), "GET", "/v3/certificates", b"", V2_TIMESTAMP - 300);
    assert_eq!(early, Err(AuthorizationError::StaleTimestamp { skew: -300 }));
}

#[test]
fn refusals_carry_the_sign_error_messages_wechat_answers_with() {
    assert_eq!(
        AuthorizationError::StaleTimestamp { skew: 301 }.wechat_message(),
        "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
    );
    assert_eq!(AuthorizationError::SignatureMismatch.wechat_message(), "签名信息错误,验签失败");
    assert_eq!(
        AuthorizationError::Scheme.wechat_message(),
        "Http头Authorization值格式错误,请参考《微信支付商户REST API签名规则》"
    );
}

#[test]
fn a_header_without_the_scheme_and_one_space_is_refused() {
    let good = r2_header(["mchid", "nonce_str", "signature", "timestamp", "serial_no"]);
    let items = good.trim_start_matches("WECHATPAY2-SHA256-RSA2048 ");
    assert_eq!(parse_err(items), AuthorizationError::Scheme);
    assert_eq!(parse_err(&format!("WECHATPAY2-SHA256-RSA2048{items}")), AuthorizationError::Scheme);
    assert_eq!(parse_err(&format!("wechatpay2-sha256-rsa2048 {items}")), AuthorizationError::Scheme);
    assert_eq!(parse_err(&format!("Bearer {items}")), AuthorizationError::Scheme);
}

#[test]
fn a_missing_item_is_named() {
    let four = format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCHID}\",nonce_str=\"{V2_NONCE}\",signature=\"{R2_SIG}\",timestamp=\"1554208460\""
    );
    assert_eq!(parse_err(&four), AuthorizationError::MissingItem("serial_no"));
}

#[test]
fn a_repeated_item_is_refused_even_with_the_same_value() {
    let header = format!(
        "{},mchid=\"{MCHID}\"",
        r2_header(["mchid", "nonce_str", "signature", "timestamp", "serial_no"])
    );
    assert_eq!(parse_err(&header), AuthorizationError::DuplicateItem("mchid"));
}

#[test]
fn an_unknown_item_is_refused() {
    let header =
        format!("{},appid=\"wx1\"", r2_header(["mchid", "nonce_str", "signature", "timestamp", "serial_no"]));
    assert_eq!(parse_err(&header), AuthorizationError::UnknownItem("appid".into()));
}

#[test]
fn an_item_without_quotes_or_with_a_stray_quote_is_malformed() {
    let good = r2_header(["mchid", "nonce_str", "signature", "timestamp", "serial_no"]);
    let unquoted = good.replace("mchid=\"1900007291\"", "mchid=1900007291");
    assert_eq!(parse_err(&unquoted), AuthorizationError::MalformedItem("mchid=1900007291".into()));
    let stray = good.replace("mchid=\"1900007291\"", "mchid=\"1900\"007291\"");
    assert_eq!(parse_err(&stray), AuthorizationError::MalformedItem("mchid=\"1900\"007291\"".into()));
    let trailing_comma = format!("{good},");
    assert_eq!(parse_err(&trailing_comma), AuthorizationError::MalformedItem(String::new()));
}

#[test]
fn each_malformed_value_gets_its_own_error() {
    let good = r2_header(["mchid", "nonce_str", "signature", "timestamp", "serial_no"]);
    let with = |from: &str, to: &str| parse_err(&good.replace(from, to));
    assert_eq!(
        with("mchid=\"1900007291\"", "mchid=\"19000x7291\""),
        AuthorizationError::BadMchid("19000x7291".into())
    );
    let long_nonce = "A".repeat(33);
    assert_eq!(with(V2_NONCE, &long_nonce), AuthorizationError::BadNonce(long_nonce.clone()));
    assert_eq!(with(V2_NONCE, "593BEC0C-930B"), AuthorizationError::BadNonce("593BEC0C-930B".into()));
    assert_eq!(
        with(K1_SERIAL, "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DG"),
        AuthorizationError::BadSerial("408B07E79B8269FEC3D5D3E6AB8ED163A6A380DG".into())
    );
    assert_eq!(with(R2_SIG, "not base64!"), AuthorizationError::BadSignatureEncoding);
}

#[test]
fn a_timestamp_in_milliseconds_or_with_a_sign_or_leading_zero_is_refused() {
    let good = r2_header(["mchid", "nonce_str", "signature", "timestamp", "serial_no"]);
    for bad in ["1554208460000", "+1554208460", "01554208460", "", "155420846a"] {
        let header = good.replace("timestamp=\"1554208460\"", &format!("timestamp=\"{bad}\""));
        assert_eq!(parse_err(&header), AuthorizationError::BadTimestamp(bad.into()), "{bad:?}");
    }
}

#[test]
fn nonces_have_the_shapes_of_wechats_examples_and_do_not_repeat() {
    let (a, b) = (crate::wxpay::v3::nonce(), crate::wxpay::v3::nonce());
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{a}");
    assert_ne!(a, b);
    let r = crate::wxpay::v3::resource_nonce();
    assert_eq!(r.len(), 12);
    assert!(r.bytes().all(|c| c.is_ascii_alphanumeric()), "{r}");
}
