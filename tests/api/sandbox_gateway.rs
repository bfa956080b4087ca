//! The sandbox gateway over real loopback HTTP, driven with raw signed XML built from
//! `wxpay::sign` / `wxpay::xml` only, as a foreign v2 client would send it.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wxcheckout::config::{Config, SANDBOX_APP_SECRET};
use wxcheckout::sandbox::Sandbox;
use wxcheckout::sandbox::state::{DeliveryKind, DeliveryStatus, RefundStatus, TradeState};
use wxcheckout::wxpay::xml::{self, Fields};
use wxcheckout::wxpay::{ApiKey, SignType, crypto, sign};

use crate::helpers::{self, until};

const APPID: &str = "wxd930ea5d5a258f4f";
const MCH_ID: &str = "10000100";
const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fn key() -> ApiKey {
    ApiKey::new(KEY)
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs.iter().copied().collect()
}

// ---- a tiny v2 client ---------------------------------------------------------------------------

struct Gw {
    server: helpers::TestServer,
    sb: Arc<Sandbox>,
    http: reqwest::Client,
}

async fn gateway() -> Gw {
    gateway_with(|_| {}).await
}

/// A sandbox at time_scale 0.001 (5 minutes = 0.3 s), tuned further by `tune`.
async fn gateway_with(tune: impl FnOnce(&mut Config)) -> Gw {
    let (server, sb) = helpers::spawn_sandbox_with_handle(|c| {
        c.sandbox.time_scale = 0.001;
        tune(c);
    })
    .await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Gw { server, sb, http }
}

impl Gw {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.sandbox_base())
    }

    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        let r = self
            .http
            .post(self.url(path))
            .header("Content-Type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r
    }

    async fn post_text(&self, path: &str, body: impl Into<reqwest::Body>) -> String {
        self.post_raw(path, body).await.text().await.unwrap()
    }

    /// Signs `biz` with the envelope (MD5 requests leave `sign_type` out: the default).
    async fn call_with(&self, path: &str, biz: Fields, st: SignType) -> Fields {
        let mut f = biz;
        f.insert("appid", APPID);
        f.insert("mch_id", MCH_ID);
        f.insert("nonce_str", format!("n{}", rand_suffix()));
        sign::sign_in_place(&mut f, &key(), st, st == SignType::HmacSha256);
        let text = self.post_text(path, xml::to_xml(&f)).await;
        xml::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    async fn call(&self, path: &str, biz: Fields) -> Fields {
        self.call_with(path, biz, SignType::Md5).await
    }

    async fn place(&self, no: &str, trade_type: &str) -> Fields {
        ok(&self.call("pay/unifiedorder", order(no, trade_type)).await)
    }

    /// Places a JSAPI order and pays it as the payer pages would.
    async fn paid(&self, no: &str, total_fee: &str) {
        let mut f = order(no, "JSAPI");
        f.insert("total_fee", total_fee);
        ok(&self.call("pay/unifiedorder", f).await);
        self.sb.pay(no, "oPayer").unwrap();
    }

    async fn refund(
        &self,
        no: &str,
        refund_no: &str,
        total: &str,
        fee: &str,
        notify: Option<&str>,
    ) -> Fields {
        let mut f = fields(&[
            ("out_trade_no", no),
            ("out_refund_no", refund_no),
            ("total_fee", total),
            ("refund_fee", fee),
        ]);
        f.insert_opt("notify_url", notify);
        self.call("secapi/pay/refund", f).await
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn order(no: &str, trade_type: &str) -> Fields {
    let mut f = fields(&[
        ("body", "Demo Shop-Coffee"),
        ("out_trade_no", no),
        ("total_fee", "101"),
        ("spbill_create_ip", "203.0.113.7"),
        ("notify_url", "http://127.0.0.1:9/wxpay/notify"),
        ("trade_type", trade_type),
        ("attach", "table=12"),
    ]);
    match trade_type {
        "JSAPI" => f.insert("openid", helpers::buyer_openid()),
        "NATIVE" => f.insert("product_id", "SKU-42"),
        "MWEB" => f.insert(
            "scene_info",
            r#"{"h5_info": {"type":"Wap","wap_url": "https://shop.example","wap_name": "Demo"}}"#,
        ),
        _ => {}
    }
    f
}

/// A business answer: SUCCESS envelope, our merchant, verifying with `st`.
fn verified(f: &Fields, st: SignType) {
    assert_eq!(f.get("return_code"), Some("SUCCESS"), "{f:?}");
    assert_eq!(sign::verify(f, &key(), st), Ok(st), "{f:?}");
    assert_eq!((f.get("appid"), f.get("mch_id")), (Some(APPID), Some(MCH_ID)));
    assert!(f.non_empty("nonce_str").is_some());
}

fn ok(f: &Fields) -> Fields {
    verified(f, SignType::Md5);
    assert_eq!(f.get("result_code"), Some("SUCCESS"), "{f:?}");
    f.clone()
}

fn fails_with(f: &Fields, err_code: &str) -> String {
    verified(f, SignType::Md5);
    assert_eq!((f.get("result_code"), f.get("err_code")), (Some("FAIL"), Some(err_code)), "{f:?}");
    f.get("err_code_des").unwrap_or_default().to_owned()
}

/// A protocol failure: exactly `return_code=FAIL` and `return_msg`, unsigned.
fn protocol_fail(text: &str, msg: &str) {
    let f = xml::parse(text.as_bytes()).unwrap();
    assert_eq!(f.get("return_code"), Some("FAIL"), "{text}");
    assert_eq!(f.get("return_msg"), Some(msg), "{text}");
    assert_eq!(f.len(), 2, "{text}");
}

// ---- protocol pipeline --------------------------------------------------------------------------

#[tokio::test]
async fn every_protocol_failure_is_an_unsigned_fail_with_a_chinese_message() {
    let gw = gateway().await;
    let get = gw.http.get(gw.url("pay/unifiedorder")).send().await.unwrap();
    assert_eq!(get.status(), 200);
    protocol_fail(&get.text().await.unwrap(), "请使用post方法");
    protocol_fail(&gw.post_text("pay/orderquery", "").await, "post数据为空");
    protocol_fail(&gw.post_text("pay/orderquery", vec![0xff_u8, 0xfe]).await, "编码格式错误");
    protocol_fail(&gw.post_text("pay/orderquery", "<xml><body>☕😀</body></xml>").await, "编码格式错误");
    let xxe =
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>"#;
    protocol_fail(&gw.post_text("pay/orderquery", xxe).await, "XML格式错误");
    protocol_fail(&gw.post_text("pay/orderquery", "<xml><a>1</b></xml>").await, "XML格式错误");

    let signed = |mut f: Fields, k: &str| {
        sign::sign_in_place(&mut f, &ApiKey::new(k), SignType::Md5, false);
        xml::to_xml(&f)
    };
    let base =
        fields(&[("appid", APPID), ("mch_id", MCH_ID), ("nonce_str", "abc"), ("out_trade_no", "ORD000001")]);
    protocol_fail(
        &gw.post_text(
            "pay/closeorder",
            signed(fields(&[("appid", APPID), ("mch_id", MCH_ID), ("nonce_str", "a")]), KEY),
        )
        .await,
        "缺少参数",
    );
    let mut other = base.clone();
    other.insert("mch_id", "10000999");
    protocol_fail(&gw.post_text("pay/orderquery", signed(other, KEY)).await, "商户号mch_id不存在");
    let mut other = base.clone();
    other.insert("appid", "wx0000000000000000");
    protocol_fail(&gw.post_text("pay/orderquery", signed(other, KEY)).await, "appid和mch_id不匹配");
    protocol_fail(
        &gw.post_text("pay/orderquery", signed(base.clone(), "wrongwrongwrongwrongwrongwrong12")).await,
        "签名错误",
    );
    let mut unknown = base.clone();
    unknown.insert("sign_type", "SHA1");
    protocol_fail(&gw.post_text("pay/orderquery", signed(unknown, KEY)).await, "sign_type参数格式错误");
    // why: sign_type absent means MD5, even when the sign is a (valid) HMAC one.
    let mut hmac = base.clone();
    sign::sign_in_place(&mut hmac, &key(), SignType::HmacSha256, false);
    protocol_fail(&gw.post_text("pay/orderquery", xml::to_xml(&hmac)).await, "签名错误");
}

#[tokio::test]
async fn every_endpoint_answers_get_with_require_post() {
    let gw = gateway().await;
    for path in [
        "pay/unifiedorder",
        "pay/orderquery",
        "pay/closeorder",
        "secapi/pay/refund",
        "pay/refundquery",
        "pay/downloadbill",
    ] {
        let text = gw.http.get(gw.url(path)).send().await.unwrap().text().await.unwrap();
        protocol_fail(&text, "请使用post方法");
    }
}

#[tokio::test]
async fn a_fault_system_error_is_signed_and_changes_nothing() {
    let gw = gateway_with(|c| c.sandbox.system_error_rate = 1.0).await;
    let f = gw.call("pay/unifiedorder", order("ORD000001", "JSAPI")).await;
    fails_with(&f, "SYSTEMERROR");
    let mut faults = gw.sb.faults();
    faults.system_error_rate = 0.0;
    gw.sb.set_faults(faults);
    fails_with(&gw.call("pay/orderquery", fields(&[("out_trade_no", "ORD000001")])).await, "ORDERNOTEXIST");
}

// ---- unifiedorder -------------------------------------------------------------------------------

#[tokio::test]
async fn a_jsapi_order_gets_a_prepay_id_signed_with_the_requests_algorithm() {
    let gw = gateway().await;
    let f = gw.place("ORD000001", "JSAPI").await;
    assert!(f.get("prepay_id").unwrap().starts_with("wx"));
    assert_eq!(f.get("trade_type"), Some("JSAPI"));
    assert!(!f.contains("sign_type"));

    let f = gw.call_with("pay/unifiedorder", order("ORD000002", "JSAPI"), SignType::HmacSha256).await;
    verified(&f, SignType::HmacSha256);
    assert_eq!(f.get("sign").map(str::len), Some(64));
    assert_eq!(f.get("result_code"), Some("SUCCESS"));
}

#[tokio::test]
async fn native_gets_a_code_url_and_mweb_a_mweb_url_under_the_sandbox_base() {
    let gw = gateway().await;
    let native = gw.place("ORD000001", "NATIVE").await;
    let code_url = native.get("code_url").unwrap();
    let pr = code_url.strip_prefix("weixin://wxpay/bizpayurl?pr=").unwrap();
    assert!(pr.len() == 7 && pr.bytes().all(|b| b.is_ascii_alphanumeric()), "{code_url}");
    assert_eq!(gw.sb.state().order_by_code(pr).map(|o| o.out_trade_no.clone()).as_deref(), Some("ORD000001"));

    let mweb = gw.place("ORD000002", "MWEB").await;
    let prepay = mweb.get("prepay_id").unwrap();
    let expected =
        format!("{}cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay}&package=", gw.server.sandbox_base());
    let url = mweb.get("mweb_url").unwrap();
    assert!(url.starts_with(&expected), "{url}");
    assert_eq!(url[expected.len()..].len(), 10);
    assert!(gw.sb.state().order_by_prepay(prepay).is_some());
}

#[tokio::test]
async fn the_mweb_url_uses_the_configured_public_url() {
    let gw = gateway_with(|c| c.public_url = Some("https://shop.example/".parse().unwrap())).await;
    let mweb = gw.place("ORD000002", "MWEB").await;
    assert!(
        mweb.get("mweb_url")
            .unwrap()
            .starts_with("https://shop.example/sandbox/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=")
    );
}

#[tokio::test]
async fn the_same_order_again_refreshes_the_prepay_and_a_changed_one_is_201() {
    let gw = gateway().await;
    let first = gw.place("ORD000001", "JSAPI").await;
    let mut again = order("ORD000001", "JSAPI");
    again.insert("spbill_create_ip", "198.51.100.1");
    again.insert("fee_type", "CNY");
    let second = ok(&gw.call("pay/unifiedorder", again).await);
    assert_ne!(first.get("prepay_id"), second.get("prepay_id"));

    let mut changed = order("ORD000001", "JSAPI");
    changed.insert("total_fee", "102");
    assert_eq!(
        fails_with(&gw.call("pay/unifiedorder", changed).await, "INVALID_REQUEST"),
        "201 商户订单号重复"
    );
    let native = order("ORD000001", "NATIVE");
    assert_eq!(
        fails_with(&gw.call("pay/unifiedorder", native).await, "INVALID_REQUEST"),
        "201 商户订单号重复"
    );

    let code = gw.place("ORD000002", "NATIVE").await;
    let code_again = gw.place("ORD000002", "NATIVE").await;
    assert_eq!(code.get("code_url"), code_again.get("code_url"), "a printed QR code keeps working");
}

#[tokio::test]
async fn missing_per_type_fields_and_broken_limits_are_business_errors() {
    let gw = gateway().await;
    let mut jsapi = order("ORD000001", "JSAPI");
    jsapi.remove("openid");
    fails_with(&gw.call("pay/unifiedorder", jsapi).await, "LACK_PARAMS");
    let mut native = order("ORD000001", "NATIVE");
    native.remove("product_id");
    fails_with(&gw.call("pay/unifiedorder", native).await, "LACK_PARAMS");
    let mut mweb = order("ORD000001", "MWEB");
    mweb.insert("scene_info", "not json");
    fails_with(&gw.call("pay/unifiedorder", mweb).await, "INVALID_REQUEST");

    let bad: [(&str, String); 9] = [
        ("out_trade_no", "ORD 1".to_owned()),
        ("out_trade_no", "x".repeat(33)),
        ("body", "字".repeat(43)),
        ("body", "x".repeat(129)),
        ("total_fee", "0".to_owned()),
        ("total_fee", "1.01".to_owned()),
        ("notify_url", "https://shop.example/notify?a=1".to_owned()),
        ("trade_type", "MICROPAY".to_owned()),
        ("time_expire", "20200101000000".to_owned()),
    ];
    for (k, v) in bad {
        let mut f = order("ORD000009", "JSAPI");
        f.insert(k, v.as_str());
        let des = fails_with(&gw.call("pay/unifiedorder", f).await, "INVALID_REQUEST");
        assert!(!des.is_empty(), "{k}={v}");
    }
    let mut f = order("ORD000010", "JSAPI");
    f.insert("body", "x".repeat(128));
    gw.place_fields(f).await;
    // why 42: body is String(128) in bytes; a Chinese character is 3 of them.
    let mut f = order("ORD000011", "JSAPI");
    f.insert("body", "字".repeat(42));
    gw.place_fields(f).await;
    let mut f = order("ORD000012", "JSAPI");
    f.insert("body", "字".repeat(43));
    let des = fails_with(&gw.call("pay/unifiedorder", f).await, "INVALID_REQUEST");
    assert!(des.contains("body参数长度有误"), "{des}");
    // scene_info is String(256): counted in bytes like body.
    let scene = |name: &str| wxcheckout::wxpay::messages::h5_wap_scene_info("https://shop.example/", name);
    let fits = scene(&"店".repeat((256 - scene("").len()) / 3));
    let mut f = order("ORD000013", "MWEB");
    f.insert("scene_info", fits.as_str());
    gw.place_fields(f).await;
    let over = scene(&"店".repeat((256 - scene("").len()) / 3 + 1));
    let mut f = order("ORD000014", "MWEB");
    f.insert("scene_info", over.as_str());
    let des = fails_with(&gw.call("pay/unifiedorder", f).await, "INVALID_REQUEST");
    assert!(des.contains("scene_info参数长度有误"), "{des}");
}

impl Gw {
    async fn place_fields(&self, f: Fields) -> Fields {
        ok(&self.call("pay/unifiedorder", f).await)
    }
}

// ---- orderquery / closeorder ----------------------------------------------------------------------

#[tokio::test]
async fn orderquery_gives_the_full_set_when_paid_and_a_subset_when_not() {
    let gw = gateway().await;
    gw.place("ORD000001", "JSAPI").await;
    let notpay = ok(&gw.call("pay/orderquery", fields(&[("out_trade_no", "ORD000001")])).await);
    assert_eq!(notpay.get("trade_state"), Some("NOTPAY"));
    assert_eq!(notpay.get("trade_state_desc"), Some("订单未支付"));
    assert_eq!(notpay.get("total_fee"), Some("101"));
    assert!(!notpay.contains("transaction_id") && !notpay.contains("time_end"));

    let paid = gw.sb.pay("ORD000001", "oPayer").unwrap();
    let tx = paid.payment.unwrap().transaction_id;
    // why: transaction_id wins over a wrong out_trade_no.
    let q = ok(&gw
        .call("pay/orderquery", fields(&[("transaction_id", &tx), ("out_trade_no", "NOPE000001")]))
        .await);
    for k in [
        "openid",
        "is_subscribe",
        "trade_type",
        "bank_type",
        "total_fee",
        "fee_type",
        "cash_fee",
        "cash_fee_type",
        "transaction_id",
        "out_trade_no",
        "attach",
        "time_end",
        "trade_state",
        "trade_state_desc",
    ] {
        assert!(q.non_empty(k).is_some(), "missing {k}: {q:?}");
    }
    assert_eq!(
        (q.get("trade_state"), q.get("attach"), q.get("openid")),
        (Some("SUCCESS"), Some("table=12"), Some(helpers::buyer_openid().as_str()))
    );
    assert_eq!(q.get("time_end").map(str::len), Some(14));

    assert_eq!(
        fails_with(&gw.call("pay/unifiedorder", order("ORD000001", "JSAPI")).await, "ORDERPAID"),
        "该订单已支付"
    );
    fails_with(&gw.call("pay/orderquery", fields(&[("out_trade_no", "NOPE000001")])).await, "ORDERNOTEXIST");
    fails_with(&gw.call("pay/closeorder", fields(&[("out_trade_no", "ORD000001")])).await, "ORDERPAID");
}

#[tokio::test]
async fn closeorder_waits_five_scaled_minutes_then_closes_for_good() {
    // 5 minutes = 1.5 s: room for the early call on a busy machine.
    let gw = gateway_with(|c| c.sandbox.time_scale = 0.005).await;
    let asked = std::time::Instant::now();
    gw.place("ORD000001", "JSAPI").await;
    let early = gw.call("pay/closeorder", fields(&[("out_trade_no", "ORD000001")])).await;
    assert!(fails_with(&early, "TRADE_STATE_ERROR").contains("5分钟"));
    assert_eq!(early.get("result_msg"), Some("FAIL"));

    // Refused (changing nothing) until the 5 minutes have passed, then closed.
    let closed = std::cell::RefCell::new(None);
    until("closeorder to be accepted", || async {
        let answer = gw.call("pay/closeorder", fields(&[("out_trade_no", "ORD000001")])).await;
        if answer.get("err_code") == Some("TRADE_STATE_ERROR") {
            return false;
        }
        *closed.borrow_mut() = Some(ok(&answer));
        true
    })
    .await;
    assert!(asked.elapsed() >= Duration::from_millis(1500), "closed within the 5 minutes");
    let closed = closed.into_inner().unwrap();
    assert_eq!(closed.get("result_msg"), Some("OK"));
    let q = ok(&gw.call("pay/orderquery", fields(&[("out_trade_no", "ORD000001")])).await);
    assert_eq!(q.get("trade_state"), Some("CLOSED"));
    fails_with(&gw.call("pay/closeorder", fields(&[("out_trade_no", "ORD000001")])).await, "ORDERCLOSED");
    fails_with(&gw.call("pay/unifiedorder", order("ORD000001", "JSAPI")).await, "ORDERCLOSED");
    fails_with(&gw.call("pay/closeorder", fields(&[("out_trade_no", "NOPE000001")])).await, "ORDERNOTEXIST");
}

// ---- refunds ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refund_is_idempotent_bounded_by_the_paid_amount_and_succeeds_with_a_notification() {
    let gw = gateway().await;
    let rx = receiver(|_| SUCCESS_ACK.to_owned()).await;
    gw.place("ORD000009", "JSAPI").await;
    let unpaid = gw.refund("ORD000009", "RF1", "101", "1", None).await;
    assert_eq!(fails_with(&unpaid, "ORDERNOTEXIST"), "未支付的订单不能发起退款");

    gw.paid("ORD000001", "101").await;
    let r = ok(&gw.refund("ORD000001", "RF1", "101", "50", Some(&rx.url)).await);
    for k in [
        "transaction_id",
        "out_trade_no",
        "out_refund_no",
        "refund_id",
        "refund_fee",
        "settlement_refund_fee",
        "total_fee",
        "settlement_total_fee",
        "fee_type",
        "cash_fee",
        "cash_fee_type",
        "cash_refund_fee",
        "coupon_refund_fee",
        "coupon_refund_count",
    ] {
        assert!(r.get(k).is_some(), "missing {k}: {r:?}");
    }
    assert_eq!(r.get("refund_fee"), Some("50"));
    let again = ok(&gw.refund("ORD000001", "RF1", "101", "50", Some(&rx.url)).await);
    assert_eq!(again.get("refund_id"), r.get("refund_id"), "a retry returns the same refund");
    fails_with(&gw.refund("ORD000001", "RF1", "101", "40", None).await, "INVALID_REQUEST");
    fails_with(&gw.refund("ORD000001", "RF2", "101", "52", None).await, "INVALID_REQUEST");
    fails_with(&gw.refund("ORD000001", "RF2", "100", "1", None).await, "PARAM_ERROR");
    fails_with(&gw.refund("ORD000001", "RF 2", "101", "1", None).await, "PARAM_ERROR");
    fails_with(&gw.refund("NOPE000001", "RF3", "101", "1", None).await, "ORDERNOTEXIST");
    assert_eq!(gw.sb.state().orders["ORD000001"].refunds.len(), 1, "no second refund");

    let q = ok(&gw.call("pay/orderquery", fields(&[("out_trade_no", "ORD000001")])).await);
    assert_eq!(q.get("trade_state"), Some("REFUND"));

    until("the refund notification", || async { rx.hits().len() == 1 }).await;
    let outer = xml::parse(rx.hits()[0].body.as_bytes()).unwrap();
    assert!(!outer.contains("sign"), "refund notifications are not signed");
    assert_eq!((outer.get("appid"), outer.get("mch_id")), (Some(APPID), Some(MCH_ID)));
    let plain = crypto::decrypt_req_info(outer.get("req_info").unwrap(), &key()).unwrap();
    let info = xml::parse_root(plain.as_bytes(), "root").unwrap();
    assert_eq!(info.get("out_refund_no"), Some("RF1"));
    assert_eq!(info.get("refund_fee"), Some("50"));
    assert_eq!(info.get("refund_status"), Some("SUCCESS"));
    assert_eq!(info.get("refund_id"), r.get("refund_id"));
    assert_eq!(info.get("success_time").map(str::len), Some(19));
    assert_eq!(gw.sb.state().orders["ORD000001"].refunds[0].status, RefundStatus::Success);
}

#[tokio::test]
async fn a_refund_is_processing_until_its_scaled_delay_has_passed() {
    let gw = gateway_with(|c| c.sandbox.time_scale = 0.05).await;
    gw.paid("ORD000001", "101").await;
    ok(&gw.refund("ORD000001", "RF1", "101", "101", None).await);
    let q = ok(&gw.call("pay/refundquery", fields(&[("out_refund_no", "RF1")])).await);
    assert_eq!(q.get("refund_status_0"), Some("PROCESSING"));
    assert!(!q.contains("refund_success_time_0"));
    let q = std::cell::RefCell::new(q);
    until("the refund to succeed", || async {
        *q.borrow_mut() = ok(&gw.call("pay/refundquery", fields(&[("out_refund_no", "RF1")])).await);
        q.borrow().get("refund_status_0") != Some("PROCESSING")
    })
    .await;
    let q = q.into_inner();
    assert_eq!(q.get("refund_status_0"), Some("SUCCESS"));
    assert_eq!(q.get("refund_success_time_0").map(str::len), Some(19));
    fails_with(&gw.refund("ORD000001", "RF2", "101", "1", None).await, "INVALID_REQUEST");
}

#[tokio::test]
async fn refundquery_pages_by_ten_and_refuses_an_offset_past_the_end() {
    let gw = gateway().await;
    gw.paid("ORD000001", "1000").await;
    for n in 0..12 {
        ok(&gw.refund("ORD000001", &format!("RF{n:02}"), "1000", "10", None).await);
    }
    let first = ok(&gw.call("pay/refundquery", fields(&[("out_trade_no", "ORD000001")])).await);
    assert_eq!((first.get("refund_count"), first.get("total_refund_count")), (Some("10"), Some("12")));
    assert_eq!(first.get("out_refund_no_0"), Some("RF00"));
    assert!(first.contains("refund_id_9") && !first.contains("refund_id_10"));
    for k in [
        "refund_channel_0",
        "refund_fee_0",
        "settlement_refund_fee_0",
        "refund_status_0",
        "refund_account_0",
        "refund_recv_accout_0",
    ] {
        assert!(first.contains(k), "missing {k}");
    }
    let second =
        ok(&gw.call("pay/refundquery", fields(&[("out_trade_no", "ORD000001"), ("offset", "10")])).await);
    assert_eq!(second.get("refund_count"), Some("2"));
    assert_eq!(second.get("out_refund_no_0"), Some("RF10"));
    fails_with(
        &gw.call("pay/refundquery", fields(&[("out_trade_no", "ORD000001"), ("offset", "13")])).await,
        "PARAM_ERROR",
    );

    let by_id = first.get("refund_id_3").unwrap().to_owned();
    let one = ok(&gw
        .call("pay/refundquery", fields(&[("refund_id", &by_id), ("out_trade_no", "ORD000001")]))
        .await);
    assert_eq!((one.get("refund_count"), one.get("out_refund_no_0")), (Some("1"), Some("RF03")));
    fails_with(&gw.call("pay/refundquery", fields(&[("out_refund_no", "NOPE")])).await, "REFUNDNOTEXIST");
    gw.paid("ORD000002", "1000").await;
    fails_with(&gw.call("pay/refundquery", fields(&[("out_trade_no", "ORD000002")])).await, "REFUNDNOTEXIST");
}

// ---- downloadbill -------------------------------------------------------------------------------

fn today_beijing() -> String {
    let t = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day())
}

async fn bill(gw: &Gw, biz: Fields) -> reqwest::Response {
    let mut f = biz;
    f.insert("appid", APPID);
    f.insert("mch_id", MCH_ID);
    f.insert("nonce_str", "billnonce");
    sign::sign_in_place(&mut f, &key(), SignType::Md5, false);
    gw.post_raw("pay/downloadbill", xml::to_xml(&f)).await
}

#[tokio::test]
async fn todays_bill_lists_the_payment_and_the_refund_in_the_all_format() {
    let gw = gateway().await;
    gw.paid("ORD000001", "101").await;
    ok(&gw.refund("ORD000001", "RF1", "101", "50", None).await);
    // why: the bills below are compared to each other; the refund's status must not move between them.
    until("the refund to succeed", || async {
        gw.sb.state().orders["ORD000001"].refunds[0].status == RefundStatus::Success
    })
    .await;
    let today = today_beijing();
    let r = bill(&gw, fields(&[("bill_date", &today), ("bill_type", "ALL")])).await;
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with("交易时间,公众账号ID,商户号,特约商户号")
            && lines[0].ends_with("申请退款金额,费率备注")
    );
    assert_eq!(lines[1].split(",`").count(), 27);
    assert!(
        lines[1].contains("`ORD000001,") && lines[1].contains(",`SUCCESS,") && lines[1].contains(",`1.01,"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(",`0.01000,`0.60%,"), "{}", lines[1]);
    assert!(lines[2].contains(",`REFUND,") && lines[2].contains(",`RF1,`0.50,"), "{}", lines[2]);
    assert!(lines[2].contains(",`ORIGINAL,`SUCCESS,"), "{}", lines[2]);
    assert_eq!(
        lines[3],
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    );
    assert_eq!(lines[4], "`2,`1.01,`0.50,`0.00,`0.01000,`1.01,`0.50");
    let parsed = wxcheckout::wxpay::bill::parse(&text).unwrap();
    assert_eq!(parsed.rows.len(), 2);
    assert_eq!(parsed.totals, wxcheckout::wxpay::bill::totals_of(&parsed.rows), "the shop's parser agrees");

    let success =
        bill(&gw, fields(&[("bill_date", &today), ("bill_type", "SUCCESS")])).await.text().await.unwrap();
    assert_eq!(success.lines().count(), 4, "{success}");
    let refund =
        bill(&gw, fields(&[("bill_date", &today), ("bill_type", "REFUND")])).await.text().await.unwrap();
    assert!(refund.lines().nth(1).unwrap().contains("`RF1,"), "{refund}");

    let gz = bill(&gw, fields(&[("bill_date", &today), ("tar_type", "GZIP")])).await.bytes().await.unwrap();
    assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
    assert!(gz.windows(text.len()).any(|w| w == text.as_bytes()), "stored deflate blocks carry the text");
}

#[tokio::test]
async fn a_day_without_transactions_has_no_bill() {
    let gw = gateway().await;
    let text = bill(&gw, fields(&[("bill_date", "20000101")])).await.text().await.unwrap();
    assert_eq!(
        text,
        "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[No Bill Exist]]></return_msg><error_code><![CDATA[20002]]></error_code></xml>"
    );
    let bad = bill(&gw, fields(&[("bill_date", &today_beijing()), ("bill_type", "WHATEVER")]))
        .await
        .text()
        .await
        .unwrap();
    assert!(bad.contains("invalid bill_type"), "{bad}");
}

// ---- OAuth --------------------------------------------------------------------------------------

async fn authorize(gw: &Gw, redirect: &str, cookie: Option<&str>) -> reqwest::Response {
    let url = format!(
        "{}?appid={APPID}&redirect_uri={}&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect",
        gw.url("connect/oauth2/authorize"),
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let mut req = gw.http.get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap()
}

fn code_of(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap()
}

async fn token(gw: &Gw, secret: &str, code: &str) -> serde_json::Value {
    let url = format!(
        "{}?appid={APPID}&secret={secret}&code={code}&grant_type=authorization_code",
        gw.url("sns/oauth2/access_token")
    );
    let r = gw.http.get(url).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    r.json().await.unwrap()
}

#[tokio::test]
async fn oauth_codes_are_single_use_and_give_a_stable_openid_per_browser() {
    let gw = gateway_with(|c| c.sandbox.time_scale = 0.01).await;
    let r = authorize(&gw, "http://localhost:8000/pay/tok?x=1", None).await;
    assert_eq!(r.status(), 302);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("sbx_uid="));
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://localhost:8000/pay/tok?x=1&code="), "{location}");
    assert!(location.ends_with("&state=abc123"), "{location}");

    let t = token(&gw, SANDBOX_APP_SECRET, &code_of(&location)).await;
    let openid = t["openid"].as_str().unwrap().to_owned();
    assert!(openid.starts_with('o') && openid.len() == 28, "{t}");
    assert_eq!((t["expires_in"].as_i64(), t["scope"].as_str()), (Some(7200), Some("snsapi_base")));
    assert!(t["access_token"].as_str().is_some() && t["refresh_token"].as_str().is_some());
    let used = token(&gw, SANDBOX_APP_SECRET, &code_of(&location)).await;
    assert_eq!(used["errcode"], 40163, "{used}");
    assert!(used["errmsg"].as_str().unwrap().starts_with("code been used, hints: [ req_id: "));

    let again = authorize(&gw, "http://localhost:8000/cb", Some(&cookie)).await;
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://localhost:8000/cb?code="), "{location}");
    let t = token(&gw, SANDBOX_APP_SECRET, &code_of(&location)).await;
    assert_eq!(t["openid"].as_str(), Some(openid.as_str()), "same browser, same openid");
}

#[tokio::test]
async fn oauth_refuses_wrong_secrets_unknown_and_expired_codes() {
    let gw = gateway().await;
    let location = authorize(&gw, "http://localhost:8000/cb", None).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let code = code_of(&location);
    assert_eq!(token(&gw, "wrongsecret", &code).await["errcode"], 40125);
    assert_eq!(token(&gw, SANDBOX_APP_SECRET, "nosuchcode").await["errcode"], 40029);
    assert_eq!(token(&gw, SANDBOX_APP_SECRET, "").await["errcode"], 41008);
    let missing = gw
        .http
        .get(gw.url("sns/oauth2/access_token?code=x"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(missing["errcode"], 41002);
    // The code's age by the sandbox's own clock (looking changes nothing; an exchange would).
    until("the code to be 5 scaled minutes old", || async {
        let issued = gw.sb.state().oauth_codes[&code].issued;
        gw.sb.clock.elapsed(issued, Duration::from_secs(5 * 60))
    })
    .await;
    assert_eq!(
        token(&gw, SANDBOX_APP_SECRET, &code).await["errcode"],
        40029,
        "expired after 5 scaled minutes"
    );

    let page = gw.http.get(gw.url("connect/oauth2/authorize?appid=wx0000000000000000&redirect_uri=http%3A%2F%2Fa.example%2F&response_type=code&scope=snsapi_base")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("appid"));
    let page = gw
        .http
        .get(gw.url(&format!("connect/oauth2/authorize?appid={APPID}&response_type=code&scope=snsapi_base")))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("10011"));
    let page = gw
        .http
        .get(gw.url(&format!(
            "connect/oauth2/authorize?appid={APPID}&redirect_uri=notaurl&response_type=code&scope=snsapi_base"
        )))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("10003"));
}

// ---- notifications ----------------------------------------------------------------------------------

const SUCCESS_ACK: &str =
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";
const FAIL_ACK: &str =
    "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名失败]]></return_msg></xml>";

#[derive(Clone, Debug)]
struct Hit {
    head: String,
    body: String,
}

/// A merchant notify endpoint on a raw TCP listener: records each POST and answers
/// `reply(n)` to the n-th (1-based).
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

async fn receiver(reply: impl Fn(usize) -> String + Send + Sync + 'static) -> Receiver {
    raw_receiver(move |n| {
        let answer = reply(n);
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
    })
    .await
}

/// Like [`receiver`], answering the whole HTTP response `response(n)` (status line included).
async fn raw_receiver(response: impl Fn(usize) -> String + Send + Sync + 'static) -> Receiver {
    let reply = response;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wxpay/notify", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let reply = Arc::new(reply);
    let recorded = hits.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (hits, reply) = (recorded.clone(), reply.clone());
            tokio::spawn(async move { serve_one(sock, hits, move |n| reply(n)).await });
        }
    });
    Receiver { url, hits }
}

async fn serve_one(
    mut sock: tokio::net::TcpStream,
    hits: Arc<Mutex<Vec<Hit>>>,
    reply: impl Fn(usize) -> String,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buf.len() < end + 4 + len {
            continue;
        }
        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
        let n = {
            let mut h = hits.lock().unwrap();
            h.push(Hit { head, body });
            h.len()
        };
        let _ = sock.write_all(reply(n).as_bytes()).await;
        return;
    }
}

/// Places a JSAPI order notifying `url` (with `st`) and pays it.
async fn pay_notifying(gw: &Gw, url: &str, st: SignType) {
    let mut f = order("ORD000001", "JSAPI");
    f.insert("notify_url", url);
    let placed = gw.call_with("pay/unifiedorder", f, st).await;
    assert_eq!(placed.get("result_code"), Some("SUCCESS"), "{placed:?}");
    gw.sb.pay("ORD000001", "oPayer").unwrap();
}

fn delivery_status(gw: &Gw) -> Option<(DeliveryStatus, Vec<String>)> {
    let st = gw.sb.state();
    let d = st.deliveries.iter().find(|d| d.kind == DeliveryKind::Payment)?;
    Some((d.status, d.tries.iter().map(|t| t.outcome.clone()).collect()))
}

async fn acknowledged(gw: &Gw) -> Vec<String> {
    until("an acknowledgement", || async {
        delivery_status(gw).is_some_and(|(s, _)| s == DeliveryStatus::Acknowledged)
    })
    .await;
    delivery_status(gw).map(|(_, tries)| tries).unwrap_or_default()
}

#[tokio::test]
async fn a_notification_is_retried_until_acknowledged_then_stops() {
    let gw = gateway().await;
    let rx = receiver(|n| if n <= 2 { FAIL_ACK.to_owned() } else { SUCCESS_ACK.to_owned() }).await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    let tries = acknowledged(&gw).await;
    assert_eq!(tries, ["200 FAIL 签名失败", "200 FAIL 签名失败", "200 SUCCESS"]);
    // why no wait: acknowledged means the sandbox stopped trying, and each try was answered
    // (so received) before it was logged.
    let hits = rx.hits();
    assert_eq!(hits.len(), 3, "no delivery after the acknowledgement");
    assert!(
        hits[0].head.starts_with("post /wxpay/notify") && hits[0].head.contains("content-type: text/xml")
    );

    let f = xml::parse(hits[0].body.as_bytes()).unwrap();
    assert_eq!(sign::verify(&f, &key(), SignType::Md5), Ok(SignType::Md5));
    assert!(!f.contains("sign_type"));
    for k in [
        "appid",
        "mch_id",
        "nonce_str",
        "openid",
        "is_subscribe",
        "trade_type",
        "bank_type",
        "total_fee",
        "fee_type",
        "cash_fee",
        "transaction_id",
        "out_trade_no",
        "attach",
        "time_end",
        "result_code",
        "return_code",
    ] {
        assert!(f.non_empty(k).is_some(), "missing {k}");
    }
    assert_eq!(
        (f.get("total_fee"), f.get("out_trade_no"), f.get("attach")),
        (Some("101"), Some("ORD000001"), Some("table=12"))
    );
    assert_eq!(gw.sb.state().orders["ORD000001"].state, TradeState::Success);
}

#[tokio::test]
async fn a_non_xml_answer_or_an_error_status_is_retried() {
    let gw = gateway().await;
    let rx = receiver(|n| if n == 1 { "ok".to_owned() } else { SUCCESS_ACK.to_owned() }).await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    assert_eq!(acknowledged(&gw).await, ["200 not XML", "200 SUCCESS"]);
}

#[tokio::test]
async fn copies_arrive_concurrently_and_dropped_attempts_count_toward_the_schedule() {
    let gw = gateway_with(|c| c.sandbox.notify_copies = 3).await;
    let rx = receiver(|_| SUCCESS_ACK.to_owned()).await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    assert_eq!(acknowledged(&gw).await.len(), 3);
    assert_eq!(rx.hits().len(), 3, "acknowledged: every copy was answered, and none follows");

    let gw = gateway_with(|c| c.sandbox.notify_drop_first = 2).await;
    let rx = receiver(|_| SUCCESS_ACK.to_owned()).await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    assert_eq!(acknowledged(&gw).await, ["dropped by fault", "dropped by fault", "200 SUCCESS"]);
    assert_eq!(rx.hits().len(), 1);
}

#[tokio::test]
async fn a_bad_sign_fault_fails_verification_and_extra_fields_still_verify() {
    let gw = gateway_with(|c| c.sandbox.notify_bad_sign = true).await;
    let rx = receiver(|_| SUCCESS_ACK.to_owned()).await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    until("a delivery", || async { !rx.hits().is_empty() }).await;
    let f = xml::parse(rx.hits()[0].body.as_bytes()).unwrap();
    assert!(sign::verify(&f, &key(), SignType::Md5).is_err());

    let gw = gateway_with(|c| c.sandbox.notify_extra_fields = true).await;
    let rx = receiver(|_| SUCCESS_ACK.to_owned()).await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    until("a delivery", || async { !rx.hits().is_empty() }).await;
    let f = xml::parse(rx.hits()[0].body.as_bytes()).unwrap();
    assert!(f.contains("sandbox_extra_field") && f.contains("promotion_detail"));
    assert_eq!(sign::verify(&f, &key(), SignType::Md5), Ok(SignType::Md5));
}

#[tokio::test]
async fn an_hmac_orders_notification_has_no_sign_type_and_verifies_as_hmac() {
    let gw = gateway().await;
    let rx = receiver(|_| SUCCESS_ACK.to_owned()).await;
    pay_notifying(&gw, &rx.url, SignType::HmacSha256).await;
    until("a delivery", || async { !rx.hits().is_empty() }).await;
    let f = xml::parse(rx.hits()[0].body.as_bytes()).unwrap();
    assert!(!f.contains("sign_type"));
    assert_eq!(f.get("sign").map(str::len), Some(64));
    assert_eq!(f.get("sign"), Some(sign::sign(&f, &key(), SignType::HmacSha256).as_str()));
    assert_eq!(sign::verify(&f, &key(), SignType::Md5), Ok(SignType::HmacSha256));
}

#[tokio::test]
async fn an_unreachable_notify_url_is_logged_as_connection_refused() {
    let gw = gateway().await;
    let port = helpers::free_port();
    pay_notifying(&gw, &format!("http://127.0.0.1:{port}/n"), SignType::Md5).await;
    until("two attempts", || async { delivery_status(&gw).is_some_and(|(_, t)| t.len() >= 2) }).await;
    let (status, tries) = delivery_status(&gw).unwrap();
    assert_eq!(status, DeliveryStatus::Pending);
    assert_eq!(tries[0], "connection refused");
}

// ---- notify_url, redirects and memory (the review's findings) ----------------------------------

#[tokio::test]
async fn a_notify_url_on_another_host_is_refused_because_the_sandbox_only_notifies_its_own_shop() {
    let gw = gateway_with(|c| c.public_url = Some("https://shop.example/".parse().unwrap())).await;
    for url in ["http://10.0.0.5/wxpay/notify", "http://169.254.169.254/latest", "https://evil.example/n"] {
        let mut f = order("ORD000001", "JSAPI");
        f.insert("notify_url", url);
        let des = fails_with(&gw.call("pay/unifiedorder", f).await, "INVALID_REQUEST");
        assert!(des.contains("only notifies its own shop"), "{url}: {des}");
    }
    // why: the Host header is the caller's choice, so naming the target there changes nothing.
    let mut f = order("ORD000001", "JSAPI");
    f.insert("notify_url", "http://10.0.0.5/wxpay/notify");
    f.insert("appid", APPID);
    f.insert("mch_id", MCH_ID);
    f.insert("nonce_str", "hostnonce");
    sign::sign_in_place(&mut f, &key(), SignType::Md5, false);
    let r = gw.http.post(gw.url("pay/unifiedorder")).header("Host", "10.0.0.5").body(xml::to_xml(&f));
    let answer = xml::parse(r.send().await.unwrap().text().await.unwrap().as_bytes()).unwrap();
    fails_with(&answer, "INVALID_REQUEST");

    let mut own = order("ORD000002", "JSAPI");
    own.insert("notify_url", "https://shop.example/wxpay/notify");
    gw.place_fields(own).await;
    gw.paid("ORD000003", "101").await;
    let refund = gw.refund("ORD000003", "RF1", "101", "1", Some("http://10.0.0.5/refund")).await;
    assert!(fails_with(&refund, "INVALID_REQUEST").contains("only notifies its own shop"));
    assert!(gw.sb.state().orders["ORD000003"].refunds.is_empty(), "a refused refund changes nothing");
}

#[tokio::test]
async fn a_notification_answered_with_a_redirect_is_not_followed() {
    let gw = gateway().await;
    let elsewhere = receiver(|_| SUCCESS_ACK.to_owned()).await;
    let target = elsewhere.url.clone();
    let rx = raw_receiver(move |_| {
        format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    })
    .await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    until("two attempts", || async { delivery_status(&gw).is_some_and(|(_, t)| t.len() >= 2) }).await;
    let (status, tries) = delivery_status(&gw).unwrap();
    assert_eq!((status, tries[0].as_str()), (DeliveryStatus::Pending, "302 Found"));
    assert!(elsewhere.hits().is_empty(), "the POST never reached the redirect's target");
}

#[tokio::test]
async fn a_notification_reply_larger_than_64_kib_is_not_read_and_not_an_acknowledgement() {
    let gw = gateway().await;
    let huge = format!("{}{}", SUCCESS_ACK, " ".repeat(1 << 20));
    let rx = receiver(move |_| huge.clone()).await;
    pay_notifying(&gw, &rx.url, SignType::Md5).await;
    until("an attempt", || async { delivery_status(&gw).is_some_and(|(_, t)| !t.is_empty()) }).await;
    let (status, tries) = delivery_status(&gw).unwrap();
    assert_eq!((status, tries[0].as_str()), (DeliveryStatus::Pending, "200 reply larger than 64 KiB"));
}

#[tokio::test]
async fn a_reentry_removes_the_replaced_prepay_id_from_the_index() {
    let gw = gateway().await;
    let first = gw.place("ORD000001", "JSAPI").await;
    let second = gw.place("ORD000001", "JSAPI").await;
    let third = gw.place("ORD000001", "JSAPI").await;
    let st = gw.sb.state();
    assert_eq!(st.by_prepay.len(), 1, "one live prepay_id per order, however often it is re-entered");
    assert!(st.order_by_prepay(first.get("prepay_id").unwrap()).is_none());
    assert!(st.order_by_prepay(second.get("prepay_id").unwrap()).is_none());
    assert!(st.order_by_prepay(third.get("prepay_id").unwrap()).is_some());
}

#[tokio::test]
async fn an_identical_reentry_close_to_its_time_expire_still_refreshes_the_prepay() {
    let gw = gateway_with(|c| c.sandbox.time_scale = 1.0).await;
    // time_expire is in whole seconds: the next whole second at least 60.2 s ahead.
    let (now, started) = (time::OffsetDateTime::now_utc(), std::time::Instant::now());
    let expire = (now + time::Duration::milliseconds(60_200)).replace_nanosecond(0).unwrap()
        + time::Duration::seconds(1);
    let mut f = order("ORD000001", "JSAPI");
    f.insert("time_expire", wxcheckout::wxpay::messages::beijing_time(expire));
    let first = gw.place_fields(f.clone()).await;
    // why: now less than the 1-minute minimum is left, which only a new order must have.
    let over_a_minute = Duration::try_from(expire - now - time::Duration::seconds(60)).unwrap();
    helpers::wait_out(started, over_a_minute + Duration::from_millis(20)).await;
    let again = gw.place_fields(f).await;
    assert_ne!(first.get("prepay_id"), again.get("prepay_id"));
    let mut new = order("ORD000002", "JSAPI");
    new.insert("time_expire", wxcheckout::wxpay::messages::beijing_time(expire));
    assert!(fails_with(&gw.call("pay/unifiedorder", new).await, "INVALID_REQUEST").contains("time_expire"));
}

#[tokio::test]
async fn refundquery_at_an_offset_equal_to_the_refund_count_is_an_empty_page_not_param_error() {
    let gw = gateway().await;
    gw.paid("ORD000001", "1000").await;
    for n in 0..2 {
        ok(&gw.refund("ORD000001", &format!("RF{n:02}"), "1000", "10", None).await);
    }
    let at_end =
        ok(&gw.call("pay/refundquery", fields(&[("out_trade_no", "ORD000001"), ("offset", "2")])).await);
    assert_eq!(at_end.get("refund_count"), Some("0"));
    assert!(!at_end.contains("out_refund_no_0"));
    fails_with(
        &gw.call("pay/refundquery", fields(&[("out_trade_no", "ORD000001"), ("offset", "3")])).await,
        "PARAM_ERROR",
    );
}

#[tokio::test]
async fn a_newline_or_backtick_in_body_or_attach_cannot_break_the_bill() {
    let gw = gateway().await;
    let mut f = order("ORD000001", "JSAPI");
    f.insert("body", "Coffee\nLatte,`x");
    // why no \r: XML turns \r\n into \n before the signature is checked.
    f.insert("attach", "a`b\nc");
    gw.place_fields(f).await;
    gw.sb.pay("ORD000001", "oPayer").unwrap();
    let text = bill(&gw, fields(&[("bill_date", &today_beijing())])).await.text().await.unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    let parsed = wxcheckout::wxpay::bill::parse(&text).unwrap();
    assert_eq!((parsed.rows[0].body.as_str(), parsed.rows[0].attach.as_str()), ("Coffee Latte,'x", "a'b c"));
}

#[tokio::test]
async fn an_emoji_sent_as_a_character_reference_is_an_encoding_error() {
    let gw = gateway().await;
    let mut f = order("ORD000001", "JSAPI");
    f.insert("appid", APPID);
    f.insert("mch_id", MCH_ID);
    f.insert("nonce_str", "emojinonce");
    sign::sign_in_place(&mut f, &key(), SignType::Md5, false);
    let body = xml::to_xml(&f).replace("Demo Shop-Coffee", "Demo Shop-Coffee]]>&#x1F600;<![CDATA[");
    protocol_fail(&gw.post_text("pay/unifiedorder", body).await, "编码格式错误");
}

// ---- open redirects and the buyer cookie -----------------------------------------------------------

#[tokio::test]
async fn oauth_redirects_only_to_the_registered_oauth_domain_and_refuses_others_with_10003() {
    let gw = gateway_with(|c| c.sandbox.oauth_domains = Some(vec!["shop.example".into()])).await;
    for refused in [
        "https://evil.example/steal",
        "https://m.shop.example/back",
        "http://127.0.0.1:9/back",
        "http://shop.example:8000/back",
    ] {
        let page = authorize(&gw, refused, None).await;
        assert_eq!(page.status(), 200, "{refused}: WeChat shows its error as a page");
        let text = page.text().await.unwrap();
        assert!(text.contains("redirect_uri 参数错误") && text.contains("10003"), "{refused}: {text}");
    }
    for own in ["https://shop.example/pay/back", "http://shop.example/back"] {
        assert_eq!(authorize(&gw, own, None).await.status(), 302, "{own}");
    }
    // The Host a request names does not widen the registration.
    let url = format!(
        "{}?appid={APPID}&redirect_uri=http%3A%2F%2Fshop.lan%2Fback&response_type=code&scope=snsapi_base&state=s",
        gw.url("connect/oauth2/authorize")
    );
    let r = gw.http.get(&url).header("Host", "shop.lan:8000").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The refusal is on the sandbox's home page.
    let home = gw.http.get(gw.url("")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("evil.example/steal") && home.contains("shop.example"), "{home}");
}

#[tokio::test]
async fn by_default_the_standalone_sandbox_registers_loopback_at_any_port() {
    let gw = gateway().await;
    for own in ["http://127.0.0.1:9/pay/t/oauth", "http://localhost/back", "http://[::1]:8000/back"] {
        assert_eq!(authorize(&gw, own, None).await.status(), 302, "{own}");
    }
    assert_eq!(authorize(&gw, "https://shop.example/back", None).await.status(), 200);
}

#[tokio::test]
async fn the_sbx_uid_cookie_is_http_only_lax_and_secure_when_the_public_url_is_https() {
    let attributes = |r: &reqwest::Response| r.headers()["set-cookie"].to_str().unwrap().to_lowercase();
    let https = gateway_with(|c| {
        c.public_url = Some("https://shop.example/".parse().unwrap());
        c.sandbox.oauth_domains = Some(vec!["shop.example".into()]);
    })
    .await;
    let cookie = attributes(&authorize(&https, "https://shop.example/cb", None).await);
    assert!(
        cookie.contains("; secure") && cookie.contains("httponly") && cookie.contains("samesite=lax"),
        "{cookie}"
    );
    let http = gateway().await;
    let cookie = attributes(&authorize(&http, "http://localhost/cb", None).await);
    assert!(
        !cookie.contains("secure") && cookie.contains("httponly") && cookie.contains("samesite=lax"),
        "{cookie}"
    );
}

#[test]
fn a_time_scale_above_one_is_refused_because_a_sandbox_only_speeds_time_up() {
    use wxcheckout::config::SandboxConfig;
    let with = |time_scale| SandboxConfig { time_scale, ..SandboxConfig::default() }.validate();
    assert!(with(1.0).is_ok() && with(0.001).is_ok());
    for slower in [1.5, 1000.0] {
        let err = with(slower).expect_err("slows time down").to_string();
        assert!(err.contains("sandbox.time_scale"), "{err}");
    }
}

// ---- the merchant's registration --------------------------------------------------------------

#[tokio::test]
async fn unifiedorder_refuses_an_openid_that_another_appid_issued_with_appid_and_openid_mismatch() {
    let gw = gateway().await;
    let other = wxcheckout::sandbox::oauth::openid_for("wx0000000000000000", "test-buyer");
    for wrong in [other.as_str(), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"] {
        let mut f = order("ORD000020", "JSAPI");
        f.insert("openid", wrong);
        let des = fails_with(&gw.call("pay/unifiedorder", f).await, "PARAM_ERROR");
        assert_eq!(des, "appid和openid不匹配", "{wrong}");
    }
    // The openid this appid's OAuth gives is accepted.
    gw.place("ORD000020", "JSAPI").await;
}

#[tokio::test]
async fn a_notify_url_with_a_query_is_refused_and_an_http_public_one_is_only_warned_about() {
    let gw = gateway_with(|c| c.public_url = Some("http://shop.example/".parse().unwrap())).await;
    let mut f = order("ORD000021", "NATIVE");
    f.insert("notify_url", "http://127.0.0.1:9/wxpay/notify?order=1");
    fails_with(&gw.call("pay/unifiedorder", f).await, "INVALID_REQUEST");
    let mut f = order("ORD000022", "NATIVE");
    f.insert("notify_url", "http://shop.example/wxpay/notify");
    ok(&gw.call("pay/unifiedorder", f).await);
    let home = gw.http.get(gw.url("")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("?order=1"), "the refusal is listed");
    assert!(home.contains("requires https"), "the warning is listed: {home}");
}
