//! The OAuth2 `snsapi_base` round trip that learns a WeChat buyer's openid
//! (docs/wechat-pay-v2.md#oauth-web-authorization), and the signed cookie that remembers it
//! for later orders.
//!
//! Owns the `wx_openid` and `wx_oauth` cookies. The `state` nonce in the short-lived cookie
//! is the CSRF check of the return: a code for another browser's session is never used.

use std::sync::Arc;

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::response::Redirect;
use rocket::{State, get};

use super::{BuyerBase, PayAnswer, PayContext, pending_order};
use crate::checkout::Checkout;
use crate::checkout::pay::{WechatProblem, wechat_problem};
use crate::domain::{BuyerToken, Order};
use crate::http::client_ip::ClientIp;
use crate::web::{BuyerError, Frame};
use crate::wxpay::oauth::OAuthErrorKind;
use crate::wxpay::{self, client::nonce};

const OPENID_COOKIE: &str = "wx_openid";
const STATE_COOKIE: &str = "wx_oauth";

/// Failed code exchanges, in summary: anyone can bring a made-up code here.
static OAUTH_FAILED: crate::log_summary::Summary =
    crate::log_summary::Summary::info("OAuth code exchange failed", "OAuth code exchanges failed");

/// Both cookies are only needed by the pay pages.
const COOKIE_PATH: &str = "/pay";
/// WeChat's codes live 5 minutes; a buyer who takes longer starts over.
const STATE_MINUTES: i64 = 10;
const OPENID_DAYS: i64 = 30;

/// The openid remembered for our appid (a cookie from another appid's days is ignored).
pub fn remembered_openid(jar: &CookieJar<'_>, appid: &str) -> Option<String> {
    let cookie = jar.get_private(OPENID_COOKIE)?;
    let (app, openid) = cookie.value().split_once(':')?;
    (app == appid && valid_openid(openid)).then(|| openid.to_owned())
}

/// An openid as WeChat issues them (up to 128 URL-safe characters).
fn valid_openid(openid: &str) -> bool {
    (1..=128).contains(&openid.len())
        && openid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn secure(checkout: &Checkout) -> bool {
    checkout.settings().public_url.as_ref().is_some_and(|u| u.scheme() == "https")
}

fn remember(jar: &CookieJar<'_>, checkout: &Checkout, openid: &str) {
    let cookie = Cookie::build((OPENID_COOKIE, format!("{}:{openid}", checkout.settings().appid)))
        .path(COOKIE_PATH)
        .http_only(true)
        // why: Lax, not Strict: the buyer comes back from WeChat's OAuth page, another site.
        .same_site(SameSite::Lax)
        .secure(secure(checkout))
        .max_age(rocket::time::Duration::days(OPENID_DAYS));
    jar.add_private(cookie);
}

/// Sends the buyer to WeChat's authorize page; `tries` counts the OAuth retries so far.
pub fn authorize(
    ctx: &PayContext<'_>,
    order: &Order,
    jar: &CookieJar<'_>,
    tries: u8,
) -> Result<PayAnswer, BuyerError> {
    let state = nonce()[..16].to_owned();
    let cookie = Cookie::build((STATE_COOKIE, format!("{state}:{}:{tries}", order.token)))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(ctx.checkout))
        .max_age(rocket::time::Duration::minutes(STATE_MINUTES));
    jar.add_private(cookie);
    let redirect_uri = ctx.base.join(&format!("pay/{}/oauth", order.token));
    match ctx.checkout.authorize_url(&ctx.base.origin(), &redirect_uri, &state) {
        Ok(url) => Ok(PayAnswer::Redirect(Redirect::found(url))),
        Err(e) => {
            crate::web::error::FAILED.note("building the OAuth URL", || e.to_string());
            Err(BuyerError::wechat(WechatProblem::Config, order))
        }
    }
}

/// The `wx_oauth` cookie: `(state, token, tries)`.
fn pending_state(jar: &CookieJar<'_>) -> Option<(String, String, u8)> {
    let cookie = jar.get_private(STATE_COOKIE)?;
    let mut parts = cookie.value().splitn(3, ':');
    let state = parts.next()?.to_owned();
    let token = parts.next()?.to_owned();
    let tries = parts.next()?.parse().ok()?;
    Some((state, token, tries))
}

/// Back to `/pay/<token>` (303) once the openid is remembered.
///
/// why: WeChat lets only pages directly in a registered JSAPI payment directory call the
/// bridge, and a multi-level directory is matched exactly: `/pay/` covers `/pay/<token>` but
/// not `/pay/<token>/oauth`, so rendering the pay page here failed every buyer's first
/// payment with "当前页面的URL未注册". The openid cookie (set with the same attributes as the
/// state cookie this request just proved the browser keeps) carries the buyer there.
fn to_pay_page(order: &Order) -> PayAnswer {
    PayAnswer::Redirect(Redirect::to(format!("/pay/{}", order.token)))
}

/// `GET /pay/<token>/oauth?code=…&state=…`: WeChat's redirect back.
#[allow(clippy::too_many_arguments)] // why: Rocket handlers take their guards as arguments.
#[get("/<token>/oauth?<code>&<state>")]
pub async fn oauth_return(
    token: Option<BuyerToken>,
    code: Option<&str>,
    state: Option<&str>,
    checkout: &State<Arc<Checkout>>,
    frame: Frame,
    base: BuyerBase,
    ip: ClientIp,
    jar: &CookieJar<'_>,
) -> Result<PayAnswer, BuyerError> {
    let order = match pending_order(checkout, token.as_ref())? {
        Ok(order) => order,
        Err(to_its_page) => return Ok(to_its_page),
    };
    let ctx = PayContext { checkout, frame, base, ip };
    let appid = &checkout.settings().appid;
    let pending = pending_state(jar).filter(|(s, t, _)| Some(s.as_str()) == state && *t == order.token);
    let Some((_, _, tries)) = pending else {
        // why: a reload or a repeated redirect after the openid was learned can carry on;
        // otherwise this code was not asked for by this browser (or the cookie expired).
        if remembered_openid(jar, appid).is_some() {
            return Ok(to_pay_page(&order));
        }
        return Err(BuyerError::SignInExpired { token: order.token });
    };
    jar.remove_private(Cookie::build(STATE_COOKIE).path(COOKIE_PATH));
    let result = match code.filter(|c| !c.is_empty()) {
        Some(code) => checkout.buyer_openid(code).await,
        None => {
            Err(wxpay::Error::OAuth(wxpay::oauth::OAuthError { errcode: 41008, errmsg: "no code".into() }))
        }
    };
    match result {
        // why checked before remembering: an openid the cookie would not give back would send
        // the buyer from /pay/<token> to OAuth and back here without end.
        Ok(openid) if valid_openid(&openid) => {
            remember(jar, checkout, &openid);
            Ok(to_pay_page(&order))
        }
        Ok(openid) => {
            crate::web::error::NOT_DONE
                .note("OAuth gave an openid that is not one", || format!("{} characters", openid.len()));
            Err(BuyerError::SignInFailed { token: order.token })
        }
        Err(e) => {
            OAUTH_FAILED.note(e.kind(), || format!("{e}; try {tries}"));
            oauth_failed(&ctx, &order, jar, &e, tries)
        }
    }
}

/// why: 40029/40163 come from a code that expired or was used by a duplicate redirect
/// (docs/wechat-pay-v2.md#codes-and-errcodes); a fresh code fixes that, once. Anything else,
/// or a second failure, is shown.
fn oauth_failed(
    ctx: &PayContext<'_>,
    order: &Order,
    jar: &CookieJar<'_>,
    e: &wxpay::Error,
    tries: u8,
) -> Result<PayAnswer, BuyerError> {
    let kind = match e {
        wxpay::Error::OAuth(o) => Some(o.kind()),
        _ => None,
    };
    let code_trouble = matches!(
        kind,
        Some(OAuthErrorKind::InvalidCode | OAuthErrorKind::CodeUsed | OAuthErrorKind::MissingCode)
    );
    match kind {
        _ if code_trouble && tries == 0 => authorize(ctx, order, jar, 1),
        _ if code_trouble => Err(BuyerError::SignInFailed { token: order.token.clone() }),
        Some(OAuthErrorKind::InvalidAppid | OAuthErrorKind::BadSecret) => {
            Err(BuyerError::wechat(WechatProblem::Config, order))
        }
        _ => Err(BuyerError::wechat(wechat_problem(e), order)),
    }
}
