//! A live shop on `wxpay.api_version = "v3"`, end to end over real HTTP against "WeChat"
//! (`wxcheckout sandbox` in its own process, at its v3 endpoints): a buyer pays on every channel
//! and the v3 notification marks the order paid; a return with every notification lost is
//! settled by a v3 query; an unpaid order is closed through v3; a refund goes through v3 and its
//! v3 refund notification settles it; the day's v3 trade bill reconciles. The shop has no v2
//! key, as a merchant who signed up for v3 has none: a call that went through v2 would fail.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use reqwest::header::{LOCATION, REFERER, USER_AGENT};
use serde_json::Value;
use url::Url;
use wxcheckout::checkout::reconcile_bill::{beijing_today, day_label};
use wxcheckout::config::{
    Config, SANDBOX_API_KEY, SANDBOX_APP_SECRET, SANDBOX_APPID, SANDBOX_MCH_ID, Secret, WechatPaySide,
};
use wxcheckout::domain::refund::RefundStatus;
use wxcheckout::domain::{
    ApiVersion, Attempt, AttemptState, Channel, Event, EventKind, EventSource, Order, OrderStatus,
};
use wxcheckout::sandbox::v3::{MERCHANT_PRIVATE_KEY, MERCHANT_SERIAL, SANDBOX_APIV3_KEY};
use wxcheckout::store::refunds::RunOutcome;
use wxcheckout::wxpay::ApiKey;
use wxcheckout::wxpay::messages::{OrderRef, TradeKind, TradeState as V2TradeState, UnifiedOrder};
use wxcheckout::wxpay::v3::client::certs::WechatPayKeys;
use wxcheckout::wxpay::v3::jsapi::{JsapiPayParams, verify_pay_params};
use wxcheckout::wxpay::v3::messages::TradeState;
use wxcheckout::wxpay::v3::{
    ApiV3Key, MerchantSigner, RsaPrivateKey, RsaPublicKey, V3Client, V3ClientConfig, generate_key_pair,
};

use crate::helpers::live::{notification, paid};
use crate::helpers::{
    self, ADMIN_PASSWORD, Buyer, ChildServer, Merchant, ShopHandle, TestServer, until_within,
};

const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const IPHONE_WECHAT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN";
const DESKTOP_CHROME: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// How long a step that waits on the sandbox (a notification, a reconciler round) may take.
const WITHIN: Duration = Duration::from_secs(20);

/// A live shop on v3 and "WeChat" (`wxcheckout sandbox`) in its own process.
struct V3Shop {
    sandbox: ChildServer,
    server: TestServer,
    shop: ShopHandle,
}

/// The sandbox process at `time_scale`, and a live shop on v3 pointed at it with the sandbox
/// merchant's v3 credentials (its key and serial, the APIv3 key, the public key the sandbox
/// publishes); `tune` adjusts the configuration then.
async fn v3_shop(time_scale: f64, tune: impl FnOnce(&mut Config)) -> V3Shop {
    let sandbox = helpers::spawn_sandbox_process(time_scale).await;
    let base = sandbox.sandbox_base();
    let published: Value = reqwest::get(format!("{base}v3/public-key")).await.unwrap().json().await.unwrap();
    let (server, shop) = helpers::spawn_live_shop(&base, |c| {
        c.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        c.wxpay = v3_wxpay(&c.data_dir, &base, &published);
        tune(c);
    })
    .await;
    V3Shop { sandbox, server, shop }
}

/// `[wxpay]` of a live merchant on v3, its key files written to `dir`.
fn v3_wxpay(dir: &Path, base: &str, published: &Value) -> wxcheckout::config::WxpayConfig {
    let key_file = dir.join("apiclient_key.pem");
    std::fs::write(&key_file, MERCHANT_PRIVATE_KEY).unwrap();
    let public_key_file = dir.join("pub_key.pem");
    std::fs::write(&public_key_file, published["public_key"].as_str().unwrap()).unwrap();
    // why no v2 key: a merchant who signed up for v3 has none, and a call that slipped
    // through v2 would then fail, so a test passes only when v3 carried every call it makes.
    let toml = format!(
        r#"port = 0
address = "127.0.0.1"
data_dir = {dir:?}
order_ttl_minutes = 30
public_url = "https://shop.example/"
[wxpay]
mode = "live"
api_version = "v3"
appid = "{SANDBOX_APPID}"
mch_id = "{SANDBOX_MCH_ID}"
app_secret = "{SANDBOX_APP_SECRET}"
api_base = "{base}"
open_base = "{base}"
sns_base = "{base}"
[wxpay.v3]
private_key_file = {key_file:?}
cert_serial = "{MERCHANT_SERIAL}"
api_v3_key = "{SANDBOX_APIV3_KEY}"
wechatpay_public_key_file = {public_key_file:?}
wechatpay_public_key_id = "{id}"
"#,
        dir = dir.display().to_string(),
        key_file = key_file.display().to_string(),
        public_key_file = public_key_file.display().to_string(),
        id = published["public_key_id"].as_str().unwrap(),
    );
    Config::from_figment(&Figment::from(Toml::string(&toml))).unwrap().wxpay
}

impl V3Shop {
    fn buyer(&self) -> Buyer {
        Buyer::new(&self.server.url())
    }

    fn sandbox(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.sandbox_base())
    }

    /// A placed order: `(token, order)`.
    async fn order(&self, buyer: &Buyer) -> (String, Order) {
        let path = buyer.buy_now("pour-over-coffee", 2).await;
        let token = path.trim_start_matches("/o/").to_owned();
        let order = self.shop.store.order_by_token(&token).unwrap().unwrap();
        (token, order)
    }

    fn stored(&self, no: &str) -> Order {
        self.shop.store.order(no).unwrap().unwrap()
    }

    fn events(&self, no: &str, kind: EventKind) -> Vec<Event> {
        self.shop.store.events(no).unwrap().into_iter().filter(|e| e.kind == kind).collect()
    }

    async fn wait_order(&self, no: &str, what: &str, cond: impl Fn(&Order) -> bool) -> Order {
        until_within(what, WITHIN, || async { cond(&self.stored(no)) }).await;
        self.stored(no)
    }

    /// A v3 client of the sandbox merchant, verifying with the key the sandbox publishes: the
    /// test's own view of what WeChat holds.
    async fn wechat(&self) -> V3Client {
        let published: Value =
            reqwest::get(self.sandbox("v3/public-key")).await.unwrap().json().await.unwrap();
        let id = published["public_key_id"].as_str().unwrap().to_owned();
        let key = RsaPublicKey::from_pem(published["public_key"].as_str().unwrap()).unwrap();
        let signer = MerchantSigner::from_pem(SANDBOX_MCH_ID, MERCHANT_SERIAL, MERCHANT_PRIVATE_KEY).unwrap();
        let api_v3_key = ApiV3Key::new(SANDBOX_APIV3_KEY).unwrap();
        let base = Url::parse(&self.sandbox.sandbox_base()).unwrap();
        let keys = WechatPayKeys::PublicKey { id, key };
        V3Client::new(V3ClientConfig::new(SANDBOX_APPID, signer, api_v3_key, keys, base)).unwrap()
    }

    /// Sets the sandbox's faults through its control page's JSON.
    async fn faults(&self, settings: Value) {
        let res = reqwest::Client::new().post(self.sandbox("control")).json(&settings).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }

    async fn trade_state(&self, out_trade_no: &str) -> TradeState {
        self.wechat().await.query_by_out_trade_no(out_trade_no).await.unwrap().trade_state
    }

    /// The desktop pay page's Native attempt, paid on the sandbox's scan page.
    async fn pay_native(&self, buyer: &Buyer, token: &str, order: &Order) -> String {
        let res = get_as(buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
        assert_eq!(res.status(), 200);
        let code_url = self.stored(&order.no).attempts[0].code_url.clone().expect("a code_url");
        let pr =
            Url::parse(&code_url).unwrap().query_pairs().find(|(k, _)| k == "pr").unwrap().1.into_owned();
        let form = [("pr", pr.as_str()), ("action", "pay")];
        let paid = buyer.send(buyer.http.post(self.sandbox("scan")).form(&form)).await;
        assert_eq!(paid.status(), 200, "{}", paid.text().await.unwrap_or_default());
        self.stored(&order.no).attempts[0].out_trade_no.clone()
    }

    /// A placed order paid by Native and notified: the order as then stored.
    async fn paid_order(&self) -> Order {
        let buyer = self.buyer();
        let (token, order) = self.order(&buyer).await;
        self.pay_native(&buyer, &token, &order).await;
        self.wait_order(&order.no, "the order to be paid", |o| o.status == OrderStatus::Paid).await
    }
}

async fn get_as(buyer: &Buyer, path: &str, ua: &str) -> reqwest::Response {
    buyer.send(buyer.request(reqwest::Method::GET, path).header(USER_AGENT, ua)).await
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).expect("a Location header").to_owned()
}

/// The value of the first `attr="…"` after `marker` in `html`, with askama's entities read.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let rest = &html[html.find(marker).unwrap_or_else(|| panic!("{marker} in the page"))..];
    let start = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    let end = rest[start..].find('"').unwrap();
    rest[start..start + end].replace("&#38;", "&").replace("&amp;", "&").replace("&#x3d;", "=")
}

fn hidden(html: &str, name: &str) -> String {
    attr_after(html, &format!("name=\"{name}\""), "value")
}

/// The one Paid event of an order: from `source`, recording the v3 transaction (JSON, where a
/// v2 notification records XML).
fn assert_paid_once_by_v3(s: &V3Shop, no: &str, source: EventSource) -> Value {
    let paid = s.events(no, EventKind::Paid);
    assert_eq!(paid.len(), 1, "paid once");
    assert_eq!(paid[0].source, source);
    match source {
        EventSource::Notification => serde_json::from_str(paid[0].raw.as_deref().unwrap()).unwrap(),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn a_desktop_buyer_pays_a_v3_native_order_by_scanning_and_the_v3_notification_marks_it_paid() {
    let s = v3_shop(0.01, |_| {}).await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let out_trade_no = s.pay_native(&buyer, &token, &order).await;
    let paid = s.wait_order(&order.no, "the order to be paid", |o| o.status == OrderStatus::Paid).await;
    assert_eq!(paid.paid_by.as_deref(), Some(out_trade_no.as_str()));
    assert_eq!(paid.attempts[0].channel, Channel::Native);
    let tx = assert_paid_once_by_v3(&s, &order.no, EventSource::Notification);
    assert_eq!(
        (tx["trade_type"].as_str(), tx["out_trade_no"].as_str()),
        (Some("NATIVE"), Some(&*out_trade_no))
    );
    assert_eq!(tx["amount"]["total"].as_u64(), Some(order.total.get()));
    assert_eq!(s.trade_state(&out_trade_no).await, TradeState::Success, "WeChat holds it as a v3 order");
}

#[tokio::test]
async fn a_phone_browser_pays_a_v3_h5_order_at_the_cashier_and_returns_to_a_paid_order() {
    let s = v3_shop(0.01, |_| {}).await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let res = get_as(&buyer, &format!("/pay/{token}"), IPHONE_SAFARI).await;
    assert_eq!(res.status(), 200);
    let link = attr_after(&res.text().await.unwrap(), "id=\"mweb-continue\"", "href");
    let back = format!("{}/o/{token}", s.server.url());
    assert!(link.starts_with(&s.sandbox("cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx")), "{link}");

    let req = buyer.http.get(&link).header(USER_AGENT, IPHONE_SAFARI).header(REFERER, s.server.url() + "/");
    let cashier = buyer.send(req).await;
    assert_eq!(cashier.status(), 200, "the cashier opens with our Referer");
    let html = cashier.text().await.unwrap();
    let form = [
        ("prepay_id", hidden(&html, "prepay_id")),
        ("package", hidden(&html, "package")),
        ("redirect_url", hidden(&html, "redirect_url")),
        ("action", "pay".to_owned()),
    ];
    let stored = s.stored(&order.no);
    assert_eq!(stored.attempts[0].prepay_id.as_deref(), Some(form[0].1.as_str()), "the h5_url's prepay_id");
    let paid = buyer.send(buyer.http.post(s.sandbox("cgi-bin/mmpayweb-bin/pay")).form(&form)).await;
    assert_eq!(paid.status(), 303);
    assert_eq!(location(&paid), back, "WeChat sends the buyer back to the order page");

    let paid = s.wait_order(&order.no, "the order to be paid", |o| o.status == OrderStatus::Paid).await;
    assert_eq!(paid.attempts[0].channel, Channel::Mweb);
    let tx = assert_paid_once_by_v3(&s, &order.no, EventSource::Notification);
    assert_eq!(tx["trade_type"].as_str(), Some("MWEB"));
}

#[tokio::test]
async fn a_wechat_buyer_pays_a_v3_jsapi_order_through_the_bridge_with_an_rsa_pay_sign() {
    // why 0.1: an OAuth code lives 5 scaled minutes; 3 s at 0.01 is short on a loaded machine.
    let s = v3_shop(0.1, |_| {}).await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let res = get_as(&buyer, &format!("/pay/{token}"), IPHONE_WECHAT).await;
    assert_eq!(res.status(), 302, "OAuth first, to learn the openid");
    let authorize = location(&res);
    assert!(authorize.starts_with(&s.sandbox("connect/oauth2/authorize?")), "{authorize}");
    let back = buyer.send(buyer.http.get(&authorize).header(USER_AGENT, IPHONE_WECHAT)).await;
    assert_eq!(back.status(), 302);
    let back = location(&back);
    let path = back.strip_prefix(&s.server.url()).expect("back to the shop").to_owned();
    assert_eq!(get_as(&buyer, &path, IPHONE_WECHAT).await.status(), 303);
    let res = get_as(&buyer, &format!("/pay/{token}"), IPHONE_WECHAT).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let from = html.find("id=\"wxpay-jsapi\">").expect("the parameters' script element") + 17;
    let to = html[from..].find("</script>").unwrap();
    let params: JsapiPayParams = serde_json::from_str(&html[from..from + to]).unwrap();

    assert_eq!((params.app_id.as_str(), params.sign_type.as_str()), (SANDBOX_APPID, "RSA"));
    let merchant = RsaPrivateKey::from_pem(MERCHANT_PRIVATE_KEY).unwrap().public_key().unwrap();
    assert!(verify_pay_params(&params, &merchant), "paySign is the merchant key's RSA signature");
    let stored = s.stored(&order.no);
    assert_eq!(params.package, format!("prepay_id={}", stored.attempts[0].prepay_id.clone().unwrap()));

    let bridge = |params: Value| {
        let body = serde_json::json!({
            "params": params, "action": "pay", "page_url": format!("{}/pay/{token}", s.server.url()),
        });
        let http = buyer.http.clone();
        let url = s.sandbox("jsapi/pay");
        async move { http.post(url).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut tampered = serde_json::to_value(&params).unwrap();
    tampered["package"] = Value::String(format!("{}0", params.package));
    let refused = bridge(tampered).await;
    assert_ne!(refused["err_msg"], "get_brand_wcpay_request:ok", "{refused}");
    assert_eq!(s.stored(&order.no).status, OrderStatus::Pending, "a refused pay changes nothing");
    let paid = bridge(serde_json::to_value(&params).unwrap()).await;
    assert_eq!(paid["err_msg"], "get_brand_wcpay_request:ok", "{paid}");

    let paid = s.wait_order(&order.no, "the order to be paid", |o| o.status == OrderStatus::Paid).await;
    assert_eq!(paid.attempts[0].channel, Channel::Jsapi);
    let tx = assert_paid_once_by_v3(&s, &order.no, EventSource::Notification);
    assert_eq!(tx["trade_type"].as_str(), Some("JSAPI"));
}

#[tokio::test]
async fn a_buyer_back_from_paying_with_every_v3_notification_lost_is_settled_by_a_v3_query() {
    // why a slow reconciler (its first query after 60 s × 100 × 0.01): the buyer's check must
    // be what finds the payment.
    let s = v3_shop(0.01, |c| c.reconcile_scale = 100.0).await;
    s.faults(serde_json::json!({ "notify_drop_first": 16 })).await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let out_trade_no = s.pay_native(&buyer, &token, &order).await;
    assert_eq!(s.trade_state(&out_trade_no).await, TradeState::Success);
    assert_eq!(s.stored(&order.no).status, OrderStatus::Pending, "no notification came");

    let res = buyer.post_form(&format!("/o/{token}/check"), &[]).await;
    assert!(res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    let paid = s.stored(&order.no);
    assert_eq!((paid.status, paid.paid_by.as_deref()), (OrderStatus::Paid, Some(out_trade_no.as_str())));
    assert_paid_once_by_v3(&s, &order.no, EventSource::Query);
}

#[tokio::test]
async fn an_unpaid_order_past_its_lifetime_is_closed_through_v3_at_wechat_and_here() {
    // 5 minutes × 0.002: the order lives 0.6 s; WeChat's 5 minutes before a close are 6 ms.
    let s = v3_shop(0.002, |c| {
        c.order_ttl_minutes = 5;
        c.reconcile_scale = 0.002;
    })
    .await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    assert_eq!(get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.status(), 200);
    let out_trade_no = s.stored(&order.no).attempts[0].out_trade_no.clone();
    assert_eq!(s.trade_state(&out_trade_no).await, TradeState::NotPay);

    let closed = s.wait_order(&order.no, "the order to be closed", |o| o.status == OrderStatus::Closed).await;
    assert!(closed.closed_at.is_some());
    assert_eq!(s.trade_state(&out_trade_no).await, TradeState::Closed, "closed at WeChat before here");
    assert_eq!(s.events(&order.no, EventKind::Closed).len(), 1);
}

#[tokio::test]
async fn a_refund_goes_through_v3_and_its_v3_refund_notification_settles_it() {
    let s = v3_shop(0.01, |_| {}).await;
    let order = s.paid_order().await;
    let m = Merchant::login(&s.server.url(), ADMIN_PASSWORD).await;
    let res = m
        .post(&format!("/admin/orders/{}/refund", order.no), &[("amount", "5.00"), ("reason", "破损")])
        .await;
    assert_eq!(res.status(), 303);
    let refunds = s.shop.store.refunds(&order.no).unwrap();
    assert_eq!(refunds.len(), 1);
    let r = refunds[0].clone();
    assert!(r.refund_id.is_some(), "accepted by WeChat: {:?}", r.status);

    let o =
        s.wait_order(&order.no, "the refund to settle", |o| o.status == OrderStatus::PartiallyRefunded).await;
    assert_eq!(o.refunded.get(), 500);
    let settled = s.shop.store.refund(&r.out_refund_no).unwrap().unwrap();
    assert_eq!(settled.status, RefundStatus::Success);
    let refunded = s.events(&order.no, EventKind::Refunded);
    assert_eq!(refunded.len(), 1);
    assert_eq!(refunded[0].source, EventSource::Notification, "the v3 refund notification settled it");
    let at_wechat = s.wechat().await.query_refund(&r.out_refund_no).await.unwrap();
    assert_eq!(at_wechat.amount.refund, 500);
}

#[tokio::test]
async fn the_days_v3_trade_bill_reconciles_with_a_paid_order_and_finds_nothing_amiss() {
    let s = v3_shop(0.01, |_| {}).await;
    let order = s.paid_order().await;
    let record = s.shop.checkout.reconcile_day(beijing_today(), "admin").await.unwrap();
    assert_eq!(record.day, day_label(beijing_today()));
    assert_eq!(record.outcome, RunOutcome::Compared, "{:?}", record.outcome);
    assert_eq!((record.bill_payments, record.bill_paid_fen), (1, order.total.get()));
    assert_eq!(record.our_payments, 1);
    assert!(record.discrepancies.is_empty(), "{:?}", record.discrepancies);
}

#[tokio::test]
async fn a_v2_notification_to_a_shop_on_v3_without_an_apiv2_key_is_refused_and_changes_nothing() {
    let s = v3_shop(0.01, |_| {}).await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    assert_eq!(get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.status(), 200);
    let out_trade_no = s.stored(&order.no).attempts[0].out_trade_no.clone();
    // Signed with the sandbox's APIv2 key, which this shop was never given.
    let body = notification(&paid(&out_trade_no, order.total.get(), "4200000000202611300000000077"));
    let res = reqwest::Client::new()
        .post(format!("{}/wxpay/notify", s.server.url()))
        .header("Content-Type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let reply = res.text().await.unwrap();
    assert!(reply.contains("<return_code><![CDATA[FAIL]]></return_code>"), "{reply}");
    assert_eq!(s.stored(&order.no).status, OrderStatus::Pending);
    assert!(s.events(&order.no, EventKind::Paid).is_empty());
}

/// The doctor's findings after pressing "run", in Chinese.
async fn doctor(s: &V3Shop) -> String {
    let merchant = Merchant::login(&s.server.url(), ADMIN_PASSWORD).await;
    let res = merchant.post("/admin/doctor", &[]).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The `<li>` of the finding titled `title`.
fn finding<'a>(html: &'a str, title: &str) -> &'a str {
    let at = html.find(&format!("<strong>{title}")).unwrap_or_else(|| panic!("no finding {title} in {html}"));
    let start = html[..at].rfind("<li").unwrap();
    let end = at + html[at..].find("</li>").unwrap();
    &html[start..end]
}

/// An order whose desktop pay page placed a Native attempt at WeChat (the shop may refuse
/// WeChat's answer): the attempt's `out_trade_no`.
///
/// why: only a known order's query is answered 200 and signed, and only such an answer
/// checks WeChat Pay's key.
async fn started_order(s: &V3Shop) -> String {
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let _ = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    s.stored(&order.no).attempts[0].out_trade_no.clone()
}

const KEY_V3: &str = "APIv3 商户密钥与微信支付公钥";

#[tokio::test]
async fn the_doctor_on_v3_finds_the_credentials_right_by_a_signed_query_and_needs_no_refund_certificate() {
    let s = v3_shop(0.01, |_| {}).await;
    let html = doctor(&s).await;
    let key = finding(&html, KEY_V3);
    assert!(
        key.contains("注意") && key.contains("微信支付公钥还没有验证"),
        "no order to ask about yet: {key}"
    );
    let out_trade_no = started_order(&s).await;
    assert_eq!(s.trade_state(&out_trade_no).await, TradeState::NotPay, "WeChat knows it");
    let html = doctor(&s).await;
    let key = finding(&html, KEY_V3);
    assert!(key.contains("正常") && key.contains("微信支付公钥验签通过"), "{key}");
    let binding = finding(&html, "AppID 与商户号绑定");
    assert!(binding.contains("注意") && binding.contains("APIv3 下未检查"), "said plainly: {binding}");
    let cert = finding(&html, "退款证书");
    assert!(cert.contains("正常") && cert.contains("不需要证书"), "{cert}");
    assert!(!html.contains("<strong>API 密钥 / API key"), "no APIv2 key check on v3");
}

#[tokio::test]
async fn the_doctor_on_v3_tells_a_wrong_merchant_key_from_a_wrong_wechat_pay_public_key() {
    let stranger = generate_key_pair().unwrap();
    let s = v3_shop(0.01, |c| {
        c.wxpay.v3.as_mut().unwrap().private_key_pem = Secret::new(stranger.private_pem.clone());
    })
    .await;
    let key = doctor(&s).await;
    let key = finding(&key, KEY_V3);
    assert!(key.contains("有问题") && key.contains("wxpay.v3.cert_serial"), "the merchant key: {key}");
    assert!(key.contains("SIGN_ERROR") || key.contains("签名"), "what WeChat said: {key}");

    let s = v3_shop(0.01, |c| {
        if let WechatPaySide::PublicKey { pem, .. } = &mut c.wxpay.v3.as_mut().unwrap().wechatpay {
            *pem = stranger.public_pem.clone();
        }
    })
    .await;
    let out_trade_no = started_order(&s).await;
    assert_eq!(
        s.trade_state(&out_trade_no).await,
        TradeState::NotPay,
        "WeChat knows it; the shop refused its answer"
    );
    let html = doctor(&s).await;
    let key = finding(&html, KEY_V3);
    assert!(
        key.contains("有问题") && key.contains("wxpay.v3.wechatpay_public_key_file"),
        "WeChat's key: {key}"
    );
}

#[tokio::test]
async fn twenty_concurrent_copies_of_a_v3_notification_pay_the_order_once_and_all_are_acknowledged() {
    let s = v3_shop(0.01, |_| {}).await;
    s.faults(serde_json::json!({ "notify_copies": 20 })).await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let out_trade_no = s.pay_native(&buyer, &token, &order).await;
    s.wait_order(&order.no, "the order to be paid", |o| o.status == OrderStatus::Paid).await;
    // why the log: a duplicate leaves no event, so only the sandbox can say that every copy
    // reached the shop; it marks the notification acknowledged once every copy is answered.
    let sent =
        helpers::wait_delivery(&s.sandbox.sandbox_base(), "payment", &out_trade_no, |d| d.acknowledged())
            .await;
    assert_eq!(sent.tries.len(), 20, "all copies were delivered: {sent:?}");
    assert!(sent.tries.iter().all(|t| t.starts_with("204")), "every copy got 204: {:?}", sent.tries);
    assert_paid_once_by_v3(&s, &order.no, EventSource::Notification);
    assert!(s.events(&order.no, EventKind::DoublePayment).is_empty(), "one payment, not twenty");
}

#[tokio::test]
async fn a_v3_refund_whose_notification_is_lost_is_settled_by_a_v3_refund_query_from_the_admin() {
    let s = v3_shop(0.01, |_| {}).await;
    let order = s.paid_order().await;
    let m = Merchant::login(&s.server.url(), ADMIN_PASSWORD).await;
    s.faults(serde_json::json!({ "notify_drop_first": 16 })).await;
    let res = m
        .post(&format!("/admin/orders/{}/refund", order.no), &[("amount", "3.00"), ("reason", "退运费")])
        .await;
    assert_eq!(res.status(), 303);
    // why the log: a try is listed once it has happened, after the sandbox settled the refund.
    let otn = order.paid_by.clone().unwrap();
    let tried =
        helpers::wait_delivery(&s.sandbox.sandbox_base(), "refund", &otn, |d| !d.tries.is_empty()).await;
    assert_eq!(tried.tries[0], "dropped by fault", "{tried:?}");
    assert_eq!(s.stored(&order.no).status, OrderStatus::Paid, "no notification, no change");

    let res = m.post(&format!("/admin/orders/{}/refunds/settle", order.no), &[]).await;
    assert_eq!(res.status(), 303);
    let o = s.stored(&order.no);
    assert_eq!((o.status, o.refunded.get()), (OrderStatus::PartiallyRefunded, 300));
    assert_eq!(s.shop.store.refunds(&order.no).unwrap()[0].status, RefundStatus::Success);
    let refunded = s.events(&order.no, EventKind::Refunded);
    assert_eq!((refunded.len(), refunded[0].source), (1, EventSource::Admin), "settled by the query");
}

#[tokio::test]
async fn a_buyer_who_moves_from_the_desktop_to_a_phone_gets_the_old_v3_attempt_queried_and_closed_and_pays_once()
 {
    // why no wait between the two: v3's close sets no minimum age (v2's asks 5 minutes).
    let s = v3_shop(0.005, |_| {}).await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    assert_eq!(get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.status(), 200);
    let first = s.stored(&order.no).attempts[0].out_trade_no.clone();

    let res = get_as(&buyer, &format!("/pay/{token}"), IPHONE_SAFARI).await;
    assert_eq!(res.status(), 200);
    let link = attr_after(&res.text().await.unwrap(), "id=\"mweb-continue\"", "href");
    let stored = s.stored(&order.no);
    assert_eq!(stored.attempts.len(), 2);
    assert_eq!(stored.attempts[0].state, AttemptState::Closed, "the Native attempt, closed here");
    assert_eq!(s.trade_state(&first).await, TradeState::Closed, "and at WeChat, through v3");

    let req = buyer.http.get(&link).header(USER_AGENT, IPHONE_SAFARI).header(REFERER, s.server.url() + "/");
    let html = buyer.send(req).await.text().await.unwrap();
    let form = [
        ("prepay_id", hidden(&html, "prepay_id")),
        ("package", hidden(&html, "package")),
        ("redirect_url", hidden(&html, "redirect_url")),
        ("action", "pay".to_owned()),
    ];
    let paid = buyer.send(buyer.http.post(s.sandbox("cgi-bin/mmpayweb-bin/pay")).form(&form)).await;
    assert_eq!(paid.status(), 303);
    let paid = s.wait_order(&order.no, "the order to be paid", |o| o.status == OrderStatus::Paid).await;
    assert_eq!(paid.paid_by.as_deref(), Some(stored.attempts[1].out_trade_no.as_str()));
    assert_paid_once_by_v3(&s, &order.no, EventSource::Notification);
}

#[tokio::test]
async fn the_merchants_alert_of_a_v3_payment_links_to_the_order_in_the_admin() {
    let s = v3_shop(0.01, |_| {}).await;
    let robot = crate::helpers::receiver::Receiver::start().await;
    let url = robot.url.clone();
    s.shop.checkout.change_runtime(|r| r.alerts.wecom_url = Some(url)).await.unwrap();
    let paid = s.paid_order().await;
    let message = robot.wait_for(1, WITHIN).await[0].json();
    let content = message["markdown"]["content"].as_str().unwrap().to_owned();
    // why the whole URL: the notify URL is one level deeper on v3 (`wxpay/v3/notify`), and a
    // link made from it pointed at `/wxpay/admin/orders/…`, a page that does not exist.
    let link = format!("({}/admin/orders/{})", s.server.url(), paid.no);
    assert!(content.contains(&link), "a link to the admin order page: {content}");
}

// ---- a shop that switched from v2 to v3 (docs/wechat-pay-v3.md#switching-versions) ---------

/// A shop now on v3 that still has its APIv2 key (it was on v2 before), its reconciler on
/// the sandbox's clock (a round every 50 ms, a close after 3 s).
async fn switched_shop() -> V3Shop {
    v3_shop(0.01, |c| {
        c.wxpay.api_key = Some(ApiKey::new(SANDBOX_API_KEY));
        c.reconcile_scale = 0.01;
    })
    .await
}

impl V3Shop {
    /// Attempt 1 of `order` as the shop placed it while it was on v2: a v2 NATIVE unifiedorder
    /// notified at the v2 route, stored without a version (as records from before the switch
    /// are). Returns its `(out_trade_no, code_url)`.
    async fn placed_on_v2(&self, order: &Order) -> (String, String) {
        let out_trade_no = format!("{}-1", order.no);
        let req = UnifiedOrder {
            kind: TradeKind::Native { product_id: "pour-over-coffee".to_owned() },
            body: "Shop-Coffee".to_owned(),
            attach: Some(order.no.clone()),
            out_trade_no: out_trade_no.clone(),
            total_fee: order.total.get(),
            fee_type: None,
            spbill_create_ip: "127.0.0.1".to_owned(),
            time_start: None,
            time_expire: None,
            notify_url: format!("{}/wxpay/notify", self.server.url()),
            device_info: None,
            detail: None,
        };
        let answer = self.shop.wx.unified_order(&req).await.unwrap();
        let code_url = answer.code_url.clone().unwrap();
        let now = wxcheckout::checkout::now();
        let attempt = Attempt {
            prepay_id: Some(answer.prepay_id),
            code_url: Some(code_url.clone()),
            prepay_at: Some(now),
            ..Attempt::open(out_trade_no.clone(), Channel::Native, "127.0.0.1", now)
        };
        self.shop.store.update_order(&order.no, |o| (o.attempts.push(attempt.clone()), vec![])).unwrap();
        (out_trade_no, code_url)
    }

    /// What WeChat's v2 API says of `out_trade_no` (the v3 one does not know v2 orders).
    async fn v2_trade_state(&self, out_trade_no: &str) -> V2TradeState {
        let q = self.shop.wx.order_query(&OrderRef::OutTradeNo(out_trade_no.to_owned())).await.unwrap();
        q.trade_state
    }

    /// The sandbox's scan page pays `code_url`.
    async fn scan_and_pay(&self, buyer: &Buyer, code_url: &str) {
        let pr = Url::parse(code_url).unwrap().query_pairs().find(|(k, _)| k == "pr").unwrap().1.into_owned();
        let form = [("pr", pr.as_str()), ("action", "pay")];
        let paid = buyer.send(buyer.http.post(self.sandbox("scan")).form(&form)).await;
        assert_eq!(paid.status(), 200, "{}", paid.text().await.unwrap_or_default());
    }

    /// No event of the order says WeChat did not know an attempt (what asking a v2 order
    /// through v3 answers).
    fn assert_never_unknown(&self, no: &str) {
        let events = self.shop.store.events(no).unwrap();
        let unknown: Vec<_> = events
            .iter()
            .filter(|e| e.message.contains("NOT_EXIST") || e.message.contains("NOTEXIST"))
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
    }
}

#[tokio::test]
async fn an_attempt_placed_on_v2_is_queried_and_closed_through_v2_after_the_shop_switched_to_v3() {
    let s = switched_shop().await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let (v2_no, _) = s.placed_on_v2(&order).await;

    let res = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert_eq!(res.status(), 200);
    let o = s.stored(&order.no);
    assert_eq!(o.attempts.len(), 2, "a new attempt on v3, not the v2 QR code again");
    assert_eq!((o.attempts[0].api, o.attempts[1].api), (ApiVersion::V2, ApiVersion::V3));
    assert_eq!(s.trade_state(&o.attempts[1].out_trade_no).await, TradeState::NotPay, "placed through v3");

    // why a wait: within its first 5 (sandbox) minutes v2 refuses to close; the reconciler
    // then closes it, through v2 as well.
    s.wait_order(&order.no, "the v2 attempt to be closed", |o| o.attempts[0].state == AttemptState::Closed)
        .await;
    assert_eq!(s.v2_trade_state(&v2_no).await, V2TradeState::Closed, "closed at WeChat, through v2");
    s.assert_never_unknown(&order.no);
}

#[tokio::test]
async fn a_buyer_paying_an_old_v2_qr_code_after_the_switch_to_v3_gets_the_order_paid_once() {
    let s = switched_shop().await;
    let buyer = s.buyer();
    let (token, order) = s.order(&buyer).await;
    let (v2_no, code_url) = s.placed_on_v2(&order).await;

    s.scan_and_pay(&buyer, &code_url).await;
    let paid = s.wait_order(&order.no, "the order to be paid", |o| o.status == OrderStatus::Paid).await;
    assert_eq!(paid.paid_by.as_deref(), Some(v2_no.as_str()));
    let events = s.events(&order.no, EventKind::Paid);
    assert_eq!(events.len(), 1, "paid once");
    assert_eq!(events[0].source, EventSource::Notification, "the v2 notification, verified with the v2 key");

    let res = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    assert_eq!(s.stored(&order.no).attempts.len(), 1, "no second attempt to pay again");
    s.assert_never_unknown(&order.no);
}

#[tokio::test]
async fn an_old_v2_qr_code_paid_after_the_switch_with_every_notification_lost_is_found_by_a_v2_query() {
    let s = switched_shop().await;
    s.faults(serde_json::json!({ "notify_drop_first": 16 })).await;
    let buyer = s.buyer();
    let (_, order) = s.order(&buyer).await;
    let (v2_no, code_url) = s.placed_on_v2(&order).await;

    s.scan_and_pay(&buyer, &code_url).await;
    assert_eq!(s.v2_trade_state(&v2_no).await, V2TradeState::Success);
    let paid = s
        .wait_order(&order.no, "the reconciler to find the payment", |o| o.status == OrderStatus::Paid)
        .await;
    assert_eq!(paid.paid_by.as_deref(), Some(v2_no.as_str()));
    let events = s.events(&order.no, EventKind::Paid);
    assert_eq!(events.len(), 1, "paid once");
    assert_eq!(events[0].source, EventSource::Reconciler);
    s.assert_never_unknown(&order.no);
}
