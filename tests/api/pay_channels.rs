//! `GET /pay/<token>` end to end, over real HTTP: the sandbox runs as its own process
//! (`wxcheckout sandbox`, time_scale 0.01, so its 5 minutes are 3 s) and the shop runs in
//! live mode pointed at it, as a merchant's shop is pointed at WeChat. The buyer is a
//! cookie-keeping client that follows no redirects, so each hop is seen.

use std::time::{Duration, Instant};

use reqwest::header::{LOCATION, REFERER, USER_AGENT};
use serde_json::Value;
use wxcheckout::config::{ProxyNet, SANDBOX_API_KEY, SANDBOX_APPID};
use wxcheckout::domain::{AttemptState, Channel, EventKind, Order, OrderStatus};
use wxcheckout::wxpay::ApiKey;
use wxcheckout::wxpay::jsapi::{JsapiPayParams, verify_pay_params};
use wxcheckout::wxpay::messages::{OrderRef, TradeState};

use crate::helpers::{self, Buyer, ChildServer, TestServer, spawn_live_shop, spawn_sandbox_process, until};

const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const IPHONE_WECHAT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN";
const DESKTOP_CHROME: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const WECOM: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/3.1.16 MicroMessenger/7.0.1 Language/zh ColorScheme/Dark";

/// The sandbox in its own process and a live-mode shop pointed at it.
struct World {
    sandbox: ChildServer,
    shop: TestServer,
    checkout: helpers::ShopHandle,
}

async fn world(tune: impl FnOnce(&mut wxcheckout::config::Config)) -> World {
    world_at(0.01, tune).await
}

/// [`world`] with the sandbox at `time_scale`.
async fn world_at(time_scale: f64, tune: impl FnOnce(&mut wxcheckout::config::Config)) -> World {
    let sandbox = spawn_sandbox_process(time_scale).await;
    let (shop, checkout) = spawn_live_shop(&sandbox.sandbox_base(), tune).await;
    World { sandbox, shop, checkout }
}

impl World {
    fn buyer(&self) -> Buyer {
        Buyer::new(&self.shop.url())
    }

    /// A placed order: `(token, order)`.
    async fn order(&self, buyer: &Buyer) -> (String, Order) {
        let path = buyer.buy_now("pour-over-coffee", 2).await;
        let token = path.trim_start_matches("/o/").to_owned();
        let order = self.checkout.store.order_by_token(&token).expect("store").expect("the order exists");
        (token, order)
    }

    fn stored(&self, order: &Order) -> Order {
        self.checkout.store.order(&order.no).expect("store").expect("order")
    }

    async fn trade_state(&self, out_trade_no: &str) -> TradeState {
        let q = self.checkout.wx.order_query(&OrderRef::OutTradeNo(out_trade_no.to_owned())).await;
        q.expect("orderquery answers").trade_state
    }

    async fn status(&self, buyer: &Buyer, token: &str) -> String {
        let res = buyer.get(&format!("/o/{token}/status")).await;
        let v: Value = res.json().await.expect("status JSON");
        v["status"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits for the notification to reach the shop and the status JSON to say `paid`.
    async fn wait_paid(&self, buyer: &Buyer, token: &str) {
        until("the order to become paid", || async { self.status(buyer, token).await == "paid" }).await;
    }

    /// A GET at the sandbox with the buyer's cookies (a browser shares them per host).
    async fn sandbox_get(&self, buyer: &Buyer, url: &str, ua: &str) -> reqwest::Response {
        let req = buyer.http.get(url).header("Cookie", buyer.cookie_header()).header(USER_AGENT, ua);
        buyer.send(req).await
    }
}

async fn get_as(buyer: &Buyer, path: &str, ua: &str) -> reqwest::Response {
    buyer.send(buyer.request(reqwest::Method::GET, path).header(USER_AGENT, ua)).await
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).expect("a Location header").to_owned()
}

/// HTML attribute text → text (askama writes `&` as `&#38;`, others as named entities).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').map(|e| i + e).expect("entity end");
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            _ if entity.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&entity[2..], 16).expect("hex"))
            }
            _ if entity.starts_with('#') => char::from_u32(entity[1..].parse().expect("decimal")),
            _ => panic!("unknown entity {entity}"),
        }
        .expect("a character");
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The value of the first `attr="…"` after `marker` in `html`.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let from = html.find(marker).unwrap_or_else(|| panic!("{marker} in the page"));
    let rest = &html[from..];
    let start = rest.find(&format!("{attr}=\"")).expect("attribute") + attr.len() + 2;
    let end = rest[start..].find('"').expect("closing quote");
    unescape(&rest[start..start + end])
}

/// The hidden input `name` of a form.
fn hidden(html: &str, name: &str) -> String {
    attr_after(html, &format!("name=\"{name}\""), "value")
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// MWEB: the pay page's "continue" link (`mweb_url&redirect_url=…`).
async fn mweb_link(buyer: &Buyer, token: &str) -> String {
    let res = get_as(buyer, &format!("/pay/{token}"), IPHONE_SAFARI).await;
    assert_eq!(res.status(), 200);
    let policy = res.headers().get("referrer-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_ne!(policy, "no-referrer", "WeChat's cashier needs a Referer");
    let html = res.text().await.expect("page");
    attr_after(&html, "id=\"mweb-continue\"", "href")
}

/// JSAPI: through OAuth (when no openid is remembered) to the pay page's bridge parameters.
async fn jsapi_params(w: &World, buyer: &Buyer, token: &str) -> JsapiPayParams {
    let mut res = get_as(buyer, &format!("/pay/{token}"), IPHONE_WECHAT).await;
    if res.status() == 302 {
        let authorize = location(&res);
        assert!(authorize.starts_with(&format!("{}connect/oauth2/authorize?", w.sandbox.sandbox_base())));
        assert!(
            authorize.contains(&format!(
                "redirect_uri={}",
                encode(&format!("{}/pay/{token}/oauth", w.shop.url()))
            ))
        );
        assert!(authorize.ends_with("#wechat_redirect"));
        let back = w.sandbox_get(buyer, &authorize, IPHONE_WECHAT).await;
        assert_eq!(back.status(), 302, "the sandbox sends the buyer back with a code");
        let back = location(&back);
        let path = back.strip_prefix(&w.shop.url()).expect("back to the shop");
        assert!(path.starts_with(&format!("/pay/{token}/oauth?code=")));
        // The OAuth return renders nothing: the pay page must be in the /pay/ directory.
        let returned = get_as(buyer, path, IPHONE_WECHAT).await;
        assert_eq!(returned.status(), 303, "the OAuth return sends the buyer back to /pay/<token>");
        assert_eq!(location(&returned), format!("/pay/{token}"));
        res = get_as(buyer, &format!("/pay/{token}"), IPHONE_WECHAT).await;
    }
    assert_eq!(res.status(), 200);
    // The bridge of a sandbox running apart is the one other origin the page may use.
    let base = url::Url::parse(&w.sandbox.sandbox_base()).expect("sandbox base");
    let sandbox_origin = base.origin().ascii_serialization();
    let csp = res.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(csp.contains(&format!("script-src 'self' {sandbox_origin};")), "{csp}");
    assert!(csp.ends_with(&format!("connect-src 'self' {sandbox_origin}")), "{csp}");
    let html = res.text().await.expect("page");
    let from = html.find("id=\"wxpay-jsapi\">").expect("the parameters' script element") + 17;
    let to = html[from..].find("</script>").expect("end of the script element");
    assert!(html.contains(&format!("{}jsapi/bridge.js", w.sandbox.sandbox_base())), "the sandbox bridge");
    assert!(html.contains("/static/pay/jsapi.js"));
    serde_json::from_str(&html[from..from + to]).expect("bridge parameters")
}

/// What the sandbox bridge's server side answers for `action`, called from the pay page of
/// the order `token` (the page WeChat would check against the JSAPI payment directory).
async fn bridge(w: &World, token: &str, params: &JsapiPayParams, action: &str) -> String {
    let url = format!("{}jsapi/pay", w.sandbox.sandbox_base());
    let page_url = format!("{}/pay/{token}", w.shop.url());
    let body = serde_json::json!({ "params": params, "action": action, "page_url": page_url });
    let res = reqwest::Client::new().post(url).json(&body).send().await.expect("bridge answers");
    let v: Value = res.json().await.expect("bridge JSON");
    v["err_msg"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_phone_browser_pays_at_the_h5_cashier_reached_from_our_page_and_returns_to_the_order() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;

    let link = mweb_link(&buyer, &token).await;
    let back = format!("{}/o/{token}", w.shop.url());
    assert!(link.starts_with(&format!("{}cgi-bin/mmpayweb-bin/checkmweb?", w.sandbox.sandbox_base())));
    assert!(link.ends_with(&format!("&redirect_url={}", encode(&back))), "{link}");

    // The browser leaves our page for the cashier: strict-origin-when-cross-origin sends our origin.
    let referer = format!("{}/", w.shop.url());
    let req = buyer.http.get(&link).header(USER_AGENT, IPHONE_SAFARI).header(REFERER, &referer);
    let cashier = buyer.send(req).await;
    assert_eq!(cashier.status(), 200, "the cashier opens with our Referer");
    let html = cashier.text().await.expect("cashier");
    let form = [
        ("prepay_id", hidden(&html, "prepay_id")),
        ("package", hidden(&html, "package")),
        ("redirect_url", hidden(&html, "redirect_url")),
        ("action", "pay".to_owned()),
    ];
    let paid = buyer.http.post(format!("{}cgi-bin/mmpayweb-bin/pay", w.sandbox.sandbox_base())).form(&form);
    let paid = buyer.send(paid).await;
    assert_eq!(paid.status(), 303);
    assert_eq!(location(&paid), back, "WeChat sends the buyer back to the order page");

    let stored = w.stored(&order);
    assert_eq!(stored.attempts.len(), 1);
    assert_eq!(stored.attempts[0].channel, Channel::Mweb);
    assert_eq!(w.trade_state(&stored.attempts[0].out_trade_no).await, TradeState::Success);
    w.wait_paid(&buyer, &token).await;
}

#[tokio::test]
async fn wechat_learns_the_openid_by_oauth_signs_the_bridge_parameters_and_remembers_the_buyer() {
    // why 0.1: an OAuth code lives 5 scaled minutes; at 0.01 that is 3 s, which a loaded
    // machine running the whole suite can pass between authorize and the exchange.
    let w = world_at(0.1, |_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;

    let params = jsapi_params(&w, &buyer, &token).await;
    assert_eq!(params.appId, SANDBOX_APPID);
    assert!(params.package.starts_with("prepay_id=wx"));
    assert!(verify_pay_params(&params, &ApiKey::new(SANDBOX_API_KEY)), "paySign verifies");
    assert!(buyer.cookie("wx_openid").is_some(), "the openid is remembered");
    let stored = w.stored(&order);
    assert_eq!(stored.attempts[0].channel, Channel::Jsapi);
    assert!(stored.attempts[0].openid.as_deref().is_some_and(|o| o.starts_with('o')));

    assert_eq!(bridge(&w, &token, &params, "pay").await, "get_brand_wcpay_request:ok");
    w.wait_paid(&buyer, &token).await;

    // A later order in the same WeChat goes straight to the pay page: no second OAuth.
    let (token2, _) = w.order(&buyer).await;
    let res = get_as(&buyer, &format!("/pay/{token2}"), IPHONE_WECHAT).await;
    assert_eq!(res.status(), 200, "the remembered openid skips OAuth");
}

#[tokio::test]
async fn an_oauth_return_without_the_state_this_browser_was_given_is_refused() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    let res = get_as(&buyer, &format!("/pay/{token}"), IPHONE_WECHAT).await;
    assert_eq!(res.status(), 302);

    let forged =
        get_as(&buyer, &format!("/pay/{token}/oauth?code=stolen&state=AAAAAAAAAAAAAAAA"), IPHONE_WECHAT)
            .await;
    assert_eq!(forged.status(), 400);
    let stranger = Buyer::new(&w.shop.url());
    let res = get_as(&stranger, &format!("/pay/{token}/oauth?code=x&state=y"), IPHONE_WECHAT).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.expect("page").contains(&format!("/pay/{token}")), "a way to try again");
    assert!(w.stored(&order).attempts.is_empty(), "nothing was started");
}

#[tokio::test]
async fn a_desktop_browser_gets_a_server_rendered_qr_code_and_pays_by_scanning_it() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;

    let res = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("page");
    assert!(html.contains("<svg role=\"img\""), "an inline SVG QR code");
    assert!(html.contains(&format!("data-status-url=\"/o/{token}/status\"")));
    assert!(html.contains(&order.total.to_string()) && html.contains(&order.no));
    let scan = attr_after(&html, "id=\"sandbox-scan\"", "href");
    let code_url = w.stored(&order).attempts[0].code_url.clone().expect("code_url");
    assert_eq!(scan, format!("{}scan?code_url={}", w.sandbox.sandbox_base(), encode(&code_url)));

    let page = w.sandbox_get(&buyer, &scan, DESKTOP_CHROME).await.text().await.expect("scan page");
    let form = [("pr", hidden(&page, "pr")), ("action", "pay".to_owned())];
    let paid = buyer.send(buyer.http.post(format!("{}scan", w.sandbox.sandbox_base())).form(&form)).await;
    assert_eq!(paid.status(), 200);
    w.wait_paid(&buyer, &token).await;
    let again = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert_eq!(again.status(), 303, "a paid order is not paid again");
    assert_eq!(location(&again), format!("/o/{token}"));
}

#[tokio::test]
async fn wecom_is_told_to_open_the_link_in_wechat_and_nothing_is_started() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    let res = get_as(&buyer, &format!("/pay/{token}"), WECOM).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("page");
    assert!(html.contains("请在微信中打开此链接"));
    assert!(html.contains(&format!("value=\"{}/pay/{token}\"", w.shop.url())));
    assert!(html.contains("data-copy-target=\"pay-link\"") && html.contains("/static/pay/copy.js"));
    assert!(w.stored(&order).attempts.is_empty());
}

#[tokio::test]
async fn a_buyer_who_moves_from_safari_to_wechat_gets_a_new_attempt_and_pays_the_order_once() {
    // time_scale 0.005: WeChat's 5 minutes are 1.5 s, room for the early steps on a busy machine.
    let w = world_at(0.005, |_| {}).await;
    let five_minutes = Duration::from_secs(300).mul_f64(0.005);
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    mweb_link(&buyer, &token).await;
    let first = w.stored(&order).attempts[0].out_trade_no.clone();

    // Within WeChat's first 5 minutes the H5 attempt cannot be closed: it stays open.
    let params = jsapi_params(&w, &buyer, &token).await;
    // WeChat has had the JSAPI attempt since before now.
    let second_placed = Instant::now();
    let stored = w.stored(&order);
    assert_eq!(stored.attempts.len(), 2);
    let second = stored.attempts[1].out_trade_no.clone();
    assert_eq!(second, format!("{}-2", order.no));
    assert_eq!(stored.attempts[0].state, AttemptState::Open, "left open for the reconciler");
    assert_eq!(w.trade_state(&first).await, TradeState::NotPay);
    let events = w.checkout.store.events(&order.no).expect("events");
    assert!(events.iter().any(|e| e.kind == EventKind::CloseDeferred && e.message.contains(&first)));

    // Back in Safari after the 5 minutes: the JSAPI attempt is queried and closed this time.
    // why a wait on the clock: the rule is only time, and a closeorder to test it would close.
    helpers::wait_out(second_placed, five_minutes).await;
    mweb_link(&buyer, &token).await;
    let stored = w.stored(&order);
    assert_eq!(stored.attempts.len(), 3);
    assert_eq!(stored.attempts[1].state, AttemptState::Closed);
    assert_eq!(w.trade_state(&second).await, TradeState::Closed);
    assert_eq!(
        bridge(&w, &token, &params, "pay").await,
        "get_brand_wcpay_request:fail",
        "a closed attempt cannot be paid"
    );

    // And in WeChat again: a fourth attempt, which pays the order, once.
    let params = jsapi_params(&w, &buyer, &token).await;
    assert_eq!(bridge(&w, &token, &params, "pay").await, "get_brand_wcpay_request:ok");
    w.wait_paid(&buyer, &token).await;
    let stored = w.stored(&order);
    assert_eq!(stored.paid_by.as_deref(), Some(format!("{}-4", order.no).as_str()));
    let events = w.checkout.store.events(&order.no).expect("events");
    assert_eq!(events.iter().filter(|e| e.kind == EventKind::Paid).count(), 1);
    assert!(!events.iter().any(|e| e.kind == EventKind::DoublePayment));
}

#[tokio::test]
async fn a_buyer_who_already_paid_in_safari_is_sent_to_the_order_from_wechat_without_a_new_attempt() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    // why the delay: the notification is still on its way when the buyer opens WeChat, so
    // only the shop's own query can find the payment (the harder of the two cases).
    let control = format!("{}control", w.sandbox.sandbox_base());
    let delayed = reqwest::Client::new().post(control).json(&serde_json::json!({"notify_delay_ms": 10_000}));
    assert_eq!(delayed.send().await.expect("control").status(), 200);
    let link = mweb_link(&buyer, &token).await;
    let first = w.stored(&order).attempts[0].out_trade_no.clone();
    let referer = format!("{}/", w.shop.url());
    let html = buyer
        .send(buyer.http.get(&link).header(USER_AGENT, IPHONE_SAFARI).header(REFERER, referer))
        .await
        .text()
        .await
        .expect("cashier");
    let form = [
        ("prepay_id", hidden(&html, "prepay_id")),
        ("package", hidden(&html, "package")),
        ("action", "pay".to_owned()),
    ];
    buyer
        .send(buyer.http.post(format!("{}cgi-bin/mmpayweb-bin/pay", w.sandbox.sandbox_base())).form(&form))
        .await;
    assert_eq!(w.trade_state(&first).await, TradeState::Success);

    // Whether or not the notification has arrived yet, WeChat's answer is found and kept.
    let res = get_as(&buyer, &format!("/pay/{token}"), IPHONE_WECHAT).await;
    let res = if res.status() == 302 {
        let back = location(&w.sandbox_get(&buyer, &location(&res), IPHONE_WECHAT).await);
        get_as(&buyer, back.strip_prefix(&w.shop.url()).expect("shop"), IPHONE_WECHAT).await
    } else {
        res
    };
    // why one more hop when the notification is late: back from OAuth the buyer is sent to
    // the pay page (WeChat pays only from there), which queries the open attempt before any
    // new one, finds the payment, and sends the buyer to the order.
    let pay_page = format!("/pay/{token}");
    let res = if res.status() == 303 && location(&res) == pay_page {
        get_as(&buyer, &pay_page, IPHONE_WECHAT).await
    } else {
        res
    };
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/o/{token}"));
    let stored = w.stored(&order);
    assert_eq!(stored.attempts.len(), 1, "no attempt after the payment");
    assert_eq!(stored.status.as_str(), "paid");
}

#[tokio::test]
async fn a_valid_prepay_is_reused_and_wechat_is_asked_once() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    let first = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.text().await.expect("page");
    let second = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.text().await.expect("page");
    let scan = |html: &str| attr_after(html, "id=\"sandbox-scan\"", "href");
    assert_eq!(scan(&first), scan(&second), "the same QR code");
    let stored = w.stored(&order);
    assert_eq!(stored.attempts.len(), 1);
    let events = w.checkout.store.events(&order.no).expect("events");
    assert_eq!(events.iter().filter(|e| e.kind == EventKind::Prepay).count(), 1, "one unifiedorder");

    // The H5 link, good for 5 minutes, is reused the same way.
    let (token, order) = w.order(&buyer).await;
    assert_eq!(mweb_link(&buyer, &token).await, mweb_link(&buyer, &token).await);
    assert_eq!(w.stored(&order).attempts.len(), 1);
}

#[tokio::test]
async fn when_wechat_fails_the_buyer_may_try_again_and_the_retry_keeps_the_out_trade_no() {
    let w = world(|_| {}).await;
    let control = format!("{}control", w.sandbox.sandbox_base());
    let http = reqwest::Client::new();
    let set = |rate: f64| http.post(&control).json(&serde_json::json!({ "system_error_rate": rate })).send();
    assert!(set(1.0).await.expect("control").status().is_success());
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;

    let res = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert_eq!(res.status(), 503);
    let html = res.text().await.expect("page");
    assert!(html.contains("微信支付暂时无法连接，请稍后重试"));
    assert!(
        html.contains(&format!("href=\"/pay/{token}\"")) && html.contains(&format!("href=\"/o/{token}\""))
    );
    let events = w.checkout.store.events(&order.no).expect("events");
    assert!(events.iter().any(|e| e.kind == EventKind::WechatError && e.message.contains("SYSTEMERROR")));

    assert!(set(0.0).await.expect("control").status().is_success());
    let res = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert_eq!(res.status(), 200);
    let stored = w.stored(&order);
    assert_eq!(stored.attempts.len(), 1, "the same attempt, sent again with identical parameters");
    assert!(stored.attempts[0].code_url.is_some());
}

#[tokio::test]
async fn unknown_tokens_are_not_found() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let res = get_as(&buyer, "/pay/nosuchtoken", IPHONE_SAFARI).await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.expect("page").contains("<h1>订单不存在</h1>"), "the order page's words");
    assert_eq!(get_as(&buyer, "/pay/nosuchtoken/oauth?code=x&state=y", IPHONE_WECHAT).await.status(), 404);
}

#[tokio::test]
async fn when_wechat_refuses_the_shops_api_key_the_buyer_is_told_to_contact_the_shop_with_a_502() {
    let w = world(|c| c.wxpay.api_key = Some(ApiKey::new("0123456789abcdef0123456789abcdef"))).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;

    let res = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert_eq!(res.status(), 502);
    let html = res.text().await.expect("page");
    assert!(html.contains("<h1>暂时无法支付</h1>") && html.contains("商户配置有误，请联系商家。"), "{html}");
    assert!(html.contains(&format!("href=\"/o/{token}\"")), "the order can still be viewed");
    assert_eq!(w.stored(&order).status, OrderStatus::Pending);
}

// ---- the buyer's IP, as the gateway receives it ---------------------------------------------

/// A shop against an in-process sandbox with a handle, to read `spbill_create_ip` as received.
async fn ip_seen_by_wechat(trusted: &[&str], headers: &[(&str, &str)]) -> String {
    let (sandbox, handle) = helpers::spawn_sandbox_with_handle(|_| {}).await;
    let trusted: Vec<ProxyNet> = trusted.iter().map(|t| ProxyNet::parse(t).expect("net")).collect();
    let (shop, checkout) = spawn_live_shop(&sandbox.sandbox_base(), |c| c.trusted_proxies = trusted).await;
    let buyer = Buyer::new(&shop.url());
    let path = buyer.buy_now("pour-over-coffee", 1).await;
    let mut req =
        buyer.request(reqwest::Method::GET, &path.replace("/o/", "/pay/")).header(USER_AGENT, IPHONE_SAFARI);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    assert_eq!(buyer.send(req).await.status(), 200);
    let token = path.trim_start_matches("/o/");
    let order = checkout.store.order_by_token(token).expect("store").expect("order");
    let out_trade_no = &order.attempts[0].out_trade_no;
    let state = handle.state();
    let seen = state.orders.get(out_trade_no).expect("the gateway has the order").spbill_create_ip.clone();
    assert_eq!(order.attempts[0].client_ip, seen);
    seen
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_buyer_address_goes_to_wechat() {
    let xff = [("X-Forwarded-For", "203.0.113.9")];
    assert_eq!(ip_seen_by_wechat(&["127.0.0.1"], &xff).await, "203.0.113.9");
    let v6 = [("X-Forwarded-For", "6.6.6.6, 2001:db8::9")];
    assert_eq!(ip_seen_by_wechat(&["127.0.0.1"], &v6).await, "2001:db8::9");
    let real = [("X-Real-IP", "198.51.100.4")];
    assert_eq!(ip_seen_by_wechat(&["127.0.0.0/8"], &real).await, "198.51.100.4");
}

#[tokio::test]
async fn from_an_untrusted_peer_forwarding_headers_are_ignored() {
    let forged = [("X-Forwarded-For", "203.0.113.9"), ("X-Real-IP", "203.0.113.10")];
    assert_eq!(ip_seen_by_wechat(&[], &forged).await, "127.0.0.1");
    assert_eq!(ip_seen_by_wechat(&["10.0.0.0/8"], &forged).await, "127.0.0.1");
}

// ---- renewing a prepay ----------------------------------------------------------------------

/// Makes the attempt's prepay look issued three hours ago (past every link's lifetime).
fn age_prepay(w: &World, order: &Order, change_body: bool) {
    w.checkout
        .store
        .update_order(&order.no, |o| {
            let a = &mut o.attempts[0];
            a.prepay_at = a.prepay_at.map(|t| t - 3 * 60 * 60);
            if change_body {
                if let Some(r) = a.request.as_mut() {
                    r.body = "changed since".to_owned();
                }
            }
            ((), Vec::new())
        })
        .expect("update");
}

#[tokio::test]
async fn an_expired_prepay_is_renewed_for_the_same_out_trade_no_with_identical_parameters() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    assert_eq!(get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.status(), 200);
    let before = w.stored(&order).attempts[0].clone();
    age_prepay(&w, &order, false);

    assert_eq!(get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.status(), 200);
    let after = w.stored(&order);
    assert_eq!(after.attempts.len(), 1);
    assert_eq!(after.attempts[0].out_trade_no, before.out_trade_no);
    assert_ne!(after.attempts[0].prepay_id, before.prepay_id, "a fresh prepay");
    let events = w.checkout.store.events(&order.no).expect("events");
    assert!(events.iter().any(|e| e.kind == EventKind::Prepay && e.message.contains("renewed")));
}

#[tokio::test]
async fn a_renewal_wechat_refuses_as_a_duplicate_number_moves_to_a_new_attempt() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    assert_eq!(get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await.status(), 200);
    // As if an older version of the shop had sent other parameters for this number.
    age_prepay(&w, &order, true);

    let res = get_as(&buyer, &format!("/pay/{token}"), DESKTOP_CHROME).await;
    assert_eq!(res.status(), 200);
    let stored = w.stored(&order);
    assert_eq!(stored.attempts.len(), 2);
    assert!(stored.attempts[1].code_url.is_some());
    let events = w.checkout.store.events(&order.no).expect("events");
    assert!(events.iter().any(|e| e.kind == EventKind::WechatError && e.message.contains("201")));
}

// ---- sandbox mode: WeChat in the shop's own process ------------------------------------------

#[tokio::test]
async fn in_sandbox_mode_the_browser_reaches_oauth_and_the_cashier_where_it_reached_the_shop() {
    let shop = helpers::spawn_shop(|_| {}).await;
    let port = shop.running.addr.port();
    let buyer = Buyer::new(&shop.url());
    let path = buyer.buy_now("pour-over-coffee", 1).await;
    let pay = path.replace("/o/", "/pay/");
    // A phone on the LAN reaches the shop by another name than the shop calls itself.
    let host = format!("localhost:{port}");
    let as_phone = |ua: &'static str| {
        buyer.request(reqwest::Method::GET, &pay).header(USER_AGENT, ua).header(reqwest::header::HOST, &host)
    };

    let oauth = buyer.send(as_phone(IPHONE_WECHAT)).await;
    assert_eq!(oauth.status(), 302);
    let authorize = location(&oauth);
    assert!(
        authorize.starts_with(&format!("http://{host}/sandbox/connect/oauth2/authorize?")),
        "{authorize}"
    );
    assert!(authorize.contains(&encode(&format!("http://{host}{pay}/oauth"))));

    let html = buyer.send(as_phone(IPHONE_SAFARI)).await.text().await.expect("page");
    let link = attr_after(&html, "id=\"mweb-continue\"", "href");
    assert!(link.starts_with(&format!("http://{host}/sandbox/cgi-bin/mmpayweb-bin/checkmweb?")), "{link}");
    assert!(link.ends_with(&encode(&format!("http://{host}{path}"))));
}

#[tokio::test]
async fn a_used_oauth_code_sends_the_buyer_through_oauth_once_more_then_says_so() {
    let w = world(|_| {}).await;
    let buyer = w.buyer();
    let (token, order) = w.order(&buyer).await;
    // Someone (a duplicate redirect, typically) exchanges the code before the shop does.
    let burn = |back: &str| {
        let code = back.split("code=").nth(1).and_then(|c| c.split('&').next()).expect("code").to_owned();
        let url = format!(
            "{}sns/oauth2/access_token?appid={SANDBOX_APPID}&secret={}&code={code}&grant_type=authorization_code",
            w.sandbox.sandbox_base(),
            wxcheckout::config::SANDBOX_APP_SECRET
        );
        async move { reqwest::get(url).await.expect("access_token").text().await.expect("body") }
    };

    let res = get_as(&buyer, &format!("/pay/{token}"), IPHONE_WECHAT).await;
    let back = location(&w.sandbox_get(&buyer, &location(&res), IPHONE_WECHAT).await);
    assert!(burn(&back).await.contains("openid"));
    let retry = get_as(&buyer, back.strip_prefix(&w.shop.url()).expect("shop"), IPHONE_WECHAT).await;
    assert_eq!(retry.status(), 302, "once more through OAuth");
    assert!(location(&retry).contains("/connect/oauth2/authorize?"));

    let back = location(&w.sandbox_get(&buyer, &location(&retry), IPHONE_WECHAT).await);
    burn(&back).await;
    let failed = get_as(&buyer, back.strip_prefix(&w.shop.url()).expect("shop"), IPHONE_WECHAT).await;
    assert_eq!(failed.status(), 502);
    assert!(failed.text().await.expect("page").contains("微信授权失败"));
    assert!(w.stored(&order).attempts.is_empty());
}
