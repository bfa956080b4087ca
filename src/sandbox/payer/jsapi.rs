//! The JSAPI bridge: `bridge.js` gives ordinary browsers a `WeixinJSBridge` whose
//! `getBrandWCPayRequest` asks the payer here, and the server side checks the bridge
//! parameters as WeChat does (docs/wechat-pay-v2.md#jsapi-payment) before paying.
//!
//! Owns `/sandbox/jsapi/…`. Pays only through `Sandbox::pay`; must not compute `paySign`
//! (the shop does) nor issue prepay ids (the gateway does).

use std::sync::Arc;
use std::time::Duration;

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::{Json, Value, json};
use rocket::{Request, Response, State, get, options, post};
use serde::Deserialize;

use super::{merchant_label, order_by_prepay, yuan};
use crate::sandbox::registered::{Registered, web_url};
use crate::sandbox::state::{PayError, Sandbox, SbOrder, TradeState};
use crate::wxpay::SignType;
use crate::wxpay::jsapi::{JsapiPayParams, verify_pay_params};
use crate::wxpay::v3::jsapi::SIGN_TYPE_RSA;

/// "prepay_id … 有效期为2小时".
const PREPAY_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// What WeChat says for an unknown or expired prepay_id, or another appid.
const MISSING_TOTAL_FEE: &str = "调用支付JSAPI缺少参数：total_fee";
const BAD_SIGN: &str = "签名错误";
/// What WeChat says when the calling page is not in a registered JSAPI payment directory.
const URL_NOT_REGISTERED: &str = "当前页面的URL未注册";

/// The script; also at `/static/sandbox/bridge.js` through the embed.
const BRIDGE_JS: &str = include_str!("../../../static/sandbox/bridge.js");

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![bridge_js, order_info, order_preflight, pay, pay_preflight]
}

/// Adds `Access-Control-Allow-Origin: *`.
///
/// why: the shop may run on another origin than a separately started sandbox, and these
/// answers carry nothing secret: the merchant's signature is what authorizes a payment.
struct Cors<R>(R);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for Cors<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        Response::build_from(self.0.respond_to(req)?)
            .header(Header::new("Access-Control-Allow-Origin", "*"))
            .header(Header::new("Vary", "Origin"))
            .ok()
    }
}

/// The answer to a CORS preflight: POST (and GET) with a JSON body.
struct Preflight;

impl<'r> Responder<'r, 'static> for Preflight {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .status(Status::NoContent)
            .header(Header::new("Access-Control-Allow-Origin", "*"))
            .header(Header::new("Access-Control-Allow-Methods", "POST, GET, OPTIONS"))
            .header(Header::new("Access-Control-Allow-Headers", "Content-Type"))
            .header(Header::new("Access-Control-Max-Age", "600"))
            .ok()
    }
}

/// The script itself. why: no cache lifetime, unlike `/static`: shop pages link it without
/// a version, and a stale bridge would be confusing.
struct BridgeScript;

impl<'r> Responder<'r, 'static> for BridgeScript {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        Response::build_from(BRIDGE_JS.respond_to(req)?)
            .header(ContentType::new("application", "javascript").with_params(("charset", "utf-8")))
            .header(Header::new("Cache-Control", "no-cache"))
            .ok()
    }
}

/// `GET /sandbox/jsapi/bridge.js`
#[get("/jsapi/bridge.js")]
fn bridge_js() -> BridgeScript {
    BridgeScript
}

#[options("/jsapi/order")]
fn order_preflight() -> Preflight {
    Preflight
}

#[options("/jsapi/pay")]
fn pay_preflight() -> Preflight {
    Preflight
}

/// The bridge parameters as sent; missing ones are empty, which the checks refuse.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(non_snake_case)] // why: WeChat's JSON keys, verbatim.
struct BridgeParams {
    appId: String,
    timeStamp: String,
    nonceStr: String,
    package: String,
    signType: String,
    paySign: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PayRequest {
    params: BridgeParams,
    action: String,
    /// `location.href` of the page that called the bridge: in WeChat the bridge knows it.
    page_url: String,
}

/// WeChat's first check of `getBrandWCPayRequest`: the calling page must lie in a registered
/// JSAPI payment directory (a multi-level directory matched exactly).
fn check_page(sandbox: &Sandbox, registered: &Registered, page_url: &str) -> Result<(), &'static str> {
    match web_url(page_url) {
        Some(page) if registered.jsapi_page_allowed(&page) => Ok(()),
        _ => {
            let dirs: Vec<&str> = registered.jsapi_dirs.iter().map(url::Url::as_str).collect();
            sandbox.refused(
                "JSAPI 支付授权目录 / JSAPI payment directory",
                format!("{URL_NOT_REGISTERED}: {page_url:?} is not in {}", dirs.join(", ")),
            );
            Err(URL_NOT_REGISTERED)
        }
    }
}

/// `prepay_id=<id>` → the JSAPI order, while its prepay id is valid.
fn prepaid_order(sandbox: &Sandbox, package: &str) -> Result<SbOrder, &'static str> {
    let prepay_id = package.strip_prefix("prepay_id=").ok_or(MISSING_TOTAL_FEE)?;
    let order = order_by_prepay(sandbox, prepay_id).ok_or(MISSING_TOTAL_FEE)?;
    if order.trade_type != "JSAPI" || sandbox.clock.elapsed(order.prepay_issued, PREPAY_TTL) {
        return Err(MISSING_TOTAL_FEE);
    }
    Ok(order)
}

/// `paySign` over exactly appId, nonceStr, package, signType, timeStamp, with the merchant key.
fn pay_sign_ok(p: &BridgeParams, sandbox: &Sandbox) -> bool {
    let params = JsapiPayParams {
        appId: p.appId.clone(),
        timeStamp: p.timeStamp.clone(),
        nonceStr: p.nonceStr.clone(),
        package: p.package.clone(),
        signType: p.signType.clone(),
        paySign: p.paySign.clone(),
    };
    verify_pay_params(&params, &sandbox.merchant.api_key)
}

/// v3: `paySign` is the merchant key's RSA signature of appId, timeStamp, nonceStr, package.
fn pay_sign_v3_ok(p: &BridgeParams, sandbox: &Sandbox) -> bool {
    let Some(v3) = sandbox.v3() else {
        return false;
    };
    let params = crate::wxpay::v3::JsapiPayParams {
        app_id: p.appId.clone(),
        time_stamp: p.timeStamp.clone(),
        nonce_str: p.nonceStr.clone(),
        package: p.package.clone(),
        sign_type: p.signType.clone(),
        pay_sign: p.paySign.clone(),
    };
    crate::wxpay::v3::jsapi::verify_pay_params(&params, &v3.merchant_key)
}

/// WeChat's checks of `getBrandWCPayRequest`; the `err_desc` of the first that fails.
fn check(sandbox: &Sandbox, p: &BridgeParams) -> Result<SbOrder, &'static str> {
    if p.appId != sandbox.merchant.appid {
        return Err(MISSING_TOTAL_FEE);
    }
    let sign_type = SignType::parse(&p.signType);
    if sign_type.is_none() && p.signType != SIGN_TYPE_RSA {
        return Err("signType 无效（MD5、HMAC-SHA256 或 RSA）");
    }
    if p.timeStamp.is_empty() || p.nonceStr.is_empty() || p.paySign.is_empty() {
        return Err("缺少参数 timeStamp / nonceStr / paySign");
    }
    let order = prepaid_order(sandbox, &p.package)?;
    // why: "注意此处需与统一下单的签名类型一致": another algorithm is a wrong signature; a v3
    // prepay_id pays only with an RSA paySign, a v2 one never does
    // (docs/wechat-pay-v3.md#jsapi-paysign).
    let signed = if order.v3.is_some() {
        pay_sign_v3_ok(p, sandbox)
    } else {
        sign_type == Some(order.sign_type) && pay_sign_ok(p, sandbox)
    };
    if !signed {
        return Err(BAD_SIGN);
    }
    match order.state {
        TradeState::NotPay | TradeState::PayError => Ok(order),
        TradeState::Success | TradeState::Refund => Err("该订单已支付"),
        TradeState::Closed => Err("订单已关闭"),
    }
}

fn answer(result: &str, desc: Option<&str>) -> Cors<Json<Value>> {
    let err_msg = format!("get_brand_wcpay_request:{result}");
    Cors(Json(match desc {
        Some(d) => json!({ "err_msg": err_msg, "err_desc": d }),
        None => json!({ "err_msg": err_msg }),
    }))
}

fn pay_error_desc(e: &PayError) -> &'static str {
    match e {
        PayError::NotFound => MISSING_TOTAL_FEE,
        PayError::AlreadyPaid => "该订单已支付",
        PayError::Closed => "订单已关闭",
        PayError::Expired => "订单已过期",
    }
}

/// `POST /sandbox/jsapi/pay` with `{"params": {…bridge params…}, "action": "pay"|"cancel"}`.
///
/// why: the body is read as text and parsed here so that every answer, even to bad JSON,
/// is the bridge's JSON with the CORS header the calling page needs to read it.
#[post("/jsapi/pay", data = "<body>")]
async fn pay(sandbox: &State<Arc<Sandbox>>, registered: Registered, body: String) -> Cors<Json<Value>> {
    let Ok(req) = serde_json::from_str::<PayRequest>(&body) else {
        return answer("fail", Some("请求不是有效的 JSON / body is not valid JSON"));
    };
    if let Err(desc) = check_page(sandbox, &registered, &req.page_url) {
        return answer("fail", Some(desc));
    }
    let order = match check(sandbox, &req.params) {
        Ok(order) => order,
        Err(desc) => return answer("fail", Some(desc)),
    };
    match req.action.as_str() {
        "cancel" => answer("cancel", None),
        "pay" => {
            let openid = order.openid.clone().unwrap_or_default();
            match sandbox.inner().pay(&order.out_trade_no, &openid) {
                Ok(_) => answer("ok", None),
                Err(e) => answer("fail", Some(pay_error_desc(&e))),
            }
        }
        _ => answer("fail", Some("action 只能是 pay 或 cancel")),
    }
}

/// `GET /sandbox/jsapi/order?package=prepay_id%3D…&page_url=…`: what the overlay shows, once
/// the calling page passed WeChat's directory check (WeChat shows no sheet otherwise).
#[get("/jsapi/order?<package>&<page_url>")]
fn order_info(
    sandbox: &State<Arc<Sandbox>>,
    registered: Registered,
    package: Option<&str>,
    page_url: Option<&str>,
) -> Cors<Json<Value>> {
    if let Err(desc) = check_page(sandbox, &registered, page_url.unwrap_or_default()) {
        return Cors(Json(json!({ "ok": false, "err_desc": desc })));
    }
    match prepaid_order(sandbox, package.unwrap_or_default()) {
        Ok(o) => Cors(Json(json!({
            "ok": true,
            "merchant": merchant_label(&o),
            "body": o.body,
            "total_fee": o.total_fee,
            "amount": yuan(o.total_fee),
            "trade_state": o.state.as_str(),
        }))),
        Err(desc) => Cors(Json(json!({ "ok": false, "err_desc": desc }))),
    }
}
