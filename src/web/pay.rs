//! Paying: `GET /pay/<token>` picks the channel the browser allows (JSAPI in WeChat, H5 on
//! other phones, a QR code on desktops, "open in WeChat" in WeCom and mini-programs), and
//! `GET /pay/<token>/oauth` is the OAuth return that learns a WeChat buyer's openid.
//!
//! Every pay page lives under `/pay/`, so the merchant registers one JSAPI directory. Thin:
//! the attempt rules are `checkout::pay`; this file owns cookies, URLs and pages. It must not
//! decide whether an order is paid (the order page and the notifications do).

mod oauth;
mod pages;

use std::sync::Arc;

use rocket::http::CookieJar;
use rocket::request::{FromRequest, Outcome};
use rocket::response::{Redirect, Responder};
use rocket::{Request, State, get};
use url::Url;
use url::form_urlencoded::byte_serialize;

use super::{BuyerError, Frame, Page};
use crate::checkout::pay::{PayStart, WechatProblem, wechat_problem};
use crate::checkout::{Checkout, CheckoutError};
use crate::domain::{BuyerToken, Channel, Order, OrderStatus};
use crate::http::client_ip::ClientIp;

pub use pages::{JsapiPage, MwebPage, NativePage, OpenInWechatPage};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![pay, oauth::oauth_return]
}

/// Every answer of the pay routes but an error (a [`BuyerError`]).
#[derive(Responder)]
pub enum PayAnswer {
    Redirect(Redirect),
    Jsapi(super::WithScriptOrigin<Page<JsapiPage>>),
    Mweb(Page<MwebPage>),
    Native(Page<NativePage>),
    OpenInWechat(Page<OpenInWechatPage>),
}

/// The channel the browser's User-Agent allows.
pub struct BrowserChannel(pub Channel);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BrowserChannel {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let ua = req.headers().get_one("User-Agent").unwrap_or("");
        Outcome::Success(BrowserChannel(Channel::from_user_agent(ua)))
    }
}

/// Where the buyer's browser reaches this shop: `public_url` when configured, else the
/// request's own scheme and Host (sandbox mode on a laptop or a LAN address).
pub struct BuyerBase(pub Url);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BuyerBase {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let public = req.rocket().state::<Arc<Checkout>>().and_then(|c| c.settings().public_url.clone());
        Outcome::Success(BuyerBase(public.unwrap_or_else(|| crate::http::request_base(req))))
    }
}

impl BuyerBase {
    /// An absolute URL for a path of this shop (`pay/…`, `o/…`).
    pub fn join(&self, path: &str) -> String {
        self.0.join(path.trim_start_matches('/')).map_or_else(|_| path.to_owned(), String::from)
    }

    fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }
}

/// The sandbox as the buyer's browser reaches it (for the bridge script and the scan page),
/// or `None` when WeChat is real.
///
/// why: in sandbox mode with no `open_base` the sandbox is in this process, at the request's
/// origin; a separately run `wxcheckout sandbox` is configured as `open_base` and serves
/// everything under `/sandbox/` (the real open.weixin.qq.com never does).
fn sandbox_base(checkout: &Checkout, base: &BuyerBase) -> Option<String> {
    let s = &checkout.settings();
    match &s.open_base {
        None if s.sandbox => Some(format!("{}/sandbox", base.origin())),
        Some(open) if s.sandbox || open.path().ends_with("/sandbox/") => {
            Some(open.as_str().trim_end_matches('/').to_owned())
        }
        _ => None,
    }
}

/// The request facts every pay page needs.
pub struct PayContext<'a> {
    pub checkout: &'a Checkout,
    pub frame: Frame,
    pub base: BuyerBase,
    pub ip: ClientIp,
}

/// `GET /pay/<token>`
#[get("/<token>")]
async fn pay(
    token: Option<BuyerToken>,
    checkout: &State<Arc<Checkout>>,
    frame: Frame,
    channel: BrowserChannel,
    base: BuyerBase,
    ip: ClientIp,
    jar: &CookieJar<'_>,
) -> Result<PayAnswer, BuyerError> {
    let order = match pending_order(checkout, token.as_ref())? {
        Ok(order) => order,
        Err(to_its_page) => return Ok(to_its_page),
    };
    let ctx = PayContext { checkout, frame, base, ip };
    match channel.0 {
        Channel::OpenInWechat => Ok(pages::open_in_wechat(&ctx, &order)),
        Channel::Jsapi => match oauth::remembered_openid(jar, &checkout.settings().appid) {
            Some(openid) => start(&ctx, &order, Channel::Jsapi, Some(openid)).await,
            None => oauth::authorize(&ctx, &order, jar, 0),
        },
        other => start(&ctx, &order, other, None).await,
    }
}

/// The order a pay route works on while it is pending; once paid or closed, the answer that
/// sends the buyer to its page instead.
pub(super) fn pending_order(
    checkout: &Checkout,
    token: Option<&BuyerToken>,
) -> Result<Result<Order, PayAnswer>, BuyerError> {
    let order = order_for(checkout, token)?;
    Ok(if order.status == OrderStatus::Pending { Ok(order) } else { Err(to_order_page(&order)) })
}

/// The order a buyer token names (none, or a segment that is not a token: not found).
fn order_for(checkout: &Checkout, token: Option<&BuyerToken>) -> Result<Order, BuyerError> {
    super::order::find(checkout, token)?.ok_or(BuyerError::OrderNotFound)
}

fn to_order_page(order: &Order) -> PayAnswer {
    PayAnswer::Redirect(Redirect::to(format!("/o/{}", order.token)))
}

/// Starts or resumes the payment and renders the channel's page.
async fn start(
    ctx: &PayContext<'_>,
    order: &Order,
    channel: Channel,
    openid: Option<String>,
) -> Result<PayAnswer, BuyerError> {
    let started = ctx.checkout.start_payment(&order.no, channel, openid, ctx.ip.0).await;
    match started {
        Ok(PayStart::Jsapi(params)) => Ok(pages::jsapi(ctx, order, &params)),
        Ok(PayStart::Mweb { mweb_url }) => {
            let link = mweb_link(ctx, &mweb_url, &ctx.base.join(&format!("o/{}", order.token)));
            Ok(pages::mweb(ctx, order, link))
        }
        Ok(PayStart::Native { code_url }) => pages::native(ctx, order, &code_url),
        Err(CheckoutError::NotPayable(_)) => Ok(to_order_page(order)),
        Err(CheckoutError::Wechat(e)) => Err(BuyerError::wechat(wechat_problem(&e), order)),
        Err(CheckoutError::NotFound) => Err(BuyerError::OrderNotFound),
        Err(e) => {
            // why not a 500: the order is there and a payment may work in a moment.
            super::error::FAILED.note("starting a payment", || format!("order {}: {e}", order.no));
            Err(BuyerError::wechat(WechatProblem::Unavailable, order))
        }
    }
}

/// `mweb_url&redirect_url=<urlencoded return page>` (docs/wechat-pay-v2.md#h5-payment).
///
/// why the rewrite: the in-process sandbox writes `mweb_url` for the address the shop called
/// it at (loopback); a phone on the LAN reaches it at the address it reached the shop.
fn mweb_link(ctx: &PayContext<'_>, mweb_url: &str, return_to: &str) -> String {
    let s = &ctx.checkout.settings();
    let mut url = mweb_url.to_owned();
    if s.sandbox && s.open_base.is_none() && s.public_url.is_none() {
        let api = ctx.checkout.gateway_origin();
        if let Some(rest) = mweb_url.strip_prefix(&api) {
            url = format!("{}{rest}", ctx.base.origin());
        }
    }
    let encoded: String = byte_serialize(return_to.as_bytes()).collect();
    format!("{url}&redirect_url={encoded}")
}
