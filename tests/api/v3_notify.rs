//! A shop on `wxpay.api_version = "v3"` taking WeChat Pay v3 payment and refund notifications
//! at `POST /wxpay/v3/notify` and `POST /wxpay/v3/refund-notify`: signed with the key the in-process sandbox signs with, the
//! resource sealed under the sandbox merchant's APIv3 key, applied like a v2 notification
//! (once, durable before the 204), and a forged or undecryptable one refused with v3's
//! `{code, message}` and nothing changed.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wxcheckout::checkout::rejected::Reason;
use wxcheckout::config::{Config, SANDBOX_APPID, SANDBOX_MCH_ID};
use wxcheckout::domain::{EventKind, OrderStatus};
use wxcheckout::sandbox::v3::{KeyMode, SANDBOX_APIV3_KEY, V3Side};
use wxcheckout::wxpay::v3::{ApiV3Key, EncryptedResource};

use crate::helpers::live::{attempt, new_order};
use crate::helpers::{self, ShopHandle, TestServer};

/// The shop in sandbox mode on v3, and its data directory (where the sandbox's key is).
async fn v3_shop(v3: bool) -> (TestServer, ShopHandle, PathBuf) {
    let mut dir = PathBuf::new();
    let (server, shop) = helpers::spawn_shop_with_checkout(|c| {
        dir = c.data_dir.clone();
        if v3 {
            let toml = format!(
                "port = 0\naddress = \"127.0.0.1\"\ndata_dir = {:?}\norder_ttl_minutes = 30\n[wxpay]\napi_version = \"v3\"\n",
                dir.display().to_string()
            );
            c.wxpay = Config::from_figment(&Figment::from(Toml::string(&toml))).unwrap().wxpay;
        }
    })
    .await;
    (server, shop, dir)
}

/// A pending order of `fee` with one attempt: its number and the attempt's `out_trade_no`.
fn pending_order(shop: &ShopHandle, fee: u64) -> (String, String) {
    let id = shop.store.next_id().unwrap();
    let mut order = new_order(&format!("T{id:08}V3"), fee);
    let otn = format!("{}-1", order.no);
    order.attempts.push(attempt(&otn, wxcheckout::checkout::now()));
    shop.store.insert_order(&order, &[]).unwrap();
    (order.no, otn)
}

fn transaction(out_trade_no: &str, total: u64) -> Value {
    json!({
        "appid": SANDBOX_APPID,
        "mchid": SANDBOX_MCH_ID,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200000000202611300000000042",
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "success_time": "2026-11-30T18:00:05+08:00",
        "payer": {"openid": helpers::buyer_openid()},
        "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
    })
}

/// The envelope of `resource` sealed under `key`, as WeChat sends it.
fn envelope(resource: &Value, key: &str) -> String {
    let head = json!({
        "id": "EV-2018022511223320873",
        "create_time": "2026-11-30T18:00:06+08:00",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
    });
    sealed_envelope(resource, key, "transaction", head)
}

/// `head` (id, time, event type, summary) with `resource` sealed under `key` for its `kind`
/// (`transaction` or `refund`, also the associated data), as WeChat sends a notification.
fn sealed_envelope(resource: &Value, key: &str, kind: &str, mut head: Value) -> String {
    let sealed = EncryptedResource::seal(
        &ApiV3Key::new(key).unwrap(),
        resource.to_string().as_bytes(),
        kind,
        &wxcheckout::wxpay::v3::resource_nonce(),
        Some(kind),
    )
    .unwrap();
    head["resource_type"] = json!("encrypt-resource");
    head["resource"] = json!(sealed);
    head.to_string()
}

/// POSTs `body` to the shop's v3 payment notify URL with the signature of `signed` (the body
/// itself unless a test alters it after signing) by the sandbox's key.
async fn notify(server: &TestServer, dir: &Path, signed: &str, body: &str) -> (StatusCode, String) {
    post_signed(server, dir, "/wxpay/v3/notify", signed, body).await
}

async fn post_signed(
    server: &TestServer,
    dir: &Path,
    path: &str,
    signed: &str,
    body: &str,
) -> (StatusCode, String) {
    let side = V3Side::load_or_create(dir).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let sig = side
        .signer(KeyMode::PublicKey)
        .sign(signed.as_bytes(), now, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
        .unwrap();
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    for (name, value) in sig.headers() {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

fn paid_events(shop: &ShopHandle, no: &str) -> usize {
    shop.store.events(no).unwrap().iter().filter(|e| e.kind == EventKind::Paid).count()
}

#[tokio::test]
async fn a_signed_v3_payment_notification_pays_the_order_once_and_its_duplicate_changes_nothing() {
    let (server, shop, dir) = v3_shop(true).await;
    let (no, otn) = pending_order(&shop, 1234);
    let body = envelope(&transaction(&otn, 1234), SANDBOX_APIV3_KEY);
    let (status, text) = notify(&server, &dir, &body, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let order = shop.store.order(&no).unwrap().unwrap();
    assert_eq!((order.status, order.paid_by.as_deref()), (OrderStatus::Paid, Some(otn.as_str())));
    assert_eq!(paid_events(&shop, &no), 1);

    let (status, _) = notify(&server, &dir, &body, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a duplicate is acknowledged");
    assert_eq!(paid_events(&shop, &no), 1, "and changes nothing");
}

#[tokio::test]
async fn a_v3_notification_for_less_than_the_order_is_acknowledged_but_does_not_pay_it() {
    let (server, shop, dir) = v3_shop(true).await;
    let (no, otn) = pending_order(&shop, 1234);
    let body = envelope(&transaction(&otn, 1), SANDBOX_APIV3_KEY);
    let (status, text) = notify(&server, &dir, &body, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "verified: no resend would change it ({text})");
    assert_eq!(shop.store.order(&no).unwrap().unwrap().status, OrderStatus::Pending);
}

#[tokio::test]
async fn a_forged_or_undecryptable_v3_notification_is_refused_in_v3s_words_and_changes_nothing() {
    let (server, shop, dir) = v3_shop(true).await;
    let (no, otn) = pending_order(&shop, 1234);
    let genuine = envelope(&transaction(&otn, 1234), SANDBOX_APIV3_KEY);
    let altered = genuine.replace("EV-2018022511223320873", "EV-2018022511223320874");
    let (status, text) = notify(&server, &dir, &genuine, &altered).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["code"], "FAIL");
    assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));

    let other_key = envelope(&transaction(&otn, 1234), "anotherMerchantsApiV3Key00000001");
    let (status, _) = notify(&server, &dir, &other_key, &other_key).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert_eq!(shop.store.order(&no).unwrap().unwrap().status, OrderStatus::Pending);
    assert_eq!(paid_events(&shop, &no), 0);
    let reasons: Vec<Reason> = shop.rejected_notifications().iter().map(|r| r.reason).collect();
    assert!(
        reasons.contains(&Reason::BadSignature) && reasons.contains(&Reason::Undecryptable),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_shop_on_v2_refuses_v3_notifications_and_changes_nothing() {
    let (server, shop, dir) = v3_shop(false).await;
    let (no, otn) = pending_order(&shop, 1234);
    let body = envelope(&transaction(&otn, 1234), SANDBOX_APIV3_KEY);
    let (status, _) = notify(&server, &dir, &body, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(shop.store.order(&no).unwrap().unwrap().status, OrderStatus::Pending);
}

/// A sandbox shop switched back to v2 that still has `[wxpay.v3]` written.
async fn switched_back_shop() -> (TestServer, ShopHandle, PathBuf) {
    let mut dir = PathBuf::new();
    let (server, shop) = helpers::spawn_shop_with_checkout(|c| {
        dir = c.data_dir.clone();
        let toml = format!(
            "port = 0\naddress = \"127.0.0.1\"\ndata_dir = {:?}\norder_ttl_minutes = 30\n[wxpay]\napi_version = \"v2\"\n[wxpay.v3]\ncert_serial = \"{}\"\n",
            dir.display().to_string(),
            wxcheckout::sandbox::v3::MERCHANT_SERIAL,
        );
        c.wxpay = Config::from_figment(&Figment::from(Toml::string(&toml))).unwrap().wxpay;
    })
    .await;
    (server, shop, dir)
}

#[tokio::test]
async fn a_shop_switched_back_to_v2_that_keeps_its_v3_credentials_still_takes_v3_notifications() {
    let (server, shop, dir) = switched_back_shop().await;
    assert!(!shop.on_api_v3(), "new attempts are placed on v2");
    let (no, otn) = pending_order(&shop, 1234);
    let body = envelope(&transaction(&otn, 1234), SANDBOX_APIV3_KEY);
    let (status, text) = notify(&server, &dir, &body, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let order = shop.store.order(&no).unwrap().unwrap();
    assert_eq!((order.status, order.paid_by.as_deref()), (OrderStatus::Paid, Some(otn.as_str())));
    assert_eq!(paid_events(&shop, &no), 1);
}

fn refund(out_trade_no: &str, out_refund_no: &str, refund: u64, total: u64, status: &str) -> Value {
    json!({
        "mchid": SANDBOX_MCH_ID,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200000000202611300000000042",
        "out_refund_no": out_refund_no,
        "refund_id": "50000000382019052709732678859",
        "refund_status": status,
        "success_time": "2026-11-30T18:10:05+08:00",
        "user_received_account": "支付用户零钱",
        "amount": {"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
    })
}

/// The refund envelope of `resource`, sealed under the sandbox merchant's APIv3 key.
fn refund_envelope(resource: &Value, event_type: &str) -> String {
    let head = json!({
        "id": "EV-2018022511223320999",
        "create_time": "2026-11-30T18:10:06+08:00",
        "event_type": event_type,
        "summary": "退款成功",
    });
    sealed_envelope(resource, SANDBOX_APIV3_KEY, "refund", head)
}

async fn refund_notify(server: &TestServer, dir: &Path, signed: &str, body: &str) -> (StatusCode, String) {
    post_signed(server, dir, "/wxpay/v3/refund-notify", signed, body).await
}

#[tokio::test]
async fn a_v3_refund_notification_settles_the_refund_of_the_paid_order_once() {
    let (server, shop, dir) = v3_shop(true).await;
    let (no, otn) = pending_order(&shop, 1234);
    let paid = envelope(&transaction(&otn, 1234), SANDBOX_APIV3_KEY);
    assert_eq!(notify(&server, &dir, &paid, &paid).await.0, StatusCode::NO_CONTENT);

    let body = refund_envelope(&refund(&otn, &format!("{otn}R1"), 1234, 1234, "SUCCESS"), "REFUND.SUCCESS");
    let (status, text) = refund_notify(&server, &dir, &body, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(shop.store.order(&no).unwrap().unwrap().status, OrderStatus::Refunded);
    let refunded = |shop: &ShopHandle| {
        shop.store.events(&no).unwrap().iter().filter(|e| e.kind == EventKind::Refunded).count()
    };
    assert_eq!(refunded(&shop), 1);
    assert_eq!(refund_notify(&server, &dir, &body, &body).await.0, StatusCode::NO_CONTENT);
    assert_eq!(refunded(&shop), 1, "a duplicate changes nothing");
}

#[tokio::test]
async fn a_v3_refund_notification_that_does_not_verify_is_refused_and_the_order_stays_paid() {
    let (server, shop, dir) = v3_shop(true).await;
    let (no, otn) = pending_order(&shop, 1234);
    let paid = envelope(&transaction(&otn, 1234), SANDBOX_APIV3_KEY);
    assert_eq!(notify(&server, &dir, &paid, &paid).await.0, StatusCode::NO_CONTENT);

    let genuine =
        refund_envelope(&refund(&otn, &format!("{otn}R1"), 1234, 1234, "SUCCESS"), "REFUND.SUCCESS");
    let altered = genuine.replace("EV-2018022511223320999", "EV-2018022511223320998");
    let (status, text) = refund_notify(&server, &dir, &genuine, &altered).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["code"], "FAIL");
    assert_eq!(shop.store.order(&no).unwrap().unwrap().status, OrderStatus::Paid);
    assert!(shop.rejected_notifications().iter().any(|r| r.reason == Reason::BadSignature));
}
