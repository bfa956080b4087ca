//! The payer's side of the sandbox: what a buyer sees and taps when "WeChat" asks them to pay.
//! The H5 cashier (`mweb_url`), the NATIVE scan page and the JSAPI bridge live in the
//! files of `payer/`; this file holds what they share (request facts, the message page, the
//! price format).
//!
//! It changes state only through `Sandbox::pay`, and must not touch the gateway's API
//! endpoints, OAuth or notification delivery (other files), nor the shop's store.

mod cashier;
mod jsapi;
mod scan;

use std::sync::Arc;

use askama::Template;
use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::Redirect;
use rocket::{Either, Request, async_trait};

use super::state::{PayError, Sandbox, SbOrder};
use crate::http::Page;

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = cashier::routes();
    routes.extend(scan::routes());
    routes.extend(jsapi::routes());
    routes
}

/// `¥12.34` from integer fen. why: amounts are integers end to end; only display divides.
pub fn yuan(fen: u64) -> String {
    format!("¥{}", crate::wxpay::bill::format_yuan(fen, 2))
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
    super::oauth::browser_openid(sandbox, jar)
}

/// The request headers the payer pages decide on.
pub(super) struct Browser {
    pub referer: Option<String>,
    pub user_agent: Option<String>,
    /// The request carries `X-Forwarded-For` / `X-Real-IP` from a peer not in
    /// `trusted_proxies`: a proxy the configuration does not know of.
    pub untrusted_forwarding: bool,
}

#[async_trait]
impl<'r> FromRequest<'r> for Browser {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let h = |name: &str| req.headers().get_one(name).map(str::to_owned).filter(|v| !v.is_empty());
        let forwarded = h("X-Forwarded-For").is_some() || h("X-Real-IP").is_some();
        let untrusted_forwarding = forwarded && !crate::http::client_ip::from_trusted_proxy(req);
        Outcome::Success(Browser { referer: h("Referer"), user_agent: h("User-Agent"), untrusted_forwarding })
    }
}

impl Browser {
    /// WeChat's in-app browser (WeCom too: it carries `MicroMessenger` as well).
    pub fn in_wechat(&self) -> bool {
        self.user_agent.as_deref().is_some_and(|ua| ua.contains("MicroMessenger"))
    }
}

/// Refuses POSTs that browsers mark as coming from another site (a 403 page); shared
/// with the shop's buyer forms.
pub(super) use crate::http::same_origin::SameOrigin as SameSite;

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
    let (status, title, detail) = match e {
        PayError::NotFound => (
            Status::NotFound,
            "订单不存在 / Order not found",
            "请返回商户重新下单。 Go back to the shop and order again.",
        ),
        PayError::AlreadyPaid => (
            Status::Conflict,
            "该订单已支付 / Already paid",
            "这笔订单已经付过款，无需再付。 This order is already paid.",
        ),
        PayError::Closed => (
            Status::Conflict,
            "订单已关闭 / Order closed",
            "商户已关闭这笔订单，请重新下单。 The merchant closed this order.",
        ),
        PayError::Expired => (
            Status::Gone,
            "订单已过期 / Order expired",
            "订单已超过支付期限，请重新下单。 The order's time limit has passed.",
        ),
    };
    refuse(status, title, detail)
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

/// What a Pay / Cancel tap leads to: a redirect, or a message page.
pub(super) type Tapped = Result<Either<Redirect, Page<MessagePage>>, Refusal>;

/// Where a payer page sends the payer after a tap.
pub(super) struct AfterTap {
    /// After paying: this page, else a "paid" message.
    pub paid: Option<String>,
    /// After cancelling: this page, else a "cancelled" message.
    pub cancelled: Option<String>,
    /// The link a message page offers.
    pub back: Option<(String, String)>,
}

/// The Pay / Cancel of the cashier and the scan page: pay as this browser's buyer (through
/// `Sandbox::pay`, which refuses a paid, closed or expired order), or leave it unpaid.
pub(super) fn pay_or_cancel(
    sandbox: &Arc<Sandbox>,
    jar: &CookieJar<'_>,
    order: &SbOrder,
    action: &str,
    after: AfterTap,
) -> Tapped {
    let (next, title, detail) = match action {
        "pay" => {
            sandbox.pay(&order.out_trade_no, &browser_openid(sandbox, jar)).map_err(|e| pay_refusal(&e))?;
            let detail = format!("{} 已付 {}。 Paid.", order.body, yuan(order.total_fee));
            (after.paid, "支付成功 / Payment successful", detail)
        }
        "cancel" => {
            let detail = "订单未支付，可返回商户重新支付。 Nothing was paid.".to_owned();
            (after.cancelled, "已取消支付 / Payment cancelled", detail)
        }
        _ => {
            return Err(refuse(
                Status::BadRequest,
                "请求有误 / Bad request",
                "action 只能是 pay 或 cancel。 action must be pay or cancel.",
            ));
        }
    };
    Ok(match next {
        Some(url) => Either::Left(Redirect::to(url)),
        None => Either::Right(done(title, &detail, after.back)),
    })
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
}
