//! Our own `WxPayClient` against the sandbox running as a separate process (the built
//! binary, `wxcheckout sandbox`), as the shop meets the gateway in production: every call
//! through the client's typed API, every failure through its typed errors, and the payer's
//! part played through the sandbox's payer pages.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use wxcheckout::config::{SANDBOX_API_KEY, SANDBOX_APP_SECRET, SANDBOX_APPID, SANDBOX_MCH_ID};
use wxcheckout::wxpay::bill::{self, BillRow};
use wxcheckout::wxpay::messages::{
    BEIJING, BillType, DownloadBill, OrderQueryResponse, OrderRef, Refund, RefundQuery, RefundQueryBy,
    RefundStatus, TradeKind, TradeState, TradeType, UnifiedOrder, UnifiedOrderResponse,
};
use wxcheckout::wxpay::notify::{self, NotifyError, PaymentNotification};
use wxcheckout::wxpay::oauth::OAuthErrorKind;
use wxcheckout::wxpay::{ApiKey, ClientConfig, Error, SignType, WxPayClient};

use crate::helpers::{self, Delivery, until};

/// The shop's pages on loopback: by default the sandbox has the shop's `/pay/` directory and
/// domain on loopback registered, so the bridge, the cashier and OAuth accept only these.
const SHOP_PAGE: &str = "http://localhost:8000/pay/abc";
const RETURN_PAGE: &str = "http://localhost:8000/o/tok123";
const IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";
/// Nothing listens on the discard port: notifications of tests that do not read them fail quietly.
const NOWHERE: &str = "http://127.0.0.1:9/wxpay/notify";

fn key() -> ApiKey {
    ApiKey::new(SANDBOX_API_KEY)
}

// ---- the gateway, in the protocol's words ---------------------------------------------------

/// A sandbox process, our client pointed at it, and a browser for the payer's part.
struct Gw {
    server: helpers::ChildServer,
    client: WxPayClient,
    browser: reqwest::Client,
    next_no: AtomicU32,
}

impl Gw {
    /// `wxcheckout sandbox` at time_scale 0.01: 5 minutes = 3 s, the 15 s retry gap = 0.15 s.
    async fn start() -> Gw {
        Gw::scaled("0.01").await
    }

    async fn scaled(time_scale: &str) -> Gw {
        let server =
            helpers::spawn_binary("sandbox", &[("WXCHECKOUT_SANDBOX__TIME_SCALE", time_scale)]).await;
        let browser = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let client = client_at(&server.sandbox_base(), |_| {});
        Gw { server, client, browser, next_no: AtomicU32::new(1) }
    }

    fn base(&self) -> Url {
        Url::parse(&self.server.sandbox_base()).unwrap()
    }

    /// An MD5 client with the sandbox's credentials, adjusted by `tune`.
    fn client_with(&self, tune: impl FnOnce(&mut ClientConfig)) -> WxPayClient {
        client_at(&self.server.sandbox_base(), tune)
    }

    fn hmac_client(&self) -> WxPayClient {
        self.client_with(|c| c.sign_type = SignType::HmacSha256)
    }

    fn page(&self, path: &str) -> String {
        format!("{}{path}", self.server.sandbox_base())
    }

    /// A fresh `out_trade_no` of this sandbox.
    fn trade_no(&self) -> String {
        format!("ORD20240101{:08}", self.next_no.fetch_add(1, Ordering::SeqCst))
    }

    /// A new order of `kind` for `fee` fen, notifying nowhere (tests set `notify_url`).
    fn order(&self, kind: TradeKind, fee: u64) -> UnifiedOrder {
        UnifiedOrder {
            kind,
            body: "Demo Shop-Coffee".to_owned(),
            attach: Some("table=12".to_owned()),
            out_trade_no: self.trade_no(),
            total_fee: fee,
            fee_type: None,
            spbill_create_ip: "127.0.0.1".to_owned(),
            time_start: None,
            time_expire: None,
            notify_url: NOWHERE.to_owned(),
            device_info: None,
            detail: None,
        }
    }

    fn native(&self, fee: u64) -> UnifiedOrder {
        self.order(TradeKind::Native { product_id: "coffee".to_owned() }, fee)
    }

    fn jsapi(&self, fee: u64) -> UnifiedOrder {
        self.order(TradeKind::Jsapi { openid: helpers::buyer_openid() }, fee)
    }

    fn mweb(&self, fee: u64) -> UnifiedOrder {
        let scene_info = wxcheckout::wxpay::messages::h5_wap_scene_info("https://shop.example", "Demo Shop");
        self.order(TradeKind::Mweb { scene_info }, fee)
    }

    /// Places a NATIVE order with our MD5 client: (out_trade_no, the answer).
    async fn native_order(&self, fee: u64) -> (String, UnifiedOrderResponse) {
        let o = self.native(fee);
        (o.out_trade_no.clone(), self.client.unified_order(&o).await.unwrap())
    }

    async fn query(&self, out_trade_no: &str) -> Result<OrderQueryResponse, Error> {
        self.client.order_query(&OrderRef::OutTradeNo(out_trade_no.to_owned())).await
    }

    async fn trade_state(&self, out_trade_no: &str) -> TradeState {
        self.query(out_trade_no).await.unwrap().trade_state
    }

    /// The payer scans `code_url` and taps Pay on the scan page.
    async fn pay_native(&self, code_url: &str) {
        let pr = Url::parse(code_url).unwrap().query_pairs().find(|(k, _)| k == "pr").unwrap().1.into_owned();
        let res = self
            .browser
            .post(self.page("scan"))
            .form(&[("pr", pr.as_str()), ("action", "pay")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    }

    /// The payer's phone opens `mweb_url` from the shop's page, then taps Pay at the cashier.
    async fn pay_mweb(&self, mweb_url: &str) {
        let opened =
            self.browser.get(mweb_url).header("Referer", SHOP_PAGE).header("User-Agent", IPHONE).send().await;
        let opened = opened.unwrap();
        assert_eq!(opened.status(), StatusCode::OK, "{}", opened.text().await.unwrap());
        let link = Url::parse(mweb_url).unwrap();
        let param = |name: &str| link.query_pairs().find(|(k, _)| k == name).unwrap().1.into_owned();
        let form = [
            ("prepay_id", param("prepay_id")),
            ("package", param("package")),
            ("redirect_url", RETURN_PAGE.to_owned()),
            ("action", "pay".to_owned()),
        ];
        let res = self.browser.post(self.page("cgi-bin/mmpayweb-bin/pay")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
        assert_eq!(res.headers()["location"], RETURN_PAGE);
    }

    /// The JSAPI bridge pays with the parameters `client` signs for the pay page.
    async fn pay_jsapi(&self, client: &WxPayClient, prepay_id: &str) {
        let params =
            client.jsapi_pay_params(prepay_id, OffsetDateTime::now_utc().unix_timestamp()).expect("signed");
        let res = self
            .browser
            .post(self.page("jsapi/pay"))
            .json(&json!({ "params": params, "action": "pay", "page_url": SHOP_PAGE }))
            .send()
            .await
            .unwrap();
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["err_msg"], "get_brand_wcpay_request:ok", "{answer}");
    }

    /// Sets fault settings through the control page's JSON.
    async fn faults(&self, settings: Value) {
        let res = self.browser.post(self.page("control")).json(&settings).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    }

    /// The sandbox home page, which lists every notification attempt.
    async fn home(&self) -> String {
        self.browser.get(self.page("")).send().await.unwrap().text().await.unwrap()
    }
}

/// Our client as the shop configures it for the sandbox at `base` (`…/sandbox/`): every
/// base URL there, the sandbox's default credentials, MD5 unless `tune` says otherwise.
fn client_at(base: &str, tune: impl FnOnce(&mut ClientConfig)) -> WxPayClient {
    let base = Url::parse(base).unwrap();
    let mut cfg = ClientConfig {
        appid: SANDBOX_APPID.to_owned(),
        mch_id: SANDBOX_MCH_ID.to_owned(),
        api_key: Some(key()),
        app_secret: SANDBOX_APP_SECRET.to_owned(),
        sign_type: SignType::Md5,
        api_base: base.clone(),
        open_base: base.clone(),
        sns_base: base,
        cert_pem: None,
        key_pem: None,
    };
    tune(&mut cfg);
    WxPayClient::new(cfg).unwrap()
}

/// The `(err_code, err_code_des)` of a business error; anything else fails the test.
#[track_caller]
fn business<T: std::fmt::Debug>(r: Result<T, Error>) -> (String, String) {
    match r {
        Err(Error::Business { err_code, err_code_des, .. }) => (err_code, err_code_des),
        other => panic!("expected a business error, got {other:?}"),
    }
}

// ---- a merchant's notify endpoint -----------------------------------------------------------

/// A notify URL on a raw TCP listener: records each POSTed body with its arrival time and
/// answers the scripted replies in turn (the last one repeats).
struct Receiver {
    url: String,
    seen: Arc<Seen>,
}

/// Each POST's arrival time and body, in order.
type Seen = Mutex<Vec<(Instant, Vec<u8>)>>;

fn ack_fail() -> String {
    notify::notify_reply_fail("签名失败")
}

fn ack_success() -> String {
    notify::notify_reply_success().to_owned()
}

impl Receiver {
    async fn start(script: Vec<String>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/wxpay/notify", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (recorded, script) = (seen.clone(), Arc::new(script));
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (recorded, script) = (recorded.clone(), script.clone());
                tokio::spawn(async move { answer_one(sock, &recorded, &script).await });
            }
        });
        Receiver { url, seen }
    }

    async fn acking() -> Receiver {
        Receiver::start(vec![ack_success()]).await
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn bodies(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().iter().map(|(_, b)| b.clone()).collect()
    }

    fn times(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        until(&format!("{n} deliveries"), || async { self.count() >= n }).await;
        self.bodies()
    }
}

/// Reads one HTTP request (head + Content-Length body), records it, answers, closes.
async fn answer_one(mut sock: tokio::net::TcpStream, seen: &Seen, script: &[String]) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let body = loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        assert!(head.starts_with("post /wxpay/notify "), "{head}");
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            break buf[end + 4..end + 4 + len].to_vec();
        }
    };
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push((Instant::now(), body));
        seen.len()
    };
    let reply = &script[(n - 1).min(script.len() - 1)];
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
    let _ = sock.write_all(response.as_bytes()).await;
}

/// What the shop does with a payment notification body.
fn parse_payment(body: &[u8]) -> Result<PaymentNotification, NotifyError> {
    // why MD5 as configured: an HMAC order's notification carries no sign_type, so the
    // parser must find HMAC-SHA256 by itself.
    notify::parse_payment_notification(body, &key(), SignType::Md5, SANDBOX_APPID, SANDBOX_MCH_ID)
}

// ---- unifiedorder ---------------------------------------------------------------------------

#[tokio::test]
async fn unifiedorder_gives_a_prepay_id_a_code_url_and_an_mweb_url_to_md5_and_hmac_clients() {
    let gw = Gw::start().await;
    for (client, sign_len) in [(gw.client.clone(), 32), (gw.hmac_client(), 64)] {
        let jsapi = client.unified_order(&gw.jsapi(101)).await.unwrap();
        assert_eq!(jsapi.trade_type, TradeType::Jsapi);
        assert!(jsapi.prepay_id.starts_with("wx") && jsapi.prepay_id.len() == 36, "{}", jsapi.prepay_id);
        assert_eq!((jsapi.code_url.as_deref(), jsapi.mweb_url.as_deref()), (None, None));
        assert_eq!(
            jsapi.raw.get("sign").map(str::len),
            Some(sign_len),
            "answers use the request's algorithm"
        );

        let native = client.unified_order(&gw.native(101)).await.unwrap();
        assert_eq!(native.trade_type, TradeType::Native);
        assert!(native.code_url.unwrap().starts_with("weixin://wxpay/bizpayurl?pr="));

        let mweb = client.unified_order(&gw.mweb(101)).await.unwrap();
        assert_eq!(mweb.trade_type, TradeType::Mweb);
        let checkmweb =
            format!("{}cgi-bin/mmpayweb-bin/checkmweb?prepay_id={}&package=", gw.base(), mweb.prepay_id);
        assert!(mweb.mweb_url.as_deref().unwrap().starts_with(&checkmweb), "{:?}", mweb.mweb_url);
    }
}

#[tokio::test]
async fn the_same_order_again_gets_a_fresh_prepay_and_another_amount_is_201_duplicate() {
    let gw = Gw::start().await;
    let order = gw.jsapi(101);
    let first = gw.client.unified_order(&order).await.unwrap();
    let again = gw.client.unified_order(&order).await.unwrap();
    assert_ne!(again.prepay_id, first.prepay_id, "re-entry refreshes the prepay");

    let dearer = UnifiedOrder { total_fee: 102, ..order.clone() };
    let (code, des) = business(gw.client.unified_order(&dearer).await);
    assert_eq!((code.as_str(), des.as_str()), ("INVALID_REQUEST", "201 商户订单号重复"));
    assert_eq!(gw.query(&order.out_trade_no).await.unwrap().total_fee, Some(101));
}

#[tokio::test]
async fn a_paid_order_placed_again_is_orderpaid() {
    let gw = Gw::start().await;
    let order = gw.native(101);
    let placed = gw.client.unified_order(&order).await.unwrap();
    gw.pay_native(placed.code_url.as_deref().unwrap()).await;
    let (code, _) = business(gw.client.unified_order(&order).await);
    assert_eq!(code, "ORDERPAID");
}

#[tokio::test]
async fn a_client_with_the_wrong_key_gets_an_unsigned_protocol_error_and_never_data() {
    let gw = Gw::start().await;
    let wrong = gw.client_with(|c| c.api_key = Some(ApiKey::new("0123456789abcdef0123456789abcdef")));
    let order = gw.jsapi(101);
    match wrong.unified_order(&order).await {
        Err(Error::Protocol { return_msg, error_code }) => {
            assert_eq!((return_msg.as_str(), error_code), ("签名错误", None));
        }
        other => panic!("expected an unsigned FAIL, got {other:?}"),
    }
    assert!(matches!(
        wrong.order_query(&OrderRef::OutTradeNo(order.out_trade_no.clone())).await,
        Err(Error::Protocol { .. })
    ));
    let (code, _) = business(gw.query(&order.out_trade_no).await);
    assert_eq!(code, "ORDERNOTEXIST", "the refused order was never placed");
}

// ---- orderquery / closeorder ----------------------------------------------------------------

#[tokio::test]
async fn orderquery_says_notpay_then_success_by_out_trade_no_and_by_transaction_id() {
    let gw = Gw::start().await;
    let order = gw.mweb(250);
    let placed = gw.client.unified_order(&order).await.unwrap();
    let unpaid = gw.query(&order.out_trade_no).await.unwrap();
    assert_eq!((unpaid.trade_state, unpaid.transaction_id), (TradeState::NotPay, None));

    gw.pay_mweb(placed.mweb_url.as_deref().unwrap()).await;
    let paid = gw.query(&order.out_trade_no).await.unwrap();
    assert_eq!(paid.trade_state, TradeState::Success);
    assert_eq!(
        (paid.total_fee, paid.cash_fee, paid.trade_type.clone()),
        (Some(250), Some(250), Some(TradeType::Mweb))
    );
    assert_eq!(paid.attach.as_deref(), Some("table=12"));
    let tx = paid.transaction_id.clone().unwrap();
    assert!(tx.starts_with("42000") && tx.len() == 28, "{tx}");

    let by_tx = gw.client.order_query(&OrderRef::TransactionId(tx.clone())).await.unwrap();
    assert_eq!(by_tx.trade_state, TradeState::Success);
    assert_eq!(by_tx.out_trade_no.as_deref(), Some(order.out_trade_no.as_str()));
    assert_eq!(by_tx.time_end, paid.time_end);
}

#[tokio::test]
async fn orderquery_of_an_unknown_order_is_ordernotexist() {
    let gw = Gw::start().await;
    let (code, _) = business(gw.query("NEVERPLACED01").await);
    assert_eq!(code, "ORDERNOTEXIST");
}

#[tokio::test]
async fn closeorder_is_refused_for_five_scaled_minutes_then_closes_and_the_order_stays_closed() {
    // 5 minutes at time_scale 0.003 = 0.9 s.
    let gw = Gw::scaled("0.003").await;
    let five_minutes = Duration::from_secs(300).mul_f64(0.003);
    let order = gw.native(101);
    let asked = Instant::now();
    let placed = gw.client.unified_order(&order).await.unwrap();
    let (code, _) = business(gw.client.close_order(&order.out_trade_no).await);
    assert_eq!(code, "TRADE_STATE_ERROR");
    assert_eq!(gw.trade_state(&order.out_trade_no).await, TradeState::NotPay);

    // Refused (changing nothing) until the 5 minutes have passed, then closed.
    let closed = loop {
        match gw.client.close_order(&order.out_trade_no).await {
            Err(e) if e.err_code() == Some("TRADE_STATE_ERROR") => {
                assert!(asked.elapsed() < five_minutes * 5, "still refused well after 5 minutes");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => break other.unwrap(),
        }
    };
    assert!(asked.elapsed() >= five_minutes, "closed within the 5 minutes");
    assert_eq!(closed.result_msg.as_deref(), Some("OK"));
    assert_eq!(gw.trade_state(&order.out_trade_no).await, TradeState::Closed);
    let (code, _) = business(gw.client.unified_order(&order).await);
    assert_eq!(code, "ORDERCLOSED");
    let (code, _) = business(gw.client.close_order(&order.out_trade_no).await);
    assert_eq!(code, "ORDERCLOSED");

    let pr = placed.code_url.unwrap();
    let pr = pr.rsplit('=').next().unwrap();
    let res = gw.browser.post(gw.page("scan")).form(&[("pr", pr), ("action", "pay")]).send().await.unwrap();
    assert!(!res.status().is_success(), "a closed order cannot be paid");
}

// ---- payment notifications ------------------------------------------------------------------

#[tokio::test]
async fn payment_notifications_of_md5_and_hmac_orders_reach_the_receiver_and_verify() {
    let gw = Gw::start().await;
    let rx = Receiver::acking().await;
    let hmac = gw.hmac_client();
    let mut md5_order = gw.jsapi(101);
    md5_order.notify_url = rx.url.clone();
    let mut hmac_order = gw.jsapi(202);
    hmac_order.notify_url = rx.url.clone();

    let placed = gw.client.unified_order(&md5_order).await.unwrap();
    gw.pay_jsapi(&gw.client, &placed.prepay_id).await;
    let md5 = parse_payment(&rx.wait_for(1).await[0]).unwrap();
    assert_eq!(md5.sign_type, SignType::Md5);
    assert_eq!((md5.paid.out_trade_no.as_str(), md5.paid.total_fee), (md5_order.out_trade_no.as_str(), 101));
    assert_eq!(
        (md5.paid.openid.as_str(), md5.paid.trade_type.clone()),
        (helpers::buyer_openid().as_str(), TradeType::Jsapi)
    );
    let queried = gw.query(&md5_order.out_trade_no).await.unwrap();
    assert_eq!(queried.transaction_id.as_deref(), Some(md5.paid.transaction_id.as_str()));

    let placed = hmac.unified_order(&hmac_order).await.unwrap();
    gw.pay_jsapi(&hmac, &placed.prepay_id).await;
    let hmac_n = parse_payment(&rx.wait_for(2).await[1]).unwrap();
    assert_eq!(hmac_n.sign_type, SignType::HmacSha256);
    assert!(!hmac_n.raw.contains("sign_type"), "WeChat omits sign_type on HMAC notifications");
    assert_eq!(
        (hmac_n.paid.out_trade_no.as_str(), hmac_n.paid.total_fee),
        (hmac_order.out_trade_no.as_str(), 202)
    );
}

#[tokio::test]
async fn a_receiver_answering_fail_fail_success_gets_exactly_three_deliveries_and_no_more() {
    // time_scale 0.002: the retry gaps 15 s, 15 s, 30 s, 3 min become 30, 30, 60, 360 ms.
    let gw = Gw::scaled("0.002").await;
    let rx = Receiver::start(vec![ack_fail(), ack_fail(), ack_success()]).await;
    let (no, placed) = {
        let mut o = gw.native(101);
        o.notify_url = rx.url.clone();
        (o.out_trade_no.clone(), gw.client.unified_order(&o).await.unwrap())
    };
    gw.pay_native(placed.code_url.as_deref().unwrap()).await;
    let bodies = rx.wait_for(3).await;
    // The sandbox stops trying once a try is acknowledged, and then marks the notification so.
    let sent =
        helpers::wait_delivery(&gw.server.sandbox_base(), "payment", &no, Delivery::acknowledged).await;
    assert_eq!(sent.tries.len(), 3, "{sent:?}");
    assert_eq!(rx.count(), 3, "no delivery after the SUCCESS acknowledgement");
    assert!(bodies.iter().all(|b| *b == bodies[0]), "a redelivery repeats the same notification");
    assert_eq!(parse_payment(&bodies[2]).unwrap().paid.out_trade_no, no);
    assert_eq!(gw.home().await.matches("200 FAIL 签名失败").count(), 2);
}

#[tokio::test]
async fn with_notify_drop_first_2_the_first_delivery_seen_is_the_third_attempt() {
    let gw = Gw::start().await;
    gw.faults(json!({ "notify_drop_first": 2 })).await;
    let rx = Receiver::start(vec![ack_fail(), ack_success()]).await;
    let mut order = gw.native(101);
    order.notify_url = rx.url.clone();
    let placed = gw.client.unified_order(&order).await.unwrap();
    let paid_at = Instant::now();
    gw.pay_native(placed.code_url.as_deref().unwrap()).await;
    rx.wait_for(2).await;
    let times = rx.times();
    // At time_scale 0.01 the gaps are 150, 150, 300 ms: the first copy seen waited for two
    // gaps, and the one after it for the third gap, so it was the third attempt.
    assert!(times[0] - paid_at >= Duration::from_millis(290), "{:?}", times[0] - paid_at);
    assert!(times[1] - times[0] >= Duration::from_millis(290), "{:?}", times[1] - times[0]);
    assert_eq!(gw.home().await.matches("dropped by fault").count(), 2);
    assert!(parse_payment(&rx.bodies()[0]).is_ok());
}

#[tokio::test]
async fn a_bad_sign_fault_makes_our_parser_call_the_notification_forged() {
    let gw = Gw::start().await;
    gw.faults(json!({ "notify_bad_sign": true })).await;
    let rx = Receiver::acking().await;
    let mut order = gw.native(101);
    order.notify_url = rx.url.clone();
    let placed = gw.client.unified_order(&order).await.unwrap();
    gw.pay_native(placed.code_url.as_deref().unwrap()).await;
    let bodies = rx.wait_for(1).await;
    assert!(
        matches!(parse_payment(&bodies[0]), Err(NotifyError::Forged(_))),
        "{:?}",
        parse_payment(&bodies[0])
    );
}

#[tokio::test]
async fn a_notification_with_extra_fields_still_verifies_and_keeps_them_in_raw() {
    let gw = Gw::start().await;
    gw.faults(json!({ "notify_extra_fields": true })).await;
    let rx = Receiver::acking().await;
    let mut order = gw.native(101);
    order.notify_url = rx.url.clone();
    let placed = gw.hmac_client().unified_order(&order).await.unwrap();
    gw.pay_native(placed.code_url.as_deref().unwrap()).await;
    let n = parse_payment(&rx.wait_for(1).await[0]).unwrap();
    assert_eq!(n.sign_type, SignType::HmacSha256);
    assert_eq!(n.raw.get("sandbox_extra_field"), Some("unknown-field-test"));
    assert!(n.raw.contains("promotion_detail"));
}

// ---- refunds and the bill -------------------------------------------------------------------

/// A NATIVE order of `fee` fen, paid by scanning.
async fn paid_native(gw: &Gw, fee: u64) -> (String, String) {
    let (no, placed) = gw.native_order(fee).await;
    gw.pay_native(placed.code_url.as_deref().unwrap()).await;
    let tx = gw.query(&no).await.unwrap().transaction_id.unwrap();
    (no, tx)
}

fn refund_of(
    no: &str,
    out_refund_no: &str,
    total_fee: u64,
    refund_fee: u64,
    notify_url: Option<&str>,
) -> Refund {
    Refund {
        order: OrderRef::OutTradeNo(no.to_owned()),
        out_refund_no: out_refund_no.to_owned(),
        total_fee,
        refund_fee,
        refund_desc: Some("customer request".to_owned()),
        notify_url: notify_url.map(str::to_owned),
    }
}

#[tokio::test]
async fn a_partial_refund_is_idempotent_by_out_refund_no_and_cannot_exceed_what_was_paid() {
    let gw = Gw::start().await;
    let (no, tx) = paid_native(&gw, 101).await;
    let first = gw.client.refund(&refund_of(&no, "RF0001", 101, 40, None)).await.unwrap();
    assert_eq!((first.transaction_id.as_str(), first.refund_fee, first.total_fee), (tx.as_str(), 40, 101));
    assert!(first.refund_id.starts_with("50"), "{}", first.refund_id);

    let retried = gw.client.refund(&refund_of(&no, "RF0001", 101, 40, None)).await.unwrap();
    assert_eq!(retried.refund_id, first.refund_id);

    let (code, _) = business(gw.client.refund(&refund_of(&no, "RF0002", 101, 62, None)).await);
    assert_eq!(code, "INVALID_REQUEST", "61 fen are left, 62 asked");
    let by_order = RefundQuery { by: RefundQueryBy::OutTradeNo(no.clone()), offset: None };
    let listed = gw.client.refund_query(&by_order).await.unwrap();
    assert_eq!(listed.refund_count, 1, "the retry made no second refund, the refusal none either");

    let rest = gw.client.refund(&refund_of(&no, "RF0003", 101, 61, None)).await.unwrap();
    assert_ne!(rest.refund_id, first.refund_id);
    assert_eq!(gw.trade_state(&no).await, TradeState::Refund);
}

#[tokio::test]
async fn a_refund_notification_decrypts_to_success_and_refundquery_shows_success_both_ways() {
    let gw = Gw::start().await;
    let rx = Receiver::acking().await;
    let (no, tx) = paid_native(&gw, 300).await;
    let refund = gw.client.refund(&refund_of(&no, "RF0001", 300, 120, Some(&rx.url))).await.unwrap();

    let body = &rx.wait_for(1).await[0];
    let n = notify::parse_refund_notification(body, &key(), SANDBOX_APPID, SANDBOX_MCH_ID).unwrap();
    assert_eq!(n.info.refund_status, RefundStatus::Success);
    assert_eq!((n.info.out_trade_no.as_str(), n.info.transaction_id.as_str()), (no.as_str(), tx.as_str()));
    assert_eq!(
        (n.info.refund_id.as_str(), n.info.refund_fee, n.info.total_fee),
        (refund.refund_id.as_str(), 120, 300)
    );
    assert!(n.info.success_time.is_some());

    for by in [RefundQueryBy::OutTradeNo(no.clone()), RefundQueryBy::OutRefundNo("RF0001".to_owned())] {
        let q = gw.client.refund_query(&RefundQuery { by: by.clone(), offset: None }).await.unwrap();
        assert_eq!(q.records.len(), 1, "{by:?}");
        let r = &q.records[0];
        assert_eq!(
            (r.refund_status.clone(), r.refund_id.as_str(), r.refund_fee),
            (RefundStatus::Success, refund.refund_id.as_str(), 120)
        );
        assert!(r.refund_success_time.is_some());
    }
}

fn beijing_today() -> time::Date {
    OffsetDateTime::now_utc().to_offset(BEIJING).date()
}

#[tokio::test]
async fn todays_bill_parses_and_lists_the_payment_and_the_refund() {
    let gw = Gw::start().await;
    let (no, tx) = paid_native(&gw, 101).await;
    let refund = gw.client.refund(&refund_of(&no, "RF0001", 101, 50, None)).await.unwrap();

    let req = DownloadBill { bill_date: beijing_today(), bill_type: BillType::All };
    let bill = gw.client.download_bill(&req).await.unwrap();
    assert_eq!(bill.kind, bill::BillKind::All);
    let ours: Vec<&BillRow> = bill.rows.iter().filter(|r| r.out_trade_no == no).collect();
    assert_eq!(ours.len(), 2, "{:?}", bill.rows);
    let payment = ours.iter().find(|r| r.trade_state == "SUCCESS").unwrap();
    assert_eq!(
        (payment.transaction_id.as_str(), payment.settlement_fee, payment.order_fee),
        (tx.as_str(), 101, 101)
    );
    let refunded = ours.iter().find(|r| r.trade_state == "REFUND").unwrap();
    assert_eq!(
        (refunded.refund_id.as_str(), refunded.out_refund_no.as_str(), refunded.refund_fee),
        (refund.refund_id.as_str(), "RF0001", 50)
    );
    assert_eq!((bill.totals.count, bill.totals.settlement_fee, bill.totals.refund_fee), (2, 101, 50));
}

#[tokio::test]
async fn a_day_without_trades_has_no_bill() {
    let gw = Gw::start().await;
    paid_native(&gw, 101).await;
    let yesterday = beijing_today().previous_day().unwrap();
    let req = DownloadBill { bill_date: yesterday, bill_type: BillType::All };
    match gw.client.download_bill(&req).await {
        Err(Error::Protocol { return_msg, error_code }) => {
            assert_eq!((return_msg.as_str(), error_code.as_deref()), ("No Bill Exist", Some("20002")));
        }
        other => panic!("expected No Bill Exist, got {other:?}"),
    }
}

// ---- OAuth ----------------------------------------------------------------------------------

/// Opens `client`'s authorize URL (redirects off): the redirect's (code, state).
async fn authorize(gw: &Gw, client: &WxPayClient) -> (String, String) {
    let url = client.authorize_url("http://localhost:8000/wx/back?next=o1", "s7Ate").unwrap();
    let res = gw.browser.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "{url}");
    let location = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.as_str().split('?').next(), Some("http://localhost:8000/wx/back"));
    let param = |name: &str| location.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("next").as_deref(), Some("o1"), "our own query survives");
    (param("code").unwrap(), param("state").unwrap())
}

#[tokio::test]
async fn an_oauth_code_gives_an_openid_once_and_then_is_40163() {
    let gw = Gw::start().await;
    let (code, state) = authorize(&gw, &gw.client).await;
    assert_eq!(state, "s7Ate");
    let openid = gw.client.oauth_openid(&code).await.unwrap();
    assert!(openid.starts_with('o') && openid.len() == 28, "{openid}");

    match gw.client.oauth_openid(&code).await {
        Err(Error::OAuth(e)) => assert_eq!((e.errcode, e.kind()), (40163, OAuthErrorKind::CodeUsed)),
        other => panic!("expected 40163, got {other:?}"),
    }

    // The openid pays a JSAPI order as that buyer.
    let order = gw.order(TradeKind::Jsapi { openid: openid.clone() }, 88);
    let placed = gw.client.unified_order(&order).await.unwrap();
    gw.pay_jsapi(&gw.client, &placed.prepay_id).await;
    assert_eq!(gw.query(&order.out_trade_no).await.unwrap().openid, Some(openid));
}

#[tokio::test]
async fn a_client_with_a_wrong_app_secret_gets_40125() {
    let gw = Gw::start().await;
    let wrong = gw.client_with(|c| c.app_secret = "00000000000000000000000000000000".to_owned());
    let (code, _) = authorize(&gw, &wrong).await;
    match wrong.oauth_openid(&code).await {
        Err(Error::OAuth(e)) => assert_eq!((e.errcode, e.kind()), (40125, OAuthErrorKind::BadSecret)),
        other => panic!("expected 40125, got {other:?}"),
    }
    assert!(gw.client.oauth_openid(&code).await.is_ok(), "the refused exchange did not use the code");
}

// ---- faults ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_system_error_is_retryable_and_changes_nothing() {
    let gw = Gw::start().await;
    let (paid_no, _) = paid_native(&gw, 101).await;
    let unplaced = gw.native(101);
    gw.faults(json!({ "system_error_rate": 1.0 })).await;

    let errors = [
        gw.client.unified_order(&unplaced).await.unwrap_err(),
        gw.query(&paid_no).await.unwrap_err(),
        gw.client.refund(&refund_of(&paid_no, "RF0001", 101, 10, None)).await.unwrap_err(),
        gw.client.close_order(&paid_no).await.unwrap_err(),
    ];
    for e in &errors {
        assert!(e.is_retryable(), "{e:?}");
    }

    gw.faults(json!({ "system_error_rate": 0.0 })).await;
    let (code, _) = business(gw.query(&unplaced.out_trade_no).await);
    assert_eq!(code, "ORDERNOTEXIST", "the failed unifiedorder placed nothing");
    assert_eq!(gw.trade_state(&paid_no).await, TradeState::Success, "neither refunded nor closed");
    let by_order = RefundQuery { by: RefundQueryBy::OutTradeNo(paid_no), offset: None };
    let (code, _) = business(gw.client.refund_query(&by_order).await);
    assert_eq!(code, "REFUNDNOTEXIST");
}

/// Regression: `is_retryable` was false for downloadbill's SYSTEMERROR, which (having no
/// business envelope) comes as the `return_msg` of an unsigned FAIL, so a reconciliation
/// job would have given up on a passing failure.
#[tokio::test]
async fn downloadbill_systemerror_is_retryable_though_it_comes_as_a_protocol_fail() {
    let gw = Gw::start().await;
    paid_native(&gw, 101).await;
    gw.faults(json!({ "system_error_rate": 1.0 })).await;
    let today = DownloadBill { bill_date: beijing_today(), bill_type: BillType::All };
    let e = gw.client.download_bill(&today).await.unwrap_err();
    assert!(matches!(&e, Error::Protocol { return_msg, .. } if return_msg == "SYSTEMERROR"), "{e:?}");
    assert!(e.is_retryable());

    gw.faults(json!({ "system_error_rate": 0.0 })).await;
    assert_eq!(gw.client.download_bill(&today).await.unwrap().rows.len(), 1, "the retry gets the bill");
    let no_bill = DownloadBill { bill_date: beijing_today().previous_day().unwrap(), ..today };
    assert!(!gw.client.download_bill(&no_bill).await.unwrap_err().is_retryable(), "No Bill Exist is final");
}
