//! The sandbox's v3 side over real loopback HTTP, driven as a v3 client would: requests signed
//! with `MerchantSigner` (the published test key K1), answers and notifications checked with
//! the public key the sandbox publishes, notification resources opened with the APIv3 key.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use wxcheckout::sandbox::Sandbox;
use wxcheckout::sandbox::oauth::openid_for;
use wxcheckout::sandbox::state::DeliveryStatus;
use wxcheckout::sandbox::v3::{MERCHANT_PRIVATE_KEY, MERCHANT_SERIAL, SANDBOX_APIV3_KEY};
use wxcheckout::wxpay::v3::messages::{NotificationEnvelope, TradeState, Transaction};
use wxcheckout::wxpay::v3::{ApiV3Key, MerchantSigner, WechatPayVerifier, WechatpaySignature};

use crate::helpers::receiver::{Receiver, Reply};
use crate::helpers::{self, WITHIN};

mod bill;
mod certificates;
mod refunds;

const APPID: &str = "wxd930ea5d5a258f4f";
const MCHID: &str = "10000100";

/// A v3 client of the sandbox merchant.
struct Client {
    server: helpers::TestServer,
    sb: Arc<Sandbox>,
    http: reqwest::Client,
    signer: MerchantSigner,
    verifier: WechatPayVerifier,
}

/// One answer as received.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn out_trade_no() -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("V3{n}")
}

async fn client() -> Client {
    let (server, sb) = helpers::spawn_sandbox_with_handle(|c| c.sandbox.time_scale = 0.001).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let published: Value = http
        .get(format!("{}v3/public-key", server.sandbox_base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut verifier = WechatPayVerifier::new();
    verifier
        .add_public_key_pem(
            published["public_key_id"].as_str().unwrap(),
            published["public_key"].as_str().unwrap(),
        )
        .unwrap();
    let signer = MerchantSigner::from_pem(MCHID, MERCHANT_SERIAL, MERCHANT_PRIVATE_KEY).unwrap();
    Client { server, sb, http, signer, verifier }
}

impl Client {
    /// Sends `method target` with `body`, signed by `signer` at `timestamp`.
    async fn send_as(
        &self,
        signer: &MerchantSigner,
        method: &str,
        target: &str,
        body: &str,
        timestamp: i64,
    ) -> Answer {
        let nonce = wxcheckout::wxpay::v3::nonce();
        let auth = signer.authorize(method, target, timestamp, &nonce, body.as_bytes()).unwrap();
        self.send_with_header(method, target, body, &auth.to_header_value()).await
    }

    async fn send_with_header(&self, method: &str, target: &str, body: &str, authorization: &str) -> Answer {
        self.send_with_headers(method, target, body, &[("Authorization", authorization)]).await
    }

    /// Sends `method target` with `body` and exactly these extra headers.
    async fn send_with_headers(
        &self,
        method: &str,
        target: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}{target}", self.server.url());
        let mut req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).header("Content-Type", "application/json").body(body.to_owned()),
        };
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let r = req.header("Accept", "application/json").send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        Answer { status, headers, body: r.bytes().await.unwrap().to_vec() }
    }

    async fn send(&self, method: &str, target: &str, body: &str) -> Answer {
        self.send_as(&self.signer, method, target, body, now()).await
    }

    async fn order(&self, product: &str, body: &Value) -> Answer {
        self.send("POST", &format!("/sandbox/v3/pay/transactions/{product}"), &body.to_string()).await
    }

    async fn query(&self, out_trade_no: &str) -> Answer {
        self.send(
            "GET",
            &format!("/sandbox/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={MCHID}"),
            "",
        )
        .await
    }

    /// Signs `method target` as the client and sends it with `Wechatpay-Serial: serial`.
    async fn send_naming(&self, method: &str, target: &str, body: &str, serial: &str) -> Answer {
        let nonce = wxcheckout::wxpay::v3::nonce();
        let auth = self.signer.authorize(method, target, now(), &nonce, body.as_bytes()).unwrap();
        let auth = auth.to_header_value();
        self.send_with_headers(
            method,
            target,
            body,
            &[("Authorization", &auth), ("Wechatpay-Serial", serial)],
        )
        .await
    }

    /// A Native order of `total` fen, paid on the scan page; its out_trade_no and transaction_id.
    async fn paid_order(&self, total: u64, notify_url: &str) -> (String, String) {
        let no = out_trade_no();
        let mut body = native_body(&no, notify_url);
        body["amount"]["total"] = json!(total);
        let a = self.order("native", &body).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        self.pay_code(a.json()["code_url"].as_str().unwrap()).await;
        let tx = self.query(&no).await.json()["transaction_id"].as_str().unwrap().to_owned();
        (no, tx)
    }

    /// The buyer pays a `code_url` on the sandbox's scan page.
    async fn pay_code(&self, code_url: &str) {
        let pr = code_url.split("pr=").nth(1).unwrap().to_owned();
        let paid = self
            .http
            .post(format!("{}scan", self.server.sandbox_base()))
            .form(&[("pr", pr.as_str()), ("action", "pay")])
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), StatusCode::OK);
    }

    /// Asserts the answer is signed by the sandbox's published key.
    fn assert_signed(&self, a: &Answer) {
        let sig =
            WechatpaySignature::from_headers(|n| a.headers.get(n).and_then(|v| v.to_str().ok())).unwrap();
        self.verifier.verify(&sig, &a.body, now()).unwrap_or_else(|e| panic!("answer not verified: {e}"));
        assert_eq!(a.headers.get("Wechatpay-Signature-Type").unwrap(), "WECHATPAY2-SHA256-RSA2048");
    }
}

fn native_body(no: &str, notify_url: &str) -> Value {
    json!({
        "appid": APPID,
        "mchid": MCHID,
        "description": "Demo Shop-Coffee",
        "out_trade_no": no,
        "notify_url": notify_url,
        "amount": {"total": 1234, "currency": "CNY"},
    })
}

const NOTIFY: &str = "http://127.0.0.1:9/wxpay/v3-notify";

fn assert_refused(a: &Answer, status: u16, code: &str) {
    assert_eq!((a.status.as_u16(), a.code().as_str()), (status, code), "{}", a.text());
}

// ---- ordering ------------------------------------------------------------------------------

#[tokio::test]
async fn a_native_order_gets_a_code_url_in_an_answer_signed_with_the_published_key() {
    let c = client().await;
    let a = c.order("native", &native_body(&out_trade_no(), NOTIFY)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    c.assert_signed(&a);
    assert!(a.json()["code_url"].as_str().unwrap().starts_with("weixin://wxpay/bizpayurl?pr="));
}

#[tokio::test]
async fn a_jsapi_order_for_an_openid_of_the_appid_gets_a_prepay_id() {
    let c = client().await;
    let mut body = native_body(&out_trade_no(), NOTIFY);
    body["payer"] = json!({"openid": openid_for(APPID, "buyer-1")});
    let a = c.order("jsapi", &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    c.assert_signed(&a);
    assert!(a.json()["prepay_id"].as_str().unwrap().starts_with("wx"));
}

#[tokio::test]
async fn a_jsapi_order_without_a_payer_or_with_a_foreign_openid_is_refused() {
    let c = client().await;
    let a = c.order("jsapi", &native_body(&out_trade_no(), NOTIFY)).await;
    assert_refused(&a, 400, "PARAM_ERROR");
    assert_eq!(a.json()["message"], "JSAPI支付必须传openid");
    let mut body = native_body(&out_trade_no(), NOTIFY);
    body["payer"] = json!({"openid": openid_for("wx0000000000000000", "buyer-1")});
    let a = c.order("jsapi", &body).await;
    assert_refused(&a, 400, "PARAM_ERROR");
    assert_eq!(a.json()["message"], "appid和openid不匹配");
}

#[tokio::test]
async fn an_h5_order_gets_an_h5_url_on_the_sandbox_cashier() {
    let c = client().await;
    let mut body = native_body(&out_trade_no(), NOTIFY);
    body["scene_info"] = json!({"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}});
    let a = c.order("h5", &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    c.assert_signed(&a);
    let url = a.json()["h5_url"].as_str().unwrap().to_owned();
    let cashier = format!("{}cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx", c.server.sandbox_base());
    assert!(url.starts_with(&cashier), "{url}");
    assert!(url.contains("&package="), "{url}");
}

#[tokio::test]
async fn an_h5_order_without_h5_info_is_refused_naming_the_field() {
    let c = client().await;
    let mut body = native_body(&out_trade_no(), NOTIFY);
    body["scene_info"] = json!({"payer_client_ip": "203.0.113.7"});
    let a = c.order("h5", &body).await;
    assert_refused(&a, 400, "PARAM_ERROR");
    assert_eq!(a.json()["detail"]["field"], "/scene_info/h5_info");
}

// ---- the Authorization header ----------------------------------------------------------------

#[tokio::test]
async fn a_request_whose_signature_does_not_match_its_body_is_refused_with_sign_error() {
    let c = client().await;
    let body = native_body(&out_trade_no(), NOTIFY).to_string();
    let auth = c
        .signer
        .authorize("POST", "/sandbox/v3/pay/transactions/native", now(), "N1", body.as_bytes())
        .unwrap();
    let altered = body.replace("1234", "1");
    let a = c
        .send_with_header("POST", "/sandbox/v3/pay/transactions/native", &altered, &auth.to_header_value())
        .await;
    assert_refused(&a, 401, "SIGN_ERROR");
    assert_eq!(a.json()["message"], "签名信息错误,验签失败");
}

#[tokio::test]
async fn a_request_signed_five_minutes_ago_is_refused_as_stale() {
    let c = client().await;
    let body = native_body(&out_trade_no(), NOTIFY).to_string();
    let a = c.send_as(&c.signer, "POST", "/sandbox/v3/pay/transactions/native", &body, now() - 300).await;
    assert_refused(&a, 401, "SIGN_ERROR");
    assert_eq!(a.json()["message"], "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟");
}

#[tokio::test]
async fn a_malformed_or_missing_authorization_header_is_refused_before_anything_else() {
    let c = client().await;
    let a = c.send_with_header("POST", "/sandbox/v3/pay/transactions/native", "{}", "Bearer x").await;
    assert_refused(&a, 401, "SIGN_ERROR");
    assert_eq!(a.json()["message"], "Http头Authorization值格式错误,请参考《微信支付商户REST API签名规则》");
}

#[tokio::test]
async fn a_request_signed_under_another_mchid_is_refused_as_a_wrong_certificate() {
    let c = client().await;
    let other = MerchantSigner::from_pem("1900007291", MERCHANT_SERIAL, MERCHANT_PRIVATE_KEY).unwrap();
    let body = native_body(&out_trade_no(), NOTIFY).to_string();
    let a = c.send_as(&other, "POST", "/sandbox/v3/pay/transactions/native", &body, now()).await;
    assert_refused(&a, 401, "SIGN_ERROR");
    assert_eq!(a.json()["message"], "商户证书序列号有误");
}

// ---- the body --------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_naming_another_mchid_than_the_signer_is_refused() {
    let c = client().await;
    let mut body = native_body(&out_trade_no(), NOTIFY);
    body["mchid"] = json!("1900007291");
    let a = c.order("native", &body).await;
    assert_refused(&a, 400, "PARAM_ERROR");
    assert_eq!(a.json()["message"], "http header中的mchid与post payload中的mchid不匹配");
}

#[tokio::test]
async fn another_appid_is_refused_as_not_bound_to_the_mchid() {
    let c = client().await;
    let mut body = native_body(&out_trade_no(), NOTIFY);
    body["appid"] = json!("wx0000000000000000");
    assert_refused(&c.order("native", &body).await, 400, "APPID_MCHID_NOT_MATCH");
}

#[tokio::test]
async fn a_missing_or_wrong_field_is_refused_with_param_error_naming_it() {
    let c = client().await;
    let cases: [(&str, Value, &str); 5] = [
        ("description", Value::Null, "/description"),
        ("amount", json!({"total": 0}), "/amount/total"),
        ("amount", json!({"total": "12"}), "/amount/total"),
        ("amount", json!({"total": 1, "currency": "USD"}), "/amount/currency"),
        ("notify_url", json!("http://shop.example/notify"), "/notify_url"),
    ];
    for (field, value, pointer) in cases {
        let mut body = native_body(&out_trade_no(), NOTIFY);
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        let a = c.order("native", &body).await;
        assert_refused(&a, 400, "PARAM_ERROR");
        assert_eq!(a.json()["detail"]["field"], pointer, "{}", a.text());
    }
    let logged = c.sb.state().refusals.iter().any(|r| r.detail.contains("http://shop.example/notify"));
    assert!(logged, "the refused notify_url is on the home page's refusal log");
}

#[tokio::test]
async fn an_out_trade_no_reused_with_different_content_is_refused_and_with_the_same_is_renewed() {
    let c = client().await;
    let no = out_trade_no();
    let first = c.order("native", &native_body(&no, NOTIFY)).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = c.order("native", &native_body(&no, NOTIFY)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_ne!(again.json()["code_url"], first.json()["code_url"], "a new code_url replaces the old one");
    let mut changed = native_body(&no, NOTIFY);
    changed["amount"]["total"] = json!(1);
    let a = c.order("native", &changed).await;
    assert_refused(&a, 403, "OUT_TRADE_NO_USED");
    assert_eq!(a.json()["message"], "商户订单号重复");
}

// ---- query and close -------------------------------------------------------------------------

#[tokio::test]
async fn a_closed_order_answers_a_signed_204_and_then_queries_as_closed() {
    let c = client().await;
    let no = out_trade_no();
    c.order("native", &native_body(&no, NOTIFY)).await;
    let unpaid = c.query(&no).await;
    assert_eq!(unpaid.status, StatusCode::OK, "{}", unpaid.text());
    c.assert_signed(&unpaid);
    assert_eq!(unpaid.json()["trade_state"], "NOTPAY");
    let close = format!("/sandbox/v3/pay/transactions/out-trade-no/{no}/close");
    let closed = c.send("POST", &close, &json!({"mchid": MCHID}).to_string()).await;
    assert_eq!(closed.status, StatusCode::NO_CONTENT, "{}", closed.text());
    assert!(closed.body.is_empty());
    c.assert_signed(&closed);
    let q = c.query(&no).await;
    assert_eq!(
        (q.json()["trade_state"].as_str(), q.json()["trade_state_desc"].as_str()),
        (Some("CLOSED"), Some("订单已关闭"))
    );
    assert_eq!(
        c.send("POST", &close, &json!({"mchid": MCHID}).to_string()).await.status,
        StatusCode::NO_CONTENT,
        "closing is re-entrant"
    );
    assert_refused(&c.order("native", &native_body(&no, NOTIFY)).await, 400, "ORDER_CLOSED");
}

#[tokio::test]
async fn querying_an_unknown_order_or_without_mchid_is_refused() {
    let c = client().await;
    assert_refused(&c.query("NOSUCHORDER1").await, 404, "ORDER_NOT_EXIST");
    let a = c.send("GET", "/sandbox/v3/pay/transactions/out-trade-no/NOSUCHORDER1", "").await;
    assert_refused(&a, 400, "PARAM_ERROR");
    assert_eq!(a.json()["detail"]["field"], "mchid");
}

// ---- payment and notification ----------------------------------------------------------------

#[tokio::test]
async fn a_native_order_paid_on_the_scan_page_is_notified_encrypted_and_retried_after_a_500() {
    let c = client().await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Answer(500, r#"{"code":"FAIL","message":"失败"}"#.to_owned())]);
    let no = out_trade_no();
    let a = c.order("native", &native_body(&no, &receiver.url)).await;
    let code_url = a.json()["code_url"].as_str().unwrap().to_owned();
    let pr = code_url.split("pr=").nth(1).unwrap().to_owned();
    let paid = c
        .http
        .post(format!("{}scan", c.server.sandbox_base()))
        .form(&[("pr", pr.as_str()), ("action", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::OK);

    let got = receiver.wait_for(2, WITHIN).await;
    assert_eq!(got[0].body, got[1].body, "a redelivery repeats the same notification");
    for n in &got {
        assert_eq!(n.header("Content-Type"), Some("application/json"));
        let sig = WechatpaySignature::from_headers(|h| n.header(h)).unwrap();
        c.verifier.verify(&sig, n.body.as_bytes(), now()).unwrap();
    }
    let envelope: NotificationEnvelope = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(
        (envelope.event_type.as_str(), envelope.resource_type.as_str()),
        ("TRANSACTION.SUCCESS", "encrypt-resource")
    );
    let plain = envelope.resource.decrypt_to_string(&ApiV3Key::new(SANDBOX_APIV3_KEY).unwrap()).unwrap();
    let tx: Transaction = serde_json::from_str(&plain).unwrap();
    assert_eq!(
        (tx.trade_state, tx.out_trade_no.as_str(), tx.mchid.as_str()),
        (TradeState::Success, no.as_str(), MCHID)
    );
    assert_eq!(tx.amount.as_ref().and_then(|a| a.total), Some(1234));
    assert_eq!(tx.trade_type.as_deref(), Some("NATIVE"));

    helpers::until("the delivery log to show the acknowledgement", || async {
        c.sb.state()
            .deliveries
            .iter()
            .any(|d| d.out_trade_no == no && d.status == DeliveryStatus::Acknowledged)
    })
    .await;
    let tries: Vec<String> = {
        let st = c.sb.state();
        st.deliveries
            .iter()
            .find(|d| d.out_trade_no == no)
            .unwrap()
            .tries
            .iter()
            .map(|t| t.outcome.clone())
            .collect()
    };
    assert!(tries[0].starts_with("500"), "{tries:?}");

    let by_id = c
        .send(
            "GET",
            &format!("/sandbox/v3/pay/transactions/id/{}?mchid={MCHID}", tx.transaction_id.clone().unwrap()),
            "",
        )
        .await;
    assert_eq!(by_id.status, StatusCode::OK, "{}", by_id.text());
    c.assert_signed(&by_id);
    assert_eq!(by_id.json()["trade_state"], "SUCCESS");
    let close = format!("/sandbox/v3/pay/transactions/out-trade-no/{no}/close");
    assert_refused(&c.send("POST", &close, &json!({"mchid": MCHID}).to_string()).await, 400, "ORDER_PAID");
}

#[tokio::test]
async fn a_v3_jsapi_order_pays_through_the_bridge_with_an_rsa_pay_sign_only() {
    let c = client().await;
    let receiver = Receiver::start().await;
    let no = out_trade_no();
    let mut body = native_body(&no, &receiver.url);
    body["payer"] = json!({"openid": openid_for(APPID, "buyer-2")});
    let prepay_id = c.order("jsapi", &body).await.json()["prepay_id"].as_str().unwrap().to_owned();
    let bridge = |params: Value| {
        let url = format!("{}jsapi/pay", c.server.sandbox_base());
        let request = json!({"params": params, "action": "pay", "page_url": "http://localhost:8000/pay/abc"});
        let http = c.http.clone();
        async move { http.post(url).json(&request).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let params =
        c.signer.jsapi_pay_params(APPID, &prepay_id, now(), "e61463f8efa94090b1f366cccfbbb444").unwrap();
    let mut md5 = serde_json::to_value(&params).unwrap();
    md5["signType"] = json!("MD5");
    assert_eq!(bridge(md5).await["err_desc"], "签名错误", "a v3 prepay_id does not pay with a v2 signType");
    let paid = bridge(serde_json::to_value(&params).unwrap()).await;
    assert_eq!(paid["err_msg"], "get_brand_wcpay_request:ok", "{paid}");
    let got = receiver.wait_for(1, WITHIN).await;
    let envelope: NotificationEnvelope = serde_json::from_str(&got[0].body).unwrap();
    let plain = envelope.resource.decrypt_to_string(&ApiV3Key::new(SANDBOX_APIV3_KEY).unwrap()).unwrap();
    let tx: Transaction = serde_json::from_str(&plain).unwrap();
    assert_eq!((tx.trade_state, tx.trade_type.as_deref()), (TradeState::Success, Some("JSAPI")));
    assert_eq!(tx.payer.map(|p| p.openid), Some(openid_for(APPID, "buyer-2")));
}

#[tokio::test]
async fn an_out_trade_no_with_a_bar_is_queried_by_its_percent_encoded_path_as_signed() {
    let c = client().await;
    let no = format!("{}|a*b", out_trade_no());
    assert_eq!(c.order("native", &native_body(&no, NOTIFY)).await.status, StatusCode::OK);
    let encoded = no.replace('|', "%7C");
    let q = c.query(&encoded).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text());
    assert_eq!(q.json()["out_trade_no"], no.as_str());
}

#[tokio::test]
async fn the_system_error_fault_answers_500_system_error_after_the_signature_is_checked() {
    let c = client().await;
    let mut faults = c.sb.faults();
    faults.system_error_rate = 1.0;
    c.sb.set_faults(faults);
    let a = c.order("native", &native_body(&out_trade_no(), NOTIFY)).await;
    assert_refused(&a, 500, "SYSTEM_ERROR");
    let stale = native_body(&out_trade_no(), NOTIFY).to_string();
    let a = c.send_as(&c.signer, "POST", "/sandbox/v3/pay/transactions/native", &stale, now() - 600).await;
    assert_refused(&a, 401, "SIGN_ERROR");
}

#[tokio::test]
async fn a_notification_the_receiver_does_not_answer_within_five_seconds_is_sent_again() {
    let c = client().await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Hold]);
    let no = out_trade_no();
    let a = c.order("native", &native_body(&no, &receiver.url)).await;
    let pr = a.json()["code_url"].as_str().unwrap().split("pr=").nth(1).unwrap().to_owned();
    c.http
        .post(format!("{}scan", c.server.sandbox_base()))
        .form(&[("pr", pr.as_str()), ("action", "pay")])
        .send()
        .await
        .unwrap();
    let got = receiver.wait_for(2, std::time::Duration::from_secs(15)).await;
    receiver.release();
    assert_eq!(got[0].body, got[1].body);
    helpers::until("the delivery log to show the timeout", || async {
        let st = c.sb.state();
        st.deliveries
            .iter()
            .any(|d| d.out_trade_no == no && d.tries.iter().any(|t| t.outcome.starts_with("timeout")))
    })
    .await;
}
