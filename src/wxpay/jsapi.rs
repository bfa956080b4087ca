//! The parameters of `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` and their `paySign`.
//!
//! Owns the second signature of a JSAPI payment. It must not reuse the unifiedorder
//! answer's `sign`: `paySign` covers exactly appId, nonceStr, package, signType, timeStamp.

use subtle::ConstantTimeEq;

use super::sign::{self, ApiKey, SignType};

/// What the pay page hands to the bridge, with the bridge's own (camelCase) names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[allow(non_snake_case)] // why: the field names are WeChat's JSON keys, serialized verbatim.
pub struct JsapiPayParams {
    pub appId: String,
    /// Seconds since the epoch, as a string (the bridge rejects a number).
    pub timeStamp: String,
    pub nonceStr: String,
    /// `prepay_id=<prepay_id>`.
    pub package: String,
    pub signType: String,
    pub paySign: String,
}

/// The signed pairs in byte order of their names (`appId` < `nonceStr` < `package` < `signType` < `timeStamp`).
fn signed_pairs(p: &JsapiPayParams) -> [(&str, &str); 5] {
    [
        ("appId", p.appId.as_str()),
        ("nonceStr", p.nonceStr.as_str()),
        ("package", p.package.as_str()),
        ("signType", p.signType.as_str()),
        ("timeStamp", p.timeStamp.as_str()),
    ]
}

/// Builds and signs the bridge parameters; `sign_type` must be the one of the unifiedorder.
pub fn pay_params(
    appid: &str,
    prepay_id: &str,
    key: &ApiKey,
    sign_type: SignType,
    timestamp: i64,
    nonce: &str,
) -> JsapiPayParams {
    let mut p = JsapiPayParams {
        appId: appid.to_owned(),
        timeStamp: timestamp.to_string(),
        nonceStr: nonce.to_owned(),
        package: format!("prepay_id={prepay_id}"),
        signType: sign_type.as_str().to_owned(),
        paySign: String::new(),
    };
    p.paySign = sign::sign_pairs(signed_pairs(&p).into_iter(), key, sign_type);
    p
}

/// Whether `paySign` is right for the other five parameters (the sandbox bridge checks it).
pub fn verify_pay_params(params: &JsapiPayParams, key: &ApiKey) -> bool {
    let Some(sign_type) = SignType::parse(&params.signType) else {
        return false;
    };
    let expected = sign::sign_pairs(signed_pairs(params).into_iter(), key, sign_type);
    bool::from(expected.as_bytes().ct_eq(params.paySign.as_bytes()))
}
