//! unifiedorder, orderquery and closeorder (docs/wechat-pay-v2.md#unifiedorder, #orderquery,
//! #closeorder).
//!
//! Owns the order-level business rules: the limits (docs/wechat-pay-v2.md#limits-and-timings),
//! re-entry of an `out_trade_no` (docs/wechat-pay-v2.md#re-entering-an-order-number), the
//! 5-minute closeorder rule and the field sets of the answers. It changes orders only through
//! the `State` lock and never pays an order (`Sandbox::pay` does).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::data::Data;
use rocket::{State as Managed, post};
use time::OffsetDateTime;

use super::SandboxBase;
use super::wire::{self, Biz, BizError, Needs, Reply, Req};
use crate::sandbox::hosts::OwnHosts;
use crate::sandbox::oauth::openid_belongs_to;
use crate::sandbox::state::{Sandbox, SbOrder, State, TradeState, ids};
use crate::wxpay::messages::{beijing_time, parse_beijing_time};
use crate::wxpay::xml::Fields;

/// The request fields a re-entry must repeat exactly (docs/wechat-pay-v2.md#re-entering-an-order-number;
/// which ones WeChat compares is UNCONFIRMED: these are the ones that change what the buyer
/// pays or what the shop learns).
const COMPARED: [&str; 10] = [
    "total_fee",
    "fee_type",
    "body",
    "trade_type",
    "openid",
    "product_id",
    "attach",
    "notify_url",
    "detail",
    "time_expire",
];

const TRADE_TYPES: [&str; 4] = ["JSAPI", "NATIVE", "MWEB", "APP"];

#[post("/pay/unifiedorder", data = "<data>")]
pub async fn unifiedorder(
    sb: &Managed<Arc<Sandbox>>,
    base: SandboxBase,
    hosts: OwnHosts,
    data: Data<'_>,
) -> Reply {
    let needs = Needs {
        all: &["body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type"],
        one_of: &[],
    };
    wire::serve(sb, data, needs, |req| place(sb, req, &base, &hosts)).await
}

#[post("/pay/orderquery", data = "<data>")]
pub async fn orderquery(sb: &Managed<Arc<Sandbox>>, data: Data<'_>) -> Reply {
    let needs = Needs { all: &[], one_of: &["transaction_id", "out_trade_no"] };
    wire::serve(sb, data, needs, |req| query(&sb.state(), req)).await
}

#[post("/pay/closeorder", data = "<data>")]
pub async fn closeorder(sb: &Managed<Arc<Sandbox>>, data: Data<'_>) -> Reply {
    let needs = Needs { all: &["out_trade_no"], one_of: &[] };
    wire::serve(sb, data, needs, |req| {
        close(sb, req)
            .map(|mut f| {
                f.insert("result_msg", "OK");
                f
            })
            .map_err(|e| e.with("result_msg", "FAIL"))
    })
    .await
}

// ---- unifiedorder -------------------------------------------------------------------------

/// `body`'s limit, in bytes of UTF-8.
const BODY_MAX_BYTES: usize = 128;
/// `scene_info`'s limit, in bytes of UTF-8.
const SCENE_INFO_MAX_BYTES: usize = 256;

fn invalid(des: &str) -> BizError {
    BizError::new("INVALID_REQUEST", des)
}

/// The format rules (docs/wechat-pay-v2.md#request-fields-and-limits). why INVALID_REQUEST:
/// unifiedorder's error table (docs/wechat-pay-v2.md#error-codes) defines it as "参数格式有误
/// 或者未按规则上传", and PARAM_ERROR is not in that table (only in refund's).
fn check_limits(req: &Req, hosts: &OwnHosts) -> Result<(), BizError> {
    let get = |k| req.get(k);
    if !wire::is_trade_no(get("out_trade_no").unwrap_or_default(), 6, 32) {
        return Err(invalid("out_trade_no参数格式错误：6-32位数字、大小写字母或_-|*@"));
    }
    // why bytes: `body` is String(128) and WeChat counts its UTF-8 bytes (42 Chinese
    // characters fit, 43 do not); its answer names the field and nothing more.
    if get("body").is_some_and(|b| b.len() > BODY_MAX_BYTES) {
        return Err(invalid("body参数长度有误"));
    }
    // why bytes here too: `scene_info` is String(256) like `body` is String(128); counting it
    // as WeChat counts `body` refuses what WeChat may refuse, so the shop must fit it.
    if get("scene_info").is_some_and(|b| b.len() > SCENE_INFO_MAX_BYTES) {
        return Err(invalid("scene_info参数长度有误"));
    }
    let lengths = [
        ("attach", 127),
        ("detail", 6144),
        ("nonce_str", 32),
        ("device_info", 32),
        ("product_id", 32),
        ("openid", 128),
    ];
    if let Some((k, max)) = lengths.iter().find(|(k, max)| !wire::char_len_ok(get(k), *max)) {
        return Err(invalid(&format!("{k}参数长度有误，不能超过{max}个字符")));
    }
    if get("total_fee").and_then(wire::parse_fen).is_none() {
        return Err(invalid("total_fee参数格式错误：以分为单位的正整数"));
    }
    if get("fee_type").is_some_and(|f| f != "CNY") {
        return Err(invalid("fee_type参数错误：境内商户只支持CNY"));
    }
    if !get("notify_url").is_some_and(wire::is_notify_url) {
        return Err(invalid("notify_url参数格式错误：须为不超过256个字符、不带参数的http(s)地址"));
    }
    wire::check_notify_host(get("notify_url"), hosts)?;
    if !get("trade_type").is_some_and(|t| TRADE_TYPES.contains(&t)) {
        return Err(invalid("trade_type参数错误"));
    }
    let ip = get("spbill_create_ip").unwrap_or_default();
    if ip.len() > 64 || ip.parse::<std::net::IpAddr>().is_err() {
        return Err(invalid("spbill_create_ip参数格式错误"));
    }
    for k in ["time_start", "time_expire"] {
        if get(k).is_some_and(|t| parse_beijing_time(t).is_none()) {
            return Err(invalid(&format!("{k}参数格式错误：yyyyMMddHHmmss")));
        }
    }
    Ok(())
}

/// A new order's time_expire must be at least 1 minute ahead (the current doc's figure),
/// scaled like every sandbox duration.
///
/// why new orders only: a re-entry repeats the first request's time_expire, which was far
/// enough ahead then; refusing it now would break the documented refresh
/// (docs/wechat-pay-v2.md#re-entering-an-order-number). An order past its time_expire still
/// cannot be paid (`Sandbox::pay` checks).
fn check_expire_ahead(req: &Req, clock: &crate::sandbox::state::Clock) -> Result<(), BizError> {
    let Some(expire) = req.get("time_expire").and_then(parse_beijing_time) else {
        return Ok(());
    };
    if expire < clock.now_utc() + clock.scaled(Duration::from_secs(60)) {
        return Err(invalid("time_expire时间过短，最短失效时间间隔须大于1分钟"));
    }
    Ok(())
}

/// Per trade type (docs/wechat-pay-v2.md#request-fields-and-limits). why LACK_PARAMS: the
/// field is absent, and the error table has a code for exactly that; a present but broken
/// `scene_info` is a format error (INVALID_REQUEST).
fn check_trade_type(req: &Req) -> Result<(), BizError> {
    let lack = |des: &str| BizError::new("LACK_PARAMS", des);
    let appid = req.get("appid").unwrap_or_default();
    match req.get("trade_type").unwrap_or_default() {
        "JSAPI" if req.get("openid").is_none() => Err(lack("JSAPI支付必须传openid")),
        // why: an openid is per official account; one learned under another appid (or made
        // up) is refused by WeChat with this PARAM_ERROR.
        "JSAPI" if !req.get("openid").is_some_and(|o| openid_belongs_to(appid, o)) => {
            Err(BizError::new("PARAM_ERROR", "appid和openid不匹配"))
        }
        "NATIVE" if req.get("product_id").is_none() => Err(lack("NATIVE支付必须传product_id")),
        "MWEB" => match req.get("scene_info") {
            None => Err(lack("MWEB支付必须传scene_info")),
            Some(s) if !has_h5_info(s) => Err(invalid("scene_info参数格式错误：须为含h5_info的JSON")),
            Some(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

fn has_h5_info(scene_info: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(scene_info)
        .is_ok_and(|v| v.get("h5_info").is_some_and(|h| h.is_object()))
}

fn compared_params(req: &Req) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> =
        COMPARED.iter().filter_map(|k| req.get(k).map(|v| ((*k).to_owned(), v.to_owned()))).collect();
    // why: an absent fee_type means CNY; sending it the second time is not a different order.
    params.entry("fee_type".to_owned()).or_insert_with(|| "CNY".to_owned());
    params
}

/// WeChat documents that a notify URL must be https on a public domain and is called on the
/// default port, but not what unifiedorder answers otherwise: the sandbox lets such a URL
/// through and warns (a loopback shop under test is exempt), rather than invent an error.
fn warn_notify_url(sb: &Sandbox, notify_url: &str) {
    let Ok(url) = url::Url::parse(notify_url) else { return };
    if crate::sandbox::hosts::is_loopback(&url) {
        return;
    }
    if url.scheme() != "https" {
        sb.warned(NOTIFY_URL, format!("{notify_url}: live WeChat requires https for a public notify URL"));
    } else if url.port().is_some() {
        sb.warned(NOTIFY_URL, format!("{notify_url}: live WeChat calls notify URLs on port 443 only"));
    }
}

const NOTIFY_URL: &str = "通知地址 / notify_url";

fn place(sb: &Sandbox, req: &Req, base: &SandboxBase, hosts: &OwnHosts) -> Biz {
    if let Err(e) = check_limits(req, hosts) {
        if e.des.starts_with("notify_url") {
            sb.refused(NOTIFY_URL, format!("{:?}: {}", req.get("notify_url").unwrap_or_default(), e.des));
        }
        return Err(e);
    }
    check_trade_type(req)?;
    warn_notify_url(sb, req.get("notify_url").unwrap_or_default());
    let out_trade_no = req.get("out_trade_no").unwrap_or_default().to_owned();
    let mut st = sb.state();
    if st.orders.contains_key(&out_trade_no) {
        reenter(&mut st, req, &out_trade_no, sb.clock.now_utc())?;
    } else {
        check_expire_ahead(req, &sb.clock)?;
        st.insert_order(new_order(req, &out_trade_no, sb.clock.now_utc()));
    }
    let order = st.orders.get(&out_trade_no).ok_or_else(|| BizError::new("SYSTEMERROR", "系统错误"))?;
    Ok(prepay_fields(order, base))
}

/// Same `out_trade_no` again (docs/wechat-pay-v2.md#re-entering-an-order-number): identical
/// parameters refresh the prepay; anything else is "201 商户订单号重复"; a paid or closed order
/// says so.
fn reenter(st: &mut State, req: &Req, out_trade_no: &str, now: OffsetDateTime) -> Result<(), BizError> {
    let params = compared_params(req);
    let order = st.orders.get_mut(out_trade_no).ok_or_else(|| BizError::new("SYSTEMERROR", "系统错误"))?;
    match order.state {
        TradeState::Success | TradeState::Refund => return Err(BizError::new("ORDERPAID", "该订单已支付")),
        TradeState::Closed => return Err(BizError::new("ORDERCLOSED", "该订单已关闭")),
        TradeState::NotPay | TradeState::PayError => {}
    }
    if order.params != params {
        return Err(invalid("201 商户订单号重复"));
    }
    let replaced = std::mem::replace(&mut order.prepay_id, ids::prepay_id(now));
    order.prepay_issued = Instant::now();
    // why: a printed QR code keeps working; an H5 link is good for 5 minutes, so it is new.
    if order.mweb_package.is_some() {
        order.mweb_package = Some(ids::numeric(10));
    }
    order.sign_type = req.sign_type;
    order.spbill_create_ip = req.get("spbill_create_ip").unwrap_or_default().to_owned();
    let (prepay, no) = (order.prepay_id.clone(), order.out_trade_no.clone());
    // why: the replaced id would otherwise stay in the index for good, one per re-entry.
    st.by_prepay.remove(&replaced);
    st.by_prepay.insert(prepay, no);
    Ok(())
}

fn new_order(req: &Req, out_trade_no: &str, now: OffsetDateTime) -> SbOrder {
    let opt = |k: &str| req.get(k).map(str::to_owned);
    let trade_type = req.get("trade_type").unwrap_or_default().to_owned();
    SbOrder {
        out_trade_no: out_trade_no.to_owned(),
        total_fee: req.get("total_fee").and_then(wire::parse_fen).unwrap_or_default(),
        fee_type: opt("fee_type").unwrap_or_else(|| "CNY".to_owned()),
        body: opt("body").unwrap_or_default(),
        attach: opt("attach"),
        notify_url: opt("notify_url").unwrap_or_default(),
        openid: opt("openid"),
        product_id: opt("product_id"),
        scene_info: opt("scene_info"),
        spbill_create_ip: opt("spbill_create_ip").unwrap_or_default(),
        device_info: opt("device_info"),
        sign_type: req.sign_type,
        time_expire: req.get("time_expire").and_then(parse_beijing_time),
        params: compared_params(req),
        created: Instant::now(),
        created_utc: now,
        prepay_id: ids::prepay_id(now),
        prepay_issued: Instant::now(),
        code_pr: (trade_type == "NATIVE").then(|| ids::alnum(7)),
        mweb_package: (trade_type == "MWEB").then(|| ids::numeric(10)),
        trade_type,
        state: TradeState::NotPay,
        payment: None,
        refunds: Vec::new(),
        v3: None,
    }
}

fn prepay_fields(order: &SbOrder, base: &SandboxBase) -> Fields {
    let mut f = Fields::new();
    f.insert("prepay_id", order.prepay_id.as_str());
    f.insert("trade_type", order.trade_type.as_str());
    if let Some(pr) = &order.code_pr {
        f.insert("code_url", format!("weixin://wxpay/bizpayurl?pr={pr}"));
    }
    if let Some(package) = &order.mweb_package {
        let path = format!("cgi-bin/mmpayweb-bin/checkmweb?prepay_id={}&package={package}", order.prepay_id);
        f.insert("mweb_url", base.join(&path));
    }
    f
}

// ---- orderquery -----------------------------------------------------------------------------

/// The order a query names: `transaction_id` wins over `out_trade_no`
/// (docs/wechat-pay-v2.md#orderquery).
pub fn find_order<'s>(st: &'s State, req: &Req) -> Option<&'s SbOrder> {
    match req.get("transaction_id") {
        Some(tx) => st.by_transaction.get(tx).and_then(|no| st.orders.get(no)),
        None => st.orders.get(req.get("out_trade_no").unwrap_or_default()),
    }
}

fn not_exist() -> BizError {
    BizError::new("ORDERNOTEXIST", "order not exist")
}

fn query(st: &State, req: &Req) -> Biz {
    let order = find_order(st, req).ok_or_else(not_exist)?;
    let mut f = Fields::new();
    f.insert("out_trade_no", order.out_trade_no.as_str());
    f.insert("total_fee", order.total_fee.to_string());
    f.insert("trade_state", order.state.as_str());
    f.insert("trade_state_desc", order.state.desc());
    if let Some(p) = &order.payment {
        // why: paid states carry the full EX-10 set; unpaid ones only the EX-11 subset
        // (docs/wechat-pay-v2.md#orderquery; the EX-n labels: #example-messages).
        f.insert("openid", p.openid.as_str());
        f.insert("is_subscribe", "N");
        f.insert("trade_type", order.trade_type.as_str());
        f.insert("bank_type", p.bank_type.as_str());
        f.insert("fee_type", order.fee_type.as_str());
        f.insert("cash_fee", order.total_fee.to_string());
        f.insert("cash_fee_type", "CNY");
        f.insert("transaction_id", p.transaction_id.as_str());
        f.insert_opt("attach", order.attach.as_deref());
        f.insert("time_end", beijing_time(p.time_end));
    }
    Ok(f)
}

// ---- closeorder -----------------------------------------------------------------------------

fn close(sb: &Sandbox, req: &Req) -> Biz {
    let mut st = sb.state();
    let order = st.orders.get_mut(req.get("out_trade_no").unwrap_or_default()).ok_or_else(not_exist)?;
    match order.state {
        TradeState::Success | TradeState::Refund => {
            return Err(BizError::new("ORDERPAID", "订单已支付，不能发起关单"));
        }
        TradeState::Closed => return Err(BizError::new("ORDERCLOSED", "订单已关闭，无需重复关单")),
        TradeState::NotPay | TradeState::PayError => {}
    }
    // What WeChat answers inside the first 5 minutes is UNCONFIRMED
    // (docs/wechat-pay-v2.md#closeorder). why TRADE_STATE_ERROR: WxJava lists it for
    // closeorder, and it is neither SYSTEMERROR (which SDKs retry at once, in a loop) nor
    // ORDERNOTEXIST/ORDERCLOSED (which a shop could read as "closed"); the des tells the shop
    // to try again later.
    if !sb.clock.elapsed(order.created, Duration::from_secs(5 * 60)) {
        return Err(BizError::new(
            "TRADE_STATE_ERROR",
            "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟",
        ));
    }
    order.state = TradeState::Closed;
    Ok(Fields::new())
}
