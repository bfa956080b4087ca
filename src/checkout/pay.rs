//! Starting to pay an order on a channel: the attempts of docs/architecture.md#orders-and-attempts
//! (why one attempt per `out_trade_no`: docs/decisions.md#one-attempt-per-out_trade_no).
//!
//! Owns when a prepay is reused, renewed with identical parameters, or replaced by a new
//! attempt (after querying and closing the old ones), the `unifiedorder` parameters, and how
//! WeChat's errors are recorded and classified. It never marks an order paid by itself: a
//! payment found on the way goes through `apply_payment`, the one path for results.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use time::OffsetDateTime;
use url::Url;

use crate::domain::order::PrepayRequest;
use crate::domain::{
    ApiVersion, Attempt, AttemptState, Channel, Event, EventKind, EventSource, Order, OrderStatus,
};
use crate::wxpay::jsapi::JsapiPayParams;
use crate::wxpay::messages::h5_wap_scene_info;
use crate::wxpay::messages::{TradeKind, UnifiedOrder};
use crate::wxpay::{self, xml};

use super::gateway::Prepay;
use super::{Checkout, CheckoutError, Refused};

mod settle;

/// "mweb_url的有效期为5分钟".
const MWEB_TTL: i64 = 5 * 60;
/// "prepay_id … 有效期为2小时"; `code_url` too.
const PREPAY_TTL: i64 = 2 * 60 * 60;
/// why: a link handed out a moment before it expires would fail in the buyer's hands.
const MARGIN: i64 = 30;
/// `time_expire` is at least this far ahead when an attempt starts (WeChat wants > 1 minute,
/// older docs 5; the buyer needs a few to pay).
const MIN_EXPIRE_AHEAD: i64 = 6 * 60;
/// A renewal resends the stored `time_expire`; closer than this, WeChat would refuse it as
/// too short, so a new attempt (with a new one) is started instead.
const RENEW_MIN_AHEAD: i64 = 2 * 60;
/// What the payer sees the payment as: v2's `body` is String(128), counted in bytes of UTF-8
/// (a Chinese character takes 3; "body参数长度有误" past it), and v3's `description` at most
/// 127 characters ("不能超过127个字符"). 127 bytes are within both, on either version. WeChat
/// refuses characters outside the 1–3 byte range.
pub const BODY_MAX_BYTES: usize = 127;

/// What the pay page needs to hand the buyer to WeChat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayStart {
    /// In WeChat: the bridge parameters for `getBrandWCPayRequest`, with `paySign`.
    Jsapi(JsapiPayParams),
    /// A phone browser: the cashier link (the page adds `redirect_url`).
    Mweb { mweb_url: String },
    /// A desktop: the `weixin://` link to show as a QR code.
    Native { code_url: String },
}

/// What the buyer should be told about a WeChat error (the web layer words it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WechatProblem {
    /// No answer, SYSTEMERROR, an unreadable answer: try again in a moment.
    Unavailable,
    /// WeChat says this order is closed.
    Closed,
    /// The merchant's settings are wrong (credentials, permissions, parameters): the
    /// buyer can do nothing but tell the shop.
    Config,
}

/// Classifies an error of a WeChat call for the buyer.
pub fn wechat_problem(e: &wxpay::Error) -> WechatProblem {
    use wxpay::Error as E;
    match e {
        _ if e.is_retryable() => WechatProblem::Unavailable,
        E::Business { err_code, .. } if err_code == "ORDERCLOSED" => WechatProblem::Closed,
        E::Business { err_code, .. } if err_code == "ORDERPAID" => WechatProblem::Unavailable,
        E::Transport(_) | E::Xml(_) | E::Malformed(_) | E::Field { .. } => WechatProblem::Unavailable,
        E::OAuth(_) => WechatProblem::Unavailable,
        _ => WechatProblem::Config,
    }
}

/// The channel and buyer an attempt is for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Payer {
    channel: Channel,
    openid: Option<String>,
}

impl Payer {
    fn new(channel: Channel, openid: Option<String>) -> Result<Payer, CheckoutError> {
        match channel {
            Channel::OpenInWechat => Err(Refused::BrowserCannotPay.into()),
            Channel::Jsapi => match openid.filter(|o| !o.is_empty()) {
                Some(o) => Ok(Payer { channel, openid: Some(o) }),
                None => Err(Refused::NoOpenid.into()),
            },
            // why: only JSAPI names the payer; an openid elsewhere would make attempts differ.
            Channel::Mweb | Channel::Native => Ok(Payer { channel, openid: None }),
        }
    }

    fn owns(&self, a: &Attempt) -> bool {
        a.channel == self.channel && a.openid == self.openid
    }
}

impl Checkout {
    /// Starts (or resumes) paying `order_no` on `channel`. A paid or closed order is
    /// `NotPayable`; a payment discovered on the way is applied and also ends as `NotPayable`.
    pub async fn start_payment(
        &self,
        order_no: &str,
        channel: Channel,
        openid: Option<String>,
        client_ip: IpAddr,
    ) -> Result<PayStart, CheckoutError> {
        let payer = Payer::new(channel, openid)?;
        // why: a double tap must not start two attempts, nor close the one the other just began.
        let lock = order_lock(order_no);
        let _held = lock.lock().await;
        let order = self.payable_order(order_no)?;
        let now = self.now();
        if let Some(a) = order.attempts.iter().rev().find(|a| a.state == AttemptState::Open) {
            // why a new attempt, not a renewal, for an H5 buyer on another network: whether
            // WeChat's cashier compares the payer with a re-entered order's new
            // `spbill_create_ip` or keeps the first is undocumented; a new `out_trade_no`
            // carries the new address for certain (the old attempt is settled first).
            // why not one placed on the other API (`wxpay.api_version` changed since): a v2
            // `prepay_id` pays only with a v2 `paySign`, a v3 one only with RSA; it is settled
            // through its own version and a new one placed on the configured version.
            if payer.owns(a) && same_network(a, client_ip) && a.api == self.settings.api {
                if prepay_valid(a, now) {
                    return self.pay_start(a);
                }
                if a.request.as_ref().is_some_and(|r| r.time_expire - now >= RENEW_MIN_AHEAD) {
                    return self.prepay(order_no, &a.out_trade_no, client_ip, true).await;
                }
            }
        }
        self.new_attempt(order_no, &payer, client_ip, true).await
    }

    /// The order, if it can still be paid.
    fn payable_order(&self, order_no: &str) -> Result<Order, CheckoutError> {
        let order = self.store.order(order_no)?.ok_or(CheckoutError::NotFound)?;
        match order.status {
            OrderStatus::Pending => Ok(order),
            OrderStatus::Closed => Err(CheckoutError::NotPayable("closed")),
            _ => Err(CheckoutError::NotPayable("paid")),
        }
    }

    /// Settles the open attempts, then saves a new one and asks WeChat for its prepay.
    async fn new_attempt(
        &self,
        order_no: &str,
        payer: &Payer,
        client_ip: IpAddr,
        may_renew: bool,
    ) -> Result<PayStart, CheckoutError> {
        self.settle_open_attempts(order_no).await?;
        let order = self.payable_order(order_no)?;
        let now = self.now();
        let request = self.prepay_request(&order, payer.channel, now);
        let ip = client_ip.to_string();
        // why: saved and flushed before WeChat hears of the out_trade_no, so a crash in
        // between never loses a number WeChat may know (and may take a payment for).
        let (_, out_trade_no) = self.store.update_order(order_no, |o| {
            let out_trade_no = format!("{}-{}", o.no, o.attempts.len() + 1);
            o.attempts.push(new_attempt(&out_trade_no, payer, &ip, now, &request, self.settings.api));
            let trade_type = payer.channel.trade_type().unwrap_or_default();
            let event = Event::new(
                now,
                EventSource::Buyer,
                EventKind::AttemptStarted,
                format!("{trade_type} attempt {out_trade_no} started"),
            );
            (out_trade_no, vec![event])
        })?;
        self.store.flush().await?;
        if out_trade_no.len() > 32 {
            // why: WeChat's limit; the order number scheme keeps far below it.
            return Err(CheckoutError::Broken(format!("out_trade_no {out_trade_no} is over 32 characters")));
        }
        self.prepay(order_no, &out_trade_no, client_ip, may_renew).await
    }

    /// The parameters of a new attempt's `unifiedorder`.
    fn prepay_request(&self, order: &Order, channel: Channel, now: i64) -> PrepayRequest {
        let s = &self.settings;
        let ttl = i64::try_from(order.lifetime(self.order_ttl()).as_secs()).unwrap_or(i64::MAX / 2);
        let shop_url = s.shop_url();
        let shop = shop_name(&self.runtime().profile.name, &shop_url);
        let first = order.lines.first().map_or("", |l| l.name.as_str());
        // why here only: the body is fixed with the attempt's `PrepayRequest`; a renewal resends
        // it unchanged even if the merchant renamed the shop since (WeChat would refuse a
        // re-entered `out_trade_no` whose body differs).
        PrepayRequest {
            body: wechat_bytes(&format!("{shop}-{first}"), BODY_MAX_BYTES),
            attach: Some(order.no.clone()),
            total_fee: order.total.get(),
            notify_url: s.notify_url.clone(),
            time_start: now,
            time_expire: (order.created_at.saturating_add(ttl)).max(now + MIN_EXPIRE_AHEAD),
            product_id: (channel == Channel::Native).then(|| order.no.clone()),
            scene_info: (channel == Channel::Mweb).then(|| scene_info(shop_url.as_str(), &shop)),
        }
    }

    /// `unifiedorder` for an attempt that is saved (new, or renewing with identical
    /// parameters), then the prepay saved and flushed.
    async fn prepay(
        &self,
        order_no: &str,
        out_trade_no: &str,
        client_ip: IpAddr,
        may_renew: bool,
    ) -> Result<PayStart, CheckoutError> {
        let order = self.payable_order(order_no)?;
        let attempt = order.attempt(out_trade_no).ok_or(CheckoutError::NotFound)?;
        let request = unified_order(attempt, client_ip)?;
        let answer = match self.unified_order_retrying(&request).await {
            Ok(answer) => answer,
            Err(e) => return self.prepay_failed(order_no, out_trade_no, client_ip, e, may_renew).await,
        };
        let ip = client_ip.to_string();
        let (order, _) =
            self.store.update_order(order_no, |o| save_prepay(o, out_trade_no, &answer, &ip, self.now()))?;
        self.store.flush().await?;
        let attempt = order.attempt(out_trade_no).ok_or(CheckoutError::NotFound)?;
        self.pay_start(attempt)
    }

    /// why: WeChat's remedy for SYSTEMERROR is "请用相同参数重新调用", and `out_trade_no`
    /// makes a repeat harmless; once is enough for a buyer who is waiting.
    /// The same on v3: a 5xx there is SYSTEMERROR to the gateway, and the repeat carries the
    /// same body (WeChat refuses a reused out_trade_no only when the content differs).
    async fn unified_order_retrying(&self, req: &UnifiedOrder) -> Result<Prepay, wxpay::Error> {
        let gateway = self.gateway();
        match gateway.prepay(req).await {
            Err(e) if e.is_retryable() => {
                super::NO_ANSWER.note("unifiedorder (retried once)", || format!("{}: {e}", req.out_trade_no));
                gateway.prepay(req).await
            }
            result => result,
        }
    }

    /// Records the error in the order's timeline and decides what follows.
    async fn prepay_failed(
        &self,
        order_no: &str,
        out_trade_no: &str,
        client_ip: IpAddr,
        e: wxpay::Error,
        may_renew: bool,
    ) -> Result<PayStart, CheckoutError> {
        self.record_wechat_error(order_no, &format!("unifiedorder {out_trade_no}"), &e).await?;
        match e.err_code() {
            // why: WeChat says it is paid; only a verified query may say so to our records.
            Some("ORDERPAID") if self.query_and_apply(order_no, out_trade_no).await? => {
                return Err(CheckoutError::NotPayable("paid"));
            }
            Some("ORDERCLOSED") => {
                self.mark_closed(order_no, out_trade_no, "WeChat says it is closed (ORDERCLOSED)").await?;
            }
            Some("INVALID_REQUEST" | "OUT_TRADE_NO_USED") if may_renew && is_duplicate_number(&e) => {
                // why: "201 商户订单号重复" (or its own code, OUT_TRADE_NO_USED "商户订单号重复"):
                // WeChat knows this number with other parameters (an older version of ours
                // sent them); a fresh attempt is the documented way, not a settings problem.
                let order = self.payable_order(order_no)?;
                let attempt = order.attempt(out_trade_no).ok_or(CheckoutError::NotFound)?;
                let payer = Payer { channel: attempt.channel, openid: attempt.openid.clone() };
                return Box::pin(self.new_attempt(order_no, &payer, client_ip, false)).await;
            }
            _ => {}
        }
        Err(CheckoutError::Wechat(e))
    }

    async fn record_wechat_error(
        &self,
        order_no: &str,
        call: &str,
        e: &wxpay::Error,
    ) -> Result<(), CheckoutError> {
        let mut event =
            Event::new(self.now(), EventSource::System, EventKind::WechatError, format!("{call}: {e}"));
        if let wxpay::Error::Business { raw, .. } = e {
            event = event.with_raw(xml::to_xml(raw));
        }
        if wechat_problem(e) == WechatProblem::Config {
            event = event.attention();
        }
        self.store.update_order(order_no, |_| ((), vec![event.clone()]))?;
        self.store.flush().await?;
        Ok(())
    }

    /// What the page needs from an attempt with a valid prepay.
    fn pay_start(&self, a: &Attempt) -> Result<PayStart, CheckoutError> {
        let missing =
            |what: &str| CheckoutError::Wechat(wxpay::Error::Malformed(format!("prepay without {what}")));
        Ok(match a.channel {
            Channel::Jsapi => {
                let prepay_id = a.prepay_id.as_deref().ok_or_else(|| missing("prepay_id"))?;
                PayStart::Jsapi(self.gateway().jsapi_pay_params(prepay_id, self.now())?)
            }
            Channel::Mweb => {
                PayStart::Mweb { mweb_url: a.mweb_url.clone().ok_or_else(|| missing("mweb_url"))? }
            }
            Channel::Native => {
                PayStart::Native { code_url: a.code_url.clone().ok_or_else(|| missing("code_url"))? }
            }
            Channel::OpenInWechat => return Err(Refused::BrowserCannotPay.into()),
        })
    }
}

fn new_attempt(
    out_trade_no: &str,
    payer: &Payer,
    ip: &str,
    now: i64,
    request: &PrepayRequest,
    api: ApiVersion,
) -> Attempt {
    Attempt {
        openid: payer.openid.clone(),
        request: Some(request.clone()),
        api,
        ..Attempt::open(out_trade_no, payer.channel, ip, now)
    }
}

/// Stores a prepay on its attempt (a renewal replaces the old one).
fn save_prepay(o: &mut Order, out_trade_no: &str, answer: &Prepay, ip: &str, at: i64) -> ((), Vec<Event>) {
    let Some(a) = o.attempts.iter_mut().find(|a| a.out_trade_no == out_trade_no) else {
        return ((), Vec::new());
    };
    let renewed = a.prepay_id.is_some();
    a.prepay_id = Some(answer.prepay_id.clone());
    a.mweb_url = answer.mweb_url.clone().or(a.mweb_url.take());
    a.code_url = answer.code_url.clone().or(a.code_url.take());
    a.prepay_at = Some(at);
    a.client_ip = ip.to_owned();
    let word = if renewed { "renewed" } else { "issued" };
    let message = format!("prepay {} {word} for {out_trade_no}", answer.prepay_id);
    ((), vec![Event::new(at, EventSource::System, EventKind::Prepay, message)])
}

/// Whether the attempt's link is still good for a while.
fn prepay_valid(a: &Attempt, now: i64) -> bool {
    let ttl = if a.channel == Channel::Mweb { MWEB_TTL } else { PREPAY_TTL };
    let has_link = match a.channel {
        Channel::Jsapi => a.prepay_id.is_some(),
        Channel::Mweb => a.mweb_url.is_some(),
        Channel::Native => a.code_url.is_some(),
        Channel::OpenInWechat => false,
    };
    has_link && a.prepay_at.is_some_and(|at| now < at + ttl - MARGIN)
}

/// The request for an attempt from what it stored; the buyer's IP is today's (H5 compares it
/// with the address WeChat sees, and it legitimately changes between calls).
fn unified_order(a: &Attempt, client_ip: IpAddr) -> Result<UnifiedOrder, CheckoutError> {
    let r = a.request.as_ref().ok_or_else(|| CheckoutError::Broken("attempt without its request".into()))?;
    let missing = |what: &str| CheckoutError::Broken(format!("attempt {} has no {what}", a.out_trade_no));
    let kind = match a.channel {
        Channel::Jsapi => TradeKind::Jsapi { openid: a.openid.clone().ok_or_else(|| missing("openid"))? },
        Channel::Native => {
            TradeKind::Native { product_id: r.product_id.clone().ok_or_else(|| missing("product_id"))? }
        }
        Channel::Mweb => {
            TradeKind::Mweb { scene_info: r.scene_info.clone().ok_or_else(|| missing("scene_info"))? }
        }
        Channel::OpenInWechat => return Err(missing("channel")),
    };
    let time = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok();
    Ok(UnifiedOrder {
        kind,
        body: r.body.clone(),
        attach: r.attach.clone(),
        out_trade_no: a.out_trade_no.clone(),
        total_fee: r.total_fee,
        fee_type: None,
        spbill_create_ip: client_ip.to_string(),
        time_start: time(r.time_start),
        time_expire: time(r.time_expire),
        notify_url: r.notify_url.clone(),
        device_info: None,
        detail: None,
    })
}

fn is_duplicate_number(e: &wxpay::Error) -> bool {
    match e {
        wxpay::Error::Business { err_code, .. } if err_code == "OUT_TRADE_NO_USED" => true,
        wxpay::Error::Business { err_code_des, .. } => err_code_des.trim_start().starts_with("201"),
        _ => false,
    }
}

/// Whether an H5 link may be handed to the buyer at `client_ip`. why: WeChat's cashier
/// refuses a payer whose address is not the attempt's `spbill_create_ip` ("网络环境未能通过
/// 安全验证"), so a buyer who moved from Wi-Fi to mobile data needs a new attempt with the
/// new address. Other channels do not compare the address.
fn same_network(a: &Attempt, client_ip: IpAddr) -> bool {
    a.channel != Channel::Mweb
        || a.client_ip
            .parse::<IpAddr>()
            .is_ok_and(|ip| crate::wxpay::canonical_ip(ip) == crate::wxpay::canonical_ip(client_ip))
}

/// The name WeChat shows the payer ("site/brand-商品"): the name the merchant gave the shop,
/// else its domain; a bare address (a laptop in sandbox mode) says nothing to a payer, so
/// `wxcheckout` stands in.
fn shop_name(name: &str, shop_url: &Url) -> String {
    if !name.trim().is_empty() {
        return name.trim().to_owned();
    }
    match shop_url.host() {
        Some(url::Host::Domain(d)) if d != "localhost" => d.to_owned(),
        _ => "wxcheckout".to_owned(),
    }
}

/// Text WeChat accepts: no 4-byte UTF-8 characters (emoji), at most `max` characters.
pub fn wechat_text(s: &str, max: usize) -> String {
    s.chars().filter(|c| c.len_utf8() <= 3).take(max).collect()
}

/// Text WeChat accepts in a field counted in bytes: no 4-byte UTF-8 characters (emoji), cut
/// on a character boundary to at most `max` bytes.
pub fn wechat_bytes(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars().filter(|c| c.len_utf8() <= 3) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// `scene_info`'s limit (String(256)), counted in bytes as `body`'s is.
pub const SCENE_INFO_MAX_BYTES: usize = 256;

/// H5's `scene_info` naming the shop, within `SCENE_INFO_MAX_BYTES`: the name is cut (on a
/// character boundary) to what the address leaves room for; an address too long for any name
/// gives way to its origin.
fn scene_info(shop_url: &str, shop: &str) -> String {
    let origin =
        url::Url::parse(shop_url).map(|u| u.origin().ascii_serialization() + "/").unwrap_or_default();
    for wap_url in [shop_url, origin.as_str()] {
        let mut room = SCENE_INFO_MAX_BYTES.saturating_sub(h5_wap_scene_info(wap_url, "").len());
        while room > 0 {
            let info = h5_wap_scene_info(wap_url, &wechat_bytes(&wechat_text(shop, 32), room));
            if info.len() <= SCENE_INFO_MAX_BYTES {
                return info;
            }
            // why again: JSON escapes (a quote, a backslash) make the name longer than its bytes.
            room -= 1;
        }
    }
    h5_wap_scene_info(&origin, "")
}

/// One lock per order, held while its payment starts; entries go when nobody holds them.
fn order_lock(order_no: &str) -> Arc<tokio::sync::Mutex<()>> {
    type Locks = Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>;
    // why: per process, keyed by order number: it only serializes; a shared key between two
    // shops in one test process makes them wait, never wrong.
    static LOCKS: OnceLock<Locks> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Locks::default).lock().unwrap_or_else(|p| p.into_inner());
    locks.retain(|_, l| l.strong_count() > 0);
    if let Some(lock) = locks.get(order_no).and_then(Weak::upgrade) {
        return lock;
    }
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    locks.insert(order_no.to_owned(), Arc::downgrade(&lock));
    lock
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_h5_scene_info_fits_256_bytes_with_a_long_chinese_name_and_a_long_address() {
        let name = "山间咖啡手冲精品豆子烘焙工作室山间咖啡手冲精品豆子烘焙工作室山";
        let short = scene_info("https://shop.example.com/", name);
        assert!(short.contains(&name[..30]), "{short}");
        assert!(short.len() <= SCENE_INFO_MAX_BYTES);
        let long_url = format!("https://shop.example.com/{}/", "very-long-path".repeat(15));
        let info = scene_info(&long_url, name);
        assert!(info.len() <= SCENE_INFO_MAX_BYTES, "{} bytes: {info}", info.len());
        assert!(info.contains("\"wap_url\": \"https://shop.example.com/\""), "the origin stands in: {info}");
        let quoted = scene_info("https://shop.example.com/", &"\"".repeat(40));
        assert!(quoted.len() <= SCENE_INFO_MAX_BYTES, "{quoted}");
    }

    #[test]
    fn wechat_text_drops_emoji_and_cuts_on_a_character_boundary() {
        assert_eq!(wechat_text("咖啡☕️🍰-Cake", 127), "咖啡☕\u{fe0f}-Cake");
        let long = "好".repeat(200);
        let cut = wechat_text(&long, 127);
        assert_eq!(cut.chars().count(), 127);
        assert!(cut.chars().all(|c| c == '好'));
    }

    #[test]
    fn the_body_is_cut_to_127_bytes_on_a_character_boundary_without_emoji() {
        let long = format!("{}-{}", "山间咖啡".repeat(8), "手冲咖啡🍰".repeat(20));
        let cut = wechat_bytes(&long, BODY_MAX_BYTES);
        assert!(cut.len() <= BODY_MAX_BYTES, "{} bytes", cut.len());
        assert!(cut.len() > BODY_MAX_BYTES - 3, "no more than one character short: {}", cut.len());
        assert!(long.replace('🍰', "").starts_with(&cut));
        assert!(cut.chars().all(|c| c.len_utf8() <= 3));
        // 42 three-byte characters are 126 bytes; one more would be 129.
        assert_eq!(wechat_bytes(&"好".repeat(50), 128).chars().count(), 42);
        assert_eq!(wechat_bytes(&"a".repeat(200), 128).len(), 128);
        assert_eq!(wechat_bytes("ab好", 4), "ab");
        assert_eq!(wechat_bytes("咖啡🍰-Cake", 128), "咖啡-Cake");
        // why 127: v3's `description` takes 127 characters, and a Latin name is a byte each.
        assert_eq!(wechat_bytes(&"a".repeat(200), BODY_MAX_BYTES).chars().count(), 127);
    }

    #[test]
    fn the_merchants_shop_name_leads_the_body_else_the_domain() {
        let url = Url::parse("https://shop.example/").expect("url");
        assert_eq!(shop_name(" 山间咖啡 ", &url), "山间咖啡");
        assert_eq!(shop_name("", &url), "shop.example");
        let local = Url::parse("http://127.0.0.1:8000/").expect("url");
        assert_eq!(shop_name("", &local), "wxcheckout");
    }

    fn attempt(channel: Channel, prepay_at: i64) -> Attempt {
        let payer = Payer { channel, openid: None };
        let request = PrepayRequest {
            body: "b".into(),
            attach: None,
            total_fee: 1,
            notify_url: "http://x/wxpay/notify".into(),
            time_start: 0,
            time_expire: 0,
            product_id: Some("N1".into()),
            scene_info: Some("{}".into()),
        };
        let mut a = new_attempt("N1-1", &payer, "127.0.0.1", 0, &request, ApiVersion::V2);
        a.prepay_id = Some("wx1".into());
        a.mweb_url = Some("https://wx/checkmweb".into());
        a.code_url = Some("weixin://wxpay/bizpayurl?pr=x".into());
        a.prepay_at = Some(prepay_at);
        a
    }

    #[test]
    fn an_h5_link_is_reused_for_under_five_minutes_and_a_qr_code_for_under_two_hours() {
        let mweb = attempt(Channel::Mweb, 1000);
        assert!(prepay_valid(&mweb, 1000 + 60));
        assert!(!prepay_valid(&mweb, 1000 + 5 * 60 - 10));
        let native = attempt(Channel::Native, 1000);
        assert!(prepay_valid(&native, 1000 + 60 * 60));
        assert!(!prepay_valid(&native, 1000 + 2 * 60 * 60));
        let mut none = attempt(Channel::Native, 1000);
        none.code_url = None;
        assert!(!prepay_valid(&none, 1001));
    }

    #[test]
    fn a_renewal_sends_what_the_attempt_sent_first_with_todays_buyer_address() {
        let a = attempt(Channel::Native, 1000);
        let first = unified_order(&a, "203.0.113.9".parse().expect("ip")).expect("request");
        let again = unified_order(&a, "203.0.113.10".parse().expect("ip")).expect("request");
        let (mut f1, mut f2) = (first.to_fields(), again.to_fields());
        f1.remove("spbill_create_ip");
        f2.remove("spbill_create_ip");
        assert_eq!(f1, f2);
        assert_eq!(f1.get("product_id"), Some("N1"));
    }

    #[test]
    fn an_h5_link_is_not_reused_for_a_buyer_on_another_network() {
        let mweb = attempt(Channel::Mweb, 1000);
        assert!(same_network(&mweb, "127.0.0.1".parse().expect("ip")));
        assert!(same_network(&mweb, "::ffff:127.0.0.1".parse().expect("ip")));
        assert!(!same_network(&mweb, "203.0.113.9".parse().expect("ip")));
        let native = attempt(Channel::Native, 1000);
        assert!(same_network(&native, "203.0.113.9".parse().expect("ip")));
    }

    #[test]
    fn a_used_out_trade_no_is_a_duplicate_number_and_not_a_settings_problem() {
        let business = |code: &str, des: &str| wxpay::Error::Business {
            err_code: code.into(),
            err_code_des: des.into(),
            raw: wxpay::Fields::new(),
        };
        assert!(is_duplicate_number(&business("OUT_TRADE_NO_USED", "商户订单号重复")));
        assert!(is_duplicate_number(&business("INVALID_REQUEST", "201 商户订单号重复")));
        assert!(!is_duplicate_number(&business("INVALID_REQUEST", "参数错误")));
    }

    #[test]
    fn configuration_errors_are_told_apart_from_passing_trouble() {
        let business = |code: &str| wxpay::Error::Business {
            err_code: code.into(),
            err_code_des: String::new(),
            raw: wxpay::Fields::new(),
        };
        assert_eq!(wechat_problem(&business("SYSTEMERROR")), WechatProblem::Unavailable);
        assert_eq!(wechat_problem(&wxpay::Error::Transport("x".into())), WechatProblem::Unavailable);
        assert_eq!(wechat_problem(&business("ORDERCLOSED")), WechatProblem::Closed);
        assert_eq!(wechat_problem(&business("NOAUTH")), WechatProblem::Config);
        assert_eq!(wechat_problem(&business("APPID_MCHID_NOT_MATCH")), WechatProblem::Config);
        let unsigned = wxpay::Error::Protocol { return_msg: "签名错误".into(), error_code: None };
        assert_eq!(wechat_problem(&unsigned), WechatProblem::Config);
    }
}
