//! v3 refunds: the answer and its query, the refusals in WeChat's words (each changing
//! nothing), and the encrypted, signed `REFUND.SUCCESS` notification.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wxcheckout::sandbox::v3::SANDBOX_APIV3_KEY;
use wxcheckout::wxpay::v3::messages::NotificationEnvelope;
use wxcheckout::wxpay::v3::{ApiV3Key, VerifyError, WechatpaySignature};

use super::{Answer, Client, MCHID, NOTIFY, assert_refused, client, now, out_trade_no};
use crate::helpers::receiver::Receiver;
use crate::helpers::{self, WITHIN};

const REFUNDS: &str = "/sandbox/v3/refund/domestic/refunds";

fn refund_body(out_trade_no: &str, out_refund_no: &str, refund: u64, total: u64) -> Value {
    json!({
        "out_trade_no": out_trade_no,
        "out_refund_no": out_refund_no,
        "reason": "商品已售完",
        "amount": {"refund": refund, "total": total, "currency": "CNY"},
    })
}

impl Client {
    async fn refund(&self, body: &Value) -> Answer {
        self.send("POST", REFUNDS, &body.to_string()).await
    }

    async fn query_refund(&self, out_refund_no: &str) -> Answer {
        self.send("GET", &format!("{REFUNDS}/{out_refund_no}"), "").await
    }

    fn refund_count(&self, out_trade_no: &str) -> usize {
        self.sb.state().orders.get(out_trade_no).map_or(0, |o| o.refunds.len())
    }
}

#[tokio::test]
async fn a_partial_refund_is_accepted_queried_and_notified_encrypted_under_the_published_key() {
    let c = client().await;
    let receiver = Receiver::start().await;
    let (no, tx) = c.paid_order(1234, NOTIFY).await;
    let mut body = refund_body(&no, &format!("R{no}"), 234, 1234);
    body["notify_url"] = json!(receiver.url);
    let a = c.refund(&body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    c.assert_signed(&a);
    let r = a.json();
    assert_eq!((r["status"].as_str(), r["transaction_id"].as_str()), (Some("PROCESSING"), Some(tx.as_str())));
    assert_eq!((r["amount"]["refund"].as_u64(), r["amount"]["total"].as_u64()), (Some(234), Some(1234)));
    assert!(r["refund_id"].as_str().unwrap().starts_with("50"));
    assert_eq!(r["channel"], "ORIGINAL");

    let got = receiver.wait_for(1, WITHIN).await;
    let sig = WechatpaySignature::from_headers(|h| got[0].header(h)).unwrap();
    c.verifier.verify(&sig, got[0].body.as_bytes(), now()).unwrap();
    let envelope: NotificationEnvelope = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!((envelope.event_type.as_str(), envelope.summary.as_str()), ("REFUND.SUCCESS", "退款成功"));
    assert_eq!(envelope.resource.original_type.as_deref(), Some("refund"));
    assert_eq!(envelope.resource.associated_data.as_deref(), Some("refund"));
    let plain = envelope.resource.decrypt_to_string(&ApiV3Key::new(SANDBOX_APIV3_KEY).unwrap()).unwrap();
    let refund: Value = serde_json::from_str(&plain).unwrap();
    assert_eq!(refund["refund_status"], "SUCCESS");
    assert_eq!(refund["out_refund_no"], format!("R{no}"));
    assert_eq!(refund["mchid"], MCHID);
    assert_eq!(
        refund["amount"],
        json!({"total": 1234, "refund": 234, "payer_total": 1234, "payer_refund": 234})
    );

    let q = c.query_refund(&format!("R{no}")).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text());
    c.assert_signed(&q);
    assert_eq!(q.json()["status"], "SUCCESS");
    assert!(q.json()["success_time"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(c.query(&no).await.json()["trade_state"], "REFUND");
    assert_eq!(
        c.sb.state().by_refund_no.get(&format!("R{no}")),
        Some(&no),
        "the refund is in the state v2's refundquery and the bill read"
    );
}

#[tokio::test]
async fn the_same_out_refund_no_returns_the_same_refund_and_with_another_amount_is_refused() {
    let c = client().await;
    let (no, _) = c.paid_order(1000, NOTIFY).await;
    let first = c.refund(&refund_body(&no, "RF-1", 300, 1000)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let again = c.refund(&refund_body(&no, "RF-1", 300, 1000)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["refund_id"], first.json()["refund_id"]);
    let changed = c.refund(&refund_body(&no, "RF-1", 400, 1000)).await;
    assert_refused(&changed, 400, "INVALID_REQUEST");
    assert_eq!(changed.json()["message"], "订单金额或退款金额与之前请求不一致，请核实后再试");
    assert_eq!(c.refund_count(&no), 1, "one refund per out_refund_no");
}

#[tokio::test]
async fn a_refund_above_what_is_left_or_with_a_wrong_total_is_refused_and_changes_nothing() {
    let c = client().await;
    let (no, tx) = c.paid_order(1000, NOTIFY).await;
    assert_eq!(c.refund(&refund_body(&no, "RA-1", 800, 1000)).await.status, StatusCode::OK);
    let over = c.refund(&refund_body(&no, "RA-2", 201, 1000)).await;
    assert_refused(&over, 400, "INVALID_REQUEST");
    assert_eq!(over.json()["message"], "申请退款金额超过订单可退金额");
    let total = c.refund(&refund_body(&no, "RA-3", 100, 999)).await;
    assert_refused(&total, 400, "INVALID_REQUEST");
    assert_eq!(c.refund_count(&no), 1);
    assert!(!c.sb.state().by_refund_no.contains_key("RA-2"));
    let mut by_tx = refund_body(&no, "RA-4", 200, 1000);
    by_tx.as_object_mut().unwrap().remove("out_trade_no");
    by_tx["transaction_id"] = json!(tx);
    let rest = c.refund(&by_tx).await;
    assert_eq!(rest.status, StatusCode::OK, "the rest, named by transaction_id: {}", rest.text());
}

#[tokio::test]
async fn an_unpaid_or_unknown_order_is_not_refunded() {
    let c = client().await;
    let no = out_trade_no();
    c.order("native", &super::native_body(&no, NOTIFY)).await;
    let unpaid = c.refund(&refund_body(&no, "RU-1", 1, 1234)).await;
    assert_refused(&unpaid, 404, "RESOURCE_NOT_EXISTS");
    assert_eq!(unpaid.json()["message"], "未支付的订单不能发起退款");
    let unknown = c.refund(&refund_body("NOSUCHORDER1", "RU-2", 1, 1234)).await;
    assert_refused(&unknown, 404, "RESOURCE_NOT_EXISTS");
    assert_eq!(unknown.json()["message"], "订单号不存在");
    assert_eq!(c.query(&no).await.json()["trade_state"], "NOTPAY");
    assert!(c.sb.state().by_refund_no.is_empty());
}

#[tokio::test]
async fn a_refund_body_missing_or_breaking_a_field_is_refused_naming_it() {
    let c = client().await;
    let (no, _) = c.paid_order(1000, NOTIFY).await;
    let cases: [(&str, Value, &str); 6] = [
        ("out_trade_no", Value::Null, "/out_trade_no"),
        ("out_refund_no", json!("R#1"), "/out_refund_no"),
        ("amount", json!({"refund": 1, "total": 1000}), "/amount/currency"),
        ("amount", json!({"refund": 0, "total": 1000, "currency": "CNY"}), "/amount/refund"),
        ("notify_url", json!("http://shop.example/refund"), "/notify_url"),
        ("funds_account", json!("BASIC"), "/funds_account"),
    ];
    for (field, value, pointer) in cases {
        let mut body = refund_body(&no, "RB-1", 1, 1000);
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        let a = c.refund(&body).await;
        assert_refused(&a, 400, "PARAM_ERROR");
        assert_eq!(a.json()["detail"]["field"], pointer, "{}", a.text());
    }
    assert_eq!(c.refund_count(&no), 0);
}

#[tokio::test]
async fn querying_an_unknown_refund_is_refused_with_resource_not_exists() {
    let c = client().await;
    assert_refused(&c.query_refund("NOSUCHREFUND").await, 404, "RESOURCE_NOT_EXISTS");
}

#[tokio::test]
async fn under_the_system_error_fault_a_refund_answers_500_and_changes_nothing() {
    let c = client().await;
    let (no, _) = c.paid_order(1000, NOTIFY).await;
    let mut faults = c.sb.faults();
    faults.system_error_rate = 1.0;
    c.sb.set_faults(faults);
    assert_refused(&c.refund(&refund_body(&no, "RS-1", 1, 1000)).await, 500, "SYSTEM_ERROR");
    assert_refused(&c.query_refund("RS-1").await, 500, "SYSTEM_ERROR");
    assert_eq!(c.refund_count(&no), 0);
}

#[tokio::test]
async fn under_the_bad_sign_fault_a_refund_notification_carries_a_probe_signature_and_is_retried() {
    let c = client().await;
    let receiver = Receiver::start().await;
    receiver
        .script([helpers::receiver::Reply::Answer(401, r#"{"code":"FAIL","message":"失败"}"#.to_owned())]);
    let (no, _) = c.paid_order(1000, NOTIFY).await;
    let mut faults = c.sb.faults();
    faults.notify_bad_sign = true;
    c.sb.set_faults(faults);
    let mut body = refund_body(&no, "RP-1", 1000, 1000);
    body["notify_url"] = json!(receiver.url);
    assert_eq!(c.refund(&body).await.status, StatusCode::OK);
    let got = receiver.wait_for(2, WITHIN).await;
    let sig = WechatpaySignature::from_headers(|h| got[0].header(h)).unwrap();
    assert_eq!(c.verifier.verify(&sig, got[0].body.as_bytes(), now()), Err(VerifyError::SignatureProbe));
    assert_eq!(got[0].body, got[1].body, "the retry repeats the same notification");
}

#[tokio::test]
async fn under_the_extra_fields_fault_a_refund_notification_has_a_new_field_inside_its_signature() {
    let c = client().await;
    let receiver = Receiver::start().await;
    let (no, _) = c.paid_order(1000, NOTIFY).await;
    let mut faults = c.sb.faults();
    faults.notify_extra_fields = true;
    c.sb.set_faults(faults);
    let mut body = refund_body(&no, "RX-1", 10, 1000);
    body["notify_url"] = json!(receiver.url);
    assert_eq!(c.refund(&body).await.status, StatusCode::OK);
    let got = receiver.wait_for(1, WITHIN).await;
    let sig = WechatpaySignature::from_headers(|h| got[0].header(h)).unwrap();
    c.verifier.verify(&sig, got[0].body.as_bytes(), now()).unwrap();
    assert_eq!(got[0].json()["sandbox_extra_field"], "unknown-field-test");
    let envelope: NotificationEnvelope = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(envelope.event_type, "REFUND.SUCCESS", "a client that ignores unknown fields still reads it");
}

#[tokio::test]
async fn an_out_refund_no_already_used_for_another_order_is_refused() {
    let c = client().await;
    let (first, _) = c.paid_order(500, NOTIFY).await;
    let (second, _) = c.paid_order(500, NOTIFY).await;
    assert_eq!(c.refund(&refund_body(&first, "RO-1", 100, 500)).await.status, StatusCode::OK);
    let a = c.refund(&refund_body(&second, "RO-1", 100, 500)).await;
    assert_refused(&a, 400, "INVALID_REQUEST");
    assert_eq!(a.json()["message"], "商户退款单号已用于其他订单");
    assert_eq!((c.refund_count(&first), c.refund_count(&second)), (1, 0));
    assert_eq!(
        c.query(&second).await.json()["trade_state"],
        "SUCCESS",
        "the refused refund left the order paid"
    );
}
