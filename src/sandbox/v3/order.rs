//! JSAPI / H5 / Native ordering, the two queries and closing, in v3
//! (docs/wechat-pay-v3.md#the-sandboxs-v3-side).
//!
//! Owns the v3 body rules (required fields, types, lengths, amounts, notify_url, payer), the
//! re-entry of an `out_trade_no` and the Transaction object of the answers. It changes orders
//! only through the `State` lock and never pays one (`Sandbox::pay` does).

use std::sync::Arc;
use std::time::Instant;

use rocket::data::Data;
use rocket::http::Status;
use rocket::{State as Managed, get, post};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::wire::{self, V3Error, V3Head, V3Reply};
use super::{KeyMode, V3Side};
use crate::sandbox::gateway::SandboxBase;
use crate::sandbox::hosts::{OwnHosts, is_loopback};
use crate::sandbox::oauth::openid_belongs_to;
use crate::sandbox::state::{Sandbox, SbOrder, TradeState, V3Order, ids};
use crate::wxpay::SignType;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![jsapi, h5, native, query_by_out_trade_no, query_by_id, close]
}

/// The products of v3 ordering, and the `trade_type` each becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Product {
    Jsapi,
    H5,
    Native,
}

impl Product {
    fn trade_type(self) -> &'static str {
        match self {
            Product::Jsapi => "JSAPI",
            Product::H5 => "MWEB",
            Product::Native => "NATIVE",
        }
    }
}

#[post("/v3/pay/transactions/jsapi", data = "<data>")]
async fn jsapi(
    sb: &Managed<Arc<Sandbox>>,
    b: SandboxBase,
    h: OwnHosts,
    head: V3Head,
    data: Data<'_>,
) -> V3Reply {
    place(sb, &b, &h, &head, data, Product::Jsapi).await
}

#[post("/v3/pay/transactions/h5", data = "<data>")]
async fn h5(
    sb: &Managed<Arc<Sandbox>>,
    b: SandboxBase,
    h: OwnHosts,
    head: V3Head,
    data: Data<'_>,
) -> V3Reply {
    place(sb, &b, &h, &head, data, Product::H5).await
}

#[post("/v3/pay/transactions/native", data = "<data>")]
async fn native(
    sb: &Managed<Arc<Sandbox>>,
    b: SandboxBase,
    h: OwnHosts,
    head: V3Head,
    data: Data<'_>,
) -> V3Reply {
    place(sb, &b, &h, &head, data, Product::Native).await
}

#[get("/v3/pay/transactions/out-trade-no/<out_trade_no>?<mchid>")]
async fn query_by_out_trade_no(
    sb: &Managed<Arc<Sandbox>>,
    head: V3Head,
    out_trade_no: &str,
    mchid: Option<&str>,
) -> V3Reply {
    answer(sb, |v3, now| {
        let signer = wire::authenticate(sb, v3, &head, b"", now)?;
        wire::system_fault(sb)?;
        check_query_mchid(mchid, &signer)?;
        let st = sb.state();
        let order = st.orders.get(out_trade_no).filter(|o| placed_on_v3(o)).ok_or_else(V3Error::not_exist)?;
        Ok(V3Reply::json(v3, now, &transaction(sb, order)))
    })
}

#[get("/v3/pay/transactions/id/<transaction_id>?<mchid>")]
async fn query_by_id(
    sb: &Managed<Arc<Sandbox>>,
    head: V3Head,
    transaction_id: &str,
    mchid: Option<&str>,
) -> V3Reply {
    answer(sb, |v3, now| {
        let signer = wire::authenticate(sb, v3, &head, b"", now)?;
        wire::system_fault(sb)?;
        check_query_mchid(mchid, &signer)?;
        let st = sb.state();
        let no = st.by_transaction.get(transaction_id).ok_or_else(V3Error::not_exist)?;
        let order = st.orders.get(no).ok_or_else(V3Error::not_exist)?;
        Ok(V3Reply::json(v3, now, &transaction(sb, order)))
    })
}

#[post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close", data = "<data>")]
async fn close(sb: &Managed<Arc<Sandbox>>, head: V3Head, out_trade_no: &str, data: Data<'_>) -> V3Reply {
    let body = match wire::read_body(data).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    answer(sb, |v3, now| {
        let signer = wire::authenticate(sb, v3, &head, &body, now)?;
        wire::system_fault(sb)?;
        let req = wire::json_object(&body)?;
        let mchid = req_str(&req, "mchid", 32)?;
        check_body_mchid(mchid, &signer)?;
        let mut st = sb.state();
        let order =
            st.orders.get_mut(out_trade_no).filter(|o| placed_on_v3(o)).ok_or_else(V3Error::not_exist)?;
        match order.state {
            TradeState::Success | TradeState::Refund => return Err(order_paid()),
            // why no error: closing is re-entrant in v3 (skills: "关单接口可重入").
            TradeState::Closed => {}
            // why no 5-minute rule here: the v3 close page sets no minimum (the v2 one did).
            TradeState::NotPay | TradeState::PayError => order.state = TradeState::Closed,
        }
        Ok(V3Reply::no_content(v3, now))
    })
}

/// Runs `f` with the v3 side and the current Unix time; errors become their answers.
pub(super) fn answer(sb: &Sandbox, f: impl FnOnce(&Arc<V3Side>, i64) -> Result<V3Reply, V3Error>) -> V3Reply {
    let Some(v3) = sb.v3() else {
        return V3Error::system().into();
    };
    f(v3, sb.clock.now_utc().unix_timestamp()).unwrap_or_else(V3Reply::Err)
}

/// Whether an order was placed through v3. why: WeChat wants an order queried and closed in
/// the version that created it (v3 close is reported to fail on v2 orders); the sandbox takes
/// the strict reading and does not know a v2 order by its v3 query or close, so a shop that
/// switched versions must ask about its older orders through v2.
fn placed_on_v3(o: &crate::sandbox::state::SbOrder) -> bool {
    o.v3.is_some()
}

fn order_paid() -> V3Error {
    // The status of "订单已支付" is UNCONFIRMED (docs/wechat-pay-v3.md#the-sandboxs-v3-side);
    // why 400: it is a request the order's state forbids, like ORDER_CLOSED, which is 400.
    V3Error::new(Status::BadRequest, "ORDER_PAID", "订单已支付")
}

fn check_query_mchid(mchid: Option<&str>, signer: &str) -> Result<(), V3Error> {
    match mchid {
        None | Some("") => Err(V3Error::param("mchid", "query", "mchid is required")),
        Some(m) if m != signer => Err(V3Error::param_msg("mchid不匹配")),
        Some(_) => Ok(()),
    }
}

fn check_body_mchid(mchid: &str, signer: &str) -> Result<(), V3Error> {
    if mchid != signer {
        return Err(V3Error::param_msg("http header中的mchid与post payload中的mchid不匹配"));
    }
    Ok(())
}

// ---- ordering -------------------------------------------------------------------------------

async fn place(
    sb: &Arc<Sandbox>,
    base: &SandboxBase,
    hosts: &OwnHosts,
    head: &V3Head,
    data: Data<'_>,
    product: Product,
) -> V3Reply {
    let body = match wire::read_body(data).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    answer(sb, |v3, now| {
        let signer = wire::authenticate(sb, v3, head, &body, now)?;
        wire::system_fault(sb)?;
        let req = wire::json_object(&body)?;
        let order = check_order(&req, product, hosts).inspect_err(|e| log_notify_url_refusal(sb, &req, e))?;
        check_body_mchid(order.mchid, &signer)?;
        if order.appid != sb.merchant.appid {
            return Err(V3Error::new(Status::BadRequest, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配"));
        }
        if let Some(openid) = order.openid {
            // why: an openid is per appid; one issued under another appid (or made up) is refused.
            if !openid_belongs_to(order.appid, openid) {
                return Err(V3Error::param_msg("appid和openid不匹配"));
            }
        }
        let out_trade_no = order.out_trade_no.to_owned();
        let wall = sb.clock.now_utc();
        let mut st = sb.state();
        if st.orders.contains_key(&out_trade_no) {
            reenter(&mut st, &req, &out_trade_no, wall)?;
        } else {
            let time_expire = order.time_expire.map(|t| clamp_expire(t, &sb.clock));
            let mode = head.mode(v3);
            st.insert_order(new_order(&OrderReq { time_expire, ..order }, &req, product, wall, mode));
        }
        let o = st.orders.get(&out_trade_no).ok_or_else(V3Error::system)?;
        Ok(V3Reply::json(v3, now, &prepay_answer(o, product, base)))
    })
}

/// A new order's `time_expire` less than 1 minute ahead is moved to 1 minute, more than 90
/// days ahead to 90 days, both scaled like every sandbox duration.
///
/// why not refused: the v3 JSAPI下单 page says WeChat adjusts it silently (v2 refused a short one).
fn clamp_expire(t: OffsetDateTime, clock: &crate::sandbox::state::Clock) -> OffsetDateTime {
    let now = clock.now_utc();
    let earliest = now + clock.scaled(std::time::Duration::from_secs(60));
    let latest = now + clock.scaled(std::time::Duration::from_secs(90 * 24 * 60 * 60));
    t.clamp(earliest, latest)
}

/// A refused notify_url goes on the sandbox home page's refusal log, as in v2: it is the
/// mistake a shop moving to the sandbox makes first.
fn log_notify_url_refusal(sb: &Sandbox, req: &Map<String, Value>, e: &V3Error) {
    let field = e.detail.as_ref().and_then(|d| d.get("field")).and_then(Value::as_str);
    if field == Some("/notify_url") {
        let url = req.get("notify_url").map(Value::to_string).unwrap_or_default();
        let issue =
            e.detail.as_ref().and_then(|d| d.get("issue")).and_then(Value::as_str).unwrap_or_default();
        sb.refused("通知地址 / notify_url (v3)", format!("{url}: {issue}"));
    }
}

/// A checked order request (borrowing the body).
struct OrderReq<'a> {
    appid: &'a str,
    mchid: &'a str,
    description: &'a str,
    out_trade_no: &'a str,
    notify_url: &'a str,
    attach: Option<&'a str>,
    total: u64,
    openid: Option<&'a str>,
    payer_client_ip: Option<&'a str>,
    time_expire: Option<OffsetDateTime>,
}

/// The body's rules, field by field in the documented order (docs/wechat-pay-v3.md#the-sandboxs-v3-side).
fn check_order<'a>(
    req: &'a Map<String, Value>,
    product: Product,
    hosts: &OwnHosts,
) -> Result<OrderReq<'a>, V3Error> {
    let appid = req_str(req, "appid", 32)?;
    let mchid = req_str(req, "mchid", 32)?;
    let description = req_str(req, "description", 127)?;
    let out_trade_no = req_str(req, "out_trade_no", 32)?;
    if !is_out_trade_no(out_trade_no) {
        return Err(V3Error::param("/out_trade_no", "body", "6-32 characters: digits, letters, _ - | *"));
    }
    let time_expire = match opt_str(req, "time_expire", 64)? {
        None => None,
        Some(t) => Some(
            OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|_| V3Error::param("/time_expire", "body", "not an RFC 3339 time"))?,
        ),
    };
    let attach = opt_str(req, "attach", 128)?;
    let notify_url = req_str(req, "notify_url", 255)?;
    check_notify_url(notify_url, hosts)?;
    opt_str(req, "goods_tag", 32)?;
    if req.get("support_fapiao").is_some_and(|v| !v.is_boolean()) {
        return Err(V3Error::param("/support_fapiao", "body", "must be a boolean"));
    }
    let total = check_amount(req)?;
    let openid = match product {
        Product::Jsapi => Some(check_payer(req)?),
        Product::H5 | Product::Native => None,
    };
    let payer_client_ip = check_scene_info(req, product)?;
    Ok(OrderReq {
        appid,
        mchid,
        description,
        out_trade_no,
        notify_url,
        attach,
        total,
        openid,
        payer_client_ip,
        time_expire,
    })
}

fn pointer(path: &str) -> String {
    format!("/{path}")
}

/// A required string of at most `max` characters (`path` may be `a/b`).
pub(super) fn req_str<'a>(req: &'a Map<String, Value>, path: &str, max: usize) -> Result<&'a str, V3Error> {
    opt_str(req, path, max)?.ok_or_else(|| V3Error::param(&pointer(path), "body", "is required"))
}

pub(super) fn lookup<'a>(req: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('/');
    let first = req.get(parts.next()?)?;
    parts.try_fold(first, |v, p| v.get(p))
}

pub(super) fn opt_str<'a>(
    req: &'a Map<String, Value>,
    path: &str,
    max: usize,
) -> Result<Option<&'a str>, V3Error> {
    let field = pointer(path);
    match lookup(req, path) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(V3Error::param(&field, "body", "must not be empty")),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(V3Error::param(&field, "body", format!("at most {max} characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        // why: the rules page forbids null; a null is a wrong type, not an absent field.
        Some(_) => Err(V3Error::param(&field, "body", "must be a string")),
    }
}

fn is_out_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

/// `https` on a host the sandbox may notify, at most 255 characters, no query. why http on
/// loopback: a shop under test listens there without TLS (the v2 gateway allows it too).
pub(super) fn check_notify_url(notify_url: &str, hosts: &OwnHosts) -> Result<(), V3Error> {
    let bad = |issue: &str| V3Error::param("/notify_url", "body", issue);
    let url = url::Url::parse(notify_url).map_err(|_| bad("not a URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not carry query parameters"));
    }
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(bad("must be an https URL"));
    }
    if !hosts.may_notify(&url) {
        return Err(bad(
            "the sandbox only notifies its own shop (loopback, public_url or this server's address)",
        ));
    }
    Ok(())
}

fn check_amount(req: &Map<String, Value>) -> Result<u64, V3Error> {
    let Some(amount) = req.get("amount") else {
        return Err(V3Error::param("/amount", "body", "is required"));
    };
    if !amount.is_object() {
        return Err(V3Error::param("/amount", "body", "must be an object"));
    }
    let total = match amount.get("total") {
        None => return Err(V3Error::param("/amount/total", "body", "is required")),
        Some(v) => v.as_u64().filter(|t| *t >= 1 && *t <= i64::MAX as u64),
    };
    let total = total
        .ok_or_else(|| V3Error::param("/amount/total", "body", "an integer number of fen, at least 1"))?;
    match amount.get("currency") {
        None => {}
        Some(Value::String(c)) if c == "CNY" => {}
        Some(_) => return Err(V3Error::param("/amount/currency", "body", "Currency code is invalid")),
    }
    Ok(total)
}

fn check_payer(req: &Map<String, Value>) -> Result<&str, V3Error> {
    match req.get("payer") {
        None => Err(V3Error::param_msg("JSAPI支付必须传openid")),
        Some(p) if !p.is_object() => Err(V3Error::param("/payer", "body", "must be an object")),
        Some(_) => {
            opt_str(req, "payer/openid", 128)?.ok_or_else(|| V3Error::param_msg("JSAPI支付必须传openid"))
        }
    }
}

/// `scene_info`: optional but whole for JSAPI/Native, required with `h5_info` for H5.
fn check_scene_info(req: &Map<String, Value>, product: Product) -> Result<Option<&str>, V3Error> {
    let Some(scene) = req.get("scene_info") else {
        if product == Product::H5 {
            return Err(V3Error::param("/scene_info", "body", "is required"));
        }
        return Ok(None);
    };
    if !scene.is_object() {
        return Err(V3Error::param("/scene_info", "body", "must be an object"));
    }
    let ip = req_str(req, "scene_info/payer_client_ip", 45)?;
    if ip.parse::<std::net::IpAddr>().is_err() {
        return Err(V3Error::param("/scene_info/payer_client_ip", "body", "not an IPv4 or IPv6 address"));
    }
    opt_str(req, "scene_info/device_id", 32)?;
    if product == Product::H5 {
        if !lookup(req, "scene_info/h5_info").is_some_and(Value::is_object) {
            return Err(V3Error::param("/scene_info/h5_info", "body", "is required"));
        }
        let kind = req_str(req, "scene_info/h5_info/type", 32)?;
        if !["iOS", "Android", "Wap"].contains(&kind) {
            return Err(V3Error::param("/scene_info/h5_info/type", "body", "one of iOS, Android, Wap"));
        }
    }
    Ok(Some(ip))
}

/// Same `out_trade_no` again: the same body refreshes the prepay (a Native order gets a new
/// code, the old one dies); a different one is `OUT_TRADE_NO_USED`; a paid or closed order says so.
fn reenter(
    st: &mut crate::sandbox::state::State,
    req: &Map<String, Value>,
    out_trade_no: &str,
    now: OffsetDateTime,
) -> Result<(), V3Error> {
    let order = st.orders.get_mut(out_trade_no).ok_or_else(V3Error::system)?;
    match order.state {
        TradeState::Success | TradeState::Refund => return Err(order_paid()),
        TradeState::Closed => return Err(V3Error::new(Status::BadRequest, "ORDER_CLOSED", "订单已关闭")),
        TradeState::NotPay | TradeState::PayError => {}
    }
    let same = order.v3.as_ref().is_some_and(|v| v.request == Value::Object(req.clone()));
    if !same {
        return Err(V3Error::new(Status::Forbidden, "OUT_TRADE_NO_USED", "商户订单号重复"));
    }
    let old_prepay = std::mem::replace(&mut order.prepay_id, ids::prepay_id(now));
    order.prepay_issued = Instant::now();
    let old_pr = order.code_pr.as_mut().map(|pr| std::mem::replace(pr, ids::alnum(9)));
    if order.mweb_package.is_some() {
        order.mweb_package = Some(ids::numeric(10));
    }
    let (prepay, pr, no) = (order.prepay_id.clone(), order.code_pr.clone(), order.out_trade_no.clone());
    st.by_prepay.remove(&old_prepay);
    st.by_prepay.insert(prepay, no.clone());
    if let (Some(old), Some(new)) = (old_pr, pr) {
        st.by_code.remove(&old);
        st.by_code.insert(new, no);
    }
    Ok(())
}

fn new_order(
    o: &OrderReq<'_>,
    req: &Map<String, Value>,
    product: Product,
    now: OffsetDateTime,
    key_mode: KeyMode,
) -> SbOrder {
    SbOrder {
        out_trade_no: o.out_trade_no.to_owned(),
        trade_type: product.trade_type().to_owned(),
        total_fee: o.total,
        fee_type: "CNY".to_owned(),
        body: o.description.to_owned(),
        attach: o.attach.map(str::to_owned),
        notify_url: o.notify_url.to_owned(),
        openid: o.openid.map(str::to_owned),
        product_id: None,
        scene_info: req.get("scene_info").map(Value::to_string),
        spbill_create_ip: o.payer_client_ip.unwrap_or_default().to_owned(),
        device_info: None,
        // why: the v2 field is unused for v3 orders (their notifications are RSA-signed).
        sign_type: SignType::HmacSha256,
        time_expire: o.time_expire,
        params: Default::default(),
        created: Instant::now(),
        created_utc: now,
        prepay_id: ids::prepay_id(now),
        prepay_issued: Instant::now(),
        code_pr: (product == Product::Native).then(|| ids::alnum(9)),
        mweb_package: (product == Product::H5).then(|| ids::numeric(10)),
        state: TradeState::NotPay,
        payment: None,
        refunds: Vec::new(),
        v3: Some(V3Order { request: Value::Object(req.clone()), key_mode }),
    }
}

fn prepay_answer(o: &SbOrder, product: Product, base: &SandboxBase) -> Value {
    match product {
        Product::Jsapi => json!({"prepay_id": o.prepay_id}),
        Product::Native => {
            json!({"code_url": format!("weixin://wxpay/bizpayurl?pr={}", o.code_pr.clone().unwrap_or_default())})
        }
        Product::H5 => {
            let path = format!(
                "cgi-bin/mmpayweb-bin/checkmweb?prepay_id={}&package={}",
                o.prepay_id,
                o.mweb_package.clone().unwrap_or_default()
            );
            json!({"h5_url": base.join(&path)})
        }
    }
}

/// RFC 3339 in Beijing time, whole seconds: `2026-11-30T17:00:00+08:00`.
pub fn beijing_rfc3339(t: OffsetDateTime) -> String {
    let beijing = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    t.to_offset(beijing).replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
}

/// The Transaction object of a query (and of the payment notification).
pub fn transaction(sb: &Sandbox, o: &SbOrder) -> Value {
    let mut t = json!({
        "appid": sb.merchant.appid,
        "mchid": sb.merchant.mch_id,
        "out_trade_no": o.out_trade_no,
        "trade_state": o.state.as_str(),
        "trade_state_desc": o.state.desc(),
        "amount": {"total": o.total_fee, "currency": "CNY"},
    });
    if let Some(p) = &o.payment {
        t["transaction_id"] = json!(p.transaction_id);
        t["trade_type"] = json!(o.trade_type);
        t["bank_type"] = json!(p.bank_type);
        t["success_time"] = json!(beijing_rfc3339(p.time_end));
        t["payer"] = json!({"openid": p.openid});
        t["amount"] = json!({"total": o.total_fee, "payer_total": o.total_fee, "currency": "CNY", "payer_currency": "CNY"});
        if let Some(a) = &o.attach {
            t["attach"] = json!(a);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_expire_too_close_or_too_far_is_moved_inside_one_minute_to_ninety_days() {
        let clock = crate::sandbox::state::Clock::new(1.0, crate::clock::Clock::system());
        let now = clock.now_utc();
        let soon = clamp_expire(now, &clock);
        assert!(soon >= now + time::Duration::seconds(60) && soon < now + time::Duration::seconds(70));
        let far = clamp_expire(now + time::Duration::days(400), &clock);
        assert!(far <= now + time::Duration::days(91) && far > now + time::Duration::days(89));
        let fine = now + time::Duration::days(2);
        assert_eq!(clamp_expire(fine, &clock), fine);
    }

    #[test]
    fn out_trade_numbers_take_six_to_thirty_two_of_the_documented_characters() {
        assert!(is_out_trade_no("ORD_2024-01|*"));
        assert!(!is_out_trade_no("ORD@2024"), "v2 allowed @, v3 does not");
        assert!(!is_out_trade_no("short"));
        assert!(!is_out_trade_no(&"x".repeat(33)));
    }
}
