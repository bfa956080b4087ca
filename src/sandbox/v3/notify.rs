//! The v3 notifications, payment (`TRANSACTION.SUCCESS`) and refund (`REFUND.SUCCESS`): the
//! envelope with its resource sealed under the APIv3 key, and the signature headers of one
//! delivery attempt (docs/wechat-pay-v3.md#the-sandboxs-v3-side). Delivery itself is `notifier`'s.

use serde_json::{Value, json};

use super::{KeyMode, V3Side};
use crate::sandbox::state::{Sandbox, SbOrder, SbRefund};
use crate::wxpay::v3::EncryptedResource;
use crate::wxpay::v3::response::SIGNTEST_PREFIX;

/// The payment notification's JSON, built once per payment: every redelivery repeats the same
/// id and ciphertext, as WeChat's do.
pub fn payment_envelope(sb: &Sandbox, v3: &V3Side, order: &SbOrder) -> Result<String, String> {
    let plain = super::order::transaction(sb, order).to_string();
    envelope(sb, v3, &plain, "transaction", "TRANSACTION.SUCCESS", "支付成功")
}

/// The refund notification's JSON, built once when the refund succeeds.
pub fn refund_envelope(
    sb: &Sandbox,
    v3: &V3Side,
    order: &SbOrder,
    refund: &SbRefund,
) -> Result<String, String> {
    let plain = refund_resource(sb, order, refund).to_string();
    envelope(sb, v3, &plain, "refund", "REFUND.SUCCESS", "退款成功")
}

fn envelope(
    sb: &Sandbox,
    v3: &V3Side,
    plain: &str,
    kind: &str,
    event_type: &str,
    summary: &str,
) -> Result<String, String> {
    let resource = EncryptedResource::seal(
        &v3.apiv3_key,
        plain.as_bytes(),
        kind,
        &crate::wxpay::v3::resource_nonce(),
        Some(kind),
    )
    .map_err(|e| e.to_string())?;
    Ok(json!({
        "id": uuid_like(),
        "create_time": super::order::beijing_rfc3339(sb.clock.now_utc()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": resource,
    })
    .to_string())
}

/// The decrypted resource of a refund notification (its documented fields).
fn refund_resource(sb: &Sandbox, order: &SbOrder, r: &SbRefund) -> Value {
    let mut v = json!({
        "mchid": sb.merchant.mch_id,
        "out_trade_no": order.out_trade_no,
        "transaction_id": order.payment.as_ref().map(|p| p.transaction_id.clone()).unwrap_or_default(),
        "out_refund_no": r.out_refund_no,
        "refund_id": r.refund_id,
        "refund_status": r.status.as_str(),
        "user_received_account": super::refund::RECEIVED_ACCOUNT,
        "amount": {
            "total": order.total_fee,
            "refund": r.refund_fee,
            "payer_total": order.total_fee,
            "payer_refund": r.refund_fee,
        },
    });
    if let Some(t) = r.success_time {
        v["success_time"] = json!(super::order::beijing_rfc3339(t));
    }
    v
}

/// Under the `notify_extra_fields` fault: the envelope with a field WeChat may add one day,
/// which a client must verify over and otherwise ignore.
pub fn with_extra_field(envelope: &str) -> String {
    match serde_json::from_str::<Value>(envelope) {
        Ok(Value::Object(mut m)) => {
            m.insert("sandbox_extra_field".to_owned(), json!("unknown-field-test"));
            Value::Object(m).to_string()
        }
        _ => envelope.to_owned(),
    }
}

/// The five `Wechatpay-*` headers for one attempt, signed afresh in `mode` (a retry hours
/// later must still be inside the client's 5-minute window). Under the `notify_bad_sign` fault
/// the signature is a `WECHATPAY/SIGNTEST/` probe, which a merchant must refuse.
pub fn signed_headers(
    v3: &V3Side,
    mode: KeyMode,
    body: &str,
    now: i64,
    bad_sign: bool,
) -> Vec<(&'static str, String)> {
    let nonce = crate::wxpay::v3::nonce();
    let mut sig = match v3.signer(mode).sign(body.as_bytes(), now, &nonce) {
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
