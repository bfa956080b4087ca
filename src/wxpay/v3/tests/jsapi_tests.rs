//! The JSAPI `paySign` (V1, WeChat's official test data).

use super::*;
use crate::wxpay::v3::jsapi::{JsapiPayParams, pay_sign_message, verify_pay_params};
use crate::wxpay::v3::request::MerchantSigner;

fn v1_params() -> JsapiPayParams {
    MerchantSigner::new(MCHID, K1_SERIAL, k1())
        .jsapi_pay_params(V1_APPID, V1_PREPAY_ID, V2_TIMESTAMP, V2_NONCE)
        .expect("K1 signs")
}

#[test]
fn the_pay_sign_message_is_four_lines_with_the_prepay_id_prefix() {
    let message =
        pay_sign_message(V1_APPID, "1554208460", V2_NONCE, "prepay_id=wx201410272009395522657a690389285100");
    assert_eq!(
        message,
        b"wx2421b1c4370ec43b\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\nprepay_id=wx201410272009395522657a690389285100\n"
    );
}

#[test]
fn the_official_jsapi_test_data_signs_to_its_pay_sign() {
    let params = v1_params();
    assert_eq!(params.pay_sign, V1_PAY_SIGN);
    assert_eq!(params.package, "prepay_id=wx201410272009395522657a690389285100");
    assert_eq!(params.time_stamp, "1554208460");
    assert_eq!(params.sign_type, "RSA");
}

#[test]
fn the_app_variant_without_the_prefix_signs_to_its_own_vector() {
    let signer = MerchantSigner::new(MCHID, K1_SERIAL, k1());
    let message = pay_sign_message(V1_APPID, "1554208460", V2_NONCE, V1_PREPAY_ID);
    assert_eq!(signer.sign(&message).expect("K1 signs"), V1_APP_SIGN);
}

#[test]
fn the_bridge_object_uses_the_bridges_camel_case_names() {
    let json = serde_json::to_value(v1_params()).expect("serializes");
    let expected = serde_json::json!({
        "appId": V1_APPID,
        "timeStamp": "1554208460",
        "nonceStr": V2_NONCE,
        "package": "prepay_id=wx201410272009395522657a690389285100",
        "signType": "RSA",
        "paySign": V1_PAY_SIGN,
    });
    assert_eq!(json, expected);
}

#[test]
fn the_cashier_accepts_the_merchants_pay_sign_and_refuses_any_change() {
    let key = k1_public();
    assert!(verify_pay_params(&v1_params(), &key));
    let other_package =
        JsapiPayParams { package: "prepay_id=wx201410272009395522657a690389285101".into(), ..v1_params() };
    assert!(!verify_pay_params(&other_package, &key));
    let v2_sign_type = JsapiPayParams { sign_type: "MD5".into(), ..v1_params() };
    assert!(!verify_pay_params(&v2_sign_type, &key));
    let garbage = JsapiPayParams { pay_sign: "WECHATPAY/SIGNTEST/xyz".into(), ..v1_params() };
    assert!(!verify_pay_params(&garbage, &key));
    assert!(!verify_pay_params(&v1_params(), &k2().public_key().expect("K2's public key")));
}
