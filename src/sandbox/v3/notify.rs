//! The v3 payment notification (`TRANSACTION.SUCCESS`): the envelope with its resource sealed
//! under the APIv3 key, and the signature headers of one delivery attempt
//! (docs/wechat-pay-v3.md#the-sandboxs-v3-side). Delivery itself is `notifier`'s.

use serde_json::json;

use super::V3Side;
use crate::sandbox::state::{Sandbox, SbOrder};
use crate::wxpay::v3::EncryptedResource;
use crate::wxpay::v3::response::SIGNTEST_PREFIX;

/// The envelope's JSON, built once per payment: every redelivery repeats the same id and
/// ciphertext, as WeChat's do.
pub fn payment_envelope(sb: &Sandbox, v3: &V3Side, order: &SbOrder) -> Result<String, String> {
    let plain = super::order::transaction(sb, order).to_string();
    let resource = EncryptedResource::seal(
        &v3.apiv3_key,
        plain.as_bytes(),
        "transaction",
        &crate::wxpay::v3::resource_nonce(),
        Some("transaction"),
    )
    .map_err(|e| e.to_string())?;
    Ok(json!({
        "id": uuid_like(),
        "create_time": super::order::beijing_rfc3339(sb.clock.now_utc()),
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": resource,
    })
    .to_string())
}

/// The five `Wechatpay-*` headers for one attempt, signed afresh (a retry hours later must
/// still be inside the client's 5-minute window). Under the `notify_bad_sign` fault the
/// signature is a `WECHATPAY/SIGNTEST/` probe, which a merchant must refuse.
pub fn signed_headers(v3: &V3Side, body: &str, now: i64, bad_sign: bool) -> Vec<(&'static str, String)> {
    let nonce = crate::wxpay::v3::nonce();
    let mut sig = match v3.platform.sign(body.as_bytes(), now, &nonce) {
        Ok(sig) => sig,
        Err(e) => {
            tracing::error!(error = %e, "sandbox v3: could not sign a notification");
            return Vec::new();
        }
    };
    if bad_sign {
        sig.signature = format!("{SIGNTEST_PREFIX}{}", crate::wxpay::v3::nonce());
    }
    sig.headers().iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// A random UUID-shaped id, as real notification ids are.
fn uuid_like() -> String {
    let h = crate::wxpay::v3::nonce().to_ascii_lowercase();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}
