//! The payer's side of the sandbox over real HTTP: the H5 cashier, the NATIVE scan page,
//! the JSAPI bridge's server side, the control page and the home page.
#![allow(clippy::unwrap_used)] // why: a test fails loudly on purpose

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use wxcheckout::config::{SANDBOX_API_KEY, SANDBOX_APPID, SANDBOX_MCH_ID};
use wxcheckout::wxpay::sign::{sign_in_place, sign_pairs};
use wxcheckout::wxpay::xml::{self, Fields};
use wxcheckout::wxpay::{ApiKey, SignType};

use crate::helpers::{self, until};

/// The shop's pages on loopback: by default the standalone sandbox has the shop's `/pay/`
/// directory and domain registered on loopback (any port), so these pass its checks.
const SHOP_PAGE: &str = "http://localhost:8000/pay/abc";
const RETURN_PAGE: &str = "http://localhost:8000/o/tok123";
const IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";
const WECHAT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN";

fn key() -> ApiKey {
    ApiKey::new(SANDBOX_API_KEY)
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

fn out_trade_no() -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("T{n}")
}

/// Signs `fields` as the merchant and POSTs them to `path` under the sandbox.
async fn call(server: &helpers::TestServer, path: &str, mut fields: Fields) -> Fields {
    fields.insert("appid", SANDBOX_APPID);
    fields.insert("mch_id", SANDBOX_MCH_ID);
    fields.insert("nonce_str", "n0nce5tr1ng");
    sign_in_place(&mut fields, &key(), SignType::Md5, true);
    let body = browser()
        .post(format!("{}{path}", server.sandbox_base()))
        .header("Content-Type", "text/xml")
        .body(xml::to_xml(&fields))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xml::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Places an order of `trade_type` for ¥12.34 and returns (out_trade_no, the answer).
async fn unifiedorder(server: &helpers::TestServer, trade_type: &str) -> (String, Fields) {
    unifiedorder_with(server, trade_type, |_| {}).await
}

/// As `unifiedorder`, with the request's fields changed by `tune` before signing.
async fn unifiedorder_with(
    server: &helpers::TestServer,
    trade_type: &str,
    tune: impl FnOnce(&mut Fields),
) -> (String, Fields) {
    let no = out_trade_no();
    let mut f: Fields = [
        ("body", "Demo Shop-Coffee"),
        ("out_trade_no", no.as_str()),
        ("total_fee", "1234"),
        ("spbill_create_ip", "127.0.0.1"),
        ("notify_url", "http://127.0.0.1:9/wxpay/notify"),
        ("trade_type", trade_type),
    ]
    .into_iter()
    .collect();
    match trade_type {
        "JSAPI" => f.insert("openid", helpers::buyer_openid()),
        "NATIVE" => f.insert("product_id", "SKU-42"),
        _ => f.insert(
            "scene_info",
            r#"{"h5_info": {"type":"Wap","wap_url": "https://shop.example","wap_name": "Demo Shop"}}"#,
        ),
    }
    tune(&mut f);
    let answer = call(server, "pay/unifiedorder", f).await;
    assert_eq!(answer.get("result_code"), Some("SUCCESS"), "{answer:?}");
    (no, answer)
}

async fn trade_state(server: &helpers::TestServer, out_trade_no: &str) -> String {
    let f: Fields = [("out_trade_no", out_trade_no)].into_iter().collect();
    let answer = call(server, "pay/orderquery", f).await;
    answer.get("trade_state").unwrap_or_default().to_owned()
}

/// The `mweb_url` of a new H5 order, pointed at this server (its host is the request's).
async fn mweb_url(server: &helpers::TestServer) -> (String, String) {
    let (no, answer) = unifiedorder(server, "MWEB").await;
    (no, answer.get("mweb_url").unwrap().to_owned())
}

fn query_value(url: &str, name: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
}

async fn open_cashier(url: &str, referer: Option<&str>, ua: &str) -> (StatusCode, String) {
    let mut req = browser().get(url).header("User-Agent", ua);
    if let Some(r) = referer {
        req = req.header("Referer", r);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn submit_cashier(
    server: &helpers::TestServer,
    mweb: &str,
    redirect: Option<&str>,
    action: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("prepay_id", query_value(mweb, "prepay_id")),
        ("package", query_value(mweb, "package")),
        ("action", action.to_owned()),
    ];
    if let Some(r) = redirect {
        form.push(("redirect_url", r.to_owned()));
    }
    browser()
        .post(format!("{}cgi-bin/mmpayweb-bin/pay", server.sandbox_base()))
        .form(&form)
        .send()
        .await
        .unwrap()
}

// ---- H5 cashier ----------------------------------------------------------------------------

#[tokio::test]
async fn the_cashier_opened_without_a_referer_shows_wechats_merchant_parameter_error() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (_, url) = mweb_url(&server).await;
    let (status, page) = open_cashier(&url, None, IPHONE).await;
    assert!(page.contains("商家参数格式有误，请联系商家解决"), "{status}: {page}");
    assert!(!page.contains("确认支付"));
}

#[tokio::test]
async fn a_cashier_link_older_than_five_scaled_minutes_has_expired() {
    // 5 minutes at time_scale 0.0001 = 30 ms; opening the cashier changes nothing.
    let server = helpers::spawn_sandbox(|c| c.sandbox.time_scale = 0.0001).await;
    let (_, url) = mweb_url(&server).await;
    until("the link to expire", || async {
        let (_, page) = open_cashier(&url, Some(SHOP_PAGE), IPHONE).await;
        page.contains("支付请求已失效，请重新发起支付")
    })
    .await;
}

#[tokio::test]
async fn the_cashier_opened_inside_wechat_asks_to_open_it_outside() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (_, url) = mweb_url(&server).await;
    let (_, page) = open_cashier(&url, Some(SHOP_PAGE), WECHAT).await;
    assert!(page.contains("请在微信外打开订单，进行支付"), "{page}");
}

#[tokio::test]
async fn the_cashier_shows_the_amount_and_refuses_an_unknown_prepay() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (_, url) = mweb_url(&server).await;
    let (status, page) =
        open_cashier(&format!("{url}&redirect_url={}", urlencode(RETURN_PAGE)), Some(SHOP_PAGE), IPHONE)
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("¥12.34") && page.contains("确认支付") && page.contains("Demo Shop"), "{page}");
    let unknown = url.replace(&query_value(&url, "prepay_id"), "wx2024nothere");
    let (status, page) = open_cashier(&unknown, Some(SHOP_PAGE), IPHONE).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
}

#[tokio::test]
async fn paying_at_the_cashier_redirects_to_the_return_page_and_the_order_is_paid() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, url) = mweb_url(&server).await;
    let res = submit_cashier(&server, &url, Some(RETURN_PAGE), "pay").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], RETURN_PAGE);
    assert_eq!(trade_state(&server, &no).await, "SUCCESS");
    let again = submit_cashier(&server, &url, None, "pay").await;
    assert!(again.text().await.unwrap().contains("该订单已支付"));
}

#[tokio::test]
async fn cancelling_at_the_cashier_redirects_and_leaves_the_order_unpaid() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, url) = mweb_url(&server).await;
    let res = submit_cashier(&server, &url, Some(RETURN_PAGE), "cancel").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], RETURN_PAGE);
    assert_eq!(trade_state(&server, &no).await, "NOTPAY");
}

#[tokio::test]
async fn the_cashier_refuses_a_javascript_redirect_url() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, url) = mweb_url(&server).await;
    let res = submit_cashier(&server, &url, Some("javascript:alert(1)"), "pay").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(trade_state(&server, &no).await, "NOTPAY");
}

#[tokio::test]
async fn the_cashier_opened_from_another_sites_page_shows_wechats_unconfigured_parameter_error() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (_, url) = mweb_url(&server).await;
    let (status, page) = open_cashier(&url, Some("https://evil.example/phish"), IPHONE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("商家存在未配置的参数，请联系商家解决") && !page.contains("确认支付"), "{page}");
    let (status, _) = open_cashier(&url, Some(&server.sandbox_base()), IPHONE).await;
    assert_eq!(status, StatusCode::OK, "the sandbox's own host is the shop's");
}

#[tokio::test]
async fn the_cashier_refuses_a_redirect_url_on_another_host_so_it_is_no_open_redirect() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, url) = mweb_url(&server).await;
    let evil = "https://evil.example/after";
    let (status, page) =
        open_cashier(&format!("{url}&redirect_url={}", urlencode(evil)), Some(SHOP_PAGE), IPHONE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("商家存在未配置的参数，请联系商家解决"), "{page}");
    for action in ["pay", "cancel"] {
        let res = submit_cashier(&server, &url, Some(evil), action).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(trade_state(&server, &no).await, "NOTPAY");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---- NATIVE scan ---------------------------------------------------------------------------

#[tokio::test]
async fn the_scan_page_lists_a_native_order_and_pays_it() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, answer) = unifiedorder(&server, "NATIVE").await;
    let code_url = answer.get("code_url").unwrap().to_owned();
    let list =
        browser().get(format!("{}scan", server.sandbox_base())).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&no) && list.contains("扫码 / Scan"), "{list}");
    let shown = browser()
        .get(format!("{}scan?code_url={}", server.sandbox_base(), urlencode(&code_url)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("¥12.34") && shown.contains("Demo Shop-Coffee"), "{shown}");
    let pr = query_value(&code_url, "pr");
    let paid = browser()
        .post(format!("{}scan", server.sandbox_base()))
        .form(&[("pr", pr.as_str()), ("action", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::OK);
    assert!(paid.text().await.unwrap().contains("支付成功"));
    assert_eq!(trade_state(&server, &no).await, "SUCCESS");
}

#[tokio::test]
async fn a_code_url_older_than_two_scaled_hours_has_expired() {
    // 2 hours at time_scale 0.00002 = 144 ms; looking at the code changes nothing.
    let server = helpers::spawn_sandbox(|c| c.sandbox.time_scale = 0.00002).await;
    let (_, answer) = unifiedorder(&server, "NATIVE").await;
    let url =
        format!("{}scan?code_url={}", server.sandbox_base(), urlencode(answer.get("code_url").unwrap()));
    until("the code to expire", || async {
        browser().get(&url).send().await.unwrap().text().await.unwrap().contains("二维码已过期")
    })
    .await;
}

// ---- JSAPI bridge --------------------------------------------------------------------------

fn bridge_params(prepay_id: &str, appid: &str, sign_type: SignType) -> Value {
    let package = format!("prepay_id={prepay_id}");
    let pairs = [
        ("appId", appid),
        ("nonceStr", "e61463f8efa94090b1f366cccfbbb444"),
        ("package", package.as_str()),
        ("signType", sign_type.as_str()),
        ("timeStamp", "1704081600"),
    ];
    let pay_sign = sign_pairs(pairs.into_iter(), &key(), sign_type);
    json!({
        "appId": appid, "timeStamp": "1704081600", "nonceStr": "e61463f8efa94090b1f366cccfbbb444",
        "package": package, "signType": sign_type.as_str(), "paySign": pay_sign,
    })
}

async fn bridge(
    server: &helpers::TestServer,
    params: Value,
    action: &str,
) -> (reqwest::header::HeaderMap, Value) {
    let res = browser()
        .post(format!("{}jsapi/pay", server.sandbox_base()))
        .header("Origin", "https://shop.example")
        .json(&json!({ "params": params, "action": action, "page_url": SHOP_PAGE }))
        .send()
        .await
        .unwrap();
    (res.headers().clone(), res.json().await.unwrap())
}

async fn jsapi_order(server: &helpers::TestServer) -> (String, String) {
    let (no, answer) = unifiedorder(server, "JSAPI").await;
    (no, answer.get("prepay_id").unwrap().to_owned())
}

#[tokio::test]
async fn the_bridge_pays_a_jsapi_order_with_a_good_pay_sign() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, prepay) = jsapi_order(&server).await;
    let (headers, answer) =
        bridge(&server, bridge_params(&prepay, SANDBOX_APPID, SignType::Md5), "pay").await;
    assert_eq!(answer["err_msg"], "get_brand_wcpay_request:ok", "{answer}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(trade_state(&server, &no).await, "SUCCESS");
}

#[tokio::test]
async fn the_bridge_fails_on_a_bad_pay_sign() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, prepay) = jsapi_order(&server).await;
    let mut params = bridge_params(&prepay, SANDBOX_APPID, SignType::Md5);
    params["paySign"] = json!("0051D6F8045791D4CD1AFBDFBA263D1F");
    let (_, answer) = bridge(&server, params, "pay").await;
    assert_eq!(answer["err_msg"], "get_brand_wcpay_request:fail");
    assert_eq!(answer["err_desc"], "签名错误");
    let hmac = bridge_params(&prepay, SANDBOX_APPID, SignType::HmacSha256);
    let (_, answer) = bridge(&server, hmac, "pay").await;
    assert_eq!(answer["err_msg"], "get_brand_wcpay_request:fail", "another sign type than the order's");
    assert_eq!(trade_state(&server, &no).await, "NOTPAY");
}

#[tokio::test]
async fn the_bridge_fails_for_another_appid() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, prepay) = jsapi_order(&server).await;
    let (_, answer) =
        bridge(&server, bridge_params(&prepay, "wx0000000000000000", SignType::Md5), "pay").await;
    assert_eq!(answer["err_msg"], "get_brand_wcpay_request:fail");
    assert_eq!(answer["err_desc"], "调用支付JSAPI缺少参数：total_fee");
    assert_eq!(trade_state(&server, &no).await, "NOTPAY");
}

#[tokio::test]
async fn cancelling_in_the_bridge_answers_cancel_and_leaves_the_order_unpaid() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, prepay) = jsapi_order(&server).await;
    let (_, answer) = bridge(&server, bridge_params(&prepay, SANDBOX_APPID, SignType::Md5), "cancel").await;
    assert_eq!(answer["err_msg"], "get_brand_wcpay_request:cancel");
    assert_eq!(trade_state(&server, &no).await, "NOTPAY");
}

#[tokio::test]
async fn the_bridge_script_and_order_summary_are_served_to_other_origins() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (_, prepay) = jsapi_order(&server).await;
    let js = browser().get(format!("{}jsapi/bridge.js", server.sandbox_base())).send().await.unwrap();
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("application/javascript"));
    assert!(js.text().await.unwrap().contains("WeixinJSBridgeReady"));
    let preflight = browser()
        .request(reqwest::Method::OPTIONS, format!("{}jsapi/pay", server.sandbox_base()))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(preflight.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("content-type")
    );
    let info: Value = browser()
        .get(format!(
            "{}jsapi/order?package={}&page_url={}",
            server.sandbox_base(),
            urlencode(&format!("prepay_id={prepay}")),
            urlencode(SHOP_PAGE)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["amount"], "¥12.34", "{info}");
}

// ---- control and home ----------------------------------------------------------------------

async fn control_json(
    server: &helpers::TestServer,
    body: Value,
    origin: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = browser().post(format!("{}control", server.sandbox_base())).json(&body);
    if let Some(o) = origin {
        req = req.header("Origin", o).header("Sec-Fetch-Site", "cross-site");
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_json_post_to_the_control_page_changes_the_faults() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (status, answer) =
        control_json(&server, json!({ "notify_copies": 3, "notify_bad_sign": true }), None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["notify_copies"], 3);
    assert_eq!(answer["notify_bad_sign"], true);
    let page = browser()
        .get(format!("{}control", server.sandbox_base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            r#"name="notify_copies" type="number" inputmode="numeric" min="1" max="50" step="1" value="3""#
        ),
        "{page}"
    );
}

#[tokio::test]
async fn the_control_page_refuses_a_bad_value_and_changes_nothing() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (status, answer) =
        control_json(&server, json!({ "notify_copies": 4, "system_error_rate": 2 }), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().contains("system_error_rate"), "{answer}");
    let form = [
        ("notify_copies", "4"),
        ("notify_drop_first", "0"),
        ("notify_delay_ms", "0"),
        ("system_error_rate", "2"),
    ];
    let res = browser().post(format!("{}control", server.sandbox_base())).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("system_error_rate"));
    let (_, now) = control_json(&server, json!({}), None).await;
    assert_eq!(now["notify_copies"], 1);
    assert_eq!(now["system_error_rate"], 0.0);
}

#[tokio::test]
async fn a_cross_site_post_to_the_control_page_is_refused() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (status, _) =
        control_json(&server, json!({ "notify_copies": 5 }), Some("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let form = browser()
        .post(format!("{}control", server.sandbox_base()))
        .header("Origin", "https://evil.example")
        .form(&[
            ("notify_copies", "5"),
            ("notify_drop_first", "0"),
            ("notify_delay_ms", "0"),
            ("system_error_rate", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::FORBIDDEN);
    let (_, now) = control_json(&server, json!({}), None).await;
    assert_eq!(now["notify_copies"], 1);
}

#[tokio::test]
async fn the_home_page_lists_orders_and_never_shows_the_api_key() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, answer) = unifiedorder(&server, "NATIVE").await;
    let pr = query_value(answer.get("code_url").unwrap(), "pr");
    let (unpaid, _) = unifiedorder(&server, "MWEB").await;
    browser()
        .post(format!("{}scan", server.sandbox_base()))
        .form(&[("pr", pr.as_str()), ("action", "pay")])
        .send()
        .await
        .unwrap();
    for url in [server.sandbox_base(), server.sandbox_base().trim_end_matches('/').to_owned()] {
        let res = browser().get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let page = res.text().await.unwrap();
        assert!(page.contains(&no) && page.contains(&unpaid) && page.contains("¥12.34"), "{page}");
        assert!(page.contains("SUCCESS") && page.contains("NOTPAY") && page.contains("42000"), "{page}");
        assert!(page.contains("http://127.0.0.1:9/wxpay/notify"), "the delivery is listed: {page}");
        assert!(page.contains("沙箱 — 不涉及真实资金") && page.contains(SANDBOX_MCH_ID));
        assert!(!page.contains(SANDBOX_API_KEY));
    }
}

// ---- the merchant's registration, enforced as WeChat does -------------------------------------

/// The bridge's answer for a JSAPI order paid from `page_url`.
async fn bridge_from(server: &helpers::TestServer, prepay: &str, page_url: &str) -> Value {
    let params = bridge_params(prepay, SANDBOX_APPID, SignType::Md5);
    browser()
        .post(format!("{}jsapi/pay", server.sandbox_base()))
        .json(&json!({ "params": params, "action": "pay", "page_url": page_url }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn home(server: &helpers::TestServer) -> String {
    browser().get(server.sandbox_base()).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn the_bridge_refuses_a_page_outside_the_registered_pay_directory_as_the_url_not_registered() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, prepay) = jsapi_order(&server).await;
    for outside in [
        "http://localhost:8000/pay/abc/oauth?code=x&state=y",
        "http://localhost:8000/o/abc",
        "http://localhost:8000/payment/abc",
        "https://shop.example/pay/abc",
        "",
    ] {
        let answer = bridge_from(&server, &prepay, outside).await;
        assert_eq!(answer["err_msg"], "get_brand_wcpay_request:fail", "{outside}: {answer}");
        assert_eq!(answer["err_desc"], "当前页面的URL未注册", "{outside}");
    }
    assert_eq!(trade_state(&server, &no).await, "NOTPAY", "a refused page pays nothing");
    let info: Value = browser()
        .get(format!(
            "{}jsapi/order?package={}&page_url={}",
            server.sandbox_base(),
            urlencode(&format!("prepay_id={prepay}")),
            urlencode("http://localhost:8000/pay/abc/oauth")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["err_desc"], "当前页面的URL未注册", "no pay sheet for an unregistered page");
    assert!(home(&server).await.contains("/pay/abc/oauth"), "the refusal is on the home page");

    // The page directly in /pay/ (query and fragment aside) pays.
    let answer = bridge_from(&server, &prepay, "http://localhost:8000/pay/abc?from=oauth#top").await;
    assert_eq!(answer["err_msg"], "get_brand_wcpay_request:ok", "{answer}");
}

#[tokio::test]
async fn a_top_level_jsapi_registration_lets_pages_at_any_depth_of_its_domain_pay() {
    let server = helpers::spawn_sandbox(|c| {
        c.sandbox.jsapi_dirs = Some(vec!["https://shop.example/".into(), "https://pay.example/a/b/".into()]);
    })
    .await;
    let (_, prepay) = jsapi_order(&server).await;
    let refused = bridge_from(&server, &prepay, "https://pay.example/a/x.html").await;
    assert_eq!(refused["err_desc"], "当前页面的URL未注册");
    let ok = bridge_from(&server, &prepay, "https://shop.example/deep/er/page").await;
    assert_eq!(ok["err_msg"], "get_brand_wcpay_request:ok", "{ok}");
}

#[tokio::test]
async fn the_cashier_refuses_a_payer_whose_address_is_not_the_spbill_create_ip() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, answer) =
        unifiedorder_with(&server, "MWEB", |f| f.insert("spbill_create_ip", "203.0.113.7")).await;
    let mweb = answer.get("mweb_url").unwrap().to_owned();
    let (status, page) = open_cashier(&mweb, Some(SHOP_PAGE), IPHONE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("网络环境未能通过安全验证，请稍后再试"), "{page}");
    let res = submit_cashier(&server, &mweb, Some(RETURN_PAGE), "pay").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "paying is refused too");
    assert_eq!(trade_state(&server, &no).await, "NOTPAY");
    assert!(home(&server).await.contains("203.0.113.7"), "the refusal is on the home page");

    // The same buyer address as the shop sent: the cashier opens.
    let (_, mweb) = mweb_url(&server).await;
    let (status, page) = open_cashier(&mweb, Some(SHOP_PAGE), IPHONE).await;
    assert_eq!(status, StatusCode::OK, "{page}");
}

#[tokio::test]
async fn the_payer_network_changed_switch_makes_the_cashier_refuse_until_it_is_off() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (no, mweb) = mweb_url(&server).await;
    let control = |on: bool| {
        browser()
            .post(format!("{}control", server.sandbox_base()))
            .json(&json!({ "payer_network_changed": on }))
            .send()
    };
    assert_eq!(control(true).await.unwrap().status(), StatusCode::OK);
    let (status, page) = open_cashier(&mweb, Some(SHOP_PAGE), IPHONE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("网络环境未能通过安全验证"), "{page}");
    assert_eq!(control(false).await.unwrap().status(), StatusCode::OK);
    let res = submit_cashier(&server, &mweb, Some(RETURN_PAGE), "pay").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(trade_state(&server, &no).await, "SUCCESS");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_cashier_sees_the_payer_at_the_forwarded_address() {
    let server = helpers::spawn_sandbox(|c| {
        c.trusted_proxies = vec![wxcheckout::config::ProxyNet::parse("127.0.0.1").unwrap()]
    })
    .await;
    let (_, answer) =
        unifiedorder_with(&server, "MWEB", |f| f.insert("spbill_create_ip", "203.0.113.7")).await;
    let mweb = answer.get("mweb_url").unwrap().to_owned();
    let open = |forwarded: &'static str| {
        browser()
            .get(&mweb)
            .header("User-Agent", IPHONE)
            .header("Referer", SHOP_PAGE)
            .header("X-Forwarded-For", forwarded)
            .send()
    };
    assert_eq!(open("203.0.113.7").await.unwrap().status(), StatusCode::OK);
    assert_eq!(open("198.51.100.4").await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_cashier_opens_only_from_and_returns_only_to_the_registered_h5_domain() {
    let server = helpers::spawn_sandbox(|c| c.sandbox.h5_domains = Some(vec!["shop.example".into()])).await;
    let (_, mweb) = mweb_url(&server).await;
    let (status, page) = open_cashier(&mweb, Some("https://evil.example/pay/x"), IPHONE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("商家存在未配置的参数，请联系商家解决"), "{page}");
    let (status, _) = open_cashier(&mweb, Some(SHOP_PAGE), IPHONE).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "loopback is not registered here");
    let (status, page) = open_cashier(&mweb, Some("https://m.shop.example/pay/x"), IPHONE).await;
    assert_eq!(status, StatusCode::OK, "a subdomain of the H5 domain passes: {page}");
    let back = format!("{mweb}&redirect_url={}", urlencode("https://evil.example/back"));
    let (status, page) = open_cashier(&back, Some("https://shop.example/pay/x"), IPHONE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("商家存在未配置的参数"), "{page}");
}

#[tokio::test]
async fn a_forwarded_header_from_a_proxy_not_in_trusted_proxies_is_warned_about_on_the_home_page() {
    let server = helpers::spawn_sandbox(|_| {}).await;
    let (_, mweb) = mweb_url(&server).await;
    let res = browser()
        .get(&mweb)
        .header("User-Agent", IPHONE)
        .header("Referer", SHOP_PAGE)
        .header("X-Forwarded-For", "203.0.113.50")
        .send()
        .await
        .unwrap();
    // The sandbox sees the proxy's address as the shop did, so it opens; live WeChat would not.
    assert_eq!(res.status(), StatusCode::OK);
    let page = home(&server).await;
    assert!(page.contains("not in trusted_proxies"), "{page}");
}
