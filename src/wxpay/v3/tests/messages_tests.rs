//! The JSON types: V6's envelope and transaction, V7's refund, the official error example.

use super::*;
use crate::wxpay::v3::aead::ApiV3Key;
use crate::wxpay::v3::messages::{
    ErrorBody, NotificationEnvelope, RefundNotification, RefundStatus, TradeState, Transaction,
};

#[test]
fn the_v6_notification_opens_into_a_paid_transaction() {
    let envelope: NotificationEnvelope = serde_json::from_str(&v6_body()).expect("the envelope parses");
    assert_eq!(envelope.event_type, "TRANSACTION.SUCCESS");
    assert_eq!(envelope.resource.original_type.as_deref(), Some("transaction"));
    let plain = envelope.resource.decrypt(&ApiV3Key::new(K3).expect("32 bytes")).expect("opens");
    let tx: Transaction = serde_json::from_slice(&plain).expect("the transaction parses");
    assert_eq!(tx.trade_state, TradeState::Success);
    assert_eq!(tx.out_trade_no, "1217752501201407033233368018");
    assert_eq!(tx.transaction_id.as_deref(), Some("4200000000202311151234567890"));
    assert_eq!(tx.amount.as_ref().and_then(|a| a.total), Some(100));
    assert_eq!(tx.payer.map(|p| p.openid).as_deref(), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
    assert_eq!(tx.attach.as_deref(), Some(""));
}

#[test]
fn the_v7_resource_parses_as_a_successful_refund() {
    let refund: RefundNotification = serde_json::from_str(V7_PLAINTEXT).expect("parses");
    assert_eq!(refund.refund_status, RefundStatus::Success);
    assert_eq!(refund.amount.refund, 100);
    assert_eq!(refund.user_received_account, "支付用户零钱");
    assert_eq!(refund.success_time.as_deref(), Some("2023-11-16T10:00:00+08:00"));
}

#[test]
fn an_unpaid_order_with_only_the_always_present_fields_parses() {
    let json = r#"{"appid":"wx1","mchid":"1","out_trade_no":"abc123","trade_state":"NOTPAY","trade_state_desc":"订单未支付","new_field":1}"#;
    let tx: Transaction = serde_json::from_str(json).expect("parses");
    assert_eq!(tx.trade_state, TradeState::NotPay);
    assert_eq!((tx.transaction_id, tx.amount, tx.payer), (None, None, None));
}

#[test]
fn an_unknown_state_reads_as_unknown_instead_of_failing_the_message() {
    let json = r#"{"appid":"wx1","mchid":"1","out_trade_no":"abc123","trade_state":"SOMETHING_NEW","trade_state_desc":""}"#;
    assert_eq!(serde_json::from_str::<Transaction>(json).expect("parses").trade_state, TradeState::Unknown);
    for (text, state) in [("USERPAYING", TradeState::UserPaying), ("PAYERROR", TradeState::PayError)] {
        assert_eq!(serde_json::from_value::<TradeState>(serde_json::json!(text)).expect("parses"), state);
    }
}

#[test]
fn the_official_error_example_parses_with_its_detail() {
    let json = r#"{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/amount/currency","value":"XYZ","issue":"Currency code is invalid","location":"body"}}"#;
    let body: ErrorBody = serde_json::from_str(json).expect("parses");
    assert_eq!(body.code, "PARAM_ERROR");
    let detail = body.detail.expect("has detail");
    assert_eq!(detail.field.as_deref(), Some("/amount/currency"));
    assert_eq!(detail.value, Some(serde_json::json!("XYZ")));
    assert_eq!(detail.location.as_deref(), Some("body"));
}

#[test]
fn an_error_without_detail_serializes_to_code_and_message_only() {
    let body = ErrorBody { code: "SIGN_ERROR".into(), message: "签名错误".into(), detail: None };
    assert_eq!(
        serde_json::to_string(&body).expect("serializes"),
        r#"{"code":"SIGN_ERROR","message":"签名错误"}"#
    );
}
