//! The payer's side of the sandbox: what a buyer sees and taps when "WeChat" asks them to pay.
//! The H5 cashier (`mweb_url`), the NATIVE scan page and the JSAPI bridge live in the
//! `payer_*` files; this file holds what they share (request facts, the message page, the
//! price format).
//!
//! It changes state only through `Sandbox::pay`, and must not touch the gateway's API
//! endpoints, OAuth or notification delivery (other files), nor the shop's store.

#[path = "payer_cashier.rs"]
mod cashier;
#[path = "payer_jsapi.rs"]
mod jsapi;
#[path = "payer_scan.rs"]
mod scan;

use askama::Template;
use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Request, async_trait};

use super::state::{PayError, Sandbox, SbOrder};
use crate::web::Page;

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = cashier::routes();
    routes.extend(scan::routes());
    routes.extend(jsapi::routes());
    routes
}

/// `¥12.34` from integer fen. why: amounts are integers end to end; only display divides.
pub fn yuan(fen: u64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

/// The name a payer sees: the H5 `wap_name` of `scene_info` when the merchant sent one.
pub(super) fn merchant_label(order: &SbOrder) -> String {
    order
        .scene_info
        .as_deref()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| v.pointer("/h5_info/wap_name").and_then(|n| n.as_str()).map(str::to_owned))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "沙箱商户 / Sandbox merchant".to_owned())
}

/// The sandbox openid of the browser at hand, for payments that carry no openid (H5,
/// NATIVE): the OAuth module's `sbx_uid` buyer, so the same browser is the same payer.
pub(super) fn browser_openid(sandbox: &Sandbox, jar: &CookieJar<'_>) -> String {
    super::oauth::browser_openid(jar, &sandbox.merchant.appid)
}

/// The request headers the payer pages decide on.
pub(super) struct Browser {
    pub referer: Option<String>,
    pub user_agent: Option<String>,
    pub origin: Option<String>,
    pub sec_fetch_site: Option<String>,
    pub host: Option<String>,
}

#[async_trait]
impl<'r> FromRequest<'r> for Browser {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let h = |name: &str| req.headers().get_one(name).map(str::to_owned).filter(|v| !v.is_empty());
        Outcome::Success(Browser {
            referer: h("Referer"),
            user_agent: h("User-Agent"),
            origin: h("Origin"),
            sec_fetch_site: h("Sec-Fetch-Site"),
            host: h("Host"),
        })
    }
}

impl Browser {
    /// WeChat's in-app browser (WeCom too: it carries `MicroMessenger` as well).
    pub fn in_wechat(&self) -> bool {
        self.user_agent.as_deref().is_some_and(|ua| ua.contains("MicroMessenger"))
    }

    /// Whether a browser says this request comes from another site.
    ///
    /// why: browsers send `Sec-Fetch-Site` (and `Origin` on POST) that a page on another
    /// site cannot forge; clients that send neither (curl, tests, very old browsers) are not
    /// cross-site pages, so they pass.
    pub fn is_cross_site(&self) -> bool {
        if let Some(site) = self.sec_fetch_site.as_deref() {
            return !matches!(site, "same-origin" | "none");
        }
        match self.origin.as_deref() {
            None => false,
            Some(origin) => !self.host.as_deref().is_some_and(|host| same_authority(origin, host)),
        }
    }
}

/// Whether `origin` (`http://h:p`) names the authority `host` (`h:p`) of the request.
fn same_authority(origin: &str, host: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let Some(h) = url.host_str() else {
        return false;
    };
    let authority = match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h.to_owned(),
    };
    authority.eq_ignore_ascii_case(host)
}

/// Refuses POSTs that browsers mark as coming from another site (a 403 page).
pub(super) struct SameSite;

#[async_trait]
impl<'r> FromRequest<'r> for SameSite {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match Browser::from_request(req).await {
            Outcome::Success(b) if !b.is_cross_site() => Outcome::Success(SameSite),
            _ => Outcome::Error((Status::Forbidden, ())),
        }
    }
}

/// A full-page message: WeChat's error texts, and the results of paying or cancelling.
#[derive(Template)]
#[template(path = "sandbox/message.html")]
pub(super) struct MessagePage {
    pub title: String,
    pub detail: String,
    pub ok: bool,
    /// A link back (merchant's return page, scan page).
    pub back: Option<(String, String)>,
}

pub(super) type Refusal = (Status, Page<MessagePage>);

pub(super) fn refuse(status: Status, title: &str, detail: &str) -> Refusal {
    let page = MessagePage { title: title.to_owned(), detail: detail.to_owned(), ok: false, back: None };
    (status, Page(page))
}

pub(super) fn done(title: &str, detail: &str, back: Option<(String, String)>) -> Page<MessagePage> {
    Page(MessagePage { title: title.to_owned(), detail: detail.to_owned(), ok: true, back })
}

/// The message for an order that can no longer be paid.
pub(super) fn pay_refusal(e: &PayError) -> Refusal {
    match e {
        PayError::NotFound => refuse(
            Status::NotFound,
            "订单不存在 / Order not found",
            "请返回商户重新下单。 Go back to the shop and order again.",
        ),
        PayError::AlreadyPaid => refuse(
            Status::Conflict,
            "该订单已支付 / Already paid",
            "这笔订单已经付过款，无需再付。 This order is already paid.",
        ),
        PayError::Closed => refuse(
            Status::Conflict,
            "订单已关闭 / Order closed",
            "商户已关闭这笔订单，请重新下单。 The merchant closed this order.",
        ),
        PayError::Expired => refuse(
            Status::Gone,
            "订单已过期 / Order expired",
            "订单已超过支付期限，请重新下单。 The order's time limit has passed.",
        ),
    }
}

/// The same refusal before paying, from the order's state (not yet paid or closed?).
pub(super) fn check_payable(order: &SbOrder) -> Result<(), Refusal> {
    use super::state::TradeState;
    match order.state {
        TradeState::NotPay | TradeState::PayError => Ok(()),
        TradeState::Success | TradeState::Refund => Err(pay_refusal(&PayError::AlreadyPaid)),
        TradeState::Closed => Err(pay_refusal(&PayError::Closed)),
    }
}

/// A copy of the order with this prepay id, taken out of the lock.
pub(super) fn order_by_prepay(sandbox: &Sandbox, prepay_id: &str) -> Option<SbOrder> {
    sandbox.state().order_by_prepay(prepay_id).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_formats_integer_fen_with_two_decimals() {
        assert_eq!(yuan(0), "¥0.00");
        assert_eq!(yuan(1), "¥0.01");
        assert_eq!(yuan(101), "¥1.01");
        assert_eq!(yuan(123_456), "¥1234.56");
    }

    #[test]
    fn an_origin_matches_only_its_own_host_and_port() {
        assert!(same_authority("http://127.0.0.1:8000", "127.0.0.1:8000"));
        assert!(same_authority("https://Shop.example", "shop.example"));
        assert!(!same_authority("https://evil.example", "shop.example"));
        assert!(!same_authority("http://127.0.0.1:8001", "127.0.0.1:8000"));
        assert!(!same_authority("null", "127.0.0.1:8000"));
    }
}
