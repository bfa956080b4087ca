//! The v3 parameters of `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` and their RSA
//! `paySign` over `appId\ntimeStamp\nnonceStr\npackage\n`.
//!
//! Owns the message and the object the pay page hands to the bridge. It must not be mixed
//! with v2's `paySign`: a prepay_id from a v3 order pays only with an RSA `paySign`
//! (docs/wechat-pay-v3.md#jsapi-paysign).

use super::keys::{KeyError, RsaPublicKey};
use super::request::MerchantSigner;

/// The only `signType` of v3 (it is not part of the signed message).
pub const SIGN_TYPE_RSA: &str = "RSA";

/// What the pay page hands to the bridge, with the bridge's own camelCase names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsapiPayParams {
    /// The appid of the order (`appId`, capital I, unlike the API's `appid`).
    pub app_id: String,
    /// Unix seconds as a string (the bridge rejects a number).
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=<prepay_id>`: the prefix is part of the value and of the signature.
    pub package: String,
    /// Always `RSA`.
    pub sign_type: String,
    pub pay_sign: String,
}

/// `appId\ntimeStamp\nnonceStr\npackage\n`.
pub fn pay_sign_message(app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> Vec<u8> {
    format!("{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n").into_bytes()
}

impl MerchantSigner {
    /// Builds and signs the bridge parameters for a v3 `prepay_id`, with the merchant key that
    /// signs API requests.
    pub fn jsapi_pay_params(
        &self,
        app_id: &str,
        prepay_id: &str,
        timestamp: i64,
        nonce: &str,
    ) -> Result<JsapiPayParams, KeyError> {
        let time_stamp = timestamp.to_string();
        let package = format!("prepay_id={prepay_id}");
        let pay_sign = self.sign(&pay_sign_message(app_id, &time_stamp, nonce, &package))?;
        Ok(JsapiPayParams {
            app_id: app_id.to_owned(),
            time_stamp,
            nonce_str: nonce.to_owned(),
            package,
            sign_type: SIGN_TYPE_RSA.to_owned(),
            pay_sign,
        })
    }
}

/// Whether `paySign` is the merchant's signature of the other fields and `signType` is `RSA`
/// (what the sandbox's cashier checks, with the merchant's public key).
pub fn verify_pay_params(params: &JsapiPayParams, merchant_key: &RsaPublicKey) -> bool {
    params.sign_type == SIGN_TYPE_RSA
        && merchant_key.verify_base64(
            &pay_sign_message(&params.app_id, &params.time_stamp, &params.nonce_str, &params.package),
            &params.pay_sign,
        )
}
